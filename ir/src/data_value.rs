//! Runtime values: what functions take and return when they are interpreted or run, and
//! what `; run:` lines write down.
//!
//! Floats are kept as bits (NaN payloads and signed zeros matter); vectors as their
//! little-endian bytes, lane 0 first. Equality is bitwise.

use crate::immediates::{Ieee16, Ieee32, Ieee64, Ieee128};
use crate::types::{self, Type};
use core::fmt;
use smallvec::SmallVec;

/// A value of any IR type.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
#[allow(missing_docs)]
pub enum DataValue {
    I8(i8),
    I16(i16),
    I32(i32),
    I64(i64),
    I128(i128),
    F16(Ieee16),
    F32(Ieee32),
    F64(Ieee64),
    F128(Ieee128),
    /// A fixed vector of type `.0`: `.1` holds `ty.bytes()` bytes, lane 0 first, each lane
    /// little-endian.
    Vector(Type, SmallVec<[u8; 16]>),
}

impl DataValue {
    /// The type of the value.
    pub fn ty(&self) -> Type {
        match self {
            DataValue::I8(_) => types::I8,
            DataValue::I16(_) => types::I16,
            DataValue::I32(_) => types::I32,
            DataValue::I64(_) => types::I64,
            DataValue::I128(_) => types::I128,
            DataValue::F16(_) => types::F16,
            DataValue::F32(_) => types::F32,
            DataValue::F64(_) => types::F64,
            DataValue::F128(_) => types::F128,
            DataValue::Vector(t, _) => *t,
        }
    }

    /// A scalar of type `ty` from the low bits of `bits` (`None` for vectors and invalid
    /// types).
    pub fn from_u128(ty: Type, bits: u128) -> Option<DataValue> {
        Some(match ty {
            types::I8 => DataValue::I8(bits as i8),
            types::I16 => DataValue::I16(bits as i16),
            types::I32 => DataValue::I32(bits as i32),
            types::I64 => DataValue::I64(bits as i64),
            types::I128 => DataValue::I128(bits as i128),
            types::F16 => DataValue::F16(Ieee16(bits as u16)),
            types::F32 => DataValue::F32(Ieee32(bits as u32)),
            types::F64 => DataValue::F64(Ieee64(bits as u64)),
            types::F128 => DataValue::F128(Ieee128(bits)),
            _ => return None,
        })
    }

    /// The raw bits of a scalar, zero-extended (`None` for vectors).
    pub fn to_u128(&self) -> Option<u128> {
        Some(match *self {
            DataValue::I8(x) => x as u8 as u128,
            DataValue::I16(x) => x as u16 as u128,
            DataValue::I32(x) => x as u32 as u128,
            DataValue::I64(x) => x as u64 as u128,
            DataValue::I128(x) => x as u128,
            DataValue::F16(x) => x.0 as u128,
            DataValue::F32(x) => x.0 as u128,
            DataValue::F64(x) => x.0 as u128,
            DataValue::F128(x) => x.0,
            DataValue::Vector(..) => return None,
        })
    }

    /// A value of type `ty` from its little-endian bytes (`bytes.len() == ty.bytes()`).
    pub fn from_le_bytes(ty: Type, bytes: &[u8]) -> Option<DataValue> {
        if bytes.len() != ty.bytes() as usize || ty.is_dynamic_vector() {
            return None;
        }
        if ty.is_vector() {
            return Some(DataValue::Vector(ty, SmallVec::from_slice(bytes)));
        }
        let mut b = [0u8; 16];
        b[..bytes.len()].copy_from_slice(bytes);
        DataValue::from_u128(ty, u128::from_le_bytes(b))
    }

    /// The little-endian bytes of the value.
    pub fn to_le_bytes(&self) -> SmallVec<[u8; 16]> {
        match self {
            DataValue::Vector(_, b) => b.clone(),
            s => {
                let n = s.ty().bytes() as usize;
                SmallVec::from_slice(&s.to_u128().unwrap_or(0).to_le_bytes()[..n])
            }
        }
    }

    /// Is this a float NaN (scalar)?
    pub fn is_nan(&self) -> bool {
        use crate::immediates::FloatFormat;
        let ty = self.ty();
        match (FloatFormat::for_bits(ty.bits()), ty.is_float() && ty.is_scalar()) {
            (Some(f), true) => f.is_nan(self.to_u128().unwrap_or(0)),
            _ => false,
        }
    }
}

impl fmt::Display for DataValue {
    /// Integers in signed decimal, floats in canonical CLIF form, vectors as hex byte
    /// strings (most significant byte first).
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            DataValue::I8(x) => write!(f, "{x}"),
            DataValue::I16(x) => write!(f, "{x}"),
            DataValue::I32(x) => write!(f, "{x}"),
            DataValue::I64(x) => write!(f, "{x}"),
            DataValue::I128(x) => write!(f, "{x}"),
            DataValue::F16(x) => write!(f, "{x}"),
            DataValue::F32(x) => write!(f, "{x}"),
            DataValue::F64(x) => write!(f, "{x}"),
            DataValue::F128(x) => write!(f, "{x}"),
            DataValue::Vector(_, b) => {
                f.write_str("0x")?;
                for byte in b.iter().rev() {
                    write!(f, "{byte:02x}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn bytes_round_trip() {
        let v = DataValue::I32(-2);
        assert_eq!(DataValue::from_le_bytes(types::I32, &v.to_le_bytes()), Some(v));
        let vec = DataValue::from_le_bytes(types::I32X4, &[1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0]).unwrap();
        assert_eq!(vec.to_string(), "0x00000004000000030000000200000001");
        assert_eq!(DataValue::F32(Ieee32(0x3f80_0000)).to_string(), "0x1.000000p0");
        assert!(DataValue::F64(Ieee64(0x7ff8_0000_0000_0001)).is_nan());
    }
}

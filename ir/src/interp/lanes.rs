//! Lane access for interpreter values: every scalar or vector [`DataValue`] is seen as a
//! sequence of lanes, each a zero-extended `u128` bit pattern of the lane width.
//!
//! Readers ([`Lanes`]) validate the value's shape once; builders ([`build`]) mask every lane
//! to the lane width, so a produced value always has exactly the type it is built for.
//! Dynamic vector types are treated as their fixed base type (dynamic scale 1).

use super::{InterpError, R};
use crate::data_value::DataValue;
use crate::types::Type;
use smallvec::SmallVec;

/// Normalize a type: dynamic vectors become their fixed base vector (scale 1).
#[inline]
pub(crate) fn norm(ty: Type) -> Type {
    ty.dynamic_to_vector().unwrap_or(ty)
}

/// The mask of `bits` low bits.
#[inline]
pub(crate) fn mask(bits: u32) -> u128 {
    if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 }
}

/// Sign-extend the low `bits` bits of `x`.
#[inline]
pub(crate) fn sext(x: u128, bits: u32) -> i128 {
    crate::condcodes::sext128(x, bits)
}

enum Repr<'a> {
    Scalar(u128),
    Bytes(&'a [u8]),
}

/// A read-only lane view of a value.
pub(crate) struct Lanes<'a> {
    /// The value's type.
    pub ty: Type,
    /// Lane width in bits.
    pub bits: u32,
    /// Lane count.
    pub n: usize,
    repr: Repr<'a>,
}

impl Lanes<'_> {
    /// Lane `i` (0 for out-of-range lanes; callers index within `n`).
    #[inline]
    pub fn get(&self, i: usize) -> u128 {
        match self.repr {
            Repr::Scalar(x) => x,
            Repr::Bytes(b) => {
                let lb = (self.bits / 8) as usize;
                let mut buf = [0u8; 16];
                if let Some(s) = b.get(i * lb..(i + 1) * lb) {
                    buf[..lb].copy_from_slice(s);
                }
                u128::from_le_bytes(buf)
            }
        }
    }
    /// Lane `i` sign-extended.
    #[inline]
    pub fn gets(&self, i: usize) -> i128 {
        sext(self.get(i), self.bits)
    }
}

/// View `v` as lanes.
#[inline]
pub(crate) fn lanes(v: &DataValue) -> R<Lanes<'_>> {
    match v {
        DataValue::Vector(ty, bytes) => {
            if !ty.is_vector() || bytes.len() != ty.bytes() as usize || ty.lane_bits() < 8 {
                return Err(InterpError::Invalid(format!("malformed vector value of type {ty}")));
            }
            Ok(Lanes { ty: *ty, bits: ty.lane_bits(), n: ty.lane_count() as usize, repr: Repr::Bytes(bytes) })
        }
        s => {
            let ty = s.ty();
            Ok(Lanes { ty, bits: ty.bits(), n: 1, repr: Repr::Scalar(s.to_u128().unwrap_or(0)) })
        }
    }
}

/// The raw bits of a scalar value.
#[inline]
pub(crate) fn scalar(v: &DataValue) -> R<u128> {
    v.to_u128().ok_or_else(|| InterpError::Invalid(format!("expected a scalar, found a {} value", v.ty())))
}

/// Build a scalar of type `ty` (masked).
#[inline]
pub(crate) fn mk(ty: Type, bits: u128) -> R<DataValue> {
    DataValue::from_u128(ty, bits).ok_or_else(|| InterpError::Invalid(format!("cannot build a scalar of type {ty}")))
}

/// Build a value of type `ty` from its lanes.
#[inline]
pub(crate) fn build(ty: Type, mut f: impl FnMut(usize) -> R<u128>) -> R<DataValue> {
    let ty = norm(ty);
    if ty.is_scalar() {
        return mk(ty, f(0)?);
    }
    if !ty.is_vector() || ty.lane_bits() < 8 {
        return Err(InterpError::Invalid(format!("cannot build a value of type {ty}")));
    }
    let lb = (ty.lane_bits() / 8) as usize;
    let n = ty.lane_count() as usize;
    let mut bytes: SmallVec<[u8; 16]> = SmallVec::from_elem(0, lb * n);
    for i in 0..n {
        let x = f(i)?;
        bytes[i * lb..(i + 1) * lb].copy_from_slice(&x.to_le_bytes()[..lb]);
    }
    Ok(DataValue::Vector(ty, bytes))
}

/// Check that a value has (normalized) type `ty`.
#[inline]
pub(crate) fn expect_ty(v: &DataValue, ty: Type) -> R<()> {
    if v.ty() == norm(ty) {
        Ok(())
    } else {
        Err(InterpError::Invalid(format!("expected a value of type {ty}, found {}", v.ty())))
    }
}

/// Apply `f` to every lane of `a`, producing type `out` (same lane count).
#[inline]
pub(crate) fn map1(out: Type, a: &DataValue, mut f: impl FnMut(u128) -> R<u128>) -> R<DataValue> {
    if out.is_scalar()
        && let Some(x) = a.to_u128()
    {
        return mk(out, f(x)?);
    }
    let la = lanes(a)?;
    same_lanes(out, &[&la])?;
    build(out, |i| f(la.get(i)))
}

/// Apply `f` lane-wise to `a` and `b`, producing type `out`.
#[inline]
pub(crate) fn map2(out: Type, a: &DataValue, b: &DataValue, mut f: impl FnMut(u128, u128) -> R<u128>) -> R<DataValue> {
    if out.is_scalar()
        && let (Some(x), Some(y)) = (a.to_u128(), b.to_u128())
    {
        return mk(out, f(x, y)?);
    }
    let la = lanes(a)?;
    let lb = lanes(b)?;
    same_lanes(out, &[&la, &lb])?;
    build(out, |i| f(la.get(i), lb.get(i)))
}

/// Apply `f` lane-wise to `a`, `b` and `c`, producing type `out`.
#[inline]
pub(crate) fn map3(
    out: Type,
    a: &DataValue,
    b: &DataValue,
    c: &DataValue,
    mut f: impl FnMut(u128, u128, u128) -> R<u128>,
) -> R<DataValue> {
    let la = lanes(a)?;
    let lb = lanes(b)?;
    let lc = lanes(c)?;
    same_lanes(out, &[&la, &lb, &lc])?;
    build(out, |i| f(la.get(i), lb.get(i), lc.get(i)))
}

fn same_lanes(out: Type, ins: &[&Lanes]) -> R<()> {
    let n = norm(out).lane_count() as usize;
    if ins.iter().all(|l| l.n == n) {
        Ok(())
    } else {
        Err(InterpError::Invalid(format!("lane count mismatch for a {out} result")))
    }
}

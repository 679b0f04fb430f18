//! Value types: scalar integers and floats, fixed vectors and dynamic (scalable) vectors.
//!
//! A [`Type`] is a copyable 16-bit value: a lane type (4 bits), the base-2 logarithm of the
//! lane count (4 bits, 0 = scalar, 1..=8 = 2..256 lanes) and a "dynamic" bit for scalable
//! vectors, whose actual lane count is a runtime multiple of the written one. Type 0 is
//! [`INVALID`], used for "no type" (e.g. the controlling type of a monomorphic instruction).

use core::fmt;

/// A value type.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Type(u16);

const LANE_MASK: u16 = 0xf;
const LOG2_SHIFT: u16 = 4;
const LOG2_MASK: u16 = 0xf << LOG2_SHIFT;
const DYN_BIT: u16 = 1 << 8;

/// No type.
pub const INVALID: Type = Type(0);
/// 8-bit integer.
pub const I8: Type = Type(1);
/// 16-bit integer.
pub const I16: Type = Type(2);
/// 32-bit integer.
pub const I32: Type = Type(3);
/// 64-bit integer.
pub const I64: Type = Type(4);
/// 128-bit integer.
pub const I128: Type = Type(5);
/// IEEE binary16.
pub const F16: Type = Type(6);
/// IEEE binary32.
pub const F32: Type = Type(7);
/// IEEE binary64.
pub const F64: Type = Type(8);
/// IEEE binary128.
pub const F128: Type = Type(9);

/// Common vector types.
pub const I8X16: Type = I8.by_const(16);
/// `i16x8`
pub const I16X8: Type = I16.by_const(8);
/// `i32x4`
pub const I32X4: Type = I32.by_const(4);
/// `i64x2`
pub const I64X2: Type = I64.by_const(2);
/// `f32x4`
pub const F32X4: Type = F32.by_const(4);
/// `f64x2`
pub const F64X2: Type = F64.by_const(2);

/// Every scalar type, in lane-kind order.
pub const SCALARS: [Type; 9] = [I8, I16, I32, I64, I128, F16, F32, F64, F128];

impl Type {
    const fn by_const(self, n: u16) -> Type {
        Type(self.0 | ((n.trailing_zeros() as u16) << LOG2_SHIFT))
    }

    /// The raw encoding (stable within one build; used for hashing and packing).
    pub const fn repr(self) -> u16 {
        self.0
    }

    /// Rebuild from [`Type::repr`]; `None` for encodings that are not types.
    pub fn from_repr(r: u16) -> Option<Type> {
        let t = Type(r);
        let lane = r & LANE_MASK;
        let log2 = (r & LOG2_MASK) >> LOG2_SHIFT;
        if r & !(LANE_MASK | LOG2_MASK | DYN_BIT) != 0 || lane > 9 || log2 > 8 {
            return None;
        }
        if lane == 0 && r != 0 {
            return None;
        }
        if r & DYN_BIT != 0 && log2 == 0 {
            return None;
        }
        Some(t)
    }

    /// Is this the invalid type?
    pub fn is_invalid(self) -> bool {
        self.0 == 0
    }

    /// The type of one lane (the type itself for scalars).
    #[inline]
    pub const fn lane_type(self) -> Type {
        Type(self.0 & LANE_MASK)
    }

    /// Base-2 logarithm of the (minimum) lane count.
    #[inline]
    pub const fn log2_lane_count(self) -> u32 {
        ((self.0 & LOG2_MASK) >> LOG2_SHIFT) as u32
    }

    /// Number of lanes (1 for scalars; the minimum count for dynamic vectors).
    #[inline]
    pub const fn lane_count(self) -> u32 {
        1 << self.log2_lane_count()
    }

    /// Bits in one lane.
    #[inline]
    pub const fn lane_bits(self) -> u32 {
        match self.0 & LANE_MASK {
            1 => 8,
            2 | 6 => 16,
            3 | 7 => 32,
            4 | 8 => 64,
            5 | 9 => 128,
            _ => 0,
        }
    }

    /// Total bits (the minimum for dynamic vectors).
    #[inline]
    pub const fn bits(self) -> u32 {
        self.lane_bits() * self.lane_count()
    }

    /// Total bytes.
    #[inline]
    pub const fn bytes(self) -> u32 {
        self.bits() / 8
    }

    /// Is the lane type an integer?
    #[inline]
    pub const fn is_int(self) -> bool {
        matches!(self.0 & LANE_MASK, 1..=5)
    }

    /// Is the lane type a float?
    #[inline]
    pub const fn is_float(self) -> bool {
        matches!(self.0 & LANE_MASK, 6..=9)
    }

    /// Is this a scalar (not a vector, not invalid)?
    #[inline]
    pub const fn is_scalar(self) -> bool {
        self.0 != 0 && self.0 & (LOG2_MASK | DYN_BIT) == 0
    }

    /// Is this a fixed-size vector?
    #[inline]
    pub const fn is_vector(self) -> bool {
        self.0 & LOG2_MASK != 0 && self.0 & DYN_BIT == 0
    }

    /// Is this a dynamic (scalable) vector?
    #[inline]
    pub const fn is_dynamic_vector(self) -> bool {
        self.0 & DYN_BIT != 0
    }

    /// A scalar integer of `bits` bits.
    pub const fn int(bits: u32) -> Option<Type> {
        match bits {
            8 => Some(I8),
            16 => Some(I16),
            32 => Some(I32),
            64 => Some(I64),
            128 => Some(I128),
            _ => None,
        }
    }

    /// A scalar float of `bits` bits.
    pub const fn float(bits: u32) -> Option<Type> {
        match bits {
            16 => Some(F16),
            32 => Some(F32),
            64 => Some(F64),
            128 => Some(F128),
            _ => None,
        }
    }

    /// The vector of `n` lanes of this scalar (`None` unless n is a power of two in 2..=256,
    /// or if `self` is not a scalar). `by(1)` is the scalar itself.
    pub fn by(self, n: u32) -> Option<Type> {
        if !self.is_scalar() || !n.is_power_of_two() || n > 256 {
            return None;
        }
        Some(Type(self.0 | ((n.trailing_zeros() as u16) << LOG2_SHIFT)))
    }

    /// Same shape with `lane` as the lane type.
    fn with_lane(self, lane: Type) -> Type {
        Type((self.0 & !LANE_MASK) | lane.0)
    }

    /// The integer type of the same shape and lane width (floats become integers).
    pub fn as_int(self) -> Type {
        match Type::int(self.lane_bits()) {
            Some(l) => self.with_lane(l),
            None => INVALID,
        }
    }

    /// The type of a comparison result: `i8` for scalars, the same-shaped integer vector for
    /// vectors.
    pub fn as_truthy(self) -> Type {
        if self.is_scalar() { I8 } else { self.as_int() }
    }

    /// Same lane count, lanes half as wide (`None` if impossible).
    pub fn half_width(self) -> Option<Type> {
        let lane = self.lane_type();
        let half = if lane.is_int() {
            Type::int(lane.lane_bits() / 2)
        } else if lane.is_float() {
            Type::float(lane.lane_bits() / 2)
        } else {
            None
        }?;
        Some(self.with_lane(half))
    }

    /// Same lane count, lanes twice as wide.
    pub fn double_width(self) -> Option<Type> {
        let lane = self.lane_type();
        let dbl = if lane.is_int() {
            Type::int(lane.lane_bits() * 2)
        } else if lane.is_float() {
            Type::float(lane.lane_bits() * 2)
        } else {
            None
        }?;
        Some(self.with_lane(dbl))
    }

    /// Half-width lanes, twice as many (i32x4 → i16x8).
    pub fn split_lanes(self) -> Option<Type> {
        let h = self.half_width()?;
        let log2 = self.log2_lane_count() + 1;
        if log2 > 8 || (self.is_scalar()) {
            return None;
        }
        Some(Type((h.0 & !LOG2_MASK) | ((log2 as u16) << LOG2_SHIFT)))
    }

    /// Double-width lanes, half as many (i16x8 → i32x4; i32x2 → i64).
    pub fn merge_lanes(self) -> Option<Type> {
        let d = self.double_width()?;
        let log2 = self.log2_lane_count();
        if log2 == 0 {
            return None;
        }
        let t = Type((d.0 & !LOG2_MASK) | (((log2 - 1) as u16) << LOG2_SHIFT));
        if t.is_dynamic_vector() && t.log2_lane_count() == 0 {
            return None;
        }
        Some(t)
    }

    /// The dynamic vector type with this fixed vector as its minimum shape.
    pub fn vector_to_dynamic(self) -> Option<Type> {
        if self.is_vector() { Some(Type(self.0 | DYN_BIT)) } else { None }
    }

    /// The fixed vector a dynamic type is built from.
    pub fn dynamic_to_vector(self) -> Option<Type> {
        if self.is_dynamic_vector() { Some(Type(self.0 & !DYN_BIT)) } else { None }
    }

    /// Is `self` a scalar of the same kind (int/float) and strictly narrower than `other`?
    pub fn is_narrower_scalar_of_kind(self, other: Type) -> bool {
        self.is_scalar() && other.is_scalar() && self.is_int() == other.is_int() && self.bits() < other.bits()
    }

    /// Unsigned maximum of an integer lane, as a u128 mask (all ones in `lane_bits`).
    pub fn lane_mask(self) -> u128 {
        let b = self.lane_bits();
        if b >= 128 { u128::MAX } else { (1u128 << b) - 1 }
    }

    /// Parse a type name (`i32`, `f64x2`, …). Dynamic types have no text name of their own.
    pub fn parse(s: &str) -> Option<Type> {
        let (lane, rest) = match s.get(..2) {
            Some("i8") => (I8, &s[2..]),
            Some("i1") if s.starts_with("i16") => (I16, &s[3..]),
            Some("i1") if s.starts_with("i128") => (I128, &s[4..]),
            Some("i3") if s.starts_with("i32") => (I32, &s[3..]),
            Some("i6") if s.starts_with("i64") => (I64, &s[3..]),
            Some("f1") if s.starts_with("f16") => (F16, &s[3..]),
            Some("f1") if s.starts_with("f128") => (F128, &s[4..]),
            Some("f3") if s.starts_with("f32") => (F32, &s[3..]),
            Some("f6") if s.starts_with("f64") => (F64, &s[3..]),
            _ => return None,
        };
        if rest.is_empty() {
            return Some(lane);
        }
        let n = rest.strip_prefix('x')?;
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || (n.len() > 1 && n.starts_with('0')) {
            return None;
        }
        let n: u32 = n.parse().ok()?;
        lane.by(n)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let lane = match self.0 & LANE_MASK {
            0 => return f.write_str("INVALID"),
            1 => "i8",
            2 => "i16",
            3 => "i32",
            4 => "i64",
            5 => "i128",
            6 => "f16",
            7 => "f32",
            8 => "f64",
            _ => "f128",
        };
        f.write_str(lane)?;
        if self.log2_lane_count() > 0 {
            write!(f, "x{}", self.lane_count())?;
        }
        if self.is_dynamic_vector() {
            f.write_str("xN")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Type {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A set of types, used for opcode type constraints.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct TypeSet {
    /// Allowed lane types: bit k set allows lane kind k (1 = i8 … 9 = f128).
    pub lanes: u16,
    /// Allowed lane counts for fixed types: bit k allows 2^k lanes (bit 0 = scalars).
    pub counts: u16,
    /// Allowed minimum lane counts for dynamic vectors: bit k allows 2^k lanes.
    pub dynamic: u16,
}

impl TypeSet {
    /// The empty set.
    pub const EMPTY: TypeSet = TypeSet { lanes: 0, counts: 0, dynamic: 0 };
    /// Bit mask of integer lanes.
    pub const INTS: u16 = 0b11_1110;
    /// Bit mask of float lanes.
    pub const FLOATS: u16 = 0b11_1100_0000;
    /// Scalars only.
    pub const SCALAR: u16 = 1;
    /// Vectors of 2..=256 lanes.
    pub const VECTORS: u16 = 0b1_1111_1110;

    /// Does the set contain `t`?
    pub fn contains(self, t: Type) -> bool {
        if t.is_invalid() {
            return false;
        }
        let lane = t.0 & LANE_MASK;
        if self.lanes & (1 << lane) == 0 {
            return false;
        }
        let log2 = t.log2_lane_count();
        if t.is_dynamic_vector() { self.dynamic & (1 << log2) != 0 } else { self.counts & (1 << log2) != 0 }
    }

    /// Is the set empty (the constraint of a monomorphic opcode)?
    pub fn is_empty(self) -> bool {
        self.lanes == 0
    }

    /// Every type of the set (dynamic types excluded), for exhaustive tests.
    pub fn fixed_types(self) -> impl Iterator<Item = Type> {
        (1u16..=9).flat_map(move |lane| {
            (0u16..=8).filter_map(move |log2| {
                let t = Type(lane | (log2 << LOG2_SHIFT));
                if self.contains(t) { Some(t) } else { None }
            })
        })
    }
}

impl fmt::Display for TypeSet {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let mut first = true;
        for t in self.fixed_types() {
            if !first {
                f.write_str("|")?;
            }
            first = false;
            write!(f, "{t}")?;
        }
        if self.dynamic != 0 {
            if !first {
                f.write_str("|")?;
            }
            f.write_str("dynamic vectors")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in ["i8", "i16", "i32", "i64", "i128", "f16", "f32", "f64", "f128", "i8x16", "f64x2", "i64x8", "i8x256"] {
            let t = Type::parse(s).unwrap();
            assert_eq!(t.to_string(), s);
            assert_eq!(Type::from_repr(t.repr()), Some(t));
        }
        for s in ["i7", "i32x3", "i32x1024", "i32x", "i32x04", "b1", "i32x4xN", "f33"] {
            assert_eq!(Type::parse(s), None, "{s}");
        }
        assert_eq!(Type::parse("i32x1"), Some(I32));
    }

    #[test]
    fn derived_types() {
        assert_eq!(I32X4.split_lanes(), Some(I16X8));
        assert_eq!(I16X8.merge_lanes(), Some(I32X4));
        assert_eq!(I32.by(2).unwrap().merge_lanes(), Some(I64));
        assert_eq!(F32X4.as_truthy(), I32X4);
        assert_eq!(F64.as_truthy(), I8);
        assert_eq!(I128.half_width(), Some(I64));
        assert_eq!(I8.half_width(), None);
        assert_eq!(F64X2.bits(), 128);
        let d = I32X4.vector_to_dynamic().unwrap();
        assert_eq!(d.to_string(), "i32x4xN");
        assert_eq!(d.dynamic_to_vector(), Some(I32X4));
        assert!(d.is_dynamic_vector() && !d.is_vector());
    }

    #[test]
    fn type_sets() {
        let ints = TypeSet { lanes: TypeSet::INTS, counts: TypeSet::SCALAR | TypeSet::VECTORS, dynamic: 0 };
        assert!(ints.contains(I8));
        assert!(ints.contains(I32X4));
        assert!(!ints.contains(F32));
        assert!(!ints.contains(I32X4.vector_to_dynamic().unwrap()));
        assert_eq!(ints.fixed_types().count(), 5 * 9);
    }
}

//! Floating-point semantics (OPCODES.md §0.3, §7, §8) on raw bit patterns of any IEEE
//! binary format (f16, f32, f64, f128).
//!
//! - f32/f64 arithmetic uses the host's IEEE operations (round-to-nearest-even, fused
//!   `mul_add`); f16 arithmetic is computed exactly-rounded through f64 (double rounding is
//!   innocuous for +, −, ×, ÷, √ since 53 ≥ 2·11 + 2) and f16 `fma` exactly in fixed point;
//!   f128 arithmetic uses `crate::softfloat`.
//! - Comparison, min/max, rounding to integral, format conversion and float↔int conversion
//!   are implemented here exactly for every format, directly on the bits.
//! - Every NaN produced by an arithmetic operation is the positive canonical quiet NaN
//!   (`FloatFormat::canonical_nan`), which also satisfies `enable_nan_canonicalization`;
//!   `fneg`/`fabs`/`fcopysign` are pure bit operations.

use super::lanes::mask;
use super::{InterpError, R};
use crate::condcodes::FloatRel;
use crate::immediates::FloatFormat;
use crate::opcodes::Opcode;

/// The format of a float lane of `bits` bits.
pub(crate) fn fmt_of(bits: u32) -> R<FloatFormat> {
    FloatFormat::for_bits(bits).ok_or_else(|| InterpError::Invalid(format!("no {bits}-bit float format")))
}

#[inline]
fn is_nan(f: FloatFormat, x: u128) -> bool {
    f.is_nan(x)
}

/// Replace a NaN by the positive canonical NaN.
#[inline]
pub(crate) fn canon(f: FloatFormat, x: u128) -> u128 {
    if is_nan(f, x) { f.canonical_nan() } else { x }
}

/// The IEEE relation of `a` and `b`.
pub(crate) fn compare(f: FloatFormat, a: u128, b: u128) -> FloatRel {
    if is_nan(f, a) || is_nan(f, b) {
        return FloatRel::Unordered;
    }
    let mag = f.sign_bit() - 1;
    if (a | b) & mag == 0 {
        return FloatRel::Equal;
    }
    let key = |x: u128| -> i128 { if x & f.sign_bit() != 0 { -((x & mag) as i128) } else { (x & mag) as i128 } };
    match key(a).cmp(&key(b)) {
        core::cmp::Ordering::Less => FloatRel::Less,
        core::cmp::Ordering::Equal => FloatRel::Equal,
        core::cmp::Ordering::Greater => FloatRel::Greater,
    }
}

/// Binary float lane operations.
pub(crate) fn binary(op: Opcode, f: FloatFormat, a: u128, b: u128) -> R<u128> {
    use Opcode::*;
    let sign = f.sign_bit();
    match op {
        Fcopysign => return Ok((a & !sign) | (b & sign)),
        Fmin | Fmax => {
            return Ok(match compare(f, a, b) {
                FloatRel::Unordered => f.canonical_nan(),
                FloatRel::Less => {
                    if op == Fmin {
                        a
                    } else {
                        b
                    }
                }
                FloatRel::Greater => {
                    if op == Fmin {
                        b
                    } else {
                        a
                    }
                }
                // Equal: identical values, or zeros of possibly different signs.
                FloatRel::Equal => {
                    if op == Fmin {
                        a | b
                    } else {
                        a & b
                    }
                }
            });
        }
        Band => return Ok(a & b),
        Bor => return Ok(a | b),
        Bxor => return Ok(a ^ b),
        _ => {}
    }
    let r = match f.bits() {
        32 => {
            let (x, y) = (f32::from_bits(a as u32), f32::from_bits(b as u32));
            (match op {
                Fadd => x + y,
                Fsub => x - y,
                Fmul => x * y,
                Fdiv => x / y,
                _ => return Err(not_float(op)),
            })
            .to_bits() as u128
        }
        64 => {
            let (x, y) = (f64::from_bits(a as u64), f64::from_bits(b as u64));
            (match op {
                Fadd => x + y,
                Fsub => x - y,
                Fmul => x * y,
                Fdiv => x / y,
                _ => return Err(not_float(op)),
            })
            .to_bits() as u128
        }
        16 => {
            let (x, y) = (f16_to_f64(a), f16_to_f64(b));
            let r = match op {
                Fadd => x + y,
                Fsub => x - y,
                Fmul => x * y,
                Fdiv => x / y,
                _ => return Err(not_float(op)),
            };
            convert(FloatFormat::F64, FloatFormat::F16, r.to_bits() as u128)
        }
        _ => match op {
            Fadd => sf::add(f, a, b)?,
            Fsub => sf::sub(f, a, b)?,
            Fmul => sf::mul(f, a, b)?,
            Fdiv => sf::div(f, a, b)?,
            _ => return Err(not_float(op)),
        },
    };
    Ok(canon(f, r))
}

fn not_float(op: Opcode) -> InterpError {
    InterpError::Invalid(format!("{op} is not a float operation"))
}

fn f16_to_f64(x: u128) -> f64 {
    f64::from_bits(convert(FloatFormat::F16, FloatFormat::F64, x) as u64)
}

/// Rounding directions of `round_to_integral`.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(crate) enum Round {
    Nearest,
    Zero,
    Down,
    Up,
}

/// Unary float lane operations.
pub(crate) fn unary(op: Opcode, f: FloatFormat, x: u128) -> R<u128> {
    use Opcode::*;
    let sign = f.sign_bit();
    Ok(match op {
        Fneg => x ^ sign,
        Fabs => x & !sign,
        Bnot => !x & mask(f.bits()),
        Ceil => round_integral(f, x, Round::Up),
        Floor => round_integral(f, x, Round::Down),
        Trunc => round_integral(f, x, Round::Zero),
        Nearest => round_integral(f, x, Round::Nearest),
        Sqrt => {
            let r = match f.bits() {
                32 => f32::from_bits(x as u32).sqrt().to_bits() as u128,
                64 => f64::from_bits(x as u64).sqrt().to_bits() as u128,
                16 => convert(FloatFormat::F64, FloatFormat::F16, f16_to_f64(x).sqrt().to_bits() as u128),
                _ => sf::sqrt(f, x)?,
            };
            canon(f, r)
        }
        _ => return Err(not_float(op)),
    })
}

/// Fused multiply-add `a·b + c` with one rounding.
pub(crate) fn fma(f: FloatFormat, a: u128, b: u128, c: u128) -> R<u128> {
    let r = match f.bits() {
        32 => f32::from_bits(a as u32).mul_add(f32::from_bits(b as u32), f32::from_bits(c as u32)).to_bits() as u128,
        64 => f64::from_bits(a as u64).mul_add(f64::from_bits(b as u64), f64::from_bits(c as u64)).to_bits() as u128,
        16 => fma16(a, b, c),
        _ => sf::fma(f, a, b, c)?,
    };
    Ok(canon(f, r))
}

/// Exact f16 fma: every finite f16 product and addend is an integer multiple of 2^-48 below
/// 2^80, so the exact sum fits an i128 and is rounded once.
fn fma16(a: u128, b: u128, c: u128) -> u128 {
    let f = FloatFormat::F16;
    let finite = |x: u128| (x >> f.t) & f.exp_max() != f.exp_max();
    if !(finite(a) && finite(b) && finite(c)) {
        // Non-finite operands: the f64 computation gives the right special result.
        let r = f16_to_f64(a).mul_add(f16_to_f64(b), f16_to_f64(c));
        return convert(FloatFormat::F64, f, r.to_bits() as u128);
    }
    // value = sig * 2^exp with exp >= -24.
    let fixed = |x: u128| -> i128 {
        let (neg, exp, sig) = decode(f, x);
        let v = (sig as i128) << (exp + 24);
        if neg { -v } else { v }
    };
    let prod = fixed(a) * fixed(b); // lsb 2^-48
    let sum = prod + (fixed(c) << 24);
    if sum == 0 {
        // Exact zero: +0 unless both addends are -0 (or -0 * x + -0 with negative product).
        let ps = (a ^ b) & f.sign_bit() != 0;
        let cs = c & f.sign_bit() != 0;
        let pz = prod == 0;
        return if pz && ps && cs { f.sign_bit() } else { 0 };
    }
    round_pack(f, sum < 0, -48, sum.unsigned_abs(), false)
}

/// Decode a finite, non-NaN float: (negative, exponent, significand) with value
/// `sig · 2^exp`.
pub(crate) fn decode(f: FloatFormat, x: u128) -> (bool, i32, u128) {
    let neg = x & f.sign_bit() != 0;
    let e = ((x >> f.t) & f.exp_max()) as i32;
    let frac = x & f.frac_mask();
    let emin = 1 - f.bias();
    if e == 0 { (neg, emin - f.t as i32, frac) } else { (neg, e - f.bias() - f.t as i32, frac | (1u128 << f.t)) }
}

/// Round `sig · 2^exp` (plus a sticky fraction below it when `sticky`) to format `f` with
/// round-to-nearest-even; overflow gives ±Inf, underflow subnormals or ±0.
pub(crate) fn round_pack(f: FloatFormat, neg: bool, exp: i32, sig: u128, sticky: bool) -> u128 {
    let sign = if neg { f.sign_bit() } else { 0 };
    if sig == 0 {
        return sign;
    }
    let t = f.t as i32;
    let p = 127 - sig.leading_zeros() as i32; // position of the leading bit
    let e_lead = p + exp;
    let emin = 1 - f.bias();
    if e_lead > f.bias() {
        return sign | (f.exp_max() << f.t);
    }
    // Weight exponent of the least significant kept bit.
    let mut lsb = e_lead.max(emin) - t;
    let s = lsb - exp;
    let mut m = if s <= 0 {
        sig << (-s) as u32
    } else {
        let (q, rem_gt, rem_eq) = if s >= 128 {
            // Everything is below the kept bits; half = 2^(s-1) can only be reached by sig
            // when its leading bit is at s-1.
            let at_half = s - 1 == p;
            let pow2 = sig & (sig - 1) == 0;
            (0u128, at_half && (!pow2 || sticky), at_half && pow2 && !sticky)
        } else {
            let q = sig >> s;
            let rem = sig & mask(s as u32);
            let half = 1u128 << (s - 1);
            (q, rem > half || (rem == half && sticky), rem == half && !sticky)
        };
        if rem_gt || (rem_eq && q & 1 == 1) { q + 1 } else { q }
    };
    if m >> (f.t + 1) != 0 {
        m >>= 1;
        lsb += 1;
    }
    if m >> f.t == 0 {
        // Subnormal (or zero after rounding).
        return sign | m;
    }
    let biased = (lsb + t + f.bias()) as u128;
    if biased >= f.exp_max() {
        return sign | (f.exp_max() << f.t);
    }
    sign | (biased << f.t) | (m & f.frac_mask())
}

/// Convert between formats (exact when widening, RNE when narrowing); NaN → canonical NaN.
pub(crate) fn convert(from: FloatFormat, to: FloatFormat, x: u128) -> u128 {
    if is_nan(from, x) {
        return to.canonical_nan();
    }
    let neg = x & from.sign_bit() != 0;
    let sign = if neg { to.sign_bit() } else { 0 };
    if (x >> from.t) & from.exp_max() == from.exp_max() {
        return sign | (to.exp_max() << to.t);
    }
    let (neg, exp, sig) = decode(from, x);
    round_pack(to, neg, exp, sig, false)
}

/// Round to an integral value in the given direction; NaN → canonical NaN.
pub(crate) fn round_integral(f: FloatFormat, x: u128, mode: Round) -> u128 {
    if is_nan(f, x) {
        return f.canonical_nan();
    }
    let sign = x & f.sign_bit();
    let mag = x & !f.sign_bit();
    let e_field = (mag >> f.t) as i32;
    if mag == 0 || e_field as u128 == f.exp_max() {
        return x;
    }
    let e = e_field - f.bias();
    if e >= f.t as i32 {
        return x;
    }
    let one = (f.bias() as u128) << f.t;
    let neg = sign != 0;
    if e < 0 {
        // 0 < |x| < 1.
        let up = match mode {
            Round::Zero => false,
            Round::Down => neg,
            Round::Up => !neg,
            Round::Nearest => e == -1 && mag & f.frac_mask() != 0,
        };
        return sign | if up { one } else { 0 };
    }
    let fb = f.t - e as u32;
    let fm = mask(fb);
    let frac = mag & fm;
    if frac == 0 {
        return x;
    }
    let trunc = mag & !fm;
    let half = 1u128 << (fb - 1);
    let up = match mode {
        Round::Zero => false,
        Round::Down => neg,
        Round::Up => !neg,
        Round::Nearest => frac > half || (frac == half && (trunc >> fb) & 1 == 1),
    };
    sign | if up { trunc + (1u128 << fb) } else { trunc }
}

/// Why a float → int conversion failed.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(crate) enum ToInt {
    NaN,
    Overflow,
}

/// Truncating conversion to a `bits`-bit integer, exact for every format.
pub(crate) fn to_int(f: FloatFormat, x: u128, signed: bool, bits: u32) -> Result<u128, ToInt> {
    if is_nan(f, x) {
        return Err(ToInt::NaN);
    }
    let neg = x & f.sign_bit() != 0;
    let e_field = ((x >> f.t) & f.exp_max()) as i32;
    if e_field as u128 == f.exp_max() {
        return Err(ToInt::Overflow);
    }
    let mag: u128 = if e_field == 0 {
        0
    } else {
        let e = e_field - f.bias();
        let m = (x & f.frac_mask()) | (1u128 << f.t);
        if e < 0 {
            0
        } else if e >= 128 {
            return Err(ToInt::Overflow);
        } else if e >= f.t as i32 {
            m << (e - f.t as i32) as u32
        } else {
            m >> (f.t as i32 - e) as u32
        }
    };
    let m = mask(bits);
    if signed {
        let lim = 1u128 << (bits - 1);
        if neg {
            if mag > lim {
                return Err(ToInt::Overflow);
            }
            Ok(mag.wrapping_neg() & m)
        } else {
            if mag >= lim {
                return Err(ToInt::Overflow);
            }
            Ok(mag)
        }
    } else {
        if (neg && mag != 0) || mag > m {
            return Err(ToInt::Overflow);
        }
        Ok(mag)
    }
}

/// Saturating conversion: NaN → 0, out of range → the nearest bound.
pub(crate) fn to_int_sat(f: FloatFormat, x: u128, signed: bool, bits: u32) -> u128 {
    match to_int(f, x, signed, bits) {
        Ok(v) => v,
        Err(ToInt::NaN) => 0,
        Err(ToInt::Overflow) => {
            let neg = x & f.sign_bit() != 0;
            match (signed, neg) {
                (true, true) => 1u128 << (bits - 1),
                (true, false) => mask(bits - 1),
                (false, true) => 0,
                (false, false) => mask(bits),
            }
        }
    }
}

/// Convert a `bits`-bit integer (signed or unsigned) to format `f`, RNE.
pub(crate) fn from_int(f: FloatFormat, x: u128, signed: bool, bits: u32) -> u128 {
    let x = x & mask(bits);
    let v = super::lanes::sext(x, bits);
    let (neg, mag) = if signed && v < 0 { (true, v.unsigned_abs()) } else { (false, x) };
    match f.bits() {
        32 => (if neg { -(mag as f32) } else { mag as f32 }).to_bits() as u128,
        64 => (if neg { -(mag as f64) } else { mag as f64 }).to_bits() as u128,
        _ => round_pack(f, neg, 0, mag, false),
    }
}

/// f128 arithmetic through `crate::softfloat`.
mod sf {
    use super::R;
    use crate::immediates::FloatFormat;
    use crate::softfloat;

    pub(super) fn add(f: FloatFormat, a: u128, b: u128) -> R<u128> {
        Ok(softfloat::add(f, a, b))
    }
    pub(super) fn sub(f: FloatFormat, a: u128, b: u128) -> R<u128> {
        Ok(softfloat::sub(f, a, b))
    }
    pub(super) fn mul(f: FloatFormat, a: u128, b: u128) -> R<u128> {
        Ok(softfloat::mul(f, a, b))
    }
    pub(super) fn div(f: FloatFormat, a: u128, b: u128) -> R<u128> {
        Ok(softfloat::div(f, a, b))
    }
    pub(super) fn sqrt(f: FloatFormat, a: u128) -> R<u128> {
        Ok(softfloat::sqrt(f, a))
    }
    pub(super) fn fma(f: FloatFormat, a: u128, b: u128, c: u128) -> R<u128> {
        Ok(softfloat::fma(f, a, b, c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const F16: FloatFormat = FloatFormat::F16;
    const F32: FloatFormat = FloatFormat::F32;
    const F64: FloatFormat = FloatFormat::F64;
    const F128: FloatFormat = FloatFormat::F128;

    fn f32b(x: f32) -> u128 {
        x.to_bits() as u128
    }

    #[test]
    fn conversions_match_the_host() {
        let samples = [
            0.0f64,
            -0.0,
            1.0,
            -1.5,
            1.2345678901234,
            1e-40,
            1e-310,
            5e-324,
            1e38,
            3.5e38,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            65504.0,
            65520.0,
            6e-8,
            2.9802322387695312e-8,
        ];
        for &x in &samples {
            let b = x.to_bits() as u128;
            assert_eq!(convert(F64, F32, b), f32b(x as f32), "{x}");
            assert_eq!(convert(F32, F64, f32b(x as f32)), (x as f32 as f64).to_bits() as u128, "{x}");
            // f64 -> f128 -> f64 round trip.
            assert_eq!(convert(F128, F64, convert(F64, F128, b)), b, "{x}");
        }
        // f16 edges.
        assert_eq!(convert(F64, F16, 65504f64.to_bits() as u128), 0x7bff);
        assert_eq!(convert(F64, F16, 65520f64.to_bits() as u128), 0x7c00);
        assert_eq!(convert(F64, F16, 65519.99f64.to_bits() as u128), 0x7bff);
        assert_eq!(convert(F64, F16, 2f64.powi(-24).to_bits() as u128), 1);
        assert_eq!(convert(F64, F16, 2f64.powi(-25).to_bits() as u128), 0); // tie to even 0
        assert_eq!(convert(F64, F16, (1.5 * 2f64.powi(-25)).to_bits() as u128), 1);
        assert_eq!(convert(F16, F32, 0x3c00), f32b(1.0));
        assert_eq!(convert(F16, F32, 0x0001), f32b(2f32.powi(-24)));
        assert_eq!(convert(F32, F16, 0x7fc0_0001), 0x7e00);
    }

    #[test]
    fn int_conversions() {
        assert_eq!(to_int(F32, f32b(-2147483648.0), true, 32), Ok(0x8000_0000));
        assert_eq!(to_int(F32, f32b(-2147483904.0), true, 32), Err(ToInt::Overflow));
        assert_eq!(to_int(F32, f32b(2147483648.0), true, 32), Err(ToInt::Overflow));
        assert_eq!(to_int(F64, (-2147483648.9f64).to_bits() as u128, true, 32), Ok(0x8000_0000));
        assert_eq!(to_int(F64, (-2147483649.0f64).to_bits() as u128, true, 32), Err(ToInt::Overflow));
        assert_eq!(to_int(F32, f32b(4294967040.0), false, 32), Ok(4294967040));
        assert_eq!(to_int(F32, f32b(4294967296.0), false, 32), Err(ToInt::Overflow));
        assert_eq!(to_int(F32, f32b(-0.9), false, 32), Ok(0));
        assert_eq!(to_int(F32, f32b(f32::NAN), false, 32), Err(ToInt::NaN));
        assert_eq!(to_int_sat(F32, f32b(f32::NEG_INFINITY), true, 8), 0x80);
        assert_eq!(to_int_sat(F32, f32b(1e10), false, 16), 0xffff);
        assert_eq!(to_int_sat(F32, f32b(-5.0), false, 16), 0);
        assert_eq!(to_int(F128, convert(F64, F128, 2f64.powi(127).to_bits() as u128), false, 128), Ok(1 << 127));
        assert_eq!(from_int(F32, u128::MAX, false, 128), f32b(u128::MAX as f32));
        assert_eq!(from_int(F32, 0xff, true, 8), f32b(-1.0));
        assert_eq!(from_int(F16, 65535, false, 32), 0x7c00);
        assert_eq!(from_int(F16, 2049, false, 32), 0x6800); // 2048: tie to even
        assert_eq!(from_int(F16, 2051, false, 32), 0x6802);
        assert_eq!(from_int(F128, 1, true, 8), convert(F64, F128, 1f64.to_bits() as u128));
    }

    #[test]
    fn rounding_and_minmax() {
        for x in [0.5f32, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 1e20, -0.0, 3.7, -3.7, 1e-40] {
            let b = f32b(x);
            assert_eq!(round_integral(F32, b, Round::Nearest), f32b(x.round_ties_even()), "{x}");
            assert_eq!(round_integral(F32, b, Round::Up), f32b(x.ceil()), "{x}");
            assert_eq!(round_integral(F32, b, Round::Down), f32b(x.floor()), "{x}");
            assert_eq!(round_integral(F32, b, Round::Zero), f32b(x.trunc()), "{x}");
        }
        let (pz, nz) = (f32b(0.0), f32b(-0.0));
        assert_eq!(binary(Opcode::Fmin, F32, pz, nz), Ok(nz));
        assert_eq!(binary(Opcode::Fmax, F32, nz, pz), Ok(pz));
        assert_eq!(binary(Opcode::Fmin, F32, f32b(f32::NAN), pz), Ok(0x7fc0_0000));
        assert_eq!(binary(Opcode::Fadd, F32, f32b(f32::INFINITY), f32b(f32::NEG_INFINITY)), Ok(0x7fc0_0000));
        assert_eq!(compare(F16, 0x8000, 0), FloatRel::Equal);
        assert_eq!(compare(F16, 0xbc00, 0x3c00), FloatRel::Less);
    }

    #[test]
    fn f16_arithmetic() {
        // 1 + 2^-11 rounds to 1 (tie to even), 1 + 3*2^-11 rounds up.
        assert_eq!(binary(Opcode::Fadd, F16, 0x3c00, 0x1000), Ok(0x3c00));
        assert_eq!(binary(Opcode::Fmul, F16, 0x4000, 0x4200), Ok(0x4600));
        assert_eq!(unary(Opcode::Sqrt, F16, 0x4400), Ok(0x4000));
        assert_eq!(fma(F16, 0x3c00, 0x3c00, 0x3c00), Ok(0x4000));
        assert_eq!(fma(F16, 0x8000, 0x3c00, 0x8000), Ok(0x8000));
        assert_eq!(fma(F16, 0x7c00, 0, 0x3c00), Ok(0x7e00));
        // fma rounding once: (1+2^-10)^2 - 1 = 2^-9 + 2^-20 exactly representable? check vs f64.
        let a = 0x3c01;
        let exact = f16_to_f64(a) * f16_to_f64(a) - 1.0;
        assert_eq!(fma(F16, a, a, 0xbc00), Ok(convert(F64, F16, exact.to_bits() as u128)));
    }

    /// The exact conversions and roundings written here agree with `crate::softfloat` (an
    /// independent implementation) on random and special inputs of every format.
    #[test]
    fn agrees_with_softfloat() {
        use crate::softfloat::{self as sfl, RoundMode};
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let fmts = [F16, F32, F64, F128];
        for _ in 0..20_000 {
            let f = fmts[(rnd() % 4) as usize];
            let g = fmts[(rnd() % 4) as usize];
            let raw = ((rnd() as u128) << 64 | rnd() as u128) & mask(f.bits());
            // Bias toward interesting exponents.
            let x = match rnd() % 4 {
                0 => raw,
                1 => {
                    raw & !(f.exp_max() << f.t) | (((f.bias() as u128 + (rnd() % 140) as u128).min(f.exp_max())) << f.t)
                }
                2 => raw & (f.frac_mask() | f.sign_bit()),
                _ => raw & !(f.exp_max() << f.t) | (((f.bias() as u128).saturating_sub((rnd() % 30) as u128)) << f.t),
            };
            assert_eq!(convert(f, g, x), sfl::convert(f, g, x), "convert {f:?}->{g:?} {x:#x}");
            for (m, r) in [
                (Round::Nearest, RoundMode::NearestEven),
                (Round::Zero, RoundMode::TowardZero),
                (Round::Down, RoundMode::Down),
                (Round::Up, RoundMode::Up),
            ] {
                assert_eq!(round_integral(f, x, m), sfl::round_to_integral(f, x, r), "round {f:?} {x:#x} {m:?}");
            }
            let bits = [8, 16, 32, 64, 128][(rnd() % 5) as usize];
            for signed in [false, true] {
                let mine = to_int(f, x, signed, bits).map_err(|e| e == ToInt::NaN);
                let theirs = sfl::to_int(f, x, signed, bits).map_err(|e| matches!(e, sfl::ToIntError::NaN));
                assert_eq!(mine, theirs, "to_int {f:?} {x:#x} {signed} {bits}");
                assert_eq!(to_int_sat(f, x, signed, bits), sfl::to_int_sat(f, x, signed, bits));
                let i = raw & mask(bits);
                assert_eq!(from_int(f, i, signed, bits), sfl::from_int(f, i, signed, bits), "from_int {i:#x}");
            }
            let y = ((rnd() as u128) << 64 | rnd() as u128) & mask(f.bits());
            if f.bits() == 16 {
                for op in [Opcode::Fadd, Opcode::Fsub, Opcode::Fmul, Opcode::Fdiv] {
                    let want = match op {
                        Opcode::Fadd => sfl::add(f, x, y),
                        Opcode::Fsub => sfl::sub(f, x, y),
                        Opcode::Fmul => sfl::mul(f, x, y),
                        _ => sfl::div(f, x, y),
                    };
                    assert_eq!(binary(op, f, x, y), Ok(want), "{op} {x:#x} {y:#x}");
                }
                assert_eq!(unary(Opcode::Sqrt, f, x), Ok(sfl::sqrt(f, x)));
                let z = raw.rotate_left(17) & mask(16);
                assert_eq!(fma(f, x, y, z), Ok(sfl::fma(f, x, y, z)), "fma {x:#x} {y:#x} {z:#x}");
            }
        }
    }
}

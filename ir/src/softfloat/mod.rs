//! Exact IEEE 754 binary floating-point arithmetic on bit patterns, for every format Kiln has
//! (binary16, binary32, binary64, binary128), used by the reference interpreter and the
//! constant folder where the host has no (stable) arithmetic, and agreeing bit for bit with
//! the host where it has.
//!
//! Semantics are those of OPCODES.md §0.3, §7 and §8: round-to-nearest-ties-to-even
//! everywhere (only [`round_to_integral`] takes another [`RoundMode`]), subnormals fully
//! supported, no exceptions or status flags. **Every NaN produced by an arithmetic operation
//! is the positive canonical quiet NaN of the result format** ([`FloatFormat::canonical_nan`]),
//! whatever the NaN inputs were.
//!
//! Conventions and invariants:
//! * Operands and results are bit patterns zero-extended into a `u128`; bits above the format
//!   width in an operand are ignored, and results never have them set.
//! * `fmt` must be one of [`FloatFormat::F16`], [`FloatFormat::F32`], [`FloatFormat::F64`],
//!   [`FloatFormat::F128`] (any format with `2 ≤ w ≤ 15`, `1 ≤ t ≤ 112` works).
//! * One generic implementation: operands are unpacked to `sign · sig · 2^exp` with an integer
//!   significand, the exact result (or an approximation with enough extra bits plus a sticky
//!   bit) is computed on integers — [`wide::U256`] for the 226-bit binary128 products and
//!   `fma` sums — and rounded exactly once by [`round_pack`]. Division is exact long division,
//!   square root a digit-by-digit integer square root, both with a sticky remainder bit.
//! * No heap allocation, no panics for any input bit pattern.

mod wide;

#[cfg(test)]
mod tests;

use crate::condcodes::FloatRel;
use crate::immediates::FloatFormat;
use core::cmp::Ordering;
use wide::U256;

/// Rounding direction of [`round_to_integral`].
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum RoundMode {
    /// To nearest, ties to even (`nearest`).
    NearestEven,
    /// Toward zero (`trunc`).
    TowardZero,
    /// Toward −∞ (`floor`).
    Down,
    /// Toward +∞ (`ceil`).
    Up,
}

/// Why a float → integer conversion has no result ([`to_int`]).
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum ToIntError {
    /// The input is a NaN (`bad_toint`).
    NaN,
    /// The truncated value is outside the integer range, or the input is ±Inf (`int_ovf`).
    Overflow,
}

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum Class {
    Zero,
    Finite,
    Inf,
    NaN,
}

/// An unpacked operand: for `Finite`, the value is `(−1)^sign · sig · 2^exp` with
/// `1 ≤ sig < 2^(t+1)` (subnormals have `exp = qmin` and `sig < 2^t`).
#[derive(Copy, Clone, Debug)]
struct Unpacked {
    class: Class,
    sign: bool,
    exp: i32,
    sig: u128,
}

/// The mask of the format's bits.
fn width_mask(fmt: FloatFormat) -> u128 {
    (fmt.sign_bit() << 1).wrapping_sub(1)
}

/// Exponent of the unit in the last place of subnormals (and of the smallest binade).
fn qmin(fmt: FloatFormat) -> i32 {
    1 - fmt.bias() - fmt.t as i32
}

fn unpack(fmt: FloatFormat, bits: u128) -> Unpacked {
    debug_assert!((2..=15).contains(&fmt.w) && (1..=112).contains(&fmt.t));
    let sign = bits & fmt.sign_bit() != 0;
    let e = (bits >> fmt.t) & fmt.exp_max();
    let frac = bits & fmt.frac_mask();
    let (class, exp, sig) = if e == fmt.exp_max() {
        (if frac == 0 { Class::Inf } else { Class::NaN }, 0, 0)
    } else if e == 0 {
        (if frac == 0 { Class::Zero } else { Class::Finite }, qmin(fmt), frac)
    } else {
        (Class::Finite, e as i32 - fmt.bias() - fmt.t as i32, frac | (1 << fmt.t))
    };
    Unpacked { class, sign, exp, sig }
}

fn sign_bits(fmt: FloatFormat, sign: bool) -> u128 {
    if sign { fmt.sign_bit() } else { 0 }
}

fn zero(fmt: FloatFormat, sign: bool) -> u128 {
    sign_bits(fmt, sign)
}

fn inf(fmt: FloatFormat, sign: bool) -> u128 {
    sign_bits(fmt, sign) | (fmt.exp_max() << fmt.t)
}

/// Round `(−1)^sign · (sig + ε) · 2^exp` to `fmt` (ties to even) and pack it, where `ε` is an
/// infinitesimal present iff `sticky` ("some non-zero bits below `sig`'s last bit").
///
/// Requires `sig != 0`, and, if `sticky`, that `sig` has at least `t + 2` significant bits (so
/// that the rounding point lies above `sig`'s last bit). Overflow gives ±Inf; tiny values
/// round to subnormals or ±0.
fn round_pack(fmt: FloatFormat, sign: bool, exp: i32, sig: u128, sticky: bool) -> u128 {
    debug_assert!(sig != 0);
    let t = fmt.t as i32;
    let len = 128 - sig.leading_zeros() as i32;
    let qmin = qmin(fmt);
    // The exponent of the last place of the result.
    let q = (exp + len - (t + 1)).max(qmin);
    let s = q - exp;
    let m = if s <= 0 {
        debug_assert!(!sticky);
        sig << -s
    } else {
        let s = s as u32;
        let (kept, half, rest) = if s > 128 {
            (0, false, true)
        } else if s == 128 {
            (0, sig >> 127 == 1, sig << 1 != 0)
        } else {
            (sig >> s, (sig >> (s - 1)) & 1 == 1, sig & ((1u128 << (s - 1)) - 1) != 0)
        };
        kept + (half && (rest || sticky || kept & 1 == 1)) as u128
    };
    // Packing `field << t` plus a significand with its hidden bit adds that bit into the
    // exponent field; a rounding carry to 2^(t+1) likewise bumps the exponent.
    let field = (q - qmin) as u128;
    if field >= fmt.exp_max() {
        return inf(fmt, sign);
    }
    let mag = (field << fmt.t) + m;
    if mag >= fmt.exp_max() << fmt.t { inf(fmt, sign) } else { sign_bits(fmt, sign) | mag }
}

/// `v >> d`, setting bit 0 if any bit shifted out was set.
fn shr_jam(v: u128, d: u32) -> u128 {
    if d == 0 {
        v
    } else if d >= 128 {
        (v != 0) as u128
    } else {
        (v >> d) | ((v << (128 - d)) != 0) as u128
    }
}

/// Magnitude order of two finite unpacked values.
fn cmp_mag(a: &Unpacked, b: &Unpacked) -> Ordering {
    (a.exp, a.sig).cmp(&(b.exp, b.sig))
}

/// `a + b`, RNE. `(+0) + (−0) = +0`; `Inf − Inf` is NaN.
pub fn add(fmt: FloatFormat, a: u128, b: u128) -> u128 {
    add_impl(fmt, a & width_mask(fmt), b & width_mask(fmt))
}

/// `a − b`, RNE.
pub fn sub(fmt: FloatFormat, a: u128, b: u128) -> u128 {
    add_impl(fmt, a & width_mask(fmt), (b & width_mask(fmt)) ^ fmt.sign_bit())
}

fn add_impl(fmt: FloatFormat, a: u128, b: u128) -> u128 {
    let (ua, ub) = (unpack(fmt, a), unpack(fmt, b));
    use Class::*;
    match (ua.class, ub.class) {
        (NaN, _) | (_, NaN) => fmt.canonical_nan(),
        (Inf, Inf) if ua.sign != ub.sign => fmt.canonical_nan(),
        (Inf, _) => a,
        (_, Inf) => b,
        (Zero, Zero) => zero(fmt, ua.sign && ub.sign),
        (Zero, Finite) => b,
        (Finite, Zero) => a,
        (Finite, Finite) => {
            let (x, y) = if cmp_mag(&ua, &ub) == Ordering::Less { (ub, ua) } else { (ua, ub) };
            // Put the significands at bits 125 – 13 (binary128) with 13+ zero bits below,
            // shift the smaller one right with jamming: when bits are lost (d > 13) the
            // result keeps ≥ 125 bits and the jammed bit lies far below the rounding point.
            let k = 125 - fmt.t;
            let d = (x.exp - y.exp) as u32;
            let xs = x.sig << k;
            let ys = shr_jam(y.sig << k, d);
            let sum = if x.sign == y.sign { xs + ys } else { xs - ys };
            if sum == 0 {
                return zero(fmt, false);
            }
            round_pack(fmt, x.sign, x.exp - k as i32, sum, false)
        }
    }
}

/// `a · b`, RNE.
pub fn mul(fmt: FloatFormat, a: u128, b: u128) -> u128 {
    let (ua, ub) = (unpack(fmt, a), unpack(fmt, b));
    let sign = ua.sign != ub.sign;
    use Class::*;
    match (ua.class, ub.class) {
        (NaN, _) | (_, NaN) | (Inf, Zero) | (Zero, Inf) => fmt.canonical_nan(),
        (Inf, _) | (_, Inf) => inf(fmt, sign),
        (Zero, _) | (_, Zero) => zero(fmt, sign),
        (Finite, Finite) => {
            let exp = ua.exp + ub.exp;
            if fmt.t < 64 {
                round_pack(fmt, sign, exp, ua.sig * ub.sig, false)
            } else {
                let (v, sh, sticky) = U256::mul_u128(ua.sig, ub.sig).to_u128_sticky();
                round_pack(fmt, sign, exp + sh, v, sticky)
            }
        }
    }
}

/// Shift a finite significand so its top bit is bit `t`, adjusting the exponent.
fn normalize(fmt: FloatFormat, u: &mut Unpacked) {
    let sh = u.sig.leading_zeros() - (127 - fmt.t);
    u.sig <<= sh;
    u.exp -= sh as i32;
}

/// `a / b`, RNE. Finite / ±0 is ±Inf, `0/0` and `Inf/Inf` are NaN.
pub fn div(fmt: FloatFormat, a: u128, b: u128) -> u128 {
    let (mut ua, mut ub) = (unpack(fmt, a), unpack(fmt, b));
    let sign = ua.sign != ub.sign;
    use Class::*;
    match (ua.class, ub.class) {
        (NaN, _) | (_, NaN) | (Inf, Inf) | (Zero, Zero) => fmt.canonical_nan(),
        (Inf, _) | (_, Zero) => inf(fmt, sign),
        (_, Inf) | (Zero, _) => zero(fmt, sign),
        (Finite, Finite) => {
            normalize(fmt, &mut ua);
            normalize(fmt, &mut ub);
            // q = floor(sa · 2^n / sb) has n+1 or n bits (sa/sb ∈ (1/2, 2)), n = t + 3.
            let n = fmt.t + 3;
            let (q, rem_nonzero) = if 2 * fmt.t + 5 <= 128 {
                let num = ua.sig << n;
                (num / ub.sig, !num.is_multiple_of(ub.sig))
            } else {
                // Long division of sa · 2^(n + 127 − t) by sb · 2^(127 − t) (normalized).
                let num = U256::from_u128(ua.sig).shl(n + 127 - fmt.t);
                let (q, r) = num.div_rem_u128(ub.sig << (127 - fmt.t));
                (q, r != 0)
            };
            round_pack(fmt, sign, ua.exp - ub.exp - n as i32, q, rem_nonzero)
        }
    }
}

/// Digit-by-digit integer square root: `(floor(sqrt(x)), x is not a perfect square)`.
/// Requires `x < 2^240` (the root and the remainder then fit in a `u128`).
fn isqrt_rem(x: U256) -> (u128, bool) {
    let pairs = x.bit_len().div_ceil(2);
    let mut root = 0u128;
    let mut rem = 0u128;
    for i in (0..pairs).rev() {
        // Invariant: rem ≤ 2·root, so rem·4 + 3 < 2^123 for roots below 2^120.
        rem = (rem << 2) | x.pair(i);
        let cand = (root << 2) | 1;
        let ge = rem >= cand;
        rem -= cand & (ge as u128).wrapping_neg();
        root = (root << 1) | ge as u128;
    }
    (root, rem != 0)
}

/// Square root, RNE. `sqrt(−0) = −0`, `sqrt(+Inf) = +Inf`, negative non-zero inputs give NaN.
pub fn sqrt(fmt: FloatFormat, a: u128) -> u128 {
    let mut ua = unpack(fmt, a);
    match ua.class {
        Class::NaN => fmt.canonical_nan(),
        Class::Zero => zero(fmt, ua.sign),
        _ if ua.sign => fmt.canonical_nan(),
        Class::Inf => inf(fmt, false),
        Class::Finite => {
            normalize(fmt, &mut ua);
            if ua.exp & 1 != 0 {
                ua.sig <<= 1;
                ua.exp -= 1;
            }
            // Radicand sig · 2^(2k) with 2k ≥ p + 4, so the root has ≥ p + 2 bits.
            let k = (fmt.t + 6) / 2;
            let (root, inexact) = isqrt_rem(U256::from_u128(ua.sig).shl(2 * k));
            round_pack(fmt, false, ua.exp / 2 - k as i32, root, inexact)
        }
    }
}

/// `a · b + c` with a single rounding (RNE).
pub fn fma(fmt: FloatFormat, a: u128, b: u128, c: u128) -> u128 {
    let c = c & width_mask(fmt);
    let (ua, ub, uc) = (unpack(fmt, a), unpack(fmt, b), unpack(fmt, c));
    let ps = ua.sign != ub.sign;
    use Class::*;
    if ua.class == NaN || ub.class == NaN || uc.class == NaN {
        return fmt.canonical_nan();
    }
    match (ua.class, ub.class) {
        (Inf, Zero) | (Zero, Inf) => return fmt.canonical_nan(),
        (Inf, _) | (_, Inf) => {
            return if uc.class == Inf && uc.sign != ps { fmt.canonical_nan() } else { inf(fmt, ps) };
        }
        _ => {}
    }
    if uc.class == Inf {
        return c;
    }
    if ua.class == Zero || ub.class == Zero {
        return if uc.class == Zero { zero(fmt, ps && uc.sign) } else { c };
    }
    let prod = U256::mul_u128(ua.sig, ub.sig);
    let pe = ua.exp + ub.exp;
    if uc.class == Zero {
        let (v, sh, sticky) = prod.to_u128_sticky();
        return round_pack(fmt, ps, pe + sh, v, sticky);
    }
    // Align both with their top bit at bit 253: the product (≤ 226 bits) and the addend
    // (≤ 113 bits) then have ≥ 27 zero bits below, so a right shift by d ≤ 27 is exact, and
    // for d > 27 the difference keeps ≥ 252 bits with the jammed bit far below the rounding
    // point.
    let pl = prod.bit_len();
    let p_m = prod.shl(254 - pl);
    let p_e = pe - (254 - pl as i32);
    let cl = 128 - uc.sig.leading_zeros();
    let c_m = U256::from_u128(uc.sig).shl(254 - cl);
    let c_e = uc.exp - (254 - cl as i32);
    let p_bigger = (p_e, p_m.hi, p_m.lo) >= (c_e, c_m.hi, c_m.lo);
    let ((bs, be, bm), (ss, se, sm)) =
        if p_bigger { ((ps, p_e, p_m), (uc.sign, c_e, c_m)) } else { ((uc.sign, c_e, c_m), (ps, p_e, p_m)) };
    let d = (be - se) as u32;
    let sm = sm.shr_jam(d);
    let sum = if bs == ss { bm.add(sm) } else { bm.sub(sm) };
    if sum.is_zero() {
        return zero(fmt, false);
    }
    let (v, sh, sticky) = sum.to_u128_sticky();
    round_pack(fmt, bs, be + sh, v, sticky)
}

/// The order key of a non-NaN value: ±0 map to 0, otherwise the signed magnitude bits.
fn order_key(fmt: FloatFormat, a: u128) -> i128 {
    let mag = (a & (fmt.sign_bit() - 1)) as i128;
    if a & fmt.sign_bit() != 0 { -mag } else { mag }
}

/// The IEEE relation of `a` and `b`: `Unordered` if either is NaN, `Equal` for `±0` vs `±0`.
pub fn compare(fmt: FloatFormat, a: u128, b: u128) -> FloatRel {
    let (a, b) = (a & width_mask(fmt), b & width_mask(fmt));
    if fmt.is_nan(a) || fmt.is_nan(b) {
        return FloatRel::Unordered;
    }
    match order_key(fmt, a).cmp(&order_key(fmt, b)) {
        Ordering::Less => FloatRel::Less,
        Ordering::Equal => FloatRel::Equal,
        Ordering::Greater => FloatRel::Greater,
    }
}

/// CLIF `fmin`: NaN if either operand is NaN, else the smaller one with `−0.0 < +0.0`.
pub fn min(fmt: FloatFormat, a: u128, b: u128) -> u128 {
    let (a, b) = (a & width_mask(fmt), b & width_mask(fmt));
    match compare(fmt, a, b) {
        FloatRel::Unordered => fmt.canonical_nan(),
        FloatRel::Less => a,
        FloatRel::Greater => b,
        // Equal: identical bits, or two zeros where −0 wins.
        FloatRel::Equal => a | b,
    }
}

/// CLIF `fmax`: NaN if either operand is NaN, else the larger one with `+0.0 > −0.0`.
pub fn max(fmt: FloatFormat, a: u128, b: u128) -> u128 {
    let (a, b) = (a & width_mask(fmt), b & width_mask(fmt));
    match compare(fmt, a, b) {
        FloatRel::Unordered => fmt.canonical_nan(),
        FloatRel::Less => b,
        FloatRel::Greater => a,
        FloatRel::Equal => a & b,
    }
}

/// Round to an integral value in the format (`ceil`/`floor`/`trunc`/`nearest`). ±0 and ±Inf
/// are returned unchanged and a zero result has `a`'s sign (`ceil(−0.5) = −0.0`).
pub fn round_to_integral(fmt: FloatFormat, a: u128, mode: RoundMode) -> u128 {
    let a = a & width_mask(fmt);
    let ua = unpack(fmt, a);
    match ua.class {
        Class::NaN => return fmt.canonical_nan(),
        Class::Zero | Class::Inf => return a,
        Class::Finite => {}
    }
    let t = fmt.t as i32;
    let e = ((a >> fmt.t) & fmt.exp_max()) as i32 - fmt.bias();
    if e >= t {
        return a;
    }
    let sign = sign_bits(fmt, ua.sign);
    let one = (fmt.bias() as u128) << fmt.t;
    if e < 0 {
        // 0 < |a| < 1: the result is ±0 or ±1.
        let up = match mode {
            RoundMode::NearestEven => e == -1 && a & fmt.frac_mask() != 0,
            RoundMode::TowardZero => false,
            RoundMode::Down => ua.sign,
            RoundMode::Up => !ua.sign,
        };
        return sign | if up { one } else { 0 };
    }
    // 1 ≤ |a| < 2^t: the low f bits of the pattern are the fraction.
    let f = (t - e) as u32;
    let unit = 1u128 << f;
    let frac = a & (unit - 1);
    if frac == 0 {
        return a;
    }
    let trunc = a & !(unit - 1);
    let up = match mode {
        RoundMode::NearestEven => {
            let half = unit >> 1;
            frac > half || (frac == half && trunc & unit != 0)
        }
        RoundMode::TowardZero => false,
        RoundMode::Down => ua.sign,
        RoundMode::Up => !ua.sign,
    };
    // Adding a unit to the magnitude carries into the exponent field if needed.
    if up { trunc + unit } else { trunc }
}

/// Convert between formats: exact when widening, RNE when narrowing (overflow → ±Inf,
/// underflow → subnormal/±0). NaNs become the canonical NaN of `to`.
pub fn convert(from: FloatFormat, to: FloatFormat, a: u128) -> u128 {
    let ua = unpack(from, a);
    match ua.class {
        Class::NaN => to.canonical_nan(),
        Class::Inf => inf(to, ua.sign),
        Class::Zero => zero(to, ua.sign),
        Class::Finite => round_pack(to, ua.sign, ua.exp, ua.sig, false),
    }
}

/// The mask of a `bits`-wide integer (`bits` is clamped to `1..=128`).
fn int_mask(bits: u32) -> u128 {
    let bits = bits.clamp(1, 128);
    if bits == 128 { u128::MAX } else { (1u128 << bits) - 1 }
}

/// Convert to a `bits`-wide integer (`bits` ∈ {8, 16, 32, 64, 128}; other values are clamped
/// to `1..=128`), truncating toward zero. The result is the integer's bit pattern
/// zero-extended. NaN → `Err(NaN)`; a truncated value outside the range, or ±Inf, →
/// `Err(Overflow)`. Values in (−1, 0) convert to 0, also for unsigned targets.
pub fn to_int(fmt: FloatFormat, a: u128, signed: bool, bits: u32) -> Result<u128, ToIntError> {
    let bits = bits.clamp(1, 128);
    let ua = unpack(fmt, a);
    match ua.class {
        Class::NaN => return Err(ToIntError::NaN),
        Class::Inf => return Err(ToIntError::Overflow),
        Class::Zero => return Ok(0),
        Class::Finite => {}
    }
    // The truncated magnitude, if it fits in 128 bits.
    let mag = if ua.exp >= 0 {
        let len = 128 - ua.sig.leading_zeros();
        if len + ua.exp as u32 > 128 {
            return Err(ToIntError::Overflow);
        }
        ua.sig << ua.exp
    } else if ua.exp <= -128 {
        0
    } else {
        ua.sig >> -ua.exp
    };
    let limit = match (signed, ua.sign) {
        (true, false) => int_mask(bits) >> 1,
        (true, true) => (int_mask(bits) >> 1) + 1,
        (false, false) => int_mask(bits),
        (false, true) => 0,
    };
    if mag > limit {
        return Err(ToIntError::Overflow);
    }
    Ok(if ua.sign { mag.wrapping_neg() & int_mask(bits) } else { mag })
}

/// Saturating conversion to a `bits`-wide integer: NaN → 0, otherwise the truncated value
/// clamped to `[MIN, MAX]` (signed) or `[0, UMAX]` (unsigned), as a zero-extended pattern.
pub fn to_int_sat(fmt: FloatFormat, a: u128, signed: bool, bits: u32) -> u128 {
    match to_int(fmt, a, signed, bits) {
        Ok(v) => v,
        Err(ToIntError::NaN) => 0,
        Err(ToIntError::Overflow) => {
            let negative = a & fmt.sign_bit() != 0;
            match (signed, negative) {
                (true, false) => int_mask(bits) >> 1,
                (true, true) => ((int_mask(bits) >> 1) + 1) & int_mask(bits),
                (false, false) => int_mask(bits),
                (false, true) => 0,
            }
        }
    }
}

/// Convert the `bits`-wide integer pattern `x` (signed or unsigned) to `fmt`, RNE. Bits of `x`
/// above `bits` are ignored; `bits` is clamped to `1..=128`.
pub fn from_int(fmt: FloatFormat, x: u128, signed: bool, bits: u32) -> u128 {
    let bits = bits.clamp(1, 128);
    let x = x & int_mask(bits);
    let negative = signed && (x >> (bits - 1)) & 1 == 1;
    // Two's complement magnitude; −2^127 gives 2^127, which fits.
    let mag = if negative { (x | !int_mask(bits)).wrapping_neg() } else { x };
    if mag == 0 {
        return zero(fmt, false);
    }
    round_pack(fmt, negative, 0, mag, false)
}

//! Integer semantics (OPCODES.md §2–§6): wrapping arithmetic, high multiplies, division
//! traps, saturation, exact overflow/carry flags, shifts and rotates (amount mod lane width),
//! bit counting, byte/bit reversal, min/max and comparisons.
//!
//! Every function works on one lane given as a zero-extended `u128` of `bits` bits
//! (8..=128) and returns a zero-extended result; the callers apply it lane-wise.

use super::lanes::{mask, sext};
use super::{InterpError, R};
use crate::opcodes::Opcode;
use crate::trapcode::TrapCode;

/// Full 256-bit product of two u128: (high, low).
pub(crate) fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    let (a1, a0) = (a >> 64, a & u64::MAX as u128);
    let (b1, b0) = (b >> 64, b & u64::MAX as u128);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 64) + (p01 & u64::MAX as u128) + (p10 & u64::MAX as u128);
    let lo = (p00 & u64::MAX as u128) | (mid << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (hi, lo)
}

/// High half of the unsigned `bits`×`bits` product.
pub(crate) fn umulhi(a: u128, b: u128, bits: u32) -> u128 {
    if bits <= 64 { (a * b) >> bits } else { mul_wide(a, b).0 }
}

/// High half of the signed `bits`×`bits` product.
pub(crate) fn smulhi(a: u128, b: u128, bits: u32) -> u128 {
    if bits <= 64 {
        let p = sext(a, bits) * sext(b, bits);
        (p >> bits) as u128 & mask(bits)
    } else {
        let (mut hi, _) = mul_wide(a, b);
        if (a as i128) < 0 {
            hi = hi.wrapping_sub(b);
        }
        if (b as i128) < 0 {
            hi = hi.wrapping_sub(a);
        }
        hi
    }
}

fn trap(code: TrapCode) -> InterpError {
    InterpError::Trap(code)
}

/// Binary lane operations that take two operands of the lane type.
pub(crate) fn binary(op: Opcode, bits: u32, a: u128, b: u128) -> R<u128> {
    use Opcode::*;
    let m = mask(bits);
    // Common operations first, without the signed views.
    match op {
        Iadd => return Ok(a.wrapping_add(b) & m),
        Isub => return Ok(a.wrapping_sub(b) & m),
        Imul => return Ok(a.wrapping_mul(b) & m),
        Band => return Ok(a & b),
        Bor => return Ok(a | b),
        Bxor => return Ok(a ^ b),
        _ => {}
    }
    let (sa, sb) = (sext(a, bits), sext(b, bits));
    let smin = sext(1u128 << (bits - 1), bits);
    let smax = (m >> 1) as i128;
    Ok(match op {
        Iadd => a.wrapping_add(b) & m,
        Isub => a.wrapping_sub(b) & m,
        Imul => a.wrapping_mul(b) & m,
        Umulhi => umulhi(a, b, bits),
        Smulhi => smulhi(a, b, bits),
        Smin => {
            if sa <= sb {
                a
            } else {
                b
            }
        }
        Smax => {
            if sa >= sb {
                a
            } else {
                b
            }
        }
        Umin => a.min(b),
        Umax => a.max(b),
        AvgRound => (a >> 1) + (b >> 1) + ((a | b) & 1),
        UaddSat => match a.checked_add(b) {
            Some(s) if s <= m => s,
            _ => m,
        },
        UsubSat => a.saturating_sub(b),
        SaddSat => match sa.checked_add(sb) {
            Some(s) => s.clamp(smin, smax) as u128 & m,
            None => (if sa < 0 { smin } else { smax }) as u128 & m,
        },
        SsubSat => match sa.checked_sub(sb) {
            Some(s) => s.clamp(smin, smax) as u128 & m,
            None => (if sa < 0 { smin } else { smax }) as u128 & m,
        },
        SqmulRoundSat | X86Pmulhrsw => {
            if bits > 32 {
                return Err(InterpError::Unsupported(format!("{op} on {bits}-bit lanes")));
            }
            let r = (sa * sb + (1i128 << (bits - 2))) >> (bits - 1);
            if op == SqmulRoundSat { r.clamp(smin, smax) as u128 & m } else { r as u128 & m }
        }
        Udiv => {
            if b == 0 {
                return Err(trap(TrapCode::INTEGER_DIVISION_BY_ZERO));
            }
            a / b
        }
        Urem => {
            if b == 0 {
                return Err(trap(TrapCode::INTEGER_DIVISION_BY_ZERO));
            }
            a % b
        }
        Sdiv => {
            if b == 0 {
                return Err(trap(TrapCode::INTEGER_DIVISION_BY_ZERO));
            }
            if sa == smin && sb == -1 {
                return Err(trap(TrapCode::INTEGER_OVERFLOW));
            }
            sa.wrapping_div(sb) as u128 & m
        }
        Srem => {
            if b == 0 {
                return Err(trap(TrapCode::INTEGER_DIVISION_BY_ZERO));
            }
            sa.wrapping_rem(sb) as u128 & m
        }
        Band => a & b,
        Bor => a | b,
        Bxor => a ^ b,
        _ => return Err(InterpError::Invalid(format!("{op} is not a binary integer operation"))),
    })
}

/// Shift and rotate: the amount is taken modulo the lane width.
pub(crate) fn shift(op: Opcode, bits: u32, x: u128, amount: u128) -> R<u128> {
    use Opcode::*;
    let m = mask(bits);
    let s = (amount % bits as u128) as u32;
    Ok(match op {
        Ishl => (x << s) & m,
        Ushr => x >> s,
        Sshr => (sext(x, bits) >> s) as u128 & m,
        Rotl => {
            if s == 0 {
                x
            } else {
                ((x << s) | (x >> (bits - s))) & m
            }
        }
        Rotr => {
            if s == 0 {
                x
            } else {
                ((x >> s) | (x << (bits - s))) & m
            }
        }
        _ => return Err(InterpError::Invalid(format!("{op} is not a shift"))),
    })
}

/// Unary lane operations.
pub(crate) fn unary(op: Opcode, bits: u32, x: u128) -> R<u128> {
    use Opcode::*;
    let m = mask(bits);
    Ok(match op {
        Ineg => x.wrapping_neg() & m,
        Iabs => sext(x, bits).unsigned_abs() & m,
        Bnot => !x & m,
        Bitrev => x.reverse_bits() >> (128 - bits),
        Bswap => x.swap_bytes() >> (128 - bits),
        Clz => clz(x, bits) as u128,
        Ctz => {
            if x == 0 {
                bits as u128
            } else {
                x.trailing_zeros() as u128
            }
        }
        Cls => {
            let neg = x >> (bits - 1) & 1 == 1;
            let c = if neg { clz(!x & m, bits) } else { clz(x, bits) };
            (c - 1) as u128
        }
        Popcnt => x.count_ones() as u128,
        _ => return Err(InterpError::Invalid(format!("{op} is not a unary integer operation"))),
    })
}

fn clz(x: u128, bits: u32) -> u32 {
    if x == 0 { bits } else { x.leading_zeros() - (128 - bits) }
}

/// The arithmetic-with-flag operations: returns (result, flag).
pub(crate) fn with_flag(op: Opcode, bits: u32, a: u128, b: u128, c: bool) -> R<(u128, bool)> {
    use Opcode::*;
    let m = mask(bits);
    let (sa, sb) = (sext(a, bits), sext(b, bits));
    let smin = sext(1u128 << (bits - 1), bits);
    let smax = (m >> 1) as i128;
    let ci = c as u128;
    let fits = |v: i128| v >= smin && v <= smax;
    Ok(match op {
        UaddOverflow | UaddOverflowCin | UaddOverflowTrap => {
            let c = if op == UaddOverflowCin { ci } else { 0 };
            let r = a.wrapping_add(b).wrapping_add(c) & m;
            let carry = if bits < 128 {
                a + b + c > m
            } else {
                let (s1, o1) = a.overflowing_add(b);
                let (_, o2) = s1.overflowing_add(c);
                o1 || o2
            };
            (r, carry)
        }
        SaddOverflow | SaddOverflowCin => {
            let c = if op == SaddOverflowCin { c } else { false };
            let r = a.wrapping_add(b).wrapping_add(c as u128) & m;
            let ovf = if bits < 128 {
                !fits(sa + sb + c as i128)
            } else {
                let (r1, o1) = sa.overflowing_add(sb);
                if !o1 {
                    c && r1 == i128::MAX
                } else if r1 < 0 {
                    // Positive overflow: the exact sum exceeds MAX, adding c keeps it there.
                    true
                } else {
                    // Negative overflow: exact sum = r1 - 2^128; it fits after +1 only if it was MIN-1.
                    !(c && r1 == i128::MAX)
                }
            };
            (r, ovf)
        }
        UsubOverflow | UsubOverflowBin => {
            let bi = if op == UsubOverflowBin { ci } else { 0 };
            let r = a.wrapping_sub(b).wrapping_sub(bi) & m;
            let borrow = a < b || (bi == 1 && a == b);
            (r, borrow)
        }
        SsubOverflow | SsubOverflowBin => {
            let bw = op == SsubOverflowBin && c;
            let r = a.wrapping_sub(b).wrapping_sub(bw as u128) & m;
            let ovf = if bits < 128 {
                !fits(sa - sb - bw as i128)
            } else {
                let (r1, o1) = sa.overflowing_sub(sb);
                if !o1 {
                    bw && r1 == i128::MIN
                } else if r1 < 0 {
                    // Positive overflow (exact = r1 + 2^128 > MAX): fits after -1 only if it was MAX+1.
                    !(bw && r1 == i128::MIN)
                } else {
                    true
                }
            };
            (r, ovf)
        }
        UmulOverflow => {
            let (hi, lo) = mul_wide(a, b);
            let of = if bits < 128 { lo > m || hi != 0 } else { hi != 0 };
            (lo & m, of)
        }
        SmulOverflow => {
            let r = a.wrapping_mul(b) & m;
            let of = if bits <= 64 { !fits(sa * sb) } else { sa.checked_mul(sb).is_none() };
            (r, of)
        }
        _ => return Err(InterpError::Invalid(format!("{op} has no overflow flag"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Opcode::*;

    #[test]
    fn wide_multiply() {
        assert_eq!(mul_wide(u128::MAX, u128::MAX), (u128::MAX - 1, 1));
        assert_eq!(umulhi(0xff, 0xff, 8), 0xfe);
        assert_eq!(smulhi(0xff, 0xff, 8), 0); // -1 * -1 = 1
        assert_eq!(smulhi(0x80, 0x7f, 8), 0xc0); // -128*127 = -16256 = 0xc080
        assert_eq!(smulhi(u128::MAX, 2, 128), u128::MAX); // -1 * 2 = -2: high = -1
        assert_eq!(smulhi(1u128 << 127, 1u128 << 127, 128), 1u128 << 126);
    }

    #[test]
    fn division_edges() {
        assert_eq!(binary(Sdiv, 8, 0x80, 0xff), Err(InterpError::Trap(TrapCode::INTEGER_OVERFLOW)));
        assert_eq!(binary(Srem, 8, 0x80, 0xff), Ok(0));
        assert_eq!(binary(Srem, 128, 1u128 << 127, u128::MAX), Ok(0));
        assert_eq!(binary(Udiv, 32, 1, 0), Err(InterpError::Trap(TrapCode::INTEGER_DIVISION_BY_ZERO)));
        assert_eq!(binary(Sdiv, 32, (-7i32) as u32 as u128, 2), Ok((-3i32) as u32 as u128));
        assert_eq!(binary(Srem, 32, (-7i32) as u32 as u128, 2), Ok((-1i32) as u32 as u128));
        assert_eq!(binary(Srem, 32, 7, (-2i32) as u32 as u128), Ok(1));
    }

    #[test]
    fn shifts_mask_amounts() {
        assert_eq!(shift(Ishl, 64, 1, 65), Ok(2));
        assert_eq!(shift(Ishl, 8, 1, 9), Ok(2));
        assert_eq!(shift(Sshr, 8, 0x80, 7), Ok(0xff));
        assert_eq!(shift(Rotl, 128, 1u128 << 127, 129), Ok(1));
        assert_eq!(shift(Rotr, 16, 1, 1), Ok(0x8000));
    }

    #[test]
    fn counts() {
        assert_eq!(unary(Cls, 8, 1), Ok(6));
        assert_eq!(unary(Cls, 8, 0x40), Ok(0));
        assert_eq!(unary(Cls, 8, 0), Ok(7));
        assert_eq!(unary(Cls, 8, 0xff), Ok(7));
        assert_eq!(unary(Clz, 128, 0), Ok(128));
        assert_eq!(unary(Ctz, 16, 0), Ok(16));
        assert_eq!(unary(Bswap, 16, 0x1234), Ok(0x3412));
        assert_eq!(unary(Bitrev, 8, 1), Ok(0x80));
        assert_eq!(unary(Iabs, 8, 0x80), Ok(0x80));
    }

    #[test]
    fn exact_flags() {
        // i8: -128 + -1 + 1 = -128 fits.
        assert_eq!(with_flag(SaddOverflowCin, 8, 0x80, 0xff, true), Ok((0x80, false)));
        assert_eq!(with_flag(SaddOverflowCin, 8, 0x7f, 0, true), Ok((0x80, true)));
        let min = 1u128 << 127;
        assert_eq!(with_flag(SaddOverflowCin, 128, min, u128::MAX, true), Ok((min, false)));
        assert_eq!(with_flag(SaddOverflowCin, 128, min, u128::MAX, false), Ok((i128::MAX as u128, true)));
        assert_eq!(with_flag(SsubOverflowBin, 128, i128::MAX as u128, u128::MAX, true), Ok((i128::MAX as u128, false)));
        assert_eq!(with_flag(SsubOverflowBin, 8, 0x7f, 0xff, true), Ok((0x7f, false)));
        assert_eq!(with_flag(UsubOverflowBin, 128, 5, 5, true), Ok((u128::MAX, true)));
        assert_eq!(with_flag(UaddOverflowCin, 128, u128::MAX, 0, true), Ok((0, true)));
        assert_eq!(with_flag(UmulOverflow, 8, 16, 16, false), Ok((0, true)));
        assert_eq!(with_flag(SmulOverflow, 8, 0xf0, 0x08, false), Ok((0x80, false)));
        assert_eq!(with_flag(SmulOverflow, 64, 1 << 63, u64::MAX as u128, false).map(|r| r.1), Ok(true));
    }

    #[test]
    fn saturation() {
        assert_eq!(binary(AvgRound, 8, 255, 255), Ok(255));
        assert_eq!(binary(AvgRound, 8, 255, 0), Ok(0x80));
        assert_eq!(binary(SaddSat, 8, 0x7f, 1), Ok(0x7f));
        assert_eq!(binary(SsubSat, 8, 0x80, 1), Ok(0x80));
        assert_eq!(binary(UaddSat, 128, u128::MAX, 1), Ok(u128::MAX));
        assert_eq!(binary(SqmulRoundSat, 16, 0x8000, 0x8000), Ok(0x7fff));
        assert_eq!(binary(X86Pmulhrsw, 16, 0x8000, 0x8000), Ok(0x8000));
        assert_eq!(binary(SaddSat, 128, i128::MAX as u128, 1), Ok(i128::MAX as u128));
    }
}

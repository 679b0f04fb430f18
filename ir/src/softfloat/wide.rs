//! A fixed-size 256-bit unsigned integer for the wide intermediates of binary128 arithmetic
//! (113 × 113-bit products, `fma` sums, `sqrt` radicands).
//!
//! Invariants: a [`U256`] is a plain value (`hi · 2^128 + lo`); no operation allocates. Callers
//! guarantee that `add`/`sub` do not overflow/underflow (checked by `debug_assert!`); shifts
//! accept any amount and shifting out all bits gives zero.

use core::cmp::Ordering;

/// `hi · 2^128 + lo`.
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
pub(crate) struct U256 {
    pub hi: u128,
    pub lo: u128,
}

impl U256 {
    /// Zero-extend a `u128`.
    pub const fn from_u128(lo: u128) -> U256 {
        U256 { hi: 0, lo }
    }

    /// The full 256-bit product of two `u128`s.
    pub fn mul_u128(a: u128, b: u128) -> U256 {
        const M: u128 = u64::MAX as u128;
        let (a0, a1) = (a & M, a >> 64);
        let (b0, b1) = (b & M, b >> 64);
        let p00 = a0 * b0;
        let p01 = a0 * b1;
        let p10 = a1 * b0;
        let p11 = a1 * b1;
        let (mid, mid_carry) = p01.overflowing_add(p10);
        let (lo, lo_carry) = p00.overflowing_add(mid << 64);
        let hi = p11 + (mid >> 64) + ((mid_carry as u128) << 64) + lo_carry as u128;
        U256 { hi, lo }
    }

    /// Is the value zero?
    pub fn is_zero(self) -> bool {
        self.hi == 0 && self.lo == 0
    }

    /// Number of significant bits (0 for zero).
    pub fn bit_len(self) -> u32 {
        if self.hi != 0 { 256 - self.hi.leading_zeros() } else { 128 - self.lo.leading_zeros() }
    }

    /// `self << n`; bits shifted past bit 255 are lost.
    pub fn shl(self, n: u32) -> U256 {
        match n {
            0 => self,
            1..=127 => U256 { hi: (self.hi << n) | (self.lo >> (128 - n)), lo: self.lo << n },
            128..=255 => U256 { hi: self.lo << (n - 128), lo: 0 },
            _ => U256::default(),
        }
    }

    /// `self >> n` (bits shifted out are lost).
    pub fn shr(self, n: u32) -> U256 {
        match n {
            0 => self,
            1..=127 => U256 { hi: self.hi >> n, lo: (self.lo >> n) | (self.hi << (128 - n)) },
            128..=255 => U256 { hi: 0, lo: self.hi >> (n - 128) },
            _ => U256::default(),
        }
    }

    /// Are any of the low `n` bits set?
    pub fn low_bits_nonzero(self, n: u32) -> bool {
        match n {
            0 => false,
            1..=127 => self.lo & ((1u128 << n) - 1) != 0,
            128 => self.lo != 0,
            129..=255 => self.lo != 0 || self.hi & ((1u128 << (n - 128)) - 1) != 0,
            _ => !self.is_zero(),
        }
    }

    /// `self >> n` with "jamming": if any bit shifted out was set, bit 0 of the result is set.
    pub fn shr_jam(self, n: u32) -> U256 {
        let mut r = self.shr(n);
        r.lo |= self.low_bits_nonzero(n) as u128;
        r
    }

    /// Wrapping sum (callers guarantee no overflow).
    pub fn add(self, o: U256) -> U256 {
        let (lo, c) = self.lo.overflowing_add(o.lo);
        let hi = self.hi.wrapping_add(o.hi).wrapping_add(c as u128);
        debug_assert!(hi >= self.hi || (hi == self.hi && !c));
        U256 { hi, lo }
    }

    /// Difference `self - o` (callers guarantee `self >= o`).
    pub fn sub(self, o: U256) -> U256 {
        debug_assert!(self.cmp_u(o) != Ordering::Less);
        let (lo, b) = self.lo.overflowing_sub(o.lo);
        U256 { hi: self.hi.wrapping_sub(o.hi).wrapping_sub(b as u128), lo }
    }

    /// Unsigned comparison.
    pub fn cmp_u(self, o: U256) -> Ordering {
        (self.hi, self.lo).cmp(&(o.hi, o.lo))
    }

    /// Bits `2i+1 .. 2i` as a number in `0..4` (`i < 128`).
    pub fn pair(self, i: u32) -> u128 {
        let s = 2 * i;
        if s < 128 { (self.lo >> s) & 3 } else { (self.hi >> (s - 128)) & 3 }
    }

    /// `(floor(self / d), self mod d)` for a normalized divisor (`d ≥ 2^127`) and a quotient
    /// that fits (`self.hi < d`): two steps of Knuth's algorithm D with 64-bit digits.
    pub fn div_rem_u128(self, d: u128) -> (u128, u128) {
        debug_assert!(d >> 127 == 1 && self.hi < d);
        let (q1, r1) = div_digit(self.hi, (self.lo >> 64) as u64, d);
        let (q0, r0) = div_digit(r1, self.lo as u64, d);
        (((q1 as u128) << 64) | q0 as u128, r0)
    }

    /// Compress to at most 128 significant bits: returns `(v, sh, sticky)` with
    /// `self = v · 2^sh + r`, `0 ≤ r < 2^sh`, `sticky = (r != 0)`. When `sh > 0`, `v` has
    /// exactly 128 significant bits.
    pub fn to_u128_sticky(self) -> (u128, i32, bool) {
        if self.hi == 0 {
            return (self.lo, 0, false);
        }
        let sh = self.bit_len() - 128;
        (self.shr(sh).lo, sh as i32, self.low_bits_nonzero(sh))
    }
}

/// One quotient digit: `(u · 2^64 + u0) / d` for `d ≥ 2^127`, `u < d` (so the digit fits in
/// 64 bits). The estimate from the top digits is at most 2 too large (Knuth, TAOCP 4.3.1).
fn div_digit(u: u128, u0: u64, d: u128) -> (u64, u128) {
    let d1 = (d >> 64) as u64;
    let mut qhat = if (u >> 64) as u64 >= d1 { u64::MAX } else { (u / d1 as u128) as u64 };
    let num = U256 { hi: u >> 64, lo: (u << 64) | u0 as u128 };
    let mut prod = U256::mul_u128(qhat as u128, d);
    while prod.cmp_u(num) == Ordering::Greater {
        qhat -= 1;
        prod = prod.sub(U256::from_u128(d));
    }
    (qhat, num.sub(prod).lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mul_matches_schoolbook_on_extremes() {
        let m = U256::mul_u128(u128::MAX, u128::MAX);
        // (2^128 - 1)^2 = 2^256 - 2^129 + 1
        assert_eq!(m, U256 { hi: u128::MAX - 1, lo: 1 });
        let m = U256::mul_u128(1 << 127, 4);
        assert_eq!(m, U256 { hi: 2, lo: 0 });
        let m = U256::mul_u128(0x1234_5678_9abc_def0_1122_3344_5566_7788, 1);
        assert_eq!(m, U256::from_u128(0x1234_5678_9abc_def0_1122_3344_5566_7788));
        // Cross-check the low half with wrapping multiplication and the high half with the
        // 64-bit limb identity on a few values.
        let vals = [3u128, u64::MAX as u128, (u64::MAX as u128) << 64, u128::MAX / 3, 0xdead_beef << 70];
        for &a in &vals {
            for &b in &vals {
                let m = U256::mul_u128(a, b);
                assert_eq!(m.lo, a.wrapping_mul(b));
                let (a0, a1, b0, b1) = (a as u64 as u128, a >> 64, b as u64 as u128, b >> 64);
                // hi = a1*b1 + carries; check via reconstruction mod 2^128 of (hi - a1*b1).
                let mid = U256::from_u128(a0 * b1).add(U256::from_u128(a1 * b0));
                let total = U256::from_u128(a0 * b0).add(mid.shl(64)).add(U256 { hi: a1 * b1, lo: 0 });
                assert_eq!(m, total);
            }
        }
    }

    #[test]
    fn division_matches_multiplication() {
        let mut x = 0x0123_4567_89ab_cdef_u128;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835)
        };
        for i in 0..20_000 {
            let d = next() | (1 << 127) | if i % 3 == 0 { (u64::MAX as u128) << 64 } else { 0 };
            let q = if i % 5 == 0 { u128::MAX - (i as u128 % 3) } else { next() >> (i % 128) };
            let r = next() % d;
            let n = U256::mul_u128(q, d).add(U256::from_u128(r));
            assert_eq!(n.div_rem_u128(d), (q, r), "{q:#x} {d:#x} {r:#x}");
        }
    }

    #[test]
    fn shifts_and_sticky() {
        let x = U256 { hi: 0x8000_0000_0000_0000_0000_0000_0000_0001, lo: 0x10 };
        assert_eq!(x.bit_len(), 256);
        assert_eq!(x.shr(4), U256 { hi: 0x0800_0000_0000_0000_0000_0000_0000_0000, lo: (1u128 << 124) | 1 });
        assert_eq!(x.shr(255), U256::from_u128(1));
        assert_eq!(x.shr(256), U256::default());
        assert!(x.low_bits_nonzero(5));
        assert!(!x.low_bits_nonzero(4));
        assert_eq!(x.shr_jam(300), U256::from_u128(1));
        let low_only = U256 { hi: 1 << 100, lo: 1 };
        for n in [1, 64, 127, 128, 129, 200, 228] {
            assert!(low_only.low_bits_nonzero(n), "{n}");
            assert_eq!(low_only.shr_jam(n).lo & 1, 1, "{n}");
        }
        assert!(!U256 { hi: 1 << 100, lo: 0 }.low_bits_nonzero(228));
        assert!(U256 { hi: 1 << 100, lo: 0 }.low_bits_nonzero(229));
        assert_eq!(U256::from_u128(1).shl(200), U256 { hi: 1 << 72, lo: 0 });
        assert_eq!(U256::from_u128(3).shl(127), U256 { hi: 1, lo: 1 << 127 });
        let (v, sh, st) = x.to_u128_sticky();
        assert_eq!((v, sh, st), ((1 << 127) | 1, 128, true));
        assert_eq!(U256 { hi: 1, lo: 5 }.sub(U256::from_u128(6)), U256 { hi: 0, lo: u128::MAX });
        assert_eq!(U256 { hi: 0, lo: u128::MAX }.add(U256::from_u128(1)), U256 { hi: 1, lo: 0 });
        assert_eq!(U256 { hi: 0b110, lo: 0 }.pair(64), 0b10);
        assert_eq!(U256 { hi: 0b110, lo: 0 }.pair(65), 0b01);
    }
}

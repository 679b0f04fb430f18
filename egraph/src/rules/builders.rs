//! Rust builders for rewrites too long for a template: division and remainder by constants
//! (magic-number multiplication after Granlund–Montgomery / Hacker's Delight, and
//! shift-based signed division by powers of two).
//!
//! A builder gets the rule's bindings (`(call name x c)`: the dividend's e-class and the
//! constant divisor) and builds nodes through the e-graph, so its results are hash-consed
//! and simplified like any other node. Every builder re-checks the preconditions its rule's
//! guards establish and returns `None` (no rewrite) when they do not hold.

use super::engine::{Binds, class_bind, int_bind};
use crate::egraph::{EGraph, Id, lane_mask};
use kiln_ir::condcodes::IntCC;
use kiln_ir::instructions::InstructionData;
use kiln_ir::types::{self, Type};
use kiln_ir::{Function, Opcode};

/// The builders.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Builder {
    UdivMagic,
    UremMagic,
    SdivMagic,
    SremMagic,
    SdivPow2,
    SdivNegPow2,
    SremPow2,
}

impl Builder {
    /// Look up a builder by name.
    pub fn parse(s: &str) -> Option<Builder> {
        Some(match s {
            "udiv_magic" => Builder::UdivMagic,
            "urem_magic" => Builder::UremMagic,
            "sdiv_magic" => Builder::SdivMagic,
            "srem_magic" => Builder::SremMagic,
            "sdiv_pow2" => Builder::SdivPow2,
            "sdiv_neg_pow2" => Builder::SdivNegPow2,
            "srem_pow2" => Builder::SremPow2,
            _ => return None,
        })
    }

    /// Build the replacement of `(op x c)` at type `ty`.
    pub fn run(self, eg: &mut EGraph, func: &mut Function, b: &Binds, vars: &[u8], ty: Type, depth: u32) -> Option<Id> {
        let x = class_bind(b, *vars.first()?)?;
        let (c, cty) = int_bind(b, *vars.get(1)?)?;
        if !ty.is_int() || !ty.is_scalar() || ty.bits() > 64 || cty != ty || eg.ty(x) != ty {
            return None;
        }
        let mut g = G { eg, func, ty, depth };
        let n = ty.bits();
        let m = lane_mask(n);
        let c = c & m;
        let sc = sext(c, n);
        match self {
            Builder::UdivMagic => g.udiv(x, c),
            Builder::UremMagic => {
                let q = g.udiv(x, c)?;
                let k = g.k(c)?;
                let p = g.bin(Opcode::Imul, q, k)?;
                g.bin(Opcode::Isub, x, p)
            }
            Builder::SdivMagic => g.sdiv(x, sc),
            Builder::SremMagic => {
                let q = g.sdiv(x, sc)?;
                let k = g.k(c)?;
                let p = g.bin(Opcode::Imul, q, k)?;
                g.bin(Opcode::Isub, x, p)
            }
            Builder::SdivPow2 => {
                if sc <= 1 || !(sc as u128).is_power_of_two() {
                    return None;
                }
                g.sdiv_pow2(x, sc.trailing_zeros())
            }
            Builder::SdivNegPow2 => {
                let a = sc.unsigned_abs();
                if sc >= -1 || !a.is_power_of_two() || a >= 1u128 << (n - 1) {
                    return None;
                }
                let q = g.sdiv_pow2(x, a.trailing_zeros())?;
                g.un(Opcode::Ineg, q)
            }
            Builder::SremPow2 => {
                let a = sc.unsigned_abs();
                if a <= 1 || !a.is_power_of_two() || a >= 1u128 << (n - 1) {
                    return None;
                }
                let k = a.trailing_zeros();
                // r = x - ((x + bias) & -2^k), bias = (x >>s (n-1)) >>u (n-k).
                let t = g.biased(x, k)?;
                let mk = g.k((a.wrapping_neg()) & m)?;
                let low = g.bin(Opcode::Band, t, mk)?;
                g.bin(Opcode::Isub, x, low)
            }
        }
    }
}

fn sext(v: u128, bits: u32) -> i128 {
    let s = 128 - bits;
    ((v << s) as i128) >> s
}

struct G<'a> {
    eg: &'a mut EGraph,
    func: &'a mut Function,
    ty: Type,
    depth: u32,
}

impl G<'_> {
    fn k(&mut self, v: u128) -> Option<Id> {
        self.eg.iconst(self.func, self.ty, v, self.depth)
    }
    fn bin(&mut self, op: Opcode, a: Id, b: Id) -> Option<Id> {
        let data = InstructionData::Binary { opcode: op, args: [a.as_value(), b.as_value()] };
        Some(self.eg.build(self.func, data, self.ty, self.ty, self.depth))
    }
    fn un(&mut self, op: Opcode, a: Id) -> Option<Id> {
        let data = InstructionData::Unary { opcode: op, arg: a.as_value() };
        Some(self.eg.build(self.func, data, self.ty, self.ty, self.depth))
    }
    fn shift(&mut self, op: Opcode, a: Id, s: u32) -> Option<Id> {
        if s == 0 {
            return Some(a);
        }
        let k = self.k(s as u128)?;
        self.bin(op, a, k)
    }

    /// `x + bias` where bias is `2^k - 1` for negative `x`, else 0.
    fn biased(&mut self, x: Id, k: u32) -> Option<Id> {
        let n = self.ty.bits();
        let sign = self.shift(Opcode::Sshr, x, n - 1)?;
        let bias = self.shift(Opcode::Ushr, sign, n - k)?;
        self.bin(Opcode::Iadd, x, bias)
    }

    fn sdiv_pow2(&mut self, x: Id, k: u32) -> Option<Id> {
        let n = self.ty.bits();
        if k == 0 || k >= n - 1 {
            return None;
        }
        let t = self.biased(x, k)?;
        self.shift(Opcode::Sshr, t, k)
    }

    fn udiv(&mut self, x: Id, d: u128) -> Option<Id> {
        let n = self.ty.bits();
        if !matches!(self.ty, types::I32 | types::I64) || d < 2 || d.is_power_of_two() {
            return None;
        }
        if d >= 1u128 << (n - 1) {
            // The quotient is 0 or 1.
            let k = self.k(d)?;
            let data = InstructionData::IntCompare {
                opcode: Opcode::Icmp,
                cond: IntCC::UnsignedGreaterThanOrEqual,
                args: [x.as_value(), k.as_value()],
            };
            let c = self.eg.build(self.func, data, self.ty, types::I8, self.depth);
            let data = InstructionData::Unary { opcode: Opcode::Uextend, arg: c.as_value() };
            return Some(self.eg.build(self.func, data, self.ty, self.ty, self.depth));
        }
        let (mag, add, s) = magic_u(d, n);
        let mk = self.k(mag)?;
        let q = self.bin(Opcode::Umulhi, x, mk)?;
        if !add {
            self.shift(Opcode::Ushr, q, s)
        } else {
            let t = self.bin(Opcode::Isub, x, q)?;
            let t = self.shift(Opcode::Ushr, t, 1)?;
            let t = self.bin(Opcode::Iadd, t, q)?;
            self.shift(Opcode::Ushr, t, s.checked_sub(1)?)
        }
    }

    fn sdiv(&mut self, x: Id, d: i128) -> Option<Id> {
        let n = self.ty.bits();
        let a = d.unsigned_abs();
        if !matches!(self.ty, types::I32 | types::I64) || a < 2 || a.is_power_of_two() {
            return None;
        }
        let (mag, s) = magic_s(d, n);
        let mk = self.k(mag)?;
        let mut q = self.bin(Opcode::Smulhi, x, mk)?;
        let smag = sext(mag, n);
        if d > 0 && smag < 0 {
            q = self.bin(Opcode::Iadd, q, x)?;
        } else if d < 0 && smag > 0 {
            q = self.bin(Opcode::Isub, q, x)?;
        }
        q = self.shift(Opcode::Sshr, q, s)?;
        let t = self.shift(Opcode::Ushr, q, n - 1)?;
        self.bin(Opcode::Iadd, q, t)
    }
}

/// Magic number for unsigned division by `d` (not a power of two, `1 < d < 2^(n-1)`) at width
/// `n`: `(multiplier, add indicator, shift)` (Hacker's Delight, `magicu`).
pub(crate) fn magic_u(d: u128, n: u32) -> (u128, bool, u32) {
    let m = lane_mask(n);
    let half = 1u128 << (n - 1);
    let mut add = false;
    let nc = m - ((d.wrapping_neg() & m) % d);
    let mut p = n - 1;
    let mut q1 = half / nc;
    let mut r1 = half - q1 * nc;
    let mut q2 = (half - 1) / d;
    let mut r2 = (half - 1) - q2 * d;
    loop {
        p += 1;
        if r1 >= nc - r1 {
            q1 = (2 * q1 + 1) & m;
            r1 = (2 * r1 - nc) & m;
        } else {
            q1 = (2 * q1) & m;
            r1 = (2 * r1) & m;
        }
        if r2 + 1 >= d - r2 {
            if q2 >= half - 1 {
                add = true;
            }
            q2 = (2 * q2 + 1) & m;
            r2 = (2 * r2 + 1 - d) & m;
        } else {
            if q2 >= half {
                add = true;
            }
            q2 = (2 * q2) & m;
            r2 = (2 * r2 + 1) & m;
        }
        let delta = (d - 1 - r2) & m;
        if !(p < 2 * n && (q1 < delta || (q1 == delta && r1 == 0))) {
            break;
        }
    }
    ((q2 + 1) & m, add, p - n)
}

/// Magic number for signed division by `d` (`|d| >= 2`, not a power of two) at width `n`:
/// `(multiplier as n-bit pattern, shift)` (Hacker's Delight, `magic`).
pub(crate) fn magic_s(d: i128, n: u32) -> (u128, u32) {
    let m = lane_mask(n);
    let two = 1u128 << (n - 1);
    let ad = d.unsigned_abs();
    let t = two + u128::from(d < 0);
    let anc = t - 1 - t % ad;
    let mut p = n - 1;
    let mut q1 = two / anc;
    let mut r1 = two - q1 * anc;
    let mut q2 = two / ad;
    let mut r2 = two - q2 * ad;
    loop {
        p += 1;
        q1 = (2 * q1) & m;
        r1 = (2 * r1) & m;
        if r1 >= anc {
            q1 = (q1 + 1) & m;
            r1 = (r1 - anc) & m;
        }
        q2 = (2 * q2) & m;
        r2 = (2 * r2) & m;
        if r2 >= ad {
            q2 = (q2 + 1) & m;
            r2 = (r2 - ad) & m;
        }
        let delta = (ad - r2) & m;
        if !(q1 < delta || (q1 == delta && r1 == 0)) || p >= 2 * n {
            break;
        }
    }
    let mut mag = (q2 + 1) & m;
    if d < 0 {
        mag = mag.wrapping_neg() & m;
    }
    (mag, p - n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn udiv_by_magic(x: u128, d: u128, n: u32) -> u128 {
        let m = lane_mask(n);
        let (mag, add, s) = magic_u(d, n);
        let q = (x * mag) >> n;
        if !add { q >> s } else { ((((x - q) & m) >> 1) + q) >> (s - 1) }
    }

    fn sdiv_by_magic(x: i128, d: i128, n: u32) -> i128 {
        let (mag, s) = magic_s(d, n);
        let smag = sext(mag, n);
        let m = lane_mask(n);
        let mut q = (x * smag) >> n;
        if d > 0 && smag < 0 {
            q += x;
        } else if d < 0 && smag > 0 {
            q -= x;
        }
        q = sext(q as u128 & m, n);
        q >>= s;
        let t = ((q as u128 & m) >> (n - 1)) as i128;
        sext((q + t) as u128 & m, n)
    }

    /// The magic numbers are exact on every 8-bit input and divisor, and on a grid of 16-bit
    /// ones.
    #[test]
    fn magic_numbers_divide_exhaustively() {
        for n in [8u32, 16] {
            let (step, dstep) = if n == 8 { (1, 1) } else { (11, 37) };
            for d in (3..(1u128 << (n - 1))).step_by(dstep) {
                if d.is_power_of_two() {
                    continue;
                }
                for x in (0..(1u128 << n)).step_by(step) {
                    assert_eq!(udiv_by_magic(x, d, n), x / d, "{x} /u {d} at {n} bits");
                }
            }
            let lim = 1i128 << (n - 1);
            for d in (-lim..lim).step_by(dstep) {
                let a = d.unsigned_abs();
                if a < 2 || a.is_power_of_two() {
                    continue;
                }
                for x in (-lim..lim).step_by(step) {
                    assert_eq!(sdiv_by_magic(x, d, n), x / d, "{x} /s {d} at {n} bits");
                }
            }
        }
    }

    #[test]
    fn known_magic_numbers() {
        assert_eq!(magic_u(7, 32), (0x2492_4925, true, 3));
        assert_eq!(magic_u(3, 32), (0xAAAA_AAAB, false, 1));
        assert_eq!(magic_s(7, 32), (0x9249_2493, 2));
        assert_eq!(magic_s(3, 32), (0x5555_5556, 0));
    }
}

//! aarch64 immediate operands: the encodable-immediate newtypes (12-bit shifted
//! arithmetic, logical bitmask, move-wide chunks, FP 8-bit, Advanced SIMD modified
//! immediates), each with an encoder that says whether a value fits and a decoder that
//! gives back the value, and [`materialize`], the shortest `movz`/`movn`/`movk`/`orr`
//! sequence for any integer constant.
//!
//! Invariant: a value of one of these types is always encodable; constructors return
//! `None` for values that are not, and `decode(encode(v)) == v` for every accepted value
//! (checked exhaustively by the unit tests where the space is small enough).

use smallvec::SmallVec;

/// A 12-bit unsigned immediate, optionally shifted left by 12 (add/sub immediate).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Imm12 {
    /// The 12-bit value.
    pub bits: u16,
    /// Shifted left by 12?
    pub shift12: bool,
}

impl Imm12 {
    /// The immediate for `v`, if `v` is `0..4096` or a multiple of 4096 below 2^24.
    pub fn maybe_from_u64(v: u64) -> Option<Imm12> {
        if v < 0x1000 {
            Some(Imm12 { bits: v as u16, shift12: false })
        } else if v < 0x100_0000 && v & 0xfff == 0 {
            Some(Imm12 { bits: (v >> 12) as u16, shift12: true })
        } else {
            None
        }
    }
    /// The zero immediate.
    pub const ZERO: Imm12 = Imm12 { bits: 0, shift12: false };
    /// The value.
    pub fn value(self) -> u64 {
        (self.bits as u64) << if self.shift12 { 12 } else { 0 }
    }
    /// The `sh:imm12` field (bits 22..10 of the instruction, shifted down by 10).
    pub fn enc_bits(self) -> u32 {
        ((self.shift12 as u32) << 12) | (self.bits as u32 & 0xfff)
    }
}

/// A logical ("bitmask") immediate: a rotated run of ones, replicated across the register
/// in elements of 2, 4, 8, 16, 32 or 64 bits (and/orr/eor/ands immediate).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImmLogic {
    /// The value (for 32-bit operations, in the low 32 bits; the high bits are zero).
    pub value: u64,
    /// The N bit (1 only for 64-bit elements).
    pub n: bool,
    /// Rotation.
    pub immr: u8,
    /// Element size and run length.
    pub imms: u8,
    /// A 32-bit operation?
    pub is32: bool,
}

impl ImmLogic {
    /// The encoding of `value` for a 64-bit (`is32 == false`) or 32-bit operation, if it
    /// is a bitmask immediate. For 32-bit operations only the low 32 bits count.
    pub fn maybe_from_u64(value: u64, is32: bool) -> Option<ImmLogic> {
        let v = if is32 {
            let lo = value & 0xffff_ffff;
            lo | (lo << 32)
        } else {
            value
        };
        if v == 0 || v == u64::MAX {
            return None;
        }
        // The smallest element size the value is a replication of.
        let mut e = 64u32;
        while e > 2 {
            let h = e / 2;
            let mask = (1u64 << h) - 1;
            if (v & mask) != ((v >> h) & mask) {
                break;
            }
            e = h;
        }
        if is32 && e == 64 {
            return None;
        }
        let emask = if e == 64 { u64::MAX } else { (1u64 << e) - 1 };
        let elt = v & emask;
        // The element must be a (possibly wrapping) rotated run of ones.
        let (ones, rot) = if elt & 1 == 0 {
            let tz = elt.trailing_zeros();
            let run = elt >> tz;
            if run & (run + 1) != 0 {
                return None;
            }
            (run.trailing_ones(), (e - tz) % e)
        } else {
            let inv = !elt & emask;
            let tz = inv.trailing_zeros();
            let run = inv >> tz;
            if run & (run + 1) != 0 {
                return None;
            }
            let m = run.trailing_ones();
            (e - m, (e - tz - m) % e)
        };
        let prefix: u32 = match e {
            64 | 32 => 0,
            16 => 0b100000,
            8 => 0b110000,
            4 => 0b111000,
            _ => 0b111100,
        };
        Some(ImmLogic {
            value: if is32 { value & 0xffff_ffff } else { value },
            n: e == 64,
            immr: rot as u8,
            imms: (prefix | (ones - 1)) as u8,
            is32,
        })
    }

    /// Decode `N:immr:imms` for a 32- or 64-bit operation (`DecodeBitMasks` of the Arm
    /// ARM); `None` for reserved encodings.
    pub fn decode(n: bool, immr: u8, imms: u8, is32: bool) -> Option<u64> {
        if is32 && n {
            return None;
        }
        let combined = ((n as u32) << 6) | (!imms as u32 & 0x3f);
        if combined == 0 {
            return None;
        }
        let len = 31 - combined.leading_zeros(); // log2 of the element size
        if len < 1 {
            return None;
        }
        let e = 1u32 << len;
        let levels = e - 1;
        let s = imms as u32 & levels;
        let r = immr as u32 & levels;
        if s == levels {
            return None;
        }
        let emask = if e == 64 { u64::MAX } else { (1u64 << e) - 1 };
        let welem = (1u64 << (s + 1)) - 1;
        let elt = if r == 0 { welem } else { ((welem >> r) | (welem << (e - r))) & emask };
        let mut v = elt;
        let mut w = e;
        while w < 64 {
            v |= v << w;
            w *= 2;
        }
        Some(if is32 { v & 0xffff_ffff } else { v })
    }

    /// The `N:immr:imms` field (bits 22..10, shifted down by 10).
    pub fn enc_bits(self) -> u32 {
        ((self.n as u32) << 12) | ((self.immr as u32) << 6) | self.imms as u32
    }

    /// The inverted value (for `bic`/`orn` style rewrites), if it is encodable too.
    pub fn invert(self) -> Option<ImmLogic> {
        let mask = if self.is32 { 0xffff_ffff } else { u64::MAX };
        ImmLogic::maybe_from_u64(!self.value & mask, self.is32)
    }
}

/// One 16-bit chunk of a move-wide instruction (`movz`/`movn`/`movk`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct MoveWideConst {
    /// The 16 bits.
    pub bits: u16,
    /// Which chunk: shifted left by `16 * hw` (0..=3; 0..=1 for 32-bit operations).
    pub hw: u8,
}

impl MoveWideConst {
    /// `v` as one shifted chunk, if at most one 16-bit chunk of `v` is non-zero.
    pub fn maybe_from_u64(v: u64) -> Option<MoveWideConst> {
        if v == 0 {
            return Some(MoveWideConst { bits: 0, hw: 0 });
        }
        (0..4)
            .find(|&hw| v & !(0xffffu64 << (16 * hw)) == 0)
            .map(|hw| MoveWideConst { bits: (v >> (16 * hw)) as u16, hw: hw as u8 })
    }
    /// The shifted value.
    pub fn value(self) -> u64 {
        (self.bits as u64) << (16 * self.hw as u32)
    }
}

/// An 8-bit floating-point immediate (`fmov d0, #1.5`): sign, 3-bit exponent, 4-bit
/// fraction, expanded to half, single or double precision.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct FpImm8(pub u8);

impl FpImm8 {
    /// The bit pattern of `imm8` expanded to a float of `bits` bits (16, 32 or 64)
    /// (`VFPExpandImm`).
    pub fn expand(imm8: u8, bits: u32) -> u64 {
        let a = (imm8 >> 7) as u64 & 1;
        let b = (imm8 >> 6) as u64 & 1;
        let cd = (imm8 >> 4) as u64 & 3;
        let efgh = imm8 as u64 & 15;
        let (e, f) = match bits {
            16 => (5, 10),
            32 => (8, 23),
            _ => (11, 52),
        };
        // exp = NOT(b) : Replicate(b, e - 3) : cd
        let rep = if b == 1 { (1u64 << (e - 3)) - 1 } else { 0 };
        let exp = ((b ^ 1) << (e - 1)) | (rep << 2) | cd;
        let frac = efgh << (f - 4);
        (a << (bits - 1)) | (exp << f) | frac
    }

    /// The immediate for the float bit pattern `value` of `bits` bits, if representable.
    pub fn maybe_from_bits(value: u64, bits: u32) -> Option<FpImm8> {
        let (e, f) = match bits {
            16 => (5u32, 10u32),
            32 => (8, 23),
            64 => (11, 52),
            _ => return None,
        };
        let a = (value >> (bits - 1)) & 1;
        let exp = (value >> f) & ((1 << e) - 1);
        let b = (exp >> (e - 2)) & 1;
        let cd = exp & 3;
        let efgh = (value >> (f - 4)) & 15;
        let imm8 = ((a << 7) | (b << 6) | (cd << 4) | efgh) as u8;
        let mask = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
        (FpImm8::expand(imm8, bits) == value & mask && value & !mask == 0).then_some(FpImm8(imm8))
    }

    /// The value as an f64 (exact for every immediate).
    pub fn to_f64(self) -> f64 {
        f64::from_bits(FpImm8::expand(self.0, 64))
    }
}

/// What an Advanced SIMD modified immediate does to each lane (the `op:cmode` forms).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AsimdImmKind {
    /// 8-bit lanes = imm8 (`movi .8b/.16b`).
    Bytes,
    /// 16-bit lanes = imm8 << shift (shift 0 or 8); inverted for `mvni`.
    Halves {
        /// 0 or 8.
        shift: u8,
    },
    /// 32-bit lanes = imm8 << shift (0, 8, 16, 24); inverted for `mvni`.
    Words {
        /// 0, 8, 16 or 24.
        shift: u8,
    },
    /// 32-bit lanes = imm8 << shift with ones shifted in ("msl": shift 8 or 16).
    WordsOnes {
        /// 8 or 16.
        shift: u8,
    },
    /// 64-bit lanes, each bit of imm8 expanded to a byte (`movi .2d` / `movi d`).
    ByteMask,
    /// 32-bit lanes = the single-precision FP immediate (`fmov .2s/.4s`).
    F32,
    /// 64-bit lanes = the double-precision FP immediate (`fmov .2d`).
    F64,
}

/// An Advanced SIMD modified immediate (`movi`, `mvni`, `fmov` vector).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct AsimdModImm {
    /// The lane form.
    pub kind: AsimdImmKind,
    /// `mvni` (the lanes are inverted) instead of `movi`.
    pub invert: bool,
    /// The 8-bit payload `abcdefgh`.
    pub imm8: u8,
}

impl AsimdModImm {
    /// The `op` and `cmode` fields.
    pub fn op_cmode(self) -> (u32, u32) {
        let op = self.invert as u32;
        match self.kind {
            AsimdImmKind::Words { shift } => (op, (shift as u32 / 8) << 1),
            AsimdImmKind::Halves { shift } => (op, 0b1000 | ((shift as u32 / 8) << 1)),
            AsimdImmKind::WordsOnes { shift } => (op, 0b1100 | (shift as u32 / 16)),
            AsimdImmKind::Bytes => (0, 0b1110),
            AsimdImmKind::ByteMask => (1, 0b1110),
            AsimdImmKind::F32 => (0, 0b1111),
            AsimdImmKind::F64 => (1, 0b1111),
        }
    }

    /// The 64-bit pattern this immediate puts in each 64-bit half of the register
    /// (`AdvSIMDExpandImm`, then the `mvni` inversion).
    pub fn expand64(self) -> u64 {
        let i = self.imm8 as u64;
        let rep32 = |x: u64| (x & 0xffff_ffff) | ((x & 0xffff_ffff) << 32);
        let rep16 = |x: u64| rep32((x & 0xffff) | ((x & 0xffff) << 16));
        let v = match self.kind {
            AsimdImmKind::Bytes => i * 0x0101_0101_0101_0101,
            AsimdImmKind::Halves { shift } => rep16(i << shift),
            AsimdImmKind::Words { shift } => rep32(i << shift),
            AsimdImmKind::WordsOnes { shift } => rep32((i << shift) | ((1 << shift) - 1)),
            AsimdImmKind::ByteMask => (0..8).fold(0, |acc, b| acc | (((i >> b) & 1) * 0xff) << (8 * b)),
            AsimdImmKind::F32 => rep32(FpImm8::expand(self.imm8, 32)),
            AsimdImmKind::F64 => FpImm8::expand(self.imm8, 64),
        };
        match self.kind {
            AsimdImmKind::Halves { .. } | AsimdImmKind::Words { .. } | AsimdImmKind::WordsOnes { .. }
                if self.invert =>
            {
                !v
            }
            _ => v,
        }
    }

    /// An immediate whose lanes of `lane_bits` (8, 16, 32, 64) all equal `value`
    /// (truncated to the lane), trying `movi`, then `mvni`, then `fmov`; `None` if the
    /// pattern has no single-instruction form at that lane size.
    pub fn maybe_from_lane(value: u64, lane_bits: u32) -> Option<AsimdModImm> {
        let m = |kind, invert, imm8: u64| AsimdModImm { kind, invert, imm8: imm8 as u8 };
        match lane_bits {
            8 => Some(m(AsimdImmKind::Bytes, false, value & 0xff)),
            16 => {
                let v = value & 0xffff;
                for (inv, x) in [(false, v), (true, !v & 0xffff)] {
                    for shift in [0u8, 8] {
                        if x & !(0xff << shift) == 0 {
                            return Some(m(AsimdImmKind::Halves { shift }, inv, x >> shift));
                        }
                    }
                }
                None
            }
            32 => {
                let v = value & 0xffff_ffff;
                for (inv, x) in [(false, v), (true, !v & 0xffff_ffff)] {
                    for shift in [0u8, 8, 16, 24] {
                        if x & !(0xff << shift) == 0 {
                            return Some(m(AsimdImmKind::Words { shift }, inv, x >> shift));
                        }
                    }
                    for shift in [8u8, 16] {
                        let ones = (1u64 << shift) - 1;
                        if x & ones == ones && (x >> shift) <= 0xff {
                            return Some(m(AsimdImmKind::WordsOnes { shift }, inv, x >> shift));
                        }
                    }
                }
                FpImm8::maybe_from_bits(v, 32).map(|f| m(AsimdImmKind::F32, false, f.0 as u64))
            }
            64 => {
                let bytes = value.to_le_bytes();
                if bytes.iter().all(|&b| b == 0 || b == 0xff) {
                    let imm8 = bytes.iter().enumerate().fold(0u64, |a, (i, &b)| a | (((b & 1) as u64) << i));
                    return Some(m(AsimdImmKind::ByteMask, false, imm8));
                }
                FpImm8::maybe_from_bits(value, 64).map(|f| m(AsimdImmKind::F64, false, f.0 as u64))
            }
            _ => None,
        }
    }

    /// An immediate that fills a 64-bit half (each half, for 128-bit registers) with
    /// `pattern`, trying the lane sizes from the narrowest the pattern repeats in; the
    /// lane size used is returned with it (it names the arrangement to print).
    pub fn maybe_from_u64(pattern: u64) -> Option<(AsimdModImm, u32)> {
        let mut lane = 64;
        while lane > 8 {
            let h = lane / 2;
            let mask = (1u64 << h) - 1;
            if pattern & mask != (pattern >> h) & mask {
                break;
            }
            lane = h;
        }
        let mut l = lane;
        while l <= 64 {
            if let Some(i) = AsimdModImm::maybe_from_lane(pattern, l)
                && i.expand64() == pattern
            {
                return Some((i, l));
            }
            l *= 2;
        }
        None
    }
}

/// One step of a constant-materialization sequence.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MatStep {
    /// `movz rd, #chunk` (the rest of the register zeroed).
    MovZ(MoveWideConst),
    /// `movn rd, #chunk` (the register set to the complement of the shifted chunk).
    MovN(MoveWideConst),
    /// `movk rd, #chunk` (one chunk replaced, the rest kept).
    MovK(MoveWideConst),
    /// `orr rd, zr, #bitmask`.
    Orr(ImmLogic),
}

/// A materialization sequence; at most four steps.
pub type MatSeq = SmallVec<[MatStep; 4]>;

fn chunk(v: u64, i: u32) -> u16 {
    (v >> (16 * i)) as u16
}

/// `movk` steps that turn `from` into `to` (chunk by chunk).
fn movks(from: u64, to: u64, chunks: u32, out: &mut MatSeq) {
    for i in 0..chunks {
        if chunk(from, i) != chunk(to, i) {
            out.push(MatStep::MovK(MoveWideConst { bits: chunk(to, i), hw: i as u8 }));
        }
    }
}

fn chunk_diff(a: u64, b: u64, chunks: u32) -> usize {
    (0..chunks).filter(|&i| chunk(a, i) != chunk(b, i)).count()
}

/// A bitmask immediate that agrees with `value` in all but at most `max_diff` (≤ 2)
/// chunks, with as few differing chunks as possible: `value` itself, or `value` with one or
/// two chunks replaced by all-zeros, all-ones or a copy of another chunk.
fn orr_candidate(value: u64, is32: bool, chunks: u32, max_diff: usize) -> Option<ImmLogic> {
    if let Some(i) = ImmLogic::maybe_from_u64(value, is32) {
        return Some(i);
    }
    let fills = |i: u32, v: u64| -> SmallVec<[u16; 6]> {
        let mut c: SmallVec<[u16; 6]> = SmallVec::new();
        c.push(0);
        c.push(0xffff);
        c.extend((0..chunks).filter(|&j| j != i).map(|j| chunk(v, j)));
        c
    };
    let replace = |v: u64, i: u32, c: u16| (v & !(0xffffu64 << (16 * i))) | ((c as u64) << (16 * i));
    if max_diff >= 1 {
        for i in 0..chunks {
            for c in fills(i, value) {
                if let Some(imm) = ImmLogic::maybe_from_u64(replace(value, i, c), is32) {
                    return Some(imm);
                }
            }
        }
    }
    if max_diff >= 2 {
        for i in 0..chunks {
            for c in fills(i, value) {
                let v1 = replace(value, i, c);
                for i2 in (i + 1)..chunks {
                    for c2 in fills(i2, v1) {
                        if let Some(imm) = ImmLogic::maybe_from_u64(replace(v1, i2, c2), is32) {
                            return Some(imm);
                        }
                    }
                }
            }
        }
    }
    None
}

/// The shortest sequence (of `movz`, `movn`, `movk`, `orr`-bitmask) that leaves `value` in
/// a register: all 64 bits for a 64-bit operation, the low 32 bits (upper bits zero) for a
/// 32-bit one (`is32`). Pure; the length is the cost ([`materialize_cost`]).
///
/// Candidates: `movz` + `movk`s for the non-zero chunks, `movn` + `movk`s for the
/// non-`0xffff` chunks, and `orr` of a bitmask immediate + `movk`s, where the bitmask is
/// the value with up to two chunks replaced by a copy of another chunk (or by all-zeros or
/// all-ones) — the shortest wins, ties preferring the first in that order.
pub fn materialize(value: u64, is32: bool) -> MatSeq {
    let chunks = if is32 { 2 } else { 4 };
    let value = if is32 { value & 0xffff_ffff } else { value };
    let mask = if is32 { 0xffff_ffff } else { u64::MAX };
    let mut out = MatSeq::new();

    // movz-based: start from 0.
    let nz = (0..chunks).filter(|&i| chunk(value, i) != 0).count();
    // movn-based: start from all-ones.
    let nn = (0..chunks).filter(|&i| chunk(value, i) != 0xffff).count();
    let movz_cost = nz.max(1);
    let movn_cost = nn.max(1);

    // orr-based: a bitmask immediate that differs from the value in k chunks costs 1 + k.
    let best = movz_cost.min(movn_cost);
    let best_orr = if best > 1 { orr_candidate(value, is32, chunks, best - 2) } else { None };

    if let Some(imm) = best_orr
        && 1 + chunk_diff(imm.value, value, chunks) < movz_cost.min(movn_cost)
    {
        out.push(MatStep::Orr(imm));
        movks(imm.value, value, chunks, &mut out);
        return out;
    }
    if movz_cost <= movn_cost {
        let first = (0..chunks).find(|&i| chunk(value, i) != 0).unwrap_or(0);
        let z = MoveWideConst { bits: chunk(value, first), hw: first as u8 };
        out.push(MatStep::MovZ(z));
        movks(z.value(), value, chunks, &mut out);
    } else {
        let first = (0..chunks).find(|&i| chunk(value, i) != 0xffff).unwrap_or(0);
        let n = MoveWideConst { bits: !chunk(value, first), hw: first as u8 };
        out.push(MatStep::MovN(n));
        movks(!n.value() & mask, value, chunks, &mut out);
    }
    out
}

/// The number of instructions [`materialize`] needs for `value`.
pub fn materialize_cost(value: u64, is32: bool) -> usize {
    materialize(value, is32).len()
}

/// Constants whose sequences take every shape [`materialize`] produces (zero, all-ones,
/// single chunks, bitmasks, bitmask + `movk`, `movn` + `movk`, four chunks), for tests.
pub const EDGE_CONSTANTS: [u64; 18] = [
    0,
    1,
    0xffff,
    0x1_0000,
    0xffff_ffff,
    0x1_0000_0000,
    u64::MAX,
    u64::MAX - 1,
    0x8000_0000_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0xffff_ffff_0000_0000,
    0x0000_ffff_ffff_0000,
    0x5555_5555_5555_5555,
    0x1234_5678_9abc_def0,
    0xffff_1234_ffff_ffff,
    0x00ff_00ff_1234_00ff,
    0x0f0f_0f0f_0f0f_1234,
    0xaaaa_5678_aaaa_aaaa,
];

/// Run a materialization sequence (the semantics of its instructions), for tests and
/// cross-checks: the register value it leaves.
pub fn eval_mat_seq(seq: &[MatStep], is32: bool) -> u64 {
    let mask = if is32 { 0xffff_ffff } else { u64::MAX };
    let mut r = 0u64;
    for s in seq {
        r = match *s {
            MatStep::MovZ(c) => c.value(),
            MatStep::MovN(c) => !c.value(),
            MatStep::MovK(c) => (r & !(0xffffu64 << (16 * c.hw as u32))) | c.value(),
            MatStep::Orr(i) => i.value,
        } & mask;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imm12_edges() {
        assert_eq!(Imm12::maybe_from_u64(0), Some(Imm12 { bits: 0, shift12: false }));
        assert_eq!(Imm12::maybe_from_u64(4095).unwrap().value(), 4095);
        assert_eq!(Imm12::maybe_from_u64(4096), Some(Imm12 { bits: 1, shift12: true }));
        assert_eq!(Imm12::maybe_from_u64(0xfff000).unwrap().value(), 0xfff000);
        assert_eq!(Imm12::maybe_from_u64(4097), None);
        assert_eq!(Imm12::maybe_from_u64(0x1000000), None);
    }

    /// Every encoding decodes to a value that encodes back to the same fields, and the
    /// number of distinct values is the documented 5334 (64-bit) / 1302 (32-bit).
    #[test]
    fn logical_immediates_round_trip_exhaustively() {
        for is32 in [false, true] {
            let mut values = std::collections::HashSet::new();
            for n in [false, true] {
                for immr in 0..64u8 {
                    for imms in 0..64u8 {
                        if is32 && immr >= 32 {
                            continue;
                        }
                        let Some(v) = ImmLogic::decode(n, immr, imms, is32) else { continue };
                        let e = ImmLogic::maybe_from_u64(v, is32).unwrap_or_else(|| panic!("{v:#x} not encodable"));
                        assert_eq!(ImmLogic::decode(e.n, e.immr, e.imms, is32), Some(v), "{v:#x}");
                        values.insert(v);
                    }
                }
            }
            assert_eq!(values.len(), if is32 { 1302 } else { 5334 });
            // Values outside the set are rejected.
            let mut x = 0x9e37_79b9_7f4a_7c15u64;
            for _ in 0..200_000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                for cand in [x, x & 0xffff_0000_ffff, (x >> 40) << 3, !(x & 0xff00)] {
                    let cand = if is32 { cand & 0xffff_ffff } else { cand };
                    assert_eq!(ImmLogic::maybe_from_u64(cand, is32).is_some(), values.contains(&cand), "{cand:#x}");
                }
            }
        }
    }

    #[test]
    fn fp_imm8_round_trip() {
        for imm8 in 0..=255u8 {
            for bits in [16, 32, 64] {
                let v = FpImm8::expand(imm8, bits);
                assert_eq!(FpImm8::maybe_from_bits(v, bits), Some(FpImm8(imm8)));
            }
            let f = FpImm8(imm8).to_f64();
            assert_eq!(FpImm8::maybe_from_bits((f as f32).to_bits() as u64, 32), Some(FpImm8(imm8)));
        }
        assert_eq!(FpImm8::maybe_from_bits(1.0f64.to_bits(), 64), Some(FpImm8(0x70)));
        assert_eq!(FpImm8::maybe_from_bits(0.0f64.to_bits(), 64), None);
        assert_eq!(FpImm8::maybe_from_bits(0.1f64.to_bits(), 64), None);
        assert_eq!(FpImm8::maybe_from_bits(32.0f64.to_bits(), 64), None);
        assert_eq!(FpImm8::maybe_from_bits(31.0f64.to_bits(), 64).map(|i| i.to_f64()), Some(31.0));
        assert_eq!(FpImm8::maybe_from_bits(0.125f64.to_bits(), 64).map(|i| i.to_f64()), Some(0.125));
    }

    #[test]
    fn asimd_immediates_expand_to_what_was_asked() {
        let mut x = 0x1234_5678_9abc_def1u64;
        let mut found = 0;
        let mut check = |p: u64| {
            if let Some((imm, lane)) = AsimdModImm::maybe_from_u64(p) {
                assert_eq!(imm.expand64(), p, "{p:#x} via {imm:?} lane {lane}");
                found += 1;
            }
        };
        for p in
            [0u64, u64::MAX, 0xff00ff00ff00ff00, 0x0000_00ff_0000_00ff, 0x00ff_ffff_00ff_ffff, 0xffff_ff00_ffff_ff00]
        {
            check(p);
        }
        for imm8 in 0..=255u64 {
            for sh in [0, 8, 16, 24] {
                let w = (imm8 << sh) | ((imm8 << sh) << 32);
                check(w);
                check(!w);
            }
            check(imm8 * 0x0001_0001_0001_0001);
            check(imm8 * 0x0101_0101_0101_0101);
            check(FpImm8::expand(imm8 as u8, 64));
        }
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            check(x);
        }
        assert!(found > 2000);
        // Every (op, cmode, imm8) round-trips through its pattern.
        for kind in [
            AsimdImmKind::Bytes,
            AsimdImmKind::Halves { shift: 8 },
            AsimdImmKind::Words { shift: 24 },
            AsimdImmKind::WordsOnes { shift: 16 },
            AsimdImmKind::ByteMask,
            AsimdImmKind::F32,
            AsimdImmKind::F64,
        ] {
            for imm8 in 0..=255u8 {
                let i = AsimdModImm { kind, invert: false, imm8 };
                assert!(AsimdModImm::maybe_from_u64(i.expand64()).is_some(), "{i:?}");
            }
        }
    }

    fn check_mat(v: u64, is32: bool) -> usize {
        let seq = materialize(v, is32);
        let want = if is32 { v & 0xffff_ffff } else { v };
        assert_eq!(eval_mat_seq(&seq, is32), want, "{v:#x} is32={is32}: {seq:?}");
        assert!(!seq.is_empty() && seq.len() <= if is32 { 2 } else { 4 });
        seq.len()
    }

    #[test]
    fn materialize_computes_every_constant() {
        for v in EDGE_CONSTANTS {
            check_mat(v, false);
            check_mat(v, true);
        }
        assert_eq!(check_mat(0, false), 1);
        assert_eq!(check_mat(u64::MAX, false), 1);
        assert_eq!(check_mat(0x5555_5555_5555_5555, false), 1);
        assert_eq!(check_mat(0xffff_1234_ffff_ffff, false), 1);
        assert_eq!(check_mat(0x0f0f_0f0f_0f0f_1234, false), 2);
        assert_eq!(check_mat(0xaaaa_5678_aaaa_aaaa, false), 2);
        assert_eq!(check_mat(0x1234_5678_9abc_def0, false), 4);
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut total = 0;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Random values and structured ones (sparse chunks, near-bitmask values).
            let m = MoveWideConst { bits: x as u16, hw: (x >> 20) as u8 & 3 }.value();
            for v in [x, x & 0x0000_ffff_0000_ffff, x | 0xffff_0000_ffff_0000, m, !m, x >> (x & 63)] {
                total += check_mat(v, false);
                check_mat(v, true);
            }
        }
        assert!(total > 0);
    }

    /// On all values with at most two non-trivial chunks the sequence is no longer than
    /// the plain movz/movn count, and bitmask values always take one instruction.
    #[test]
    fn materialize_is_never_worse_than_movz_movn() {
        let mut x = 7u64;
        for _ in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let nz = (0..4).filter(|&i| chunk(x, i) != 0).count().max(1);
            let nn = (0..4).filter(|&i| chunk(x, i) != 0xffff).count().max(1);
            assert!(materialize_cost(x, false) <= nz.min(nn));
            if ImmLogic::maybe_from_u64(x, false).is_some() {
                assert_eq!(materialize_cost(x, false), 1);
            }
        }
    }
}

//! Materialization of 64-bit integer constants: the shortest instruction sequence that
//! leaves a constant in a register, found by a search in the manner of LLVM's RISCVMatInt,
//! as a pure function used by lowering, the ABI and emission alike.
//!
//! The search builds candidates and keeps the cheapest:
//! - 32-bit values: `lui` + `addiw` (or `addi` alone);
//! - the recursive split `val = (hi << sh) + lo12`: materialize `hi`, `slli`, `addi`;
//! - trailing zeros removed first and restored with `slli`; leading zeros removed by
//!   shifting left (optionally filling with ones) and restored with `srli`;
//! - with Zbs, `bseti` for a single set bit and for up to two bits above a 32-bit
//!   value, `bclri` for single clear bits of a negative value;
//! - with Zbb, `addi` + `rori` when the value is a rotation of a 12-bit immediate;
//! - with Zba, `shNadd rd, rd, rd` multiplying a cheaper value by 3, 5 or 9.
//!
//! Cost is (instruction count, bytes), bytes counting the 2-byte compressed forms that the
//! enabled extensions allow for these exact operands; the sequence only uses `rd`.
//! Invariant (tested by evaluating every sequence): the sequence computes the constant.

use crate::riscv64::encode::{CompressExts, fits_imm12, try_compress};
use crate::riscv64::inst::{AluOpRRI, AluOpRRR, Inst};
use kiln_codegen::machinst::{Reg, Writable};
use smallvec::SmallVec;

/// One step of a sequence, in terms of the destination register only.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// `lui rd, imm20`.
    Lui(u32),
    /// `op rd, rd-or-zero, imm` (the first step reads `zero`).
    Imm(AluOpRRI, i32),
    /// `op rd, rd, rd` (Zba `shNadd`).
    RegRegSelf(AluOpRRR),
}

/// A sequence and its cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seq {
    /// The steps, in order.
    pub steps: SmallVec<[Step; 8]>,
}

/// Which extensions the search may use.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct MatExts {
    /// Zba (`shNadd`).
    pub zba: bool,
    /// Zbb (`rori`).
    pub zbb: bool,
    /// Zbs (`bseti`, `bclri`).
    pub zbs: bool,
    /// Compressed forms (for the byte cost only).
    pub compress: CompressExts,
}

impl Seq {
    fn new() -> Seq {
        Seq { steps: SmallVec::new() }
    }
    fn push(mut self, s: Step) -> Seq {
        self.steps.push(s);
        self
    }

    /// The instructions writing `rd` (an integer register other than `zero`).
    pub fn insts(&self, rd: Writable<Reg>) -> SmallVec<[Inst; 8]> {
        let zero = crate::riscv64::regs::zero_reg();
        let mut out = SmallVec::new();
        for (i, s) in self.steps.iter().enumerate() {
            let src = if i == 0 { zero } else { rd.to_reg() };
            out.push(match *s {
                Step::Lui(imm20) => Inst::Lui { rd, imm20 },
                Step::Imm(op, imm) => Inst::AluRRImm { op, rd, rs: src, imm },
                Step::RegRegSelf(op) => Inst::AluRRR { op, rd, rs1: src, rs2: src },
            });
        }
        if out.is_empty() {
            out.push(Inst::li12(rd, 0));
        }
        out
    }

    /// Cost for a destination with hardware number `rd`: (instructions, bytes).
    pub fn cost(&self, rd: u8, c: CompressExts) -> (u32, u32) {
        let n = self.steps.len().max(1) as u32;
        let mut bytes = 0;
        for (i, s) in self.steps.iter().enumerate() {
            let src = if i == 0 { 0 } else { rd };
            bytes += if try_compress(step_word(*s, rd, src), c).is_some() { 2 } else { 4 };
        }
        if self.steps.is_empty() {
            bytes = if try_compress(0x13 | (rd as u32) << 7, c).is_some() { 2 } else { 4 };
        }
        (n, bytes)
    }

    /// Evaluate the sequence (the reference semantics used by the tests).
    pub fn eval(&self) -> u64 {
        let mut v = 0u64;
        for s in &self.steps {
            v = eval_step(*s, v);
        }
        v
    }
}

fn step_word(s: Step, rd: u8, src: u8) -> u32 {
    use crate::riscv64::encode::{enc_i, enc_r, enc_u};
    match s {
        Step::Lui(imm20) => enc_u(0x37, rd, imm20),
        Step::Imm(op, imm) => enc_i(op.match_bits(), rd, src, imm),
        Step::RegRegSelf(op) => enc_r(op.match_bits(), rd, src, src),
    }
}

/// One step's effect on the register value `v` (the value of `rd`, 0 before the first).
pub fn eval_step(s: Step, v: u64) -> u64 {
    use AluOpRRI::*;
    match s {
        Step::Lui(imm20) => ((imm20 << 12) as i32) as i64 as u64,
        Step::Imm(op, imm) => {
            let i = imm as i64 as u64;
            let sh = (imm & 63) as u32;
            match op {
                Addi => v.wrapping_add(i),
                Addiw => (v.wrapping_add(i) as i32) as i64 as u64,
                Xori => v ^ i,
                Ori => v | i,
                Andi => v & i,
                Slli => v << sh,
                Srli => v >> sh,
                Srai => ((v as i64) >> sh) as u64,
                Rori => v.rotate_right(sh),
                Bseti => v | 1 << sh,
                Bclri => v & !(1 << sh),
                Binvi => v ^ 1 << sh,
                SlliUw => (v & 0xffff_ffff) << sh,
                _ => unreachable!("materialize never produces {op:?}"),
            }
        }
        Step::RegRegSelf(op) => match op {
            AluOpRRR::Sh1add => (v << 1).wrapping_add(v),
            AluOpRRR::Sh2add => (v << 2).wrapping_add(v),
            AluOpRRR::Sh3add => (v << 3).wrapping_add(v),
            _ => unreachable!("materialize never produces {op:?}"),
        },
    }
}

/// The base recursion: 32-bit values directly, otherwise `hi << sh + lo12`.
fn base(val: i64, seq: Seq) -> Seq {
    if val == val as i32 as i64 {
        let lo = ((val << 52) >> 52) as i32;
        let hi20 = (((val as i32).wrapping_sub(lo) as u32) >> 12) & 0xfffff;
        let mut s = seq;
        if hi20 != 0 {
            s = s.push(Step::Lui(hi20));
        }
        if lo != 0 || hi20 == 0 {
            s = s.push(Step::Imm(if hi20 != 0 { AluOpRRI::Addiw } else { AluOpRRI::Addi }, lo));
        }
        return s;
    }
    let lo = (val << 52) >> 52;
    let mut hi = (val.wrapping_sub(lo)) >> 12;
    // `hi` is non-zero (the value does not fit in 32 bits), so the shift is below 64.
    let sh = 12 + hi.trailing_zeros();
    hi >>= sh - 12;
    let mut s = base(hi, seq).push(Step::Imm(AluOpRRI::Slli, sh as i32));
    if lo != 0 {
        s = s.push(Step::Imm(AluOpRRI::Addi, lo as i32));
    }
    s
}

fn better(a: Option<Seq>, b: Seq, rd: u8, c: CompressExts) -> Option<Seq> {
    match a {
        Some(a) if a.cost(rd, c) <= b.cost(rd, c) => Some(a),
        _ => Some(b),
    }
}

/// The cheapest sequence found for `val` into register number `rd` (used for the byte
/// cost of compressed forms; the sequence itself is register-independent).
pub fn materialize_seq(val: u64, rd: u8, ext: MatExts) -> Seq {
    let v = val as i64;
    let c = ext.compress;
    let mut best = Some(base(v, Seq::new()));
    if v != v as i32 as i64 {
        // Strip trailing zeros first.
        let tz = v.trailing_zeros();
        if tz > 0 && tz < 64 {
            let s = base(v >> tz, Seq::new()).push(Step::Imm(AluOpRRI::Slli, tz as i32));
            best = better(best, s, rd, c);
        }
        // Strip leading zeros: shift left, then logical shift right.
        let lz = (v as u64).leading_zeros();
        if lz > 0 && lz < 64 {
            let shifted = v << lz;
            let s = base(shifted, Seq::new()).push(Step::Imm(AluOpRRI::Srli, lz as i32));
            best = better(best, s, rd, c);
            let filled = shifted | ((1i64 << lz) - 1);
            let s = base(filled, Seq::new()).push(Step::Imm(AluOpRRI::Srli, lz as i32));
            best = better(best, s, rd, c);
        }
        if ext.zbb {
            for r in 1..64 {
                let rot = (v as u64).rotate_left(r) as i64;
                if fits_imm12(rot) {
                    let s = Seq::new()
                        .push(Step::Imm(AluOpRRI::Addi, rot as i32))
                        .push(Step::Imm(AluOpRRI::Rori, r as i32));
                    best = better(best, s, rd, c);
                    break;
                }
            }
        }
        if ext.zbs {
            // A 32-bit value plus up to two high bits set.
            let low = v & 0x7fff_ffff;
            let high = (v as u64) & !0x7fff_ffffu64;
            if high.count_ones() <= 2 {
                let mut s = base(low, Seq::new());
                let mut h = high;
                while h != 0 {
                    let b = h.trailing_zeros();
                    s = s.push(Step::Imm(AluOpRRI::Bseti, b as i32));
                    h &= h - 1;
                }
                // `bseti rd, zero, b` starts from zero itself: drop a leading `li rd, 0`.
                if low == 0 && s.steps.len() > 1 && s.steps[0] == Step::Imm(AluOpRRI::Addi, 0) {
                    s.steps.remove(0);
                }
                best = better(best, s, rd, c);
            }
            // A negative value with up to two bits clear above bit 31.
            let inv = !(v as u64) & !0x7fff_ffffu64;
            if inv.count_ones() <= 2 && v < 0 {
                let low = (v as u64 | !0x7fff_ffffu64) as i64;
                let mut s = base(low, Seq::new());
                let mut h = inv;
                while h != 0 {
                    let b = h.trailing_zeros();
                    s = s.push(Step::Imm(AluOpRRI::Bclri, b as i32));
                    h &= h - 1;
                }
                best = better(best, s, rd, c);
            }
        }
        if ext.zba {
            for (div, op) in [(3i64, AluOpRRR::Sh1add), (5, AluOpRRR::Sh2add), (9, AluOpRRR::Sh3add)] {
                if v % div == 0 {
                    let q = v / div;
                    let inner = materialize_seq(q as u64, rd, MatExts { zba: false, ..ext });
                    if !inner.steps.is_empty() {
                        let s = inner.push(Step::RegRegSelf(op));
                        best = better(best, s, rd, c);
                    }
                }
            }
        }
    }
    let mut best = best.unwrap_or_else(Seq::new);
    if best.steps.is_empty() {
        best.steps.push(Step::Imm(AluOpRRI::Addi, 0));
    }
    best
}

/// The instructions that put `val` into `rd`, and their cost (instructions, bytes).
pub fn materialize(rd: Writable<Reg>, val: u64, ext: MatExts) -> (SmallVec<[Inst; 8]>, (u32, u32)) {
    let n = rd.to_reg().hw_enc();
    let seq = materialize_seq(val, n, ext);
    (seq.insts(rd), seq.cost(n, ext.compress))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_exts() -> [MatExts; 3] {
        let c = CompressExts { zca: true, zcd: true, zcb: true, zbb: true, zba: true, m: true };
        [
            MatExts::default(),
            MatExts { zba: true, zbb: true, zbs: true, compress: c },
            MatExts { zba: false, zbb: true, zbs: false, compress: CompressExts::NONE },
        ]
    }

    fn edge_values() -> Vec<u64> {
        let mut v = vec![0u64, 1, u64::MAX, 0x7ff, 0x800, 0xfff, 0x1000, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff];
        v.extend([0x1_0000_0000, i64::MAX as u64, i64::MIN as u64, 0x8000_0000_0000_0001, 0xdead_beef_cafe_babe]);
        v.extend([0x0123_4567_89ab_cdef, 0xffff_ffff_0000_0000, 0x0000_ffff_ffff_0000, 0x7fff_ffff_ffff_f800]);
        v.extend([0xffff_ffff_7fff_ffff, 0x5555_5555_5555_5555, 0xaaaa_aaaa_aaaa_aaaa, 0x8000_0000_0000_07ff]);
        for b in 0..64 {
            v.push(1u64 << b);
            v.push(!(1u64 << b));
            v.push((1u64 << b).wrapping_sub(1));
            v.push(((1u64 << b).wrapping_sub(1)).wrapping_neg());
            v.push(0x7ffu64.rotate_left(b));
            v.push(3u64 << b | 0x1234_5678);
        }
        v
    }

    /// A small deterministic generator (xorshift).
    fn randoms(n: usize) -> Vec<u64> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut v = Vec::with_capacity(n);
        for i in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Mix in shapes: full random, sparse, small, shifted.
            v.push(match i % 4 {
                0 => x,
                1 => x & (x >> 17) & (x >> 33),
                2 => (x as i64 >> 40) as u64,
                _ => (x & 0xfffff) << (x >> 58),
            });
        }
        v
    }

    #[test]
    fn every_sequence_computes_its_constant() {
        for ext in all_exts() {
            for val in edge_values().into_iter().chain(randoms(20_000)) {
                let s = materialize_seq(val, 10, ext);
                assert_eq!(s.eval(), val, "{val:#x} {ext:?}: {:?}", s.steps);
                assert!(s.steps.len() <= 8, "{val:#x}: {:?}", s.steps);
            }
        }
    }

    #[test]
    fn known_shortest_sequences() {
        let e = MatExts::default();
        assert_eq!(materialize_seq(0, 10, e).steps.len(), 1);
        assert_eq!(materialize_seq(2047, 10, e).steps.len(), 1);
        assert_eq!(materialize_seq(0x1000, 10, e).steps.len(), 1); // lui
        assert_eq!(materialize_seq(0x7fff_ffff, 10, e).steps.len(), 2); // lui + addiw
        assert_eq!(materialize_seq(0xffff_ffff, 10, e).steps.len(), 2); // li -1 + srli 32
        assert_eq!(materialize_seq(1 << 40, 10, e).steps.len(), 2); // li 1 + slli 40
        let zbs = MatExts { zbs: true, ..e };
        assert_eq!(materialize_seq(1 << 63, 10, zbs).steps.len(), 1); // bseti
        let zbb = MatExts { zbb: true, ..e };
        assert_eq!(materialize_seq(0x7ffu64.rotate_right(5) | 0, 10, zbb).steps.len(), 2);
    }

    #[test]
    fn compressed_cost_counts_two_byte_forms() {
        let c = CompressExts { zca: true, ..CompressExts::NONE };
        let e = MatExts { compress: c, ..MatExts::default() };
        // li a0, 5 → c.li.
        assert_eq!(materialize_seq(5, 10, e).cost(10, c), (1, 2));
        // li a0, 100 → addi (no c.li: out of range).
        assert_eq!(materialize_seq(100, 10, e).cost(10, c), (1, 4));
        // lui a0, 1 → c.lui; + addiw a0, a0, 1 → c.addiw.
        assert_eq!(materialize_seq(0x1001, 10, e).cost(10, c), (2, 4));
    }
}

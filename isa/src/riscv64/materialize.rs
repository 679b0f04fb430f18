//! Materialization of 64-bit integer constants: the shortest instruction sequence that
//! leaves a constant in a register, found by a search in the manner of LLVM's RISCVMatInt,
//! as a pure function used by lowering, the ABI and emission alike.
//!
//! The search builds candidates and keeps the cheapest:
//! - the base recursion: 32-bit values (and values 32 bits away from a `lui`) as `lui` +
//!   `addi(w)`; others as `(hi << sh) + lo12`, `hi` recursively, with `lui` absorbing 12
//!   bits of the shift when that makes `hi` a `lui` operand, and (Zba) `slli.uw` for a `hi`
//!   that is an unsigned 32-bit value;
//! - trailing zeros removed first and restored with `slli`; leading zeros removed by
//!   shifting left (filling with ones or zeros) and restored with `srli`, or (Zba) the
//!   sign-extended low half followed by `zext.w`;
//! - with Zbs, `bseti` for a single set bit, `bseti` for the bits above a 31-bit value,
//!   `bclri` for the bits clear above a negative 32-bit value;
//! - with Zbb, `addi` + `rori` when the value is a rotation of a 12-bit immediate;
//! - with Zba, `shNadd rd, rd, rd` multiplying a cheaper value by 3, 5 or 9 (also for the
//!   part above the low 12 bits, then `addi`).
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
    /// `shNadd rd, rd, rd` (Zba): `rd * (2^N + 1)`, N = 1..=3.
    ShAddSelf(u8),
    /// `add.uw rd, rd, zero` (Zba `zext.w`).
    ZextW,
}

impl Step {
    /// The instruction of this step writing `rd` and reading `src` (`zero` for the first).
    pub fn inst(self, rd: Writable<Reg>, src: Reg) -> Inst {
        match self {
            Step::Lui(imm20) => Inst::Lui { rd, imm20 },
            Step::Imm(op, imm) => Inst::AluRRImm { op, rd, rs: src, imm },
            Step::ShAddSelf(n) => Inst::AluRRR { op: sh_add(n), rd, rs1: src, rs2: src },
            Step::ZextW => Inst::AluRRR { op: AluOpRRR::AddUw, rd, rs1: src, rs2: crate::riscv64::regs::zero_reg() },
        }
    }
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
            out.push(s.inst(rd, if i == 0 { zero } else { rd.to_reg() }));
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
        Step::ShAddSelf(n) => enc_r(sh_add(n).match_bits(), rd, src, src),
        Step::ZextW => enc_r(AluOpRRR::AddUw.match_bits(), rd, src, 0),
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
                Slti => ((v as i64) < i as i64) as u64,
                Sltiu => (v < i) as u64,
                Slliw => ((v << (sh & 31)) as i32) as i64 as u64,
                Srliw => (((v as u32) >> (sh & 31)) as i32) as i64 as u64,
                Sraiw => ((v as i32) >> (sh & 31)) as i64 as u64,
                Roriw => ((v as u32).rotate_right(sh & 31) as i32) as i64 as u64,
                Bexti => (v >> sh) & 1,
            }
        }
        Step::ZextW => v & 0xffff_ffff,
        Step::ShAddSelf(n) => (v << n).wrapping_add(v),
    }
}

/// The Zba `shNadd` operation.
fn sh_add(n: u8) -> AluOpRRR {
    match n {
        1 => AluOpRRR::Sh1add,
        2 => AluOpRRR::Sh2add,
        _ => AluOpRRR::Sh3add,
    }
}

/// The base recursion (LLVM's `generateInstSeqImpl`): 32-bit values directly, otherwise
/// `hi << sh + lo12`, where `hi` is formed by `lui` when shifting 12 fewer bits makes it a
/// `lui` operand, and (with Zba) `slli.uw` shifts a `hi` that is a 32-bit unsigned value.
fn base(val: i64, zba: bool) -> Seq {
    let lo = (val << 52) >> 52;
    if val == val as i32 as i64 || val.wrapping_sub(lo) == val.wrapping_sub(lo) as i32 as i64 {
        // lui + addiw for a 32-bit value; lui + addi when the 64-bit sum leaves 32 bits.
        let fits32 = val == val as i32 as i64;
        let hi20 = ((val.wrapping_sub(lo) as u64 >> 12) & 0xfffff) as u32;
        let mut s = Seq::new();
        if hi20 != 0 {
            s = s.push(Step::Lui(hi20));
        }
        if lo != 0 || hi20 == 0 {
            let op = if hi20 != 0 && fits32 { AluOpRRI::Addiw } else { AluOpRRI::Addi };
            s = s.push(Step::Imm(op, lo as i32));
        }
        return s;
    }
    let hi52 = (val as u64).wrapping_add(0x800) >> 12;
    let mut sh = 12 + hi52.trailing_zeros();
    // The remaining bits, sign-extended from their width.
    let mut hi = ((hi52 >> (sh - 12)) << sh) as i64 >> sh;
    let mut unsigned = false;
    if sh > 12 && !fits_imm12(hi) {
        let h12 = (hi as u64) << 12;
        if h12 as i64 == h12 as i32 as i64 {
            sh -= 12;
            hi = h12 as i64;
        } else if zba && h12 == h12 as u32 as u64 {
            sh -= 12;
            hi = h12 as u32 as i32 as i64;
            unsigned = true;
        }
    }
    if zba && hi == hi as u32 as i64 && hi != hi as i32 as i64 {
        hi = hi as u32 as i32 as i64;
        unsigned = true;
    }
    let op = if unsigned { AluOpRRI::SlliUw } else { AluOpRRI::Slli };
    let mut s = base(hi, zba).push(Step::Imm(op, sh as i32));
    if lo != 0 {
        s = s.push(Step::Imm(AluOpRRI::Addi, lo as i32));
    }
    s
}

/// The cheapest sequence offered so far, with its cost cached.
struct Best {
    seq: Seq,
    cost: (u32, u32),
    rd: u8,
    c: CompressExts,
}

impl Best {
    fn new(seq: Seq, rd: u8, c: CompressExts) -> Best {
        let cost = seq.cost(rd, c);
        Best { seq, cost, rd, c }
    }

    /// Can no later candidate win? Asked only when no single instruction forms the value,
    /// so every candidate costs at least two 2-byte instructions.
    fn unbeatable(&self) -> bool {
        self.cost <= (2, 4)
    }

    /// Keep `s` if it is strictly cheaper (the earlier candidate wins ties).
    fn offer(&mut self, s: Seq) {
        // The instruction count decides first: a longer sequence never wins.
        if s.steps.len() as u32 > self.cost.0 {
            return;
        }
        let cost = s.cost(self.rd, self.c);
        if cost < self.cost {
            self.seq = s;
            self.cost = cost;
        }
    }
}

/// The one instruction that forms `val`, when one does: `addi` from `zero` for a 12-bit
/// value, `lui` for a sign-extended 32-bit value with the low 12 bits clear, (Zbs) `bseti`
/// for a single set bit. These are exactly the values for which [`materialize_seq`]
/// returns one step (this one), found without the search.
pub fn single_step(val: u64, ext: MatExts) -> Option<Step> {
    let v = val as i64;
    if fits_imm12(v) {
        return Some(Step::Imm(AluOpRRI::Addi, v as i32));
    }
    if v & 0xfff == 0 && v == v as i32 as i64 {
        return Some(Step::Lui(((val >> 12) & 0xfffff) as u32));
    }
    if ext.zbs && val.count_ones() == 1 {
        return Some(Step::Imm(AluOpRRI::Bseti, val.trailing_zeros() as i32));
    }
    None
}

/// The cheapest sequence found for `val` into register number `rd` (used for the byte
/// cost of compressed forms; the sequence itself is register-independent).
pub fn materialize_seq(val: u64, rd: u8, ext: MatExts) -> Seq {
    if let Some(step) = single_step(val, ext) {
        return Seq::new().push(step);
    }
    let v = val as i64;
    let zba = ext.zba;
    let mut best = Best::new(base(v, zba), rd, ext.compress);
    search(val, ext, &mut best);
    best.seq
}

/// Offer `best` the candidates other than the base recursion, in a fixed order (ties go to
/// the earlier one); stops once nothing can beat the best.
fn search(val: u64, ext: MatExts, best: &mut Best) {
    let v = val as i64;
    let zba = ext.zba;
    if best.unbeatable() {
        return;
    }
    // Strip trailing zeros first.
    let tz = v.trailing_zeros();
    if tz > 0 && tz < 64 {
        best.offer(base(v >> tz, zba).push(Step::Imm(AluOpRRI::Slli, tz as i32)));
    }
    // Strip leading zeros: shift left (filling with ones or zeros), then logical shift right.
    if v > 0 {
        let lz = val.leading_zeros();
        let ones = (v << lz) | ((1i64 << lz) - 1);
        best.offer(base(ones, zba).push(Step::Imm(AluOpRRI::Srli, lz as i32)));
        best.offer(base(v << lz, zba).push(Step::Imm(AluOpRRI::Srli, lz as i32)));
        if lz == 32 && zba {
            // The sign-extended 32-bit value, then zext.w.
            best.offer(base(v as i32 as i64, zba).push(Step::ZextW));
        }
    }
    if best.unbeatable() {
        return;
    }
    if ext.zbb {
        for r in 1..64 {
            let rot = val.rotate_left(r) as i64;
            if fits_imm12(rot) {
                let s =
                    Seq::new().push(Step::Imm(AluOpRRI::Addi, rot as i32)).push(Step::Imm(AluOpRRI::Rori, r as i32));
                best.offer(s);
                break;
            }
        }
    }
    if ext.zbs && !best.unbeatable() {
        // (A single set bit is one `bseti`: [`single_step`].) A 31-bit value plus the bits above set with bseti.
        let high = val & !0x7fff_ffff;
        if high != 0 {
            let mut s = if val & 0x7fff_ffff == 0 { Seq::new() } else { base(v & 0x7fff_ffff, zba) };
            let mut h = high;
            while h != 0 {
                s = s.push(Step::Imm(AluOpRRI::Bseti, h.trailing_zeros() as i32));
                h &= h - 1;
            }
            best.offer(s);
        }
        // A negative 32-bit value with the bits above cleared with bclri.
        let clear = !val & !0x7fff_ffff;
        if clear != 0 && clear.count_ones() < 32 {
            let mut s = base((val | !0x7fff_ffff) as i64, zba);
            let mut h = clear;
            while h != 0 {
                s = s.push(Step::Imm(AluOpRRI::Bclri, h.trailing_zeros() as i32));
                h &= h - 1;
            }
            best.offer(s);
        }
    }
    if zba {
        for (div, n) in [(3i64, 1u8), (5, 2), (9, 3)] {
            if best.unbeatable() {
                return;
            }
            if v % div == 0 && v / div != 0 {
                let inner = materialize_seq((v / div) as u64, best.rd, MatExts { zba: false, ..ext });
                best.offer(inner.push(Step::ShAddSelf(n)));
            }
            // lui + shNadd + addi: the part above the low 12 bits divided.
            let lo = (v << 52) >> 52;
            let hi = v.wrapping_sub(lo);
            if hi % div == 0 && hi / div == hi / div as i32 as i64 && hi != 0 {
                let mut s = base(hi / div, false).push(Step::ShAddSelf(n));
                if lo != 0 {
                    s = s.push(Step::Imm(AluOpRRI::Addi, lo as i32));
                }
                best.offer(s);
            }
        }
    }
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
        assert_eq!(materialize_seq(0x7ffu64.rotate_right(5), 10, zbb).steps.len(), 2);
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

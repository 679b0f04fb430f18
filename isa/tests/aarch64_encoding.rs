//! Encoder/printer agreement for every aarch64 instruction form.
//!
//! Each case is one `Inst` with physical registers. Its printed text is assembled by
//! `aarch64-linux-gnu-as` (all cases in one file, with a table of per-case lengths computed
//! by the assembler itself), and the bytes must equal what `emit.rs` produces. The same
//! bytes are disassembled by capstone (ARM64) and must read back as the printed
//! instruction: same mnemonic (or the alias capstone prefers, from a short table) and the
//! same operands, numbers compared by value.
//!
//! Label operands are tested at several distances: the case's label is placed `label_off`
//! bytes from the instruction (zero padding in Kiln's buffer, `.set` in the assembly).
//! Fields the assembler leaves to a relocation (`adrp`, symbol references) are compared
//! with the field masked out; the label-use unit tests in `emit.rs` check those fields.
//!
//! Without `aarch64-linux-gnu-as` the test fails with a clear message unless
//! `KILN_SKIP_AS=1` is set (then only the capstone half runs).

mod common;

use capstone::prelude::*;
use kiln_codegen::machinst::abi::{FrameLayout, StackAMode};
use kiln_codegen::machinst::buffer::{FinishedCode, MachBuffer, RelocTarget};
use kiln_codegen::machinst::{MachLabel, Reg, Writable};
use kiln_ir::settings::{Arch, Flags, IsaFlags};
use kiln_ir::trapcode::TrapCode;
use kiln_isa::aarch64::emit::{EmitInfo, EmitState, enc_ldr_literal};
use kiln_isa::aarch64::inst::*;
use kiln_isa::aarch64::print::print_inst;
use kiln_isa::aarch64::regs::{stack_reg, vreg, xreg, zero_reg};

const SP: u8 = 32;
const ZR: u8 = 31;

fn r(i: u8) -> Reg {
    if i == SP { stack_reg() } else { xreg(i) }
}
fn w(i: u8) -> Writable<Reg> {
    Writable::from_reg(r(i))
}
fn vr(i: u8) -> Reg {
    vreg(i)
}
fn vw(i: u8) -> Writable<Reg> {
    Writable::from_reg(vreg(i))
}

const SIZES: [OperandSize; 2] = [OperandSize::Size32, OperandSize::Size64];
const FP_SIZES: [ScalarSize; 3] = [ScalarSize::Size16, ScalarSize::Size32, ScalarSize::Size64];
const ALL_VEC: [VectorSize; 8] = [
    VectorSize::Size8x8,
    VectorSize::Size8x16,
    VectorSize::Size16x4,
    VectorSize::Size16x8,
    VectorSize::Size32x2,
    VectorSize::Size32x4,
    VectorSize::Size64x1,
    VectorSize::Size64x2,
];
const ORDERS: [Ordering; 4] = [
    Ordering { acquire: false, release: false },
    Ordering { acquire: true, release: false },
    Ordering { acquire: false, release: true },
    Ordering { acquire: true, release: true },
];

/// Register triples covering every register 0..=30 in each position, plus equal triples.
fn triples() -> Vec<(u8, u8, u8)> {
    let mut t: Vec<(u8, u8, u8)> = (0..31).map(|i| (i, (i * 7 + 3) % 31, (i * 13 + 5) % 31)).collect();
    t.extend([(0, 0, 0), (30, 30, 30), (30, 0, 15)]);
    t
}

/// A few triples with every register position at 0 and 30 (for big operation sweeps).
fn few() -> Vec<(u8, u8, u8)> {
    vec![(0, 1, 2), (30, 29, 28), (5, 30, 0), (17, 0, 30)]
}

/// A test case: an instruction and where its label (MachLabel 0) is, relative to its start.
struct Spec {
    inst: Inst,
    label_off: i64,
}

fn at(inst: Inst) -> Spec {
    Spec { inst, label_off: 0 }
}

struct Case {
    inst: Inst,
    text: String,
    bytes: Vec<u8>,
    /// Offset of the instruction in its buffer (adrp pages depend on it).
    at: u32,
    label_off: i64,
    /// Bits of each word left to a relocation by the assembler (compared masked).
    mask: u32,
    /// Compare only mnemonics with capstone (symbolic operands).
    loose: bool,
}

fn info() -> EmitInfo {
    let mut isa = IsaFlags::new(Arch::Aarch64);
    for f in ["has_lse", "has_fp16", "has_pauth", "use_bti"] {
        isa.set_word(f).expect("flag");
    }
    EmitInfo::new(Flags::new(), isa)
}

/// Emit `inst` with label 0 at `label_off` bytes from it; returns the instruction's bytes
/// and the finished buffer.
fn emit_at(inst: &Inst, label_off: i64, info: &EmitInfo) -> Result<(Vec<u8>, u32, FinishedCode), String> {
    let once = |pad_after: Option<usize>| -> Result<(Vec<u8>, u32, FinishedCode), String> {
        let mut buf = MachBuffer::new(info.clone());
        buf.reserve_labels(3);
        let mut state = EmitState::default();
        if label_off <= 0 {
            buf.bind_label(MachLabel(0));
            buf.put_data(&vec![0; (-label_off) as usize]);
        }
        buf.bind_label(MachLabel(1));
        inst.emit(&mut buf, info, &mut state).map_err(|e| e.to_string())?;
        buf.bind_label(MachLabel(2));
        if let Some(pad) = pad_after {
            buf.put_data(&vec![0; pad]);
            buf.bind_label(MachLabel(0));
        }
        let mut out = FinishedCode::default();
        buf.finish(&mut out).map_err(|e| format!("{e:?}"))?;
        let (s, e) = (out.label_offsets[1] as usize, out.label_offsets[2] as usize);
        Ok((out.bytes[s..e].to_vec(), s as u32, out))
    };
    if label_off <= 0 {
        return once(None);
    }
    // Learn the length with the label right after the instruction, then pad.
    let (b, _, _) = once(Some(0))?;
    let pad = (label_off as usize).checked_sub(b.len()).ok_or("label inside the instruction")?;
    once(Some(pad))
}

// ---------------------------------------------------------------------------------------
// The cases.

fn integer_cases(v: &mut Vec<Spec>) {
    use ALUOp::*;
    let ops_rrr = [
        Add, Sub, Adds, Subs, And, Orr, Eor, Ands, Bic, Orn, Eon, Bics, Adc, Adcs, Sbc, Sbcs, Lsl, Lsr, Asr, Ror, SDiv,
        UDiv, SMulH, UMulH,
    ];
    for op in ops_rrr {
        for size in SIZES {
            if matches!(op, SMulH | UMulH) && !size.is64() {
                continue;
            }
            let regs = if op == Add { triples() } else { few() };
            for (d, n, m) in regs {
                v.push(at(Inst::AluRRR { op, size, rd: w(d), rn: r(n), rm: r(m) }));
            }
            // The zero register in each position (the aliases cmp/neg/mov/…).
            for (d, n, m) in [(ZR, 1, 2), (3, ZR, 4), (5, 6, ZR), (ZR, ZR, 7)] {
                v.push(at(Inst::AluRRR { op, size, rd: w(d), rn: r(n), rm: r(m) }));
            }
        }
    }
    // Shifted register.
    for op in [Add, Sub, Adds, Subs, And, Orr, Eor, Ands, Bic, Orn, Eon, Bics] {
        for size in SIZES {
            let shifts: &[ShiftOp] = if op.is_logical() {
                &[ShiftOp::Lsl, ShiftOp::Lsr, ShiftOp::Asr, ShiftOp::Ror]
            } else {
                &[ShiftOp::Lsl, ShiftOp::Lsr, ShiftOp::Asr]
            };
            for &shift in shifts {
                let amts: &[u8] = if size.is64() { &[0, 1, 5, 31, 32, 63] } else { &[0, 1, 5, 16, 31] };
                for (k, &amt) in amts.iter().enumerate() {
                    let (d, n, m) = few()[k % 4];
                    v.push(at(Inst::AluRRRShift { op, size, rd: w(d), rn: r(n), rm: r(m), shift, amt }));
                    let (d, n) = [(ZR, 9), (9, ZR)][k % 2];
                    v.push(at(Inst::AluRRRShift { op, size, rd: w(d), rn: r(n), rm: r(10), shift, amt }));
                }
            }
        }
    }
    // Extended register.
    let exts = [
        ExtendOp::UXTB,
        ExtendOp::UXTH,
        ExtendOp::UXTW,
        ExtendOp::UXTX,
        ExtendOp::SXTB,
        ExtendOp::SXTH,
        ExtendOp::SXTW,
        ExtendOp::SXTX,
    ];
    for op in [Add, Sub, Adds, Subs] {
        for size in SIZES {
            for extend in exts {
                for shift in 0..=4u8 {
                    let (d, n, m) = triples()[(shift as usize * 5 + extend as usize) % 31];
                    v.push(at(Inst::AluRRRExtend { op, size, rd: w(d), rn: r(n), rm: r(m), extend, shift }));
                }
                // sp as base and (for add/sub) destination; the zero register as index and,
                // for adds/subs, destination (cmp/cmn).
                let d = if op.sets_flags() { ZR } else { SP };
                for (dd, n, m) in [(d, SP, 3), (d, 4, 5), (6, SP, ZR), (30, SP, 30)] {
                    for shift in [0u8, 2] {
                        v.push(at(Inst::AluRRRExtend { op, size, rd: w(dd), rn: r(n), rm: r(m), extend, shift }));
                    }
                }
            }
        }
    }
    // 12-bit immediates.
    for op in [Add, Sub, Adds, Subs] {
        for size in SIZES {
            for (k, value) in [0u64, 1, 4095, 4096, 0xfff000, 0x123000, 42].into_iter().enumerate() {
                let imm12 = Imm12::maybe_from_u64(value).unwrap();
                let (d, n, _) = triples()[k * 4];
                v.push(at(Inst::AluRRImm12 { op, size, rd: w(d), rn: r(n), imm12 }));
                let d = if op.sets_flags() { ZR } else { SP };
                v.push(at(Inst::AluRRImm12 { op, size, rd: w(d), rn: r(SP), imm12 }));
                v.push(at(Inst::AluRRImm12 { op, size, rd: w(d), rn: r(30), imm12 }));
                v.push(at(Inst::AluRRImm12 { op, size, rd: w(30), rn: r(SP), imm12 }));
            }
        }
    }
    // Logical immediates: a spread over the whole encodable space of each width.
    for op in [And, Orr, Eor, Ands] {
        for size in SIZES {
            let is32 = !size.is64();
            let mut k = 0usize;
            for n in [false, true] {
                for immr in (0..64u8).step_by(if op == And { 1 } else { 7 }) {
                    for imms in (0..64u8).step_by(if op == And { 3 } else { 11 }) {
                        if is32 && immr >= 32 {
                            continue;
                        }
                        let Some(value) = ImmLogic::decode(n, immr, imms, is32) else { continue };
                        let imml = ImmLogic::maybe_from_u64(value, is32).unwrap();
                        k += 1;
                        let (d, nn, _) = triples()[k % 34];
                        let d = match k % 5 {
                            0 if op != Ands => SP,
                            1 if op == Ands => ZR,
                            _ => d,
                        };
                        let nn = if k.is_multiple_of(7) { ZR } else { nn };
                        v.push(at(Inst::AluRRImmLogic { op, size, rd: w(d), rn: r(nn), imml }));
                    }
                }
            }
        }
    }
    // Multiply-add.
    for op in [ALUOp3::MAdd, ALUOp3::MSub, ALUOp3::SMAddL, ALUOp3::SMSubL, ALUOp3::UMAddL, ALUOp3::UMSubL] {
        for size in SIZES {
            if !matches!(op, ALUOp3::MAdd | ALUOp3::MSub) && !size.is64() {
                continue;
            }
            for (k, (d, n, m)) in triples().into_iter().enumerate() {
                let a = if k % 3 == 0 { ZR } else { (k as u8 * 11) % 31 };
                v.push(at(Inst::AluRRRR { op, size, rd: w(d), rn: r(n), rm: r(m), ra: r(a) }));
            }
        }
    }
    for op in [BitOp::Rbit, BitOp::Clz, BitOp::Cls, BitOp::Rev16, BitOp::Rev32, BitOp::Rev] {
        for size in SIZES {
            if op == BitOp::Rev32 && !size.is64() {
                continue;
            }
            for (d, n, _) in triples() {
                v.push(at(Inst::BitRR { op, size, rd: w(d), rn: r(n) }));
            }
        }
    }
    // Move wide.
    for size in SIZES {
        for hw in 0..if size.is64() { 4 } else { 2 } {
            for (k, bits) in [0u16, 1, 0x1234, 0x8000, 0xffff, 0xfffe].into_iter().enumerate() {
                let imm = MoveWideConst { bits, hw };
                let d = [0, 30, 7, ZR, 15, 29][k];
                v.push(at(Inst::MovWide { op: MoveWideOp::MovZ, size, rd: w(d), imm }));
                v.push(at(Inst::MovWide { op: MoveWideOp::MovN, size, rd: w(d), imm }));
                v.push(at(Inst::MovK { size, rd: w(d), ri: r(d), imm }));
            }
        }
    }
    for size in SIZES {
        for (d, n, _) in triples() {
            v.push(at(Inst::Mov { size, rd: w(d), rm: r(n) }));
        }
        for (d, n) in [(SP, 0), (0, SP), (SP, 30), (29, SP), (5, ZR)] {
            v.push(at(Inst::Mov { size, rd: w(d), rm: r(n) }));
        }
    }
    // Bitfield moves and their aliases.
    for size in SIZES {
        let vals: &[u8] =
            if size.is64() { &[0, 1, 7, 8, 15, 16, 31, 32, 62, 63] } else { &[0, 1, 7, 8, 15, 16, 30, 31] };
        let mut k = 0usize;
        for &immr in vals {
            for &imms in vals {
                k += 1;
                let (d, n, _) = triples()[k % 34];
                for op in [BitfieldOp::Sbfm, BitfieldOp::Ubfm] {
                    v.push(at(Inst::Bitfield { op, size, rd: w(d), rn: r(n), immr, imms }));
                }
                v.push(at(Inst::BitfieldInsert { size, rd: w(d), ri: r(d), rn: r(n), immr, imms }));
            }
        }
        for &lsb in vals {
            v.push(at(Inst::Extr { size, rd: w(1), rn: r(2), rm: r(3), lsb }));
            v.push(at(Inst::Extr { size, rd: w(30), rn: r(4), rm: r(4), lsb }));
        }
    }
    // Conditional select and compare.
    for op in [CSelOp::Csel, CSelOp::Csinc, CSelOp::Csinv, CSelOp::Csneg] {
        for size in SIZES {
            for (k, cond) in Cond::ALL.into_iter().enumerate() {
                let (d, n, m) = triples()[k];
                v.push(at(Inst::CSel { op, size, rd: w(d), rn: r(n), rm: r(m), cond }));
                v.push(at(Inst::CSel { op, size, rd: w(d), rn: r(n), rm: r(n), cond }));
                v.push(at(Inst::CSel { op, size, rd: w(d), rn: r(ZR), rm: r(ZR), cond }));
                v.push(at(Inst::CSel { op, size, rd: w(d), rn: r(ZR), rm: r(m), cond }));
            }
        }
    }
    for op in [CCmpOp::Ccmp, CCmpOp::Ccmn] {
        for size in SIZES {
            for (k, cond) in Cond::ALL.into_iter().enumerate() {
                let (_, n, m) = triples()[k + 10];
                let nzcv = NZCV([0u8, 15, 5, 10][k % 4]);
                v.push(at(Inst::CCmp { op, size, rn: r(n), rm: r(m), nzcv, cond }));
                v.push(at(Inst::CCmpImm { op, size, rn: r(n), imm: [0, 31, 17, 1][k % 4], nzcv, cond }));
            }
            v.push(at(Inst::CCmp { op, size, rn: r(ZR), rm: r(30), nzcv: NZCV(4), cond: Cond::Eq }));
        }
    }
    // PC-relative addresses.
    for (k, off) in [0i64, 4, -4, 5, -1, 7, -3, 0xfffff, -0x100000, 4096].into_iter().enumerate() {
        v.push(Spec { inst: Inst::Adr { rd: w([0, 30, 7][k % 3]), label: MachLabel(0) }, label_off: off });
    }
    for (k, off) in [0i64, 4, -4, 4096, -4096, 8192, 1 << 20, -(1 << 20)].into_iter().enumerate() {
        v.push(Spec { inst: Inst::Adrp { rd: w([0, 30, 9][k % 3]), label: MachLabel(0) }, label_off: off });
    }
    for (k, off) in [0i64, 8, -16].into_iter().enumerate() {
        let name = Box::new(RelocTarget::User { namespace: 0, index: k as u32 });
        v.push(at(Inst::LoadExtName { rd: w([0, 30, 16][k]), name, offset: off }));
    }
}

fn memory_cases(v: &mut Vec<Spec>) {
    use LoadOp::*;
    use StoreOp::*;
    let loads = [Ldrb, Ldrh, LdrW, LdrX, LdrsbW, LdrsbX, LdrshW, LdrshX, Ldrsw, LdrB, LdrH, LdrS, LdrD, LdrQ];
    let stores = [Strb, Strh, StrW, StrX, StrB, StrH, StrS, StrD, StrQ];
    // Every addressing mode, for a given access size; bases sweep x0..x30 and sp.
    let amodes = |access: ScalarSize| -> Vec<AMode> {
        let s = access.bytes();
        let mut m = Vec::new();
        let bases = [0u8, 1, 7, 15, 16, 29, 30, SP];
        for (k, &rn) in bases.iter().enumerate() {
            let rn = r(rn);
            for off in [0, s, 4095 * s, 17 * s] {
                m.push(AMode::UnsignedOffset { rn, off });
            }
            for off in [-256i16, 255, -1, 1, 0] {
                m.push(AMode::Unscaled { rn, off });
            }
            for off in [-256i16, 255, 16, 0] {
                m.push(AMode::PreIndexed { rn, off });
                m.push(AMode::PostIndexed { rn, off });
            }
            for extend in [RegExtend::Lsl, RegExtend::Uxtw, RegExtend::Sxtw, RegExtend::Sxtx] {
                for scaled in [false, true] {
                    let rm = r([2u8, 30, 0, 17, 9, 3, 12, 28][k]);
                    m.push(AMode::RegOffset { rn, rm, extend, scaled });
                }
            }
        }
        m
    };
    for op in loads {
        for (k, mem) in amodes(op.access()).into_iter().enumerate() {
            let d = [0u8, 30, 5, 17, 31][k % 5];
            let rd = if op.is_fp() { vw(d) } else { w(d % 31) };
            v.push(at(Inst::Load { op, rd, mem, trap: None }));
        }
        if enc_ldr_literal(op, 0).is_some() {
            for (k, off) in [0i64, -4, 8, -(1 << 20), (1 << 20) - 4, 4096].into_iter().enumerate() {
                let d = [0u8, 30, 9][k % 3];
                let rd = if op.is_fp() { vw(d) } else { w(d) };
                v.push(Spec {
                    inst: Inst::Load { op, rd, mem: AMode::Label { label: MachLabel(0) }, trap: None },
                    label_off: off,
                });
            }
        }
    }
    for op in stores {
        for (k, mem) in amodes(op.access()).into_iter().enumerate() {
            let d = [0u8, 30, 5, 17, 31][k % 5];
            let rt = if op.is_fp() { vr(d) } else { r(d) };
            v.push(at(Inst::Store { op, rt, mem, trap: None }));
        }
    }
    for op in [PairOp::W, PairOp::X, PairOp::Sw, PairOp::S, PairOp::D, PairOp::Q] {
        let s = op.access().bytes() as i16;
        for (k, &rn) in [0u8, 30, 29, SP, 16].iter().enumerate() {
            for off in [-64 * s, 63 * s, 0, s, -s] {
                for mem in [
                    PairAMode::SignedOffset { rn: r(rn), off },
                    PairAMode::PreIndexed { rn: r(rn), off },
                    PairAMode::PostIndexed { rn: r(rn), off },
                ] {
                    let (t, t2) = [(0u8, 1u8), (29, 30), (30, 0), (19, 20), (ZR, 3)][k];
                    // For integer pairs, the last one stores xzr (and loads into it).
                    let (a, b, c, d) =
                        if op.is_fp() { (vw(t), vw(t2), vr(t), vr(t2)) } else { (w(t), w(t2), r(t), r(t2)) };
                    v.push(at(Inst::LoadPair { op, rt: a, rt2: b, mem, trap: None }));
                    if op != PairOp::Sw {
                        v.push(at(Inst::StorePair { op, rt: c, rt2: d, mem, trap: None }));
                    }
                }
            }
        }
    }
}

fn branch_cases(v: &mut Vec<Spec>) {
    for off in [0i64, 4, -4, 1 << 20, -(1 << 20), 4096] {
        v.push(Spec { inst: Inst::Jump { dest: MachLabel(0) }, label_off: off });
    }
    let mut kinds = Vec::new();
    for size in SIZES {
        for reg in [0u8, 30, 15, ZR] {
            kinds.push(CondBrKind::Zero(r(reg), size));
            kinds.push(CondBrKind::NotZero(r(reg), size));
        }
    }
    for (k, bit) in [0u8, 1, 31, 32, 40, 63].into_iter().enumerate() {
        let reg = [0u8, 30, 7, 16, ZR, 3][k];
        kinds.push(CondBrKind::TestBitZero(r(reg), bit));
        kinds.push(CondBrKind::TestBitNotZero(r(reg), bit));
    }
    for c in Cond::ALL {
        kinds.push(CondBrKind::Cond(c));
    }
    for (k, kind) in kinds.into_iter().enumerate() {
        let tb = matches!(kind, CondBrKind::TestBitZero(..) | CondBrKind::TestBitNotZero(..));
        let offs: &[i64] = if tb { &[0, -4, -32768, 32764] } else { &[0, -4, -(1 << 20), (1 << 20) - 4] };
        let off = offs[k % offs.len()];
        v.push(Spec { inst: Inst::CondBr { kind, taken: MachLabel(0), not_taken: MachLabel(0) }, label_off: off });
    }
    for reg in [0u8, 1, 16, 30] {
        v.push(at(Inst::Br { rn: r(reg) }));
        v.push(at(Inst::Blr { rn: r(reg) }));
    }
    v.push(at(Inst::Bl { name: Box::new(RelocTarget::User { namespace: 0, index: 7 }) }));
    v.push(at(Inst::Ret));
    v.push(at(Inst::RetAuth { key: PacKey::A }));
    v.push(at(Inst::RetAuth { key: PacKey::B }));
    for code in [TrapCode::INTEGER_DIVISION_BY_ZERO, TrapCode::HEAP_OUT_OF_BOUNDS, TrapCode::user(1).unwrap()] {
        v.push(at(Inst::Udf { code }));
    }
    for imm in [0u16, 1, 0x3e8, 0xffff] {
        v.push(at(Inst::Brk { imm }));
    }
}

fn fp_cases(v: &mut Vec<Spec>) {
    let ops1 = [
        FpuOp1::Abs,
        FpuOp1::Neg,
        FpuOp1::Sqrt,
        FpuOp1::RintN,
        FpuOp1::RintM,
        FpuOp1::RintP,
        FpuOp1::RintZ,
        FpuOp1::RintA,
        FpuOp1::RintX,
        FpuOp1::RintI,
    ];
    let ops2 = [
        FpuOp2::Add,
        FpuOp2::Sub,
        FpuOp2::Mul,
        FpuOp2::Div,
        FpuOp2::Max,
        FpuOp2::Min,
        FpuOp2::MaxNm,
        FpuOp2::MinNm,
        FpuOp2::NMul,
    ];
    for size in FP_SIZES {
        for (d, n, m) in triples() {
            v.push(at(Inst::FpuMove { size, rd: vw(d), rn: vr(n) }));
            v.push(at(Inst::FpuRRR { op: FpuOp2::Add, size, rd: vw(d), rn: vr(n), rm: vr(m) }));
        }
        v.push(at(Inst::FpuMove { size, rd: vw(31), rn: vr(31) }));
        for op in ops1 {
            for (d, n, _) in few() {
                v.push(at(Inst::FpuRR { op, size, rd: vw(d), rn: vr(n + 1) }));
            }
        }
        for op in ops2 {
            for (d, n, m) in few() {
                v.push(at(Inst::FpuRRR { op, size, rd: vw(d), rn: vr(n), rm: vr(m + 1) }));
            }
        }
        for op in [FpuOp3::MAdd, FpuOp3::MSub, FpuOp3::NMAdd, FpuOp3::NMSub] {
            for (k, (d, n, m)) in triples().into_iter().enumerate() {
                v.push(at(Inst::FpuRRRR {
                    op,
                    size,
                    rd: vw(d),
                    rn: vr(n),
                    rm: vr(m),
                    ra: vr((k as u8 * 3 + 31) % 32),
                }));
            }
        }
        for to in FP_SIZES {
            if to != size {
                v.push(at(Inst::FpuCvt { from: size, to, rd: vw(1), rn: vr(31) }));
                v.push(at(Inst::FpuCvt { from: size, to, rd: vw(31), rn: vr(0) }));
            }
        }
        for (k, (_, n, m)) in triples().into_iter().enumerate() {
            v.push(at(Inst::FpuCmp { size, rn: vr(n), rm: vr(m + 1) }));
            v.push(at(Inst::FpuCmpZero { size, rn: vr(n + 1) }));
            let cond = Cond::ALL[k % 16];
            v.push(at(Inst::FpuCCmp { size, rn: vr(n), rm: vr(m), nzcv: NZCV((k % 16) as u8), cond }));
            v.push(at(Inst::FpuCSel { size, rd: vw(m), rn: vr(n), rm: vr(k as u8 % 32), cond }));
        }
        for imm8 in 0..=255u8 {
            v.push(at(Inst::FpuMoveImm { size, rd: vw(imm8 % 32), imm: FpImm8(imm8) }));
        }
        for isize in SIZES {
            let ok = size == ScalarSize::Size16
                || (size == ScalarSize::Size32 && !isize.is64())
                || (size == ScalarSize::Size64 && isize.is64());
            for (d, n, _) in few() {
                if ok {
                    v.push(at(Inst::MovToFpu { size, isize, rd: vw(d), rn: r(n) }));
                    v.push(at(Inst::MovFromFpu { size, isize, rd: w(d), rn: vr(n) }));
                }
                for op in [FpuToIntOp::Fcvtzs, FpuToIntOp::Fcvtzu] {
                    v.push(at(Inst::FpuToInt { op, size, isize, rd: w(d), rn: vr(n) }));
                }
                for op in [IntToFpuOp::Scvtf, IntToFpuOp::Ucvtf] {
                    v.push(at(Inst::IntToFpu { op, size, isize, rd: vw(d), rn: r(n) }));
                }
            }
            v.push(at(Inst::MovToFpu { size, isize, rd: vw(31), rn: r(ZR) }));
        }
    }
}

fn atomic_cases(v: &mut Vec<Spec>) {
    let sizes = [ScalarSize::Size8, ScalarSize::Size16, ScalarSize::Size32, ScalarSize::Size64];
    for size in sizes {
        for (k, (t, n, s)) in few().into_iter().chain([(3, SP, 4)]).enumerate() {
            let b = k % 2 == 0;
            v.push(at(Inst::LoadExclusive { acquire: b, size, rt: w(t), rn: r(n), trap: None }));
            v.push(at(Inst::LoadExclusive { acquire: !b, size, rt: w(t), rn: r(n), trap: None }));
            v.push(at(Inst::StoreExclusive { release: b, size, rs: w(s), rt: r(t), rn: r(n), trap: None }));
            v.push(at(Inst::StoreExclusive { release: !b, size, rs: w(s), rt: r(t), rn: r(n), trap: None }));
            v.push(at(Inst::LoadAcquire { size, rt: w(t), rn: r(n), trap: None }));
            v.push(at(Inst::StoreRelease { size, rt: r(t), rn: r(n), trap: None }));
            for op in [
                AtomicRmwOp::Add,
                AtomicRmwOp::Clr,
                AtomicRmwOp::Eor,
                AtomicRmwOp::Set,
                AtomicRmwOp::SMax,
                AtomicRmwOp::SMin,
                AtomicRmwOp::UMax,
                AtomicRmwOp::UMin,
                AtomicRmwOp::Swp,
            ] {
                for order in ORDERS {
                    v.push(at(Inst::AtomicRmw { op, order, size, rs: r(s), rt: w(t), rn: r(n), trap: None }));
                    v.push(at(Inst::AtomicRmw { op, order, size, rs: r(s), rt: w(ZR), rn: r(n), trap: None }));
                }
            }
            for order in ORDERS {
                v.push(at(Inst::Cas { order, size, rd: w(s), ri: r(s), rt: r(t), rn: r(n), trap: None }));
            }
        }
    }
    for size in SIZES {
        for (k, (t, t2, n)) in few().into_iter().enumerate() {
            let s = (n + 5) % 31;
            for b in [k % 2 == 0, k % 2 == 1] {
                v.push(at(Inst::LoadExclusivePair { acquire: b, size, rt: w(t), rt2: w(t2), rn: r(n), trap: None }));
                let rs = w(s);
                v.push(at(Inst::StoreExclusivePair {
                    release: b,
                    size,
                    rs,
                    rt: r(t),
                    rt2: r(t2),
                    rn: r(n),
                    trap: None,
                }));
            }
        }
        for order in ORDERS {
            for (s, t, n) in [(0u8, 2u8, 4u8), (28, 0, 30), (2, 26, SP)] {
                v.push(at(Inst::Casp {
                    order,
                    size,
                    rd: [w(s), w(s + 1)],
                    ri: [r(s), r(s + 1)],
                    rt: [r(t), r(t + 1)],
                    rn: r(n),
                    trap: None,
                }));
            }
        }
    }
    for option in [BarrierOption::Ish, BarrierOption::IshLd, BarrierOption::IshSt, BarrierOption::Sy] {
        v.push(at(Inst::Dmb { option }));
    }
    v.push(at(Inst::Isb));
}

fn misc_cases(v: &mut Vec<Spec>) {
    for op in [
        HintOp::Nop,
        HintOp::Xpaclri,
        HintOp::Paciasp,
        HintOp::Pacibsp,
        HintOp::Autiasp,
        HintOp::Autibsp,
        HintOp::BtiC,
        HintOp::BtiJ,
        HintOp::BtiJC,
        HintOp::Csdb,
    ] {
        v.push(at(Inst::Hint { op }));
    }
    for reg in [SysReg::Nzcv, SysReg::Fpcr, SysReg::Fpsr, SysReg::TpidrEl0] {
        for x in [0u8, 30, 17] {
            v.push(at(Inst::Mrs { rd: w(x), reg }));
            v.push(at(Inst::Msr { reg, rn: r(x) }));
        }
    }
}

fn neon_cases(v: &mut Vec<Spec>) {
    use VecALUOp::*;
    let alu = [
        Add, Sub, Mul, Sqadd, Uqadd, Sqsub, Uqsub, Smax, Umax, Smin, Umin, Srhadd, Urhadd, Cmeq, Cmge, Cmgt, Cmhi,
        Cmhs, Cmtst, Sshl, Ushl, Sqrdmulh, Sqdmulh, Addp, Smaxp, Umaxp, Sminp, Uminp, And, Bic, Orr, Orn, Eor, Fadd,
        Fsub, Fmul, Fdiv, Fmax, Fmin, Fmaxnm, Fminnm, Fcmeq, Fcmge, Fcmgt, Faddp, Zip1, Zip2, Uzp1, Uzp2, Trn1, Trn2,
    ];
    let vt = |k: usize| -> (u8, u8, u8) {
        let t = triples()[k % 34];
        (t.0 + (k % 2) as u8, t.1, t.2 + 1)
    };
    for (i, op) in alu.into_iter().enumerate() {
        for size in ALL_VEC {
            let regs: Vec<(u8, u8, u8)> = if op == Add { (0..34).map(vt).collect() } else { vec![vt(i), (31, 0, 31)] };
            for (d, n, m) in regs {
                v.push(at(Inst::VecRRR { op, size, rd: vw(d), rn: vr(n), rm: vr(m) }));
            }
        }
    }
    for op in [
        VecALUModOp::Bsl,
        VecALUModOp::Bit,
        VecALUModOp::Bif,
        VecALUModOp::Mla,
        VecALUModOp::Mls,
        VecALUModOp::Fmla,
        VecALUModOp::Fmls,
    ] {
        for size in ALL_VEC {
            for (d, n, m) in [(0u8, 1u8, 2u8), (31, 30, 29)] {
                v.push(at(Inst::VecRRRMod { op, size, rd: vw(d), ri: vr(d), rn: vr(n), rm: vr(m) }));
            }
        }
    }
    use VecRRRLongOp::*;
    for op in [Smull, Umull, Saddl, Uaddl, Ssubl, Usubl, Saddw, Uaddw, Ssubw, Usubw, Pmull] {
        for size in ALL_VEC {
            if op == Pmull && size.lane_size() != ScalarSize::Size8 {
                continue;
            }
            for (d, n, m) in [(0u8, 1u8, 2u8), (31, 30, 29)] {
                v.push(at(Inst::VecRRRLong { op, size, rd: vw(d), rn: vr(n), rm: vr(m) }));
            }
        }
    }
    for op in [VecRRRLongModOp::Smlal, VecRRRLongModOp::Umlal, VecRRRLongModOp::Smlsl, VecRRRLongModOp::Umlsl] {
        for size in ALL_VEC {
            for (d, n, m) in [(0u8, 1u8, 2u8), (31, 30, 29)] {
                v.push(at(Inst::VecRRRLongMod { op, size, rd: vw(d), ri: vr(d), rn: vr(n), rm: vr(m) }));
            }
        }
    }
    use VecMisc2::*;
    let misc = [
        Abs, Neg, Not, Cnt, Rbit, Rev16, Rev32, Rev64, Cls, Clz, Cmeq0, Cmge0, Cmgt0, Cmle0, Cmlt0, Saddlp, Uaddlp,
        Fabs, Fneg, Fsqrt, Frintn, Frintm, Frintp, Frintz, Frinta, Frintx, Frinti, Fcvtzs, Fcvtzu, Scvtf, Ucvtf,
        Fcmeq0, Fcmge0, Fcmgt0, Fcmle0, Fcmlt0, Frecpe, Frsqrte, Fcvtl, Shll,
    ];
    for op in misc {
        for size in ALL_VEC {
            for (d, n) in [(0u8, 1u8), (31, 30), (7, 7)] {
                v.push(at(Inst::VecMisc { op, size, rd: vw(d), rn: vr(n) }));
            }
        }
    }
    for op in [VecNarrowOp::Xtn, VecNarrowOp::Sqxtn, VecNarrowOp::Sqxtun, VecNarrowOp::Uqxtn, VecNarrowOp::Fcvtn] {
        for size in ALL_VEC {
            for (d, n) in [(0u8, 1u8), (31, 30)] {
                v.push(at(Inst::VecNarrowLow { op, size, rd: vw(d), rn: vr(n) }));
                v.push(at(Inst::VecNarrowHigh { op, size, rd: vw(d), ri: vr(d), rn: vr(n) }));
            }
        }
    }
    for op in [VecShiftImmOp::Shl, VecShiftImmOp::Sshr, VecShiftImmOp::Ushr] {
        for size in ALL_VEC {
            let bits = size.lane_size().bits() as u8;
            for imm in [0, 1, bits / 2, bits - 1, bits] {
                v.push(at(Inst::VecShiftImm { op, size, rd: vw(imm % 32), rn: vr(31 - imm % 32), imm }));
            }
        }
    }
    for op in [VecShiftImmModOp::Sli, VecShiftImmModOp::Sri] {
        for size in ALL_VEC {
            let bits = size.lane_size().bits() as u8;
            for imm in [0, 1, bits / 2, bits - 1, bits] {
                let d = imm % 32;
                v.push(at(Inst::VecShiftImmMod { op, size, rd: vw(d), ri: vr(d), rn: vr(31 - d), imm }));
            }
        }
    }
    for op in [VecExtendOp::Sshll, VecExtendOp::Ushll] {
        for size in ALL_VEC {
            let bits = size.lane_size().bits() as u8;
            for shift in [0, 1, bits - 1] {
                v.push(at(Inst::VecExtend { op, size, rd: vw(shift % 32), rn: vr(30), shift }));
            }
        }
    }
    for op in [
        VecLanesOp::Addv,
        VecLanesOp::Smaxv,
        VecLanesOp::Umaxv,
        VecLanesOp::Sminv,
        VecLanesOp::Uminv,
        VecLanesOp::Saddlv,
        VecLanesOp::Uaddlv,
        VecLanesOp::Addp,
    ] {
        for size in ALL_VEC {
            v.push(at(Inst::VecLanes { op, size, rd: vw(0), rn: vr(31) }));
            v.push(at(Inst::VecLanes { op, size, rd: vw(31), rn: vr(5) }));
        }
    }
    for size in ALL_VEC {
        for (d, n) in [(0u8, 1u8), (31, 30), (5, ZR)] {
            v.push(at(Inst::VecDup { size, rd: vw(d), rn: r(n) }));
        }
        for l in 0..size.lanes().max(2) as u8 {
            v.push(at(Inst::VecDupElem { size, rd: vw(l), rn: vr(31 - l), lane: l }));
        }
    }
    for size in [ScalarSize::Size8, ScalarSize::Size16, ScalarSize::Size32, ScalarSize::Size64] {
        let lanes = 16 >> size.log2_bytes();
        for l in 0..lanes as u8 {
            v.push(at(Inst::FpuMoveFromVec { size, rd: vw(l), rn: vr(31 - l), lane: l }));
            v.push(at(Inst::MovToVec { size, rd: vw(l), ri: vr(l), rn: r(30 - l), lane: l }));
            v.push(at(Inst::VecMovElement {
                size,
                rd: vw(31 - l),
                ri: vr(31 - l),
                rn: vr(l),
                dst_lane: l,
                src_lane: lanes as u8 - 1 - l,
            }));
            v.push(at(Inst::MovFromVec { size, rd: w(l), rn: vr(l + 3), lane: l }));
            for isize in SIZES {
                v.push(at(Inst::MovFromVecSigned { size, isize, rd: w(30 - l), rn: vr(l), lane: l }));
            }
        }
    }
    for q in [false, true] {
        for (d, n, m) in [(0u8, 1u8, 2u8), (31, 30, 29), (4, 4, 4)] {
            v.push(at(Inst::VecMov { q, rd: vw(d), rn: vr(n) }));
            for imm in [0u8, 1, 7, 8, 15] {
                v.push(at(Inst::VecExtract { q, rd: vw(d), rn: vr(n), rm: vr(m), imm }));
            }
        }
        for op in [TblOp::Tbl, TblOp::Tbx] {
            for len in 1..=4u8 {
                for first in [0u8, 28, 30, 31] {
                    let tables = [vr(first), vr((first + 1) % 32), vr((first + 2) % 32), vr((first + 3) % 32)];
                    v.push(at(Inst::VecTbl { op, q, len, rd: vw(5), ri: vr(5), tables, rm: vr(first ^ 1) }));
                }
            }
        }
    }
    // Vector immediates: every kind at its edges, movi/mvni, 64- and 128-bit.
    let mut pats: Vec<u64> = vec![0, u64::MAX, 0xff00_ff00_ff00_ff00, 0x00ff_0000_00ff_0000, 0x0012_ffff_0012_ffff];
    for imm8 in [0u64, 1, 0x80, 0xff, 0x5a] {
        for sh in [0, 8, 16, 24] {
            let w32 = imm8 << sh;
            pats.push(w32 | (w32 << 32));
            pats.push(!(w32 | (w32 << 32)));
        }
        let h = (imm8 << 8) * 0x0001_0001_0001_0001;
        pats.push(h);
        pats.push(!h);
        pats.push(imm8 * 0x0101_0101_0101_0101);
        for fp in [1.0f64, -2.5, 0.125, 31.0] {
            pats.push(fp.to_bits());
            let s = (fp as f32).to_bits() as u64;
            pats.push(s | (s << 32));
        }
    }
    for (k, p) in pats.into_iter().enumerate() {
        let Some((imm, _)) = AsimdModImm::maybe_from_u64(p) else { panic!("{p:#x} not a vector immediate") };
        assert_eq!(imm.expand64(), p);
        for q in [false, true] {
            v.push(at(Inst::VecMovImm { q, rd: vw((k % 32) as u8), imm }));
        }
    }
    for size in ALL_VEC {
        for (d, n) in [(0u8, 1u8), (31, SP), (7, 30)] {
            v.push(at(Inst::VecLoadReplicate { size, rd: vw(d), rn: r(n), trap: None }));
        }
    }
    for size in [ScalarSize::Size8, ScalarSize::Size16, ScalarSize::Size32, ScalarSize::Size64] {
        for l in 0..(16 >> size.log2_bytes()) as u8 {
            let n = [0u8, 30, SP][l as usize % 3];
            v.push(at(Inst::VecLoadLane { size, rd: vw(l), ri: vr(l), rn: r(n), lane: l, trap: None }));
            v.push(at(Inst::VecStoreLane { size, rt: vr(31 - l), rn: r(n), lane: l, trap: None }));
        }
    }
}

fn all_specs() -> Vec<Spec> {
    let mut v = Vec::new();
    integer_cases(&mut v);
    memory_cases(&mut v);
    branch_cases(&mut v);
    fp_cases(&mut v);
    atomic_cases(&mut v);
    misc_cases(&mut v);
    neon_cases(&mut v);
    v
}

/// Build the cases; specs the encoder rejects as invalid operand combinations are
/// returned separately (their number is reported).
fn build_cases() -> (Vec<Case>, Vec<String>) {
    let info = info();
    let mut cases = Vec::new();
    let mut rejected = Vec::new();
    for spec in all_specs() {
        match emit_at(&spec.inst, spec.label_off, &info) {
            Ok((bytes, at, out)) => {
                let text = print_inst(&spec.inst);
                let reloc = !out.relocs.is_empty();
                let mask = if matches!(spec.inst, Inst::Adrp { .. }) { 0x60ff_ffe0 } else { 0 };
                cases.push(Case { inst: spec.inst, text, bytes, at, label_off: spec.label_off, mask, loose: reloc });
            }
            Err(e) => rejected.push(format!("{:?}: {e}", spec.inst)),
        }
    }
    (cases, rejected)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ")
}

fn words(b: &[u8]) -> Vec<u32> {
    b.chunks(4).map(|c| u32::from_le_bytes(c.try_into().unwrap_or([0; 4]))).collect()
}

/// Assemble every case with GNU as; returns per-case bytes. The label of case `i` is the
/// symbol `.Ll<i>`, set `label_off` bytes from the case's start.
fn assemble(cases: &[Case]) -> Result<Vec<Vec<u8>>, String> {
    let gas = common::Gas {
        as_cmd: &["aarch64-linux-gnu-as"],
        objcopy: "aarch64-linux-gnu-objcopy",
        header: ".arch armv8.5-a+fp16+lse",
        tag: "a64enc",
    };
    let snippets: Vec<String> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let text = c.text.replace("label0", &format!(".Ll{i}")).replace("; ", "\n");
            format!("{text}\n.set .Ll{i}, .Ls{i} + {}", c.label_off)
        })
        .collect();
    gas.assemble(&snippets)
}

// ---------------------------------------------------------------------------------------
// Capstone comparison.

/// Rewrite a text into the form capstone prints, where capstone lacks an alias or a newer
/// instruction that GNU as knows (BTI is printed as its hint number; `sxtl`/`uxtl` as
/// `sshll`/`ushll` with shift 0).
fn to_capstone_form(text: &str) -> String {
    let (m, rest) = text.split_once(' ').unwrap_or((text, ""));
    match (m, rest) {
        ("bti", "c") => "hint #34".to_string(),
        ("bti", "j") => "hint #36".to_string(),
        ("bti", "jc") => "hint #38".to_string(),
        ("sxtl" | "sxtl2" | "uxtl" | "uxtl2", _) => {
            let m2 = m.replacen("xtl", "shll", 1);
            format!("{m2} {rest}, #0")
        }
        // orr with the zero register: capstone prints `mov` (bitmask immediate).
        ("orr", _) if (rest.contains(", xzr, #") || rest.contains(", wzr, #")) => {
            let ops: Vec<&str> = rest.split(", ").collect();
            format!("mov {}, {}", ops[0], ops[2])
        }
        _ => text.to_string(),
    }
}

/// Does my instruction text match capstone's (in either my spelling or the capstone form)?
fn insn_match(mine: &str, theirs: &str, loose: bool) -> bool {
    same_insn(mine, theirs, loose) || same_insn(&to_capstone_form(mine), theirs, loose)
}

fn same_insn(mine: &str, theirs: &str, loose: bool) -> bool {
    let (m1, r1) = mine.split_once(' ').unwrap_or((mine, ""));
    let (m2, r2) = theirs.split_once(' ').unwrap_or((theirs, ""));
    if m1 != m2 {
        return false;
    }
    if loose {
        return true;
    }
    common::operands_match(r1, r2)
}

const CS_BASE: u64 = 0x10_0000;

fn capstone_check(cases: &[Case]) -> Vec<String> {
    let cs = Capstone::new().arm64().mode(arch::arm64::ArchMode::Arm).build().expect("capstone");
    let mut failures = Vec::new();
    for c in cases {
        let base = CS_BASE + c.at as u64;
        // Capstone does not decode `udf` (permanently undefined); GNU as checked it.
        if c.text.starts_with("udf ") {
            continue;
        }
        let insns = match cs.disasm_all(&c.bytes, base) {
            Ok(i) => i,
            Err(e) => {
                failures.push(format!("{}: capstone error {e}", c.text));
                continue;
            }
        };
        let theirs: Vec<String> = insns
            .iter()
            .map(|i| format!("{} {}", i.mnemonic().unwrap_or(""), i.op_str().unwrap_or("")).trim().to_string())
            .collect();
        let total: usize = insns.iter().map(|i| i.bytes().len()).sum();
        let target = format!("#0x{:x}", (base as i64 + c.label_off) as u64);
        let page = format!("#0x{:x}", ((base as i64 + c.label_off) as u64) & !0xfff);
        let text = if c.text.starts_with("adrp") {
            c.text.replace("label0", &page)
        } else {
            c.text.replace("label0", &target)
        };
        let mine: Vec<&str> = text.split("; ").collect();
        let ok = total == c.bytes.len()
            && mine.len() == theirs.len()
            && mine.iter().zip(&theirs).all(|(a, b)| insn_match(a, b, c.loose));
        if !ok {
            failures.push(format!("{:<50} [{}]  capstone: {}", c.text, hex(&c.bytes), theirs.join("; ")));
        }
    }
    failures
}

#[test]
fn encodings_match_gnu_as_and_capstone() {
    let (cases, rejected) = build_cases();
    let n = cases.len();
    let skip_as = std::env::var("KILN_SKIP_AS").map(|v| v == "1").unwrap_or(false);
    let mut failures = Vec::new();
    if !skip_as {
        let gas = assemble(&cases).unwrap_or_else(|e| panic!("{e}"));
        for (c, b) in cases.iter().zip(&gas) {
            let (mine, theirs) = (words(&c.bytes), words(b));
            let same = mine.len() == theirs.len() && mine.iter().zip(&theirs).all(|(a, b)| a & !c.mask == b & !c.mask);
            if !same {
                failures.push(format!(
                    "as mismatch: {:<50} as: [{}]  kiln: [{}]  ({:?})",
                    c.text,
                    hex(b),
                    hex(&c.bytes),
                    c.inst
                ));
            }
        }
    }
    let cs_fail = capstone_check(&cases);
    let ncs = cs_fail.len();
    failures.extend(cs_fail.into_iter().map(|f| format!("capstone mismatch: {f}")));
    // Forms: each Inst variant with its operation (`AluRRR Add`), and the variants alone.
    let form = |i: &Inst| {
        let d = format!("{i:?}");
        let variant: String = d.chars().take_while(|c| c.is_alphanumeric()).collect();
        let op = d.split("op: ").nth(1).map(|r| r.chars().take_while(|c| c.is_alphanumeric()).collect::<String>());
        (variant, op.unwrap_or_default())
    };
    let forms: std::collections::HashSet<(String, String)> = cases.iter().map(|c| form(&c.inst)).collect();
    let variants: std::collections::HashSet<&String> = forms.iter().map(|(v, _)| v).collect();
    let mnemonics: std::collections::HashSet<&str> =
        cases.iter().map(|c| c.text.split(' ').next().unwrap_or("")).collect();
    eprintln!(
        "aarch64 encoding: {n} instruction instances of {} forms ({} Inst variants, {} mnemonics) checked against \
         {}capstone; {} failures ({ncs} capstone); {} invalid combinations rejected by the encoder",
        forms.len(),
        variants.len(),
        mnemonics.len(),
        if skip_as { "" } else { "GNU as and " },
        failures.len(),
        rejected.len()
    );
    if std::env::var("KILN_SHOW_REJECTED").is_ok() {
        for r in &rejected {
            eprintln!("rejected: {r}");
        }
    }
    common::report_failures(&failures, 24, 120);
}

/// `AMode::Stack` resolves to an sp-relative offset, through x16 when it does not fit.
#[test]
fn stack_amodes_resolve_against_the_frame() {
    let info = info();
    let frame = FrameLayout {
        incoming_args_size: 32,
        setup_area_size: 16,
        clobber_size: 16,
        fixed_frame_storage_size: 48,
        stack_slots_size: 16,
        outgoing_args_size: 32,
        callee_saves: vec![],
        has_frame: true,
        stack_bytes_to_pop: 0,
        stack_limit: None,
    };
    let emit = |i: &Inst, state: &mut EmitState| {
        let mut buf = MachBuffer::new(info.clone());
        i.emit(&mut buf, &info, state).unwrap();
        let mut out = FinishedCode::default();
        buf.finish(&mut out).unwrap();
        out.bytes
    };
    for (mode, off) in [
        (StackAMode::Slot(8), 32 + 8),
        (StackAMode::OutgoingArg(0), 0),
        (StackAMode::OutgoingArg(24), 24),
        (StackAMode::IncomingArg(8), 16 + 48 + 32 + 16 + 8),
    ] {
        let a = Inst::Load { op: LoadOp::LdrX, rd: w(1), mem: AMode::Stack(mode), trap: None };
        let b = Inst::Load {
            op: LoadOp::LdrX,
            rd: w(1),
            mem: AMode::reg_offset(stack_reg(), off, ScalarSize::Size64).unwrap(),
            trap: None,
        };
        let mut state = EmitState { frame: frame.clone(), ..Default::default() };
        assert_eq!(emit(&a, &mut state), emit(&b, &mut EmitState::default()), "{mode:?}");
    }
    // Beyond the immediate forms: movz/movk into x16, then a register offset.
    let far =
        Inst::Store { op: StoreOp::StrQ, rt: vr(3), mem: AMode::Stack(StackAMode::OutgoingArg(0x12_3450)), trap: None };
    let bytes = emit(&far, &mut EmitState { frame: frame.clone(), ..Default::default() });
    let ws = words(&bytes);
    assert_eq!(ws.len(), 3);
    assert_eq!(ws[2], 0x3cb0_6be3, "str q3, [sp, x16]");
}

/// Trap records are at the faulting instruction; `TrapIf` branches to an out-of-line `udf`.
#[test]
fn trap_sites_and_deferred_traps() {
    let info = info();
    let mut buf = MachBuffer::new(info.clone());
    let mut state = EmitState::default();
    let m = AMode::UnsignedOffset { rn: r(2), off: 8 };
    Inst::Hint { op: HintOp::Nop }.emit(&mut buf, &info, &mut state).unwrap();
    Inst::Load { op: LoadOp::LdrW, rd: w(0), mem: m, trap: Some(TrapCode::HEAP_OUT_OF_BOUNDS) }
        .emit(&mut buf, &info, &mut state)
        .unwrap();
    Inst::TrapIf { kind: CondBrKind::Cond(Cond::Hs), code: TrapCode::INTEGER_OVERFLOW }
        .emit(&mut buf, &info, &mut state)
        .unwrap();
    Inst::TrapIf { kind: CondBrKind::Zero(r(5), OperandSize::Size64), code: TrapCode::INTEGER_DIVISION_BY_ZERO }
        .emit(&mut buf, &info, &mut state)
        .unwrap();
    Inst::Ret.emit(&mut buf, &info, &mut state).unwrap();
    let mut out = FinishedCode::default();
    buf.finish(&mut out).unwrap();
    let ws = words(&out.bytes);
    assert_eq!(out.traps[0].offset, 4);
    assert_eq!(out.traps[0].code, TrapCode::HEAP_OUT_OF_BOUNDS);
    // b.hs to the first stub (at 20), cbz to the second (at 24); the stubs are udf #0.
    assert_eq!(ws[2], 0x5400_0000 | ((20 - 8) / 4) << 5 | Cond::Hs as u32);
    assert_eq!(ws[3], 0xb400_0005 | ((24 - 12) / 4) << 5);
    assert_eq!(&ws[5..7], &[0, 0]);
    let stub_codes: Vec<(u32, TrapCode)> = out.traps[1..].iter().map(|t| (t.offset, t.code)).collect();
    assert_eq!(stub_codes, vec![(20, TrapCode::INTEGER_OVERFLOW), (24, TrapCode::INTEGER_DIVISION_BY_ZERO)]);
}

/// Operands the hardware cannot encode are errors, not truncated fields.
#[test]
fn invalid_operands_are_errors() {
    let info = info();
    let bad = [
        Inst::Load { op: LoadOp::LdrX, rd: w(0), mem: AMode::UnsignedOffset { rn: r(1), off: 4 }, trap: None },
        Inst::Load { op: LoadOp::LdrX, rd: w(0), mem: AMode::Unscaled { rn: r(1), off: 256 }, trap: None },
        Inst::Load { op: LoadOp::Ldrb, rd: w(0), mem: AMode::Label { label: MachLabel(0) }, trap: None },
        Inst::AluRRRShift {
            op: ALUOp::Add,
            size: OperandSize::Size32,
            rd: w(0),
            rn: r(1),
            rm: r(2),
            shift: ShiftOp::Lsl,
            amt: 32,
        },
        Inst::AluRRRShift {
            op: ALUOp::Add,
            size: OperandSize::Size64,
            rd: w(0),
            rn: r(1),
            rm: r(2),
            shift: ShiftOp::Ror,
            amt: 1,
        },
        Inst::AluRRR { op: ALUOp::Add, size: OperandSize::Size64, rd: w(SP), rn: r(1), rm: r(2) },
        Inst::AluRRImm12 { op: ALUOp::Add, size: OperandSize::Size64, rd: w(ZR), rn: r(1), imm12: Imm12::ZERO },
        Inst::VecRRR { op: VecALUOp::Mul, size: VectorSize::Size64x2, rd: vw(0), rn: vr(1), rm: vr(2) },
        Inst::VecDupElem { size: VectorSize::Size32x4, rd: vw(0), rn: vr(1), lane: 4 },
        Inst::VecShiftImm { op: VecShiftImmOp::Shl, size: VectorSize::Size8x16, rd: vw(0), rn: vr(1), imm: 8 },
        Inst::MovK { size: OperandSize::Size64, rd: w(0), ri: r(1), imm: MoveWideConst { bits: 1, hw: 0 } },
        Inst::StorePair {
            op: PairOp::X,
            rt: r(0),
            rt2: r(1),
            mem: PairAMode::SignedOffset { rn: r(2), off: 4 },
            trap: None,
        },
        Inst::AluRRR { op: ALUOp::Add, size: OperandSize::Size64, rd: w(0), rn: vr(1), rm: r(2) },
    ];
    for i in bad {
        let mut buf = MachBuffer::new(info.clone());
        assert!(i.emit(&mut buf, &info, &mut EmitState::default()).is_err(), "{i:?} accepted");
    }
    let _ = zero_reg();
}

/// Instructions of an extension the target line does not enable are `unsupported` errors.
#[test]
fn extensions_are_checked() {
    let plain = EmitInfo::new(Flags::new(), IsaFlags::new(Arch::Aarch64));
    let h = ScalarSize::Size16;
    let needs = [
        Inst::FpuRRR { op: FpuOp2::Add, size: h, rd: vw(0), rn: vr(1), rm: vr(2) },
        Inst::FpuMoveImm { size: h, rd: vw(0), imm: FpImm8(0x70) },
        Inst::MovToFpu { size: h, isize: OperandSize::Size32, rd: vw(0), rn: r(1) },
        Inst::AtomicRmw {
            op: AtomicRmwOp::Add,
            order: Ordering::ACQ_REL,
            size: ScalarSize::Size64,
            rs: r(1),
            rt: w(2),
            rn: r(3),
            trap: None,
        },
        Inst::Cas {
            order: Ordering::RELAXED,
            size: ScalarSize::Size32,
            rd: w(1),
            ri: r(1),
            rt: r(2),
            rn: r(3),
            trap: None,
        },
        Inst::RetAuth { key: PacKey::A },
    ];
    for i in needs {
        let mut buf = MachBuffer::new(plain.clone());
        match i.emit(&mut buf, &plain, &mut EmitState::default()) {
            Err(kiln_codegen::CodegenError::Unsupported(m)) => assert!(m.contains("without has_"), "{m}"),
            other => panic!("{i:?}: {other:?}"),
        }
        let mut buf = MachBuffer::new(info());
        assert!(i.emit(&mut buf, &info(), &mut EmitState::default()).is_ok(), "{i:?}");
    }
    // Base FP: fcvt to half precision and h loads need no extension.
    let base = [
        Inst::FpuCvt { from: ScalarSize::Size64, to: h, rd: vw(0), rn: vr(1) },
        Inst::Load { op: LoadOp::LdrH, rd: vw(0), mem: AMode::UnsignedOffset { rn: r(1), off: 2 }, trap: None },
    ];
    for i in base {
        let mut buf = MachBuffer::new(plain.clone());
        assert!(i.emit(&mut buf, &plain, &mut EmitState::default()).is_ok(), "{i:?}");
    }
}

/// `get_operands` visits every register field: renaming the registers it visits (x0–x29
/// rotated by 2, v0–v31 by 4, which keeps even/odd pairs and consecutive tables) renames
/// every register in the printed text. Reuse constraints point at a use of the same class
/// holding the same register.
#[test]
fn operands_cover_every_register_field() {
    use kiln_codegen::machinst::{MachInst, OperandVisitor};
    use regalloc2::{OperandConstraint, OperandKind, OperandPos, RegClass};

    struct Rename;
    impl OperandVisitor for Rename {
        fn add_operand(&mut self, reg: &mut Reg, _: OperandConstraint, _: OperandKind, _: OperandPos) {
            if let Some(p) = reg.to_real() {
                let n = p.hw_enc() as u8;
                *reg = match p.class() {
                    RegClass::Int if n < 30 => xreg((n + 2) % 30),
                    RegClass::Float => vreg((n + 4) % 32),
                    _ => *reg,
                };
            }
        }
    }
    struct Record(Vec<(Reg, OperandConstraint, OperandKind)>);
    impl OperandVisitor for Record {
        fn add_operand(&mut self, reg: &mut Reg, c: OperandConstraint, k: OperandKind, _: OperandPos) {
            self.0.push((*reg, c, k));
        }
    }
    // The renaming applied to the printed text.
    let rename_word = |w: &str| -> String {
        let mut chars = w.chars();
        let Some(c0) = chars.next() else { return w.to_string() };
        let rest: String = chars.collect();
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if !"xwvbhsdq".contains(c0) || digits.is_empty() {
            return w.to_string();
        }
        let n: u8 = digits.parse().unwrap();
        let m = if c0 == 'x' || c0 == 'w' { if n < 30 { (n + 2) % 30 } else { n } } else { (n + 4) % 32 };
        format!("{c0}{m}{}", &rest[digits.len()..])
    };
    let rename_text = |t: &str| -> String {
        let mut out = String::new();
        let mut word = String::new();
        for ch in t.chars().chain(std::iter::once(' ')) {
            if ch.is_ascii_alphanumeric() || ch == '_' || ch == '.' {
                word.push(ch);
            } else {
                out.push_str(&rename_word(&word));
                word.clear();
                out.push(ch);
            }
        }
        out.pop();
        out
    };
    let (cases, _) = build_cases();
    let mut bad = Vec::new();
    for c in &cases {
        let mut rec = Record(Vec::new());
        let mut i = c.inst.clone();
        i.get_operands(&mut rec);
        for (k, (reg, con, kind)) in rec.0.iter().enumerate() {
            if let OperandConstraint::Reuse(u) = con {
                let ok = *kind == OperandKind::Def
                    && rec
                        .0
                        .get(*u)
                        .is_some_and(|(r2, _, k2)| *k2 == OperandKind::Use && r2.class() == reg.class() && r2 == reg);
                if !ok {
                    bad.push(format!("{}: operand {k} reuses {u}: {:?}", c.text, rec.0));
                }
            }
        }
        let mut renamed = c.inst.clone();
        renamed.get_operands(&mut Rename);
        let want = rename_text(&c.text);
        let got = print_inst(&renamed);
        if got != want {
            bad.push(format!("{}: renamed {got}, expected {want}", c.text));
        }
    }
    assert!(bad.is_empty(), "{} problems:\n{}", bad.len(), bad.iter().take(40).cloned().collect::<Vec<_>>().join("\n"));
}

//! Encoder/printer agreement for every x86-64 instruction form the emitter produces.
//!
//! Each case is one `Inst` with physical registers. Its printed AT&T text is assembled by
//! GNU `as --64` (all cases in one file, with a table of per-instruction lengths computed
//! by the assembler itself), and the bytes must equal what `emit.rs` produces. The same
//! bytes are disassembled by capstone (AT&T syntax) and must read back as the printed
//! instruction (after normalizing harmless formatting differences).
//!
//! Without `as` the test fails with a clear message unless `KILN_SKIP_AS=1` is set (then
//! only the capstone half runs).

mod common;

use kiln_codegen::machinst::abi::{FrameLayout, StackAMode, StackLimit, StackLimitBase, StackLimitStep};
use kiln_codegen::machinst::buffer::{FinishedCode, MachBuffer, Reloc, RelocTarget};
use kiln_codegen::machinst::vcode::MachInstEmit;
use kiln_codegen::machinst::{MachLabel, Reg, Writable};
use kiln_ir::settings::{Arch, Flags, IsaFlags};
use kiln_ir::trapcode::TrapCode;
use kiln_isa::x64::abi::callee_save_layout;
use kiln_isa::x64::emit::{EmitInfo, EmitState, Sink};
use kiln_isa::x64::inst::*;
use kiln_isa::x64::print::print_inst;
use kiln_isa::x64::regs::{gpr, xmm};
use smallvec::smallvec;

fn g(i: u8) -> Reg {
    gpr(i)
}
fn gw(i: u8) -> Writable<Reg> {
    Writable::from_reg(gpr(i))
}
fn xr(i: u8) -> Reg {
    xmm(i)
}
fn xw(i: u8) -> Writable<Reg> {
    Writable::from_reg(xmm(i))
}

const SIZES: [OperandSize; 4] = [OperandSize::S8, OperandSize::S16, OperandSize::S32, OperandSize::S64];
const SIZES16: [OperandSize; 3] = [OperandSize::S16, OperandSize::S32, OperandSize::S64];
const IMMS: [i32; 16] =
    [0, 1, -1, 127, 128, -128, -129, 255, 256, 32767, 32768, -32768, -32769, i32::MAX, i32::MIN, 0x1234_5678];
const ALL_CC: [CC; 16] = [
    CC::O,
    CC::NO,
    CC::B,
    CC::NB,
    CC::Z,
    CC::NZ,
    CC::BE,
    CC::NBE,
    CC::S,
    CC::NS,
    CC::P,
    CC::NP,
    CC::L,
    CC::NL,
    CC::LE,
    CC::NLE,
];

/// Register pairs covering every register in both positions (and equal pairs).
fn reg_pairs() -> Vec<(u8, u8)> {
    let mut v: Vec<(u8, u8)> = (0..16).map(|i| (i, (i * 5 + 3) % 16)).collect();
    v.extend((0..16).map(|i| (i, i)));
    v
}

/// Every addressing-mode shape: each base with displacements 0 / 8-bit / 32-bit boundaries,
/// each base with each index and scale, and RIP-relative.
fn amodes_full() -> Vec<Amode> {
    let mut v = Vec::new();
    for base in 0..16 {
        for disp in [0, 1, -1, 127, -128, 128, -129, 0x7fff_ffff, i32::MIN] {
            v.push(Amode::ImmReg { disp, base: g(base) });
        }
        for index in (0..16).filter(|&i| i != 4) {
            let shift = (base + index) % 4;
            for disp in [0, 16, 4096] {
                v.push(Amode::ImmRegRegShift { disp, base: g(base), index: g(index), shift });
            }
        }
    }
    v.push(Amode::RipRelative { label: MachLabel(0) });
    v
}

/// A smaller set with every special shape: rsp/r12 (SIB), rbp/r13 (displacement), r8+
/// bases and indexes, each scale, disp 0/8/32, RIP-relative.
fn amodes_small() -> Vec<Amode> {
    let mut v = Vec::new();
    for base in [0u8, 3, 4, 5, 8, 12, 13, 15] {
        for disp in [0, -8, 1024] {
            v.push(Amode::ImmReg { disp, base: g(base) });
        }
    }
    for (k, (base, index)) in
        [(0u8, 1u8), (4, 5), (5, 13), (12, 12), (13, 0), (9, 10), (7, 15), (15, 8)].iter().enumerate()
    {
        v.push(Amode::ImmRegRegShift {
            disp: [0, 8, -300, 77][k % 4],
            base: g(*base),
            index: g(*index),
            shift: (k % 4) as u8,
        });
    }
    v.push(Amode::RipRelative { label: MachLabel(0) });
    v
}

fn mem(a: Amode) -> Mem {
    Mem::new(a, None)
}

struct Case {
    inst: Inst,
    text: String,
    bytes: Vec<u8>,
    /// Contains a symbol or label whose value capstone prints differently.
    loose: bool,
}

fn info() -> EmitInfo {
    EmitInfo::new(Flags::new(), IsaFlags::new(Arch::X86_64))
}

fn emit(inst: &Inst, info: &EmitInfo) -> FinishedCode {
    let mut buf = MachBuffer::new(info.clone());
    buf.reserve_labels(1);
    buf.bind_label(MachLabel(0));
    let mut state = EmitState::default();
    inst.emit(&mut buf, info, &mut state).unwrap();
    let mut out = FinishedCode::default();
    buf.finish(&mut out).expect("finish");
    out.bytes.truncate(out.code_size as usize);
    out
}

fn all_cases() -> Vec<Inst> {
    use OperandSize::*;
    let mut v: Vec<Inst> = Vec::new();
    let pairs = reg_pairs();
    let small = amodes_small();
    let full = amodes_full();

    for len in 1..=12 {
        v.push(Inst::Nop { len });
    }
    // ALU.
    for op in [AluOp::Add, AluOp::Adc, AluOp::Sub, AluOp::Sbb, AluOp::And, AluOp::Or, AluOp::Xor] {
        for size in SIZES {
            let regs: Vec<(u8, u8)> = if op == AluOp::Add {
                (0..16).flat_map(|a| (0..16).map(move |b| (a, b))).collect()
            } else {
                pairs.clone()
            };
            for &(a, b) in &regs {
                v.push(Inst::AluRmiR { size, op, src1: g(a), src2: RegMemImm::Reg(g(b)), dst: gw(a) });
            }
            for (k, a) in small.iter().enumerate() {
                let d = (k % 16) as u8;
                v.push(Inst::AluRmiR { size, op, src1: g(d), src2: RegMemImm::Mem(mem(*a)), dst: gw(d) });
                v.push(Inst::AluRM { size, op, src: g(15 - d), mem: mem(*a) });
                for imm in [1, -1, 127, -128, 128, 300, -70000, i32::MIN] {
                    v.push(Inst::AluMI { size, op, imm, mem: mem(*a) });
                }
            }
            for d in [0u8, 1, 4, 5, 6, 7, 8, 12, 15] {
                for imm in IMMS {
                    v.push(Inst::AluRmiR { size, op, src1: g(d), src2: RegMemImm::Imm(imm), dst: gw(d) });
                }
            }
        }
    }
    for size in [S32, S64] {
        for &(a, b) in &pairs {
            let c = (a + 7) % 16;
            v.push(Inst::AluRmiR { size, op: AluOp::Andn, src1: g(a), src2: RegMemImm::Reg(g(b)), dst: gw(c) });
        }
        for (k, a) in small.iter().enumerate() {
            let d = (k % 16) as u8;
            v.push(Inst::AluRmiR { size, op: AluOp::Andn, src1: g(15 - d), src2: RegMemImm::Mem(mem(*a)), dst: gw(d) });
        }
    }
    // Compare and test.
    for op in [CmpOp::Cmp, CmpOp::Test] {
        for size in SIZES {
            for &(a, b) in &pairs {
                v.push(Inst::CmpRmiR { size, op, src1: g(a), src2: RegMemImm::Reg(g(b)) });
            }
            for (k, a) in small.iter().enumerate() {
                v.push(Inst::CmpRmiR { size, op, src1: g((k % 16) as u8), src2: RegMemImm::Mem(mem(*a)) });
            }
            for d in [0u8, 1, 4, 6, 9, 13] {
                for imm in IMMS {
                    v.push(Inst::CmpRmiR { size, op, src1: g(d), src2: RegMemImm::Imm(imm) });
                }
            }
        }
    }
    // Bit counting.
    for op in [UnaryOp::Bsr, UnaryOp::Bsf, UnaryOp::Lzcnt, UnaryOp::Tzcnt, UnaryOp::Popcnt] {
        for size in SIZES16 {
            for &(a, b) in &pairs {
                v.push(Inst::UnaryRmR { size, op, src: RegMem::Reg(g(b)), dst: gw(a) });
            }
            for (k, a) in small.iter().enumerate() {
                v.push(Inst::UnaryRmR { size, op, src: RegMem::Mem(mem(*a)), dst: gw((k % 16) as u8) });
            }
        }
    }
    for op in [Unary2Op::Not, Unary2Op::Neg] {
        for size in SIZES {
            for d in 0..16 {
                v.push(Inst::Unary2 { size, op, src: g(d), dst: gw(d) });
            }
        }
    }
    for kind in [ShiftKind::Shl, ShiftKind::Shr, ShiftKind::Sar, ShiftKind::Rol, ShiftKind::Ror] {
        for size in SIZES {
            for d in 0..16 {
                for amount in [
                    ShiftAmount::Imm(1),
                    ShiftAmount::Imm(0),
                    ShiftAmount::Imm(5),
                    ShiftAmount::Imm(63),
                    ShiftAmount::Cl(g(1)),
                ] {
                    v.push(Inst::ShiftR { size, kind, src: g(d), amount, dst: gw(d) });
                }
            }
        }
    }
    for size in SIZES16 {
        for &(a, b) in &pairs {
            v.push(Inst::IMul { size, src1: g(a), src2: RegMem::Reg(g(b)), dst: gw(a) });
            for imm in [1, -128, 127, 128, 1000, -70000] {
                v.push(Inst::IMulImm { size, src: RegMem::Reg(g(b)), imm, dst: gw(a) });
            }
        }
        for (k, a) in small.iter().enumerate() {
            let d = (k % 16) as u8;
            v.push(Inst::IMul { size, src1: g(d), src2: RegMem::Mem(mem(*a)), dst: gw(d) });
            v.push(Inst::IMulImm { size, src: RegMem::Mem(mem(*a)), imm: 5, dst: gw(d) });
            v.push(Inst::IMulImm { size, src: RegMem::Mem(mem(*a)), imm: 300, dst: gw(d) });
        }
        for signed in [false, true] {
            for d in 0..16 {
                v.push(Inst::MulHi { size, signed, src1: g(0), src2: RegMem::Reg(g(d)), dst_lo: gw(0), dst_hi: gw(2) });
            }
            for a in &small {
                v.push(Inst::MulHi {
                    size,
                    signed,
                    src1: g(0),
                    src2: RegMem::Mem(mem(*a)),
                    dst_lo: gw(0),
                    dst_hi: gw(2),
                });
            }
        }
    }
    for size in SIZES {
        for signed in [false, true] {
            for d in 0..16 {
                v.push(Inst::Div {
                    size,
                    signed,
                    dividend_lo: g(0),
                    dividend_hi: g(2),
                    divisor: g(d),
                    dst_quotient: gw(0),
                    dst_remainder: gw(2),
                    trap: TrapCode::INTEGER_DIVISION_BY_ZERO,
                });
            }
        }
        v.push(Inst::SignExtendData { size, src: g(0), dst: gw(2) });
    }
    // Moves.
    for size in SIZES {
        for a in 0..16 {
            for b in 0..16 {
                v.push(Inst::MovRR { size, src: g(a), dst: gw(b) });
            }
        }
    }
    let imm64s: [u64; 14] = [
        0,
        1,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        0x1_0000_0000,
        0xffff_ffff_8000_0000,
        0xffff_ffff_7fff_ffff,
        0xffff_ffff_ffff_ffff,
        0x8000_0000_0000_0000,
        0x7fff_ffff_ffff_ffff,
        0x1234_5678_9abc_def0,
        0xffff_ffff_ffff_ff80,
        42,
    ];
    for d in 0..16 {
        for imm in imm64s {
            v.push(Inst::Imm { size: S64, imm, dst: gw(d) });
            v.push(Inst::Imm { size: S32, imm: imm & 0xffff_ffff, dst: gw(d) });
        }
        v.push(Inst::ZeroReg { dst: gw(d) });
        v.push(Inst::Bswap { size: S32, src: g(d), dst: gw(d) });
        v.push(Inst::Bswap { size: S64, src: g(d), dst: gw(d) });
        for cc in ALL_CC {
            v.push(Inst::Setcc { cc, dst: gw(d) });
        }
        v.push(Inst::LoadReturnAddress { dst: gw(d) });
        v.push(Inst::MovFromPReg { src: kiln_isa::x64::regs::gpr_preg(4), dst: gw(d) });
        v.push(Inst::MovToPReg { src: g(d), dst: kiln_isa::x64::regs::gpr_preg(15) });
        v.push(Inst::LoadLabelAddr { dst: gw(d), label: MachLabel(0) });
    }
    for ext in [ExtMode::BL, ExtMode::BQ, ExtMode::WL, ExtMode::WQ, ExtMode::LQ] {
        for a in 0..16 {
            for b in [0u8, 4, 5, 6, 7, 8, 15] {
                v.push(Inst::MovzxRmR { ext, src: RegMem::Reg(g(a)), dst: gw(b) });
                v.push(Inst::MovsxRmR { ext, src: RegMem::Reg(g(a)), dst: gw(b) });
                v.push(Inst::MovsxRmR { ext, src: RegMem::Reg(g(b)), dst: gw(a) });
            }
        }
        for (k, a) in small.iter().enumerate() {
            v.push(Inst::MovzxRmR { ext, src: RegMem::Mem(mem(*a)), dst: gw((k % 16) as u8) });
            v.push(Inst::MovsxRmR { ext, src: RegMem::Mem(mem(*a)), dst: gw((k % 16) as u8) });
        }
    }
    for (k, a) in full.iter().enumerate() {
        let d = (k % 16) as u8;
        v.push(Inst::Load { size: S64, mem: mem(*a), dst: gw(d) });
        v.push(Inst::Store { size: S8, src: g(15 - d), mem: mem(*a) });
        v.push(Inst::Lea { size: S64, mem: *a, dst: gw(d) });
        v.push(Inst::XmmLoad { op: XmmMovOp::Movsd, mem: mem(*a), dst: xw(15 - d), vex: false });
    }
    for size in SIZES {
        for (k, a) in small.iter().enumerate() {
            for d in [(k % 16) as u8, 4, 5, 6, 7] {
                v.push(Inst::Load { size, mem: mem(*a), dst: gw(d) });
                v.push(Inst::Store { size, src: g(d), mem: mem(*a) });
                v.push(Inst::LockCmpxchg { size, replacement: g(d), expected: g(0), mem: mem(*a), dst_old: gw(0) });
                v.push(Inst::LockXadd { size, operand: g(d), mem: mem(*a), dst_old: gw(d) });
                v.push(Inst::Xchg { size, operand: g(d), mem: mem(*a), dst_old: gw(d) });
            }
            for imm in [0, 1, -1, 127, 300, -70000, i32::MIN] {
                v.push(Inst::StoreImm { size, imm, mem: mem(*a) });
            }
        }
    }
    for a in &small {
        v.push(Inst::Lea { size: S32, mem: *a, dst: gw(3) });
        v.push(Inst::LockCmpxchg16b {
            replacement_lo: g(3),
            replacement_hi: g(1),
            expected_lo: g(0),
            expected_hi: g(2),
            mem: mem(*a),
            dst_old_lo: gw(0),
            dst_old_hi: gw(2),
        });
    }
    for cc in ALL_CC {
        for size in SIZES16 {
            for &(a, b) in &pairs {
                v.push(Inst::Cmove { size, cc, consequent: RegMem::Reg(g(b)), alternative: g(a), dst: gw(a) });
            }
            v.push(Inst::Cmove { size, cc, consequent: RegMem::Mem(mem(small[4])), alternative: g(9), dst: gw(9) });
        }
    }
    for reach in [Reach::Near, Reach::Indirect, Reach::Absolute] {
        for (k, offset) in [0i64, 8, -16, 100000].into_iter().cycle().take(16).enumerate() {
            v.push(Inst::LoadExtName {
                dst: gw(k as u8),
                name: RelocTarget::User { namespace: 0, index: 3 },
                offset,
                reach,
            });
        }
    }
    // XMM: every SSE/AVX operation in the shape of its instruction form, legacy and VEX.
    for &op in SseOp::ALL {
        let vexes: &[bool] = if op.vex_only() { &[true] } else { &[false, true] };
        for &vex in vexes {
            let imm = if op.is_compare() { 5 } else { 0x1b };
            for &(a, b) in &pairs {
                let c = if vex { (a + b) % 16 } else { a };
                let src2 = RegMem::Reg(xr(b));
                match op.kind() {
                    SseKind::Binary | SseKind::BinaryReg => {
                        v.push(Inst::XmmRmR { op, src1: xr(a), src2, dst: xw(c), vex })
                    }
                    SseKind::BinaryImm => v.push(Inst::XmmRmRImm { op, src1: xr(a), src2, imm, dst: xw(c), vex }),
                    SseKind::Unary => v.push(Inst::XmmUnaryRmR { op, src: src2, dst: xw(a), vex }),
                    SseKind::UnaryImm => v.push(Inst::XmmUnaryRmRImm { op, src: src2, imm, dst: xw(a), vex }),
                    SseKind::Test => v.push(Inst::XmmTest { op, src1: xr(a), src2, vex }),
                }
            }
            if op.kind() == SseKind::BinaryReg {
                continue;
            }
            for (k, a) in small.iter().enumerate() {
                let d = (k % 16) as u8;
                let dst = xw(if vex { 15 - d } else { d });
                let src2 = RegMem::Mem(mem(*a));
                match op.kind() {
                    SseKind::Binary => v.push(Inst::XmmRmR { op, src1: xr(d), src2, dst, vex }),
                    SseKind::BinaryImm => v.push(Inst::XmmRmRImm { op, src1: xr(d), src2, imm, dst, vex }),
                    SseKind::Unary => v.push(Inst::XmmUnaryRmR { op, src: src2, dst, vex }),
                    SseKind::UnaryImm => v.push(Inst::XmmUnaryRmRImm { op, src: src2, imm, dst, vex }),
                    SseKind::Test => v.push(Inst::XmmTest { op, src1: xr(d), src2, vex }),
                    SseKind::BinaryReg => {}
                }
            }
        }
    }
    for i in 0..32u8 {
        for vex in [false, true] {
            if !vex && i >= 8 {
                continue;
            }
            for op in [SseOp::Cmpss, SseOp::Cmpsd, SseOp::Cmpps, SseOp::Cmppd] {
                v.push(Inst::XmmRmRImm { op, src1: xr(1), src2: RegMem::Reg(xr(9)), imm: i, dst: xw(1), vex });
                v.push(Inst::XmmRmRImm { op, src1: xr(10), src2: RegMem::Reg(xr(2)), imm: i, dst: xw(10), vex });
            }
        }
    }
    for op in XmmShiftImmOp::ALL {
        for imm in [0u8, 1, 7, 15, 31, 63, 200] {
            for &(a, b) in &pairs {
                v.push(Inst::XmmShiftImm { op, src: xr(a), imm, dst: xw(a), vex: false });
                v.push(Inst::XmmShiftImm { op, src: xr(a), imm, dst: xw(b), vex: true });
            }
        }
    }
    for op in [BlendvOp::Pblendvb, BlendvOp::Blendvps, BlendvOp::Blendvpd] {
        for &(a, b) in &pairs {
            let m = (a + b + 1) % 16;
            v.push(Inst::XmmBlendv {
                op,
                mask: xr(0),
                if_false: xr(a),
                if_true: RegMem::Reg(xr(b)),
                dst: xw(a),
                vex: false,
            });
            v.push(Inst::XmmBlendv {
                op,
                mask: xr(m),
                if_false: xr(a),
                if_true: RegMem::Reg(xr(b)),
                dst: xw(b),
                vex: true,
            });
        }
        for (k, a) in small.iter().enumerate() {
            let d = (k % 16) as u8;
            let if_true = RegMem::Mem(mem(*a));
            v.push(Inst::XmmBlendv {
                op,
                mask: xr(0),
                if_false: xr(d),
                if_true: if_true.clone(),
                dst: xw(d),
                vex: false,
            });
            v.push(Inst::XmmBlendv { op, mask: xr(15 - d), if_false: xr(d), if_true, dst: xw(15 - d), vex: true });
        }
    }
    for (op, lanes) in
        [(XmmInsertOp::Pinsrb, 16u8), (XmmInsertOp::Pinsrw, 8), (XmmInsertOp::Pinsrd, 4), (XmmInsertOp::Pinsrq, 2)]
    {
        for vex in [false, true] {
            for &(a, b) in &pairs {
                let lane = (a + b) % lanes;
                let dst = xw(if vex { (a + 3) % 16 } else { a });
                v.push(Inst::XmmInsertGpr { op, src1: xr(a), src2: RegMem::Reg(g(b)), lane, dst, vex });
            }
            for (k, a) in small.iter().enumerate() {
                let d = (k % 16) as u8;
                v.push(Inst::XmmInsertGpr {
                    op,
                    src1: xr(d),
                    src2: RegMem::Mem(mem(*a)),
                    lane: d % lanes,
                    dst: xw(d),
                    vex,
                });
            }
        }
    }
    for (op, lanes) in
        [(XmmExtractOp::Pextrb, 16u8), (XmmExtractOp::Pextrw, 8), (XmmExtractOp::Pextrd, 4), (XmmExtractOp::Pextrq, 2)]
    {
        for vex in [false, true] {
            for &(a, b) in &pairs {
                v.push(Inst::XmmExtractGpr { op, src: xr(a), lane: (a + b) % lanes, dst: gw(b), vex });
            }
        }
    }
    for &op in EvexOp::ALL {
        if op == EvexOp::Vpermi2b {
            continue;
        }
        for &(a, b) in &pairs {
            let src1 = if op.kind() == EvexKind::Binary { Some(xr(a)) } else { None };
            v.push(Inst::XmmEvex { op, src1, src2: RegMem::Reg(xr(b)), imm: 3, dst: xw((a + b) % 16) });
        }
        for (k, a) in full.iter().enumerate() {
            let d = (k % 16) as u8;
            let src1 = if op.kind() == EvexKind::Binary { Some(xr(d)) } else { None };
            v.push(Inst::XmmEvex { op, src1, src2: RegMem::Mem(mem(*a)), imm: 9, dst: xw(15 - d) });
        }
    }
    for &(a, b) in &pairs {
        let c = (a + b) % 16;
        v.push(Inst::XmmPermi2b { indices: xr(a), table_a: xr(b), table_b: RegMem::Reg(xr(c)), dst: xw(a) });
    }
    for (k, a) in full.iter().enumerate() {
        let d = (k % 16) as u8;
        v.push(Inst::XmmPermi2b { indices: xr(d), table_a: xr(15 - d), table_b: RegMem::Mem(mem(*a)), dst: xw(d) });
    }
    for d in 0..16 {
        v.push(Inst::XmmOnes { dst: xw(d) });
    }
    for &op in FmaOp::ALL {
        for &(a, b) in &pairs {
            v.push(Inst::XmmFma { op, src1: xr(a), src2: xr(b), src3: RegMem::Reg(xr((a + b) % 16)), dst: xw(a) });
        }
        for (k, a) in small.iter().enumerate() {
            let d = (k % 16) as u8;
            v.push(Inst::XmmFma { op, src1: xr(d), src2: xr(15 - d), src3: RegMem::Mem(mem(*a)), dst: xw(d) });
        }
    }
    for op in [RoundOp::Roundss, RoundOp::Roundsd] {
        for imm in [0u8, 1, 2, 3, 9, 11] {
            for &(a, b) in &pairs {
                v.push(Inst::XmmRound { op, imm, src: RegMem::Reg(xr(b)), dst: xw(a) });
            }
        }
        for a in &small {
            v.push(Inst::XmmRound { op, imm: 1, src: RegMem::Mem(mem(*a)), dst: xw(12) });
        }
    }
    for op in [XmmMovOp::Movss, XmmMovOp::Movsd, XmmMovOp::Movdqu, XmmMovOp::Movups] {
        for (k, a) in small.iter().enumerate() {
            let d = (k % 16) as u8;
            for vex in [false, true] {
                v.push(Inst::XmmLoad { op, mem: mem(*a), dst: xw(d), vex });
                v.push(Inst::XmmStore { op, src: xr(15 - d), mem: mem(*a), vex });
            }
        }
    }
    for a in 0..16 {
        for b in 0..16 {
            v.push(Inst::XmmMovRR { src: xr(a), dst: xw(b) });
        }
        v.push(Inst::XmmZero { dst: xw(a) });
    }
    for op in [GprToXmmOp::Mov, GprToXmmOp::Cvtsi2ss, GprToXmmOp::Cvtsi2sd] {
        for size in [S32, S64] {
            for &(a, b) in &pairs {
                v.push(Inst::GprToXmm { op, size, src: RegMem::Reg(g(a)), dst: xw(b) });
            }
            for (k, a) in small.iter().enumerate() {
                v.push(Inst::GprToXmm { op, size, src: RegMem::Mem(mem(*a)), dst: xw((k % 16) as u8) });
            }
        }
    }
    for op in [XmmToGprOp::Mov, XmmToGprOp::Cvttss2si, XmmToGprOp::Cvttsd2si] {
        for size in [S32, S64] {
            for &(a, b) in &pairs {
                v.push(Inst::XmmToGpr { op, size, src: xr(a), dst: gw(b) });
            }
        }
    }
    for op in [XmmToGprOp::Movmskps, XmmToGprOp::Movmskpd, XmmToGprOp::Pmovmskb] {
        for &(a, b) in &pairs {
            v.push(Inst::XmmToGpr { op, size: S32, src: xr(a), dst: gw(b) });
        }
    }
    for double in [false, true] {
        for &(a, b) in &pairs {
            v.push(Inst::XmmCmp { double, src1: xr(a), src2: RegMem::Reg(xr(b)) });
        }
        for (k, a) in small.iter().enumerate() {
            v.push(Inst::XmmCmp { double, src1: xr((k % 16) as u8), src2: RegMem::Mem(mem(*a)) });
        }
    }
    // Control and misc.
    v.push(Inst::Ud2 { code: TrapCode::user(1).unwrap() });
    v.push(Inst::Int3);
    v.push(Inst::Fence);
    let call = |dest: CallDest, reach: Reach| Inst::Call {
        reach,
        info: Box::new(CallInfo {
            dest,
            uses: smallvec![],
            defs: smallvec![],
            clobbers: regalloc2::PRegSet::empty(),
            callee_conv: kiln_ir::signature::CallConv::SystemV,
            callee_pop: 0,
            try_call: None,
            tail_stack_args: 0,
        }),
    };
    v.push(call(CallDest::Name { name: RelocTarget::TestCase("callee".into()), colocated: true }, Reach::Near));
    v.push(call(CallDest::Name { name: RelocTarget::TestCase("callee".into()), colocated: false }, Reach::Indirect));
    v.push(call(
        CallDest::Name { name: RelocTarget::User { namespace: 1, index: 2 }, colocated: false },
        Reach::Absolute,
    ));
    for d in 0..16 {
        v.push(call(CallDest::Indirect(g(d)), Reach::Near));
    }
    v
}

fn build_cases() -> Vec<Case> {
    let info = info();
    all_cases()
        .into_iter()
        .map(|inst| {
            let out = emit(&inst, &info);
            let text = print_inst(&inst);
            let loose = !out.relocs.is_empty() || text.contains("label0");
            Case { inst, text, bytes: out.bytes, loose }
        })
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ")
}

/// Assemble every case with GNU as; returns per-case bytes.
fn assemble(cases: &[Case]) -> Result<Vec<Vec<u8>>, String> {
    let gas = common::Gas { as_cmd: &["as", "--64"], objcopy: "objcopy", header: "", tag: "x64enc" };
    let snippets: Vec<String> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| format!(".Lrip{i}:\n{}", c.text.replace("label0", &format!(".Lrip{i}"))))
        .collect();
    gas.assemble(&snippets)
}

// ---------------------------------------------------------------------------------------
// Capstone comparison.

/// Canonical mnemonic: aliases capstone uses and suffixes it may drop or add.
fn canon_mnemonic(m: &str) -> Vec<String> {
    let aliases: &[(&str, &str)] = &[
        ("movabsq", "movabs"),
        ("cltd", "cdq"),
        ("cqto", "cqo"),
        ("cwtd", "cwd"),
        ("cbtw", "cbw"),
        ("callq", "call"),
        ("cvtsi2ssl", "cvtsi2ss"),
        ("cvtsi2sdl", "cvtsi2sd"),
        ("cvtsi2ssq", "cvtsi2ss"),
        ("cvtsi2sdq", "cvtsi2sd"),
        ("movzbl", "movzx"),
        ("movzwl", "movzx"),
        ("movsbl", "movsx"),
        ("movsbq", "movsx"),
        ("movswl", "movsx"),
        ("movswq", "movsx"),
        ("movslq", "movsxd"),
    ];
    let mut out = vec![m.to_string()];
    for (a, b) in aliases {
        if m == *a {
            out.push(b.to_string());
        }
    }
    if let Some(last) = m.chars().last()
        && "bwlq".contains(last)
        && m.len() > 3
    {
        out.push(m[..m.len() - 1].to_string());
    }
    out
}

fn insn_match(mine: &str, theirs: &str, loose: bool) -> bool {
    let (l1, l2) = (mine.starts_with("lock "), theirs.starts_with("lock "));
    if l1 != l2 {
        return false;
    }
    let mine = mine.trim_start_matches("lock ");
    let theirs = theirs.trim_start_matches("lock ");
    let (m1, r1) = mine.split_once(' ').unwrap_or((mine, ""));
    let (m2, r2) = theirs.split_once(' ').unwrap_or((theirs, ""));
    let c1 = canon_mnemonic(m1);
    let c2 = canon_mnemonic(m2);
    if !c1.iter().any(|a| c2.contains(a)) {
        return false;
    }
    if loose {
        return true;
    }
    let norm = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>().replace(",1)", ")");
    common::operands_match(&norm(r1), &norm(r2))
}

/// The printed text, minus assembler-only pseudo-prefixes and comments, split into
/// instructions.
fn my_insns(text: &str) -> Vec<String> {
    let text = text.split('#').next().unwrap_or("");
    text.split(';')
        .map(|s| s.replace("{disp8}", "").replace("{disp32}", "").trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn capstone_check(cases: &[Case]) -> Vec<String> {
    let cs = common::capstone_x64_att();
    let mut failures = Vec::new();
    for c in cases {
        let insns = match cs.disasm_all(&c.bytes, 0x1000) {
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
        let mine = my_insns(&c.text);
        let ok = total == c.bytes.len()
            && mine.len() == theirs.len()
            && mine.iter().zip(&theirs).all(|(a, b)| {
                // `xchg %ax, %ax` is capstone's `nop` with a data16 prefix.
                insn_match(a, b, c.loose) || (a.starts_with("xchg %ax") && b.contains("nop")) || a.starts_with("nop")
            });
        if !ok {
            failures.push(format!("{:<50} [{}]  capstone: {}", c.text, hex(&c.bytes), theirs.join("; ")));
        }
    }
    failures
}

#[test]
fn encodings_match_gnu_as_and_capstone() {
    let cases = build_cases();
    let n = cases.len();
    let skip_as = std::env::var("KILN_SKIP_AS").map(|v| v == "1").unwrap_or(false);
    let mut failures = Vec::new();
    if !skip_as {
        let gas = assemble(&cases).unwrap_or_else(|e| panic!("{e}"));
        for (c, b) in cases.iter().zip(&gas) {
            if *b != c.bytes {
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
    eprintln!(
        "x64 encoding: {n} instruction instances checked against {}capstone; {} failures ({ncs} capstone)",
        if skip_as { "" } else { "GNU as and " },
        failures.len()
    );
    common::report_failures(&failures, 30, 80);
}

/// `Amode::Stack` resolves to the frame offset off `%rsp`: same bytes as the explicit form.
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
        callee_saves: callee_save_layout(&[kiln_isa::x64::regs::gpr_preg(3), kiln_isa::x64::regs::gpr_preg(12)]).0,
        has_frame: true,
        stack_bytes_to_pop: 0,
        stack_limit: None,
    };
    for (mode, disp) in [
        (StackAMode::Slot(8), 32 + 8),
        (StackAMode::OutgoingArg(0), 0),
        (StackAMode::OutgoingArg(24), 24),
        (StackAMode::IncomingArg(0), 16 + 48 + 32 + 16),
        (StackAMode::IncomingArg(8), 16 + 48 + 32 + 16 + 8),
    ] {
        let a = Inst::Load { size: OperandSize::S64, mem: Mem::stack(mode), dst: gw(1) };
        let b = Inst::Load { size: OperandSize::S64, mem: mem(Amode::ImmReg { disp, base: g(4) }), dst: gw(1) };
        let mut buf = MachBuffer::new(info.clone());
        let mut state = EmitState { frame: frame.clone(), ..Default::default() };
        a.emit(&mut buf, &info, &mut state).unwrap();
        let mut out = FinishedCode::default();
        buf.finish(&mut out).unwrap();
        assert_eq!(out.bytes, emit(&b, &info).bytes, "{mode:?}");
        assert!(print_inst(&a).contains(match mode {
            StackAMode::Slot(_) => "slot+",
            StackAMode::OutgoingArg(_) => "outgoing+",
            StackAMode::IncomingArg(_) => "incoming+",
        }));
    }
}

/// Trap records of faulting memory accesses and divisions are at the instruction start.
#[test]
fn trap_sites_and_relocations() {
    let info = info();
    let m = Mem::new(Amode::ImmReg { disp: 0, base: g(8) }, Some(TrapCode::HEAP_OUT_OF_BOUNDS));
    let mut buf = MachBuffer::new(info.clone());
    let mut state = EmitState::default();
    Inst::Nop { len: 3 }.emit(&mut buf, &info, &mut state).unwrap();
    Inst::LockCmpxchg { size: OperandSize::S16, replacement: g(1), expected: g(0), mem: m, dst_old: gw(0) }
        .emit(&mut buf, &info, &mut state)
        .unwrap();
    let div_at = buf.data_len() as u32;
    Inst::Div {
        size: OperandSize::S64,
        signed: true,
        dividend_lo: g(0),
        dividend_hi: g(2),
        divisor: g(9),
        dst_quotient: gw(0),
        dst_remainder: gw(2),
        trap: TrapCode::INTEGER_DIVISION_BY_ZERO,
    }
    .emit(&mut buf, &info, &mut state)
    .unwrap();
    let call_at = buf.data_len() as u32;
    let name = RelocTarget::User { namespace: 0, index: 7 };
    Inst::Call {
        reach: Reach::Near,
        info: Box::new(CallInfo {
            dest: CallDest::Name { name: name.clone(), colocated: true },
            uses: smallvec![],
            defs: smallvec![],
            clobbers: regalloc2::PRegSet::empty(),
            callee_conv: kiln_ir::signature::CallConv::SystemV,
            callee_pop: 16,
            try_call: None,
            tail_stack_args: 0,
        }),
    }
    .emit(&mut buf, &info, &mut state)
    .unwrap();
    let mut out = FinishedCode::default();
    buf.finish(&mut out).unwrap();
    assert_eq!(out.traps[0].offset, 3);
    assert_eq!(out.traps[0].code, TrapCode::HEAP_OUT_OF_BOUNDS);
    assert_eq!(&out.bytes[3..8], &[0x66, 0xf0, 0x41, 0x0f, 0xb1]);
    assert_eq!(out.traps[1].offset, div_at);
    assert_eq!(out.relocs.len(), 1);
    assert_eq!(out.relocs[0].offset, call_at + 1);
    assert_eq!(out.relocs[0].kind, Reloc::X86CallPCRel4);
    assert_eq!(out.relocs[0].addend, -4);
    assert_eq!(out.call_sites[0].ret_addr, call_at + 5);
    // sub $16, %rsp after the call.
    assert_eq!(&out.bytes[call_at as usize + 5..], &[0x48, 0x83, 0xec, 0x10]);
}

/// GNU as bytes of `text` (None when `KILN_SKIP_AS=1`).
fn as_bytes(text: &str) -> Option<Vec<u8>> {
    if std::env::var("KILN_SKIP_AS").map(|v| v == "1").unwrap_or(false) {
        return None;
    }
    let c = Case { inst: Inst::Int3, text: text.to_string(), bytes: vec![], loose: true };
    Some(assemble(&[c]).unwrap_or_else(|e| panic!("{e}")).remove(0))
}

fn emit_with(frame: FrameLayout, flags: Flags, f: impl FnOnce(&mut Sink, &EmitInfo, &mut EmitState)) -> FinishedCode {
    let info = EmitInfo::new(flags, IsaFlags::new(Arch::X86_64));
    let mut buf = MachBuffer::new(info.clone());
    let mut state = EmitState { frame, ..Default::default() };
    f(&mut buf, &info, &mut state);
    let mut out = FinishedCode::default();
    buf.finish(&mut out).expect("finish");
    out
}

fn layout(saves: &[regalloc2::PReg], fixed: u32, outgoing: u32, has_frame: bool) -> FrameLayout {
    let (callee_saves, clobber_size) = callee_save_layout(saves);
    FrameLayout {
        incoming_args_size: 0,
        setup_area_size: if has_frame { 16 } else { 8 },
        clobber_size,
        fixed_frame_storage_size: fixed,
        stack_slots_size: 0,
        outgoing_args_size: outgoing,
        callee_saves,
        has_frame,
        stack_bytes_to_pop: 0,
        stack_limit: None,
    }
}

#[test]
fn prologue_and_epilogue_match_the_frame_protocol() {
    use kiln_isa::x64::regs::{gpr_preg, xmm_preg};
    let rets = |pop: u32| Inst::Rets { rets: vec![], stack_bytes_to_pop: pop };
    let cases: Vec<(FrameLayout, u32, &str, &str)> = vec![
        (layout(&[], 0, 0, false), 0, "", "ret"),
        (layout(&[], 0, 0, false), 16, "", "ret $16"),
        (layout(&[], 0, 0, true), 0, "pushq %rbp; movq %rsp, %rbp", "popq %rbp; ret"),
        (
            layout(&[gpr_preg(3), gpr_preg(12)], 32, 16, true),
            0,
            "pushq %rbp; movq %rsp, %rbp; pushq %rbx; pushq %r12; subq $48, %rsp",
            "addq $48, %rsp; popq %r12; popq %rbx; popq %rbp; ret",
        ),
        (
            layout(&[gpr_preg(15), xmm_preg(8), gpr_preg(13), xmm_preg(15)], 1000, 64, true),
            24,
            "pushq %rbp; movq %rsp, %rbp; pushq %r15; pushq %r13; subq $1096, %rsp; \
             movdqu %xmm8, 1064(%rsp); movdqu %xmm15, 1080(%rsp)",
            "movdqu 1064(%rsp), %xmm8; movdqu 1080(%rsp), %xmm15; addq $1096, %rsp; popq %r13; popq %r15; \
             popq %rbp; ret $24",
        ),
    ];
    for (frame, pop, pro, epi) in cases {
        let out = emit_with(frame.clone(), Flags::new(), |b, i, s| {
            Inst::emit_prologue(b, i, s).unwrap();
        });
        let out2 = emit_with(frame.clone(), Flags::new(), |b, i, s| rets(pop).emit(b, i, s).unwrap());
        if let Some(want) = as_bytes(pro) {
            assert_eq!(hex(&out.bytes), hex(&want), "prologue {frame:?}");
        }
        if let Some(want) = as_bytes(epi) {
            assert_eq!(hex(&out2.bytes), hex(&want), "epilogue {frame:?}");
        }
    }
}

/// The stack-limit check right after the frame-pointer setup: the limit computed from
/// `vmctx` (register or stack argument) plus the frame size, compared with `%rsp`, with a
/// jump to a deferred `ud2` (`stk_ovf`) at the end of the function.
#[test]
fn stack_limit_checks() {
    use StackLimitStep::{Add, Load};
    use kiln_isa::x64::regs::gpr_preg;
    let limit = |base, steps: &[StackLimitStep]| StackLimit { base, steps: steps.iter().copied().collect() };
    let cases: Vec<(FrameLayout, StackLimit, &str)> = vec![
        (
            layout(&[gpr_preg(3)], 32, 0, true),
            limit(StackLimitBase::Reg(gpr_preg(7)), &[Load(8), Add(16)]),
            "pushq %rbp; movq %rsp, %rbp; movq 8(%rdi), %r11; addq $56, %r11; cmpq %r11, %rsp; jb 1f; \
             pushq %rbx; subq $32, %rsp; 1: ud2",
        ),
        (
            layout(&[], 0, 0, true),
            limit(StackLimitBase::IncomingArg(8), &[]),
            "pushq %rbp; movq %rsp, %rbp; movq 24(%rbp), %r11; cmpq %r11, %rsp; jb 1f; 1: ud2",
        ),
        (
            layout(&[], 0, 0, true),
            limit(StackLimitBase::Reg(gpr_preg(2)), &[]),
            "pushq %rbp; movq %rsp, %rbp; cmpq %rdx, %rsp; jb 1f; 1: ud2",
        ),
        (
            layout(&[], 16, 0, true),
            limit(StackLimitBase::Reg(gpr_preg(6)), &[Add(1 << 40), Load(-8), Add(-3), Load(0)]),
            "pushq %rbp; movq %rsp, %rbp; movq %rsi, %r11; movabsq $1099511627776, %r10; addq %r10, %r11; \
             movq -8(%r11), %r11; addq $-3, %r11; movq (%r11), %r11; addq $16, %r11; cmpq %r11, %rsp; jb 1f; \
             subq $16, %rsp; 1: ud2",
        ),
    ];
    for (mut frame, sl, text) in cases {
        frame.stack_limit = Some(sl);
        let out = emit_with(frame.clone(), Flags::new(), |b, i, s| Inst::emit_prologue(b, i, s).unwrap());
        assert_eq!(out.traps.len(), 1, "{frame:?}");
        assert_eq!(out.traps[0].code, TrapCode::STACK_OVERFLOW);
        if let Some(want) = as_bytes(text) {
            assert_eq!(hex(&out.bytes), hex(&want), "stack limit {frame:?}");
        }
    }
}

#[test]
fn stack_probes() {
    let mut probe = Flags::new();
    probe.set("enable_probestack", Some("true")).unwrap();
    let cases = [
        // Below the guard size: a plain allocation.
        (4000, "pushq %rbp; movq %rsp, %rbp; subq $4000, %rsp"),
        (
            2 * 4096 + 100,
            "pushq %rbp; movq %rsp, %rbp; subq $4096, %rsp; movb $0, (%rsp); subq $4096, %rsp; movb $0, (%rsp); \
             subq $100, %rsp",
        ),
        (
            10 * 4096 + 8,
            "pushq %rbp; movq %rsp, %rbp; leaq -40960(%rsp), %r11; 1: subq $4096, %rsp; movb $0, (%rsp); \
             cmpq %r11, %rsp; jne 1b; subq $8, %rsp",
        ),
    ];
    for (n, text) in cases {
        let out = emit_with(layout(&[], n, 0, true), probe.clone(), |b, i, s| Inst::emit_prologue(b, i, s).unwrap());
        if let Some(want) = as_bytes(text) {
            assert_eq!(hex(&out.bytes), hex(&want), "probes for {n}");
        }
    }
}

fn call_info(dest: CallDest, tail_stack_args: u32) -> Box<CallInfo> {
    Box::new(CallInfo {
        dest,
        uses: smallvec![],
        defs: smallvec![],
        clobbers: regalloc2::PRegSet::empty(),
        callee_conv: kiln_ir::signature::CallConv::SystemV,
        callee_pop: 0,
        try_call: None,
        tail_stack_args,
    })
}

#[test]
fn return_call_sequences() {
    use kiln_isa::x64::regs::gpr_preg;
    let name = RelocTarget::TestCase("callee".into());
    // Frame: rbx, r12 saved, 16 bytes fixed, 16 outgoing: FB = 48; A_F = 16.
    let mut frame = layout(&[gpr_preg(3), gpr_preg(12)], 16, 16, true);
    frame.incoming_args_size = 16;
    let cases = [
        // A_G = 16 = A_F: no return-address move.
        (
            CallDest::Name { name: name.clone(), colocated: true },
            Reach::Near,
            16,
            "movq 40(%rsp), %rbx; movq 32(%rsp), %r12; movq 48(%rsp), %rbp; movq 8(%rsp), %rax; \
             movq %rax, 72(%rsp); movq 0(%rsp), %rax; movq %rax, 64(%rsp); addq $56, %rsp; jmp callee",
        ),
        // A_G = 8: return address moves up by 8.
        (
            CallDest::Name { name: name.clone(), colocated: false },
            Reach::Absolute,
            8,
            "movabsq $callee, %r10; movq 56(%rsp), %r11; movq 40(%rsp), %rbx; movq 32(%rsp), %r12; \
             movq 48(%rsp), %rbp; movq 0(%rsp), %rax; movq %rax, 72(%rsp); addq $64, %rsp; movq %r11, (%rsp); \
             jmp *%r10",
        ),
        // Position-independent: `jmp callee@PLT` at the end.
        (
            CallDest::Name { name: name.clone(), colocated: false },
            Reach::Indirect,
            16,
            "movq 40(%rsp), %rbx; movq 32(%rsp), %r12; movq 48(%rsp), %rbp; movq 8(%rsp), %rax; \
             movq %rax, 72(%rsp); movq 0(%rsp), %rax; movq %rax, 64(%rsp); addq $56, %rsp; jmp callee",
        ),
        (
            CallDest::Indirect(g(10)),
            Reach::Near,
            0,
            "movq 56(%rsp), %r11; movq 40(%rsp), %rbx; movq 32(%rsp), %r12; movq 48(%rsp), %rbp; addq $72, %rsp; \
             movq %r11, (%rsp); jmp *%r10",
        ),
    ];
    for (dest, reach, text) in cases.map(|(d, r, a, t)| ((d, a), r, t)) {
        let (dest, a_g) = dest;
        let named = matches!(dest, CallDest::Name { .. });
        let inst = Inst::ReturnCall { info: call_info(dest, a_g), reach };
        let out = emit_with(frame.clone(), Flags::new(), |b, i, s| inst.emit(b, i, s).unwrap());
        if let Some(want) = as_bytes(text) {
            assert_eq!(hex(&out.bytes), hex(&want), "{text}");
        }
        if named {
            let r = &out.relocs[0];
            let end = out.bytes.len() as u32 - 4;
            match reach {
                Reach::Near => assert_eq!((r.kind, r.addend, r.offset), (Reloc::X86CallPCRel4, -4, end)),
                Reach::Indirect => assert_eq!((r.kind, r.addend, r.offset), (Reloc::X86CallPLTRel4, -4, end)),
                Reach::Absolute => assert_eq!((r.kind, r.addend, r.offset), (Reloc::Abs8, 0, 2)),
            }
        }
        assert!(print_inst(&inst).starts_with("return_call "));
    }
}

#[test]
fn try_call_jumps_to_the_normal_target_and_records_handlers() {
    use kiln_codegen::machinst::buffer::HandlerTag;
    for next_is_normal in [false, true] {
        let out = emit_with(layout(&[], 16, 32, true), Flags::new(), |b, i, s| {
            b.reserve_labels(3);
            let normal = MachLabel(1);
            let handler = MachLabel(2);
            s.next_block = Some(if next_is_normal { normal } else { MachLabel(0) });
            let mut info = call_info(CallDest::Indirect(g(0)), 0);
            info.callee_pop = 16;
            info.try_call = Some(TryCallInfo {
                normal,
                handlers: vec![(HandlerTag::Tag(7), handler), (HandlerTag::Default, handler)],
            });
            Inst::Call { info, reach: Reach::Near }.emit(b, i, s).unwrap();
            b.bind_label(MachLabel(0));
            b.put1(0x90);
            b.bind_label(normal);
            b.put1(0x90);
            b.bind_label(handler);
            b.put1(0xc3);
        });
        // call *%rax; sub $16, %rsp; [jmp normal]
        let jmp: &[u8] = if next_is_normal { &[] } else { &[0xeb, 0x01] };
        let mut want = vec![0xff, 0xd0, 0x48, 0x83, 0xec, 0x10];
        want.extend_from_slice(jmp);
        assert_eq!(&out.bytes[..want.len()], &want[..]);
        let cs = &out.call_sites[0];
        assert_eq!(cs.ret_addr, 2);
        assert_eq!(cs.frame_offset, 48);
        let h = want.len() as u32 + 2;
        assert_eq!(cs.handlers, vec![(HandlerTag::Tag(7), h), (HandlerTag::Default, h)]);
    }
}

#[test]
fn load_ext_name_relocations() {
    let name = RelocTarget::LibCall(kiln_ir::extname::LibCall::Memcpy);
    for (reach, offset) in [
        (Reach::Near, 0i64),
        (Reach::Near, 24),
        (Reach::Indirect, 0),
        (Reach::Indirect, 40),
        (Reach::Absolute, 0),
        (Reach::Absolute, -8),
    ] {
        let inst = Inst::LoadExtName { dst: gw(9), name: name.clone(), offset, reach };
        let out = emit(&inst, &info());
        let r = &out.relocs[0];
        match reach {
            Reach::Near => assert_eq!((r.kind, r.offset, r.addend), (Reloc::X86PCRel4, 3, offset - 4)),
            // The GOT entry holds the symbol's address; the offset is added after the load.
            Reach::Indirect => {
                assert_eq!((r.kind, r.offset, r.addend), (Reloc::X86GOTPCRel4, 3, -4));
                assert_eq!(out.bytes.len(), if offset == 0 { 7 } else { 11 });
            }
            Reach::Absolute => assert_eq!((r.kind, r.offset, r.addend), (Reloc::Abs8, 2, offset)),
        }
        assert_eq!(r.target, name);
    }
}

/// Every pseudo-instruction sequence decodes completely (capstone consumes every code byte)
/// under register assignments using the REX-extended registers.
#[test]
fn pseudo_sequences_decode() {
    let cs = common::capstone_x64_att();
    let info = info();
    let mut n = 0;
    let assignments: [[u8; 5]; 4] = [[0, 1, 2, 3, 4], [8, 9, 10, 11, 12], [15, 14, 13, 12, 11], [7, 8, 5, 15, 6]];
    for a in assignments {
        let mut insts = vec![
            Inst::XmmCmove { cc: CC::NZ, consequent: xr(a[0]), alternative: xr(a[1]), dst: xw(a[1]) },
            Inst::CvtUint64ToFloatSeq { double: true, src: g(a[0]), dst: xw(a[1]), tmp1: gw(a[2]), tmp2: gw(a[3]) },
            Inst::CvtUint64ToFloatSeq { double: false, src: g(a[3]), dst: xw(a[4]), tmp1: gw(a[1]), tmp2: gw(a[0]) },
            Inst::JmpTableSeq {
                idx: g(a[0]),
                tmp1: gw(a[1]),
                tmp2: gw(a[2]),
                default: MachLabel(0),
                targets: vec![MachLabel(0)].into_boxed_slice(),
            },
        ];
        for double in [false, true] {
            for is_min in [false, true] {
                insts.push(Inst::XmmMinMaxSeq { double, is_min, lhs: xr(a[0]), rhs: xr(a[1]), dst: xw(a[0]) });
            }
            for size in [OperandSize::S32, OperandSize::S64] {
                for signed in [false, true] {
                    for saturating in [false, true] {
                        insts.push(Inst::CvtFloatToIntSeq {
                            src_double: double,
                            dst_size: size,
                            signed,
                            saturating,
                            src: xr(a[0]),
                            dst: gw(a[1]),
                            tmp_gpr: gw(a[2]),
                            tmp_xmm: xw(a[3]),
                            tmp_xmm2: xw(a[4]),
                        });
                    }
                }
            }
        }
        for op in AtomicLoopOp::ALL {
            for size in SIZES {
                insts.push(Inst::AtomicRmwSeq {
                    size,
                    op,
                    mem: mem(Amode::ImmRegRegShift { disp: 8, base: g(a[1]), index: g(a[2]), shift: 3 }),
                    operand: g(a[3]),
                    temp: gw(a[4]),
                    dst_old: gw(0),
                });
            }
        }
        for inst in insts {
            let out = emit(&inst, &info);
            let code = &out.bytes[..out.code_size as usize];
            // A jump table ends in data: decode up to the table.
            let code = if matches!(inst, Inst::JmpTableSeq { .. }) { &code[..code.len() - 4] } else { code };
            let insns = cs.disasm_all(code, 0).expect("capstone");
            let total: usize = insns.iter().map(|i| i.bytes().len()).sum();
            assert_eq!(total, code.len(), "{} does not decode: [{}]", print_inst(&inst), hex(code));
            n += 1;
        }
    }
    eprintln!("pseudo sequences decoded: {n}");
}

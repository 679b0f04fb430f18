//! Encoder/printer agreement for every riscv64 instruction form the emitter produces.
//!
//! Each case is one `Inst` with physical registers, swept over registers and immediate
//! edges. Its printed text is assembled (all cases of a run in one file, with a table of
//! per-instruction lengths computed by the assembler itself, linked at address 0 so that
//! PC-relative references resolve) and the bytes must equal what `emit.rs` produces. Three
//! runs:
//! - uncompressed: no C extension, every form;
//! - C (Zca + Zcd): the assembler compresses whatever it can, so equal bytes mean Kiln
//!   compresses exactly when the operands allow, and does not where they do not;
//! - C + Zcb (with Zba, Zbb, M): the same with the Zcb forms.
//!
//! GNU `as` (`riscv64-linux-gnu-as`) assembles every case whose extensions it knows
//! (binutils 2.40 lacks Zicond, Zfa and Zcb); `llvm-mc` assembles the others. The bytes of
//! the uncompressed and C runs are also disassembled by capstone (RISC-V mode, which knows
//! I, M, A, F, D and C) and must read back as the printed instruction.
//!
//! Without the assemblers the test fails with a clear message unless `KILN_SKIP_AS=1` is
//! set (then only the capstone half runs).

use capstone::prelude::*;
use kiln_codegen::machinst::buffer::{FinishedCode, MachBuffer};
use kiln_codegen::machinst::{MachLabel, Reg, Writable};
use kiln_ir::settings::{Arch, Flags, IsaFlags};
use kiln_isa::riscv64::emit::{EmitInfo, EmitState};
use kiln_isa::riscv64::inst::*;
use kiln_isa::riscv64::print::print_inst;
use kiln_isa::riscv64::regs::{freg, vreg, xreg};
use kiln_isa::riscv64::vector::*;
use std::fmt::Write as _;
use std::process::Command;

mod common;

fn x(i: u8) -> Reg {
    xreg(i)
}
fn xw(i: u8) -> Writable<Reg> {
    Writable::from_reg(xreg(i))
}
fn f(i: u8) -> Reg {
    freg(i)
}
fn fw(i: u8) -> Writable<Reg> {
    Writable::from_reg(freg(i))
}
fn v(i: u8) -> Reg {
    vreg(i)
}
fn vw(i: u8) -> Writable<Reg> {
    Writable::from_reg(vreg(i))
}

/// Register triples (rd, rs1, rs2): every register in every position, plus the shapes
/// compression cares about (rd == rs1, rd == rs2, all in x8–x15, `zero` operands).
fn triples() -> Vec<(u8, u8, u8)> {
    let mut t: Vec<(u8, u8, u8)> = (0..32).map(|i| (i, (i * 7 + 3) % 32, (i * 13 + 5) % 32)).collect();
    for i in 0..32u8 {
        t.push((i, i, (i + 9) % 32));
        t.push((i, (i + 11) % 32, i));
    }
    for i in 8..16u8 {
        t.push((i, i, 23 - i));
        t.push((i, 23 - i, i));
        t.push((i, i, i));
    }
    t.extend([(10, 0, 11), (10, 11, 0), (0, 10, 11), (10, 10, 0), (2, 2, 10)]);
    t
}

/// A smaller set for FP and vector sweeps.
fn triples_small() -> Vec<(u8, u8, u8)> {
    let mut t: Vec<(u8, u8, u8)> = (0..32).map(|i| (i, (i * 7 + 3) % 32, (i * 13 + 5) % 32)).collect();
    t.extend([(8, 8, 9), (15, 9, 15), (1, 1, 1)]);
    t
}

const IMM12: [i32; 24] = [
    0, 1, -1, 2, 4, 8, 15, 16, -16, 31, -32, 32, -33, 100, 255, 496, -512, 1020, 1024, 2047, -2048, 2046, -2047, 0x555,
];
const OFFSETS: [i32; 18] = [0, 1, 2, 3, 4, 6, 8, 124, 128, 248, 252, 256, 504, 508, 512, -8, 2047, -2048];
const SHAMT6: [i32; 8] = [0, 1, 5, 17, 31, 32, 33, 63];
const SHAMT5: [i32; 6] = [0, 1, 7, 16, 30, 31];

#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
struct Exts(u32);

#[allow(dead_code)]
impl Exts {
    const M: u32 = 1;
    const A: u32 = 2;
    const F: u32 = 4;
    const D: u32 = 8;
    const ZFH: u32 = 16;
    const ZFA: u32 = 32;
    const V: u32 = 64;
    const ZBA: u32 = 128;
    const ZBB: u32 = 256;
    const ZBC: u32 = 512;
    const ZBS: u32 = 1024;
    const ZBKB: u32 = 2048;
    const ZICOND: u32 = 4096;
    const NAMES: [(u32, &'static str); 13] = [
        (Self::M, "m"),
        (Self::A, "a"),
        (Self::F, "f"),
        (Self::D, "d"),
        (Self::ZFH, "zfh"),
        (Self::ZFA, "zfa"),
        (Self::V, "v"),
        (Self::ZBA, "zba"),
        (Self::ZBB, "zbb"),
        (Self::ZBC, "zbc"),
        (Self::ZBS, "zbs"),
        (Self::ZBKB, "zbkb"),
        (Self::ZICOND, "zicond"),
    ];
}

/// The extensions an instruction needs (beyond RV64I).
fn exts_of(inst: &Inst) -> u32 {
    use AluOpRRR::*;
    let fp = |w: FpWidth| match w {
        FpWidth::H => Exts::ZFH | Exts::F,
        FpWidth::S => Exts::F,
        FpWidth::D => Exts::D | Exts::F,
    };
    match inst {
        Inst::AluRRR { op, .. } => match op {
            Mul | Mulh | Mulhsu | Mulhu | Div | Divu | Rem | Remu | Mulw | Divw | Divuw | Remw | Remuw => Exts::M,
            Sh1add | Sh2add | Sh3add | AddUw | Sh1addUw | Sh2addUw | Sh3addUw => Exts::ZBA,
            Andn | Orn | Xnor | Max | Maxu | Min | Minu | Rol | Ror | Rolw | Rorw => Exts::ZBB,
            Clmul | Clmulh | Clmulr => Exts::ZBC,
            Bclr | Bext | Binv | Bset => Exts::ZBS,
            Pack | Packh | Packw => Exts::ZBKB,
            CzeroEqz | CzeroNez => Exts::ZICOND,
            _ => 0,
        },
        Inst::AluRRImm { op, .. } => match op {
            AluOpRRI::SlliUw => Exts::ZBA,
            AluOpRRI::Rori | AluOpRRI::Roriw => Exts::ZBB,
            AluOpRRI::Bclri | AluOpRRI::Bexti | AluOpRRI::Binvi | AluOpRRI::Bseti => Exts::ZBS,
            _ => 0,
        },
        Inst::AluRR { op, .. } => match op {
            AluOpRR::Brev8 => Exts::ZBKB,
            _ => Exts::ZBB,
        },
        Inst::Load { op, .. } => match op {
            LoadOp::Flh => fp(FpWidth::H),
            LoadOp::Flw => Exts::F,
            LoadOp::Fld => Exts::D | Exts::F,
            _ => 0,
        },
        Inst::Store { op, .. } => match op {
            StoreOp::Fsh => fp(FpWidth::H),
            StoreOp::Fsw => Exts::F,
            StoreOp::Fsd => Exts::D | Exts::F,
            _ => 0,
        },
        Inst::Atomic { .. } => Exts::A,
        Inst::FpuRRR { op, width, .. } => fp(*width) | if op.is_zfa() { Exts::ZFA } else { 0 },
        Inst::FpuRRRR { width, .. } => fp(*width),
        Inst::FpuRR { op, width, .. } => {
            let from = match op {
                FpuOpRR::FcvtFromFloat(w) => fp(*w),
                _ => 0,
            };
            fp(*width) | from | if op.is_zfa() { Exts::ZFA | Exts::D } else { 0 }
        }
        Inst::Fli { width, .. } => fp(*width) | Exts::ZFA,
        Inst::VecSetState { .. }
        | Inst::VecAluRRR { .. }
        | Inst::VecAluRRRR { .. }
        | Inst::VecAluRRImm5 { .. }
        | Inst::VecAluRR { .. }
        | Inst::VecAluRImm5 { .. }
        | Inst::VecLoad { .. }
        | Inst::VecStore { .. }
        | Inst::VecMovWhole { .. }
        | Inst::VecLoadWhole { .. }
        | Inst::VecStoreWhole { .. } => Exts::V | Exts::F | Exts::D,
        _ => 0,
    }
}

fn vst(lanes: u32, bits: u32) -> VState {
    VState::for_lanes(lanes, bits).unwrap()
}

fn all_cases() -> Vec<Inst> {
    let mut c: Vec<Inst> = Vec::new();
    let tr = triples();
    let trs = triples_small();
    c.push(Inst::Nop);
    for (k, imm20) in [0u32, 1, 31, 32, 0x7ffff, 0x80000, 0xfffe0, 0xfffff, 0x12345].into_iter().enumerate() {
        for rd in [0u8, 1, 2, 3, 5, 8, 10, 15, 31] {
            c.push(Inst::Lui { rd: xw(rd), imm20 });
            if k % 2 == 0 {
                c.push(Inst::Auipc { rd: xw(rd), imm20 });
            }
        }
    }
    for &op in AluOpRRR::ALL {
        for &(d, a, b) in &tr {
            c.push(Inst::AluRRR { op, rd: xw(d), rs1: x(a), rs2: x(b) });
        }
    }
    for &op in AluOpRRI::ALL {
        let imms: &[i32] = match op.imm_kind() {
            ImmKind::Simm12 => &IMM12,
            ImmKind::Shamt6 => &SHAMT6,
            ImmKind::Shamt5 => &SHAMT5,
        };
        for (k, &imm) in imms.iter().enumerate() {
            for &(d, a, _) in tr.iter().skip(k % 5).step_by(5) {
                c.push(Inst::AluRRImm { op, rd: xw(d), rs: x(a), imm });
            }
            for (d, a) in [(10u8, 10u8), (8, 8), (2, 2), (9, 2), (10, 0), (0, 0), (5, 5)] {
                c.push(Inst::AluRRImm { op, rd: xw(d), rs: x(a), imm });
            }
        }
    }
    for &op in AluOpRR::ALL {
        for &(d, a, _) in &tr {
            c.push(Inst::AluRR { op, rd: xw(d), rs: x(a) });
        }
    }
    for &op in LoadOp::ALL {
        for (k, off) in OFFSETS.into_iter().enumerate() {
            for base in [2u8, 8, 10, 15, 16, 31, (k as u8 * 5) % 32] {
                for rd in [1u8, 9, 12, 20, 0] {
                    let rd = if op.is_fp() { fw(rd) } else { xw(rd) };
                    c.push(Inst::Load { op, rd, from: AMode::RegOffset(x(base), off as i64), trap: None });
                }
            }
        }
        let rd = if op.is_fp() { fw(10) } else { xw(10) };
        c.push(Inst::Load { op, rd, from: AMode::Label(MachLabel(0)), trap: None });
    }
    for &op in StoreOp::ALL {
        for (k, off) in OFFSETS.into_iter().enumerate() {
            for base in [2u8, 8, 10, 15, 16, 31, (k as u8 * 3) % 32] {
                for src in [1u8, 9, 12, 20, 0] {
                    let src = if op.is_fp() { f(src) } else { x(src) };
                    c.push(Inst::Store { op, src, to: AMode::RegOffset(x(base), off as i64), trap: None });
                }
            }
        }
        let src = if op.is_fp() { f(10) } else { x(10) };
        c.push(Inst::Store { op, src, to: AMode::Label(MachLabel(0)), trap: None });
    }
    for &op in AtomicOp::ALL {
        for (k, &(d, a, b)) in trs.iter().enumerate() {
            let (aq, rl) = (k % 2 == 1, k % 4 >= 2);
            c.push(Inst::Atomic {
                op,
                aq,
                rl,
                rd: xw(d),
                addr: x(a),
                src: if op.is_lr() { x(0) } else { x(b) },
                trap: None,
            });
        }
    }
    for (p, s) in [(FENCE_RW, FENCE_RW), (FENCE_IORW, FENCE_IORW), (0b0010, 0b0011), (0b1000, 0b0100), (1, 2)] {
        c.push(Inst::Fence { pred: p, succ: s });
    }
    c.extend([
        Inst::FenceI,
        Inst::Ecall,
        Inst::Ebreak,
        Inst::Udf { code: kiln_ir::trapcode::TrapCode::HEAP_OUT_OF_BOUNDS },
    ]);
    // Floating point.
    for width in FpWidth::ALL {
        for &op in FpuOpRRR::ALL {
            for (k, &(d, a, b)) in trs.iter().enumerate() {
                let rd = if op.int_dst() { xw(d) } else { fw(d) };
                let frm = if op.has_rm() { Frm::ALL[k % 6] } else { Frm::Dyn };
                c.push(Inst::FpuRRR { op, width, frm, rd, rs1: f(a), rs2: f(b) });
            }
        }
        for &op in FpuOpRRRR::ALL {
            for (k, &(d, a, b)) in trs.iter().enumerate() {
                let frm = Frm::ALL[k % 6];
                c.push(Inst::FpuRRRR { op, width, frm, rd: fw(d), rs1: f(a), rs2: f(b), rs3: f((d + a + 1) % 32) });
            }
        }
        let mut rr =
            vec![FpuOpRR::Fsqrt, FpuOpRR::Fclass, FpuOpRR::FmvXF, FpuOpRR::FmvFX, FpuOpRR::Fround, FpuOpRR::Froundnx];
        rr.extend(IntWidth::ALL.iter().map(|&i| FpuOpRR::FcvtToInt(i)));
        rr.extend(IntWidth::ALL.iter().map(|&i| FpuOpRR::FcvtFromInt(i)));
        rr.extend(FpWidth::ALL.iter().filter(|&&w| w != width).map(|&w| FpuOpRR::FcvtFromFloat(w)));
        if width == FpWidth::D {
            rr.push(FpuOpRR::FcvtmodWD);
        }
        for op in rr {
            for (k, &(d, a, _)) in trs.iter().enumerate() {
                let rd = if op.int_dst() { xw(d) } else { fw(d) };
                let rs = if op.int_src() { x(a) } else { f(a) };
                let frm = if op == FpuOpRR::FcvtmodWD {
                    Frm::Rtz
                } else if op.has_rm(width) {
                    Frm::ALL[k % 6]
                } else {
                    Frm::Dyn
                };
                c.push(Inst::FpuRR { op, width, frm, rd, rs });
            }
        }
        for index in 0..32u8 {
            c.push(Inst::Fli { width, rd: fw(index), index });
        }
    }
    // Control flow (label 0 is the start of the case).
    for cond in BranchCond::ALL {
        for &(_, a, b) in trs.iter().step_by(3) {
            c.push(Inst::CondBr { cond, rs1: x(a), rs2: x(b), taken: MachLabel(0), not_taken: MachLabel(0) });
        }
    }
    c.push(Inst::Jal { dest: MachLabel(0) });
    for &(d, a, _) in trs.iter().step_by(2) {
        for offset in [0, 4, -4, 2047, -2048] {
            c.push(Inst::Jalr { rd: xw(d % 2), base: x(a), offset });
            c.push(Inst::Jalr { rd: xw(d), base: x(a), offset });
        }
    }
    c.push(Inst::Rets { rets: vec![], stack_bytes_to_pop: 0 });
    for rd in [1u8, 10, 31] {
        c.push(Inst::LoadAddr { rd: xw(rd), label: MachLabel(0) });
    }
    vector_cases(&mut c);
    c
}

fn vector_cases(c: &mut Vec<Inst>) {
    let trs = triples_small();
    let states = [vst(16, 8), vst(8, 16), vst(4, 32), vst(2, 64), vst(31, 8)];
    for (k, s) in states.into_iter().chain([vst(32, 8), vst(64, 8), vst(2047, 8)]).enumerate() {
        c.push(Inst::VecSetState { rd: xw([0u8, 10, 5][k % 3]), vstate: s });
    }
    let s = vst(4, 32);
    let m = |k: usize| if k % 3 == 2 { VecMaskMode::Masked(v(0)) } else { VecMaskMode::Unmasked };
    for &op in VecAluOpRRR::ALL {
        for (k, &(d, a, b)) in trs.iter().enumerate().step_by(2) {
            let (mut d, a) = (d.max(1), a.max(1));
            // Operations whose destination may not overlap a source get a distinct one
            // (the allocator guarantees it with early defs).
            while op.dst_overlap_forbidden() && (d == a || d == b || d == 0) {
                d = (d + 1) % 32;
            }
            let src1 = match op.src1_file() {
                OperandFile::V => v(b),
                OperandFile::X => x(b),
                OperandFile::F => f(b),
            };
            let mask = if op.is_merge() {
                VecMaskMode::Masked(v(0))
            } else if op.maskable() {
                m(k)
            } else {
                VecMaskMode::Unmasked
            };
            let vstate = states[k % states.len()];
            if op.reads_vd() {
                c.push(Inst::VecAluRRRR { op, vd: vw(d), vd_src: v(d), vs2: v(a), src1, mask, vstate });
            } else {
                c.push(Inst::VecAluRRR { op, vd: vw(d), vs2: v(a), src1, mask, vstate });
            }
        }
    }
    for &op in VecAluOpRRImm5::ALL {
        let imms: &[i8] = if op.imm_unsigned() { &[0, 1, 7, 15, 16, 31] } else { &[0, 1, -1, 15, -16, 5] };
        for (k, &imm) in imms.iter().enumerate() {
            let (d, a, _) = trs[k * 5 % trs.len()];
            let mask = if op.is_merge() { VecMaskMode::Masked(v(0)) } else { m(k) };
            c.push(Inst::VecAluRRImm5 { op, vd: vw(d.max(1)), vs2: v(a), imm, mask, vstate: s });
        }
    }
    for &op in VecAluOpRR::ALL {
        for (k, &(d, a, _)) in trs.iter().enumerate().step_by(3) {
            let vd = match op.dst_file() {
                OperandFile::V => vw(d.max(1)),
                OperandFile::X => xw(d),
                OperandFile::F => fw(d),
            };
            let vs = match op.src_file() {
                OperandFile::V => v(a),
                OperandFile::X => x(a),
                OperandFile::F => f(a),
            };
            let mask = if op.maskable() { m(k) } else { VecMaskMode::Unmasked };
            c.push(Inst::VecAluRR { op, vd, vs, mask, vstate: states[k % states.len()] });
        }
    }
    for imm in [0i8, 1, -1, 15, -16] {
        c.push(Inst::VecAluRImm5 { op: VecAluOpRImm5::VmvVI, vd: vw((imm as u8) & 31), imm, vstate: s });
    }
    for (k, &(d, a, _)) in trs.iter().enumerate() {
        let eew = [8u8, 16, 32, 64][k % 4];
        let vstate = states[k % 4];
        c.push(Inst::VecLoad { eew, vd: vw(d.max(1)), base: x(a), mask: m(k), vstate, trap: None });
        c.push(Inst::VecStore { eew, vs: v(d), base: x(a), mask: m(k), vstate, trap: None });
        c.push(Inst::VecMovWhole { vd: vw(d), vs: v(a) });
        c.push(Inst::VecLoadWhole { vd: vw(d), base: x(a) });
        c.push(Inst::VecStoreWhole { vs: v(d), base: x(a) });
    }
}

/// Does emission of this case record a label use (so that the assembler's choice of
/// branch form matters)?
fn is_branch(inst: &Inst) -> bool {
    matches!(inst, Inst::CondBr { .. } | Inst::Jal { .. })
}

struct Case {
    text: String,
    bytes: Vec<u8>,
    exts: u32,
}

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum Mode {
    Plain,
    C,
    Zcb,
}

fn isa_flags(mode: Mode) -> IsaFlags {
    let mut fl = IsaFlags::new(Arch::Riscv64);
    let mut words =
        vec!["has_zba", "has_zbb", "has_zbc", "has_zbs", "has_zbkb", "has_zicond", "has_zfa", "has_zfh", "has_v"];
    match mode {
        Mode::Plain => {}
        Mode::C => words.push("has_c"),
        Mode::Zcb => words.extend(["has_c", "has_zcb"]),
    }
    for w in words {
        fl.set_word(w).unwrap();
    }
    fl
}

fn emit_case(inst: &Inst, info: &EmitInfo) -> Vec<u8> {
    let mut buf = MachBuffer::new(info.clone());
    buf.reserve_labels(1);
    buf.bind_label(MachLabel(0));
    let mut state = EmitState::default();
    if let Some(s) = kiln_isa::riscv64::emit::required_vstate(inst) {
        state.target.vec.set(s);
    }
    inst.emit(&mut buf, info, &mut state).expect("emit");
    let mut out = FinishedCode::default();
    buf.finish(&mut out).expect("finish");
    out.bytes.truncate(out.code_size as usize);
    out.bytes
}

fn build_cases(mode: Mode) -> Vec<Case> {
    let info = EmitInfo::new(Flags::new(), isa_flags(mode));
    all_cases()
        .into_iter()
        .filter(|i| mode == Mode::Plain || !is_branch(i))
        .map(|inst| {
            let bytes = emit_case(&inst, &info);
            let text = print_inst(&inst);
            let exts = exts_of(&inst);
            Case { text, bytes, exts }
        })
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ")
}

// ---------------------------------------------------------------------------------------
// Assemblers.

#[derive(Clone, Debug)]
enum Assembler {
    Gnu { supported: u32 },
    Llvm { exe: String },
}

/// GNU `as` and the extensions it knows (probed), if installed.
fn gnu() -> Option<Assembler> {
    let dir = std::env::temp_dir();
    let probe = |ext: &str| {
        Command::new("riscv64-linux-gnu-as")
            .arg(format!("-march=rv64gc_{ext}"))
            .arg("-o")
            .arg(dir.join(format!("kiln-rvprobe-{}.o", std::process::id())))
            .arg("/dev/null")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if !probe("zicsr") {
        return None;
    }
    let mut supported = Exts::M | Exts::A | Exts::F | Exts::D;
    for (bit, name) in Exts::NAMES {
        if bit > Exts::D && probe(name) {
            supported |= bit;
        }
    }
    Some(Assembler::Gnu { supported })
}

fn llvm() -> Option<Assembler> {
    for exe in ["llvm-mc-21", "llvm-mc-20", "llvm-mc-19", "llvm-mc-18", "llvm-mc"] {
        let ok = Command::new(exe)
            .args(["-triple=riscv64", "-mattr=+zicond,+zfa,+zcb,+c", "-filetype=obj", "-o", "/dev/null", "/dev/null"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if ok {
            return Some(Assembler::Llvm { exe: exe.to_string() });
        }
    }
    None
}

fn march(exts: u32, mode: Mode) -> String {
    let mut s = String::from("rv64imafd");
    if mode != Mode::Plain {
        s.push('c');
    }
    if exts & Exts::V != 0 {
        s.push('v');
    }
    for (bit, name) in Exts::NAMES {
        if bit > Exts::V && exts & bit != 0 {
            let _ = write!(s, "_{name}");
        }
    }
    if exts & Exts::ZFH != 0 {
        s.push_str("_zfh");
    }
    if exts & Exts::ZFA != 0 {
        s.push_str("_zfa");
    }
    if mode == Mode::Zcb {
        s.push_str("_zcb");
    }
    s
}

fn mattr(exts: u32, mode: Mode) -> String {
    let mut v = vec!["+m".to_string(), "+a".into(), "+f".into(), "+d".into()];
    for (bit, name) in Exts::NAMES {
        if bit > Exts::D && exts & bit != 0 {
            v.push(format!("+{name}"));
        }
    }
    match mode {
        Mode::Plain => {}
        Mode::C => v.push("+c".into()),
        Mode::Zcb => v.extend(["+c".to_string(), "+zcb".into()]),
    }
    v.join(",")
}

/// Assemble the cases with one assembler; returns each case's bytes.
fn assemble(asm: &Assembler, cases: &[&Case], mode: Mode, exts: u32) -> Result<Vec<Vec<u8>>, String> {
    assemble_impl(asm, cases, mode, exts, 0)
}

/// Assemble the branch-form cases (C enabled, `.option rvc`/`norvc` chosen per case) with
/// the code at `text_addr`.
fn assemble_at(asm: &Assembler, cases: &[&Case], text_addr: u64) -> Result<Vec<Vec<u8>>, String> {
    assemble_impl(asm, cases, Mode::C, 0, text_addr)
}

fn assemble_impl(
    asm: &Assembler,
    cases: &[&Case],
    mode: Mode,
    exts: u32,
    text_addr: u64,
) -> Result<Vec<Vec<u8>>, String> {
    let as_cmd: Vec<String> = match asm {
        Assembler::Gnu { .. } => vec!["riscv64-linux-gnu-as".into(), format!("-march={}", march(exts, mode))],
        Assembler::Llvm { exe } => {
            vec![exe.clone(), "-triple=riscv64".into(), format!("-mattr={}", mattr(exts, mode)), "-filetype=obj".into()]
        }
    };
    let as_cmd: Vec<&str> = as_cmd.iter().map(String::as_str).collect();
    let ttext = format!("-Ttext={text_addr:#x}");
    let ld = ["riscv64-linux-gnu-ld", "--no-relax", ttext.as_str(), "-Tdata=0x40000000", "-e", "0"];
    let gas = common::Gas {
        as_cmd: &as_cmd,
        objcopy: "riscv64-linux-gnu-objcopy",
        header: if text_addr == 0 { ".option norelax" } else { ".option norelax\n.option norvc" },
        tag: "rv64enc",
    };
    let snippets: Vec<String> =
        cases.iter().enumerate().map(|(i, c)| c.text.replace("label0", &format!(".Ls{i}"))).collect();
    gas.assemble_linked(&snippets, Some(&ld))
}

/// The one known case where Kiln compresses and the assembler does not: `packw rd, rd,
/// zero` is the very word of Zbb's `zext.h rd, rd`, which Zcb compresses to `c.zext.h`;
/// llvm-mc only compresses it when written as `zext.h` (and GNU `as` 2.40 lacks Zcb).
fn assembler_misses_compression(text: &str, mode: Mode, kiln: &[u8]) -> bool {
    let (m, ops) = operands(&norm(text));
    let creg = |r: &str| ["s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5"].contains(&r);
    mode == Mode::Zcb && m == "packw" && ops[1] == ops[0] && ops[2] == "zero" && creg(&ops[0]) && kiln.len() == 2
}

/// Check one run against the assemblers: every assembler that knows a case's extensions
/// assembles it (with every extension of the run enabled, since compression depends on
/// them). A case passes when its bytes equal every assembler's, or, where the assemblers
/// disagree with each other (each picks its own valid compression), one of them.
/// Returns (cases checked, cases where the assemblers disagreed, failures).
fn check_with_assemblers(cases: &[Case], mode: Mode) -> (usize, usize, Vec<String>) {
    let mut failures = Vec::new();
    let all_exts = cases.iter().fold(0, |a, c| a | c.exts);
    let mut results: Vec<Vec<(&'static str, Vec<u8>)>> = vec![Vec::new(); cases.len()];
    let gnu = gnu();
    let llvm = llvm();
    if gnu.is_none() && llvm.is_none() {
        failures.push(
            "neither riscv64-linux-gnu-as nor llvm-mc found (install binutils-riscv64-linux-gnu and llvm, \
             or set KILN_SKIP_AS=1)"
                .to_string(),
        );
    }
    for (name, asm) in [("as", gnu), ("llvm-mc", llvm)] {
        let Some(asm) = asm else { continue };
        let idx: Vec<usize> = match &asm {
            // binutils 2.40 lacks Zcb: compression there would differ for every case.
            Assembler::Gnu { supported } if mode != Mode::Zcb => {
                (0..cases.len()).filter(|&i| cases[i].exts & !supported == 0).collect()
            }
            Assembler::Gnu { .. } => Vec::new(),
            Assembler::Llvm { .. } => (0..cases.len()).collect(),
        };
        if idx.is_empty() {
            continue;
        }
        let group: Vec<&Case> = idx.iter().map(|&i| &cases[i]).collect();
        let exts = match &asm {
            Assembler::Gnu { supported } => all_exts & supported,
            Assembler::Llvm { .. } => all_exts,
        };
        match assemble(&asm, &group, mode, exts) {
            Ok(bytes) => {
                for (i, b) in idx.into_iter().zip(bytes) {
                    results[i].push((name, b));
                }
            }
            Err(e) => failures.push(format!("{mode:?} {name} error: {e}")),
        }
    }
    let (mut checked, mut disagree) = (0, 0);
    let mut examples = Vec::new();
    for (c, res) in cases.iter().zip(&results) {
        if res.is_empty() {
            if failures.is_empty() {
                failures.push(format!("{mode:?}: no assembler knows the extensions of `{}` (install llvm)", c.text));
            }
            continue;
        }
        checked += 1;
        let all_equal = res.iter().all(|(_, b)| *b == c.bytes);
        let any_equal = res.iter().any(|(_, b)| *b == c.bytes);
        let they_agree = res.windows(2).all(|w| w[0].1 == w[1].1);
        if all_equal {
            continue;
        }
        if (any_equal && !they_agree) || assembler_misses_compression(&c.text, mode, &c.bytes) {
            disagree += 1;
            let m = c.text.split_whitespace().next().unwrap_or("");
            if !examples.iter().any(|e: &String| e.starts_with(&format!("{m} "))) {
                let theirs: Vec<String> = res.iter().map(|(n, b)| format!("{n} [{}]", hex(b))).collect();
                examples.push(format!("{} -> kiln [{}], {}", c.text, hex(&c.bytes), theirs.join(", ")));
            }
            continue;
        }
        let theirs: Vec<String> = res.iter().map(|(n, b)| format!("{n}: [{}]", hex(b))).collect();
        failures.push(format!("{mode:?} mismatch: {:<40} {}  kiln: [{}]", c.text, theirs.join(" "), hex(&c.bytes)));
    }
    for e in &examples {
        eprintln!("riscv64 encoding: {mode:?}: accepted divergence: {e}");
    }
    (checked, disagree, failures)
}

// ---------------------------------------------------------------------------------------
// Capstone comparison.

/// Normalize an instruction text: no spaces, and the aliases capstone prints mapped back.
fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").replace(", ", ",")
}

fn capstone_ok(ext: u32) -> bool {
    ext & !(Exts::M | Exts::A | Exts::F | Exts::D) == 0
}

/// Capstone's text for the bytes of one instruction, without aliases where it has them.
fn capstone_check(cases: &[Case]) -> (usize, Vec<String>) {
    let cs = Capstone::new()
        .riscv()
        .mode(arch::riscv::ArchMode::RiscV64)
        .extra_mode([arch::riscv::ArchExtraMode::RiscVC].into_iter())
        .build()
        .expect("capstone");
    let mut failures = Vec::new();
    let mut n = 0;
    for c in cases.iter().filter(|c| capstone_ok(c.exts)) {
        let insns = match cs.disasm_all(&c.bytes, 0) {
            Ok(i) => i,
            Err(e) => {
                failures.push(format!("{}: capstone error {e}", c.text));
                continue;
            }
        };
        n += 1;
        let theirs: Vec<String> = insns
            .iter()
            .map(|i| norm(&format!("{} {}", i.mnemonic().unwrap_or(""), i.op_str().unwrap_or(""))))
            .collect();
        let total: usize = insns.iter().map(|i| i.bytes().len()).sum();
        let mine: Vec<String> = c.text.split(" ; ").map(norm).collect();
        // Label operands print as numbers in capstone; `lla` and label loads expand to two
        // instructions: for those only the length is compared.
        let loose = c.text.contains("label");
        let ok = total == c.bytes.len()
            && (loose
                || mine.len() == theirs.len()
                    && mine
                        .iter()
                        .zip(&insns.iter().collect::<Vec<_>>())
                        .zip(&theirs)
                        .all(|((a, i), b)| insn_match(a, b, i.bytes().len() == 2)));
        if !ok {
            failures.push(format!("{:<44} [{}]  capstone: {}", c.text, hex(&c.bytes), theirs.join(" ; ")));
        }
    }
    (n, failures)
}

/// Mnemonic and operands of a normalized instruction text.
fn operands(s: &str) -> (String, Vec<String>) {
    let (m, rest) = s.split_once(' ').unwrap_or((s, ""));
    let ops = rest.split(',').map(|o| o.trim().to_string()).filter(|o| !o.is_empty()).collect();
    (m.to_string(), ops)
}

fn num(s: &str) -> Option<i64> {
    let (neg, t) = s.strip_prefix('-').map_or((false, s), |t| (true, t));
    let v = if let Some(h) = t.strip_prefix("0x") { i64::from_str_radix(h, 16).ok()? } else { t.parse().ok()? };
    Some(if neg { -v } else { v })
}

/// Numbers in decimal (also the offsets of memory operands).
fn canon_operand(o: &str) -> String {
    if let Some((off, rest)) = o.split_once('(')
        && let Some(n) = num(off)
    {
        return format!("{n}({rest}");
    }
    num(o).map_or_else(|| o.to_string(), |n| n.to_string())
}

/// The base instruction of a compressed mnemonic as capstone prints it.
fn expand_compressed(m: &str, ops: Vec<String>) -> (String, Vec<String>) {
    let base = m.trim_start_matches("c.");
    let o = |i: usize| ops.get(i).cloned().unwrap_or_default();
    let z = || "zero".to_string();
    let (m, ops) = match base {
        "addi" | "addiw" | "slli" | "srli" | "srai" | "andi" | "add" | "sub" | "xor" | "or" | "and" | "subw"
        | "addw" | "mul" => (base, vec![o(0), o(0), o(1)]),
        "li" => ("addi", vec![o(0), z(), o(1)]),
        "mv" => ("add", vec![o(0), z(), o(1)]),
        "addi16sp" => ("addi", vec![o(0), o(0), o(1)]),
        "addi4spn" => ("addi", vec![o(0), o(1), o(2)]),
        "lwsp" | "ldsp" | "fldsp" | "swsp" | "sdsp" | "fsdsp" => (base.trim_end_matches("sp"), ops),
        "jr" => ("jalr", vec![z(), format!("0({})", o(0))]),
        "jalr" => ("jalr", vec!["ra".into(), format!("0({})", o(0))]),
        "nop" => ("addi", vec![z(), z(), "0".into()]),
        _ => (base, ops),
    };
    (m.to_string(), ops)
}

/// One canonical spelling for the aliases either side may use.
fn canon(m: &str, ops: Vec<String>) -> (String, Vec<String>) {
    let ops: Vec<String> = ops.iter().map(|o| canon_operand(o)).collect();
    let o = |i: usize| ops.get(i).cloned().unwrap_or_default();
    let z = || "zero".to_string();
    let (m, mut ops): (String, Vec<String>) = match (m, ops.len()) {
        ("mv", 2) => ("addi".into(), vec![o(0), o(1), "0".into()]),
        ("li", 2) => ("addi".into(), vec![o(0), z(), o(1)]),
        ("nop", 0) => ("addi".into(), vec![z(), z(), "0".into()]),
        ("neg", 2) => ("sub".into(), vec![o(0), z(), o(1)]),
        ("negw", 2) => ("subw".into(), vec![o(0), z(), o(1)]),
        ("sltz", 2) => ("slt".into(), vec![o(0), o(1), z()]),
        ("sgtz", 2) => ("slt".into(), vec![o(0), z(), o(1)]),
        ("snez", 2) => ("sltu".into(), vec![o(0), z(), o(1)]),
        ("seqz", 2) => ("sltiu".into(), vec![o(0), o(1), "1".into()]),
        ("not", 2) => ("xori".into(), vec![o(0), o(1), "-1".into()]),
        ("sext.w", 2) => ("addiw".into(), vec![o(0), o(1), "0".into()]),
        ("zext.b", 2) => ("andi".into(), vec![o(0), o(1), "255".into()]),
        ("fence", 0) => ("fence".into(), vec!["iorw".into(), "iorw".into()]),
        ("ret", 0) => ("jalr".into(), vec![z(), "0(ra)".into()]),
        ("jr", 1) => ("jalr".into(), vec![z(), format!("0({})", o(0))]),
        ("jalr", 1) => ("jalr".into(), vec!["ra".into(), format!("0({})", o(0))]),
        ("jalr", 3) => ("jalr".into(), vec![o(0), format!("{}({})", o(2), o(1))]),
        (f, 2) if f.starts_with("fmv.") && f.len() == 5 => (format!("fsgnj.{}", &f[4..]), vec![o(0), o(1), o(1)]),
        (f, 2) if f.starts_with("fneg.") => (format!("fsgnjn.{}", &f[5..]), vec![o(0), o(1), o(1)]),
        (f, 2) if f.starts_with("fabs.") => (format!("fsgnjx.{}", &f[5..]), vec![o(0), o(1), o(1)]),
        _ => (m.to_string(), ops.clone()),
    };
    // `add rd, zero, rs` / `add rd, rs, zero` / `addiw rd, zero, imm` are moves and `li`s.
    if m == "add" && ops.len() == 3 && (ops[1] == "zero" || ops[2] == "zero") && ops[1] != ops[2] {
        let src = if ops[1] == "zero" { ops[2].clone() } else { ops[1].clone() };
        return ("addi".into(), vec![ops[0].clone(), src, "0".into()]);
    }
    if m == "addiw" && ops.len() == 3 && ops[1] == "zero" {
        return ("addi".into(), ops);
    }
    if ["add", "and", "or", "xor", "addw", "mul"].contains(&m.as_str()) && ops.len() == 3 && ops[1] > ops[2] {
        ops.swap(1, 2);
    }
    (m, ops)
}

/// Does capstone's `theirs` read as Kiln's `mine`?
fn insn_match(mine: &str, theirs: &str, compressed: bool) -> bool {
    let (m1, o1) = operands(mine);
    let (m2, o2) = operands(theirs);
    let (m2, o2) = if compressed && m2.starts_with("c.") { expand_compressed(&m2, o2) } else { (m2, o2) };
    let (m1, o1) = canon(&m1, o1);
    let (m2, o2) = canon(&m2, o2);
    // Capstone spells the AMO ordering bits as separate suffixes of its own.
    let mnem_ok = m1 == m2
        || (m1.starts_with("amo") || m1.starts_with("lr.") || m1.starts_with("sc."))
            && m1.replace('.', "") == m2.replace('.', "");
    mnem_ok && common::operands_match(&o1.join(","), &o2.join(","))
}

#[test]
fn encodings_match_the_assemblers_and_capstone() {
    let skip_as = std::env::var("KILN_SKIP_AS").map(|v| v == "1").unwrap_or(false);
    let mut failures = Vec::new();
    let mut summary = Vec::new();
    for mode in [Mode::Plain, Mode::C, Mode::Zcb] {
        let cases = build_cases(mode);
        let forms: std::collections::HashSet<String> =
            cases.iter().map(|c| c.text.split_whitespace().next().unwrap_or("").to_string()).collect();
        let ncomp = cases.iter().filter(|c| c.bytes.len() == 2).count();
        let mut line = format!("{mode:?}: {} instances of {} mnemonics ({ncomp} compressed)", cases.len(), forms.len());
        if !skip_as {
            let (n, d, f) = check_with_assemblers(&cases, mode);
            let _ = write!(line, ", {n} assembled ({d} accepted assembler divergences), {} mismatches", f.len());
            failures.extend(f);
        }
        if mode != Mode::Zcb {
            let (n, f) = capstone_check(&cases);
            let _ = write!(line, ", {n} through capstone, {} mismatches", f.len());
            failures.extend(f.into_iter().map(|f| format!("{mode:?} capstone mismatch: {f}")));
        }
        summary.push(line);
    }
    for s in &summary {
        eprintln!("riscv64 encoding: {s}");
    }
    common::report_failures(&failures, 30, 120);
}

/// The name of a 2-byte instruction (C/Zca, Zcd, Zcb), from its quadrant and fields.
fn compressed_name(h: u16) -> &'static str {
    let f3 = h >> 13;
    let q = h & 3;
    let rd = (h >> 7) & 31;
    let rs2 = (h >> 2) & 31;
    match (q, f3) {
        (0, 0) if h == 0 => "c.unimp",
        (0, 0) => "c.addi4spn",
        (0, 1) => "c.fld",
        (0, 2) => "c.lw",
        (0, 3) => "c.ld",
        (0, 4) => match (h >> 10) & 7 {
            0 => "c.lbu",
            1 if h & 0x40 == 0 => "c.lhu",
            1 => "c.lh",
            2 => "c.sb",
            3 => "c.sh",
            _ => "?",
        },
        (0, 5) => "c.fsd",
        (0, 6) => "c.sw",
        (0, 7) => "c.sd",
        (1, 0) if rd == 0 => "c.nop",
        (1, 0) => "c.addi",
        (1, 1) => "c.addiw",
        (1, 2) => "c.li",
        (1, 3) if rd == 2 => "c.addi16sp",
        (1, 3) => "c.lui",
        (1, 4) => match ((h >> 10) & 3, (h >> 12) & 1, (h >> 5) & 3) {
            (0, _, _) => "c.srli",
            (1, _, _) => "c.srai",
            (2, _, _) => "c.andi",
            (3, 0, 0) => "c.sub",
            (3, 0, 1) => "c.xor",
            (3, 0, 2) => "c.or",
            (3, 0, 3) => "c.and",
            (3, 1, 0) => "c.subw",
            (3, 1, 1) => "c.addw",
            (3, 1, 2) => "c.mul",
            (3, 1, 3) => {
                ["c.zext.b", "c.sext.b", "c.zext.h", "c.sext.h", "c.zext.w", "c.not", "?", "?"][rs2 as usize & 7]
            }
            _ => "?",
        },
        (1, 5) => "c.j",
        (1, 6) => "c.beqz",
        (1, 7) => "c.bnez",
        (2, 0) => "c.slli",
        (2, 1) => "c.fldsp",
        (2, 2) => "c.lwsp",
        (2, 3) => "c.ldsp",
        (2, 4) => match ((h >> 12) & 1, rd, rs2) {
            (0, _, 0) => "c.jr",
            (0, _, _) => "c.mv",
            (1, 0, 0) => "c.ebreak",
            (1, _, 0) => "c.jalr",
            _ => "c.add",
        },
        (2, 5) => "c.fsdsp",
        (2, 6) => "c.swsp",
        (2, 7) => "c.sdsp",
        _ => "?",
    }
}

/// Every 2-byte form that compression can produce appears among the cases (the branch
/// forms are covered by `branch_forms_match_gnu_as`).
#[test]
fn every_compressed_form_is_covered() {
    let cases = build_cases(Mode::Zcb);
    let seen: std::collections::HashSet<&str> = cases
        .iter()
        .filter(|c| c.bytes.len() == 2)
        .map(|c| compressed_name(u16::from_le_bytes([c.bytes[0], c.bytes[1]])))
        .collect();
    let expected = [
        "c.unimp",
        "c.addi4spn",
        "c.fld",
        "c.lw",
        "c.ld",
        "c.lbu",
        "c.lhu",
        "c.lh",
        "c.sb",
        "c.sh",
        "c.fsd",
        "c.sw",
        "c.sd",
        "c.nop",
        "c.addi",
        "c.addiw",
        "c.li",
        "c.addi16sp",
        "c.lui",
        "c.srli",
        "c.srai",
        "c.andi",
        "c.sub",
        "c.xor",
        "c.or",
        "c.and",
        "c.subw",
        "c.addw",
        "c.mul",
        "c.zext.b",
        "c.sext.b",
        "c.zext.h",
        "c.sext.h",
        "c.zext.w",
        "c.not",
        "c.slli",
        "c.fldsp",
        "c.lwsp",
        "c.ldsp",
        "c.jr",
        "c.mv",
        "c.ebreak",
        "c.jalr",
        "c.add",
        "c.fsdsp",
        "c.swsp",
        "c.sdsp",
    ];
    let missing: Vec<&&str> = expected.iter().filter(|e| !seen.contains(**e)).collect();
    assert!(missing.is_empty(), "compressed forms never produced: {missing:?}");
    assert!(!seen.contains("?"), "an unknown 2-byte encoding was produced");
}

/// Every branch and jump form of the relaxation ladders, at the edges of its reach, against
/// the assembler (targets are `start + offset`, resolved by the linker).
#[test]
fn branch_forms_match_the_assembler() {
    use kiln_isa::riscv64::emit::{CondForm, JumpForm};
    use smallvec::SmallVec;
    if std::env::var("KILN_SKIP_AS").map(|v| v == "1").unwrap_or(false) {
        return;
    }
    let asm = gnu().or_else(llvm).expect("riscv64-linux-gnu-as or llvm-mc is needed (or KILN_SKIP_AS=1)");
    let target = |off: i64| if off < 0 { format!("label0-{}", -off) } else { format!("label0+{off}") };
    let pcrel_pair =
        |off: i64| format!("label0_p: auipc t6,%pcrel_hi({})\njalr zero,%pcrel_lo(label0_p)(t6)", target(off));
    let mut cases = Vec::new();
    let big = [-0x7000_0000i64, 0x7000_0000, 0x7ff, 0x800, -0x800, -0x801, 0x12_3456, -0x12_3456];
    for (form, offs) in [
        (JumpForm::CJ, vec![-2048i64, 2046, 0, -2, 100]),
        (JumpForm::Jal, vec![-(1 << 20), (1 << 20) - 2, 0, 4096, -6]),
        (JumpForm::AuipcJalr, big.to_vec()),
    ] {
        for off in offs {
            let mut b = SmallVec::new();
            form.encode(off, &mut b).expect("in range");
            let text = match form {
                JumpForm::CJ => format!(".option rvc\nc.j {}\n.option norvc", target(off)),
                JumpForm::Jal => format!("jal zero,{}", target(off)),
                JumpForm::AuipcJalr => pcrel_pair(off),
            };
            cases.push(Case { text, bytes: b.to_vec(), exts: 0 });
        }
        // Out of reach: no bytes.
        let beyond = form.label_use().max_pos_range() + 2;
        assert!(form.encode(beyond, &mut SmallVec::new()).is_none(), "{form:?} {beyond}");
    }
    let conds = BranchCond::ALL;
    for (k, (form, offs)) in [
        (CondForm::CBz, vec![-256i64, 254, 0, -2, 100]),
        (CondForm::B, vec![-4096, 4094, 0, 2, -1000]),
        (CondForm::InvBJal, vec![-(1 << 20) + 4, (1 << 20) + 2, 8, -4, 5000]),
        (CondForm::InvBAuipcJalr, big.iter().map(|o| o + 4).collect()),
    ]
    .into_iter()
    .enumerate()
    {
        for (j, off) in offs.into_iter().enumerate() {
            let (rs1, rs2) = if form == CondForm::CBz {
                (8 + j as u8, 0u8)
            } else {
                ((j * 7 + k) as u8 % 32, (j * 3 + 1) as u8 % 32)
            };
            let cond = if form == CondForm::CBz { [BranchCond::Eq, BranchCond::Ne][j % 2] } else { conds[(j + k) % 6] };
            let mut b = SmallVec::new();
            form.encode(cond, rs1, rs2, off, &mut b).expect("in range");
            let (r1, r2) =
                (kiln_isa::riscv64::regs::X_NAMES[rs1 as usize], kiln_isa::riscv64::regs::X_NAMES[rs2 as usize]);
            let inv = cond.invert().name();
            let text = match form {
                CondForm::CBz => {
                    let m = if cond == BranchCond::Eq { "c.beqz" } else { "c.bnez" };
                    format!(".option rvc\n{m} {r1},{}\n.option norvc", target(off))
                }
                CondForm::B => format!("{} {r1},{r2},{}", cond.name(), target(off)),
                CondForm::InvBJal => format!("{inv} {r1},{r2},.+8\njal zero,{}", target(off)),
                CondForm::InvBAuipcJalr => format!("{inv} {r1},{r2},.+12\n{}", pcrel_pair(off)),
            };
            cases.push(Case { text, bytes: b.to_vec(), exts: 0 });
        }
    }
    let refs: Vec<&Case> = cases.iter().collect();
    let got = assemble_at(&asm, &refs, 0x8000_0000).unwrap_or_else(|e| panic!("{e}"));
    let mut failures = Vec::new();
    for (c, g) in cases.iter().zip(&got) {
        if *g != c.bytes {
            failures.push(format!("{:<60} asm: [{}] kiln: [{}]", c.text.replace('\n', " ; "), hex(g), hex(&c.bytes)));
        }
    }
    eprintln!("riscv64 branch forms: {} instances, {} mismatches", cases.len(), failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn emit_seq(insts: &[Inst], info: &EmitInfo, labels: usize) -> FinishedCode {
    let mut buf = MachBuffer::new(info.clone());
    buf.reserve_labels(labels);
    let mut state = EmitState::default();
    for i in insts {
        i.emit(&mut buf, info, &mut state).expect("emit");
    }
    let mut out = FinishedCode::default();
    buf.finish(&mut out).expect("finish");
    out
}

/// Branches relax from their short to their long form when the target is out of reach,
/// and every form lands on its target.
#[test]
fn branches_relax_through_the_buffer() {
    use kiln_isa::riscv64::encode::{b12_offset, jal20_offset};
    let info = EmitInfo::new(Flags::new(), isa_flags(Mode::Plain));
    for gap in [16usize, 4000, 5000, (1 << 20) - 64, 1 << 20] {
        let mut buf = MachBuffer::new(info.clone());
        buf.reserve_labels(2);
        let mut state = EmitState::default();
        buf.bind_label(MachLabel(0));
        Inst::CondBr { cond: BranchCond::Lt, rs1: x(10), rs2: x(11), taken: MachLabel(1), not_taken: MachLabel(0) }
            .emit(&mut buf, &info, &mut state)
            .unwrap();
        for _ in 0..gap / 4 {
            Inst::Nop.emit(&mut buf, &info, &mut state).unwrap();
        }
        buf.bind_label(MachLabel(1));
        Inst::Jal { dest: MachLabel(0) }.emit(&mut buf, &info, &mut state).unwrap();
        let mut out = FinishedCode::default();
        buf.finish(&mut out).expect("finish");
        let word = |o: usize| u32::from_le_bytes(out.bytes[o..o + 4].try_into().unwrap());
        let target = out.label_offsets[1] as i64;
        // The conditional branch: short (blt), middle (bge +8; jal) or long (bge +12;
        // auipc; jalr), the first form of its ladder that reaches.
        let w0 = word(0);
        if target <= 4094 {
            assert_eq!(w0 & 0x707f, 0x4063, "blt");
            assert_eq!(b12_offset(w0) as i64, target);
        } else if target - 4 < 1 << 20 {
            assert_eq!(w0 & 0x707f, 0x5063, "bge (inverted)");
            assert_eq!(b12_offset(w0), 8);
            assert_eq!(4 + jal20_offset(word(4)) as i64, target);
        } else {
            assert_eq!(w0 & 0x707f, 0x5063, "bge (inverted)");
            assert_eq!(b12_offset(w0), 12);
            let (auipc, jalr) = (word(4), word(8));
            let hi = (auipc & 0xffff_f000) as i32 as i64;
            let lo = (jalr as i32 >> 20) as i64;
            assert_eq!(4 + hi + lo, target);
        }
        // The backward jump at the end: jal within 1 MiB, auipc+jalr beyond.
        let at = target as usize;
        let back = -(target);
        if back >= -(1 << 20) {
            assert_eq!(jal20_offset(word(at)) as i64, back);
        } else {
            let hi = (word(at) & 0xffff_f000) as i32 as i64;
            let lo = (word(at + 4) as i32 >> 20) as i64;
            assert_eq!(hi + lo, back);
        }
    }
}

/// A fall-through branch disappears; a branch to the next block inverts.
#[test]
fn branches_to_the_next_block_are_elided() {
    let info = EmitInfo::new(Flags::new(), isa_flags(Mode::Plain));
    let br = Inst::CondBr { cond: BranchCond::Eq, rs1: x(10), rs2: x(0), taken: MachLabel(1), not_taken: MachLabel(2) };
    let mut buf = MachBuffer::new(info.clone());
    buf.reserve_labels(3);
    let mut state = EmitState { next_block: Some(MachLabel(1)), ..Default::default() };
    buf.bind_label(MachLabel(0));
    br.emit(&mut buf, &info, &mut state).unwrap();
    buf.bind_label(MachLabel(1));
    buf.bind_label(MachLabel(2));
    let mut out = FinishedCode::default();
    buf.finish(&mut out).unwrap();
    // Only `bne a0, zero, label2` remains.
    assert_eq!(out.bytes.len(), 4);
    assert_eq!(u32::from_le_bytes(out.bytes[..4].try_into().unwrap()) & 0x01ff_f07f, 0x0005_1063);
}

/// `vsetivli` is inserted before a vector instruction exactly when the state changes, and
/// the state is forgotten at block starts.
#[test]
fn vsetvli_is_inserted_on_state_changes() {
    let info = EmitInfo::new(Flags::new(), isa_flags(Mode::Plain));
    let a = vst(4, 32);
    let b = vst(16, 8);
    let add = |s: VState| Inst::VecAluRRR {
        op: VecAluOpRRR::VaddVV,
        vd: vw(1),
        vs2: v(2),
        src1: v(3),
        mask: VecMaskMode::Unmasked,
        vstate: s,
    };
    let mut buf = MachBuffer::new(info.clone());
    let mut state = EmitState::default();
    let mut emit = |i: &Inst, state: &mut EmitState| i.emit(&mut buf, &info, state).unwrap();
    emit(&add(a), &mut state); // vsetivli + vadd
    emit(&add(a), &mut state); // vadd
    emit(&Inst::VecMovWhole { vd: vw(4), vs: v(5) }, &mut state); // state-independent
    emit(&add(b), &mut state); // vsetivli + vadd
    state.target.on_block_start();
    emit(&add(b), &mut state); // vsetivli + vadd
    let mut out = FinishedCode::default();
    buf.finish(&mut out).unwrap();
    let words: Vec<u32> = out.bytes.chunks(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect();
    let is_vset = |w: u32| w & 0xc000_707f == 0xc000_7057;
    let pattern: Vec<bool> = words.iter().map(|&w| is_vset(w)).collect();
    assert_eq!(pattern, [true, false, false, false, true, false, true, false]);
    assert_eq!(words[0], 0xcd02_7057, "vsetivli zero, 4, e32, m1, ta, ma");
}

/// Symbol addresses record the pcrel_hi20/lo12 relocation pair; trapping accesses record
/// their trap site at the access itself (after any address arithmetic).
#[test]
fn relocations_and_trap_sites() {
    use kiln_codegen::machinst::buffer::{Reloc, RelocTarget};
    use kiln_ir::trapcode::TrapCode;
    let info = EmitInfo::new(Flags::new(), isa_flags(Mode::C));
    let name = RelocTarget::User { namespace: 0, index: 7 };
    let insts = [
        Inst::LoadExtName { rd: xw(10), name: name.clone(), offset: 16 },
        Inst::Load {
            op: LoadOp::Ld,
            rd: xw(11),
            from: AMode::RegOffset(x(12), 0x12345),
            trap: Some(TrapCode::HEAP_OUT_OF_BOUNDS),
        },
        Inst::Udf { code: TrapCode::INTEGER_OVERFLOW },
    ];
    let out = emit_seq(&insts, &info, 0);
    assert_eq!(out.relocs.len(), 2);
    assert_eq!((out.relocs[0].offset, out.relocs[0].kind), (0, Reloc::RiscvPCRelHi20));
    assert_eq!((out.relocs[1].offset, out.relocs[1].kind), (4, Reloc::RiscvPCRelLo12I));
    assert_eq!((&out.relocs[0].target, out.relocs[0].addend), (&name, 16));
    // The lo12 half refers to its auipc, as ELF's R_RISCV_PCREL_LO12_I does.
    assert_eq!((&out.relocs[1].target, out.relocs[1].addend), (&RelocTarget::CodeOffset(0), 0));
    // c.lui t6, 0x12; c.add t6, a2; ld a1, 0x345(t6); c.unimp.
    assert_eq!(out.traps.len(), 2);
    assert_eq!(out.traps[0].offset, 8 + 2 + 2);
    assert_eq!(out.traps[0].code, TrapCode::HEAP_OUT_OF_BOUNDS);
    assert_eq!(out.traps[1].offset, 8 + 2 + 2 + 4);
    assert_eq!(&out.bytes[out.traps[1].offset as usize..], &[0, 0]);
}

/// Operands outside their fields or in the wrong register file are errors, not other
/// instructions.
#[test]
fn bad_operands_are_errors() {
    let info = EmitInfo::new(Flags::new(), isa_flags(Mode::Plain));
    let bad = [
        Inst::AluRRImm { op: AluOpRRI::Addi, rd: xw(10), rs: x(10), imm: 2048 },
        Inst::AluRRImm { op: AluOpRRI::Slliw, rd: xw(10), rs: x(10), imm: 32 },
        Inst::AluRRR { op: AluOpRRR::Add, rd: fw(10), rs1: x(10), rs2: x(11) },
        Inst::Load { op: LoadOp::Fld, rd: xw(10), from: AMode::RegOffset(x(2), 0), trap: None },
        Inst::Jalr { rd: xw(1), base: x(10), offset: -2049 },
        Inst::Lui { rd: xw(10), imm20: 0x10_0000 },
        Inst::VecAluRRImm5 {
            op: VecAluOpRRImm5::VaddVI,
            vd: vw(1),
            vs2: v(2),
            imm: 16,
            mask: VecMaskMode::Unmasked,
            vstate: vst(4, 32),
        },
        Inst::VecAluRRR {
            op: VecAluOpRRR::VmandMM,
            vd: vw(1),
            vs2: v(2),
            src1: v(3),
            mask: VecMaskMode::Masked(v(0)),
            vstate: vst(4, 32),
        },
        Inst::VecAluRRR {
            op: VecAluOpRRR::VmaccVV,
            vd: vw(1),
            vs2: v(2),
            src1: v(3),
            mask: VecMaskMode::Unmasked,
            vstate: vst(4, 32),
        },
    ];
    for i in bad {
        let mut buf = MachBuffer::new(info.clone());
        let mut state = EmitState::default();
        assert!(i.emit(&mut buf, &info, &mut state).is_err(), "{i:?}");
        assert_eq!(buf.data_len(), 0, "nothing emitted for {i:?}");
    }
}

/// No instruction emits more than `WORST_CASE_INST_SIZE` bytes, even with the longest
/// address arithmetic and a `vsetvli` in front.
#[test]
fn worst_case_size_bounds_every_instruction() {
    use kiln_isa::riscv64::emit::WORST_CASE_INST_SIZE;
    let info = EmitInfo::new(Flags::new(), isa_flags(Mode::Plain));
    let mut insts = all_cases();
    for off in [0x0123_4567_89ab_cdefi64, i64::MIN + 1, 0x5555_5555_5555_5555, -0x7654_3210_fedc_ba98] {
        insts.push(Inst::Load { op: LoadOp::Ld, rd: xw(10), from: AMode::RegOffset(x(11), off), trap: None });
        insts.push(Inst::Store { op: StoreOp::Fsd, src: f(1), to: AMode::RegOffset(x(11), off), trap: None });
    }
    insts.push(Inst::VecSetState { rd: xw(0), vstate: VState { avl: u32::MAX, vtype: vst(4, 32).vtype } });
    let mut longest = 0;
    for i in &insts {
        let mut buf = MachBuffer::new(info.clone());
        buf.reserve_labels(1);
        buf.bind_label(MachLabel(0));
        let mut state = EmitState::default(); // unknown vector state: vsetvli included
        i.emit(&mut buf, &info, &mut state).expect("emit");
        let mut out = FinishedCode::default();
        buf.finish(&mut out).unwrap();
        longest = longest.max(out.code_size);
        assert!(out.code_size <= WORST_CASE_INST_SIZE, "{} bytes: {}", out.code_size, print_inst(i));
    }
    assert!(longest >= 32, "the sweep reaches the long forms ({longest})");
}

/// Each ladder grows in reach and size, and `reach()` is exactly what `encode` accepts.
#[test]
fn branch_ladders_are_consistent() {
    use kiln_isa::riscv64::emit::{CondForm, JumpForm};
    use kiln_isa::riscv64::encode::CompressExts;
    use smallvec::SmallVec;
    let c = CompressExts { zca: true, ..CompressExts::NONE };
    let jumps = JumpForm::ladder(c);
    assert_eq!(jumps.len(), 3);
    assert_eq!(JumpForm::ladder(CompressExts::NONE), &[JumpForm::Jal, JumpForm::AuipcJalr]);
    for w in jumps.windows(2) {
        assert!(w[0].size() < w[1].size() && w[0].reach().0 > w[1].reach().0 && w[0].reach().1 < w[1].reach().1);
    }
    for f in jumps {
        let (lo, hi) = f.reach();
        for (d, ok) in [(lo, true), (hi, true), (lo - 2, false), (hi + 2, false)] {
            assert_eq!(f.encode(d, &mut SmallVec::new()).is_some(), ok, "{f:?} {d}");
        }
    }
    let conds = CondForm::ladder(BranchCond::Ne, 9, 0, c);
    assert_eq!(conds.len(), 4);
    assert_eq!(CondForm::ladder(BranchCond::Lt, 9, 0, c).len(), 3, "c.bnez/c.beqz only for eq/ne");
    assert_eq!(CondForm::ladder(BranchCond::Ne, 5, 0, c).len(), 3, "c.bnez only for x8-x15");
    assert_eq!(CondForm::ladder(BranchCond::Ne, 9, 0, CompressExts::NONE).len(), 3);
    for w in conds.windows(2) {
        assert!(w[0].size() < w[1].size() && w[0].reach().0 > w[1].reach().0 && w[0].reach().1 < w[1].reach().1);
    }
    for f in conds {
        let (lo, hi) = f.reach();
        for (d, ok) in [(lo, true), (hi, true), (lo - 2, false), (hi + 2, false)] {
            assert_eq!(f.encode(BranchCond::Ne, 9, 0, d, &mut SmallVec::new()).is_some(), ok, "{f:?} {d}");
        }
    }
}

/// With Zca the ladder starts at `c.beqz` (±256 B) and `c.j` (±2 KiB): the buffer picks
/// them when the target is near, the 4-byte forms when it is not.
#[test]
fn compressed_branches_through_the_buffer() {
    let info = EmitInfo::new(Flags::new(), isa_flags(Mode::C));
    for (gap, compressed) in [(16usize, true), (200, true), (400, false)] {
        let mut buf = MachBuffer::new(info.clone());
        buf.reserve_labels(2);
        let mut state = EmitState::default();
        buf.bind_label(MachLabel(0));
        Inst::CondBr { cond: BranchCond::Eq, rs1: x(8), rs2: x(0), taken: MachLabel(1), not_taken: MachLabel(0) }
            .emit(&mut buf, &info, &mut state)
            .unwrap();
        for _ in 0..gap / 4 {
            buf.put4(0x0000_0013);
        }
        buf.bind_label(MachLabel(1));
        Inst::Jal { dest: MachLabel(0) }.emit(&mut buf, &info, &mut state).unwrap();
        let mut out = FinishedCode::default();
        buf.finish(&mut out).expect("finish");
        let half = |o: usize| u16::from_le_bytes([out.bytes[o], out.bytes[o + 1]]);
        let target = out.label_offsets[1] as usize;
        if compressed {
            assert_eq!(half(0) & 0xe003, 0xc001, "c.beqz over {gap}");
        } else {
            assert_eq!(u32::from_le_bytes(out.bytes[..4].try_into().unwrap()) & 0x707f, 0x0063, "beq over {gap}");
        }
        // The backward jump is a c.j (within 2 KiB).
        assert_eq!(half(target) & 0xe003, 0xa001, "c.j back over {gap}");
        assert_eq!(out.bytes.len(), target + 2);
    }
}

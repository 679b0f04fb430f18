//! x86-64 machine-code emission: the encoder of every [`Inst`] form, the expansion of the
//! pseudo-instructions into their fixed sequences, the frame protocol (prologue with the
//! stack-limit check and stack probes, epilogue, tail calls), and the target's branch and label-use encodings ([`X64Branch`],
//! [`X64LabelUse`] with their ladders of forms) for the [`MachBuffer`].
//!
//! Invariants:
//! - emission only sees physical registers (the allocator has rewritten every operand);
//! - encodings are the shortest the hardware offers for the form (REX only when needed,
//!   `imm8`/accumulator forms, no or 8-bit displacements, 2-byte VEX when possible), and
//!   byte-identical to what GNU `as` produces for the text `print.rs` prints;
//! - the stack pointer never moves inside a function body (outside prologue, epilogue,
//!   calls that pop their arguments, and tail calls), so `Amode::Stack` resolves to a fixed
//!   `disp(%rsp)`.

use crate::x64::inst::*;
use crate::x64::regs::enc;
use crate::x64::settings::X64Settings;
use kiln_codegen::machinst::abi::{CalleeSave, FrameLayout, StackAMode, StackLimit, StackLimitBase, StackLimitStep};
use kiln_codegen::machinst::buffer::{Form, MachBuffer, MachEncoder, Reloc};
use kiln_codegen::machinst::unwind::UnwindInst;
use kiln_codegen::machinst::vcode::{self, MachInstEmit};
use kiln_codegen::machinst::{MachLabel, Reg, Writable};
use kiln_codegen::{CodegenError, CodegenResult};
use kiln_ir::function::SourceLoc;
use kiln_ir::settings::{Flags, IsaFlags};
use kiln_ir::trapcode::TrapCode;
use regalloc2::RegClass;

/// What emission needs to know about the target: the shared flags and the ISA extensions.
#[derive(Clone, Debug)]
pub struct EmitInfo {
    /// Shared settings.
    pub flags: Flags,
    /// x86 ISA flags.
    pub isa_flags: IsaFlags,
    /// The same flags as typed booleans.
    pub settings: X64Settings,
}

impl EmitInfo {
    /// Emission info for these flags.
    pub fn new(flags: Flags, isa_flags: IsaFlags) -> EmitInfo {
        EmitInfo { settings: X64Settings::new(&isa_flags), flags, isa_flags }
    }
}

// ---------------------------------------------------------------------------------------
// Branches and label uses.

/// An x86-64 branch: each has a short (`rel8`) and a long (`rel32`) form.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum X64Branch {
    /// `jmp` (`EB rel8` / `E9 rel32`).
    Jmp,
    /// `j<cc>` (`7x rel8` / `0F 8x rel32`).
    Jcc(CC),
}

/// An x86-64 label use: a 32-bit field patched in an instruction the emitter wrote.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum X64LabelUse {
    /// A PC-relative `disp32` followed by `trailing` more instruction bytes (an immediate,
    /// 0..=4): it holds `target - end of the instruction`.
    PcRel32 {
        /// Immediate bytes after the field.
        trailing: u8,
    },
    /// A jump-table entry holding `target - entry address` (with an addend of 4 × the
    /// entry's index: `target - table start`).
    JumpTable32,
}

/// The displacement range (`target - start`) of a field or instruction whose encoded
/// value is `disp - bias`, for a signed value of `bits` bits.
const fn reach(size: u32, bias: i64, bits: u32) -> Form {
    let half = 1i64 << (bits - 1);
    Form { size, min_disp: -half + bias, max_disp: half - 1 + bias, islands: false }
}

const JMP_FORMS: [Form; 2] = [reach(2, 2, 8), reach(5, 5, 32)];
const JCC_FORMS: [Form; 2] = [reach(2, 2, 8), reach(6, 6, 32)];
const PCREL_FORMS: [[Form; 1]; 5] =
    [[reach(0, 4, 32)], [reach(0, 5, 32)], [reach(0, 6, 32)], [reach(0, 7, 32)], [reach(0, 8, 32)]];
const JT_FORMS: [Form; 1] = [reach(0, 0, 32)];

impl MachEncoder for EmitInfo {
    type Branch = X64Branch;
    type LabelUse = X64LabelUse;

    fn branch_forms(&self, branch: &X64Branch) -> &[Form] {
        match branch {
            X64Branch::Jmp => &JMP_FORMS,
            X64Branch::Jcc(_) => &JCC_FORMS,
        }
    }

    fn encode_branch(&self, branch: &X64Branch, form: usize, _at: u32, disp: i64, out: &mut Vec<u8>) {
        let size = self.branch_forms(branch)[form].size as i64;
        let rel = disp - size;
        match (branch, form) {
            (X64Branch::Jmp, 0) => out.extend_from_slice(&[0xeb, rel as i8 as u8]),
            (X64Branch::Jcc(cc), 0) => out.extend_from_slice(&[0x70 | *cc as u8, rel as i8 as u8]),
            (X64Branch::Jmp, _) => {
                out.push(0xe9);
                out.extend_from_slice(&(rel as i32).to_le_bytes());
            }
            (X64Branch::Jcc(cc), _) => {
                out.extend_from_slice(&[0x0f, 0x80 | *cc as u8]);
                out.extend_from_slice(&(rel as i32).to_le_bytes());
            }
        }
    }

    fn is_unconditional(&self, branch: &X64Branch) -> bool {
        *branch == X64Branch::Jmp
    }

    fn jump(&self) -> X64Branch {
        X64Branch::Jmp
    }

    fn label_use_forms(&self, label_use: &X64LabelUse) -> &[Form] {
        match label_use {
            X64LabelUse::PcRel32 { trailing } => &PCREL_FORMS[(*trailing).min(4) as usize],
            X64LabelUse::JumpTable32 => &JT_FORMS,
        }
    }

    fn patch_label_use(&self, label_use: &X64LabelUse, _at: u32, disp: i64, bytes: &mut [u8]) -> bool {
        let v = match label_use {
            X64LabelUse::PcRel32 { trailing } => disp - 4 - *trailing as i64,
            X64LabelUse::JumpTable32 => disp,
        };
        match i32::try_from(v) {
            Ok(v) if bytes.len() == 4 => {
                bytes.copy_from_slice(&v.to_le_bytes());
                true
            }
            _ => false,
        }
    }

    fn label_use_patch_size(&self, _label_use: &X64LabelUse) -> u32 {
        4
    }

    fn encode_label_use(&self, _label_use: &X64LabelUse, _form: usize, _at: u32, _disp: i64, _out: &mut Vec<u8>) {
        // Every x86-64 label use is a field of an instruction the emitter writes (a fixed
        // use, patched in place); none is encoded by the buffer, and their forms take no
        // bytes of their own.
    }

    fn trap_instruction(&self) -> &[u8] {
        &[0x0f, 0x0b]
    }

    fn write_nops(&self, mut n: usize, out: &mut Vec<u8>) {
        while n > 0 {
            let k = n.min(9);
            out.extend_from_slice(nop_bytes(k));
            n -= k;
        }
    }
}

/// The code buffer of an x86-64 function.
pub type Sink = MachBuffer<EmitInfo>;

/// The emission state of an x86-64 function (no target-specific part).
pub type EmitState = vcode::EmitState<()>;

// ---------------------------------------------------------------------------------------
// Low-level encoding.

/// The hardware number (0..=15) of a register.
#[inline]
fn e(r: Reg) -> u8 {
    r.hw_enc() & 15
}

#[inline]
fn ew(r: Writable<Reg>) -> u8 {
    e(r.to_reg())
}

/// Does an 8-bit access of register `enc` need a REX prefix (spl, bpl, sil, dil)?
#[inline]
fn byte_rex(enc: u8) -> bool {
    (4..8).contains(&enc)
}

/// A resolved memory operand.
#[derive(Copy, Clone, Debug)]
enum Addr {
    /// `disp(base)`.
    Base { base: u8, disp: i32 },
    /// `disp(base, index, 1 << shift)`.
    Index { base: u8, index: u8, shift: u8, disp: i32 },
    /// `label(%rip)`.
    Rip(MachLabel),
}

/// The r/m operand of an encoding.
#[derive(Copy, Clone, Debug)]
enum Rm {
    Reg(u8),
    Mem(Addr),
}

fn resolve(amode: &Amode, state: &EmitState) -> Addr {
    match *amode {
        Amode::ImmReg { disp, base } => Addr::Base { base: e(base), disp },
        Amode::ImmRegRegShift { disp, base, index, shift } => {
            Addr::Index { base: e(base), index: e(index), shift: shift & 3, disp }
        }
        Amode::RipRelative { label } => Addr::Rip(label),
        Amode::Stack(mode) => Addr::Base { base: enc::RSP, disp: stack_disp(state, mode) },
    }
}

/// The `%rsp` displacement of a stack location (frames are limited far below 2 GiB).
fn stack_disp(state: &EmitState, mode: StackAMode) -> i32 {
    state.stack_offset(mode) as i32
}

fn mem_rm(mem: &Mem, state: &EmitState) -> Rm {
    Rm::Mem(resolve(&mem.amode, state))
}

/// Record the trap site of a faulting memory access (at the start of the instruction).
fn mem_trap(sink: &mut Sink, mem: &Mem) {
    if let Some(code) = mem.trap {
        sink.add_trap(code);
    }
}

/// The X and B extension bits of an r/m operand.
fn rm_xb(rm: &Rm) -> (u8, u8) {
    match *rm {
        Rm::Reg(r) => (0, r >> 3),
        Rm::Mem(Addr::Base { base, .. }) => (0, base >> 3),
        Rm::Mem(Addr::Index { base, index, .. }) => (index >> 3, base >> 3),
        Rm::Mem(Addr::Rip(_)) => (0, 0),
    }
}

/// Emit the ModRM byte (and SIB, displacement) for `reg` (the ModRM.reg field, or an
/// opcode extension) and `rm`. `trailing` is the number of immediate bytes following, for
/// RIP-relative displacements.
fn put_modrm(sink: &mut Sink, reg: u8, rm: &Rm, trailing: u8) {
    put_modrm_scaled(sink, reg, rm, trailing, 1)
}

/// [`put_modrm`] with an 8-bit displacement counted in units of `scale` bytes (EVEX's
/// compressed `disp8*N`; 1 otherwise): a displacement that is not a multiple of `scale`, or
/// whose quotient does not fit 8 bits, takes 32 bits.
fn put_modrm_scaled(sink: &mut Sink, reg: u8, rm: &Rm, trailing: u8, scale: i32) {
    let reg = (reg & 7) << 3;
    match *rm {
        Rm::Reg(r) => sink.put1(0xc0 | reg | (r & 7)),
        Rm::Mem(Addr::Rip(label)) => {
            sink.put1(reg | 5);
            sink.use_label_at_offset(label, X64LabelUse::PcRel32 { trailing });
            sink.put4(0);
        }
        Rm::Mem(Addr::Base { base, disp }) => {
            let b = base & 7;
            let (mode, dsize) = disp_mode(disp, b == 5, scale);
            if b == 4 {
                sink.put1(mode | reg | 4);
                sink.put1(0x24);
            } else {
                sink.put1(mode | reg | b);
            }
            put_disp(sink, disp, dsize, scale);
        }
        Rm::Mem(Addr::Index { base, index, shift, disp }) => {
            let b = base & 7;
            let (mode, dsize) = disp_mode(disp, b == 5, scale);
            sink.put1(mode | reg | 4);
            sink.put1((shift & 3) << 6 | (index & 7) << 3 | b);
            put_disp(sink, disp, dsize, scale);
        }
    }
}

/// ModRM.mod bits and displacement size for `disp` (8-bit displacements in units of
/// `scale`); `needs_disp` for rbp/r13 bases.
fn disp_mode(disp: i32, needs_disp: bool, scale: i32) -> (u8, u8) {
    if disp == 0 && !needs_disp {
        (0x00, 0)
    } else if disp % scale == 0 && (disp / scale) as i8 as i32 == disp / scale {
        (0x40, 1)
    } else {
        (0x80, 4)
    }
}

fn put_disp(sink: &mut Sink, disp: i32, size: u8, scale: i32) {
    match size {
        1 => sink.put1((disp / scale) as u8),
        4 => sink.put4(disp as u32),
        _ => {}
    }
}

/// Legacy prefix bytes before REX: operand-size (66) first, then lock/F2/F3.
#[derive(Copy, Clone, Default)]
struct Pfx {
    p66: bool,
    /// 0, 0xF0, 0xF2 or 0xF3.
    rep: u8,
}

impl Pfx {
    const NONE: Pfx = Pfx { p66: false, rep: 0 };
    fn size(size: OperandSize) -> Pfx {
        Pfx { p66: size == OperandSize::S16, rep: 0 }
    }
    fn with(mut self, rep: u8) -> Pfx {
        self.rep = rep;
        self
    }
}

/// Emit a legacy-encoded instruction: prefixes, REX (if needed, or forced for byte
/// registers), `opcode`, ModRM/SIB/displacement. The immediate, if any, is emitted by the
/// caller (`trailing` bytes of it).
#[allow(clippy::too_many_arguments)]
fn enc_legacy(sink: &mut Sink, pfx: Pfx, w: bool, force_rex: bool, opcode: &[u8], reg: u8, rm: &Rm, trailing: u8) {
    if pfx.p66 {
        sink.put1(0x66);
    }
    if pfx.rep != 0 {
        sink.put1(pfx.rep);
    }
    let (x, b) = rm_xb(rm);
    let r = (reg >> 3) & 1;
    let rex = 0x40 | (w as u8) << 3 | r << 2 | x << 1 | b;
    if rex != 0x40 || force_rex {
        sink.put1(rex);
    }
    sink.put_data(opcode);
    put_modrm(sink, reg, rm, trailing);
}

/// Emit an instruction whose register is encoded in the low opcode bits (`push`, `bswap`,
/// `mov r, imm`): optional REX then `opcode` with `reg & 7` added to its last byte.
fn enc_opreg(sink: &mut Sink, w: bool, force_rex: bool, opcode: &[u8], reg: u8) {
    let rex = 0x40 | (w as u8) << 3 | (reg >> 3) & 1;
    if rex != 0x40 || force_rex {
        sink.put1(rex);
    }
    let (last, first) = opcode.split_last().map(|(l, f)| (*l, f)).unwrap_or((0x90, &[]));
    sink.put_data(first);
    sink.put1(last + (reg & 7));
}

/// VEX `pp` field values.
const PP_NONE: u8 = SimdPrefix::None as u8;
const PP_66: u8 = SimdPrefix::P66 as u8;
const PP_F3: u8 = SimdPrefix::F3 as u8;
const PP_F2: u8 = SimdPrefix::F2 as u8;
/// VEX opcode maps.
const MAP_0F: u8 = OpcodeMap::M0F as u8;
const MAP_0F38: u8 = OpcodeMap::M0F38 as u8;
const MAP_0F3A: u8 = OpcodeMap::M0F3A as u8;

/// Emit a VEX-encoded instruction (2-byte prefix when possible).
#[allow(clippy::too_many_arguments)]
fn enc_vex(sink: &mut Sink, pp: u8, map: u8, w: bool, opcode: u8, reg: u8, vvvv: u8, rm: &Rm, trailing: u8) {
    let (x, b) = rm_xb(rm);
    let r = (reg >> 3) & 1;
    let vvvv_n = (!vvvv & 15) << 3;
    if map == MAP_0F && !w && x == 0 && b == 0 {
        sink.put1(0xc5);
        sink.put1((r ^ 1) << 7 | vvvv_n | pp);
    } else {
        sink.put1(0xc4);
        sink.put1((r ^ 1) << 7 | (x ^ 1) << 6 | (b ^ 1) << 5 | map);
        sink.put1((w as u8) << 7 | vvvv_n | pp);
    }
    sink.put1(opcode);
    put_modrm(sink, reg, rm, trailing);
}

/// Emit an EVEX-encoded 128-bit instruction (no masking, no broadcast; registers below
/// 16), with `disp8*16` displacement compression (every EVEX form used is a full 128-bit
/// memory operand).
#[allow(clippy::too_many_arguments)]
fn enc_evex(sink: &mut Sink, pp: u8, map: u8, w: bool, opcode: u8, reg: u8, vvvv: u8, rm: &Rm, trailing: u8) {
    let (x, b) = rm_xb(rm);
    let r = (reg >> 3) & 1;
    sink.put1(0x62);
    // R X B R' 0 0 m m (R, X, B, R' inverted; R' = 0 → 1).
    sink.put1((r ^ 1) << 7 | (x ^ 1) << 6 | (b ^ 1) << 5 | 0x10 | map);
    // W vvvv 1 pp (vvvv inverted).
    sink.put1((w as u8) << 7 | (!vvvv & 15) << 3 | 0x04 | pp);
    // z L'L b V' aaa: 128 bits, no masking, V' = 0 → 1.
    sink.put1(0x08);
    sink.put1(opcode);
    put_modrm_scaled(sink, reg, rm, trailing, 16);
}

fn put_imm(sink: &mut Sink, v: i64, bytes: u8) {
    match bytes {
        1 => sink.put1(v as u8),
        2 => sink.put2(v as u16),
        4 => sink.put4(v as u32),
        8 => sink.put8(v as u64),
        _ => {}
    }
}

/// Does a sign-extended 32-bit immediate of an operation of `size` fit in a sign-extended
/// `imm8`? (8-bit operations always take an 8-bit immediate.)
pub(crate) fn imm_is_i8(size: OperandSize, imm: i32) -> bool {
    match size {
        OperandSize::S8 => true,
        OperandSize::S16 => {
            let v = imm as i16;
            v as i8 as i16 == v
        }
        _ => imm as i8 as i32 == imm,
    }
}

/// Bytes of a full-width immediate of `size` (8-bit: 1, 16-bit: 2, else 4).
fn imm_full_bytes(size: OperandSize) -> u8 {
    match size {
        OperandSize::S8 => 1,
        OperandSize::S16 => 2,
        _ => 4,
    }
}

fn is64(size: OperandSize) -> bool {
    size == OperandSize::S64
}

/// The ALU sub-opcode (`/digit` and `op*8` base) of an operation.
pub(crate) fn alu_digit(op: AluOp) -> u8 {
    match op {
        AluOp::Add => 0,
        AluOp::Or => 1,
        AluOp::Adc => 2,
        AluOp::Sbb => 3,
        AluOp::And => 4,
        AluOp::Sub => 5,
        AluOp::Xor => 6,
        AluOp::Andn => 4,
    }
}

/// Emit `op src, rm` with `rm` the destination/first operand (`00+op*8`/`01+op*8 /r`).
fn alu_rm_r(sink: &mut Sink, size: OperandSize, base: u8, reg: u8, rm: &Rm) {
    let byte = size == OperandSize::S8;
    let force = byte && (byte_rex(reg) || matches!(rm, Rm::Reg(r) if byte_rex(*r)));
    let opc = if byte { base } else { base + 1 };
    enc_legacy(sink, Pfx::size(size), is64(size), force, &[opc], reg, rm, 0);
}

/// Emit an ALU-with-immediate form (`80`/`81`/`83 /digit`, or the accumulator short form
/// `04+op*8`/`05+op*8`); `test` passes `digit = None` (`A8`/`A9`, `F6`/`F7 /0`).
fn alu_imm(sink: &mut Sink, size: OperandSize, digit: Option<u8>, rm: &Rm, imm: i32) {
    let byte = size == OperandSize::S8;
    let force = byte && matches!(rm, Rm::Reg(r) if byte_rex(*r));
    let full = imm_full_bytes(size);
    let small = digit.is_some() && !byte && imm_is_i8(size, imm);
    let is_acc = matches!(rm, Rm::Reg(0));
    if small {
        enc_legacy(sink, Pfx::size(size), is64(size), force, &[0x83], digit.unwrap_or(0), rm, 1);
        put_imm(sink, imm as i64, 1);
    } else if is_acc {
        if size == OperandSize::S16 {
            sink.put1(0x66);
        }
        if is64(size) {
            sink.put1(0x48);
        }
        let opc = match digit {
            Some(d) => d * 8 + if byte { 4 } else { 5 },
            None => {
                if byte {
                    0xa8
                } else {
                    0xa9
                }
            }
        };
        sink.put1(opc);
        put_imm(sink, imm as i64, full);
    } else {
        let (opc, d) = match digit {
            Some(d) => (if byte { 0x80 } else { 0x81 }, d),
            None => (if byte { 0xf6 } else { 0xf7 }, 0),
        };
        enc_legacy(sink, Pfx::size(size), is64(size), force, &[opc], d, rm, full);
        put_imm(sink, imm as i64, full);
    }
}

/// `F6`/`F7 /digit` (not, neg, mul, div, …) on `rm`.
fn unary_f7(sink: &mut Sink, size: OperandSize, digit: u8, rm: &Rm) {
    let byte = size == OperandSize::S8;
    let force = byte && matches!(rm, Rm::Reg(r) if byte_rex(*r));
    enc_legacy(sink, Pfx::size(size), is64(size), force, &[if byte { 0xf6 } else { 0xf7 }], digit, rm, 0);
}

/// `mov %src, %dst` of `size` (89 /r).
fn mov_rr(sink: &mut Sink, size: OperandSize, src: u8, dst: u8) {
    alu_rm_r(sink, size, 0x88, src, &Rm::Reg(dst));
}

/// `mov rm, %dst` (8B /r).
fn mov_load(sink: &mut Sink, size: OperandSize, rm: &Rm, dst: u8) {
    let byte = size == OperandSize::S8;
    let force = byte && byte_rex(dst);
    enc_legacy(sink, Pfx::size(size), is64(size), force, &[if byte { 0x8a } else { 0x8b }], dst, rm, 0);
}

/// `sub`/`add $imm, %rsp` (64-bit).
fn adjust_sp(sink: &mut Sink, add: bool, amount: u32) {
    if amount == 0 {
        return;
    }
    let digit = if add { 0 } else { 5 };
    alu_imm(sink, OperandSize::S64, Some(digit), &Rm::Reg(enc::RSP), amount as i32);
}

fn push_reg(sink: &mut Sink, r: u8) {
    enc_opreg(sink, false, false, &[0x50], r);
}

fn pop_reg(sink: &mut Sink, r: u8) {
    enc_opreg(sink, false, false, &[0x58], r);
}

/// `movdqu` load (`to_reg`) or store of an XMM register at `disp(%rsp)`.
fn movdqu_sp(sink: &mut Sink, xmm: u8, disp: i32, load: bool) {
    let rm = Rm::Mem(Addr::Base { base: enc::RSP, disp });
    enc_legacy(sink, Pfx::NONE.with(0xf3), false, false, &[0x0f, if load { 0x6f } else { 0x7f }], xmm, &rm, 0);
}

/// A branch to `label` if `cc` holds.
fn jcc(sink: &mut Sink, cc: CC, label: MachLabel) {
    sink.add_branch(label, X64Branch::Jcc(cc));
}

/// An unconditional branch to `label`.
fn jmp(sink: &mut Sink, label: MachLabel) {
    sink.add_branch(label, X64Branch::Jmp);
}

fn pp_prefix(pp: u8) -> Pfx {
    match pp {
        PP_66 => Pfx { p66: true, rep: 0 },
        PP_F3 => Pfx { p66: false, rep: 0xf3 },
        PP_F2 => Pfx { p66: false, rep: 0xf2 },
        _ => Pfx::NONE,
    }
}

/// A legacy SSE instruction `prefix 0F opcode /r` (with optional REX.W) and optional
/// immediate.
#[allow(clippy::too_many_arguments)]
fn enc_sse(sink: &mut Sink, pp: u8, map: u8, w: bool, opcode: u8, reg: u8, rm: &Rm, imm: Option<u8>) {
    let trailing = imm.is_some() as u8;
    let op: &[u8] = match map {
        MAP_0F38 => &[0x0f, 0x38, opcode],
        MAP_0F3A => &[0x0f, 0x3a, opcode],
        _ => &[0x0f, opcode],
    };
    enc_legacy(sink, pp_prefix(pp), w, false, op, reg, rm, trailing);
    if let Some(i) = imm {
        sink.put1(i);
    }
}

/// Emit the SSE/AVX operation `op` with ModRM.reg `reg`, VEX.vvvv `vvvv` (unused by legacy
/// forms; 0 for operations without a `vvvv` operand) and r/m `rm`: the VEX form when `vex`
/// is set or the operation exists only there, else the legacy form.
#[allow(clippy::too_many_arguments)]
fn enc_sse_op(sink: &mut Sink, op: SseOp, vex: bool, reg: u8, vvvv: u8, rm: &Rm, imm: Option<u8>) {
    let enc = op.encoding();
    let (pp, map) = (enc.prefix as u8, enc.map as u8);
    if vex || op.vex_only() {
        enc_vex(sink, pp, map, enc.w, enc.opcode, reg, vvvv, rm, imm.is_some() as u8);
        if let Some(i) = imm {
            sink.put1(i);
        }
    } else {
        enc_sse(sink, pp, map, enc.w, enc.opcode, reg, rm, imm);
    }
}

fn regmem_rm(rm: &RegMem, state: &EmitState) -> Rm {
    match rm {
        RegMem::Reg(r) => Rm::Reg(e(*r)),
        RegMem::Mem(m) => mem_rm(m, state),
    }
}

fn regmem_trap(sink: &mut Sink, rm: &RegMem) {
    if let RegMem::Mem(m) = rm {
        mem_trap(sink, m);
    }
}

/// The condition under which `cmp a, b` (flags of `b - a`) … is used by the atomic loops.
fn minmax_cmov_cc(op: AtomicLoopOp) -> CC {
    match op {
        // temp := (temp > operand) ? operand : temp, etc.
        AtomicLoopOp::Umin => CC::NBE,
        AtomicLoopOp::Umax => CC::B,
        AtomicLoopOp::Smin => CC::NLE,
        _ => CC::L,
    }
}

/// The call-site handlers of a call.
fn call_handlers(info: &CallInfo) -> Vec<(kiln_codegen::machinst::buffer::HandlerTag, MachLabel)> {
    info.try_call.as_ref().map(|t| t.handlers.clone()).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Emission.

impl MachInstEmit for Inst {
    type Info = EmitInfo;
    type State = ();

    fn emit(&self, sink: &mut Sink, info: &EmitInfo, state: &mut EmitState) -> CodegenResult<()> {
        emit_inst(self, sink, info, state)
    }

    fn emit_prologue(sink: &mut Sink, info: &EmitInfo, state: &mut EmitState) -> CodegenResult<()> {
        emit_prologue(sink, info, state);
        Ok(())
    }

    fn is_plain_jump(&self) -> Option<MachLabel> {
        match self {
            Inst::JmpKnown { dst } => Some(*dst),
            _ => None,
        }
    }

    fn worst_case_size(&self) -> u32 {
        // Every form and fixed sequence fits in 256 bytes with its constants and trap
        // stubs (the epilogue of `Rets`: 16 restores and pops at most); jump tables and
        // tail calls grow with their tables and stack arguments.
        const BASE: u32 = 256;
        match self {
            Inst::JmpTableSeq { targets, .. } => BASE + 4 * targets.len() as u32,
            Inst::ReturnCall { info, .. } => BASE.saturating_add(info.tail_stack_args.saturating_mul(2)),
            _ => BASE,
        }
    }
}

/// Bytes the prologue subtracts from `%rsp` after pushing the integer callee-saves.
fn frame_alloc_size(f: &FrameLayout) -> u32 {
    let pushed: u32 = f.callee_saves.iter().filter(|s| s.reg.class() == RegClass::Int).map(|s| s.size as u32).sum();
    f.frame_below_fp() - pushed
}

/// The `%rsp` displacement of a callee-save slot once the frame is allocated.
fn save_slot_from_sp(f: &FrameLayout, save: &CalleeSave) -> i32 {
    (f.frame_below_fp() as i64 - save.offset as i64) as i32
}

fn emit_prologue(sink: &mut Sink, info: &EmitInfo, state: &mut EmitState) {
    if !state.frame.has_frame {
        return;
    }
    // The CFA is the stack pointer before the call: the return address and the saved
    // %rbp are the 16 bytes below it, and %rbp points at the latter.
    push_reg(sink, enc::RBP);
    sink.add_unwind(UnwindInst::PushFrameRegs { offset_upward_to_caller_sp: 16 });
    mov_rr(sink, OperandSize::S64, enc::RSP, enc::RBP);
    sink.add_unwind(UnwindInst::DefineNewFrame { offset_upward_to_caller_sp: 16 });
    if let Some(limit) = &state.frame.stack_limit {
        emit_stack_limit_check(sink, limit, state.frame.frame_below_fp());
    }
    // The integer saves are pushed in order (their slots are 8, 16, … below the frame
    // pointer, see `abi::callee_save_layout`).
    for save in &state.frame.callee_saves {
        if save.reg.class() == RegClass::Int {
            push_reg(sink, save.reg.hw_enc() as u8);
            sink.add_unwind(save_record(save));
        }
    }
    let n = frame_alloc_size(&state.frame);
    let guard_log2 = info.flags.probestack_size_log2().min(31) as u32;
    let guard = 1u32 << guard_log2.max(8);
    if Flags::on(info.flags.enable_probestack()) && n > guard {
        emit_probes(sink, n, guard);
    } else {
        adjust_sp(sink, false, n);
    }
    if n > 0 {
        sink.add_unwind(UnwindInst::StackAlloc { size: n });
    }
    for save in &state.frame.callee_saves {
        if save.reg.class() != RegClass::Int {
            movdqu_sp(sink, save.reg.hw_enc() as u8, save_slot_from_sp(&state.frame, save), false);
            sink.add_unwind(save_record(save));
        }
    }
}

/// The unwind record of a callee-save slot (the CFA is 16 bytes above the frame pointer).
fn save_record(save: &CalleeSave) -> UnwindInst {
    UnwindInst::SaveReg { reg: save.reg, offset_down_from_cfa: 16 + save.offset, size: save.size }
}

/// Right after the frame-pointer setup: compute the stack limit into `%r11` (the `vmctx`
/// argument is still where the convention put it; `%r10`/`%r11` are never arguments) and
/// trap with `stk_ovf` if `%rsp - below` would be under it, before anything is stored below
/// the frame pointer.
fn emit_stack_limit_check(sink: &mut Sink, limit: &StackLimit, below: u32) {
    let r11 = enc::R11;
    // `cur` holds the value so far: the argument register itself until the first step
    // (which must not modify it), `%r11` after.
    let mut cur = match limit.base {
        StackLimitBase::Reg(p) => p.hw_enc() as u8,
        StackLimitBase::IncomingArg(off) => {
            // The incoming arguments start above the saved %rbp and the return address.
            let disp = i32::try_from(16 + off).unwrap_or(i32::MAX);
            mov_load(sink, OperandSize::S64, &Rm::Mem(Addr::Base { base: enc::RBP, disp }), r11);
            r11
        }
    };
    let add = |sink: &mut Sink, cur: &mut u8, k: i64| {
        if k == 0 {
            return;
        }
        if *cur != r11 {
            mov_rr(sink, OperandSize::S64, *cur, r11);
            *cur = r11;
        }
        if let Ok(k) = i32::try_from(k) {
            alu_imm(sink, OperandSize::S64, Some(0), &Rm::Reg(r11), k);
        } else {
            // movabs $k, %r10; add %r10, %r11
            enc_opreg(sink, true, false, &[0xb8], enc::R10);
            sink.put8(k as u64);
            alu_rm_r(sink, OperandSize::S64, 0x00, enc::R10, &Rm::Reg(r11));
        }
    };
    // Consecutive additions (and the frame size at the end) are folded into one.
    let mut pending: i64 = 0;
    for step in &limit.steps {
        match *step {
            StackLimitStep::Load(off) => {
                add(sink, &mut cur, pending);
                pending = 0;
                mov_load(sink, OperandSize::S64, &Rm::Mem(Addr::Base { base: cur, disp: off }), r11);
                cur = r11;
            }
            StackLimitStep::Add(k) => match pending.checked_add(k) {
                Some(p) => pending = p,
                None => {
                    add(sink, &mut cur, pending);
                    pending = k;
                }
            },
        }
    }
    match pending.checked_add(below as i64) {
        Some(p) => add(sink, &mut cur, p),
        None => {
            add(sink, &mut cur, pending);
            add(sink, &mut cur, below as i64);
        }
    }
    // cmp %cur, %rsp; jb stk_ovf
    alu_rm_r(sink, OperandSize::S64, 0x38, cur, &Rm::Reg(enc::RSP));
    let trap = sink.defer_trap(TrapCode::STACK_OVERFLOW, SourceLoc::default());
    jcc(sink, CC::B, trap);
}

/// Allocate `n` bytes of stack touching every `guard`-sized page on the way down:
/// unrolled up to four pages, a loop (with `%r11` as the end marker) beyond.
fn emit_probes(sink: &mut Sink, n: u32, guard: u32) {
    let pages = n / guard;
    let probe = |sink: &mut Sink| {
        adjust_sp(sink, false, guard);
        // movb $0, (%rsp)
        enc_legacy(sink, Pfx::NONE, false, false, &[0xc6], 0, &Rm::Mem(Addr::Base { base: enc::RSP, disp: 0 }), 1);
        sink.put1(0);
    };
    if pages <= 4 {
        for _ in 0..pages {
            probe(sink);
        }
    } else {
        // lea -pages*guard(%rsp), %r11
        let total = (pages as u64 * guard as u64).min(i32::MAX as u64) as i32;
        enc_legacy(
            sink,
            Pfx::NONE,
            true,
            false,
            &[0x8d],
            enc::R11,
            &Rm::Mem(Addr::Base { base: enc::RSP, disp: -total }),
            0,
        );
        let top = sink.get_label();
        sink.bind_label(top);
        probe(sink);
        // cmp %r11, %rsp
        alu_rm_r(sink, OperandSize::S64, 0x38, enc::R11, &Rm::Reg(enc::RSP));
        jcc(sink, CC::NZ, top);
    }
    adjust_sp(sink, false, n - pages * guard);
}

/// The epilogue before `ret` or a tail call's jump.
fn emit_epilogue_restore(sink: &mut Sink, state: &EmitState) {
    if !state.frame.has_frame {
        return;
    }
    let f = &state.frame;
    sink.add_unwind(UnwindInst::EpilogueStart);
    for save in &f.callee_saves {
        if save.reg.class() != RegClass::Int {
            movdqu_sp(sink, save.reg.hw_enc() as u8, save_slot_from_sp(f, save), true);
        }
    }
    adjust_sp(sink, true, frame_alloc_size(f));
    for save in f.callee_saves.iter().rev() {
        if save.reg.class() == RegClass::Int {
            pop_reg(sink, save.reg.hw_enc() as u8);
        }
    }
    pop_reg(sink, enc::RBP);
    sink.add_unwind(UnwindInst::FrameRestored { offset_upward_to_caller_sp: 8 });
}

fn emit_call(sink: &mut Sink, info: &CallInfo, reach: Reach) {
    match (&info.dest, reach) {
        (CallDest::Name { name, .. }, Reach::Near) => {
            sink.put1(0xe8);
            sink.add_reloc(Reloc::X86CallPCRel4, name.clone(), -4);
            sink.put4(0);
        }
        (CallDest::Name { name, .. }, Reach::Indirect) => {
            // call name@PLT
            sink.put1(0xe8);
            sink.add_reloc(Reloc::X86CallPLTRel4, name.clone(), -4);
            sink.put4(0);
        }
        (CallDest::Name { name, .. }, Reach::Absolute) => {
            // movabs $name, %r11; call *%r11
            enc_opreg(sink, true, false, &[0xb8], enc::R11);
            sink.add_reloc(Reloc::Abs8, name.clone(), 0);
            sink.put8(0);
            enc_legacy(sink, Pfx::NONE, false, false, &[0xff], 2, &Rm::Reg(enc::R11), 0);
        }
        (CallDest::Indirect(r), _) => {
            enc_legacy(sink, Pfx::NONE, false, false, &[0xff], 2, &Rm::Reg(e(*r)), 0);
        }
    }
}

fn emit_return_call(sink: &mut Sink, info: &CallInfo, reach: Reach, state: &EmitState) {
    let f = &state.frame;
    let args_off = f.incoming_args_from_sp() as i64;
    let a_f = f.incoming_args_size as i64;
    let a_g = info.tail_stack_args as i64;
    let delta = args_off + a_f - a_g;
    let adj = delta - 8;
    // The frame is torn down (and, when the stack arguments change size, the return
    // address moves): an epilogue for the unwinder.
    let epilogue = f.has_frame || adj != 0 || a_f != a_g;
    if epilogue {
        sink.add_unwind(UnwindInst::EpilogueStart);
    }
    if let (CallDest::Name { name, .. }, Reach::Absolute) = (&info.dest, reach) {
        enc_opreg(sink, true, false, &[0xb8], enc::R10);
        sink.add_reloc(Reloc::Abs8, name.clone(), 0);
        sink.put8(0);
    }
    let fb = f.frame_below_fp() as i64;
    let ret_off = args_off - 8;
    let sp = |disp: i64| Rm::Mem(Addr::Base { base: enc::RSP, disp: disp as i32 });
    if a_f != a_g {
        mov_load(sink, OperandSize::S64, &sp(ret_off), enc::R11);
    }
    if f.has_frame {
        for save in &f.callee_saves {
            let at = save_slot_from_sp(f, save);
            if save.reg.class() == RegClass::Int {
                mov_load(sink, OperandSize::S64, &sp(at as i64), save.reg.hw_enc() as u8);
            } else {
                movdqu_sp(sink, save.reg.hw_enc() as u8, at, true);
            }
        }
        mov_load(sink, OperandSize::S64, &sp(fb), enc::RBP);
        sink.add_unwind(UnwindInst::FrameRestored { offset_upward_to_caller_sp: args_off as u32 });
    }
    let mut i = a_g - 8;
    while i >= 0 {
        mov_load(sink, OperandSize::S64, &sp(i), enc::RAX);
        alu_rm_r(sink, OperandSize::S64, 0x88, enc::RAX, &sp(delta + i));
        i -= 8;
    }
    if adj > 0 {
        adjust_sp(sink, true, adj as u32);
    } else if adj < 0 {
        adjust_sp(sink, false, (-adj) as u32);
    }
    if a_f != a_g {
        alu_rm_r(sink, OperandSize::S64, 0x88, enc::R11, &sp(0));
    }
    if adj != 0 || a_f != a_g {
        // The return address is on top of the stack (moved with the arguments).
        sink.add_unwind(UnwindInst::FrameRestored { offset_upward_to_caller_sp: 8 });
    }
    match (&info.dest, reach) {
        (CallDest::Name { name, .. }, Reach::Near) => {
            sink.put1(0xe9);
            sink.add_reloc(Reloc::X86CallPCRel4, name.clone(), -4);
            sink.put4(0);
        }
        (CallDest::Name { name, .. }, Reach::Indirect) => {
            // jmp name@PLT
            sink.put1(0xe9);
            sink.add_reloc(Reloc::X86CallPLTRel4, name.clone(), -4);
            sink.put4(0);
        }
        (CallDest::Name { .. }, Reach::Absolute) => {
            enc_legacy(sink, Pfx::NONE, false, false, &[0xff], 4, &Rm::Reg(enc::R10), 0);
        }
        (CallDest::Indirect(r), _) => {
            enc_legacy(sink, Pfx::NONE, false, false, &[0xff], 4, &Rm::Reg(e(*r)), 0);
        }
    }
    if epilogue {
        sink.add_unwind(UnwindInst::EpilogueEnd);
    }
}

/// `ucomiss`/`ucomisd src2, src1`.
fn ucomis(sink: &mut Sink, double: bool, src1: u8, src2: &Rm) {
    enc_sse(sink, if double { PP_66 } else { PP_NONE }, MAP_0F, false, 0x2e, src1, src2, None);
}

/// `cvttss2si`/`cvttsd2si src, dst` of `size`.
fn cvtt(sink: &mut Sink, double: bool, size: OperandSize, src: u8, dst: u8) {
    enc_sse(sink, if double { PP_F2 } else { PP_F3 }, MAP_0F, is64(size), 0x2c, dst, &Rm::Reg(src), None);
}

/// `movaps %src, %dst`.
/// A load or store between an XMM register and memory: legacy SSE, or VEX (no second
/// source: `vvvv` unused).
fn xmm_mov_mem(sink: &mut Sink, vex: bool, pp: u8, opc: u8, reg: u8, rm: &Rm) {
    if vex {
        enc_vex(sink, pp, MAP_0F, false, opc, reg, 0, rm, 0);
    } else {
        enc_sse(sink, pp, MAP_0F, false, opc, reg, rm, None);
    }
}

fn movaps(sink: &mut Sink, src: u8, dst: u8) {
    enc_sse(sink, PP_NONE, MAP_0F, false, 0x28, dst, &Rm::Reg(src), None);
}

/// `xorps %r, %r`.
fn xorps_zero(sink: &mut Sink, r: u8) {
    enc_sse(sink, PP_NONE, MAP_0F, false, 0x57, r, &Rm::Reg(r), None);
}

/// `xorl %r, %r`.
fn zero_gpr(sink: &mut Sink, r: u8) {
    alu_rm_r(sink, OperandSize::S32, 0x30, r, &Rm::Reg(r));
}

/// `test %r, %r` of `size`.
fn test_rr(sink: &mut Sink, size: OperandSize, r: u8) {
    alu_rm_r(sink, size, 0x84, r, &Rm::Reg(r));
}

/// A float constant in the pool: `value` as f32 or f64 bits.
fn float_const(sink: &mut Sink, double: bool, value: f64) -> Rm {
    let label = if double {
        sink.add_constant(&value.to_bits().to_le_bytes(), 8)
    } else {
        sink.add_constant(&(value as f32).to_bits().to_le_bytes(), 4)
    };
    Rm::Mem(Addr::Rip(label))
}

#[allow(clippy::too_many_arguments)]
fn emit_cvt_float_to_int(
    sink: &mut Sink,
    state: &EmitState,
    double: bool,
    size: OperandSize,
    signed: bool,
    saturating: bool,
    src: u8,
    dst: u8,
    tmp_gpr: u8,
    tmp_xmm: u8,
) {
    let done = sink.get_label();
    let loc = state.cur_srcloc;
    if signed {
        // cvtt gives INT_MIN for NaN and out-of-range inputs; `cmp $1, dst` overflows
        // exactly when dst == INT_MIN.
        cvtt(sink, double, size, src, dst);
        alu_imm(sink, size, Some(7), &Rm::Reg(dst), 1);
        jcc(sink, CC::NO, done);
        if saturating {
            let not_nan = sink.get_label();
            ucomis(sink, double, src, &Rm::Reg(src));
            jcc(sink, CC::NP, not_nan);
            zero_gpr(sink, dst);
            jmp(sink, done);
            sink.bind_label(not_nan);
            // Negative: INT_MIN is the saturated (or exact) result; else INT_MAX.
            xorps_zero(sink, tmp_xmm);
            ucomis(sink, double, src, &Rm::Reg(tmp_xmm));
            jcc(sink, CC::B, done);
            unary_f7(sink, size, 2, &Rm::Reg(dst));
        } else {
            let bad = sink.defer_trap(TrapCode::BAD_CONVERSION_TO_INTEGER, loc);
            let ovf = sink.defer_trap(TrapCode::INTEGER_OVERFLOW, loc);
            ucomis(sink, double, src, &Rm::Reg(src));
            jcc(sink, CC::P, bad);
            // The smallest valid input: INT_MIN exactly, or (f64 → i32) anything above
            // INT_MIN - 1.
            let (thr, strict) = match (double, size) {
                (true, OperandSize::S32) => (-2147483649.0, true),
                (_, OperandSize::S32) => (-2147483648.0, false),
                _ => (-9223372036854775808.0, false),
            };
            let c = float_const(sink, double, thr);
            ucomis(sink, double, src, &c);
            jcc(sink, if strict { CC::BE } else { CC::B }, ovf);
            // Positive overflow also yields INT_MIN.
            xorps_zero(sink, tmp_xmm);
            ucomis(sink, double, src, &Rm::Reg(tmp_xmm));
            jcc(sink, CC::NB, ovf);
        }
    } else if size != OperandSize::S64 {
        // u32 (u8/u16 likewise): a 64-bit conversion is exact for every in-range input;
        // the result is valid iff its upper 32 bits are zero.
        cvtt(sink, double, OperandSize::S64, src, dst);
        mov_rr(sink, OperandSize::S64, dst, tmp_gpr);
        enc_legacy(sink, Pfx::NONE, true, false, &[0xc1], 5, &Rm::Reg(tmp_gpr), 1);
        sink.put1(32);
        jcc(sink, CC::Z, done);
        if saturating {
            // NaN or ≤ 0 → 0; positive → u32::MAX.
            xorps_zero(sink, tmp_xmm);
            zero_gpr(sink, dst);
            ucomis(sink, double, src, &Rm::Reg(tmp_xmm));
            jcc(sink, CC::BE, done);
            unary_f7(sink, OperandSize::S32, 2, &Rm::Reg(dst));
        } else {
            let bad = sink.defer_trap(TrapCode::BAD_CONVERSION_TO_INTEGER, loc);
            let ovf = sink.defer_trap(TrapCode::INTEGER_OVERFLOW, loc);
            ucomis(sink, double, src, &Rm::Reg(src));
            jcc(sink, CC::P, bad);
            jmp(sink, ovf);
        }
    } else {
        // u64: below 2^63 a signed conversion; at or above, convert `src - 2^63` and set
        // the top bit.
        let large = sink.get_label();
        let c = float_const(sink, double, 9223372036854775808.0);
        ucomis(sink, double, src, &c);
        jcc(sink, CC::NB, large);
        if saturating {
            let zero = sink.get_label();
            jcc(sink, CC::P, zero);
            cvtt(sink, double, size, src, dst);
            test_rr(sink, size, dst);
            jcc(sink, CC::NS, done);
            sink.bind_label(zero);
            zero_gpr(sink, dst);
            jmp(sink, done);
            sink.bind_label(large);
            movaps(sink, src, tmp_xmm);
            enc_sse(sink, if double { PP_F2 } else { PP_F3 }, MAP_0F, false, 0x5c, tmp_xmm, &c, None);
            cvtt(sink, double, size, tmp_xmm, dst);
            // Overflow gave INT_MIN: spread its sign to make all ones; then set bit 63.
            mov_rr(sink, OperandSize::S64, dst, tmp_gpr);
            enc_legacy(sink, Pfx::NONE, true, false, &[0xc1], 7, &Rm::Reg(tmp_gpr), 1);
            sink.put1(63);
            alu_rm_r(sink, OperandSize::S64, 0x08, tmp_gpr, &Rm::Reg(dst));
        } else {
            let bad = sink.defer_trap(TrapCode::BAD_CONVERSION_TO_INTEGER, loc);
            let ovf = sink.defer_trap(TrapCode::INTEGER_OVERFLOW, loc);
            jcc(sink, CC::P, bad);
            cvtt(sink, double, size, src, dst);
            test_rr(sink, size, dst);
            jcc(sink, CC::NS, done);
            jmp(sink, ovf);
            sink.bind_label(large);
            movaps(sink, src, tmp_xmm);
            enc_sse(sink, if double { PP_F2 } else { PP_F3 }, MAP_0F, false, 0x5c, tmp_xmm, &c, None);
            cvtt(sink, double, size, tmp_xmm, dst);
            test_rr(sink, size, dst);
            jcc(sink, CC::S, ovf);
        }
        // bts $63, %dst
        enc_legacy(sink, Pfx::NONE, true, false, &[0x0f, 0xba], 5, &Rm::Reg(dst), 1);
        sink.put1(63);
    }
    sink.bind_label(done);
}

fn emit_inst(inst: &Inst, sink: &mut Sink, _info: &EmitInfo, state: &mut EmitState) -> CodegenResult<()> {
    match inst {
        Inst::Nop { len } => {
            let mut left = *len as usize;
            while left > 0 {
                let n = left.min(9);
                sink.put_data(nop_bytes(n));
                left -= n;
            }
        }

        Inst::AluRmiR { size, op: AluOp::Andn, src1, src2, dst } => {
            let rm = match src2 {
                RegMemImm::Reg(r) => Rm::Reg(e(*r)),
                RegMemImm::Mem(m) => {
                    mem_trap(sink, m);
                    mem_rm(m, state)
                }
                RegMemImm::Imm(_) => return Err(CodegenError::Other("andn has no immediate form".into())),
            };
            enc_vex(sink, PP_NONE, MAP_0F38, is64(*size), 0xf2, ew(*dst), e(*src1), &rm, 0);
        }
        Inst::AluRmiR { size, op, src1: _, src2, dst } => {
            let d = alu_digit(*op);
            match src2 {
                RegMemImm::Reg(r) => alu_rm_r(sink, *size, d * 8, e(*r), &Rm::Reg(ew(*dst))),
                RegMemImm::Mem(m) => {
                    mem_trap(sink, m);
                    let byte = *size == OperandSize::S8;
                    let force = byte && byte_rex(ew(*dst));
                    let opc = d * 8 + if byte { 2 } else { 3 };
                    enc_legacy(sink, Pfx::size(*size), is64(*size), force, &[opc], ew(*dst), &mem_rm(m, state), 0);
                }
                RegMemImm::Imm(i) => alu_imm(sink, *size, Some(d), &Rm::Reg(ew(*dst)), *i),
            }
        }
        Inst::AluRM { size, op, src, mem } => {
            mem_trap(sink, mem);
            alu_rm_r(sink, *size, alu_digit(*op) * 8, e(*src), &mem_rm(mem, state));
        }
        Inst::AluMI { size, op, imm, mem } => {
            mem_trap(sink, mem);
            alu_imm(sink, *size, Some(alu_digit(*op)), &mem_rm(mem, state), *imm);
        }
        Inst::CmpRmiR { size, op, src1, src2 } => {
            let s1 = e(*src1);
            match (op, src2) {
                (CmpOp::Cmp, RegMemImm::Reg(r)) => alu_rm_r(sink, *size, 0x38, e(*r), &Rm::Reg(s1)),
                (CmpOp::Test, RegMemImm::Reg(r)) => alu_rm_r(sink, *size, 0x84, e(*r), &Rm::Reg(s1)),
                (CmpOp::Cmp, RegMemImm::Mem(m)) => {
                    mem_trap(sink, m);
                    let byte = *size == OperandSize::S8;
                    let opc = if byte { 0x3a } else { 0x3b };
                    enc_legacy(
                        sink,
                        Pfx::size(*size),
                        is64(*size),
                        byte && byte_rex(s1),
                        &[opc],
                        s1,
                        &mem_rm(m, state),
                        0,
                    );
                }
                (CmpOp::Test, RegMemImm::Mem(m)) => {
                    mem_trap(sink, m);
                    alu_rm_r(sink, *size, 0x84, s1, &mem_rm(m, state));
                }
                // `cmp $0, r` sets the same flags (but AF) as the shorter `test r, r`.
                (CmpOp::Cmp, RegMemImm::Imm(0)) => alu_rm_r(sink, *size, 0x84, s1, &Rm::Reg(s1)),
                (CmpOp::Cmp, RegMemImm::Imm(i)) => alu_imm(sink, *size, Some(7), &Rm::Reg(s1), *i),
                (CmpOp::Test, RegMemImm::Imm(i)) => alu_imm(sink, *size, None, &Rm::Reg(s1), *i),
            }
        }
        Inst::UnaryRmR { size, op, src, dst } => {
            regmem_trap(sink, src);
            let (rep, opc) = match op {
                UnaryOp::Bsr => (0, 0xbd),
                UnaryOp::Bsf => (0, 0xbc),
                UnaryOp::Lzcnt => (0xf3, 0xbd),
                UnaryOp::Tzcnt => (0xf3, 0xbc),
                UnaryOp::Popcnt => (0xf3, 0xb8),
            };
            let rm = regmem_rm(src, state);
            enc_legacy(sink, Pfx::size(*size).with(rep), is64(*size), false, &[0x0f, opc], ew(*dst), &rm, 0);
        }
        Inst::Unary2 { size, op, src: _, dst } => {
            let digit = if *op == Unary2Op::Not { 2 } else { 3 };
            unary_f7(sink, *size, digit, &Rm::Reg(ew(*dst)));
        }
        Inst::ShiftR { size, kind, src: _, amount, dst } => {
            let digit = shift_digit(*kind);
            let byte = *size == OperandSize::S8;
            let d = ew(*dst);
            let force = byte && byte_rex(d);
            let rm = Rm::Reg(d);
            match amount {
                ShiftAmount::Imm(1) => enc_legacy(
                    sink,
                    Pfx::size(*size),
                    is64(*size),
                    force,
                    &[if byte { 0xd0 } else { 0xd1 }],
                    digit,
                    &rm,
                    0,
                ),
                ShiftAmount::Imm(n) => {
                    enc_legacy(
                        sink,
                        Pfx::size(*size),
                        is64(*size),
                        force,
                        &[if byte { 0xc0 } else { 0xc1 }],
                        digit,
                        &rm,
                        1,
                    );
                    sink.put1(*n);
                }
                ShiftAmount::Cl(_) => enc_legacy(
                    sink,
                    Pfx::size(*size),
                    is64(*size),
                    force,
                    &[if byte { 0xd2 } else { 0xd3 }],
                    digit,
                    &rm,
                    0,
                ),
            }
        }
        Inst::IMul { size, src1: _, src2, dst } => {
            regmem_trap(sink, src2);
            let rm = regmem_rm(src2, state);
            enc_legacy(sink, Pfx::size(*size), is64(*size), false, &[0x0f, 0xaf], ew(*dst), &rm, 0);
        }
        Inst::IMulImm { size, src, imm, dst } => {
            regmem_trap(sink, src);
            let rm = regmem_rm(src, state);
            if imm_is_i8(*size, *imm) {
                enc_legacy(sink, Pfx::size(*size), is64(*size), false, &[0x6b], ew(*dst), &rm, 1);
                sink.put1(*imm as u8);
            } else {
                let n = imm_full_bytes(*size);
                enc_legacy(sink, Pfx::size(*size), is64(*size), false, &[0x69], ew(*dst), &rm, n);
                put_imm(sink, *imm as i64, n);
            }
        }
        Inst::MulHi { size, signed, src2, .. } => {
            regmem_trap(sink, src2);
            let rm = regmem_rm(src2, state);
            unary_f7(sink, *size, if *signed { 5 } else { 4 }, &rm);
        }
        Inst::Div { size, signed, divisor, trap, .. } => {
            sink.add_trap(*trap);
            unary_f7(sink, *size, if *signed { 7 } else { 6 }, &Rm::Reg(e(*divisor)));
        }
        Inst::SignExtendData { size, .. } => match size {
            OperandSize::S8 => sink.put_data(&[0x66, 0x98]),
            OperandSize::S16 => sink.put_data(&[0x66, 0x99]),
            OperandSize::S32 => sink.put1(0x99),
            OperandSize::S64 => sink.put_data(&[0x48, 0x99]),
        },
        Inst::MovRR { size, src, dst } => mov_rr(sink, *size, e(*src), ew(*dst)),
        Inst::Imm { size, imm, dst } => emit_imm(sink, *size, *imm, ew(*dst)),
        Inst::ZeroReg { dst } => zero_gpr(sink, ew(*dst)),
        Inst::MovzxRmR { ext, src, dst } => {
            regmem_trap(sink, src);
            let rm = regmem_rm(src, state);
            let force = ext.src_bytes() == 1 && matches!(rm, Rm::Reg(r) if byte_rex(r));
            match ext {
                ExtMode::BL | ExtMode::BQ => enc_legacy(sink, Pfx::NONE, false, force, &[0x0f, 0xb6], ew(*dst), &rm, 0),
                ExtMode::WL | ExtMode::WQ => enc_legacy(sink, Pfx::NONE, false, false, &[0x0f, 0xb7], ew(*dst), &rm, 0),
                ExtMode::LQ => match rm {
                    Rm::Reg(r) => mov_rr(sink, OperandSize::S32, r, ew(*dst)),
                    _ => mov_load(sink, OperandSize::S32, &rm, ew(*dst)),
                },
            }
        }
        Inst::MovsxRmR { ext, src, dst } => {
            regmem_trap(sink, src);
            let rm = regmem_rm(src, state);
            let force = ext.src_bytes() == 1 && matches!(rm, Rm::Reg(r) if byte_rex(r));
            let w = ext.dst_bytes() == 8;
            let opc: &[u8] = match ext {
                ExtMode::BL | ExtMode::BQ => &[0x0f, 0xbe],
                ExtMode::WL | ExtMode::WQ => &[0x0f, 0xbf],
                ExtMode::LQ => &[0x63],
            };
            enc_legacy(sink, Pfx::NONE, w, force, opc, ew(*dst), &rm, 0);
        }
        Inst::Load { size, mem, dst } => {
            mem_trap(sink, mem);
            mov_load(sink, *size, &mem_rm(mem, state), ew(*dst));
        }
        Inst::Store { size, src, mem } => {
            mem_trap(sink, mem);
            alu_rm_r(sink, *size, 0x88, e(*src), &mem_rm(mem, state));
        }
        Inst::StoreImm { size, imm, mem } => {
            mem_trap(sink, mem);
            let byte = *size == OperandSize::S8;
            let n = imm_full_bytes(*size);
            enc_legacy(
                sink,
                Pfx::size(*size),
                is64(*size),
                false,
                &[if byte { 0xc6 } else { 0xc7 }],
                0,
                &mem_rm(mem, state),
                n,
            );
            put_imm(sink, *imm as i64, n);
        }
        Inst::Lea { size, mem, dst } => {
            enc_legacy(sink, Pfx::size(*size), is64(*size), false, &[0x8d], ew(*dst), &Rm::Mem(resolve(mem, state)), 0);
        }
        Inst::Setcc { cc, dst } => {
            let d = ew(*dst);
            enc_legacy(sink, Pfx::NONE, false, byte_rex(d), &[0x0f, 0x90 | *cc as u8], 0, &Rm::Reg(d), 0);
        }
        Inst::Cmove { size, cc, consequent, dst, .. } => {
            regmem_trap(sink, consequent);
            let rm = regmem_rm(consequent, state);
            let size = if *size == OperandSize::S8 { OperandSize::S32 } else { *size };
            enc_legacy(sink, Pfx::size(size), is64(size), false, &[0x0f, 0x40 | *cc as u8], ew(*dst), &rm, 0);
        }
        Inst::XmmCmove { cc, consequent, dst, .. } => {
            let skip = sink.get_label();
            jcc(sink, cc.invert(), skip);
            movaps(sink, e(*consequent), ew(*dst));
            sink.bind_label(skip);
        }
        Inst::Bswap { size, dst, .. } => enc_opreg(sink, is64(*size), false, &[0x0f, 0xc8], ew(*dst)),
        Inst::MovFromPReg { src, dst } => mov_rr(sink, OperandSize::S64, src.hw_enc() as u8, ew(*dst)),
        Inst::MovToPReg { src, dst } => mov_rr(sink, OperandSize::S64, e(*src), dst.hw_enc() as u8),
        Inst::LoadReturnAddress { dst } => {
            mov_load(sink, OperandSize::S64, &Rm::Mem(Addr::Base { base: enc::RBP, disp: 8 }), ew(*dst))
        }
        Inst::LoadExtName { dst, name, offset, reach } => {
            let d = ew(*dst);
            match reach {
                Reach::Near => {
                    // lea name+offset(%rip), dst
                    sink.put1(0x48 | (d >> 3) << 2);
                    sink.put1(0x8d);
                    sink.put1((d & 7) << 3 | 5);
                    sink.add_reloc(Reloc::X86PCRel4, name.clone(), offset - 4);
                    sink.put4(0);
                }
                Reach::Indirect => {
                    // mov name@GOTPCREL(%rip), dst; lea offset(dst), dst
                    sink.put1(0x48 | (d >> 3) << 2);
                    sink.put1(0x8b);
                    sink.put1((d & 7) << 3 | 5);
                    sink.add_reloc(Reloc::X86GOTPCRel4, name.clone(), -4);
                    sink.put4(0);
                    if *offset != 0 {
                        // Lowering checked that the offset fits.
                        let mem = Rm::Mem(Addr::Base { base: d, disp: *offset as i32 });
                        enc_legacy(sink, Pfx::NONE, true, false, &[0x8d], d, &mem, 0);
                    }
                }
                Reach::Absolute => {
                    enc_opreg(sink, true, false, &[0xb8], d);
                    sink.add_reloc(Reloc::Abs8, name.clone(), *offset);
                    sink.put8(0);
                }
            }
        }
        Inst::LoadLabelAddr { dst, label } => {
            enc_legacy(sink, Pfx::NONE, true, false, &[0x8d], ew(*dst), &Rm::Mem(Addr::Rip(*label)), 0);
        }

        Inst::XmmRmR { op, src1, src2, dst, vex } => {
            regmem_trap(sink, src2);
            let rm = regmem_rm(src2, state);
            let d = ew(*dst);
            match (op, rm) {
                // The load forms of `vmovss`/`vmovsd` have no `vvvv` source.
                (SseOp::Movss | SseOp::Movsd, Rm::Mem(_)) => enc_sse_op(sink, *op, *vex, d, 0, &rm, None),
                // Register-to-register scalar moves: the store-form opcode allows the 2-byte
                // VEX prefix when only the source is high (as GNU as picks).
                (SseOp::Movss | SseOp::Movsd, Rm::Reg(s)) if *vex && s >= 8 && d < 8 => {
                    let pp = op.encoding().prefix as u8;
                    enc_vex(sink, pp, MAP_0F, false, 0x11, s, e(*src1), &Rm::Reg(d), 0);
                }
                _ => enc_sse_op(sink, *op, *vex, d, e(*src1), &rm, None),
            }
        }
        Inst::XmmRmRImm { op, src1, src2, imm, dst, vex } => {
            regmem_trap(sink, src2);
            let rm = regmem_rm(src2, state);
            enc_sse_op(sink, *op, *vex, ew(*dst), e(*src1), &rm, Some(*imm));
        }
        Inst::XmmUnaryRmR { op, src, dst, vex } => {
            regmem_trap(sink, src);
            let rm = regmem_rm(src, state);
            match (op, rm) {
                // `vmovq` between registers: the store form (`66 0F D6`) allows the 2-byte
                // VEX prefix when only the source is high (as GNU as picks).
                (SseOp::Movq, Rm::Reg(s)) if *vex && s >= 8 && ew(*dst) < 8 => {
                    enc_vex(sink, PP_66, MAP_0F, false, 0xd6, s, 0, &Rm::Reg(ew(*dst)), 0);
                }
                _ => enc_sse_op(sink, *op, *vex, ew(*dst), 0, &rm, None),
            }
        }
        Inst::XmmUnaryRmRImm { op, src, imm, dst, vex } => {
            regmem_trap(sink, src);
            let rm = regmem_rm(src, state);
            enc_sse_op(sink, *op, *vex, ew(*dst), 0, &rm, Some(*imm));
        }
        Inst::XmmTest { op, src1, src2, vex } => {
            regmem_trap(sink, src2);
            let rm = regmem_rm(src2, state);
            enc_sse_op(sink, *op, *vex, e(*src1), 0, &rm, None);
        }
        Inst::XmmShiftImm { op, src, imm, dst, vex } => {
            let (opc, digit) = op.encoding();
            if *vex {
                enc_vex(sink, PP_66, MAP_0F, false, opc, digit, ew(*dst), &Rm::Reg(e(*src)), 1);
                sink.put1(*imm);
            } else {
                enc_sse(sink, PP_66, MAP_0F, false, opc, digit, &Rm::Reg(ew(*dst)), Some(*imm));
            }
        }
        Inst::XmmBlendv { op, mask, if_false, if_true, dst, vex } => {
            regmem_trap(sink, if_true);
            let rm = regmem_rm(if_true, state);
            let (legacy, v) = op.opcodes();
            if *vex {
                enc_vex(sink, PP_66, MAP_0F3A, false, v, ew(*dst), e(*if_false), &rm, 1);
                sink.put1(e(*mask) << 4);
            } else {
                enc_sse(sink, PP_66, MAP_0F38, false, legacy, ew(*dst), &rm, None);
            }
        }
        Inst::XmmInsertGpr { op, src1, src2, lane, dst, vex } => {
            regmem_trap(sink, src2);
            let rm = regmem_rm(src2, state);
            let (map, opc, w) = match op {
                XmmInsertOp::Pinsrb => (MAP_0F3A, 0x20, false),
                XmmInsertOp::Pinsrw => (MAP_0F, 0xc4, false),
                XmmInsertOp::Pinsrd => (MAP_0F3A, 0x22, false),
                XmmInsertOp::Pinsrq => (MAP_0F3A, 0x22, true),
            };
            if *vex {
                enc_vex(sink, PP_66, map, w, opc, ew(*dst), e(*src1), &rm, 1);
                sink.put1(*lane);
            } else {
                enc_sse(sink, PP_66, map, w, opc, ew(*dst), &rm, Some(*lane));
            }
        }
        Inst::XmmExtractGpr { op, src, lane, dst, vex } => {
            // `pextrw` (0F C5) names the GPR in ModRM.reg; the SSE4.1 forms name the XMM.
            let (map, opc, w, reg, rm) = match op {
                XmmExtractOp::Pextrb => (MAP_0F3A, 0x14, false, e(*src), ew(*dst)),
                XmmExtractOp::Pextrw => (MAP_0F, 0xc5, false, ew(*dst), e(*src)),
                XmmExtractOp::Pextrd => (MAP_0F3A, 0x16, false, e(*src), ew(*dst)),
                XmmExtractOp::Pextrq => (MAP_0F3A, 0x16, true, e(*src), ew(*dst)),
            };
            if *vex {
                enc_vex(sink, PP_66, map, w, opc, reg, 0, &Rm::Reg(rm), 1);
                sink.put1(*lane);
            } else {
                enc_sse(sink, PP_66, map, w, opc, reg, &Rm::Reg(rm), Some(*lane));
            }
        }
        Inst::XmmOnes { dst } => {
            let d = ew(*dst);
            enc_sse(sink, PP_66, MAP_0F, false, 0x76, d, &Rm::Reg(d), None);
        }
        Inst::XmmEvex { op, src1, src2, imm, dst } => {
            regmem_trap(sink, src2);
            let rm = regmem_rm(src2, state);
            let enc = op.encoding();
            let (pp, map) = (enc.prefix as u8, enc.map as u8);
            match op.kind() {
                EvexKind::ShiftImm(digit) => {
                    enc_evex(sink, pp, map, enc.w, enc.opcode, digit, ew(*dst), &rm, 1);
                    sink.put1(*imm);
                }
                EvexKind::Unary => enc_evex(sink, pp, map, enc.w, enc.opcode, ew(*dst), 0, &rm, 0),
                EvexKind::Binary | EvexKind::Permute => {
                    let s1 = src1.map(e).ok_or_else(|| CodegenError::Other(format!("{op:?} needs two sources")))?;
                    enc_evex(sink, pp, map, enc.w, enc.opcode, ew(*dst), s1, &rm, 0);
                }
            }
        }
        Inst::XmmPermi2b { table_a, table_b, dst, .. } => {
            regmem_trap(sink, table_b);
            let rm = regmem_rm(table_b, state);
            let enc = EvexOp::Vpermi2b.encoding();
            enc_evex(sink, enc.prefix as u8, enc.map as u8, enc.w, enc.opcode, ew(*dst), e(*table_a), &rm, 0);
        }
        Inst::XmmFma { op, src2, src3, dst, .. } => {
            regmem_trap(sink, src3);
            let rm = regmem_rm(src3, state);
            let (opc, w) = op.encoding();
            enc_vex(sink, PP_66, MAP_0F38, w, opc, ew(*dst), e(*src2), &rm, 0);
        }
        Inst::XmmRound { op, imm, src, dst } => {
            let rm = regmem_rm(src, state);
            let d = ew(*dst);
            if !matches!(rm, Rm::Reg(s) if s == d) {
                xorps_zero(sink, d);
            }
            // The trap site is the rounding instruction itself (after the `xorps`).
            regmem_trap(sink, src);
            let opc = if *op == RoundOp::Roundss { 0x0a } else { 0x0b };
            enc_sse(sink, PP_66, MAP_0F3A, false, opc, d, &rm, Some(*imm));
        }
        Inst::XmmLoad { op, mem, dst, vex } => {
            mem_trap(sink, mem);
            let (pp, opc) = match op {
                XmmMovOp::Movss => (PP_F3, 0x10),
                XmmMovOp::Movsd => (PP_F2, 0x10),
                XmmMovOp::Movdqu => (PP_F3, 0x6f),
                XmmMovOp::Movups => (PP_NONE, 0x10),
            };
            xmm_mov_mem(sink, *vex, pp, opc, ew(*dst), &mem_rm(mem, state));
        }
        Inst::XmmStore { op, src, mem, vex } => {
            mem_trap(sink, mem);
            let (pp, opc) = match op {
                XmmMovOp::Movss => (PP_F3, 0x11),
                XmmMovOp::Movsd => (PP_F2, 0x11),
                XmmMovOp::Movdqu => (PP_F3, 0x7f),
                XmmMovOp::Movups => (PP_NONE, 0x11),
            };
            xmm_mov_mem(sink, *vex, pp, opc, e(*src), &mem_rm(mem, state));
        }
        Inst::XmmMovRR { src, dst } => movaps(sink, e(*src), ew(*dst)),
        Inst::GprToXmm { op, size, src, dst } => {
            regmem_trap(sink, src);
            let rm = regmem_rm(src, state);
            match (op, rm) {
                // movq m64, %xmm: F3 0F 7E (what GNU as picks; no REX.W needed).
                (GprToXmmOp::Mov, Rm::Mem(_)) if is64(*size) => {
                    enc_sse(sink, PP_F3, MAP_0F, false, 0x7e, ew(*dst), &rm, None)
                }
                (GprToXmmOp::Mov, _) => enc_sse(sink, PP_66, MAP_0F, is64(*size), 0x6e, ew(*dst), &rm, None),
                (GprToXmmOp::Cvtsi2ss, _) => enc_sse(sink, PP_F3, MAP_0F, is64(*size), 0x2a, ew(*dst), &rm, None),
                (GprToXmmOp::Cvtsi2sd, _) => enc_sse(sink, PP_F2, MAP_0F, is64(*size), 0x2a, ew(*dst), &rm, None),
            }
        }
        Inst::XmmToGpr { op, size, src, dst } => match op {
            XmmToGprOp::Mov => enc_sse(sink, PP_66, MAP_0F, is64(*size), 0x7e, e(*src), &Rm::Reg(ew(*dst)), None),
            XmmToGprOp::Cvttss2si => cvtt(sink, false, *size, e(*src), ew(*dst)),
            XmmToGprOp::Cvttsd2si => cvtt(sink, true, *size, e(*src), ew(*dst)),
            XmmToGprOp::Movmskps => enc_sse(sink, PP_NONE, MAP_0F, false, 0x50, ew(*dst), &Rm::Reg(e(*src)), None),
            XmmToGprOp::Movmskpd => enc_sse(sink, PP_66, MAP_0F, false, 0x50, ew(*dst), &Rm::Reg(e(*src)), None),
            XmmToGprOp::Pmovmskb => enc_sse(sink, PP_66, MAP_0F, false, 0xd7, ew(*dst), &Rm::Reg(e(*src)), None),
        },
        Inst::XmmCmp { double, src1, src2 } => {
            regmem_trap(sink, src2);
            let rm = regmem_rm(src2, state);
            ucomis(sink, *double, e(*src1), &rm);
        }
        Inst::XmmZero { dst } => xorps_zero(sink, ew(*dst)),
        Inst::XmmMinMaxSeq { double, is_min, rhs, dst, .. } => {
            let d = ew(*dst);
            let r = e(*rhs);
            let (pp, ppd) = if *double { (PP_F2, PP_66) } else { (PP_F3, PP_NONE) };
            let do_minmax = sink.get_label();
            let nan = sink.get_label();
            let done = sink.get_label();
            ucomis(sink, *double, d, &Rm::Reg(r));
            jcc(sink, CC::NZ, do_minmax);
            jcc(sink, CC::P, nan);
            // Equal: ±0 pairs differ only in sign; or-ing (min) or and-ing (max) the bits
            // picks -0.0 / +0.0 (and is the identity for other equal values).
            enc_sse(sink, ppd, MAP_0F, false, if *is_min { 0x56 } else { 0x54 }, d, &Rm::Reg(r), None);
            jmp(sink, done);
            sink.bind_label(nan);
            // At least one NaN: the sum is a quiet NaN.
            enc_sse(sink, pp, MAP_0F, false, 0x58, d, &Rm::Reg(r), None);
            jmp(sink, done);
            sink.bind_label(do_minmax);
            enc_sse(sink, pp, MAP_0F, false, if *is_min { 0x5d } else { 0x5f }, d, &Rm::Reg(r), None);
            sink.bind_label(done);
        }
        Inst::CvtUint64ToFloatSeq { double, src, dst, tmp1, tmp2 } => {
            let (s, d, t1, t2) = (e(*src), ew(*dst), ew(*tmp1), ew(*tmp2));
            let pp = if *double { PP_F2 } else { PP_F3 };
            let big = sink.get_label();
            let done = sink.get_label();
            test_rr(sink, OperandSize::S64, s);
            jcc(sink, CC::S, big);
            enc_sse(sink, pp, MAP_0F, true, 0x2a, d, &Rm::Reg(s), None);
            jmp(sink, done);
            sink.bind_label(big);
            // Halve, keeping the lost bit as a sticky bit so rounding stays exact.
            mov_rr(sink, OperandSize::S64, s, t1);
            enc_legacy(sink, Pfx::NONE, true, false, &[0xd1], 5, &Rm::Reg(t1), 0);
            mov_rr(sink, OperandSize::S32, s, t2);
            alu_imm(sink, OperandSize::S32, Some(4), &Rm::Reg(t2), 1);
            alu_rm_r(sink, OperandSize::S64, 0x08, t1, &Rm::Reg(t2));
            enc_sse(sink, pp, MAP_0F, true, 0x2a, d, &Rm::Reg(t2), None);
            enc_sse(sink, pp, MAP_0F, false, 0x58, d, &Rm::Reg(d), None);
            sink.bind_label(done);
        }
        Inst::CvtFloatToIntSeq { src_double, dst_size, signed, saturating, src, dst, tmp_gpr, tmp_xmm, .. } => {
            emit_cvt_float_to_int(
                sink,
                state,
                *src_double,
                *dst_size,
                *signed,
                *saturating,
                e(*src),
                ew(*dst),
                ew(*tmp_gpr),
                ew(*tmp_xmm),
            );
        }

        Inst::Args { .. } | Inst::ExnPayloads { .. } => {}
        Inst::Rets { stack_bytes_to_pop, .. } => {
            emit_epilogue_restore(sink, state);
            if *stack_bytes_to_pop == 0 {
                sink.put1(0xc3);
            } else {
                sink.put1(0xc2);
                sink.put2(*stack_bytes_to_pop as u16);
            }
            if state.frame.has_frame {
                sink.add_unwind(UnwindInst::EpilogueEnd);
            }
        }
        Inst::JmpKnown { dst } => {
            if !state.falls_through_to(*dst) {
                jmp(sink, *dst);
            }
        }
        Inst::JmpCond { cc, taken, not_taken } => {
            if state.falls_through_to(*taken) {
                jcc(sink, cc.invert(), *not_taken);
            } else {
                jcc(sink, *cc, *taken);
                if !state.falls_through_to(*not_taken) {
                    jmp(sink, *not_taken);
                }
            }
        }
        Inst::JmpCondOr { cc1, cc2, taken, not_taken } => {
            jcc(sink, *cc1, *taken);
            if state.falls_through_to(*taken) {
                jcc(sink, cc2.invert(), *not_taken);
            } else {
                jcc(sink, *cc2, *taken);
                if !state.falls_through_to(*not_taken) {
                    jmp(sink, *not_taken);
                }
            }
        }
        Inst::JmpTableSeq { idx, tmp1, tmp2, default, targets } => {
            let (i, t1, t2) = (e(*idx), ew(*tmp1), ew(*tmp2));
            alu_imm(sink, OperandSize::S32, Some(7), &Rm::Reg(i), targets.len() as u32 as i32);
            jcc(sink, CC::NB, *default);
            // Zero-extend the index, load its entry (an offset from the table start), add
            // the table address, jump.
            mov_rr(sink, OperandSize::S32, i, t2);
            let table = sink.get_label();
            enc_legacy(sink, Pfx::NONE, true, false, &[0x8d], t1, &Rm::Mem(Addr::Rip(table)), 0);
            let entry = Rm::Mem(Addr::Index { base: t1, index: t2, shift: 2, disp: 0 });
            enc_legacy(sink, Pfx::NONE, true, false, &[0x63], t2, &entry, 0);
            alu_rm_r(sink, OperandSize::S64, 0x00, t1, &Rm::Reg(t2));
            enc_legacy(sink, Pfx::NONE, false, false, &[0xff], 4, &Rm::Reg(t2), 0);
            sink.bind_label(table);
            let start = sink.cur_pos();
            for (k, t) in targets.iter().enumerate() {
                sink.use_label_at_offset_with_addend(*t, X64LabelUse::JumpTable32, 4 * k as i32);
                sink.put4(0);
            }
            sink.mark_inline_data(start);
        }
        Inst::TrapIf { cc, code } => {
            let l = sink.defer_trap(*code, state.cur_srcloc);
            jcc(sink, *cc, l);
        }
        Inst::TrapIfOr { cc1, cc2, code } => {
            let l = sink.defer_trap(*code, state.cur_srcloc);
            jcc(sink, *cc1, l);
            jcc(sink, *cc2, l);
        }
        Inst::TrapIfAnd { cc1, cc2, code } => {
            let l = sink.defer_trap(*code, state.cur_srcloc);
            let skip = sink.get_label();
            jcc(sink, cc1.invert(), skip);
            jcc(sink, *cc2, l);
            sink.bind_label(skip);
        }
        Inst::Ud2 { code } => {
            sink.add_trap(*code);
            sink.put_data(&[0x0f, 0x0b]);
        }
        Inst::Int3 => sink.put1(0xcc),
        Inst::Call { info: ci, reach } => {
            emit_call(sink, ci, *reach);
            sink.add_call_site(call_handlers(ci), state.frame.frame_below_fp());
            adjust_sp(sink, false, ci.callee_pop);
            if let Some(t) = &ci.try_call
                && !state.falls_through_to(t.normal)
            {
                jmp(sink, t.normal);
            }
        }
        Inst::ReturnCall { info: ci, reach } => emit_return_call(sink, ci, *reach, state),

        Inst::LockCmpxchg { size, replacement, mem, .. } => {
            mem_trap(sink, mem);
            let r = e(*replacement);
            let byte = *size == OperandSize::S8;
            let opc = if byte { 0xb0 } else { 0xb1 };
            enc_legacy(
                sink,
                Pfx::size(*size).with(0xf0),
                is64(*size),
                byte && byte_rex(r),
                &[0x0f, opc],
                r,
                &mem_rm(mem, state),
                0,
            );
        }
        Inst::LockCmpxchg16b { mem, .. } => {
            mem_trap(sink, mem);
            enc_legacy(sink, Pfx::NONE.with(0xf0), true, false, &[0x0f, 0xc7], 1, &mem_rm(mem, state), 0);
        }
        Inst::LockXadd { size, operand, mem, .. } => {
            mem_trap(sink, mem);
            let r = e(*operand);
            let byte = *size == OperandSize::S8;
            let opc = if byte { 0xc0 } else { 0xc1 };
            enc_legacy(
                sink,
                Pfx::size(*size).with(0xf0),
                is64(*size),
                byte && byte_rex(r),
                &[0x0f, opc],
                r,
                &mem_rm(mem, state),
                0,
            );
        }
        Inst::Xchg { size, operand, mem, .. } => {
            mem_trap(sink, mem);
            alu_rm_r(sink, *size, 0x86, e(*operand), &mem_rm(mem, state));
        }
        Inst::AtomicRmwSeq { size, op, mem, operand, temp, .. } => {
            let rm = mem_rm(mem, state);
            let (t, o) = (ew(*temp), e(*operand));
            mem_trap(sink, mem);
            mov_load(sink, *size, &rm, enc::RAX);
            let again = sink.get_label();
            sink.bind_label(again);
            mov_rr(sink, OperandSize::S64, enc::RAX, t);
            let tr = Rm::Reg(t);
            match op {
                AtomicLoopOp::And => alu_rm_r(sink, *size, 0x20, o, &tr),
                AtomicLoopOp::Or => alu_rm_r(sink, *size, 0x08, o, &tr),
                AtomicLoopOp::Xor => alu_rm_r(sink, *size, 0x30, o, &tr),
                AtomicLoopOp::Add => alu_rm_r(sink, *size, 0x00, o, &tr),
                AtomicLoopOp::Sub => alu_rm_r(sink, *size, 0x28, o, &tr),
                AtomicLoopOp::Xchg => mov_rr(sink, OperandSize::S64, o, t),
                AtomicLoopOp::Nand => {
                    alu_rm_r(sink, *size, 0x20, o, &tr);
                    unary_f7(sink, *size, 2, &tr);
                }
                AtomicLoopOp::Umin | AtomicLoopOp::Umax | AtomicLoopOp::Smin | AtomicLoopOp::Smax => {
                    alu_rm_r(sink, *size, 0x38, o, &tr);
                    let csize = if *size == OperandSize::S8 { OperandSize::S32 } else { *size };
                    let cc = minmax_cmov_cc(*op);
                    enc_legacy(sink, Pfx::size(csize), is64(csize), false, &[0x0f, 0x40 | cc as u8], t, &Rm::Reg(o), 0);
                }
            }
            mem_trap(sink, mem);
            let byte = *size == OperandSize::S8;
            enc_legacy(
                sink,
                Pfx::size(*size).with(0xf0),
                is64(*size),
                byte && byte_rex(t),
                &[0x0f, if byte { 0xb0 } else { 0xb1 }],
                t,
                &rm,
                0,
            );
            jcc(sink, CC::NZ, again);
        }
        Inst::AtomicRmw128Seq { op, mem, operand_lo, operand_hi, temp, .. } => {
            emit_atomic_rmw128(sink, state, *op, mem, e(*operand_lo), e(*operand_hi), ew(*temp))?
        }
        Inst::Fence => sink.put_data(&[0x0f, 0xae, 0xf0]),
    }
    Ok(())
}

/// The 128-bit read-modify-write loop of [`Inst::AtomicRmw128Seq`]: the old value in
/// rdx:rax, the new one computed in rcx:rbx, `lock cmpxchg16b` until no other write
/// intervened.
fn emit_atomic_rmw128(
    sink: &mut Sink,
    state: &EmitState,
    op: AtomicLoopOp,
    mem: &Mem,
    lo: u8,
    hi: u8,
    tmp: u8,
) -> Result<(), CodegenError> {
    use crate::x64::regs::enc::{RAX, RBX, RCX, RDX};
    use OperandSize::S64;
    let low = resolve(&mem.amode, state);
    let high = match low {
        Addr::Base { base, disp } => Addr::Base { base, disp: disp.wrapping_add(8) },
        Addr::Index { base, index, shift, disp } => Addr::Index { base, index, shift, disp: disp.wrapping_add(8) },
        Addr::Rip(_) => {
            return Err(CodegenError::Unsupported("a RIP-relative address in a 128-bit atomic loop on x86_64".into()));
        }
    };
    mem_trap(sink, mem);
    mov_load(sink, S64, &Rm::Mem(low), RAX);
    mov_load(sink, S64, &Rm::Mem(high), RDX);
    let again = sink.get_label();
    sink.bind_label(again);
    mov_rr(sink, S64, RAX, RBX);
    mov_rr(sink, S64, RDX, RCX);
    let (b, c) = (Rm::Reg(RBX), Rm::Reg(RCX));
    match op {
        AtomicLoopOp::Add => {
            alu_rm_r(sink, S64, 0x00, lo, &b);
            alu_rm_r(sink, S64, 0x10, hi, &c);
        }
        AtomicLoopOp::Sub => {
            alu_rm_r(sink, S64, 0x28, lo, &b);
            alu_rm_r(sink, S64, 0x18, hi, &c);
        }
        AtomicLoopOp::And | AtomicLoopOp::Nand => {
            alu_rm_r(sink, S64, 0x20, lo, &b);
            alu_rm_r(sink, S64, 0x20, hi, &c);
            if op == AtomicLoopOp::Nand {
                unary_f7(sink, S64, 2, &b);
                unary_f7(sink, S64, 2, &c);
            }
        }
        AtomicLoopOp::Or => {
            alu_rm_r(sink, S64, 0x08, lo, &b);
            alu_rm_r(sink, S64, 0x08, hi, &c);
        }
        AtomicLoopOp::Xor => {
            alu_rm_r(sink, S64, 0x30, lo, &b);
            alu_rm_r(sink, S64, 0x30, hi, &c);
        }
        AtomicLoopOp::Xchg => {
            mov_rr(sink, S64, lo, RBX);
            mov_rr(sink, S64, hi, RCX);
        }
        AtomicLoopOp::Umin | AtomicLoopOp::Umax | AtomicLoopOp::Smin | AtomicLoopOp::Smax => {
            // Flags of old - operand over 128 bits; take the operand unless the old value
            // is already the minimum (maximum).
            alu_rm_r(sink, S64, 0x38, lo, &b);
            mov_rr(sink, S64, RCX, tmp);
            alu_rm_r(sink, S64, 0x18, hi, &Rm::Reg(tmp));
            let take_operand = match op {
                AtomicLoopOp::Umin => CC::NB,
                AtomicLoopOp::Umax => CC::B,
                AtomicLoopOp::Smin => CC::NL,
                _ => CC::L,
            };
            let cmov = 0x40 | take_operand as u8;
            enc_legacy(sink, Pfx::NONE, true, false, &[0x0f, cmov], RBX, &Rm::Reg(lo), 0);
            enc_legacy(sink, Pfx::NONE, true, false, &[0x0f, cmov], RCX, &Rm::Reg(hi), 0);
        }
    }
    mem_trap(sink, mem);
    enc_legacy(sink, Pfx::NONE.with(0xf0), true, false, &[0x0f, 0xc7], 1, &Rm::Mem(low), 0);
    jcc(sink, CC::NZ, again);
    Ok(())
}

/// The ModRM `/digit` of a shift or rotate.
pub(crate) fn shift_digit(kind: ShiftKind) -> u8 {
    match kind {
        ShiftKind::Rol => 0,
        ShiftKind::Ror => 1,
        ShiftKind::Shl => 4,
        ShiftKind::Shr => 5,
        ShiftKind::Sar => 7,
    }
}

/// How `Inst::Imm` materializes a value: `movl $imm32` (zero-extending), `movq $simm32`
/// (sign-extending), or `movabsq $imm64`.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(crate) enum ImmForm {
    /// `B8+r id` (32-bit, zero-extended).
    Mov32(u32),
    /// `REX.W C7 /0 id`.
    MovSx32(i32),
    /// `REX.W B8+r io`.
    Movabs(u64),
}

/// The shortest form of loading `imm` of `size`.
pub(crate) fn imm_form(size: OperandSize, imm: u64) -> ImmForm {
    if size != OperandSize::S64 || imm <= u32::MAX as u64 {
        ImmForm::Mov32(imm as u32)
    } else if imm as i64 as i32 as i64 == imm as i64 {
        ImmForm::MovSx32(imm as i64 as i32)
    } else {
        ImmForm::Movabs(imm)
    }
}

fn emit_imm(sink: &mut Sink, size: OperandSize, imm: u64, dst: u8) {
    match imm_form(size, imm) {
        ImmForm::Mov32(v) => {
            enc_opreg(sink, false, false, &[0xb8], dst);
            sink.put4(v);
        }
        ImmForm::MovSx32(v) => {
            enc_legacy(sink, Pfx::NONE, true, false, &[0xc7], 0, &Rm::Reg(dst), 4);
            sink.put4(v as u32);
        }
        ImmForm::Movabs(v) => {
            enc_opreg(sink, true, false, &[0xb8], dst);
            sink.put8(v);
        }
    }
}

/// The recommended multi-byte NOP of `n` bytes (1..=9).
fn nop_bytes(n: usize) -> &'static [u8] {
    const NOPS: [&[u8]; 10] = [
        &[],
        &[0x90],
        &[0x66, 0x90],
        &[0x0f, 0x1f, 0x00],
        &[0x0f, 0x1f, 0x40, 0x00],
        &[0x0f, 0x1f, 0x44, 0x00, 0x00],
        &[0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00],
        &[0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00],
        &[0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
        &[0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
    ];
    NOPS[n.min(9)]
}

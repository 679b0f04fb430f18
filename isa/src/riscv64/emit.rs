//! riscv64 machine-code emission: the encoder of every [`Inst`] form (through the pure
//! format encoders of `encode.rs`), compression to the 2-byte forms when the target has
//! Zca, the `vsetvli` insertion driven by the tracked vector state, the expansion of the
//! few multi-instruction forms (large offsets, PC-relative addresses), and the branch
//! forms with their ranges ([`JumpForm`], [`CondForm`]).
//!
//! Invariants:
//! - emission only sees physical registers (the allocator has rewritten every operand);
//! - every 32-bit word goes through [`put`], which emits the 2-byte form exactly when
//!   [`try_compress`] finds one for the enabled extensions; words that a label use patches
//!   later (PC-relative pairs, branches) are never compressed, so their layout is fixed;
//! - the bytes equal what GNU `as` (or `llvm-mc` for the extensions binutils 2.40 lacks)
//!   produces for the text `print.rs` prints, compression included;
//! - sequences expanded here only use `t5`/`t6` as scratch (never allocated).

use crate::riscv64::encode::*;
use crate::riscv64::inst::*;
use crate::riscv64::materialize::{MatExts, materialize};
use crate::riscv64::regs::enc as renc;
use crate::riscv64::settings::Riscv64Settings;
use crate::riscv64::vector::*;
use kiln_codegen::machinst::abi::{StackLimit, StackLimitBase, StackLimitStep};
use kiln_codegen::machinst::buffer::{Form, MachBuffer, MachEncoder, Reloc};
use kiln_codegen::machinst::call::{CallDest, CallInfo};
use kiln_codegen::machinst::unwind::UnwindInst;
use kiln_codegen::machinst::vcode::{self, BlockStart, MachInstEmit};
use kiln_codegen::machinst::{MachLabel, Reg, SourceLoc, Writable};
use kiln_codegen::{CodegenError, CodegenResult};
use kiln_ir::settings::{Flags, IsaFlags};
use kiln_ir::trapcode::TrapCode;
use smallvec::SmallVec;

/// What emission needs to know about the target: the shared flags and the ISA extensions,
/// and the encoder of branches and label uses built from them (the buffer's
/// [`MachEncoder`]).
#[derive(Clone, Debug)]
pub struct EmitInfo {
    /// Shared settings.
    pub flags: Flags,
    /// riscv64 ISA flags.
    pub isa_flags: IsaFlags,
    /// The same flags as typed booleans.
    pub settings: Riscv64Settings,
    /// The compressed forms emission may use.
    pub compress: CompressExts,
    /// The ladders of the branches under these extensions, as the buffer sees them.
    forms: BranchForms,
}

impl EmitInfo {
    /// Emission info for these flags.
    pub fn new(flags: Flags, isa_flags: IsaFlags) -> EmitInfo {
        let settings = Riscv64Settings::new(&isa_flags);
        let compress = settings.compress_exts();
        EmitInfo { forms: BranchForms::new(compress), compress, settings, flags, isa_flags }
    }
    /// The extensions the constant materializer may use.
    pub fn mat_exts(&self) -> MatExts {
        MatExts {
            zba: self.settings.has_zba,
            zbb: self.settings.has_zbb,
            zbs: self.settings.has_zbs,
            compress: self.compress,
        }
    }
}

/// The riscv64 part of the emission state: the vector state known to be in the hardware.
#[derive(Default)]
pub struct RvEmitState {
    /// The known `vl`/`vtype`.
    pub vec: VecEmitState,
}

impl RvEmitState {
    /// The hook run at the start of every block: nothing is known about the vector state
    /// when control can arrive from elsewhere.
    pub fn on_block_start(&mut self) {
        self.vec.clear();
    }
}

/// Emission state: the shared part (frame, next block, source location) and the vector
/// state ([`RvEmitState`], in `target`).
pub type EmitState = vcode::EmitState<RvEmitState>;

/// The code buffer of a riscv64 function.
pub type Sink = MachBuffer<EmitInfo>;

// ---------------------------------------------------------------------------------------
// Branches: the forms of increasing reach.

/// The forms of an unconditional jump to a label, shortest first.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum JumpForm {
    /// `c.j` (2 bytes, ±2 KiB; Zca).
    CJ,
    /// `jal zero` (4 bytes, ±1 MiB).
    Jal,
    /// `auipc t6, hi; jalr zero, lo(t6)` (8 bytes, ±2 GiB).
    AuipcJalr,
}

/// The forms of a conditional branch to a label, shortest first.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CondForm {
    /// `c.beqz`/`c.bnez` (2 bytes, ±256 B; Zca, `eq`/`ne` against `zero`, x8–x15).
    CBz,
    /// B-type (4 bytes, ±4 KiB).
    B,
    /// Inverted B-type over a `jal` (8 bytes, ±1 MiB from the `jal`).
    InvBJal,
    /// Inverted B-type over `auipc`+`jalr` (12 bytes, ±2 GiB).
    InvBAuipcJalr,
}

impl JumpForm {
    /// Bytes.
    pub fn size(self) -> u32 {
        match self {
            JumpForm::CJ => 2,
            JumpForm::Jal => 4,
            JumpForm::AuipcJalr => 8,
        }
    }
    /// The displacements (target − start of the form) the form reaches: `(min, max)`.
    pub fn reach(self) -> (i64, i64) {
        let u = self.label_use();
        (-u.max_neg_range(), u.max_pos_range())
    }
    /// The label use of the form (at its start).
    pub fn label_use(self) -> LabelUse {
        match self {
            JumpForm::CJ => LabelUse::RvcJ12,
            JumpForm::Jal => LabelUse::Jal20,
            JumpForm::AuipcJalr => LabelUse::PCRelPairI,
        }
    }
    /// The forms available, shortest first.
    pub fn ladder(c: CompressExts) -> &'static [JumpForm] {
        if c.zca { &[JumpForm::CJ, JumpForm::Jal, JumpForm::AuipcJalr] } else { &[JumpForm::Jal, JumpForm::AuipcJalr] }
    }
    /// Encode the form jumping `off` bytes from its start, or `None` if out of reach.
    pub fn encode(self, off: i64, out: &mut SmallVec<[u8; 12]>) -> Option<()> {
        let mut b: SmallVec<[u8; 12]> = match self {
            JumpForm::CJ => SmallVec::from_slice(&0xa001u16.to_le_bytes()),
            JumpForm::Jal => SmallVec::from_slice(&enc_j(0x6f, 0, 0).to_le_bytes()),
            JumpForm::AuipcJalr => {
                let mut v = SmallVec::from_slice(&enc_u(0x17, renc::T6, 0).to_le_bytes());
                v.extend_from_slice(&enc_i(0x67, 0, renc::T6, 0).to_le_bytes());
                v
            }
        };
        if !self.label_use().patch(&mut b, off) {
            return None;
        }
        out.extend_from_slice(&b);
        Some(())
    }
}

impl CondForm {
    /// Bytes.
    pub fn size(self) -> u32 {
        match self {
            CondForm::CBz => 2,
            CondForm::B => 4,
            CondForm::InvBJal => 8,
            CondForm::InvBAuipcJalr => 12,
        }
    }
    /// The forms available for `cond rs1, rs2`, shortest first.
    pub fn ladder(cond: BranchCond, rs1: u8, rs2: u8, c: CompressExts) -> &'static [CondForm] {
        const ALL: [CondForm; 4] = [CondForm::CBz, CondForm::B, CondForm::InvBJal, CondForm::InvBAuipcJalr];
        if c.zca && rs2 == 0 && is_creg(rs1) && matches!(cond, BranchCond::Eq | BranchCond::Ne) {
            &ALL
        } else {
            &ALL[1..]
        }
    }
    /// The displacements (target − start of the form) the form reaches: `(min, max)`;
    /// the long forms jump from their second instruction, 4 bytes in.
    pub fn reach(self) -> (i64, i64) {
        let (u, skip) = match self {
            CondForm::CBz => (LabelUse::RvcB9, 0),
            CondForm::B => (LabelUse::B12, 0),
            CondForm::InvBJal => (LabelUse::Jal20, 4),
            CondForm::InvBAuipcJalr => (LabelUse::PCRelPairI, 4),
        };
        (skip - u.max_neg_range(), skip + u.max_pos_range())
    }
    /// Can this form reach `off` (from the start of the form)?
    pub fn reaches(self, off: i64) -> bool {
        match self {
            CondForm::CBz => LabelUse::RvcB9.reaches(off),
            CondForm::B => LabelUse::B12.reaches(off),
            CondForm::InvBJal => LabelUse::Jal20.reaches(off - 4),
            CondForm::InvBAuipcJalr => LabelUse::PCRelPairI.reaches(off - 4),
        }
    }
    /// Encode `b<cond> rs1, rs2` jumping `off` bytes from the start of the form, or `None`
    /// if out of reach.
    pub fn encode(self, cond: BranchCond, rs1: u8, rs2: u8, off: i64, out: &mut SmallVec<[u8; 12]>) -> Option<()> {
        if !self.reaches(off) {
            return None;
        }
        let b = |c: BranchCond, o: i32| enc_b(0x63 | c.funct3() << 12, rs1, rs2, o);
        match self {
            CondForm::CBz => {
                let base: u16 = if cond == BranchCond::Eq { 0xc001 } else { 0xe001 } | ((rs1 - 8) as u16) << 7;
                out.extend_from_slice(&patch_rvc_b9(base, off as i32).to_le_bytes());
            }
            CondForm::B => out.extend_from_slice(&b(cond, off as i32).to_le_bytes()),
            CondForm::InvBJal => {
                out.extend_from_slice(&b(cond.invert(), 8).to_le_bytes());
                JumpForm::Jal.encode(off - 4, out)?;
            }
            CondForm::InvBAuipcJalr => {
                out.extend_from_slice(&b(cond.invert(), 12).to_le_bytes());
                JumpForm::AuipcJalr.encode(off - 4, out)?;
            }
        }
        Some(())
    }
}

/// A riscv64 branch as the buffer records it: its ladder is [`JumpForm::ladder`] or
/// [`CondForm::ladder`] for the target's extensions.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Rv64Branch {
    /// An unconditional jump.
    Jump,
    /// `b<cond> rs1, rs2` (register numbers).
    Cond {
        /// The condition.
        cond: BranchCond,
        /// First register.
        rs1: u8,
        /// Second register.
        rs2: u8,
    },
}

/// The buffer's view of the ladders (sizes and reaches), computed once per target.
#[derive(Clone, Debug)]
struct BranchForms {
    jump: SmallVec<[Form; 3]>,
    /// With the compressed `c.beqz`/`c.bnez` first, and without.
    cond_c: SmallVec<[Form; 4]>,
    cond: SmallVec<[Form; 4]>,
    uses: [[Form; 1]; 9],
}

fn form(size: u32, (min_disp, max_disp): (i64, i64), islands: bool) -> Form {
    Form { size, min_disp, max_disp, islands }
}

impl BranchForms {
    fn new(c: CompressExts) -> BranchForms {
        let jump = JumpForm::ladder(c).iter().map(|f| form(f.size(), f.reach(), false)).collect();
        // Trap stubs and other deferred targets are kept in reach of the 4-byte B-type form.
        let cond_form = |f: &CondForm| form(f.size(), f.reach(), *f == CondForm::B);
        let all = CondForm::ladder(BranchCond::Eq, 8, 0, c);
        let full = CondForm::ladder(BranchCond::Lt, 8, 0, c);
        let uses = LABEL_USES.map(|u| [form(0, (-u.max_neg_range(), u.max_pos_range()), true)]);
        BranchForms {
            jump,
            cond_c: all.iter().map(cond_form).collect(),
            cond: full.iter().map(cond_form).collect(),
            uses,
        }
    }
}

impl MachEncoder for EmitInfo {
    type Branch = Rv64Branch;
    type LabelUse = LabelUse;

    fn branch_forms(&self, branch: &Rv64Branch) -> &[Form] {
        match *branch {
            Rv64Branch::Jump => &self.forms.jump,
            Rv64Branch::Cond { cond, rs1, rs2 } => {
                if CondForm::ladder(cond, rs1, rs2, self.compress).len() == self.forms.cond_c.len() {
                    &self.forms.cond_c
                } else {
                    &self.forms.cond
                }
            }
        }
    }

    fn encode_branch(&self, branch: &Rv64Branch, form: usize, _at: u32, disp: i64, out: &mut Vec<u8>) {
        let mut b = SmallVec::new();
        // The buffer chose a form that reaches `disp`.
        let ok = match *branch {
            Rv64Branch::Jump => JumpForm::ladder(self.compress)[form].encode(disp, &mut b),
            Rv64Branch::Cond { cond, rs1, rs2 } => {
                CondForm::ladder(cond, rs1, rs2, self.compress)[form].encode(cond, rs1, rs2, disp, &mut b)
            }
        };
        debug_assert!(ok.is_some(), "{branch:?} form {form} cannot reach {disp}");
        out.extend_from_slice(&b);
    }

    fn is_unconditional(&self, branch: &Rv64Branch) -> bool {
        *branch == Rv64Branch::Jump
    }

    fn jump(&self) -> Rv64Branch {
        Rv64Branch::Jump
    }

    fn label_use_forms(&self, label_use: &LabelUse) -> &[Form] {
        &self.forms.uses[LABEL_USES.iter().position(|x| x == label_use).unwrap_or(0)]
    }

    fn patch_label_use(&self, label_use: &LabelUse, _at: u32, disp: i64, bytes: &mut [u8]) -> bool {
        label_use.patch(bytes, disp)
    }

    fn label_use_patch_size(&self, label_use: &LabelUse) -> u32 {
        label_use.patch_size()
    }

    fn encode_label_use(&self, _label_use: &LabelUse, _form: usize, _at: u32, _disp: i64, _out: &mut Vec<u8>) {
        // Every riscv64 label use is patched in words the emitter wrote (fixed uses, forms
        // of no size of their own).
    }

    fn trap_instruction(&self) -> &[u8] {
        if self.compress.zca {
            // c.unimp (the all-zero halfword)
            &[0x00, 0x00]
        } else {
            // unimp (csrrw zero, cycle, zero)
            &[0x73, 0x10, 0x00, 0xc0]
        }
    }

    fn write_nops(&self, mut n: usize, out: &mut Vec<u8>) {
        while n >= 4 {
            out.extend_from_slice(&[0x13, 0, 0, 0]);
            n -= 4;
        }
        if n >= 2 && self.compress.zca {
            out.extend_from_slice(&[0x01, 0x00]); // c.nop
            n -= 2;
        }
        out.extend(std::iter::repeat_n(0, n));
    }

    fn code_alignment(&self) -> u32 {
        if self.compress.zca { 2 } else { 4 }
    }
}

const LABEL_USES: [LabelUse; 9] = [
    LabelUse::RvcB9,
    LabelUse::RvcJ12,
    LabelUse::B12,
    LabelUse::Jal20,
    LabelUse::PCRelPairI,
    LabelUse::PCRelPairS,
    LabelUse::PCRelHi20,
    LabelUse::PCRelLo12I,
    LabelUse::PCRelLo12S,
];

// ---------------------------------------------------------------------------------------
// Low-level emission.

#[inline]
fn e(r: Reg) -> u8 {
    r.hw_enc() & 31
}

#[inline]
fn ew(r: Writable<Reg>) -> u8 {
    e(r.to_reg())
}

/// Emit one instruction word, compressed when the extensions allow.
#[inline]
pub fn put(sink: &mut Sink, word: u32, c: CompressExts) {
    match try_compress(word, c) {
        Some(h) => sink.put2(h),
        None => sink.put4(word),
    }
}

/// Record a label use of `kind` at the current position (the bytes follow).
fn use_label(sink: &mut Sink, label: MachLabel, kind: LabelUse) {
    sink.use_label_at_offset(label, kind);
}

fn trap_here(sink: &mut Sink, trap: Option<TrapCode>) {
    if let Some(code) = trap {
        sink.add_trap(code);
    }
}

/// A resolved memory operand: base register and 12-bit offset, after any address
/// arithmetic into `t6`; or a label.
enum Addr {
    Base(u8, i32),
    Label(MachLabel),
}

/// Resolve an address, emitting the arithmetic for offsets beyond 12 bits (into `t6`).
fn resolve(sink: &mut Sink, info: &EmitInfo, state: &EmitState, amode: &AMode) -> Addr {
    let (base, off) = match *amode {
        AMode::RegOffset(r, off) => (e(r), off),
        AMode::Stack(m) => (renc::SP, state.stack_offset(m)),
        AMode::Label(l) => return Addr::Label(l),
    };
    if fits_imm12(off) {
        return Addr::Base(base, off as i32);
    }
    let c = info.compress;
    let t6 = crate::riscv64::regs::writable_xreg(renc::T6);
    if let Some((hi, lo)) = split_hi20_lo12(off).filter(|_| off == off as i32 as i64) {
        put(sink, enc_u(0x37, renc::T6, hi), c);
        put(sink, enc_r(AluOpRRR::Add.match_bits(), renc::T6, renc::T6, base), c);
        return Addr::Base(renc::T6, lo);
    }
    for inst in materialize(t6, off as u64, info.mat_exts()).0 {
        emit_plain(&inst, sink, info);
    }
    put(sink, enc_r(AluOpRRR::Add.match_bits(), renc::T6, renc::T6, base), c);
    Addr::Base(renc::T6, 0)
}

/// Emit a simple (single-word, label-free) instruction; used for materialized sequences.
fn emit_plain(inst: &Inst, sink: &mut Sink, info: &EmitInfo) {
    if let Some(w) = simple_word(inst) {
        put(sink, w, info.compress);
    }
}

/// The 32-bit word of an instruction that is one word with no label, relocation or
/// state; `None` for the others.
pub fn simple_word(inst: &Inst) -> Option<u32> {
    Some(match *inst {
        Inst::Nop => 0x13,
        Inst::Lui { rd, imm20 } => enc_u(0x37, ew(rd), imm20),
        Inst::Auipc { rd, imm20 } => enc_u(0x17, ew(rd), imm20),
        Inst::AluRRR { op, rd, rs1, rs2 } => enc_r(op.match_bits(), ew(rd), e(rs1), e(rs2)),
        Inst::AluRRImm { op, rd, rs, imm } => {
            debug_assert!(op.imm_ok(imm), "{op:?} immediate {imm}");
            enc_i(op.match_bits(), ew(rd), e(rs), imm)
        }
        Inst::AluRR { op, rd, rs } => enc_r(op.match_bits(), ew(rd), e(rs), 0),
        Inst::Atomic { op, aq, rl, rd, addr, src, .. } => {
            let src = if op.is_lr() { 0 } else { e(src) };
            enc_r(op.match_bits(), ew(rd), e(addr), src) | (aq as u32) << 26 | (rl as u32) << 25
        }
        Inst::Fence { pred, succ } => 0x0f | ((pred & 15) as u32) << 24 | ((succ & 15) as u32) << 20,
        Inst::FenceI => 0x100f,
        Inst::Ecall => 0x73,
        Inst::Ebreak => 0x0010_0073,
        Inst::Udf { .. } => 0xc000_1073,
        Inst::FpuRRR { op, width, frm, rd, rs1, rs2 } => {
            let m = op.match_bits() | width.fmt() << 25;
            if op.has_rm() { enc_r_rm(m, ew(rd), e(rs1), e(rs2), frm as u8) } else { enc_r(m, ew(rd), e(rs1), e(rs2)) }
        }
        Inst::FpuRRRR { op, width, frm, rd, rs1, rs2, rs3 } => {
            enc_r4(op.match_bits() | width.fmt() << 25, ew(rd), e(rs1), e(rs2), e(rs3), frm as u8)
        }
        Inst::FpuRR { op, width, frm, rd, rs } => {
            let w = enc_r(op.match_bits(width), ew(rd), e(rs), 0);
            if op.has_rm(width) { w | (frm as u32) << 12 } else { w }
        }
        Inst::Fli { width, rd, index } => enc_r(0xf010_0053 | width.fmt() << 25, ew(rd), index & 31, 0),
        Inst::Jalr { rd, base, offset } => enc_i(0x67, ew(rd), e(base), offset),
        Inst::VecAluRRR { op, vd, vs2, src1, mask, .. } => {
            enc_opv(op.funct6(), mask.vm_bit(), e(vs2), e(src1), op.funct3(), ew(vd))
        }
        Inst::VecAluRRRR { op, vd, vs2, src1, mask, .. } => {
            enc_opv(op.funct6(), mask.vm_bit(), e(vs2), e(src1), op.funct3(), ew(vd))
        }
        Inst::VecAluRRImm5 { op, vd, vs2, imm, mask, .. } => {
            enc_opv(op.funct6(), mask.vm_bit(), e(vs2), (imm as u8) & 31, op.funct3(), ew(vd))
        }
        Inst::VecAluRR { op, vd, vs, mask, .. } => op.encode(ew(vd), e(vs), mask.vm_bit()),
        Inst::VecAluRImm5 { op, vd, imm, .. } => enc_opv(op.funct6(), true, 0, (imm as u8) & 31, op.funct3(), ew(vd)),
        Inst::VecLoad { eew, vd, base, mask, .. } => enc_unit_stride(false, eew, ew(vd), e(base), mask.vm_bit()),
        Inst::VecStore { eew, vs, base, mask, .. } => enc_unit_stride(true, eew, e(vs), e(base), mask.vm_bit()),
        Inst::VecMovWhole { vd, vs } => enc_vmv1r(ew(vd), e(vs)),
        Inst::VecLoadWhole { vd, base } => enc_whole_reg(false, ew(vd), e(base)),
        Inst::VecStoreWhole { vs, base } => enc_whole_reg(true, e(vs), e(base)),
        _ => return None,
    })
}

/// The most bytes one instruction can emit: a load or store whose 64-bit offset needs the
/// longest constant (8 instructions), an `add` and the access; every other form is shorter
/// (a vector instruction with its `vsetvli`: at most 20; a conditional branch with its
/// jump, both long: 20). Used to place islands before a short use goes out of reach.
pub const WORST_CASE_INST_SIZE: u32 = 40;

/// The vector state an instruction runs in, if it depends on one.
pub fn required_vstate(inst: &Inst) -> Option<VState> {
    match inst {
        Inst::VecAluRRR { vstate, .. }
        | Inst::VecAluRRRR { vstate, .. }
        | Inst::VecAluRRImm5 { vstate, .. }
        | Inst::VecAluRR { vstate, .. }
        | Inst::VecAluRImm5 { vstate, .. }
        | Inst::VecLoad { vstate, .. }
        | Inst::VecStore { vstate, .. } => Some(*vstate),
        _ => None,
    }
}

/// Emit the `vsetivli`/`vsetvli` that establishes `s`, writing the new `vl` to `rd`.
fn emit_vsetvl(sink: &mut Sink, info: &EmitInfo, rd: u8, s: VState) {
    if s.avl < 32 {
        sink.put4(enc_vsetivli(rd, s.avl, s.vtype));
    } else {
        let t6 = crate::riscv64::regs::writable_xreg(renc::T6);
        for inst in materialize(t6, s.avl as u64, info.mat_exts()).0 {
            emit_plain(&inst, sink, info);
        }
        sink.put4(enc_vsetvli(rd, renc::T6, s.vtype));
    }
}

/// Why an instruction cannot be encoded: an operand outside its field or in the wrong
/// register file (a lowering bug, reported instead of encoding something else).
fn check_operands(inst: &Inst) -> Result<(), String> {
    use regalloc2::RegClass::{Float, Int, Vector};
    let is = |r: Reg, c: regalloc2::RegClass| r.class() == c;
    let file = |f: OperandFile| match f {
        OperandFile::V => Vector,
        OperandFile::X => Int,
        OperandFile::F => Float,
    };
    let ok = match *inst {
        Inst::Lui { rd, imm20 } | Inst::Auipc { rd, imm20 } => imm20 <= 0xfffff && is(rd.to_reg(), Int),
        Inst::AluRRR { rd, rs1, rs2, .. } => is(rd.to_reg(), Int) && is(rs1, Int) && is(rs2, Int),
        Inst::AluRRImm { op, rd, rs, imm } => op.imm_ok(imm) && is(rd.to_reg(), Int) && is(rs, Int),
        Inst::AluRR { rd, rs, .. } => is(rd.to_reg(), Int) && is(rs, Int),
        Inst::Load { op, rd, .. } => is(rd.to_reg(), if op.is_fp() { Float } else { Int }),
        Inst::Store { op, src, .. } => is(src, if op.is_fp() { Float } else { Int }),
        Inst::Atomic { rd, addr, src, .. } => is(rd.to_reg(), Int) && is(addr, Int) && is(src, Int),
        Inst::Fence { pred, succ } => pred < 16 && succ < 16,
        Inst::FpuRRR { op, rd, rs1, rs2, .. } => {
            is(rd.to_reg(), if op.int_dst() { Int } else { Float }) && is(rs1, Float) && is(rs2, Float)
        }
        Inst::FpuRRRR { rd, rs1, rs2, rs3, .. } => {
            is(rd.to_reg(), Float) && is(rs1, Float) && is(rs2, Float) && is(rs3, Float)
        }
        Inst::FpuRR { op, width, frm, rd, rs } => {
            is(rd.to_reg(), if op.int_dst() { Int } else { Float })
                && is(rs, if op.int_src() { Int } else { Float })
                && (op != FpuOpRR::FcvtmodWD || (width == FpWidth::D && frm == Frm::Rtz))
                && !matches!(op, FpuOpRR::FcvtFromFloat(w) if w == width)
        }
        Inst::Fli { rd, index, .. } => index < 32 && is(rd.to_reg(), Float),
        Inst::Jalr { rd, base, offset } => fits_imm12(offset as i64) && is(rd.to_reg(), Int) && is(base, Int),
        Inst::CondBr { rs1, rs2, .. } => is(rs1, Int) && is(rs2, Int),
        Inst::VecAluRRR { op, vd, vs2, src1, mask, .. } | Inst::VecAluRRRR { op, vd, vs2, src1, mask, .. } => {
            let masked_ok = if op.is_merge() { mask.is_masked() } else { op.maskable() || !mask.is_masked() };
            masked_ok
                && is(vd.to_reg(), Vector)
                && is(vs2, Vector)
                && is(src1, file(op.src1_file()))
                && (matches!(inst, Inst::VecAluRRRR { .. }) == op.reads_vd())
        }
        Inst::VecAluRRImm5 { op, vd, vs2, imm, mask, .. } => {
            op.imm_ok(imm) && (!op.is_merge() || mask.is_masked()) && is(vd.to_reg(), Vector) && is(vs2, Vector)
        }
        Inst::VecAluRR { op, vd, vs, mask, .. } => {
            (op.maskable() || !mask.is_masked())
                && is(vd.to_reg(), file(op.dst_file()))
                && (!op.has_src() || is(vs, file(op.src_file())))
        }
        Inst::VecAluRImm5 { vd, imm, .. } => (-16..16).contains(&imm) && is(vd.to_reg(), Vector),
        Inst::VecLoad { eew, vd, base, .. } => {
            matches!(eew, 8 | 16 | 32 | 64) && is(vd.to_reg(), Vector) && is(base, Int)
        }
        Inst::VecStore { eew, vs, base, .. } => matches!(eew, 8 | 16 | 32 | 64) && is(vs, Vector) && is(base, Int),
        Inst::VecSetState { rd, .. } => is(rd.to_reg(), Int),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("riscv64: cannot encode `{}` ({inst:?})", crate::riscv64::print::print_inst(inst)))
    }
}

impl Inst {
    /// Emit this instruction (with physical registers) into `sink`. An operand that does
    /// not fit its field or register file is an error (a lowering bug), never a silently
    /// different instruction.
    pub fn emit(&self, sink: &mut Sink, info: &EmitInfo, state: &mut EmitState) -> CodegenResult<()> {
        check_operands(self).map_err(CodegenError::Other)?;
        let c = info.compress;
        if let Some(vs) = required_vstate(self)
            && state.target.vec.needs_vsetvli(&vs)
        {
            emit_vsetvl(sink, info, 0, vs);
            state.target.vec.set(vs);
        }
        match self {
            Inst::Load { op, rd, from, trap } => {
                let rd = ew(*rd);
                match resolve(sink, info, state, from) {
                    Addr::Base(base, off) => {
                        trap_here(sink, *trap);
                        put(sink, enc_i(op.match_bits(), rd, base, off), c);
                    }
                    Addr::Label(l) => {
                        // An integer load forms the address in its own destination (as the
                        // assembler's `ld rd, symbol` does); an FP load uses t6.
                        let tmp = if op.is_fp() { renc::T6 } else { rd };
                        use_label(sink, l, LabelUse::PCRelPairI);
                        sink.put4(enc_u(0x17, tmp, 0));
                        trap_here(sink, *trap);
                        sink.put4(enc_i(op.match_bits(), rd, tmp, 0));
                    }
                }
            }
            Inst::Store { op, src, to, trap } => {
                let src = e(*src);
                match resolve(sink, info, state, to) {
                    Addr::Base(base, off) => {
                        trap_here(sink, *trap);
                        put(sink, enc_s(op.match_bits(), base, src, off), c);
                    }
                    Addr::Label(l) => {
                        use_label(sink, l, LabelUse::PCRelPairS);
                        sink.put4(enc_u(0x17, renc::T6, 0));
                        trap_here(sink, *trap);
                        sink.put4(enc_s(op.match_bits(), renc::T6, src, 0));
                    }
                }
            }
            Inst::Atomic { trap, .. } | Inst::VecLoad { trap, .. } | Inst::VecStore { trap, .. } => {
                trap_here(sink, *trap);
                if let Some(w) = simple_word(self) {
                    put(sink, w, c);
                }
            }
            Inst::Udf { code } => {
                sink.add_trap(*code);
                put(sink, 0xc000_1073, c);
            }
            Inst::Args { .. } => {}
            Inst::Jal { dest } => {
                if !state.falls_through_to(*dest) {
                    sink.add_branch(*dest, Rv64Branch::Jump);
                }
            }
            Inst::CondBr { cond, rs1, rs2, taken, not_taken } => {
                let (r1, r2) = (e(*rs1), e(*rs2));
                if state.falls_through_to(*taken) {
                    sink.add_branch(*not_taken, Rv64Branch::Cond { cond: cond.invert(), rs1: r1, rs2: r2 });
                } else {
                    sink.add_branch(*taken, Rv64Branch::Cond { cond: *cond, rs1: r1, rs2: r2 });
                    if !state.falls_through_to(*not_taken) {
                        sink.add_branch(*not_taken, Rv64Branch::Jump);
                    }
                }
            }
            Inst::LoadAddr { rd, label } => {
                let rd = ew(*rd);
                use_label(sink, *label, LabelUse::PCRelPairI);
                sink.put4(enc_u(0x17, rd, 0));
                sink.put4(enc_i(AluOpRRI::Addi.match_bits(), rd, rd, 0));
            }
            Inst::LoadExtName { rd, name, offset } => {
                // As in ELF: the lo12 relocation's target is the `auipc` (a label of this
                // function), whose hi20 relocation gives the symbol and addend.
                let rd = ew(*rd);
                let auipc = sink.get_label();
                sink.bind_label(auipc);
                sink.add_reloc(Reloc::RiscvPCRelHi20, name.clone(), *offset);
                sink.put4(enc_u(0x17, rd, 0));
                sink.add_reloc_to_label(Reloc::RiscvPCRelLo12I, auipc, 0);
                sink.put4(enc_i(AluOpRRI::Addi.match_bits(), rd, rd, 0));
            }
            Inst::VecSetState { rd, vstate } => {
                emit_vsetvl(sink, info, ew(*rd), *vstate);
                state.target.vec.set(*vstate);
            }
            Inst::Rets { stack_bytes_to_pop, .. } => {
                emit_epilogue(sink, info, state, *stack_bytes_to_pop);
                put(sink, enc_i(0x67, 0, renc::RA, 0), c);
                if state.frame.has_frame {
                    sink.add_unwind(UnwindInst::EpilogueEnd);
                }
            }
            Inst::Call { info: ci } => {
                emit_call(sink, info, ci);
                let handlers = ci.try_call.as_ref().map(|t| t.handlers.clone()).unwrap_or_default();
                sink.add_call_site(handlers, state.frame.frame_below_fp());
                if ci.callee_pop > 0 {
                    // The callee popped its stack arguments: the body's SP is fixed.
                    add_imm(sink, info, renc::SP, renc::SP, -(ci.callee_pop as i64));
                }
                // The callee may have changed the vector configuration.
                state.target.vec.clear();
                if let Some(t) = &ci.try_call
                    && !state.falls_through_to(t.normal)
                {
                    sink.add_branch(t.normal, Rv64Branch::Jump);
                }
            }
            Inst::ReturnCall { info: ci } => emit_return_call(sink, info, state, ci),
            Inst::ExnPayloads { .. } => {}
            Inst::TrapIf { cond, rs1, rs2, code } => {
                let l = sink.defer_trap(*code, state.cur_srcloc);
                sink.add_branch(l, Rv64Branch::Cond { cond: *cond, rs1: e(*rs1), rs2: e(*rs2) });
            }
            Inst::Select { rd, cond, rs1, rs2, a, b } => {
                let skip = sink.get_label();
                emit_mov(sink, c, *rd, *a);
                sink.add_branch(skip, Rv64Branch::Cond { cond: *cond, rs1: e(*rs1), rs2: e(*rs2) });
                emit_mov(sink, c, *rd, *b);
                sink.bind_label(skip);
            }
            Inst::BrTable { index, tmp, default, targets } => emit_br_table(sink, c, *index, *tmp, *default, targets),
            Inst::LoadExtNameAbs { rd, name, offset } => {
                let rd = ew(*rd);
                sink.put4(enc_u(0x17, rd, 0));
                sink.put4(enc_i(LoadOp::Ld.match_bits(), rd, rd, 12));
                sink.put4(enc_j(0x6f, 0, 12));
                let start = sink.cur_pos();
                sink.add_reloc(Reloc::Abs8, name.clone(), *offset);
                sink.put8(0);
                sink.mark_inline_data(start);
            }
            Inst::StackAddr { rd, mem } => {
                let off = state.stack_offset(*mem);
                add_imm(sink, info, ew(*rd), renc::SP, off);
            }
            Inst::LoadConst { rd, imm } => {
                for inst in materialize(*rd, *imm, info.mat_exts()).0 {
                    emit_plain(&inst, sink, info);
                }
            }
            Inst::Extend { rd, rs, signed, from_bits } => emit_extend(sink, info, ew(*rd), e(*rs), *signed, *from_bits),
            Inst::VecSpill { amode, reg, load } => {
                let (base, off) = match *amode {
                    AMode::RegOffset(r, off) => (e(r), off),
                    AMode::Stack(m) => (renc::SP, state.stack_offset(m)),
                    AMode::Label(_) => return Err(CodegenError::Other("vector spill to a label".into())),
                };
                add_imm(sink, info, renc::T6, base, off);
                put(sink, enc_whole_reg(!*load, e(*reg), renc::T6), c);
            }
            Inst::AtomicLoop { .. } => emit_atomic_loop(sink, info, self),
            _ => {
                if let Some(w) = simple_word(self) {
                    put(sink, w, c);
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// The framework's side: prologue, epilogue, calls and the expanded pseudo-instructions.

impl MachInstEmit for Inst {
    type Info = EmitInfo;
    type State = RvEmitState;

    fn emit(&self, sink: &mut Sink, info: &EmitInfo, state: &mut EmitState) -> CodegenResult<()> {
        Inst::emit(self, sink, info, state)
    }

    fn emit_prologue(sink: &mut Sink, info: &EmitInfo, state: &mut EmitState) -> CodegenResult<()> {
        emit_prologue(sink, info, state);
        Ok(())
    }

    fn emit_block_start(
        _sink: &mut Sink,
        _info: &EmitInfo,
        state: &mut EmitState,
        _block: &BlockStart,
    ) -> CodegenResult<()> {
        state.target.on_block_start();
        Ok(())
    }

    fn is_plain_jump(&self) -> Option<MachLabel> {
        Inst::is_plain_jump(self)
    }

    fn worst_case_size(&self) -> u32 {
        match self {
            // The epilogue: 24 callee-saves, the frame teardown and `ret`.
            Inst::Rets { .. } => 4 * 40,
            Inst::ReturnCall { info } => 4 * 48 + 16 * (info.tail_stack_args / 8),
            Inst::BrTable { targets, .. } => 64 + 8 * targets.len() as u32,
            Inst::AtomicLoop { .. } => 4 * 40,
            _ => WORST_CASE_INST_SIZE,
        }
    }
}

/// `rd = rs + imm` for any 64-bit `imm` (through `t6` when it needs more than 12 bits;
/// `rd` and `rs` may be `sp`).
fn add_imm(sink: &mut Sink, info: &EmitInfo, rd: u8, rs: u8, imm: i64) {
    let c = info.compress;
    if fits_imm12(imm) {
        if imm != 0 || rd != rs {
            put(sink, enc_i(AluOpRRI::Addi.match_bits(), rd, rs, imm as i32), c);
        }
        return;
    }
    for inst in materialize(crate::riscv64::regs::writable_xreg(renc::T6), imm as u64, info.mat_exts()).0 {
        emit_plain(&inst, sink, info);
    }
    put(sink, enc_r(AluOpRRR::Add.match_bits(), rd, rs, renc::T6), c);
}

/// A move in any register file.
fn emit_mov(sink: &mut Sink, c: CompressExts, rd: Writable<Reg>, rs: Reg) {
    if rd.to_reg() == rs {
        return;
    }
    let w = match rs.class() {
        regalloc2::RegClass::Int => enc_i(AluOpRRI::Addi.match_bits(), ew(rd), e(rs), 0),
        regalloc2::RegClass::Float => {
            enc_r(FpuOpRRR::Fsgnj.match_bits() | FpWidth::D.fmt() << 25, ew(rd), e(rs), e(rs))
        }
        regalloc2::RegClass::Vector => enc_vmv1r(ew(rd), e(rs)),
    };
    put(sink, w, c);
}

fn emit_extend(sink: &mut Sink, info: &EmitInfo, rd: u8, rs: u8, signed: bool, from_bits: u8) {
    let c = info.compress;
    let s = &info.settings;
    let rr = |op: AluOpRR| enc_r(op.match_bits(), rd, rs, 0);
    let word = match (signed, from_bits) {
        (true, 32) => Some(enc_i(AluOpRRI::Addiw.match_bits(), rd, rs, 0)),
        (false, 32) if s.has_zba => Some(enc_r(AluOpRRR::AddUw.match_bits(), rd, rs, 0)),
        (false, 8) => Some(enc_i(AluOpRRI::Andi.match_bits(), rd, rs, 255)),
        (true, 8) if s.has_zbb => Some(rr(AluOpRR::SextB)),
        (true, 16) if s.has_zbb => Some(rr(AluOpRR::SextH)),
        (false, 16) if s.has_zbb => Some(rr(AluOpRR::ZextH)),
        _ => None,
    };
    if let Some(w) = word {
        put(sink, w, c);
        return;
    }
    let sh = 64 - from_bits as i32;
    put(sink, enc_i(AluOpRRI::Slli.match_bits(), rd, rs, sh), c);
    let right = if signed { AluOpRRI::Srai } else { AluOpRRI::Srli };
    put(sink, enc_i(right.match_bits(), rd, rd, sh), c);
}

fn sd_sp(sink: &mut Sink, c: CompressExts, reg: Reg, off: i64) {
    let op = if reg.class() == regalloc2::RegClass::Float { StoreOp::Fsd } else { StoreOp::Sd };
    put(sink, enc_s(op.match_bits(), renc::SP, e(reg), off as i32), c);
}

fn ld_sp(sink: &mut Sink, c: CompressExts, reg: Reg, off: i64) {
    let op = if reg.class() == regalloc2::RegClass::Float { LoadOp::Fld } else { LoadOp::Ld };
    put(sink, enc_i(op.match_bits(), e(reg), renc::SP, off as i32), c);
}

/// Store or load the callee-saved registers (SP-relative slots; `t6` forms far
/// addresses).
fn callee_saves(sink: &mut Sink, info: &EmitInfo, state: &EmitState, store: bool) {
    let f = &state.frame;
    let below = f.frame_below_fp() as i64;
    let c = info.compress;
    for save in &f.callee_saves {
        let reg = Reg::phys(save.reg);
        let mut off = below - save.offset as i64;
        let mut base_is_t6 = false;
        if !fits_imm12(off) {
            add_imm(sink, info, renc::T6, renc::SP, off);
            off = 0;
            base_is_t6 = true;
        }
        if base_is_t6 {
            let fp = reg.class() == regalloc2::RegClass::Float;
            if store {
                let op = if fp { StoreOp::Fsd } else { StoreOp::Sd };
                put(sink, enc_s(op.match_bits(), renc::T6, e(reg), 0), c);
            } else {
                let op = if fp { LoadOp::Fld } else { LoadOp::Ld };
                put(sink, enc_i(op.match_bits(), e(reg), renc::T6, 0), c);
            }
        } else if store {
            sd_sp(sink, c, reg, off);
        } else {
            ld_sp(sink, c, reg, off);
        }
        if store {
            sink.add_unwind(UnwindInst::SaveReg {
                reg: save.reg,
                offset_down_from_cfa: 16 + save.offset,
                size: save.size,
            });
        }
    }
}

fn emit_prologue(sink: &mut Sink, info: &EmitInfo, state: &mut EmitState) {
    if !state.frame.has_frame {
        return;
    }
    let c = info.compress;
    let fp = crate::riscv64::regs::fp_reg();
    let ra = crate::riscv64::regs::link_reg();
    // addi sp, sp, -16; sd ra, 8(sp); sd s0, 0(sp); mv s0, sp
    put(sink, enc_i(AluOpRRI::Addi.match_bits(), renc::SP, renc::SP, -16), c);
    sd_sp(sink, c, ra, 8);
    sd_sp(sink, c, fp, 0);
    sink.add_unwind(UnwindInst::PushFrameRegs { offset_upward_to_caller_sp: 16 });
    put(sink, enc_i(AluOpRRI::Addi.match_bits(), renc::FP, renc::SP, 0), c);
    sink.add_unwind(UnwindInst::DefineNewFrame { offset_upward_to_caller_sp: 16 });
    let n = state.frame.frame_below_fp();
    if let Some(limit) = state.frame.stack_limit.clone() {
        emit_stack_limit_check(sink, info, &limit, n);
    }
    let guard_log2 = info.flags.probestack_size_log2().min(31) as u32;
    let guard = 1u32 << guard_log2.max(8);
    if Flags::on(info.flags.enable_probestack()) && n > guard {
        emit_probes(sink, info, n, guard);
    } else {
        add_imm(sink, info, renc::SP, renc::SP, -(n as i64));
    }
    if n > 0 {
        sink.add_unwind(UnwindInst::StackAlloc { size: n });
    }
    callee_saves(sink, info, state, true);
}

/// Compute the stack limit into `t6` (from the `vmctx` argument, still in its register or
/// incoming slot) and trap with `stk_ovf` when `sp - below` would be under it.
fn emit_stack_limit_check(sink: &mut Sink, info: &EmitInfo, limit: &StackLimit, below: u32) {
    let c = info.compress;
    let t6 = renc::T6;
    let mut cur = match limit.base {
        StackLimitBase::Reg(p) => p.hw_enc() as u8,
        StackLimitBase::IncomingArg(off) => {
            // The incoming arguments start at the CFA, 16 bytes above the frame pointer.
            add_imm(sink, info, t6, renc::FP, 16 + off);
            put(sink, enc_i(LoadOp::Ld.match_bits(), t6, t6, 0), c);
            t6
        }
    };
    let mut pending: i64 = 0;
    for step in &limit.steps {
        match *step {
            StackLimitStep::Load(off) => {
                if pending != 0 {
                    add_imm(sink, info, renc::T5, cur, pending);
                    cur = renc::T5;
                    pending = 0;
                }
                if fits_imm12(off as i64) {
                    put(sink, enc_i(LoadOp::Ld.match_bits(), t6, cur, off), c);
                } else {
                    add_imm(sink, info, renc::T5, cur, off as i64);
                    put(sink, enc_i(LoadOp::Ld.match_bits(), t6, renc::T5, 0), c);
                }
                cur = t6;
            }
            StackLimitStep::Add(k) => pending = pending.wrapping_add(k),
        }
    }
    pending = pending.wrapping_add(below as i64);
    let trap = sink.defer_trap(TrapCode::STACK_OVERFLOW, SourceLoc::default());
    if pending == 0 {
        sink.add_branch(trap, Rv64Branch::Cond { cond: BranchCond::Ltu, rs1: renc::SP, rs2: cur });
        return;
    }
    // add_imm uses t6 as scratch for large constants: go through t5.
    if fits_imm12(pending) {
        add_imm(sink, info, renc::T5, cur, pending);
    } else {
        put(sink, enc_i(AluOpRRI::Addi.match_bits(), renc::T5, cur, 0), c);
        add_imm(sink, info, renc::T5, renc::T5, pending);
    }
    sink.add_branch(trap, Rv64Branch::Cond { cond: BranchCond::Ltu, rs1: renc::SP, rs2: renc::T5 });
}

/// Allocate `n` bytes touching every `guard`-sized page on the way down: unrolled up to
/// four pages, a loop with `t5` as the end marker beyond.
fn emit_probes(sink: &mut Sink, info: &EmitInfo, n: u32, guard: u32) {
    let c = info.compress;
    let pages = n / guard;
    let probe = |sink: &mut Sink| {
        add_imm(sink, info, renc::SP, renc::SP, -(guard as i64));
        put(sink, enc_s(StoreOp::Sw.match_bits(), renc::SP, renc::ZERO, 0), c);
    };
    if pages <= 4 {
        for _ in 0..pages {
            probe(sink);
        }
    } else {
        put(sink, enc_i(AluOpRRI::Addi.match_bits(), renc::T5, renc::SP, 0), c);
        add_imm(sink, info, renc::T5, renc::T5, -(pages as i64 * guard as i64));
        let top = sink.get_label();
        sink.bind_label(top);
        probe(sink);
        sink.add_branch(top, Rv64Branch::Cond { cond: BranchCond::Ne, rs1: renc::SP, rs2: renc::T5 });
    }
    add_imm(sink, info, renc::SP, renc::SP, -((n - pages * guard) as i64));
}

/// The epilogue before `ret`: restore the callee-saves, the frame pointer and the return
/// address, free the frame and pop `pop` bytes of stack arguments.
fn emit_epilogue(sink: &mut Sink, info: &EmitInfo, state: &EmitState, pop: u32) {
    let c = info.compress;
    if !state.frame.has_frame {
        if pop > 0 {
            add_imm(sink, info, renc::SP, renc::SP, pop as i64);
        }
        return;
    }
    sink.add_unwind(UnwindInst::EpilogueStart);
    callee_saves(sink, info, state, false);
    // sp = fp (the saved fp/ra pair; already so with nothing below it), reload them, free
    // the pair and the arguments.
    if state.frame.frame_below_fp() != 0 {
        put(sink, enc_i(AluOpRRI::Addi.match_bits(), renc::SP, renc::FP, 0), c);
    }
    ld_sp(sink, c, crate::riscv64::regs::link_reg(), 8);
    ld_sp(sink, c, crate::riscv64::regs::fp_reg(), 0);
    add_imm(sink, info, renc::SP, renc::SP, 16 + pop as i64);
    sink.add_unwind(UnwindInst::FrameRestored { offset_upward_to_caller_sp: 0 });
}

/// `auipc`+`jalr` (`call_plt`) to a near symbol, through a loaded absolute address to a
/// far one, or `jalr` through a register.
fn emit_call(sink: &mut Sink, info: &EmitInfo, ci: &CallInfo) {
    let c = info.compress;
    match &ci.dest {
        CallDest::Name { name, colocated: true } => {
            sink.add_reloc(Reloc::RiscvCallPlt, name.clone(), 0);
            sink.put4(enc_u(0x17, renc::RA, 0));
            sink.put4(enc_i(0x67, renc::RA, renc::RA, 0));
        }
        CallDest::Name { name, colocated: false } => {
            load_abs(sink, renc::T6, name, 0);
            put(sink, enc_i(0x67, renc::RA, renc::T6, 0), c);
        }
        CallDest::Indirect(r) => put(sink, enc_i(0x67, renc::RA, e(*r), 0), c),
    }
}

/// `rd = name + offset` from an absolute address in inline data.
fn load_abs(sink: &mut Sink, rd: u8, name: &kiln_codegen::machinst::buffer::RelocTarget, offset: i64) {
    sink.put4(enc_u(0x17, rd, 0));
    sink.put4(enc_i(LoadOp::Ld.match_bits(), rd, rd, 12));
    sink.put4(enc_j(0x6f, 0, 12));
    let start = sink.cur_pos();
    sink.add_reloc(Reloc::Abs8, name.clone(), offset);
    sink.put8(0);
    sink.mark_inline_data(start);
}

/// A tail call: the callee's address to `t5`, the callee-saves, `ra` and `s0` restored,
/// the new stack arguments (at the bottom of the outgoing area) copied to the top of the
/// incoming area, SP moved to them, and the jump.
fn emit_return_call(sink: &mut Sink, info: &EmitInfo, state: &EmitState, ci: &CallInfo) {
    let c = info.compress;
    let f = &state.frame;
    sink.add_unwind(UnwindInst::EpilogueStart);
    match &ci.dest {
        CallDest::Name { name, colocated: false } => load_abs(sink, renc::T5, name, 0),
        CallDest::Indirect(r) => put(sink, enc_i(AluOpRRI::Addi.match_bits(), renc::T5, e(*r), 0), c),
        CallDest::Name { colocated: true, .. } => {}
    }
    let a_f = f.incoming_args_size as i64;
    let a_g = ci.tail_stack_args as i64;
    if f.has_frame {
        callee_saves(sink, info, state, false);
        let fb = f.frame_below_fp() as i64;
        // ra and s0 from their slots (SP-relative: the copies below may overwrite them).
        if fits_imm12(fb + 8) {
            ld_sp(sink, c, crate::riscv64::regs::link_reg(), fb + 8);
            ld_sp(sink, c, crate::riscv64::regs::fp_reg(), fb);
        } else {
            add_imm(sink, info, renc::T6, renc::SP, fb);
            put(sink, enc_i(LoadOp::Ld.match_bits(), renc::RA, renc::T6, 8), c);
            put(sink, enc_i(LoadOp::Ld.match_bits(), renc::FP, renc::T6, 0), c);
        }
        let args_off = fb + 16;
        sink.add_unwind(UnwindInst::FrameRestored { offset_upward_to_caller_sp: args_off as u32 });
        // Copy the arguments downward from the top (the areas may overlap, the target
        // above the source).
        let delta = args_off + a_f - a_g;
        let mut i = a_g - 8;
        while i >= 0 {
            mem_sp(sink, info, true, i);
            mem_sp(sink, info, false, delta + i);
            i -= 8;
        }
        add_imm(sink, info, renc::SP, renc::SP, delta);
        sink.add_unwind(UnwindInst::FrameRestored { offset_upward_to_caller_sp: 0 });
    }
    match &ci.dest {
        CallDest::Name { name, colocated: true } => {
            sink.add_reloc(Reloc::RiscvCallPlt, name.clone(), 0);
            sink.put4(enc_u(0x17, renc::T6, 0));
            sink.put4(enc_i(0x67, 0, renc::T6, 0));
        }
        _ => put(sink, enc_i(0x67, 0, renc::T5, 0), c),
    }
    sink.add_unwind(UnwindInst::EpilogueEnd);
}

/// `ld t6, off(sp)` (`load`) or `sd t6, off(sp)`, any offset (through `t5`).
fn mem_sp(sink: &mut Sink, info: &EmitInfo, load: bool, off: i64) {
    let c = info.compress;
    let (base, o) = if fits_imm12(off) {
        (renc::SP, off as i32)
    } else {
        // t5 = sp + off, computed without t6 (which carries the value being copied);
        // frames are smaller than 1 GiB.
        let (hi, lo) = split_hi20_lo12(off).unwrap_or((0, 0));
        put(sink, enc_u(0x37, renc::T5, hi), c);
        put(sink, enc_r(AluOpRRR::Add.match_bits(), renc::T5, renc::T5, renc::SP), c);
        (renc::T5, lo)
    };
    if load {
        put(sink, enc_i(LoadOp::Ld.match_bits(), renc::T6, base, o), c);
    } else {
        put(sink, enc_s(StoreOp::Sd.match_bits(), base, renc::T6, o), c);
    }
}

/// The jump table: range check, then a jump into a table of `auipc t6; jalr zero, t6`
/// pairs (8 bytes each).
fn emit_br_table(
    sink: &mut Sink,
    c: CompressExts,
    index: Reg,
    tmp: Writable<Reg>,
    default: MachLabel,
    targets: &[MachLabel],
) {
    let (i, t) = (e(index), ew(tmp));
    // t = len; bgeu index, t, default
    let len = targets.len() as i64;
    if fits_imm12(len) {
        put(sink, enc_i(AluOpRRI::Addi.match_bits(), t, 0, len as i32), c);
    } else {
        let (hi, lo) = split_hi20_lo12(len).unwrap_or((0, 0));
        put(sink, enc_u(0x37, t, hi), c);
        put(sink, enc_i(AluOpRRI::Addiw.match_bits(), t, t, lo), c);
    }
    sink.add_branch(default, Rv64Branch::Cond { cond: BranchCond::Geu, rs1: i, rs2: t });
    // t6 = pc; t = index * 8; t6 += t; jump to the table 16 bytes past the auipc.
    sink.put4(enc_u(0x17, renc::T6, 0));
    sink.put4(enc_i(AluOpRRI::Slli.match_bits(), t, i, 3));
    sink.put4(enc_r(AluOpRRR::Add.match_bits(), renc::T6, renc::T6, t));
    sink.put4(enc_i(0x67, 0, renc::T6, 16));
    for &target in targets {
        sink.use_label_at_offset(target, LabelUse::PCRelPairI);
        sink.put4(enc_u(0x17, renc::T6, 0));
        sink.put4(enc_i(0x67, 0, renc::T6, 0));
    }
}

/// An LR/SC loop (see [`Inst::AtomicLoop`]).
fn emit_atomic_loop(sink: &mut Sink, info: &EmitInfo, inst: &Inst) {
    let Inst::AtomicLoop { op, word64, narrow, addr, src, expected, dst, t0, t1, trap } = inst else { return };
    let c = info.compress;
    let (addr, src, expected, dst, t0, t1) = (e(*addr), e(*src), e(*expected), ew(*dst), ew(*t0), ew(*t1));
    let (lr, sc) = if *word64 { (AtomicOp::LrD, AtomicOp::ScD) } else { (AtomicOp::LrW, AtomicOp::ScW) };
    let amo = |op: AtomicOp, rd: u8, rs2: u8| enc_r(op.match_bits(), rd, addr, rs2) | 1 << 26 | 1 << 25;
    let rrr = |op: AluOpRRR, rd: u8, a: u8, b: u8| enc_r(op.match_bits(), rd, a, b);
    let rri = |op: AluOpRRI, rd: u8, a: u8, imm: i32| enc_i(op.match_bits(), rd, a, imm);
    let top = sink.get_label();
    let done = sink.get_label();
    sink.bind_label(top);
    // The loaded word: the old value itself, or the whole word holding the field.
    let word = if narrow.is_some() { t0 } else { dst };
    if let Some(code) = trap {
        sink.add_trap(*code);
    }
    sink.put4(amo(lr, word, 0));
    if let Some((bits, shift)) = narrow {
        let shift = e(*shift);
        let sh = 64 - *bits as i32;
        put(sink, rrr(AluOpRRR::Srl, dst, t0, shift), c);
        // The old field, extended the way `src`/`expected` were.
        let signed = matches!(op, AtomicLoopOp::Smin | AtomicLoopOp::Smax);
        put(sink, rri(AluOpRRI::Slli, dst, dst, sh), c);
        put(sink, rri(if signed { AluOpRRI::Srai } else { AluOpRRI::Srli }, dst, dst, sh), c);
        if *op == AtomicLoopOp::Cas {
            sink.add_branch(done, Rv64Branch::Cond { cond: BranchCond::Ne, rs1: dst, rs2: expected });
            put(sink, rrr(AluOpRRR::Sll, t1, src, shift), c);
        } else {
            emit_loop_op(sink, c, *op, t1, dst, src);
            put(sink, rrr(AluOpRRR::Sll, t1, t1, shift), c);
        }
        // t1 = ((t1 ^ t0) & mask) ^ t0, mask = ones(bits) << shift (in t6).
        put(sink, rrr(AluOpRRR::Xor, t1, t1, t0), c);
        if *bits == 8 {
            put(sink, rri(AluOpRRI::Addi, renc::T6, 0, 255), c);
        } else {
            put(sink, enc_u(0x37, renc::T6, 0x10), c);
            put(sink, rri(AluOpRRI::Addiw, renc::T6, renc::T6, -1), c);
        }
        put(sink, rrr(AluOpRRR::Sll, renc::T6, renc::T6, shift), c);
        put(sink, rrr(AluOpRRR::And, t1, t1, renc::T6), c);
        put(sink, rrr(AluOpRRR::Xor, t1, t1, t0), c);
        sink.put4(amo(sc, t1, t1));
    } else if *op == AtomicLoopOp::Cas {
        sink.add_branch(done, Rv64Branch::Cond { cond: BranchCond::Ne, rs1: dst, rs2: expected });
        sink.put4(amo(sc, t1, src));
    } else {
        emit_loop_op(sink, c, *op, t0, dst, src);
        sink.put4(amo(sc, t1, t0));
    }
    sink.add_branch(top, Rv64Branch::Cond { cond: BranchCond::Ne, rs1: t1, rs2: 0 });
    sink.bind_label(done);
}

/// `rd = op(old, src)` inside an LR/SC loop (min/max by a branch over a move).
fn emit_loop_op(sink: &mut Sink, c: CompressExts, op: AtomicLoopOp, rd: u8, old: u8, src: u8) {
    let rrr = |o: AluOpRRR| enc_r(o.match_bits(), rd, old, src);
    let w = match op {
        AtomicLoopOp::Add => rrr(AluOpRRR::Add),
        AtomicLoopOp::Sub => rrr(AluOpRRR::Sub),
        AtomicLoopOp::And => rrr(AluOpRRR::And),
        AtomicLoopOp::Or => rrr(AluOpRRR::Or),
        AtomicLoopOp::Xor => rrr(AluOpRRR::Xor),
        AtomicLoopOp::Xchg | AtomicLoopOp::Cas => enc_i(AluOpRRI::Addi.match_bits(), rd, src, 0),
        AtomicLoopOp::Nand => {
            put(sink, rrr(AluOpRRR::And), c);
            enc_i(AluOpRRI::Xori.match_bits(), rd, rd, -1)
        }
        AtomicLoopOp::Smin | AtomicLoopOp::Smax | AtomicLoopOp::Umin | AtomicLoopOp::Umax => {
            // rd = old; if !(old <cond> src) rd = src
            let cond = match op {
                AtomicLoopOp::Smin => BranchCond::Lt,
                AtomicLoopOp::Umin => BranchCond::Ltu,
                AtomicLoopOp::Smax => BranchCond::Ge,
                _ => BranchCond::Geu,
            };
            let skip = sink.get_label();
            put(sink, enc_i(AluOpRRI::Addi.match_bits(), rd, old, 0), c);
            sink.add_branch(skip, Rv64Branch::Cond { cond, rs1: old, rs2: src });
            put(sink, enc_i(AluOpRRI::Addi.match_bits(), rd, src, 0), c);
            sink.bind_label(skip);
            return;
        }
    };
    put(sink, w, c);
}

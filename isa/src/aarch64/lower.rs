//! Lowering of IR to aarch64 instructions: one `match` on the opcode, with small matchers
//! for immediates, addressing modes, operand folding and compare fusion. Vector types are
//! lowered by [`super::lower_vector`].
//!
//! Matchers:
//! - [`A64Lower::addsub_operand`] / [`A64Lower::logic_operand`]: the second operand of an
//!   ALU operation as a 12-bit (possibly negated) or bitmask immediate, a shifted register
//!   (a single-use `ishl` by a constant), an extended register (a single-use
//!   `uextend`/`sextend`), or a register;
//! - [`A64Lower::amode`]: an address with constant offsets, shifted and extended indices and
//!   stack slots folded into one addressing mode;
//! - [`A64Lower::test`]: what a branch, trap or select tests — the flags of the fused
//!   `icmp`/`fcmp` (or a `ccmp` chain for `band`/`bor` of two compares), or a register for
//!   `cbz`/`tbz`.
//!
//! Conventions: a narrow integer (i8, i16) lives in the low bits of a register and its upper
//! bits are unspecified, so an operation whose result depends on them (right shifts,
//! division, comparisons, flags) extends first; values known to be extended already (loads,
//! constants, extensions, 32-bit operations on i32) are not extended again. Every virtual
//! register is defined once (constants built with `movk` chain through fresh registers).

use crate::aarch64::abi::{Aarch64Abi, extend_inst, load_op, store_op};
use crate::aarch64::inst::*;
use crate::aarch64::regs::{PINNED_ENC, fp_reg, link_reg, stack_reg, xreg, zero_reg};
use crate::aarch64::settings::Aarch64Settings;
use kiln_codegen::machinst::abi::StackAMode;
use kiln_codegen::machinst::call::reloc_target;
use kiln_codegen::machinst::lower::{Lower, LowerBackend, Uses};
use kiln_codegen::machinst::{MachLabel, Reg, ValueRegs, Writable};
use kiln_codegen::{CodegenError, CodegenResult};
use kiln_ir::condcodes::{FloatCC, IntCC};
use kiln_ir::function::GlobalValueData;
use kiln_ir::instructions::AtomicRmwOp as IrRmw;
use kiln_ir::memflags::{Endianness, MemFlags};
use kiln_ir::settings::{Flags, IsaFlags};
use kiln_ir::trapcode::TrapCode;
use kiln_ir::types::{self, Type};
use kiln_ir::{Inst as IrInst, InstructionData as D, Opcode, Value};
use regalloc2::RegClass;
use smallvec::SmallVec;
use target_lexicon::Triple;

/// The aarch64 lowering backend.
pub struct Aarch64Backend {
    /// Shared flags.
    pub flags: Flags,
    /// ISA extensions and code-generation choices.
    pub isa: Aarch64Settings,
    /// The ABI object.
    pub abi: Aarch64Abi,
}

impl Aarch64Backend {
    /// A backend for these flags and triple.
    pub fn new(flags: Flags, isa_flags: &IsaFlags, triple: Triple) -> Self {
        Aarch64Backend {
            isa: Aarch64Settings::new(isa_flags),
            abi: Aarch64Abi::new(flags.clone(), isa_flags, triple),
            flags,
        }
    }
}

pub(crate) type Ctx<'a, 'f> = &'a mut Lower<'f, Inst>;

pub(crate) fn unsupported(what: impl Into<String>) -> CodegenError {
    CodegenError::Unsupported(format!("{} on aarch64", what.into()))
}

pub(crate) fn unsupported_op(op: Opcode, ty: Type) -> CodegenError {
    unsupported(format!("{ty} {op}"))
}

/// The width of the integer operation for a type: 64-bit above 32 bits.
pub(crate) fn osize(ty: Type) -> OperandSize {
    OperandSize::for_bits(ty.bits())
}

fn is_int(ty: Type) -> bool {
    ty.is_int() && ty.is_scalar() && ty.bits() <= 64
}

/// The condition after `cmp x, y` for an integer comparison.
pub(crate) fn intcc(cc: IntCC) -> Cond {
    match cc {
        IntCC::Equal => Cond::Eq,
        IntCC::NotEqual => Cond::Ne,
        IntCC::SignedLessThan => Cond::Lt,
        IntCC::SignedGreaterThanOrEqual => Cond::Ge,
        IntCC::SignedGreaterThan => Cond::Gt,
        IntCC::SignedLessThanOrEqual => Cond::Le,
        IntCC::UnsignedLessThan => Cond::Lo,
        IntCC::UnsignedGreaterThanOrEqual => Cond::Hs,
        IntCC::UnsignedGreaterThan => Cond::Hi,
        IntCC::UnsignedLessThanOrEqual => Cond::Ls,
    }
}

/// A condition in the flags: one condition, or either of two (`fcmp one`/`ueq`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum FCond {
    One(Cond),
    Or(Cond, Cond),
}

/// The condition(s) after `fcmp x, y` for a float comparison.
pub(crate) fn floatcc(cc: FloatCC) -> FCond {
    use FloatCC::*;
    match cc {
        Ordered => FCond::One(Cond::Vc),
        Unordered => FCond::One(Cond::Vs),
        Equal => FCond::One(Cond::Eq),
        NotEqual => FCond::One(Cond::Ne),
        OrderedNotEqual => FCond::Or(Cond::Mi, Cond::Gt),
        UnorderedOrEqual => FCond::Or(Cond::Eq, Cond::Vs),
        LessThan => FCond::One(Cond::Mi),
        LessThanOrEqual => FCond::One(Cond::Ls),
        GreaterThan => FCond::One(Cond::Gt),
        GreaterThanOrEqual => FCond::One(Cond::Ge),
        UnorderedOrLessThan => FCond::One(Cond::Lt),
        UnorderedOrLessThanOrEqual => FCond::One(Cond::Le),
        UnorderedOrGreaterThan => FCond::One(Cond::Hi),
        UnorderedOrGreaterThanOrEqual => FCond::One(Cond::Pl),
    }
}

/// Does `cond` hold for the flags `nzcv`?
fn cond_holds(cond: Cond, nzcv: u8) -> bool {
    let (n, z, c, v) = (nzcv & 8 != 0, nzcv & 4 != 0, nzcv & 2 != 0, nzcv & 1 != 0);
    match cond {
        Cond::Eq => z,
        Cond::Ne => !z,
        Cond::Hs => c,
        Cond::Lo => !c,
        Cond::Mi => n,
        Cond::Pl => !n,
        Cond::Vs => v,
        Cond::Vc => !v,
        Cond::Hi => c && !z,
        Cond::Ls => !(c && !z),
        Cond::Ge => n == v,
        Cond::Lt => n != v,
        Cond::Gt => !z && n == v,
        Cond::Le => !(!z && n == v),
        Cond::Al | Cond::Nv => true,
    }
}

/// Flags under which `cond` evaluates to `want` (for the failing case of a `ccmp`).
fn nzcv_for(cond: Cond, want: bool) -> NZCV {
    let bits = (0..16u8).find(|&f| cond_holds(cond, f) == want).unwrap_or(0);
    NZCV(bits)
}

/// What a branch, trap or select tests.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Test {
    /// The flags, set by the instructions already emitted.
    Flags(FCond),
    /// A register test (`cbz`/`cbnz`/`tbz`/`tbnz`).
    Kind(CondBrKind),
}

/// How the bits of a value's register above its type's width are known to be.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Ext {
    /// Zero up to bit 63.
    Zero,
    /// A copy of the sign bit up to bit 63.
    Sign64,
    /// A copy of the sign bit up to bit 31 (zero above).
    Sign32,
    /// Unknown.
    Unknown,
}

impl LowerBackend for Aarch64Backend {
    type MInst = Inst;
    type Abi = Aarch64Abi;

    fn abi(&self) -> &Aarch64Abi {
        &self.abi
    }

    fn lower(&self, ctx: &mut Lower<'_, Inst>, inst: IrInst) -> CodegenResult<()> {
        A64Lower { b: self }.lower_inst(ctx, inst)
    }

    fn lower_branch(&self, ctx: &mut Lower<'_, Inst>, inst: IrInst, targets: &[MachLabel]) -> CodegenResult<()> {
        A64Lower { b: self }.lower_branch(ctx, inst, targets)
    }
}

/// The lowering of one instruction (a view of the backend's settings).
pub(crate) struct A64Lower<'b> {
    pub(crate) b: &'b Aarch64Backend,
}

/// The second operand of an add/subtract or compare.
#[derive(Copy, Clone, Debug)]
enum AddSubRhs {
    Imm(Imm12),
    /// The negated constant fits: the opposite operation with this immediate.
    NegImm(Imm12),
    Reg(Reg),
    Shifted(Reg, ShiftOp, u8),
    Extended(Reg, ExtendOp, u8),
}

/// The second operand of a logical operation.
#[derive(Copy, Clone, Debug)]
enum LogicRhs {
    Imm(ImmLogic),
    Reg(Reg),
    Shifted(Reg, ShiftOp, u8),
}

impl A64Lower<'_> {
    // -------------------------------------------------------------------------------------
    // Registers and constants

    pub(crate) fn reg(&self, ctx: Ctx, v: Value) -> CodegenResult<Reg> {
        ctx.put_value_in_reg(v)
    }

    pub(crate) fn regs(&self, ctx: Ctx, v: Value) -> CodegenResult<ValueRegs> {
        ctx.put_value_in_regs(v)
    }

    /// A 64-bit integer temporary.
    pub(crate) fn itmp(&self, ctx: Ctx) -> CodegenResult<Writable<Reg>> {
        ctx.alloc_tmp(types::I64)
    }

    /// A temporary FP/vector register.
    pub(crate) fn vtmp(&self, ctx: Ctx) -> CodegenResult<Writable<Reg>> {
        ctx.alloc_tmp(types::I8X16)
    }

    /// Make result `idx` of `inst` the register `r` (no move).
    pub(crate) fn set_result(&self, ctx: Ctx, inst: IrInst, idx: usize, r: Reg) -> CodegenResult<()> {
        let v = ctx.f.dfg.inst_results(inst)[idx];
        ctx.alias_value(v, r)
    }

    /// The definition of `v` when it can be folded into its only user, the instruction
    /// being lowered: used once, in the same block.
    pub(crate) fn fold(&self, ctx: Ctx, v: Value) -> Option<IrInst> {
        let def = ctx.def_inst(v)?;
        if ctx.uses(v) != Uses::Once || ctx.f.layout.inst_block(def) != ctx.cur_block() {
            return None;
        }
        Some(def)
    }

    /// The definition of `v` when it is a pure instruction whose operands an operand form
    /// or addressing mode can take instead (a shift, an extension, an add): whatever its
    /// number of uses and wherever it is (its operands are available wherever it is, and
    /// an instruction still needed by another user is lowered there anyway).
    pub(crate) fn fold_pure(&self, ctx: Ctx, v: Value) -> Option<IrInst> {
        let def = ctx.def_inst(v)?;
        if ctx.f.dfg.opcode(def).is_pure() {
            return Some(def);
        }
        (ctx.uses(v) == Uses::Once && ctx.f.layout.inst_block(def) == ctx.cur_block()).then_some(def)
    }

    /// `value` in a new register (the shortest `movz`/`movn`/`movk`/`orr` sequence, each
    /// step into a fresh register).
    pub(crate) fn const_reg(&self, ctx: Ctx, value: u64, size: OperandSize) -> CodegenResult<Reg> {
        let steps = materialize(value, !size.is64());
        let mut cur: Option<Reg> = None;
        for s in steps {
            let rd = self.itmp(ctx)?;
            ctx.emit(match s {
                MatStep::MovZ(imm) => Inst::MovWide { op: MoveWideOp::MovZ, size, rd, imm },
                MatStep::MovN(imm) => Inst::MovWide { op: MoveWideOp::MovN, size, rd, imm },
                MatStep::MovK(imm) => {
                    let ri = cur.ok_or_else(|| CodegenError::Other("movk without a first step".into()))?;
                    Inst::MovK { size, rd, ri, imm }
                }
                MatStep::Orr(imml) => Inst::AluRRImmLogic { op: ALUOp::Orr, size, rd, rn: zero_reg(), imml },
            });
            cur = Some(rd.to_reg());
        }
        cur.ok_or_else(|| CodegenError::Other("empty constant sequence".into()))
    }

    /// A register holding `v`, or `xzr` when `v` is the constant 0 (for fields where
    /// register 31 means the zero register).
    pub(crate) fn reg_or_zero(&self, ctx: Ctx, v: Value) -> CodegenResult<Reg> {
        if ctx.iconst_bits(v) == Some(0) {
            return Ok(zero_reg());
        }
        self.reg(ctx, v)
    }

    pub(crate) fn alu(&self, ctx: Ctx, op: ALUOp, size: OperandSize, rn: Reg, rm: Reg) -> CodegenResult<Reg> {
        let rd = self.itmp(ctx)?;
        ctx.emit(Inst::AluRRR { op, size, rd, rn, rm });
        Ok(rd.to_reg())
    }

    fn alu_into(&self, ctx: Ctx, op: ALUOp, size: OperandSize, rd: Writable<Reg>, rn: Reg, rm: Reg) {
        ctx.emit(Inst::AluRRR { op, size, rd, rn, rm });
    }

    /// `rn op #imm` for add/sub with any immediate (a register when it does not fit).
    pub(crate) fn add_imm(&self, ctx: Ctx, size: OperandSize, rn: Reg, imm: i64) -> CodegenResult<Reg> {
        let rd = self.itmp(ctx)?;
        let mask = if size.is64() { u64::MAX } else { 0xffff_ffff };
        if let Some(i) = Imm12::maybe_from_u64(imm as u64 & mask) {
            ctx.emit(Inst::AluRRImm12 { op: ALUOp::Add, size, rd, rn, imm12: i });
        } else if let Some(i) = Imm12::maybe_from_u64(imm.wrapping_neg() as u64 & mask) {
            ctx.emit(Inst::AluRRImm12 { op: ALUOp::Sub, size, rd, rn, imm12: i });
        } else {
            let c = self.const_reg(ctx, imm as u64, size)?;
            ctx.emit(Inst::AluRRR { op: ALUOp::Add, size, rd, rn, rm: c });
        }
        Ok(rd.to_reg())
    }

    /// `rn op #imm` for a logical operation (a register when the bitmask does not fit).
    pub(crate) fn logic_imm(&self, ctx: Ctx, op: ALUOp, size: OperandSize, rn: Reg, imm: u64) -> CodegenResult<Reg> {
        let rd = self.itmp(ctx)?;
        match ImmLogic::maybe_from_u64(imm, !size.is64()) {
            Some(imml) => ctx.emit(Inst::AluRRImmLogic { op, size, rd, rn, imml }),
            None => {
                let c = self.const_reg(ctx, imm, size)?;
                ctx.emit(Inst::AluRRR { op, size, rd, rn, rm: c });
            }
        }
        Ok(rd.to_reg())
    }

    /// A bitfield move (`ubfm`/`sbfm`) into a new register.
    pub(crate) fn bitfield(
        &self,
        ctx: Ctx,
        op: BitfieldOp,
        size: OperandSize,
        rn: Reg,
        immr: u8,
        imms: u8,
    ) -> CodegenResult<Reg> {
        let rd = self.itmp(ctx)?;
        ctx.emit(Inst::Bitfield { op, size, rd, rn, immr, imms });
        Ok(rd.to_reg())
    }

    /// `rn << n` (immediate).
    pub(crate) fn lsl_imm(&self, ctx: Ctx, size: OperandSize, rn: Reg, n: u8) -> CodegenResult<Reg> {
        let w = size.bits() as u8;
        let n = n % w;
        self.bitfield(ctx, BitfieldOp::Ubfm, size, rn, (w - n) % w, w - 1 - n)
    }

    /// `rn >> n` (immediate, logical or arithmetic).
    pub(crate) fn shr_imm(&self, ctx: Ctx, size: OperandSize, rn: Reg, n: u8, signed: bool) -> CodegenResult<Reg> {
        let w = size.bits() as u8;
        let op = if signed { BitfieldOp::Sbfm } else { BitfieldOp::Ubfm };
        self.bitfield(ctx, op, size, rn, n % w, w - 1)
    }

    /// Extend the low `from_bits` of `r` to 32 or 64 bits (`to64`) in a new register.
    pub(crate) fn extend_reg(&self, ctx: Ctx, r: Reg, from_bits: u32, signed: bool, to64: bool) -> CodegenResult<Reg> {
        let to = if to64 { 64 } else { 32 };
        if from_bits >= to {
            return Ok(r);
        }
        let rd = self.itmp(ctx)?;
        ctx.emit(extend_inst(rd, r, signed, from_bits as u8, to as u8));
        Ok(rd.to_reg())
    }

    /// What the bits of `v`'s register above its width are known to be.
    fn ext_of(&self, ctx: Ctx, v: Value) -> Ext {
        let ty = ctx.value_ty(v);
        if ty.bits() >= 64 {
            return Ext::Zero;
        }
        let Some(def) = ctx.def_inst(v) else { return Ext::Unknown };
        let data = ctx.data(def);
        let little = |flags| ctx.f.dfg.mem_flags.get(flags).explicit_endianness() != Some(Endianness::Big);
        match *data {
            D::UnaryImm { opcode: Opcode::Iconst, .. } => Ext::Zero,
            D::Load { opcode, flags, .. } if little(flags) => match opcode {
                Opcode::Uload8 | Opcode::Uload16 | Opcode::Uload32 => Ext::Zero,
                Opcode::Load if ty.is_int() => Ext::Zero,
                Opcode::Sload8 | Opcode::Sload16 | Opcode::Sload32 => {
                    if ty.bits() > 32 {
                        Ext::Sign64
                    } else {
                        Ext::Sign32
                    }
                }
                _ => Ext::Unknown,
            },
            D::Unary { opcode: Opcode::Uextend, arg } if ctx.value_ty(arg).bits() < 32 || ty.bits() == 32 => {
                // A zero extension to 32 bits or less is a 32-bit `uxtb`/`uxth`.
                Ext::Zero
            }
            D::Unary { opcode: Opcode::Sextend, .. } if ty.bits() == 32 => Ext::Sign32,
            // Operations lowered to one 32-bit instruction writing a w register.
            D::Binary { opcode, args } if ty == types::I32 => match opcode {
                Opcode::Iadd
                | Opcode::Isub
                | Opcode::Imul
                | Opcode::Band
                | Opcode::Bor
                | Opcode::Bxor
                | Opcode::Udiv
                | Opcode::Sdiv
                | Opcode::Urem
                | Opcode::Srem => Ext::Zero,
                Opcode::Ishl | Opcode::Ushr | Opcode::Sshr if ctx.iconst_bits(args[1]).is_none_or(|c| c & 31 != 0) => {
                    Ext::Zero
                }
                _ => Ext::Unknown,
            },
            _ => Ext::Unknown,
        }
    }

    /// `v` extended (signed or not) from its width to 32 or 64 bits.
    pub(crate) fn ext_value(&self, ctx: Ctx, v: Value, signed: bool, to64: bool) -> CodegenResult<Reg> {
        let ty = ctx.value_ty(v);
        let bits = ty.bits();
        let to = if to64 { 64 } else { 32 };
        if bits >= to {
            return self.reg(ctx, v);
        }
        let known = self.ext_of(ctx, v);
        let ok = match (signed, known) {
            (false, Ext::Zero) => true,
            (true, Ext::Sign64) => true,
            (true, Ext::Sign32) => !to64,
            _ => false,
        };
        let r = self.reg(ctx, v)?;
        if ok {
            return Ok(r);
        }
        self.extend_reg(ctx, r, bits, signed, to64)
    }

    /// A constant of `v` (if it is one), sign- or zero-extended from the width of `ty`.
    pub(crate) fn const_of(&self, ctx: Ctx, v: Value, signed: bool) -> Option<i64> {
        if signed { ctx.iconst_signed(v) } else { ctx.iconst_bits(v).map(|b| b as i64) }
    }

    // -------------------------------------------------------------------------------------
    // Operand matchers

    /// The second operand of an add/sub at width `ty` (i32/i64), folding a constant, a
    /// single-use shift by a constant or a single-use extension.
    fn addsub_operand(&self, ctx: Ctx, v: Value, ty: Type) -> CodegenResult<AddSubRhs> {
        let size = osize(ty);
        let mask = if size.is64() { u64::MAX } else { 0xffff_ffff };
        if let Some(c) = ctx.iconst_bits(v) {
            let c = c & mask;
            if let Some(i) = Imm12::maybe_from_u64(c) {
                return Ok(AddSubRhs::Imm(i));
            }
            if let Some(i) = Imm12::maybe_from_u64(c.wrapping_neg() & mask) {
                return Ok(AddSubRhs::NegImm(i));
            }
        }
        if let Some(def) = self.fold_pure(ctx, v) {
            match *ctx.data(def) {
                D::Binary { opcode: Opcode::Ishl, args } if ctx.value_ty(args[0]) == ty => {
                    if let Some(k) = ctx.iconst_bits(args[1]) {
                        let k = (k & (ty.bits() as u64 - 1)) as u8;
                        // `x + (ext(y) << k)` with k ≤ 4 is an extended operand.
                        if k <= 4
                            && let Some((r, e)) = self.ext_operand(ctx, args[0], ty)?
                        {
                            return Ok(AddSubRhs::Extended(r, e, k));
                        }
                        let r = self.reg(ctx, args[0])?;
                        return Ok(AddSubRhs::Shifted(r, ShiftOp::Lsl, k));
                    }
                }
                D::Binary { opcode: opcode @ (Opcode::Ushr | Opcode::Sshr), args } if ctx.value_ty(args[0]) == ty => {
                    if let Some(k) = ctx.iconst_bits(args[1]) {
                        let k = (k & (ty.bits() as u64 - 1)) as u8;
                        let r = self.reg(ctx, args[0])?;
                        let sh = if opcode == Opcode::Ushr { ShiftOp::Lsr } else { ShiftOp::Asr };
                        return Ok(AddSubRhs::Shifted(r, sh, k));
                    }
                }
                D::Unary { opcode: opcode @ (Opcode::Uextend | Opcode::Sextend), arg } => {
                    if let Some((r, e)) = self.ext_operand_of(ctx, opcode, arg, v, ty)? {
                        return Ok(AddSubRhs::Extended(r, e, 0));
                    }
                }
                _ => {}
            }
        }
        Ok(AddSubRhs::Reg(self.reg(ctx, v)?))
    }

    /// `v` as an extended-register operand at width `ty`: a single-use `uextend`/`sextend`
    /// of a narrower value.
    fn ext_operand(&self, ctx: Ctx, v: Value, ty: Type) -> CodegenResult<Option<(Reg, ExtendOp)>> {
        let Some(def) = self.fold_pure(ctx, v) else { return Ok(None) };
        let D::Unary { opcode: opcode @ (Opcode::Uextend | Opcode::Sextend), arg } = *ctx.data(def) else {
            return Ok(None);
        };
        self.ext_operand_of(ctx, opcode, arg, v, ty)
    }

    /// [`Self::ext_operand`] of `v = opcode arg`, an extension the caller has matched.
    fn ext_operand_of(
        &self,
        ctx: Ctx,
        opcode: Opcode,
        arg: Value,
        v: Value,
        ty: Type,
    ) -> CodegenResult<Option<(Reg, ExtendOp)>> {
        if ctx.value_ty(v) != ty {
            return Ok(None);
        }
        let signed = opcode == Opcode::Sextend;
        let e = match (ctx.value_ty(arg).bits(), signed) {
            (8, false) => ExtendOp::UXTB,
            (8, true) => ExtendOp::SXTB,
            (16, false) => ExtendOp::UXTH,
            (16, true) => ExtendOp::SXTH,
            (32, false) if ty.bits() == 64 => ExtendOp::UXTW,
            (32, true) if ty.bits() == 64 => ExtendOp::SXTW,
            _ => return Ok(None),
        };
        Ok(Some((self.reg(ctx, arg)?, e)))
    }

    /// Emit `rd = rn op rhs` for add/sub/adds/subs.
    fn emit_addsub(&self, ctx: Ctx, op: ALUOp, size: OperandSize, rd: Writable<Reg>, rn: Reg, rhs: AddSubRhs) {
        let flip = |op| match op {
            ALUOp::Add => ALUOp::Sub,
            ALUOp::Sub => ALUOp::Add,
            ALUOp::Adds => ALUOp::Subs,
            _ => ALUOp::Adds,
        };
        ctx.emit(match rhs {
            AddSubRhs::Imm(imm12) => Inst::AluRRImm12 { op, size, rd, rn, imm12 },
            AddSubRhs::NegImm(imm12) => Inst::AluRRImm12 { op: flip(op), size, rd, rn, imm12 },
            AddSubRhs::Reg(rm) => Inst::AluRRR { op, size, rd, rn, rm },
            AddSubRhs::Shifted(rm, shift, amt) => Inst::AluRRRShift { op, size, rd, rn, rm, shift, amt },
            AddSubRhs::Extended(rm, extend, shift) => Inst::AluRRRExtend { op, size, rd, rn, rm, extend, shift },
        });
    }

    /// The second operand of a logical operation at width `ty` (i8..i64).
    fn logic_operand(&self, ctx: Ctx, v: Value, ty: Type) -> CodegenResult<LogicRhs> {
        let size = osize(ty);
        if let Some(c) = ctx.iconst_bits(v) {
            // Narrow types: the upper bits are don't-care; extend the constant so that the
            // bitmask is more likely encodable (sign-extension keeps runs of ones).
            let c = if ty.bits() < 32 {
                kiln_ir::immediates::Imm64(c as i64).sign_extend_from(ty.bits()).0 as u64 & 0xffff_ffff
            } else {
                c
            };
            let c = if size.is64() { c } else { c & 0xffff_ffff };
            if let Some(i) = ImmLogic::maybe_from_u64(c, !size.is64()) {
                return Ok(LogicRhs::Imm(i));
            }
        }
        if let Some(def) = self.fold_pure(ctx, v)
            && let D::Binary { opcode, args } = *ctx.data(def)
            && ctx.value_ty(args[0]) == ty
            && ty.bits() >= 32
            && let Some(k) = ctx.iconst_bits(args[1])
        {
            let k = (k & (ty.bits() as u64 - 1)) as u8;
            let sh = match opcode {
                Opcode::Ishl => Some(ShiftOp::Lsl),
                Opcode::Ushr => Some(ShiftOp::Lsr),
                Opcode::Sshr => Some(ShiftOp::Asr),
                Opcode::Rotr => Some(ShiftOp::Ror),
                Opcode::Rotl => {
                    let r = self.reg(ctx, args[0])?;
                    return Ok(LogicRhs::Shifted(r, ShiftOp::Ror, (ty.bits() as u8 - k) % ty.bits() as u8));
                }
                _ => None,
            };
            if let Some(sh) = sh {
                let r = self.reg(ctx, args[0])?;
                return Ok(LogicRhs::Shifted(r, sh, k));
            }
        }
        Ok(LogicRhs::Reg(self.reg(ctx, v)?))
    }

    fn emit_logic(&self, ctx: Ctx, op: ALUOp, size: OperandSize, rd: Writable<Reg>, rn: Reg, rhs: LogicRhs) {
        ctx.emit(match rhs {
            LogicRhs::Imm(imml) => Inst::AluRRImmLogic { op, size, rd, rn, imml },
            LogicRhs::Reg(rm) => Inst::AluRRR { op, size, rd, rn, rm },
            LogicRhs::Shifted(rm, shift, amt) => Inst::AluRRRShift { op, size, rd, rn, rm, shift, amt },
        });
    }
}

impl A64Lower<'_> {
    // -------------------------------------------------------------------------------------
    // Comparisons and conditions

    /// Emit the flags of `icmp cc x, y` (scalar integers) and return the condition under
    /// which it holds.
    pub(crate) fn emit_icmp(&self, ctx: Ctx, cc: IntCC, x: Value, y: Value) -> CodegenResult<Cond> {
        let ty = ctx.value_ty(x);
        if ty == types::I128 {
            return self.emit_icmp128(ctx, cc, x, y);
        }
        if !is_int(ty) {
            return Err(unsupported_op(Opcode::Icmp, ty));
        }
        // A constant on the left: swap.
        let (cc, x, y) = if ctx.iconst_bits(x).is_some() && ctx.iconst_bits(y).is_none() {
            (cc.swap_args(), y, x)
        } else {
            (cc, x, y)
        };
        let signed = cc.is_signed();
        let bits = ty.bits();
        if bits < 32 {
            let xr = self.ext_value(ctx, x, signed, false)?;
            if let Some(c) = self.const_of(ctx, y, signed) {
                let c32 = c as u64 & 0xffff_ffff;
                if let Some(i) = Imm12::maybe_from_u64(c32) {
                    ctx.emit(Inst::AluRRImm12 {
                        op: ALUOp::Subs,
                        size: OperandSize::Size32,
                        rd: Writable::from_reg(zero_reg()),
                        rn: xr,
                        imm12: i,
                    });
                    return Ok(intcc(cc));
                }
                if let Some(i) = Imm12::maybe_from_u64(c32.wrapping_neg() & 0xffff_ffff) {
                    ctx.emit(Inst::AluRRImm12 {
                        op: ALUOp::Adds,
                        size: OperandSize::Size32,
                        rd: Writable::from_reg(zero_reg()),
                        rn: xr,
                        imm12: i,
                    });
                    return Ok(intcc(cc));
                }
            }
            let yr = self.reg(ctx, y)?;
            let extend = match (bits, signed) {
                (8, false) => ExtendOp::UXTB,
                (8, true) => ExtendOp::SXTB,
                (_, false) => ExtendOp::UXTH,
                (_, true) => ExtendOp::SXTH,
            };
            ctx.emit(Inst::AluRRRExtend {
                op: ALUOp::Subs,
                size: OperandSize::Size32,
                rd: Writable::from_reg(zero_reg()),
                rn: xr,
                rm: yr,
                extend,
                shift: 0,
            });
            return Ok(intcc(cc));
        }
        let xr = self.reg(ctx, x)?;
        let rhs = self.addsub_operand(ctx, y, ty)?;
        self.emit_addsub(ctx, ALUOp::Subs, osize(ty), Writable::from_reg(zero_reg()), xr, rhs);
        Ok(intcc(cc))
    }

    fn emit_icmp128(&self, ctx: Ctx, cc: IntCC, x: Value, y: Value) -> CodegenResult<Cond> {
        let a = self.regs(ctx, x)?;
        let b = self.regs(ctx, y)?;
        let s64 = OperandSize::Size64;
        let zr = Writable::from_reg(zero_reg());
        match cc {
            IntCC::Equal | IntCC::NotEqual => {
                ctx.emit(Inst::AluRRR { op: ALUOp::Subs, size: s64, rd: zr, rn: a.reg(0), rm: b.reg(0) });
                ctx.emit(Inst::CCmp {
                    op: CCmpOp::Ccmp,
                    size: s64,
                    rn: a.reg(1),
                    rm: b.reg(1),
                    nzcv: NZCV(0),
                    cond: Cond::Eq,
                });
                Ok(intcc(cc))
            }
            _ => {
                // The flags of the full 128-bit subtraction a - b: right for <, >=; the
                // operands swapped for >, <=.
                let (cc, a, b) = match cc {
                    IntCC::SignedGreaterThan
                    | IntCC::SignedLessThanOrEqual
                    | IntCC::UnsignedGreaterThan
                    | IntCC::UnsignedLessThanOrEqual => (cc.swap_args(), b, a),
                    _ => (cc, a, b),
                };
                ctx.emit(Inst::AluRRR { op: ALUOp::Subs, size: s64, rd: zr, rn: a.reg(0), rm: b.reg(0) });
                ctx.emit(Inst::AluRRR { op: ALUOp::Sbcs, size: s64, rd: zr, rn: a.reg(1), rm: b.reg(1) });
                Ok(intcc(cc))
            }
        }
    }

    /// Emit the flags of `fcmp cc x, y` (f16 without `has_fp16` is compared as f32, which
    /// is exact).
    pub(crate) fn emit_fcmp(&self, ctx: Ctx, cc: FloatCC, x: Value, y: Value) -> CodegenResult<FCond> {
        let ty = ctx.value_ty(x);
        let size = match ty {
            types::F32 => ScalarSize::Size32,
            types::F64 => ScalarSize::Size64,
            types::F16 if self.b.isa.has_fp16 => ScalarSize::Size16,
            types::F16 => ScalarSize::Size32,
            _ => return Err(unsupported_op(Opcode::Fcmp, ty)),
        };
        let is_zero = |ctx: Ctx, v: Value| match ctx.def_inst(v).map(|d| *ctx.data(d)) {
            Some(D::UnaryIeee32 { imm, .. }) => imm.bits() == 0,
            Some(D::UnaryIeee64 { imm, .. }) => imm.bits() == 0,
            _ => false,
        };
        let xr = self.float_operand(ctx, x)?;
        if is_zero(ctx, y) {
            ctx.emit(Inst::FpuCmpZero { size, rn: xr });
        } else {
            let yr = self.float_operand(ctx, y)?;
            ctx.emit(Inst::FpuCmp { size, rn: xr, rm: yr });
        }
        Ok(floatcc(cc))
    }

    /// A float value in a register for an operation at its own width: f16 without
    /// `has_fp16` is converted to f32 (exactly).
    pub(crate) fn float_operand(&self, ctx: Ctx, v: Value) -> CodegenResult<Reg> {
        let r = self.reg(ctx, v)?;
        if ctx.value_ty(v) == types::F16 && !self.b.isa.has_fp16 {
            let d = self.vtmp(ctx)?;
            ctx.emit(Inst::FpuCvt { from: ScalarSize::Size16, to: ScalarSize::Size32, rd: d, rn: r });
            return Ok(d.to_reg());
        }
        Ok(r)
    }

    /// What a branch, trap or select on the value `c` tests (`negate`: the opposite).
    /// Fuses the `icmp`/`fcmp` that produced `c` when it is in the same block (possibly
    /// through extensions, which keep 0/1 non-zero-ness); the compare is pure, so
    /// repeating it is always correct. `band`/`bor` of two such compares becomes a `ccmp`
    /// chain. With `allow_kind`, a register test (`cbz`, `tbnz`) may be returned instead of
    /// flags.
    pub(crate) fn test(&self, ctx: Ctx, c: Value, negate: bool, allow_kind: bool) -> CodegenResult<Test> {
        let mut v = c;
        for _ in 0..4 {
            let Some(def) = ctx.def_inst(v) else { break };
            if ctx.f.layout.inst_block(def) != ctx.cur_block() {
                break;
            }
            match *ctx.data(def) {
                D::IntCompare { cond, args, .. } if ctx.value_ty(args[0]).is_scalar() => {
                    let cond = if negate { cond.complement() } else { cond };
                    if allow_kind && let Some(k) = self.zero_test(ctx, cond, args[0], args[1])? {
                        return Ok(Test::Kind(k));
                    }
                    return Ok(Test::Flags(FCond::One(self.emit_icmp(ctx, cond, args[0], args[1])?)));
                }
                D::FloatCompare { cond, args, .. } if ctx.value_ty(args[0]).is_scalar() => {
                    let cond = if negate { cond.complement() } else { cond };
                    return Ok(Test::Flags(self.emit_fcmp(ctx, cond, args[0], args[1])?));
                }
                D::Binary { opcode: opcode @ (Opcode::Band | Opcode::Bor), args } => {
                    if let Some(c) = self.ccmp_chain(ctx, opcode == Opcode::Band, args, negate)? {
                        return Ok(Test::Flags(FCond::One(c)));
                    }
                    break;
                }
                D::Unary { opcode: Opcode::Uextend | Opcode::Sextend, arg } => v = arg,
                _ => break,
            }
        }
        self.nonzero_test(ctx, c, negate, allow_kind)
    }

    /// `x cc y` as a register test when `y` is zero: `cbz`/`cbnz` for equality, the sign
    /// bit with `tbnz`/`tbz` for `< 0` and `>= 0`.
    fn zero_test(&self, ctx: Ctx, cc: IntCC, x: Value, y: Value) -> CodegenResult<Option<CondBrKind>> {
        let ty = ctx.value_ty(x);
        if !is_int(ty) || ctx.iconst_bits(y) != Some(0) {
            return Ok(None);
        }
        let bits = ty.bits();
        Ok(match cc {
            IntCC::Equal | IntCC::NotEqual if bits >= 32 => {
                let r = self.reg(ctx, x)?;
                Some(if cc == IntCC::Equal {
                    CondBrKind::Zero(r, osize(ty))
                } else {
                    CondBrKind::NotZero(r, osize(ty))
                })
            }
            IntCC::SignedLessThan => Some(CondBrKind::TestBitNotZero(self.reg(ctx, x)?, bits as u8 - 1)),
            IntCC::SignedGreaterThanOrEqual => Some(CondBrKind::TestBitZero(self.reg(ctx, x)?, bits as u8 - 1)),
            _ => None,
        })
    }

    /// `c != 0` (or `== 0` with `negate`) for a value not produced by a fused compare.
    fn nonzero_test(&self, ctx: Ctx, c: Value, negate: bool, allow_kind: bool) -> CodegenResult<Test> {
        let ty = ctx.value_ty(c);
        let ne = if negate { Cond::Eq } else { Cond::Ne };
        if ty == types::I128 {
            let r = self.regs(ctx, c)?;
            let t = self.alu(ctx, ALUOp::Orr, OperandSize::Size64, r.reg(0), r.reg(1))?;
            if allow_kind {
                let s = OperandSize::Size64;
                return Ok(Test::Kind(if negate { CondBrKind::Zero(t, s) } else { CondBrKind::NotZero(t, s) }));
            }
            self.emit_tst_imm(ctx, OperandSize::Size64, t, u64::MAX)?;
            return Ok(Test::Flags(FCond::One(ne)));
        }
        if !is_int(ty) {
            return Err(unsupported(format!("a {ty} condition")));
        }
        // A single-use `band x, 2^k`: test the bit.
        if allow_kind
            && let Some(def) = self.fold(ctx, c)
            && let D::Binary { opcode: Opcode::Band, args } = *ctx.data(def)
        {
            for (p, q) in [(args[0], args[1]), (args[1], args[0])] {
                if let Some(m) = ctx.iconst_bits(q)
                    && m.is_power_of_two()
                    && m.trailing_zeros() < ty.bits()
                {
                    let r = self.reg(ctx, p)?;
                    let bit = m.trailing_zeros() as u8;
                    return Ok(Test::Kind(if negate {
                        CondBrKind::TestBitZero(r, bit)
                    } else {
                        CondBrKind::TestBitNotZero(r, bit)
                    }));
                }
            }
        }
        let r = self.reg(ctx, c)?;
        if ty.bits() >= 32 {
            if allow_kind {
                let s = osize(ty);
                return Ok(Test::Kind(if negate { CondBrKind::Zero(r, s) } else { CondBrKind::NotZero(r, s) }));
            }
            self.emit_tst_imm(ctx, osize(ty), r, u64::MAX)?;
        } else {
            self.emit_tst_imm(ctx, OperandSize::Size32, r, (1u64 << ty.bits()) - 1)?;
        }
        Ok(Test::Flags(FCond::One(ne)))
    }

    /// `tst rn, #mask` (`ands zr, rn, #mask`; all ones: `cmp rn, #0`).
    pub(crate) fn emit_tst_imm(&self, ctx: Ctx, size: OperandSize, rn: Reg, mask: u64) -> CodegenResult<()> {
        let zr = Writable::from_reg(zero_reg());
        let full = if size.is64() { u64::MAX } else { 0xffff_ffff };
        if mask & full == full {
            ctx.emit(Inst::AluRRImm12 { op: ALUOp::Subs, size, rd: zr, rn, imm12: Imm12::ZERO });
            return Ok(());
        }
        match ImmLogic::maybe_from_u64(mask, !size.is64()) {
            Some(imml) => ctx.emit(Inst::AluRRImmLogic { op: ALUOp::Ands, size, rd: zr, rn, imml }),
            None => {
                let m = self.const_reg(ctx, mask, size)?;
                ctx.emit(Inst::AluRRR { op: ALUOp::Ands, size, rd: zr, rn, rm: m });
            }
        }
        Ok(())
    }

    /// `band`/`bor` of two single-use integer compares of this block as `cmp; ccmp`
    /// (returns the final condition; `negate` asks for the opposite, by De Morgan).
    fn ccmp_chain(&self, ctx: Ctx, is_and: bool, args: [Value; 2], negate: bool) -> CodegenResult<Option<Cond>> {
        let mut cmps: SmallVec<[(IntCC, Value, Value); 2]> = SmallVec::new();
        for a in args {
            let Some(def) = self.fold(ctx, a) else { return Ok(None) };
            let D::IntCompare { cond, args: cargs, .. } = *ctx.data(def) else { return Ok(None) };
            let ty = ctx.value_ty(cargs[0]);
            if !(ty == types::I32 || ty == types::I64) {
                return Ok(None);
            }
            cmps.push((cond, cargs[0], cargs[1]));
        }
        // !(a && b) == !a || !b.
        let is_and = is_and != negate;
        let cc = |c: IntCC| if negate { c.complement() } else { c };
        let (c1, x1, y1) = cmps[0];
        let (c2, x2, y2) = cmps[1];
        let first = self.emit_icmp(ctx, cc(c1), x1, y1)?;
        let second = intcc(cc(c2));
        // and: compare the second when the first holds, else make the second fail.
        // or: compare the second when the first fails, else make the second hold.
        let (cond, nzcv) =
            if is_and { (first, nzcv_for(second, false)) } else { (first.invert(), nzcv_for(second, true)) };
        let ty = ctx.value_ty(x2);
        let size = osize(ty);
        let (cc2, x2, y2) = if ctx.iconst_bits(x2).is_some() && ctx.iconst_bits(y2).is_none() {
            (cc(c2).swap_args(), y2, x2)
        } else {
            (cc(c2), x2, y2)
        };
        let xr = self.reg(ctx, x2)?;
        match ctx.iconst_signed(y2) {
            Some(k) if (0..32).contains(&k) => {
                ctx.emit(Inst::CCmpImm { op: CCmpOp::Ccmp, size, rn: xr, imm: k as u8, nzcv, cond })
            }
            Some(k) if (-31..0).contains(&k) => {
                ctx.emit(Inst::CCmpImm { op: CCmpOp::Ccmn, size, rn: xr, imm: (-k) as u8, nzcv, cond })
            }
            _ => {
                let yr = self.reg(ctx, y2)?;
                ctx.emit(Inst::CCmp { op: CCmpOp::Ccmp, size, rn: xr, rm: yr, nzcv, cond });
            }
        }
        Ok(Some(intcc(cc2)))
    }

    /// The flags of `test` (register tests become `cmp`/`tst`).
    pub(crate) fn test_flags(&self, ctx: Ctx, c: Value, negate: bool) -> CodegenResult<FCond> {
        match self.test(ctx, c, negate, false)? {
            Test::Flags(f) => Ok(f),
            Test::Kind(_) => Err(CodegenError::Other("a register test where flags were asked for".into())),
        }
    }

    /// Materialize a flags condition as 0/1 in `rd`.
    pub(crate) fn cset(&self, ctx: Ctx, c: FCond, rd: Writable<Reg>) -> CodegenResult<()> {
        match c {
            FCond::One(c) => ctx.emit(Inst::cset(OperandSize::Size32, rd, c)),
            FCond::Or(a, b) => {
                let t = self.itmp(ctx)?;
                ctx.emit(Inst::cset(OperandSize::Size32, t, a));
                // rd = b ? 1 : t
                ctx.emit(Inst::CSel {
                    op: CSelOp::Csinc,
                    size: OperandSize::Size32,
                    rd,
                    rn: t.to_reg(),
                    rm: zero_reg(),
                    cond: b.invert(),
                });
            }
        }
        Ok(())
    }

    /// `dst = c ? x : y` for the registers of a scalar value of type `ty` (integers up to
    /// i128, floats), after the flags are set.
    pub(crate) fn select_regs(
        &self,
        ctx: Ctx,
        c: FCond,
        ty: Type,
        x: ValueRegs,
        y: ValueRegs,
        dst: ValueRegs,
    ) -> CodegenResult<()> {
        let conds: SmallVec<[Cond; 2]> = match c {
            FCond::One(a) => SmallVec::from_slice(&[a]),
            FCond::Or(a, b) => SmallVec::from_slice(&[a, b]),
        };
        for i in 0..dst.len() {
            let (xr, yr, d) = (x.reg(i), y.reg(i), Writable::from_reg(dst.reg(i)));
            // `c1 || c2 ? x : y` == `c2 ? x : (c1 ? x : y)`.
            let mut alt = yr;
            for (k, &cond) in conds.iter().enumerate() {
                let rd = if k + 1 == conds.len() {
                    d
                } else if xr.class() == RegClass::Int {
                    self.itmp(ctx)?
                } else {
                    self.vtmp(ctx)?
                };
                if xr.class() == RegClass::Int {
                    let size = if ty.bits() > 32 { OperandSize::Size64 } else { OperandSize::Size32 };
                    ctx.emit(Inst::CSel { op: CSelOp::Csel, size, rd, rn: xr, rm: alt, cond });
                } else if ty == types::F64 {
                    ctx.emit(Inst::FpuCSel { size: ScalarSize::Size64, rd, rn: xr, rm: alt, cond });
                } else if ty == types::F32 || ty == types::F16 {
                    // An f16 is in the low bits of an s register: copying 32 bits keeps it.
                    ctx.emit(Inst::FpuCSel { size: ScalarSize::Size32, rd, rn: xr, rm: alt, cond });
                } else {
                    // f128 and vectors: a mask and a bitwise select.
                    let m = self.itmp(ctx)?;
                    ctx.emit(Inst::csetm(OperandSize::Size64, m, cond));
                    let vm = self.vtmp(ctx)?;
                    ctx.emit(Inst::VecDup { size: VectorSize::Size64x2, rd: vm, rn: m.to_reg() });
                    ctx.emit(Inst::VecRRRMod {
                        op: VecALUModOp::Bsl,
                        size: VectorSize::Size8x16,
                        rd,
                        ri: vm.to_reg(),
                        rn: xr,
                        rm: alt,
                    });
                }
                alt = rd.to_reg();
            }
        }
        Ok(())
    }
}

impl A64Lower<'_> {
    // -------------------------------------------------------------------------------------
    // Instructions

    fn lower_inst(&self, ctx: Ctx, inst: IrInst) -> CodegenResult<()> {
        let op = ctx.data(inst).opcode();
        let ty = ctx.f.dfg.first_result(inst).map(|r| ctx.value_ty(r)).unwrap_or(types::INVALID);
        // Vector types (and the vector-only opcodes) have their own file.
        if crate::aarch64::lower_vector::handles(ctx, inst, op, ty) {
            return crate::aarch64::lower_vector::lower(self, ctx, inst, op, ty);
        }
        self.lower_scalar_path(ctx, inst)
    }

    /// Lower `inst` by the scalar rules (also the vector lowering's path for loads, stores,
    /// `select` and `bitcast`, which treat a vector as a whole register).
    pub(crate) fn lower_scalar_path(&self, ctx: Ctx, inst: IrInst) -> CodegenResult<()> {
        let data = *ctx.data(inst);
        let op = data.opcode();
        let args = ctx.inputs(inst);
        let ty = ctx.f.dfg.first_result(inst).map(|r| ctx.value_ty(r)).unwrap_or(types::INVALID);
        match op {
            Opcode::Nop | Opcode::SequencePoint => Ok(()),
            Opcode::Iconst => {
                let D::UnaryImm { imm, .. } = data else { unreachable!() };
                let bits = imm.zero_extend_from(ty.bits()).0 as u64;
                let r = self.const_reg(ctx, bits, osize(ty))?;
                self.set_result(ctx, inst, 0, r)
            }
            Opcode::F16const | Opcode::F32const | Opcode::F64const => {
                let (bits, size) = match data {
                    D::UnaryIeee16 { imm, .. } => (imm.bits() as u64, 16),
                    D::UnaryIeee32 { imm, .. } => (imm.bits() as u64, 32),
                    D::UnaryIeee64 { imm, .. } => (imm.bits(), 64),
                    _ => unreachable!(),
                };
                let r = self.float_const(ctx, bits, size)?;
                self.set_result(ctx, inst, 0, r)
            }
            Opcode::F128const => {
                let D::UnaryConst { constant, .. } = data else { unreachable!() };
                let c = ctx.f.dfg.constants.get(constant).ok_or_else(|| CodegenError::Other("bad constant".into()))?;
                let mut b = c.as_slice().to_vec();
                b.resize(16, 0);
                let r = self.vec_const(ctx, &b)?;
                self.set_result(ctx, inst, 0, r)
            }

            // ---- integer arithmetic ------------------------------------------------------
            Opcode::Iadd | Opcode::Isub => self.lower_addsub(ctx, inst, op, args[0], args[1], ty),
            Opcode::Band | Opcode::Bor | Opcode::Bxor => self.lower_logic(ctx, inst, op, args[0], args[1], ty),
            Opcode::Bnot => self.lower_bnot(ctx, inst, args[0], ty),
            Opcode::Ineg => {
                if ty == types::I128 {
                    let a = self.regs(ctx, args[0])?;
                    let dst = ctx.output_regs(inst, 0)?;
                    let s64 = OperandSize::Size64;
                    let zr = zero_reg();
                    self.alu_into(ctx, ALUOp::Subs, s64, Writable::from_reg(dst.reg(0)), zr, a.reg(0));
                    self.alu_into(ctx, ALUOp::Sbc, s64, Writable::from_reg(dst.reg(1)), zr, a.reg(1));
                    return Ok(());
                }
                if !is_int(ty) {
                    return Err(unsupported_op(op, ty));
                }
                let x = self.reg(ctx, args[0])?;
                let d = ctx.output_reg(inst, 0)?;
                self.alu_into(ctx, ALUOp::Sub, osize(ty), d, zero_reg(), x);
                Ok(())
            }
            Opcode::Imul => self.lower_imul(ctx, inst, args[0], args[1], ty),
            Opcode::Umulhi | Opcode::Smulhi => self.lower_mulhi(ctx, inst, op == Opcode::Smulhi, args[0], args[1], ty),
            Opcode::Udiv | Opcode::Sdiv | Opcode::Urem | Opcode::Srem => {
                self.lower_div(ctx, inst, op, args[0], args[1], ty)
            }
            Opcode::Iabs => self.lower_iabs(ctx, inst, args[0], ty),
            Opcode::Smin | Opcode::Smax | Opcode::Umin | Opcode::Umax => {
                let cc = match op {
                    Opcode::Smin => IntCC::SignedLessThan,
                    Opcode::Smax => IntCC::SignedGreaterThan,
                    Opcode::Umin => IntCC::UnsignedLessThan,
                    _ => IntCC::UnsignedGreaterThan,
                };
                let c = self.emit_icmp(ctx, cc, args[0], args[1])?;
                let x = self.regs(ctx, args[0])?;
                let y = self.regs(ctx, args[1])?;
                let dst = ctx.output_regs(inst, 0)?;
                self.select_regs(ctx, FCond::One(c), ty, x, y, dst)
            }
            Opcode::UaddOverflow | Opcode::SaddOverflow | Opcode::UsubOverflow | Opcode::SsubOverflow => {
                self.lower_overflow(ctx, inst, op, args[0], args[1], None, ty)
            }
            Opcode::UaddOverflowCin | Opcode::SaddOverflowCin | Opcode::UsubOverflowBin | Opcode::SsubOverflowBin => {
                self.lower_overflow(ctx, inst, op, args[0], args[1], Some(args[2]), ty)
            }
            Opcode::UmulOverflow | Opcode::SmulOverflow => {
                self.lower_mul_overflow(ctx, inst, op == Opcode::SmulOverflow, args[0], args[1], ty)
            }
            Opcode::UaddOverflowTrap => {
                let D::IntAddTrap { code, .. } = data else { unreachable!() };
                let x = self.reg(ctx, args[0])?;
                let rhs = self.addsub_operand(ctx, args[1], ty)?;
                let d = ctx.output_reg(inst, 0)?;
                self.emit_addsub(ctx, ALUOp::Adds, osize(ty), d, x, rhs);
                ctx.emit(Inst::TrapIf { kind: CondBrKind::Cond(Cond::Hs), code });
                Ok(())
            }

            // ---- bits ----------------------------------------------------------------------
            Opcode::Ishl | Opcode::Ushr | Opcode::Sshr | Opcode::Rotl | Opcode::Rotr => {
                self.lower_shift(ctx, inst, op, args[0], args[1], ty)
            }
            Opcode::Clz | Opcode::Ctz | Opcode::Cls | Opcode::Popcnt => self.lower_bitcount(ctx, inst, op, args[0], ty),
            Opcode::Bitrev => self.lower_bitrev(ctx, inst, args[0], ty),
            Opcode::Bswap => self.lower_bswap(ctx, inst, args[0], ty),
            Opcode::Bmask => {
                let f = self.test_flags(ctx, args[0], false)?;
                let dst = ctx.output_regs(inst, 0)?;
                let d0 = Writable::from_reg(dst.reg(0));
                match f {
                    FCond::One(c) => ctx.emit(Inst::csetm(OperandSize::Size64, d0, c)),
                    FCond::Or(a, b) => {
                        let t = self.itmp(ctx)?;
                        ctx.emit(Inst::csetm(OperandSize::Size64, t, a));
                        ctx.emit(Inst::CSel {
                            op: CSelOp::Csinv,
                            size: OperandSize::Size64,
                            rd: d0,
                            rn: t.to_reg(),
                            rm: zero_reg(),
                            cond: b.invert(),
                        });
                    }
                }
                if ty == types::I128 {
                    ctx.emit(Inst::mov64(Writable::from_reg(dst.reg(1)), dst.reg(0)));
                }
                Ok(())
            }

            // ---- comparisons and selects ---------------------------------------------------
            Opcode::Icmp => {
                let D::IntCompare { cond, .. } = data else { unreachable!() };
                if !ctx.value_ty(args[0]).is_scalar() {
                    return Err(unsupported_op(op, ctx.value_ty(args[0])));
                }
                let c = self.emit_icmp(ctx, cond, args[0], args[1])?;
                let d = ctx.output_reg(inst, 0)?;
                ctx.emit(Inst::cset(OperandSize::Size32, d, c));
                Ok(())
            }
            Opcode::Fcmp => {
                let D::FloatCompare { cond, .. } = data else { unreachable!() };
                let c = self.emit_fcmp(ctx, cond, args[0], args[1])?;
                let d = ctx.output_reg(inst, 0)?;
                self.cset(ctx, c, d)
            }
            Opcode::Select | Opcode::SelectSpectreGuard => {
                if !(ty.is_scalar() || ty.is_vector()) || ty.bits() > 128 {
                    return Err(unsupported_op(op, ty));
                }
                self.lower_select(ctx, inst, op, args, ty)
            }
            Opcode::Bitselect => {
                if ty.is_float() {
                    // (c & x) | (~c & y) in a vector register: bsl.
                    let c = self.reg(ctx, args[0])?;
                    let x = self.reg(ctx, args[1])?;
                    let y = self.reg(ctx, args[2])?;
                    let d = ctx.output_reg(inst, 0)?;
                    ctx.emit(Inst::VecRRRMod {
                        op: VecALUModOp::Bsl,
                        size: VectorSize::Size8x16,
                        rd: d,
                        ri: c,
                        rn: x,
                        rm: y,
                    });
                    return Ok(());
                }
                if !is_int(ty) && ty != types::I128 {
                    return Err(unsupported_op(op, ty));
                }
                let c = self.regs(ctx, args[0])?;
                let x = self.regs(ctx, args[1])?;
                let y = self.regs(ctx, args[2])?;
                let dst = ctx.output_regs(inst, 0)?;
                let s64 = OperandSize::Size64;
                for i in 0..dst.len() {
                    // (x & c) | (y & ~c)
                    let a = self.alu(ctx, ALUOp::And, s64, x.reg(i), c.reg(i))?;
                    let b = self.alu(ctx, ALUOp::Bic, s64, y.reg(i), c.reg(i))?;
                    self.alu_into(ctx, ALUOp::Orr, s64, Writable::from_reg(dst.reg(i)), a, b);
                }
                Ok(())
            }

            // ---- width changes -------------------------------------------------------------
            Opcode::Uextend | Opcode::Sextend => self.lower_extend(ctx, inst, op == Opcode::Sextend, args[0], ty),
            Opcode::Ireduce => {
                let src = self.regs(ctx, args[0])?;
                self.set_result(ctx, inst, 0, src.reg(0))
            }
            Opcode::Isplit => {
                let src_ty = ctx.value_ty(args[0]);
                if src_ty == types::I128 {
                    let src = self.regs(ctx, args[0])?;
                    self.set_result(ctx, inst, 0, src.reg(0))?;
                    return self.set_result(ctx, inst, 1, src.reg(1));
                }
                let x = self.reg(ctx, args[0])?;
                let half = (src_ty.bits() / 2) as u8;
                self.set_result(ctx, inst, 0, x)?;
                // The high half's bits above its width may be anything (those of x are).
                let hi = self.shr_imm(ctx, osize(src_ty), x, half, false)?;
                self.set_result(ctx, inst, 1, hi)
            }
            Opcode::Iconcat => {
                if ty == types::I128 {
                    let lo = self.reg(ctx, args[0])?;
                    let hi = self.reg(ctx, args[1])?;
                    let dst = ctx.output_regs(inst, 0)?;
                    ctx.emit(Inst::mov64(Writable::from_reg(dst.reg(0)), lo));
                    ctx.emit(Inst::mov64(Writable::from_reg(dst.reg(1)), hi));
                    return Ok(());
                }
                let half = ctx.value_ty(args[0]).bits();
                let lo = self.ext_value(ctx, args[0], false, ty.bits() > 32)?;
                let hi = self.reg(ctx, args[1])?;
                let d = ctx.output_reg(inst, 0)?;
                ctx.emit(Inst::AluRRRShift {
                    op: ALUOp::Orr,
                    size: osize(ty),
                    rd: d,
                    rn: lo,
                    rm: hi,
                    shift: ShiftOp::Lsl,
                    amt: half as u8,
                });
                Ok(())
            }

            // ---- memory --------------------------------------------------------------------
            Opcode::Load
            | Opcode::Uload8
            | Opcode::Sload8
            | Opcode::Uload16
            | Opcode::Sload16
            | Opcode::Uload32
            | Opcode::Sload32 => self.lower_load(ctx, inst, op, ty),
            Opcode::Store | Opcode::Istore8 | Opcode::Istore16 | Opcode::Istore32 => self.lower_store(ctx, inst, op),
            Opcode::StackAddr => {
                let D::StackAddr { stack_slot, offset, .. } = data else { unreachable!() };
                let base = ctx.callee.slot_offsets[stack_slot] as i64;
                let d = ctx.output_reg(inst, 0)?;
                ctx.emit(Inst::LoadAddr { rd: d, mem: AMode::Stack(StackAMode::Slot(base + offset.0 as i64)) });
                Ok(())
            }
            Opcode::SymbolValue | Opcode::TlsValue => {
                let D::UnaryGlobalValue { global_value, .. } = data else { unreachable!() };
                match ctx.f.global_values.get(global_value) {
                    Some(GlobalValueData::Symbol { name, offset, colocated, tls }) => {
                        if *tls || op == Opcode::TlsValue {
                            return Err(unsupported("thread-local symbols (tls_value)"));
                        }
                        let name = Box::new(reloc_target(ctx.f, name)?);
                        let d = ctx.output_reg(inst, 0)?;
                        ctx.emit(self.symbol_address(d, name, offset.0, *colocated));
                        Ok(())
                    }
                    _ => Err(unsupported(format!("{op} of a non-symbol global value"))),
                }
            }
            Opcode::FuncAddr => {
                let D::FuncAddr { func_ref, .. } = data else { unreachable!() };
                let ext =
                    ctx.f.dfg.ext_funcs.get(func_ref).ok_or_else(|| CodegenError::Other("bad func_ref".into()))?;
                let name = Box::new(reloc_target(ctx.f, &ext.name)?);
                let d = ctx.output_reg(inst, 0)?;
                ctx.emit(self.symbol_address(d, name, 0, ext.colocated));
                Ok(())
            }
            Opcode::GetFramePointer => {
                let d = ctx.output_reg(inst, 0)?;
                ctx.emit(Inst::mov64(d, fp_reg()));
                Ok(())
            }
            Opcode::GetStackPointer => {
                let d = ctx.output_reg(inst, 0)?;
                ctx.emit(Inst::mov64(d, stack_reg()));
                Ok(())
            }
            Opcode::GetReturnAddress => {
                // The saved link register of the frame (the function gets a frame).
                ctx.callee.is_leaf = false;
                let d = ctx.output_reg(inst, 0)?;
                if self.b.isa.sign_return_address {
                    // Strip the pointer-authentication code: xpaclri works on x30, which
                    // the frame has saved.
                    let lr = Writable::from_reg(link_reg());
                    ctx.emit(Inst::Load {
                        op: LoadOp::LdrX,
                        rd: lr,
                        mem: AMode::UnsignedOffset { rn: fp_reg(), off: 8 },
                        trap: None,
                    });
                    ctx.emit(Inst::Hint { op: HintOp::Xpaclri });
                    ctx.emit(Inst::mov64(d, link_reg()));
                } else {
                    ctx.emit(Inst::Load {
                        op: LoadOp::LdrX,
                        rd: d,
                        mem: AMode::UnsignedOffset { rn: fp_reg(), off: 8 },
                        trap: None,
                    });
                }
                Ok(())
            }
            Opcode::GetPinnedReg => {
                let d = ctx.output_reg(inst, 0)?;
                ctx.emit(Inst::mov64(d, xreg(PINNED_ENC)));
                Ok(())
            }
            Opcode::SetPinnedReg => {
                let src = self.reg(ctx, args[0])?;
                ctx.emit(Inst::mov64(Writable::from_reg(xreg(PINNED_ENC)), src));
                Ok(())
            }

            // ---- traps -----------------------------------------------------------------------
            Opcode::Trapz | Opcode::Trapnz => {
                let D::CondTrap { code, .. } = data else { unreachable!() };
                match self.test(ctx, args[0], op == Opcode::Trapz, true)? {
                    Test::Kind(kind) => ctx.emit(Inst::TrapIf { kind, code }),
                    Test::Flags(FCond::One(c)) => ctx.emit(Inst::TrapIf { kind: CondBrKind::Cond(c), code }),
                    Test::Flags(FCond::Or(a, b)) => {
                        ctx.emit(Inst::TrapIf { kind: CondBrKind::Cond(a), code });
                        ctx.emit(Inst::TrapIf { kind: CondBrKind::Cond(b), code });
                    }
                }
                Ok(())
            }
            Opcode::Debugtrap => {
                ctx.emit(Inst::Brk { imm: 0xf000 });
                Ok(())
            }
            Opcode::Fence => {
                ctx.emit(Inst::Dmb { option: BarrierOption::Ish });
                Ok(())
            }

            // ---- floats --------------------------------------------------------------------
            Opcode::Fadd
            | Opcode::Fsub
            | Opcode::Fmul
            | Opcode::Fdiv
            | Opcode::Sqrt
            | Opcode::Fneg
            | Opcode::Fabs
            | Opcode::Fcopysign
            | Opcode::Fmin
            | Opcode::Fmax
            | Opcode::Fma
            | Opcode::Ceil
            | Opcode::Floor
            | Opcode::Trunc
            | Opcode::Nearest
            | Opcode::Fpromote
            | Opcode::Fdemote => self.lower_float(ctx, inst, op, ty),
            Opcode::FcvtToUint | Opcode::FcvtToSint | Opcode::FcvtToUintSat | Opcode::FcvtToSintSat => {
                self.lower_fcvt_to_int(ctx, inst, op, args[0], ty)
            }
            Opcode::FcvtFromSint | Opcode::FcvtFromUint => {
                self.lower_fcvt_from_int(ctx, inst, op == Opcode::FcvtFromSint, args[0], ty)
            }
            Opcode::Bitcast => self.lower_bitcast(ctx, inst, args[0], ty),

            // ---- atomics ------------------------------------------------------------------
            Opcode::AtomicLoad | Opcode::AtomicStore | Opcode::AtomicRmw | Opcode::AtomicCas => {
                self.lower_atomic(ctx, inst, op, ty)
            }

            _ if op.is_terminator() => {
                Err(CodegenError::Other(format!("{op} is not the last instruction of its block")))
            }
            _ => {
                let t = if ty.is_invalid() { args.first().map(|a| ctx.value_ty(*a)).unwrap_or(ty) } else { ty };
                Err(unsupported_op(op, t))
            }
        }
    }

    /// The address of a symbol: `adrp`+`add` within ±4 GiB when colocated, a literal
    /// absolute address otherwise.
    fn symbol_address(
        &self,
        rd: Writable<Reg>,
        name: Box<kiln_codegen::machinst::buffer::RelocTarget>,
        offset: i64,
        colocated: bool,
    ) -> Inst {
        if colocated { Inst::LoadExtName { rd, name, offset } } else { Inst::LoadExtNameFar { rd, name, offset } }
    }

    fn lower_select(&self, ctx: Ctx, inst: IrInst, op: Opcode, args: &[Value], ty: Type) -> CodegenResult<()> {
        let c = self.test_flags(ctx, args[0], false)?;
        // Constant 0/1 arms of an integer select: cset/csetm-style forms.
        if is_int(ty)
            && let FCond::One(cond) = c
        {
            let (a, b) = (ctx.iconst_bits(args[1]), ctx.iconst_bits(args[2]));
            let d = ctx.output_reg(inst, 0)?;
            let size = osize(ty);
            match (a, b) {
                (Some(1), Some(0)) => {
                    ctx.emit(Inst::cset(size, d, cond));
                    return Ok(());
                }
                (Some(0), Some(1)) => {
                    ctx.emit(Inst::cset(size, d, cond.invert()));
                    return Ok(());
                }
                _ => {}
            }
            let x = self.reg_or_zero(ctx, args[1])?;
            let y = self.reg_or_zero(ctx, args[2])?;
            ctx.emit(Inst::CSel { op: CSelOp::Csel, size, rd: d, rn: x, rm: y, cond });
            if op == Opcode::SelectSpectreGuard && self.b.isa.use_csdb {
                ctx.emit(Inst::Hint { op: HintOp::Csdb });
            }
            return Ok(());
        }
        let x = self.regs(ctx, args[1])?;
        let y = self.regs(ctx, args[2])?;
        let dst = ctx.output_regs(inst, 0)?;
        self.select_regs(ctx, c, ty, x, y, dst)?;
        if op == Opcode::SelectSpectreGuard && self.b.isa.use_csdb {
            ctx.emit(Inst::Hint { op: HintOp::Csdb });
        }
        Ok(())
    }
}

impl A64Lower<'_> {
    // -------------------------------------------------------------------------------------
    // Integer arithmetic

    /// A single-use `imul` of this block feeding `v`: its operands.
    fn imul_operands(&self, ctx: Ctx, v: Value) -> Option<(Value, Value)> {
        let def = self.fold(ctx, v)?;
        match *ctx.data(def) {
            D::Binary { opcode: Opcode::Imul, args } => Some((args[0], args[1])),
            _ => None,
        }
    }

    fn lower_addsub(&self, ctx: Ctx, inst: IrInst, op: Opcode, x: Value, y: Value, ty: Type) -> CodegenResult<()> {
        if ty == types::I128 {
            let a = self.regs(ctx, x)?;
            let b = self.regs(ctx, y)?;
            let dst = ctx.output_regs(inst, 0)?;
            let (lo, hi) = if op == Opcode::Iadd { (ALUOp::Adds, ALUOp::Adc) } else { (ALUOp::Subs, ALUOp::Sbc) };
            let s64 = OperandSize::Size64;
            self.alu_into(ctx, lo, s64, Writable::from_reg(dst.reg(0)), a.reg(0), b.reg(0));
            self.alu_into(ctx, hi, s64, Writable::from_reg(dst.reg(1)), a.reg(1), b.reg(1));
            return Ok(());
        }
        if !is_int(ty) {
            return Err(unsupported_op(op, ty));
        }
        let size = osize(ty);
        let d = ctx.output_reg(inst, 0)?;
        // x ± a * b: madd/msub.
        let candidates: SmallVec<[(Value, Value); 2]> =
            if op == Opcode::Iadd { SmallVec::from_slice(&[(x, y), (y, x)]) } else { SmallVec::from_slice(&[(x, y)]) };
        for (acc, m) in candidates {
            if let Some((a, b)) = self.imul_operands(ctx, m) {
                let (rn, rm, ra) = (self.reg(ctx, a)?, self.reg(ctx, b)?, self.reg(ctx, acc)?);
                let op3 = if op == Opcode::Iadd { ALUOp3::MAdd } else { ALUOp3::MSub };
                ctx.emit(Inst::AluRRRR { op: op3, size, rd: d, rn, rm, ra });
                return Ok(());
            }
        }
        let aop = if op == Opcode::Iadd { ALUOp::Add } else { ALUOp::Sub };
        // A constant or a foldable operand first: swap (addition only).
        let foldable = |ctx: Ctx, v: Value| {
            ctx.iconst_bits(v).is_some()
                || self
                    .fold(ctx, v)
                    .is_some_and(|d| matches!(ctx.f.dfg.opcode(d), Opcode::Ishl | Opcode::Uextend | Opcode::Sextend))
        };
        let (x, y) = if aop == ALUOp::Add && foldable(ctx, x) && !foldable(ctx, y) { (y, x) } else { (x, y) };
        if aop == ALUOp::Sub && ctx.iconst_bits(x) == Some(0) {
            // 0 - y: neg.
            let rhs = match self.addsub_operand(ctx, y, ty)? {
                AddSubRhs::Imm(_) | AddSubRhs::NegImm(_) => AddSubRhs::Reg(self.reg(ctx, y)?),
                r => r,
            };
            if let AddSubRhs::Extended(..) = rhs {
                let r = self.reg(ctx, y)?;
                self.alu_into(ctx, ALUOp::Sub, size, d, zero_reg(), r);
            } else {
                self.emit_addsub(ctx, ALUOp::Sub, size, d, zero_reg(), rhs);
            }
            return Ok(());
        }
        let rn = self.reg(ctx, x)?;
        let rhs = self.addsub_operand(ctx, y, ty)?;
        self.emit_addsub(ctx, aop, size, d, rn, rhs);
        Ok(())
    }

    /// A single-use `bnot` of this block: its operand.
    fn bnot_operand(&self, ctx: Ctx, v: Value) -> Option<Value> {
        let def = self.fold(ctx, v)?;
        match *ctx.data(def) {
            D::Unary { opcode: Opcode::Bnot, arg } => Some(arg),
            _ => None,
        }
    }

    fn lower_logic(&self, ctx: Ctx, inst: IrInst, op: Opcode, x: Value, y: Value, ty: Type) -> CodegenResult<()> {
        let (plain, inverted) = match op {
            Opcode::Band => (ALUOp::And, ALUOp::Bic),
            Opcode::Bor => (ALUOp::Orr, ALUOp::Orn),
            _ => (ALUOp::Eor, ALUOp::Eon),
        };
        if ty == types::I128 {
            let a = self.regs(ctx, x)?;
            let b = self.regs(ctx, y)?;
            let dst = ctx.output_regs(inst, 0)?;
            for i in 0..2 {
                self.alu_into(ctx, plain, OperandSize::Size64, Writable::from_reg(dst.reg(i)), a.reg(i), b.reg(i));
            }
            return Ok(());
        }
        if ty.is_float() {
            let vop = match op {
                Opcode::Band => VecALUOp::And,
                Opcode::Bor => VecALUOp::Orr,
                _ => VecALUOp::Eor,
            };
            let rn = self.reg(ctx, x)?;
            let rm = self.reg(ctx, y)?;
            let d = ctx.output_reg(inst, 0)?;
            ctx.emit(Inst::VecRRR { op: vop, size: VectorSize::Size8x16, rd: d, rn, rm });
            return Ok(());
        }
        if !is_int(ty) {
            return Err(unsupported_op(op, ty));
        }
        let size = osize(ty);
        let d = ctx.output_reg(inst, 0)?;
        // x op !y: bic/orn/eon.
        for (p, q) in [(x, y), (y, x)] {
            if ctx.iconst_bits(q).is_none()
                && let Some(n) = self.bnot_operand(ctx, q)
            {
                let rn = self.reg(ctx, p)?;
                let rhs = match self.logic_operand(ctx, n, ty)? {
                    LogicRhs::Imm(_) => LogicRhs::Reg(self.reg(ctx, n)?),
                    r => r,
                };
                self.emit_logic(ctx, inverted, size, d, rn, rhs);
                return Ok(());
            }
        }
        let (x, y) = if ctx.iconst_bits(x).is_some() && ctx.iconst_bits(y).is_none() { (y, x) } else { (x, y) };
        let rn = self.reg(ctx, x)?;
        let rhs = self.logic_operand(ctx, y, ty)?;
        self.emit_logic(ctx, plain, size, d, rn, rhs);
        Ok(())
    }

    fn lower_bnot(&self, ctx: Ctx, inst: IrInst, x: Value, ty: Type) -> CodegenResult<()> {
        if ty == types::I128 {
            let a = self.regs(ctx, x)?;
            let dst = ctx.output_regs(inst, 0)?;
            for i in 0..2 {
                self.alu_into(
                    ctx,
                    ALUOp::Orn,
                    OperandSize::Size64,
                    Writable::from_reg(dst.reg(i)),
                    zero_reg(),
                    a.reg(i),
                );
            }
            return Ok(());
        }
        if ty.is_float() {
            let rn = self.reg(ctx, x)?;
            let d = ctx.output_reg(inst, 0)?;
            ctx.emit(Inst::VecMisc { op: VecMisc2::Not, size: VectorSize::Size8x16, rd: d, rn });
            return Ok(());
        }
        if !is_int(ty) {
            return Err(unsupported_op(Opcode::Bnot, ty));
        }
        let d = ctx.output_reg(inst, 0)?;
        // !(a ^ b) = eon.
        if let Some(def) = self.fold(ctx, x)
            && let D::Binary { opcode: Opcode::Bxor, args } = *ctx.data(def)
        {
            let rn = self.reg(ctx, args[0])?;
            let rm = self.reg(ctx, args[1])?;
            self.alu_into(ctx, ALUOp::Eon, osize(ty), d, rn, rm);
            return Ok(());
        }
        let rhs = match self.logic_operand(ctx, x, ty)? {
            LogicRhs::Imm(_) => LogicRhs::Reg(self.reg(ctx, x)?),
            r => r,
        };
        self.emit_logic(ctx, ALUOp::Orn, osize(ty), d, zero_reg(), rhs);
        Ok(())
    }

    fn lower_imul(&self, ctx: Ctx, inst: IrInst, x: Value, y: Value, ty: Type) -> CodegenResult<()> {
        let s64 = OperandSize::Size64;
        if ty == types::I128 {
            let a = self.regs(ctx, x)?;
            let b = self.regs(ctx, y)?;
            let dst = ctx.output_regs(inst, 0)?;
            let hi0 = self.alu(ctx, ALUOp::UMulH, s64, a.reg(0), b.reg(0))?;
            let hi1 = self.itmp(ctx)?;
            ctx.emit(Inst::AluRRRR { op: ALUOp3::MAdd, size: s64, rd: hi1, rn: a.reg(0), rm: b.reg(1), ra: hi0 });
            ctx.emit(Inst::AluRRRR {
                op: ALUOp3::MAdd,
                size: s64,
                rd: Writable::from_reg(dst.reg(1)),
                rn: a.reg(1),
                rm: b.reg(0),
                ra: hi1.to_reg(),
            });
            ctx.emit(Inst::AluRRRR {
                op: ALUOp3::MAdd,
                size: s64,
                rd: Writable::from_reg(dst.reg(0)),
                rn: a.reg(0),
                rm: b.reg(0),
                ra: zero_reg(),
            });
            return Ok(());
        }
        if !is_int(ty) {
            return Err(unsupported_op(Opcode::Imul, ty));
        }
        let d = ctx.output_reg(inst, 0)?;
        // 32×32→64 widening multiplies of extended operands.
        if ty == types::I64 {
            let ext = |ctx: Ctx, v: Value| -> Option<(bool, Value)> {
                let def = self.fold(ctx, v)?;
                match *ctx.data(def) {
                    D::Unary { opcode: o @ (Opcode::Uextend | Opcode::Sextend), arg }
                        if ctx.value_ty(arg) == types::I32 =>
                    {
                        Some((o == Opcode::Sextend, arg))
                    }
                    _ => None,
                }
            };
            if let (Some((sa, a)), Some((sb, b))) = (ext(ctx, x), ext(ctx, y))
                && sa == sb
            {
                let (rn, rm) = (self.reg(ctx, a)?, self.reg(ctx, b)?);
                let op = if sa { ALUOp3::SMAddL } else { ALUOp3::UMAddL };
                ctx.emit(Inst::AluRRRR { op, size: s64, rd: d, rn, rm, ra: zero_reg() });
                return Ok(());
            }
        }
        let rn = self.reg(ctx, x)?;
        let rm = self.reg(ctx, y)?;
        ctx.emit(Inst::AluRRRR { op: ALUOp3::MAdd, size: osize(ty), rd: d, rn, rm, ra: zero_reg() });
        Ok(())
    }

    fn lower_mulhi(&self, ctx: Ctx, inst: IrInst, signed: bool, x: Value, y: Value, ty: Type) -> CodegenResult<()> {
        let op = if signed { Opcode::Smulhi } else { Opcode::Umulhi };
        if !is_int(ty) {
            return Err(unsupported_op(op, ty));
        }
        let d = ctx.output_reg(inst, 0)?;
        match ty.bits() {
            64 => {
                let rn = self.reg(ctx, x)?;
                let rm = self.reg(ctx, y)?;
                let aop = if signed { ALUOp::SMulH } else { ALUOp::UMulH };
                self.alu_into(ctx, aop, OperandSize::Size64, d, rn, rm);
            }
            32 => {
                let rn = self.reg(ctx, x)?;
                let rm = self.reg(ctx, y)?;
                let p = self.itmp(ctx)?;
                let op3 = if signed { ALUOp3::SMAddL } else { ALUOp3::UMAddL };
                ctx.emit(Inst::AluRRRR { op: op3, size: OperandSize::Size64, rd: p, rn, rm, ra: zero_reg() });
                let bop = if signed { BitfieldOp::Sbfm } else { BitfieldOp::Ubfm };
                ctx.emit(Inst::Bitfield {
                    op: bop,
                    size: OperandSize::Size64,
                    rd: d,
                    rn: p.to_reg(),
                    immr: 32,
                    imms: 63,
                });
            }
            bits => {
                let a = self.ext_value(ctx, x, signed, false)?;
                let b = self.ext_value(ctx, y, signed, false)?;
                let p = self.itmp(ctx)?;
                let s32 = OperandSize::Size32;
                ctx.emit(Inst::AluRRRR { op: ALUOp3::MAdd, size: s32, rd: p, rn: a, rm: b, ra: zero_reg() });
                let bop = if signed { BitfieldOp::Sbfm } else { BitfieldOp::Ubfm };
                ctx.emit(Inst::Bitfield { op: bop, size: s32, rd: d, rn: p.to_reg(), immr: bits as u8, imms: 31 });
            }
        }
        Ok(())
    }

    fn lower_div(&self, ctx: Ctx, inst: IrInst, op: Opcode, x: Value, y: Value, ty: Type) -> CodegenResult<()> {
        if !is_int(ty) {
            return Err(unsupported_op(op, ty));
        }
        let signed = matches!(op, Opcode::Sdiv | Opcode::Srem);
        let rem = matches!(op, Opcode::Urem | Opcode::Srem);
        let bits = ty.bits();
        let size = osize(ty);
        let divisor = self.const_of(ctx, y, true);
        let a = self.ext_value(ctx, x, signed, false)?;
        let b = self.ext_value(ctx, y, signed, false)?;
        if divisor.is_none_or(|c| c == 0) {
            ctx.emit(Inst::TrapIf { kind: CondBrKind::Zero(b, size), code: TrapCode::INTEGER_DIVISION_BY_ZERO });
        }
        let q = if rem { self.itmp(ctx)? } else { ctx.output_reg(inst, 0)? };
        if signed && !rem && divisor.is_none_or(|c| c == -1) && bits >= 32 {
            // MIN / -1: cmn b, #1; ccmp a, #1, #0, eq; b.vs int_ovf.
            let zr = Writable::from_reg(zero_reg());
            ctx.emit(Inst::AluRRImm12 {
                op: ALUOp::Adds,
                size,
                rd: zr,
                rn: b,
                imm12: Imm12 { bits: 1, shift12: false },
            });
            ctx.emit(Inst::CCmpImm { op: CCmpOp::Ccmp, size, rn: a, imm: 1, nzcv: NZCV(0), cond: Cond::Eq });
            ctx.emit(Inst::TrapIf { kind: CondBrKind::Cond(Cond::Vs), code: TrapCode::INTEGER_OVERFLOW });
        }
        let dop = if signed { ALUOp::SDiv } else { ALUOp::UDiv };
        ctx.emit(Inst::AluRRR { op: dop, size, rd: q, rn: a, rm: b });
        if signed && !rem && divisor.is_none_or(|c| c == -1) && bits < 32 {
            // The 32-bit quotient of MIN / -1 is 2^(bits-1), which the type cannot hold.
            let imm12 = Imm12::maybe_from_u64(1 << (bits - 1)).unwrap_or(Imm12::ZERO);
            ctx.emit(Inst::AluRRImm12 {
                op: ALUOp::Subs,
                size: OperandSize::Size32,
                rd: Writable::from_reg(zero_reg()),
                rn: q.to_reg(),
                imm12,
            });
            ctx.emit(Inst::TrapIf { kind: CondBrKind::Cond(Cond::Eq), code: TrapCode::INTEGER_OVERFLOW });
        }
        if rem {
            // r = a - q * b
            let d = ctx.output_reg(inst, 0)?;
            ctx.emit(Inst::AluRRRR { op: ALUOp3::MSub, size, rd: d, rn: q.to_reg(), rm: b, ra: a });
        }
        Ok(())
    }

    fn lower_iabs(&self, ctx: Ctx, inst: IrInst, x: Value, ty: Type) -> CodegenResult<()> {
        let s64 = OperandSize::Size64;
        if ty == types::I128 {
            let a = self.regs(ctx, x)?;
            let s = self.shr_imm(ctx, s64, a.reg(1), 63, true)?;
            let lo = self.alu(ctx, ALUOp::Eor, s64, a.reg(0), s)?;
            let hi = self.alu(ctx, ALUOp::Eor, s64, a.reg(1), s)?;
            let dst = ctx.output_regs(inst, 0)?;
            self.alu_into(ctx, ALUOp::Subs, s64, Writable::from_reg(dst.reg(0)), lo, s);
            self.alu_into(ctx, ALUOp::Sbc, s64, Writable::from_reg(dst.reg(1)), hi, s);
            return Ok(());
        }
        if !is_int(ty) {
            return Err(unsupported_op(Opcode::Iabs, ty));
        }
        let r = self.ext_value(ctx, x, true, false)?;
        let size = osize(ty);
        ctx.emit(Inst::AluRRImm12 {
            op: ALUOp::Subs,
            size,
            rd: Writable::from_reg(zero_reg()),
            rn: r,
            imm12: Imm12::ZERO,
        });
        let d = ctx.output_reg(inst, 0)?;
        ctx.emit(Inst::CSel { op: CSelOp::Csneg, size, rd: d, rn: r, rm: r, cond: Cond::Ge });
        Ok(())
    }

    /// Put the carry/borrow input `c` (an i8, non-zero = 1) in the C flag: C = c for an
    /// addition, C = !c for a subtraction (`sbc` subtracts !C).
    fn carry_in(&self, ctx: Ctx, c: Value, is_add: bool) -> CodegenResult<()> {
        let r = self.ext_value(ctx, c, false, false)?;
        let zr = Writable::from_reg(zero_reg());
        let s32 = OperandSize::Size32;
        if is_add {
            // cmp w, #1: C = (w >= 1).
            ctx.emit(Inst::AluRRImm12 {
                op: ALUOp::Subs,
                size: s32,
                rd: zr,
                rn: r,
                imm12: Imm12 { bits: 1, shift12: false },
            });
        } else {
            // cmp wzr, w: C = (0 >= w) = (w == 0).
            ctx.emit(Inst::AluRRR { op: ALUOp::Subs, size: s32, rd: zr, rn: zero_reg(), rm: r });
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn lower_overflow(
        &self,
        ctx: Ctx,
        inst: IrInst,
        op: Opcode,
        x: Value,
        y: Value,
        carry: Option<Value>,
        ty: Type,
    ) -> CodegenResult<()> {
        let is_add = matches!(
            op,
            Opcode::UaddOverflow | Opcode::SaddOverflow | Opcode::UaddOverflowCin | Opcode::SaddOverflowCin
        );
        let signed = matches!(
            op,
            Opcode::SaddOverflow | Opcode::SsubOverflow | Opcode::SaddOverflowCin | Opcode::SsubOverflowBin
        );
        if !(is_int(ty) || ty == types::I128) {
            return Err(unsupported_op(op, ty));
        }
        let flag_cond = match (is_add, signed) {
            (_, true) => Cond::Vs,
            (true, false) => Cond::Hs,
            (false, false) => Cond::Lo,
        };
        let bits = ty.bits();
        if bits < 32 {
            // In 32 bits from extended operands; the flag from the range of the result.
            let a = self.ext_value(ctx, x, signed, false)?;
            let b = self.ext_value(ctx, y, signed, false)?;
            let s32 = OperandSize::Size32;
            let mut r = self.alu(ctx, if is_add { ALUOp::Add } else { ALUOp::Sub }, s32, a, b)?;
            if let Some(c) = carry {
                let cr = self.reg(ctx, c)?;
                self.emit_tst_imm(ctx, s32, cr, 0xff)?;
                let one = self.itmp(ctx)?;
                ctx.emit(Inst::cset(s32, one, Cond::Ne));
                r = self.alu(ctx, if is_add { ALUOp::Add } else { ALUOp::Sub }, s32, r, one.to_reg())?;
            }
            self.set_result(ctx, inst, 0, r)?;
            let zr = Writable::from_reg(zero_reg());
            if signed {
                let extend = if bits == 8 { ExtendOp::SXTB } else { ExtendOp::SXTH };
                ctx.emit(Inst::AluRRRExtend { op: ALUOp::Subs, size: s32, rd: zr, rn: r, rm: r, extend, shift: 0 });
            } else {
                self.emit_tst_imm(ctx, s32, r, !((1u64 << bits) - 1) & 0xffff_ffff)?;
            }
            let f = ctx.output_reg(inst, 1)?;
            ctx.emit(Inst::cset(s32, f, Cond::Ne));
            return Ok(());
        }
        if let Some(c) = carry {
            self.carry_in(ctx, c, is_add)?;
        }
        let (first, rest) = match (is_add, carry.is_some()) {
            (true, false) => (ALUOp::Adds, ALUOp::Adcs),
            (true, true) => (ALUOp::Adcs, ALUOp::Adcs),
            (false, false) => (ALUOp::Subs, ALUOp::Sbcs),
            (false, true) => (ALUOp::Sbcs, ALUOp::Sbcs),
        };
        if ty == types::I128 {
            let a = self.regs(ctx, x)?;
            let b = self.regs(ctx, y)?;
            let dst = ctx.output_regs(inst, 0)?;
            let s64 = OperandSize::Size64;
            self.alu_into(ctx, first, s64, Writable::from_reg(dst.reg(0)), a.reg(0), b.reg(0));
            self.alu_into(ctx, rest, s64, Writable::from_reg(dst.reg(1)), a.reg(1), b.reg(1));
        } else {
            let rn = self.reg(ctx, x)?;
            let d = ctx.output_reg(inst, 0)?;
            if carry.is_some() {
                let rm = self.reg(ctx, y)?;
                self.alu_into(ctx, first, osize(ty), d, rn, rm);
            } else {
                let rhs = self.addsub_operand(ctx, y, ty)?;
                self.emit_addsub(ctx, first, osize(ty), d, rn, rhs);
            }
        }
        let f = ctx.output_reg(inst, 1)?;
        ctx.emit(Inst::cset(OperandSize::Size32, f, flag_cond));
        Ok(())
    }

    fn lower_mul_overflow(
        &self,
        ctx: Ctx,
        inst: IrInst,
        signed: bool,
        x: Value,
        y: Value,
        ty: Type,
    ) -> CodegenResult<()> {
        let op = if signed { Opcode::SmulOverflow } else { Opcode::UmulOverflow };
        if !is_int(ty) {
            return Err(unsupported_op(op, ty));
        }
        let zr = Writable::from_reg(zero_reg());
        let (s32, s64) = (OperandSize::Size32, OperandSize::Size64);
        match ty.bits() {
            64 => {
                let a = self.reg(ctx, x)?;
                let b = self.reg(ctx, y)?;
                let d = ctx.output_reg(inst, 0)?;
                ctx.emit(Inst::AluRRRR { op: ALUOp3::MAdd, size: s64, rd: d, rn: a, rm: b, ra: zero_reg() });
                let hi = self.alu(ctx, if signed { ALUOp::SMulH } else { ALUOp::UMulH }, s64, a, b)?;
                if signed {
                    ctx.emit(Inst::AluRRRShift {
                        op: ALUOp::Subs,
                        size: s64,
                        rd: zr,
                        rn: hi,
                        rm: d.to_reg(),
                        shift: ShiftOp::Asr,
                        amt: 63,
                    });
                } else {
                    ctx.emit(Inst::AluRRImm12 { op: ALUOp::Subs, size: s64, rd: zr, rn: hi, imm12: Imm12::ZERO });
                }
            }
            32 => {
                let a = self.reg(ctx, x)?;
                let b = self.reg(ctx, y)?;
                let p = self.itmp(ctx)?;
                let op3 = if signed { ALUOp3::SMAddL } else { ALUOp3::UMAddL };
                ctx.emit(Inst::AluRRRR { op: op3, size: s64, rd: p, rn: a, rm: b, ra: zero_reg() });
                let extend = if signed { ExtendOp::SXTW } else { ExtendOp::UXTW };
                ctx.emit(Inst::AluRRRExtend {
                    op: ALUOp::Subs,
                    size: s64,
                    rd: zr,
                    rn: p.to_reg(),
                    rm: p.to_reg(),
                    extend,
                    shift: 0,
                });
                self.set_result(ctx, inst, 0, p.to_reg())?;
            }
            bits => {
                let a = self.ext_value(ctx, x, signed, false)?;
                let b = self.ext_value(ctx, y, signed, false)?;
                let p = self.itmp(ctx)?;
                ctx.emit(Inst::AluRRRR { op: ALUOp3::MAdd, size: s32, rd: p, rn: a, rm: b, ra: zero_reg() });
                if signed {
                    let extend = if bits == 8 { ExtendOp::SXTB } else { ExtendOp::SXTH };
                    ctx.emit(Inst::AluRRRExtend {
                        op: ALUOp::Subs,
                        size: s32,
                        rd: zr,
                        rn: p.to_reg(),
                        rm: p.to_reg(),
                        extend,
                        shift: 0,
                    });
                } else {
                    self.emit_tst_imm(ctx, s32, p.to_reg(), !((1u64 << bits) - 1) & 0xffff_ffff)?;
                }
                self.set_result(ctx, inst, 0, p.to_reg())?;
            }
        }
        let f = ctx.output_reg(inst, 1)?;
        ctx.emit(Inst::cset(s32, f, Cond::Ne));
        Ok(())
    }
}

impl A64Lower<'_> {
    // -------------------------------------------------------------------------------------
    // Shifts and bit operations

    fn lower_shift(&self, ctx: Ctx, inst: IrInst, op: Opcode, x: Value, amt: Value, ty: Type) -> CodegenResult<()> {
        if ty == types::I128 {
            return self.lower_shift128(ctx, inst, op, x, amt);
        }
        if !is_int(ty) {
            return Err(unsupported_op(op, ty));
        }
        let bits = ty.bits();
        let size = osize(ty);
        let wide = bits >= 32;
        if let Some(c) = ctx.iconst_bits(amt) {
            let n = (c & (bits as u64 - 1)) as u8;
            let xr = self.reg(ctx, x)?;
            if n == 0 {
                return self.set_result(ctx, inst, 0, xr);
            }
            let b = bits as u8;
            let r = match op {
                Opcode::Ishl => self.lsl_imm(ctx, size, xr, n)?,
                Opcode::Ushr if wide => self.shr_imm(ctx, size, xr, n, false)?,
                Opcode::Sshr if wide => self.shr_imm(ctx, size, xr, n, true)?,
                // ubfx/sbfx of the value's own bits.
                Opcode::Ushr => self.bitfield(ctx, BitfieldOp::Ubfm, OperandSize::Size32, xr, n, b - 1)?,
                Opcode::Sshr => self.bitfield(ctx, BitfieldOp::Sbfm, OperandSize::Size32, xr, n, b - 1)?,
                Opcode::Rotl | Opcode::Rotr => {
                    let k = if op == Opcode::Rotr { n } else { b - n };
                    if wide {
                        let d = self.itmp(ctx)?;
                        ctx.emit(Inst::Extr { size, rd: d, rn: xr, rm: xr, lsb: k });
                        d.to_reg()
                    } else {
                        // (x >> k) | (x << (bits - k)) at the value's width.
                        let t = self.bitfield(ctx, BitfieldOp::Ubfm, OperandSize::Size32, xr, k, b - 1)?;
                        let d = self.itmp(ctx)?;
                        ctx.emit(Inst::AluRRRShift {
                            op: ALUOp::Orr,
                            size: OperandSize::Size32,
                            rd: d,
                            rn: t,
                            rm: xr,
                            shift: ShiftOp::Lsl,
                            amt: b - k,
                        });
                        d.to_reg()
                    }
                }
                _ => unreachable!(),
            };
            return self.set_result(ctx, inst, 0, r);
        }
        let n = self.regs(ctx, amt)?.reg(0);
        let d = ctx.output_reg(inst, 0)?;
        if wide {
            let xr = self.reg(ctx, x)?;
            match op {
                Opcode::Ishl => self.alu_into(ctx, ALUOp::Lsl, size, d, xr, n),
                Opcode::Ushr => self.alu_into(ctx, ALUOp::Lsr, size, d, xr, n),
                Opcode::Sshr => self.alu_into(ctx, ALUOp::Asr, size, d, xr, n),
                Opcode::Rotr => self.alu_into(ctx, ALUOp::Ror, size, d, xr, n),
                _ => {
                    // rotl(x, n) = rotr(x, -n)
                    let neg = self.alu(ctx, ALUOp::Sub, size, zero_reg(), n)?;
                    self.alu_into(ctx, ALUOp::Ror, size, d, xr, neg);
                }
            }
            return Ok(());
        }
        // Narrow types: the count modulo the width, the value extended as the shift needs.
        let s32 = OperandSize::Size32;
        let mask = bits as u64 - 1;
        match op {
            Opcode::Ishl | Opcode::Ushr | Opcode::Sshr => {
                let m = self.logic_imm(ctx, ALUOp::And, s32, n, mask)?;
                let (xr, aop) = match op {
                    Opcode::Ishl => (self.reg(ctx, x)?, ALUOp::Lsl),
                    Opcode::Ushr => (self.ext_value(ctx, x, false, false)?, ALUOp::Lsr),
                    _ => (self.ext_value(ctx, x, true, false)?, ALUOp::Asr),
                };
                self.alu_into(ctx, aop, s32, d, xr, m);
            }
            _ => {
                // Replicate the value across 32 bits, then a 32-bit rotate right by the
                // count modulo the width (rotl: by its negation).
                let amount = if op == Opcode::Rotl { self.alu(ctx, ALUOp::Sub, s32, zero_reg(), n)? } else { n };
                let m = self.logic_imm(ctx, ALUOp::And, s32, amount, mask)?;
                let mut rep = self.ext_value(ctx, x, false, false)?;
                let mut w = bits as u8;
                while w < 32 {
                    let t = self.itmp(ctx)?;
                    ctx.emit(Inst::AluRRRShift {
                        op: ALUOp::Orr,
                        size: s32,
                        rd: t,
                        rn: rep,
                        rm: rep,
                        shift: ShiftOp::Lsl,
                        amt: w,
                    });
                    rep = t.to_reg();
                    w *= 2;
                }
                self.alu_into(ctx, ALUOp::Ror, s32, d, rep, m);
            }
        }
        Ok(())
    }

    fn lower_shift128(&self, ctx: Ctx, inst: IrInst, op: Opcode, x: Value, amt: Value) -> CodegenResult<()> {
        let xr = self.regs(ctx, x)?;
        let dst = ctx.output_regs(inst, 0)?;
        let s64 = OperandSize::Size64;
        let (d0, d1) = (Writable::from_reg(dst.reg(0)), Writable::from_reg(dst.reg(1)));
        if let Some(c) = ctx.iconst_bits(amt)
            && matches!(op, Opcode::Ishl | Opcode::Ushr | Opcode::Sshr)
        {
            let n = (c & 127) as u8;
            let (lo, hi) = (xr.reg(0), xr.reg(1));
            let (a, b) = match (op, n) {
                (_, 0) => (lo, hi),
                (Opcode::Ishl, 1..=63) => {
                    let h = self.itmp(ctx)?;
                    ctx.emit(Inst::Extr { size: s64, rd: h, rn: hi, rm: lo, lsb: 64 - n });
                    (self.lsl_imm(ctx, s64, lo, n)?, h.to_reg())
                }
                (Opcode::Ishl, _) => (self.const_reg(ctx, 0, s64)?, self.lsl_imm(ctx, s64, lo, n - 64)?),
                (_, 1..=63) => {
                    let l = self.itmp(ctx)?;
                    ctx.emit(Inst::Extr { size: s64, rd: l, rn: hi, rm: lo, lsb: n });
                    (l.to_reg(), self.shr_imm(ctx, s64, hi, n, op == Opcode::Sshr)?)
                }
                (_, _) => {
                    let signed = op == Opcode::Sshr;
                    let l = if n == 64 { hi } else { self.shr_imm(ctx, s64, hi, n - 64, signed)? };
                    let h = if signed { self.shr_imm(ctx, s64, hi, 63, true)? } else { self.const_reg(ctx, 0, s64)? };
                    (l, h)
                }
            };
            ctx.emit(Inst::mov64(d0, a));
            ctx.emit(Inst::mov64(d1, b));
            return Ok(());
        }
        let n = self.regs(ctx, amt)?.reg(0);
        match op {
            Opcode::Ishl | Opcode::Ushr | Opcode::Sshr => {
                let (lo, hi) = self.shift128(ctx, op, xr.reg(0), xr.reg(1), n)?;
                ctx.emit(Inst::mov64(d0, lo));
                ctx.emit(Inst::mov64(d1, hi));
            }
            _ => {
                // rotl(x, n) = (x << n) | (x >> -n); rotr the other way round.
                let neg = self.alu(ctx, ALUOp::Sub, s64, zero_reg(), n)?;
                let (l_amt, r_amt) = if op == Opcode::Rotl { (n, neg) } else { (neg, n) };
                let (l0, l1) = self.shift128(ctx, Opcode::Ishl, xr.reg(0), xr.reg(1), l_amt)?;
                let (r0, r1) = self.shift128(ctx, Opcode::Ushr, xr.reg(0), xr.reg(1), r_amt)?;
                self.alu_into(ctx, ALUOp::Orr, s64, d0, l0, r0);
                self.alu_into(ctx, ALUOp::Orr, s64, d1, l1, r1);
            }
        }
        Ok(())
    }

    /// A 128-bit shift of (lo, hi) by `n` (mod 128): the new (lo, hi).
    fn shift128(&self, ctx: Ctx, op: Opcode, lo: Reg, hi: Reg, n: Reg) -> CodegenResult<(Reg, Reg)> {
        let s64 = OperandSize::Size64;
        let not_n = self.alu(ctx, ALUOp::Orn, s64, zero_reg(), n)?;
        let zr = Writable::from_reg(zero_reg());
        let imml = ImmLogic::maybe_from_u64(64, false).ok_or_else(|| CodegenError::Other("bitmask 64".into()))?;
        if op == Opcode::Ishl {
            // lo' = lo << n; hi' = (hi << n) | ((lo >> 1) >> ~n); when n & 64: hi' = lo << n, lo' = 0.
            let lo_s = self.alu(ctx, ALUOp::Lsl, s64, lo, n)?;
            let hi_s = self.alu(ctx, ALUOp::Lsl, s64, hi, n)?;
            let c1 = self.shr_imm(ctx, s64, lo, 1, false)?;
            let c2 = self.alu(ctx, ALUOp::Lsr, s64, c1, not_n)?;
            let hi_n = self.alu(ctx, ALUOp::Orr, s64, hi_s, c2)?;
            ctx.emit(Inst::AluRRImmLogic { op: ALUOp::Ands, size: s64, rd: zr, rn: n, imml });
            let new_lo = self.itmp(ctx)?;
            ctx.emit(Inst::CSel { op: CSelOp::Csel, size: s64, rd: new_lo, rn: zero_reg(), rm: lo_s, cond: Cond::Ne });
            let new_hi = self.itmp(ctx)?;
            ctx.emit(Inst::CSel { op: CSelOp::Csel, size: s64, rd: new_hi, rn: lo_s, rm: hi_n, cond: Cond::Ne });
            return Ok((new_lo.to_reg(), new_hi.to_reg()));
        }
        let signed = op == Opcode::Sshr;
        // hi' = hi >> n; lo' = (lo >> n) | ((hi << 1) << ~n); when n & 64: lo' = hi >> n, hi' = sign or 0.
        let hi_s = self.alu(ctx, if signed { ALUOp::Asr } else { ALUOp::Lsr }, s64, hi, n)?;
        let lo_s = self.alu(ctx, ALUOp::Lsr, s64, lo, n)?;
        let c1 = self.lsl_imm(ctx, s64, hi, 1)?;
        let c2 = self.alu(ctx, ALUOp::Lsl, s64, c1, not_n)?;
        let lo_n = self.alu(ctx, ALUOp::Orr, s64, lo_s, c2)?;
        let fill = if signed { self.shr_imm(ctx, s64, hi, 63, true)? } else { zero_reg() };
        ctx.emit(Inst::AluRRImmLogic { op: ALUOp::Ands, size: s64, rd: zr, rn: n, imml });
        let new_lo = self.itmp(ctx)?;
        ctx.emit(Inst::CSel { op: CSelOp::Csel, size: s64, rd: new_lo, rn: hi_s, rm: lo_n, cond: Cond::Ne });
        let new_hi = self.itmp(ctx)?;
        ctx.emit(Inst::CSel { op: CSelOp::Csel, size: s64, rd: new_hi, rn: fill, rm: hi_s, cond: Cond::Ne });
        Ok((new_lo.to_reg(), new_hi.to_reg()))
    }

    fn bit_rr(&self, ctx: Ctx, op: BitOp, size: OperandSize, rn: Reg) -> CodegenResult<Reg> {
        let rd = self.itmp(ctx)?;
        ctx.emit(Inst::BitRR { op, size, rd, rn });
        Ok(rd.to_reg())
    }

    /// Population count of the 64-bit register `r` (or its low 32 bits) through `cnt`.
    fn popcnt_reg(&self, ctx: Ctx, r: Reg, size: OperandSize) -> CodegenResult<Reg> {
        let v = self.vtmp(ctx)?;
        let fsize = if size.is64() { ScalarSize::Size64 } else { ScalarSize::Size32 };
        ctx.emit(Inst::MovToFpu { size: fsize, isize: size, rd: v, rn: r });
        let c = self.vtmp(ctx)?;
        ctx.emit(Inst::VecMisc { op: VecMisc2::Cnt, size: VectorSize::Size8x8, rd: c, rn: v.to_reg() });
        let s = self.vtmp(ctx)?;
        ctx.emit(Inst::VecLanes { op: VecLanesOp::Addv, size: VectorSize::Size8x8, rd: s, rn: c.to_reg() });
        let d = self.itmp(ctx)?;
        ctx.emit(Inst::MovFromVec { size: ScalarSize::Size8, rd: d, rn: s.to_reg(), lane: 0 });
        Ok(d.to_reg())
    }

    /// 128-bit count from the counts of the halves: `first_count + second_count` when
    /// `first_count` is 64 (the half scanned first was all zeros).
    fn count128(&self, ctx: Ctx, first_count: Reg, second_count: Reg) -> CodegenResult<Reg> {
        let s64 = OperandSize::Size64;
        let t = self.shr_imm(ctx, s64, first_count, 6, false)?;
        let d = self.itmp(ctx)?;
        ctx.emit(Inst::AluRRRR { op: ALUOp3::MAdd, size: s64, rd: d, rn: second_count, rm: t, ra: first_count });
        Ok(d.to_reg())
    }

    fn lower_bitcount(&self, ctx: Ctx, inst: IrInst, op: Opcode, x: Value, ty: Type) -> CodegenResult<()> {
        let s64 = OperandSize::Size64;
        let s32 = OperandSize::Size32;
        if ty == types::I128 {
            let r = self.regs(ctx, x)?;
            let (lo, hi) = (r.reg(0), r.reg(1));
            let res = match op {
                Opcode::Popcnt => {
                    let v = self.vtmp(ctx)?;
                    ctx.emit(Inst::MovToFpu { size: ScalarSize::Size64, isize: s64, rd: v, rn: lo });
                    let v2 = self.vtmp(ctx)?;
                    ctx.emit(Inst::MovToVec { size: ScalarSize::Size64, rd: v2, ri: v.to_reg(), rn: hi, lane: 1 });
                    let c = self.vtmp(ctx)?;
                    ctx.emit(Inst::VecMisc { op: VecMisc2::Cnt, size: VectorSize::Size8x16, rd: c, rn: v2.to_reg() });
                    let s = self.vtmp(ctx)?;
                    ctx.emit(Inst::VecLanes {
                        op: VecLanesOp::Addv,
                        size: VectorSize::Size8x16,
                        rd: s,
                        rn: c.to_reg(),
                    });
                    let d = self.itmp(ctx)?;
                    ctx.emit(Inst::MovFromVec { size: ScalarSize::Size8, rd: d, rn: s.to_reg(), lane: 0 });
                    d.to_reg()
                }
                Opcode::Clz => {
                    let h = self.bit_rr(ctx, BitOp::Clz, s64, hi)?;
                    let l = self.bit_rr(ctx, BitOp::Clz, s64, lo)?;
                    self.count128(ctx, h, l)?
                }
                Opcode::Ctz => {
                    let rl = self.bit_rr(ctx, BitOp::Rbit, s64, lo)?;
                    let rh = self.bit_rr(ctx, BitOp::Rbit, s64, hi)?;
                    let l = self.bit_rr(ctx, BitOp::Clz, s64, rl)?;
                    let h = self.bit_rr(ctx, BitOp::Clz, s64, rh)?;
                    self.count128(ctx, l, h)?
                }
                _ => {
                    // cls = clz(x ^ (x >>s 127)) - 1
                    let s = self.shr_imm(ctx, s64, hi, 63, true)?;
                    let l = self.alu(ctx, ALUOp::Eor, s64, lo, s)?;
                    let h = self.alu(ctx, ALUOp::Eor, s64, hi, s)?;
                    let hc = self.bit_rr(ctx, BitOp::Clz, s64, h)?;
                    let lc = self.bit_rr(ctx, BitOp::Clz, s64, l)?;
                    let t = self.count128(ctx, hc, lc)?;
                    self.add_imm(ctx, s64, t, -1)?
                }
            };
            let dst = ctx.output_regs(inst, 0)?;
            ctx.emit(Inst::mov64(Writable::from_reg(dst.reg(0)), res));
            ctx.emit(Inst::mov64(Writable::from_reg(dst.reg(1)), zero_reg()));
            return Ok(());
        }
        if !is_int(ty) {
            return Err(unsupported_op(op, ty));
        }
        let bits = ty.bits();
        let size = osize(ty);
        let res = match op {
            Opcode::Clz => {
                if bits >= 32 {
                    let r = self.reg(ctx, x)?;
                    self.bit_rr(ctx, BitOp::Clz, size, r)?
                } else {
                    let r = self.ext_value(ctx, x, false, false)?;
                    let c = self.bit_rr(ctx, BitOp::Clz, s32, r)?;
                    self.add_imm(ctx, s32, c, -(32 - bits as i64))?
                }
            }
            Opcode::Cls => {
                if bits >= 32 {
                    let r = self.reg(ctx, x)?;
                    self.bit_rr(ctx, BitOp::Cls, size, r)?
                } else {
                    let r = self.ext_value(ctx, x, true, false)?;
                    let c = self.bit_rr(ctx, BitOp::Cls, s32, r)?;
                    self.add_imm(ctx, s32, c, -(32 - bits as i64))?
                }
            }
            Opcode::Ctz => {
                let r = self.reg(ctx, x)?;
                let r = if bits < 32 {
                    // A sentinel bit just above the value gives `bits` for zero.
                    self.logic_imm(ctx, ALUOp::Orr, s32, r, 1 << bits)?
                } else {
                    r
                };
                let rb = self.bit_rr(ctx, BitOp::Rbit, size, r)?;
                self.bit_rr(ctx, BitOp::Clz, size, rb)?
            }
            _ => {
                let r = if bits < 32 { self.ext_value(ctx, x, false, false)? } else { self.reg(ctx, x)? };
                self.popcnt_reg(ctx, r, size)?
            }
        };
        self.set_result(ctx, inst, 0, res)
    }

    fn lower_bitrev(&self, ctx: Ctx, inst: IrInst, x: Value, ty: Type) -> CodegenResult<()> {
        let s64 = OperandSize::Size64;
        if ty == types::I128 {
            let r = self.regs(ctx, x)?;
            let lo = self.bit_rr(ctx, BitOp::Rbit, s64, r.reg(1))?;
            let hi = self.bit_rr(ctx, BitOp::Rbit, s64, r.reg(0))?;
            let dst = ctx.output_regs(inst, 0)?;
            ctx.emit(Inst::mov64(Writable::from_reg(dst.reg(0)), lo));
            ctx.emit(Inst::mov64(Writable::from_reg(dst.reg(1)), hi));
            return Ok(());
        }
        if !is_int(ty) {
            return Err(unsupported_op(Opcode::Bitrev, ty));
        }
        let r = self.reg(ctx, x)?;
        let mut v = self.bit_rr(ctx, BitOp::Rbit, osize(ty), r)?;
        if ty.bits() < 32 {
            v = self.shr_imm(ctx, OperandSize::Size32, v, 32 - ty.bits() as u8, false)?;
        }
        self.set_result(ctx, inst, 0, v)
    }

    fn lower_bswap(&self, ctx: Ctx, inst: IrInst, x: Value, ty: Type) -> CodegenResult<()> {
        let s64 = OperandSize::Size64;
        if ty == types::I128 {
            let r = self.regs(ctx, x)?;
            let lo = self.bit_rr(ctx, BitOp::Rev, s64, r.reg(1))?;
            let hi = self.bit_rr(ctx, BitOp::Rev, s64, r.reg(0))?;
            let dst = ctx.output_regs(inst, 0)?;
            ctx.emit(Inst::mov64(Writable::from_reg(dst.reg(0)), lo));
            ctx.emit(Inst::mov64(Writable::from_reg(dst.reg(1)), hi));
            return Ok(());
        }
        let r = self.reg(ctx, x)?;
        let v = self.bswap_reg(ctx, r, ty.bits() / 8)?;
        self.set_result(ctx, inst, 0, v)
    }

    /// Byte-swap the low `bytes` of a register (2: `rev16` of a w register, whose low
    /// half then holds the swapped value).
    pub(crate) fn bswap_reg(&self, ctx: Ctx, r: Reg, bytes: u32) -> CodegenResult<Reg> {
        match bytes {
            1 => Ok(r),
            2 => self.bit_rr(ctx, BitOp::Rev16, OperandSize::Size32, r),
            4 => self.bit_rr(ctx, BitOp::Rev, OperandSize::Size32, r),
            _ => self.bit_rr(ctx, BitOp::Rev, OperandSize::Size64, r),
        }
    }

    fn lower_extend(&self, ctx: Ctx, inst: IrInst, signed: bool, x: Value, ty: Type) -> CodegenResult<()> {
        let src_ty = ctx.value_ty(x);
        if !is_int(src_ty) {
            return Err(unsupported_op(if signed { Opcode::Sextend } else { Opcode::Uextend }, ty));
        }
        let to64 = ty.bits() > 32;
        // An extending load.
        let lo = match self.extending_load(ctx, x, signed, to64)? {
            Some(r) => r,
            None => self.ext_value(ctx, x, signed, to64)?,
        };
        if ty == types::I128 {
            let dst = ctx.output_regs(inst, 0)?;
            ctx.emit(Inst::mov64(Writable::from_reg(dst.reg(0)), lo));
            if signed {
                ctx.emit(Inst::Bitfield {
                    op: BitfieldOp::Sbfm,
                    size: OperandSize::Size64,
                    rd: Writable::from_reg(dst.reg(1)),
                    rn: lo,
                    immr: 63,
                    imms: 63,
                });
            } else {
                ctx.emit(Inst::mov64(Writable::from_reg(dst.reg(1)), zero_reg()));
            }
            return Ok(());
        }
        self.set_result(ctx, inst, 0, lo)
    }

    /// If `v` is a load (of 8, 16 or 32 bits, little-endian) that can be merged into its
    /// extension, the extending load.
    fn extending_load(&self, ctx: Ctx, v: Value, signed: bool, to64: bool) -> CodegenResult<Option<Reg>> {
        let Some(load) = ctx.sinkable_inst(v) else { return Ok(None) };
        // A user of the extension that folded it (an extended operand or index, through
        // `fold_pure`) reads the loaded value's register: the load must define it.
        if ctx.is_value_needed(ctx.canon(v)) {
            return Ok(None);
        }
        let D::Load { opcode: Opcode::Load, flags, arg, offset } = *ctx.data(load) else { return Ok(None) };
        let mf = ctx.f.dfg.mem_flags.get(flags);
        let vty = ctx.value_ty(v);
        if mf.explicit_endianness() == Some(Endianness::Big) || !is_int(vty) || vty.bits() > 32 {
            return Ok(None);
        }
        let op = match (vty.bits(), signed, to64) {
            (8, false, _) => LoadOp::Ldrb,
            (16, false, _) => LoadOp::Ldrh,
            (32, false, _) => LoadOp::LdrW,
            (8, true, false) => LoadOp::LdrsbW,
            (8, true, true) => LoadOp::LdrsbX,
            (16, true, false) => LoadOp::LdrshW,
            (16, true, true) => LoadOp::LdrshX,
            (32, true, true) => LoadOp::Ldrsw,
            _ => return Ok(None),
        };
        ctx.sink_inst(load);
        let mem = self.amode(ctx, arg, offset.0, op.access())?;
        let rd = self.itmp(ctx)?;
        ctx.emit(Inst::Load { op, rd, mem, trap: mf.trap_code() });
        Ok(Some(rd.to_reg()))
    }

    // -------------------------------------------------------------------------------------
    // Memory

    /// Fold `addr + offset` into an addressing mode for an access of `access`.
    pub(crate) fn amode(&self, ctx: Ctx, addr: Value, offset: i32, access: ScalarSize) -> CodegenResult<AMode> {
        let mut off = offset as i64;
        let mut base = addr;
        for _ in 0..4 {
            let Some(def) = ctx.def_inst(base) else { break };
            let D::Binary { opcode: Opcode::Iadd, args } = *ctx.data(def) else { break };
            if ctx.value_ty(base) != types::I64 {
                break;
            }
            let (c, other) = match (ctx.iconst_signed(args[1]), ctx.iconst_signed(args[0])) {
                (Some(c), _) => (c, args[0]),
                (None, Some(c)) => (c, args[1]),
                _ => break,
            };
            match off.checked_add(c) {
                Some(o) if i32::try_from(o).is_ok() => {
                    off = o;
                    base = other;
                }
                _ => break,
            }
        }
        if let Some(def) = ctx.def_inst(base)
            && let D::StackAddr { stack_slot, offset: so, .. } = *ctx.data(def)
        {
            let slot = ctx.callee.slot_offsets[stack_slot] as i64;
            return Ok(AMode::Stack(StackAMode::Slot(slot + so.0 as i64 + off)));
        }
        if off == 0
            && let Some(def) = self.fold_pure(ctx, base)
            && let D::Binary { opcode: Opcode::Iadd, args } = *ctx.data(def)
            && ctx.value_ty(base) == types::I64
        {
            for (p, q) in [(args[0], args[1]), (args[1], args[0])] {
                if let Some(m) = self.index_operand(ctx, q, access)? {
                    let rn = self.reg(ctx, p)?;
                    let (rm, extend, scaled) = m;
                    return Ok(AMode::RegOffset { rn, rm, extend, scaled });
                }
            }
            let rn = self.reg(ctx, args[0])?;
            let rm = self.reg(ctx, args[1])?;
            return Ok(AMode::RegOffset { rn, rm, extend: RegExtend::Lsl, scaled: false });
        }
        let rn = self.reg(ctx, base)?;
        Ok(AMode::reg_offset(rn, off, access).unwrap_or(AMode::BaseOffset { rn, off }))
    }

    /// An index register for `[base, index{, extend} {#scale}]`: a single-use shift by the
    /// access size and/or a single-use extension of an i32.
    fn index_operand(&self, ctx: Ctx, v: Value, access: ScalarSize) -> CodegenResult<Option<(Reg, RegExtend, bool)>> {
        let Some(def) = self.fold_pure(ctx, v) else { return Ok(None) };
        let ext32 = |ctx: Ctx, v: Value| -> Option<(Value, RegExtend)> {
            let def = self.fold_pure(ctx, v)?;
            match *ctx.data(def) {
                D::Unary { opcode: o @ (Opcode::Uextend | Opcode::Sextend), arg }
                    if ctx.value_ty(arg) == types::I32 =>
                {
                    Some((arg, if o == Opcode::Sextend { RegExtend::Sxtw } else { RegExtend::Uxtw }))
                }
                _ => None,
            }
        };
        match *ctx.data(def) {
            D::Binary { opcode: Opcode::Ishl, args } => {
                let Some(k) = ctx.iconst_bits(args[1]) else { return Ok(None) };
                if k & 63 != access.log2_bytes() as u64 || k == 0 {
                    return Ok(None);
                }
                if let Some((a, e)) = ext32(ctx, args[0]) {
                    return Ok(Some((self.reg(ctx, a)?, e, true)));
                }
                Ok(Some((self.reg(ctx, args[0])?, RegExtend::Lsl, true)))
            }
            D::Unary { opcode: Opcode::Uextend | Opcode::Sextend, .. } => match ext32(ctx, v) {
                Some((a, e)) => Ok(Some((self.reg(ctx, a)?, e, false))),
                None => Ok(None),
            },
            _ => Ok(None),
        }
    }

    /// `mem` with `delta` more bytes of offset (the address computed into a register first
    /// for a register-offset mode).
    fn amode_plus(&self, ctx: Ctx, mem: AMode, delta: i64) -> CodegenResult<AMode> {
        Ok(match mem {
            AMode::UnsignedOffset { rn, off } => AMode::BaseOffset { rn, off: off as i64 + delta },
            AMode::Unscaled { rn, off } => AMode::BaseOffset { rn, off: off as i64 + delta },
            AMode::BaseOffset { rn, off } => AMode::BaseOffset { rn, off: off + delta },
            AMode::Stack(StackAMode::Slot(o)) => AMode::Stack(StackAMode::Slot(o + delta)),
            AMode::Stack(StackAMode::IncomingArg(o)) => AMode::Stack(StackAMode::IncomingArg(o + delta)),
            AMode::Stack(StackAMode::OutgoingArg(o)) => AMode::Stack(StackAMode::OutgoingArg(o + delta)),
            m => {
                let a = self.itmp(ctx)?;
                ctx.emit(Inst::LoadAddr { rd: a, mem: m });
                AMode::BaseOffset { rn: a.to_reg(), off: delta }
            }
        })
    }

    /// The two 8-byte halves of a 16-byte access at `mem` (lower address first).
    fn amode_halves(&self, ctx: Ctx, mem: AMode) -> CodegenResult<(AMode, AMode)> {
        let mem = match mem {
            AMode::RegOffset { .. } => self.amode_plus(ctx, mem, 0)?,
            m => m,
        };
        let hi = self.amode_plus(ctx, mem, 8)?;
        Ok((mem, hi))
    }

    /// The pair addressing mode of `mem` for `ldp`/`stp` of 8-byte registers, if it has one.
    fn pair_amode(mem: &AMode) -> Option<PairAMode> {
        let (rn, off) = match *mem {
            AMode::UnsignedOffset { rn, off } => (rn, off as i64),
            AMode::Unscaled { rn, off } => (rn, off as i64),
            AMode::BaseOffset { rn, off } => (rn, off),
            _ => return None,
        };
        (off % 8 == 0 && (-512..=504).contains(&off)).then_some(PairAMode::SignedOffset { rn, off: off as i16 })
    }

    fn lower_load(&self, ctx: Ctx, inst: IrInst, op: Opcode, ty: Type) -> CodegenResult<()> {
        let D::Load { flags, arg, offset, .. } = *ctx.data(inst) else { unreachable!() };
        let mf = ctx.f.dfg.mem_flags.get(flags);
        let big = mf.explicit_endianness() == Some(Endianness::Big);
        let trap = mf.trap_code();
        let (width, signed) = match op {
            Opcode::Uload8 => (8, false),
            Opcode::Sload8 => (8, true),
            Opcode::Uload16 => (16, false),
            Opcode::Sload16 => (16, true),
            Opcode::Uload32 => (32, false),
            Opcode::Sload32 => (32, true),
            _ => (ty.bits(), false),
        };
        if ty == types::I128 {
            let mem = self.amode(ctx, arg, offset.0, ScalarSize::Size64)?;
            let dst = ctx.output_regs(inst, 0)?;
            let (w0, w1) = (Writable::from_reg(dst.reg(0)), Writable::from_reg(dst.reg(1)));
            if big {
                let (m_lo, m_hi) = self.amode_halves(ctx, mem)?;
                for (d, m) in [(w0, m_hi), (w1, m_lo)] {
                    let t = self.itmp(ctx)?;
                    ctx.emit(Inst::Load { op: LoadOp::LdrX, rd: t, mem: m, trap });
                    let v = self.bswap_reg(ctx, t.to_reg(), 8)?;
                    ctx.emit(Inst::mov64(d, v));
                }
                return Ok(());
            }
            if let Some(pm) = Self::pair_amode(&mem) {
                ctx.emit(Inst::LoadPair { op: PairOp::X, rt: w0, rt2: w1, mem: pm, trap });
            } else {
                let (m_lo, m_hi) = self.amode_halves(ctx, mem)?;
                ctx.emit(Inst::Load { op: LoadOp::LdrX, rd: w0, mem: m_lo, trap });
                ctx.emit(Inst::Load { op: LoadOp::LdrX, rd: w1, mem: m_hi, trap });
            }
            return Ok(());
        }
        if ty.is_float() || (ty.is_vector() && ty.bits() <= 128) {
            let access = ScalarSize::from_bits(ty.bits());
            let mem = self.amode(ctx, arg, offset.0, access)?;
            let d = ctx.output_reg(inst, 0)?;
            if !big || ty.is_vector() {
                ctx.emit(Inst::Load { op: load_op(ty, RegClass::Float), rd: d, mem, trap });
                return Ok(());
            }
            if ty.bits() > 64 {
                return Err(unsupported(format!("big-endian {ty} loads")));
            }
            // Through a general-purpose register.
            let bytes = ty.bytes();
            let t = self.itmp(ctx)?;
            ctx.emit(Inst::Load {
                op: load_op(Type::int(bytes * 8).unwrap_or(types::I64), RegClass::Int),
                rd: t,
                mem,
                trap,
            });
            let v = self.bswap_reg(ctx, t.to_reg(), bytes)?;
            self.gpr_to_float(ctx, v, ty, d)?;
            return Ok(());
        }
        if !is_int(ty) {
            return Err(unsupported_op(op, ty));
        }
        let access = ScalarSize::from_bits(width);
        let mem = self.amode(ctx, arg, offset.0, access)?;
        let d = ctx.output_reg(inst, 0)?;
        let to64 = ty.bits() > 32;
        if big && width > 8 {
            let t = self.itmp(ctx)?;
            ctx.emit(Inst::Load {
                op: load_op(Type::int(width).unwrap_or(types::I64), RegClass::Int),
                rd: t,
                mem,
                trap,
            });
            let v = self.bswap_reg(ctx, t.to_reg(), width / 8)?;
            // rev16/rev of a w register leave the upper bits zero: only a signed load
            // needs extending.
            if signed && width < ty.bits() {
                ctx.emit(extend_inst(d, v, true, width as u8, if to64 { 64 } else { 32 }));
            } else {
                ctx.emit(Inst::mov64(d, v));
            }
            return Ok(());
        }
        let lop = match (width, signed, to64) {
            (8, false, _) => LoadOp::Ldrb,
            (16, false, _) => LoadOp::Ldrh,
            (32, false, _) => LoadOp::LdrW,
            (64, _, _) => LoadOp::LdrX,
            (8, true, false) => LoadOp::LdrsbW,
            (8, true, true) => LoadOp::LdrsbX,
            (16, true, false) => LoadOp::LdrshW,
            (16, true, true) => LoadOp::LdrshX,
            (32, true, _) => LoadOp::Ldrsw,
            _ => return Err(unsupported_op(op, ty)),
        };
        ctx.emit(Inst::Load { op: lop, rd: d, mem, trap });
        Ok(())
    }

    fn lower_store(&self, ctx: Ctx, inst: IrInst, op: Opcode) -> CodegenResult<()> {
        let D::Store { flags, args, offset, .. } = *ctx.data(inst) else { unreachable!() };
        let mf = ctx.f.dfg.mem_flags.get(flags);
        let big = mf.explicit_endianness() == Some(Endianness::Big);
        let trap = mf.trap_code();
        let (val, addr) = (args[0], args[1]);
        let vty = ctx.value_ty(val);
        let width = match op {
            Opcode::Istore8 => 8,
            Opcode::Istore16 => 16,
            Opcode::Istore32 => 32,
            _ => vty.bits(),
        };
        if vty == types::I128 {
            let r = self.regs(ctx, val)?;
            let mem = self.amode(ctx, addr, offset.0, ScalarSize::Size64)?;
            if big {
                let (m_lo, m_hi) = self.amode_halves(ctx, mem)?;
                for (src, m) in [(r.reg(1), m_lo), (r.reg(0), m_hi)] {
                    let v = self.bswap_reg(ctx, src, 8)?;
                    ctx.emit(Inst::Store { op: StoreOp::StrX, rt: v, mem: m, trap });
                }
                return Ok(());
            }
            if let Some(pm) = Self::pair_amode(&mem) {
                ctx.emit(Inst::StorePair { op: PairOp::X, rt: r.reg(0), rt2: r.reg(1), mem: pm, trap });
            } else {
                let (m_lo, m_hi) = self.amode_halves(ctx, mem)?;
                ctx.emit(Inst::Store { op: StoreOp::StrX, rt: r.reg(0), mem: m_lo, trap });
                ctx.emit(Inst::Store { op: StoreOp::StrX, rt: r.reg(1), mem: m_hi, trap });
            }
            return Ok(());
        }
        if vty.is_float() || (vty.is_vector() && vty.bits() <= 128) {
            let access = ScalarSize::from_bits(vty.bits());
            let mem = self.amode(ctx, addr, offset.0, access)?;
            let r = self.reg(ctx, val)?;
            if !big || vty.is_vector() {
                ctx.emit(Inst::Store { op: store_op(vty, RegClass::Float), rt: r, mem, trap });
                return Ok(());
            }
            if vty.bits() > 64 {
                return Err(unsupported(format!("big-endian {vty} stores")));
            }
            let bytes = vty.bytes();
            let t = self.float_to_gpr(ctx, r, vty)?;
            let v = self.bswap_reg(ctx, t, bytes)?;
            let sop = store_op(Type::int(bytes * 8).unwrap_or(types::I64), RegClass::Int);
            ctx.emit(Inst::Store { op: sop, rt: v, mem, trap });
            return Ok(());
        }
        if !is_int(vty) {
            return Err(unsupported_op(op, vty));
        }
        let access = ScalarSize::from_bits(width);
        let mem = self.amode(ctx, addr, offset.0, access)?;
        let sop = store_op(Type::int(width).unwrap_or(types::I64), RegClass::Int);
        let r = if ctx.iconst_bits(val) == Some(0) {
            zero_reg()
        } else {
            let r = self.reg(ctx, val)?;
            if big { self.bswap_reg(ctx, r, width / 8)? } else { r }
        };
        ctx.emit(Inst::Store { op: sop, rt: r, mem, trap });
        Ok(())
    }

    /// Move the bits of an integer register into a float/vector register for type `ty`
    /// (16, 32 or 64 bits).
    pub(crate) fn gpr_to_float(&self, ctx: Ctx, r: Reg, ty: Type, d: Writable<Reg>) -> CodegenResult<()> {
        match ty.bits() {
            64 => ctx.emit(Inst::MovToFpu { size: ScalarSize::Size64, isize: OperandSize::Size64, rd: d, rn: r }),
            32 => ctx.emit(Inst::MovToFpu { size: ScalarSize::Size32, isize: OperandSize::Size32, rd: d, rn: r }),
            16 if self.b.isa.has_fp16 => {
                ctx.emit(Inst::MovToFpu { size: ScalarSize::Size16, isize: OperandSize::Size32, rd: d, rn: r })
            }
            16 => ctx.emit(Inst::VecDup { size: VectorSize::Size16x4, rd: d, rn: r }),
            b => return Err(unsupported(format!("moving {b} bits to a float register"))),
        }
        Ok(())
    }

    /// The bits of a float register of type `ty` (16, 32 or 64 bits) in an integer
    /// register.
    pub(crate) fn float_to_gpr(&self, ctx: Ctx, r: Reg, ty: Type) -> CodegenResult<Reg> {
        let d = self.itmp(ctx)?;
        match ty.bits() {
            64 => ctx.emit(Inst::MovFromFpu { size: ScalarSize::Size64, isize: OperandSize::Size64, rd: d, rn: r }),
            32 => ctx.emit(Inst::MovFromFpu { size: ScalarSize::Size32, isize: OperandSize::Size32, rd: d, rn: r }),
            16 => ctx.emit(Inst::MovFromVec { size: ScalarSize::Size16, rd: d, rn: r, lane: 0 }),
            b => return Err(unsupported(format!("moving {b} bits from a float register"))),
        }
        Ok(d.to_reg())
    }
}

/// The (lo, hi) bounds of a trapping float-to-integer conversion to `n` bits from a float
/// of `src_bits` (32 or 64): the conversion is valid exactly when `lo < x < hi`.
fn cvt_bounds(src_bits: u32, signed: bool, n: u32) -> (f64, f64) {
    let p = if src_bits == 32 { 24 } else { 53 };
    if !signed {
        return (-1.0, 2f64.powi(n as i32));
    }
    let hi = 2f64.powi(n as i32 - 1);
    // -2^(n-1) - 1 when representable; otherwise the next float below -2^(n-1).
    let lo = if n <= p { -hi - 1.0 } else { -(hi + 2f64.powi(n as i32 - p as i32)) };
    (lo, hi)
}

impl A64Lower<'_> {
    // -------------------------------------------------------------------------------------
    // Floating point

    /// A float constant of `size` bits (16, 32, 64) in a new register: `movi` for zero,
    /// `fmov` of an 8-bit immediate, a short integer sequence and `fmov`, or a literal from
    /// the constant pool — whichever is smallest.
    pub(crate) fn float_const(&self, ctx: Ctx, bits: u64, size: u32) -> CodegenResult<Reg> {
        let d = self.vtmp(ctx)?;
        if bits == 0 {
            let imm = AsimdModImm { kind: AsimdImmKind::ByteMask, invert: false, imm8: 0 };
            ctx.emit(Inst::VecMovImm { q: false, rd: d, imm });
            return Ok(d.to_reg());
        }
        let fsize = ScalarSize::from_bits(size);
        if (size != 16 || self.b.isa.has_fp16)
            && let Some(imm) = FpImm8::maybe_from_bits(bits, size)
        {
            ctx.emit(Inst::FpuMoveImm { size: fsize, rd: d, imm });
            return Ok(d.to_reg());
        }
        let isize = if size == 64 { OperandSize::Size64 } else { OperandSize::Size32 };
        let cost = materialize_cost(bits, !isize.is64());
        // Bytes: the integer route (cost + 1 instructions) or a literal load and its data.
        let literal_bytes = 4 + (size as usize / 8).max(4);
        if (cost + 1) * 4 <= literal_bytes && (size != 16 || self.b.isa.has_fp16) {
            let r = self.const_reg(ctx, bits, isize)?;
            let op = if size == 16 { ScalarSize::Size16 } else { fsize };
            ctx.emit(Inst::MovToFpu { size: op, isize, rd: d, rn: r });
            return Ok(d.to_reg());
        }
        // A literal: f16 as the low half of a 4-byte word.
        let (bytes, op): (SmallVec<[u8; 8]>, LoadOp) = match size {
            64 => (SmallVec::from_slice(&bits.to_le_bytes()), LoadOp::LdrD),
            _ => (SmallVec::from_slice(&(bits as u32).to_le_bytes()), LoadOp::LdrS),
        };
        let label = ctx.constant_label(&bytes);
        ctx.emit(Inst::Load { op, rd: d, mem: AMode::Label { label }, trap: None });
        Ok(d.to_reg())
    }

    /// A 16-byte constant in a vector register.
    pub(crate) fn vec_const(&self, ctx: Ctx, bytes: &[u8]) -> CodegenResult<Reg> {
        let d = self.vtmp(ctx)?;
        let lo = u64::from_le_bytes(bytes[0..8].try_into().unwrap_or([0; 8]));
        let hi = u64::from_le_bytes(bytes[8..16].try_into().unwrap_or([0; 8]));
        if lo == hi
            && let Some((imm, _)) = AsimdModImm::maybe_from_u64(lo)
        {
            ctx.emit(Inst::VecMovImm { q: true, rd: d, imm });
            return Ok(d.to_reg());
        }
        if hi == 0
            && let Some((imm, _)) = AsimdModImm::maybe_from_u64(lo)
            && imm.kind != AsimdImmKind::F64
        {
            // The 64-bit form zeroes the upper half.
            ctx.emit(Inst::VecMovImm { q: false, rd: d, imm });
            return Ok(d.to_reg());
        }
        let label = ctx.constant_label(bytes);
        ctx.emit(Inst::Load { op: LoadOp::LdrQ, rd: d, mem: AMode::Label { label }, trap: None });
        Ok(d.to_reg())
    }

    /// The scalar size of arithmetic on `ty` (f16 without `has_fp16` is computed as f32).
    fn arith_size(&self, ty: Type) -> Option<ScalarSize> {
        match ty {
            types::F32 => Some(ScalarSize::Size32),
            types::F64 => Some(ScalarSize::Size64),
            types::F16 if self.b.isa.has_fp16 => Some(ScalarSize::Size16),
            types::F16 => Some(ScalarSize::Size32),
            _ => None,
        }
    }

    /// A single-use `fneg` of this block: its operand.
    fn fneg_operand(&self, ctx: Ctx, v: Value) -> Option<Value> {
        let def = self.fold(ctx, v)?;
        match *ctx.data(def) {
            D::Unary { opcode: Opcode::Fneg, arg } => Some(arg),
            _ => None,
        }
    }

    fn lower_float(&self, ctx: Ctx, inst: IrInst, op: Opcode, ty: Type) -> CodegenResult<()> {
        let args = ctx.inputs(inst);
        let d_out = |ctx: Ctx| ctx.output_reg(inst, 0);
        match op {
            Opcode::Fpromote | Opcode::Fdemote => {
                let src_ty = ctx.value_ty(args[0]);
                let ok = |t: Type| matches!(t, types::F16 | types::F32 | types::F64);
                if !ok(src_ty) || !ok(ty) || src_ty == ty {
                    return Err(unsupported(format!("{op} from {src_ty} to {ty}")));
                }
                let x = self.reg(ctx, args[0])?;
                let d = self.vtmp(ctx)?;
                ctx.emit(Inst::FpuCvt {
                    from: ScalarSize::from_bits(src_ty.bits()),
                    to: ScalarSize::from_bits(ty.bits()),
                    rd: d,
                    rn: x,
                });
                let r = self.canonicalize_nan(ctx, d.to_reg(), ty)?;
                return self.set_result(ctx, inst, 0, r);
            }
            Opcode::Fneg | Opcode::Fabs => {
                let x = self.reg(ctx, args[0])?;
                let d = d_out(ctx)?;
                if ty == types::F128 || (ty == types::F16 && !self.b.isa.has_fp16) {
                    // The sign bit with bitwise operations.
                    let mut m = [0u8; 16];
                    m[ty.bytes() as usize - 1] = 0x80;
                    let mask = self.vec_const(ctx, &m)?;
                    let vop = if op == Opcode::Fneg { VecALUOp::Eor } else { VecALUOp::Bic };
                    ctx.emit(Inst::VecRRR { op: vop, size: VectorSize::Size8x16, rd: d, rn: x, rm: mask });
                    return Ok(());
                }
                let size = self.arith_size(ty).ok_or_else(|| unsupported_op(op, ty))?;
                let fop = if op == Opcode::Fneg { FpuOp1::Neg } else { FpuOp1::Abs };
                ctx.emit(Inst::FpuRR { op: fop, size, rd: d, rn: x });
                return Ok(());
            }
            Opcode::Fcopysign => {
                let x = self.reg(ctx, args[0])?;
                let y = self.reg(ctx, args[1])?;
                let d = d_out(ctx)?;
                if ty == types::F128 {
                    let mut m = [0u8; 16];
                    m[15] = 0x80;
                    let mask = self.vec_const(ctx, &m)?;
                    ctx.emit(Inst::VecRRRMod {
                        op: VecALUModOp::Bsl,
                        size: VectorSize::Size8x16,
                        rd: d,
                        ri: mask,
                        rn: y,
                        rm: x,
                    });
                    return Ok(());
                }
                let vsize = match ty {
                    types::F16 => VectorSize::Size16x4,
                    types::F32 => VectorSize::Size32x2,
                    types::F64 => VectorSize::Size64x2,
                    _ => return Err(unsupported_op(op, ty)),
                };
                let b = ty.bits() as u8;
                let t = self.vtmp(ctx)?;
                ctx.emit(Inst::VecShiftImm { op: VecShiftImmOp::Ushr, size: vsize, rd: t, rn: y, imm: b - 1 });
                ctx.emit(Inst::VecShiftImmMod {
                    op: VecShiftImmModOp::Sli,
                    size: vsize,
                    rd: d,
                    ri: x,
                    rn: t.to_reg(),
                    imm: b - 1,
                });
                return Ok(());
            }
            _ => {}
        }
        let size = self.arith_size(ty).ok_or_else(|| unsupported_op(op, ty))?;
        let via_f32 = ty == types::F16 && !self.b.isa.has_fp16;
        let d = self.vtmp(ctx)?;
        match op {
            Opcode::Fadd | Opcode::Fsub | Opcode::Fmul | Opcode::Fdiv | Opcode::Fmin | Opcode::Fmax => {
                let fop = match op {
                    Opcode::Fadd => FpuOp2::Add,
                    Opcode::Fsub => FpuOp2::Sub,
                    Opcode::Fmul => FpuOp2::Mul,
                    Opcode::Fdiv => FpuOp2::Div,
                    Opcode::Fmin => FpuOp2::Min,
                    _ => FpuOp2::Max,
                };
                let x = self.float_operand(ctx, args[0])?;
                let y = self.float_operand(ctx, args[1])?;
                ctx.emit(Inst::FpuRRR { op: fop, size, rd: d, rn: x, rm: y });
            }
            Opcode::Sqrt | Opcode::Ceil | Opcode::Floor | Opcode::Trunc | Opcode::Nearest => {
                let fop = match op {
                    Opcode::Sqrt => FpuOp1::Sqrt,
                    Opcode::Ceil => FpuOp1::RintP,
                    Opcode::Floor => FpuOp1::RintM,
                    Opcode::Trunc => FpuOp1::RintZ,
                    _ => FpuOp1::RintN,
                };
                let x = self.float_operand(ctx, args[0])?;
                ctx.emit(Inst::FpuRR { op: fop, size, rd: d, rn: x });
            }
            Opcode::Fma => {
                if via_f32 {
                    return Err(unsupported("f16 fma without has_fp16"));
                }
                // fma(±x, y, ±z): fmadd, fmsub (-x), fnmsub (-z), fnmadd (both).
                let (x, nx) = match self.fneg_operand(ctx, args[0]) {
                    Some(a) => (a, true),
                    None => (args[0], false),
                };
                let (z, nz) = match self.fneg_operand(ctx, args[2]) {
                    Some(a) => (a, true),
                    None => (args[2], false),
                };
                let fop = match (nx, nz) {
                    (false, false) => FpuOp3::MAdd,
                    (true, false) => FpuOp3::MSub,
                    (false, true) => FpuOp3::NMSub,
                    (true, true) => FpuOp3::NMAdd,
                };
                let (rn, rm, ra) = (self.reg(ctx, x)?, self.reg(ctx, args[1])?, self.reg(ctx, z)?);
                ctx.emit(Inst::FpuRRRR { op: fop, size, rd: d, rn, rm, ra });
            }
            _ => return Err(unsupported_op(op, ty)),
        }
        let mut r = d.to_reg();
        if via_f32 {
            let h = self.vtmp(ctx)?;
            ctx.emit(Inst::FpuCvt { from: ScalarSize::Size32, to: ScalarSize::Size16, rd: h, rn: r });
            r = h.to_reg();
        }
        let r = self.canonicalize_nan(ctx, r, ty)?;
        self.set_result(ctx, inst, 0, r)
    }

    /// With `enable_nan_canonicalization`, replace a NaN in `r` by the canonical NaN.
    fn canonicalize_nan(&self, ctx: Ctx, r: Reg, ty: Type) -> CodegenResult<Reg> {
        if ctx.flags.enable_nan_canonicalization() == 0 {
            return Ok(r);
        }
        let (bits, cmp_size) = match ty {
            types::F64 => (0x7ff8_0000_0000_0000u64, ScalarSize::Size64),
            types::F32 => (0x7fc0_0000, ScalarSize::Size32),
            types::F16 => (0x7e00, ScalarSize::Size32),
            _ => return Ok(r),
        };
        let canon = self.float_const(ctx, bits, ty.bits())?;
        let x = if ty == types::F16 {
            // Compare as f32 (a NaN stays a NaN).
            let t = self.vtmp(ctx)?;
            ctx.emit(Inst::FpuCvt { from: ScalarSize::Size16, to: ScalarSize::Size32, rd: t, rn: r });
            t.to_reg()
        } else {
            r
        };
        ctx.emit(Inst::FpuCmp { size: cmp_size, rn: x, rm: x });
        let d = self.vtmp(ctx)?;
        let sel = if ty == types::F64 { ScalarSize::Size64 } else { ScalarSize::Size32 };
        ctx.emit(Inst::FpuCSel { size: sel, rd: d, rn: canon, rm: r, cond: Cond::Vs });
        Ok(d.to_reg())
    }

    /// `cmp rn, #value` at `size` (through a register when no immediate form fits).
    pub(crate) fn cmp_const(&self, ctx: Ctx, size: OperandSize, rn: Reg, value: i64) -> CodegenResult<()> {
        let zr = Writable::from_reg(zero_reg());
        let mask = if size.is64() { u64::MAX } else { 0xffff_ffff };
        if let Some(i) = Imm12::maybe_from_u64(value as u64 & mask) {
            ctx.emit(Inst::AluRRImm12 { op: ALUOp::Subs, size, rd: zr, rn, imm12: i });
        } else if let Some(i) = Imm12::maybe_from_u64(value.wrapping_neg() as u64 & mask) {
            ctx.emit(Inst::AluRRImm12 { op: ALUOp::Adds, size, rd: zr, rn, imm12: i });
        } else {
            let c = self.const_reg(ctx, value as u64, size)?;
            ctx.emit(Inst::AluRRR { op: ALUOp::Subs, size, rd: zr, rn, rm: c });
        }
        Ok(())
    }

    fn lower_fcvt_to_int(&self, ctx: Ctx, inst: IrInst, op: Opcode, x: Value, ty: Type) -> CodegenResult<()> {
        let src_ty = ctx.value_ty(x);
        if !matches!(src_ty, types::F16 | types::F32 | types::F64) || !is_int(ty) {
            return Err(unsupported(format!("{op} from {src_ty} to {ty}")));
        }
        let signed = matches!(op, Opcode::FcvtToSint | Opcode::FcvtToSintSat);
        let saturating = matches!(op, Opcode::FcvtToUintSat | Opcode::FcvtToSintSat);
        // f16 converts exactly to f32 first (the range checks need the wider range).
        let (xr, fsize) = if src_ty == types::F16 {
            let r = self.reg(ctx, x)?;
            let t = self.vtmp(ctx)?;
            ctx.emit(Inst::FpuCvt { from: ScalarSize::Size16, to: ScalarSize::Size32, rd: t, rn: r });
            (t.to_reg(), ScalarSize::Size32)
        } else {
            (self.reg(ctx, x)?, ScalarSize::from_bits(src_ty.bits()))
        };
        let n = ty.bits();
        let isize = if n > 32 { OperandSize::Size64 } else { OperandSize::Size32 };
        let cop = if signed { FpuToIntOp::Fcvtzs } else { FpuToIntOp::Fcvtzu };
        if !saturating {
            ctx.emit(Inst::FpuCmp { size: fsize, rn: xr, rm: xr });
            ctx.emit(Inst::TrapIf { kind: CondBrKind::Cond(Cond::Vs), code: TrapCode::BAD_CONVERSION_TO_INTEGER });
            let (lo, hi) = cvt_bounds(fsize.bits(), signed, n);
            let bits_of = |v: f64| if fsize == ScalarSize::Size32 { (v as f32).to_bits() as u64 } else { v.to_bits() };
            let lo_r = self.float_const(ctx, bits_of(lo), fsize.bits())?;
            ctx.emit(Inst::FpuCmp { size: fsize, rn: xr, rm: lo_r });
            ctx.emit(Inst::TrapIf { kind: CondBrKind::Cond(Cond::Ls), code: TrapCode::INTEGER_OVERFLOW });
            let hi_r = self.float_const(ctx, bits_of(hi), fsize.bits())?;
            ctx.emit(Inst::FpuCmp { size: fsize, rn: xr, rm: hi_r });
            ctx.emit(Inst::TrapIf { kind: CondBrKind::Cond(Cond::Ge), code: TrapCode::INTEGER_OVERFLOW });
            let d = ctx.output_reg(inst, 0)?;
            ctx.emit(Inst::FpuToInt { op: cop, size: fsize, isize, rd: d, rn: xr });
            return Ok(());
        }
        if n >= 32 {
            let d = ctx.output_reg(inst, 0)?;
            ctx.emit(Inst::FpuToInt { op: cop, size: fsize, isize, rd: d, rn: xr });
            return Ok(());
        }
        // i8/i16: saturate to 32 bits, then clamp.
        let s32 = OperandSize::Size32;
        let t = self.itmp(ctx)?;
        ctx.emit(Inst::FpuToInt { op: cop, size: fsize, isize: s32, rd: t, rn: xr });
        let d = ctx.output_reg(inst, 0)?;
        if signed {
            let (lo, hi) = (-(1i64 << (n - 1)), (1i64 << (n - 1)) - 1);
            let hi_r = self.const_reg(ctx, hi as u64, s32)?;
            self.cmp_const(ctx, s32, t.to_reg(), hi)?;
            let t1 = self.itmp(ctx)?;
            ctx.emit(Inst::CSel { op: CSelOp::Csel, size: s32, rd: t1, rn: t.to_reg(), rm: hi_r, cond: Cond::Lt });
            let lo_r = self.const_reg(ctx, lo as u64, s32)?;
            self.cmp_const(ctx, s32, t1.to_reg(), lo)?;
            ctx.emit(Inst::CSel { op: CSelOp::Csel, size: s32, rd: d, rn: t1.to_reg(), rm: lo_r, cond: Cond::Gt });
        } else {
            let max = (1i64 << n) - 1;
            let max_r = self.const_reg(ctx, max as u64, s32)?;
            self.cmp_const(ctx, s32, t.to_reg(), max)?;
            ctx.emit(Inst::CSel { op: CSelOp::Csel, size: s32, rd: d, rn: t.to_reg(), rm: max_r, cond: Cond::Lo });
        }
        Ok(())
    }

    fn lower_fcvt_from_int(&self, ctx: Ctx, inst: IrInst, signed: bool, x: Value, ty: Type) -> CodegenResult<()> {
        let src_ty = ctx.value_ty(x);
        let op = if signed { Opcode::FcvtFromSint } else { Opcode::FcvtFromUint };
        if !matches!(ty, types::F16 | types::F32 | types::F64) || !is_int(src_ty) {
            return Err(unsupported(format!("{op} from {src_ty} to {ty}")));
        }
        let r = self.ext_value(ctx, x, signed, false)?;
        let isize = if src_ty.bits() > 32 { OperandSize::Size64 } else { OperandSize::Size32 };
        let cop = if signed { IntToFpuOp::Scvtf } else { IntToFpuOp::Ucvtf };
        let d = ctx.output_reg(inst, 0)?;
        if ty == types::F16 && !self.b.isa.has_fp16 {
            // Through f64: exact for up to 53 bits; beyond, the f16 result is infinite
            // either way.
            let t = self.vtmp(ctx)?;
            ctx.emit(Inst::IntToFpu { op: cop, size: ScalarSize::Size64, isize, rd: t, rn: r });
            ctx.emit(Inst::FpuCvt { from: ScalarSize::Size64, to: ScalarSize::Size16, rd: d, rn: t.to_reg() });
            return Ok(());
        }
        ctx.emit(Inst::IntToFpu { op: cop, size: ScalarSize::from_bits(ty.bits()), isize, rd: d, rn: r });
        Ok(())
    }

    fn lower_bitcast(&self, ctx: Ctx, inst: IrInst, x: Value, ty: Type) -> CodegenResult<()> {
        let src_ty = ctx.value_ty(x);
        if src_ty.bits() != ty.bits() {
            return Err(unsupported(format!("bitcast from {src_ty} to {ty}")));
        }
        let int = |t: Type| t.is_int() && t.is_scalar();
        let r = self.regs(ctx, x)?;
        match (int(src_ty), int(ty)) {
            (a, b) if a == b => {
                if r.len() == 1 {
                    return self.set_result(ctx, inst, 0, r.reg(0));
                }
                let dst = ctx.output_regs(inst, 0)?;
                for i in 0..r.len() {
                    ctx.emit(Inst::mov64(Writable::from_reg(dst.reg(i)), r.reg(i)));
                }
                Ok(())
            }
            (true, false) => {
                let d = ctx.output_reg(inst, 0)?;
                if ty.bits() == 128 {
                    let t = self.vtmp(ctx)?;
                    ctx.emit(Inst::MovToFpu {
                        size: ScalarSize::Size64,
                        isize: OperandSize::Size64,
                        rd: t,
                        rn: r.reg(0),
                    });
                    ctx.emit(Inst::MovToVec { size: ScalarSize::Size64, rd: d, ri: t.to_reg(), rn: r.reg(1), lane: 1 });
                    return Ok(());
                }
                self.gpr_to_float(ctx, r.reg(0), ty, d)
            }
            (false, true) => {
                if ty.bits() == 128 {
                    let dst = ctx.output_regs(inst, 0)?;
                    for i in 0..2 {
                        ctx.emit(Inst::MovFromVec {
                            size: ScalarSize::Size64,
                            rd: Writable::from_reg(dst.reg(i)),
                            rn: r.reg(0),
                            lane: i as u8,
                        });
                    }
                    return Ok(());
                }
                let g = self.float_to_gpr(ctx, r.reg(0), src_ty)?;
                self.set_result(ctx, inst, 0, g)
            }
            _ => unreachable!("covered above"),
        }
    }

    // -------------------------------------------------------------------------------------
    // Atomics

    fn lower_atomic(&self, ctx: Ctx, inst: IrInst, op: Opcode, ty: Type) -> CodegenResult<()> {
        let data = *ctx.data(inst);
        let flags: MemFlags = data.memflags().map(|id| ctx.f.dfg.mem_flags.get(id)).unwrap_or_default();
        if flags.explicit_endianness() == Some(Endianness::Big) {
            return Err(unsupported("big-endian atomics"));
        }
        let trap = flags.trap_code();
        let args = ctx.inputs(inst);
        let vty = if op == Opcode::AtomicStore { ctx.value_ty(args[0]) } else { ty };
        if vty == types::I128 {
            if !matches!(op, Opcode::AtomicCas | Opcode::AtomicLoad) {
                return Err(unsupported(format!("i128 {op} (only atomic_cas and atomic_load)")));
            }
            let addr = self.reg(ctx, args[0])?;
            let load_only = op == Opcode::AtomicLoad;
            let (e, r) = if load_only {
                (ValueRegs::two(addr, addr), ValueRegs::two(addr, addr))
            } else {
                (self.regs(ctx, args[1])?, self.regs(ctx, args[2])?)
            };
            let dst = ctx.output_regs(inst, 0)?;
            let a = Atomic128 {
                addr,
                expected: [e.reg(0), e.reg(1)],
                replacement: [r.reg(0), r.reg(1)],
                old: [Writable::from_reg(dst.reg(0)), Writable::from_reg(dst.reg(1))],
                tmp: [self.itmp(ctx)?, self.itmp(ctx)?],
                status: self.itmp(ctx)?,
                load_only,
                trap,
            };
            ctx.emit(Inst::Atomic128Loop(Box::new(a)));
            return Ok(());
        }
        if !is_int(vty) {
            return Err(unsupported_op(op, vty));
        }
        let size = ScalarSize::from_bits(vty.bits());
        let lse = self.b.isa.has_lse;
        match op {
            Opcode::AtomicLoad => {
                let rn = self.reg(ctx, args[0])?;
                let rt = ctx.output_reg(inst, 0)?;
                ctx.emit(Inst::LoadAcquire { size, rt, rn, trap });
            }
            Opcode::AtomicStore => {
                let rt = self.reg_or_zero(ctx, args[0])?;
                let rn = self.reg(ctx, args[1])?;
                ctx.emit(Inst::StoreRelease { size, rt, rn, trap });
            }
            Opcode::AtomicCas => {
                let rn = self.reg(ctx, args[0])?;
                let expected = self.reg(ctx, args[1])?;
                let replacement = self.reg(ctx, args[2])?;
                let old = ctx.output_reg(inst, 0)?;
                if lse {
                    ctx.emit(Inst::Cas {
                        order: Ordering::ACQ_REL,
                        size,
                        rd: old,
                        ri: expected,
                        rt: replacement,
                        rn,
                        trap,
                    });
                } else {
                    let status = self.itmp(ctx)?;
                    ctx.emit(Inst::AtomicCasLoop { size, addr: rn, expected, replacement, old, status, trap });
                }
            }
            _ => {
                let D::AtomicRmw { op: rmw, .. } = data else { unreachable!() };
                let addr = self.reg(ctx, args[0])?;
                let operand = self.reg(ctx, args[1])?;
                let old = ctx.output_reg(inst, 0)?;
                if lse && rmw != IrRmw::Nand {
                    let s32 = if size == ScalarSize::Size64 { OperandSize::Size64 } else { OperandSize::Size32 };
                    let (aop, rs) = match rmw {
                        IrRmw::Add => (AtomicRmwOp::Add, operand),
                        IrRmw::Sub => (AtomicRmwOp::Add, self.alu(ctx, ALUOp::Sub, s32, zero_reg(), operand)?),
                        IrRmw::And => (AtomicRmwOp::Clr, self.alu(ctx, ALUOp::Orn, s32, zero_reg(), operand)?),
                        IrRmw::Or => (AtomicRmwOp::Set, operand),
                        IrRmw::Xor => (AtomicRmwOp::Eor, operand),
                        IrRmw::Xchg => (AtomicRmwOp::Swp, operand),
                        IrRmw::Umin => (AtomicRmwOp::UMin, operand),
                        IrRmw::Umax => (AtomicRmwOp::UMax, operand),
                        IrRmw::Smin => (AtomicRmwOp::SMin, operand),
                        _ => (AtomicRmwOp::SMax, operand),
                    };
                    ctx.emit(Inst::AtomicRmw { op: aop, order: Ordering::ACQ_REL, size, rs, rt: old, rn: addr, trap });
                } else {
                    let lop = match rmw {
                        IrRmw::Add => AtomicLoopOp::Add,
                        IrRmw::Sub => AtomicLoopOp::Sub,
                        IrRmw::And => AtomicLoopOp::And,
                        IrRmw::Nand => AtomicLoopOp::Nand,
                        IrRmw::Or => AtomicLoopOp::Orr,
                        IrRmw::Xor => AtomicLoopOp::Eor,
                        IrRmw::Xchg => AtomicLoopOp::Xchg,
                        IrRmw::Umin => AtomicLoopOp::Umin,
                        IrRmw::Umax => AtomicLoopOp::Umax,
                        IrRmw::Smin => AtomicLoopOp::Smin,
                        _ => AtomicLoopOp::Smax,
                    };
                    let new = self.itmp(ctx)?;
                    let status = self.itmp(ctx)?;
                    ctx.emit(Inst::AtomicRmwLoop { op: lop, size, addr, operand, old, new, status, trap });
                }
            }
        }
        Ok(())
    }

    // -------------------------------------------------------------------------------------
    // Terminators

    fn lower_branch(&self, ctx: Ctx, inst: IrInst, targets: &[MachLabel]) -> CodegenResult<()> {
        let data = *ctx.data(inst);
        let args = ctx.inputs(inst);
        match data.opcode() {
            Opcode::Jump => {
                ctx.emit(Inst::Jump { dest: targets[0] });
                Ok(())
            }
            Opcode::Brif => {
                let (t, e) = (targets[0], targets[1]);
                if t == e {
                    ctx.emit(Inst::Jump { dest: t });
                    return Ok(());
                }
                match self.test(ctx, args[0], false, true)? {
                    Test::Kind(kind) => ctx.emit(Inst::CondBr { kind, taken: t, not_taken: e }),
                    Test::Flags(FCond::One(c)) => {
                        ctx.emit(Inst::CondBr { kind: CondBrKind::Cond(c), taken: t, not_taken: e })
                    }
                    Test::Flags(FCond::Or(a, b)) => ctx.emit(Inst::CondBr2 { c1: a, c2: b, taken: t, not_taken: e }),
                }
                Ok(())
            }
            Opcode::BrTable => {
                // Every destination the same edge: a plain jump (a use of the index after
                // the edge moves would be rejected by the allocator).
                if targets.iter().all(|&t| t == targets[0]) {
                    ctx.emit(Inst::Jump { dest: targets[0] });
                    return Ok(());
                }
                let idx = self.reg(ctx, args[0])?;
                let tmp1 = self.itmp(ctx)?;
                let tmp2 = self.itmp(ctx)?;
                ctx.emit(Inst::JumpTable {
                    idx,
                    tmp1,
                    tmp2,
                    default: targets[0],
                    targets: targets[1..].to_vec().into_boxed_slice(),
                });
                Ok(())
            }
            Opcode::Trap => {
                let D::Trap { code, .. } = data else { unreachable!() };
                ctx.emit(Inst::Udf { code });
                Ok(())
            }
            op => Err(CodegenError::Other(format!("{op} is not a terminator"))),
        }
    }
}

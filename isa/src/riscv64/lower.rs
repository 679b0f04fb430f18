//! Lowering of IR to riscv64 instructions: one `match` on the opcode, with small matchers
//! for 12-bit immediates, addresses (`base + offset` folded into loads and stores), Zba
//! shifted adds, compare-and-branch fusion and constants (the shortest sequence of
//! `materialize.rs`). Vector types go to `lower_vector.rs`.
//!
//! Conventions: a narrow integer (i8, i16, i32) lives in the low bits of a register and its
//! upper bits are unspecified, so an operation whose result depends on them (right shifts,
//! division, comparisons, conversions) extends first; `*w` instructions are used for i32
//! where they ignore the upper bits. `i128` lives in two registers, low half first. Every
//! ISA extension changes the code only when its flag is set: Zba (`shNadd`, `add.uw`), Zbb
//! (`andn`/`orn`/`xnor`, `min`/`max`, `clz`/`ctz`/`cpop`, `rev8`, `rol`/`ror`, `sext.*`),
//! Zbs (`bseti`/`bclri`/`binvi`/`bexti`), Zbkb (`brev8`, `pack`), Zicond (`czero.*` for
//! `select`), Zfa (`fminm`/`fmaxm`, `fround`, `fli`), Zfh (f16 arithmetic), A (AMOs and
//! LR/SC loops; required for atomics). Division checks for a zero divisor (and signed
//! overflow) explicitly: RISC-V division never traps. Trapping float-to-int conversions
//! check for NaN and range explicitly: RISC-V conversions saturate.

use crate::riscv64::abi::Rv64Abi;
use crate::riscv64::inst::*;
use crate::riscv64::materialize::{MatExts, single_step};
use crate::riscv64::regs::{fp_reg, stack_reg, x_preg, xreg, zero_reg};
use crate::riscv64::settings::Riscv64Settings;
use kiln_codegen::machinst::abi::StackAMode;
use kiln_codegen::machinst::call::reloc_target;
use kiln_codegen::machinst::lower::{Lower, LowerBackend};
use kiln_codegen::machinst::{MachLabel, Reg, ValueRegs, Writable};
use kiln_codegen::{CodegenError, CodegenResult};
use kiln_ir::condcodes::{FloatCC, IntCC};
use kiln_ir::function::GlobalValueData;
use kiln_ir::instructions::AtomicRmwOp;
use kiln_ir::memflags::{Endianness, MemFlags};
use kiln_ir::settings::{Flags, IsaFlags};
use kiln_ir::trapcode::TrapCode;
use kiln_ir::types::{self, Type};
use kiln_ir::{Inst as IrInst, InstructionData as D, Opcode, Value};
use regalloc2::RegClass;
use target_lexicon::Triple;

/// The riscv64 lowering backend.
pub struct Rv64Backend {
    /// Shared flags.
    pub flags: Flags,
    /// ISA extensions.
    pub isa: Riscv64Settings,
    /// The ABI object.
    pub abi: Rv64Abi,
    mat: MatExts,
}

impl Rv64Backend {
    /// A backend for these flags and triple.
    pub fn new(flags: Flags, isa_flags: &IsaFlags, triple: Triple) -> Self {
        let isa = Riscv64Settings::new(isa_flags);
        let mat = MatExts { zba: isa.has_zba, zbb: isa.has_zbb, zbs: isa.has_zbs, compress: isa.compress_exts() };
        Rv64Backend { abi: Rv64Abi::new(flags.clone(), isa_flags, triple), isa, flags, mat }
    }
}

pub(crate) type Ctx<'a, 'f> = &'a mut Lower<'f, Inst>;

pub(crate) fn unsupported(what: impl Into<String>) -> CodegenError {
    CodegenError::Unsupported(format!("{} on riscv64", what.into()))
}

pub(crate) fn unsupported_op(op: Opcode, ty: Type) -> CodegenError {
    unsupported(format!("{ty} {op}"))
}

impl LowerBackend for Rv64Backend {
    type MInst = Inst;
    type Abi = Rv64Abi;

    fn abi(&self) -> &Rv64Abi {
        &self.abi
    }

    fn lower(&self, ctx: &mut Lower<'_, Inst>, inst: IrInst) -> CodegenResult<()> {
        RvLower { b: self }.lower_inst(ctx, inst)
    }

    fn lower_branch(&self, ctx: &mut Lower<'_, Inst>, inst: IrInst, targets: &[MachLabel]) -> CodegenResult<()> {
        RvLower { b: self }.lower_branch(ctx, inst, targets)
    }
}

/// A comparison usable by a branch: `b<cond> rs1, rs2`.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Cmp {
    pub cond: BranchCond,
    pub rs1: Reg,
    pub rs2: Reg,
}

impl Cmp {
    fn invert(self) -> Cmp {
        Cmp { cond: self.cond.invert(), ..self }
    }
    fn nonzero(r: Reg) -> Cmp {
        Cmp { cond: BranchCond::Ne, rs1: r, rs2: zero_reg() }
    }
}

pub(crate) struct RvLower<'b> {
    pub b: &'b Rv64Backend,
}

fn is_int(ty: Type) -> bool {
    ty.is_int() && ty.is_scalar() && ty.bits() <= 64
}

fn mem_flags(ctx: &Lower<'_, Inst>, inst: IrInst) -> MemFlags {
    ctx.data(inst).memflags().map(|id| ctx.f.dfg.mem_flags.get(id)).unwrap_or_default()
}

impl RvLower<'_> {
    // -------------------------------------------------------------------------------------
    // Small helpers

    pub(crate) fn reg(&self, ctx: Ctx, v: Value) -> CodegenResult<Reg> {
        ctx.put_value_in_reg(v)
    }

    pub(crate) fn tmp(&self, ctx: Ctx) -> CodegenResult<Writable<Reg>> {
        ctx.alloc_tmp(types::I64)
    }

    fn ftmp(&self, ctx: Ctx) -> CodegenResult<Writable<Reg>> {
        ctx.alloc_tmp(types::F64)
    }

    pub(crate) fn out(&self, ctx: Ctx, inst: IrInst) -> CodegenResult<Writable<Reg>> {
        ctx.output_reg(inst, 0)
    }

    pub(crate) fn rrr(&self, ctx: Ctx, op: AluOpRRR, rs1: Reg, rs2: Reg) -> CodegenResult<Reg> {
        let rd = self.tmp(ctx)?;
        ctx.emit(Inst::AluRRR { op, rd, rs1, rs2 });
        Ok(rd.to_reg())
    }

    pub(crate) fn rri(&self, ctx: Ctx, op: AluOpRRI, rs: Reg, imm: i32) -> CodegenResult<Reg> {
        let rd = self.tmp(ctx)?;
        ctx.emit(Inst::AluRRImm { op, rd, rs, imm });
        Ok(rd.to_reg())
    }

    fn rr(&self, ctx: Ctx, op: AluOpRR, rs: Reg) -> CodegenResult<Reg> {
        let rd = self.tmp(ctx)?;
        ctx.emit(Inst::AluRR { op, rd, rs });
        Ok(rd.to_reg())
    }

    fn mov(&self, ctx: Ctx, rd: Writable<Reg>, rs: Reg) {
        ctx.emit(<Inst as kiln_codegen::machinst::MachInst>::gen_move(rd, rs, types::I64));
    }

    /// The (single-register) result of `inst` is `r`: an alias when `r` is virtual (no
    /// copy for the allocator to place), a move from a physical register (`zero`).
    fn result_is(&self, ctx: Ctx, inst: IrInst, r: Reg) -> CodegenResult<()> {
        let res = ctx.f.dfg.first_result(inst).expect("result");
        if r.to_real().is_none() {
            return ctx.alias_value(res, r);
        }
        let rd = ctx.output_reg(inst, 0)?;
        self.mov(ctx, rd, r);
        Ok(())
    }

    /// A register holding the 64-bit constant `val` (`zero` for 0).
    pub(crate) fn iconst(&self, ctx: Ctx, val: u64) -> CodegenResult<Reg> {
        if val == 0 {
            return Ok(zero_reg());
        }
        let rd = self.tmp(ctx)?;
        self.iconst_into(ctx, rd, val);
        Ok(rd.to_reg())
    }

    fn iconst_into(&self, ctx: Ctx, rd: Writable<Reg>, val: u64) {
        // One instruction (one definition of `rd`); emission searches for the sequence
        // once the register, and so the compressed forms, are known.
        match single_step(val, self.b.mat) {
            Some(step) => ctx.emit(step.inst(rd, zero_reg())),
            None => ctx.emit(Inst::LoadConst { rd, imm: val }),
        }
    }

    /// The constant `v` holds, sign-extended from its type.
    fn cst(&self, ctx: Ctx, v: Value) -> Option<i64> {
        ctx.iconst_signed(v)
    }

    /// `v` as a 12-bit immediate.
    fn imm12(&self, ctx: Ctx, v: Value) -> Option<i32> {
        self.cst(ctx, v).filter(|&c| (-2048..=2047).contains(&c)).map(|c| c as i32)
    }

    /// `r` (a `ty` value) extended to 64 bits.
    pub(crate) fn ext(&self, ctx: Ctx, r: Reg, ty: Type, signed: bool) -> CodegenResult<Reg> {
        let bits = ty.bits();
        if bits >= 64 || r == zero_reg() {
            return Ok(r);
        }
        let rd = self.tmp(ctx)?;
        ctx.emit(Inst::Extend { rd, rs: r, signed, from_bits: bits as u8 });
        Ok(rd.to_reg())
    }

    /// Value `v` extended to 64 bits (constants directly as extended constants).
    pub(crate) fn ext_value(&self, ctx: Ctx, v: Value, signed: bool) -> CodegenResult<Reg> {
        let ty = ctx.value_ty(v);
        if let Some(bits) = ctx.iconst_bits(v) {
            let val = if signed { self.cst(ctx, v).unwrap_or(0) as u64 } else { bits };
            return self.iconst(ctx, val);
        }
        let r = self.reg(ctx, v)?;
        if self.known_extended(ctx, v, signed) {
            return Ok(r);
        }
        self.ext(ctx, r, ty, signed)
    }

    /// Does the lowering of `v`'s definition leave it extended to 64 bits (sign-extended if
    /// `signed`, else zero-extended)? Compares give 0 or 1; `lw`, the `*w` forms of
    /// `iadd`/`isub`/`imul` sign-extend from 32 bits; `lbu`/`lhu` and the sub-word
    /// extending loads leave what their names say.
    fn known_extended(&self, ctx: Ctx, v: Value, signed: bool) -> bool {
        let Some(def) = ctx.def_inst(v) else { return false };
        let ty = ctx.value_ty(v);
        if !is_int(ty) {
            return false;
        }
        match *ctx.data(def) {
            D::IntCompare { .. } | D::FloatCompare { .. } => true,
            D::Load { opcode, .. } => match (opcode, ty) {
                (Opcode::Load, types::I8 | types::I16) => !signed,
                (Opcode::Load, types::I32) => signed,
                // Zero-extended from 8/16 bits: the top bit of an i32 is clear as well.
                (Opcode::Uload8 | Opcode::Uload16, types::I32) => true,
                (Opcode::Uload8, types::I16) => true,
                (Opcode::Sload8 | Opcode::Sload16, types::I32) | (Opcode::Sload8, types::I16) => signed,
                _ => false,
            },
            D::Binary { opcode: Opcode::Iadd | Opcode::Isub | Opcode::Imul, .. } => signed && ty == types::I32,
            _ => false,
        }
    }

    /// A register holding `v` (constants materialized sign-extended; `zero` for 0).
    pub(crate) fn reg_or_zero(&self, ctx: Ctx, v: Value) -> CodegenResult<Reg> {
        if self.cst(ctx, v) == Some(0) {
            return Ok(zero_reg());
        }
        self.reg(ctx, v)
    }

    /// `rd = cmp ? 1 : 0`.
    fn set_cmp(&self, ctx: Ctx, rd: Writable<Reg>, c: Cmp) -> CodegenResult<()> {
        let Cmp { cond, rs1, rs2 } = c;
        match cond {
            BranchCond::Eq | BranchCond::Ne => {
                let d = if rs2 == zero_reg() {
                    rs1
                } else if rs1 == zero_reg() {
                    rs2
                } else {
                    self.rrr(ctx, AluOpRRR::Xor, rs1, rs2)?
                };
                if cond == BranchCond::Eq {
                    ctx.emit(Inst::AluRRImm { op: AluOpRRI::Sltiu, rd, rs: d, imm: 1 });
                } else {
                    ctx.emit(Inst::AluRRR { op: AluOpRRR::Sltu, rd, rs1: zero_reg(), rs2: d });
                }
            }
            BranchCond::Lt => ctx.emit(Inst::AluRRR { op: AluOpRRR::Slt, rd, rs1, rs2 }),
            BranchCond::Ltu => ctx.emit(Inst::AluRRR { op: AluOpRRR::Sltu, rd, rs1, rs2 }),
            BranchCond::Ge | BranchCond::Geu => {
                let op = if cond == BranchCond::Ge { AluOpRRR::Slt } else { AluOpRRR::Sltu };
                let t = self.rrr(ctx, op, rs1, rs2)?;
                ctx.emit(Inst::AluRRImm { op: AluOpRRI::Xori, rd, rs: t, imm: 1 });
            }
        }
        Ok(())
    }

    fn cmp_reg(&self, ctx: Ctx, c: Cmp) -> CodegenResult<Reg> {
        let rd = self.tmp(ctx)?;
        self.set_cmp(ctx, rd, c)?;
        Ok(rd.to_reg())
    }

    /// `icmp cc x, y` of integers up to 64 bits as a branch comparison (operands extended
    /// as the condition needs).
    fn icmp_cmp(&self, ctx: Ctx, cc: IntCC, x: Value, y: Value) -> CodegenResult<Cmp> {
        let signed = matches!(
            cc,
            IntCC::SignedLessThan
                | IntCC::SignedGreaterThanOrEqual
                | IntCC::SignedGreaterThan
                | IntCC::SignedLessThanOrEqual
        );
        // Equality: either extension works; sign extension is free for i32 constants.
        let sx = signed || matches!(cc, IntCC::Equal | IntCC::NotEqual) && ctx.value_ty(x).bits() == 32;
        let a = self.ext_value(ctx, x, sx)?;
        let b = self.ext_value(ctx, y, sx)?;
        Ok(int_cmp(cc, a, b))
    }

    /// `icmp cc x, y` of i128 values into a 0/1 register.
    fn icmp128(&self, ctx: Ctx, cc: IntCC, x: Value, y: Value) -> CodegenResult<Reg> {
        let a = ctx.put_value_in_regs(x)?;
        let b = ctx.put_value_in_regs(y)?;
        let (alo, ahi, blo, bhi) = (a.reg(0), a.reg(1), b.reg(0), b.reg(1));
        match cc {
            IntCC::Equal | IntCC::NotEqual => {
                let lo = self.rrr(ctx, AluOpRRR::Xor, alo, blo)?;
                let hi = self.rrr(ctx, AluOpRRR::Xor, ahi, bhi)?;
                let o = self.rrr(ctx, AluOpRRR::Or, lo, hi)?;
                let c = if cc == IntCC::Equal { BranchCond::Eq } else { BranchCond::Ne };
                self.cmp_reg(ctx, Cmp { cond: c, rs1: o, rs2: zero_reg() })
            }
            _ => {
                // (hi differs) ? hi compare : lo compare (unsigned)
                let hc = int_cmp(cc, ahi, bhi);
                let lc = int_cmp(unsigned_cc(cc), alo, blo);
                let h = self.cmp_reg(ctx, hc)?;
                let l = self.cmp_reg(ctx, lc)?;
                let rd = self.tmp(ctx)?;
                ctx.emit(Inst::Select { rd, cond: BranchCond::Eq, rs1: ahi, rs2: bhi, a: l, b: h });
                Ok(rd.to_reg())
            }
        }
    }

    /// The condition "`v` is nonzero" as a branch comparison, fusing an `icmp` (or
    /// `fcmp`) that only this instruction uses, also through single-use extensions (which
    /// keep a 0/1 value's non-zero-ness). The compare and extensions are pure: once this
    /// instruction reads the compare's operands instead, nothing asks for their results
    /// and the driver skips them as dead.
    fn cond(&self, ctx: Ctx, v: Value) -> CodegenResult<Cmp> {
        let mut w = v;
        for _ in 0..4 {
            let Some(def) = ctx.sinkable_inst(w) else { break };
            match *ctx.data(def) {
                D::IntCompare { cond, args, .. } if is_int(ctx.value_ty(args[0])) => {
                    return self.icmp_cmp(ctx, cond, args[0], args[1]);
                }
                D::FloatCompare { cond, args, .. } if ctx.value_ty(args[0]).is_float() => {
                    let (r, inverted) = self.fcmp(ctx, cond, args[0], args[1])?;
                    let c = Cmp::nonzero(r);
                    return Ok(if inverted { c.invert() } else { c });
                }
                D::Unary { opcode: Opcode::Uextend | Opcode::Sextend, arg } if is_int(ctx.value_ty(arg)) => w = arg,
                _ => break,
            }
        }
        let ty = ctx.value_ty(v);
        if ty == types::I128 {
            let r = ctx.put_value_in_regs(v)?;
            let o = self.rrr(ctx, AluOpRRR::Or, r.reg(0), r.reg(1))?;
            return Ok(Cmp::nonzero(o));
        }
        // Either extension keeps non-zero-ness: sign extension is the cheaper one for i32.
        let r = self.ext_value(ctx, v, ty == types::I32)?;
        Ok(Cmp::nonzero(r))
    }

    /// `fcmp cc x, y`: a register with the result, or with its negation (`true`).
    fn fcmp(&self, ctx: Ctx, cc: FloatCC, x: Value, y: Value) -> CodegenResult<(Reg, bool)> {
        let ty = ctx.value_ty(x);
        let w = self.fwidth(ty)?;
        let a = self.reg(ctx, x)?;
        let b = self.reg(ctx, y)?;
        let f = |s: &Self, ctx: Ctx, op: FpuOpRRR, p: Reg, q: Reg| -> CodegenResult<Reg> {
            let rd = s.tmp(ctx)?;
            ctx.emit(Inst::FpuRRR { op, width: w, frm: Frm::Dyn, rd, rs1: p, rs2: q });
            Ok(rd.to_reg())
        };
        use FloatCC::*;
        Ok(match cc {
            Equal => (f(self, ctx, FpuOpRRR::Feq, a, b)?, false),
            NotEqual => (f(self, ctx, FpuOpRRR::Feq, a, b)?, true),
            LessThan => (f(self, ctx, FpuOpRRR::Flt, a, b)?, false),
            LessThanOrEqual => (f(self, ctx, FpuOpRRR::Fle, a, b)?, false),
            GreaterThan => (f(self, ctx, FpuOpRRR::Flt, b, a)?, false),
            GreaterThanOrEqual => (f(self, ctx, FpuOpRRR::Fle, b, a)?, false),
            UnorderedOrGreaterThanOrEqual => (f(self, ctx, FpuOpRRR::Flt, a, b)?, true),
            UnorderedOrGreaterThan => (f(self, ctx, FpuOpRRR::Fle, a, b)?, true),
            UnorderedOrLessThanOrEqual => (f(self, ctx, FpuOpRRR::Flt, b, a)?, true),
            UnorderedOrLessThan => (f(self, ctx, FpuOpRRR::Fle, b, a)?, true),
            Ordered | Unordered => {
                let p = f(self, ctx, FpuOpRRR::Feq, a, a)?;
                let q = f(self, ctx, FpuOpRRR::Feq, b, b)?;
                (self.rrr(ctx, AluOpRRR::And, p, q)?, cc == Unordered)
            }
            OrderedNotEqual | UnorderedOrEqual => {
                let p = f(self, ctx, FpuOpRRR::Flt, a, b)?;
                let q = f(self, ctx, FpuOpRRR::Flt, b, a)?;
                (self.rrr(ctx, AluOpRRR::Or, p, q)?, cc == UnorderedOrEqual)
            }
        })
    }

    pub(crate) fn fwidth(&self, ty: Type) -> CodegenResult<FpWidth> {
        match ty {
            types::F32 => Ok(FpWidth::S),
            types::F64 => Ok(FpWidth::D),
            types::F16 if self.b.isa.has_zfh => Ok(FpWidth::H),
            types::F16 => Err(unsupported("f16 arithmetic without has_zfh")),
            _ => Err(unsupported(format!("{ty} as a float"))),
        }
    }

    /// `rd = c ? a : b` in any register class.
    fn select_into(&self, ctx: Ctx, rd: Writable<Reg>, c: Cmp, a: Reg, b: Reg) -> CodegenResult<()> {
        if self.b.isa.has_zicond && rd.to_reg().class() == RegClass::Int {
            // czero.nez/eqz need a register that is nonzero exactly when the condition holds.
            let flag = if c.cond == BranchCond::Ne && c.rs2 == zero_reg() {
                c.rs1
            } else if c.cond == BranchCond::Eq && c.rs2 == zero_reg() {
                // c holds when rs1 == 0: swap the values.
                return self.select_zicond(ctx, rd, c.rs1, b, a);
            } else {
                self.cmp_reg(ctx, c)?
            };
            return self.select_zicond(ctx, rd, flag, a, b);
        }
        ctx.emit(Inst::Select { rd, cond: c.cond, rs1: c.rs1, rs2: c.rs2, a, b });
        Ok(())
    }

    /// `rd = flag != 0 ? a : b` with Zicond.
    fn select_zicond(&self, ctx: Ctx, rd: Writable<Reg>, flag: Reg, a: Reg, b: Reg) -> CodegenResult<()> {
        if b == zero_reg() {
            ctx.emit(Inst::AluRRR { op: AluOpRRR::CzeroEqz, rd, rs1: a, rs2: flag });
            return Ok(());
        }
        if a == zero_reg() {
            ctx.emit(Inst::AluRRR { op: AluOpRRR::CzeroNez, rd, rs1: b, rs2: flag });
            return Ok(());
        }
        let x = self.rrr(ctx, AluOpRRR::CzeroEqz, a, flag)?;
        let y = self.rrr(ctx, AluOpRRR::CzeroNez, b, flag)?;
        ctx.emit(Inst::AluRRR { op: AluOpRRR::Or, rd, rs1: x, rs2: y });
        Ok(())
    }

    fn select_reg(&self, ctx: Ctx, c: Cmp, a: Reg, b: Reg) -> CodegenResult<Reg> {
        let rd = if a.class() == RegClass::Int {
            self.tmp(ctx)?
        } else {
            ctx.alloc_vreg(a.class(), types::F64).map(Writable::from_reg)?
        };
        self.select_into(ctx, rd, c, a, b)?;
        Ok(rd.to_reg())
    }

    // -------------------------------------------------------------------------------------
    // Addresses

    /// `addr + offset` as a base register and offset (constant additions folded).
    pub(crate) fn amode(&self, ctx: Ctx, addr: Value, offset: i32) -> CodegenResult<AMode> {
        let mut off = offset as i64;
        let mut base = addr;
        for _ in 0..4 {
            let Some(def) = ctx.def_inst(base) else { break };
            let D::Binary { opcode: Opcode::Iadd, args } = *ctx.data(def) else { break };
            if ctx.value_ty(base) != types::I64 {
                break;
            }
            if let Some(c) = self.cst(ctx, args[1]) {
                off += c;
                base = args[0];
            } else if let Some(c) = self.cst(ctx, args[0]) {
                off += c;
                base = args[1];
            } else {
                break;
            }
            if !(-(1i64 << 31)..(1i64 << 31)).contains(&off) {
                return Ok(AMode::RegOffset(self.reg(ctx, addr)?, offset as i64));
            }
        }
        if let Some(c) = self.cst(ctx, base) {
            // A constant address: materialize it, keep the offset.
            let r = self.iconst(ctx, c as u64)?;
            return Ok(AMode::RegOffset(r, off));
        }
        Ok(AMode::RegOffset(self.reg(ctx, base)?, off))
    }

    // -------------------------------------------------------------------------------------
    // Instructions

    fn lower_inst(&self, ctx: Ctx, inst: IrInst) -> CodegenResult<()> {
        let data = *ctx.data(inst);
        let op = data.opcode();
        let args = ctx.inputs(inst);
        let ty = ctx.f.dfg.first_result(inst).map(|r| ctx.value_ty(r)).unwrap_or(types::INVALID);
        let arg_vector = args.first().is_some_and(|&a| ctx.value_ty(a).is_vector());
        if (ty.is_vector() || arg_vector) && !matches!(op, Opcode::Load | Opcode::Store | Opcode::Bitcast) {
            return self.lower_vector(ctx, inst, op, ty);
        }
        match op {
            Opcode::Nop | Opcode::SequencePoint => Ok(()),
            Opcode::Iconst => {
                let D::UnaryImm { imm, .. } = data else { unreachable!() };
                let rd = ctx.output_regs(inst, 0)?;
                let v = imm.sign_extend_from(ty.bits().min(64)).0 as u64;
                if ty == types::I128 {
                    self.iconst_into(ctx, Writable::from_reg(rd.reg(0)), v);
                    let hi = if (v as i64) < 0 { u64::MAX } else { 0 };
                    self.iconst_into(ctx, Writable::from_reg(rd.reg(1)), hi);
                } else {
                    self.iconst_into(ctx, Writable::from_reg(rd.reg(0)), v);
                }
                Ok(())
            }
            Opcode::F16const | Opcode::F32const | Opcode::F64const => {
                let (bits, w) = match data {
                    D::UnaryIeee16 { imm, .. } => (imm.0 as u64 | 0xffff_ffff_ffff_0000, FpWidth::H),
                    D::UnaryIeee32 { imm, .. } => (imm.0 as u64, FpWidth::S),
                    D::UnaryIeee64 { imm, .. } => (imm.0, FpWidth::D),
                    _ => unreachable!(),
                };
                let rd = self.out(ctx, inst)?;
                self.fconst_into(ctx, rd, bits, w)
            }
            Opcode::F128const => {
                let D::UnaryConst { constant, .. } = data else { unreachable!() };
                let c = ctx.f.dfg.constants.get(constant).ok_or_else(|| CodegenError::Other("bad constant".into()))?;
                let b = c.as_slice();
                let mut lo = [0u8; 8];
                let mut hi = [0u8; 8];
                lo.copy_from_slice(&b[..8]);
                hi.copy_from_slice(&b[8..16]);
                let rd = ctx.output_regs(inst, 0)?;
                self.iconst_into(ctx, Writable::from_reg(rd.reg(0)), u64::from_le_bytes(lo));
                self.iconst_into(ctx, Writable::from_reg(rd.reg(1)), u64::from_le_bytes(hi));
                Ok(())
            }

            Opcode::Iadd | Opcode::Isub | Opcode::Band | Opcode::Bor | Opcode::Bxor => {
                // f128 lives in two integer registers: its bitwise operations are i128's.
                if ty == types::I128 || (ty == types::F128 && !matches!(op, Opcode::Iadd | Opcode::Isub)) {
                    return self.lower_alu128(ctx, inst, op, args[0], args[1]);
                }
                if !is_int(ty) {
                    if ty.is_float() && matches!(op, Opcode::Band | Opcode::Bor | Opcode::Bxor) {
                        return self.lower_float_bitop(ctx, inst, op, args[0], args[1], ty);
                    }
                    return Err(unsupported_op(op, ty));
                }
                let rd = self.out(ctx, inst)?;
                self.lower_alu(ctx, rd, op, args[0], args[1], ty)
            }
            Opcode::Ineg | Opcode::Bnot => {
                if ty == types::I128 || (ty == types::F128 && op == Opcode::Bnot) {
                    let a = ctx.put_value_in_regs(args[0])?;
                    let rd = ctx.output_regs(inst, 0)?;
                    let (d0, d1) = (Writable::from_reg(rd.reg(0)), Writable::from_reg(rd.reg(1)));
                    if op == Opcode::Bnot {
                        ctx.emit(Inst::AluRRImm { op: AluOpRRI::Xori, rd: d0, rs: a.reg(0), imm: -1 });
                        ctx.emit(Inst::AluRRImm { op: AluOpRRI::Xori, rd: d1, rs: a.reg(1), imm: -1 });
                    } else {
                        // 0 - a
                        let z = ValueRegs::two(zero_reg(), zero_reg());
                        self.sub128(ctx, rd, z, a)?;
                    }
                    return Ok(());
                }
                if ty.is_float() && op == Opcode::Bnot {
                    let w = self.fwidth_any(ty);
                    let x = self.to_int_bits(ctx, args[0], w)?;
                    let n = self.rri(ctx, AluOpRRI::Xori, x, -1)?;
                    let rd = self.out(ctx, inst)?;
                    return self.from_int_bits(ctx, rd, n, w);
                }
                if !is_int(ty) {
                    return Err(unsupported_op(op, ty));
                }
                let a = self.reg(ctx, args[0])?;
                let rd = self.out(ctx, inst)?;
                if op == Opcode::Bnot {
                    ctx.emit(Inst::AluRRImm { op: AluOpRRI::Xori, rd, rs: a, imm: -1 });
                } else {
                    let o = if ty == types::I32 { AluOpRRR::Subw } else { AluOpRRR::Sub };
                    ctx.emit(Inst::AluRRR { op: o, rd, rs1: zero_reg(), rs2: a });
                }
                Ok(())
            }
            Opcode::Imul => self.lower_imul(ctx, inst, args[0], args[1], ty),
            Opcode::Umulhi | Opcode::Smulhi => self.lower_mulhi(ctx, inst, op == Opcode::Smulhi, args[0], args[1], ty),
            Opcode::Udiv | Opcode::Sdiv | Opcode::Urem | Opcode::Srem => {
                self.lower_div(ctx, inst, op, args[0], args[1], ty)
            }
            Opcode::Iabs => {
                if ty == types::I128 {
                    let a = ctx.put_value_in_regs(args[0])?;
                    let z = ValueRegs::two(zero_reg(), zero_reg());
                    let n = ValueRegs::two(self.tmp(ctx)?.to_reg(), self.tmp(ctx)?.to_reg());
                    self.sub128(ctx, n, z, a)?;
                    let rd = ctx.output_regs(inst, 0)?;
                    let c = Cmp { cond: BranchCond::Lt, rs1: a.reg(1), rs2: zero_reg() };
                    self.select_into(ctx, Writable::from_reg(rd.reg(0)), c, n.reg(0), a.reg(0))?;
                    self.select_into(ctx, Writable::from_reg(rd.reg(1)), c, n.reg(1), a.reg(1))?;
                    return Ok(());
                }
                let a = self.ext_value(ctx, args[0], true)?;
                let n = self.rrr(ctx, AluOpRRR::Sub, zero_reg(), a)?;
                let rd = self.out(ctx, inst)?;
                if self.b.isa.has_zbb {
                    ctx.emit(Inst::AluRRR { op: AluOpRRR::Max, rd, rs1: a, rs2: n });
                    return Ok(());
                }
                self.select_into(ctx, rd, Cmp { cond: BranchCond::Lt, rs1: a, rs2: zero_reg() }, n, a)
            }
            Opcode::Smin | Opcode::Smax | Opcode::Umin | Opcode::Umax => {
                self.lower_minmax(ctx, inst, op, args[0], args[1], ty)
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
                if !is_int(ty) || ty.bits() < 32 {
                    return Err(unsupported_op(op, ty));
                }
                let a = self.ext_value(ctx, args[0], false)?;
                let b = self.ext_value(ctx, args[1], false)?;
                let s = self.rrr(ctx, AluOpRRR::Add, a, b)?;
                let rd = self.out(ctx, inst)?;
                if ty == types::I32 {
                    // The 33-bit sum overflows when bit 32 is set.
                    let hi = self.rri(ctx, AluOpRRI::Srli, s, 32)?;
                    ctx.emit(Inst::TrapIf { cond: BranchCond::Ne, rs1: hi, rs2: zero_reg(), code });
                } else {
                    ctx.emit(Inst::TrapIf { cond: BranchCond::Ltu, rs1: s, rs2: a, code });
                }
                self.mov(ctx, rd, s);
                Ok(())
            }
            Opcode::Ishl | Opcode::Ushr | Opcode::Sshr => self.lower_shift(ctx, inst, op, args[0], args[1], ty),
            Opcode::Rotl | Opcode::Rotr => self.lower_rotate(ctx, inst, op == Opcode::Rotl, args[0], args[1], ty),
            Opcode::Clz | Opcode::Ctz | Opcode::Cls | Opcode::Popcnt => self.lower_bitcount(ctx, inst, op, args[0], ty),
            Opcode::Bitrev => self.lower_reverse(ctx, inst, args[0], ty, true),
            Opcode::Bswap => self.lower_reverse(ctx, inst, args[0], ty, false),
            Opcode::Bmask => {
                let c = self.cond_value_nonzero(ctx, args[0])?;
                let m = self.rrr(ctx, AluOpRRR::Sub, zero_reg(), c)?;
                let rd = ctx.output_regs(inst, 0)?;
                self.mov(ctx, Writable::from_reg(rd.reg(0)), m);
                if ty == types::I128 {
                    self.mov(ctx, Writable::from_reg(rd.reg(1)), m);
                }
                Ok(())
            }
            Opcode::Icmp => {
                let D::IntCompare { cond, args: a, .. } = data else { unreachable!() };
                let aty = ctx.value_ty(a[0]);
                let rd = self.out(ctx, inst)?;
                if aty == types::I128 {
                    let r = self.icmp128(ctx, cond, a[0], a[1])?;
                    self.mov(ctx, rd, r);
                    return Ok(());
                }
                if !is_int(aty) {
                    return Err(unsupported_op(op, aty));
                }
                // slti/sltiu with an immediate.
                if let Some(k) = self.imm12(ctx, a[1]) {
                    let signed = matches!(cond, IntCC::SignedLessThan);
                    if matches!(cond, IntCC::SignedLessThan | IntCC::UnsignedLessThan)
                        && (signed || aty.bits() == 64 || k >= 0)
                    {
                        let x = self.ext_value(ctx, a[0], signed)?;
                        let o = if signed { AluOpRRI::Slti } else { AluOpRRI::Sltiu };
                        ctx.emit(Inst::AluRRImm { op: o, rd, rs: x, imm: k });
                        return Ok(());
                    }
                }
                let c = self.icmp_cmp(ctx, cond, a[0], a[1])?;
                self.set_cmp(ctx, rd, c)
            }
            Opcode::Fcmp => {
                let D::FloatCompare { cond, args: a, .. } = data else { unreachable!() };
                let (r, inv) = self.fcmp(ctx, cond, a[0], a[1])?;
                let rd = self.out(ctx, inst)?;
                if inv {
                    ctx.emit(Inst::AluRRImm { op: AluOpRRI::Xori, rd, rs: r, imm: 1 });
                } else {
                    self.mov(ctx, rd, r);
                }
                Ok(())
            }
            Opcode::Select | Opcode::SelectSpectreGuard => {
                let c = self.cond(ctx, args[0])?;
                let rd = ctx.output_regs(inst, 0)?;
                let a = ctx.put_value_in_regs(args[1])?;
                let b = ctx.put_value_in_regs(args[2])?;
                for i in 0..rd.len() {
                    self.select_into(ctx, Writable::from_reg(rd.reg(i)), c, a.reg(i), b.reg(i))?;
                }
                Ok(())
            }
            Opcode::Bitselect => {
                // (c & a) | (~c & b) on the bits
                if ty == types::I128 || ty == types::F128 || is_int(ty) {
                    let c = ctx.put_value_in_regs(args[0])?;
                    let a = ctx.put_value_in_regs(args[1])?;
                    let b = ctx.put_value_in_regs(args[2])?;
                    let rd = ctx.output_regs(inst, 0)?;
                    for i in 0..rd.len() {
                        let r = self.bitselect(ctx, c.reg(i), a.reg(i), b.reg(i))?;
                        self.mov(ctx, Writable::from_reg(rd.reg(i)), r);
                    }
                    return Ok(());
                }
                if ty.is_float() {
                    let w = self.fwidth_any(ty);
                    let c = self.to_int_bits(ctx, args[0], w)?;
                    let a = self.to_int_bits(ctx, args[1], w)?;
                    let b = self.to_int_bits(ctx, args[2], w)?;
                    let r = self.bitselect(ctx, c, a, b)?;
                    let rd = self.out(ctx, inst)?;
                    return self.from_int_bits(ctx, rd, r, w);
                }
                Err(unsupported_op(op, ty))
            }
            Opcode::Uextend | Opcode::Sextend => {
                let signed = op == Opcode::Sextend;
                let src_ty = ctx.value_ty(args[0]);
                let rd = ctx.output_regs(inst, 0)?;
                let r = self.ext_value(ctx, args[0], signed)?;
                if ty == types::I128 {
                    let src = if src_ty == types::I64 { self.reg(ctx, args[0])? } else { r };
                    self.mov(ctx, Writable::from_reg(rd.reg(0)), src);
                    if signed {
                        ctx.emit(Inst::AluRRImm {
                            op: AluOpRRI::Srai,
                            rd: Writable::from_reg(rd.reg(1)),
                            rs: src,
                            imm: 63,
                        });
                    } else {
                        self.mov(ctx, Writable::from_reg(rd.reg(1)), zero_reg());
                    }
                    Ok(())
                } else {
                    // The extended register itself (the input when already extended):
                    // no copy for the allocator.
                    self.result_is(ctx, inst, r)
                }
            }
            Opcode::Ireduce => {
                let r = ctx.put_value_in_regs(args[0])?;
                let res = ctx.f.dfg.first_result(inst).expect("result");
                ctx.alias_value(res, r.reg(0))
            }
            Opcode::Isplit => {
                let r = ctx.put_value_in_regs(args[0])?;
                let res = ctx.f.dfg.inst_results(inst);
                let (lo, hi) = (res[0], res[1]);
                let src_ty = ctx.value_ty(args[0]);
                if src_ty == types::I128 {
                    ctx.alias_value(lo, r.reg(0))?;
                    return ctx.alias_value(hi, r.reg(1));
                }
                // A narrower integer in one register: the high half shifted down.
                let half = (src_ty.bits() / 2) as i32;
                ctx.alias_value(lo, r.reg(0))?;
                let h = self.rri(ctx, AluOpRRI::Srli, r.reg(0), half)?;
                ctx.alias_value(hi, h)
            }
            Opcode::Iconcat => {
                let rd = ctx.output_regs(inst, 0)?;
                if ty == types::I128 {
                    let lo = self.reg(ctx, args[0])?;
                    let hi = self.reg(ctx, args[1])?;
                    self.mov(ctx, Writable::from_reg(rd.reg(0)), lo);
                    self.mov(ctx, Writable::from_reg(rd.reg(1)), hi);
                    return Ok(());
                }
                // (hi << half) | zext(lo) in one register.
                let half = (ty.bits() / 2) as i32;
                let lo = self.ext_value(ctx, args[0], false)?;
                let hi = self.reg(ctx, args[1])?;
                let h = self.rri(ctx, AluOpRRI::Slli, hi, half)?;
                ctx.emit(Inst::AluRRR { op: AluOpRRR::Or, rd: Writable::from_reg(rd.reg(0)), rs1: h, rs2: lo });
                Ok(())
            }
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
                let rd = self.out(ctx, inst)?;
                ctx.emit(Inst::StackAddr { rd, mem: StackAMode::Slot(base + offset.0 as i64) });
                Ok(())
            }
            Opcode::SymbolValue | Opcode::TlsValue => {
                let D::UnaryGlobalValue { global_value, .. } = data else { unreachable!() };
                match ctx.f.global_values.get(global_value) {
                    Some(GlobalValueData::Symbol { name, offset, colocated, tls }) => {
                        if *tls || op == Opcode::TlsValue {
                            return Err(unsupported("thread-local symbols (tls_value)"));
                        }
                        let name = reloc_target(ctx.f, name)?;
                        let rd = self.out(ctx, inst)?;
                        if *colocated {
                            ctx.emit(Inst::LoadExtName { rd, name, offset: offset.0 });
                        } else {
                            ctx.emit(Inst::LoadExtNameAbs { rd, name, offset: offset.0 });
                        }
                        Ok(())
                    }
                    _ => Err(unsupported(format!("{op} of a non-symbol global value"))),
                }
            }
            Opcode::FuncAddr => {
                let D::FuncAddr { func_ref, .. } = data else { unreachable!() };
                let ext =
                    ctx.f.dfg.ext_funcs.get(func_ref).ok_or_else(|| CodegenError::Other("bad func_ref".into()))?;
                let name = reloc_target(ctx.f, &ext.name)?;
                let colocated = ext.colocated;
                let rd = self.out(ctx, inst)?;
                if colocated {
                    ctx.emit(Inst::LoadExtName { rd, name, offset: 0 });
                } else {
                    ctx.emit(Inst::LoadExtNameAbs { rd, name, offset: 0 });
                }
                Ok(())
            }
            Opcode::GetFramePointer => {
                let rd = self.out(ctx, inst)?;
                ctx.emit(Inst::AluRRImm { op: AluOpRRI::Addi, rd, rs: fp_reg(), imm: 0 });
                Ok(())
            }
            Opcode::GetStackPointer => {
                let rd = self.out(ctx, inst)?;
                ctx.emit(Inst::AluRRImm { op: AluOpRRI::Addi, rd, rs: stack_reg(), imm: 0 });
                Ok(())
            }
            Opcode::GetReturnAddress => {
                let rd = self.out(ctx, inst)?;
                ctx.emit(Inst::Load { op: LoadOp::Ld, rd, from: AMode::RegOffset(fp_reg(), 8), trap: None });
                Ok(())
            }
            Opcode::GetPinnedReg => {
                let rd = self.out(ctx, inst)?;
                ctx.emit(Inst::AluRRImm {
                    op: AluOpRRI::Addi,
                    rd,
                    rs: xreg(crate::riscv64::regs::enc::PINNED),
                    imm: 0,
                });
                Ok(())
            }
            Opcode::SetPinnedReg => {
                let r = self.reg(ctx, args[0])?;
                let rd = Writable::from_reg(Reg::phys(x_preg(crate::riscv64::regs::enc::PINNED)));
                ctx.emit(Inst::AluRRImm { op: AluOpRRI::Addi, rd, rs: r, imm: 0 });
                Ok(())
            }
            Opcode::Trapz | Opcode::Trapnz => {
                let D::CondTrap { code, .. } = data else { unreachable!() };
                let c = self.cond(ctx, args[0])?;
                let c = if op == Opcode::Trapz { c.invert() } else { c };
                ctx.emit(Inst::TrapIf { cond: c.cond, rs1: c.rs1, rs2: c.rs2, code });
                Ok(())
            }
            Opcode::Debugtrap => {
                ctx.emit(Inst::Ebreak);
                Ok(())
            }
            Opcode::Fence => {
                ctx.emit(Inst::Fence { pred: FENCE_RW, succ: FENCE_RW });
                Ok(())
            }
            Opcode::Fadd
            | Opcode::Fsub
            | Opcode::Fmul
            | Opcode::Fdiv
            | Opcode::Fmin
            | Opcode::Fmax
            | Opcode::Sqrt
            | Opcode::Fneg
            | Opcode::Fabs
            | Opcode::Fcopysign
            | Opcode::Fma
            | Opcode::Ceil
            | Opcode::Floor
            | Opcode::Trunc
            | Opcode::Nearest
            | Opcode::Fpromote
            | Opcode::Fdemote => self.lower_float(ctx, inst, op, args, ty),
            Opcode::FcvtToUint | Opcode::FcvtToSint | Opcode::FcvtToUintSat | Opcode::FcvtToSintSat => {
                self.lower_fcvt_to_int(ctx, inst, op, args[0], ty)
            }
            Opcode::FcvtFromSint | Opcode::FcvtFromUint => {
                self.lower_fcvt_from_int(ctx, inst, op == Opcode::FcvtFromSint, args[0], ty)
            }
            Opcode::Bitcast => self.lower_bitcast(ctx, inst, args[0], ty),
            Opcode::AtomicLoad | Opcode::AtomicStore | Opcode::AtomicRmw | Opcode::AtomicCas => {
                self.lower_atomic(ctx, inst, op, ty)
            }
            _ => Err(unsupported_op(op, ty)),
        }
    }

    /// The width used to move a float's bits (f16 as its 32-bit NaN box).
    fn fwidth_any(&self, ty: Type) -> FpWidth {
        if ty == types::F64 { FpWidth::D } else { FpWidth::S }
    }

    fn to_int_bits(&self, ctx: Ctx, v: Value, w: FpWidth) -> CodegenResult<Reg> {
        let r = self.reg(ctx, v)?;
        let rd = self.tmp(ctx)?;
        ctx.emit(Inst::FpuRR { op: FpuOpRR::FmvXF, width: w, frm: Frm::Dyn, rd, rs: r });
        Ok(rd.to_reg())
    }

    fn from_int_bits(&self, ctx: Ctx, rd: Writable<Reg>, r: Reg, w: FpWidth) -> CodegenResult<()> {
        ctx.emit(Inst::FpuRR { op: FpuOpRR::FmvFX, width: w, frm: Frm::Dyn, rd, rs: r });
        Ok(())
    }

    /// A float constant (of raw `bits`, NaN-boxed for narrower widths): `fmv` from
    /// `zero`, Zfa `fli`, or the materialized bits moved over.
    fn fconst_into(&self, ctx: Ctx, rd: Writable<Reg>, bits: u64, w: FpWidth) -> CodegenResult<()> {
        let mvw = if w == FpWidth::D { FpWidth::D } else { FpWidth::S };
        if self.b.isa.has_zfa && (w != FpWidth::H || self.b.isa.has_zfh) {
            let v = match w {
                FpWidth::D => f64::from_bits(bits),
                FpWidth::S => f32::from_bits(bits as u32) as f64,
                FpWidth::H => half_to_f64(bits as u16),
            };
            if let Some(index) = fli_index(v, w) {
                ctx.emit(Inst::Fli { width: w, rd, index });
                return Ok(());
            }
        }
        let v = match w {
            FpWidth::D => bits,
            FpWidth::S => bits as u32 as i32 as i64 as u64,
            FpWidth::H => bits as u32 as i32 as i64 as u64,
        };
        let r = self.iconst(ctx, v)?;
        ctx.emit(Inst::FpuRR { op: FpuOpRR::FmvFX, width: mvw, frm: Frm::Dyn, rd, rs: r });
        Ok(())
    }

    pub(crate) fn fconst(&self, ctx: Ctx, v: f64, w: FpWidth) -> CodegenResult<Reg> {
        let bits = match w {
            FpWidth::D => v.to_bits(),
            _ => (v as f32).to_bits() as u64,
        };
        let rd = self.ftmp(ctx)?;
        self.fconst_into(ctx, rd, bits, w)?;
        Ok(rd.to_reg())
    }

    fn bitselect(&self, ctx: Ctx, c: Reg, a: Reg, b: Reg) -> CodegenResult<Reg> {
        // b ^ ((a ^ b) & c)
        let x = self.rrr(ctx, AluOpRRR::Xor, a, b)?;
        let y = self.rrr(ctx, AluOpRRR::And, x, c)?;
        self.rrr(ctx, AluOpRRR::Xor, y, b)
    }

    fn lower_float_bitop(&self, ctx: Ctx, inst: IrInst, op: Opcode, x: Value, y: Value, ty: Type) -> CodegenResult<()> {
        let w = self.fwidth_any(ty);
        let a = self.to_int_bits(ctx, x, w)?;
        let b = self.to_int_bits(ctx, y, w)?;
        let r = self.int_bitop(ctx, op, a, b)?;
        let rd = self.out(ctx, inst)?;
        self.from_int_bits(ctx, rd, r, w)
    }

    fn int_bitop(&self, ctx: Ctx, op: Opcode, a: Reg, b: Reg) -> CodegenResult<Reg> {
        let o = match op {
            Opcode::Band => AluOpRRR::And,
            Opcode::Bor => AluOpRRR::Or,
            Opcode::Bxor => AluOpRRR::Xor,
            _ => return Err(unsupported(format!("{op} as a bit operation"))),
        };
        self.rrr(ctx, o, a, b)
    }

    /// `y` if it is `bnot z` that can be merged: `z`.
    fn sinkable_bnot(&self, ctx: Ctx, y: Value) -> Option<Value> {
        let def = ctx.sinkable_inst(y)?;
        match *ctx.data(def) {
            D::Unary { opcode: Opcode::Bnot, arg } => {
                ctx.sink_inst(def);
                Some(arg)
            }
            _ => None,
        }
    }

    /// `x op y` for integers up to 64 bits, with immediates and Zba/Zbb fusions.
    fn lower_alu(&self, ctx: Ctx, rd: Writable<Reg>, op: Opcode, x: Value, y: Value, ty: Type) -> CodegenResult<()> {
        let w32 = ty == types::I32;
        let zbb = self.b.isa.has_zbb;
        match op {
            Opcode::Iadd => {
                for (a, b) in [(x, y), (y, x)] {
                    if let Some(k) = self.imm12(ctx, b) {
                        let o = if w32 { AluOpRRI::Addiw } else { AluOpRRI::Addi };
                        let rs = self.reg(ctx, a)?;
                        ctx.emit(Inst::AluRRImm { op: o, rd, rs, imm: k });
                        return Ok(());
                    }
                }
                if ty == types::I64 && self.b.isa.has_zba {
                    for (a, b) in [(x, y), (y, x)] {
                        if let Some((o, idx)) = self.zba_operand(ctx, b) {
                            let base = self.reg(ctx, a)?;
                            ctx.emit(Inst::AluRRR { op: o, rd, rs1: idx, rs2: base });
                            return Ok(());
                        }
                    }
                }
                let (a, b) = (self.reg(ctx, x)?, self.reg(ctx, y)?);
                ctx.emit(Inst::AluRRR { op: if w32 { AluOpRRR::Addw } else { AluOpRRR::Add }, rd, rs1: a, rs2: b });
            }
            Opcode::Isub => {
                if let Some(k) = self.cst(ctx, y).filter(|&c| (-2047..=2048).contains(&c)) {
                    let o = if w32 { AluOpRRI::Addiw } else { AluOpRRI::Addi };
                    let rs = self.reg(ctx, x)?;
                    ctx.emit(Inst::AluRRImm { op: o, rd, rs, imm: -(k as i32) });
                    return Ok(());
                }
                let a = self.reg_or_zero(ctx, x)?;
                let b = self.reg(ctx, y)?;
                ctx.emit(Inst::AluRRR { op: if w32 { AluOpRRR::Subw } else { AluOpRRR::Sub }, rd, rs1: a, rs2: b });
            }
            Opcode::Band | Opcode::Bor | Opcode::Bxor => {
                for (a, b) in [(x, y), (y, x)] {
                    if let Some(k) = self.imm12(ctx, b) {
                        let o = match op {
                            Opcode::Band => AluOpRRI::Andi,
                            Opcode::Bor => AluOpRRI::Ori,
                            _ => AluOpRRI::Xori,
                        };
                        let rs = self.reg(ctx, a)?;
                        ctx.emit(Inst::AluRRImm { op: o, rd, rs, imm: k });
                        return Ok(());
                    }
                }
                if self.b.isa.has_zbs
                    && let Some(done) = self.zbs_single_bit(ctx, rd, op, x, y, ty)?
                {
                    return Ok(done);
                }
                if zbb {
                    for (a, b) in [(x, y), (y, x)] {
                        if let Some(nb) = self.sinkable_bnot(ctx, b) {
                            let o = match op {
                                Opcode::Band => AluOpRRR::Andn,
                                Opcode::Bor => AluOpRRR::Orn,
                                _ => AluOpRRR::Xnor,
                            };
                            let (ra, rb) = (self.reg(ctx, a)?, self.reg(ctx, nb)?);
                            ctx.emit(Inst::AluRRR { op: o, rd, rs1: ra, rs2: rb });
                            return Ok(());
                        }
                    }
                }
                let (a, b) = (self.reg(ctx, x)?, self.reg(ctx, y)?);
                let o = match op {
                    Opcode::Band => AluOpRRR::And,
                    Opcode::Bor => AluOpRRR::Or,
                    _ => AluOpRRR::Xor,
                };
                ctx.emit(Inst::AluRRR { op: o, rd, rs1: a, rs2: b });
            }
            _ => return Err(unsupported_op(op, ty)),
        }
        Ok(())
    }

    /// With Zbs: `x & ~(1 << k)`, `x | (1 << k)`, `x ^ (1 << k)` for a constant `k` beyond
    /// the 12-bit immediates: `bclri`/`bseti`/`binvi`.
    fn zbs_single_bit(
        &self,
        ctx: Ctx,
        rd: Writable<Reg>,
        op: Opcode,
        x: Value,
        y: Value,
        ty: Type,
    ) -> CodegenResult<Option<()>> {
        let Some(c) = ctx.iconst_bits(y) else { return Ok(None) };
        let bits = ty.bits();
        let mask = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
        let (o, k) = match op {
            Opcode::Band if (!c & mask).count_ones() == 1 => (AluOpRRI::Bclri, (!c & mask).trailing_zeros()),
            Opcode::Bor if c.count_ones() == 1 => (AluOpRRI::Bseti, c.trailing_zeros()),
            Opcode::Bxor if c.count_ones() == 1 => (AluOpRRI::Binvi, c.trailing_zeros()),
            _ => return Ok(None),
        };
        let rs = self.reg(ctx, x)?;
        ctx.emit(Inst::AluRRImm { op: o, rd, rs, imm: k as i32 });
        Ok(Some(()))
    }

    /// With Zba: `b` is `ishl z, 1..3` (`sh1add`–`sh3add`), `uextend.i64 z` of an i32
    /// (`add.uw`), or `ishl (uextend z), 1..3` (`shNadd.uw`), mergeable here: the operation
    /// and the register of `z`.
    fn zba_operand(&self, ctx: Ctx, b: Value) -> Option<(AluOpRRR, Reg)> {
        let def = ctx.sinkable_inst(b)?;
        let uext_i32 = |ctx: Ctx, v: Value| -> Option<Value> {
            let d = ctx.def_inst(v)?;
            match *ctx.data(d) {
                D::Unary { opcode: Opcode::Uextend, arg } if ctx.value_ty(arg) == types::I32 => Some(arg),
                _ => None,
            }
        };
        match *ctx.data(def) {
            D::Binary { opcode: Opcode::Ishl, args } => {
                let k = ctx.iconst_bits(args[1])? & 63;
                if !(1..=3).contains(&k) {
                    return None;
                }
                if let Some(z) = uext_i32(ctx, args[0]).filter(|_| ctx.sinkable_inst(args[0]).is_some()) {
                    let zd = ctx.def_inst(args[0])?;
                    ctx.sink_inst(def);
                    ctx.sink_inst(zd);
                    let r = ctx.put_value_in_reg(z).ok()?;
                    let o = [AluOpRRR::Sh1addUw, AluOpRRR::Sh2addUw, AluOpRRR::Sh3addUw][k as usize - 1];
                    return Some((o, r));
                }
                ctx.sink_inst(def);
                let r = ctx.put_value_in_reg(args[0]).ok()?;
                Some(([AluOpRRR::Sh1add, AluOpRRR::Sh2add, AluOpRRR::Sh3add][k as usize - 1], r))
            }
            D::Unary { opcode: Opcode::Uextend, arg } if ctx.value_ty(arg) == types::I32 => {
                ctx.sink_inst(def);
                let r = ctx.put_value_in_reg(arg).ok()?;
                Some((AluOpRRR::AddUw, r))
            }
            _ => None,
        }
    }

    // ---- i128 -----------------------------------------------------------------------------

    fn add128(&self, ctx: Ctx, rd: ValueRegs, a: ValueRegs, b: ValueRegs) -> CodegenResult<()> {
        let lo = self.rrr(ctx, AluOpRRR::Add, a.reg(0), b.reg(0))?;
        let carry = self.rrr(ctx, AluOpRRR::Sltu, lo, a.reg(0))?;
        let hi = self.rrr(ctx, AluOpRRR::Add, a.reg(1), b.reg(1))?;
        ctx.emit(Inst::AluRRR { op: AluOpRRR::Add, rd: Writable::from_reg(rd.reg(1)), rs1: hi, rs2: carry });
        self.mov(ctx, Writable::from_reg(rd.reg(0)), lo);
        Ok(())
    }

    fn sub128(&self, ctx: Ctx, rd: ValueRegs, a: ValueRegs, b: ValueRegs) -> CodegenResult<()> {
        let lo = self.rrr(ctx, AluOpRRR::Sub, a.reg(0), b.reg(0))?;
        let borrow = self.rrr(ctx, AluOpRRR::Sltu, a.reg(0), b.reg(0))?;
        let hi = self.rrr(ctx, AluOpRRR::Sub, a.reg(1), b.reg(1))?;
        ctx.emit(Inst::AluRRR { op: AluOpRRR::Sub, rd: Writable::from_reg(rd.reg(1)), rs1: hi, rs2: borrow });
        self.mov(ctx, Writable::from_reg(rd.reg(0)), lo);
        Ok(())
    }

    fn lower_alu128(&self, ctx: Ctx, inst: IrInst, op: Opcode, x: Value, y: Value) -> CodegenResult<()> {
        let a = ctx.put_value_in_regs(x)?;
        let b = ctx.put_value_in_regs(y)?;
        let rd = ctx.output_regs(inst, 0)?;
        match op {
            Opcode::Iadd => self.add128(ctx, rd, a, b),
            Opcode::Isub => self.sub128(ctx, rd, a, b),
            _ => {
                for i in 0..2 {
                    let r = self.int_bitop(ctx, op, a.reg(i), b.reg(i))?;
                    self.mov(ctx, Writable::from_reg(rd.reg(i)), r);
                }
                Ok(())
            }
        }
    }

    fn lower_imul(&self, ctx: Ctx, inst: IrInst, x: Value, y: Value, ty: Type) -> CodegenResult<()> {
        self.need_m("imul")?;
        if ty == types::I128 {
            let a = ctx.put_value_in_regs(x)?;
            let b = ctx.put_value_in_regs(y)?;
            let rd = ctx.output_regs(inst, 0)?;
            let hi = self.rrr(ctx, AluOpRRR::Mulhu, a.reg(0), b.reg(0))?;
            let t1 = self.rrr(ctx, AluOpRRR::Mul, a.reg(0), b.reg(1))?;
            let t2 = self.rrr(ctx, AluOpRRR::Mul, a.reg(1), b.reg(0))?;
            let h1 = self.rrr(ctx, AluOpRRR::Add, hi, t1)?;
            ctx.emit(Inst::AluRRR { op: AluOpRRR::Add, rd: Writable::from_reg(rd.reg(1)), rs1: h1, rs2: t2 });
            ctx.emit(Inst::AluRRR {
                op: AluOpRRR::Mul,
                rd: Writable::from_reg(rd.reg(0)),
                rs1: a.reg(0),
                rs2: b.reg(0),
            });
            return Ok(());
        }
        if !is_int(ty) {
            return Err(unsupported_op(Opcode::Imul, ty));
        }
        let (a, b) = (self.reg(ctx, x)?, self.reg(ctx, y)?);
        let rd = self.out(ctx, inst)?;
        let o = if ty == types::I32 { AluOpRRR::Mulw } else { AluOpRRR::Mul };
        ctx.emit(Inst::AluRRR { op: o, rd, rs1: a, rs2: b });
        Ok(())
    }

    fn need_m(&self, what: &str) -> CodegenResult<()> {
        if self.b.isa.has_m { Ok(()) } else { Err(unsupported(format!("{what} without has_m"))) }
    }

    fn lower_mulhi(&self, ctx: Ctx, inst: IrInst, signed: bool, x: Value, y: Value, ty: Type) -> CodegenResult<()> {
        self.need_m("mulhi")?;
        if !is_int(ty) {
            return Err(unsupported_op(if signed { Opcode::Smulhi } else { Opcode::Umulhi }, ty));
        }
        let rd = self.out(ctx, inst)?;
        if ty == types::I64 {
            let (a, b) = (self.reg(ctx, x)?, self.reg(ctx, y)?);
            ctx.emit(Inst::AluRRR { op: if signed { AluOpRRR::Mulh } else { AluOpRRR::Mulhu }, rd, rs1: a, rs2: b });
            return Ok(());
        }
        let a = self.ext_value(ctx, x, signed)?;
        let b = self.ext_value(ctx, y, signed)?;
        let p = self.rrr(ctx, AluOpRRR::Mul, a, b)?;
        ctx.emit(Inst::AluRRImm { op: AluOpRRI::Srai, rd, rs: p, imm: ty.bits() as i32 });
        Ok(())
    }

    fn lower_div(&self, ctx: Ctx, inst: IrInst, op: Opcode, x: Value, y: Value, ty: Type) -> CodegenResult<()> {
        if !is_int(ty) {
            return Err(unsupported_op(op, ty));
        }
        self.need_m("division")?;
        let signed = matches!(op, Opcode::Sdiv | Opcode::Srem);
        let c = self.cst(ctx, y);
        let w32 = ty == types::I32;
        // i32 uses the *w forms on the low 32 bits; narrower values are extended.
        let (a, b) = if w32 {
            (self.reg(ctx, x)?, self.reg_or_zero(ctx, y)?)
        } else {
            (self.ext_value(ctx, x, signed)?, self.ext_value(ctx, y, signed)?)
        };
        if c.is_none_or(|c| c == 0) {
            // Only zero matters: `sext.w` is one instruction.
            let bz = if w32 { self.ext(ctx, b, ty, true)? } else { b };
            ctx.emit(Inst::TrapIf {
                cond: BranchCond::Eq,
                rs1: bz,
                rs2: zero_reg(),
                code: TrapCode::INTEGER_DIVISION_BY_ZERO,
            });
        }
        if op == Opcode::Sdiv && c.is_none_or(|c| c == -1) {
            // x == MIN && y == -1 overflows.
            let bits = ty.bits();
            let (xs, ys) = if w32 { (self.ext(ctx, a, ty, true)?, self.ext(ctx, b, ty, true)?) } else { (a, b) };
            let min = self.iconst(ctx, (i64::MIN >> (64 - bits)) as u64)?;
            let t1 = self.rri(ctx, AluOpRRI::Addi, ys, 1)?;
            let t2 = self.rrr(ctx, AluOpRRR::Xor, xs, min)?;
            let t = self.rrr(ctx, AluOpRRR::Or, t1, t2)?;
            ctx.emit(Inst::TrapIf { cond: BranchCond::Eq, rs1: t, rs2: zero_reg(), code: TrapCode::INTEGER_OVERFLOW });
        }
        let o = match (op, w32) {
            (Opcode::Sdiv, false) => AluOpRRR::Div,
            (Opcode::Udiv, false) => AluOpRRR::Divu,
            (Opcode::Srem, false) => AluOpRRR::Rem,
            (Opcode::Urem, false) => AluOpRRR::Remu,
            (Opcode::Sdiv, true) => AluOpRRR::Divw,
            (Opcode::Udiv, true) => AluOpRRR::Divuw,
            (Opcode::Srem, true) => AluOpRRR::Remw,
            (_, true) => AluOpRRR::Remuw,
            _ => unreachable!(),
        };
        let rd = self.out(ctx, inst)?;
        ctx.emit(Inst::AluRRR { op: o, rd, rs1: a, rs2: b });
        Ok(())
    }

    fn lower_minmax(&self, ctx: Ctx, inst: IrInst, op: Opcode, x: Value, y: Value, ty: Type) -> CodegenResult<()> {
        let signed = matches!(op, Opcode::Smin | Opcode::Smax);
        let is_min = matches!(op, Opcode::Smin | Opcode::Umin);
        if ty == types::I128 {
            let cc = match (signed, is_min) {
                (true, true) => IntCC::SignedLessThan,
                (true, false) => IntCC::SignedGreaterThan,
                (false, true) => IntCC::UnsignedLessThan,
                (false, false) => IntCC::UnsignedGreaterThan,
            };
            let c = self.icmp128(ctx, cc, x, y)?;
            let a = ctx.put_value_in_regs(x)?;
            let b = ctx.put_value_in_regs(y)?;
            let rd = ctx.output_regs(inst, 0)?;
            for i in 0..2 {
                self.select_into(ctx, Writable::from_reg(rd.reg(i)), Cmp::nonzero(c), a.reg(i), b.reg(i))?;
            }
            return Ok(());
        }
        if !is_int(ty) {
            return Err(unsupported_op(op, ty));
        }
        let a = self.ext_value(ctx, x, signed)?;
        let b = self.ext_value(ctx, y, signed)?;
        let rd = self.out(ctx, inst)?;
        if self.b.isa.has_zbb {
            let o = match op {
                Opcode::Smin => AluOpRRR::Min,
                Opcode::Smax => AluOpRRR::Max,
                Opcode::Umin => AluOpRRR::Minu,
                _ => AluOpRRR::Maxu,
            };
            ctx.emit(Inst::AluRRR { op: o, rd, rs1: a, rs2: b });
            return Ok(());
        }
        let cond = if signed { BranchCond::Lt } else { BranchCond::Ltu };
        let c = if is_min { Cmp { cond, rs1: a, rs2: b } } else { Cmp { cond, rs1: b, rs2: a } };
        self.select_into(ctx, rd, c, a, b)
    }

    /// The 0/1 value "`v` != 0".
    pub(crate) fn cond_value_nonzero(&self, ctx: Ctx, v: Value) -> CodegenResult<Reg> {
        let c = self.cond(ctx, v)?;
        self.cmp_reg(ctx, c)
    }

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
        let of = ctx.output_reg(inst, 1)?;
        if ty == types::I128 {
            let a = ctx.put_value_in_regs(x)?;
            let b = ctx.put_value_in_regs(y)?;
            let rd = ctx.output_regs(inst, 0)?;
            let tmp = ValueRegs::two(self.tmp(ctx)?.to_reg(), self.tmp(ctx)?.to_reg());
            if is_add {
                self.add128(ctx, tmp, a, b)?
            } else {
                self.sub128(ctx, tmp, a, b)?
            }
            let mut res = tmp;
            let mut cin_flag = None;
            if let Some(cv) = carry {
                // The carry-in counts as 1 when it is nonzero.
                let cin = self.ext_value(ctx, cv, false)?;
                let cin = self.rrr(ctx, AluOpRRR::Sltu, zero_reg(), cin)?;
                let c = ValueRegs::two(cin, zero_reg());
                let r2 = ValueRegs::two(self.tmp(ctx)?.to_reg(), self.tmp(ctx)?.to_reg());
                if is_add {
                    self.add128(ctx, r2, tmp, c)?
                } else {
                    self.sub128(ctx, r2, tmp, c)?
                }
                cin_flag = Some((tmp, r2));
                res = r2;
            }
            let flag = if signed {
                // Overflow: sign of (a ^ r) & (b' ^ r) where b' = b (add) or ~b (sub).
                let ar = self.rrr(ctx, AluOpRRR::Xor, a.reg(1), res.reg(1))?;
                let br = self.rrr(ctx, AluOpRRR::Xor, b.reg(1), res.reg(1))?;
                let m = if is_add {
                    self.rrr(ctx, AluOpRRR::And, ar, br)?
                } else {
                    let ab = self.rrr(ctx, AluOpRRR::Xor, a.reg(1), b.reg(1))?;
                    self.rrr(ctx, AluOpRRR::And, ar, ab)?
                };
                self.rri(ctx, AluOpRRI::Srli, m, 63)?
            } else {
                // Unsigned: compare the result with the first operand (with the carry-in,
                // two steps).
                let ovf = |s: &Self, ctx: Ctx, r: ValueRegs, a: ValueRegs| -> CodegenResult<Reg> {
                    let cc = if is_add { IntCC::UnsignedLessThan } else { IntCC::UnsignedGreaterThan };
                    s.cmp128_regs(ctx, cc, r, a)
                };
                match cin_flag {
                    None => ovf(self, ctx, res, a)?,
                    Some((t, r2)) => {
                        let f1 = ovf(self, ctx, t, a)?;
                        let f2 = ovf(self, ctx, r2, t)?;
                        self.rrr(ctx, AluOpRRR::Or, f1, f2)?
                    }
                }
            };
            self.mov(ctx, Writable::from_reg(rd.reg(0)), res.reg(0));
            self.mov(ctx, Writable::from_reg(rd.reg(1)), res.reg(1));
            self.mov(ctx, of, flag);
            return Ok(());
        }
        if !is_int(ty) {
            return Err(unsupported_op(op, ty));
        }
        let bits = ty.bits();
        let rd = self.out(ctx, inst)?;
        let a = self.ext_value(ctx, x, signed)?;
        let b = self.ext_value(ctx, y, signed)?;
        let cin = match carry {
            Some(cv) => {
                // The carry-in counts as 1 when it is nonzero.
                let c = self.ext_value(ctx, cv, false)?;
                Some(self.rrr(ctx, AluOpRRR::Sltu, zero_reg(), c)?)
            }
            None => None,
        };
        if bits < 64 {
            // The exact result fits in 64 bits: overflow iff it differs from its own
            // extension from `bits`.
            let mut r = self.rrr(ctx, if is_add { AluOpRRR::Add } else { AluOpRRR::Sub }, a, b)?;
            if let Some(c) = cin {
                r = self.rrr(ctx, if is_add { AluOpRRR::Add } else { AluOpRRR::Sub }, r, c)?;
            }
            let e = self.ext(ctx, r, ty, signed)?;
            let d = self.rrr(ctx, AluOpRRR::Xor, e, r)?;
            ctx.emit(Inst::AluRRR { op: AluOpRRR::Sltu, rd: of, rs1: zero_reg(), rs2: d });
            self.mov(ctx, rd, r);
            return Ok(());
        }
        let o = if is_add { AluOpRRR::Add } else { AluOpRRR::Sub };
        let r1 = self.rrr(ctx, o, a, b)?;
        let (r, flag) = if signed {
            let r = match cin {
                Some(c) => self.rrr(ctx, o, r1, c)?,
                None => r1,
            };
            let ar = self.rrr(ctx, AluOpRRR::Xor, a, r)?;
            let m = if is_add {
                let br = self.rrr(ctx, AluOpRRR::Xor, b, r)?;
                self.rrr(ctx, AluOpRRR::And, ar, br)?
            } else {
                let ab = self.rrr(ctx, AluOpRRR::Xor, a, b)?;
                self.rrr(ctx, AluOpRRR::And, ar, ab)?
            };
            (r, self.rri(ctx, AluOpRRI::Srli, m, 63)?)
        } else {
            let f1 = if is_add { self.rrr(ctx, AluOpRRR::Sltu, r1, a)? } else { self.rrr(ctx, AluOpRRR::Sltu, a, b)? };
            match cin {
                None => (r1, f1),
                Some(c) => {
                    let r = self.rrr(ctx, o, r1, c)?;
                    let f2 = if is_add {
                        self.rrr(ctx, AluOpRRR::Sltu, r, r1)?
                    } else {
                        self.rrr(ctx, AluOpRRR::Sltu, r1, c)?
                    };
                    (r, self.rrr(ctx, AluOpRRR::Or, f1, f2)?)
                }
            }
        };
        self.mov(ctx, rd, r);
        self.mov(ctx, of, flag);
        Ok(())
    }

    fn cmp128_regs(&self, ctx: Ctx, cc: IntCC, a: ValueRegs, b: ValueRegs) -> CodegenResult<Reg> {
        let hc = int_cmp(cc, a.reg(1), b.reg(1));
        let lc = int_cmp(unsigned_cc(cc), a.reg(0), b.reg(0));
        let h = self.cmp_reg(ctx, hc)?;
        let l = self.cmp_reg(ctx, lc)?;
        let rd = self.tmp(ctx)?;
        ctx.emit(Inst::Select { rd, cond: BranchCond::Eq, rs1: a.reg(1), rs2: b.reg(1), a: l, b: h });
        Ok(rd.to_reg())
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
        self.need_m("mul overflow")?;
        if !is_int(ty) {
            return Err(unsupported_op(if signed { Opcode::SmulOverflow } else { Opcode::UmulOverflow }, ty));
        }
        let bits = ty.bits();
        let a = self.ext_value(ctx, x, signed)?;
        let b = self.ext_value(ctx, y, signed)?;
        let rd = self.out(ctx, inst)?;
        let of = ctx.output_reg(inst, 1)?;
        let lo = self.rrr(ctx, AluOpRRR::Mul, a, b)?;
        let flag = if bits < 64 {
            if signed || bits < 32 {
                let e = self.ext(ctx, lo, ty, signed)?;
                let d = self.rrr(ctx, AluOpRRR::Xor, e, lo)?;
                self.rrr(ctx, AluOpRRR::Sltu, zero_reg(), d)?
            } else {
                let hi = self.rri(ctx, AluOpRRI::Srli, lo, 32)?;
                self.rrr(ctx, AluOpRRR::Sltu, zero_reg(), hi)?
            }
        } else if signed {
            let hi = self.rrr(ctx, AluOpRRR::Mulh, a, b)?;
            let s = self.rri(ctx, AluOpRRI::Srai, lo, 63)?;
            let d = self.rrr(ctx, AluOpRRR::Xor, hi, s)?;
            self.rrr(ctx, AluOpRRR::Sltu, zero_reg(), d)?
        } else {
            let hi = self.rrr(ctx, AluOpRRR::Mulhu, a, b)?;
            self.rrr(ctx, AluOpRRR::Sltu, zero_reg(), hi)?
        };
        self.mov(ctx, rd, lo);
        self.mov(ctx, of, flag);
        Ok(())
    }

    // ---- shifts and bit counts ------------------------------------------------------------

    fn lower_shift(&self, ctx: Ctx, inst: IrInst, op: Opcode, x: Value, y: Value, ty: Type) -> CodegenResult<()> {
        if ty == types::I128 {
            let a = ctx.put_value_in_regs(x)?;
            let amt = ctx.put_value_in_regs(y)?.reg(0);
            let rd = ctx.output_regs(inst, 0)?;
            let r = self.shift128(ctx, op, a, amt)?;
            self.mov(ctx, Writable::from_reg(rd.reg(0)), r.reg(0));
            self.mov(ctx, Writable::from_reg(rd.reg(1)), r.reg(1));
            return Ok(());
        }
        if !is_int(ty) {
            return Err(unsupported_op(op, ty));
        }
        let bits = ty.bits();
        let rd = self.out(ctx, inst)?;
        let amt_ty = ctx.value_ty(y);
        if let Some(k) = ctx.iconst_bits(y) {
            let k = (k & (bits as u64 - 1)) as i32;
            let (o, src) = match (op, bits) {
                (Opcode::Ishl, 32) => (AluOpRRI::Slliw, self.reg(ctx, x)?),
                (Opcode::Ushr, 32) => (AluOpRRI::Srliw, self.reg(ctx, x)?),
                (Opcode::Sshr, 32) => (AluOpRRI::Sraiw, self.reg(ctx, x)?),
                (Opcode::Ishl, _) => (AluOpRRI::Slli, self.reg(ctx, x)?),
                (Opcode::Ushr, _) => (AluOpRRI::Srli, self.ext_value(ctx, x, false)?),
                _ => (AluOpRRI::Srai, self.ext_value(ctx, x, true)?),
            };
            ctx.emit(Inst::AluRRImm { op: o, rd, rs: src, imm: k });
            return Ok(());
        }
        let amt = if amt_ty == types::I128 { ctx.put_value_in_regs(y)?.reg(0) } else { self.reg(ctx, y)? };
        let (o, src, amt) = match (op, bits) {
            (Opcode::Ishl, 32) => (AluOpRRR::Sllw, self.reg(ctx, x)?, amt),
            (Opcode::Ushr, 32) => (AluOpRRR::Srlw, self.reg(ctx, x)?, amt),
            (Opcode::Sshr, 32) => (AluOpRRR::Sraw, self.reg(ctx, x)?, amt),
            (Opcode::Ishl, 64) => (AluOpRRR::Sll, self.reg(ctx, x)?, amt),
            (Opcode::Ushr, 64) => (AluOpRRR::Srl, self.reg(ctx, x)?, amt),
            (Opcode::Sshr, 64) => (AluOpRRR::Sra, self.reg(ctx, x)?, amt),
            _ => {
                let m = self.rri(ctx, AluOpRRI::Andi, amt, bits as i32 - 1)?;
                match op {
                    Opcode::Ishl => (AluOpRRR::Sll, self.reg(ctx, x)?, m),
                    Opcode::Ushr => (AluOpRRR::Srl, self.ext_value(ctx, x, false)?, m),
                    _ => (AluOpRRR::Sra, self.ext_value(ctx, x, true)?, m),
                }
            }
        };
        ctx.emit(Inst::AluRRR { op: o, rd, rs1: src, rs2: amt });
        Ok(())
    }

    /// An i128 shift by `amt` (mod 128).
    fn shift128(&self, ctx: Ctx, op: Opcode, a: ValueRegs, amt: Reg) -> CodegenResult<ValueRegs> {
        let (lo, hi) = (a.reg(0), a.reg(1));
        let s = self.rri(ctx, AluOpRRI::Andi, amt, 63)?;
        // inv = 63 - s; spill = (x >> 1) >> inv moves the bits crossing the halves without
        // a shift by 64.
        let k63 = self.iconst(ctx, 63)?;
        let inv = self.rrr(ctx, AluOpRRR::Sub, k63, s)?;
        let big = self.rri(ctx, AluOpRRI::Andi, amt, 64)?;
        let (new_lo, new_hi) = match op {
            Opcode::Ishl => {
                let l = self.rrr(ctx, AluOpRRR::Sll, lo, s)?;
                let h = self.rrr(ctx, AluOpRRR::Sll, hi, s)?;
                let l1 = self.rri(ctx, AluOpRRI::Srli, lo, 1)?;
                let cross = self.rrr(ctx, AluOpRRR::Srl, l1, inv)?;
                let h = self.rrr(ctx, AluOpRRR::Or, h, cross)?;
                // amt >= 64: hi = l, lo = 0
                let c = Cmp::nonzero(big);
                (self.select_reg(ctx, c, zero_reg(), l)?, self.select_reg(ctx, c, l, h)?)
            }
            _ => {
                let arith = op == Opcode::Sshr;
                let o = if arith { AluOpRRR::Sra } else { AluOpRRR::Srl };
                let h = self.rrr(ctx, o, hi, s)?;
                let l = self.rrr(ctx, AluOpRRR::Srl, lo, s)?;
                let h1 = self.rri(ctx, AluOpRRI::Slli, hi, 1)?;
                let cross = self.rrr(ctx, AluOpRRR::Sll, h1, inv)?;
                let l = self.rrr(ctx, AluOpRRR::Or, l, cross)?;
                let fill = if arith { self.rri(ctx, AluOpRRI::Srai, hi, 63)? } else { zero_reg() };
                let c = Cmp::nonzero(big);
                (self.select_reg(ctx, c, h, l)?, self.select_reg(ctx, c, fill, h)?)
            }
        };
        Ok(ValueRegs::two(new_lo, new_hi))
    }

    fn lower_rotate(&self, ctx: Ctx, inst: IrInst, left: bool, x: Value, y: Value, ty: Type) -> CodegenResult<()> {
        if ty == types::I128 {
            let a = ctx.put_value_in_regs(x)?;
            let amt = ctx.put_value_in_regs(y)?.reg(0);
            // rotl(x, n) = (x << n) | (x >> (128 - n)) (both mod 128)
            let neg = self.rrr(ctx, AluOpRRR::Sub, zero_reg(), amt)?;
            let (first, second) = if left { (Opcode::Ishl, Opcode::Ushr) } else { (Opcode::Ushr, Opcode::Ishl) };
            let p = self.shift128(ctx, first, a, amt)?;
            let q = self.shift128(ctx, second, a, neg)?;
            let rd = ctx.output_regs(inst, 0)?;
            for i in 0..2 {
                ctx.emit(Inst::AluRRR {
                    op: AluOpRRR::Or,
                    rd: Writable::from_reg(rd.reg(i)),
                    rs1: p.reg(i),
                    rs2: q.reg(i),
                });
            }
            return Ok(());
        }
        if !is_int(ty) {
            return Err(unsupported_op(if left { Opcode::Rotl } else { Opcode::Rotr }, ty));
        }
        let bits = ty.bits();
        let rd = self.out(ctx, inst)?;
        let zbb = self.b.isa.has_zbb;
        if let Some(k) = ctx.iconst_bits(y) {
            let k = (k & (bits as u64 - 1)) as i32;
            let r = if left { (bits as i32 - k) & (bits as i32 - 1) } else { k };
            if zbb && bits >= 32 {
                let o = if bits == 32 { AluOpRRI::Roriw } else { AluOpRRI::Rori };
                let rs = self.reg(ctx, x)?;
                ctx.emit(Inst::AluRRImm { op: o, rd, rs, imm: r });
                return Ok(());
            }
            if r == 0 {
                let rs = self.reg(ctx, x)?;
                self.mov(ctx, rd, rs);
                return Ok(());
            }
            // (x >> r) | (x << (bits - r)) on the zero-extended value
            let xz = self.ext_value(ctx, x, false)?;
            let p = self.rri(ctx, AluOpRRI::Srli, xz, r)?;
            let q = self.rri(ctx, AluOpRRI::Slli, xz, bits as i32 - r)?;
            ctx.emit(Inst::AluRRR { op: AluOpRRR::Or, rd, rs1: p, rs2: q });
            return Ok(());
        }
        let amt = if ctx.value_ty(y) == types::I128 { ctx.put_value_in_regs(y)?.reg(0) } else { self.reg(ctx, y)? };
        if zbb && bits >= 32 {
            let o = match (left, bits) {
                (true, 32) => AluOpRRR::Rolw,
                (false, 32) => AluOpRRR::Rorw,
                (true, _) => AluOpRRR::Rol,
                (false, _) => AluOpRRR::Ror,
            };
            let rs = self.reg(ctx, x)?;
            ctx.emit(Inst::AluRRR { op: o, rd, rs1: rs, rs2: amt });
            return Ok(());
        }
        // s = amt mod bits; t = (bits - s) mod bits; (x << s | x >> t) for left
        let xz = self.ext_value(ctx, x, false)?;
        let m = (bits - 1) as i32;
        let s = self.rri(ctx, AluOpRRI::Andi, amt, m)?;
        let n = self.rrr(ctx, AluOpRRR::Sub, zero_reg(), s)?;
        let t = self.rri(ctx, AluOpRRI::Andi, n, m)?;
        let (l, r) = if left { (s, t) } else { (t, s) };
        let p = self.rrr(ctx, AluOpRRR::Sll, xz, l)?;
        let q = self.rrr(ctx, AluOpRRR::Srl, xz, r)?;
        ctx.emit(Inst::AluRRR { op: AluOpRRR::Or, rd, rs1: p, rs2: q });
        Ok(())
    }

    /// The number of set bits of the 64-bit `x` (`cpop` with Zbb, else the SWAR sum).
    fn popcnt64(&self, ctx: Ctx, x: Reg) -> CodegenResult<Reg> {
        if self.b.isa.has_zbb {
            return self.rr(ctx, AluOpRR::Cpop, x);
        }
        let m1 = self.iconst(ctx, 0x5555_5555_5555_5555)?;
        let m2 = self.iconst(ctx, 0x3333_3333_3333_3333)?;
        let m4 = self.iconst(ctx, 0x0f0f_0f0f_0f0f_0f0f)?;
        let t = self.rri(ctx, AluOpRRI::Srli, x, 1)?;
        let t = self.rrr(ctx, AluOpRRR::And, t, m1)?;
        let x = self.rrr(ctx, AluOpRRR::Sub, x, t)?;
        let a = self.rrr(ctx, AluOpRRR::And, x, m2)?;
        let b = self.rri(ctx, AluOpRRI::Srli, x, 2)?;
        let b = self.rrr(ctx, AluOpRRR::And, b, m2)?;
        let x = self.rrr(ctx, AluOpRRR::Add, a, b)?;
        let t = self.rri(ctx, AluOpRRI::Srli, x, 4)?;
        let x = self.rrr(ctx, AluOpRRR::Add, x, t)?;
        let x = self.rrr(ctx, AluOpRRR::And, x, m4)?;
        if self.b.isa.has_m {
            let h = self.iconst(ctx, 0x0101_0101_0101_0101)?;
            let p = self.rrr(ctx, AluOpRRR::Mul, x, h)?;
            return self.rri(ctx, AluOpRRI::Srli, p, 56);
        }
        let mut x = x;
        for sh in [8, 16, 32] {
            let t = self.rri(ctx, AluOpRRI::Srli, x, sh)?;
            x = self.rrr(ctx, AluOpRRR::Add, x, t)?;
        }
        self.rri(ctx, AluOpRRI::Andi, x, 127)
    }

    /// Leading zeros of the 64-bit `x`.
    fn clz64(&self, ctx: Ctx, x: Reg) -> CodegenResult<Reg> {
        if self.b.isa.has_zbb {
            return self.rr(ctx, AluOpRR::Clz, x);
        }
        // Smear the highest set bit right, count the zeros.
        let mut v = x;
        for sh in [1, 2, 4, 8, 16, 32] {
            let t = self.rri(ctx, AluOpRRI::Srli, v, sh)?;
            v = self.rrr(ctx, AluOpRRR::Or, v, t)?;
        }
        let n = self.rri(ctx, AluOpRRI::Xori, v, -1)?;
        self.popcnt64(ctx, n)
    }

    /// Trailing zeros of the 64-bit `x` (64 for 0).
    fn ctz64(&self, ctx: Ctx, x: Reg) -> CodegenResult<Reg> {
        if self.b.isa.has_zbb {
            return self.rr(ctx, AluOpRR::Ctz, x);
        }
        // popcnt(~x & (x - 1))
        let m = self.rri(ctx, AluOpRRI::Addi, x, -1)?;
        let n = self.rri(ctx, AluOpRRI::Xori, x, -1)?;
        let t = self.rrr(ctx, AluOpRRR::And, n, m)?;
        self.popcnt64(ctx, t)
    }

    fn lower_bitcount(&self, ctx: Ctx, inst: IrInst, op: Opcode, x: Value, ty: Type) -> CodegenResult<()> {
        if ty == types::I128 {
            let a = ctx.put_value_in_regs(x)?;
            let (lo, hi) = (a.reg(0), a.reg(1));
            let rd = ctx.output_regs(inst, 0)?;
            let r = match op {
                Opcode::Popcnt => {
                    let p = self.popcnt64(ctx, lo)?;
                    let q = self.popcnt64(ctx, hi)?;
                    self.rrr(ctx, AluOpRRR::Add, p, q)?
                }
                Opcode::Clz => {
                    let h = self.clz64(ctx, hi)?;
                    let l = self.clz64(ctx, lo)?;
                    let l = self.rri(ctx, AluOpRRI::Addi, l, 64)?;
                    self.select_reg(ctx, Cmp::nonzero(hi), h, l)?
                }
                Opcode::Ctz => {
                    let l = self.ctz64(ctx, lo)?;
                    let h = self.ctz64(ctx, hi)?;
                    let h = self.rri(ctx, AluOpRRI::Addi, h, 64)?;
                    self.select_reg(ctx, Cmp::nonzero(lo), l, h)?
                }
                _ => {
                    // cls: leading bits equal to the sign, minus one.
                    let s = self.rri(ctx, AluOpRRI::Srai, hi, 63)?;
                    let h = self.rrr(ctx, AluOpRRR::Xor, hi, s)?;
                    let l = self.rrr(ctx, AluOpRRR::Xor, lo, s)?;
                    let ch = self.clz64(ctx, h)?;
                    let cl = self.clz64(ctx, l)?;
                    let cl = self.rri(ctx, AluOpRRI::Addi, cl, 64)?;
                    let c = self.select_reg(ctx, Cmp::nonzero(h), ch, cl)?;
                    self.rri(ctx, AluOpRRI::Addi, c, -1)?
                }
            };
            self.mov(ctx, Writable::from_reg(rd.reg(0)), r);
            self.mov(ctx, Writable::from_reg(rd.reg(1)), zero_reg());
            return Ok(());
        }
        if !is_int(ty) {
            return Err(unsupported_op(op, ty));
        }
        let bits = ty.bits() as i32;
        let rd = self.out(ctx, inst)?;
        let zbb = self.b.isa.has_zbb;
        let r = match op {
            Opcode::Popcnt => {
                let xz = self.ext_value(ctx, x, false)?;
                if zbb && bits == 32 {
                    let rs = self.reg(ctx, x)?;
                    self.rr(ctx, AluOpRR::Cpopw, rs)?
                } else {
                    self.popcnt64(ctx, xz)?
                }
            }
            Opcode::Clz => {
                if zbb && bits == 32 {
                    let rs = self.reg(ctx, x)?;
                    self.rr(ctx, AluOpRR::Clzw, rs)?
                } else {
                    let xz = self.ext_value(ctx, x, false)?;
                    let c = self.clz64(ctx, xz)?;
                    if bits == 64 { c } else { self.rri(ctx, AluOpRRI::Addi, c, bits - 64)? }
                }
            }
            Opcode::Ctz => {
                if zbb && bits == 32 {
                    let rs = self.reg(ctx, x)?;
                    self.rr(ctx, AluOpRR::Ctzw, rs)?
                } else if bits == 64 {
                    let rs = self.reg(ctx, x)?;
                    self.ctz64(ctx, rs)?
                } else {
                    // A bit just above the value bounds the count.
                    let rs = self.reg(ctx, x)?;
                    let t = if self.b.isa.has_zbs {
                        self.rri(ctx, AluOpRRI::Bseti, rs, bits)?
                    } else {
                        let b = self.iconst(ctx, 1u64 << bits)?;
                        self.rrr(ctx, AluOpRRR::Or, rs, b)?
                    };
                    self.ctz64(ctx, t)?
                }
            }
            _ => {
                let xs = self.ext_value(ctx, x, true)?;
                let s = self.rri(ctx, AluOpRRI::Srai, xs, 63)?;
                let t = self.rrr(ctx, AluOpRRR::Xor, xs, s)?;
                let c = self.clz64(ctx, t)?;
                self.rri(ctx, AluOpRRI::Addi, c, bits - 64 - 1)?
            }
        };
        self.mov(ctx, rd, r);
        Ok(())
    }

    /// The bytes of the 64-bit `x` reversed (`rev8` with Zbb).
    fn bswap64(&self, ctx: Ctx, x: Reg) -> CodegenResult<Reg> {
        if self.b.isa.has_zbb || self.b.isa.has_zbkb {
            return self.rr(ctx, AluOpRR::Rev8, x);
        }
        let mut v = x;
        for (sh, mask) in [(8, 0x00ff_00ff_00ff_00ffu64), (16, 0x0000_ffff_0000_ffff)] {
            let m = self.iconst(ctx, mask)?;
            let a = self.rri(ctx, AluOpRRI::Srli, v, sh)?;
            let a = self.rrr(ctx, AluOpRRR::And, a, m)?;
            let b = self.rrr(ctx, AluOpRRR::And, v, m)?;
            let b = self.rri(ctx, AluOpRRI::Slli, b, sh)?;
            v = self.rrr(ctx, AluOpRRR::Or, a, b)?;
        }
        let a = self.rri(ctx, AluOpRRI::Srli, v, 32)?;
        let b = self.rri(ctx, AluOpRRI::Slli, v, 32)?;
        self.rrr(ctx, AluOpRRR::Or, a, b)
    }

    /// The bits of each byte of `x` reversed (`brev8` with Zbkb).
    fn brev8(&self, ctx: Ctx, x: Reg) -> CodegenResult<Reg> {
        if self.b.isa.has_zbkb {
            return self.rr(ctx, AluOpRR::Brev8, x);
        }
        let mut v = x;
        for (sh, mask) in [(1, 0x5555_5555_5555_5555u64), (2, 0x3333_3333_3333_3333), (4, 0x0f0f_0f0f_0f0f_0f0f)] {
            let m = self.iconst(ctx, mask)?;
            let a = self.rri(ctx, AluOpRRI::Srli, v, sh)?;
            let a = self.rrr(ctx, AluOpRRR::And, a, m)?;
            let b = self.rrr(ctx, AluOpRRR::And, v, m)?;
            let b = self.rri(ctx, AluOpRRI::Slli, b, sh)?;
            v = self.rrr(ctx, AluOpRRR::Or, a, b)?;
        }
        Ok(v)
    }

    /// `bswap` (bytes reversed) or, with `bits`, `bitrev` (bits reversed): the 64-bit
    /// reversal of the register(s), shifted down for narrow types.
    fn lower_reverse(&self, ctx: Ctx, inst: IrInst, x: Value, ty: Type, bits: bool) -> CodegenResult<()> {
        let rev = |s: &Self, ctx: Ctx, r: Reg| -> CodegenResult<Reg> {
            let r = s.bswap64(ctx, r)?;
            if bits { s.brev8(ctx, r) } else { Ok(r) }
        };
        if ty == types::I128 {
            let a = ctx.put_value_in_regs(x)?;
            let rd = ctx.output_regs(inst, 0)?;
            let l = rev(self, ctx, a.reg(1))?;
            let h = rev(self, ctx, a.reg(0))?;
            self.mov(ctx, Writable::from_reg(rd.reg(0)), l);
            self.mov(ctx, Writable::from_reg(rd.reg(1)), h);
            return Ok(());
        }
        if !is_int(ty) || (!bits && ty.bits() < 16) {
            return Err(unsupported_op(if bits { Opcode::Bitrev } else { Opcode::Bswap }, ty));
        }
        let rs = self.reg(ctx, x)?;
        let r = rev(self, ctx, rs)?;
        let rd = self.out(ctx, inst)?;
        let sh = 64 - ty.bits() as i32;
        if sh == 0 {
            self.mov(ctx, rd, r);
        } else {
            ctx.emit(Inst::AluRRImm { op: AluOpRRI::Srli, rd, rs: r, imm: sh });
        }
        Ok(())
    }

    // ---- memory ---------------------------------------------------------------------------

    fn lower_load(&self, ctx: Ctx, inst: IrInst, op: Opcode, ty: Type) -> CodegenResult<()> {
        let D::Load { arg, offset, .. } = *ctx.data(inst) else {
            return Err(CodegenError::Other("load without an address".into()));
        };
        let flags = mem_flags(ctx, inst);
        let trap = flags.trap_code();
        let big = flags.explicit_endianness() == Some(Endianness::Big);
        if big && !(is_int(ty) || ty == types::I128) {
            return Err(unsupported(format!("big-endian {ty} load")));
        }
        let amode = self.amode(ctx, arg, offset.0)?;
        let lop = match op {
            Opcode::Uload8 => LoadOp::Lbu,
            Opcode::Sload8 => LoadOp::Lb,
            Opcode::Uload16 => LoadOp::Lhu,
            Opcode::Sload16 => LoadOp::Lh,
            Opcode::Uload32 => LoadOp::Lwu,
            Opcode::Sload32 => LoadOp::Lw,
            _ => match ty {
                types::I8 => LoadOp::Lbu,
                types::I16 => LoadOp::Lhu,
                types::I32 => LoadOp::Lw,
                types::I64 | types::I128 | types::F128 => LoadOp::Ld,
                types::F32 => LoadOp::Flw,
                types::F64 => LoadOp::Fld,
                types::F16 => {
                    if self.b.isa.has_zfhmin || self.b.isa.has_zfh {
                        LoadOp::Flh
                    } else {
                        // lhu, then NaN-box the bits.
                        let t = self.tmp(ctx)?;
                        ctx.emit(Inst::Load { op: LoadOp::Lhu, rd: t, from: amode, trap });
                        let rd = self.out(ctx, inst)?;
                        return self.box_f16(ctx, rd, t.to_reg());
                    }
                }
                t if t.is_vector() => return self.lower_vector_load(ctx, inst, amode, trap, flags.aligned(), t),
                _ => return Err(unsupported(format!("{ty} load"))),
            },
        };
        let rd = ctx.output_regs(inst, 0)?;
        if ty == types::I128 || ty == types::F128 {
            let (m0, m1) = split_amode(amode);
            let (a, b) = if big { (m1, m0) } else { (m0, m1) };
            let d0 = Writable::from_reg(rd.reg(0));
            let d1 = Writable::from_reg(rd.reg(1));
            ctx.emit(Inst::Load { op: LoadOp::Ld, rd: d0, from: a, trap });
            ctx.emit(Inst::Load { op: LoadOp::Ld, rd: d1, from: b, trap });
            if big {
                for d in [d0, d1] {
                    let r = self.bswap64(ctx, d.to_reg())?;
                    self.mov(ctx, d, r);
                }
            }
            return Ok(());
        }
        let d = Writable::from_reg(rd.reg(0));
        if big && lop.bytes() > 1 {
            let t = self.tmp(ctx)?;
            ctx.emit(Inst::Load { op: lop, rd: t, from: amode, trap });
            let sw = self.bswap64(ctx, t.to_reg())?;
            let signed = matches!(lop, LoadOp::Lh | LoadOp::Lw);
            let o = if signed { AluOpRRI::Srai } else { AluOpRRI::Srli };
            ctx.emit(Inst::AluRRImm { op: o, rd: d, rs: sw, imm: 64 - 8 * lop.bytes() as i32 });
            return Ok(());
        }
        ctx.emit(Inst::Load { op: lop, rd: d, from: amode, trap });
        Ok(())
    }

    /// An f16's bits (low 16 of `bits`) into an f register, NaN-boxed in 32 bits.
    fn box_f16(&self, ctx: Ctx, rd: Writable<Reg>, bits: Reg) -> CodegenResult<()> {
        let hi = self.iconst(ctx, 0xffff_ffff_ffff_0000)?;
        let v = self.rrr(ctx, AluOpRRR::Or, bits, hi)?;
        ctx.emit(Inst::FpuRR { op: FpuOpRR::FmvFX, width: FpWidth::S, frm: Frm::Dyn, rd, rs: v });
        Ok(())
    }

    fn lower_store(&self, ctx: Ctx, inst: IrInst, op: Opcode) -> CodegenResult<()> {
        let D::Store { args, offset, .. } = *ctx.data(inst) else {
            return Err(CodegenError::Other("store without an address".into()));
        };
        let flags = mem_flags(ctx, inst);
        let trap = flags.trap_code();
        let vty = ctx.value_ty(args[0]);
        let big = flags.explicit_endianness() == Some(Endianness::Big);
        if big && !(is_int(vty) || vty == types::I128) {
            return Err(unsupported(format!("big-endian {vty} store")));
        }
        let amode = self.amode(ctx, args[1], offset.0)?;
        if vty.is_vector() {
            return self.lower_vector_store(ctx, args[0], amode, trap, flags.aligned(), vty);
        }
        let sop = match op {
            Opcode::Istore8 => StoreOp::Sb,
            Opcode::Istore16 => StoreOp::Sh,
            Opcode::Istore32 => StoreOp::Sw,
            _ => match vty {
                types::I8 => StoreOp::Sb,
                types::I16 => StoreOp::Sh,
                types::I32 => StoreOp::Sw,
                types::I64 | types::I128 | types::F128 => StoreOp::Sd,
                types::F32 => StoreOp::Fsw,
                types::F64 => StoreOp::Fsd,
                types::F16 => {
                    if self.b.isa.has_zfhmin || self.b.isa.has_zfh {
                        StoreOp::Fsh
                    } else {
                        let r = self.reg(ctx, args[0])?;
                        let t = self.tmp(ctx)?;
                        ctx.emit(Inst::FpuRR { op: FpuOpRR::FmvXF, width: FpWidth::S, frm: Frm::Dyn, rd: t, rs: r });
                        ctx.emit(Inst::Store { op: StoreOp::Sh, src: t.to_reg(), to: amode, trap });
                        return Ok(());
                    }
                }
                _ => return Err(unsupported(format!("{vty} store"))),
            },
        };
        if vty == types::I128 || vty == types::F128 {
            let v = ctx.put_value_in_regs(args[0])?;
            let (m0, m1) = split_amode(amode);
            let (mut lo, mut hi) = (v.reg(0), v.reg(1));
            let (a, b) = if big { (m1, m0) } else { (m0, m1) };
            if big {
                lo = self.bswap64(ctx, lo)?;
                hi = self.bswap64(ctx, hi)?;
            }
            ctx.emit(Inst::Store { op: StoreOp::Sd, src: lo, to: a, trap });
            ctx.emit(Inst::Store { op: StoreOp::Sd, src: hi, to: b, trap });
            return Ok(());
        }
        let mut src = self.reg_or_zero(ctx, args[0])?;
        if big && sop.bytes() > 1 {
            let sw = self.bswap64(ctx, src)?;
            src = self.rri(ctx, AluOpRRI::Srli, sw, 64 - 8 * sop.bytes() as i32)?;
        }
        ctx.emit(Inst::Store { op: sop, src, to: amode, trap });
        Ok(())
    }

    // ---- floats ---------------------------------------------------------------------------

    fn lower_float(&self, ctx: Ctx, inst: IrInst, op: Opcode, args: &[Value], ty: Type) -> CodegenResult<()> {
        if ty == types::F128 || args.iter().any(|&a| ctx.value_ty(a) == types::F128) {
            return self.lower_f128_sign(ctx, inst, op, args, ty);
        }
        let rd = self.out(ctx, inst)?;
        if ty == types::F16 && matches!(op, Opcode::Fneg | Opcode::Fabs | Opcode::Fcopysign) && !self.b.isa.has_zfh {
            // Sign operations on the bits.
            let x = self.to_int_bits(ctx, args[0], FpWidth::S)?;
            let r = match op {
                Opcode::Fneg => {
                    let m = self.iconst(ctx, 0x8000)?;
                    self.rrr(ctx, AluOpRRR::Xor, x, m)?
                }
                Opcode::Fabs => {
                    let m = self.iconst(ctx, !0x8000u64)?;
                    self.rrr(ctx, AluOpRRR::And, x, m)?
                }
                _ => {
                    let y = self.to_int_bits(ctx, args[1], FpWidth::S)?;
                    let m = self.iconst(ctx, 0x8000)?;
                    let s = self.rrr(ctx, AluOpRRR::And, y, m)?;
                    let nm = self.iconst(ctx, !0x8000u64)?;
                    let a = self.rrr(ctx, AluOpRRR::And, x, nm)?;
                    self.rrr(ctx, AluOpRRR::Or, a, s)?
                }
            };
            return self.from_int_bits(ctx, rd, r, FpWidth::S);
        }
        match op {
            Opcode::Fpromote | Opcode::Fdemote => {
                let from = self.fwidth_conv(ctx.value_ty(args[0]))?;
                let to = self.fwidth_conv(ty)?;
                let rs = self.reg(ctx, args[0])?;
                ctx.emit(Inst::FpuRR { op: FpuOpRR::FcvtFromFloat(from), width: to, frm: Frm::Dyn, rd, rs });
                return Ok(());
            }
            _ => {}
        }
        let w = self.fwidth(ty)?;
        let a = self.reg(ctx, args[0])?;
        let rrr = |s: &Self, ctx: Ctx, op: FpuOpRRR, rd: Writable<Reg>, b: Reg| {
            let _ = s;
            ctx.emit(Inst::FpuRRR { op, width: w, frm: Frm::Dyn, rd, rs1: a, rs2: b });
        };
        match op {
            Opcode::Fadd | Opcode::Fsub | Opcode::Fmul | Opcode::Fdiv => {
                let b = self.reg(ctx, args[1])?;
                let o = match op {
                    Opcode::Fadd => FpuOpRRR::Fadd,
                    Opcode::Fsub => FpuOpRRR::Fsub,
                    Opcode::Fmul => FpuOpRRR::Fmul,
                    _ => FpuOpRRR::Fdiv,
                };
                rrr(self, ctx, o, rd, b);
            }
            Opcode::Fcopysign => {
                let b = self.reg(ctx, args[1])?;
                rrr(self, ctx, FpuOpRRR::Fsgnj, rd, b);
            }
            Opcode::Fneg => rrr(self, ctx, FpuOpRRR::Fsgnjn, rd, a),
            Opcode::Fabs => rrr(self, ctx, FpuOpRRR::Fsgnjx, rd, a),
            Opcode::Sqrt => ctx.emit(Inst::FpuRR { op: FpuOpRR::Fsqrt, width: w, frm: Frm::Dyn, rd, rs: a }),
            Opcode::Fma => {
                let b = self.reg(ctx, args[1])?;
                let c = self.reg(ctx, args[2])?;
                ctx.emit(Inst::FpuRRRR { op: FpuOpRRRR::Fmadd, width: w, frm: Frm::Dyn, rd, rs1: a, rs2: b, rs3: c });
            }
            Opcode::Fmin | Opcode::Fmax => {
                let b = self.reg(ctx, args[1])?;
                let is_min = op == Opcode::Fmin;
                if self.b.isa.has_zfa {
                    rrr(self, ctx, if is_min { FpuOpRRR::Fminm } else { FpuOpRRR::Fmaxm }, rd, b);
                    return Ok(());
                }
                // fmin/fmax return the non-NaN operand: NaN if either is one (a + b).
                let m = self.ftmp(ctx)?;
                rrr(self, ctx, if is_min { FpuOpRRR::Fmin } else { FpuOpRRR::Fmax }, m, b);
                let n = self.ftmp(ctx)?;
                rrr(self, ctx, FpuOpRRR::Fadd, n, b);
                let qa = self.tmp(ctx)?;
                ctx.emit(Inst::FpuRRR { op: FpuOpRRR::Feq, width: w, frm: Frm::Dyn, rd: qa, rs1: a, rs2: a });
                let qb = self.tmp(ctx)?;
                ctx.emit(Inst::FpuRRR { op: FpuOpRRR::Feq, width: w, frm: Frm::Dyn, rd: qb, rs1: b, rs2: b });
                let both = self.rrr(ctx, AluOpRRR::And, qa.to_reg(), qb.to_reg())?;
                ctx.emit(Inst::Select {
                    rd,
                    cond: BranchCond::Ne,
                    rs1: both,
                    rs2: zero_reg(),
                    a: m.to_reg(),
                    b: n.to_reg(),
                });
            }
            Opcode::Ceil | Opcode::Floor | Opcode::Trunc | Opcode::Nearest => {
                let frm = match op {
                    Opcode::Ceil => Frm::Rup,
                    Opcode::Floor => Frm::Rdn,
                    Opcode::Trunc => Frm::Rtz,
                    _ => Frm::Rne,
                };
                if self.b.isa.has_zfa {
                    ctx.emit(Inst::FpuRR { op: FpuOpRR::Fround, width: w, frm, rd, rs: a });
                    return Ok(());
                }
                // |x| < 2^mantissa: through an integer with the rounding mode, keeping the
                // sign (-0.5 rounds to -0.0); otherwise (integral, infinite or NaN) x
                // itself, NaN quieted by x + x.
                let limit = match w {
                    FpWidth::D => 4503599627370496.0,
                    FpWidth::S => 8388608.0,
                    FpWidth::H => 1024.0,
                };
                let lim = self.fconst(ctx, limit, w)?;
                let abs = self.ftmp(ctx)?;
                rrr(self, ctx, FpuOpRRR::Fsgnjx, abs, a);
                let small = self.tmp(ctx)?;
                ctx.emit(Inst::FpuRRR {
                    op: FpuOpRRR::Flt,
                    width: w,
                    frm: Frm::Dyn,
                    rd: small,
                    rs1: abs.to_reg(),
                    rs2: lim,
                });
                let i = self.tmp(ctx)?;
                ctx.emit(Inst::FpuRR { op: FpuOpRR::FcvtToInt(IntWidth::L), width: w, frm, rd: i, rs: a });
                let f = self.ftmp(ctx)?;
                ctx.emit(Inst::FpuRR { op: FpuOpRR::FcvtFromInt(IntWidth::L), width: w, frm, rd: f, rs: i.to_reg() });
                let r = self.ftmp(ctx)?;
                ctx.emit(Inst::FpuRRR { op: FpuOpRRR::Fsgnj, width: w, frm: Frm::Dyn, rd: r, rs1: f.to_reg(), rs2: a });
                let big = self.ftmp(ctx)?;
                rrr(self, ctx, FpuOpRRR::Fadd, big, a);
                // x + x is only right for NaN: infinities and integral values stay x.
                let isnan = self.tmp(ctx)?;
                ctx.emit(Inst::FpuRRR { op: FpuOpRRR::Feq, width: w, frm: Frm::Dyn, rd: isnan, rs1: a, rs2: a });
                let other = self.select_reg(ctx, Cmp::nonzero(isnan.to_reg()), a, big.to_reg())?;
                ctx.emit(Inst::Select {
                    rd,
                    cond: BranchCond::Ne,
                    rs1: small.to_reg(),
                    rs2: zero_reg(),
                    a: r.to_reg(),
                    b: other,
                });
            }
            _ => return Err(unsupported_op(op, ty)),
        }
        Ok(())
    }

    /// f128 (two integer registers, the sign in bit 63 of the high one): `fneg`, `fabs` and
    /// `fcopysign` on the bits; its arithmetic is not supported.
    fn lower_f128_sign(&self, ctx: Ctx, inst: IrInst, op: Opcode, args: &[Value], ty: Type) -> CodegenResult<()> {
        if ty != types::F128 || !matches!(op, Opcode::Fneg | Opcode::Fabs | Opcode::Fcopysign) {
            return Err(unsupported_op(op, ty));
        }
        let a = ctx.put_value_in_regs(args[0])?;
        let rd = ctx.output_regs(inst, 0)?;
        self.mov(ctx, Writable::from_reg(rd.reg(0)), a.reg(0));
        let hi = Writable::from_reg(rd.reg(1));
        match op {
            Opcode::Fneg => {
                let m = self.iconst(ctx, 1 << 63)?;
                ctx.emit(Inst::AluRRR { op: AluOpRRR::Xor, rd: hi, rs1: a.reg(1), rs2: m });
            }
            Opcode::Fabs => {
                let t = self.rri(ctx, AluOpRRI::Slli, a.reg(1), 1)?;
                ctx.emit(Inst::AluRRImm { op: AluOpRRI::Srli, rd: hi, rs: t, imm: 1 });
            }
            _ => {
                let b = ctx.put_value_in_regs(args[1])?;
                let t = self.rri(ctx, AluOpRRI::Slli, a.reg(1), 1)?;
                let mag = self.rri(ctx, AluOpRRI::Srli, t, 1)?;
                let s = self.rri(ctx, AluOpRRI::Srli, b.reg(1), 63)?;
                let sign = self.rri(ctx, AluOpRRI::Slli, s, 63)?;
                ctx.emit(Inst::AluRRR { op: AluOpRRR::Or, rd: hi, rs1: mag, rs2: sign });
            }
        }
        Ok(())
    }

    /// The width for conversions (f16 needs Zfhmin).
    fn fwidth_conv(&self, ty: Type) -> CodegenResult<FpWidth> {
        match ty {
            types::F16 if self.b.isa.has_zfhmin || self.b.isa.has_zfh => Ok(FpWidth::H),
            types::F16 => Err(unsupported("f16 conversions without has_zfhmin")),
            _ => self.fwidth(ty),
        }
    }

    fn lower_fcvt_to_int(&self, ctx: Ctx, inst: IrInst, op: Opcode, x: Value, ty: Type) -> CodegenResult<()> {
        let src_ty = ctx.value_ty(x);
        if !is_int(ty) {
            return Err(unsupported(format!("{op} from {src_ty} to {ty}")));
        }
        let w = self.fwidth_conv(src_ty)?;
        let signed = matches!(op, Opcode::FcvtToSint | Opcode::FcvtToSintSat);
        let sat = matches!(op, Opcode::FcvtToUintSat | Opcode::FcvtToSintSat);
        let bits = ty.bits();
        let a = self.reg(ctx, x)?;
        let rd = self.out(ctx, inst)?;
        let iw = match (signed, bits) {
            (true, 64) => IntWidth::L,
            (false, 64) => IntWidth::Lu,
            (true, _) => IntWidth::W,
            (false, _) => IntWidth::Wu,
        };
        let feq = |s: &Self, ctx: Ctx| -> CodegenResult<Reg> {
            let t = s.tmp(ctx)?;
            ctx.emit(Inst::FpuRRR { op: FpuOpRRR::Feq, width: w, frm: Frm::Dyn, rd: t, rs1: a, rs2: a });
            Ok(t.to_reg())
        };
        if !sat {
            let ok = feq(self, ctx)?;
            ctx.emit(Inst::TrapIf {
                cond: BranchCond::Eq,
                rs1: ok,
                rs2: zero_reg(),
                code: TrapCode::BAD_CONVERSION_TO_INTEGER,
            });
            // In range: low < x < high, with `low` the first value below the range that
            // truncates out of it (or its representable neighbour).
            let high = if signed { (bits as f64 - 1.0).exp2() } else { (bits as f64).exp2() };
            // The exact bound as an integer: -2^(bits-1) - 1 does not fit an f64 when
            // bits = 64 (it would round to -2^63 and reject that in-range value).
            let low_int: i128 = if signed { -(1i128 << (bits - 1)) - 1 } else { -1 };
            let low = low_int as f64;
            let representable = |v: f64| {
                v as i128 == low_int
                    && match w {
                        FpWidth::D => true,
                        FpWidth::S => (v as f32) as f64 == v,
                        FpWidth::H => half_representable(v),
                    }
            };
            let (low_c, low_strict) =
                if representable(low) { (low, false) } else { (-(bits as f64 - 1.0).exp2(), true) };
            let hi_r = self.fconst(ctx, high, w)?;
            let lo_r = self.fconst(ctx, low_c, w)?;
            let t = self.tmp(ctx)?;
            ctx.emit(Inst::FpuRRR { op: FpuOpRRR::Fle, width: w, frm: Frm::Dyn, rd: t, rs1: hi_r, rs2: a });
            ctx.emit(Inst::TrapIf {
                cond: BranchCond::Ne,
                rs1: t.to_reg(),
                rs2: zero_reg(),
                code: TrapCode::INTEGER_OVERFLOW,
            });
            let u = self.tmp(ctx)?;
            let o = if low_strict { FpuOpRRR::Flt } else { FpuOpRRR::Fle };
            ctx.emit(Inst::FpuRRR { op: o, width: w, frm: Frm::Dyn, rd: u, rs1: a, rs2: lo_r });
            ctx.emit(Inst::TrapIf {
                cond: BranchCond::Ne,
                rs1: u.to_reg(),
                rs2: zero_reg(),
                code: TrapCode::INTEGER_OVERFLOW,
            });
            ctx.emit(Inst::FpuRR { op: FpuOpRR::FcvtToInt(iw), width: w, frm: Frm::Rtz, rd, rs: a });
            return Ok(());
        }
        // Saturating: the hardware saturates (NaN to the maximum): clamp narrow types,
        // zero for NaN.
        let c = self.tmp(ctx)?;
        ctx.emit(Inst::FpuRR { op: FpuOpRR::FcvtToInt(iw), width: w, frm: Frm::Rtz, rd: c, rs: a });
        let mut r = c.to_reg();
        if bits < 32 {
            let (lo, hi) =
                if signed { (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1) } else { (0, (1i64 << bits) - 1) };
            let hr = self.iconst(ctx, hi as u64)?;
            r = if self.b.isa.has_zbb {
                self.rrr(ctx, if signed { AluOpRRR::Min } else { AluOpRRR::Minu }, r, hr)?
            } else {
                self.select_reg(ctx, Cmp { cond: BranchCond::Lt, rs1: r, rs2: hr }, r, hr)?
            };
            if signed {
                let lr = self.iconst(ctx, lo as u64)?;
                r = if self.b.isa.has_zbb {
                    self.rrr(ctx, AluOpRRR::Max, r, lr)?
                } else {
                    self.select_reg(ctx, Cmp { cond: BranchCond::Lt, rs1: lr, rs2: r }, r, lr)?
                };
            }
        }
        let ok = feq(self, ctx)?;
        let m = self.rrr(ctx, AluOpRRR::Sub, zero_reg(), ok)?;
        ctx.emit(Inst::AluRRR { op: AluOpRRR::And, rd, rs1: r, rs2: m });
        Ok(())
    }

    fn lower_fcvt_from_int(&self, ctx: Ctx, inst: IrInst, signed: bool, x: Value, ty: Type) -> CodegenResult<()> {
        let src_ty = ctx.value_ty(x);
        let w = self.fwidth_conv(ty)?;
        if !is_int(src_ty) {
            return Err(unsupported(format!("fcvt_from_{}int from {src_ty}", if signed { "s" } else { "u" })));
        }
        let r = self.ext_value(ctx, x, signed)?;
        let iw = if signed { IntWidth::L } else { IntWidth::Lu };
        let rd = self.out(ctx, inst)?;
        ctx.emit(Inst::FpuRR { op: FpuOpRR::FcvtFromInt(iw), width: w, frm: Frm::Dyn, rd, rs: r });
        Ok(())
    }

    fn lower_bitcast(&self, ctx: Ctx, inst: IrInst, x: Value, ty: Type) -> CodegenResult<()> {
        let src_ty = ctx.value_ty(x);
        if ty.is_vector() || src_ty.is_vector() {
            return self.lower_vector_bitcast(ctx, inst, x, ty);
        }
        let rs = ctx.put_value_in_regs(x)?;
        let rd = ctx.output_regs(inst, 0)?;
        let (s0, d0) = (rs.reg(0), Writable::from_reg(rd.reg(0)));
        match (s0.class(), d0.to_reg().class()) {
            (a, b) if a == b => {
                for i in 0..rd.len() {
                    self.mov(ctx, Writable::from_reg(rd.reg(i)), rs.reg(i));
                }
            }
            (RegClass::Float, RegClass::Int) => {
                let w = self.fwidth_any(src_ty);
                ctx.emit(Inst::FpuRR { op: FpuOpRR::FmvXF, width: w, frm: Frm::Dyn, rd: d0, rs: s0 });
            }
            (RegClass::Int, RegClass::Float) => {
                if ty == types::F16 {
                    return self.box_f16(ctx, d0, s0);
                }
                let w = self.fwidth_any(ty);
                ctx.emit(Inst::FpuRR { op: FpuOpRR::FmvFX, width: w, frm: Frm::Dyn, rd: d0, rs: s0 });
            }
            _ => return Err(unsupported(format!("bitcast from {src_ty} to {ty}"))),
        }
        Ok(())
    }

    // ---- atomics --------------------------------------------------------------------------

    fn lower_atomic(&self, ctx: Ctx, inst: IrInst, op: Opcode, ty: Type) -> CodegenResult<()> {
        let data = *ctx.data(inst);
        let flags = mem_flags(ctx, inst);
        if flags.explicit_endianness() == Some(Endianness::Big) {
            return Err(unsupported("big-endian atomics"));
        }
        let trap = flags.trap_code();
        let args = ctx.inputs(inst);
        let vty = if op == Opcode::AtomicStore { ctx.value_ty(args[0]) } else { ty };
        if !is_int(vty) {
            return Err(unsupported_op(op, vty));
        }
        let bits = vty.bits();
        match op {
            Opcode::AtomicLoad => {
                let addr = self.reg(ctx, args[0])?;
                let rd = self.out(ctx, inst)?;
                ctx.emit(Inst::Fence { pred: FENCE_RW, succ: FENCE_RW });
                let lop = match bits {
                    8 => LoadOp::Lbu,
                    16 => LoadOp::Lhu,
                    32 => LoadOp::Lw,
                    _ => LoadOp::Ld,
                };
                ctx.emit(Inst::Load { op: lop, rd, from: AMode::RegOffset(addr, 0), trap });
                ctx.emit(Inst::Fence { pred: 0b0010, succ: FENCE_RW });
                return Ok(());
            }
            Opcode::AtomicStore => {
                let v = self.reg_or_zero(ctx, args[0])?;
                let addr = self.reg(ctx, args[1])?;
                let sop = match bits {
                    8 => StoreOp::Sb,
                    16 => StoreOp::Sh,
                    32 => StoreOp::Sw,
                    _ => StoreOp::Sd,
                };
                ctx.emit(Inst::Fence { pred: FENCE_RW, succ: 0b0001 });
                ctx.emit(Inst::Store { op: sop, src: v, to: AMode::RegOffset(addr, 0), trap });
                ctx.emit(Inst::Fence { pred: FENCE_RW, succ: FENCE_RW });
                return Ok(());
            }
            _ => {}
        }
        if !self.b.isa.has_a {
            return Err(unsupported(format!("{op} without has_a")));
        }
        let addr = self.reg(ctx, args[0])?;
        let rd = self.out(ctx, inst)?;
        let (lop, src_v, expected_v) = match data {
            D::AtomicCas { .. } => (AtomicLoopOp::Cas, args[2], Some(args[1])),
            D::AtomicRmw { op: rmw, .. } => {
                let l = match rmw {
                    AtomicRmwOp::Add => AtomicLoopOp::Add,
                    AtomicRmwOp::Sub => AtomicLoopOp::Sub,
                    AtomicRmwOp::And => AtomicLoopOp::And,
                    AtomicRmwOp::Nand => AtomicLoopOp::Nand,
                    AtomicRmwOp::Or => AtomicLoopOp::Or,
                    AtomicRmwOp::Xor => AtomicLoopOp::Xor,
                    AtomicRmwOp::Xchg => AtomicLoopOp::Xchg,
                    AtomicRmwOp::Umin => AtomicLoopOp::Umin,
                    AtomicRmwOp::Umax => AtomicLoopOp::Umax,
                    AtomicRmwOp::Smin => AtomicLoopOp::Smin,
                    AtomicRmwOp::Smax => AtomicLoopOp::Smax,
                };
                (l, args[1], None)
            }
            _ => return Err(unsupported_op(op, vty)),
        };
        if bits >= 32 && lop != AtomicLoopOp::Cas && lop != AtomicLoopOp::Nand {
            // One AMO.
            let w = bits == 64;
            let mut src = self.reg_or_zero(ctx, src_v)?;
            // (doubleword, word) forms; `sub` adds the negated operand.
            let (d, wd) = match lop {
                AtomicLoopOp::Add => (AtomicOp::AmoaddD, AtomicOp::AmoaddW),
                AtomicLoopOp::Sub => {
                    src = self.rrr(ctx, AluOpRRR::Sub, zero_reg(), src)?;
                    (AtomicOp::AmoaddD, AtomicOp::AmoaddW)
                }
                AtomicLoopOp::And => (AtomicOp::AmoandD, AtomicOp::AmoandW),
                AtomicLoopOp::Or => (AtomicOp::AmoorD, AtomicOp::AmoorW),
                AtomicLoopOp::Xor => (AtomicOp::AmoxorD, AtomicOp::AmoxorW),
                AtomicLoopOp::Xchg => (AtomicOp::AmoswapD, AtomicOp::AmoswapW),
                AtomicLoopOp::Smin => (AtomicOp::AmominD, AtomicOp::AmominW),
                AtomicLoopOp::Smax => (AtomicOp::AmomaxD, AtomicOp::AmomaxW),
                AtomicLoopOp::Umin => (AtomicOp::AmominuD, AtomicOp::AmominuW),
                _ => (AtomicOp::AmomaxuD, AtomicOp::AmomaxuW),
            };
            let aop = if w { d } else { wd };
            ctx.emit(Inst::Atomic { op: aop, aq: true, rl: true, rd, addr, src, trap });
            return Ok(());
        }
        let signed_cmp = matches!(lop, AtomicLoopOp::Smin | AtomicLoopOp::Smax);
        let t0 = self.tmp(ctx)?;
        let t1 = self.tmp(ctx)?;
        if bits >= 32 {
            // CAS compares what lr.w loaded (sign-extended) with the expected value.
            let (src, expected) = if bits == 32 {
                let e = match expected_v {
                    Some(e) => self.ext_value(ctx, e, true)?,
                    None => zero_reg(),
                };
                (self.reg_or_zero(ctx, src_v)?, e)
            } else {
                let e = match expected_v {
                    Some(e) => self.reg_or_zero(ctx, e)?,
                    None => zero_reg(),
                };
                (self.reg_or_zero(ctx, src_v)?, e)
            };
            ctx.emit(Inst::AtomicLoop {
                op: lop,
                word64: bits == 64,
                narrow: None,
                addr,
                src,
                expected,
                dst: rd,
                t0,
                t1,
                trap,
            });
            return Ok(());
        }
        // A field of the aligned word: shift = (addr & 3) * 8.
        let aligned = self.rri(ctx, AluOpRRI::Andi, addr, -4)?;
        let low = self.rri(ctx, AluOpRRI::Andi, addr, 3)?;
        let shift = self.rri(ctx, AluOpRRI::Slli, low, 3)?;
        let src = if lop == AtomicLoopOp::Cas {
            self.ext_value(ctx, src_v, false)?
        } else {
            self.ext_value(ctx, src_v, signed_cmp)?
        };
        let expected = match expected_v {
            Some(e) => self.ext_value(ctx, e, false)?,
            None => zero_reg(),
        };
        ctx.emit(Inst::AtomicLoop {
            op: lop,
            word64: false,
            narrow: Some((bits as u8, shift)),
            addr: aligned,
            src,
            expected,
            dst: rd,
            t0,
            t1,
            trap,
        });
        Ok(())
    }

    // -------------------------------------------------------------------------------------
    // Terminators

    fn lower_branch(&self, ctx: Ctx, inst: IrInst, targets: &[MachLabel]) -> CodegenResult<()> {
        let data = *ctx.data(inst);
        match data.opcode() {
            Opcode::Jump => {
                ctx.emit(Inst::Jal { dest: targets[0] });
                Ok(())
            }
            Opcode::Brif => {
                // Both edges the same: a plain jump (a use of the condition after the edge
                // moves would be rejected by the allocator as `DisallowedBranchArg`).
                if targets[0] == targets[1] {
                    ctx.emit(Inst::Jal { dest: targets[0] });
                    return Ok(());
                }
                let arg = ctx.inputs(inst)[0];
                let c = self.cond(ctx, arg)?;
                ctx.emit(Inst::CondBr {
                    cond: c.cond,
                    rs1: c.rs1,
                    rs2: c.rs2,
                    taken: targets[0],
                    not_taken: targets[1],
                });
                Ok(())
            }
            Opcode::BrTable => {
                if targets.iter().all(|&t| t == targets[0]) {
                    ctx.emit(Inst::Jal { dest: targets[0] });
                    return Ok(());
                }
                let arg = ctx.inputs(inst)[0];
                let index = self.ext_value(ctx, arg, false)?;
                let tmp = self.tmp(ctx)?;
                let default = targets[0];
                ctx.emit(Inst::BrTable { index, tmp, default, targets: targets[1..].into() });
                Ok(())
            }
            Opcode::Trap => {
                let D::Trap { code, .. } = data else { unreachable!() };
                ctx.emit(Inst::Udf { code });
                Ok(())
            }
            op => Err(unsupported(format!("terminator {op}"))),
        }
    }
}

/// An i128 address split into its two 8-byte halves.
fn split_amode(a: AMode) -> (AMode, AMode) {
    match a {
        AMode::RegOffset(r, o) => (AMode::RegOffset(r, o), AMode::RegOffset(r, o + 8)),
        AMode::Stack(StackAMode::Slot(o)) => (a, AMode::Stack(StackAMode::Slot(o + 8))),
        AMode::Stack(StackAMode::IncomingArg(o)) => (a, AMode::Stack(StackAMode::IncomingArg(o + 8))),
        AMode::Stack(StackAMode::OutgoingArg(o)) => (a, AMode::Stack(StackAMode::OutgoingArg(o + 8))),
        AMode::Label(_) => (a, a),
    }
}

/// `icmp cc a, b` on 64-bit registers as a branch comparison.
pub(crate) fn int_cmp(cc: IntCC, a: Reg, b: Reg) -> Cmp {
    let (cond, rs1, rs2) = match cc {
        IntCC::Equal => (BranchCond::Eq, a, b),
        IntCC::NotEqual => (BranchCond::Ne, a, b),
        IntCC::SignedLessThan => (BranchCond::Lt, a, b),
        IntCC::SignedGreaterThanOrEqual => (BranchCond::Ge, a, b),
        IntCC::SignedGreaterThan => (BranchCond::Lt, b, a),
        IntCC::SignedLessThanOrEqual => (BranchCond::Ge, b, a),
        IntCC::UnsignedLessThan => (BranchCond::Ltu, a, b),
        IntCC::UnsignedGreaterThanOrEqual => (BranchCond::Geu, a, b),
        IntCC::UnsignedGreaterThan => (BranchCond::Ltu, b, a),
        IntCC::UnsignedLessThanOrEqual => (BranchCond::Geu, b, a),
    };
    Cmp { cond, rs1, rs2 }
}

fn unsigned_cc(cc: IntCC) -> IntCC {
    match cc {
        IntCC::SignedLessThan => IntCC::UnsignedLessThan,
        IntCC::SignedGreaterThanOrEqual => IntCC::UnsignedGreaterThanOrEqual,
        IntCC::SignedGreaterThan => IntCC::UnsignedGreaterThan,
        IntCC::SignedLessThanOrEqual => IntCC::UnsignedLessThanOrEqual,
        c => c,
    }
}

/// The value of an IEEE half-precision number.
fn half_to_f64(h: u16) -> f64 {
    let s = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let e = ((h >> 10) & 31) as i32;
    let m = (h & 1023) as f64;
    match e {
        0 => s * m * (-24f64).exp2(),
        31 if m == 0.0 => s * f64::INFINITY,
        31 => f64::NAN,
        _ => s * (1.0 + m / 1024.0) * ((e - 15) as f64).exp2(),
    }
}

/// Is the integral `v` exactly representable in half precision (11 significant bits,
/// at most 65504)?
fn half_representable(v: f64) -> bool {
    let m = v.abs();
    if m == 0.0 {
        return true;
    }
    let ulp = (m.log2().floor() - 10.0).exp2();
    m <= 65504.0 && (m / ulp).fract() == 0.0
}

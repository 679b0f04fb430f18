//! Lowering of IR to x86-64 instructions: one `match` on the opcode, with small matchers
//! for immediates, addressing modes, load folding, and compare fusion.
//!
//! Matchers:
//! - [`X64Lower::rmi`]: an operand as an immediate (a constant that fits in 32 signed
//!   bits), a memory operand (a load that can be merged into this instruction), or a
//!   register;
//! - [`X64Lower::amode`]: an address with `iadd` of constants, shifted indices and bases
//!   folded into one addressing mode;
//! - [`X64Lower::cond`]: a branch/select condition, fusing the `icmp`/`fcmp` that produced
//!   it into flags when possible.
//!
//! Conventions: a narrow integer (i8, i16, i32) lives in the low bits of a register and
//! its upper bits are unspecified, so an operation whose result depends on them (right
//! shifts, division, comparisons, flags) works at the value's own width or extends first.
//!
//! An instruction with a vector result or a vector first operand (and `bitcast` between
//! i128 and f128) is lowered by the child module `lower_vector.rs`.

#[path = "lower_vector.rs"]
mod lower_vector;

use crate::x64::abi::{X64Abi, load_to_reg, store_from_reg};
use crate::x64::inst::*;
use crate::x64::regs::{enc, gpr_preg};
use crate::x64::settings::X64Settings;
use kiln_codegen::machinst::abi::{AbiSpec, StackAMode};
use kiln_codegen::machinst::call::reloc_target;
use kiln_codegen::machinst::lower::{Lower, LowerBackend};
use kiln_codegen::machinst::{MachLabel, Reg, ValueRegs, Writable};
use kiln_codegen::{CodegenError, CodegenResult};
use kiln_ir::condcodes::{FloatCC, IntCC};
use kiln_ir::extname::LibCall;
use kiln_ir::function::GlobalValueData;
use kiln_ir::instructions::AtomicRmwOp;
use kiln_ir::memflags::{Endianness, MemFlags};
use kiln_ir::settings::{Flags, IsaFlags};
use kiln_ir::trapcode::TrapCode;
use kiln_ir::types::{self, Type};
use kiln_ir::{Inst as IrInst, InstructionData as D, Opcode, Value};
use regalloc2::RegClass;
use smallvec::SmallVec;
use target_lexicon::Triple;

/// The x86-64 lowering backend.
pub struct X64Backend {
    /// Shared flags.
    pub flags: Flags,
    /// ISA extensions.
    pub isa: X64Settings,
    /// The ABI object.
    pub abi: X64Abi,
}

impl X64Backend {
    /// A backend for these flags and triple.
    pub fn new(flags: Flags, isa_flags: &IsaFlags, triple: Triple) -> Self {
        X64Backend { isa: X64Settings::new(isa_flags), abi: X64Abi::new(flags.clone(), *isa_flags, triple), flags }
    }
}

type Ctx<'a, 'f> = &'a mut Lower<'f, Inst>;

fn unsupported(what: impl Into<String>) -> CodegenError {
    CodegenError::Unsupported(format!("{} on x86_64", what.into()))
}

fn unsupported_op(op: Opcode, ty: Type) -> CodegenError {
    unsupported(format!("{ty} {op}"))
}

/// The sign-bit mask and the magnitude mask (every other bit of the type) of a float type,
/// as 16-byte XMM constants.
fn float_masks(ty: Type) -> ([u8; 16], [u8; 16]) {
    let bits = ty.bits() as usize;
    let (mut sign, mut magnitude) = ([0u8; 16], [0u8; 16]);
    for i in 0..bits.min(128) {
        if i == bits - 1 {
            sign[i / 8] |= 1 << (i % 8);
        } else {
            magnitude[i / 8] |= 1 << (i % 8);
        }
    }
    (sign, magnitude)
}

/// Convert an IR integer condition to an x86 condition (after `cmp x, y`).
fn intcc(cc: IntCC) -> CC {
    match cc {
        IntCC::Equal => CC::Z,
        IntCC::NotEqual => CC::NZ,
        IntCC::SignedLessThan => CC::L,
        IntCC::SignedGreaterThanOrEqual => CC::NL,
        IntCC::SignedGreaterThan => CC::NLE,
        IntCC::SignedLessThanOrEqual => CC::LE,
        IntCC::UnsignedLessThan => CC::B,
        IntCC::UnsignedGreaterThanOrEqual => CC::NB,
        IntCC::UnsignedGreaterThan => CC::NBE,
        IntCC::UnsignedLessThanOrEqual => CC::BE,
    }
}

/// A condition in the flags: one x86 condition, or two combined.
#[derive(Copy, Clone, Debug)]
enum Cond {
    One(CC),
    /// Both hold.
    And(CC, CC),
    /// Either holds.
    Or(CC, CC),
}

impl Cond {
    fn invert(self) -> Cond {
        match self {
            Cond::One(c) => Cond::One(c.invert()),
            Cond::And(a, b) => Cond::Or(a.invert(), b.invert()),
            Cond::Or(a, b) => Cond::And(a.invert(), b.invert()),
        }
    }
}

/// How to evaluate `fcmp cc x, y` with `ucomis`: which operand order and condition.
fn floatcc(cc: FloatCC) -> (bool, Cond) {
    // (swap operands, condition after `ucomis a, b` comparing b to a in AT&T terms:
    // flags are those of "first - second" with first = src1).
    use FloatCC::*;
    match cc {
        Ordered => (false, Cond::One(CC::NP)),
        Unordered => (false, Cond::One(CC::P)),
        Equal => (false, Cond::And(CC::Z, CC::NP)),
        NotEqual => (false, Cond::Or(CC::NZ, CC::P)),
        OrderedNotEqual => (false, Cond::One(CC::NZ)),
        UnorderedOrEqual => (false, Cond::One(CC::Z)),
        GreaterThan => (false, Cond::One(CC::NBE)),
        GreaterThanOrEqual => (false, Cond::One(CC::NB)),
        LessThan => (true, Cond::One(CC::NBE)),
        LessThanOrEqual => (true, Cond::One(CC::NB)),
        UnorderedOrLessThan => (false, Cond::One(CC::B)),
        UnorderedOrLessThanOrEqual => (false, Cond::One(CC::BE)),
        UnorderedOrGreaterThan => (true, Cond::One(CC::B)),
        UnorderedOrGreaterThanOrEqual => (true, Cond::One(CC::BE)),
    }
}

fn is_int_ty(ty: Type) -> bool {
    ty.is_int() && ty.is_scalar() && ty.bits() <= 64
}

fn size_of(ty: Type) -> OperandSize {
    OperandSize::from_bits(ty.bits())
}

fn size32(ty: Type) -> OperandSize {
    OperandSize::from_ty_min32(ty)
}

/// The trap code of an access with `flags`.
/// The read-modify-write loop operation of an `atomic_rmw` operation.
fn loop_op(rmw: AtomicRmwOp) -> AtomicLoopOp {
    use AtomicLoopOp::*;
    // In the declaration order of `AtomicRmwOp`.
    const OPS: [AtomicLoopOp; 11] = [Add, Sub, And, Nand, Or, Xor, Xchg, Umin, Umax, Smin, Smax];
    OPS[rmw as usize]
}

fn mem_trap(flags: MemFlags) -> Option<TrapCode> {
    flags.trap_code()
}

impl LowerBackend for X64Backend {
    type MInst = Inst;
    type Abi = X64Abi;

    fn abi(&self) -> &X64Abi {
        &self.abi
    }

    fn lower(&self, ctx: &mut Lower<'_, Inst>, inst: IrInst) -> CodegenResult<()> {
        X64Lower { b: self }.lower_inst(ctx, inst)
    }

    fn lower_branch(&self, ctx: &mut Lower<'_, Inst>, inst: IrInst, targets: &[MachLabel]) -> CodegenResult<()> {
        X64Lower { b: self }.lower_branch(ctx, inst, targets)
    }
}

struct X64Lower<'b> {
    b: &'b X64Backend,
}

impl X64Lower<'_> {
    // -------------------------------------------------------------------------------------
    // Operand matchers

    fn reg(&self, ctx: Ctx, v: Value) -> CodegenResult<Reg> {
        ctx.put_value_in_reg(v)
    }

    fn regs(&self, ctx: Ctx, v: Value) -> CodegenResult<ValueRegs> {
        ctx.put_value_in_regs(v)
    }

    fn tmp(&self, ctx: Ctx, ty: Type) -> CodegenResult<Writable<Reg>> {
        ctx.alloc_tmp(ty)
    }

    /// A constant that fits a sign-extended 32-bit immediate at width `ty`.
    fn imm32(&self, ctx: Ctx, v: Value, ty: Type) -> Option<i32> {
        let bits = ctx.iconst_bits(v)?;
        let s = kiln_ir::immediates::Imm64(bits as i64).sign_extend_from(ty.bits()).0;
        if ty.bits() <= 32 {
            // 8/16/32-bit operations use the low bits only.
            Some(s as i32)
        } else {
            i32::try_from(s).ok()
        }
    }

    /// If `v` is a load of exactly `ty` that can be merged here, its memory operand.
    fn sinkable_load(&self, ctx: Ctx, v: Value, ty: Type) -> CodegenResult<Option<Mem>> {
        let Some(load) = ctx.sinkable_inst(v) else { return Ok(None) };
        let D::Load { opcode: Opcode::Load, flags, arg, offset } = *ctx.data(load) else { return Ok(None) };
        let mf = ctx.f.dfg.mem_flags.get(flags);
        if ctx.value_ty(v) != ty || mf.explicit_endianness() == Some(Endianness::Big) {
            return Ok(None);
        }
        ctx.sink_inst(load);
        let amode = self.amode(ctx, arg, offset.0)?;
        Ok(Some(Mem::new(amode, mem_trap(mf))))
    }

    /// Whether `a` and `b` are both used only by `inst` and defined by instructions of its
    /// block, `a` after `b` (both then die at `inst`, and `a` is the more recent value).
    fn dies_later_def(ctx: Ctx, inst: IrInst, a: Value, b: Value) -> bool {
        use kiln_codegen::machinst::lower::Uses;
        if ctx.uses(a) != Uses::Once || ctx.uses(b) != Uses::Once {
            return false;
        }
        let (Some(da), Some(db)) = (ctx.def_inst(a), ctx.def_inst(b)) else { return false };
        let layout = &ctx.f.layout;
        let block = layout.inst_block(inst);
        layout.inst_block(da) == block
            && layout.inst_block(db) == block
            && layout.cmp_insts(da, db) == core::cmp::Ordering::Greater
    }

    /// Could `v` be merged as a memory operand of width `ty` here ([`Self::sinkable_load`]
    /// without sinking it)? Commutative operations use it to put such a load second.
    fn is_sinkable_load(&self, ctx: Ctx, v: Value, ty: Type) -> bool {
        ctx.sinkable_inst(v).is_some_and(|load| {
            matches!(*ctx.data(load), D::Load { opcode: Opcode::Load, flags, .. }
                if ctx.value_ty(v) == ty
                    && ctx.f.dfg.mem_flags.get(flags).explicit_endianness() != Some(Endianness::Big))
        })
    }

    fn rmi(&self, ctx: Ctx, v: Value, ty: Type) -> CodegenResult<RegMemImm> {
        if let Some(i) = self.imm32(ctx, v, ty) {
            return Ok(RegMemImm::Imm(i));
        }
        if ty.bits() >= 32
            && let Some(m) = self.sinkable_load(ctx, v, ty)?
        {
            return Ok(RegMemImm::Mem(m));
        }
        Ok(RegMemImm::Reg(self.reg(ctx, v)?))
    }

    fn rm(&self, ctx: Ctx, v: Value, ty: Type) -> CodegenResult<RegMem> {
        if (ty.bits() >= 32 || ty.is_float())
            && let Some(m) = self.sinkable_load(ctx, v, ty)?
        {
            return Ok(RegMem::Mem(m));
        }
        Ok(RegMem::Reg(self.reg(ctx, v)?))
    }

    /// Fold `addr + offset` into an addressing mode.
    fn amode(&self, ctx: Ctx, addr: Value, offset: i32) -> CodegenResult<Amode> {
        self.amode_for(ctx, addr, offset, kiln_codegen::machinst::lower::Uses::Once)
    }

    /// [`Self::amode`] for an instruction that stands for `own` uses of `addr` (a
    /// read-modify-write merges a load and a store of one address: two): a sum with no
    /// uses beyond those is folded like a single-use one.
    fn amode_for(
        &self,
        ctx: Ctx,
        addr: Value,
        offset: i32,
        own: kiln_codegen::machinst::lower::Uses,
    ) -> CodegenResult<Amode> {
        use kiln_codegen::machinst::lower::Uses;
        let sole = |ctx: Ctx, v: Value| ctx.uses(v) == Uses::Once || (v == addr && ctx.uses(v) == own);
        let mut disp = offset as i64;
        let mut base = addr;
        // Peel constant additions.
        for _ in 0..4 {
            let Some(def) = ctx.def_inst(base) else { break };
            let D::Binary { opcode: Opcode::Iadd, args } = *ctx.data(def) else { break };
            if ctx.value_ty(base) != types::I64 {
                break;
            }
            let exposed = !sole(ctx, base);
            if let Some(c) = ctx.iconst_signed(args[1]) {
                let nd = disp + c;
                if i32::try_from(nd).is_err() {
                    break;
                }
                disp = nd;
                base = args[0];
            } else if let Some(c) = ctx.iconst_signed(args[0]) {
                let nd = disp + c;
                if i32::try_from(nd).is_err() {
                    break;
                }
                disp = nd;
                base = args[1];
            } else {
                break;
            }
            // The sum may still be computed for another user: its operand is used twice.
            if exposed {
                ctx.note_exposed_use(base);
            }
        }
        let disp = disp as i32;
        // base + index << shift, when the sum has no other use. (Folding a sum that has
        // other uses too keeps both operands live and adds an index byte to every access:
        // on sqlite.clif 3% more code, so only the single use is folded.)
        if let Some(def) = ctx.def_inst(base)
            && let D::Binary { opcode: Opcode::Iadd, args } = *ctx.data(def)
            && ctx.value_ty(base) == types::I64
            && sole(ctx, base)
        {
            let (x, y) = (args[0], args[1]);
            for (b, i) in [(x, y), (y, x)] {
                if let Some(sdef) = ctx.def_inst(i)
                    && let D::Binary { opcode: Opcode::Ishl, args: sargs } = *ctx.data(sdef)
                    && let Some(sh) = ctx.iconst_bits(sargs[1])
                {
                    let sh = sh & 63;
                    if sh <= 3 {
                        if ctx.uses(i) != kiln_codegen::machinst::lower::Uses::Once {
                            ctx.note_exposed_use(b);
                            ctx.note_exposed_use(sargs[0]);
                        }
                        let base = self.reg(ctx, b)?;
                        let index = self.reg(ctx, sargs[0])?;
                        return Ok(Amode::ImmRegRegShift { disp, base, index, shift: sh as u8 });
                    }
                }
            }
            let base = self.reg(ctx, x)?;
            let index = self.reg(ctx, y)?;
            return Ok(Amode::ImmRegRegShift { disp, base, index, shift: 0 });
        }
        Ok(Amode::ImmReg { disp, base: self.reg(ctx, base)? })
    }

    fn mem(&self, ctx: Ctx, flags: MemFlags, addr: Value, offset: i32) -> CodegenResult<Mem> {
        Ok(Mem::new(self.amode(ctx, addr, offset)?, mem_trap(flags)))
    }

    /// Materialize a 64-bit constant.
    fn constant(&self, ctx: Ctx, ty: Type, bits: u64) -> CodegenResult<Reg> {
        let dst = self.tmp(ctx, ty)?;
        let size = if ty.bits() > 32 { OperandSize::S64 } else { OperandSize::S32 };
        let imm = if size == OperandSize::S32 { bits & 0xffff_ffff } else { bits };
        ctx.emit(Inst::Imm { size, imm, dst });
        Ok(dst.to_reg())
    }

    /// Load a constant float/vector of `bytes` into an XMM register.
    fn xmm_constant(&self, ctx: Ctx, bytes: &[u8], ty: Type) -> CodegenResult<Reg> {
        let dst = self.tmp(ctx, ty)?;
        self.xmm_constant_into(ctx, bytes, dst);
        Ok(dst.to_reg())
    }

    /// Load a constant float/vector of `bytes` into `dst` (no copy through a temporary).
    fn xmm_constant_into(&self, ctx: Ctx, bytes: &[u8], dst: Writable<Reg>) {
        if bytes.iter().all(|b| *b == 0) {
            ctx.emit(Inst::XmmZero { dst });
            return;
        }
        // The constant pool label is created at emission; we describe it by content.
        let op = match bytes.len() {
            4 => XmmMovOp::Movss,
            8 => XmmMovOp::Movsd,
            _ => XmmMovOp::Movups,
        };
        let label = ctx_constant_label(ctx, bytes);
        ctx.emit(Inst::XmmLoad { op, mem: Mem::new(Amode::RipRelative { label }, None), dst, vex: self.b.isa.has_avx });
    }

    /// Extend the integer value `v` of type `ty` to 32 or 64 bits (`to64`) in a new
    /// register.
    fn extend(&self, ctx: Ctx, v: Value, signed: bool, to64: bool) -> CodegenResult<Reg> {
        let ty = ctx.value_ty(v);
        let r = self.reg(ctx, v)?;
        self.extend_reg(ctx, r, ty.bits(), signed, to64)
    }

    fn extend_reg(&self, ctx: Ctx, r: Reg, from_bits: u32, signed: bool, to64: bool) -> CodegenResult<Reg> {
        let to = if to64 { 64 } else { 32 };
        if from_bits >= to {
            return Ok(r);
        }
        let dst = self.tmp(ctx, if to64 { types::I64 } else { types::I32 })?;
        ctx.emit(self.b.abi.gen_extend(dst, r, signed, from_bits as u8, to as u8));
        Ok(dst.to_reg())
    }

    fn emit_alu(&self, ctx: Ctx, size: OperandSize, op: AluOp, src1: Reg, src2: RegMemImm) -> CodegenResult<Reg> {
        let dst = self.tmp(ctx, if size == OperandSize::S64 { types::I64 } else { types::I32 })?;
        ctx.emit(Inst::AluRmiR { size, op, src1, src2, dst });
        Ok(dst.to_reg())
    }

    fn output(&self, ctx: Ctx, inst: IrInst) -> CodegenResult<Writable<Reg>> {
        ctx.output_reg(inst, 0)
    }

    fn mov_to(&self, ctx: Ctx, dst: Writable<Reg>, src: Reg) {
        if src.class() == RegClass::Int {
            ctx.emit(Inst::MovRR { size: OperandSize::S64, src, dst });
        } else {
            ctx.emit(Inst::XmmMovRR { src, dst });
        }
    }

    // -------------------------------------------------------------------------------------
    // Conditions

    /// Emit flags for `icmp cc x, y` (scalar ints up to 64 bits) and return the condition.
    fn emit_icmp(&self, ctx: Ctx, cc: IntCC, x: Value, y: Value, allow_sink: bool) -> CodegenResult<Cond> {
        let ty = ctx.value_ty(x);
        if ty == types::I128 {
            return self.emit_icmp128(ctx, cc, x, y);
        }
        let size = size_of(ty);
        // Comparing with zero for equality: `test x, x`.
        if matches!(cc, IntCC::Equal | IntCC::NotEqual) && ctx.iconst_bits(y) == Some(0) {
            self.emit_test_nonzero(ctx, x, ty)?;
            return Ok(Cond::One(intcc(cc)));
        }
        // A constant on the left: swap.
        let (cc, x, y) = if ctx.iconst_bits(x).is_some() && ctx.iconst_bits(y).is_none() {
            (cc.swap_args(), y, x)
        } else {
            (cc, x, y)
        };
        let src1 = self.reg(ctx, x)?;
        let src2 = if size == OperandSize::S8 || size == OperandSize::S16 {
            match self.imm32(ctx, y, ty) {
                Some(i) => RegMemImm::Imm(i),
                None => RegMemImm::Reg(self.reg(ctx, y)?),
            }
        } else if allow_sink {
            self.rmi(ctx, y, ty)?
        } else {
            match self.imm32(ctx, y, ty) {
                Some(i) => RegMemImm::Imm(i),
                None => RegMemImm::Reg(self.reg(ctx, y)?),
            }
        };
        ctx.emit(Inst::CmpRmiR { size, op: CmpOp::Cmp, src1, src2 });
        Ok(Cond::One(intcc(cc)))
    }

    fn emit_icmp128(&self, ctx: Ctx, cc: IntCC, x: Value, y: Value) -> CodegenResult<Cond> {
        let a = self.regs(ctx, x)?;
        let b = self.regs(ctx, y)?;
        match cc {
            IntCC::Equal | IntCC::NotEqual => {
                // (a.lo ^ b.lo) | (a.hi ^ b.hi)
                let lo = self.emit_alu(ctx, OperandSize::S64, AluOp::Xor, a.reg(0), RegMemImm::Reg(b.reg(0)))?;
                let hi = self.emit_alu(ctx, OperandSize::S64, AluOp::Xor, a.reg(1), RegMemImm::Reg(b.reg(1)))?;
                self.emit_alu(ctx, OperandSize::S64, AluOp::Or, lo, RegMemImm::Reg(hi))?;
                Ok(Cond::One(if cc == IntCC::Equal { CC::Z } else { CC::NZ }))
            }
            _ => {
                // Compute a - b across both halves for <, >=; swap operands for >, <=.
                let (cc, a, b) = match cc {
                    IntCC::SignedGreaterThan
                    | IntCC::SignedLessThanOrEqual
                    | IntCC::UnsignedGreaterThan
                    | IntCC::UnsignedLessThanOrEqual => (cc.swap_args(), b, a),
                    _ => (cc, a, b),
                };
                ctx.emit(Inst::CmpRmiR {
                    size: OperandSize::S64,
                    op: CmpOp::Cmp,
                    src1: a.reg(0),
                    src2: RegMemImm::Reg(b.reg(0)),
                });
                // hi - hi - borrow, keeping the flags of the full subtraction.
                self.emit_alu(ctx, OperandSize::S64, AluOp::Sbb, a.reg(1), RegMemImm::Reg(b.reg(1)))?;
                Ok(Cond::One(intcc(cc)))
            }
        }
    }

    /// Emit flags for `fcmp cc x, y`.
    fn emit_fcmp(&self, ctx: Ctx, cc: FloatCC, x: Value, y: Value, allow_sink: bool) -> CodegenResult<Cond> {
        let ty = ctx.value_ty(x);
        if ty != types::F32 && ty != types::F64 {
            return Err(unsupported_op(Opcode::Fcmp, ty));
        }
        let (swap, cond) = floatcc(cc);
        let (a, b) = if swap { (y, x) } else { (x, y) };
        let src1 = self.reg(ctx, a)?;
        let src2 = if allow_sink { self.rm(ctx, b, ty)? } else { RegMem::Reg(self.reg(ctx, b)?) };
        ctx.emit(Inst::XmmCmp { double: ty == types::F64, src1, src2 });
        Ok(cond)
    }

    /// Emit flags for a branch/select condition value `c` and return the condition under
    /// which `c` is true. Fuses the `icmp`/`fcmp` that produced it (possibly through
    /// extensions, which keep 0/1 non-zero-ness) when it is in the same block: the compare
    /// is pure, so repeating it is always correct and cheaper than testing a materialized
    /// boolean.
    fn cond(&self, ctx: Ctx, c: Value) -> CodegenResult<Cond> {
        let mut v = c;
        // A load feeding the compare may only be merged into it if the compare is
        // evaluated exactly once, i.e. every value of the chain has this single use.
        let mut single_use = true;
        for _ in 0..4 {
            let Some(def) = ctx.def_inst(v) else { break };
            if ctx.f.layout.inst_block(def) != ctx.cur_block() {
                break;
            }
            single_use &= ctx.uses(v) == kiln_codegen::machinst::lower::Uses::Once;
            match *ctx.data(def) {
                D::IntCompare { cond, args, .. } if ctx.value_ty(args[0]).is_scalar() => {
                    return self.emit_icmp(ctx, cond, args[0], args[1], single_use);
                }
                D::FloatCompare { cond, args, .. } if ctx.value_ty(args[0]).is_scalar() => {
                    return self.emit_fcmp(ctx, cond, args[0], args[1], single_use);
                }
                D::Unary { opcode: Opcode::Uextend | Opcode::Sextend, arg } => v = arg,
                _ => break,
            }
        }
        let ty = ctx.value_ty(c);
        if ty == types::I128 {
            let r = self.regs(ctx, c)?;
            self.emit_alu(ctx, OperandSize::S64, AluOp::Or, r.reg(0), RegMemImm::Reg(r.reg(1)))?;
            return Ok(Cond::One(CC::NZ));
        }
        self.emit_test_nonzero(ctx, c, ty)?;
        Ok(Cond::One(CC::NZ))
    }

    /// A loop's exit test `brif (icmp eq|ne x, K), block(.., x + C, ..), ..` compares the
    /// next counter instead: `x + C ==|!= K + C` (the same under wrapping arithmetic). Then
    /// `x` dies at the addition, the allocator can keep `x` and `x + C` in one register, and
    /// the back edge needs no move (so no jump either). The e-graph does the opposite
    /// rewrite (it compares `x` to fold the constant), which is right everywhere but here.
    /// Returns the condition if it emitted the compare.
    fn counter_test(&self, ctx: Ctx, branch: IrInst, c: Value) -> CodegenResult<Option<Cond>> {
        let Some(def) = ctx.def_inst(c) else { return Ok(None) };
        let D::IntCompare { cond: cc @ (IntCC::Equal | IntCC::NotEqual), args, .. } = *ctx.data(def) else {
            return Ok(None);
        };
        let ty = ctx.value_ty(args[0]);
        if ctx.f.layout.inst_block(def) != ctx.cur_block()
            || ctx.uses(c) != kiln_codegen::machinst::lower::Uses::Once
            || !is_int_ty(ty)
            || ty.bits() < 32
        {
            return Ok(None);
        }
        let (x, k) = match (ctx.iconst_bits(args[0]), ctx.iconst_bits(args[1])) {
            (None, Some(k)) => (args[0], k),
            (Some(k), None) => (args[1], k),
            _ => return Ok(None),
        };
        let x = ctx.f.dfg.resolve_aliases(x);
        let pool = &ctx.f.dfg.value_lists;
        for dest in ctx.f.dfg.branch_destinations(branch) {
            for a in dest.args(pool) {
                let Some(a) = a.as_value() else { continue };
                let Some(adef) = ctx.def_inst(a) else { continue };
                let D::Binary { opcode: Opcode::Iadd, args: aargs } = *ctx.data(adef) else { continue };
                let (ax, ac) = (ctx.f.dfg.resolve_aliases(aargs[0]), ctx.f.dfg.resolve_aliases(aargs[1]));
                let step = match (ax == x, ac == x) {
                    (true, false) => ctx.iconst_bits(ac),
                    (false, true) => ctx.iconst_bits(ax),
                    _ => None,
                };
                let Some(step) = step else { continue };
                let bound = k.wrapping_add(step);
                let Some(imm) = imm_at_width(bound, ty) else { continue };
                let src1 = self.reg(ctx, a)?;
                ctx.emit(Inst::CmpRmiR { size: size_of(ty), op: CmpOp::Cmp, src1, src2: RegMemImm::Imm(imm) });
                return Ok(Some(Cond::One(intcc(cc))));
            }
        }
        Ok(None)
    }

    /// Set ZF iff `v` (of type `ty`) is zero; a single-use `band` is folded into `test`.
    fn emit_test_nonzero(&self, ctx: Ctx, v: Value, ty: Type) -> CodegenResult<()> {
        let size = size_of(ty);
        if let Some(def) = ctx.def_inst(v)
            && let D::Binary { opcode: Opcode::Band, args } = *ctx.data(def)
            && is_int_ty(ty)
            && ctx.uses(v) == kiln_codegen::machinst::lower::Uses::Once
        {
            let (a, b) = if ctx.iconst_bits(args[0]).is_some() { (args[1], args[0]) } else { (args[0], args[1]) };
            let src1 = self.reg(ctx, a)?;
            let src2 = match self.imm32(ctx, b, ty) {
                Some(i) => RegMemImm::Imm(i),
                None => RegMemImm::Reg(self.reg(ctx, b)?),
            };
            ctx.emit(Inst::CmpRmiR { size, op: CmpOp::Test, src1, src2 });
            return Ok(());
        }
        let r = self.reg(ctx, v)?;
        ctx.emit(Inst::CmpRmiR { size, op: CmpOp::Test, src1: r, src2: RegMemImm::Reg(r) });
        Ok(())
    }

    /// Materialize a condition in the flags as an i8 0/1 in `dst`.
    fn setcc(&self, ctx: Ctx, cond: Cond, dst: Writable<Reg>) -> CodegenResult<()> {
        match cond {
            Cond::One(cc) => ctx.emit(Inst::Setcc { cc, dst }),
            Cond::And(a, b) | Cond::Or(a, b) => {
                let t1 = self.tmp(ctx, types::I8)?;
                let t2 = self.tmp(ctx, types::I8)?;
                ctx.emit(Inst::Setcc { cc: a, dst: t1 });
                ctx.emit(Inst::Setcc { cc: b, dst: t2 });
                let op = if matches!(cond, Cond::And(..)) { AluOp::And } else { AluOp::Or };
                ctx.emit(Inst::AluRmiR {
                    size: OperandSize::S32,
                    op,
                    src1: t1.to_reg(),
                    src2: RegMemImm::Reg(t2.to_reg()),
                    dst,
                });
            }
        }
        Ok(())
    }

    /// Emit a trap with `code` when `cond` holds.
    fn trap_if(&self, ctx: Ctx, cond: Cond, code: TrapCode) {
        match cond {
            Cond::One(cc) => ctx.emit(Inst::TrapIf { cc, code }),
            Cond::And(a, b) => ctx.emit(Inst::TrapIfAnd { cc1: a, cc2: b, code }),
            Cond::Or(a, b) => ctx.emit(Inst::TrapIfOr { cc1: a, cc2: b, code }),
        }
    }

    /// `dst = cond ? x : y` for register values.
    fn select_regs(
        &self,
        ctx: Ctx,
        cond: Cond,
        ty: Type,
        x: ValueRegs,
        y: ValueRegs,
        dst: ValueRegs,
    ) -> CodegenResult<()> {
        for i in 0..dst.len() {
            let (xr, yr, d) = (x.reg(i), y.reg(i), Writable::from_reg(dst.reg(i)));
            if xr.class() == RegClass::Int {
                let size = if ty.bits() > 32 || ty == types::I128 { OperandSize::S64 } else { OperandSize::S32 };
                match cond {
                    Cond::One(cc) => {
                        ctx.emit(Inst::Cmove { size, cc, consequent: RegMem::Reg(xr), alternative: yr, dst: d })
                    }
                    Cond::Or(a, b) => {
                        let t = self.tmp(ctx, types::I64)?;
                        ctx.emit(Inst::Cmove { size, cc: a, consequent: RegMem::Reg(xr), alternative: yr, dst: t });
                        ctx.emit(Inst::Cmove {
                            size,
                            cc: b,
                            consequent: RegMem::Reg(xr),
                            alternative: t.to_reg(),
                            dst: d,
                        });
                    }
                    Cond::And(a, b) => {
                        // cond ? x : y == !a ? y : (!b ? y : x)
                        let t = self.tmp(ctx, types::I64)?;
                        ctx.emit(Inst::Cmove {
                            size,
                            cc: b.invert(),
                            consequent: RegMem::Reg(yr),
                            alternative: xr,
                            dst: t,
                        });
                        ctx.emit(Inst::Cmove {
                            size,
                            cc: a.invert(),
                            consequent: RegMem::Reg(yr),
                            alternative: t.to_reg(),
                            dst: d,
                        });
                    }
                }
            } else {
                match cond {
                    Cond::One(cc) => ctx.emit(Inst::XmmCmove { cc, consequent: xr, alternative: yr, dst: d }),
                    Cond::Or(a, b) => {
                        let t = self.tmp(ctx, ty)?;
                        ctx.emit(Inst::XmmCmove { cc: a, consequent: xr, alternative: yr, dst: t });
                        ctx.emit(Inst::XmmCmove { cc: b, consequent: xr, alternative: t.to_reg(), dst: d });
                    }
                    Cond::And(a, b) => {
                        let t = self.tmp(ctx, ty)?;
                        ctx.emit(Inst::XmmCmove { cc: b.invert(), consequent: yr, alternative: xr, dst: t });
                        ctx.emit(Inst::XmmCmove { cc: a.invert(), consequent: yr, alternative: t.to_reg(), dst: d });
                    }
                }
            }
        }
        Ok(())
    }
}

/// The label of a constant-pool entry holding `bytes`, recorded in the lowering context
/// and bound at emission (labels above the block labels are constants).
fn ctx_constant_label(ctx: Ctx, bytes: &[u8]) -> MachLabel {
    ctx.constant_label(bytes)
}

impl X64Lower<'_> {
    // -------------------------------------------------------------------------------------
    // Instructions

    fn lower_inst(&self, ctx: Ctx, inst: IrInst) -> CodegenResult<()> {
        let data = *ctx.data(inst);
        let op = data.opcode();
        let args = ctx.inputs(inst);
        let out_ty = ctx.f.dfg.first_result(inst).map(|r| ctx.value_ty(r));
        let ty = out_ty.unwrap_or(types::INVALID);
        let in_ty = args.first().map(|a| ctx.value_ty(*a));
        let vector = ty.is_vector()
            || in_ty.is_some_and(|t| t.is_vector())
            || (op == Opcode::Bitcast
                && matches!((in_ty, ty), (Some(types::I128), types::F128) | (Some(types::F128), types::I128)));
        if vector && !op.is_terminator() && !op.is_call() {
            return self.lower_vector(ctx, inst, op, ty);
        }
        match op {
            Opcode::Nop | Opcode::SequencePoint => Ok(()),
            Opcode::Iconst => {
                let D::UnaryImm { imm, .. } = data else { unreachable!() };
                let dst = self.output(ctx, inst)?;
                let bits = imm.zero_extend_from(ty.bits()).0 as u64;
                if bits == 0 {
                    ctx.emit(Inst::ZeroReg { dst });
                } else {
                    let size = if ty.bits() > 32 { OperandSize::S64 } else { OperandSize::S32 };
                    ctx.emit(Inst::Imm { size, imm: bits, dst });
                }
                Ok(())
            }
            Opcode::F32const | Opcode::F64const | Opcode::F16const => {
                // f16 lives in the low 16 bits of an XMM register: load 4 bytes.
                let mut b = [0u8; 8];
                let len = match data {
                    D::UnaryIeee16 { imm, .. } => {
                        b[..2].copy_from_slice(&imm.0.to_le_bytes());
                        4
                    }
                    D::UnaryIeee32 { imm, .. } => {
                        b[..4].copy_from_slice(&imm.0.to_le_bytes());
                        4
                    }
                    D::UnaryIeee64 { imm, .. } => {
                        b.copy_from_slice(&imm.0.to_le_bytes());
                        8
                    }
                    _ => unreachable!(),
                };
                let dst = self.output(ctx, inst)?;
                self.xmm_constant_into(ctx, &b[..len], dst);
                Ok(())
            }
            Opcode::F128const | Opcode::Vconst => {
                let D::UnaryConst { constant, .. } = data else { unreachable!() };
                let c = ctx.f.dfg.constants.get(constant).ok_or_else(|| CodegenError::Other("bad constant".into()))?;
                if op == Opcode::Vconst && ty.bits() > 128 {
                    return Err(unsupported_op(op, ty));
                }
                let bytes = c.as_slice().to_vec();
                let mut b = bytes;
                b.resize(16, 0);
                let dst = self.output(ctx, inst)?;
                self.xmm_constant_into(ctx, &b, dst);
                Ok(())
            }

            // ---- integer arithmetic --------------------------------------------------
            Opcode::Iadd | Opcode::Isub | Opcode::Band | Opcode::Bor | Opcode::Bxor => {
                self.lower_alu(ctx, inst, op, args[0], args[1], ty)
            }
            Opcode::Ineg | Opcode::Bnot => self.lower_unary(ctx, inst, op, args[0], ty),
            Opcode::Imul => self.lower_imul(ctx, inst, args[0], args[1], ty),
            Opcode::Umulhi | Opcode::Smulhi => self.lower_mulhi(ctx, inst, op == Opcode::Smulhi, args[0], args[1], ty),
            Opcode::Udiv | Opcode::Sdiv | Opcode::Urem | Opcode::Srem => {
                self.lower_div(ctx, inst, op, args[0], args[1], ty)
            }
            Opcode::Iabs if ty == types::I128 => {
                // s = hi >> 63 (arithmetic); |x| = (x ^ s) - s on the register pair.
                let a = self.regs(ctx, args[0])?;
                let s = self.tmp(ctx, types::I64)?;
                ctx.emit(Inst::ShiftR {
                    size: OperandSize::S64,
                    kind: ShiftKind::Sar,
                    src: a.reg(1),
                    amount: ShiftAmount::Imm(63),
                    dst: s,
                });
                let lo = self.emit_alu(ctx, OperandSize::S64, AluOp::Xor, a.reg(0), RegMemImm::Reg(s.to_reg()))?;
                let hi = self.emit_alu(ctx, OperandSize::S64, AluOp::Xor, a.reg(1), RegMemImm::Reg(s.to_reg()))?;
                let dst = ctx.output_regs(inst, 0)?;
                for (i, (src, o)) in [(lo, AluOp::Sub), (hi, AluOp::Sbb)].into_iter().enumerate() {
                    ctx.emit(Inst::AluRmiR {
                        size: OperandSize::S64,
                        op: o,
                        src1: src,
                        src2: RegMemImm::Reg(s.to_reg()),
                        dst: Writable::from_reg(dst.reg(i)),
                    });
                }
                Ok(())
            }
            Opcode::Iabs => {
                if !is_int_ty(ty) {
                    return Err(unsupported_op(op, ty));
                }
                let x = self.reg(ctx, args[0])?;
                let size = size_of(ty).max_s32_if_wide(ty);
                // t = -x; if t < 0 then x (covers MIN: -MIN = MIN stays).
                let t = self.tmp(ctx, ty)?;
                ctx.emit(Inst::Unary2 { size: size_of(ty), op: Unary2Op::Neg, src: x, dst: t });
                let dst = self.output(ctx, inst)?;
                let csize = if size == OperandSize::S64 { OperandSize::S64 } else { OperandSize::S32 };
                ctx.emit(Inst::Cmove {
                    size: csize,
                    cc: CC::S,
                    consequent: RegMem::Reg(x),
                    alternative: t.to_reg(),
                    dst,
                });
                Ok(())
            }
            Opcode::Smin | Opcode::Smax | Opcode::Umin | Opcode::Umax => {
                if ty == types::I128 {
                    let cc = match op {
                        Opcode::Smin => IntCC::SignedLessThan,
                        Opcode::Smax => IntCC::SignedGreaterThan,
                        Opcode::Umin => IntCC::UnsignedLessThan,
                        _ => IntCC::UnsignedGreaterThan,
                    };
                    let cond = self.emit_icmp128(ctx, cc, args[0], args[1])?;
                    let x = self.regs(ctx, args[0])?;
                    let y = self.regs(ctx, args[1])?;
                    let dst = ctx.output_regs(inst, 0)?;
                    return self.select_regs(ctx, cond, ty, x, y, dst);
                }
                if !is_int_ty(ty) {
                    return Err(unsupported_op(op, ty));
                }
                let cc = match op {
                    Opcode::Smin => IntCC::SignedLessThan,
                    Opcode::Smax => IntCC::SignedGreaterThan,
                    Opcode::Umin => IntCC::UnsignedLessThan,
                    _ => IntCC::UnsignedGreaterThan,
                };
                let x = self.reg(ctx, args[0])?;
                let y = self.reg(ctx, args[1])?;
                ctx.emit(Inst::CmpRmiR { size: size_of(ty), op: CmpOp::Cmp, src1: x, src2: RegMemImm::Reg(y) });
                let dst = self.output(ctx, inst)?;
                ctx.emit(Inst::Cmove {
                    size: size32(ty),
                    cc: intcc(cc),
                    consequent: RegMem::Reg(x),
                    alternative: y,
                    dst,
                });
                Ok(())
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
                let size = size_of(ty);
                let x = self.reg(ctx, args[0])?;
                let y = self.rmi(ctx, args[1], ty)?;
                let dst = self.output(ctx, inst)?;
                ctx.emit(Inst::AluRmiR { size, op: AluOp::Add, src1: x, src2: y, dst });
                ctx.emit(Inst::TrapIf { cc: CC::B, code });
                Ok(())
            }

            // ---- bits ------------------------------------------------------------------
            Opcode::Ishl | Opcode::Ushr | Opcode::Sshr | Opcode::Rotl | Opcode::Rotr => {
                self.lower_shift(ctx, inst, op, args[0], args[1], ty)
            }
            Opcode::Clz | Opcode::Ctz | Opcode::Cls | Opcode::Popcnt => self.lower_bitcount(ctx, inst, op, args[0], ty),
            Opcode::Bitrev => self.lower_bitrev(ctx, inst, args[0], ty),
            Opcode::Bswap => {
                if ty == types::I128 {
                    let x = self.regs(ctx, args[0])?;
                    let dst = ctx.output_regs(inst, 0)?;
                    ctx.emit(Inst::Bswap {
                        size: OperandSize::S64,
                        src: x.reg(1),
                        dst: Writable::from_reg(dst.reg(0)),
                    });
                    ctx.emit(Inst::Bswap {
                        size: OperandSize::S64,
                        src: x.reg(0),
                        dst: Writable::from_reg(dst.reg(1)),
                    });
                    return Ok(());
                }
                let x = self.reg(ctx, args[0])?;
                let dst = self.output(ctx, inst)?;
                match ty.bits() {
                    16 => ctx.emit(Inst::ShiftR {
                        size: OperandSize::S16,
                        kind: ShiftKind::Rol,
                        src: x,
                        amount: ShiftAmount::Imm(8),
                        dst,
                    }),
                    32 | 64 => ctx.emit(Inst::Bswap { size: size_of(ty), src: x, dst }),
                    _ => return Err(unsupported_op(op, ty)),
                }
                Ok(())
            }
            Opcode::Bmask => {
                let src_ty = ctx.value_ty(args[0]);
                // t = -x sets CF iff x != 0; dst = 0 - 0 - CF.
                let t = self.nonzero_to_carry(ctx, args[0], src_ty)?;
                let _ = t;
                let z = self.tmp(ctx, types::I64)?;
                ctx.emit(Inst::Imm { size: OperandSize::S32, imm: 0, dst: z });
                let dst = ctx.output_regs(inst, 0)?;
                ctx.emit(Inst::AluRmiR {
                    size: OperandSize::S64,
                    op: AluOp::Sbb,
                    src1: z.to_reg(),
                    src2: RegMemImm::Reg(z.to_reg()),
                    dst: Writable::from_reg(dst.reg(0)),
                });
                if ty == types::I128 {
                    self.mov_to(ctx, Writable::from_reg(dst.reg(1)), dst.reg(0));
                }
                Ok(())
            }

            // ---- comparisons and selects -----------------------------------------------
            Opcode::Icmp => {
                let D::IntCompare { cond, .. } = data else { unreachable!() };
                let aty = ctx.value_ty(args[0]);
                if !aty.is_scalar() {
                    return Err(unsupported_op(op, aty));
                }
                // Consumers of the result may also re-evaluate this compare (see `cond`), so
                // a load is never merged into a materialized compare: it must stay a value.
                let c = self.emit_icmp(ctx, cond, args[0], args[1], false)?;
                let dst = self.output(ctx, inst)?;
                self.setcc(ctx, c, dst)
            }
            Opcode::Fcmp => {
                let D::FloatCompare { cond, .. } = data else { unreachable!() };
                let c = self.emit_fcmp(ctx, cond, args[0], args[1], false)?;
                let dst = self.output(ctx, inst)?;
                self.setcc(ctx, c, dst)
            }
            Opcode::Select | Opcode::SelectSpectreGuard => {
                if !(ty.is_scalar() && ty.bits() <= 128) {
                    return Err(unsupported_op(op, ty));
                }
                let cond = self.cond(ctx, args[0])?;
                let x = self.regs(ctx, args[1])?;
                let y = self.regs(ctx, args[2])?;
                let dst = ctx.output_regs(inst, 0)?;
                self.select_regs(ctx, cond, ty, x, y, dst)
            }
            Opcode::Bitselect if ty.is_float() => {
                // (c & x) | (~c & y) in XMM registers; `andnps` computes `~src1 & src2`.
                let vex = self.b.isa.has_avx;
                let c = self.reg(ctx, args[0])?;
                let x = self.reg(ctx, args[1])?;
                let y = self.reg(ctx, args[2])?;
                let a = self.tmp(ctx, ty)?;
                ctx.emit(Inst::XmmRmR { op: SseOp::Andps, src1: x, src2: RegMem::Reg(c), dst: a, vex });
                let b = self.tmp(ctx, ty)?;
                ctx.emit(Inst::XmmRmR { op: SseOp::Andnps, src1: c, src2: RegMem::Reg(y), dst: b, vex });
                let dst = self.output(ctx, inst)?;
                ctx.emit(Inst::XmmRmR { op: SseOp::Orps, src1: a.to_reg(), src2: RegMem::Reg(b.to_reg()), dst, vex });
                Ok(())
            }
            Opcode::Bitselect => {
                if !is_int_ty(ty) && ty != types::I128 {
                    return Err(unsupported_op(op, ty));
                }
                let c = self.regs(ctx, args[0])?;
                let x = self.regs(ctx, args[1])?;
                let y = self.regs(ctx, args[2])?;
                let dst = ctx.output_regs(inst, 0)?;
                for i in 0..dst.len() {
                    // (c & x) | (~c & y) == ((x ^ y) & c) ^ y
                    let t = self.emit_alu(ctx, OperandSize::S64, AluOp::Xor, x.reg(i), RegMemImm::Reg(y.reg(i)))?;
                    let t = self.emit_alu(ctx, OperandSize::S64, AluOp::And, t, RegMemImm::Reg(c.reg(i)))?;
                    ctx.emit(Inst::AluRmiR {
                        size: OperandSize::S64,
                        op: AluOp::Xor,
                        src1: t,
                        src2: RegMemImm::Reg(y.reg(i)),
                        dst: Writable::from_reg(dst.reg(i)),
                    });
                }
                Ok(())
            }

            // ---- width changes ---------------------------------------------------------
            Opcode::Uextend | Opcode::Sextend => self.lower_extend(ctx, inst, op == Opcode::Sextend, args[0], ty),
            Opcode::Ireduce => {
                let src = self.regs(ctx, args[0])?;
                let r = ctx.f.dfg.inst_results(inst)[0];
                ctx.alias_value(r, src.reg(0))
            }
            Opcode::Isplit => {
                let src_ty = ctx.value_ty(args[0]);
                if src_ty != types::I128 {
                    let x = self.reg(ctx, args[0])?;
                    let half = src_ty.bits() / 2;
                    let lo = ctx.f.dfg.inst_results(inst)[0];
                    ctx.alias_value(lo, x)?;
                    let hi = ctx.output_reg(inst, 1)?;
                    ctx.emit(Inst::ShiftR {
                        size: size_of(src_ty),
                        kind: ShiftKind::Shr,
                        src: x,
                        amount: ShiftAmount::Imm(half as u8),
                        dst: hi,
                    });
                    return Ok(());
                }
                let src = self.regs(ctx, args[0])?;
                let res = ctx.f.dfg.inst_results(inst);
                let (lo, hi) = (res[0], res[1]);
                ctx.alias_value(lo, src.reg(0))?;
                ctx.alias_value(hi, src.reg(1))
            }
            Opcode::Iconcat => {
                if ty == types::I128 {
                    let lo = self.reg(ctx, args[0])?;
                    let hi = self.reg(ctx, args[1])?;
                    let dst = ctx.output_regs(inst, 0)?;
                    self.mov_to(ctx, Writable::from_reg(dst.reg(0)), lo);
                    self.mov_to(ctx, Writable::from_reg(dst.reg(1)), hi);
                    return Ok(());
                }
                let half = ctx.value_ty(args[0]).bits();
                let lo = self.extend(ctx, args[0], false, true)?;
                let hi = self.reg(ctx, args[1])?;
                let t = self.tmp(ctx, types::I64)?;
                ctx.emit(Inst::ShiftR {
                    size: OperandSize::S64,
                    kind: ShiftKind::Shl,
                    src: hi,
                    amount: ShiftAmount::Imm(half as u8),
                    dst: t,
                });
                let dst = self.output(ctx, inst)?;
                ctx.emit(Inst::AluRmiR {
                    size: OperandSize::S64,
                    op: AluOp::Or,
                    src1: t.to_reg(),
                    src2: RegMemImm::Reg(lo),
                    dst,
                });
                Ok(())
            }

            // ---- memory ------------------------------------------------------------------
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
                let dst = self.output(ctx, inst)?;
                ctx.emit(Inst::Lea {
                    size: OperandSize::S64,
                    mem: Amode::Stack(StackAMode::Slot(base + offset.0 as i64)),
                    dst,
                });
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
                        let reach = Reach::of(*colocated, ctx.flags.is_pic() != 0);
                        if reach == Reach::Indirect && i32::try_from(offset.0).is_err() {
                            return Err(unsupported(format!(
                                "{op} of a symbol at an offset beyond 32 bits with is_pic"
                            )));
                        }
                        let dst = self.output(ctx, inst)?;
                        ctx.emit(Inst::LoadExtName { dst, name, offset: offset.0, reach });
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
                let dst = self.output(ctx, inst)?;
                let reach = Reach::of(ext.colocated, ctx.flags.is_pic() != 0);
                ctx.emit(Inst::LoadExtName { dst, name, offset: 0, reach });
                Ok(())
            }
            Opcode::GetFramePointer => {
                let dst = self.output(ctx, inst)?;
                ctx.emit(Inst::MovFromPReg { src: gpr_preg(enc::RBP), dst });
                Ok(())
            }
            Opcode::GetStackPointer => {
                let dst = self.output(ctx, inst)?;
                ctx.emit(Inst::MovFromPReg { src: gpr_preg(enc::RSP), dst });
                Ok(())
            }
            Opcode::GetReturnAddress => {
                let dst = self.output(ctx, inst)?;
                ctx.emit(Inst::LoadReturnAddress { dst });
                Ok(())
            }
            Opcode::GetPinnedReg => {
                let dst = self.output(ctx, inst)?;
                ctx.emit(Inst::MovFromPReg { src: gpr_preg(enc::R15), dst });
                Ok(())
            }
            Opcode::SetPinnedReg => {
                let src = self.reg(ctx, args[0])?;
                ctx.emit(Inst::MovToPReg { src, dst: gpr_preg(enc::R15) });
                Ok(())
            }

            // ---- traps -------------------------------------------------------------------
            Opcode::Trapz | Opcode::Trapnz => {
                let D::CondTrap { code, .. } = data else { unreachable!() };
                let c = self.cond(ctx, args[0])?;
                let c = if op == Opcode::Trapz { c.invert() } else { c };
                self.trap_if(ctx, c, code);
                Ok(())
            }
            Opcode::Debugtrap => {
                ctx.emit(Inst::Int3);
                Ok(())
            }
            Opcode::Fence => {
                ctx.emit(Inst::Fence);
                Ok(())
            }

            // ---- floats ----------------------------------------------------------------------
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
            Opcode::Bitcast => {
                let src_ty = ctx.value_ty(args[0]);
                let r = self.regs(ctx, args[0])?;
                let res = ctx.f.dfg.inst_results(inst)[0];
                let (sc, dc) = (class_of(src_ty), class_of(ty));
                if src_ty.bits() != ty.bits() {
                    return Err(unsupported_op(op, ty));
                }
                if sc == dc {
                    if r.len() == 1 {
                        return ctx.alias_value(res, r.reg(0));
                    }
                    let dst = ctx.output_regs(inst, 0)?;
                    for i in 0..r.len() {
                        self.mov_to(ctx, Writable::from_reg(dst.reg(i)), r.reg(i));
                    }
                    return Ok(());
                }
                // i128 <-> f128 moves between a register pair and one XMM register: not yet.
                if ty.bits() > 64 {
                    return Err(unsupported(format!("bitcast from {src_ty} to {ty}")));
                }
                let dst = self.output(ctx, inst)?;
                let size = if ty.bits() == 64 { OperandSize::S64 } else { OperandSize::S32 };
                if sc == RegClass::Int {
                    ctx.emit(Inst::GprToXmm { op: GprToXmmOp::Mov, size, src: RegMem::Reg(r.reg(0)), dst });
                } else {
                    ctx.emit(Inst::XmmToGpr { op: XmmToGprOp::Mov, size, src: r.reg(0), dst });
                }
                Ok(())
            }

            // ---- atomics ------------------------------------------------------------------------
            Opcode::AtomicLoad | Opcode::AtomicStore | Opcode::AtomicRmw | Opcode::AtomicCas => {
                self.lower_atomic(ctx, inst, op, ty)
            }

            // ---- terminators are lowered by lower_branch --------------------------------------
            _ if op.is_terminator() => {
                Err(CodegenError::Other(format!("{op} is not the last instruction of its block")))
            }
            _ => {
                let t = if ty.is_invalid() { args.first().map(|a| ctx.value_ty(*a)).unwrap_or(ty) } else { ty };
                Err(unsupported_op(op, t))
            }
        }
    }
}

/// The runtime routine of `ceil`/`floor`/`trunc`/`nearest` (without SSE4.1).
fn rounding_libcall(op: Opcode, double: bool) -> LibCall {
    match (op, double) {
        (Opcode::Ceil, false) => LibCall::CeilF32,
        (Opcode::Ceil, true) => LibCall::CeilF64,
        (Opcode::Floor, false) => LibCall::FloorF32,
        (Opcode::Floor, true) => LibCall::FloorF64,
        (Opcode::Trunc, false) => LibCall::TruncF32,
        (Opcode::Trunc, true) => LibCall::TruncF64,
        (_, false) => LibCall::NearestF32,
        (_, true) => LibCall::NearestF64,
    }
}

fn class_of(ty: Type) -> RegClass {
    if ty.is_int() && ty.is_scalar() { RegClass::Int } else { RegClass::Float }
}

trait SizeExt {
    fn max_s32_if_wide(self, ty: Type) -> OperandSize;
}

impl SizeExt for OperandSize {
    fn max_s32_if_wide(self, ty: Type) -> OperandSize {
        if ty.bits() > 32 { OperandSize::S64 } else { self }
    }
}

impl X64Lower<'_> {
    fn lower_alu(&self, ctx: Ctx, inst: IrInst, op: Opcode, x: Value, y: Value, ty: Type) -> CodegenResult<()> {
        if ty == types::I128 {
            let a = self.regs(ctx, x)?;
            let b = self.regs(ctx, y)?;
            let dst = ctx.output_regs(inst, 0)?;
            let (lo_op, hi_op) = match op {
                Opcode::Iadd => (AluOp::Add, AluOp::Adc),
                Opcode::Isub => (AluOp::Sub, AluOp::Sbb),
                Opcode::Band => (AluOp::And, AluOp::And),
                Opcode::Bor => (AluOp::Or, AluOp::Or),
                _ => (AluOp::Xor, AluOp::Xor),
            };
            for (i, o) in [(0, lo_op), (1, hi_op)] {
                ctx.emit(Inst::AluRmiR {
                    size: OperandSize::S64,
                    op: o,
                    src1: a.reg(i),
                    src2: RegMemImm::Reg(b.reg(i)),
                    dst: Writable::from_reg(dst.reg(i)),
                });
            }
            return Ok(());
        }
        if ty.is_float() {
            let sop = match (op, ty == types::F64) {
                (Opcode::Band, false) => SseOp::Andps,
                (Opcode::Band, true) => SseOp::Andpd,
                (Opcode::Bor, false) => SseOp::Orps,
                (Opcode::Bor, true) => SseOp::Orpd,
                (Opcode::Bxor, false) => SseOp::Xorps,
                (Opcode::Bxor, true) => SseOp::Xorpd,
                _ => return Err(unsupported_op(op, ty)),
            };
            let src1 = self.reg(ctx, x)?;
            let src2 = RegMem::Reg(self.reg(ctx, y)?);
            let dst = self.output(ctx, inst)?;
            ctx.emit(Inst::XmmRmR { op: sop, src1, src2, dst, vex: self.b.isa.has_avx });
            return Ok(());
        }
        if !is_int_ty(ty) {
            return Err(unsupported_op(op, ty));
        }
        let aop = match op {
            Opcode::Iadd => AluOp::Add,
            Opcode::Isub => AluOp::Sub,
            Opcode::Band => AluOp::And,
            Opcode::Bor => AluOp::Or,
            _ => AluOp::Xor,
        };
        // Put a constant or a mergeable load (or another instruction that can be folded)
        // second for commutative operations, but never move a mergeable load first: only
        // the second operand can be a memory operand.
        let commutative = aop != AluOp::Sub;
        // Or, when both operands die here, tie the result to the one defined last: that
        // continues its chain of two-operand instructions (a loop-carried accumulator
        // `acc = load ^ f(acc)` then stays in one register and the back edge needs no
        // copy), and the other one is read as the source.
        let (x, y) = if commutative
            && ctx.iconst_bits(y).is_none()
            && (ctx.iconst_bits(x).is_some()
                || ((ctx.sinkable_inst(x).is_some() || Self::dies_later_def(ctx, inst, y, x))
                    && !self.is_sinkable_load(ctx, y, ty)))
        {
            (y, x)
        } else {
            (x, y)
        };
        // x & !y with BMI1.
        if aop == AluOp::And && self.b.isa.has_bmi1 && ty.bits() >= 32 {
            for (p, q) in [(x, y), (y, x)] {
                if let Some(d) = ctx.def_inst(q)
                    && let D::Unary { opcode: Opcode::Bnot, arg } = *ctx.data(d)
                    && ctx.uses(q) == kiln_codegen::machinst::lower::Uses::Once
                {
                    let src1 = self.reg(ctx, arg)?;
                    let src2 = self.rmi(ctx, p, ty)?;
                    let src2 = match src2 {
                        RegMemImm::Imm(_) => RegMemImm::Reg(self.reg(ctx, p)?),
                        o => o,
                    };
                    let dst = self.output(ctx, inst)?;
                    ctx.emit(Inst::AluRmiR { size: size32(ty), op: AluOp::Andn, src1, src2, dst });
                    return Ok(());
                }
            }
        }
        // An addition (or subtraction of a constant) whose first operand is used again:
        // `lea` has a separate destination, so the allocator need not copy the operand
        // first (the two-operand `add`/`sub` would overwrite it).
        // x + (z << k) for k in 1..=3 (the shift used only here): one `lea (x,z,2^k)`.
        if aop == AluOp::Add && (ty == types::I32 || ty == types::I64) {
            // x + (z + c), the inner addition used only here: one `lea c(x,z)`. Besides
            // saving an instruction, a sum of many `z + c_i` then keeps only `z` and the
            // running sum live instead of every `z + c_i` (what Cranelift's address-mode
            // matching does too).
            for (p, q) in [(y, x), (x, y)] {
                if let Some(add) = ctx.sinkable_inst(q)
                    && let D::Binary { opcode: Opcode::Iadd, args: aargs } = *ctx.data(add)
                    && ctx.value_ty(q) == ty
                    && let Some((z, disp)) = [(aargs[0], aargs[1]), (aargs[1], aargs[0])]
                        .into_iter()
                        .find_map(|(z, c)| ctx.iconst_signed(c).and_then(|c| i32::try_from(c).ok()).map(|d| (z, d)))
                {
                    ctx.sink_inst(add);
                    let base = self.reg(ctx, p)?;
                    let index = self.reg(ctx, z)?;
                    let dst = self.output(ctx, inst)?;
                    let mem = Amode::ImmRegRegShift { disp, base, index, shift: 0 };
                    ctx.emit(Inst::Lea { size: size32(ty), mem, dst });
                    return Ok(());
                }
            }
            for (p, q) in [(x, y), (y, x)] {
                if let Some(sh) = ctx.sinkable_inst(q)
                    && let D::Binary { opcode: Opcode::Ishl, args: sargs } = *ctx.data(sh)
                    && let Some(k) = ctx.iconst_bits(sargs[1]).map(|k| k & (ty.bits() as u64 - 1))
                    && (1..=3).contains(&k)
                {
                    ctx.sink_inst(sh);
                    let base = self.reg(ctx, p)?;
                    let index = self.reg(ctx, sargs[0])?;
                    let dst = self.output(ctx, inst)?;
                    let mem = Amode::ImmRegRegShift { disp: 0, base, index, shift: k as u8 };
                    ctx.emit(Inst::Lea { size: size32(ty), mem, dst });
                    return Ok(());
                }
            }
        }
        // An addition to a block parameter uses `lea` too: with a separate destination the
        // allocator need not keep the sum in the parameter's register, which with block
        // parameters on both sides (a loop counter live across a call, a value returned in
        // %rax) splits ranges and adds moves. (Elsewhere the two-operand form is shorter.)
        let multi_use = ctx.uses(x) != kiln_codegen::machinst::lower::Uses::Once
            || (aop == AluOp::Add && ctx.def_inst(x).is_none());
        if (ty == types::I32 || ty == types::I64) && multi_use {
            let imm = ctx.iconst_signed(y).and_then(|c| i32::try_from(c).ok());
            let mem = match (aop, imm) {
                (AluOp::Add, Some(disp)) => Some(Amode::ImmReg { disp, base: self.reg(ctx, x)? }),
                (AluOp::Sub, Some(c)) if c != i32::MIN => Some(Amode::ImmReg { disp: -c, base: self.reg(ctx, x)? }),
                (AluOp::Add, None) if !ctx.sinkable_inst(y).is_some_and(|i| ctx.f.dfg.opcode(i).can_load()) => {
                    Some(Amode::ImmRegRegShift { disp: 0, base: self.reg(ctx, x)?, index: self.reg(ctx, y)?, shift: 0 })
                }
                _ => None,
            };
            if let Some(mem) = mem {
                let dst = self.output(ctx, inst)?;
                ctx.emit(Inst::Lea { size: size32(ty), mem, dst });
                return Ok(());
            }
        }
        let src1 = self.reg(ctx, x)?;
        let src2 = self.rmi(ctx, y, ty)?;
        let dst = self.output(ctx, inst)?;
        ctx.emit(Inst::AluRmiR { size: size32(ty), op: aop, src1, src2, dst });
        Ok(())
    }

    fn lower_unary(&self, ctx: Ctx, inst: IrInst, op: Opcode, x: Value, ty: Type) -> CodegenResult<()> {
        if ty == types::I128 {
            let a = self.regs(ctx, x)?;
            let dst = ctx.output_regs(inst, 0)?;
            let (d0, d1) = (Writable::from_reg(dst.reg(0)), Writable::from_reg(dst.reg(1)));
            if op == Opcode::Bnot {
                ctx.emit(Inst::Unary2 { size: OperandSize::S64, op: Unary2Op::Not, src: a.reg(0), dst: d0 });
                ctx.emit(Inst::Unary2 { size: OperandSize::S64, op: Unary2Op::Not, src: a.reg(1), dst: d1 });
            } else {
                let t = self.tmp(ctx, types::I64)?;
                ctx.emit(Inst::Unary2 { size: OperandSize::S64, op: Unary2Op::Neg, src: a.reg(0), dst: d0 });
                ctx.emit(Inst::AluRmiR {
                    size: OperandSize::S64,
                    op: AluOp::Adc,
                    src1: a.reg(1),
                    src2: RegMemImm::Imm(0),
                    dst: t,
                });
                ctx.emit(Inst::Unary2 { size: OperandSize::S64, op: Unary2Op::Neg, src: t.to_reg(), dst: d1 });
            }
            return Ok(());
        }
        if op == Opcode::Bnot && ty.is_float() {
            let src1 = self.reg(ctx, x)?;
            let ones = self.const_mem(ctx, &[0xff; 16]);
            let dst = self.output(ctx, inst)?;
            ctx.emit(Inst::XmmRmR { op: SseOp::Xorps, src1, src2: ones, dst, vex: self.b.isa.has_avx });
            return Ok(());
        }
        if !is_int_ty(ty) {
            return Err(unsupported_op(op, ty));
        }
        let src = self.reg(ctx, x)?;
        let dst = self.output(ctx, inst)?;
        let uop = if op == Opcode::Ineg { Unary2Op::Neg } else { Unary2Op::Not };
        ctx.emit(Inst::Unary2 { size: size32(ty), op: uop, src, dst });
        Ok(())
    }

    /// A 16-byte constant as a rip-relative memory operand (aligned for SSE).
    fn const_mem(&self, ctx: Ctx, bytes: &[u8]) -> RegMem {
        let label = ctx.constant_label(bytes);
        RegMem::Mem(Mem::new(Amode::RipRelative { label }, None))
    }

    fn lower_imul(&self, ctx: Ctx, inst: IrInst, x: Value, y: Value, ty: Type) -> CodegenResult<()> {
        if ty == types::I128 {
            let a = self.regs(ctx, x)?;
            let b = self.regs(ctx, y)?;
            let dst = ctx.output_regs(inst, 0)?;
            let lo = self.tmp(ctx, types::I64)?;
            let hi = self.tmp(ctx, types::I64)?;
            ctx.emit(Inst::MulHi {
                size: OperandSize::S64,
                signed: false,
                src1: a.reg(0),
                src2: RegMem::Reg(b.reg(0)),
                dst_lo: lo,
                dst_hi: hi,
            });
            let t1 = self.tmp(ctx, types::I64)?;
            ctx.emit(Inst::IMul { size: OperandSize::S64, src1: a.reg(0), src2: RegMem::Reg(b.reg(1)), dst: t1 });
            let t2 = self.tmp(ctx, types::I64)?;
            ctx.emit(Inst::IMul { size: OperandSize::S64, src1: a.reg(1), src2: RegMem::Reg(b.reg(0)), dst: t2 });
            let t3 = self.emit_alu(ctx, OperandSize::S64, AluOp::Add, hi.to_reg(), RegMemImm::Reg(t1.to_reg()))?;
            ctx.emit(Inst::AluRmiR {
                size: OperandSize::S64,
                op: AluOp::Add,
                src1: t3,
                src2: RegMemImm::Reg(t2.to_reg()),
                dst: Writable::from_reg(dst.reg(1)),
            });
            self.mov_to(ctx, Writable::from_reg(dst.reg(0)), lo.to_reg());
            return Ok(());
        }
        if !is_int_ty(ty) {
            return Err(unsupported_op(Opcode::Imul, ty));
        }
        let size = size32(ty);
        // A constant or a mergeable load goes second.
        let (x, y) = if ctx.iconst_bits(x).is_some()
            || (ty.bits() >= 32 && self.is_sinkable_load(ctx, x, ty) && !self.is_sinkable_load(ctx, y, ty))
        {
            (y, x)
        } else {
            (x, y)
        };
        if let Some(imm) = self.imm32(ctx, y, ty) {
            let src = self.rm(ctx, x, ty)?;
            let dst = self.output(ctx, inst)?;
            ctx.emit(Inst::IMulImm { size, src, imm, dst });
            return Ok(());
        }
        let src1 = self.reg(ctx, x)?;
        let src2 = self.rm(ctx, y, ty)?;
        let dst = self.output(ctx, inst)?;
        ctx.emit(Inst::IMul { size, src1, src2, dst });
        Ok(())
    }

    fn lower_mulhi(&self, ctx: Ctx, inst: IrInst, signed: bool, x: Value, y: Value, ty: Type) -> CodegenResult<()> {
        let op = if signed { Opcode::Smulhi } else { Opcode::Umulhi };
        match ty.bits() {
            64 if is_int_ty(ty) => {
                let a = self.reg(ctx, x)?;
                let b = self.rm(ctx, y, ty)?;
                let lo = self.tmp(ctx, types::I64)?;
                let dst = self.output(ctx, inst)?;
                ctx.emit(Inst::MulHi { size: OperandSize::S64, signed, src1: a, src2: b, dst_lo: lo, dst_hi: dst });
                Ok(())
            }
            8 | 16 | 32 if is_int_ty(ty) => {
                // Widen, multiply, take the high half.
                let wide64 = ty.bits() == 32;
                let a = self.extend(ctx, x, signed, wide64)?;
                let b = self.extend(ctx, y, signed, wide64)?;
                let size = if wide64 { OperandSize::S64 } else { OperandSize::S32 };
                let t = self.tmp(ctx, types::I64)?;
                ctx.emit(Inst::IMul { size, src1: a, src2: RegMem::Reg(b), dst: t });
                let dst = self.output(ctx, inst)?;
                ctx.emit(Inst::ShiftR {
                    size,
                    kind: if signed { ShiftKind::Sar } else { ShiftKind::Shr },
                    src: t.to_reg(),
                    amount: ShiftAmount::Imm(ty.bits() as u8),
                    dst,
                });
                Ok(())
            }
            _ => Err(unsupported_op(op, ty)),
        }
    }

    fn lower_div(&self, ctx: Ctx, inst: IrInst, op: Opcode, x: Value, y: Value, ty: Type) -> CodegenResult<()> {
        if !is_int_ty(ty) {
            return Err(unsupported_op(op, ty));
        }
        let signed = matches!(op, Opcode::Sdiv | Opcode::Srem);
        let want_rem = matches!(op, Opcode::Urem | Opcode::Srem);
        let narrow = ty.bits() < 32;
        let size = size32(ty);
        let wide_ty = if size == OperandSize::S64 { types::I64 } else { types::I32 };
        let divisor_const = ctx.iconst_signed(y).map(|c| kiln_ir::immediates::Imm64(c).sign_extend_from(ty.bits()).0);
        let a = if narrow { self.extend(ctx, x, signed, false)? } else { self.reg(ctx, x)? };
        let mut d = if narrow { self.extend(ctx, y, signed, false)? } else { self.reg(ctx, y)? };
        let divz = TrapCode::INTEGER_DIVISION_BY_ZERO;
        if signed {
            if divisor_const.is_none_or(|c| c == 0) {
                // The hardware fault would be ambiguous with overflow: check zero first.
                ctx.emit(Inst::CmpRmiR { size, op: CmpOp::Test, src1: d, src2: RegMemImm::Reg(d) });
                ctx.emit(Inst::TrapIf { cc: CC::Z, code: divz });
            }
            if divisor_const.is_none_or(|c| c == -1) {
                if want_rem {
                    // x srem -1 == 0: divide by 1 instead, which cannot overflow.
                    let one = self.tmp(ctx, wide_ty)?;
                    ctx.emit(Inst::Imm { size: OperandSize::S32, imm: 1, dst: one });
                    ctx.emit(Inst::CmpRmiR { size, op: CmpOp::Cmp, src1: d, src2: RegMemImm::Imm(-1) });
                    let nd = self.tmp(ctx, wide_ty)?;
                    ctx.emit(Inst::Cmove {
                        size,
                        cc: CC::Z,
                        consequent: RegMem::Reg(one.to_reg()),
                        alternative: d,
                        dst: nd,
                    });
                    d = nd.to_reg();
                } else if narrow {
                    // MIN / -1 does not overflow the 32-bit division: check explicitly.
                    let min = -(1i64 << (ty.bits() - 1));
                    let t1 = self.emit_alu(ctx, OperandSize::S32, AluOp::Xor, a, RegMemImm::Imm(min as i32))?;
                    let t2 = self.tmp(ctx, types::I32)?;
                    ctx.emit(Inst::Unary2 { size: OperandSize::S32, op: Unary2Op::Not, src: d, dst: t2 });
                    self.emit_alu(ctx, OperandSize::S32, AluOp::Or, t1, RegMemImm::Reg(t2.to_reg()))?;
                    ctx.emit(Inst::TrapIf { cc: CC::Z, code: TrapCode::INTEGER_OVERFLOW });
                }
            }
        }
        let hi = self.tmp(ctx, wide_ty)?;
        if signed {
            ctx.emit(Inst::SignExtendData { size, src: a, dst: hi });
        } else {
            // No flags are live here (the zero check, if any, came before).
            ctx.emit(Inst::ZeroReg { dst: hi });
        }
        let out = self.output(ctx, inst)?;
        let other = self.tmp(ctx, wide_ty)?;
        let (q, r) = if want_rem { (other, out) } else { (out, other) };
        // Unsigned: the only fault is a zero divisor. Signed: zero was checked, so a fault
        // is overflow.
        let trap = if signed { TrapCode::INTEGER_OVERFLOW } else { divz };
        ctx.emit(Inst::Div {
            size,
            signed,
            dividend_lo: a,
            dividend_hi: hi.to_reg(),
            divisor: d,
            dst_quotient: q,
            dst_remainder: r,
            trap,
        });
        Ok(())
    }

    fn lower_overflow(
        &self,
        ctx: Ctx,
        inst: IrInst,
        op: Opcode,
        x: Value,
        y: Value,
        carry_in: Option<Value>,
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
        if !(is_int_ty(ty) || ty == types::I128) {
            return Err(unsupported_op(op, ty));
        }
        let a = self.regs(ctx, x)?;
        let b = self.regs(ctx, y)?;
        let cin = match carry_in {
            Some(c) => Some(self.reg(ctx, c)?),
            None => None,
        };
        let dst = ctx.output_regs(inst, 0)?;
        let flag = ctx.output_reg(inst, 1)?;
        if let Some(c) = cin {
            // CF = (c != 0), from `neg` on a copy of the 8-bit carry.
            let t = self.tmp(ctx, types::I8)?;
            ctx.emit(Inst::Unary2 { size: OperandSize::S8, op: Unary2Op::Neg, src: c, dst: t });
        }
        let first = match (is_add, cin.is_some()) {
            (true, false) => AluOp::Add,
            (true, true) => AluOp::Adc,
            (false, false) => AluOp::Sub,
            (false, true) => AluOp::Sbb,
        };
        let (size, parts) = if ty == types::I128 { (OperandSize::S64, 2) } else { (size_of(ty), 1) };
        for i in 0..parts {
            let o = if i == 0 {
                first
            } else if is_add {
                AluOp::Adc
            } else {
                AluOp::Sbb
            };
            ctx.emit(Inst::AluRmiR {
                size,
                op: o,
                src1: a.reg(i),
                src2: RegMemImm::Reg(b.reg(i)),
                dst: Writable::from_reg(dst.reg(i)),
            });
        }
        ctx.emit(Inst::Setcc { cc: if signed { CC::O } else { CC::B }, dst: flag });
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
        if !is_int_ty(ty) {
            return Err(unsupported_op(op, ty));
        }
        let dst = self.output(ctx, inst)?;
        let flag = ctx.output_reg(inst, 1)?;
        if ty.bits() == 8 {
            let a = self.extend(ctx, x, signed, false)?;
            let b = self.extend(ctx, y, signed, false)?;
            ctx.emit(Inst::IMul { size: OperandSize::S32, src1: a, src2: RegMem::Reg(b), dst });
            if signed {
                let t = self.tmp(ctx, types::I32)?;
                ctx.emit(Inst::MovsxRmR { ext: ExtMode::BL, src: RegMem::Reg(dst.to_reg()), dst: t });
                ctx.emit(Inst::CmpRmiR {
                    size: OperandSize::S32,
                    op: CmpOp::Cmp,
                    src1: dst.to_reg(),
                    src2: RegMemImm::Reg(t.to_reg()),
                });
                ctx.emit(Inst::Setcc { cc: CC::NZ, dst: flag });
            } else {
                ctx.emit(Inst::CmpRmiR {
                    size: OperandSize::S32,
                    op: CmpOp::Cmp,
                    src1: dst.to_reg(),
                    src2: RegMemImm::Imm(255),
                });
                ctx.emit(Inst::Setcc { cc: CC::NBE, dst: flag });
            }
            return Ok(());
        }
        let size = size_of(ty);
        let a = self.reg(ctx, x)?;
        let b = self.rm(ctx, y, ty)?;
        if signed {
            ctx.emit(Inst::IMul { size, src1: a, src2: b, dst });
        } else {
            let hi = self.tmp(ctx, types::I64)?;
            ctx.emit(Inst::MulHi { size, signed: false, src1: a, src2: b, dst_lo: dst, dst_hi: hi });
        }
        ctx.emit(Inst::Setcc { cc: CC::O, dst: flag });
        Ok(())
    }

    /// Set CF iff `v` is non-zero (a `neg` on a copy).
    fn nonzero_to_carry(&self, ctx: Ctx, v: Value, ty: Type) -> CodegenResult<Reg> {
        let r = self.regs(ctx, v)?;
        let src = if ty == types::I128 {
            self.emit_alu(ctx, OperandSize::S64, AluOp::Or, r.reg(0), RegMemImm::Reg(r.reg(1)))?
        } else {
            r.reg(0)
        };
        let size = if ty == types::I128 { OperandSize::S64 } else { size_of(ty) };
        let t = self.tmp(ctx, types::I64)?;
        ctx.emit(Inst::Unary2 { size, op: Unary2Op::Neg, src, dst: t });
        Ok(t.to_reg())
    }

    fn lower_shift(&self, ctx: Ctx, inst: IrInst, op: Opcode, x: Value, amt: Value, ty: Type) -> CodegenResult<()> {
        if ty == types::I128 {
            return self.lower_shift128(ctx, inst, op, x, amt);
        }
        if !is_int_ty(ty) {
            return Err(unsupported_op(op, ty));
        }
        let bits = ty.bits();
        let kind = match op {
            Opcode::Ishl => ShiftKind::Shl,
            Opcode::Ushr => ShiftKind::Shr,
            Opcode::Sshr => ShiftKind::Sar,
            Opcode::Rotl => ShiftKind::Rol,
            _ => ShiftKind::Ror,
        };
        // Right shifts and rotates depend on the bits above a narrow value: work at the
        // value's width. Left shifts can work at 32 bits.
        let size = if kind == ShiftKind::Shl { size32(ty) } else { size_of(ty) };
        let src = self.reg(ctx, x)?;
        let amount = if let Some(c) = ctx.iconst_bits(amt) {
            let n = (c & (bits as u64 - 1)) as u8;
            if n == 0 {
                let res = ctx.f.dfg.inst_results(inst)[0];
                return ctx.alias_value(res, src);
            }
            ShiftAmount::Imm(n)
        } else {
            let a = self.regs(ctx, amt)?.reg(0);
            if bits < 32 && !matches!(kind, ShiftKind::Rol | ShiftKind::Ror) {
                // The hardware masks the count to 5 bits; CLIF masks to the type width.
                let m = self.emit_alu(ctx, OperandSize::S32, AluOp::And, a, RegMemImm::Imm(bits as i32 - 1))?;
                ShiftAmount::Cl(m)
            } else {
                ShiftAmount::Cl(a)
            }
        };
        let dst = self.output(ctx, inst)?;
        ctx.emit(Inst::ShiftR { size, kind, src, amount, dst });
        Ok(())
    }

    fn lower_shift128(&self, ctx: Ctx, inst: IrInst, op: Opcode, x: Value, amt: Value) -> CodegenResult<()> {
        let xr = self.regs(ctx, x)?;
        let n = self.regs(ctx, amt)?.reg(0);
        let dst = ctx.output_regs(inst, 0)?;
        match op {
            Opcode::Ishl | Opcode::Ushr | Opcode::Sshr => {
                let (lo, hi) = self.shift128(ctx, op, xr.reg(0), xr.reg(1), n)?;
                self.mov_to(ctx, Writable::from_reg(dst.reg(0)), lo);
                self.mov_to(ctx, Writable::from_reg(dst.reg(1)), hi);
            }
            _ => {
                // rotl(x, n) = (x << n) | (x >> -n); rotr the other way round.
                let neg = self.tmp(ctx, types::I64)?;
                ctx.emit(Inst::Unary2 { size: OperandSize::S64, op: Unary2Op::Neg, src: n, dst: neg });
                let (l_amt, r_amt) = if op == Opcode::Rotl { (n, neg.to_reg()) } else { (neg.to_reg(), n) };
                let (l0, l1) = self.shift128(ctx, Opcode::Ishl, xr.reg(0), xr.reg(1), l_amt)?;
                let (r0, r1) = self.shift128(ctx, Opcode::Ushr, xr.reg(0), xr.reg(1), r_amt)?;
                ctx.emit(Inst::AluRmiR {
                    size: OperandSize::S64,
                    op: AluOp::Or,
                    src1: l0,
                    src2: RegMemImm::Reg(r0),
                    dst: Writable::from_reg(dst.reg(0)),
                });
                ctx.emit(Inst::AluRmiR {
                    size: OperandSize::S64,
                    op: AluOp::Or,
                    src1: l1,
                    src2: RegMemImm::Reg(r1),
                    dst: Writable::from_reg(dst.reg(1)),
                });
            }
        }
        Ok(())
    }

    /// A 128-bit shift of (lo, hi) by `n` (mod 128): returns the new (lo, hi).
    fn shift128(&self, ctx: Ctx, op: Opcode, lo: Reg, hi: Reg, n: Reg) -> CodegenResult<(Reg, Reg)> {
        let s64 = OperandSize::S64;
        let sh = |ctx: Ctx, kind: ShiftKind, src: Reg, amount: ShiftAmount| -> CodegenResult<Reg> {
            let d = ctx.alloc_tmp(types::I64)?;
            ctx.emit(Inst::ShiftR { size: s64, kind, src, amount, dst: d });
            Ok(d.to_reg())
        };
        let not_n = self.tmp(ctx, types::I64)?;
        ctx.emit(Inst::Unary2 { size: s64, op: Unary2Op::Not, src: n, dst: not_n });
        let (a, b) = match op {
            Opcode::Ishl => {
                // lo' = lo << n; hi' = (hi << n) | ((lo >> 1) >> ~n)
                let lo_s = sh(ctx, ShiftKind::Shl, lo, ShiftAmount::Cl(n))?;
                let hi_s = sh(ctx, ShiftKind::Shl, hi, ShiftAmount::Cl(n))?;
                let c1 = sh(ctx, ShiftKind::Shr, lo, ShiftAmount::Imm(1))?;
                let c2 = sh(ctx, ShiftKind::Shr, c1, ShiftAmount::Cl(not_n.to_reg()))?;
                let hi_n = self.emit_alu(ctx, s64, AluOp::Or, hi_s, RegMemImm::Reg(c2))?;
                // n & 64: hi' = lo << n, lo' = 0.
                let zero = self.tmp(ctx, types::I64)?;
                ctx.emit(Inst::Imm { size: OperandSize::S32, imm: 0, dst: zero });
                ctx.emit(Inst::CmpRmiR { size: s64, op: CmpOp::Test, src1: n, src2: RegMemImm::Imm(64) });
                let new_hi = self.tmp(ctx, types::I64)?;
                ctx.emit(Inst::Cmove {
                    size: s64,
                    cc: CC::NZ,
                    consequent: RegMem::Reg(lo_s),
                    alternative: hi_n,
                    dst: new_hi,
                });
                let new_lo = self.tmp(ctx, types::I64)?;
                ctx.emit(Inst::Cmove {
                    size: s64,
                    cc: CC::NZ,
                    consequent: RegMem::Reg(zero.to_reg()),
                    alternative: lo_s,
                    dst: new_lo,
                });
                (new_lo.to_reg(), new_hi.to_reg())
            }
            _ => {
                let signed = op == Opcode::Sshr;
                let kind = if signed { ShiftKind::Sar } else { ShiftKind::Shr };
                // hi' = hi >> n; lo' = (lo >> n) | ((hi << 1) << ~n)
                let hi_s = sh(ctx, kind, hi, ShiftAmount::Cl(n))?;
                let lo_s = sh(ctx, ShiftKind::Shr, lo, ShiftAmount::Cl(n))?;
                let c1 = sh(ctx, ShiftKind::Shl, hi, ShiftAmount::Imm(1))?;
                let c2 = sh(ctx, ShiftKind::Shl, c1, ShiftAmount::Cl(not_n.to_reg()))?;
                let lo_n = self.emit_alu(ctx, s64, AluOp::Or, lo_s, RegMemImm::Reg(c2))?;
                // n & 64: lo' = hi >> n, hi' = sign (or 0).
                let fill = if signed {
                    sh(ctx, ShiftKind::Sar, hi, ShiftAmount::Imm(63))?
                } else {
                    let z = self.tmp(ctx, types::I64)?;
                    ctx.emit(Inst::Imm { size: OperandSize::S32, imm: 0, dst: z });
                    z.to_reg()
                };
                ctx.emit(Inst::CmpRmiR { size: s64, op: CmpOp::Test, src1: n, src2: RegMemImm::Imm(64) });
                let new_lo = self.tmp(ctx, types::I64)?;
                ctx.emit(Inst::Cmove {
                    size: s64,
                    cc: CC::NZ,
                    consequent: RegMem::Reg(hi_s),
                    alternative: lo_n,
                    dst: new_lo,
                });
                let new_hi = self.tmp(ctx, types::I64)?;
                ctx.emit(Inst::Cmove {
                    size: s64,
                    cc: CC::NZ,
                    consequent: RegMem::Reg(fill),
                    alternative: hi_s,
                    dst: new_hi,
                });
                (new_lo.to_reg(), new_hi.to_reg())
            }
        };
        Ok((a, b))
    }
}

impl X64Lower<'_> {
    /// Count leading zeros of the 32/64-bit register `r`.
    fn clz_reg(&self, ctx: Ctx, r: Reg, size: OperandSize) -> CodegenResult<Reg> {
        let bits = if size == OperandSize::S64 { 64 } else { 32 };
        let dst = self.tmp(ctx, types::I64)?;
        if self.b.isa.has_lzcnt {
            ctx.emit(Inst::UnaryRmR { size, op: UnaryOp::Lzcnt, src: RegMem::Reg(r), dst });
            return Ok(dst.to_reg());
        }
        // bsr gives the index of the highest set bit (ZF=1 and no result for zero).
        ctx.emit(Inst::UnaryRmR { size, op: UnaryOp::Bsr, src: RegMem::Reg(r), dst });
        let m1 = self.tmp(ctx, types::I64)?;
        ctx.emit(Inst::Imm { size: OperandSize::S64, imm: u64::MAX, dst: m1 });
        let t = self.tmp(ctx, types::I64)?;
        ctx.emit(Inst::Cmove {
            size: OperandSize::S64,
            cc: CC::Z,
            consequent: RegMem::Reg(m1.to_reg()),
            alternative: dst.to_reg(),
            dst: t,
        });
        let c = self.tmp(ctx, types::I64)?;
        ctx.emit(Inst::Imm { size: OperandSize::S32, imm: bits - 1, dst: c });
        self.emit_alu(ctx, OperandSize::S64, AluOp::Sub, c.to_reg(), RegMemImm::Reg(t.to_reg()))
    }

    /// Count trailing zeros of the 32/64-bit register `r`.
    fn ctz_reg(&self, ctx: Ctx, r: Reg, size: OperandSize) -> CodegenResult<Reg> {
        let bits = if size == OperandSize::S64 { 64 } else { 32 };
        let dst = self.tmp(ctx, types::I64)?;
        if self.b.isa.has_bmi1 {
            ctx.emit(Inst::UnaryRmR { size, op: UnaryOp::Tzcnt, src: RegMem::Reg(r), dst });
            return Ok(dst.to_reg());
        }
        ctx.emit(Inst::UnaryRmR { size, op: UnaryOp::Bsf, src: RegMem::Reg(r), dst });
        let w = self.tmp(ctx, types::I64)?;
        ctx.emit(Inst::Imm { size: OperandSize::S32, imm: bits, dst: w });
        let t = self.tmp(ctx, types::I64)?;
        ctx.emit(Inst::Cmove {
            size: OperandSize::S64,
            cc: CC::Z,
            consequent: RegMem::Reg(w.to_reg()),
            alternative: dst.to_reg(),
            dst: t,
        });
        Ok(t.to_reg())
    }

    /// Population count of the 32/64-bit register `r`.
    fn popcnt_reg(&self, ctx: Ctx, r: Reg, size: OperandSize) -> CodegenResult<Reg> {
        if self.b.isa.has_popcnt {
            let dst = self.tmp(ctx, types::I64)?;
            ctx.emit(Inst::UnaryRmR { size, op: UnaryOp::Popcnt, src: RegMem::Reg(r), dst });
            return Ok(dst.to_reg());
        }
        let wide = size == OperandSize::S64;
        let ty = if wide { types::I64 } else { types::I32 };
        let rep = |b: u8| -> u64 { u64::from_le_bytes([b; 8]) };
        let k = |ctx: Ctx, v: u64| self.constant(ctx, ty, v);
        let sh = |ctx: Ctx, kind: ShiftKind, src: Reg, n: u8| -> CodegenResult<Reg> {
            let d = ctx.alloc_tmp(ty)?;
            ctx.emit(Inst::ShiftR { size, kind, src, amount: ShiftAmount::Imm(n), dst: d });
            Ok(d.to_reg())
        };
        // x - ((x >> 1) & 0x55..)
        let m55 = k(ctx, rep(0x55))?;
        let t = sh(ctx, ShiftKind::Shr, r, 1)?;
        let t = self.emit_alu(ctx, size, AluOp::And, t, RegMemImm::Reg(m55))?;
        let x = self.emit_alu(ctx, size, AluOp::Sub, r, RegMemImm::Reg(t))?;
        // (x & 0x33..) + ((x >> 2) & 0x33..)
        let m33 = k(ctx, rep(0x33))?;
        let a = self.emit_alu(ctx, size, AluOp::And, x, RegMemImm::Reg(m33))?;
        let b = sh(ctx, ShiftKind::Shr, x, 2)?;
        let b = self.emit_alu(ctx, size, AluOp::And, b, RegMemImm::Reg(m33))?;
        let x = self.emit_alu(ctx, size, AluOp::Add, a, RegMemImm::Reg(b))?;
        // (x + (x >> 4)) & 0x0f..
        let c = sh(ctx, ShiftKind::Shr, x, 4)?;
        let x = self.emit_alu(ctx, size, AluOp::Add, x, RegMemImm::Reg(c))?;
        let m0f = k(ctx, rep(0x0f))?;
        let x = self.emit_alu(ctx, size, AluOp::And, x, RegMemImm::Reg(m0f))?;
        // (x * 0x01..) >> (bits - 8)
        let m01 = k(ctx, rep(0x01))?;
        let p = self.tmp(ctx, ty)?;
        ctx.emit(Inst::IMul { size, src1: x, src2: RegMem::Reg(m01), dst: p });
        sh(ctx, ShiftKind::Shr, p.to_reg(), if wide { 56 } else { 24 })
    }

    /// A 128-bit bit count from the counts of its halves: `first != 0 ? first_count : 64 +
    /// second_count` (the half scanned first decides).
    fn count128(&self, ctx: Ctx, first: Reg, first_count: Reg, second_count: Reg) -> CodegenResult<Reg> {
        let s64 = OperandSize::S64;
        let second = self.emit_alu(ctx, s64, AluOp::Add, second_count, RegMemImm::Imm(64))?;
        ctx.emit(Inst::CmpRmiR { size: s64, op: CmpOp::Test, src1: first, src2: RegMemImm::Reg(first) });
        let t = self.tmp(ctx, types::I64)?;
        ctx.emit(Inst::Cmove {
            size: s64,
            cc: CC::Z,
            consequent: RegMem::Reg(second),
            alternative: first_count,
            dst: t,
        });
        Ok(t.to_reg())
    }

    fn lower_bitcount(&self, ctx: Ctx, inst: IrInst, op: Opcode, x: Value, ty: Type) -> CodegenResult<()> {
        if ty == types::I128 {
            let r = self.regs(ctx, x)?;
            let dst = ctx.output_regs(inst, 0)?;
            let s64 = OperandSize::S64;
            let res = match op {
                Opcode::Popcnt => {
                    let a = self.popcnt_reg(ctx, r.reg(0), s64)?;
                    let b = self.popcnt_reg(ctx, r.reg(1), s64)?;
                    self.emit_alu(ctx, s64, AluOp::Add, a, RegMemImm::Reg(b))?
                }
                Opcode::Clz => {
                    // hi != 0 ? clz(hi) : 64 + clz(lo)
                    let h = self.clz_reg(ctx, r.reg(1), s64)?;
                    let l = self.clz_reg(ctx, r.reg(0), s64)?;
                    self.count128(ctx, r.reg(1), h, l)?
                }
                Opcode::Ctz => {
                    // lo != 0 ? ctz(lo) : 64 + ctz(hi)
                    let l = self.ctz_reg(ctx, r.reg(0), s64)?;
                    let h = self.ctz_reg(ctx, r.reg(1), s64)?;
                    self.count128(ctx, r.reg(0), l, h)?
                }
                _ => {
                    // cls = clz(x ^ (x >>s 127)) - 1
                    let s = self.tmp(ctx, types::I64)?;
                    ctx.emit(Inst::ShiftR {
                        size: s64,
                        kind: ShiftKind::Sar,
                        src: r.reg(1),
                        amount: ShiftAmount::Imm(63),
                        dst: s,
                    });
                    let lo = self.emit_alu(ctx, s64, AluOp::Xor, r.reg(0), RegMemImm::Reg(s.to_reg()))?;
                    let hi = self.emit_alu(ctx, s64, AluOp::Xor, r.reg(1), RegMemImm::Reg(s.to_reg()))?;
                    let h = self.clz_reg(ctx, hi, s64)?;
                    let l = self.clz_reg(ctx, lo, s64)?;
                    let t = self.count128(ctx, hi, h, l)?;
                    self.emit_alu(ctx, s64, AluOp::Sub, t, RegMemImm::Imm(1))?
                }
            };
            self.mov_to(ctx, Writable::from_reg(dst.reg(0)), res);
            ctx.emit(Inst::Imm { size: OperandSize::S32, imm: 0, dst: Writable::from_reg(dst.reg(1)) });
            return Ok(());
        }
        if !is_int_ty(ty) {
            return Err(unsupported_op(op, ty));
        }
        let bits = ty.bits();
        let size = size32(ty);
        let res = match op {
            Opcode::Clz => {
                let r = self.extend(ctx, x, false, false)?;
                let c = self.clz_reg(ctx, r, size)?;
                if bits < 32 {
                    self.emit_alu(ctx, OperandSize::S32, AluOp::Sub, c, RegMemImm::Imm(32 - bits as i32))?
                } else {
                    c
                }
            }
            Opcode::Ctz => {
                let r = self.reg(ctx, x)?;
                let r = if bits < 32 {
                    // A sentinel bit just above the value gives `bits` for zero.
                    self.emit_alu(ctx, OperandSize::S32, AluOp::Or, r, RegMemImm::Imm(1 << bits))?
                } else {
                    r
                };
                self.ctz_reg(ctx, r, size)?
            }
            Opcode::Popcnt => {
                let r = self.extend(ctx, x, false, false)?;
                self.popcnt_reg(ctx, r, size)?
            }
            _ => {
                // cls(x) = clz(x ^ (x >>s (bits-1))) - 1, computed at 32/64 bits on the
                // sign-extended value and adjusted.
                let r = self.extend(ctx, x, true, false)?;
                let s = self.tmp(ctx, types::I64)?;
                let w = if size == OperandSize::S64 { 63 } else { 31 };
                ctx.emit(Inst::ShiftR { size, kind: ShiftKind::Sar, src: r, amount: ShiftAmount::Imm(w), dst: s });
                let t = self.emit_alu(ctx, size, AluOp::Xor, r, RegMemImm::Reg(s.to_reg()))?;
                let c = self.clz_reg(ctx, t, size)?;
                let adj = 1 + if bits < 32 { 32 - bits as i32 } else { 0 };
                self.emit_alu(ctx, OperandSize::S32, AluOp::Sub, c, RegMemImm::Imm(adj))?
            }
        };
        let r = ctx.f.dfg.inst_results(inst)[0];
        ctx.alias_value(r, res)
    }

    fn lower_bitrev(&self, ctx: Ctx, inst: IrInst, x: Value, ty: Type) -> CodegenResult<()> {
        if ty == types::I128 {
            let r = self.regs(ctx, x)?;
            let lo = self.bitrev_reg(ctx, r.reg(1), OperandSize::S64)?;
            let hi = self.bitrev_reg(ctx, r.reg(0), OperandSize::S64)?;
            let dst = ctx.output_regs(inst, 0)?;
            self.mov_to(ctx, Writable::from_reg(dst.reg(0)), lo);
            self.mov_to(ctx, Writable::from_reg(dst.reg(1)), hi);
            return Ok(());
        }
        if !is_int_ty(ty) {
            return Err(unsupported_op(Opcode::Bitrev, ty));
        }
        let size = size32(ty);
        let r = self.reg(ctx, x)?;
        let mut v = self.bitrev_reg(ctx, r, size)?;
        if ty.bits() < 32 {
            let d = self.tmp(ctx, types::I32)?;
            ctx.emit(Inst::ShiftR {
                size: OperandSize::S32,
                kind: ShiftKind::Shr,
                src: v,
                amount: ShiftAmount::Imm(32 - ty.bits() as u8),
                dst: d,
            });
            v = d.to_reg();
        }
        let res = ctx.f.dfg.inst_results(inst)[0];
        ctx.alias_value(res, v)
    }

    fn bitrev_reg(&self, ctx: Ctx, r: Reg, size: OperandSize) -> CodegenResult<Reg> {
        let wide = size == OperandSize::S64;
        let ty = if wide { types::I64 } else { types::I32 };
        let mut v = r;
        for (shift, byte) in [(1u8, 0x55u8), (2, 0x33), (4, 0x0f)] {
            let m = self.constant(ctx, ty, u64::from_le_bytes([byte; 8]))?;
            // ((v >> s) & m) | ((v & m) << s)
            let a = self.tmp(ctx, ty)?;
            ctx.emit(Inst::ShiftR { size, kind: ShiftKind::Shr, src: v, amount: ShiftAmount::Imm(shift), dst: a });
            let a = self.emit_alu(ctx, size, AluOp::And, a.to_reg(), RegMemImm::Reg(m))?;
            let b = self.emit_alu(ctx, size, AluOp::And, v, RegMemImm::Reg(m))?;
            let b2 = self.tmp(ctx, ty)?;
            ctx.emit(Inst::ShiftR { size, kind: ShiftKind::Shl, src: b, amount: ShiftAmount::Imm(shift), dst: b2 });
            v = self.emit_alu(ctx, size, AluOp::Or, a, RegMemImm::Reg(b2.to_reg()))?;
        }
        let d = self.tmp(ctx, ty)?;
        ctx.emit(Inst::Bswap { size, src: v, dst: d });
        Ok(d.to_reg())
    }

    /// Does the lowering of `v` (an i32) leave the upper 32 bits of its register zero? True
    /// for values computed by 32-bit operations, which the hardware zero-extends; false for
    /// parameters, call results and anything of unknown origin.
    fn zero_extends_32(&self, ctx: Ctx, v: Value) -> bool {
        if ctx.value_ty(v) != types::I32 {
            return false;
        }
        let Some(def) = ctx.def_inst(v) else { return false };
        let op = ctx.f.dfg.opcode(def);
        if matches!(op, Opcode::Ishl | Opcode::Ushr | Opcode::Sshr) {
            // A constant shift by zero is lowered as a plain alias of the operand.
            if let Some(amt) = ctx.inputs(def).get(1)
                && ctx.iconst_bits(*amt).is_some_and(|c| c & 31 == 0)
            {
                return false;
            }
        }
        matches!(
            op,
            Opcode::Iadd
                | Opcode::Isub
                | Opcode::Band
                | Opcode::Bor
                | Opcode::Bxor
                | Opcode::Imul
                | Opcode::Ishl
                | Opcode::Ushr
                | Opcode::Sshr
                | Opcode::Ineg
                | Opcode::Bnot
                | Opcode::Iconst
                | Opcode::Load
                | Opcode::Uload8
                | Opcode::Sload8
                | Opcode::Uload16
                | Opcode::Sload16
                | Opcode::Udiv
                | Opcode::Urem
                | Opcode::Sdiv
                | Opcode::Srem
        )
    }

    fn lower_extend(&self, ctx: Ctx, inst: IrInst, signed: bool, x: Value, ty: Type) -> CodegenResult<()> {
        let src_ty = ctx.value_ty(x);
        if !is_int_ty(src_ty) {
            return Err(unsupported_op(if signed { Opcode::Sextend } else { Opcode::Uextend }, ty));
        }
        if !signed && ty == types::I64 && self.zero_extends_32(ctx, x) {
            let r = self.reg(ctx, x)?;
            let res = ctx.f.dfg.inst_results(inst)[0];
            return ctx.alias_value(res, r);
        }
        let from = src_ty.bits();
        let to = if ty.bits() > 32 { 64 } else { 32 };
        // Extend (possibly straight from memory) to 32/64 bits.
        let ext = ExtMode::new(from, to);
        let lo = match ext {
            None => self.reg(ctx, x)?,
            Some(ext) => {
                let src = match self.sinkable_load(ctx, x, src_ty)? {
                    Some(m) => RegMem::Mem(m),
                    None => RegMem::Reg(self.reg(ctx, x)?),
                };
                let d = self.tmp(ctx, if to == 64 { types::I64 } else { types::I32 })?;
                if from == 32 && !signed {
                    match src {
                        RegMem::Reg(r) => ctx.emit(Inst::MovRR { size: OperandSize::S32, src: r, dst: d }),
                        RegMem::Mem(m) => ctx.emit(Inst::Load { size: OperandSize::S32, mem: m, dst: d }),
                    }
                } else if signed {
                    ctx.emit(Inst::MovsxRmR { ext, src, dst: d });
                } else {
                    ctx.emit(Inst::MovzxRmR { ext, src, dst: d });
                }
                d.to_reg()
            }
        };
        if ty == types::I128 {
            let dst = ctx.output_regs(inst, 0)?;
            self.mov_to(ctx, Writable::from_reg(dst.reg(0)), lo);
            if signed {
                ctx.emit(Inst::ShiftR {
                    size: OperandSize::S64,
                    kind: ShiftKind::Sar,
                    src: lo,
                    amount: ShiftAmount::Imm(63),
                    dst: Writable::from_reg(dst.reg(1)),
                });
            } else {
                ctx.emit(Inst::Imm { size: OperandSize::S32, imm: 0, dst: Writable::from_reg(dst.reg(1)) });
            }
            return Ok(());
        }
        let res = ctx.f.dfg.inst_results(inst)[0];
        ctx.alias_value(res, lo)
    }

    /// Byte-swap the low `bytes` of a register.
    fn bswap_reg(&self, ctx: Ctx, r: Reg, bytes: u32) -> CodegenResult<Reg> {
        let d = self.tmp(ctx, types::I64)?;
        match bytes {
            1 => return Ok(r),
            2 => ctx.emit(Inst::ShiftR {
                size: OperandSize::S16,
                kind: ShiftKind::Rol,
                src: r,
                amount: ShiftAmount::Imm(8),
                dst: d,
            }),
            4 => ctx.emit(Inst::Bswap { size: OperandSize::S32, src: r, dst: d }),
            _ => ctx.emit(Inst::Bswap { size: OperandSize::S64, src: r, dst: d }),
        }
        Ok(d.to_reg())
    }

    fn lower_load(&self, ctx: Ctx, inst: IrInst, op: Opcode, ty: Type) -> CodegenResult<()> {
        let D::Load { flags, arg, offset, .. } = *ctx.data(inst) else { unreachable!() };
        let mf = ctx.f.dfg.mem_flags.get(flags);
        let big = mf.explicit_endianness() == Some(Endianness::Big);
        if ty.is_vector() || ty.is_dynamic_vector() {
            return Err(unsupported(format!("{ty} loads (SIMD)")));
        }
        let (width, signed) = match op {
            Opcode::Uload8 => (8, false),
            Opcode::Sload8 => (8, true),
            Opcode::Uload16 => (16, false),
            Opcode::Sload16 => (16, true),
            Opcode::Uload32 => (32, false),
            Opcode::Sload32 => (32, true),
            _ => (ty.bits(), false),
        };
        let mem = self.mem(ctx, mf, arg, offset.0)?;
        if ty == types::I128 {
            let dst = ctx.output_regs(inst, 0)?;
            let mem_hi = Mem { amode: amode_add(mem.amode, 8), trap: mem.trap };
            let (m_lo, m_hi) = if big { (mem_hi, mem) } else { (mem, mem_hi) };
            for (i, m) in [(0, m_lo), (1, m_hi)] {
                let t = self.tmp(ctx, types::I64)?;
                ctx.emit(Inst::Load { size: OperandSize::S64, mem: m, dst: t });
                let v = if big { self.bswap_reg(ctx, t.to_reg(), 8)? } else { t.to_reg() };
                self.mov_to(ctx, Writable::from_reg(dst.reg(i)), v);
            }
            return Ok(());
        }
        if ty.is_float() {
            let dst = self.output(ctx, inst)?;
            if !big && (ty == types::F32 || ty == types::F64 || ty == types::F128) {
                ctx.emit(load_to_reg(mem, dst, ty, self.b.isa.has_avx));
                return Ok(());
            }
            if ty == types::F128 {
                return Err(unsupported("big-endian f128 loads"));
            }
            // Through a general-purpose register (f16, or big-endian).
            let bytes = ty.bytes();
            let t = self.tmp(ctx, types::I64)?;
            ctx.emit(load_to_reg(mem, t, types::Type::int(bytes * 8).unwrap_or(types::I64), false));
            let v = if big { self.bswap_reg(ctx, t.to_reg(), bytes)? } else { t.to_reg() };
            let size = if bytes == 8 { OperandSize::S64 } else { OperandSize::S32 };
            let v = if bytes == 2 && big { self.extend_reg(ctx, v, 16, false, false)? } else { v };
            ctx.emit(Inst::GprToXmm { op: GprToXmmOp::Mov, size, src: RegMem::Reg(v), dst });
            return Ok(());
        }
        if !is_int_ty(ty) {
            return Err(unsupported_op(op, ty));
        }
        let dst = self.output(ctx, inst)?;
        let to = if ty.bits() > 32 { 64 } else { 32 };
        if big && width > 8 {
            let t = self.tmp(ctx, types::I64)?;
            ctx.emit(load_to_reg(mem, t, Type::int(width).unwrap_or(types::I64), false));
            let v = self.bswap_reg(ctx, t.to_reg(), width / 8)?;
            if width < ty.bits() {
                ctx.emit(self.b.abi.gen_extend(dst, v, signed, width as u8, to as u8));
            } else {
                self.mov_to(ctx, dst, v);
            }
            return Ok(());
        }
        let inst = match (width, signed) {
            (8, _) | (16, _) => {
                let ext = ExtMode::new(width, to).unwrap_or(ExtMode::BL);
                if signed {
                    Inst::MovsxRmR { ext, src: RegMem::Mem(mem), dst }
                } else {
                    Inst::MovzxRmR { ext, src: RegMem::Mem(mem), dst }
                }
            }
            (32, true) if ty.bits() == 64 => Inst::MovsxRmR { ext: ExtMode::LQ, src: RegMem::Mem(mem), dst },
            (32, _) => Inst::Load { size: OperandSize::S32, mem, dst },
            _ => Inst::Load { size: OperandSize::S64, mem, dst },
        };
        ctx.emit(inst);
        Ok(())
    }

    fn lower_store(&self, ctx: Ctx, inst: IrInst, op: Opcode) -> CodegenResult<()> {
        let D::Store { flags, args, offset, .. } = *ctx.data(inst) else { unreachable!() };
        let mf = ctx.f.dfg.mem_flags.get(flags);
        let big = mf.explicit_endianness() == Some(Endianness::Big);
        let (val, addr) = (args[0], args[1]);
        let vty = ctx.value_ty(val);
        if vty.is_vector() || vty.is_dynamic_vector() {
            return Err(unsupported(format!("{vty} stores (SIMD)")));
        }
        let width = match op {
            Opcode::Istore8 => 8,
            Opcode::Istore16 => 16,
            Opcode::Istore32 => 32,
            _ => vty.bits(),
        };
        if op == Opcode::Store
            && !big
            && is_int_ty(vty)
            && vty.bits() >= 32
            && self.store_rmw(ctx, val, addr, offset.0, mf)?
        {
            return Ok(());
        }
        let mem = self.mem(ctx, mf, addr, offset.0)?;
        if vty == types::I128 {
            let r = self.regs(ctx, val)?;
            let mem_hi = Mem { amode: amode_add(mem.amode, 8), trap: mem.trap };
            let (m_lo, m_hi) = if big { (mem_hi, mem) } else { (mem, mem_hi) };
            for (i, m) in [(0, m_lo), (1, m_hi)] {
                let v = if big { self.bswap_reg(ctx, r.reg(i), 8)? } else { r.reg(i) };
                ctx.emit(Inst::Store { size: OperandSize::S64, src: v, mem: m });
            }
            return Ok(());
        }
        if vty.is_float() {
            let r = self.reg(ctx, val)?;
            if !big && (vty == types::F32 || vty == types::F64 || vty == types::F128) {
                ctx.emit(store_from_reg(mem, r, vty, self.b.isa.has_avx));
                return Ok(());
            }
            if vty == types::F128 {
                return Err(unsupported("big-endian f128 stores"));
            }
            let bytes = vty.bytes();
            let t = self.tmp(ctx, types::I64)?;
            let size = if bytes == 8 { OperandSize::S64 } else { OperandSize::S32 };
            ctx.emit(Inst::XmmToGpr { op: XmmToGprOp::Mov, size, src: r, dst: t });
            let v = if big { self.bswap_reg(ctx, t.to_reg(), bytes)? } else { t.to_reg() };
            ctx.emit(Inst::Store { size: OperandSize::from_bits(bytes * 8), src: v, mem });
            return Ok(());
        }
        if !is_int_ty(vty) {
            return Err(unsupported_op(op, vty));
        }
        let size = OperandSize::from_bits(width);
        if !big && let Some(imm) = self.imm32(ctx, val, Type::int(width).unwrap_or(types::I64)) {
            ctx.emit(Inst::StoreImm { size, imm, mem });
            return Ok(());
        }
        let r = self.reg(ctx, val)?;
        let v = if big { self.bswap_reg(ctx, r, width / 8)? } else { r };
        ctx.emit(Inst::Store { size, src: v, mem });
        Ok(())
    }
}

impl X64Lower<'_> {
    /// `store (op (load p+off) y), p+off` as one read-modify-write instruction `op y, (p+off)`
    /// (`op` is `iadd`, `isub` with the load first, `band`, `bor` or `bxor` of 32 or 64 bits),
    /// when the load and the operation can be merged into the store. Returns whether it did.
    fn store_rmw(&self, ctx: Ctx, val: Value, addr: Value, offset: i32, mf: MemFlags) -> CodegenResult<bool> {
        let Some(def) = ctx.sinkable_inst(val) else { return Ok(false) };
        let D::Binary { opcode, args } = *ctx.data(def) else { return Ok(false) };
        let aop = match opcode {
            Opcode::Iadd => AluOp::Add,
            Opcode::Isub => AluOp::Sub,
            Opcode::Band => AluOp::And,
            Opcode::Bor => AluOp::Or,
            Opcode::Bxor => AluOp::Xor,
            _ => return Ok(false),
        };
        let ty = ctx.value_ty(val);
        let addr = ctx.f.dfg.resolve_aliases(addr);
        // The load of the stored location that can merge here.
        let same_load = |ctx: Ctx, v: Value| -> Option<IrInst> {
            let load = ctx.sinkable_inst(v)?;
            let D::Load { opcode: Opcode::Load, flags, arg, offset: lo } = *ctx.data(load) else { return None };
            let lf = ctx.f.dfg.mem_flags.get(flags);
            // A load without side effects could sit before another store to the location.
            (kiln_codegen::machinst::lower::has_side_effect(ctx.f, load, Opcode::Load)
                && ctx.f.dfg.resolve_aliases(arg) == addr
                && lo.0 == offset
                && ctx.value_ty(v) == ty
                && lf.explicit_endianness() != Some(Endianness::Big)
                && mem_trap(lf) == mem_trap(mf))
            .then_some(load)
        };
        let (load, other) = if let Some(l) = same_load(ctx, args[0]) {
            (l, args[1])
        } else if aop != AluOp::Sub
            && let Some(l) = same_load(ctx, args[1])
        {
            (l, args[0])
        } else {
            return Ok(false);
        };
        // A constant operand is an immediate (`AluMI`) when it fits a sign-extended 32-bit
        // one; a wider constant keeps the plain load-op-store sequence.
        let imm = self.imm32(ctx, other, ty);
        if imm.is_none() && ctx.iconst_bits(other).is_some() {
            return Ok(false);
        }
        ctx.sink_inst(def);
        ctx.sink_inst(load);
        // The merged load and this store may be the address's only users.
        let amode = self.amode_for(ctx, addr, offset, kiln_codegen::machinst::lower::Uses::Twice)?;
        let mem = Mem::new(amode, mem_trap(mf));
        let size = size_of(ty);
        if let Some(imm) = imm {
            ctx.emit(Inst::AluMI { size, op: aop, imm, mem });
        } else {
            let src = self.reg(ctx, other)?;
            ctx.emit(Inst::AluRM { size, op: aop, src, mem });
        }
        Ok(true)
    }
}

/// `bits` truncated to the width of `ty` (32 or 64 bits) as the sign-extended 32-bit
/// immediate of an instruction of that width, if it fits.
fn imm_at_width(bits: u64, ty: Type) -> Option<i32> {
    if ty.bits() <= 32 { Some(bits as u32 as i32) } else { i32::try_from(bits as i64).ok() }
}

/// `amode` with `delta` more displacement.
fn amode_add(a: Amode, delta: i32) -> Amode {
    match a {
        Amode::ImmReg { disp, base } => Amode::ImmReg { disp: disp.wrapping_add(delta), base },
        Amode::ImmRegRegShift { disp, base, index, shift } => {
            Amode::ImmRegRegShift { disp: disp.wrapping_add(delta), base, index, shift }
        }
        Amode::Stack(m) => Amode::Stack(match m {
            StackAMode::IncomingArg(o) => StackAMode::IncomingArg(o + delta as i64),
            StackAMode::Slot(o) => StackAMode::Slot(o + delta as i64),
            StackAMode::OutgoingArg(o) => StackAMode::OutgoingArg(o + delta as i64),
        }),
        r @ Amode::RipRelative { .. } => r,
    }
}

impl X64Lower<'_> {
    fn lower_float(&self, ctx: Ctx, inst: IrInst, op: Opcode, ty: Type) -> CodegenResult<()> {
        let args = ctx.inputs(inst);
        let double = ty == types::F64;
        let scalar = ty == types::F32 || ty == types::F64;
        let vex = self.b.isa.has_avx;
        let src_ty = ctx.value_ty(args[0]);
        // The sign-bit operations are bitwise, so they work for every float width held in an
        // XMM register (f16 and f128 included).
        let bitwise = matches!(op, Opcode::Fneg | Opcode::Fabs | Opcode::Fcopysign) && ty.is_float();
        if !scalar && !bitwise && !(matches!(op, Opcode::Fpromote | Opcode::Fdemote)) {
            return Err(unsupported_op(op, ty));
        }
        let (sign_mask, magnitude_mask) = float_masks(ty);
        let res: Reg = match op {
            Opcode::Fadd | Opcode::Fsub | Opcode::Fmul | Opcode::Fdiv => {
                let sop = match (op, double) {
                    (Opcode::Fadd, false) => SseOp::Addss,
                    (Opcode::Fadd, true) => SseOp::Addsd,
                    (Opcode::Fsub, false) => SseOp::Subss,
                    (Opcode::Fsub, true) => SseOp::Subsd,
                    (Opcode::Fmul, false) => SseOp::Mulss,
                    (Opcode::Fmul, true) => SseOp::Mulsd,
                    (Opcode::Fdiv, false) => SseOp::Divss,
                    _ => SseOp::Divsd,
                };
                // Addition and multiplication commute (up to which NaN payload comes out,
                // which the semantics leave open): a mergeable load goes second.
                let (x, y) = if matches!(op, Opcode::Fadd | Opcode::Fmul)
                    && self.is_sinkable_load(ctx, args[0], ty)
                    && !self.is_sinkable_load(ctx, args[1], ty)
                {
                    (args[1], args[0])
                } else {
                    (args[0], args[1])
                };
                let src1 = self.reg(ctx, x)?;
                let src2 = self.rm(ctx, y, ty)?;
                let d = self.tmp(ctx, ty)?;
                ctx.emit(Inst::XmmRmR { op: sop, src1, src2, dst: d, vex });
                d.to_reg()
            }
            Opcode::Sqrt => {
                let x = self.reg(ctx, args[0])?;
                let d = self.tmp(ctx, ty)?;
                let sop = if double { SseOp::Sqrtsd } else { SseOp::Sqrtss };
                ctx.emit(Inst::XmmRmR { op: sop, src1: x, src2: RegMem::Reg(x), dst: d, vex });
                d.to_reg()
            }
            Opcode::Fneg | Opcode::Fabs => {
                let x = self.reg(ctx, args[0])?;
                let (sop, m) = if op == Opcode::Fneg {
                    (if double { SseOp::Xorpd } else { SseOp::Xorps }, sign_mask)
                } else {
                    (if double { SseOp::Andpd } else { SseOp::Andps }, magnitude_mask)
                };
                let cm = self.const_mem(ctx, &m);
                let d = self.tmp(ctx, ty)?;
                ctx.emit(Inst::XmmRmR { op: sop, src1: x, src2: cm, dst: d, vex });
                d.to_reg()
            }
            Opcode::Fcopysign => {
                let x = self.reg(ctx, args[0])?;
                let y = self.reg(ctx, args[1])?;
                let (and, or) = if double { (SseOp::Andpd, SseOp::Orpd) } else { (SseOp::Andps, SseOp::Orps) };
                let mag = self.const_mem(ctx, &magnitude_mask);
                let sgn = self.const_mem(ctx, &sign_mask);
                let a = self.tmp(ctx, ty)?;
                ctx.emit(Inst::XmmRmR { op: and, src1: x, src2: mag, dst: a, vex });
                let b = self.tmp(ctx, ty)?;
                ctx.emit(Inst::XmmRmR { op: and, src1: y, src2: sgn, dst: b, vex });
                let d = self.tmp(ctx, ty)?;
                ctx.emit(Inst::XmmRmR { op: or, src1: a.to_reg(), src2: RegMem::Reg(b.to_reg()), dst: d, vex });
                d.to_reg()
            }
            Opcode::Fmin | Opcode::Fmax => {
                let lhs = self.reg(ctx, args[0])?;
                let rhs = self.reg(ctx, args[1])?;
                let d = self.tmp(ctx, ty)?;
                ctx.emit(Inst::XmmMinMaxSeq { double, is_min: op == Opcode::Fmin, lhs, rhs, dst: d });
                d.to_reg()
            }
            Opcode::Fma => {
                if !self.b.isa.has_fma {
                    let lib = if double { LibCall::FmaF64 } else { LibCall::FmaF32 };
                    ctx.libcall_value(inst, lib, &[args[0], args[1], args[2]])?
                } else {
                    let x = self.reg(ctx, args[0])?;
                    let y = self.reg(ctx, args[1])?;
                    let z = self.rm(ctx, args[2], ty)?;
                    let d = self.tmp(ctx, ty)?;
                    let fop = if double { FmaOp::Vfmadd213sd } else { FmaOp::Vfmadd213ss };
                    ctx.emit(Inst::XmmFma { op: fop, src1: x, src2: y, src3: z, dst: d });
                    d.to_reg()
                }
            }
            Opcode::Ceil | Opcode::Floor | Opcode::Trunc | Opcode::Nearest => {
                if !self.b.isa.has_sse41 {
                    ctx.libcall_value(inst, rounding_libcall(op, double), &[args[0]])?
                } else {
                    let imm = match op {
                        Opcode::Nearest => 0,
                        Opcode::Floor => 1,
                        Opcode::Ceil => 2,
                        _ => 3,
                    } | 8;
                    let src = self.rm(ctx, args[0], ty)?;
                    let d = self.tmp(ctx, ty)?;
                    let rop = if double { RoundOp::Roundsd } else { RoundOp::Roundss };
                    ctx.emit(Inst::XmmRound { op: rop, imm, src, dst: d });
                    d.to_reg()
                }
            }
            Opcode::Fpromote | Opcode::Fdemote => {
                let ok = matches!((src_ty, ty), (types::F32, types::F64) | (types::F64, types::F32));
                if !ok {
                    return Err(unsupported(format!("{op} from {src_ty} to {ty}")));
                }
                let x = self.reg(ctx, args[0])?;
                let d = self.tmp(ctx, ty)?;
                let sop = if op == Opcode::Fpromote { SseOp::Cvtss2sd } else { SseOp::Cvtsd2ss };
                ctx.emit(Inst::XmmRmR { op: sop, src1: x, src2: RegMem::Reg(x), dst: d, vex });
                d.to_reg()
            }
            _ => return Err(unsupported_op(op, ty)),
        };
        let res = if ctx.flags.enable_nan_canonicalization() != 0
            && !matches!(op, Opcode::Fneg | Opcode::Fabs | Opcode::Fcopysign)
        {
            self.canonicalize_nan(ctx, res, ty)?
        } else {
            res
        };
        let r = ctx.f.dfg.inst_results(inst)[0];
        ctx.alias_value(r, res)
    }

    /// Replace a NaN in `r` by the positive canonical NaN.
    fn canonicalize_nan(&self, ctx: Ctx, r: Reg, ty: Type) -> CodegenResult<Reg> {
        let double = ty == types::F64;
        let bits: u64 = if double { 0x7ff8_0000_0000_0000 } else { 0x7fc0_0000 };
        let bytes = if double { bits.to_le_bytes().to_vec() } else { (bits as u32).to_le_bytes().to_vec() };
        let canon = self.xmm_constant(ctx, &bytes, ty)?;
        ctx.emit(Inst::XmmCmp { double, src1: r, src2: RegMem::Reg(r) });
        let d = self.tmp(ctx, ty)?;
        ctx.emit(Inst::XmmCmove { cc: CC::P, consequent: canon, alternative: r, dst: d });
        Ok(d.to_reg())
    }

    fn lower_fcvt_to_int(&self, ctx: Ctx, inst: IrInst, op: Opcode, x: Value, ty: Type) -> CodegenResult<()> {
        let src_ty = ctx.value_ty(x);
        if !(src_ty == types::F32 || src_ty == types::F64) || !is_int_ty(ty) {
            return Err(unsupported(format!("{op} from {src_ty} to {ty}")));
        }
        let signed = matches!(op, Opcode::FcvtToSint | Opcode::FcvtToSintSat);
        let saturating = matches!(op, Opcode::FcvtToUintSat | Opcode::FcvtToSintSat);
        let src = self.reg(ctx, x)?;
        let bits = ty.bits();
        let seq = |ctx: Ctx, dst_size: OperandSize, signed: bool, dst: Writable<Reg>| -> CodegenResult<()> {
            let tmp_gpr = ctx.alloc_tmp(types::I64)?;
            let tmp_xmm = ctx.alloc_tmp(src_ty)?;
            let tmp_xmm2 = ctx.alloc_tmp(src_ty)?;
            ctx.emit(Inst::CvtFloatToIntSeq {
                src_double: src_ty == types::F64,
                dst_size,
                signed,
                saturating,
                src,
                dst,
                tmp_gpr,
                tmp_xmm,
                tmp_xmm2,
            });
            Ok(())
        };
        if bits >= 32 {
            let dst = self.output(ctx, inst)?;
            return seq(ctx, size_of(ty), signed, dst);
        }
        // i8/i16: convert to i32 (signed covers every narrow value, unsigned included), then
        // range-check or clamp.
        let t = self.tmp(ctx, types::I32)?;
        seq(ctx, OperandSize::S32, true, t)?;
        let (lo, hi): (i32, i32) =
            if signed { (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) } else { (0, (1 << bits) - 1) };
        let dst = self.output(ctx, inst)?;
        if saturating {
            let hi_r = self.constant(ctx, types::I32, hi as u32 as u64)?;
            let lo_r = self.constant(ctx, types::I32, lo as u32 as u64)?;
            ctx.emit(Inst::CmpRmiR {
                size: OperandSize::S32,
                op: CmpOp::Cmp,
                src1: t.to_reg(),
                src2: RegMemImm::Imm(hi),
            });
            let c1 = self.tmp(ctx, types::I32)?;
            ctx.emit(Inst::Cmove {
                size: OperandSize::S32,
                cc: CC::NLE,
                consequent: RegMem::Reg(hi_r),
                alternative: t.to_reg(),
                dst: c1,
            });
            ctx.emit(Inst::CmpRmiR {
                size: OperandSize::S32,
                op: CmpOp::Cmp,
                src1: c1.to_reg(),
                src2: RegMemImm::Imm(lo),
            });
            ctx.emit(Inst::Cmove {
                size: OperandSize::S32,
                cc: CC::L,
                consequent: RegMem::Reg(lo_r),
                alternative: c1.to_reg(),
                dst,
            });
        } else {
            ctx.emit(Inst::CmpRmiR {
                size: OperandSize::S32,
                op: CmpOp::Cmp,
                src1: t.to_reg(),
                src2: RegMemImm::Imm(hi),
            });
            ctx.emit(Inst::TrapIf { cc: CC::NLE, code: TrapCode::INTEGER_OVERFLOW });
            ctx.emit(Inst::CmpRmiR {
                size: OperandSize::S32,
                op: CmpOp::Cmp,
                src1: t.to_reg(),
                src2: RegMemImm::Imm(lo),
            });
            ctx.emit(Inst::TrapIf { cc: CC::L, code: TrapCode::INTEGER_OVERFLOW });
            self.mov_to(ctx, dst, t.to_reg());
        }
        Ok(())
    }

    fn lower_fcvt_from_int(&self, ctx: Ctx, inst: IrInst, signed: bool, x: Value, ty: Type) -> CodegenResult<()> {
        let src_ty = ctx.value_ty(x);
        let op = if signed { Opcode::FcvtFromSint } else { Opcode::FcvtFromUint };
        if !(ty == types::F32 || ty == types::F64) || !is_int_ty(src_ty) {
            return Err(unsupported(format!("{op} from {src_ty} to {ty}")));
        }
        let double = ty == types::F64;
        let cvt = if double { GprToXmmOp::Cvtsi2sd } else { GprToXmmOp::Cvtsi2ss };
        let dst = self.output(ctx, inst)?;
        let bits = src_ty.bits();
        if !signed && bits == 64 {
            let src = self.reg(ctx, x)?;
            let tmp1 = self.tmp(ctx, types::I64)?;
            let tmp2 = self.tmp(ctx, types::I64)?;
            ctx.emit(Inst::CvtUint64ToFloatSeq { double, src, dst, tmp1, tmp2 });
            return Ok(());
        }
        // Signed values up to 32 bits convert at 32 bits; unsigned 32-bit values at 64.
        let (r, size) = if signed {
            if bits == 64 {
                (self.reg(ctx, x)?, OperandSize::S64)
            } else {
                (self.extend(ctx, x, true, false)?, OperandSize::S32)
            }
        } else if bits == 32 {
            (self.extend(ctx, x, false, true)?, OperandSize::S64)
        } else {
            (self.extend(ctx, x, false, false)?, OperandSize::S32)
        };
        ctx.emit(Inst::GprToXmm { op: cvt, size, src: RegMem::Reg(r), dst });
        Ok(())
    }

    fn lower_atomic(&self, ctx: Ctx, inst: IrInst, op: Opcode, ty: Type) -> CodegenResult<()> {
        let data = *ctx.data(inst);
        let flags = data.memflags().map(|id| ctx.f.dfg.mem_flags.get(id)).unwrap_or_default();
        if flags.explicit_endianness() == Some(Endianness::Big) {
            return Err(unsupported("big-endian atomics"));
        }
        let trap = mem_trap(flags);
        let args = ctx.inputs(inst);
        let vty = match op {
            Opcode::AtomicStore => ctx.value_ty(args[0]),
            _ => ty,
        };
        if vty == types::I128 {
            if !self.b.isa.has_cmpxchg16b {
                return Err(unsupported(format!("i128 {op} without has_cmpxchg16b")));
            }
            if matches!(op, Opcode::AtomicRmw | Opcode::AtomicStore) {
                return self.lower_atomic_rmw128(ctx, inst, op, trap);
            }
            let addr = self.reg(ctx, args[0])?;
            let mem = Mem::new(Amode::imm_reg(0, addr), trap);
            let (e, r) = if op == Opcode::AtomicCas {
                (self.regs(ctx, args[1])?, self.regs(ctx, args[2])?)
            } else {
                let z = self.tmp(ctx, types::I64)?;
                ctx.emit(Inst::Imm { size: OperandSize::S32, imm: 0, dst: z });
                let z = ValueRegs::two(z.to_reg(), z.to_reg());
                (z, z)
            };
            let dst = ctx.output_regs(inst, 0)?;
            ctx.emit(Inst::LockCmpxchg16b {
                replacement_lo: r.reg(0),
                replacement_hi: r.reg(1),
                expected_lo: e.reg(0),
                expected_hi: e.reg(1),
                mem,
                dst_old_lo: Writable::from_reg(dst.reg(0)),
                dst_old_hi: Writable::from_reg(dst.reg(1)),
            });
            return Ok(());
        }
        if !is_int_ty(vty) {
            return Err(unsupported_op(op, vty));
        }
        let size = size_of(vty);
        match op {
            Opcode::AtomicLoad => {
                let mem = self.mem(ctx, flags, args[0], 0)?;
                let dst = self.output(ctx, inst)?;
                ctx.emit(load_to_reg(mem, dst, vty, self.b.isa.has_avx));
                Ok(())
            }
            Opcode::AtomicStore => {
                let v = self.reg(ctx, args[0])?;
                let mem = self.mem(ctx, flags, args[1], 0)?;
                let old = self.tmp(ctx, vty)?;
                ctx.emit(Inst::Xchg { size, operand: v, mem, dst_old: old });
                Ok(())
            }
            Opcode::AtomicCas => {
                let mem = self.mem(ctx, flags, args[0], 0)?;
                let expected = self.reg(ctx, args[1])?;
                let replacement = self.reg(ctx, args[2])?;
                let dst = self.output(ctx, inst)?;
                ctx.emit(Inst::LockCmpxchg { size, replacement, expected, mem, dst_old: dst });
                Ok(())
            }
            _ => {
                let D::AtomicRmw { op: rmw, .. } = data else { unreachable!() };
                let mem = self.mem(ctx, flags, args[0], 0)?;
                let operand = self.reg(ctx, args[1])?;
                let dst = self.output(ctx, inst)?;
                match rmw {
                    AtomicRmwOp::Add => ctx.emit(Inst::LockXadd { size, operand, mem, dst_old: dst }),
                    AtomicRmwOp::Sub => {
                        let n = self.tmp(ctx, vty)?;
                        ctx.emit(Inst::Unary2 { size: size32(vty), op: Unary2Op::Neg, src: operand, dst: n });
                        ctx.emit(Inst::LockXadd { size, operand: n.to_reg(), mem, dst_old: dst });
                    }
                    AtomicRmwOp::Xchg => ctx.emit(Inst::Xchg { size, operand, mem, dst_old: dst }),
                    other => {
                        let lop = loop_op(other);
                        let temp = self.tmp(ctx, types::I64)?;
                        ctx.emit(Inst::AtomicRmwSeq { size, op: lop, mem, operand, temp, dst_old: dst });
                    }
                }
                Ok(())
            }
        }
    }

    /// i128 `atomic_rmw` and `atomic_store` (an exchange whose old value is dropped): the
    /// `lock cmpxchg16b` loop of [`Inst::AtomicRmw128Seq`].
    fn lower_atomic_rmw128(&self, ctx: Ctx, inst: IrInst, op: Opcode, trap: Option<TrapCode>) -> CodegenResult<()> {
        let args = ctx.inputs(inst);
        let (lop, x, addr) = if op == Opcode::AtomicStore {
            (AtomicLoopOp::Xchg, args[0], args[1])
        } else {
            let D::AtomicRmw { op: rmw, .. } = *ctx.data(inst) else { unreachable!() };
            (loop_op(rmw), args[1], args[0])
        };
        let addr = self.reg(ctx, addr)?;
        let mem = Mem::new(Amode::imm_reg(0, addr), trap);
        let operand = self.regs(ctx, x)?;
        let (old_lo, old_hi) = if op == Opcode::AtomicStore {
            (self.tmp(ctx, types::I64)?, self.tmp(ctx, types::I64)?)
        } else {
            let d = ctx.output_regs(inst, 0)?;
            (Writable::from_reg(d.reg(0)), Writable::from_reg(d.reg(1)))
        };
        let (temp_lo, temp_hi, temp) =
            (self.tmp(ctx, types::I64)?, self.tmp(ctx, types::I64)?, self.tmp(ctx, types::I64)?);
        ctx.emit(Inst::AtomicRmw128Seq {
            op: lop,
            mem,
            operand_lo: operand.reg(0),
            operand_hi: operand.reg(1),
            temp_lo,
            temp_hi,
            temp,
            dst_old_lo: old_lo,
            dst_old_hi: old_hi,
        });
        Ok(())
    }

    // -------------------------------------------------------------------------------------
    // Terminators

    fn lower_branch(&self, ctx: Ctx, inst: IrInst, targets: &[MachLabel]) -> CodegenResult<()> {
        let data = *ctx.data(inst);
        let args = ctx.inputs(inst);
        match data.opcode() {
            Opcode::Jump => {
                ctx.emit(Inst::JmpKnown { dst: targets[0] });
                Ok(())
            }
            Opcode::Brif => {
                let (t, e) = (targets[0], targets[1]);
                if t == e {
                    ctx.emit(Inst::JmpKnown { dst: t });
                    return Ok(());
                }
                let cond = match self.counter_test(ctx, inst, args[0])? {
                    Some(cc) => cc,
                    None => self.cond(ctx, args[0])?,
                };
                match cond {
                    Cond::One(cc) => ctx.emit(Inst::JmpCond { cc, taken: t, not_taken: e }),
                    Cond::Or(a, b) => ctx.emit(Inst::JmpCondOr { cc1: a, cc2: b, taken: t, not_taken: e }),
                    Cond::And(a, b) => {
                        ctx.emit(Inst::JmpCondOr { cc1: a.invert(), cc2: b.invert(), taken: e, not_taken: t })
                    }
                }
                Ok(())
            }
            Opcode::BrTable => {
                // Every destination is the same edge: a plain jump. (Using the index
                // would put a register use after the edge moves regalloc2 places before a
                // branch with one successor, which it rejects as `DisallowedBranchArg`.)
                if targets.iter().all(|&t| t == targets[0]) {
                    ctx.emit(Inst::JmpKnown { dst: targets[0] });
                    return Ok(());
                }
                let idx = self.reg(ctx, args[0])?;
                let tmp1 = self.tmp(ctx, types::I64)?;
                let tmp2 = self.tmp(ctx, types::I64)?;
                ctx.emit(Inst::JmpTableSeq {
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
                ctx.emit(Inst::Ud2 { code });
                Ok(())
            }
            op => Err(CodegenError::Other(format!("{op} is not a terminator"))),
        }
    }
}

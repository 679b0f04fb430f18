//! Lowering of vector (NEON) operations on the 64-bit and 128-bit vector types.
//!
//! Covered: loads, stores, `select` and `bitcast` (through the scalar paths), `vconst`,
//! lane-wise integer and float arithmetic, bitwise operations, `bitselect`, `splat`,
//! `extractlane`/`insertlane`, integer and ordered float comparisons, shifts,
//! `vany_true`/`vall_true`. Every other vector opcode (and any vector type that is not
//! 64 or 128 bits wide) is an `unsupported` error.
//!
//! Conventions: a vector value fills its register's low 64 or 128 bits; a 64-bit vector
//! operation zeroes the upper half (the NEON rule), which nothing relies on.

use crate::aarch64::inst::*;
use crate::aarch64::lower::{A64Lower, Ctx, unsupported, unsupported_op};
use kiln_codegen::machinst::Reg;
use kiln_codegen::{CodegenError, CodegenResult};
use kiln_ir::condcodes::{FloatCC, IntCC};
use kiln_ir::types::Type;
use kiln_ir::{Inst as IrInst, InstructionData as D, Opcode};

/// Does the vector lowering handle `inst` (a vector-typed result or operand)?
pub(crate) fn handles(ctx: Ctx, inst: IrInst, op: Opcode, ty: Type) -> bool {
    let _ = op;
    ty.is_vector() || ctx.inputs(inst).iter().any(|&a| ctx.value_ty(a).is_vector())
}

/// The arrangement of vector type `ty`, if it is 64 or 128 bits wide.
fn vsize(ty: Type) -> Option<VectorSize> {
    Some(match (ty.lane_bits(), ty.bits()) {
        (8, 64) => VectorSize::Size8x8,
        (8, 128) => VectorSize::Size8x16,
        (16, 64) => VectorSize::Size16x4,
        (16, 128) => VectorSize::Size16x8,
        (32, 64) => VectorSize::Size32x2,
        (32, 128) => VectorSize::Size32x4,
        (64, 64) => VectorSize::Size64x1,
        (64, 128) => VectorSize::Size64x2,
        _ => return None,
    })
}

/// The byte arrangement of the same width (for bitwise operations).
fn bytes_of(size: VectorSize) -> VectorSize {
    if size.is_128() { VectorSize::Size8x16 } else { VectorSize::Size8x8 }
}

/// Lower a vector instruction.
pub(crate) fn lower(l: &A64Lower, ctx: Ctx, inst: IrInst, op: Opcode, ty: Type) -> CodegenResult<()> {
    let args = ctx.inputs(inst);
    // The operation's own vector type: the result's, or for reductions, lane reads and
    // stores the first vector operand's.
    let vty = if ty.is_vector() {
        ty
    } else {
        args.iter().map(|&a| ctx.value_ty(a)).find(|t| t.is_vector()).unwrap_or(ty)
    };
    let Some(size) = vsize(vty) else { return Err(unsupported_op(op, vty)) };
    let rrr = |ctx: Ctx, vop: VecALUOp, size: VectorSize| -> CodegenResult<()> {
        let (a, b) = (l.reg(ctx, args[0])?, l.reg(ctx, args[1])?);
        let rd = ctx.output_reg(inst, 0)?;
        ctx.emit(Inst::VecRRR { op: vop, size, rd, rn: a, rm: b });
        Ok(())
    };
    let misc = |ctx: Ctx, vop: VecMisc2, size: VectorSize| -> CodegenResult<()> {
        let a = l.reg(ctx, args[0])?;
        let rd = ctx.output_reg(inst, 0)?;
        ctx.emit(Inst::VecMisc { op: vop, size, rd, rn: a });
        Ok(())
    };
    let float = vty.lane_type().is_float();
    let lane_bits = vty.lane_bits();
    match op {
        Opcode::Load | Opcode::Store | Opcode::Select | Opcode::SelectSpectreGuard | Opcode::Bitcast => {
            l.lower_scalar_path(ctx, inst)
        }
        Opcode::Vconst => {
            let D::UnaryConst { constant, .. } = *ctx.data(inst) else { unreachable!() };
            let c = ctx.f.dfg.constants.get(constant).ok_or_else(|| CodegenError::Other("bad constant".into()))?;
            let mut b = c.as_slice().to_vec();
            b.resize(16, 0);
            let r = l.vec_const(ctx, &b)?;
            l.set_result(ctx, inst, 0, r)
        }
        Opcode::Iadd => rrr(ctx, VecALUOp::Add, size),
        Opcode::Isub => rrr(ctx, VecALUOp::Sub, size),
        Opcode::Imul if lane_bits < 64 && !float => rrr(ctx, VecALUOp::Mul, size),
        Opcode::SaddSat => rrr(ctx, VecALUOp::Sqadd, size),
        Opcode::UaddSat => rrr(ctx, VecALUOp::Uqadd, size),
        Opcode::SsubSat => rrr(ctx, VecALUOp::Sqsub, size),
        Opcode::UsubSat => rrr(ctx, VecALUOp::Uqsub, size),
        Opcode::Smin if lane_bits < 64 => rrr(ctx, VecALUOp::Smin, size),
        Opcode::Smax if lane_bits < 64 => rrr(ctx, VecALUOp::Smax, size),
        Opcode::Umin if lane_bits < 64 => rrr(ctx, VecALUOp::Umin, size),
        Opcode::Umax if lane_bits < 64 => rrr(ctx, VecALUOp::Umax, size),
        Opcode::AvgRound if lane_bits < 64 => rrr(ctx, VecALUOp::Urhadd, size),
        Opcode::Band => rrr(ctx, VecALUOp::And, bytes_of(size)),
        Opcode::Bor => rrr(ctx, VecALUOp::Orr, bytes_of(size)),
        Opcode::Bxor => rrr(ctx, VecALUOp::Eor, bytes_of(size)),
        Opcode::Bnot => misc(ctx, VecMisc2::Not, bytes_of(size)),
        Opcode::Ineg if !float && size != VectorSize::Size64x1 => misc(ctx, VecMisc2::Neg, size),
        Opcode::Iabs if size != VectorSize::Size64x1 => misc(ctx, VecMisc2::Abs, size),
        Opcode::Popcnt if lane_bits == 8 => misc(ctx, VecMisc2::Cnt, size),
        Opcode::Fadd if float => rrr(ctx, VecALUOp::Fadd, size),
        Opcode::Fsub if float => rrr(ctx, VecALUOp::Fsub, size),
        Opcode::Fmul if float => rrr(ctx, VecALUOp::Fmul, size),
        Opcode::Fdiv if float => rrr(ctx, VecALUOp::Fdiv, size),
        // CLIF's fmin/fmax propagate NaNs and order -0 below +0, as NEON's do.
        Opcode::Fmin if float => rrr(ctx, VecALUOp::Fmin, size),
        Opcode::Fmax if float => rrr(ctx, VecALUOp::Fmax, size),
        Opcode::Fabs if float => misc(ctx, VecMisc2::Fabs, size),
        Opcode::Fneg if float => misc(ctx, VecMisc2::Fneg, size),
        Opcode::Sqrt if float => misc(ctx, VecMisc2::Fsqrt, size),
        Opcode::Ceil if float => misc(ctx, VecMisc2::Frintp, size),
        Opcode::Floor if float => misc(ctx, VecMisc2::Frintm, size),
        Opcode::Trunc if float => misc(ctx, VecMisc2::Frintz, size),
        Opcode::Nearest if float => misc(ctx, VecMisc2::Frintn, size),
        Opcode::Bitselect => {
            let (c, x, y) = (l.reg(ctx, args[0])?, l.reg(ctx, args[1])?, l.reg(ctx, args[2])?);
            let rd = ctx.output_reg(inst, 0)?;
            // bsl: rd = (rd & rn) | (!rd & rm), rd starting as the mask.
            ctx.emit(Inst::VecRRRMod { op: VecALUModOp::Bsl, size: bytes_of(size), rd, ri: c, rn: x, rm: y });
            Ok(())
        }
        Opcode::Splat => {
            let x = l.reg(ctx, args[0])?;
            let rd = ctx.output_reg(inst, 0)?;
            if float {
                ctx.emit(Inst::VecDupElem { size, rd, rn: x, lane: 0 });
            } else {
                ctx.emit(Inst::VecDup { size, rd, rn: x });
            }
            Ok(())
        }
        Opcode::Extractlane => {
            let D::BinaryImm8 { imm, .. } = *ctx.data(inst) else { unreachable!() };
            check_lane(imm, vty)?;
            let x = l.reg(ctx, args[0])?;
            let rd = ctx.output_reg(inst, 0)?;
            let lane_size = size.lane_size();
            if float {
                ctx.emit(Inst::FpuMoveFromVec { size: lane_size, rd, rn: x, lane: imm });
            } else {
                ctx.emit(Inst::MovFromVec { size: lane_size, rd, rn: x, lane: imm });
            }
            Ok(())
        }
        Opcode::Insertlane => {
            let D::TernaryImm8 { imm, .. } = *ctx.data(inst) else { unreachable!() };
            check_lane(imm, vty)?;
            let (v, x) = (l.reg(ctx, args[0])?, l.reg(ctx, args[1])?);
            let rd = ctx.output_reg(inst, 0)?;
            let lane_size = size.lane_size();
            if float {
                ctx.emit(Inst::VecMovElement { size: lane_size, rd, ri: v, rn: x, dst_lane: imm, src_lane: 0 });
            } else {
                ctx.emit(Inst::MovToVec { size: lane_size, rd, ri: v, rn: x, lane: imm });
            }
            Ok(())
        }
        Opcode::Icmp => {
            let D::IntCompare { cond, .. } = *ctx.data(inst) else { unreachable!() };
            let (a, b) = (l.reg(ctx, args[0])?, l.reg(ctx, args[1])?);
            let (vop, swap, invert) = match cond {
                IntCC::Equal => (VecALUOp::Cmeq, false, false),
                IntCC::NotEqual => (VecALUOp::Cmeq, false, true),
                IntCC::SignedGreaterThan => (VecALUOp::Cmgt, false, false),
                IntCC::SignedGreaterThanOrEqual => (VecALUOp::Cmge, false, false),
                IntCC::SignedLessThan => (VecALUOp::Cmgt, true, false),
                IntCC::SignedLessThanOrEqual => (VecALUOp::Cmge, true, false),
                IntCC::UnsignedGreaterThan => (VecALUOp::Cmhi, false, false),
                IntCC::UnsignedGreaterThanOrEqual => (VecALUOp::Cmhs, false, false),
                IntCC::UnsignedLessThan => (VecALUOp::Cmhi, true, false),
                IntCC::UnsignedLessThanOrEqual => (VecALUOp::Cmhs, true, false),
            };
            compare(l, ctx, inst, vop, size, a, b, swap, invert)
        }
        Opcode::Fcmp if float => {
            let D::FloatCompare { cond, .. } = *ctx.data(inst) else { unreachable!() };
            let (a, b) = (l.reg(ctx, args[0])?, l.reg(ctx, args[1])?);
            let (vop, swap, invert) = match cond {
                FloatCC::Equal => (VecALUOp::Fcmeq, false, false),
                FloatCC::NotEqual => (VecALUOp::Fcmeq, false, true),
                FloatCC::GreaterThan => (VecALUOp::Fcmgt, false, false),
                FloatCC::GreaterThanOrEqual => (VecALUOp::Fcmge, false, false),
                FloatCC::LessThan => (VecALUOp::Fcmgt, true, false),
                FloatCC::LessThanOrEqual => (VecALUOp::Fcmge, true, false),
                // Unordered or greater: not (a <= b).
                FloatCC::UnorderedOrGreaterThan => (VecALUOp::Fcmge, true, true),
                FloatCC::UnorderedOrGreaterThanOrEqual => (VecALUOp::Fcmgt, true, true),
                FloatCC::UnorderedOrLessThan => (VecALUOp::Fcmge, false, true),
                FloatCC::UnorderedOrLessThanOrEqual => (VecALUOp::Fcmgt, false, true),
                other => return Err(unsupported(format!("{vty} fcmp {other}"))),
            };
            compare(l, ctx, inst, vop, size, a, b, swap, invert)
        }
        Opcode::Ishl | Opcode::Ushr | Opcode::Sshr if !float && size != VectorSize::Size64x1 => {
            lower_shift(l, ctx, inst, op, size, lane_bits)
        }
        Opcode::VanyTrue | Opcode::VallTrue if size != VectorSize::Size64x1 => {
            let x = l.reg(ctx, args[0])?;
            let (src, lanes_op, size_for_reduce) = if op == Opcode::VanyTrue {
                // Any byte non-zero.
                (x, VecLanesOp::Umaxv, bytes_of(size))
            } else if lane_bits == 64 {
                // No 64-bit lane reduction: compare lanes with 0, then no lane may be set.
                let t = l.vtmp(ctx)?;
                ctx.emit(Inst::VecMisc { op: VecMisc2::Cmeq0, size, rd: t, rn: x });
                (t.to_reg(), VecLanesOp::Umaxv, bytes_of(size))
            } else {
                (x, VecLanesOp::Uminv, size)
            };
            if !size_for_reduce.is_128() && lane_bits == 32 {
                return Err(unsupported_op(op, vty));
            }
            let red = l.vtmp(ctx)?;
            ctx.emit(Inst::VecLanes { op: lanes_op, size: size_for_reduce, rd: red, rn: src });
            let g = l.itmp(ctx)?;
            let lane = size_for_reduce.lane_size();
            ctx.emit(Inst::MovFromVec { size: lane, rd: g, rn: red.to_reg(), lane: 0 });
            l.cmp_const(ctx, OperandSize::Size32, g.to_reg(), 0)?;
            let rd = ctx.output_reg(inst, 0)?;
            let all_64 = op == Opcode::VallTrue && lane_bits == 64;
            let cond = if all_64 { Cond::Eq } else { Cond::Ne };
            ctx.emit(Inst::cset(OperandSize::Size32, rd, cond));
            Ok(())
        }
        _ => Err(unsupported_op(op, vty)),
    }
}

/// Is `lane` a lane of `ty`?
fn check_lane(lane: u8, ty: Type) -> CodegenResult<()> {
    if (lane as u32) < ty.lane_count() {
        Ok(())
    } else {
        Err(CodegenError::Other(format!("lane {lane} out of range for {ty}")))
    }
}

/// A lane-wise comparison `a op b` (operands swapped, result inverted as asked).
#[allow(clippy::too_many_arguments)]
fn compare(
    l: &A64Lower,
    ctx: Ctx,
    inst: IrInst,
    vop: VecALUOp,
    size: VectorSize,
    a: Reg,
    b: Reg,
    swap: bool,
    invert: bool,
) -> CodegenResult<()> {
    let (rn, rm) = if swap { (b, a) } else { (a, b) };
    let rd = ctx.output_reg(inst, 0)?;
    if !invert {
        ctx.emit(Inst::VecRRR { op: vop, size, rd, rn, rm });
        return Ok(());
    }
    let t = l.vtmp(ctx)?;
    ctx.emit(Inst::VecRRR { op: vop, size, rd: t, rn, rm });
    ctx.emit(Inst::VecMisc { op: VecMisc2::Not, size: bytes_of(size), rd, rn: t.to_reg() });
    Ok(())
}

/// `ishl`/`ushr`/`sshr` of every lane by a scalar amount taken modulo the lane width: an
/// immediate shift for a constant, otherwise `ushl`/`sshl` by the (negated, for right
/// shifts) amount in every lane.
fn lower_shift(l: &A64Lower, ctx: Ctx, inst: IrInst, op: Opcode, size: VectorSize, lane_bits: u32) -> CodegenResult<()> {
    let args = ctx.inputs(inst);
    let x = l.reg(ctx, args[0])?;
    let rd = ctx.output_reg(inst, 0)?;
    if let Some(k) = ctx.iconst_bits(args[1]) {
        let k = (k as u32) & (lane_bits - 1);
        if k == 0 {
            ctx.emit(Inst::VecMov { q: size.is_128(), rd, rn: x });
            return Ok(());
        }
        let sop = match op {
            Opcode::Ishl => VecShiftImmOp::Shl,
            Opcode::Ushr => VecShiftImmOp::Ushr,
            _ => VecShiftImmOp::Sshr,
        };
        ctx.emit(Inst::VecShiftImm { op: sop, size, rd, rn: x, imm: k as u8 });
        return Ok(());
    }
    // The amount's low 64 bits (an i128 amount is a register pair).
    let amt = l.regs(ctx, args[1])?.reg(0);
    let masked = l.itmp(ctx)?;
    let imml = ImmLogic::maybe_from_u64((lane_bits - 1) as u64, true)
        .ok_or_else(|| CodegenError::Other("lane mask immediate".into()))?;
    ctx.emit(Inst::AluRRImmLogic { op: ALUOp::And, size: OperandSize::Size32, rd: masked, rn: amt, imml });
    let mut n = masked.to_reg();
    if op != Opcode::Ishl {
        let neg = l.itmp(ctx)?;
        ctx.emit(Inst::AluRRR { op: ALUOp::Sub, size: OperandSize::Size32, rd: neg, rn: zero_w(), rm: n });
        n = neg.to_reg();
    }
    let dup = l.vtmp(ctx)?;
    ctx.emit(Inst::VecDup { size, rd: dup, rn: n });
    let vop = if op == Opcode::Sshr { VecALUOp::Sshl } else { VecALUOp::Ushl };
    ctx.emit(Inst::VecRRR { op: vop, size, rd, rn: x, rm: dup.to_reg() });
    Ok(())
}

/// The zero register (as a 32-bit operand).
fn zero_w() -> Reg {
    crate::aarch64::regs::zero_reg()
}

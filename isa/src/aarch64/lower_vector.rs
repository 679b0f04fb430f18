//! Lowering of vector (NEON) operations on the 64-bit and 128-bit vector types.
//!
//! Covered: loads, stores, `select` and `bitcast` (through the scalar paths), `vconst`,
//! lane-wise integer and float arithmetic, bitwise operations, `bitselect`, `splat`,
//! `extractlane`/`insertlane`, integer and float comparisons, shifts, widening,
//! `iadd_pairwise`, `sqmul_round_sat`, `fma`, same-width int/float conversions, narrowing,
//! `fvpromote_low`, `scalar_to_vector`, `fcopysign`, 64-bit lane min/max,
//! `vany_true`/`vall_true`. Every other vector opcode (and any vector type that is not
//! 64 or 128 bits wide) is an `unsupported` error.
//!
//! Conventions: a vector value fills its register's low 64 or 128 bits; a 64-bit vector
//! operation zeroes the upper half (the NEON rule), which nothing relies on.

use crate::aarch64::inst::*;
use crate::aarch64::lower::{A64Lower, Ctx, unsupported_op};
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
    let compares = matches!(op, Opcode::Icmp | Opcode::Fcmp);
    let vty = if ty.is_vector() && !compares {
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
        _ if binary_op(op, float, lane_bits).is_some() => {
            let (vop, bytewise) = binary_op(op, float, lane_bits).expect("checked");
            rrr(ctx, vop, if bytewise { bytes_of(size) } else { size })
        }
        _ if unary_op(op, float, size).is_some() => {
            let (vop, bytewise) = unary_op(op, float, size).expect("checked");
            misc(ctx, vop, if bytewise { bytes_of(size) } else { size })
        }
        Opcode::IaddPairwise if !float && size.is_128() => rrr(ctx, VecALUOp::Addp, size),
        Opcode::Snarrow | Opcode::Unarrow | Opcode::Uunarrow => lower_narrow(l, ctx, inst, op, ty),
        // 64-bit lanes have no min/max instruction: a comparison mask and a bitwise select.
        Opcode::Smin | Opcode::Smax | Opcode::Umin | Opcode::Umax if !float && lane_bits == 64 => {
            let (a, b) = (l.reg(ctx, args[0])?, l.reg(ctx, args[1])?);
            let signed = matches!(op, Opcode::Smin | Opcode::Smax);
            let m = l.vtmp(ctx)?;
            let cmp = if signed { VecALUOp::Cmgt } else { VecALUOp::Cmhi };
            ctx.emit(Inst::VecRRR { op: cmp, size, rd: m, rn: a, rm: b });
            // m = a > b: max takes a there, min takes b.
            let (x, y) = if matches!(op, Opcode::Smax | Opcode::Umax) { (a, b) } else { (b, a) };
            let rd = ctx.output_reg(inst, 0)?;
            ctx.emit(Inst::VecRRRMod { op: VecALUModOp::Bsl, size: bytes_of(size), rd, ri: m.to_reg(), rn: x, rm: y });
            Ok(())
        }
        Opcode::Fcopysign if float => {
            // The sign bits from the second operand, the rest from the first.
            let (x, y) = (l.reg(ctx, args[0])?, l.reg(ctx, args[1])?);
            let sign: u64 = if lane_bits == 32 { 0x8000_0000_8000_0000 } else { 1 << 63 };
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&sign.to_le_bytes());
            bytes[8..].copy_from_slice(&sign.to_le_bytes());
            let m = l.vec_const(ctx, &bytes)?;
            let rd = ctx.output_reg(inst, 0)?;
            ctx.emit(Inst::VecRRRMod { op: VecALUModOp::Bsl, size: bytes_of(size), rd, ri: m, rn: y, rm: x });
            Ok(())
        }
        Opcode::FvpromoteLow if ty == kiln_ir::types::F64X2 => {
            let x = l.reg(ctx, args[0])?;
            let rd = ctx.output_reg(inst, 0)?;
            ctx.emit(Inst::VecMisc { op: VecMisc2::Fcvtl, size: VectorSize::Size32x2, rd, rn: x });
            Ok(())
        }
        Opcode::ScalarToVector => {
            // Lane 0 of a zeroed register.
            let x = l.reg(ctx, args[0])?;
            let zero = l.vtmp(ctx)?;
            let imm = AsimdModImm { kind: AsimdImmKind::ByteMask, invert: false, imm8: 0 };
            ctx.emit(Inst::VecMovImm { q: true, rd: zero, imm });
            let rd = ctx.output_reg(inst, 0)?;
            let lane_size = size.lane_size();
            if float {
                ctx.emit(Inst::VecMovElement {
                    size: lane_size,
                    rd,
                    ri: zero.to_reg(),
                    rn: x,
                    dst_lane: 0,
                    src_lane: 0,
                });
            } else {
                ctx.emit(Inst::MovToVec { size: lane_size, rd, ri: zero.to_reg(), rn: x, lane: 0 });
            }
            Ok(())
        }
        Opcode::Fma if float => {
            let (x, y, z) = (l.reg(ctx, args[0])?, l.reg(ctx, args[1])?, l.reg(ctx, args[2])?);
            let rd = ctx.output_reg(inst, 0)?;
            // fmla: rd = ri + rn * rm, fused.
            ctx.emit(Inst::VecRRRMod { op: VecALUModOp::Fmla, size, rd, ri: z, rn: x, rm: y });
            Ok(())
        }
        // Conversions between lanes of the same width (the float-to-int ones saturate and
        // give 0 for NaN, as `fcvtzs`/`fcvtzu` do).
        Opcode::FcvtFromSint | Opcode::FcvtFromUint | Opcode::FcvtToSintSat | Opcode::FcvtToUintSat => {
            let src_ty = ctx.value_ty(args[0]);
            let src = vsize(src_ty).filter(|_| src_ty.lane_bits() == lane_bits && lane_bits >= 32);
            let Some(src) = src else { return Err(unsupported_op(op, vty)) };
            let vop = match op {
                Opcode::FcvtFromSint => VecMisc2::Scvtf,
                Opcode::FcvtFromUint => VecMisc2::Ucvtf,
                Opcode::FcvtToSintSat => VecMisc2::Fcvtzs,
                _ => VecMisc2::Fcvtzu,
            };
            let x = l.reg(ctx, args[0])?;
            let rd = ctx.output_reg(inst, 0)?;
            ctx.emit(Inst::VecMisc { op: vop, size: src, rd, rn: x });
            Ok(())
        }
        Opcode::SwidenLow | Opcode::SwidenHigh | Opcode::UwidenLow | Opcode::UwidenHigh => {
            lower_widen(l, ctx, inst, op, ty)
        }
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
                FloatCC::Ordered | FloatCC::Unordered | FloatCC::OrderedNotEqual | FloatCC::UnorderedOrEqual => {
                    return fcmp_pair(l, ctx, inst, cond, size, a, b);
                }
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

/// The lane-wise two-operand instruction computing `op` on lanes of `lane_bits` (floats
/// if `float`), and whether it works on bytes (bitwise operations).
fn binary_op(op: Opcode, float: bool, lane_bits: u32) -> Option<(VecALUOp, bool)> {
    use VecALUOp as V;
    let narrow = lane_bits < 64;
    Some(match op {
        Opcode::Band => (V::And, true),
        Opcode::Bor => (V::Orr, true),
        Opcode::Bxor => (V::Eor, true),
        Opcode::Iadd if !float => (V::Add, false),
        Opcode::Isub if !float => (V::Sub, false),
        Opcode::SaddSat if !float => (V::Sqadd, false),
        Opcode::UaddSat if !float => (V::Uqadd, false),
        Opcode::SsubSat if !float => (V::Sqsub, false),
        Opcode::UsubSat if !float => (V::Uqsub, false),
        Opcode::Imul if !float && narrow => (V::Mul, false),
        Opcode::Smin if !float && narrow => (V::Smin, false),
        Opcode::Smax if !float && narrow => (V::Smax, false),
        Opcode::Umin if !float && narrow => (V::Umin, false),
        Opcode::Umax if !float && narrow => (V::Umax, false),
        Opcode::AvgRound if !float && narrow => (V::Urhadd, false),
        Opcode::SqmulRoundSat if !float && (lane_bits == 16 || lane_bits == 32) => (V::Sqrdmulh, false),
        Opcode::Fadd if float => (V::Fadd, false),
        Opcode::Fsub if float => (V::Fsub, false),
        Opcode::Fmul if float => (V::Fmul, false),
        Opcode::Fdiv if float => (V::Fdiv, false),
        // CLIF's fmin/fmax propagate NaNs and order -0 below +0, as NEON's do.
        Opcode::Fmin if float => (V::Fmin, false),
        Opcode::Fmax if float => (V::Fmax, false),
        _ => return None,
    })
}

/// The lane-wise one-operand instruction computing `op` on vectors of `size` (floats if
/// `float`), and whether it works on bytes.
fn unary_op(op: Opcode, float: bool, size: VectorSize) -> Option<(VecMisc2, bool)> {
    use VecMisc2 as M;
    let not_1d = size != VectorSize::Size64x1;
    Some(match op {
        Opcode::Bnot => (M::Not, true),
        Opcode::Ineg if !float && not_1d => (M::Neg, false),
        Opcode::Iabs if !float && not_1d => (M::Abs, false),
        Opcode::Popcnt if size.lane_size() == ScalarSize::Size8 => (M::Cnt, false),
        Opcode::Fabs if float => (M::Fabs, false),
        Opcode::Fneg if float => (M::Fneg, false),
        Opcode::Sqrt if float => (M::Fsqrt, false),
        Opcode::Ceil if float => (M::Frintp, false),
        Opcode::Floor if float => (M::Frintm, false),
        Opcode::Trunc if float => (M::Frintz, false),
        Opcode::Nearest if float => (M::Frintn, false),
        _ => return None,
    })
}

/// `swiden_low`/`high`, `uwiden_low`/`high` to `ty`: `sxtl`/`uxtl` of the low half, or
/// `sxtl2`/`uxtl2` of the high half.
fn lower_widen(l: &A64Lower, ctx: Ctx, inst: IrInst, op: Opcode, ty: Type) -> CodegenResult<()> {
    let args = ctx.inputs(inst);
    let src_ty = ctx.value_ty(args[0]);
    if ty.bits() != 128 || src_ty.bits() != 128 {
        return Err(unsupported_op(op, ty));
    }
    let high = matches!(op, Opcode::SwidenHigh | Opcode::UwidenHigh);
    let size = match (src_ty.lane_bits(), high) {
        (8, false) => VectorSize::Size8x8,
        (8, true) => VectorSize::Size8x16,
        (16, false) => VectorSize::Size16x4,
        (16, true) => VectorSize::Size16x8,
        (32, false) => VectorSize::Size32x2,
        (32, true) => VectorSize::Size32x4,
        _ => return Err(unsupported_op(op, ty)),
    };
    let vop =
        if matches!(op, Opcode::SwidenLow | Opcode::SwidenHigh) { VecExtendOp::Sshll } else { VecExtendOp::Ushll };
    let x = l.reg(ctx, args[0])?;
    let rd = ctx.output_reg(inst, 0)?;
    ctx.emit(Inst::VecExtend { op: vop, size, rd, rn: x, shift: 0 });
    Ok(())
}

/// `snarrow`/`unarrow`/`uunarrow` of two 128-bit vectors into `ty`: the first operand's
/// lanes saturated into the low half (`sqxtn`/`sqxtun`/`uqxtn`), the second's into the
/// high half (the `2` forms).
fn lower_narrow(l: &A64Lower, ctx: Ctx, inst: IrInst, op: Opcode, ty: Type) -> CodegenResult<()> {
    let args = ctx.inputs(inst);
    let (low, high) = match (ty.lane_bits(), ty.bits()) {
        (8, 128) => (VectorSize::Size8x8, VectorSize::Size8x16),
        (16, 128) => (VectorSize::Size16x4, VectorSize::Size16x8),
        (32, 128) => (VectorSize::Size32x2, VectorSize::Size32x4),
        _ => return Err(unsupported_op(op, ty)),
    };
    let nop = match op {
        Opcode::Snarrow => VecNarrowOp::Sqxtn,
        Opcode::Unarrow => VecNarrowOp::Sqxtun,
        _ => VecNarrowOp::Uqxtn,
    };
    let (x, y) = (l.reg(ctx, args[0])?, l.reg(ctx, args[1])?);
    let t = l.vtmp(ctx)?;
    ctx.emit(Inst::VecNarrowLow { op: nop, size: low, rd: t, rn: x });
    let rd = ctx.output_reg(inst, 0)?;
    ctx.emit(Inst::VecNarrowHigh { op: nop, size: high, rd, ri: t.to_reg(), rn: y });
    Ok(())
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

/// The float conditions that take two comparisons: `ord` = `a == a & b == b`,
/// `one` = `a < b | a > b`, and their negations `uno` and `ueq`.
#[allow(clippy::too_many_arguments)]
fn fcmp_pair(
    l: &A64Lower,
    ctx: Ctx,
    inst: IrInst,
    cond: FloatCC,
    size: VectorSize,
    a: Reg,
    b: Reg,
) -> CodegenResult<()> {
    let (t1, t2, t3) = (l.vtmp(ctx)?, l.vtmp(ctx)?, l.vtmp(ctx)?);
    let ordered = matches!(cond, FloatCC::Ordered | FloatCC::Unordered);
    let (first, second, combine) = if ordered {
        ((VecALUOp::Fcmeq, a, a), (VecALUOp::Fcmeq, b, b), VecALUOp::And)
    } else {
        ((VecALUOp::Fcmgt, b, a), (VecALUOp::Fcmgt, a, b), VecALUOp::Orr)
    };
    ctx.emit(Inst::VecRRR { op: first.0, size, rd: t1, rn: first.1, rm: first.2 });
    ctx.emit(Inst::VecRRR { op: second.0, size, rd: t2, rn: second.1, rm: second.2 });
    let rd = ctx.output_reg(inst, 0)?;
    let negate = matches!(cond, FloatCC::Unordered | FloatCC::UnorderedOrEqual);
    let both = if negate { t3 } else { rd };
    ctx.emit(Inst::VecRRR { op: combine, size: bytes_of(size), rd: both, rn: t1.to_reg(), rm: t2.to_reg() });
    if negate {
        ctx.emit(Inst::VecMisc { op: VecMisc2::Not, size: bytes_of(size), rd, rn: t3.to_reg() });
    }
    Ok(())
}

/// `ishl`/`ushr`/`sshr` of every lane by a scalar amount taken modulo the lane width: an
/// immediate shift for a constant, otherwise `ushl`/`sshl` by the (negated, for right
/// shifts) amount in every lane.
fn lower_shift(
    l: &A64Lower,
    ctx: Ctx,
    inst: IrInst,
    op: Opcode,
    size: VectorSize,
    lane_bits: u32,
) -> CodegenResult<()> {
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

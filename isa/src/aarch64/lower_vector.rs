//! Lowering of vector (NEON) operations on the 64-bit and 128-bit vector types.
//!
//! Covered: loads, stores, `select` and `bitcast` (through the scalar paths), `vconst`,
//! lane-wise integer and float arithmetic (64-bit lane `imul` through general registers),
//! bitwise operations, `bitselect`, `splat`, `extractlane`/`insertlane`, integer and float
//! comparisons, shifts, widening, `iadd_pairwise`, `sqmul_round_sat`, `fma`, same-width
//! int/float conversions, narrowing, `fvpromote_low`, `fvdemote`, `umulhi`/`smulhi` (lanes
//! up to 32 bits), `scalar_to_vector`, `fcopysign`,
//! 64-bit lane min/max, `vany_true`/`vall_true`, `vhigh_bits`, `shuffle` and `swizzle`
//! (`tbl`), big-endian `bitcast` between lane sizes (`tbl`), and dynamic vectors
//! (`extract_vector`). The 32- and 16-bit vector types are computed as 64-bit vectors
//! ([`vsize`]); operations that need exactly 64 or 128 bits (widening, narrowing, pairwise
//! adds) reject them. Every other vector opcode is an `unsupported` error.
//!
//! Conventions: a vector value fills its register's low 64 or 128 bits; a 64-bit vector
//! operation zeroes the upper half (the NEON rule), which nothing relies on. A dynamic
//! vector type is its 128-bit base type ([`fixed`]): NEON's scale is 1.

use crate::aarch64::inst::*;
use crate::aarch64::lower::{A64Lower, Ctx, unsupported_op};
use kiln_codegen::machinst::{Reg, Writable};
use kiln_codegen::{CodegenError, CodegenResult};
use kiln_ir::condcodes::{FloatCC, IntCC};
use kiln_ir::types::Type;
use kiln_ir::{Inst as IrInst, InstructionData as D, Opcode};

/// Does the vector lowering handle `inst` (a vector-typed result or operand)?
pub(crate) fn handles(ctx: Ctx, inst: IrInst, op: Opcode, ty: Type) -> bool {
    let _ = op;
    let vector = |t: Type| t.is_vector() || t.is_dynamic_vector();
    vector(ty) || ctx.inputs(inst).iter().any(|&a| vector(ctx.value_ty(a)))
}

/// The fixed vector type a value of type `ty` is computed in: a dynamic vector is its
/// 128-bit base type (NEON's scale is 1: `dyn_scale_target_const` is 1 on aarch64).
pub(crate) fn fixed(ty: Type) -> Type {
    ty.dynamic_to_vector().unwrap_or(ty)
}

/// The arrangement vector type `ty` is computed in: its own if it is 64 or 128 bits wide;
/// the 32- and 16-bit vectors (i8x4, i16x2, i8x2) are computed as 64-bit vectors of their
/// lane type, whose lanes above theirs are ignored.
fn vsize(ty: Type) -> Option<VectorSize> {
    Some(match (ty.lane_bits(), ty.bits()) {
        (8, 16 | 32 | 64) => VectorSize::Size8x8,
        (16, 32) => VectorSize::Size16x4,
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
    let ty = fixed(ty);
    // The operation's own vector type: the result's, or for reductions, lane reads and
    // stores the first vector operand's.
    let compares = matches!(op, Opcode::Icmp | Opcode::Fcmp);
    let vty = if ty.is_vector() && !compares {
        ty
    } else {
        args.iter().map(|&a| fixed(ctx.value_ty(a))).find(|t| t.is_vector()).unwrap_or(ty)
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
    if float && is_float_arith(op) {
        // With `enable_nan_canonicalization`, NaN lanes of the result become the
        // canonical NaN (NEON keeps the payload of a NaN operand).
        let canon = ctx.flags.enable_nan_canonicalization() != 0;
        let rd = if canon { l.vtmp(ctx)? } else { ctx.output_reg(inst, 0)? };
        float_arith(l, ctx, inst, op, ty, size, rd)?;
        if canon {
            let out = ctx.output_reg(inst, 0)?;
            let out_size = vsize(ty).ok_or_else(|| unsupported_op(op, ty))?;
            canonicalize_nans(l, ctx, rd.to_reg(), out_size, out)?;
        }
        return Ok(());
    }
    match op {
        Opcode::Bitcast => lower_bitcast(l, ctx, inst, ty),
        Opcode::Load | Opcode::Store | Opcode::Select | Opcode::SelectSpectreGuard => l.lower_scalar_path(ctx, inst),
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
        // Conversions between lanes of the same width (the float-to-int ones saturate and
        // give 0 for NaN, as `fcvtzs`/`fcvtzu` do).
        Opcode::FcvtFromSint | Opcode::FcvtFromUint | Opcode::FcvtToSintSat | Opcode::FcvtToUintSat => {
            let src_ty = fixed(ctx.value_ty(args[0]));
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
        Opcode::VanyTrue | Opcode::VallTrue => lower_any_all(l, ctx, inst, op, vty),
        Opcode::VhighBits => lower_vhigh_bits(l, ctx, inst, op, vty),
        Opcode::Shuffle => {
            let D::Shuffle { mask, .. } = *ctx.data(inst) else { unreachable!() };
            let m = ctx.f.dfg.immediates.get(mask).ok_or_else(|| CodegenError::Other("bad shuffle mask".into()))?;
            let mut idx = [0u8; 16];
            idx.copy_from_slice(
                m.as_slice().get(..16).ok_or_else(|| CodegenError::Other("short shuffle mask".into()))?,
            );
            let (a, b) = (l.reg(ctx, args[0])?, l.reg(ctx, args[1])?);
            // One source when every index picks from it, else the two as one 32-byte table
            // (indices from 32 up give 0, as `shuffle` says).
            let (tables, len) = if idx.iter().all(|&i| i < 16) {
                ([a; 4], 1)
            } else if idx.iter().all(|&i| (16..32).contains(&i)) {
                idx.iter_mut().for_each(|i| *i -= 16);
                ([b; 4], 1)
            } else {
                ([a, b, b, b], 2)
            };
            let k = l.vec_const(ctx, &idx)?;
            let rd = ctx.output_reg(inst, 0)?;
            ctx.emit(Inst::VecTbl { op: TblOp::Tbl, q: true, len, rd, ri: k, tables, rm: k });
            Ok(())
        }
        // Out-of-range indices give 0 in `swizzle` as in `tbl`.
        Opcode::Swizzle if size == VectorSize::Size8x16 => {
            let (x, k) = (l.reg(ctx, args[0])?, l.reg(ctx, args[1])?);
            let rd = ctx.output_reg(inst, 0)?;
            ctx.emit(Inst::VecTbl { op: TblOp::Tbl, q: true, len: 1, rd, ri: k, tables: [x; 4], rm: k });
            Ok(())
        }
        // No multiply of 64-bit lanes: each lane through the general registers.
        Opcode::Imul if !float && size == VectorSize::Size64x2 => {
            let (a, b) = (l.reg(ctx, args[0])?, l.reg(ctx, args[1])?);
            let mut acc = a;
            for lane in 0..2u8 {
                let (x, y, p) = (l.itmp(ctx)?, l.itmp(ctx)?, l.itmp(ctx)?);
                ctx.emit(Inst::MovFromVec { size: ScalarSize::Size64, rd: x, rn: a, lane });
                ctx.emit(Inst::MovFromVec { size: ScalarSize::Size64, rd: y, rn: b, lane });
                let zero = zero_w();
                let s64 = OperandSize::Size64;
                ctx.emit(Inst::AluRRRR {
                    op: ALUOp3::MAdd,
                    size: s64,
                    rd: p,
                    rn: x.to_reg(),
                    rm: y.to_reg(),
                    ra: zero,
                });
                let d = if lane == 1 { ctx.output_reg(inst, 0)? } else { l.vtmp(ctx)? };
                ctx.emit(Inst::MovToVec { size: ScalarSize::Size64, rd: d, ri: acc, rn: p.to_reg(), lane });
                acc = d.to_reg();
            }
            Ok(())
        }
        // The high halves of the double-width products: `umull`/`smull` of the low lanes
        // (and the `2` form of the high lanes), then the odd narrow lanes (`uzp2`).
        Opcode::Umulhi | Opcode::Smulhi if !float && lane_bits < 64 => {
            let (a, b) = (l.reg(ctx, args[0])?, l.reg(ctx, args[1])?);
            let lop = if op == Opcode::Umulhi { VecRRRLongOp::Umull } else { VecRRRLongOp::Smull };
            let (half, full) = match lane_bits {
                8 => (VectorSize::Size8x8, VectorSize::Size8x16),
                16 => (VectorSize::Size16x4, VectorSize::Size16x8),
                _ => (VectorSize::Size32x2, VectorSize::Size32x4),
            };
            let lo = l.vtmp(ctx)?;
            ctx.emit(Inst::VecRRRLong { op: lop, size: half, rd: lo, rn: a, rm: b });
            let hi = if size.is_128() {
                let hi = l.vtmp(ctx)?;
                ctx.emit(Inst::VecRRRLong { op: lop, size: full, rd: hi, rn: a, rm: b });
                hi.to_reg()
            } else {
                lo.to_reg()
            };
            let rd = ctx.output_reg(inst, 0)?;
            ctx.emit(Inst::VecRRR { op: VecALUOp::Uzp2, size: full, rd, rn: lo.to_reg(), rm: hi });
            Ok(())
        }
        // A dynamic vector is one 128-bit register (scale 1): subvector 0 is all of it.
        Opcode::ExtractVector => {
            let D::BinaryImm8 { imm, .. } = *ctx.data(inst) else { unreachable!() };
            if imm != 0 {
                return Err(CodegenError::Other(format!("extract_vector: subvector {imm} of a scale-1 vector")));
            }
            let x = l.reg(ctx, args[0])?;
            l.set_result(ctx, inst, 0, x)
        }
        _ => Err(unsupported_op(op, vty)),
    }
}

/// `bitcast` with a vector on either side: the register as it is (the scalar path moves it
/// between register classes), except that a big-endian bitcast between vectors of different
/// lane sizes permutes the bytes (each source lane byte-swapped, then each result lane: one
/// `tbl`). A big-endian bitcast between a vector and a scalar of another lane size is an
/// `unsupported` error.
fn lower_bitcast(l: &A64Lower, ctx: Ctx, inst: IrInst, ty: Type) -> CodegenResult<()> {
    let D::LoadNoOffset { flags, arg, .. } = *ctx.data(inst) else { unreachable!() };
    let big = ctx.f.dfg.mem_flags.get(flags).explicit_endianness() == Some(kiln_ir::memflags::Endianness::Big);
    let src_ty = fixed(ctx.value_ty(arg));
    let (a, b) = ((src_ty.lane_bits() / 8) as usize, (ty.lane_bits() / 8) as usize);
    if !big || a == b || src_ty.bits() != ty.bits() {
        return l.lower_scalar_path(ctx, inst);
    }
    if !(src_ty.is_vector() && ty.is_vector()) {
        return Err(crate::aarch64::lower::unsupported(format!("big-endian bitcast from {src_ty} to {ty}")));
    }
    let swap = |i: usize, n: usize| i / n * n + (n - 1 - i % n);
    let mut mask = [0u8; 16];
    for (i, m) in mask.iter_mut().enumerate() {
        *m = if i < ty.bytes() as usize { swap(swap(i, b), a) as u8 } else { i as u8 };
    }
    let x = l.reg(ctx, arg)?;
    let k = l.vec_const(ctx, &mask)?;
    let rd = ctx.output_reg(inst, 0)?;
    ctx.emit(Inst::VecTbl { op: TblOp::Tbl, q: true, len: 1, rd, ri: k, tables: [x; 4], rm: k });
    Ok(())
}

/// The float operations whose NaN results `enable_nan_canonicalization` makes canonical.
fn is_float_arith(op: Opcode) -> bool {
    matches!(
        op,
        Opcode::Fadd
            | Opcode::Fsub
            | Opcode::Fmul
            | Opcode::Fdiv
            | Opcode::Fma
            | Opcode::Sqrt
            | Opcode::Fmin
            | Opcode::Fmax
            | Opcode::Ceil
            | Opcode::Floor
            | Opcode::Trunc
            | Opcode::Nearest
            | Opcode::FvpromoteLow
            | Opcode::Fvdemote
    )
}

/// Float arithmetic `op` (see [`is_float_arith`]) on vectors of `size`, result `ty`, into `rd`.
fn float_arith(
    l: &A64Lower,
    ctx: Ctx,
    inst: IrInst,
    op: Opcode,
    ty: Type,
    size: VectorSize,
    rd: Writable<Reg>,
) -> CodegenResult<()> {
    let args = ctx.inputs(inst);
    match op {
        Opcode::Fma => {
            let (x, y, z) = (l.reg(ctx, args[0])?, l.reg(ctx, args[1])?, l.reg(ctx, args[2])?);
            // fmla: rd = ri + rn * rm, fused.
            ctx.emit(Inst::VecRRRMod { op: VecALUModOp::Fmla, size, rd, ri: z, rn: x, rm: y });
        }
        Opcode::FvpromoteLow if ty == kiln_ir::types::F64X2 => {
            let x = l.reg(ctx, args[0])?;
            ctx.emit(Inst::VecMisc { op: VecMisc2::Fcvtl, size: VectorSize::Size32x2, rd, rn: x });
        }
        // `fcvtn` writes the two low lanes and zeroes the rest, as `fvdemote` asks.
        Opcode::Fvdemote if ty == kiln_ir::types::F32X4 => {
            let x = l.reg(ctx, args[0])?;
            ctx.emit(Inst::VecNarrowLow { op: VecNarrowOp::Fcvtn, size: VectorSize::Size32x2, rd, rn: x });
        }
        _ => {
            let bits = size.lane_size().bits();
            if let Some((vop, _)) = binary_op(op, true, bits) {
                let (a, b) = (l.reg(ctx, args[0])?, l.reg(ctx, args[1])?);
                ctx.emit(Inst::VecRRR { op: vop, size, rd, rn: a, rm: b });
            } else if let Some((vop, _)) = unary_op(op, true, size) {
                let a = l.reg(ctx, args[0])?;
                ctx.emit(Inst::VecMisc { op: vop, size, rd, rn: a });
            } else {
                return Err(unsupported_op(op, ty));
            }
        }
    }
    Ok(())
}

/// `out` = `r` with every NaN lane (floats of `size`) replaced by the canonical NaN:
/// `fcmeq` of `r` with itself is false exactly in NaN lanes, and `bsl` picks by it.
fn canonicalize_nans(l: &A64Lower, ctx: Ctx, r: Reg, size: VectorSize, out: Writable<Reg>) -> CodegenResult<()> {
    let lane: u64 = if size.lane_size() == ScalarSize::Size64 { 0x7ff8_0000_0000_0000 } else { 0x7fc0_0000_7fc0_0000 };
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&lane.to_le_bytes());
    bytes[8..].copy_from_slice(&lane.to_le_bytes());
    let canon = l.vec_const(ctx, &bytes)?;
    let m = l.vtmp(ctx)?;
    ctx.emit(Inst::VecRRR { op: VecALUOp::Fcmeq, size, rd: m, rn: r, rm: r });
    ctx.emit(Inst::VecRRRMod { op: VecALUModOp::Bsl, size: bytes_of(size), rd: out, ri: m.to_reg(), rn: r, rm: canon });
    Ok(())
}

/// `vany_true` / `vall_true`: 1 if any / every lane of the operand is non-zero. A vector of
/// 64 bits or less is tested as one general register (its own bits only; for all-true after
/// `cmeq #0`, which makes zero lanes all ones); a 128-bit one through a lane reduction
/// (`umaxv`/`uminv`; for 64-bit lanes, which have none, `cmeq #0` and `umaxv`).
fn lower_any_all(l: &A64Lower, ctx: Ctx, inst: IrInst, op: Opcode, vty: Type) -> CodegenResult<()> {
    let size = vsize(vty).ok_or_else(|| unsupported_op(op, vty))?;
    let x = l.reg(ctx, ctx.inputs(inst)[0])?;
    let all = op == Opcode::VallTrue;
    let g = l.itmp(ctx)?;
    // With `zero_lanes`, the result is "no lane set" in the reduced value.
    let zero_lanes = all && (size.lane_size() == ScalarSize::Size64 || !size.is_128());
    let src = if zero_lanes && size != VectorSize::Size64x1 {
        let t = l.vtmp(ctx)?;
        ctx.emit(Inst::VecMisc { op: VecMisc2::Cmeq0, size, rd: t, rn: x });
        t.to_reg()
    } else {
        x
    };
    if !size.is_128() {
        let (whole, cmp) = match vty.bits() {
            16 => (ScalarSize::Size16, OperandSize::Size32),
            32 => (ScalarSize::Size32, OperandSize::Size32),
            _ => (ScalarSize::Size64, OperandSize::Size64),
        };
        ctx.emit(Inst::MovFromVec { size: whole, rd: g, rn: src, lane: 0 });
        l.cmp_const(ctx, cmp, g.to_reg(), 0)?;
    } else {
        let (lanes_op, rsize) =
            if all && !zero_lanes { (VecLanesOp::Uminv, size) } else { (VecLanesOp::Umaxv, bytes_of(size)) };
        let red = l.vtmp(ctx)?;
        ctx.emit(Inst::VecLanes { op: lanes_op, size: rsize, rd: red, rn: src });
        ctx.emit(Inst::MovFromVec { size: rsize.lane_size(), rd: g, rn: red.to_reg(), lane: 0 });
        l.cmp_const(ctx, OperandSize::Size32, g.to_reg(), 0)?;
    }
    let rd = ctx.output_reg(inst, 0)?;
    let cond = if zero_lanes && size != VectorSize::Size64x1 { Cond::Eq } else { Cond::Ne };
    ctx.emit(Inst::cset(OperandSize::Size32, rd, cond));
    Ok(())
}

/// `vhigh_bits`: bit i of the result is the top bit of lane i. `cmlt #0` makes each lane
/// all ones or zero, `and` with a constant keeps bit i in lane i (bit i mod 8 in byte i for
/// byte lanes), and an add across the lanes gathers the bits (for 16 bytes after `ext` and
/// `zip1` pair byte i with byte i + 8 in one 16-bit lane; `addp` for two lanes).
fn lower_vhigh_bits(l: &A64Lower, ctx: Ctx, inst: IrInst, op: Opcode, vty: Type) -> CodegenResult<()> {
    let size = vsize(vty).filter(|&s| s != VectorSize::Size64x1).ok_or_else(|| unsupported_op(op, vty))?;
    let x = l.reg(ctx, ctx.inputs(inst)[0])?;
    let m = l.vtmp(ctx)?;
    ctx.emit(Inst::VecMisc { op: VecMisc2::Cmlt0, size, rd: m, rn: x });
    let lane_bytes = (vty.lane_bits() / 8) as usize;
    let mut bits = [0u8; 16];
    for i in 0..vty.lane_count() as usize {
        let bit = 1u64 << (if lane_bytes == 1 { i % 8 } else { i });
        bits[i * lane_bytes..(i + 1) * lane_bytes].copy_from_slice(&bit.to_le_bytes()[..lane_bytes]);
    }
    let k = l.vec_const(ctx, &bits)?;
    let t = l.vtmp(ctx)?;
    ctx.emit(Inst::VecRRR { op: VecALUOp::And, size: bytes_of(size), rd: t, rn: m.to_reg(), rm: k });
    let sum = l.vtmp(ctx)?;
    let sum_size = match size {
        VectorSize::Size8x16 => {
            let (e, z) = (l.vtmp(ctx)?, l.vtmp(ctx)?);
            ctx.emit(Inst::VecExtract { q: true, rd: e, rn: t.to_reg(), rm: t.to_reg(), imm: 8 });
            let (tr, er) = (t.to_reg(), e.to_reg());
            ctx.emit(Inst::VecRRR { op: VecALUOp::Zip1, size: VectorSize::Size8x16, rd: z, rn: tr, rm: er });
            ctx.emit(Inst::VecLanes { op: VecLanesOp::Addv, size: VectorSize::Size16x8, rd: sum, rn: z.to_reg() });
            ScalarSize::Size16
        }
        VectorSize::Size32x2 => {
            let tr = t.to_reg();
            ctx.emit(Inst::VecRRR { op: VecALUOp::Addp, size, rd: sum, rn: tr, rm: tr });
            ScalarSize::Size32
        }
        VectorSize::Size64x2 => {
            ctx.emit(Inst::VecLanes { op: VecLanesOp::Addp, size, rd: sum, rn: t.to_reg() });
            ScalarSize::Size64
        }
        _ => {
            ctx.emit(Inst::VecLanes { op: VecLanesOp::Addv, size, rd: sum, rn: t.to_reg() });
            size.lane_size()
        }
    };
    let rd = ctx.output_reg(inst, 0)?;
    ctx.emit(Inst::MovFromVec { size: sum_size, rd, rn: sum.to_reg(), lane: 0 });
    Ok(())
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
    let src_ty = fixed(ctx.value_ty(args[0]));
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

//! Dispatch of the *pure* opcodes (no memory, control flow or calls): given the instruction,
//! its controlling type, its result type and its operand values, compute the results.
//! Routes to the per-family modules (`int`, `float`, `simd`, `convert`).

use super::lanes::{map1, map2, map3, mask, mk, norm, scalar};
use super::{InterpError, R, convert, float, int, simd};
use crate::data_value::DataValue;
use crate::function::Function;
use crate::instructions::InstructionData as D;
use crate::opcodes::Opcode;
use crate::types::Type;

/// The results of a pure instruction.
pub(crate) enum Out {
    /// No result.
    None,
    /// One result.
    One(DataValue),
    /// Two results.
    Two(DataValue, DataValue),
}

fn arg<'v>(args: &[&'v DataValue], i: usize) -> R<&'v DataValue> {
    args.get(i).copied().ok_or_else(|| InterpError::Invalid(format!("missing operand {i}")))
}

fn lane_bits(v: &DataValue) -> u32 {
    norm(v.ty()).lane_bits()
}

/// Evaluate a pure instruction. `rty` is the type of its first result (or `INVALID`).
pub(crate) fn eval(func: &Function, data: &D, ctrl: Type, rty: Type, args: &[&DataValue]) -> R<Out> {
    use Opcode::*;
    let op = data.opcode();
    let ctrl = norm(ctrl);
    let rty = norm(rty);
    let one = |v: DataValue| Ok(Out::One(v));
    match op {
        Nop | Fence | SequencePoint => Ok(Out::None),
        Iconst => match *data {
            D::UnaryImm { imm, .. } => one(mk(ctrl, imm.0 as u64 as u128 & mask(ctrl.bits()))?),
            _ => Err(bad_format(op)),
        },
        F16const => match *data {
            D::UnaryIeee16 { imm, .. } => one(DataValue::F16(imm)),
            _ => Err(bad_format(op)),
        },
        F32const => match *data {
            D::UnaryIeee32 { imm, .. } => one(DataValue::F32(imm)),
            _ => Err(bad_format(op)),
        },
        F64const => match *data {
            D::UnaryIeee64 { imm, .. } => one(DataValue::F64(imm)),
            _ => Err(bad_format(op)),
        },
        F128const | Vconst => match *data {
            D::UnaryConst { constant, .. } => {
                let c = func
                    .dfg
                    .constants
                    .get(constant)
                    .ok_or_else(|| InterpError::Invalid(format!("undefined constant {constant}")))?;
                let ty = if op == F128const { crate::types::F128 } else { ctrl };
                if c.len() != norm(ty).bytes() as usize {
                    return Err(InterpError::Invalid(format!("{op}: constant of {} bytes for type {ty}", c.len())));
                }
                one(simd::from_const(ty, c.as_slice())?)
            }
            _ => Err(bad_format(op)),
        },
        Splat => one(simd::splat(ctrl, arg(args, 0)?)?),
        Insertlane => match *data {
            D::TernaryImm8 { imm, .. } => one(simd::insertlane(arg(args, 0)?, arg(args, 1)?, imm)?),
            _ => Err(bad_format(op)),
        },
        Extractlane => match *data {
            D::BinaryImm8 { imm, .. } => one(simd::extractlane(arg(args, 0)?, imm)?),
            _ => Err(bad_format(op)),
        },
        ExtractVector => match *data {
            D::BinaryImm8 { imm, .. } => one(simd::extract_vector(rty, arg(args, 0)?, imm)?),
            _ => Err(bad_format(op)),
        },
        Shuffle => match *data {
            D::Shuffle { mask, .. } => {
                let m = func
                    .dfg
                    .immediates
                    .get(mask)
                    .ok_or_else(|| InterpError::Invalid(format!("undefined shuffle mask {mask}")))?;
                one(simd::shuffle(arg(args, 0)?, arg(args, 1)?, m.as_slice())?)
            }
            _ => Err(bad_format(op)),
        },
        Swizzle | X86Pshufb => one(simd::swizzle(op, arg(args, 0)?, arg(args, 1)?)?),
        Smin | Umin | Smax | Umax | AvgRound | UaddSat | SaddSat | UsubSat | SsubSat | Iadd | Isub | Imul | Umulhi
        | Smulhi | SqmulRoundSat | X86Pmulhrsw | Udiv | Sdiv | Urem | Srem | Band | Bor | Bxor => {
            let (a, b) = (arg(args, 0)?, arg(args, 1)?);
            if a.ty() != b.ty() {
                // Only an unverified function gets here (the optimizer folds constants of
                // functions compiled with the verifier off).
                return Err(InterpError::Invalid(format!("{op} of a {} and a {}", a.ty(), b.ty())));
            }
            let bits = lane_bits(a);
            one(map2(a.ty(), a, b, |x, y| int::binary(op, bits, x, y))?)
        }
        Bnot => {
            let a = arg(args, 0)?;
            let m = mask(lane_bits(a));
            one(map1(a.ty(), a, |x| Ok(!x & m))?)
        }
        Ineg | Iabs | Bitrev | Clz | Cls | Ctz | Bswap | Popcnt => {
            let a = arg(args, 0)?;
            let bits = lane_bits(a);
            one(map1(a.ty(), a, |x| int::unary(op, bits, x))?)
        }
        Rotl | Rotr | Ishl | Ushr | Sshr => {
            let a = arg(args, 0)?;
            let amount = scalar(arg(args, 1)?)?;
            let bits = lane_bits(a);
            one(map1(a.ty(), a, |x| int::shift(op, bits, x, amount))?)
        }
        Icmp => match *data {
            D::IntCompare { cond, .. } => {
                let (a, b) = (arg(args, 0)?, arg(args, 1)?);
                let bits = lane_bits(a);
                let t = truth(rty);
                one(map2(rty, a, b, |x, y| Ok(if cond.eval(x, y, bits) { t } else { 0 }))?)
            }
            _ => Err(bad_format(op)),
        },
        Fcmp => match *data {
            D::FloatCompare { cond, .. } => {
                let (a, b) = (arg(args, 0)?, arg(args, 1)?);
                let f = float::fmt_of(lane_bits(a))?;
                let t = truth(rty);
                one(map2(rty, a, b, |x, y| Ok(if cond.holds(float::compare(f, x, y)) { t } else { 0 }))?)
            }
            _ => Err(bad_format(op)),
        },
        Fadd | Fsub | Fmul | Fdiv | Fmin | Fmax | Fcopysign => {
            let (a, b) = (arg(args, 0)?, arg(args, 1)?);
            let f = float::fmt_of(lane_bits(a))?;
            one(map2(a.ty(), a, b, |x, y| float::binary(op, f, x, y))?)
        }
        Sqrt | Fneg | Fabs | Ceil | Floor | Trunc | Nearest => {
            let a = arg(args, 0)?;
            let f = float::fmt_of(lane_bits(a))?;
            one(map1(a.ty(), a, |x| float::unary(op, f, x))?)
        }
        Fma => {
            let (a, b, c) = (arg(args, 0)?, arg(args, 1)?, arg(args, 2)?);
            let f = float::fmt_of(lane_bits(a))?;
            one(map3(a.ty(), a, b, c, |x, y, z| float::fma(f, x, y, z))?)
        }
        Select | SelectSpectreGuard => {
            let c = scalar(arg(args, 0)?)?;
            one(if c != 0 { arg(args, 1)? } else { arg(args, 2)? }.clone())
        }
        Bitselect => {
            let (c, x, y) = (arg(args, 0)?, arg(args, 1)?, arg(args, 2)?);
            one(map3(x.ty(), c, x, y, |c, x, y| Ok((c & x) | (!c & y)))?)
        }
        Blendv => one(simd::blendv(arg(args, 0)?, arg(args, 1)?, arg(args, 2)?)?),
        VanyTrue | VallTrue => one(simd::any_all(op, arg(args, 0)?)?),
        VhighBits => one(simd::vhigh_bits(ctrl, arg(args, 0)?)?),
        Bitcast => match *data {
            D::LoadNoOffset { flags, .. } => {
                let order = if (flags.0 as usize) < func.dfg.mem_flags.len() {
                    func.dfg.mem_flags.get(flags).explicit_endianness()
                } else {
                    None
                };
                one(convert::bitcast(ctrl, arg(args, 0)?, order)?)
            }
            _ => Err(bad_format(op)),
        },
        ScalarToVector => one(simd::scalar_to_vector(ctrl, arg(args, 0)?)?),
        Bmask => one(convert::bmask(ctrl, arg(args, 0)?)?),
        Ireduce | Uextend | Sextend => {
            let x = arg(args, 0)?;
            let ok = match op {
                Ireduce => ctrl.is_narrower_scalar_of_kind(x.ty()),
                _ => x.ty().is_narrower_scalar_of_kind(ctrl),
            };
            if !ok || !ctrl.is_int() {
                return Err(InterpError::Invalid(format!("{op}.{ctrl} of {}", x.ty())));
            }
            one(convert::resize(op, ctrl, x)?)
        }
        Snarrow | Unarrow | Uunarrow => one(simd::narrow(op, rty, arg(args, 0)?, arg(args, 1)?)?),
        SwidenLow | SwidenHigh | UwidenLow | UwidenHigh => one(simd::widen(op, rty, arg(args, 0)?)?),
        IaddPairwise => one(simd::iadd_pairwise(arg(args, 0)?, arg(args, 1)?)?),
        X86Pmaddubsw => one(simd::pmaddubsw(rty, arg(args, 0)?, arg(args, 1)?)?),
        Fpromote | Fdemote => {
            let x = arg(args, 0)?;
            let ok = match op {
                Fpromote => x.ty().is_narrower_scalar_of_kind(ctrl),
                _ => ctrl.is_narrower_scalar_of_kind(x.ty()),
            };
            if !ok || !ctrl.is_float() {
                return Err(InterpError::Invalid(format!("{op}.{ctrl} of {}", x.ty())));
            }
            one(convert::fconvert(ctrl, x)?)
        }
        Fvdemote | FvpromoteLow => one(convert::fvconvert(op, rty, arg(args, 0)?)?),
        FcvtToUint | FcvtToSint | FcvtToUintSat | FcvtToSintSat | X86Cvtt2dq => {
            let x = arg(args, 0)?;
            if !x.ty().is_float() || !ctrl.is_int() {
                return Err(InterpError::Invalid(format!("{op}.{ctrl} of {}", x.ty())));
            }
            one(convert::to_int(op, ctrl, x)?)
        }
        FcvtFromUint | FcvtFromSint => {
            let x = arg(args, 0)?;
            if !x.ty().is_int() || !ctrl.is_float() {
                return Err(InterpError::Invalid(format!("{op}.{ctrl} of {}", x.ty())));
            }
            one(convert::from_int(op, ctrl, x)?)
        }
        Isplit => {
            let (lo, hi) = convert::isplit(arg(args, 0)?)?;
            Ok(Out::Two(lo, hi))
        }
        Iconcat => one(convert::iconcat(arg(args, 0)?, arg(args, 1)?)?),
        UaddOverflow | SaddOverflow | UsubOverflow | SsubOverflow | UmulOverflow | SmulOverflow => {
            let (a, b) = (arg(args, 0)?, arg(args, 1)?);
            let bits = scalar_int_bits(a, b)?;
            let (r, f) = int::with_flag(op, bits, scalar(a)?, scalar(b)?, false)?;
            Ok(Out::Two(mk(a.ty(), r)?, DataValue::I8(f as i8)))
        }
        UaddOverflowCin | SaddOverflowCin | UsubOverflowBin | SsubOverflowBin => {
            let (a, b, c) = (arg(args, 0)?, arg(args, 1)?, arg(args, 2)?);
            let bits = scalar_int_bits(a, b)?;
            let (r, f) = int::with_flag(op, bits, scalar(a)?, scalar(b)?, scalar(c)? != 0)?;
            Ok(Out::Two(mk(a.ty(), r)?, DataValue::I8(f as i8)))
        }
        UaddOverflowTrap => match *data {
            D::IntAddTrap { code, .. } => {
                let (a, b) = (arg(args, 0)?, arg(args, 1)?);
                let bits = scalar_int_bits(a, b)?;
                let (r, f) = int::with_flag(op, bits, scalar(a)?, scalar(b)?, false)?;
                if f {
                    return Err(InterpError::Trap(code));
                }
                one(mk(a.ty(), r)?)
            }
            _ => Err(bad_format(op)),
        },
        _ => Err(InterpError::Invalid(format!("{op} is not a pure operation"))),
    }
}

/// The "true" lane value of a comparison result type: 1 for scalars, all ones for vectors.
fn truth(rty: Type) -> u128 {
    if rty.is_scalar() { 1 } else { mask(rty.lane_bits()) }
}

fn scalar_int_bits(a: &DataValue, b: &DataValue) -> R<u32> {
    let ty = a.ty();
    if !ty.is_int() || !ty.is_scalar() || b.ty() != ty {
        return Err(InterpError::Invalid(format!("expected two scalar integers of the same type, found {ty}")));
    }
    Ok(ty.bits())
}

fn bad_format(op: Opcode) -> InterpError {
    InterpError::Invalid(format!("{op} with instruction data of the wrong format"))
}

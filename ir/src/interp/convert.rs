//! Type-changing operations (OPCODES.md §6, §7 promote/demote, §8, §9): integer extension
//! and reduction, `isplit`/`iconcat`, `bmask`, `bitcast` with byte order, float format
//! conversions and float↔int conversions (trapping, saturating, x86 `cvtt2dq`).

use super::float::{self, ToInt, fmt_of};
use super::lanes::{build, lanes, mask, mk, norm, scalar, sext};
use super::{InterpError, R};
use crate::data_value::DataValue;
use crate::immediates::FloatFormat;
use crate::memflags::Endianness;
use crate::opcodes::Opcode;
use crate::trapcode::TrapCode;
use crate::types::Type;

/// `uextend`, `sextend`, `ireduce` to scalar `out`.
pub(crate) fn resize(op: Opcode, out: Type, x: &DataValue) -> R<DataValue> {
    let bits = x.ty().bits();
    let v = scalar(x)?;
    let r = if op == Opcode::Sextend { sext(v, bits) as u128 } else { v };
    mk(out, r & mask(out.bits()))
}

/// `bmask.T x`.
pub(crate) fn bmask(out: Type, x: &DataValue) -> R<DataValue> {
    mk(out, if scalar(x)? != 0 { u128::MAX } else { 0 })
}

/// `isplit x` → (lo, hi).
pub(crate) fn isplit(x: &DataValue) -> R<(DataValue, DataValue)> {
    let ty = x.ty();
    let half = ty.half_width().filter(|_| ty.is_scalar() && ty.is_int());
    let half = half.ok_or_else(|| InterpError::Invalid(format!("isplit of {ty}")))?;
    let v = scalar(x)?;
    let hb = half.bits();
    Ok((mk(half, v & mask(hb))?, mk(half, v >> hb)?))
}

/// `iconcat lo, hi`.
pub(crate) fn iconcat(lo: &DataValue, hi: &DataValue) -> R<DataValue> {
    let ty = lo.ty();
    let dbl = ty.double_width().filter(|_| ty.is_scalar() && ty.is_int() && hi.ty() == ty);
    let dbl = dbl.ok_or_else(|| InterpError::Invalid(format!("iconcat of {ty}")))?;
    mk(dbl, scalar(lo)? | (scalar(hi)? << ty.bits()))
}

/// `bitcast.T x` with the instruction's explicit byte order (if any).
pub(crate) fn bitcast(out: Type, x: &DataValue, order: Option<Endianness>) -> R<DataValue> {
    let out = norm(out);
    let lx = lanes(x)?;
    if lx.ty.bits() != out.bits() {
        return Err(InterpError::Invalid(format!("bitcast from {} to {out}: sizes differ", lx.ty)));
    }
    if lx.n == out.lane_count() as usize {
        return build(out, |i| Ok(lx.get(i)));
    }
    // Store with the byte order, load back with the same byte order.
    let e = order.unwrap_or(Endianness::Little);
    let lb = (lx.bits / 8) as usize;
    let mut bytes = vec![0u8; lx.ty.bytes() as usize];
    for i in 0..lx.n {
        super::memory::encode(lx.get(i), &mut bytes[i * lb..(i + 1) * lb], e);
    }
    let ob = (out.lane_bits() / 8) as usize;
    build(out, |i| Ok(super::memory::decode(&bytes[i * ob..(i + 1) * ob], e)))
}

/// `fpromote` / `fdemote` (scalars).
pub(crate) fn fconvert(out: Type, x: &DataValue) -> R<DataValue> {
    let from = fmt_of(x.ty().bits())?;
    let to = fmt_of(out.bits())?;
    mk(out, float::convert(from, to, scalar(x)?))
}

/// `fvpromote_low` (f32x4 → f64x2) and `fvdemote` (f64x2 → f32x4).
pub(crate) fn fvconvert(op: Opcode, out: Type, x: &DataValue) -> R<DataValue> {
    let lx = lanes(x)?;
    let from = fmt_of(lx.bits)?;
    let to = fmt_of(out.lane_bits())?;
    build(out, |i| {
        if op == Opcode::FvpromoteLow {
            if i < lx.n { Ok(float::convert(from, to, lx.get(i))) } else { Ok(0) }
        } else if i < lx.n && i < out.lane_count() as usize / 2 {
            Ok(float::convert(from, to, lx.get(i)))
        } else {
            Ok(0)
        }
    })
}

/// `fcvt_to_{u,s}int{,_sat}` and `x86_cvtt2dq` to `out`.
pub(crate) fn to_int(op: Opcode, out: Type, x: &DataValue) -> R<DataValue> {
    let lx = lanes(x)?;
    let f: FloatFormat = fmt_of(lx.bits)?;
    let ob = norm(out).lane_bits();
    if lx.n != norm(out).lane_count() as usize {
        return Err(InterpError::Invalid(format!("{op}: lane counts differ")));
    }
    build(out, |i| {
        let v = lx.get(i);
        match op {
            Opcode::FcvtToSint | Opcode::FcvtToUint => float::to_int(f, v, op == Opcode::FcvtToSint, ob).map_err(|e| {
                InterpError::Trap(match e {
                    ToInt::NaN => TrapCode::BAD_CONVERSION_TO_INTEGER,
                    ToInt::Overflow => TrapCode::INTEGER_OVERFLOW,
                })
            }),
            Opcode::FcvtToSintSat => Ok(float::to_int_sat(f, v, true, ob)),
            Opcode::FcvtToUintSat => Ok(float::to_int_sat(f, v, false, ob)),
            _ => Ok(float::to_int(f, v, true, ob).unwrap_or(1u128 << (ob - 1))),
        }
    })
}

/// `fcvt_from_{u,s}int` to `out`.
pub(crate) fn from_int(op: Opcode, out: Type, x: &DataValue) -> R<DataValue> {
    let lx = lanes(x)?;
    let f = fmt_of(norm(out).lane_bits())?;
    if lx.n != norm(out).lane_count() as usize {
        return Err(InterpError::Invalid(format!("{op}: lane counts differ")));
    }
    build(out, |i| Ok(float::from_int(f, lx.get(i), op == Opcode::FcvtFromSint, lx.bits)))
}

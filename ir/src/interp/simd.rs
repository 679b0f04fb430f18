//! Vector-specific semantics (OPCODES.md §5 `blendv`, §9 `scalar_to_vector`, §15): lane
//! insertion/extraction, shuffles, reductions to scalars, narrowing, widening, pairwise adds
//! and the x86-oriented `pmaddubsw`. Lane-wise forms of general operations live with their
//! scalar definitions (`int`, `float`).
//!
//! Every function validates lane indices and shapes and returns `Invalid` instead of
//! indexing out of range.

use super::lanes::{build, lanes, mask, norm};
use super::{InterpError, R};
use crate::data_value::DataValue;
use crate::opcodes::Opcode;
use crate::types::Type;

fn invalid(msg: String) -> InterpError {
    InterpError::Invalid(msg)
}

/// `splat.T x`.
pub(crate) fn splat(ty: Type, x: &DataValue) -> R<DataValue> {
    let v = super::lanes::scalar(x)?;
    build(ty, |_| Ok(v))
}

/// `insertlane x, y, idx`.
pub(crate) fn insertlane(x: &DataValue, y: &DataValue, idx: u8) -> R<DataValue> {
    let lx = lanes(x)?;
    let v = super::lanes::scalar(y)?;
    if idx as usize >= lx.n {
        return Err(invalid(format!("lane index {idx} out of range for {}", lx.ty)));
    }
    build(lx.ty, |i| Ok(if i == idx as usize { v } else { lx.get(i) }))
}

/// `extractlane x, idx`.
pub(crate) fn extractlane(x: &DataValue, idx: u8) -> R<DataValue> {
    let lx = lanes(x)?;
    if idx as usize >= lx.n || !lx.ty.is_vector() {
        return Err(invalid(format!("lane index {idx} out of range for {}", lx.ty)));
    }
    super::lanes::mk(lx.ty.lane_type(), lx.get(idx as usize))
}

/// `shuffle a, b, mask` on i8x16.
pub(crate) fn shuffle(a: &DataValue, b: &DataValue, mask_bytes: &[u8]) -> R<DataValue> {
    let (la, lb) = (lanes(a)?, lanes(b)?);
    if la.n != 16 || lb.n != 16 || mask_bytes.len() != 16 {
        return Err(invalid("shuffle needs i8x16 operands and a 16-byte mask".into()));
    }
    build(la.ty, |i| {
        let m = mask_bytes[i] as usize;
        match m {
            0..16 => Ok(la.get(m)),
            16..32 => Ok(lb.get(m - 16)),
            _ => Err(invalid(format!("shuffle mask byte {m} out of range"))),
        }
    })
}

/// `swizzle x, y` and `x86_pshufb x, y` on i8x16.
pub(crate) fn swizzle(op: Opcode, x: &DataValue, y: &DataValue) -> R<DataValue> {
    let (lx, ly) = (lanes(x)?, lanes(y)?);
    if lx.n != 16 || ly.n != 16 || lx.bits != 8 {
        return Err(invalid(format!("{op} needs i8x16 operands")));
    }
    build(lx.ty, |i| {
        let s = ly.get(i) as usize;
        Ok(if op == Opcode::Swizzle {
            if s < 16 { lx.get(s) } else { 0 }
        } else if s & 0x80 != 0 {
            0
        } else {
            lx.get(s & 0xf)
        })
    })
}

/// `vany_true` / `vall_true`.
pub(crate) fn any_all(op: Opcode, x: &DataValue) -> R<DataValue> {
    let lx = lanes(x)?;
    let r = if op == Opcode::VanyTrue { (0..lx.n).any(|i| lx.get(i) != 0) } else { (0..lx.n).all(|i| lx.get(i) != 0) };
    Ok(DataValue::I8(r as i8))
}

/// `vhigh_bits.T x`.
pub(crate) fn vhigh_bits(ty: Type, x: &DataValue) -> R<DataValue> {
    let lx = lanes(x)?;
    let width = ty.bits() as usize;
    let mut r = 0u128;
    for i in 0..lx.n.min(width) {
        r |= ((lx.get(i) >> (lx.bits - 1)) & 1) << i;
    }
    super::lanes::mk(ty, r)
}

/// `snarrow` / `unarrow` / `uunarrow x, y` producing `out`.
pub(crate) fn narrow(op: Opcode, out: Type, x: &DataValue, y: &DataValue) -> R<DataValue> {
    let (lx, ly) = (lanes(x)?, lanes(y)?);
    let out = norm(out);
    let ob = out.lane_bits();
    if lx.n != ly.n || out.lane_count() as usize != 2 * lx.n || ob * 2 != lx.bits {
        return Err(invalid(format!("{op}: bad shapes for a {out} result")));
    }
    let n = lx.n;
    let (smin, smax) = (-(1i128 << (ob - 1)), (1i128 << (ob - 1)) - 1);
    let umax = mask(ob) as i128;
    build(out, |i| {
        let (l, j) = if i < n { (&lx, i) } else { (&ly, i - n) };
        Ok(match op {
            Opcode::Snarrow => l.gets(j).clamp(smin, smax) as u128 & mask(ob),
            Opcode::Unarrow => l.gets(j).clamp(0, umax) as u128,
            _ => (l.get(j) as i128).clamp(0, umax) as u128,
        })
    })
}

/// `swiden_low/high`, `uwiden_low/high x` producing `out`.
pub(crate) fn widen(op: Opcode, out: Type, x: &DataValue) -> R<DataValue> {
    let lx = lanes(x)?;
    let out = norm(out);
    let half = lx.n / 2;
    if out.lane_count() as usize != half.max(1) || out.lane_bits() != 2 * lx.bits || lx.n < 2 {
        return Err(invalid(format!("{op}: bad shapes for a {out} result")));
    }
    let high = matches!(op, Opcode::SwidenHigh | Opcode::UwidenHigh);
    let signed = matches!(op, Opcode::SwidenLow | Opcode::SwidenHigh);
    let ob = out.lane_bits();
    build(out, |i| {
        let j = if high { half + i } else { i };
        Ok(if signed { lx.gets(j) as u128 & mask(ob) } else { lx.get(j) })
    })
}

/// `iadd_pairwise x, y`.
pub(crate) fn iadd_pairwise(x: &DataValue, y: &DataValue) -> R<DataValue> {
    let (lx, ly) = (lanes(x)?, lanes(y)?);
    if lx.ty != ly.ty || lx.n < 2 {
        return Err(invalid("iadd_pairwise: operand types differ".into()));
    }
    let h = lx.n / 2;
    let m = mask(lx.bits);
    build(lx.ty, |i| {
        let (l, j) = if i < h { (&lx, i) } else { (&ly, i - h) };
        Ok(l.get(2 * j).wrapping_add(l.get(2 * j + 1)) & m)
    })
}

/// `x86_pmaddubsw x, y`: i8x16 × i8x16 → i16x8.
pub(crate) fn pmaddubsw(out: Type, x: &DataValue, y: &DataValue) -> R<DataValue> {
    let (lx, ly) = (lanes(x)?, lanes(y)?);
    if lx.n != 16 || ly.n != 16 || lx.bits != 8 || out.lane_count() != 8 {
        return Err(invalid("x86_pmaddubsw needs i8x16 operands".into()));
    }
    build(out, |i| {
        let s = lx.gets(2 * i) * ly.get(2 * i) as i128 + lx.gets(2 * i + 1) * ly.get(2 * i + 1) as i128;
        Ok(s.clamp(i16::MIN as i128, i16::MAX as i128) as u128 & 0xffff)
    })
}

/// `scalar_to_vector.T s`.
pub(crate) fn scalar_to_vector(ty: Type, s: &DataValue) -> R<DataValue> {
    let v = super::lanes::scalar(s)?;
    build(ty, |i| Ok(if i == 0 { v } else { 0 }))
}

/// `blendv c, x, y`: per lane, the MSB of c's lane selects x.
pub(crate) fn blendv(c: &DataValue, x: &DataValue, y: &DataValue) -> R<DataValue> {
    let (lc, lx, ly) = (lanes(c)?, lanes(x)?, lanes(y)?);
    if lc.n != lx.n || lx.n != ly.n || lc.bits != lx.bits {
        return Err(invalid("blendv: operand shapes differ".into()));
    }
    build(lx.ty, |i| Ok(if (lc.get(i) >> (lc.bits - 1)) & 1 == 1 { lx.get(i) } else { ly.get(i) }))
}

/// `extract_vector x, idx` with dynamic scale 1: only chunk 0 exists.
pub(crate) fn extract_vector(out: Type, x: &DataValue, idx: u8) -> R<DataValue> {
    if idx != 0 {
        return Err(InterpError::Undefined(format!(
            "undefined behaviour: extract_vector chunk {idx} of a dynamic vector with scale 1"
        )));
    }
    let lx = lanes(x)?;
    if norm(out) != lx.ty {
        return Err(invalid(format!("extract_vector: {} is not {out}", lx.ty)));
    }
    Ok(x.clone())
}

/// A constant's bytes as a value of type `ty` (shorter constants are zero-extended).
pub(crate) fn from_const(ty: Type, bytes: &[u8]) -> R<DataValue> {
    let ty = norm(ty);
    let n = ty.bytes() as usize;
    if bytes.len() > n {
        return Err(invalid(format!("constant of {} bytes for type {ty}", bytes.len())));
    }
    let mut b: smallvec::SmallVec<[u8; 16]> = smallvec::SmallVec::from_slice(bytes);
    b.resize(n, 0);
    DataValue::from_le_bytes(ty, &b).ok_or_else(|| invalid(format!("cannot build a {ty} constant")))
}

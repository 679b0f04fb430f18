//! Fixed-width SIMD (`v128`) operators, translated to IR vector opcodes.
//!
//! Every `v128` on the operand stack, in locals and across calls is an `i8x16`; an operator
//! bitcasts its operands to the lane type it works on (a no-op unless the type differs)
//! and its result back to `i8x16`. The mapping follows the opcodes' semantics in
//! `shared/clif/OPCODES.md`: lane shifts mask their amount, `swizzle` gives 0 for
//! out-of-range indices, `fmin`/`fmax` propagate NaN and order -0 < +0, `pmin`/`pmax` are a
//! compare and a `bitselect`, the dot product is a widening multiply and a pairwise add,
//! the `trunc_sat … zero` conversions saturate to 64-bit lanes and narrow with
//! saturation.

use super::State;
use super::heap::access;
use crate::environ::FuncEnvironment;
use crate::error::{WasmError, WasmResult};
use kiln_frontend::FunctionBuilder;
use kiln_ir::condcodes::{FloatCC, IntCC};
use kiln_ir::constant::ConstantData;
use kiln_ir::memflags::{Endianness, MemFlags};
use kiln_ir::types::{self, Type};
use kiln_ir::{InstBuilder, Value};
use wasmparser::{MemArg, Operator};

use types::{F32X4, F64X2, I8, I8X16, I16, I16X8, I32, I32X4, I64, I64X2};

fn vflags() -> MemFlags {
    MemFlags::new().with_endianness(Endianness::Little)
}

/// `v` as a vector of type `ty`.
fn as_ty(b: &mut FunctionBuilder, v: Value, ty: Type) -> Value {
    if b.func.dfg.value_type(v) == ty { v } else { b.ins().bitcast(ty, vflags(), v) }
}

/// Push `v` as an `i8x16`.
fn push_v(st: &mut State, b: &mut FunctionBuilder, v: Value) {
    let v = as_ty(b, v, I8X16);
    st.push(v);
}

fn pop_as(st: &mut State, b: &mut FunctionBuilder, ty: Type) -> Value {
    let v = st.pop();
    as_ty(b, v, ty)
}

fn pop2_as(st: &mut State, b: &mut FunctionBuilder, ty: Type) -> (Value, Value) {
    let (x, y) = st.pop2();
    (as_ty(b, x, ty), as_ty(b, y, ty))
}

macro_rules! vbin {
    ($st:ident, $b:ident, $ty:expr, $m:ident) => {{
        let (x, y) = pop2_as($st, $b, $ty);
        let v = $b.ins().$m(x, y);
        push_v($st, $b, v);
    }};
}

macro_rules! vun {
    ($st:ident, $b:ident, $ty:expr, $m:ident) => {{
        let x = pop_as($st, $b, $ty);
        let v = $b.ins().$m(x);
        push_v($st, $b, v);
    }};
}

fn vicmp(st: &mut State, b: &mut FunctionBuilder, ty: Type, cc: IntCC) {
    let (x, y) = pop2_as(st, b, ty);
    let v = b.ins().icmp(cc, x, y);
    push_v(st, b, v);
}

fn vfcmp(st: &mut State, b: &mut FunctionBuilder, ty: Type, cc: FloatCC) {
    let (x, y) = pop2_as(st, b, ty);
    let v = b.ins().fcmp(cc, x, y);
    push_v(st, b, v);
}

fn vshift(st: &mut State, b: &mut FunctionBuilder, ty: Type, op: fn(&mut FunctionBuilder, Value, Value) -> Value) {
    let amt = st.pop();
    let x = pop_as(st, b, ty);
    let v = op(b, x, amt);
    push_v(st, b, v);
}

fn zeros(b: &mut FunctionBuilder, ty: Type) -> Value {
    let c = b.func.dfg.insert_constant(ConstantData::new(vec![0; 16]));
    b.ins().vconst(ty, c)
}

/// `pmin`/`pmax`: `y < x ? y : x` (min) or `x < y ? y : x` (max).
fn pminmax(st: &mut State, b: &mut FunctionBuilder, ty: Type, max: bool) {
    let (x, y) = pop2_as(st, b, ty);
    let c = if max { b.ins().fcmp(FloatCC::LessThan, x, y) } else { b.ins().fcmp(FloatCC::LessThan, y, x) };
    let ity = if ty == F32X4 { I32X4 } else { types::I64X2 };
    let mask = as_ty(b, c, ity);
    let (yi, xi) = (as_ty(b, y, ity), as_ty(b, x, ity));
    let v = b.ins().bitselect(mask, yi, xi);
    push_v(st, b, v);
}

fn extmul(st: &mut State, b: &mut FunctionBuilder, ty: Type, signed: bool, high: bool) {
    let (x, y) = pop2_as(st, b, ty);
    let (x, y) = match (signed, high) {
        (true, false) => (b.ins().swiden_low(x), b.ins().swiden_low(y)),
        (true, true) => (b.ins().swiden_high(x), b.ins().swiden_high(y)),
        (false, false) => (b.ins().uwiden_low(x), b.ins().uwiden_low(y)),
        (false, true) => (b.ins().uwiden_high(x), b.ins().uwiden_high(y)),
    };
    let v = b.ins().imul(x, y);
    push_v(st, b, v);
}

fn ext_add_pairwise(st: &mut State, b: &mut FunctionBuilder, ty: Type, signed: bool) {
    let x = pop_as(st, b, ty);
    let (lo, hi) = if signed {
        (b.ins().swiden_low(x), b.ins().swiden_high(x))
    } else {
        (b.ins().uwiden_low(x), b.ins().uwiden_high(x))
    };
    let v = b.ins().iadd_pairwise(lo, hi);
    push_v(st, b, v);
}

fn widen(st: &mut State, b: &mut FunctionBuilder, ty: Type, signed: bool, high: bool) {
    let x = pop_as(st, b, ty);
    let v = match (signed, high) {
        (true, false) => b.ins().swiden_low(x),
        (true, true) => b.ins().swiden_high(x),
        (false, false) => b.ins().uwiden_low(x),
        (false, true) => b.ins().uwiden_high(x),
    };
    push_v(st, b, v);
}

fn extract(st: &mut State, b: &mut FunctionBuilder, ty: Type, lane: u8, ext: Option<bool>) {
    let x = pop_as(st, b, ty);
    let mut v = b.ins().extractlane(x, lane);
    match ext {
        Some(true) => v = b.ins().sextend(I32, v),
        Some(false) => v = b.ins().uextend(I32, v),
        None => {}
    }
    st.push(v);
}

fn replace(st: &mut State, b: &mut FunctionBuilder, ty: Type, lane: u8) {
    let mut s = st.pop();
    let x = pop_as(st, b, ty);
    let lt = ty.lane_type();
    if lt.is_int() && lt.bits() < 32 {
        s = b.ins().ireduce(lt, s);
    }
    let v = b.ins().insertlane(x, s, lane);
    push_v(st, b, v);
}

fn splat(st: &mut State, b: &mut FunctionBuilder, ty: Type) {
    let mut s = st.pop();
    let lt = ty.lane_type();
    if lt.is_int() && lt.bits() < 32 {
        s = b.ins().ireduce(lt, s);
    }
    let v = b.ins().splat(ty, s);
    push_v(st, b, v);
}

/// The loads and stores of `v128` and its lanes.
fn simd_memory<E: FuncEnvironment + ?Sized>(
    st: &mut State,
    env: &mut E,
    b: &mut FunctionBuilder,
    op: &Operator,
) -> WasmResult<bool> {
    use Operator as O;
    // (memarg, access size, what to do with the address)
    enum K {
        Load,
        Ext(fn(&mut FunctionBuilder, MemFlags, Value, i32) -> Value),
        Splat(Type, Type),
        Zero(Type, Type),
        LoadLane(Type, Type, u8),
        Store,
        StoreLane(Type, u8),
    }
    let (memarg, size, k): (&MemArg, u64, K) = match op {
        O::V128Load { memarg } => (memarg, 16, K::Load),
        O::V128Load8x8S { memarg } => (memarg, 8, K::Ext(|b, f, a, o| b.ins().sload8x8(f, a, o))),
        O::V128Load8x8U { memarg } => (memarg, 8, K::Ext(|b, f, a, o| b.ins().uload8x8(f, a, o))),
        O::V128Load16x4S { memarg } => (memarg, 8, K::Ext(|b, f, a, o| b.ins().sload16x4(f, a, o))),
        O::V128Load16x4U { memarg } => (memarg, 8, K::Ext(|b, f, a, o| b.ins().uload16x4(f, a, o))),
        O::V128Load32x2S { memarg } => (memarg, 8, K::Ext(|b, f, a, o| b.ins().sload32x2(f, a, o))),
        O::V128Load32x2U { memarg } => (memarg, 8, K::Ext(|b, f, a, o| b.ins().uload32x2(f, a, o))),
        O::V128Load8Splat { memarg } => (memarg, 1, K::Splat(I8, I8X16)),
        O::V128Load16Splat { memarg } => (memarg, 2, K::Splat(I16, I16X8)),
        O::V128Load32Splat { memarg } => (memarg, 4, K::Splat(I32, I32X4)),
        O::V128Load64Splat { memarg } => (memarg, 8, K::Splat(I64, I64X2)),
        O::V128Load32Zero { memarg } => (memarg, 4, K::Zero(I32, I32X4)),
        O::V128Load64Zero { memarg } => (memarg, 8, K::Zero(I64, I64X2)),
        O::V128Load8Lane { memarg, lane } => (memarg, 1, K::LoadLane(I8, I8X16, *lane)),
        O::V128Load16Lane { memarg, lane } => (memarg, 2, K::LoadLane(I16, I16X8, *lane)),
        O::V128Load32Lane { memarg, lane } => (memarg, 4, K::LoadLane(I32, I32X4, *lane)),
        O::V128Load64Lane { memarg, lane } => (memarg, 8, K::LoadLane(I64, I64X2, *lane)),
        O::V128Store { memarg } => (memarg, 16, K::Store),
        O::V128Store8Lane { memarg, lane } => (memarg, 1, K::StoreLane(I8X16, *lane)),
        O::V128Store16Lane { memarg, lane } => (memarg, 2, K::StoreLane(I16X8, *lane)),
        O::V128Store32Lane { memarg, lane } => (memarg, 4, K::StoreLane(I32X4, *lane)),
        O::V128Store64Lane { memarg, lane } => (memarg, 8, K::StoreLane(I64X2, *lane)),
        _ => return Ok(false),
    };
    // Operands: loads of a lane and stores take a vector above the address.
    let vec = match k {
        K::LoadLane(..) | K::Store | K::StoreLane(..) => Some(st.pop()),
        _ => None,
    };
    let index = st.pop();
    let Some(a) = access(st, env, b, memarg, size, index)? else { return Ok(true) };
    match k {
        K::Load => {
            let v = b.ins().load(I8X16, a.flags, a.addr, a.offset);
            st.push(v);
        }
        K::Ext(f) => {
            let v = f(b, a.flags, a.addr, a.offset);
            push_v(st, b, v);
        }
        K::Splat(lt, vt) => {
            let s = b.ins().load(lt, a.flags, a.addr, a.offset);
            let v = b.ins().splat(vt, s);
            push_v(st, b, v);
        }
        K::Zero(lt, vt) => {
            let s = b.ins().load(lt, a.flags, a.addr, a.offset);
            let v = b.ins().scalar_to_vector(vt, s);
            push_v(st, b, v);
        }
        K::LoadLane(lt, vt, lane) => {
            let s = b.ins().load(lt, a.flags, a.addr, a.offset);
            let x = vec.map(|v| as_ty(b, v, vt)).unwrap_or(Value::from_u32(u32::MAX));
            let v = b.ins().insertlane(x, s, lane);
            push_v(st, b, v);
        }
        K::Store => {
            let x = vec.unwrap_or(Value::from_u32(u32::MAX));
            b.ins().store(a.flags, x, a.addr, a.offset);
        }
        K::StoreLane(vt, lane) => {
            let x = vec.map(|v| as_ty(b, v, vt)).unwrap_or(Value::from_u32(u32::MAX));
            let s = b.ins().extractlane(x, lane);
            b.ins().store(a.flags, s, a.addr, a.offset);
        }
    }
    Ok(true)
}

/// Translate a SIMD operator; any other operator that reaches here is reported as
/// unsupported (with the proposal's name where there is one).
pub(super) fn translate_simd<E: FuncEnvironment + ?Sized>(
    st: &mut State,
    env: &mut E,
    b: &mut FunctionBuilder,
    op: &Operator,
    offset: usize,
) -> WasmResult<()> {
    use Operator as O;
    if simd_memory(st, env, b, op)? {
        return Ok(());
    }
    match *op {
        O::V128Const { value } => {
            let c = b.func.dfg.insert_constant(ConstantData::new(value.bytes().to_vec()));
            let v = b.ins().vconst(I8X16, c);
            st.push(v);
        }
        O::I8x16Shuffle { lanes } => {
            let (x, y) = pop2_as(st, b, I8X16);
            let imm = b.func.dfg.insert_immediate(ConstantData::new(lanes.to_vec()));
            let v = b.ins().shuffle(x, y, imm);
            st.push(v);
        }
        O::I8x16ExtractLaneS { lane } => extract(st, b, I8X16, lane, Some(true)),
        O::I8x16ExtractLaneU { lane } => extract(st, b, I8X16, lane, Some(false)),
        O::I16x8ExtractLaneS { lane } => extract(st, b, I16X8, lane, Some(true)),
        O::I16x8ExtractLaneU { lane } => extract(st, b, I16X8, lane, Some(false)),
        O::I32x4ExtractLane { lane } => extract(st, b, I32X4, lane, None),
        O::I64x2ExtractLane { lane } => extract(st, b, I64X2, lane, None),
        O::F32x4ExtractLane { lane } => extract(st, b, F32X4, lane, None),
        O::F64x2ExtractLane { lane } => extract(st, b, F64X2, lane, None),
        O::I8x16ReplaceLane { lane } => replace(st, b, I8X16, lane),
        O::I16x8ReplaceLane { lane } => replace(st, b, I16X8, lane),
        O::I32x4ReplaceLane { lane } => replace(st, b, I32X4, lane),
        O::I64x2ReplaceLane { lane } => replace(st, b, I64X2, lane),
        O::F32x4ReplaceLane { lane } => replace(st, b, F32X4, lane),
        O::F64x2ReplaceLane { lane } => replace(st, b, F64X2, lane),
        O::I8x16Swizzle => vbin!(st, b, I8X16, swizzle),
        O::I8x16Splat => splat(st, b, I8X16),
        O::I16x8Splat => splat(st, b, I16X8),
        O::I32x4Splat => splat(st, b, I32X4),
        O::I64x2Splat => splat(st, b, I64X2),
        O::F32x4Splat => splat(st, b, F32X4),
        O::F64x2Splat => splat(st, b, F64X2),
        O::I8x16Eq => vicmp(st, b, I8X16, IntCC::Equal),
        O::I8x16Ne => vicmp(st, b, I8X16, IntCC::NotEqual),
        O::I8x16LtS => vicmp(st, b, I8X16, IntCC::SignedLessThan),
        O::I8x16LtU => vicmp(st, b, I8X16, IntCC::UnsignedLessThan),
        O::I8x16GtS => vicmp(st, b, I8X16, IntCC::SignedGreaterThan),
        O::I8x16GtU => vicmp(st, b, I8X16, IntCC::UnsignedGreaterThan),
        O::I8x16LeS => vicmp(st, b, I8X16, IntCC::SignedLessThanOrEqual),
        O::I8x16LeU => vicmp(st, b, I8X16, IntCC::UnsignedLessThanOrEqual),
        O::I8x16GeS => vicmp(st, b, I8X16, IntCC::SignedGreaterThanOrEqual),
        O::I8x16GeU => vicmp(st, b, I8X16, IntCC::UnsignedGreaterThanOrEqual),
        O::I16x8Eq => vicmp(st, b, I16X8, IntCC::Equal),
        O::I16x8Ne => vicmp(st, b, I16X8, IntCC::NotEqual),
        O::I16x8LtS => vicmp(st, b, I16X8, IntCC::SignedLessThan),
        O::I16x8LtU => vicmp(st, b, I16X8, IntCC::UnsignedLessThan),
        O::I16x8GtS => vicmp(st, b, I16X8, IntCC::SignedGreaterThan),
        O::I16x8GtU => vicmp(st, b, I16X8, IntCC::UnsignedGreaterThan),
        O::I16x8LeS => vicmp(st, b, I16X8, IntCC::SignedLessThanOrEqual),
        O::I16x8LeU => vicmp(st, b, I16X8, IntCC::UnsignedLessThanOrEqual),
        O::I16x8GeS => vicmp(st, b, I16X8, IntCC::SignedGreaterThanOrEqual),
        O::I16x8GeU => vicmp(st, b, I16X8, IntCC::UnsignedGreaterThanOrEqual),
        O::I32x4Eq => vicmp(st, b, I32X4, IntCC::Equal),
        O::I32x4Ne => vicmp(st, b, I32X4, IntCC::NotEqual),
        O::I32x4LtS => vicmp(st, b, I32X4, IntCC::SignedLessThan),
        O::I32x4LtU => vicmp(st, b, I32X4, IntCC::UnsignedLessThan),
        O::I32x4GtS => vicmp(st, b, I32X4, IntCC::SignedGreaterThan),
        O::I32x4GtU => vicmp(st, b, I32X4, IntCC::UnsignedGreaterThan),
        O::I32x4LeS => vicmp(st, b, I32X4, IntCC::SignedLessThanOrEqual),
        O::I32x4LeU => vicmp(st, b, I32X4, IntCC::UnsignedLessThanOrEqual),
        O::I32x4GeS => vicmp(st, b, I32X4, IntCC::SignedGreaterThanOrEqual),
        O::I32x4GeU => vicmp(st, b, I32X4, IntCC::UnsignedGreaterThanOrEqual),
        O::I64x2Eq => vicmp(st, b, I64X2, IntCC::Equal),
        O::I64x2Ne => vicmp(st, b, I64X2, IntCC::NotEqual),
        O::I64x2LtS => vicmp(st, b, I64X2, IntCC::SignedLessThan),
        O::I64x2GtS => vicmp(st, b, I64X2, IntCC::SignedGreaterThan),
        O::I64x2LeS => vicmp(st, b, I64X2, IntCC::SignedLessThanOrEqual),
        O::I64x2GeS => vicmp(st, b, I64X2, IntCC::SignedGreaterThanOrEqual),
        O::F32x4Eq => vfcmp(st, b, F32X4, FloatCC::Equal),
        O::F32x4Ne => vfcmp(st, b, F32X4, FloatCC::NotEqual),
        O::F32x4Lt => vfcmp(st, b, F32X4, FloatCC::LessThan),
        O::F32x4Gt => vfcmp(st, b, F32X4, FloatCC::GreaterThan),
        O::F32x4Le => vfcmp(st, b, F32X4, FloatCC::LessThanOrEqual),
        O::F32x4Ge => vfcmp(st, b, F32X4, FloatCC::GreaterThanOrEqual),
        O::F64x2Eq => vfcmp(st, b, F64X2, FloatCC::Equal),
        O::F64x2Ne => vfcmp(st, b, F64X2, FloatCC::NotEqual),
        O::F64x2Lt => vfcmp(st, b, F64X2, FloatCC::LessThan),
        O::F64x2Gt => vfcmp(st, b, F64X2, FloatCC::GreaterThan),
        O::F64x2Le => vfcmp(st, b, F64X2, FloatCC::LessThanOrEqual),
        O::F64x2Ge => vfcmp(st, b, F64X2, FloatCC::GreaterThanOrEqual),
        O::V128Not => vun!(st, b, I8X16, bnot),
        O::V128And => vbin!(st, b, I8X16, band),
        O::V128AndNot => {
            let (x, y) = pop2_as(st, b, I8X16);
            let ny = b.ins().bnot(y);
            let v = b.ins().band(x, ny);
            st.push(v);
        }
        O::V128Or => vbin!(st, b, I8X16, bor),
        O::V128Xor => vbin!(st, b, I8X16, bxor),
        O::V128Bitselect => {
            let (x, y, c) = st.pop3();
            let v = b.ins().bitselect(c, x, y);
            st.push(v);
        }
        O::V128AnyTrue => {
            let x = st.pop();
            let c = b.ins().vany_true(x);
            let v = b.ins().uextend(I32, c);
            st.push(v);
        }
        O::I8x16AllTrue | O::I16x8AllTrue | O::I32x4AllTrue | O::I64x2AllTrue => {
            let ty = match *op {
                O::I8x16AllTrue => I8X16,
                O::I16x8AllTrue => I16X8,
                O::I32x4AllTrue => I32X4,
                _ => I64X2,
            };
            let x = pop_as(st, b, ty);
            let c = b.ins().vall_true(x);
            let v = b.ins().uextend(I32, c);
            st.push(v);
        }
        O::I8x16Bitmask | O::I16x8Bitmask | O::I32x4Bitmask | O::I64x2Bitmask => {
            let ty = match *op {
                O::I8x16Bitmask => I8X16,
                O::I16x8Bitmask => I16X8,
                O::I32x4Bitmask => I32X4,
                _ => I64X2,
            };
            let x = pop_as(st, b, ty);
            let v = b.ins().vhigh_bits(I32, x);
            st.push(v);
        }
        O::I8x16Abs => vun!(st, b, I8X16, iabs),
        O::I16x8Abs => vun!(st, b, I16X8, iabs),
        O::I32x4Abs => vun!(st, b, I32X4, iabs),
        O::I64x2Abs => vun!(st, b, I64X2, iabs),
        O::I8x16Neg => vun!(st, b, I8X16, ineg),
        O::I16x8Neg => vun!(st, b, I16X8, ineg),
        O::I32x4Neg => vun!(st, b, I32X4, ineg),
        O::I64x2Neg => vun!(st, b, I64X2, ineg),
        O::I8x16Popcnt => vun!(st, b, I8X16, popcnt),
        O::I8x16NarrowI16x8S => vbin!(st, b, I16X8, snarrow),
        O::I8x16NarrowI16x8U => vbin!(st, b, I16X8, unarrow),
        O::I16x8NarrowI32x4S => vbin!(st, b, I32X4, snarrow),
        O::I16x8NarrowI32x4U => vbin!(st, b, I32X4, unarrow),
        O::I8x16Shl => vshift(st, b, I8X16, |b, x, a| b.ins().ishl(x, a)),
        O::I16x8Shl => vshift(st, b, I16X8, |b, x, a| b.ins().ishl(x, a)),
        O::I32x4Shl => vshift(st, b, I32X4, |b, x, a| b.ins().ishl(x, a)),
        O::I64x2Shl => vshift(st, b, I64X2, |b, x, a| b.ins().ishl(x, a)),
        O::I8x16ShrS => vshift(st, b, I8X16, |b, x, a| b.ins().sshr(x, a)),
        O::I16x8ShrS => vshift(st, b, I16X8, |b, x, a| b.ins().sshr(x, a)),
        O::I32x4ShrS => vshift(st, b, I32X4, |b, x, a| b.ins().sshr(x, a)),
        O::I64x2ShrS => vshift(st, b, I64X2, |b, x, a| b.ins().sshr(x, a)),
        O::I8x16ShrU => vshift(st, b, I8X16, |b, x, a| b.ins().ushr(x, a)),
        O::I16x8ShrU => vshift(st, b, I16X8, |b, x, a| b.ins().ushr(x, a)),
        O::I32x4ShrU => vshift(st, b, I32X4, |b, x, a| b.ins().ushr(x, a)),
        O::I64x2ShrU => vshift(st, b, I64X2, |b, x, a| b.ins().ushr(x, a)),
        O::I8x16Add => vbin!(st, b, I8X16, iadd),
        O::I16x8Add => vbin!(st, b, I16X8, iadd),
        O::I32x4Add => vbin!(st, b, I32X4, iadd),
        O::I64x2Add => vbin!(st, b, I64X2, iadd),
        O::I8x16Sub => vbin!(st, b, I8X16, isub),
        O::I16x8Sub => vbin!(st, b, I16X8, isub),
        O::I32x4Sub => vbin!(st, b, I32X4, isub),
        O::I64x2Sub => vbin!(st, b, I64X2, isub),
        O::I16x8Mul => vbin!(st, b, I16X8, imul),
        O::I32x4Mul => vbin!(st, b, I32X4, imul),
        O::I64x2Mul => vbin!(st, b, I64X2, imul),
        O::I8x16AddSatS => vbin!(st, b, I8X16, sadd_sat),
        O::I8x16AddSatU => vbin!(st, b, I8X16, uadd_sat),
        O::I16x8AddSatS => vbin!(st, b, I16X8, sadd_sat),
        O::I16x8AddSatU => vbin!(st, b, I16X8, uadd_sat),
        O::I8x16SubSatS => vbin!(st, b, I8X16, ssub_sat),
        O::I8x16SubSatU => vbin!(st, b, I8X16, usub_sat),
        O::I16x8SubSatS => vbin!(st, b, I16X8, ssub_sat),
        O::I16x8SubSatU => vbin!(st, b, I16X8, usub_sat),
        O::I8x16MinS => vbin!(st, b, I8X16, smin),
        O::I8x16MinU => vbin!(st, b, I8X16, umin),
        O::I8x16MaxS => vbin!(st, b, I8X16, smax),
        O::I8x16MaxU => vbin!(st, b, I8X16, umax),
        O::I16x8MinS => vbin!(st, b, I16X8, smin),
        O::I16x8MinU => vbin!(st, b, I16X8, umin),
        O::I16x8MaxS => vbin!(st, b, I16X8, smax),
        O::I16x8MaxU => vbin!(st, b, I16X8, umax),
        O::I32x4MinS => vbin!(st, b, I32X4, smin),
        O::I32x4MinU => vbin!(st, b, I32X4, umin),
        O::I32x4MaxS => vbin!(st, b, I32X4, smax),
        O::I32x4MaxU => vbin!(st, b, I32X4, umax),
        O::I8x16AvgrU => vbin!(st, b, I8X16, avg_round),
        O::I16x8AvgrU => vbin!(st, b, I16X8, avg_round),
        O::I16x8Q15MulrSatS => vbin!(st, b, I16X8, sqmul_round_sat),
        O::I16x8ExtAddPairwiseI8x16S => ext_add_pairwise(st, b, I8X16, true),
        O::I16x8ExtAddPairwiseI8x16U => ext_add_pairwise(st, b, I8X16, false),
        O::I32x4ExtAddPairwiseI16x8S => ext_add_pairwise(st, b, I16X8, true),
        O::I32x4ExtAddPairwiseI16x8U => ext_add_pairwise(st, b, I16X8, false),
        O::I16x8ExtendLowI8x16S => widen(st, b, I8X16, true, false),
        O::I16x8ExtendHighI8x16S => widen(st, b, I8X16, true, true),
        O::I16x8ExtendLowI8x16U => widen(st, b, I8X16, false, false),
        O::I16x8ExtendHighI8x16U => widen(st, b, I8X16, false, true),
        O::I32x4ExtendLowI16x8S => widen(st, b, I16X8, true, false),
        O::I32x4ExtendHighI16x8S => widen(st, b, I16X8, true, true),
        O::I32x4ExtendLowI16x8U => widen(st, b, I16X8, false, false),
        O::I32x4ExtendHighI16x8U => widen(st, b, I16X8, false, true),
        O::I64x2ExtendLowI32x4S => widen(st, b, I32X4, true, false),
        O::I64x2ExtendHighI32x4S => widen(st, b, I32X4, true, true),
        O::I64x2ExtendLowI32x4U => widen(st, b, I32X4, false, false),
        O::I64x2ExtendHighI32x4U => widen(st, b, I32X4, false, true),
        O::I16x8ExtMulLowI8x16S => extmul(st, b, I8X16, true, false),
        O::I16x8ExtMulHighI8x16S => extmul(st, b, I8X16, true, true),
        O::I16x8ExtMulLowI8x16U => extmul(st, b, I8X16, false, false),
        O::I16x8ExtMulHighI8x16U => extmul(st, b, I8X16, false, true),
        O::I32x4ExtMulLowI16x8S => extmul(st, b, I16X8, true, false),
        O::I32x4ExtMulHighI16x8S => extmul(st, b, I16X8, true, true),
        O::I32x4ExtMulLowI16x8U => extmul(st, b, I16X8, false, false),
        O::I32x4ExtMulHighI16x8U => extmul(st, b, I16X8, false, true),
        O::I64x2ExtMulLowI32x4S => extmul(st, b, I32X4, true, false),
        O::I64x2ExtMulHighI32x4S => extmul(st, b, I32X4, true, true),
        O::I64x2ExtMulLowI32x4U => extmul(st, b, I32X4, false, false),
        O::I64x2ExtMulHighI32x4U => extmul(st, b, I32X4, false, true),
        O::I32x4DotI16x8S => {
            let (x, y) = pop2_as(st, b, I16X8);
            let (xl, yl) = (b.ins().swiden_low(x), b.ins().swiden_low(y));
            let (xh, yh) = (b.ins().swiden_high(x), b.ins().swiden_high(y));
            let lo = b.ins().imul(xl, yl);
            let hi = b.ins().imul(xh, yh);
            let v = b.ins().iadd_pairwise(lo, hi);
            push_v(st, b, v);
        }
        O::F32x4Ceil => vun!(st, b, F32X4, ceil),
        O::F32x4Floor => vun!(st, b, F32X4, floor),
        O::F32x4Trunc => vun!(st, b, F32X4, trunc),
        O::F32x4Nearest => vun!(st, b, F32X4, nearest),
        O::F32x4Abs => vun!(st, b, F32X4, fabs),
        O::F32x4Neg => vun!(st, b, F32X4, fneg),
        O::F32x4Sqrt => vun!(st, b, F32X4, sqrt),
        O::F32x4Add => vbin!(st, b, F32X4, fadd),
        O::F32x4Sub => vbin!(st, b, F32X4, fsub),
        O::F32x4Mul => vbin!(st, b, F32X4, fmul),
        O::F32x4Div => vbin!(st, b, F32X4, fdiv),
        O::F32x4Min => vbin!(st, b, F32X4, fmin),
        O::F32x4Max => vbin!(st, b, F32X4, fmax),
        O::F32x4PMin => pminmax(st, b, F32X4, false),
        O::F32x4PMax => pminmax(st, b, F32X4, true),
        O::F64x2Ceil => vun!(st, b, F64X2, ceil),
        O::F64x2Floor => vun!(st, b, F64X2, floor),
        O::F64x2Trunc => vun!(st, b, F64X2, trunc),
        O::F64x2Nearest => vun!(st, b, F64X2, nearest),
        O::F64x2Abs => vun!(st, b, F64X2, fabs),
        O::F64x2Neg => vun!(st, b, F64X2, fneg),
        O::F64x2Sqrt => vun!(st, b, F64X2, sqrt),
        O::F64x2Add => vbin!(st, b, F64X2, fadd),
        O::F64x2Sub => vbin!(st, b, F64X2, fsub),
        O::F64x2Mul => vbin!(st, b, F64X2, fmul),
        O::F64x2Div => vbin!(st, b, F64X2, fdiv),
        O::F64x2Min => vbin!(st, b, F64X2, fmin),
        O::F64x2Max => vbin!(st, b, F64X2, fmax),
        O::F64x2PMin => pminmax(st, b, F64X2, false),
        O::F64x2PMax => pminmax(st, b, F64X2, true),
        O::I32x4TruncSatF32x4S => {
            let x = pop_as(st, b, F32X4);
            let v = b.ins().fcvt_to_sint_sat(I32X4, x);
            push_v(st, b, v);
        }
        O::I32x4TruncSatF32x4U => {
            let x = pop_as(st, b, F32X4);
            let v = b.ins().fcvt_to_uint_sat(I32X4, x);
            push_v(st, b, v);
        }
        O::F32x4ConvertI32x4S => {
            let x = pop_as(st, b, I32X4);
            let v = b.ins().fcvt_from_sint(F32X4, x);
            push_v(st, b, v);
        }
        O::F32x4ConvertI32x4U => {
            let x = pop_as(st, b, I32X4);
            let v = b.ins().fcvt_from_uint(F32X4, x);
            push_v(st, b, v);
        }
        O::I32x4TruncSatF64x2SZero | O::I32x4TruncSatF64x2UZero => {
            let signed = matches!(*op, O::I32x4TruncSatF64x2SZero);
            let x = pop_as(st, b, F64X2);
            let z = zeros(b, I64X2);
            let v = if signed {
                let w = b.ins().fcvt_to_sint_sat(I64X2, x);
                b.ins().snarrow(w, z)
            } else {
                let w = b.ins().fcvt_to_uint_sat(I64X2, x);
                b.ins().uunarrow(w, z)
            };
            push_v(st, b, v);
        }
        O::F64x2ConvertLowI32x4S | O::F64x2ConvertLowI32x4U => {
            let x = pop_as(st, b, I32X4);
            let v = if matches!(*op, O::F64x2ConvertLowI32x4S) {
                let w = b.ins().swiden_low(x);
                b.ins().fcvt_from_sint(F64X2, w)
            } else {
                let w = b.ins().uwiden_low(x);
                b.ins().fcvt_from_uint(F64X2, w)
            };
            push_v(st, b, v);
        }
        O::F32x4DemoteF64x2Zero => vun!(st, b, F64X2, fvdemote),
        O::F64x2PromoteLowF32x4 => vun!(st, b, F32X4, fvpromote_low),
        ref other => {
            let name = format!("{other:?}");
            let name = name.split([' ', '{']).next().unwrap_or("").to_string();
            return Err(WasmError::unsupported(offset, format!("operator {name}")));
        }
    }
    Ok(())
}

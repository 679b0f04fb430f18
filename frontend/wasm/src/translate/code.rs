//! Numeric operators: constants, integer and float arithmetic, comparisons, conversions.
//!
//! Each maps to one IR instruction or a short fixed sequence with the same semantics:
//! comparisons produce `i8` in IR and are widened to Wasm's `i32`; the trapping division,
//! remainder and float-to-int conversions rely on the IR opcodes' own traps (whose codes
//! are Wasm's: divide by zero, integer overflow, bad conversion); `i32.rem_s` of the
//! minimum by -1 is 0 as in IR.

use super::State;
use kiln_frontend::FunctionBuilder;
use kiln_ir::condcodes::{FloatCC, IntCC};
use kiln_ir::immediates::{Ieee32, Ieee64};
use kiln_ir::types::{self, Type};
use kiln_ir::{InstBuilder, Value};
use wasmparser::Operator;

/// `x == 0` as an `i32`.
pub(crate) fn eqz(b: &mut FunctionBuilder, x: Value) -> Value {
    let ty = b.func.dfg.value_type(x);
    let z = b.ins().iconst(ty, 0);
    let c = b.ins().icmp(IntCC::Equal, x, z);
    b.ins().uextend(types::I32, c)
}

fn icmp(st: &mut State, b: &mut FunctionBuilder, cc: IntCC) {
    let (x, y) = st.pop2();
    let c = b.ins().icmp(cc, x, y);
    let v = b.ins().uextend(types::I32, c);
    st.push(v);
}

fn fcmp(st: &mut State, b: &mut FunctionBuilder, cc: FloatCC) {
    let (x, y) = st.pop2();
    let c = b.ins().fcmp(cc, x, y);
    let v = b.ins().uextend(types::I32, c);
    st.push(v);
}

macro_rules! binop {
    ($st:ident, $b:ident, $m:ident) => {{
        let (x, y) = $st.pop2();
        let v = $b.ins().$m(x, y);
        $st.push(v);
    }};
}

macro_rules! unop {
    ($st:ident, $b:ident, $m:ident) => {{
        let x = $st.pop();
        let v = $b.ins().$m(x);
        $st.push(v);
    }};
}

macro_rules! convop {
    ($st:ident, $b:ident, $m:ident, $ty:expr) => {{
        let x = $st.pop();
        let v = $b.ins().$m($ty, x);
        $st.push(v);
    }};
}

/// `x` sign-extended from its low `from` bits, within its own type.
fn sext_within(st: &mut State, b: &mut FunctionBuilder, ty: Type, from: Type) {
    let x = st.pop();
    let r = b.ins().ireduce(from, x);
    let v = b.ins().sextend(ty, r);
    st.push(v);
}

/// Translate a numeric operator; `false` if `op` is not one.
pub(super) fn translate_numeric(st: &mut State, b: &mut FunctionBuilder, op: &Operator) -> bool {
    use Operator as O;
    use types::{F32, F64, I32, I64};
    match *op {
        O::I32Const { value } => {
            let v = b.ins().iconst(I32, value as i64);
            st.push(v);
        }
        O::I64Const { value } => {
            let v = b.ins().iconst(I64, value);
            st.push(v);
        }
        O::F32Const { value } => {
            let v = b.ins().f32const(Ieee32(value.bits()));
            st.push(v);
        }
        O::F64Const { value } => {
            let v = b.ins().f64const(Ieee64(value.bits()));
            st.push(v);
        }
        O::I32Eqz | O::I64Eqz => {
            let x = st.pop();
            let v = eqz(b, x);
            st.push(v);
        }
        O::I32Eq | O::I64Eq => icmp(st, b, IntCC::Equal),
        O::I32Ne | O::I64Ne => icmp(st, b, IntCC::NotEqual),
        O::I32LtS | O::I64LtS => icmp(st, b, IntCC::SignedLessThan),
        O::I32LtU | O::I64LtU => icmp(st, b, IntCC::UnsignedLessThan),
        O::I32GtS | O::I64GtS => icmp(st, b, IntCC::SignedGreaterThan),
        O::I32GtU | O::I64GtU => icmp(st, b, IntCC::UnsignedGreaterThan),
        O::I32LeS | O::I64LeS => icmp(st, b, IntCC::SignedLessThanOrEqual),
        O::I32LeU | O::I64LeU => icmp(st, b, IntCC::UnsignedLessThanOrEqual),
        O::I32GeS | O::I64GeS => icmp(st, b, IntCC::SignedGreaterThanOrEqual),
        O::I32GeU | O::I64GeU => icmp(st, b, IntCC::UnsignedGreaterThanOrEqual),
        O::F32Eq | O::F64Eq => fcmp(st, b, FloatCC::Equal),
        O::F32Ne | O::F64Ne => fcmp(st, b, FloatCC::NotEqual),
        O::F32Lt | O::F64Lt => fcmp(st, b, FloatCC::LessThan),
        O::F32Gt | O::F64Gt => fcmp(st, b, FloatCC::GreaterThan),
        O::F32Le | O::F64Le => fcmp(st, b, FloatCC::LessThanOrEqual),
        O::F32Ge | O::F64Ge => fcmp(st, b, FloatCC::GreaterThanOrEqual),
        O::I32Clz | O::I64Clz => unop!(st, b, clz),
        O::I32Ctz | O::I64Ctz => unop!(st, b, ctz),
        O::I32Popcnt | O::I64Popcnt => unop!(st, b, popcnt),
        O::I32Add | O::I64Add => binop!(st, b, iadd),
        O::I32Sub | O::I64Sub => binop!(st, b, isub),
        O::I32Mul | O::I64Mul => binop!(st, b, imul),
        O::I32DivS | O::I64DivS => binop!(st, b, sdiv),
        O::I32DivU | O::I64DivU => binop!(st, b, udiv),
        O::I32RemS | O::I64RemS => binop!(st, b, srem),
        O::I32RemU | O::I64RemU => binop!(st, b, urem),
        O::I32And | O::I64And => binop!(st, b, band),
        O::I32Or | O::I64Or => binop!(st, b, bor),
        O::I32Xor | O::I64Xor => binop!(st, b, bxor),
        O::I32Shl | O::I64Shl => binop!(st, b, ishl),
        O::I32ShrS | O::I64ShrS => binop!(st, b, sshr),
        O::I32ShrU | O::I64ShrU => binop!(st, b, ushr),
        O::I32Rotl | O::I64Rotl => binop!(st, b, rotl),
        O::I32Rotr | O::I64Rotr => binop!(st, b, rotr),
        O::F32Abs | O::F64Abs => unop!(st, b, fabs),
        O::F32Neg | O::F64Neg => unop!(st, b, fneg),
        O::F32Ceil | O::F64Ceil => unop!(st, b, ceil),
        O::F32Floor | O::F64Floor => unop!(st, b, floor),
        O::F32Trunc | O::F64Trunc => unop!(st, b, trunc),
        O::F32Nearest | O::F64Nearest => unop!(st, b, nearest),
        O::F32Sqrt | O::F64Sqrt => unop!(st, b, sqrt),
        O::F32Add | O::F64Add => binop!(st, b, fadd),
        O::F32Sub | O::F64Sub => binop!(st, b, fsub),
        O::F32Mul | O::F64Mul => binop!(st, b, fmul),
        O::F32Div | O::F64Div => binop!(st, b, fdiv),
        O::F32Min | O::F64Min => binop!(st, b, fmin),
        O::F32Max | O::F64Max => binop!(st, b, fmax),
        O::F32Copysign | O::F64Copysign => binop!(st, b, fcopysign),
        O::I32WrapI64 => convop!(st, b, ireduce, I32),
        O::I64ExtendI32S => convop!(st, b, sextend, I64),
        O::I64ExtendI32U => convop!(st, b, uextend, I64),
        O::I32TruncF32S | O::I32TruncF64S => convop!(st, b, fcvt_to_sint, I32),
        O::I32TruncF32U | O::I32TruncF64U => convop!(st, b, fcvt_to_uint, I32),
        O::I64TruncF32S | O::I64TruncF64S => convop!(st, b, fcvt_to_sint, I64),
        O::I64TruncF32U | O::I64TruncF64U => convop!(st, b, fcvt_to_uint, I64),
        O::I32TruncSatF32S | O::I32TruncSatF64S => convop!(st, b, fcvt_to_sint_sat, I32),
        O::I32TruncSatF32U | O::I32TruncSatF64U => convop!(st, b, fcvt_to_uint_sat, I32),
        O::I64TruncSatF32S | O::I64TruncSatF64S => convop!(st, b, fcvt_to_sint_sat, I64),
        O::I64TruncSatF32U | O::I64TruncSatF64U => convop!(st, b, fcvt_to_uint_sat, I64),
        O::F32ConvertI32S | O::F32ConvertI64S => convop!(st, b, fcvt_from_sint, F32),
        O::F32ConvertI32U | O::F32ConvertI64U => convop!(st, b, fcvt_from_uint, F32),
        O::F64ConvertI32S | O::F64ConvertI64S => convop!(st, b, fcvt_from_sint, F64),
        O::F64ConvertI32U | O::F64ConvertI64U => convop!(st, b, fcvt_from_uint, F64),
        O::F32DemoteF64 => convop!(st, b, fdemote, F32),
        O::F64PromoteF32 => convop!(st, b, fpromote, F64),
        O::I32ReinterpretF32 => bitcast(st, b, I32),
        O::I64ReinterpretF64 => bitcast(st, b, I64),
        O::F32ReinterpretI32 => bitcast(st, b, F32),
        O::F64ReinterpretI64 => bitcast(st, b, F64),
        O::I32Extend8S => sext_within(st, b, I32, types::I8),
        O::I32Extend16S => sext_within(st, b, I32, types::I16),
        O::I64Extend8S => sext_within(st, b, I64, types::I8),
        O::I64Extend16S => sext_within(st, b, I64, types::I16),
        O::I64Extend32S => sext_within(st, b, I64, I32),
        _ => return false,
    }
    true
}

fn bitcast(st: &mut State, b: &mut FunctionBuilder, ty: Type) {
    let x = st.pop();
    let v = b.ins().bitcast(ty, kiln_ir::memflags::MemFlags::new(), x);
    st.push(v);
}

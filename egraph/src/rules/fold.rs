//! Constant folding: one rule per pure opcode. When every operand of a node is a constant,
//! the node is evaluated by the reference interpreter (`kiln_ir::interp::eval_pure`) — the
//! definition of the opcode — and replaced by a constant of the result. Floats therefore
//! fold exactly as the interpreter computes them (including its canonical NaNs).
//!
//! Results become `iconst` (`i8`…`i64`), `iconcat` of two `i64` constants (`i128`),
//! `f16const`/`f32const`/`f64const`, or pool constants (`f128const`, `vconst`). Operations
//! with two results (`isplit`, the overflow arithmetic) stay in the skeleton and are folded
//! there, each result becoming a constant.

use kiln_ir::Opcode;
use kiln_ir::opcodes::InstructionFormat;

/// May nodes of `op` be folded? (Pure operations with operands, plus divisions and
/// remainders, which are nodes only when their divisor is a constant that cannot trap.)
pub(crate) fn foldable(op: Opcode) -> bool {
    use Opcode::*;
    match op {
        Udiv | Sdiv | Urem | Srem => true,
        FuncAddr
        | StackAddr
        | DynamicStackAddr
        | SymbolValue
        | TlsValue
        | GetFramePointer
        | GetStackPointer
        | GetReturnAddress
        | GetExceptionHandlerAddress
        | Nop
        | SelectSpectreGuard
        | Iconst
        | F16const
        | F32const
        | F64const
        | F128const
        | Vconst
        | ExtractVector => false,
        _ => {
            op.is_pure()
                && !op.info().results.is_empty()
                && !matches!(
                    op.format(),
                    InstructionFormat::NullAry | InstructionFormat::MultiAry | InstructionFormat::UnaryGlobalValue
                )
        }
    }
}

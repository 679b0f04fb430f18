//! Lowering of vector (NEON) operations on the 64-bit and 128-bit vector types.

use crate::aarch64::inst::*;
use crate::aarch64::lower::{A64Lower, Ctx, unsupported_op};
use kiln_codegen::CodegenResult;
use kiln_ir::types::Type;
use kiln_ir::{Inst as IrInst, Opcode};

/// Does the vector lowering handle `inst` (a vector-typed result or operand, or a
/// vector-only opcode)?
pub(crate) fn handles(ctx: Ctx, inst: IrInst, op: Opcode, ty: Type) -> bool {
    let _ = op;
    ty.is_vector() || ctx.inputs(inst).first().is_some_and(|&a| ctx.value_ty(a).is_vector())
}

/// Lower a vector instruction.
pub(crate) fn lower(_l: &A64Lower, _ctx: Ctx, _inst: IrInst, op: Opcode, ty: Type) -> CodegenResult<()> {
    let _ = Inst::Isb;
    Err(unsupported_op(op, ty))
}

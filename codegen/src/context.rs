//! `Context`: compiles one function at a time, reusing its memory across functions.

use crate::isa::TargetIsa;
use crate::machinst::blockorder::BlockLoweringOrder;
use crate::result::{CodegenError, CodegenResult, CompiledCode};
use kiln_ir::Function;
use kiln_ir::analysis::cfg::ControlFlowGraph;
use kiln_ir::analysis::domtree::DominatorTree;
use kiln_ir::settings::OptLevel;
use kiln_ir::verifier::{VerifierContext, verify_function_with};

/// Memory reused between compilations by the backend.
#[derive(Default)]
pub struct CompileScratch {
    /// The register allocator's context.
    pub regalloc: regalloc2::Ctx,
    /// The block lowering order.
    pub block_order: BlockLoweringOrder,
}

/// The compilation context: the function being compiled and the state of the pipeline.
/// Reuse one `Context` for many functions (`clear`, then set `func`): its allocations
/// are kept.
#[derive(Default)]
pub struct Context {
    /// The function to compile.
    pub func: Function,
    /// Keep the VCode listing in the result.
    pub want_vcode: bool,
    /// Disassemble the code into [`CompiledCode::disasm`] (needs a build with a
    /// disassembler: kiln-isa's `disas` feature; otherwise the field stays `None`).
    pub want_disasm: bool,
    cfg: ControlFlowGraph,
    domtree: DominatorTree,
    scratch: CompileScratch,
    opt: kiln_egraph::OptContext,
    compiled: Option<CompiledCode>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// A context holding `func`.
    pub fn for_function(func: Function) -> Self {
        Context { func, ..Self::default() }
    }

    /// Forget the function and result, keeping allocations.
    pub fn clear(&mut self) {
        self.func.clear();
        self.compiled = None;
    }

    /// Verify the function for `isa`.
    pub fn verify(&mut self, isa: &dyn TargetIsa) -> CodegenResult<()> {
        self.cfg.compute(&self.func);
        self.domtree.compute(&self.func, &self.cfg);
        let spec = isa.target_spec();
        let vctx = VerifierContext { flags: isa.flags(), target: Some(&spec) };
        verify_function_with(&self.func, &vctx, &self.cfg, &self.domtree).map_err(CodegenError::Verifier)
    }

    /// Compile the function for `isa`: verify (if `enable_verifier`), optimize (at
    /// `opt_level=none` only unreachable-code and constant block-parameter removal, as
    /// Cranelift does), lower, allocate registers and emit.
    pub fn compile(&mut self, isa: &dyn TargetIsa) -> CodegenResult<&CompiledCode> {
        if isa.flags().enable_verifier() != 0 {
            self.verify(isa)?;
        }
        let spec = isa.target_spec();
        let opt = if isa.flags().opt() != OptLevel::None { kiln_egraph::optimize } else { kiln_egraph::simplify };
        opt(&mut self.func, &mut self.opt, isa.flags(), Some(&spec)).map_err(|e| CodegenError::Other(e.to_string()))?;
        let domtree = self.opt.analyses(&self.func).1;
        let mut code = isa.compile_function(&self.func, domtree, self.want_vcode, &mut self.scratch)?;
        if self.want_disasm {
            code.disasm = isa.disassemble(&code).map(|r| r.unwrap_or_else(|e| format!("; no disassembly: {e}\n")));
        }
        self.compiled = Some(code);
        Ok(self.compiled.as_ref().expect("just set"))
    }

    /// The result of the last successful `compile`.
    pub fn compiled_code(&self) -> Option<&CompiledCode> {
        self.compiled.as_ref()
    }

    /// Take the result of the last successful `compile`.
    pub fn take_compiled_code(&mut self) -> Option<CompiledCode> {
        self.compiled.take()
    }
}

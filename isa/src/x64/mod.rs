//! The x86-64 target: `TargetIsa` for x86-64, built from the files of this folder —
//! `settings.rs` (ISA flags), `regs.rs` (registers), `inst.rs` (instructions), `lower.rs` (IR → instructions),
//! `abi.rs` (calling conventions), `emit.rs` (encoding), `print.rs` (AT&T syntax).

pub mod abi;
pub mod emit;
pub mod inst;
pub mod lower;
pub mod print;
pub mod regs;
pub mod settings;

use crate::x64::emit::EmitInfo;
use crate::x64::lower::X64Backend;
use kiln_codegen::context::CompileScratch;
use kiln_codegen::machinst::compile::compile;
use kiln_codegen::{CodegenResult, CompiledCode, TargetIsa};
use kiln_ir::Function;
use kiln_ir::analysis::domtree::DominatorTree;
use kiln_ir::settings::{Flags, IsaFlags};
use kiln_ir::signature::CallConv;
use target_lexicon::Triple;

/// The x86-64 target with its flags.
pub struct X64Isa {
    triple: Triple,
    flags: Flags,
    isa_flags: IsaFlags,
    backend: X64Backend,
    emit_info: EmitInfo,
}

impl X64Isa {
    /// A target for `triple` with these flags.
    pub fn new(triple: Triple, flags: Flags, isa_flags: IsaFlags) -> Self {
        X64Isa {
            backend: X64Backend::new(flags.clone(), &isa_flags, triple.clone()),
            emit_info: EmitInfo::new(flags.clone(), isa_flags),
            triple,
            flags,
            isa_flags,
        }
    }
}

impl TargetIsa for X64Isa {
    fn name(&self) -> &'static str {
        "x64"
    }

    fn triple(&self) -> &Triple {
        &self.triple
    }

    fn flags(&self) -> &Flags {
        &self.flags
    }

    fn isa_flags(&self) -> &IsaFlags {
        &self.isa_flags
    }

    fn default_call_conv(&self) -> CallConv {
        crate::x64::abi::default_call_conv(&self.triple)
    }

    fn compile_function(
        &self,
        func: &Function,
        domtree: &DominatorTree,
        want_vcode: bool,
        scratch: &mut CompileScratch,
    ) -> CodegenResult<CompiledCode> {
        compile(func, domtree, &self.backend, &self.emit_info, want_vcode, self.function_alignment(), scratch)
    }

    fn function_alignment(&self) -> u32 {
        16.max(1 << self.flags.log2_min_function_alignment().min(12))
    }

    #[cfg(feature = "disas")]
    fn disassemble(&self, code: &CompiledCode) -> Option<Result<String, String>> {
        Some(crate::disasm::disassemble(
            kiln_ir::settings::Arch::X86_64,
            code.code(),
            code.buffer.code_size as usize,
            &code.buffer.inline_data,
        ))
    }
}

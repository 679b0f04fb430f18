//! The aarch64 target: `TargetIsa` for aarch64, built from the files of this folder —
//! `settings.rs` (ISA flags), `regs.rs` (registers), `imms.rs` (immediates and constant
//! materialization), `inst.rs` (instructions), `lower.rs` (IR → instructions, scalar) and
//! `lower_vector.rs` (NEON), `abi.rs` (calling conventions and frames), `emit.rs`
//! (encoding, prologue and epilogue), `print.rs` (GNU assembler syntax).

pub mod abi;
pub mod emit;
pub mod imms;
pub mod inst;
pub mod lower;
pub mod lower_vector;
pub mod print;
pub mod regs;
pub mod settings;

use crate::aarch64::emit::EmitInfo;
use crate::aarch64::lower::Aarch64Backend;
use kiln_codegen::context::CompileScratch;
use kiln_codegen::machinst::compile::compile;
use kiln_codegen::{CodegenResult, CompiledCode, TargetIsa};
use kiln_ir::Function;
use kiln_ir::analysis::domtree::DominatorTree;
use kiln_ir::settings::{Flags, IsaFlags};
use kiln_ir::signature::CallConv;
use target_lexicon::Triple;

/// The aarch64 target with its flags.
pub struct Aarch64Isa {
    triple: Triple,
    flags: Flags,
    isa_flags: IsaFlags,
    backend: Aarch64Backend,
    emit_info: EmitInfo,
}

impl Aarch64Isa {
    /// A target for `triple` with these flags.
    pub fn new(triple: Triple, flags: Flags, isa_flags: IsaFlags) -> Self {
        Aarch64Isa {
            backend: Aarch64Backend::new(flags.clone(), &isa_flags, triple.clone()),
            emit_info: EmitInfo::new(flags.clone(), isa_flags),
            triple,
            flags,
            isa_flags,
        }
    }
}

impl TargetIsa for Aarch64Isa {
    fn name(&self) -> &'static str {
        "aarch64"
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
        crate::aarch64::abi::default_call_conv(&self.triple)
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
        4.max(1 << self.flags.log2_min_function_alignment().min(12))
    }

    #[cfg(feature = "disas")]
    fn disassemble(&self, code: &CompiledCode) -> Option<Result<String, String>> {
        Some(crate::disasm::disassemble(
            kiln_ir::settings::Arch::Aarch64,
            code.code(),
            code.buffer.code_size as usize,
            &code.buffer.inline_data,
        ))
    }
}

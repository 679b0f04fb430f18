//! The riscv64 target (RV64GC with the bit-manipulation, compressed and vector
//! extensions): `TargetIsa` for riscv64, built from the files of this folder.
//!
//! Files: `settings.rs` (ISA flags), `regs.rs`, `inst.rs` (machine instructions),
//! `lower.rs` (IR → instructions), `lower_vector.rs` (vector opcodes on RVV), `abi.rs`
//! (LP64D and the other conventions), `vector.rs` (RVV forms and the vector state),
//! `encode.rs` (pure per-format encoders, compression, label-use patching), `emit.rs`,
//! `print.rs`, `materialize.rs` (constants).

pub mod abi;
pub mod emit;
pub mod encode;
pub mod inst;
pub mod lower;
pub mod lower_vector;
pub mod materialize;
pub mod print;
pub mod regs;
pub mod settings;
pub mod vector;

use crate::riscv64::emit::EmitInfo;
use crate::riscv64::lower::Rv64Backend;
use kiln_codegen::context::CompileScratch;
use kiln_codegen::machinst::compile::compile;
use kiln_codegen::{CodegenResult, CompiledCode, TargetIsa};
use kiln_ir::Function;
use kiln_ir::analysis::domtree::DominatorTree;
use kiln_ir::settings::{Flags, IsaFlags};
use kiln_ir::signature::CallConv;
use target_lexicon::Triple;

/// The riscv64 target with its flags.
pub struct Riscv64Isa {
    triple: Triple,
    flags: Flags,
    isa_flags: IsaFlags,
    backend: Rv64Backend,
    emit_info: EmitInfo,
}

impl Riscv64Isa {
    /// A target for `triple` with these flags.
    pub fn new(triple: Triple, flags: Flags, isa_flags: IsaFlags) -> Self {
        Riscv64Isa {
            backend: Rv64Backend::new(flags.clone(), &isa_flags, triple.clone()),
            emit_info: EmitInfo::new(flags.clone(), isa_flags),
            triple,
            flags,
            isa_flags,
        }
    }
}

impl TargetIsa for Riscv64Isa {
    fn name(&self) -> &'static str {
        "riscv64"
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
        CallConv::SystemV
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
            kiln_ir::settings::Arch::Riscv64,
            code.code(),
            code.buffer.code_size as usize,
            &code.buffer.inline_data,
        ))
    }
}

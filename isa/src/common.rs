//! What the 64-bit targets share: [`Isa`], the one `TargetIsa` implementation, made
//! concrete by each target folder's [`TargetDef`] (its name, backend, encoder and
//! defaults); which register classes hold each IR type (integers up to 64 bits in one
//! integer register, `i128` in two, floats and vectors of up to 128 bits in one FP/vector
//! register); and the macro that turns a target's ISA flags into a struct of typed
//! booleans.

use kiln_codegen::context::CompileScratch;
use kiln_codegen::machinst::compile::compile;
use kiln_codegen::machinst::lower::LowerBackend;
use kiln_codegen::machinst::vcode::MachInstEmit;
use kiln_codegen::{CodegenError, CodegenResult, CompiledCode, TargetIsa};
use kiln_ir::Function;
use kiln_ir::analysis::domtree::DominatorTree;
use kiln_ir::settings::{Arch, Flags, IsaFlags};
use kiln_ir::signature::CallConv;
use kiln_ir::types::{self, Type};
use regalloc2::RegClass;
use target_lexicon::Triple;

/// What a target folder supplies (in its `mod.rs`) to become a [`TargetIsa`] through
/// [`Isa`]: everything that differs between targets at this level.
pub trait TargetDef: Send + Sync + 'static {
    /// Short name (`x64`, `aarch64`, `riscv64`).
    const NAME: &'static str;
    /// The architecture (for the disassembler).
    const ARCH: Arch;
    /// The smallest function alignment the target allows, in bytes.
    const MIN_FUNCTION_ALIGNMENT: u32;
    /// The target's lowering backend.
    type Backend: LowerBackend<MInst: MachInstEmit> + Send + Sync;
    /// The backend for these settings.
    fn backend(flags: &Flags, isa_flags: &IsaFlags, triple: &Triple) -> Self::Backend;
    /// The encoder for these settings.
    fn emit_info(flags: &Flags, isa_flags: IsaFlags) -> EmitInfoOf<Self>;
    /// The platform's default calling convention for `triple`.
    fn default_call_conv(triple: &Triple) -> CallConv;
}

/// The encoder type of target `T`.
pub type EmitInfoOf<T> = <<<T as TargetDef>::Backend as LowerBackend>::MInst as MachInstEmit>::Info;

/// A target with its flags: the [`TargetIsa`] of every target folder (`X64Isa` is
/// `Isa<x64::X64>`, and so on). Immutable once made, so it is shared between threads.
pub struct Isa<T: TargetDef> {
    triple: Triple,
    flags: Flags,
    isa_flags: IsaFlags,
    backend: T::Backend,
    emit_info: EmitInfoOf<T>,
}

impl<T: TargetDef> Isa<T> {
    /// A target for `triple` with these flags.
    pub fn new(triple: Triple, flags: Flags, isa_flags: IsaFlags) -> Self {
        Isa {
            backend: T::backend(&flags, &isa_flags, &triple),
            emit_info: T::emit_info(&flags, isa_flags),
            triple,
            flags,
            isa_flags,
        }
    }
}

impl<T: TargetDef> TargetIsa for Isa<T>
where
    EmitInfoOf<T>: Send + Sync,
{
    fn name(&self) -> &'static str {
        T::NAME
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
        T::default_call_conv(&self.triple)
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
        T::MIN_FUNCTION_ALIGNMENT.max(1 << self.flags.log2_min_function_alignment().min(12))
    }

    #[cfg(feature = "disas")]
    fn disassemble(&self, code: &CompiledCode) -> Option<Result<String, String>> {
        Some(crate::disasm::disassemble(T::ARCH, code.code(), code.buffer.code_size as usize, &code.buffer.inline_data))
    }
}

/// The register classes (and register types) of a value of type `ty` on a 64-bit target
/// named `target` (for the error).
pub fn rc_for_type(ty: Type, target: &str) -> CodegenResult<(&'static [RegClass], &'static [Type])> {
    match ty {
        types::I8 => Ok((&[RegClass::Int], &[types::I8])),
        types::I16 => Ok((&[RegClass::Int], &[types::I16])),
        types::I32 => Ok((&[RegClass::Int], &[types::I32])),
        types::I64 => Ok((&[RegClass::Int], &[types::I64])),
        types::I128 => Ok((&[RegClass::Int, RegClass::Int], &[types::I64, types::I64])),
        types::F16 => Ok((&[RegClass::Float], &[types::F16])),
        types::F32 => Ok((&[RegClass::Float], &[types::F32])),
        types::F64 => Ok((&[RegClass::Float], &[types::F64])),
        types::F128 => Ok((&[RegClass::Float], &[types::F128])),
        t if t.is_vector() && t.bits() <= 128 => Ok((&[RegClass::Float], &[types::I8X16])),
        t => Err(CodegenError::Unsupported(format!("type {t} on {target}"))),
    }
}

/// A type that fills a whole register of class `rc`.
pub fn canonical_type_for_rc(rc: RegClass) -> Type {
    match rc {
        RegClass::Int => types::I64,
        _ => types::I8X16,
    }
}

/// `isa_settings!(Name, "doc", flag, …)`: a struct of one boolean per ISA flag, read from
/// the target's `IsaFlags` by `Name::new`.
#[macro_export]
macro_rules! isa_settings {
    ($name:ident, $doc:literal, $($field:ident),* $(,)?) => {
        #[doc = $doc]
        #[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub struct $name { $(pub $field: bool),* }

        impl $name {
            /// Read the settings from a target's ISA flags.
            pub fn new(isa_flags: &kiln_ir::settings::IsaFlags) -> Self {
                $name { $($field: isa_flags.has(stringify!($field))),* }
            }
        }
    };
}

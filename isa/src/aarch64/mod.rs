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
use crate::common::{EmitInfoOf, Isa, TargetDef};
use kiln_ir::settings::{Arch, Flags, IsaFlags};
use kiln_ir::signature::CallConv;
use target_lexicon::Triple;

/// The aarch64 target as a [`TargetDef`].
pub struct Aarch64;

/// The aarch64 target with its flags.
pub type Aarch64Isa = Isa<Aarch64>;

impl TargetDef for Aarch64 {
    const NAME: &'static str = "aarch64";
    const ARCH: Arch = Arch::Aarch64;
    const MIN_FUNCTION_ALIGNMENT: u32 = 4;
    type Backend = Aarch64Backend;

    fn backend(flags: &Flags, isa_flags: &IsaFlags, triple: &Triple) -> Aarch64Backend {
        Aarch64Backend::new(flags.clone(), isa_flags, triple.clone())
    }

    fn emit_info(flags: &Flags, isa_flags: IsaFlags) -> EmitInfoOf<Self> {
        EmitInfo::new(flags.clone(), isa_flags)
    }

    fn default_call_conv(triple: &Triple) -> CallConv {
        crate::aarch64::abi::default_call_conv(triple)
    }
}

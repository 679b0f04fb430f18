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

use crate::common::{EmitInfoOf, Isa, TargetDef};
use crate::x64::emit::EmitInfo;
use crate::x64::lower::X64Backend;
use kiln_ir::settings::{Arch, Flags, IsaFlags};
use kiln_ir::signature::CallConv;
use target_lexicon::Triple;

/// The x64 target as a [`TargetDef`].
pub struct X64;

/// The x64 target with its flags.
pub type X64Isa = Isa<X64>;

impl TargetDef for X64 {
    const NAME: &'static str = "x64";
    const ARCH: Arch = Arch::X86_64;
    const MIN_FUNCTION_ALIGNMENT: u32 = 16;
    type Backend = X64Backend;

    fn backend(flags: &Flags, isa_flags: &IsaFlags, triple: &Triple) -> X64Backend {
        X64Backend::new(flags.clone(), isa_flags, triple.clone())
    }

    fn emit_info(flags: &Flags, isa_flags: IsaFlags) -> EmitInfoOf<Self> {
        EmitInfo::new(flags.clone(), isa_flags)
    }

    fn default_call_conv(triple: &Triple) -> CallConv {
        crate::x64::abi::default_call_conv(triple)
    }
}

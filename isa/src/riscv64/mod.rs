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

use crate::common::{EmitInfoOf, Isa, TargetDef};
use crate::riscv64::emit::EmitInfo;
use crate::riscv64::lower::Rv64Backend;
use kiln_ir::settings::{Arch, Flags, IsaFlags};
use kiln_ir::signature::CallConv;
use target_lexicon::Triple;

/// The riscv64 target as a [`TargetDef`].
pub struct Riscv64;

/// The riscv64 target with its flags.
pub type Riscv64Isa = Isa<Riscv64>;

impl TargetDef for Riscv64 {
    const NAME: &'static str = "riscv64";
    const ARCH: Arch = Arch::Riscv64;
    const MIN_FUNCTION_ALIGNMENT: u32 = 4;
    type Backend = Rv64Backend;

    fn backend(flags: &Flags, isa_flags: &IsaFlags, triple: &Triple) -> Rv64Backend {
        Rv64Backend::new(flags.clone(), isa_flags, triple.clone())
    }

    fn emit_info(flags: &Flags, isa_flags: IsaFlags) -> EmitInfoOf<Self> {
        EmitInfo::new(flags.clone(), isa_flags)
    }

    fn default_call_conv(_triple: &Triple) -> CallConv {
        CallConv::SystemV
    }
}

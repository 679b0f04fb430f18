//! # kiln-isa — Kiln's targets
//!
//! Each target is one folder with the same files (see DESIGN.md): `mod.rs` (the
//! `TargetIsa`), `regs.rs`, `inst.rs`, `lower.rs`, `abi.rs`, `emit.rs`, `print.rs`.
//! `x64`, `aarch64` and `riscv64` are complete targets (vector lowering is partial on
//! aarch64 and absent on riscv64: those opcodes are `unsupported` errors).
//! [`lookup`] finds the target for a triple; [`native`] describes the host. With the
//! `disas` feature, [`disasm`] disassembles compiled code (capstone) and
//! `Context::want_disasm` fills `CompiledCode::disasm`.

#![warn(missing_docs)]

pub mod aarch64;
pub mod common;
#[cfg(feature = "disas")]
pub mod disasm;
pub mod names;
pub mod riscv64;
pub mod x64;

use core::fmt;
use kiln_codegen::TargetIsa;
use kiln_ir::settings::{Arch, Flags, IsaFlags, TargetSpec};
use target_lexicon::Triple;

/// Why no target could be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// CLIF knows the architecture but this build has no backend for it.
    Unsupported(String),
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            LookupError::Unsupported(a) => write!(f, "unsupported: no backend for {a} in this build"),
        }
    }
}

impl std::error::Error for LookupError {}

/// The target for `spec` (a parsed `target` line) with shared `flags`.
pub fn lookup(spec: &TargetSpec, flags: Flags) -> Result<Box<dyn TargetIsa>, LookupError> {
    match spec.arch() {
        Arch::X86_64 => Ok(Box::new(x64::X64Isa::new(spec.triple.clone(), flags, spec.isa_flags))),
        Arch::Aarch64 => Ok(Box::new(aarch64::Aarch64Isa::new(spec.triple.clone(), flags, spec.isa_flags))),
        Arch::Riscv64 => Ok(Box::new(riscv64::Riscv64Isa::new(spec.triple.clone(), flags, spec.isa_flags))),
        other => Err(LookupError::Unsupported(format!("{other:?}").to_lowercase())),
    }
}

/// Is there a backend for this architecture in this build?
pub fn has_backend(arch: Arch) -> bool {
    matches!(arch, Arch::X86_64 | Arch::Aarch64 | Arch::Riscv64)
}

/// The host's triple.
pub fn host_triple() -> Triple {
    Triple::host()
}

/// The ISA flags the host CPU supports (every flag it has, for `native`), if CLIF knows
/// the host architecture.
pub fn host_isa_flags() -> Option<IsaFlags> {
    let arch = Arch::of(&Triple::host())?;
    let mut f = IsaFlags::new(arch);
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! detect {
            ($($feat:tt => $flag:expr),* $(,)?) => {
                $( if std::arch::is_x86_feature_detected!($feat) { let _ = f.set_word($flag); } )*
            };
        }
        detect!(
            "sse3" => "has_sse3", "ssse3" => "has_ssse3", "sse4.1" => "has_sse41", "sse4.2" => "has_sse42",
            "avx" => "has_avx", "avx2" => "has_avx2", "fma" => "has_fma", "popcnt" => "has_popcnt",
            "bmi1" => "has_bmi1", "bmi2" => "has_bmi2", "lzcnt" => "has_lzcnt", "cmpxchg16b" => "has_cmpxchg16b",
            "avx512f" => "has_avx512f", "avx512vl" => "has_avx512vl", "avx512dq" => "has_avx512dq",
            "avx512vbmi" => "has_avx512vbmi", "avx512bitalg" => "has_avx512bitalg",
        );
    }
    Some(f)
}

/// The target for the host, using every feature the CPU has.
pub fn native(flags: Flags) -> Result<Box<dyn TargetIsa>, LookupError> {
    let triple = Triple::host();
    let isa_flags = host_isa_flags().ok_or_else(|| LookupError::Unsupported(triple.to_string()))?;
    lookup(&TargetSpec { triple, isa_flags }, flags)
}

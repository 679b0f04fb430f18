//! Unwind information for compiled code, from the unwind records every target's prologues
//! and epilogues leave in [`CompiledCode::unwind`](kiln_codegen::CompiledCode::unwind)
//! (see [`UnwindInst`]): one writer for all targets, with a per-target register mapper.
//!
//! - [`cfi`]: DWARF call-frame information — the `.eh_frame` of object files and of the
//!   JIT (for the system unwinder and debuggers);
//! - [`winx64`]: Windows x64 `UNWIND_INFO` (`.xdata`) and `RUNTIME_FUNCTION` (`.pdata`);
//! - [`registry`]: registration of JIT `.eh_frame` with the system unwinder
//!   (`__register_frame`), so that panics and backtraces walk through JIT frames.

pub mod cfi;
#[cfg(target_os = "linux")]
pub mod registry;
pub mod winx64;

pub use kiln_codegen::machinst::unwind::UnwindInst;

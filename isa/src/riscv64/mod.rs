//! The riscv64 target (RV64GC with the bit-manipulation, compressed and vector
//! extensions): registers, instructions, their encoding and printing, and constant
//! materialization. The `TargetIsa`, lowering and ABI come with the reshaped backend
//! framework; until then the target is not registered in `kiln_isa::lookup`.
//!
//! Files: `settings.rs` (ISA flags), `regs.rs`, `inst.rs` (machine instructions),
//! `vector.rs` (RVV forms and the vector state), `encode.rs` (pure per-format encoders,
//! compression, label-use patching), `emit.rs`, `print.rs`, `materialize.rs` (constants).

pub mod emit;
pub mod encode;
pub mod inst;
pub mod materialize;
pub mod print;
pub mod regs;
pub mod settings;
pub mod vector;

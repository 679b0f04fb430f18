//! The aarch64 target's instruction layer: registers (`regs`), ISA settings (`settings`),
//! immediate operands and constant materialization (`imms`), machine instructions
//! (`inst`), their encoding (`emit`) and GNU assembler syntax (`print`).
//!
//! Lowering, the calling conventions and the `TargetIsa` implementation come with the
//! reshaped backend framework; until then the target is not offered by `kiln_isa::lookup`.

pub mod emit;
pub mod imms;
pub mod inst;
pub mod print;
pub mod regs;
pub mod settings;

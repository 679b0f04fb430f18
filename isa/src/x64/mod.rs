//! The x86-64 target.

pub mod emit;
pub mod inst;
pub mod print;
pub mod regs;

//! # kiln-isa — Kiln's targets
//!
//! Each target is one folder with the same files (see DESIGN.md): `mod.rs` (the
//! `TargetIsa`), `regs.rs`, `inst.rs`, `lower.rs`, `abi.rs`, `emit.rs`, `print.rs`.

#![warn(missing_docs)]

pub mod x64;

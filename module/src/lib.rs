//! # kiln-module — Kiln's outputs
//!
//! [`JitModule`] compiles functions into executable memory (never writable and executable
//! at once), links them to each other and to host symbols, and catches the traps of the
//! code it runs ([`trap::call_guarded`]).

#![warn(missing_docs)]

pub mod exceptions;
pub mod jit;
pub mod libcalls;
pub mod memory;
pub mod trap;

pub use jit::{DataDescription, DataId, FuncId, FuncOrDataId, Init, JitModule, Linkage, ModuleError, SymbolName};

//! # kiln-codegen — the target-independent backend
//!
//! Everything between an IR [`Function`](kiln_ir::Function) and machine code that does not
//! depend on the target: the [`TargetIsa`] trait that targets implement (in `kiln-isa`),
//! the [`Context`] that runs the pipeline (verify → lower → allocate registers → emit), the
//! machine-instruction framework ([`machinst`]) and the [`CompiledCode`] it produces.
//!
//! This crate never names a target.

#![warn(missing_docs)]

pub mod context;
pub mod isa;
pub mod machinst;
pub mod parallel;
pub mod result;

pub use context::Context;
pub use isa::TargetIsa;
pub use kiln_ir::settings;
pub use parallel::compile_functions;
pub use result::{CodegenError, CodegenResult, CompiledCode};

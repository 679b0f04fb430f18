//! The reference runtime: compiles modules with Kiln and runs them.
//!
//! - [`Engine`]: target, settings ([`Config`]), engine-wide function type ids, stubs.
//! - [`Module`]: a compiled module (functions translated and compiled on all cores by
//!   default, one thread on request).
//! - [`Store`]: owns instances, memories, tables, globals and host functions;
//!   [`Instance::new`] instantiates a module with imports (host functions made with
//!   [`Func::new`], or exports of other instances); exports are looked up by name.
//! - [`Func::call`] calls a function with typed [`Val`]s; every trap comes back as an
//!   [`Error::Trap`] with a [`Trap`] naming its [`TrapKind`], and the process and the
//!   instance survive it (stack overflow too, at any depth).
//! - [`spectest`]: the host module of the spec test suite.
//!
//! Linear memory: a fixed 6 GiB reservation per memory (4 GiB addressable + 2 GiB guard),
//! pages made accessible as the memory grows; 32-bit memories need no bounds checks.
//! Trap catching is x86-64 Linux today (see `kiln_module::trap`); everything else here is
//! target-independent, and other targets plug in there.
//!
//! Limits: the thread running compiled code is the one holding the store; host functions
//! cannot re-enter the store; a memory grows to at most 4 GiB and a table to 10 million
//! elements; externref payloads are `u64` values other than `u64::MAX`.

mod call;
pub mod engine;
pub mod env;
pub mod instance;
pub mod libcalls;
pub mod memory;
pub mod spectest;
pub mod store;
pub mod table;
pub mod trap;
pub mod vmctx;

pub use engine::{Config, Engine, Error, Module, translate_module};
pub use env::EnvConfig;
pub use store::{Extern, Func, Global, Instance, Memory, Store, Table, Val};
pub use trap::{Trap, TrapKind};

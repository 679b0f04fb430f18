//! # kiln-filetests — the `.clif` filetest runner and `clif-util`
//!
//! Runs CLIF filetests (REFERENCE §4): each file's `test` commands are executed on each of
//! its functions, files in parallel ([`runner`]). The test kinds are plug-ins behind the
//! [`subtest::TestKind`] trait, one module each under [`kinds`]; [`filecheck`] implements
//! the FileCheck directives the textual tests use. [`interpret_files`] and [`bench`] hold
//! the logic of the `clif-util interpret` and `clif-util bench` subcommands, [`opt_files`] that of
//! `clif-util opt`; [`jit_run`]
//! executes run lines on compiled code, in a worker process ([`isolate`]) so that no run
//! line can crash or hang the run. [`wast`] runs WebAssembly spec tests (`clif-util wasm
//! wast`) on `kiln_wasm`'s reference runtime.

#![warn(missing_docs)]

pub mod bench;
pub mod filecheck;
pub mod interpret_files;
pub mod isolate;
pub mod jit_run;
pub mod kinds;
pub mod native;
pub mod opt_files;
pub mod runner;
pub mod subtest;
pub mod wasm_cmd;
pub mod wast;

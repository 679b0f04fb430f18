//! # kiln-filetests — the `.clif` filetest runner
//!
//! Runs CLIF filetests (REFERENCE §4): each file's `test` commands are executed on each of
//! its functions, files in parallel. [`filecheck`] implements the FileCheck directives the
//! textual tests use.

#![warn(missing_docs)]

pub mod filecheck;
pub mod jit_run;

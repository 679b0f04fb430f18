//! The implemented test kinds, one module each (REFERENCE §4.2). Each module exposes
//! `make(&TestCommand) -> Result<Box<dyn TestKind>, String>`, registered in
//! [`crate::subtest::KINDS`].

pub mod cat;
pub mod compile;
pub mod domtree;
pub mod interpret;
pub mod optimize;
pub mod print_cfg;
pub mod run;
pub mod verifier;

//! CLIF text: the writer (canonical printing) and the reader (lexer, parser, filetest
//! headers and run commands).
//!
//! Reading entry points: [`parse_functions`] for plain CLIF, [`parse_test`] for filetests
//! (header lines, functions with their comments and source maps), and
//! [`runcommand::parse_run_command`] for `; run:` / `; print:` comments. Every error carries
//! a 1-based [`Location`]; the reader never panics on malformed input.

pub mod lexer;
mod numbering;
pub mod parser;
pub mod runcommand;
pub mod testfile;
pub mod writer;

use core::fmt;

pub use parser::parse_functions;
pub use testfile::{
    Comment, Details, Feature, IsaSpec, ParseOptions, SourceMap, TargetEntry, TestCommand, TestFile, TestOption,
    parse_test,
};

/// A position in the source text: 1-based line and column (the column counts characters).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord, Default)]
pub struct Location {
    /// Line number, counting LF characters, from 1.
    pub line: u32,
    /// Column, in characters from the start of the line, from 1.
    pub col: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A parse error (or, with `is_warning`, a reason to skip the whole file, such as a target
/// architecture without a backend).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ParseError {
    /// Where the problem was found.
    pub location: Location,
    /// What is wrong.
    pub message: String,
    /// A warning: the file is not wrong, but cannot be used here (skip it).
    pub is_warning: bool,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

impl std::error::Error for ParseError {}

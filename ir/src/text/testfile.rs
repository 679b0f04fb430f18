//! Filetests (REFERENCE §4.1–4.7): the header lines (`test`, `set`, `target`, `feature`),
//! the functions with their attached comments and source maps, and the result types.
//!
//! Invariants: `parse_test` either returns a file with at least one function, or an error
//! (a file may have no `test` line: Cranelift's reader accepts that too, and `clif-util
//! compile`/`run` use such files; the filetest runner reports it); a `target` line whose
//! architecture has no backend turns the whole result into a warning
//! (`ParseError::is_warning`), meaning "skip this file". Header lines (`test`, `set`,
//! `target`, `feature`) may come in any order, before the first function.
//! Comments are attached per §4.7 and kept in source order.

use super::lexer::Token;
use super::parser::Parser;
use super::{Location, ParseError};
use crate::entities::AnyEntity;
use crate::function::Function;
use crate::settings::{Flags, TargetError, TargetSpec};
use crate::signature::CallConv;
use std::collections::HashMap;

/// Options of [`parse_test`].
#[derive(Clone, Debug, Default)]
pub struct ParseOptions {
    /// The calling convention of signatures that do not name one. `None` means the rule of
    /// REFERENCE §3.2: `fast`, or the host's default convention in a file with `test run`.
    pub default_call_conv: Option<CallConv>,
}

/// A parsed filetest.
#[derive(Clone, Debug)]
pub struct TestFile {
    /// The `test` lines, in order.
    pub commands: Vec<TestCommand>,
    /// The settings and targets.
    pub isa_spec: IsaSpec,
    /// The `feature` lines.
    pub features: Vec<Feature>,
    /// Comments before the first `function` keyword.
    pub preamble_comments: Vec<Comment>,
    /// The functions with their comments and source maps.
    pub functions: Vec<(Function, Details)>,
}

/// A `test` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestCommand {
    /// The command name (`run`, `compile`, …).
    pub name: String,
    /// Its options, as written.
    pub options: Vec<TestOption>,
}

/// An option of a `test` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TestOption {
    /// A single word.
    Flag(String),
    /// `key=value`.
    Value(String, String),
}

/// The settings and targets of a file (REFERENCE §4.5).
#[derive(Clone, Debug)]
pub enum IsaSpec {
    /// No `target` line: the accumulated shared settings.
    None(Flags),
    /// One entry per `target` line, each with the shared settings accumulated before it.
    Targets(Vec<TargetEntry>),
}

/// A `target` line with the shared settings in force for it.
#[derive(Clone, Debug)]
pub struct TargetEntry {
    /// Triple and ISA flags.
    pub spec: TargetSpec,
    /// Shared settings snapshot.
    pub flags: Flags,
}

/// A `feature` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feature {
    /// The feature name.
    pub name: String,
    /// `feature "x"` (true) or `feature ! "x"` (false).
    pub enabled: bool,
}

/// What the parser knows about a function beyond its IR.
#[derive(Clone, Debug, Default)]
pub struct Details {
    /// Where the `function` keyword is.
    pub location: Location,
    /// Comments attached to the function or its entities, in source order.
    pub comments: Vec<Comment>,
    /// Where each entity was defined.
    pub map: SourceMap,
}

/// A comment and the entity it is attached to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// The entity (the function itself for function-level and file-preamble comments).
    pub entity: AnyEntity,
    /// The text from `;` to the end of the line.
    pub text: String,
    /// Where the `;` is.
    pub location: Location,
}

/// Where each entity of a function was defined in the text.
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    function: Option<Location>,
    values: Vec<Location>,
    blocks: Vec<Location>,
    insts: Vec<Location>,
    others: HashMap<AnyEntity, Location>,
}

const NOWHERE: Location = Location { line: 0, col: 0 };

fn put(v: &mut Vec<Location>, i: usize, loc: Location) {
    if v.len() <= i {
        v.resize(i + 1, NOWHERE);
    }
    v[i] = loc;
}

fn get(v: &[Location], i: usize) -> Option<Location> {
    v.get(i).copied().filter(|l| l.line != 0)
}

impl SourceMap {
    /// Where `e` was defined.
    pub fn location(&self, e: AnyEntity) -> Option<Location> {
        match e {
            AnyEntity::Function => self.function,
            AnyEntity::Value(v) => get(&self.values, v.as_u32() as usize),
            AnyEntity::Block(b) => get(&self.blocks, b.as_u32() as usize),
            AnyEntity::Inst(i) => get(&self.insts, i.as_u32() as usize),
            other => self.others.get(&other).copied(),
        }
    }

    /// Record that `e` was defined at `loc`.
    pub(crate) fn define(&mut self, e: AnyEntity, loc: Location) {
        match e {
            AnyEntity::Function => self.function = Some(loc),
            AnyEntity::Value(v) => put(&mut self.values, v.as_u32() as usize, loc),
            AnyEntity::Block(b) => put(&mut self.blocks, b.as_u32() as usize, loc),
            AnyEntity::Inst(i) => put(&mut self.insts, i.as_u32() as usize, loc),
            other => {
                self.others.insert(other, loc);
            }
        }
    }
}

/// The test commands a file may name (REFERENCE §4.2).
pub const TEST_COMMANDS: &[&str] = &[
    "cat",
    "verifier",
    "run",
    "interpret",
    "compile",
    "optimize",
    "inline",
    "alias-analysis",
    "domtree",
    "print-cfg",
    "safepoint",
    "unwind",
];

/// The host's default calling convention.
pub fn host_default_call_conv() -> CallConv {
    if cfg!(target_os = "windows") {
        CallConv::WindowsFastcall
    } else if cfg!(all(target_vendor = "apple", target_arch = "aarch64")) {
        CallConv::AppleAarch64
    } else {
        CallConv::SystemV
    }
}

fn split_option(word: &str) -> TestOption {
    match word.split_once('=') {
        Some((k, v)) => TestOption::Value(k.to_string(), v.to_string()),
        None => TestOption::Flag(word.to_string()),
    }
}

/// Parse a filetest: header lines, then functions (REFERENCE §4).
pub fn parse_test(text: &str, opts: &ParseOptions) -> Result<TestFile, ParseError> {
    let mut p = Parser::new(text, true);

    // Header lines: `test`, `set`, `target` and `feature`, in any order (Cranelift's reader
    // takes `set`/`target` lines without any `test` line; Kiln also takes them before it).
    let mut commands = Vec::new();
    let mut flags = Flags::new();
    let mut targets: Vec<TargetEntry> = Vec::new();
    let mut dangling_set: Option<Location> = None;
    let mut features = Vec::new();
    loop {
        match p.tok {
            Token::Identifier("test") => {
                let loc = p.location();
                let line = p.rest_of_line();
                let mut words = line.split_whitespace();
                let Some(name) = words.next() else {
                    return Err(p.error_at(loc, "expected test command name"));
                };
                if !TEST_COMMANDS.contains(&name) {
                    return Err(p.error_at(loc, format!("unknown test command '{name}'")));
                }
                commands.push(TestCommand { name: name.to_string(), options: words.map(split_option).collect() });
                p.advance();
            }
            Token::Identifier("set") => {
                let loc = p.location();
                let line = p.rest_of_line();
                for w in line.split_whitespace() {
                    if let Err(e) = flags.set_word(w) {
                        return Err(p.error_at(loc, e.to_string()));
                    }
                }
                if dangling_set.is_none() {
                    dangling_set = Some(loc);
                }
                p.advance();
            }
            Token::Identifier("target") => {
                let loc = p.location();
                let line = p.rest_of_line();
                let words: Vec<&str> = line.split_whitespace().collect();
                let Some((triple, rest)) = words.split_first() else {
                    return Err(p.error_at(loc, "missing target triple"));
                };
                match TargetSpec::parse(triple, rest) {
                    Ok(spec) => targets.push(TargetEntry { spec, flags: flags.clone() }),
                    Err(e @ TargetError::NoBackend(_)) => {
                        return Err(ParseError { location: loc, message: e.to_string(), is_warning: true });
                    }
                    Err(e) => return Err(p.error_at(loc, e.to_string())),
                }
                dangling_set = None;
                p.advance();
            }
            Token::Identifier("feature") => {
                p.advance();
                let enabled = if p.tok == Token::Bang {
                    p.advance();
                    false
                } else {
                    true
                };
                let Token::String(name) = p.tok else {
                    return Err(p.error("expected feature name in quotes"));
                };
                features.push(Feature { name: name.to_string(), enabled });
                p.advance();
            }
            _ => break,
        }
    }
    if let (Some(loc), false) = (dangling_set, targets.is_empty()) {
        return Err(p.error_at(loc, "dangling 'set' command after the last 'target'"));
    }
    let isa_spec = if targets.is_empty() { IsaSpec::None(flags) } else { IsaSpec::Targets(targets) };

    p.default_cc = opts.default_call_conv.unwrap_or_else(|| {
        if commands.iter().any(|c| c.name == "run") { host_default_call_conv() } else { CallConv::Fast }
    });
    let preamble_comments = p.take_preamble_comments();
    let functions = p.parse_function_list()?;
    if functions.is_empty() {
        return Err(p.error("no functions found"));
    }
    Ok(TestFile { commands, isa_spec, features, preamble_comments, functions })
}

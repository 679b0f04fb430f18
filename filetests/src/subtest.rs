//! The interface between the runner and the test kinds (`test cat`, `test verifier`, …):
//! the [`TestKind`] trait, the [`TestContext`] a kind runs in, how a kind reports failures
//! ([`TestError`]), and the registry of kinds ([`KINDS`], [`make_kind`]).
//!
//! Adding a test kind = one module under `kinds/` with a constructor, plus its entry in
//! [`KINDS`]. Kinds without a constructor are "not implemented yet": the runner reports them
//! as skipped, never as passed.
//!
//! Invariants: a [`TestContext`] describes one function under one configuration (shared
//! flags and, for kinds that need one, a target); everything a kind may keep across
//! functions of a file (the interpreter, `print:` output) lives in the file's
//! [`FileScratch`], which is used by a single thread.

use crate::filecheck::Checker;
use crate::isolate::{IsolatedRunner, RunLimits};
use crate::jit_run::JitRunner;
use kiln_ir::function::Function;
use kiln_ir::interp::{InterpConfig, Interpreter};
use kiln_ir::settings::{Flags, TargetSpec};
use kiln_ir::text::{Comment, Details, Location, TargetEntry, TestCommand, TestOption};
use kiln_ir::types::{self, Type};
use std::cell::{RefCell, RefMut};
use std::path::Path;

/// One failure of a test, optionally located in the source (a run command, an annotation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Where in the file, if the failure concerns a particular line.
    pub location: Option<Location>,
    /// What went wrong (may span several lines).
    pub message: String,
}

impl Failure {
    /// A failure at `location`.
    pub fn at(location: Location, message: impl Into<String>) -> Self {
        Failure { location: Some(location), message: message.into() }
    }
}

/// Why a test did not pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TestError {
    /// The test failed, for these reasons (at least one).
    Failed(Vec<Failure>),
    /// The test could not be run here (e.g. the host cannot execute the target); not a
    /// failure.
    Skipped(String),
}

impl TestError {
    /// A failure at `location`.
    pub fn at(location: Location, message: impl Into<String>) -> Self {
        TestError::Failed(vec![Failure::at(location, message)])
    }
}

impl From<String> for TestError {
    fn from(message: String) -> Self {
        TestError::Failed(vec![Failure { location: None, message }])
    }
}

impl From<&str> for TestError {
    fn from(message: &str) -> Self {
        TestError::from(message.to_string())
    }
}

impl From<Vec<Failure>> for TestError {
    fn from(failures: Vec<Failure>) -> Self {
        TestError::Failed(failures)
    }
}

/// The result of running a test on one function.
pub type TestResult = Result<(), TestError>;

/// A kind of test (`test cat`, `test interpret`, …), configured by the options of its
/// `test` line.
pub trait TestKind: Send + Sync {
    /// The command name, as written after `test`.
    fn name(&self) -> &'static str;

    /// Does the test need a target? Such tests run once per `target` line (and fail
    /// without any); the others run once per function.
    fn needs_target(&self) -> bool {
        false
    }

    /// Without any `target` line, does the test run on the host (as `test run` does in
    /// Cranelift) instead of failing?
    fn host_without_target(&self) -> bool {
        false
    }

    /// Must the function pass the verifier before the test runs?
    fn needs_verifier(&self) -> bool {
        true
    }

    /// Does the test modify (a copy of) the function? Mutating tests run after the others.
    fn is_mutating(&self) -> bool {
        false
    }

    /// Run the test on `func` (function number `ctx.func_index` of the file).
    fn run(&self, ctx: &TestContext, func: &Function, details: &Details) -> TestResult;
}

/// The constructor of a test kind from its `test` line (rejecting unknown options).
pub type MakeKind = fn(&TestCommand) -> Result<Box<dyn TestKind>, String>;

/// A registered test command.
pub struct KindInfo {
    /// The command name.
    pub name: &'static str,
    /// The constructor; `None` while the kind is not implemented.
    pub make: Option<MakeKind>,
}

/// Every test command of REFERENCE §4.2, with its implementation when there is one.
pub const KINDS: &[KindInfo] = &[
    KindInfo { name: "cat", make: Some(crate::kinds::cat::make) },
    KindInfo { name: "verifier", make: Some(crate::kinds::verifier::make) },
    KindInfo { name: "interpret", make: Some(crate::kinds::interpret::make) },
    KindInfo { name: "domtree", make: Some(crate::kinds::domtree::make) },
    KindInfo { name: "print-cfg", make: Some(crate::kinds::print_cfg::make) },
    KindInfo { name: "run", make: Some(crate::kinds::run::make) },
    KindInfo { name: "compile", make: Some(crate::kinds::compile::make) },
    KindInfo { name: "optimize", make: Some(crate::kinds::optimize::make) },
    KindInfo { name: "inline", make: None },
    KindInfo { name: "alias-analysis", make: None },
    KindInfo { name: "safepoint", make: None },
    KindInfo { name: "unwind", make: None },
];

/// The kind for a `test` line: `Ok(None)` if the command exists but is not implemented,
/// `Err` for an unknown command or bad options.
pub fn make_kind(command: &TestCommand) -> Result<Option<Box<dyn TestKind>>, String> {
    make_kind_in(KINDS, command)
}

/// [`make_kind`] with another registry (tests plug in their own kinds).
pub fn make_kind_in(registry: &[KindInfo], command: &TestCommand) -> Result<Option<Box<dyn TestKind>>, String> {
    match registry.iter().find(|k| k.name == command.name) {
        None => Err(format!("unknown test command '{}'", command.name)),
        Some(KindInfo { make: None, .. }) => Ok(None),
        Some(KindInfo { make: Some(make), .. }) => make(command).map(Some),
    }
}

/// Reject every option of a command that takes none.
pub fn no_options(command: &TestCommand) -> Result<(), String> {
    match command.options.first() {
        None => Ok(()),
        Some(TestOption::Flag(w)) => Err(format!("test {}: unknown option '{w}'", command.name)),
        Some(TestOption::Value(k, v)) => Err(format!("test {}: unknown option '{k}={v}'", command.name)),
    }
}

/// What a file's tests may keep between functions: the interpreter (prepared once per file
/// and configuration) and the text printed by `print:` commands. One per file and thread.
#[derive(Default)]
pub struct FileScratch<'a> {
    interp: RefCell<Option<(InterpKey, Interpreter<'a>)>>,
    output: RefCell<String>,
    /// The file's functions compiled for each configuration `test run` used.
    jit: RefCell<Vec<(JitKey, Result<IsolatedRunner, String>)>>,
    /// How `test run` executes run lines.
    pub run_limits: RunLimits,
    /// New precise-output expectations to write back (function index, lines).
    bless: RefCell<Vec<(usize, Vec<String>)>>,
}

/// The configuration a JIT runner was compiled with.
#[derive(Clone, PartialEq, Eq)]
struct JitKey {
    flags: Flags,
    target: TargetSpec,
}

/// The configuration an interpreter was prepared with.
#[derive(Clone, PartialEq, Eq)]
struct InterpKey {
    flags: Flags,
    pointer_type: Type,
}

impl<'a> FileScratch<'a> {
    /// Empty scratch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empty scratch; `test run` executes run lines as `limits` say.
    pub fn with_run_limits(limits: RunLimits) -> Self {
        FileScratch { run_limits: limits, ..Self::default() }
    }

    /// The precise-output expectations to rewrite (`KILN_BLESS`).
    pub fn take_bless(&self) -> Vec<(usize, Vec<String>)> {
        std::mem::take(&mut self.bless.borrow_mut())
    }

    /// The text printed so far.
    pub fn take_output(&self) -> String {
        std::mem::take(&mut self.output.borrow_mut())
    }

    /// Forget the interpreter (after a panic, its state cannot be trusted).
    pub fn reset(&self) {
        if let Ok(mut i) = self.interp.try_borrow_mut() {
            *i = None;
        }
    }
}

/// Everything a test kind may look at while testing one function.
pub struct TestContext<'a> {
    /// The file's path.
    pub path: &'a Path,
    /// The file's text.
    pub source: &'a str,
    /// The `test` line being run.
    pub command: &'a TestCommand,
    /// The shared settings in effect (REFERENCE §4.5).
    pub flags: &'a Flags,
    /// The target: the one being tested for kinds that need one; for the others, the file's
    /// target when it has exactly one.
    pub target: Option<&'a TargetSpec>,
    /// All `target` lines of the file.
    pub targets: &'a [TargetEntry],
    /// Comments before the first function (FileCheck directives for every function).
    pub preamble_comments: &'a [Comment],
    /// All functions of the file, in order (for calls between them).
    pub functions: &'a [Function],
    /// The details (comments, source map) of every function, parallel to `functions`.
    pub details: &'a [Details],
    /// The index of the function under test in `functions`.
    pub func_index: usize,
    /// Per-file state shared by the tests.
    pub scratch: &'a FileScratch<'a>,
}

impl<'a> TestContext<'a> {
    /// The pointer type: the target's; without a single target, the one all targets agree
    /// on, else `i64`.
    pub fn pointer_type(&self) -> Type {
        if let Some(t) = self.target {
            return t.pointer_type();
        }
        let mut it = self.targets.iter().map(|t| t.spec.pointer_type());
        match it.next() {
            Some(first) if it.all(|t| t == first) => first,
            _ => types::I64,
        }
    }

    /// The interpreter for the file's functions, prepared once per file and configuration.
    pub fn interpreter(&self) -> RefMut<'a, Interpreter<'a>> {
        let key = InterpKey { flags: self.flags.clone(), pointer_type: self.pointer_type() };
        let functions = self.functions;
        RefMut::map(self.scratch.interp.borrow_mut(), move |slot| {
            if slot.as_ref().is_some_and(|(k, _)| *k != key) {
                *slot = None;
            }
            &mut slot
                .get_or_insert_with(|| {
                    let config =
                        InterpConfig { flags: key.flags.clone(), pointer_type: key.pointer_type, ..Default::default() };
                    (key, Interpreter::new(functions, config))
                })
                .1
        })
    }

    /// The file's functions compiled for `target` with this context's settings (and the
    /// register allocator's checker), compiled once per file and configuration; calls run
    /// as the scratch's [`RunLimits`] say (in a worker process by default).
    pub fn jit_runner(&self, target: &TargetSpec) -> Result<RefMut<'a, IsolatedRunner>, String> {
        let key = JitKey { flags: self.flags.clone(), target: target.clone() };
        let mut all = self.scratch.jit.borrow_mut();
        let idx = match all.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                let mut flags = self.flags.clone();
                flags.set_word("regalloc_checker").map_err(|e| e.to_string())?;
                let limits = self.scratch.run_limits;
                let runner = kiln_isa::lookup(target, flags)
                    .map_err(|e| e.to_string())
                    .and_then(|isa| JitRunner::new(self.functions, isa))
                    .map(|r| IsolatedRunner::new(r, limits));
                all.push((key, runner));
                all.len() - 1
            }
        };
        if let Err(e) = &all[idx].1 {
            return Err(e.clone());
        }
        Ok(RefMut::map(all, |v| v[idx].1.as_mut().expect("checked above")))
    }

    /// Record new precise-output expectation lines for function `index`.
    pub fn bless(&self, index: usize, lines: Vec<String>) {
        self.scratch.bless.borrow_mut().push((index, lines));
    }

    /// Append a line to the test output (shown by the runner after the file's results).
    pub fn print(&self, line: &str) {
        let mut out = self.scratch.output.borrow_mut();
        out.push_str(line);
        out.push('\n');
    }

    /// A FileCheck checker from the file preamble comments and the function's comments.
    pub fn checker(&self, details: &Details) -> Result<Checker, String> {
        let mut c = Checker::new();
        for comment in self.preamble_comments.iter().chain(&details.comments) {
            c.add_line(&comment.text).map_err(|e| format!("{}: {e}", comment.location))?;
        }
        Ok(c)
    }

    /// FileCheck `text` against the directives of the function.
    pub fn filecheck(&self, details: &Details, text: &str) -> TestResult {
        let checker = self.checker(details)?;
        checker
            .check(text)
            .map_err(|e| TestError::from(format!("filecheck failed:\n{e}output was:\n{}", excerpt(text))))
    }
}

/// The text of a comment without its leading `;` characters and blanks.
pub fn comment_body(text: &str) -> &str {
    text.trim_start_matches([';', ' ', '\t'])
}

/// At most the first 100 lines of `text`.
pub fn excerpt(text: &str) -> String {
    const MAX: usize = 100;
    let mut out: String = text.lines().take(MAX).flat_map(|l| [l, "\n"]).collect();
    let n = text.lines().count();
    if n > MAX {
        out.push_str(&format!("… ({} more lines)\n", n - MAX));
    }
    out
}

//! `test interpret` (REFERENCE §4.10): execute every `run:` / `print:` command of the
//! function with the reference interpreter.
//!
//! The invocation name is looked up among the file's functions (`; run: %g(…)` attached to
//! `%f` calls `%g`); the legacy bare `run` / `print` forms invoke `%default`. Arguments are
//! read with the signature of the function the command is attached to. Results are compared
//! bitwise with the expectation (`==` passes when equal, `!=` when different); a trap or
//! any other interpreter error fails the command. `print:` writes `%name(args) -> result`.
//! One interpreter serves all functions of a file (see [`TestContext::interpreter`]).
//!
//! [`run_comment_commands`] is shared with `clif-util interpret`, which also runs files that
//! only list `test run` (there, §4.9: the function the command is attached to is called).

use crate::subtest::{Failure, TestContext, TestKind, TestResult, comment_body, no_options};
use kiln_ir::data_value::DataValue;
use kiln_ir::function::Function;
use kiln_ir::interp::{InterpError, Interpreter};
use kiln_ir::text::runcommand::{Comparison, RunCommand, parse_run_command};
use kiln_ir::text::{Details, TestCommand};

/// The `interpret` test.
pub struct Interpret;

/// Build `test interpret` (no options).
pub fn make(command: &TestCommand) -> Result<Box<dyn TestKind>, String> {
    no_options(command)?;
    Ok(Box::new(Interpret))
}

impl TestKind for Interpret {
    fn name(&self) -> &'static str {
        "interpret"
    }

    fn run(&self, ctx: &TestContext, func: &Function, details: &Details) -> TestResult {
        let mut interp = ctx.interpreter();
        let mut failures = Vec::new();
        run_comment_commands(&mut interp, Callee::ByName, func, details, &mut failures, &mut |line| ctx.print(line));
        if failures.is_empty() { Ok(()) } else { Err(failures.into()) }
    }
}

/// Which function a run command calls.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Callee {
    /// The function named in the invocation (`test interpret`, REFERENCE §4.10).
    ByName,
    /// The function the command is attached to, whatever name is written (`test run`,
    /// §4.9); the index is its position in the file.
    Attached(usize),
}

/// Counts of executed run commands.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct RunCounts {
    /// Commands that passed (`print:` commands that executed without error count here).
    pub passed: usize,
    /// Commands that failed (including malformed ones).
    pub failed: usize,
}

/// Execute every run command among the comments of `func`; failures are appended to
/// `failures` (located at the command), `print:` lines go to `print`.
pub fn run_comment_commands(
    interp: &mut Interpreter,
    callee: Callee,
    func: &Function,
    details: &Details,
    failures: &mut Vec<Failure>,
    print: &mut dyn FnMut(&str),
) -> RunCounts {
    let mut counts = RunCounts::default();
    for c in &details.comments {
        let r = match parse_run_command(&c.text, &func.signature) {
            Ok(None) => continue,
            Err(e) => Err(format!("malformed run command: {e}")),
            Ok(Some(cmd)) => {
                execute(interp, callee, &cmd, print).map_err(|e| format!("{}: {e}", comment_body(&c.text).trim_end()))
            }
        };
        match r {
            Ok(()) => counts.passed += 1,
            Err(m) => {
                counts.failed += 1;
                failures.push(Failure::at(c.location, m));
            }
        }
    }
    counts
}

/// Execute one command.
pub fn execute(
    interp: &mut Interpreter,
    callee: Callee,
    cmd: &RunCommand,
    print: &mut dyn FnMut(&str),
) -> Result<(), String> {
    let inv = match cmd {
        RunCommand::Run { invocation, .. } | RunCommand::Print(invocation) => invocation,
    };
    let result = match callee {
        Callee::ByName => interp.call_by_name(&inv.func, &inv.args),
        Callee::Attached(i) => interp.call(i, &inv.args),
    };
    let values = result.map_err(|e| match e {
        InterpError::Trap(code) => format!("unexpected trap: {code}"),
        e => e.to_string(),
    })?;
    match cmd {
        RunCommand::Print(_) => {
            print(&format!("{inv} -> {}", show(&values)));
            Ok(())
        }
        RunCommand::Run { comparison, expected, .. } => {
            let equal = values == *expected;
            if equal == (*comparison == Comparison::Equals) { Ok(()) } else { Err(format!("got {}", show(&values))) }
        }
    }
}

/// One value as itself, several (or none) as `[a, b]`.
pub fn show(values: &[DataValue]) -> String {
    match values {
        [v] => v.to_string(),
        vs => {
            let parts: Vec<String> = vs.iter().map(|v| v.to_string()).collect();
            format!("[{}]", parts.join(", "))
        }
    }
}

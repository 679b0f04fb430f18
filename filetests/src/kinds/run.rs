//! `test run` (REFERENCE §4.9): compile every function of the file for each target the host
//! can execute, and execute the `run:` / `print:` commands of each function through
//! Kiln-compiled trampolines, calling the function the command is attached to: natively
//! for the host's architecture, under qemu-user for the others `cross_run` knows.
//!
//! A file without a `target` line runs on the host (with every feature its CPU has). A
//! target that cannot run here (no backend in this build, no qemu or cross compiler for
//! it, ISA flags the host CPU lacks) is skipped with the reason (never passed). A function
//! using something the backend does not support is skipped with the `unsupported:` reason;
//! any other compile error, a trap or a wrong result fails the test. Every function is
//! compiled with the register allocator's checker enabled.

use crate::jit_run::RunError;
use crate::subtest::{Failure, TestContext, TestError, TestKind, TestResult, comment_body, no_options};
use kiln_ir::data_value::DataValue;
use kiln_ir::function::Function;
use kiln_ir::settings::TargetSpec;
use kiln_ir::text::runcommand::{Comparison, RunCommand, parse_run_command};
use kiln_ir::text::{Details, TestCommand};

/// The `run` test.
pub struct Run;

/// Build `test run` (no options).
pub fn make(command: &TestCommand) -> Result<Box<dyn TestKind>, String> {
    no_options(command)?;
    Ok(Box::new(Run))
}

/// Can this host execute code for `spec` (natively or under qemu)? `Err` gives the reason
/// it cannot.
pub fn host_can_run(spec: &TargetSpec) -> Result<(), String> {
    crate::jit_run::can_run(spec)
}

fn show_values(vals: &[DataValue]) -> String {
    match vals {
        [v] => v.to_string(),
        _ => format!("[{}]", vals.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

impl TestKind for Run {
    fn name(&self) -> &'static str {
        "run"
    }

    fn needs_target(&self) -> bool {
        true
    }

    fn host_without_target(&self) -> bool {
        true
    }

    fn run(&self, ctx: &TestContext, func: &Function, details: &Details) -> TestResult {
        let Some(spec) = ctx.target else { return Err("test run needs a target".into()) };
        // Only functions with run commands are tested.
        let cmds: Vec<_> = details
            .comments
            .iter()
            .filter_map(|c| match parse_run_command(&c.text, &func.signature) {
                Ok(None) => None,
                r => Some((c, r)),
            })
            .collect();
        if cmds.is_empty() {
            return Ok(());
        }
        if ctx.flags.enable_pinned_reg() != 0 {
            return Err("test run cannot run code compiled with enable_pinned_reg".into());
        }
        host_can_run(spec).map_err(TestError::Skipped)?;
        let mut runner = match ctx.jit_runner(spec) {
            Ok(r) => r,
            // Every run line fails with it (a file that does not link runs nothing).
            Err(e) => {
                let failures: Vec<Failure> = cmds
                    .iter()
                    .map(|(c, _)| {
                        Failure::at(
                            c.location,
                            format!("{}: compiling the file: {e}", comment_body(&c.text).trim_end()),
                        )
                    })
                    .collect();
                return Err(failures.into());
            }
        };
        let mut failures = Vec::new();
        let mut unsupported = None;
        for (c, parsed) in cmds {
            let cmd = match parsed {
                Ok(Some(cmd)) => cmd,
                Ok(None) => continue,
                Err(e) => {
                    failures.push(Failure::at(c.location, format!("malformed run command: {e}")));
                    continue;
                }
            };
            let (inv, check) = match &cmd {
                RunCommand::Run { invocation, comparison, expected } => (invocation, Some((comparison, expected))),
                RunCommand::Print(invocation) => (invocation, None),
            };
            match runner.call(ctx.func_index, &inv.args) {
                Ok(got) => match check {
                    Some((cmp, expected)) => {
                        let equal = got == *expected;
                        if equal != (*cmp == Comparison::Equals) {
                            failures.push(Failure::at(
                                c.location,
                                format!("{}: got {}", comment_body(&c.text).trim_end(), show_values(&got)),
                            ));
                        }
                    }
                    None => {
                        let args: Vec<String> = inv.args.iter().map(|a| a.to_string()).collect();
                        ctx.print(&format!("%{}({}) -> {}", inv.func, args.join(", "), show_values(&got)));
                    }
                },
                Err(RunError::Unsupported(m)) => unsupported = Some(m),
                Err(e) => failures.push(Failure::at(c.location, format!("{}: {e}", comment_body(&c.text).trim_end()))),
            }
        }
        if !failures.is_empty() {
            return Err(failures.into());
        }
        match unsupported {
            Some(m) => Err(TestError::Skipped(m)),
            None => Ok(()),
        }
    }
}

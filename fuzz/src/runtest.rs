//! Checking `.clif` runtests the way the fuzzer compares: every `; run:` line is executed in
//! the interpreter and as compiled code for each x86-64 `target` line of the file under
//! every [`CompileConfig`] (settings of the file kept, `opt_level` and the allocator
//! varied, regalloc2 checker on). Used for the regression tests the fuzzer's findings
//! become (`filetests/filetests/runtests/`).

use crate::diff::{CompileConfig, Outcome, interpret, same_outcome};
use kiln_filetests::jit_run::{JitRunner, RunError};
use kiln_ir::settings::Arch;
use kiln_ir::text::runcommand::{Comparison, RunCommand, parse_run_command};
use kiln_ir::text::{IsaSpec, ParseOptions, parse_test};

/// Run the run lines of one file. Returns the number of checks that passed, or the first
/// failure's description.
pub fn check_runtest(text: &str) -> Result<usize, String> {
    let tf = parse_test(text, &ParseOptions::default()).map_err(|e| e.to_string())?;
    let funcs: Vec<_> = tf.functions.iter().map(|(f, _)| f.clone()).collect();
    let mut passed = 0;
    // Interpreter.
    let mut runs = Vec::new();
    for (i, (f, d)) in tf.functions.iter().enumerate() {
        for c in &d.comments {
            let cmd = parse_run_command(&c.text, &f.signature).map_err(|e| format!("{}: {e}", c.text))?;
            if let Some(RunCommand::Run { invocation, comparison, expected }) = cmd {
                runs.push((i, c.text.trim().to_string(), invocation.args, comparison, expected));
            }
        }
    }
    let reorder = |i: usize| {
        // The interpreter and the JIT both index functions by file order, but `interpret`
        // calls function 0: put function `i` first.
        let mut v = funcs.clone();
        v.swap(0, i);
        v
    };
    for (i, text, args, cmp, expected) in &runs {
        let got = interpret(&reorder(*i), args).map_err(|e| format!("{text}: {e}"))?;
        let ok = same_outcome(&got, &Outcome::Values(expected.clone()));
        if ok != (*cmp == Comparison::Equals) {
            return Err(format!("{text}: interpreter gives {got}"));
        }
        passed += 1;
    }
    // Compiled code.
    let targets: Vec<_> = match &tf.isa_spec {
        IsaSpec::Targets(ts) => ts.iter().filter(|t| t.spec.arch() == Arch::X86_64).cloned().collect(),
        IsaSpec::None(_) => Vec::new(),
    };
    let host = kiln_isa::host_isa_flags();
    for t in targets {
        if let Some(h) = &host
            && t.spec.isa_flags.enabled().any(|f| !h.has(f))
        {
            continue;
        }
        for config in CompileConfig::all() {
            let mut flags = t.flags.clone();
            let _ = flags.set("opt_level", Some(config.opt_level));
            let _ = flags.set("regalloc_algorithm", Some(config.regalloc));
            let _ = flags.set("regalloc_checker", None);
            let isa = kiln_isa::lookup(&t.spec, flags).map_err(|e| e.to_string())?;
            let mut runner = JitRunner::new(&funcs, isa).map_err(|e| format!("{config}: {e}"))?;
            if let Some(e) = runner.first_unavailable() {
                return Err(format!("{config}: {e}"));
            }
            for (i, text, args, cmp, expected) in &runs {
                let got = match runner.call(*i, args) {
                    Ok(v) => Outcome::Values(v),
                    Err(RunError::Trap(t)) => Outcome::Trap(t.code),
                    Err(e) => {
                        return Err(format!("{text} ({config}): {e}"));
                    }
                };
                let ok = same_outcome(&got, &Outcome::Values(expected.clone()));
                if ok != (*cmp == Comparison::Equals) {
                    return Err(format!("{text} ({config}, {}): compiled code gives {got}", t.spec.isa_flags));
                }
                passed += 1;
            }
        }
    }
    Ok(passed)
}

//! `clif-util interpret`: run every `run:` / `print:` command of the given files with the
//! reference interpreter, whatever their `test` lines say.
//!
//! Rules: files that list `test interpret` call the function named in each invocation
//! (REFERENCE §4.10); the others call the function the command is attached to (§4.9, the
//! `test run` model). The settings are the file's (those of its last target, or the
//! accumulated `set` lines) with the command line's `--set` words applied on top, as further
//! `set` lines would; `--target` replaces the file's targets. Before its commands run, each
//! function is verified like its execution model says: in `test interpret` files with the
//! file's target when it has exactly one (§4.5), in the others once per target (each with
//! its settings snapshot, as `test run` compiles per target); a function that does not
//! verify fails all of its commands. The interpreter uses the last target's
//! settings and the pointer width all targets agree on (else 64 bits). Unless those settings
//! say `opt_level=none`, the verified functions are first optimized (`kiln_egraph`), so
//! that `--set opt_level=speed` interprets the optimized code. Files run in parallel; the
//! unit counted is the run command.

use crate::kinds::interpret::{Callee, RunCounts, run_comment_commands};
use crate::runner::{Status, collect_files, default_threads, parallel_map};
use crate::subtest::Failure;
use kiln_ir::function::Function;
use kiln_ir::interp::{InterpConfig, Interpreter};
use kiln_ir::settings::{Flags, OptLevel, TargetSpec};
use kiln_ir::text::runcommand::parse_run_command;
use kiln_ir::text::{Details, IsaSpec, ParseOptions, parse_test};
use kiln_ir::types;
use kiln_ir::verifier::{VerifierContext, verify_function};
use std::fmt::Write;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// Command-line settings.
#[derive(Clone, Debug, Default)]
pub struct InterpretOptions {
    /// `--set` words (`name` or `name=value`), applied in order.
    pub sets: Vec<String>,
    /// `--target TRIPLE FLAGS…`: the triple and its ISA option words.
    pub target: Option<(String, Vec<String>)>,
    /// Worker threads (default: available parallelism).
    pub threads: Option<usize>,
}

/// The result of one file.
#[derive(Clone, Debug, Default)]
pub struct InterpretReport {
    /// The file.
    pub path: PathBuf,
    /// Run commands that passed / failed.
    pub counts: RunCounts,
    /// Why commands (or the file) failed.
    pub failures: Vec<Failure>,
    /// Why the file was skipped, if it was.
    pub skipped: Option<String>,
    /// `print:` output.
    pub output: String,
}

/// Validated command-line settings.
struct Resolved {
    sets: Vec<String>,
    target: Option<TargetSpec>,
}

fn resolve(opts: &InterpretOptions) -> Result<Resolved, String> {
    let mut probe = Flags::new();
    for w in &opts.sets {
        probe.set_word(w).map_err(|e| format!("--set {w}: {e}"))?;
    }
    let target = match &opts.target {
        None => None,
        Some((triple, words)) => {
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            Some(TargetSpec::parse(triple, &words).map_err(|e| format!("--target {triple}: {e}"))?)
        }
    };
    Ok(Resolved { sets: opts.sets.clone(), target })
}

/// Interpret every file under `paths` (directories recursively). `Err` for invalid
/// options.
pub fn interpret_files(paths: &[PathBuf], opts: &InterpretOptions) -> Result<Vec<InterpretReport>, String> {
    let resolved = resolve(opts)?;
    let (files, bad) = collect_files(paths);
    let order: Vec<usize> = (0..files.len()).collect();
    let threads = opts.threads.unwrap_or_else(default_threads);
    let results = parallel_map(&files, &order, threads, |f| interpret_file(f, &resolved));
    let mut reports: Vec<InterpretReport> = bad
        .into_iter()
        .map(|b| InterpretReport {
            path: b.path,
            failures: b
                .records
                .into_iter()
                .flat_map(|r| match r.status {
                    Status::Failed(f) => f,
                    _ => Vec::new(),
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    for (f, r) in files.iter().zip(results) {
        reports.push(r.unwrap_or_else(|| InterpretReport {
            path: f.clone(),
            failures: vec![Failure { location: None, message: "worker died".into() }],
            ..Default::default()
        }));
    }
    Ok(reports)
}

fn interpret_file(path: &Path, opts: &Resolved) -> InterpretReport {
    let mut report = InterpretReport { path: path.to_path_buf(), ..Default::default() };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            report.failures.push(Failure { location: None, message: e.to_string() });
            return report;
        }
    };
    match panic::catch_unwind(AssertUnwindSafe(|| interpret_source(&text, opts, &mut report))) {
        Ok(()) => {}
        Err(_) => report.failures.push(Failure { location: None, message: "panic (see above)".into() }),
    }
    report
}

fn interpret_source(text: &str, opts: &Resolved, report: &mut InterpretReport) {
    let tf = match parse_test(text, &ParseOptions::default()) {
        Ok(tf) => tf,
        Err(e) if e.is_warning => {
            report.skipped = Some(format!("{}: {}", e.location, e.message));
            return;
        }
        Err(e) => {
            report.failures.push(Failure::at(e.location, e.message));
            return;
        }
    };
    let by_name = tf.commands.iter().any(|c| c.name == "interpret");
    // Verification configurations: the command line's target; else, for `test interpret`
    // files, the file's settings with its target when there is exactly one (§4.5); for the
    // others every target of the file, each with its settings snapshot (as `test run`
    // compiles, §4.9); without targets, none.
    let mut verify_configs: Vec<(Flags, Option<TargetSpec>)> = match (&opts.target, &tf.isa_spec) {
        (_, IsaSpec::None(f)) => vec![(f.clone(), None)],
        (None, IsaSpec::Targets(ts)) if !by_name => {
            ts.iter().map(|t| (t.flags.clone(), Some(t.spec.clone()))).collect()
        }
        (_, IsaSpec::Targets(ts)) => {
            let single = if ts.len() == 1 { ts.first().map(|t| t.spec.clone()) } else { None };
            vec![(ts.last().map(|t| t.flags.clone()).unwrap_or_default(), single)]
        }
    };
    for (flags, target) in &mut verify_configs {
        for w in &opts.sets {
            // Validated by `resolve`.
            let _ = flags.set_word(w);
        }
        if opts.target.is_some() {
            target.clone_from(&opts.target);
        }
    }
    // The interpreter runs once, with the last configuration's settings.
    let flags = verify_configs.last().map(|c| c.0.clone()).unwrap_or_default();
    let pointer_type = {
        let mut it = verify_configs.iter().filter_map(|(_, t)| t.as_ref()).map(|t| t.pointer_type());
        match it.next() {
            Some(first) if it.all(|p| p == first) => first,
            _ => types::I64,
        }
    };
    let (mut functions, details): (Vec<Function>, Vec<Details>) = tf.functions.into_iter().unzip();
    // Verify every function; then, unless `opt_level=none`, interpret the optimized ones.
    let mut invalid: Vec<Option<String>> = Vec::with_capacity(functions.len());
    for func in &functions {
        let mut errors = String::new();
        for (flags, target) in &verify_configs {
            let vctx = VerifierContext { flags, target: target.as_ref() };
            if let Err(es) = verify_function(func, &vctx) {
                if errors.is_empty() {
                    errors.push_str(" verifier errors:");
                }
                if let Some(t) = target {
                    let _ = write!(errors, "\nwith target {}:", t.triple);
                }
                for e in &es {
                    let _ = write!(errors, "\n{e}");
                }
            }
        }
        invalid.push((!errors.is_empty()).then_some(errors));
    }
    if flags.opt() != OptLevel::None {
        let target = verify_configs.last().and_then(|c| c.1.clone());
        let mut ctx = kiln_egraph::OptContext::new();
        for (func, bad) in functions.iter_mut().zip(invalid.iter_mut()) {
            if bad.is_none()
                && let Err(e) = kiln_egraph::optimize(func, &mut ctx, &flags, target.as_ref())
            {
                *bad = Some(format!("\n{e}"));
            }
        }
    }
    let config = InterpConfig { flags: flags.clone(), pointer_type, ..Default::default() };
    let mut interp = Interpreter::new(&functions, config);
    for (fi, ((func, det), bad)) in functions.iter().zip(&details).zip(&invalid).enumerate() {
        if let Some(errors) = bad {
            let n = det.comments.iter().filter(|c| matches!(parse_run_command(&c.text, &func.signature), Ok(Some(_))));
            let n = n.count();
            if n > 0 {
                report.counts.failed += n;
                let msg = format!("{}: {n} run command(s) not run:{errors}", func.name);
                report.failures.push(Failure::at(det.location, msg));
            }
            continue;
        }
        let callee = if by_name { Callee::ByName } else { Callee::Attached(fi) };
        let mut out = String::new();
        let c = run_comment_commands(&mut interp, callee, func, det, &mut report.failures, &mut |line| {
            out.push_str(line);
            out.push('\n');
        });
        report.output.push_str(&out);
        report.counts.passed += c.passed;
        report.counts.failed += c.failed;
    }
}

/// The text report: outputs, one line per failure (`file:line:col: message`), skipped files
/// with `verbose`, then `N passed, M failed[, K files skipped]`. Returns the text and
/// whether everything passed.
pub fn render(reports: &[InterpretReport], verbose: bool) -> (String, bool) {
    let mut s = String::new();
    let (mut passed, mut failed, mut skipped, mut ok) = (0, 0, 0, true);
    for r in reports {
        s.push_str(&r.output);
        for f in &r.failures {
            ok = false;
            let _ = write!(s, "{}", r.path.display());
            if let Some(loc) = f.location {
                let _ = write!(s, ":{loc}");
            }
            let mut lines = f.message.lines();
            let _ = writeln!(s, ": {}", lines.next().unwrap_or("failed"));
            for l in lines {
                let _ = writeln!(s, "    {l}");
            }
        }
        if let Some(why) = &r.skipped {
            skipped += 1;
            if verbose {
                let _ = writeln!(s, "{}: skipped: {why}", r.path.display());
            }
        }
        passed += r.counts.passed;
        failed += r.counts.failed;
    }
    let _ = write!(s, "{passed} passed, {failed} failed");
    if skipped > 0 {
        let _ = write!(s, ", {skipped} files skipped");
    }
    s.push('\n');
    (s, ok && failed == 0)
}

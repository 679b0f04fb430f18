//! The filetest runner (REFERENCE §4): finds `.clif` files, runs them in parallel, one file
//! per job, and collects a [`Summary`].
//!
//! Per file: [`parse_test`]; a warning-level parse error (e.g. an architecture without a
//! backend) skips the file with its reason, any other parse error fails it with
//! `file:line:col: message`. Then every `test` command is run on every function, following
//! §4.2/§4.5:
//! - kinds that need a target run once per `target` line, with that target's settings
//!   snapshot (and fail without any target: "requires an ISA", except `test run`, which
//!   then runs on the host);
//! - the others run once, with the settings of the last target (or the accumulated `set`
//!   settings without targets), and get the target when there is exactly one;
//! - mutating kinds run after non-mutating ones; kinds that need it run after the verifier
//!   (one verification per function and configuration, cached), and a verifier error
//!   fails them;
//! - commands whose kind is not implemented yet are reported once per file as skipped
//!   ("not implemented: test <kind>") — never as passed.
//!
//! Invariants: a test counts exactly once as passed, failed or skipped; a panic inside a
//! test is caught and reported as that test's failure, so one bad file never stops the run;
//! reports come back in the order of the (sorted) file list whatever the scheduling. Workers
//! take the next file from an atomic index (largest files first, to balance the tail) and
//! share nothing else: no lock is taken while tests run.

use crate::isolate::RunLimits;
use crate::subtest::{Failure, FileScratch, KINDS, KindInfo, TestContext, TestError, TestKind, make_kind_in};
use kiln_ir::function::Function;
use kiln_ir::settings::{Flags, TargetSpec};
use kiln_ir::text::{Details, IsaSpec, Location, ParseOptions, TargetEntry, TestCommand, parse_test};
use kiln_ir::verifier::{VerifierContext, verify_function};
use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How to run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Also report skipped tests with their reasons.
    pub verbose: bool,
    /// Number of worker threads (default: the available parallelism).
    pub threads: Option<usize>,
    /// How `test run` executes run lines (a worker process, a time limit per line).
    pub run_limits: RunLimits,
}

/// The outcome of one test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// It passed.
    Passed,
    /// It failed, for these reasons (at least one).
    Failed(Vec<Failure>),
    /// It was not run, for this reason.
    Skipped(String),
}

/// One test: a test command on a function (under a target, for kinds that need one), or a
/// file-level entry (`function: None`: parse errors, skipped files, unimplemented kinds).
#[derive(Clone, Debug)]
pub struct TestRecord {
    /// The test command (`"file"` for file-level entries that concern no command).
    pub test: String,
    /// The function's name (`%f`), if the record concerns one.
    pub function: Option<String>,
    /// The target, for kinds run per target.
    pub target: Option<String>,
    /// Where the function starts (default location of its failures).
    pub location: Option<Location>,
    /// What happened.
    pub status: Status,
}

/// Everything that happened in one file.
#[derive(Clone, Debug)]
pub struct FileReport {
    /// The file.
    pub path: PathBuf,
    /// Its tests, in execution order.
    pub records: Vec<TestRecord>,
    /// Text printed by the tests (`print:` commands), in order.
    pub output: String,
}

impl FileReport {
    fn new(path: &Path) -> Self {
        FileReport { path: path.to_path_buf(), records: Vec::new(), output: String::new() }
    }

    fn file_level(&mut self, test: &str, status: Status) {
        self.records.push(TestRecord { test: test.to_string(), function: None, target: None, location: None, status });
    }

    /// Did every test of the file pass or get skipped?
    pub fn is_success(&self) -> bool {
        !self.records.iter().any(|r| matches!(r.status, Status::Failed(_)))
    }
}

/// The result of a run.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// One report per file, in the order of the file list.
    pub reports: Vec<FileReport>,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
}

impl Summary {
    fn count(&self, f: impl Fn(&Status) -> bool) -> usize {
        self.reports.iter().flat_map(|r| &r.records).filter(|t| f(&t.status)).count()
    }

    /// Number of tests that passed.
    pub fn passed(&self) -> usize {
        self.count(|s| matches!(s, Status::Passed))
    }

    /// Number of tests that failed.
    pub fn failed(&self) -> usize {
        self.count(|s| matches!(s, Status::Failed(_)))
    }

    /// Number of tests (or files, or commands) skipped.
    pub fn skipped(&self) -> usize {
        self.count(|s| matches!(s, Status::Skipped(_)))
    }

    /// Did nothing fail?
    pub fn is_success(&self) -> bool {
        self.failed() == 0
    }

    /// Every failure: the file, the test and one of its reasons.
    pub fn failures(&self) -> impl Iterator<Item = (&Path, &TestRecord, &Failure)> {
        self.reports.iter().flat_map(|r| {
            r.records.iter().flat_map(move |t| match &t.status {
                Status::Failed(fs) => fs.iter().map(move |f| (r.path.as_path(), t, f)).collect::<Vec<_>>(),
                _ => Vec::new(),
            })
        })
    }

    /// The report as text: each file's output, one line per failure (continuation lines of
    /// long messages indented), with `verbose` one line per skipped test, then
    /// `N passed, M failed[, K skipped]`.
    pub fn render(&self, verbose: bool) -> String {
        let mut s = String::new();
        for r in &self.reports {
            s.push_str(&r.output);
            for t in &r.records {
                match &t.status {
                    Status::Passed => {}
                    Status::Failed(fs) => {
                        for f in fs {
                            write_failure(&mut s, &r.path, t, f);
                        }
                    }
                    Status::Skipped(why) if verbose => {
                        let _ = writeln!(s, "{}:{} skipped: {why}", r.path.display(), describe(t));
                    }
                    Status::Skipped(_) => {}
                }
            }
        }
        if verbose {
            let _ = writeln!(s, "{} files in {:.2} s", self.reports.len(), self.elapsed.as_secs_f64());
        }
        let _ = write!(s, "{} passed, {} failed", self.passed(), self.failed());
        if self.skipped() > 0 {
            let _ = write!(s, ", {} skipped", self.skipped());
        }
        s.push('\n');
        s
    }
}

/// ` %f: test kind (target)` for a record.
fn describe(t: &TestRecord) -> String {
    let mut s = String::new();
    if let Some(f) = &t.function {
        let _ = write!(s, " {f}:");
    }
    if t.test != "file" {
        let _ = write!(s, " test {}", t.test);
        if let Some(target) = &t.target {
            let _ = write!(s, " ({target})");
        }
        s.push(':');
    }
    s
}

fn write_failure(s: &mut String, path: &Path, t: &TestRecord, f: &Failure) {
    let _ = write!(s, "{}", path.display());
    if let Some(loc) = f.location.or(t.location) {
        let _ = write!(s, ":{loc}");
    }
    let _ = write!(s, ":{}", describe(t));
    let mut lines = f.message.lines();
    let _ = writeln!(s, " {}", lines.next().unwrap_or("failed"));
    for l in lines {
        let _ = writeln!(s, "    {l}");
    }
}

/// The `.clif` files under `paths` (directories are walked recursively, files are taken as
/// given), sorted within each directory; paths that cannot be read become failed reports.
/// Symbolic links are followed, but each directory is walked once (by its canonical path),
/// so a link to a parent folder cannot make the walk endless.
pub fn collect_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<FileReport>) {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>, bad: &mut Vec<FileReport>, seen: &mut HashSet<PathBuf>) {
        if let Ok(c) = std::fs::canonicalize(dir)
            && !seen.insert(c)
        {
            return;
        }
        let rd = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) => {
                let mut r = FileReport::new(dir);
                r.file_level("file", Status::Failed(vec![Failure { location: None, message: e.to_string() }]));
                bad.push(r);
                return;
            }
        };
        let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out, bad, seen);
            } else if p.extension().is_some_and(|e| e == "clif") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    let mut bad = Vec::new();
    let mut seen = HashSet::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut files, &mut bad, &mut seen);
        } else if p.exists() {
            files.push(p.clone());
        } else {
            let mut r = FileReport::new(p);
            r.file_level("file", Status::Failed(vec![Failure { location: None, message: "no such file".into() }]));
            bad.push(r);
        }
    }
    (files, bad)
}

/// Run `job` on every item with `threads` workers taking items in `order`; results come back
/// indexed like `items`.
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    order: &[usize],
    threads: usize,
    job: impl Fn(&T) -> R + Sync,
) -> Vec<Option<R>> {
    let next = AtomicUsize::new(0);
    let threads = threads.clamp(1, items.len().max(1));
    let mut results: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&i) = order.get(k) else { break };
                        if let Some(item) = items.get(i) {
                            done.push((i, job(item)));
                        }
                    }
                    done
                })
            })
            .collect();
        for h in handles {
            if let Ok(done) = h.join() {
                for (i, r) in done {
                    results[i] = Some(r);
                }
            }
        }
    });
    results
}

/// The default number of worker threads.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Run every filetest under `paths`.
pub fn run_tests(paths: &[PathBuf], opts: &RunOptions) -> Summary {
    let start = Instant::now();
    let (files, mut bad) = collect_files(paths);
    // Largest files first: a long file started last would leave the other cores idle.
    let mut order: Vec<usize> = (0..files.len()).collect();
    let sizes: Vec<u64> = files.iter().map(|f| std::fs::metadata(f).map_or(0, |m| m.len())).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    let threads = opts.threads.unwrap_or_else(default_threads);
    let results = parallel_map(&files, &order, threads, |f| run_file_with(f, opts.run_limits));
    let mut reports: Vec<FileReport> = Vec::with_capacity(files.len() + bad.len());
    reports.append(&mut bad);
    for (f, r) in files.iter().zip(results) {
        reports.push(r.unwrap_or_else(|| {
            let mut r = FileReport::new(f);
            r.file_level("file", Status::Failed(vec![Failure { location: None, message: "worker died".into() }]));
            r
        }));
    }
    Summary { reports, elapsed: start.elapsed() }
}

/// Run one file.
pub fn run_file(path: &Path) -> FileReport {
    run_file_with(path, RunLimits::default())
}

/// Run one file, executing run lines as `limits` say.
pub fn run_file_with(path: &Path, limits: RunLimits) -> FileReport {
    match std::fs::read_to_string(path) {
        Ok(text) => run_source_full(path, &text, KINDS, limits),
        Err(e) => {
            let mut r = FileReport::new(path);
            r.file_level("file", Status::Failed(vec![Failure { location: None, message: e.to_string() }]));
            r
        }
    }
}

/// A configuration tests run under: settings and (optionally) a target.
#[derive(Clone, Copy)]
struct Config<'a> {
    flags: &'a Flags,
    target: Option<&'a TargetSpec>,
    /// Cache key: 0 for the target-independent configuration, `i + 1` for target `i`.
    key: usize,
    /// Shown in reports for per-target runs.
    per_target: bool,
}

fn target_label(t: &TargetSpec) -> String {
    let flags = t.isa_flags.to_string();
    let arch = t.triple.architecture;
    if flags.is_empty() { arch.to_string() } else { format!("{arch} {flags}") }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Run the filetest `text` (read from `path`).
pub fn run_source(path: &Path, text: &str) -> FileReport {
    run_source_with(path, text, KINDS)
}

/// [`run_source`] with another registry of test kinds.
pub fn run_source_with(path: &Path, text: &str, registry: &[KindInfo]) -> FileReport {
    run_source_full(path, text, registry, RunLimits::default())
}

/// [`run_source_with`], executing run lines as `limits` say.
pub fn run_source_full(path: &Path, text: &str, registry: &[KindInfo], limits: RunLimits) -> FileReport {
    let mut report = FileReport::new(path);
    let parsed = panic::catch_unwind(|| parse_test(text, &ParseOptions::default()));
    let tf = match parsed {
        Ok(Ok(tf)) => tf,
        Ok(Err(e)) if e.is_warning => {
            report.file_level("file", Status::Skipped(format!("{}: {}", e.location, e.message)));
            return report;
        }
        Ok(Err(e)) => {
            report.file_level("file", Status::Failed(vec![Failure::at(e.location, e.message)]));
            return report;
        }
        Err(p) => {
            let msg = format!("panic while parsing: {}", panic_message(p.as_ref()));
            report.file_level("file", Status::Failed(vec![Failure { location: None, message: msg }]));
            return report;
        }
    };

    if tf.commands.is_empty() {
        report.file_level(
            "file",
            Status::Failed(vec![Failure { location: None, message: "no test commands found".into() }]),
        );
        return report;
    }
    let mut kinds: Vec<(&TestCommand, Box<dyn TestKind>)> = Vec::new();
    for cmd in &tf.commands {
        match make_kind_in(registry, cmd) {
            Ok(Some(k)) => kinds.push((cmd, k)),
            Ok(None) => report.file_level(&cmd.name, Status::Skipped(format!("not implemented: test {}", cmd.name))),
            Err(e) => report.file_level(&cmd.name, Status::Failed(vec![Failure { location: None, message: e }])),
        }
    }

    let default_flags = Flags::default();
    let (targets, base_flags): (&[TargetEntry], &Flags) = match &tf.isa_spec {
        IsaSpec::None(f) => (&[], f),
        IsaSpec::Targets(ts) => (ts, ts.last().map_or(&default_flags, |t| &t.flags)),
    };
    let single = match targets {
        [t] => Some(&t.spec),
        _ => None,
    };
    let host = if targets.is_empty() && kinds.iter().any(|(_, k)| k.host_without_target()) {
        crate::native::host_spec().ok()
    } else {
        None
    };
    let mut tuples: Vec<(usize, Config)> = Vec::new();
    for (k, (cmd, kind)) in kinds.iter().enumerate() {
        if !kind.needs_target() {
            tuples.push((k, Config { flags: base_flags, target: single, key: 0, per_target: false }));
        } else if let (true, Some(h)) = (targets.is_empty() && kind.host_without_target(), &host) {
            tuples.push((k, Config { flags: base_flags, target: Some(h), key: usize::MAX, per_target: true }));
        } else if targets.is_empty() {
            let msg = format!("test {} requires an ISA (a `target` line)", cmd.name);
            report.file_level(&cmd.name, Status::Failed(vec![Failure { location: None, message: msg }]));
        } else {
            for (i, t) in targets.iter().enumerate() {
                tuples.push((k, Config { flags: &t.flags, target: Some(&t.spec), key: i + 1, per_target: true }));
            }
        }
    }
    tuples.sort_by_key(|(k, _)| kinds[*k].1.is_mutating());

    let (functions, details): (Vec<Function>, Vec<Details>) = tf.functions.into_iter().unzip();
    let scratch = FileScratch::with_run_limits(limits);
    let mut verified: HashMap<(usize, usize), Result<(), String>> = HashMap::new();
    for (fi, (func, det)) in functions.iter().zip(&details).enumerate() {
        for (k, config) in &tuples {
            let (cmd, kind) = &kinds[*k];
            let ctx = TestContext {
                path,
                source: text,
                command: cmd,
                flags: config.flags,
                target: config.target,
                targets,
                preamble_comments: &tf.preamble_comments,
                functions: &functions,
                details: &details,
                func_index: fi,
                scratch: &scratch,
            };
            let verdict = if kind.needs_verifier() {
                verified.entry((fi, config.key)).or_insert_with(|| verify(func, det, config)).clone()
            } else {
                Ok(())
            };
            let status = match verdict {
                Err(e) => Status::Failed(vec![Failure::at(det.location, e)]),
                Ok(()) => match panic::catch_unwind(AssertUnwindSafe(|| kind.run(&ctx, func, det))) {
                    Ok(Ok(())) => Status::Passed,
                    Ok(Err(TestError::Failed(fs))) if fs.is_empty() => {
                        Status::Failed(vec![Failure::at(det.location, "failed")])
                    }
                    Ok(Err(TestError::Failed(fs))) => Status::Failed(fs),
                    Ok(Err(TestError::Skipped(why))) => Status::Skipped(why),
                    Err(p) => {
                        scratch.reset();
                        Status::Failed(vec![Failure::at(det.location, format!("panic: {}", panic_message(p.as_ref())))])
                    }
                },
            };
            report.records.push(TestRecord {
                test: cmd.name.clone(),
                function: Some(func.name.to_string()),
                target: config.target.filter(|_| config.per_target).map(target_label),
                location: Some(det.location),
                status,
            });
        }
    }
    report.output = scratch.take_output();
    let edits = scratch.take_bless();
    if !edits.is_empty() {
        let new = crate::kinds::compile::apply_bless(text, &details, &edits);
        if let Err(e) = std::fs::write(path, new) {
            report.file_level(
                "compile",
                Status::Failed(vec![Failure { location: None, message: format!("bless: {e}") }]),
            );
        }
    }
    report
}

/// Verify a function under a configuration; the error lists every verifier error with its
/// source position.
fn verify(func: &Function, details: &Details, config: &Config) -> Result<(), String> {
    let vctx = VerifierContext { flags: config.flags, target: config.target };
    let r = panic::catch_unwind(AssertUnwindSafe(|| verify_function(func, &vctx)));
    match r {
        Ok(Ok(())) => Ok(()),
        Ok(Err(errors)) => {
            let mut s = String::from("verifier errors:");
            for e in &errors {
                match details.map.location(e.location) {
                    Some(loc) => {
                        let _ = write!(s, "\n{loc}: {e}");
                    }
                    None => {
                        let _ = write!(s, "\n{e}");
                    }
                }
            }
            Err(s)
        }
        Err(p) => Err(format!("panic in the verifier: {}", panic_message(p.as_ref()))),
    }
}

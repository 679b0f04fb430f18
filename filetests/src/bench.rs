//! `clif-util bench`: throughput measurements.
//!
//! `bench parse` reads the given files into memory, then times, per iteration and on one
//! thread, the parsing of every file (as a filetest when it has `test` lines, else as plain
//! CLIF) and the verification of every function (with the file's settings and, when there
//! is exactly one, its target). It reports the median over the iterations of each phase
//! and the throughput of parse + verify in MB/s of CLIF text and in CLIF instructions per
//! second. Files that are skipped (warning-level parse errors) are left out; other parse
//! errors and verifier errors are reported (the benchmark still runs on the rest).

use kiln_ir::Function;
use kiln_ir::settings::{Flags, TargetSpec};
use kiln_ir::text::{IsaSpec, ParseError, ParseOptions, parse_functions, parse_test};
use kiln_ir::verifier::{VerifierContext, verify_function};
use std::fmt::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Settings and target used to verify a file's functions.
type VerifyConfig = (Flags, Option<TargetSpec>);

/// Parse a file the way `bench parse` does: as a filetest when it starts with test lines,
/// else as plain CLIF.
fn parse_any(text: &str) -> Result<(Vec<Function>, VerifyConfig), ParseError> {
    if !is_filetest(text) {
        return parse_functions(text).map(|fs| (fs, (Flags::default(), None)));
    }
    let tf = parse_test(text, &ParseOptions::default())?;
    let cfg = match tf.isa_spec {
        IsaSpec::None(f) => (f, None),
        IsaSpec::Targets(mut ts) => {
            let flags = ts.last().map(|t| t.flags.clone()).unwrap_or_default();
            let target = if ts.len() == 1 { ts.pop().map(|t| t.spec) } else { None };
            (flags, target)
        }
    };
    Ok((tf.functions.into_iter().map(|(f, _)| f).collect(), cfg))
}

/// Does the text start (after a byte-order mark, comments and blank lines) with a filetest
/// header line (`test`, `set`, `target` or `feature`)?
pub fn is_filetest(text: &str) -> bool {
    text.trim_start_matches('\u{feff}')
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with(';'))
        .is_some_and(|l| matches!(l.split_whitespace().next(), Some("test" | "set" | "target" | "feature")))
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Run `bench parse` over `files` for `iters` iterations; returns the report text, or an
/// error when no file could be used.
pub fn bench_parse(files: &[PathBuf], iters: usize) -> Result<String, String> {
    let iters = iters.max(1);
    let mut out = String::new();
    let mut texts = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        match parse_any(&text) {
            Ok(_) => texts.push((f, text)),
            Err(e) if e.is_warning => {
                let _ = writeln!(out, "{}: skipped: {}", f.display(), e.message);
            }
            Err(e) => {
                let _ = writeln!(out, "{}:{e} (left out)", f.display());
            }
        }
    }
    if texts.is_empty() {
        return Err(format!("{out}no usable files"));
    }
    let bytes: usize = texts.iter().map(|(_, t)| t.len()).sum();
    let (mut nfuncs, mut ninsts, mut nerrors) = (0usize, 0usize, 0usize);
    let mut parse_times = Vec::with_capacity(iters);
    let mut verify_times = Vec::with_capacity(iters);
    let mut total_times = Vec::with_capacity(iters);
    for it in 0..iters {
        let mut parse = Duration::ZERO;
        let mut verify = Duration::ZERO;
        for (_, text) in &texts {
            let t0 = Instant::now();
            let parsed = parse_any(text);
            parse += t0.elapsed();
            let Ok((funcs, (flags, target))) = parsed else { continue };
            let vctx = VerifierContext { flags: &flags, target: target.as_ref() };
            let t1 = Instant::now();
            for f in &funcs {
                let ok = verify_function(f, &vctx).is_ok();
                if it == 0 {
                    nerrors += usize::from(!ok);
                }
            }
            verify += t1.elapsed();
            if it == 0 {
                nfuncs += funcs.len();
                ninsts += funcs.iter().map(Function::num_insts_in_layout).sum::<usize>();
            }
            // Dropping the functions is not timed.
            drop(funcs);
        }
        parse_times.push(parse);
        verify_times.push(verify);
        total_times.push(parse + verify);
    }
    let (p, v, t) = (median(&mut parse_times), median(&mut verify_times), median(&mut total_times));
    let secs = t.as_secs_f64().max(1e-9);
    let _ = writeln!(
        out,
        "bench parse: {} files, {:.2} MB, {nfuncs} functions, {ninsts} instructions, {iters} iterations",
        texts.len(),
        bytes as f64 / 1e6
    );
    if nerrors > 0 {
        let _ = writeln!(out, "  note: {nerrors} functions do not verify");
    }
    let _ =
        writeln!(out, "  parse:  median {:.2} ms ({:.1} MB/s)", ms(p), bytes as f64 / 1e6 / p.as_secs_f64().max(1e-9));
    let _ = writeln!(out, "  verify: median {:.2} ms", ms(v));
    let _ = writeln!(out, "  parse + verify: median {:.2} ms", ms(t));
    let _ = writeln!(out, "  throughput: {:.1} MB/s", bytes as f64 / 1e6 / secs);
    let _ = writeln!(out, "  throughput: {:.0} instructions/s", ninsts as f64 / secs);
    Ok(out)
}

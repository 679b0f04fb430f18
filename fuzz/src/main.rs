//! `kiln-fuzz`: the command-line front end.
//!
//! - `differential --seed S --count N [--large-every K] [--save DIR] [--verbose]
//!   [--target aarch64|riscv64]`: generate N cases from seed S (every K-th with the large generator
//!   settings), compare the interpreter with compiled code (x86-64 natively, or aarch64
//!   or riscv64 under qemu) and check compile times against the compile-time oracle, shrink and save
//!   each failure as a `.clif` runtest in DIR (default `fuzz/failures`), print statistics
//!   and end with `N passed, M failed`; the exit status is non-zero if any case failed.
//!   `--duration SECONDS` stops the run after that time.
//! - `invalid --seed S --count N`: break generated functions with random edits
//!   ([`kiln_fuzz::mutate`]); those the verifier rejects are compiled with the verifier off
//!   and must give an error, not a panic.
//! - `probe`: list the instruction forms the generator wanted and the target rejected.
//! - `print --seed S --case K`: print the CLIF of one case.
//! - `check FILE…`: run the `; run:` lines of runtests in the interpreter and compiled under
//!   every configuration.
//!
//! - `wasm-compile --seed S --count N [--duration T]`: `wasm-smith` modules (every implemented
//!   proposal) must translate and compile without panicking (`kiln_fuzz::wasm`).
//! - `wasm-diff --seed S --count N [--duration T]`: run the exports of generated modules in
//!   Kiln and in `wasmi`, comparing results, traps, memories and globals. With `--duration`,
//!   cases continue past N until the time is up. Both end with `N passed, M failed`.
//!
//! A watchdog aborts the process (printing the case) if one case runs for more than a
//! minute: compiled code that loops forever is a miscompile too.

use kiln_fuzz::diff::{Case, Differ, Stats, generate_case, reproducer};
use kiln_fuzz::generate::GenConfig;
use kiln_fuzz::oracle::TargetSupport;
use kiln_fuzz::shrink::shrink;
use kiln_fuzz::{seeded_bytes, table};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

static CURRENT: Mutex<String> = Mutex::new(String::new());
static STARTED: AtomicU64 = AtomicU64::new(0);
static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Milliseconds since the start, plus one (0 means "no case running").
fn now_ms() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: kiln-fuzz differential --seed S --count N [--large-every K] [--duration SECONDS] [--save DIR] [--verbose] [--target aarch64|riscv64]"
    );
    eprintln!("       kiln-fuzz invalid --seed S --count N   (broken functions, verifier off: no panic)");
    eprintln!("       kiln-fuzz probe");
    eprintln!("       kiln-fuzz print --seed S --case K [--large-every K]");
    eprintln!("       kiln-fuzz check FILE.clif...   (run lines: interpreter and every configuration)");
    eprintln!("       kiln-fuzz wasm-compile|wasm-diff --seed S --count N [--duration T] [--verbose]");
    ExitCode::from(2)
}

struct Opts {
    seed: u64,
    count: u64,
    from: u64,
    case: u64,
    save: String,
    verbose: bool,
    large_every: u64,
    /// Stop after this many seconds (0: run all `count` cases).
    duration: u64,
    /// `--target`: the architecture `differential` compiles for (x86-64 by default).
    target: Option<String>,
}

fn parse_opts(args: &[String]) -> Option<Opts> {
    let mut o = Opts {
        seed: 1,
        count: 100,
        from: 0,
        case: 0,
        save: "fuzz/failures".into(),
        verbose: false,
        large_every: 0,
        duration: 0,
        target: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seed" => o.seed = it.next()?.parse().ok()?,
            "--count" => o.count = it.next()?.parse().ok()?,
            "--from" => o.from = it.next()?.parse().ok()?,
            "--case" => o.case = it.next()?.parse().ok()?,
            "--save" => o.save = it.next()?.clone(),
            "--large-every" => o.large_every = it.next()?.parse().ok()?,
            "--duration" => o.duration = it.next()?.parse().ok()?,
            // The wasm modes documented this spelling first.
            "--seconds" => o.duration = it.next()?.parse().ok()?,
            "--verbose" | "-v" => o.verbose = true,
            "--target" => o.target = Some(it.next()?.clone()),
            _ => return None,
        }
    }
    Some(o)
}

fn start_watchdog() {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(5));
            let started = STARTED.load(Ordering::Relaxed);
            if started == 0 {
                continue;
            }
            let now = now_ms();
            if now.saturating_sub(started) > 60_000 {
                let text = CURRENT.lock().map(|s| s.clone()).unwrap_or_default();
                eprintln!("watchdog: a case ran for more than 60 s (compiled code does not terminate?):\n{text}");
                std::process::exit(3);
            }
        }
    });
}

fn differential(o: &Opts) -> ExitCode {
    if let Some(t) = &o.target {
        let arch = kiln_ir::settings::TargetSpec::parse(t, &[]).map(|s| s.arch()).map_err(|e| e.to_string());
        if let Err(e) = arch.and_then(kiln_fuzz::oracle::set_target) {
            eprintln!("--target {t}: {e}");
            return ExitCode::from(2);
        }
    }
    start_watchdog();
    let mut oracle = TargetSupport::new();
    let cfg = target_config(GenConfig::default());
    let large = target_config(GenConfig::large());
    let differ = Differ::default();
    let mut stats = Stats::default();
    let (mut passed, mut failed, mut invalid_input) = (0u64, 0u64, 0u64);
    let start = Instant::now();
    for k in o.from..o.from + o.count {
        if o.duration > 0 && start.elapsed().as_secs() >= o.duration {
            println!("stopped after {} s, at case {k}", o.duration);
            break;
        }
        let data = seeded_bytes(o.seed, k);
        let cfg = if o.large_every > 0 && k % o.large_every == 0 { &large } else { &cfg };
        let case = match generate_case(&data, cfg, &mut oracle) {
            Ok(c) => c,
            Err(_) => {
                invalid_input += 1;
                continue;
            }
        };
        if let Ok(mut g) = CURRENT.lock() {
            *g = format!("seed {} case {k}\n{}", o.seed, case.program.to_clif());
        }
        STARTED.store(now_ms(), Ordering::Relaxed);
        if o.verbose {
            eprintln!("case {k}: {} instructions", case.program.size());
        }
        match differ.check(&case, Some(&mut stats)) {
            Ok(()) => passed += 1,
            Err(failure) => {
                failed += 1;
                report_failure(o, k, &case, &failure, &differ);
            }
        }
        STARTED.store(0, Ordering::Relaxed);
    }
    print_stats(&stats, &oracle);
    if let Some(o) = &differ.compile_time {
        println!("{}", o.borrow().summary());
    }
    if invalid_input > 0 {
        println!("{invalid_input} inputs gave no program");
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

fn report_failure(o: &Opts, k: u64, case: &Case, failure: &kiln_fuzz::diff::Failure, differ: &Differ) {
    println!("=== FAILURE: seed {} case {k}: {failure}", o.seed);
    println!("{}", case.program.to_clif());
    for a in &case.args {
        let s: Vec<String> = a.iter().map(|x| x.to_string()).collect();
        println!("; arguments: ({})", s.join(", "));
    }
    // Shrink against the failing configuration only.
    let compile_time = differ.compile_time.as_ref().map(|o| std::cell::RefCell::new(o.borrow().clone()));
    let mut d = Differ { configs: differ.configs.clone(), compile_time };
    if let Some(c) = failure.config() {
        d.configs = vec![c.clone()];
    }
    let (small, small_failure) = shrink(
        case,
        failure,
        |c| {
            // Each check gets its own watchdog period.
            STARTED.store(now_ms(), Ordering::Relaxed);
            d.check(c, None)
        },
        3000,
    );
    let header =
        format!("Reproducer found by `kiln-fuzz differential --seed {} --count {}` (case {k}).", o.seed, k + 1);
    let text = reproducer(&small, &small_failure, &header);
    println!("--- shrunk ({} -> {} instructions):\n{text}", case.program.size(), small.program.size());
    let _ = std::fs::create_dir_all(&o.save);
    let path = format!("{}/seed{}-case{k}.clif", o.save, o.seed);
    match std::fs::write(&path, &text) {
        Ok(()) => println!("--- saved {path}"),
        Err(e) => println!("--- could not save {path}: {e}"),
    }
}

fn print_stats(stats: &Stats, oracle: &TargetSupport) {
    let generated: std::collections::BTreeSet<&str> =
        table::GEN_OPS.iter().map(|g| g.opcode.name()).chain(table::CONTROL_OPCODES.iter().map(|o| o.name())).collect();
    let seen: Vec<&str> = stats.opcodes.keys().copied().collect();
    let missing: Vec<&&str> = generated.iter().filter(|n| !stats.opcodes.contains_key(*n)).collect();
    println!(
        "runs compared: {}; interpreter returned {} times, trapped {} times, {} runs skipped (fuel)",
        stats.comparisons,
        stats.returns,
        stats.traps.values().sum::<u64>(),
        stats.skipped_runs
    );
    let traps: Vec<String> = stats.traps.iter().map(|(c, n)| format!("{c}: {n}")).collect();
    println!("traps by code: {}", traps.join(", "));
    println!("opcodes exercised: {} ({})", seen.len(), seen.join(" "));
    if !missing.is_empty() {
        let m: Vec<&str> = missing.iter().map(|s| **s).collect();
        println!("opcodes of the table never exercised: {}", m.join(" "));
    }
    let types: Vec<String> = stats.types.iter().map(|t| t.to_string()).collect();
    println!("types exercised: {} ({})", types.len(), types.join(" "));
    println!("instruction forms the target rejects (not generated): {}", oracle.unsupported.len());
    for (k, e) in &oracle.errors {
        println!("probe error (backend bug?): {k}: {e}");
    }
    for (m, n) in &stats.unsupported {
        println!("unsupported at compile time ({n} cases): {m}");
    }
}

/// `cfg` with vectors where the target has a vector lowering (all three targets).
fn target_config(mut cfg: GenConfig) -> GenConfig {
    cfg.vectors = kiln_fuzz::oracle::vectors_supported();
    cfg
}

fn probe() -> ExitCode {
    let mut oracle = TargetSupport::new();
    let cfg = target_config(GenConfig::default());
    for k in 0..2000 {
        let _ = generate_case(&seeded_bytes(0xC0FFEE, k), &cfg, &mut oracle);
    }
    for (k, m) in &oracle.unsupported {
        println!("unsupported: {k}  [{m}]");
    }
    for (k, m) in &oracle.errors {
        println!("ERROR: {k}: {m}");
    }
    ExitCode::SUCCESS
}

fn print_case(o: &Opts) -> ExitCode {
    let mut oracle = TargetSupport::new();
    let cfg = target_config(if o.large_every > 0 && o.case % o.large_every == 0 {
        GenConfig::large()
    } else {
        GenConfig::default()
    });
    match generate_case(&seeded_bytes(o.seed, o.case), &cfg, &mut oracle) {
        Ok(c) => {
            println!("{}", c.program.to_clif());
            for a in &c.args {
                let s: Vec<String> = a.iter().map(|x| x.to_string()).collect();
                println!("; arguments: ({})", s.join(", "));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("no program: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check_files(paths: &[String]) -> ExitCode {
    let (mut passed, mut failed) = (0, 0);
    for p in paths {
        match std::fs::read_to_string(p).map_err(|e| e.to_string()).and_then(|t| kiln_fuzz::runtest::check_runtest(&t))
        {
            Ok(n) => passed += n,
            Err(e) => {
                println!("{p}: {e}");
                failed += 1;
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// `invalid`: break generated functions with random edits; those the verifier rejects
/// are compiled with the verifier off, and must give an error (or code), not a panic.
fn invalid(o: &Opts) -> ExitCode {
    let r =
        kiln_fuzz::mutate::compile_broken(o.seed, o.from, o.count, std::env::var_os("KILN_FUZZ_BACKTRACE").is_some());
    for p in &r.panics {
        println!("=== PANIC: {p}");
    }
    println!("{} invalid functions compiled with the verifier off, {} mutations still valid", r.rejected, r.accepted);
    println!("{} passed, {} failed", r.compiled - r.panics.len() as u64, r.panics.len());
    if r.panics.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// `wasm-compile` / `wasm-diff`: run `case` on seeded inputs; a panic is a failure too.
fn wasm_cases(o: &Opts, what: &str, case: fn(&[u8]) -> kiln_fuzz::wasm::Outcome) -> ExitCode {
    use kiln_fuzz::wasm::Outcome;
    start_watchdog();
    let start = Instant::now();
    let (mut passed, mut failed, mut skipped, mut calls) = (0u64, 0u64, 0u64, 0usize);
    let mut reasons: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    let mut k = o.from;
    loop {
        let more = if o.duration > 0 { start.elapsed().as_secs() < o.duration } else { k < o.from + o.count };
        if !more {
            break;
        }
        let data = seeded_bytes(o.seed, k);
        if let Ok(mut g) = CURRENT.lock() {
            *g = format!("kiln-fuzz {what} --seed {} --from {k} --count 1", o.seed);
        }
        STARTED.store(now_ms(), Ordering::Relaxed);
        let r = std::panic::catch_unwind(|| case(&data));
        STARTED.store(0, Ordering::Relaxed);
        match r {
            Ok(Outcome::Agreed(n)) => {
                passed += 1;
                calls += n;
            }
            Ok(Outcome::Skipped(why)) => {
                skipped += 1;
                let key: String = why.chars().take(60).collect();
                *reasons.entry(key).or_default() += 1;
            }
            Ok(Outcome::Mismatch(m)) => {
                failed += 1;
                println!(
                    "=== FAILURE: seed {} case {k} (kiln-fuzz {what} --seed {} --from {k} --count 1):\n{m}",
                    o.seed, o.seed
                );
            }
            Err(_) => {
                failed += 1;
                println!(
                    "=== PANIC: seed {} case {k} (kiln-fuzz {what} --seed {} --from {k} --count 1)",
                    o.seed, o.seed
                );
            }
        }
        if o.verbose && k % 100 == 0 {
            eprintln!(
                "case {k}: {passed} passed, {failed} failed, {skipped} skipped, {:.0} s",
                start.elapsed().as_secs_f64()
            );
        }
        k += 1;
    }
    println!(
        "{what}: cases {}..{k} of seed {} in {:.1} s; {calls} export calls compared",
        o.from,
        o.seed,
        start.elapsed().as_secs_f64()
    );
    for (r, n) in &reasons {
        println!("  skipped {n}: {r}");
    }
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    if failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else { return usage() };
    if cmd == "check" {
        return check_files(&args[1..]);
    }
    let Some(opts) = parse_opts(&args[1..]) else { return usage() };
    match cmd.as_str() {
        "differential" => differential(&opts),
        "probe" => probe(),
        "print" => print_case(&opts),
        "invalid" => invalid(&opts),
        "wasm-compile" => wasm_cases(&opts, "wasm-compile", kiln_fuzz::wasm::compile_module),
        "wasm-diff" => wasm_cases(&opts, "wasm-diff", kiln_fuzz::wasm::differential),
        _ => usage(),
    }
}

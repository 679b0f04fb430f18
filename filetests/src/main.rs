//! `clif-util`: Kiln's command-line tool for CLIF files and WebAssembly modules.
//!
//! Arguments are parsed by `clap` (derive): one struct per subcommand, options anywhere
//! before `--`, `--help` on every subcommand, `--version`. Exit status: 0 success, 1 test or
//! parse failures (or nothing to do: no functions, no run lines), 2 usage errors (clap's own
//! errors included).
//!
//! `test` and `run` execute run lines in a worker process with a time limit per line
//! (`--timeout SECONDS`, default 10; `0` = none), so a crash or an endless loop fails that
//! line and the run goes on (see `kiln_filetests::isolate`).
//!
//! Two option forms need care to keep the command lines of earlier versions working:
//! `--set` takes one word or several separated by spaces (`--set "opt_level=speed
//! enable_verifier"`), and `--target TRIPLE [FLAG...]` takes the triple and the ISA flags
//! after it, up to the next option or the first argument that looks like a file
//! ([`split_target`]).

use clap::{Args as ClapArgs, Parser, Subcommand};
use kiln_filetests::bench::{bench_parse, is_filetest};
use kiln_filetests::interpret_files::{InterpretOptions, interpret_files, render};
use kiln_filetests::native::{BenchCompileOptions, NativeOptions, bench_compile, compile_file, emit_object, run_file};
use kiln_filetests::opt_files::optimize_file;
use kiln_filetests::runner::{RunOptions, run_tests};
use kiln_ir::text::{ParseOptions, parse_functions, parse_test};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What a subcommand returns: `Ok(true)` success, `Ok(false)` failures were reported,
/// `Err` a usage error.
type CmdResult = Result<bool, String>;

#[derive(Parser)]
#[command(
    name = "clif-util",
    version,
    about = "Kiln's tool for CLIF files and WebAssembly modules",
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the filetests in the files and folders (recursively, *.clif)
    Test(TestArgs),
    /// Print every function of the files in canonical CLIF
    Cat(CatArgs),
    /// Run every run:/print: line of the files with the reference interpreter
    Interpret(InterpretArgs),
    /// Compile the files for the host and run every run:/print: line natively
    Run(RunArgs),
    /// Compile every function and print its VCode (-D: and its disassembly)
    Compile(CompileArgs),
    /// Run the optimizer on every function and print the optimized CLIF
    Opt(OptArgs),
    /// Measure throughput (parse: parse + verify; compile: the backend, as `anchor clif-compile` reports it)
    #[command(subcommand)]
    Bench(BenchCmd),
    /// WebAssembly: compile a module, run an export, run spec-test scripts
    #[command(subcommand)]
    Wasm(WasmCmd),
}

#[derive(ClapArgs)]
struct TestArgs {
    /// Also list skipped tests with their reasons
    #[arg(short, long)]
    verbose: bool,
    /// Worker threads (default: one per core)
    #[arg(short = 'j', long = "threads", value_name = "THREADS", value_parser = parse_threads)]
    threads: Option<usize>,
    /// Time limit of each run line in seconds (fractions allowed; 0: none) [default: 10]
    #[arg(long, value_name = "SECONDS", value_parser = parse_timeout)]
    timeout: Option<Timeout>,
    /// Files and folders
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

#[derive(ClapArgs)]
struct CatArgs {
    /// Files (`-` for standard input)
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// `--set` and `--target`, shared by the commands that configure the code generator.
#[derive(ClapArgs)]
struct SetTarget {
    /// A setting `NAME[=VALUE]` (repeatable; several words separated by spaces allowed)
    #[arg(long = "set", value_name = "NAME[=VALUE]")]
    set: Vec<String>,
    /// The target: a triple, then its ISA flags
    #[arg(long, num_args = 1.., value_name = "TRIPLE [FLAG...]")]
    target: Option<Vec<String>>,
}

#[derive(ClapArgs)]
struct InterpretArgs {
    /// List every run line
    #[arg(short, long)]
    verbose: bool,
    /// Worker threads (default: one per core)
    #[arg(short = 'j', long = "threads", value_name = "THREADS", value_parser = parse_threads)]
    threads: Option<usize>,
    #[command(flatten)]
    st: SetTarget,
    /// Files
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
}

#[derive(ClapArgs)]
struct NativeArgs {
    #[command(flatten)]
    st: SetTarget,
    /// Shorthand for `--set opt_level=LEVEL`
    #[arg(long, value_name = "LEVEL")]
    opt: Option<String>,
    /// Files
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
}

#[derive(ClapArgs)]
struct RunArgs {
    /// Time limit of each run line in seconds (fractions allowed; 0: none) [default: 10]
    #[arg(long, value_name = "SECONDS", value_parser = parse_timeout)]
    timeout: Option<Timeout>,
    #[command(flatten)]
    native: NativeArgs,
}

#[derive(ClapArgs)]
struct CompileArgs {
    /// Also print the disassembly
    #[arg(short = 'D', long = "disasm", conflicts_with = "emit_obj")]
    disasm: bool,
    /// Write the functions to this object file instead (one target; every function an
    /// exported symbol; DWARF lines point into the .clif file)
    #[arg(long = "emit-obj", value_name = "OUT.o")]
    emit_obj: Option<PathBuf>,
    #[command(flatten)]
    native: NativeArgs,
}

#[derive(ClapArgs)]
struct OptArgs {
    /// Add e-graph counters, pass times and the rules that fired
    #[arg(long)]
    stats: bool,
    #[command(flatten)]
    native: NativeArgs,
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Parse + verify throughput
    Parse {
        /// Iterations
        #[arg(long, default_value_t = 10, value_parser = parse_threads)]
        iters: usize,
        /// Files
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Backend throughput and code size, in the format of `anchor clif-compile`
    Compile(BenchCompileArgs),
}

#[derive(ClapArgs)]
struct BenchCompileArgs {
    /// Timed iterations
    #[arg(long, default_value_t = 10)]
    iters: usize,
    /// Untimed iterations first
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Run the IR verifier
    #[arg(long)]
    verifier: bool,
    /// Report every function
    #[arg(long = "per-func")]
    per_func: bool,
    /// Compile each file's functions on N threads (0 = one per core)
    #[arg(long, default_value_t = 1)]
    threads: usize,
    #[command(flatten)]
    native: NativeArgs,
}

#[derive(Subcommand)]
enum WasmCmd {
    /// Translate and compile a module; report as `anchor wasm-compile` does
    Compile(WasmCompileArgs),
    /// Instantiate a module and call an export; report as `anchor wasm-run` does
    Run(WasmRunArgs),
    /// Run WebAssembly spec-test scripts (.wast files and folders)
    Wast(WastArgs),
}

#[derive(ClapArgs)]
struct WasmCompileArgs {
    /// A code-generator setting `NAME[=VALUE]` (repeatable)
    #[arg(long = "set", value_name = "NAME[=VALUE]")]
    set: Vec<String>,
    /// Compile threads (0 = one per core)
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Timed iterations
    #[arg(long, default_value_t = 5)]
    iters: usize,
    /// Untimed iterations first
    #[arg(long, default_value_t = 0)]
    warmup: usize,
    /// Write each function's optimized IR to this folder
    #[arg(long = "emit-clif", value_name = "DIR")]
    emit_clif: Option<PathBuf>,
    /// A .wasm or .wat file
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

#[derive(ClapArgs)]
struct WasmRunArgs {
    /// A code-generator setting `NAME[=VALUE]` (repeatable)
    #[arg(long = "set", value_name = "NAME[=VALUE]")]
    set: Vec<String>,
    /// Compile threads (0 = one per core)
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Timed calls
    #[arg(long, default_value_t = 10)]
    iters: usize,
    /// Untimed calls first
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// A .wasm or .wat file
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The exported function
    #[arg(value_name = "EXPORT")]
    export: String,
    /// Its arguments (i32/i64: decimal or 0x hex; f32/f64: decimal)
    #[arg(value_name = "ARGS", allow_negative_numbers = true)]
    args: Vec<String>,
}

#[derive(ClapArgs)]
struct WastArgs {
    /// Also list skipped directives with their reasons
    #[arg(short, long)]
    verbose: bool,
    /// Worker threads (files in parallel; 0 = one per core)
    #[arg(short = 'j', long = "threads", default_value_t = 0)]
    threads: usize,
    /// Skip (instead of failing) what the target cannot compile (e.g. SIMD without a SIMD
    /// backend) or what needs a proposal Kiln does not implement
    #[arg(long = "allow-unsupported")]
    allow_unsupported: bool,
    /// A code-generator setting `NAME[=VALUE]` (repeatable)
    #[arg(long = "set", value_name = "NAME[=VALUE]")]
    set: Vec<String>,
    /// .wast files and folders
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

fn parse_threads(v: &str) -> Result<usize, String> {
    v.parse::<usize>().ok().filter(|&n| n > 0).ok_or_else(|| format!("invalid count '{v}' (a positive number)"))
}

/// A `--timeout` value: the limit, or `None` for no limit (a newtype, because clap gives
/// `Option<Option<_>>` fields a meaning of their own).
#[derive(Clone, Copy)]
struct Timeout(Option<std::time::Duration>);

/// `--timeout SECONDS` (fractions allowed; `0`: no limit).
fn parse_timeout(v: &str) -> Result<Timeout, String> {
    let s =
        v.parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0).ok_or_else(|| format!("invalid timeout '{v}'"))?;
    Ok(Timeout((s > 0.0).then(|| std::time::Duration::from_secs_f64(s))))
}

/// The words of `--set` options (each may hold several, separated by spaces), validated.
fn set_words(sets: &[String]) -> Result<Vec<String>, String> {
    let words: Vec<String> = sets.iter().flat_map(|s| s.split_whitespace().map(String::from)).collect();
    let mut probe = kiln_ir::settings::Flags::new();
    for w in &words {
        probe.set_word(w).map_err(|e| format!("--set {w}: {e}"))?;
    }
    Ok(words)
}

/// Does a `--target` word look like a file rather than an ISA flag?
fn looks_like_file(w: &str) -> bool {
    w.ends_with(".clif") || w.contains('/') || Path::new(w).exists()
}

/// Split the words of `--target` into the triple, its ISA flags, and the files that
/// followed them on the command line (moved to `files`, in front).
fn split_target(
    target: &Option<Vec<String>>,
    files: &mut Vec<PathBuf>,
) -> Result<Option<(String, Vec<String>)>, String> {
    let Some(words) = target else { return Ok(None) };
    let mut words = words.iter().flat_map(|w| w.split_whitespace().map(String::from));
    let triple = words.next().ok_or("empty --target")?;
    let mut flags = Vec::new();
    let mut moved = Vec::new();
    for w in words {
        if moved.is_empty() && !looks_like_file(&w) {
            flags.push(w);
        } else {
            moved.push(PathBuf::from(w));
        }
    }
    moved.append(files);
    *files = moved;
    Ok(Some((triple, flags)))
}

/// The native options of `run`, `compile`, `opt` and `bench compile`, and their files.
fn native_options(a: NativeArgs) -> Result<(NativeOptions, Vec<PathBuf>), String> {
    let mut files = a.files;
    let target = split_target(&a.st.target, &mut files)?;
    let mut sets = a.st.set;
    if let Some(o) = a.opt {
        sets.push(format!("opt_level={o}"));
    }
    let opts = NativeOptions { sets: set_words(&sets)?, target, ..Default::default() };
    if files.is_empty() {
        return Err("no files given".into());
    }
    Ok((opts, files))
}

fn cmd_test(a: TestArgs) -> CmdResult {
    let mut opts = RunOptions { verbose: a.verbose, threads: a.threads, ..Default::default() };
    if let Some(t) = a.timeout {
        opts.run_limits.timeout = t.0;
    }
    let summary = run_tests(&a.paths, &opts);
    print!("{}", summary.render(opts.verbose));
    Ok(summary.is_success())
}

fn cmd_cat(a: CatArgs) -> CmdResult {
    let mut ok = true;
    let mut first = true;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for f in &a.files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{}: {e}", f.display());
                ok = false;
                continue;
            }
        };
        let parsed = if is_filetest(&text) {
            parse_test(&text, &ParseOptions::default()).map(|tf| tf.functions.into_iter().map(|(f, _)| f).collect())
        } else {
            parse_functions(&text)
        };
        match parsed {
            Ok(funcs) if funcs.is_empty() => {
                eprintln!("{}: no functions", f.display());
                ok = false;
            }
            Ok(funcs) => {
                for func in funcs {
                    if !first {
                        let _ = writeln!(out);
                    }
                    first = false;
                    let _ = write!(out, "{}", func.display());
                }
            }
            Err(e) => {
                let _ = out.flush();
                eprintln!("{}:{e}", f.display());
                ok = ok && e.is_warning;
            }
        }
    }
    Ok(ok)
}

fn cmd_interpret(a: InterpretArgs) -> CmdResult {
    let mut files = a.files;
    let target = split_target(&a.st.target, &mut files)?;
    let opts = InterpretOptions { sets: set_words(&a.st.set)?, target, threads: a.threads };
    if files.is_empty() {
        return Err("no files given".into());
    }
    let reports = interpret_files(&files, &opts)?;
    let (text, ok) = render(&reports, a.verbose);
    print!("{text}");
    Ok(ok)
}

fn cmd_run(a: RunArgs) -> CmdResult {
    let (mut opts, files) = native_options(a.native)?;
    if let Some(t) = a.timeout {
        opts.run_limits.timeout = t.0;
    }
    let (files, bad) = kiln_filetests::runner::collect_files(&files);
    let (mut passed, mut failed) = (0, bad.len());
    for b in &bad {
        eprintln!("{}: cannot read", b.path.display());
    }
    for f in &files {
        let (p, n, text) = run_file(f, &opts);
        print!("{text}");
        passed += p;
        failed += n;
    }
    println!("{passed} passed, {failed} failed");
    if passed + failed == 0 {
        eprintln!("clif-util run: nothing ran: no `; run:` or `; print:` lines this host can run");
        return Ok(false);
    }
    Ok(failed == 0)
}

/// The shape of `compile` and `opt`: the native options plus one switch, then `run` on
/// each file, printing its text; true if every file succeeded.
/// `compile`: print VCode (and disassembly), or write an object file.
fn cmd_compile(a: CompileArgs) -> CmdResult {
    let Some(out) = a.emit_obj else {
        return files_with_switch(a.native, a.disasm, compile_file);
    };
    let (opts, files) = native_options(a.native)?;
    match emit_object(&files, &opts, &out) {
        Ok(summary) => {
            print!("{summary}");
            Ok(true)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(false)
        }
    }
}

fn files_with_switch(a: NativeArgs, switch: bool, run: fn(&Path, &NativeOptions, bool) -> (bool, String)) -> CmdResult {
    let (opts, files) = native_options(a)?;
    let mut ok = true;
    for f in &files {
        let (good, text) = run(f, &opts, switch);
        print!("{text}");
        ok &= good;
    }
    Ok(ok)
}

fn cmd_bench(b: BenchCmd) -> CmdResult {
    match b {
        BenchCmd::Parse { iters, files } => {
            let (files, bad) = kiln_filetests::runner::collect_files(&files);
            for b in &bad {
                eprintln!("{}: cannot read", b.path.display());
            }
            match bench_parse(&files, iters) {
                Ok(text) => {
                    print!("{text}");
                    Ok(bad.is_empty())
                }
                Err(e) => {
                    eprintln!("{e}");
                    Ok(false)
                }
            }
        }
        BenchCmd::Compile(a) => {
            let bench = BenchCompileOptions {
                iters: a.iters.max(1),
                warmup: a.warmup,
                verifier: a.verifier,
                per_func: a.per_func,
                threads: a.threads,
            };
            let (opts, files) = native_options(a.native)?;
            match bench_compile(&files, &opts, &bench) {
                Ok((text, 0)) => {
                    print!("{text}");
                    Ok(true)
                }
                Ok((text, n)) => {
                    print!("{text}");
                    eprintln!(
                        "clif-util bench compile: {n} function{} invalid or failed to compile",
                        if n == 1 { "" } else { "s" }
                    );
                    Ok(false)
                }
                Err(e) => {
                    eprintln!("{e}");
                    Ok(false)
                }
            }
        }
    }
}

fn cmd_wasm(w: WasmCmd) -> CmdResult {
    use kiln_filetests::wasm_cmd::{WasmOptions, render_wast, run_wast_files, wasm_compile, wasm_run, wast_files};
    use kiln_filetests::wast::WastOptions;
    match w {
        WasmCmd::Compile(a) => {
            let opts =
                WasmOptions { settings: set_words(&a.set)?, threads: a.threads, iters: a.iters, warmup: a.warmup };
            print!("{}", wasm_compile(&a.file, &opts, a.emit_clif.as_deref())?);
            Ok(true)
        }
        WasmCmd::Run(a) => {
            let opts =
                WasmOptions { settings: set_words(&a.set)?, threads: a.threads, iters: a.iters, warmup: a.warmup };
            match wasm_run(&a.file, &a.export, &a.args, &opts) {
                Ok(s) => {
                    print!("{s}");
                    Ok(true)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(false)
                }
            }
        }
        WasmCmd::Wast(a) => {
            let opts =
                WastOptions { allow_unsupported: a.allow_unsupported, settings: set_words(&a.set)?, features: None };
            let files = wast_files(&a.paths)?;
            let reports = run_wast_files(&files, &opts, a.threads);
            print!("{}", render_wast(&files, &reports, a.verbose));
            Ok(reports.iter().all(|r| r.failures.is_empty()))
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (name, result) = match cli.command {
        Cmd::Test(a) => ("test", cmd_test(a)),
        Cmd::Cat(a) => ("cat", cmd_cat(a)),
        Cmd::Interpret(a) => ("interpret", cmd_interpret(a)),
        Cmd::Run(a) => ("run", cmd_run(a)),
        Cmd::Compile(a) => ("compile", cmd_compile(a)),
        Cmd::Opt(a) => ("opt", files_with_switch(a.native, a.stats, optimize_file)),
        Cmd::Bench(b) => ("bench", cmd_bench(b)),
        Cmd::Wasm(w) => ("wasm", cmd_wasm(w)),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("clif-util {name}: error: {e}\n\nFor more information, try 'clif-util {name} --help'.");
            ExitCode::from(2)
        }
    }
}

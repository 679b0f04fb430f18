//! `clif-util`: Kiln's command-line tool for CLIF files.
//!
//! Subcommands are rows of [`COMMANDS`] (name, usage, description, entry point); adding one
//! (`run`, `compile`, `opt`, `wasm`, …) means adding a row and a function. Arguments are
//! parsed by hand ([`Args`]): options may appear anywhere before `--`, unknown options are
//! errors, `--help` / `-h` print the subcommand's usage. Exit status: 0 success, 1 test or
//! parse failures (or nothing to do: no functions, no run lines), 2 usage errors.
//!
//! `test` and `run` execute run lines in a worker process with a time limit per line
//! (`--timeout SECONDS`, default 10; `0` = none), so a crash or an endless loop fails that
//! line and the run goes on (see `kiln_filetests::isolate`).

use kiln_filetests::bench::{bench_parse, is_filetest};
use kiln_filetests::interpret_files::{InterpretOptions, interpret_files, render};
use kiln_filetests::native::{BenchCompileOptions, NativeOptions, bench_compile, compile_file, run_file};
use kiln_filetests::opt_files::optimize_file;
use kiln_filetests::runner::{RunOptions, run_tests};
use kiln_ir::text::{ParseOptions, parse_functions, parse_test};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// What a subcommand returns: `Ok(true)` success, `Ok(false)` failures were reported,
/// `Err` a usage error.
type CmdResult = Result<bool, String>;

/// The entry point of a subcommand.
type CmdFn = fn(Args) -> CmdResult;

/// A subcommand.
struct Command {
    name: &'static str,
    usage: &'static str,
    about: &'static str,
    run: CmdFn,
}

/// Every subcommand. Planned: `wasm` (translate WebAssembly).
const COMMANDS: &[Command] = &[
    Command {
        name: "test",
        usage: "clif-util test [-v] [-j THREADS] [--timeout SECONDS] PATH...",
        about: "run the filetests in the files and folders (recursively, *.clif)",
        run: cmd_test,
    },
    Command {
        name: "cat",
        usage: "clif-util cat FILE...",
        about: "print every function of the files in canonical CLIF",
        run: cmd_cat,
    },
    Command {
        name: "interpret",
        usage: "clif-util interpret [-v] [-j THREADS] [--set NAME[=VALUE]]... [--target TRIPLE [FLAG...]] FILE...",
        about: "run every run:/print: line of the files with the reference interpreter",
        run: cmd_interpret,
    },
    Command {
        name: "run",
        usage: "clif-util run [--timeout SECONDS] [--set NAME[=VALUE]]... [--target TRIPLE [FLAG...]] FILE...",
        about: "compile the files for the host and run every run:/print: line natively",
        run: cmd_run,
    },
    Command {
        name: "compile",
        usage: "clif-util compile [-D] [--set NAME[=VALUE]]... [--target TRIPLE [FLAG...]] FILE...",
        about: "compile every function and print its VCode (-D: and its disassembly)",
        run: cmd_compile,
    },
    Command {
        name: "opt",
        usage: "clif-util opt [--stats] [--set NAME[=VALUE]]... [--target TRIPLE [FLAG...]] FILE...",
        about: "run the optimizer on every function and print the optimized CLIF",
        run: cmd_opt,
    },
    Command {
        name: "bench",
        usage: "clif-util bench parse [--iters N] FILE...\n  clif-util bench compile [--set NAME=VALUE]... [--opt LEVEL] [--iters N] [--warmup N] [--verifier] [--per-func] [--threads N] FILE...",
        about: "measure throughput (parse: parse + verify; compile: the backend, as `anchor clif-compile` reports it)",
        run: cmd_bench,
    },
    Command {
        name: "help",
        usage: "clif-util help [COMMAND]",
        about: "show this help or a command's usage",
        run: cmd_help,
    },
];

/// `bench` kinds (`bench compile` will be added here).
const BENCHES: &[(&str, CmdFn)] = &[("parse", bench_parse_cmd), ("compile", bench_compile_cmd)];

/// The remaining arguments of a subcommand.
struct Args {
    command: &'static Command,
    items: Vec<String>,
    pos: usize,
}

impl Args {
    fn new(command: &'static Command, items: Vec<String>) -> Self {
        Args { command, items, pos: 0 }
    }

    /// The next argument.
    fn next(&mut self) -> Option<String> {
        let a = self.items.get(self.pos).cloned();
        self.pos += a.is_some() as usize;
        a
    }

    /// The next argument, which must exist (the value of `opt`).
    fn value(&mut self, opt: &str) -> Result<String, String> {
        self.next().ok_or_else(|| format!("{opt} needs a value"))
    }

    /// Peek at the next argument.
    fn peek(&self) -> Option<&str> {
        self.items.get(self.pos).map(String::as_str)
    }
}

fn usage_error(cmd: &Command, msg: &str) -> String {
    format!("{msg}\nusage: {}", cmd.usage)
}

fn is_help(a: &str) -> bool {
    a == "--help" || a == "-h"
}

fn parse_threads(v: &str) -> Result<usize, String> {
    v.parse::<usize>().ok().filter(|&n| n > 0).ok_or_else(|| format!("invalid thread count '{v}'"))
}

/// `--timeout SECONDS` (fractions allowed; `0`: no limit).
fn parse_timeout(v: &str) -> Result<Option<std::time::Duration>, String> {
    let s = v.parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0).ok_or_else(|| format!("invalid timeout '{v}'"))?;
    Ok((s > 0.0).then(|| std::time::Duration::from_secs_f64(s)))
}

fn cmd_test(mut args: Args) -> CmdResult {
    let mut opts = RunOptions::default();
    let mut paths = Vec::new();
    let mut only_paths = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            _ if only_paths => paths.push(PathBuf::from(a)),
            "--" => only_paths = true,
            "-v" | "--verbose" => opts.verbose = true,
            "-j" | "--threads" => opts.threads = Some(parse_threads(&args.value(&a)?)?),
            "--timeout" => opts.run_limits.timeout = parse_timeout(&args.value(&a)?)?,
            s if s.starts_with('-') => return Err(usage_error(args.command, &format!("unknown option '{s}'"))),
            _ => paths.push(PathBuf::from(a)),
        }
    }
    if paths.is_empty() {
        return Err(usage_error(args.command, "no files or folders given"));
    }
    let summary = run_tests(&paths, &opts);
    print!("{}", summary.render(opts.verbose));
    Ok(summary.is_success())
}

fn cmd_cat(mut args: Args) -> CmdResult {
    let mut files = Vec::new();
    while let Some(a) = args.next() {
        if a.starts_with('-') && a != "-" {
            return Err(usage_error(args.command, &format!("unknown option '{a}'")));
        }
        files.push(PathBuf::from(a));
    }
    if files.is_empty() {
        return Err(usage_error(args.command, "no files given"));
    }
    let mut ok = true;
    let mut first = true;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for f in &files {
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

fn cmd_interpret(mut args: Args) -> CmdResult {
    let mut opts = InterpretOptions::default();
    let mut files = Vec::new();
    let mut verbose = false;
    let mut only_paths = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            _ if only_paths => files.push(PathBuf::from(a)),
            "--" => only_paths = true,
            "-v" | "--verbose" => verbose = true,
            "-j" | "--threads" => opts.threads = Some(parse_threads(&args.value(&a)?)?),
            "--set" => opts.sets.extend(args.value("--set")?.split_whitespace().map(String::from)),
            "--target" => opts.target = Some(target_option(&mut args)?),
            s if s.starts_with('-') => return Err(usage_error(args.command, &format!("unknown option '{s}'"))),
            _ => files.push(PathBuf::from(a)),
        }
    }
    if files.is_empty() {
        return Err(usage_error(args.command, "no files given"));
    }
    let reports = interpret_files(&files, &opts).map_err(|e| usage_error(args.command, &e))?;
    let (text, ok) = render(&reports, verbose);
    print!("{text}");
    Ok(ok)
}

/// The value of `--target`: `--target "x86_64 has_avx"` or `--target x86_64 has_avx …` —
/// the words after the triple, up to the next option or file-looking argument, are ISA
/// flags.
fn target_option(args: &mut Args) -> Result<(String, Vec<String>), String> {
    let v = args.value("--target")?;
    let mut words = v.split_whitespace().map(String::from);
    let Some(triple) = words.next() else { return Err(usage_error(args.command, "empty --target")) };
    let mut flags: Vec<String> = words.collect();
    while let Some(p) = args.peek() {
        if p.starts_with('-') || p.ends_with(".clif") || p.contains('/') || std::path::Path::new(p).exists() {
            break;
        }
        flags.push(p.to_string());
        args.pos += 1;
    }
    Ok((triple, flags))
}

/// Parse the common options of `run`, `compile` and `bench compile`; returns the files.
/// `extra` handles command-specific flags (returns true when it consumed one).
fn native_args(
    args: &mut Args,
    opts: &mut NativeOptions,
    mut extra: impl FnMut(&str, &mut Args) -> Result<bool, String>,
) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--set" => opts.sets.extend(args.value("--set")?.split_whitespace().map(String::from)),
            "--opt" => opts.sets.push(format!("opt_level={}", args.value("--opt")?)),
            "--target" => opts.target = Some(target_option(args)?),
            s if extra(s, args)? => {}
            s if s.starts_with('-') => return Err(usage_error(args.command, &format!("unknown option '{s}'"))),
            _ => files.push(PathBuf::from(a)),
        }
    }
    // Validate --set words once.
    let mut probe = kiln_ir::settings::Flags::new();
    for w in &opts.sets {
        probe.set_word(w).map_err(|e| usage_error(args.command, &format!("--set {w}: {e}")))?;
    }
    if files.is_empty() {
        return Err(usage_error(args.command, "no files given"));
    }
    Ok(files)
}

fn cmd_run(mut args: Args) -> CmdResult {
    let mut opts = NativeOptions::default();
    let mut timeout = None;
    let files = native_args(&mut args, &mut opts, |a, args| {
        if a != "--timeout" {
            return Ok(false);
        }
        timeout = Some(parse_timeout(&args.value(a)?)?);
        Ok(true)
    })?;
    if let Some(t) = timeout {
        opts.run_limits.timeout = t;
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

fn cmd_compile(args: Args) -> CmdResult {
    files_with_switch(args, &["-D", "--disasm"], compile_file)
}

fn cmd_opt(args: Args) -> CmdResult {
    files_with_switch(args, &["--stats"], optimize_file)
}

/// The shape of `compile` and `opt`: the native options plus one on/off switch (any of
/// `names`), then `run` on each file, printing its text; true if every file succeeded.
fn files_with_switch(
    mut args: Args,
    names: &[&str],
    run: fn(&std::path::Path, &NativeOptions, bool) -> (bool, String),
) -> CmdResult {
    let mut opts = NativeOptions::default();
    let mut switch = false;
    let files = native_args(&mut args, &mut opts, |a, _| {
        let hit = names.contains(&a);
        switch |= hit;
        Ok(hit)
    })?;
    let mut ok = true;
    for f in &files {
        let (good, text) = run(f, &opts, switch);
        print!("{text}");
        ok &= good;
    }
    Ok(ok)
}

fn bench_compile_cmd(mut args: Args) -> CmdResult {
    let mut opts = NativeOptions::default();
    let mut bench = BenchCompileOptions::default();
    let files = native_args(&mut args, &mut opts, |a, args| {
        let num = |args: &mut Args, name: &str| -> Result<usize, String> {
            let v = args.value(name)?;
            v.parse::<usize>().map_err(|_| format!("invalid {name} '{v}'"))
        };
        match a {
            "--iters" => bench.iters = num(args, "--iters")?.max(1),
            "--warmup" => bench.warmup = num(args, "--warmup")?,
            "--verifier" => bench.verifier = true,
            "--per-func" => bench.per_func = true,
            "--threads" => bench.threads = num(args, "--threads")?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    match bench_compile(&files, &opts, &bench) {
        Ok((text, 0)) => {
            print!("{text}");
            Ok(true)
        }
        Ok((text, n)) => {
            print!("{text}");
            eprintln!("clif-util bench compile: {n} function{} invalid or failed to compile", if n == 1 { "" } else { "s" });
            Ok(false)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(false)
        }
    }
}

fn cmd_bench(mut args: Args) -> CmdResult {
    let Some(kind) = args.next() else {
        return Err(usage_error(args.command, "which benchmark? (parse, compile)"));
    };
    match BENCHES.iter().find(|(n, _)| *n == kind) {
        Some((_, run)) => run(args),
        None => Err(usage_error(args.command, &format!("unknown benchmark '{kind}'"))),
    }
}

fn bench_parse_cmd(mut args: Args) -> CmdResult {
    let mut iters = 10;
    let mut files = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--iters" => {
                let v = args.value("--iters")?;
                iters = v.parse::<usize>().ok().filter(|&n| n > 0).ok_or_else(|| format!("invalid --iters '{v}'"))?;
            }
            s if s.starts_with('-') => return Err(usage_error(args.command, &format!("unknown option '{s}'"))),
            _ => files.push(PathBuf::from(a)),
        }
    }
    if files.is_empty() {
        return Err(usage_error(args.command, "no files given"));
    }
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

fn general_help() -> String {
    let mut s = String::from("clif-util: Kiln's tool for CLIF files\n\ncommands:\n");
    for c in COMMANDS {
        s.push_str(&format!("  {:<10} {}\n", c.name, c.about));
    }
    s.push_str("\nusage:\n");
    for c in COMMANDS {
        s.push_str(&format!("  {}\n", c.usage));
    }
    s.push_str("\n`clif-util help COMMAND` or `clif-util COMMAND --help` shows a command's usage.\n");
    s
}

fn cmd_help(mut args: Args) -> CmdResult {
    match args.next() {
        None => print!("{}", general_help()),
        Some(name) => match COMMANDS.iter().find(|c| c.name == name) {
            Some(c) => println!("{}\n\nusage: {}", c.about, c.usage),
            None => return Err(format!("unknown command '{name}'\n\n{}", general_help())),
        },
    }
    Ok(true)
}

fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1);
    let Some(name) = argv.next() else {
        eprint!("{}", general_help());
        return ExitCode::from(2);
    };
    let name = if is_help(&name) { "help".to_string() } else { name };
    let Some(command) = COMMANDS.iter().find(|c| c.name == name) else {
        eprintln!("clif-util: unknown command '{name}'\n\n{}", general_help());
        return ExitCode::from(2);
    };
    let rest: Vec<String> = argv.collect();
    if command.name != "help" && rest.iter().take_while(|a| *a != "--").any(|a| is_help(a)) {
        println!("{}\n\nusage: {}", command.about, command.usage);
        return ExitCode::SUCCESS;
    }
    match (command.run)(Args::new(command, rest)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("clif-util {}: error: {e}", command.name);
            ExitCode::from(2)
        }
    }
}

//! `clif-util run`, `clif-util compile` and `clif-util bench compile`: compiling files with
//! Kiln's backends outside the filetest runner.
//!
//! Target selection (shared by the three): `--target TRIPLE FLAGS…` when given; otherwise
//! the file's `target` lines (for `run`, only those this host can run: its own architecture
//! natively, others under qemu as `cross_run` says); a file
//! without any usable `target` line is compiled for the host with every feature the CPU
//! has (`compile` prints a note when the file's targets have no Kiln backend yet, such as
//! riscv64 today). Settings are the file's (the snapshot of each target line, §4.5) with the command
//! line's `--set` words and `--opt` applied on top.

use crate::bench::is_filetest;
use crate::isolate::{IsolatedRunner, RunLimits};
use crate::jit_run::JitRunner;
use crate::kinds::run::host_can_run;
use kiln_codegen::Context;
use kiln_ir::Function;
use kiln_ir::data_value::DataValue;
use kiln_ir::settings::{Arch, Flags, TargetSpec};
use kiln_ir::text::runcommand::{Comparison, RunCommand, parse_run_command};
use kiln_ir::text::{Details, IsaSpec, ParseOptions, parse_functions_with_details, parse_test};
use std::fmt::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// Command-line configuration.
#[derive(Clone, Debug, Default)]
pub struct NativeOptions {
    /// `--set` words, applied in order.
    pub sets: Vec<String>,
    /// `--target TRIPLE FLAGS…`.
    pub target: Option<(String, Vec<String>)>,
    /// How `run` executes run lines (`--timeout`).
    pub run_limits: RunLimits,
}

/// A parsed file: its functions with their comments, and the configurations to compile it
/// with.
pub struct NativeFile {
    /// Functions and their details (comments with run commands).
    pub functions: Vec<(Function, Details)>,
    /// (target, settings) pairs.
    pub configs: Vec<(TargetSpec, Flags)>,
    /// Why `clif-util run` skips the file, if it does: its targets do not include the
    /// host's architecture (as `anchor clif-run` does). A file without a `test run` line is
    /// run all the same: the user asked for it.
    pub run_skip: Option<String>,
    /// Set when the file's `target` lines name only architectures without a Kiln backend
    /// and the host was used instead: says so, for `compile` and `opt` to print.
    pub fallback: Option<String>,
}

/// The host's target with every feature its CPU has.
pub fn host_spec() -> Result<TargetSpec, String> {
    let triple = kiln_isa::host_triple();
    let isa_flags = kiln_isa::host_isa_flags().ok_or_else(|| format!("no backend for the host {triple}"))?;
    Ok(TargetSpec { triple, isa_flags })
}

/// Read a file and work out its configurations. `host_only` keeps only targets this host
/// can run code for (its own architecture, or one run under qemu, see `cross_run`).
pub fn load(path: &Path, opts: &NativeOptions, host_only: bool) -> Result<NativeFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut run_skip = None;
    let mut fallback = None;
    let (functions, isa_spec) = if is_filetest(&text) {
        let tf = parse_test(&text, &ParseOptions::default()).map_err(|e| format!("{}:{e}", path.display()))?;
        if let IsaSpec::Targets(ts) = &tf.isa_spec {
            let host = host_spec()?;
            if opts.target.is_none() && !ts.iter().any(|t| runnable_arch(t.spec.arch())) {
                run_skip = Some(format!("no target this host can run ({:?}, or one run under qemu)", host.arch()));
            }
        }
        (tf.functions, tf.isa_spec)
    } else {
        let fs = parse_functions_with_details(&text).map_err(|e| format!("{}:{e}", path.display()))?;
        (fs, IsaSpec::None(Flags::default()))
    };
    if functions.is_empty() {
        return Err(format!("{}: no functions", path.display()));
    }
    let mut configs: Vec<(TargetSpec, Flags)> = match (&opts.target, &isa_spec) {
        (Some((triple, words)), spec) => {
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            let t = TargetSpec::parse(triple, &words).map_err(|e| format!("--target {triple}: {e}"))?;
            let flags = match spec {
                IsaSpec::None(f) => f.clone(),
                IsaSpec::Targets(ts) => ts.last().map(|t| t.flags.clone()).unwrap_or_default(),
            };
            vec![(t, flags)]
        }
        (None, IsaSpec::Targets(ts)) => {
            let host = host_spec()?;
            let mut v: Vec<(TargetSpec, Flags)> = ts
                .iter()
                .filter(|t| !host_only || runnable_arch(t.spec.arch()))
                .filter(|t| kiln_isa::has_backend(t.spec.arch()))
                .map(|t| (t.spec.clone(), t.flags.clone()))
                .collect();
            if v.is_empty() {
                let named: Vec<String> = ts.iter().map(|t| t.spec.triple.to_string()).collect();
                fallback = Some(format!(
                    "no Kiln backend for the file's target{} {}: compiled for the host {} instead",
                    if named.len() == 1 { "" } else { "s" },
                    named.join(", "),
                    host.triple
                ));
                v.push((host, ts.last().map(|t| t.flags.clone()).unwrap_or_default()));
            }
            v
        }
        (None, IsaSpec::None(f)) => vec![(host_spec()?, f.clone())],
    };
    for (_, flags) in &mut configs {
        for w in &opts.sets {
            flags.set_word(w).map_err(|e| format!("--set {w}: {e}"))?;
        }
    }
    Ok(NativeFile { functions, configs, run_skip, fallback })
}

fn show_values(vals: &[DataValue]) -> String {
    match vals {
        [v] => v.to_string(),
        _ => format!("[{}]", vals.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

/// `clif-util run`: execute every run line of the file natively. Returns (passed, failed,
/// report text).
pub fn run_file(path: &Path, opts: &NativeOptions) -> (usize, usize, String) {
    let mut out = String::new();
    let (mut passed, mut failed) = (0, 0);
    let file = match load(path, opts, true) {
        Ok(f) => f,
        Err(e) => return (0, 1, format!("{e}\n")),
    };
    if let Some(why) = &file.run_skip {
        let _ = writeln!(out, "{}: skipped: {why}", path.display());
        return (0, 0, out);
    }
    let funcs: Vec<Function> = file.functions.iter().map(|(f, _)| f.clone()).collect();
    for (spec, flags) in &file.configs {
        let label = format!("{} {}", spec.triple, spec.isa_flags);
        if let Err(why) = host_can_run(spec) {
            let _ = writeln!(out, "{}: [{label}] skipped: {why}", path.display());
            continue;
        }
        if flags.enable_pinned_reg() != 0 {
            // (The pinned register is not preserved across the harness's calls.)
            let _ =
                writeln!(out, "{}: [{label}] skipped: cannot run code compiled with enable_pinned_reg", path.display());
            continue;
        }
        let isa = match kiln_isa::lookup(spec, flags.clone()) {
            Ok(i) => i,
            Err(e) => {
                let _ = writeln!(out, "{}: {e}", path.display());
                failed += 1;
                continue;
            }
        };
        let mut runner = match JitRunner::new(&funcs, isa) {
            Ok(r) => IsolatedRunner::new(r, opts.run_limits),
            Err(e) => {
                let _ = writeln!(out, "{}: [{label}] {e}", path.display());
                failed += 1;
                continue;
            }
        };
        for (i, (f, d)) in file.functions.iter().enumerate() {
            for c in &d.comments {
                let cmd = match parse_run_command(&c.text, &f.signature) {
                    Ok(None) => continue,
                    Ok(Some(cmd)) => cmd,
                    Err(e) => {
                        let _ = writeln!(out, "{}:{}: malformed run command: {e}", path.display(), c.location);
                        failed += 1;
                        continue;
                    }
                };
                let (inv, check) = match &cmd {
                    RunCommand::Run { invocation, comparison, expected } => (invocation, Some((comparison, expected))),
                    RunCommand::Print(invocation) => (invocation, None),
                };
                let where_ = format!("{}:{}", path.display(), c.location);
                match runner.call(i, &inv.args) {
                    Ok(got) => match check {
                        Some((cmp, expected)) if (got == *expected) == (*cmp == Comparison::Equals) => passed += 1,
                        Some(_) => {
                            failed += 1;
                            let _ = writeln!(out, "{where_}: [{label}] {cmd}: got {}", show_values(&got));
                        }
                        None => {
                            passed += 1;
                            let args: Vec<String> = inv.args.iter().map(|a| a.to_string()).collect();
                            let _ = writeln!(out, "%{}({}) -> {}", inv.func, args.join(", "), show_values(&got));
                        }
                    },
                    Err(e) => {
                        failed += 1;
                        let _ = writeln!(out, "{where_}: [{label}] {cmd}: {e}");
                    }
                }
            }
        }
    }
    (passed, failed, out)
}

/// `clif-util compile`: compile every function and print its VCode (and with `disasm` the
/// disassembly). Returns whether every function compiled, and the text.
pub fn compile_file(path: &Path, opts: &NativeOptions, disasm: bool) -> (bool, String) {
    let mut out = String::new();
    let file = match load(path, opts, false) {
        Ok(f) => f,
        Err(e) => return (false, format!("{e}\n")),
    };
    let mut ok = true;
    if let Some(note) = &file.fallback {
        let _ = writeln!(out, "; note: {note}");
    }
    for (spec, flags) in &file.configs {
        let isa = match kiln_isa::lookup(spec, flags.clone()) {
            Ok(i) => i,
            Err(e) => {
                let _ = writeln!(out, "{}: {e}", path.display());
                ok = false;
                continue;
            }
        };
        let mut ctx = Context::new();
        ctx.want_vcode = true;
        ctx.want_disasm = disasm;
        for (f, _) in &file.functions {
            ctx.clear();
            ctx.func = f.clone();
            let _ = writeln!(out, "; {} for {} {}", f.name, spec.triple, spec.isa_flags);
            match ctx.compile(&*isa) {
                Ok(code) => {
                    let _ = writeln!(out, "VCode:\n{}", code.vcode.as_deref().unwrap_or(""));
                    if disasm {
                        match &code.disasm {
                            Some(d) => {
                                let _ = writeln!(out, "Disassembled:\n{d}");
                            }
                            None => {
                                let _ = writeln!(out, "(no disassembler for {:?} in this build)", spec.arch());
                            }
                        }
                    }
                    let _ = writeln!(out, "; {} bytes of code, frame {} bytes\n", code.code().len(), code.frame_size);
                }
                Err(e) => {
                    ok = false;
                    let _ = writeln!(out, "error: {e}\n");
                }
            }
        }
    }
    (ok, out)
}

/// `clif-util compile --emit-obj OUT`: compile every function of `files` for one target
/// (the files' or `--target`'s, which must agree) into the object file `out`. Every
/// function is an exported symbol named as in the file; names the files do not define are
/// imports. Source locations are the instructions' lines, so the DWARF line table points
/// into the `.clif` files (of the first file: one compile unit). Returns a summary line.
pub fn emit_object(files: &[std::path::PathBuf], opts: &NativeOptions, out: &Path) -> Result<String, String> {
    use kiln_module::{DebugSource, Linkage, Module, ObjectModule};
    let mut module: Option<ObjectModule> = None;
    let mut config: Option<(TargetSpec, Flags)> = None;
    let mut count = 0;
    for path in files {
        let file = load(path, opts, false)?;
        let [cfg] = &file.configs[..] else {
            return Err(format!(
                "{}: --emit-obj needs one target, the file has {}",
                path.display(),
                file.configs.len()
            ));
        };
        match &config {
            None => config = Some(cfg.clone()),
            Some(c) if c == cfg => {}
            Some(c) => {
                return Err(format!("{}: its target differs from the first file's ({})", path.display(), c.0.triple));
            }
        }
        let m = match &mut module {
            Some(m) => m,
            None => {
                let isa = kiln_isa::lookup(&cfg.0, cfg.1.clone()).map_err(|e| e.to_string())?;
                let mut m = ObjectModule::new(isa).map_err(|e| e.to_string())?;
                m.set_debug_source(DebugSource::new(path.display().to_string()));
                module.insert(m)
            }
        };
        for (func, details) in file.functions {
            let mut func = func;
            details.map.set_srclocs_to_lines(&mut func);
            let name = kiln_module::module::reloc_name(&func.name);
            let id = m
                .declare_function(name, Linkage::Export, &func.signature)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            m.define_function(id, func).map_err(|e| format!("{}: {e}", path.display()))?;
            count += 1;
        }
    }
    let m = module.ok_or("no files given")?;
    let triple = m.isa().triple().to_string();
    let format = m.format();
    let bytes = m.finish().and_then(|p| p.emit()).map_err(|e| e.to_string())?;
    std::fs::write(out, &bytes).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(format!(
        "wrote {}: {count} function{} for {triple}, {format:?}, {} bytes\n",
        out.display(),
        if count == 1 { "" } else { "s" },
        bytes.len()
    ))
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// One file's `bench compile` figures.
#[derive(Default)]
struct BenchTotals {
    functions: usize,
    insts: usize,
    bytes: usize,
    times: Vec<Duration>,
}

/// Options of `clif-util bench compile`.
#[derive(Clone, Debug)]
pub struct BenchCompileOptions {
    /// Timed iterations.
    pub iters: usize,
    /// Untimed iterations first.
    pub warmup: usize,
    /// Run the verifier in each compilation.
    pub verifier: bool,
    /// Print each function's instruction count and code size.
    pub per_func: bool,
    /// Worker threads (`1`: compile on the calling thread and time each function's
    /// compilation alone, as `anchor clif-compile` does; otherwise the wall-clock time of
    /// compiling all functions of a file with [`kiln_codegen::compile_functions`]; `0`:
    /// one per core).
    pub threads: usize,
}

impl Default for BenchCompileOptions {
    fn default() -> Self {
        BenchCompileOptions { iters: 10, warmup: 1, verifier: false, per_func: false, threads: 1 }
    }
}

/// `clif-util bench compile`: compile every function `iters` times (after `warmup`
/// iterations); parsing is not timed. Prints the labelled lines `anchor clif-compile`
/// prints for Cranelift. The verifier is off in the timed compilations unless `verifier`;
/// every function is verified once before. Returns the report and the number of functions
/// that are invalid or failed to compile (those the target does not support are only
/// listed as skipped, as `anchor clif-compile` does).
pub fn bench_compile(
    paths: &[std::path::PathBuf],
    opts: &NativeOptions,
    bench: &BenchCompileOptions,
) -> Result<(String, usize), String> {
    let BenchCompileOptions { iters, warmup, verifier, per_func, threads } = *bench;
    let iters = iters.max(1);
    let mut out = String::new();
    let mut total = BenchTotals::default();
    let mut total_times = vec![Duration::ZERO; iters];
    let mut nfiles = 0;
    let mut failures = 0;
    for path in paths {
        let file = load(path, opts, false)?;
        let Some((spec, flags)) = file.configs.first() else { continue };
        let mut flags = flags.clone();
        flags
            .set_word(if verifier { "enable_verifier=true" } else { "enable_verifier=false" })
            .map_err(|e| e.to_string())?;
        let isa = kiln_isa::lookup(spec, flags.clone()).map_err(|e| e.to_string())?;
        let mut ctx = Context::new();
        // First pass: which functions compile, and their code size.
        let mut ok_funcs = Vec::new();
        let mut skipped = Vec::new();
        let mut t = BenchTotals::default();
        let mut per = String::new();
        for (f, _) in &file.functions {
            // Verified here, outside the timed compilations (which run without the verifier
            // unless `--verifier`): invalid IR is reported, not compiled.
            ctx.clear();
            ctx.func = f.clone();
            if let Err(e) = ctx.verify(&*isa) {
                failures += 1;
                skipped.push(format!("{}: invalid IR: {}", f.name, e.to_string().lines().next().unwrap_or("")));
                continue;
            }
            ctx.clear();
            ctx.func = f.clone();
            match ctx.compile(&*isa) {
                Ok(c) => {
                    t.bytes += c.code().len();
                    t.insts += f.num_insts_in_layout();
                    if per_func {
                        let _ = writeln!(
                            per,
                            "  {:<36} {:>6} {:>10}",
                            f.name.to_string(),
                            f.num_insts_in_layout(),
                            c.code().len()
                        );
                    }
                    ok_funcs.push(f);
                }
                Err(e) => {
                    if !matches!(e, kiln_codegen::CodegenError::Unsupported(_)) {
                        failures += 1;
                    }
                    skipped.push(format!("{}: {}", f.name, e.to_string().lines().next().unwrap_or("")));
                }
            }
        }
        t.functions = ok_funcs.len();
        for it in 0..warmup + iters {
            let mut d = Duration::ZERO;
            if threads == 1 {
                for f in &ok_funcs {
                    ctx.clear();
                    ctx.func = (*f).clone();
                    let s = Instant::now();
                    let r = ctx.compile(&*isa);
                    d += s.elapsed();
                    if let Err(e) = r {
                        return Err(format!("{}: {} failed on a later iteration: {e}", path.display(), f.name));
                    }
                }
            } else {
                let funcs: Vec<Function> = ok_funcs.iter().map(|f| (*f).clone()).collect();
                let s = Instant::now();
                let results = kiln_codegen::compile_functions(&*isa, funcs, threads);
                d = s.elapsed();
                if let Some((f, Err(e))) = ok_funcs.iter().zip(&results).find(|(_, r)| r.is_err()) {
                    return Err(format!("{}: {} failed on a later iteration: {e}", path.display(), f.name));
                }
            }
            if it >= warmup {
                t.times.push(d);
                total_times[it - warmup] += d;
            }
        }
        nfiles += 1;
        let (min, max) =
            (t.times.iter().min().copied().unwrap_or_default(), t.times.iter().max().copied().unwrap_or_default());
        let med = median(&mut t.times);
        let _ = writeln!(out, "file: {}", path.display());
        let enabled: Vec<&str> = spec.isa_flags.enabled().collect();
        let _ = writeln!(
            out,
            "  isa:                  {} opt_level={:?} verifier={} [{}]",
            spec.triple,
            flags.opt(),
            if verifier { "on" } else { "off" },
            enabled.join(",")
        );
        if threads != 1 {
            let _ = writeln!(
                out,
                "  threads:              {} (wall-clock time)",
                kiln_codegen::parallel::worker_count(threads)
            );
        }
        let _ = writeln!(out, "  functions:            {}", t.functions);
        let _ = writeln!(out, "  clif instructions:    {}", t.insts);
        let _ = writeln!(out, "  machine code bytes:   {}", t.bytes);
        let _ = writeln!(
            out,
            "  compile time/iter:    {:.3} ms median  (min {:.3} ms, max {:.3} ms, {iters} iters, {warmup} warmup)",
            med.as_secs_f64() * 1e3,
            min.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        );
        let tp = t.insts as f64 / med.as_secs_f64().max(1e-12);
        let _ = writeln!(out, "  throughput:           {tp:.0} CLIF insts/s ({:.3} M/s)", tp / 1e6);
        if per_func {
            let _ = writeln!(out, "  {:<36} {:>6} {:>10}", "function", "insts", "bytes");
            out.push_str(&per);
        }
        if !skipped.is_empty() {
            let _ = writeln!(out, "  skipped functions:    {}", skipped.len());
            for s in skipped.iter().take(20) {
                let _ = writeln!(out, "    {s}");
            }
        }
        total.functions += t.functions;
        total.insts += t.insts;
        total.bytes += t.bytes;
    }
    if nfiles > 1 {
        let med = median(&mut total_times);
        let _ = writeln!(out, "total: {nfiles} files");
        let _ = writeln!(out, "  functions:            {}", total.functions);
        let _ = writeln!(out, "  clif instructions:    {}", total.insts);
        let _ = writeln!(out, "  machine code bytes:   {}", total.bytes);
        let _ = writeln!(out, "  compile time/iter:    {:.3} ms median", med.as_secs_f64() * 1e3);
        let tp = total.insts as f64 / med.as_secs_f64().max(1e-12);
        let _ = writeln!(out, "  throughput:           {tp:.0} CLIF insts/s ({:.3} M/s)", tp / 1e6);
    }
    Ok((out, failures))
}

/// Can code for `arch` run on this host: natively or under qemu?
fn runnable_arch(arch: Arch) -> bool {
    is_host_arch(arch) || crate::cross_run::cross_target(arch).is_some()
}

/// Is `arch` the host's architecture?
pub fn is_host_arch(arch: Arch) -> bool {
    Arch::of(&kiln_isa::host_triple()) == Some(arch)
}

//! The logic of `clif-util wasm compile|run|wast`.
//!
//! `compile` and `run` print the labelled lines of `anchor wasm-compile` / `anchor
//! wasm-run` (`compile time:`, `call: run(5) -> [123]`, `call time:` …) so that scripts
//! read both tools alike; times are wall-clock medians. `wast` runs spec-test scripts,
//! files in parallel, and prints `N passed, M failed, K skipped` per file and in total.

use crate::wast::{WastOptions, WastReport, run_wast_file};
use kiln_wasm::module::ImportKind;
use kiln_wasm::runtime::{Config, Engine, Extern, Func, Global, Instance, Memory, Module, Store, Table, Trap, Val};
use kiln_wasm::types::ValType;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Read a `.wasm` or `.wat` file (the kind is detected by content).
pub fn read_wasm(path: &Path) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes);
    }
    let text =
        String::from_utf8(bytes).map_err(|_| format!("{}: neither binary Wasm nor UTF-8 text", path.display()))?;
    let buf = wast::parser::ParseBuffer::new(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut wat: wast::Wat = wast::parser::parse(&buf).map_err(|e| format!("{}: {e}", path.display()))?;
    wat.encode().map_err(|e| format!("{}: {e}", path.display()))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Median, min, max of `v` (sorted in place).
fn stats(v: &mut [Duration]) -> (Duration, Duration, Duration) {
    v.sort();
    let n = v.len();
    let med = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2 };
    (med, v[0], v[n - 1])
}

/// Options of `wasm compile` and `wasm run`.
#[derive(Clone, Debug)]
pub struct WasmOptions {
    /// Code-generator settings over the runtime's defaults.
    pub settings: Vec<String>,
    /// Compile threads (0 = all cores).
    pub threads: usize,
    /// Timed iterations.
    pub iters: usize,
    /// Untimed iterations first.
    pub warmup: usize,
}

impl Default for WasmOptions {
    fn default() -> Self {
        WasmOptions { settings: Vec::new(), threads: 1, iters: 5, warmup: 0 }
    }
}

fn engine(opts: &WasmOptions, keep_clif: bool) -> Result<Engine, String> {
    let mut c = Config { threads: opts.threads, keep_clif, ..Config::default() };
    c.settings.extend(opts.settings.iter().cloned());
    Engine::new(c).map_err(|e| e.to_string())
}

fn opt_level(opts: &WasmOptions) -> String {
    opts.settings.iter().rev().find_map(|s| s.strip_prefix("opt_level=")).unwrap_or("speed").to_string()
}

/// `wasm compile`: translate and compile the module `iters` times (after `warmup`),
/// report in `anchor wasm-compile`'s format; with `emit_clif`, write each function's
/// optimized IR to that folder.
pub fn wasm_compile(path: &Path, opts: &WasmOptions, emit_clif: Option<&Path>) -> Result<String, String> {
    let bytes = read_wasm(path)?;
    let mut times = Vec::new();
    let mut module = None;
    for i in 0..opts.warmup + opts.iters.max(1) {
        // A fresh engine per iteration (untimed), as the anchor does.
        let e = engine(opts, emit_clif.is_some() && i == 0)?;
        let t = Instant::now();
        let m = Module::new(&e, &bytes).map_err(|e| e.to_string())?;
        let d = t.elapsed();
        if i >= opts.warmup {
            times.push(d);
        }
        if module.is_none() {
            module = Some(m);
        }
    }
    let module = module.ok_or("no iteration ran")?;
    if let Some(dir) = emit_clif {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let info = module.info();
        for (k, text) in module.clif().iter().enumerate() {
            let index = info.num_imported_funcs as usize + k;
            let f = dir.join(format!("wasm_func_{index}.clif"));
            std::fs::write(&f, text).map_err(|e| format!("{}: {e}", f.display()))?;
        }
    }
    let info = module.info();
    let (med, min, max) = stats(&mut times);
    let mut s = String::new();
    let _ = writeln!(s, "file: {}", path.display());
    let threads = if opts.threads == 0 { "all".to_string() } else { opts.threads.to_string() };
    let _ = writeln!(s, "  engine:               kiln (opt_level={}, threads={threads})", opt_level(opts));
    let _ = writeln!(s, "  module bytes:         {}", bytes.len());
    let _ = writeln!(s, "  code section bytes:   {}", info.code_section_size);
    let _ = writeln!(
        s,
        "  functions:            {} defined (+{} imported)",
        info.num_defined_funcs(),
        info.num_imported_funcs
    );
    let _ = writeln!(s, "  machine code bytes:   {} in Wasm functions", module.code_size());
    let _ = writeln!(
        s,
        "  compile time:         {:.3} ms median  (min {:.3} ms, max {:.3} ms, {} iters, {} warmup)",
        ms(med),
        ms(min),
        ms(max),
        times.len(),
        opts.warmup
    );
    let _ = writeln!(
        s,
        "  throughput:           {:.3} MB/s of Wasm (1 MB = 10^6 bytes)",
        bytes.len() as f64 / 1e6 / med.as_secs_f64()
    );
    Ok(s)
}

/// Parse a command-line argument of type `ty` (decimal, negative or `0x` hex, `_`
/// separators; floats as decimal).
fn parse_arg(s: &str, ty: ValType) -> Result<Val, String> {
    let clean: String = s.chars().filter(|&c| c != '_').collect();
    let int = |c: &str| -> Option<i128> {
        let (neg, c) = match c.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, c),
        };
        let v = match c.strip_prefix("0x").or_else(|| c.strip_prefix("0X")) {
            Some(h) => i128::from_str_radix(h, 16).ok()?,
            None => c.parse::<i128>().ok()?,
        };
        Some(if neg { -v } else { v })
    };
    let bad = || format!("invalid {ty} argument '{s}'");
    Ok(match ty {
        ValType::I32 => {
            let v = int(&clean).filter(|v| *v >= i32::MIN as i128 && *v <= u32::MAX as i128).ok_or_else(bad)?;
            Val::I32(v as u32 as i32)
        }
        ValType::I64 => {
            let v = int(&clean).filter(|v| *v >= i64::MIN as i128 && *v <= u64::MAX as i128).ok_or_else(bad)?;
            Val::I64(v as u64 as i64)
        }
        ValType::F32 => Val::F32(clean.parse::<f32>().map_err(|_| bad())?.to_bits()),
        ValType::F64 => Val::F64(clean.parse::<f64>().map_err(|_| bad())?.to_bits()),
        other => return Err(format!("parameters of type {other} are not supported on the command line")),
    })
}

fn show_val(v: &Val) -> String {
    match v {
        Val::I32(x) => x.to_string(),
        Val::I64(x) => x.to_string(),
        Val::F32(b) => format!("{}", f32::from_bits(*b)),
        Val::F64(b) => format!("{}", f64::from_bits(*b)),
        Val::V128(x) => format!("{x:#034x}"),
        Val::FuncRef(f) => {
            if f.is_some() {
                "funcref".into()
            } else {
                "null".into()
            }
        }
        Val::ExternRef(e) => e.map_or("null".into(), |e| format!("externref {e}")),
    }
}

/// Imports for `wasm run`: functions trap ("unknown import"), everything else gets a
/// default value of its declared type.
fn default_imports(store: &mut Store, module: &Module) -> Result<Vec<Extern>, String> {
    let mut v = Vec::new();
    for imp in &module.info().imports {
        let name = format!("{}::{}", imp.module, imp.name);
        v.push(match &imp.kind {
            ImportKind::Func(t) => {
                let ty = module.info().types[*t as usize].clone();
                Extern::Func(Func::new(store, ty, move |_, _| Err(Trap::host(format!("unknown import {name}")))))
            }
            ImportKind::Memory(mt) => Extern::Memory(Memory::new(store, *mt)?),
            ImportKind::Table(tt) => Extern::Table(Table::new(store, *tt, Val::default_for(tt.elem))?),
            ImportKind::Global(gt) => Extern::Global(Global::new(store, *gt, Val::default_for(gt.ty))?),
        });
    }
    Ok(v)
}

/// `wasm run`: instantiate and call `export` with `args` `warmup + iters` times; report in
/// `anchor wasm-run`'s format. A trap is an error.
pub fn wasm_run(path: &Path, export: &str, args: &[String], opts: &WasmOptions) -> Result<String, String> {
    let bytes = read_wasm(path)?;
    let e = engine(opts, false)?;
    let t = Instant::now();
    let module = Module::new(&e, &bytes).map_err(|e| e.to_string())?;
    let compile = t.elapsed();
    let mut store = Store::new(&e);
    let t = Instant::now();
    let imports = default_imports(&mut store, &module)?;
    let inst = Instance::new(&mut store, &module, &imports).map_err(|e| e.to_string())?;
    let instantiate = t.elapsed();
    let f = inst.get_func(&store, export).ok_or_else(|| format!("no exported function \"{export}\""))?;
    let ty = f.ty(&store);
    if args.len() != ty.params.len() {
        return Err(format!("\"{export}\" takes {} arguments, {} given", ty.params.len(), args.len()));
    }
    let vals = args.iter().zip(ty.params.iter()).map(|(a, &t)| parse_arg(a, t)).collect::<Result<Vec<_>, _>>()?;
    let mut times = Vec::new();
    let mut result: Option<Vec<Val>> = None;
    let mut changed = false;
    for i in 0..opts.warmup + opts.iters.max(1) {
        let t = Instant::now();
        let r = f.call(&mut store, &vals).map_err(|e| format!("\"{export}\": {e}"))?;
        let d = t.elapsed();
        if i >= opts.warmup {
            times.push(d);
        }
        if let Some(prev) = &result {
            changed |= *prev != r;
        }
        result = Some(r);
    }
    if changed {
        eprintln!("note: the result changed between calls");
    }
    let result = result.unwrap_or_default();
    let (med, min, max) = stats(&mut times);
    let mut s = String::new();
    let shown: Vec<String> = result.iter().map(show_val).collect();
    let _ = writeln!(s, "call: {export}({}) -> [{}]", args.join(", "), shown.join(", "));
    let _ = writeln!(s, "  engine:               kiln (opt_level={})", opt_level(opts));
    let _ = writeln!(s, "  compile:              {:.3} ms", ms(compile));
    let _ = writeln!(s, "  instantiate:          {:.3} ms", ms(instantiate));
    let _ = writeln!(
        s,
        "  call time:            {:.6} ms median  (min {:.6} ms, max {:.6} ms, {} iters, {} warmup)",
        ms(med),
        ms(min),
        ms(max),
        times.len(),
        opts.warmup
    );
    Ok(s)
}

/// The `.wast` files of `paths` (folders recursively, sorted).
pub fn wast_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            for e in entries {
                if e.is_dir() || e.extension().is_some_and(|x| x == "wast") {
                    walk(&e, out)?;
                }
            }
        } else {
            out.push(p.to_path_buf());
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        walk(p, &mut out)?;
    }
    Ok(out)
}

/// Run the spec-test scripts `files` on up to `threads` threads (0 = all cores). Returns
/// each file's report, in order.
pub fn run_wast_files(files: &[PathBuf], opts: &WastOptions, threads: usize) -> Vec<WastReport> {
    let inputs: Vec<&PathBuf> = files.iter().collect();
    kiln_codegen::parallel::parallel_map(inputs, threads, || (), |_, f| run_wast_file(f, opts))
}

/// The text `wasm wast` prints: a line per file (with its failures, and its skips if
/// `verbose`), then the total.
pub fn render_wast(files: &[PathBuf], reports: &[WastReport], verbose: bool) -> String {
    let mut s = String::new();
    let (mut p, mut f, mut k) = (0, 0, 0);
    for (file, r) in files.iter().zip(reports) {
        let _ = writeln!(s, "{}: {}", file.display(), r.summary());
        for m in &r.failures {
            let _ = writeln!(s, "  FAIL {m}");
        }
        if verbose {
            for m in &r.skipped {
                let _ = writeln!(s, "  SKIP {m}");
            }
        }
        p += r.passed;
        f += r.failures.len();
        k += r.skipped.len();
    }
    let _ = writeln!(s, "total: {p} passed, {f} failed, {k} skipped");
    s
}

//! The WebAssembly spec-test runner (`clif-util wasm wast`): runs `.wast` scripts on Kiln's
//! reference runtime (`kiln_wasm::runtime`).
//!
//! Supported directives: modules (binary, text, quote; named; `module definition` /
//! `module instance`), `register`, `invoke`, `get`, `assert_return` (NaN patterns,
//! references, `v128` lanes), `assert_trap` (of a call or of an instantiation),
//! `assert_exhaustion`, `assert_invalid`, `assert_malformed`, `assert_unlinkable`; the
//! `spectest` module is always registered. Directives of proposals Kiln does not
//! implement (exceptions, stack switching, threads, custom-section assertions) are counted
//! as skipped.
//!
//! Every directive counts once: passed, failed (with the reason, listed) or skipped. With
//! [`WastOptions::allow_unsupported`], a module whose compilation fails with an
//! `unsupported` error (e.g. SIMD on a target without it) is skipped, and so is every
//! directive that uses it; the reason is recorded.

use kiln_wasm::WasmErrorKind;
use kiln_wasm::runtime::{self, Config, Engine, Error, Extern, Instance, Module, Store, TrapKind, Val};
use std::collections::HashMap;
use std::path::Path;
use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet};

/// Options of a run.
#[derive(Clone, Debug, Default)]
pub struct WastOptions {
    /// Skip (rather than fail) what a module the target cannot compile makes impossible.
    pub allow_unsupported: bool,
    /// Code-generator settings (`opt_level=none`, …).
    pub settings: Vec<String>,
    /// The proposals enabled (`None`: by the file's folder, see [`features_for`]).
    pub features: Option<kiln_wasm::module::WasmFeatures>,
}

/// The proposals a spec-test script assumes: exactly Wasm 2.0 for the top-level scripts,
/// Wasm 2.0 plus the proposal for those in `proposals/NAME/` (every implemented proposal
/// for memory64, whose scripts are a snapshot of Wasm 3.0).
pub fn features_for(path: &Path) -> kiln_wasm::module::WasmFeatures {
    use kiln_wasm::module::{WasmFeatures as F, wasm2_features};
    let s = path.to_string_lossy();
    let base = wasm2_features();
    let extra = if s.contains("proposals/tail-call") {
        F::TAIL_CALL
    } else if s.contains("proposals/extended-const") {
        F::EXTENDED_CONST
    } else if s.contains("proposals/multi-memory") {
        F::MULTI_MEMORY
    } else if s.contains("proposals/memory64") {
        // The memory64 scripts are a snapshot of Wasm 3.0: every implemented proposal.
        kiln_wasm::module::features()
    } else if s.contains("proposals/") {
        kiln_wasm::module::features()
    } else {
        F::empty()
    };
    base | extra
}

/// The outcome of one file.
#[derive(Clone, Debug, Default)]
pub struct WastReport {
    /// Directives that passed.
    pub passed: usize,
    /// Directives that failed, with `line: reason`.
    pub failures: Vec<String>,
    /// Directives skipped, with `line: reason`.
    pub skipped: Vec<String>,
}

impl WastReport {
    /// `N passed, M failed, K skipped`.
    pub fn summary(&self) -> String {
        format!("{} passed, {} failed, {} skipped", self.passed, self.failures.len(), self.skipped.len())
    }
}

/// Why a directive did not pass.
enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

/// A module slot: compiled, or why not.
type Compiled = Result<Module, Error>;

struct Runner {
    engine: Engine,
    store: Store,
    opts: WastOptions,
    /// Named and current instances (`None`: the module could not be instantiated; the
    /// string says why, for the directives that use it).
    instances: HashMap<String, Result<Instance, String>>,
    current: Option<Result<Instance, String>>,
    definitions: HashMap<String, Compiled>,
    registered: HashMap<String, HashMap<String, Extern>>,
    /// Names registered from skipped modules, with the reason.
    skipped_registrations: HashMap<String, String>,
}

/// Cannot run here: unsupported on this target, or needs an unimplemented proposal.
fn is_unsupported(e: &Error) -> bool {
    matches!(e, Error::Compile(w) if matches!(w.kind, WasmErrorKind::Unsupported | WasmErrorKind::Proposal))
}

impl Runner {
    fn new(opts: &WastOptions, features: kiln_wasm::module::WasmFeatures) -> Result<Runner, String> {
        let mut config = Config { threads: 1, features, ..Config::default() };
        config.settings.extend(opts.settings.iter().cloned());
        let engine = Engine::new(config).map_err(|e| e.to_string())?;
        let mut store = Store::new(&engine);
        let spectest = runtime::spectest::spectest(&mut store)?;
        let mut registered = HashMap::new();
        registered.insert("spectest".to_string(), spectest.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
        Ok(Runner {
            engine,
            store,
            opts: opts.clone(),
            instances: HashMap::new(),
            current: None,
            definitions: HashMap::new(),
            registered,
            skipped_registrations: HashMap::new(),
        })
    }

    fn compile(&self, bytes: &[u8]) -> Compiled {
        Module::new(&self.engine, bytes)
    }

    fn imports(&self, module: &Module) -> Result<Vec<Extern>, String> {
        let mut v = Vec::new();
        for imp in &module.info().imports {
            if let Some(r) = self.skipped_registrations.get(&imp.module) {
                return Err(format!("skipped module: `{}` was registered from it ({r})", imp.module));
            }
            let e = self
                .registered
                .get(&imp.module)
                .and_then(|m| m.get(&imp.name))
                .ok_or_else(|| format!("unknown import `{}::{}`", imp.module, imp.name))?;
            v.push(*e);
        }
        Ok(v)
    }

    fn instantiate(&mut self, module: &Module) -> Result<Instance, Error> {
        let imports = self.imports(module).map_err(Error::Link)?;
        Instance::new(&mut self.store, module, &imports)
    }

    /// A failed instantiation: skipped if it needs a skipped module.
    fn instantiation_failure(e: &Error) -> (String, Option<Outcome>) {
        match e {
            Error::Link(m) if m.starts_with("skipped module: ") => (m.clone(), Some(Outcome::Skip(m.clone()))),
            e => (format!("module failed to instantiate: {e}"), None),
        }
    }

    /// The outcome of compiling and instantiating a module directive.
    fn module(&mut self, name: Option<String>, bytes: Result<Vec<u8>, String>) -> Outcome {
        let (slot, outcome) = match bytes {
            Err(e) => (Err(format!("cannot encode the module: {e}")), None),
            Ok(bytes) => match self.compile(&bytes) {
                Err(e) if self.opts.allow_unsupported && is_unsupported(&e) => {
                    (Err(format!("skipped module: {e}")), Some(Outcome::Skip(e.to_string())))
                }
                Err(e) => (Err(format!("module failed to compile: {e}")), None),
                Ok(m) => match self.instantiate(&m) {
                    Ok(i) => (Ok(i), Some(Outcome::Pass)),
                    Err(e) => {
                        let (msg, out) = Self::instantiation_failure(&e);
                        (Err(msg), out)
                    }
                },
            },
        };
        let outcome = match (&slot, outcome) {
            (_, Some(o)) => o,
            (Err(e), None) => Outcome::Fail(e.clone()),
            (Ok(_), None) => Outcome::Pass,
        };
        if let Some(n) = name {
            self.instances.insert(n, slot.clone());
        }
        self.current = Some(slot);
        outcome
    }

    fn instance(&self, name: Option<&str>) -> Result<Instance, String> {
        let slot = match name {
            Some(n) => self.instances.get(n).ok_or_else(|| format!("unknown module ${n}"))?,
            None => self.current.as_ref().ok_or("no module defined")?,
        };
        slot.clone()
    }

    fn invoke(&mut self, inv: &WastInvoke) -> Result<Result<Vec<Val>, Error>, String> {
        let inst = self.instance(inv.module.map(|m| m.name()))?;
        let f = inst.get_func(&self.store, inv.name).ok_or_else(|| format!("no exported function \"{}\"", inv.name))?;
        let mut args = Vec::new();
        for a in &inv.args {
            args.push(arg_val(a)?);
        }
        Ok(f.call(&mut self.store, &args))
    }

    /// Execute an invoke, a `get` or a module instantiation.
    fn execute(&mut self, exec: &mut WastExecute) -> Result<Result<Vec<Val>, Error>, String> {
        match exec {
            WastExecute::Invoke(inv) => self.invoke(inv),
            WastExecute::Get { module, global, .. } => {
                let inst = self.instance(module.map(|m| m.name()))?;
                let g =
                    inst.get_global(&self.store, global).ok_or_else(|| format!("no exported global \"{global}\""))?;
                Ok(Ok(vec![g.get(&self.store)]))
            }
            WastExecute::Wat(wat) => {
                let bytes = wat.encode().map_err(|e| e.to_string())?;
                let m = match self.compile(&bytes) {
                    Ok(m) => m,
                    Err(e) => return Ok(Err(e)),
                };
                Ok(self.instantiate(&m).map(|_| Vec::new()))
            }
        }
    }

    /// Why a failed lookup should be a skip (the module it needs was skipped).
    fn skip_reason(msg: &str) -> Option<String> {
        msg.strip_prefix("skipped module: ").map(|r| format!("needs a skipped module ({r})"))
    }

    fn directive(&mut self, d: WastDirective) -> Outcome {
        let lookup_failure = |m: String| match Self::skip_reason(&m) {
            Some(r) => Outcome::Skip(r),
            None => Outcome::Fail(m),
        };
        match d {
            WastDirective::Module(mut q) => {
                let name = q.name().map(|i| i.name().to_string());
                let bytes = q.encode().map_err(|e| e.to_string());
                self.module(name, bytes)
            }
            WastDirective::ModuleDefinition(mut q) => {
                let name = q.name().map(|i| i.name().to_string());
                let compiled = match q.encode() {
                    Ok(b) => self.compile(&b),
                    Err(e) => Err(Error::Other(e.to_string())),
                };
                let out = match &compiled {
                    Ok(_) => Outcome::Pass,
                    Err(e) if self.opts.allow_unsupported && is_unsupported(e) => Outcome::Skip(e.to_string()),
                    Err(e) => Outcome::Fail(format!("module failed to compile: {e}")),
                };
                if let Some(n) = name {
                    self.definitions.insert(n, compiled);
                }
                out
            }
            WastDirective::ModuleInstance { instance, module, .. } => {
                let Some(def) = module.map(|m| m.name().to_string()) else {
                    return Outcome::Fail("module instance without a module".into());
                };
                let compiled = match self.definitions.get(&def) {
                    Some(c) => c.clone(),
                    None => return Outcome::Fail(format!("unknown module definition ${def}")),
                };
                let (slot, out) = match compiled {
                    Ok(m) => match self.instantiate(&m) {
                        Ok(i) => (Ok(i), Outcome::Pass),
                        Err(e) => {
                            let (msg, out) = Self::instantiation_failure(&e);
                            (Err(msg.clone()), out.unwrap_or(Outcome::Fail(msg)))
                        }
                    },
                    Err(e) if self.opts.allow_unsupported && is_unsupported(&e) => {
                        (Err(format!("skipped module: {e}")), Outcome::Skip(e.to_string()))
                    }
                    Err(e) => {
                        let msg = format!("module failed to compile: {e}");
                        (Err(msg.clone()), Outcome::Fail(msg))
                    }
                };
                if let Some(n) = instance {
                    self.instances.insert(n.name().to_string(), slot.clone());
                }
                self.current = Some(slot);
                out
            }
            WastDirective::Register { name, module, .. } => match self.instance(module.map(|m| m.name())) {
                Ok(inst) => {
                    let exports = inst
                        .module(&self.store)
                        .info()
                        .exports
                        .iter()
                        .filter_map(|e| inst.get_export(&self.store, &e.name).map(|x| (e.name.clone(), x)))
                        .collect();
                    self.registered.insert(name.to_string(), exports);
                    Outcome::Pass
                }
                Err(m) => {
                    if let Some(r) = Self::skip_reason(&m) {
                        self.skipped_registrations.insert(name.to_string(), r.clone());
                        return Outcome::Skip(r);
                    }
                    Outcome::Fail(m)
                }
            },
            WastDirective::Invoke(inv) => match self.invoke(&inv) {
                Ok(Ok(_)) => Outcome::Pass,
                Ok(Err(e)) if self.opts.allow_unsupported && is_unsupported(&e) => Outcome::Skip(e.to_string()),
                Ok(Err(e)) => Outcome::Fail(format!("invoke \"{}\": {e}", inv.name)),
                Err(m) => lookup_failure(m),
            },
            WastDirective::AssertReturn { mut exec, results, .. } => match self.execute(&mut exec) {
                Ok(Ok(vals)) => match check_results(&vals, &results) {
                    Ok(()) => Outcome::Pass,
                    Err(m) => Outcome::Fail(m),
                },
                Ok(Err(e)) if self.opts.allow_unsupported && is_unsupported(&e) => Outcome::Skip(e.to_string()),
                Ok(Err(e)) => Outcome::Fail(format!("expected results, got {e}")),
                Err(m) => lookup_failure(m),
            },
            WastDirective::AssertTrap { mut exec, message, .. } => match self.execute(&mut exec) {
                Ok(Ok(vals)) => Outcome::Fail(format!("expected trap \"{message}\", got {vals:?}")),
                Ok(Err(Error::Trap(t))) if trap_matches(t.kind.message(), message) => Outcome::Pass,
                Ok(Err(e)) if self.opts.allow_unsupported && is_unsupported(&e) => Outcome::Skip(e.to_string()),
                Ok(Err(e)) => Outcome::Fail(format!("expected trap \"{message}\", got {e}")),
                Err(m) => lookup_failure(m),
            },
            WastDirective::AssertExhaustion { call, message, .. } => match self.invoke(&call) {
                Ok(Err(Error::Trap(t))) if t.kind == TrapKind::StackOverflow => Outcome::Pass,
                Ok(Err(e)) if self.opts.allow_unsupported && is_unsupported(&e) => Outcome::Skip(e.to_string()),
                Ok(r) => Outcome::Fail(format!("expected \"{message}\", got {r:?}")),
                Err(m) => lookup_failure(m),
            },
            WastDirective::AssertInvalid { module, message, .. } => self.assert_rejected(module, message, false),
            WastDirective::AssertMalformed { module, message, .. } => self.assert_rejected(module, message, true),
            WastDirective::AssertUnlinkable { mut module, message, .. } => {
                let bytes = match module.encode() {
                    Ok(b) => b,
                    Err(e) => return Outcome::Fail(format!("cannot encode the module: {e}")),
                };
                match self.compile(&bytes) {
                    Err(e) if self.opts.allow_unsupported && is_unsupported(&e) => Outcome::Skip(e.to_string()),
                    Err(e) => Outcome::Fail(format!("expected unlinkable (\"{message}\"), failed to compile: {e}")),
                    Ok(m) => match self.instantiate(&m) {
                        Ok(_) => Outcome::Fail(format!("expected unlinkable (\"{message}\"), instantiated")),
                        Err(Error::Link(m)) if m.starts_with("skipped module: ") => Outcome::Skip(m),
                        Err(_) => Outcome::Pass,
                    },
                }
            }
            WastDirective::AssertInvalidCustom { .. } | WastDirective::AssertMalformedCustom { .. } => {
                Outcome::Skip("custom-section assertions".into())
            }
            WastDirective::AssertException { .. } => Outcome::Skip("exceptions (exception-handling proposal)".into()),
            WastDirective::AssertSuspension { .. } => Outcome::Skip("stack switching".into()),
            WastDirective::Thread(_) | WastDirective::Wait { .. } => Outcome::Skip("threads".into()),
            #[allow(unreachable_patterns)]
            _ => Outcome::Skip("unknown directive".into()),
        }
    }

    /// `assert_invalid` / `assert_malformed`: encoding or compiling must fail.
    fn assert_rejected(&mut self, mut module: QuoteWat, message: &str, malformed: bool) -> Outcome {
        let bytes = match module.encode() {
            Ok(b) => b,
            // Text that does not parse is malformed (or, for assert_invalid, rejected by the
            // text format's own checks).
            Err(_) => return Outcome::Pass,
        };
        let what = if malformed { "malformed" } else { "invalid" };
        match self.compile(&bytes) {
            Ok(_) => Outcome::Fail(format!("expected {what} (\"{message}\"), compiled")),
            // Rejected by validation (possibly also invalid without a proposal Kiln lacks).
            Err(Error::Compile(e)) if matches!(e.kind, WasmErrorKind::Invalid | WasmErrorKind::Proposal) => {
                Outcome::Pass
            }
            Err(e) if self.opts.allow_unsupported && is_unsupported(&e) => Outcome::Skip(e.to_string()),
            Err(e) => Outcome::Fail(format!("expected {what} (\"{message}\"), got {e}")),
        }
    }
}

fn trap_matches(ours: &str, expected: &str) -> bool {
    expected.contains(ours) || ours.contains(expected)
}

fn arg_val(a: &WastArg) -> Result<Val, String> {
    let WastArg::Core(a) = a else { return Err("component-model argument".into()) };
    Ok(match a {
        WastArgCore::I32(v) => Val::I32(*v),
        WastArgCore::I64(v) => Val::I64(*v),
        WastArgCore::F32(f) => Val::F32(f.bits),
        WastArgCore::F64(f) => Val::F64(f.bits),
        WastArgCore::V128(v) => Val::V128(u128::from_le_bytes(v.to_le_bytes())),
        WastArgCore::RefNull(HeapType::Abstract { ty: AbstractHeapType::Func | AbstractHeapType::NoFunc, .. }) => {
            Val::FuncRef(None)
        }
        WastArgCore::RefNull(HeapType::Abstract {
            ty: AbstractHeapType::Extern | AbstractHeapType::NoExtern, ..
        }) => Val::ExternRef(None),
        WastArgCore::RefExtern(n) => Val::ExternRef(Some(*n as u64)),
        other => return Err(format!("unsupported argument {other:?}")),
    })
}

fn f32_matches(bits: u32, p: &NanPattern<wast::token::F32>) -> bool {
    match p {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff == 0x7fc0_0000,
        NanPattern::ArithmeticNan => bits & 0x7fc0_0000 == 0x7fc0_0000,
        NanPattern::Value(v) => bits == v.bits,
    }
}

fn f64_matches(bits: u64, p: &NanPattern<wast::token::F64>) -> bool {
    match p {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
        NanPattern::ArithmeticNan => bits & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
        NanPattern::Value(v) => bits == v.bits,
    }
}

fn v128_matches(v: u128, p: &V128Pattern) -> bool {
    let b = v.to_le_bytes();
    let lane = |i: usize, n: usize| -> u64 {
        let mut x = [0u8; 8];
        x[..n].copy_from_slice(&b[i * n..i * n + n]);
        u64::from_le_bytes(x)
    };
    match p {
        V128Pattern::I8x16(l) => l.iter().enumerate().all(|(i, &x)| lane(i, 1) as u8 == x as u8),
        V128Pattern::I16x8(l) => l.iter().enumerate().all(|(i, &x)| lane(i, 2) as u16 == x as u16),
        V128Pattern::I32x4(l) => l.iter().enumerate().all(|(i, &x)| lane(i, 4) as u32 == x as u32),
        V128Pattern::I64x2(l) => l.iter().enumerate().all(|(i, &x)| lane(i, 8) == x as u64),
        V128Pattern::F32x4(l) => l.iter().enumerate().all(|(i, p)| f32_matches(lane(i, 4) as u32, p)),
        V128Pattern::F64x2(l) => l.iter().enumerate().all(|(i, p)| f64_matches(lane(i, 8), p)),
    }
}

fn ret_matches(v: &Val, r: &WastRet) -> Result<bool, String> {
    let WastRet::Core(r) = r else { return Err("component-model result".into()) };
    Ok(match (v, r) {
        (Val::I32(a), WastRetCore::I32(b)) => a == b,
        (Val::I64(a), WastRetCore::I64(b)) => a == b,
        (Val::F32(a), WastRetCore::F32(p)) => f32_matches(*a, p),
        (Val::F64(a), WastRetCore::F64(p)) => f64_matches(*a, p),
        (Val::V128(a), WastRetCore::V128(p)) => v128_matches(*a, p),
        (Val::FuncRef(f), WastRetCore::RefNull(_)) => f.is_none(),
        (Val::ExternRef(e), WastRetCore::RefNull(_)) => e.is_none(),
        (Val::FuncRef(f), WastRetCore::RefFunc(_)) => f.is_some(),
        (Val::ExternRef(e), WastRetCore::RefExtern(n)) => match n {
            Some(n) => *e == Some(*n as u64),
            None => e.is_some(),
        },
        _ => false,
    })
}

fn check_results(vals: &[Val], rets: &[WastRet]) -> Result<(), String> {
    if vals.len() != rets.len() {
        return Err(format!("expected {} results, got {vals:?}", rets.len()));
    }
    for (i, (v, r)) in vals.iter().zip(rets).enumerate() {
        if !ret_matches(v, r)? {
            return Err(format!("result {i}: expected {r:?}, got {}", show(v)));
        }
    }
    Ok(())
}

fn show(v: &Val) -> String {
    match v {
        Val::F32(b) => format!("f32 {} ({b:#x})", f32::from_bits(*b)),
        Val::F64(b) => format!("f64 {} ({b:#x})", f64::from_bits(*b)),
        Val::V128(x) => format!("v128 {x:#034x}"),
        other => format!("{other:?}"),
    }
}

/// Run one `.wast` file.
pub fn run_wast_file(path: &Path, opts: &WastOptions) -> WastReport {
    let mut report = WastReport::default();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            report.failures.push(format!("cannot read: {e}"));
            return report;
        }
    };
    let features = opts.features.unwrap_or_else(|| features_for(path));
    run_wast_text(&text, opts, features, &mut report);
    report
}

/// Run the script `text`, adding to `report`.
pub fn run_wast_text(
    text: &str,
    opts: &WastOptions,
    features: kiln_wasm::module::WasmFeatures,
    report: &mut WastReport,
) {
    let mut lexer = wast::lexer::Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let lexer_buf = match ParseBuffer::new_with_lexer(lexer) {
        Ok(b) => b,
        Err(e) => {
            report.failures.push(format!("cannot lex: {e}"));
            return;
        }
    };
    let wast: Wast = match parser::parse(&lexer_buf) {
        Ok(w) => w,
        Err(e) => {
            report.failures.push(format!("cannot parse: {e}"));
            return;
        }
    };
    let mut runner = match Runner::new(opts, features) {
        Ok(r) => r,
        Err(e) => {
            report.failures.push(format!("cannot set up the runtime: {e}"));
            return;
        }
    };
    for d in wast.directives {
        let (line, _) = d.span().linecol_in(text);
        match runner.directive(d) {
            Outcome::Pass => report.passed += 1,
            Outcome::Fail(m) => report.failures.push(format!("line {}: {m}", line + 1)),
            Outcome::Skip(m) => report.skipped.push(format!("line {}: {m}", line + 1)),
        }
    }
}

//! Differential testing: run a generated [`Case`] in the reference interpreter and as
//! compiled code under every [`CompileConfig`], and compare the results bit for bit
//! (any NaN equals any NaN; traps compare by trap code).
//!
//! A case is a program, a few argument sets for its entry function, the ISA variant and
//! whether NaN canonicalization is on — everything needed to reproduce it, so the shrinker
//! can re-check reduced cases and the reproducer file says exactly what failed.
//!
//! Classification: interpreter results of `FuelExhausted`, `CallDepth` or `Unsupported`
//! make that argument set incomparable (skipped); `Undefined`/`Invalid`/`DebugTrap`, or a
//! program that does not parse or verify, are generator bugs and reported as failures.

use crate::generate::{GenConfig, Generated, Support, arbitrary_value, generate};
use crate::program::Program;
use arbitrary::Unstructured;
use kiln_codegen::TargetIsa;
use kiln_filetests::jit_run::{JitRunner, RunError};
use kiln_ir::interp::{InterpConfig, InterpError, Interpreter};
use kiln_ir::settings::Flags;
use kiln_ir::text::parse_functions;
use kiln_ir::trapcode::TrapCode;
use kiln_ir::types::Type;
use kiln_ir::verifier::{VerifierContext, verify_function};
use kiln_ir::{DataValue, Function};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write};

/// Maximum number of instructions the interpreter runs per call.
pub const FUEL: u64 = 2_000_000;

/// One compilation setting to compare against the interpreter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileConfig {
    /// `none` or `speed`.
    pub opt_level: &'static str,
    /// `backtracking` or `single_pass`.
    pub regalloc: &'static str,
}

impl CompileConfig {
    /// Every combination the tester runs.
    pub fn all() -> Vec<CompileConfig> {
        let mut v = Vec::new();
        for opt_level in ["none", "speed"] {
            for regalloc in ["backtracking", "single_pass"] {
                v.push(CompileConfig { opt_level, regalloc });
            }
        }
        v
    }

    /// The shared flags of this configuration (with the regalloc2 checker on).
    pub fn flags(&self, nan_canon: bool) -> Flags {
        let mut f = Flags::default();
        let _ = f.set("opt_level", Some(self.opt_level));
        let _ = f.set("regalloc_algorithm", Some(self.regalloc));
        let _ = f.set("regalloc_checker", None);
        if nan_canon {
            let _ = f.set("enable_nan_canonicalization", None);
        }
        f
    }
}

impl fmt::Display for CompileConfig {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "opt_level={} regalloc_algorithm={}", self.opt_level, self.regalloc)
    }
}

/// A complete test case.
#[derive(Clone, Debug)]
pub struct Case {
    /// The functions.
    pub program: Program,
    /// Argument sets for function 0.
    pub args: Vec<Vec<DataValue>>,
    /// Index into [`crate::oracle::isa_variants`].
    pub isa_variant: usize,
    /// Compile with `enable_nan_canonicalization`.
    pub nan_canon: bool,
}

/// Generate a case from bytes.
pub fn generate_case(data: &[u8], cfg: &GenConfig, oracle: &mut dyn Support) -> arbitrary::Result<Case> {
    let mut u = Unstructured::new(data);
    let Generated { program, nan_bits_observable } = generate(&mut u, cfg, oracle)?;
    // Two variants (x86-64, aarch64): the full one two times in three (their seeds' byte
    // streams are as before); more (riscv64): each equally often, so the base ISA is tested.
    let isa_variant = match crate::oracle::isa_variant_count() {
        n @ 3.. => u.choose_index(n)?,
        _ => usize::from(u.ratio(1u8, 3u8)?),
    };
    let nan_canon = nan_bits_observable || u.arbitrary()?;
    let mut args = Vec::new();
    let params = program.funcs[0].params.clone();
    for _ in 0..3 {
        let mut a = Vec::with_capacity(params.len());
        for &t in &params {
            a.push(arbitrary_value(&mut u, t)?);
        }
        args.push(a);
    }
    Ok(Case { program, args, isa_variant, nan_canon })
}

/// What one execution produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Returned these values.
    Values(Vec<DataValue>),
    /// Trapped with this code (`None`: compiled code trapped without a recorded code).
    Trap(Option<TrapCode>),
    /// Could not be compared (interpreter fuel, depth, unsupported).
    Skipped(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Outcome::Values(v) => {
                f.write_str("[")?;
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{x}: {}", x.ty())?;
                }
                f.write_str("]")
            }
            Outcome::Trap(Some(c)) => write!(f, "trap {c}"),
            Outcome::Trap(None) => f.write_str("trap (no code)"),
            Outcome::Skipped(m) => write!(f, "skipped ({m})"),
        }
    }
}

/// Equal bits, except that a NaN equals any NaN (a float scalar, or a lane of a float
/// vector): the payload and sign of a NaN result are not fixed by CLIF (see the NaN rule in
/// `kiln_ir::interp`).
fn same_value(a: &DataValue, b: &DataValue) -> bool {
    if a.ty() != b.ty() {
        return false;
    }
    let ty = a.ty();
    if let (DataValue::Vector(_, x), DataValue::Vector(_, y)) = (a, b)
        && ty.is_float()
        && let Some(format) = kiln_ir::immediates::FloatFormat::for_bits(ty.lane_bits())
    {
        let lb = (ty.lane_bits() / 8) as usize;
        return x.len() == y.len()
            && x.chunks(lb).zip(y.chunks(lb)).all(|(p, q)| {
                let bits = |c: &[u8]| {
                    let mut w = [0u8; 16];
                    w[..c.len()].copy_from_slice(c);
                    u128::from_le_bytes(w)
                };
                p == q || format.is_nan(bits(p)) && format.is_nan(bits(q))
            });
    }
    (a.is_nan() && b.is_nan()) || a == b
}

/// Do two outcomes agree (NaNs canonicalized)?
pub fn same_outcome(a: &Outcome, b: &Outcome) -> bool {
    match (a, b) {
        (Outcome::Values(x), Outcome::Values(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_value(p, q))
        }
        (Outcome::Trap(x), Outcome::Trap(y)) => x == y,
        _ => false,
    }
}

/// Why a case failed.
#[derive(Clone, Debug)]
pub enum Failure {
    /// The generated program is not valid (parse, verify, or undefined behaviour in the
    /// interpreter): a generator bug.
    Generator(String),
    /// Compilation failed.
    Compile {
        /// The configuration.
        config: CompileConfig,
        /// The error.
        error: String,
    },
    /// A function compiled far slower than a linear model of its size predicts (see
    /// [`crate::compile_time`]).
    CompileTime {
        /// The configuration.
        config: CompileConfig,
        /// What took how long.
        message: String,
    },
    /// Compiled code and the interpreter disagree.
    Mismatch {
        /// The configuration.
        config: CompileConfig,
        /// The arguments.
        args: Vec<DataValue>,
        /// The interpreter's result.
        interp: Outcome,
        /// The compiled code's result.
        compiled: Outcome,
    },
}

impl Failure {
    /// Does `other` fail in the same way (same kind and configuration)? Used by the
    /// shrinker so that reduction does not drift to a different bug.
    pub fn same_kind(&self, other: &Failure) -> bool {
        match (self, other) {
            (Failure::Generator(_), Failure::Generator(_)) => true,
            (Failure::Compile { config: a, error: e1 }, Failure::Compile { config: b, error: e2 }) => {
                a == b && e1.split(':').next() == e2.split(':').next()
            }
            (Failure::CompileTime { config: a, .. }, Failure::CompileTime { config: b, .. }) => a == b,
            (
                Failure::Mismatch { config: a, interp: i1, compiled: c1, .. },
                Failure::Mismatch { config: b, interp: i2, compiled: c2, .. },
            ) => {
                a == b
                    && std::mem::discriminant(i1) == std::mem::discriminant(i2)
                    && std::mem::discriminant(c1) == std::mem::discriminant(c2)
            }
            _ => false,
        }
    }

    /// The configuration the failure happened under, if any.
    pub fn config(&self) -> Option<&CompileConfig> {
        match self {
            Failure::Generator(_) => None,
            Failure::Compile { config, .. }
            | Failure::CompileTime { config, .. }
            | Failure::Mismatch { config, .. } => Some(config),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Failure::Generator(m) => write!(f, "invalid generated program: {m}"),
            Failure::Compile { config, error } => write!(f, "compilation failed ({config}): {error}"),
            Failure::CompileTime { message, .. } => f.write_str(message),
            Failure::Mismatch { config, args, interp, compiled } => {
                let a: Vec<String> = args.iter().map(|a| a.to_string()).collect();
                write!(
                    f,
                    "mismatch ({config}) for f0({}):\n  interpreter: {interp}\n  compiled:    {compiled}",
                    a.join(", ")
                )
            }
        }
    }
}

/// Counters over a run.
#[derive(Default, Debug)]
pub struct Stats {
    /// Argument sets compared (interpreter vs one configuration).
    pub comparisons: u64,
    /// Argument sets the interpreter could not finish.
    pub skipped_runs: u64,
    /// Interpreter runs that trapped, by code.
    pub traps: BTreeMap<String, u64>,
    /// Interpreter runs that returned.
    pub returns: u64,
    /// Static occurrences of each opcode in compared programs.
    pub opcodes: BTreeMap<&'static str, u64>,
    /// Types of values in compared programs.
    pub types: BTreeSet<Type>,
    /// Compilations rejected as unsupported (oracle gaps).
    pub unsupported: BTreeMap<String, u64>,
}

impl Stats {
    fn record_program(&mut self, funcs: &[Function]) {
        for f in funcs {
            for b in f.layout.blocks() {
                for &p in f.dfg.block_params(b) {
                    self.types.insert(f.dfg.value_type(p));
                }
                for i in f.layout.block_insts(b) {
                    let op = f.dfg.opcode(i);
                    *self.opcodes.entry(op.name()).or_default() += 1;
                    for &r in f.dfg.inst_results(i) {
                        self.types.insert(f.dfg.value_type(r));
                    }
                }
            }
        }
    }
}

/// Runs cases against the interpreter and every configuration.
pub struct Differ {
    /// Configurations to compare.
    pub configs: Vec<CompileConfig>,
    /// The compile-time oracle, if enabled: each configuration's compilation of a case is
    /// timed and checked against a linear model of the functions' sizes.
    pub compile_time: Option<std::cell::RefCell<crate::compile_time::CompileTimeOracle>>,
}

impl Default for Differ {
    fn default() -> Self {
        Differ {
            configs: CompileConfig::all(),
            compile_time: Some(std::cell::RefCell::new(crate::compile_time::CompileTimeOracle::new())),
        }
    }
}

/// Parse and verify the program of a case.
pub fn build(program: &Program) -> Result<Vec<Function>, Failure> {
    let text = program.to_clif();
    let funcs = parse_functions(&text).map_err(|e| Failure::Generator(format!("does not parse: {e}")))?;
    let flags = Flags::default();
    let ctx = VerifierContext::new(&flags);
    for f in &funcs {
        verify_function(f, &ctx).map_err(|e| Failure::Generator(format!("does not verify: {e}")))?;
    }
    Ok(funcs)
}

/// Run function 0 of `funcs` in the interpreter.
pub fn interpret(funcs: &[Function], args: &[DataValue]) -> Result<Outcome, Failure> {
    let config = InterpConfig { fuel: Some(FUEL), ..InterpConfig::default() };
    let mut interp = Interpreter::new(funcs, config);
    Ok(match interp.call(0, args) {
        Ok(v) => Outcome::Values(v),
        Err(InterpError::Trap(c)) => Outcome::Trap(Some(c)),
        Err(e @ (InterpError::FuelExhausted | InterpError::CallDepth | InterpError::Unsupported(_))) => {
            Outcome::Skipped(e.to_string())
        }
        Err(e) => return Err(Failure::Generator(format!("interpreter: {e}"))),
    })
}

/// Compile `funcs` for one configuration (checking the compile time with `oracle`, if
/// given).
pub fn compile(
    funcs: &[Function],
    config: &CompileConfig,
    case: &Case,
    oracle: Option<&std::cell::RefCell<crate::compile_time::CompileTimeOracle>>,
) -> Result<Result<JitRunner, String>, Failure> {
    let flags = config.flags(case.nan_canon);
    let mut isas: Vec<(String, Box<dyn TargetIsa>)> = crate::oracle::isa_variants(&flags);
    if isas.is_empty() {
        return Err(Failure::Compile {
            config: config.clone(),
            error: format!("no {:?} target", crate::oracle::target()),
        });
    }
    let i = case.isa_variant.min(isas.len() - 1);
    let (name, isa) = isas.swap_remove(i);
    // The runner's compilation (plus trampolines and linking, small fixed costs), timed for
    // the compile-time oracle; the ISA is kept for re-timing suspects alone.
    let oracle_isa = oracle.map(|_| crate::oracle::isa_variants(&flags).swap_remove(i).1);
    let start = std::time::Instant::now();
    let runner = JitRunner::new(funcs, isa);
    let elapsed = start.elapsed();
    if let (Some(o), Some(isa)) = (oracle, oracle_isa) {
        let key = format!("{config} nan_canon={} {name}", case.nan_canon);
        o.borrow_mut()
            .check(&key, &*isa, funcs, elapsed)
            .map_err(|message| Failure::CompileTime { config: config.clone(), message })?;
    }
    match runner {
        Ok(r) => match r.first_unavailable() {
            None => Ok(Ok(r)),
            Some(RunError::Unsupported(m)) => Ok(Err(m.clone())),
            Some(e) => Err(Failure::Compile { config: config.clone(), error: e.to_string() }),
        },
        Err(e) if e.contains("unsupported") => Ok(Err(e)),
        Err(e) => Err(Failure::Compile { config: config.clone(), error: e }),
    }
}

impl Differ {
    /// Check a case; `stats` (if given) accumulates counters.
    pub fn check(&self, case: &Case, mut stats: Option<&mut Stats>) -> Result<(), Failure> {
        let funcs = build(&case.program)?;
        let mut expected = Vec::with_capacity(case.args.len());
        for a in &case.args {
            let o = interpret(&funcs, a)?;
            if let Some(s) = stats.as_deref_mut() {
                match &o {
                    Outcome::Values(_) => s.returns += 1,
                    Outcome::Trap(c) => *s.traps.entry(c.map(|c| c.to_string()).unwrap_or_default()).or_default() += 1,
                    Outcome::Skipped(_) => s.skipped_runs += 1,
                }
            }
            expected.push(o);
        }
        if expected.iter().all(|o| matches!(o, Outcome::Skipped(_))) {
            return Ok(());
        }
        let mut compared = false;
        for config in &self.configs {
            let mut runner = match compile(&funcs, config, case, self.compile_time.as_ref())? {
                Ok(r) => r,
                Err(e) => {
                    if let Some(s) = stats.as_deref_mut() {
                        let first = e.lines().next().unwrap_or("").to_string();
                        *s.unsupported.entry(first).or_default() += 1;
                    }
                    continue;
                }
            };
            for (a, want) in case.args.iter().zip(&expected) {
                if matches!(want, Outcome::Skipped(_)) {
                    continue;
                }
                let got = match runner.call(0, a) {
                    Ok(v) => Outcome::Values(v),
                    Err(RunError::Trap(t)) => Outcome::Trap(t.code),
                    Err(e) => {
                        return Err(Failure::Compile { config: config.clone(), error: format!("cannot call: {e}") });
                    }
                };
                if let Some(s) = stats.as_deref_mut() {
                    s.comparisons += 1;
                }
                compared = true;
                if !same_outcome(want, &got) {
                    return Err(Failure::Mismatch {
                        config: config.clone(),
                        args: a.clone(),
                        interp: want.clone(),
                        compiled: got,
                    });
                }
            }
        }
        if compared && let Some(s) = stats {
            s.record_program(&funcs);
        }
        Ok(())
    }
}

/// The text of a `.clif` runtest reproducing `failure` for `case`.
pub fn reproducer(case: &Case, failure: &Failure, header: &str) -> String {
    let mut out = String::new();
    for line in header.lines() {
        let _ = writeln!(out, "; {line}");
    }
    for line in failure.to_string().lines() {
        let _ = writeln!(out, "; {line}");
    }
    out.push_str("test interpret\ntest run\n");
    if let Some(c) = failure.config() {
        let _ = writeln!(out, "set opt_level={}\nset regalloc_algorithm={}", c.opt_level, c.regalloc);
    }
    if case.nan_canon {
        out.push_str("set enable_nan_canonicalization\n");
    }
    let variants = crate::oracle::isa_variants(&Flags::default());
    let target = variants.get(case.isa_variant).map(|v| v.0.clone()).unwrap_or_else(|| "x86_64".into());
    let _ = writeln!(out, "target {target}\n");
    out.push_str(&case.program.func_text(0));
    let funcs = build(&case.program).ok();
    for a in &case.args {
        let args: Vec<String> = a.iter().map(|x| x.to_string()).collect();
        let call = format!("%f0({})", args.join(", "));
        match funcs.as_ref().map(|f| interpret(f, a)) {
            Some(Ok(Outcome::Values(v))) => {
                let vals: Vec<String> = v.iter().map(|x| x.to_string()).collect();
                if vals.len() == 1 {
                    let _ = writeln!(out, "; run: {call} == {}", vals[0]);
                } else {
                    let _ = writeln!(out, "; run: {call} == [{}]", vals.join(", "));
                }
            }
            Some(Ok(o)) => {
                let _ = writeln!(out, "; {call}: interpreter gives {o}");
            }
            _ => {}
        }
    }
    for i in 1..case.program.funcs.len() {
        out.push('\n');
        out.push_str(&case.program.func_text(i));
    }
    out
}

//! The compile-time oracle: a generated function whose compilation takes far longer than a
//! linear model of its size predicts is a finding (a quadratic pass, or input the register
//! allocator handles pathologically; issue 17).
//!
//! The model is `time = fixed + per_unit · units`, where `units` counts instructions, blocks
//! and values. It is calibrated on this machine, once per compilation setting, by compiling
//! reference functions: a tiny one (the fixed cost) and a straight-line-and-loops one of about
//! two thousand units (the cost per unit); each measurement is the minimum of several
//! compilations. A program is checked as a whole first (one timing of what the tester
//! compiles anyway); only when it exceeds `FACTOR · prediction + SLACK` is each function
//! re-timed alone, three times, and the minimum compared with its own prediction, so a busy
//! machine does not make findings.

use kiln_codegen::{Context, TargetIsa};
use kiln_ir::Function;
use kiln_ir::text::parse_functions;
use std::collections::HashMap;
use std::fmt::Write;
use std::time::{Duration, Instant};

/// How far above the linear prediction a compilation may go (the default).
pub const FACTOR: f64 = 25.0;

/// Absolute slack on top (timer resolution, page faults, a scheduler tick; the default).
pub const SLACK: Duration = Duration::from_millis(20);

/// The size measure of the model.
pub fn units(f: &Function) -> usize {
    let insts: usize = f.layout.blocks().map(|b| f.layout.block_insts(b).count()).sum();
    insts + f.layout.blocks().count() + f.dfg.num_values()
}

/// A calibrated linear model.
#[derive(Copy, Clone, Debug)]
pub struct Model {
    /// Cost of compiling any function, in nanoseconds.
    pub fixed_ns: f64,
    /// Cost per unit, in nanoseconds.
    pub per_unit_ns: f64,
}

impl Model {
    /// The predicted compile time of a function of `units`.
    pub fn predict(&self, units: usize) -> Duration {
        Duration::from_nanos((self.fixed_ns + self.per_unit_ns * units as f64) as u64)
    }

    /// The time above which a compilation of `units` is a finding.
    pub fn limit(&self, units: usize, factor: f64, slack: Duration) -> Duration {
        self.predict(units).mul_f64(factor) + slack
    }
}

/// The minimum over `n` compilations of `f` (or the error).
pub fn min_compile_time(f: &Function, isa: &dyn TargetIsa, n: usize) -> Result<Duration, String> {
    let mut ctx = Context::new();
    let mut best = Duration::MAX;
    for _ in 0..n.max(1) {
        ctx.clear();
        ctx.func = f.clone();
        let t = Instant::now();
        let r = ctx.compile(isa).map(|_| ());
        let e = t.elapsed();
        r.map_err(|e| e.to_string())?;
        best = best.min(e);
    }
    Ok(best)
}

/// The reference functions: a tiny one, and a larger one mixing straight-line integer and
/// float code, memory accesses and nested loops with block parameters.
fn reference_functions() -> (Function, Function) {
    let tiny = "function %tiny(i64) -> i64 {\nblock0(v0: i64):\n    return v0\n}\n";
    let mut s = String::from("function %reference(i64, i64, f64) -> i64 {\n    ss0 = explicit_slot 64\n");
    let _ = writeln!(s, "block0(v0: i64, v1: i64, v2: f64):\n    v3 = iconst.i64 0\n    jump block1(v3, v0)");
    let mut v = 4;
    let blocks = 40;
    for b in 1..=blocks {
        let (i, acc) = (v, v + 1);
        let _ = writeln!(s, "block{b}(v{i}: i64, v{acc}: i64):");
        v += 2;
        let mut last = acc;
        for k in 0..8 {
            let _ = writeln!(s, "    v{v} = iadd v{last}, v{i}");
            let _ = writeln!(s, "    v{} = imul v{v}, v1", v + 1);
            let _ = writeln!(s, "    v{} = bxor v{}, v{last}", v + 2, v + 1);
            let _ = writeln!(s, "    v{} = fcvt_from_sint.f64 v{}", v + 3, v + 2);
            let _ = writeln!(s, "    v{} = fadd v{}, v2", v + 4, v + 3);
            let _ = writeln!(s, "    v{} = stack_addr.i64 ss0+{}", v + 5, (k % 8) * 8);
            let _ = writeln!(s, "    store v{}, v{}", v + 4, v + 5);
            let _ = writeln!(s, "    v{} = load.i64 v{}", v + 6, v + 5);
            last = v + 6;
            v += 7;
        }
        let one = v;
        let _ = writeln!(s, "    v{one} = iconst.i64 1\n    v{} = iadd v{i}, v{one}", one + 1);
        let _ = writeln!(s, "    v{} = iconst.i64 3\n    v{} = icmp ult v{}, v{}", one + 3, one + 2, one + 1, one + 3);
        let next = if b == blocks {
            "block41(v{last})".replace("{last}", &last.to_string())
        } else {
            format!("block{}(v{}, v{last})", b + 1, one + 1)
        };
        let _ = writeln!(s, "    brif v{}, block{b}(v{}, v{last}), {next}", one + 2, one + 1);
        v += 4;
    }
    let _ = writeln!(s, "block{}(v{v}: i64):\n    return v{v}\n}}", blocks + 1);
    let mut t = parse_functions(tiny).expect("reference tiny function");
    let mut r = parse_functions(&s).expect("reference function");
    (t.remove(0), r.remove(0))
}

/// The oracle: one calibrated model per compilation setting.
#[derive(Clone)]
pub struct CompileTimeOracle {
    models: HashMap<String, Model>,
    /// How far above the prediction a compilation may go.
    pub factor: f64,
    /// Absolute slack on top.
    pub slack: Duration,
    /// Programs checked.
    pub checked: u64,
    /// The largest ratio of a program's compile time to its prediction, with its setting.
    pub worst: Option<(f64, String)>,
}

impl Default for CompileTimeOracle {
    fn default() -> Self {
        CompileTimeOracle { models: HashMap::new(), factor: FACTOR, slack: SLACK, checked: 0, worst: None }
    }
}

impl CompileTimeOracle {
    /// A fresh oracle with the default limits (models are calibrated when first needed).
    pub fn new() -> Self {
        Self::default()
    }

    /// A summary: programs checked, the worst ratio, the calibrated models.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "compile-time oracle: {} compilations checked (limit {}x the linear model + {} ms)",
            self.checked,
            self.factor,
            self.slack.as_millis()
        );
        if let Some((r, what)) = &self.worst {
            let _ = write!(s, "; slowest relative to the model: {r:.1}x ({what})");
        }
        let mut keys: Vec<&String> = self.models.keys().collect();
        keys.sort();
        for k in keys {
            let m = &self.models[k];
            let _ = write!(s, "\n  model {k}: {:.0} µs + {:.2} µs/unit", m.fixed_ns / 1e3, m.per_unit_ns / 1e3);
        }
        s
    }

    /// The model of the setting `key` (compiled with `isa`), calibrated on first use.
    pub fn model(&mut self, key: &str, isa: &dyn TargetIsa) -> Result<Model, String> {
        if let Some(m) = self.models.get(key) {
            return Ok(*m);
        }
        let (tiny, reference) = reference_functions();
        let fixed = min_compile_time(&tiny, isa, 20)?;
        let big = min_compile_time(&reference, isa, 5)?;
        let per_unit = big.saturating_sub(fixed).as_nanos() as f64 / units(&reference) as f64;
        let m = Model { fixed_ns: fixed.as_nanos() as f64, per_unit_ns: per_unit.max(1.0) };
        self.models.insert(key.to_string(), m);
        Ok(m)
    }

    /// Check the compilation of `funcs` with `isa` (setting `key`), which took `elapsed`
    /// in all. `Err` describes a function compiled far slower than its size predicts.
    pub fn check(
        &mut self,
        key: &str,
        isa: &dyn TargetIsa,
        funcs: &[Function],
        elapsed: Duration,
    ) -> Result<(), String> {
        let m = self.model(key, isa)?;
        let total: Duration = funcs.iter().map(|f| m.predict(units(f))).sum();
        self.checked += 1;
        let ratio = elapsed.as_secs_f64() / total.as_secs_f64().max(1e-9);
        if self.worst.as_ref().is_none_or(|(r, _)| ratio > *r) {
            let u: usize = funcs.iter().map(units).sum();
            self.worst = Some((ratio, format!("{key}, {u} units, {:.2} ms", elapsed.as_secs_f64() * 1e3)));
        }
        if elapsed <= total.mul_f64(self.factor) + self.slack {
            return Ok(());
        }
        for f in funcs {
            let u = units(f);
            // Functions the target rejects take no time worth modelling.
            let Ok(t) = min_compile_time(f, isa, 3) else { continue };
            if t > m.limit(u, self.factor, self.slack) {
                return Err(format!(
                    "compile-time oracle ({key}): {} ({u} units) took {:.1} ms, the linear model predicts {:.3} ms \
                     (fixed {:.0} µs + {:.2} µs/unit; limit {}x + {} ms)",
                    f.name,
                    t.as_secs_f64() * 1e3,
                    m.predict(u).as_secs_f64() * 1e3,
                    m.fixed_ns / 1e3,
                    m.per_unit_ns / 1e3,
                    self.factor,
                    self.slack.as_millis()
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibrates_and_accepts_the_reference() {
        let flags = kiln_ir::settings::Flags::default();
        let Ok(isa) = kiln_isa::native(flags) else { return };
        let mut o = CompileTimeOracle::new();
        let m = o.model("default", &*isa).unwrap();
        assert!(m.per_unit_ns > 0.0 && m.fixed_ns > 0.0, "{m:?}");
        let (tiny, reference) = reference_functions();
        assert!(units(&reference) > 1500, "{}", units(&reference));
        let funcs = [tiny, reference];
        let t = Instant::now();
        for f in &funcs {
            min_compile_time(f, &*isa, 1).unwrap();
        }
        assert!(o.check("default", &*isa, &funcs, t.elapsed()).is_ok());
        // A compilation taking far longer than predicted is reported.
        assert!(o.check("default", &*isa, &funcs, Duration::from_secs(3600)).is_ok(), "re-timed alone, they are fine");
        let slow = Model { fixed_ns: 1.0, per_unit_ns: 0.0001 };
        o.models.insert("tight".into(), slow);
        o.factor = 1.0;
        o.slack = Duration::ZERO;
        let e = o.check("tight", &*isa, &funcs[1..], Duration::from_secs(3600)).unwrap_err();
        assert!(e.contains("compile-time oracle") && e.contains("%reference"), "{e}");
    }
}

//! The optimizer's time stays within 10× of the function's `opt_level=none` compile time, on
//! the largest functions of the benchmark corpus (`shared/bench/clif/sqlite.clif`), and the
//! optimized functions still compile.
//!
//! Each measurement is the minimum of several runs, so that a busy machine does not fail the
//! test; the verifier is off in both (as in a production compile).

mod common;

use kiln_codegen::Context;
use kiln_ir::text::{IsaSpec, ParseOptions, parse_test};
use std::time::{Duration, Instant};

/// The header lines and the texts of the `n` largest functions of a CLIF file.
fn largest_functions(text: &str, n: usize) -> String {
    let first = text.find("\nfunction ").map_or(0, |i| i + 1);
    let header = &text[..first];
    let mut funcs: Vec<&str> = Vec::new();
    let mut rest = &text[first..];
    while !rest.is_empty() {
        let end = rest[1..].find("\nfunction ").map_or(rest.len(), |i| i + 2);
        funcs.push(&rest[..end]);
        rest = &rest[end..];
    }
    funcs.sort_by_key(|f| std::cmp::Reverse(f.len()));
    let mut out = header.to_string();
    for f in funcs.iter().take(n) {
        out.push_str(f);
        out.push('\n');
    }
    out
}

fn min_time(runs: usize, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let mut best: Option<Duration> = None;
    for _ in 0..runs {
        let t = Instant::now();
        if !f() {
            return None;
        }
        let e = t.elapsed();
        best = Some(best.map_or(e, |b| b.min(e)));
    }
    best
}

#[test]
fn optimizer_time_is_bounded_on_the_largest_functions() {
    let Some(shared) = common::shared_dir() else { return };
    let path = shared.join("bench/clif/sqlite.clif");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipping: {} not found (set KILN_SHARED_DIR)", path.display());
        return;
    };
    let subset = largest_functions(&text, 12);
    let tf = parse_test(&subset, &ParseOptions::default()).expect("parse");
    let IsaSpec::Targets(ts) = &tf.isa_spec else { panic!("the corpus names a target") };
    let mut none_flags = ts[0].flags.clone();
    none_flags.set_word("enable_verifier=false").unwrap();
    none_flags.set_word("opt_level=none").unwrap();
    let mut speed_flags = none_flags.clone();
    speed_flags.set_word("opt_level=speed").unwrap();
    let none_isa = kiln_isa::lookup(&ts[0].spec, none_flags).expect("isa");
    let speed_isa = kiln_isa::lookup(&ts[0].spec, speed_flags.clone()).expect("isa");
    let mut ctx = Context::new();
    let mut opt = kiln_egraph::OptContext::new();
    opt.options.verify = Some(false);
    let mut checked = 0;
    let mut worst = 0.0f64;
    for (func, _) in &tf.functions {
        let none = min_time(3, || {
            ctx.clear();
            ctx.func = func.clone();
            ctx.compile(&*none_isa).is_ok()
        });
        let Some(none) = none else { continue };
        let optimize = min_time(3, || {
            let mut f = func.clone();
            kiln_egraph::optimize(&mut f, &mut opt, &speed_flags, Some(&ts[0].spec)).is_ok()
        })
        .expect("the optimizer failed");
        // The optimized function compiles too.
        ctx.clear();
        ctx.func = func.clone();
        ctx.compile(&*speed_isa).expect("compiles at opt_level=speed");
        let ratio = optimize.as_secs_f64() / none.as_secs_f64();
        eprintln!(
            "{}: {} insts, none {:.2} ms, optimizer {:.2} ms, ratio {ratio:.2}",
            func.name,
            func.num_insts_in_layout(),
            none.as_secs_f64() * 1e3,
            optimize.as_secs_f64() * 1e3
        );
        worst = worst.max(ratio);
        assert!(ratio <= 10.0, "{}: the optimizer took {ratio:.1}× the opt_level=none compile time", func.name);
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} functions measured");
    eprintln!("worst ratio {worst:.2}");
}

//! Compile time stays near-linear on the hostile shapes of issue 17 (the full comparison
//! with Cranelift is `scripts/scaling.py`): parsing and compiling a shape 20 times larger
//! takes at most `LIMIT` times longer (linear would be 20; the quadratic behaviour these
//! shapes used to trigger is over 200). The sizes start where the small case no longer fits
//! in the caches (`live` at 1,000 values is several times cheaper per value than at 5,000,
//! for Cranelift too). Each time is the minimum of a few runs, so a busy machine does not
//! fail the test.

use kiln_codegen::Context;
use kiln_ir::settings::Flags;
use kiln_ir::text::parse_functions;
use std::fmt::Write;
use std::time::{Duration, Instant};

const SCALE: usize = 20;
const LIMIT: f64 = 100.0;

/// `v_i = iadd v0, c_i` for every i, then all summed.
fn live(n: usize) -> String {
    let mut s = String::from("function %live(i64) -> i64 {\nblock0(v0: i64):\n");
    for i in 1..=n {
        let _ = writeln!(s, "    v{} = iconst.i64 {i}\n    v{} = iadd v0, v{}", 2 * i, 2 * i + 1, 2 * i);
    }
    let (mut acc, mut next) = (3, 2 * n + 2);
    for i in 2..=n {
        let _ = writeln!(s, "    v{next} = iadd v{acc}, v{}", 2 * i + 1);
        acc = next;
        next += 1;
    }
    let _ = writeln!(s, "    return v{acc}\n}}");
    s
}

/// Blocks that only jump to the next.
fn jumps(n: usize) -> String {
    let mut s = String::from("function %jumps(i64) -> i64 {\nblock0(v0: i64):\n    jump block1\n");
    for i in 1..n {
        let _ = writeln!(s, "block{i}:\n    jump block{}", i + 1);
    }
    let _ = writeln!(s, "block{n}:\n    return v0\n}}");
    s
}

/// A block with n parameters on one line, all passed `v0`, summed.
fn params(n: usize) -> String {
    let args: Vec<&str> = (0..n).map(|_| "v0").collect();
    let ps: Vec<String> = (1..=n).map(|k| format!("v{k}: i64")).collect();
    let mut s = format!(
        "function %params(i64) -> i64 {{\nblock0(v0: i64):\n    jump block1({})\nblock1({}):\n",
        args.join(", "),
        ps.join(", ")
    );
    let (mut acc, mut next) = (1, n + 1);
    for k in 2..=n {
        let _ = writeln!(s, "    v{next} = iadd v{acc}, v{k}");
        acc = next;
        next += 1;
    }
    let _ = writeln!(s, "    return v{acc}\n}}");
    s
}

/// A chain of aliases `vK -> vK-1`.
fn aliases(n: usize) -> String {
    let mut s = String::from("function %aliases(i64) -> i64 {\nblock0(v0: i64):\n    v1 = iadd v0, v0\n");
    for k in 2..n + 2 {
        let _ = writeln!(s, "    v{k} -> v{}", k - 1);
    }
    let _ = writeln!(s, "    v{} = iadd v{}, v0\n    return v{}\n}}", n + 2, n + 1, n + 2);
    s
}

/// One block of pure values for the optimizer.
fn opt(n: usize) -> String {
    let mut s = String::from("function %opt(i64, i64) -> i64 {\nblock0(v0: i64, v1: i64):\n");
    let (mut prev, mut prev2, mut v) = (0, 1, 2);
    while v < n {
        let k = v;
        let _ = writeln!(s, "    v{k} = iconst.i64 {}", v % 977 + 1);
        let _ = writeln!(s, "    v{} = iadd v{prev}, v{k}\n    v{} = imul v{}, v{prev2}", k + 1, k + 2, k + 1);
        let _ = writeln!(
            s,
            "    v{} = bxor v{}, v{}\n    v{} = iadd v{}, v{}",
            k + 3,
            k + 2,
            k + 1,
            k + 4,
            k + 3,
            k.saturating_sub(1000)
        );
        prev2 = prev;
        prev = k + 4;
        v += 5;
    }
    let _ = writeln!(s, "    return v{prev}\n}}");
    s
}

/// Minimum over `runs` of parsing and compiling `text` at `opt_level`.
fn time(text: &str, opt_level: &str, runs: usize) -> Duration {
    let mut flags = Flags::default();
    flags.set_word("enable_verifier=false").unwrap();
    flags.set_word(&format!("opt_level={opt_level}")).unwrap();
    let isa = kiln_isa::native(flags).expect("host isa");
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        let f = parse_functions(text).expect("parses").remove(0);
        let mut ctx = Context::for_function(f);
        ctx.compile(&*isa).expect("compiles");
        best = best.min(t.elapsed());
    }
    best
}

#[test]
fn hostile_shapes_scale_near_linearly() {
    if kiln_isa::native(Flags::default()).is_err() {
        return;
    }
    let shapes: [(&str, fn(usize) -> String, usize, &str); 5] = [
        ("live", live, 5_000, "none"),
        ("jumps", jumps, 4_900, "none"),
        ("params", params, 2_000, "none"),
        ("aliases", aliases, 20_000, "none"),
        ("opt", opt, 5_000, "speed"),
    ];
    let mut report = String::new();
    for (name, shape, n, opt_level) in shapes {
        let small = time(&shape(n), opt_level, 5).max(Duration::from_micros(200));
        let big = time(&shape(n * SCALE), opt_level, 3);
        let ratio = big.as_secs_f64() / small.as_secs_f64();
        let _ = writeln!(report, "{name}: n={n}: {small:?}, n={}: {big:?}, ratio {ratio:.1}", n * SCALE);
        assert!(ratio <= LIMIT, "{name} grows faster than near-linearly:\n{report}");
    }
    println!("{report}");
}

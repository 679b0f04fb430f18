//! Robustness of the text reader: tens of thousands of mutated and truncated variants of the
//! sample files (bytes replaced, lines deleted or duplicated, words swapped, tokens inserted,
//! truncation) go through `parse_test`, the printer (for whatever parses) and
//! `parse_run_command` (on every comment). Each must return `Ok` or an error with a valid
//! location, and never panic. Deterministic: a fixed-seed PRNG, no external crates.

mod common;

use common::shared;
use kiln_ir::text::runcommand::parse_run_command;
use kiln_ir::text::{ParseOptions, parse_functions, parse_test};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

const TOKENS: &[&str] = &[
    "v0",
    "v1",
    "v99",
    "v4194303",
    "v4194304",
    "v2147483646",
    "block0",
    "block1",
    "block99999",
    "block100000",
    "ss0",
    "ss7",
    "ss1048576",
    "dss0",
    "dt0",
    "gv0",
    "gv3",
    "const0",
    "fn0",
    "sig0",
    "sig9",
    "region0",
    "region3",
    "tag1",
    "ret0",
    "exn0",
    "ret1073741824",
    "u0",
    "u0:",
    "u1:2",
    "userextname0",
    "userextname9",
    "mt0",
    "extable0",
    "[",
    "]",
    "(",
    ")",
    "{",
    "}",
    "<",
    ">",
    ",",
    ".",
    ":",
    "=",
    "!",
    "*",
    "@",
    "@0",
    "@ffffffffff",
    "->",
    "-",
    "+",
    "+8",
    "-0x80000000",
    "0x",
    "0x1",
    "0x123",
    "0x1.8p3",
    "0x1p99999",
    "NaN",
    "NaN:0x1",
    "+sNaN:0x0",
    "-Inf",
    "1.5",
    "-0.0",
    "18446744073709551616",
    "-9223372036854775809",
    "0xffffffffffffffffff",
    "\"",
    "\"str\"",
    "%",
    "%f",
    "#",
    "#ab",
    ";",
    "; run: %f(1) == 2",
    "\n",
    "i8",
    "i32x4",
    "i128",
    "f128",
    "i8x256",
    "cold",
    "function",
    "iadd",
    "iconst.i8",
    "vconst.i8x16",
    "call",
    "try_call",
    "br_table",
    "load",
    "store",
    "notrap",
    "aligned",
    "big",
    "little",
    "stack_map",
    "explicit_slot",
    "align",
    "key",
    "vmctx",
    "symbol",
    "colocated",
    "patchable",
    "stack_limit",
    "sarg(",
    "test",
    "set",
    "target",
    "feature",
    "default",
    "context",
    "é",
    "\u{0}",
];

fn words(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        if c.is_whitespace() {
            if let Some(st) = start.take() {
                out.push((st, i));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        out.push((st, s.len()));
    }
    out
}

fn floor_char(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn mutate(rng: &mut Rng, src: &str) -> String {
    let mut s = src.to_string();
    let rounds = 1 + rng.below(3);
    for _ in 0..rounds {
        if s.is_empty() {
            break;
        }
        match rng.below(8) {
            0 => {
                // Replace one character by a random printable/odd character.
                let i = floor_char(&s, rng.below(s.len()));
                let c = if rng.below(10) == 0 {
                    *rng.pick(&['é', '\u{0}', '\r', '\t', '\u{b}', '$', '\\'])
                } else {
                    (0x20 + rng.below(0x5f)) as u8 as char
                };
                let end = s[i..].chars().next().map_or(i, |ch| i + ch.len_utf8());
                s.replace_range(i..end, &c.to_string());
            }
            1 | 2 => {
                // Delete or duplicate a line.
                let lines: Vec<&str> = s.split_inclusive('\n').collect();
                let k = rng.below(lines.len());
                let mut out = String::with_capacity(s.len() + 80);
                for (j, l) in lines.iter().enumerate() {
                    if j == k && rng.below(2) == 0 {
                        continue;
                    }
                    out.push_str(l);
                    if j == k {
                        out.push_str(l);
                    }
                }
                s = out;
            }
            3 => {
                // Swap two words.
                let w = words(&s);
                if w.len() >= 2 {
                    let (mut a, mut b) = (w[rng.below(w.len())], w[rng.below(w.len())]);
                    if a.0 > b.0 {
                        core::mem::swap(&mut a, &mut b);
                    }
                    if a.1 <= b.0 {
                        let wa = s[a.0..a.1].to_string();
                        let wb = s[b.0..b.1].to_string();
                        s.replace_range(b.0..b.1, &wa);
                        s.replace_range(a.0..a.1, &wb);
                    }
                }
            }
            4 => {
                // Truncate.
                let i = floor_char(&s, rng.below(s.len() + 1));
                s.truncate(i);
            }
            5 | 6 => {
                // Insert a token, with or without surrounding spaces.
                let i = floor_char(&s, rng.below(s.len() + 1));
                let t = *rng.pick(TOKENS);
                let ins = if rng.below(2) == 0 { format!(" {t} ") } else { t.to_string() };
                s.insert_str(i, &ins);
            }
            _ => {
                // Replace a word by a token.
                let w = words(&s);
                if !w.is_empty() {
                    let (a, b) = w[rng.below(w.len())];
                    let t: &str = TOKENS[rng.below(TOKENS.len())];
                    s.replace_range(a..b, t);
                }
            }
        }
    }
    s
}

fn check_location(e: &kiln_ir::text::ParseError, input: &str) {
    assert!(e.location.line >= 1 && e.location.col >= 1, "bad location {e} for input:\n{input}");
    let lines = input.split('\n').count() as u32;
    assert!(e.location.line <= lines.max(1), "location {} past the end ({lines} lines): {e}", e.location);
}

/// Run every reader entry point on `input`; `Err(())` if something panicked.
fn exercise(input: &str) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| {
        match parse_test(input, &ParseOptions::default()) {
            Ok(tf) => {
                for (func, details) in &tf.functions {
                    let text = func.to_string();
                    // What the printer writes for a parsed (maybe invalid) function must not
                    // crash the reader either.
                    let _ = parse_functions(&text);
                    for c in &details.comments {
                        let _ = parse_run_command(&c.text, &func.signature);
                    }
                }
            }
            Err(e) => check_location(&e, input),
        }
        if let Err(e) = parse_functions(input) {
            check_location(&e, input);
        }
    }))
    .map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".to_string())
    })
}

#[test]
fn mutated_samples_never_panic() {
    let dir = shared().join("clif/runtests-sample");
    let mut files: Vec<PathBuf> = Vec::new();
    fn collect(d: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        let mut v: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        v.sort();
        for p in v {
            if p.is_dir() {
                collect(&p, out)
            } else if p.extension().is_some_and(|e| e == "clif") {
                out.push(p)
            }
        }
    }
    collect(&dir, &mut files);
    collect(&shared().join("bench/clif/kernels"), &mut files);
    if files.is_empty() {
        eprintln!("skipping: no sample files under {}", dir.display());
        return;
    }
    let texts: Vec<String> = files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect();
    let n: usize = std::env::var("KILN_ROBUSTNESS_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let mut rng = Rng(0x5eed_c11f);
    let prev_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut failures: Vec<(String, String)> = Vec::new();
    let (mut ok, mut err) = (0usize, 0usize);
    for _ in 0..n {
        let base = rng.pick(&texts);
        // Mutate a window of the file so that cases stay small and fast.
        let start = floor_char(base, if base.len() > 4000 { rng.below(base.len() - 2000) } else { 0 });
        let start = base[..start].rfind("\nfunction ").map_or(0, |i| i + 1);
        let end = floor_char(base, start + 6000);
        let header_end = base.find("\nfunction ").map_or(0, |i| i + 1);
        let mut window = String::new();
        if start > 0 {
            window.push_str(&base[..header_end]);
        }
        window.push_str(&base[start..end]);
        let input = mutate(&mut rng, &window);
        match exercise(&input) {
            Ok(()) => {
                if parse_test(&input, &ParseOptions::default()).is_ok() {
                    ok += 1
                } else {
                    err += 1
                }
            }
            Err(msg) => failures.push((msg, input)),
        }
        if failures.len() >= 5 {
            break;
        }
    }
    // Token soups: random vocabulary after valid prefixes, to reach deep parser states.
    let prefixes = [
        "test run\nfunction %f(i64, i32) -> i32 {\n",
        "function %f(i64, i32) -> i32 {\n    ss0 = explicit_slot 8\n    sig0 = (i32) -> i32\n    fn0 = %g sig0\n    gv0 = vmctx\n    const0 = 0x01\n    dt0 = i32x4*gv0\n",
        "function %f(i64, i32) -> i32 {\n    ss0 = explicit_slot 8\n    sig0 = (i32) -> i32\n    fn0 = %g sig0\nblock0(v0: i64, v1: i32):\n",
        "function %f(i64, i32) -> i32 {\nblock0(v0: i64, v1: i32):\n    v2 = iconst.i32 1\n    ",
    ];
    let soups = n / 4;
    for _ in 0..soups {
        let mut input = rng.pick(&prefixes).to_string();
        for _ in 0..1 + rng.below(30) {
            let t: &str = TOKENS[rng.below(TOKENS.len())];
            input.push_str(t);
            input.push(if rng.below(4) == 0 { '\n' } else { ' ' });
        }
        if rng.below(2) == 0 {
            input.push_str("\n}\n");
        }
        match exercise(&input) {
            Ok(()) => {
                if parse_test(&input, &ParseOptions::default()).is_ok() {
                    ok += 1
                } else {
                    err += 1
                }
            }
            Err(msg) => failures.push((msg, input)),
        }
        if failures.len() >= 5 {
            break;
        }
    }
    // Mutated run commands against real signatures.
    let mut run_cases = 0;
    for text in texts.iter().take(60) {
        let Ok(tf) = parse_test(text, &ParseOptions::default()) else { continue };
        for (func, details) in tf.functions.iter().take(4) {
            for c in details.comments.iter().take(6) {
                for _ in 0..4 {
                    let m = mutate(&mut rng, &c.text);
                    run_cases += 1;
                    if catch_unwind(|| parse_run_command(&m, &func.signature)).is_err() {
                        failures.push(("run command panicked".to_string(), m));
                    }
                }
            }
        }
    }
    std::panic::set_hook(prev_hook);
    eprintln!("{ok} variants parsed, {err} rejected, {run_cases} mutated run commands");
    if let Some((msg, input)) = failures.first() {
        let path = std::env::temp_dir().join("kiln-parser-panic.clif");
        let _ = std::fs::write(&path, input);
        panic!("{} inputs panicked; first: {msg}\n(input saved to {})\n{input}", failures.len(), path.display());
    }
    assert!(ok + err >= n.min(20_000) && ok > 0 && err > 0);
}

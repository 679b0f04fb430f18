//! Round trip over real CLIF: every sample runtest file, the benchmark kernels and the start
//! of the sqlite corpus parse completely (functions and run commands), and for every function
//! `x`: `cat(cat(x)) == cat(x)` and `parse(cat(x))` is structurally equal to `x`.

mod common;

use common::{clif_files, shared};
use kiln_ir::compare::structurally_equal;
use kiln_ir::text::runcommand::parse_run_command;
use kiln_ir::text::{ParseOptions, parse_functions, parse_test};

/// Check one file's text; returns the number of functions and run commands checked.
fn check_text(name: &str, text: &str) -> (usize, usize) {
    let tf = match parse_test(text, &ParseOptions::default()) {
        Ok(tf) => tf,
        Err(e) => panic!("{name}: {e}"),
    };
    let mut runs = 0;
    for (func, details) in &tf.functions {
        for c in &details.comments {
            match parse_run_command(&c.text, &func.signature) {
                Ok(Some(cmd)) => {
                    runs += 1;
                    // The canonical echo parses back to the same command.
                    let echo = format!("; {cmd}");
                    let again = parse_run_command(&echo, &func.signature)
                        .unwrap_or_else(|e| panic!("{name}:{}: echo {echo:?}: {e}", c.location));
                    assert_eq!(again.as_ref(), Some(&cmd), "{name}:{}: echo {echo}", c.location);
                }
                Ok(None) => {}
                Err(e) => panic!("{name}:{}: run command {:?}: {e}", c.location, c.text),
            }
        }
        let cat1 = func.to_string();
        let parsed = match parse_functions(&cat1) {
            Ok(v) => v,
            Err(e) => panic!("{name}: {}: reparse of printed text failed: {e}\n{cat1}", func.name),
        };
        assert_eq!(parsed.len(), 1, "{name}: {}", func.name);
        let cat2 = parsed[0].to_string();
        assert_eq!(cat1, cat2, "{name}: {}: cat(cat(x)) != cat(x)", func.name);
        if let Err(e) = structurally_equal(&parsed[0], func) {
            panic!("{name}: {}: parse(cat(x)) differs from x: {e}\n{cat1}", func.name);
        }
    }
    (tf.functions.len(), runs)
}

#[test]
fn runtest_samples_round_trip() {
    let dir = shared().join("clif/runtests-sample");
    if !dir.is_dir() {
        eprintln!("skipping: {} not found", dir.display());
        return;
    }
    let mut files = Vec::new();
    clif_files(&dir, &mut files);
    assert!(files.len() >= 100, "expected the sample files, found {}", files.len());
    let (mut nf, mut nr) = (0, 0);
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let (a, b) = check_text(&f.display().to_string(), &text);
        nf += a;
        nr += b;
    }
    eprintln!("{} files, {nf} functions, {nr} run commands", files.len());
    assert!(nf >= 800 && nr >= 3500, "{nf} functions, {nr} run commands");
}

#[test]
fn bench_kernels_round_trip() {
    let dir = shared().join("bench/clif/kernels");
    if !dir.is_dir() {
        eprintln!("skipping: {} not found", dir.display());
        return;
    }
    let mut files = Vec::new();
    clif_files(&dir, &mut files);
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let (n, _) = check_text(&f.display().to_string(), &text);
        assert!(n > 0);
    }
}

/// The whole 29 MB sqlite corpus (1,968 functions; about 1.5 s in the test profile). Set
/// `KILN_SQLITE_LIMIT=N` to check only the first N functions.
#[test]
fn sqlite_round_trip() {
    let path = shared().join("bench/clif/sqlite.clif");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipping: {} not found", path.display());
        return;
    };
    let limit = std::env::var("KILN_SQLITE_LIMIT").ok().and_then(|s| s.parse().ok()).unwrap_or(usize::MAX);
    let mut cut = text.len();
    let mut count = 0;
    for (i, _) in text.match_indices("\nfunction ") {
        count += 1;
        if count > limit {
            cut = i + 1;
            break;
        }
    }
    let (n, _) = check_text("sqlite.clif", &text[..cut]);
    assert!(n >= limit.min(1968), "{n} functions");
}

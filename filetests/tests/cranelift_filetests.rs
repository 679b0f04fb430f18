//! Cranelift's own `parser/` and `verifier/` filetests (`shared/clif/cranelift-filetests/`,
//! unmodified copies) pass `clif-util test`: every parser file reads, prints and checks as in
//! Cranelift, and every verifier file gets its errors where Cranelift reports them, with
//! messages its `; error:` patterns match (and no others).

mod common;

use kiln_filetests::runner::{RunOptions, run_tests};

#[test]
fn cranelift_parser_and_verifier_filetests_pass() {
    let Some(shared) = common::shared_dir() else { return };
    let root = shared.join("clif/cranelift-filetests");
    for (sub, min_files) in [("parser", 10), ("verifier", 20)] {
        let dir = root.join(sub);
        let summary = run_tests(std::slice::from_ref(&dir), &RunOptions::default());
        assert!(summary.reports.len() >= min_files, "{}: {} files", dir.display(), summary.reports.len());
        assert!(summary.is_success(), "{}", summary.render(false));
        if sub == "verifier" {
            // Every `error:` annotation was matched (the verifier test fails otherwise).
            let expected: usize = summary
                .reports
                .iter()
                .map(|r| {
                    let text = std::fs::read_to_string(&r.path).unwrap_or_default();
                    text.lines().filter(|l| l.split(';').skip(1).any(|c| c.trim_start().starts_with("error:"))).count()
                })
                .sum();
            println!("cranelift verifier filetests: {expected} of {expected} expected errors matched");
            assert!(expected >= 100, "{expected} annotations");
        }
    }
}

/// What Cranelift accepts is accepted: a UTF-8 byte-order mark, `set`/`target` lines before
/// `test`, `test run` without a `target` line (the host), `; run: %f(x)` without a
/// comparison (prints the result), a store's type suffix.
#[test]
fn what_cranelift_accepts() {
    use kiln_filetests::runner::{Status, run_source};
    let text = "\u{feff}; comment first\nset opt_level=speed\ntest run\n\nfunction %st(i64) -> i32 {\n    ss0 = explicit_slot 8\nblock0(v0: i64):\n    v1 = iconst.i32 7\n    v2 = stack_addr.i64 ss0\n    store.i32 v1, v2\n    v3 = load.i32 v2\n    return v3\n}\n; run: %st(0) == 7\n; run: %st(5)\n";
    let r = run_source(std::path::Path::new("accepts.clif"), text);
    if !cfg!(target_arch = "x86_64") {
        return;
    }
    assert!(r.records.iter().all(|t| t.status == Status::Passed), "{r:?}");
    assert_eq!(r.records.len(), 1, "{r:?}");
    assert!(r.output.contains("%st(5) -> 7"), "{:?}", r.output);
}

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

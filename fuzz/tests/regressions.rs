//! The regression runtests of bugs the fuzzer found (`filetests/filetests/runtests/`): each
//! file's run lines agree in the interpreter and in compiled code under every
//! configuration.

use kiln_fuzz::runtest::check_runtest;

#[test]
fn regression_runtests_pass() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../filetests/filetests/runtests");
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("runtests directory").flatten().map(|e| e.path()).collect();
    entries.sort();
    let mut checked = 0;
    let mut failures = Vec::new();
    for path in entries.iter().filter(|p| p.extension().is_some_and(|e| e == "clif")) {
        let text = std::fs::read_to_string(path).expect("readable");
        match check_runtest(&text) {
            Ok(n) => checked += n,
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 0);
}

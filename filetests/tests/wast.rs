//! The WebAssembly spec test suite (`shared/wasm-testsuite/`) on Kiln's reference runtime:
//! every top-level Wasm 2.0 script without SIMD passes completely; the SIMD scripts and the
//! proposal folders (tail-call, extended-const, multi-memory, memory64) have no failure,
//! only skips for what the target cannot compile yet (x86-64 SIMD) or what needs a
//! proposal Kiln does not implement (GC, exceptions, … in the memory64 snapshot). The
//! totals printed are the ones to report.

mod common;

use kiln_filetests::wasm_cmd::{render_wast, run_wast_files, wast_files};
use kiln_filetests::wast::WastOptions;
use std::path::PathBuf;

fn run(name: &str, files: Vec<PathBuf>, allow_unsupported: bool, min_passed: usize) {
    let opts = WastOptions { allow_unsupported, ..Default::default() };
    let reports = run_wast_files(&files, &opts, 0);
    let text = render_wast(&files, &reports, false);
    println!("== {name}\n{text}");
    let failed: usize = reports.iter().map(|r| r.failures.len()).sum();
    let passed: usize = reports.iter().map(|r| r.passed).sum();
    assert_eq!(failed, 0, "{name}: failures:\n{text}");
    assert!(passed >= min_passed, "{name}: only {passed} passed");
    if !allow_unsupported {
        let skipped: usize = reports.iter().map(|r| r.skipped.len()).sum();
        assert_eq!(skipped, 0, "{name}: skips:\n{text}");
    }
}

fn top_level(simd: bool) -> Option<Vec<PathBuf>> {
    let dir = common::shared_dir()?.join("wasm-testsuite");
    let files = wast_files(&[dir]).unwrap();
    Some(
        files
            .into_iter()
            .filter(|f| !f.to_string_lossy().contains("/proposals/"))
            .filter(|f| f.file_name().unwrap().to_string_lossy().starts_with("simd_") == simd)
            .collect(),
    )
}

#[test]
fn spec_wasm2_without_simd() {
    let Some(files) = top_level(false) else { return };
    assert_eq!(files.len(), 90);
    run("Wasm 2.0 (no SIMD)", files, false, 28_000);
}

#[test]
fn spec_wasm2_simd() {
    let Some(files) = top_level(true) else { return };
    assert_eq!(files.len(), 57);
    run("Wasm 2.0 SIMD", files, true, 1_500);
}

#[test]
fn spec_proposals() {
    let Some(shared) = common::shared_dir() else { return };
    // Only the memory64 snapshot has scripts of unimplemented proposals (and SIMD ones).
    for (p, allow, min) in [
        ("tail-call", false, 119),
        ("extended-const", false, 290),
        ("multi-memory", false, 1_870),
        ("memory64", true, 17_700),
    ] {
        let files = wast_files(&[shared.join("wasm-testsuite/proposals").join(p)]).unwrap();
        run(p, files, allow, min);
    }
}

//! Runs the filetest runner over this crate's filetests (`filetests/filetests/`, which must
//! all pass with nothing skipped) and over the sample runtests of `shared/clif` (whose
//! `test interpret` parts must pass except the documented allow-list; their `test run`
//! parts are reported as not implemented). Also checks that the parser filetests exercise
//! every instruction format and every opcode.

mod common;

use common::{TEST_RUN_LINES_ALLOWED, check_against, own_filetests, samples_dir};
use kiln_filetests::runner::{RunOptions, Status, run_tests};
use kiln_ir::opcodes::{InstructionFormat, Opcode};
use kiln_ir::text::{ParseOptions, parse_test};
use std::collections::HashSet;

#[test]
fn own_filetests_pass() {
    let summary = run_tests(&[own_filetests()], &RunOptions::default());
    println!("{}", summary.render(true));
    assert!(summary.is_success(), "{}", summary.render(false));
    assert_eq!(summary.skipped(), 0, "nothing in filetests/filetests may be skipped:\n{}", summary.render(true));
    assert!(summary.reports.len() >= 20, "only {} files found", summary.reports.len());
    assert!(summary.passed() >= 100, "only {} tests passed", summary.passed());
}

#[test]
fn sample_runtests() {
    let Some(dir) = samples_dir() else { return };
    let summary = run_tests(std::slice::from_ref(&dir), &RunOptions::default());
    println!("{}", summary.render(true));
    let failures: Vec<(String, u32, String)> = summary
        .failures()
        .map(|(path, _, f)| {
            let rel = path.strip_prefix(&dir).unwrap_or(path).display().to_string();
            (rel, f.location.map_or(0, |l| l.line), f.message.clone())
        })
        .collect();
    if let Err(e) = check_against(&failures, TEST_RUN_LINES_ALLOWED) {
        panic!("{e}\n\n{}", summary.render(false));
    }
    // `test run` on x86-64: every function passes, except the allow-listed lines above,
    // vector functions needing an extension the target line does not enable (skipped as
    // `unsupported`), and those needing CPU features this host lacks. On aarch64 and
    // riscv64 (under qemu): the same (aarch64 vectors and riscv64 vector forms not lowered
    // yet are `unsupported`), and
    // exceptions thrown by the harness are not supported there; without qemu or the cross
    // compiler the target is skipped ("cannot run …"). Other targets are skipped ("cannot
    // run … on this host").
    let (mut x64_passed, mut a64_passed, mut rv64_passed) = (0, 0, 0);
    for r in &summary.reports {
        let uses_vectors = file_uses_vectors(&r.path);
        let allowed_file = TEST_RUN_LINES_ALLOWED.iter().any(|a| r.path.ends_with(a.file));
        for t in r.records.iter().filter(|t| t.test == "run") {
            let on = |arch: &str| t.target.as_deref().is_some_and(|l| l.starts_with(arch));
            let (on_x64, on_a64, on_rv64) = (on("x86_64"), on("aarch64"), on("riscv64"));
            let on_cross = on_a64 || on_rv64;
            match &t.status {
                Status::Passed => {
                    x64_passed += on_x64 as usize;
                    a64_passed += on_a64 as usize;
                    rv64_passed += on_rv64 as usize;
                }
                Status::Skipped(why) if !on_x64 && !on_cross => {
                    assert!(why.starts_with("cannot run"), "{}: {why}", r.path.display())
                }
                Status::Skipped(why) if why.starts_with("host lacks") && on_x64 => {}
                Status::Skipped(why) if why.starts_with("cannot run") && on_cross => {}
                Status::Skipped(why) if on_cross && why.contains("__cranelift_throw") => {}
                Status::Skipped(why) => {
                    assert!(why.starts_with("unsupported") && uses_vectors, "{}: {why}", r.path.display())
                }
                Status::Failed(_) if allowed_file => {}
                Status::Failed(f) => panic!("{}: {f:?}", r.path.display()),
            }
        }
    }
    println!("test run passed: {x64_passed} on x86_64, {a64_passed} on aarch64, {rv64_passed} on riscv64");
    let can_run =
        |t: &str| kiln_filetests::jit_run::can_run(&kiln_ir::settings::TargetSpec::parse(t, &[]).expect(t)).is_ok();
    if can_run("aarch64") {
        assert!(a64_passed >= 900, "only {a64_passed} aarch64 run tests passed");
    }
    if can_run("riscv64") {
        assert!(rv64_passed >= 1000, "only {rv64_passed} riscv64 run tests passed");
    }
    assert!(x64_passed >= 300, "only {x64_passed} x86_64 run tests passed");
    assert_eq!(summary.reports.len(), 120, "sample files");
    assert!(summary.passed() >= 1000, "only {} tests passed", summary.passed());
}

/// Does any function of the file have a vector-typed value?
fn file_uses_vectors(path: &std::path::Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else { return false };
    let Ok(tf) = parse_test(&text, &ParseOptions::default()) else { return false };
    tf.functions.iter().any(|(f, _)| {
        f.dfg.values().any(|v| {
            let t = f.dfg.value_type(v);
            t.is_vector() || t.is_dynamic_vector()
        })
    })
}

/// Every instruction format and every opcode appears in the parser filetests.
#[test]
fn parser_filetests_cover_every_format_and_opcode() {
    let dir = own_filetests().join("parser");
    let mut formats = HashSet::new();
    let mut opcodes = HashSet::new();
    for entry in std::fs::read_dir(&dir).expect("parser filetests") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "clif") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let tf = parse_test(&text, &ParseOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (f, _) in &tf.functions {
            for b in f.layout.blocks() {
                for i in f.layout.block_insts(b) {
                    let op = f.dfg.insts[i].opcode();
                    opcodes.insert(op);
                    formats.insert(op.format());
                }
            }
        }
    }
    let all_formats: HashSet<InstructionFormat> = Opcode::ALL.iter().map(|o| o.format()).collect();
    let mut missing: Vec<String> = all_formats.difference(&formats).map(|f| format!("{f:?}")).collect();
    missing.sort();
    assert!(missing.is_empty(), "formats without a parser filetest: {missing:?}");
    let mut missing: Vec<&str> = Opcode::ALL.iter().filter(|o| !opcodes.contains(o)).map(|o| o.name()).collect();
    missing.sort();
    assert!(missing.is_empty(), "opcodes without a parser filetest: {missing:?}");
}

/// The runnable samples (x86_64 natively, aarch64 under qemu when this machine has it) also
/// pass with the other register allocator (`single_pass`), with the allocator's checker on (`clif-util run` keeps the files' settings and adds ours).
#[test]
fn sample_runtests_single_pass_allocator() {
    let Some(dir) = samples_dir() else { return };
    let (files, _) = kiln_filetests::runner::collect_files(std::slice::from_ref(&dir));
    let opts = kiln_filetests::native::NativeOptions {
        sets: vec!["regalloc_algorithm=single_pass".into(), "regalloc_checker".into()],
        target: None,
        ..Default::default()
    };
    let (mut passed, mut failed, mut report) = (0, 0, String::new());
    for f in files.iter().filter(|f| !file_uses_vectors(f)) {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        if !text.lines().any(|l| l.starts_with("target x86_64")) {
            continue;
        }
        // Exceptions thrown by the test harness work only natively, not under qemu.
        let (p, n, out) = if text.contains("__cranelift_throw") {
            let mut native = opts.clone();
            native.target = Some(("x86_64".into(), Vec::new()));
            native.sets.push("preserve_frame_pointers".into());
            kiln_filetests::native::run_file(f, &native)
        } else {
            kiln_filetests::native::run_file(f, &opts)
        };
        passed += p;
        failed += n;
        if n > 0 {
            report.push_str(&out);
        }
    }
    assert_eq!(failed, 0, "{report}");
    assert!(passed >= 4000, "only {passed} run lines passed");
}

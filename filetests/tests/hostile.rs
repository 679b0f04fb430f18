//! Hostile input (issue 17), end to end:
//! - every file of `filetests/hostile/` holds run lines that crash the process, loop
//!   forever, overflow the stack or call through a mismatched declaration; each must fail
//!   with the failure its `; expect-failure: TEXT` comment names, and every other run line
//!   must pass (the worker process is replaced and the run goes on);
//! - `clif-util test` on that folder plus the sample runtests prints a full summary;
//! - `clif-util` says what happened and exits non-zero on empty files, files without run
//!   lines and benchmarks of invalid functions, and walks a folder with a symbolic link to
//!   its parent once.

mod common;

use kiln_filetests::isolate::RunLimits;
use kiln_filetests::runner::{RunOptions, Status, run_tests};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn hostile_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/hostile"))
}

/// (file name, line of the run command, expected failure text) of every annotation.
fn expectations(dir: &Path) -> Vec<(String, u32, String)> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if let Some(want) = l.strip_prefix("; expect-failure:") {
                assert!(i > 0 && lines[i - 1].starts_with("; run:"), "{}:{}: not after a run line", f.display(), i + 1);
                out.push((f.file_name().unwrap().to_string_lossy().into_owned(), i as u32, want.trim().to_string()));
            }
        }
    }
    out
}

#[test]
fn crashing_run_lines_fail_alone_and_the_run_goes_on() {
    if !cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        return;
    }
    let dir = hostile_dir();
    let expected = expectations(&dir);
    assert!(expected.len() >= 12, "{expected:?}");
    let opts = RunOptions {
        run_limits: RunLimits { isolate: true, timeout: Some(Duration::from_secs(2)) },
        ..Default::default()
    };
    let summary = run_tests(std::slice::from_ref(&dir), &opts);
    // Every failure is an expected one (by file and run-line number), with the right text.
    let mut seen = Vec::new();
    for (path, rec, f) in summary.failures() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let line = f.location.map_or(0, |l| l.line);
        let hit = expected.iter().find(|(n, l, _)| *n == name && *l == line);
        let Some((_, _, want)) = hit else {
            panic!("unexpected failure {name}:{line} ({:?}): {}", rec.function, f.message);
        };
        assert!(f.message.contains(want.as_str()), "{name}:{line}: want {want:?}, got {}", f.message);
        seen.push((name, line));
    }
    for (n, l, want) in &expected {
        assert!(seen.contains(&(n.clone(), *l)), "{n}:{l} did not fail (expected {want:?})");
    }
    // The other lines ran and passed: one passing function per file, except the one whose
    // declarations make the whole file fail to link.
    let passed_functions = summary
        .reports
        .iter()
        .flat_map(|r| &r.records)
        .filter(|t| t.function.as_deref() == Some("%fine") || t.function.as_deref() == Some("%after"))
        .filter(|t| t.status == Status::Passed)
        .count();
    assert_eq!(passed_functions, 6, "{}", summary.render(true));
}

fn clif_util(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_clif-util")).args(args).output().expect("run clif-util")
}

/// `clif-util test` over the hostile files and the sample runtests ends with its summary.
#[test]
fn clif_util_test_prints_a_full_summary() {
    if !cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        return;
    }
    let Some(samples) = common::samples_dir() else { return };
    let dir = hostile_dir();
    let o = clif_util(&["test", "--timeout", "2", dir.to_str().unwrap(), samples.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let last = out.lines().last().unwrap_or("");
    let passed: usize = last.split(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(last.contains(" passed, ") && last.contains(" failed") && passed > 1000, "{last}");
    assert!(out.contains("trap: stk_ovf") && out.contains("timed out after 2 s"), "{out}");
}

/// A scratch folder, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("kiln-hostile-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn file(&self, name: &str, text: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn clif_util_says_what_happened() {
    let d = TempDir::new("say");
    let empty = d.file("empty.clif", "; nothing here\n");
    for cmd in ["cat", "compile", "opt"] {
        let o = clif_util(&[cmd, &empty]);
        let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        assert_eq!(o.status.code(), Some(1), "{cmd}: {all}");
        assert!(all.contains("no functions"), "{cmd}: {all}");
    }
    // No run lines at all: nothing ran, which is a failure; run lines in a file without a
    // `test run` line are run (and here fail).
    let f = "function %f(i32) -> i32 {\nblock0(v0: i32):\n    return v0\n}\n";
    let none = d.file("none.clif", &format!("test interpret\n{f}"));
    let o = clif_util(&["run", &none]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing ran"), "{o:?}");
    let wrong = d.file("wrong.clif", &format!("test interpret\n{f}; run: %f(1) == 2\n"));
    let o = clif_util(&["run", &wrong]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("0 passed, 1 failed"), "{o:?}");
    // `bench compile` verifies first and reports invalid functions.
    let bad = d.file("bad.clif", "function %g(i32) -> i64 {\nblock0(v0: i32):\n    return v0\n}\n");
    let o = clif_util(&["bench", "compile", "--iters", "1", &bad]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("invalid IR"), "{out}");
}

#[cfg(unix)]
#[test]
fn a_link_to_a_parent_folder_is_walked_once() {
    let d = TempDir::new("loop");
    std::fs::create_dir_all(d.0.join("sub")).unwrap();
    d.file("sub/a.clif", "test cat\nfunction %f() {\nblock0:\n    return\n}\n");
    std::os::unix::fs::symlink(&d.0, d.0.join("sub/up")).unwrap();
    let o = clif_util(&["test", d.0.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.ends_with("1 passed, 0 failed\n"), "{out}");
}

/// Run lines under qemu (aarch64): an endless loop is killed at the time limit, deep
/// recursion and a frame larger than the guard page report `stk_ovf`, exceptions thrown by
/// the harness's `__cranelift_throw` reach their `try_call` handlers (by tag, else the
/// default one), and the other lines pass.
#[test]
fn hostile_run_lines_under_qemu() {
    if !cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        return;
    }
    let spec = kiln_ir::settings::TargetSpec::parse("aarch64", &[]).unwrap();
    if let Err(why) = kiln_filetests::jit_run::can_run(&spec) {
        eprintln!("skipped: {why}");
        return;
    }
    let d = TempDir::new("qemu");
    d.file(
        "hostile_aarch64.clif",
        r#"test run
set preserve_frame_pointers=true
target aarch64

function %spin(i32) -> i32 {
block0(v0: i32):
    jump block1(v0)
block1(v1: i32):
    v3 = iconst.i32 1
    v2 = iadd v1, v3
    jump block1(v2)
}
; run: %spin(0) == 0

function %recurse(i64) -> i64 {
    fn0 = %recurse(i64) -> i64
block0(v0: i64):
    v3 = iconst.i64 1
    v1 = iadd v0, v3
    v2 = call fn0(v1)
    return v2
}
; run: %recurse(0) == 0

function %big_frame(i64) -> i64 {
    ss0 = explicit_slot 65536
    fn0 = %big_frame(i64) -> i64
block0(v0: i64):
    v1 = stack_addr.i64 ss0
    store v0, v1
    v2 = call fn0(v0)
    return v2
}
; run: %big_frame(0) == 0

function %thrower(i64, i32, i64, i64) tail {
    sig0 = (i64, i64, i64, i32, i64, i64)
    fn0 = %__cranelift_throw(i64, i64, i64, i32, i64, i64)
block0(v0: i64, v1: i32, v2: i64, v3: i64):
    v4 = get_frame_pointer.i64
    v5 = get_return_address.i64
    v6 = load.i64 v5
    v7 = func_addr.i64 fn0
    call_indirect sig0, v7(v0, v4, v6, v1, v2, v3)
    return
}

function %catcher(i64, i32) -> i64 tail {
    sig0 = (i64, i32, i64, i64) tail
    fn0 = %thrower(i64, i32, i64, i64) tail
block0(v0: i64, v1: i32):
    v2 = iconst.i64 7
    v3 = iconst.i64 1000
    try_call fn0(v0, v1, v2, v3), sig0, block1(), [ tag1: block2(exn0, exn1), default: block3(exn0) ]
block1:
    v4 = iconst.i64 -1
    return v4
block2(v5: i64, v6: i64):
    v7 = isub v6, v5
    return v7
block3(v8: i64):
    v9 = iconst.i64 100
    v10 = iadd v8, v9
    return v10
}

function %throws(i32) -> i64 tail {
    fn0 = %catcher(i64, i32) -> i64 tail
block0(v0: i32):
    v1 = get_frame_pointer.i64
    v2 = call fn0(v1, v0)
    return v2
}
; run: %throws(1) == 993
; run: %throws(2) == 107

function %fine(i64) -> i64 {
block0(v0: i64):
    return v0
}
; run: %fine(5) == 5
"#,
    );
    let opts = RunOptions {
        run_limits: RunLimits { isolate: true, timeout: Some(Duration::from_secs(2)) },
        ..Default::default()
    };
    let summary = run_tests(std::slice::from_ref(&d.0), &opts);
    let mut failed: Vec<(String, String)> =
        summary.failures().map(|(_, rec, f)| (rec.function.clone().unwrap_or_default(), f.message.clone())).collect();
    failed.sort();
    let text = summary.render(true);
    assert_eq!(failed.len(), 3, "{text}");
    assert!(failed[0].0 == "%big_frame" && failed[0].1.contains("stk_ovf"), "{text}");
    assert!(failed[1].0 == "%recurse" && failed[1].1.contains("stk_ovf"), "{text}");
    assert!(failed[2].0 == "%spin" && failed[2].1.contains("timed out after 2 s"), "{text}");
    let passed: Vec<&str> = summary
        .reports
        .iter()
        .flat_map(|r| &r.records)
        .filter(|t| t.status == Status::Passed)
        .filter_map(|t| t.function.as_deref())
        .collect();
    assert!(passed.contains(&"%throws") && passed.contains(&"%fine"), "{text}");
}

//! Acceptance tests of the `clif-util` binary: argument handling, exit statuses, output
//! formats, and `clif-util interpret` over every run line of every sample file (which must
//! all pass except the documented allow-list).

mod common;

use common::{ALL_RUN_LINES_ALLOWED, check_against, own_filetests, samples_dir};
use std::path::PathBuf;
use std::process::{Command, Output};

fn clif_util(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clif-util")).args(args).output().expect("run clif-util")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A temporary file with `text`, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> Self {
        let p = std::env::temp_dir().join(format!("kiln-clif-util-{}-{name}", std::process::id()));
        std::fs::write(&p, text).expect("write temp file");
        TempFile(p)
    }
    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn help_and_usage_errors() {
    let o = clif_util(&[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("Usage: clif-util <COMMAND>"), "{}", stderr(&o));
    let o = clif_util(&["help"]);
    assert_eq!(o.status.code(), Some(0));
    for cmd in ["test", "cat", "interpret", "run", "compile", "opt", "bench", "wasm", "help"] {
        assert!(stdout(&o).contains(&format!("  {cmd} ")), "{cmd} missing from help");
    }
    let o = clif_util(&["--version"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("clif-util "), "{}", stdout(&o));
    for (args, usage) in [
        (&["interpret", "--help"][..], "Usage: clif-util interpret"),
        (&["help", "interpret"], "Usage: clif-util interpret"),
        (&["wasm", "run", "--help"], "Usage: clif-util wasm run"),
        (&["wasm", "wast", "-h"], "Usage: clif-util wasm wast"),
        (&["bench", "compile", "--help"], "Usage: clif-util bench compile"),
    ] {
        let o = clif_util(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        assert!(stdout(&o).contains(usage), "{args:?}: {}", stdout(&o));
    }
    for args in [
        &["frobnicate"][..],
        &["test"],
        &["test", "--bogus", "x.clif"],
        &["test", "-j", "0", "x.clif"],
        &["interpret", "--set", "no_such_setting", "x.clif"],
        &["interpret", "--target", "x86_64", "has_nothing", "x.clif"],
        &["run", "--set", "opt_level=fastest", "x.clif"],
        &["compile"],
        &["bench"],
        &["bench", "compile-everything"],
        &["bench", "parse", "--iters", "zero", "x.clif"],
        &["help", "frobnicate"],
        &["wasm"],
        &["wasm", "run", "x.wasm"],
        &["wasm", "compile", "--threads", "many", "x.wasm"],
        &["wasm", "wast"],
    ] {
        let o = clif_util(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).is_empty(), "{args:?} explains the error");
    }
}

#[test]
fn test_reports_failures_and_counts() {
    let o = clif_util(&["test", own_filetests().to_str().unwrap_or_default()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let last = stdout(&o).lines().last().unwrap_or_default().to_string();
    assert!(last.ends_with("passed, 0 failed"), "{last}");

    let bad = TempFile::new(
        "bad.clif",
        "test interpret\ntest unwind\nfunction %f() -> i8 {\nblock0:\n    v0 = iconst.i8 1\n    return v0\n}\n\
         ; run: %f() == 2\n",
    );
    let o = clif_util(&["test", "-v", bad.path()]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains(&format!("{}:8:1: %f: test interpret: run: %f() == 2: got 1", bad.path())), "{out}");
    assert!(out.contains(&format!("{}: test unwind: skipped: not implemented: test unwind", bad.path())), "{out}");
    assert!(out.ends_with("0 passed, 1 failed, 1 skipped\n"), "{out}");
    let o = clif_util(&["test", "/no/such/file.clif"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn cat_prints_canonically_and_reports_parse_errors() {
    let f = TempFile::new(
        "cat.clif",
        "test cat\nfunction %f(i8) -> i8 {\nblock0(v0: i8):\n    v1 = iconst.i8 255\n    return v1\n}\n",
    );
    let o = clif_util(&["cat", f.path()]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        "function %f(i8) -> i8 fast {\nblock0(v0: i8):\n    v1 = iconst.i8 -1\n    return v1  ; v1 = -1\n}\n"
    );
    let plain = TempFile::new("plain.clif", "function %g() {\nblock0:\n    return\n}\n");
    let o = clif_util(&["cat", plain.path(), f.path()]);
    assert!(stdout(&o).starts_with("function %g() fast {"), "{}", stdout(&o));
    assert!(stdout(&o).contains("}\n\nfunction %f"), "functions are separated by a blank line");
    let bad = TempFile::new("broken.clif", "function %g() {\nblock0:\n    v0 = iadd v1\n}\n");
    let o = clif_util(&["cat", bad.path()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    // The error is found at the `}` where the second operand should be.
    assert!(err.starts_with(&format!("{}:4:1: expected ','", bad.path())), "file:line:col: message, got {err}");
}

#[test]
fn interpret_applies_set_and_target_options() {
    let f = TempFile::new(
        "pinned.clif",
        "test run\ntarget x86_64\nfunction %p(i64) -> i64 {\nblock0(v0: i64):\n    set_pinned_reg v0\n    \
         v1 = get_pinned_reg.i64\n    return v1\n}\n; run: %p(3) == 3\n; print: %p(4)\n",
    );
    let o = clif_util(&["interpret", f.path()]);
    assert_eq!(o.status.code(), Some(1), "the verifier rejects the pinned register without the setting");
    assert!(stdout(&o).contains("2 run command(s) not run"), "{}", stdout(&o));
    let o = clif_util(&["interpret", "--set", "enable_pinned_reg", f.path()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(stdout(&o), "%p(4) -> 4\n2 passed, 0 failed\n");
    // `--target` replaces the file's targets: aarch64 also knows the pinned register.
    let o = clif_util(&["interpret", "--set", "enable_pinned_reg", "--target", "aarch64", "has_lse", f.path()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn interpret_passes_every_sample_run_line() {
    let Some(dir) = samples_dir() else { return };
    let o = clif_util(&["interpret", dir.to_str().unwrap_or_default()]);
    let out = stdout(&o);
    let prefix = format!("{}/", dir.display());
    let mut failures = Vec::new();
    for line in out.lines() {
        let Some(rest) = line.strip_prefix(&prefix) else { continue };
        // `file:line:col: message`
        let mut parts = rest.splitn(4, ':');
        let file = parts.next().unwrap_or_default().to_string();
        let line_no: u32 = parts.next().and_then(|l| l.parse().ok()).unwrap_or(0);
        let msg = parts.nth(1).unwrap_or_default().trim().to_string();
        failures.push((file, line_no, msg));
    }
    if let Err(e) = check_against(&failures, ALL_RUN_LINES_ALLOWED) {
        panic!("{e}\n\n{out}");
    }
    let last = out.lines().last().unwrap_or_default();
    let passed: usize = last.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(passed >= 3600, "{last}");
    assert!(last.contains(&format!(" {} failed", ALL_RUN_LINES_ALLOWED.len())), "{last}");
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn bench_parse_reports_throughput() {
    let dir = own_filetests().join("parser");
    let o = clif_util(&["bench", "parse", "--iters", "2", dir.to_str().unwrap_or_default()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.lines().any(|l| l.starts_with("  throughput: ") && l.ends_with(" MB/s")), "{out}");
    assert!(out.lines().any(|l| l.starts_with("  throughput: ") && l.ends_with(" instructions/s")), "{out}");
}

#[test]
fn compile_says_when_it_falls_back_to_the_host() {
    let text =
        "test compile\ntarget s390x\n\nfunction %f() -> i32 {\nblock0:\n    v0 = iconst.i32 1\n    return v0\n}\n";
    let f = TempFile::new("fallback.clif", text);
    let o = clif_util(&["compile", f.path()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("; note: no Kiln backend for the file's target s390x"), "{out}");
    assert!(out.contains("compiled for the host"), "{out}");
    // A file for the host's own architecture gets no note.
    if !cfg!(target_arch = "x86_64") {
        return;
    }
    let f = TempFile::new("host.clif", &text.replace("s390x", "x86_64"));
    let o = clif_util(&["compile", f.path()]);
    assert!(o.status.success() && !stdout(&o).contains("note:"), "{}", stdout(&o));
}

/// `compile --emit-obj`: an object file that `cc` links into a program that runs, with a
/// DWARF line table pointing at the `.clif` file's lines and an `.eh_frame` FDE for each
/// function.
#[test]
fn compile_emit_obj_writes_a_linkable_object() {
    let src = TempFile::new(
        "emit.clif",
        "function %square(i64) -> i64 system_v {
block0(v0: i64):
    v1 = imul v0, v0
    return v1
}

function %main() -> i32 system_v {
    sig0 = (i64) -> i64 system_v
    sig1 = (i32) -> i32 system_v
    fn0 = colocated %square sig0
    fn1 = %putchar sig1
block0:
    v0 = iconst.i64 8
    v1 = call fn0(v0)
    v2 = ireduce.i32 v1
    v3 = iconst.i32 1
    v4 = iadd v2, v3
    v5 = call fn1(v4)
    v6 = iconst.i32 10
    v7 = call fn1(v6)
    v8 = iconst.i32 7
    return v8
}
",
    );
    let obj = TempFile::new("emit.o", "");
    let exe = TempFile::new("emit", "");
    for (pic, link) in [("is_pic=0", &["-no-pie"][..]), ("is_pic=1", &[][..])] {
        let o = clif_util(&["compile", "--set", pic, "--emit-obj", obj.path(), src.path()]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(stdout(&o).contains("2 functions"), "{}", stdout(&o));
        let cc = Command::new("cc")
            .args(link)
            .args([obj.path(), "-o", exe.path()])
            .output()
            .expect("this test needs `cc` (Debian package gcc)");
        assert!(cc.status.success(), "{pic}: cc: {}", stderr(&cc));
        let run = Command::new(exe.path()).output().expect("run the program");
        assert_eq!((run.status.code(), stdout(&run).as_str()), (Some(7), "A\n"), "{pic}");
        // The line table of the program points into the file (`imul` is on its line 3).
        let lines = Command::new("readelf").args(["--debug-dump=decodedline", exe.path()]).output().expect("readelf");
        let lines = stdout(&lines);
        assert!(lines.lines().any(|l| l.contains("emit.clif") && l.split_whitespace().nth(1) == Some("3")), "{lines}");
        let frames = Command::new("readelf").args(["--debug-dump=frames", obj.path()]).output().expect("readelf");
        assert!(frames.stderr.is_empty(), "{}", stderr(&frames));
        assert_eq!(stdout(&frames).matches(" FDE ").count(), 2, "{}", stdout(&frames));
    }
    // One target only, and no disassembly.
    let o = clif_util(&["compile", "-D", "--emit-obj", obj.path(), src.path()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn wasm_commands() {
    let wat = TempFile::new(
        "add.wat",
        r#"(module (func (export "add") (param i32 i64) (result i64) (i64.add (i64.extend_i32_s (local.get 0)) (local.get 1)))
                   (func (export "boom") unreachable))"#,
    );
    let o = clif_util(&["wasm", "run", wat.path(), "add", "-5", "0x10", "--iters", "3"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("call: add(-5, 0x10) -> [11]\n"), "{}", stdout(&o));
    assert!(stdout(&o).contains("  call time:"), "{}", stdout(&o));
    let o = clif_util(&["wasm", "run", wat.path(), "boom"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("unreachable"), "{}", stderr(&o));
    let o = clif_util(&["wasm", "compile", wat.path(), "--iters", "2", "--threads", "0"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for label in
        ["functions:            2 defined (+0 imported)", "machine code bytes:", "compile time:", "throughput:"]
    {
        assert!(stdout(&o).contains(label), "{label}: {}", stdout(&o));
    }
    let wast = TempFile::new(
        "t.wast",
        r#"(module (func (export "f") (param i32) (result i32) (i32.div_s (i32.const 7) (local.get 0))))
           (assert_return (invoke "f" (i32.const 2)) (i32.const 3))
           (assert_trap (invoke "f" (i32.const 0)) "integer divide by zero")
           (assert_return (invoke "f" (i32.const 1)) (i32.const 8))
           (assert_invalid (module (func (result i32) (i64.const 0))) "type mismatch")"#,
    );
    let o = clif_util(&["wasm", "wast", wast.path()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(out.contains("FAIL line 4:"), "{out}");
    assert!(out.ends_with("total: 4 passed, 1 failed, 0 skipped\n"), "{out}");
}

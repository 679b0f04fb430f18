//! Shared by the object-file and JIT tests: finding the external tools they check Kiln's
//! output with (a missing tool fails the test with a message naming the package; it never
//! passes silently), running them, and scratch directories.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The first of `names` found on `PATH`; panics naming the Debian package otherwise.
pub fn tool(names: &[&str], package: &str) -> String {
    for n in names {
        let found = Command::new("sh").arg("-c").arg(format!("command -v {n}")).output();
        if found.is_ok_and(|o| o.status.success()) {
            return n.to_string();
        }
    }
    panic!("this test needs `{}` (Debian package `{package}`; `.ci/run` installs it)", names.join("` or `"))
}

/// `llvm-dwarfdump`, any recent version.
pub fn llvm_dwarfdump() -> String {
    tool(
        &["llvm-dwarfdump", "llvm-dwarfdump-21", "llvm-dwarfdump-20", "llvm-dwarfdump-19", "llvm-dwarfdump-18"],
        "llvm",
    )
}

/// `llvm-objdump`, any recent version.
pub fn llvm_objdump() -> String {
    tool(&["llvm-objdump", "llvm-objdump-21", "llvm-objdump-20", "llvm-objdump-19", "llvm-objdump-18"], "llvm")
}

/// `llvm-readobj`, any recent version.
pub fn llvm_readobj() -> String {
    tool(&["llvm-readobj", "llvm-readobj-21", "llvm-readobj-20", "llvm-readobj-19", "llvm-readobj-18"], "llvm")
}

/// Run `prog args…`; panics with its output unless it succeeds. Returns stdout.
pub fn run(prog: &str, args: &[&str]) -> String {
    let out = Command::new(prog).args(args).output().unwrap_or_else(|e| panic!("cannot run {prog}: {e}"));
    if !out.status.success() {
        panic!(
            "{prog} {} failed ({}):\n{}\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Run `prog args…` and return (exit code, stdout, stderr) whatever happens.
pub fn run_status(prog: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(prog).args(args).output().unwrap_or_else(|e| panic!("cannot run {prog}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A fresh scratch directory for test `name`.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kiln-module-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// `path` as a `&str`.
pub fn s(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// `llvm-dwarfdump --verify` must report no errors.
pub fn dwarf_verify(obj: &Path) {
    let out = run(&llvm_dwarfdump(), &["--verify", s(obj)]);
    assert!(out.contains("No errors."), "llvm-dwarfdump --verify {}:\n{out}", obj.display());
}

/// The data of the test program: `greeting` (a read-only string), `counter` (8 writable
/// zero bytes, exported) and `table` (read-only: the address of `twice`, then the address
/// of the greeting's second byte).
pub fn program_data(m: &mut impl kiln_module::Module, twice: kiln_module::FuncId) {
    use kiln_module::{DataDescription, Linkage};
    let greeting = m.declare_data("greeting", Linkage::Local, false).unwrap();
    let counter = m.declare_data("counter", Linkage::Export, true).unwrap();
    let table = m.declare_data("table", Linkage::Local, false).unwrap();
    let mut d = DataDescription::new();
    d.define(b"Hello from Kiln\0".to_vec().into_boxed_slice());
    d.set_align(1);
    m.define_data(greeting, &d).unwrap();
    let mut d = DataDescription::new();
    d.define_zeroinit(8);
    d.set_align(8);
    m.define_data(counter, &d).unwrap();
    let mut d = DataDescription::new();
    d.define_zeroinit(16);
    d.set_align(8);
    d.write_function_addr(0, twice);
    d.write_data_addr(8, greeting, 1);
    m.define_data(table, &d).unwrap();
}

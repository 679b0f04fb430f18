//! The toy language's two paths agree: each example program run by the JIT (`toy FILE`) and
//! compiled to an object file (`toy --emit-obj OUT.o FILE`), linked by a plain `cc OUT.o -o
//! prog` and run, prints the same output and exits with the same status — including a
//! program stopped by an out-of-bounds trap — and `gdb` names the toy functions of a linked
//! program with their `.toy` lines in a backtrace. The `toy` example is built by `cargo
//! test` beside this test's executable.

#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use std::path::{Path, PathBuf};
use std::process::Command;

fn toy_exe() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let toy = dir.join("examples").join("toy");
    assert!(toy.exists(), "the toy example is not built at {} (run through `cargo test`)", toy.display());
    toy
}

/// (exit status, stdout) of running `prog args…`.
fn run(prog: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(prog).args(args).output().unwrap_or_else(|e| panic!("{}: {e}", prog.display()));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn jit_and_object_file_print_the_same() {
    let dir = std::env::temp_dir().join(format!("kiln-toy-aot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/toy");
    let oob = dir.join("oob.toy");
    std::fs::write(&oob, "array a[4];\nfn main() {\n    print(\"before\");\n    a[5] = 1;\n    print(\"after\");\n}\n")
        .unwrap();
    let toy = toy_exe();
    for (file, status) in [
        (examples.join("fib.toy"), 0),
        (examples.join("primes.toy"), 0),
        (examples.join("mandelbrot.toy"), 0),
        (oob.clone(), 3),
    ] {
        let file_s = file.to_str().unwrap();
        let (jit_status, jit_out, jit_err) = run(&toy, &[file_s]);
        assert_eq!(jit_status, status, "{file_s} under the JIT: {jit_err}");
        let obj = dir.join("prog.o");
        let exe = dir.join("prog");
        let (st, _, err) = run(&toy, &["--emit-obj", obj.to_str().unwrap(), file_s]);
        assert_eq!(st, 0, "{file_s}: toy --emit-obj: {err}");
        let cc = Command::new("cc")
            .args([obj.to_str().unwrap(), "-o", exe.to_str().unwrap()])
            .output()
            .expect("this test needs `cc` (Debian package gcc)");
        assert!(cc.status.success(), "{file_s}: cc: {}", String::from_utf8_lossy(&cc.stderr));
        let (aot_status, aot_out, aot_err) = run(&exe, &[]);
        assert_eq!(
            (aot_status, &aot_out),
            (status, &jit_out),
            "{file_s}: the program differs from the JIT's: {aot_err}"
        );
        if status == 3 {
            assert_eq!(aot_out, "before\n");
            assert!(aot_err.contains("stopped with a trap"), "{aot_err}");
        }
    }
}

/// A linked toy program as a debugger sees it: stopped in libc's `putchar`, `gdb`'s
/// backtrace walks through the runtime and the toy functions — named, with their lines in
/// the `.toy` file (from the object's DWARF) — to the C `main`.
#[test]
fn gdb_backtrace_of_a_linked_program_names_toy_functions_and_lines() {
    let dir = std::env::temp_dir().join(format!("kiln-toy-gdb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("nested.toy");
    std::fs::write(
        &src,
        "fn inner(x) {\n    print(x);\n    return x;\n}\n\nfn outer(x) {\n    return inner(x + 1) * 2;\n}\n\n\
         fn main() {\n    print(outer(20));\n}\n",
    )
    .unwrap();
    let (obj, exe) = (dir.join("nested.o"), dir.join("nested"));
    let (st, _, err) = run(&toy_exe(), &["--emit-obj", obj.to_str().unwrap(), src.to_str().unwrap()]);
    assert_eq!(st, 0, "toy --emit-obj: {err}");
    let cc = Command::new("cc").args([obj.to_str().unwrap(), "-o", exe.to_str().unwrap()]).output().unwrap();
    assert!(cc.status.success(), "cc: {}", String::from_utf8_lossy(&cc.stderr));
    assert_eq!(run(&exe, &[]).1, "21\n42\n");
    let gdb = Command::new("gdb")
        .args(["-batch", "-nx", "-ex", "break putchar", "-ex", "run", "-ex", "bt", exe.to_str().unwrap()])
        .output()
        .expect("this test needs `gdb` (Debian package gdb; `.ci/run` installs it)");
    let bt = String::from_utf8_lossy(&gdb.stdout).into_owned();
    // `#4  0x… in toy_inner () at nested.toy:2`
    let frame = |name: &str| {
        bt.lines()
            .position(|l| l.starts_with('#') && l.contains(&format!(" {name} (")))
            .unwrap_or_else(|| panic!("no frame {name} in:\n{bt}"))
    };
    let lines = bt.lines().collect::<Vec<_>>();
    let (inner, outer, toy_main, c_main) = (frame("toy_inner"), frame("toy_outer"), frame("toy_main"), frame("main"));
    assert!(frame("putchar") < inner && inner + 1 == outer && outer + 1 == toy_main && toy_main + 1 == c_main, "{bt}");
    assert!(lines[inner].ends_with("nested.toy:2"), "{bt}");
    assert!(lines[outer].ends_with("nested.toy:7"), "{bt}");
    assert!(lines[toy_main].ends_with("nested.toy:11"), "{bt}");
}

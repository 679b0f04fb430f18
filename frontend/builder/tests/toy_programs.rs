//! The toy language's two paths agree: each example program run by the JIT (`toy FILE`) and
//! compiled to an object file (`toy --emit-obj OUT.o FILE`), linked by a plain `cc OUT.o -o
//! prog` and run, prints the same output and exits with the same status — including a
//! program stopped by an out-of-bounds trap. The `toy` example is built by `cargo test`
//! beside this test's executable.

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
        assert_eq!((aot_status, &aot_out), (status, &jit_out), "{file_s}: the program differs from the JIT's: {aot_err}");
        if status == 3 {
            assert_eq!(aot_out, "before\n");
            assert!(aot_err.contains("stopped with a trap"), "{aot_err}");
        }
    }
}

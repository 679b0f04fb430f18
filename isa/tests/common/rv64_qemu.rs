//! Shared by the riscv64 execution tests: a C `main` and assembled functions built into a
//! static program with `riscv64-linux-gnu-gcc` and run under `qemu-riscv64 -cpu max` (with
//! a timeout: wrong code may loop), returning what it prints. Without the cross compiler
//! or qemu the tests fail with a clear message unless `KILN_SKIP_QEMU=1` is set.

use std::process::Command;

/// Is `KILN_SKIP_QEMU=1` set?
pub fn skip_qemu() -> bool {
    std::env::var("KILN_SKIP_QEMU").map(|v| v == "1").unwrap_or(false)
}

/// Build `main_c` with `asm` and run it; `tag` names the temporary folder.
pub fn run_under_qemu(tag: &str, asm: &str, main_c: &str) -> String {
    let dir = std::env::temp_dir().join(format!("kiln-rv64-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("main.c"), main_c).unwrap();
    std::fs::write(dir.join("funcs.s"), asm).unwrap();
    let exe = dir.join("prog");
    let cc = Command::new("riscv64-linux-gnu-gcc")
        .args(["-static", "-O1", "-o"])
        .arg(&exe)
        .arg(dir.join("main.c"))
        .arg(dir.join("funcs.s"))
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run riscv64-linux-gnu-gcc ({e}); install gcc-riscv64-linux-gnu or set KILN_SKIP_QEMU=1")
        });
    assert!(cc.status.success(), "{tag}: gcc failed: {}", String::from_utf8_lossy(&cc.stderr));
    let run = Command::new("timeout")
        .args(["120", "qemu-riscv64", "-cpu", "max"])
        .arg(&exe)
        .output()
        .unwrap_or_else(|e| panic!("cannot run qemu-riscv64 ({e}); install qemu-user or set KILN_SKIP_QEMU=1"));
    assert!(run.status.success(), "{tag}: qemu failed ({}): {}", run.status, String::from_utf8_lossy(&run.stderr));
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8_lossy(&run.stdout).into_owned()
}

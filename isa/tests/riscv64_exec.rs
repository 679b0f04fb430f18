//! riscv64 code run under `qemu-riscv64`: constant materialization sequences emitted by
//! Kiln (base ISA; with Zba/Zbb/Zbs; with compressed forms) are linked as functions into a
//! small C program built with `riscv64-linux-gnu-gcc`, which prints what each returns.
//! Every value must be the constant the sequence was made for.
//!
//! Without the cross compiler or qemu the test fails with a clear message unless
//! `KILN_SKIP_QEMU=1` is set.

use kiln_codegen::machinst::buffer::{FinishedCode, MachBuffer};
use kiln_codegen::machinst::{Reg, Writable};
use kiln_ir::settings::{Arch, Flags, IsaFlags};
use kiln_isa::riscv64::emit::{EmitInfo, EmitState, Riscv64Branches};
use kiln_isa::riscv64::inst::Inst;
use kiln_isa::riscv64::materialize::materialize;
use kiln_isa::riscv64::regs::xreg;
use std::fmt::Write as _;
use std::process::Command;

fn constants() -> Vec<u64> {
    let mut v = vec![
        0u64,
        1,
        u64::MAX,
        0x7ff,
        0x800,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        0x1_0000_0000,
        i64::MAX as u64,
        i64::MIN as u64,
        0xdead_beef_cafe_babe,
        0x0123_4567_89ab_cdef,
        0xffff_ffff_7fff_ffff,
        0x8000_0000_0000_07ff,
        0x7fff_ffff_ffff_f800,
        0x5555_5555_5555_5555,
        1 << 63 | 1 << 40,
        0x7ffu64.rotate_right(9),
        0x3_0000_0003,
        45 << 33,
    ];
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for i in 0..120 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.push(match i % 3 {
            0 => x,
            1 => x >> (x & 63),
            _ => (x as i64 >> 20) as u64,
        });
    }
    v
}

fn info(words: &[&str]) -> EmitInfo {
    let mut fl = IsaFlags::new(Arch::Riscv64);
    for w in words {
        fl.set_word(w).unwrap();
    }
    EmitInfo::new(Flags::new(), fl)
}

/// The bytes of `fn() -> u64 { val }`.
fn function(val: u64, info: &EmitInfo) -> Vec<u8> {
    let a0: Writable<Reg> = Writable::from_reg(xreg(10));
    let mut buf = MachBuffer::new();
    let mut state = EmitState::default();
    for i in materialize(a0, val, info.mat_exts()).0 {
        i.emit(&mut buf, info, &mut state).expect("emit");
    }
    Inst::Rets { rets: vec![] }.emit(&mut buf, info, &mut state).unwrap();
    let mut out = FinishedCode::default();
    buf.finish::<Riscv64Branches>(&mut out).unwrap();
    out.bytes
}

#[test]
fn materialized_constants_run_under_qemu() {
    if std::env::var("KILN_SKIP_QEMU").map(|v| v == "1").unwrap_or(false) {
        return;
    }
    let configs = [
        info(&[]),
        info(&["has_zba", "has_zbb", "has_zbs"]),
        info(&["has_c", "has_zba", "has_zbb", "has_zbs", "has_zcb"]),
    ];
    let vals = constants();
    let mut asm = String::from(".text\n");
    let mut expected = Vec::new();
    for (k, info) in configs.iter().enumerate() {
        for (i, &v) in vals.iter().enumerate() {
            let bytes = function(v, info);
            let bytes: Vec<String> = bytes.iter().map(|b| format!("{b:#04x}")).collect();
            let _ = writeln!(asm, ".balign 4\n.globl kf_{k}_{i}\nkf_{k}_{i}:\n.byte {}", bytes.join(","));
            expected.push(format!("{v:016x}"));
        }
    }
    let mut c = String::from("#include <stdio.h>\n");
    let mut table = String::from("static unsigned long (*fns[])(void) = {");
    for k in 0..configs.len() {
        for i in 0..vals.len() {
            let _ = writeln!(c, "extern unsigned long kf_{k}_{i}(void);");
            let _ = write!(table, "kf_{k}_{i},");
        }
    }
    c.push_str(&table);
    c.push_str("};\nint main(void) {\n  for (unsigned i = 0; i < sizeof fns / sizeof fns[0]; i++) printf(\"%016lx\\n\", fns[i]());\n  return 0;\n}\n");
    let dir = std::env::temp_dir().join(format!("kiln-rv64exec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("main.c"), c).unwrap();
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
    assert!(cc.status.success(), "gcc failed: {}", String::from_utf8_lossy(&cc.stderr));
    let run = Command::new("qemu-riscv64")
        .args(["-cpu", "max"])
        .arg(&exe)
        .output()
        .unwrap_or_else(|e| panic!("cannot run qemu-riscv64 ({e}); install qemu-user or set KILN_SKIP_QEMU=1"));
    assert!(run.status.success(), "qemu failed: {}", String::from_utf8_lossy(&run.stderr));
    let _ = std::fs::remove_dir_all(&dir);
    let got: Vec<String> = String::from_utf8_lossy(&run.stdout).lines().map(str::to_string).collect();
    assert_eq!(got.len(), expected.len());
    let wrong: Vec<String> = got
        .iter()
        .zip(&expected)
        .enumerate()
        .filter(|(_, (g, e))| g != e)
        .map(|(i, (g, e))| format!("#{i} (config {}): expected {e}, got {g}", i / vals.len()))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    eprintln!("riscv64 exec: {} materialized constants ran under qemu, all correct", expected.len());
}

/// Kiln's sequences are never longer than what llvm-mc's `li` (RISCVMatInt) produces for
/// the same constant and extensions.
#[test]
fn materialization_is_as_short_as_llvm() {
    use kiln_isa::riscv64::materialize::{MatExts, materialize_seq};
    let exe = ["llvm-mc-21", "llvm-mc-20", "llvm-mc-19", "llvm-mc-18"]
        .into_iter()
        .find(|e| Command::new(e).arg("--version").output().map(|o| o.status.success()).unwrap_or(false));
    let Some(exe) = exe else {
        assert!(std::env::var("KILN_SKIP_AS").is_ok_and(|v| v == "1"), "llvm-mc not found (or set KILN_SKIP_AS=1)");
        return;
    };
    let vals = constants();
    let dir = std::env::temp_dir().join(format!("kiln-rv64li-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut report = Vec::new();
    for (attrs, ext) in [
        ("+m", MatExts::default()),
        ("+m,+zba,+zbb,+zbs", MatExts { zba: true, zbb: true, zbs: true, ..MatExts::default() }),
    ] {
        let mut src = String::new();
        for v in &vals {
            let _ = writeln!(src, "li a0, {}", *v as i64);
        }
        let s = dir.join("li.s");
        std::fs::write(&s, src).unwrap();
        let out = Command::new(exe).arg("-triple=riscv64").arg(format!("-mattr={attrs}")).arg(&s).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        // One line per instruction; `li` expansions are separated by nothing, so count the
        // instructions of each constant by re-assembling one at a time would be slow:
        // instead, split at each first instruction (every expansion starts writing a0 from
        // zero or lui).
        let text = String::from_utf8_lossy(&out.stdout);
        let insns: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('.') && !l.starts_with('#'))
            .collect();
        let mut counts = Vec::new();
        for l in insns {
            let starts = l.starts_with("lui") || l.contains("zero") || l.starts_with("li\t") || l.starts_with("li ");
            if starts || counts.is_empty() {
                counts.push(0u32);
            }
            *counts.last_mut().unwrap() += 1;
        }
        assert_eq!(counts.len(), vals.len(), "could not split llvm-mc's output");
        let (mut kiln_total, mut llvm_total) = (0, 0);
        for (v, n) in vals.iter().zip(&counts) {
            let k = materialize_seq(*v, 10, ext).steps.len() as u32;
            kiln_total += k;
            llvm_total += n;
            if k > *n {
                report.push(format!("{v:#x} ({attrs}): kiln {k}, llvm {n}"));
            }
        }
        eprintln!("riscv64 materialize ({attrs}): kiln {kiln_total} instructions, llvm-mc li {llvm_total}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(report.is_empty(), "longer than llvm-mc:\n{}", report.join("\n"));
}

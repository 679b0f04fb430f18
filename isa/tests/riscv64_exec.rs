//! riscv64 code run under `qemu-riscv64`. Constant materialization sequences emitted by
//! Kiln (base ISA; with Zba/Zbb/Zbs; with compressed forms) are linked as functions into a
//! small C program built with `riscv64-linux-gnu-gcc`, which prints what each returns.
//! Every value must be the constant the sequence was made for; and the sequences are never
//! longer than llvm-mc's `li`. Vector (RVV) and Zicond/Zbb/Zba functions run on sample
//! data, checking operand order, tied destinations, masking and the `vsetivli` that
//! emission inserts.
//!
//! Without the cross compiler or qemu the test fails with a clear message unless
//! `KILN_SKIP_QEMU=1` is set.

use kiln_codegen::machinst::buffer::{FinishedCode, MachBuffer};
use kiln_codegen::machinst::{Reg, Writable};
use kiln_ir::settings::{Arch, Flags, IsaFlags};
use kiln_isa::riscv64::emit::{EmitInfo, EmitState};
use kiln_isa::riscv64::inst::Inst;
use kiln_isa::riscv64::materialize::materialize;
use kiln_isa::riscv64::regs::xreg;
use std::fmt::Write as _;
use std::process::Command;

#[path = "common/rv64_qemu.rs"]
mod rv64_qemu;
use rv64_qemu::{run_under_qemu, skip_qemu};

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
    let mut buf = MachBuffer::new(info.clone());
    let mut state = EmitState::default();
    for i in materialize(a0, val, info.mat_exts()).0 {
        i.emit(&mut buf, info, &mut state).expect("emit");
    }
    Inst::Rets { rets: vec![], stack_bytes_to_pop: 0 }.emit(&mut buf, info, &mut state).unwrap();
    let mut out = FinishedCode::default();
    buf.finish(&mut out).unwrap();
    out.bytes
}

/// Build `main_c` with the functions of `asm` (GNU syntax, raw bytes) into a static
/// riscv64 program, run it under `qemu-riscv64 -cpu max`, return its output.

/// A function's bytes as a global symbol for the assembler.
fn asm_function(name: &str, bytes: &[u8]) -> String {
    let b: Vec<String> = bytes.iter().map(|b| format!("{b:#04x}")).collect();
    format!(".balign 4\n.globl {name}\n{name}:\n.byte {}\n", b.join(","))
}

#[test]
fn materialized_constants_run_under_qemu() {
    if skip_qemu() {
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
            asm.push_str(&asm_function(&format!("kf_{k}_{i}"), &function(v, info)));
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
    let stdout = run_under_qemu("consts", &asm, &c);
    let got: Vec<String> = stdout.lines().map(str::to_string).collect();
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

/// Vector and newer scalar instructions run under qemu (`-cpu max`: V with VLEN 128,
/// Zicond, Zbb, Zba): the operand order Kiln encodes is the one the ISA computes, and the
/// `vsetivli` emission inserts establishes the state each instruction needs.
#[test]
fn vector_and_scalar_forms_run_under_qemu() {
    use kiln_isa::riscv64::inst::*;
    use kiln_isa::riscv64::regs::{freg, vreg};
    use kiln_isa::riscv64::vector::*;
    if skip_qemu() {
        return;
    }
    let info = info(&["has_v", "has_zicond", "has_zbb", "has_zba", "has_c"]);
    let x = xreg;
    let xw = |i| Writable::from_reg(xreg(i));
    let v = vreg;
    let vw = |i| Writable::from_reg(vreg(i));
    let _ = freg;
    let e32 = VState::for_lanes(4, 32).unwrap();
    let e64 = VState::for_lanes(2, 64).unwrap();
    let e16h = VState { avl: 4, vtype: VType { sew: Sew::E16, lmul: Lmul::Mf2, ta: true, ma: true } };
    let un = VecMaskMode::Unmasked;
    let load = |eew, vd, base, vstate| Inst::VecLoad { eew, vd: vw(vd), base: x(base), mask: un, vstate, trap: None };
    let store = |eew, vs, base, vstate| Inst::VecStore { eew, vs: v(vs), base: x(base), mask: un, vstate, trap: None };
    let rrr =
        |op, vd, vs2, src1: Reg, mask, vstate| Inst::VecAluRRR { op, vd: vw(vd), vs2: v(vs2), src1, mask, vstate };
    let ret = Inst::Rets { rets: vec![], stack_bytes_to_pop: 0 };
    // Each function takes (a0 = x, a1 = y, a2 = out) pointers.
    let funcs: Vec<(&str, Vec<Inst>)> = vec![
        (
            "k_vsub",
            vec![
                load(32, 1, 10, e32),
                load(32, 2, 11, e32),
                rrr(VecAluOpRRR::VsubVV, 3, 1, v(2), un, e32),
                store(32, 3, 12, e32),
                ret.clone(),
            ],
        ),
        (
            // i16 lanes widened to i32 products: x[i] * y[i] (state e16,mf2 then e32,m1).
            "k_vwmul",
            vec![
                load(16, 1, 10, e16h),
                load(16, 2, 11, e16h),
                rrr(VecAluOpRRR::VwmulVV, 4, 1, v(2), un, e16h),
                store(32, 4, 12, e32),
                ret.clone(),
            ],
        ),
        (
            // out[i] += x[i] * y[i] on f64 (tied destination).
            "k_vfmacc",
            vec![
                load(64, 1, 10, e64),
                load(64, 2, 11, e64),
                load(64, 3, 12, e64),
                Inst::VecAluRRRR {
                    op: VecAluOpRRR::VfmaccVV,
                    vd: vw(3),
                    vd_src: v(3),
                    vs2: v(1),
                    src1: v(2),
                    mask: un,
                    vstate: e64,
                },
                store(64, 3, 12, e64),
                ret.clone(),
            ],
        ),
        (
            // out[i] = x[i] == y[i] ? x[i] : y[i] + 100 (mask in v0, vmerge, masked add).
            "k_vmerge",
            vec![
                load(32, 1, 10, e32),
                load(32, 2, 11, e32),
                rrr(VecAluOpRRR::VmsneVV, 0, 1, v(2), un, e32),
                Inst::VecAluRRImm5 { op: VecAluOpRRImm5::VaddVI, vd: vw(3), vs2: v(2), imm: 0, mask: un, vstate: e32 },
                Inst::AluRRImm { op: AluOpRRI::Addi, rd: xw(5), rs: x(0), imm: 100 },
                rrr(VecAluOpRRR::VaddVX, 3, 2, x(5), VecMaskMode::Masked(v(0)), e32),
                rrr(VecAluOpRRR::VmergeVVM, 4, 1, v(3), VecMaskMode::Masked(v(0)), e32),
                store(32, 4, 12, e32),
                ret.clone(),
            ],
        ),
        (
            // returns sum(x) + x[3] (reduction; slide and extract).
            "k_vred",
            vec![
                load(32, 1, 10, e32),
                Inst::VecAluRR { op: VecAluOpRR::VmvSX, vd: vw(4), vs: x(0), mask: un, vstate: e32 },
                rrr(VecAluOpRRR::VredsumVS, 5, 1, v(4), un, e32),
                Inst::VecAluRR { op: VecAluOpRR::VmvXS, vd: xw(10), vs: v(5), mask: un, vstate: e32 },
                Inst::VecAluRRImm5 {
                    op: VecAluOpRRImm5::VslidedownVI,
                    vd: vw(6),
                    vs2: v(1),
                    imm: 3,
                    mask: un,
                    vstate: e32,
                },
                Inst::VecAluRR { op: VecAluOpRR::VmvXS, vd: xw(11), vs: v(6), mask: un, vstate: e32 },
                Inst::AluRRR { op: AluOpRRR::Addw, rd: xw(10), rs1: x(10), rs2: x(11) },
                ret.clone(),
            ],
        ),
        (
            // returns czero.eqz(a0, a1) + clz(a1) + sh3add(a0, a1)
            "k_scalar",
            vec![
                Inst::AluRRR { op: AluOpRRR::CzeroEqz, rd: xw(5), rs1: x(10), rs2: x(11) },
                Inst::AluRR { op: AluOpRR::Clz, rd: xw(6), rs: x(11) },
                Inst::AluRRR { op: AluOpRRR::Sh3add, rd: xw(7), rs1: x(10), rs2: x(11) },
                Inst::AluRRR { op: AluOpRRR::Add, rd: xw(10), rs1: x(5), rs2: x(6) },
                Inst::AluRRR { op: AluOpRRR::Add, rd: xw(10), rs1: x(10), rs2: x(7) },
                ret,
            ],
        ),
    ];
    let mut asm = String::from(".text\n");
    for (name, insts) in &funcs {
        let mut buf = MachBuffer::new(info.clone());
        let mut state = EmitState::default();
        for i in insts {
            i.emit(&mut buf, &info, &mut state).expect("emit");
        }
        let mut out = FinishedCode::default();
        buf.finish(&mut out).unwrap();
        asm.push_str(&asm_function(name, &out.bytes));
    }
    let main_c = r#"
#include <stdio.h>
#include <stdint.h>
extern void k_vsub(const int32_t *, const int32_t *, int32_t *);
extern void k_vwmul(const int16_t *, const int16_t *, int32_t *);
extern void k_vfmacc(const double *, const double *, double *);
extern void k_vmerge(const int32_t *, const int32_t *, int32_t *);
extern int32_t k_vred(const int32_t *);
extern long k_scalar(long, long);
int main(void) {
    int32_t a[4] = {10, -20, 30, 7}, b[4] = {3, -20, 100, 7}, o[4];
    k_vsub(a, b, o);
    printf("%d %d %d %d\n", o[0], o[1], o[2], o[3]);
    int16_t h[4] = {300, -2, 32767, -32768}, g[4] = {300, 3, 2, -32768};
    int32_t w[4];
    k_vwmul(h, g, w);
    printf("%d %d %d %d\n", w[0], w[1], w[2], w[3]);
    double x[2] = {1.5, -2.0}, y[2] = {4.0, 0.25}, acc[2] = {0.5, 10.0};
    k_vfmacc(x, y, acc);
    printf("%g %g\n", acc[0], acc[1]);
    k_vmerge(a, b, o);
    printf("%d %d %d %d\n", o[0], o[1], o[2], o[3]);
    printf("%d\n", k_vred(a));
    printf("%ld %ld\n", k_scalar(5, 0), k_scalar(5, 1));
    return 0;
}
"#;
    let got = run_under_qemu("vector", &asm, main_c);
    // czero.eqz(5, 0) + clz(0) + sh3add(5, 0) = 0 + 64 + 40; with 1: 5 + 63 + 41.
    let expected = "7 0 -70 0\n90000 -6 65534 1073741824\n6.5 9.5\n103 -20 200 7\n34\n104 109\n";
    assert_eq!(got, expected);
}

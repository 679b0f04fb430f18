//! Runs code Kiln encodes for aarch64 under `qemu-aarch64`: the constant materializer's
//! sequences (64-bit, and 32-bit ones that must zero the upper half) for edge and random
//! values, and conditional branches relaxed to their long form (an inverted branch over
//! the 20-byte ±2 GiB sequence) in both directions of the condition.
//!
//! The code is placed in the `.text` of a small static C program (built with
//! `aarch64-linux-gnu-gcc`) that calls each function with its argument and prints the
//! result. Without the cross compiler or qemu the test fails with a clear message unless
//! `KILN_SKIP_QEMU=1` is set.

use kiln_codegen::machinst::buffer::{FinishedCode, MachBuffer};
use kiln_codegen::machinst::{MachLabel, Writable};
use kiln_ir::settings::{Arch, Flags, IsaFlags};
use kiln_isa::aarch64::emit::{EmitInfo, EmitState};
use kiln_isa::aarch64::inst::*;
use kiln_isa::aarch64::regs::xreg;
use std::fmt::Write as _;
use std::process::Command;

/// One call: which function (index into the code list), its argument and the expected
/// result.
struct Call {
    code: usize,
    arg: u64,
    want: u64,
    what: String,
}

/// The functions and the calls to make.
#[derive(Default)]
struct Plan {
    codes: Vec<Vec<u8>>,
    calls: Vec<Call>,
}

impl Plan {
    fn add(&mut self, code: Vec<u8>) -> usize {
        self.codes.push(code);
        self.codes.len() - 1
    }
    fn call(&mut self, code: usize, arg: u64, want: u64, what: String) {
        self.calls.push(Call { code, arg, want, what });
    }
}

fn finish(insts: &[Inst], labels: &[(usize, MachLabel)], pads: &[(usize, usize)]) -> Vec<u8> {
    let info = EmitInfo::new(Flags::new(), IsaFlags::new(Arch::Aarch64));
    let mut buf = MachBuffer::new(info.clone());
    buf.reserve_labels(4);
    let mut state = EmitState::default();
    for (i, inst) in insts.iter().enumerate() {
        for (_, n) in pads.iter().filter(|(at, _)| *at == i) {
            for _ in 0..*n {
                Inst::Hint { op: HintOp::Nop }.emit(&mut buf, &info, &mut state).unwrap();
            }
        }
        for (_, l) in labels.iter().filter(|(at, _)| *at == i) {
            buf.bind_label(*l);
        }
        inst.emit(&mut buf, &info, &mut state).unwrap_or_else(|e| panic!("{inst:?}: {e}"));
    }
    let mut out = FinishedCode::default();
    buf.finish(&mut out).unwrap();
    out.bytes
}

fn constant_funcs(out: &mut Plan) {
    let x0 = Writable::from_reg(xreg(0));
    let mut values = EDGE_CONSTANTS.to_vec();
    let mut x = 0x243f_6a88_85a3_08d3u64;
    for _ in 0..400 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        values.extend([x, x & 0xffff_0000_ffff, x | 0xffff_0000_0000_ffff, !(x & 0xffff_0000)]);
    }
    for &v in &values {
        let mut insts: Vec<Inst> = Inst::load_constant(x0, v, OperandSize::Size64).into_vec();
        insts.push(Inst::Ret);
        let f = out.add(finish(&insts, &[], &[]));
        out.call(f, 0, v, format!("x0 = {v:#x}"));
        // 32-bit: start from all ones so a missing zero-extension shows.
        let mut insts = vec![Inst::MovWide {
            op: MoveWideOp::MovN,
            size: OperandSize::Size64,
            rd: x0,
            imm: MoveWideConst { bits: 0, hw: 0 },
        }];
        insts.extend(Inst::load_constant(x0, v, OperandSize::Size32));
        insts.push(Inst::Ret);
        let want = v & 0xffff_ffff;
        let f = out.add(finish(&insts, &[], &[]));
        out.call(f, 0, want, format!("w0 = {want:#x}"));
    }
}

/// `if cond(x0) { x0 = 2 } else { x0 = 1 }` with the taken target beyond the short range.
fn long_branch_funcs(out: &mut Plan) {
    let x0 = Writable::from_reg(xreg(0));
    let one = Inst::MovWide {
        op: MoveWideOp::MovZ,
        size: OperandSize::Size64,
        rd: x0,
        imm: MoveWideConst { bits: 1, hw: 0 },
    };
    let two = Inst::MovWide {
        op: MoveWideOp::MovZ,
        size: OperandSize::Size64,
        rd: x0,
        imm: MoveWideConst { bits: 2, hw: 0 },
    };
    let (far, near) = (MachLabel(0), MachLabel(1));
    let kinds = [
        (CondBrKind::TestBitNotZero(xreg(0), 3), 40_000, "tbnz #3 over 40 KB", [(8u64, 2u64), (0, 1)]),
        (CondBrKind::NotZero(xreg(0), OperandSize::Size64), 300_000, "cbnz over 1.2 MB", [(5, 2), (0, 1)]),
    ];
    for (kind, nops, what, runs) in kinds {
        // 0: condbr far/near; 1: near: mov 1; 2: ret; [nops] 3: far: mov 2; 4: ret
        let insts =
            [Inst::CondBr { kind, taken: far, not_taken: near }, one.clone(), Inst::Ret, two.clone(), Inst::Ret];
        let code = finish(&insts, &[(1, near), (3, far)], &[(3, nops)]);
        // The branch took its middle form: the inverted branch (over the `b` after it, to
        // the not-taken block), then `b far` (±128 MiB).
        assert_eq!(u32::from_le_bytes(code[4..8].try_into().unwrap()) & 0xfc00_0000, 0x1400_0000, "{what}");
        let f = out.add(code);
        for (arg, want) in runs {
            out.call(f, arg, want, format!("{what}, x0 = {arg}"));
        }
    }
}

fn tool_missing(what: &str) -> bool {
    if std::env::var("KILN_SKIP_QEMU").map(|v| v == "1").unwrap_or(false) {
        eprintln!("aarch64 exec: skipped ({what} unavailable, KILN_SKIP_QEMU=1)");
        return true;
    }
    panic!("{what} unavailable: install gcc-aarch64-linux-gnu and qemu-user, or set KILN_SKIP_QEMU=1");
}

#[test]
fn encoded_sequences_run_under_qemu() {
    let mut plan = Plan::default();
    constant_funcs(&mut plan);
    long_branch_funcs(&mut plan);

    let mut asm = String::from(".text\n.globl kiln_code\n.p2align 4\nkiln_code:\n");
    let mut offs = Vec::new();
    let mut off = 0usize;
    for code in &plan.codes {
        offs.push(off);
        for w in code.chunks(4) {
            let _ = writeln!(asm, ".inst 0x{:08x}", u32::from_le_bytes(w.try_into().unwrap()));
        }
        off += code.len();
    }
    let mut c = String::from(
        "#include <stdio.h>\n#include <stdint.h>\nextern const unsigned char kiln_code[];\n\
         typedef uint64_t (*fn_t)(uint64_t);\n",
    );
    let list = |v: Vec<String>| v.join(",");
    let calls = &plan.calls;
    let _ = writeln!(
        c,
        "static const unsigned offs[] = {{{}}};",
        list(calls.iter().map(|k| offs[k.code].to_string()).collect())
    );
    let _ = writeln!(
        c,
        "static const uint64_t args[] = {{{}}};",
        list(calls.iter().map(|k| format!("{}ull", k.arg)).collect())
    );
    c.push_str(
        "int main(void) {\n  for (unsigned i = 0; i < sizeof offs / sizeof offs[0]; i++)\n\
         \x20   printf(\"%016llx\\n\", (unsigned long long)((fn_t)(kiln_code + offs[i]))(args[i]));\n  return 0;\n}\n",
    );

    let dir = std::env::temp_dir().join(format!("kiln-a64exec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("code.s"), &asm).unwrap();
    std::fs::write(dir.join("main.c"), &c).unwrap();
    let exe = dir.join("run");
    let built = Command::new("aarch64-linux-gnu-gcc")
        .args(["-static", "-O1", "-o"])
        .arg(&exe)
        .arg(dir.join("main.c"))
        .arg(dir.join("code.s"))
        .output();
    let built = match built {
        Ok(o) => o,
        Err(_) if tool_missing("aarch64-linux-gnu-gcc") => return,
        Err(e) => panic!("{e}"),
    };
    assert!(built.status.success(), "build failed: {}", String::from_utf8_lossy(&built.stderr));
    let run = match Command::new("qemu-aarch64").arg(&exe).output() {
        Ok(o) => o,
        Err(_) if tool_missing("qemu-aarch64") => return,
        Err(e) => panic!("{e}"),
    };
    let _ = std::fs::remove_dir_all(&dir);
    assert!(run.status.success(), "qemu run failed: {}", String::from_utf8_lossy(&run.stderr));
    let stdout = String::from_utf8_lossy(&run.stdout);
    let got: Vec<u64> = stdout.lines().map(|l| u64::from_str_radix(l.trim(), 16).unwrap()).collect();
    assert_eq!(got.len(), calls.len(), "output lines");
    let bad: Vec<String> = calls
        .iter()
        .zip(&got)
        .filter(|(f, g)| f.want != **g)
        .map(|(f, g)| format!("{}: got {g:#x}, want {:#x}", f.what, f.want))
        .collect();
    eprintln!(
        "aarch64 exec: {} calls of {} functions run under qemu, {} wrong",
        calls.len(),
        plan.codes.len(),
        bad.len()
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

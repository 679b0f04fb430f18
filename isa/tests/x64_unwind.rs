//! The unwind records of x86-64 prologues and epilogues agree with what the code does.
//!
//! Each function is compiled through the whole pipeline; its code is disassembled
//! (capstone) and the prologue is simulated instruction by instruction, tracking the
//! distance from the stack pointer to the CFA (the stack pointer before the call): every
//! frame change it makes must have exactly the record the simulation predicts (push of
//! `%rbp`, frame pointer set up, callee-save pushes and `movdqu` stores at their CFA
//! offsets, the stack allocation — plain, unrolled probes or a probe loop — as one
//! total), at the offset just after the instruction. Epilogues are simulated from their
//! `EpilogueStart` record: the frame must be restored (CFA = SP + 8) right after
//! `pop %rbp`, and end with the `ret` or the tail call's jump; every `ret` of a function
//! with a frame must be inside an epilogue.

#[allow(dead_code)]
mod common;

use kiln_codegen::Context;
use kiln_codegen::machinst::unwind::UnwindInst;
use kiln_ir::settings::{Flags, TargetSpec};
use kiln_ir::text::parse_functions;
use kiln_isa::x64::regs::{gpr_preg, xmm_preg};
use regalloc2::PReg;

const FUNCS: &str = "
function %leaf(i64) -> i64 system_v {
block0(v0: i64):
    v1 = iconst.i64 1
    v2 = iadd v0, v1
    return v2
}

function %saves(i64) -> i64 system_v {
    fn0 = %callee(i64) -> i64 system_v
block0(v0: i64):
    v1 = call fn0(v0)
    v2 = iadd v1, v0
    brif v2, block1, block2
block1:
    return v2
block2:
    v3 = iadd v2, v0
    v4 = call fn0(v3)
    v5 = iadd v4, v0
    return v5
}

function %win(i64, i64) -> i64 windows_fastcall {
    fn0 = %callee(i64) -> i64 system_v
block0(v0: i64, v1: i64):
    v2 = call fn0(v0)
    v3 = call fn0(v1)
    v4 = iadd v2, v3
    v5 = iadd v4, v0
    return v5
}

function %big(i64) -> i64 system_v {
    ss0 = explicit_slot 100000
    fn0 = %callee(i64) -> i64 system_v
block0(v0: i64):
    v1 = stack_addr.i64 ss0
    store v0, v1
    v2 = call fn0(v1)
    v3 = load.i64 v1
    v4 = iadd v2, v3
    return v4
}

function %medium(i64, i64) -> i64 system_v {
    ss0 = explicit_slot 9000
block0(v0: i64, v1: i64):
    v2 = stack_addr.i64 ss0+8
    v3 = stack_addr.i64 ss0+8000
    store v0, v2
    store v1, v3
    v4 = load.i64 v2
    v5 = load.i64 v3
    v6 = isub v4, v5
    return v6
}

function %limit(i64 vmctx, i64) -> i64 system_v {
    gv0 = vmctx
    gv1 = load.i64 notrap aligned gv0
    stack_limit = gv1
    ss0 = explicit_slot 64
    fn0 = %callee(i64) -> i64 system_v
block0(v0: i64, v1: i64):
    v2 = stack_addr.i64 ss0
    store v1, v2
    v3 = call fn0(v2)
    return v3
}

function %catch(i64) -> i64 tail {
    sig0 = (i64) -> i64 tail
    fn0 = %thrower(i64) -> i64 tail
block0(v0: i64):
    try_call fn0(v0), sig0, block1(ret0), [ tag7: block2(exn0), default: block2(exn0) ]
block1(v1: i64):
    return v1
block2(v2: i64):
    v3 = iadd v2, v0
    return v3
}

function %tail(i64, i64, i64, i64, i64, i64, i64, i64) -> i64 tail {
    fn0 = %t2(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> i64 tail
    fn1 = %callee(i64) -> i64 system_v
block0(v0: i64, v1: i64, v2: i64, v3: i64, v4: i64, v5: i64, v6: i64, v7: i64):
    v8 = call fn1(v0)
    return_call fn0(v8, v1, v2, v3, v4, v5, v6, v7, v0, v1)
}

function %tail_leaf(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> i64 tail {
    fn0 = %t3(i64) -> i64 tail
block0(v0: i64, v1: i64, v2: i64, v3: i64, v4: i64, v5: i64, v6: i64, v7: i64, v8: i64, v9: i64):
    return_call fn0(v9)
}
";

/// A decoded instruction: start, end, mnemonic (without size suffix), operands.
struct Insn {
    at: u32,
    end: u32,
    mnem: String,
    ops: String,
}

fn disassemble(code: &[u8]) -> Vec<Insn> {
    let cs = common::capstone_x64_att();
    let insns = cs.disasm_all(code, 0).expect("disassemble");
    insns
        .iter()
        .map(|i| Insn {
            at: i.address() as u32,
            end: (i.address() as usize + i.len()) as u32,
            mnem: i.mnemonic().unwrap_or("").trim_end_matches('q').to_string(),
            ops: i.op_str().unwrap_or("").to_string(),
        })
        .collect()
}

fn reg(name: &str) -> PReg {
    const GPRS: [&str; 16] =
        ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];
    let name = name.trim().trim_start_matches('%');
    if let Some(n) = name.strip_prefix("xmm") {
        return xmm_preg(n.parse().expect("xmm number"));
    }
    gpr_preg(GPRS.iter().position(|g| *g == name).unwrap_or_else(|| panic!("register {name}")) as u8)
}

/// `$0x1f0` / `$16` → 496 / 16.
fn imm(s: &str) -> u32 {
    let s = s.trim().trim_start_matches('$');
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).expect("hex"),
        None => s.parse().expect("decimal"),
    }
}

/// `0x10(%rsp)` / `(%rsp)` → displacement off %rsp.
fn rsp_disp(s: &str) -> Option<i64> {
    let s = s.trim();
    let d = s.strip_suffix("(%rsp)")?;
    Some(match d {
        "" => 0,
        d if d.starts_with("-0x") => -(i64::from_str_radix(&d[3..], 16).ok()?),
        d if d.starts_with("0x") => i64::from_str_radix(&d[2..], 16).ok()?,
        d => d.parse().ok()?,
    })
}

fn operands(ops: &str) -> (&str, &str) {
    let (a, b) = ops.split_once(',').unwrap_or((ops, ""));
    (a.trim(), b.trim())
}

/// Simulate the prologue: the records it must carry, and the CFA − SP distance after it.
fn expected_prologue(insns: &[Insn], end: u32) -> (Vec<(u32, UnwindInst)>, i64) {
    let mut want = Vec::new();
    let mut below = 8i64; // CFA - SP: the return address.
    let mut frame = false;
    let mut alloc = 0i64;
    let mut alloc_end = 0u32;
    let mut loop_total = None;
    for i in insns.iter().take_while(|i| i.at < end) {
        let (a, b) = operands(&i.ops);
        let allocating =
            matches!((i.mnem.as_str(), b), ("sub", "%rsp") | ("lea", "%r11") | ("cmp", "%rsp") | ("jne", _))
                || (i.mnem == "movb" && b == "(%rsp)");
        if !allocating && alloc > 0 {
            want.push((alloc_end, UnwindInst::StackAlloc { size: alloc as u32 }));
            alloc = 0;
        }
        match (i.mnem.as_str(), a, b) {
            ("push", "%rbp", _) if !frame => {
                below += 8;
                want.push((i.end, UnwindInst::PushFrameRegs { offset_upward_to_caller_sp: below as u32 }));
            }
            ("mov", "%rsp", "%rbp") => {
                frame = true;
                want.push((i.end, UnwindInst::DefineNewFrame { offset_upward_to_caller_sp: below as u32 }));
            }
            ("push", r, _) => {
                below += 8;
                want.push((i.end, UnwindInst::SaveReg { reg: reg(r), offset_down_from_cfa: below as u32, size: 8 }));
            }
            ("lea", src, "%r11") => loop_total = rsp_disp(src).map(|d| -d),
            ("sub", n, "%rsp") => {
                // Inside a probe loop the `sub` runs until %rsp reaches %r11.
                let n = loop_total.take().unwrap_or(imm(n) as i64);
                below += n;
                alloc += n;
                alloc_end = i.end;
            }
            ("movb", _, _) | ("cmp", _, _) | ("jne", _, _) if allocating => alloc_end = i.end,
            ("movdqu", x, m) if x.starts_with("%xmm") => {
                let d = rsp_disp(m).expect("save off %rsp");
                want.push((
                    i.end,
                    UnwindInst::SaveReg { reg: reg(x), offset_down_from_cfa: (below - d) as u32, size: 16 },
                ));
            }
            // The stack-limit check: scratch registers and a branch to a trap stub.
            ("mov" | "movabs" | "add" | "cmp" | "jb", _, _) => {}
            _ => panic!("unexpected prologue instruction {} {} at {:#x}", i.mnem, i.ops, i.at),
        }
    }
    if alloc > 0 {
        want.push((alloc_end, UnwindInst::StackAlloc { size: alloc as u32 }));
    }
    (want, below)
}

/// Check one function's records; returns (number of prologue records, epilogues).
fn check(name: &str, code: &[u8], code_size: u32, unwind: &[(u32, UnwindInst)]) -> (usize, usize) {
    let insns = disassemble(&code[..code_size as usize]);
    let at =
        |o: u32| insns.iter().position(|i| i.at == o).unwrap_or_else(|| panic!("{name}: no instruction at {o:#x}"));
    let first_epi = unwind.iter().position(|(_, u)| *u == UnwindInst::EpilogueStart).unwrap_or(unwind.len());
    let prologue = &unwind[..first_epi];
    let end = prologue.last().map_or(0, |r| r.0);
    let (want, below) = expected_prologue(&insns, end);
    assert_eq!(prologue, &want[..], "{name}: prologue records");
    // Nothing after the last record changes the frame.
    if let Some(next) = insns.iter().find(|i| i.at == end) {
        let (_, b) = operands(&next.ops);
        assert!(
            !(next.mnem == "push" || next.mnem == "sub" && b == "%rsp"),
            "{name}: {} {} after the prologue",
            next.mnem,
            next.ops
        );
    }
    let has_frame = !prologue.is_empty();

    // Epilogues.
    let mut k = first_epi;
    let mut epilogues = Vec::new();
    while k < unwind.len() {
        let (start, u) = unwind[k];
        assert_eq!(u, UnwindInst::EpilogueStart, "{name}: record {k}");
        let close = k + unwind[k..].iter().position(|(_, u)| *u == UnwindInst::EpilogueEnd).expect("epilogue end");
        let stop = unwind[close].0;
        let mut want = Vec::new();
        let mut sp_below = below;
        let mut frame = has_frame;
        let mut last = None;
        for i in &insns[at(start)..] {
            if i.at >= stop {
                break;
            }
            let (a, b) = operands(&i.ops);
            match (i.mnem.as_str(), a, b) {
                ("add", n, "%rsp") => sp_below -= imm(n) as i64,
                ("sub", n, "%rsp") => sp_below += imm(n) as i64,
                ("pop", "%rbp", _) => {
                    sp_below -= 8;
                    frame = false;
                    want.push((i.end, UnwindInst::FrameRestored { offset_upward_to_caller_sp: sp_below as u32 }));
                }
                ("pop", _, _) => sp_below -= 8,
                ("mov", m, "%rbp") if rsp_disp(m).is_some() => {
                    frame = false;
                    want.push((i.end, UnwindInst::FrameRestored { offset_upward_to_caller_sp: sp_below as u32 }));
                }
                _ => {}
            }
            last = Some(i);
        }
        let last = last.expect("an empty epilogue");
        assert!(!frame, "{name}: the epilogue at {start:#x} does not restore %rbp");
        assert!(last.mnem == "ret" || last.mnem == "jmp", "{name}: epilogue ends with {}", last.mnem);
        // A tail call that moves the return address says so before jumping.
        if sp_below
            != want.last().map_or(-1, |(_, u)| match u {
                UnwindInst::FrameRestored { offset_upward_to_caller_sp } => *offset_upward_to_caller_sp as i64,
                _ => -1,
            })
        {
            want.push((0, UnwindInst::FrameRestored { offset_upward_to_caller_sp: 8 }));
        }
        let got: Vec<(u32, UnwindInst)> = unwind[k + 1..close].to_vec();
        assert_eq!(got.len(), want.len(), "{name}: epilogue at {start:#x}: {got:?} vs {want:?}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.1, w.1, "{name}: epilogue at {start:#x}");
            if w.0 != 0 {
                assert_eq!(g.0, w.0, "{name}: epilogue at {start:#x}");
            }
        }
        assert_eq!(stop, last.end, "{name}: epilogue end");
        epilogues.push((start, stop));
        k = close + 1;
    }
    if has_frame {
        for i in insns.iter().filter(|i| i.mnem == "ret") {
            assert!(
                epilogues.iter().any(|&(s, e)| s <= i.at && i.end <= e),
                "{name}: ret at {:#x} outside epilogues",
                i.at
            );
        }
    }
    (prologue.len(), epilogues.len())
}

#[test]
fn x64_unwind_records_match_the_code() {
    let funcs = parse_functions(FUNCS).expect("parse");
    for probes in [false, true] {
        let mut flags = Flags::new();
        if probes {
            flags.set_word("enable_probestack=true").unwrap();
        }
        let spec = TargetSpec::parse("x86_64", &[]).expect("target");
        let isa = kiln_isa::lookup(&spec, flags).expect("isa");
        let mut summary = Vec::new();
        for f in &funcs {
            let mut ctx = Context::for_function(f.clone());
            let code = ctx.compile(&*isa).unwrap_or_else(|e| panic!("{}: {e}", f.name));
            let name = f.name.to_string();
            summary.push((name.clone(), check(&name, code.code(), code.buffer.code_size, code.unwind())));
        }
        let get = |n: &str| summary.iter().find(|(name, _)| name.contains(n)).expect("function").1;
        assert_eq!(get("leaf"), (0, 0));
        // push %rbp, mov, push of a callee-save, the allocation; two returns.
        assert!(get("saves").0 >= 3 && get("saves").1 == 2, "{:?}", get("saves"));
        // windows_fastcall calling system_v saves rsi, rdi and xmm6-xmm15.
        assert!(get("win").0 >= 2 + 2 + 10, "{:?}", get("win"));
        // A try_call saves every callee-saved register.
        assert!(get("catch").0 >= 2 + 5, "{:?}", get("catch"));
        assert_eq!(get("tail").1, 1);
        assert_eq!(get("tail_leaf").1, 1);
    }
}

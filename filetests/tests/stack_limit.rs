//! `stack_limit = gvN` traps with `stk_ovf` in the prologue when the new frame would go
//! below the limit: a deep recursion is stopped by the limit (long before the thread's real
//! stack ends), a shallow one is not; a large frame next to the limit traps, at both
//! optimization levels and with `vmctx` in a register or on the stack. The non-trapping
//! cases also run as `filetests/filetests/runtests/stack_limit.clif`.

use kiln_filetests::jit_run::{JitRunner, RunError};
use kiln_filetests::native::host_spec;
use kiln_ir::data_value::DataValue;
use kiln_ir::settings::{Flags, TargetSpec};
use kiln_ir::text::{ParseOptions, parse_functions, parse_test};
use kiln_ir::trapcode::TrapCode;

const RECURSION: &str = "
function %recurse(i64 vmctx, i64) -> i64 {
    gv0 = vmctx
    gv1 = load.i64 notrap aligned gv0
    stack_limit = gv1
    fn0 = %recurse(i64 vmctx, i64) -> i64

block0(v0: i64, v1: i64):
    brif v1, block1, block2

block1:
    v2 = iconst.i64 1
    v3 = isub v1, v2
    v4 = call fn0(v0, v3)
    v5 = iadd v4, v2
    return v5

block2:
    return v1
}

; (distance of the limit below the stack pointer, recursion depth)
function %start(i64, i64) -> i64 {
    ss0 = explicit_slot 8
    fn0 = %recurse(i64 vmctx, i64) -> i64

block0(v0: i64, v1: i64):
    v2 = get_stack_pointer.i64
    v3 = isub v2, v0
    v4 = stack_addr.i64 ss0
    store v3, v4
    v5 = call fn0(v4, v1)
    return v5
}
";

fn runners(funcs: &[kiln_ir::Function]) -> Vec<JitRunner> {
    runners_on(&host_spec().expect("host"), funcs)
}

fn runners_on(spec: &TargetSpec, funcs: &[kiln_ir::Function]) -> Vec<JitRunner> {
    ["none", "speed"]
        .iter()
        .map(|opt| {
            let mut flags = Flags::new();
            flags.set_word(&format!("opt_level={opt}")).unwrap();
            let isa = kiln_isa::lookup(spec, flags).expect("isa");
            JitRunner::new(funcs, isa).expect("jit")
        })
        .collect()
}

/// riscv64 (under qemu) with and without the compressed forms, when this host can run it.
fn riscv64_specs() -> Vec<TargetSpec> {
    let specs: Vec<TargetSpec> = [&[][..], &["has_c", "has_zcb"][..]]
        .iter()
        .map(|words| TargetSpec::parse("riscv64", words).expect("riscv64 target"))
        .collect();
    match kiln_filetests::jit_run::can_run(&specs[0]) {
        Ok(()) => specs,
        Err(why) => {
            eprintln!("riscv64 stack_limit checks skipped: {why}");
            Vec::new()
        }
    }
}

/// The stack-limit checks of the other tests, in riscv64 code under qemu.
#[test]
fn riscv64_stack_limit_under_qemu() {
    let funcs = parse_functions(RECURSION).expect("parse");
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/filetests/runtests/stack_limit.clif"))
        .expect("read stack_limit.clif");
    let tf = parse_test(&text, &ParseOptions::default()).expect("parse");
    let frames: Vec<_> = tf.functions.into_iter().map(|(f, _)| f).collect();
    for spec in riscv64_specs() {
        for mut jit in runners_on(&spec, &funcs) {
            assert_eq!(jit.call(1, &i64s(&[256 << 10, 100])), Ok(i64s(&[100])));
            let r = jit.call(1, &i64s(&[256 << 10, 1_000_000]));
            assert!(is_stack_overflow(&r), "{r:?}");
            assert_eq!(jit.call(1, &i64s(&[256 << 10, 5])), Ok(i64s(&[5])));
        }
        for mut jit in runners_on(&spec, &frames) {
            assert_eq!(jit.call(2, &i64s(&[100_000])), Ok(i64s(&[200_002])));
            let r = jit.call(2, &i64s(&[1000]));
            assert!(is_stack_overflow(&r), "{r:?}");
        }
    }
}

fn i64s(v: &[i64]) -> Vec<DataValue> {
    v.iter().map(|&x| DataValue::I64(x)).collect()
}

fn is_stack_overflow(r: &Result<Vec<DataValue>, RunError>) -> bool {
    matches!(r, Err(RunError::Trap(t)) if t.code == Some(TrapCode::STACK_OVERFLOW))
}

#[test]
fn recursion_stops_at_the_limit() {
    if !cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        return;
    }
    for mut jit in runners(&parse_functions(RECURSION).expect("parse")) {
        // 256 KiB of stack: 100 frames fit, a million do not.
        assert_eq!(jit.call(1, &i64s(&[256 << 10, 100])), Ok(i64s(&[100])));
        let r = jit.call(1, &i64s(&[256 << 10, 1_000_000]));
        assert!(is_stack_overflow(&r), "{r:?}");
        // The JIT is still usable after the trap.
        assert_eq!(jit.call(1, &i64s(&[256 << 10, 5])), Ok(i64s(&[5])));
    }
}

#[test]
fn a_large_frame_next_to_the_limit_traps() {
    if !cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        return;
    }
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/filetests/runtests/stack_limit.clif"))
        .expect("read stack_limit.clif");
    let tf = parse_test(&text, &ParseOptions::default()).expect("parse");
    let funcs: Vec<_> = tf.functions.into_iter().map(|(f, _)| f).collect();
    for mut jit in runners(&funcs) {
        // %caller(distance) calls a callee with a 4 KiB frame (vmctx in a register), then
        // one with a 64-byte frame (vmctx on the stack).
        assert_eq!(jit.call(2, &i64s(&[100_000])), Ok(i64s(&[200_002])));
        let r = jit.call(2, &i64s(&[1000]));
        assert!(is_stack_overflow(&r), "{r:?}");
    }
}

#[test]
fn a_stack_limit_the_prologue_cannot_compute_is_an_error() {
    let text = "
function %f(i64) -> i64 {
    gv0 = symbol %limit
    stack_limit = gv0
    ss0 = explicit_slot 8

block0(v0: i64):
    v1 = stack_addr.i64 ss0
    store v0, v1
    v2 = load.i64 v1
    return v2
}
";
    let funcs = parse_functions(text).expect("parse");
    let isa = kiln_isa::lookup(&host_spec().expect("host"), Flags::new()).expect("isa");
    let mut ctx = kiln_codegen::Context::new();
    ctx.func = funcs[0].clone();
    let err = ctx.compile(&*isa).expect_err("symbol stack limit");
    assert!(err.to_string().starts_with("unsupported: stack_limit"), "{err}");
}

/// Without a stack limit, a runaway recursion hits the thread's guard page: the fault is
/// handled on the alternate signal stack and reported as a trap, the thread's JIT code
/// still works afterwards, and threads that ran JIT code exit cleanly (their alternate
/// stacks are released).
#[test]
fn guard_page_overflow_is_a_trap_on_any_thread() {
    if !cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        return;
    }
    let text = RECURSION.replace("    stack_limit = gv1\n", "");
    let funcs = parse_functions(&text).expect("parse");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let funcs = funcs.clone();
            std::thread::Builder::new()
                .stack_size(512 << 10)
                .spawn(move || {
                    for mut jit in runners(&funcs) {
                        // Far beyond the 512 KiB stack; the limit is never checked.
                        let r = jit.call(1, &i64s(&[0, 100_000_000]));
                        assert!(matches!(r, Err(RunError::Trap(_))), "{r:?}");
                        assert_eq!(jit.call(1, &i64s(&[0, 10])), Ok(i64s(&[10])));
                    }
                })
                .expect("spawn")
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
}

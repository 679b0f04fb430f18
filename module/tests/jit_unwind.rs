//! JIT frames and the system unwinder: the JIT registers each region's `.eh_frame`, so a
//! Rust panic raised in a host callback unwinds through three levels of JIT frames to a
//! `catch_unwind` in the embedder, and a backtrace taken in the callback walks through
//! the JIT frames (named by the module) on to the test and the harness below it.

#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

mod common;
mod levels;

use kiln_module::{FuncId, JitModule, JitOptions};
use levels::levels;
use std::cell::RefCell;
use std::ffi::c_void;

/// `level1` as a function that may unwind.
fn entry(m: &JitModule, f: FuncId) -> extern "C-unwind" fn(i64) -> i64 {
    // SAFETY: `level1` is `fn(i64) -> i64` (System V, the C convention here).
    unsafe { std::mem::transmute(m.get_finalized_function(f).unwrap()) }
}

extern "C-unwind" fn host_may_panic(x: i64) -> i64 {
    if x < 0 {
        panic!("host callback refused {x}");
    }
    x + 1
}

#[test]
fn panic_in_a_host_callback_unwinds_through_three_jit_frames() {
    let (m, top) = levels(JitOptions::default(), host_may_panic as *const u8);
    let f = entry(&m, top);
    assert_eq!(f(20), 43);
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(|| f(-7));
    std::panic::set_hook(hook);
    let payload = r.expect_err("the panic reaches catch_unwind");
    let msg = payload.downcast_ref::<String>().cloned().unwrap_or_default();
    assert_eq!(msg, "host callback refused -7");
    // The JIT code is intact and runs again; so do further panics.
    assert_eq!(f(1), 5);
    for k in 1..=3 {
        std::panic::set_hook(Box::new(|_| {}));
        let r = std::panic::catch_unwind(|| f(-k));
        let _ = std::panic::take_hook();
        assert!(r.is_err(), "round {k}");
    }
}

unsafe extern "C" {
    fn _Unwind_Backtrace(trace: extern "C" fn(*mut c_void, *mut c_void) -> i32, arg: *mut c_void) -> i32;
    fn _Unwind_GetIP(ctx: *mut c_void) -> usize;
}

extern "C" fn record_ip(ctx: *mut c_void, arg: *mut c_void) -> i32 {
    // SAFETY: `arg` is the Vec passed below; `ctx` the unwinder's context.
    unsafe { (*(arg as *mut Vec<usize>)).push(_Unwind_GetIP(ctx)) };
    0 // _URC_NO_REASON: go on
}

thread_local! {
    static TRACE: RefCell<(Vec<usize>, String)> = const { RefCell::new((Vec::new(), String::new())) };
}

extern "C-unwind" fn host_backtrace(x: i64) -> i64 {
    let mut ips: Vec<usize> = Vec::new();
    // SAFETY: walking this thread's stack with the system unwinder.
    unsafe { _Unwind_Backtrace(record_ip, &mut ips as *mut Vec<usize> as *mut c_void) };
    let text = std::backtrace::Backtrace::force_capture().to_string();
    TRACE.with(|t| *t.borrow_mut() = (ips, text));
    x
}

#[test]
fn backtrace_from_a_host_callback_walks_through_jit_frames() {
    let (m, top) = levels(JitOptions::default(), host_backtrace as *const u8);
    assert_eq!(entry(&m, top)(4), 9);
    let (ips, text) = TRACE.with(|t| t.borrow().clone());
    // The unwinder's frames, named by the module where they are JIT code.
    let names: Vec<String> = ips
        .iter()
        .map(|&ip| match m.lookup_function(ip - 1) {
            Some((id, _)) => {
                let n = &kiln_module::Module::declarations(&m).function(id).unwrap().name;
                kiln_module::module::reloc_target_name(n)
            }
            None => "host".to_string(),
        })
        .collect();
    let at = names.iter().position(|n| n == "level3").unwrap_or_else(|| panic!("no JIT frame in {names:?}"));
    assert_eq!(&names[at..at + 3], ["level3", "level2", "level1"], "{names:?}");
    // The walk goes on below the JIT frames: to this test and the harness that runs it.
    assert!(names.len() > at + 5, "the walk stopped at the JIT frames: {names:?}");
    assert!(text.contains("backtrace_from_a_host_callback_walks_through_jit_frames"), "{text}");
    assert!(text.contains("lang_start") || text.contains("test::run_test"), "{text}");
}

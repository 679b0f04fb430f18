//! Hot replacement in the JIT: a function is freed and defined again while the JIT
//! functions that call it stay in place — even while one of them is running (it calls a
//! host routine that replaces its callee, then calls the callee again and gets the new
//! code). Freed code memory is reused.

#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use kiln_ir::Function;
use kiln_ir::settings::Flags;
use kiln_ir::text::parse_functions;
use kiln_module::{FuncId, JitModule, JitOptions, Linkage, Module};
use std::cell::RefCell;

fn pic_isa() -> Box<dyn kiln_codegen::TargetIsa> {
    let mut flags = Flags::new();
    flags.set_word("is_pic=1").unwrap();
    kiln_isa::native(flags).unwrap()
}

fn func(text: &str) -> Function {
    parse_functions(text).unwrap().remove(0)
}

/// `callee(x) = x + k`.
fn callee(k: i64) -> Function {
    func(&format!(
        "function %callee(i64) -> i64 system_v {{
        block0(v0: i64):
            v1 = iconst.i64 {k}
            v2 = iadd v0, v1
            return v2
        }}"
    ))
}

struct Swap {
    module: *mut JitModule,
    callee: FuncId,
    next: i64,
}

thread_local! {
    static SWAP: RefCell<Option<Swap>> = const { RefCell::new(None) };
}

/// Called by JIT code: replace `callee` by `x + next`.
extern "sysv64" fn host_swap() {
    SWAP.with(|s| {
        let mut s = s.borrow_mut();
        let s = s.as_mut().expect("a swap is set up");
        // SAFETY: the test owns the module and is blocked in the JIT call that got here;
        // `callee` is not running (its caller is).
        let m = unsafe { &mut *s.module };
        unsafe { m.free_function(s.callee).unwrap() };
        m.define_function(s.callee, callee(s.next)).unwrap();
        m.finalize_definitions().unwrap();
    });
}

#[test]
fn free_and_redefine_while_callers_run() {
    let mut m = JitModule::with_options(pic_isa(), JitOptions { hotswap: true, ..Default::default() }).unwrap();
    let sig = callee(0).signature.clone();
    let cal = m.declare_function("callee", Linkage::Local, &sig).unwrap();
    let caller = m.declare_function("caller", Linkage::Export, &sig).unwrap();
    let twice = m.declare_function("twice", Linkage::Export, &sig).unwrap();
    let swap_sig = func("function %f() system_v {\nblock0:\n return\n}").signature;
    m.declare_function("host_swap", Linkage::Import, &swap_sig).unwrap();
    m.add_symbol_lookup(Box::new(|n| (n == "host_swap").then_some(host_swap as *const u8)));

    // caller(x) = callee(x) * 1000 + (host_swap(); callee(x))
    let caller_f = func(
        "function %caller(i64) -> i64 system_v {
            sig0 = (i64) -> i64 system_v
            sig1 = () system_v
            fn0 = %callee sig0
            fn1 = %host_swap sig1
        block0(v0: i64):
            v1 = call fn0(v0)
            call fn1()
            v2 = call fn0(v0)
            v3 = iconst.i64 1000
            v4 = imul v1, v3
            v5 = iadd v4, v2
            return v5
        }",
    );
    // twice(x) = callee(callee(x)), defined in a later batch (another region).
    let twice_f = func(
        "function %twice(i64) -> i64 system_v {
            sig0 = (i64) -> i64 system_v
            fn0 = %callee sig0
        block0(v0: i64):
            v1 = call fn0(v0)
            v2 = call fn0(v1)
            return v2
        }",
    );
    m.define_function(cal, callee(1)).unwrap();
    m.define_function(caller, caller_f).unwrap();
    m.finalize_definitions().unwrap();
    m.define_function(twice, twice_f).unwrap();
    m.finalize_definitions().unwrap();
    // The module's functions reach `callee` through the GOT: not colocated.
    let mut probe = callee(0);
    let r = m.declare_func_in_func(cal, &mut probe).unwrap();
    assert!(!probe.dfg.ext_funcs[r].colocated);

    let call = |m: &JitModule, id: FuncId, x: i64| -> i64 {
        // SAFETY: compiled for `fn(i64) -> i64` (System V).
        let f: extern "sysv64" fn(i64) -> i64 = unsafe { std::mem::transmute(m.get_finalized_function(id).unwrap()) };
        f(x)
    };
    assert_eq!(call(&m, twice, 5), 7);

    // The first region keeps `caller` alive; from the first replacement on, `callee` has a
    // region of its own.
    let regions = m.live_regions() + 1;
    let mut addrs = std::collections::HashSet::new();
    let mp: *mut JitModule = &mut m;
    for k in 0..50i64 {
        let before = k * 10 + 1;
        let after = (k + 1) * 10 + 1;
        SWAP.with(|s| *s.borrow_mut() = Some(Swap { module: mp, callee: cal, next: after }));
        // SAFETY: `m` is only used through `mp` until the call returns.
        let m = unsafe { &*mp };
        // The first call reaches the old code, the second (after the swap) the new one.
        assert_eq!(call(m, caller, 7), (7 + before) * 1000 + 7 + after, "round {k}");
        // Another caller, in another region, sees the new code too.
        assert_eq!(call(m, twice, 7), 7 + 2 * after, "round {k}");
        addrs.insert(m.get_finalized_function(cal).unwrap() as usize);
        // Every replaced region was given back and reused: the number of live regions
        // stays the same and the new code goes where freed code was.
        assert_eq!(m.live_regions(), regions, "round {k}");
    }
    assert!(addrs.len() <= 2, "freed code memory is reused: {} distinct addresses", addrs.len());
    SWAP.with(|s| *s.borrow_mut() = None);
}

#[test]
fn freeing_errors() {
    let mut m = JitModule::new(kiln_isa::native(Flags::new()).unwrap());
    let sig = callee(0).signature.clone();
    let f = m.declare_function("callee", Linkage::Local, &sig).unwrap();
    // Not finalized yet: nothing to free.
    assert!(unsafe { m.free_function(f) }.is_err());
    m.define_function(f, callee(3)).unwrap();
    // Defined twice.
    assert!(m.define_function(f, callee(4)).is_err());
    m.finalize_definitions().unwrap();
    unsafe { m.free_function(f).unwrap() };
    assert!(unsafe { m.free_function(f) }.is_err());
    assert_eq!(m.get_finalized_function(f), None);
    m.define_function(f, callee(4)).unwrap();
    m.finalize_definitions().unwrap();
    // SAFETY: compiled for `fn(i64) -> i64` (System V).
    let g: extern "sysv64" fn(i64) -> i64 = unsafe { std::mem::transmute(m.get_finalized_function(f).unwrap()) };
    assert_eq!(g(1), 5);
    // Hot replacement needs position-independent code.
    let e = JitModule::with_options(
        kiln_isa::native(Flags::new()).unwrap(),
        JitOptions { hotswap: true, ..Default::default() },
    );
    assert!(e.is_err());
}

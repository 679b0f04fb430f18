//! Three JIT functions calling each other down to a host routine, shared by the JIT tests
//! that look at JIT frames from outside (debugger, profiler, unwinder).

#![allow(dead_code)]

use kiln_ir::settings::Flags;
use kiln_ir::text::{ParseOptions, parse_test};
use kiln_module::{FuncId, JitModule, JitOptions, Linkage, Module};

/// Three JIT functions calling each other down to a host routine:
/// `level1(x) = level2(x) + 1`, `level2(x) = level3(x) * 2`, `level3(x) = host(x)`.
pub const LEVELS: &str = "test compile
function %level3(i64) -> i64 system_v {
    sig0 = (i64) -> i64 system_v
    fn0 = %host sig0
block0(v0: i64):
    v1 = call fn0(v0)
    return v1
}

function %level2(i64) -> i64 system_v {
    sig0 = (i64) -> i64 system_v
    fn0 = colocated %level3 sig0
block0(v0: i64):
    v1 = call fn0(v0)
    v2 = iadd v1, v1
    return v2
}

function %level1(i64) -> i64 system_v {
    sig0 = (i64) -> i64 system_v
    fn0 = colocated %level2 sig0
block0(v0: i64):
    v1 = call fn0(v0)
    v2 = iconst.i64 1
    v3 = iadd v1, v2
    return v3
}
";

/// A module with the three levels (source locations: their lines in [`LEVELS`]), calling
/// `host` for the bottom one; returns it and `level1`.
pub fn levels(options: JitOptions, host: *const u8) -> (JitModule, FuncId) {
    let mut m = JitModule::with_options(kiln_isa::native(Flags::new()).unwrap(), options).unwrap();
    let host = host as usize;
    m.add_symbol_lookup(Box::new(move |n| (n == "host").then_some(host as *const u8)));
    let file = parse_test(LEVELS, &ParseOptions::default()).unwrap();
    let mut top = None;
    for (mut f, d) in file.functions {
        d.map.set_srclocs_to_lines(&mut f);
        let name = f.name.to_string().trim_start_matches('%').to_string();
        let id = m.declare_function(name.as_str(), Linkage::Local, &f.signature).unwrap();
        m.define_function(id, f).unwrap();
        top = Some(id);
    }
    m.finalize_definitions().unwrap();
    (m, top.unwrap())
}

pub fn call(m: &JitModule, f: FuncId, x: i64) -> i64 {
    // SAFETY: `level1` is `fn(i64) -> i64` (System V).
    let f: extern "sysv64" fn(i64) -> i64 = unsafe { std::mem::transmute(m.get_finalized_function(f).unwrap()) };
    f(x)
}

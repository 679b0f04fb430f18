//! The regalloc2 checker and the compile-time oracle on generated functions: every function
//! of a generated program (small ones, and large ones with the `large` generator settings
//! for one input in four) is compiled with `regalloc_checker` for both allocators and both
//! optimization levels; a checker (or any other non-"unsupported") error, or a compilation
//! far slower than a linear model of the function's size predicts, is a crash.
#![no_main]
use kiln_codegen::{CodegenError, Context};
use kiln_fuzz::compile_time::CompileTimeOracle;
use kiln_fuzz::diff::{CompileConfig, build, generate_case};
use kiln_fuzz::generate::GenConfig;
use kiln_fuzz::oracle::{TargetSupport, isa_variants};
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

thread_local! {
    static ORACLE: RefCell<TargetSupport> = RefCell::new(TargetSupport::new());
    static TIMES: RefCell<CompileTimeOracle> = RefCell::new(CompileTimeOracle::new());
}

fuzz_target!(|data: &[u8]| {
    let cfg = if data.first().is_some_and(|b| b % 4 == 0) { GenConfig::large() } else { GenConfig::default() };
    let Ok(case) = ORACLE.with(|o| generate_case(data, &cfg, &mut *o.borrow_mut())) else { return };
    let funcs = match build(&case.program) {
        Ok(f) => f,
        Err(e) => panic!("{e}\n{}", case.program.to_clif()),
    };
    for config in CompileConfig::all() {
        for (name, isa) in isa_variants(&config.flags(case.nan_canon)) {
            let start = std::time::Instant::now();
            for f in &funcs {
                let mut ctx = Context::for_function(f.clone());
                match ctx.compile(&*isa) {
                    Ok(_) | Err(CodegenError::Unsupported(_)) => {}
                    Err(e) => panic!("{config} {name}: {e}\n{}", f.display()),
                }
            }
            let key = format!("{config} nan_canon={} {name}", case.nan_canon);
            if let Err(e) = TIMES.with(|t| t.borrow_mut().check(&key, &*isa, &funcs, start.elapsed())) {
                panic!("{e}\n{}", case.program.to_clif());
            }
        }
    }
});

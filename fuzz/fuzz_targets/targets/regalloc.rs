//! The regalloc2 checker on generated functions: every function of a generated program is
//! compiled with `regalloc_checker` for both allocators and both optimization levels; a
//! checker (or any other non-"unsupported") error is a crash.
#![no_main]
use kiln_codegen::{CodegenError, Context};
use kiln_fuzz::diff::{CompileConfig, build, generate_case};
use kiln_fuzz::generate::GenConfig;
use kiln_fuzz::oracle::{TargetSupport, isa_variants};
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

thread_local! {
    static ORACLE: RefCell<TargetSupport> = RefCell::new(TargetSupport::new());
}

fuzz_target!(|data: &[u8]| {
    let Ok(case) = ORACLE.with(|o| generate_case(data, &GenConfig::default(), &mut *o.borrow_mut())) else { return };
    let funcs = match build(&case.program) {
        Ok(f) => f,
        Err(e) => panic!("{e}\n{}", case.program.to_clif()),
    };
    for config in CompileConfig::all() {
        for (name, isa) in isa_variants(&config.flags(case.nan_canon)) {
            for f in &funcs {
                let mut ctx = Context::for_function(f.clone());
                match ctx.compile(&*isa) {
                    Ok(_) | Err(CodegenError::Unsupported(_)) => {}
                    Err(e) => panic!("{config} {name}: {e}\n{}", f.display()),
                }
            }
        }
    }
});

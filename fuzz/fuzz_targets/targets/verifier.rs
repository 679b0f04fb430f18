//! The verifier on generated-then-mutated functions: a valid generated program is broken
//! by random edits (`kiln_fuzz::mutate`); the verifier must not panic, a function it accepts
//! must interpret and compile without panicking, and one it rejects must compile with the
//! verifier off without panicking (the backend returns errors on any input).
#![no_main]
use arbitrary::Unstructured;
use kiln_codegen::Context;
use kiln_fuzz::generate::{AcceptAll, GenConfig, generate};
use kiln_fuzz::mutate::mutate;
use kiln_ir::interp::{InterpConfig, Interpreter};
use kiln_ir::settings::Flags;
use kiln_ir::text::parse_functions;
use kiln_ir::verifier::{VerifierContext, verify_function};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(g) = generate(&mut u, &GenConfig::default(), &mut AcceptAll) else { return };
    let Ok(mut funcs) = parse_functions(&g.program.to_clif()) else { panic!("generated program does not parse") };
    let flags = Flags::default();
    let ctx = VerifierContext::new(&flags);
    for f in &funcs {
        assert!(verify_function(f, &ctx).is_ok(), "generated function does not verify:\n{}", f.display());
    }
    let Ok(k) = u.int_in_range(0..=funcs.len() - 1) else { return };
    if mutate(&mut u, &mut funcs[k]).is_err() {
        return;
    }
    if verify_function(&funcs[k], &ctx).is_err() {
        // Rejected: compiled with the verifier off, the backend must return an error (or
        // code), never panic.
        let mut off = flags.clone();
        let _ = off.set("enable_verifier", Some("false"));
        if let Ok(isa) = kiln_isa::native(off) {
            let mut c = Context::for_function(funcs[k].clone());
            let _ = c.compile(&*isa);
        }
        return;
    }
    // Accepted: the interpreter and the compiler must cope without panicking.
    let config = InterpConfig { fuel: Some(100_000), ..InterpConfig::default() };
    let mut interp = Interpreter::new(&funcs, config);
    let params: Vec<_> = funcs[0].signature.params.iter().map(|p| kiln_ir::DataValue::from_u128(p.value_type, 1)).collect();
    if let Some(args) = params.into_iter().collect::<Option<Vec<_>>>() {
        let _ = interp.call(0, &args);
    }
    if let Ok(isa) = kiln_isa::native(flags.clone()) {
        let mut c = Context::for_function(funcs[k].clone());
        let _ = c.compile(&*isa);
    }
});

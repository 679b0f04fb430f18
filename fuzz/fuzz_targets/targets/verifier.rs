//! The verifier on generated-then-mutated functions: a valid generated program is broken
//! by random edits (operands replaced by other values, instructions removed or moved,
//! branch arguments changed); the verifier must not panic, and a function it accepts must
//! interpret and compile without panicking.
#![no_main]
use arbitrary::Unstructured;
use kiln_codegen::Context;
use kiln_fuzz::generate::{AcceptAll, GenConfig, generate};
use kiln_ir::entity::EntityRef;
use kiln_ir::interp::{InterpConfig, Interpreter};
use kiln_ir::settings::Flags;
use kiln_ir::text::parse_functions;
use kiln_ir::verifier::{VerifierContext, verify_function};
use kiln_ir::{Function, Inst, Value};
use libfuzzer_sys::fuzz_target;

fn insts(f: &Function) -> Vec<Inst> {
    f.layout.blocks().flat_map(|b| f.layout.block_insts(b).collect::<Vec<_>>()).collect()
}

fn mutate(u: &mut Unstructured, f: &mut Function) -> arbitrary::Result<()> {
    let n = u.int_in_range(1..=4)?;
    for _ in 0..n {
        let all = insts(f);
        if all.is_empty() {
            return Ok(());
        }
        let inst = *u.choose(&all)?;
        let nvals = f.dfg.num_values();
        match u.int_in_range(0..=3)? {
            0 => {
                let args = f.dfg.inst_args_mut(inst);
                if !args.is_empty() && nvals > 0 {
                    let k = u.int_in_range(0..=args.len() - 1)?;
                    args[k] = Value::new(u.int_in_range(0..=nvals - 1)?);
                }
            }
            1 => f.layout.remove_inst(inst),
            2 => {
                let other = *u.choose(&all)?;
                if other != inst {
                    f.layout.remove_inst(inst);
                    f.layout.insert_inst(inst, other);
                }
            }
            _ => {
                let nv = nvals;
                let dests = f.dfg.branch_destinations(inst).to_vec();
                if !dests.is_empty() && nv > 0 {
                    let mut vals = Vec::new();
                    for _ in 0..u.int_in_range(0..=3)? {
                        vals.push(Value::new(u.int_in_range(0..=nv - 1)?));
                    }
                    let k = u.int_in_range(0..=dests.len() - 1)?;
                    let block = dests[k].block(&f.dfg.value_lists);
                    let bc = f.dfg.block_call(block, &vals);
                    f.dfg.branch_destinations_mut(inst)[k] = bc;
                }
            }
        }
    }
    Ok(())
}

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

//! Breaking valid functions: random edits (operands replaced by other values, instructions
//! removed or moved, branch arguments changed) that usually make a generated function
//! invalid. The verifier must report what they break without panicking, and the backend,
//! handed such a function with the verifier off, must return an error, not panic
//! (`kiln-fuzz invalid`, and the `verifier` cargo-fuzz target).

use arbitrary::Unstructured;
use kiln_ir::entity::EntityRef;
use kiln_ir::{Function, Inst, Value};

fn insts(f: &Function) -> Vec<Inst> {
    f.layout.blocks().flat_map(|b| f.layout.block_insts(b).collect::<Vec<_>>()).collect()
}

/// Apply one to four random edits to `f`.
pub fn mutate(u: &mut Unstructured, f: &mut Function) -> arbitrary::Result<()> {
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
                let dests = f.dfg.branch_destinations(inst).to_vec();
                if !dests.is_empty() && nvals > 0 {
                    let mut vals = Vec::new();
                    for _ in 0..u.int_in_range(0..=3)? {
                        vals.push(Value::new(u.int_in_range(0..=nvals - 1)?));
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

/// What [`compile_broken`] found.
#[derive(Default, Debug)]
pub struct BrokenRun {
    /// Broken functions the verifier rejected (then compiled with the verifier off).
    pub rejected: u64,
    /// Edits that left the function valid.
    pub accepted: u64,
    /// Compilations made (rejected functions × optimization levels).
    pub compiled: u64,
    /// Each panic: the case, the setting, the message and the function.
    pub panics: Vec<String>,
}

/// Cases `from..from + count` of seed `seed`: generate a program, break one function with
/// [`mutate`]; if the verifier rejects it, compile it at `opt_level` none and speed with
/// the verifier off and catch any panic (with `backtrace`, the report says where).
pub fn compile_broken(seed: u64, from: u64, count: u64, backtrace: bool) -> BrokenRun {
    use crate::generate::{AcceptAll, GenConfig, generate};
    use kiln_ir::settings::Flags;
    use kiln_ir::verifier::{VerifierContext, verify_function};
    use std::sync::{Arc, Mutex};
    let message = Arc::new(Mutex::new(String::new()));
    let m = message.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Ok(mut g) = m.lock() {
            *g = format!("{info}");
            if backtrace {
                g.push_str(&format!("\n{}", std::backtrace::Backtrace::force_capture()));
            }
        }
    }));
    let flags = Flags::default();
    let vctx = VerifierContext::new(&flags);
    let mut isas = Vec::new();
    for opt in ["none", "speed"] {
        let mut f = flags.clone();
        let _ = f.set("enable_verifier", Some("false"));
        let _ = f.set("opt_level", Some(opt));
        if let Ok(isa) = kiln_isa::native(f) {
            isas.push((opt, isa));
        }
    }
    let mut run = BrokenRun::default();
    for k in from..from + count {
        let data = crate::seeded_bytes(seed, k);
        let mut u = Unstructured::new(&data);
        let Ok(g) = generate(&mut u, &GenConfig::default(), &mut AcceptAll) else { continue };
        let Ok(mut funcs) = kiln_ir::text::parse_functions(&g.program.to_clif()) else { continue };
        let Ok(i) = u.int_in_range(0..=funcs.len() - 1) else { continue };
        if mutate(&mut u, &mut funcs[i]).is_err() {
            continue;
        }
        if verify_function(&funcs[i], &vctx).is_ok() {
            run.accepted += 1;
            continue;
        }
        run.rejected += 1;
        for (opt, isa) in &isas {
            run.compiled += 1;
            let func = funcs[i].clone();
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut ctx = kiln_codegen::Context::for_function(func);
                ctx.compile(&**isa).map(|_| ())
            }));
            if r.is_err() {
                let msg = message.lock().map(|g| g.clone()).unwrap_or_default();
                run.panics.push(format!(
                    "seed {seed} case {k} (opt_level={opt}, verifier off): {msg}\n{}",
                    funcs[i].display()
                ));
            }
        }
    }
    std::panic::set_hook(previous);
    run
}

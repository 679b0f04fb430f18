//! Development aid: optimize every function of a file with the verifier after each pass;
//! report failures. `opt_check FILE [NAME]` prints NAME before and after optimization.
use kiln_ir::text::{IsaSpec, ParseOptions, parse_test};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let text = std::fs::read_to_string(&args[1]).unwrap();
    let Ok(tf) = parse_test(&text, &ParseOptions::default()) else {
        println!("{}: does not parse", args[1]);
        return;
    };
    let (mut flags, spec) = match &tf.isa_spec {
        IsaSpec::Targets(ts) => (ts[0].flags.clone(), Some(ts[0].spec.clone())),
        IsaSpec::None(f) => (f.clone(), None),
    };
    flags.set_word("opt_level=speed").unwrap();
    let mut ctx = kiln_egraph::OptContext::new();
    let timing = std::env::var("KILN_TIME").is_ok();
    ctx.options.verify = Some(!timing);
    ctx.options.time_passes = timing;
    let mut total = std::time::Duration::ZERO;
    let (mut ok, mut bad) = (0, 0);
    for (f, _) in &tf.functions {
        let want = args.get(2).is_some_and(|n| *n == f.name.to_string());
        if args.len() > 2 && !want {
            continue;
        }
        let vctx = kiln_ir::verifier::VerifierContext { flags: &flags, target: spec.as_ref() };
        if kiln_ir::verifier::verify_function(f, &vctx).is_err() {
            continue;
        }
        let mut g = f.clone();
        if want {
            println!("{}", f.display());
        }
        let t0 = std::time::Instant::now();
        let r = kiln_egraph::optimize(&mut g, &mut ctx, &flags, spec.as_ref());
        total += t0.elapsed();
        match r {
            Ok(()) => ok += 1,
            Err(e) => {
                bad += 1;
                if bad <= 5 {
                    println!("{}: {}", f.name, e.to_string().lines().take(6).collect::<Vec<_>>().join("\n    "));
                }
            }
        }
        if want {
            println!("{}", g.display());
        }
    }
    println!("{ok} ok, {bad} failed; optimize time {:.1} ms", total.as_secs_f64() * 1e3);
    for (p, n) in kiln_egraph::PIPELINE.iter().zip(&ctx.stats.pass_nanos) {
        println!("  {:20} {:8.1} ms", p.name, *n as f64 / 1e6);
    }
    let s = &ctx.stats;
    println!(
        "nodes {} gvn {} folds {} rewrites {} loads_removed {} forwarded {} traps {} placed {} hoisted {} remats {} blocks {} params {} dce {} cfg {} budget {}",
        s.nodes,
        s.gvn_hits,
        s.folds,
        s.rewrites,
        s.loads_removed,
        s.loads_forwarded,
        s.traps_merged,
        s.placed,
        s.hoisted,
        s.remats,
        s.blocks_removed,
        s.params_removed,
        s.insts_removed,
        s.cfg_simplified,
        s.budget_exhausted
    );
    if std::env::var("KILN_RULES").is_ok() {
        let names = kiln_egraph::rule_names();
        let mut v: Vec<(u64, &String)> =
            s.rule_fires.iter().copied().zip(names.iter()).filter(|(n, _)| *n > 0).collect();
        v.sort_by(|a, b| b.0.cmp(&a.0));
        for (n, name) in v {
            println!("  {n:8} {name}");
        }
    }
}

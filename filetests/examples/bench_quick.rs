//! Development aid: compile every function of a file N times; print time and code size.
use kiln_codegen::Context;
use kiln_ir::text::{IsaSpec, ParseOptions, parse_test};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = &args[1];
    let iters: usize = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(3);
    let opt = args.get(3).cloned().unwrap_or("none".into());
    let text = std::fs::read_to_string(path).unwrap();
    let tf = parse_test(&text, &ParseOptions::default()).unwrap();
    let IsaSpec::Targets(ts) = &tf.isa_spec else { panic!() };
    let mut flags = ts[0].flags.clone();
    flags.set_word("enable_verifier=false").unwrap();
    flags.set_word(&format!("opt_level={opt}")).unwrap();
    let isa = kiln_isa::lookup(&ts[0].spec, flags).unwrap();
    let funcs: Vec<_> = tf.functions.into_iter().map(|(f, _)| f).collect();
    let insts: usize = funcs.iter().map(|f| f.num_insts_in_layout()).sum();
    let mut ctx = Context::new();
    let mut times = Vec::new();
    let mut bytes = 0;
    let mut failed = 0;
    let show = std::env::var("KILN_SHOW_ERRORS").is_ok();
    let mut shown = 0;
    for _ in 0..iters {
        let mut t = std::time::Duration::ZERO;
        bytes = 0;
        failed = 0;
        for f in &funcs {
            ctx.clear();
            ctx.func = f.clone();
            let s = Instant::now();
            let r = ctx.compile(&*isa);
            t += s.elapsed();
            match r {
                Ok(c) => bytes += c.buffer.bytes.len(),
                Err(e) => {
                    failed += 1;
                    if show && shown < 5 {
                        shown += 1;
                        eprintln!("{}: {}", f.name, e.to_string().lines().take(4).collect::<Vec<_>>().join(" | "));
                    }
                }
            }
        }
        times.push(t);
    }
    times.sort();
    let med = times[times.len() / 2];
    println!("functions: {} ({} failed)", funcs.len(), failed);
    println!("clif instructions: {insts}");
    println!("machine code bytes: {bytes}");
    println!("compile time/iter: {:.3} ms median", med.as_secs_f64() * 1e3);
    println!("throughput: {:.0} CLIF insts/s", insts as f64 / med.as_secs_f64());
}

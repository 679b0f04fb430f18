//! Development aid: run the `; run:` lines of files natively (x86-64 targets only).
//!
//! Environment: `KILN_OPT=none|speed|speed_and_size` overrides every file's `opt_level`;
//! `KILN_INTERP=1` runs the lines with the reference interpreter instead, on the functions
//! as the optimizer leaves them (with `KILN_OPT` or the file's `opt_level`).
use kiln_filetests::jit_run::JitRunner;
use kiln_ir::interp::{InterpConfig, InterpError, Interpreter};
use kiln_ir::settings::OptLevel;
use kiln_ir::settings::{Arch, TargetSpec};
use kiln_ir::text::runcommand::{Comparison, RunCommand, parse_run_command};
use kiln_ir::text::{IsaSpec, ParseOptions, parse_test};

fn main() {
    let (mut pass, mut fail) = (0, 0);
    let force_opt = std::env::var("KILN_OPT").ok();
    let interp = std::env::var("KILN_INTERP").is_ok_and(|v| v == "1");
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path).unwrap();
        let tf = match parse_test(&text, &ParseOptions::default()) {
            Ok(t) => t,
            Err(e) => {
                println!("{path}: {e}");
                continue;
            }
        };
        let targets: Vec<(TargetSpec, kiln_ir::settings::Flags)> = match &tf.isa_spec {
            IsaSpec::Targets(ts) => {
                ts.iter().filter(|t| t.spec.arch() == Arch::X86_64).map(|t| (t.spec.clone(), t.flags.clone())).collect()
            }
            IsaSpec::None(f) => vec![(TargetSpec::parse("x86_64", &[]).unwrap(), f.clone())],
        };
        let funcs: Vec<_> = tf.functions.iter().map(|(f, _)| f.clone()).collect();
        if interp {
            let (mut flags, spec) = match &tf.isa_spec {
                IsaSpec::Targets(ts) => match ts.first() {
                    Some(t) => (t.flags.clone(), Some(t.spec.clone())),
                    None => (Default::default(), None),
                },
                IsaSpec::None(f) => (f.clone(), None),
            };
            if let Some(o) = &force_opt {
                flags.set_word(&format!("opt_level={o}")).unwrap();
            }
            let mut funcs = funcs.clone();
            if flags.opt() != OptLevel::None {
                let mut ctx = kiln_egraph::OptContext::new();
                for f in funcs.iter_mut() {
                    if let Err(e) = kiln_egraph::optimize(f, &mut ctx, &flags, spec.as_ref()) {
                        println!("{path}: OPT {}: {e}", f.name);
                        fail += 1;
                    }
                }
            }
            let mut it = Interpreter::new(&funcs, InterpConfig { flags: flags.clone(), ..InterpConfig::default() });
            for (i, (f, d)) in tf.functions.iter().enumerate() {
                for c in &d.comments {
                    let Ok(Some(cmd)) = parse_run_command(&c.text, &f.signature) else { continue };
                    let RunCommand::Run { invocation, comparison, expected } = cmd else { continue };
                    match it.call(i, &invocation.args) {
                        Ok(got) => {
                            if (got == expected) == (comparison == Comparison::Equals) {
                                pass += 1;
                            } else {
                                fail += 1;
                                println!("{path}:{}: FAIL {} got {:?}", c.location.line, c.text.trim(), got);
                            }
                        }
                        Err(InterpError::Unsupported(_)) => {}
                        Err(e) => {
                            fail += 1;
                            println!("{path}:{}: ERR {} {e}", c.location.line, c.text.trim());
                        }
                    }
                }
            }
            continue;
        }
        for (spec, mut flags) in targets {
            flags.set_word("regalloc_checker").unwrap();
            if let Some(o) = &force_opt {
                flags.set_word(&format!("opt_level={o}")).unwrap();
            }
            let host = kiln_isa::host_isa_flags().unwrap();
            if spec.isa_flags.enabled().any(|f| !host.has(f)) {
                println!("{path}: skipped (host lacks flags of {})", spec.isa_flags);
                continue;
            }
            let isa = kiln_isa::lookup(&spec, flags).unwrap();
            let mut runner = match JitRunner::new(&funcs, isa) {
                Ok(r) => r,
                Err(e) => {
                    let first = e.lines().next().unwrap_or("");
                    println!("{path} [{}]: COMPILE {first}", spec.isa_flags);
                    fail += 1;
                    continue;
                }
            };
            for (i, (f, d)) in tf.functions.iter().enumerate() {
                for c in &d.comments {
                    let Ok(Some(cmd)) = parse_run_command(&c.text, &f.signature) else { continue };
                    match cmd {
                        RunCommand::Run { invocation, comparison, expected } => {
                            match runner.call(i, &invocation.args) {
                                Ok(got) => {
                                    let eq = got == expected;
                                    if eq == (comparison == Comparison::Equals) {
                                        pass += 1;
                                    } else {
                                        fail += 1;
                                        println!("{path}:{}: FAIL {} got {:?}", c.location.line, c.text.trim(), got);
                                    }
                                }
                                Err(e) => {
                                    fail += 1;
                                    println!("{path}:{}: ERR {} {e}", c.location.line, c.text.trim());
                                }
                            }
                        }
                        RunCommand::Print(_) => {}
                    }
                }
            }
        }
    }
    println!("{pass} passed, {fail} failed");
}

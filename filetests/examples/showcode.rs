//! Development aid: per-function code sizes, or the VCode and disassembly (via objdump) of
//! one function. `showcode FILE [FUNCNAME] [OPT]`
use kiln_codegen::Context;
use kiln_ir::text::{IsaSpec, ParseOptions, parse_test};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let text = std::fs::read_to_string(&args[1]).unwrap();
    let tf = parse_test(&text, &ParseOptions::default()).unwrap();
    let (spec, mut flags) = match &tf.isa_spec {
        IsaSpec::Targets(ts) => (ts[0].spec.clone(), ts[0].flags.clone()),
        IsaSpec::None(f) => (kiln_ir::settings::TargetSpec::parse("x86_64", &[]).unwrap(), f.clone()),
    };
    if let Some(o) = args.get(3) {
        flags.set_word(&format!("opt_level={o}")).unwrap();
    }
    let isa = kiln_isa::lookup(&spec, flags).unwrap();
    let mut ctx = Context::new();
    ctx.want_vcode = true;
    for (f, _) in &tf.functions {
        let name = f.name.to_string();
        if let Some(want) = args.get(2)
            && *want != name
            && want != "-"
        {
            continue;
        }
        ctx.clear();
        ctx.func = f.clone();
        match ctx.compile(&*isa) {
            Ok(c) => {
                if args.get(2).is_some_and(|w| w != "-") {
                    println!("{}", f.display());
                    println!("{}", c.vcode.as_deref().unwrap_or(""));
                    std::fs::write("/tmp/code.bin", c.code()).unwrap();
                    let out = std::process::Command::new("objdump")
                        .args(["-D", "-b", "binary", "-mi386:x86-64", "/tmp/code.bin"])
                        .output()
                        .unwrap();
                    println!("{}", String::from_utf8_lossy(&out.stdout));
                } else {
                    println!("  {:36} {:6} {:8}", name, f.num_insts_in_layout(), c.buffer.bytes.len());
                }
            }
            Err(e) => println!("{name}: {e}"),
        }
    }
}

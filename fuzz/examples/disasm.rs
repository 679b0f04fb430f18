//! Development aid: compile every function of a CLIF file for the host and print the
//! post-regalloc VCode (`disasm FILE [setting…]`).
use kiln_codegen::Context;
use kiln_ir::settings::Flags;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: disasm FILE [setting...]");
        return;
    };
    let mut flags = Flags::default();
    for a in args {
        if let Err(e) = flags.set_word(&a) {
            eprintln!("{a}: {e}");
        }
    }
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let funcs = match kiln_ir::text::parse_functions(&text) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return;
        }
    };
    let Ok(isa) = kiln_isa::native(flags) else { return };
    for f in funcs {
        let name = f.name.to_string();
        let mut ctx = Context::for_function(f);
        ctx.want_vcode = true;
        match ctx.compile(&*isa) {
            Ok(code) => {
                println!("{name}:\n{}", code.vcode.clone().unwrap_or_default());
                let bin = format!("/tmp/disasm-{}.bin", name.trim_start_matches('%'));
                if std::fs::write(&bin, code.code()).is_ok() {
                    let out = std::process::Command::new("objdump")
                        .args(["-D", "-b", "binary", "-m", "i386:x86-64", &bin])
                        .output();
                    if let Ok(o) = out {
                        let t = String::from_utf8_lossy(&o.stdout);
                        for l in t.lines().skip_while(|l| !l.contains("<.data>")).skip(1) {
                            println!("{l}");
                        }
                    }
                }
            }
            Err(e) => println!("{name}: {e}"),
        }
    }
}

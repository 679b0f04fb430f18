//! Object files for x86-64, from real compiled functions: a small program (strings,
//! a writable counter in `.bss`, a read-only table of addresses, local, exported and
//! imported functions, a call through a function pointer) compiled by Kiln into ELF,
//! linked by `cc` and run; checked with `readelf`, `objdump` (whose disassembly must agree
//! with Kiln's own) and `llvm-dwarfdump --verify`; and the same module written as Mach-O
//! and COFF, checked with the LLVM tools (they cannot be linked here).

mod common;

use common::*;
use kiln_ir::settings::{Flags, TargetSpec};
use kiln_ir::text::{ParseOptions, parse_test};
use kiln_module::{DebugSource, Linkage, Module, ObjectModule};
use std::collections::HashMap;

/// The program. `main` prints the greeting, bumps `counter` by 5, calls `table[0]`
/// (`twice`) on it, prints `table[1]` (the greeting from its second byte) and returns
/// `twice(twice(counter))` = 20 as the exit code.
const PROGRAM: &str = r#"test compile
function %twice(i64) -> i64 system_v {
block0(v0: i64):
    v1 = iadd v0, v0
    return v1
}

function %main(i32, i64) -> i32 system_v {
    sig0 = (i64) -> i32 system_v
    sig1 = (i64) -> i64 system_v
    fn0 = %puts sig0
    fn1 = colocated %twice sig1
    gv0 = symbol colocated %greeting
    gv1 = symbol colocated %counter
    gv2 = symbol colocated %table
block0(v0: i32, v1: i64):
    v2 = symbol_value.i64 gv0
    v3 = call fn0(v2)
    v4 = symbol_value.i64 gv1
    v5 = load.i64 v4
    v6 = iconst.i64 5
    v7 = iadd v5, v6
    store v7, v4
    v8 = symbol_value.i64 gv2
    v9 = load.i64 v8
    v10 = load.i64 v4
    v11 = call_indirect sig1, v9(v10)
    v12 = load.i64 v8+8
    v13 = call fn0(v12)
    v14 = call fn1(v11)
    v15 = ireduce.i32 v14
    return v15
}
"#;

/// The functions of [`PROGRAM`], with source locations set to their lines.
fn functions() -> Vec<kiln_ir::Function> {
    let t = parse_test(PROGRAM, &ParseOptions::default()).expect("parse");
    t.functions
        .into_iter()
        .map(|(mut f, d)| {
            d.map.set_srclocs_to_lines(&mut f);
            f
        })
        .collect()
}

/// Build the program as an object file for `triple` with shared settings `flags`.
fn build(triple: &str, flags: &[&str]) -> (Vec<u8>, HashMap<String, String>) {
    let mut f = Flags::new();
    for w in flags {
        f.set_word(w).unwrap();
    }
    let spec = TargetSpec::parse(triple, &[]).unwrap();
    let isa = kiln_isa::lookup(&spec, f).unwrap();
    let mut m = ObjectModule::new(isa).unwrap();
    m.set_debug_source(DebugSource::new("program.clif"));
    let funcs = functions();
    let twice = m.declare_function("twice", Linkage::Local, &funcs[0].signature).unwrap();
    let main = m.declare_function("main", Linkage::Export, &funcs[1].signature).unwrap();
    m.declare_function("puts", Linkage::Import, &funcs[1].dfg.signatures[kiln_ir::SigRef::from_u32(0)]).unwrap();
    program_data(&mut m, twice);

    let mut disasm = HashMap::new();
    for (id, func) in [twice, main].into_iter().zip(funcs) {
        let name = func.name.to_string().trim_start_matches('%').to_string();
        let mut ctx = kiln_codegen::Context::for_function(func);
        ctx.want_disasm = true;
        let code = ctx.compile(m.isa()).unwrap().clone();
        disasm.insert(name, code.disasm.clone().expect("built with the disassembler"));
        m.define_compiled(id, code).unwrap();
    }
    (m.finish().unwrap().emit().unwrap(), disasm)
}

/// Every instruction objdump shows for `func` (offset in the function, mnemonic) must be
/// one Kiln's own disassembly shows at the same offset with the same mnemonic.
fn check_disassembly(objdump_out: &str, func: &str, kiln: &str) {
    let mut ours = HashMap::new();
    for l in kiln.lines() {
        if let Some((off, ins)) = l.split_once(':') {
            if let Ok(off) = u64::from_str_radix(off.trim(), 16) {
                let m = ins.split_whitespace().next().unwrap_or("").to_string();
                ours.insert(off, m);
            }
        }
    }
    // objdump: "<func>:" header, then "  off:\tmnemonic ops" lines up to a blank line.
    let mut start = None;
    let mut count = 0;
    for l in objdump_out.lines() {
        if l.ends_with(&format!("<{func}>:")) {
            start = u64::from_str_radix(l.split_whitespace().next().unwrap(), 16).ok();
            continue;
        }
        let Some(base) = start else { continue };
        if l.trim().is_empty() {
            break;
        }
        let Some((off, ins)) = l.split_once(':') else { continue };
        let Ok(off) = u64::from_str_radix(off.trim(), 16) else { continue };
        let off = off - base;
        let mnemonic = ins.split_whitespace().next().unwrap_or("");
        if mnemonic == "int3" && ours.keys().all(|&k| k < off) {
            // Padding up to the next function.
            continue;
        }
        let kiln_m = ours
            .get(&off)
            .unwrap_or_else(|| panic!("{func}+{off:#x}: objdump shows `{l}`, Kiln has no instruction there:\n{kiln}"));
        // objdump writes some mnemonics with a size suffix that capstone leaves out.
        let norm = |m: &str| m.trim_end_matches('q').to_string();
        assert!(
            norm(kiln_m) == norm(mnemonic) || (kiln_m.starts_with("nop") && mnemonic.starts_with("nop")),
            "{func}+{off:#x}: objdump `{mnemonic}`, Kiln `{kiln_m}`"
        );
        count += 1;
    }
    assert!(count > 0 && count == ours.len(), "{func}: objdump shows {count} instructions, Kiln {}", ours.len());
}

#[test]
fn x86_64_elf_links_and_runs() {
    let cc = tool(&["cc", "gcc"], "gcc");
    let dir = scratch("x64-elf");
    for (tag, flags, link) in [("nopic", &["is_pic=0"][..], &["-no-pie"][..]), ("pic", &["is_pic=1"][..], &[][..])] {
        let (bytes, disasm) = build("x86_64-unknown-linux-gnu", flags);
        let obj = dir.join(format!("prog-{tag}.o"));
        std::fs::write(&obj, &bytes).unwrap();

        // Symbols: binding and section as the linkage says.
        let syms = run("readelf", &["-sW", s(&obj)]);
        let sym = |name: &str| {
            syms.lines()
                .find(|l| l.split_whitespace().last() == Some(name))
                .unwrap_or_else(|| panic!("no symbol {name}:\n{syms}"))
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(sym("main").contains("FUNC GLOBAL DEFAULT"), "{}", sym("main"));
        assert!(sym("twice").contains("FUNC LOCAL"), "{}", sym("twice"));
        assert!(sym("counter").contains("OBJECT GLOBAL DEFAULT"), "{}", sym("counter"));
        assert!(sym("puts").contains("NOTYPE GLOBAL DEFAULT UND"), "{}", sym("puts"));
        let sections = run("readelf", &["-SW", s(&obj)]);
        for sec in [".text", ".rodata", ".data.rel.ro", ".bss", ".debug_info", ".debug_line", ".note.GNU-stack"] {
            assert!(sections.contains(&format!(" {sec} ")), "no section {sec}:\n{sections}");
        }

        // Kiln's disassembly and objdump's agree.
        let dump = run("objdump", &["-d", "--no-show-raw-insn", "-w", s(&obj)]);
        for f in ["twice", "main"] {
            check_disassembly(&dump, f, &disasm[f]);
        }

        dwarf_verify(&obj);
        let lines = run(&llvm_dwarfdump(), &["--debug-line", s(&obj)]);
        assert!(lines.contains("program.clif"), "{lines}");
        let info = run(&llvm_dwarfdump(), &["--debug-info", s(&obj)]);
        for f in ["twice", "main"] {
            assert!(info.contains(&format!("DW_AT_name\t(\"{f}\")")), "no subprogram {f}:\n{info}");
        }

        // Link and run.
        let exe = dir.join(format!("prog-{tag}"));
        let mut args: Vec<&str> = link.to_vec();
        args.extend([s(&obj), "-o", s(&exe)]);
        run(&cc, &args);
        let (code, out, err) = run_status(s(&exe), &[]);
        assert_eq!((code, out.as_str()), (20, "Hello from Kiln\nello from Kiln\n"), "{tag}: stderr: {err}");

        // The line table survives linking: the first call to puts is on line 18 of the source.
        let lines = run(&llvm_dwarfdump(), &["--debug-line", s(&exe)]);
        assert!(lines.lines().any(|l| l.split_whitespace().nth(1) == Some("18")), "{lines}");
    }
}

#[test]
fn x86_64_macho_and_coff_are_well_formed() {
    let dir = scratch("x64-macho-coff");
    let objdump = llvm_objdump();
    for (triple, tag, format) in [
        ("x86_64-apple-darwin", "macho", "mach-o 64-bit x86-64"),
        ("x86_64-pc-windows-msvc", "coff", "coff-x86-64"),
    ] {
        let (bytes, _) = build(triple, &["is_pic=0"]);
        let obj = dir.join(format!("prog.{tag}.o"));
        std::fs::write(&obj, &bytes).unwrap();
        let dump = run(&objdump, &["-dr", s(&obj)]);
        assert!(dump.to_lowercase().contains(format), "{triple}: {dump}");
        // The call to `puts` and the address of `twice` in the table are relocated against
        // the right symbols (Mach-O prefixes C names with `_`).
        let puts = if tag == "macho" { "_puts" } else { "puts" };
        assert!(dump.contains(puts), "{triple}: no relocation to {puts}:\n{dump}");
        let syms = run(&objdump, &["-t", s(&obj)]);
        for name in ["main", "counter", "twice", "greeting", "table"] {
            let name = if tag == "macho" { format!("_{name}") } else { name.to_string() };
            assert!(syms.lines().any(|l| l.ends_with(&format!(" {name}"))), "{triple}: no symbol {name}:\n{syms}");
        }
        let relocs = run(&objdump, &["-r", s(&obj)]);
        let want: &[&str] = if tag == "macho" {
            &["X86_64_RELOC_UNSIGNED", "X86_64_RELOC_SIGNED"]
        } else {
            &["IMAGE_REL_AMD64_ADDR64", "IMAGE_REL_AMD64_REL32"]
        };
        for w in want {
            assert!(relocs.contains(w), "{triple}: no {w}:\n{relocs}");
        }
        dwarf_verify(&obj);
        let info = run(&llvm_dwarfdump(), &["--debug-info", s(&obj)]);
        assert!(info.contains("DW_AT_name\t(\"main\")"), "{triple}: {info}");
    }
}

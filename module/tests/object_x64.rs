//! Object files for x86-64, from real compiled functions: a small program (strings,
//! a writable counter in `.bss`, a read-only table of addresses, local, exported and
//! imported functions, a call through a function pointer) compiled by Kiln into ELF,
//! linked by `cc` and run; checked with `readelf`, `objdump` (whose disassembly must agree
//! with Kiln's own) and `llvm-dwarfdump --verify`; and the same module written as Mach-O
//! and COFF, checked with the LLVM tools (they cannot be linked here).

mod common;
mod program;

use common::*;
use program::build;
use std::collections::HashMap;

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
        // objdump and capstone disagree on when to write an AT&T size suffix (`mov` vs
        // `movl` for a store to memory, `call` vs `callq`): a mnemonic matches the other
        // with or without one.
        let suffixed = |a: &str, b: &str| a.strip_suffix(['b', 'w', 'l', 'q']) == Some(b);
        assert!(
            kiln_m == mnemonic
                || suffixed(kiln_m, mnemonic)
                || suffixed(mnemonic, kiln_m)
                || (kiln_m.starts_with("nop") && mnemonic.starts_with("nop")),
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
        let (bytes, disasm) = build("x86_64-unknown-linux-gnu", flags).unwrap();
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
        for sec in
            [".text", ".rodata", ".data.rel.ro", ".bss", ".eh_frame", ".debug_info", ".debug_line", ".note.GNU-stack"]
        {
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
    for (triple, tag, format) in
        [("x86_64-apple-darwin", "macho", "mach-o 64-bit x86-64"), ("x86_64-pc-windows-msvc", "coff", "coff-x86-64")]
    {
        let (bytes, _) = build(triple, &["is_pic=0"]).unwrap();
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

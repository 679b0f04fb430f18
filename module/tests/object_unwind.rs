//! Unwind tables in object files, checked by the tools and unwinders that read them.
//!
//! - ELF `.eh_frame` (x86-64): three Kiln functions (`level1` → `level2` → `level3` → a
//!   C++ `host`) in an object linked by `g++`; in `host`, libgcc's `_Unwind_Backtrace`
//!   must walk through the three Kiln frames to `main`, and a C++ exception thrown there
//!   must unwind through them to a `catch` in `main`. `readelf --debug-dump=frames` must
//!   read one FDE per function without a warning.
//! - Mach-O `__eh_frame` (x86-64, aarch64 is checked the day it compiles): `llvm-dwarfdump
//!   --eh-frame` reads one FDE per function.
//! - COFF `.pdata`/`.xdata` (x86-64): `windows_fastcall` functions that save integer and
//!   vector callee-saves or allocate a large frame; `llvm-readobj --unwind` must show a
//!   `RUNTIME_FUNCTION` for each (none for a frameless leaf) whose unwind codes sit just
//!   after the prologue instructions they describe in Kiln's own disassembly, with the same
//!   registers, sizes and offsets.

mod common;
mod levels;

use common::*;
use kiln_ir::settings::{Flags, TargetSpec};
use kiln_ir::text::{ParseOptions, parse_test};
use kiln_module::{DebugSource, Linkage, Module, ObjectModule};
use std::collections::HashMap;

/// The three levels of `levels::LEVELS` as an object file for `triple` (exported, so that
/// `dladdr` names them), with Kiln's disassembly of each.
fn levels_object(triple: &str, flags: &[&str]) -> (Vec<u8>, HashMap<String, String>) {
    let mut f = Flags::new();
    for w in flags {
        f.set_word(w).unwrap();
    }
    let isa = kiln_isa::lookup(&TargetSpec::parse(triple, &[]).unwrap(), f).unwrap();
    let mut m = ObjectModule::new(isa).unwrap();
    m.set_debug_source(DebugSource::new("levels.clif"));
    let disasm = define_exported(&mut m, levels::LEVELS);
    (m.finish().unwrap().emit().unwrap(), disasm)
}

/// Compile every function of `clif` into `m` as an exported symbol of its name (source
/// locations: its lines); returns Kiln's disassembly of each.
fn define_exported(m: &mut ObjectModule, clif: &str) -> HashMap<String, String> {
    let file = parse_test(clif, &ParseOptions::default()).unwrap();
    let mut disasm = HashMap::new();
    for (mut func, d) in file.functions {
        d.map.set_srclocs_to_lines(&mut func);
        let name = func.name.to_string().trim_start_matches('%').to_string();
        let id = m.declare_function(name.as_str(), Linkage::Export, &func.signature).unwrap();
        let mut ctx = kiln_codegen::Context::for_function(func);
        ctx.want_disasm = true;
        let code = ctx.compile(m.isa()).unwrap().clone();
        disasm.insert(name, code.disasm.clone().unwrap_or_default());
        m.define_compiled(id, code).unwrap();
    }
    disasm
}

const HOST: &str = r#"
#include <unwind.h>
#include <dlfcn.h>
#include <cstdint>
#include <cstdio>
#include <stdexcept>

extern "C" long level1(long);

static _Unwind_Reason_Code step(struct _Unwind_Context* ctx, void*) {
    Dl_info info;
    uintptr_t ip = _Unwind_GetIP(ctx);
    if (dladdr((void*)(ip - 1), &info) && info.dli_sname) std::printf("frame %s\n", info.dli_sname);
    else std::printf("frame ?\n");
    return _URC_NO_REASON;
}

extern "C" long host(long x) {
    if (x < 0) throw std::runtime_error("host refused");
    _Unwind_Backtrace(step, nullptr);
    return x;
}

int main() {
    std::printf("level1(4) = %ld\n", level1(4));
    try {
        level1(-7);
        std::puts("no exception");
    } catch (const std::exception& e) {
        std::printf("caught: %s\n", e.what());
    }
    return 0;
}
"#;

#[test]
fn elf_eh_frame_lets_libgcc_and_cpp_exceptions_walk_through_kiln_code() {
    let gxx = tool(&["g++", "c++"], "g++");
    let dir = scratch("unwind-elf");
    let (bytes, _) = levels_object("x86_64-unknown-linux-gnu", &["is_pic=1"]);
    let obj = dir.join("levels.o");
    std::fs::write(&obj, &bytes).unwrap();

    // The tables read cleanly: one CIE and one FDE per function.
    let (code, frames, err) = run_status("readelf", &["--debug-dump=frames", s(&obj)]);
    assert_eq!((code, err.as_str()), (0, ""), "readelf --debug-dump=frames:\n{frames}");
    assert_eq!(frames.matches(" CIE").count(), 1, "{frames}");
    assert_eq!(frames.matches(" FDE ").count(), 3, "{frames}");
    // The body's CFA is %rbp-based, as the prologue sets it.
    assert!(frames.contains("DW_CFA_def_cfa: r6 (rbp) ofs 16"), "{frames}");
    let relocs = run("readelf", &["-rW", s(&obj)]);
    assert!(relocs.contains(".rela.eh_frame") && relocs.contains("R_X86_64_PC32"), "{relocs}");
    dwarf_verify(&obj);

    let src = dir.join("host.cpp");
    std::fs::write(&src, HOST).unwrap();
    let exe = dir.join("levels");
    run(&gxx, &["-rdynamic", "-O1", s(&src), s(&obj), "-o", s(&exe)]);
    let (code, out, err) = run_status(s(&exe), &[]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let frames: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("frame ")).collect();
    let at = frames.iter().position(|&f| f == "level3").unwrap_or_else(|| panic!("no Kiln frame:\n{out}"));
    assert_eq!(frames[at - 1], "host", "{out}");
    assert_eq!(&frames[at..at + 4], ["level3", "level2", "level1", "main"], "{out}");
    assert!(out.contains("level1(4) = 9\n"), "{out}");
    assert!(out.contains("caught: host refused\n"), "{out}");
    assert!(!out.contains("no exception"), "{out}");
}

#[test]
fn macho_eh_frame_is_well_formed() {
    let dir = scratch("unwind-macho");
    let (bytes, _) = levels_object("x86_64-apple-darwin", &["is_pic=1"]);
    let obj = dir.join("levels.o");
    std::fs::write(&obj, &bytes).unwrap();
    let (code, out, err) = run_status(&llvm_dwarfdump(), &["--eh-frame", s(&obj)]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert_eq!(out.matches(" CIE").count(), 1, "{out}");
    assert_eq!(out.matches(" FDE ").count(), 3, "{out}");
    assert!(out.contains("DW_CFA_def_cfa: RBP +16"), "{out}");
    dwarf_verify(&obj);
}

/// Windows x64 functions: integer and vector callee-saves in use across calls, all ten
/// vector callee-saves, a frame too large for the 16-bit allocation code, and a leaf
/// without a frame.
const FASTCALL: &str = "test compile
function %win(i64, i64, f64) -> f64 windows_fastcall {
    sig0 = (i64) -> i64 windows_fastcall
    sig1 = (f64) -> f64 windows_fastcall
    fn0 = %ext sig0
    fn1 = %extf sig1
block0(v0: i64, v1: i64, v2: f64):
    v3 = call fn0(v0)
    v4 = call fn0(v1)
    v5 = call fn1(v2)
    v6 = iadd v3, v4
    v7 = iadd v6, v0
    v8 = iadd v7, v1
    v9 = fcvt_from_sint.f64 v8
    v10 = fadd v9, v5
    v11 = fadd v10, v2
    return v11
}

function %xmms(f64) -> f64 windows_fastcall {
    sig0 = (f64) -> f64 windows_fastcall
    fn0 = %extf sig0
block0(v0: f64):
    v1 = fadd v0, v0
    v2 = fadd v1, v0
    v3 = fadd v2, v0
    v4 = fadd v3, v0
    v5 = fadd v4, v0
    v6 = fadd v5, v0
    v7 = fadd v6, v0
    v8 = fadd v7, v0
    v9 = fadd v8, v0
    v10 = fadd v9, v0
    v11 = call fn0(v0)
    v12 = fadd v11, v1
    v13 = fadd v12, v2
    v14 = fadd v13, v3
    v15 = fadd v14, v4
    v16 = fadd v15, v5
    v17 = fadd v16, v6
    v18 = fadd v17, v7
    v19 = fadd v18, v8
    v20 = fadd v19, v9
    v21 = fadd v20, v10
    return v21
}

function %big(i64) -> i64 windows_fastcall {
    ss0 = explicit_slot 600000
    sig0 = (i64) -> i64 windows_fastcall
    fn0 = %ext sig0
block0(v0: i64):
    v1 = stack_addr.i64 ss0+599992
    store v0, v1
    v2 = call fn0(v1)
    v3 = load.i64 v1
    v4 = iadd v2, v3
    return v4
}

function %leaf(i64) -> i64 windows_fastcall {
block0(v0: i64):
    v1 = iadd v0, v0
    return v1
}
";

/// `0x1b` or `1b` as a number.
fn hex_num(t: &str) -> Option<u64> {
    u64::from_str_radix(t.trim().trim_start_matches("0x").trim_start_matches('$'), 16).ok()
}

#[test]
fn coff_pdata_and_xdata_describe_windows_fastcall_prologues() {
    let dir = scratch("unwind-coff");
    let isa = kiln_isa::lookup(&TargetSpec::parse("x86_64-pc-windows-msvc", &[]).unwrap(), Flags::new()).unwrap();
    let mut m = ObjectModule::new(isa).unwrap();
    let disasm = define_exported(&mut m, FASTCALL);
    let obj = dir.join("win.obj");
    std::fs::write(&obj, m.finish().unwrap().emit().unwrap()).unwrap();
    let out = run(&llvm_readobj(), &["--unwind", s(&obj)]);
    // A RUNTIME_FUNCTION for each function with a frame: the leaf needs none.
    assert_eq!(out.matches("RuntimeFunction {").count(), 3, "{out}");
    assert!(!out.contains("StartAddress: leaf"), "{out}");

    // Every unwind code sits just after the prologue instruction it describes, with its
    // size or offset: `0x1B: SAVE_XMM128 reg=XMM15, offset=0x30` after
    // `movdqu %xmm15, 0x30(%rsp)`, `0x09: ALLOC_SMALL size=64` after `subq $0x40, %rsp`.
    let mut func = "";
    let mut insts: Vec<(u64, &str)> = Vec::new();
    let mut seen: HashMap<&str, Vec<&str>> = HashMap::new();
    for l in out.lines() {
        let l = l.trim();
        if let Some(name) = l.strip_prefix("StartAddress: ") {
            func = name.split_whitespace().next().unwrap();
            insts = disasm[func]
                .lines()
                .filter_map(|l| {
                    let (off, text) = l.split_once(':')?;
                    Some((hex_num(off)?, text.trim()))
                })
                .collect();
            continue;
        }
        let Some((at, code)) = l.split_once(": ") else { continue };
        let Some(at) = at.strip_prefix("0x").and_then(hex_num) else { continue };
        let k = insts
            .iter()
            .position(|&(o, _)| o == at)
            .unwrap_or_else(|| panic!("{func}: no instruction ends at {at:#x}"));
        let inst = insts[k - 1].1;
        let field = |key: &str| -> u64 {
            let v = code.split(key).nth(1).unwrap_or_else(|| panic!("{code}")).split([',', ' ']).next().unwrap();
            if key == "size=" { v.parse().unwrap() } else { hex_num(v).unwrap() }
        };
        let reg = code.split("reg=").nth(1).map(|r| r.split(',').next().unwrap().to_lowercase());
        let ok = match code.split_whitespace().next().unwrap() {
            "PUSH_NONVOL" => inst == format!("pushq %{}", reg.unwrap()),
            "ALLOC_SMALL" | "ALLOC_LARGE" => inst == format!("subq ${:#x}, %rsp", field("size=")),
            "SAVE_XMM128" | "SAVE_XMM128_FAR" => {
                inst == format!("movdqu %{}, {:#x}(%rsp)", reg.unwrap(), field("offset="))
            }
            "SAVE_NONVOL" | "SAVE_NONVOL_FAR" => {
                inst == format!("movq %{}, {:#x}(%rsp)", reg.unwrap(), field("offset="))
            }
            _ => false,
        };
        assert!(ok, "{func}: `{code}` at {at:#x} after `{inst}`:\n{}", disasm[func]);
        seen.entry(func).or_default().push(code.split_whitespace().next().unwrap());
    }
    let has = |f: &str, code: &str| seen.get(f).is_some_and(|c| c.contains(&code));
    assert!(has("win", "PUSH_NONVOL") && has("win", "ALLOC_SMALL") && has("win", "SAVE_XMM128"), "{out}");
    assert!(seen["xmms"].iter().filter(|c| c.starts_with("SAVE_XMM128")).count() == 10, "{out}");
    assert!(has("big", "ALLOC_LARGE"), "{out}");
    assert!(out.contains("ALLOC_LARGE size=6000"), "{out}");
}

//! The test program of the object-file tests, in CLIF, and building it into an object file
//! for a target with Kiln's real compiler.

#![allow(dead_code)]

use crate::common::program_data;
use kiln_ir::settings::{Flags, TargetSpec};
use kiln_ir::text::{ParseOptions, parse_test};
use kiln_module::{DebugSource, Linkage, Module, ObjectModule};
use std::collections::HashMap;

/// The program. `main` prints the greeting, bumps `counter` by 5, calls `table[0]`
/// (`twice`) on it, prints `table[1]` (the greeting from its second byte) and returns
/// `twice(twice(counter))` = 20 as the exit code.
pub const PROGRAM: &str = r#"test compile
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
pub fn functions() -> Vec<kiln_ir::Function> {
    let t = parse_test(PROGRAM, &ParseOptions::default()).expect("parse");
    t.functions
        .into_iter()
        .map(|(mut f, d)| {
            d.map.set_srclocs_to_lines(&mut f);
            f
        })
        .collect()
}

/// Build the program as an object file for `triple` with shared settings `flags`; also
/// returns Kiln's disassembly of each function (empty where the build has no disassembler
/// for the target). `Err` if Kiln has no backend for the target.
pub fn build(triple: &str, flags: &[&str]) -> Result<(Vec<u8>, HashMap<String, String>), String> {
    let mut f = Flags::new();
    for w in flags {
        f.set_word(w).unwrap();
    }
    let spec = TargetSpec::parse(triple, &[]).unwrap();
    let isa = kiln_isa::lookup(&spec, f).map_err(|e| e.to_string())?;
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
        disasm.insert(name, code.disasm.clone().unwrap_or_default());
        m.define_compiled(id, code).unwrap();
    }
    Ok((m.finish().unwrap().emit().unwrap(), disasm))
}

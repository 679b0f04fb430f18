//! `Context::want_disasm`: the compiled code's disassembly (kiln-isa's `disas` feature, on
//! in this crate) is in `CompiledCode::disasm`, with jump tables shown as data; without the
//! request the field stays empty.

use kiln_codegen::Context;
use kiln_ir::settings::{Flags, TargetSpec};
use kiln_ir::text::parse_functions;

const TEXT: &str = "
function %f(i32, i64) -> i64 {
block0(v0: i32, v1: i64):
    br_table v0, block1, [block2, block3, block2]

block1:
    return v1

block2:
    v2 = iconst.i64 1
    v4 = iadd v1, v2
    return v4

block3:
    v3 = imul v1, v1
    return v3
}
";

#[test]
fn compiled_code_carries_its_disassembly_on_request() {
    let func = parse_functions(TEXT).expect("parse").remove(0);
    let spec = TargetSpec::parse("x86_64", &[]).expect("target");
    let isa = kiln_isa::lookup(&spec, Flags::new()).expect("isa");
    let mut ctx = Context::new();
    ctx.func = func.clone();
    assert!(ctx.compile(&*isa).expect("compile").disasm.is_none());

    ctx.clear();
    ctx.func = func;
    ctx.want_disasm = true;
    let code = ctx.compile(&*isa).expect("compile");
    let text = code.disasm.as_deref().expect("disassembly");
    assert!(text.lines().next().is_some_and(|l| l.trim_start().starts_with("0:")), "{text}");
    assert!(text.contains("retq"), "{text}");
    // The three jump-table entries are data, not decoded as instructions.
    assert_eq!(text.matches(".long").count(), 3, "{text}");
}

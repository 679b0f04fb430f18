//! The backend returns errors, not panics, on invalid IR compiled with the verifier off
//! (issue 17: regalloc2 used to panic in `ion/moves.rs` and `ion/process.rs`, and the
//! lowering in `ValueRegs::reg`): generated functions broken by random edits, and the
//! shapes that crashed, each compile to an error.

use kiln_codegen::Context;
use kiln_fuzz::mutate::compile_broken;
use kiln_ir::settings::Flags;
use kiln_ir::text::parse_functions;

#[test]
fn broken_functions_compile_to_errors() {
    // Seed 1 holds the three panics of the issue among its first 3000 cases.
    let r = compile_broken(1, 0, 3000, false);
    assert!(r.rejected > 1000, "{r:?}");
    assert!(r.panics.is_empty(), "{}", r.panics.join("\n\n"));
}

/// The three crashes, reduced: an f128 returned where an i8 is (a float register fixed to
/// rax), a branch passing three arguments to a block of six, and a `select` of an i64 and
/// an i128 (the high half of a one-register value).
#[test]
fn the_crashes_of_the_issue_are_errors() {
    let cases = [
        "function %ret() -> i8, f16 tail {\nblock0:\n    v2 = f128const 0x1.0p-1\n    v4 = f16const -0x1.280p8\n    return v2, v4\n}",
        "function %args(i8) -> i32 {\nblock0(v0: i8):\n    v1 = iconst.i32 1\n    brif v0, block1(v1, v1, v1, v1, v1, v1), block1(v1, v1, v1)\nblock1(v2: i32, v3: i32, v4: i32, v5: i32, v6: i32, v7: i32):\n    return v2\n}",
        "function %sel(i8, i64, i128) -> i128 {\nblock0(v0: i8, v1: i64, v2: i128):\n    v3 = select v0, v2, v1\n    return v3\n}",
    ];
    let mut flags = Flags::default();
    flags.set_word("enable_verifier=false").unwrap();
    for opt in ["none", "speed"] {
        let mut f = flags.clone();
        f.set_word(&format!("opt_level={opt}")).unwrap();
        let Ok(isa) = kiln_isa::native(f) else { return };
        for text in cases {
            let func = parse_functions(text).unwrap_or_else(|e| panic!("{e}\n{text}")).remove(0);
            let mut ctx = Context::for_function(func);
            let r = ctx.compile(&*isa).map(|_| ());
            assert!(r.is_err(), "{opt}: compiled:\n{text}");
        }
    }
}

//! Compiling a module's functions on several threads gives exactly the code (and the
//! errors) of compiling them one by one: `kiln_codegen::compile_functions` over the
//! benchmark corpus (the kernels and the first 400 SQLite functions) and the sample
//! runtests, at both optimization levels, with 1, 2 and 5 threads.

mod common;

use kiln_codegen::{CompiledCode, compile_functions};
use kiln_ir::Function;
use kiln_ir::text::{IsaSpec, ParseOptions, parse_test};

fn outcome(r: &kiln_codegen::CodegenResult<CompiledCode>) -> Result<Vec<u8>, String> {
    r.as_ref().map(|c| c.code().to_vec()).map_err(|e| e.to_string())
}

fn check(funcs: Vec<Function>, spec: &kiln_ir::settings::TargetSpec, flags: &kiln_ir::settings::Flags) -> usize {
    let mut ok = 0;
    for opt in ["none", "speed"] {
        let mut flags = flags.clone();
        flags.set_word(&format!("opt_level={opt}")).unwrap();
        let isa = kiln_isa::lookup(spec, flags).expect("isa");
        let one: Vec<_> = compile_functions(&*isa, funcs.clone(), 1).iter().map(outcome).collect();
        for threads in [2, 5] {
            let many: Vec<_> = compile_functions(&*isa, funcs.clone(), threads).iter().map(outcome).collect();
            assert_eq!(one.len(), many.len());
            for (i, (a, b)) in one.iter().zip(&many).enumerate() {
                assert_eq!(
                    a, b,
                    "function {} ({}) differs at opt_level={opt} with {threads} threads",
                    i, funcs[i].name
                );
            }
        }
        ok += one.iter().filter(|r| r.is_ok()).count();
    }
    ok
}

fn functions_of(
    path: &std::path::Path,
    limit: usize,
) -> Option<(Vec<Function>, kiln_ir::settings::TargetSpec, kiln_ir::settings::Flags)> {
    let text = std::fs::read_to_string(path).ok()?;
    let tf = parse_test(&text, &ParseOptions::default()).ok()?;
    let IsaSpec::Targets(ts) = &tf.isa_spec else { return None };
    // x86-64 first (where SIMD is still unsupported, which `errors_come_back_in_place`
    // relies on), else the first target with a backend.
    let t = ts
        .iter()
        .find(|t| t.spec.arch() == kiln_ir::settings::Arch::X86_64)
        .or_else(|| ts.iter().find(|t| kiln_isa::has_backend(t.spec.arch())))?;
    let funcs = tf.functions.into_iter().map(|(f, _)| f).take(limit).collect();
    Some((funcs, t.spec.clone(), t.flags.clone()))
}

#[test]
fn parallel_compilation_matches_sequential() {
    let Some(shared) = common::shared_dir() else { return };
    let mut files: Vec<_> =
        std::fs::read_dir(shared.join("bench/clif/kernels")).expect("kernels").map(|e| e.unwrap().path()).collect();
    files.sort();
    files.push(shared.join("bench/clif/sqlite.clif"));
    let mut compiled = 0;
    for path in &files {
        let (funcs, spec, flags) = functions_of(path, 400).unwrap_or_else(|| panic!("{}", path.display()));
        compiled += check(funcs, &spec, &flags);
    }
    assert!(compiled > 800, "only {compiled} functions compiled");
}

#[test]
fn errors_come_back_in_place() {
    let Some(samples) = common::samples_dir() else { return };
    // Functions that are unsupported (256-bit vectors) mixed with functions that compile.
    let text = "function %v(i64x4) -> i64x4 {\nblock0(v0: i64x4):\n    v1 = iadd v0, v0\n    return v1\n}\n\
                function %w(i32x8) -> i32x8 {\nblock0(v0: i32x8):\n    v1 = isub v0, v0\n    return v1\n}\n";
    let funcs: Vec<Function> = kiln_ir::text::parse_functions(text).expect("vector functions");
    let (scalar, spec, flags) =
        functions_of(&samples.join("i128-arithmetic.clif"), usize::MAX).expect("i128-arithmetic.clif");
    let mut all = funcs.clone();
    for (i, f) in scalar.into_iter().enumerate() {
        all.insert((2 * i).min(all.len()), f);
    }
    let n = all.len();
    let ok = check(all, &spec, &flags);
    assert!(n > funcs.len());
    // Both kinds are present: some compile, some are unsupported.
    assert!(ok > 0 && ok < 2 * n, "{ok} of {n} functions compiled at the two levels");
}

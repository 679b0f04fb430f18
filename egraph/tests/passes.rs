//! Behaviour of each pass on small functions: the optimized text has (or lacks) the expected
//! instructions, the verifier accepts it, and the interpreter computes the same results
//! before and after on a set of inputs.

use kiln_egraph::{OptContext, optimize};
use kiln_ir::Function;
use kiln_ir::data_value::DataValue;
use kiln_ir::interp::{InterpConfig, Interpreter};
use kiln_ir::settings::Flags;
use kiln_ir::text::parse_functions;

fn optimized(text: &str) -> (Vec<Function>, Vec<Function>) {
    let funcs = parse_functions(text).expect("parse");
    let mut ctx = OptContext::new();
    ctx.options.verify = Some(true);
    let flags = Flags::new();
    let mut out = funcs.clone();
    for f in out.iter_mut() {
        optimize(f, &mut ctx, &flags, None).unwrap_or_else(|e| panic!("{e}\n{}", f.display()));
    }
    (funcs, out)
}

/// Optimize, check that the result of the (single) function contains every `want` line
/// fragment and none of `avoid`, and that it computes the same as before on `inputs`.
fn check(text: &str, want: &[&str], avoid: &[&str], inputs: &[&[DataValue]]) -> String {
    let (before, after) = optimized(text);
    let printed = after[0].display().to_string();
    for w in want {
        assert!(printed.contains(w), "expected `{w}` in:\n{printed}");
    }
    for a in avoid {
        assert!(!printed.contains(a), "did not expect `{a}` in:\n{printed}");
    }
    let mut ib = Interpreter::new(&before, InterpConfig::default());
    let mut ia = Interpreter::new(&after, InterpConfig::default());
    for args in inputs {
        assert_eq!(ib.call(0, args), ia.call(0, args), "inputs {args:?}\n{printed}");
    }
    printed
}

fn i32s(v: &[i32]) -> Vec<DataValue> {
    v.iter().map(|&x| DataValue::I32(x)).collect()
}

#[test]
fn gvn_merges_equal_expressions() {
    let out = check(
        "function %f(i32, i32) -> i32 {
         block0(v0: i32, v1: i32):
             v2 = iadd v0, v1
             v3 = iadd v1, v0
             v4 = imul v2, v3
             return v4
         }",
        &["imul v2, v2"],
        &["v3 = iadd"],
        &[&i32s(&[3, 4]), &i32s(&[-7, 9])],
    );
    assert_eq!(out.matches("iadd").count(), 1, "{out}");
}

#[test]
fn constants_fold_and_identities_apply() {
    check(
        "function %f(i32) -> i32 {
         block0(v0: i32):
             v1 = iconst.i32 6
             v2 = iconst.i32 7
             v3 = imul v1, v2
             v4 = iadd v0, v3
             v5 = iconst.i32 0
             v6 = iadd v4, v5
             v7 = isub v6, v3
             return v7
         }",
        &["return v0"],
        &["imul", "isub"],
        &[&i32s(&[0]), &i32s(&[i32::MIN])],
    );
}

#[test]
fn division_by_constants_is_strength_reduced() {
    let inputs: Vec<Vec<DataValue>> =
        [0, 1, 6, 7, 8, -1, -7, -8, 1000, i32::MIN, i32::MAX].iter().map(|&x| i32s(&[x])).collect();
    let refs: Vec<&[DataValue]> = inputs.iter().map(|v| v.as_slice()).collect();
    check(
        "function %f(i32) -> i32 {
         block0(v0: i32):
             v1 = iconst.i32 7
             v2 = udiv v0, v1
             v3 = iconst.i32 8
             v4 = sdiv v0, v3
             v5 = iconst.i32 -3
             v6 = srem v0, v5
             v7 = iadd v2, v4
             v8 = iadd v7, v6
             return v8
         }",
        &["umulhi", "smulhi", "sshr"],
        &["udiv", "sdiv", "srem"],
        &refs,
    );
}

#[test]
fn division_by_a_variable_is_never_hoisted_or_removed() {
    // The division sits on a conditional path inside a loop; it may trap, so it stays there.
    let out = check(
        "function %f(i32, i32, i32) -> i32 {
         block0(v0: i32, v1: i32, v2: i32):
             v3 = iconst.i32 0
             jump block1(v3, v3)
         block1(v4: i32, v5: i32):
             v6 = icmp slt v4, v0
             brif v6, block2, block4
         block2:
             brif v2, block3, block5(v5)
         block3:
             v7 = udiv v0, v1
             v8 = iadd v5, v7
             jump block5(v8)
         block5(v9: i32):
             v10 = iconst.i32 1
             v11 = iadd v4, v10
             jump block1(v11, v9)
         block4:
             return v5
         }",
        &["udiv"],
        &[],
        &[&i32s(&[3, 2, 1]), &i32s(&[3, 0, 0]), &i32s(&[0, 0, 1])],
    );
    let b3 = out.find("block3:").expect("block3 kept");
    let udiv = out.find("udiv").expect("udiv kept");
    let b5 = out.find("block5(v9").expect("block5");
    assert!(b3 < udiv && udiv < b5, "udiv left block3:\n{out}");
}

#[test]
fn loop_invariant_code_is_hoisted() {
    let out = check(
        "function %f(i32, i32) -> i32 {
         block0(v0: i32, v1: i32):
             v2 = iconst.i32 0
             jump block1(v2, v2)
         block1(v3: i32, v4: i32):
             v5 = imul v0, v1
             v6 = iadd v4, v5
             v7 = iconst.i32 1
             v8 = iadd v3, v7
             v9 = icmp ult v8, v1
             brif v9, block1(v8, v6), block2
         block2:
             return v6
         }",
        &["imul"],
        &[],
        &[&i32s(&[3, 5]), &i32s(&[-2, 1])],
    );
    let imul = out.find("imul").unwrap();
    let header = out.find("block1(").unwrap();
    assert!(imul < header, "imul not hoisted to the preheader:\n{out}");
}

#[test]
fn constants_are_rematerialized_per_block() {
    let out = check(
        "function %f(i32, i32) -> i32 {
         block0(v0: i32, v1: i32):
             v2 = iconst.i32 1000
             brif v1, block1, block2
         block1:
             v3 = iadd v0, v2
             return v3
         block2:
             v4 = imul v0, v2
             return v4
         }",
        &[],
        &[],
        &[&i32s(&[3, 0]), &i32s(&[3, 1])],
    );
    assert_eq!(out.matches("iconst.i32 1000").count(), 2, "{out}");
}

const MEMORY_PREAMBLE: &str = "
    region0 = 1 \"a\"
    region1 = 2 \"b\"
    ss0 = explicit_slot 16";

fn mem_func(body: &str) -> String {
    format!(
        "function %f(i32) -> i32 {{{MEMORY_PREAMBLE}
         block0(v0: i32):
             v1 = stack_addr.i64 ss0
             {body}
         }}"
    )
}

#[test]
fn redundant_loads_are_removed() {
    let out = check(
        &mem_func(
            "store notrap aligned v0, v1
             v2 = load.i32 notrap aligned v1+4
             v3 = load.i32 notrap aligned v1+4
             v4 = iadd v2, v3
             return v4",
        ),
        &[],
        &[],
        &[&i32s(&[5])],
    );
    assert_eq!(out.matches("load.i32").count(), 1, "{out}");
}

#[test]
fn stores_forward_to_loads() {
    check(
        &mem_func(
            "store notrap aligned v0, v1+8
             v2 = load.i32 notrap aligned v1+8
             return v2",
        ),
        &["return v0"],
        &["load"],
        &[&i32s(&[5])],
    );
}

#[test]
fn a_store_to_another_region_does_not_clobber() {
    let out = check(
        &mem_func(
            "store notrap aligned region0 v0, v1
             v2 = load.i32 notrap aligned region0 v1
             store notrap aligned region1 v2, v1+4
             v3 = load.i32 notrap aligned region0 v1
             v4 = iadd v2, v3
             return v4",
        ),
        &["iadd v0, v0"],
        &["load"],
        &[&i32s(&[5])],
    );
    assert!(!out.contains("load"), "{out}");
}

#[test]
fn a_store_without_region_clobbers_every_region() {
    let out = check(
        &mem_func(
            "store notrap aligned region0 v0, v1
             v2 = load.i32 notrap aligned region0 v1+4
             store notrap aligned v0, v1+8
             v3 = load.i32 notrap aligned region0 v1+4
             v4 = iadd v2, v3
             return v4",
        ),
        &[],
        &[],
        &[&i32s(&[5])],
    );
    assert_eq!(out.matches("load.i32").count(), 2, "{out}");
}

#[test]
fn calls_clobber_memory_but_not_readonly_loads() {
    let (_, after) = optimized(
        "function %f(i64) -> i64 {
             sig0 = () system_v
             fn0 = %g sig0
         block0(v0: i64):
             v1 = load.i64 notrap aligned v0
             v2 = load.i64 notrap aligned readonly v0+8
             call fn0()
             v3 = load.i64 notrap aligned v0
             v4 = load.i64 notrap aligned readonly v0+8
             v5 = iadd v1, v3
             v6 = iadd v2, v4
             v7 = iadd v5, v6
             return v7
         }",
    );
    let out = after[0].display().to_string();
    assert_eq!(out.matches("load.i64 notrap aligned v0").count(), 2, "{out}");
    assert_eq!(out.matches("readonly").count(), 1, "{out}");
}

#[test]
fn constant_block_parameters_are_removed() {
    check(
        "function %f(i32, i32) -> i32 {
         block0(v0: i32, v1: i32):
             brif v1, block1(v0), block2
         block2:
             jump block1(v0)
         block1(v2: i32):
             v3 = iadd v2, v2
             return v3
         }",
        &["iadd", "v0, v0"],
        &["v2"],
        &[&i32s(&[4, 0]), &i32s(&[4, 1])],
    );
}

#[test]
fn constant_branches_fold_and_blocks_merge() {
    let out = check(
        "function %f(i32) -> i32 {
         block0(v0: i32):
             v1 = iconst.i32 1
             brif v1, block1, block2
         block1:
             v2 = iadd v0, v1
             jump block3(v2)
         block2:
             v3 = isub v0, v1
             jump block3(v3)
         block3(v4: i32):
             return v4
         }",
        &["iadd", "return"],
        &["brif", "isub", "block1", "block2", "block3"],
        &[&i32s(&[4])],
    );
    assert!(out.lines().filter(|l| l.trim_start().starts_with("block")).count() == 1, "{out}");
}

#[test]
fn jumps_thread_through_empty_blocks() {
    check(
        "function %f(i32, i32) -> i32 {
         block0(v0: i32, v1: i32):
             brif v1, block1, block2
         block1:
             v2 = iadd v0, v1
             brif v2, block2, block4
         block2:
             jump block3(v0)
         block4:
             jump block3(v1)
         block3(v4: i32):
             v5 = imul v4, v4
             return v5
         }",
        &["brif v1, block1, block3(v0)"],
        &["block2"],
        &[&i32s(&[4, 0]), &i32s(&[4, 1]), &i32s(&[4, -4])],
    );
}

#[test]
fn dead_code_without_effects_goes_trapping_code_stays() {
    let out = check(
        "function %f(i64, i64) -> i64 {
         block0(v0: i64, v1: i64):
             v2, v3 = uadd_overflow v0, v1
             v4 = load.i64 notrap aligned v0
             v5 = udiv v0, v1
             return v0
         }",
        &["udiv"],
        &["uadd_overflow", "load"],
        &[],
    );
    assert!(out.contains("udiv"), "{out}");
}

#[test]
fn select_compare_becomes_min_max() {
    check(
        "function %f(i32, i32) -> i32 {
         block0(v0: i32, v1: i32):
             v2 = icmp sgt v0, v1
             v3 = select v2, v0, v1
             return v3
         }",
        &["smax v0, v1"],
        &["select"],
        &[&i32s(&[4, 5]), &i32s(&[-4, -5])],
    );
}

#[test]
fn branch_conditions_look_through_extensions() {
    check(
        "function %f(i32, i32) -> i32 {
         block0(v0: i32, v1: i32):
             v2 = icmp slt v0, v1
             v3 = uextend.i32 v2
             brif v3, block1, block2
         block1:
             return v0
         block2:
             return v1
         }",
        &["brif v2"],
        &["uextend"],
        &[&i32s(&[4, 5]), &i32s(&[5, 4])],
    );
}

/// A long chain of rewritable operations stays linear (budgets bound the work).
#[test]
fn long_rewrite_chains_stay_bounded() {
    let mut body = String::new();
    let n = 20_000;
    for i in 0..n {
        body.push_str(&format!(
            "    v{} = iconst.i64 {}\n    v{} = iadd v{}, v{}\n",
            2 * i + 2,
            i % 7,
            2 * i + 3,
            2 * i + 1,
            2 * i + 2
        ));
        body.push_str(&format!("    v{} = isub v{}, v{}\n", 2 * n + 2 + i, 2 * i + 3, 2 * i + 2));
    }
    let text = format!("function %f(i64) -> i64 {{\nblock0(v1: i64):\n{body}    return v{}\n}}", 2 * n + 2 + n - 1);
    let start = std::time::Instant::now();
    let (before, after) = optimized(&text);
    assert!(start.elapsed().as_secs() < 30, "optimizing took {:?}", start.elapsed());
    let mut ib = Interpreter::new(&before, InterpConfig::default());
    let mut ia = Interpreter::new(&after, InterpConfig::default());
    for x in [0i64, 1, -5, i64::MAX] {
        assert_eq!(ib.call(0, &[DataValue::I64(x)]), ia.call(0, &[DataValue::I64(x)]));
    }
}

#[test]
fn values_used_in_several_branches_are_computed_once() {
    let out = check(
        "function %f(i64, i64, i32) -> i64 {
         block0(v0: i64, v1: i64, v2: i32):
             v3 = imul v0, v1
             v4 = imul v3, v3
             br_table v2, block1, [block2, block3]
         block1:
             v5 = iadd v4, v0
             return v5
         block2:
             v6 = isub v4, v1
             return v6
         block3:
             v7 = band v4, v1
             return v7
         }",
        &[],
        &[],
        &[
            &[DataValue::I64(3), DataValue::I64(4), DataValue::I32(0)],
            &[DataValue::I64(3), DataValue::I64(4), DataValue::I32(1)],
            &[DataValue::I64(3), DataValue::I64(4), DataValue::I32(7)],
        ],
    );
    assert_eq!(out.matches("imul").count(), 2, "{out}");
}

/// A `br_table` with thousands of entries into forwarding blocks with parameters: parameter
/// removal and jump threading stay linear.
#[test]
fn huge_br_table_stays_linear() {
    let n = 4000;
    let mut text = String::from(
        "function %f(i32) -> i32 {\nblock0(v0: i32):\n    v1 = iconst.i32 1\n    br_table v0, block1(v1), [",
    );
    for i in 0..n {
        if i > 0 {
            text.push_str(", ");
        }
        text.push_str(&format!("block{}(v0)", i + 3));
    }
    text.push_str("]\nblock1(v2: i32):\n    jump block2(v2)\nblock2(v3: i32):\n    return v3\n");
    for i in 0..n {
        text.push_str(&format!("block{}(v{}: i32):\n    jump block2(v{})\n", i + 3, i + 10, i + 10));
    }
    text.push('}');
    let start = std::time::Instant::now();
    let (before, after) = optimized(&text);
    assert!(start.elapsed().as_secs() < 20, "took {:?}", start.elapsed());
    let mut ib = Interpreter::new(&before, InterpConfig::default());
    let mut ia = Interpreter::new(&after, InterpConfig::default());
    for x in [0, 1, 7, 3999, 4000, -1] {
        assert_eq!(ib.call(0, &i32s(&[x])), ia.call(0, &i32s(&[x])));
    }
}

//! The generator makes valid programs, the probes find no backend errors, the shrinker
//! reduces, and a bounded differential run passes.

use arbitrary::Unstructured;
use kiln_fuzz::diff::{Differ, Failure, build, generate_case};
use kiln_fuzz::generate::{AcceptAll, GenConfig, generate};
use kiln_fuzz::oracle::TargetSupport;
use kiln_fuzz::seeded_bytes;
use kiln_fuzz::shrink::shrink;

#[test]
fn generated_programs_parse_and_verify() {
    let mut opcodes = std::collections::BTreeSet::new();
    for k in 0..300 {
        let data = seeded_bytes(7, k);
        let g = generate(&mut Unstructured::new(&data), &GenConfig::default(), &mut AcceptAll).expect("generates");
        let funcs = build(&g.program).unwrap_or_else(|e| panic!("case {k}: {e}\n{}", g.program.to_clif()));
        for f in &funcs {
            for b in f.layout.blocks() {
                for i in f.layout.block_insts(b) {
                    opcodes.insert(f.dfg.opcode(i).name());
                }
            }
        }
    }
    // Nearly the whole table shows up in 300 programs.
    assert!(opcodes.len() > 90, "only {} opcodes: {opcodes:?}", opcodes.len());
}

#[test]
fn empty_and_short_inputs_still_give_valid_programs() {
    for len in [0usize, 1, 7, 64] {
        let data = vec![0xA5u8; len];
        let g = generate(&mut Unstructured::new(&data), &GenConfig::default(), &mut AcceptAll).expect("generates");
        build(&g.program).unwrap_or_else(|e| panic!("{len} bytes: {e}\n{}", g.program.to_clif()));
    }
}

#[test]
fn probes_find_no_backend_errors() {
    let mut oracle = TargetSupport::new();
    for k in 0..300 {
        let _ = generate_case(&seeded_bytes(11, k), &GenConfig::default(), &mut oracle);
    }
    assert!(oracle.errors.is_empty(), "{:#?}", oracle.errors);
}

#[test]
fn shrinker_reduces_to_the_interesting_instruction() {
    let mut oracle = TargetSupport::new();
    let mut found = 0;
    for k in 0..200 {
        let Ok(case) = generate_case(&seeded_bytes(3, k), &GenConfig::default(), &mut oracle) else { continue };
        if !case.program.to_clif().contains(" udiv ") || case.program.size() < 40 {
            continue;
        }
        // A stand-in bug: "any program with a udiv fails".
        let check = |c: &kiln_fuzz::diff::Case| {
            build(&c.program)?;
            if c.program.to_clif().contains(" udiv ") { Err(Failure::Generator("udiv".into())) } else { Ok(()) }
        };
        let failure = Failure::Generator("udiv".into());
        let (small, _) = shrink(&case, &failure, check, 5000);
        assert!(small.program.to_clif().contains(" udiv "));
        assert!(
            small.program.size() <= case.program.size() / 3,
            "{} -> {}:\n{}",
            case.program.size(),
            small.program.size(),
            small.program.to_clif()
        );
        found += 1;
        if found == 3 {
            break;
        }
    }
    assert!(found > 0);
}

#[test]
fn bounded_differential_run_passes() {
    let mut oracle = TargetSupport::new();
    let differ = Differ::default();
    for k in 0..120 {
        let Ok(case) = generate_case(&seeded_bytes(2024, k), &GenConfig::default(), &mut oracle) else { continue };
        if let Err(f) = differ.check(&case, None) {
            panic!("case {k}: {f}\n{}", case.program.to_clif());
        }
    }
}

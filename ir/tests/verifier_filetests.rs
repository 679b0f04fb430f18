//! Runs the verifier filetests (`filetests/filetests/verifier/*.clif`) against the verifier
//! with the matching rule of REFERENCE §4.13: every `; error: <substring>` annotation must
//! be matched by a distinct error located at the entity the comment is attached to whose
//! message contains the substring, and no error may be left unmatched. Also checks that
//! real CLIF verifies cleanly under each of its file's targets: every function of the shared
//! runtest sample, the benchmark kernels and the 1,968 functions of the sqlite corpus.

mod common;

use common::shared;
use kiln_ir::Function;
use kiln_ir::entities::AnyEntity;
use kiln_ir::settings::{Flags, TargetSpec};
use kiln_ir::text::testfile::{Comment, IsaSpec, ParseOptions, parse_test};
use kiln_ir::verifier::{VerifierContext, VerifierError, verify_function};
use std::path::{Path, PathBuf};

/// The `error:` annotations among a function's comments: (entity, required substring).
fn annotations(comments: &[Comment]) -> Vec<(AnyEntity, String)> {
    comments
        .iter()
        .filter_map(|c| {
            let text = c.text.trim_start_matches(|ch: char| ch == ';' || ch.is_whitespace());
            text.strip_prefix("error:").map(|rest| (c.entity, rest.trim().to_string()))
        })
        .collect()
}

/// Match annotations to errors; returns a description of every mismatch.
fn match_errors(expected: &[(AnyEntity, String)], errors: &[VerifierError]) -> Vec<String> {
    let mut used = vec![false; errors.len()];
    let mut problems = Vec::new();
    for (entity, substr) in expected {
        let hit = errors
            .iter()
            .enumerate()
            .find(|(i, e)| !used[*i] && e.location == *entity && e.message.contains(substr.as_str()));
        match hit {
            Some((i, _)) => used[i] = true,
            None => problems.push(format!("expected an error at {entity} containing {substr:?}")),
        }
    }
    for (e, u) in errors.iter().zip(&used) {
        if !u {
            problems.push(format!("unexpected error: {e}"));
        }
    }
    problems
}

/// The verifier contexts a file's functions are checked under: for `test verifier` (which
/// needs no target) the settings of the last target, and the target itself when there is
/// exactly one (REFERENCE §4.5).
fn single_context(spec: &IsaSpec) -> (Flags, Option<TargetSpec>) {
    match spec {
        IsaSpec::None(flags) => (flags.clone(), None),
        IsaSpec::Targets(ts) => {
            let last = ts.last().expect("a Targets spec has at least one target");
            (last.flags.clone(), (ts.len() == 1).then(|| last.spec.clone()))
        }
    }
}

fn clif_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "clif"))
        .collect();
    files.sort();
    files
}

fn name_of(f: &Function) -> String {
    f.name.to_string()
}

#[test]
fn verifier_filetests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../filetests/filetests/verifier");
    let files = clif_files(&dir);
    assert!(files.len() >= 30, "expected at least one file per rule, found {}", files.len());
    let mut failures = Vec::new();
    let mut annotated = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let file = match parse_test(&text, &ParseOptions::default()) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!("{}: parse error: {e}", path.display()));
                continue;
            }
        };
        assert!(file.commands.iter().any(|c| c.name == "verifier"), "{}: not a verifier test", path.display());
        let (flags, target) = single_context(&file.isa_spec);
        let ctx = VerifierContext { flags: &flags, target: target.as_ref() };
        for (func, details) in &file.functions {
            let expected = annotations(&details.comments);
            annotated += expected.len();
            let errors = match verify_function(func, &ctx) {
                Ok(()) => Vec::new(),
                Err(e) => e.0,
            };
            for p in match_errors(&expected, &errors) {
                failures.push(format!("{} {}: {p}", path.display(), name_of(func)));
            }
        }
    }
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
    assert!(annotated >= 60, "only {annotated} annotations found");
}

/// Verify every function of a parsed file under each of its targets (or its flags alone);
/// returns the number of (function, target) pairs checked and appends failures.
fn verify_file_cleanly(name: &str, text: &str, failures: &mut Vec<String>) -> usize {
    let file = match parse_test(text, &ParseOptions::default()) {
        Ok(f) => f,
        Err(e) if e.is_warning => return 0,
        Err(e) => {
            // Parsing is the parser's test; this one is about verification.
            eprintln!("{name}: parse error (skipped): {e}");
            return 0;
        }
    };
    // As the runner verifies (REFERENCE §4.2, §4.5): once per target for the commands that
    // need one, once with the single-run context for the others.
    let needs_target = |c: &str| matches!(c, "run" | "compile" | "optimize" | "inline" | "unwind");
    let mut contexts: Vec<(Flags, Option<TargetSpec>)> = Vec::new();
    if file.commands.iter().any(|c| !needs_target(&c.name)) {
        contexts.push(single_context(&file.isa_spec));
    }
    if let IsaSpec::Targets(ts) = &file.isa_spec
        && file.commands.iter().any(|c| needs_target(&c.name))
    {
        contexts.extend(ts.iter().map(|t| (t.flags.clone(), Some(t.spec.clone()))));
    }
    let mut checked = 0;
    for (flags, target) in &contexts {
        let ctx = VerifierContext { flags, target: target.as_ref() };
        for (func, _) in &file.functions {
            checked += 1;
            if let Err(e) = verify_function(func, &ctx) {
                let t = target.as_ref().map_or("no target".to_string(), |t| t.triple.to_string());
                failures.push(format!("{name} {} ({t}):\n{e}", name_of(func)));
            }
        }
    }
    checked
}

#[test]
fn runtest_samples_verify_cleanly() {
    let dir = shared().join("clif/runtests-sample");
    if !dir.is_dir() {
        eprintln!("skipping: {} not found", dir.display());
        return;
    }
    let mut failures = Vec::new();
    let mut checked = 0;
    for path in clif_files(&dir) {
        let text = std::fs::read_to_string(&path).unwrap();
        checked += verify_file_cleanly(&path.display().to_string(), &text, &mut failures);
    }
    assert!(checked > 500, "only {checked} functions checked");
    assert!(failures.is_empty(), "{} functions failed to verify:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn bench_corpus_verifies_cleanly() {
    let mut failures = Vec::new();
    let mut checked = 0;
    let kernels = shared().join("bench/clif/kernels");
    if kernels.is_dir() {
        for path in clif_files(&kernels) {
            let text = std::fs::read_to_string(&path).unwrap();
            checked += verify_file_cleanly(&path.display().to_string(), &text, &mut failures);
        }
    }
    if let Ok(text) = std::fs::read_to_string(shared().join("bench/clif/sqlite.clif")) {
        let n = verify_file_cleanly("sqlite.clif", &text, &mut failures);
        assert!(n >= 1968, "only {n} sqlite functions checked");
        checked += n;
    }
    if checked == 0 {
        eprintln!("skipping: no benchmark corpus under {}", shared().display());
    }
    assert!(failures.is_empty(), "{} functions failed to verify:\n{}", failures.len(), failures.join("\n"));
}

/// Random mutations of real functions (operands replaced by arbitrary values, branches
/// retargeted, instructions removed or swapped, parameters added) are reported, never a
/// panic, and the mutations that break a rule are noticed.
#[test]
fn mutated_functions_never_panic() {
    use kiln_ir::entities::{Block, Value};
    use kiln_ir::entity::EntityRef;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../filetests/filetests/verifier");
    let mut funcs: Vec<Function> = Vec::new();
    for path in clif_files(&dir) {
        let text = std::fs::read_to_string(&path).unwrap();
        if let Ok(file) = parse_test(&text, &ParseOptions::default()) {
            funcs.extend(file.functions.into_iter().map(|(f, _)| f));
        }
    }
    let samples = shared().join("clif/runtests-sample");
    if samples.is_dir() {
        for path in clif_files(&samples) {
            let text = std::fs::read_to_string(&path).unwrap();
            if let Ok(file) = parse_test(&text, &ParseOptions::default()) {
                funcs.extend(file.functions.into_iter().map(|(f, _)| f));
            }
        }
    }
    assert!(funcs.len() > 50);
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let flags = Flags::new();
    let target = TargetSpec::parse("x86_64", &[]).unwrap();
    let mut noticed = 0;
    let mut rounds = 0;
    for (k, orig) in funcs.iter().enumerate() {
        for _ in 0..8 {
            let mut f = orig.clone();
            let insts: Vec<_> = f.layout.blocks().flat_map(|b| f.layout.block_insts(b).collect::<Vec<_>>()).collect();
            if insts.is_empty() {
                continue;
            }
            let nvals = f.dfg.num_values().max(1) as u64;
            let nblocks = f.dfg.num_blocks().max(1) as u64;
            let inst = insts[(next() % insts.len() as u64) as usize];
            match next() % 5 {
                0 => {
                    let n = f.dfg.inst_args(inst).len();
                    if n > 0 {
                        let i = (next() % n as u64) as usize;
                        f.dfg.inst_args_mut(inst)[i] = Value::new((next() % (nvals + 3)) as usize);
                    }
                }
                1 => {
                    let n = f.dfg.branch_destinations(inst).len();
                    if n > 0 {
                        let i = (next() % n as u64) as usize;
                        let bc = f.dfg.branch_destinations(inst)[i];
                        bc.set_block(Block::new((next() % (nblocks + 2)) as usize), &mut f.dfg.value_lists);
                    }
                }
                2 => f.layout.remove_inst(inst),
                3 => {
                    let other = insts[(next() % insts.len() as u64) as usize];
                    let data = f.dfg.insts[other];
                    f.dfg.replace_inst(inst, data);
                }
                _ => {
                    let blocks: Vec<Block> = f.layout.blocks().collect();
                    let b = blocks[(next() % blocks.len() as u64) as usize];
                    f.dfg.append_block_param(b, kiln_ir::types::I16);
                }
            }
            rounds += 1;
            let ctx = if k % 2 == 0 {
                VerifierContext { flags: &flags, target: Some(&target) }
            } else {
                VerifierContext { flags: &flags, target: None }
            };
            if let Err(e) = verify_function(&f, &ctx) {
                noticed += 1;
                let _ = e.to_string();
            }
        }
    }
    // Most mutations break something (some are harmless: an operand replaced by an equal one,
    // a dead instruction removed).
    assert!(noticed * 2 > rounds, "only {noticed} of {rounds} mutations noticed");
}

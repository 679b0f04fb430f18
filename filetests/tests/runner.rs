//! Behaviour of the runner and of each test kind on small inline files: what passes, what
//! fails (and where), what is skipped, and the configuration rules of REFERENCE §4.2/§4.5
//! (checked with test kinds plugged into a private registry).

use kiln_filetests::runner::{FileReport, Status, TestRecord, run_source, run_source_with};
use kiln_filetests::subtest::{KINDS, KindInfo, TestContext, TestKind, TestResult, no_options};
use kiln_ir::function::Function;
use kiln_ir::text::{Details, TestCommand};
use std::path::Path;
use std::sync::Mutex;

fn run(text: &str) -> FileReport {
    run_source(Path::new("inline.clif"), text)
}

fn statuses(r: &FileReport) -> Vec<(&str, Option<&str>, &Status)> {
    r.records.iter().map(|t| (t.test.as_str(), t.function.as_deref(), &t.status)).collect()
}

/// The failures of the report as `(line, message)`.
fn failures(r: &FileReport) -> Vec<(u32, String)> {
    r.records
        .iter()
        .flat_map(|t| match &t.status {
            Status::Failed(fs) => fs.iter().map(|f| (f.location.map_or(0, |l| l.line), f.message.clone())).collect(),
            _ => Vec::new(),
        })
        .collect()
}

fn all_passed(r: &FileReport) -> bool {
    !r.records.is_empty() && r.records.iter().all(|t| t.status == Status::Passed)
}

// ------------------------------------------------------------------------------------------
// File level

#[test]
fn parse_errors_fail_with_a_location() {
    let r = run("test cat\nfunction %f() {\nblock0:\n    v0 = iadd\n}\n");
    let f = failures(&r);
    assert_eq!(f.len(), 1, "{r:?}");
    assert_eq!(f[0].0, 5);
    let r = run("function %f() {\nblock0:\n    return\n}\n");
    assert!(failures(&r)[0].1.contains("no test commands"), "{r:?}");
    let r = run("test frobnicate\nfunction %f() {\nblock0:\n    return\n}\n");
    assert!(failures(&r)[0].1.contains("unknown test command"), "{r:?}");
}

#[test]
fn unsupported_targets_skip_the_file() {
    let r = run("test cat\ntarget i686\nfunction %f() {\nblock0:\n    return\n}\n");
    assert_eq!(r.records.len(), 1);
    assert!(matches!(&r.records[0].status, Status::Skipped(m) if m.contains("i686")), "{r:?}");
    assert!(r.is_success());
}

#[test]
fn unimplemented_kinds_are_skipped_once_per_file() {
    let text = "test unwind\ntest cat\ntarget x86_64\n\
                function %f() {\nblock0:\n    return\n}\nfunction %g() {\nblock0:\n    return\n}\n";
    let r = run(text);
    let s = statuses(&r);
    assert_eq!(s[0], ("unwind", None, &Status::Skipped("not implemented: test unwind".into())));
    assert_eq!(s.iter().filter(|(t, _, _)| *t == "unwind").count(), 1);
    assert_eq!(s.iter().filter(|(t, _, st)| *t == "cat" && **st == Status::Passed).count(), 2);
}

#[test]
fn unknown_options_fail() {
    let r = run("test cat frob\ntest verifier x=1\nfunction %f() {\nblock0:\n    return\n}\n");
    let f = failures(&r);
    assert_eq!(f.len(), 2, "{r:?}");
    assert!(f[0].1.contains("unknown option 'frob'"));
    assert!(f[1].1.contains("unknown option 'x=1'"));
}

// ------------------------------------------------------------------------------------------
// test cat

#[test]
fn cat_checks_the_canonical_text() {
    let ok = "test cat\nfunction %f(i32) -> i32 {\nblock0(v0: i32):\n    v1 = iadd v0, v0\n    return v1\n}\n\
              ; check: function %f(i32) -> i32 fast {\n; nextln: block0(v0: i32):\n; nextln: v1 = iadd v0, v0\n";
    assert!(all_passed(&run(ok)));
    let bad = ok.replace("; nextln: v1 = iadd v0, v0", "; nextln: v1 = isub v0, v0");
    let f = failures(&run(&bad));
    assert_eq!(f.len(), 1);
    assert!(f[0].1.contains("nextln: v1 = isub v0, v0"), "the failing directive is shown: {}", f[0].1);
    assert!(f[0].1.contains("v1 = iadd v0, v0"), "the context is shown: {}", f[0].1);
}

#[test]
fn preamble_comments_apply_to_every_function() {
    let text = "; not: iadd\n; check: return\ntest cat\n\
                function %f() {\nblock0:\n    return\n}\n\
                function %g(i8) -> i8 {\nblock0(v0: i8):\n    v1 = iadd v0, v0\n    return v1\n}\n";
    let r = run(text);
    let s = statuses(&r);
    assert_eq!(s[0].2, &Status::Passed);
    assert!(matches!(s[1].2, Status::Failed(_)), "%g contains iadd before return: {r:?}");
}

// ------------------------------------------------------------------------------------------
// test verifier

const VERIFIER_CALL: &str = "test verifier\nfunction %f(i64, i64) {\n    fn0 = %g(i32, i32)\n\
    block0(v0: i64, v1: i64):\n    call fn0(v0, v1) ; error: has type i64\n    ; error: arg 0 (v0)\n    return\n}\n";

#[test]
fn verifier_annotations_match_distinct_errors() {
    // Greedy matching would give "has type i64" the error of arg 0 and leave "arg 0 (v0)"
    // unmatched; a maximum matching pairs them the other way round.
    assert!(all_passed(&run(VERIFIER_CALL)), "{:?}", run(VERIFIER_CALL));
    // One annotation for two errors: the other error is unexpected.
    let one = VERIFIER_CALL.replace("    ; error: arg 0 (v0)\n", "");
    let f = failures(&run(&one));
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].1.contains("unexpected verifier error"), "{f:?}");
    assert_eq!(f[0].0, 5, "located at the instruction");
    // A wrong substring is an unmatched annotation, reported at the comment.
    let wrong = VERIFIER_CALL.replace("error: arg 0 (v0)", "error: arg 0 (v9)");
    let f = failures(&run(&wrong));
    assert!(f.iter().any(|(l, m)| *l == 6 && m.contains("expected error at inst0: arg 0 (v9)")), "{f:?}");
    // Three annotations for two errors.
    // Four annotations for two errors: two stay unmatched.
    let four = VERIFIER_CALL
        .replace("    ; error: arg 0 (v0)\n", "    ; error: arg 0 (v0)\n    ; error: arg 1\n    ; error: arg\n");
    assert_eq!(failures(&run(&four)).len(), 2);
}

#[test]
fn verifier_annotations_are_located_at_their_entity() {
    let block = "test verifier\nfunction %f() {\nblock0: ; error: block does not end in a terminator\n    v0 = iconst.i32 1\n}\n";
    assert!(all_passed(&run(block)), "{:?}", run(block));
    // The same text attached to the instruction does not match an error at the block.
    let inst = "test verifier\nfunction %f() {\nblock0:\n    v0 = iconst.i32 1 ; error: block does not end in a terminator\n}\n";
    assert_eq!(failures(&run(inst)).len(), 2);
    // A clean function passes only without annotations.
    let clean = "test verifier\nfunction %f() {\nblock0:\n    return ; error: something\n}\n";
    assert!(failures(&run(clean))[0].1.contains("expected error"));
}

#[test]
fn verifier_uses_the_single_target() {
    let text = "test verifier\ntarget pulley32\nfunction %f(i64) -> i32 {\nblock0(v0: i64):\n    \
                v1 = load.i32 v0 ; error: invalid pointer width (got 64, expected 32)\n    return v1\n}\n";
    assert!(all_passed(&run(text)), "{:?}", run(text));
    // With two targets there is no single target: the rule does not run.
    let two = text.replace("target pulley32\n", "target pulley32\ntarget x86_64\n");
    let f = failures(&run(&two));
    assert!(f[0].1.contains("expected error"), "{f:?}");
}

// ------------------------------------------------------------------------------------------
// test interpret

const INTERP: &str = "test interpret\n\
    function %add(i32, i32) -> i32 {\nblock0(v0: i32, v1: i32):\n    v2 = iadd v0, v1\n    return v2\n}\n\
    ; run: %add(1, 2) == 3\n\
    ; run: %add(1, 2) != 4\n\
    ; print: %add(-1, 0)\n\
    function %twice(i32) -> i32 {\nblock0(v0: i32):\n    v1 = iadd v0, v0\n    return v1\n}\n\
    ; run: %neg(5) == -5\n\
    function %neg(i32) -> i32 {\nblock0(v0: i32):\n    v1 = ineg v0\n    return v1\n}\n";

#[test]
fn interpret_runs_every_command_by_name() {
    let r = run(INTERP);
    assert!(all_passed(&r), "{r:?}");
    assert_eq!(r.output, "%add(-1, 0) -> -1\n");
}

#[test]
fn interpret_failures_are_located_at_the_command() {
    let wrong = INTERP.replace("%add(1, 2) == 3", "%add(1, 2) == 4");
    let f = failures(&run(&wrong));
    assert_eq!(f, vec![(7, "run: %add(1, 2) == 4: got 3".to_string())]);
    let ne = INTERP.replace("%add(1, 2) != 4", "%add(1, 2) != 3");
    assert_eq!(failures(&run(&ne))[0].0, 8);
    // Arguments are read with the signature of the function the command is attached to.
    let arity = INTERP.replace("; run: %neg(5) == -5", "; run: %neg(5, 6) == -5");
    assert!(failures(&run(&arity))[0].1.contains("malformed run command"));
    let unknown = INTERP.replace("%neg(5)", "%thrice(5)");
    let f = failures(&run(&unknown));
    assert!(f[0].1.contains("unknown function"), "{f:?}");
    let malformed = INTERP.replace("; run: %neg(5) == -5", "; run: %neg(5) = -5");
    let f = failures(&run(&malformed));
    assert!(f[0].1.contains("malformed run command"), "{f:?}");
}

#[test]
fn interpret_traps_fail() {
    let text = "test interpret\nfunction %div(i32, i32) -> i32 {\nblock0(v0: i32, v1: i32):\n    \
                v2 = udiv v0, v1\n    return v2\n}\n; run: %div(1, 0) == 0\n; run: %div(4, 2) == 2\n";
    let f = failures(&run(text));
    assert_eq!(f, vec![(7, "run: %div(1, 0) == 0: unexpected trap: int_divz".to_string())]);
}

#[test]
fn interpret_needs_a_verified_function() {
    let text = "test interpret\ntest cat\nfunction %f() -> i32 {\nblock0:\n    v0 = iconst.i64 1\n    return v0\n}\n\
                ; run: %f() == 1\n";
    let r = run(text);
    let s = statuses(&r);
    assert!(matches!(s[0].2, Status::Failed(fs) if fs[0].message.starts_with("verifier errors:")), "{r:?}");
    assert_eq!(s[1].2, &Status::Passed, "cat does not need the verifier");
}

#[test]
fn interpret_uses_the_file_settings() {
    // `get_pinned_reg` needs a target and enable_pinned_reg, for the verifier and the
    // interpreter alike.
    let body = "function %p(i64) -> i64 {\nblock0(v0: i64):\n    set_pinned_reg v0\n    \
                v1 = get_pinned_reg.i64\n    return v1\n}\n; run: %p(3) == 3\n";
    assert!(all_passed(&run(&format!("test interpret\nset enable_pinned_reg\ntarget x86_64\n{body}"))));
    assert!(!run(&format!("test interpret\ntarget x86_64\n{body}")).is_success());
}

// ------------------------------------------------------------------------------------------
// test domtree and test print-cfg

const DOMTREE: &str = "test domtree\nfunction %f(i32) {\nblock0(v0: i32):\n    \
    brif v0, block1, block2 ; dominates: block1 block2\n\nblock1:\n    jump block2\n\nblock2:\n    return\n}\n\
    ; check: block0: block1 block2\n";

#[test]
fn domtree_checks_annotations_and_the_dump() {
    assert!(all_passed(&run(DOMTREE)), "{:?}", run(DOMTREE));
    let missing = DOMTREE.replace("; dominates: block1 block2", "; dominates: block1");
    assert!(failures(&run(&missing))[0].1.contains("block2 has immediate dominator block0"));
    let wrong = DOMTREE.replace("jump block2\n", "jump block2 ; dominates: block2\n");
    let f = failures(&run(&wrong));
    assert!(f.iter().any(|(_, m)| m.contains("several immediate dominators")), "{f:?}");
    let bad_block = DOMTREE.replace("dominates: block1 block2", "dominates: block1 block2 block9");
    assert!(failures(&run(&bad_block))[0].1.contains("block9"));
    let dump = DOMTREE.replace("; check: block0: block1 block2", "; check: block0: block2 block1");
    assert!(failures(&run(&dump))[0].1.contains("filecheck failed"));
}

#[test]
fn print_cfg_renders_graphviz() {
    // Both successors are block1: one edge.
    let text = "test print-cfg\nfunction %f(i32) {\nblock0(v0: i32):\n    brif v0, block1, block1\n\n\
                block1:\n    return\n}\n; check: block0:inst0 -> block1\n; nextln: }\n";
    assert!(all_passed(&run(text)), "{:?}", run(text));
    let bad = text.replace("; nextln: }\n", "; check: block1:inst1 -> block0\n");
    assert!(!run(&bad).is_success());
}

// ------------------------------------------------------------------------------------------
// Configuration rules, with kinds plugged into a private registry.

static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Logs `name function target is_pic` for every run.
struct Probe {
    name: &'static str,
    target: bool,
    mutating: bool,
}

impl TestKind for Probe {
    fn name(&self) -> &'static str {
        self.name
    }
    fn needs_target(&self) -> bool {
        self.target
    }
    fn is_mutating(&self) -> bool {
        self.mutating
    }
    fn run(&self, ctx: &TestContext, func: &Function, _details: &Details) -> TestResult {
        let target = ctx.target.map_or("none".to_string(), |t| t.triple.architecture.to_string());
        let pic = ctx.flags.get_bool("is_pic").unwrap_or(false);
        let line = format!("{} {} {target} pic={pic} #{}", self.name, func.name, ctx.func_index);
        LOG.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        if func.name.to_string() == "%boom" {
            panic!("probe exploded");
        }
        Ok(())
    }
}

fn make_run(c: &TestCommand) -> Result<Box<dyn TestKind>, String> {
    no_options(c)?;
    Ok(Box::new(Probe { name: "run", target: true, mutating: false }))
}

fn make_optimize(c: &TestCommand) -> Result<Box<dyn TestKind>, String> {
    no_options(c)?;
    Ok(Box::new(Probe { name: "optimize", target: true, mutating: true }))
}

fn make_cat(c: &TestCommand) -> Result<Box<dyn TestKind>, String> {
    no_options(c)?;
    Ok(Box::new(Probe { name: "cat", target: false, mutating: false }))
}

const PROBES: &[KindInfo] = &[
    KindInfo { name: "run", make: Some(make_run) },
    KindInfo { name: "optimize", make: Some(make_optimize) },
    KindInfo { name: "cat", make: Some(make_cat) },
];

/// Serializes the tests that use `LOG`.
static PROBE_LOCK: Mutex<()> = Mutex::new(());

fn probe(text: &str) -> (FileReport, Vec<String>) {
    LOG.lock().unwrap_or_else(|e| e.into_inner()).clear();
    let r = run_source_with(Path::new("probe.clif"), text, PROBES);
    let log = std::mem::take(&mut *LOG.lock().unwrap_or_else(|e| e.into_inner()));
    (r, log)
}

#[test]
fn per_target_runs_get_their_settings_snapshot() {
    let _g = PROBE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let text = "test optimize\ntest run\ntest cat\nset is_pic=1\ntarget x86_64\nset is_pic=0\ntarget riscv64 has_zbb\n\
                function %a() {\nblock0:\n    return\n}\nfunction %b() {\nblock0:\n    return\n}\n";
    let (r, log) = probe(text);
    assert!(r.is_success(), "{r:?}");
    // Per function: non-mutating kinds first (run per target, cat once with the last
    // target's settings and no single target), then the mutating optimize per target.
    let expected = [
        "run %a x86_64 pic=true #0",
        "run %a riscv64 pic=false #0",
        "cat %a none pic=false #0",
        "optimize %a x86_64 pic=true #0",
        "optimize %a riscv64 pic=false #0",
        "run %b x86_64 pic=true #1",
        "run %b riscv64 pic=false #1",
        "cat %b none pic=false #1",
        "optimize %b x86_64 pic=true #1",
        "optimize %b riscv64 pic=false #1",
    ];
    assert_eq!(log, expected);
    let targets: Vec<Option<&str>> = r.records.iter().take(3).map(|t: &TestRecord| t.target.as_deref()).collect();
    assert_eq!(targets[0], Some("x86_64"));
    assert_eq!(targets[1].map(|t| t.starts_with("riscv64")), Some(true));
    assert_eq!(targets[2], None);
}

#[test]
fn a_single_target_is_given_to_target_independent_kinds() {
    let _g = PROBE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (_, log) = probe("test cat\nset is_pic\ntarget aarch64\nfunction %a() {\nblock0:\n    return\n}\n");
    assert_eq!(log, ["cat %a aarch64 pic=true #0"]);
    let (_, log) = probe("test cat\nset is_pic\nfunction %a() {\nblock0:\n    return\n}\n");
    assert_eq!(log, ["cat %a none pic=true #0"]);
}

#[test]
fn target_kinds_require_an_isa() {
    let _g = PROBE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (r, log) = probe("test run\ntest cat\nfunction %a() {\nblock0:\n    return\n}\n");
    assert_eq!(log, ["cat %a none pic=false #0"]);
    let f = failures(&r);
    assert_eq!(f.len(), 1);
    assert!(f[0].1.contains("requires an ISA"), "{f:?}");
}

#[test]
fn panics_are_contained() {
    let _g = PROBE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (r, log) =
        probe("test cat\nfunction %boom() {\nblock0:\n    return\n}\nfunction %fine() {\nblock0:\n    return\n}\n");
    assert_eq!(log.len(), 2, "the next function still runs: {log:?}");
    let f = failures(&r);
    assert_eq!(f.len(), 1);
    assert!(f[0].1.contains("panic: probe exploded"), "{f:?}");
    assert_eq!(f[0].0, 2, "located at the function");
}

#[test]
fn every_test_command_is_registered() {
    for name in kiln_ir::text::testfile::TEST_COMMANDS {
        assert!(KINDS.iter().any(|k| k.name == *name), "test {name} is not in the registry");
    }
    assert_eq!(KINDS.len(), kiln_ir::text::testfile::TEST_COMMANDS.len());
}

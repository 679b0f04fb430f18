//! `test compile` (REFERENCE §4.2, §4.12): compile the function for each target and check
//! Kiln's textual output — the VCode listing (instructions over virtual registers, before
//! register allocation), then the disassembly of the final machine code:
//!
//! ```text
//! VCode:
//! block0(): …
//!
//! Disassembled:
//!    0: pushq %rbp
//! ```
//!
//! Options: `precise-output` compares every comment attached to the function (except those
//! starting with `;;`) with the output lines exactly; with `KILN_BLESS=1` in the
//! environment the expectations are rewritten instead (after the function's `}`).
//! `expect-fail` requires compilation to fail. Otherwise the output is checked with the
//! FileCheck directives. The register allocator's checker is enabled.

use crate::subtest::{TestContext, TestError, TestKind, TestResult};
use kiln_codegen::Context;
use kiln_ir::function::Function;
use kiln_ir::text::{Details, TestCommand, TestOption};
use kiln_isa::disasm::disassemble;
use std::fmt::Write;

/// The `compile` test.
pub struct Compile {
    precise: bool,
    expect_fail: bool,
}

/// Build `test compile [precise-output] [expect-fail]`.
pub fn make(command: &TestCommand) -> Result<Box<dyn TestKind>, String> {
    let mut k = Compile { precise: false, expect_fail: false };
    for o in &command.options {
        match o {
            TestOption::Flag(f) if f == "precise-output" => k.precise = true,
            TestOption::Flag(f) if f == "expect-fail" => k.expect_fail = true,
            TestOption::Flag(f) => return Err(format!("test compile: unknown option '{f}'")),
            TestOption::Value(n, v) => return Err(format!("test compile: unknown option '{n}={v}'")),
        }
    }
    Ok(Box::new(k))
}

/// Compile `func` for the context's target and render the output text.
pub fn compile_to_text(ctx: &TestContext, func: &Function) -> Result<String, String> {
    let spec = ctx.target.ok_or("test compile needs a target")?;
    let mut flags = ctx.flags.clone();
    flags.set_word("regalloc_checker").map_err(|e| e.to_string())?;
    let isa = kiln_isa::lookup(spec, flags).map_err(|e| e.to_string())?;
    let mut c = Context::for_function(func.clone());
    c.want_vcode = true;
    let code = c.compile(&*isa).map_err(|e| e.to_string())?;
    let mut out = String::from("VCode:\n");
    out.push_str(code.vcode.as_deref().unwrap_or(""));
    out.push_str("\nDisassembled:\n");
    let dis = disassemble(spec.arch(), code.code(), code.buffer.code_size as usize, &code.buffer.inline_data)?;
    out.push_str(&dis);
    Ok(out)
}

/// The expectation of a precise-output test: the attached comments, minus `;;` ones,
/// without their `; ` prefix.
fn expected_lines(details: &Details) -> Vec<String> {
    details
        .comments
        .iter()
        .filter(|c| !c.text.starts_with(";;"))
        .map(|c| {
            let t = c.text.strip_prefix(';').unwrap_or(&c.text);
            t.strip_prefix(' ').unwrap_or(t).trim_end().to_string()
        })
        .collect()
}

impl TestKind for Compile {
    fn name(&self) -> &'static str {
        "compile"
    }

    fn needs_target(&self) -> bool {
        true
    }

    fn run(&self, ctx: &TestContext, func: &Function, details: &Details) -> TestResult {
        let result = compile_to_text(ctx, func);
        if self.expect_fail {
            return match result {
                Err(_) => Ok(()),
                Ok(_) => Err("expected compilation to fail, but it succeeded".into()),
            };
        }
        let text = result.map_err(TestError::from)?;
        if !self.precise {
            return ctx.filecheck(details, &text);
        }
        check_precise(ctx, details, &text)
    }
}

/// Rewrite `text` with new precise-output expectations: for each function, the comments
/// after its closing `}` (up to the next `function` or the end) are replaced by the new
/// lines. Returns the new text.
pub fn apply_bless(text: &str, details: &[Details], edits: &[(usize, Vec<String>)]) -> String {
    let lines: Vec<&str> = text.lines().collect();
    // Function start lines (1-based), in order.
    let starts: Vec<usize> = details.iter().map(|d| d.location.line as usize).collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut i = 0usize;
    while i < lines.len() {
        let line_no = i + 1;
        out.push(lines[i].to_string());
        // Is this the closing brace of an edited function?
        if lines[i].trim_start().starts_with('}') {
            let f = starts.iter().rposition(|&s| s <= line_no);
            if let Some(fi) = f
                && let Some((_, new)) = edits.iter().find(|(e, _)| *e == fi)
            {
                // Skip the old expectation comments (keep `;;` comments and blank lines
                // before the next function).
                let mut j = i + 1;
                while j < lines.len() {
                    let t = lines[j].trim_start();
                    if t.starts_with("function") {
                        break;
                    }
                    if t.starts_with(';') && !t.starts_with(";;") {
                        j += 1;
                        continue;
                    }
                    if t.is_empty() {
                        break;
                    }
                    break;
                }
                for l in new {
                    out.push(if l.is_empty() { ";".to_string() } else { format!("; {l}") });
                }
                i = j;
                continue;
            }
        }
        i += 1;
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

/// Compare `text` line by line with the function's expectation comments (precise-output);
/// with `KILN_BLESS` set, record the new expectation instead of failing.
pub(crate) fn check_precise(ctx: &TestContext, details: &Details, text: &str) -> TestResult {
    let got: Vec<String> = text.lines().map(|l| l.trim_end().to_string()).collect();
    let want = expected_lines(details);
    if got == want {
        return Ok(());
    }
    if std::env::var_os("KILN_BLESS").is_some() {
        ctx.bless(ctx.func_index, got);
        return Ok(());
    }
    let mut msg = String::from("precise output differs (KILN_BLESS=1 rewrites the expectation):\n");
    let n = got.len().max(want.len());
    for i in 0..n {
        let (g, w) = (got.get(i), want.get(i));
        if g != w {
            let _ = writeln!(msg, "  first difference at line {}:", i + 1);
            let _ = writeln!(msg, "    expected: {}", w.map_or("<end>", |s| s.as_str()));
            let _ = writeln!(msg, "    actual:   {}", g.map_or("<end>", |s| s.as_str()));
            break;
        }
    }
    let _ = writeln!(msg, "  actual output:");
    for l in &got {
        let _ = writeln!(msg, "    {l}");
    }
    Err(msg.into())
}

//! `test cat`: print the function canonically and FileCheck the text against the file
//! preamble comments and the function's comments (REFERENCE §4.2, §3.13).
//!
//! Besides the FileCheck directives, the canonical text must read back as the same
//! function (structurally equal) and print identically again: `cat` is the parser's and
//! the writer's round-trip test. The directives may also match the text as Cranelift
//! prints it (global-value user names as `userextnameK`), for Cranelift's own files.

use crate::subtest::{TestContext, TestKind, TestResult, no_options};
use kiln_ir::compare::structurally_equal;
use kiln_ir::function::Function;
use kiln_ir::text::{Details, TestCommand, parse_functions};

/// The `cat` test.
pub struct Cat;

/// Build `test cat` (no options).
pub fn make(command: &TestCommand) -> Result<Box<dyn TestKind>, String> {
    no_options(command)?;
    Ok(Box::new(Cat))
}

impl TestKind for Cat {
    fn name(&self) -> &'static str {
        "cat"
    }

    fn needs_verifier(&self) -> bool {
        false
    }

    fn run(&self, ctx: &TestContext, func: &Function, details: &Details) -> TestResult {
        let text = func.display().to_string();
        let parsed = parse_functions(&text).map_err(|e| format!("canonical text does not read back: {e}\n{text}"))?;
        let [again] = <[Function; 1]>::try_from(parsed)
            .map_err(|v| format!("canonical text reads back as {} functions:\n{text}", v.len()))?;
        if let Err(e) = structurally_equal(func, &again) {
            return Err(format!("canonical text reads back as a different function: {e}\n{text}").into());
        }
        let text2 = again.display().to_string();
        if text2 != text {
            return Err(format!("printing is not stable:\nfirst:\n{text}\nsecond:\n{text2}").into());
        }
        // Cranelift prints a global value's user name as `userextnameK`: its files check
        // that form, Kiln's the canonical one; either passes.
        match ctx.filecheck(details, &text) {
            Err(e) if text.contains(" = symbol ") => {
                let cranelift = func.display().cranelift_style().to_string();
                if cranelift != text && ctx.filecheck(details, &cranelift).is_ok() { Ok(()) } else { Err(e) }
            }
            r => r,
        }
    }
}

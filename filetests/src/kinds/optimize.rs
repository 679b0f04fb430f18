//! `test optimize` (REFERENCE §4.2): run Kiln's mid-end optimizer (`kiln_egraph::optimize`,
//! the pipeline `opt_level=speed` runs, whatever the file's `opt_level`) on the function for
//! each target, with the verifier after every pass, and check the printed CLIF: with the
//! FileCheck directives, or with `precise-output` line by line against the comments attached
//! to the function (`KILN_BLESS=1` rewrites them).

use crate::kinds::compile::check_precise;
use crate::subtest::{TestContext, TestError, TestKind, TestResult};
use kiln_egraph::OptContext;
use kiln_ir::function::Function;
use kiln_ir::text::{Details, TestCommand, TestOption};

/// The `optimize` test.
pub struct Optimize {
    precise: bool,
}

/// Build `test optimize [precise-output]`.
pub fn make(command: &TestCommand) -> Result<Box<dyn TestKind>, String> {
    let mut k = Optimize { precise: false };
    for o in &command.options {
        match o {
            TestOption::Flag(f) if f == "precise-output" => k.precise = true,
            TestOption::Flag(f) => return Err(format!("test optimize: unknown option '{f}'")),
            TestOption::Value(n, v) => return Err(format!("test optimize: unknown option '{n}={v}'")),
        }
    }
    Ok(Box::new(k))
}

/// The optimized function for the context's settings and target, printed.
pub fn optimize_to_text(ctx: &TestContext, func: &Function) -> Result<String, String> {
    let mut f = func.clone();
    let mut opt = OptContext::new();
    opt.options.verify = Some(true);
    kiln_egraph::optimize(&mut f, &mut opt, ctx.flags, ctx.target).map_err(|e| e.to_string())?;
    Ok(f.display().to_string())
}

impl TestKind for Optimize {
    fn name(&self) -> &'static str {
        "optimize"
    }

    fn needs_target(&self) -> bool {
        true
    }

    fn is_mutating(&self) -> bool {
        true
    }

    fn run(&self, ctx: &TestContext, func: &Function, details: &Details) -> TestResult {
        let text = optimize_to_text(ctx, func).map_err(TestError::from)?;
        if self.precise { check_precise(ctx, details, &text) } else { ctx.filecheck(details, &text) }
    }
}

//! Compiling many functions at once, on all cores.
//!
//! Functions compile independently (no global state), so a module's functions are
//! spread over worker threads. Each worker owns one [`Context`] and reuses its memory for
//! every function it takes; workers take the next function from a shared counter, so a
//! few large functions do not leave the other threads idle. Results come back in input
//! order and each is exactly what [`Context::compile`] gives for that function alone:
//! the output never depends on the thread count or on scheduling.

use crate::context::Context;
use crate::isa::TargetIsa;
use crate::result::{CodegenResult, CompiledCode};
use kiln_ir::Function;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The number of worker threads to use for `threads`: `0` means one per available core.
pub fn worker_count(threads: usize) -> usize {
    if threads == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { threads }
}

/// Compile every function of `funcs` for `isa` with up to `threads` worker threads (`0`:
/// one per core). The result at index `i` is the outcome for `funcs[i]`. With one thread
/// (or one function) everything runs on the calling thread.
pub fn compile_functions(
    isa: &dyn TargetIsa,
    funcs: Vec<Function>,
    threads: usize,
) -> Vec<CodegenResult<CompiledCode>> {
    let n = funcs.len();
    let workers = worker_count(threads).min(n);
    if workers <= 1 {
        let mut ctx = Context::new();
        return funcs.into_iter().map(|f| compile_one(&mut ctx, isa, f)).collect();
    }
    // Each slot is taken exactly once (the counter hands out each index once), so the
    // locks are never contended; they only make the hand-over safe.
    let inputs: Vec<Mutex<Option<Function>>> = funcs.into_iter().map(|f| Mutex::new(Some(f))).collect();
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<CodegenResult<CompiledCode>>> = (0..n).map(|_| None).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut ctx = Context::new();
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        let f = inputs[i].lock().unwrap_or_else(|e| e.into_inner()).take();
                        if let Some(f) = f {
                            done.push((i, compile_one(&mut ctx, isa, f)));
                        }
                    }
                    done
                })
            })
            .collect();
        for h in handles {
            // A worker only panics if the compiler itself does; pass that on unchanged.
            let done = h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            for (i, r) in done {
                results[i] = Some(r);
            }
        }
    });
    results.into_iter().map(|r| r.expect("every index is compiled by exactly one worker")).collect()
}

fn compile_one(ctx: &mut Context, isa: &dyn TargetIsa, func: Function) -> CodegenResult<CompiledCode> {
    ctx.clear();
    ctx.func = func;
    ctx.compile(isa)?;
    Ok(ctx.take_compiled_code().expect("compile succeeded"))
}

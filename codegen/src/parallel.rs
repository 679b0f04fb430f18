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
    parallel_map(funcs, threads, Context::new, |ctx, f| compile_one(ctx, isa, f))
}

/// Apply `f` to every input on up to `threads` worker threads (`0`: one per core), each
/// worker with its own state made by `init` and reused for every input it takes (a
/// codegen `Context`, a translator, …). Returns the outputs in input order; with one
/// thread (or one input) everything runs on the calling thread. This is the machinery of
/// [`compile_functions`], for embedders that do more per function than compile it (a
/// frontend translating and compiling each function in the same worker).
pub fn parallel_map<I, O, S, Init, F>(inputs: Vec<I>, threads: usize, init: Init, f: F) -> Vec<O>
where
    I: Send,
    O: Send,
    Init: Fn() -> S + Sync,
    F: Fn(&mut S, I) -> O + Sync,
{
    let n = inputs.len();
    let workers = worker_count(threads).min(n);
    if workers <= 1 {
        let mut state = init();
        return inputs.into_iter().map(|x| f(&mut state, x)).collect();
    }
    // Each slot is taken exactly once (the counter hands out each index once), so the
    // locks are never contended; they only make the hand-over safe.
    let inputs: Vec<Mutex<Option<I>>> = inputs.into_iter().map(|x| Mutex::new(Some(x))).collect();
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<O>> = (0..n).map(|_| None).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut state = init();
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        let x = inputs[i].lock().unwrap_or_else(|e| e.into_inner()).take();
                        if let Some(x) = x {
                            done.push((i, f(&mut state, x)));
                        }
                    }
                    done
                })
            })
            .collect();
        for h in handles {
            // A worker only panics if `f` does; pass that on unchanged.
            let done = h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            for (i, r) in done {
                results[i] = Some(r);
            }
        }
    });
    results.into_iter().map(|r| r.expect("every index is processed by exactly one worker")).collect()
}

fn compile_one(ctx: &mut Context, isa: &dyn TargetIsa, func: Function) -> CodegenResult<CompiledCode> {
    ctx.clear();
    ctx.func = func;
    ctx.compile(isa)?;
    Ok(ctx.take_compiled_code().expect("compile succeeded"))
}

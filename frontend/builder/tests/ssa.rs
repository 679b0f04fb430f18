//! SSA construction through the `FunctionBuilder`: loops, nested loops, irreducible control
//! flow, variables live across many blocks, unreachable blocks, late sealing. Every function
//! is verified and run by both the reference interpreter and the JIT against a Rust model.

mod common;

use common::{check_all, new_func, sig_i64, verify};
use kiln_frontend::{BuilderError, FunctionBuilder, FunctionBuilderContext};
use kiln_ir::condcodes::IntCC;
use kiln_ir::types::{I32, I64};
use kiln_ir::{Function, InstBuilder};

fn inputs(n: usize) -> Vec<Vec<i64>> {
    let vals = [0i64, 1, 2, 3, 5, 7, 10, 17, 33, -1, -4];
    (0..vals.len().pow(n as u32).min(40))
        .map(|k| (0..n).map(|j| vals[(k / vals.len().pow(j as u32)) % vals.len()]).collect())
        .collect()
}

#[test]
fn straight_line_and_redefinition() {
    let mut f = new_func("f", sig_i64(2, 1));
    let mut ctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut f, &mut ctx);
    let x = b.declare_var(I64);
    let y = b.declare_var(I64);
    let e = b.create_block();
    b.append_block_params_for_function_params(e);
    b.switch_to_block(e);
    b.seal_block(e);
    let (p0, p1) = (b.block_params(e)[0], b.block_params(e)[1]);
    b.def_var(x, p0);
    b.def_var(y, p1);
    for _ in 0..3 {
        let (xv, yv) = (b.use_var(x), b.use_var(y));
        let s = b.ins().iadd(xv, yv);
        b.def_var(x, s);
    }
    let xv = b.use_var(x);
    b.ins().return_(&[xv]);
    b.finalize().unwrap();
    // No block parameters were needed.
    assert_eq!(f.dfg.block_params(f.layout.entry_block().unwrap()).len(), 2);
    check_all(&[f], 0, &inputs(2), |a| vec![a[0].wrapping_add(a[1].wrapping_mul(3))]);
}

/// `sum = 0; i = 0; while i < n { sum += i * i; i += 1 }`, sealing the header early or late.
fn build_loop(seal_late: bool) -> Function {
    let mut f = new_func("loop", sig_i64(1, 1));
    let mut ctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut f, &mut ctx);
    let (i, sum) = (b.declare_var(I64), b.declare_var(I64));
    let (e, h, body, exit) = (b.create_block(), b.create_block(), b.create_block(), b.create_block());
    b.append_block_params_for_function_params(e);
    b.switch_to_block(e);
    let n = b.block_params(e)[0];
    let z = b.ins().iconst(I64, 0);
    b.def_var(i, z);
    b.def_var(sum, z);
    b.ins().jump(h, &[]);
    b.switch_to_block(h);
    let iv = b.use_var(i);
    let c = b.ins().icmp(IntCC::SignedLessThan, iv, n);
    b.ins().brif(c, body, &[], exit, &[]);
    b.switch_to_block(body);
    let (iv, sv) = (b.use_var(i), b.use_var(sum));
    let sq = b.ins().imul(iv, iv);
    let s = b.ins().iadd(sv, sq);
    b.def_var(sum, s);
    let one = b.ins().iconst(I64, 1);
    let ni = b.ins().iadd(iv, one);
    b.def_var(i, ni);
    b.ins().jump(h, &[]);
    b.switch_to_block(exit);
    let r = b.use_var(sum);
    b.ins().return_(&[r]);
    if seal_late {
        b.seal_all_blocks();
    } else {
        for blk in [e, body, h, exit] {
            b.seal_block(blk);
        }
    }
    b.finalize().unwrap();
    f
}

#[test]
fn simple_loop_early_and_late_sealing() {
    let model = |a: &[i64]| vec![(0..a[0].max(0)).map(|i| i * i).sum()];
    for late in [false, true] {
        let f = build_loop(late);
        // The header has exactly the two loop-carried variables as parameters.
        let h = f.layout.blocks().nth(1).unwrap();
        assert_eq!(f.dfg.block_params(h).len(), 2, "{}", f.display());
        check_all(&[f], 0, &inputs(1), model);
    }
}

/// Triple-nested loops with variables defined at different depths and a variable that is
/// only read inside the loops (its parameters must all be removed as trivial).
#[test]
fn nested_loops() {
    let mut f = new_func("nested", sig_i64(2, 2));
    let mut ctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut f, &mut ctx);
    let [i, j, k, acc, invariant] = [(); 5].map(|_| b.declare_var(I64));
    let e = b.create_block();
    let [h1, b1, h2, b2, h3, b3, l2, l1, exit] = [(); 9].map(|_| b.create_block());
    b.append_block_params_for_function_params(e);
    b.switch_to_block(e);
    b.seal_block(e);
    let (n, m) = (b.block_params(e)[0], b.block_params(e)[1]);
    let z = b.ins().iconst(I64, 0);
    b.def_var(i, z);
    b.def_var(acc, z);
    b.def_var(invariant, m);
    b.ins().jump(h1, &[]);
    // for i in 0..n
    b.switch_to_block(h1);
    let iv = b.use_var(i);
    let c = b.ins().icmp(IntCC::SignedLessThan, iv, n);
    b.ins().brif(c, b1, &[], exit, &[]);
    b.switch_to_block(b1);
    b.seal_block(b1);
    let z = b.ins().iconst(I64, 0);
    b.def_var(j, z);
    b.ins().jump(h2, &[]);
    // for j in 0..i
    b.switch_to_block(h2);
    let (jv, iv) = (b.use_var(j), b.use_var(i));
    let c = b.ins().icmp(IntCC::SignedLessThan, jv, iv);
    b.ins().brif(c, b2, &[], l1, &[]);
    b.switch_to_block(b2);
    b.seal_block(b2);
    let z = b.ins().iconst(I64, 0);
    b.def_var(k, z);
    b.ins().jump(h3, &[]);
    // for k in 0..3: acc = acc * 3 + i * j + k + invariant
    b.switch_to_block(h3);
    let kv = b.use_var(k);
    let three = b.ins().iconst(I64, 3);
    let c = b.ins().icmp(IntCC::SignedLessThan, kv, three);
    b.ins().brif(c, b3, &[], l2, &[]);
    b.switch_to_block(b3);
    b.seal_block(b3);
    let (a, iv, jv, kv, inv) = (b.use_var(acc), b.use_var(i), b.use_var(j), b.use_var(k), b.use_var(invariant));
    let t = b.ins().imul(a, three);
    let ij = b.ins().imul(iv, jv);
    let t = b.ins().iadd(t, ij);
    let t = b.ins().iadd(t, kv);
    let t = b.ins().iadd(t, inv);
    b.def_var(acc, t);
    let one = b.ins().iconst(I64, 1);
    let nk = b.ins().iadd(kv, one);
    b.def_var(k, nk);
    b.ins().jump(h3, &[]);
    b.seal_block(h3);
    b.switch_to_block(l2);
    b.seal_block(l2);
    let jv = b.use_var(j);
    let one = b.ins().iconst(I64, 1);
    let nj = b.ins().iadd(jv, one);
    b.def_var(j, nj);
    b.ins().jump(h2, &[]);
    b.seal_block(h2);
    b.switch_to_block(l1);
    b.seal_block(l1);
    let iv = b.use_var(i);
    let one = b.ins().iconst(I64, 1);
    let ni = b.ins().iadd(iv, one);
    b.def_var(i, ni);
    b.ins().jump(h1, &[]);
    b.seal_block(h1);
    b.switch_to_block(exit);
    b.seal_block(exit);
    let (a, inv) = (b.use_var(acc), b.use_var(invariant));
    b.ins().return_(&[a, inv]);
    b.finalize().unwrap();
    // `invariant` never changes: no block carries it. The k-loop header carries k and acc.
    assert_eq!(f.dfg.block_params(h3).len(), 2, "{}", f.display());
    let model = |a: &[i64]| {
        let (n, m) = (a[0], a[1]);
        let mut acc = 0i64;
        for i in 0..n.clamp(0, 40) {
            for j in 0..i {
                for k in 0..3 {
                    acc = acc.wrapping_mul(3).wrapping_add(i * j).wrapping_add(k).wrapping_add(m);
                }
            }
        }
        vec![acc, m]
    };
    let ins: Vec<Vec<i64>> = inputs(2).into_iter().map(|v| vec![v[0].clamp(-3, 12), v[1]]).collect();
    check_all(&[f], 0, &ins, model);
}

/// Irreducible control flow: the entry jumps into the middle of a two-block cycle.
#[test]
fn irreducible_loop() {
    for late in [false, true] {
        let mut f = new_func("irreducible", sig_i64(1, 1));
        let mut ctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut f, &mut ctx);
        let (x, c) = (b.declare_var(I64), b.declare_var(I64));
        let [e, a, a2, bb, b2, exit] = [(); 6].map(|_| b.create_block());
        b.append_block_params_for_function_params(e);
        b.switch_to_block(e);
        let n = b.block_params(e)[0];
        b.def_var(x, n);
        let one = b.ins().iconst(I64, 1);
        let odd = b.ins().band(n, one);
        b.ins().brif(odd, a, &[], bb, &[]);
        // a: if x <= 0 exit; x -= 1; c += 1; goto b
        b.switch_to_block(a);
        let xv = b.use_var(x);
        let zero = b.ins().iconst(I64, 0);
        let done = b.ins().icmp(IntCC::SignedLessThanOrEqual, xv, zero);
        b.ins().brif(done, exit, &[], a2, &[]);
        b.switch_to_block(a2);
        let (xv, cv) = (b.use_var(x), b.use_var(c));
        let one = b.ins().iconst(I64, 1);
        let nx = b.ins().isub(xv, one);
        let nc = b.ins().iadd(cv, one);
        b.def_var(x, nx);
        b.def_var(c, nc);
        b.ins().jump(bb, &[]);
        // b: if x <= 0 exit; x -= 1; c = c * 2 + 1; goto a
        b.switch_to_block(bb);
        let xv = b.use_var(x);
        let zero = b.ins().iconst(I64, 0);
        let done = b.ins().icmp(IntCC::SignedLessThanOrEqual, xv, zero);
        b.ins().brif(done, exit, &[], b2, &[]);
        b.switch_to_block(b2);
        let (xv, cv) = (b.use_var(x), b.use_var(c));
        let one = b.ins().iconst(I64, 1);
        let nx = b.ins().isub(xv, one);
        let two = b.ins().iconst(I64, 2);
        let nc = b.ins().imul(cv, two);
        let nc = b.ins().iadd(nc, one);
        b.def_var(x, nx);
        b.def_var(c, nc);
        b.ins().jump(a, &[]);
        b.switch_to_block(exit);
        let cv = b.use_var(c);
        b.ins().return_(&[cv]);
        if late {
            b.seal_all_blocks();
        } else {
            for blk in [e, a2, b2, a, bb, exit] {
                b.seal_block(blk);
            }
        }
        b.finalize().unwrap();
        let model = |args: &[i64]| {
            let mut x = args[0];
            let mut c = 0i64;
            let mut in_a = x & 1 != 0;
            while x > 0 {
                x -= 1;
                c = if in_a { c.wrapping_add(1) } else { c.wrapping_mul(2).wrapping_add(1) };
                in_a = !in_a;
            }
            vec![c]
        };
        check_all(&[f], 0, &inputs(1), model);
    }
}

/// A long chain of diamonds: each level conditionally redefines one of several variables;
/// every variable is live from the entry to the exit across hundreds of blocks.
#[test]
fn variables_live_across_many_blocks() {
    const LEVELS: usize = 150;
    const VARS: usize = 6;
    let mut f = new_func("many", sig_i64(1, 1));
    let mut ctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut f, &mut ctx);
    let vars: Vec<_> = (0..VARS).map(|_| b.declare_var(I64)).collect();
    let e = b.create_block();
    b.append_block_params_for_function_params(e);
    b.switch_to_block(e);
    b.seal_block(e);
    let n = b.block_params(e)[0];
    for (k, &v) in vars.iter().enumerate() {
        let c = b.ins().iconst(I64, k as i64 + 1);
        b.def_var(v, c);
    }
    for level in 0..LEVELS {
        let (t, el, join) = (b.create_block(), b.create_block(), b.create_block());
        let bit = b.ins().iconst(I64, 1 << (level % 8));
        let m = b.ins().band(n, bit);
        b.ins().brif(m, t, &[], el, &[]);
        b.switch_to_block(t);
        b.seal_block(t);
        let v = vars[level % VARS];
        let w = vars[(level * 7 + 3) % VARS];
        let (vv, wv) = (b.use_var(v), b.use_var(w));
        let s = b.ins().iadd(vv, wv);
        b.def_var(v, s);
        b.ins().jump(join, &[]);
        b.switch_to_block(el);
        b.seal_block(el);
        b.ins().jump(join, &[]);
        b.switch_to_block(join);
        b.seal_block(join);
    }
    let mut acc = b.use_var(vars[0]);
    for &v in &vars[1..] {
        let x = b.use_var(v);
        acc = b.ins().bxor(acc, x);
    }
    b.ins().return_(&[acc]);
    b.finalize().unwrap();
    let model = |a: &[i64]| {
        let n = a[0];
        let mut vals: Vec<i64> = (1..=VARS as i64).collect();
        for level in 0..LEVELS {
            if n & (1 << (level % 8)) != 0 {
                let (v, w) = (level % VARS, (level * 7 + 3) % VARS);
                vals[v] = vals[v].wrapping_add(vals[w]);
            }
        }
        vec![vals.iter().fold(0, |a, b| a ^ b)]
    };
    let ins: Vec<Vec<i64>> = (0..40).map(|k| vec![k * 37 % 256]).collect();
    check_all(&[f], 0, &ins, model);
}

/// Unreachable code: a block without predecessors reading variables (zero), an unreachable
/// cycle of single-predecessor blocks, and a variable read before any assignment.
#[test]
fn unreachable_blocks_and_undefined_variables() {
    let mut f = new_func("unreach", sig_i64(1, 1));
    let mut ctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut f, &mut ctx);
    let (x, never) = (b.declare_var(I64), b.declare_var(I64));
    let [e, dead, c1, c2, tail] = [(); 5].map(|_| b.create_block());
    b.append_block_params_for_function_params(e);
    b.switch_to_block(e);
    b.seal_block(e);
    let n = b.block_params(e)[0];
    b.def_var(x, n);
    b.ins().jump(tail, &[]);
    // No predecessors: `x` reads as zero here.
    b.switch_to_block(dead);
    b.seal_block(dead);
    let xv = b.use_var(x);
    let one = b.ins().iconst(I64, 1);
    let y = b.ins().iadd(xv, one);
    b.def_var(x, y);
    b.ins().jump(c1, &[]);
    // c1 <-> c2 with c1 also entered from `dead`: unreachable, two predecessors.
    b.switch_to_block(c1);
    let xv = b.use_var(x);
    b.ins().jump(c2, &[]);
    b.switch_to_block(c2);
    b.seal_block(c2);
    let xv2 = b.use_var(x);
    let s = b.ins().iadd(xv, xv2);
    b.def_var(x, s);
    b.ins().jump(c1, &[]);
    b.seal_block(c1);
    // The reachable tail: `never` was never assigned.
    b.switch_to_block(tail);
    b.seal_block(tail);
    let (xv, nv) = (b.use_var(x), b.use_var(never));
    let r = b.ins().iadd(xv, nv);
    b.ins().return_(&[r]);
    b.finalize().unwrap();
    check_all(&[f], 0, &inputs(1), |a| vec![a[0]]);
}

/// An unreachable cycle of blocks with one predecessor each.
#[test]
fn unreachable_single_predecessor_cycle() {
    let mut f = new_func("cycle", sig_i64(0, 1));
    let mut ctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut f, &mut ctx);
    let x = b.declare_var(I64);
    let [e, c1, c2] = [(); 3].map(|_| b.create_block());
    b.switch_to_block(e);
    let seven = b.ins().iconst(I64, 7);
    b.ins().return_(&[seven]);
    b.switch_to_block(c1);
    b.ins().jump(c2, &[]);
    b.switch_to_block(c2);
    let xv = b.use_var(x);
    let one = b.ins().iconst(I64, 1);
    let y = b.ins().iadd(xv, one);
    b.def_var(x, y);
    b.ins().jump(c1, &[]);
    b.seal_all_blocks();
    b.finalize().unwrap();
    check_all(&[f], 0, &[vec![]], |_| vec![7]);
}

/// Recursion and calls between built functions; one context reused for both.
#[test]
fn calls_and_context_reuse() {
    let mut ctx = FunctionBuilderContext::new();
    // fib(n) = n < 2 ? n : fib(n-1) + fib(n-2), with a variable for the result.
    let mut fib = new_func("fib", sig_i64(1, 1));
    {
        let mut b = FunctionBuilder::new(&mut fib, &mut ctx);
        let r = b.declare_var(I64);
        let [e, rec, done] = [(); 3].map(|_| b.create_block());
        b.append_block_params_for_function_params(e);
        b.switch_to_block(e);
        b.seal_block(e);
        let n = b.block_params(e)[0];
        b.def_var(r, n);
        let two = b.ins().iconst(I64, 2);
        let small = b.ins().icmp(IntCC::SignedLessThan, n, two);
        b.ins().brif(small, done, &[], rec, &[]);
        b.switch_to_block(rec);
        b.seal_block(rec);
        let sig = b.import_signature(sig_i64(1, 1));
        let callee = b.import_function(kiln_ir::extname::ExtFuncData {
            name: kiln_ir::extname::ExternalName::TestCase("fib".into()),
            signature: sig,
            colocated: true,
            patchable: false,
        });
        let one = b.ins().iconst(I64, 1);
        let a = b.ins().isub(n, one);
        let c1 = b.ins().call(callee, &[a]);
        let f1 = b.inst_results(c1)[0];
        let a = b.ins().isub(n, two);
        let c2 = b.ins().call(callee, &[a]);
        let f2 = b.inst_results(c2)[0];
        let s = b.ins().iadd(f1, f2);
        b.def_var(r, s);
        b.ins().jump(done, &[]);
        b.switch_to_block(done);
        b.seal_block(done);
        let rv = b.use_var(r);
        b.ins().return_(&[rv]);
        b.finalize().unwrap();
    }
    let loop_fn = build_loop(false);
    fn fib_model(n: i64) -> i64 {
        if n < 2 { n } else { fib_model(n - 1) + fib_model(n - 2) }
    }
    let funcs = [fib, loop_fn];
    check_all(&funcs, 0, &(0..20).map(|n| vec![n]).collect::<Vec<_>>(), |a| vec![fib_model(a[0])]);
}

// ---------------------------------------------------------------------------------------
// Errors

fn errors_of(build: impl FnOnce(&mut FunctionBuilder)) -> Vec<BuilderError> {
    let mut f = new_func("bad", sig_i64(1, 1));
    let mut ctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut f, &mut ctx);
    build(&mut b);
    match b.finalize() {
        Ok(()) => Vec::new(),
        Err(e) => {
            assert!(!e.to_string().is_empty());
            e.errors
        }
    }
}

#[test]
fn error_undeclared_variable() {
    let errs = errors_of(|b| {
        let e = b.create_block();
        b.append_block_params_for_function_params(e);
        b.switch_to_block(e);
        b.seal_block(e);
        let ghost = kiln_frontend::Variable::from_u32(12);
        assert!(b.try_use_var(ghost).is_err());
        let v = b.use_var(ghost);
        b.ins().return_(&[v]);
    });
    assert!(errs.iter().any(|e| matches!(e, BuilderError::UndeclaredVariable(_))), "{errs:?}");
    assert!(errs[0].to_string().contains("undeclared variable var12"), "{}", errs[0]);
}

#[test]
fn error_unsealed_and_unterminated() {
    let errs = errors_of(|b| {
        let (e, l) = (b.create_block(), b.create_block());
        b.append_block_params_for_function_params(e);
        b.switch_to_block(e);
        b.seal_block(e);
        b.ins().jump(l, &[]);
        b.switch_to_block(l);
        let p = b.block_params(e)[0];
        b.ins().iadd(p, p);
    });
    assert!(errs.iter().any(|e| matches!(e, BuilderError::UnsealedBlock(_))), "{errs:?}");
    assert!(errs.iter().any(|e| matches!(e, BuilderError::UnterminatedBlock(_))), "{errs:?}");
}

#[test]
fn error_type_mismatches() {
    let errs = errors_of(|b| {
        let e = b.create_block();
        b.append_block_params_for_function_params(e);
        b.switch_to_block(e);
        b.seal_block(e);
        let x = b.declare_var(I32);
        let p = b.block_params(e)[0];
        assert!(b.try_def_var(x, p).is_err());
        b.def_var(x, p);
        let small = b.ins().iconst(I32, 1);
        let bad = b.ins().iadd(p, small);
        let f = b.ins().f64const(1.5);
        b.ins().iadd(f, f);
        b.ins().return_(&[bad, bad]);
    });
    assert!(errs.iter().any(|e| matches!(e, BuilderError::VariableType { .. })), "{errs:?}");
    let tm = errs.iter().filter(|e| matches!(e, BuilderError::TypeMismatch { .. })).count();
    assert_eq!(tm, 3, "{errs:?}");
    let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    assert!(text.iter().any(|t| t.contains("expected i64")), "{text:?}");
    assert!(text.iter().any(|t| t.contains("return: 2 arguments given, 1 expected")), "{text:?}");
}

#[test]
fn error_misplaced_instructions_and_branches() {
    let errs = errors_of(|b| {
        let (e, l) = (b.create_block(), b.create_block());
        b.ins().nop(); // no current block
        b.append_block_params_for_function_params(e);
        b.switch_to_block(e);
        b.seal_block(e);
        b.seal_block(l);
        b.ins().jump(l, &[]); // to a sealed block
        b.ins().nop(); // after the terminator
        b.switch_to_block(l);
        b.ins().jump(e, &[]); // to the entry
    });
    assert!(errs.iter().any(|e| matches!(e, BuilderError::NoCurrentBlock(_))), "{errs:?}");
    assert!(errs.iter().any(|e| matches!(e, BuilderError::BranchToSealedBlock { .. })), "{errs:?}");
    assert!(errs.iter().any(|e| matches!(e, BuilderError::AfterTerminator { .. })), "{errs:?}");
    assert!(errs.iter().any(|e| matches!(e, BuilderError::BranchToEntry(_))), "{errs:?}");
}

#[test]
fn error_late_block_param_and_missing_block() {
    let errs = errors_of(|b| {
        let (e, l, never) = (b.create_block(), b.create_block(), b.create_block());
        b.append_block_params_for_function_params(e);
        b.switch_to_block(e);
        b.seal_block(e);
        let p = b.block_params(e)[0];
        b.ins().brif(p, l, &[], never, &[]);
        b.append_block_param(l, I64);
        b.switch_to_block(l);
        b.seal_block(l);
        b.seal_block(never);
        b.ins().return_(&[p]);
    });
    assert!(errs.iter().any(|e| matches!(e, BuilderError::LateBlockParam(_))), "{errs:?}");
    assert!(errs.iter().any(|e| matches!(e, BuilderError::MissingBlock(_))), "{errs:?}");
    assert!(errors_of(|_| {}).contains(&BuilderError::EmptyFunction));
}

#[test]
fn finalized_functions_have_no_aliases() {
    let f = build_loop(true);
    verify(&f);
    for block in f.layout.blocks() {
        for inst in f.layout.block_insts(block) {
            for v in f.dfg.inst_values(inst) {
                assert!(!f.dfg.value_is_alias(v), "{inst} uses alias {v}\n{}", f.display());
            }
        }
    }
}

#[test]
fn invalid_entities_are_errors_not_panics() {
    use kiln_ir::entity::EntityRef;
    let errs = errors_of(|b| {
        let e = b.create_block();
        b.append_block_params_for_function_params(e);
        b.switch_to_block(e);
        b.seal_block(e);
        let p = b.block_params(e)[0];
        let ghost_value = kiln_ir::Value::new(9999);
        b.ins().iadd(p, ghost_value);
        b.ins().call(kiln_ir::FuncRef::new(7), &[p]);
        b.ins().call_indirect(kiln_ir::SigRef::new(3), p, &[]);
        b.seal_block(kiln_ir::Block::new(500));
        b.switch_to_block(kiln_ir::Block::new(500));
        let l = b.create_block();
        b.ins().brif(p, l, &[], kiln_ir::Block::new(77), &[]);
        b.switch_to_block(l);
        b.seal_block(l);
        let t = b.create_block();
        b.ins().try_call(kiln_ir::FuncRef::new(1), &[], kiln_ir::ExceptionTable::new(5));
        b.switch_to_block(t);
        b.ins().br_table(p, kiln_ir::JumpTable::new(4));
    });
    assert!(errs.len() >= 7, "{errs:?}");
    for e in &errs {
        assert!(!e.to_string().is_empty());
    }
}

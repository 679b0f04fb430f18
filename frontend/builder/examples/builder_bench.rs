//! Throughput of IR construction with SSA variables: builds one large function many times
//! (a chain of loops, each containing a diamond, over many variables) with a reused
//! `FunctionBuilderContext`, and reports instructions built per second.
//!
//! ```text
//! cargo run --release -p kiln-frontend --example builder_bench [LOOPS] [VARS]
//! ```

use kiln_frontend::{FunctionBuilder, FunctionBuilderContext};
use kiln_ir::condcodes::IntCC;
use kiln_ir::extname::UserFuncName;
use kiln_ir::signature::{AbiParam, CallConv, Signature};
use kiln_ir::types::I64;
use kiln_ir::{Function, InstBuilder};
use std::time::Instant;

fn build(func: &mut Function, ctx: &mut FunctionBuilderContext, loops: usize, nvars: usize) {
    let mut b = FunctionBuilder::new(func, ctx);
    let vars: Vec<_> = (0..nvars).map(|_| b.declare_var(I64)).collect();
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let n = b.block_params(entry)[0];
    for &v in &vars {
        b.def_var(v, n);
    }
    for l in 0..loops {
        let (header, body, then, els, join, exit) = (
            b.create_block(),
            b.create_block(),
            b.create_block(),
            b.create_block(),
            b.create_block(),
            b.create_block(),
        );
        let i = vars[l % nvars];
        b.ins().jump(header, &[]);
        b.switch_to_block(header);
        let iv = b.use_var(i);
        let c = b.ins().icmp(IntCC::SignedLessThan, iv, n);
        b.ins().brif(c, body, &[], exit, &[]);
        b.switch_to_block(body);
        b.seal_block(body);
        let x = b.use_var(vars[(l * 7 + 1) % nvars]);
        b.ins().brif(x, then, &[], els, &[]);
        for (blk, k) in [(then, 3), (els, 5)] {
            b.switch_to_block(blk);
            b.seal_block(blk);
            let v = vars[(l * k + 2) % nvars];
            let a = b.use_var(v);
            let w = b.use_var(vars[(l + k) % nvars]);
            let s = b.ins().iadd(a, w);
            b.def_var(v, s);
            b.ins().jump(join, &[]);
        }
        b.switch_to_block(join);
        b.seal_block(join);
        let iv = b.use_var(i);
        let one = b.ins().iconst(I64, 1);
        let ni = b.ins().iadd(iv, one);
        b.def_var(i, ni);
        b.ins().jump(header, &[]);
        b.seal_block(header);
        b.switch_to_block(exit);
        b.seal_block(exit);
    }
    let mut acc = b.use_var(vars[0]);
    for &v in &vars[1..] {
        let x = b.use_var(v);
        acc = b.ins().bxor(acc, x);
    }
    b.ins().return_(&[acc]);
    let t = Instant::now();
    b.finalize().expect("valid function");
    if std::env::var("BENCH_DEBUG").is_ok() {
        eprintln!("finalize {:?}", t.elapsed());
    }
}

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>().ok());
    let loops = args.next().flatten().unwrap_or(1000);
    let nvars = args.next().flatten().unwrap_or(32).max(1);
    let mut sig = Signature::new(CallConv::SystemV);
    sig.params.push(AbiParam::new(I64));
    sig.returns.push(AbiParam::new(I64));
    let mut ctx = FunctionBuilderContext::new();
    let mut func = Function::new();
    let (mut insts, mut params, mut best) = (0, 0, f64::MAX);
    for _ in 0..10 {
        func.clear();
        func.name = UserFuncName::testcase("bench");
        func.signature = sig.clone();
        let t = Instant::now();
        build(&mut func, &mut ctx, loops, nvars);
        best = best.min(t.elapsed().as_secs_f64());
        insts = func.num_insts_in_layout();
        params = func.layout.blocks().map(|b| func.dfg.block_params(b).len()).sum();
    }
    let flags = kiln_ir::settings::Flags::default();
    kiln_ir::verifier::verify_function(&func, &kiln_ir::verifier::VerifierContext::new(&flags))
        .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "{loops} loops, {nvars} variables: {} blocks, {insts} instructions, {params} block parameters \
         built in {:.2} ms ({:.1} M instructions/s, best of 10)",
        func.layout.blocks().count(),
        best * 1e3,
        insts as f64 / best / 1e6
    );
}

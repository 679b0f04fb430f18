//! Test harness: verify functions built with the builder, run them with the reference
//! interpreter and natively through the JIT, and compare.
//!
//! Native calls go through a trampoline built with the `FunctionBuilder` itself:
//! `tramp(callee, buf)` loads the i64 arguments from `buf`, calls `callee` and stores its
//! i64 results back into `buf`; it is called under `call_guarded`, so traps are reported,
//! never fatal.

#![allow(dead_code)]

use kiln_frontend::{FunctionBuilder, FunctionBuilderContext};
use kiln_ir::extname::UserFuncName;
use kiln_ir::interp::{InterpConfig, Interpreter};
use kiln_ir::memflags::MemFlags;
use kiln_ir::signature::{AbiParam, CallConv, Signature};
use kiln_ir::types::I64;
use kiln_ir::{DataValue, Function, InstBuilder, Value};
use kiln_module::{FuncId, JitModule, Linkage, Module};

/// A System V signature of `params` i64 parameters and `returns` i64 results.
pub fn sig_i64(params: usize, returns: usize) -> Signature {
    let mut s = Signature::new(CallConv::SystemV);
    s.params.extend((0..params).map(|_| AbiParam::new(I64)));
    s.returns.extend((0..returns).map(|_| AbiParam::new(I64)));
    s
}

/// A new empty function named `%name`.
pub fn new_func(name: &str, sig: Signature) -> Function {
    Function::with_name_signature(UserFuncName::testcase(name), sig)
}

/// Fill `f` with one block: `body` gets the builder and the entry block's parameters and
/// returns the value to return. Panics if the builder reports an error.
pub fn build_single_block(f: &mut Function, body: impl FnOnce(&mut FunctionBuilder, &[Value]) -> Value) {
    let mut ctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(f, &mut ctx);
    let e = b.create_block();
    b.append_block_params_for_function_params(e);
    b.switch_to_block(e);
    b.seal_block(e);
    let ps = b.block_params(e).to_vec();
    let r = body(&mut b, &ps);
    b.ins().return_(&[r]);
    b.finalize().unwrap_or_else(|e| panic!("{e}"));
}

/// Panic with the function text unless the verifier accepts `f`.
pub fn verify(f: &Function) {
    let flags = kiln_ir::settings::Flags::default();
    if let Err(e) = kiln_ir::verifier::verify_function(f, &kiln_ir::verifier::VerifierContext::new(&flags)) {
        panic!("verifier errors:\n{e}\n{}", f.display());
    }
}

fn trampoline(sig: &Signature, ctx: &mut FunctionBuilderContext) -> Function {
    let mut f = new_func("__trampoline", sig_i64(2, 0));
    let mut b = FunctionBuilder::new(&mut f, ctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let (callee, buf) = (b.block_params(entry)[0], b.block_params(entry)[1]);
    let flags = MemFlags::trusted();
    let args: Vec<_> = (0..sig.params.len()).map(|k| b.ins().load(I64, flags, buf, 8 * k as i32)).collect();
    let sref = b.import_signature(sig.clone());
    let call = b.ins().call_indirect(sref, callee, &args);
    let results = b.inst_results(call).to_vec();
    for (k, r) in results.into_iter().enumerate() {
        b.ins().store(flags, r, buf, 8 * k as i32);
    }
    b.ins().return_(&[]);
    b.finalize().expect("trampoline");
    f
}

/// Functions compiled into one JIT module, callable with i64 arguments.
pub struct Jit {
    module: JitModule,
    funcs: Vec<(FuncId, usize, usize)>,
    trampolines: Vec<(usize, usize, FuncId)>,
}

impl Jit {
    /// Compile `funcs` (all-i64 signatures) into one module.
    pub fn new(funcs: &[Function]) -> Jit {
        let isa = kiln_isa::native(Default::default()).expect("host ISA");
        let mut module = JitModule::new(isa);
        let mut ctx = FunctionBuilderContext::new();
        let mut ids = Vec::new();
        for f in funcs {
            let id = module.declare_function(&f.name, Linkage::Export, &f.signature).expect("declare");
            ids.push((id, f.signature.params.len(), f.signature.returns.len()));
        }
        for (f, &(id, ..)) in funcs.iter().zip(&ids) {
            module.define_function(id, f.clone()).unwrap_or_else(|e| panic!("{e}\n{}", f.display()));
        }
        let mut trampolines = Vec::new();
        for &(_, p, r) in &ids {
            if trampolines.iter().any(|&(tp, tr, _)| (tp, tr) == (p, r)) {
                continue;
            }
            let t = trampoline(&sig_i64(p, r), &mut ctx);
            let id = module
                .declare_function(format!("__trampoline_{p}_{r}"), Linkage::Local, &t.signature)
                .expect("declare trampoline");
            module.define_function(id, t).expect("compile trampoline");
            trampolines.push((p, r, id));
        }
        module.finalize_definitions().expect("finalize");
        Jit { module, funcs: ids, trampolines }
    }

    /// Call function `index` natively.
    pub fn call(&self, index: usize, args: &[i64]) -> Result<Vec<i64>, String> {
        let (id, p, r) = self.funcs[index];
        assert_eq!(args.len(), p);
        let tramp = self.trampolines.iter().find(|t| (t.0, t.1) == (p, r)).expect("trampoline").2;
        let mut buf = vec![0i64; p.max(r).max(1)];
        buf[..p].copy_from_slice(args);
        let f = self.module.get_finalized_function(id).expect("finalized");
        let t = self.module.get_finalized_function(tramp).expect("finalized");
        // SAFETY: the trampoline was compiled for this signature and touches `max(p, r)`
        // slots of `buf`.
        unsafe { kiln_module::trap::call_guarded(t, f as usize, buf.as_mut_ptr() as usize) }
            .map_err(|t| t.to_string())?;
        buf.truncate(r);
        Ok(buf)
    }
}

/// Call function `index` with the reference interpreter.
pub fn interpret(funcs: &[Function], index: usize, args: &[i64]) -> Result<Vec<i64>, String> {
    let mut interp = Interpreter::new(funcs, InterpConfig::default());
    let args: Vec<DataValue> = args.iter().map(|&a| DataValue::I64(a)).collect();
    let out = interp.call(index, &args).map_err(|e| e.to_string())?;
    Ok(out
        .into_iter()
        .map(|v| match v {
            DataValue::I64(x) => x,
            other => panic!("unexpected result {other:?}"),
        })
        .collect())
}

/// Verify `funcs`, then check that the interpreter and the JIT both give `expected(args)`
/// for function `index` on every input.
pub fn check_all(funcs: &[Function], index: usize, inputs: &[Vec<i64>], expected: impl Fn(&[i64]) -> Vec<i64>) {
    for f in funcs {
        verify(f);
    }
    let jit = Jit::new(funcs);
    for args in inputs {
        let want = expected(args);
        let i = interpret(funcs, index, args).unwrap_or_else(|e| panic!("interpreter: {e}"));
        assert_eq!(i, want, "interpreter, args {args:?}\n{}", funcs[index].display());
        let j = jit.call(index, args).unwrap_or_else(|e| panic!("jit: {e}"));
        assert_eq!(j, want, "JIT, args {args:?}\n{}", funcs[index].display());
    }
}

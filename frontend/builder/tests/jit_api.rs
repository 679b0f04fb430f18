//! The embedder API of `kiln_module::JitModule` with functions built by the
//! `FunctionBuilder`: data objects (zero-initialized, read-only, with function and data
//! addresses), host functions by name, several finalize batches, and every error.

mod common;

use common::{build_single_block, new_func, sig_i64};
use kiln_frontend::{FunctionBuilder, FunctionBuilderContext};
use kiln_ir::memflags::MemFlags;
use kiln_ir::types::I64;
use kiln_ir::{Function, InstBuilder};
use kiln_module::{DataDescription, FuncOrDataId, JitModule, Linkage, Module, ModuleError};

fn module() -> JitModule {
    JitModule::new(kiln_isa::native(Default::default()).expect("host ISA"))
}

/// A function with `params` i64 parameters built by `body`, which gets the builder and the
/// parameters and returns the result.
fn func(
    name: &str,
    params: usize,
    body: impl FnOnce(&mut FunctionBuilder, &[kiln_ir::Value]) -> kiln_ir::Value,
) -> Function {
    let mut f = new_func(name, sig_i64(params, 1));
    build_single_block(&mut f, body);
    f
}

/// `callee(x)` inside a function being built: its single result.
fn call1(b: &mut FunctionBuilder, callee: kiln_ir::FuncRef, x: kiln_ir::Value) -> kiln_ir::Value {
    let c = b.ins().call(callee, &[x]);
    b.inst_results(c)[0]
}

fn as_fn1(p: *const u8) -> extern "sysv64" fn(i64) -> i64 {
    // SAFETY: every function of these tests has the signature (i64) -> i64.
    unsafe { std::mem::transmute(p) }
}

#[test]
fn data_objects_and_function_tables() {
    let mut m = module();
    let sig = sig_i64(1, 1);
    let double = m.declare_function("double", Linkage::Local, &sig).unwrap();
    let square = m.declare_function("square", Linkage::Local, &sig).unwrap();
    let counter = m.declare_data("counter", Linkage::Export, true).unwrap();
    let consts = m.declare_data("consts", Linkage::Local, false).unwrap();
    let table = m.declare_data("table", Linkage::Local, false).unwrap();
    let entry = m.declare_function("entry", Linkage::Export, &sig).unwrap();

    let f = func("double", 1, |b, p| b.ins().iadd(p[0], p[0]));
    m.define_function(double, f).unwrap();
    let f = func("square", 1, |b, p| b.ins().imul(p[0], p[0]));
    m.define_function(square, f).unwrap();

    let mut d = DataDescription::new();
    d.define_zeroinit(8);
    d.set_align(8);
    m.define_data(counter, &d).unwrap();
    let mut d = DataDescription::new();
    d.define([100i64.to_le_bytes(), 20i64.to_le_bytes()].concat().into_boxed_slice());
    m.define_data(consts, &d).unwrap();
    // table = [&double, &square, &consts + 8]
    let mut d = DataDescription::new();
    d.define_zeroinit(24);
    d.write_function_addr(0, double);
    d.write_function_addr(8, square);
    d.write_data_addr(16, consts, 8);
    m.define_data(table, &d).unwrap();

    // entry(x): counter += 1; f = table[x & 1]; return f(x) + *table[2] + consts[0]
    let mut f = new_func("entry", sig.clone());
    let gv_counter = m.declare_data_in_func(counter, &mut f).unwrap();
    let gv_table = m.declare_data_in_func(table, &mut f).unwrap();
    let gv_consts = m.declare_data_in_func(consts, &mut f).unwrap();
    build_single_block(&mut f, |b, p| {
        let x = p[0];
        let fl = MemFlags::trusted();
        let pc = b.ins().symbol_value(I64, gv_counter);
        let c = b.ins().load(I64, fl, pc, 0);
        let one = b.ins().iconst(I64, 1);
        let c1 = b.ins().iadd(c, one);
        b.ins().store(fl, c1, pc, 0);
        let pt = b.ins().symbol_value(I64, gv_table);
        let bit = b.ins().band(x, one);
        let eight = b.ins().iconst(I64, 8);
        let off = b.ins().imul(bit, eight);
        let slot = b.ins().iadd(pt, off);
        let callee = b.ins().load(I64, fl.with_readonly(), slot, 0);
        let sref = b.import_signature(sig.clone());
        let call = b.ins().call_indirect(sref, callee, &[x]);
        let r = b.inst_results(call)[0];
        let p20 = b.ins().load(I64, fl, pt, 16);
        let twenty = b.ins().load(I64, fl, p20, 0);
        let pk = b.ins().symbol_value(I64, gv_consts);
        let hundred = b.ins().load(I64, fl, pk, 0);
        let s = b.ins().iadd(r, twenty);
        b.ins().iadd(s, hundred)
    });
    m.define_function(entry, f).unwrap();
    m.finalize_definitions().unwrap();

    let run = as_fn1(m.get_finalized_function(entry).unwrap());
    assert_eq!(run(6), 12 + 120);
    assert_eq!(run(7), 49 + 120);
    let (p, size) = m.get_finalized_data(counter).unwrap();
    assert_eq!(size, 8);
    // SAFETY: `counter` is 8 writable bytes owned by the module.
    assert_eq!(unsafe { *(p as *const i64) }, 2);
    assert_eq!(m.get_name("counter"), Some(FuncOrDataId::Data(counter)));
    assert_eq!(m.get_name("entry"), Some(FuncOrDataId::Func(entry)));
    m.free_memory();
}

extern "C" fn host_triple(x: i64) -> i64 {
    3 * x
}

#[test]
fn host_functions_by_name_and_batches() {
    let mut m = module();
    m.add_symbol_lookup(Box::new(|name| (name == "host_triple").then_some(host_triple as *const u8)));
    let sig = sig_i64(1, 1);
    let labs = m.declare_function("labs", Linkage::Import, &sig).unwrap();
    let triple = m.declare_function("host_triple", Linkage::Import, &sig).unwrap();
    let first = m.declare_function("first", Linkage::Export, &sig).unwrap();
    let mut f = new_func("first", sig.clone());
    let labs_ref = m.declare_func_in_func(labs, &mut f).unwrap();
    let triple_ref = m.declare_func_in_func(triple, &mut f).unwrap();
    let mut ctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut f, &mut ctx);
    let e = b.create_block();
    b.append_block_params_for_function_params(e);
    b.switch_to_block(e);
    b.seal_block(e);
    let x = b.block_params(e)[0];
    let c = b.ins().call(labs_ref, &[x]);
    let a = b.inst_results(c)[0];
    let c = b.ins().call(triple_ref, &[a]);
    let t = b.inst_results(c)[0];
    b.ins().return_(&[t]);
    b.finalize().unwrap();
    m.define_function(first, f).unwrap();
    m.finalize_definitions().unwrap();
    assert_eq!(as_fn1(m.get_finalized_function(first).unwrap())(-14), 42);

    // A second batch calling into the first.
    let second = m.declare_function("second", Linkage::Export, &sig).unwrap();
    let mut f = new_func("second", sig.clone());
    let first_ref = m.declare_func_in_func(first, &mut f).unwrap();
    let mut ctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut f, &mut ctx);
    let e = b.create_block();
    b.append_block_params_for_function_params(e);
    b.switch_to_block(e);
    b.seal_block(e);
    let x = b.block_params(e)[0];
    let c = b.ins().call(first_ref, &[x]);
    let r = b.inst_results(c)[0];
    let one = b.ins().iconst(I64, 1);
    let r = b.ins().iadd(r, one);
    b.ins().return_(&[r]);
    b.finalize().unwrap();
    m.define_function(second, f).unwrap();
    m.finalize_definitions().unwrap();
    assert_eq!(as_fn1(m.get_finalized_function(second).unwrap())(5), 16);
}

#[test]
fn errors() {
    let mut m = module();
    let sig = sig_i64(1, 1);
    let other = sig_i64(2, 1);
    let f = m.declare_function("f", Linkage::Export, &sig).unwrap();
    // Compatible redeclarations return the same id.
    assert_eq!(m.declare_function("f", Linkage::Import, &sig).unwrap(), f);
    // Incompatible ones are errors.
    let incompatible = |r: Result<_, ModuleError>| matches!(r, Err(ModuleError::IncompatibleDeclaration(_)));
    assert!(incompatible(m.declare_function("f", Linkage::Export, &other).map(|_| ())));
    assert!(incompatible(m.declare_function("f", Linkage::Local, &sig).map(|_| ())));
    assert!(incompatible(m.declare_data("f", Linkage::Export, true).map(|_| ())));
    let d = m.declare_data("d", Linkage::Export, true).unwrap();
    assert!(incompatible(m.declare_data("d", Linkage::Export, false).map(|_| ())));
    assert!(incompatible(m.declare_function("d", Linkage::Export, &sig).map(|_| ())));

    // Duplicate definitions.
    m.define_function(f, func("f", 1, |_, p| p[0])).unwrap();
    let dup = m.define_function(f, func("f", 1, |_, p| p[0]));
    assert!(matches!(dup, Err(ModuleError::DuplicateDefinition(_))), "{dup:?}");
    let mut desc = DataDescription::new();
    assert!(matches!(m.define_data(d, &desc), Err(ModuleError::InvalidDefinition(_))));
    desc.define_zeroinit(4);
    desc.write_function_addr(0, f); // 8 bytes do not fit in 4
    assert!(matches!(m.define_data(d, &desc), Err(ModuleError::InvalidDefinition(_))));
    desc.define_zeroinit(8);
    m.define_data(d, &desc).unwrap();
    assert!(matches!(m.define_data(d, &desc), Err(ModuleError::DuplicateDefinition(_))));

    // A call to a declared but undefined function: finalize fails and changes nothing.
    let g = m.declare_function("g", Linkage::Local, &sig).unwrap();
    let caller = m.declare_function("caller", Linkage::Export, &sig).unwrap();
    let mut cf = new_func("caller", sig.clone());
    let g_ref = m.declare_func_in_func(g, &mut cf).unwrap();
    build_single_block(&mut cf, |b, p| call1(b, g_ref, p[0]));
    m.define_function(caller, cf).unwrap();
    let err = m.finalize_definitions().unwrap_err();
    assert!(matches!(err, ModuleError::Undefined(ref n) if n == "g"), "{err}");
    assert!(m.get_finalized_function(f).is_none());
    // Defining it makes the same batch finalize.
    m.define_function(g, func("g", 1, |b, p| b.ins().ineg(p[0]))).unwrap();
    m.finalize_definitions().unwrap();
    assert_eq!(as_fn1(m.get_finalized_function(caller).unwrap())(9), -9);
    assert_eq!(as_fn1(m.get_finalized_function(f).unwrap())(9), 9);

    // An import the host does not have.
    let missing = m.declare_function("kiln_no_such_symbol_anywhere", Linkage::Import, &sig).unwrap();
    let user = m.declare_function("user", Linkage::Export, &sig).unwrap();
    let mut uf = new_func("user", sig.clone());
    let mref = m.declare_func_in_func(missing, &mut uf).unwrap();
    build_single_block(&mut uf, |b, p| call1(b, mref, p[0]));
    m.define_function(user, uf).unwrap();
    let err = m.finalize_definitions().unwrap_err();
    assert!(matches!(err, ModuleError::Unresolved(_)), "{err}");
    assert!(err.to_string().contains("kiln_no_such_symbol_anywhere"), "{err}");
}

/// `f{i}(x) = f{i+1}(x) + i`, and the last one returns `2 * x`.
fn chain_function(m: &JitModule, ids: &[kiln_module::FuncId], i: usize) -> Function {
    let mut f = new_func(&format!("f{i}"), sig_i64(1, 1));
    let next = ids.get(i + 1).map(|&id| m.declare_func_in_func(id, &mut f).unwrap());
    let mut ctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut f, &mut ctx);
    let e = b.create_block();
    b.append_block_params_for_function_params(e);
    b.switch_to_block(e);
    b.seal_block(e);
    let x = b.block_params(e)[0];
    let r = match next {
        Some(next) => {
            let c = b.ins().call(next, &[x]);
            let r = b.inst_results(c)[0];
            let k = b.ins().iconst(I64, i as i64);
            b.ins().iadd(r, k)
        }
        None => b.ins().iadd(x, x),
    };
    b.ins().return_(&[r]);
    b.finalize().unwrap();
    f
}

#[test]
fn batch_definition_on_all_cores() {
    let mut m = module();
    let sig = sig_i64(1, 1);
    let n = 64;
    let ids: Vec<_> = (0..n).map(|i| m.declare_function(format!("f{i}"), Linkage::Local, &sig).unwrap()).collect();
    let defs: Vec<_> = (0..n).map(|i| (ids[i], chain_function(&m, &ids, i))).collect();
    // The same code as one-by-one compilation.
    let mut seq = module();
    let seq_ids: Vec<_> =
        (0..n).map(|i| seq.declare_function(format!("f{i}"), Linkage::Local, &sig).unwrap()).collect();
    for (i, (_, f)) in defs.iter().enumerate() {
        seq.define_function(seq_ids[i], f.clone()).unwrap();
    }
    m.define_functions_with_threads(defs, 4).unwrap();
    m.finalize_definitions().unwrap();
    seq.finalize_definitions().unwrap();
    for i in 0..n {
        assert_eq!(m.function_size(ids[i]), seq.function_size(seq_ids[i]), "f{i}");
    }
    let expected = 2 + (0..n as i64 - 1).sum::<i64>();
    assert_eq!(as_fn1(m.get_finalized_function(ids[0]).unwrap())(1), expected);
}

#[test]
fn batch_definition_is_all_or_nothing() {
    let mut m = module();
    let sig = sig_i64(1, 1);
    let a = m.declare_function("a", Linkage::Export, &sig).unwrap();
    let b = m.declare_function("b", Linkage::Export, &sig).unwrap();
    // A function the x86-64 backend does not support (a 256-bit vector type).
    let text = "function %v(i64x4) -> i64x4 {\nblock0(v0: i64x4):\n    v1 = iadd v0, v0\n    return v1\n}\n";
    let vf = kiln_ir::text::parse_functions(text).unwrap().pop().unwrap();
    let v = m.declare_function("v", Linkage::Export, &vf.signature).unwrap();
    let good = || {
        func("a", 1, |b, p| {
            let one = b.ins().iconst(I64, 1);
            b.ins().iadd(p[0], one)
        })
    };
    let err = m.define_functions(vec![(a, good()), (v, vf), (b, func("b", 1, |_, p| p[0]))]).unwrap_err();
    assert!(matches!(err, ModuleError::Compilation { ref name, .. } if name == "v"), "{err}");
    assert!(err.to_string().contains("unsupported"), "{err}");
    // Nothing of the failed batch was defined, so `a` can still be defined; listing a
    // function twice is refused.
    let dup = m.define_functions(vec![(a, good()), (a, good())]).unwrap_err();
    assert!(matches!(dup, ModuleError::DuplicateDefinition(_)), "{dup}");
    m.define_functions(vec![(a, good()), (b, func("b", 1, |b, p| b.ins().ineg(p[0])))]).unwrap();
    m.finalize_definitions().unwrap();
    assert_eq!(as_fn1(m.get_finalized_function(a).unwrap())(41), 42);
    assert_eq!(as_fn1(m.get_finalized_function(b).unwrap())(5), -5);
}

//! Every trap comes back as a typed `Trap` and leaves the process and the instance usable.

use kiln_wasm::runtime::{Engine, Error, Extern, Func, Instance, Module, Store, Trap, TrapKind, Val};
use kiln_wasm::types::{FuncType, ValType};

fn wat(text: &str) -> Vec<u8> {
    let buf = wast::parser::ParseBuffer::new(text).unwrap();
    let mut w: wast::Wat = wast::parser::parse(&buf).unwrap();
    w.encode().unwrap()
}

const MODULE: &str = r#"
(module
  (import "env" "host" (func $host (param i32) (result i32)))
  (memory 1)
  (table 2 funcref)
  (type $v (func))
  (elem (i32.const 0) $nop)
  (func $nop)
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "trunc") (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))
  (func (export "unreachable") unreachable)
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  ;; A load folded into the rounding instruction (roundsd with a memory operand).
  (func (export "ceil_load") (param i32) (result f64) (f64.ceil (f64.load (local.get 0))))
  (func (export "store") (param i32) (i32.store (local.get 0) (i32.const 7)))
  (func (export "icall") (param i32) (call_indirect (type $v) (local.get 0)))
  (func (export "icall_sig") (param i32) (result i32) (call_indirect (param) (result i32) (local.get 0)))
  (func $rec (export "rec") (param i32) (result i32) (i32.add (i32.const 1) (call $rec (local.get 0))))
  (func (export "host") (param i32) (result i32) (call $host (local.get 0)))
  (func (export "fill") (param i32 i32) (memory.fill (local.get 0) (i32.const 1) (local.get 1)))
  (func (export "ok") (result i32) (i32.const 42))
)"#;

fn trap_kind(r: Result<Vec<Val>, Error>) -> TrapKind {
    match r {
        Err(Error::Trap(t)) => t.kind,
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn traps_are_typed_and_recoverable() {
    let engine = Engine::default();
    let module = Module::new(&engine, &wat(MODULE)).unwrap();
    let mut store = Store::new(&engine);
    let host = Func::new(&mut store, FuncType::new([ValType::I32], [ValType::I32]), |args, res| {
        let x = args[0].unwrap_i32();
        if x < 0 {
            return Err(Trap::host("negative"));
        }
        res[0] = Val::I32(x * 2);
        Ok(())
    });
    let inst = Instance::new(&mut store, &module, &[Extern::Func(host)]).unwrap();
    let f = |store: &Store, n: &str| inst.get_func(store, n).unwrap();
    let ok = f(&store, "ok");
    let cases: Vec<(&str, Vec<Val>, TrapKind)> = vec![
        ("div", vec![Val::I32(1), Val::I32(0)], TrapKind::IntegerDivideByZero),
        ("div", vec![Val::I32(i32::MIN), Val::I32(-1)], TrapKind::IntegerOverflow),
        ("trunc", vec![Val::F64(f64::NAN.to_bits())], TrapKind::InvalidConversionToInteger),
        ("trunc", vec![Val::F64(1e10f64.to_bits())], TrapKind::IntegerOverflow),
        ("unreachable", vec![], TrapKind::Unreachable),
        ("load", vec![Val::I32(65534)], TrapKind::MemoryOutOfBounds),
        ("load", vec![Val::I32(-1)], TrapKind::MemoryOutOfBounds),
        ("ceil_load", vec![Val::I32(70000)], TrapKind::MemoryOutOfBounds),
        ("store", vec![Val::I32(65536)], TrapKind::MemoryOutOfBounds),
        ("icall", vec![Val::I32(1)], TrapKind::UninitializedElement),
        ("icall", vec![Val::I32(2)], TrapKind::UndefinedElement),
        ("icall_sig", vec![Val::I32(0)], TrapKind::IndirectCallTypeMismatch),
        ("rec", vec![Val::I32(0)], TrapKind::StackOverflow),
        ("host", vec![Val::I32(-1)], TrapKind::Host),
        ("fill", vec![Val::I32(65000), Val::I32(1000)], TrapKind::MemoryOutOfBounds),
    ];
    for (name, args, kind) in cases {
        assert_eq!(trap_kind(f(&store, name).call(&mut store, &args)), kind, "{name}({args:?})");
        // The instance is still usable.
        assert_eq!(ok.call(&mut store, &[]).unwrap(), vec![Val::I32(42)]);
    }
    assert_eq!(f(&store, "host").call(&mut store, &[Val::I32(21)]).unwrap(), vec![Val::I32(42)]);
    assert_eq!(f(&store, "load").call(&mut store, &[Val::I32(65532)]).unwrap(), vec![Val::I32(0)]);
}

#[test]
fn stack_overflow_on_a_small_thread_stack() {
    // A thread with a small stack: the limit adapts to it, the overflow is still a trap.
    let bytes = wat(MODULE);
    std::thread::Builder::new()
        .stack_size(512 << 10)
        .spawn(move || {
            let engine = Engine::default();
            let module = Module::new(&engine, &bytes).unwrap();
            let mut store = Store::new(&engine);
            let host = Func::new(&mut store, FuncType::new([ValType::I32], [ValType::I32]), |_, _| Ok(()));
            let inst = Instance::new(&mut store, &module, &[Extern::Func(host)]).unwrap();
            let rec = inst.get_func(&store, "rec").unwrap();
            for _ in 0..3 {
                assert_eq!(trap_kind(rec.call(&mut store, &[Val::I32(0)])), TrapKind::StackOverflow);
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

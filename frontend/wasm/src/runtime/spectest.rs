//! The `spectest` host module the WebAssembly spec tests import: `print*` functions (which
//! print nothing), the globals `global_i32` (666), `global_i64` (666), `global_f32`
//! (666.6), `global_f64` (666.6), `table` (10 funcrefs, max 20), `table64` (10, max 20,
//! 64-bit) and `memory` (1 page, max 2).

use super::store::{Extern, Func, Global, Memory, Store, Table, Val};
use crate::types::{FuncType, GlobalType, Limits, MemoryType, TableType, ValType};
use std::collections::HashMap;

/// The exports of a fresh `spectest` module in `store`, by name.
pub fn spectest(store: &mut Store) -> Result<HashMap<&'static str, Extern>, String> {
    use ValType::*;
    let mut m = HashMap::new();
    let prints: [(&str, &[ValType]); 7] = [
        ("print", &[]),
        ("print_i32", &[I32]),
        ("print_i64", &[I64]),
        ("print_f32", &[F32]),
        ("print_f64", &[F64]),
        ("print_i32_f32", &[I32, F32]),
        ("print_f64_f64", &[F64, F64]),
    ];
    for (name, params) in prints {
        let f = Func::new(store, FuncType::new(params.to_vec(), []), |_, _| Ok(()));
        m.insert(name, Extern::Func(f));
    }
    let globals = [
        ("global_i32", I32, Val::I32(666)),
        ("global_i64", I64, Val::I64(666)),
        ("global_f32", F32, Val::F32(666.6f32.to_bits())),
        ("global_f64", F64, Val::F64(666.6f64.to_bits())),
    ];
    for (name, ty, v) in globals {
        let g = Global::new(store, GlobalType { ty, mutable: false }, v)?;
        m.insert(name, Extern::Global(g));
    }
    let limits = Limits { min: 10, max: Some(20) };
    let t = Table::new(store, TableType { elem: FuncRef, limits, table64: false }, Val::FuncRef(None))?;
    m.insert("table", Extern::Table(t));
    let t = Table::new(store, TableType { elem: FuncRef, limits, table64: true }, Val::FuncRef(None))?;
    m.insert("table64", Extern::Table(t));
    let mem = Memory::new(
        store,
        MemoryType { limits: Limits { min: 1, max: Some(2) }, memory64: false, page_size_log2: 16 },
    )?;
    m.insert("memory", Extern::Memory(mem));
    Ok(m)
}

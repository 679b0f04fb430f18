//! The [`Store`]: owner of every instance, memory, table, global and host function, and the
//! handles and values the embedding API passes around.
//!
//! Handles ([`Memory`], [`Table`], [`Global`], [`Instance`]) are indices into their store;
//! a [`Func`] is the address of its `VMFuncRef`, which is what compiled code passes around
//! as a `funcref`. Everything a store owns stays at the same address until the store is
//! dropped (it is boxed), because compiled code and other instances point to it. A handle
//! must only be used with the store that made it.
//!
//! Values cross into and out of compiled code as 16-byte little-endian slots
//! ([`Val::to_raw`] / [`Val::from_raw`]).

use super::engine::Engine;
use super::instance::InstanceData;
use super::memory::MemoryData;
use super::table::TableData;
use super::trap::Trap;
use super::vmctx::{VMFuncRef, VMStoreContext};
use crate::types::{FuncType, GlobalType, ValType};
use core::ptr::NonNull;

/// A function: a reference to its `VMFuncRef` (Wasm or host).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Func(pub(crate) NonNull<VMFuncRef>);

// SAFETY: a Func is an address; using it requires its store (see the module docs).
unsafe impl Send for Func {}
unsafe impl Sync for Func {}

impl Func {
    /// The raw funcref value (the `VMFuncRef` address).
    pub fn as_raw(&self) -> usize {
        self.0.as_ptr() as usize
    }

    /// A Func from a nonzero raw funcref value produced by this runtime.
    pub(crate) fn from_raw(raw: usize) -> Option<Func> {
        NonNull::new(raw as *mut VMFuncRef).map(Func)
    }

    pub(crate) fn funcref(&self) -> VMFuncRef {
        // SAFETY: a Func points to a live VMFuncRef of its store.
        unsafe { *self.0.as_ptr() }
    }

    /// The function's type.
    pub fn ty(&self, store: &Store) -> FuncType {
        store.engine.func_type(self.funcref().type_id)
    }
}

/// A value.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Val {
    /// `i32`.
    I32(i32),
    /// `i64`.
    I64(i64),
    /// `f32`, as bits.
    F32(u32),
    /// `f64`, as bits.
    F64(u64),
    /// `v128`.
    V128(u128),
    /// `funcref`.
    FuncRef(Option<Func>),
    /// `externref`: a host payload (any `u64` but `u64::MAX`).
    ExternRef(Option<u64>),
}

impl Val {
    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FuncRef,
            Val::ExternRef(_) => ValType::ExternRef,
        }
    }

    /// The `i32`, or 0.
    pub fn unwrap_i32(&self) -> i32 {
        if let Val::I32(v) = self { *v } else { 0 }
    }

    /// The zero (or null) value of `ty`.
    pub fn default_for(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::FuncRef => Val::FuncRef(None),
            ValType::ExternRef => Val::ExternRef(None),
        }
    }

    /// The 16-byte slot form.
    pub fn to_raw(&self) -> u128 {
        match *self {
            Val::I32(v) => v as u32 as u128,
            Val::I64(v) => v as u64 as u128,
            Val::F32(v) => v as u128,
            Val::F64(v) => v as u128,
            Val::V128(v) => v,
            Val::FuncRef(f) => f.map_or(0, |f| f.as_raw() as u128),
            Val::ExternRef(e) => e.map_or(0, |e| e.wrapping_add(1) as u128),
        }
    }

    /// A value of type `ty` from its slot form.
    pub fn from_raw(raw: u128, ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(raw as u32 as i32),
            ValType::I64 => Val::I64(raw as u64 as i64),
            ValType::F32 => Val::F32(raw as u32),
            ValType::F64 => Val::F64(raw as u64),
            ValType::V128 => Val::V128(raw),
            ValType::FuncRef => Val::FuncRef(Func::from_raw(raw as u64 as usize)),
            ValType::ExternRef => {
                let r = raw as u64;
                Val::ExternRef(if r == 0 { None } else { Some(r - 1) })
            }
        }
    }
}

/// A memory of a store.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Memory(pub(crate) u32);

/// A table of a store.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Table(pub(crate) u32);

/// A global of a store.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Global(pub(crate) u32);

/// An instance of a store.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Instance(pub(crate) u32);

/// Anything an instance can import or export.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A table.
    Table(Table),
    /// A memory.
    Memory(Memory),
    /// A global.
    Global(Global),
}

/// Where a global's value lives: in an instance's vmctx or in a host-made box.
pub(crate) struct GlobalEntry {
    pub ptr: *mut u128,
    pub ty: GlobalType,
}

/// The host function behind a [`Func::new`].
pub type HostFn = Box<dyn Fn(&[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync>;

/// A host function's data; its address is the vmctx its adapter receives.
#[repr(C)]
pub(crate) struct HostFuncData {
    pub funcref: VMFuncRef,
    pub ty: FuncType,
    pub f: HostFn,
}

/// Owns instances and everything they create or import. See the module documentation.
pub struct Store {
    pub(crate) engine: Engine,
    pub(crate) ctx: Box<VMStoreContext>,
    pub(crate) instances: Vec<Box<InstanceData>>,
    pub(crate) memories: Vec<Box<MemoryData>>,
    pub(crate) tables: Vec<Box<TableData>>,
    pub(crate) globals: Vec<GlobalEntry>,
    pub(crate) host_globals: Vec<Box<u128>>,
    pub(crate) host_funcs: Vec<Box<HostFuncData>>,
}

impl Store {
    /// An empty store of `engine`.
    pub fn new(engine: &Engine) -> Store {
        Store {
            engine: engine.clone(),
            ctx: Box::new(VMStoreContext::default()),
            instances: Vec::new(),
            memories: Vec::new(),
            tables: Vec::new(),
            globals: Vec::new(),
            host_globals: Vec::new(),
            host_funcs: Vec::new(),
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub(crate) fn memory_data(&self, m: Memory) -> &MemoryData {
        &self.memories[m.0 as usize]
    }

    pub(crate) fn add_memory(&mut self, m: Box<MemoryData>) -> Memory {
        self.memories.push(m);
        Memory(self.memories.len() as u32 - 1)
    }

    pub(crate) fn add_table(&mut self, t: Box<TableData>) -> Table {
        self.tables.push(t);
        Table(self.tables.len() as u32 - 1)
    }

    pub(crate) fn add_global(&mut self, ptr: *mut u128, ty: GlobalType) -> Global {
        self.globals.push(GlobalEntry { ptr, ty });
        Global(self.globals.len() as u32 - 1)
    }
}

impl Memory {
    /// A new memory of type `ty` (initially `ty.limits.min` pages).
    pub fn new(store: &mut Store, ty: crate::types::MemoryType) -> Result<Memory, String> {
        let m = MemoryData::new(ty)?;
        Ok(store.add_memory(m))
    }

    /// The contents.
    pub fn data<'s>(&self, store: &'s Store) -> &'s [u8] {
        store.memory_data(*self).data()
    }

    /// The contents, writable.
    pub fn data_mut<'s>(&self, store: &'s mut Store) -> &'s mut [u8] {
        store.memories[self.0 as usize].data_mut()
    }

    /// The size in pages.
    pub fn size(&self, store: &Store) -> u64 {
        store.memory_data(*self).pages()
    }

    /// Grow by `delta` pages: the old size, or `None` if not possible.
    pub fn grow(&self, store: &mut Store, delta: u64) -> Option<u64> {
        store.memories[self.0 as usize].grow(delta)
    }

    /// The type (with the current size as minimum).
    pub fn ty(&self, store: &Store) -> crate::types::MemoryType {
        let m = store.memory_data(*self);
        let mut ty = m.ty;
        ty.limits.min = m.pages();
        ty
    }
}

impl Table {
    /// A new table of type `ty`, every element `init`.
    pub fn new(store: &mut Store, ty: crate::types::TableType, init: Val) -> Result<Table, String> {
        if init.ty() != ty.elem {
            return Err(format!("initial value of type {} for a table of {}", init.ty(), ty.elem));
        }
        let t = TableData::new(ty, init.to_raw() as usize)?;
        Ok(store.add_table(t))
    }

    /// The number of elements.
    pub fn size(&self, store: &Store) -> u64 {
        store.tables[self.0 as usize].def.length
    }

    /// Element `index`.
    pub fn get(&self, store: &Store, index: u64) -> Option<Val> {
        let t = &store.tables[self.0 as usize];
        let raw = *t.elements().get(usize::try_from(index).ok()?)?;
        Some(Val::from_raw(raw as u128, t.ty.elem))
    }

    /// Set element `index`.
    pub fn set(&self, store: &mut Store, index: u64, val: Val) -> Result<(), String> {
        let t = &mut store.tables[self.0 as usize];
        if val.ty() != t.ty.elem {
            return Err("type mismatch".into());
        }
        let slot = usize::try_from(index).ok().and_then(|i| t.elements_mut().get_mut(i)).ok_or("out of bounds")?;
        *slot = val.to_raw() as usize;
        Ok(())
    }

    /// The type (with the current size as minimum).
    pub fn ty(&self, store: &Store) -> crate::types::TableType {
        let t = &store.tables[self.0 as usize];
        let mut ty = t.ty;
        ty.limits.min = t.def.length;
        ty
    }
}

impl Global {
    /// A new global of type `ty` with value `val`.
    pub fn new(store: &mut Store, ty: GlobalType, val: Val) -> Result<Global, String> {
        if val.ty() != ty.ty {
            return Err(format!("value of type {} for a global of type {}", val.ty(), ty.ty));
        }
        let mut b = Box::new(val.to_raw());
        let ptr: *mut u128 = &mut *b;
        store.host_globals.push(b);
        Ok(store.add_global(ptr, ty))
    }

    /// The value.
    pub fn get(&self, store: &Store) -> Val {
        let g = &store.globals[self.0 as usize];
        // SAFETY: the pointer is to a live 16-byte slot of this store.
        Val::from_raw(unsafe { g.ptr.read() }, g.ty.ty)
    }

    /// Set the value (the global must be mutable).
    pub fn set(&self, store: &mut Store, val: Val) -> Result<(), String> {
        let g = &store.globals[self.0 as usize];
        if !g.ty.mutable || val.ty() != g.ty.ty {
            return Err("immutable global or type mismatch".into());
        }
        // SAFETY: as for `get`; `&mut Store` excludes running code.
        unsafe { g.ptr.write(val.to_raw()) };
        Ok(())
    }

    /// The type.
    pub fn ty(&self, store: &Store) -> GlobalType {
        store.globals[self.0 as usize].ty
    }
}

//! Instantiation: check the imports against the module's declarations, lay out the vmctx,
//! create the memories, tables and globals the module defines, apply the active element
//! and data segments (in order; a segment out of bounds traps and leaves the earlier ones
//! applied, as the spec says), then run the start function. Exports are looked up by name.
//!
//! The instance is registered in the store before segments are applied, so the funcrefs
//! they write stay valid even when instantiation fails.

use super::engine::{Error, Module};
use super::memory::MemoryData;
use super::store::{Extern, Func, Global, Instance, Memory, Store, Table};
use super::table::TableData;
use super::trap::{Trap, TrapKind};
use super::vmctx::{VMCTX_INSTANCE, VMCTX_STORE, VMFuncRef, VMFunctionImport};
use crate::module::{ConstExpr, ConstOp, DataMode, ElementMode, ExternKind, ImportKind};
use crate::types::Limits;

/// The runtime's side of an instance.
pub struct InstanceData {
    pub(crate) module: Module,
    /// The vmctx (16-byte aligned; never moves).
    vmctx: Box<[u128]>,
    memories: Vec<Memory>,
    memory_ptrs: Vec<*mut MemoryData>,
    tables: Vec<Table>,
    table_ptrs: Vec<*mut TableData>,
    globals: Vec<Global>,
    dropped_data: Vec<bool>,
    /// Evaluated element segments (raw references); emptied when dropped.
    elements: Vec<Vec<usize>>,
}

impl InstanceData {
    pub(crate) fn vmctx_ptr(&self) -> *mut u8 {
        self.vmctx.as_ptr() as *mut u8
    }

    fn write<T: Copy>(&mut self, offset: i32, v: T) {
        // SAFETY: offsets come from VMOffsets, inside the vmctx, suitably aligned.
        unsafe { self.vmctx_ptr().add(offset as usize).cast::<T>().write(v) }
    }

    fn read<T: Copy>(&self, offset: i32) -> T {
        // SAFETY: as for `write`.
        unsafe { self.vmctx_ptr().add(offset as usize).cast::<T>().read() }
    }

    pub(crate) fn memory_mut(&mut self, i: u32) -> &mut MemoryData {
        // SAFETY: memories are owned by the store, which outlives running code.
        unsafe { &mut *self.memory_ptrs[i as usize] }
    }

    pub(crate) fn table_mut(&mut self, i: u32) -> &mut TableData {
        // SAFETY: as above.
        unsafe { &mut *self.table_ptrs[i as usize] }
    }

    pub(crate) fn same_table(&self, a: u32, b: u32) -> bool {
        self.table_ptrs[a as usize] == self.table_ptrs[b as usize]
    }

    pub(crate) fn data_segment(&self, seg: u32) -> &[u8] {
        if self.dropped_data[seg as usize] { &[] } else { &self.module.0.info.data[seg as usize].bytes }
    }

    pub(crate) fn drop_data(&mut self, seg: u32) {
        self.dropped_data[seg as usize] = true;
    }

    pub(crate) fn element_segment(&self, seg: u32) -> &[usize] {
        &self.elements[seg as usize]
    }

    pub(crate) fn drop_element(&mut self, seg: u32) {
        self.elements[seg as usize] = Vec::new();
    }

    /// The funcref of function `index`.
    fn funcref(&self, index: u32) -> usize {
        let m = &self.module.0;
        if m.info.is_imported_func(index) {
            self.read::<usize>(m.offsets.imported_func(index))
        } else {
            self.vmctx_ptr() as usize + m.offsets.defined_funcref(index) as usize
        }
    }

    /// The value of global `index` (slot form).
    fn global_value(&self, index: u32) -> u128 {
        let (off, imported) = self.module.0.offsets.global(index);
        if imported {
            let p: usize = self.read(off);
            // SAFETY: an imported global's slot pointer, live in the store.
            unsafe { (p as *const u128).read() }
        } else {
            self.read::<u128>(off)
        }
    }

    /// Evaluate a constant expression (its value in slot form).
    fn eval(&self, e: &ConstExpr) -> Result<u128, Error> {
        let mut stack: Vec<u128> = Vec::with_capacity(4);
        for op in &e.0 {
            let v = match *op {
                ConstOp::I32(v) => v as u32 as u128,
                ConstOp::I64(v) => v as u64 as u128,
                ConstOp::F32(v) => v as u128,
                ConstOp::F64(v) => v as u128,
                ConstOp::V128(v) => v,
                ConstOp::GlobalGet(g) => self.global_value(g),
                ConstOp::RefNull => 0,
                ConstOp::RefFunc(f) => self.funcref(f) as u128,
                ConstOp::I32Add
                | ConstOp::I32Sub
                | ConstOp::I32Mul
                | ConstOp::I64Add
                | ConstOp::I64Sub
                | ConstOp::I64Mul => {
                    let (Some(y), Some(x)) = (stack.pop(), stack.pop()) else {
                        return Err(Error::Other("malformed constant expression".into()));
                    };
                    match *op {
                        ConstOp::I32Add => (x as u32).wrapping_add(y as u32) as u128,
                        ConstOp::I32Sub => (x as u32).wrapping_sub(y as u32) as u128,
                        ConstOp::I32Mul => (x as u32).wrapping_mul(y as u32) as u128,
                        ConstOp::I64Add => (x as u64).wrapping_add(y as u64) as u128,
                        ConstOp::I64Sub => (x as u64).wrapping_sub(y as u64) as u128,
                        _ => (x as u64).wrapping_mul(y as u64) as u128,
                    }
                }
            };
            stack.push(v);
        }
        stack.pop().ok_or_else(|| Error::Other("empty constant expression".into()))
    }

    /// A segment offset (an `i32` or, for 64-bit memories/tables, `i64`) as unsigned.
    fn eval_offset(&self, e: &ConstExpr, is64: bool) -> Result<u64, Error> {
        let v = self.eval(e)?;
        Ok(if is64 { v as u64 } else { v as u32 as u64 })
    }
}

fn limits_match(actual: Limits, decl: Limits) -> bool {
    actual.min >= decl.min
        && match decl.max {
            None => true,
            Some(dm) => actual.max.is_some_and(|am| am <= dm),
        }
}

fn link_error(module: &str, name: &str, why: &str) -> Error {
    Error::Link(format!("incompatible import type for `{module}::{name}`: {why}"))
}

impl Instance {
    /// Instantiate `module` in `store` with `imports` (in the order of the module's
    /// imports).
    pub fn new(store: &mut Store, module: &Module, imports: &[Extern]) -> Result<Instance, Error> {
        let m = &module.0;
        let info = &m.info;
        if imports.len() != info.imports.len() {
            return Err(Error::Link(format!("{} imports given, {} expected", imports.len(), info.imports.len())));
        }
        let mut data = Box::new(InstanceData {
            module: module.clone(),
            vmctx: vec![0u128; m.offsets.size as usize / 16].into_boxed_slice(),
            memories: Vec::new(),
            memory_ptrs: Vec::new(),
            tables: Vec::new(),
            table_ptrs: Vec::new(),
            globals: Vec::new(),
            dropped_data: vec![false; info.data.len()],
            elements: vec![Vec::new(); info.elements.len()],
        });
        let self_ptr: *mut InstanceData = &mut *data;
        data.write(VMCTX_INSTANCE, self_ptr as usize);
        let ctx_ptr: *mut _ = &mut *store.ctx;
        data.write(VMCTX_STORE, ctx_ptr as usize);

        // Imports.
        for (imp, ext) in info.imports.iter().zip(imports) {
            match (&imp.kind, ext) {
                (ImportKind::Func(t), Extern::Func(f)) => {
                    let fr = f.funcref();
                    if fr.type_id != m.type_ids[*t as usize] {
                        return Err(link_error(&imp.module, &imp.name, "function types differ"));
                    }
                    let rec = VMFunctionImport { funcref: f.as_raw(), code: fr.code, vmctx: fr.vmctx };
                    data.write(m.offsets.imported_func(imp.index), rec);
                }
                (ImportKind::Table(tt), Extern::Table(t)) => {
                    let actual = t.ty(store);
                    if actual.elem != tt.elem || actual.table64 != tt.table64 || !limits_match(actual.limits, tt.limits)
                    {
                        return Err(link_error(&imp.module, &imp.name, "table types differ"));
                    }
                    let p: *mut TableData = &mut *store.tables[t.0 as usize];
                    // SAFETY: `p` is a live table of this store.
                    data.write(m.offsets.table(imp.index), unsafe { &mut (*p).def } as *mut _ as usize);
                    data.tables.push(*t);
                    data.table_ptrs.push(p);
                }
                (ImportKind::Memory(mt), Extern::Memory(mem)) => {
                    let actual = mem.ty(store);
                    if actual.memory64 != mt.memory64
                        || actual.page_size_log2 != mt.page_size_log2
                        || !limits_match(actual.limits, mt.limits)
                    {
                        return Err(link_error(&imp.module, &imp.name, "memory types differ"));
                    }
                    let p: *mut MemoryData = &mut *store.memories[mem.0 as usize];
                    // SAFETY: `p` is a live memory of this store.
                    data.write(m.offsets.memory(imp.index), unsafe { &mut (*p).def } as *mut _ as usize);
                    data.memories.push(*mem);
                    data.memory_ptrs.push(p);
                }
                (ImportKind::Global(gt), Extern::Global(g)) => {
                    if g.ty(store) != *gt {
                        return Err(link_error(&imp.module, &imp.name, "global types differ"));
                    }
                    let ptr = store.globals[g.0 as usize].ptr;
                    data.write(m.offsets.global(imp.index).0, ptr as usize);
                    data.globals.push(*g);
                }
                _ => return Err(link_error(&imp.module, &imp.name, "the kinds differ")),
            }
        }

        // Defined functions.
        let vmctx = data.vmctx_ptr() as usize;
        for (k, &code) in m.func_addrs.iter().enumerate() {
            let index = info.num_imported_funcs + k as u32;
            let type_id = m.type_ids[info.funcs[index as usize] as usize];
            data.write(m.offsets.defined_funcref(index), VMFuncRef { code, vmctx, type_id, _pad: 0 });
        }
        // Defined globals, in order (an initializer may read earlier globals).
        for index in info.num_imported_globals..info.globals.len() as u32 {
            let g = &info.globals[index as usize];
            let v = match &g.init {
                Some(e) => data.eval(e)?,
                None => 0,
            };
            let (off, _) = m.offsets.global(index);
            data.write(off, v);
            let ptr = (vmctx + off as usize) as *mut u128;
            let handle = store.add_global(ptr, g.ty);
            data.globals.push(handle);
        }
        // Defined memories and tables.
        for &mt in &info.memories[info.num_imported_memories as usize..] {
            let mem = MemoryData::new(mt).map_err(Error::Other)?;
            let handle = store.add_memory(mem);
            let p: *mut MemoryData = &mut *store.memories[handle.0 as usize];
            let index = data.memories.len() as u32;
            // SAFETY: `p` is a live memory of this store.
            data.write(m.offsets.memory(index), unsafe { &mut (*p).def } as *mut _ as usize);
            data.memories.push(handle);
            data.memory_ptrs.push(p);
        }
        for t in &info.tables[info.num_imported_tables as usize..] {
            let init = match &t.init {
                Some(e) => data.eval(e)? as usize,
                None => 0,
            };
            let table = TableData::new(t.ty, init).map_err(Error::Other)?;
            let handle = store.add_table(table);
            let p: *mut TableData = &mut *store.tables[handle.0 as usize];
            let index = data.tables.len() as u32;
            // SAFETY: `p` is a live table of this store.
            data.write(m.offsets.table(index), unsafe { &mut (*p).def } as *mut _ as usize);
            data.tables.push(handle);
            data.table_ptrs.push(p);
        }
        // Element segments: evaluate all, then apply the active ones.
        for (i, seg) in info.elements.iter().enumerate() {
            let mut vals = Vec::with_capacity(seg.items.len());
            for item in &seg.items {
                vals.push(data.eval(item)? as usize);
            }
            data.elements[i] = vals;
        }
        store.instances.push(data);
        let instance = Instance(store.instances.len() as u32 - 1);
        let data = &mut store.instances[instance.0 as usize];
        for (i, seg) in info.elements.iter().enumerate() {
            match &seg.mode {
                ElementMode::Active { table, offset } => {
                    let off = data.eval_offset(offset, info.tables[*table as usize].ty.table64)?;
                    let vals = core::mem::take(&mut data.elements[i]);
                    let t = data.table_mut(*table);
                    let len = t.elements().len() as u64;
                    match off.checked_add(vals.len() as u64) {
                        Some(end) if end <= len => {
                            t.elements_mut()[off as usize..end as usize].copy_from_slice(&vals);
                        }
                        _ => return Err(Error::Trap(Trap::new(TrapKind::TableOutOfBounds))),
                    }
                }
                ElementMode::Declared => data.elements[i] = Vec::new(),
                ElementMode::Passive => {}
            }
        }
        for (i, seg) in info.data.iter().enumerate() {
            if let DataMode::Active { memory, offset } = &seg.mode {
                let off = data.eval_offset(offset, info.memories[*memory as usize].memory64)?;
                data.dropped_data[i] = true;
                let mem = data.memory_mut(*memory);
                match off.checked_add(seg.bytes.len() as u64) {
                    Some(end) if end <= mem.def.length as u64 => {
                        mem.data_mut()[off as usize..end as usize].copy_from_slice(&seg.bytes);
                    }
                    _ => return Err(Error::Trap(Trap::new(TrapKind::MemoryOutOfBounds))),
                }
            }
        }
        if let Some(start) = info.start {
            let f = Func::from_raw(data.funcref(start)).ok_or_else(|| Error::Other("no start function".into()))?;
            f.call(store, &[])?;
        }
        Ok(instance)
    }

    fn data<'s>(&self, store: &'s Store) -> &'s InstanceData {
        &store.instances[self.0 as usize]
    }

    /// The export `name`.
    pub fn get_export(&self, store: &Store, name: &str) -> Option<Extern> {
        let d = self.data(store);
        let e = d.module.0.info.export(name)?;
        Some(match e.kind {
            ExternKind::Func => Extern::Func(Func::from_raw(d.funcref(e.index))?),
            ExternKind::Table => Extern::Table(*d.tables.get(e.index as usize)?),
            ExternKind::Memory => Extern::Memory(*d.memories.get(e.index as usize)?),
            ExternKind::Global => Extern::Global(*d.globals.get(e.index as usize)?),
        })
    }

    /// The exported function `name`.
    pub fn get_func(&self, store: &Store, name: &str) -> Option<Func> {
        match self.get_export(store, name)? {
            Extern::Func(f) => Some(f),
            _ => None,
        }
    }

    /// The exported memory `name`.
    pub fn get_memory(&self, store: &Store, name: &str) -> Option<Memory> {
        match self.get_export(store, name)? {
            Extern::Memory(m) => Some(m),
            _ => None,
        }
    }

    /// The exported global `name`.
    pub fn get_global(&self, store: &Store, name: &str) -> Option<Global> {
        match self.get_export(store, name)? {
            Extern::Global(g) => Some(g),
            _ => None,
        }
    }

    /// Every memory of the instance (imported ones first).
    pub fn memories(&self, store: &Store) -> Vec<Memory> {
        self.data(store).memories.clone()
    }

    /// The module.
    pub fn module<'s>(&self, store: &'s Store) -> &'s Module {
        &self.data(store).module
    }
}

//! The runtime's data layout shared with compiled code: the instance context (vmctx) every
//! Wasm function receives as its first argument, and the records it points to.
//!
//! vmctx of an instance (all offsets fixed per module by [`VMOffsets`]):
//!
//! ```text
//! 0                    *mut InstanceData          (the runtime's instance)
//! 8                    *mut VMStoreContext        (stack limit, shared by the store)
//! imported_funcs       [VMFunctionImport; n]      {funcref, code, vmctx}, 24 bytes each
//! memories             [*mut VMMemoryDefinition; n]   every memory, imported or not
//! tables               [*mut VMTableDefinition; n]    every table
//! imported_globals     [*mut u128; n]             where each imported global's value is
//! defined_globals      [u128; n]                  values of defined globals (16-aligned)
//! defined_funcrefs     [VMFuncRef; n]             one per defined function, 24 bytes each
//! ```
//!
//! Invariants: a vmctx, a memory definition, a table definition and a funcref never move
//! while their store lives; a memory's `base` never changes (its reservation is fixed), so
//! compiled code may load it once; a table's `base` changes when it grows, except for
//! tables whose maximum equals their minimum. Reference values are pointer-sized: a
//! funcref is the address of a [`VMFuncRef`] (null = 0), an externref is the host
//! payload plus one (null = 0).

use crate::module::ModuleInfo;

/// A function reference: how to call a function and what type it has.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub struct VMFuncRef {
    /// The code, callable with the function's Wasm signature (`tail` convention, vmctx
    /// first).
    pub code: usize,
    /// The vmctx to pass (an instance's, or a host function's data).
    pub vmctx: usize,
    /// The engine-wide id of the function's type.
    pub type_id: u32,
    /// Padding.
    pub _pad: u32,
}

/// Offset of [`VMFuncRef::code`].
pub const FUNCREF_CODE: i32 = 0;
/// Offset of [`VMFuncRef::vmctx`].
pub const FUNCREF_VMCTX: i32 = 8;
/// Offset of [`VMFuncRef::type_id`].
pub const FUNCREF_TYPE: i32 = 16;

/// An imported function as the importer sees it.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub struct VMFunctionImport {
    /// The exporter's funcref (for `ref.func` and identity).
    pub funcref: usize,
    /// Its code.
    pub code: usize,
    /// Its vmctx.
    pub vmctx: usize,
}

/// A linear memory as compiled code sees it.
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct VMMemoryDefinition {
    /// The first byte (never changes).
    pub base: *mut u8,
    /// The current length in bytes.
    pub length: usize,
}

/// Offset of [`VMMemoryDefinition::base`].
pub const MEMORY_BASE: i32 = 0;
/// Offset of [`VMMemoryDefinition::length`].
pub const MEMORY_LENGTH: i32 = 8;

/// A table as compiled code sees it.
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct VMTableDefinition {
    /// The elements (pointer-sized each).
    pub base: *mut usize,
    /// The number of elements.
    pub length: u64,
}

/// Offset of [`VMTableDefinition::base`].
pub const TABLE_BASE: i32 = 0;
/// Offset of [`VMTableDefinition::length`].
pub const TABLE_LENGTH: i32 = 8;

/// State shared by every instance of a store.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub struct VMStoreContext {
    /// Wasm functions trap with a stack overflow when the stack pointer would go below
    /// this address. 0 outside Wasm execution.
    pub stack_limit: usize,
}

/// Offset of the instance pointer in a vmctx.
pub const VMCTX_INSTANCE: i32 = 0;
/// Offset of the store-context pointer in a vmctx.
pub const VMCTX_STORE: i32 = 8;

/// The layout of the vmctx of a module's instances.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VMOffsets {
    /// Start of the function imports.
    pub imported_funcs: u32,
    /// Start of the memory pointers.
    pub memories: u32,
    /// Start of the table pointers.
    pub tables: u32,
    /// Start of the imported-global pointers.
    pub imported_globals: u32,
    /// Start of the defined globals.
    pub defined_globals: u32,
    /// Start of the defined functions' funcrefs.
    pub defined_funcrefs: u32,
    /// Total size in bytes (a multiple of 16).
    pub size: u32,
    num_imported_funcs: u32,
    num_imported_globals: u32,
}

impl VMOffsets {
    /// The layout for `m`. `None` if it would exceed 2 GiB.
    pub fn new(m: &ModuleInfo) -> Option<VMOffsets> {
        let mut at: u64 = 16;
        let mut take = |n: u64, each: u64, align: u64| {
            at = at.div_ceil(align) * align;
            let start = at;
            at += n * each;
            start
        };
        let imported_funcs = take(m.num_imported_funcs as u64, 24, 8);
        let memories = take(m.memories.len() as u64, 8, 8);
        let tables = take(m.tables.len() as u64, 8, 8);
        let imported_globals = take(m.num_imported_globals as u64, 8, 8);
        let defined_globals = take((m.globals.len() - m.num_imported_globals as usize) as u64, 16, 16);
        let defined_funcrefs = take(m.num_defined_funcs() as u64, 24, 8);
        let size = at.div_ceil(16) * 16;
        if size > i32::MAX as u64 {
            return None;
        }
        Some(VMOffsets {
            imported_funcs: imported_funcs as u32,
            memories: memories as u32,
            tables: tables as u32,
            imported_globals: imported_globals as u32,
            defined_globals: defined_globals as u32,
            defined_funcrefs: defined_funcrefs as u32,
            size: size as u32,
            num_imported_funcs: m.num_imported_funcs,
            num_imported_globals: m.num_imported_globals,
        })
    }

    /// Offset of the import record of imported function `index`.
    pub fn imported_func(&self, index: u32) -> i32 {
        (self.imported_funcs + index * 24) as i32
    }

    /// Offset of the definition pointer of memory `index`.
    pub fn memory(&self, index: u32) -> i32 {
        (self.memories + index * 8) as i32
    }

    /// Offset of the definition pointer of table `index`.
    pub fn table(&self, index: u32) -> i32 {
        (self.tables + index * 8) as i32
    }

    /// Where global `index` is: `(offset, imported)`. An imported global's offset holds a
    /// pointer to its value; a defined global's offset holds the value.
    pub fn global(&self, index: u32) -> (i32, bool) {
        if index < self.num_imported_globals {
            ((self.imported_globals + index * 8) as i32, true)
        } else {
            ((self.defined_globals + (index - self.num_imported_globals) * 16) as i32, false)
        }
    }

    /// Offset of the funcref of defined function `index` (a function index, imports
    /// included; it must be a defined function).
    pub fn defined_funcref(&self, index: u32) -> i32 {
        (self.defined_funcrefs + (index - self.num_imported_funcs) * 24) as i32
    }
}

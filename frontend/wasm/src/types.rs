//! WebAssembly types as the frontend and the runtime see them, and their IR types.
//!
//! Value types are those of Wasm 2.0 (numbers, `v128`, nullable `funcref`/`externref`);
//! typed function references and GC types are rejected with an error when a module is read.
//! In IR, `v128` is `i8x16` (operations bitcast to the lane type they need) and references
//! are pointer-sized integers whose null is 0.

use crate::error::{WasmError, WasmResult};
use kiln_ir::types::{self, Type};

/// A WebAssembly value type.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ValType {
    /// `i32`.
    I32,
    /// `i64`.
    I64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// `v128`.
    V128,
    /// `funcref` (nullable).
    FuncRef,
    /// `externref` (nullable).
    ExternRef,
}

impl ValType {
    /// From wasmparser's type; `offset` is used in the error for types outside Wasm 2.0.
    pub fn from_wasm(t: wasmparser::ValType, offset: usize) -> WasmResult<ValType> {
        Ok(match t {
            wasmparser::ValType::I32 => ValType::I32,
            wasmparser::ValType::I64 => ValType::I64,
            wasmparser::ValType::F32 => ValType::F32,
            wasmparser::ValType::F64 => ValType::F64,
            wasmparser::ValType::V128 => ValType::V128,
            wasmparser::ValType::Ref(r) => Self::from_ref(r, offset)?,
        })
    }

    /// From a wasmparser reference type.
    pub fn from_ref(r: wasmparser::RefType, offset: usize) -> WasmResult<ValType> {
        if r == wasmparser::RefType::FUNCREF {
            Ok(ValType::FuncRef)
        } else if r == wasmparser::RefType::EXTERNREF {
            Ok(ValType::ExternRef)
        } else {
            Err(WasmError::unsupported(
                offset,
                format!("reference type {r} (typed function references / GC proposals)"),
            ))
        }
    }

    /// The IR type of values of this type (`ptr` is the pointer type).
    pub fn ir_type(self, ptr: Type) -> Type {
        match self {
            ValType::I32 => types::I32,
            ValType::I64 => types::I64,
            ValType::F32 => types::F32,
            ValType::F64 => types::F64,
            ValType::V128 => types::I8X16,
            ValType::FuncRef | ValType::ExternRef => ptr,
        }
    }

    /// Is this a reference type?
    pub fn is_ref(self) -> bool {
        matches!(self, ValType::FuncRef | ValType::ExternRef)
    }
}

impl core::fmt::Display for ValType {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        f.write_str(match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::V128 => "v128",
            ValType::FuncRef => "funcref",
            ValType::ExternRef => "externref",
        })
    }
}

/// A function type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct FuncType {
    /// Parameter types.
    pub params: Box<[ValType]>,
    /// Result types.
    pub results: Box<[ValType]>,
}

impl FuncType {
    /// A function type.
    pub fn new(params: impl Into<Box<[ValType]>>, results: impl Into<Box<[ValType]>>) -> Self {
        FuncType { params: params.into(), results: results.into() }
    }
}

impl core::fmt::Display for FuncType {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        let list = |v: &[ValType]| v.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" ");
        write!(f, "(func (param {}) (result {}))", list(&self.params), list(&self.results))
    }
}

/// Limits of a table or memory.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    /// The minimum (initial) size.
    pub min: u64,
    /// The maximum, if any.
    pub max: Option<u64>,
}

/// A table type.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct TableType {
    /// The element type (`FuncRef` or `ExternRef`).
    pub elem: ValType,
    /// Size limits, in elements.
    pub limits: Limits,
    /// Indexed with `i64` (memory64 proposal's 64-bit tables).
    pub table64: bool,
}

/// A memory type.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct MemoryType {
    /// Size limits, in pages.
    pub limits: Limits,
    /// Indexed with `i64` (memory64).
    pub memory64: bool,
    /// log2 of the page size (16: 64 KiB pages).
    pub page_size_log2: u8,
}

impl MemoryType {
    /// The page size in bytes.
    pub fn page_size(&self) -> u64 {
        1u64 << self.page_size_log2
    }

    /// The largest number of pages the index type can address.
    pub fn max_addressable_pages(&self) -> u64 {
        if self.memory64 {
            1u64 << (64 - self.page_size_log2 as u32)
        } else {
            1u64 << (32 - self.page_size_log2 as u32)
        }
    }
}

/// A global type.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct GlobalType {
    /// The value type.
    pub ty: ValType,
    /// Is it mutable?
    pub mutable: bool,
}

//! The embedder boundary: [`FuncEnvironment`] says how everything that is not plain
//! computation is expressed in IR — the layout of the instance (vmctx), memories (through a
//! [`Heap`] description the translator turns into addresses and bounds checks), globals,
//! tables, function references, calls of every kind, and the runtime routines behind
//! `memory.grow`, bulk memory and table operations.
//!
//! The translator ([`crate::translate`]) owns control flow, the operand stack, locals and
//! every numeric operator; it calls the environment for the rest, passing the
//! [`FunctionBuilder`] positioned where the code goes. An environment method may create
//! blocks, but must leave the builder in a block where translation continues (or, for the
//! tail calls, after a terminator). The reference runtime's implementation is
//! [`crate::runtime::env`].
//!
//! Trap codes: the translator and environments use the codes of [`trap`], so that a
//! runtime can name every trap the same way.

use crate::error::WasmResult;
use crate::module::ModuleInfo;
use crate::types::FuncType;
use kiln_frontend::FunctionBuilder;
use kiln_ir::memflags::MemFlags;
use kiln_ir::signature::Signature;
use kiln_ir::types::Type;
use kiln_ir::{Inst, Value};

/// The trap codes of WebAssembly traps. Arithmetic, conversion, memory and stack-overflow
/// traps use Kiln's reserved codes; the others are user codes 1–6.
pub mod trap {
    use kiln_ir::trapcode::TrapCode;

    const fn user(n: u8) -> TrapCode {
        match TrapCode::user(n) {
            Some(c) => c,
            None => panic!("invalid user trap code"),
        }
    }

    /// `unreachable` was executed.
    pub const UNREACHABLE: TrapCode = user(1);
    /// A table index out of bounds (also `call_indirect` past the table's end).
    pub const TABLE_OUT_OF_BOUNDS: TrapCode = user(2);
    /// `call_indirect` of a null entry.
    pub const INDIRECT_CALL_TO_NULL: TrapCode = user(3);
    /// `call_indirect` of a function of another type.
    pub const BAD_SIGNATURE: TrapCode = user(4);
    /// A host function reported an error.
    pub const HOST: TrapCode = user(5);
    /// `call_indirect` past the end of the table ("undefined element").
    pub const INDIRECT_CALL_OUT_OF_BOUNDS: TrapCode = user(6);
    /// Out-of-bounds linear-memory access.
    pub const MEMORY_OUT_OF_BOUNDS: TrapCode = TrapCode::HEAP_OUT_OF_BOUNDS;
    /// Integer division by zero.
    pub const INTEGER_DIVISION_BY_ZERO: TrapCode = TrapCode::INTEGER_DIVISION_BY_ZERO;
    /// Integer overflow (`i32.div_s` of the minimum by -1, float-to-int out of range).
    pub const INTEGER_OVERFLOW: TrapCode = TrapCode::INTEGER_OVERFLOW;
    /// Float-to-int conversion of NaN.
    pub const BAD_CONVERSION_TO_INTEGER: TrapCode = TrapCode::BAD_CONVERSION_TO_INTEGER;
    /// The stack limit was reached.
    pub const STACK_OVERFLOW: TrapCode = TrapCode::STACK_OVERFLOW;
}

/// How the accessible size of a linear memory is known to the code.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum HeapBound {
    /// The `reserved` bytes from the base are all either accessible or unmapped (the
    /// memory's pages, then guard pages): any access below `base + reserved` that is out of
    /// bounds faults. Accesses that can reach further are checked against `reserved`.
    Guarded {
        /// Bytes from the base that are mapped or fault.
        reserved: u64,
    },
    /// The current length in bytes is the value of `length`; every access is checked
    /// against it. The `guard` bytes after the current length fault, so an access whose
    /// offset plus size fits in the guard only needs the index checked.
    Dynamic {
        /// The current length in bytes (pointer-sized).
        length: Value,
        /// Bytes after the length that fault when accessed.
        guard: u64,
    },
}

/// A linear memory as the code accesses it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Heap {
    /// The base address (pointer-sized). Environments load it with `readonly can_move`
    /// flags where it never changes, so that repeated loads merge and leave loops.
    pub base: Value,
    /// The index type: `i32`, or `i64` for memory64.
    pub index_type: Type,
    /// The bound.
    pub bound: HeapBound,
    /// Compute out-of-bounds addresses as null (`select_spectre_guard`) instead of
    /// branching to a trap, so that speculation cannot access out of bounds.
    pub spectre: bool,
    /// Flags of the accesses (trap code, alias region); the translator adds the
    /// endianness.
    pub flags: MemFlags,
}

/// What the translator needs from the embedder. See the [module documentation](self).
pub trait FuncEnvironment {
    /// The module being translated.
    fn module(&self) -> &ModuleInfo;

    /// The target's pointer type.
    fn pointer_type(&self) -> Type;

    /// The IR signature of functions of Wasm type `ty`. The Wasm parameters must be its
    /// last `ty.params.len()` parameters (the ones before are the embedder's, e.g. vmctx),
    /// and its returns must be exactly the Wasm results.
    fn signature(&self, ty: &FuncType) -> Signature;

    /// Called once per function after the entry block was created and switched to:
    /// declare the function's global values, stack limit, alias regions, …
    fn before_function(&mut self, b: &mut FunctionBuilder, func_index: u32) -> WasmResult<()>;

    /// The description of memory `memory` at the current position (the environment may
    /// emit the loads of its base and length here).
    fn heap(&mut self, b: &mut FunctionBuilder, memory: u32) -> WasmResult<Heap>;

    /// `memory.size`: the size in pages, of the memory's index type.
    fn memory_size(&mut self, b: &mut FunctionBuilder, memory: u32) -> WasmResult<Value>;

    /// `memory.grow`: the old size in pages or -1, of the memory's index type.
    fn memory_grow(&mut self, b: &mut FunctionBuilder, memory: u32, delta: Value) -> WasmResult<Value>;

    /// `memory.copy` (traps when out of bounds).
    fn memory_copy(
        &mut self,
        b: &mut FunctionBuilder,
        dst_mem: u32,
        src_mem: u32,
        dst: Value,
        src: Value,
        len: Value,
    ) -> WasmResult<()>;

    /// `memory.fill`.
    fn memory_fill(&mut self, b: &mut FunctionBuilder, mem: u32, dst: Value, val: Value, len: Value) -> WasmResult<()>;

    /// `memory.init`.
    fn memory_init(
        &mut self,
        b: &mut FunctionBuilder,
        mem: u32,
        segment: u32,
        dst: Value,
        src: Value,
        len: Value,
    ) -> WasmResult<()>;

    /// `data.drop`.
    fn data_drop(&mut self, b: &mut FunctionBuilder, segment: u32) -> WasmResult<()>;

    /// `global.get`.
    fn global_get(&mut self, b: &mut FunctionBuilder, global: u32) -> WasmResult<Value>;

    /// `global.set`.
    fn global_set(&mut self, b: &mut FunctionBuilder, global: u32, val: Value) -> WasmResult<()>;

    /// `table.get` (traps when out of bounds).
    fn table_get(&mut self, b: &mut FunctionBuilder, table: u32, index: Value) -> WasmResult<Value>;

    /// `table.set`.
    fn table_set(&mut self, b: &mut FunctionBuilder, table: u32, index: Value, val: Value) -> WasmResult<()>;

    /// `table.size`, of the table's index type.
    fn table_size(&mut self, b: &mut FunctionBuilder, table: u32) -> WasmResult<Value>;

    /// `table.grow`: the old size or -1.
    fn table_grow(&mut self, b: &mut FunctionBuilder, table: u32, init: Value, delta: Value) -> WasmResult<Value>;

    /// `table.fill`.
    fn table_fill(&mut self, b: &mut FunctionBuilder, table: u32, dst: Value, val: Value, len: Value)
    -> WasmResult<()>;

    /// `table.copy`.
    fn table_copy(
        &mut self,
        b: &mut FunctionBuilder,
        dst_table: u32,
        src_table: u32,
        dst: Value,
        src: Value,
        len: Value,
    ) -> WasmResult<()>;

    /// `table.init`.
    fn table_init(
        &mut self,
        b: &mut FunctionBuilder,
        table: u32,
        segment: u32,
        dst: Value,
        src: Value,
        len: Value,
    ) -> WasmResult<()>;

    /// `elem.drop`.
    fn elem_drop(&mut self, b: &mut FunctionBuilder, segment: u32) -> WasmResult<()>;

    /// `ref.func`.
    fn ref_func(&mut self, b: &mut FunctionBuilder, func: u32) -> WasmResult<Value>;

    /// A direct call of function `callee` with the Wasm arguments `args`. Returns the call
    /// instruction, whose results are the Wasm results.
    fn call(&mut self, b: &mut FunctionBuilder, callee: u32, args: &[Value]) -> WasmResult<Inst>;

    /// `call_indirect`: check the entry `index` of `table` (bounds, null, signature
    /// `type_index`) and call it. Returns the call instruction.
    fn call_indirect(
        &mut self,
        b: &mut FunctionBuilder,
        table: u32,
        type_index: u32,
        index: Value,
        args: &[Value],
    ) -> WasmResult<Inst>;

    /// `return_call` (a terminator).
    fn return_call(&mut self, b: &mut FunctionBuilder, callee: u32, args: &[Value]) -> WasmResult<()>;

    /// `return_call_indirect` (a terminator).
    fn return_call_indirect(
        &mut self,
        b: &mut FunctionBuilder,
        table: u32,
        type_index: u32,
        index: Value,
        args: &[Value],
    ) -> WasmResult<()>;
}

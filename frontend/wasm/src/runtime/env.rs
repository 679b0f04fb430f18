//! The reference runtime's [`FuncEnvironment`]: Wasm constructs in terms of the vmctx
//! layout of [`super::vmctx`].
//!
//! - Loads of things that never change while code runs (the definition pointers in the
//!   vmctx, a memory's base, immutable globals, a fixed-size table's base, funcref fields)
//!   are `readonly` (and `can_move` where they cannot trap), so the optimizer merges them and
//!   hoists them out of loops.
//! - 32-bit memories are guarded (4 GiB + guard reservation): no bounds checks. memory64,
//!   or every memory when guard pages are off, gets explicit checks against the current
//!   length (Spectre-safe if configured).
//! - Direct calls of defined functions are near calls (`u0:N`); imported functions are
//!   called through their import record; `call_indirect` checks bounds, null (a fault on
//!   reading the type id at address 16) and the engine-wide type id (a constant).
//! - `memory.grow`, bulk memory and most table operations call the runtime's routines
//!   (`u1:K`, [`super::libcalls`]); a nonzero status becomes the matching trap.
//! - Every function checks the stack limit of the store in its prologue.

use super::libcalls::Builtin;
use super::vmctx::{self, VMOffsets};
use crate::environ::{FuncEnvironment, Heap, HeapBound, trap};
use crate::error::{WasmError, WasmResult};
use crate::module::ModuleInfo;
use crate::types::FuncType;
use kiln_frontend::FunctionBuilder;
use kiln_ir::condcodes::IntCC;
use kiln_ir::extname::{ExtFuncData, ExternalName, UserExternalName};
use kiln_ir::function::{AliasRegionData, GlobalValueData};
use kiln_ir::memflags::MemFlags;
use kiln_ir::signature::{AbiParam, ArgumentPurpose, CallConv, Signature};
use kiln_ir::trapcode::TrapCode;
use kiln_ir::types::{self, Type};
use kiln_ir::{AliasRegion, FuncRef, InstBuilder, SigRef, Value};
use std::collections::HashMap;

/// Bytes reserved for a guarded 32-bit memory: 4 GiB of addressable space plus a 2 GiB
/// guard, so that no offset below 2 GiB needs a check.
pub const GUARDED_RESERVATION: u64 = 6 << 30;
/// The guard region after a memory's reservation end (and after its length, for the
/// dynamic checks).
pub const GUARD_SIZE: u64 = 2 << 30;
/// Addressable bytes of a guarded memory (what `memory.grow` can reach).
pub const MAX_MEMORY_BYTES: u64 = 4 << 30;

/// Code-generation choices of the runtime.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct EnvConfig {
    /// 32-bit memories rely on guard pages (no bounds checks).
    pub guard_pages: bool,
    /// Bounds-checked heap accesses use `select_spectre_guard`.
    pub spectre_heap: bool,
    /// `call_indirect` and table accesses use `select_spectre_guard` too.
    pub spectre_table: bool,
}

impl Default for EnvConfig {
    fn default() -> Self {
        EnvConfig { guard_pages: true, spectre_heap: true, spectre_table: true }
    }
}

/// The signature of Wasm functions of type `ty` in this runtime: `tail` convention, the
/// callee's vmctx first.
pub fn wasm_signature(ty: &FuncType, ptr: Type) -> Signature {
    let mut sig = Signature::new(CallConv::Tail);
    sig.params.push(AbiParam::special(ptr, ArgumentPurpose::VMContext));
    sig.params.extend(ty.params.iter().map(|t| AbiParam::new(t.ir_type(ptr))));
    sig.returns.extend(ty.results.iter().map(|t| AbiParam::new(t.ir_type(ptr))));
    sig
}

/// The environment of one module's functions (one per translating thread).
pub struct RuntimeEnv<'m> {
    module: &'m ModuleInfo,
    offsets: &'m VMOffsets,
    type_ids: &'m [u32],
    config: EnvConfig,
    ptr: Type,
    // Per function:
    vmctx: Value,
    heap_region: Option<AliasRegion>,
    table_region: Option<AliasRegion>,
    builtins: HashMap<Builtin, FuncRef>,
    sigs: HashMap<u32, SigRef>,
    funcs: HashMap<u32, FuncRef>,
}

impl<'m> RuntimeEnv<'m> {
    /// An environment for `module` with this layout and engine type ids (by type index).
    pub fn new(module: &'m ModuleInfo, offsets: &'m VMOffsets, type_ids: &'m [u32], config: EnvConfig) -> Self {
        RuntimeEnv {
            module,
            offsets,
            type_ids,
            config,
            ptr: types::I64,
            vmctx: Value::from_u32(0),
            heap_region: None,
            table_region: None,
            builtins: HashMap::new(),
            sigs: HashMap::new(),
            funcs: HashMap::new(),
        }
    }

    fn readonly() -> MemFlags {
        MemFlags::trusted().with_readonly().with_can_move()
    }

    /// A pointer loaded from the vmctx that never changes.
    fn vmctx_ptr(&self, b: &mut FunctionBuilder, offset: i32) -> Value {
        b.ins().load(self.ptr, Self::readonly(), self.vmctx, offset)
    }

    fn builtin(&mut self, b: &mut FunctionBuilder, f: Builtin) -> FuncRef {
        if let Some(&r) = self.builtins.get(&f) {
            return r;
        }
        let mut sig = Signature::new(CallConv::SystemV);
        sig.params.extend(f.params().iter().map(|&t| AbiParam::new(t)));
        sig.returns.extend(f.result().map(AbiParam::new));
        let signature = b.import_signature(sig);
        let name = b.func.declare_user_name(UserExternalName { namespace: 1, index: f as u32 });
        let r = b.import_function(ExtFuncData {
            name: ExternalName::User(name),
            signature,
            colocated: false,
            patchable: false,
        });
        self.builtins.insert(f, r);
        r
    }

    /// Call builtin `f` with the vmctx and `args`; its result, if any.
    fn call_builtin(&mut self, b: &mut FunctionBuilder, f: Builtin, args: &[Value]) -> Option<Value> {
        let r = self.builtin(b, f);
        let mut all: smallvec::SmallVec<[Value; 8]> = smallvec::smallvec![self.vmctx];
        all.extend_from_slice(args);
        let call = b.ins().call(r, &all);
        b.inst_results(call).first().copied()
    }

    /// Call a builtin that returns a status, trapping with `code` if it is nonzero.
    fn call_checked(&mut self, b: &mut FunctionBuilder, f: Builtin, args: &[Value], code: TrapCode) {
        if let Some(status) = self.call_builtin(b, f, args) {
            b.ins().trapnz(status, code);
        }
    }

    fn i32c(b: &mut FunctionBuilder, v: u32) -> Value {
        b.ins().iconst(types::I32, v as i64)
    }

    /// `v` as an `i64` (zero-extended).
    fn to_i64(b: &mut FunctionBuilder, v: Value) -> Value {
        if b.func.dfg.value_type(v) == types::I64 { v } else { b.ins().uextend(types::I64, v) }
    }

    /// `v` (an `i64`) as type `ty`.
    fn from_i64(b: &mut FunctionBuilder, v: Value, ty: Type) -> Value {
        if ty == types::I64 { v } else { b.ins().ireduce(ty, v) }
    }

    fn sig_ref(&mut self, b: &mut FunctionBuilder, type_index: u32) -> SigRef {
        if let Some(&s) = self.sigs.get(&type_index) {
            return s;
        }
        let sig = wasm_signature(&self.module.types[type_index as usize], self.ptr);
        let s = b.import_signature(sig);
        self.sigs.insert(type_index, s);
        s
    }

    fn func_ref(&mut self, b: &mut FunctionBuilder, index: u32) -> FuncRef {
        if let Some(&f) = self.funcs.get(&index) {
            return f;
        }
        let signature = self.sig_ref(b, self.module.funcs[index as usize]);
        let name = b.func.declare_user_name(UserExternalName { namespace: 0, index });
        let f = b.import_function(ExtFuncData {
            name: ExternalName::User(name),
            signature,
            colocated: true,
            patchable: false,
        });
        self.funcs.insert(index, f);
        f
    }

    /// Base and length of table `table` (the base `readonly` and the length a constant
    /// for fixed-size tables).
    fn table_parts(&mut self, b: &mut FunctionBuilder, table: u32) -> (Value, Value) {
        let def = self.vmctx_ptr(b, self.offsets.table(table));
        let ty = self.module.tables[table as usize].ty;
        if ty.limits.max == Some(ty.limits.min) {
            let base = b.ins().load(self.ptr, Self::readonly(), def, vmctx::TABLE_BASE);
            let len = b.ins().iconst(types::I64, ty.limits.min as i64);
            (base, len)
        } else {
            let base = b.ins().load(self.ptr, MemFlags::trusted(), def, vmctx::TABLE_BASE);
            let len = b.ins().load(types::I64, MemFlags::trusted(), def, vmctx::TABLE_LENGTH);
            (base, len)
        }
    }

    /// The address of element `index` of `table`, bounds-checked (trap `code`).
    fn table_elem_addr(&mut self, b: &mut FunctionBuilder, table: u32, index: Value, code: TrapCode) -> Value {
        let (base, len) = self.table_parts(b, table);
        let idx = Self::to_i64(b, index);
        let oob = b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, idx, len);
        b.ins().trapnz(oob, code);
        let three = b.ins().iconst(types::I64, 3);
        let scaled = b.ins().ishl(idx, three);
        let addr = b.ins().iadd(base, scaled);
        if self.config.spectre_table { b.ins().select_spectre_guard(oob, base, addr) } else { addr }
    }

    fn table_flags(&self) -> MemFlags {
        MemFlags::trusted().with_alias_region(self.table_region)
    }

    /// Check entry `index` of `table` for `call_indirect` of type `type_index`; returns
    /// (code, callee vmctx).
    fn indirect_callee(
        &mut self,
        b: &mut FunctionBuilder,
        table: u32,
        type_index: u32,
        index: Value,
    ) -> (Value, Value) {
        let addr = self.table_elem_addr(b, table, index, trap::INDIRECT_CALL_OUT_OF_BOUNDS);
        let funcref = b.ins().load(self.ptr, self.table_flags(), addr, 0);
        // A null funcref faults here (address 16), reported as "uninitialized element".
        let null_trap =
            MemFlags::new().with_trap_code(Some(trap::INDIRECT_CALL_TO_NULL)).with_aligned().with_readonly();
        let ty = b.ins().load(types::I32, null_trap, funcref, vmctx::FUNCREF_TYPE);
        let want = Self::i32c(b, self.type_ids[type_index as usize]);
        let bad = b.ins().icmp(IntCC::NotEqual, ty, want);
        b.ins().trapnz(bad, trap::BAD_SIGNATURE);
        let ro = MemFlags::trusted().with_readonly();
        let code = b.ins().load(self.ptr, ro, funcref, vmctx::FUNCREF_CODE);
        let callee_vmctx = b.ins().load(self.ptr, ro, funcref, vmctx::FUNCREF_VMCTX);
        (code, callee_vmctx)
    }

    fn with_vmctx(first: Value, args: &[Value]) -> smallvec::SmallVec<[Value; 8]> {
        let mut all = smallvec::SmallVec::with_capacity(args.len() + 1);
        all.push(first);
        all.extend_from_slice(args);
        all
    }

    /// Where an imported function's code and vmctx are.
    fn imported_callee(&self, b: &mut FunctionBuilder, callee: u32) -> (Value, Value) {
        let off = self.offsets.imported_func(callee);
        let code = self.vmctx_ptr(b, off + 8);
        let vmctx = self.vmctx_ptr(b, off + 16);
        (code, vmctx)
    }

    fn global_addr(&self, b: &mut FunctionBuilder, global: u32) -> (Value, i32) {
        let (off, imported) = self.offsets.global(global);
        if imported { (self.vmctx_ptr(b, off), 0) } else { (self.vmctx, off) }
    }
}

impl FuncEnvironment for RuntimeEnv<'_> {
    fn module(&self) -> &ModuleInfo {
        self.module
    }

    fn pointer_type(&self) -> Type {
        self.ptr
    }

    fn signature(&self, ty: &FuncType) -> Signature {
        wasm_signature(ty, self.ptr)
    }

    fn before_function(&mut self, b: &mut FunctionBuilder, _func_index: u32) -> WasmResult<()> {
        let entry = b.current_block().ok_or_else(|| WasmError::internal("no entry block"))?;
        self.vmctx = b.block_params(entry)[0];
        self.builtins.clear();
        self.sigs.clear();
        self.funcs.clear();
        self.heap_region = Some(b.func.alias_regions.push(AliasRegionData { id: 0, name: "heap".into() }));
        self.table_region = Some(b.func.alias_regions.push(AliasRegionData { id: 1, name: "table".into() }));
        let vm = b.create_global_value(GlobalValueData::VMContext);
        let store = b.create_global_value(GlobalValueData::Load {
            base: vm,
            offset: vmctx::VMCTX_STORE.into(),
            global_type: self.ptr,
            flags: MemFlags::trusted().with_readonly(),
        });
        let limit = b.create_global_value(GlobalValueData::Load {
            base: store,
            offset: 0.into(),
            global_type: self.ptr,
            flags: MemFlags::trusted(),
        });
        b.func.stack_limit = Some(limit);
        Ok(())
    }

    fn heap(&mut self, b: &mut FunctionBuilder, memory: u32) -> WasmResult<Heap> {
        let mt = self.module.memories[memory as usize];
        let def = self.vmctx_ptr(b, self.offsets.memory(memory));
        let base = b.ins().load(self.ptr, Self::readonly(), def, vmctx::MEMORY_BASE);
        let flags = MemFlags::new().with_alias_region(self.heap_region);
        let index_type = if mt.memory64 { types::I64 } else { types::I32 };
        let bound = if self.config.guard_pages && !mt.memory64 {
            HeapBound::Guarded { reserved: GUARDED_RESERVATION }
        } else {
            let length = b.ins().load(types::I64, MemFlags::trusted(), def, vmctx::MEMORY_LENGTH);
            HeapBound::Dynamic { length, guard: if self.config.guard_pages { GUARD_SIZE } else { 0 } }
        };
        Ok(Heap { base, index_type, bound, spectre: self.config.spectre_heap, flags })
    }

    fn memory_size(&mut self, b: &mut FunctionBuilder, memory: u32) -> WasmResult<Value> {
        let mt = self.module.memories[memory as usize];
        let def = self.vmctx_ptr(b, self.offsets.memory(memory));
        let len = b.ins().load(types::I64, MemFlags::trusted(), def, vmctx::MEMORY_LENGTH);
        let shift = b.ins().iconst(types::I64, mt.page_size_log2 as i64);
        let pages = b.ins().ushr(len, shift);
        Ok(Self::from_i64(b, pages, if mt.memory64 { types::I64 } else { types::I32 }))
    }

    fn memory_grow(&mut self, b: &mut FunctionBuilder, memory: u32, delta: Value) -> WasmResult<Value> {
        let ty = b.func.dfg.value_type(delta);
        let m = Self::i32c(b, memory);
        let d = Self::to_i64(b, delta);
        let r = self.call_builtin(b, Builtin::MemoryGrow, &[m, d]).unwrap_or(d);
        Ok(Self::from_i64(b, r, ty))
    }

    fn memory_copy(
        &mut self,
        b: &mut FunctionBuilder,
        dst_mem: u32,
        src_mem: u32,
        dst: Value,
        src: Value,
        len: Value,
    ) -> WasmResult<()> {
        let (dm, sm) = (Self::i32c(b, dst_mem), Self::i32c(b, src_mem));
        let (d, s, n) = (Self::to_i64(b, dst), Self::to_i64(b, src), Self::to_i64(b, len));
        self.call_checked(b, Builtin::MemoryCopy, &[dm, sm, d, s, n], trap::MEMORY_OUT_OF_BOUNDS);
        Ok(())
    }

    fn memory_fill(&mut self, b: &mut FunctionBuilder, mem: u32, dst: Value, val: Value, len: Value) -> WasmResult<()> {
        let m = Self::i32c(b, mem);
        let (d, n) = (Self::to_i64(b, dst), Self::to_i64(b, len));
        self.call_checked(b, Builtin::MemoryFill, &[m, d, val, n], trap::MEMORY_OUT_OF_BOUNDS);
        Ok(())
    }

    fn memory_init(
        &mut self,
        b: &mut FunctionBuilder,
        mem: u32,
        segment: u32,
        dst: Value,
        src: Value,
        len: Value,
    ) -> WasmResult<()> {
        let (m, s) = (Self::i32c(b, mem), Self::i32c(b, segment));
        let d = Self::to_i64(b, dst);
        self.call_checked(b, Builtin::MemoryInit, &[m, s, d, src, len], trap::MEMORY_OUT_OF_BOUNDS);
        Ok(())
    }

    fn data_drop(&mut self, b: &mut FunctionBuilder, segment: u32) -> WasmResult<()> {
        let s = Self::i32c(b, segment);
        self.call_builtin(b, Builtin::DataDrop, &[s]);
        Ok(())
    }

    fn global_get(&mut self, b: &mut FunctionBuilder, global: u32) -> WasmResult<Value> {
        let g = &self.module.globals[global as usize];
        let ty = g.ty.ty.ir_type(self.ptr);
        let flags = if g.ty.mutable { MemFlags::trusted() } else { Self::readonly() };
        let (addr, off) = self.global_addr(b, global);
        Ok(b.ins().load(ty, flags, addr, off))
    }

    fn global_set(&mut self, b: &mut FunctionBuilder, global: u32, val: Value) -> WasmResult<()> {
        let (addr, off) = self.global_addr(b, global);
        b.ins().store(MemFlags::trusted(), val, addr, off);
        Ok(())
    }

    fn table_get(&mut self, b: &mut FunctionBuilder, table: u32, index: Value) -> WasmResult<Value> {
        let addr = self.table_elem_addr(b, table, index, trap::TABLE_OUT_OF_BOUNDS);
        Ok(b.ins().load(self.ptr, self.table_flags(), addr, 0))
    }

    fn table_set(&mut self, b: &mut FunctionBuilder, table: u32, index: Value, val: Value) -> WasmResult<()> {
        let addr = self.table_elem_addr(b, table, index, trap::TABLE_OUT_OF_BOUNDS);
        b.ins().store(self.table_flags(), val, addr, 0);
        Ok(())
    }

    fn table_size(&mut self, b: &mut FunctionBuilder, table: u32) -> WasmResult<Value> {
        let (_, len) = self.table_parts(b, table);
        let t64 = self.module.tables[table as usize].ty.table64;
        Ok(Self::from_i64(b, len, if t64 { types::I64 } else { types::I32 }))
    }

    fn table_grow(&mut self, b: &mut FunctionBuilder, table: u32, init: Value, delta: Value) -> WasmResult<Value> {
        let ty = b.func.dfg.value_type(delta);
        let t = Self::i32c(b, table);
        let d = Self::to_i64(b, delta);
        let r = self.call_builtin(b, Builtin::TableGrow, &[t, init, d]).unwrap_or(d);
        Ok(Self::from_i64(b, r, ty))
    }

    fn table_fill(
        &mut self,
        b: &mut FunctionBuilder,
        table: u32,
        dst: Value,
        val: Value,
        len: Value,
    ) -> WasmResult<()> {
        let t = Self::i32c(b, table);
        let (d, n) = (Self::to_i64(b, dst), Self::to_i64(b, len));
        self.call_checked(b, Builtin::TableFill, &[t, d, val, n], trap::TABLE_OUT_OF_BOUNDS);
        Ok(())
    }

    fn table_copy(
        &mut self,
        b: &mut FunctionBuilder,
        dst_table: u32,
        src_table: u32,
        dst: Value,
        src: Value,
        len: Value,
    ) -> WasmResult<()> {
        let (dt, stb) = (Self::i32c(b, dst_table), Self::i32c(b, src_table));
        let (d, s, n) = (Self::to_i64(b, dst), Self::to_i64(b, src), Self::to_i64(b, len));
        self.call_checked(b, Builtin::TableCopy, &[dt, stb, d, s, n], trap::TABLE_OUT_OF_BOUNDS);
        Ok(())
    }

    fn table_init(
        &mut self,
        b: &mut FunctionBuilder,
        table: u32,
        segment: u32,
        dst: Value,
        src: Value,
        len: Value,
    ) -> WasmResult<()> {
        let (t, s) = (Self::i32c(b, table), Self::i32c(b, segment));
        let d = Self::to_i64(b, dst);
        self.call_checked(b, Builtin::TableInit, &[t, s, d, src, len], trap::TABLE_OUT_OF_BOUNDS);
        Ok(())
    }

    fn elem_drop(&mut self, b: &mut FunctionBuilder, segment: u32) -> WasmResult<()> {
        let s = Self::i32c(b, segment);
        self.call_builtin(b, Builtin::ElemDrop, &[s]);
        Ok(())
    }

    fn ref_func(&mut self, b: &mut FunctionBuilder, func: u32) -> WasmResult<Value> {
        if self.module.is_imported_func(func) {
            Ok(self.vmctx_ptr(b, self.offsets.imported_func(func)))
        } else {
            let off = b.ins().iconst(self.ptr, self.offsets.defined_funcref(func) as i64);
            Ok(b.ins().iadd(self.vmctx, off))
        }
    }

    fn call(&mut self, b: &mut FunctionBuilder, callee: u32, args: &[Value]) -> WasmResult<kiln_ir::Inst> {
        if self.module.is_imported_func(callee) {
            let (code, vmctx) = self.imported_callee(b, callee);
            let sig = self.sig_ref(b, self.module.funcs[callee as usize]);
            Ok(b.ins().call_indirect(sig, code, &Self::with_vmctx(vmctx, args)))
        } else {
            let f = self.func_ref(b, callee);
            Ok(b.ins().call(f, &Self::with_vmctx(self.vmctx, args)))
        }
    }

    fn call_indirect(
        &mut self,
        b: &mut FunctionBuilder,
        table: u32,
        type_index: u32,
        index: Value,
        args: &[Value],
    ) -> WasmResult<kiln_ir::Inst> {
        let (code, vmctx) = self.indirect_callee(b, table, type_index, index);
        let sig = self.sig_ref(b, type_index);
        Ok(b.ins().call_indirect(sig, code, &Self::with_vmctx(vmctx, args)))
    }

    fn return_call(&mut self, b: &mut FunctionBuilder, callee: u32, args: &[Value]) -> WasmResult<()> {
        if self.module.is_imported_func(callee) {
            let (code, vmctx) = self.imported_callee(b, callee);
            let sig = self.sig_ref(b, self.module.funcs[callee as usize]);
            b.ins().return_call_indirect(sig, code, &Self::with_vmctx(vmctx, args));
        } else {
            let f = self.func_ref(b, callee);
            b.ins().return_call(f, &Self::with_vmctx(self.vmctx, args));
        }
        Ok(())
    }

    fn return_call_indirect(
        &mut self,
        b: &mut FunctionBuilder,
        table: u32,
        type_index: u32,
        index: Value,
        args: &[Value],
    ) -> WasmResult<()> {
        let (code, vmctx) = self.indirect_callee(b, table, type_index, index);
        let sig = self.sig_ref(b, type_index);
        b.ins().return_call_indirect(sig, code, &Self::with_vmctx(vmctx, args));
        Ok(())
    }
}

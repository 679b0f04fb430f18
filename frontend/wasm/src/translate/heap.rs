//! Linear-memory accesses: the effective address of `index + offset` in a memory described
//! by the environment's [`Heap`], with exactly the bounds checks the heap needs, and the
//! scalar loads and stores.
//!
//! - Guarded heaps (a reservation plus guard pages): no check when every possible
//!   `index + offset + size` stays inside the reservation (32-bit indices with a 4 GiB +
//!   guard reservation, the usual case); otherwise one comparison of the index against a
//!   constant; an access that can never fit traps unconditionally.
//! - Dynamic heaps: the index is compared with the current length (when the offset and
//!   size fit in the guard region) or `index + offset + size` (overflow-checked) is.
//! - With Spectre mitigation, an out-of-bounds address is replaced by null
//!   (`select_spectre_guard`) and the access itself faults, instead of a branch.
//!
//! Accesses are little-endian and carry the heap's trap code, so a fault maps to
//! "out of bounds memory access".

use super::State;
use crate::environ::{FuncEnvironment, Heap, HeapBound, trap};
use crate::error::WasmResult;
use kiln_frontend::FunctionBuilder;
use kiln_ir::condcodes::IntCC;
use kiln_ir::memflags::{Endianness, MemFlags};
use kiln_ir::types::{self, Type};
use kiln_ir::{InstBuilder, Value};
use wasmparser::{MemArg, Operator};

/// A checked address: access `addr + offset` with `flags`.
pub(crate) struct Addr {
    pub addr: Value,
    pub offset: i32,
    pub flags: MemFlags,
}

/// The address of an access of `size` bytes at `index + memarg.offset`, with its checks
/// emitted. `None` if the access always traps (the trap is emitted and the code after it
/// is unreachable).
pub(crate) fn access<E: FuncEnvironment + ?Sized>(
    st: &mut State,
    env: &mut E,
    b: &mut FunctionBuilder,
    memarg: &MemArg,
    size: u64,
    index: Value,
) -> WasmResult<Option<Addr>> {
    let heap: Heap = env.heap(b, memarg.memory)?;
    let ptr = st.ptr;
    let flags = heap.flags.with_endianness(Endianness::Little);
    let idx = if heap.index_type.bits() < ptr.bits() { b.ins().uextend(ptr, index) } else { index };
    let Some(end) = memarg.offset.checked_add(size) else {
        return Ok(always_trap(st, b));
    };
    let oob = match heap.bound {
        HeapBound::Guarded { reserved } => {
            let max_index = if heap.index_type.bits() <= 32 { u32::MAX as u64 } else { u64::MAX };
            if end > reserved {
                return Ok(always_trap(st, b));
            } else if max_index <= reserved - end {
                None
            } else {
                let limit = b.ins().iconst(ptr, (reserved - end) as i64);
                Some(b.ins().icmp(IntCC::UnsignedGreaterThan, idx, limit))
            }
        }
        HeapBound::Dynamic { length, guard } => {
            if end <= guard {
                Some(b.ins().icmp(IntCC::UnsignedGreaterThan, idx, length))
            } else {
                let e = b.ins().iconst(ptr, end as i64);
                let last = b.ins().uadd_overflow_trap(idx, e, trap::MEMORY_OUT_OF_BOUNDS);
                Some(b.ins().icmp(IntCC::UnsignedGreaterThan, last, length))
            }
        }
    };
    let mut addr = b.ins().iadd(heap.base, idx);
    let mut offset = memarg.offset;
    if let Some(oob) = oob {
        if heap.spectre {
            // The final address is computed before the guard, so a null address faults
            // whatever the offset.
            if offset != 0 {
                let o = b.ins().iconst(ptr, offset as i64);
                addr = b.ins().iadd(addr, o);
                offset = 0;
            }
            let null = b.ins().iconst(ptr, 0);
            addr = b.ins().select_spectre_guard(oob, null, addr);
        } else {
            b.ins().trapnz(oob, trap::MEMORY_OUT_OF_BOUNDS);
        }
    }
    if offset > i32::MAX as u64 {
        let o = b.ins().iconst(ptr, offset as i64);
        addr = b.ins().iadd(addr, o);
        offset = 0;
    }
    Ok(Some(Addr { addr, offset: offset as i32, flags }))
}

fn always_trap(st: &mut State, b: &mut FunctionBuilder) -> Option<Addr> {
    b.ins().trap(trap::MEMORY_OUT_OF_BOUNDS);
    *st.reachable = false;
    None
}

/// A load of type `ty` (`ext`: the narrow access type and whether it sign-extends).
fn load<E: FuncEnvironment + ?Sized>(
    st: &mut State,
    env: &mut E,
    b: &mut FunctionBuilder,
    memarg: &MemArg,
    ty: Type,
    ext: Option<(Type, bool)>,
) -> WasmResult<()> {
    let index = st.pop();
    let size = ext.map_or(ty.bytes(), |(t, _)| t.bytes()) as u64;
    let Some(a) = access(st, env, b, memarg, size, index)? else { return Ok(()) };
    let v = match ext {
        None => b.ins().load(ty, a.flags, a.addr, a.offset),
        Some((t, signed)) => match (t.bits(), signed) {
            (8, false) => b.ins().uload8(ty, a.flags, a.addr, a.offset),
            (8, true) => b.ins().sload8(ty, a.flags, a.addr, a.offset),
            (16, false) => b.ins().uload16(ty, a.flags, a.addr, a.offset),
            (16, true) => b.ins().sload16(ty, a.flags, a.addr, a.offset),
            (_, false) => b.ins().uload32(a.flags, a.addr, a.offset),
            (_, true) => b.ins().sload32(a.flags, a.addr, a.offset),
        },
    };
    st.push(v);
    Ok(())
}

/// A store of the value on the stack, truncated to `narrow` if given.
fn store<E: FuncEnvironment + ?Sized>(
    st: &mut State,
    env: &mut E,
    b: &mut FunctionBuilder,
    memarg: &MemArg,
    narrow: Option<Type>,
) -> WasmResult<()> {
    let (index, val) = st.pop2();
    let size = narrow.unwrap_or_else(|| b.func.dfg.value_type(val)).bytes() as u64;
    let Some(a) = access(st, env, b, memarg, size, index)? else { return Ok(()) };
    match narrow.map(|t| t.bits()) {
        None => b.ins().store(a.flags, val, a.addr, a.offset),
        Some(8) => b.ins().istore8(a.flags, val, a.addr, a.offset),
        Some(16) => b.ins().istore16(a.flags, val, a.addr, a.offset),
        Some(_) => b.ins().istore32(a.flags, val, a.addr, a.offset),
    };
    Ok(())
}

/// Translate a scalar memory operator; `false` if `op` is not one.
pub(super) fn translate_memory_op<E: FuncEnvironment + ?Sized>(
    st: &mut State,
    env: &mut E,
    b: &mut FunctionBuilder,
    op: &Operator,
    _offset: usize,
) -> WasmResult<bool> {
    use Operator as O;
    use types::{F32, F64, I8, I16, I32, I64};
    match op {
        O::I32Load { memarg } => load(st, env, b, memarg, I32, None)?,
        O::I64Load { memarg } => load(st, env, b, memarg, I64, None)?,
        O::F32Load { memarg } => load(st, env, b, memarg, F32, None)?,
        O::F64Load { memarg } => load(st, env, b, memarg, F64, None)?,
        O::I32Load8S { memarg } => load(st, env, b, memarg, I32, Some((I8, true)))?,
        O::I32Load8U { memarg } => load(st, env, b, memarg, I32, Some((I8, false)))?,
        O::I32Load16S { memarg } => load(st, env, b, memarg, I32, Some((I16, true)))?,
        O::I32Load16U { memarg } => load(st, env, b, memarg, I32, Some((I16, false)))?,
        O::I64Load8S { memarg } => load(st, env, b, memarg, I64, Some((I8, true)))?,
        O::I64Load8U { memarg } => load(st, env, b, memarg, I64, Some((I8, false)))?,
        O::I64Load16S { memarg } => load(st, env, b, memarg, I64, Some((I16, true)))?,
        O::I64Load16U { memarg } => load(st, env, b, memarg, I64, Some((I16, false)))?,
        O::I64Load32S { memarg } => load(st, env, b, memarg, I64, Some((I32, true)))?,
        O::I64Load32U { memarg } => load(st, env, b, memarg, I64, Some((I32, false)))?,
        O::I32Store { memarg } | O::I64Store { memarg } | O::F32Store { memarg } | O::F64Store { memarg } => {
            store(st, env, b, memarg, None)?
        }
        O::I32Store8 { memarg } | O::I64Store8 { memarg } => store(st, env, b, memarg, Some(I8))?,
        O::I32Store16 { memarg } | O::I64Store16 { memarg } => store(st, env, b, memarg, Some(I16))?,
        O::I64Store32 { memarg } => store(st, env, b, memarg, Some(I32))?,
        _ => return Ok(false),
    }
    Ok(true)
}

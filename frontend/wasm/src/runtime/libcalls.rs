//! The runtime routines compiled code calls (`u1:K` in IR, resolved by the JIT): memory
//! growth, bulk memory, table operations, segment drops, and the entry of host functions.
//!
//! Each takes the caller's vmctx first (the host-call entry takes the host function's
//! data). Routines that can fail return a status (0 = done; otherwise nothing was
//! written, as the bulk operations check all bounds first) that the code turns into a
//! trap; `memory.grow`/`table.grow` return the old size or -1.

use super::instance::InstanceData;
use super::store::{HostFuncData, Val};
use super::trap::Trap;
use super::vmctx::VMCTX_INSTANCE;
use kiln_ir::types::{self, Type};
use std::cell::RefCell;

/// A runtime routine.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Builtin {
    /// `(vmctx, mem: i32, delta: i64) -> i64`
    MemoryGrow,
    /// `(vmctx, dst_mem: i32, src_mem: i32, dst: i64, src: i64, len: i64) -> i32`
    MemoryCopy,
    /// `(vmctx, mem: i32, dst: i64, val: i32, len: i64) -> i32`
    MemoryFill,
    /// `(vmctx, mem: i32, seg: i32, dst: i64, src: i32, len: i32) -> i32`
    MemoryInit,
    /// `(vmctx, seg: i32)`
    DataDrop,
    /// `(vmctx, table: i32, init: i64, delta: i64) -> i64`
    TableGrow,
    /// `(vmctx, table: i32, dst: i64, val: i64, len: i64) -> i32`
    TableFill,
    /// `(vmctx, dst_table: i32, src_table: i32, dst: i64, src: i64, len: i64) -> i32`
    TableCopy,
    /// `(vmctx, table: i32, seg: i32, dst: i64, src: i32, len: i32) -> i32`
    TableInit,
    /// `(vmctx, seg: i32)`
    ElemDrop,
    /// `(host data, values: i64) -> i32`
    HostCall,
}

const ALL: [Builtin; 11] = [
    Builtin::MemoryGrow,
    Builtin::MemoryCopy,
    Builtin::MemoryFill,
    Builtin::MemoryInit,
    Builtin::DataDrop,
    Builtin::TableGrow,
    Builtin::TableFill,
    Builtin::TableCopy,
    Builtin::TableInit,
    Builtin::ElemDrop,
    Builtin::HostCall,
];

impl Builtin {
    /// Parameter types (pointer first).
    pub fn params(self) -> &'static [Type] {
        use types::{I32, I64};
        match self {
            Builtin::MemoryGrow => &[I64, I32, I64],
            Builtin::MemoryCopy | Builtin::TableCopy => &[I64, I32, I32, I64, I64, I64],
            Builtin::MemoryFill => &[I64, I32, I64, I32, I64],
            Builtin::MemoryInit | Builtin::TableInit => &[I64, I32, I32, I64, I32, I32],
            Builtin::DataDrop | Builtin::ElemDrop => &[I64, I32],
            Builtin::TableGrow => &[I64, I32, I64, I64],
            Builtin::TableFill => &[I64, I32, I64, I64, I64],
            Builtin::HostCall => &[I64, I64],
        }
    }

    /// Result type.
    pub fn result(self) -> Option<Type> {
        match self {
            Builtin::MemoryGrow | Builtin::TableGrow => Some(types::I64),
            Builtin::DataDrop | Builtin::ElemDrop => None,
            _ => Some(types::I32),
        }
    }

    fn address(self) -> *const u8 {
        match self {
            Builtin::MemoryGrow => memory_grow as *const u8,
            Builtin::MemoryCopy => memory_copy as *const u8,
            Builtin::MemoryFill => memory_fill as *const u8,
            Builtin::MemoryInit => memory_init as *const u8,
            Builtin::DataDrop => data_drop as *const u8,
            Builtin::TableGrow => table_grow as *const u8,
            Builtin::TableFill => table_fill as *const u8,
            Builtin::TableCopy => table_copy as *const u8,
            Builtin::TableInit => table_init as *const u8,
            Builtin::ElemDrop => elem_drop as *const u8,
            Builtin::HostCall => host_call as *const u8,
        }
    }
}

/// The JIT's symbol lookup for routine names (`u1:K`).
pub fn lookup(name: &str) -> Option<*const u8> {
    let k: usize = name.strip_prefix("u1:")?.parse().ok()?;
    ALL.get(k).map(|b| b.address())
}

/// The instance of a vmctx.
///
/// # Safety
/// `vmctx` must be the vmctx of a live instance, and no other reference to that
/// instance's data may be in use (compiled code runs with the store borrowed mutably).
unsafe fn instance<'a>(vmctx: *mut u8) -> &'a mut InstanceData {
    // SAFETY: per the contract, the first word of a vmctx is its instance.
    unsafe { &mut *(vmctx.add(VMCTX_INSTANCE as usize).cast::<*mut InstanceData>()).read() }
}

/// `[start, start + len)` within `size`, as a range.
fn range(start: u64, len: u64, size: usize) -> Option<core::ops::Range<usize>> {
    let end = start.checked_add(len)?;
    (end <= size as u64).then_some(start as usize..end as usize)
}

unsafe extern "C" fn memory_grow(vmctx: *mut u8, mem: u32, delta: u64) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    let inst = unsafe { instance(vmctx) };
    inst.memory_mut(mem).grow(delta).unwrap_or(u64::MAX)
}

unsafe extern "C" fn memory_copy(vmctx: *mut u8, dm: u32, sm: u32, dst: u64, src: u64, len: u64) -> u32 {
    // SAFETY: as above.
    let inst = unsafe { instance(vmctx) };
    let (d, s) = (inst.memory_mut(dm).def, inst.memory_mut(sm).def);
    let (Some(dr), Some(sr)) = (range(dst, len, d.length), range(src, len, s.length)) else { return 1 };
    // SAFETY: both ranges are inside accessible memory; `copy` allows overlap.
    unsafe { core::ptr::copy(s.base.add(sr.start), d.base.add(dr.start), dr.len()) };
    0
}

unsafe extern "C" fn memory_fill(vmctx: *mut u8, mem: u32, dst: u64, val: u32, len: u64) -> u32 {
    // SAFETY: as above.
    let inst = unsafe { instance(vmctx) };
    let m = inst.memory_mut(mem);
    let Some(r) = range(dst, len, m.def.length) else { return 1 };
    m.data_mut()[r].fill(val as u8);
    0
}

unsafe extern "C" fn memory_init(vmctx: *mut u8, mem: u32, seg: u32, dst: u64, src: u32, len: u32) -> u32 {
    // SAFETY: as above.
    let inst = unsafe { instance(vmctx) };
    let mem_len = inst.memory_mut(mem).def.length;
    let data = inst.data_segment(seg);
    let (Some(sr), Some(dr)) = (range(src as u64, len as u64, data.len()), range(dst, len as u64, mem_len)) else {
        return 1;
    };
    let bytes = data[sr].to_vec();
    inst.memory_mut(mem).data_mut()[dr].copy_from_slice(&bytes);
    0
}

unsafe extern "C" fn data_drop(vmctx: *mut u8, seg: u32) {
    // SAFETY: as above.
    unsafe { instance(vmctx) }.drop_data(seg);
}

unsafe extern "C" fn table_grow(vmctx: *mut u8, table: u32, init: u64, delta: u64) -> u64 {
    // SAFETY: as above.
    let inst = unsafe { instance(vmctx) };
    inst.table_mut(table).grow(delta, init as usize).unwrap_or(u64::MAX)
}

unsafe extern "C" fn table_fill(vmctx: *mut u8, table: u32, dst: u64, val: u64, len: u64) -> u32 {
    // SAFETY: as above.
    let inst = unsafe { instance(vmctx) };
    let t = inst.table_mut(table);
    let Some(r) = range(dst, len, t.elements().len()) else { return 1 };
    t.elements_mut()[r].fill(val as usize);
    0
}

unsafe extern "C" fn table_copy(vmctx: *mut u8, dt: u32, st: u32, dst: u64, src: u64, len: u64) -> u32 {
    // SAFETY: as above.
    let inst = unsafe { instance(vmctx) };
    let slen = inst.table_mut(st).elements().len();
    let dlen = inst.table_mut(dt).elements().len();
    let (Some(dr), Some(sr)) = (range(dst, len, dlen), range(src, len, slen)) else { return 1 };
    if dt == st || inst.same_table(dt, st) {
        inst.table_mut(dt).elements_mut().copy_within(sr, dr.start);
    } else {
        let vals = inst.table_mut(st).elements()[sr].to_vec();
        inst.table_mut(dt).elements_mut()[dr].copy_from_slice(&vals);
    }
    0
}

unsafe extern "C" fn table_init(vmctx: *mut u8, table: u32, seg: u32, dst: u64, src: u32, len: u32) -> u32 {
    // SAFETY: as above.
    let inst = unsafe { instance(vmctx) };
    let elems = inst.element_segment(seg).to_vec();
    let tlen = inst.table_mut(table).elements().len();
    let (Some(sr), Some(dr)) = (range(src as u64, len as u64, elems.len()), range(dst, len as u64, tlen)) else {
        return 1;
    };
    inst.table_mut(table).elements_mut()[dr].copy_from_slice(&elems[sr]);
    0
}

unsafe extern "C" fn elem_drop(vmctx: *mut u8, seg: u32) {
    // SAFETY: as above.
    unsafe { instance(vmctx) }.drop_element(seg);
}

thread_local! {
    /// The error of the host function whose trap is being reported on this thread.
    static HOST_ERROR: RefCell<Option<Trap>> = const { RefCell::new(None) };
}

/// Take the pending host-function error of this thread.
pub(crate) fn take_host_error() -> Option<Trap> {
    HOST_ERROR.with(|e| e.borrow_mut().take())
}

/// Entry of host functions: convert the slots to values, call the closure, write the
/// results. Returns 0, or 1 after recording the error (the adapter then traps).
unsafe extern "C" fn host_call(data: *const HostFuncData, values: *mut u128) -> u32 {
    // SAFETY: the adapter passes the HostFuncData it was made for and a buffer of
    // max(params, results) slots.
    let data = unsafe { &*data };
    let n = data.ty.params.len().max(data.ty.results.len());
    // SAFETY: see above.
    let slots = unsafe { core::slice::from_raw_parts_mut(values, n) };
    let args: Vec<Val> = data.ty.params.iter().zip(slots.iter()).map(|(&t, &r)| Val::from_raw(r, t)).collect();
    let mut results: Vec<Val> = data.ty.results.iter().map(|&t| Val::default_for(t)).collect();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (data.f)(&args, &mut results)));
    let err = match r {
        Ok(Ok(())) => {
            if let Some((i, v)) = results.iter().enumerate().find(|(i, v)| v.ty() != data.ty.results[*i]) {
                Some(Trap::host(format!("result {i} of type {} where {} is expected", v.ty(), data.ty.results[i])))
            } else {
                for (s, v) in slots.iter_mut().zip(&results) {
                    *s = v.to_raw();
                }
                None
            }
        }
        Ok(Err(t)) => Some(t),
        Err(_) => Some(Trap::host("the host function panicked")),
    };
    match err {
        None => 0,
        Some(t) => {
            HOST_ERROR.with(|e| *e.borrow_mut() = Some(t));
            1
        }
    }
}

//! Linear memories: a fixed reservation of address space (never moved, so compiled code can
//! keep the base in a register), of which the first `length` bytes are readable and
//! writable and the rest, plus a guard region, is inaccessible. `memory.grow` makes more
//! pages accessible, up to the memory's maximum and the reservation.
//!
//! The reservation is 4 GiB plus a 2 GiB guard for every memory ([`GUARDED_RESERVATION`]),
//! whatever its index type: a memory64 can grow to 4 GiB here (growing further fails, as
//! `memory.grow` is allowed to).

use super::env::{GUARDED_RESERVATION, MAX_MEMORY_BYTES};
use super::vmctx::VMMemoryDefinition;
use crate::types::MemoryType;

/// A linear memory owned by a store.
pub struct MemoryData {
    /// What compiled code reads (the `VMMemoryDefinition` its vmctx entries point to).
    pub def: VMMemoryDefinition,
    /// Its type.
    pub ty: MemoryType,
    /// The reservation size in bytes.
    reserved: usize,
    /// The largest size in pages this memory may reach.
    max_pages: u64,
}

fn page_size() -> usize {
    // SAFETY: sysconf is always safe to call.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 { p as usize } else { 4096 }
}

impl MemoryData {
    /// A memory of type `ty` with its minimum size. Fails if the minimum does not fit the
    /// reservation or the address space cannot be reserved.
    pub fn new(ty: MemoryType) -> Result<Box<MemoryData>, String> {
        let reserved = GUARDED_RESERVATION as usize;
        let addressable = MAX_MEMORY_BYTES >> ty.page_size_log2;
        let max_pages = ty.limits.max.unwrap_or(u64::MAX).min(addressable).min(ty.max_addressable_pages());
        if ty.limits.min > max_pages {
            return Err(format!("memory of {} pages is larger than this runtime supports", ty.limits.min));
        }
        // SAFETY: a fresh anonymous, inaccessible, unreserved mapping; the result is checked.
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                reserved,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(format!("cannot reserve memory: {}", std::io::Error::last_os_error()));
        }
        let mut m =
            Box::new(MemoryData { def: VMMemoryDefinition { base: p as *mut u8, length: 0 }, ty, reserved, max_pages });
        if m.grow(ty.limits.min).is_none() {
            return Err("cannot commit the memory's initial pages".into());
        }
        Ok(m)
    }

    /// The size in pages.
    pub fn pages(&self) -> u64 {
        (self.def.length as u64) >> self.ty.page_size_log2
    }

    /// Grow by `delta` pages; the old size in pages, or `None` (nothing changed) if that
    /// would exceed the maximum or the system refuses.
    pub fn grow(&mut self, delta: u64) -> Option<u64> {
        let old = self.pages();
        let new = old.checked_add(delta)?;
        if new > self.max_pages {
            return None;
        }
        let new_len = (new << self.ty.page_size_log2) as usize;
        if new_len > self.reserved {
            return None;
        }
        if new_len > self.def.length {
            let ps = page_size();
            let from = self.def.length / ps * ps;
            let to = new_len.div_ceil(ps) * ps;
            // SAFETY: the range lies inside our reservation.
            let r = unsafe {
                libc::mprotect(self.def.base.add(from) as *mut _, to - from, libc::PROT_READ | libc::PROT_WRITE)
            };
            if r != 0 {
                return None;
            }
        }
        self.def.length = new_len;
        Some(old)
    }

    /// The accessible bytes.
    pub fn data(&self) -> &[u8] {
        // SAFETY: the first `length` bytes are mapped read-write and owned by this memory.
        unsafe { core::slice::from_raw_parts(self.def.base, self.def.length) }
    }

    /// The accessible bytes, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for `data`, and `&mut self` gives exclusive access.
        unsafe { core::slice::from_raw_parts_mut(self.def.base, self.def.length) }
    }
}

impl Drop for MemoryData {
    fn drop(&mut self) {
        // SAFETY: unmapping our own reservation; compiled code using it belongs to the same
        // store, which is being dropped.
        unsafe {
            libc::munmap(self.def.base as *mut _, self.reserved);
        }
    }
}

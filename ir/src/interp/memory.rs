//! Interpreter memory: a private, opaque address space made of *allocations*.
//!
//! Every allocation (a stack slot, a frame record, the read-only "code" region that gives
//! function, return and handler addresses) has a base address, a size and a slice of one byte
//! arena. Invariants:
//! - live allocations never overlap and are kept sorted by base address (bases are handed
//!   out by a bump pointer that only grows, with an unmapped guard gap between allocations),
//!   so an address is resolved by binary search;
//! - allocations are released in LIFO order (frames), so the arena is a stack; released
//!   addresses stay invalid because bases are never reused (except when a 32-bit address
//!   space is exhausted, when the bump pointer restarts just above the highest live
//!   allocation);
//! - an access must lie entirely inside one live allocation; otherwise it traps with the
//!   memflags' trap code (`heap_oob` by default) or, for `notrap` accesses, is reported as
//!   undefined behaviour. Nothing here can make the host crash.

use super::InterpError;
use crate::memflags::{Endianness, MemFlags};
use crate::trapcode::TrapCode;

/// Gap of unmapped addresses left after every allocation.
const GUARD: u64 = 64;
/// First address of the code region.
pub(crate) const CODE_BASE: u64 = 0x1_0000;
/// Bytes of code region per code entity (function, builtin).
pub(crate) const CODE_SLOT: u64 = 64;
/// Largest single allocation (a frame).
const MAX_ALLOC: u64 = 1 << 30;
/// Largest total of live allocations; beyond it allocation traps `stk_ovf`.
const MAX_TOTAL: u64 = 2 << 30;
/// First address handed out for stack allocations.
const STACK_START: u64 = 0x1000_0000;

#[derive(Clone, Copy, Debug)]
struct Alloc {
    base: u64,
    size: u64,
    /// Offset of the first byte in the arena.
    off: usize,
    writable: bool,
}

/// The address space of one interpreter.
pub(crate) struct Memory {
    allocs: Vec<Alloc>,
    arena: Vec<u8>,
    next: u64,
    /// One past the highest address (2^32 or 2^64 - 1).
    limit: u64,
}

/// A position to release allocations back to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mark {
    allocs: usize,
    arena: usize,
}

impl Memory {
    /// A memory with a read-only code region of `code_slots` entries.
    pub(crate) fn new(pointer_bits: u32, code_slots: u64) -> Memory {
        let limit = if pointer_bits >= 64 { u64::MAX } else { 1u64 << pointer_bits };
        let code_size = code_slots.saturating_mul(CODE_SLOT).min(STACK_START - CODE_BASE - GUARD);
        let mut m = Memory { allocs: Vec::new(), arena: Vec::new(), next: STACK_START, limit };
        m.allocs.push(Alloc { base: CODE_BASE, size: code_size, off: 0, writable: false });
        m.arena.resize(code_size as usize, 0);
        m
    }

    /// The current allocation position.
    pub(crate) fn mark(&self) -> Mark {
        Mark { allocs: self.allocs.len(), arena: self.arena.len() }
    }

    /// Release every allocation made after `mark`.
    pub(crate) fn release(&mut self, mark: Mark) {
        if mark.allocs >= 1 && mark.allocs <= self.allocs.len() {
            self.allocs.truncate(mark.allocs);
            self.arena.truncate(mark.arena);
        }
    }

    /// Allocate `size` zeroed, writable bytes aligned to `align` (a power of two).
    pub(crate) fn alloc(&mut self, size: u64, align: u64) -> Result<u64, InterpError> {
        let align = align.max(1);
        if !align.is_power_of_two() {
            return Err(InterpError::Invalid(format!("stack slot alignment {align} is not a power of two")));
        }
        if size > MAX_ALLOC {
            return Err(InterpError::Unsupported(format!("stack allocation of {size} bytes is too large")));
        }
        if self.arena.len() as u64 + size > MAX_TOTAL {
            // Like a real stack overflow.
            return Err(InterpError::Trap(TrapCode::STACK_OVERFLOW));
        }
        let top_end = self.allocs.last().map_or(STACK_START, |a| a.base + a.size + GUARD);
        let mut base = align_up(self.next.max(top_end), align);
        if base.checked_add(size).is_none_or(|e| e >= self.limit) {
            // Address space exhausted: restart just above the highest live allocation.
            base = align_up(top_end, align);
            if base.checked_add(size).is_none_or(|e| e >= self.limit) {
                return Err(InterpError::Trap(TrapCode::STACK_OVERFLOW));
            }
        }
        let off = self.arena.len();
        self.arena.resize(off + size as usize, 0);
        self.allocs.push(Alloc { base, size, off, writable: true });
        self.next = base + size + GUARD;
        Ok(base)
    }

    /// Find the arena range of an access of `size` bytes at `addr`, if it lies inside one
    /// live allocation.
    #[inline]
    fn find(&self, addr: u64, size: u64) -> Option<(usize, bool)> {
        let i = self.allocs.partition_point(|a| a.base <= addr);
        let a = self.allocs.get(i.checked_sub(1)?)?;
        let rel = addr - a.base;
        if (rel as u128) + (size as u128) <= a.size as u128 { Some((a.off + rel as usize, a.writable)) } else { None }
    }

    fn check(&self, addr: u64, size: u64, flags: MemFlags, write: bool) -> Result<usize, InterpError> {
        if flags.aligned() {
            let natural = size.clamp(1, 16);
            if !addr.is_multiple_of(natural) {
                return Err(InterpError::Undefined(format!(
                    "undefined behaviour: misaligned `aligned` access of {size} bytes at {addr:#x}"
                )));
            }
        }
        match self.find(addr, size) {
            Some((off, writable)) if writable || !write => Ok(off),
            found => match flags.trap_code() {
                Some(code) => Err(InterpError::Trap(code)),
                None => Err(InterpError::Undefined(format!(
                    "undefined behaviour: notrap {} of {size} bytes at {addr:#x} {}",
                    if write { "store" } else { "load" },
                    if found.is_some() { "into read-only memory" } else { "outside every live allocation" }
                ))),
            },
        }
    }

    /// Read `size` bytes at `addr`.
    pub(crate) fn read(&self, addr: u64, size: u64, flags: MemFlags) -> Result<&[u8], InterpError> {
        let off = self.check(addr, size, flags, false)?;
        Ok(&self.arena[off..off + size as usize])
    }

    /// The writable bytes of `size` at `addr`.
    pub(crate) fn write(&mut self, addr: u64, size: u64, flags: MemFlags) -> Result<&mut [u8], InterpError> {
        let off = self.check(addr, size, flags, true)?;
        Ok(&mut self.arena[off..off + size as usize])
    }

    /// Copy `n` bytes from `src` to `dst` (overlap allowed).
    pub(crate) fn copy(&mut self, dst: u64, src: u64, n: u64, flags: MemFlags) -> Result<(), InterpError> {
        if n == 0 {
            return Ok(());
        }
        let s = self.check(src, n, flags, false)?;
        let d = self.check(dst, n, flags, true)?;
        self.arena.copy_within(s..s + n as usize, d);
        Ok(())
    }
}

fn align_up(x: u64, align: u64) -> u64 {
    x.checked_add(align - 1).map_or(!(align - 1), |v| v & !(align - 1))
}

/// Decode `bytes` (one lane or scalar) in byte order `e` as zero-extended bits.
#[inline]
pub(crate) fn decode(bytes: &[u8], e: Endianness) -> u128 {
    let mut b = [0u8; 16];
    let n = bytes.len().min(16);
    b[..n].copy_from_slice(&bytes[..n]);
    match e {
        Endianness::Little => u128::from_le_bytes(b),
        Endianness::Big => {
            b[..n].reverse();
            u128::from_le_bytes(b)
        }
    }
}

/// Encode the low `out.len()` bytes of `x` into `out` in byte order `e`.
#[inline]
pub(crate) fn encode(x: u128, out: &mut [u8], e: Endianness) {
    let n = out.len().min(16);
    let b = x.to_le_bytes();
    out[..n].copy_from_slice(&b[..n]);
    if e == Endianness::Big {
        out[..n].reverse();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocations_are_disjoint_and_released() {
        let mut m = Memory::new(64, 4);
        let mark = m.mark();
        let a = m.alloc(8, 8).unwrap();
        let b = m.alloc(16, 16).unwrap();
        assert!(a + 8 <= b && b.is_multiple_of(16));
        let f = MemFlags::new();
        m.write(a, 8, f).unwrap().copy_from_slice(&[1; 8]);
        assert_eq!(m.read(a, 8, f).unwrap(), &[1; 8]);
        assert_eq!(m.read(a + 1, 8, f), Err(InterpError::Trap(TrapCode::HEAP_OUT_OF_BOUNDS)));
        assert!(matches!(m.read(a + 1, 8, MemFlags::trusted()), Err(InterpError::Undefined(_))));
        assert!(m.write(CODE_BASE, 4, f).is_err());
        assert!(m.read(CODE_BASE, 4, f).is_ok());
        m.release(mark);
        assert!(m.read(a, 1, f).is_err());
        let c = m.alloc(8, 1).unwrap();
        assert!(c > b, "released addresses are not reused");
    }

    #[test]
    fn small_address_space_wraps() {
        let mut m = Memory::new(32, 1);
        let mark = m.mark();
        m.next = (1 << 32) - 100;
        let a = m.alloc(200, 8).unwrap();
        assert!(a + 200 < 1 << 32);
        assert!(m.read(a, 200, MemFlags::new()).is_ok());
        m.release(mark);
    }
}

//! JIT memory: page-aligned mappings written while read-write, then switched to
//! read-execute (code), read-only (constant data) — or split: a code prefix read-execute
//! and the rest (a GOT) read-write. No page is ever writable and executable at the same
//! time. A [`MemoryPool`] keeps mappings whose code was freed, for reuse.

use core::ptr::NonNull;

/// A page-aligned region of memory.
pub struct CodeMemory {
    ptr: NonNull<u8>,
    len: usize,
    frozen: bool,
}

// SAFETY: the region is owned exclusively; while shared it is never written through `&self`.
unsafe impl Send for CodeMemory {}
unsafe impl Sync for CodeMemory {}

/// The system's page size.
pub fn page_size() -> usize {
    // SAFETY: sysconf is always safe to call.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 { p as usize } else { 4096 }
}

impl CodeMemory {
    /// Map `len` bytes (rounded up to whole pages), readable and writable.
    pub fn new(len: usize) -> std::io::Result<CodeMemory> {
        let page = page_size();
        let len = len.max(1).div_ceil(page) * page;
        // SAFETY: anonymous private mapping; the result is checked.
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(CodeMemory { ptr: NonNull::new(p as *mut u8).expect("mmap returned null"), len, frozen: false })
    }

    /// The bytes, while still writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        assert!(!self.frozen, "JIT memory is no longer writable");
        // SAFETY: the mapping is `len` bytes, readable and writable, owned by self.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    fn protect(&mut self, start: usize, len: usize, prot: i32) -> std::io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        debug_assert!(start % page_size() == 0 && start + len <= self.len);
        // SAFETY: a page-aligned range of our own mapping.
        let r = unsafe { libc::mprotect(self.ptr.as_ptr().add(start) as *mut _, len, prot) };
        if r != 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) }
    }

    /// Make the region read-execute (and no longer writable).
    pub fn make_executable(&mut self) -> std::io::Result<()> {
        self.make_executable_prefix(self.len)
    }

    /// Make the first `len` bytes (a whole number of pages) read-execute; the rest stays
    /// read-write (but is no longer reachable through [`as_mut_slice`](Self::as_mut_slice)).
    pub fn make_executable_prefix(&mut self, len: usize) -> std::io::Result<()> {
        self.protect(0, len, libc::PROT_READ | libc::PROT_EXEC)?;
        self.frozen = true;
        Ok(())
    }

    /// Make the region read-only (for read-only data).
    pub fn make_readonly(&mut self) -> std::io::Result<()> {
        self.protect(0, self.len, libc::PROT_READ)?;
        self.frozen = true;
        Ok(())
    }

    /// Make the whole region read-write again, to reuse it (nothing may run in it).
    pub fn make_writable(&mut self) -> std::io::Result<()> {
        self.protect(0, self.len, libc::PROT_READ | libc::PROT_WRITE)?;
        self.frozen = false;
        Ok(())
    }

    /// Start address.
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Is it empty? (Never: at least one page.)
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Does the region contain `addr`?
    pub fn contains(&self, addr: usize) -> bool {
        let start = self.ptr.as_ptr() as usize;
        addr >= start && addr < start + self.len
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping; nothing refers into it once the owner drops it.
        unsafe {
            libc::munmap(self.ptr.as_ptr() as *mut _, self.len);
        }
    }
}

/// Mappings whose contents were freed, kept for reuse instead of being unmapped and mapped
/// again. At most `limit` bytes are kept; beyond that, freed mappings are unmapped.
pub struct MemoryPool {
    free: Vec<CodeMemory>,
    kept: usize,
    limit: usize,
}

impl Default for MemoryPool {
    fn default() -> Self {
        MemoryPool { free: Vec::new(), kept: 0, limit: 64 << 20 }
    }
}

impl MemoryPool {
    /// A mapping of at least `len` bytes, read-write: the smallest free one that fits, or a
    /// new one.
    pub fn take(&mut self, len: usize) -> std::io::Result<CodeMemory> {
        let best = self.free.iter().enumerate().filter(|(_, m)| m.len() >= len).min_by_key(|(_, m)| m.len());
        if let Some((i, _)) = best {
            let mut m = self.free.swap_remove(i);
            self.kept -= m.len();
            m.make_writable()?;
            return Ok(m);
        }
        CodeMemory::new(len)
    }

    /// Give back a mapping nothing runs in or refers to any more.
    pub fn give(&mut self, m: CodeMemory) {
        if self.kept + m.len() <= self.limit {
            self.kept += m.len();
            self.free.push(m);
        }
    }

    /// Bytes held for reuse.
    pub fn kept_bytes(&self) -> usize {
        self.kept
    }
}

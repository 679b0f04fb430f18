//! JIT memory: pages mapped read-write for copying and patching code or data, then
//! switched to read-execute (code) or read-only (constant data). A region is never writable
//! and executable at the same time.

use core::ptr::NonNull;

/// A page-aligned region of memory holding code.
pub struct CodeMemory {
    ptr: NonNull<u8>,
    len: usize,
    frozen: bool,
}

// SAFETY: the region is owned exclusively; after `make_executable` it is read-only.
unsafe impl Send for CodeMemory {}
unsafe impl Sync for CodeMemory {}

fn page_size() -> usize {
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

    /// Make the region read-execute (and no longer writable).
    pub fn make_executable(&mut self) -> std::io::Result<()> {
        // SAFETY: the region is our own mapping.
        let r = unsafe { libc::mprotect(self.ptr.as_ptr() as *mut _, self.len, libc::PROT_READ | libc::PROT_EXEC) };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
        self.frozen = true;
        Ok(())
    }

    /// Make the region read-only (for read-only data).
    pub fn make_readonly(&mut self) -> std::io::Result<()> {
        // SAFETY: the region is our own mapping.
        let r = unsafe { libc::mprotect(self.ptr.as_ptr() as *mut _, self.len, libc::PROT_READ) };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
        self.frozen = true;
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

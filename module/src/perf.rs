//! `perf` support for JIT code: the perf map (`/tmp/perf-PID.map`, one `START SIZE name`
//! line per function, read by `perf report` to name samples in anonymous memory) and the
//! jitdump format (`jit-PID.dump`: a header and one `JIT_CODE_LOAD` record per function
//! with a copy of its code, which `perf inject --jit` turns into ELF files so that `perf
//! annotate` shows the instructions).
//!
//! Both files are per process and append-only; each is opened on first use and shared by
//! every module of the process (under a lock). The jitdump file is mapped executable once,
//! as the format requires, so that `perf record` notes where it is.
//!
//! Invariants: records are written whole (one `write` per record, under the lock); the
//! timestamps are `CLOCK_MONOTONIC` nanoseconds, what `perf record -k mono` uses.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

struct Files {
    map: Option<File>,
    dump: Option<File>,
    /// Number of code loads written to the jitdump file.
    loads: u64,
}

static FILES: Mutex<Files> = Mutex::new(Files { map: None, dump: None, loads: 0 });

/// The perf map file of this process.
pub fn perf_map_path() -> PathBuf {
    PathBuf::from(format!("/tmp/perf-{}.map", std::process::id()))
}

/// The jitdump file of this process (in `dir`).
pub fn jitdump_path(dir: &std::path::Path) -> PathBuf {
    dir.join(format!("jit-{}.dump", std::process::id()))
}

fn timestamp() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn thread_id() -> u32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() as u32 }
}

/// Append `name` at `addr..addr+size` to the perf map.
pub fn map_function(addr: usize, size: usize, name: &str) -> std::io::Result<()> {
    let mut f = FILES.lock().unwrap_or_else(|e| e.into_inner());
    if f.map.is_none() {
        f.map = Some(std::fs::OpenOptions::new().create(true).append(true).open(perf_map_path())?);
    }
    let file = f.map.as_mut().expect("just opened");
    file.write_all(format!("{addr:x} {size:x} {name}\n").as_bytes())
}

const JITDUMP_MAGIC: u32 = 0x4a69_5444;
const JIT_CODE_LOAD: u32 = 0;

/// The ELF machine number of the host, as jitdump headers give it.
fn elf_machine() -> u32 {
    if cfg!(target_arch = "x86_64") {
        62
    } else if cfg!(target_arch = "aarch64") {
        183
    } else if cfg!(target_arch = "riscv64") {
        243
    } else {
        0
    }
}

fn open_jitdump(dir: &std::path::Path) -> std::io::Result<File> {
    let path = jitdump_path(dir);
    let mut file = std::fs::OpenOptions::new().create(true).truncate(true).read(true).write(true).open(&path)?;
    let mut h = Vec::with_capacity(40);
    h.extend(JITDUMP_MAGIC.to_le_bytes());
    h.extend(1u32.to_le_bytes()); // version
    h.extend(40u32.to_le_bytes()); // header size
    h.extend(elf_machine().to_le_bytes());
    h.extend(0u32.to_le_bytes()); // padding
    h.extend(std::process::id().to_le_bytes());
    h.extend(timestamp().to_le_bytes());
    h.extend(0u64.to_le_bytes()); // flags
    file.write_all(&h)?;
    // The marker `perf record` looks for: an executable mapping of the file.
    use std::os::fd::AsRawFd;
    let page = crate::memory::page_size();
    // SAFETY: a shared read-execute mapping of our own file; it is never unmapped, as perf
    // expects it to stay for the life of the process.
    let p = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            page,
            libc::PROT_READ | libc::PROT_EXEC,
            libc::MAP_PRIVATE,
            file.as_raw_fd(),
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error());
    }
    Ok(file)
}

/// Append a `JIT_CODE_LOAD` record for `code` (at `addr`, named `name`) to the jitdump
/// file in `dir` (created on first use; later calls keep writing to that file).
pub fn dump_function(dir: &std::path::Path, addr: usize, code: &[u8], name: &str) -> std::io::Result<()> {
    let mut f = FILES.lock().unwrap_or_else(|e| e.into_inner());
    if f.dump.is_none() {
        f.dump = Some(open_jitdump(dir)?);
    }
    let index = f.loads;
    f.loads += 1;
    let file = f.dump.as_mut().expect("just opened");
    let total = 16 + 40 + name.len() + 1 + code.len();
    let mut r = Vec::with_capacity(total);
    r.extend(JIT_CODE_LOAD.to_le_bytes());
    r.extend((total as u32).to_le_bytes());
    r.extend(timestamp().to_le_bytes());
    r.extend(std::process::id().to_le_bytes());
    r.extend(thread_id().to_le_bytes());
    r.extend((addr as u64).to_le_bytes()); // vma
    r.extend((addr as u64).to_le_bytes()); // code address
    r.extend((code.len() as u64).to_le_bytes());
    r.extend(index.to_le_bytes());
    r.extend(name.as_bytes());
    r.push(0);
    r.extend(code);
    file.write_all(&r)
}

//! Throwing exceptions through JIT frames to the handlers of `try_call` sites.
//!
//! Every finalized function's call sites are registered with their return address, the
//! distance from the frame pointer to the stack pointer in the calling function's body,
//! and the handlers (tag or default, handler address). [`throw`] walks the frame-pointer
//! chain from a given frame, finds the first call site with a matching handler and
//! resumes there with the stack and frame pointers of that function and the two payload
//! words in the payload registers (x86-64: rax, rdx). Functions containing a `try_call`
//! always have frame pointers; `try_call` sites treat every register as clobbered, so no
//! callee-saved state needs restoring.

use std::sync::RwLock;

/// A handler of a call site.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Handler {
    /// Catches exceptions with this tag.
    Tag(u32, usize),
    /// Catches everything.
    Default(usize),
}

struct CallSiteEntry {
    ret_addr: usize,
    frame_offset: u32,
    handlers: Vec<Handler>,
}

static CALL_SITES: RwLock<Vec<CallSiteEntry>> = RwLock::new(Vec::new());

/// Register a call site.
pub fn register_call_site(ret_addr: usize, frame_offset: u32, handlers: Vec<Handler>) {
    if handlers.is_empty() {
        return;
    }
    if let Ok(mut v) = CALL_SITES.write() {
        let pos = v.partition_point(|e| e.ret_addr < ret_addr);
        v.insert(pos, CallSiteEntry { ret_addr, frame_offset, handlers });
    }
}

/// Run `f` holding a read lock on the call-site table (across `fork`, see
/// [`crate::trap::fork_consistent`]).
pub(crate) fn with_read_lock<R>(f: impl FnOnce() -> R) -> R {
    let _guard = CALL_SITES.read();
    f()
}

/// Remove the call sites in `start..end`.
pub fn unregister_range(start: usize, end: usize) {
    if let Ok(mut v) = CALL_SITES.write() {
        v.retain(|e| e.ret_addr < start || e.ret_addr >= end);
    }
}

fn find_handler(ret_addr: usize, tag: u32) -> Option<(u32, usize)> {
    let v = CALL_SITES.read().ok()?;
    let i = v.binary_search_by_key(&ret_addr, |e| e.ret_addr).ok()?;
    let e = &v[i];
    let by_tag = e.handlers.iter().find_map(|h| match *h {
        Handler::Tag(t, a) if t == tag => Some(a),
        _ => None,
    });
    let h = by_tag.or_else(|| {
        e.handlers.iter().find_map(|h| match *h {
            Handler::Default(a) => Some(a),
            _ => None,
        })
    })?;
    Some((e.frame_offset, h))
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod imp {
    // kiln_resume(sp, fp, pc, payload0, payload1): switch to the handler's frame and jump.
    core::arch::global_asm!(
        ".globl kiln_resume",
        ".type kiln_resume,@function",
        "kiln_resume:",
        "mov rsp, rdi",
        "mov rbp, rsi",
        "mov rax, rcx",
        "mov r11, rdx",
        "mov rdx, r8",
        "jmp r11",
        ".size kiln_resume, .-kiln_resume",
    );
    unsafe extern "sysv64" {
        pub fn kiln_resume(sp: usize, fp: usize, pc: usize, p0: usize, p1: usize) -> !;
    }
}

/// The throw helper given to JIT code as `%__cranelift_throw`: unwind from the frame
/// `exit_fp` (whose return address is the first candidate call site) up to, but not
/// beyond, `entry_fp`, and resume at the first matching handler. Aborts the process if no
/// handler catches the exception (there is nothing to return to).
///
/// # Safety
/// Must be called from JIT code with frame pointers on the path between `exit_fp` and
/// `entry_fp`.
pub unsafe extern "sysv64" fn throw(entry_fp: usize, exit_fp: usize, _exit_pc: usize, tag: u32, p0: usize, p1: usize) {
    let mut fp = exit_fp;
    for _ in 0..1_000_000 {
        if fp == 0 {
            break;
        }
        // SAFETY: `fp` is a frame pointer of a JIT frame (saved FP at [fp], return
        // address at [fp + 8]).
        let (caller_fp, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        if let Some((frame_offset, handler)) = find_handler(ret, tag) {
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            // SAFETY: the handler belongs to the frame at `caller_fp`, whose body runs
            // with SP = FP - frame_offset.
            unsafe {
                imp::kiln_resume(caller_fp - frame_offset as usize, caller_fp, handler, p0, p1)
            }
        }
        if fp == entry_fp || caller_fp <= fp {
            break;
        }
        fp = caller_fp;
    }
    eprintln!("kiln: uncaught exception (tag {tag})");
    std::process::abort();
}

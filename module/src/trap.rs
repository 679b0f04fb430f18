//! Catching traps of JIT code: calls made through [`call_guarded`] return `Err(trap)`
//! instead of crashing the process when the code executes a trap instruction or faults.
//!
//! Mechanism (x86-64 Linux): a small assembly entry stub saves the callee-saved registers
//! and the stack pointer of the host, then calls the JIT code. Signal handlers for SIGILL,
//! SIGSEGV, SIGBUS and SIGFPE check whether the faulting PC lies in registered JIT code
//! while a guarded call is active on this thread; if so they record the trap (its code from
//! the trap tables, looked up by PC) and rewrite the signal context so that returning from
//! the handler resumes in the stub's landing pad with the host stack pointer restored. The
//! landing pad restores the callee-saved registers and returns an error code. Handlers run
//! on an alternate signal stack so that stack overflow in JIT code is caught as well: a
//! fault whose address lies in the guard area just below the calling thread's stack is
//! reported as `stk_ovf`, and so is any fault taken with the stack pointer below the
//! thread's stack (the thread's stack bounds are looked up once per thread). A
//! `debugtrap` (SIGTRAP) in JIT code is reported as a trap without a code.
//!
//! Invariants: registrations are only added or removed outside JIT execution; faults
//! outside JIT code (or without an active guard) fall back to the default action (a trap
//! signal is raised again, so it is fatal as it would have been). [`fork_consistent`] forks
//! while no other thread can be changing the registries, so that a child process that only
//! runs JIT code never finds them locked.

use kiln_ir::trapcode::TrapCode;
use std::cell::Cell;
use std::sync::RwLock;

/// A trap taken by JIT code.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Trap {
    /// The trap code recorded for the faulting instruction, if any.
    pub code: Option<TrapCode>,
    /// The signal that reported it.
    pub signal: i32,
    /// The faulting PC.
    pub pc: usize,
}

/// SIGTRAP (the signal of `debugtrap`).
#[cfg(unix)]
const SIGTRAP: i32 = libc::SIGTRAP;
#[cfg(not(unix))]
const SIGTRAP: i32 = 5;

impl core::fmt::Display for Trap {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match self.code {
            Some(c) => write!(f, "trap: {c}"),
            None if self.signal == SIGTRAP => write!(f, "debugtrap (SIGTRAP) at pc {:#x}", self.pc),
            None => write!(f, "unexpected fault (signal {}) at pc {:#x}", self.signal, self.pc),
        }
    }
}

/// A region of JIT code and its trap sites (sorted by offset).
struct Registration {
    start: usize,
    end: usize,
    traps: Vec<(u32, TrapCode)>,
}

static REGISTRY: RwLock<Vec<Registration>> = RwLock::new(Vec::new());

/// Register code at `start..start+len` with trap sites `(offset, code)`.
pub fn register_code(start: usize, len: usize, mut traps: Vec<(u32, TrapCode)>) {
    traps.sort_by_key(|t| t.0);
    install_handlers();
    if let Ok(mut r) = REGISTRY.write() {
        r.push(Registration { start, end: start + len, traps });
    }
}

/// Remove the registration of the code at `start`.
pub fn unregister_code(start: usize) {
    if let Ok(mut r) = REGISTRY.write() {
        r.retain(|reg| reg.start != start);
    }
}

/// Is `pc` in registered code, and which trap code does it have?
///
/// Runs inside the signal handler, so it must not block: another thread may hold the write
/// lock for a moment while it registers or removes code. The faulting thread itself never
/// holds the lock (it is executing JIT code), so retrying until the writer is done always
/// ends; giving up instead would turn an ordinary trap into a crash of the process.
fn lookup(pc: usize) -> Option<Option<TrapCode>> {
    let r = loop {
        match REGISTRY.try_read() {
            Ok(r) => break r,
            Err(std::sync::TryLockError::Poisoned(p)) => break p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
                // SAFETY: sched_yield is async-signal-safe and takes no arguments.
                unsafe {
                    libc::sched_yield();
                }
                core::hint::spin_loop();
            }
        }
    };
    let reg = r.iter().find(|reg| pc >= reg.start && pc < reg.end)?;
    let off = (pc - reg.start) as u32;
    Some(reg.traps.binary_search_by_key(&off, |t| t.0).ok().map(|i| reg.traps[i].1))
}

thread_local! {
    /// The host stack pointer saved by the active guarded call (0 = none).
    static GUARD_SP: Cell<usize> = const { Cell::new(0) };
    /// The trap taken by the active guarded call.
    static TRAP: Cell<Option<Trap>> = const { Cell::new(None) };
    /// This thread's alternate signal stack, once set up (see [`ensure_alt_stack`]).
    static ALT_STACK: core::cell::RefCell<Option<AltStack>> = const { core::cell::RefCell::new(None) };
    /// Addresses whose access means this thread's stack overflowed: `[lo, hi)`, the guard
    /// area below the stack (`(0, 0)` until looked up; `(1, 1)` if unknown).
    static STACK_GUARD: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

/// How far below the lowest stack address a fault still counts as a stack overflow (at
/// least the guard the system reports): a frame's first access lands at most its size below
/// the stack (page by page with stack probes), and nothing else is mapped right below a
/// stack.
const GUARD_SPAN: usize = 1024 * 1024;

/// Look up (once per thread) the guard area below this thread's stack.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn ensure_stack_guard() {
    if STACK_GUARD.with(|g| g.get()) != (0, 0) {
        return;
    }
    // SAFETY: pthread_getattr_np fills `attr` for the calling thread; it is destroyed after.
    let range = unsafe {
        let mut attr: libc::pthread_attr_t = core::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            (1, 1)
        } else {
            let mut addr: *mut libc::c_void = core::ptr::null_mut();
            let mut size = 0usize;
            let mut guard = 0usize;
            let ok = libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0;
            libc::pthread_attr_getguardsize(&attr, &mut guard);
            libc::pthread_attr_destroy(&mut attr);
            if ok && !addr.is_null() {
                let lo = addr as usize;
                (lo.saturating_sub(guard.max(GUARD_SPAN)), lo)
            } else {
                (1, 1)
            }
        }
    };
    STACK_GUARD.with(|g| g.set(range));
}

/// Does a fault at `addr`, with the stack pointer at `sp`, mean this thread's stack
/// overflowed? Either the address is in the guard area below the stack, or the stack
/// pointer itself has left the stack (a frame larger than the guard page can jump over it
/// into a neighbouring mapping, such as another thread's stack, and fault further down).
#[cfg_attr(not(all(target_arch = "x86_64", target_os = "linux")), allow(dead_code))]
fn is_stack_overflow(addr: usize, sp: usize) -> bool {
    let (lo, hi) = STACK_GUARD.with(|g| g.get());
    hi > 1 && ((addr >= lo && addr < hi) || sp < hi)
}

/// The alternate signal stack a thread uses while it runs JIT code: either one that was
/// already installed and is large enough (`owned` is `None`; Rust's runtime installs a
/// small one), or one of ours, removed and freed when the thread exits.
struct AltStack {
    #[cfg_attr(not(all(target_arch = "x86_64", target_os = "linux")), allow(dead_code))]
    owned: Option<Box<[u8]>>,
}

impl Drop for AltStack {
    fn drop(&mut self) {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        if self.owned.is_some() {
            // Disable it before the memory goes; signals then run on the normal stack.
            let ss = libc::stack_t { ss_sp: core::ptr::null_mut(), ss_flags: libc::SS_DISABLE, ss_size: 0 };
            // SAFETY: plain system call with a valid argument.
            unsafe {
                libc::sigaltstack(&ss, core::ptr::null_mut());
            }
        }
    }
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod imp {
    use super::*;

    // kiln_guard_enter(f, a0, a1, sp_slot): saves callee-saved registers, stores the stack
    // pointer to *sp_slot, calls f(a0, a1), returns 0. The landing pad returns 1 through
    // the same epilogue after the signal handler reset the stack pointer.
    core::arch::global_asm!(
        ".globl kiln_guard_enter",
        ".type kiln_guard_enter,@function",
        "kiln_guard_enter:",
        "push rbp",
        "mov rbp, rsp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "sub rsp, 8",
        "mov [rcx], rsp",
        "mov rax, rdi",
        "mov rdi, rsi",
        "mov rsi, rdx",
        "call rax",
        "xor eax, eax",
        "2:",
        "add rsp, 8",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
        ".globl kiln_guard_landing",
        "kiln_guard_landing:",
        "mov eax, 1",
        "jmp 2b",
        ".size kiln_guard_enter, .-kiln_guard_enter",
    );

    unsafe extern "sysv64" {
        pub fn kiln_guard_enter(f: usize, a0: usize, a1: usize, sp_slot: *mut usize) -> u32;
        pub fn kiln_guard_landing();
    }

    pub const REG_RIP: usize = libc::REG_RIP as usize;
    pub const REG_RSP: usize = libc::REG_RSP as usize;

    pub unsafe extern "C" fn handler(sig: i32, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid ucontext for SA_SIGINFO handlers.
        let uc = unsafe { &mut *(ctx as *mut libc::ucontext_t) };
        let pc = uc.uc_mcontext.gregs[REG_RIP] as usize;
        let sp = GUARD_SP.with(|s| s.get());
        // After `int3` the PC is past the instruction.
        let site = if sig == libc::SIGTRAP { pc.wrapping_sub(1) } else { pc };
        if sp != 0
            && let Some(code) = lookup(site)
        {
            // SAFETY: `info` is valid for SA_SIGINFO handlers; si_addr is the faulting
            // address for SIGSEGV/SIGBUS.
            let addr = unsafe { (*info).si_addr() } as usize;
            // An access in the guard area below the stack is a stack overflow, whatever the
            // instruction (a probe, a spill, a store to a stack slot through a pointer).
            let fault_sp = uc.uc_mcontext.gregs[REG_RSP] as usize;
            let code = if matches!(sig, libc::SIGSEGV | libc::SIGBUS) && is_stack_overflow(addr, fault_sp) {
                Some(TrapCode::STACK_OVERFLOW)
            } else {
                code
            };
            TRAP.with(|t| t.set(Some(Trap { code, signal: sig, pc: site })));
            uc.uc_mcontext.gregs[REG_RSP] = sp as i64;
            uc.uc_mcontext.gregs[REG_RIP] = kiln_guard_landing as *const () as usize as i64;
            return;
        }
        // Not ours: restore the default action. Returning repeats a fault, fatally; a
        // SIGTRAP would not repeat, so it is raised again.
        // SAFETY: resetting a signal disposition and raising a signal.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            if sig == libc::SIGTRAP {
                libc::raise(sig);
            }
        }
    }
}

fn install_handlers() {
    use std::sync::Once;
    static ONCE: Once = Once::new();
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    ONCE.call_once(|| {
        for sig in [libc::SIGILL, libc::SIGSEGV, libc::SIGBUS, libc::SIGFPE, libc::SIGTRAP] {
            // SAFETY: installing a handler with a zeroed, then filled, sigaction.
            unsafe {
                let mut sa: libc::sigaction = core::mem::zeroed();
                sa.sa_sigaction = imp::handler as *const () as usize;
                sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
                libc::sigemptyset(&mut sa.sa_mask);
                libc::sigaction(sig, &sa, core::ptr::null_mut());
            }
        }
    });
    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    ONCE.call_once(|| {});
}

/// Give this thread an alternate signal stack of at least 64 KiB, so that a trap taken on
/// an overflowing stack can still be handled. An existing one that large is kept.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn ensure_alt_stack() {
    const SIZE: usize = 64 * 1024;
    ALT_STACK.with(|a| {
        let mut a = a.borrow_mut();
        if a.is_some() {
            return;
        }
        // SAFETY: querying the current alternate stack writes `old` only.
        let mut old: libc::stack_t = unsafe { core::mem::zeroed() };
        unsafe {
            libc::sigaltstack(core::ptr::null(), &mut old);
        }
        if old.ss_flags & libc::SS_DISABLE == 0 && old.ss_size >= SIZE {
            *a = Some(AltStack { owned: None });
            return;
        }
        let mut mem = vec![0u8; SIZE].into_boxed_slice();
        let ss = libc::stack_t { ss_sp: mem.as_mut_ptr() as *mut _, ss_flags: 0, ss_size: SIZE };
        // SAFETY: `mem` stays alive in the thread-local until `AltStack::drop` has disabled
        // the alternate stack.
        unsafe {
            libc::sigaltstack(&ss, core::ptr::null_mut());
        }
        *a = Some(AltStack { owned: Some(mem) });
    });
}

/// Call `f(a0, a1)` (a System V function of two pointer-sized arguments, e.g. a
/// trampoline) and catch traps it takes.
///
/// # Safety
/// `f` must be the address of such a function in registered JIT code, and `a0`, `a1`
/// must be what it expects. Code that traps leaves whatever memory it wrote behind; its
/// frames are discarded without unwinding.
pub unsafe fn call_guarded(f: *const u8, a0: usize, a1: usize) -> Result<(), Trap> {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    {
        install_handlers();
        ensure_alt_stack();
        ensure_stack_guard();
        let prev = GUARD_SP.with(|s| s.get());
        TRAP.with(|t| t.set(None));
        // Restores the enclosing guard (nested guarded calls) however we leave.
        struct Restore(usize);
        impl Drop for Restore {
            fn drop(&mut self) {
                GUARD_SP.with(|s| s.set(self.0));
            }
        }
        let _restore = Restore(prev);
        // The stub stores the host stack pointer straight into this thread's GUARD_SP.
        let slot = GUARD_SP.with(|s| s.as_ptr());
        // SAFETY: per this function's contract.
        let r = unsafe { imp::kiln_guard_enter(f as usize, a0, a1, slot) };
        if r == 0 { Ok(()) } else { Err(TRAP.with(|t| t.get()).unwrap_or(Trap { code: None, signal: 0, pc: 0 })) }
    }
    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    {
        // No trap catching on this host: call directly.
        // SAFETY: per this function's contract.
        let f: unsafe extern "C" fn(usize, usize) = unsafe { core::mem::transmute(f) };
        unsafe { f(a0, a1) };
        Ok(())
    }
}

/// Fork the process (`libc::fork`) at a moment when no other thread holds a lock the child
/// may need to run JIT code: the trap registry, the exception call-site table, and
/// standard output and error. The child is a copy of the calling thread only; if another
/// thread held one of these locks at the fork, it would stay locked forever in the child.
/// Returns what `fork` returns (the child's pid, 0 in the child, -1 on failure).
///
/// # Safety
/// The child must only do what is safe after `fork` in a multi-threaded program: run code
/// that takes none of the locks other threads may have held (beyond those above and the
/// allocator's, which the C library makes consistent), and leave with `_exit`.
#[cfg(unix)]
pub unsafe fn fork_consistent() -> i32 {
    let _out = std::io::stdout().lock();
    let _err = std::io::stderr().lock();
    let _traps = REGISTRY.read();
    // SAFETY: per this function's contract.
    crate::exceptions::with_read_lock(|| unsafe { libc::fork() })
}

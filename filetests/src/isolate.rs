//! Running the `; run:` lines of a file in a worker process, so that no run line can take
//! the test run down: code that crashes the process (a fault outside JIT code, `abort`, an
//! exception nothing catches, a throw through a bogus frame), loops forever or overflows the
//! native stack fails that run line only, and the next line runs in a fresh worker.
//!
//! # Design
//!
//! The *supervisor* (this process) compiles the file into a [`JitRunner`] as before and
//! turns each run line into a [`PreparedCall`]: trampoline address, callee address and the
//! argument buffer. The *worker* is a process holding the same code at the same addresses.
//! It receives a call as a request on a socket, makes it under
//! [`kiln_module::trap::call_guarded`] (so traps, including `stk_ovf` found by the guard
//! page, come back as trap records) and answers with the result buffer or the trap. The
//! supervisor waits for the answer with a deadline (`--timeout`):
//! - answer: the results are decoded as for an in-process call;
//! - the socket closes: the worker died; it is reaped and the line fails with its exit
//!   status or signal ("crashed: signal 11 (SIGSEGV)");
//! - no answer in time: the worker is killed and the line fails ("timed out after 10 s").
//!
//! After a crash or timeout the next call starts a new worker; one worker serves all the
//! lines of a file (per configuration) otherwise, so a line costs one request/answer round
//! trip (microseconds), not a process. State a line leaves in memory (a global written by a
//! store) is seen by the following lines of the same worker, as in-process.
//!
//! Native workers are made with `fork` ([`kiln_module::trap::fork_consistent`]): the child
//! inherits the finalized code, data and trap tables, so nothing needs shipping. The wire
//! format is deliberately at the level of addresses and bytes so that a worker for a
//! *foreign* target fits the same supervisor: a small runner program for that target,
//! started under `qemu-user` and sent the code image once (code bytes, relocated for the
//! addresses it reports, and its trap table), then driven with the same requests; only
//! worker start-up differs ([`Worker`] is the seam).
//!
//! Wire format (little-endian): request = `trampoline: u64, callee: u64, len: u32, bytes`;
//! answer = `0u8, len: u32, bytes` (returned) or `1u8, code: u8 (0 = none), signal: i32,
//! pc: u64` (trapped).
//!
//! Invariants: at most one worker per [`IsolatedRunner`], reaped on drop; a worker never
//! returns into the supervisor's code (it leaves with `_exit`, also after a panic); without
//! `fork` (non-Unix hosts) calls run in-process.

use crate::jit_run::{JitRunner, PreparedCall, RunError};
use kiln_ir::DataValue;
use kiln_ir::trapcode::TrapCode;
use kiln_module::trap::Trap;
use std::time::{Duration, Instant};

/// How run lines are executed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunLimits {
    /// Run each line in a worker process (see the module documentation); otherwise in
    /// this process.
    pub isolate: bool,
    /// The longest a single run line may take (`None`: no limit). Enforced with `isolate`,
    /// and always for code under qemu.
    pub timeout: Option<Duration>,
}

/// The default time limit of a run line.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits { isolate: cfg!(unix), timeout: Some(DEFAULT_TIMEOUT) }
    }
}

/// A [`JitRunner`] whose calls run in a worker process.
pub struct IsolatedRunner {
    runner: JitRunner,
    limits: RunLimits,
    worker: Option<Worker>,
}

impl IsolatedRunner {
    /// Wrap `runner`; the worker starts with the first call. Code under qemu gets the
    /// time limit too (its runner process is killed when it passes).
    pub fn new(mut runner: JitRunner, limits: RunLimits) -> Self {
        runner.set_timeout(limits.timeout);
        IsolatedRunner { runner, limits, worker: None }
    }

    /// The compiled file.
    pub fn runner(&self) -> &JitRunner {
        &self.runner
    }

    /// Call function `index` of the file with `args`.
    pub fn call(&mut self, index: usize, args: &[DataValue]) -> Result<Vec<DataValue>, RunError> {
        // Code for another architecture already runs in its own (qemu) process, which
        // `JitRunner` restarts when it dies.
        if !self.limits.isolate || !cfg!(unix) || !self.runner.is_native() {
            return self.runner.call(index, args);
        }
        let mut call = self.runner.prepare_call(index, args)?;
        if self.worker.is_none() {
            self.worker = Some(Worker::start().map_err(|e| RunError::Other(format!("cannot start a worker: {e}")))?);
        }
        let worker = self.worker.as_mut().expect("just started");
        match worker.call(&mut call, self.limits.timeout) {
            Ok(Ok(())) => self.runner.finish_call(&call),
            Ok(Err(trap)) => Err(RunError::Trap(trap)),
            Err(e) => {
                // The worker is gone (or killed): the next call starts another.
                self.worker = None;
                Err(e)
            }
        }
    }
}

#[cfg(unix)]
pub use imp::Worker;

#[cfg(not(unix))]
/// No worker processes on this host.
pub struct Worker;

#[cfg(not(unix))]
impl Worker {
    fn start() -> std::io::Result<Worker> {
        Err(std::io::Error::other("no worker processes on this host"))
    }
    fn call(&mut self, _: &mut PreparedCall, _: Option<Duration>) -> Result<Result<(), Trap>, RunError> {
        Err(RunError::Other("no worker processes on this host".into()))
    }
}

/// Encode a trap for the wire: code byte (0 = none), signal, pc.
fn encode_trap(t: &Trap, out: &mut Vec<u8>) {
    out.push(1);
    out.push(t.code.map_or(0, |c| c.as_raw()));
    out.extend_from_slice(&t.signal.to_le_bytes());
    out.extend_from_slice(&(t.pc as u64).to_le_bytes());
}

fn decode_trap(b: &[u8]) -> Option<Trap> {
    let code = TrapCode::from_raw(*b.first()?);
    let signal = i32::from_le_bytes(b.get(1..5)?.try_into().ok()?);
    let pc = u64::from_le_bytes(b.get(5..13)?.try_into().ok()?) as usize;
    Some(Trap { code, signal, pc })
}

/// Describe how a worker process ended (a `waitpid` status).
#[cfg(unix)]
fn describe_exit(status: i32) -> String {
    if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        let name = match sig {
            libc::SIGSEGV => "SIGSEGV: invalid memory access",
            libc::SIGBUS => "SIGBUS: bus error",
            libc::SIGILL => "SIGILL: illegal instruction",
            libc::SIGFPE => "SIGFPE: arithmetic fault",
            libc::SIGTRAP => "SIGTRAP: breakpoint",
            libc::SIGABRT => "SIGABRT: aborted",
            libc::SIGKILL => "SIGKILL",
            _ => "signal",
        };
        format!("crashed: signal {sig} ({name})")
    } else if libc::WIFEXITED(status) {
        format!("the worker process exited with status {}", libc::WEXITSTATUS(status))
    } else {
        format!("the worker process ended (status {status:#x})")
    }
}

#[cfg(unix)]
mod imp {
    use super::*;

    /// A worker process and the supervisor's end of its socket.
    pub struct Worker {
        pid: libc::pid_t,
        fd: libc::c_int,
    }

    impl Worker {
        /// Fork a worker (it serves requests until its socket closes).
        pub(super) fn start() -> std::io::Result<Worker> {
            let mut fds = [0 as libc::c_int; 2];
            // SAFETY: plain system call writing two descriptors.
            if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) }
                != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            let parent = unsafe { libc::getpid() };
            // SAFETY: the child only serves requests (running JIT code and the helpers it
            // calls) and leaves with `_exit`.
            let pid = unsafe { kiln_module::trap::fork_consistent() };
            if pid < 0 {
                let e = std::io::Error::last_os_error();
                // SAFETY: closing our own descriptors.
                unsafe {
                    libc::close(fds[0]);
                    libc::close(fds[1]);
                }
                return Err(e);
            }
            if pid == 0 {
                // The worker. Never return into the supervisor's frames.
                // SAFETY: see above; `_exit` ends the child without running the parent's
                // destructors or exit handlers.
                unsafe {
                    libc::close(fds[0]);
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    if libc::getppid() != parent {
                        libc::_exit(0);
                    }
                    let r = std::panic::catch_unwind(|| serve(fds[1]));
                    libc::_exit(if r.is_ok() { 0 } else { 101 });
                }
            }
            // SAFETY: closing the child's end in the parent.
            unsafe {
                libc::close(fds[1]);
            }
            Ok(Worker { pid, fd: fds[0] })
        }

        /// Make `call` in the worker within `timeout`. `Ok(Ok(()))`: it returned and
        /// `call.buf` holds the results; `Ok(Err(trap))`: it trapped; `Err`: the worker
        /// crashed or timed out (and is gone).
        pub(super) fn call(
            &mut self,
            call: &mut PreparedCall,
            timeout: Option<Duration>,
        ) -> Result<Result<(), Trap>, RunError> {
            let mut req = Vec::with_capacity(20 + call.buf.len());
            req.extend_from_slice(&(call.trampoline as u64).to_le_bytes());
            req.extend_from_slice(&(call.callee as u64).to_le_bytes());
            req.extend_from_slice(&(call.buf.len() as u32).to_le_bytes());
            req.extend_from_slice(&call.buf);
            if send_all(self.fd, &req).is_err() {
                return Err(RunError::Crashed(self.reap()));
            }
            let deadline = timeout.map(|t| Instant::now() + t);
            let mut status = [0u8; 1];
            let r = recv_exact(self.fd, &mut status, deadline).and_then(|()| match status[0] {
                0 => {
                    let mut len = [0u8; 4];
                    recv_exact(self.fd, &mut len, deadline)?;
                    let len = u32::from_le_bytes(len) as usize;
                    if len != call.buf.len() {
                        return Err(Recv::Protocol);
                    }
                    recv_exact(self.fd, &mut call.buf, deadline)?;
                    Ok(Ok(()))
                }
                1 => {
                    let mut t = [0u8; 13];
                    recv_exact(self.fd, &mut t, deadline)?;
                    Ok(Err(decode_trap(&t).ok_or(Recv::Protocol)?))
                }
                _ => Err(Recv::Protocol),
            });
            match r {
                Ok(r) => Ok(r),
                Err(Recv::Timeout) => {
                    self.kill();
                    Err(RunError::Timeout(timeout.unwrap_or_default()))
                }
                Err(Recv::Closed) => Err(RunError::Crashed(self.reap())),
                Err(Recv::Protocol) => {
                    self.kill();
                    Err(RunError::Crashed("the worker process sent a malformed answer".into()))
                }
            }
        }

        /// Wait for the (dying) worker and describe how it ended.
        fn reap(&mut self) -> String {
            let mut status = 0;
            // SAFETY: waiting for our own child.
            let r = unsafe { libc::waitpid(self.pid, &mut status, 0) };
            self.pid = 0;
            if r < 0 { "the worker process disappeared".to_string() } else { describe_exit(status) }
        }

        fn kill(&mut self) {
            if self.pid > 0 {
                // SAFETY: killing and reaping our own child.
                unsafe {
                    libc::kill(self.pid, libc::SIGKILL);
                    let mut status = 0;
                    libc::waitpid(self.pid, &mut status, 0);
                }
                self.pid = 0;
            }
        }
    }

    impl Drop for Worker {
        fn drop(&mut self) {
            // SAFETY: closing our descriptor; the worker sees end-of-file and leaves (it is
            // killed in case it does not).
            unsafe {
                libc::close(self.fd);
            }
            self.kill();
        }
    }

    enum Recv {
        Timeout,
        Closed,
        Protocol,
    }

    fn send_all(fd: libc::c_int, mut b: &[u8]) -> Result<(), ()> {
        while !b.is_empty() {
            // SAFETY: sending from a valid buffer; MSG_NOSIGNAL: a dead peer is an error,
            // not SIGPIPE.
            let n = unsafe { libc::send(fd, b.as_ptr() as *const _, b.len(), libc::MSG_NOSIGNAL) };
            if n < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(());
            }
            b = &b[n as usize..];
        }
        Ok(())
    }

    /// Fill `b` from `fd`, waiting at most until `deadline`.
    fn recv_exact(fd: libc::c_int, b: &mut [u8], deadline: Option<Instant>) -> Result<(), Recv> {
        let mut got = 0;
        while got < b.len() {
            if let Some(d) = deadline {
                let left = d.saturating_duration_since(Instant::now());
                let ms = left.as_millis().min(i32::MAX as u128) as i32;
                let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
                // SAFETY: polling one valid descriptor.
                let n = unsafe { libc::poll(&mut p, 1, ms.max(if left.is_zero() { 0 } else { 1 })) };
                if n < 0 {
                    if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                        continue;
                    }
                    return Err(Recv::Closed);
                }
                if n == 0 {
                    return Err(Recv::Timeout);
                }
            }
            // SAFETY: receiving into the unfilled part of `b`.
            let n = unsafe { libc::recv(fd, b[got..].as_mut_ptr() as *mut _, b.len() - got, 0) };
            if n < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(Recv::Closed);
            }
            if n == 0 {
                return Err(Recv::Closed);
            }
            got += n as usize;
        }
        Ok(())
    }

    /// The worker's loop: answer requests until the socket closes.
    fn serve(fd: libc::c_int) {
        let mut head = [0u8; 20];
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            if recv_exact(fd, &mut head, None).is_err() {
                return;
            }
            let tramp = u64::from_le_bytes(head[0..8].try_into().expect("8 bytes")) as usize;
            let callee = u64::from_le_bytes(head[8..16].try_into().expect("8 bytes")) as usize;
            let len = u32::from_le_bytes(head[16..20].try_into().expect("4 bytes")) as usize;
            buf.clear();
            buf.resize(len, 0);
            if recv_exact(fd, &mut buf, None).is_err() {
                return;
            }
            // SAFETY: the supervisor prepared this call for this code (the worker holds the
            // same code at the same addresses): the trampoline reads and writes only the
            // slots of `buf`.
            let r = unsafe { kiln_module::trap::call_guarded(tramp as *const u8, callee, buf.as_mut_ptr() as usize) };
            out.clear();
            match r {
                Ok(()) => {
                    out.push(0);
                    out.extend_from_slice(&(buf.len() as u32).to_le_bytes());
                    out.extend_from_slice(&buf);
                }
                Err(t) => encode_trap(&t, &mut out),
            }
            if send_all(fd, &out).is_err() {
                return;
            }
        }
    }
}

//! Running code compiled for another architecture on this host, under qemu-user.
//!
//! One mechanism for every foreign target; what differs per target is one entry of
//! [`CROSS_TARGETS`]: the qemu binary and its options, the C cross compiler, and how the
//! program counter and stack pointer are read from a signal context (plus, in the C source,
//! how to resume at an exception handler). The runner process is a small C program
//! (`cross_harness.c`), built once per target with that compiler (static, cached in the
//! temporary directory under a hash of its source and build command) and started under
//! qemu once per [`CrossProgram`]. It maps a code region and reports its address and those
//! of the runtime routines it offers (libcalls); the host links every compiled function
//! and trampoline into one image for that address ([`patch_reloc`]: the relocations of
//! every target), sends it once with the handlers of its `try_call` sites (the runner's
//! `__cranelift_throw` unwinds to them), and then sends one `call` per run line. Traps come
//! back as signal and PC; the PC is mapped to a trap code through the functions' trap
//! records, and a fault the runner recognizes as a stack overflow is `stk_ovf`.
//!
//! Invariants: a call never hangs on a dead runner (its death is an error and the next
//! call starts a new one with the same image), nor longer than the time limit (the runner
//! is killed, the call fails with [`CrossError::Timeout`], the next call starts a new one);
//! a target without qemu or its cross compiler on this machine is reported as unavailable
//! with the reason, never run.

use kiln_codegen::CompiledCode;
use kiln_codegen::machinst::buffer::{HandlerTag, Reloc, RelocTarget};
use kiln_ir::settings::Arch;
use kiln_ir::trapcode::TrapCode;
use kiln_module::jit::reloc_target_name;
use kiln_module::trap::Trap;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How to run code of one foreign architecture.
pub struct CrossTarget {
    /// The architecture.
    pub arch: Arch,
    /// The qemu-user binary.
    pub qemu: &'static str,
    /// Options for it (before the program).
    pub qemu_args: &'static [&'static str],
    /// The C cross compiler that builds the runner.
    pub cc: &'static str,
    /// A C expression for the program counter in `ucontext_t *uc`.
    pub pc_of_context: &'static str,
    /// A C expression for the stack pointer in `ucontext_t *uc`.
    pub sp_of_context: &'static str,
}

/// Every architecture this host can run under qemu.
pub const CROSS_TARGETS: &[CrossTarget] = &[
    CrossTarget {
        arch: Arch::Aarch64,
        qemu: "qemu-aarch64",
        qemu_args: &["-cpu", "max"],
        cc: "aarch64-linux-gnu-gcc",
        pc_of_context: "(uc)->uc_mcontext.pc",
        sp_of_context: "(uc)->uc_mcontext.sp",
    },
    CrossTarget {
        arch: Arch::Riscv64,
        qemu: "qemu-riscv64",
        // Every extension qemu has (V included), with VLEN pinned to 128 bits: vector
        // spill slots and whole-register moves assume it, as Cranelift does.
        qemu_args: &["-cpu", "max,vlen=128"],
        cc: "riscv64-linux-gnu-gcc",
        // glibc's `REG_PC`.
        pc_of_context: "(uc)->uc_mcontext.__gregs[0]",
        sp_of_context: "(uc)->uc_mcontext.__gregs[2]",
    },
];

/// The runner's C source.
const HARNESS_SOURCE: &str = include_str!("cross_harness.c");

/// The cross target for `arch`, if there is one.
pub fn cross_target(arch: Arch) -> Option<&'static CrossTarget> {
    CROSS_TARGETS.iter().find(|t| t.arch == arch)
}

/// The runner for `t`, built on first use; `Err` says why this machine cannot run code for
/// the target.
pub fn harness(t: &'static CrossTarget) -> Result<PathBuf, String> {
    static BUILT: [OnceLock<Result<PathBuf, String>>; 8] = [const { OnceLock::new() }; 8];
    let i = CROSS_TARGETS.iter().position(|x| std::ptr::eq(x, t)).expect("an entry of CROSS_TARGETS");
    BUILT[i].get_or_init(|| build_harness(t)).clone()
}

fn build_harness(t: &CrossTarget) -> Result<PathBuf, String> {
    let cannot = |why: String| format!("cannot run {:?} code on this host: {why}", t.arch);
    match Command::new(t.qemu).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status() {
        Ok(s) if s.success() => {}
        _ => return Err(cannot(format!("{} is not installed", t.qemu))),
    }
    let define_pc = format!("-DKILN_PC(uc)=({})", t.pc_of_context);
    let define_sp = format!("-DKILN_SP(uc)=({})", t.sp_of_context);
    let args = ["-O1", "-static", "-no-pie", "-fno-pie", &define_pc, &define_sp];
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (HARNESS_SOURCE, t.cc, &args).hash(&mut h);
    let dir = std::env::temp_dir().join("kiln-cross");
    std::fs::create_dir_all(&dir).map_err(|e| cannot(format!("{}: {e}", dir.display())))?;
    let exe = dir.join(format!("harness-{}-{:016x}", t.qemu, h.finish()));
    if exe.exists() {
        return Ok(exe);
    }
    // Build under a unique name, then rename: parallel builders never see a partial file.
    let unique = format!("{}.{}.{:?}", exe.display(), std::process::id(), std::thread::current().id());
    let src = PathBuf::from(format!("{unique}.c"));
    let tmp = PathBuf::from(format!("{unique}.tmp"));
    std::fs::write(&src, HARNESS_SOURCE).map_err(|e| cannot(format!("{}: {e}", src.display())))?;
    let out = Command::new(t.cc).args(args).arg("-o").arg(&tmp).arg(&src).arg("-lm").output();
    let _ = std::fs::remove_file(&src);
    match out {
        Err(e) => return Err(cannot(format!("{} is not installed ({e})", t.cc))),
        Ok(o) if !o.status.success() => {
            return Err(cannot(format!("{} failed: {}", t.cc, String::from_utf8_lossy(&o.stderr).trim())));
        }
        Ok(_) => {}
    }
    std::fs::rename(&tmp, &exe).map_err(|e| cannot(format!("{}: {e}", exe.display())))?;
    Ok(exe)
}

/// Patch the relocation of kind `kind` at `buf[at..]` (which will live at address `p`) to
/// refer to `target + addend`. For riscv64's `RiscvPCRelLo12I`, whose target is the `auipc`
/// of the pair, `p` is the address of that `auipc` and `target + addend` the value of the
/// `auipc`'s own `RiscvPCRelHi20` relocation ([`riscv_hi20_values`]).
pub fn patch_reloc(buf: &mut [u8], at: usize, p: u64, kind: Reloc, target: u64, addend: i64) -> Result<(), String> {
    let n = match kind {
        Reloc::Abs8 | Reloc::RiscvCallPlt => 8,
        _ => 4,
    };
    if at.checked_add(n).is_none_or(|e| e > buf.len()) {
        return Err(format!("relocation at {at:#x} outside the code"));
    }
    let v = (target as i64).wrapping_add(addend);
    let word = |buf: &[u8]| u32::from_le_bytes(buf[at..at + 4].try_into().expect("4 bytes"));
    let put = |buf: &mut [u8], w: u32| buf[at..at + 4].copy_from_slice(&w.to_le_bytes());
    match kind {
        Reloc::Abs8 => buf[at..at + 8].copy_from_slice(&v.to_le_bytes()),
        Reloc::Abs4 => {
            let v = u32::try_from(v).map_err(|_| "Abs4 relocation out of range".to_string())?;
            put(buf, v);
        }
        Reloc::Arm64Call => {
            let d = v.wrapping_sub(p as i64);
            if d % 4 != 0 || !(-(1 << 27)..(1 << 27)).contains(&d) {
                return Err(format!("call to {v:#x} from {p:#x} is out of range"));
            }
            let w = word(buf);
            put(buf, (w & !0x03ff_ffff) | ((d >> 2) as u32 & 0x03ff_ffff));
        }
        Reloc::Aarch64AdrPrelPgHi21 => {
            let d = (v >> 12).wrapping_sub(p as i64 >> 12);
            if !(-(1 << 20)..(1 << 20)).contains(&d) {
                return Err(format!("adrp to {v:#x} from {p:#x} is out of range"));
            }
            let (lo, hi) = (d as u32 & 3, (d >> 2) as u32 & 0x7ffff);
            let w = word(buf);
            put(buf, (w & !(3 << 29 | 0x7ffff << 5)) | lo << 29 | hi << 5);
        }
        Reloc::Aarch64AddAbsLo12Nc => {
            let w = word(buf);
            put(buf, (w & !(0xfff << 10)) | ((v as u32 & 0xfff) << 10));
        }
        Reloc::RiscvCallPlt | Reloc::RiscvPCRelHi20 => {
            // auipc gets the upper 20 bits (rounded for the sign of the low 12); a call's
            // jalr, the next word, the low 12.
            let d = v.wrapping_sub(p as i64);
            if !(-(1i64 << 31)..(1i64 << 31) - 0x800).contains(&d) {
                return Err(format!("pc-relative reference to {v:#x} from {p:#x} is out of range"));
            }
            let hi = (d + 0x800) as u32 & 0xffff_f000;
            let w = word(buf);
            put(buf, (w & 0xfff) | hi);
            if kind == Reloc::RiscvCallPlt {
                let j = u32::from_le_bytes(buf[at + 4..at + 8].try_into().expect("4 bytes"));
                buf[at + 4..at + 8].copy_from_slice(&((j & 0x000f_ffff) | (d as u32 & 0xfff) << 20).to_le_bytes());
            }
        }
        Reloc::RiscvPCRelLo12I => {
            let d = v.wrapping_sub(p as i64);
            let w = word(buf);
            put(buf, (w & 0x000f_ffff) | (d as u32 & 0xfff) << 20);
        }
        k => return Err(format!("the cross runner cannot apply {k:?} relocations yet")),
    }
    Ok(())
}

/// The values (`target + addend`) of the `RiscvPCRelHi20` relocations of `code`, by the
/// offset of their `auipc`: what the `RiscvPCRelLo12I` relocations naming that `auipc` need.
pub fn riscv_hi20_values(
    code: &CompiledCode,
    resolve: impl Fn(&RelocTarget) -> Result<u64, String>,
) -> Result<HashMap<u32, u64>, String> {
    let mut m = HashMap::new();
    for r in code.buffer.relocs.iter().filter(|r| r.kind == Reloc::RiscvPCRelHi20) {
        m.insert(r.offset, (resolve(&r.target)? as i64).wrapping_add(r.addend) as u64);
    }
    Ok(m)
}

/// One piece of code of a [`CrossProgram`]: a function or a trampoline, with the name
/// relocations refer to it by.
pub struct CrossCode {
    /// The symbol.
    pub name: RelocTarget,
    /// Its code.
    pub code: CompiledCode,
}

/// A running runner process.
struct Process {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Why a call under qemu did not give an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrossError {
    /// The runner failed (could not start, died, answered nonsense): what happened.
    Failed(String),
    /// The call took longer than the time limit; the runner was killed.
    Timeout(Duration),
}

impl From<String> for CrossError {
    fn from(s: String) -> Self {
        CrossError::Failed(s)
    }
}

impl std::fmt::Display for CrossError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            CrossError::Failed(s) => f.write_str(s),
            CrossError::Timeout(d) => write!(f, "timed out after {} s (the runner was killed)", d.as_secs_f64()),
        }
    }
}

/// A `try_call` site of the linked image: return address, distance from the frame pointer
/// down to the stack pointer in the calling function's body, and its handlers (`None`: the
/// default one) with their addresses.
struct Site {
    ret: u64,
    frame_offset: u32,
    tag: Option<u32>,
    handler: u64,
}

/// Compiled code linked for a runner process under qemu, ready to call.
pub struct CrossProgram {
    target: &'static CrossTarget,
    exe: PathBuf,
    /// The linked image (sent again if the runner has to be restarted).
    image: Vec<u8>,
    /// The address the image lives at.
    base: u64,
    /// Offset of each piece of code in the image (in the order given to `link`).
    offsets: Vec<u64>,
    /// Trap sites `(image offset, code)`, sorted.
    traps: Vec<(u64, TrapCode)>,
    /// Exception handlers of the call sites, sorted by return address (sent with the image).
    sites: Vec<Site>,
    /// The longest a call may take (`None`: no limit).
    timeout: Option<Duration>,
    process: Option<Process>,
}

/// Wait until `r` has input (buffered, or readable on its descriptor) or `deadline` passes.
fn wait_input(r: &BufReader<ChildStdout>, deadline: Option<Instant>) -> Result<(), Wait> {
    let Some(deadline) = deadline else { return Ok(()) };
    if !r.buffer().is_empty() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Wait::Timeout);
            }
            let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
            let mut p = libc::pollfd { fd: r.get_ref().as_raw_fd(), events: libc::POLLIN, revents: 0 };
            // SAFETY: polling one valid descriptor.
            let n = unsafe { libc::poll(&mut p, 1, ms) };
            if n > 0 {
                return Ok(());
            }
            if n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                return Err(Wait::Failed(format!("waiting for the runner: {}", std::io::Error::last_os_error())));
            }
        }
    }
    #[cfg(not(unix))]
    Ok(())
}

enum Wait {
    Timeout,
    Failed(String),
}

/// Read one line from the runner (by `deadline`, if any).
fn read_line(r: &mut BufReader<ChildStdout>, deadline: Option<Instant>) -> Result<String, Wait> {
    let mut line = Vec::new();
    loop {
        wait_input(r, deadline)?;
        let buf = r.fill_buf().map_err(|e| Wait::Failed(format!("reading from the runner: {e}")))?;
        if buf.is_empty() {
            return Err(Wait::Failed("the runner exited".into()));
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(i) => {
                line.extend_from_slice(&buf[..i]);
                r.consume(i + 1);
                return Ok(String::from_utf8_lossy(&line).trim_end().to_string());
            }
            None => {
                let n = buf.len();
                line.extend_from_slice(buf);
                r.consume(n);
            }
        }
    }
}

/// Fill `out` from the runner (by `deadline`, if any).
fn read_bytes(r: &mut BufReader<ChildStdout>, out: &mut [u8], deadline: Option<Instant>) -> Result<(), Wait> {
    let mut got = 0;
    while got < out.len() {
        wait_input(r, deadline)?;
        let n = r.read(&mut out[got..]).map_err(|e| Wait::Failed(format!("reading from the runner: {e}")))?;
        if n == 0 {
            return Err(Wait::Failed("the runner exited".into()));
        }
        got += n;
    }
    Ok(())
}

/// A line from the runner, without a time limit (start-up and loading).
fn read_line_now(r: &mut BufReader<ChildStdout>) -> Result<String, String> {
    read_line(r, None).map_err(|e| match e {
        Wait::Failed(s) => s,
        Wait::Timeout => "timed out".into(),
    })
}

fn hex(s: Option<&str>) -> Result<u64, String> {
    s.and_then(|s| u64::from_str_radix(s, 16).ok()).ok_or_else(|| "malformed answer from the runner".to_string())
}

impl CrossProgram {
    /// Start a runner for target `t` with a region of `len` bytes: the process, the region's
    /// address and the routines it offers.
    fn start(t: &CrossTarget, exe: &PathBuf, len: usize) -> Result<(Process, u64, HashMap<String, u64>), String> {
        let mut child = Command::new(t.qemu)
            .args(t.qemu_args)
            .arg(exe)
            .arg(format!("{:x}", len.max(1)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", t.qemu))?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut p = Process { child, stdin, stdout };
        let first = read_line_now(&mut p.stdout)?;
        let base = match first.strip_prefix("kiln-harness 1 ") {
            Some(a) => hex(Some(a))?,
            None => return Err(format!("unexpected greeting from the runner: {first:?}")),
        };
        let mut syms = HashMap::new();
        loop {
            let l = read_line_now(&mut p.stdout)?;
            if l == "end" {
                break;
            }
            let mut w = l.split(' ');
            if w.next() != Some("sym") {
                return Err(format!("unexpected line from the runner: {l:?}"));
            }
            let name = w.next().unwrap_or_default().to_string();
            syms.insert(name, hex(w.next())?);
        }
        Ok((p, base, syms))
    }

    /// Link `codes` into one image and load it into a new runner. `Err` for a symbol that
    /// is neither in `codes` nor offered by the runner, or a relocation out of range.
    pub fn link(t: &'static CrossTarget, codes: &[CrossCode]) -> Result<CrossProgram, String> {
        let exe = harness(t)?;
        let mut size = 0u64;
        let mut offsets = Vec::with_capacity(codes.len());
        for c in codes {
            let align = c.code.alignment.max(4) as u64;
            size = size.div_ceil(align) * align;
            offsets.push(size);
            size += c.code.code().len() as u64;
        }
        let (process, base, syms) = Self::start(t, &exe, size as usize)?;
        let addr_of: HashMap<&RelocTarget, u64> =
            codes.iter().zip(&offsets).map(|(c, &o)| (&c.name, base + o)).collect();
        let mut image = vec![0u8; size as usize];
        let mut traps = Vec::new();
        let mut sites = Vec::new();
        for (c, &off) in codes.iter().zip(&offsets) {
            let resolve = |t: &RelocTarget| -> Result<u64, String> {
                Ok(match t {
                    RelocTarget::CodeOffset(o) => base + off + *o as u64,
                    other => match addr_of.get(other) {
                        Some(&a) => a,
                        None => {
                            let name = reloc_target_name(other);
                            *syms
                                .get(&name)
                                .ok_or_else(|| format!("unresolved symbol {name} (not offered under qemu)"))?
                        }
                    },
                })
            };
            let bytes = c.code.code();
            let at = off as usize;
            image[at..at + bytes.len()].copy_from_slice(bytes);
            let hi20 = riscv_hi20_values(&c.code, &resolve)?;
            for r in &c.code.buffer.relocs {
                let at = at + r.offset as usize;
                if r.kind == Reloc::RiscvPCRelLo12I {
                    let RelocTarget::CodeOffset(o) = r.target else {
                        return Err(format!("RiscvPCRelLo12I relocation to {:?}", r.target));
                    };
                    let v = hi20.get(&o).ok_or_else(|| format!("RiscvPCRelLo12I without its auipc at {o:#x}"))?;
                    patch_reloc(&mut image, at, base + off + o as u64, r.kind, *v, 0)?;
                    continue;
                }
                let target = resolve(&r.target)?;
                patch_reloc(&mut image, at, base + at as u64, r.kind, target, r.addend)?;
            }
            traps.extend(c.code.buffer.traps.iter().map(|s| (off + s.offset as u64, s.code)));
            for cs in &c.code.buffer.call_sites {
                for (tag, h) in &cs.handlers {
                    sites.push(Site {
                        ret: base + off + cs.ret_addr as u64,
                        frame_offset: cs.frame_offset,
                        tag: match tag {
                            HandlerTag::Tag(t) => Some(*t),
                            HandlerTag::Default => None,
                        },
                        handler: base + off + *h as u64,
                    });
                }
            }
        }
        traps.sort_by_key(|t| t.0);
        sites.sort_by_key(|s| s.ret);
        let mut prog =
            CrossProgram { target: t, exe, image, base, offsets, traps, sites, timeout: None, process: Some(process) };
        prog.load()?;
        Ok(prog)
    }

    /// Limit the time each later call may take (`None`: no limit).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// Send the image and the call sites to the running runner.
    fn load(&mut self) -> Result<(), String> {
        let p = self.process.as_mut().expect("a running runner");
        let io = |e: std::io::Error| format!("writing to the runner: {e}");
        write!(p.stdin, "load {:x}\n", self.image.len()).map_err(io)?;
        p.stdin.write_all(&self.image).map_err(io)?;
        p.stdin.flush().map_err(io)?;
        match read_line_now(&mut p.stdout)?.as_str() {
            "ok" => {}
            l => return Err(format!("unexpected answer from the runner: {l:?}")),
        }
        if self.sites.is_empty() {
            return Ok(());
        }
        let mut text = format!("sites {:x}\n", self.sites.len());
        for s in &self.sites {
            let (dflt, tag) = match s.tag {
                Some(t) => (0, t),
                None => (1, 0),
            };
            let _ = writeln!(text, "{:x} {:x} {dflt:x} {tag:x} {:x}", s.ret, s.frame_offset, s.handler);
        }
        p.stdin.write_all(text.as_bytes()).map_err(io)?;
        p.stdin.flush().map_err(io)?;
        match read_line_now(&mut p.stdout)?.as_str() {
            "ok" => Ok(()),
            l => Err(format!("unexpected answer from the runner: {l:?}")),
        }
    }

    /// Call `trampoline(callee, buf)`, where both are indices of the codes given to
    /// [`link`](Self::link); `buf` holds the argument slots and receives the results.
    /// `Ok(Err(trap))` when the code trapped; `Err` when the runner failed or the call timed
    /// out (the next call starts a new runner).
    pub fn call(&mut self, trampoline: usize, callee: usize, buf: &mut [u8]) -> Result<Result<(), Trap>, CrossError> {
        if self.process.is_none() {
            let (p, base, _) = Self::start(self.target, &self.exe, self.image.len())?;
            if base != self.base {
                return Err(CrossError::Failed(format!(
                    "the restarted runner mapped its code at {base:#x}, not {:#x}",
                    self.base
                )));
            }
            self.process = Some(p);
            self.load()?;
        }
        let r = self.call_in_process(trampoline, callee, buf);
        if r.is_err() {
            self.process = None;
        }
        r
    }

    fn call_in_process(
        &mut self,
        trampoline: usize,
        callee: usize,
        buf: &mut [u8],
    ) -> Result<Result<(), Trap>, CrossError> {
        let (tramp, f) = (self.base + self.offsets[trampoline], self.base + self.offsets[callee]);
        let timeout = self.timeout;
        let p = self.process.as_mut().expect("a running runner");
        let io = |e: std::io::Error| format!("writing to the runner: {e}");
        write!(p.stdin, "call {tramp:x} {f:x} {:x}\n", buf.len()).map_err(io)?;
        p.stdin.write_all(buf).map_err(io)?;
        p.stdin.flush().map_err(io)?;
        let deadline = timeout.map(|t| Instant::now() + t);
        let waited = |e: Wait| match e {
            Wait::Timeout => CrossError::Timeout(timeout.unwrap_or_default()),
            Wait::Failed(s) => CrossError::Failed(s),
        };
        let l = read_line(&mut p.stdout, deadline).map_err(waited)?;
        if l == "ok" {
            read_bytes(&mut p.stdout, buf, deadline).map_err(waited)?;
            return Ok(Ok(()));
        }
        let mut w = l.split(' ');
        if w.next() != Some("trap") {
            return Err(CrossError::Failed(format!("unexpected answer from the runner: {l:?}")));
        }
        let signal = hex(w.next())? as i32;
        let pc = hex(w.next())?;
        let _fault_addr = hex(w.next())?;
        let stack_overflow = hex(w.next())? != 0;
        let code = if stack_overflow {
            Some(TrapCode::STACK_OVERFLOW)
        } else {
            pc.checked_sub(self.base)
                .and_then(|off| self.traps.binary_search_by_key(&off, |t| t.0).ok())
                .map(|i| self.traps[i].1)
        };
        Ok(Err(Trap { code, signal, pc: pc as usize }))
    }
}

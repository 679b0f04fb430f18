//! Behaviour of the x86-64 pseudo-instruction sequences and the frame protocol, checked by
//! running the emitted code.
//!
//! Each test emits a small function with physical registers into a `MachBuffer`, finishes
//! it, copies it into executable memory and calls it through an `extern "sysv64"` pointer.
//! Traps (`ud2`) are caught by a SIGILL handler that records the faulting address and
//! returns from the (frameless) function; the address is then matched against the trap
//! records of the finished code, so each test checks both that a trap happened and its
//! code. Tests are serialized by a lock because the trap record is process-wide.

use kiln_codegen::machinst::abi::{FrameLayout, StackAMode};
use kiln_codegen::machinst::buffer::{FinishedCode, MachBuffer};
use kiln_codegen::machinst::vcode::MachInstEmit;
use kiln_codegen::machinst::{MachLabel, Reg, Writable};
use kiln_ir::settings::{Arch, Flags, IsaFlags};
use kiln_ir::trapcode::TrapCode;
use kiln_isa::x64::emit::{EmitInfo, EmitState, Sink};
use kiln_isa::x64::inst::*;
use kiln_isa::x64::regs::{gpr, gpr_preg, xmm, xmm_preg};
use smallvec::smallvec;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};

// Register numbers.
const RAX: u8 = 0;
const RCX: u8 = 1;
const RDX: u8 = 2;
const RBX: u8 = 3;
const RSP: u8 = 4;
const RSI: u8 = 6;
const RDI: u8 = 7;
const R8: u8 = 8;
const R9: u8 = 9;
const R10: u8 = 10;
const R11: u8 = 11;
const R12: u8 = 12;
const R14: u8 = 14;

fn g(i: u8) -> Reg {
    gpr(i)
}
fn gw(i: u8) -> Writable<Reg> {
    Writable::from_reg(gpr(i))
}
fn xr(i: u8) -> Reg {
    xmm(i)
}
fn xw(i: u8) -> Writable<Reg> {
    Writable::from_reg(xmm(i))
}

static LOCK: Mutex<()> = Mutex::new(());
static TRAP_ADDR: AtomicUsize = AtomicUsize::new(0);
static INSTALL: Once = Once::new();

extern "C" fn on_sigill(_sig: libc::c_int, _info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid ucontext; the trapping code is a frameless
    // function, so `(%rsp)` is its return address: emulate `ret`.
    unsafe {
        let uc = ctx as *mut libc::ucontext_t;
        let gregs = &mut (*uc).uc_mcontext.gregs;
        let rip = gregs[libc::REG_RIP as usize] as usize;
        TRAP_ADDR.store(rip, Ordering::SeqCst);
        let rsp = gregs[libc::REG_RSP as usize] as usize;
        let ret = *(rsp as *const usize);
        gregs[libc::REG_RIP as usize] = ret as i64;
        gregs[libc::REG_RSP as usize] = (rsp + 8) as i64;
    }
}

fn install_handler() {
    INSTALL.call_once(|| unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigill as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGILL, &sa, std::ptr::null_mut()), 0);
    });
}

/// Executable code.
struct Jit {
    mem: *mut u8,
    len: usize,
    out: FinishedCode,
}

impl Drop for Jit {
    fn drop(&mut self) {
        unsafe {
            libc::munmap(self.mem as *mut libc::c_void, self.len);
        }
    }
}

impl Jit {
    fn addr(&self) -> usize {
        self.mem as usize
    }
    /// The trap code of the last trap, if it happened in this code (and reset it).
    fn take_trap(&self) -> Option<TrapCode> {
        let a = TRAP_ADDR.swap(0, Ordering::SeqCst);
        if a == 0 {
            return None;
        }
        let off = a.checked_sub(self.addr()).expect("trap outside the code") as u32;
        let t = self.out.traps.iter().find(|t| t.offset == off).expect("trap at an unrecorded site");
        assert_eq!(&self.out.bytes[off as usize..off as usize + 2], &[0x0f, 0x0b]);
        Some(t.code)
    }
}

/// An emission context.
struct Asm {
    buf: Sink,
    info: EmitInfo,
    state: EmitState,
}

impl Asm {
    fn new() -> Asm {
        Asm::with(Flags::new(), FrameLayout::default())
    }
    fn with(flags: Flags, frame: FrameLayout) -> Asm {
        let mut isa = IsaFlags::new(Arch::X86_64);
        isa.set_word("has_avx").unwrap();
        let info = EmitInfo::new(flags, isa);
        Asm { buf: MachBuffer::new(info.clone()), info, state: EmitState { frame, ..Default::default() } }
    }
    fn i(&mut self, inst: Inst) -> &mut Self {
        inst.emit(&mut self.buf, &self.info, &mut self.state).unwrap();
        self
    }
    fn prologue(&mut self) -> &mut Self {
        Inst::emit_prologue(&mut self.buf, &self.info, &mut self.state).unwrap();
        self
    }
    fn ret(&mut self) -> &mut Self {
        self.i(Inst::Rets { rets: vec![], stack_bytes_to_pop: 0 })
    }
    fn label(&mut self) -> MachLabel {
        self.buf.get_label()
    }
    fn bind(&mut self, l: MachLabel) -> &mut Self {
        self.buf.bind_label(l);
        self
    }
    fn finish(self) -> Jit {
        let mut out = FinishedCode::default();
        self.buf.finish(&mut out).expect("finish");
        let len = out.bytes.len().max(1).next_multiple_of(4096);
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            std::ptr::copy_nonoverlapping(out.bytes.as_ptr(), p as *mut u8, out.bytes.len());
            assert_eq!(libc::mprotect(p, len, libc::PROT_READ | libc::PROT_EXEC), 0);
            Jit { mem: p as *mut u8, len, out }
        }
    }
}

fn mov64(src: u8, dst: u8) -> Inst {
    Inst::MovRR { size: OperandSize::S64, src: g(src), dst: gw(dst) }
}

// ---------------------------------------------------------------------------------------
// Float → int.

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Outcome {
    Val(u64),
    Trap(TrapCode),
}

/// CLIF semantics (OPCODES §8), computed in f64 (exact for every f32 input).
fn reference(x: f64, bits: u32, signed: bool, saturating: bool) -> Outcome {
    let mask = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
    if saturating {
        let v = match (bits, signed) {
            (32, true) => x as i32 as u64,
            (64, true) => x as i64 as u64,
            (32, false) => x as u32 as u64,
            _ => x as u64,
        };
        return Outcome::Val(v & mask);
    }
    if x.is_nan() {
        return Outcome::Trap(TrapCode::BAD_CONVERSION_TO_INTEGER);
    }
    let t = x.trunc();
    let (lo, hi_excl) = match (bits, signed) {
        (32, true) => (-2147483648.0, 2147483648.0),
        (64, true) => (-9223372036854775808.0, 9223372036854775808.0),
        (32, false) => (0.0, 4294967296.0),
        _ => (0.0, 18446744073709551616.0),
    };
    if t < lo || t >= hi_excl {
        return Outcome::Trap(TrapCode::INTEGER_OVERFLOW);
    }
    Outcome::Val(if signed { t as i64 as u64 } else { t as u64 } & mask)
}

fn next_up(x: f64) -> f64 {
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    if x == 0.0 {
        return f64::from_bits(1);
    }
    let b = x.to_bits();
    f64::from_bits(if x > 0.0 { b + 1 } else { b - 1 })
}
fn next_down(x: f64) -> f64 {
    -next_up(-x)
}
fn next_up32(x: f32) -> f32 {
    if x.is_nan() || x == f32::INFINITY {
        return x;
    }
    if x == 0.0 {
        return f32::from_bits(1);
    }
    let b = x.to_bits();
    f32::from_bits(if x > 0.0 { b + 1 } else { b - 1 })
}
fn next_down32(x: f32) -> f32 {
    -next_up32(-x)
}

/// Inputs: specials and every boundary with its neighbours.
fn f64_inputs() -> Vec<f64> {
    let mut v = vec![
        f64::NAN,
        -f64::NAN,
        f64::from_bits(0x7ff0_0000_0000_0001),
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.5,
        -0.5,
        0.9,
        -0.9,
        -0.99999,
        1.0,
        -1.0,
        1.5,
        -1.5,
        42.7,
        -42.7,
        f64::MAX,
        f64::MIN,
        f64::MIN_POSITIVE,
        f64::from_bits(1),
        123456789.123,
        -2147483648.9,
        -2147483649.0,
        4294967295.5,
        4294967040.0,
    ];
    for b in [
        2147483647.0,
        2147483648.0,
        -2147483648.0,
        -2147483649.0,
        4294967295.0,
        4294967296.0,
        9223372036854775807.0,
        9223372036854775808.0,
        -9223372036854775808.0,
        18446744073709551615.0,
        18446744073709551616.0,
        36893488147419103232.0,
    ] {
        for x in [b, -b] {
            v.push(x);
            v.push(next_up(x));
            v.push(next_down(x));
            v.push(next_up(next_up(x)));
            v.push(next_down(next_down(x)));
            v.push(x + 0.5);
            v.push(x - 0.5);
        }
    }
    let mut s = 0x1234_5678_9abc_def0u64;
    for _ in 0..300 {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let e = (s % 140) as i32 - 70;
        let m = (s >> 20) as f64 / (1u64 << 44) as f64;
        v.push(if s & 1 == 0 { m * 2f64.powi(e) } else { -m * 2f64.powi(e) });
    }
    v
}

fn f32_inputs() -> Vec<f32> {
    let mut v: Vec<f32> = f64_inputs().into_iter().map(|x| x as f32).collect();
    v.push(f32::from_bits(0x7f80_0001));
    for b in [2147483648.0f32, 4294967296.0, 9223372036854775808.0, 18446744073709551616.0] {
        for x in [b, -b] {
            v.push(next_up32(x));
            v.push(next_down32(x));
            v.push(next_down32(next_down32(x)));
        }
    }
    v.push(4294967040.0);
    v.push(-2147483904.0);
    v
}

/// Build the conversion with the given registers: arguments arrive in xmm0, the result
/// leaves in rax.
fn build_cvt(double: bool, size: OperandSize, signed: bool, saturating: bool, regs: (u8, u8, u8, u8, u8)) -> Jit {
    let (src, dst, tg, tx, tx2) = regs;
    let mut a = Asm::new();
    a.i(Inst::XmmMovRR { src: xr(0), dst: xw(src) });
    a.i(Inst::CvtFloatToIntSeq {
        src_double: double,
        dst_size: size,
        signed,
        saturating,
        src: xr(src),
        dst: gw(dst),
        tmp_gpr: gw(tg),
        tmp_xmm: xw(tx),
        tmp_xmm2: xw(tx2),
    });
    a.i(mov64(dst, RAX));
    a.ret();
    a.finish()
}

#[test]
fn float_to_int_conversions() {
    let _l = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    install_handler();
    let mut checked = 0;
    for double in [false, true] {
        for size in [OperandSize::S32, OperandSize::S64] {
            for signed in [false, true] {
                for saturating in [false, true] {
                    for regs in [(0, RAX, RCX, 1, 2), (9, R10, R11, 15, 8), (3, 9, 8, 0, 13), (7, RSI, RDI, 10, 11)] {
                        let jit = build_cvt(double, size, signed, saturating, regs);
                        let bits = size.bytes() as u32 * 8;
                        let mask = if bits == 64 { u64::MAX } else { (1 << bits) - 1 };
                        let inputs: Vec<f64> =
                            if double { f64_inputs() } else { f32_inputs().into_iter().map(|x| x as f64).collect() };
                        for x in inputs {
                            TRAP_ADDR.store(0, Ordering::SeqCst);
                            let raw = unsafe {
                                if double {
                                    let f: extern "sysv64" fn(f64) -> u64 = std::mem::transmute(jit.addr());
                                    f(x)
                                } else {
                                    let f: extern "sysv64" fn(f32) -> u64 = std::mem::transmute(jit.addr());
                                    f(x as f32)
                                }
                            };
                            let got = match jit.take_trap() {
                                Some(c) => Outcome::Trap(c),
                                None => Outcome::Val(raw & mask),
                            };
                            let want = reference(x, bits, signed, saturating);
                            assert_eq!(
                                got,
                                want,
                                "{} -> {}{bits}{} of {x:e} ({:#x}), regs {regs:?}",
                                if double { "f64" } else { "f32" },
                                if signed { "i" } else { "u" },
                                if saturating { " sat" } else { "" },
                                x.to_bits()
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
    }
    eprintln!("float→int: {checked} conversions checked");
}

// ---------------------------------------------------------------------------------------
// u64 → float.

#[test]
fn u64_to_float_rounds_to_nearest_even() {
    let _l = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut inputs = vec![0u64, 1, 2, 3, u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) - 1, (1 << 63) + 1];
    for base in [1u64 << 53, 1 << 54, 1 << 24, 1 << 25, 1 << 62, 1 << 63] {
        for d in 0..=8u64 {
            inputs.push(base.wrapping_add(d));
            inputs.push(base.wrapping_sub(d));
        }
    }
    // Ties and near-ties at high magnitudes (bit patterns …x1000…, …x1000…1).
    for k in [11u32, 12, 39, 40] {
        for hi in [(1u64 << 63) | (1 << k), (1u64 << 63) | (3 << k), u64::MAX << k] {
            inputs.push(hi);
            inputs.push(hi | 1);
            inputs.push(hi.wrapping_sub(1));
            inputs.push(hi | (1 << (k - 1)));
            inputs.push(hi | (1 << (k - 1)) | 1);
        }
    }
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..2000 {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        inputs.push(s);
        inputs.push(s >> (s % 64));
    }
    for double in [false, true] {
        for (src, dst, t1, t2) in [(RDI, 0u8, RAX, RCX), (R14, 9, R10, R11)] {
            // r14 is callee-saved: save it around the body (push/pop).
            let saves = src == R14;
            let mut a = Asm::new();
            if saves {
                a.buf.put_data(&[0x41, 0x56]);
            }
            a.i(mov64(RDI, src));
            a.i(Inst::CvtUint64ToFloatSeq { double, src: g(src), dst: xw(dst), tmp1: gw(t1), tmp2: gw(t2) });
            a.i(Inst::XmmMovRR { src: xr(dst), dst: xw(0) });
            if saves {
                a.buf.put_data(&[0x41, 0x5e]);
            }
            a.ret();
            let jit = a.finish();
            for &x in &inputs {
                unsafe {
                    if double {
                        let f: extern "sysv64" fn(u64) -> f64 = std::mem::transmute(jit.addr());
                        assert_eq!(f(x).to_bits(), (x as f64).to_bits(), "u64 {x:#x} -> f64");
                    } else {
                        let f: extern "sysv64" fn(u64) -> f32 = std::mem::transmute(jit.addr());
                        assert_eq!(f(x).to_bits(), (x as f32).to_bits(), "u64 {x:#x} -> f32");
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// fmin / fmax.

fn clif_minmax(a: f64, b: f64, is_min: bool) -> Option<f64> {
    if a.is_nan() || b.is_nan() {
        return None;
    }
    if a == b {
        // ±0: the sign decides.
        let neg = if is_min {
            a.is_sign_negative() || b.is_sign_negative()
        } else {
            a.is_sign_negative() && b.is_sign_negative()
        };
        return Some(if a == 0.0 { if neg { -0.0 } else { 0.0 } } else { a });
    }
    Some(if (a < b) == is_min { a } else { b })
}

#[test]
fn fmin_fmax_special_values() {
    let _l = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let vals = [
        f64::NAN,
        -f64::NAN,
        f64::from_bits(0x7ff0_0000_0000_0001),
        0.0,
        -0.0,
        1.0,
        -1.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MAX,
        f64::MIN,
        f64::from_bits(1),
        -f64::from_bits(1),
        2.5,
        1e-300,
    ];
    for double in [false, true] {
        for is_min in [false, true] {
            for (l, r) in [(0u8, 1u8), (8, 15), (3, 0)] {
                let mut a = Asm::new();
                a.i(Inst::XmmMovRR { src: xr(1), dst: xw(14) });
                a.i(Inst::XmmMovRR { src: xr(0), dst: xw(l) });
                a.i(Inst::XmmMovRR { src: xr(14), dst: xw(r) });
                a.i(Inst::XmmMinMaxSeq { double, is_min, lhs: xr(l), rhs: xr(r), dst: xw(l) });
                a.i(Inst::XmmMovRR { src: xr(l), dst: xw(0) });
                a.ret();
                let jit = a.finish();
                for &x in &vals {
                    for &y in &vals {
                        let got = unsafe {
                            if double {
                                let f: extern "sysv64" fn(f64, f64) -> f64 = std::mem::transmute(jit.addr());
                                f(x, y)
                            } else {
                                let f: extern "sysv64" fn(f32, f32) -> f32 = std::mem::transmute(jit.addr());
                                f(x as f32, y as f32) as f64
                            }
                        };
                        let (x, y) = if double { (x, y) } else { (x as f32 as f64, y as f32 as f64) };
                        match clif_minmax(x, y, is_min) {
                            None => assert!(
                                got.is_nan(),
                                "f{}({x}, {y}) = {got}, want NaN",
                                if is_min { "min" } else { "max" }
                            ),
                            Some(w) => assert_eq!(
                                got.to_bits(),
                                w.to_bits(),
                                "f{}({x}, {y}) = {got}, want {w}",
                                if is_min { "min" } else { "max" }
                            ),
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// XmmCmove, atomics, jump tables.

#[test]
fn xmm_cmove_selects() {
    let _l = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut a = Asm::new();
    a.i(Inst::CmpRmiR { size: OperandSize::S64, op: CmpOp::Cmp, src1: g(RDI), src2: RegMemImm::Imm(0) });
    a.i(Inst::XmmCmove { cc: CC::Z, consequent: xr(1), alternative: xr(0), dst: xw(0) });
    a.ret();
    let jit = a.finish();
    let f: extern "sysv64" fn(u64, f64, f64) -> f64 = unsafe { std::mem::transmute(jit.addr()) };
    assert_eq!(f(0, 1.0, 2.0), 2.0);
    assert_eq!(f(1, 1.0, 2.0), 1.0);
    assert_eq!(f(u64::MAX, -0.0, 5.0).to_bits(), (-0.0f64).to_bits());
}

fn atomic_ref(op: AtomicLoopOp, size: OperandSize, old: u64, x: u64) -> u64 {
    let bits = size.bytes() as u32 * 8;
    let mask = if bits == 64 { u64::MAX } else { (1 << bits) - 1 };
    let (o, x) = (old & mask, x & mask);
    let sx = |v: u64| ((v << (64 - bits)) as i64) >> (64 - bits);
    let r = match op {
        AtomicLoopOp::And => o & x,
        AtomicLoopOp::Nand => !(o & x),
        AtomicLoopOp::Or => o | x,
        AtomicLoopOp::Xor => o ^ x,
        AtomicLoopOp::Add => o.wrapping_add(x),
        AtomicLoopOp::Sub => o.wrapping_sub(x),
        AtomicLoopOp::Xchg => x,
        AtomicLoopOp::Umin => o.min(x),
        AtomicLoopOp::Umax => o.max(x),
        AtomicLoopOp::Smin => {
            if sx(o) <= sx(x) {
                o
            } else {
                x
            }
        }
        AtomicLoopOp::Smax => {
            if sx(o) >= sx(x) {
                o
            } else {
                x
            }
        }
    };
    r & mask
}

#[test]
fn atomic_rmw_loops() {
    let _l = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let ops = AtomicLoopOp::ALL;
    let vals =
        [0u64, 1, 0x7f, 0x80, 0xff, 0x8000, 0xffff, 0x8000_0000, 0xffff_ffff, 1 << 63, u64::MAX, 0x1234_5678_9abc_def0];
    for op in ops {
        for size in [OperandSize::S8, OperandSize::S16, OperandSize::S32, OperandSize::S64] {
            // mem = (%rdi) or 8(%rdi,%rdx,1) with rdx = 0; operand rsi; temp rcx or r11.
            for (amode, temp) in [
                (Amode::ImmReg { disp: 0, base: g(RDI) }, RCX),
                (Amode::ImmRegRegShift { disp: 8, base: g(RDI), index: g(RDX), shift: 0 }, R11),
            ] {
                let mut a = Asm::new();
                a.i(Inst::Imm { size: OperandSize::S64, imm: 0, dst: gw(RDX) });
                a.i(Inst::AtomicRmwSeq {
                    size,
                    op,
                    mem: Mem::new(amode, None),
                    operand: g(RSI),
                    temp: gw(temp),
                    dst_old: gw(RAX),
                });
                a.ret();
                let jit = a.finish();
                let f: extern "sysv64" fn(*mut u64, u64) -> u64 = unsafe { std::mem::transmute(jit.addr()) };
                let bits = size.bytes() as u32 * 8;
                let mask = if bits == 64 { u64::MAX } else { (1 << bits) - 1 };
                for &old in &vals {
                    for &x in &vals {
                        let mut cell = [0xaaaa_aaaa_aaaa_aaaau64; 3];
                        let slot = if matches!(amode, Amode::ImmReg { .. }) { 0 } else { 1 };
                        cell[slot] = (cell[slot] & !mask) | (old & mask);
                        let got_old = f(cell.as_mut_ptr(), x);
                        assert_eq!(got_old & mask, old & mask, "{op:?} {size:?} old");
                        assert_eq!(cell[slot] & mask, atomic_ref(op, size, old, x), "{op:?} {size:?} {old:#x} {x:#x}");
                        assert_eq!(cell[slot] & !mask, 0xaaaa_aaaa_aaaa_aaaa & !mask, "{op:?} {size:?} wrote too wide");
                    }
                }
            }
        }
    }
}

fn atomic_ref128(op: AtomicLoopOp, o: u128, x: u128) -> u128 {
    match op {
        AtomicLoopOp::And => o & x,
        AtomicLoopOp::Nand => !(o & x),
        AtomicLoopOp::Or => o | x,
        AtomicLoopOp::Xor => o ^ x,
        AtomicLoopOp::Add => o.wrapping_add(x),
        AtomicLoopOp::Sub => o.wrapping_sub(x),
        AtomicLoopOp::Xchg => x,
        AtomicLoopOp::Umin => o.min(x),
        AtomicLoopOp::Umax => o.max(x),
        AtomicLoopOp::Smin => (o as i128).min(x as i128) as u128,
        AtomicLoopOp::Smax => (o as i128).max(x as i128) as u128,
    }
}

#[test]
fn atomic_rmw128_loops() {
    let _l = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let ops = AtomicLoopOp::ALL;
    let vals = [
        0u128,
        1,
        u64::MAX as u128,
        1 << 64,
        (1 << 64) + 1,
        1 << 127,
        u128::MAX,
        0x1234_5678_9abc_def0_0fed_cba9_8765_4321,
    ];
    for op in ops {
        // f(mem = rdi, lo = rsi, hi = rdx) -> old lo; the old high half is stored at 16(%rdi).
        // rbx is callee-saved: keep it in r9 around the sequence.
        let mut a = Asm::new();
        a.i(Inst::MovRR { size: OperandSize::S64, src: g(RBX), dst: gw(R9) });
        a.i(Inst::MovRR { size: OperandSize::S64, src: g(RDX), dst: gw(R8) });
        a.i(Inst::AtomicRmw128Seq {
            op,
            mem: Mem::new(Amode::ImmReg { disp: 0, base: g(RDI) }, None),
            operand_lo: g(RSI),
            operand_hi: g(R8),
            temp_lo: gw(RBX),
            temp_hi: gw(RCX),
            temp: gw(R11),
            dst_old_lo: gw(RAX),
            dst_old_hi: gw(RDX),
        });
        a.i(Inst::Store {
            size: OperandSize::S64,
            src: g(RDX),
            mem: Mem::new(Amode::ImmReg { disp: 16, base: g(RDI) }, None),
        });
        a.i(Inst::MovRR { size: OperandSize::S64, src: g(R9), dst: gw(RBX) });
        a.ret();
        let jit = a.finish();
        let f: extern "sysv64" fn(*mut u64, u64, u64) -> u64 = unsafe { std::mem::transmute(jit.addr()) };
        for &old in &vals {
            for &x in &vals {
                #[repr(align(16))]
                struct Cell([u64; 3]);
                let mut cell = Cell([old as u64, (old >> 64) as u64, 0]);
                let got_lo = f(cell.0.as_mut_ptr(), x as u64, (x >> 64) as u64);
                let got_old = got_lo as u128 | (cell.0[2] as u128) << 64;
                assert_eq!(got_old, old, "{op:?} old");
                let new = cell.0[0] as u128 | (cell.0[1] as u128) << 64;
                assert_eq!(new, atomic_ref128(op, old, x), "{op:?} {old:#x} {x:#x}");
            }
        }
    }
}

#[test]
fn jump_table_dispatch() {
    let _l = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for (n, (idx, t1, t2)) in [0usize, 1, 3, 40, 5].into_iter().zip([
        (RDI, RCX, RDX),
        (9, 8, 10),
        (RAX, 11, RSI),
        (8, 8 + 5, 9),
        (RDX, RAX, 8),
    ]) {
        let mut a = Asm::new();
        let targets: Vec<MachLabel> = (0..n).map(|_| a.label()).collect();
        let default = a.label();
        let saves = t1 == 13;
        if saves {
            a.buf.put_data(&[0x41, 0x55]);
        }
        a.i(mov64(RDI, idx));
        a.i(Inst::JmpTableSeq {
            idx: g(idx),
            tmp1: gw(t1),
            tmp2: gw(t2),
            default,
            targets: targets.clone().into_boxed_slice(),
        });
        for (i, t) in targets.iter().enumerate() {
            a.bind(*t);
            a.i(Inst::Imm { size: OperandSize::S64, imm: 1000 + i as u64, dst: gw(RAX) });
            if saves {
                a.buf.put_data(&[0x41, 0x5d]);
            }
            a.ret();
            // Padding so later targets need long offsets.
            a.i(Inst::Nop { len: 9 });
        }
        a.bind(default);
        a.i(Inst::Imm { size: OperandSize::S64, imm: 7, dst: gw(RAX) });
        if saves {
            a.buf.put_data(&[0x41, 0x5d]);
        }
        a.ret();
        let jit = a.finish();
        let f: extern "sysv64" fn(u64) -> u64 = unsafe { std::mem::transmute(jit.addr()) };
        for i in 0..n as u64 + 3 {
            // Garbage in the upper half: the index is a 32-bit value.
            for hi in [0u64, 0xdead_beef_0000_0000, 0xffff_ffff_0000_0000] {
                let want = if (i as usize) < n { 1000 + i } else { 7 };
                assert_eq!(f(hi | i), want, "n={n} idx={i} hi={hi:#x}");
            }
        }
        assert_eq!(f(0xffff_ffff), 7);
        assert_eq!(f(0x8000_0000), 7);
    }
}

#[test]
fn conditional_traps_and_branches() {
    let _l = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    install_handler();
    // cmp %rsi, %rdi; trap_if_and (b, nz) user3; trap_if_or (z, o) user4; trap_if l user5;
    // jmp_cond_or (s, p) → label A (ret 1) else B (ret 2).
    let mut a = Asm::new();
    let la = a.label();
    let lb = a.label();
    let cmp = Inst::CmpRmiR { size: OperandSize::S64, op: CmpOp::Cmp, src1: g(RDI), src2: RegMemImm::Reg(g(RSI)) };
    a.i(cmp.clone());
    a.i(Inst::TrapIfAnd { cc1: CC::B, cc2: CC::NZ, code: TrapCode::user(3).unwrap() });
    a.i(Inst::TrapIfOr { cc1: CC::Z, cc2: CC::O, code: TrapCode::user(4).unwrap() });
    a.i(Inst::TrapIf { cc: CC::NLE, code: TrapCode::user(5).unwrap() });
    a.i(Inst::JmpCondOr { cc1: CC::S, cc2: CC::P, taken: la, not_taken: lb });
    a.bind(la);
    a.i(Inst::Imm { size: OperandSize::S32, imm: 1, dst: gw(RAX) });
    a.ret();
    a.bind(lb);
    a.i(Inst::Imm { size: OperandSize::S32, imm: 2, dst: gw(RAX) });
    a.ret();
    let jit = a.finish();
    let f: extern "sysv64" fn(i64, i64) -> u64 = unsafe { std::mem::transmute(jit.addr()) };
    let run = |x: i64, y: i64| {
        TRAP_ADDR.store(0, Ordering::SeqCst);
        let r = f(x, y);
        match jit.take_trap() {
            Some(c) => Err(c),
            None => Ok(r),
        }
    };
    // Unsigned below and not equal → user3.
    assert_eq!(run(1, 2), Err(TrapCode::user(3).unwrap()));
    // Equal → user4 (z).
    assert_eq!(run(5, 5), Err(TrapCode::user(4).unwrap()));
    // Overflow: i64::MIN - 1 → user4 (o)? cmp MIN,1: below? MIN as unsigned is 2^63 > 1 → not B.
    assert_eq!(run(i64::MIN, 1), Err(TrapCode::user(4).unwrap()));
    // Signed greater (and not below unsigned) → user5.
    assert_eq!(run(7, 3), Err(TrapCode::user(5).unwrap()));
    // -1 vs 3: unsigned above, signed less, result negative (s) → label A (1).
    assert_eq!(run(-1, 3), Ok(1));
    // Parity/sign clear case: -1 vs -3: signed greater → user5; use -3 vs -2: unsigned below → user3.
    assert_eq!(run(-3, -2), Err(TrapCode::user(3).unwrap()));
    // 0x8000_0000_0000_0001 vs 0x8000_0000_0000_0000 +…: signed greater → user5.
    // A case reaching label B: not below, not equal, no overflow, signed ≤, sign of the
    // difference clear and parity odd: x = -1 (unsigned max), y = -2: signed greater (user5).
    // Use x = i64::MIN + 3, y = 2: unsigned above, signed less, diff = MIN+1 → S set → A.
    assert_eq!(run(i64::MIN + 3, 2), Ok(1));
    // JmpCond with both targets away from the fall-through.
    let mut a = Asm::new();
    let lt = a.label();
    let lf = a.label();
    let next = a.label();
    a.state.next_block = Some(next);
    a.i(cmp);
    a.i(Inst::JmpCond { cc: CC::L, taken: lt, not_taken: lf });
    a.bind(next);
    a.i(Inst::Ud2 { code: TrapCode::user(9).unwrap() });
    a.bind(lt);
    a.i(Inst::Imm { size: OperandSize::S32, imm: 10, dst: gw(RAX) });
    a.ret();
    a.bind(lf);
    a.i(Inst::Imm { size: OperandSize::S32, imm: 20, dst: gw(RAX) });
    a.ret();
    let jit2 = a.finish();
    let f2: extern "sysv64" fn(i64, i64) -> u64 = unsafe { std::mem::transmute(jit2.addr()) };
    assert_eq!(f2(1, 2), 10);
    assert_eq!(f2(2, 1), 20);
    assert_eq!(jit2.take_trap(), None);
}

// ---------------------------------------------------------------------------------------
// Frames.

/// A harness calling `target(arg)` with known values in rbx, r12, r14 and xmm8 and
/// returning `result` in rax and, in `*check`, the XOR of every callee-saved value with its
/// expected value (0 if all preserved) plus the stack-pointer drift.
fn harness() -> Jit {
    let mut a = Asm::new();
    // push rbx, r12, r14, rbp (alignment: 4 pushes + return address = 40 → sub 8).
    a.buf.put_data(&[0x53, 0x41, 0x54, 0x41, 0x56, 0x55]);
    a.i(Inst::AluRmiR { size: OperandSize::S64, op: AluOp::Sub, src1: g(RSP), src2: RegMemImm::Imm(24), dst: gw(RSP) });
    // Save xmm8 (callee-saved for nobody under SysV, but the frame test saves it).
    a.i(Inst::XmmStore {
        op: XmmMovOp::Movdqu,
        src: xr(8),
        mem: Mem::new(Amode::imm_reg(0, g(RSP)), None),
        vex: false,
    });
    // rdi = target, rsi = arg, rdx = check pointer; keep check in rbp.
    a.i(mov64(RDX, 5));
    a.i(Inst::Imm { size: OperandSize::S64, imm: 0x1111_2222_3333_4444, dst: gw(RBX) });
    a.i(Inst::Imm { size: OperandSize::S64, imm: 0x5555_6666_7777_8888, dst: gw(R12) });
    a.i(Inst::Imm { size: OperandSize::S64, imm: 0x9999_aaaa_bbbb_cccc, dst: gw(R14) });
    a.i(Inst::Imm { size: OperandSize::S64, imm: 0x0123_4567_89ab_cdef, dst: gw(RAX) });
    a.i(Inst::GprToXmm { op: GprToXmmOp::Mov, size: OperandSize::S64, src: RegMem::Reg(g(RAX)), dst: xw(8) });
    // Remember rsp in r11's slot: store to 16(%rsp).
    a.i(Inst::Store { size: OperandSize::S64, src: g(RSP), mem: Mem::new(Amode::imm_reg(16, g(RSP)), None) });
    a.i(mov64(RDI, R11));
    a.i(mov64(RSI, RDI));
    a.i(Inst::Call {
        reach: Reach::Near,
        info: Box::new(CallInfo {
            dest: CallDest::Indirect(g(R11)),
            uses: smallvec![],
            defs: smallvec![],
            clobbers: regalloc2::PRegSet::empty(),
            callee_conv: kiln_ir::signature::CallConv::SystemV,
            callee_pop: 0,
            try_call: None,
            tail_stack_args: 0,
        }),
    });
    // check = (rbx ^ K1) | (r12 ^ K2) | (r14 ^ K3) | (xmm8 ^ K4) | (rsp ^ saved)
    a.i(Inst::Imm { size: OperandSize::S64, imm: 0x1111_2222_3333_4444, dst: gw(RCX) });
    a.i(Inst::AluRmiR {
        size: OperandSize::S64,
        op: AluOp::Xor,
        src1: g(RCX),
        src2: RegMemImm::Reg(g(RBX)),
        dst: gw(RCX),
    });
    a.i(Inst::Imm { size: OperandSize::S64, imm: 0x5555_6666_7777_8888, dst: gw(RDX) });
    a.i(Inst::AluRmiR {
        size: OperandSize::S64,
        op: AluOp::Xor,
        src1: g(RDX),
        src2: RegMemImm::Reg(g(R12)),
        dst: gw(RDX),
    });
    a.i(Inst::AluRmiR {
        size: OperandSize::S64,
        op: AluOp::Or,
        src1: g(RCX),
        src2: RegMemImm::Reg(g(RDX)),
        dst: gw(RCX),
    });
    a.i(Inst::Imm { size: OperandSize::S64, imm: 0x9999_aaaa_bbbb_cccc, dst: gw(RDX) });
    a.i(Inst::AluRmiR {
        size: OperandSize::S64,
        op: AluOp::Xor,
        src1: g(RDX),
        src2: RegMemImm::Reg(g(R14)),
        dst: gw(RDX),
    });
    a.i(Inst::AluRmiR {
        size: OperandSize::S64,
        op: AluOp::Or,
        src1: g(RCX),
        src2: RegMemImm::Reg(g(RDX)),
        dst: gw(RCX),
    });
    a.i(Inst::XmmToGpr { op: XmmToGprOp::Mov, size: OperandSize::S64, src: xr(8), dst: gw(RDX) });
    a.i(Inst::Imm { size: OperandSize::S64, imm: 0x0123_4567_89ab_cdef, dst: gw(RSI) });
    a.i(Inst::AluRmiR {
        size: OperandSize::S64,
        op: AluOp::Xor,
        src1: g(RDX),
        src2: RegMemImm::Reg(g(RSI)),
        dst: gw(RDX),
    });
    a.i(Inst::AluRmiR {
        size: OperandSize::S64,
        op: AluOp::Or,
        src1: g(RCX),
        src2: RegMemImm::Reg(g(RDX)),
        dst: gw(RCX),
    });
    a.i(mov64(RSP, RDX));
    a.i(Inst::AluRmiR {
        size: OperandSize::S64,
        op: AluOp::Xor,
        src1: g(RDX),
        src2: RegMemImm::Mem(Mem::new(Amode::imm_reg(16, g(RSP)), None)),
        dst: gw(RDX),
    });
    a.i(Inst::AluRmiR {
        size: OperandSize::S64,
        op: AluOp::Or,
        src1: g(RCX),
        src2: RegMemImm::Reg(g(RDX)),
        dst: gw(RCX),
    });
    a.i(Inst::Store { size: OperandSize::S64, src: g(RCX), mem: Mem::new(Amode::imm_reg(0, g(5)), None) });
    a.i(Inst::XmmLoad { op: XmmMovOp::Movdqu, mem: Mem::new(Amode::imm_reg(0, g(RSP)), None), dst: xw(8), vex: false });
    a.i(Inst::AluRmiR { size: OperandSize::S64, op: AluOp::Add, src1: g(RSP), src2: RegMemImm::Imm(24), dst: gw(RSP) });
    a.buf.put_data(&[0x5d, 0x41, 0x5e, 0x41, 0x5c, 0x5b, 0xc3]);
    a.finish()
}

fn frame_with(saves: Vec<regalloc2::PReg>, fixed: u32, outgoing: u32) -> FrameLayout {
    let (callee_saves, clobber_size) = kiln_isa::x64::abi::callee_save_layout(&saves);
    let mut f = FrameLayout {
        incoming_args_size: 0,
        setup_area_size: 16,
        clobber_size,
        fixed_frame_storage_size: fixed,
        stack_slots_size: 16,
        outgoing_args_size: outgoing,
        callee_saves,
        has_frame: true,
        stack_bytes_to_pop: 0,
        stack_limit: None,
    };
    let total = f.frame_below_fp() + 16;
    f.fixed_frame_storage_size += total.next_multiple_of(16) - total;
    f
}

/// A function with a frame: clobbers its callee-saves, stores its argument in a stack
/// slot, and returns `arg + 1` loaded back from it.
fn frame_fn(flags: Flags, frame: FrameLayout) -> Jit {
    let mut a = Asm::with(flags, frame.clone());
    a.prologue();
    for r in frame.callee_saves.iter().map(|s| s.reg) {
        if r.class() == regalloc2::RegClass::Int {
            a.i(Inst::Imm { size: OperandSize::S64, imm: 0xdead, dst: gw(r.hw_enc() as u8) });
        } else {
            a.i(Inst::XmmZero { dst: xw(r.hw_enc() as u8) });
        }
    }
    let slot = Mem::stack(StackAMode::Slot(8));
    a.i(Inst::Store { size: OperandSize::S64, src: g(RDI), mem: slot });
    a.i(Inst::Store { size: OperandSize::S64, src: g(RDI), mem: Mem::stack(StackAMode::OutgoingArg(0)) });
    a.i(Inst::Imm { size: OperandSize::S64, imm: 0, dst: gw(RDI) });
    a.i(Inst::Load { size: OperandSize::S64, mem: slot, dst: gw(RAX) });
    a.i(Inst::AluRmiR {
        size: OperandSize::S64,
        op: AluOp::Add,
        src1: g(RAX),
        src2: RegMemImm::Mem(Mem::stack(StackAMode::OutgoingArg(0))),
        dst: gw(RAX),
    });
    // The frame pointer chain: 8(%rbp) is our return address, (%rbp) the caller's rbp.
    a.i(Inst::LoadReturnAddress { dst: gw(RCX) });
    a.ret();
    a.finish()
}

#[test]
fn prologue_epilogue_preserve_callee_saves() {
    let _l = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let h = harness();
    let call = |target: &Jit, arg: u64| -> (u64, u64) {
        let f: extern "sysv64" fn(usize, u64, *mut u64) -> u64 = unsafe { std::mem::transmute(h.addr()) };
        let mut check = u64::MAX;
        let r = f(target.addr(), arg, &mut check);
        (r, check)
    };
    let int = |e: u8| gpr_preg(e);
    let mut probe = Flags::new();
    probe.set("enable_probestack", Some("true")).unwrap();
    let configs: Vec<(Flags, FrameLayout)> = vec![
        (Flags::new(), frame_with(vec![], 16, 0)),
        (Flags::new(), frame_with(vec![int(RBX)], 32, 16)),
        (Flags::new(), frame_with(vec![int(RBX), int(R12), int(R14)], 48, 32)),
        (Flags::new(), frame_with(vec![int(RBX), int(R12), int(R14), xmm_preg(8)], 200, 64)),
        (Flags::new(), frame_with(vec![int(R12)], 5000, 16)),
        // Probed: unrolled (two pages) and looped (ten pages).
        (probe.clone(), frame_with(vec![int(RBX), xmm_preg(8)], 2 * 4096 + 100, 16)),
        (probe.clone(), frame_with(vec![int(R14)], 10 * 4096 + 8, 0)),
        (probe, frame_with(vec![], 100, 0)),
    ];
    for (flags, frame) in configs {
        let jit = frame_fn(flags, frame.clone());
        for arg in [0u64, 5, u64::MAX / 4] {
            let (r, check) = call(&jit, arg);
            assert_eq!(r, arg.wrapping_mul(2), "{frame:?}");
            assert_eq!(check, 0, "callee-saves or rsp not preserved: {frame:?}");
        }
    }
}

/// A frameless leaf returns with `ret $n` when it pops stack arguments.
#[test]
fn ret_pops_stack_arguments() {
    let _l = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut a = Asm::new();
    a.i(Inst::Rets { rets: vec![], stack_bytes_to_pop: 16 });
    let jit = a.finish();
    assert_eq!(&jit.out.bytes[..3], &[0xc2, 0x10, 0x00]);
}

// ---------------------------------------------------------------------------------------
// Tail calls.

/// `g(a0..a_{n-1} on the stack)`: returns `sum(a_i * (i + 1))` and pops its arguments.
fn stack_sum_fn(n: u32) -> Jit {
    let mut a = Asm::new();
    a.i(Inst::ZeroReg { dst: gw(RAX) });
    for i in 0..n {
        a.i(Inst::Load {
            size: OperandSize::S64,
            mem: Mem::new(Amode::imm_reg(8 + 8 * i as i32, g(RSP)), None),
            dst: gw(RCX),
        });
        a.i(Inst::IMulImm { size: OperandSize::S64, src: RegMem::Reg(g(RCX)), imm: i as i32 + 1, dst: gw(RCX) });
        a.i(Inst::AluRmiR {
            size: OperandSize::S64,
            op: AluOp::Add,
            src1: g(RAX),
            src2: RegMemImm::Reg(g(RCX)),
            dst: gw(RAX),
        });
    }
    a.i(Inst::Rets { rets: vec![], stack_bytes_to_pop: 8 * n });
    a.finish()
}

/// `f(stack args: n_f words)` tail-calls `g` (address in rdi) with `n_g` stack words
/// `b_i = 100 + i + first incoming word`.
fn tail_caller(n_f: u32, n_g: u32, saves: Vec<regalloc2::PReg>) -> Jit {
    let outgoing = 8 * n_g;
    let mut frame = frame_with(saves.clone(), 24, outgoing);
    frame.incoming_args_size = 8 * n_f;
    frame.stack_bytes_to_pop = 8 * n_f;
    let mut a = Asm::with(Flags::new(), frame);
    a.prologue();
    for r in &saves {
        a.i(Inst::Imm { size: OperandSize::S64, imm: 0xbad, dst: gw(r.hw_enc() as u8) });
    }
    // First incoming word (0 if none).
    if n_f > 0 {
        a.i(Inst::Load { size: OperandSize::S64, mem: Mem::stack(StackAMode::IncomingArg(0)), dst: gw(RDX) });
    } else {
        a.i(Inst::ZeroReg { dst: gw(RDX) });
    }
    for i in 0..n_g {
        a.i(Inst::Lea { size: OperandSize::S64, mem: Amode::imm_reg(100 + i as i32, g(RDX)), dst: gw(RCX) });
        a.i(Inst::Store {
            size: OperandSize::S64,
            src: g(RCX),
            mem: Mem::stack(StackAMode::OutgoingArg(8 * i as i64)),
        });
    }
    a.i(mov64(RDI, R10));
    a.i(Inst::ReturnCall {
        reach: Reach::Near,
        info: Box::new(CallInfo {
            dest: CallDest::Indirect(g(R10)),
            uses: smallvec![],
            defs: smallvec![],
            clobbers: regalloc2::PRegSet::empty(),
            callee_conv: kiln_ir::signature::CallConv::SystemV,
            callee_pop: 0,
            try_call: None,
            tail_stack_args: 8 * n_g,
        }),
    });
    a.finish()
}

/// Harness for tail calls: `h(f, g, check)` pushes `n_f` stack words `1000 * (i + 1)`,
/// calls `f(g)` with known callee-saved values, and stores into `*check` the XOR of every
/// callee-saved value and of the stack pointer with what they must be after `f` (whose
/// callee pops its arguments) returns.
fn tail_harness(n_f: u32) -> Jit {
    let mut a = Asm::new();
    // push rbx, r12, r14, rbp; mov %rsp, %rbp.
    a.buf.put_data(&[0x53, 0x41, 0x54, 0x41, 0x56, 0x55]);
    a.i(mov64(RSP, 5));
    let sub = |a: &mut Asm, n: i32| {
        a.i(Inst::AluRmiR {
            size: OperandSize::S64,
            op: AluOp::Sub,
            src1: g(RSP),
            src2: RegMemImm::Imm(n),
            dst: gw(RSP),
        });
    };
    sub(&mut a, 16);
    a.i(Inst::Store { size: OperandSize::S64, src: g(RDX), mem: Mem::new(Amode::imm_reg(0, g(RSP)), None) });
    // rbp is 8 mod 16: keep rsp 16-aligned at the call.
    let pad = if n_f.is_multiple_of(2) { 8 } else { 0 };
    sub(&mut a, pad + 8 * n_f as i32);
    for i in 0..n_f {
        a.i(Inst::StoreImm {
            size: OperandSize::S64,
            imm: 1000 * (i as i32 + 1),
            mem: Mem::new(Amode::imm_reg(8 * i as i32, g(RSP)), None),
        });
    }
    for (r, k) in [(RBX, 0x77), (R12, 0x88), (R14, 0x99)] {
        a.i(Inst::Imm { size: OperandSize::S64, imm: k, dst: gw(r) });
    }
    a.i(mov64(RDI, R11));
    a.i(mov64(RSI, RDI));
    a.i(Inst::Call {
        reach: Reach::Near,
        info: Box::new(CallInfo {
            dest: CallDest::Indirect(g(R11)),
            uses: smallvec![],
            defs: smallvec![],
            clobbers: regalloc2::PRegSet::empty(),
            callee_conv: kiln_ir::signature::CallConv::SystemV,
            callee_pop: 0,
            try_call: None,
            tail_stack_args: 0,
        }),
    });
    // The callee popped the arguments: rsp == rbp - 16 - pad.
    a.i(Inst::Lea { size: OperandSize::S64, mem: Amode::imm_reg(16 + pad, g(RSP)), dst: gw(RDX) });
    a.i(Inst::AluRmiR {
        size: OperandSize::S64,
        op: AluOp::Xor,
        src1: g(RDX),
        src2: RegMemImm::Reg(g(5)),
        dst: gw(RDX),
    });
    for (r, k) in [(RBX, 0x77), (R12, 0x88), (R14, 0x99)] {
        a.i(Inst::AluRmiR { size: OperandSize::S64, op: AluOp::Xor, src1: g(r), src2: RegMemImm::Imm(k), dst: gw(r) });
        a.i(Inst::AluRmiR {
            size: OperandSize::S64,
            op: AluOp::Or,
            src1: g(RDX),
            src2: RegMemImm::Reg(g(r)),
            dst: gw(RDX),
        });
    }
    a.i(Inst::Load { size: OperandSize::S64, mem: Mem::new(Amode::imm_reg(-16, g(5)), None), dst: gw(RCX) });
    a.i(Inst::Store { size: OperandSize::S64, src: g(RDX), mem: Mem::new(Amode::imm_reg(0, g(RCX)), None) });
    a.i(mov64(5, RSP));
    a.buf.put_data(&[0x5d, 0x41, 0x5e, 0x41, 0x5c, 0x5b, 0xc3]);
    a.finish()
}

#[test]
fn return_call_moves_stack_arguments() {
    let _l = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut n = 0;
    for (n_f, n_g) in [(0u32, 0u32), (0, 2), (2, 2), (3, 1), (1, 4), (4, 0), (2, 5), (5, 5)] {
        for saves in [vec![], vec![gpr_preg(RBX), gpr_preg(R12)], vec![gpr_preg(R14)]] {
            let g_fn = stack_sum_fn(n_g);
            let f_fn = tail_caller(n_f, n_g, saves.clone());
            let h = tail_harness(n_f);
            let call: extern "sysv64" fn(usize, usize, *mut u64) -> u64 = unsafe { std::mem::transmute(h.addr()) };
            let mut check = u64::MAX;
            let r = call(f_fn.addr(), g_fn.addr(), &mut check);
            let first = if n_f > 0 { 1000 } else { 0 };
            let want: u64 = (0..n_g as u64).map(|i| (100 + i + first) * (i + 1)).sum();
            assert_eq!(r, want, "n_f={n_f} n_g={n_g} saves={saves:?}");
            assert_eq!(check, 0, "rsp or callee-saves wrong: n_f={n_f} n_g={n_g} saves={saves:?}");
            n += 1;
        }
    }
    eprintln!("return_call: {n} configurations");
}

//! x86-64 registers: the 16 general-purpose and 16 XMM registers, their names, and the
//! allocator's view of them (`MachineEnv`).
//!
//! `rsp` and `rbp` are never allocated (stack and frame pointer); `r15` is reserved when
//! `enable_pinned_reg` is set. Caller-saved registers are preferred so that leaf
//! functions rarely need to save anything.

use kiln_codegen::machinst::Reg;
use regalloc2::{MachineEnv, PReg, PRegSet, RegClass};
use std::sync::OnceLock;

/// Hardware encodings of the general-purpose registers.
pub mod enc {
    #![allow(missing_docs)]
    pub const RAX: u8 = 0;
    pub const RCX: u8 = 1;
    pub const RDX: u8 = 2;
    pub const RBX: u8 = 3;
    pub const RSP: u8 = 4;
    pub const RBP: u8 = 5;
    pub const RSI: u8 = 6;
    pub const RDI: u8 = 7;
    pub const R8: u8 = 8;
    pub const R9: u8 = 9;
    pub const R10: u8 = 10;
    pub const R11: u8 = 11;
    pub const R12: u8 = 12;
    pub const R13: u8 = 13;
    pub const R14: u8 = 14;
    pub const R15: u8 = 15;
}

/// The general-purpose register with encoding `enc`.
pub const fn gpr_preg(enc: u8) -> PReg {
    PReg::new(enc as usize, RegClass::Int)
}

/// The XMM register with encoding `enc`.
pub const fn xmm_preg(enc: u8) -> PReg {
    PReg::new(enc as usize, RegClass::Float)
}

/// The general-purpose register with encoding `enc`, as a `Reg`.
pub const fn gpr(enc: u8) -> Reg {
    Reg::phys(gpr_preg(enc))
}

/// The XMM register with encoding `enc`, as a `Reg`.
pub const fn xmm(enc: u8) -> Reg {
    Reg::phys(xmm_preg(enc))
}

#[allow(missing_docs)]
pub fn rax() -> Reg {
    gpr(enc::RAX)
}
#[allow(missing_docs)]
pub fn rcx() -> Reg {
    gpr(enc::RCX)
}
#[allow(missing_docs)]
pub fn rdx() -> Reg {
    gpr(enc::RDX)
}
#[allow(missing_docs)]
pub fn rsp() -> Reg {
    gpr(enc::RSP)
}
#[allow(missing_docs)]
pub fn rbp() -> Reg {
    gpr(enc::RBP)
}

const GPR_NAMES64: [&str; 16] =
    ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];
const GPR_NAMES32: [&str; 16] = [
    "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d",
    "r15d",
];
const GPR_NAMES16: [&str; 16] =
    ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di", "r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w", "r15w"];
const GPR_NAMES8: [&str; 16] =
    ["al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil", "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b"];

/// The AT&T name of a register (with `%`) for an access of `bytes` bytes; virtual
/// registers print as `%vN` with a size suffix letter.
pub fn show_reg(r: Reg, bytes: u8) -> String {
    match r.to_real() {
        Some(p) if p.class() == RegClass::Int => {
            let i = p.hw_enc() & 15;
            let n = match bytes {
                1 => GPR_NAMES8[i],
                2 => GPR_NAMES16[i],
                4 => GPR_NAMES32[i],
                _ => GPR_NAMES64[i],
            };
            format!("%{n}")
        }
        Some(p) => format!("%xmm{}", p.hw_enc()),
        None => {
            let v = r.vreg();
            let suffix = match (v.class(), bytes) {
                (RegClass::Int, 1) => "b",
                (RegClass::Int, 2) => "w",
                (RegClass::Int, 4) => "l",
                (RegClass::Int, _) => "",
                _ => "x",
            };
            format!("%v{}{}", v.vreg(), suffix)
        }
    }
}

/// Caller-saved general-purpose registers under System V.
pub fn sysv_caller_saved_gprs() -> impl Iterator<Item = u8> {
    [enc::RAX, enc::RCX, enc::RDX, enc::RSI, enc::RDI, enc::R8, enc::R9, enc::R10, enc::R11].into_iter()
}

/// Callee-saved general-purpose registers under System V (besides rbp).
pub fn sysv_callee_saved_gprs() -> impl Iterator<Item = u8> {
    [enc::RBX, enc::R12, enc::R13, enc::R14, enc::R15].into_iter()
}

fn make_env(pinned: bool) -> MachineEnv {
    let mut preferred_int = PRegSet::empty();
    for r in sysv_caller_saved_gprs() {
        preferred_int.add(gpr_preg(r));
    }
    let mut non_preferred_int = PRegSet::empty();
    for r in sysv_callee_saved_gprs() {
        if !(pinned && r == enc::R15) {
            non_preferred_int.add(gpr_preg(r));
        }
    }
    let mut preferred_xmm = PRegSet::empty();
    for r in 0..16 {
        preferred_xmm.add(xmm_preg(r));
    }
    MachineEnv {
        preferred_regs_by_class: [preferred_int, preferred_xmm, PRegSet::empty()],
        non_preferred_regs_by_class: [non_preferred_int, PRegSet::empty(), PRegSet::empty()],
        scratch_by_class: [None, None, None],
        fixed_stack_slots: Vec::new(),
    }
}

/// The allocator's view of the registers.
pub fn machine_env(pinned_reg: bool) -> &'static MachineEnv {
    static ENV: OnceLock<MachineEnv> = OnceLock::new();
    static ENV_PINNED: OnceLock<MachineEnv> = OnceLock::new();
    if pinned_reg { ENV_PINNED.get_or_init(|| make_env(true)) } else { ENV.get_or_init(|| make_env(false)) }
}

//! riscv64 registers: the integer registers x0–x31, the floating-point registers f0–f31
//! and the vector registers v0–v31, their ABI names, the allocator's view of them
//! (`MachineEnv`) and the LP64D callee-saved sets.
//!
//! Never allocated: `zero` (x0), `ra` (x1, the link register), `sp` (x2), `gp` (x3), `tp`
//! (x4), `s0`/`fp` (x8, the frame pointer), and `t5`/`t6` (x30/x31), which emission uses as
//! scratch for sequences it expands (large offsets, long branches, constant loads); `s11`
//! (x27) is also reserved when `enable_pinned_reg` is set. All f and v registers are
//! allocatable; `v0` is the mask register, reached through fixed-register constraints.
//! The caller-saved registers that compressed instructions reach (a0–a5, fa0–fa5) are
//! preferred; the others, then the callee-saved ones, follow.

use kiln_codegen::machinst::{Reg, Writable};
use regalloc2::{MachineEnv, PReg, PRegSet, RegClass};
use std::sync::OnceLock;

/// Hardware numbers of the integer registers with a fixed role.
pub mod enc {
    #![allow(missing_docs)]
    pub const ZERO: u8 = 0;
    pub const RA: u8 = 1;
    pub const SP: u8 = 2;
    pub const GP: u8 = 3;
    pub const TP: u8 = 4;
    pub const T0: u8 = 5;
    pub const FP: u8 = 8;
    pub const A0: u8 = 10;
    pub const A1: u8 = 11;
    pub const PINNED: u8 = 27;
    /// Emission scratch (never allocated).
    pub const T5: u8 = 30;
    /// Emission scratch (never allocated).
    pub const T6: u8 = 31;
}

/// ABI names of x0–x31.
pub const X_NAMES: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "s2",
    "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
];

/// ABI names of f0–f31.
pub const F_NAMES: [&str; 32] = [
    "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2", "fa3", "fa4", "fa5",
    "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
];

/// The integer register `xN`.
pub const fn x_preg(n: u8) -> PReg {
    PReg::new(n as usize, RegClass::Int)
}
/// The floating-point register `fN`.
pub const fn f_preg(n: u8) -> PReg {
    PReg::new(n as usize, RegClass::Float)
}
/// The vector register `vN`.
pub const fn v_preg(n: u8) -> PReg {
    PReg::new(n as usize, RegClass::Vector)
}
/// `xN` as a `Reg`.
pub const fn xreg(n: u8) -> Reg {
    Reg::phys(x_preg(n))
}
/// `fN` as a `Reg`.
pub const fn freg(n: u8) -> Reg {
    Reg::phys(f_preg(n))
}
/// `vN` as a `Reg`.
pub const fn vreg(n: u8) -> Reg {
    Reg::phys(v_preg(n))
}
/// `xN` as a written register.
pub const fn writable_xreg(n: u8) -> Writable<Reg> {
    Writable::from_reg(xreg(n))
}
/// `fN` as a written register.
pub const fn writable_freg(n: u8) -> Writable<Reg> {
    Writable::from_reg(freg(n))
}
/// `vN` as a written register.
pub const fn writable_vreg(n: u8) -> Writable<Reg> {
    Writable::from_reg(vreg(n))
}
/// `zero` (x0): reads as 0, writes are discarded.
pub const fn zero_reg() -> Reg {
    xreg(enc::ZERO)
}
/// `zero` as a destination (the result is discarded).
pub const fn writable_zero_reg() -> Writable<Reg> {
    Writable::from_reg(zero_reg())
}
/// The stack pointer.
pub const fn stack_reg() -> Reg {
    xreg(enc::SP)
}
/// The frame pointer `s0`.
pub const fn fp_reg() -> Reg {
    xreg(enc::FP)
}
/// The link register `ra`.
pub const fn link_reg() -> Reg {
    xreg(enc::RA)
}
/// The first emission scratch register, `t6`.
pub const fn spilltmp_reg() -> Reg {
    xreg(enc::T6)
}
/// The second emission scratch register, `t5`.
pub const fn spilltmp_reg2() -> Reg {
    xreg(enc::T5)
}

/// The assembler name of a register (`a0`, `fa1`, `v3`); virtual registers print as
/// `%xN`, `%fN`, `%vN` by class.
pub fn show_reg(r: Reg) -> String {
    match r.to_real() {
        Some(p) => match p.class() {
            RegClass::Int => X_NAMES[p.hw_enc() & 31].to_string(),
            RegClass::Float => F_NAMES[p.hw_enc() & 31].to_string(),
            RegClass::Vector => format!("v{}", p.hw_enc() & 31),
        },
        None => {
            let v = r.vreg();
            let c = match v.class() {
                RegClass::Int => 'x',
                RegClass::Float => 'f',
                RegClass::Vector => 'v',
            };
            format!("%{c}{}", v.vreg())
        }
    }
}

/// LP64D caller-saved integer registers that the allocator may use (t0–t4, a0–a7).
pub const CALLER_SAVED_X: [u8; 13] = [5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17, 28, 29];
/// LP64D callee-saved integer registers besides the frame pointer (s1–s11).
pub const CALLEE_SAVED_X: [u8; 11] = [9, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27];
/// LP64D callee-saved floating-point registers (fs0–fs11).
pub const CALLEE_SAVED_F: [u8; 12] = [8, 9, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27];

/// Is `fN` callee-saved under LP64D?
pub fn is_callee_saved_f(n: u8) -> bool {
    CALLEE_SAVED_F.contains(&n)
}

/// The LP64D callee-saved registers (integer and floating point; vector registers are all
/// caller-saved).
pub fn callee_saved_regs() -> PRegSet {
    let mut s = PRegSet::empty();
    for n in CALLEE_SAVED_X {
        s.add(x_preg(n));
    }
    s.add(x_preg(enc::FP));
    for n in CALLEE_SAVED_F {
        s.add(f_preg(n));
    }
    s
}

/// The caller-saved registers the C extension's 3-bit register fields reach (a0–a5,
/// x10–x15, and fa0–fa5): preferred, so that more instructions take a 2-byte form.
const COMPRESSIBLE_CALLER_SAVED: std::ops::RangeInclusive<u8> = 10..=15;

fn make_env(pinned: bool, compressed: bool) -> MachineEnv {
    // With compressed forms: preferred are the compressible caller-saved registers, then
    // come the other caller-saved and the callee-saved ones (which cost a save in the
    // prologue). regalloc2 scans each set from a rotating offset, so only the sets matter.
    // Without: every caller-saved register is preferred.
    let mut pref_x = PRegSet::empty();
    let mut nonpref_x = PRegSet::empty();
    for n in CALLER_SAVED_X {
        if COMPRESSIBLE_CALLER_SAVED.contains(&n) || !compressed {
            pref_x.add(x_preg(n));
        } else {
            nonpref_x.add(x_preg(n));
        }
    }
    for n in CALLEE_SAVED_X {
        if !(pinned && n == enc::PINNED) {
            nonpref_x.add(x_preg(n));
        }
    }
    let (mut pref_f, mut nonpref_f) = (PRegSet::empty(), PRegSet::empty());
    for n in 0..32 {
        let preferred = if compressed { COMPRESSIBLE_CALLER_SAVED.contains(&n) } else { !is_callee_saved_f(n) };
        if preferred {
            pref_f.add(f_preg(n));
        } else {
            nonpref_f.add(f_preg(n));
        }
    }
    // v0 (the mask register) last: prefer registers that masked instructions do not need.
    let (mut pref_v, mut nonpref_v) = (PRegSet::empty(), PRegSet::empty());
    for n in 1..32 {
        pref_v.add(v_preg(n));
    }
    nonpref_v.add(v_preg(0));
    MachineEnv {
        preferred_regs_by_class: [pref_x, pref_f, pref_v],
        non_preferred_regs_by_class: [nonpref_x, nonpref_f, nonpref_v],
        scratch_by_class: [None, None, None],
        fixed_stack_slots: Vec::new(),
    }
}

/// The allocator's view of the registers (`compressed`: the C extension's forms are used).
pub fn machine_env(pinned_reg: bool, compressed: bool) -> &'static MachineEnv {
    static ENVS: [OnceLock<MachineEnv>; 4] = [const { OnceLock::new() }; 4];
    ENVS[pinned_reg as usize * 2 + compressed as usize].get_or_init(|| make_env(pinned_reg, compressed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_registers_are_not_allocatable() {
        for (pinned, compressed) in [(false, false), (true, false), (false, true), (true, true)] {
            let env = machine_env(pinned, compressed);
            let all: Vec<PReg> =
                env.preferred_regs_by_class[0].into_iter().chain(env.non_preferred_regs_by_class[0]).collect();
            for r in [enc::ZERO, enc::RA, enc::SP, enc::GP, enc::TP, enc::FP, enc::T5, enc::T6] {
                assert!(!all.contains(&x_preg(r)), "x{r} allocatable");
            }
            assert_eq!(all.contains(&x_preg(enc::PINNED)), !pinned);
            assert_eq!(all.len(), if pinned { 23 } else { 24 });
        }
    }

    #[test]
    fn names() {
        assert_eq!(show_reg(xreg(10)), "a0");
        assert_eq!(show_reg(freg(27)), "fs11");
        assert_eq!(show_reg(vreg(31)), "v31");
    }
}

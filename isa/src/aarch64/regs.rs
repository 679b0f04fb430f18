//! aarch64 registers: the 31 general-purpose registers x0–x30, the zero register and the
//! stack pointer (both encoded as 31), the 32 FP/SIMD registers v0–v31, their names, the
//! allocator's view of them (`MachineEnv`) and the AAPCS64 callee-saved sets.
//!
//! `xzr` and `sp` share the hardware number 31; which one an instruction field means
//! depends on the field. Kiln keeps them apart as two physical registers: `xzr` is
//! `PReg(31)` and `sp` is `PReg(32)` of the integer class, and [`enc`](fn@enc) gives 31 for
//! both. The encoder asserts (in debug builds) that `sp` only appears in fields that accept
//! it and `xzr` only where the zero register is meant; the printer names them correctly.
//!
//! Never allocated: `x16`/`x17` (IP0/IP1: emission scratch and veneers), `x18` (the
//! platform register), `x29` (frame pointer), `x30` (link register), `xzr`, `sp`, and
//! `x21` when `enable_pinned_reg` is set. Caller-saved registers are preferred so that leaf
//! functions rarely save anything; v8–v15 are callee-saved only in their low 64 bits.

use kiln_codegen::machinst::{Reg, Writable};
use regalloc2::{MachineEnv, PReg, PRegSet, RegClass};
use std::sync::OnceLock;

/// Hardware number of the zero register (and of the stack pointer, in fields that mean it).
pub const ZR_ENC: u8 = 31;
/// Kiln's `PReg` number for the stack pointer (encodes as 31).
pub const SP_PREG: u8 = 32;
/// The frame pointer, x29.
pub const FP_ENC: u8 = 29;
/// The link register, x30.
pub const LR_ENC: u8 = 30;
/// The first emission scratch register, x16 (IP0).
pub const TMP1_ENC: u8 = 16;
/// The second emission scratch register, x17 (IP1).
pub const TMP2_ENC: u8 = 17;
/// The platform register, x18.
pub const PLATFORM_ENC: u8 = 18;
/// The pinned register (when `enable_pinned_reg` is set), x21.
pub const PINNED_ENC: u8 = 21;

/// The general-purpose register `xN` (`n` in 0..=30; 31 is `xzr`).
pub const fn xreg_preg(n: u8) -> PReg {
    PReg::new(n as usize, RegClass::Int)
}

/// The FP/SIMD register `vN` (`n` in 0..=31).
pub const fn vreg_preg(n: u8) -> PReg {
    PReg::new(n as usize, RegClass::Float)
}

/// `xN` as a `Reg` (`n` = 31 is the zero register).
pub const fn xreg(n: u8) -> Reg {
    Reg::phys(xreg_preg(n))
}

/// `xN` as a written register.
pub const fn writable_xreg(n: u8) -> Writable<Reg> {
    Writable::from_reg(xreg(n))
}

/// `vN` as a `Reg`.
pub const fn vreg(n: u8) -> Reg {
    Reg::phys(vreg_preg(n))
}

/// `vN` as a written register.
pub const fn writable_vreg(n: u8) -> Writable<Reg> {
    Writable::from_reg(vreg(n))
}

/// The zero register `xzr`/`wzr`.
pub const fn zero_reg() -> Reg {
    xreg(ZR_ENC)
}

/// The zero register as a destination (the result is discarded).
pub const fn writable_zero_reg() -> Writable<Reg> {
    Writable::from_reg(zero_reg())
}

/// The stack pointer `sp`/`wsp`.
pub const fn stack_reg() -> Reg {
    Reg::phys(PReg::new(SP_PREG as usize, RegClass::Int))
}

/// The stack pointer as a destination.
pub const fn writable_stack_reg() -> Writable<Reg> {
    Writable::from_reg(stack_reg())
}

/// The frame pointer x29.
pub const fn fp_reg() -> Reg {
    xreg(FP_ENC)
}

/// The link register x30.
pub const fn link_reg() -> Reg {
    xreg(LR_ENC)
}

/// x16, the first scratch register of emitted sequences.
pub const fn tmp1_reg() -> Reg {
    xreg(TMP1_ENC)
}

/// x17, the second scratch register of emitted sequences.
pub const fn tmp2_reg() -> Reg {
    xreg(TMP2_ENC)
}

/// Is `r` the stack pointer?
pub fn is_sp(r: Reg) -> bool {
    r.to_real().is_some_and(|p| p.class() == RegClass::Int && p.hw_enc() == SP_PREG as usize)
}

/// Is `r` the zero register?
pub fn is_zr(r: Reg) -> bool {
    r.to_real().is_some_and(|p| p.class() == RegClass::Int && p.hw_enc() == ZR_ENC as usize)
}

/// The 5-bit field value of a physical register (sp and xzr are both 31).
#[inline]
pub fn enc(r: Reg) -> u32 {
    (r.hw_enc().min(31)) as u32
}

/// The name of an integer register for a 32-bit (`w`) or 64-bit (`x`) access; virtual
/// registers print as `%vNw` / `%vNx`.
pub fn show_ireg(r: Reg, is64: bool) -> String {
    match r.to_real() {
        Some(p) if p.class() == RegClass::Int => {
            let n = p.hw_enc();
            match (n, is64) {
                (32, true) => "sp".to_string(),
                (32, false) => "wsp".to_string(),
                (31, true) => "xzr".to_string(),
                (31, false) => "wzr".to_string(),
                (n, true) => format!("x{n}"),
                (n, false) => format!("w{n}"),
            }
        }
        Some(p) => format!("%bad{}", p.hw_enc()),
        None => format!("%v{}{}", r.vreg().vreg(), if is64 { "x" } else { "w" }),
    }
}

/// The number of an FP/SIMD register as printed (`N` of `vN`), or `%vM` for a virtual one.
fn vnum(r: Reg) -> Result<u8, String> {
    match r.to_real() {
        Some(p) => Ok(p.hw_enc() as u8),
        None => Err(format!("%v{}", r.vreg().vreg())),
    }
}

/// The name of an FP/SIMD register used as a scalar of `letter` (`b`, `h`, `s`, `d`, `q`).
pub fn show_vreg_scalar(r: Reg, letter: char) -> String {
    match vnum(r) {
        Ok(n) => format!("{letter}{n}"),
        Err(v) => format!("{v}{letter}"),
    }
}

/// The name of an FP/SIMD register with an arrangement suffix (`v0.4s`); `arr` without dot.
pub fn show_vreg_vector(r: Reg, arr: &str) -> String {
    match vnum(r) {
        Ok(n) => format!("v{n}.{arr}"),
        Err(v) => format!("{v}.{arr}"),
    }
}

/// The name of one lane of an FP/SIMD register (`v0.s[1]`); `letter` is the lane size.
pub fn show_vreg_lane(r: Reg, letter: char, lane: u8) -> String {
    match vnum(r) {
        Ok(n) => format!("v{n}.{letter}[{lane}]"),
        Err(v) => format!("{v}.{letter}[{lane}]"),
    }
}

/// Caller-saved general-purpose registers the allocator may use (AAPCS64 x0–x15).
pub fn caller_saved_gprs() -> impl Iterator<Item = u8> {
    0..=15
}

/// Callee-saved general-purpose registers under AAPCS64 (x19–x28; x29/x30 are saved by
/// the frame itself).
pub fn callee_saved_gprs() -> impl Iterator<Item = u8> {
    19..=28
}

/// FP/SIMD registers whose low 64 bits are callee-saved under AAPCS64 (v8–v15).
pub fn callee_saved_vregs() -> impl Iterator<Item = u8> {
    8..=15
}

/// Caller-saved FP/SIMD registers (v0–v7, v16–v31).
pub fn caller_saved_vregs() -> impl Iterator<Item = u8> {
    (0..=7).chain(16..=31)
}

fn make_env(pinned: bool) -> MachineEnv {
    let mut preferred_int = PRegSet::empty();
    for r in caller_saved_gprs() {
        preferred_int.add(xreg_preg(r));
    }
    let mut non_preferred_int = PRegSet::empty();
    for r in callee_saved_gprs() {
        if !(pinned && r == PINNED_ENC) {
            non_preferred_int.add(xreg_preg(r));
        }
    }
    let mut preferred_float = PRegSet::empty();
    for r in caller_saved_vregs() {
        preferred_float.add(vreg_preg(r));
    }
    let mut non_preferred_float = PRegSet::empty();
    for r in callee_saved_vregs() {
        non_preferred_float.add(vreg_preg(r));
    }
    MachineEnv {
        preferred_regs_by_class: [preferred_int, preferred_float, PRegSet::empty()],
        non_preferred_regs_by_class: [non_preferred_int, non_preferred_float, PRegSet::empty()],
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sp_and_zr_are_distinct_but_encode_alike() {
        assert_ne!(stack_reg(), zero_reg());
        assert_eq!(enc(stack_reg()), 31);
        assert_eq!(enc(zero_reg()), 31);
        assert!(is_sp(stack_reg()) && !is_sp(zero_reg()));
        assert!(is_zr(zero_reg()) && !is_zr(stack_reg()));
        assert_eq!(show_ireg(stack_reg(), true), "sp");
        assert_eq!(show_ireg(stack_reg(), false), "wsp");
        assert_eq!(show_ireg(zero_reg(), false), "wzr");
        assert_eq!(show_ireg(xreg(30), true), "x30");
    }

    #[test]
    fn reserved_registers_are_not_allocatable() {
        for pinned in [false, true] {
            let env = machine_env(pinned);
            let all: Vec<PReg> =
                env.preferred_regs_by_class[0].into_iter().chain(env.non_preferred_regs_by_class[0]).collect();
            for r in [TMP1_ENC, TMP2_ENC, PLATFORM_ENC, FP_ENC, LR_ENC, ZR_ENC] {
                assert!(!all.contains(&xreg_preg(r)), "x{r} allocatable");
            }
            assert!(!all.iter().any(|p| p.hw_enc() == SP_PREG as usize));
            assert_eq!(all.contains(&xreg_preg(PINNED_ENC)), !pinned);
            assert_eq!(all.len(), 16 + 10 - pinned as usize);
            let floats = env.preferred_regs_by_class[1].into_iter().chain(env.non_preferred_regs_by_class[1]);
            assert_eq!(floats.count(), 32);
        }
    }
}

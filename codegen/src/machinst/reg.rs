//! Registers of machine instructions before and after register allocation.
//!
//! A [`Reg`] wraps a regalloc2 `VReg`. The topmost indices (from [`PHYS_BASE`]) stand for
//! physical registers (index = `PHYS_BASE + PReg::index()`), so one type covers both while
//! virtual registers are numbered densely from 0 (the allocator sizes its tables by the
//! number of virtual registers). A physical register named directly by an instruction must
//! be non-allocatable (stack or frame pointer); allocatable physical registers are reached
//! through fixed-register constraints on virtual registers. [`Writable`]
//! marks registers an instruction defines. The [`OperandVisitor`] trait is how an
//! instruction reports its operands to the allocator and, after allocation, how the same
//! code rewrites them in place with the allocated registers.

use core::fmt;
use regalloc2::{Allocation, Operand, OperandConstraint, OperandKind, OperandPos, PReg, RegClass, VReg};

/// The first of the virtual-register indices that stand for physical registers.
pub const PHYS_BASE: usize = VReg::MAX + 1 - PReg::NUM_INDEX;

/// A virtual register number never allocated: what [`ValueRegs::reg`] gives for a part the
/// value does not have (the high half of a one-register value). Only invalid IR compiled
/// with the verifier off asks for one; the VCode check then rejects the function (an
/// operand names a register out of range) instead of something panicking.
pub const MISSING_VREG: usize = PHYS_BASE - 1;

/// Virtual registers are numbered from 0 (kept for code that offsets test registers).
pub const PINNED_VREGS: usize = 0;

/// A register: virtual (allocated later) or physical.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reg(VReg);

impl Reg {
    /// The virtual register `index` of class `class`.
    pub fn virt(index: usize, class: RegClass) -> Reg {
        debug_assert!(index < PHYS_BASE);
        Reg(VReg::new(index, class))
    }
    /// A physical register.
    pub const fn phys(p: PReg) -> Reg {
        Reg(VReg::new(PHYS_BASE + p.index(), p.class()))
    }
    /// From a regalloc2 vreg.
    pub fn from_vreg(v: VReg) -> Reg {
        Reg(v)
    }
    /// The underlying regalloc2 vreg.
    pub fn vreg(self) -> VReg {
        self.0
    }
    /// Is this a physical register?
    pub fn is_real(self) -> bool {
        self.0.vreg() >= PHYS_BASE
    }
    /// Is this a virtual register?
    pub fn is_virtual(self) -> bool {
        !self.is_real()
    }
    /// The physical register, if this is one.
    pub fn to_real(self) -> Option<PReg> {
        if self.is_real() { Some(PReg::from_index(self.0.vreg() - PHYS_BASE)) } else { None }
    }
    /// The register class.
    pub fn class(self) -> RegClass {
        self.0.class()
    }
    /// The hardware encoding of a physical register (0 for virtual ones, which must not be
    /// emitted).
    pub fn hw_enc(self) -> u8 {
        self.to_real().map_or(0, |p| p.hw_enc() as u8)
    }
}

impl fmt::Debug for Reg {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.to_real() {
            Some(p) => write!(f, "{p}"),
            None => write!(f, "{}", self.0),
        }
    }
}

impl From<PReg> for Reg {
    fn from(p: PReg) -> Reg {
        Reg::phys(p)
    }
}

/// A register that an instruction writes.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Writable<T>(T);

impl<T: Copy> Writable<T> {
    /// Mark `t` as written.
    pub const fn from_reg(t: T) -> Self {
        Writable(t)
    }
    /// The register.
    pub fn to_reg(self) -> T {
        self.0
    }
    /// Mutable access (for operand rewriting).
    pub fn reg_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: fmt::Debug> fmt::Debug for Writable<T> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The registers of one IR value: one register, or two for `i128`.
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
pub struct ValueRegs {
    regs: [Option<Reg>; 2],
}

impl ValueRegs {
    /// One register.
    pub fn one(r: Reg) -> Self {
        ValueRegs { regs: [Some(r), None] }
    }
    /// Two registers (low part first).
    pub fn two(lo: Reg, hi: Reg) -> Self {
        ValueRegs { regs: [Some(lo), Some(hi)] }
    }
    /// No registers (an unassigned value).
    pub fn invalid() -> Self {
        ValueRegs { regs: [None, None] }
    }
    /// Is there at least one register?
    pub fn is_valid(&self) -> bool {
        self.regs[0].is_some()
    }
    /// The only register (panics for pairs: callers check the type first).
    pub fn only_reg(&self) -> Option<Reg> {
        match self.regs {
            [Some(r), None] => Some(r),
            _ => None,
        }
    }
    /// The registers.
    pub fn regs(&self) -> impl Iterator<Item = Reg> + '_ {
        self.regs.iter().flatten().copied()
    }
    /// Number of registers.
    pub fn len(&self) -> usize {
        self.regs.iter().flatten().count()
    }
    /// Is it empty?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Register `i`, or (for a part the value does not have) the never-defined
    /// [`MISSING_VREG`], of the class of the value's first register.
    pub fn reg(&self, i: usize) -> Reg {
        match self.regs.get(i).copied().flatten() {
            Some(r) => r,
            None => Reg::virt(MISSING_VREG, self.regs[0].map_or(RegClass::Int, |r| r.class())),
        }
    }
}

/// Receives the operands of an instruction. Collection (before allocation) records them
/// for regalloc2; rewriting (after allocation) replaces each virtual register with its
/// allocated physical register. Instructions implement one `get_operands` method and both
/// passes use it, so the two can never disagree.
pub trait OperandVisitor {
    /// Visit one operand register.
    fn add_operand(&mut self, reg: &mut Reg, constraint: OperandConstraint, kind: OperandKind, pos: OperandPos);

    /// Report clobbered physical registers (collection only).
    fn reg_clobbers(&mut self, _regs: regalloc2::PRegSet) {}

    /// A use, read at the start of the instruction.
    fn reg_use(&mut self, reg: &mut Reg) {
        self.reg_maybe_fixed(reg, OperandKind::Use, OperandPos::Early);
    }
    /// A use that must stay live to the end (it must not share a register with a def).
    fn reg_late_use(&mut self, reg: &mut Reg) {
        self.reg_maybe_fixed(reg, OperandKind::Use, OperandPos::Late);
    }
    /// A def, written at the end.
    fn reg_def(&mut self, reg: &mut Writable<Reg>) {
        self.reg_maybe_fixed(reg.reg_mut(), OperandKind::Def, OperandPos::Late);
    }
    /// A def written before all uses are read (must not share a register with any use).
    fn reg_early_def(&mut self, reg: &mut Writable<Reg>) {
        self.reg_maybe_fixed(reg.reg_mut(), OperandKind::Def, OperandPos::Early);
    }
    /// A def that must be in the same register as use operand `idx` (two-address forms).
    fn reg_reuse_def(&mut self, reg: &mut Writable<Reg>, idx: usize) {
        self.add_operand(reg.reg_mut(), OperandConstraint::Reuse(idx), OperandKind::Def, OperandPos::Late);
    }
    /// A use in a fixed physical register.
    fn reg_fixed_use(&mut self, reg: &mut Reg, preg: PReg) {
        self.add_operand(reg, OperandConstraint::FixedReg(preg), OperandKind::Use, OperandPos::Early);
    }
    /// A late use in a fixed physical register.
    fn reg_fixed_late_use(&mut self, reg: &mut Reg, preg: PReg) {
        self.add_operand(reg, OperandConstraint::FixedReg(preg), OperandKind::Use, OperandPos::Late);
    }
    /// A def in a fixed physical register.
    fn reg_fixed_def(&mut self, reg: &mut Writable<Reg>, preg: PReg) {
        self.add_operand(reg.reg_mut(), OperandConstraint::FixedReg(preg), OperandKind::Def, OperandPos::Late);
    }
    /// A use or def in any register of its class (physical registers are non-allocatable
    /// ones, recorded as such).
    fn reg_maybe_fixed(&mut self, reg: &mut Reg, kind: OperandKind, pos: OperandPos) {
        self.add_operand(reg, OperandConstraint::Reg, kind, pos);
    }
}

/// Collects operands for regalloc2.
pub struct OperandCollector<'a> {
    /// Output operands.
    pub operands: &'a mut Vec<Operand>,
    /// Output clobbers.
    pub clobbers: regalloc2::PRegSet,
    /// Set when a virtual register was constrained to a physical register of another class
    /// (only invalid IR, compiled with the verifier off, leads there; regalloc2 would
    /// panic on it, and its operands only keep the register's number).
    pub class_mismatch: bool,
    /// Virtual-register aliases (`alias[v]` is the register `v` stands for; empty: none):
    /// each virtual operand is rewritten to the end of its alias chain as it is collected.
    alias: &'a [u32],
}

impl<'a> OperandCollector<'a> {
    /// A collector that appends to `operands`, with no clobbers and no mismatch seen yet.
    pub fn new(operands: &'a mut Vec<Operand>) -> Self {
        Self::with_aliases(operands, &[])
    }

    /// A collector that also resolves the virtual-register aliases `alias` (see
    /// [`resolve_alias`]), rewriting the instruction's registers in the same pass.
    pub fn with_aliases(operands: &'a mut Vec<Operand>, alias: &'a [u32]) -> Self {
        OperandCollector { operands, clobbers: regalloc2::PRegSet::empty(), class_mismatch: false, alias }
    }
}

/// Follow the alias chain of `v` (bounded by the table size, so a cycle cannot hang).
pub fn resolve_alias(alias: &[u32], v: VReg) -> VReg {
    let mut i = v.vreg();
    for _ in 0..alias.len() {
        match alias.get(i) {
            Some(&t) if t as usize != i => i = t as usize,
            _ => break,
        }
    }
    VReg::new(i, v.class())
}

impl OperandVisitor for OperandCollector<'_> {
    fn add_operand(&mut self, reg: &mut Reg, constraint: OperandConstraint, kind: OperandKind, pos: OperandPos) {
        if !self.alias.is_empty() && reg.is_virtual() {
            *reg = Reg::from_vreg(resolve_alias(self.alias, reg.vreg()));
        }
        if let OperandConstraint::FixedReg(p) = constraint
            && reg.is_virtual()
            && p.class() != reg.vreg().class()
        {
            self.class_mismatch = true;
        }
        match reg.to_real() {
            // A physical register named directly must be non-allocatable (stack pointer,
            // frame pointer, scratch): the allocator only records it.
            Some(p) => self.operands.push(Operand::fixed_nonallocatable(p)),
            None => self.operands.push(Operand::new(reg.vreg(), constraint, kind, pos)),
        }
    }

    fn reg_clobbers(&mut self, regs: regalloc2::PRegSet) {
        self.clobbers.union_from(regs);
    }
}

/// Rewrites operands with their allocations, in the same order they were collected.
pub struct AllocationRewriter<'a> {
    /// The allocations of the instruction, in operand order.
    pub allocs: core::slice::Iter<'a, Allocation>,
}

impl OperandVisitor for AllocationRewriter<'_> {
    fn add_operand(&mut self, reg: &mut Reg, _c: OperandConstraint, _k: OperandKind, _p: OperandPos) {
        // Backends constrain every operand to a register, so every allocation is one.
        if let Some(p) = self.allocs.next().and_then(|a| a.as_reg()) {
            *reg = Reg::phys(p);
        }
    }
}

/// Collects the registers an instruction mentions, for printing VCode.
pub struct RegLister<'a> {
    /// Output.
    pub regs: &'a mut Vec<Reg>,
}

impl OperandVisitor for RegLister<'_> {
    fn add_operand(&mut self, reg: &mut Reg, _c: OperandConstraint, _k: OperandKind, _p: OperandPos) {
        self.regs.push(*reg);
    }
}

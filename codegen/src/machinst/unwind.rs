//! Unwind records: what each prologue and epilogue instruction does to the frame.
//!
//! A target's prologue and epilogue are ordinary instruction sequences; as it emits them,
//! the target records ([`MachBuffer::add_unwind`](crate::machinst::buffer::MachBuffer::add_unwind))
//! an [`UnwindInst`] after each instruction that changes where the caller's frame or a
//! saved register is. The records end up, with their final offsets, in
//! [`FinishedCode::unwind`](crate::machinst::buffer::FinishedCode::unwind), so that
//! `.eh_frame` (DWARF CFI) and JIT unwind registration can be written for every target from
//! one description, without knowing any target's instructions.
//!
//! Conventions: the *CFA* (canonical frame address) is the stack pointer's value just
//! before the call that entered the function; offsets are in bytes. A function without
//! records has the initial state of its target (x86-64: CFA = SP + 8, return address at
//! CFA − 8; aarch64 and riscv64: CFA = SP, return address in the link register).
//! Invariants: records are in offset order; every `EpilogueStart` is followed by an
//! `EpilogueEnd`, and the code after it has the body's frame again.

use regalloc2::PReg;

/// What a prologue or epilogue instruction did to the frame, recorded at the offset just
/// after it. Together the records describe, for every offset of the function, where the
/// caller's stack pointer (the *CFA*: the stack pointer before the call) and every saved
/// register are, so that `.eh_frame` and JIT unwind registration for any target can be
/// written from them. Offsets below are in bytes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum UnwindInst {
    /// The return address and the caller's frame pointer were pushed (x86 `push %rbp`
    /// after `call`; aarch64 `stp fp, lr, [sp, #-16]!`): the CFA is now
    /// `offset_upward_to_caller_sp` above SP, and the saved frame pointer sits at
    /// CFA − `offset_upward_to_caller_sp` (the link register, where there is one, at
    /// CFA − `offset_upward_to_caller_sp` + 8).
    PushFrameRegs {
        /// Distance from SP to the CFA.
        offset_upward_to_caller_sp: u32,
    },
    /// The frame pointer now points at the saved frame pointer: the CFA is
    /// `offset_upward_to_caller_sp` above it from here on, wherever SP moves.
    DefineNewFrame {
        /// Distance from the frame pointer to the CFA.
        offset_upward_to_caller_sp: u32,
    },
    /// SP moved down by `size` bytes (only matters while the CFA is SP-based, and for
    /// unwind formats that describe the allocation).
    StackAlloc {
        /// Bytes.
        size: u32,
    },
    /// `reg` (`size` bytes of it) was saved at CFA − `offset_down_from_cfa`.
    SaveReg {
        /// The register.
        reg: PReg,
        /// Distance below the CFA of the save slot's start.
        offset_down_from_cfa: u32,
        /// Bytes saved (8 for a d8–d15 half, 16 for a full vector register).
        size: u8,
    },
    /// An epilogue starts here: until [`UnwindInst::EpilogueEnd`] the frame is being torn
    /// down (a consumer remembers the state of the body here).
    EpilogueStart,
    /// Every saved register has been restored and the frame pointer is the caller's
    /// again: the CFA is `offset_upward_to_caller_sp` above SP. It may come again before
    /// the epilogue ends when SP moves (a tail call moving its stack arguments and the
    /// return address: then 8 on x86-64, the return address on top of the stack).
    FrameRestored {
        /// Distance from SP to the CFA.
        offset_upward_to_caller_sp: u32,
    },
    /// The epilogue's last instruction (the return or tail-call jump) ended here: the code
    /// after it has the body's frame again (a consumer restores the remembered state).
    EpilogueEnd,
    /// aarch64 pointer authentication: from here on the link register (and its saved
    /// copy) holds a return address signed with the stack pointer as modifier
    /// (`return_addresses: true`, after `paciasp`), or a plain one again (`false`, after
    /// `autiasp`). DWARF: `DW_CFA_AARCH64_negate_ra_state`.
    Aarch64SetPointerAuth {
        /// Is the return address signed from here on?
        return_addresses: bool,
    },
}

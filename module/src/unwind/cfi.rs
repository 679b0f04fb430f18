//! DWARF call-frame information (CFI) from unwind records, for every target: one CIE per
//! table with the target's state at a function's entry, one FDE per function whose
//! instructions replay its records.
//!
//! The per-target part is small and lives here: the DWARF numbers of the registers
//! ([`dwarf_register`]), the return-address column, the entry state (x86-64: CFA = SP + 8,
//! return address at CFA − 8; aarch64 and riscv64: CFA = SP, return address in the link
//! register), the frame-pointer and link registers the records name implicitly, and the
//! code alignment factor.
//!
//! Record → CFI: `PushFrameRegs` moves the CFA offset and saves the frame pointer (and the
//! link register) at the bottom of the pushed pair; `DefineNewFrame` makes the CFA relative
//! to the frame pointer; `StackAlloc` moves an SP-based CFA; `SaveReg` records a save slot;
//! `EpilogueStart` remembers the body's state, `FrameRestored` makes the CFA SP-based
//! again with every saved register back in place, and `EpilogueEnd` restores the body's
//! state for the code after the epilogue.

use crate::module::ModuleError;
use crate::unwind::UnwindInst;
use gimli::write::{Address, CallFrameInstruction, CommonInformationEntry, FrameDescriptionEntry};
use gimli::{Encoding, Format, Register};
use object::Architecture;
use regalloc2::{PReg, RegClass};

/// What CFI needs to know about a target.
#[derive(Copy, Clone, Debug)]
pub struct CfiTarget {
    /// The architecture.
    pub arch: Architecture,
    /// The stack pointer.
    pub sp: Register,
    /// The frame pointer.
    pub fp: Register,
    /// The link register (`None` on x86-64, where the return address is on the stack).
    pub lr: Option<Register>,
    /// The return-address column.
    pub ra: Register,
    /// The CFA offset at entry (above SP).
    pub entry_cfa_offset: u32,
    /// Instruction offsets are multiples of this.
    pub code_alignment: u8,
}

impl CfiTarget {
    /// The description of `arch`, if Kiln knows it.
    pub fn of(arch: Architecture) -> Result<CfiTarget, ModuleError> {
        Ok(match arch {
            Architecture::X86_64 => CfiTarget {
                arch,
                sp: Register(7),
                fp: Register(6),
                lr: None,
                ra: Register(16),
                entry_cfa_offset: 8,
                code_alignment: 1,
            },
            Architecture::Aarch64 => CfiTarget {
                arch,
                sp: Register(31),
                fp: Register(29),
                lr: Some(Register(30)),
                ra: Register(30),
                entry_cfa_offset: 0,
                code_alignment: 4,
            },
            Architecture::Riscv64 => CfiTarget {
                arch,
                sp: Register(2),
                fp: Register(8),
                lr: Some(Register(1)),
                ra: Register(1),
                entry_cfa_offset: 0,
                code_alignment: 1,
            },
            a => return Err(ModuleError::Unsupported(format!("unwind information for {a:?}"))),
        })
    }

    /// The DWARF encoding of its tables (64-bit addresses).
    pub fn encoding(&self) -> Encoding {
        Encoding { format: Format::Dwarf32, version: 1, address_size: 8 }
    }

    /// The CIE: the state at every function's entry. `fde_pointers` is how FDEs give their
    /// start address (PC-relative in object files, absolute in JIT memory).
    pub fn cie(&self, fde_pointers: gimli::DwEhPe) -> CommonInformationEntry {
        let mut cie = CommonInformationEntry::new(self.encoding(), self.code_alignment, -8, self.ra);
        cie.fde_address_encoding = fde_pointers;
        cie.add_instruction(CallFrameInstruction::Cfa(self.sp, self.entry_cfa_offset as i32));
        if self.lr.is_none() {
            cie.add_instruction(CallFrameInstruction::Offset(self.ra, -(self.entry_cfa_offset as i32)));
        }
        cie
    }

    /// The DWARF number of a machine register.
    pub fn dwarf_register(&self, reg: PReg) -> Result<Register, ModuleError> {
        dwarf_register(self.arch, reg)
    }
}

/// The DWARF number of machine register `reg` of `arch` (the psABI numbering).
pub fn dwarf_register(arch: Architecture, reg: PReg) -> Result<Register, ModuleError> {
    let n = reg.hw_enc() as u16;
    let r = match (arch, reg.class()) {
        // x86-64: rax, rdx, rcx, rbx, rsi, rdi, rbp, rsp, r8–r15; xmm0–15 are 17–32.
        (Architecture::X86_64, RegClass::Int) if n < 16 => [0, 2, 1, 3, 7, 6, 4, 5][n as usize % 8] + (n & 8),
        (Architecture::X86_64, RegClass::Float | RegClass::Vector) if n < 16 => 17 + n,
        // aarch64: x0–x30, sp = 31; v0–v31 are 64–95.
        (Architecture::Aarch64, RegClass::Int) if n < 32 => n,
        (Architecture::Aarch64, RegClass::Float | RegClass::Vector) if n < 32 => 64 + n,
        // riscv64: x0–x31; f0–f31 are 32–63; v0–v31 are 96–127.
        (Architecture::Riscv64, RegClass::Int) if n < 32 => n,
        (Architecture::Riscv64, RegClass::Float) if n < 32 => 32 + n,
        (Architecture::Riscv64, RegClass::Vector) if n < 32 => 96 + n,
        _ => return Err(ModuleError::Unsupported(format!("no DWARF number for {reg:?} on {arch:?}"))),
    };
    Ok(Register(r))
}

/// The FDE of a function at `address`, `len` bytes long, with unwind records `records`.
pub fn fde(
    t: &CfiTarget,
    address: Address,
    len: u32,
    records: &[(u32, UnwindInst)],
) -> Result<FrameDescriptionEntry, ModuleError> {
    let mut fde = FrameDescriptionEntry::new(address, len);
    // The CFA rule: its register (SP or FP) and offset.
    let mut cfa_on_sp = true;
    let mut cfa_offset = t.entry_cfa_offset;
    let mut saved: Vec<Register> = Vec::new();
    // Is the return address signed (aarch64 pointer authentication)? `.eh_frame` only has a
    // toggle for it (`DW_CFA_AARCH64_negate_ra_state`), so changes are tracked here.
    let mut ra_signed = false;
    let mut remembered: Option<(bool, u32, Vec<Register>, bool)> = None;
    for &(at, rec) in records {
        if at >= len {
            // After the last instruction: nothing left to describe.
            continue;
        }
        let mut add = |i| fde.add_instruction(at, i);
        match rec {
            UnwindInst::PushFrameRegs { offset_upward_to_caller_sp: off } => {
                if cfa_on_sp {
                    cfa_offset = off;
                    add(CallFrameInstruction::CfaOffset(off as i32));
                }
                add(CallFrameInstruction::Offset(t.fp, -(off as i32)));
                saved.push(t.fp);
                if let Some(lr) = t.lr {
                    add(CallFrameInstruction::Offset(lr, -(off as i32) + 8));
                    saved.push(lr);
                }
            }
            UnwindInst::DefineNewFrame { offset_upward_to_caller_sp: off } => {
                cfa_on_sp = false;
                cfa_offset = off;
                add(CallFrameInstruction::Cfa(t.fp, off as i32));
            }
            UnwindInst::StackAlloc { size } => {
                if cfa_on_sp {
                    cfa_offset += size;
                    add(CallFrameInstruction::CfaOffset(cfa_offset as i32));
                }
            }
            UnwindInst::SaveReg { reg, offset_down_from_cfa, .. } => {
                let r = t.dwarf_register(reg)?;
                add(CallFrameInstruction::Offset(r, -(offset_down_from_cfa as i32)));
                saved.push(r);
            }
            UnwindInst::EpilogueStart => {
                remembered = Some((cfa_on_sp, cfa_offset, saved.clone(), ra_signed));
                add(CallFrameInstruction::RememberState);
            }
            UnwindInst::FrameRestored { offset_upward_to_caller_sp: off } => {
                cfa_on_sp = true;
                cfa_offset = off;
                add(CallFrameInstruction::Cfa(t.sp, off as i32));
                for &r in &saved {
                    add(CallFrameInstruction::Restore(r));
                }
                saved.clear();
            }
            UnwindInst::EpilogueEnd => {
                let Some((on_sp, off, body_saved, signed)) = remembered.take() else {
                    return Err(ModuleError::InvalidDefinition("an epilogue ends that never started".into()));
                };
                (cfa_on_sp, cfa_offset, saved, ra_signed) = (on_sp, off, body_saved, signed);
                add(CallFrameInstruction::RestoreState);
            }
            UnwindInst::Aarch64SetPointerAuth { return_addresses } => {
                if return_addresses != ra_signed {
                    ra_signed = return_addresses;
                    add(CallFrameInstruction::NegateRaState);
                }
            }
        }
    }
    Ok(fde)
}

/// A function to describe in an `.eh_frame`: its first byte, its length, its records.
pub struct CfiFunction<'a> {
    /// Its first byte: a symbol (object files) or a loaded address (JIT).
    pub address: Address,
    /// Its length in bytes (functions of length 0 get no FDE).
    pub len: u32,
    /// Its unwind records.
    pub records: &'a [(u32, UnwindInst)],
}

/// Write the `.eh_frame` of `funcs` (one CIE, one FDE per function) into `w`, giving FDE
/// addresses with encoding `pointers`. No terminator is written.
pub fn write_eh_frame<'a, W: gimli::write::Writer>(
    t: &CfiTarget,
    pointers: gimli::DwEhPe,
    funcs: impl IntoIterator<Item = CfiFunction<'a>>,
    w: W,
) -> Result<W, ModuleError> {
    let mut table = gimli::write::FrameTable::default();
    let cie = table.add_cie(t.cie(pointers));
    for f in funcs {
        if f.len > 0 {
            table.add_fde(cie, fde(t, f.address, f.len, f.records)?);
        }
    }
    let mut eh = gimli::write::EhFrame(w);
    table.write_eh_frame(&mut eh).map_err(|e| ModuleError::InvalidDefinition(format!("writing .eh_frame: {e}")))?;
    Ok(eh.0)
}

//! How each relocation kind of compiled code ([`Reloc`]) is written in each object format
//! and architecture: the ELF `r_type`, the Mach-O type with its PC-relative flag and
//! length, the COFF type — or the `object` crate's generic description where that crate
//! needs to know more (COFF GOT references become `.refptr` stubs). A combination that a
//! format cannot express is an error naming both.
//!
//! Addends: Kiln's addend is always the value added to the target's address before the
//! PC is subtracted (x86's −4 for the field size included), as in ELF `RELA`; the `object`
//! crate turns it into each format's convention (implicit addends, Mach-O's PC bias).

use crate::module::ModuleError;
use kiln_codegen::machinst::buffer::Reloc;
use object::{Architecture, BinaryFormat, RelocationEncoding, RelocationFlags, RelocationKind, elf, macho, pe};

/// The object-file relocation for a code relocation of `kind`.
pub fn code_reloc(format: BinaryFormat, arch: Architecture, kind: Reloc) -> Result<RelocationFlags, ModuleError> {
    use Reloc as R;
    let elf = |r_type| Some(RelocationFlags::Elf { r_type });
    let macho = |r_type, r_pcrel, r_length| Some(RelocationFlags::MachO { r_type, r_pcrel, r_length });
    let generic = |kind, encoding, size| Some(RelocationFlags::Generic { kind, encoding, size });
    let flags = match (format, arch) {
        (BinaryFormat::Elf, Architecture::X86_64) => match kind {
            R::Abs8 => elf(elf::R_X86_64_64),
            R::Abs4 => elf(elf::R_X86_64_32),
            R::X86PCRel4 => elf(elf::R_X86_64_PC32),
            // Branches go through the PLT when the target is not local (the linker
            // resolves a local one directly).
            R::X86CallPCRel4 | R::X86CallPLTRel4 => elf(elf::R_X86_64_PLT32),
            R::X86GOTPCRel4 => elf(elf::R_X86_64_GOTPCREL),
            _ => None,
        },
        (BinaryFormat::Elf, Architecture::Aarch64) => match kind {
            R::Abs8 => elf(elf::R_AARCH64_ABS64),
            R::Abs4 => elf(elf::R_AARCH64_ABS32),
            R::Arm64Call => elf(elf::R_AARCH64_CALL26),
            R::Aarch64AdrPrelPgHi21 => elf(elf::R_AARCH64_ADR_PREL_PG_HI21),
            R::Aarch64AddAbsLo12Nc => elf(elf::R_AARCH64_ADD_ABS_LO12_NC),
            R::Aarch64AdrGotPage21 => elf(elf::R_AARCH64_ADR_GOT_PAGE),
            R::Aarch64Ld64GotLo12Nc => elf(elf::R_AARCH64_LD64_GOT_LO12_NC),
            _ => None,
        },
        (BinaryFormat::Elf, Architecture::Riscv64) => match kind {
            R::Abs8 => elf(elf::R_RISCV_64),
            R::Abs4 => elf(elf::R_RISCV_32),
            R::RiscvCallPlt => elf(elf::R_RISCV_CALL_PLT),
            R::RiscvPCRelHi20 => elf(elf::R_RISCV_PCREL_HI20),
            R::RiscvPCRelLo12I => elf(elf::R_RISCV_PCREL_LO12_I),
            R::RiscvGotHi20 => elf(elf::R_RISCV_GOT_HI20),
            _ => None,
        },
        (BinaryFormat::MachO, Architecture::X86_64) => match kind {
            R::Abs8 => macho(macho::X86_64_RELOC_UNSIGNED, false, 3),
            R::X86PCRel4 => macho(macho::X86_64_RELOC_SIGNED, true, 2),
            R::X86CallPCRel4 | R::X86CallPLTRel4 => macho(macho::X86_64_RELOC_BRANCH, true, 2),
            R::X86GOTPCRel4 => macho(macho::X86_64_RELOC_GOT_LOAD, true, 2),
            _ => None,
        },
        (BinaryFormat::MachO, Architecture::Aarch64) => match kind {
            R::Abs8 => macho(macho::ARM64_RELOC_UNSIGNED, false, 3),
            R::Arm64Call => macho(macho::ARM64_RELOC_BRANCH26, true, 2),
            R::Aarch64AdrPrelPgHi21 => macho(macho::ARM64_RELOC_PAGE21, true, 2),
            R::Aarch64AddAbsLo12Nc => macho(macho::ARM64_RELOC_PAGEOFF12, false, 2),
            R::Aarch64AdrGotPage21 => macho(macho::ARM64_RELOC_GOT_LOAD_PAGE21, true, 2),
            R::Aarch64Ld64GotLo12Nc => macho(macho::ARM64_RELOC_GOT_LOAD_PAGEOFF12, false, 2),
            _ => None,
        },
        (BinaryFormat::Coff, Architecture::X86_64) => match kind {
            R::Abs8 => Some(RelocationFlags::Coff { typ: pe::IMAGE_REL_AMD64_ADDR64 }),
            R::Abs4 => Some(RelocationFlags::Coff { typ: pe::IMAGE_REL_AMD64_ADDR32 }),
            R::X86PCRel4 | R::X86CallPCRel4 | R::X86CallPLTRel4 => {
                Some(RelocationFlags::Coff { typ: pe::IMAGE_REL_AMD64_REL32 })
            }
            // Windows has no GOT: `object` points the reference at a `.refptr` stub
            // holding the address.
            R::X86GOTPCRel4 => generic(RelocationKind::GotRelative, RelocationEncoding::Generic, 32),
            _ => None,
        },
        _ => {
            return Err(ModuleError::Unsupported(format!("{format:?} object files for {arch:?}")));
        }
    };
    flags.ok_or_else(|| {
        ModuleError::Relocation(format!("{kind:?} cannot be written in a {format:?} object file for {arch:?}"))
    })
}

/// Is `kind` a reference through the GOT or PLT (which must name the symbol itself, so
/// that the linker can make the entry)?
pub fn is_got_or_plt(kind: Reloc) -> bool {
    matches!(
        kind,
        Reloc::X86GOTPCRel4
            | Reloc::X86CallPLTRel4
            | Reloc::Aarch64AdrGotPage21
            | Reloc::Aarch64Ld64GotLo12Nc
            | Reloc::RiscvCallPlt
            | Reloc::RiscvGotHi20
    )
}

/// The generic relocation of an `n`-byte absolute address in data (pointers in data
/// objects, addresses in DWARF and unwind tables).
pub fn absolute(bytes: u8) -> RelocationFlags {
    RelocationFlags::Generic { kind: RelocationKind::Absolute, encoding: RelocationEncoding::Generic, size: bytes * 8 }
}

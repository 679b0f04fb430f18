//! DWARF debug information for compiled functions, written with `gimli`: one compile unit
//! with a `.debug_line` program built from the functions' source locations and one
//! `DW_TAG_subprogram` per function (name, address range, first line). Used by object
//! files (addresses are symbols, relocated by the linker) and by the GDB JIT interface
//! (addresses are the loaded ones).
//!
//! Source locations: IR instructions carry an opaque 32-bit [`SourceLoc`]; Kiln reads
//! `SourceLoc(n)` as line `n` of the module's source file ([`DebugSource`]) — the toy
//! language sets each statement's line, `clif-util` each instruction's line in the `.clif`
//! file. Code without a location keeps the line of the code before it (the prologue, the
//! function's first line).
//!
//! Invariants: every function's line sequence starts at its first byte and ends at its
//! last, with nondecreasing addresses; sections are returned with the relocations their
//! writer recorded, so that each output resolves symbol addresses and section offsets in
//! its own way.

use crate::module::ModuleError;
use gimli::write::{
    Address, AttributeValue, DwarfUnit, EndianVec, LineProgram, LineString, Range, RangeList, RelocateWriter,
    Relocation, Sections, Writer,
};
use gimli::{Encoding, Format, LineEncoding, RunTimeEndian, SectionId};
use kiln_codegen::machinst::buffer::SrcLocRange;

/// Where the source of a module is: the file its source locations are lines of.
#[derive(Clone, Debug)]
pub struct DebugSource {
    /// The source file (as given to the compiler).
    pub file: String,
    /// The directory the compiler ran in (`DW_AT_comp_dir`).
    pub directory: String,
    /// The producer (`DW_AT_producer`).
    pub producer: String,
}

impl DebugSource {
    /// `file`, compiled in the current directory by Kiln.
    pub fn new(file: impl Into<String>) -> Self {
        let directory = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_else(|_| ".".into());
        DebugSource { file: file.into(), directory, producer: format!("Kiln {}", env!("CARGO_PKG_VERSION")) }
    }
}

/// A function to describe.
pub struct DebugFunction<'a> {
    /// Its symbol name.
    pub name: &'a str,
    /// Its first byte: a symbol (object files) or a loaded address (JIT).
    pub address: Address,
    /// Its size in bytes.
    pub size: u64,
    /// Its source-location ranges, by offset.
    pub srclocs: &'a [SrcLocRange],
    /// Is it visible outside its module (`DW_AT_external`)?
    pub external: bool,
}

/// One written DWARF section and the relocations it needs.
pub struct DwarfSection {
    /// Which section.
    pub id: SectionId,
    /// Its bytes (relocated fields hold zero, the value is in the relocation's addend).
    pub data: Vec<u8>,
    /// Symbol addresses and offsets into other sections.
    pub relocs: Vec<Relocation>,
}

/// A `gimli` writer that keeps the relocations it is asked for.
#[derive(Clone)]
pub(crate) struct RelocVec {
    pub(crate) data: EndianVec<RunTimeEndian>,
    pub(crate) relocs: Vec<Relocation>,
}

impl RelocVec {
    pub(crate) fn new(endian: RunTimeEndian) -> Self {
        RelocVec { data: EndianVec::new(endian), relocs: Vec::new() }
    }
}

impl RelocateWriter for RelocVec {
    type Writer = EndianVec<RunTimeEndian>;
    fn writer(&self) -> &Self::Writer {
        &self.data
    }
    fn writer_mut(&mut self) -> &mut Self::Writer {
        &mut self.data
    }
    fn relocate(&mut self, relocation: Relocation) {
        self.relocs.push(relocation);
    }
}

/// The encoding of the DWARF Kiln writes: version 4, 32-bit offsets.
pub fn encoding(address_size: u8) -> Encoding {
    Encoding { format: Format::Dwarf32, version: 4, address_size }
}

/// Write `.debug_info`, `.debug_abbrev`, `.debug_line`, `.debug_str` and `.debug_ranges`
/// for `funcs` (non-empty sections only).
pub fn write_dwarf(
    source: &DebugSource,
    address_size: u8,
    endian: RunTimeEndian,
    funcs: &[DebugFunction],
) -> Result<Vec<DwarfSection>, ModuleError> {
    let err = |e: gimli::write::Error| ModuleError::InvalidDefinition(format!("writing DWARF: {e}"));
    let enc = encoding(address_size);
    let mut dwarf = DwarfUnit::new(enc);
    let comp_dir = LineString::String(source.directory.clone().into_bytes());
    let file_name = LineString::String(source.file.clone().into_bytes());
    let mut program = LineProgram::new(enc, LineEncoding::default(), comp_dir, None, file_name.clone(), None);
    let dir = program.default_directory();
    let file = program.add_file(file_name, dir, None);

    let mut ranges = RangeList(Vec::with_capacity(funcs.len()));
    let root = dwarf.unit.root();
    for f in funcs {
        ranges.0.push(Range::StartLength { begin: f.address, length: f.size });
        let first_line = f.srclocs.iter().find(|r| !r.loc.is_default()).map_or(0, |r| r.loc.0 as u64);
        // The line program: a row at the start (the prologue gets the first line), one
        // per located range, then the end of the sequence.
        program.begin_sequence(Some(f.address));
        program.row().file = file;
        program.row().line = first_line;
        program.row().address_offset = 0;
        program.generate_row();
        let mut last_line = first_line;
        for r in f.srclocs {
            if r.loc.is_default() || r.start as u64 >= f.size {
                continue;
            }
            let line = r.loc.0 as u64;
            if line == last_line {
                continue;
            }
            program.row().address_offset = r.start as u64;
            program.row().line = line;
            program.generate_row();
            last_line = line;
        }
        program.end_sequence(f.size);

        let sub = dwarf.unit.add(root, gimli::DW_TAG_subprogram);
        let strings = &mut dwarf.strings;
        let e = dwarf.unit.get_mut(sub);
        e.set(gimli::DW_AT_name, AttributeValue::StringRef(strings.add(f.name)));
        e.set(gimli::DW_AT_low_pc, AttributeValue::Address(f.address));
        e.set(gimli::DW_AT_high_pc, AttributeValue::Udata(f.size));
        if first_line > 0 {
            e.set(gimli::DW_AT_decl_file, AttributeValue::FileIndex(Some(file)));
            e.set(gimli::DW_AT_decl_line, AttributeValue::Udata(first_line));
        }
        if f.external {
            e.set(gimli::DW_AT_external, AttributeValue::Flag(true));
        }
    }
    dwarf.unit.line_program = program;
    let range_list = dwarf.unit.ranges.add(ranges);
    let producer = dwarf.strings.add(source.producer.as_str());
    let name = dwarf.strings.add(source.file.as_str());
    let comp_dir = dwarf.strings.add(source.directory.as_str());
    let root = dwarf.unit.get_mut(root);
    root.set(gimli::DW_AT_producer, AttributeValue::StringRef(producer));
    root.set(gimli::DW_AT_name, AttributeValue::StringRef(name));
    root.set(gimli::DW_AT_comp_dir, AttributeValue::StringRef(comp_dir));
    root.set(gimli::DW_AT_low_pc, AttributeValue::Address(Address::Constant(0)));
    root.set(gimli::DW_AT_ranges, AttributeValue::RangeListRef(range_list));

    let mut sections = Sections::new(RelocVec::new(endian));
    dwarf.write(&mut sections).map_err(err)?;
    let mut out = Vec::new();
    sections
        .for_each_mut(|id, w| -> Result<(), gimli::write::Error> {
            if w.len() > 0 {
                out.push(DwarfSection { id, data: w.data.take(), relocs: std::mem::take(&mut w.relocs) });
            }
            Ok(())
        })
        .map_err(err)?;
    Ok(out)
}

/// Apply the relocations of `section` in place, for memory that is not linked: symbol `k`
/// is at `symbol_address(k)`, and offsets into other sections are the offsets themselves.
pub fn relocate_in_place(section: &mut DwarfSection, symbol_address: impl Fn(usize) -> u64, big_endian: bool) {
    for r in section.relocs.drain(..) {
        let v = match r.target {
            gimli::write::RelocationTarget::Symbol(s) => symbol_address(s).wrapping_add(r.addend as u64),
            gimli::write::RelocationTarget::Section(_) => r.addend as u64,
        };
        let at = r.offset;
        let n = r.size as usize;
        let bytes = if big_endian { v.to_be_bytes()[8 - n..].to_vec() } else { v.to_le_bytes()[..n].to_vec() };
        section.data[at..at + n].copy_from_slice(&bytes);
    }
}

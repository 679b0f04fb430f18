//! `ObjectModule`: compile functions and data objects into a relocatable object file for
//! the system linker — ELF (x86_64, aarch64, riscv64), Mach-O (x86_64, aarch64) or COFF
//! (x86_64), as the target triple says — written with the `object` crate.
//!
//! Layout: every function goes into one text section, in definition order, at its
//! alignment; writable data into `.data` (or `.bss` when zero-initialized), read-only data
//! into `.rodata` (`.data.rel.ro` when it holds addresses, so that a position-independent
//! executable can relocate it at load time). Symbols: `Local` → a local symbol, `Export` →
//! a global one, `Preemptible` → a global weak one, `Import` → undefined. With a
//! [`DebugSource`] the object also carries DWARF (`.debug_line` from the source
//! locations, `.debug_info` with one subprogram per function, see [`crate::debug`]); every
//! function gets unwind information (see [`crate::unwind`]): `.eh_frame` on ELF and Mach-O,
//! `.pdata`/`.xdata` on COFF.
//!
//! Position independence follows the ISA's `is_pic` flag: the code then reaches imported
//! and preemptible symbols through the GOT and PLT, and everything else PC-relatively.
//! Non-PIC code addresses imports absolutely and must be linked without PIE
//! (`cc -no-pie`).
//!
//! Invariants: code relocations are recorded when a function is defined and written at
//! [`ObjectModule::finish`], once every symbol is known; on ELF, references to a symbol
//! that binds locally (local or exported) are written against its section, so that they
//! never go through symbol preemption; a symbol declared as a definition but referenced
//! and never defined is an error at `finish`.

use crate::debug::RelocVec;
use crate::debug::{DebugFunction, DebugSource, DwarfSection, write_dwarf};
use crate::module::{
    DataDescription, DataId, FuncId, FuncOrDataId, Init, Linkage, Module, ModuleDeclarations, ModuleError, compile,
    reloc_target_name,
};
use crate::objreloc::{absolute, code_reloc, is_got_or_plt};
use crate::unwind::UnwindInst;
use crate::unwind::cfi::{CfiFunction, CfiTarget, write_eh_frame};
use crate::unwind::winx64;
use kiln_codegen::machinst::buffer::{FinalizedReloc, Reloc, RelocTarget, SrcLocRange};
use kiln_codegen::{CompiledCode, Context, TargetIsa};
use kiln_ir::Function;
use kiln_ir::extname::{KnownSymbol, LibCall};
use object::write::{Object, Relocation, SectionId, StandardSection, Symbol, SymbolId, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, RelocationEncoding, RelocationFlags, RelocationKind, SectionKind,
    SymbolFlags, SymbolKind, SymbolScope,
};
use std::collections::HashMap;

/// The C name of a runtime-library routine, as object files refer to it.
pub fn default_libcall_name(lib: LibCall) -> String {
    match lib {
        LibCall::Probestack => "__kiln_probestack",
        LibCall::CeilF32 => "ceilf",
        LibCall::CeilF64 => "ceil",
        LibCall::FloorF32 => "floorf",
        LibCall::FloorF64 => "floor",
        LibCall::TruncF32 => "truncf",
        LibCall::TruncF64 => "trunc",
        LibCall::NearestF32 => "nearbyintf",
        LibCall::NearestF64 => "nearbyint",
        LibCall::FmaF32 => "fmaf",
        LibCall::FmaF64 => "fma",
        LibCall::Memcpy => "memcpy",
        LibCall::Memset => "memset",
        LibCall::Memmove => "memmove",
        LibCall::Memcmp => "memcmp",
        LibCall::ElfTlsGetAddr => "__tls_get_addr",
        LibCall::ElfTlsGetOffset => "__tls_get_offset",
        LibCall::X86Pshufb => "__kiln_x86_pshufb",
    }
    .to_string()
}

/// A function written to the text section.
struct FuncRecord {
    id: FuncId,
    offset: u64,
    size: u64,
    relocs: Vec<FinalizedReloc>,
    srclocs: Vec<SrcLocRange>,
    unwind: Vec<(u32, UnwindInst)>,
}

/// An address to write into data at `finish`.
struct DataReloc {
    section: SectionId,
    offset: u64,
    target: FuncOrDataId,
    addend: i64,
}

/// An object-file module: see the [module documentation](self).
pub struct ObjectModule {
    isa: Box<dyn TargetIsa>,
    decls: ModuleDeclarations,
    object: Object<'static>,
    format: BinaryFormat,
    arch: Architecture,
    text: SectionId,
    /// Object symbols of declared names, made on first use.
    func_syms: HashMap<FuncId, SymbolId>,
    data_syms: HashMap<DataId, SymbolId>,
    /// Undefined symbols for names the module never declared (runtime routines, …).
    extern_syms: HashMap<RelocTarget, SymbolId>,
    defined_funcs: HashMap<FuncId, usize>,
    defined_data: HashMap<DataId, (SectionId, u64)>,
    funcs: Vec<FuncRecord>,
    data_relocs: Vec<DataReloc>,
    libcall_name: Box<dyn Fn(LibCall) -> String + Send>,
    debug: Option<DebugSource>,
    ctx: Context,
}

/// The finished object file.
pub struct ObjectProduct {
    /// The object, to add sections of one's own before writing it.
    pub object: Object<'static>,
}

impl ObjectProduct {
    /// The bytes of the object file.
    pub fn emit(&self) -> Result<Vec<u8>, ModuleError> {
        self.object.write().map_err(|e| ModuleError::InvalidDefinition(format!("writing the object file: {e}")))
    }
}

/// The object format and architecture of a target triple.
fn format_of(isa: &dyn TargetIsa) -> Result<(BinaryFormat, Architecture), ModuleError> {
    use target_lexicon::{Architecture as A, BinaryFormat as F, OperatingSystem as O};
    let triple = isa.triple();
    let arch = match triple.architecture {
        A::X86_64 => Architecture::X86_64,
        A::Aarch64(_) => Architecture::Aarch64,
        A::Riscv64(_) => Architecture::Riscv64,
        a => return Err(ModuleError::Unsupported(format!("object files for {a}"))),
    };
    let format = match triple.binary_format {
        F::Elf => BinaryFormat::Elf,
        F::Macho => BinaryFormat::MachO,
        F::Coff => BinaryFormat::Coff,
        F::Unknown => match triple.operating_system {
            O::Darwin(_) | O::MacOSX(_) | O::IOS(_) => BinaryFormat::MachO,
            O::Windows => BinaryFormat::Coff,
            _ => BinaryFormat::Elf,
        },
        f => return Err(ModuleError::Unsupported(format!("{f} object files"))),
    };
    match (format, arch) {
        (BinaryFormat::Elf, _)
        | (BinaryFormat::MachO, Architecture::X86_64 | Architecture::Aarch64)
        | (BinaryFormat::Coff, Architecture::X86_64) => Ok((format, arch)),
        _ => Err(ModuleError::Unsupported(format!("{format:?} object files for {arch:?}"))),
    }
}

impl ObjectModule {
    /// A module writing an object file for `isa` (its triple chooses the format).
    pub fn new(isa: Box<dyn TargetIsa>) -> Result<Self, ModuleError> {
        let (format, arch) = format_of(&*isa)?;
        let mut object = Object::new(format, arch, Endianness::Little);
        if arch == Architecture::Riscv64 {
            // The standard calling convention passes floating-point values in registers
            // (LP64D); the C extension may be used.
            object.flags = object::FileFlags::Elf {
                os_abi: 0,
                abi_version: 0,
                e_flags: object::elf::EF_RISCV_FLOAT_ABI_DOUBLE | object::elf::EF_RISCV_RVC,
            };
        }
        if format == BinaryFormat::Elf {
            // The stack need not be executable.
            let s = object.add_section(
                Vec::new(),
                b".note.GNU-stack".to_vec(),
                SectionKind::Elf(object::elf::SHT_PROGBITS),
            );
            object.section_mut(s).flags = object::SectionFlags::Elf { sh_flags: 0 };
        }
        let text = object.section_id(StandardSection::Text);
        Ok(ObjectModule {
            isa,
            decls: ModuleDeclarations::default(),
            object,
            format,
            arch,
            text,
            func_syms: HashMap::new(),
            data_syms: HashMap::new(),
            extern_syms: HashMap::new(),
            defined_funcs: HashMap::new(),
            defined_data: HashMap::new(),
            funcs: Vec::new(),
            data_relocs: Vec::new(),
            libcall_name: Box::new(default_libcall_name),
            debug: None,
            ctx: Context::new(),
        })
    }

    /// Write DWARF debug information, reading source locations as lines of `source`.
    pub fn set_debug_source(&mut self, source: DebugSource) {
        self.debug = Some(source);
    }

    /// Name runtime-library routines with `f` instead of [`default_libcall_name`].
    pub fn set_libcall_names(&mut self, f: Box<dyn Fn(LibCall) -> String + Send>) {
        self.libcall_name = f;
    }

    /// The object format.
    pub fn format(&self) -> BinaryFormat {
        self.format
    }

    /// The symbol name of a relocation target.
    fn symbol_name(&self, t: &RelocTarget) -> String {
        match t {
            RelocTarget::LibCall(l) => (self.libcall_name)(*l),
            RelocTarget::KnownSymbol(KnownSymbol::ElfGlobalOffsetTable) => "_GLOBAL_OFFSET_TABLE_".into(),
            RelocTarget::KnownSymbol(KnownSymbol::CoffTlsIndex) => "_tls_index".into(),
            t => reloc_target_name(t),
        }
    }

    /// The object symbol of declared symbol `id`, made (undefined) on first use.
    fn declared_symbol(&mut self, id: FuncOrDataId) -> Result<SymbolId, ModuleError> {
        if let Some(&s) = match id {
            FuncOrDataId::Func(f) => self.func_syms.get(&f),
            FuncOrDataId::Data(d) => self.data_syms.get(&d),
        } {
            return Ok(s);
        }
        let (name, linkage, kind) = match id {
            FuncOrDataId::Func(f) => {
                let d = self.decls.function(f)?;
                (&d.name, d.linkage, SymbolKind::Text)
            }
            FuncOrDataId::Data(x) => {
                let d = self.decls.data(x)?;
                (&d.name, d.linkage, SymbolKind::Data)
            }
        };
        let (scope, weak) = match linkage {
            Linkage::Import => (SymbolScope::Unknown, false),
            Linkage::Local => (SymbolScope::Compilation, false),
            Linkage::Preemptible => (SymbolScope::Dynamic, true),
            Linkage::Export => (SymbolScope::Dynamic, false),
        };
        let name = self.symbol_name(name).into_bytes();
        let s = self.object.add_symbol(Symbol {
            name,
            value: 0,
            size: 0,
            kind,
            scope,
            weak,
            section: SymbolSection::Undefined,
            flags: SymbolFlags::None,
        });
        match id {
            FuncOrDataId::Func(f) => self.func_syms.insert(f, s),
            FuncOrDataId::Data(d) => self.data_syms.insert(d, s),
        };
        Ok(s)
    }

    /// The symbol a relocation refers to and whether it binds locally (defined here with
    /// a final linkage). Names the module never declared are undefined symbols.
    fn target_symbol(&mut self, t: &RelocTarget) -> Result<(SymbolId, bool), ModuleError> {
        let Some(id) = self.decls.get(t) else {
            if let Some(&s) = self.extern_syms.get(t) {
                return Ok((s, false));
            }
            let name = self.symbol_name(t).into_bytes();
            let s = self.object.add_symbol(Symbol {
                name,
                value: 0,
                size: 0,
                kind: SymbolKind::Unknown,
                scope: SymbolScope::Unknown,
                weak: false,
                section: SymbolSection::Undefined,
                flags: SymbolFlags::None,
            });
            self.extern_syms.insert(t.clone(), s);
            return Ok((s, false));
        };
        let (linkage, defined) = match id {
            FuncOrDataId::Func(f) => (self.decls.function(f)?.linkage, self.defined_funcs.contains_key(&f)),
            FuncOrDataId::Data(d) => (self.decls.data(d)?.linkage, self.defined_data.contains_key(&d)),
        };
        if linkage.is_definition() && !defined {
            return Err(ModuleError::Undefined(reloc_target_name(t)));
        }
        Ok((self.declared_symbol(id)?, linkage.is_final()))
    }

    /// The symbol and addend to write a relocation against: on ELF, a locally binding
    /// symbol is replaced by its section (plus its offset), unless the relocation asks the
    /// linker for a GOT or PLT entry of the symbol itself.
    fn reloc_symbol(&mut self, sym: SymbolId, binds_locally: bool, via_got: bool) -> (SymbolId, i64) {
        if self.format == BinaryFormat::Elf && binds_locally && !via_got {
            if let Some((s, off)) = self.object.symbol_section_and_offset(sym) {
                return (s, off as i64);
            }
        }
        (sym, 0)
    }

    /// A local label at `offset` in the text section, for a riscv64 `%pcrel_lo` relocation.
    fn pcrel_hi_label(&mut self, offset: u64) -> SymbolId {
        let name = format!(".Lpcrel_hi{offset:x}").into_bytes();
        if let Some(s) = self.object.symbol_id(&name) {
            return s;
        }
        self.object.add_symbol(Symbol {
            name,
            value: offset,
            size: 0,
            kind: SymbolKind::Label,
            scope: SymbolScope::Compilation,
            weak: false,
            section: SymbolSection::Section(self.text),
            flags: SymbolFlags::None,
        })
    }

    /// Write every relocation, the debug information and unwind tables; return the object.
    pub fn finish(mut self) -> Result<ObjectProduct, ModuleError> {
        let funcs = std::mem::take(&mut self.funcs);
        for f in &funcs {
            for r in &f.relocs {
                let flags = code_reloc(self.format, self.arch, r.kind)?;
                let (symbol, extra) = match (r.kind, &r.target) {
                    // The low part of a riscv64 PC-relative pair refers to its `auipc`,
                    // through a local label there (the label's high part has the target).
                    (Reloc::RiscvPCRelLo12I, RelocTarget::CodeOffset(o)) => {
                        (self.pcrel_hi_label(f.offset + *o as u64), 0)
                    }
                    (Reloc::RiscvPCRelLo12I, t) => {
                        return Err(ModuleError::Relocation(format!(
                            "a %pcrel_lo relocation must refer to its auipc, not to {}",
                            reloc_target_name(t)
                        )));
                    }
                    // A place in the function's own code.
                    (_, RelocTarget::CodeOffset(o)) => {
                        (self.object.section_symbol(self.text), (f.offset + *o as u64) as i64)
                    }
                    (kind, t) => {
                        let (sym, local) = self.target_symbol(t)?;
                        self.reloc_symbol(sym, local, is_got_or_plt(kind))
                    }
                };
                self.object
                    .add_relocation(
                        self.text,
                        Relocation { offset: f.offset + r.offset as u64, symbol, addend: r.addend + extra, flags },
                    )
                    .map_err(|e| ModuleError::Relocation(e.to_string()))?;
            }
        }
        for r in std::mem::take(&mut self.data_relocs) {
            let name = match r.target {
                FuncOrDataId::Func(f) => self.decls.function(f)?.name.clone(),
                FuncOrDataId::Data(d) => self.decls.data(d)?.name.clone(),
            };
            let (sym, local) = self.target_symbol(&name)?;
            let (symbol, extra) = self.reloc_symbol(sym, local, false);
            self.object
                .add_relocation(
                    r.section,
                    Relocation { offset: r.offset, symbol, addend: r.addend + extra, flags: absolute(8) },
                )
                .map_err(|e| ModuleError::Relocation(e.to_string()))?;
        }
        match self.format {
            BinaryFormat::Coff => self.write_windows_unwind(&funcs)?,
            _ => self.write_eh_frame(&funcs)?,
        }
        if let Some(source) = self.debug.clone() {
            self.write_debug_info(&source, &funcs)?;
        }
        Ok(ObjectProduct { object: self.object })
    }

    /// `.eh_frame` (ELF, Mach-O): one FDE per function, its start PC-relative (so that
    /// position-independent executables need no load-time relocation of it).
    fn write_eh_frame(&mut self, funcs: &[FuncRecord]) -> Result<(), ModuleError> {
        if funcs.is_empty() {
            return Ok(());
        }
        let t = CfiTarget::of(self.arch)?;
        let pointers = gimli::DwEhPe(gimli::DW_EH_PE_pcrel.0 | gimli::DW_EH_PE_sdata4.0);
        let cfi_funcs = funcs.iter().enumerate().map(|(k, f)| CfiFunction {
            address: gimli::write::Address::Symbol { symbol: k, addend: 0 },
            len: f.size as u32,
            records: &f.unwind,
        });
        let w = write_eh_frame(&t, pointers, cfi_funcs, RelocVec::new(gimli::RunTimeEndian::Little))?;
        let sec = self.object.section_id(StandardSection::EhFrame);
        self.object.set_section_data(sec, w.data.into_vec(), 8);
        for r in w.relocs {
            let gimli::write::RelocationTarget::Symbol(k) = r.target else {
                return Err(ModuleError::Relocation(".eh_frame refers to another section".into()));
            };
            // ELF: against the text section, so that no FDE goes through a preemptible
            // symbol; Mach-O: against the function's symbol.
            let (symbol, addend) = match self.format {
                BinaryFormat::Elf => (self.object.section_symbol(self.text), funcs[k].offset as i64 + r.addend),
                _ => (self.declared_symbol(FuncOrDataId::Func(funcs[k].id))?, r.addend),
            };
            let pcrel = r.eh_pe.is_some_and(|p| p.application() == gimli::DW_EH_PE_pcrel);
            let kind = if pcrel { RelocationKind::Relative } else { RelocationKind::Absolute };
            let flags = RelocationFlags::Generic { kind, encoding: RelocationEncoding::Generic, size: r.size * 8 };
            self.object
                .add_relocation(sec, Relocation { offset: r.offset as u64, symbol, addend, flags })
                .map_err(|e| ModuleError::Relocation(e.to_string()))?;
        }
        Ok(())
    }

    /// `.pdata` and `.xdata` (COFF, x86-64): a `RUNTIME_FUNCTION` (start, end, unwind
    /// information, as image-relative addresses) for every function with a frame, in
    /// address order; frameless leaf functions need none.
    fn write_windows_unwind(&mut self, funcs: &[FuncRecord]) -> Result<(), ModuleError> {
        let mut xdata = Vec::new();
        // (offset in .pdata, in .xdata?, addend)
        let mut entries: Vec<(u64, bool, i64)> = Vec::new();
        for f in funcs {
            let info = winx64::unwind_info(&f.unwind).map_err(|e| match e {
                ModuleError::Unsupported(m) => {
                    ModuleError::Unsupported(format!("{m} (in {})", self.function_name(f.id)))
                }
                e => e,
            })?;
            let Some(info) = info else { continue };
            let at = 12 * (entries.len() as u64 / 3);
            entries.push((at, false, f.offset as i64));
            entries.push((at + 4, false, (f.offset + f.size) as i64));
            entries.push((at + 8, true, xdata.len() as i64));
            xdata.extend(info);
        }
        if entries.is_empty() {
            return Ok(());
        }
        let xsec = self.object.add_section(Vec::new(), b".xdata".to_vec(), SectionKind::ReadOnlyData);
        let psec = self.object.add_section(Vec::new(), b".pdata".to_vec(), SectionKind::ReadOnlyData);
        self.object.set_section_data(xsec, xdata, 4);
        self.object.set_section_data(psec, vec![0; 4 * entries.len()], 4);
        let flags = RelocationFlags::Generic {
            kind: RelocationKind::ImageOffset,
            encoding: RelocationEncoding::Generic,
            size: 32,
        };
        for (offset, in_xdata, addend) in entries {
            let symbol = self.object.section_symbol(if in_xdata { xsec } else { self.text });
            self.object
                .add_relocation(psec, Relocation { offset, symbol, addend, flags })
                .map_err(|e| ModuleError::Relocation(e.to_string()))?;
        }
        Ok(())
    }

    /// The symbol name of function `id`, for messages.
    fn function_name(&self, id: FuncId) -> String {
        self.decls.function(id).map(|d| self.symbol_name(&d.name)).unwrap_or_default()
    }

    /// The DWARF sections of the module's functions.
    fn write_debug_info(&mut self, source: &DebugSource, funcs: &[FuncRecord]) -> Result<(), ModuleError> {
        let mut syms = Vec::with_capacity(funcs.len());
        let mut names = Vec::with_capacity(funcs.len());
        for f in funcs {
            let decl = self.decls.function(f.id)?;
            names.push((self.symbol_name(&decl.name), decl.linkage != Linkage::Local));
            syms.push(self.declared_symbol(FuncOrDataId::Func(f.id))?);
        }
        let dfuncs: Vec<DebugFunction> = funcs
            .iter()
            .zip(&names)
            .enumerate()
            .map(|(k, (f, (name, external)))| DebugFunction {
                name,
                address: gimli::write::Address::Symbol { symbol: k, addend: 0 },
                size: f.size,
                srclocs: &f.srclocs,
                external: *external,
            })
            .collect();
        let sections = write_dwarf(source, 8, gimli::RunTimeEndian::Little, &dfuncs)?;
        self.add_dwarf_sections(sections, &syms)
    }

    /// Add DWARF sections to the object, with their relocations: symbol addresses against
    /// the symbols (`syms[k]` for symbol `k`), offsets into other DWARF sections against
    /// those sections on ELF and COFF; Mach-O keeps DWARF unlinked, with plain offsets.
    fn add_dwarf_sections(&mut self, sections: Vec<DwarfSection>, syms: &[SymbolId]) -> Result<(), ModuleError> {
        let mut ids: HashMap<gimli::SectionId, SectionId> = HashMap::new();
        for s in &sections {
            let (segment, name) = match self.format {
                BinaryFormat::MachO => (
                    self.object.segment_name(object::write::StandardSegment::Debug).to_vec(),
                    s.id.name().replacen('.', "__", 1).into_bytes(),
                ),
                _ => (Vec::new(), s.id.name().as_bytes().to_vec()),
            };
            ids.insert(s.id, self.object.add_section(segment, name, SectionKind::Debug));
        }
        for mut s in sections {
            let sec = ids[&s.id];
            let mut relocs = Vec::with_capacity(s.relocs.len());
            for r in s.relocs.drain(..) {
                match r.target {
                    gimli::write::RelocationTarget::Symbol(k) => {
                        // Debuggers read DWARF of unlinked objects too: addresses are
                        // written against the text section (on Mach-O an implicit addend
                        // is an address in the object, and the text section is the first,
                        // at address 0), except on COFF, whose readers apply relocations.
                        let (symbol, extra) = match self.object.symbol_section_and_offset(syms[k]) {
                            Some((s, off)) if self.format != BinaryFormat::Coff => (s, off as i64),
                            _ => (syms[k], 0),
                        };
                        relocs.push(Relocation {
                            offset: r.offset as u64,
                            symbol,
                            addend: r.addend + extra,
                            flags: absolute(r.size),
                        });
                    }
                    gimli::write::RelocationTarget::Section(target) => {
                        if self.format == BinaryFormat::MachO {
                            let n = r.size as usize;
                            s.data[r.offset..r.offset + n].copy_from_slice(&r.addend.to_le_bytes()[..n]);
                            continue;
                        }
                        let target = *ids.get(&target).ok_or_else(|| {
                            ModuleError::InvalidDefinition(format!("DWARF refers to missing section {target:?}"))
                        })?;
                        let kind = if self.format == BinaryFormat::Coff {
                            RelocationKind::SectionOffset
                        } else {
                            RelocationKind::Absolute
                        };
                        relocs.push(Relocation {
                            offset: r.offset as u64,
                            symbol: self.object.section_symbol(target),
                            addend: r.addend,
                            flags: RelocationFlags::Generic {
                                kind,
                                encoding: RelocationEncoding::Generic,
                                size: r.size * 8,
                            },
                        });
                    }
                }
            }
            self.object.set_section_data(sec, s.data, 1);
            for r in relocs {
                self.object.add_relocation(sec, r).map_err(|e| ModuleError::Relocation(e.to_string()))?;
            }
        }
        Ok(())
    }
}

impl Module for ObjectModule {
    fn isa(&self) -> &dyn TargetIsa {
        &*self.isa
    }

    fn declarations(&self) -> &ModuleDeclarations {
        &self.decls
    }

    fn declarations_mut(&mut self) -> &mut ModuleDeclarations {
        &mut self.decls
    }

    fn is_defined(&self, id: FuncId) -> bool {
        self.defined_funcs.contains_key(&id)
    }

    fn define_function(&mut self, id: FuncId, func: Function) -> Result<(), ModuleError> {
        let decl = self.decls.function(id)?;
        if self.is_defined(id) {
            return Err(ModuleError::DuplicateDefinition(reloc_target_name(&decl.name)));
        }
        let name = decl.name.clone();
        let code = compile(&mut self.ctx, &*self.isa, &name, func)?;
        self.define_compiled(id, code)
    }

    fn define_compiled(&mut self, id: FuncId, mut code: CompiledCode) -> Result<(), ModuleError> {
        let decl = self.decls.function(id)?;
        if self.is_defined(id) {
            return Err(ModuleError::DuplicateDefinition(reloc_target_name(&decl.name)));
        }
        self.decls.define(FuncOrDataId::Func(id));
        let sym = self.declared_symbol(FuncOrDataId::Func(id))?;
        let align = code.alignment.max(self.isa.function_alignment()).max(1) as u64;
        let bytes = std::mem::take(&mut code.buffer.bytes);
        if self.arch == Architecture::X86_64 {
            // Pad with `int3` rather than zeros, so that the gap disassembles as such.
            let len = self.object.section(self.text).data().len() as u64;
            let pad = len.div_ceil(align) * align - len;
            self.object.append_section_data(self.text, &vec![0xcc; pad as usize], 1);
        }
        let offset = self.object.add_symbol_data(sym, self.text, &bytes, align);
        let relocs = std::mem::take(&mut code.buffer.relocs);
        let srclocs = std::mem::take(&mut code.buffer.srclocs);
        let unwind = std::mem::take(&mut code.buffer.unwind);
        self.defined_funcs.insert(id, self.funcs.len());
        self.funcs.push(FuncRecord { id, offset, size: bytes.len() as u64, relocs, srclocs, unwind });
        Ok(())
    }

    fn define_data(&mut self, id: DataId, desc: &DataDescription) -> Result<(), ModuleError> {
        self.decls.check_data(id, desc)?;
        if self.defined_data.contains_key(&id) {
            return Err(ModuleError::DuplicateDefinition(reloc_target_name(&self.decls.data(id)?.name)));
        }
        let writable = self.decls.data(id)?.writable;
        self.decls.define(FuncOrDataId::Data(id));
        let sym = self.declared_symbol(FuncOrDataId::Data(id))?;
        let align = desc.alignment();
        let (section, offset) = match (&desc.init, writable) {
            (Init::Zeros { size }, true) => {
                let s = self.object.section_id(StandardSection::UninitializedData);
                (s, self.object.add_symbol_bss(sym, s, *size as u64, align))
            }
            (init, _) => {
                let standard = match (writable, desc.has_relocs()) {
                    (true, _) => StandardSection::Data,
                    (false, true) => StandardSection::ReadOnlyDataWithRel,
                    (false, false) => StandardSection::ReadOnlyData,
                };
                let s = self.object.section_id(standard);
                let bytes = match init {
                    Init::Bytes { contents } => contents.to_vec(),
                    _ => vec![0; init.size()],
                };
                (s, self.object.add_symbol_data(sym, s, &bytes, align))
            }
        };
        for &(at, f) in &desc.function_relocs {
            self.data_relocs.push(DataReloc {
                section,
                offset: offset + at as u64,
                target: FuncOrDataId::Func(f),
                addend: 0,
            });
        }
        for &(at, d, addend) in &desc.data_relocs {
            self.data_relocs.push(DataReloc {
                section,
                offset: offset + at as u64,
                target: FuncOrDataId::Data(d),
                addend,
            });
        }
        self.defined_data.insert(id, (section, offset));
        Ok(())
    }
}

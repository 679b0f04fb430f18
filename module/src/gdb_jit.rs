//! The GDB JIT interface: JIT code is described to a debugger by an in-memory ELF object
//! (symbols, the code's `.eh_frame`, DWARF line tables and subprograms) linked into the list that
//! `__jit_debug_descriptor` heads; the debugger sets a breakpoint in
//! `__jit_debug_register_code` and reads the list each time it is called. `gdb` then shows
//! JIT function names (and source lines, where there are source locations) in `bt`.
//!
//! The object is a relocatable ELF whose `.text` section is placed (its `sh_addr`) at the
//! code's address and holds a copy of the code; symbol values are offsets in it, and every
//! address in the DWARF sections is already the final one (the `.eh_frame`, the same bytes
//! the system unwinder has, gives absolute addresses), so the debugger has nothing to
//! relocate.
//!
//! Invariants: the list is only changed under [`LOCK`], and every entry (and the object it
//! points to) lives until [`GdbRegistration`] is dropped, which unlinks it first.

use crate::debug::{DebugFunction, DebugSource, relocate_in_place, write_dwarf};
use crate::module::ModuleError;
use gimli::write::Address;
use object::write::{Object, StandardSection, Symbol, SymbolSection};
use object::{Architecture, BinaryFormat, Endianness, SectionKind, SymbolFlags, SymbolKind, SymbolScope};
use std::sync::Mutex;

/// An entry of the list the debugger reads (layout fixed by GDB).
#[repr(C)]
struct JitCodeEntry {
    next_entry: *mut JitCodeEntry,
    prev_entry: *mut JitCodeEntry,
    symfile_addr: *const u8,
    symfile_size: u64,
}

/// The list's head (layout fixed by GDB).
#[repr(C)]
pub struct JitDescriptor {
    version: u32,
    action_flag: u32,
    relevant_entry: *mut JitCodeEntry,
    first_entry: *mut JitCodeEntry,
}

const JIT_REGISTER_FN: u32 = 1;
const JIT_UNREGISTER_FN: u32 = 2;

/// The descriptor the debugger looks for by name.
#[unsafe(no_mangle)]
#[used]
pub static mut __jit_debug_descriptor: JitDescriptor = JitDescriptor {
    version: 1,
    action_flag: 0,
    relevant_entry: core::ptr::null_mut(),
    first_entry: core::ptr::null_mut(),
};

/// The function the debugger sets a breakpoint in: called after each change of the list.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn __jit_debug_register_code() {
    // Keep the call (and this function) from being optimized away.
    std::hint::black_box(());
}

static LOCK: Mutex<()> = Mutex::new(());

/// A registered object; dropping it unregisters it.
pub struct GdbRegistration {
    entry: Box<JitCodeEntry>,
    _image: Box<[u8]>,
}

// SAFETY: the entry is only touched under LOCK.
unsafe impl Send for GdbRegistration {}
unsafe impl Sync for GdbRegistration {}

impl GdbRegistration {
    /// Register `image` (an object file) with the debugger.
    pub fn new(image: Vec<u8>) -> GdbRegistration {
        let image = image.into_boxed_slice();
        let mut entry = Box::new(JitCodeEntry {
            next_entry: core::ptr::null_mut(),
            prev_entry: core::ptr::null_mut(),
            symfile_addr: image.as_ptr(),
            symfile_size: image.len() as u64,
        });
        let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: the descriptor and every entry are only accessed under LOCK.
        unsafe {
            let d = &raw mut __jit_debug_descriptor;
            entry.next_entry = (*d).first_entry;
            if !entry.next_entry.is_null() {
                (*entry.next_entry).prev_entry = &mut *entry;
            }
            (*d).first_entry = &mut *entry;
            (*d).relevant_entry = &mut *entry;
            (*d).action_flag = JIT_REGISTER_FN;
            __jit_debug_register_code();
        }
        GdbRegistration { entry, _image: image }
    }
}

impl Drop for GdbRegistration {
    fn drop(&mut self) {
        let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let e: *mut JitCodeEntry = &mut *self.entry;
        // SAFETY: as in `new`; `e` is in the list.
        unsafe {
            let d = &raw mut __jit_debug_descriptor;
            if !(*e).prev_entry.is_null() {
                (*(*e).prev_entry).next_entry = (*e).next_entry;
            } else {
                (*d).first_entry = (*e).next_entry;
            }
            if !(*e).next_entry.is_null() {
                (*(*e).next_entry).prev_entry = (*e).prev_entry;
            }
            (*d).relevant_entry = e;
            (*d).action_flag = JIT_UNREGISTER_FN;
            __jit_debug_register_code();
        }
    }
}

/// A function in JIT memory, for the debugger.
pub struct JitFunctionInfo<'a> {
    /// Its name.
    pub name: &'a str,
    /// Offset of its first byte in the code.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
    /// Its source-location ranges, by offset in the function.
    pub srclocs: &'a [kiln_codegen::machinst::buffer::SrcLocRange],
}

/// The in-memory ELF describing `code` (loaded at `base`) and its functions: symbols, the
/// unwind table `eh_frame` (absolute addresses) if there is one, and with `source` DWARF.
pub fn image(
    arch: Architecture,
    base: u64,
    code: &[u8],
    funcs: &[JitFunctionInfo],
    eh_frame: Option<&[u8]>,
    source: Option<&DebugSource>,
) -> Result<Vec<u8>, ModuleError> {
    let mut obj = Object::new(BinaryFormat::Elf, arch, Endianness::Little);
    let text = obj.section_id(StandardSection::Text);
    obj.set_section_data(text, code.to_vec(), 16);
    if let Some(eh_frame) = eh_frame {
        let mut bytes = eh_frame.to_vec();
        bytes.extend_from_slice(&[0; 4]);
        let s = obj.section_id(StandardSection::EhFrame);
        obj.set_section_data(s, bytes, 8);
    }
    for f in funcs {
        obj.add_symbol(Symbol {
            name: f.name.as_bytes().to_vec(),
            value: f.offset,
            size: f.size,
            kind: SymbolKind::Text,
            scope: SymbolScope::Compilation,
            weak: false,
            section: SymbolSection::Section(text),
            flags: SymbolFlags::None,
        });
    }
    if let Some(source) = source {
        let dfuncs: Vec<DebugFunction> = funcs
            .iter()
            .map(|f| DebugFunction {
                name: f.name,
                address: Address::Constant(base + f.offset),
                size: f.size,
                srclocs: f.srclocs,
                external: false,
            })
            .collect();
        for mut s in write_dwarf(source, 8, gimli::RunTimeEndian::Little, &dfuncs)? {
            relocate_in_place(&mut s, |_| 0, false);
            let id = obj.add_section(Vec::new(), s.id.name().as_bytes().to_vec(), SectionKind::Debug);
            obj.set_section_data(id, s.data, 1);
        }
    }
    let mut bytes = obj.write().map_err(|e| ModuleError::InvalidDefinition(format!("writing the GDB image: {e}")))?;
    place_section(&mut bytes, b".text", base)?;
    Ok(bytes)
}

/// Set the `sh_addr` of section `name` of a 64-bit little-endian ELF image.
fn place_section(elf: &mut [u8], name: &[u8], addr: u64) -> Result<(), ModuleError> {
    let bad = || ModuleError::InvalidDefinition("malformed GDB image".into());
    let rd = |b: &[u8], at: usize, n: usize| -> Result<u64, ModuleError> {
        let s = b.get(at..at + n).ok_or_else(bad)?;
        let mut v = [0u8; 8];
        v[..n].copy_from_slice(s);
        Ok(u64::from_le_bytes(v))
    };
    let shoff = rd(elf, 0x28, 8)? as usize;
    let shentsize = rd(elf, 0x3a, 2)? as usize;
    let shnum = rd(elf, 0x3c, 2)? as usize;
    let shstrndx = rd(elf, 0x3e, 2)? as usize;
    let strtab_off = rd(elf, shoff + shstrndx * shentsize + 0x18, 8)? as usize;
    for i in 0..shnum {
        let h = shoff + i * shentsize;
        let n = strtab_off + rd(elf, h, 4)? as usize;
        let end = n + name.len();
        if elf.get(n..end) == Some(name) && elf.get(end) == Some(&0) {
            elf[h + 0x10..h + 0x18].copy_from_slice(&addr.to_le_bytes());
            return Ok(());
        }
    }
    Err(bad())
}

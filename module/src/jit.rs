//! `JitModule`: compile functions into executable memory, lay out data objects, link them to
//! each other and to host symbols, and hand out callable addresses.
//!
//! Usage (see [`Module`] for the shared part):
//! 1. *declare* every function and data object by name, with a [`Linkage`]: `Local`,
//!    `Export` or `Preemptible` for what the module defines, `Import` for what the host
//!    provides (`libc` symbols, routines of the embedding program registered with
//!    [`JitModule::add_symbol_lookup`]);
//! 2. make them referable from IR with [`Module::declare_func_in_func`] /
//!    [`Module::declare_data_in_func`];
//! 3. *define* them ([`Module::define_function`], [`Module::define_data`]);
//! 4. [`JitModule::finalize_definitions`] lays everything defined since the last call out in
//!    one fresh *region* of pages (code, then the PLT stubs and GOT entries the code needs),
//!    resolves every reference and applies relocations, then protects the pages (code
//!    read-execute, read-only data read-only) and registers the code with the trap
//!    handler, the system unwinder and, when asked ([`JitOptions`]), GDB and `perf`;
//! 5. [`JitModule::get_finalized_function`] / [`JitModule::get_finalized_data`] give
//!    addresses. Dropping the module (or [`JitModule::free_memory`]) unmaps everything.
//!
//! **Hot replacement.** [`JitModule::free_function`] takes a finalized function away; the
//! same id can then be defined again. In a module made with [`JitOptions::hotswap`], the
//! module's functions call each other (and take each other's addresses) through the GOT —
//! position-independent code with `colocated = false` — so after the new definition is
//! finalized every caller reaches the new code. A region whose functions were all freed
//! goes to a pool and is reused by later `finalize_definitions`.
//!
//! Names: a symbol is named by a [`SymbolName`](crate::SymbolName) — a string (`"fib"`,
//! printed `%fib` in CLIF) or any relocation target of the compiled code (`u0:3`, a
//! runtime-library routine). References to names the module never declared are resolved
//! like imports.
//!
//! Invariants: a defined symbol keeps its address until it is freed or the module dropped;
//! a failed `finalize_definitions` changes nothing (its memory is released, its definitions
//! stay pending); code is never writable and executable at the same time; GOT entries of a
//! module function always hold its current address (or the address of
//! [`called_freed_function`] once freed); every live region is registered for trap
//! handling and unwinding until it is freed or the module dropped.

use crate::debug::DebugSource;
use crate::exceptions::{self, Handler};
use crate::gdb_jit::{GdbRegistration, JitFunctionInfo};
use crate::libcalls::{host_symbol, libcall_address};
use crate::memory::{CodeMemory, MemoryPool, page_size};
pub use crate::module::{
    DataDescription, DataId, FuncId, FuncOrDataId, Init, Linkage, ModuleError, SymbolName, reloc_name,
    reloc_target_name,
};
use crate::module::{Module, ModuleDeclarations, compile};
use crate::trap;
use crate::unwind::cfi::{CfiFunction, CfiTarget, write_eh_frame};
#[cfg(target_os = "linux")]
use crate::unwind::registry::FrameRegistration;
use kiln_codegen::machinst::buffer::{HandlerTag, Reloc, RelocTarget};
use kiln_codegen::{CompiledCode, Context, TargetIsa};
use kiln_ir::Function;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What a [`JitModule`] does besides running code.
#[derive(Clone, Debug, Default)]
pub struct JitOptions {
    /// Route calls between the module's functions through the GOT so that they can be
    /// freed and redefined ([`JitModule::free_function`]). Needs an ISA compiled with
    /// `is_pic`.
    pub hotswap: bool,
    /// Describe the code to debuggers through the GDB JIT interface (symbols, and DWARF
    /// line tables when `debug_source` is set): see [`crate::gdb_jit`].
    pub gdb: bool,
    /// The source file the IR's source locations are lines of, for the debugger's view.
    pub debug_source: Option<DebugSource>,
    /// Name every function in `/tmp/perf-PID.map` for `perf report`.
    pub perf_map: bool,
    /// Write a jitdump file (`jit-PID.dump`) into this directory for `perf inject --jit`.
    pub jitdump: Option<std::path::PathBuf>,
}

struct FuncState {
    /// Compiled, waiting for `finalize_definitions`.
    code: Option<CompiledCode>,
    /// Where it runs, once finalized.
    addr: Option<*const u8>,
    /// The region holding it.
    region: usize,
    size: usize,
}

struct DataState {
    def: Option<DataDescription>,
    addr: Option<*mut u8>,
    size: usize,
}

/// One `finalize_definitions` batch of code: its mapping, and how many of its functions are
/// still alive.
struct Region {
    /// The region's unwind table, registered with the system unwinder until the region
    /// goes (dropping it deregisters it, before the memory is unmapped or reused).
    #[cfg(target_os = "linux")]
    _unwind: Option<FrameRegistration>,
    mem: CodeMemory,
    /// Bytes of code and PLT stubs (executable) at the start of `mem`.
    code_len: usize,
    live: usize,
    /// The region's description for debuggers, kept until the region goes (dropping it
    /// unregisters it).
    _gdb: Option<GdbRegistration>,
}

/// A symbol resolver: name → address.
pub type SymbolLookup = Box<dyn Fn(&str) -> Option<*const u8> + Send + Sync>;

/// A JIT module: see the [module documentation](self).
pub struct JitModule {
    isa: Box<dyn TargetIsa>,
    options: JitOptions,
    decls: ModuleDeclarations,
    funcs: Vec<FuncState>,
    data: Vec<DataState>,
    lookups: Vec<SymbolLookup>,
    regions: Vec<Option<Region>>,
    data_memories: Vec<CodeMemory>,
    pool: MemoryPool,
    /// The GOT entries that hold the address of each module function.
    got_entries: HashMap<FuncId, Vec<usize>>,
    pending: Vec<FuncId>,
    pending_data: Vec<DataId>,
    ctx: Context,
}

// SAFETY: raw addresses are plain integers into memory the module owns (or host symbols).
unsafe impl Send for JitModule {}

/// Where a freed function's GOT entries point: calling it is a bug of the embedder, and
/// this says so instead of running whatever reuses the memory.
pub extern "C" fn called_freed_function() {
    eprintln!("kiln: a freed JIT function was called");
    std::process::abort();
}

/// Size of a PLT stub: `jmp *disp32(%rip)` (6 bytes), padded with `int3`.
const PLT_STUB: usize = 8;

impl JitModule {
    /// A module compiling for `isa` (which must be the host's architecture to run code).
    pub fn new(isa: Box<dyn TargetIsa>) -> Self {
        JitModule {
            isa,
            options: JitOptions::default(),
            decls: ModuleDeclarations::default(),
            funcs: Vec::new(),
            data: Vec::new(),
            lookups: Vec::new(),
            regions: Vec::new(),
            data_memories: Vec::new(),
            pool: MemoryPool::default(),
            got_entries: HashMap::new(),
            pending: Vec::new(),
            pending_data: Vec::new(),
            ctx: Context::new(),
        }
    }

    /// A module with `options`. Hot replacement needs position-independent code: an error
    /// if `options.hotswap` is set and `isa` is not compiled with `is_pic`.
    pub fn with_options(isa: Box<dyn TargetIsa>, options: JitOptions) -> Result<Self, ModuleError> {
        if options.hotswap && isa.flags().is_pic() == 0 {
            return Err(ModuleError::Unsupported("hot replacement needs an ISA with is_pic".into()));
        }
        let mut m = Self::new(isa);
        m.options = options;
        Ok(m)
    }

    /// Add a symbol resolver, consulted (most recent first) before the host process's
    /// symbols for names the module does not define.
    pub fn add_symbol_lookup(&mut self, f: SymbolLookup) {
        self.lookups.push(f);
    }

    fn func_state(&mut self, id: FuncId) -> &mut FuncState {
        let i = id.0 as usize;
        if self.funcs.len() <= i {
            self.funcs.resize_with(i + 1, || FuncState { code: None, addr: None, region: 0, size: 0 });
        }
        &mut self.funcs[i]
    }

    fn data_state(&mut self, id: DataId) -> &mut DataState {
        let i = id.0 as usize;
        if self.data.len() <= i {
            self.data.resize_with(i + 1, || DataState { def: None, addr: None, size: 0 });
        }
        &mut self.data[i]
    }

    /// The address of `t` given the tentative addresses of this batch.
    fn resolve(
        &self,
        t: &RelocTarget,
        func_addr: &HashMap<FuncId, usize>,
        data_addr: &HashMap<DataId, usize>,
    ) -> Result<usize, ModuleError> {
        match self.decls.get(t) {
            Some(FuncOrDataId::Func(id)) => {
                if let Some(a) = self.funcs.get(id.0 as usize).and_then(|f| f.addr) {
                    return Ok(a as usize);
                }
                if let Some(&a) = func_addr.get(&id) {
                    return Ok(a);
                }
                if self.decls.function(id)?.linkage.is_definition() {
                    return Err(ModuleError::Undefined(reloc_target_name(t)));
                }
            }
            Some(FuncOrDataId::Data(id)) => {
                if let Some(a) = self.data.get(id.0 as usize).and_then(|d| d.addr) {
                    return Ok(a as usize);
                }
                if let Some(&a) = data_addr.get(&id) {
                    return Ok(a);
                }
                if self.decls.data(id)?.linkage.is_definition() {
                    return Err(ModuleError::Undefined(reloc_target_name(t)));
                }
            }
            None => {}
        }
        let name = reloc_target_name(t);
        for l in self.lookups.iter().rev() {
            if let Some(a) = l(&name) {
                return Ok(a as usize);
            }
        }
        let found = match t {
            RelocTarget::LibCall(lib) => libcall_address(*lib),
            RelocTarget::TestCase(s) => host_symbol(s),
            _ => None,
        };
        found.map(|a| a as usize).ok_or(ModuleError::Unresolved(name))
    }

    /// Lay out, link and protect every function and data object defined since the last
    /// call. On error nothing changes: the definitions stay pending.
    pub fn finalize_definitions(&mut self) -> Result<(), ModuleError> {
        if self.pending.is_empty() && self.pending_data.is_empty() {
            return Ok(());
        }
        // Code layout: the functions, then one PLT stub per distinct PLT target, then (on
        // pages of their own) one GOT entry per distinct GOT or PLT target.
        let mut code_size = 0usize;
        let mut code_off = Vec::with_capacity(self.pending.len());
        let mut got_index: HashMap<RelocTarget, usize> = HashMap::new();
        let mut got_targets: Vec<RelocTarget> = Vec::new();
        let mut plt_index: HashMap<RelocTarget, usize> = HashMap::new();
        for &id in &self.pending {
            let code = self.funcs[id.0 as usize].code.as_ref().expect("pending functions have code");
            let align = code.alignment.max(1) as usize;
            code_size = code_size.div_ceil(align) * align;
            code_off.push(code_size);
            code_size += code.code().len();
            for r in &code.buffer.relocs {
                if matches!(r.kind, Reloc::X86GOTPCRel4 | Reloc::X86CallPLTRel4) && !got_index.contains_key(&r.target) {
                    got_index.insert(r.target.clone(), got_targets.len());
                    got_targets.push(r.target.clone());
                }
                if r.kind == Reloc::X86CallPLTRel4 && !plt_index.contains_key(&r.target) {
                    plt_index.insert(r.target.clone(), plt_index.len());
                }
            }
        }
        let plt_off = code_size.div_ceil(PLT_STUB) * PLT_STUB;
        let code_len = plt_off + plt_index.len() * PLT_STUB;
        let got_off = if got_targets.is_empty() { code_len } else { code_len.div_ceil(page_size()) * page_size() };
        let region_len = got_off + got_targets.len() * 8;

        let (mut rw_size, mut ro_size) = (0usize, 0usize);
        let mut data_off = Vec::with_capacity(self.pending_data.len());
        for &id in &self.pending_data {
            let writable = self.decls.data(id)?.writable;
            let d = &self.data[id.0 as usize];
            let align = d.def.as_ref().map_or(16, |x| x.alignment()) as usize;
            let size = if writable { &mut rw_size } else { &mut ro_size };
            *size = size.div_ceil(align) * align;
            data_off.push(*size);
            *size += d.size;
        }
        let map = |n: usize| if n > 0 { CodeMemory::new(n).map(Some) } else { Ok(None) };
        // Every pending function gets a distinct address, even if all of them were empty.
        let mut code_mem = if self.pending.is_empty() {
            None
        } else {
            Some(self.pool.take(region_len.max(1)).map_err(ModuleError::Memory)?)
        };
        let mut rw_mem = map(rw_size).map_err(ModuleError::Memory)?;
        let mut ro_mem = map(ro_size).map_err(ModuleError::Memory)?;
        let base = |m: &Option<CodeMemory>| m.as_ref().map_or(0, |m| m.as_ptr() as usize);
        let (code_base, rw_base, ro_base) = (base(&code_mem), base(&rw_mem), base(&ro_mem));

        // Tentative addresses of this batch.
        let func_addr: HashMap<FuncId, usize> =
            self.pending.iter().zip(&code_off).map(|(&id, &off)| (id, code_base + off)).collect();
        let mut data_addr: HashMap<DataId, usize> = HashMap::with_capacity(self.pending_data.len());
        for (&id, &off) in self.pending_data.iter().zip(&data_off) {
            data_addr.insert(id, if self.decls.data(id)?.writable { rw_base } else { ro_base } + off);
        }

        // Code: copy, fill the GOT and PLT, relocate.
        let mut traps = Vec::new();
        let mut got_funcs: Vec<(FuncId, usize)> = Vec::new();
        let linked = (|| -> Result<(), ModuleError> {
            let Some(mem) = code_mem.as_mut() else { return Ok(()) };
            let buf = mem.as_mut_slice();
            for (k, t) in got_targets.iter().enumerate() {
                let a = self.resolve(t, &func_addr, &data_addr)?;
                let at = got_off + 8 * k;
                buf[at..at + 8].copy_from_slice(&(a as u64).to_le_bytes());
                if let Some(FuncOrDataId::Func(f)) = self.decls.get(t) {
                    got_funcs.push((f, code_base + at));
                }
            }
            for (t, &k) in &plt_index {
                // jmp *disp32(%rip) to the target's GOT entry; int3 padding.
                let at = plt_off + k * PLT_STUB;
                let slot = got_off + 8 * got_index[t];
                let disp = i32::try_from(slot as i64 - (at + 6) as i64)
                    .map_err(|_| ModuleError::Relocation("GOT out of range of its PLT".into()))?;
                buf[at..at + 2].copy_from_slice(&[0xff, 0x25]);
                buf[at + 2..at + 6].copy_from_slice(&disp.to_le_bytes());
                buf[at + 6..at + PLT_STUB].fill(0xcc);
            }
            for (&id, &off) in self.pending.iter().zip(&code_off) {
                let code = self.funcs[id.0 as usize].code.as_ref().expect("pending functions have code");
                let bytes = code.code();
                buf[off..off + bytes.len()].copy_from_slice(bytes);
                for r in &code.buffer.relocs {
                    let target = match (r.kind, &r.target) {
                        (Reloc::X86GOTPCRel4, t) => code_base + got_off + 8 * got_index[t],
                        (Reloc::X86CallPLTRel4, t) => code_base + plt_off + PLT_STUB * plt_index[t],
                        // A label of this same function.
                        (_, RelocTarget::CodeOffset(o)) => code_base + off + *o as usize,
                        (_, t) => self.resolve(t, &func_addr, &data_addr)?,
                    };
                    let at = off + r.offset as usize;
                    apply_reloc(buf, at, code_base + at, r.kind, target, r.addend, &r.target)?;
                }
                traps.extend(code.buffer.traps.iter().map(|t| ((off as u32) + t.offset, t.code)));
            }
            Ok(())
        })();
        let eh_frame = linked.and_then(|()| {
            if code_mem.is_some() { self.unwind_table(code_base, &code_off).map(Some) } else { Ok(None) }
        });
        let eh_frame = match eh_frame {
            Ok(e) => e,
            Err(e) => {
                if let Some(m) = code_mem {
                    self.pool.give(m);
                }
                return Err(e);
            }
        };
        // Data: copy, write addresses.
        for (&id, &off) in self.pending_data.iter().zip(&data_off) {
            let writable = self.decls.data(id)?.writable;
            let d = &self.data[id.0 as usize];
            let desc = d.def.as_ref().expect("pending data has a definition");
            let mem = if writable { rw_mem.as_mut() } else { ro_mem.as_mut() };
            let Some(mem) = mem else { continue };
            let buf = &mut mem.as_mut_slice()[off..off + d.size];
            if let Init::Bytes { contents } = &desc.init {
                buf.copy_from_slice(contents);
            }
            for &(at, f) in &desc.function_relocs {
                let t = self.resolve(&self.decls.function(f)?.name, &func_addr, &data_addr)?;
                buf[at as usize..at as usize + 8].copy_from_slice(&(t as u64).to_le_bytes());
            }
            for &(at, dd, addend) in &desc.data_relocs {
                let t = self.resolve(&self.decls.data(dd)?.name, &func_addr, &data_addr)?;
                let v = (t as i64).wrapping_add(addend);
                buf[at as usize..at as usize + 8].copy_from_slice(&v.to_le_bytes());
            }
        }
        // Protect, and tell the tools that asked.
        if let Some(m) = code_mem.as_mut() {
            m.make_executable_prefix(got_off.div_ceil(page_size()) * page_size()).map_err(ModuleError::Memory)?;
        }
        if let Some(m) = ro_mem.as_mut() {
            m.make_readonly().map_err(ModuleError::Memory)?;
        }
        let gdb = match &code_mem {
            Some(m) => match self.announce(m, code_len, &code_off, eh_frame.as_deref()) {
                Ok(g) => g,
                Err(e) => {
                    self.pool.give(code_mem.take().expect("matched"));
                    return Err(e);
                }
            },
            None => None,
        };
        // From here on nothing fails.
        // Commit.
        let region = self.regions.len();
        let pending = core::mem::take(&mut self.pending);
        for (&id, &off) in pending.iter().zip(&code_off) {
            let st = &mut self.funcs[id.0 as usize];
            let code = st.code.take().expect("pending functions have code");
            for cs in &code.buffer.call_sites {
                let handlers = cs
                    .handlers
                    .iter()
                    .map(|(tag, h)| match tag {
                        HandlerTag::Tag(t) => Handler::Tag(*t, code_base + off + *h as usize),
                        HandlerTag::Default => Handler::Default(code_base + off + *h as usize),
                    })
                    .collect();
                exceptions::register_call_site(code_base + off + cs.ret_addr as usize, cs.frame_offset, handlers);
            }
            st.addr = Some((code_base + off) as *const u8);
            st.region = region;
        }
        for (f, slot) in got_funcs {
            self.got_entries.entry(f).or_default().push(slot);
        }
        // A redefined function: every GOT entry that refers to it now holds the new code.
        for &id in &pending {
            let addr = self.funcs[id.0 as usize].addr.expect("just set") as usize;
            for &slot in self.got_entries.get(&id).into_iter().flatten() {
                // SAFETY: a GOT entry of a live region (read-write pages); callers may read
                // it concurrently, hence the atomic store.
                unsafe { (*(slot as *const AtomicUsize)).store(addr, Ordering::Release) };
            }
        }
        for id in core::mem::take(&mut self.pending_data) {
            let a = data_addr[&id];
            let d = &mut self.data[id.0 as usize];
            d.addr = Some(a as *mut u8);
            d.def = None;
        }
        if let Some(m) = code_mem {
            trap::register_code(m.as_ptr() as usize, code_len, traps);
            #[cfg(target_os = "linux")]
            let _unwind = eh_frame.map(FrameRegistration::new);
            #[cfg(not(target_os = "linux"))]
            let _ = eh_frame;
            self.regions.push(Some(Region {
                #[cfg(target_os = "linux")]
                _unwind,
                mem: m,
                code_len,
                live: pending.len(),
                _gdb: gdb,
            }));
        }
        self.data_memories.extend(rw_mem);
        self.data_memories.extend(ro_mem);
        Ok(())
    }

    /// The `.eh_frame` of the pending functions, laid out at `code_base + offsets`, with
    /// absolute FDE addresses: one FDE per function, from its unwind records.
    fn unwind_table(&self, code_base: usize, offsets: &[usize]) -> Result<Vec<u8>, ModuleError> {
        let t = CfiTarget::of(self.object_arch()?)?;
        let funcs = self.pending.iter().zip(offsets).map(|(&id, &off)| {
            let code = self.funcs[id.0 as usize].code.as_ref().expect("pending functions have code");
            CfiFunction {
                address: gimli::write::Address::Constant((code_base + off) as u64),
                len: code.code().len() as u32,
                records: code.unwind(),
            }
        });
        let w = write_eh_frame(&t, gimli::DW_EH_PE_absptr, funcs, gimli::write::EndianVec::new(gimli::LittleEndian))?;
        Ok(w.into_vec())
    }

    /// The architecture of the ISA, as the `object` crate names it.
    fn object_arch(&self) -> Result<object::Architecture, ModuleError> {
        Ok(match self.isa.triple().architecture {
            target_lexicon::Architecture::X86_64 => object::Architecture::X86_64,
            target_lexicon::Architecture::Aarch64(_) => object::Architecture::Aarch64,
            target_lexicon::Architecture::Riscv64(_) => object::Architecture::Riscv64,
            a => return Err(ModuleError::Unsupported(format!("JIT code for {a}"))),
        })
    }

    /// Describe the pending functions, laid out in `mem` at `offsets` (with unwind table
    /// `eh_frame`), to `perf` and the debugger, as the options ask.
    fn announce(
        &self,
        mem: &CodeMemory,
        code_len: usize,
        offsets: &[usize],
        eh_frame: Option<&[u8]>,
    ) -> Result<Option<GdbRegistration>, ModuleError> {
        let o = &self.options;
        if !o.gdb && !o.perf_map && o.jitdump.is_none() {
            return Ok(None);
        }
        let base = mem.as_ptr() as usize;
        // SAFETY: the first `code_len` bytes of the region are mapped and readable.
        let code = unsafe { core::slice::from_raw_parts(mem.as_ptr(), code_len) };
        let mut names = Vec::with_capacity(self.pending.len());
        for (&id, &off) in self.pending.iter().zip(offsets) {
            let name = reloc_target_name(&self.decls.function(id)?.name);
            let size = self.funcs[id.0 as usize].size;
            let io = |e: std::io::Error| ModuleError::Unsupported(format!("perf support: {e}"));
            if o.perf_map {
                crate::perf::map_function(base + off, size, &name).map_err(io)?;
            }
            if let Some(dir) = &o.jitdump {
                crate::perf::dump_function(dir, base + off, &code[off..off + size], &name).map_err(io)?;
            }
            names.push(name);
        }
        if !o.gdb {
            return Ok(None);
        }
        let infos: Vec<JitFunctionInfo> = self
            .pending
            .iter()
            .zip(offsets)
            .zip(&names)
            .map(|((&id, &off), name)| {
                let code = self.funcs[id.0 as usize].code.as_ref().expect("pending functions have code");
                JitFunctionInfo {
                    name,
                    offset: off as u64,
                    size: code.code().len() as u64,
                    srclocs: &code.buffer.srclocs,
                }
            })
            .collect();
        let image =
            crate::gdb_jit::image(self.object_arch()?, base as u64, code, &infos, eh_frame, o.debug_source.as_ref())?;
        Ok(Some(GdbRegistration::new(image)))
    }

    /// The address of a finalized function.
    pub fn get_finalized_function(&self, id: FuncId) -> Option<*const u8> {
        self.funcs.get(id.0 as usize)?.addr
    }

    /// The size in bytes of the machine code of a defined function.
    pub fn function_size(&self, id: FuncId) -> Option<usize> {
        let d = self.funcs.get(id.0 as usize)?;
        (d.code.is_some() || d.addr.is_some()).then_some(d.size)
    }

    /// The address and size of a data object the module defined and finalized (writable
    /// only if it was declared writable; `None` for imports).
    pub fn get_finalized_data(&self, id: DataId) -> Option<(*mut u8, usize)> {
        let d = self.data.get(id.0 as usize)?;
        Some((d.addr?, d.size))
    }

    /// The finalized function whose code contains `addr`, and the offset of `addr` in it.
    pub fn lookup_function(&self, addr: usize) -> Option<(FuncId, usize)> {
        self.funcs.iter().enumerate().find_map(|(i, f)| {
            let start = f.addr? as usize;
            (addr >= start && addr < start + f.size.max(1)).then_some((FuncId(i as u32), addr - start))
        })
    }

    /// Free the code of finalized function `id`, so that it can be defined again. Its GOT
    /// entries point to [`called_freed_function`] until the new definition is finalized;
    /// code that calls it directly (not through the GOT: modules without
    /// [`JitOptions::hotswap`]) must not run until then. When every function of a region
    /// is freed, its memory is reused by later definitions.
    ///
    /// # Safety
    /// No thread may be executing the function, and no pointer to it obtained from
    /// [`get_finalized_function`](Self::get_finalized_function) may be used afterwards.
    pub unsafe fn free_function(&mut self, id: FuncId) -> Result<(), ModuleError> {
        let name = reloc_target_name(&self.decls.function(id)?.name);
        let st = self.funcs.get_mut(id.0 as usize).filter(|s| s.addr.is_some());
        let Some(st) = st else {
            return Err(ModuleError::InvalidDefinition(format!("{name} is not finalized, so it cannot be freed")));
        };
        st.addr = None;
        st.size = 0;
        let r = st.region;
        for &slot in self.got_entries.get(&id).into_iter().flatten() {
            // SAFETY: a GOT entry of a live region.
            unsafe {
                (*(slot as *const AtomicUsize)).store(called_freed_function as *const () as usize, Ordering::Release)
            };
        }
        let region = self.regions[r].as_mut().expect("a live function's region is live");
        region.live -= 1;
        if region.live == 0 {
            let region = self.regions[r].take().expect("checked");
            self.release_region(&region);
            // GOT entries inside the region die with it.
            let (start, end) = (region.mem.as_ptr() as usize, region.mem.as_ptr() as usize + region.mem.len());
            for slots in self.got_entries.values_mut() {
                slots.retain(|&s| s < start || s >= end);
            }
            self.pool.give(region.mem);
        }
        Ok(())
    }

    /// Unregister a region from the trap handler and the exception tables.
    fn release_region(&self, region: &Region) {
        let start = region.mem.as_ptr() as usize;
        trap::unregister_code(start);
        exceptions::unregister_range(start, start + region.code_len);
    }

    /// Bytes of freed code memory kept for reuse.
    pub fn pooled_bytes(&self) -> usize {
        self.pool.kept_bytes()
    }

    /// Number of live code regions (one per `finalize_definitions` with code, until all its
    /// functions are freed).
    pub fn live_regions(&self) -> usize {
        self.regions.iter().flatten().count()
    }

    /// Unmap every function and data object of the module. Same as dropping it: every
    /// pointer obtained from it becomes dangling.
    pub fn free_memory(self) {
        drop(self);
    }
}

impl Module for JitModule {
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
        self.funcs.get(id.0 as usize).is_some_and(|f| f.code.is_some() || f.addr.is_some())
    }

    /// Functions and data the module defines are addressed directly, except functions of a
    /// hot-swapping module (called through the GOT).
    fn is_colocated(&self, id: FuncOrDataId) -> bool {
        match id {
            FuncOrDataId::Func(f) => {
                !self.options.hotswap && self.decls.function(f).is_ok_and(|d| d.linkage.is_definition())
            }
            FuncOrDataId::Data(d) => self.decls.data(d).is_ok_and(|d| d.linkage.is_definition()),
        }
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

    fn define_compiled(&mut self, id: FuncId, code: CompiledCode) -> Result<(), ModuleError> {
        let decl = self.decls.function(id)?;
        if self.is_defined(id) {
            return Err(ModuleError::DuplicateDefinition(reloc_target_name(&decl.name)));
        }
        self.decls.define(FuncOrDataId::Func(id));
        let st = self.func_state(id);
        st.size = code.code().len();
        st.code = Some(code);
        self.pending.push(id);
        Ok(())
    }

    fn define_data(&mut self, id: DataId, desc: &DataDescription) -> Result<(), ModuleError> {
        self.decls.check_data(id, desc)?;
        let d = self.data_state(id);
        if d.def.is_some() || d.addr.is_some() {
            return Err(ModuleError::DuplicateDefinition(reloc_target_name(&self.decls.data(id)?.name)));
        }
        d.size = desc.init.size();
        d.def = Some(desc.clone());
        self.decls.define(FuncOrDataId::Data(id));
        self.pending_data.push(id);
        Ok(())
    }
}

/// Patch one relocation of code at `buf[at..]` (address `p`) to `target + addend` (for GOT
/// and PLT kinds, `target` is the GOT entry or the PLT stub).
fn apply_reloc(
    buf: &mut [u8],
    at: usize,
    p: usize,
    kind: Reloc,
    target: usize,
    addend: i64,
    name: &RelocTarget,
) -> Result<(), ModuleError> {
    let target = target as i64;
    let p = p as i64;
    let field = |buf: &mut [u8], n: usize| -> Result<(), ModuleError> {
        if at.checked_add(n).is_some_and(|e| e <= buf.len()) {
            Ok(())
        } else {
            Err(ModuleError::Relocation(format!("relocation at {at} outside the code")))
        }
    };
    match kind {
        Reloc::Abs8 => {
            field(buf, 8)?;
            buf[at..at + 8].copy_from_slice(&(target.wrapping_add(addend)).to_le_bytes())
        }
        Reloc::Abs4 => {
            field(buf, 4)?;
            let v = target.wrapping_add(addend);
            let v = u32::try_from(v).map_err(|_| ModuleError::Relocation("Abs4 out of range".into()))?;
            buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
        }
        Reloc::X86PCRel4 | Reloc::X86CallPCRel4 | Reloc::X86GOTPCRel4 | Reloc::X86CallPLTRel4 => {
            field(buf, 4)?;
            let v = target.wrapping_add(addend).wrapping_sub(p);
            let v = i32::try_from(v).map_err(|_| {
                ModuleError::Relocation(format!("{} is out of PC-relative range", reloc_target_name(name)))
            })?;
            buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
        }
        k => return Err(ModuleError::Relocation(format!("unsupported relocation {k:?} in the JIT"))),
    }
    Ok(())
}

impl Drop for JitModule {
    fn drop(&mut self) {
        for r in self.regions.iter().flatten() {
            self.release_region(r);
        }
    }
}

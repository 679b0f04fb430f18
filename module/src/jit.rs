//! `JitModule`: compile functions into executable memory, link them to each other and to
//! host symbols, and hand out callable addresses.
//!
//! Usage: declare every function by name, define (compile) the ones this module provides,
//! then `finalize_definitions` copies the new code into fresh pages, applies relocations
//! and makes the pages executable. Functions defined in earlier batches stay valid;
//! declared-but-undefined names are resolved through the symbol lookups (runtime-library
//! routines and, by default, the host process's symbols).
//!
//! Invariants: a function is defined at most once; code is never writable and
//! executable at the same time; every finalized region is registered for trap handling
//! until the module is dropped.

use crate::exceptions::{self, Handler};
use crate::libcalls::{host_symbol, libcall_address};
use crate::memory::CodeMemory;
use crate::trap;
use kiln_codegen::machinst::buffer::{HandlerTag, Reloc, RelocTarget};
use kiln_codegen::{CodegenError, CompiledCode, Context, TargetIsa};
use kiln_ir::extname::UserFuncName;
use kiln_ir::signature::Signature;
use std::collections::HashMap;
use std::fmt;

/// A function declared in a module.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FuncId(pub u32);

/// How a declared function is provided.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Linkage {
    /// Defined in this module, visible only to it.
    Local,
    /// Defined in this module.
    Export,
    /// Provided from outside (a host symbol).
    Import,
}

/// Errors of module operations.
#[derive(Debug)]
pub enum ModuleError {
    /// A name was declared twice with incompatible linkage or signature.
    IncompatibleDeclaration(String),
    /// A function was defined twice.
    DuplicateDefinition(String),
    /// A function id that was not declared.
    Undeclared(String),
    /// A function failed to compile.
    Compilation {
        /// The function.
        name: String,
        /// The error.
        err: CodegenError,
    },
    /// A referenced symbol could not be resolved.
    Unresolved(String),
    /// A relocation is out of range or of a kind this JIT cannot apply.
    Relocation(String),
    /// Mapping memory failed.
    Memory(std::io::Error),
}

impl fmt::Display for ModuleError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            ModuleError::IncompatibleDeclaration(n) => write!(f, "incompatible declaration of {n}"),
            ModuleError::DuplicateDefinition(n) => write!(f, "duplicate definition of {n}"),
            ModuleError::Undeclared(n) => write!(f, "undeclared function {n}"),
            ModuleError::Compilation { name, err } => write!(f, "compiling {name}: {err}"),
            ModuleError::Unresolved(n) => write!(f, "undefined symbol {n}"),
            ModuleError::Relocation(m) => write!(f, "relocation error: {m}"),
            ModuleError::Memory(e) => write!(f, "memory error: {e}"),
        }
    }
}

impl std::error::Error for ModuleError {}

/// The name of a function as relocations refer to it.
pub fn reloc_name(name: &UserFuncName) -> RelocTarget {
    match name {
        UserFuncName::User(u) => RelocTarget::User { namespace: u.namespace, index: u.index },
        UserFuncName::Testcase(s) => RelocTarget::TestCase(s.clone()),
    }
}

/// Text form of a relocation target, for messages and host-symbol lookup.
pub fn reloc_target_name(t: &RelocTarget) -> String {
    match t {
        RelocTarget::User { namespace, index } => format!("u{namespace}:{index}"),
        RelocTarget::TestCase(s) => s.clone(),
        RelocTarget::LibCall(l) => l.name().to_string(),
        RelocTarget::KnownSymbol(k) => k.name().to_string(),
    }
}

struct FuncDecl {
    name: RelocTarget,
    linkage: Linkage,
    signature: Signature,
    code: Option<CompiledCode>,
    addr: Option<*const u8>,
}

/// A symbol resolver: name → address.
pub type SymbolLookup = Box<dyn Fn(&str) -> Option<*const u8> + Send + Sync>;

/// A JIT module.
pub struct JitModule {
    isa: Box<dyn TargetIsa>,
    funcs: Vec<FuncDecl>,
    by_name: HashMap<RelocTarget, FuncId>,
    lookups: Vec<SymbolLookup>,
    memories: Vec<CodeMemory>,
    pending: Vec<FuncId>,
    ctx: Context,
}

// SAFETY: raw code addresses are plain integers into memory the module owns.
unsafe impl Send for JitModule {}

impl JitModule {
    /// A module compiling for `isa` (which must be the host's architecture to run code).
    pub fn new(isa: Box<dyn TargetIsa>) -> Self {
        JitModule {
            isa,
            funcs: Vec::new(),
            by_name: HashMap::new(),
            lookups: Vec::new(),
            memories: Vec::new(),
            pending: Vec::new(),
            ctx: Context::new(),
        }
    }

    /// The target.
    pub fn isa(&self) -> &dyn TargetIsa {
        &*self.isa
    }

    /// Add a symbol resolver, consulted (most recent first) before the host process's
    /// symbols for names not defined in the module.
    pub fn add_symbol_lookup(&mut self, f: SymbolLookup) {
        self.lookups.push(f);
    }

    /// Declare a function. Declaring the same name again returns the same id if the
    /// signature matches (an import may be upgraded to a definition).
    pub fn declare_function(
        &mut self,
        name: RelocTarget,
        linkage: Linkage,
        signature: &Signature,
    ) -> Result<FuncId, ModuleError> {
        if let Some(&id) = self.by_name.get(&name) {
            let d = &mut self.funcs[id.0 as usize];
            if d.signature != *signature {
                return Err(ModuleError::IncompatibleDeclaration(reloc_target_name(&name)));
            }
            if d.linkage == Linkage::Import && linkage != Linkage::Import {
                d.linkage = linkage;
            }
            return Ok(id);
        }
        let id = FuncId(self.funcs.len() as u32);
        self.funcs.push(FuncDecl { name: name.clone(), linkage, signature: signature.clone(), code: None, addr: None });
        self.by_name.insert(name, id);
        Ok(id)
    }

    /// The id of a declared name.
    pub fn func_id(&self, name: &RelocTarget) -> Option<FuncId> {
        self.by_name.get(name).copied()
    }

    /// Compile `func` as the definition of `id`.
    pub fn define_function(&mut self, id: FuncId, func: kiln_ir::Function) -> Result<(), ModuleError> {
        let decl = self.funcs.get(id.0 as usize).ok_or_else(|| ModuleError::Undeclared(format!("{id:?}")))?;
        if decl.code.is_some() || decl.addr.is_some() {
            return Err(ModuleError::DuplicateDefinition(reloc_target_name(&decl.name)));
        }
        let name = reloc_target_name(&decl.name);
        self.ctx.clear();
        self.ctx.func = func;
        self.ctx.compile(&*self.isa).map_err(|err| ModuleError::Compilation { name, err })?;
        let code = self.ctx.take_compiled_code().expect("compiled");
        self.define_compiled(id, code)
    }

    /// Provide already compiled code as the definition of `id`.
    pub fn define_compiled(&mut self, id: FuncId, code: CompiledCode) -> Result<(), ModuleError> {
        let decl = self.funcs.get_mut(id.0 as usize).ok_or_else(|| ModuleError::Undeclared(format!("{id:?}")))?;
        if decl.code.is_some() || decl.addr.is_some() {
            return Err(ModuleError::DuplicateDefinition(reloc_target_name(&decl.name)));
        }
        if decl.linkage == Linkage::Import {
            decl.linkage = Linkage::Export;
        }
        decl.code = Some(code);
        self.pending.push(id);
        Ok(())
    }

    fn resolve(&self, t: &RelocTarget) -> Result<*const u8, ModuleError> {
        if let Some(&id) = self.by_name.get(t) {
            let d = &self.funcs[id.0 as usize];
            if let Some(a) = d.addr {
                return Ok(a);
            }
            if d.linkage != Linkage::Import {
                // Declared as defined here but never (successfully) defined: never fall
                // back to a host symbol of the same name.
                return Err(ModuleError::Unresolved(reloc_target_name(t)));
            }
        }
        let name = reloc_target_name(t);
        for l in self.lookups.iter().rev() {
            if let Some(a) = l(&name) {
                return Ok(a);
            }
        }
        match t {
            RelocTarget::LibCall(lib) => libcall_address(*lib).ok_or(ModuleError::Unresolved(name)),
            RelocTarget::TestCase(s) => host_symbol(s).ok_or(ModuleError::Unresolved(name)),
            _ => Err(ModuleError::Unresolved(name)),
        }
    }

    /// Copy every newly defined function into executable memory and link it.
    pub fn finalize_definitions(&mut self) -> Result<(), ModuleError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = core::mem::take(&mut self.pending);
        // Layout.
        let mut offsets = Vec::with_capacity(pending.len());
        let mut size = 0usize;
        for &id in &pending {
            let code = self.funcs[id.0 as usize].code.as_ref().expect("pending functions have code");
            let align = code.alignment.max(1) as usize;
            size = size.div_ceil(align) * align;
            offsets.push(size);
            size += code.code().len();
        }
        let mut mem = CodeMemory::new(size).map_err(ModuleError::Memory)?;
        let base = mem.as_ptr() as usize;
        // Addresses first, so that functions of this batch can call each other.
        for (&id, &off) in pending.iter().zip(&offsets) {
            self.funcs[id.0 as usize].addr = Some((base + off) as *const u8);
        }
        let mut traps = Vec::new();
        for (&id, &off) in pending.iter().zip(&offsets) {
            let code = self.funcs[id.0 as usize].code.take().expect("pending functions have code");
            let bytes = code.code();
            mem.as_mut_slice()[off..off + bytes.len()].copy_from_slice(bytes);
            for r in &code.buffer.relocs {
                let target = match self.resolve(&r.target) {
                    Ok(t) => t as i64,
                    Err(e) => {
                        for &p in &pending {
                            self.funcs[p.0 as usize].addr = None;
                        }
                        return Err(e);
                    }
                };
                let at = off + r.offset as usize;
                let p = (base + at) as i64;
                let buf = mem.as_mut_slice();
                match r.kind {
                    Reloc::Abs8 => buf[at..at + 8].copy_from_slice(&(target.wrapping_add(r.addend)).to_le_bytes()),
                    Reloc::Abs4 => {
                        let v = target.wrapping_add(r.addend);
                        let v = u32::try_from(v).map_err(|_| ModuleError::Relocation("Abs4 out of range".into()))?;
                        buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
                    }
                    Reloc::X86PCRel4 | Reloc::X86CallPCRel4 => {
                        let v = target.wrapping_add(r.addend).wrapping_sub(p);
                        let v = i32::try_from(v).map_err(|_| {
                            ModuleError::Relocation(format!(
                                "{} is out of PC-relative range",
                                reloc_target_name(&r.target)
                            ))
                        })?;
                        buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
                    }
                    k => return Err(ModuleError::Relocation(format!("unsupported relocation {k:?}"))),
                }
            }
            traps.extend(code.buffer.traps.iter().map(|t| ((off as u32) + t.offset, t.code)));
            for cs in &code.buffer.call_sites {
                let handlers = cs
                    .handlers
                    .iter()
                    .map(|(tag, h)| match tag {
                        HandlerTag::Tag(t) => Handler::Tag(*t, base + off + *h as usize),
                        HandlerTag::Default => Handler::Default(base + off + *h as usize),
                    })
                    .collect();
                exceptions::register_call_site(base + off + cs.ret_addr as usize, cs.frame_offset, handlers);
            }
        }
        mem.make_executable().map_err(ModuleError::Memory)?;
        trap::register_code(base, mem.len(), traps);
        self.memories.push(mem);
        Ok(())
    }

    /// The address of a finalized function.
    pub fn get_finalized_function(&self, id: FuncId) -> Option<*const u8> {
        self.funcs.get(id.0 as usize)?.addr
    }
}

impl Drop for JitModule {
    fn drop(&mut self) {
        for m in &self.memories {
            trap::unregister_code(m.as_ptr() as usize);
            exceptions::unregister_range(m.as_ptr() as usize, m.as_ptr() as usize + m.len());
        }
    }
}

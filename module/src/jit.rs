//! `JitModule`: compile functions into executable memory, lay out data objects, link them to
//! each other and to host symbols, and hand out callable addresses.
//!
//! Usage:
//! 1. *declare* every function ([`JitModule::declare_function`]) and data object
//!    ([`JitModule::declare_data`]) by name, with a [`Linkage`]: `Local`/`Export` for what the
//!    module defines, `Import` for what the host provides (`libc` symbols, routines of the
//!    embedding program registered with [`JitModule::add_symbol_lookup`]);
//! 2. make them referable from IR with [`JitModule::declare_func_in_func`] (a `FuncRef` for
//!    `call`/`func_addr`) and [`JitModule::declare_data_in_func`] (a global value for
//!    `symbol_value`);
//! 3. *define* them: [`JitModule::define_function`] compiles a function,
//!    [`JitModule::define_data`] records a [`DataDescription`];
//! 4. [`JitModule::finalize_definitions`] lays everything defined since the last call out in
//!    fresh pages, resolves every reference and applies relocations, then protects the
//!    pages (code read-execute, read-only data read-only);
//! 5. [`JitModule::get_finalized_function`] / [`JitModule::get_finalized_data`] give
//!    addresses. Dropping the module (or [`JitModule::free_memory`]) unmaps everything.
//!
//! Names: a symbol is named by a [`SymbolName`] — a string (`"fib"`, printed `%fib` in
//! CLIF) or any relocation target of the compiled code (`u0:3`, a runtime-library routine).
//! References to names the module never declared are resolved like imports.
//!
//! Invariants: a symbol is defined at most once and keeps its address until the module is
//! dropped; a failed `finalize_definitions` changes nothing (its pages are unmapped, its
//! definitions stay pending); code is never writable and executable at the same time;
//! every finalized code region is registered for trap handling until the module is dropped.

use crate::exceptions::{self, Handler};
use crate::libcalls::{host_symbol, libcall_address};
use crate::memory::CodeMemory;
use crate::trap;
use kiln_codegen::machinst::buffer::{HandlerTag, Reloc, RelocTarget};
use kiln_codegen::{CodegenError, CompiledCode, Context, TargetIsa};
use kiln_ir::extname::{ExtFuncData, ExternalName, UserExternalName, UserFuncName};
use kiln_ir::function::GlobalValueData;
use kiln_ir::immediates::Imm64;
use kiln_ir::signature::Signature;
use kiln_ir::{FuncRef, Function, GlobalValue};
use std::collections::HashMap;
use std::fmt;

/// A function declared in a module.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FuncId(pub u32);

/// A data object declared in a module.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DataId(pub u32);

/// A declared symbol: a function or a data object.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FuncOrDataId {
    /// A function.
    Func(FuncId),
    /// A data object.
    Data(DataId),
}

/// How a declared symbol is provided.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Linkage {
    /// Defined in this module, visible only to it.
    Local,
    /// Defined in this module.
    Export,
    /// Provided from outside (a host symbol or a symbol lookup).
    Import,
}

impl Linkage {
    /// The linkage of a symbol declared with `self` and then with `other`, if compatible:
    /// an import may become a definition, but a local symbol never an exported one.
    fn merge(self, other: Linkage) -> Option<Linkage> {
        match (self, other) {
            (a, b) if a == b => Some(a),
            (Linkage::Import, b) => Some(b),
            (a, Linkage::Import) => Some(a),
            _ => None,
        }
    }
}

/// The name of a symbol: a string, or a relocation target of compiled code.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SymbolName(pub RelocTarget);

impl From<&str> for SymbolName {
    fn from(s: &str) -> Self {
        SymbolName(RelocTarget::TestCase(s.to_string()))
    }
}

impl From<String> for SymbolName {
    fn from(s: String) -> Self {
        SymbolName(RelocTarget::TestCase(s))
    }
}

impl From<RelocTarget> for SymbolName {
    fn from(t: RelocTarget) -> Self {
        SymbolName(t)
    }
}

impl From<&UserFuncName> for SymbolName {
    fn from(n: &UserFuncName) -> Self {
        SymbolName(reloc_name(n))
    }
}

impl fmt::Display for SymbolName {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&reloc_target_name(&self.0))
    }
}

/// Errors of module operations.
#[derive(Debug)]
pub enum ModuleError {
    /// A name was declared again with an incompatible kind, linkage, signature or
    /// writability.
    IncompatibleDeclaration(String),
    /// A symbol was defined twice.
    DuplicateDefinition(String),
    /// An id that was not declared in this module.
    Undeclared(String),
    /// A symbol declared `Local`/`Export` is referenced but was never defined.
    Undefined(String),
    /// A function failed to compile.
    Compilation {
        /// The function.
        name: String,
        /// The error.
        err: CodegenError,
    },
    /// A referenced symbol is neither in the module nor in the host.
    Unresolved(String),
    /// A relocation is out of range or of a kind this JIT cannot apply.
    Relocation(String),
    /// A definition is malformed (a data relocation outside the object, an alignment that
    /// is not a power of two, an import being defined, …).
    InvalidDefinition(String),
    /// Mapping or protecting memory failed.
    Memory(std::io::Error),
}

impl fmt::Display for ModuleError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            ModuleError::IncompatibleDeclaration(n) => write!(f, "incompatible declaration of {n}"),
            ModuleError::DuplicateDefinition(n) => write!(f, "duplicate definition of {n}"),
            ModuleError::Undeclared(n) => write!(f, "undeclared symbol {n}"),
            ModuleError::Undefined(n) => write!(f, "{n} is declared in the module but never defined"),
            ModuleError::Compilation { name, err } => write!(f, "compiling {name}: {err}"),
            ModuleError::Unresolved(n) => write!(f, "undefined symbol {n}: not in the module nor in the host"),
            ModuleError::Relocation(m) => write!(f, "relocation error: {m}"),
            ModuleError::InvalidDefinition(m) => write!(f, "invalid definition: {m}"),
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
        RelocTarget::CodeOffset(o) => format!("<code offset {o:#x}>"),
    }
}

/// A code offset is a place in one function's code, not a name a module can declare.
fn check_symbol_name(name: &RelocTarget) -> Result<(), ModuleError> {
    match name {
        RelocTarget::CodeOffset(_) => {
            Err(ModuleError::InvalidDefinition(format!("{} is not a symbol name", reloc_target_name(name))))
        }
        _ => Ok(()),
    }
}

/// The initial contents of a data object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Init {
    /// Not set yet (defining such a description is an error).
    #[default]
    Uninitialized,
    /// `size` zero bytes.
    Zeros {
        /// Size in bytes.
        size: usize,
    },
    /// These bytes.
    Bytes {
        /// The contents.
        contents: Box<[u8]>,
    },
}

impl Init {
    /// Size in bytes.
    pub fn size(&self) -> usize {
        match self {
            Init::Uninitialized => 0,
            Init::Zeros { size } => *size,
            Init::Bytes { contents } => contents.len(),
        }
    }
}

/// The definition of a data object: its contents, alignment and the addresses to write
/// into it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataDescription {
    /// Contents.
    pub init: Init,
    /// Alignment in bytes (a power of two; default 16).
    pub align: Option<u64>,
    /// At each offset, the 8-byte address of a function.
    pub function_relocs: Vec<(u32, FuncId)>,
    /// At each offset, the 8-byte address of a data object plus an addend.
    pub data_relocs: Vec<(u32, DataId, i64)>,
}

impl DataDescription {
    /// An empty description.
    pub fn new() -> Self {
        Self::default()
    }
    /// Initialize with `contents`.
    pub fn define(&mut self, contents: Box<[u8]>) {
        self.init = Init::Bytes { contents };
    }
    /// Initialize with `size` zero bytes.
    pub fn define_zeroinit(&mut self, size: usize) {
        self.init = Init::Zeros { size };
    }
    /// Set the alignment (bytes, a power of two).
    pub fn set_align(&mut self, align: u64) {
        self.align = Some(align);
    }
    /// Write the address of `func` at `offset`.
    pub fn write_function_addr(&mut self, offset: u32, func: FuncId) {
        self.function_relocs.push((offset, func));
    }
    /// Write the address of `data` plus `addend` at `offset`.
    pub fn write_data_addr(&mut self, offset: u32, data: DataId, addend: i64) {
        self.data_relocs.push((offset, data, addend));
    }
    /// Reset to empty.
    pub fn clear(&mut self) {
        *self = Self::default();
    }
}

struct FuncDecl {
    name: RelocTarget,
    linkage: Linkage,
    signature: Signature,
    code: Option<CompiledCode>,
    addr: Option<*const u8>,
    size: usize,
}

struct DataDecl {
    name: RelocTarget,
    linkage: Linkage,
    writable: bool,
    def: Option<DataDescription>,
    addr: Option<*mut u8>,
    size: usize,
}

/// A symbol resolver: name → address.
pub type SymbolLookup = Box<dyn Fn(&str) -> Option<*const u8> + Send + Sync>;

/// A JIT module: see the [module documentation](self).
pub struct JitModule {
    isa: Box<dyn TargetIsa>,
    funcs: Vec<FuncDecl>,
    data: Vec<DataDecl>,
    by_name: HashMap<RelocTarget, FuncOrDataId>,
    lookups: Vec<SymbolLookup>,
    memories: Vec<CodeMemory>,
    pending: Vec<FuncId>,
    pending_data: Vec<DataId>,
    ctx: Context,
}

// SAFETY: raw addresses are plain integers into memory the module owns (or host symbols).
unsafe impl Send for JitModule {}

impl JitModule {
    /// A module compiling for `isa` (which must be the host's architecture to run code).
    pub fn new(isa: Box<dyn TargetIsa>) -> Self {
        JitModule {
            isa,
            funcs: Vec::new(),
            data: Vec::new(),
            by_name: HashMap::new(),
            lookups: Vec::new(),
            memories: Vec::new(),
            pending: Vec::new(),
            pending_data: Vec::new(),
            ctx: Context::new(),
        }
    }

    /// The target.
    pub fn isa(&self) -> &dyn TargetIsa {
        &*self.isa
    }

    /// Add a symbol resolver, consulted (most recent first) before the host process's
    /// symbols for names the module does not define.
    pub fn add_symbol_lookup(&mut self, f: SymbolLookup) {
        self.lookups.push(f);
    }

    /// Declare a function. Declaring a name again returns the same id if the signature is
    /// the same and the linkages are compatible (an import may become a definition).
    pub fn declare_function(
        &mut self,
        name: impl Into<SymbolName>,
        linkage: Linkage,
        signature: &Signature,
    ) -> Result<FuncId, ModuleError> {
        let SymbolName(name) = name.into();
        check_symbol_name(&name)?;
        match self.by_name.get(&name) {
            Some(&FuncOrDataId::Func(id)) => {
                let d = &mut self.funcs[id.0 as usize];
                let merged = d.linkage.merge(linkage);
                match merged {
                    Some(l) if d.signature == *signature => {
                        d.linkage = l;
                        Ok(id)
                    }
                    _ => Err(ModuleError::IncompatibleDeclaration(reloc_target_name(&name))),
                }
            }
            Some(FuncOrDataId::Data(_)) => Err(ModuleError::IncompatibleDeclaration(reloc_target_name(&name))),
            None => {
                let id = FuncId(self.funcs.len() as u32);
                self.funcs.push(FuncDecl {
                    name: name.clone(),
                    linkage,
                    signature: signature.clone(),
                    code: None,
                    addr: None,
                    size: 0,
                });
                self.by_name.insert(name, FuncOrDataId::Func(id));
                Ok(id)
            }
        }
    }

    /// Declare a data object, writable or read-only. Declaring a name again returns the
    /// same id if writability matches and the linkages are compatible.
    pub fn declare_data(
        &mut self,
        name: impl Into<SymbolName>,
        linkage: Linkage,
        writable: bool,
    ) -> Result<DataId, ModuleError> {
        let SymbolName(name) = name.into();
        check_symbol_name(&name)?;
        match self.by_name.get(&name) {
            Some(&FuncOrDataId::Data(id)) => {
                let d = &mut self.data[id.0 as usize];
                match d.linkage.merge(linkage) {
                    Some(l) if d.writable == writable => {
                        d.linkage = l;
                        Ok(id)
                    }
                    _ => Err(ModuleError::IncompatibleDeclaration(reloc_target_name(&name))),
                }
            }
            Some(FuncOrDataId::Func(_)) => Err(ModuleError::IncompatibleDeclaration(reloc_target_name(&name))),
            None => {
                let id = DataId(self.data.len() as u32);
                self.data.push(DataDecl { name: name.clone(), linkage, writable, def: None, addr: None, size: 0 });
                self.by_name.insert(name, FuncOrDataId::Data(id));
                Ok(id)
            }
        }
    }

    /// The id of a declared name.
    pub fn get_name(&self, name: impl Into<SymbolName>) -> Option<FuncOrDataId> {
        self.by_name.get(&name.into().0).copied()
    }

    /// The id of a declared function name.
    pub fn func_id(&self, name: &RelocTarget) -> Option<FuncId> {
        match self.by_name.get(name) {
            Some(FuncOrDataId::Func(id)) => Some(*id),
            _ => None,
        }
    }

    /// The signature of a declared function.
    pub fn function_signature(&self, id: FuncId) -> Option<&Signature> {
        self.funcs.get(id.0 as usize).map(|d| &d.signature)
    }

    fn external_name(func: &mut Function, t: &RelocTarget) -> ExternalName {
        match t {
            RelocTarget::User { namespace, index } => {
                ExternalName::User(func.declare_user_name(UserExternalName { namespace: *namespace, index: *index }))
            }
            RelocTarget::TestCase(s) => ExternalName::TestCase(s.clone()),
            RelocTarget::LibCall(l) => ExternalName::LibCall(*l),
            RelocTarget::KnownSymbol(k) => ExternalName::KnownSymbol(*k),
            // Declarations reject code offsets (`check_symbol_name`); a name that cannot
            // resolve is the safe reading of one.
            RelocTarget::CodeOffset(_) => ExternalName::TestCase(reloc_target_name(t)),
        }
    }

    /// Make function `id` callable from `func`: imports its signature and returns a
    /// `FuncRef` for `call` and `func_addr`. Functions the module defines are called
    /// PC-relative; imports through their absolute address.
    pub fn declare_func_in_func(&self, id: FuncId, func: &mut Function) -> Result<FuncRef, ModuleError> {
        let d = self.funcs.get(id.0 as usize).ok_or_else(|| ModuleError::Undeclared(format!("{id:?}")))?;
        let name = Self::external_name(func, &d.name);
        let signature = func.import_signature(d.signature.clone());
        Ok(func.import_function(ExtFuncData {
            name,
            signature,
            colocated: d.linkage != Linkage::Import,
            patchable: false,
        }))
    }

    /// Make data object `id` addressable from `func`: returns a global value whose
    /// `symbol_value` is the object's address.
    pub fn declare_data_in_func(&self, id: DataId, func: &mut Function) -> Result<GlobalValue, ModuleError> {
        let d = self.data.get(id.0 as usize).ok_or_else(|| ModuleError::Undeclared(format!("{id:?}")))?;
        let name = Self::external_name(func, &d.name);
        Ok(func.create_global_value(GlobalValueData::Symbol {
            name,
            offset: Imm64(0),
            colocated: d.linkage != Linkage::Import,
            tls: false,
        }))
    }

    /// Compile `func` as the definition of `id`.
    pub fn define_function(&mut self, id: FuncId, func: Function) -> Result<(), ModuleError> {
        let decl = self.funcs.get(id.0 as usize).ok_or_else(|| ModuleError::Undeclared(format!("{id:?}")))?;
        if decl.code.is_some() || decl.addr.is_some() {
            return Err(ModuleError::DuplicateDefinition(reloc_target_name(&decl.name)));
        }
        let name = reloc_target_name(&decl.name);
        self.ctx.clear();
        self.ctx.func = func;
        self.ctx.compile(&*self.isa).map_err(|err| ModuleError::Compilation { name, err })?;
        let code = self.ctx.take_compiled_code().ok_or_else(|| ModuleError::InvalidDefinition("no code".into()))?;
        self.define_compiled(id, code)
    }

    /// Compile a batch of definitions on all cores (one worker thread per core, see
    /// [`kiln_codegen::parallel`]) and define them. Either every function of the batch is
    /// defined or, if one is not declared, already defined, listed twice or fails to
    /// compile, none is and the first such error (in batch order) is returned. The code is
    /// the same as `define_function` would give for each function alone.
    pub fn define_functions(&mut self, defs: Vec<(FuncId, Function)>) -> Result<(), ModuleError> {
        self.define_functions_with_threads(defs, 0)
    }

    /// [`define_functions`](Self::define_functions) with at most `threads` worker threads
    /// (`0`: one per core; `1`: on the calling thread).
    pub fn define_functions_with_threads(
        &mut self,
        defs: Vec<(FuncId, Function)>,
        threads: usize,
    ) -> Result<(), ModuleError> {
        let mut seen = std::collections::HashSet::with_capacity(defs.len());
        for (id, _) in &defs {
            let decl = self.funcs.get(id.0 as usize).ok_or_else(|| ModuleError::Undeclared(format!("{id:?}")))?;
            if decl.code.is_some() || decl.addr.is_some() || !seen.insert(*id) {
                return Err(ModuleError::DuplicateDefinition(reloc_target_name(&decl.name)));
            }
        }
        let (ids, funcs): (Vec<FuncId>, Vec<Function>) = defs.into_iter().unzip();
        let results = kiln_codegen::compile_functions(&*self.isa, funcs, threads);
        let mut codes = Vec::with_capacity(results.len());
        for (id, r) in ids.iter().zip(results) {
            match r {
                Ok(code) => codes.push(code),
                Err(err) => {
                    return Err(ModuleError::Compilation {
                        name: reloc_target_name(&self.funcs[id.0 as usize].name),
                        err,
                    });
                }
            }
        }
        for (id, code) in ids.into_iter().zip(codes) {
            self.define_compiled(id, code)?;
        }
        Ok(())
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
        decl.size = code.code().len();
        decl.code = Some(code);
        self.pending.push(id);
        Ok(())
    }

    /// Define data object `id` as `desc` (laid out by the next `finalize_definitions`).
    pub fn define_data(&mut self, id: DataId, desc: &DataDescription) -> Result<(), ModuleError> {
        let nfuncs = self.funcs.len();
        let ndata = self.data.len();
        let decl = self.data.get_mut(id.0 as usize).ok_or_else(|| ModuleError::Undeclared(format!("{id:?}")))?;
        let name = reloc_target_name(&decl.name);
        if decl.def.is_some() || decl.addr.is_some() {
            return Err(ModuleError::DuplicateDefinition(name));
        }
        let size = desc.init.size();
        if desc.init == Init::Uninitialized {
            return Err(ModuleError::InvalidDefinition(format!("{name}: contents not set")));
        }
        if let Some(a) = desc.align.filter(|a| !a.is_power_of_two() || *a > 1 << 16) {
            return Err(ModuleError::InvalidDefinition(format!("{name}: alignment {a}")));
        }
        let fits = |off: u32| (off as usize).checked_add(8).is_some_and(|e| e <= size);
        for &(off, f) in &desc.function_relocs {
            if !fits(off) || f.0 as usize >= nfuncs {
                return Err(ModuleError::InvalidDefinition(format!("{name}: function address at {off}")));
            }
        }
        for &(off, d, _) in &desc.data_relocs {
            if !fits(off) || d.0 as usize >= ndata {
                return Err(ModuleError::InvalidDefinition(format!("{name}: data address at {off}")));
            }
        }
        if decl.linkage == Linkage::Import {
            decl.linkage = Linkage::Export;
        }
        decl.size = size;
        decl.def = Some(desc.clone());
        self.pending_data.push(id);
        Ok(())
    }

    /// The address of `t` given the tentative addresses of this batch.
    fn resolve(
        &self,
        t: &RelocTarget,
        func_addr: &HashMap<FuncId, usize>,
        data_addr: &HashMap<DataId, usize>,
    ) -> Result<usize, ModuleError> {
        match self.by_name.get(t) {
            Some(&FuncOrDataId::Func(id)) => {
                let d = &self.funcs[id.0 as usize];
                if let Some(a) = d.addr {
                    return Ok(a as usize);
                }
                if let Some(&a) = func_addr.get(&id) {
                    return Ok(a);
                }
                if d.linkage != Linkage::Import {
                    return Err(ModuleError::Undefined(reloc_target_name(t)));
                }
            }
            Some(&FuncOrDataId::Data(id)) => {
                let d = &self.data[id.0 as usize];
                if let Some(a) = d.addr {
                    return Ok(a as usize);
                }
                if let Some(&a) = data_addr.get(&id) {
                    return Ok(a);
                }
                if d.linkage != Linkage::Import {
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
        // Layout: one region for code, one for writable data, one for read-only data.
        let mut code_size = 0usize;
        let mut code_off = Vec::with_capacity(self.pending.len());
        for &id in &self.pending {
            let code = self.funcs[id.0 as usize].code.as_ref().expect("pending functions have code");
            let align = code.alignment.max(1) as usize;
            code_size = code_size.div_ceil(align) * align;
            code_off.push(code_size);
            code_size += code.code().len();
        }
        let (mut rw_size, mut ro_size) = (0usize, 0usize);
        let mut data_off = Vec::with_capacity(self.pending_data.len());
        for &id in &self.pending_data {
            let d = &self.data[id.0 as usize];
            let align = d.def.as_ref().and_then(|x| x.align).unwrap_or(16) as usize;
            let size = if d.writable { &mut rw_size } else { &mut ro_size };
            *size = size.div_ceil(align) * align;
            data_off.push(*size);
            *size += d.size;
        }
        let map = |n: usize| if n > 0 { CodeMemory::new(n).map(Some) } else { Ok(None) };
        // Every pending function gets a distinct address, even if all of them were empty.
        let code_size = if self.pending.is_empty() { 0 } else { code_size.max(1) };
        let mut code_mem = map(code_size).map_err(ModuleError::Memory)?;
        let mut rw_mem = map(rw_size).map_err(ModuleError::Memory)?;
        let mut ro_mem = map(ro_size).map_err(ModuleError::Memory)?;
        let base = |m: &Option<CodeMemory>| m.as_ref().map_or(0, |m| m.as_ptr() as usize);
        let (code_base, rw_base, ro_base) = (base(&code_mem), base(&rw_mem), base(&ro_mem));

        // Tentative addresses of this batch.
        let func_addr: HashMap<FuncId, usize> =
            self.pending.iter().zip(&code_off).map(|(&id, &off)| (id, code_base + off)).collect();
        let data_addr: HashMap<DataId, usize> = self
            .pending_data
            .iter()
            .zip(&data_off)
            .map(|(&id, &off)| (id, if self.data[id.0 as usize].writable { rw_base } else { ro_base } + off))
            .collect();

        // Code: copy, relocate.
        let mut traps = Vec::new();
        if let Some(mem) = code_mem.as_mut() {
            for (&id, &off) in self.pending.iter().zip(&code_off) {
                let code = self.funcs[id.0 as usize].code.as_ref().expect("pending functions have code");
                let bytes = code.code();
                mem.as_mut_slice()[off..off + bytes.len()].copy_from_slice(bytes);
                for r in &code.buffer.relocs {
                    let target = match r.target {
                        // A label of this same function.
                        RelocTarget::CodeOffset(o) => code_base + off + o as usize,
                        _ => self.resolve(&r.target, &func_addr, &data_addr)?,
                    };
                    let at = off + r.offset as usize;
                    apply_reloc(mem.as_mut_slice(), at, code_base + at, r.kind, target, r.addend, &r.target)?;
                }
                traps.extend(code.buffer.traps.iter().map(|t| ((off as u32) + t.offset, t.code)));
            }
        }
        // Data: copy, write addresses.
        for (&id, &off) in self.pending_data.iter().zip(&data_off) {
            let d = &self.data[id.0 as usize];
            let desc = d.def.as_ref().expect("pending data has a definition");
            let mem = if d.writable { rw_mem.as_mut() } else { ro_mem.as_mut() };
            let Some(mem) = mem else { continue };
            let buf = &mut mem.as_mut_slice()[off..off + d.size];
            if let Init::Bytes { contents } = &desc.init {
                buf.copy_from_slice(contents);
            }
            for &(at, f) in &desc.function_relocs {
                let t = self.resolve(&self.funcs[f.0 as usize].name, &func_addr, &data_addr)?;
                buf[at as usize..at as usize + 8].copy_from_slice(&(t as u64).to_le_bytes());
            }
            for &(at, dd, addend) in &desc.data_relocs {
                let t = self.resolve(&self.data[dd.0 as usize].name, &func_addr, &data_addr)?;
                let v = (t as i64).wrapping_add(addend);
                buf[at as usize..at as usize + 8].copy_from_slice(&v.to_le_bytes());
            }
        }
        // Protect. From here on nothing fails.
        if let Some(m) = code_mem.as_mut() {
            m.make_executable().map_err(ModuleError::Memory)?;
        }
        if let Some(m) = ro_mem.as_mut() {
            m.make_readonly().map_err(ModuleError::Memory)?;
        }
        // Commit.
        let pending = core::mem::take(&mut self.pending);
        for (&id, &off) in pending.iter().zip(&code_off) {
            let code = self.funcs[id.0 as usize].code.take().expect("pending functions have code");
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
            self.funcs[id.0 as usize].addr = Some((code_base + off) as *const u8);
        }
        for id in core::mem::take(&mut self.pending_data) {
            let a = data_addr[&id];
            let d = &mut self.data[id.0 as usize];
            d.addr = Some(a as *mut u8);
            d.def = None;
        }
        if let Some(m) = code_mem {
            trap::register_code(m.as_ptr() as usize, m.len(), traps);
            self.memories.push(m);
        }
        self.memories.extend(rw_mem);
        self.memories.extend(ro_mem);
        Ok(())
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

    /// Unmap every function and data object of the module. Same as dropping it: every
    /// pointer obtained from it becomes dangling.
    pub fn free_memory(self) {
        drop(self);
    }
}

/// Patch one relocation of code at `buf[at..]` (address `p`) to `target + addend`.
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
        Reloc::X86PCRel4 | Reloc::X86CallPCRel4 => {
            field(buf, 4)?;
            let v = target.wrapping_add(addend).wrapping_sub(p);
            let v = i32::try_from(v).map_err(|_| {
                ModuleError::Relocation(format!("{} is out of PC-relative range", reloc_target_name(name)))
            })?;
            buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
        }
        k => return Err(ModuleError::Relocation(format!("unsupported relocation {k:?}"))),
    }
    Ok(())
}

impl Drop for JitModule {
    fn drop(&mut self) {
        for m in &self.memories {
            trap::unregister_code(m.as_ptr() as usize);
            exceptions::unregister_range(m.as_ptr() as usize, m.as_ptr() as usize + m.len());
        }
    }
}

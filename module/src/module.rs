//! The `Module` API shared by [`JitModule`](crate::JitModule) and
//! [`ObjectModule`](crate::ObjectModule): names and ids of functions and data objects,
//! their linkage, data descriptions, errors, and the declarations both keep.
//!
//! Life cycle, the same for both outputs: *declare* every function and data object by name
//! with a [`Linkage`]; make them referable from IR ([`Module::declare_func_in_func`],
//! [`Module::declare_data_in_func`]); *define* them ([`Module::define_function`] compiles,
//! [`Module::define_data`] records a [`DataDescription`]); then *finish* — the JIT links
//! into executable memory (`finalize_definitions`), the object module writes an object
//! file (`finish`).
//!
//! Invariants: a name is declared once as a function or as a data object (declaring it
//! again must agree on kind, signature or writability, and on a compatible linkage); ids
//! index [`ModuleDeclarations`] and are never reused.

use kiln_codegen::machinst::buffer::RelocTarget;
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

/// How a declared symbol is provided and who may see it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Linkage {
    /// Provided from outside: another object file or library (object files), a host symbol
    /// or a symbol lookup (JIT).
    Import,
    /// Defined in this module, visible only to it (an object file's local symbol).
    Local,
    /// Defined in this module and visible outside it, but a definition elsewhere may take
    /// its place (an ELF weak symbol): references to it go through the GOT/PLT when
    /// compiling position-independent code.
    Preemptible,
    /// Defined in this module and visible outside it; references from the module always
    /// bind to this definition.
    Export,
}

impl Linkage {
    /// The linkage of a symbol declared with `self` and then with `other`, if compatible:
    /// an import may become a definition and a preemptible definition an exported one,
    /// but a local symbol never becomes visible outside.
    pub fn merge(self, other: Linkage) -> Option<Linkage> {
        use Linkage::*;
        match (self, other) {
            (a, b) if a == b => Some(a),
            (Import, b) | (b, Import) => Some(b),
            (Export, Preemptible) | (Preemptible, Export) => Some(Export),
            _ => None,
        }
    }

    /// Is the symbol defined by this module?
    pub fn is_definition(self) -> bool {
        self != Linkage::Import
    }

    /// Do references from this module always reach this module's definition (so that
    /// code may address it directly)?
    pub fn is_final(self) -> bool {
        matches!(self, Linkage::Local | Linkage::Export)
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

impl From<&String> for SymbolName {
    fn from(s: &String) -> Self {
        SymbolName(RelocTarget::TestCase(s.clone()))
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
    /// A symbol declared as defined by the module is referenced but was never defined.
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
    /// A relocation is out of range or of a kind this output cannot express.
    Relocation(String),
    /// A definition is malformed (a data relocation outside the object, an alignment that
    /// is not a power of two, an import being defined, …).
    InvalidDefinition(String),
    /// Something the output does not support (a target or format combination, …).
    Unsupported(String),
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
            ModuleError::Unsupported(m) => write!(f, "unsupported: {m}"),
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
    /// The alignment in bytes (16 unless set).
    pub fn alignment(&self) -> u64 {
        self.align.unwrap_or(16)
    }
    /// Does the object hold addresses (relocations)?
    pub fn has_relocs(&self) -> bool {
        !self.function_relocs.is_empty() || !self.data_relocs.is_empty()
    }
}

/// A declared function.
#[derive(Clone, Debug)]
pub struct FunctionDeclaration {
    /// Its name.
    pub name: RelocTarget,
    /// Its linkage.
    pub linkage: Linkage,
    /// Its signature.
    pub signature: Signature,
}

/// A declared data object.
#[derive(Clone, Debug)]
pub struct DataDeclaration {
    /// Its name.
    pub name: RelocTarget,
    /// Its linkage.
    pub linkage: Linkage,
    /// May the code write to it?
    pub writable: bool,
}

/// Every function and data object a module has declared, by id and by name.
#[derive(Default, Debug)]
pub struct ModuleDeclarations {
    funcs: Vec<FunctionDeclaration>,
    data: Vec<DataDeclaration>,
    by_name: HashMap<RelocTarget, FuncOrDataId>,
}

impl ModuleDeclarations {
    /// Declare a function. Declaring a name again returns the same id if the signature is
    /// the same and the linkages are compatible (an import may become a definition).
    pub fn declare_function(
        &mut self,
        name: RelocTarget,
        linkage: Linkage,
        signature: &Signature,
    ) -> Result<FuncId, ModuleError> {
        check_symbol_name(&name)?;
        match self.by_name.get(&name) {
            Some(&FuncOrDataId::Func(id)) => {
                let d = &mut self.funcs[id.0 as usize];
                match d.linkage.merge(linkage) {
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
                self.funcs.push(FunctionDeclaration { name: name.clone(), linkage, signature: signature.clone() });
                self.by_name.insert(name, FuncOrDataId::Func(id));
                Ok(id)
            }
        }
    }

    /// Declare a data object (`writable`: may the code write to it). Declaring a name
    /// again returns the same id if the writability is the same and the linkages are
    /// compatible.
    pub fn declare_data(&mut self, name: RelocTarget, linkage: Linkage, writable: bool) -> Result<DataId, ModuleError> {
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
                self.data.push(DataDeclaration { name: name.clone(), linkage, writable });
                self.by_name.insert(name, FuncOrDataId::Data(id));
                Ok(id)
            }
        }
    }

    /// The declaration of function `id`.
    pub fn function(&self, id: FuncId) -> Result<&FunctionDeclaration, ModuleError> {
        self.funcs.get(id.0 as usize).ok_or_else(|| ModuleError::Undeclared(format!("{id:?}")))
    }

    /// The declaration of data object `id`.
    pub fn data(&self, id: DataId) -> Result<&DataDeclaration, ModuleError> {
        self.data.get(id.0 as usize).ok_or_else(|| ModuleError::Undeclared(format!("{id:?}")))
    }

    /// The symbol declared under `name`.
    pub fn get(&self, name: &RelocTarget) -> Option<FuncOrDataId> {
        self.by_name.get(name).copied()
    }

    /// Every declared function, by id.
    pub fn functions(&self) -> impl Iterator<Item = (FuncId, &FunctionDeclaration)> {
        self.funcs.iter().enumerate().map(|(i, d)| (FuncId(i as u32), d))
    }

    /// Every declared data object, by id.
    pub fn data_objects(&self) -> impl Iterator<Item = (DataId, &DataDeclaration)> {
        self.data.iter().enumerate().map(|(i, d)| (DataId(i as u32), d))
    }

    /// Number of declared functions.
    pub fn num_functions(&self) -> usize {
        self.funcs.len()
    }

    /// Number of declared data objects.
    pub fn num_data(&self) -> usize {
        self.data.len()
    }

    /// Record that `id` is being defined: an import becomes an exported definition.
    pub(crate) fn define(&mut self, id: FuncOrDataId) {
        let l = match id {
            FuncOrDataId::Func(f) => &mut self.funcs[f.0 as usize].linkage,
            FuncOrDataId::Data(d) => &mut self.data[d.0 as usize].linkage,
        };
        if *l == Linkage::Import {
            *l = Linkage::Export;
        }
    }

    /// Check a data description for object `id` (contents set, alignment a power of two
    /// up to 64 KiB, every address written inside the object and to a declared symbol).
    pub(crate) fn check_data(&self, id: DataId, desc: &DataDescription) -> Result<(), ModuleError> {
        let decl = self.data(id)?;
        let name = reloc_target_name(&decl.name);
        if desc.init == Init::Uninitialized {
            return Err(ModuleError::InvalidDefinition(format!("{name}: contents not set")));
        }
        if let Some(a) = desc.align.filter(|a| !a.is_power_of_two() || *a > 1 << 16) {
            return Err(ModuleError::InvalidDefinition(format!("{name}: alignment {a}")));
        }
        let size = desc.init.size();
        let fits = |off: u32| (off as usize).checked_add(8).is_some_and(|e| e <= size);
        for &(off, f) in &desc.function_relocs {
            if !fits(off) || f.0 as usize >= self.funcs.len() {
                return Err(ModuleError::InvalidDefinition(format!("{name}: function address at {off}")));
            }
        }
        for &(off, d, _) in &desc.data_relocs {
            if !fits(off) || d.0 as usize >= self.data.len() {
                return Err(ModuleError::InvalidDefinition(format!("{name}: data address at {off}")));
            }
        }
        Ok(())
    }

    /// The IR name of a symbol, declared in `func`'s name table if needed.
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
}

/// Compile `func` with `ctx` for `isa` (reusing the context's memory); `name` is for the
/// error.
pub(crate) fn compile(
    ctx: &mut Context,
    isa: &dyn TargetIsa,
    name: &RelocTarget,
    func: Function,
) -> Result<CompiledCode, ModuleError> {
    ctx.clear();
    ctx.func = func;
    ctx.compile(isa).map_err(|err| ModuleError::Compilation { name: reloc_target_name(name), err })?;
    ctx.take_compiled_code().ok_or_else(|| ModuleError::InvalidDefinition("no code".into()))
}

/// What a module (a JIT or an object file) offers: declarations, references from IR and
/// definitions. See the [module documentation](self).
pub trait Module {
    /// The target.
    fn isa(&self) -> &dyn TargetIsa;

    /// Everything declared so far.
    fn declarations(&self) -> &ModuleDeclarations;

    /// Everything declared so far, to declare more.
    fn declarations_mut(&mut self) -> &mut ModuleDeclarations;

    /// Is function `id` defined already (compiled, pending or finished)?
    fn is_defined(&self, id: FuncId) -> bool;

    /// May code of this module address `id` directly (PC-relative, `colocated` in IR)?
    /// By default: if its linkage is final (local or exported).
    fn is_colocated(&self, id: FuncOrDataId) -> bool {
        let d = self.declarations();
        match id {
            FuncOrDataId::Func(f) => d.function(f).is_ok_and(|d| d.linkage.is_final()),
            FuncOrDataId::Data(x) => d.data(x).is_ok_and(|d| d.linkage.is_final()),
        }
    }

    /// Declare a function. Declaring a name again returns the same id if the signature is
    /// the same and the linkages are compatible (an import may become a definition).
    fn declare_function(
        &mut self,
        name: impl Into<SymbolName>,
        linkage: Linkage,
        signature: &Signature,
    ) -> Result<FuncId, ModuleError>
    where
        Self: Sized,
    {
        self.declarations_mut().declare_function(name.into().0, linkage, signature)
    }

    /// Declare a data object (`writable`: may the code write to it).
    fn declare_data(
        &mut self,
        name: impl Into<SymbolName>,
        linkage: Linkage,
        writable: bool,
    ) -> Result<DataId, ModuleError>
    where
        Self: Sized,
    {
        self.declarations_mut().declare_data(name.into().0, linkage, writable)
    }

    /// The id of a declared name.
    fn get_name(&self, name: impl Into<SymbolName>) -> Option<FuncOrDataId>
    where
        Self: Sized,
    {
        self.declarations().get(&name.into().0)
    }

    /// The id of a declared function name.
    fn func_id(&self, name: &RelocTarget) -> Option<FuncId> {
        match self.declarations().get(name) {
            Some(FuncOrDataId::Func(id)) => Some(id),
            _ => None,
        }
    }

    /// The signature of a declared function.
    fn function_signature(&self, id: FuncId) -> Option<&Signature> {
        self.declarations().function(id).ok().map(|d| &d.signature)
    }

    /// Make function `id` callable from `func`: imports its signature and returns a
    /// `FuncRef` for `call` and `func_addr`.
    fn declare_func_in_func(&self, id: FuncId, func: &mut Function) -> Result<FuncRef, ModuleError> {
        let d = self.declarations().function(id)?;
        let name = ModuleDeclarations::external_name(func, &d.name);
        let signature = func.import_signature(d.signature.clone());
        Ok(func.import_function(ExtFuncData {
            name,
            signature,
            colocated: self.is_colocated(FuncOrDataId::Func(id)),
            patchable: false,
        }))
    }

    /// Make data object `id` addressable from `func`: returns a global value whose
    /// `symbol_value` is the object's address.
    fn declare_data_in_func(&self, id: DataId, func: &mut Function) -> Result<GlobalValue, ModuleError> {
        let d = self.declarations().data(id)?;
        let name = ModuleDeclarations::external_name(func, &d.name);
        Ok(func.create_global_value(GlobalValueData::Symbol {
            name,
            offset: Imm64(0),
            colocated: self.is_colocated(FuncOrDataId::Data(id)),
            tls: false,
        }))
    }

    /// Compile `func` as the definition of `id`.
    fn define_function(&mut self, id: FuncId, func: Function) -> Result<(), ModuleError>;

    /// Provide already compiled code as the definition of `id`.
    fn define_compiled(&mut self, id: FuncId, code: CompiledCode) -> Result<(), ModuleError>;

    /// Define data object `id` as `desc`.
    fn define_data(&mut self, id: DataId, desc: &DataDescription) -> Result<(), ModuleError>;

    /// Compile a batch of definitions on all cores (one worker thread per core, see
    /// [`kiln_codegen::parallel`]) and define them. Either every function of the batch is
    /// defined or, if one is not declared, already defined, listed twice or fails to
    /// compile, none is and the first such error (in batch order) is returned. The code is
    /// the same as `define_function` would give for each function alone.
    fn define_functions(&mut self, defs: Vec<(FuncId, Function)>) -> Result<(), ModuleError>
    where
        Self: Sized,
    {
        self.define_functions_with_threads(defs, 0)
    }

    /// [`define_functions`](Self::define_functions) with at most `threads` worker threads
    /// (`0`: one per core; `1`: on the calling thread).
    fn define_functions_with_threads(
        &mut self,
        defs: Vec<(FuncId, Function)>,
        threads: usize,
    ) -> Result<(), ModuleError>
    where
        Self: Sized,
    {
        let mut seen = std::collections::HashSet::with_capacity(defs.len());
        for (id, _) in &defs {
            let decl = self.declarations().function(*id)?;
            if self.is_defined(*id) || !seen.insert(*id) {
                return Err(ModuleError::DuplicateDefinition(reloc_target_name(&decl.name)));
            }
        }
        let (ids, funcs): (Vec<FuncId>, Vec<Function>) = defs.into_iter().unzip();
        let results = kiln_codegen::compile_functions(self.isa(), funcs, threads);
        let mut codes = Vec::with_capacity(results.len());
        for (id, r) in ids.iter().zip(results) {
            match r {
                Ok(code) => codes.push(code),
                Err(err) => {
                    let name = reloc_target_name(&self.declarations().function(*id)?.name);
                    return Err(ModuleError::Compilation { name, err });
                }
            }
        }
        for (id, code) in ids.into_iter().zip(codes) {
            self.define_compiled(id, code)?;
        }
        Ok(())
    }
}

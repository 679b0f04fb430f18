//! Reading a module: [`parse_module`] validates the module sections with wasmparser and
//! collects everything but the function bodies into a [`ModuleInfo`]; the bodies come back
//! as [`FunctionBodyInput`]s, each with the validator that checks it while it is translated
//! (so bodies can be validated and translated in parallel, or lazily).
//!
//! Constant expressions (global initializers, segment offsets, element items) are kept as
//! short lists of [`ConstOp`]s that the embedder evaluates at instantiation.
//!
//! Enabled proposals: Wasm 2.0 (MVP, mutable globals, sign extension, non-trapping
//! float-to-int, multi-value, bulk memory, reference types, fixed-width SIMD), tail calls,
//! extended constant expressions, multi-memory and memory64. Anything else (exception
//! handling, relaxed SIMD, threads, GC, …) is a validation error naming the proposal.

use crate::error::{WasmError, WasmResult};
use crate::types::{FuncType, GlobalType, Limits, MemoryType, TableType, ValType};
use std::collections::HashMap;
use wasmparser::{Parser, Payload, Validator, ValidatorResources};

pub use wasmparser::WasmFeatures;

/// Every proposal Kiln implements (the default).
pub fn features() -> WasmFeatures {
    WasmFeatures::WASM2
        | WasmFeatures::TAIL_CALL
        | WasmFeatures::EXTENDED_CONST
        | WasmFeatures::MULTI_MEMORY
        | WasmFeatures::MEMORY64
}

/// Exactly WebAssembly 2.0 (what the spec test suite's top-level scripts assume: e.g. a
/// memory index must then be a zero byte).
pub fn wasm2_features() -> WasmFeatures {
    WasmFeatures::WASM2
}

/// One operation of a constant expression (a stack machine).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ConstOp {
    /// Push an `i32`.
    I32(i32),
    /// Push an `i64`.
    I64(i64),
    /// Push an `f32` (bits).
    F32(u32),
    /// Push an `f64` (bits).
    F64(u64),
    /// Push a `v128`.
    V128(u128),
    /// Push the value of a global (an imported one, or an earlier defined one).
    GlobalGet(u32),
    /// Push a null reference.
    RefNull,
    /// Push a reference to a function.
    RefFunc(u32),
    /// `i32.add` (extended-const).
    I32Add,
    /// `i32.sub`.
    I32Sub,
    /// `i32.mul`.
    I32Mul,
    /// `i64.add`.
    I64Add,
    /// `i64.sub`.
    I64Sub,
    /// `i64.mul`.
    I64Mul,
}

/// A constant expression.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ConstExpr(pub Vec<ConstOp>);

impl ConstExpr {
    fn read(e: &wasmparser::ConstExpr) -> WasmResult<ConstExpr> {
        use wasmparser::Operator as O;
        let mut ops = Vec::new();
        let mut r = e.get_operators_reader();
        while !r.eof() {
            let (op, offset) = r.read_with_offset()?;
            ops.push(match op {
                O::I32Const { value } => ConstOp::I32(value),
                O::I64Const { value } => ConstOp::I64(value),
                O::F32Const { value } => ConstOp::F32(value.bits()),
                O::F64Const { value } => ConstOp::F64(value.bits()),
                O::V128Const { value } => ConstOp::V128(u128::from_le_bytes(*value.bytes())),
                O::GlobalGet { global_index } => ConstOp::GlobalGet(global_index),
                O::RefNull { .. } => ConstOp::RefNull,
                O::RefFunc { function_index } => ConstOp::RefFunc(function_index),
                O::I32Add => ConstOp::I32Add,
                O::I32Sub => ConstOp::I32Sub,
                O::I32Mul => ConstOp::I32Mul,
                O::I64Add => ConstOp::I64Add,
                O::I64Sub => ConstOp::I64Sub,
                O::I64Mul => ConstOp::I64Mul,
                O::End => break,
                other => {
                    return Err(WasmError::unsupported(offset, format!("{other:?} in a constant expression")));
                }
            });
        }
        Ok(ConstExpr(ops))
    }

    /// The value of an expression made of one constant (`i32.const 5`), if it is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self.0.as_slice() {
            [ConstOp::I32(v)] => Some(*v as i64),
            [ConstOp::I64(v)] => Some(*v),
            _ => None,
        }
    }
}

/// What an import provides.
#[derive(Clone, Debug, PartialEq)]
pub enum ImportKind {
    /// A function of this type index.
    Func(u32),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
}

/// An import.
#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    /// Module name.
    pub module: String,
    /// Field name.
    pub name: String,
    /// What is imported.
    pub kind: ImportKind,
    /// Its index in its index space (functions, tables, memories or globals).
    pub index: u32,
}

/// The kind of an export.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExternKind {
    /// A function.
    Func,
    /// A table.
    Table,
    /// A memory.
    Memory,
    /// A global.
    Global,
}

/// An export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    /// Its name.
    pub name: String,
    /// What it is.
    pub kind: ExternKind,
    /// Its index.
    pub index: u32,
}

/// A global (imported or defined).
#[derive(Clone, Debug, PartialEq)]
pub struct Global {
    /// Its type.
    pub ty: GlobalType,
    /// The initializer (defined globals only).
    pub init: Option<ConstExpr>,
}

/// A table (imported or defined).
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Its type.
    pub ty: TableType,
    /// The initial value of its elements (defined tables only; `None` = null).
    pub init: Option<ConstExpr>,
}

/// How an element segment is used.
#[derive(Clone, Debug, PartialEq)]
pub enum ElementMode {
    /// Copied by `table.init`.
    Passive,
    /// Copied into a table at instantiation, then dropped.
    Active {
        /// The table.
        table: u32,
        /// The offset.
        offset: ConstExpr,
    },
    /// Only declares functions referable by `ref.func`; dropped at instantiation.
    Declared,
}

/// An element segment.
#[derive(Clone, Debug, PartialEq)]
pub struct ElementSegment {
    /// How it is used.
    pub mode: ElementMode,
    /// The element type.
    pub elem: ValType,
    /// The items.
    pub items: Vec<ConstExpr>,
}

/// How a data segment is used.
#[derive(Clone, Debug, PartialEq)]
pub enum DataMode {
    /// Copied by `memory.init`.
    Passive,
    /// Copied into a memory at instantiation, then dropped.
    Active {
        /// The memory.
        memory: u32,
        /// The offset.
        offset: ConstExpr,
    },
}

/// A data segment.
#[derive(Clone, Debug, PartialEq)]
pub struct DataSegment {
    /// How it is used.
    pub mode: DataMode,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Everything about a module except its function bodies.
#[derive(Clone, Debug, Default)]
pub struct ModuleInfo {
    /// Function types, by type index.
    pub types: Vec<FuncType>,
    /// The type index of every function (imported ones first).
    pub funcs: Vec<u32>,
    /// How many functions are imported.
    pub num_imported_funcs: u32,
    /// Tables (imported first).
    pub tables: Vec<Table>,
    /// How many tables are imported.
    pub num_imported_tables: u32,
    /// Memories (imported first).
    pub memories: Vec<MemoryType>,
    /// How many memories are imported.
    pub num_imported_memories: u32,
    /// Globals (imported first).
    pub globals: Vec<Global>,
    /// How many globals are imported.
    pub num_imported_globals: u32,
    /// Imports in order.
    pub imports: Vec<Import>,
    /// Exports in order.
    pub exports: Vec<Export>,
    /// The start function.
    pub start: Option<u32>,
    /// Element segments.
    pub elements: Vec<ElementSegment>,
    /// Data segments.
    pub data: Vec<DataSegment>,
    /// Function names from the `name` section.
    pub func_names: HashMap<u32, String>,
    /// Functions whose reference may be taken (exported, in element segments, `ref.func`
    /// in constant expressions): an embedder may need an entry for them.
    pub escaping_funcs: Vec<bool>,
    /// Size of the code section in bytes.
    pub code_section_size: usize,
}

impl ModuleInfo {
    /// The type of function `index`.
    pub fn func_type(&self, index: u32) -> &FuncType {
        &self.types[self.funcs[index as usize] as usize]
    }

    /// Is function `index` imported?
    pub fn is_imported_func(&self, index: u32) -> bool {
        index < self.num_imported_funcs
    }

    /// The number of functions defined by the module.
    pub fn num_defined_funcs(&self) -> u32 {
        self.funcs.len() as u32 - self.num_imported_funcs
    }

    /// The export named `name`.
    pub fn export(&self, name: &str) -> Option<&Export> {
        self.exports.iter().find(|e| e.name == name)
    }

    /// A printable name of function `index`.
    pub fn func_name(&self, index: u32) -> String {
        match self.func_names.get(&index) {
            Some(n) => n.clone(),
            None => format!("func{index}"),
        }
    }
}

/// A function body to translate: its index and the validator that checks it.
pub struct FunctionBodyInput<'a> {
    /// The function index (imports included).
    pub index: u32,
    /// The body.
    pub body: wasmparser::FunctionBody<'a>,
    /// Validates the body as it is translated.
    pub validator: wasmparser::FuncToValidate<ValidatorResources>,
}

/// Without memory64, memory limits are `u32` LEB128 numbers of at most 5 bytes; wasmparser
/// reads them as `u64`, so overlong encodings are checked here ("integer representation
/// too long").
fn check_memory_limits_u32(section: &[u8], base: usize) -> WasmResult<()> {
    let mut pos = 0usize;
    // A LEB128 number: its length in bytes, or an error at its start if it runs off.
    let leb = |pos: &mut usize| -> WasmResult<usize> {
        let start = *pos;
        loop {
            let b = *section.get(*pos).ok_or_else(|| WasmError::invalid(base + start, "unexpected end"))?;
            *pos += 1;
            if b & 0x80 == 0 {
                return Ok(*pos - start);
            }
        }
    };
    let count_start = pos;
    leb(&mut pos)?;
    let count = {
        let mut v = 0u64;
        for (i, b) in section[count_start..pos].iter().enumerate() {
            v |= ((b & 0x7f) as u64) << (7 * i.min(9));
        }
        v
    };
    for _ in 0..count {
        let flags = *section.get(pos).ok_or_else(|| WasmError::invalid(base + pos, "unexpected end"))?;
        pos += 1;
        let nums = 1 + (flags & 1) as usize;
        for _ in 0..nums {
            let at = pos;
            if leb(&mut pos)? > 5 {
                return Err(WasmError::invalid(base + at, "integer representation too long"));
            }
        }
        if flags & 8 != 0 {
            leb(&mut pos)?;
        }
    }
    Ok(())
}

fn limits_of(min: u64, max: Option<u64>) -> Limits {
    Limits { min, max }
}

fn memory_type(m: &wasmparser::MemoryType, offset: usize) -> WasmResult<MemoryType> {
    if m.shared {
        return Err(WasmError::unsupported(offset, "shared memories (threads proposal)"));
    }
    let page_size_log2 = m.page_size_log2.unwrap_or(16);
    if page_size_log2 != 16 && page_size_log2 != 0 {
        return Err(WasmError::unsupported(offset, format!("page size 2^{page_size_log2}")));
    }
    Ok(MemoryType {
        limits: limits_of(m.initial, m.maximum),
        memory64: m.memory64,
        page_size_log2: page_size_log2 as u8,
    })
}

fn table_type(t: &wasmparser::TableType, offset: usize) -> WasmResult<TableType> {
    if t.shared {
        return Err(WasmError::unsupported(offset, "shared tables"));
    }
    Ok(TableType {
        elem: ValType::from_ref(t.element_type, offset)?,
        limits: limits_of(t.initial, t.maximum),
        table64: t.table64,
    })
}

fn global_type(g: &wasmparser::GlobalType, offset: usize) -> WasmResult<GlobalType> {
    if g.shared {
        return Err(WasmError::unsupported(offset, "shared globals"));
    }
    Ok(GlobalType { ty: ValType::from_wasm(g.content_type, offset)?, mutable: g.mutable })
}

/// Validate and read `bytes` (binary Wasm) with every proposal Kiln implements; see
/// [`parse_module_with`].
pub fn parse_module(bytes: &[u8]) -> WasmResult<(ModuleInfo, Vec<FunctionBodyInput<'_>>)> {
    parse_module_with(bytes, features())
}

/// Validate and read `bytes` (binary Wasm) with the proposals of `features` (which must be
/// among those of [`features`]), except for the function bodies, which are returned with
/// their validators. The whole module is checked except the bodies; call
/// [`crate::translate::FuncTranslator::translate`] on each body to validate and translate it.
pub fn parse_module_with(bytes: &[u8], features: WasmFeatures) -> WasmResult<(ModuleInfo, Vec<FunctionBodyInput<'_>>)> {
    let features = features & self::features();
    parse_checked(bytes, features).map_err(|e| classify_error(bytes, features, e))
}

/// An error that goes away when the proposals Kiln does not implement (GC, typed function
/// references, exception handling, relaxed SIMD, threads, …) are enabled is reported as
/// [`WasmErrorKind::Proposal`](crate::WasmErrorKind): the module needs one of them.
/// Apply it to function-body errors too (bodies are validated as they are translated).
pub fn classify_error(bytes: &[u8], features: WasmFeatures, e: WasmError) -> WasmError {
    if e.kind != crate::WasmErrorKind::Invalid {
        return e;
    }
    let wider = features | (WasmFeatures::all() - self::features());
    if Validator::new_with_features(wider).validate_all(bytes).is_ok() {
        WasmError { kind: crate::WasmErrorKind::Proposal, ..e }
    } else {
        e
    }
}

fn parse_checked(bytes: &[u8], features: WasmFeatures) -> WasmResult<(ModuleInfo, Vec<FunctionBodyInput<'_>>)> {
    let mut validator = Validator::new_with_features(features);
    let mut info = ModuleInfo::default();
    let mut bodies = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload?;
        let valid = validator.payload(&payload)?;
        match payload {
            Payload::TypeSection(r) => {
                let off = r.range().start;
                for group in r {
                    let group = group?;
                    for sub in group.into_types() {
                        match &sub.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => {
                                let p = f
                                    .params()
                                    .iter()
                                    .map(|&t| ValType::from_wasm(t, off))
                                    .collect::<WasmResult<Vec<_>>>()?;
                                let r = f
                                    .results()
                                    .iter()
                                    .map(|&t| ValType::from_wasm(t, off))
                                    .collect::<WasmResult<Vec<_>>>()?;
                                info.types.push(FuncType::new(p, r));
                            }
                            _ => return Err(WasmError::unsupported(off, "GC types (GC proposal)")),
                        }
                    }
                }
            }
            Payload::ImportSection(r) => {
                let range = r.range();
                for imp in r.into_imports() {
                    let imp = imp?;
                    let off = range.start;
                    let (kind, index) = match imp.ty {
                        wasmparser::TypeRef::Func(t) | wasmparser::TypeRef::FuncExact(t) => {
                            info.funcs.push(t);
                            info.num_imported_funcs += 1;
                            (ImportKind::Func(t), info.funcs.len() - 1)
                        }
                        wasmparser::TypeRef::Table(t) => {
                            let ty = table_type(&t, off)?;
                            info.tables.push(Table { ty, init: None });
                            info.num_imported_tables += 1;
                            (ImportKind::Table(ty), info.tables.len() - 1)
                        }
                        wasmparser::TypeRef::Memory(m) => {
                            let ty = memory_type(&m, off)?;
                            info.memories.push(ty);
                            info.num_imported_memories += 1;
                            (ImportKind::Memory(ty), info.memories.len() - 1)
                        }
                        wasmparser::TypeRef::Global(g) => {
                            let ty = global_type(&g, off)?;
                            info.globals.push(Global { ty, init: None });
                            info.num_imported_globals += 1;
                            (ImportKind::Global(ty), info.globals.len() - 1)
                        }
                        wasmparser::TypeRef::Tag(_) => {
                            return Err(WasmError::unsupported(off, "tag imports (exception-handling proposal)"));
                        }
                    };
                    info.imports.push(Import {
                        module: imp.module.to_string(),
                        name: imp.name.to_string(),
                        kind,
                        index: index as u32,
                    });
                }
            }
            Payload::FunctionSection(r) => {
                for t in r {
                    info.funcs.push(t?);
                }
            }
            Payload::TableSection(r) => {
                let off = r.range().start;
                for t in r {
                    let t = t?;
                    let init = match &t.init {
                        wasmparser::TableInit::RefNull => None,
                        wasmparser::TableInit::Expr(e) => Some(ConstExpr::read(e)?),
                    };
                    info.tables.push(Table { ty: table_type(&t.ty, off)?, init });
                }
            }
            Payload::MemorySection(r) => {
                let off = r.range().start;
                if !features.contains(WasmFeatures::MEMORY64) {
                    check_memory_limits_u32(&bytes[r.range()], off)?;
                }
                for m in r {
                    info.memories.push(memory_type(&m?, off)?);
                }
            }
            Payload::TagSection(r) => {
                return Err(WasmError::unsupported(r.range().start, "tags (exception-handling proposal)"));
            }
            Payload::GlobalSection(r) => {
                let off = r.range().start;
                for g in r {
                    let g = g?;
                    info.globals
                        .push(Global { ty: global_type(&g.ty, off)?, init: Some(ConstExpr::read(&g.init_expr)?) });
                }
            }
            Payload::ExportSection(r) => {
                let off = r.range().start;
                for e in r {
                    let e = e?;
                    let kind = match e.kind {
                        wasmparser::ExternalKind::Func | wasmparser::ExternalKind::FuncExact => ExternKind::Func,
                        wasmparser::ExternalKind::Table => ExternKind::Table,
                        wasmparser::ExternalKind::Memory => ExternKind::Memory,
                        wasmparser::ExternalKind::Global => ExternKind::Global,
                        wasmparser::ExternalKind::Tag => {
                            return Err(WasmError::unsupported(off, "tag exports (exception-handling proposal)"));
                        }
                    };
                    info.exports.push(Export { name: e.name.to_string(), kind, index: e.index });
                }
            }
            Payload::StartSection { func, .. } => info.start = Some(func),
            Payload::ElementSection(r) => {
                for e in r {
                    let e = e?;
                    let off = e.range.start;
                    let mode = match e.kind {
                        wasmparser::ElementKind::Passive => ElementMode::Passive,
                        wasmparser::ElementKind::Declared => ElementMode::Declared,
                        wasmparser::ElementKind::Active { table_index, offset_expr } => ElementMode::Active {
                            table: table_index.unwrap_or(0),
                            offset: ConstExpr::read(&offset_expr)?,
                        },
                    };
                    let (elem, items) = match e.items {
                        wasmparser::ElementItems::Functions(fs) => {
                            let mut items = Vec::new();
                            for f in fs {
                                items.push(ConstExpr(vec![ConstOp::RefFunc(f?)]));
                            }
                            (ValType::FuncRef, items)
                        }
                        wasmparser::ElementItems::Expressions(rt, es) => {
                            let mut items = Vec::new();
                            for x in es {
                                items.push(ConstExpr::read(&x?)?);
                            }
                            (ValType::from_ref(rt, off)?, items)
                        }
                    };
                    info.elements.push(ElementSegment { mode, elem, items });
                }
            }
            Payload::DataSection(r) => {
                for d in r {
                    let d = d?;
                    let mode = match d.kind {
                        wasmparser::DataKind::Passive => DataMode::Passive,
                        wasmparser::DataKind::Active { memory_index, offset_expr } => {
                            DataMode::Active { memory: memory_index, offset: ConstExpr::read(&offset_expr)? }
                        }
                    };
                    info.data.push(DataSegment { mode, bytes: d.data.to_vec() });
                }
            }
            Payload::CodeSectionStart { size, .. } => {
                info.code_section_size = size as usize;
            }
            Payload::CodeSectionEntry(body) => {
                if let wasmparser::ValidPayload::Func(v, body) = valid {
                    bodies.push(FunctionBodyInput { index: v.index, body, validator: v });
                } else {
                    return Err(WasmError::internal("a code section entry without a validator"));
                }
                let _ = body;
            }
            Payload::CustomSection(c) => {
                if let wasmparser::KnownCustom::Name(names) = c.as_known() {
                    // Names are optional: a malformed name section is ignored.
                    for n in names.into_iter().flatten() {
                        if let wasmparser::Name::Function(map) = n {
                            for naming in map.into_iter().flatten() {
                                info.func_names.insert(naming.index, naming.name.to_string());
                            }
                        }
                    }
                }
            }
            Payload::End(_) => {}
            _ => {}
        }
    }
    // Which functions may be referenced from outside their module or through tables.
    let mut esc = vec![false; info.funcs.len()];
    let mut mark = |e: &ConstExpr| {
        for op in &e.0 {
            if let ConstOp::RefFunc(f) = op
                && let Some(x) = esc.get_mut(*f as usize)
            {
                *x = true;
            }
        }
    };
    for g in &info.globals {
        if let Some(i) = &g.init {
            mark(i);
        }
    }
    for t in &info.tables {
        if let Some(i) = &t.init {
            mark(i);
        }
    }
    for e in &info.elements {
        e.items.iter().for_each(&mut mark);
    }
    for e in &info.exports {
        if e.kind == ExternKind::Func
            && let Some(x) = esc.get_mut(e.index as usize)
        {
            *x = true;
        }
    }
    info.escaping_funcs = esc;
    if info.funcs.len() - info.num_imported_funcs as usize != bodies.len() {
        return Err(WasmError::invalid(bytes.len(), "function and code section have inconsistent lengths"));
    }
    Ok((info, bodies))
}

//! The [`Engine`] (target, settings, engine-wide function type ids, generated stubs) and
//! [`Module`] compilation.
//!
//! Compiling a module: parse and validate it, give each of its function types an
//! engine-wide id (structurally equal types get the same id, which `call_indirect`
//! compares as a constant), then translate and compile every function body on a pool of
//! worker threads (each with its own translator, environment and codegen context; results
//! in function order, independent of the thread count) and link them into one JIT module.
//!
//! Stubs are generated in IR and compiled by Kiln too, once per function type, into the
//! engine's own JIT module: *trampolines* (`tramp(funcref, values)`, System V) let the host
//! call any function through its funcref with arguments and results in 16-byte slots;
//! *adapters* (with the Wasm signature) let compiled code call host functions.

use super::env::{EnvConfig, RuntimeEnv, wasm_signature};
use super::libcalls::{self, Builtin};
use super::vmctx::{self, VMOffsets};
use crate::environ::trap;
use crate::error::{WasmError, WasmErrorKind, WasmResult};
use crate::module::{FunctionBodyInput, ModuleInfo, parse_module, parse_module_with};
use crate::translate::FuncTranslator;
use crate::types::FuncType;
use kiln_codegen::{CodegenError, CompiledCode, Context, TargetIsa};
use kiln_frontend::{FunctionBuilder, FunctionBuilderContext};
use kiln_ir::extname::{ExtFuncData, ExternalName, UserExternalName, UserFuncName};
use kiln_ir::function::StackSlotData;
use kiln_ir::memflags::MemFlags;
use kiln_ir::settings::Flags;
use kiln_ir::signature::{AbiParam, CallConv, Signature};
use kiln_ir::types;
use kiln_ir::{Function, InstBuilder};
use kiln_module::{JitModule, Linkage, Module as _};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Engine settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Code-generator settings (`opt_level=speed`, …) applied over the defaults.
    pub settings: Vec<String>,
    /// Worker threads for compiling a module: 0 = one per core, 1 = the calling thread.
    pub threads: usize,
    /// How memories and tables are checked.
    pub env: EnvConfig,
    /// The most stack Wasm code may use per call from the host, in bytes (less if the
    /// thread's stack is smaller).
    pub max_wasm_stack: usize,
    /// Keep each function's IR after optimization (for `--emit-clif`).
    pub keep_clif: bool,
    /// The proposals accepted (at most those of [`crate::module::features`]).
    pub features: crate::module::WasmFeatures,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            settings: vec!["opt_level=speed".into(), "enable_verifier=false".into()],
            threads: 0,
            env: EnvConfig::default(),
            max_wasm_stack: 1 << 20,
            keep_clif: false,
            features: crate::module::features(),
        }
    }
}

/// Function types known to an engine, each with a stable id.
#[derive(Default)]
struct TypeRegistry {
    types: Vec<FuncType>,
    ids: HashMap<FuncType, u32>,
}

impl TypeRegistry {
    fn intern(&mut self, ty: &FuncType) -> u32 {
        if let Some(&id) = self.ids.get(ty) {
            return id;
        }
        let id = self.types.len() as u32;
        self.types.push(ty.clone());
        self.ids.insert(ty.clone(), id);
        id
    }
}

/// Trampolines and adapters, by type id.
struct Stubs {
    jit: JitModule,
    trampolines: HashMap<u32, usize>,
    adapters: HashMap<u32, usize>,
    next: u32,
}

pub(crate) struct EngineInner {
    isa: Box<dyn TargetIsa>,
    pub(crate) config: Config,
    types: Mutex<TypeRegistry>,
    stubs: Mutex<Stubs>,
}

/// Compiles modules for one target with one configuration. Cheap to clone (shared).
#[derive(Clone)]
pub struct Engine(pub(crate) Arc<EngineInner>);

impl Default for Engine {
    /// An engine for the host with the default configuration.
    fn default() -> Self {
        Engine::new(Config::default()).expect("the host is a supported target")
    }
}

/// An error of the runtime.
#[derive(Clone, Debug, PartialEq)]
pub enum Error {
    /// The module is malformed, invalid, or uses something unsupported.
    Compile(WasmError),
    /// Imports do not match the module's import declarations.
    Link(String),
    /// Compiled code (or instantiation) trapped.
    Trap(super::Trap),
    /// Anything else (bad arguments, resource limits).
    Other(String),
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match self {
            Error::Compile(e) => write!(f, "{e}"),
            Error::Link(m) => write!(f, "link error: {m}"),
            Error::Trap(t) => write!(f, "trap: {t}"),
            Error::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl From<super::Trap> for Error {
    fn from(t: super::Trap) -> Self {
        Error::Trap(t)
    }
}

impl From<WasmError> for Error {
    fn from(e: WasmError) -> Self {
        Error::Compile(e)
    }
}

impl Engine {
    /// An engine for the host with `config`.
    pub fn new(config: Config) -> Result<Engine, Error> {
        let mut flags = Flags::new();
        for s in &config.settings {
            flags.set_word(s).map_err(|e| Error::Other(format!("setting {s}: {e}")))?;
        }
        let isa = kiln_isa::native(flags.clone()).map_err(|e| Error::Other(format!("no native target: {e}")))?;
        let stub_isa = kiln_isa::native(flags).map_err(|e| Error::Other(format!("no native target: {e}")))?;
        let mut jit = JitModule::new(stub_isa);
        jit.add_symbol_lookup(Box::new(libcalls::lookup));
        Ok(Engine(Arc::new(EngineInner {
            isa,
            config,
            types: Mutex::new(TypeRegistry::default()),
            stubs: Mutex::new(Stubs { jit, trampolines: HashMap::new(), adapters: HashMap::new(), next: 0 }),
        })))
    }

    /// The target.
    pub fn isa(&self) -> &dyn TargetIsa {
        &*self.0.isa
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.0.config
    }

    /// The engine-wide id of `ty`.
    pub fn type_id(&self, ty: &FuncType) -> u32 {
        self.0.types.lock().unwrap_or_else(|e| e.into_inner()).intern(ty)
    }

    /// The type with id `id`.
    pub fn func_type(&self, id: u32) -> FuncType {
        let t = self.0.types.lock().unwrap_or_else(|e| e.into_inner());
        t.types.get(id as usize).cloned().unwrap_or_default()
    }

    /// Compile (once) and return the stub (adapter or trampoline) for type `id`.
    fn stub(&self, id: u32, adapter: bool) -> Result<usize, Error> {
        let mut s = self.0.stubs.lock().unwrap_or_else(|e| e.into_inner());
        let cache = if adapter { &s.adapters } else { &s.trampolines };
        if let Some(&a) = cache.get(&id) {
            return Ok(a);
        }
        let ty = self.func_type(id);
        let func = if adapter { build_adapter(&ty) } else { build_trampoline(&ty) }?;
        let name = format!("{}{}", if adapter { "adapter" } else { "trampoline" }, s.next);
        s.next += 1;
        let sig = func.signature.clone();
        let err = |e: kiln_module::ModuleError| match e {
            kiln_module::ModuleError::Compilation { err: CodegenError::Unsupported(m), .. } => {
                Error::Compile(WasmError {
                    kind: WasmErrorKind::Unsupported,
                    offset: None,
                    message: format!("stub for {ty}: {m}"),
                })
            }
            e => Error::Other(format!("compiling a stub: {e}")),
        };
        let fid = s.jit.declare_function(name.as_str(), Linkage::Local, &sig).map_err(err)?;
        s.jit.define_function(fid, func).map_err(err)?;
        s.jit.finalize_definitions().map_err(err)?;
        let addr = s.jit.get_finalized_function(fid).ok_or_else(|| Error::Other("stub without code".into()))? as usize;
        if adapter {
            s.adapters.insert(id, addr);
        } else {
            s.trampolines.insert(id, addr);
        }
        Ok(addr)
    }

    /// The trampoline calling functions of type `id` from the host.
    pub(crate) fn trampoline(&self, id: u32) -> Result<usize, Error> {
        self.stub(id, false)
    }

    /// The adapter calling host functions of type `id` from Wasm.
    pub(crate) fn adapter(&self, id: u32) -> Result<usize, Error> {
        self.stub(id, true)
    }
}

/// Bytes per value slot of trampolines and adapters.
const SLOT: i32 = 16;

/// `tramp(funcref, values)`: call the funcref with the arguments in `values`, store the
/// results there.
fn build_trampoline(ty: &FuncType) -> Result<Function, Error> {
    let ptr = types::I64;
    let mut sig = Signature::new(CallConv::SystemV);
    sig.params.push(AbiParam::new(ptr));
    sig.params.push(AbiParam::new(ptr));
    let mut func = Function::with_name_signature(UserFuncName::testcase("trampoline"), sig);
    let mut ctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut ctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let (fr, vals) = (b.block_params(entry)[0], b.block_params(entry)[1]);
    let f = MemFlags::trusted();
    let code = b.ins().load(ptr, f, fr, vmctx::FUNCREF_CODE);
    let callee_vmctx = b.ins().load(ptr, f, fr, vmctx::FUNCREF_VMCTX);
    let mut args = vec![callee_vmctx];
    for (i, t) in ty.params.iter().enumerate() {
        args.push(b.ins().load(t.ir_type(ptr), f, vals, i as i32 * SLOT));
    }
    let s = b.import_signature(wasm_signature(ty, ptr));
    let call = b.ins().call_indirect(s, code, &args);
    let results: Vec<_> = b.inst_results(call).to_vec();
    for (i, r) in results.into_iter().enumerate() {
        b.ins().store(f, r, vals, i as i32 * SLOT);
    }
    b.ins().return_(&[]);
    b.finalize().map_err(|e| Error::Other(format!("trampoline: {e}")))?;
    Ok(func)
}

/// `adapter(data, params…)` with the Wasm signature: spill the arguments to slots, call the
/// host entry, trap on error, return the results.
fn build_adapter(ty: &FuncType) -> Result<Function, Error> {
    let ptr = types::I64;
    let sig = wasm_signature(ty, ptr);
    let mut func = Function::with_name_signature(UserFuncName::testcase("adapter"), sig);
    let mut ctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut ctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let params = b.block_params(entry).to_vec();
    let n = ty.params.len().max(ty.results.len()).max(1) as u32;
    let ss = b.create_sized_stack_slot(StackSlotData::new(n * SLOT as u32, 4));
    let vals = b.ins().stack_addr(ptr, ss, 0);
    let f = MemFlags::trusted();
    for (i, &p) in params[1..].iter().enumerate() {
        b.ins().store(f, p, vals, i as i32 * SLOT);
    }
    let mut hsig = Signature::new(CallConv::SystemV);
    hsig.params.extend(Builtin::HostCall.params().iter().map(|&t| AbiParam::new(t)));
    hsig.returns.extend(Builtin::HostCall.result().map(AbiParam::new));
    let hsig = b.import_signature(hsig);
    let name = b.func.declare_user_name(UserExternalName { namespace: 1, index: Builtin::HostCall as u32 });
    let host = b.import_function(ExtFuncData {
        name: ExternalName::User(name),
        signature: hsig,
        colocated: false,
        patchable: false,
    });
    let call = b.ins().call(host, &[params[0], vals]);
    let status = b.inst_results(call)[0];
    b.ins().trapnz(status, trap::HOST);
    let mut rets = Vec::new();
    for (i, t) in ty.results.iter().enumerate() {
        rets.push(b.ins().load(t.ir_type(ptr), f, vals, i as i32 * SLOT));
    }
    b.ins().return_(&rets);
    b.finalize().map_err(|e| Error::Other(format!("adapter: {e}")))?;
    Ok(func)
}

pub(crate) struct ModuleInner {
    pub(crate) engine: Engine,
    pub(crate) info: ModuleInfo,
    pub(crate) offsets: VMOffsets,
    /// Engine type id of each type index.
    pub(crate) type_ids: Vec<u32>,
    /// Code address of each defined function.
    pub(crate) func_addrs: Vec<usize>,
    /// Machine-code bytes of each defined function.
    pub(crate) func_sizes: Vec<usize>,
    /// Each defined function's IR after optimization, if the engine keeps it.
    pub(crate) clif: Vec<String>,
    _jit: JitModule,
}

// SAFETY: after construction the JIT module is never mutated (only its code is executed
// and its memory unmapped on drop); everything else is plain data.
unsafe impl Send for ModuleInner {}
unsafe impl Sync for ModuleInner {}

/// A compiled module, ready to instantiate. Cheap to clone (shared).
#[derive(Clone)]
pub struct Module(pub(crate) Arc<ModuleInner>);

/// What one worker produces for one function.
struct Compiled {
    code: CompiledCode,
    clif: String,
}

fn codegen_error(info: &ModuleInfo, index: u32, e: CodegenError) -> WasmError {
    let kind = match e {
        CodegenError::Unsupported(_) => WasmErrorKind::Unsupported,
        _ => WasmErrorKind::Internal,
    };
    WasmError { kind, offset: None, message: format!("function {} ({}): {e}", index, info.func_name(index)) }
}

impl Module {
    /// Compile binary Wasm `bytes` for `engine`.
    pub fn new(engine: &Engine, bytes: &[u8]) -> Result<Module, Error> {
        let (info, bodies) = parse_module_with(bytes, engine.0.config.features)?;
        let type_ids: Vec<u32> = info.types.iter().map(|t| engine.type_id(t)).collect();
        let offsets = VMOffsets::new(&info).ok_or_else(|| WasmError::limit(0, "the instance layout exceeds 2 GiB"))?;
        let config = &engine.0.config;
        let isa = &*engine.0.isa;
        let keep = config.keep_clif;
        let results = kiln_codegen::parallel::parallel_map(
            bodies,
            config.threads,
            || (FuncTranslator::new(), Context::new(), RuntimeEnv::new(&info, &offsets, &type_ids, config.env)),
            |(tr, ctx, env), input: FunctionBodyInput| -> WasmResult<Compiled> {
                let index = input.index;
                ctx.clear();
                tr.translate(env, input, &mut ctx.func)?;
                ctx.compile(isa).map_err(|e| codegen_error(&info, index, e))?;
                let clif = if keep { ctx.func.to_string() } else { String::new() };
                let code = ctx.take_compiled_code().ok_or_else(|| WasmError::internal("no code"))?;
                Ok(Compiled { code, clif })
            },
        );
        let mut jit = JitModule::new(kiln_isa::native(isa.flags().clone()).map_err(|e| Error::Other(e.to_string()))?);
        jit.add_symbol_lookup(Box::new(libcalls::lookup));
        let mut ids = Vec::with_capacity(results.len());
        let mut clif = Vec::new();
        let err = |e: kiln_module::ModuleError| Error::Other(format!("linking: {e}"));
        let features = engine.0.config.features & crate::module::features();
        for (k, r) in results.into_iter().enumerate() {
            let c = r.map_err(|e| crate::module::classify_error(bytes, features, e))?;
            let index = info.num_imported_funcs + k as u32;
            let sig = wasm_signature(info.func_type(index), types::I64);
            let name = kiln_codegen::machinst::buffer::RelocTarget::User { namespace: 0, index };
            let id = jit.declare_function(name, Linkage::Local, &sig).map_err(err)?;
            jit.define_compiled(id, c.code).map_err(err)?;
            ids.push(id);
            if keep {
                clif.push(c.clif);
            }
        }
        jit.finalize_definitions().map_err(err)?;
        let func_addrs = ids.iter().map(|&id| jit.get_finalized_function(id).map_or(0, |p| p as usize)).collect();
        let func_sizes = ids.iter().map(|&id| jit.function_size(id).unwrap_or(0)).collect();
        Ok(Module(Arc::new(ModuleInner {
            engine: engine.clone(),
            info,
            offsets,
            type_ids,
            func_addrs,
            func_sizes,
            clif,
            _jit: jit,
        })))
    }

    /// The engine it was compiled for.
    pub fn engine(&self) -> &Engine {
        &self.0.engine
    }

    /// The module's description.
    pub fn info(&self) -> &ModuleInfo {
        &self.0.info
    }

    /// Machine-code bytes of the defined functions.
    pub fn code_size(&self) -> usize {
        self.0.func_sizes.iter().sum()
    }

    /// The optimized IR of each defined function (empty unless `Config::keep_clif`).
    pub fn clif(&self) -> &[String] {
        &self.0.clif
    }
}

/// A helper for embedders that only want to check a module's translation: validate and
/// translate every body with the runtime's environment, without compiling.
pub fn translate_module(bytes: &[u8], config: EnvConfig) -> WasmResult<Vec<Function>> {
    let (info, bodies) = parse_module(bytes)?;
    let mut reg = TypeRegistry::default();
    let type_ids: Vec<u32> = info.types.iter().map(|t| reg.intern(t)).collect();
    let offsets = VMOffsets::new(&info).ok_or_else(|| WasmError::limit(0, "the instance layout exceeds 2 GiB"))?;
    let mut env = RuntimeEnv::new(&info, &offsets, &type_ids, config);
    let mut tr = FuncTranslator::new();
    let mut out = Vec::with_capacity(bodies.len());
    for input in bodies {
        let mut f = Function::new();
        tr.translate(&mut env, input, &mut f)?;
        out.push(f);
    }
    Ok(out)
}

//! Running compiled code: every function of a file is compiled into one JIT module (so
//! they can call each other by name), and each is called through a trampoline that Kiln
//! itself compiles from CLIF: `trampoline(callee, buf)` loads the arguments from 16-byte
//! slots of `buf`, calls `callee` with the callee's own signature and stores the results
//! back into the slots.
//!
//! Code for the host's architecture is linked by a `JitModule` and called in this process;
//! traps are caught (`kiln_module::trap::call_guarded`) and reported, never fatal. Code for
//! another architecture is linked into an image for a runner process under qemu
//! ([`crate::cross_run`]), which reports traps the same way, catches exceptions thrown with
//! `__cranelift_throw` in `try_call` handlers, and kills a call that takes longer than the
//! time limit ([`JitRunner::set_timeout`], by default [`crate::isolate::DEFAULT_TIMEOUT`]).

use crate::cross_run::{CrossCode, CrossError, CrossProgram, CrossTarget, cross_target, harness};
use kiln_codegen::TargetIsa;
use kiln_codegen::machinst::buffer::RelocTarget;
use kiln_ir::settings::{Arch, TargetSpec};
use kiln_ir::signature::{CallConv, Signature};
use kiln_ir::text::parse_functions;
use kiln_ir::types::{self, Type};
use kiln_ir::{DataValue, Function};
use kiln_module::Module;
use kiln_module::jit::{FuncId, JitModule, Linkage, reloc_name};
use kiln_module::trap::{Trap, call_guarded};
use std::collections::HashMap;
use std::fmt::Write;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// The code trapped.
    Trap(Trap),
    /// The function uses something the target does not support (no code was generated).
    Unsupported(String),
    /// The function failed to compile for another reason.
    Compile(String),
    /// The call could not be made (bad arguments, unsupported signature).
    Other(String),
    /// The worker process running the call died (how, in words).
    Crashed(String),
    /// The call did not finish within the time limit (the worker was killed).
    Timeout(std::time::Duration),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            RunError::Trap(t) => write!(f, "{t}"),
            RunError::Unsupported(s) => write!(f, "{s}"),
            RunError::Compile(s) => write!(f, "compile error: {s}"),
            RunError::Other(s) => f.write_str(s),
            RunError::Crashed(s) => f.write_str(s),
            RunError::Timeout(d) => write!(f, "timed out after {} s (the worker was killed)", d.as_secs_f64()),
        }
    }
}

/// The compiled functions of a file, ready to call. Functions that failed to compile are
/// recorded with their error; calling them returns it.
pub struct JitRunner {
    exec: Exec,
    sigs: Vec<Signature>,
    unavailable: Vec<Option<RunError>>,
    /// The trampoline of each signature (an index of `Exec`'s trampolines), or why there
    /// is none.
    trampolines: HashMap<Signature, Result<usize, RunError>>,
    /// Under qemu: the piece of the program of each function of the file.
    cross_index: Vec<usize>,
}

/// Where the code runs.
enum Exec {
    /// In this process: the module, the functions and the trampolines.
    Native { module: JitModule, funcs: Vec<FuncId>, tramps: Vec<FuncId> },
    /// Under qemu: the program holds the file's functions first, then the trampolines.
    Cross { program: CrossProgram, nfuncs: usize },
}

/// Bytes per argument/result slot of the trampoline buffer.
const SLOT: usize = 16;

/// The name of the hidden trampoline for signature number `n`.
fn trampoline_name(n: usize) -> String {
    format!("__kiln_trampoline_{n}")
}

/// Can a value of type `ty` pass through a trampoline slot?
fn slot_type_ok(ty: Type) -> bool {
    ty.is_scalar() || (ty.is_vector() && ty.bytes() <= 16)
}

/// CLIF text of a trampoline calling functions of signature `sig`.
fn trampoline_clif(name: &str, sig: &Signature) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "function %{name}(i64, i64) system_v {{");
    let _ = writeln!(s, "    sig0 = {sig}");
    let _ = writeln!(s, "block0(v0: i64, v1: i64):");
    let mut args = Vec::new();
    let mut n = 2;
    for (i, p) in sig.params.iter().enumerate() {
        let _ = writeln!(s, "    v{n} = load.{} notrap aligned v1+{}", p.value_type, i * SLOT);
        args.push(format!("v{n}"));
        n += 1;
    }
    let results: Vec<String> = (0..sig.returns.len()).map(|k| format!("v{}", n + k)).collect();
    let lhs = if results.is_empty() { String::new() } else { format!("{} = ", results.join(", ")) };
    let _ = writeln!(s, "    {lhs}call_indirect sig0, v0({})", args.join(", "));
    for (i, r) in results.iter().enumerate() {
        let _ = writeln!(s, "    store notrap aligned {r}, v1+{}", i * SLOT);
    }
    let _ = writeln!(s, "    return");
    let _ = writeln!(s, "}}");
    s
}

/// Are the external functions `functions` call defined in the file (or runtime routines,
/// or the throw helper)? REFERENCE §4.9 makes any other one an error.
fn check_external_functions(functions: &[Function]) -> Result<(), String> {
    let defined: HashMap<RelocTarget, usize> =
        functions.iter().enumerate().map(|(i, f)| (reloc_name(&f.name), i)).collect();
    for f in functions {
        for (fr, ext) in f.dfg.ext_funcs.iter() {
            let t = match &ext.name {
                kiln_ir::extname::ExternalName::User(r) => match f.user_named_funcs.get(*r) {
                    Some(u) => RelocTarget::User { namespace: u.namespace, index: u.index },
                    None => continue,
                },
                kiln_ir::extname::ExternalName::TestCase(s) => RelocTarget::TestCase(s.clone()),
                _ => continue,
            };
            match defined.get(&t) {
                // Called with the signature it is declared with, which must be the one
                // it is defined with: otherwise the call passes garbage (the
                // interpreter rejects such calls too).
                Some(&i) => {
                    let declared = f.dfg.signatures.get(ext.signature);
                    let def = &functions[i];
                    if declared != Some(&def.signature) {
                        let shown = declared.map_or_else(|| "an invalid signature".to_string(), |s| s.to_string());
                        return Err(format!(
                            "{} declares {fr} = {} with signature {shown}, but {} is defined with signature {}",
                            f.name, def.name, def.name, def.signature
                        ));
                    }
                }
                None if t != RelocTarget::TestCase(THROW.into()) => {
                    return Err(format!("undeclared function {}", kiln_module::jit::reloc_target_name(&t)));
                }
                None => {}
            }
        }
    }
    Ok(())
}

/// The harness routine that throws exceptions for `try_call` tests (REFERENCE §4.9).
const THROW: &str = "__cranelift_throw";

/// A compile error as the runner reports it.
fn compile_error(e: kiln_codegen::CodegenError) -> RunError {
    match e {
        kiln_codegen::CodegenError::Unsupported(m) => RunError::Unsupported(format!("unsupported: {m}")),
        e => RunError::Compile(e.to_string()),
    }
}

/// The distinct signatures of `functions` that trampolines can call, each with the CLIF
/// of its trampoline.
fn trampolines_for(functions: &[Function]) -> Result<Vec<(Signature, Function)>, String> {
    let mut out: Vec<(Signature, Function)> = Vec::new();
    for f in functions {
        let sig = &f.signature;
        if out.iter().any(|(s, _)| s == sig)
            || !sig.params.iter().chain(&sig.returns).all(|p| slot_type_ok(p.value_type))
        {
            continue;
        }
        let text = trampoline_clif(&trampoline_name(out.len()), sig);
        let mut funcs = parse_functions(&text).map_err(|e| format!("trampoline: {e}\n{text}"))?;
        out.push((sig.clone(), funcs.pop().ok_or("trampoline: no function")?));
    }
    Ok(out)
}

impl JitRunner {
    /// Compile `functions` for `isa` and link them: in this process for the host's
    /// architecture, under qemu for another one ([`can_run`] says whether that works here).
    pub fn new(functions: &[Function], isa: Box<dyn TargetIsa>) -> Result<JitRunner, String> {
        check_external_functions(functions)?;
        let arch = Arch::of(isa.triple());
        if arch.is_some() && arch != Arch::of(&kiln_isa::host_triple()) {
            let t = arch.and_then(cross_target).ok_or_else(|| format!("cannot run {arch:?} code on this host"))?;
            return Self::new_cross(functions, isa, t);
        }
        let mut module = JitModule::new(isa);
        module
            .add_symbol_lookup(Box::new(|name| (name == THROW).then_some(kiln_module::exceptions::throw as *const u8)));
        let mut ids = Vec::with_capacity(functions.len());
        for f in functions {
            let id = module
                .declare_function(reloc_name(&f.name), Linkage::Export, &f.signature)
                .map_err(|e| e.to_string())?;
            ids.push(id);
        }
        let mut unavailable = vec![None; functions.len()];
        for (i, (f, id)) in functions.iter().zip(&ids).enumerate() {
            match module.define_function(*id, f.clone()) {
                Ok(()) => {}
                Err(kiln_module::ModuleError::Compilation { err, .. }) => unavailable[i] = Some(compile_error(err)),
                Err(e) => unavailable[i] = Some(RunError::Compile(e.to_string())),
            }
        }
        // One trampoline per distinct signature.
        let mut trampolines = HashMap::new();
        let mut tramps = Vec::new();
        for (n, (sig, tf)) in trampolines_for(functions)?.into_iter().enumerate() {
            let id = module
                .declare_function(RelocTarget::TestCase(trampoline_name(n)), Linkage::Local, &tf.signature)
                .map_err(|e| e.to_string())?;
            let t = match module.define_function(id, tf) {
                Ok(()) => {
                    tramps.push(id);
                    Ok(tramps.len() - 1)
                }
                Err(kiln_module::ModuleError::Compilation {
                    err: kiln_codegen::CodegenError::Unsupported(m), ..
                }) => Err(RunError::Unsupported(format!("unsupported: {m} (in the trampoline for {sig})"))),
                Err(e) => return Err(format!("trampoline for {sig}: {e}")),
            };
            trampolines.insert(sig, t);
        }
        if let Err(e) = module.finalize_definitions() {
            // A function calling one that could not be compiled cannot be linked.
            let reason = unavailable.iter().flatten().next().cloned();
            return Err(match reason {
                Some(r) => format!("{e} ({r})"),
                None => e.to_string(),
            });
        }
        let sigs = functions.iter().map(|f| f.signature.clone()).collect();
        Ok(JitRunner {
            exec: Exec::Native { module, funcs: ids, tramps },
            sigs,
            unavailable,
            trampolines,
            cross_index: Vec::new(),
        })
    }

    /// [`new`](Self::new) for a foreign architecture run under qemu by `t`.
    fn new_cross(
        functions: &[Function],
        isa: Box<dyn TargetIsa>,
        t: &'static CrossTarget,
    ) -> Result<JitRunner, String> {
        let mut ctx = kiln_codegen::Context::new();
        let mut compile = |f: &Function| -> Result<kiln_codegen::CompiledCode, RunError> {
            ctx.clear();
            ctx.func = f.clone();
            ctx.compile(&*isa).map_err(compile_error)?;
            ctx.take_compiled_code().ok_or_else(|| RunError::Compile("no code".into()))
        };
        let mut codes = Vec::with_capacity(functions.len());
        let mut unavailable = vec![None; functions.len()];
        for (i, f) in functions.iter().enumerate() {
            // A function that did not compile is an empty piece of code that is never
            // called (callers of it fail to link, as in a `JitModule`).
            let code = match compile(f) {
                Ok(c) => c,
                Err(e) => {
                    unavailable[i] = Some(e);
                    continue;
                }
            };
            codes.push((i, CrossCode { name: reloc_name(&f.name), code }));
        }
        // A function calling one that is not in the image cannot be linked: it is as
        // unavailable as its callee (to a fixed point).
        let mut changed = true;
        while changed {
            changed = false;
            let missing: std::collections::HashMap<RelocTarget, RunError> = functions
                .iter()
                .zip(&unavailable)
                .filter_map(|(f, u)| u.clone().map(|u| (reloc_name(&f.name), u)))
                .collect();
            codes.retain(|(i, c)| {
                let Some(why) = c.code.buffer.relocs.iter().find_map(|r| missing.get(&r.target)) else { return true };
                unavailable[*i] = Some(why.clone());
                changed = true;
                false
            });
        }
        let mut trampolines = HashMap::new();
        let mut tramp_codes = Vec::new();
        for (sig, tf) in trampolines_for(functions)? {
            let t = match compile(&tf) {
                Ok(code) => {
                    tramp_codes.push(CrossCode { name: reloc_name(&tf.name), code });
                    Ok(tramp_codes.len() - 1)
                }
                Err(RunError::Unsupported(m)) => {
                    Err(RunError::Unsupported(format!("{m} (in the trampoline for {sig})")))
                }
                Err(e) => return Err(format!("trampoline for {sig}: {e}")),
            };
            trampolines.insert(sig, t);
        }
        // The program holds the compiled functions in file order, then the trampolines;
        // `index` maps a function of the file to its piece.
        let mut index = vec![usize::MAX; functions.len()];
        let mut all = Vec::with_capacity(codes.len() + tramp_codes.len());
        for (i, c) in codes {
            index[i] = all.len();
            all.push(c);
        }
        let nfuncs = all.len();
        all.extend(tramp_codes);
        let mut program = CrossProgram::link(t, &all).map_err(|e| match unavailable.iter().flatten().next() {
            Some(r) => format!("{e} ({r})"),
            None => e,
        })?;
        program.set_timeout(Some(crate::isolate::DEFAULT_TIMEOUT));
        let sigs = functions.iter().map(|f| f.signature.clone()).collect();
        Ok(JitRunner { exec: Exec::Cross { program, nfuncs }, sigs, unavailable, trampolines, cross_index: index })
    }

    /// Limit the time a call may take (`None`: no limit). Enforced for code running under
    /// qemu, which is killed when the limit passes; native calls are limited by running them
    /// in a worker process ([`crate::isolate`]).
    pub fn set_timeout(&mut self, timeout: Option<std::time::Duration>) {
        if let Exec::Cross { program, .. } = &mut self.exec {
            program.set_timeout(timeout);
        }
    }

    /// Why the first function that could not be compiled is unavailable, if any did not
    /// compile (the runner still calls the others).
    pub fn first_unavailable(&self) -> Option<&RunError> {
        self.unavailable.iter().flatten().next()
    }

    /// Does the code run in this process (the host's architecture), not under qemu?
    pub fn is_native(&self) -> bool {
        matches!(self.exec, Exec::Native { .. })
    }

    /// Call function `index` of the file with `args`: in this process for the host's
    /// architecture, in the qemu runner process for another one.
    pub fn call(&mut self, index: usize, args: &[DataValue]) -> Result<Vec<DataValue>, RunError> {
        let mut call = self.prepare_call(index, args)?;
        match &mut self.exec {
            Exec::Native { .. } => {
                // SAFETY: the trampoline was compiled for exactly this callee signature and
                // reads and writes only the slots of `call.buf`.
                unsafe { call_guarded(call.trampoline, call.callee, call.buf.as_mut_ptr() as usize) }
                    .map_err(RunError::Trap)?;
            }
            Exec::Cross { program, nfuncs } => {
                let (tramp, callee) = call.cross.ok_or_else(|| RunError::Other("not a cross call".into()))?;
                program
                    .call(*nfuncs + tramp, callee, &mut call.buf)
                    .map_err(|e| match e {
                        CrossError::Failed(s) => RunError::Other(s),
                        CrossError::Timeout(d) => RunError::Timeout(d),
                    })?
                    .map_err(RunError::Trap)?;
            }
        }
        self.finish_call(&call)
    }

    /// Everything a call of function `index` with `args` needs, checked: the addresses of
    /// the trampoline and the callee (natively; under qemu, their pieces of the program),
    /// and the argument buffer. A native call can then be made here or in another process
    /// holding the same code (see [`crate::isolate`]).
    pub fn prepare_call(&self, index: usize, args: &[DataValue]) -> Result<PreparedCall, RunError> {
        if let Some(Some(e)) = self.unavailable.get(index) {
            return Err(e.clone());
        }
        let sig = self.sigs.get(index).ok_or_else(|| RunError::Other("no such function".into()))?;
        let tramp = self
            .trampolines
            .get(sig)
            .ok_or_else(|| RunError::Other(format!("signature {sig} cannot be called from a test")))?
            .clone()?;
        if args.len() != sig.params.len() {
            return Err(RunError::Other(format!("expected {} arguments, got {}", sig.params.len(), args.len())));
        }
        let n = sig.params.len().max(sig.returns.len()).max(1);
        let mut buf = vec![0u8; n * SLOT];
        for (i, (a, p)) in args.iter().zip(&sig.params).enumerate() {
            if a.ty() != p.value_type {
                return Err(RunError::Other(format!("argument {i} has type {}, expected {}", a.ty(), p.value_type)));
            }
            let b = a.to_le_bytes();
            buf[i * SLOT..i * SLOT + b.len()].copy_from_slice(&b);
        }
        let returns = sig.returns.iter().map(|r| r.value_type).collect();
        Ok(match &self.exec {
            Exec::Native { module, funcs, tramps } => {
                let not_finalized = || RunError::Other("not finalized".into());
                let f = module.get_finalized_function(funcs[index]).ok_or_else(not_finalized)?;
                let t = module.get_finalized_function(tramps[tramp]).ok_or_else(not_finalized)?;
                PreparedCall { trampoline: t, callee: f as usize, buf, returns, cross: None }
            }
            Exec::Cross { .. } => PreparedCall {
                trampoline: std::ptr::null(),
                callee: 0,
                buf,
                returns,
                cross: Some((tramp, self.cross_index[index])),
            },
        })
    }

    /// The results of a call made with `call` (its buffer holds them).
    pub fn finish_call(&self, call: &PreparedCall) -> Result<Vec<DataValue>, RunError> {
        let mut out = Vec::with_capacity(call.returns.len());
        for (i, &ty) in call.returns.iter().enumerate() {
            let bytes = call
                .buf
                .get(i * SLOT..i * SLOT + ty.bytes() as usize)
                .ok_or_else(|| RunError::Other("result buffer too short".into()))?;
            out.push(
                DataValue::from_le_bytes(ty, bytes).ok_or_else(|| RunError::Other(format!("bad result type {ty}")))?,
            );
        }
        Ok(out)
    }
}

/// A checked call, ready to be made: `trampoline(callee, buf)`.
#[derive(Clone, Debug)]
pub struct PreparedCall {
    /// The trampoline's address (null under qemu).
    pub trampoline: *const u8,
    /// The callee's address (the trampoline's first argument; 0 under qemu).
    pub callee: usize,
    /// Argument slots in, result slots out (16 bytes each).
    pub buf: Vec<u8>,
    /// The result types.
    pub returns: Vec<Type>,
    /// Under qemu: the trampoline (an index of the trampolines) and the callee's piece of
    /// the program.
    pub cross: Option<(usize, usize)>,
}

/// Can this machine run code compiled for `spec`? In this process for the host's
/// architecture (if the CPU has the flags it asks for), under qemu for an architecture of
/// [`crate::cross_run::CROSS_TARGETS`] (qemu's `max` CPU has every feature). `Err` gives
/// the reason it cannot, starting with "cannot run" or "host lacks".
pub fn can_run(spec: &TargetSpec) -> Result<(), String> {
    let host = kiln_isa::host_triple();
    let host_arch = Arch::of(&host).ok_or_else(|| format!("host {host} has no backend"))?;
    if !kiln_isa::has_backend(spec.arch()) {
        return Err(format!("cannot run {:?} code: no backend for it in this build", spec.arch()));
    }
    if spec.arch() != host_arch {
        let t = cross_target(spec.arch())
            .ok_or_else(|| format!("cannot run {:?} code on this {:?} host", spec.arch(), host_arch))?;
        return harness(t).map(|_| ());
    }
    let host_flags = kiln_isa::host_isa_flags().ok_or("unknown host ISA")?;
    let missing: Vec<&str> = spec.isa_flags.enabled().filter(|f| !host_flags.has(f)).collect();
    if !missing.is_empty() {
        return Err(format!("host lacks {}", missing.join(", ")));
    }
    Ok(())
}

/// Is `ty` a type the host passes in trampolines (used to pre-filter run lines)?
pub fn callable_type(ty: Type) -> bool {
    slot_type_ok(ty) && ty != types::INVALID
}

/// The calling convention `test run` files use for signatures without one: the host's.
pub fn host_call_conv() -> CallConv {
    kiln_ir::text::testfile::host_default_call_conv()
}

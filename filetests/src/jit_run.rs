//! Running compiled code: every function of a file is compiled into one JIT module (so
//! they can call each other by name), and each is called through a trampoline that Kiln
//! itself compiles from CLIF: `trampoline(callee, buf)` loads the arguments from 16-byte
//! slots of `buf`, calls `callee` with the callee's own signature and stores the results
//! back into the slots.
//!
//! Traps are caught (`kiln_module::trap::call_guarded`) and reported, never fatal.

use kiln_codegen::TargetIsa;
use kiln_codegen::machinst::buffer::RelocTarget;
use kiln_ir::signature::{CallConv, Signature};
use kiln_ir::text::parse_functions;
use kiln_ir::types::{self, Type};
use kiln_ir::{DataValue, Function};
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
    module: JitModule,
    funcs: Vec<(FuncId, Signature)>,
    unavailable: Vec<Option<RunError>>,
    /// The trampoline of each signature, or why there is none.
    trampolines: HashMap<Signature, Result<FuncId, RunError>>,
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

impl JitRunner {
    /// Compile `functions` for `isa` (the host's architecture) and link them.
    pub fn new(functions: &[Function], isa: Box<dyn TargetIsa>) -> Result<JitRunner, String> {
        let mut module = JitModule::new(isa);
        // The harness routine that throws exceptions for `try_call` tests (REFERENCE §4.9).
        module.add_symbol_lookup(Box::new(|name| {
            (name == "__cranelift_throw").then_some(kiln_module::exceptions::throw as *const u8)
        }));
        let mut ids = Vec::with_capacity(functions.len());
        for f in functions {
            let id = module
                .declare_function(reloc_name(&f.name), Linkage::Export, &f.signature)
                .map_err(|e| e.to_string())?;
            ids.push((id, f.signature.clone()));
        }
        // External functions that are neither in the file nor runtime-library routines
        // are an error (REFERENCE §4.9), except the throw helper.
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
                    None if t != RelocTarget::TestCase("__cranelift_throw".into()) => {
                        return Err(format!("undeclared function {}", kiln_module::jit::reloc_target_name(&t)));
                    }
                    None => {}
                }
            }
        }
        let mut unavailable = vec![None; functions.len()];
        for (i, (f, (id, _))) in functions.iter().zip(&ids).enumerate() {
            match module.define_function(*id, f.clone()) {
                Ok(()) => {}
                Err(kiln_module::ModuleError::Compilation {
                    err: kiln_codegen::CodegenError::Unsupported(m), ..
                }) => {
                    unavailable[i] = Some(RunError::Unsupported(format!("unsupported: {m}")));
                }
                Err(e) => unavailable[i] = Some(RunError::Compile(e.to_string())),
            }
        }
        let mut runner = JitRunner { module, funcs: ids, unavailable, trampolines: HashMap::new() };
        // One trampoline per distinct signature.
        let sigs: Vec<Signature> = runner.funcs.iter().map(|(_, s)| s.clone()).collect();
        for sig in sigs {
            if runner.trampolines.contains_key(&sig) {
                continue;
            }
            if !sig.params.iter().chain(&sig.returns).all(|p| slot_type_ok(p.value_type)) {
                continue;
            }
            let name = trampoline_name(runner.trampolines.len());
            let text = trampoline_clif(&name, &sig);
            let mut funcs = parse_functions(&text).map_err(|e| format!("trampoline: {e}\n{text}"))?;
            let tf = funcs.pop().ok_or("trampoline: no function")?;
            let id = runner
                .module
                .declare_function(RelocTarget::TestCase(name), Linkage::Local, &tf.signature)
                .map_err(|e| e.to_string())?;
            let t = match runner.module.define_function(id, tf) {
                Ok(()) => Ok(id),
                Err(kiln_module::ModuleError::Compilation {
                    err: kiln_codegen::CodegenError::Unsupported(m), ..
                }) => Err(RunError::Unsupported(format!("unsupported: {m} (in the trampoline for {sig})"))),
                Err(e) => return Err(format!("trampoline for {sig}: {e}")),
            };
            runner.trampolines.insert(sig, t);
        }
        if let Err(e) = runner.module.finalize_definitions() {
            // A function calling one that could not be compiled cannot be linked.
            let reason = runner.unavailable.iter().flatten().next().cloned();
            return Err(match reason {
                Some(r) => format!("{e} ({r})"),
                None => e.to_string(),
            });
        }
        Ok(runner)
    }

    /// Why the first function that could not be compiled is unavailable, if any did not
    /// compile (the runner still calls the others).
    pub fn first_unavailable(&self) -> Option<&RunError> {
        self.unavailable.iter().flatten().next()
    }

    /// Call function `index` of the file with `args`, in this process.
    pub fn call(&mut self, index: usize, args: &[DataValue]) -> Result<Vec<DataValue>, RunError> {
        let mut call = self.prepare_call(index, args)?;
        // SAFETY: the trampoline was compiled for exactly this callee signature and reads
        // and writes only the slots of `call.buf`.
        unsafe { call_guarded(call.trampoline, call.callee, call.buf.as_mut_ptr() as usize) }.map_err(RunError::Trap)?;
        self.finish_call(&call)
    }

    /// Everything a call of function `index` with `args` needs, checked: the addresses of
    /// the trampoline and the callee, and the argument buffer. The call can then be made
    /// here or in another process holding the same code (see [`crate::isolate`]).
    pub fn prepare_call(&self, index: usize, args: &[DataValue]) -> Result<PreparedCall, RunError> {
        if let Some(Some(e)) = self.unavailable.get(index) {
            return Err(e.clone());
        }
        let (id, sig) = self.funcs.get(index).ok_or_else(|| RunError::Other("no such function".into()))?;
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
        let f = self.module.get_finalized_function(*id).ok_or_else(|| RunError::Other("not finalized".into()))?;
        let t = self.module.get_finalized_function(tramp).ok_or_else(|| RunError::Other("not finalized".into()))?;
        Ok(PreparedCall { trampoline: t, callee: f as usize, buf, returns: sig.returns.iter().map(|r| r.value_type).collect() })
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
    /// The trampoline's address.
    pub trampoline: *const u8,
    /// The callee's address (the trampoline's first argument).
    pub callee: usize,
    /// Argument slots in, result slots out (16 bytes each).
    pub buf: Vec<u8>,
    /// The result types.
    pub returns: Vec<Type>,
}

/// Is `ty` a type the host passes in trampolines (used to pre-filter run lines)?
pub fn callable_type(ty: Type) -> bool {
    slot_type_ok(ty) && ty != types::INVALID
}

/// The calling convention `test run` files use for signatures without one: the host's.
pub fn host_call_conv() -> CallConv {
    kiln_ir::text::testfile::host_default_call_conv()
}

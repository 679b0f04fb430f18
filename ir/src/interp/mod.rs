//! The reference interpreter: executes the functions of one CLIF file and thereby *defines*
//! what Kiln's IR means. Semantics are those of compiled code as stated in
//! `shared/clif/OPCODES.md` (not the deviations of Cranelift's interpreter listed in §17).
//!
//! Design and invariants:
//! - Every function is *prepared* once ([`Interpreter::new`]): callees are resolved by name
//!   (`%name` / `uN:M` equal to a function's name, runtime-library routines, the
//!   `%__cranelift_throw` helper) and the function is type-checked against the opcode table
//!   (controlling types, operand constraints, result types, branch arguments, entity
//!   references). A function that fails is never executed: calling it gives
//!   [`InterpError::Invalid`]. Execution therefore never indexes out of range; every
//!   remaining runtime inconsistency is reported as an error, never a panic.
//! - Execution uses an explicit frame stack (no host recursion): calls push a frame, returns
//!   pop it, tail calls replace it, so neither the host stack nor the frame count grows in a
//!   tail-call loop. Values live in a per-frame `Vec` indexed by [`Value`]; frames' vectors
//!   are recycled.
//! - Memory ([`memory`]) is a private address space of allocations: each frame is one
//!   allocation holding a frame record (caller's frame pointer and return address, as on
//!   real targets; the frame pointer points to it), then its stack slots in declaration
//!   order (declared size and alignment, packed, zero-initialized) and its dynamic stack
//!   slots. An access outside the frame (or any other live allocation) traps; the frame is
//!   freed when popped and its addresses stay invalid afterwards.
//! - `get_pinned_reg`/`set_pinned_reg` work with the `enable_pinned_reg` setting (the
//!   register starts at 0 in every call) and are "unsupported" without it; `stack_switch` and
//!   `symbol` global values are unsupported.
//! - Code addresses (`func_addr`, return addresses, exception handler addresses) point into
//!   a read-only code region: one 64-byte entry per function of the file, then the host
//!   caller, the runtime-library routines and the throw helper.
//! - Fuel counts executed instructions; the call depth is bounded; both end with an error.
//! - Dynamic vector types are executed with dynamic scale 1: `i32x4*gv` behaves as `i32x4`,
//!   `dyn_scale_target_const` global values evaluate to 1 and `extract_vector` only accepts
//!   chunk 0.
//! - Floats are kept as bits; every NaN produced by arithmetic is the positive canonical NaN.
//!
//! **The NaN rule.** CLIF does not fix the bits of a NaN that an arithmetic operation
//! (`fadd` … `sqrt`, `fma`, `fmin`/`fmax`, `ceil`/`floor`/`trunc`/`nearest`, `fpromote`/
//! `fdemote`, `fvpromote_low`/`fvdemote`, on scalars and on every lane of a vector)
//! produces: any NaN is a correct result, and hardware keeps input payloads or produces its
//! own default NaN. The interpreter always produces the positive canonical quiet NaN, which
//! is also exactly what compiled code produces under `enable_nan_canonicalization`. Operations
//! that only move or select bits (loads, stores, `fneg`, `fabs`, `fcopysign`, `bitcast`,
//! `select`, lanes, shuffles, bitwise operations) keep a NaN's bits exactly, in both. So a
//! comparison of the interpreter with compiled code must either treat every NaN result as
//! equal to every other NaN (lane by lane in vectors), or compile with
//! `enable_nan_canonicalization` when the program lets NaN bits become visible other than as
//! "a NaN" (a float `bitcast`, bitwise operations, `blendv`/`bitselect` or `vhigh_bits` on
//! float values, `fcopysign`, float stores read back as integers). The differential fuzzer
//! (`kiln-fuzz`) does both; it never compares NaN payloads of uncanonicalized code.

mod convert;
mod float;
mod int;
mod lanes;
mod memory;
mod ops;
mod simd;

use crate::data_value::DataValue;
use crate::entities::{Block, FuncRef, Inst, SigRef, Value};
use crate::entity::EntityRef;
use crate::extname::{ExternalName, LibCall, UserFuncName};
use crate::function::{Function, GlobalValueData};
use crate::immediates::FloatFormat;
use crate::instructions::{BlockArg, BlockCall, ExceptionItem, InstructionData as D};
use crate::memflags::{Endianness, MemFlags};
use crate::opcodes::{Constraint, InstructionFormat, Opcode};
use crate::settings;
use crate::signature::{ArgumentPurpose, Signature};
use crate::trapcode::TrapCode;
use crate::types::{self, Type};
use core::fmt;
use lanes::{build, expect_ty, lanes as lanes_of, mask, mk, norm, scalar};
use memory::{CODE_BASE, CODE_SLOT, Mark, Memory};
use smallvec::SmallVec;
use std::collections::HashMap;

/// Why an interpretation stopped without results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InterpError {
    /// The program trapped with this code.
    Trap(TrapCode),
    /// A `debugtrap` instruction was executed.
    DebugTrap,
    /// The fuel limit (instructions executed) was reached.
    FuelExhausted,
    /// The call depth limit was reached.
    CallDepth,
    /// The program has undefined behaviour (e.g. a faulting `notrap` access, a misaligned
    /// `aligned` access, an uncaught exception, a call through a non-function address).
    Undefined(String),
    /// The program uses a feature the interpreter does not support.
    Unsupported(String),
    /// The IR is malformed, a function is unknown, or arguments have the wrong types.
    Invalid(String),
}

impl fmt::Display for InterpError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            InterpError::Trap(c) => write!(f, "trap: {c}"),
            InterpError::DebugTrap => f.write_str("debug trap"),
            InterpError::FuelExhausted => f.write_str("fuel exhausted (instruction limit reached)"),
            InterpError::CallDepth => f.write_str("call depth limit reached"),
            InterpError::Undefined(m) => f.write_str(m),
            InterpError::Unsupported(m) => write!(f, "unsupported: {m}"),
            InterpError::Invalid(m) => write!(f, "invalid: {m}"),
        }
    }
}

impl std::error::Error for InterpError {}

pub(crate) type R<T> = Result<T, InterpError>;

/// Interpreter configuration.
#[derive(Clone)]
pub struct InterpConfig {
    /// Maximum number of instructions one call may execute (`None`: unlimited).
    pub fuel: Option<u64>,
    /// Shared settings (NaN canonicalization is always in effect).
    pub flags: settings::Flags,
    /// The pointer type (`I64` or `I32`): width of addresses produced by the interpreter.
    pub pointer_type: Type,
    /// Maximum number of simultaneously active frames.
    pub max_call_depth: usize,
}

impl Default for InterpConfig {
    fn default() -> Self {
        InterpConfig {
            fuel: Some(1_000_000_000),
            flags: settings::Flags::default(),
            pointer_type: types::I64,
            max_call_depth: 10_000,
        }
    }
}

/// What a `FuncRef` (or a code address) designates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Callee {
    /// A function of the file.
    Func(usize),
    /// A runtime-library routine.
    Lib(LibCall),
    /// `%__cranelift_throw`.
    Throw,
    /// Nothing callable (an undeclared name, or the host).
    Missing,
}

/// Per-function data computed once.
struct Prepared {
    callees: Vec<Callee>,
    error: Option<String>,
    vmctx: Option<Value>,
    /// Per instruction: (controlling type, type of the first result).
    types: Vec<(Type, Type)>,
}

/// One activation.
struct Frame {
    func: usize,
    /// The instruction being executed (for a frame that called: the call).
    pc: Inst,
    vals: Vec<Option<DataValue>>,
    mark: Mark,
    /// Frame record address (the frame pointer).
    fp: u64,
    /// The return address stored in the frame record.
    ret: u64,
    slots: SmallVec<[u64; 4]>,
    dyn_slots: SmallVec<[u64; 2]>,
}

/// A frame's addresses: frame record, stack slots, dynamic stack slots.
type FrameLayout = (u64, SmallVec<[u64; 4]>, SmallVec<[u64; 2]>);

/// Control flow after one instruction.
enum Flow {
    /// Continue with the next instruction of the block.
    Next,
    /// `pc` was set (a branch was taken).
    Jumped,
    /// Return the values in `Interpreter::xfer` from the current frame.
    Return,
    /// Call `callee` with the arguments in `Interpreter::xfer`; `tail` for `return_call*`.
    Call { callee: Callee, sig: SigRef, tail: bool },
}

/// The reference interpreter for the functions of one file.
pub struct Interpreter<'a> {
    funcs: &'a [Function],
    prep: Vec<Prepared>,
    names: HashMap<String, usize>,
    config: InterpConfig,
    ptr: Type,
    mem: Memory,
    frames: Vec<Frame>,
    pool: Vec<Vec<Option<DataValue>>>,
    fuel: u64,
    /// The pinned register (with `enable_pinned_reg`), zero at the start of every call.
    pinned: u64,
    /// Call arguments / return values in transfer (reused buffer).
    xfer: Vec<DataValue>,
}

/// Evaluate one *pure* instruction (no memory access, control flow, call or trap other than
/// `uadd_overflow_trap`) on operand values, exactly as the interpreter executes it: the
/// single definition of opcode semantics that constant folding must agree with.
///
/// `data` supplies the opcode and immediates (its value operands are ignored: the operands
/// are `args`, in order); `ctrl` is the controlling type (`INVALID` for monomorphic
/// opcodes) and `result_ty` the type of the first result. Constants (`vconst`, `f128const`)
/// and shuffle masks are read from `func`'s pools. Returns the results (none, one or two).
pub fn eval_pure(
    func: &Function,
    data: &D,
    ctrl: Type,
    result_ty: Type,
    args: &[&DataValue],
) -> Result<SmallVec<[DataValue; 2]>, InterpError> {
    let op = data.opcode();
    if !op.is_pure() && op != Opcode::UaddOverflowTrap && !op.side_effects_idempotent() {
        return invalid(format!("{op} is not a pure operation"));
    }
    if matches!(
        op,
        Opcode::FuncAddr
            | Opcode::StackAddr
            | Opcode::DynamicStackAddr
            | Opcode::SymbolValue
            | Opcode::TlsValue
            | Opcode::GetFramePointer
            | Opcode::GetStackPointer
            | Opcode::GetReturnAddress
            | Opcode::GetExceptionHandlerAddress
    ) {
        return invalid(format!("{op} depends on the execution context"));
    }
    // The operands must have the types the opcode takes (callers fold constants of
    // functions that may not have been verified).
    for (i, (a, c)) in args.iter().zip(op.info().args).enumerate() {
        let ty = a.ty();
        let ok = match c {
            Constraint::Ctrl | Constraint::Lane | Constraint::Truthy => Some(ty) == c.resolve(ctrl),
            _ => c.accepts(ty, ctrl),
        };
        if !ok {
            return invalid(format!("operand {i} of {op} has type {ty}"));
        }
    }
    let mut out = SmallVec::new();
    match ops::eval(func, data, ctrl, result_ty, args)? {
        ops::Out::None => {}
        ops::Out::One(v) => out.push(v),
        ops::Out::Two(a, b) => {
            out.push(a);
            out.push(b);
        }
    }
    Ok(out)
}

const THROW_NAME: &str = "__cranelift_throw";

fn invalid<T>(msg: impl Into<String>) -> R<T> {
    Err(InterpError::Invalid(msg.into()))
}

/// The lookup name of a function: testcase names without `%`, user names as `uN:M`.
fn func_key(name: &UserFuncName) -> String {
    match name {
        UserFuncName::Testcase(s) => s.clone(),
        UserFuncName::User(u) => u.to_string(),
    }
}

impl<'a> Interpreter<'a> {
    /// An interpreter for `functions` (all functions of a file, which may call each other).
    pub fn new(functions: &'a [Function], config: InterpConfig) -> Self {
        let ptr = if config.pointer_type == types::I32 { types::I32 } else { types::I64 };
        let mut names = HashMap::new();
        for (i, f) in functions.iter().enumerate() {
            names.entry(func_key(&f.name)).or_insert(i);
        }
        let prep = functions.iter().map(|f| prepare(f, &names, ptr)).collect();
        let code_slots = functions.len() as u64 + 2 + LibCall::ALL.len() as u64;
        Interpreter {
            funcs: functions,
            prep,
            names,
            config,
            ptr,
            mem: Memory::new(ptr.bits(), code_slots),
            frames: Vec::new(),
            pool: Vec::new(),
            fuel: 0,
            pinned: 0,
            xfer: Vec::new(),
        }
    }

    /// Call the function named `name` (`foo` or `%foo` for testcase names, `u0:1` for user
    /// names).
    pub fn call_by_name(&mut self, name: &str, args: &[DataValue]) -> Result<Vec<DataValue>, InterpError> {
        let key = name.strip_prefix('%').unwrap_or(name);
        match self.names.get(key) {
            Some(&i) => self.call(i, args),
            None => invalid(format!("unknown function {name}")),
        }
    }

    /// Call function `func_index` of the file with `args`.
    pub fn call(&mut self, func_index: usize, args: &[DataValue]) -> Result<Vec<DataValue>, InterpError> {
        self.fuel = 0;
        self.pinned = 0;
        let r = self.run(func_index, args);
        while let Some(f) = self.frames.pop() {
            self.mem.release(f.mark);
            self.pool.push(f.vals);
        }
        r
    }

    /// Instructions executed by the last call.
    pub fn fuel_used(&self) -> u64 {
        self.fuel
    }

    fn code_addr(&self, k: usize) -> u64 {
        CODE_BASE + k as u64 * CODE_SLOT
    }

    fn callee_code(&self, c: Callee) -> Option<u64> {
        let n = self.funcs.len();
        match c {
            Callee::Func(i) => Some(self.code_addr(i)),
            Callee::Lib(l) => LibCall::ALL.iter().position(|&x| x == l).map(|j| self.code_addr(n + 1 + j)),
            Callee::Throw => Some(self.code_addr(n + 1 + LibCall::ALL.len())),
            Callee::Missing => None,
        }
    }

    fn callee_at(&self, addr: u64) -> Callee {
        if addr < CODE_BASE || !(addr - CODE_BASE).is_multiple_of(CODE_SLOT) {
            return Callee::Missing;
        }
        let k = ((addr - CODE_BASE) / CODE_SLOT) as usize;
        let n = self.funcs.len();
        if k < n {
            Callee::Func(k)
        } else if k > n && k - n - 1 < LibCall::ALL.len() {
            Callee::Lib(LibCall::ALL[k - n - 1])
        } else if k == n + 1 + LibCall::ALL.len() {
            Callee::Throw
        } else {
            Callee::Missing
        }
    }

    fn run(&mut self, fi: usize, args: &[DataValue]) -> R<Vec<DataValue>> {
        if fi >= self.funcs.len() {
            return invalid(format!("no function with index {fi}"));
        }
        let host_ret = self.code_addr(self.funcs.len()) + 8;
        self.push_frame(fi, args, 0, host_ret)?;
        loop {
            let flow = {
                let top = self.frames.len() - 1;
                let fr = &self.frames[top];
                let (fidx, inst) = (fr.func, fr.pc);
                self.fuel += 1;
                if let Some(limit) = self.config.fuel
                    && self.fuel > limit
                {
                    return Err(InterpError::FuelExhausted);
                }
                self.step(fidx, inst)?
            };
            match flow {
                Flow::Next => {
                    let top = self.frames.len() - 1;
                    let fr = &mut self.frames[top];
                    let func = &self.funcs[fr.func];
                    match func.layout.next_inst(fr.pc) {
                        Some(n) => fr.pc = n,
                        None => return invalid(format!("{}: block ends without a terminator", func.name)),
                    }
                }
                Flow::Jumped => {}
                Flow::Return => {
                    let vals = core::mem::take(&mut self.xfer);
                    let r = self.do_return(&vals);
                    self.xfer = vals;
                    if let Some(out) = r? {
                        return Ok(out);
                    }
                }
                Flow::Call { callee, sig, tail } => {
                    let args = core::mem::take(&mut self.xfer);
                    let r = self.do_call(callee, &args, sig, tail);
                    self.xfer = args;
                    if let Some(out) = r? {
                        return Ok(out);
                    }
                }
            }
        }
    }

    /// Push a frame for function `fi`.
    fn push_frame(&mut self, fi: usize, args: &[DataValue], caller_fp: u64, ret: u64) -> R<()> {
        if self.frames.len() >= self.config.max_call_depth {
            return Err(InterpError::CallDepth);
        }
        let func = &self.funcs[fi];
        if let Some(e) = &self.prep[fi].error {
            return invalid(format!("function {}: {e}", func.name));
        }
        check_values(args, func.signature.params.iter().map(|p| p.value_type), "argument", &func.name)?;
        let Some(entry) = func.layout.entry_block() else {
            return invalid(format!("function {} has no body", func.name));
        };
        let Some(first) = func.layout.first_inst(entry) else {
            return invalid(format!("function {}: empty entry block", func.name));
        };
        let mark = self.mem.mark();
        let (fp, slots, dyn_slots) = match self.alloc_frame(func, caller_fp, ret) {
            Ok(x) => x,
            Err(e) => {
                self.mem.release(mark);
                return Err(e);
            }
        };
        let mut vals = self.pool.pop().unwrap_or_default();
        vals.clear();
        vals.resize(func.dfg.num_values(), None);
        let params = func.dfg.block_params(entry);
        if params.len() != args.len() {
            self.mem.release(mark);
            self.pool.push(vals);
            return invalid(format!("function {}: entry block parameters differ from the signature", func.name));
        }
        for (&p, a) in params.iter().zip(args) {
            if let Some(slot) = vals.get_mut(p.index()) {
                *slot = Some(a.clone());
            }
        }
        self.frames.push(Frame { func: fi, pc: first, vals, mark, fp, ret, slots, dyn_slots });
        Ok(())
    }

    /// Allocate a frame as one block, like a real stack frame: the frame record
    /// (caller's frame pointer, return address) at the bottom, then the stack slots in
    /// declaration order, then the dynamic stack slots, each at its declared alignment and
    /// packed without gaps (so an access past the end of one slot lands in the next, as in
    /// compiled code; an access outside the whole frame traps).
    fn alloc_frame(&mut self, func: &Function, caller_fp: u64, ret: u64) -> R<FrameLayout> {
        let pb = self.ptr.bytes() as u64;
        let mut size = 2 * pb;
        let mut align = pb.max(16);
        let mut offs: SmallVec<[u64; 4]> = SmallVec::new();
        for (_, s) in func.stack_slots.iter() {
            let a = s.alignment();
            if a > (1 << 20) {
                return Err(InterpError::Unsupported(format!("stack slot alignment {a}")));
            }
            align = align.max(a);
            size = size.div_ceil(a) * a;
            offs.push(size);
            size += s.size as u64;
        }
        let mut dyn_offs: SmallVec<[u64; 2]> = SmallVec::new();
        for (_, s) in func.dynamic_stack_slots.iter() {
            let ty = func.dynamic_types.get(s.dyn_ty).map_or(types::INVALID, |d| d.base_vector_ty);
            let bytes = ty.bytes().max(1) as u64;
            size = size.div_ceil(16) * 16;
            dyn_offs.push(size);
            size += bytes;
        }
        let base = self.mem.alloc(size, align)?;
        let rec = self.mem.write(base, 2 * pb, MemFlags::new())?;
        memory::encode(caller_fp as u128, &mut rec[..pb as usize], Endianness::Little);
        memory::encode(ret as u128, &mut rec[pb as usize..], Endianness::Little);
        Ok((base, offs.iter().map(|o| base + o).collect(), dyn_offs.iter().map(|o| base + o).collect()))
    }

    fn pop_frame(&mut self) -> Option<Frame> {
        let f = self.frames.pop()?;
        self.mem.release(f.mark);
        Some(f)
    }

    fn recycle(&mut self, f: Frame) {
        self.pool.push(f.vals);
    }

    /// Return `vals` from the top frame. `Some` when the outermost frame returned.
    fn do_return(&mut self, vals: &[DataValue]) -> R<Option<Vec<DataValue>>> {
        let Some(f) = self.pop_frame() else {
            return invalid("return without a frame");
        };
        let func = &self.funcs[f.func];
        let r = check_values(vals, func.signature.returns.iter().map(|p| p.value_type), "return value", &func.name);
        self.recycle(f);
        r?;
        if self.frames.is_empty() {
            return Ok(Some(vals.to_vec()));
        }
        self.deliver(vals)?;
        Ok(None)
    }

    /// Deliver call results to the top frame, whose `pc` is the call instruction.
    fn deliver(&mut self, vals: &[DataValue]) -> R<()> {
        let top = self.frames.len() - 1;
        let fr = &self.frames[top];
        let func = &self.funcs[fr.func];
        let inst = fr.pc;
        match func.dfg.insts.get(inst) {
            Some(D::TryCall { exception, .. }) | Some(D::TryCallIndirect { exception, .. }) => {
                let Some(table) = func.dfg.exception_tables.get(*exception) else {
                    return invalid("invalid exception table");
                };
                let bc = table.normal_return();
                self.branch(bc, vals, &[])
            }
            _ => {
                let results = func.dfg.inst_results(inst);
                if results.len() != vals.len() {
                    return invalid(format!("call returned {} values, {} expected", vals.len(), results.len()));
                }
                let fr = &mut self.frames[top];
                for (&r, v) in results.iter().zip(vals) {
                    expect_ty(v, func.dfg.value_type(r))?;
                    if let Some(s) = fr.vals.get_mut(r.index()) {
                        *s = Some(v.clone());
                    }
                }
                match func.layout.next_inst(inst) {
                    Some(n) => fr.pc = n,
                    None => return invalid("call at the end of a block"),
                }
                Ok(())
            }
        }
    }

    fn do_call(&mut self, callee: Callee, args: &[DataValue], sig: SigRef, tail: bool) -> R<Option<Vec<DataValue>>> {
        let top = self.frames.len() - 1;
        let caller = self.frames[top].func;
        match callee {
            Callee::Func(i) => {
                if tail {
                    let Some(old) = self.pop_frame() else { return invalid("tail call without a frame") };
                    let (fp, ret) = self.caller_link(&old);
                    self.recycle(old);
                    self.push_frame(i, args, fp, ret)
                } else {
                    let fp = self.frames[top].fp;
                    let ret = self.code_addr(caller) + 8;
                    self.push_frame(i, args, fp, ret)
                }?;
                Ok(None)
            }
            Callee::Lib(l) => {
                let func = &self.funcs[caller];
                let Some(signature) = func.dfg.signatures.get(sig) else {
                    return invalid("invalid call signature");
                };
                let out = libcall(&mut self.mem, l, args, signature)?;
                if tail { self.do_return(&out) } else { self.deliver(&out).map(|_| None) }
            }
            Callee::Throw => {
                if tail {
                    let Some(old) = self.pop_frame() else { return invalid("tail call without a frame") };
                    self.recycle(old);
                }
                self.throw(args)?;
                Ok(None)
            }
            Callee::Missing => {
                Err(InterpError::Undefined("undefined behaviour: call of a non-function address".into()))
            }
        }
    }

    /// The frame pointer and return address a tail-called frame inherits from `old`.
    fn caller_link(&self, old: &Frame) -> (u64, u64) {
        let fp = self.frames.last().map_or(0, |f| f.fp);
        (fp, old.ret)
    }

    /// `__cranelift_throw(entry_fp, exit_fp, exit_pc, tag, payload0, payload1)`: unwind to the
    /// innermost active `try_call` with a matching handler.
    fn throw(&mut self, args: &[DataValue]) -> R<()> {
        if args.len() != 6 {
            return invalid("__cranelift_throw takes 6 arguments");
        }
        let tag = scalar(&args[3])? as u32;
        let payloads = [args[4].clone(), args[5].clone()];
        while let Some(fr) = self.frames.last() {
            let func = &self.funcs[fr.func];
            if let Some(D::TryCall { exception, .. } | D::TryCallIndirect { exception, .. }) = func.dfg.insts.get(fr.pc)
                && let Some(table) = func.dfg.exception_tables.get(*exception)
            {
                let mut found = None;
                for (item, target) in table.items_with_targets() {
                    match item {
                        ExceptionItem::Tag(t) if t == tag => {
                            found = target;
                            break;
                        }
                        ExceptionItem::Default if found.is_none() => found = target,
                        _ => {}
                    }
                }
                if let Some(bc) = found {
                    return self.branch(bc, &[], &payloads);
                }
            }
            if let Some(f) = self.pop_frame() {
                self.recycle(f);
            }
        }
        Err(InterpError::Undefined(format!("undefined behaviour: uncaught exception with tag {tag}")))
    }

    /// Take the branch `bc` in the top frame; `rets`/`exns` fill `retK`/`exnK` arguments.
    fn branch(&mut self, bc: BlockCall, rets: &[DataValue], exns: &[DataValue]) -> R<()> {
        let top = self.frames.len() - 1;
        let func = &self.funcs[self.frames[top].func];
        let dfg = &func.dfg;
        let block = bc.block(&dfg.value_lists);
        let mut args: SmallVec<[DataValue; 4]> = SmallVec::new();
        {
            let vals = &self.frames[top].vals;
            for a in bc.args(&dfg.value_lists) {
                args.push(match a {
                    BlockArg::Value(v) => get(vals, dfg, v)?.clone(),
                    BlockArg::TryCallRet(k) => match rets.get(k as usize) {
                        Some(v) => v.clone(),
                        None => return invalid(format!("ret{k} is not available")),
                    },
                    BlockArg::TryCallExn(k) => match exns.get(k as usize) {
                        Some(v) => v.clone(),
                        None => return invalid(format!("exn{k} is not available")),
                    },
                });
            }
        }
        self.enter_block(block, args)
    }

    fn enter_block(&mut self, block: Block, args: SmallVec<[DataValue; 4]>) -> R<()> {
        let top = self.frames.len() - 1;
        let func = &self.funcs[self.frames[top].func];
        let dfg = &func.dfg;
        if !dfg.block_is_valid(block) {
            return invalid(format!("invalid block {block}"));
        }
        let Some(first) = func.layout.first_inst(block) else {
            return invalid(format!("branch to empty or missing block {block}"));
        };
        let params = dfg.block_params(block);
        if params.len() != args.len() {
            return invalid(format!("{block} takes {} arguments, {} given", params.len(), args.len()));
        }
        let fr = &mut self.frames[top];
        for (&p, a) in params.iter().zip(args) {
            let pty = norm(dfg.value_type(p));
            let a = if a.ty() == pty {
                a
            } else if a.ty().is_int() && a.ty().is_scalar() && pty.is_int() && pty.is_scalar() {
                // Exception payloads are pointer-sized; adapt to the handler's parameter type.
                mk(pty, scalar(&a)? & mask(pty.bits()))?
            } else {
                return invalid(format!("{block}: argument of type {} for a {pty} parameter", a.ty()));
            };
            match fr.vals.get_mut(p.index()) {
                Some(s) => *s = Some(a),
                None => return invalid(format!("invalid block parameter {p}")),
            }
        }
        fr.pc = first;
        Ok(())
    }

    /// Set result `i` of `inst` in the top frame.
    fn set_result(&mut self, func: &Function, inst: Inst, i: usize, v: DataValue) -> R<()> {
        let Some(&r) = func.dfg.inst_results(inst).get(i) else {
            return invalid(format!("{inst} has no result {i}"));
        };
        expect_ty(&v, func.dfg.value_type(r))?;
        let top = self.frames.len() - 1;
        match self.frames[top].vals.get_mut(r.index()) {
            Some(s) => {
                *s = Some(v);
                Ok(())
            }
            None => invalid(format!("invalid result value {r}")),
        }
    }

    /// Execute one instruction of the top frame.
    fn step(&mut self, fi: usize, inst: Inst) -> R<Flow> {
        use Opcode::*;
        let func: &'a Function = &self.funcs[fi];
        let dfg = &func.dfg;
        let Some(data) = dfg.insts.get(inst) else {
            return invalid(format!("invalid instruction {inst}"));
        };
        let op = data.opcode();
        let top = self.frames.len() - 1;
        match op {
            Jump => match *data {
                D::Jump { destination, .. } => {
                    self.branch(destination, &[], &[])?;
                    Ok(Flow::Jumped)
                }
                _ => invalid("bad jump"),
            },
            Brif => match *data {
                D::Brif { arg, blocks, .. } => {
                    let c = scalar(get(&self.frames[top].vals, dfg, arg)?)?;
                    self.branch(blocks[if c != 0 { 0 } else { 1 }], &[], &[])?;
                    Ok(Flow::Jumped)
                }
                _ => invalid("bad brif"),
            },
            BrTable => match *data {
                D::BranchTable { arg, table, .. } => {
                    let x = scalar(get(&self.frames[top].vals, dfg, arg)?)? as u32 as usize;
                    let Some(t) = dfg.jump_tables.get(table) else { return invalid("invalid jump table") };
                    let all = t.all_branches();
                    let Some(&default) = all.first() else { return invalid("empty jump table") };
                    let bc = t.as_slice().get(x).copied().unwrap_or(default);
                    self.branch(bc, &[], &[])?;
                    Ok(Flow::Jumped)
                }
                _ => invalid("bad br_table"),
            },
            Return => {
                let vals = &self.frames[top].vals;
                self.xfer.clear();
                for &v in dfg.inst_args(inst) {
                    self.xfer.push(get(vals, dfg, v)?.clone());
                }
                Ok(Flow::Return)
            }
            Trap => match *data {
                D::Trap { code, .. } => Err(InterpError::Trap(code)),
                _ => invalid("bad trap"),
            },
            Trapz | Trapnz => match *data {
                D::CondTrap { arg, code, .. } => {
                    let c = scalar(get(&self.frames[top].vals, dfg, arg)?)?;
                    if (c == 0) == (op == Trapz) { Err(InterpError::Trap(code)) } else { Ok(Flow::Next) }
                }
                _ => invalid("bad conditional trap"),
            },
            Debugtrap => Err(InterpError::DebugTrap),
            Call | ReturnCall | TryCall => {
                let (fr, sig) = match *data {
                    D::Call { func_ref, .. } | D::TryCall { func_ref, .. } => {
                        let sig = dfg.ext_funcs.get(func_ref).map(|e| e.signature);
                        (func_ref, sig)
                    }
                    _ => return invalid("bad call"),
                };
                let Some(sig) = sig else { return invalid(format!("invalid function reference {fr}")) };
                let callee = self.prep[fi].callees.get(fr.index()).copied().unwrap_or(Callee::Missing);
                if callee == Callee::Missing {
                    return invalid(format!("{}: call of an undeclared function {}", func.name, fr_name(func, fr)));
                }
                self.call_args(func, inst, 0)?;
                Ok(Flow::Call { callee, sig, tail: op == ReturnCall })
            }
            CallIndirect | ReturnCallIndirect | TryCallIndirect => {
                let sig = match *data {
                    D::CallIndirect { sig_ref, .. } => sig_ref,
                    D::TryCallIndirect { exception, .. } => match dfg.exception_tables.get(exception) {
                        Some(t) => t.sig,
                        None => return invalid("invalid exception table"),
                    },
                    _ => return invalid("bad call_indirect"),
                };
                let all = dfg.inst_args(inst);
                let Some(&cv) = all.first() else { return invalid("call_indirect without a callee") };
                let addr = scalar(get(&self.frames[top].vals, dfg, cv)?)? as u64;
                let callee = self.callee_at(addr);
                let Some(s) = dfg.signatures.get(sig) else { return invalid("invalid signature reference") };
                if let Callee::Func(i) = callee {
                    let target = &self.funcs[i].signature;
                    if !same_types(&target.params, &s.params) || !same_types(&target.returns, &s.returns) {
                        return Err(InterpError::Undefined(format!(
                            "undefined behaviour: call_indirect with signature {s} of {} with signature {target}",
                            self.funcs[i].name
                        )));
                    }
                }
                self.call_args(func, inst, 1)?;
                Ok(Flow::Call { callee, sig, tail: op == ReturnCallIndirect })
            }
            FuncAddr => match *data {
                D::FuncAddr { func_ref, .. } => {
                    let callee = self.prep[fi].callees.get(func_ref.index()).copied().unwrap_or(Callee::Missing);
                    let Some(a) = self.callee_code(callee) else {
                        return invalid(format!("func_addr of an undeclared function {}", fr_name(func, func_ref)));
                    };
                    self.set_ptr_result(func, inst, a)
                }
                _ => invalid("bad func_addr"),
            },
            StackAddr => match *data {
                D::StackAddr { stack_slot, offset, .. } => {
                    let Some(&base) = self.frames[top].slots.get(stack_slot.index()) else {
                        return invalid(format!("invalid stack slot {stack_slot}"));
                    };
                    self.set_ptr_result(func, inst, base.wrapping_add(offset.0 as i64 as u64))
                }
                _ => invalid("bad stack_addr"),
            },
            DynamicStackAddr => match *data {
                D::DynamicStackAddr { dynamic_stack_slot, .. } => {
                    let Some(&base) = self.frames[top].dyn_slots.get(dynamic_stack_slot.index()) else {
                        return invalid(format!("invalid dynamic stack slot {dynamic_stack_slot}"));
                    };
                    self.set_ptr_result(func, inst, base)
                }
                _ => invalid("bad dynamic_stack_addr"),
            },
            GetFramePointer | GetStackPointer => {
                let fp = self.frames[top].fp;
                self.set_ptr_result(func, inst, fp)
            }
            GetReturnAddress => {
                let ret = self.frames[top].ret;
                self.set_ptr_result(func, inst, ret)
            }
            GetExceptionHandlerAddress => match *data {
                D::ExceptionHandlerAddress { imm, .. } => {
                    let a = self.code_addr(fi) + 16 + (imm.0 as u64 % (CODE_SLOT - 16));
                    self.set_ptr_result(func, inst, a)
                }
                _ => invalid("bad get_exception_handler_address"),
            },
            SymbolValue | TlsValue => match *data {
                D::UnaryGlobalValue { global_value, .. } => {
                    let v = self.eval_gv(func, global_value, 0)?;
                    self.set_result(func, inst, 0, v)?;
                    Ok(Flow::Next)
                }
                _ => invalid("bad global value instruction"),
            },
            GetPinnedReg | SetPinnedReg => {
                if !settings::Flags::on(self.config.flags.enable_pinned_reg()) {
                    return Err(InterpError::Unsupported(format!("{op} without the enable_pinned_reg setting")));
                }
                if op == SetPinnedReg {
                    let Some(&v) = dfg.inst_args(inst).first() else {
                        return invalid("set_pinned_reg without operand");
                    };
                    self.pinned = scalar(get(&self.frames[top].vals, dfg, v)?)? as u64;
                    Ok(Flow::Next)
                } else {
                    let p = self.pinned;
                    self.set_ptr_result(func, inst, p)
                }
            }
            StackSwitch => Err(InterpError::Unsupported("stack_switch".into())),
            Load | Uload8 | Sload8 | Uload16 | Sload16 | Uload32 | Sload32 | Uload8x8 | Sload8x8 | Uload16x4
            | Sload16x4 | Uload32x2 | Sload32x2 | AtomicLoad => {
                let (p, off, flags) = match *data {
                    D::Load { arg, offset, flags, .. } => (arg, offset.0 as i64, flags),
                    D::LoadNoOffset { arg, flags, .. } => (arg, 0, flags),
                    _ => return invalid("bad load"),
                };
                let flags = memflags(func, flags)?;
                let addr = address(get(&self.frames[top].vals, dfg, p)?, off)?;
                let rty = norm(result_ty(func, inst)?);
                let v = load(&self.mem, op, rty, addr, flags)?;
                self.set_result(func, inst, 0, v)?;
                Ok(Flow::Next)
            }
            Store | Istore8 | Istore16 | Istore32 | AtomicStore => {
                let (args, off, flags) = match *data {
                    D::Store { args, offset, flags, .. } => (args, offset.0 as i64, flags),
                    D::StoreNoOffset { args, flags, .. } => (args, 0, flags),
                    _ => return invalid("bad store"),
                };
                let flags = memflags(func, flags)?;
                let vals = &self.frames[top].vals;
                let x = get(vals, dfg, args[0])?;
                let addr = address(get(vals, dfg, args[1])?, off)?;
                store(&mut self.mem, op, x, addr, flags)?;
                Ok(Flow::Next)
            }
            AtomicRmw => match *data {
                D::AtomicRmw { flags, op: rmw, args, .. } => {
                    let flags = memflags(func, flags)?;
                    let vals = &self.frames[top].vals;
                    let addr = address(get(vals, dfg, args[0])?, 0)?;
                    let x = get(vals, dfg, args[1])?;
                    let ty = x.ty();
                    if !ty.is_int() || !ty.is_scalar() {
                        return invalid(format!("atomic_rmw on {ty}"));
                    }
                    let e = flags.endianness(Endianness::Little);
                    let size = ty.bytes() as u64;
                    let old = memory::decode(self.mem.read(addr, size, flags)?, e);
                    let new = atomic_op(rmw, ty.bits(), old, scalar(x)?);
                    memory::encode(new, self.mem.write(addr, size, flags)?, e);
                    self.set_result(func, inst, 0, mk(ty, old)?)?;
                    Ok(Flow::Next)
                }
                _ => invalid("bad atomic_rmw"),
            },
            AtomicCas => match *data {
                D::AtomicCas { flags, args, .. } => {
                    let flags = memflags(func, flags)?;
                    let vals = &self.frames[top].vals;
                    let addr = address(get(vals, dfg, args[0])?, 0)?;
                    let (ex, x) = (get(vals, dfg, args[1])?, get(vals, dfg, args[2])?);
                    let ty = x.ty();
                    if !ty.is_int() || !ty.is_scalar() || ex.ty() != ty {
                        return invalid(format!("atomic_cas on {ty}"));
                    }
                    let (e, size) = (flags.endianness(Endianness::Little), ty.bytes() as u64);
                    let old = memory::decode(self.mem.read(addr, size, flags)?, e);
                    let (exv, xv) = (scalar(ex)?, scalar(x)?);
                    let w = self.mem.write(addr, size, flags)?;
                    if old == exv {
                        memory::encode(xv, w, e);
                    }
                    self.set_result(func, inst, 0, mk(ty, old)?)?;
                    Ok(Flow::Next)
                }
                _ => invalid("bad atomic_cas"),
            },
            _ => {
                // Pure operations.
                let out = {
                    let vals = &self.frames[top].vals;
                    let mut args: SmallVec<[&DataValue; 4]> = SmallVec::new();
                    for &v in dfg.inst_args(inst) {
                        args.push(get(vals, dfg, v)?);
                    }
                    let (ctrl, rty) =
                        self.prep[fi].types.get(inst.index()).copied().unwrap_or((types::INVALID, types::INVALID));
                    ops::eval(func, data, ctrl, rty, &args)?
                };
                match out {
                    ops::Out::None => {}
                    ops::Out::One(v) => self.set_result(func, inst, 0, v)?,
                    ops::Out::Two(a, b) => {
                        self.set_result(func, inst, 0, a)?;
                        self.set_result(func, inst, 1, b)?;
                    }
                }
                Ok(Flow::Next)
            }
        }
    }

    fn set_ptr_result(&mut self, func: &Function, inst: Inst, addr: u64) -> R<Flow> {
        let rty = result_ty(func, inst)?;
        if !rty.is_int() || !rty.is_scalar() {
            return invalid(format!("address result of type {rty}"));
        }
        self.set_result(func, inst, 0, mk(rty, addr as u128 & mask(rty.bits()))?)?;
        Ok(Flow::Next)
    }

    /// Collect the call arguments of `inst` (skipping `skip` leading operands) into `xfer`.
    fn call_args(&mut self, func: &Function, inst: Inst, skip: usize) -> R<()> {
        let vals = &self.frames[self.frames.len() - 1].vals;
        let all = func.dfg.inst_args(inst);
        self.xfer.clear();
        for &v in all.get(skip..).unwrap_or(&[]) {
            self.xfer.push(get(vals, &func.dfg, v)?.clone());
        }
        Ok(())
    }

    /// Evaluate a global value (REFERENCE §3.4.3).
    fn eval_gv(&self, func: &Function, gv: crate::entities::GlobalValue, depth: u32) -> R<DataValue> {
        if depth > 64 {
            return invalid("global value chain too deep (cycle?)");
        }
        let Some(d) = func.global_values.get(gv) else { return invalid(format!("undefined global value {gv}")) };
        match *d {
            GlobalValueData::VMContext => {
                let top = &self.frames[self.frames.len() - 1];
                let Some(v) = self.prep[top.func].vmctx else {
                    return invalid("vmctx global value without a vmctx parameter");
                };
                Ok(get(&top.vals, &func.dfg, v)?.clone())
            }
            GlobalValueData::Load { base, offset, global_type, flags } => {
                let b = self.eval_gv(func, base, depth + 1)?;
                let addr = address(&b, offset.0 as i64)?;
                load(&self.mem, Opcode::Load, norm(global_type), addr, flags)
            }
            GlobalValueData::IAddImm { base, offset, global_type } => {
                let b = scalar(&self.eval_gv(func, base, depth + 1)?)?;
                if !global_type.is_int() || !global_type.is_scalar() {
                    return invalid(format!("iadd_imm global value of type {global_type}"));
                }
                mk(global_type, b.wrapping_add(offset.0 as i128 as u128) & mask(global_type.bits()))
            }
            GlobalValueData::Symbol { ref name, .. } => {
                Err(InterpError::Unsupported(format!("symbol global value {}", ext_name(func, name))))
            }
            GlobalValueData::DynScaleTargetConst { .. } => mk(self.ptr, 1),
        }
    }
}

fn fr_name(func: &Function, fr: FuncRef) -> String {
    func.dfg.ext_funcs.get(fr).map_or_else(|| fr.to_string(), |e| ext_name(func, &e.name))
}

fn ext_name(func: &Function, name: &ExternalName) -> String {
    match name {
        ExternalName::User(r) => func.user_named_funcs.get(*r).map_or_else(|| r.to_string(), |u| u.to_string()),
        ExternalName::TestCase(s) => format!("%{s}"),
        ExternalName::LibCall(l) => l.to_string(),
        ExternalName::KnownSymbol(k) => k.to_string(),
    }
}

fn same_types(a: &[crate::signature::AbiParam], b: &[crate::signature::AbiParam]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.value_type == y.value_type)
}

fn check_values(
    vals: &[DataValue],
    tys: impl ExactSizeIterator<Item = Type>,
    what: &str,
    name: &UserFuncName,
) -> R<()> {
    if vals.len() != tys.len() {
        return invalid(format!("function {name}: {} {what}s given, {} expected", vals.len(), tys.len()));
    }
    for (i, (v, t)) in vals.iter().zip(tys).enumerate() {
        if v.ty() != norm(t) {
            return invalid(format!("function {name}: {what} {i} has type {}, {t} expected", v.ty()));
        }
    }
    Ok(())
}

#[inline]
fn get<'v>(vals: &'v [Option<DataValue>], dfg: &crate::dfg::DataFlowGraph, v: Value) -> R<&'v DataValue> {
    if let Some(Some(x)) = vals.get(v.index()) {
        return Ok(x);
    }
    let r = dfg.resolve_aliases(v);
    if r != v
        && let Some(Some(x)) = vals.get(r.index())
    {
        return Ok(x);
    }
    invalid(format!("use of undefined value {v}"))
}

fn result_ty(func: &Function, inst: Inst) -> R<Type> {
    match func.dfg.first_result(inst) {
        Some(r) => Ok(func.dfg.value_type(r)),
        None => invalid(format!("{inst} has no result")),
    }
}

fn memflags(func: &Function, id: crate::memflags::MemFlagsId) -> R<MemFlags> {
    if (id.0 as usize) < func.dfg.mem_flags.len() {
        Ok(func.dfg.mem_flags.get(id))
    } else {
        invalid("invalid memflags")
    }
}

/// Effective address `(u(p) + offset) mod 2^P`.
fn address(p: &DataValue, off: i64) -> R<u64> {
    let ty = p.ty();
    if !ty.is_int() || !ty.is_scalar() || ty.bits() > 64 {
        return invalid(format!("address of type {ty}"));
    }
    Ok((scalar(p)?.wrapping_add(off as i128 as u128) & mask(ty.bits())) as u64)
}

/// Perform a load of result type `rty`.
fn load(mem: &Memory, op: Opcode, rty: Type, addr: u64, flags: MemFlags) -> R<DataValue> {
    use Opcode::*;
    let e = flags.endianness(Endianness::Little);
    let ext = |bytes: u64, signed: bool| -> R<DataValue> {
        let v = memory::decode(mem.read(addr, bytes, flags)?, e);
        let v = if signed { lanes::sext(v, bytes as u32 * 8) as u128 } else { v };
        mk(rty, v & mask(rty.bits()))
    };
    match op {
        Uload8 | Sload8 => ext(1, op == Sload8),
        Uload16 | Sload16 => ext(2, op == Sload16),
        Uload32 | Sload32 => ext(4, op == Sload32),
        Uload8x8 | Sload8x8 | Uload16x4 | Sload16x4 | Uload32x2 | Sload32x2 => {
            let (eb, signed) = match op {
                Uload8x8 => (1, false),
                Sload8x8 => (1, true),
                Uload16x4 => (2, false),
                Sload16x4 => (2, true),
                Uload32x2 => (4, false),
                _ => (4, true),
            };
            let bytes = mem.read(addr, 8, flags)?;
            let ob = rty.lane_bits();
            if rty.lane_count() * eb != 8 || ob != eb * 16 {
                return invalid(format!("{op} with result type {rty}"));
            }
            build(rty, |i| {
                let eb = eb as usize;
                let v = memory::decode(&bytes[i * eb..(i + 1) * eb], e);
                Ok(if signed { lanes::sext(v, eb as u32 * 8) as u128 & mask(ob) } else { v })
            })
        }
        _ => {
            let size = rty.bytes() as u64;
            if size == 0 {
                return invalid(format!("load of type {rty}"));
            }
            let bytes = mem.read(addr, size, flags)?;
            if rty.is_scalar() {
                mk(rty, memory::decode(bytes, e))
            } else {
                let lb = (rty.lane_bits() / 8) as usize;
                build(rty, |i| Ok(memory::decode(&bytes[i * lb..(i + 1) * lb], e)))
            }
        }
    }
}

/// Perform a store of `x`.
fn store(mem: &mut Memory, op: Opcode, x: &DataValue, addr: u64, flags: MemFlags) -> R<()> {
    let e = flags.endianness(Endianness::Little);
    let lx = lanes_of(x)?;
    let size = match op {
        Opcode::Istore8 => 1,
        Opcode::Istore16 => 2,
        Opcode::Istore32 => 4,
        _ => lx.ty.bytes() as u64,
    };
    if size > lx.ty.bytes() as u64 || (size < lx.ty.bytes() as u64 && lx.n != 1) {
        return invalid(format!("{op} of a {} value", lx.ty));
    }
    let w = mem.write(addr, size, flags)?;
    if lx.n == 1 {
        memory::encode(lx.get(0), w, e);
    } else {
        let lb = (lx.bits / 8) as usize;
        for i in 0..lx.n {
            memory::encode(lx.get(i), &mut w[i * lb..(i + 1) * lb], e);
        }
    }
    Ok(())
}

fn atomic_op(op: crate::instructions::AtomicRmwOp, bits: u32, old: u128, x: u128) -> u128 {
    use crate::instructions::AtomicRmwOp::*;
    let m = mask(bits);
    let (so, sx) = (lanes::sext(old, bits), lanes::sext(x, bits));
    match op {
        Add => old.wrapping_add(x) & m,
        Sub => old.wrapping_sub(x) & m,
        And => old & x,
        Nand => !(old & x) & m,
        Or => old | x,
        Xor => old ^ x,
        Xchg => x,
        Umin => old.min(x),
        Umax => old.max(x),
        Smin => {
            if so <= sx {
                old
            } else {
                x
            }
        }
        Smax => {
            if so >= sx {
                old
            } else {
                x
            }
        }
    }
}

/// Runtime-library routines.
fn libcall(mem: &mut Memory, l: LibCall, args: &[DataValue], sig: &Signature) -> R<SmallVec<[DataValue; 4]>> {
    use LibCall::*;
    let arg = |i: usize| args.get(i).ok_or_else(|| InterpError::Invalid(format!("{l}: missing argument {i}")));
    let f32op = |r: float::Round| -> R<DataValue> {
        match arg(0)? {
            DataValue::F32(x) => {
                Ok(DataValue::F32(crate::immediates::Ieee32(
                    float::round_integral(FloatFormat::F32, x.0 as u128, r) as u32
                )))
            }
            _ => invalid(format!("{l} takes an f32")),
        }
    };
    let f64op = |r: float::Round| -> R<DataValue> {
        match arg(0)? {
            DataValue::F64(x) => {
                Ok(DataValue::F64(crate::immediates::Ieee64(
                    float::round_integral(FloatFormat::F64, x.0 as u128, r) as u64
                )))
            }
            _ => invalid(format!("{l} takes an f64")),
        }
    };
    let ptr_ret = |v: u128| -> R<SmallVec<[DataValue; 4]>> {
        let mut out = SmallVec::new();
        if let Some(p) = sig.returns.first() {
            out.push(mk(p.value_type, v & mask(p.value_type.bits()))?);
        }
        Ok(out)
    };
    let addr = |i: usize| -> R<u64> { address(arg(i)?, 0) };
    let flags = MemFlags::new();
    let one = |v: DataValue| -> R<SmallVec<[DataValue; 4]>> { Ok(SmallVec::from_elem(v, 1)) };
    match l {
        CeilF32 => one(f32op(float::Round::Up)?),
        FloorF32 => one(f32op(float::Round::Down)?),
        TruncF32 => one(f32op(float::Round::Zero)?),
        NearestF32 => one(f32op(float::Round::Nearest)?),
        CeilF64 => one(f64op(float::Round::Up)?),
        FloorF64 => one(f64op(float::Round::Down)?),
        TruncF64 => one(f64op(float::Round::Zero)?),
        NearestF64 => one(f64op(float::Round::Nearest)?),
        FmaF32 | FmaF64 => {
            let (a, b, c) = (arg(0)?, arg(1)?, arg(2)?);
            let want = if l == FmaF32 { types::F32 } else { types::F64 };
            if a.ty() != want || b.ty() != want || c.ty() != want {
                return invalid(format!("{l} takes three {want} values"));
            }
            let f = float::fmt_of(want.bits())?;
            one(mk(want, float::fma(f, scalar(a)?, scalar(b)?, scalar(c)?)?)?)
        }
        Memcpy | Memmove => {
            let (d, s, n) = (addr(0)?, addr(1)?, scalar(arg(2)?)? as u64);
            mem.copy(d, s, n, flags)?;
            ptr_ret(d as u128)
        }
        Memset => {
            let (d, c, n) = (addr(0)?, scalar(arg(1)?)? as u8, scalar(arg(2)?)? as u64);
            if n > 0 {
                mem.write(d, n, flags)?.fill(c);
            }
            ptr_ret(d as u128)
        }
        Memcmp => {
            let (a, b, n) = (addr(0)?, addr(1)?, scalar(arg(2)?)? as u64);
            let r = if n == 0 {
                0i32
            } else {
                let x = mem.read(a, n, flags)?.to_vec();
                let y = mem.read(b, n, flags)?;
                match x.as_slice().cmp(y) {
                    core::cmp::Ordering::Less => -1,
                    core::cmp::Ordering::Equal => 0,
                    core::cmp::Ordering::Greater => 1,
                }
            };
            ptr_ret(r as i128 as u128)
        }
        X86Pshufb => one(simd::swizzle(Opcode::X86Pshufb, arg(0)?, arg(1)?)?),
        Probestack | ElfTlsGetAddr | ElfTlsGetOffset => {
            Err(InterpError::Unsupported(format!("runtime-library routine {l}")))
        }
    }
}

/// Resolve callees and type-check `func`.
fn prepare(func: &Function, names: &HashMap<String, usize>, ptr: Type) -> Prepared {
    let callees = func
        .dfg
        .ext_funcs
        .values()
        .map(|e| match &e.name {
            ExternalName::TestCase(s) => match names.get(s.as_str()) {
                Some(&i) => Callee::Func(i),
                None if s == THROW_NAME => Callee::Throw,
                None => Callee::Missing,
            },
            ExternalName::User(r) => func
                .user_named_funcs
                .get(*r)
                .and_then(|u| names.get(&u.to_string()))
                .map_or(Callee::Missing, |&i| Callee::Func(i)),
            ExternalName::LibCall(l) => Callee::Lib(*l),
            ExternalName::KnownSymbol(_) => Callee::Missing,
        })
        .collect();
    let vmctx = func.special_param(ArgumentPurpose::VMContext);
    let error = check_function(func, ptr).err();
    let dfg = &func.dfg;
    let types = dfg
        .insts
        .keys()
        .map(|i| {
            let rty = dfg.first_result(i).map_or(types::INVALID, |r| dfg.value_type(r));
            (dfg.ctrl_typevar(i), rty)
        })
        .collect();
    Prepared { callees, error, vmctx, types }
}

/// Type-check every instruction in the layout against the opcode table.
fn check_function(func: &Function, _ptr: Type) -> Result<(), String> {
    let dfg = &func.dfg;
    if let Some(entry) = func.layout.entry_block() {
        if !dfg.block_is_valid(entry) {
            return Err(format!("invalid entry block {entry}"));
        }
        let params = dfg.block_params(entry);
        let sig = &func.signature.params;
        if params.len() != sig.len() || params.iter().zip(sig).any(|(&p, s)| dfg.value_type(p) != s.value_type) {
            return Err("entry block parameters differ from the signature".into());
        }
    }
    for block in func.layout.blocks() {
        if !dfg.block_is_valid(block) {
            return Err(format!("invalid block {block} in the layout"));
        }
        for inst in func.layout.block_insts(block) {
            check_inst(func, inst).map_err(|e| format!("{inst}: {e}"))?;
        }
    }
    Ok(())
}

fn check_inst(func: &Function, inst: Inst) -> Result<(), String> {
    let dfg = &func.dfg;
    let data = dfg.insts.get(inst).ok_or("invalid instruction")?;
    let op = data.opcode();
    if data.format() != op.format() {
        return Err(format!("{op} with instruction data of format {:?}", data.format()));
    }
    let info = op.info();
    if let Some(id) = data.memflags()
        && id.0 as usize >= dfg.mem_flags.len()
    {
        return Err("invalid memflags".into());
    }
    // Entity references used by the format.
    match *data {
        D::UnaryConst { constant, .. } if dfg.constants.get(constant).is_none() => {
            return Err(format!("undefined constant {constant}"));
        }
        D::Shuffle { mask, .. } if dfg.immediates.get(mask).is_none() => return Err("undefined mask".into()),
        D::UnaryGlobalValue { global_value, .. } if func.global_values.get(global_value).is_none() => {
            return Err(format!("undefined global value {global_value}"));
        }
        D::BranchTable { table, .. } if dfg.jump_tables.get(table).is_none_or(|t| t.all_branches().is_empty()) => {
            return Err("invalid jump table".into());
        }
        D::TryCall { exception, .. } | D::TryCallIndirect { exception, .. }
            if dfg.exception_tables.get(exception).is_none_or(|t| t.all_branches().is_empty()) =>
        {
            return Err("invalid exception table".into());
        }
        D::Call { func_ref, .. } | D::TryCall { func_ref, .. } | D::FuncAddr { func_ref, .. }
            if dfg.ext_funcs.get(func_ref).is_none_or(|e| dfg.signatures.get(e.signature).is_none()) =>
        {
            return Err(format!("invalid function reference {func_ref}"));
        }
        D::CallIndirect { sig_ref, .. } if dfg.signatures.get(sig_ref).is_none() => {
            return Err(format!("invalid signature {sig_ref}"));
        }
        D::StackAddr { stack_slot, .. } if func.stack_slots.get(stack_slot).is_none() => {
            return Err(format!("invalid stack slot {stack_slot}"));
        }
        D::DynamicStackAddr { dynamic_stack_slot, .. }
            if func.dynamic_stack_slots.get(dynamic_stack_slot).is_none() =>
        {
            return Err(format!("invalid dynamic stack slot {dynamic_stack_slot}"));
        }
        D::ExceptionHandlerAddress { block, .. } if !dfg.block_is_valid(block) => {
            return Err(format!("invalid block {block}"));
        }
        _ => {}
    }
    // Operands must be defined values.
    let args = dfg.inst_args(inst);
    for &v in args {
        if !dfg.value_is_valid(v) {
            return Err(format!("operand {v} is not a defined value"));
        }
    }
    // Controlling type and operand/result constraints.
    let ctrl = dfg.ctrl_typevar(inst);
    if op.is_polymorphic() && !info.ctrl.contains(ctrl) {
        return Err(format!("{ctrl} is not a valid controlling type for {op}"));
    }
    let fixed = if op.format().has_value_list() { info.args.len() } else { args.len() };
    if args.len() < fixed || (!op.format().has_value_list() && args.len() != info.args.len()) {
        return Err(format!("{op} has {} operands", args.len()));
    }
    for (i, (&v, c)) in args.iter().zip(info.args).enumerate() {
        let ty = dfg.value_type(v);
        let ok = match c {
            Constraint::Ctrl | Constraint::Lane | Constraint::Truthy => Some(ty) == c.resolve(ctrl),
            _ => c.accepts(ty, ctrl),
        };
        if !ok {
            return Err(format!("operand {i} of {op} has type {ty}"));
        }
    }
    if op.is_call() {
        let sig = match *data {
            D::Call { func_ref, .. } | D::TryCall { func_ref, .. } => dfg.ext_funcs.get(func_ref).map(|e| e.signature),
            D::CallIndirect { sig_ref, .. } => Some(sig_ref),
            D::TryCallIndirect { exception, .. } => dfg.exception_tables.get(exception).map(|t| t.sig),
            _ => None,
        };
        if let Some(sig) = sig {
            let s = dfg.signatures.get(sig).ok_or("invalid signature")?;
            let call_args = dfg.call_args(inst);
            if call_args.len() != s.params.len()
                || call_args.iter().zip(&s.params).any(|(&v, p)| dfg.value_type(v) != p.value_type)
            {
                return Err("call arguments differ from the signature".into());
            }
        }
    }
    let results = dfg.inst_results(inst);
    if op != Opcode::StackSwitch && !(op.is_call() && op.is_terminator()) {
        if let Ok(want) = dfg.result_types(inst, ctrl) {
            if want.len() != results.len() || results.iter().zip(&want).any(|(&r, &t)| dfg.value_type(r) != t) {
                return Err(format!("results of {op} do not match the opcode table"));
            }
        } else {
            return Err(format!("no result types for {op}.{ctrl}"));
        }
    }
    if op.format() == InstructionFormat::BranchTable
        || op.is_branch()
        || matches!(data, D::TryCall { .. } | D::TryCallIndirect { .. })
    {
        for bc in dfg.branch_destinations(inst) {
            let block = bc.block(&dfg.value_lists);
            if !dfg.block_is_valid(block) || !func.layout.is_block_inserted(block) {
                return Err(format!("branch to invalid block {block}"));
            }
            let params = dfg.block_params(block);
            if params.len() != bc.len(&dfg.value_lists) {
                return Err(format!("wrong number of arguments for {block}"));
            }
            for (a, &p) in bc.args(&dfg.value_lists).zip(params) {
                if let BlockArg::Value(v) = a
                    && (!dfg.value_is_valid(v) || dfg.value_type(v) != dfg.value_type(p))
                {
                    return Err(format!("argument {v} does not match parameter {p} of {block}"));
                }
            }
        }
    }
    Ok(())
}

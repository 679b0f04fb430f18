//! Translating one function body to IR: [`FuncTranslator`] reads the body's operators with
//! wasmparser, validates each one, and builds IR through the [`FunctionBuilder`].
//!
//! State while translating (reused from one function to the next):
//! - locals are [`Variable`]s (local `i` is variable `i`), so SSA form is built for them;
//! - the operand stack is a `Vec<Value>`: Wasm's structured control flow guarantees that
//!   every value on it dominates the code that uses it;
//! - the control stack holds one [`Frame`] per open `block`/`loop`/`if` (and the function
//!   body): the block where its results flow (`next`, with one parameter per result), the
//!   loop header, the operand-stack height at its entry;
//! - `reachable` is false after an unconditional branch, `return`, `unreachable` or a
//!   call that never returns: the operators up to the matching `else`/`end` are then
//!   validated but not translated (nested frames are only counted).
//!
//! Every instruction carries the byte offset of its operator in the module as its source
//! location. Numeric operators are in [`code`], memory addressing in [`heap`], SIMD in
//! [`simd`].

mod code;
mod heap;
mod simd;

use crate::environ::FuncEnvironment;
use crate::error::{WasmError, WasmResult};
use crate::module::FunctionBodyInput;
use crate::types::ValType;
use kiln_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use kiln_ir::extname::UserFuncName;
use kiln_ir::function::SourceLoc;
use kiln_ir::types::{self, Type};
use kiln_ir::{Block, Function, InstBuilder, Value};
use wasmparser::{FuncValidatorAllocations, Operator};

/// A `br_table` with more distinct targets than this branches through one edge block per
/// target.
const BR_TABLE_EDGE_BLOCKS_ABOVE: usize = 16;

/// The kind of a control frame.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum FrameKind {
    /// A `block` (or the function body).
    Block,
    /// A `loop` with its header block.
    Loop(Block),
    /// An `if`: the block of its else arm, whether `else` was seen, and where its
    /// parameters were saved (in `if_params`).
    If { else_block: Block, seen_else: bool, params_at: u32 },
}

/// An open control construct.
#[derive(Copy, Clone, Debug)]
struct Frame {
    kind: FrameKind,
    /// Where the results flow (block parameters = result types).
    next: Block,
    /// Number of parameters and results.
    params: u32,
    results: u32,
    /// Start of the parameter types (then the result types) in `block_types`.
    types_at: u32,
    /// The operand-stack height below the parameters.
    height: u32,
    /// Some branch (or fallthrough) reaches `next`.
    next_reached: bool,
}

/// Translates function bodies; reuse one per thread.
#[derive(Default)]
pub struct FuncTranslator {
    ctx: FunctionBuilderContext,
    stack: Vec<Value>,
    control: Vec<Frame>,
    /// Parameter and result IR types of open frames.
    block_types: Vec<Type>,
    /// Saved `if` parameters, for the else arm.
    if_params: Vec<Value>,
    /// Scratch for branch arguments.
    args: Vec<Value>,
    reachable: bool,
    /// Nesting depth of frames opened in unreachable code.
    unreachable_depth: u32,
    allocs: Option<FuncValidatorAllocations>,
}

/// The translator's state, borrowed by the per-operator code with the builder.
pub(crate) struct State<'t> {
    stack: &'t mut Vec<Value>,
    control: &'t mut Vec<Frame>,
    block_types: &'t mut Vec<Type>,
    if_params: &'t mut Vec<Value>,
    args: &'t mut Vec<Value>,
    reachable: &'t mut bool,
    ptr: Type,
}

impl State<'_> {
    fn pop(&mut self) -> Value {
        self.stack.pop().unwrap_or(Value::from_u32(u32::MAX))
    }
    fn pop2(&mut self) -> (Value, Value) {
        let b = self.pop();
        let a = self.pop();
        (a, b)
    }
    fn pop3(&mut self) -> (Value, Value, Value) {
        let c = self.pop();
        let b = self.pop();
        let a = self.pop();
        (a, b, c)
    }
    fn push(&mut self, v: Value) {
        self.stack.push(v);
    }
    fn peek_n(&self, n: usize) -> &[Value] {
        &self.stack[self.stack.len().saturating_sub(n)..]
    }
    /// The top `n` values, copied into the reusable argument vector (taken; give it back
    /// with [`State::give_args`]).
    fn take_args(&mut self, n: usize) -> Vec<Value> {
        let mut a = core::mem::take(self.args);
        a.clear();
        a.extend_from_slice(&self.stack[self.stack.len().saturating_sub(n)..]);
        a
    }
    fn give_args(&mut self, a: Vec<Value>) {
        *self.args = a;
    }
    fn popn(&mut self, n: usize) {
        let len = self.stack.len().saturating_sub(n);
        self.stack.truncate(len);
    }
}

impl FuncTranslator {
    /// A translator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validate and translate the body `input` into `func` (cleared first), using `env` for
    /// the embedder-specific parts. `func` gets the name `u0:INDEX` and the environment's
    /// signature for the function's type.
    pub fn translate<E: FuncEnvironment + ?Sized>(
        &mut self,
        env: &mut E,
        input: FunctionBodyInput<'_>,
        func: &mut Function,
    ) -> WasmResult<()> {
        let FunctionBodyInput { index, body, validator } = input;
        let mut validator = validator.into_validator(self.allocs.take().unwrap_or_default());
        let ty = env.module().func_type(index).clone();
        func.clear();
        func.name = UserFuncName::user(0, index);
        func.signature = env.signature(&ty);
        let ptr = env.pointer_type();
        let nspecial = func.signature.params.len() - ty.params.len();

        let mut b = FunctionBuilder::new(func, &mut self.ctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let body_offset = body.range().start;
        b.set_srcloc(SourceLoc(body_offset as u32));
        env.before_function(&mut b, index)?;

        // Locals: the parameters, then the declared locals (zero).
        for (i, &t) in ty.params.iter().enumerate() {
            let var = b.declare_var(t.ir_type(ptr));
            let v = b.block_params(entry)[nspecial + i];
            b.def_var(var, v);
        }
        let mut locals = body.get_locals_reader()?;
        for _ in 0..locals.get_count() {
            let offset = locals.original_position();
            let (count, wty) = locals.read()?;
            validator.define_locals(offset, count, wty)?;
            let t = ValType::from_wasm(wty, offset)?;
            let irt = t.ir_type(ptr);
            let zero = zero_value(&mut b, irt);
            for _ in 0..count {
                let var = b.declare_var(irt);
                b.def_var(var, zero);
            }
        }

        // The function body is a block whose `next` returns.
        self.stack.clear();
        self.control.clear();
        self.block_types.clear();
        self.if_params.clear();
        self.reachable = true;
        self.unreachable_depth = 0;
        let ret = b.create_block();
        self.block_types.extend(ty.results.iter().map(|t| t.ir_type(ptr)));
        for &t in ty.results.iter() {
            b.append_block_param(ret, t.ir_type(ptr));
        }
        self.control.push(Frame {
            kind: FrameKind::Block,
            next: ret,
            params: 0,
            results: ty.results.len() as u32,
            types_at: 0,
            height: 0,
            next_reached: false,
        });

        let multi_memory = validator.features().contains(wasmparser::WasmFeatures::MULTI_MEMORY);
        let mut reader = body.get_operators_reader()?;
        while !reader.eof() {
            let (op, offset) = reader.read_with_offset()?;
            validator.op(offset, &op)?;
            if !multi_memory
                && matches!(op, Operator::MemorySize { .. } | Operator::MemoryGrow { .. })
                && reader.original_position() - offset != 2
            {
                // Without multi-memory the memory index is a single zero byte.
                return Err(WasmError::invalid(offset + 1, "zero byte expected"));
            }
            b.set_srcloc(SourceLoc(offset as u32));
            let reachable = self.reachable;
            let mut st = State {
                stack: &mut self.stack,
                control: &mut self.control,
                block_types: &mut self.block_types,
                if_params: &mut self.if_params,
                args: &mut self.args,
                reachable: &mut self.reachable,
                ptr,
            };
            if reachable {
                translate_operator(&mut st, env, &mut b, &op, offset)?;
            } else {
                skip_unreachable(&mut st, &mut self.unreachable_depth, &mut b, &op);
            }
        }
        reader.finish()?;
        self.allocs = Some(validator.into_allocations());
        b.finalize().map_err(|e| WasmError::internal(format!("function {index}: the translated IR is malformed: {e}")))
    }
}

/// Handle an operator in unreachable code: only frame nesting matters, until the `else` or
/// `end` of the innermost real frame.
fn skip_unreachable(st: &mut State, depth: &mut u32, b: &mut FunctionBuilder, op: &Operator) {
    match op {
        Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => *depth += 1,
        Operator::Else if *depth == 0 => else_op(st, b),
        Operator::End if *depth == 0 => end_op(st, b),
        Operator::End => *depth -= 1,
        _ => {}
    }
}

/// A zero of IR type `ty`.
pub(crate) fn zero_value(b: &mut FunctionBuilder, ty: Type) -> Value {
    if ty == types::F32 {
        b.ins().f32const(0.0f32)
    } else if ty == types::F64 {
        b.ins().f64const(0.0f64)
    } else if ty.is_vector() {
        let c = b.func.dfg.insert_constant(kiln_ir::constant::ConstantData::new(vec![0; 16]));
        b.ins().vconst(ty, c)
    } else {
        b.ins().iconst(ty, 0)
    }
}

/// Open a frame with parameter types `params` and result types `results`.
fn push_frame(st: &mut State, b: &mut FunctionBuilder, kind: FrameKind, params: &[Type], results: &[Type]) -> Block {
    let next = b.create_block();
    for &t in results {
        b.append_block_param(next, t);
    }
    let types_at = st.block_types.len() as u32;
    st.block_types.extend_from_slice(params);
    st.block_types.extend_from_slice(results);
    let height = st.stack.len().saturating_sub(params.len()) as u32;
    st.control.push(Frame {
        kind,
        next,
        params: params.len() as u32,
        results: results.len() as u32,
        types_at,
        height,
        next_reached: false,
    });
    next
}

/// The parameter and result IR types of a block type.
fn block_sig<E: FuncEnvironment + ?Sized>(
    env: &E,
    bt: wasmparser::BlockType,
    ptr: Type,
    offset: usize,
    out_params: &mut smallvec::SmallVec<[Type; 4]>,
    out_results: &mut smallvec::SmallVec<[Type; 4]>,
) -> WasmResult<()> {
    match bt {
        wasmparser::BlockType::Empty => {}
        wasmparser::BlockType::Type(t) => out_results.push(ValType::from_wasm(t, offset)?.ir_type(ptr)),
        wasmparser::BlockType::FuncType(i) => {
            let ft = env
                .module()
                .types
                .get(i as usize)
                .ok_or_else(|| WasmError::invalid(offset, format!("unknown type {i}")))?;
            out_params.extend(ft.params.iter().map(|t| t.ir_type(ptr)));
            out_results.extend(ft.results.iter().map(|t| t.ir_type(ptr)));
        }
    }
    Ok(())
}

/// The branch target and argument count for a branch to relative depth `depth`; marks
/// the frame's `next` reached.
fn branch_target(st: &mut State, depth: u32) -> (Block, usize) {
    let i = st.control.len() - 1 - depth as usize;
    let f = &mut st.control[i];
    match f.kind {
        FrameKind::Loop(header) => (header, f.params as usize),
        _ => {
            f.next_reached = true;
            (f.next, f.results as usize)
        }
    }
}

fn else_op(st: &mut State, b: &mut FunctionBuilder) {
    let Some(f) = st.control.last_mut() else { return };
    let FrameKind::If { else_block, params_at, .. } = f.kind else { return };
    if *st.reachable {
        let n = f.results as usize;
        f.next_reached = true;
        let next = f.next;
        let args = &st.stack[st.stack.len() - n..];
        b.ins().jump(next, args);
    }
    f.kind = FrameKind::If { else_block, seen_else: true, params_at };
    let (height, params) = (f.height as usize, f.params as usize);
    st.stack.truncate(height);
    st.stack.extend_from_slice(&st.if_params[params_at as usize..params_at as usize + params]);
    b.switch_to_block(else_block);
    *st.reachable = true;
}

fn end_op(st: &mut State, b: &mut FunctionBuilder) {
    let Some(mut f) = st.control.pop() else { return };
    if *st.reachable {
        let n = f.results as usize;
        f.next_reached = true;
        let args = &st.stack[st.stack.len() - n..];
        b.ins().jump(f.next, args);
    }
    match f.kind {
        FrameKind::Loop(header) => b.seal_block(header),
        FrameKind::If { else_block, seen_else: false, params_at } => {
            // No else arm: the parameters flow to the results (same types).
            b.switch_to_block(else_block);
            let params = &st.if_params[params_at as usize..params_at as usize + f.params as usize];
            b.ins().jump(f.next, params);
            f.next_reached = true;
        }
        _ => {}
    }
    if let FrameKind::If { params_at, .. } = f.kind {
        st.if_params.truncate(params_at as usize);
    }
    st.block_types.truncate(f.types_at as usize);
    st.stack.truncate(f.height as usize);
    b.seal_block(f.next);
    if f.next_reached {
        b.switch_to_block(f.next);
        st.stack.extend_from_slice(b.block_params(f.next));
        *st.reachable = true;
        if st.control.is_empty() {
            // The end of the function body: return the results.
            let n = f.results as usize;
            let rets: smallvec::SmallVec<[Value; 4]> = st.stack[st.stack.len() - n..].iter().copied().collect();
            b.ins().return_(&rets);
            *st.reachable = false;
        }
    } else {
        *st.reachable = false;
    }
}

/// Translate one operator (in reachable code).
fn translate_operator<E: FuncEnvironment + ?Sized>(
    st: &mut State,
    env: &mut E,
    b: &mut FunctionBuilder,
    op: &Operator,
    offset: usize,
) -> WasmResult<()> {
    use Operator as O;
    let ptr = st.ptr;
    match *op {
        O::Nop => {}
        O::Unreachable => {
            b.ins().trap(crate::environ::trap::UNREACHABLE);
            *st.reachable = false;
        }
        O::Block { blockty } => {
            let (mut p, mut r) = (smallvec::SmallVec::new(), smallvec::SmallVec::new());
            block_sig(env, blockty, ptr, offset, &mut p, &mut r)?;
            push_frame(st, b, FrameKind::Block, &p, &r);
        }
        O::Loop { blockty } => {
            let (mut p, mut r) = (smallvec::SmallVec::new(), smallvec::SmallVec::new());
            block_sig(env, blockty, ptr, offset, &mut p, &mut r)?;
            let header = b.create_block();
            for &t in &p {
                b.append_block_param(header, t);
            }
            let n = p.len();
            b.ins().jump(header, st.peek_n(n));
            st.popn(n);
            b.switch_to_block(header);
            st.stack.extend_from_slice(b.block_params(header));
            push_frame(st, b, FrameKind::Loop(header), &p, &r);
        }
        O::If { blockty } => {
            let (mut p, mut r) = (smallvec::SmallVec::new(), smallvec::SmallVec::new());
            block_sig(env, blockty, ptr, offset, &mut p, &mut r)?;
            let cond = st.pop();
            let (then_block, else_block) = (b.create_block(), b.create_block());
            b.ins().brif(cond, then_block, &[], else_block, &[]);
            b.seal_block(then_block);
            b.seal_block(else_block);
            let params_at = st.if_params.len() as u32;
            let n = p.len();
            let saved: smallvec::SmallVec<[Value; 4]> = st.peek_n(n).iter().copied().collect();
            st.if_params.extend_from_slice(&saved);
            push_frame(st, b, FrameKind::If { else_block, seen_else: false, params_at }, &p, &r);
            b.switch_to_block(then_block);
        }
        O::Else => else_op(st, b),
        O::End => end_op(st, b),
        O::Br { relative_depth } => {
            let (target, n) = branch_target(st, relative_depth);
            b.ins().jump(target, st.peek_n(n));
            *st.reachable = false;
        }
        O::BrIf { relative_depth } => {
            let cond = st.pop();
            let (target, n) = branch_target(st, relative_depth);
            let fall = b.create_block();
            b.ins().brif(cond, target, st.peek_n(n), fall, &[]);
            b.seal_block(fall);
            b.switch_to_block(fall);
        }
        O::BrTable { ref targets } => {
            let index = st.pop();
            let (default, n) = branch_target(st, targets.default());
            let args = st.take_args(n);
            let mut depths = Vec::with_capacity(targets.len() as usize);
            for t in targets.targets() {
                depths.push(t?);
            }
            // With many distinct targets, every target gets its own edge block holding
            // `jump target(args)`: SSA construction then never scans the (large) jump table
            // when it adds a parameter to a target (which would be quadratic). The optimizer
            // threads these jumps away.
            let distinct = {
                let mut d = depths.clone();
                d.push(targets.default());
                d.sort_unstable();
                d.dedup();
                d.len()
            };
            let mut edge_blocks: Vec<(u32, Block)> = Vec::new();
            let mut call_for = |st: &mut State, b: &mut FunctionBuilder, depth: u32| {
                let (blk, _) = branch_target(st, depth);
                if distinct <= BR_TABLE_EDGE_BLOCKS_ABOVE {
                    return b.block_call(blk, &args);
                }
                let e = match edge_blocks.iter().find(|(d, _)| *d == depth) {
                    Some(&(_, e)) => e,
                    None => {
                        let e = b.create_block();
                        edge_blocks.push((depth, e));
                        e
                    }
                };
                b.block_call(e, &[])
            };
            let entries: Vec<_> = depths.iter().map(|&d| call_for(st, b, d)).collect();
            let def = call_for(st, b, targets.default());
            let _ = default;
            let jt = b.create_jump_table(kiln_ir::instructions::JumpTableData::new(def, &entries));
            b.ins().br_table(index, jt);
            for (depth, e) in edge_blocks {
                let (blk, _) = branch_target(st, depth);
                b.seal_block(e);
                b.switch_to_block(e);
                b.ins().jump(blk, &args);
            }
            st.give_args(args);
            *st.reachable = false;
        }
        O::Return => {
            let n = st.control[0].results as usize;
            b.ins().return_(st.peek_n(n));
            *st.reachable = false;
        }
        O::Call { function_index } => {
            let n = env.module().func_type(function_index).params.len();
            let args = st.take_args(n);
            let call = env.call(b, function_index, &args);
            st.give_args(args);
            let call = call?;
            st.popn(n);
            st.stack.extend_from_slice(b.inst_results(call));
        }
        O::CallIndirect { type_index, table_index } => {
            let index = st.pop();
            let n = env.module().types[type_index as usize].params.len();
            let args = st.take_args(n);
            let call = env.call_indirect(b, table_index, type_index, index, &args);
            st.give_args(args);
            let call = call?;
            st.popn(n);
            st.stack.extend_from_slice(b.inst_results(call));
        }
        O::ReturnCall { function_index } => {
            let n = env.module().func_type(function_index).params.len();
            let args = st.take_args(n);
            let r = env.return_call(b, function_index, &args);
            st.give_args(args);
            r?;
            *st.reachable = false;
        }
        O::ReturnCallIndirect { type_index, table_index } => {
            let index = st.pop();
            let n = env.module().types[type_index as usize].params.len();
            let args = st.take_args(n);
            let r = env.return_call_indirect(b, table_index, type_index, index, &args);
            st.give_args(args);
            r?;
            *st.reachable = false;
        }
        O::Drop => {
            st.pop();
        }
        O::Select | O::TypedSelect { .. } => {
            let (x, y, c) = st.pop3();
            let v = b.ins().select(c, x, y);
            st.push(v);
        }
        O::TypedSelectMulti { .. } => {
            return Err(WasmError::unsupported(offset, "select with several result types"));
        }
        O::LocalGet { local_index } => {
            let v = b.use_var(Variable::from_u32(local_index));
            st.push(v);
        }
        O::LocalSet { local_index } => {
            let v = st.pop();
            b.def_var(Variable::from_u32(local_index), v);
        }
        O::LocalTee { local_index } => {
            let v = *st.stack.last().unwrap_or(&Value::from_u32(u32::MAX));
            b.def_var(Variable::from_u32(local_index), v);
        }
        O::GlobalGet { global_index } => {
            let v = env.global_get(b, global_index)?;
            st.push(v);
        }
        O::GlobalSet { global_index } => {
            let v = st.pop();
            env.global_set(b, global_index, v)?;
        }
        O::MemorySize { mem } => {
            let v = env.memory_size(b, mem)?;
            st.push(v);
        }
        O::MemoryGrow { mem } => {
            let d = st.pop();
            let v = env.memory_grow(b, mem, d)?;
            st.push(v);
        }
        O::MemoryInit { data_index, mem } => {
            let (d, s, n) = st.pop3();
            env.memory_init(b, mem, data_index, d, s, n)?;
        }
        O::DataDrop { data_index } => env.data_drop(b, data_index)?,
        O::MemoryCopy { dst_mem, src_mem } => {
            let (d, s, n) = st.pop3();
            env.memory_copy(b, dst_mem, src_mem, d, s, n)?;
        }
        O::MemoryFill { mem } => {
            let (d, v, n) = st.pop3();
            env.memory_fill(b, mem, d, v, n)?;
        }
        O::TableInit { elem_index, table } => {
            let (d, s, n) = st.pop3();
            env.table_init(b, table, elem_index, d, s, n)?;
        }
        O::ElemDrop { elem_index } => env.elem_drop(b, elem_index)?,
        O::TableCopy { dst_table, src_table } => {
            let (d, s, n) = st.pop3();
            env.table_copy(b, dst_table, src_table, d, s, n)?;
        }
        O::TableGet { table } => {
            let i = st.pop();
            let v = env.table_get(b, table, i)?;
            st.push(v);
        }
        O::TableSet { table } => {
            let (i, v) = st.pop2();
            env.table_set(b, table, i, v)?;
        }
        O::TableGrow { table } => {
            let (init, delta) = st.pop2();
            let v = env.table_grow(b, table, init, delta)?;
            st.push(v);
        }
        O::TableSize { table } => {
            let v = env.table_size(b, table)?;
            st.push(v);
        }
        O::TableFill { table } => {
            let (d, v, n) = st.pop3();
            env.table_fill(b, table, d, v, n)?;
        }
        O::RefNull { .. } => {
            let v = b.ins().iconst(ptr, 0);
            st.push(v);
        }
        O::RefIsNull => {
            let r = st.pop();
            let c = code::eqz(b, r);
            st.push(c);
        }
        O::RefFunc { function_index } => {
            let v = env.ref_func(b, function_index)?;
            st.push(v);
        }
        _ => {
            if !code::translate_numeric(st, b, op) && !heap::translate_memory_op(st, env, b, op, offset)? {
                simd::translate_simd(st, env, b, op, offset)?;
            }
        }
    }
    Ok(())
}

//! The data-flow graph: instructions, their results, blocks and their parameters, values and
//! value aliases, plus the side tables instructions refer to (signatures, external
//! functions, constants, jump and exception tables, interned memory flags).
//!
//! Invariants:
//! - every value is exactly one of: an instruction result, a block parameter, an alias of
//!   another value, or *unattached* (created by the parser before its definition is read,
//!   or detached by a transformation);
//! - an instruction's results are created from its opcode's result constraints (or the
//!   callee signature) by [`DataFlowGraph::make_inst_results`];
//! - the DFG knows nothing about order: that is the [`Layout`](crate::layout::Layout)'s job.

use crate::constant::ConstantData;
use crate::entities::*;
use crate::entity::{EntityRef, PrimaryMap, SecondaryMap};
use crate::extname::ExtFuncData;
use crate::instructions::{
    BlockArg, BlockCall, ExceptionTableData, InstructionData, JumpTableData, MAX_VALUES, ValueList, ValueListPool,
};
use crate::memflags::{MemFlags, MemFlagsId, MemFlagsTable};
use crate::opcodes::{Constraint, Opcode};
use crate::signature::Signature;
use crate::types::{self, Type};
use smallvec::SmallVec;

/// Where a value comes from.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum ValueDef {
    /// Result `n` of an instruction.
    Result(Inst, usize),
    /// Parameter `n` of a block.
    Param(Block, usize),
}

impl ValueDef {
    /// The instruction, if a result.
    pub fn inst(self) -> Option<Inst> {
        match self {
            ValueDef::Result(i, _) => Some(i),
            ValueDef::Param(..) => None,
        }
    }
}

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum ValueKind {
    Unattached,
    Result,
    Param,
    Alias,
}

/// Per-value record: its type and definition.
#[derive(Copy, Clone, Debug)]
struct ValueData {
    ty: Type,
    kind: ValueKind,
    /// Result or parameter index.
    num: u32,
    /// The instruction, block or aliased value.
    x: u32,
}

impl ValueData {
    const UNATTACHED: ValueData = ValueData { ty: types::INVALID, kind: ValueKind::Unattached, num: 0, x: 0 };
}

/// Per-block record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockData {
    params: ValueList,
}

/// The data-flow graph of a function.
#[derive(Clone, Default)]
pub struct DataFlowGraph {
    /// Instruction operands.
    pub insts: PrimaryMap<Inst, InstructionData>,
    results: SecondaryMap<Inst, ValueList>,
    blocks: PrimaryMap<Block, BlockData>,
    /// Pool of value lists (arguments, results, block parameters, branch arguments).
    pub value_lists: ValueListPool,
    values: PrimaryMap<Value, ValueData>,
    /// Signatures (`sigN`).
    pub signatures: PrimaryMap<SigRef, Signature>,
    /// External functions (`fnN`).
    pub ext_funcs: PrimaryMap<FuncRef, ExtFuncData>,
    /// Constant pool (`constN`).
    pub constants: PrimaryMap<Constant, ConstantData>,
    /// Shuffle masks.
    pub immediates: PrimaryMap<Immediate, ConstantData>,
    /// Jump tables of `br_table`.
    pub jump_tables: PrimaryMap<JumpTable, JumpTableData>,
    /// Exception tables of `try_call`.
    pub exception_tables: PrimaryMap<ExceptionTable, ExceptionTableData>,
    /// Interned memory flags.
    pub mem_flags: MemFlagsTable,
}

/// Why an instruction's results could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultError {
    /// The controlling type is not allowed, or a derived result type does not exist.
    BadType(String),
    /// Too many values in one function.
    Limit,
}

impl DataFlowGraph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forget everything, keeping allocations.
    pub fn clear(&mut self) {
        self.insts.clear();
        self.results.clear();
        self.blocks.clear();
        self.value_lists.clear();
        self.values.clear();
        self.signatures.clear();
        self.ext_funcs.clear();
        self.constants.clear();
        self.immediates.clear();
        self.jump_tables.clear();
        self.exception_tables.clear();
        self.mem_flags.clear();
    }

    // ---------------------------------------------------------------------------------
    // Values

    /// Number of values ever created.
    pub fn num_values(&self) -> usize {
        self.values.len()
    }

    /// Number of instructions ever created.
    pub fn num_insts(&self) -> usize {
        self.insts.len()
    }

    /// Number of blocks ever created.
    pub fn num_blocks(&self) -> usize {
        self.blocks.len()
    }

    /// Is `v` a value of this graph that is defined (result, parameter or alias)?
    pub fn value_is_valid(&self, v: Value) -> bool {
        self.values.get(v).is_some_and(|d| d.kind != ValueKind::Unattached)
    }

    /// Is `v` a result or parameter (not an alias, not unattached)?
    pub fn value_is_attached(&self, v: Value) -> bool {
        self.values.get(v).is_some_and(|d| matches!(d.kind, ValueKind::Result | ValueKind::Param))
    }

    /// Is `v` an alias?
    pub fn value_is_alias(&self, v: Value) -> bool {
        self.values.get(v).is_some_and(|d| d.kind == ValueKind::Alias)
    }

    /// The type of `v` (of its final target, for aliases).
    #[inline]
    pub fn value_type(&self, v: Value) -> Type {
        self.values.get(v).map_or(types::INVALID, |d| d.ty)
    }

    /// Follow aliases to the defining value. Alias chains are acyclic (see
    /// [`DataFlowGraph::make_alias`]); a cycle created through the parser is bounded by the
    /// number of values and yields the last value seen.
    pub fn resolve_aliases(&self, mut v: Value) -> Value {
        for _ in 0..=self.values.len() {
            match self.values.get(v) {
                Some(d) if d.kind == ValueKind::Alias => v = Value::from_u32(d.x),
                _ => return v,
            }
        }
        v
    }

    /// The direct target of an alias.
    pub fn alias_target(&self, v: Value) -> Option<Value> {
        self.values.get(v).filter(|d| d.kind == ValueKind::Alias).map(|d| Value::from_u32(d.x))
    }

    /// Where `v` (after resolving aliases) is defined; `None` for unattached values.
    pub fn value_def(&self, v: Value) -> Option<ValueDef> {
        let v = self.resolve_aliases(v);
        let d = self.values.get(v)?;
        match d.kind {
            ValueKind::Result => Some(ValueDef::Result(Inst::from_u32(d.x), d.num as usize)),
            ValueKind::Param => Some(ValueDef::Param(Block::from_u32(d.x), d.num as usize)),
            _ => None,
        }
    }

    /// Make sure values `v0 … v(n-1)` exist (new ones unattached). Used by the parser, which
    /// preserves value numbers.
    pub fn reserve_values(&mut self, n: usize) -> Result<(), ResultError> {
        if n > MAX_VALUES as usize {
            return Err(ResultError::Limit);
        }
        while self.values.len() < n {
            self.values.push(ValueData::UNATTACHED);
        }
        Ok(())
    }

    fn new_value(&mut self, data: ValueData) -> Result<Value, ResultError> {
        if self.values.len() >= MAX_VALUES as usize {
            return Err(ResultError::Limit);
        }
        Ok(self.values.push(data))
    }

    /// Make `v` an alias of `target`. Fails (returning false) if that would create a cycle.
    pub fn make_alias(&mut self, v: Value, target: Value) -> bool {
        // `v` must not appear anywhere on the chain from `target` (it may itself be an alias
        // somewhere in the middle of that chain, not only at its end).
        let mut cur = target;
        for _ in 0..=self.values.len() {
            if cur == v {
                return false;
            }
            match self.alias_target(cur) {
                Some(t) => cur = t,
                None => break,
            }
        }
        self.set_alias(v, target);
        true
    }

    /// Make the unattached value `v`, which no alias refers to, an alias of `target`: no
    /// cycle is possible, so unlike [`DataFlowGraph::make_alias`] this does not walk the
    /// chain of `target` (the parser uses it: a chain of n aliases is then read in O(n),
    /// not O(n²)).
    pub(crate) fn make_alias_of_fresh(&mut self, v: Value, target: Value) {
        debug_assert!(!self.value_is_valid(v));
        self.set_alias(v, target);
    }

    fn set_alias(&mut self, v: Value, target: Value) {
        let ty = self.value_type(target);
        self.values[v] = ValueData { ty, kind: ValueKind::Alias, num: 0, x: target.as_u32() };
    }

    /// Detach `v` from its instruction or block and make it an alias of `target`.
    /// The caller must remove `v` from the result/parameter list itself if needed.
    pub fn change_to_alias(&mut self, v: Value, target: Value) {
        let r = self.make_alias(v, target);
        debug_assert!(r, "alias cycle");
    }

    /// Create a fresh unattached value of type `ty` (for transformations that attach it
    /// later).
    pub fn make_detached_value(&mut self, ty: Type) -> Value {
        self.new_value(ValueData { ty, ..ValueData::UNATTACHED }).expect("value limit")
    }

    /// Set the type of an unattached or attached value (parser and transformations).
    pub fn set_value_type(&mut self, v: Value, ty: Type) {
        self.values[v].ty = ty;
    }

    /// Replace every alias used as an operand by the value it finally refers to, in every
    /// instruction. Each alias chain is walked once (O(values + operands) in all, however
    /// long the chains and however often they are used).
    pub fn resolve_all_aliases(&mut self) {
        let n = self.values.len();
        if !self.values.values().any(|d| d.kind == ValueKind::Alias) {
            return;
        }
        // root[v]: the final value of `v`; `u32::MAX` until computed.
        let mut root = vec![u32::MAX; n];
        let mut chain = Vec::new();
        for v in 0..n {
            let mut cur = v;
            // Walk until a non-alias or a value already resolved (a cycle, impossible through
            // `make_alias`, ends the walk after `n` steps).
            let r = loop {
                if root[cur] != u32::MAX {
                    break root[cur];
                }
                let d = self.values[Value::new(cur)];
                if d.kind != ValueKind::Alias || chain.len() > n {
                    break cur as u32;
                }
                chain.push(cur);
                cur = d.x as usize;
                if cur >= n {
                    break *chain.last().expect("pushed") as u32;
                }
            };
            root[v] = r;
            for &c in &chain {
                root[c] = r;
            }
            chain.clear();
        }
        let insts: Vec<Inst> = self.insts.keys().collect();
        for inst in insts {
            self.map_inst_values(inst, |_, v| root.get(v.index()).map_or(v, |&r| Value::from_u32(r)));
        }
    }

    // ---------------------------------------------------------------------------------
    // Instructions

    /// Add an instruction (no results yet; see [`DataFlowGraph::make_inst_results`]).
    pub fn make_inst(&mut self, data: InstructionData) -> Inst {
        self.insts.push(data)
    }

    /// The opcode of `inst`.
    #[inline]
    pub fn opcode(&self, inst: Inst) -> Opcode {
        self.insts[inst].opcode()
    }

    /// The value operands of `inst` (not branch arguments).
    #[inline]
    pub fn inst_args(&self, inst: Inst) -> &[Value] {
        self.insts[inst].arguments(&self.value_lists)
    }

    /// The value operands of `inst`, mutably.
    pub fn inst_args_mut(&mut self, inst: Inst) -> &mut [Value] {
        self.insts[inst].arguments_mut(&mut self.value_lists)
    }

    /// The variable-length arguments of a call (without the callee of indirect calls).
    pub fn call_args(&self, inst: Inst) -> &[Value] {
        let args = self.inst_args(inst);
        match self.insts[inst] {
            InstructionData::CallIndirect { .. } | InstructionData::TryCallIndirect { .. } => {
                args.get(1..).unwrap_or(&[])
            }
            _ => args,
        }
    }

    /// The results of `inst`.
    #[inline]
    pub fn inst_results(&self, inst: Inst) -> &[Value] {
        self.results[inst].as_slice(&self.value_lists)
    }

    /// The results of `inst`, or `None` if `inst` is not an instruction of this graph or its
    /// result list is corrupt. Never panics (for the verifier).
    pub fn try_inst_results(&self, inst: Inst) -> Option<&[Value]> {
        if !self.insts.is_valid(inst) {
            return None;
        }
        self.results[inst].try_as_slice(&self.value_lists)
    }

    /// The first result of `inst`, if any.
    pub fn first_result(&self, inst: Inst) -> Option<Value> {
        self.inst_results(inst).first().copied()
    }

    /// Does `inst` have results?
    pub fn has_results(&self, inst: Inst) -> bool {
        !self.results[inst].is_empty()
    }

    /// The branch targets of `inst` (empty for non-branches).
    pub fn branch_destinations(&self, inst: Inst) -> &[BlockCall] {
        match &self.insts[inst] {
            InstructionData::Jump { destination, .. } => core::slice::from_ref(destination),
            InstructionData::Brif { blocks, .. } => blocks,
            InstructionData::BranchTable { table, .. } => self.jump_tables[*table].all_branches(),
            InstructionData::TryCall { exception, .. } | InstructionData::TryCallIndirect { exception, .. } => {
                self.exception_tables[*exception].all_branches()
            }
            _ => &[],
        }
    }

    /// The branch targets of `inst`, mutably.
    pub fn branch_destinations_mut(&mut self, inst: Inst) -> &mut [BlockCall] {
        match &mut self.insts[inst] {
            InstructionData::Jump { destination, .. } => core::slice::from_mut(destination),
            InstructionData::Brif { blocks, .. } => blocks,
            InstructionData::BranchTable { table, .. } => self.jump_tables[*table].all_branches_mut(),
            InstructionData::TryCall { exception, .. } | InstructionData::TryCallIndirect { exception, .. } => {
                self.exception_tables[*exception].all_branches_mut()
            }
            _ => &mut [],
        }
    }

    /// Call `f` on every value `inst` uses: operands, plain branch arguments and exception
    /// context values.
    pub fn for_each_inst_value(&self, inst: Inst, mut f: impl FnMut(Value)) {
        for &v in self.inst_args(inst) {
            f(v);
        }
        for bc in self.branch_destinations(inst) {
            for a in bc.args(&self.value_lists) {
                if let BlockArg::Value(v) = a {
                    f(v);
                }
            }
        }
        if let InstructionData::TryCall { exception, .. } | InstructionData::TryCallIndirect { exception, .. } =
            self.insts[inst]
        {
            for v in self.exception_tables[exception].contexts() {
                f(v);
            }
        }
    }

    /// The values `inst` uses, collected.
    pub fn inst_values(&self, inst: Inst) -> SmallVec<[Value; 8]> {
        let mut out = SmallVec::new();
        self.for_each_inst_value(inst, |v| out.push(v));
        out
    }

    /// Rewrite every value `inst` uses with `f`.
    pub fn map_inst_values(&mut self, inst: Inst, mut f: impl FnMut(&DataFlowGraph, Value) -> Value) {
        let n = self.inst_args(inst).len();
        for i in 0..n {
            let v = self.inst_args(inst)[i];
            let nv = f(self, v);
            self.inst_args_mut(inst)[i] = nv;
        }
        let nd = self.branch_destinations(inst).len();
        for d in 0..nd {
            let bc = self.branch_destinations(inst)[d];
            let na = bc.len(&self.value_lists);
            for a in 0..na {
                let w = bc.raw_args(&self.value_lists)[a];
                if let BlockArg::Value(v) = BlockArg::decode(w) {
                    let nv = f(self, v);
                    bc.raw_args_mut(&mut self.value_lists)[a] = nv;
                }
            }
        }
        if let InstructionData::TryCall { exception, .. } | InstructionData::TryCallIndirect { exception, .. } =
            self.insts[inst]
        {
            let ctx: Vec<Value> = self.exception_tables[exception].contexts().collect();
            let new: Vec<Value> = ctx.iter().map(|&v| f(self, v)).collect();
            for (slot, v) in self.exception_tables[exception].contexts_mut().zip(new) {
                *slot = v;
            }
        }
    }

    /// The signature of a call instruction (`None` for other instructions).
    pub fn call_signature(&self, inst: Inst) -> Option<SigRef> {
        match self.insts[inst] {
            InstructionData::Call { func_ref, .. } | InstructionData::TryCall { func_ref, .. } => {
                self.ext_funcs.get(func_ref).map(|f| f.signature)
            }
            InstructionData::CallIndirect { sig_ref, .. } => Some(sig_ref),
            InstructionData::TryCallIndirect { exception, .. } => self.exception_tables.get(exception).map(|e| e.sig),
            _ => None,
        }
    }

    /// The memory flags of a memory instruction.
    pub fn inst_mem_flags(&self, inst: Inst) -> Option<MemFlags> {
        self.insts[inst].memflags().map(|id| self.mem_flags.get(id))
    }

    /// Intern memory flags (panics past the 65,536-entry implementation limit; builders that
    /// take user input use [`MemFlagsTable::intern`] directly to report it).
    pub fn intern_mem_flags(&mut self, flags: MemFlags) -> MemFlagsId {
        self.mem_flags.intern(flags).expect("more than 65536 distinct memory flag sets")
    }

    /// The operand the controlling type of `inst` is inferred from, if its opcode infers.
    pub fn typevar_operand(&self, inst: Inst) -> Option<Value> {
        let i = self.opcode(inst).info().infer?;
        self.inst_args(inst).get(i as usize).copied()
    }

    /// The controlling type of `inst` (`INVALID` for monomorphic opcodes).
    pub fn ctrl_typevar(&self, inst: Inst) -> Type {
        let op = self.opcode(inst);
        if !op.is_polymorphic() {
            return types::INVALID;
        }
        if let Some(v) = self.typevar_operand(inst) {
            return self.value_type(v);
        }
        self.first_result(inst).map_or(types::INVALID, |r| self.value_type(r))
    }

    /// The result types `inst` has with controlling type `ctrl`.
    pub fn result_types(&self, inst: Inst, ctrl: Type) -> Result<SmallVec<[Type; 4]>, ResultError> {
        let op = self.opcode(inst);
        if op.is_call() && !op.is_terminator() {
            if op == Opcode::StackSwitch {
                return Ok(SmallVec::from_slice(&[ctrl]));
            }
            let sig = self.call_signature(inst).ok_or_else(|| ResultError::BadType("invalid call signature".into()))?;
            let sig =
                self.signatures.get(sig).ok_or_else(|| ResultError::BadType("invalid signature reference".into()))?;
            return Ok(sig.returns.iter().map(|p| p.value_type).collect());
        }
        let info = op.info();
        if op.is_polymorphic() && !info.ctrl.contains(ctrl) {
            return Err(ResultError::BadType(format!("{ctrl} is not a valid typevar for {op}")));
        }
        info.results
            .iter()
            .map(|c| {
                c.resolve(ctrl).ok_or_else(|| {
                    ResultError::BadType(format!("no result type {c:?} for {op} with controlling type {ctrl}"))
                })
            })
            .collect()
    }

    /// Create the results of `inst` for controlling type `ctrl`; returns how many.
    pub fn make_inst_results(&mut self, inst: Inst, ctrl: Type) -> Result<usize, ResultError> {
        let tys = self.result_types(inst, ctrl)?;
        for ty in &tys {
            self.append_result(inst, *ty)?;
        }
        Ok(tys.len())
    }

    /// Append a result of type `ty` to `inst`.
    pub fn append_result(&mut self, inst: Inst, ty: Type) -> Result<Value, ResultError> {
        let num = self.results[inst].len(&self.value_lists) as u32;
        let v = self.new_value(ValueData { ty, kind: ValueKind::Result, num, x: inst.as_u32() })?;
        self.results[inst].push(v, &mut self.value_lists);
        Ok(v)
    }

    /// Attach the existing unattached value `v` as the next result of `inst` (parser).
    pub fn attach_result(&mut self, inst: Inst, v: Value, ty: Type) {
        let num = self.results[inst].len(&self.value_lists) as u32;
        self.values[v] = ValueData { ty, kind: ValueKind::Result, num, x: inst.as_u32() };
        self.results[inst].push(v, &mut self.value_lists);
    }

    /// Remove every result of `inst`, leaving the values unattached.
    pub fn detach_results(&mut self, inst: Inst) -> ValueList {
        let l = self.results[inst];
        for &v in l.as_slice(&self.value_lists) {
            self.values[v].kind = ValueKind::Unattached;
        }
        self.results[inst] = ValueList::new();
        l
    }

    /// Replace the operands of `inst` by `data`, keeping its results.
    pub fn replace_inst(&mut self, inst: Inst, data: InstructionData) {
        self.insts[inst] = data;
    }

    // ---------------------------------------------------------------------------------
    // Blocks

    /// Create a block.
    pub fn make_block(&mut self) -> Block {
        self.blocks.push(BlockData::default())
    }

    /// Make sure blocks `block0 … block(n-1)` exist (parser).
    pub fn reserve_blocks(&mut self, n: usize) {
        while self.blocks.len() < n {
            self.blocks.push(BlockData::default());
        }
    }

    /// Is `b` a block of this graph?
    pub fn block_is_valid(&self, b: Block) -> bool {
        self.blocks.is_valid(b)
    }

    /// The parameters of `block`.
    #[inline]
    pub fn block_params(&self, block: Block) -> &[Value] {
        self.blocks[block].params.as_slice(&self.value_lists)
    }

    /// The parameters of `block`, or `None` if `block` is not a block of this graph or its
    /// parameter list is corrupt. Never panics (for the verifier).
    pub fn try_block_params(&self, block: Block) -> Option<&[Value]> {
        self.blocks.get(block)?.params.try_as_slice(&self.value_lists)
    }

    /// The parameter types of `block`.
    pub fn block_param_types(&self, block: Block) -> impl Iterator<Item = Type> + '_ {
        self.block_params(block).iter().map(|&v| self.value_type(v))
    }

    /// Append a parameter of type `ty`.
    pub fn append_block_param(&mut self, block: Block, ty: Type) -> Value {
        let num = self.blocks[block].params.len(&self.value_lists) as u32;
        let v = self.new_value(ValueData { ty, kind: ValueKind::Param, num, x: block.as_u32() }).expect("value limit");
        self.blocks[block].params.push(v, &mut self.value_lists);
        v
    }

    /// Attach the existing unattached value `v` as the next parameter of `block` (parser).
    pub fn attach_block_param(&mut self, block: Block, v: Value, ty: Type) {
        let num = self.blocks[block].params.len(&self.value_lists) as u32;
        self.values[v] = ValueData { ty, kind: ValueKind::Param, num, x: block.as_u32() };
        self.blocks[block].params.push(v, &mut self.value_lists);
    }

    /// Remove parameter `i` of `block`; the value becomes unattached and later parameters are
    /// renumbered.
    pub fn remove_block_param(&mut self, block: Block, i: usize) {
        let mut params = self.blocks[block].params;
        let v = params.as_slice(&self.value_lists)[i];
        params.remove(i, &mut self.value_lists);
        self.blocks[block].params = params;
        self.values[v].kind = ValueKind::Unattached;
        for k in i..params.len(&self.value_lists) {
            let v = params.as_slice(&self.value_lists)[k];
            self.values[v].num = k as u32;
        }
    }

    /// Keep the parameters of `block` whose index satisfies `keep`; the others become
    /// unattached (one pass, however many are removed).
    pub fn retain_block_params(&mut self, block: Block, mut keep: impl FnMut(usize) -> bool) {
        let mut params = self.blocks[block].params;
        let values = &mut self.values;
        params.retain(&mut self.value_lists, |i, v| {
            let k = keep(i);
            if !k {
                values[v].kind = ValueKind::Unattached;
            }
            k
        });
        self.blocks[block].params = params;
        for (k, &v) in params.as_slice(&self.value_lists).iter().enumerate() {
            self.values[v].num = k as u32;
        }
    }

    /// Make a block call, for building branches.
    pub fn block_call(&mut self, block: Block, args: &[Value]) -> BlockCall {
        BlockCall::new(block, args.iter().map(|&v| BlockArg::Value(v)), &mut self.value_lists)
    }

    /// The value arguments a block call passes (panics on `retN`/`exnN`, which only appear
    /// in `try_call` targets; use [`BlockCall::args`] there).
    pub fn block_call_values(&self, bc: BlockCall) -> impl Iterator<Item = Value> + '_ {
        bc.args(&self.value_lists).map(|a| a.as_value().expect("try_call placeholder outside try_call"))
    }

    // ---------------------------------------------------------------------------------
    // Constants

    /// Add a constant to the pool, reusing an identical entry.
    pub fn insert_constant(&mut self, data: ConstantData) -> Constant {
        if let Some((c, _)) = self.constants.iter().find(|(_, d)| **d == data) {
            return c;
        }
        self.constants.push(data)
    }

    /// Add a shuffle mask.
    pub fn insert_immediate(&mut self, data: ConstantData) -> Immediate {
        if let Some((c, _)) = self.immediates.iter().find(|(_, d)| **d == data) {
            return c;
        }
        self.immediates.push(data)
    }

    /// Does the value `v` come from an instruction with opcode `op`? Returns the instruction.
    pub fn value_inst_with_opcode(&self, v: Value, op: Opcode) -> Option<Inst> {
        let inst = self.value_def(v)?.inst()?;
        (self.opcode(inst) == op).then_some(inst)
    }

    /// The constant an `iconst` value holds, sign-extended to 64 bits.
    pub fn iconst_value(&self, v: Value) -> Option<i64> {
        let inst = self.value_inst_with_opcode(v, Opcode::Iconst)?;
        match self.insts[inst] {
            InstructionData::UnaryImm { imm, .. } => Some(imm.sign_extend_from(self.value_type(v).bits()).0),
            _ => None,
        }
    }

    /// Does `c` demand exactly the type `ty` under controlling type `ctrl`?
    pub fn constraint_accepts(c: Constraint, ty: Type, ctrl: Type) -> bool {
        c.accepts(ty, ctrl)
    }

    /// Iterate over every block ever created (including unused ones).
    pub fn blocks(&self) -> impl Iterator<Item = Block> + use<> {
        (0..self.blocks.len()).map(Block::new)
    }

    /// Iterate over every value ever created.
    pub fn values(&self) -> impl Iterator<Item = Value> + use<> {
        (0..self.values.len()).map(Value::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::immediates::Imm64;

    #[test]
    fn results_follow_the_opcode_table() {
        let mut dfg = DataFlowGraph::new();
        let b = dfg.make_block();
        let x = dfg.append_block_param(b, types::I32);
        let y = dfg.append_block_param(b, types::I32);
        let add = dfg.make_inst(InstructionData::Binary { opcode: Opcode::Iadd, args: [x, y] });
        assert_eq!(dfg.ctrl_typevar(add), types::I32);
        assert_eq!(dfg.make_inst_results(add, types::I32), Ok(1));
        let r = dfg.first_result(add).unwrap();
        assert_eq!(dfg.value_type(r), types::I32);
        assert_eq!(dfg.value_def(r), Some(ValueDef::Result(add, 0)));
        let ovf = dfg.make_inst(InstructionData::Binary { opcode: Opcode::UaddOverflow, args: [x, y] });
        dfg.make_inst_results(ovf, types::I32).unwrap();
        let tys: Vec<Type> = dfg.inst_results(ovf).iter().map(|&v| dfg.value_type(v)).collect();
        assert_eq!(tys, vec![types::I32, types::I8]);
        let c = dfg.make_inst(InstructionData::UnaryImm { opcode: Opcode::Iconst, imm: Imm64(-1) });
        assert!(dfg.make_inst_results(c, types::I128).is_err());
        dfg.make_inst_results(c, types::I8).unwrap();
        assert_eq!(dfg.iconst_value(dfg.first_result(c).unwrap()), Some(-1));
    }

    #[test]
    fn aliases_resolve_and_reject_cycles() {
        let mut dfg = DataFlowGraph::new();
        let b = dfg.make_block();
        let x = dfg.append_block_param(b, types::I64);
        dfg.reserve_values(4).unwrap();
        let a1 = Value::new(2);
        let a2 = Value::new(3);
        assert!(dfg.make_alias(a1, x));
        assert!(dfg.make_alias(a2, a1));
        assert_eq!(dfg.resolve_aliases(a2), x);
        assert_eq!(dfg.value_type(a2), types::I64);
        assert!(!dfg.make_alias(x, a2));
    }

    #[test]
    fn every_non_inferred_polymorphic_opcode_has_ctrl_first_result() {
        for &op in Opcode::ALL {
            let info = op.info();
            if op.is_polymorphic() && info.infer.is_none() {
                assert_eq!(info.results.first(), Some(&Constraint::Ctrl), "{op}");
            }
        }
    }
}

//! [`FunctionBuilder`]: build a [`Function`] block by block, with variables in SSA form
//! constructed on the fly, over a reusable [`FunctionBuilderContext`].
//!
//! Errors never panic. Misuse (an undeclared variable, a value of the wrong type, an
//! instruction after a terminator or outside any block, a branch to a sealed block, …) is
//! recorded where it happens and reported by [`FunctionBuilder::finalize`], together with
//! blocks left unsealed or unterminated; the `try_` variants of the variable methods report
//! their errors immediately instead.
//!
//! Invariants: a block enters the layout when first switched to; user block parameters
//! precede the parameters SSA construction appends (so a user parameter cannot be added to a
//! block that already has predecessors or SSA parameters); a block is *filled* once it has a
//! terminator, and nothing is appended after it; every branch built through the builder is
//! recorded as a predecessor of its targets, which must not be sealed yet.

use crate::ssa::{SsaBuilder, is_variable_type};
use crate::{BuilderError, FinalizeError, Variable};
use kiln_ir::builder::InstBuilderBase;
use kiln_ir::entity::{EntityRef, EntitySet, SecondaryMap};
use kiln_ir::extname::ExtFuncData;
use kiln_ir::function::{GlobalValueData, SourceLoc, StackSlotData};
use kiln_ir::instructions::{BlockArg, BlockCall, InstructionData, JumpTableData};
use kiln_ir::memflags::{MemFlags, MemFlagsId};
use kiln_ir::opcodes::InstructionFormat;
use kiln_ir::signature::Signature;
use kiln_ir::types::{self, Type};
use kiln_ir::{
    Block, DataFlowGraph, ExceptionTable, FuncRef, Function, GlobalValue, Inst, JumpTable, SigRef, StackSlot, Value,
};

/// At most this many errors are kept per function (the first ones are the useful ones).
const MAX_ERRORS: usize = 64;

/// Per-block state of the builder.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct BlockInfo {
    /// Ends with a terminator.
    filled: bool,
    /// Number of parameters appended by the user.
    user_params: u32,
}

/// Reusable memory for building functions: pass one to every [`FunctionBuilder`] (one per
/// thread) and nothing is reallocated from one function to the next.
#[derive(Default)]
pub struct FunctionBuilderContext {
    pub(crate) ssa: SsaBuilder,
    blocks: SecondaryMap<Block, BlockInfo>,
    used_tables: EntitySet<JumpTable>,
    errors: Vec<BuilderError>,
    dropped_errors: usize,
    reach_stack: Vec<Block>,
    reached: EntitySet<Block>,
}

impl FunctionBuilderContext {
    /// A fresh context.
    pub fn new() -> Self {
        Self::default()
    }

    fn clear(&mut self) {
        self.ssa.clear();
        self.blocks.clear();
        self.used_tables.clear();
        self.errors.clear();
        self.dropped_errors = 0;
        self.reach_stack.clear();
        self.reached.clear();
    }
}

/// Builds one function. Create blocks, switch to them, append instructions with
/// [`ins`](FunctionBuilder::ins), use [`Variable`]s instead of hand-made SSA values, seal
/// every block once its predecessors are all known, and call
/// [`finalize`](FunctionBuilder::finalize).
pub struct FunctionBuilder<'a> {
    /// The function being built. Direct edits are allowed but bypass the builder's
    /// bookkeeping: add instructions through [`ins`](FunctionBuilder::ins).
    pub func: &'a mut Function,
    ctx: &'a mut FunctionBuilderContext,
    position: Option<Block>,
    srcloc: SourceLoc,
}

impl<'a> FunctionBuilder<'a> {
    /// Start building `func` (normally empty, with its name and signature set), reusing the
    /// memory of `ctx`.
    pub fn new(func: &'a mut Function, ctx: &'a mut FunctionBuilderContext) -> Self {
        ctx.clear();
        FunctionBuilder { func, ctx, position: None, srcloc: SourceLoc::NONE }
    }

    pub(crate) fn error(&mut self, e: BuilderError) {
        if self.ctx.errors.len() < MAX_ERRORS {
            self.ctx.errors.push(e);
        } else {
            self.ctx.dropped_errors += 1;
        }
    }

    // ---------------------------------------------------------------------------------
    // Blocks

    /// Create a block (not yet in the layout: it is placed when first switched to).
    pub fn create_block(&mut self) -> Block {
        self.func.dfg.make_block()
    }

    fn check_block(&mut self, block: Block, what: &str) -> bool {
        if self.func.dfg.block_is_valid(block) {
            true
        } else {
            self.error(BuilderError::InvalidEntity(format!("{what}: {block} is not a block of this function")));
            false
        }
    }

    /// Mark `block` cold (laid out at the end of the function by the backend).
    pub fn set_cold_block(&mut self, block: Block) {
        if self.check_block(block, "set_cold_block") {
            self.func.layout.set_cold(block, true);
        }
    }

    /// Place `block` in the layout right after `after` (instead of at the end when first
    /// switched to). Both must be valid; `after` must be in the layout and `block` not.
    pub fn insert_block_after(&mut self, block: Block, after: Block) {
        if !self.check_block(block, "insert_block_after") || !self.check_block(after, "insert_block_after") {
            return;
        }
        if self.func.layout.is_block_inserted(block) || !self.func.layout.is_block_inserted(after) {
            self.error(BuilderError::InvalidEntity(format!(
                "insert_block_after: {block} must be outside the layout and {after} inside it"
            )));
            return;
        }
        self.func.layout.insert_block_after(block, after);
    }

    /// Continue building in `block`. Switching away from a block that is not terminated
    /// yet is allowed (come back to finish it); every block must be terminated by
    /// [`finalize`](Self::finalize).
    pub fn switch_to_block(&mut self, block: Block) {
        if !self.check_block(block, "switch_to_block") {
            return;
        }
        if !self.func.layout.is_block_inserted(block) {
            self.func.layout.append_block(block);
        }
        self.position = Some(block);
    }

    /// The block instructions are appended to.
    pub fn current_block(&self) -> Option<Block> {
        self.position
    }

    /// Seal `block`: declare that all its predecessors are known (no branch to it will be
    /// added). Sealing early is what lets SSA construction avoid block parameters; every
    /// block must be sealed by [`finalize`](Self::finalize). Sealing twice does nothing.
    pub fn seal_block(&mut self, block: Block) {
        if self.check_block(block, "seal_block") {
            self.ctx.ssa.seal_block(self.func, block);
        }
    }

    /// Seal every block created so far.
    pub fn seal_all_blocks(&mut self) {
        for block in self.func.dfg.blocks() {
            self.ctx.ssa.seal_block(self.func, block);
        }
    }

    /// Is `block` sealed?
    pub fn is_sealed(&self, block: Block) -> bool {
        self.func.dfg.block_is_valid(block) && self.ctx.ssa.is_sealed(block)
    }

    /// Has `block` no instructions yet?
    pub fn is_pristine(&self, block: Block) -> bool {
        self.func.dfg.block_is_valid(block) && self.func.layout.first_inst(block).is_none()
    }

    /// Does `block` end with a terminator?
    pub fn is_filled(&self, block: Block) -> bool {
        self.func.dfg.block_is_valid(block) && self.ctx.blocks[block].filled
    }

    /// Is the current block unreachable: sealed, without predecessors, not the entry?
    pub fn is_unreachable(&self) -> bool {
        match self.position {
            Some(b) => {
                self.ctx.ssa.is_sealed(b)
                    && self.ctx.ssa.predecessors(b).is_empty()
                    && self.func.layout.entry_block() != Some(b)
            }
            None => true,
        }
    }

    /// Append a parameter of type `ty` to `block`. Must come before any branch to `block`
    /// and before any variable is used in it.
    pub fn append_block_param(&mut self, block: Block, ty: Type) -> Value {
        if self.check_block(block, "append_block_param") {
            if !self.ctx.ssa.predecessors(block).is_empty() || self.ctx.ssa.num_ssa_params(block) != 0 {
                self.error(BuilderError::LateBlockParam(block));
            }
            if ty.is_invalid() {
                self.error(BuilderError::TypeMismatch {
                    inst: None,
                    message: format!("{block}: invalid parameter type"),
                });
            }
            self.ctx.blocks[block].user_params += 1;
            self.func.dfg.append_block_param(block, ty)
        } else {
            Value::from_u32(u32::MAX)
        }
    }

    /// Append one parameter per parameter of the function's signature (for the entry
    /// block).
    pub fn append_block_params_for_function_params(&mut self, block: Block) {
        for i in 0..self.func.signature.params.len() {
            let ty = self.func.signature.params[i].value_type;
            self.append_block_param(block, ty);
        }
    }

    /// Append one parameter per return value of the function's signature (for a common
    /// return block).
    pub fn append_block_params_for_function_returns(&mut self, block: Block) {
        for i in 0..self.func.signature.returns.len() {
            let ty = self.func.signature.returns[i].value_type;
            self.append_block_param(block, ty);
        }
    }

    /// The parameters of `block` (user parameters first, then SSA ones).
    pub fn block_params(&self, block: Block) -> &[Value] {
        self.func.dfg.try_block_params(block).unwrap_or(&[])
    }

    /// A branch target with arguments, for jump tables.
    pub fn block_call(&mut self, block: Block, args: &[Value]) -> BlockCall {
        self.func.dfg.block_call(block, args)
    }

    // ---------------------------------------------------------------------------------
    // Variables

    /// Declare a variable of type `ty` (an integer, float or fixed vector type). A
    /// variable read before any assignment on some path reads as zero there.
    pub fn declare_var(&mut self, ty: Type) -> Variable {
        if !is_variable_type(ty) {
            let var = Variable::new(self.ctx.ssa.var_types.len());
            self.error(BuilderError::TypeMismatch {
                inst: None,
                message: format!("{var}: a variable cannot have type {ty}"),
            });
        }
        self.ctx.ssa.declare_var(ty)
    }

    /// The declared type of `var`.
    pub fn var_type(&self, var: Variable) -> Option<Type> {
        self.ctx.ssa.var_types.get(var.index()).copied()
    }

    /// Assign `val` to `var` in the current block, or report why not.
    pub fn try_def_var(&mut self, var: Variable, val: Value) -> Result<(), BuilderError> {
        let Some(expected) = self.var_type(var) else { return Err(BuilderError::UndeclaredVariable(var)) };
        let found = self.func.dfg.value_type(val);
        if !self.func.dfg.value_is_valid(val) || found != expected {
            return Err(BuilderError::VariableType { var, expected, found, value: val });
        }
        let Some(block) = self.position else { return Err(BuilderError::NoCurrentBlock("def_var".into())) };
        self.ctx.ssa.def_var(var, val, block);
        Ok(())
    }

    /// Assign `val` to `var` in the current block. Errors are reported by `finalize`.
    pub fn def_var(&mut self, var: Variable, val: Value) {
        if let Err(e) = self.try_def_var(var, val) {
            self.error(e);
        }
    }

    /// The value of `var` at the current point, or why it cannot be read.
    pub fn try_use_var(&mut self, var: Variable) -> Result<Value, BuilderError> {
        if self.var_type(var).is_none() {
            return Err(BuilderError::UndeclaredVariable(var));
        }
        let Some(block) = self.position else { return Err(BuilderError::NoCurrentBlock("use_var".into())) };
        Ok(self.ctx.ssa.use_var(self.func, var, block))
    }

    /// The value of `var` at the current point. Errors are reported by `finalize` (the
    /// returned value is then a placeholder).
    pub fn use_var(&mut self, var: Variable) -> Value {
        match self.try_use_var(var) {
            Ok(v) => v,
            Err(e) => {
                self.error(e);
                Value::from_u32(u32::MAX)
            }
        }
    }

    // ---------------------------------------------------------------------------------
    // Instructions and declarations

    /// An instruction builder appending to the current block.
    pub fn ins<'short>(&'short mut self) -> FuncInstBuilder<'short, 'a> {
        FuncInstBuilder { builder: self }
    }

    /// Set the source location given to the following instructions.
    pub fn set_srcloc(&mut self, loc: SourceLoc) {
        self.srcloc = loc;
    }

    /// The current source location.
    pub fn srcloc(&self) -> SourceLoc {
        self.srcloc
    }

    /// The results of `inst`.
    pub fn inst_results(&self, inst: Inst) -> &[Value] {
        self.func.dfg.try_inst_results(inst).unwrap_or(&[])
    }

    /// Create a stack slot.
    pub fn create_sized_stack_slot(&mut self, data: StackSlotData) -> StackSlot {
        self.func.create_stack_slot(data)
    }

    /// Import a signature (for `call_indirect` and external functions).
    pub fn import_signature(&mut self, sig: Signature) -> SigRef {
        self.func.import_signature(sig)
    }

    /// Import an external function (its signature must be imported first).
    pub fn import_function(&mut self, data: ExtFuncData) -> FuncRef {
        self.func.import_function(data)
    }

    /// Create a global value (for `symbol_value` and friends).
    pub fn create_global_value(&mut self, data: GlobalValueData) -> GlobalValue {
        self.func.create_global_value(data)
    }

    /// Create a jump table for `br_table` (each table is used by one `br_table`).
    pub fn create_jump_table(&mut self, data: JumpTableData) -> JumpTable {
        self.func.dfg.jump_tables.push(data)
    }

    /// Create an exception table for `try_call` (each table is used by one `try_call`).
    pub fn create_exception_table(&mut self, data: kiln_ir::instructions::ExceptionTableData) -> ExceptionTable {
        self.func.dfg.exception_tables.push(data)
    }

    /// The function's signature.
    pub fn signature(&self) -> &Signature {
        &self.func.signature
    }

    /// Check and finish the function: every block in the layout must be terminated and
    /// sealed, and no error may have been recorded. On success the function is in SSA form
    /// without aliases and passes the verifier; trivial SSA parameters are removed.
    pub fn finalize(self) -> Result<(), FinalizeError> {
        let FunctionBuilder { func, ctx, .. } = self;
        let mut errors = core::mem::take(&mut ctx.errors);
        let push = |errors: &mut Vec<BuilderError>, e| {
            if errors.len() < MAX_ERRORS {
                errors.push(e);
            }
        };
        for block in func.layout.blocks() {
            if !ctx.blocks[block].filled {
                push(&mut errors, BuilderError::UnterminatedBlock(block));
            }
            if !ctx.ssa.is_sealed(block) {
                push(&mut errors, BuilderError::UnsealedBlock(block));
            }
        }
        for block in func.dfg.blocks() {
            if !func.layout.is_block_inserted(block) && !ctx.ssa.predecessors(block).is_empty() {
                push(&mut errors, BuilderError::MissingBlock(block));
            }
        }
        if func.layout.entry_block().is_none() {
            push(&mut errors, BuilderError::EmptyFunction);
        }
        if !errors.is_empty() {
            let dropped = ctx.dropped_errors;
            ctx.clear();
            return Err(FinalizeError { errors, dropped });
        }
        remove_unreachable_blocks(func, &mut ctx.reach_stack, &mut ctx.reached);
        ctx.ssa.remove_trivial_params(func);
        if ctx.ssa.made_aliases {
            let mut next = func.layout.entry_block();
            while let Some(block) = next {
                let mut i = func.layout.first_inst(block);
                while let Some(inst) = i {
                    func.dfg.map_inst_values(inst, |dfg, v| dfg.resolve_aliases(v));
                    i = func.layout.next_inst(inst);
                }
                next = func.layout.next_block(block);
            }
        }
        ctx.clear();
        Ok(())
    }

    // ---------------------------------------------------------------------------------
    // Checks of built instructions

    /// Check the operand types of `inst` against the opcode table (and signatures).
    fn check_inst(&mut self, inst: Inst, ctrl: Type) {
        let dfg = &self.func.dfg;
        let op = dfg.opcode(inst);
        let info = op.info();
        if op.is_polymorphic() && !info.ctrl.contains(ctrl) {
            let msg = match (info.infer, dfg.typevar_operand(inst)) {
                (Some(i), Some(v)) => {
                    format!("{op}: operand {i} ({v}) has type {}, which {op} does not accept", dfg.value_type(v))
                }
                _ => format!("{op}: {ctrl} is not a valid controlling type"),
            };
            self.error(BuilderError::TypeMismatch { inst: Some(inst), message: msg });
            return;
        }
        let args = dfg.inst_args(inst);
        let mut bad: Option<String> = None;
        for (i, c) in info.args.iter().enumerate() {
            let Some(&v) = args.get(i) else { break };
            if !dfg.value_is_valid(v) {
                bad = Some(format!("{op}: operand {i} is not a valid value"));
                break;
            }
            let ty = dfg.value_type(v);
            if !c.accepts(ty, ctrl) {
                bad = Some(match c.resolve(ctrl) {
                    Some(want) => format!("{op}: operand {i} ({v}) has type {ty}, expected {want}"),
                    None => format!("{op}: operand {i} ({v}) has type {ty}, which is not allowed here"),
                });
                break;
            }
        }
        if bad.is_none() && op.format().has_value_list() {
            let rest = args.get(info.args.len()..).unwrap_or(&[]);
            let expected: Option<&[kiln_ir::signature::AbiParam]> = if op.is_call() {
                dfg.call_signature(inst).and_then(|s| dfg.signatures.get(s)).map(|s| &s.params[..])
            } else if op == kiln_ir::Opcode::Return {
                Some(&self.func.signature.returns[..])
            } else {
                None
            };
            match expected {
                Some(params) => {
                    if params.len() != rest.len() {
                        bad = Some(format!("{op}: {} arguments given, {} expected", rest.len(), params.len()));
                    } else if let Some((k, (&v, p))) =
                        rest.iter().zip(params).enumerate().find(|(_, (v, p))| dfg.value_type(**v) != p.value_type)
                    {
                        bad = Some(format!(
                            "{op}: argument {k} ({v}) has type {}, expected {}",
                            dfg.value_type(v),
                            p.value_type
                        ));
                    }
                }
                None if op.is_call() => bad = Some(format!("{op}: invalid callee signature")),
                None => {}
            }
        }
        if let Some(message) = bad {
            self.error(BuilderError::TypeMismatch { inst: Some(inst), message });
        }
    }

    /// Check the branch arguments of `inst` against the user parameters of its targets and
    /// record the edges.
    fn record_branch(&mut self, inst: Inst) {
        let entry = self.func.layout.entry_block();
        if let InstructionData::BranchTable { table, .. } = self.func.dfg.insts[inst] {
            if !self.func.dfg.jump_tables.is_valid(table) {
                self.error(BuilderError::InvalidEntity(format!("br_table: {table} does not exist")));
                return;
            }
            if !self.ctx.used_tables.insert(table) {
                self.error(BuilderError::InvalidEntity(format!("{table} is used by two br_table instructions")));
                return;
            }
        }
        if let InstructionData::TryCall { exception, .. } | InstructionData::TryCallIndirect { exception, .. } =
            self.func.dfg.insts[inst]
            && !self.func.dfg.exception_tables.is_valid(exception)
        {
            self.error(BuilderError::InvalidEntity(format!("{inst}: {exception} does not exist")));
            return;
        }
        let n = self.func.dfg.branch_destinations(inst).len();
        for d in 0..n {
            let dfg = &self.func.dfg;
            let bc = dfg.branch_destinations(inst)[d];
            let target = bc.block(&dfg.value_lists);
            if !dfg.block_is_valid(target) {
                self.error(BuilderError::InvalidEntity(format!("{inst}: branch to {target}, which does not exist")));
                continue;
            }
            if Some(target) == entry {
                self.error(BuilderError::BranchToEntry(inst));
                continue;
            }
            let params = dfg.block_params(target);
            let user = self.ctx.blocks[target].user_params as usize;
            let nargs = bc.len(&dfg.value_lists);
            let mut bad = None;
            if nargs != user {
                bad = Some(format!("{inst}: {nargs} arguments passed to {target}, which has {user} parameters"));
            } else {
                for (k, a) in bc.args(&dfg.value_lists).enumerate() {
                    if let BlockArg::Value(v) = a {
                        let (ty, want) = (dfg.value_type(v), dfg.value_type(params[k]));
                        if !dfg.value_is_valid(v) || ty != want {
                            bad =
                                Some(format!("{inst}: argument {k} ({v}) to {target} has type {ty}, expected {want}"));
                            break;
                        }
                    }
                }
            }
            if let Some(message) = bad {
                self.error(BuilderError::TypeMismatch { inst: Some(inst), message });
            }
            if !self.ctx.ssa.declare_predecessor(target, inst) {
                self.error(BuilderError::BranchToSealedBlock { inst, target });
            }
        }
    }
}

/// Remove the blocks no path from the entry reaches. Unreachable code has no meaning, and
/// SSA construction may leave it in a form the verifier rejects (a trivial parameter of an
/// unreachable cycle replaced by a value computed from itself).
fn remove_unreachable_blocks(func: &mut Function, stack: &mut Vec<Block>, reached: &mut EntitySet<Block>) {
    stack.clear();
    reached.clear();
    let Some(entry) = func.layout.entry_block() else { return };
    reached.insert(entry);
    stack.push(entry);
    while let Some(block) = stack.pop() {
        if let Some(last) = func.layout.last_inst(block) {
            for bc in func.dfg.branch_destinations(last) {
                let t = bc.block(&func.dfg.value_lists);
                if reached.insert(t) {
                    stack.push(t);
                }
            }
        }
    }
    let mut next = func.layout.entry_block();
    while let Some(block) = next {
        next = func.layout.next_block(block);
        if reached.contains(block) {
            continue;
        }
        while let Some(inst) = func.layout.last_inst(block) {
            func.layout.remove_inst(inst);
        }
        func.layout.remove_block(block);
    }
}

/// The instruction builder of a [`FunctionBuilder`]: appends to the current block, checks
/// operand types against the opcode table, records branches for SSA construction.
pub struct FuncInstBuilder<'short, 'a> {
    builder: &'short mut FunctionBuilder<'a>,
}

impl<'short> InstBuilderBase<'short> for FuncInstBuilder<'short, '_> {
    fn data_flow_graph(&self) -> &DataFlowGraph {
        &self.builder.func.dfg
    }

    fn data_flow_graph_mut(&mut self) -> &mut DataFlowGraph {
        &mut self.builder.func.dfg
    }

    fn intern_mem_flags(&mut self, flags: MemFlags) -> MemFlagsId {
        match self.builder.func.dfg.mem_flags.intern(flags) {
            Ok(id) => id,
            Err(msg) => {
                self.builder.error(BuilderError::Limit(msg.into()));
                MemFlagsId::default()
            }
        }
    }

    fn build(self, data: InstructionData, ctrl_typevar: Type) -> (Inst, &'short mut DataFlowGraph) {
        let b = self.builder;
        let op = data.opcode();
        let block = match b.position {
            Some(block) if b.ctx.blocks[block].filled => {
                b.error(BuilderError::AfterTerminator { block, opcode: op });
                None
            }
            Some(block) => Some(block),
            None => {
                b.error(BuilderError::NoCurrentBlock(op.name().into()));
                None
            }
        };
        let mut data = data;
        if let InstructionData::UnaryImm { imm, .. } = &mut data {
            // `iconst` immediates are stored zero-extended from the type's width: accept
            // negative numbers and mask them.
            if ctrl_typevar.is_int() && ctrl_typevar.bits() < 64 {
                *imm = imm.zero_extend_from(ctrl_typevar.bits());
            }
        }
        let inst = b.func.dfg.make_inst(data);
        let ctrl = if !op.is_polymorphic() {
            types::INVALID
        } else if ctrl_typevar.is_invalid() {
            b.func.dfg.ctrl_typevar(inst)
        } else {
            ctrl_typevar
        };
        b.check_inst(inst, ctrl);
        if let Err(e) = b.func.dfg.make_inst_results(inst, ctrl) {
            if !b.ctx.errors.iter().any(|e| matches!(e, BuilderError::TypeMismatch { inst: Some(i), .. } if *i == inst))
            {
                let message = match e {
                    kiln_ir::dfg::ResultError::BadType(m) => m,
                    kiln_ir::dfg::ResultError::Limit => "too many values".into(),
                };
                b.error(BuilderError::TypeMismatch { inst: Some(inst), message });
            }
            // Placeholder results keep the typed methods' contract.
            let n = if op.is_call() { 0 } else { op.info().results.len() };
            for _ in b.func.dfg.inst_results(inst).len()..n {
                let _ = b.func.dfg.append_result(inst, types::INVALID);
            }
        }
        if let Some(block) = block {
            b.func.layout.append_inst(inst, block);
            if !b.srcloc.is_default() {
                b.func.srclocs[inst] = b.srcloc;
            }
            if op.is_branch() || matches!(op.format(), InstructionFormat::BranchTable) {
                b.record_branch(inst);
            }
            if op.is_terminator() {
                b.ctx.blocks[block].filled = true;
            }
        }
        (inst, &mut b.func.dfg)
    }
}

impl FunctionBuilder<'_> {
    /// The number of blocks created so far.
    pub fn num_blocks(&self) -> usize {
        self.func.dfg.num_blocks()
    }

    /// Variables declared so far.
    pub fn num_vars(&self) -> usize {
        self.ctx.ssa.var_types.len()
    }
}

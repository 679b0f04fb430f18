//! SSA construction from variables, on the fly (Braun, Buchwald, Hack, Leißa, Mallon and
//! Zwinkau, "Simple and Efficient Construction of Static Single Assignment Form", CC 2013).
//!
//! The frontend tells this module about definitions (`def_var`), uses (`use_var`), branches
//! (`declare_predecessor`) and sealed blocks (`seal_block`: every predecessor is known). A
//! use with no definition in its own block looks backwards:
//!
//! - through a chain of sealed single-predecessor blocks, iteratively, creating nothing;
//! - at an unsealed block it appends an *incomplete* block parameter, completed when the
//!   block is sealed;
//! - at a sealed block with several predecessors it appends a parameter and reads the
//!   variable at the end of each predecessor — with an explicit work stack instead of
//!   recursion, so long chains of blocks cannot overflow the host stack — and passes the
//!   results as branch arguments;
//! - at the entry block, at a block without predecessors (unreachable code) and in an
//!   unreachable cycle of single-predecessor blocks, the variable was never assigned: it
//!   reads as zero, materialized at the top of that block.
//!
//! A completed parameter whose arguments are all one value (or itself) is *trivial*: it is
//! removed, its arguments are dropped from the branches and the parameter becomes an alias
//! of that value. [`SsaBuilder::remove_trivial_params`] finishes the job when the function is
//! complete: a worklist re-examines the parameters a removed one flowed into (Braun's
//! recursive simplification of the users of a removed parameter), which gives minimal SSA
//! form for reducible control flow.
//!
//! Invariants: parameters created here come after the block's user parameters; every
//! parameter of a sealed block has one argument per incoming edge, except the one being
//! completed by the work stack (then the block's last parameter); the entry block never has
//! predecessors (the frontend rejects such branches); tables keep their memory across
//! functions, and a use defined in its own block allocates nothing.

use crate::Variable;
use kiln_ir::constant::ConstantData;
use kiln_ir::entity::{EntityList, EntityRef, ListPool, PackedOption, SecondaryMap};
use kiln_ir::immediates::{Ieee16, Ieee32, Ieee64, Imm64};
use kiln_ir::instructions::{BlockArg, InstructionData};
use kiln_ir::types::{self, Type};
use kiln_ir::{Block, Function, Inst, Opcode, Value, ValueDef};

/// Per-block SSA state.
#[derive(Clone, Copy, Default)]
struct BlockState {
    /// All predecessors are known.
    sealed: bool,
    /// The branch instructions targeting this block (each listed once).
    preds: EntityList<Inst>,
    /// This block's list of incomplete parameters, in creation (= parameter) order: first
    /// and last entries of `incomplete`.
    incomplete_head: PackedOption<IncompleteIdx>,
    incomplete_tail: PackedOption<IncompleteIdx>,
    /// Number of parameters created here for this block (including removed ones).
    ssa_params: u32,
}

kiln_ir::entity_ref!(
    /// An entry of the incomplete-parameter lists.
    IncompleteIdx,
    "incomplete"
);

#[derive(Clone, Copy)]
struct Incomplete {
    var: Variable,
    param: Value,
    next: PackedOption<IncompleteIdx>,
}

/// A step of the work stack.
#[derive(Clone, Copy)]
enum Call {
    /// Read the variable at the end of this block; pushes one value onto `results`.
    UseVar(Block),
    /// The arguments of `param` (a parameter of `block`) are on `results`, one per
    /// predecessor; append them, simplify and push the outcome, recording it as the
    /// variable's definition in `block` and along the single-predecessor chain from
    /// `chain_start` to `block`.
    FinishParam { block: Block, param: Value, chain_start: Block },
}

/// The SSA construction state, reused across functions.
#[derive(Default)]
pub(crate) struct SsaBuilder {
    /// Declared variable types, indexed by variable.
    pub var_types: Vec<Type>,
    /// `defs[var][block]`: the variable's value at the end of (so far in) the block.
    /// Inner vectors of unused variables are kept (cleared) for the next function.
    defs: Vec<Vec<PackedOption<Value>>>,
    blocks: SecondaryMap<Block, BlockState>,
    preds_pool: ListPool<Inst>,
    incomplete: Vec<Incomplete>,
    /// Every parameter created here, for the final trivial-parameter sweep.
    created: Vec<Value>,
    /// Scratch of the sweep: index of each created parameter, users, worklist.
    created_idx: SecondaryMap<Value, u32>,
    users: Vec<Vec<u32>>,
    worklist: Vec<u32>,
    calls: Vec<Call>,
    results: Vec<Value>,
    /// Visit marks of the single-predecessor walk.
    visited: SecondaryMap<Block, u32>,
    epoch: u32,
    /// Some value became an alias: operands must be resolved before the function is used.
    pub made_aliases: bool,
}

impl SsaBuilder {
    /// Forget everything, keeping memory.
    pub fn clear(&mut self) {
        for d in &mut self.defs[..self.var_types.len()] {
            d.clear();
        }
        self.var_types.clear();
        self.blocks.clear();
        self.preds_pool.clear();
        self.incomplete.clear();
        self.created.clear();
        self.created_idx.clear();
        self.worklist.clear();
        self.calls.clear();
        self.results.clear();
        self.visited.clear();
        self.epoch = 0;
        self.made_aliases = false;
    }

    /// Declare a variable of type `ty`.
    pub fn declare_var(&mut self, ty: Type) -> Variable {
        let var = Variable::new(self.var_types.len());
        self.var_types.push(ty);
        if self.defs.len() < self.var_types.len() {
            self.defs.push(Vec::new());
        }
        var
    }

    #[inline]
    fn def(&self, var: Variable, block: Block) -> Option<Value> {
        self.defs[var.index()].get(block.index()).and_then(|v| v.expand())
    }

    #[inline]
    fn set_def(&mut self, var: Variable, block: Block, val: Value) {
        let d = &mut self.defs[var.index()];
        let i = block.index();
        if i >= d.len() {
            d.resize(i + 1, PackedOption::NONE);
        }
        d[i] = val.into();
    }

    /// Record `var = val` in `block`.
    #[inline]
    pub fn def_var(&mut self, var: Variable, val: Value, block: Block) {
        self.set_def(var, block, val);
    }

    /// Is `block` sealed?
    pub fn is_sealed(&self, block: Block) -> bool {
        self.blocks[block].sealed
    }

    /// Number of parameters created here for `block`.
    pub fn num_ssa_params(&self, block: Block) -> u32 {
        self.blocks[block].ssa_params
    }

    /// The predecessors (branch instructions) of `block`.
    pub fn predecessors(&self, block: Block) -> &[Inst] {
        self.blocks[block].preds.as_slice(&self.preds_pool)
    }

    /// `inst`, a branch already in the layout, targets `block`. Returns false, recording
    /// nothing, if `block` is sealed.
    pub fn declare_predecessor(&mut self, block: Block, inst: Inst) -> bool {
        let st = &mut self.blocks[block];
        if st.sealed {
            return false;
        }
        if st.preds.as_slice(&self.preds_pool).last() != Some(&inst) {
            st.preds.push(inst, &mut self.preds_pool);
        }
        true
    }

    /// The value of `var` at the current point of `block`.
    pub fn use_var(&mut self, func: &mut Function, var: Variable, block: Block) -> Value {
        if let Some(v) = self.def(var, block) {
            return v;
        }
        let ty = self.var_types[var.index()];
        self.calls.push(Call::UseVar(block));
        self.run(func, var, ty);
        self.results.pop().unwrap_or(Value::from_u32(u32::MAX))
    }

    /// Seal `block`: every predecessor is known. Completes its incomplete parameters.
    pub fn seal_block(&mut self, func: &mut Function, block: Block) {
        if self.blocks[block].sealed {
            return;
        }
        let mut next = self.blocks[block].incomplete_head.expand();
        self.blocks[block].incomplete_head = PackedOption::NONE;
        self.blocks[block].incomplete_tail = PackedOption::NONE;
        self.blocks[block].sealed = true;
        while let Some(i) = next {
            let Incomplete { var, param, next: n } = self.incomplete[i.index()];
            next = n.expand();
            let ty = self.var_types[var.index()];
            self.calls.push(Call::FinishParam { block, param, chain_start: block });
            self.push_pred_reads(func, block);
            // `FinishParam` records its outcome as the definition in `block`; but if the
            // block redefined the variable after the use that made this parameter, that
            // later definition is the one live at the end of the block.
            let end_def = self.def(var, block);
            self.run(func, var, ty);
            let v = self.results.pop().unwrap_or(param);
            if let Some(d) = end_def {
                if d != param {
                    self.set_def(var, block, d);
                } else {
                    self.set_def(var, block, v);
                }
            }
        }
    }

    fn push_pred_reads(&mut self, func: &Function, block: Block) {
        let preds = self.blocks[block].preds;
        for k in 0..preds.len(&self.preds_pool) {
            let inst = preds.as_slice(&self.preds_pool)[k];
            // A predecessor outside the layout cannot happen (branches are recorded after
            // insertion); read in the target itself as a harmless fallback.
            let b = func.layout.inst_block(inst).unwrap_or(block);
            self.calls.push(Call::UseVar(b));
        }
    }

    fn run(&mut self, func: &mut Function, var: Variable, ty: Type) {
        while let Some(call) = self.calls.pop() {
            match call {
                Call::UseVar(block) => self.use_var_nonlocal(func, var, ty, block),
                Call::FinishParam { block, param, chain_start } => {
                    self.append_pred_args(func, block);
                    let v = self.try_remove_trivial(func, block, param);
                    self.set_chain(func, var, chain_start, block, v);
                    self.results.push(v);
                }
            }
        }
    }

    /// The next block of a single-predecessor walk from `b`, if `b` is sealed with exactly
    /// one predecessor and is not the entry.
    fn chain_next(&self, func: &Function, b: Block) -> Option<Block> {
        let st = &self.blocks[b];
        let preds = st.preds.as_slice(&self.preds_pool);
        if st.sealed && preds.len() == 1 && func.layout.entry_block() != Some(b) {
            func.layout.inst_block(preds[0])
        } else {
            None
        }
    }

    /// Record `v` as the definition of `var` in every block of the single-predecessor chain
    /// from `start` to `end` (inclusive).
    fn set_chain(&mut self, func: &Function, var: Variable, start: Block, end: Block, v: Value) {
        let mut b = start;
        // The chain was walked before (it reaches `end`); the bound only guards a cycle.
        for _ in 0..=func.dfg.num_blocks() {
            self.set_def(var, b, v);
            if b == end {
                return;
            }
            match self.chain_next(func, b) {
                Some(n) => b = n,
                None => return,
            }
        }
    }

    fn use_var_nonlocal(&mut self, func: &mut Function, var: Variable, ty: Type, start: Block) {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.visited.clear();
            self.epoch = 1;
        }
        let epoch = self.epoch;
        let entry = func.layout.entry_block();
        let mut block = start;
        loop {
            if let Some(v) = self.def(var, block) {
                self.set_chain(func, var, start, block, v);
                self.results.push(v);
                return;
            }
            let st = self.blocks[block];
            if Some(block) == entry {
                let z = self.zero(func, block, ty);
                self.set_chain(func, var, start, block, z);
                self.results.push(z);
                return;
            }
            if !st.sealed {
                let p = self.append_param(func, block, ty);
                let idx = IncompleteIdx::new(self.incomplete.len());
                self.incomplete.push(Incomplete { var, param: p, next: PackedOption::NONE });
                match st.incomplete_tail.expand() {
                    Some(t) => self.incomplete[t.index()].next = idx.into(),
                    None => self.blocks[block].incomplete_head = idx.into(),
                }
                self.blocks[block].incomplete_tail = idx.into();
                self.set_chain(func, var, start, block, p);
                self.results.push(p);
                return;
            }
            let npreds = st.preds.len(&self.preds_pool);
            if npreds == 0 {
                let z = self.zero(func, block, ty);
                self.set_chain(func, var, start, block, z);
                self.results.push(z);
                return;
            }
            if npreds == 1 {
                self.visited[block] = epoch;
                let pred = st.preds.as_slice(&self.preds_pool)[0];
                match func.layout.inst_block(pred) {
                    Some(p) if self.visited[p] != epoch => {
                        block = p;
                        continue;
                    }
                    _ => {
                        // An unreachable cycle of single-predecessor blocks: no path from
                        // the entry assigns the variable.
                        let z = self.zero(func, start, ty);
                        self.set_chain(func, var, start, block, z);
                        self.results.push(z);
                        return;
                    }
                }
            }
            // Several predecessors: a parameter, completed from their values.
            let p = self.append_param(func, block, ty);
            self.set_chain(func, var, start, block, p);
            self.calls.push(Call::FinishParam { block, param: p, chain_start: start });
            self.push_pred_reads(func, block);
            return;
        }
    }

    fn append_param(&mut self, func: &mut Function, block: Block, ty: Type) -> Value {
        let p = func.dfg.append_block_param(block, ty);
        self.blocks[block].ssa_params += 1;
        self.created.push(p);
        p
    }

    /// Pop one result per predecessor of `block` (the first predecessor's on top) and
    /// append it to every branch of that predecessor targeting `block`.
    fn append_pred_args(&mut self, func: &mut Function, block: Block) {
        let preds = self.blocks[block].preds;
        for k in 0..preds.len(&self.preds_pool) {
            let inst = preds.as_slice(&self.preds_pool)[k];
            let Some(v) = self.results.pop() else { return };
            let dfg = &mut func.dfg;
            for d in 0..dfg.branch_destinations(inst).len() {
                let mut bc = dfg.branch_destinations(inst)[d];
                if bc.block(&dfg.value_lists) == block {
                    bc.append_arg(BlockArg::Value(v), &mut dfg.value_lists);
                    dfg.branch_destinations_mut(inst)[d] = bc;
                }
            }
        }
    }

    /// If `param` (of `block`, sealed, with all its arguments) is trivial, remove it and
    /// return what replaces it; otherwise return `param`.
    fn try_remove_trivial(&mut self, func: &mut Function, block: Block, param: Value) -> Value {
        if !func.dfg.value_is_attached(param) {
            return func.dfg.resolve_aliases(param);
        }
        let idx = match func.dfg.value_def(param) {
            Some(ValueDef::Param(b, i)) if b == block => i,
            _ => return param,
        };
        let mut same = None;
        let preds = self.blocks[block].preds;
        for &inst in preds.as_slice(&self.preds_pool) {
            if func.layout.inst_block(inst).is_none() {
                continue; // removed with unreachable code
            }
            let dfg = &func.dfg;
            for bc in dfg.branch_destinations(inst) {
                if bc.block(&dfg.value_lists) != block {
                    continue;
                }
                let Some(&raw) = bc.raw_args(&dfg.value_lists).get(idx) else { return param };
                let BlockArg::Value(v) = BlockArg::decode(raw) else { return param };
                let v = dfg.resolve_aliases(v);
                if v == param || Some(v) == same {
                    continue;
                }
                if same.is_some() {
                    return param;
                }
                same = Some(v);
            }
        }
        let ty = func.dfg.value_type(param);
        let same = match same {
            Some(v) => v,
            None => self.zero(func, block, ty),
        };
        for k in 0..preds.len(&self.preds_pool) {
            let inst = preds.as_slice(&self.preds_pool)[k];
            if func.layout.inst_block(inst).is_none() {
                continue;
            }
            let dfg = &mut func.dfg;
            for d in 0..dfg.branch_destinations(inst).len() {
                let mut bc = dfg.branch_destinations(inst)[d];
                if bc.block(&dfg.value_lists) == block {
                    bc.remove_arg(idx, &mut dfg.value_lists);
                    dfg.branch_destinations_mut(inst)[d] = bc;
                }
            }
        }
        func.dfg.remove_block_param(block, idx);
        func.dfg.change_to_alias(param, same);
        self.made_aliases = true;
        same
    }

    /// Remove trivial parameters created here until none is left (every block sealed).
    ///
    /// A worklist over the parameters: removing one re-examines the parameters that received
    /// it as an argument (its *users*), whose arguments may now all be equal. A removed
    /// parameter's users become users of its replacement, which may itself be removed later.
    pub fn remove_trivial_params(&mut self, func: &mut Function) {
        self.created.retain(|&p| func.dfg.value_is_attached(p));
        let n = self.created.len();
        for (k, &p) in self.created.iter().enumerate() {
            self.created_idx[p] = k as u32;
        }
        // Users: for every created parameter, the created parameters it flows into.
        let m = n.min(self.users.len());
        for u in &mut self.users[..m] {
            u.clear();
        }
        while self.users.len() < n {
            self.users.push(Vec::new());
        }
        for k in 0..n {
            let q = self.created[k];
            let Some(ValueDef::Param(block, idx)) = func.dfg.value_def(q) else { continue };
            for &inst in self.blocks[block].preds.as_slice(&self.preds_pool) {
                if func.layout.inst_block(inst).is_none() {
                    continue;
                }
                for bc in func.dfg.branch_destinations(inst) {
                    if bc.block(&func.dfg.value_lists) != block {
                        continue;
                    }
                    if let Some(&raw) = bc.raw_args(&func.dfg.value_lists).get(idx)
                        && let BlockArg::Value(v) = BlockArg::decode(raw)
                    {
                        let v = func.dfg.resolve_aliases(v);
                        let j = *self.created_idx.get(v) as usize;
                        if j < n && self.created[j] == v && j != k {
                            self.users[j].push(k as u32);
                        }
                    }
                }
            }
        }
        self.worklist.clear();
        self.worklist.extend((0..n as u32).rev());
        while let Some(k) = self.worklist.pop() {
            let p = self.created[k as usize];
            if !func.dfg.value_is_attached(p) {
                continue;
            }
            let Some(ValueDef::Param(b, _)) = func.dfg.value_def(p) else { continue };
            if !func.layout.is_block_inserted(b) {
                continue;
            }
            let same = self.try_remove_trivial(func, b, p);
            if same == p {
                continue;
            }
            let users = core::mem::take(&mut self.users[k as usize]);
            self.worklist.extend(users.iter().copied());
            let j = *self.created_idx.get(same) as usize;
            if j < n && self.created[j] == same {
                self.users[j].extend(users.iter().copied().filter(|&u| u as usize != j));
            }
            self.users[k as usize] = users;
        }
        self.created.retain(|&p| func.dfg.value_is_attached(p));
    }

    /// Materialize a zero of type `ty` at the top of `block`.
    fn zero(&mut self, func: &mut Function, block: Block, ty: Type) -> Value {
        let (data, ctrl) = if ty.is_int() && ty.is_scalar() && ty.bits() <= 64 {
            (InstructionData::UnaryImm { opcode: Opcode::Iconst, imm: Imm64(0) }, ty)
        } else if ty == types::I128 {
            let lo = insert_top(
                func,
                block,
                InstructionData::UnaryImm { opcode: Opcode::Iconst, imm: Imm64(0) },
                types::I64,
            );
            (InstructionData::Unary { opcode: Opcode::Uextend, arg: lo }, ty)
        } else if ty == types::F16 {
            (InstructionData::UnaryIeee16 { opcode: Opcode::F16const, imm: Ieee16(0) }, types::INVALID)
        } else if ty == types::F32 {
            (InstructionData::UnaryIeee32 { opcode: Opcode::F32const, imm: Ieee32(0) }, types::INVALID)
        } else if ty == types::F64 {
            (InstructionData::UnaryIeee64 { opcode: Opcode::F64const, imm: Ieee64(0) }, types::INVALID)
        } else {
            // F128 and vectors: a zero constant of the type's size. (Variable types are
            // checked when declared.)
            let constant = func.dfg.insert_constant(ConstantData::new(vec![0; ty.bytes() as usize]));
            let (op, ctrl) = if ty == types::F128 { (Opcode::F128const, types::INVALID) } else { (Opcode::Vconst, ty) };
            (InstructionData::UnaryConst { opcode: op, constant }, ctrl)
        };
        insert_top(func, block, data, ctrl)
    }
}

/// Is `ty` a type variables can have (one a zero can be made of)?
pub(crate) fn is_variable_type(ty: Type) -> bool {
    (ty.is_int() || ty.is_float()) && !ty.is_dynamic_vector() && (ty.is_scalar() || ty.is_vector())
}

/// Insert `data` before the first instruction of `block` (or as its only one) and return
/// its first result.
fn insert_top(func: &mut Function, block: Block, data: InstructionData, ctrl: Type) -> Value {
    let inst = func.dfg.make_inst(data);
    let _ = func.dfg.make_inst_results(inst, ctrl);
    match func.layout.first_inst(block) {
        Some(first) => func.layout.insert_inst(inst, first),
        None => func.layout.append_inst(inst, block),
    }
    func.dfg.first_result(inst).unwrap_or(Value::from_u32(u32::MAX))
}

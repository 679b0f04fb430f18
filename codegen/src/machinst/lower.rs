//! The lowering driver: turns IR into VCode by calling the target's [`LowerBackend`] on each
//! instruction.
//!
//! Blocks are visited in reverse lowering order and instructions backwards, so every use
//! of a value is lowered before its definition. That gives three things for free:
//! - a pure instruction none of whose results was asked for is dead and skipped;
//! - an instruction can be *sunk* (merged) into its single user: the user asks
//!   ([`Lower::sinkable_inst`]) and marks it ([`Lower::sink_inst`]), and it is skipped later;
//! - constants folded into users as immediates are never materialized.
//!
//! Values get virtual registers lazily, the first time a lowered instruction uses or
//! defines them. A load may only be sunk when no other side-effecting instruction lies
//! between it and the place where its user is lowered: each instruction has a *color*, the
//! number of side-effecting instructions before it in its block, and the backward scan keeps
//! a *scan color*, the color of the earliest side-effecting instruction lowered or sunk so
//! far. A side-effecting instruction can be sunk when its color is one less than the scan
//! color; sinking it lowers the scan color, so a user can absorb two loads in a row (as in
//! `store (iadd (load p) (imul (load q) k)), p`, where both loads merge into instructions
//! of the store's tree).
//!
//! Repeated loads: a load that cannot trap and reads `readonly` memory gives the same value
//! as an identical earlier load (same opcode, type, flags, address and offset) in the same
//! block (or in the block lowered right before, when that is the only predecessor), so it
//! takes that load's value instead ([`Lower::canon`]): Wasm code reloads its heap base
//! before every access. Never across a call, so the value stays short-lived (a call would
//! force it into a callee-saved register or a spill slot).

use crate::machinst::abi::{AbiSpec, Callee};
use crate::machinst::blockorder::{BlockLoweringOrder, LoweredBlock};
use crate::machinst::call::SigCache;
use crate::machinst::vcode::{VCode, VCodeBuilder};
use crate::machinst::{BlockIndex, MachInst, MachLabel, Reg, SourceLoc, ValueRegs, Writable};
use crate::{CodegenError, CodegenResult};
use kiln_ir::entity::{EntitySet, PackedOption, SecondaryMap};
use kiln_ir::instructions::BlockArg;
use kiln_ir::settings::Flags;
use kiln_ir::types::{self, Type};
use kiln_ir::{Block, Function, Inst, InstructionData, Opcode, Value};
use regalloc2::VReg;
use smallvec::SmallVec;

/// What a target implements to lower IR instructions.
pub trait LowerBackend {
    /// The target's instruction type.
    type MInst: MachInst;
    /// The target's ABI object.
    type Abi: AbiSpec<I = Self::MInst>;

    /// The ABI object (built from the shared flags, the ISA flags and the triple).
    fn abi(&self) -> &Self::Abi;

    /// Lower one non-terminator instruction (calls excepted: the framework lowers
    /// `call`/`call_indirect` itself, see [`crate::machinst::call`]).
    fn lower(&self, ctx: &mut Lower<'_, Self::MInst>, inst: Inst) -> CodegenResult<()>;

    /// Lower a terminator. `targets` has one label per branch destination of the
    /// instruction (`dfg.branch_destinations`), in order. `return`, `return_call*` and
    /// `try_call*` are lowered by the framework and never reach the target.
    fn lower_branch(&self, ctx: &mut Lower<'_, Self::MInst>, inst: Inst, targets: &[MachLabel]) -> CodegenResult<()>;

    /// A jump to `target` (for edge blocks).
    fn gen_jump(&self, target: MachLabel) -> Self::MInst {
        Self::MInst::gen_jump(target)
    }
}

/// How many times a value is used (saturating).
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
pub enum Uses {
    /// Never.
    #[default]
    None,
    /// Exactly once.
    Once,
    /// Exactly twice (a load and a store of one address merged into one instruction).
    Twice,
    /// More than twice.
    Many,
}

impl Uses {
    /// One more use.
    #[inline]
    fn inc(self) -> Self {
        match self {
            Uses::None => Uses::Once,
            Uses::Once => Uses::Twice,
            _ => Uses::Many,
        }
    }

    /// The uses of two sets of users together.
    fn plus(self, other: Self) -> Self {
        match (self, other) {
            (x, Uses::None) | (Uses::None, x) => x,
            (Uses::Once, Uses::Once) => Uses::Twice,
            _ => Uses::Many,
        }
    }
}

/// The lowering context of one function.
pub struct Lower<'f, I: MachInst> {
    /// The function.
    pub f: &'f Function,
    /// Shared settings.
    pub flags: &'f Flags,
    /// The target's ABI object.
    pub abi: &'f dyn AbiSpec<I = I>,
    /// The ABI state of the function.
    pub callee: Callee,
    /// The computed signatures of the calls.
    pub(crate) sigs: SigCache,
    vcode: VCodeBuilder<I>,
    value_regs: SecondaryMap<Value, ValueRegs>,
    uses: SecondaryMap<Value, Uses>,
    /// The earlier identical load whose value a repeated `readonly` load takes.
    same_as: SecondaryMap<Value, PackedOption<Value>>,
    color: SecondaryMap<Inst, u32>,
    /// The color of the earliest side-effecting instruction lowered or sunk so far in the
    /// current block (the scan runs backwards).
    scan_color: u32,
    sunk: EntitySet<Inst>,
    ir_insts: Vec<I>,
    cur_inst: Option<Inst>,
    cur_block: Option<Block>,
    /// Return values and exception payloads of the `try_call` being lowered: `retK` and
    /// `exnK` block arguments refer to them.
    pub(crate) try_call_rets: SmallVec<[ValueRegs; 4]>,
    pub(crate) try_call_payloads: SmallVec<[Reg; 2]>,
}

impl<'f, I: MachInst> Lower<'f, I> {
    /// Set up lowering of `f`.
    pub fn new(
        f: &'f Function,
        abi: &'f dyn AbiSpec<I = I>,
        callee: Callee,
        sigs: SigCache,
        order: &BlockLoweringOrder,
    ) -> Self {
        let mut vcode = VCodeBuilder::new(order.len(), f.dfg.num_insts() + order.len());
        vcode.set_spillslot_sizes(abi);
        let mut l = Lower {
            f,
            flags: abi.flags(),
            abi,
            callee,
            sigs,
            vcode,
            value_regs: SecondaryMap::with_capacity(f.dfg.num_values()),
            uses: SecondaryMap::with_capacity(f.dfg.num_values()),
            same_as: SecondaryMap::new(),
            color: SecondaryMap::with_capacity(f.dfg.num_insts()),
            scan_color: 0,
            sunk: EntitySet::new(),
            ir_insts: Vec::with_capacity(8),
            cur_inst: None,
            cur_block: None,
            try_call_rets: SmallVec::new(),
            try_call_payloads: SmallVec::new(),
        };
        l.compute_uses_and_colors(order);
        l
    }

    /// The virtual register holding the function's incoming return-area pointer
    /// (allocated on first request: returns are lowered before the entry block that
    /// receives the pointer). A tail call to a function with the same returns passes it on.
    pub fn ret_area_ptr(&mut self) -> CodegenResult<Reg> {
        match self.callee.ret_area_ptr {
            Some(r) => Ok(r),
            None => {
                let r = self.alloc_tmp(types::I64)?.to_reg();
                self.callee.ret_area_ptr = Some(r);
                Ok(r)
            }
        }
    }

    fn compute_uses_and_colors(&mut self, order: &BlockLoweringOrder) {
        let f = self.f;
        // The readonly loads of the current block (since its last call), chained per
        // address value through `load_head`: (load, result, next index or u32::MAX).
        let mut loads: Vec<(Inst, Value, u32)> = Vec::new();
        let mut load_head: SecondaryMap<Value, u32> = SecondaryMap::with_default(u32::MAX);
        let mut repeated: Vec<(Value, Value)> = Vec::new();
        let lowered = order.lowered_order();
        // How many lowered predecessors each lowered block has.
        let mut preds = vec![0u32; lowered.len()];
        for i in 0..lowered.len() {
            for s in order.succs(BlockIndex(i as u32)) {
                preds[s.index()] += 1;
            }
        }
        for (i, lb) in lowered.iter().enumerate() {
            let LoweredBlock::Orig { block } = *lb else { continue };
            // A block whose only predecessor is the block lowered right before it continues
            // that block's table (the earlier loads dominate it).
            let continues = i > 0
                && preds[i] == 1
                && matches!(lowered[i - 1], LoweredBlock::Orig { .. })
                && order.succs(BlockIndex(i as u32 - 1)).contains(&BlockIndex(i as u32));
            if !continues {
                forget_loads(&mut loads, &mut load_head, f);
            }
            let mut color = 0u32;
            for inst in f.layout.block_insts(block) {
                self.color[inst] = color;
                let op = f.dfg.opcode(inst);
                if has_side_effect(f, inst, op) {
                    color += 1;
                    if op.is_call() {
                        forget_loads(&mut loads, &mut load_head, f);
                    }
                } else if let InstructionData::Load { flags, arg, offset, .. } = f.dfg.insts[inst]
                    && f.dfg.mem_flags.get(flags).readonly()
                    && let &[result] = f.dfg.inst_results(inst)
                {
                    let arg = f.dfg.resolve_aliases(arg);
                    let ty = f.dfg.value_type(result);
                    let mut i = load_head[arg];
                    let mut same = None;
                    while i != u32::MAX {
                        let (other, other_result, next) = loads[i as usize];
                        if let InstructionData::Load { opcode: o2, flags: fl2, offset: off2, .. } = f.dfg.insts[other]
                            && o2 == op
                            && fl2 == flags
                            && off2 == offset
                            && f.dfg.value_type(other_result) == ty
                        {
                            same = Some(other_result);
                            break;
                        }
                        i = next;
                    }
                    match same {
                        Some(first) => {
                            self.same_as[result] = first.into();
                            repeated.push((result, first));
                        }
                        None => {
                            loads.push((inst, result, load_head[arg]));
                            load_head[arg] = (loads.len() - 1) as u32;
                        }
                    }
                }
                f.dfg.for_each_inst_value(inst, |v| {
                    let v = f.dfg.resolve_aliases(v);
                    let u = &mut self.uses[v];
                    *u = u.inc();
                });
            }
        }
        // The uses of a repeated load count as uses of the first.
        for (dup, first) in repeated {
            self.uses[first] = self.uses[first].plus(self.uses[dup]);
        }
    }

    /// `v` with aliases resolved, and a repeated readonly load replaced by the first.
    #[inline]
    pub fn canon(&self, v: Value) -> Value {
        let v = self.f.dfg.resolve_aliases(v);
        self.same_as[v].expand().unwrap_or(v)
    }

    // ---------------------------------------------------------------------------------
    // Registers

    /// Allocate registers for a value of type `ty`.
    pub fn alloc_regs(&mut self, ty: Type) -> CodegenResult<ValueRegs> {
        let (classes, tys) = I::rc_for_type(ty)?;
        Ok(match classes.len() {
            1 => ValueRegs::one(self.vcode.alloc_vreg(classes[0], tys[0])?),
            2 => ValueRegs::two(self.vcode.alloc_vreg(classes[0], tys[0])?, self.vcode.alloc_vreg(classes[1], tys[1])?),
            _ => return Err(CodegenError::Unsupported(format!("type {ty}"))),
        })
    }

    /// A temporary register for a value of register type `ty`.
    pub fn alloc_tmp(&mut self, ty: Type) -> CodegenResult<Writable<Reg>> {
        let (classes, tys) = I::rc_for_type(ty)?;
        Ok(Writable::from_reg(self.vcode.alloc_vreg(classes[0], tys[0])?))
    }

    /// The registers of value `v`, allocating them on first use. Marks `v` as needed.
    pub fn put_value_in_regs(&mut self, v: Value) -> CodegenResult<ValueRegs> {
        let v = self.canon(v);
        let r = self.value_regs[v];
        if r.is_valid() {
            return Ok(r);
        }
        let ty = self.f.dfg.value_type(v);
        let r = self.alloc_regs(ty)?;
        self.value_regs[v] = r;
        Ok(r)
    }

    /// The single register of value `v`.
    pub fn put_value_in_reg(&mut self, v: Value) -> CodegenResult<Reg> {
        let r = self.put_value_in_regs(v)?;
        r.only_reg().ok_or_else(|| CodegenError::Other(format!("{v} needs a single register")))
    }

    /// The registers of result `idx` of `inst`, to write.
    pub fn output_regs(&mut self, inst: Inst, idx: usize) -> CodegenResult<ValueRegs> {
        let v = self.f.dfg.inst_results(inst)[idx];
        self.put_value_in_regs(v)
    }

    /// The single register of result `idx` of `inst`, to write.
    pub fn output_reg(&mut self, inst: Inst, idx: usize) -> CodegenResult<Writable<Reg>> {
        let v = self.f.dfg.inst_results(inst)[idx];
        Ok(Writable::from_reg(self.put_value_in_reg(v)?))
    }

    /// Has value `v` been asked for by an instruction lowered so far?
    pub fn is_value_needed(&self, v: Value) -> bool {
        self.value_regs[v].is_valid()
    }

    /// Make the result `dst` of the current instruction share the register of `src` (a
    /// no-op conversion), without a move.
    pub fn alias_value(&mut self, dst: Value, src: Reg) -> CodegenResult<()> {
        let dst_regs = self.put_value_in_regs(dst)?;
        let d = dst_regs.only_reg().ok_or_else(|| CodegenError::Other("alias of a register pair".into()))?;
        if d != src {
            self.vcode.set_vreg_alias(d, src);
        }
        Ok(())
    }

    // ---------------------------------------------------------------------------------
    // Instructions

    /// Emit a machine instruction for the current IR instruction.
    pub fn emit(&mut self, inst: I) {
        self.ir_insts.push(inst);
    }

    /// The IR instruction data of `inst`.
    pub fn data(&self, inst: Inst) -> &'f InstructionData {
        &self.f.dfg.insts[inst]
    }

    /// The value operands of `inst`.
    pub fn inputs(&self, inst: Inst) -> &'f [Value] {
        self.f.dfg.inst_args(inst)
    }

    /// The type of value `v`.
    pub fn value_ty(&self, v: Value) -> Type {
        self.f.dfg.value_type(v)
    }

    /// The type of result `idx` of `inst`.
    pub fn output_ty(&self, inst: Inst, idx: usize) -> Type {
        self.f.dfg.value_type(self.f.dfg.inst_results(inst)[idx])
    }

    /// The instruction defining `v`, if it is an instruction result.
    pub fn def_inst(&self, v: Value) -> Option<Inst> {
        self.f.dfg.value_def(self.canon(v))?.inst()
    }

    /// How often `v` is used in the function.
    pub fn uses(&self, v: Value) -> Uses {
        self.uses[self.canon(v)]
    }

    /// A lowering used the operand `v` of a multi-use instruction directly (it folded that
    /// instruction into an addressing mode): count `v` as used more than once, so the
    /// instruction's own lowering, which comes later in the backward scan, does not merge
    /// `v`'s definition into itself while other instructions read `v` from a register.
    pub fn note_exposed_use(&mut self, v: Value) {
        let v = self.canon(v);
        self.uses[v] = Uses::Many;
    }

    /// The constant `v` holds if it comes from `iconst`: its bits, zero-extended from the
    /// type width.
    pub fn iconst_bits(&self, v: Value) -> Option<u64> {
        let inst = self.def_inst(v)?;
        match self.f.dfg.insts[inst] {
            InstructionData::UnaryImm { opcode: Opcode::Iconst, imm } => {
                let bits = self.value_ty(v).bits();
                Some(imm.zero_extend_from(bits).0 as u64)
            }
            _ => None,
        }
    }

    /// The constant `v` holds if it comes from `iconst`, sign-extended to 64 bits.
    pub fn iconst_signed(&self, v: Value) -> Option<i64> {
        let bits = self.value_ty(v).bits();
        self.iconst_bits(v).map(|b| kiln_ir::immediates::Imm64(b as i64).sign_extend_from(bits).0)
    }

    /// If `v` is the single-use result of an instruction that can be merged into the
    /// current instruction (same block, nothing with side effects in between, not yet
    /// lowered), that instruction.
    pub fn sinkable_inst(&self, v: Value) -> Option<Inst> {
        let cur = self.cur_inst?;
        let src = self.def_inst(v)?;
        if self.uses(v) != Uses::Once || self.sunk.contains(src) {
            return None;
        }
        if self.f.layout.inst_block(src) != self.f.layout.inst_block(cur) {
            return None;
        }
        let op = self.f.dfg.opcode(src);
        if has_side_effect(self.f, src, op) {
            // Nothing else with side effects between it and where it would go: every
            // side-effecting instruction after it has been lowered or sunk already.
            if self.scan_color != self.color[src] + 1 {
                return None;
            }
        }
        Some(src)
    }

    /// Mark `inst` as merged into the current instruction: it will not be lowered.
    pub fn sink_inst(&mut self, inst: Inst) {
        self.sunk.insert(inst);
        if has_side_effect(self.f, inst, self.f.dfg.opcode(inst)) {
            self.scan_color = self.color[inst];
        }
    }

    /// Start lowering `inst` (whose side effects are `effectful`).
    fn set_cur_inst(&mut self, inst: Inst, effectful: bool) {
        self.cur_inst = Some(inst);
        if effectful {
            self.scan_color = self.color[inst];
        }
    }

    /// The source location of the instruction being lowered.
    pub fn srcloc(&self) -> SourceLoc {
        self.cur_inst.map_or(SourceLoc::default(), |i| self.f.srcloc(i))
    }

    /// The IR block being lowered.
    pub fn cur_block(&self) -> Option<Block> {
        self.cur_block
    }

    /// Record the return values and exception payload registers of the `try_call` being
    /// lowered, for its `retK`/`exnK` block arguments.
    pub fn set_try_call_values(&mut self, rets: &[ValueRegs], payloads: &[Reg]) {
        self.try_call_rets = SmallVec::from_slice(rets);
        self.try_call_payloads = SmallVec::from_slice(payloads);
    }

    /// The label of a constant-pool entry holding `bytes`.
    pub fn constant_label(&mut self, bytes: &[u8]) -> MachLabel {
        self.vcode.constant_label(bytes)
    }

    /// Allocate a virtual register of the class of `ty` without binding it to a value.
    pub fn alloc_vreg(&mut self, class: regalloc2::RegClass, ty: Type) -> CodegenResult<Reg> {
        self.vcode.alloc_vreg(class, ty)
    }

    // ---------------------------------------------------------------------------------
    // Driver

    /// The registers of a branch's block arguments, in `out` (cleared first).
    fn block_call_regs(&mut self, args: impl Iterator<Item = BlockArg>, out: &mut Vec<VReg>) -> CodegenResult<()> {
        out.clear();
        for a in args {
            let regs = match a {
                BlockArg::Value(v) => self.put_value_in_regs(v)?,
                BlockArg::TryCallRet(k) => *self
                    .try_call_rets
                    .get(k as usize)
                    .ok_or_else(|| CodegenError::Other(format!("ret{k} out of range")))?,
                BlockArg::TryCallExn(k) => ValueRegs::one(
                    *self
                        .try_call_payloads
                        .get(k as usize)
                        .ok_or_else(|| CodegenError::Other(format!("exn{k} out of range")))?,
                ),
            };
            out.extend(regs.regs().map(|r| r.vreg()));
        }
        Ok(())
    }

    fn finish_ir_inst(&mut self, loc: SourceLoc) {
        let mut insts = core::mem::take(&mut self.ir_insts);
        self.vcode.push_ir_inst(&mut insts, loc);
        self.ir_insts = insts;
    }

    /// Lower the whole function.
    pub fn lower<B: LowerBackend<MInst = I>>(
        mut self,
        backend: &B,
        order: &BlockLoweringOrder,
    ) -> CodegenResult<(VCode<I>, Callee)> {
        let f = self.f;
        let pool = &f.dfg.value_lists;
        let entry = f.layout.entry_block();
        // Branch arguments of the successor being added (reused).
        let mut arg_regs: Vec<VReg> = Vec::new();
        for (bi, lb) in order.lowered_order().iter().enumerate().rev() {
            let bidx = BlockIndex(bi as u32);
            self.vcode.start_block();
            match *lb {
                LoweredBlock::Edge { pred, succ_idx, succ } => {
                    let term = f.layout.last_inst(pred).expect("edge from a block with a terminator");
                    let dest = f.dfg.branch_destinations(term)[succ_idx as usize];
                    self.set_cur_inst(term, true);
                    self.cur_block = Some(pred);
                    if f.dfg.insts[term].opcode().has_exception_edges() {
                        // Return values are defined by the call in the predecessor; the
                        // exception payloads by the landing pad at the start of a handler edge.
                        self.try_call_values_for_edge(term)?;
                        if succ_idx == 0 {
                            self.gen_try_call_normal_edge(term)?;
                        } else {
                            self.vcode.set_landing_pad(bidx);
                            // Each landing pad defines its own payload registers (SSA).
                            let cc = f
                                .dfg
                                .call_signature(term)
                                .and_then(|s| f.dfg.signatures.get(s))
                                .map_or(kiln_ir::signature::CallConv::Fast, |s| s.call_conv);
                            let mut payloads = SmallVec::<[Reg; 2]>::new();
                            for _ in 0..cc.exception_payloads() {
                                payloads.push(self.alloc_tmp(types::I64)?.to_reg());
                            }
                            self.try_call_payloads = payloads.clone();
                            self.gen_exception_payloads(cc, &payloads)?;
                        }
                    }
                    self.block_call_regs(dest.args(pool), &mut arg_regs)?;
                    let target = order.lowered_index_for_block(succ).expect("reachable");
                    self.emit(backend.gen_jump(MachLabel::from_block(target)));
                    self.vcode.start_succs(bidx);
                    self.vcode.add_succ(bidx, target, &arg_regs);
                    self.finish_ir_inst(SourceLoc::default());
                }
                LoweredBlock::Orig { block } => {
                    self.cur_block = Some(block);
                    let term = f.layout.last_inst(block);
                    if let Some(term) = term {
                        self.set_cur_inst(term, true);
                        let dest_targets = order.dest_targets(bidx);
                        let labels: SmallVec<[MachLabel; 8]> =
                            dest_targets.iter().map(|&t| MachLabel::from_block(t)).collect();
                        let op = f.dfg.opcode(term);
                        if !op.is_terminator() {
                            return Err(CodegenError::Other(format!("{block} does not end in a terminator")));
                        }
                        match op {
                            Opcode::Return => {
                                let values = f.dfg.inst_args(term);
                                self.gen_return(values)?;
                            }
                            Opcode::ReturnCall | Opcode::ReturnCallIndirect => self.lower_return_call(term)?,
                            Opcode::TryCall | Opcode::TryCallIndirect => self.lower_try_call(term, &labels)?,
                            _ => backend.lower_branch(&mut self, term, &labels)?,
                        }
                        // Successors with their arguments (edge blocks take none here).
                        let succs = order.succs(bidx);
                        if op == Opcode::BrTable {
                            for &s in succs {
                                self.vcode.set_indirect_target(s);
                            }
                        }
                        let dests = f.dfg.branch_destinations(term);
                        self.vcode.start_succs(bidx);
                        for (&s, &k) in succs.iter().zip(order.succ_dest_indices(bidx)) {
                            let is_edge = matches!(order.lowered_order()[s.index()], LoweredBlock::Edge { .. });
                            if is_edge {
                                arg_regs.clear();
                            } else {
                                self.block_call_regs(dests[k as usize].args(pool), &mut arg_regs)?;
                            }
                            self.vcode.add_succ(bidx, s, &arg_regs);
                        }
                        self.finish_ir_inst(f.srcloc(term));
                    }
                    let mut cursor = term.and_then(|t| f.layout.prev_inst(t));
                    while let Some(inst) = cursor {
                        cursor = f.layout.prev_inst(inst);
                        if self.sunk.contains(inst) {
                            continue;
                        }
                        let op = f.dfg.opcode(inst);
                        let effectful = has_side_effect(f, inst, op);
                        if !effectful {
                            let results = f.dfg.inst_results(inst);
                            if results.iter().all(|&r| !self.is_value_needed(r)) {
                                continue;
                            }
                        }
                        self.set_cur_inst(inst, effectful);
                        match op {
                            Opcode::Call | Opcode::CallIndirect => self.lower_call(inst, None)?,
                            _ => backend.lower(&mut self, inst)?,
                        }
                        self.finish_ir_inst(f.srcloc(inst));
                    }
                    self.cur_inst = None;
                    let params = f.dfg.block_params(block);
                    let mut param_regs = SmallVec::<[ValueRegs; 8]>::new();
                    for &p in params {
                        param_regs.push(self.put_value_in_regs(p)?);
                    }
                    if Some(block) == entry {
                        self.gen_args(&param_regs)?;
                        self.finish_ir_inst(SourceLoc::default());
                    } else {
                        self.vcode.set_params(bidx, param_regs.iter().flat_map(|r| r.regs().map(|x| x.vreg())));
                    }
                    self.clear_try_call_values();
                }
            }
            self.vcode.end_block(bidx, order.is_cold(bidx));
        }
        let vcode = self.vcode.build()?;
        Ok((vcode, self.callee))
    }
}

/// Empty the table of readonly loads (at the end of a block and at calls).
fn forget_loads(loads: &mut Vec<(Inst, Value, u32)>, head: &mut SecondaryMap<Value, u32>, f: &Function) {
    for &(inst, _, _) in loads.iter() {
        if let InstructionData::Load { arg, .. } = f.dfg.insts[inst] {
            head[f.dfg.resolve_aliases(arg)] = u32::MAX;
        }
    }
    loads.clear();
}

/// Does `inst` have an effect that forbids removing it when unused or moving it across
/// another such instruction?
pub fn has_side_effect(f: &Function, inst: Inst, op: Opcode) -> bool {
    if op.is_pure() {
        return false;
    }
    // Loads that cannot trap and read memory that never changes are movable.
    if op.can_load()
        && !op.can_store()
        && !op.other_side_effects()
        && let Some(flags) = f.dfg.inst_mem_flags(inst)
        && flags.notrap()
        && (flags.readonly() || flags.can_move())
    {
        return false;
    }
    true
}

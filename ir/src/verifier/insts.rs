//! Layout, block and instruction checks: the layout's integrity, block parameters, empty
//! blocks and terminator placement, the structure of every instruction (format, value
//! lists, jump/exception tables, memory-flag ids), its entity references, the definedness
//! of every value it uses, and — once all of that holds — SSA dominance and CFG freshness.

use super::Verifier;
use crate::analysis::{ControlFlowGraph, DominatorTree, cfg::for_each_destination};
use crate::dfg::ValueDef;
use crate::entities::*;
use crate::entity::{EntityRef, EntitySet};
use crate::function::DebugTag;
use crate::instructions::{BlockArg, BlockCall, InstructionData};
use crate::opcodes::Opcode;
use smallvec::SmallVec;

impl Verifier<'_> {
    /// Phase 1: every block and instruction of the layout exists, appears once, and knows
    /// its block. Returns false (after reporting) if the layout cannot be trusted.
    pub(super) fn check_layout(&mut self) -> bool {
        let func = self.func;
        let (dfg, layout) = (&func.dfg, &func.layout);
        let mut seen_blocks = EntitySet::<Block>::new();
        let mut seen_insts = EntitySet::<Inst>::new();
        for block in layout.blocks() {
            if !dfg.block_is_valid(block) {
                self.report(block, format!("{block} is in the layout but is not a block of the function"));
                return false;
            }
            if !seen_blocks.insert(block) {
                self.report(block, format!("{block} appears twice in the layout"));
                return false;
            }
            for inst in layout.block_insts(block) {
                if !dfg.insts.is_valid(inst) {
                    self.report(inst, format!("{inst} is in the layout but is not an instruction of the function"));
                    return false;
                }
                if !seen_insts.insert(inst) {
                    self.report(inst, format!("{inst} appears twice in the layout"));
                    return false;
                }
                if layout.inst_block(inst) != Some(block) {
                    self.report(inst, format!("{inst} is listed in {block} but the layout places it elsewhere"));
                    return false;
                }
            }
        }
        true
    }

    /// Phase 3: blocks and their instructions.
    pub(super) fn check_blocks(&mut self) {
        let func = self.func;
        let layout = &func.layout;
        for block in layout.blocks() {
            self.check_block_params(block);
            let Some(last) = layout.last_inst(block) else {
                self.report(block, format!("{block} cannot be empty"));
                continue;
            };
            for inst in layout.block_insts(block) {
                self.check_inst(inst, block, inst == last);
            }
            if !func.dfg.insts[last].opcode().is_terminator() {
                self.report(block, "block does not end in a terminator instruction");
            }
        }
    }

    /// The parameter list is intact and every parameter is attached to this block.
    fn check_block_params(&mut self, block: Block) {
        let dfg = &self.func.dfg;
        let Some(params) = dfg.try_block_params(block) else {
            self.report(block, format!("the parameter list of {block} is corrupt"));
            return;
        };
        for (i, &p) in params.iter().enumerate() {
            if !dfg.value_is_attached(p) || dfg.value_def(p) != Some(ValueDef::Param(block, i)) {
                self.report(block, format!("parameter {p} of {block} is not defined as its parameter {i}"));
            } else if dfg.value_type(p).is_invalid() {
                self.report(block, format!("parameter {p} of {block} has an invalid type"));
            }
        }
    }

    fn check_inst(&mut self, inst: Inst, block: Block, is_last: bool) {
        let data = self.func.dfg.insts[inst];
        let sound = self.check_structure(inst, &data);
        if sound {
            self.sound.insert(inst);
        } else {
            self.all_sound = false;
        }
        if !is_last && data.opcode().is_terminator() {
            self.report_inst(inst, format!("a terminator instruction was encountered before the end of {block}"));
        }
        if !sound {
            return;
        }
        if self.check_references(inst, &data) {
            self.typecheck(inst, &data);
            self.check_special(inst, &data);
        }
    }

    /// The instruction's shape can be trusted: its format matches its opcode, its value
    /// lists and block calls are intact, its tables exist and its memory flags are interned.
    fn check_structure(&mut self, inst: Inst, data: &InstructionData) -> bool {
        let dfg = &self.func.dfg;
        let pool = &dfg.value_lists;
        let op = data.opcode();
        if data.format() != op.format() {
            self.report_inst(inst, format!("instruction format {:?} doesn't match opcode {op}", data.format()));
            return false;
        }
        let list_ok = match data {
            InstructionData::MultiAry { args, .. }
            | InstructionData::Call { args, .. }
            | InstructionData::CallIndirect { args, .. }
            | InstructionData::TryCall { args, .. }
            | InstructionData::TryCallIndirect { args, .. } => args.try_as_slice(pool).is_some(),
            _ => true,
        };
        if !list_ok {
            self.report_inst(inst, "the argument list is corrupt");
            return false;
        }
        if dfg.try_inst_results(inst).is_none() {
            self.report_inst(inst, "the result list is corrupt");
            return false;
        }
        let calls: &[BlockCall] = match data {
            InstructionData::Jump { destination, .. } => core::slice::from_ref(destination),
            InstructionData::Brif { blocks, .. } => blocks,
            InstructionData::BranchTable { table, .. } => match dfg.jump_tables.get(*table) {
                None => {
                    self.report_inst(inst, format!("invalid jump table reference {table}"));
                    return false;
                }
                Some(t) if t.all_branches().is_empty() => {
                    self.report_inst(inst, format!("jump table {table} has no default target"));
                    return false;
                }
                Some(t) => t.all_branches(),
            },
            InstructionData::TryCall { exception, .. } | InstructionData::TryCallIndirect { exception, .. } => {
                match dfg.exception_tables.get(*exception) {
                    None => {
                        self.report_inst(inst, format!("invalid exception table reference {exception}"));
                        return false;
                    }
                    Some(t) if t.all_branches().is_empty() => {
                        self.report_inst(inst, format!("exception table {exception} has no normal-return target"));
                        return false;
                    }
                    Some(t) => t.all_branches(),
                }
            }
            _ => &[],
        };
        if !calls.iter().all(|c| c.is_well_formed(pool)) {
            self.report_inst(inst, "a branch target's argument list is corrupt");
            return false;
        }
        if let Some(id) = data.memflags()
            && id.0 as usize >= dfg.mem_flags.len()
        {
            self.report_inst(inst, format!("invalid memory flags reference {}", id.0));
            return false;
        }
        true
    }

    /// Every entity the instruction names exists (and every value it uses is defined).
    /// Returns false if a reference the type checks rely on is broken.
    fn check_references(&mut self, inst: Inst, data: &InstructionData) -> bool {
        let func = self.func;
        let dfg = &func.dfg;
        let ph = &func.placeholders;
        let mut ok = true;

        // Results.
        let results = dfg.inst_results(inst);
        for (i, &r) in results.iter().enumerate() {
            if !dfg.value_is_attached(r) || dfg.value_def(r) != Some(ValueDef::Result(inst, i)) {
                self.report_inst(inst, format!("result {r} is not defined as result {i} of {inst}"));
                ok = false;
            }
        }

        // Values used: operands, plain branch arguments, exception contexts.
        let values: SmallVec<[Value; 8]> = dfg.inst_values(inst);
        for &v in &values {
            ok &= self.check_value_use(inst, v);
        }

        // Branch targets.
        let entry = func.layout.entry_block();
        let mut targets: SmallVec<[Block; 4]> = SmallVec::new();
        for_each_destination(func, inst, |c| targets.push(c.block(&dfg.value_lists)));
        for b in targets {
            if !dfg.block_is_valid(b) || !func.layout.is_block_inserted(b) {
                self.report_inst(inst, format!("invalid block reference {b}"));
                ok = false;
            } else if Some(b) == entry {
                self.report_inst(inst, format!("invalid reference to entry block {b}"));
            }
        }

        // Other entities named by the format.
        match *data {
            InstructionData::Call { func_ref, .. }
            | InstructionData::TryCall { func_ref, .. }
            | InstructionData::FuncAddr { func_ref, .. } => match dfg.ext_funcs.get(func_ref) {
                Some(ext) if !ph.func_refs.contains(func_ref) => {
                    // A bad signature is reported at the declaration.
                    ok &= dfg.signatures.is_valid(ext.signature) && !ph.signatures.contains(ext.signature);
                }
                _ => {
                    self.report_inst(inst, format!("invalid function reference {func_ref}"));
                    ok = false;
                }
            },
            InstructionData::CallIndirect { sig_ref, .. } => ok &= self.check_sig_ref(inst, sig_ref),
            _ => {}
        }
        let undeclared: Option<String> = match *data {
            InstructionData::StackAddr { stack_slot: ss, .. } => (!func.stack_slots.is_valid(ss)
                || ph.stack_slots.contains(ss))
            .then(|| format!("invalid stack slot {ss}")),
            InstructionData::DynamicStackAddr { dynamic_stack_slot: dss, .. } => {
                (!func.dynamic_stack_slots.is_valid(dss) || ph.dynamic_stack_slots.contains(dss))
                    .then(|| format!("invalid dynamic stack slot {dss}"))
            }
            InstructionData::UnaryGlobalValue { global_value: gv, .. } => (!func.global_values.is_valid(gv)
                || ph.global_values.contains(gv))
            .then(|| format!("invalid global value {gv}")),
            InstructionData::UnaryConst { constant: c, .. } => {
                (!dfg.constants.is_valid(c) || ph.constants.contains(c)).then(|| format!("invalid constant {c}"))
            }
            InstructionData::Shuffle { mask, .. } => {
                (!dfg.immediates.is_valid(mask)).then(|| format!("invalid shuffle mask {mask}"))
            }
            InstructionData::ExceptionHandlerAddress { block, .. } => (!dfg.block_is_valid(block)
                || !func.layout.is_block_inserted(block))
            .then(|| format!("invalid block reference {block}")),
            _ => None,
        };
        if let Some(msg) = undeclared {
            self.report_inst(inst, msg);
            ok = false;
        }
        if let InstructionData::TryCall { exception, .. } | InstructionData::TryCallIndirect { exception, .. } = *data {
            let et = &dfg.exception_tables[exception];
            ok &= self.check_sig_ref(inst, et.sig);
            let items =
                et.items.iter().filter(|i| !matches!(i, crate::instructions::ExceptionItem::Context(_))).count();
            let handlers = et.all_branches().len() - 1;
            if items != handlers {
                self.report_inst(
                    inst,
                    format!("exception table {exception} has {items} handler items but {handlers} handler targets"),
                );
                ok = false;
            }
        }

        // Alias regions of memory flags (rule 10).
        if let Some(flags) = dfg.inst_mem_flags(inst)
            && let Some(r) = flags.alias_region()
            && !func.alias_regions.is_valid(r)
        {
            self.report_inst(inst, format!("undefined alias region {r}"));
        }

        // Debug tags (rule 30) and user stack maps.
        if let Some(tags) = func.debug_tags.get(&inst)
            && !tags.is_empty()
        {
            if !data.opcode().allows_debug_tags() {
                self.report_inst(inst, "debug tags present on non-call, non-sequence point instruction");
            }
            for t in tags {
                if let DebugTag::StackSlot(ss) = *t
                    && (!func.stack_slots.is_valid(ss) || ph.stack_slots.contains(ss))
                {
                    self.report_inst(inst, format!("debug tag names an invalid stack slot {ss}"));
                }
            }
        }
        if let Some(entries) = func.stack_maps.get(&inst)
            && !entries.is_empty()
        {
            if !data.opcode().allows_stack_map() {
                self.report_inst(inst, format!("{} cannot carry a user stack map", data.opcode()));
            }
            for e in entries {
                if !func.stack_slots.is_valid(e.slot) || ph.stack_slots.contains(e.slot) {
                    self.report_inst(inst, format!("stack map entry names an invalid stack slot {}", e.slot));
                }
            }
        }
        ok
    }

    fn check_sig_ref(&mut self, inst: Inst, sig: SigRef) -> bool {
        if self.func.dfg.signatures.is_valid(sig) && !self.func.placeholders.signatures.contains(sig) {
            true
        } else {
            self.report_inst(inst, format!("invalid signature reference {sig}"));
            false
        }
    }

    /// `v`, used by `inst`, is defined: a result or parameter (possibly through aliases)
    /// that is in the layout and consistent with its definition's lists.
    fn check_value_use(&mut self, inst: Inst, v: Value) -> bool {
        let func = self.func;
        let dfg = &func.dfg;
        if !dfg.value_is_valid(v) {
            self.report_inst(inst, format!("invalid value reference {v}"));
            return false;
        }
        // Follow aliases, bounded by the number of values (a cycle never ends on its own).
        let mut r = v;
        let mut steps = 0usize;
        while let Some(t) = dfg.alias_target(r) {
            r = t;
            steps += 1;
            if steps > dfg.num_values() {
                self.report_inst(inst, format!("value {v} is an alias in a cycle of aliases"));
                return false;
            }
        }
        if !dfg.value_is_attached(r) {
            self.report_inst(inst, format!("value {v} is an alias of the undefined value {r}"));
            return false;
        }
        match dfg.value_def(r) {
            Some(ValueDef::Result(di, i)) => {
                if !dfg.insts.is_valid(di) {
                    self.report_inst(inst, format!("uses value {v} from non-existent instruction {di}"));
                    return false;
                }
                if dfg.try_inst_results(di).and_then(|rs| rs.get(i)) != Some(&r) {
                    self.report_inst(inst, format!("uses value {v}, which is not among the results of {di}"));
                    return false;
                }
                if func.layout.inst_block(di).is_none() {
                    self.report_inst(inst, format!("uses value {v} from instruction {di} not in layout"));
                    return false;
                }
                if di == inst {
                    self.report_inst(inst, format!("uses value {v} from itself"));
                }
                true
            }
            Some(ValueDef::Param(b, i)) => {
                if !dfg.block_is_valid(b) {
                    self.report_inst(inst, format!("uses value {v} from non-existent block {b}"));
                    return false;
                }
                if dfg.try_block_params(b).and_then(|ps| ps.get(i)) != Some(&r) {
                    self.report_inst(inst, format!("uses value {v}, which is not among the parameters of {b}"));
                    return false;
                }
                if !func.layout.is_block_inserted(b) {
                    self.report_inst(inst, format!("uses value {v} from block {b} not in layout"));
                    return false;
                }
                true
            }
            None => {
                self.report_inst(inst, format!("invalid value reference {v}"));
                false
            }
        }
    }

    /// Phase 4: in reachable blocks, every definition dominates its uses.
    pub(super) fn check_dominance(&mut self, domtree: &DominatorTree) {
        let func = self.func;
        let (dfg, layout) = (&func.dfg, &func.layout);
        for block in layout.blocks() {
            if !domtree.is_reachable(block) {
                continue;
            }
            for inst in layout.block_insts(block) {
                let values = dfg.inst_values(inst);
                for v in values {
                    match dfg.value_def(v) {
                        Some(ValueDef::Result(di, _))
                            if di != inst
                                && dfg.insts.is_valid(di)
                                && layout.inst_block(di).is_some()
                                && !domtree.dominates(di, inst, layout) =>
                        {
                            self.report_inst(inst, format!("uses value {v} from non-dominating {di}"));
                        }
                        Some(ValueDef::Param(b, _))
                            if dfg.block_is_valid(b)
                                && layout.is_block_inserted(b)
                                && !domtree.block_dominates(b, block) =>
                        {
                            self.report_inst(inst, format!("uses value arg from non-dominating {b}"));
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    /// A CFG handed in by the caller agrees with the function's branches.
    pub(super) fn check_cfg(&mut self, cfg: &ControlFlowGraph) {
        let func = self.func;
        let mut expected: SmallVec<[Block; 8]> = SmallVec::new();
        for block in func.layout.blocks() {
            expected.clear();
            for inst in func.layout.block_insts(block) {
                for_each_destination(func, inst, |c| {
                    let b = c.block(&func.dfg.value_lists);
                    if b.index() < func.dfg.num_blocks() && !expected.contains(&b) {
                        expected.push(b);
                    }
                });
            }
            let succs = cfg.succs(block);
            if succs.len() != expected.len() || !expected.iter().all(|b| succs.contains(b)) {
                self.report(block, format!("the control-flow graph is out of date: successors of {block} differ"));
                continue;
            }
            for &s in succs {
                let has_edge = cfg.preds(s).iter().any(|p| p.block == block);
                if !has_edge {
                    self.report(block, format!("the control-flow graph is out of date: {s} lacks predecessor {block}"));
                }
            }
        }
        for block in func.layout.blocks() {
            for p in cfg.pred_iter(block) {
                let stale = func.layout.inst_block(p.inst) != Some(p.block)
                    || !func.dfg.insts.is_valid(p.inst)
                    || !func.dfg.insts[p.inst].opcode().is_branch();
                if stale {
                    self.report(block, format!("the control-flow graph is out of date: stale predecessor {}", p.inst));
                }
            }
        }
    }

    /// The kind of target a block call is, for `retK`/`exnK` placeholders.
    pub(super) fn block_call_targets(&self, data: &InstructionData) -> SmallVec<[(BlockCall, TargetKind); 4]> {
        let dfg = &self.func.dfg;
        let mut out = SmallVec::new();
        match *data {
            InstructionData::Jump { destination, .. } => out.push((destination, TargetKind::Plain)),
            InstructionData::Brif { blocks, .. } => out.extend(blocks.iter().map(|&b| (b, TargetKind::Plain))),
            InstructionData::BranchTable { table, .. } => {
                out.extend(dfg.jump_tables[table].all_branches().iter().map(|&b| (b, TargetKind::Plain)))
            }
            InstructionData::TryCall { exception, .. } | InstructionData::TryCallIndirect { exception, .. } => {
                for (i, &b) in dfg.exception_tables[exception].all_branches().iter().enumerate() {
                    out.push((b, if i == 0 { TargetKind::TryNormal } else { TargetKind::TryHandler }));
                }
            }
            _ => {}
        }
        out
    }
}

/// Where a block call sits, which decides the placeholders it may pass.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(super) enum TargetKind {
    /// `jump`, `brif`, `br_table`: values only.
    Plain,
    /// The normal-return target of a `try_call`: values and `retK`.
    TryNormal,
    /// A handler target of a `try_call`: values and `exnK`.
    TryHandler,
}

/// Display a block argument.
pub(super) fn arg_text(a: BlockArg) -> String {
    a.to_string()
}

/// Is `op` one of the opcodes whose block ends a `try_call`?
pub(super) fn is_try_call(op: Opcode) -> bool {
    matches!(op, Opcode::TryCall | Opcode::TryCallIndirect)
}

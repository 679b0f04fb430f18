//! Building the e-graph: a walk of the dominator tree in preorder that takes every pure
//! single-result instruction out of the layout and inserts it as an e-node (hash-consed,
//! folded and rewritten), while the *skeleton* — instructions with effects, in program order
//! — stays in place.
//!
//! On the way, with operands already value-numbered:
//! - redundant loads are removed and stored values forwarded to loads (keys from
//!   [`crate::alias`], in a map scoped by the dominator tree, so only a dominating access is
//!   reused);
//! - instructions whose only effect is a possible trap (`udiv`, `fcvt_to_sint`, …, and
//!   `trapz`/`trapnz`) are value-numbered against a *dominating* identical instruction,
//!   never moved;
//! - a division by a constant that cannot trap becomes a pure node (so strength reduction
//!   applies); loads that are `readonly` and `can_move` become pure nodes too;
//! - pure instructions with two results (`isplit`, overflow arithmetic) stay in the skeleton
//!   and are folded there when their operands are constants.
//!
//! Invariants: operands are visited before users (dominance order), so every operand has
//! an id when its user is inserted; a removed instruction's result is mapped to the id that
//! replaces it; each id made from an input instruction remembers that instruction's block
//! (its *home*, used by elaboration); nothing that may trap or touch memory leaves its place
//! (except `readonly can_move` loads, which the flags allow to move).

use super::{EGraph, Id, NodeData};
use crate::alias::{self, AliasAnalysis, MemKey};
use crate::rules;
use crate::scoped_map::ScopedMap;
use kiln_ir::analysis::domtree::DominatorTree;
use kiln_ir::data_value::DataValue;
use kiln_ir::instructions::InstructionData;
use kiln_ir::types::Type;
use kiln_ir::{Block, Function, Inst, Opcode};
use smallvec::SmallVec;

/// Scratch memory of the build walk.
#[derive(Default)]
pub(crate) struct BuildScratch {
    stack: Vec<(Block, bool)>,
    mem: ScopedMap<MemKey, (Id, bool)>,
    idem: ScopedMap<(InstructionData, Type), Id>,
    state: Vec<u32>,
}

/// Statistics of the build.
#[derive(Default, Clone, Copy, Debug)]
pub(crate) struct BuildStats {
    pub loads_removed: u64,
    pub loads_forwarded: u64,
    pub traps_merged: u64,
}

/// Build the e-graph of `func`.
pub(crate) fn build(
    func: &mut Function,
    eg: &mut EGraph,
    domtree: &DominatorTree,
    alias: &AliasAnalysis,
    s: &mut BuildScratch,
) -> BuildStats {
    let mut stats = BuildStats::default();
    s.mem.clear();
    s.idem.clear();
    s.stack.clear();
    let Some(entry) = func.layout.entry_block() else { return stats };
    s.stack.push((entry, false));
    while let Some((block, entered)) = s.stack.pop() {
        if entered {
            s.mem.pop_scope();
            s.idem.pop_scope();
            continue;
        }
        s.mem.push_scope();
        s.idem.push_scope();
        s.stack.push((block, true));
        alias.entry_state(block, &mut s.state);
        let mut next = func.layout.first_inst(block);
        while let Some(inst) = next {
            next = func.layout.next_inst(inst);
            visit_inst(func, eg, block, inst, s, &mut stats);
        }
        for &child in domtree.children(block).iter().rev() {
            s.stack.push((child, false));
        }
    }
    stats
}

fn visit_inst(
    func: &mut Function,
    eg: &mut EGraph,
    block: Block,
    inst: Inst,
    s: &mut BuildScratch,
    stats: &mut BuildStats,
) {
    eg.cur_srcloc = func.srcloc(inst);
    let op = func.dfg.opcode(inst);
    let single = func.dfg.inst_results(inst).len() == 1;
    if single && is_node(func, eg, inst, op) {
        let r = func.dfg.inst_results(inst)[0];
        let mut data = func.dfg.insts[inst];
        let mut pool = core::mem::take(&mut eg.empty_pool);
        for a in data.arguments_mut(&mut pool) {
            let v = func.dfg.resolve_aliases(*a);
            *a = eg.value_id(func, v).as_value();
        }
        eg.empty_pool = pool;
        let ctrl = func.dfg.ctrl_typevar(inst);
        let rty = func.dfg.value_type(r);
        let n = NodeData { data, ctrl, rty, orig: Some(inst), srcloc: eg.cur_srcloc };
        let id = eg.insert(func, n, 0);
        eg.set_value_id(r, id);
        eg.set_home(id, block);
        func.layout.remove_inst(inst);
        return;
    }
    // A skeleton instruction.
    if !single && op.is_pure() && rules::fold::foldable(op) && fold_multi(func, eg, inst) {
        func.layout.remove_inst(inst);
        return;
    }
    if op.can_load() && !op.other_side_effects() && single {
        if let InstructionData::Load { arg, .. } = func.dfg.insts[inst] {
            let a = func.dfg.resolve_aliases(arg);
            let addr = eg.value_id(func, a);
            let addr = eg.find(addr);
            if let Some(key) = alias::load_key(func, inst, addr.0, &s.state) {
                let r = func.dfg.inst_results(inst)[0];
                if let Some((id, forwarded)) = s.mem.get(&key) {
                    eg.set_value_id(r, id);
                    func.layout.remove_inst(inst);
                    if forwarded {
                        stats.loads_forwarded += 1;
                    } else {
                        stats.loads_removed += 1;
                    }
                    return;
                }
                let id = eg.value_id(func, r);
                s.mem.insert(key, (id, false));
            }
        }
    } else if op == Opcode::Trapz || op == Opcode::Trapnz {
        // A conditional trap dominated by an identical one never fires.
        let mut data = func.dfg.insts[inst];
        let mut pool = core::mem::take(&mut eg.empty_pool);
        for a in data.arguments_mut(&mut pool) {
            let v = func.dfg.resolve_aliases(*a);
            let id = eg.value_id(func, v);
            *a = eg.find(id).as_value();
        }
        eg.empty_pool = pool;
        let key = (data, Type::default());
        if s.idem.get(&key).is_some() {
            func.layout.remove_inst(inst);
            stats.traps_merged += 1;
            return;
        }
        s.idem.insert(key, Id(0));
    } else if single && op.side_effects_idempotent() && !op.can_load() && !op.format().has_value_list() {
        // Trapping but otherwise pure: reuse a dominating identical instruction.
        let r = func.dfg.inst_results(inst)[0];
        let mut data = func.dfg.insts[inst];
        let mut pool = core::mem::take(&mut eg.empty_pool);
        for a in data.arguments_mut(&mut pool) {
            let v = func.dfg.resolve_aliases(*a);
            let id = eg.value_id(func, v);
            *a = eg.find(id).as_value();
        }
        eg.empty_pool = pool;
        let key = (data, func.dfg.value_type(r));
        if let Some(id) = s.idem.get(&key) {
            eg.set_value_id(r, id);
            func.layout.remove_inst(inst);
            stats.traps_merged += 1;
            return;
        }
        let id = eg.value_id(func, r);
        s.idem.insert(key, id);
    }
    AliasAnalysis::transfer(&mut s.state, func, inst);
    if op == Opcode::Store
        && let InstructionData::Store { args, .. } = func.dfg.insts[inst]
    {
        let a = func.dfg.resolve_aliases(args[1]);
        let addr = eg.value_id(func, a);
        let addr = eg.find(addr);
        if let Some(key) = alias::store_key(func, inst, addr.0, &s.state) {
            let v = func.dfg.resolve_aliases(args[0]);
            let id = eg.value_id(func, v);
            s.mem.insert(key, (id, true));
        }
    }
}

/// May `inst` (with a single result) become an e-node?
///
/// `select_spectre_guard` is one: it is pure, so it is shared and hoisted out of loops like
/// any other node (a bounds-checked table or heap address computed once per loop instead
/// of once per access); no rule rewrites it (none has it as root, and it is not folded), so
/// it stays a branch-free select.
fn is_node(func: &Function, eg: &mut EGraph, inst: Inst, op: Opcode) -> bool {
    use Opcode::*;
    match op {
        GetFramePointer
        | GetStackPointer
        | GetReturnAddress
        | GetExceptionHandlerAddress
        | TlsValue
        | GetPinnedReg
        | Nop => false,
        Load | Uload8 | Sload8 | Uload16 | Sload16 | Uload32 | Sload32 | Uload8x8 | Sload8x8 | Uload16x4
        | Sload16x4 | Uload32x2 | Sload32x2 => match func.dfg.insts[inst] {
            InstructionData::Load { flags, .. } => {
                let f = func.dfg.mem_flags.get(flags);
                f.readonly() && f.can_move()
            }
            _ => false,
        },
        Udiv | Urem | Sdiv | Srem => {
            let InstructionData::Binary { args, .. } = func.dfg.insts[inst] else { return false };
            let d = func.dfg.resolve_aliases(args[1]);
            let id = eg.value_id(func, d);
            let ty = func.dfg.value_type(d);
            match eg.int_const(id) {
                Some(0) | None => false,
                Some(c) => !(op == Sdiv && c == super::lane_mask(ty.bits())),
            }
        }
        _ => op.is_pure() && !op.format().has_value_list(),
    }
}

/// Fold a pure instruction with several results (`isplit`, `uadd_overflow`, …) whose operands
/// are all constants: each result becomes a constant. Returns whether it did.
fn fold_multi(func: &mut Function, eg: &mut EGraph, inst: Inst) -> bool {
    if eg.only_rule.is_some_and(|r| rules::fold_rule_index(func.dfg.opcode(inst)) != Some(r)) {
        return false;
    }
    let data = func.dfg.insts[inst];
    let mut vals: SmallVec<[DataValue; 3]> = SmallVec::new();
    for &a in func.dfg.inst_args(inst) {
        let a = func.dfg.resolve_aliases(a);
        let id = eg.value_id(func, a);
        match eg.const_value(func, id) {
            Some(v) => vals.push(v),
            None => return false,
        }
    }
    if vals.is_empty() {
        return false;
    }
    let ctrl = func.dfg.ctrl_typevar(inst);
    let results: SmallVec<[kiln_ir::Value; 2]> = func.dfg.inst_results(inst).iter().copied().collect();
    let rty = func.dfg.value_type(results[0]);
    let refs: SmallVec<[&DataValue; 3]> = vals.iter().collect();
    let Ok(out) = kiln_ir::interp::eval_pure(func, &data, ctrl, rty, &refs) else { return false };
    if out.len() != results.len() || out.iter().zip(&results).any(|(v, &r)| v.ty() != func.dfg.value_type(r)) {
        return false;
    }
    let mut ids: SmallVec<[Id; 2]> = SmallVec::new();
    for v in &out {
        match eg.make_const(func, v, super::MAX_DEPTH) {
            Some(id) => ids.push(id),
            None => return false,
        }
    }
    for (&r, &id) in results.iter().zip(&ids) {
        eg.set_value_id(r, id);
    }
    eg.counters.folds += 1;
    if let Some(i) = rules::fold_rule_index(data.opcode()) {
        eg.rule_fires[i] += 1;
    }
    true
}

//! Dead-code removal: instructions without effects whose results are all unused, and block
//! parameters nothing uses.
//!
//! Removable instructions: pure ones (including multi-result ones the e-graph keeps in the
//! skeleton, like `isplit` or `uadd_overflow`), `nop`, and `notrap` non-atomic loads.
//! Anything that may trap, store, call or otherwise have an effect stays. Use counts are
//! computed once over the layout; removing an instruction decrements its operands' counts,
//! and blocks are visited in reverse layout order so that chains die in one sweep.
//!
//! A parameter with no use is removed from a non-entry block together with the matching
//! argument of every incoming edge, unless an edge passes `retN`/`exnN` (`try_call`).

use crate::OptContext;
use crate::const_params::remove_params;
use kiln_ir::entity::SecondaryMap;
use kiln_ir::instructions::{BlockArg, InstructionData};
use kiln_ir::{Function, Inst, Opcode, Value};

/// Run the pass.
pub(crate) fn run(func: &mut Function, ctx: &mut OptContext) -> Result<(), String> {
    let mut uses: SecondaryMap<Value, u32> = SecondaryMap::new();
    uses.resize(func.dfg.num_values());
    for b in func.layout.blocks() {
        for i in func.layout.block_insts(b) {
            func.dfg.for_each_inst_value(i, |v| {
                let v = func.dfg.resolve_aliases(v);
                uses[v] += 1;
            });
        }
    }
    let mut blocks = core::mem::take(&mut ctx.blocks);
    blocks.clear();
    blocks.extend(func.layout.blocks());
    let mut removed = 0u64;
    for &b in blocks.iter().rev() {
        let mut cur = func.layout.last_inst(b);
        while let Some(i) = cur {
            cur = func.layout.prev_inst(i);
            if removable(func, i) && func.dfg.inst_results(i).iter().all(|&r| uses[r] == 0) {
                let vals = func.dfg.inst_values(i);
                for v in vals {
                    let v = func.dfg.resolve_aliases(v);
                    uses[v] = uses[v].saturating_sub(1);
                }
                func.layout.remove_inst(i);
                removed += 1;
            }
        }
    }
    ctx.stats.insts_removed += removed;
    // Unused block parameters.
    let entry = func.layout.entry_block();
    let mut edges = core::mem::take(&mut ctx.edges);
    let mut computed = false;
    let mut remove = Vec::new();
    for &b in &blocks {
        if Some(b) == entry || !func.layout.is_block_inserted(b) {
            continue;
        }
        let params = func.dfg.block_params(b);
        if params.iter().all(|&p| uses[p] != 0) {
            continue;
        }
        if !computed {
            edges.compute(func);
            computed = true;
        }
        remove.clear();
        remove.extend(params.iter().map(|&p| uses[p] == 0));
        // A parameter some edge passes `retN`/`exnN` to (or an edge that does not fit)
        // stays.
        let pool = &func.dfg.value_lists;
        for &(inst, k) in edges.into_block(b) {
            let args = func.dfg.branch_destinations(inst).get(k as usize).map_or(&[][..], |bc| bc.raw_args(pool));
            for (i, r) in remove.iter_mut().enumerate() {
                *r &= matches!(args.get(i).map(|&a| BlockArg::decode(a)), Some(BlockArg::Value(_)));
            }
        }
        let n = remove.iter().filter(|&&r| r).count() as u64;
        if n == 0 {
            continue;
        }
        for &(inst, k) in edges.into_block(b) {
            let Some(bc) = func.dfg.branch_destinations(inst).get(k as usize) else { continue };
            for (&raw, _) in bc.raw_args(pool).iter().zip(&remove).filter(|(_, r)| **r) {
                if let BlockArg::Value(a) = BlockArg::decode(raw) {
                    let a = func.dfg.resolve_aliases(a);
                    uses[a] = uses[a].saturating_sub(1);
                }
            }
        }
        remove_params(func, &edges, b, &remove);
        ctx.stats.params_removed += n;
    }
    ctx.edges = edges;
    ctx.blocks = blocks;
    Ok(())
}

/// May `inst` be removed when its results are unused?
fn removable(func: &Function, inst: Inst) -> bool {
    let data = &func.dfg.insts[inst];
    let op = data.opcode();
    if op.is_terminator() {
        return false;
    }
    if op == Opcode::Nop || op.is_pure() {
        return true;
    }
    if op.can_load() && !op.can_store() && !op.other_side_effects() && !op.is_call() {
        return match data {
            InstructionData::Load { flags, .. } => func.dfg.mem_flags.get(*flags).notrap(),
            _ => false,
        };
    }
    false
}

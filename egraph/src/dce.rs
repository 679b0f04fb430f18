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
use crate::const_params::remove_param;
use crate::edges::Edges;
use kiln_ir::entity::SecondaryMap;
use kiln_ir::instructions::{BlockArg, InstructionData};
use kiln_ir::{Block, Function, Inst, Opcode, Value};

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
    for &b in &blocks {
        if Some(b) == entry || !func.layout.is_block_inserted(b) {
            continue;
        }
        let n = func.dfg.block_params(b).len();
        for i in (0..n).rev() {
            let p = func.dfg.block_params(b)[i];
            if uses[p] != 0 {
                continue;
            }
            if !computed {
                edges.compute(func);
                computed = true;
            }
            if !all_edges_plain(func, &edges, b, i) {
                continue;
            }
            for &(inst, k) in edges.into_block(b) {
                if let Some(BlockArg::Value(a)) = func
                    .dfg
                    .branch_destinations(inst)
                    .get(k as usize)
                    .and_then(|bc| bc.args(&func.dfg.value_lists).nth(i))
                {
                    let a = func.dfg.resolve_aliases(a);
                    uses[a] = uses[a].saturating_sub(1);
                }
            }
            remove_param(func, &edges, b, i);
            ctx.stats.params_removed += 1;
        }
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

/// Does every edge into `block` pass a plain value as argument `i`?
fn all_edges_plain(func: &Function, edges: &Edges, block: Block, i: usize) -> bool {
    edges.into_block(block).iter().all(|&(inst, k)| {
        func.dfg
            .branch_destinations(inst)
            .get(k as usize)
            .is_some_and(|bc| matches!(bc.args(&func.dfg.value_lists).nth(i), Some(BlockArg::Value(_))))
    })
}

//! Constant block-parameter removal: a parameter of a non-entry block that receives the same
//! value `v` on every incoming edge (ignoring edges that pass the parameter itself, i.e.
//! loops that carry it unchanged) is replaced by `v` and removed, together with the
//! corresponding argument of every branch to the block.
//!
//! `v` dominates the block: every path from the entry enters the block through an edge
//! passing `v` (edges passing the parameter come from blocks the block dominates). Edges from
//! `try_call` that pass `retN`/`exnN` keep their parameters. Rounds repeat (bounded) because
//! removing one parameter can make another constant.

use crate::OptContext;
use crate::subst::Subst;
use kiln_ir::instructions::{BlockArg, BlockCall};
use kiln_ir::{Block, Function, Value};
use smallvec::SmallVec;

const MAX_ROUNDS: usize = 4;

/// Run the pass.
pub(crate) fn run(func: &mut Function, ctx: &mut OptContext) -> Result<(), String> {
    ctx.ensure_cfg(func);
    let Some(entry) = func.layout.entry_block() else { return Ok(()) };
    let mut blocks = core::mem::take(&mut ctx.blocks);
    blocks.clear();
    blocks.extend(ctx.domtree.cfg_rpo().filter(|&b| b != entry && !func.dfg.block_params(b).is_empty()));
    let mut subst = core::mem::take(&mut ctx.subst);
    subst.clear();
    for _ in 0..MAX_ROUNDS {
        let mut changed = false;
        for &block in &blocks {
            let nparams = func.dfg.block_params(block).len();
            // Walk parameters from the last so that removals keep earlier indices valid.
            for i in (0..nparams).rev() {
                if let Some(v) = constant_value(func, ctx, &subst, block, i) {
                    let p = func.dfg.block_params(block)[i];
                    if !subst.set(func, p, v) {
                        continue;
                    }
                    remove_param(func, ctx, block, i);
                    ctx.stats.params_removed += 1;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    subst.apply(func);
    ctx.subst = subst;
    ctx.blocks = blocks;
    Ok(())
}

/// The single value parameter `i` of `block` receives, if there is one.
fn constant_value(func: &Function, ctx: &OptContext, subst: &Subst, block: Block, i: usize) -> Option<Value> {
    let p = func.dfg.block_params(block)[i];
    let mut cand: Option<Value> = None;
    let mut any_edge = false;
    for pred in ctx.cfg.pred_iter(block) {
        for bc in func.dfg.branch_destinations(pred.inst) {
            if bc.block(&func.dfg.value_lists) != block {
                continue;
            }
            any_edge = true;
            let BlockArg::Value(a) = bc.args(&func.dfg.value_lists).nth(i)? else { return None };
            let a = subst.resolve(func, a);
            if a == p {
                continue;
            }
            match cand {
                None => cand = Some(a),
                Some(c) if c == a => {}
                Some(_) => return None,
            }
        }
    }
    if any_edge { cand } else { None }
}

fn remove_param(func: &mut Function, ctx: &OptContext, block: Block, i: usize) {
    let preds: SmallVec<[kiln_ir::Inst; 8]> = ctx.cfg.pred_iter(block).map(|p| p.inst).collect();
    // Block calls may share storage (a jump table used twice): edit each list once.
    let mut done: SmallVec<[(BlockCall, BlockCall); 8]> = SmallVec::new();
    for inst in preds {
        let n = func.dfg.branch_destinations(inst).len();
        for k in 0..n {
            let old = func.dfg.branch_destinations(inst)[k];
            if let Some(&(_, new)) = done.iter().find(|(o, _)| *o == old) {
                func.dfg.branch_destinations_mut(inst)[k] = new;
                continue;
            }
            if old.block(&func.dfg.value_lists) == block {
                let mut bc = old;
                bc.remove_arg(i, &mut func.dfg.value_lists);
                func.dfg.branch_destinations_mut(inst)[k] = bc;
                done.push((old, bc));
            }
        }
    }
    func.dfg.remove_block_param(block, i);
}

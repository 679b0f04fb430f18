//! Constant block-parameter removal: a parameter of a non-entry block that receives the same
//! value `v` on every incoming edge (ignoring edges that pass the parameter itself, i.e.
//! loops that carry it unchanged) is replaced by `v` and removed, together with the
//! corresponding argument of every branch to the block.
//!
//! `v` dominates the block: every path from the entry enters the block through an edge
//! passing `v` (edges passing the parameter come from blocks the block dominates). Edges from
//! `try_call` that pass `retN`/`exnN` keep their parameters. Rounds repeat (bounded) because
//! removing one parameter can make another constant. Uses of removed parameters are
//! rewritten once at the end ([`Subst`]).

use crate::OptContext;
use crate::edges::Edges;
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
    if blocks.is_empty() {
        ctx.blocks = blocks;
        return Ok(());
    }
    let mut subst = core::mem::take(&mut ctx.subst);
    subst.clear();
    let mut edges = core::mem::take(&mut ctx.edges);
    edges.compute(func);
    for _ in 0..MAX_ROUNDS {
        let mut changed = false;
        for &block in &blocks {
            let nparams = func.dfg.block_params(block).len();
            // Walk parameters from the last so that removals keep earlier indices valid.
            for i in (0..nparams).rev() {
                if let Some(v) = constant_value(func, &edges, &subst, block, i) {
                    let p = func.dfg.block_params(block)[i];
                    if !subst.set(func, p, v) {
                        continue;
                    }
                    remove_param(func, &edges, block, i);
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
    ctx.edges = edges;
    ctx.blocks = blocks;
    Ok(())
}

/// The single value parameter `i` of `block` receives, if there is one.
fn constant_value(func: &Function, edges: &Edges, subst: &Subst, block: Block, i: usize) -> Option<Value> {
    let p = func.dfg.block_params(block)[i];
    let mut cand: Option<Value> = None;
    for &(inst, k) in edges.into_block(block) {
        let bc = *func.dfg.branch_destinations(inst).get(k as usize)?;
        if bc.block(&func.dfg.value_lists) != block {
            return None;
        }
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
    cand
}

/// Remove parameter `i` of `block` and the matching argument of every edge into it.
pub(crate) fn remove_param(func: &mut Function, edges: &Edges, block: Block, i: usize) {
    // Block calls may share storage (a jump table used twice): edit each list once.
    let mut done: SmallVec<[(BlockCall, BlockCall); 8]> = SmallVec::new();
    for &(inst, k) in edges.into_block(block) {
        let k = k as usize;
        let Some(&old) = func.dfg.branch_destinations(inst).get(k) else { continue };
        if let Some(&(_, new)) = done.iter().find(|(o, _)| *o == old) {
            func.dfg.branch_destinations_mut(inst)[k] = new;
            continue;
        }
        if old.block(&func.dfg.value_lists) != block || old.len(&func.dfg.value_lists) <= i {
            continue;
        }
        let mut bc = old;
        bc.remove_arg(i, &mut func.dfg.value_lists);
        func.dfg.branch_destinations_mut(inst)[k] = bc;
        done.push((old, bc));
    }
    func.dfg.remove_block_param(block, i);
}

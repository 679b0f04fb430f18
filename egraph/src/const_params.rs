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
use std::collections::HashMap;

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
    let mut cands = Vec::new();
    let mut remove = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let mut changed = false;
        for &block in &blocks {
            if !constant_values(func, &edges, &subst, block, &mut cands) {
                continue;
            }
            remove.clear();
            remove.resize(cands.len(), false);
            let mut n = 0;
            for (i, c) in cands.iter().enumerate() {
                if let Cand::One(v) = *c {
                    let p = func.dfg.block_params(block)[i];
                    if subst.set(func, p, v) {
                        remove[i] = true;
                        n += 1;
                    }
                }
            }
            if n > 0 {
                remove_params(func, &edges, block, &remove);
                ctx.stats.params_removed += n;
                changed = true;
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

/// What the edges into a block pass for one parameter.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Cand {
    /// Nothing but the parameter itself (so far).
    Nothing,
    /// Always this value.
    One(Value),
    /// Different values, or a `try_call` placeholder.
    Varies,
}

/// For every parameter of `block`, the single value all edges pass for it, into `cands`
/// (one pass over each edge's arguments). False if the edges cannot be edited (an edge
/// with the wrong number of arguments, or not found).
fn constant_values(func: &Function, edges: &Edges, subst: &Subst, block: Block, cands: &mut Vec<Cand>) -> bool {
    let pool = &func.dfg.value_lists;
    let params = func.dfg.block_params(block);
    cands.clear();
    cands.resize(params.len(), Cand::Nothing);
    for &(inst, k) in edges.into_block(block) {
        let Some(bc) = func.dfg.branch_destinations(inst).get(k as usize) else { return false };
        let args = bc.raw_args(pool);
        if bc.block(pool) != block || args.len() != params.len() {
            return false;
        }
        for ((c, &raw), &p) in cands.iter_mut().zip(args).zip(params) {
            let BlockArg::Value(a) = BlockArg::decode(raw) else {
                *c = Cand::Varies;
                continue;
            };
            let a = subst.resolve(func, a);
            if a == p {
                continue;
            }
            *c = match *c {
                Cand::Nothing => Cand::One(a),
                Cand::One(v) if v == a => Cand::One(v),
                _ => Cand::Varies,
            };
        }
    }
    true
}

/// Remove the parameters of `block` marked in `remove` and the matching arguments of every
/// edge into it, with one pass over each list however many are removed.
pub(crate) fn remove_params(func: &mut Function, edges: &Edges, block: Block, remove: &[bool]) {
    let keep = |i: usize| !remove.get(i).copied().unwrap_or(false);
    // Block calls may share storage (a jump table naming the block many times): edit each
    // list once, and point every destination that shared it at the edited list.
    let mut done: HashMap<BlockCall, BlockCall> = HashMap::new();
    for &(inst, k) in edges.into_block(block) {
        let k = k as usize;
        let Some(&old) = func.dfg.branch_destinations(inst).get(k) else { continue };
        if let Some(&new) = done.get(&old) {
            func.dfg.branch_destinations_mut(inst)[k] = new;
            continue;
        }
        if old.block(&func.dfg.value_lists) != block {
            continue;
        }
        let mut bc = old;
        bc.retain_args(&mut func.dfg.value_lists, keep);
        func.dfg.branch_destinations_mut(inst)[k] = bc;
        done.insert(old, bc);
    }
    func.dfg.retain_block_params(block, keep);
}

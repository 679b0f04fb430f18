//! CFG cleanup:
//! - **branch folding**: `brif` on a constant, or with two identical targets, becomes a
//!   `jump`; `br_table` on a constant jumps to its entry; a conditional trap on a constant
//!   disappears (never fires) or becomes `trap` (always fires, the rest of the block goes);
//! - **jump threading**: an edge into a block that holds only `jump T(args)` goes straight to
//!   `T`, with the block's parameters replaced by the edge's arguments;
//! - **block merging**: a block whose only predecessor edge is a `jump` from a different
//!   block is appended to that block (its parameters become the jump's arguments);
//! - blocks that became unreachable are removed, and value aliases left behind are resolved
//!   in every operand.
//!
//! Never touched: the entry block, blocks named by `get_exception_handler_address`, and edges
//! of `try_call` (whose arguments may be `retN`/`exnN`). A forwarding block is threaded only
//! if its parameters feed nothing but its own jump. Rounds repeat a bounded number of times.

use crate::OptContext;
use crate::subst::Subst;

use crate::unreachable;
use kiln_ir::entity::{EntitySet, SecondaryMap};
use kiln_ir::instructions::{BlockArg, BlockCall, InstructionData};
use kiln_ir::{Block, Function, Inst, Opcode, Value};
use smallvec::SmallVec;

const MAX_ROUNDS: usize = 3;

/// Run the pass.
pub(crate) fn run(func: &mut Function, ctx: &mut OptContext) -> Result<(), String> {
    let Some(entry) = func.layout.entry_block() else { return Ok(()) };
    let mut pinned: EntitySet<Block> = EntitySet::new();
    pinned.insert(entry);
    let mut traps: SmallVec<[Inst; 8]> = SmallVec::new();
    for b in func.layout.blocks() {
        for i in func.layout.block_insts(b) {
            match func.dfg.insts[i] {
                InstructionData::ExceptionHandlerAddress { block, .. } => {
                    pinned.insert(block);
                }
                InstructionData::CondTrap { arg, .. } if const_of(func, arg).is_some() => traps.push(i),
                _ => {}
            }
        }
    }
    // Only the CFG is maintained here (no dominator tree): it is recomputed after every step
    // that changed edges.
    ctx.ensure_cfg(func);
    let mut any = fold_traps(func, ctx, &traps);
    let mut subst = core::mem::take(&mut ctx.subst);
    subst.clear();
    for round in 0..MAX_ROUNDS {
        let mut changed = fold_branches(func, ctx);
        if any && round == 0 {
            ctx.cfg.compute(func);
        }
        if changed || round > 0 {
            ctx.cfg.compute(func);
        }
        if remove_unreachable(func, ctx, &pinned) {
            ctx.cfg.compute(func);
        }
        if thread_jumps(func, ctx, &pinned, &subst) {
            changed = true;
            ctx.cfg.compute(func);
            if remove_unreachable(func, ctx, &pinned) {
                ctx.cfg.compute(func);
            }
        }
        if merge_blocks(func, ctx, &pinned, &mut subst) {
            changed = true;
        }
        any |= changed;
        if !changed {
            break;
        }
    }
    if any {
        ctx.invalidate_cfg();
    }
    subst.apply(func);
    ctx.subst = subst;
    Ok(())
}

/// Conditional traps on constants: removed (never fire) or turned into `trap`.
fn fold_traps(func: &mut Function, ctx: &mut OptContext, traps: &[Inst]) -> bool {
    let mut changed = false;
    for &i in traps {
        if func.layout.inst_block(i).is_none() {
            continue;
        }
        let InstructionData::CondTrap { opcode, arg, code } = func.dfg.insts[i] else { continue };
        let Some(c) = const_of(func, arg) else { continue };
        if (c == 0) == (opcode == Opcode::Trapz) {
            func.dfg.replace_inst(i, InstructionData::Trap { opcode: Opcode::Trap, code });
            while let Some(n) = func.layout.next_inst(i) {
                func.layout.remove_inst(n);
            }
        } else {
            func.layout.remove_inst(i);
        }
        ctx.stats.cfg_simplified += 1;
        changed = true;
    }
    changed
}

/// Remove blocks not reachable from the entry (by the current CFG). Returns whether any was
/// removed. Does nothing if one of them is pinned.
fn remove_unreachable(func: &mut Function, ctx: &mut OptContext, pinned: &EntitySet<Block>) -> bool {
    let Some(entry) = func.layout.entry_block() else { return false };
    let mut seen: EntitySet<Block> = EntitySet::new();
    let mut work = core::mem::take(&mut ctx.blocks);
    work.clear();
    work.push(entry);
    seen.insert(entry);
    while let Some(b) = work.pop() {
        for &s in ctx.cfg.succs(b) {
            if seen.insert(s) {
                work.push(s);
            }
        }
    }
    work.clear();
    work.extend(func.layout.blocks().filter(|&b| !seen.contains(b)));
    let ok = !work.is_empty() && work.iter().all(|&b| !pinned.contains(b));
    if ok {
        for &b in &work {
            unreachable::remove_block(func, b);
        }
        ctx.stats.blocks_removed += work.len() as u64;
    }
    ctx.blocks = work;
    ok
}

/// The constant an `iconst` value holds (zero-extended), following aliases.
fn const_of(func: &Function, v: Value) -> Option<u64> {
    let v = func.dfg.resolve_aliases(v);
    let inst = func.dfg.value_def(v)?.inst()?;
    match func.dfg.insts[inst] {
        InstructionData::UnaryImm { opcode: Opcode::Iconst, imm } => {
            let bits = func.dfg.value_type(v).bits();
            Some(if bits >= 64 { imm.0 as u64 } else { imm.0 as u64 & ((1u64 << bits) - 1) })
        }
        _ => None,
    }
}

fn same_call(func: &Function, a: BlockCall, b: BlockCall) -> bool {
    let p = &func.dfg.value_lists;
    a.block(p) == b.block(p)
        && a.len(p) == b.len(p)
        && a.args(p).zip(b.args(p)).all(|(x, y)| match (x, y) {
            (BlockArg::Value(x), BlockArg::Value(y)) => func.dfg.resolve_aliases(x) == func.dfg.resolve_aliases(y),
            (x, y) => x == y,
        })
}

fn fold_branches(func: &mut Function, ctx: &mut OptContext) -> bool {
    let mut changed = false;
    let mut blocks = core::mem::take(&mut ctx.blocks);
    blocks.clear();
    blocks.extend(func.layout.blocks());
    for &b in &blocks {
        let Some(term) = func.layout.last_inst(b) else { continue };
        let new = match func.dfg.insts[term] {
            InstructionData::Brif { arg, blocks: [t, e], .. } => {
                if let Some(c) = const_of(func, arg) {
                    Some(if c != 0 { t } else { e })
                } else if same_call(func, t, e) {
                    Some(t)
                } else {
                    None
                }
            }
            InstructionData::BranchTable { arg, table, .. } => const_of(func, arg).and_then(|c| {
                let jt = func.dfg.jump_tables.get(table)?;
                let idx = c as u32 as usize;
                Some(jt.as_slice().get(idx).copied().unwrap_or(jt.default_block()))
            }),
            _ => None,
        };
        if let Some(dest) = new {
            let dest = dest.deep_clone(&mut func.dfg.value_lists);
            func.dfg.replace_inst(term, InstructionData::Jump { opcode: Opcode::Jump, destination: dest });
            ctx.stats.cfg_simplified += 1;
            changed = true;
        }
    }
    ctx.blocks = blocks;
    changed
}

/// If `block` holds only `jump T(args)`, that jump.
fn forwarding_jump(func: &Function, block: Block) -> Option<(Inst, BlockCall)> {
    let first = func.layout.first_inst(block)?;
    if func.layout.last_inst(block) != Some(first) {
        return None;
    }
    match func.dfg.insts[first] {
        InstructionData::Jump { destination, .. } => Some((first, destination)),
        _ => None,
    }
}

/// Values are compared through `subst`, the substitutions block merging recorded in earlier
/// rounds and not applied yet (a merged block's parameters stand for its jump's arguments).
fn thread_jumps(func: &mut Function, ctx: &mut OptContext, pinned: &EntitySet<Block>, subst: &Subst) -> bool {
    let mut changed = false;
    let mut blocks = core::mem::take(&mut ctx.blocks);
    blocks.clear();
    blocks.extend(func.layout.blocks());
    // Uses of block parameters (a forwarding block's parameters may only feed its jump).
    let mut uses: SecondaryMap<Value, u32> = SecondaryMap::new();
    if blocks.iter().any(|&b| !func.dfg.block_params(b).is_empty() && forwarding_jump(func, b).is_some()) {
        uses.resize(func.dfg.num_values());
        for &b in &blocks {
            for i in func.layout.block_insts(b) {
                func.dfg.for_each_inst_value(i, |v| uses[subst.resolve(func, v)] += 1);
            }
        }
    }
    let mut edges = core::mem::take(&mut ctx.edges);
    edges.compute(func);
    for &b in &blocks {
        if pinned.contains(b) {
            continue;
        }
        let Some((jump, fwd)) = forwarding_jump(func, b) else { continue };
        let target = fwd.block(&func.dfg.value_lists);
        if target == b {
            continue;
        }
        let params: SmallVec<[Value; 4]> = func.dfg.block_params(b).iter().copied().collect();
        let mut own: SmallVec<[Value; 8]> = SmallVec::new();
        func.dfg.for_each_inst_value(jump, |v| own.push(subst.resolve(func, v)));
        if params.iter().any(|p| uses[*p] as usize != own.iter().filter(|&v| v == p).count()) {
            continue;
        }
        let fwd_args: SmallVec<[BlockArg; 4]> = fwd.args(&func.dfg.value_lists).collect();
        for &(inst, k) in edges.into_block(b) {
            if func.dfg.opcode(inst).has_exception_edges() || func.layout.inst_block(inst).is_none() {
                continue;
            }
            let k = k as usize;
            let Some(&old) = func.dfg.branch_destinations(inst).get(k) else { continue };
            if old.block(&func.dfg.value_lists) != b {
                continue;
            }
            let incoming: SmallVec<[BlockArg; 4]> = old.args(&func.dfg.value_lists).collect();
            if incoming.len() != params.len() {
                continue;
            }
            let mut new_args: SmallVec<[BlockArg; 4]> = SmallVec::new();
            for a in &fwd_args {
                new_args.push(match a {
                    BlockArg::Value(v) => {
                        let v = subst.resolve(func, *v);
                        match params.iter().position(|&p| p == v) {
                            Some(j) => incoming[j],
                            None => *a,
                        }
                    }
                    other => *other,
                });
            }
            let nb = BlockCall::new(target, new_args, &mut func.dfg.value_lists);
            func.dfg.branch_destinations_mut(inst)[k] = nb;
            ctx.stats.cfg_simplified += 1;
            changed = true;
        }
    }
    ctx.edges = edges;
    ctx.blocks = blocks;
    changed
}

fn merge_blocks(func: &mut Function, ctx: &mut OptContext, pinned: &EntitySet<Block>, subst: &mut Subst) -> bool {
    let mut changed = false;
    let mut blocks = core::mem::take(&mut ctx.blocks);
    blocks.clear();
    blocks.extend(func.layout.blocks());
    let mut gone: EntitySet<Block> = EntitySet::new();
    for &a in &blocks {
        if gone.contains(a) {
            continue;
        }
        // Follow chains: a block can absorb several successors in a row.
        while let Some(term) = func.layout.last_inst(a) {
            let InstructionData::Jump { destination, .. } = func.dfg.insts[term] else { break };
            let b = destination.block(&func.dfg.value_lists);
            if b == a || pinned.contains(b) || gone.contains(b) {
                break;
            }
            let preds = ctx.cfg.preds(b);
            if preds.len() != 1 || preds[0].inst != term {
                break;
            }
            let args: SmallVec<[BlockArg; 4]> = destination.args(&func.dfg.value_lists).collect();
            let params: SmallVec<[Value; 4]> = func.dfg.block_params(b).iter().copied().collect();
            if args.len() != params.len() || args.iter().any(|a| a.as_value().is_none()) {
                break;
            }
            // An argument that is (or resolves to) one of `b`'s own parameters cannot replace
            // it: `b` is then in an unreachable cycle through `a`; leave it for the removal of
            // unreachable blocks.
            if args.iter().any(|a| a.as_value().is_some_and(|v| params.contains(&subst.resolve(func, v)))) {
                break;
            }
            for (i, &p) in params.iter().enumerate().rev() {
                let Some(v) = args[i].as_value() else { break };
                subst.set(func, p, v);
                func.dfg.remove_block_param(b, i);
            }
            func.layout.remove_inst(term);
            while let Some(i) = func.layout.first_inst(b) {
                func.layout.remove_inst(i);
                func.layout.append_inst(i, a);
            }
            func.layout.remove_block(b);
            gone.insert(b);
            ctx.stats.cfg_simplified += 1;
            changed = true;
            // The CFG edges out of `b` now leave `a`; `preds` of b's successors still name
            // the moved terminator, which is what `preds(..)[0].inst` compares against.
        }
    }
    ctx.blocks = blocks;
    changed
}

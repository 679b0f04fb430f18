//! Unreachable-code removal: every block the dominator tree does not reach from the entry is
//! emptied and taken out of the layout.
//!
//! Blocks named by a reachable `get_exception_handler_address` are kept (the instruction
//! refers to them outside the CFG); if one of them is unreachable the pass does nothing, so
//! the function stays valid. Values defined in removed blocks cannot be used by reachable
//! code (their definitions would not dominate the uses).

use crate::OptContext;
use kiln_ir::entity::EntitySet;
use kiln_ir::instructions::InstructionData;
use kiln_ir::{Block, Function};

/// Run the pass.
pub(crate) fn run(func: &mut Function, ctx: &mut OptContext) -> Result<(), String> {
    ctx.ensure_cfg(func);
    let mut dead = core::mem::take(&mut ctx.blocks);
    dead.clear();
    dead.extend(func.layout.blocks().filter(|&b| !ctx.domtree.is_reachable(b)));
    if dead.is_empty() {
        ctx.blocks = dead;
        return Ok(());
    }
    if referenced_outside_cfg(func, &dead, ctx) {
        ctx.blocks = dead;
        return Ok(());
    }
    for &b in &dead {
        remove_block(func, b);
    }
    ctx.stats.blocks_removed += dead.len() as u64;
    ctx.blocks = dead;
    ctx.invalidate_cfg();
    Ok(())
}

/// Empty `block` and remove it from the layout.
pub(crate) fn remove_block(func: &mut Function, block: Block) {
    while let Some(i) = func.layout.last_inst(block) {
        func.layout.remove_inst(i);
    }
    func.layout.remove_block(block);
}

/// Does a reachable instruction name one of `blocks` outside the CFG?
fn referenced_outside_cfg(func: &Function, blocks: &[Block], ctx: &OptContext) -> bool {
    let mut dead: EntitySet<Block> = EntitySet::new();
    for &b in blocks {
        dead.insert(b);
    }
    for b in func.layout.blocks() {
        if !ctx.domtree.is_reachable(b) {
            continue;
        }
        for i in func.layout.block_insts(b) {
            if let InstructionData::ExceptionHandlerAddress { block, .. } = func.dfg.insts[i]
                && dead.contains(block)
            {
                return true;
            }
        }
    }
    false
}

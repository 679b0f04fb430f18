//! The control-flow graph: successors and predecessors of every block.
//!
//! Edges come from the branch destinations of every instruction of a block (in valid CLIF
//! only the terminator branches): both targets of `brif`, every `br_table` entry and its
//! default, the normal-return and every handler target of `try_call`/`try_call_indirect`.
//!
//! Storage is compact: all successor lists live in one shared vector and all predecessor
//! lists in another (compressed sparse rows), so computing the graph allocates nothing per
//! block, and recomputing reuses the previous buffers.
//!
//! Invariants after [`ControlFlowGraph::compute`]:
//! - the successors of a block are deduplicated and listed in first-seen order;
//! - a predecessor entry `(block, inst)` is listed once per distinct branching instruction,
//!   even if that instruction names the same target several times (`br_table` duplicates);
//! - destinations that are not blocks of the function are ignored (the verifier reports
//!   them), so computing the graph never panics on a function whose tables and block
//!   references are dangling.

use crate::entities::{Block, Inst};
use crate::entity::{EntityRef, SecondaryMap};
use crate::function::Function;
use crate::instructions::{BlockCall, InstructionData};

/// A predecessor edge: `inst` in `block` branches to the block whose predecessor this is.
#[derive(Copy, Clone, PartialEq, Eq, Debug, Hash)]
pub struct BlockPredecessor {
    /// The predecessor block.
    pub block: Block,
    /// The branching instruction in it.
    pub inst: Inst,
}

impl BlockPredecessor {
    /// A predecessor edge.
    pub fn new(block: Block, inst: Inst) -> Self {
        Self { block, inst }
    }
}

/// A `(start, end)` range into one of the shared edge vectors.
#[derive(Copy, Clone, Default, Debug)]
struct Range {
    start: u32,
    end: u32,
}

impl Range {
    fn get<T>(self, v: &[T]) -> &[T] {
        v.get(self.start as usize..self.end as usize).unwrap_or(&[])
    }
}

/// The control-flow graph of a function.
#[derive(Clone, Default, Debug)]
pub struct ControlFlowGraph {
    succ_ranges: SecondaryMap<Block, Range>,
    succs: Vec<Block>,
    pred_ranges: SecondaryMap<Block, Range>,
    preds: Vec<BlockPredecessor>,
    /// Scratch: edges `(target, pred)` in discovery order, before sorting by target.
    edges: Vec<(Block, BlockPredecessor)>,
    /// Scratch: `succ_mark[b] == stamp` once `b` is a successor of the current block.
    succ_mark: SecondaryMap<Block, u32>,
    /// Scratch: `pred_mark[b] == stamp` once the current instruction has an edge to `b`.
    pred_mark: SecondaryMap<Block, u32>,
    valid: bool,
}

/// Call `f` on the destinations of `inst`, skipping dangling jump/exception tables. The
/// block calls themselves are assumed well formed (the verifier checks that before any
/// analysis runs).
pub(crate) fn for_each_destination(func: &Function, inst: Inst, mut f: impl FnMut(BlockCall)) {
    let dfg = &func.dfg;
    let Some(data) = dfg.insts.get(inst) else { return };
    let calls: &[BlockCall] = match data {
        InstructionData::Jump { destination, .. } => core::slice::from_ref(destination),
        InstructionData::Brif { blocks, .. } => blocks,
        InstructionData::BranchTable { table, .. } => dfg.jump_tables.get(*table).map_or(&[], |t| t.all_branches()),
        InstructionData::TryCall { exception, .. } | InstructionData::TryCallIndirect { exception, .. } => {
            dfg.exception_tables.get(*exception).map_or(&[], |t| t.all_branches())
        }
        _ => &[],
    };
    for &c in calls {
        f(c);
    }
}

impl ControlFlowGraph {
    /// An empty, invalid graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// The graph of `func`.
    pub fn with_function(func: &Function) -> Self {
        let mut cfg = Self::new();
        cfg.compute(func);
        cfg
    }

    /// Forget everything (keeping allocations) and mark the graph invalid.
    pub fn clear(&mut self) {
        self.succ_ranges.clear();
        self.succs.clear();
        self.pred_ranges.clear();
        self.preds.clear();
        self.edges.clear();
        self.valid = false;
    }

    /// Compute the graph of `func`, reusing this graph's memory.
    pub fn compute(&mut self, func: &Function) {
        self.clear();
        let nblocks = func.dfg.num_blocks();
        self.succ_ranges.clear_and_resize(nblocks);
        self.pred_ranges.clear_and_resize(nblocks);
        // Stamps start at 1 so that the zeroed markers match nothing.
        self.succ_mark.clear_and_resize(nblocks);
        self.pred_mark.clear_and_resize(nblocks);
        let (mut block_stamp, mut inst_stamp) = (0u32, 0u32);
        for block in func.layout.blocks() {
            if block.index() >= nblocks {
                continue;
            }
            let start = self.succs.len() as u32;
            block_stamp += 1;
            for inst in func.layout.block_insts(block) {
                inst_stamp += 1;
                for_each_destination(func, inst, |call| {
                    let target = call.block(&func.dfg.value_lists);
                    if target.index() >= nblocks {
                        return;
                    }
                    if self.succ_mark[target] != block_stamp {
                        self.succ_mark[target] = block_stamp;
                        self.succs.push(target);
                    }
                    if self.pred_mark[target] != inst_stamp {
                        self.pred_mark[target] = inst_stamp;
                        self.edges.push((target, BlockPredecessor::new(block, inst)));
                    }
                });
            }
            self.succ_ranges[block] = Range { start, end: self.succs.len() as u32 };
        }
        // Counting sort of the edges by target.
        for &(t, _) in &self.edges {
            self.pred_ranges[t].end += 1;
        }
        let mut acc = 0u32;
        for i in 0..nblocks {
            let b = Block::new(i);
            let n = self.pred_ranges[b].end;
            self.pred_ranges[b] = Range { start: acc, end: acc };
            acc += n;
        }
        self.preds.clear();
        self.preds.resize(acc as usize, BlockPredecessor::new(Block::new(0), Inst::new(0)));
        for &(t, p) in &self.edges {
            let r = &mut self.pred_ranges[t];
            self.preds[r.end as usize] = p;
            r.end += 1;
        }
        self.edges.clear();
        self.valid = true;
    }

    /// The predecessor edges of `block`, in layout order of their instructions.
    pub fn preds(&self, block: Block) -> &[BlockPredecessor] {
        self.pred_ranges.get(block).get(&self.preds)
    }

    /// Iterate over the predecessor edges of `block`.
    pub fn pred_iter(&self, block: Block) -> impl ExactSizeIterator<Item = BlockPredecessor> + '_ {
        self.preds(block).iter().copied()
    }

    /// The distinct successors of `block`, in first-seen order.
    pub fn succs(&self, block: Block) -> &[Block] {
        self.succ_ranges.get(block).get(&self.succs)
    }

    /// Iterate over the distinct successors of `block`.
    pub fn succ_iter(&self, block: Block) -> impl ExactSizeIterator<Item = Block> + '_ {
        self.succs(block).iter().copied()
    }

    /// Number of predecessor edges of `block`.
    pub fn num_preds(&self, block: Block) -> usize {
        self.preds(block).len()
    }

    /// Number of distinct successors of `block`.
    pub fn num_succs(&self, block: Block) -> usize {
        self.succs(block).len()
    }

    /// Has the graph been computed (and not cleared since)?
    pub fn is_valid(&self) -> bool {
        self.valid
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::tests::FuncBuilder;

    #[test]
    fn empty_function() {
        let func = Function::new();
        let cfg = ControlFlowGraph::with_function(&func);
        assert!(cfg.is_valid());
        assert_eq!(cfg.succs(Block::new(0)), &[]);
        assert_eq!(cfg.num_preds(Block::new(7)), 0);
    }

    #[test]
    fn diamond_edges() {
        let mut b = FuncBuilder::new(4);
        let i0 = b.brif(0, 1, 2);
        let i1 = b.jump(1, 3);
        let i2 = b.jump(2, 3);
        b.ret(3);
        let func = b.finish();
        let mut cfg = ControlFlowGraph::new();
        assert!(!cfg.is_valid());
        cfg.compute(&func);
        let blk = Block::new;
        assert_eq!(cfg.succs(blk(0)), &[blk(1), blk(2)]);
        assert_eq!(cfg.succs(blk(3)), &[]);
        assert_eq!(
            cfg.pred_iter(blk(3)).collect::<Vec<_>>(),
            vec![BlockPredecessor::new(blk(1), i1), BlockPredecessor::new(blk(2), i2)]
        );
        assert_eq!(cfg.preds(blk(1)), &[BlockPredecessor::new(blk(0), i0)]);
        assert_eq!(cfg.num_preds(blk(0)), 0);
        // Recomputation reuses the buffers and gives the same answer.
        cfg.compute(&func);
        assert_eq!(cfg.succs(blk(0)), &[blk(1), blk(2)]);
        cfg.clear();
        assert!(!cfg.is_valid());
        assert_eq!(cfg.num_succs(blk(0)), 0);
    }

    #[test]
    fn brif_to_same_block_and_br_table_duplicates() {
        let mut b = FuncBuilder::new(4);
        let i0 = b.brif(0, 1, 1);
        let i1 = b.br_table(1, 3, &[2, 3, 2, 2]);
        b.ret(2);
        b.ret(3);
        let func = b.finish();
        let cfg = ControlFlowGraph::with_function(&func);
        let blk = Block::new;
        assert_eq!(cfg.succs(blk(0)), &[blk(1)]);
        assert_eq!(cfg.preds(blk(1)), &[BlockPredecessor::new(blk(0), i0)]);
        assert_eq!(cfg.succs(blk(1)), &[blk(3), blk(2)]);
        assert_eq!(cfg.preds(blk(2)), &[BlockPredecessor::new(blk(1), i1)]);
        assert_eq!(cfg.preds(blk(3)), &[BlockPredecessor::new(blk(1), i1)]);
    }

    #[test]
    fn try_call_edges() {
        let mut b = FuncBuilder::new(4);
        let i0 = b.try_call(0, 1, &[2, 3, 2]);
        b.ret(1);
        b.ret(2);
        b.ret(3);
        let func = b.finish();
        let cfg = ControlFlowGraph::with_function(&func);
        let blk = Block::new;
        assert_eq!(cfg.succs(blk(0)), &[blk(1), blk(2), blk(3)]);
        for t in 1..4 {
            assert_eq!(cfg.preds(blk(t)), &[BlockPredecessor::new(blk(0), i0)]);
        }
    }

    #[test]
    fn dangling_references_are_ignored() {
        let mut b = FuncBuilder::new(2);
        b.jump(0, 1);
        b.ret(1);
        let mut func = b.finish();
        // Redirect the jump to a block that does not exist.
        let inst = func.layout.first_inst(Block::new(0)).unwrap();
        let dest = func.dfg.block_call(Block::new(1000), &[]);
        func.dfg.replace_inst(inst, InstructionData::Jump { opcode: crate::Opcode::Jump, destination: dest });
        let cfg = ControlFlowGraph::with_function(&func);
        assert_eq!(cfg.succs(Block::new(0)), &[]);
        assert_eq!(cfg.preds(Block::new(1000)), &[]);
    }
}

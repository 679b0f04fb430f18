//! The order in which blocks are lowered and emitted, with critical edges split.
//!
//! Reachable blocks are ordered in reverse postorder (so every definition is lowered before
//! its uses when the order is walked backwards), with `cold` blocks moved to the end. An
//! edge from a block with several distinct successors to a block with several
//! predecessors is *critical*: regalloc2 has nowhere to put the moves for it, so it gets a
//! new lowered block of its own, placed right after its predecessor. The exception edges of
//! a `try_call` are always split: their block is the landing pad where the payloads arrive.
//! Its normal-return edge is split when the caller of [`BlockLoweringOrder::compute`] asks
//! (the callee returns values through a return area: they are loaded in that edge block).
//!
//! Identical destinations (same block, same arguments) are found in linear time, however
//! many a `br_table` has: each destination is compared only with the earlier distinct
//! destinations naming the same block.
//!
//! Invariants: lowered block 0 is the entry block; every original reachable block appears
//! exactly once; each branch destination of a terminator maps to exactly one lowered
//! successor (identical destinations with identical arguments share one).

use crate::machinst::BlockIndex;
use kiln_ir::analysis::domtree::DominatorTree;
use kiln_ir::entity::SecondaryMap;
use kiln_ir::{Block, BlockCall, Function, Inst};
use smallvec::SmallVec;

/// A lowered block: an original block or a critical-edge block.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LoweredBlock {
    /// An IR block.
    Orig {
        /// The block.
        block: Block,
    },
    /// The edge from `pred`'s terminator destination `succ_idx` to `succ`.
    Edge {
        /// Predecessor.
        pred: Block,
        /// Index of the destination in the terminator's branch destinations.
        succ_idx: u32,
        /// Successor.
        succ: Block,
    },
}

/// The block lowering order of a function.
#[derive(Default)]
pub struct BlockLoweringOrder {
    order: Vec<LoweredBlock>,
    /// Successors of each lowered block (ranges into `succs`).
    succ_ranges: Vec<(u32, u32)>,
    succs: Vec<BlockIndex>,
    /// For each original block, its lowered index.
    orig_index: SecondaryMap<Block, Option<BlockIndex>>,
    /// For each lowered block ending in an original terminator: the lowered target of each
    /// branch destination, in destination order.
    dest_targets: Vec<(u32, u32)>,
    dest_target_list: Vec<BlockIndex>,
    /// Is the lowered block cold?
    cold: Vec<bool>,
    /// Parallel to `succs`: for a successor of an original block, the index of the first
    /// branch destination of its terminator that leads there (`u32::MAX` for the single
    /// successor of an edge block).
    succ_dests: Vec<u32>,
    // Scratch.
    preds_count: SecondaryMap<Block, u32>,
    dedup: DestDedup,
    /// Per destination index of the current terminator: the lowered target of the
    /// destination's first occurrence.
    target_by_first: Vec<BlockIndex>,
}

impl BlockLoweringOrder {
    /// An empty order (reused across functions).
    pub fn new() -> Self {
        Self::default()
    }

    /// Compute the order for `func`. `split_normal_edge(term)` says whether the normal-return
    /// edge of the `try_call` `term` needs a block of its own.
    pub fn compute(&mut self, func: &Function, domtree: &DominatorTree, split_normal_edge: &dyn Fn(Inst) -> bool) {
        self.order.clear();
        self.succ_ranges.clear();
        self.succs.clear();
        self.orig_index.clear();
        self.dest_targets.clear();
        self.dest_target_list.clear();
        self.cold.clear();
        self.succ_dests.clear();
        self.preds_count.clear();

        // Reverse postorder of reachable blocks, cold ones last (stable otherwise).
        let rpo: SmallVec<[Block; 64]> = domtree.cfg_postorder().iter().rev().copied().collect();
        let mut ordered: Vec<Block> = Vec::with_capacity(rpo.len());
        ordered.extend(rpo.iter().copied().filter(|&b| !func.layout.is_cold(b)));
        ordered.extend(rpo.iter().copied().filter(|&b| func.layout.is_cold(b)));
        // The entry block must come first even if (invalidly) cold.
        if let Some(entry) = func.layout.entry_block()
            && let Some(pos) = ordered.iter().position(|&b| b == entry)
        {
            ordered.remove(pos);
            ordered.insert(0, entry);
        }

        // Count distinct predecessor edges of each block.
        let mut unique: SmallVec<[(Block, usize); 8]> = SmallVec::new();
        for &b in &ordered {
            if let Some(term) = func.layout.last_inst(b) {
                self.dedup.unique_dests(func, term, &mut unique);
                for &(s, _) in &unique {
                    self.preds_count[s] += 1;
                }
            }
        }

        // Assign lowered indices: each original block, followed by its critical edges.
        struct Pending {
            pred: Block,
            /// (successor, first destination index, edge block if the edge is critical)
            dests: SmallVec<[(Block, usize, Option<BlockIndex>); 4]>,
        }
        let mut pendings: Vec<Pending> = Vec::with_capacity(ordered.len());
        for &b in &ordered {
            let idx = BlockIndex(self.order.len() as u32);
            self.orig_index[b] = Some(idx);
            self.order.push(LoweredBlock::Orig { block: b });
            self.cold.push(func.layout.is_cold(b));
            let mut p = Pending { pred: b, dests: SmallVec::new() };
            if let Some(term) = func.layout.last_inst(b) {
                self.dedup.unique_dests(func, term, &mut unique);
                let multi = unique.len() > 1;
                // Exception handlers always get their own landing-pad block.
                let has_exn = func.dfg.opcode(term).has_exception_edges();
                let split_normal = has_exn && split_normal_edge(term);
                for &(s, first_idx) in &unique {
                    let edge = if (multi && self.preds_count[s] > 1)
                        || (has_exn && first_idx > 0)
                        || (split_normal && first_idx == 0)
                    {
                        let e = BlockIndex(self.order.len() as u32);
                        self.order.push(LoweredBlock::Edge { pred: b, succ_idx: first_idx as u32, succ: s });
                        self.cold.push(func.layout.is_cold(b));
                        Some(e)
                    } else {
                        None
                    };
                    p.dests.push((s, first_idx, edge));
                }
            }
            pendings.push(p);
        }

        // Successors and destination targets.
        self.succ_ranges.resize(self.order.len(), (0, 0));
        self.dest_targets.resize(self.order.len(), (0, 0));
        for p in &pendings {
            let pred_idx = self.orig_index[p.pred].expect("ordered block has an index");
            let start = self.succs.len() as u32;
            // The lowered target of each unique destination, by its first index.
            self.target_by_first.clear();
            if let Some(term) = func.layout.last_inst(p.pred) {
                self.target_by_first.resize(func.dfg.branch_destinations(term).len(), BlockIndex(0));
            }
            for &(s, first_idx, edge) in &p.dests {
                let t = match edge {
                    Some(e) => e,
                    None => self.orig_index[s].expect("successor of a reachable block is reachable"),
                };
                self.succs.push(t);
                self.succ_dests.push(first_idx as u32);
                self.target_by_first[first_idx] = t;
            }
            self.succ_ranges[pred_idx.index()] = (start, self.succs.len() as u32);
            // Map every destination (including duplicates) to its target.
            let dstart = self.dest_target_list.len() as u32;
            if let Some(term) = func.layout.last_inst(p.pred) {
                self.dedup.compute(func, term);
                for &first in &self.dedup.firsts {
                    self.dest_target_list.push(self.target_by_first[first as usize]);
                }
            }
            self.dest_targets[pred_idx.index()] = (dstart, self.dest_target_list.len() as u32);
        }
        // Edge blocks have one successor: their original target.
        for i in 0..self.order.len() {
            if let LoweredBlock::Edge { succ, .. } = self.order[i] {
                let start = self.succs.len() as u32;
                self.succs.push(self.orig_index[succ].expect("edge target is reachable"));
                self.succ_dests.push(u32::MAX);
                self.succ_ranges[i] = (start, self.succs.len() as u32);
            }
        }
    }

    /// The lowered blocks, in order.
    pub fn lowered_order(&self) -> &[LoweredBlock] {
        &self.order
    }

    /// The successors of lowered block `b` (distinct edges).
    pub fn succs(&self, b: BlockIndex) -> &[BlockIndex] {
        let (s, e) = self.succ_ranges[b.index()];
        &self.succs[s as usize..e as usize]
    }

    /// For each successor of lowered original block `b` (parallel to [`Self::succs`]), the
    /// index of the first branch destination of its terminator leading there.
    pub fn succ_dest_indices(&self, b: BlockIndex) -> &[u32] {
        let (s, e) = self.succ_ranges[b.index()];
        &self.succ_dests[s as usize..e as usize]
    }

    /// For a lowered original block, the lowered target of each branch destination of its
    /// terminator, in destination order.
    pub fn dest_targets(&self, b: BlockIndex) -> &[BlockIndex] {
        let (s, e) = self.dest_targets[b.index()];
        &self.dest_target_list[s as usize..e as usize]
    }

    /// The lowered index of an original block (None if unreachable).
    pub fn lowered_index_for_block(&self, b: Block) -> Option<BlockIndex> {
        self.orig_index[b]
    }

    /// Is lowered block `b` cold?
    pub fn is_cold(&self, b: BlockIndex) -> bool {
        self.cold[b.index()]
    }

    /// Number of lowered blocks.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Is the order empty?
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// Up to this many destinations, [`DestDedup`] compares each with all earlier ones.
const SMALL: usize = 4;

/// Finds the distinct destinations of a terminator (same block and same arguments make the
/// same edge) in time linear in their number: a destination is compared only with the
/// earlier distinct destinations naming the same block (usually none or one).
#[derive(Default)]
struct DestDedup {
    /// Per block: (stamp, 1 + index of the latest distinct destination naming it); entries
    /// with another stamp are stale.
    head: SecondaryMap<Block, (u32, u32)>,
    /// Per destination index: 1 + index of the previous distinct destination naming the
    /// same block (0: none).
    chain: Vec<u32>,
    /// Per destination index: the index of its first equal destination.
    firsts: Vec<u32>,
    stamp: u32,
}

impl DestDedup {
    /// Fill `firsts` for the destinations of `term`.
    fn compute(&mut self, func: &Function, term: Inst) {
        let dests = func.dfg.branch_destinations(term);
        let pool = &func.dfg.value_lists;
        self.firsts.clear();
        if dests.len() <= SMALL {
            // Few destinations (`jump`, `brif`): compare directly.
            for (i, d) in dests.iter().enumerate() {
                let same = |e: &BlockCall| e.block(pool) == d.block(pool) && e.raw_args(pool) == d.raw_args(pool);
                let first = dests[..i].iter().position(same).unwrap_or(i);
                self.firsts.push(first as u32);
            }
            return;
        }
        self.chain.clear();
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            // Wrapped: forget every old stamp.
            self.head.clear();
            self.stamp = 1;
        }
        for (i, d) in dests.iter().enumerate() {
            let b = d.block(pool);
            let (st, h) = self.head[b];
            let mut cur = if st == self.stamp { h } else { 0 };
            let mut first = i as u32;
            while cur != 0 {
                let j = (cur - 1) as usize;
                if dests[j].raw_args(pool) == d.raw_args(pool) {
                    first = j as u32;
                    break;
                }
                cur = self.chain[j];
            }
            if first == i as u32 {
                self.chain.push(if st == self.stamp { h } else { 0 });
                self.head[b] = (self.stamp, i as u32 + 1);
            } else {
                self.chain.push(0);
            }
            self.firsts.push(first);
        }
    }

    /// The distinct destinations of `term`: (block, index of its first occurrence).
    fn unique_dests(&mut self, func: &Function, term: Inst, out: &mut SmallVec<[(Block, usize); 8]>) {
        self.compute(func, term);
        out.clear();
        let dests = func.dfg.branch_destinations(term);
        let pool = &func.dfg.value_lists;
        for (i, &first) in self.firsts.iter().enumerate() {
            if first as usize == i {
                out.push((dests[i].block(pool), i));
            }
        }
    }
}

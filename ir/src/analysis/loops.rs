//! Natural loops and their nesting.
//!
//! A back edge is a CFG edge whose target dominates its source; the target is a loop header
//! and its natural loop is the header plus every block that reaches a back-edge source
//! without passing through the header. All back edges to one header form one loop.
//! Irreducible cycles (no block of the cycle dominates the others) have no back edge and so
//! form no loop; unreachable blocks belong to no loop.
//!
//! Invariants after [`LoopAnalysis::compute`]:
//! - loops are numbered in reverse postorder of their headers, so a loop's parent always
//!   has a smaller number than the loop itself;
//! - `innermost_loop(b)` is the deepest loop containing `b`; the loops containing `b` are
//!   exactly that loop and its ancestors;
//! - `loop_level` of a block outside every loop is 0, of a block in an outermost loop 1.

use crate::analysis::cfg::ControlFlowGraph;
use crate::analysis::domtree::DominatorTree;
use crate::entities::Block;
use crate::entity::{PackedOption, PrimaryMap, SecondaryMap};
use crate::entity_ref;
use crate::function::Function;

entity_ref!(
    /// A natural loop found by [`LoopAnalysis`].
    Loop,
    "loop"
);

/// One loop.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LoopData {
    /// The header: the single entry block, which dominates the whole loop.
    pub header: Block,
    /// The innermost loop strictly containing this one.
    pub parent: PackedOption<Loop>,
    /// Nesting depth: 1 for an outermost loop.
    pub level: u32,
}

/// The loop nest of a function.
#[derive(Clone, Default, Debug)]
pub struct LoopAnalysis {
    loops: PrimaryMap<Loop, LoopData>,
    innermost: SecondaryMap<Block, PackedOption<Loop>>,
    valid: bool,
    worklist: Vec<Block>,
}

impl LoopAnalysis {
    /// An empty, invalid analysis.
    pub fn new() -> Self {
        Self::default()
    }

    /// The loops of `func`.
    pub fn with_function(func: &Function, cfg: &ControlFlowGraph, domtree: &DominatorTree) -> Self {
        let mut l = Self::new();
        l.compute(func, cfg, domtree);
        l
    }

    /// Forget everything (keeping allocations) and mark the analysis invalid.
    pub fn clear(&mut self) {
        self.loops.clear();
        self.innermost.clear();
        self.valid = false;
    }

    /// Has the analysis been computed (and not cleared since)?
    pub fn is_valid(&self) -> bool {
        self.valid
    }

    /// Compute the loops of `func`, reusing this analysis' memory.
    pub fn compute(&mut self, func: &Function, cfg: &ControlFlowGraph, domtree: &DominatorTree) {
        self.clear();
        self.innermost.clear_and_resize(func.dfg.num_blocks());
        // Headers, in reverse postorder.
        for block in domtree.cfg_rpo() {
            let is_header =
                cfg.pred_iter(block).any(|p| domtree.is_reachable(p.block) && domtree.block_dominates(block, p.block));
            if is_header {
                let lp = self.loops.push(LoopData { header: block, parent: None.into(), level: 0 });
                self.innermost[block] = lp.into();
            }
        }
        // Bodies, innermost headers first: walk backwards from the back-edge sources. A block
        // already claimed by a loop stands for that loop's outermost known ancestor, which
        // becomes a child of the current loop; the walk continues from its header.
        for lp in self.loops.keys().rev() {
            let header = self.loops[lp].header;
            self.worklist.clear();
            for p in cfg.pred_iter(header) {
                if domtree.is_reachable(p.block) && domtree.block_dominates(header, p.block) {
                    self.worklist.push(p.block);
                }
            }
            while let Some(b) = self.worklist.pop() {
                let next = match self.innermost[b].expand() {
                    None => {
                        self.innermost[b] = lp.into();
                        b
                    }
                    Some(inner) => {
                        let outer = self.outermost_ancestor(inner);
                        if outer == lp {
                            continue;
                        }
                        self.loops[outer].parent = lp.into();
                        self.loops[outer].header
                    }
                };
                if next == header {
                    continue;
                }
                for p in cfg.pred_iter(next) {
                    if domtree.is_reachable(p.block) {
                        self.worklist.push(p.block);
                    }
                }
            }
        }
        // Levels: parents have smaller numbers, so one forward pass suffices.
        for lp in self.loops.keys() {
            let level = self.loops[lp].parent.expand().map_or(0, |p| self.loops[p].level) + 1;
            self.loops[lp].level = level;
        }
        self.valid = true;
    }

    fn outermost_ancestor(&self, mut lp: Loop) -> Loop {
        while let Some(p) = self.loops[lp].parent.expand() {
            lp = p;
        }
        lp
    }

    /// Every loop, outer loops before the loops they contain.
    pub fn loops(&self) -> impl DoubleEndedIterator<Item = Loop> + ExactSizeIterator + '_ {
        self.loops.keys()
    }

    /// The data of loop `lp`.
    pub fn loop_data(&self, lp: Loop) -> Option<&LoopData> {
        self.loops.get(lp)
    }

    /// The header of `lp`.
    pub fn loop_header(&self, lp: Loop) -> Option<Block> {
        self.loops.get(lp).map(|d| d.header)
    }

    /// The innermost loop strictly containing `lp`.
    pub fn loop_parent(&self, lp: Loop) -> Option<Loop> {
        self.loops.get(lp).and_then(|d| d.parent.expand())
    }

    /// The nesting depth of `lp` (1 for an outermost loop; 0 if `lp` is not a loop).
    pub fn loop_depth(&self, lp: Loop) -> u32 {
        self.loops.get(lp).map_or(0, |d| d.level)
    }

    /// The innermost loop containing `block`.
    pub fn innermost_loop(&self, block: Block) -> Option<Loop> {
        self.innermost.get(block).expand()
    }

    /// The loop `block` is the header of, if any.
    pub fn is_loop_header(&self, block: Block) -> Option<Loop> {
        self.innermost_loop(block).filter(|&lp| self.loops[lp].header == block)
    }

    /// Is `block` in loop `lp` (directly or in a nested loop)?
    pub fn is_in_loop(&self, block: Block, lp: Loop) -> bool {
        let mut cur = self.innermost_loop(block);
        while let Some(l) = cur {
            if l == lp {
                return true;
            }
            cur = self.loop_parent(l);
        }
        false
    }

    /// Is `inner` nested (directly or not) in `outer`, or equal to it?
    pub fn is_child_loop(&self, inner: Loop, outer: Loop) -> bool {
        let mut cur = Some(inner);
        while let Some(l) = cur {
            if l == outer {
                return true;
            }
            cur = self.loop_parent(l);
        }
        false
    }

    /// The loop depth of `block`: 0 outside every loop.
    pub fn loop_level(&self, block: Block) -> u32 {
        self.innermost_loop(block).map_or(0, |lp| self.loops[lp].level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::tests::{FuncBuilder, random_cfg};
    use crate::entity::EntityRef;

    fn blk(i: usize) -> Block {
        Block::new(i)
    }

    fn analyze(func: &Function) -> LoopAnalysis {
        let cfg = ControlFlowGraph::with_function(func);
        let dt = DominatorTree::with_function(func, &cfg);
        LoopAnalysis::with_function(func, &cfg, &dt)
    }

    #[test]
    fn no_loops() {
        let mut b = FuncBuilder::new(4);
        b.brif(0, 1, 2);
        b.jump(1, 3);
        b.jump(2, 3);
        b.ret(3);
        let la = analyze(&b.finish());
        assert!(la.is_valid());
        assert_eq!(la.loops().count(), 0);
        for i in 0..4 {
            assert_eq!(la.loop_level(blk(i)), 0);
            assert_eq!(la.innermost_loop(blk(i)), None);
        }
    }

    #[test]
    fn simple_and_self_loops() {
        // 0 -> 1; 1 -> {1, 2}; 2 -> {3, 1}; 3 ret.
        let mut b = FuncBuilder::new(4);
        b.jump(0, 1);
        b.brif(1, 1, 2);
        b.brif(2, 3, 1);
        b.ret(3);
        let la = analyze(&b.finish());
        assert_eq!(la.loops().count(), 1);
        let lp = la.is_loop_header(blk(1)).unwrap();
        assert_eq!(la.loop_header(lp), Some(blk(1)));
        assert!(la.is_in_loop(blk(1), lp));
        assert!(la.is_in_loop(blk(2), lp));
        assert!(!la.is_in_loop(blk(3), lp));
        assert!(!la.is_in_loop(blk(0), lp));
        assert_eq!(la.loop_level(blk(2)), 1);
        assert_eq!(la.is_loop_header(blk(2)), None);
    }

    #[test]
    fn nested_loops() {
        // 0 -> 1 (outer header) -> 2 (inner header) -> 3 -> {2, 4}; 4 -> {1, 5}; 5 ret.
        let mut b = FuncBuilder::new(6);
        b.jump(0, 1);
        b.jump(1, 2);
        b.jump(2, 3);
        b.brif(3, 2, 4);
        b.brif(4, 1, 5);
        b.ret(5);
        let la = analyze(&b.finish());
        assert_eq!(la.loops().count(), 2);
        let outer = la.is_loop_header(blk(1)).unwrap();
        let inner = la.is_loop_header(blk(2)).unwrap();
        assert!(outer < inner, "outer loops first");
        assert_eq!(la.loop_parent(inner), Some(outer));
        assert_eq!(la.loop_parent(outer), None);
        assert_eq!(la.loop_depth(inner), 2);
        assert_eq!(la.loop_level(blk(3)), 2);
        assert_eq!(la.loop_level(blk(4)), 1);
        assert_eq!(la.loop_level(blk(1)), 1);
        assert_eq!(la.loop_level(blk(5)), 0);
        assert_eq!(la.innermost_loop(blk(3)), Some(inner));
        assert!(la.is_in_loop(blk(3), outer));
        assert!(!la.is_in_loop(blk(4), inner));
        assert!(la.is_child_loop(inner, outer));
        assert!(!la.is_child_loop(outer, inner));
        assert_eq!(la.loop_data(inner).unwrap().header, blk(2));
    }

    #[test]
    fn sibling_loops_and_shared_header() {
        // Two back edges to block 1 (from 2 and 3) form one loop; block 4 heads a sibling.
        let mut b = FuncBuilder::new(6);
        b.jump(0, 1);
        b.brif(1, 2, 3);
        b.brif(2, 1, 4);
        b.jump(3, 1);
        b.brif(4, 4, 5);
        b.ret(5);
        let la = analyze(&b.finish());
        assert_eq!(la.loops().count(), 2);
        let l1 = la.is_loop_header(blk(1)).unwrap();
        let l4 = la.is_loop_header(blk(4)).unwrap();
        assert_eq!(la.loop_parent(l4), None);
        assert!(la.is_in_loop(blk(3), l1));
        assert!(la.is_in_loop(blk(2), l1));
        assert!(!la.is_in_loop(blk(4), l1));
    }

    #[test]
    fn irreducible_cycle_is_not_a_loop() {
        let mut b = FuncBuilder::new(4);
        b.brif(0, 1, 2);
        b.brif(1, 2, 3);
        b.brif(2, 1, 3);
        b.ret(3);
        let la = analyze(&b.finish());
        assert_eq!(la.loops().count(), 0);
    }

    #[test]
    fn irreducible_cycle_inside_a_loop() {
        // 0 -> 1 (header); 1 -> {2, 3}; 2 <-> 3; 3 -> 4 -> {1, 5}.
        let mut b = FuncBuilder::new(6);
        b.jump(0, 1);
        b.brif(1, 2, 3);
        b.brif(2, 3, 4);
        b.brif(3, 2, 4);
        b.brif(4, 1, 5);
        b.ret(5);
        let la = analyze(&b.finish());
        assert_eq!(la.loops().count(), 1);
        let l = la.is_loop_header(blk(1)).unwrap();
        for i in 1..5 {
            assert!(la.is_in_loop(blk(i), l), "block{i}");
        }
        assert!(!la.is_in_loop(blk(5), l));
    }

    #[test]
    fn unreachable_blocks_are_in_no_loop() {
        let mut b = FuncBuilder::new(4);
        b.brif(0, 1, 2);
        b.jump(1, 1);
        b.ret(2);
        b.jump(3, 3);
        let la = analyze(&b.finish());
        assert_eq!(la.loops().count(), 1);
        assert_eq!(la.innermost_loop(blk(3)), None);
    }

    /// On random CFGs: a block is in the loop of header h iff h dominates it and it reaches
    /// a back-edge source of h without passing through h.
    #[test]
    fn random_cfgs_match_definition() {
        for seed in 0..500u64 {
            let n = 1 + (seed as usize % 10);
            let func = random_cfg(seed, n);
            let cfg = ControlFlowGraph::with_function(&func);
            let dt = DominatorTree::with_function(&func, &cfg);
            let la = LoopAnalysis::with_function(&func, &cfg, &dt);
            for lp in la.loops() {
                let h = la.loop_header(lp).unwrap();
                // Body by definition: backwards from back-edge sources, stopping at h.
                let mut body = vec![false; n];
                body[h.index()] = true;
                let mut stack: Vec<Block> = cfg
                    .pred_iter(h)
                    .filter(|p| dt.is_reachable(p.block) && dt.block_dominates(h, p.block))
                    .map(|p| p.block)
                    .collect();
                while let Some(x) = stack.pop() {
                    if body[x.index()] {
                        continue;
                    }
                    body[x.index()] = true;
                    stack.extend(cfg.pred_iter(x).filter(|p| dt.is_reachable(p.block)).map(|p| p.block));
                }
                for i in 0..n {
                    assert_eq!(la.is_in_loop(blk(i), lp), body[i], "seed {seed}: block{i} in loop of {h}");
                }
                if let Some(p) = la.loop_parent(lp) {
                    assert!(p < lp);
                    assert_eq!(la.loop_depth(lp), la.loop_depth(p) + 1);
                }
            }
        }
    }
}

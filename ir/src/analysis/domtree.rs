//! The dominator tree, computed with the Semi-NCA algorithm (semidominators by
//! Lengauer–Tarjan evaluation with path compression, then immediate dominators as nearest
//! common ancestors), in near-linear time.
//!
//! Only blocks reachable from the entry block (the first block of the layout) take part.
//! After [`DominatorTree::compute`]:
//! - `idom(b)` is the immediate dominator of every reachable block except the entry;
//!   unreachable blocks and the entry have none;
//! - [`DominatorTree::cfg_postorder`] is a depth-first postorder of the reachable CFG whose
//!   DFS visits successors last-to-first, so that the reverse postorder lists a block's
//!   first successor before its second;
//! - every reachable block has a preorder number `pre` in the dominator tree and `last`, the
//!   largest preorder number in its subtree, so that `a` dominates `b` iff
//!   `pre(a) <= pre(b) <= last(a)`: an O(1) query;
//! - the children of each node are stored in one shared vector, ordered by reverse
//!   postorder.
//!
//! All queries are total: asking about a block the tree has never seen (or a block that is
//! not in the function at all) answers "unreachable" instead of panicking.

use crate::analysis::cfg::ControlFlowGraph;
use crate::entities::{Block, Inst};
use crate::entity::{EntityRef, PackedOption, SecondaryMap};
use crate::function::Function;
use crate::layout::Layout;
use core::cmp::Ordering;

/// A point in the program: the start of a block, or an instruction.
#[derive(Copy, Clone, PartialEq, Eq, Debug, Hash)]
pub enum ProgramPoint {
    /// The start of a block (before its first instruction).
    Block(Block),
    /// An instruction.
    Inst(Inst),
}

impl From<Block> for ProgramPoint {
    fn from(b: Block) -> Self {
        ProgramPoint::Block(b)
    }
}

impl From<Inst> for ProgramPoint {
    fn from(i: Inst) -> Self {
        ProgramPoint::Inst(i)
    }
}

#[derive(Copy, Clone, Default, Debug)]
struct Node {
    idom: PackedOption<Block>,
    /// 1 + index in reverse postorder; 0 = unreachable.
    rpo: u32,
    /// Preorder number in the dominator tree (0 for the entry).
    pre: u32,
    /// The largest preorder number in this node's subtree.
    last: u32,
    /// Children range in `children`.
    child_start: u32,
    child_end: u32,
}

/// The dominator tree of a function's reachable blocks.
#[derive(Clone, Default, Debug)]
pub struct DominatorTree {
    nodes: SecondaryMap<Block, Node>,
    postorder: Vec<Block>,
    dom_preorder: Vec<Block>,
    children: Vec<Block>,
    valid: bool,
    // Scratch (kept to reuse memory across computations). Index 0 is a sentinel: DFS
    // numbers are 1-based.
    dfs_num: SecondaryMap<Block, u32>,
    vertex: Vec<Block>,
    parent: Vec<u32>,
    semi: Vec<u32>,
    label: Vec<u32>,
    ancestor: Vec<u32>,
    idom_num: Vec<u32>,
    dfs_stack: Vec<(Block, u32)>,
    work: Vec<u32>,
}

impl DominatorTree {
    /// An empty, invalid tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The dominator tree of `func`, whose CFG is `cfg`.
    pub fn with_function(func: &Function, cfg: &ControlFlowGraph) -> Self {
        let mut t = Self::new();
        t.compute(func, cfg);
        t
    }

    /// Forget everything (keeping allocations) and mark the tree invalid.
    pub fn clear(&mut self) {
        self.nodes.clear();
        self.postorder.clear();
        self.dom_preorder.clear();
        self.children.clear();
        self.valid = false;
    }

    /// Has the tree been computed (and not cleared since)?
    pub fn is_valid(&self) -> bool {
        self.valid
    }

    /// Compute the tree of `func` from its CFG, reusing this tree's memory.
    pub fn compute(&mut self, func: &Function, cfg: &ControlFlowGraph) {
        self.clear();
        let nblocks = func.dfg.num_blocks();
        self.nodes.clear_and_resize(nblocks);
        self.valid = true;
        let Some(entry) = func.layout.entry_block() else { return };
        if entry.index() >= nblocks {
            return;
        }
        self.dfs(entry, cfg, nblocks);
        self.semi_nca(cfg);
        self.build_tree();
    }

    /// Depth-first search from `entry`: DFS preorder numbers, DFS-tree parents, postorder.
    fn dfs(&mut self, entry: Block, cfg: &ControlFlowGraph, nblocks: usize) {
        self.dfs_num.clear_and_resize(nblocks);
        self.vertex.clear();
        self.parent.clear();
        self.vertex.push(entry); // sentinel at index 0
        self.parent.push(0);
        self.vertex.push(entry);
        self.parent.push(0);
        self.dfs_num[entry] = 1;
        self.dfs_stack.clear();
        self.dfs_stack.push((entry, cfg.num_succs(entry) as u32));
        while let Some(top) = self.dfs_stack.last_mut() {
            let (b, i) = *top;
            if i == 0 {
                self.dfs_stack.pop();
                self.postorder.push(b);
                continue;
            }
            top.1 = i - 1;
            let s = cfg.succs(b)[(i - 1) as usize];
            if s.index() < nblocks && self.dfs_num[s] == 0 {
                let n = self.vertex.len() as u32;
                self.dfs_num[s] = n;
                self.vertex.push(s);
                self.parent.push(self.dfs_num[b]);
                self.dfs_stack.push((s, cfg.num_succs(s) as u32));
            }
        }
        for (i, &b) in self.postorder.iter().rev().enumerate() {
            self.nodes[b].rpo = i as u32 + 1;
        }
    }

    /// Semidominators by path-compressed evaluation, then immediate dominators as the
    /// nearest ancestors whose number does not exceed the semidominator.
    fn semi_nca(&mut self, cfg: &ControlFlowGraph) {
        let n = self.vertex.len() - 1;
        self.semi.clear();
        self.semi.extend(0..=n as u32);
        self.label.clear();
        self.label.extend(0..=n as u32);
        self.ancestor.clear();
        self.ancestor.resize(n + 1, 0);
        for w in (2..=n).rev() {
            let b = self.vertex[w];
            let mut semi_w = self.semi[w];
            for p in cfg.pred_iter(b) {
                let v = *self.dfs_num.get(p.block) as usize;
                if v == 0 {
                    continue; // unreachable predecessor
                }
                let u = if self.ancestor[v] == 0 {
                    v
                } else {
                    self.compress(v);
                    self.label[v] as usize
                };
                semi_w = semi_w.min(self.semi[u]);
            }
            self.semi[w] = semi_w;
            self.ancestor[w] = self.parent[w];
        }
        self.idom_num.clear();
        self.idom_num.resize(n + 1, 0);
        for w in 2..=n {
            let mut d = self.parent[w];
            while d > self.semi[w] {
                d = self.idom_num[d as usize];
            }
            self.idom_num[w] = d;
            let (b, db) = (self.vertex[w], self.vertex[d as usize]);
            self.nodes[b].idom = db.into();
        }
    }

    /// Path compression of the evaluation forest, iteratively. Requires `ancestor[v] != 0`.
    fn compress(&mut self, v: usize) {
        let mut x = v;
        while self.ancestor[self.ancestor[x] as usize] != 0 {
            self.work.push(x as u32);
            x = self.ancestor[x] as usize;
        }
        while let Some(y) = self.work.pop() {
            let y = y as usize;
            let a = self.ancestor[y] as usize;
            if self.semi[self.label[a] as usize] < self.semi[self.label[y] as usize] {
                self.label[y] = self.label[a];
            }
            self.ancestor[y] = self.ancestor[a];
        }
    }

    /// Children lists (in reverse postorder) and the dominator-tree pre/last numbering.
    fn build_tree(&mut self) {
        // Count children, then place them by a counting sort over the reverse postorder.
        for &b in self.postorder.iter() {
            if let Some(d) = self.nodes[b].idom.expand() {
                self.nodes[d].child_end += 1;
            }
        }
        let mut acc = 0u32;
        for &b in self.postorder.iter().rev() {
            let node = &mut self.nodes[b];
            let count = node.child_end;
            node.child_start = acc;
            node.child_end = acc;
            acc += count;
        }
        self.children.clear();
        self.children.resize(acc as usize, Block::new(0));
        for i in (0..self.postorder.len()).rev() {
            let b = self.postorder[i];
            if let Some(d) = self.nodes[b].idom.expand() {
                let slot = self.nodes[d].child_end;
                self.children[slot as usize] = b;
                self.nodes[d].child_end += 1;
            }
        }
        // Preorder of the dominator tree, children visited in order.
        let Some(&entry) = self.postorder.last() else { return };
        self.dom_preorder.clear();
        let mut stack = core::mem::take(&mut self.dfs_stack);
        stack.clear();
        stack.push((entry, 0));
        while let Some((b, _)) = stack.pop() {
            self.nodes[b].pre = self.dom_preorder.len() as u32;
            self.dom_preorder.push(b);
            let node = self.nodes[b];
            for i in (node.child_start..node.child_end).rev() {
                stack.push((self.children[i as usize], 0));
            }
        }
        self.dfs_stack = stack;
        // Subtree extents: last(b) = max over the subtree, accumulated bottom-up.
        for &b in self.dom_preorder.iter() {
            let pre = self.nodes[b].pre;
            self.nodes[b].last = pre;
        }
        for i in (0..self.dom_preorder.len()).rev() {
            let b = self.dom_preorder[i];
            let node = self.nodes[b];
            if let Some(d) = node.idom.expand()
                && self.nodes[d].last < node.last
            {
                self.nodes[d].last = node.last;
            }
        }
    }

    /// The immediate dominator of `block` (`None` for the entry and unreachable blocks).
    pub fn idom(&self, block: Block) -> Option<Block> {
        self.nodes.get(block).idom.expand()
    }

    /// Is `block` reachable from the entry block?
    pub fn is_reachable(&self, block: Block) -> bool {
        self.nodes.get(block).rpo != 0
    }

    /// The position of `block` in reverse postorder (0 for the entry), if reachable.
    pub fn rpo_number(&self, block: Block) -> Option<u32> {
        let r = self.nodes.get(block).rpo;
        (r != 0).then(|| r - 1)
    }

    /// The reachable blocks in CFG postorder.
    pub fn cfg_postorder(&self) -> &[Block] {
        &self.postorder
    }

    /// The reachable blocks in CFG reverse postorder (the entry block first).
    pub fn cfg_rpo(&self) -> impl DoubleEndedIterator<Item = Block> + ExactSizeIterator + '_ {
        self.postorder.iter().rev().copied()
    }

    /// The reachable blocks in preorder of the dominator tree (a block before all blocks it
    /// dominates).
    pub fn dom_preorder(&self) -> &[Block] {
        &self.dom_preorder
    }

    /// The blocks whose immediate dominator is `block`, in reverse postorder.
    pub fn children(&self, block: Block) -> &[Block] {
        let n = self.nodes.get(block);
        self.children.get(n.child_start as usize..n.child_end as usize).unwrap_or(&[])
    }

    /// Does block `a` dominate block `b`? Every block dominates itself; otherwise both must
    /// be reachable. O(1).
    pub fn block_dominates(&self, a: Block, b: Block) -> bool {
        if a == b {
            return true;
        }
        let (na, nb) = (self.nodes.get(a), self.nodes.get(b));
        na.rpo != 0 && nb.rpo != 0 && na.pre <= nb.pre && nb.pre <= na.last
    }

    /// Does block `a` strictly dominate block `b`?
    pub fn block_strictly_dominates(&self, a: Block, b: Block) -> bool {
        a != b && self.block_dominates(a, b)
    }

    /// Does program point `a` dominate program point `b`? A point dominates itself; an
    /// instruction dominates the later instructions of its block and everything its block
    /// strictly dominates. Instructions not in the layout dominate nothing and are dominated
    /// by nothing (except themselves).
    pub fn dominates(&self, a: impl Into<ProgramPoint>, b: impl Into<ProgramPoint>, layout: &Layout) -> bool {
        let (a, b) = (a.into(), b.into());
        if a == b {
            return true;
        }
        match (a, b) {
            (ProgramPoint::Block(ba), ProgramPoint::Block(bb)) => self.block_dominates(ba, bb),
            (ProgramPoint::Block(ba), ProgramPoint::Inst(ib)) => {
                layout.inst_block(ib).is_some_and(|bb| self.block_dominates(ba, bb))
            }
            (ProgramPoint::Inst(ia), ProgramPoint::Block(bb)) => {
                layout.inst_block(ia).is_some_and(|ba| self.block_strictly_dominates(ba, bb))
            }
            (ProgramPoint::Inst(ia), ProgramPoint::Inst(ib)) => match (layout.inst_block(ia), layout.inst_block(ib)) {
                (Some(ba), Some(bb)) if ba == bb => layout.cmp_insts(ia, ib) != Ordering::Greater,
                (Some(ba), Some(bb)) => self.block_dominates(ba, bb),
                _ => false,
            },
        }
    }

    /// The nearest block dominating both `a` and `b`, if both are reachable.
    pub fn common_dominator(&self, mut a: Block, mut b: Block) -> Option<Block> {
        if !self.is_reachable(a) || !self.is_reachable(b) {
            return None;
        }
        while a != b {
            let (ra, rb) = (self.nodes.get(a).rpo, self.nodes.get(b).rpo);
            if ra < rb {
                b = self.idom(b)?;
            } else {
                a = self.idom(a)?;
            }
        }
        Some(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::tests::{FuncBuilder, random_cfg};

    fn blk(i: usize) -> Block {
        Block::new(i)
    }

    fn tree(func: &Function) -> (ControlFlowGraph, DominatorTree) {
        let cfg = ControlFlowGraph::with_function(func);
        let dt = DominatorTree::with_function(func, &cfg);
        (cfg, dt)
    }

    #[test]
    fn empty_function() {
        let func = Function::new();
        let (_, dt) = tree(&func);
        assert!(dt.is_valid());
        assert!(dt.cfg_postorder().is_empty());
        assert!(!dt.is_reachable(blk(0)));
        assert!(dt.block_dominates(blk(0), blk(0)));
        assert!(!dt.block_dominates(blk(0), blk(1)));
    }

    #[test]
    fn diamond() {
        let mut b = FuncBuilder::new(4);
        let i0 = b.brif(0, 1, 2);
        b.jump(1, 3);
        b.jump(2, 3);
        let r = b.ret(3);
        let func = b.finish();
        let (_, dt) = tree(&func);
        assert_eq!(dt.idom(blk(0)), None);
        assert_eq!(dt.idom(blk(1)), Some(blk(0)));
        assert_eq!(dt.idom(blk(2)), Some(blk(0)));
        assert_eq!(dt.idom(blk(3)), Some(blk(0)));
        assert_eq!(dt.cfg_rpo().collect::<Vec<_>>(), vec![blk(0), blk(1), blk(2), blk(3)]);
        assert_eq!(dt.cfg_postorder(), &[blk(3), blk(2), blk(1), blk(0)]);
        assert_eq!(dt.children(blk(0)), &[blk(1), blk(2), blk(3)]);
        assert!(dt.block_dominates(blk(0), blk(3)));
        assert!(!dt.block_dominates(blk(1), blk(3)));
        assert!(dt.dominates(i0, r, &func.layout));
        assert!(!dt.dominates(r, i0, &func.layout));
        assert!(dt.dominates(blk(0), i0, &func.layout));
        assert!(!dt.dominates(i0, blk(0), &func.layout), "an instruction does not dominate its block's start");
        assert!(dt.dominates(i0, blk(3), &func.layout));
        assert_eq!(dt.common_dominator(blk(1), blk(2)), Some(blk(0)));
        assert_eq!(dt.common_dominator(blk(3), blk(3)), Some(blk(3)));
        assert_eq!(dt.rpo_number(blk(0)), Some(0));
    }

    #[test]
    fn instructions_in_one_block() {
        let mut b = FuncBuilder::new(1);
        let c = b.iconst(0);
        let r = b.ret(0);
        let func = b.finish();
        let (_, dt) = tree(&func);
        assert!(dt.dominates(c, r, &func.layout));
        assert!(dt.dominates(c, c, &func.layout));
        assert!(!dt.dominates(r, c, &func.layout));
    }

    #[test]
    fn loops_and_unreachable_blocks() {
        // 0 -> 1 -> 2 -> 1, 2 -> 3; block 4 unreachable, jumping into the loop.
        let mut b = FuncBuilder::new(5);
        b.jump(0, 1);
        b.jump(1, 2);
        b.brif(2, 1, 3);
        b.ret(3);
        b.jump(4, 2);
        let func = b.finish();
        let (_, dt) = tree(&func);
        assert_eq!(dt.idom(blk(1)), Some(blk(0)));
        assert_eq!(dt.idom(blk(2)), Some(blk(1)));
        assert_eq!(dt.idom(blk(3)), Some(blk(2)));
        assert!(!dt.is_reachable(blk(4)));
        assert_eq!(dt.idom(blk(4)), None);
        assert!(!dt.block_dominates(blk(0), blk(4)));
        assert!(!dt.block_dominates(blk(4), blk(2)));
        assert_eq!(dt.common_dominator(blk(4), blk(2)), None);
        assert_eq!(dt.cfg_postorder().len(), 4);
        assert_eq!(dt.dom_preorder(), &[blk(0), blk(1), blk(2), blk(3)]);
        // Out-of-range queries are total.
        assert!(!dt.is_reachable(blk(99)));
        assert_eq!(dt.children(blk(99)), &[]);
    }

    #[test]
    fn irreducible() {
        // 0 -> {1, 2}, 1 <-> 2, both -> 3.
        let mut b = FuncBuilder::new(4);
        b.brif(0, 1, 2);
        b.brif(1, 2, 3);
        b.brif(2, 1, 3);
        b.ret(3);
        let func = b.finish();
        let (_, dt) = tree(&func);
        for i in 1..4 {
            assert_eq!(dt.idom(blk(i)), Some(blk(0)));
        }
    }

    #[test]
    fn recompute_reuses_and_agrees() {
        let mut dt = DominatorTree::new();
        assert!(!dt.is_valid());
        let mut cfg = ControlFlowGraph::new();
        for seed in 0..50 {
            let func = random_cfg(seed, 12);
            cfg.compute(&func);
            dt.compute(&func, &cfg);
            let fresh = DominatorTree::with_function(&func, &cfg);
            for b in func.layout.blocks() {
                assert_eq!(dt.idom(b), fresh.idom(b));
            }
        }
    }

    /// Brute-force dominance: `a` dominates reachable `b` iff `b` is unreachable from the
    /// entry when `a` is removed.
    fn brute_dominates(cfg: &ControlFlowGraph, entry: Block, n: usize, a: Block, b: Block) -> bool {
        if a == b {
            return true;
        }
        if a == entry {
            return true;
        }
        let mut seen = vec![false; n];
        let mut stack = vec![entry];
        seen[entry.index()] = true;
        while let Some(x) = stack.pop() {
            for s in cfg.succ_iter(x) {
                if s != a && !seen[s.index()] {
                    seen[s.index()] = true;
                    stack.push(s);
                }
            }
        }
        !seen[b.index()]
    }

    #[test]
    fn random_cfgs_match_brute_force() {
        for seed in 0..3000u64 {
            let n = 1 + (seed as usize % 13);
            let func = random_cfg(seed, n);
            let (cfg, dt) = tree(&func);
            let entry = func.layout.entry_block().unwrap();
            // Reachability.
            let mut reach = vec![false; n];
            let mut stack = vec![entry];
            reach[entry.index()] = true;
            while let Some(x) = stack.pop() {
                for s in cfg.succ_iter(x) {
                    if !reach[s.index()] {
                        reach[s.index()] = true;
                        stack.push(s);
                    }
                }
            }
            for i in 0..n {
                assert_eq!(dt.is_reachable(blk(i)), reach[i], "seed {seed} block {i}");
            }
            assert_eq!(dt.cfg_postorder().len(), reach.iter().filter(|r| **r).count());
            for a in 0..n {
                for b in 0..n {
                    if !reach[a] || !reach[b] {
                        continue;
                    }
                    let expect = brute_dominates(&cfg, entry, n, blk(a), blk(b));
                    assert_eq!(dt.block_dominates(blk(a), blk(b)), expect, "seed {seed}: {a} dom {b}");
                }
                if reach[a] && a != entry.index() {
                    // The immediate dominator is the strict dominator dominated by all others.
                    let d = dt.idom(blk(a)).expect("reachable non-entry has an idom");
                    assert!(brute_dominates(&cfg, entry, n, d, blk(a)) && d != blk(a));
                    for c in 0..n {
                        if reach[c] && c != a && brute_dominates(&cfg, entry, n, blk(c), blk(a)) {
                            assert!(brute_dominates(&cfg, entry, n, blk(c), d), "seed {seed}");
                        }
                    }
                }
            }
            // Postorder property: every tree edge source finishes after its target.
            let post: Vec<usize> = {
                let mut p = vec![usize::MAX; n];
                for (i, b) in dt.cfg_postorder().iter().enumerate() {
                    p[b.index()] = i;
                }
                p
            };
            for b in dt.cfg_postorder() {
                if let Some(d) = dt.idom(*b) {
                    assert!(post[d.index()] > post[b.index()]);
                }
            }
        }
    }
}

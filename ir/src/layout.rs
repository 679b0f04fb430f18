//! The layout: the order of blocks in a function and of instructions in each block, as
//! doubly-linked lists over entity maps.
//!
//! Invariants: a block is in the layout at most once; an instruction belongs to at most one
//! block. Instructions carry sequence numbers that increase along their block, so "does
//! `a` come before `b`" is one comparison. Appending leaves a gap of [`MAJOR_STRIDE`];
//! inserting takes the midpoint of the gap, and when there is none, renumbers the following
//! instructions locally (in steps of [`MINOR_STRIDE`], up to [`LOCAL_LIMIT`] of them) until
//! it meets a larger number, falling back to renumbering the whole block. Repeated insertion
//! at one point (the optimizer placing a block's worth of instructions before one
//! instruction) thus costs O(1) amortized, not a renumbering of the block every few
//! insertions.

use crate::entities::{Block, Inst};
use crate::entity::{PackedOption, SecondaryMap};
use core::cmp::Ordering;

#[derive(Clone, Copy, Default, Debug)]
struct BlockNode {
    prev: PackedOption<Block>,
    next: PackedOption<Block>,
    first: PackedOption<Inst>,
    last: PackedOption<Inst>,
    inserted: bool,
    cold: bool,
}

#[derive(Clone, Copy, Default, Debug)]
struct InstNode {
    block: PackedOption<Block>,
    prev: PackedOption<Inst>,
    next: PackedOption<Inst>,
    seq: u32,
}

/// Gap between sequence numbers after appending or renumbering a whole block.
const MAJOR_STRIDE: u32 = 64;
/// Gap used when renumbering locally after an insertion found no free number.
const MINOR_STRIDE: u32 = 2;
/// Instructions a local renumbering may touch before the whole block is renumbered.
const LOCAL_LIMIT: usize = 128;

/// Block and instruction order.
#[derive(Clone, Default, Debug)]
pub struct Layout {
    blocks: SecondaryMap<Block, BlockNode>,
    insts: SecondaryMap<Inst, InstNode>,
    first_block: Option<Block>,
    last_block: Option<Block>,
}

impl Layout {
    /// An empty layout.
    pub fn new() -> Self {
        Self::default()
    }

    /// Remove everything, keeping allocations.
    pub fn clear(&mut self) {
        self.blocks.clear();
        self.insts.clear();
        self.first_block = None;
        self.last_block = None;
    }

    // Blocks ------------------------------------------------------------------------------

    /// Is `block` in the layout?
    pub fn is_block_inserted(&self, block: Block) -> bool {
        self.blocks[block].inserted
    }

    /// The first block.
    pub fn entry_block(&self) -> Option<Block> {
        self.first_block
    }

    /// The last block.
    pub fn last_block(&self) -> Option<Block> {
        self.last_block
    }

    /// Append `block` at the end.
    pub fn append_block(&mut self, block: Block) {
        debug_assert!(!self.is_block_inserted(block));
        let node = &mut self.blocks[block];
        node.inserted = true;
        node.prev = self.last_block.into();
        node.next = None.into();
        match self.last_block {
            Some(l) => self.blocks[l].next = block.into(),
            None => self.first_block = Some(block),
        }
        self.last_block = Some(block);
    }

    /// Insert `block` before `before`.
    pub fn insert_block(&mut self, block: Block, before: Block) {
        debug_assert!(!self.is_block_inserted(block) && self.is_block_inserted(before));
        let prev = self.blocks[before].prev;
        {
            let node = &mut self.blocks[block];
            node.inserted = true;
            node.prev = prev;
            node.next = before.into();
        }
        self.blocks[before].prev = block.into();
        match prev.expand() {
            Some(p) => self.blocks[p].next = block.into(),
            None => self.first_block = Some(block),
        }
    }

    /// Insert `block` after `after`.
    pub fn insert_block_after(&mut self, block: Block, after: Block) {
        match self.blocks[after].next.expand() {
            Some(n) => self.insert_block(block, n),
            None => self.append_block(block),
        }
    }

    /// Remove `block` (which must be empty of instructions) from the layout.
    pub fn remove_block(&mut self, block: Block) {
        debug_assert!(self.blocks[block].first.is_none(), "removing a non-empty block");
        let BlockNode { prev, next, .. } = self.blocks[block];
        match prev.expand() {
            Some(p) => self.blocks[p].next = next,
            None => self.first_block = next.expand(),
        }
        match next.expand() {
            Some(n) => self.blocks[n].prev = prev,
            None => self.last_block = prev.expand(),
        }
        self.blocks[block] = BlockNode::default();
    }

    /// The block after `block`.
    pub fn next_block(&self, block: Block) -> Option<Block> {
        self.blocks[block].next.expand()
    }

    /// The block before `block`.
    pub fn prev_block(&self, block: Block) -> Option<Block> {
        self.blocks[block].prev.expand()
    }

    /// Mark `block` cold (or not).
    pub fn set_cold(&mut self, block: Block, cold: bool) {
        self.blocks[block].cold = cold;
    }

    /// Is `block` marked cold?
    pub fn is_cold(&self, block: Block) -> bool {
        self.blocks[block].cold
    }

    /// Iterate over the blocks in order.
    pub fn blocks(&self) -> Blocks<'_> {
        Blocks { layout: self, next: self.first_block }
    }

    // Instructions -----------------------------------------------------------------------

    /// The block containing `inst`.
    #[inline]
    pub fn inst_block(&self, inst: Inst) -> Option<Block> {
        self.insts[inst].block.expand()
    }

    /// The first instruction of `block`.
    pub fn first_inst(&self, block: Block) -> Option<Inst> {
        self.blocks[block].first.expand()
    }

    /// The last instruction of `block`.
    pub fn last_inst(&self, block: Block) -> Option<Inst> {
        self.blocks[block].last.expand()
    }

    /// The instruction after `inst` in its block.
    pub fn next_inst(&self, inst: Inst) -> Option<Inst> {
        self.insts[inst].next.expand()
    }

    /// The instruction before `inst` in its block.
    pub fn prev_inst(&self, inst: Inst) -> Option<Inst> {
        self.insts[inst].prev.expand()
    }

    /// Append `inst` to `block`.
    pub fn append_inst(&mut self, inst: Inst, block: Block) {
        debug_assert!(self.inst_block(inst).is_none());
        debug_assert!(self.is_block_inserted(block));
        let last = self.blocks[block].last;
        let seq = match last.expand() {
            Some(l) => self.insts[l].seq.saturating_add(MAJOR_STRIDE),
            None => MAJOR_STRIDE,
        };
        self.insts[inst] = InstNode { block: block.into(), prev: last, next: None.into(), seq };
        match last.expand() {
            Some(l) => self.insts[l].next = inst.into(),
            None => self.blocks[block].first = inst.into(),
        }
        self.blocks[block].last = inst.into();
        if seq == u32::MAX {
            self.renumber(block);
        }
    }

    /// Insert `inst` before `before`.
    pub fn insert_inst(&mut self, inst: Inst, before: Inst) {
        debug_assert!(self.inst_block(inst).is_none());
        let block = self.inst_block(before).expect("insert before an instruction not in the layout");
        let prev = self.insts[before].prev;
        let lo = prev.expand().map_or(0, |p| self.insts[p].seq);
        let hi = self.insts[before].seq;
        self.insts[inst] = InstNode { block: block.into(), prev, next: before.into(), seq: lo + (hi - lo) / 2 };
        self.insts[before].prev = inst.into();
        match prev.expand() {
            Some(p) => self.insts[p].next = inst.into(),
            None => self.blocks[block].first = inst.into(),
        }
        if hi - lo < 2 && !self.renumber_from(inst, lo) {
            self.renumber(block);
        }
    }

    /// Give `inst` (whose predecessor has number `lo`) and as many following instructions
    /// as needed numbers `MINOR_STRIDE` apart, until an instruction already numbered
    /// higher. False (nothing is left half-done that matters: the caller renumbers the
    /// block) when that would touch more than `LOCAL_LIMIT` instructions or overflow.
    fn renumber_from(&mut self, inst: Inst, lo: u32) -> bool {
        let mut seq = lo;
        let mut cur = Some(inst);
        for _ in 0..=LOCAL_LIMIT {
            let Some(i) = cur else { return true };
            let Some(next_seq) = seq.checked_add(MINOR_STRIDE) else { return false };
            if i != inst && self.insts[i].seq > seq {
                return true;
            }
            seq = next_seq;
            self.insts[i].seq = seq;
            cur = self.next_inst(i);
        }
        false
    }

    /// Insert `inst` after `after`.
    pub fn insert_inst_after(&mut self, inst: Inst, after: Inst) {
        match self.next_inst(after) {
            Some(n) => self.insert_inst(inst, n),
            None => {
                let block = self.inst_block(after).expect("insert after an instruction not in the layout");
                self.append_inst(inst, block)
            }
        }
    }

    /// Remove `inst` from the layout.
    pub fn remove_inst(&mut self, inst: Inst) {
        let InstNode { block, prev, next, .. } = self.insts[inst];
        let block = block.expand().expect("removing an instruction not in the layout");
        match prev.expand() {
            Some(p) => self.insts[p].next = next,
            None => self.blocks[block].first = next,
        }
        match next.expand() {
            Some(n) => self.insts[n].prev = prev,
            None => self.blocks[block].last = prev,
        }
        self.insts[inst] = InstNode::default();
    }

    /// Number the whole block `MAJOR_STRIDE` apart (closer if the block is too long for
    /// that to fit in 32 bits).
    fn renumber(&mut self, block: Block) {
        let mut count = 0u64;
        let mut cur = self.first_inst(block);
        while let Some(i) = cur {
            count += 1;
            cur = self.next_inst(i);
        }
        let stride = (u64::from(u32::MAX - 1) / (count + 1)).clamp(1, u64::from(MAJOR_STRIDE)) as u32;
        let mut seq = 0u32;
        let mut cur = self.first_inst(block);
        while let Some(i) = cur {
            seq = seq.saturating_add(stride);
            self.insts[i].seq = seq;
            cur = self.next_inst(i);
        }
    }

    /// Iterate over the instructions of `block` in order.
    pub fn block_insts(&self, block: Block) -> Insts<'_> {
        Insts { layout: self, head: self.first_inst(block), tail: self.last_inst(block) }
    }

    /// Order two instructions of the same block.
    pub fn cmp_insts(&self, a: Inst, b: Inst) -> Ordering {
        debug_assert_eq!(self.inst_block(a), self.inst_block(b));
        self.insts[a].seq.cmp(&self.insts[b].seq)
    }

    /// Move every instruction from `inst` (inclusive) to the end of its block into
    /// `new_block`, which is inserted after the old block.
    pub fn split_block(&mut self, new_block: Block, inst: Inst) {
        let old = self.inst_block(inst).expect("split at an instruction not in the layout");
        self.insert_block_after(new_block, old);
        let prev = self.insts[inst].prev;
        let last = self.blocks[old].last;
        match prev.expand() {
            Some(p) => self.insts[p].next = None.into(),
            None => self.blocks[old].first = None.into(),
        }
        self.blocks[old].last = prev;
        self.insts[inst].prev = None.into();
        self.blocks[new_block].first = inst.into();
        self.blocks[new_block].last = last;
        let mut cur = Some(inst);
        while let Some(i) = cur {
            self.insts[i].block = new_block.into();
            cur = self.next_inst(i);
        }
        self.renumber(new_block);
    }
}

/// Iterator over blocks.
pub struct Blocks<'a> {
    layout: &'a Layout,
    next: Option<Block>,
}

impl Iterator for Blocks<'_> {
    type Item = Block;
    fn next(&mut self) -> Option<Block> {
        let b = self.next?;
        self.next = self.layout.next_block(b);
        Some(b)
    }
}

/// Double-ended iterator over the instructions of a block.
pub struct Insts<'a> {
    layout: &'a Layout,
    head: Option<Inst>,
    tail: Option<Inst>,
}

impl Iterator for Insts<'_> {
    type Item = Inst;
    fn next(&mut self) -> Option<Inst> {
        let i = self.head?;
        if Some(i) == self.tail {
            self.head = None;
            self.tail = None;
        } else {
            self.head = self.layout.next_inst(i);
        }
        Some(i)
    }
}

impl DoubleEndedIterator for Insts<'_> {
    fn next_back(&mut self) -> Option<Inst> {
        let i = self.tail?;
        if Some(i) == self.head {
            self.head = None;
            self.tail = None;
        } else {
            self.tail = self.layout.prev_inst(i);
        }
        Some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::EntityRef;

    #[test]
    fn insert_remove_and_order() {
        let mut l = Layout::new();
        let (b0, b1, b2) = (Block::new(0), Block::new(1), Block::new(2));
        l.append_block(b0);
        l.append_block(b2);
        l.insert_block(b1, b2);
        assert_eq!(l.blocks().collect::<Vec<_>>(), vec![b0, b1, b2]);
        let i: Vec<Inst> = (0..6).map(Inst::new).collect();
        l.append_inst(i[0], b1);
        l.append_inst(i[2], b1);
        l.insert_inst(i[1], i[2]);
        l.insert_inst_after(i[3], i[2]);
        assert_eq!(l.block_insts(b1).collect::<Vec<_>>(), &i[..4]);
        assert_eq!(l.block_insts(b1).rev().collect::<Vec<_>>(), vec![i[3], i[2], i[1], i[0]]);
        assert_eq!(l.cmp_insts(i[1], i[2]), Ordering::Less);
        // Many insertions at the same point force renumbering.
        let mut before = i[1];
        for k in 10..60 {
            let n = Inst::new(k);
            l.insert_inst(n, before);
            before = n;
        }
        let order: Vec<Inst> = l.block_insts(b1).collect();
        for w in order.windows(2) {
            assert_eq!(l.cmp_insts(w[0], w[1]), Ordering::Less);
        }
        l.split_block(b0.max(Block::new(3)), i[2]);
        assert_eq!(l.inst_block(i[3]), Some(Block::new(3)));
        assert_eq!(l.blocks().collect::<Vec<_>>(), vec![b0, b1, Block::new(3), b2]);
        l.remove_inst(i[2]);
        l.remove_inst(i[3]);
        l.remove_block(Block::new(3));
        assert_eq!(l.blocks().collect::<Vec<_>>(), vec![b0, b1, b2]);
    }

    /// Every pattern of repeated insertion keeps the order right and stays cheap: 200,000
    /// instructions inserted before the last one of a block, then before one in the middle,
    /// alternating with appends (this was quadratic: a whole-block renumbering every few
    /// insertions).
    #[test]
    fn repeated_insertion_is_cheap() {
        let mut l = Layout::new();
        let b = Block::new(0);
        l.append_block(b);
        let n: usize = 200_000;
        let last = Inst::new(0);
        l.append_inst(last, b);
        for k in 1..n {
            l.insert_inst(Inst::new(k), last);
        }
        let middle = Inst::new(n / 2);
        assert_eq!(l.block_insts(b).count(), n);
        for k in n..n + 20_000 {
            l.insert_inst(Inst::new(k), middle);
            if k % 7 == 0 {
                l.append_inst(Inst::new(k + 100_000), b);
            }
        }
        let order: Vec<Inst> = l.block_insts(b).collect();
        for w in order.windows(2) {
            assert_eq!(l.cmp_insts(w[0], w[1]), Ordering::Less, "{:?}", w);
        }
        assert_eq!(order.iter().position(|&i| i == middle), Some(n / 2 - 1 + 20_000));
    }
}

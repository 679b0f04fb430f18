//! The CFG edges of a function grouped by target block: for every block, the branch
//! instructions and destination indices that lead to it. Passes that edit the arguments of
//! every edge into a block use this instead of scanning each predecessor's destinations
//! (a `br_table` with N entries into N blocks would otherwise cost N² work).
//!
//! Invariant: computed from the layout in one scan (compressed rows, counting sort by
//! target); it stays valid while passes only edit block-call arguments, not targets.

use kiln_ir::entity::{EntityRef, SecondaryMap};
use kiln_ir::{Block, Function, Inst};

/// Edges by target.
#[derive(Default)]
pub(crate) struct Edges {
    start: SecondaryMap<Block, u32>,
    list: Vec<(Inst, u32)>,
    scratch: Vec<(Block, Inst, u32)>,
    fill: Vec<u32>,
}

impl Edges {
    /// Compute the edges of `func`.
    pub fn compute(&mut self, func: &Function) {
        self.scratch.clear();
        let mut block = func.layout.entry_block();
        while let Some(b) = block {
            if let Some(term) = func.layout.last_inst(b) {
                for (k, bc) in func.dfg.branch_destinations(term).iter().enumerate() {
                    self.scratch.push((bc.block(&func.dfg.value_lists), term, k as u32));
                }
            }
            block = func.layout.next_block(b);
        }
        let n = func.dfg.num_blocks();
        self.start.clear();
        self.start.resize(n + 1);
        for &(t, _, _) in &self.scratch {
            if t.index() < n {
                self.start[Block::new(t.index() + 1)] += 1;
            }
        }
        for i in 1..=n {
            let prev = self.start[Block::new(i - 1)];
            self.start[Block::new(i)] += prev;
        }
        self.list.clear();
        self.list.resize(self.scratch.len(), (Inst::new(0), 0));
        self.fill.clear();
        self.fill.extend((0..n).map(|i| self.start[Block::new(i)]));
        for &(t, inst, k) in &self.scratch {
            if t.index() < n {
                let f = &mut self.fill[t.index()];
                self.list[*f as usize] = (inst, k);
                *f += 1;
            }
        }
        self.list.truncate(self.start[Block::new(n)] as usize);
    }

    /// The edges into `block`: (branch instruction, destination index).
    pub fn into_block(&self, block: Block) -> &[(Inst, u32)] {
        let s = *self.start.get(block) as usize;
        let e = *self.start.get(Block::new(block.index() + 1)) as usize;
        self.list.get(s..e.max(s)).unwrap_or(&[])
    }
}

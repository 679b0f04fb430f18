//! Alias analysis: for every memory access, the *last store* that may have written the
//! memory it touches, so that redundant loads can be removed and stored values forwarded to
//! later loads (the e-graph pass applies both, with operands already value-numbered).
//!
//! Memory is split into *categories*: one per declared alias region, plus "any". A store in
//! region R updates category R and "any"; a store without a region (it may touch any region)
//! updates every category; calls, atomics, fences and other instructions with side effects on
//! memory update every category. A load in region R depends on category R, a load without a
//! region on "any", and a `readonly` load on nothing (its memory never changes).
//!
//! A *point* names the last store: [`ENTRY`] (function entry), a store instruction, or the
//! start of a block where predecessors disagree. The analysis computes each block's entry
//! state by a forward data-flow fixpoint over the reachable CFG (meet: agreement, else the
//! block's own start point); [`AliasAnalysis::transfer`] advances a state across one
//! instruction during the walk.
//!
//! Soundness of the keys built on it: if two loads (or a store and a later load) have the
//! same point, address, offset, type, opcode and byte order, and the first dominates the
//! second, then no store that could touch the second's memory lies between them, so the
//! second reads exactly what the first read (or what the store wrote).

use kiln_ir::analysis::cfg::ControlFlowGraph;
use kiln_ir::analysis::domtree::DominatorTree;
use kiln_ir::entity::EntityRef;
use kiln_ir::instructions::InstructionData;
use kiln_ir::memflags::{Endianness, MemFlags};
use kiln_ir::types::Type;
use kiln_ir::{Block, Function, Inst, Opcode};

/// The point "function entry".
pub(crate) const ENTRY: u32 = 0;
const UNSET: u32 = u32::MAX;
const BLOCK_BIT: u32 = 1 << 31;
/// Fixpoint iterations before giving up on precision.
const MAX_ITERATIONS: usize = 16;

/// The point of a store instruction.
#[inline]
fn store_point(inst: Inst) -> u32 {
    (inst.as_u32() + 1) & !BLOCK_BIT
}

/// The point "start of `block`".
#[inline]
fn block_point(block: Block) -> u32 {
    block.as_u32() | BLOCK_BIT
}

/// Per-block entry states.
#[derive(Default)]
pub(crate) struct AliasAnalysis {
    ncat: usize,
    block_in: Vec<u32>,
    out: Vec<u32>,
    /// Per block and category: the last store in the block, or `UNSET` (unchanged).
    summary: Vec<u32>,
    scratch: Vec<u32>,
    valid: bool,
}

/// What an instruction does to memory.
enum Effect {
    None,
    /// A store in this category (0 = no region).
    Store(usize),
    /// Anything may have changed.
    Clobber,
}

fn effect(func: &Function, inst: Inst) -> Effect {
    let data = &func.dfg.insts[inst];
    let op = data.opcode();
    match op {
        Opcode::Store | Opcode::Istore8 | Opcode::Istore16 | Opcode::Istore32 => {
            let cat = data.memflags().map_or(0, |id| category(func.dfg.mem_flags.get(id)));
            Effect::Store(cat)
        }
        _ if op.can_store() || op.is_call() || op.other_side_effects() => Effect::Clobber,
        _ => Effect::None,
    }
}

/// The category of an access with `flags`: 0 ("any") or 1 + region index.
fn category(flags: MemFlags) -> usize {
    flags.alias_region().map_or(0, |r| r.index() + 1)
}

impl AliasAnalysis {
    /// Is the analysis up to date for the function it was computed on?
    pub fn is_valid(&self) -> bool {
        self.valid
    }

    /// Mark stale.
    pub fn invalidate(&mut self) {
        self.valid = false;
    }

    /// Compute every reachable block's entry state.
    pub fn compute(&mut self, func: &Function, cfg: &ControlFlowGraph, domtree: &DominatorTree) {
        let ncat = func.alias_regions.len() + 1;
        self.ncat = ncat;
        let nblocks = func.dfg.num_blocks();
        self.block_in.clear();
        self.block_in.resize(nblocks * ncat, UNSET);
        self.out.clear();
        self.out.resize(nblocks * ncat, UNSET);
        self.scratch.clear();
        self.scratch.resize(ncat, UNSET);
        let Some(entry) = func.layout.entry_block() else {
            self.valid = true;
            return;
        };
        // Block summaries, and whether any load could use the result.
        self.summary.clear();
        self.summary.resize(nblocks * ncat, UNSET);
        let mut loads = false;
        for block in domtree.cfg_rpo() {
            let b = block.index() * ncat;
            for inst in func.layout.block_insts(block) {
                let op = func.dfg.opcode(inst);
                loads |= op.can_load() && !op.other_side_effects();
                apply(&mut self.summary[b..b + ncat], func, inst);
            }
        }
        if !loads {
            // Nothing to deduplicate or forward: every block starts from its own point.
            for block in domtree.cfg_rpo() {
                let b = block.index() * ncat;
                self.block_in[b..b + ncat].fill(block_point(block));
            }
            self.valid = true;
            return;
        }
        let e = entry.index() * ncat;
        self.block_in[e..e + ncat].fill(ENTRY);
        let mut converged = false;
        for _ in 0..MAX_ITERATIONS {
            let mut changed = false;
            for block in domtree.cfg_rpo() {
                let b = block.index() * ncat;
                if block != entry {
                    // Meet over the predecessors already visited.
                    let mut first = true;
                    for p in cfg.pred_iter(block) {
                        let o = p.block.index() * ncat;
                        if !domtree.is_reachable(p.block) || self.out[o] == UNSET {
                            continue;
                        }
                        if first {
                            self.scratch.copy_from_slice(&self.out[o..o + ncat]);
                            first = false;
                        } else {
                            for c in 0..ncat {
                                if self.scratch[c] != self.out[o + c] {
                                    self.scratch[c] = block_point(block);
                                }
                            }
                        }
                    }
                    if first {
                        self.scratch.fill(block_point(block));
                    }
                    // Once a category meets at this block it stays there.
                    for c in 0..ncat {
                        if self.block_in[b + c] == block_point(block) {
                            self.scratch[c] = block_point(block);
                        }
                    }
                    if self.block_in[b..b + ncat] != self.scratch[..] {
                        self.block_in[b..b + ncat].copy_from_slice(&self.scratch);
                        changed = true;
                    }
                }
                for c in 0..ncat {
                    let s = self.summary[b + c];
                    self.scratch[c] = if s == UNSET { self.block_in[b + c] } else { s };
                }
                if self.out[b..b + ncat] != self.scratch[..] {
                    self.out[b..b + ncat].copy_from_slice(&self.scratch);
                    changed = true;
                }
            }
            if !changed {
                converged = true;
                break;
            }
        }
        if !converged {
            // Conservative fallback: every block starts from its own point.
            for block in domtree.cfg_rpo() {
                let b = block.index() * ncat;
                self.block_in[b..b + ncat].fill(block_point(block));
            }
        }
        self.valid = true;
    }

    /// Copy `block`'s entry state into `state`.
    pub fn entry_state(&self, block: Block, state: &mut Vec<u32>) {
        state.clear();
        let b = block.index() * self.ncat;
        match self.block_in.get(b..b + self.ncat) {
            Some(s) if s.iter().all(|&p| p != UNSET) => state.extend_from_slice(s),
            _ => state.resize(self.ncat, block_point(block)),
        }
    }

    /// Advance `state` across `inst`.
    pub fn transfer(state: &mut [u32], func: &Function, inst: Inst) {
        apply(state, func, inst)
    }
}

fn apply(state: &mut [u32], func: &Function, inst: Inst) {
    match effect(func, inst) {
        Effect::None => {}
        Effect::Store(0) => state.fill(store_point(inst)),
        Effect::Store(c) => {
            let p = store_point(inst);
            state[0] = p;
            if let Some(s) = state.get_mut(c) {
                *s = p;
            } else {
                state.fill(p);
            }
        }
        Effect::Clobber => state.fill(store_point(inst)),
    }
}

/// The key of a memory location as seen by a load: equal keys read equal values (see the
/// module documentation).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct MemKey {
    point: u32,
    addr: u32,
    offset: i32,
    op: Opcode,
    ty: Type,
    big: bool,
}

fn is_big(flags: MemFlags) -> bool {
    flags.endianness(Endianness::Little) == Endianness::Big
}

/// The key of a plain load (`load`, extending and vector-extending loads) at the state
/// `state` (before the load), with its address's id; `None` for other instructions.
pub(crate) fn load_key(func: &Function, inst: Inst, addr: u32, state: &[u32]) -> Option<MemKey> {
    let InstructionData::Load { opcode, flags, offset, .. } = func.dfg.insts[inst] else { return None };
    let flags = func.dfg.mem_flags.get(flags);
    let point = if flags.readonly() { ENTRY } else { *state.get(category(flags)).unwrap_or(&UNSET) };
    if point == UNSET {
        return None;
    }
    let ty = func.dfg.value_type(func.dfg.first_result(inst)?);
    Some(MemKey { point, addr, offset: offset.0, op: opcode, ty, big: is_big(flags) })
}

/// For a plain `store` with its address's id, the key under which a later `load` of the
/// same type reads the stored value (the state must already include the store).
pub(crate) fn store_key(func: &Function, inst: Inst, addr: u32, state: &[u32]) -> Option<MemKey> {
    let InstructionData::Store { opcode: Opcode::Store, flags, args, offset } = func.dfg.insts[inst] else {
        return None;
    };
    let flags = func.dfg.mem_flags.get(flags);
    let point = *state.get(category(flags))?;
    if point != store_point(inst) {
        return None;
    }
    let ty = func.dfg.value_type(args[0]);
    Some(MemKey { point, addr, offset: offset.0, op: Opcode::Load, ty, big: is_big(flags) })
}

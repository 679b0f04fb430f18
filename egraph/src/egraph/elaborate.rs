//! Elaboration: putting the extracted e-nodes back into the layout.
//!
//! A second dominator-tree walk visits the skeleton in program order. Each operand of a
//! skeleton instruction is replaced by the *elaborated* value of its id's best member: a
//! leaf stands for itself; a node is placed (after its operands, recursively, with an
//! explicit stack) unless a dominating placement is already in the scoped map. Placement:
//! - **loop-invariant code motion**: a node whose operands are all defined outside the
//!   innermost `k` loops around the current block is placed at the end of the preheader
//!   (the immediate dominator of the header) of the outermost of those loops, and recorded
//!   at that block's scope so the whole loop reuses it;
//! - **rematerialization**: constants are never shared across blocks; each block (or
//!   preheader) that needs one gets its own copy right before the user, keeping constants
//!   out of long live ranges;
//! - **no duplication across branches**: a node whose input block (where the instruction was
//!   written) dominates the use and its operands goes to the end of that block, so a value
//!   used in several branches is still computed once;
//! - otherwise the node goes right before the skeleton instruction that needs it.
//!
//! Only pure nodes are moved; trapping and memory instructions are skeleton instructions and
//! stay where they are, so nothing that can trap is hoisted out of a conditional path.
//! A node is first placed by reusing its original instruction (keeping its value number and
//! source location); placing it again in a non-dominated block makes a copy.

use super::{EGraph, Id, Kind};
use crate::fxhash::FxHashMap;
use crate::scoped_map::ScopedMap;
use kiln_ir::analysis::domtree::DominatorTree;
use kiln_ir::analysis::loops::{Loop, LoopAnalysis};
use kiln_ir::entity::SecondaryMap;
use kiln_ir::instructions::InstructionData;
use kiln_ir::{Block, Function, Inst, Opcode, Value, ValueDef};
use smallvec::SmallVec;

/// An elaborated value and the block it is defined in.
#[derive(Copy, Clone, Debug)]
struct Elab {
    value: Value,
    block: Block,
}

#[derive(Copy, Clone)]
struct LoopEntry {
    lp: Loop,
    preheader: Block,
}

/// Elaboration work: a best node to place, with the input block of the e-class it stands
/// for (if known).
enum Task {
    Visit(Id, Option<Block>),
    Finish(Id, Option<Block>),
}

/// Scratch memory of the elaboration walk.
#[derive(Default)]
pub(crate) struct ElabScratch {
    map: ScopedMap<Id, Elab>,
    /// Constants placed per block (a copy serves every later use in its block).
    remat: FxHashMap<(Id, Block), Value>,
    stack: Vec<(Block, bool)>,
    depth: SecondaryMap<Block, u32>,
    loop_stack: Vec<LoopEntry>,
    tasks: Vec<Task>,
    results: Vec<Elab>,
    operands: SmallVec<[Value; 8]>,
}

/// Statistics of elaboration.
#[derive(Default, Clone, Copy, Debug)]
pub(crate) struct ElabStats {
    pub placed: u64,
    pub hoisted: u64,
    pub remats: u64,
}

/// Elaborate `func`'s skeleton with the e-graph `eg`.
pub(crate) fn elaborate(
    func: &mut Function,
    eg: &mut EGraph,
    domtree: &DominatorTree,
    loops: &LoopAnalysis,
    s: &mut ElabScratch,
) -> Result<ElabStats, String> {
    let mut stats = ElabStats::default();
    s.map.clear();
    s.remat.clear();
    s.stack.clear();
    s.depth.clear();
    let Some(entry) = func.layout.entry_block() else { return Ok(stats) };
    s.stack.push((entry, false));
    while let Some((block, entered)) = s.stack.pop() {
        if entered {
            s.map.pop_scope();
            continue;
        }
        s.map.push_scope();
        s.stack.push((block, true));
        s.depth[block] = s.map.depth();
        compute_loop_stack(block, domtree, loops, &mut s.loop_stack);
        let mut next = func.layout.first_inst(block);
        while let Some(inst) = next {
            next = func.layout.next_inst(inst);
            elaborate_inst(func, eg, domtree, loops, s, block, inst, &mut stats)?;
        }
        for &child in domtree.children(block).iter().rev() {
            s.stack.push((child, false));
        }
    }
    Ok(stats)
}

/// The loops around `block` that have a preheader, outermost first.
fn compute_loop_stack(block: Block, domtree: &DominatorTree, loops: &LoopAnalysis, out: &mut Vec<LoopEntry>) {
    out.clear();
    let mut cur = loops.innermost_loop(block);
    while let Some(lp) = cur {
        if let Some(header) = loops.loop_header(lp)
            && let Some(pre) = domtree.idom(header)
        {
            out.push(LoopEntry { lp, preheader: pre });
        }
        cur = loops.loop_parent(lp);
    }
    out.reverse();
}

#[allow(clippy::too_many_arguments)]
fn elaborate_inst(
    func: &mut Function,
    eg: &mut EGraph,
    domtree: &DominatorTree,
    loops: &LoopAnalysis,
    s: &mut ElabScratch,
    block: Block,
    inst: Inst,
    stats: &mut ElabStats,
) -> Result<(), String> {
    s.operands.clear();
    let op = func.dfg.opcode(inst);
    let mut changed = false;
    let vals = func.dfg.inst_values(inst);
    for (i, &v) in vals.iter().enumerate() {
        let r = func.dfg.resolve_aliases(v);
        let raw = *eg.value_ids.get(r);
        let nv = if raw == u32::MAX {
            r
        } else {
            let mut id = Id(raw);
            if i == 0 && matches!(op, Opcode::Brif | Opcode::Trapz | Opcode::Trapnz) {
                id = truthy(eg, id);
            }
            elab_id(func, eg, domtree, loops, s, block, inst, id, stats)?
        };
        changed |= nv != v;
        s.operands.push(nv);
    }
    if changed {
        let mut k = 0;
        let ops = &s.operands;
        func.dfg.map_inst_values(inst, |_, _| {
            let v = ops[k];
            k += 1;
            v
        });
    }
    Ok(())
}

/// An id with the same truthiness (zero / non-zero) as `id`, looking through extensions.
fn truthy(eg: &EGraph, mut id: Id) -> Id {
    for _ in 0..4 {
        let mut members: SmallVec<[Id; 8]> = SmallVec::new();
        eg.members(id, &mut members);
        let next = members.iter().find_map(|&m| {
            let n = eg.node_of(m)?;
            match n.data {
                InstructionData::Unary { opcode: Opcode::Uextend | Opcode::Sextend | Opcode::Bmask, arg } => {
                    let a = Id::from_value(arg);
                    eg.ty(a).is_int().then_some(a)
                }
                _ => None,
            }
        });
        match next {
            Some(n) => id = n,
            None => break,
        }
    }
    id
}

/// The block defining `v`.
fn def_block(func: &Function, v: Value) -> Option<Block> {
    match func.dfg.value_def(v)? {
        ValueDef::Param(b, _) => Some(b),
        ValueDef::Result(i, _) => func.layout.inst_block(i),
    }
}

/// How many loops of the stack (from the outermost) contain `block`.
fn level(loops: &LoopAnalysis, stack: &[LoopEntry], block: Block) -> usize {
    for i in (0..stack.len()).rev() {
        if loops.is_in_loop(block, stack[i].lp) {
            return i + 1;
        }
    }
    0
}

fn is_remat(eg: &EGraph, id: Id) -> bool {
    eg.node_of(id)
        .is_some_and(|n| matches!(n.opcode(), Opcode::Iconst | Opcode::F16const | Opcode::F32const | Opcode::F64const))
}

#[allow(clippy::too_many_arguments)]
fn elab_id(
    func: &mut Function,
    eg: &mut EGraph,
    domtree: &DominatorTree,
    loops: &LoopAnalysis,
    s: &mut ElabScratch,
    block: Block,
    before: Inst,
    id: Id,
    stats: &mut ElabStats,
) -> Result<Value, String> {
    let best = eg.class(id).best;
    if let Kind::Leaf(v) = eg.class(best).kind {
        return Ok(v);
    }
    if is_remat(eg, best) {
        return place_remat(func, eg, s, block, before, best, stats);
    }
    s.tasks.clear();
    s.results.clear();
    s.tasks.push(Task::Visit(best, eg.home(id)));
    while let Some(t) = s.tasks.pop() {
        match t {
            Task::Visit(n, home) => {
                if let Kind::Leaf(v) = eg.class(n).kind {
                    let b = def_block(func, v).unwrap_or(block);
                    s.results.push(Elab { value: v, block: b });
                    continue;
                }
                if let Some(e) = s.map.get(&n) {
                    s.results.push(e);
                    continue;
                }
                s.tasks.push(Task::Finish(n, home));
                let node = *eg.node_of(n).ok_or("elaborating a non-node")?;
                let args = node.data.arguments(&eg.empty_pool);
                for &a in args.iter().rev() {
                    let a = Id::from_value(a);
                    let ab = eg.class(a).best;
                    if !is_remat(eg, ab) {
                        s.tasks.push(Task::Visit(ab, eg.home(a)));
                    }
                }
            }
            Task::Finish(n, home) => {
                let node = *eg.node_of(n).ok_or("elaborating a non-node")?;
                let nargs = node.data.arguments(&eg.empty_pool).len();
                let mut arg_best: SmallVec<[Id; 4]> = SmallVec::new();
                for &a in node.data.arguments(&eg.empty_pool) {
                    arg_best.push(eg.class(Id::from_value(a)).best);
                }
                let n_real = arg_best.iter().filter(|&&a| !is_remat(eg, a)).count();
                let base = s.results.len() - n_real;
                // Placement level: the innermost loop any operand is defined in.
                let mut lvl = 0;
                for e in &s.results[base..] {
                    lvl = lvl.max(level(loops, &s.loop_stack, e.block));
                    if lvl == s.loop_stack.len() {
                        break;
                    }
                }
                // Or its input block, when that dominates this use and its operands: values
                // used in several branches are computed once, where the input had them.
                let at_home = home.filter(|&h| {
                    h != block
                        && domtree.block_dominates(h, block)
                        && s.results[base..].iter().all(|e| domtree.block_dominates(e.block, h))
                });
                let (pblock, pbefore, pdepth) = if lvl < s.loop_stack.len() {
                    let pre = s.loop_stack[lvl].preheader;
                    let term = func.layout.last_inst(pre).ok_or("preheader without a terminator")?;
                    stats.hoisted += 1;
                    (pre, term, s.depth[pre])
                } else if let Some(h) = at_home {
                    let term = func.layout.last_inst(h).ok_or("block without a terminator")?;
                    (h, term, s.depth[h])
                } else {
                    (block, before, s.map.depth())
                };
                let mut args: SmallVec<[Value; 4]> = SmallVec::new();
                let mut k = base;
                for &ab in &arg_best {
                    if is_remat(eg, ab) {
                        args.push(place_remat(func, eg, s, pblock, pbefore, ab, stats)?);
                    } else {
                        args.push(s.results[k].value);
                        k += 1;
                    }
                }
                debug_assert_eq!(args.len(), nargs);
                s.results.truncate(base);
                let v = place(func, eg, n, &args, pbefore)?;
                stats.placed += 1;
                let e = Elab { value: v, block: pblock };
                s.map.insert_at(n, e, pdepth);
                s.results.push(e);
            }
        }
    }
    s.results.pop().map(|e| e.value).ok_or_else(|| "elaboration produced no value".to_string())
}

/// A constant for use in `block` before `before`: reuse the block's copy or make one.
fn place_remat(
    func: &mut Function,
    eg: &mut EGraph,
    s: &mut ElabScratch,
    block: Block,
    before: Inst,
    n: Id,
    stats: &mut ElabStats,
) -> Result<Value, String> {
    if let Some(&v) = s.remat.get(&(n, block)) {
        return Ok(v);
    }
    let v = place(func, eg, n, &[], before)?;
    stats.remats += 1;
    s.remat.insert((n, block), v);
    Ok(v)
}

/// Put node `n` with operands `args` into the layout before `before`.
fn place(func: &mut Function, eg: &mut EGraph, n: Id, args: &[Value], before: Inst) -> Result<Value, String> {
    let node = *eg.node_of(n).ok_or("placing a non-node")?;
    let mut data = node.data;
    {
        let a = data.arguments_mut(&mut eg.empty_pool);
        if a.len() != args.len() {
            return Err(format!("{}: operand count mismatch", node.opcode()));
        }
        a.copy_from_slice(args);
    }
    let reuse = node.orig.filter(|&i| func.layout.inst_block(i).is_none() && func.dfg.inst_results(i).len() == 1);
    let inst = match reuse {
        Some(i) => {
            func.dfg.replace_inst(i, data);
            i
        }
        None => {
            let i = func.dfg.make_inst(data);
            func.dfg.append_result(i, node.rty).map_err(|e| format!("{}: {e:?}", node.opcode()))?;
            func.srclocs[i] = node.srcloc;
            i
        }
    };
    func.layout.insert_inst(inst, before);
    let v = func.dfg.first_result(inst).ok_or("placed node without result")?;
    if func.dfg.value_type(v) != node.rty {
        return Err(format!("{}: result type {} instead of {}", node.opcode(), func.dfg.value_type(v), node.rty));
    }
    Ok(v)
}

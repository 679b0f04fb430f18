//! [`Switch`]: a multi-way branch on an integer, lowered to jump tables where the cases are
//! dense and to a balanced tree of comparisons where they are sparse.
//!
//! Lowering: the sorted case keys are cut into *clusters*, greedily from the smallest: a
//! cluster grows while at least half of the keys in its span are cases; a cluster of at least
//! [`Switch::JUMP_TABLE_MIN`] cases becomes a `br_table` (gaps go to the default block),
//! anything smaller becomes single-key clusters. The clusters are then searched with a
//! balanced binary tree of unsigned comparisons; a leaf of up to three single keys is a chain
//! of equality tests. Every block the switch creates has one predecessor and is sealed at
//! once; the case blocks and the default block are left for the caller to seal.
//!
//! Keys are unsigned values of the switched value's type (a key too wide for the type is an
//! error reported by `finalize`).

use crate::{BuilderError, FunctionBuilder};
use kiln_ir::condcodes::IntCC;
use kiln_ir::instructions::JumpTableData;
use kiln_ir::types::{self, Type};
use kiln_ir::{Block, InstBuilder, Value};
use std::collections::BTreeMap;

/// A multi-way branch under construction: map keys to blocks, then [`emit`](Switch::emit).
#[derive(Clone, Debug, Default)]
pub struct Switch {
    cases: BTreeMap<u128, Block>,
}

/// A run of cases lowered together.
#[derive(Clone, Copy, Debug)]
struct Cluster {
    /// Index of the first case in the sorted case list.
    start: usize,
    /// Number of cases.
    len: usize,
    /// A jump table (otherwise `len == 1`, or a chain of single keys in a leaf).
    table: bool,
}

impl Switch {
    /// The smallest number of cases worth a jump table.
    pub const JUMP_TABLE_MIN: usize = 4;

    /// An empty switch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Branch to `block` when the value is `key`. Returns the block previously set for `key`
    /// (which is replaced).
    pub fn set_entry(&mut self, key: u128, block: Block) -> Option<Block> {
        self.cases.insert(key, block)
    }

    /// The cases, by key.
    pub fn entries(&self) -> &BTreeMap<u128, Block> {
        &self.cases
    }

    /// Emit the branches into the current block of `b`: control goes to the block of the case
    /// equal to `val`, or to `otherwise`. Leaves the current block (and every block it
    /// creates) terminated; switch to another block to continue. Case blocks and
    /// `otherwise` must take no parameters.
    pub fn emit(self, b: &mut FunctionBuilder, val: Value, otherwise: Block) {
        let ty = b.func.dfg.value_type(val);
        if !ty.is_int() || !ty.is_scalar() {
            b.error(BuilderError::TypeMismatch {
                inst: None,
                message: format!("switch on {val} of type {ty}: an integer is required"),
            });
            b.ins().jump(otherwise, &[]);
            return;
        }
        let keys: Vec<(u128, Block)> = self.cases.into_iter().collect();
        let max = if ty.bits() >= 128 { u128::MAX } else { (1u128 << ty.bits()) - 1 };
        if let Some(&(k, _)) = keys.iter().find(|(k, _)| *k > max) {
            b.error(BuilderError::TypeMismatch { inst: None, message: format!("switch key {k} does not fit in {ty}") });
            b.ins().jump(otherwise, &[]);
            return;
        }
        if keys.is_empty() {
            b.ins().jump(otherwise, &[]);
            return;
        }
        let clusters = clusters(&keys);
        emit_tree(b, val, ty, &keys, &clusters, otherwise);
    }
}

/// Cut the sorted keys into clusters.
fn clusters(keys: &[(u128, Block)]) -> Vec<Cluster> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < keys.len() {
        // Grow while the density stays at or above one half.
        let mut j = i;
        while j + 1 < keys.len() {
            let span = keys[j + 1].0 - keys[i].0 + 1;
            let count = (j + 2 - i) as u128;
            if span > 2 * count || span > u32::MAX as u128 {
                break;
            }
            j += 1;
        }
        let len = j + 1 - i;
        if len >= Switch::JUMP_TABLE_MIN {
            out.push(Cluster { start: i, len, table: true });
            i = j + 1;
        } else {
            out.push(Cluster { start: i, len: 1, table: false });
            i += 1;
        }
    }
    out
}

fn iconst(b: &mut FunctionBuilder, ty: Type, k: u128) -> Value {
    if ty == types::I128 {
        let lo = b.ins().iconst(types::I64, k as u64 as i64);
        let hi = b.ins().iconst(types::I64, (k >> 64) as u64 as i64);
        b.ins().iconcat(lo, hi)
    } else {
        b.ins().iconst(ty, k as u64 as i64)
    }
}

/// A new block entered only from the current one (sealed by the caller right after the
/// branch to it).
fn new_block(b: &mut FunctionBuilder) -> Block {
    b.create_block()
}

fn emit_tree(
    b: &mut FunctionBuilder,
    val: Value,
    ty: Type,
    keys: &[(u128, Block)],
    clusters: &[Cluster],
    otherwise: Block,
) {
    // Work list of (block to fill, cluster range); the first one is the current block.
    let mut work: Vec<(Option<Block>, usize, usize)> = vec![(None, 0, clusters.len())];
    while let Some((block, lo, hi)) = work.pop() {
        if let Some(block) = block {
            b.switch_to_block(block);
            b.seal_block(block);
        }
        let range = &clusters[lo..hi];
        let all_single = range.iter().all(|c| !c.table);
        if all_single && range.len() <= 3 {
            // A chain of equality tests.
            for (n, c) in range.iter().enumerate() {
                let (k, target) = keys[c.start];
                let kv = iconst(b, ty, k);
                let eq = b.ins().icmp(IntCC::Equal, val, kv);
                if n + 1 == range.len() {
                    b.ins().brif(eq, target, &[], otherwise, &[]);
                } else {
                    let next = new_block(b);
                    b.ins().brif(eq, target, &[], next, &[]);
                    b.switch_to_block(next);
                    b.seal_block(next);
                }
            }
            continue;
        }
        if range.len() == 1 {
            emit_table(b, val, ty, keys, range[0], otherwise);
            continue;
        }
        // Split at the middle cluster: values >= its first key go right.
        let mid = lo + range.len() / 2;
        let pivot = keys[clusters[mid].start].0;
        let kv = iconst(b, ty, pivot);
        let ge = b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, val, kv);
        let (left, right) = (new_block(b), new_block(b));
        b.ins().brif(ge, right, &[], left, &[]);
        work.push((Some(right), mid, hi));
        work.push((Some(left), lo, mid));
    }
}

fn emit_table(b: &mut FunctionBuilder, val: Value, ty: Type, keys: &[(u128, Block)], c: Cluster, otherwise: Block) {
    let first = keys[c.start].0;
    let last = keys[c.start + c.len - 1].0;
    let span = (last - first + 1) as u32;
    // Entries: the case block where there is one, the default elsewhere.
    let mut entries = Vec::with_capacity(span as usize);
    let mut k = c.start;
    for key in first..=last {
        if k < c.start + c.len && keys[k].0 == key {
            entries.push(b.block_call(keys[k].1, &[]));
            k += 1;
        } else {
            entries.push(b.block_call(otherwise, &[]));
        }
    }
    let default = b.block_call(otherwise, &[]);
    let table = b.create_jump_table(JumpTableData::new(default, &entries));
    // rel = val - first (wrapping): in range exactly when rel < span, unsigned.
    let rel = if first == 0 {
        val
    } else {
        let f = iconst(b, ty, first);
        b.ins().isub(val, f)
    };
    let index = if ty.bits() > 32 {
        // br_table takes an i32 index: check the range first.
        let lim = iconst(b, ty, span as u128);
        let inside = b.ins().icmp(IntCC::UnsignedLessThan, rel, lim);
        let next = new_block(b);
        b.ins().brif(inside, next, &[], otherwise, &[]);
        b.switch_to_block(next);
        b.seal_block(next);
        b.ins().ireduce(types::I32, rel)
    } else if ty.bits() < 32 {
        b.ins().uextend(types::I32, rel)
    } else {
        rel
    };
    b.ins().br_table(index, table);
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_ir::entity::EntityRef;

    #[test]
    fn clustering() {
        let blk = Block::new(1);
        let keys: Vec<(u128, Block)> =
            [0u128, 1, 2, 3, 5, 100, 1000, 1001, 1002, 1003, 1004].iter().map(|&k| (k, blk)).collect();
        let c = clusters(&keys);
        let shape: Vec<(usize, bool)> = c.iter().map(|c| (c.len, c.table)).collect();
        assert_eq!(shape, vec![(5, true), (1, false), (5, true)]);
        let sparse: Vec<(u128, Block)> = [1u128, 10, 100].iter().map(|&k| (k, blk)).collect();
        assert!(clusters(&sparse).iter().all(|c| !c.table && c.len == 1));
    }
}

//! Structural equality of functions: do two functions mean exactly the same thing, entity
//! numbers included? Used to check that `parse(print(f))` reproduces `f`.
//!
//! Compared: name, signature, every preamble entity (including which ones are gap
//! placeholders), the layout (block order, parameters and their types, `cold`, instruction
//! order), each instruction's data with pool-stored parts resolved (value lists, block calls,
//! jump tables, exception tables, memory flags, shuffle masks, user names), results and their
//! types, source locations, debug tags, stack maps and value aliases. Instruction numbers
//! themselves are not compared (instructions are matched by position in the layout); the
//! numbers of values, blocks and preamble entities are.

use crate::dfg::DataFlowGraph;
use crate::entities::*;
use crate::entity::{EntityRef, EntitySet, PrimaryMap};
use crate::extname::ExternalName;
use crate::function::{Function, GlobalValueData};
use crate::instructions::{BlockArg, InstructionData};
use crate::memflags::MemFlagsId;
use core::fmt::Debug;

type R = Result<(), String>;

fn eq<T: PartialEq + Debug>(what: impl FnOnce() -> String, a: &T, b: &T) -> R {
    if a == b { Ok(()) } else { Err(format!("{}: {:?} != {:?}", what(), a, b)) }
}

/// A user name resolved through the function's table.
fn resolve_name(f: &Function, n: &ExternalName) -> String {
    match n {
        ExternalName::User(r) => match f.user_named_funcs.get(*r) {
            Some(u) => u.to_string(),
            None => r.to_string(),
        },
        other => format!("{other:?}"),
    }
}

fn gv_key(f: &Function, d: &GlobalValueData) -> String {
    match d {
        GlobalValueData::Symbol { name, offset, colocated, tls } => {
            format!(
                "Symbol {{ name: {}, offset: {offset:?}, colocated: {colocated}, tls: {tls} }}",
                resolve_name(f, name)
            )
        }
        other => format!("{other:?}"),
    }
}

/// Instruction data with every pool handle and interned id replaced by a fixed dummy, so
/// that the remaining fields compare with `==`.
fn strip(d: &InstructionData) -> InstructionData {
    use InstructionData::*;
    let mut d = *d;
    match &mut d {
        MultiAry { args, .. } | Call { args, .. } | CallIndirect { args, .. } => *args = Default::default(),
        TryCall { args, exception, .. } => {
            *args = Default::default();
            *exception = ExceptionTable::from_u32(0);
        }
        TryCallIndirect { args, exception, .. } => {
            *args = Default::default();
            *exception = ExceptionTable::from_u32(0);
        }
        Jump { destination, .. } => *destination = Default::default(),
        Brif { blocks, .. } => *blocks = Default::default(),
        BranchTable { table, .. } => *table = JumpTable::from_u32(0),
        Shuffle { mask, .. } => *mask = Immediate::from_u32(0),
        Load { flags, .. }
        | Store { flags, .. }
        | LoadNoOffset { flags, .. }
        | StoreNoOffset { flags, .. }
        | AtomicRmw { flags, .. }
        | AtomicCas { flags, .. } => *flags = MemFlagsId(0),
        _ => {}
    }
    d
}

fn block_calls(dfg: &DataFlowGraph, inst: Inst) -> Vec<(Block, Vec<BlockArg>)> {
    dfg.branch_destinations(inst)
        .iter()
        .map(|bc| (bc.block(&dfg.value_lists), bc.args(&dfg.value_lists).collect()))
        .collect()
}

fn compare_inst(a: &Function, ia: Inst, b: &Function, ib: Inst, at: &str) -> R {
    let (da, db) = (&a.dfg, &b.dfg);
    let (xa, xb) = (&da.insts[ia], &db.insts[ib]);
    eq(|| format!("{at}: instruction data"), &strip(xa), &strip(xb))?;
    eq(|| format!("{at}: operands"), &da.inst_args(ia), &db.inst_args(ib))?;
    eq(|| format!("{at}: branch targets"), &block_calls(da, ia), &block_calls(db, ib))?;
    eq(|| format!("{at}: memory flags"), &da.inst_mem_flags(ia), &db.inst_mem_flags(ib))?;
    if let (InstructionData::Shuffle { mask: ma, .. }, InstructionData::Shuffle { mask: mb, .. }) = (xa, xb) {
        eq(|| format!("{at}: shuffle mask"), &da.immediates.get(*ma), &db.immediates.get(*mb))?;
    }
    let exc = |d: &DataFlowGraph, x: &InstructionData| match x {
        InstructionData::TryCall { exception, .. } | InstructionData::TryCallIndirect { exception, .. } => {
            d.exception_tables.get(*exception).map(|t| (t.sig, t.items.clone()))
        }
        _ => None,
    };
    eq(|| format!("{at}: exception table"), &exc(da, xa), &exc(db, xb))?;
    let res = |d: &DataFlowGraph, i: Inst| d.inst_results(i).iter().map(|&v| (v, d.value_type(v))).collect::<Vec<_>>();
    eq(|| format!("{at}: results"), &res(da, ia), &res(db, ib))?;
    eq(|| format!("{at}: source location"), &a.srclocs[ia], &b.srclocs[ib])?;
    eq(|| format!("{at}: debug tags"), &a.debug_tags.get(&ia), &b.debug_tags.get(&ib))?;
    eq(|| format!("{at}: stack map"), &a.stack_maps.get(&ia), &b.stack_maps.get(&ib))
}

/// One kind of preamble entity of a function: its map and its placeholder set.
struct Kind<'a, K: EntityRef, V> {
    f: &'a Function,
    map: &'a PrimaryMap<K, V>,
    ph: &'a EntitySet<K>,
}

/// Compare one kind of preamble entity: the same numbers exist, the same ones are
/// placeholders, and the others have equal contents (as seen through `key`).
fn entities<K, V, T>(what: &str, a: Kind<'_, K, V>, b: Kind<'_, K, V>, key: impl Fn(&Function, &V) -> T) -> R
where
    K: EntityRef + core::fmt::Display,
    T: PartialEq + Debug,
{
    if a.map.len() != b.map.len() {
        return Err(format!("number of {what} entities: {} != {}", a.map.len(), b.map.len()));
    }
    for (k, va) in a.map.iter() {
        let ph = a.ph.contains(k);
        eq(|| format!("{k} is a placeholder"), &ph, &b.ph.contains(k))?;
        if !ph {
            eq(|| format!("{k}"), &key(a.f, va), &key(b.f, &b.map[k]))?;
        }
    }
    Ok(())
}

/// Check that `a` and `b` are structurally identical; the error names the first difference.
pub fn structurally_equal(a: &Function, b: &Function) -> Result<(), String> {
    eq(|| "name".into(), &a.name, &b.name)?;
    eq(|| "signature".into(), &a.signature, &b.signature)?;
    // Placeholders (gap fillers) must be the same entities; their inert contents are not
    // compared.
    let (pa, pb) = (&a.placeholders, &b.placeholders);
    macro_rules! kinds {
        ($ma:expr, $pa:expr, $mb:expr, $pb:expr) => {
            (Kind { f: a, map: $ma, ph: $pa }, Kind { f: b, map: $mb, ph: $pb })
        };
    }
    let (x, y) = kinds!(&a.stack_slots, &pa.stack_slots, &b.stack_slots, &pb.stack_slots);
    entities("stack slot", x, y, |_, d| *d)?;
    let (x, y) =
        kinds!(&a.dynamic_stack_slots, &pa.dynamic_stack_slots, &b.dynamic_stack_slots, &pb.dynamic_stack_slots);
    entities("dynamic stack slot", x, y, |_, d| *d)?;
    let (x, y) = kinds!(&a.dynamic_types, &pa.dynamic_types, &b.dynamic_types, &pb.dynamic_types);
    entities("dynamic type", x, y, |_, d| *d)?;
    eq(|| "alias regions".into(), &a.alias_regions, &b.alias_regions)?;
    let (x, y) = kinds!(&a.global_values, &pa.global_values, &b.global_values, &pb.global_values);
    entities("global value", x, y, gv_key)?;
    let (x, y) = kinds!(&a.dfg.signatures, &pa.signatures, &b.dfg.signatures, &pb.signatures);
    entities("signature", x, y, |_, s| s.clone())?;
    let (x, y) = kinds!(&a.dfg.ext_funcs, &pa.func_refs, &b.dfg.ext_funcs, &pb.func_refs);
    entities("function", x, y, |f, e| (resolve_name(f, &e.name), e.signature, e.colocated, e.patchable))?;
    let (x, y) = kinds!(&a.dfg.constants, &pa.constants, &b.dfg.constants, &pb.constants);
    entities("constant", x, y, |_, c| c.clone())?;
    eq(|| "stack limit".into(), &a.stack_limit, &b.stack_limit)?;

    let blocks_a: Vec<Block> = a.layout.blocks().collect();
    let blocks_b: Vec<Block> = b.layout.blocks().collect();
    eq(|| "block order".into(), &blocks_a, &blocks_b)?;
    for &blk in &blocks_a {
        let params =
            |f: &Function| f.dfg.block_params(blk).iter().map(|&v| (v, f.dfg.value_type(v))).collect::<Vec<_>>();
        eq(|| format!("{blk} parameters"), &params(a), &params(b))?;
        eq(|| format!("{blk} cold"), &a.layout.is_cold(blk), &b.layout.is_cold(blk))?;
        let ia: Vec<Inst> = a.layout.block_insts(blk).collect();
        let ib: Vec<Inst> = b.layout.block_insts(blk).collect();
        if ia.len() != ib.len() {
            return Err(format!("{blk}: {} instructions != {}", ia.len(), ib.len()));
        }
        for (k, (&x, &y)) in ia.iter().zip(&ib).enumerate() {
            compare_inst(a, x, b, y, &format!("{blk} instruction {k} ({x} / {y})"))?;
        }
    }

    let n = a.dfg.num_values().max(b.dfg.num_values());
    for i in 0..n {
        let v = Value::from_u32(i as u32);
        let va = a.dfg.value_is_valid(v) && i < a.dfg.num_values();
        let vb = b.dfg.value_is_valid(v) && i < b.dfg.num_values();
        eq(|| format!("{v} defined"), &va, &vb)?;
        if va {
            eq(|| format!("{v} alias"), &a.dfg.alias_target(v), &b.dfg.alias_target(v))?;
            eq(|| format!("{v} type"), &a.dfg.value_type(v), &b.dfg.value_type(v))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::parse_functions;

    fn one(s: &str) -> Function {
        parse_functions(s).unwrap().remove(0)
    }

    #[test]
    fn equal_and_different() {
        let a = one("function %f(i32) -> i32 {\nblock0(v0: i32):\n v1 = iadd v0, v0\n return v1\n}");
        let b = one("function %f(i32) -> i32 fast {\nblock0(v0: i32):\n    v1 = iadd.i32 v0, v0\n    return v1\n}");
        assert_eq!(structurally_equal(&a, &b), Ok(()));
        let c = one("function %f(i32) -> i32 {\nblock0(v0: i32):\n v1 = isub v0, v0\n return v1\n}");
        assert!(structurally_equal(&a, &c).unwrap_err().contains("instruction data"));
        let d = one("function %f(i32) -> i32 {\nblock0(v0: i32):\n @0001 v1 = iadd v0, v0\n return v1\n}");
        assert!(structurally_equal(&a, &d).unwrap_err().contains("source location"));
        let e = one("function %f(i32) -> i32 {\nblock0(v0: i32):\n v2 = iadd v0, v0\n return v2\n}");
        assert!(structurally_equal(&a, &e).is_err());
        let g = one("function %g(i32) -> i32 {\nblock0(v0: i32):\n v1 = iadd v0, v0\n return v1\n}");
        assert!(structurally_equal(&a, &g).unwrap_err().contains("name"));
    }

    #[test]
    fn resolved_parts() {
        let a = one(
            "function %f(i64) {\nblock0(v0: i64):\n v1 = load.i32 notrap v0\n brif v1, block1(v1), block1(v1)\nblock1(v2: i32):\n return\n}",
        );
        let b = one(
            "function %f(i64) {\nblock0(v0: i64):\n v1 = load.i32 aligned v0\n brif v1, block1(v1), block1(v1)\nblock1(v2: i32):\n return\n}",
        );
        assert!(structurally_equal(&a, &b).unwrap_err().contains("memory flags"));
        let c = one(
            "function %f(i64) {\nblock0(v0: i64):\n v1 = load.i32 notrap v0\n brif v1, block1(v1), block1(v0)\nblock1(v2: i32):\n return\n}",
        );
        assert!(structurally_equal(&a, &c).unwrap_err().contains("branch targets"));
    }
}

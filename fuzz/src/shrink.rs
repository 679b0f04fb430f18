//! Test-case reduction: greedily apply small rewrites to a failing [`Case`] and keep each
//! one that still fails the same way, until none applies.
//!
//! Rewrites (each keeps the program valid by construction): keep only the failing argument
//! set; replace a terminator by a `jump` to one of its targets or by a `return` of
//! constants; drop unreachable blocks and uncalled functions; replace an instruction's
//! results by constants (the constants reuse the result value numbers, so no use needs
//! rewriting); delete instructions without results or whose results are unused; turn a
//! block parameter into a constant. Pinned instructions (slot initialisation, address and
//! loop-counter arithmetic) are only deleted when their results are unused.

use crate::diff::{Case, Failure};
use crate::program::{Func, Inst, Term, Val};
use kiln_ir::types::{self, Type};
use std::collections::HashSet;

/// Instructions defining `v` (of type `ty`) as zero.
fn zero_insts(func: &mut Func, v: Val, ty: Type) -> Vec<Inst> {
    let mk = |results: Vec<(Val, Type)>, _opcode: &'static str, template: String, args: Vec<Val>| Inst {
        results,
        template,
        args,
        pinned: false,
        opcode: ZERO,
    };

    match ty {
        types::I128 => {
            let lo = func.next_val;
            func.next_val += 1;
            vec![
                mk(vec![(lo, types::I64)], "iconst", "iconst.i64 0".into(), vec![]),
                mk(vec![(v, ty)], "uextend", "uextend.i128 #".into(), vec![lo]),
            ]
        }
        t if t.is_vector() => {
            let zeros = "0".repeat(2 * t.bytes() as usize);
            vec![mk(vec![(v, t)], "vconst", format!("vconst.{t} 0x{zeros}"), vec![])]
        }
        t if t.is_int() => vec![mk(vec![(v, t)], "iconst", format!("iconst.{t} 0"), vec![])],
        t => {
            let name: &'static str = match t.bits() {
                16 => "f16const",
                32 => "f32const",
                64 => "f64const",
                _ => "f128const",
            };
            vec![mk(vec![(v, t)], name, format!("{name} 0.0"), vec![])]
        }
    }
}

/// Marker opcode name of the zero constants the shrinker inserts.
const ZERO: &str = "zero";

fn is_zero_const(i: &Inst) -> bool {
    i.opcode == ZERO
}

/// Size of a case for the shrinker: it only accepts candidates that make this smaller.
fn weight(case: &Case) -> usize {
    let mut w = case.args.len() + case.program.funcs.len();
    for f in &case.program.funcs {
        w += f.slots.len();
        for b in &f.blocks {
            w += 2 + b.params.len() + b.term.uses().len();
            w += b.insts.iter().map(|i| if is_zero_const(i) { 1 } else { 3 }).sum::<usize>();
        }
    }
    w
}

fn used_values(func: &Func) -> HashSet<Val> {
    let mut s = HashSet::new();
    for b in &func.blocks {
        for i in &b.insts {
            s.extend(i.args.iter().copied());
        }
        s.extend(b.term.uses());
    }
    s
}

/// Remove blocks not reachable from the entry.
fn drop_unreachable(func: &mut Func) {
    let mut seen: HashSet<u32> = HashSet::new();
    let mut stack = vec![func.blocks[0].id];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        if let Some(ix) = func.block_index(id) {
            for t in func.blocks[ix].term.targets() {
                stack.push(t.block);
            }
        }
    }
    func.blocks.retain(|b| seen.contains(&b.id));
}

/// Remove functions no other function calls (never the entry), renumbering callees.
fn drop_uncalled(case: &mut Case) {
    loop {
        let n = case.program.funcs.len();
        let called: HashSet<usize> = case.program.funcs.iter().flat_map(|f| f.callees.iter().map(|c| c.func)).collect();
        let Some(dead) = (1..n).rev().find(|i| !called.contains(i)) else { return };
        case.program.funcs.remove(dead);
        for f in &mut case.program.funcs {
            for c in &mut f.callees {
                if c.func > dead {
                    c.func -= 1;
                }
            }
        }
    }
}

/// Remove declared callees no instruction refers to (renumbering `fnK`/`sigK`).
fn drop_unused_callees(func: &mut Func) {
    let mut k = 0;
    while k < func.callees.len() {
        let fk = format!("fn{k}(");
        let sk = format!("sig{k},");
        let fa = format!("fn{k}");
        let used = func.blocks.iter().flat_map(|b| &b.insts).any(|i| {
            i.template.contains(&fk)
                || i.template.contains(&sk)
                || (i.opcode == "func_addr" && i.template.ends_with(&fa))
        }) || func.blocks.iter().any(|b| matches!(b.term, Term::ReturnCall { callee, .. } if callee == k));
        if used {
            k += 1;
            continue;
        }
        func.callees.remove(k);
        for b in &mut func.blocks {
            if let Term::ReturnCall { callee, .. } = &mut b.term
                && *callee > k
            {
                *callee -= 1;
            }
            for i in &mut b.insts {
                for j in k + 1..=func.callees.len() {
                    i.template = i
                        .template
                        .replace(&format!("fn{j}("), &format!("fn{}(", j - 1))
                        .replace(&format!("sig{j},"), &format!("sig{},", j - 1));
                    if i.opcode == "func_addr" && i.template.ends_with(&format!("fn{j}")) {
                        i.template = format!("func_addr.i64 fn{}", j - 1);
                    }
                }
            }
        }
    }
}

fn tidy(case: &mut Case) {
    for f in &mut case.program.funcs {
        drop_unreachable(f);
        drop_unused_callees(f);
    }
    drop_uncalled(case);
}

/// `case` without stack slot `slot` of function `fi`, if only its initialising stores use
/// it (their constants become unused and are deleted by later steps).
fn without_slot(case: &Case, fi: usize, slot: usize) -> Option<Case> {
    let mut c = case.clone();
    let f = &mut c.program.funcs[fi];
    let name = format!("ss{slot}");
    let addr_template = format!("stack_addr.i64 {name}");
    let entry = f.blocks.first_mut()?;
    let pos = entry.insts.iter().position(|i| i.template == addr_template)?;
    let addr = entry.insts[pos].results.first()?.0;
    for (bi, b) in f.blocks.iter().enumerate() {
        for (ii, i) in b.insts.iter().enumerate() {
            let init_store = i.pinned && i.results.is_empty() && i.args.get(1) == Some(&addr);
            let refers = i.template.split(|ch: char| !ch.is_ascii_alphanumeric()).any(|w| w == name);
            if (i.args.contains(&addr) && !init_store) || (refers && !(bi == 0 && ii == pos)) {
                return None;
            }
        }
        if b.term.uses().contains(&addr) {
            return None;
        }
    }
    let entry = &mut f.blocks[0];
    entry.insts.retain(|i| !i.args.contains(&addr));
    entry.insts.remove(entry.insts.iter().position(|i| i.template == addr_template)?);
    f.slots.remove(slot);
    for j in slot + 1..=f.slots.len() {
        let (from, to) = (format!("ss{j}"), format!("ss{}", j - 1));
        for b in &mut f.blocks {
            for i in &mut b.insts {
                if i.template.contains(&from) {
                    i.template = i.template.replace(&from, &to);
                }
            }
        }
    }
    Some(c)
}

/// Candidate rewrites of `case`, most aggressive first.
fn candidates(case: &Case) -> Vec<Case> {
    let mut out = vec![case.clone()]; // tidied by the caller
    if case.args.len() > 1 {
        for a in &case.args {
            let mut c = case.clone();
            c.args = vec![a.clone()];
            out.push(c);
        }
    }
    for fi in 0..case.program.funcs.len() {
        let func = &case.program.funcs[fi];
        for slot in (0..func.slots.len()).rev() {
            if let Some(c) = without_slot(case, fi, slot) {
                out.push(c);
            }
        }
        for bi in 0..func.blocks.len() {
            let b = &func.blocks[bi];
            // Terminators: return constants, or jump to one target.
            if !matches!(&b.term, Term::Return(v) if v.is_empty()) {
                let mut c = case.clone();
                let f = &mut c.program.funcs[fi];
                let rets = f.rets.clone();
                let mut vals = Vec::new();
                let mut insts = Vec::new();
                for t in rets {
                    let v = f.next_val;
                    f.next_val += 1;
                    insts.extend(zero_insts(f, v, t));
                    vals.push(v);
                }
                let already = matches!(&f.blocks[bi].term, Term::Return(old) if old.len() == vals.len())
                    && f.blocks[bi].insts.len() >= insts.len()
                    && f.blocks[bi].insts[f.blocks[bi].insts.len() - insts.len()..].iter().all(is_zero_const);
                if !already {
                    f.blocks[bi].insts.extend(insts);
                    f.blocks[bi].term = Term::Return(vals);
                    out.push(c);
                }
            }
            if matches!(b.term, Term::Brif(..) | Term::BrTable(..)) {
                for t in b.term.targets() {
                    let mut c = case.clone();
                    c.program.funcs[fi].blocks[bi].term = Term::Jump(t.clone());
                    out.push(c);
                }
            }
            // Instructions.
            let used = used_values(func);
            for ii in (0..b.insts.len()).rev() {
                let inst = &b.insts[ii];
                let unused = inst.results.iter().all(|(v, _)| !used.contains(v));
                let init_store = inst.pinned && inst.results.is_empty();
                if (unused && !inst.results.is_empty()) || (inst.results.is_empty() && !init_store) {
                    let mut c = case.clone();
                    c.program.funcs[fi].blocks[bi].insts.remove(ii);
                    out.push(c);
                } else if !inst.pinned && !inst.results.is_empty() && !is_zero_const(inst) {
                    let mut c = case.clone();
                    let f = &mut c.program.funcs[fi];
                    let results = f.blocks[bi].insts[ii].results.clone();
                    let mut repl = Vec::new();
                    for (v, t) in results {
                        repl.extend(zero_insts(f, v, t));
                    }
                    f.blocks[bi].insts.splice(ii..=ii, repl);
                    out.push(c);
                }
            }
            // Block parameters (not the entry's, not the loop counter).
            if bi > 0 {
                for pi in (1..b.params.len()).rev() {
                    let mut c = case.clone();
                    let f = &mut c.program.funcs[fi];
                    let id = f.blocks[bi].id;
                    let (v, t) = f.blocks[bi].params.remove(pi);
                    for blk in &mut f.blocks {
                        for tg in blk.term.targets_mut() {
                            if tg.block == id {
                                tg.args.remove(pi);
                            }
                        }
                    }
                    let z = zero_insts(f, v, t);
                    f.blocks[bi].insts.splice(0..0, z);
                    out.push(c);
                }
            }
        }
    }
    out
}

/// Reduce `case`, which fails with `failure`, using `check` to re-run candidates. Gives the
/// smallest case found and its failure. `budget` bounds the number of checks.
pub fn shrink(
    case: &Case,
    failure: &Failure,
    mut check: impl FnMut(&Case) -> Result<(), Failure>,
    mut budget: usize,
) -> (Case, Failure) {
    let mut best = case.clone();
    let mut best_failure = failure.clone();
    let mut progress = true;
    while progress && budget > 0 {
        progress = false;
        let w = weight(&best);
        'cands: for raw in candidates(&best) {
            // Each rewrite is tried with unreachable code and unused declarations removed,
            // then as is (the failure may live in code the rewrite made unreachable).
            let mut tidied = raw.clone();
            tidy(&mut tidied);
            for cand in [tidied, raw] {
                if budget == 0 {
                    break 'cands;
                }
                if weight(&cand) >= w {
                    continue;
                }
                budget -= 1;
                if let Err(f) = check(&cand)
                    && f.same_kind(failure)
                {
                    best = cand;
                    best_failure = f;
                    progress = true;
                    break 'cands;
                }
            }
        }
    }
    (best, best_failure)
}

//! Applying compiled rules to a newly inserted node: matching (over the members of operand
//! e-classes, with backtracking over member choices), guard evaluation and template
//! instantiation.
//!
//! Expressions evaluate to [`V`]: integers carry the type they came from (or none, for
//! literals, which adapt to the other operand) and are kept masked to that type's width;
//! signed functions sign-extend from the width. Every template node is checked against the
//! opcode table (controlling type allowed, operand types accepted) before it is inserted, so
//! a rule can never create ill-typed IR; a rule whose template cannot be instantiated simply
//! does not fire.

use super::dsl::{Compiled, Expr, Func, ImmPat, MAX_VARS, Pat, Tpl, TySpec};
use super::{Rule, ruleset};
use crate::egraph::{EGraph, Id, Kind, MAX_REWRITES_PER_NODE, NodeData, lane_mask, op_bit};
use kiln_ir::Function;
use kiln_ir::condcodes::{FloatCC, IntCC};
use kiln_ir::immediates::{Ieee32, Ieee64};
use kiln_ir::instructions::InstructionData;
use kiln_ir::memflags::MemFlagsId;
use kiln_ir::opcodes::InstructionFormat;
use kiln_ir::types::{self, Type};
use smallvec::SmallVec;

/// What a variable is bound to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Bind {
    None,
    Class(Id),
    /// An integer constant (masked) and its type.
    Int(u64, Type),
    Cc(IntCC),
    Fcc(FloatCC),
    /// Float bits and type.
    Float(u64, Type),
}

/// Variable bindings of one match.
pub(crate) type Binds = [Bind; MAX_VARS];

/// Apply the rules of `id`'s opcode to node `id`; returns `id` or a union with the rewrites.
pub(crate) fn apply_rules(eg: &mut EGraph, func: &mut Function, id: Id, depth: u32) -> Id {
    let set = ruleset();
    let Some(node) = eg.node_of(id).copied() else { return id };
    let op = node.opcode();
    let ctrl = if node.ctrl.is_invalid() { node.rty } else { node.ctrl };
    let mut arg_ops = [u64::MAX; 3];
    for (k, &a) in node.data.arguments(&eg.empty_pool).iter().take(3).enumerate() {
        arg_ops[k] = eg.class(Id::from_value(a)).ops;
    }
    let mut root = id;
    let mut count = 0;
    for &r in &set.by_op[op as usize] {
        if let Some(only) = eg.only_rule
            && only != r as usize
        {
            continue;
        }
        let Rule::Pattern(rule) = &set.rules[r as usize] else { continue };
        if !rule.types.contains(ctrl) || (0..3).any(|k| rule.arg_filter[k] & !arg_ops[k] != 0) {
            continue;
        }
        if eg.budget == 0 {
            eg.counters.budget_exhausted = true;
            break;
        }
        let mut binds: Binds = [Bind::None; MAX_VARS];
        if !match_node(eg, rule, rule.root, id, &mut binds) {
            continue;
        }
        let cx = Cx { rule, root_ty: ctrl };
        if !rule.guards.iter().all(|&g| matches!(cx.eval(eg, &binds, g), Some(V::Bool(true)))) {
            continue;
        }
        let Some(new) = cx.build(eg, func, &binds, rule.tpl_root, Some(node.rty), depth) else { continue };
        if new == id || eg.ty(new) != node.rty {
            continue;
        }
        eg.budget = eg.budget.saturating_sub(1);
        eg.counters.rewrites += 1;
        eg.rule_fires[r as usize] += 1;
        root = eg.union(root, new);
        count += 1;
        if count >= MAX_REWRITES_PER_NODE {
            break;
        }
    }
    root
}

fn bind(binds: &mut Binds, eg: &EGraph, slot: u8, b: Bind) -> bool {
    let cur = &mut binds[slot as usize];
    match (*cur, b) {
        (Bind::None, _) => {
            *cur = b;
            true
        }
        (Bind::Class(x), Bind::Class(y)) => eg.find_ro(x) == eg.find_ro(y),
        (a, b) => a == b,
    }
}

fn match_node(eg: &EGraph, rule: &Compiled, p: u16, n: Id, binds: &mut Binds) -> bool {
    let Pat::Node { op, imm, args, n: nargs } = rule.pats[p as usize] else { return false };
    let Some(node) = eg.node_of(n) else { return false };
    if node.opcode() != op {
        return false;
    }
    let ok = match (imm, node.data) {
        (ImmPat::None, _) => true,
        (ImmPat::Int(lit), InstructionData::UnaryImm { imm, .. }) => {
            let m = lane_mask(node.rty.bits());
            (imm.0 as u64 as u128 & m) == (lit as u128 & m)
        }
        (ImmPat::IntVar(s), InstructionData::UnaryImm { imm, .. }) => {
            let m = lane_mask(node.rty.bits());
            bind(binds, eg, s, Bind::Int((imm.0 as u64 as u128 & m) as u64, node.rty))
        }
        (ImmPat::Cc(c), InstructionData::IntCompare { cond, .. }) => c == cond,
        (ImmPat::CcVar(s), InstructionData::IntCompare { cond, .. }) => bind(binds, eg, s, Bind::Cc(cond)),
        (ImmPat::Fcc(c), InstructionData::FloatCompare { cond, .. }) => c == cond,
        (ImmPat::FccVar(s), InstructionData::FloatCompare { cond, .. }) => bind(binds, eg, s, Bind::Fcc(cond)),
        (ImmPat::Float(f), InstructionData::UnaryIeee32 { imm, .. }) => imm.0 == (f as f32).to_bits(),
        (ImmPat::Float(f), InstructionData::UnaryIeee64 { imm, .. }) => imm.0 == f.to_bits(),
        (ImmPat::FloatVar(s), InstructionData::UnaryIeee32 { imm, .. }) => {
            bind(binds, eg, s, Bind::Float(imm.0 as u64, types::F32))
        }
        (ImmPat::FloatVar(s), InstructionData::UnaryIeee64 { imm, .. }) => {
            bind(binds, eg, s, Bind::Float(imm.0, types::F64))
        }
        _ => false,
    };
    if !ok {
        return false;
    }
    let node_args = node.data.arguments(&eg.empty_pool);
    if node_args.len() != nargs as usize {
        return false;
    }
    let node_args: SmallVec<[Id; 3]> = node_args.iter().map(|&v| Id::from_value(v)).collect();
    for i in 0..nargs as usize {
        if !match_class(eg, rule, args[i], node_args[i], binds) {
            return false;
        }
    }
    true
}

fn match_class(eg: &EGraph, rule: &Compiled, p: u16, id: Id, binds: &mut Binds) -> bool {
    match rule.pats[p as usize] {
        Pat::Var(s) => bind(binds, eg, s, Bind::Class(id)),
        Pat::Node { op, .. } => {
            if eg.class(id).ops & op_bit(op) == 0 {
                return false;
            }
            if let Kind::Node(_) = eg.class(id).kind {
                return match_node(eg, rule, p, id, binds);
            }
            let mut members: SmallVec<[Id; 8]> = SmallVec::new();
            eg.members(id, &mut members);
            for m in members {
                if eg.node_of(m).is_none_or(|n| n.opcode() != op) {
                    continue;
                }
                let save = *binds;
                if match_node(eg, rule, p, m, binds) {
                    return true;
                }
                *binds = save;
            }
            false
        }
    }
}

/// An expression value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum V {
    /// Masked bits and type (`INVALID`: an untyped literal).
    Int(u128, Type),
    Bool(bool),
    Cc(IntCC),
    Fcc(FloatCC),
    Ty(Type),
    /// Float bits and type.
    F(u64, Type),
    Class(Id),
}

fn sext(v: u128, ty: Type) -> i128 {
    if ty.is_invalid() || ty.bits() >= 128 {
        v as i128
    } else {
        let s = 128 - ty.bits();
        ((v << s) as i128) >> s
    }
}

fn mask_of(ty: Type) -> u128 {
    if ty.is_invalid() { u128::MAX } else { lane_mask(ty.lane_bits()) }
}

struct Cx<'a> {
    rule: &'a Compiled,
    root_ty: Type,
}

impl Cx<'_> {
    fn type_of(&self, eg: &EGraph, v: V) -> Option<Type> {
        match v {
            V::Ty(t) => Some(t),
            V::Int(_, t) | V::F(_, t) if !t.is_invalid() => Some(t),
            V::Class(id) => Some(eg.ty(id)),
            _ => None,
        }
    }

    fn eval(&self, eg: &EGraph, b: &Binds, e: u16) -> Option<V> {
        match &self.rule.exprs[e as usize] {
            Expr::Int(v) => Some(V::Int(*v as u128, types::INVALID)),
            Expr::Float(f) => Some(V::F(f.to_bits(), types::F64)),
            Expr::Var(s) => match b[*s as usize] {
                Bind::None => None,
                Bind::Class(id) => Some(V::Class(id)),
                Bind::Int(v, t) => Some(V::Int(v as u128, t)),
                Bind::Cc(c) => Some(V::Cc(c)),
                Bind::Fcc(c) => Some(V::Fcc(c)),
                Bind::Float(v, t) => Some(V::F(v, t)),
            },
            Expr::RootTy => Some(V::Ty(self.root_ty)),
            Expr::Ty(t) => Some(V::Ty(*t)),
            Expr::Cc(c) => Some(V::Cc(*c)),
            Expr::Fcc(c) => Some(V::Fcc(*c)),
            Expr::Call(f, args) => {
                let mut vals: SmallVec<[V; 3]> = SmallVec::new();
                for &a in args {
                    vals.push(self.eval(eg, b, a)?);
                }
                self.call(eg, *f, &vals)
            }
        }
    }

    fn call(&self, eg: &EGraph, f: Func, a: &[V]) -> Option<V> {
        use Func::*;
        let int = |i: usize| -> Option<(u128, Type)> {
            match a.get(i)? {
                V::Int(v, t) => Some((*v, *t)),
                _ => None,
            }
        };
        // Two integers in a common type (the first typed one).
        let two = || -> Option<(u128, u128, Type)> {
            let (x, tx) = int(0)?;
            let (y, ty) = int(1)?;
            let t = if tx.is_invalid() { ty } else { tx };
            let m = mask_of(t);
            Some((x & m, y & m, t))
        };
        let ty_arg = |i: usize| -> Option<Type> { self.type_of(eg, *a.get(i)?) };
        let mk = |v: u128, t: Type| V::Int(v & mask_of(t), t);
        let bits_of = |t: Type| if t.is_invalid() { 128 } else { t.lane_bits() };
        Some(match f {
            Add => {
                let (x, y, t) = two()?;
                mk(x.wrapping_add(y), t)
            }
            Sub => {
                let (x, y, t) = two()?;
                mk(x.wrapping_sub(y), t)
            }
            Mul => {
                let (x, y, t) = two()?;
                mk(x.wrapping_mul(y), t)
            }
            Neg => {
                let (x, t) = int(0)?;
                mk(x.wrapping_neg(), t)
            }
            Not => match a.first()? {
                V::Bool(b) => V::Bool(!b),
                V::Int(x, t) => mk(!x, *t),
                _ => return None,
            },
            And | Or | Xor => match (a.first()?, a.get(1)?) {
                (V::Bool(x), V::Bool(y)) => V::Bool(match f {
                    And => *x && *y,
                    Or => *x || *y,
                    _ => *x != *y,
                }),
                _ => {
                    let (x, y, t) = two()?;
                    mk(
                        match f {
                            And => x & y,
                            Or => x | y,
                            _ => x ^ y,
                        },
                        t,
                    )
                }
            },
            Shl | Ushr | Sshr => {
                let (x, t) = int(0)?;
                let (y, _) = int(1)?;
                let w = bits_of(t);
                let y = y.min(w as u128) as u32;
                let r = match f {
                    Shl => {
                        if y >= 128 {
                            0
                        } else {
                            x << y
                        }
                    }
                    Ushr => {
                        if y >= 128 {
                            0
                        } else {
                            (x & mask_of(t)) >> y
                        }
                    }
                    _ => (sext(x & mask_of(t), t) >> y.min(127)) as u128,
                };
                mk(r, t)
            }
            Log2 => {
                let (x, t) = int(0)?;
                let x = x & mask_of(t);
                if x == 0 {
                    return None;
                }
                V::Int((127 - x.leading_zeros()) as u128, types::INVALID)
            }
            Popcnt => {
                let (x, t) = int(0)?;
                V::Int((x & mask_of(t)).count_ones() as u128, types::INVALID)
            }
            Eq | Ne | Ult | Ule | Ugt | Uge => {
                let (x, y, _) = two()?;
                V::Bool(match f {
                    Eq => x == y,
                    Ne => x != y,
                    Ult => x < y,
                    Ule => x <= y,
                    Ugt => x > y,
                    _ => x >= y,
                })
            }
            Slt | Sle | Sgt | Sge => {
                let (x, y, t) = two()?;
                let (x, y) = (sext(x, t), sext(y, t));
                V::Bool(match f {
                    Slt => x < y,
                    Sle => x <= y,
                    Sgt => x > y,
                    _ => x >= y,
                })
            }
            Pow2 => {
                let (x, t) = int(0)?;
                let x = x & mask_of(t);
                V::Bool(x != 0 && x.is_power_of_two())
            }
            NegPow2 => {
                let (x, t) = int(0)?;
                let s = sext(x & mask_of(t), t);
                V::Bool(s < -1 && (s.unsigned_abs()).is_power_of_two())
            }
            Bits => V::Int(bits_of(ty_arg(0)?) as u128, types::INVALID),
            Umax => {
                let t = ty_arg(0)?;
                mk(u128::MAX, t)
            }
            Smin => {
                let t = ty_arg(0)?;
                mk(1u128 << (bits_of(t) - 1), t)
            }
            Smax => {
                let t = ty_arg(0)?;
                mk((1u128 << (bits_of(t) - 1)) - 1, t)
            }
            TyEq => V::Bool(ty_arg(0)? == ty_arg(1)?),
            TyLt => {
                let (x, y) = (ty_arg(0)?, ty_arg(1)?);
                V::Bool(x.is_scalar() && y.is_scalar() && x.is_int() == y.is_int() && x.bits() < y.bits())
            }
            Swap => match a.first()? {
                V::Cc(c) => V::Cc(c.swap_args()),
                V::Fcc(c) => V::Fcc(c.swap_args()),
                _ => return None,
            },
            Invert => match a.first()? {
                V::Cc(c) => V::Cc(c.complement()),
                V::Fcc(c) => V::Fcc(c.complement()),
                _ => return None,
            },
            CcRefl => match a.first()? {
                V::Cc(c) => V::Int(c.eval(0, 0, 8) as u128, types::INVALID),
                _ => return None,
            },
            CcUnsigned => match a.first()? {
                V::Cc(c) => V::Bool(!c.is_signed()),
                _ => return None,
            },
            CcSigned => match a.first()? {
                V::Cc(c) => V::Bool(c.is_signed() || matches!(c, IntCC::Equal | IntCC::NotEqual)),
                _ => return None,
            },
            FitsU => {
                let (x, t) = int(0)?;
                let to = ty_arg(1)?;
                V::Bool((x & mask_of(t)) <= mask_of(to))
            }
            FitsS => {
                let (x, t) = int(0)?;
                let to = ty_arg(1)?;
                let s = sext(x & mask_of(t), t);
                let w = bits_of(to);
                let (lo, hi) =
                    if w >= 128 { (i128::MIN, i128::MAX) } else { (-(1i128 << (w - 1)), (1i128 << (w - 1)) - 1) };
                V::Bool(s >= lo && s <= hi)
            }
            Sext => {
                let (x, t) = int(0)?;
                let to = ty_arg(1)?;
                mk(sext(x & mask_of(t), t) as u128, to)
            }
            RecipExact | Recip => {
                let V::F(bits, t) = *a.first()? else { return None };
                let (ok, r) = if t == types::F32 {
                    let c = f32::from_bits(bits as u32);
                    let r = 1.0 / c;
                    let exact = c.is_normal() && r.is_normal() && (bits as u32 & 0x7f_ffff) == 0;
                    (exact, r.to_bits() as u64)
                } else if t == types::F64 {
                    let c = f64::from_bits(bits);
                    let r = 1.0 / c;
                    let exact = c.is_normal() && r.is_normal() && (bits & 0xf_ffff_ffff_ffff) == 0;
                    (exact, r.to_bits())
                } else {
                    return None;
                };
                if f == RecipExact { V::Bool(ok) } else { V::F(r, t) }
            }
        })
    }

    fn spec_type(&self, eg: &EGraph, b: &Binds, spec: TySpec) -> Option<Type> {
        match spec {
            TySpec::Infer => None,
            TySpec::Root => Some(self.root_ty),
            TySpec::Concrete(t) => Some(t),
            TySpec::OfVar(s) => match b[s as usize] {
                Bind::Class(id) => Some(eg.ty(id)),
                Bind::Int(_, t) | Bind::Float(_, t) => Some(t),
                _ => None,
            },
        }
    }

    /// Instantiate template `t`, whose value must have type `expected` if given.
    fn build(
        &self,
        eg: &mut EGraph,
        func: &mut Function,
        b: &Binds,
        t: u16,
        expected: Option<Type>,
        depth: u32,
    ) -> Option<Id> {
        let id = match &self.rule.tpls[t as usize] {
            Tpl::Var(s) => match b[*s as usize] {
                Bind::Class(id) => id,
                _ => return None,
            },
            Tpl::Call { f, vars } => {
                let root_ty = self.root_ty;
                f.run(eg, func, b, vars, root_ty, depth + 1)?
            }
            Tpl::Node { op, ty, imm, args, n } => {
                let op = *op;
                let info = op.info();
                let mut built: SmallVec<[Option<Id>; 3]> = SmallVec::from_elem(None, *n as usize);
                let ctrl = match self.spec_type(eg, b, *ty) {
                    Some(t) => t,
                    None if !op.is_polymorphic() => types::INVALID,
                    // A constant without a type from the context takes its value's type.
                    None if expected.is_none() && op.format() == InstructionFormat::UnaryImm => {
                        match imm.map(|e| self.eval(eg, b, e)) {
                            Some(Some(V::Int(_, t))) if !t.is_invalid() => t,
                            _ => return None,
                        }
                    }
                    None if info.results.first() == Some(&kiln_ir::opcodes::Constraint::Ctrl) => expected?,
                    None => {
                        let i = info.infer? as usize;
                        let id = self.build(eg, func, b, args[i], None, depth)?;
                        built[i] = Some(id);
                        eg.ty(id)
                    }
                };
                if op.is_polymorphic() && !info.ctrl.contains(ctrl) {
                    return None;
                }
                let rty = info.results.first()?.resolve(ctrl)?;
                let mut ids: SmallVec<[Id; 3]> = SmallVec::new();
                for i in 0..*n as usize {
                    let id = match built[i] {
                        Some(id) => id,
                        None => {
                            let exp = info.args.get(i)?.resolve(ctrl);
                            self.build(eg, func, b, args[i], exp, depth)?
                        }
                    };
                    if !info.args.get(i)?.accepts(eg.ty(id), ctrl) {
                        return None;
                    }
                    ids.push(id);
                }
                let immv = match imm {
                    Some(e) => Some(self.eval(eg, b, *e)?),
                    None => None,
                };
                let v = |i: usize| ids[i].as_value();
                let data = match (op.format(), immv) {
                    (InstructionFormat::UnaryImm, Some(V::Int(x, _))) => {
                        let id = eg.iconst(func, ctrl, x, depth + 1)?;
                        return check(eg, id, expected);
                    }
                    (InstructionFormat::UnaryIeee32, Some(V::F(x, ft))) => {
                        let bits = if ft == types::F32 { x as u32 } else { (f64::from_bits(x) as f32).to_bits() };
                        InstructionData::UnaryIeee32 { opcode: op, imm: Ieee32(bits) }
                    }
                    (InstructionFormat::UnaryIeee64, Some(V::F(x, ft))) => {
                        let bits = if ft == types::F64 { x } else { (f32::from_bits(x as u32) as f64).to_bits() };
                        InstructionData::UnaryIeee64 { opcode: op, imm: Ieee64(bits) }
                    }
                    (InstructionFormat::IntCompare, Some(V::Cc(cond))) => {
                        InstructionData::IntCompare { opcode: op, cond, args: [v(0), v(1)] }
                    }
                    (InstructionFormat::FloatCompare, Some(V::Fcc(cond))) => {
                        InstructionData::FloatCompare { opcode: op, cond, args: [v(0), v(1)] }
                    }
                    (InstructionFormat::Unary, None) => InstructionData::Unary { opcode: op, arg: v(0) },
                    (InstructionFormat::Binary, None) => InstructionData::Binary { opcode: op, args: [v(0), v(1)] },
                    (InstructionFormat::Ternary, None) => {
                        InstructionData::Ternary { opcode: op, args: [v(0), v(1), v(2)] }
                    }
                    (InstructionFormat::LoadNoOffset, None) => {
                        InstructionData::LoadNoOffset { opcode: op, flags: MemFlagsId(0), arg: v(0) }
                    }
                    _ => return None,
                };
                let n = NodeData { data, ctrl, rty, orig: None, srcloc: eg.cur_srcloc };
                eg.insert(func, n, depth + 1)
            }
        };
        check(eg, id, expected)
    }
}

fn check(eg: &EGraph, id: Id, expected: Option<Type>) -> Option<Id> {
    match expected {
        Some(t) if eg.ty(id) != t => None,
        _ => Some(id),
    }
}

/// Evaluate an integer constant binding as (bits, type) — for builders.
pub(crate) fn int_bind(b: &Binds, slot: u8) -> Option<(u128, Type)> {
    match b[slot as usize] {
        Bind::Int(v, t) => Some((v as u128, t)),
        _ => None,
    }
}

/// A class binding — for builders.
pub(crate) fn class_bind(b: &Binds, slot: u8) -> Option<Id> {
    match b[slot as usize] {
        Bind::Class(id) => Some(id),
        _ => None,
    }
}

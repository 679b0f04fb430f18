//! Rule soundness check (a test): every rule must rewrite to something the reference
//! interpreter cannot tell apart from the original.
//!
//! For each pattern rule and each type of its [`TypeClass`], the left side is instantiated
//! as a CLIF function: pattern variables become parameters, constant variables get values
//! (edge cases first, then random ones), condition-code variables each code, and free
//! operand types (the source of an extension, a shift amount, a `select` condition) every
//! type the opcode table allows. The function is optimized with only that rule enabled and
//! extraction forced to take the rewrite; instantiations where the rule fired are run by the
//! interpreter, before and after, on edge-case and random inputs (at least 3000 per rule,
//! 200 per instantiation), and the results (values bit for bit, or the trap) must be
//! identical. Every rule must fire on at
//! least one instantiation, so no rule goes untested.
//!
//! Folding rules are checked per opcode and type: constants built from random operand values
//! are folded through the e-graph and compared with the interpreter running the unfolded
//! operation; a few instantiations per opcode also run through the whole pipeline.

use super::dsl::{Compiled, ImmPat, Pat};
use super::{Rule, ruleset};
use crate::egraph::{EGraph, MAX_DEPTH, NodeData};
use crate::{OptContext, optimize};
use kiln_ir::condcodes::{FloatCC, IntCC};
use kiln_ir::data_value::DataValue;
use kiln_ir::immediates::{Ieee16, Ieee32, Ieee64, Ieee128};
use kiln_ir::interp::{InterpConfig, InterpError, Interpreter};
use kiln_ir::opcodes::{Constraint, InstructionFormat};
use kiln_ir::settings::Flags;
use kiln_ir::text::parse_functions;
use kiln_ir::types::{self, Type};
use kiln_ir::{Function, Opcode};
use smallvec::SmallVec;
use std::fmt::Write;

/// Instantiations per rule and type on which the rule must fire and which are then run.
const FIRINGS_PER_TYPE: usize = 6;
/// Constant choices tried per type assignment.
const ATTEMPTS: usize = 120;
/// Inputs per rule, at least (spread over its instantiations, at least 200 each).
const INPUTS_PER_RULE: usize = 3000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len())]
    }
}

const TEST_TYPES: &[Type] = &[
    types::I8,
    types::I16,
    types::I32,
    types::I64,
    types::I128,
    types::F16,
    types::F32,
    types::F64,
    types::F128,
    types::I8X16,
    types::I16X8,
    types::I32X4,
    types::I64X2,
    types::F32X4,
    types::F64X2,
];

fn mask(bits: u32) -> u128 {
    if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 }
}

/// Interesting integer bit patterns for a lane of `bits` bits.
fn int_edges(bits: u32) -> Vec<u128> {
    let m = mask(bits);
    let b = bits as u128;
    let mut v: Vec<u128> = vec![
        0,
        1,
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        9,
        10,
        12,
        15,
        16,
        17,
        25,
        31,
        32,
        33,
        63,
        64,
        65,
        100,
        127,
        128,
        255,
        256,
        641,
        1000,
        0x7fff,
        0x8000,
        0xffff,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        0x7fff_ffff_ffff_ffff,
        0x8000_0000_0000_0000,
        b - 1,
        b.saturating_sub(8),
        b.saturating_sub(16),
        b.saturating_sub(32),
        b,
        b + 1,
        2 * b - 1,
    ];
    for k in [1u128, 2, 3, 5, 7, 8, 16, 100] {
        v.push(k.wrapping_neg());
    }
    let half = 1u128 << (bits - 1);
    v.extend([half, half - 1, half + 1, m, m - 1]);
    let mut out: Vec<u128> = v.into_iter().map(|x| x & m).collect();
    out.sort();
    out.dedup();
    out
}

fn float_edges(bits: u32) -> Vec<u128> {
    match bits {
        16 => vec![0, 0x8000, 0x3c00, 0xbc00, 0x4000, 0x3800, 0x7c00, 0xfc00, 0x7e00, 0x7d00, 0x0001, 0x7bff, 0x4400],
        32 => vec![
            0,
            0x8000_0000,
            0x3f80_0000,
            0xbf80_0000,
            0x4000_0000,
            0xc000_0000,
            0x3f00_0000,
            0x3e80_0000,
            0x4080_0000,
            0x7f80_0000,
            0xff80_0000,
            0x7fc0_0000,
            0xffc0_0000,
            0x7fa0_0001,
            0x0000_0001,
            0x0080_0000,
            0x7f7f_ffff,
            0x4f00_0000,
            0x3fc0_0000,
            0xbfc0_0000,
            0x4b00_0000,
        ],
        64 => vec![
            0,
            0x8000_0000_0000_0000,
            0x3ff0_0000_0000_0000,
            0xbff0_0000_0000_0000,
            0x4000_0000_0000_0000,
            0xc000_0000_0000_0000,
            0x3fe0_0000_0000_0000,
            0x3fd0_0000_0000_0000,
            0x4010_0000_0000_0000,
            0x7ff0_0000_0000_0000,
            0xfff0_0000_0000_0000,
            0x7ff8_0000_0000_0000,
            0xfff8_0000_0000_0000,
            0x7ff4_0000_0000_0001,
            0x0000_0000_0000_0001,
            0x0010_0000_0000_0000,
            0x7fef_ffff_ffff_ffff,
            0x43e0_0000_0000_0000,
            0x3ff8_0000_0000_0000,
            0xbff8_0000_0000_0000,
            0x4330_0000_0000_0000,
        ],
        _ => vec![
            0,
            1u128 << 127,
            0x3fff_0000_0000_0000_0000_0000_0000_0000,
            0xbfff_0000_0000_0000_0000_0000_0000_0000,
            0x4000_0000_0000_0000_0000_0000_0000_0000,
            0x7fff_0000_0000_0000_0000_0000_0000_0000,
            0x7fff_8000_0000_0000_0000_0000_0000_0000,
            0x7fff_4000_0000_0000_0000_0000_0000_0001,
            1,
        ],
    }
}

/// A random lane value of `lane` type.
fn lane_value(rng: &mut Rng, lane: Type) -> u128 {
    let bits = lane.bits();
    let r = ((rng.next() as u128) << 64) | rng.next() as u128;
    match rng.below(4) {
        0 | 1 => {
            let e = if lane.is_float() { float_edges(bits) } else { int_edges(bits) };
            rng.pick(&e)
        }
        2 => r & mask(bits) & 0xff,
        _ => r & mask(bits),
    }
}

fn random_value(rng: &mut Rng, ty: Type) -> DataValue {
    if ty.is_vector() {
        let lane = ty.lane_type();
        let lb = lane.bytes() as usize;
        let mut bytes: SmallVec<[u8; 16]> = SmallVec::new();
        for _ in 0..ty.lane_count() {
            let v = lane_value(rng, lane);
            bytes.extend_from_slice(&v.to_le_bytes()[..lb]);
        }
        DataValue::Vector(ty, bytes)
    } else {
        DataValue::from_u128(ty, lane_value(rng, ty)).expect("scalar type")
    }
}

/// The value of every pattern node and variable in one instantiation.
#[derive(Clone, Debug)]
struct Assign {
    /// Per pattern node: (controlling type, result type).
    node: Vec<Option<(Type, Type)>>,
    var: Vec<Option<Type>>,
}

/// Enumerate the type assignments of the subpattern `p` whose value has one of `expected`.
fn assign(rule: &Compiled, p: u16, expected: &[Type], root: Option<Type>, states: Vec<Assign>) -> Vec<Assign> {
    let mut out = Vec::new();
    for st in states {
        match rule.pats[p as usize] {
            Pat::Var(s) => match st.var[s as usize] {
                Some(t) => {
                    if expected.contains(&t) {
                        out.push(st);
                    }
                }
                None => {
                    for &t in expected {
                        let mut s2 = st.clone();
                        s2.var[s as usize] = Some(t);
                        out.push(s2);
                    }
                }
            },
            Pat::Node { op, imm, args, n } => {
                let info = op.info();
                let ctrls: Vec<Type> = if let Some(r) = root {
                    vec![r]
                } else if !op.is_polymorphic() {
                    vec![types::INVALID]
                } else {
                    TEST_TYPES.iter().copied().filter(|&c| info.ctrl.contains(c)).collect()
                };
                for c in ctrls {
                    if op.is_polymorphic() && !info.ctrl.contains(c) {
                        continue;
                    }
                    let Some(rty) = info.results.first().and_then(|r| r.resolve(c)) else { continue };
                    if !expected.contains(&rty) {
                        continue;
                    }
                    let mut s2 = st.clone();
                    s2.node[p as usize] = Some((c, rty));
                    // Integer constant variables take the node's type.
                    if let ImmPat::IntVar(v) | ImmPat::FloatVar(v) = imm {
                        match s2.var[v as usize] {
                            Some(t) if t != rty => continue,
                            _ => s2.var[v as usize] = Some(rty),
                        }
                    }
                    let mut sts = vec![s2];
                    for (i, &arg) in args.iter().enumerate().take(n as usize) {
                        let cons = info.args.get(i).copied().unwrap_or(Constraint::Ctrl);
                        let cands: Vec<Type> = match cons.resolve(c) {
                            Some(t) => vec![t],
                            None => TEST_TYPES.iter().copied().filter(|&t| cons.accepts(t, c)).collect(),
                        };
                        sts = assign(rule, arg, &cands, None, sts);
                        sts.truncate(48);
                    }
                    out.extend(sts);
                }
            }
        }
    }
    out
}

/// Values of constant and condition-code variables.
#[derive(Clone, Copy, Debug)]
enum Konst {
    Int(u128),
    Float(u128),
    Cc(IntCC),
    Fcc(FloatCC),
}

struct Instance {
    text: String,
    params: Vec<Type>,
}

/// Write the function for an assignment and constant choice.
fn emit(rule: &Compiled, st: &Assign, konst: &[Option<Konst>]) -> Option<Instance> {
    let mut params: Vec<(u8, Type)> = Vec::new();
    collect_params(rule, rule.root, st, &mut params);
    let mut body = String::new();
    let mut next = params.len();
    let root = emit_node(rule, rule.root, st, konst, &params, &mut body, &mut next)?;
    let (_, rty) = st.node[rule.root as usize]?;
    let mut text = String::from("function %t(");
    for (i, (_, t)) in params.iter().enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        write!(text, "{t}").ok()?;
    }
    write!(text, ") -> {rty} {{\nblock0(").ok()?;
    for (i, (_, t)) in params.iter().enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        write!(text, "v{i}: {t}").ok()?;
    }
    text.push_str("):\n");
    text.push_str(&body);
    writeln!(text, "    return v{root}\n}}").ok()?;
    Some(Instance { text, params: params.iter().map(|p| p.1).collect() })
}

fn collect_params(rule: &Compiled, p: u16, st: &Assign, out: &mut Vec<(u8, Type)>) {
    match rule.pats[p as usize] {
        Pat::Var(s) => {
            if !out.iter().any(|(v, _)| *v == s)
                && let Some(t) = st.var[s as usize]
            {
                out.push((s, t));
            }
        }
        Pat::Node { args, n, .. } => {
            for &a in &args[..n as usize] {
                collect_params(rule, a, st, out);
            }
        }
    }
}

fn emit_node(
    rule: &Compiled,
    p: u16,
    st: &Assign,
    konst: &[Option<Konst>],
    params: &[(u8, Type)],
    body: &mut String,
    next: &mut usize,
) -> Option<usize> {
    match rule.pats[p as usize] {
        Pat::Var(s) => params.iter().position(|(v, _)| *v == s),
        Pat::Node { op, imm, args, n } => {
            let mut vals = Vec::new();
            for &a in &args[..n as usize] {
                vals.push(emit_node(rule, a, st, konst, params, body, next)?);
            }
            let (ctrl, rty) = st.node[p as usize]?;
            let r = *next;
            *next += 1;
            let suffix = if op.is_polymorphic() { format!(".{ctrl}") } else { String::new() };
            let ops: Vec<String> = vals.iter().map(|v| format!("v{v}")).collect();
            let line = match (op.format(), imm) {
                (InstructionFormat::UnaryImm, ImmPat::Int(x)) => {
                    format!("iconst{suffix} {}", x as u128 & mask(rty.bits()))
                }
                (InstructionFormat::UnaryImm, ImmPat::IntVar(v)) => match konst[v as usize]? {
                    Konst::Int(x) => format!("iconst{suffix} {}", x & mask(rty.bits())),
                    _ => return None,
                },
                (InstructionFormat::UnaryIeee32, ImmPat::Float(f)) => format!("{op} {}", Ieee32((f as f32).to_bits())),
                (InstructionFormat::UnaryIeee64, ImmPat::Float(f)) => format!("{op} {}", Ieee64(f.to_bits())),
                (InstructionFormat::UnaryIeee32, ImmPat::FloatVar(v)) => match konst[v as usize]? {
                    Konst::Float(x) => format!("{op} {}", Ieee32(x as u32)),
                    _ => return None,
                },
                (InstructionFormat::UnaryIeee64, ImmPat::FloatVar(v)) => match konst[v as usize]? {
                    Konst::Float(x) => format!("{op} {}", Ieee64(x as u64)),
                    _ => return None,
                },
                (InstructionFormat::IntCompare, ImmPat::Cc(c)) => format!("icmp{suffix} {c} {}", ops.join(", ")),
                (InstructionFormat::IntCompare, ImmPat::CcVar(v)) => match konst[v as usize]? {
                    Konst::Cc(c) => format!("icmp{suffix} {c} {}", ops.join(", ")),
                    _ => return None,
                },
                (InstructionFormat::FloatCompare, ImmPat::Fcc(c)) => format!("fcmp{suffix} {c} {}", ops.join(", ")),
                (InstructionFormat::FloatCompare, ImmPat::FccVar(v)) => match konst[v as usize]? {
                    Konst::Fcc(c) => format!("fcmp{suffix} {c} {}", ops.join(", ")),
                    _ => return None,
                },
                (_, ImmPat::None) => format!("{op}{suffix} {}", ops.join(", ")),
                _ => return None,
            };
            writeln!(body, "    v{r} = {line}").ok()?;
            Some(r)
        }
    }
}

/// Per variable: the kind of constant it needs, with its type.
fn konst_kinds(rule: &Compiled, st: &Assign) -> Vec<Option<(char, Type)>> {
    let mut out = vec![None; rule.vars.len()];
    for (i, p) in rule.pats.iter().enumerate() {
        if let Pat::Node { imm, .. } = p {
            let rty = st.node[i].map(|x| x.1).unwrap_or(types::INVALID);
            match *imm {
                ImmPat::IntVar(v) => out[v as usize] = Some(('i', rty)),
                ImmPat::FloatVar(v) => out[v as usize] = Some(('f', rty)),
                ImmPat::CcVar(v) => out[v as usize] = Some(('c', rty)),
                ImmPat::FccVar(v) => out[v as usize] = Some(('d', rty)),
                _ => {}
            }
        }
    }
    out
}

fn choose_konst(rng: &mut Rng, kinds: &[Option<(char, Type)>], attempt: usize) -> Vec<Option<Konst>> {
    kinds
        .iter()
        .enumerate()
        .map(|(k, kind)| {
            let (c, ty) = (*kind)?;
            Some(match c {
                'i' => {
                    let e = int_edges(ty.bits());
                    // The first attempts walk the edge cases (offset per variable); later ones are random.
                    if attempt < e.len() * 2 {
                        Konst::Int(e[(attempt * (k + 1) + k * 7) % e.len()])
                    } else {
                        Konst::Int(lane_value(rng, ty))
                    }
                }
                'f' => {
                    let e = float_edges(ty.bits());
                    let mut e = e;
                    e.extend(match ty.bits() {
                        32 => vec![0x4100_0000u128, 0x3c00_0000, 0x0100_0000, 0x7e80_0000],
                        _ => vec![0x4020_0000_0000_0000u128, 0x3f70_0000_0000_0000, 0x0020_0000_0000_0000],
                    });
                    if attempt < e.len() { Konst::Float(e[attempt]) } else { Konst::Float(lane_value(rng, ty)) }
                }
                'c' => Konst::Cc(IntCC::ALL[(attempt + k) % IntCC::ALL.len()]),
                _ => Konst::Fcc(FloatCC::ALL[(attempt + k) % FloatCC::ALL.len()]),
            })
        })
        .collect()
}

/// Run `a` and `b` on the same inputs; describe the first difference.
fn compare(a: &Function, b: &Function, params: &[Type], rng: &mut Rng, n: usize) -> Result<usize, String> {
    let fa = [a.clone()];
    let fb = [b.clone()];
    let cfg = InterpConfig { fuel: Some(100_000), ..InterpConfig::default() };
    let mut ia = Interpreter::new(&fa, cfg.clone());
    let mut ib = Interpreter::new(&fb, cfg);
    let mut ran = 0;
    for k in 0..n {
        let args: Vec<DataValue> = params
            .iter()
            .enumerate()
            .map(|(j, &t)| {
                if k < 64 && !t.is_vector() {
                    // Structured start: all-edge combinations.
                    let e = if t.is_float() { float_edges(t.bits()) } else { int_edges(t.bits()) };
                    DataValue::from_u128(t, e[(k * (j + 3) + j) % e.len()]).expect("scalar")
                } else {
                    random_value(rng, t)
                }
            })
            .collect();
        let ra = ia.call(0, &args);
        let rb = ib.call(0, &args);
        if let Err(InterpError::Invalid(m)) = &rb {
            return Err(format!("optimized function is invalid: {m}"));
        }
        if ra != rb {
            return Err(format!("inputs {args:?}: original {ra:?}, rewritten {rb:?}"));
        }
        ran += 1;
    }
    Ok(ran)
}

fn flags() -> Flags {
    Flags::new()
}

#[test]
fn every_rule_is_sound_and_fires() {
    let set = ruleset();
    let only: Option<String> = std::env::var("KILN_RULE").ok();
    let mut failures: Vec<String> = Vec::new();
    let mut total_inputs = 0usize;
    let mut min_inputs = (usize::MAX, String::new());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut ctx = OptContext::new();
    ctx.options.force_rewrites = true;
    ctx.options.verify = Some(true);
    for (ri, rule) in set.rules.iter().enumerate() {
        let Rule::Pattern(rule) = rule else { continue };
        let name = &set.names[ri].0;
        if only.as_ref().is_some_and(|o| o != name) {
            continue;
        }
        ctx.options.only_rule = Some(ri);
        let mut fired_any = false;
        let mut inputs = 0;
        // Instantiations where the rule fired: (text, original, optimized, parameter types).
        let mut cases: Vec<(String, Function, Function, Vec<Type>)> = Vec::new();
        for &t in rule.types.examples() {
            let init = Assign { node: vec![None; rule.pats.len()], var: vec![None; rule.vars.len()] };
            let mut states = assign(rule, rule.root, TEST_TYPES, Some(t), vec![init]);
            // Spread the tested assignments over the enumeration.
            if states.len() > 8 {
                let step = states.len() / 8;
                states = states.into_iter().step_by(step).take(8).collect();
            }
            let mut fired = 0;
            for st in &states {
                let kinds = konst_kinds(rule, st);
                let mut fired_here = 0;
                for attempt in 0..ATTEMPTS {
                    if fired_here >= FIRINGS_PER_TYPE.div_ceil(states.len()).max(1) {
                        break;
                    }
                    let konst = choose_konst(&mut rng, &kinds, attempt);
                    let Some(inst) = emit(rule, st, &konst) else { break };
                    let Ok(mut funcs) = parse_functions(&inst.text) else {
                        failures.push(format!("{name}: instantiation does not parse:\n{}", inst.text));
                        break;
                    };
                    let orig = funcs.remove(0);
                    if kiln_ir::verifier::verify_function(&orig, &kiln_ir::verifier::VerifierContext::new(&flags()))
                        .is_err()
                    {
                        break;
                    }
                    let before = ctx.stats.rule_fires.get(ri).copied().unwrap_or(0);
                    let mut opt = orig.clone();
                    if let Err(e) = optimize(&mut opt, &mut ctx, &flags(), None) {
                        failures.push(format!("{name}: optimizer error {e}\n{}", inst.text));
                        break;
                    }
                    if ctx.stats.rule_fires.get(ri).copied().unwrap_or(0) == before {
                        continue;
                    }
                    fired_here += 1;
                    fired += 1;
                    cases.push((inst.text, orig, opt, inst.params));
                }
            }
            fired_any |= fired > 0;
        }
        let per_case = INPUTS_PER_RULE.div_ceil(cases.len().max(1)).max(200);
        for (text, orig, opt, params) in &cases {
            match compare(orig, opt, params, &mut rng, per_case) {
                Ok(n) => inputs += n,
                Err(e) => {
                    let t = orig.signature.returns.first().map(|p| p.value_type.to_string()).unwrap_or_default();
                    failures.push(format!("{name} (result {t}): {e}\nbefore:\n{text}\nafter:\n{}", opt.display()));
                    break;
                }
            }
        }
        min_inputs = min_inputs.min((inputs, name.clone()));
        if !fired_any {
            failures.push(format!("{name}: never fired on any instantiation"));
        }
        total_inputs += inputs;
    }
    eprintln!("pattern rules checked on {total_inputs} inputs; fewest: {} inputs ({})", min_inputs.0, min_inputs.1);
    assert!(failures.is_empty(), "{} rule failures:\n\n{}", failures.len(), failures.join("\n\n"));
}

/// Operand type choices for `op` with controlling type `c`.
fn fold_arg_types(op: Opcode, c: Type) -> Option<Vec<Vec<Type>>> {
    let info = op.info();
    let mut out = Vec::new();
    for cons in info.args {
        out.push(match cons.resolve(c) {
            Some(t) => vec![t],
            None => TEST_TYPES.iter().copied().filter(|&t| cons.accepts(t, c)).collect(),
        });
        if out.last().is_some_and(|v| v.is_empty()) {
            return None;
        }
    }
    Some(out)
}

/// An instruction line for `op` with controlling type `c` on operands `args`, and the
/// instruction data (immediates) for folding.
fn fold_inst(op: Opcode, c: Type, args: &[String], rng: &mut Rng) -> Option<String> {
    let suffix = if op.is_polymorphic() { format!(".{c}") } else { String::new() };
    let a = args.join(", ");
    Some(match op.format() {
        InstructionFormat::Unary | InstructionFormat::Binary | InstructionFormat::Ternary => {
            format!("{op}{suffix} {a}")
        }
        InstructionFormat::IntCompare => format!("icmp{suffix} {} {a}", rng.pick(IntCC::ALL)),
        InstructionFormat::FloatCompare => format!("fcmp{suffix} {} {a}", rng.pick(FloatCC::ALL)),
        InstructionFormat::BinaryImm8 => {
            let lanes = c.lane_count().max(1) as usize;
            format!("{op}{suffix} {a}, {}", rng.below(lanes))
        }
        InstructionFormat::TernaryImm8 => {
            let lanes = c.lane_count().max(1) as usize;
            format!("{op}{suffix} {a}, {}", rng.below(lanes))
        }
        InstructionFormat::LoadNoOffset => {
            let f = ["", " little", " big"][rng.below(3)];
            format!("{op}{suffix}{f} {a}")
        }
        InstructionFormat::Shuffle => {
            let mut m = String::from("0x");
            for _ in 0..16 {
                write!(m, "{:02x}", rng.below(32)).ok()?;
            }
            format!("{op} {a}, {m}")
        }
        _ => return None,
    })
}

#[test]
fn constant_folding_matches_the_interpreter() {
    let set = ruleset();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut failures: Vec<String> = Vec::new();
    let mut checked = 0usize;
    let mut eg = EGraph::default();
    for (ri, rule) in set.rules.iter().enumerate() {
        let Rule::Fold(op) = *rule else { continue };
        let info = op.info();
        let ctrls: Vec<Type> = if op.is_polymorphic() {
            TEST_TYPES.iter().copied().filter(|&c| info.ctrl.contains(c)).collect()
        } else {
            vec![types::INVALID]
        };
        let mut fired = 0;
        for c in ctrls {
            let Some(arg_types) = fold_arg_types(op, c) else { continue };
            for variant in 0..3 {
                let tys: Vec<Type> = arg_types.iter().map(|v| v[(variant * 7 + v.len() / 2) % v.len()]).collect();
                let names: Vec<String> = (0..tys.len()).map(|i| format!("v{i}")).collect();
                let Some(line) = fold_inst(op, c, &names, &mut rng) else { continue };
                let Some(rtys) = info.results.iter().map(|r| r.resolve(c)).collect::<Option<Vec<Type>>>() else {
                    continue;
                };
                let rty = rtys[0];
                let multi = rtys.len() > 1;
                let rets = rtys.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ");
                let mut text = format!(
                    "function %f({}) -> {rets} {{\nblock0(",
                    tys.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
                );
                text.push_str(
                    &tys.iter().enumerate().map(|(i, t)| format!("v{i}: {t}")).collect::<Vec<_>>().join(", "),
                );
                let r = tys.len();
                // Results are v{r}, v{r+1}, …; constants for the pipeline variant start after them.
                let results = (0..rtys.len()).map(|k| format!("v{}", r + k)).collect::<Vec<_>>().join(", ");
                write!(text, "):\n    {results} = {line}\n    return {results}\n}}\n").ok();
                let Ok(mut fs) = parse_functions(&text) else {
                    failures.push(format!("fold {op}: does not parse:\n{text}"));
                    continue;
                };
                let f = fs.remove(0);
                if kiln_ir::verifier::verify_function(&f, &kiln_ir::verifier::VerifierContext::new(&flags())).is_err() {
                    continue;
                }
                let inst = f.layout.first_inst(f.layout.entry_block().expect("entry")).expect("inst");
                let data = f.dfg.insts[inst];
                let ctrl = f.dfg.ctrl_typevar(inst);
                let fa = [f.clone()];
                let mut interp = Interpreter::new(&fa, InterpConfig::default());
                // Multi-result operations are folded in the skeleton: only the pipeline check.
                for _ in 0..if multi { 0 } else { 120 } {
                    let args: Vec<DataValue> = tys.iter().map(|&t| random_value(&mut rng, t)).collect();
                    let expect = interp.call(0, &args);
                    // Fold through the e-graph.
                    let mut g = f.clone();
                    eg.clear(&g);
                    let mut ids = Vec::new();
                    for a in &args {
                        match eg.make_const(&mut g, a, MAX_DEPTH) {
                            Some(id) => ids.push(id),
                            None => break,
                        }
                    }
                    if ids.len() != args.len() {
                        continue;
                    }
                    let mut d = data;
                    for (slot, id) in d.arguments_mut(&mut g.dfg.value_lists).iter_mut().zip(&ids) {
                        *slot = id.as_value();
                    }
                    let n = NodeData { data: d, ctrl, rty, orig: None, srcloc: Default::default() };
                    let id = eg.insert(&mut g, n, 0);
                    let best = eg.class(id).best;
                    let got = eg.const_value(&g, best);
                    checked += 1;
                    match (&expect, got) {
                        (Ok(v), Some(k)) => {
                            fired += 1;
                            if v.len() != 1 || v[0] != k {
                                failures.push(format!("fold {op}.{c} {args:?}: interpreter {v:?}, folded {k:?}"));
                            }
                        }
                        (Ok(_), None) => {}
                        (Err(e), Some(k)) => {
                            failures.push(format!("fold {op}.{c} {args:?}: interpreter {e}, folded to {k:?}"));
                        }
                        (Err(_), None) => {}
                    }
                }
                // A few instantiations with constant operands through the whole pipeline.
                let mut ctx = OptContext::new();
                ctx.options.verify = Some(true);
                ctx.options.only_rule = Some(ri);
                for _ in 0..if multi { 100 } else { 4 } {
                    let args: Vec<DataValue> = tys.iter().map(|&t| random_value(&mut rng, t)).collect();
                    let mut body = String::new();
                    let mut next = tys.len() + rtys.len();
                    if args.iter().enumerate().any(|(i, a)| const_lines(a, i, &mut next, &mut body).is_none()) {
                        continue;
                    }
                    let text = format!(
                        "function %g() -> {rets} {{\nblock0:\n{body}    {results} = {line}\n    return {results}\n}}\n"
                    );
                    let Ok(mut fs) = parse_functions(&text) else {
                        failures.push(format!("fold {op}: does not parse:\n{text}"));
                        continue;
                    };
                    let g = fs.remove(0);
                    let mut h = g.clone();
                    let before = ctx.stats.rule_fires.get(ri).copied().unwrap_or(0);
                    if let Err(e) = optimize(&mut h, &mut ctx, &flags(), None) {
                        failures.push(format!("fold {op}: optimizer error {e}\n{text}"));
                        continue;
                    }
                    if ctx.stats.rule_fires.get(ri).copied().unwrap_or(0) > before {
                        fired += 1;
                    }
                    checked += 1;
                    if let Err(e) = compare(&g, &h, &[], &mut rng, 1) {
                        failures.push(format!("fold {op}.{c}: {e}\nbefore:\n{text}\nafter:\n{}", h.display()));
                    }
                }
            }
        }
        if fired == 0 {
            failures.push(format!("{}: never folded", set.names[ri].0));
        }
    }
    eprintln!("folding checked on {checked} inputs");
    assert!(failures.is_empty(), "{} folding failures:\n{}", failures.len(), failures.join("\n"));
}

/// CLIF lines defining value `v{r}` as the constant `d`, numbering helpers from `*next`.
fn const_lines(d: &DataValue, r: usize, next: &mut usize, out: &mut String) -> Option<()> {
    match d {
        DataValue::I8(_) | DataValue::I16(_) | DataValue::I32(_) | DataValue::I64(_) => {
            let ty = d.ty();
            let bits = match *d {
                DataValue::I8(x) => x as u8 as u128,
                DataValue::I16(x) => x as u16 as u128,
                DataValue::I32(x) => x as u32 as u128,
                DataValue::I64(x) => x as u64 as u128,
                _ => 0,
            };
            writeln!(out, "    v{r} = iconst.{ty} {bits}").ok()
        }
        DataValue::I128(x) => {
            let (lo, hi) = (*next, *next + 1);
            *next += 2;
            writeln!(out, "    v{lo} = iconst.i64 {}", *x as u128 as u64).ok()?;
            writeln!(out, "    v{hi} = iconst.i64 {}", (*x as u128 >> 64) as u64).ok()?;
            writeln!(out, "    v{r} = iconcat v{lo}, v{hi}").ok()
        }
        DataValue::F16(x) => writeln!(out, "    v{r} = f16const {}", Ieee16(x.0)).ok(),
        DataValue::F32(x) => writeln!(out, "    v{r} = f32const {}", Ieee32(x.0)).ok(),
        DataValue::F64(x) => writeln!(out, "    v{r} = f64const {}", Ieee64(x.0)).ok(),
        DataValue::F128(x) => writeln!(out, "    v{r} = f128const {}", Ieee128(x.0)).ok(),
        DataValue::Vector(ty, bytes) => {
            let mut hex = String::from("0x");
            for b in bytes.iter().rev() {
                write!(hex, "{b:02x}").ok()?;
            }
            writeln!(out, "    v{r} = vconst.{ty} {hex}").ok()
        }
    }
}

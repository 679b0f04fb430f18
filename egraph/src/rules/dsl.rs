//! Compiling rule text into matchers, guard expressions and templates.
//!
//! Input is the token text `stringify!` produced for one rule (so spacing is arbitrary:
//! `iconst.T`, `iconst . T`, `- 1` are all accepted). Output is a [`Compiled`] rule: flat
//! arenas of patterns, expressions and templates referring to each other by index, and the
//! rule's variables numbered in order of first appearance (at most [`MAX_VARS`]).
//!
//! Immediates are parsed by the opcode's instruction format: `iconst` takes an integer or a
//! variable, `f32const`/`f64const` a float or a variable, `icmp`/`fcmp` a condition code or
//! a variable first. Formats without immediates take their fixed number of value operands.

use super::builders::Builder;
use super::{RuleDef, TypeClass};
use kiln_ir::Opcode;
use kiln_ir::condcodes::{FloatCC, IntCC};
use kiln_ir::opcodes::InstructionFormat;
use kiln_ir::types::Type;

/// Most variables a rule may have.
pub(crate) const MAX_VARS: usize = 8;

/// An immediate in a pattern.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum ImmPat {
    None,
    /// An integer literal (compared modulo the node's width).
    Int(i128),
    /// Bind the integer to a variable.
    IntVar(u8),
    Cc(IntCC),
    CcVar(u8),
    Fcc(FloatCC),
    FccVar(u8),
    /// A float literal, as an `f64` value (compared after conversion to the node's type).
    Float(f64),
    FloatVar(u8),
}

/// A pattern node.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Pat {
    /// Bind (or compare with) a variable.
    Var(u8),
    /// A node with this opcode and immediate whose operands match `args[..n]`.
    Node { op: Opcode, imm: ImmPat, args: [u16; 3], n: u8 },
}

/// Functions usable in guards and computed immediates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Func {
    Add,
    Sub,
    Mul,
    Neg,
    Not,
    And,
    Or,
    Xor,
    Shl,
    Ushr,
    Sshr,
    Log2,
    Eq,
    Ne,
    Ult,
    Ule,
    Ugt,
    Uge,
    Slt,
    Sle,
    Sgt,
    Sge,
    /// A non-zero power of two (unsigned).
    Pow2,
    /// `-(2^k)` for some `k >= 1` (signed).
    NegPow2,
    /// Width in bits of a type or of a variable's type.
    Bits,
    /// Largest unsigned value of a type.
    Umax,
    /// Smallest signed value of a type.
    Smin,
    /// Largest signed value of a type.
    Smax,
    TyEq,
    /// The first type is narrower than the second.
    TyLt,
    Swap,
    Invert,
    /// The value of `x cc x` (0 or 1).
    CcRefl,
    /// `cc` is `eq`, `ne` or unsigned.
    CcUnsigned,
    /// `cc` is `eq`, `ne` or signed.
    CcSigned,
    /// The constant fits (zero-extended) in the type of the second argument.
    FitsU,
    /// The constant fits (sign-extended) in the type of the second argument.
    FitsS,
    /// `1/c` is exact and finite (c = ±2^k with a normal reciprocal).
    RecipExact,
    /// `1/c`.
    Recip,
    /// The number of bits set.
    Popcnt,
    /// The constant, sign-extended from its type, as a value of the second argument's type.
    Sext,
}

impl Func {
    fn parse(s: &str) -> Option<Func> {
        use Func::*;
        Some(match s {
            "add" => Add,
            "sub" => Sub,
            "mul" => Mul,
            "neg" => Neg,
            "not" => Not,
            "and" => And,
            "or" => Or,
            "xor" => Xor,
            "shl" => Shl,
            "ushr" => Ushr,
            "sshr" => Sshr,
            "log2" => Log2,
            "eq" => Eq,
            "ne" => Ne,
            "ult" => Ult,
            "ule" => Ule,
            "ugt" => Ugt,
            "uge" => Uge,
            "slt" => Slt,
            "sle" => Sle,
            "sgt" => Sgt,
            "sge" => Sge,
            "pow2" => Pow2,
            "neg_pow2" => NegPow2,
            "bits" => Bits,
            "umax" => Umax,
            "smin" => Smin,
            "smax" => Smax,
            "ty_eq" => TyEq,
            "ty_lt" => TyLt,
            "swap" => Swap,
            "invert" => Invert,
            "cc_refl" => CcRefl,
            "cc_unsigned" => CcUnsigned,
            "cc_signed" => CcSigned,
            "fits_u" => FitsU,
            "fits_s" => FitsS,
            "recip_exact" => RecipExact,
            "recip" => Recip,
            "popcnt" => Popcnt,
            "sext" => Sext,
            _ => return None,
        })
    }
}

/// An expression (guards and computed immediates).
#[derive(Clone, Debug)]
pub(crate) enum Expr {
    Int(i128),
    Float(f64),
    Var(u8),
    RootTy,
    Ty(Type),
    Cc(IntCC),
    Fcc(FloatCC),
    Call(Func, Vec<u16>),
}

/// The type of a template node.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum TySpec {
    /// From the context (expected type or inferring operand).
    Infer,
    /// The root's controlling type `T`.
    Root,
    Concrete(Type),
    /// The type of a variable.
    OfVar(u8),
}

/// A template node.
#[derive(Clone, Debug)]
pub(crate) enum Tpl {
    Var(u8),
    Node { op: Opcode, ty: TySpec, imm: Option<u16>, args: [u16; 3], n: u8 },
    Call { f: Builder, vars: Vec<u8> },
}

/// A compiled rule.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub root_op: Opcode,
    pub types: TypeClass,
    pub pats: Vec<Pat>,
    pub root: u16,
    pub guards: Vec<u16>,
    pub exprs: Vec<Expr>,
    pub tpls: Vec<Tpl>,
    pub tpl_root: u16,
    pub vars: Vec<String>,
    /// For each operand of the root: the opcode bits its class must contain (0: any).
    pub arg_filter: [u64; 3],
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    L,
    R,
    Dot,
    Minus,
    Ident(String),
    Int(i128),
    Float(f64),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' => {
                out.push(Tok::L);
                i += 1
            }
            b')' => {
                out.push(Tok::R);
                i += 1
            }
            b'.' => {
                out.push(Tok::Dot);
                i += 1
            }
            b'-' => {
                out.push(Tok::Minus);
                i += 1
            }
            b'0'..=b'9' => {
                let start = i;
                if c == b'0' && b.get(i + 1) == Some(&b'x') {
                    i += 2;
                    while i < b.len() && (b[i].is_ascii_hexdigit() || b[i] == b'_') {
                        i += 1;
                    }
                    let t: String = s[start + 2..i].chars().filter(|&c| c != '_').collect();
                    let v = u128::from_str_radix(&t, 16).map_err(|e| format!("bad hex {t}: {e}"))?;
                    out.push(Tok::Int(v as i128));
                    continue;
                }
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
                    i += 1;
                }
                let is_float = i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit();
                if is_float {
                    i += 1;
                    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'e' || b[i] == b'_') {
                        i += 1;
                    }
                    let t: String = s[start..i].chars().filter(|&c| c != '_').collect();
                    out.push(Tok::Float(t.parse().map_err(|e| format!("bad float {t}: {e}"))?));
                } else {
                    let t: String = s[start..i].chars().filter(|&c| c != '_').collect();
                    out.push(Tok::Int(t.parse().map_err(|e| format!("bad integer {t}: {e}"))?));
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                out.push(Tok::Ident(s[start..i].to_string()));
            }
            _ => return Err(format!("unexpected character {:?}", c as char)),
        }
    }
    Ok(out)
}

struct P<'a> {
    toks: &'a [Tok],
    pos: usize,
}

impl P<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Result<Tok, String> {
        let t = self.toks.get(self.pos).cloned().ok_or("unexpected end of rule")?;
        self.pos += 1;
        Ok(t)
    }
    fn expect(&mut self, t: Tok) -> Result<(), String> {
        let got = self.next()?;
        if got == t { Ok(()) } else { Err(format!("expected {t:?}, found {got:?}")) }
    }
    fn ident(&mut self) -> Result<String, String> {
        match self.next()? {
            Tok::Ident(s) => Ok(s),
            t => Err(format!("expected a name, found {t:?}")),
        }
    }
    fn done(&self) -> Result<(), String> {
        if self.pos == self.toks.len() { Ok(()) } else { Err(format!("trailing tokens {:?}", &self.toks[self.pos..])) }
    }
    /// A possibly negative number.
    fn number(&mut self) -> Result<Option<Tok>, String> {
        let neg = self.peek() == Some(&Tok::Minus);
        let save = self.pos;
        if neg {
            self.pos += 1;
        }
        match self.peek() {
            Some(Tok::Int(v)) => {
                let v = *v;
                self.pos += 1;
                Ok(Some(Tok::Int(if neg { v.wrapping_neg() } else { v })))
            }
            Some(Tok::Float(v)) => {
                let v = *v;
                self.pos += 1;
                Ok(Some(Tok::Float(if neg { -v } else { v })))
            }
            _ => {
                self.pos = save;
                Ok(None)
            }
        }
    }
}

struct Ctx {
    c: Compiled,
}

impl Ctx {
    fn var(&mut self, name: &str, declare: bool) -> Result<u8, String> {
        if let Some(i) = self.c.vars.iter().position(|v| v == name) {
            return Ok(i as u8);
        }
        if !declare {
            return Err(format!("unbound variable {name}"));
        }
        if self.c.vars.len() >= MAX_VARS {
            return Err("too many variables".into());
        }
        self.c.vars.push(name.to_string());
        Ok((self.c.vars.len() - 1) as u8)
    }

    fn push_pat(&mut self, p: Pat) -> u16 {
        self.c.pats.push(p);
        (self.c.pats.len() - 1) as u16
    }

    fn pattern(&mut self, p: &mut P) -> Result<u16, String> {
        match p.next()? {
            Tok::Ident(name) => {
                let v = self.var(&name, true)?;
                Ok(self.push_pat(Pat::Var(v)))
            }
            Tok::L => {
                let name = p.ident()?;
                let op = Opcode::from_name(&name).ok_or_else(|| format!("unknown opcode {name}"))?;
                let (imm, nvals) = match op.format() {
                    InstructionFormat::UnaryImm => {
                        let imm = match p.number()? {
                            Some(Tok::Int(v)) => ImmPat::Int(v),
                            Some(_) => return Err("iconst needs an integer".into()),
                            None => ImmPat::IntVar(self.var(&p.ident()?, true)?),
                        };
                        (imm, 0)
                    }
                    InstructionFormat::UnaryIeee32 | InstructionFormat::UnaryIeee64 => {
                        let imm = match p.number()? {
                            Some(Tok::Int(v)) => ImmPat::Float(v as f64),
                            Some(Tok::Float(v)) => ImmPat::Float(v),
                            _ => ImmPat::FloatVar(self.var(&p.ident()?, true)?),
                        };
                        (imm, 0)
                    }
                    InstructionFormat::IntCompare => {
                        let n = p.ident()?;
                        let imm = match IntCC::parse(&n) {
                            Some(cc) => ImmPat::Cc(cc),
                            None => ImmPat::CcVar(self.var(&n, true)?),
                        };
                        (imm, 2)
                    }
                    InstructionFormat::FloatCompare => {
                        let n = p.ident()?;
                        let imm = match FloatCC::parse(&n) {
                            Some(cc) => ImmPat::Fcc(cc),
                            None => ImmPat::FccVar(self.var(&n, true)?),
                        };
                        (imm, 2)
                    }
                    f => (ImmPat::None, value_arity(op, f)?),
                };
                let mut args = [0u16; 3];
                for a in args.iter_mut().take(nvals) {
                    *a = self.pattern(p)?;
                }
                p.expect(Tok::R)?;
                Ok(self.push_pat(Pat::Node { op, imm, args, n: nvals as u8 }))
            }
            t => Err(format!("unexpected {t:?} in a pattern")),
        }
    }

    fn push_expr(&mut self, e: Expr) -> u16 {
        self.c.exprs.push(e);
        (self.c.exprs.len() - 1) as u16
    }

    fn expr(&mut self, p: &mut P) -> Result<u16, String> {
        match p.number()? {
            Some(Tok::Int(v)) => return Ok(self.push_expr(Expr::Int(v))),
            Some(Tok::Float(v)) => return Ok(self.push_expr(Expr::Float(v))),
            Some(t) => return Err(format!("unexpected {t:?}")),
            None => {}
        }
        match p.next()? {
            Tok::Ident(name) => {
                if let Ok(v) = self.var(&name, false) {
                    return Ok(self.push_expr(Expr::Var(v)));
                }
                if name == "T" {
                    return Ok(self.push_expr(Expr::RootTy));
                }
                if let Some(cc) = IntCC::parse(&name) {
                    return Ok(self.push_expr(Expr::Cc(cc)));
                }
                if let Some(cc) = FloatCC::parse(&name) {
                    return Ok(self.push_expr(Expr::Fcc(cc)));
                }
                if let Some(t) = Type::parse(&name) {
                    return Ok(self.push_expr(Expr::Ty(t)));
                }
                Err(format!("unknown name {name} in an expression"))
            }
            Tok::L => {
                let name = p.ident()?;
                let f = Func::parse(&name).ok_or_else(|| format!("unknown function {name}"))?;
                let mut args = Vec::new();
                while p.peek() != Some(&Tok::R) {
                    args.push(self.expr(p)?);
                }
                p.expect(Tok::R)?;
                Ok(self.push_expr(Expr::Call(f, args)))
            }
            t => Err(format!("unexpected {t:?} in an expression")),
        }
    }

    fn push_tpl(&mut self, t: Tpl) -> u16 {
        self.c.tpls.push(t);
        (self.c.tpls.len() - 1) as u16
    }

    fn template(&mut self, p: &mut P) -> Result<u16, String> {
        match p.next()? {
            Tok::Ident(name) => {
                let v = self.var(&name, false)?;
                Ok(self.push_tpl(Tpl::Var(v)))
            }
            Tok::L => {
                let name = p.ident()?;
                if name == "call" {
                    let b = p.ident()?;
                    let f = Builder::parse(&b).ok_or_else(|| format!("unknown builder {b}"))?;
                    let mut vars = Vec::new();
                    while p.peek() != Some(&Tok::R) {
                        let n = p.ident()?;
                        vars.push(self.var(&n, false)?);
                    }
                    p.expect(Tok::R)?;
                    return Ok(self.push_tpl(Tpl::Call { f, vars }));
                }
                let op = Opcode::from_name(&name).ok_or_else(|| format!("unknown opcode {name}"))?;
                let mut ty = TySpec::Infer;
                if p.peek() == Some(&Tok::Dot) {
                    p.pos += 1;
                    let t = p.ident()?;
                    ty = if t == "T" {
                        TySpec::Root
                    } else if let Some(t) = Type::parse(&t) {
                        TySpec::Concrete(t)
                    } else {
                        TySpec::OfVar(self.var(&t, false)?)
                    };
                }
                let (imm, nvals) = match op.format() {
                    InstructionFormat::UnaryImm | InstructionFormat::UnaryIeee32 | InstructionFormat::UnaryIeee64 => {
                        (Some(self.expr(p)?), 0)
                    }
                    InstructionFormat::IntCompare | InstructionFormat::FloatCompare => (Some(self.expr(p)?), 2),
                    f => (None, value_arity(op, f)?),
                };
                let mut args = [0u16; 3];
                for a in args.iter_mut().take(nvals) {
                    *a = self.template(p)?;
                }
                p.expect(Tok::R)?;
                Ok(self.push_tpl(Tpl::Node { op, ty, imm, args, n: nvals as u8 }))
            }
            t => Err(format!("unexpected {t:?} in a template")),
        }
    }
}

/// Number of value operands of a format the DSL supports.
fn value_arity(op: Opcode, f: InstructionFormat) -> Result<usize, String> {
    match f {
        InstructionFormat::Unary => Ok(1),
        InstructionFormat::Binary => Ok(2),
        InstructionFormat::Ternary => Ok(3),
        InstructionFormat::LoadNoOffset if op == Opcode::Bitcast => Ok(1),
        _ => Err(format!("{op}: instruction format {f:?} is not supported in rules")),
    }
}

/// Compile one rule.
pub(crate) fn compile(def: &RuleDef) -> Result<Compiled, String> {
    let mut cx = Ctx {
        c: Compiled {
            root_op: Opcode::Nop,
            types: def.types,
            pats: Vec::new(),
            root: 0,
            guards: Vec::new(),
            exprs: Vec::new(),
            tpls: Vec::new(),
            tpl_root: 0,
            vars: Vec::new(),
            arg_filter: [0; 3],
        },
    };
    let toks = tokenize(def.lhs)?;
    let mut p = P { toks: &toks, pos: 0 };
    let root = cx.pattern(&mut p)?;
    p.done()?;
    match cx.c.pats[root as usize] {
        Pat::Node { op, args, n, .. } => {
            cx.c.root_op = op;
            for (i, &a) in args.iter().enumerate().take(n as usize) {
                if let Pat::Node { op, .. } = cx.c.pats[a as usize] {
                    cx.c.arg_filter[i] = crate::egraph::op_bit(op);
                }
            }
        }
        Pat::Var(_) => return Err("the pattern must start with an opcode".into()),
    }
    cx.c.root = root;
    for g in def.guards {
        let toks = tokenize(g)?;
        let mut p = P { toks: &toks, pos: 0 };
        let e = cx.expr(&mut p)?;
        p.done()?;
        cx.c.guards.push(e);
    }
    let toks = tokenize(def.rhs)?;
    let mut p = P { toks: &toks, pos: 0 };
    let t = cx.template(&mut p)?;
    p.done()?;
    cx.c.tpl_root = t;
    Ok(cx.c)
}

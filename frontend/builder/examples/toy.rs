//! `toy`: a small language compiled to native code by Kiln, end to end.
//!
//! ```text
//! cargo run --release -p kiln-frontend --example toy -- frontend/builder/examples/toy/fib.toy
//! cargo run --release -p kiln-frontend --example toy -- --emit-obj fib.o frontend/builder/examples/toy/fib.toy
//! cc fib.o -o fib && ./fib
//! ```
//!
//! The language: 64-bit integers, functions (recursion welcome), `var`, assignment, `if` /
//! `else`, `while`, `break`, `continue`, `return`, global arrays (`array a[100];`,
//! zero-initialized, bounds-checked), `print(...)` of numbers and string literals (written one
//! after the other, then a newline), and
//! `extern fn` declarations of C functions taking and returning `long` (`labs`, `putchar`,
//! … resolved by name in the host process). Operators: `+ - * / % & | ^ << >>`,
//! comparisons, `&& || !` (short-circuit), unary `-`.
//!
//! Each function is parsed to an AST, translated to Kiln IR through the `FunctionBuilder`
//! (every source variable is a builder `Variable`: SSA form is built on the fly; each
//! statement's line is its instructions' source location), compiled by the x86-64 backend
//! and linked by the `JitModule` together with the arrays (writable data objects), the
//! string literals (read-only data objects) and the host functions. `main` runs under
//! `call_guarded`, so a division by zero or an out-of-bounds index is reported as a trap
//! instead of crashing. `--clif` prints the IR of every function.
//!
//! Ahead of time: `toy --emit-obj OUT.o FILE.toy` writes the same functions, with a small
//! runtime written in Kiln IR (printing through libc's `putchar`, a trap handler, the C
//! `main`) and DWARF line tables pointing into the `.toy` file, to a position-independent
//! object file; `cc OUT.o -o prog` links it with libc into a program that prints what the
//! JIT prints.

use kiln_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use kiln_ir::condcodes::IntCC;
use kiln_ir::extname::UserFuncName;
use kiln_ir::function::SourceLoc;
use kiln_ir::memflags::MemFlags;
use kiln_ir::signature::{AbiParam, CallConv, Signature};
use kiln_ir::trapcode::TrapCode;
use kiln_ir::types::{I32, I64};
use kiln_ir::{Block, FuncRef, Function, GlobalValue, InstBuilder, Value};
use kiln_module::{DataDescription, DataId, DebugSource, FuncId, JitModule, Linkage, Module, ObjectModule};
use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// Lexer

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(i64),
    Ident(String),
    Str(String),
    Punct(&'static str),
    Eof,
}

#[derive(Debug)]
struct Error {
    line: u32,
    msg: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.msg)
    }
}

fn err<T>(line: u32, msg: impl Into<String>) -> Result<T, Error> {
    Err(Error { line, msg: msg.into() })
}

const PUNCTS: &[&str] = &[
    "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "+", "-", "*", "/", "%", "&", "|", "^", "<", ">", "=", "!", "(",
    ")", "{", "}", "[", "]", ",", ";", ":",
];

fn lex(src: &str) -> Result<Vec<(Tok, u32)>, Error> {
    let mut out = Vec::new();
    let b = src.as_bytes();
    let (mut i, mut line) = (0, 1u32);
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line += 1;
            i += 1;
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'#' || (c == b'/' && b.get(i + 1) == Some(&b'/')) {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c.is_ascii_digit() {
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let text: String = src[s..i].chars().filter(|&c| c != '_').collect();
            let n = match text.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).map(|n| n as i64).ok(),
                None => text.parse::<i64>().ok(),
            };
            match n {
                Some(n) => out.push((Tok::Num(n), line)),
                None => return err(line, format!("bad number {}", &src[s..i])),
            }
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push((Tok::Ident(src[s..i].to_string()), line));
        } else if c == b'"' {
            let mut s = String::new();
            i += 1;
            loop {
                match b.get(i) {
                    None | Some(b'\n') => return err(line, "unterminated string"),
                    Some(b'"') => break,
                    Some(b'\\') => {
                        s.push(match b.get(i + 1) {
                            Some(b'n') => '\n',
                            Some(b't') => '\t',
                            Some(b'"') => '"',
                            Some(b'\\') => '\\',
                            _ => return err(line, "bad escape"),
                        });
                        i += 2;
                    }
                    Some(_) => {
                        let ch = src[i..].chars().next().unwrap_or(' ');
                        s.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            i += 1;
            out.push((Tok::Str(s), line));
        } else {
            match PUNCTS.iter().find(|p| src[i..].starts_with(**p)) {
                Some(p) => {
                    out.push((Tok::Punct(p), line));
                    i += p.len();
                }
                None => return err(line, format!("unexpected character {:?}", src[i..].chars().next().unwrap_or(' '))),
            }
        }
    }
    out.push((Tok::Eof, line));
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// AST and parser

#[derive(Debug)]
enum Expr {
    Num(i64),
    Var(String, u32),
    Index(String, Box<Expr>, u32),
    Call(String, Vec<Expr>, u32),
    Unary(&'static str, Box<Expr>),
    Binary(&'static str, Box<Expr>, Box<Expr>),
}

#[derive(Debug)]
enum PrintArg {
    Str(String),
    Expr(Expr),
}

/// A statement and the line it starts on (its instructions' source location).
#[derive(Debug)]
struct Stmt {
    line: u32,
    kind: StmtKind,
}

#[derive(Debug)]
enum StmtKind {
    Var(String, Expr),
    Assign(String, Expr, u32),
    Store(String, Expr, Expr, u32),
    If(Expr, Vec<Stmt>, Vec<Stmt>),
    While(Expr, Vec<Stmt>),
    Break(u32),
    Continue(u32),
    Return(Option<Expr>),
    Print(Vec<PrintArg>),
    Expr(Expr),
}

struct FnDef {
    name: String,
    params: Vec<String>,
    body: Vec<Stmt>,
    line: u32,
}

#[derive(Default)]
struct Program {
    funcs: Vec<FnDef>,
    externs: Vec<(String, usize, u32)>,
    arrays: Vec<(String, u32, u32)>,
}

struct Parser {
    toks: Vec<(Tok, u32)>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].0
    }
    fn line(&self) -> u32 {
        self.toks[self.pos].1
    }
    fn next(&mut self) -> Tok {
        let t = self.toks[self.pos].0.clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }
    fn is(&self, p: &str) -> bool {
        matches!(self.peek(), Tok::Punct(q) if *q == p) || matches!(self.peek(), Tok::Ident(k) if k == p)
    }
    fn eat(&mut self, p: &str) -> bool {
        if self.is(p) {
            self.next();
            true
        } else {
            false
        }
    }
    fn expect(&mut self, p: &str) -> Result<(), Error> {
        if self.eat(p) { Ok(()) } else { err(self.line(), format!("expected `{p}`, found {:?}", self.peek())) }
    }
    fn ident(&mut self) -> Result<String, Error> {
        match self.next() {
            Tok::Ident(s) => Ok(s),
            t => err(self.line(), format!("expected a name, found {t:?}")),
        }
    }

    fn program(&mut self) -> Result<Program, Error> {
        let mut p = Program::default();
        while *self.peek() != Tok::Eof {
            let line = self.line();
            if self.eat("fn") {
                let name = self.ident()?;
                let params = self.params()?;
                let body = self.block()?;
                p.funcs.push(FnDef { name, params, body, line });
            } else if self.eat("extern") {
                self.expect("fn")?;
                let name = self.ident()?;
                let params = self.params()?;
                self.expect(";")?;
                p.externs.push((name, params.len(), line));
            } else if self.eat("array") {
                let name = self.ident()?;
                self.expect("[")?;
                let n = match self.next() {
                    Tok::Num(n) if (1..=1 << 26).contains(&n) => n as u32,
                    _ => return err(line, "array size must be a number from 1 to 2^26"),
                };
                self.expect("]")?;
                self.expect(";")?;
                p.arrays.push((name, n, line));
            } else {
                return err(line, format!("expected `fn`, `extern` or `array`, found {:?}", self.peek()));
            }
        }
        Ok(p)
    }

    fn params(&mut self) -> Result<Vec<String>, Error> {
        self.expect("(")?;
        let mut v = Vec::new();
        if !self.eat(")") {
            loop {
                v.push(self.ident()?);
                if self.eat(")") {
                    break;
                }
                self.expect(",")?;
            }
        }
        Ok(v)
    }

    fn block(&mut self) -> Result<Vec<Stmt>, Error> {
        self.expect("{")?;
        let mut v = Vec::new();
        while !self.eat("}") {
            if *self.peek() == Tok::Eof {
                return err(self.line(), "unexpected end of file");
            }
            v.push(self.stmt()?);
        }
        Ok(v)
    }

    fn stmt(&mut self) -> Result<Stmt, Error> {
        let line = self.line();
        Ok(Stmt { line, kind: self.stmt_kind(line)? })
    }

    fn stmt_kind(&mut self, line: u32) -> Result<StmtKind, Error> {
        if self.eat("var") {
            let name = self.ident()?;
            self.expect("=")?;
            let e = self.expr()?;
            self.expect(";")?;
            return Ok(StmtKind::Var(name, e));
        }
        if self.eat("if") {
            return Ok(self.if_rest()?.kind);
        }
        if self.eat("while") {
            let c = self.expr()?;
            let body = self.block()?;
            return Ok(StmtKind::While(c, body));
        }
        if self.eat("break") {
            self.expect(";")?;
            return Ok(StmtKind::Break(line));
        }
        if self.eat("continue") {
            self.expect(";")?;
            return Ok(StmtKind::Continue(line));
        }
        if self.eat("return") {
            let e = if self.is(";") { None } else { Some(self.expr()?) };
            self.expect(";")?;
            return Ok(StmtKind::Return(e));
        }
        if self.eat("print") {
            self.expect("(")?;
            let mut args = Vec::new();
            if !self.eat(")") {
                loop {
                    if let Tok::Str(s) = self.peek().clone() {
                        self.next();
                        args.push(PrintArg::Str(s));
                    } else {
                        args.push(PrintArg::Expr(self.expr()?));
                    }
                    if self.eat(")") {
                        break;
                    }
                    self.expect(",")?;
                }
            }
            self.expect(";")?;
            return Ok(StmtKind::Print(args));
        }
        // Assignment or expression statement.
        if let (Tok::Ident(name), Some((Tok::Punct(p), _))) = (self.peek().clone(), self.toks.get(self.pos + 1)) {
            if *p == "=" {
                self.next();
                self.next();
                let e = self.expr()?;
                self.expect(";")?;
                return Ok(StmtKind::Assign(name, e, line));
            }
            if *p == "[" {
                let save = self.pos;
                self.next();
                self.next();
                let idx = self.expr()?;
                self.expect("]")?;
                if self.eat("=") {
                    let e = self.expr()?;
                    self.expect(";")?;
                    return Ok(StmtKind::Store(name, idx, e, line));
                }
                self.pos = save;
            }
        }
        let e = self.expr()?;
        self.expect(";")?;
        Ok(StmtKind::Expr(e))
    }

    fn if_rest(&mut self) -> Result<Stmt, Error> {
        let line = self.line();
        let c = self.expr()?;
        let then = self.block()?;
        let els = if self.eat("else") {
            if self.eat("if") { vec![self.if_rest()?] } else { self.block()? }
        } else {
            Vec::new()
        };
        Ok(Stmt { line, kind: StmtKind::If(c, then, els) })
    }

    fn expr(&mut self) -> Result<Expr, Error> {
        self.binary(0)
    }

    fn binary(&mut self, min_prec: u8) -> Result<Expr, Error> {
        const LEVELS: &[&[&str]] = &[
            &["||"],
            &["&&"],
            &["|"],
            &["^"],
            &["&"],
            &["==", "!="],
            &["<", "<=", ">", ">="],
            &["<<", ">>"],
            &["+", "-"],
            &["*", "/", "%"],
        ];
        let mut lhs = self.unary()?;
        loop {
            let Tok::Punct(p) = *self.peek() else { break };
            let Some(prec) = LEVELS.iter().position(|l| l.contains(&p)) else { break };
            let prec = prec as u8;
            if prec < min_prec {
                break;
            }
            self.next();
            let rhs = self.binary(prec + 1)?;
            lhs = Expr::Binary(p, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, Error> {
        if self.eat("-") {
            return Ok(Expr::Unary("-", Box::new(self.unary()?)));
        }
        if self.eat("!") {
            return Ok(Expr::Unary("!", Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, Error> {
        let line = self.line();
        match self.next() {
            Tok::Num(n) => Ok(Expr::Num(n)),
            Tok::Punct("(") => {
                let e = self.expr()?;
                self.expect(")")?;
                Ok(e)
            }
            Tok::Ident(name) => {
                if self.eat("(") {
                    let mut args = Vec::new();
                    if !self.eat(")") {
                        loop {
                            args.push(self.expr()?);
                            if self.eat(")") {
                                break;
                            }
                            self.expect(",")?;
                        }
                    }
                    Ok(Expr::Call(name, args, line))
                } else if self.eat("[") {
                    let i = self.expr()?;
                    self.expect("]")?;
                    Ok(Expr::Index(name, Box::new(i), line))
                } else {
                    Ok(Expr::Var(name, line))
                }
            }
            t => err(line, format!("expected an expression, found {t:?}")),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Translation to Kiln IR

/// What a function body can refer to besides its variables.
struct Globals {
    /// name → (function id, number of parameters)
    funcs: HashMap<String, (FuncId, usize)>,
    arrays: HashMap<String, (DataId, u32)>,
    strings: Vec<(String, DataId)>,
    print_int: FuncId,
    print_str: FuncId,
    print_nl: FuncId,
}

struct Translator<'a, 'b> {
    b: FunctionBuilder<'b>,
    module: &'a dyn Module,
    globals: &'a Globals,
    scopes: Vec<HashMap<String, Variable>>,
    /// (continue target, break target) of the enclosing loops.
    loops: Vec<(Block, Block)>,
    func_refs: HashMap<FuncId, FuncRef>,
    data_refs: HashMap<DataId, GlobalValue>,
}

impl Translator<'_, '_> {
    fn func_ref(&mut self, id: FuncId) -> Result<FuncRef, Error> {
        if let Some(&r) = self.func_refs.get(&id) {
            return Ok(r);
        }
        let r = self.module.declare_func_in_func(id, self.b.func).map_err(|e| Error { line: 0, msg: e.to_string() })?;
        self.func_refs.insert(id, r);
        Ok(r)
    }

    fn data_addr(&mut self, id: DataId) -> Result<Value, Error> {
        let gv = match self.data_refs.get(&id) {
            Some(&g) => g,
            None => {
                let g = self
                    .module
                    .declare_data_in_func(id, self.b.func)
                    .map_err(|e| Error { line: 0, msg: e.to_string() })?;
                self.data_refs.insert(id, g);
                g
            }
        };
        Ok(self.b.ins().symbol_value(I64, gv))
    }

    fn lookup(&self, name: &str) -> Option<Variable> {
        self.scopes.iter().rev().find_map(|s| s.get(name).copied())
    }

    fn bool_to_int(&mut self, c: Value) -> Value {
        self.b.ins().uextend(I64, c)
    }

    fn expr(&mut self, e: &Expr) -> Result<Value, Error> {
        Ok(match e {
            Expr::Num(n) => self.b.ins().iconst(I64, *n),
            Expr::Var(name, line) => match self.lookup(name) {
                Some(v) => self.b.use_var(v),
                None => return err(*line, format!("unknown variable `{name}`")),
            },
            Expr::Index(name, idx, line) => {
                let addr = self.element(name, idx, *line)?;
                self.b.ins().load(I64, MemFlags::trusted(), addr, 0)
            }
            Expr::Call(name, args, line) => {
                let Some(&(id, n)) = self.globals.funcs.get(name) else {
                    return err(*line, format!("unknown function `{name}`"));
                };
                if n != args.len() {
                    return err(*line, format!("`{name}` takes {n} arguments, {} given", args.len()));
                }
                let vals = args.iter().map(|a| self.expr(a)).collect::<Result<Vec<_>, _>>()?;
                let f = self.func_ref(id)?;
                let call = self.b.ins().call(f, &vals);
                self.b.inst_results(call)[0]
            }
            Expr::Unary(op, x) => {
                let v = self.expr(x)?;
                if *op == "-" {
                    self.b.ins().ineg(v)
                } else {
                    let z = self.b.ins().iconst(I64, 0);
                    let c = self.b.ins().icmp(IntCC::Equal, v, z);
                    self.bool_to_int(c)
                }
            }
            Expr::Binary(op @ ("&&" | "||"), l, r) => {
                // Short-circuit through a variable: SSA construction makes the join's
                // block parameter.
                let result = self.b.declare_var(I64);
                let lv = self.expr(l)?;
                let z = self.b.ins().iconst(I64, 0);
                let lb = self.b.ins().icmp(IntCC::NotEqual, lv, z);
                let lb = self.bool_to_int(lb);
                self.b.def_var(result, lb);
                let (rhs, join) = (self.b.create_block(), self.b.create_block());
                if *op == "&&" {
                    self.b.ins().brif(lb, rhs, &[], join, &[]);
                } else {
                    self.b.ins().brif(lb, join, &[], rhs, &[]);
                }
                self.b.switch_to_block(rhs);
                self.b.seal_block(rhs);
                let rv = self.expr(r)?;
                let z = self.b.ins().iconst(I64, 0);
                let rb = self.b.ins().icmp(IntCC::NotEqual, rv, z);
                let rb = self.bool_to_int(rb);
                self.b.def_var(result, rb);
                self.b.ins().jump(join, &[]);
                self.b.switch_to_block(join);
                self.b.seal_block(join);
                self.b.use_var(result)
            }
            Expr::Binary(op, l, r) => {
                let (a, c) = (self.expr(l)?, self.expr(r)?);
                let cmp = |cc| Some(cc);
                let cc = match *op {
                    "==" => cmp(IntCC::Equal),
                    "!=" => cmp(IntCC::NotEqual),
                    "<" => cmp(IntCC::SignedLessThan),
                    "<=" => cmp(IntCC::SignedLessThanOrEqual),
                    ">" => cmp(IntCC::SignedGreaterThan),
                    ">=" => cmp(IntCC::SignedGreaterThanOrEqual),
                    _ => None,
                };
                if let Some(cc) = cc {
                    let v = self.b.ins().icmp(cc, a, c);
                    return Ok(self.bool_to_int(v));
                }
                let ins = self.b.ins();
                match *op {
                    "+" => ins.iadd(a, c),
                    "-" => ins.isub(a, c),
                    "*" => ins.imul(a, c),
                    "/" => ins.sdiv(a, c),
                    "%" => ins.srem(a, c),
                    "&" => ins.band(a, c),
                    "|" => ins.bor(a, c),
                    "^" => ins.bxor(a, c),
                    "<<" => ins.ishl(a, c),
                    _ => ins.sshr(a, c),
                }
            }
        })
    }

    /// The address of `name[idx]`, trapping when out of bounds.
    fn element(&mut self, name: &str, idx: &Expr, line: u32) -> Result<Value, Error> {
        let Some(&(id, len)) = self.globals.arrays.get(name) else {
            return err(line, format!("unknown array `{name}`"));
        };
        let i = self.expr(idx)?;
        let n = self.b.ins().iconst(I64, len as i64);
        let out = self.b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, i, n);
        self.b.ins().trapnz(out, TrapCode::HEAP_OUT_OF_BOUNDS);
        let base = self.data_addr(id)?;
        let eight = self.b.ins().iconst(I64, 8);
        let off = self.b.ins().imul(i, eight);
        Ok(self.b.ins().iadd(base, off))
    }

    /// Start a fresh block after a terminator, so that code after `return`/`break` in the
    /// source still has a (unreachable) place to go.
    fn fresh_block(&mut self) {
        let blk = self.b.create_block();
        self.b.switch_to_block(blk);
        self.b.seal_block(blk);
    }

    fn stmts(&mut self, stmts: &[Stmt]) -> Result<(), Error> {
        self.scopes.push(HashMap::new());
        for s in stmts {
            self.stmt(s)?;
        }
        self.scopes.pop();
        Ok(())
    }

    fn stmt(&mut self, s: &Stmt) -> Result<(), Error> {
        self.b.set_srcloc(SourceLoc(s.line));
        match &s.kind {
            StmtKind::Var(name, e) => {
                let v = self.expr(e)?;
                let var = self.b.declare_var(I64);
                self.b.def_var(var, v);
                self.scopes.last_mut().expect("a scope").insert(name.clone(), var);
            }
            StmtKind::Assign(name, e, line) => {
                let v = self.expr(e)?;
                match self.lookup(name) {
                    Some(var) => self.b.def_var(var, v),
                    None => return err(*line, format!("unknown variable `{name}` (declare it with `var`)")),
                }
            }
            StmtKind::Store(name, idx, e, line) => {
                let v = self.expr(e)?;
                let addr = self.element(name, idx, *line)?;
                self.b.ins().store(MemFlags::trusted(), v, addr, 0);
            }
            StmtKind::If(c, then, els) => {
                let cv = self.expr(c)?;
                let (tb, eb, join) = (self.b.create_block(), self.b.create_block(), self.b.create_block());
                self.b.ins().brif(cv, tb, &[], eb, &[]);
                self.b.switch_to_block(tb);
                self.b.seal_block(tb);
                self.stmts(then)?;
                self.b.ins().jump(join, &[]);
                self.b.switch_to_block(eb);
                self.b.seal_block(eb);
                self.stmts(els)?;
                self.b.ins().jump(join, &[]);
                self.b.switch_to_block(join);
                self.b.seal_block(join);
            }
            StmtKind::While(c, body) => {
                let (header, bodyb, exit) = (self.b.create_block(), self.b.create_block(), self.b.create_block());
                self.b.ins().jump(header, &[]);
                self.b.switch_to_block(header);
                let cv = self.expr(c)?;
                self.b.ins().brif(cv, bodyb, &[], exit, &[]);
                self.b.switch_to_block(bodyb);
                self.b.seal_block(bodyb);
                self.loops.push((header, exit));
                self.stmts(body)?;
                self.loops.pop();
                self.b.ins().jump(header, &[]);
                // Every edge into the header and the exit is known now.
                self.b.seal_block(header);
                self.b.switch_to_block(exit);
                self.b.seal_block(exit);
            }
            StmtKind::Break(line) | StmtKind::Continue(line) => {
                let Some(&(header, exit)) = self.loops.last() else {
                    return err(*line, "`break` or `continue` outside a loop");
                };
                let target = if matches!(s.kind, StmtKind::Break(_)) { exit } else { header };
                self.b.ins().jump(target, &[]);
                self.fresh_block();
            }
            StmtKind::Return(e) => {
                let v = match e {
                    Some(e) => self.expr(e)?,
                    None => self.b.ins().iconst(I64, 0),
                };
                self.b.ins().return_(&[v]);
                self.fresh_block();
            }
            StmtKind::Print(args) => {
                for a in args {
                    match a {
                        PrintArg::Str(s) => self.print_str(s)?,
                        PrintArg::Expr(e) => {
                            let v = self.expr(e)?;
                            let f = self.func_ref(self.globals.print_int)?;
                            self.b.ins().call(f, &[v]);
                        }
                    }
                }
                let f = self.func_ref(self.globals.print_nl)?;
                self.b.ins().call(f, &[]);
            }
            StmtKind::Expr(e) => {
                self.expr(e)?;
            }
        }
        Ok(())
    }

    fn print_str(&mut self, s: &str) -> Result<(), Error> {
        let Some(&(_, id)) = self.globals.strings.iter().find(|(t, _)| t == s) else {
            return err(0, "internal: string literal not collected");
        };
        let p = self.data_addr(id)?;
        let n = self.b.ins().iconst(I64, s.len() as i64);
        let f = self.func_ref(self.globals.print_str)?;
        self.b.ins().call(f, &[p, n]);
        Ok(())
    }
}

fn collect_strings(stmts: &[Stmt], out: &mut Vec<String>) {
    for s in stmts {
        match &s.kind {
            StmtKind::Print(args) => {
                for a in args {
                    if let PrintArg::Str(t) = a {
                        out.push(t.clone());
                    }
                }
            }
            StmtKind::If(_, a, b) => {
                collect_strings(a, out);
                collect_strings(b, out);
            }
            StmtKind::While(_, a) => collect_strings(a, out),
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------
// Host functions (the JIT's runtime): they print through libc's stdio, as the object-file
// runtime and `extern fn putchar` do, so that all output goes through one buffer.

fn put_bytes(bytes: &[u8]) {
    for &b in bytes {
        // SAFETY: putchar has no preconditions.
        unsafe {
            libc::putchar(b as i32);
        }
    }
}

extern "C" fn toy_print_int(x: i64) {
    put_bytes(x.to_string().as_bytes());
}

extern "C" fn toy_print_str(p: *const u8, n: i64) {
    // SAFETY: the compiled code passes a string literal of the module and its length.
    put_bytes(unsafe { std::slice::from_raw_parts(p, n as usize) });
}

extern "C" fn toy_print_nl() {
    put_bytes(b"\n");
}

fn sig(params: usize, returns: usize) -> Signature {
    let mut s = Signature::new(CallConv::SystemV);
    s.params.extend((0..params).map(|_| AbiParam::new(I64)));
    s.returns.extend((0..returns).map(|_| AbiParam::new(I64)));
    s
}

/// What building a program gives, for the summary line.
struct Stats {
    main: FuncId,
    functions: usize,
    ir_insts: usize,
    t_build: Duration,
    t_compile: Duration,
}

/// Declare, translate and compile the program's functions and data into `module`. The
/// runtime (`toy_print_*`) is declared with `runtime` linkage: imported from the host by
/// the JIT, defined in the object file.
fn build<M: Module>(src: &str, print_clif: bool, module: &mut M, runtime: Linkage) -> Result<(Stats, Globals), String> {
    let t0 = Instant::now();
    let toks = lex(src).map_err(|e| e.to_string())?;
    let prog = Parser { toks, pos: 0 }.program().map_err(|e| e.to_string())?;
    let me = |e: kiln_module::ModuleError| e.to_string();
    let mut globals = Globals {
        funcs: HashMap::new(),
        arrays: HashMap::new(),
        strings: Vec::new(),
        print_int: module.declare_function("toy_print_int", runtime, &sig(1, 0)).map_err(me)?,
        print_str: module.declare_function("toy_print_str", runtime, &sig(2, 0)).map_err(me)?,
        print_nl: module.declare_function("toy_print_nl", runtime, &sig(0, 0)).map_err(me)?,
    };
    for (name, n, line) in &prog.externs {
        let id = module
            .declare_function(name.as_str(), Linkage::Import, &sig(*n, 1))
            .map_err(|e| format!("line {line}: {e}"))?;
        globals.funcs.insert(name.clone(), (id, *n));
    }
    for f in &prog.funcs {
        if globals.funcs.contains_key(&f.name) {
            return Err(format!("line {}: `{}` is defined twice", f.line, f.name));
        }
        let id = module
            .declare_function(format!("toy_{}", f.name), Linkage::Local, &sig(f.params.len(), 1))
            .map_err(|e| format!("line {}: {e}", f.line))?;
        globals.funcs.insert(f.name.clone(), (id, f.params.len()));
    }
    let Some(&(main, 0)) = globals.funcs.get("main") else {
        return Err("the program needs a `fn main()` without parameters".into());
    };
    for (name, n, line) in &prog.arrays {
        let id = module
            .declare_data(format!("toy_array_{name}"), Linkage::Local, true)
            .map_err(|e| format!("line {line}: {e}"))?;
        let mut d = DataDescription::new();
        d.define_zeroinit(*n as usize * 8);
        d.set_align(8);
        module.define_data(id, &d).map_err(me)?;
        globals.arrays.insert(name.clone(), (id, *n));
    }
    let mut strings = Vec::new();
    for f in &prog.funcs {
        collect_strings(&f.body, &mut strings);
    }
    strings.sort();
    strings.dedup();
    for (k, s) in strings.into_iter().enumerate() {
        let id = module.declare_data(format!("toy_str_{k}"), Linkage::Local, false).map_err(me)?;
        let mut d = DataDescription::new();
        d.define(s.as_bytes().to_vec().into_boxed_slice());
        d.set_align(1);
        module.define_data(id, &d).map_err(me)?;
        globals.strings.push((s, id));
    }

    // Build every function's IR, then compile them all.
    let mut ctx = FunctionBuilderContext::new();
    let mut defs = Vec::with_capacity(prog.funcs.len());
    let mut ir_insts = 0;
    for f in &prog.funcs {
        let (id, n) = globals.funcs[&f.name];
        let mut func = Function::with_name_signature(UserFuncName::testcase(format!("toy_{}", f.name)), sig(n, 1));
        {
            let b = FunctionBuilder::new(&mut func, &mut ctx);
            let mut tr = Translator {
                b,
                module: &*module,
                globals: &globals,
                scopes: vec![HashMap::new()],
                loops: Vec::new(),
                func_refs: HashMap::new(),
                data_refs: HashMap::new(),
            };
            tr.b.set_srcloc(SourceLoc(f.line));
            let entry = tr.b.create_block();
            tr.b.append_block_params_for_function_params(entry);
            tr.b.switch_to_block(entry);
            tr.b.seal_block(entry);
            for (k, p) in f.params.iter().enumerate() {
                let var = tr.b.declare_var(I64);
                let v = tr.b.block_params(entry)[k];
                tr.b.def_var(var, v);
                tr.scopes[0].insert(p.clone(), var);
            }
            tr.stmts(&f.body).map_err(|e| format!("in `{}`: {e}", f.name))?;
            // Falling off the end returns 0.
            let z = tr.b.ins().iconst(I64, 0);
            tr.b.ins().return_(&[z]);
            tr.b.finalize().map_err(|e| format!("in `{}`: internal builder error: {e}", f.name))?;
        }
        ir_insts += func.num_insts_in_layout();
        if print_clif {
            println!("{}", func.display());
        }
        defs.push((id, func));
    }
    let t_build = t0.elapsed();
    // Compile all functions at once, on all cores.
    let t = Instant::now();
    module.define_functions(defs).map_err(me)?;
    let t_compile = t.elapsed();
    let stats = Stats { main, functions: prog.funcs.len(), ir_insts, t_build, t_compile };
    Ok((stats, globals))
}

/// Build one function of `sig` with `body`, which gets the builder and the entry block's
/// parameters and ends every block it makes.
fn define_with<M: Module>(
    module: &mut M,
    id: FuncId,
    name: &str,
    sig: Signature,
    ctx: &mut FunctionBuilderContext,
    body: impl FnOnce(&mut FunctionBuilder, &M, &[Value]),
) -> Result<(), String> {
    let mut func = Function::with_name_signature(UserFuncName::testcase(name), sig);
    {
        let mut b = FunctionBuilder::new(&mut func, ctx);
        let e = b.create_block();
        b.append_block_params_for_function_params(e);
        b.switch_to_block(e);
        b.seal_block(e);
        let params = b.block_params(e).to_vec();
        body(&mut b, module, &params);
        b.seal_all_blocks();
        b.finalize().map_err(|e| format!("{name}: {e}"))?;
    }
    module.define_function(id, func).map_err(|e| e.to_string())
}

/// A `FuncRef` for `id` in the function being built.
fn fref<M: Module>(b: &mut FunctionBuilder, m: &M, id: FuncId) -> FuncRef {
    m.declare_func_in_func(id, b.func).expect("declared in this module")
}

/// Run the program in the JIT; returns the process exit status.
fn run_jit(src: &str, print_clif: bool) -> Result<i32, String> {
    let isa = kiln_isa::native(Default::default()).map_err(|e| format!("no native backend: {e:?}"))?;
    let mut module = JitModule::new(isa);
    module.add_symbol_lookup(Box::new(|name| match name {
        "toy_print_int" => Some(toy_print_int as *const u8),
        "toy_print_str" => Some(toy_print_str as *const u8),
        "toy_print_nl" => Some(toy_print_nl as *const u8),
        _ => None,
    }));
    let me = |e: kiln_module::ModuleError| e.to_string();
    let (stats, _) = build(src, print_clif, &mut module, Linkage::Import)?;
    // The entry wrapper: `__toy_entry(out, _)` stores main's result to `*out`; it has the
    // two-argument shape `call_guarded` calls.
    let t = Instant::now();
    let entry = module.declare_function("__toy_entry", Linkage::Local, &sig(2, 0)).map_err(me)?;
    let mut ctx = FunctionBuilderContext::new();
    define_with(&mut module, entry, "__toy_entry", sig(2, 0), &mut ctx, |b, m, p| {
        let main = fref(b, m, stats.main);
        let call = b.ins().call(main, &[]);
        let r = b.inst_results(call)[0];
        b.ins().store(MemFlags::trusted(), r, p[0], 0);
        b.ins().return_(&[]);
    })?;
    let t_compile = stats.t_compile + t.elapsed();
    let t = Instant::now();
    module.finalize_definitions().map_err(me)?;
    let t_link = t.elapsed();
    let code_bytes: usize =
        (0..module.declarations().num_functions() as u32).filter_map(|i| module.function_size(FuncId(i))).sum();
    eprintln!(
        "kiln: compiled {} function{} ({} IR instructions) to {code_bytes} bytes of {} code: \
         front end {}, codegen {}, link {}",
        stats.functions,
        if stats.functions == 1 { "" } else { "s" },
        stats.ir_insts,
        module.isa().name(),
        ms(stats.t_build),
        ms(t_compile),
        ms(t_link)
    );
    let code = module.get_finalized_function(entry).expect("finalized");
    let mut result = 0i64;
    let t = Instant::now();
    // SAFETY: `__toy_entry` takes (out pointer, unused) and writes one i64 to `out`.
    let r = unsafe { kiln_module::trap::call_guarded(code, &mut result as *mut i64 as usize, 0) };
    let elapsed = t.elapsed();
    // SAFETY: flushing every stdio stream.
    unsafe {
        libc::fflush(std::ptr::null_mut());
    }
    match r {
        Ok(()) => {
            eprintln!("kiln: main() returned {result} after {}", ms(elapsed));
            Ok(0)
        }
        Err(trap) => {
            eprintln!("kiln: the program stopped with a {trap} after {}", ms(elapsed));
            Ok(3)
        }
    }
}

/// The message the object file's trap handler writes.
const TRAP_MESSAGE: &str = "toy: the program stopped with a trap\n";

/// The runtime of an object file, in Kiln IR: printing through libc's `putchar`, a trap
/// handler and the C `main`. `main` installs the handler for the signals a trap raises
/// (Linux numbering: SIGILL, SIGFPE, SIGSEGV, SIGBUS), calls the program's `main` and
/// returns 0; the handler flushes stdio, writes [`TRAP_MESSAGE`] to stderr and exits with
/// status 3, as the JIT reports a trap.
fn define_runtime(module: &mut ObjectModule, g: &Globals, toy_main: FuncId) -> Result<(), String> {
    let me = |e: kiln_module::ModuleError| e.to_string();
    let import = |m: &mut ObjectModule, name: &str, n: usize| m.declare_function(name, Linkage::Import, &sig(n, 1));
    let putchar = import(module, "putchar", 1).map_err(me)?;
    let signal = import(module, "signal", 2).map_err(me)?;
    let fflush = import(module, "fflush", 1).map_err(me)?;
    let write = import(module, "write", 3).map_err(me)?;
    let exit = import(module, "_exit", 1).map_err(me)?;
    let print_u = module.declare_function("toy_print_u", Linkage::Local, &sig(1, 0)).map_err(me)?;
    let trap = module.declare_function("toy_trap", Linkage::Local, &sig(1, 0)).map_err(me)?;
    let mut main_sig = Signature::new(CallConv::SystemV);
    main_sig.params.extend([AbiParam::new(I32), AbiParam::new(I64)]);
    main_sig.returns.push(AbiParam::new(I32));
    let c_main = module.declare_function("main", Linkage::Export, &main_sig).map_err(me)?;
    let msg = module.declare_data("toy_trap_message", Linkage::Local, false).map_err(me)?;
    let mut d = DataDescription::new();
    d.define(TRAP_MESSAGE.as_bytes().to_vec().into_boxed_slice());
    d.set_align(1);
    module.define_data(msg, &d).map_err(me)?;

    let ctx = &mut FunctionBuilderContext::new();
    let put = |b: &mut FunctionBuilder, m: &ObjectModule, c: Value| {
        let f = fref(b, m, putchar);
        b.ins().call(f, &[c]);
    };
    let put_const = |b: &mut FunctionBuilder, m: &ObjectModule, c: u8| {
        let v = b.ins().iconst(I64, c as i64);
        put(b, m, v);
    };
    // toy_print_u(u): the decimal digits of unsigned u.
    define_with(module, print_u, "toy_print_u", sig(1, 0), ctx, |b, m, p| {
        let (rec, digit) = (b.create_block(), b.create_block());
        let ten = b.ins().iconst(I64, 10);
        let big = b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, p[0], ten);
        b.ins().brif(big, rec, &[], digit, &[]);
        b.switch_to_block(rec);
        let q = b.ins().udiv(p[0], ten);
        let f = fref(b, m, print_u);
        b.ins().call(f, &[q]);
        b.ins().jump(digit, &[]);
        b.switch_to_block(digit);
        let r = b.ins().urem(p[0], ten);
        let zero = b.ins().iconst(I64, b'0' as i64);
        let c = b.ins().iadd(r, zero);
        put(b, m, c);
        b.ins().return_(&[]);
    })?;
    // toy_print_int(x): a minus sign if negative, then the magnitude.
    define_with(module, g.print_int, "toy_print_int", sig(1, 0), ctx, |b, m, p| {
        let (minus, digits) = (b.create_block(), b.create_block());
        let u = b.append_block_param(digits, I64);
        let zero = b.ins().iconst(I64, 0);
        let neg = b.ins().icmp(IntCC::SignedLessThan, p[0], zero);
        b.ins().brif(neg, minus, &[], digits, &[p[0]]);
        b.switch_to_block(minus);
        put_const(b, m, b'-');
        let n = b.ins().ineg(p[0]);
        b.ins().jump(digits, &[n]);
        b.switch_to_block(digits);
        let f = fref(b, m, print_u);
        b.ins().call(f, &[u]);
        b.ins().return_(&[]);
    })?;
    // toy_print_str(p, n): n bytes from p.
    define_with(module, g.print_str, "toy_print_str", sig(2, 0), ctx, |b, m, p| {
        let (head, body, exit) = (b.create_block(), b.create_block(), b.create_block());
        let i = b.append_block_param(head, I64);
        let zero = b.ins().iconst(I64, 0);
        b.ins().jump(head, &[zero]);
        b.switch_to_block(head);
        let more = b.ins().icmp(IntCC::SignedLessThan, i, p[1]);
        b.ins().brif(more, body, &[], exit, &[]);
        b.switch_to_block(body);
        let a = b.ins().iadd(p[0], i);
        let c = b.ins().uload8(I64, MemFlags::trusted(), a, 0);
        put(b, m, c);
        let one = b.ins().iconst(I64, 1);
        let next = b.ins().iadd(i, one);
        b.ins().jump(head, &[next]);
        b.switch_to_block(exit);
        b.ins().return_(&[]);
    })?;
    define_with(module, g.print_nl, "toy_print_nl", sig(0, 0), ctx, |b, m, _| {
        put_const(b, m, b'\n');
        b.ins().return_(&[]);
    })?;
    // toy_trap(signal): fflush(NULL); write(2, message); _exit(3).
    define_with(module, trap, "toy_trap", sig(1, 0), ctx, |b, m, _| {
        let zero = b.ins().iconst(I64, 0);
        let f = fref(b, m, fflush);
        b.ins().call(f, &[zero]);
        let gv = m.declare_data_in_func(msg, b.func).expect("declared");
        let text = b.ins().symbol_value(I64, gv);
        let fd = b.ins().iconst(I64, 2);
        let len = b.ins().iconst(I64, TRAP_MESSAGE.len() as i64);
        let f = fref(b, m, write);
        b.ins().call(f, &[fd, text, len]);
        let status = b.ins().iconst(I64, 3);
        let f = fref(b, m, exit);
        b.ins().call(f, &[status]);
        b.ins().return_(&[]);
    })?;
    // main(argc, argv): handlers, the program, exit status 0.
    define_with(module, c_main, "main", main_sig, ctx, |b, m, _| {
        let handler_ref = fref(b, m, trap);
        let handler = b.ins().func_addr(I64, handler_ref);
        let f = fref(b, m, signal);
        for sig in [4, 8, 11, 7] {
            let s = b.ins().iconst(I64, sig);
            b.ins().call(f, &[s, handler]);
        }
        let f = fref(b, m, toy_main);
        b.ins().call(f, &[]);
        let zero = b.ins().iconst(I32, 0);
        b.ins().return_(&[zero]);
    })?;
    Ok(())
}

/// Compile the program to an object file at `out`, for the host, position-independent;
/// `cc OUT -o prog` makes it a program.
fn write_object(src: &str, path: &str, print_clif: bool, out: &str) -> Result<(), String> {
    let mut flags = kiln_ir::settings::Flags::new();
    flags.set_word("is_pic=1").map_err(|e| e.to_string())?;
    let isa = kiln_isa::native(flags).map_err(|e| format!("no native backend: {e:?}"))?;
    let mut module = ObjectModule::new(isa).map_err(|e| e.to_string())?;
    module.set_debug_source(DebugSource::new(path));
    let (stats, globals) = build(src, print_clif, &mut module, Linkage::Local)?;
    define_runtime(&mut module, &globals, stats.main)?;
    let bytes = module.finish().and_then(|p| p.emit()).map_err(|e| e.to_string())?;
    std::fs::write(out, &bytes).map_err(|e| format!("{out}: {e}"))?;
    eprintln!(
        "kiln: compiled {} function{} ({} IR instructions) and the runtime into {out} ({} bytes): front end {}, codegen {}",
        stats.functions,
        if stats.functions == 1 { "" } else { "s" },
        stats.ir_insts,
        bytes.len(),
        ms(stats.t_build),
        ms(stats.t_compile)
    );
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn usage() -> ! {
    eprintln!("usage: toy [--clif] [--emit-obj OUT.o] FILE.toy");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut print_clif = false;
    let mut emit_obj = None;
    let mut path = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--clif" => print_clif = true,
            "--emit-obj" => emit_obj = Some(it.next().cloned().unwrap_or_else(|| usage())),
            s if s.starts_with("--") => usage(),
            _ if path.is_none() => path = Some(a.clone()),
            _ => usage(),
        }
    }
    let Some(path) = path else { usage() };
    let src = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("toy: cannot read {path}: {e}");
            std::process::exit(2);
        }
    };
    let r = match &emit_obj {
        Some(out) => write_object(&src, &path, print_clif, out).map(|()| 0),
        None => run_jit(&src, print_clif),
    };
    match r {
        Ok(status) => std::process::exit(status),
        Err(e) => {
            eprintln!("toy: {path}: {e}");
            std::process::exit(1);
        }
    }
}

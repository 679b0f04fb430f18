//! `toy`: a small language compiled to native code by Kiln, end to end.
//!
//! ```text
//! cargo run --release -p kiln-frontend --example toy -- frontend/builder/examples/toy/fib.toy
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
//! (every source variable is a builder `Variable`: SSA form is built on the fly), compiled
//! by the x86-64 backend and linked by the `JitModule` together with the arrays (writable
//! data objects), the string literals (read-only data objects) and the host functions.
//! `main` runs under `call_guarded`, so a division by zero or an out-of-bounds index is
//! reported as a trap instead of crashing. `--clif` prints the IR of every function.

use kiln_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use kiln_ir::condcodes::IntCC;
use kiln_ir::extname::UserFuncName;
use kiln_ir::memflags::MemFlags;
use kiln_ir::signature::{AbiParam, CallConv, Signature};
use kiln_ir::trapcode::TrapCode;
use kiln_ir::types::I64;
use kiln_ir::{Block, FuncRef, Function, GlobalValue, InstBuilder, Value};
use kiln_module::{DataDescription, DataId, FuncId, JitModule, Linkage, Module};
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

#[derive(Debug)]
enum Stmt {
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
        if self.eat("var") {
            let name = self.ident()?;
            self.expect("=")?;
            let e = self.expr()?;
            self.expect(";")?;
            return Ok(Stmt::Var(name, e));
        }
        if self.eat("if") {
            return self.if_rest();
        }
        if self.eat("while") {
            let c = self.expr()?;
            let body = self.block()?;
            return Ok(Stmt::While(c, body));
        }
        if self.eat("break") {
            self.expect(";")?;
            return Ok(Stmt::Break(line));
        }
        if self.eat("continue") {
            self.expect(";")?;
            return Ok(Stmt::Continue(line));
        }
        if self.eat("return") {
            let e = if self.is(";") { None } else { Some(self.expr()?) };
            self.expect(";")?;
            return Ok(Stmt::Return(e));
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
            return Ok(Stmt::Print(args));
        }
        // Assignment or expression statement.
        if let (Tok::Ident(name), Some((Tok::Punct(p), _))) = (self.peek().clone(), self.toks.get(self.pos + 1)) {
            if *p == "=" {
                self.next();
                self.next();
                let e = self.expr()?;
                self.expect(";")?;
                return Ok(Stmt::Assign(name, e, line));
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
                    return Ok(Stmt::Store(name, idx, e, line));
                }
                self.pos = save;
            }
        }
        let e = self.expr()?;
        self.expect(";")?;
        Ok(Stmt::Expr(e))
    }

    fn if_rest(&mut self) -> Result<Stmt, Error> {
        let c = self.expr()?;
        let then = self.block()?;
        let els = if self.eat("else") {
            if self.eat("if") { vec![self.if_rest()?] } else { self.block()? }
        } else {
            Vec::new()
        };
        Ok(Stmt::If(c, then, els))
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
    module: &'a JitModule,
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
        match s {
            Stmt::Var(name, e) => {
                let v = self.expr(e)?;
                let var = self.b.declare_var(I64);
                self.b.def_var(var, v);
                self.scopes.last_mut().expect("a scope").insert(name.clone(), var);
            }
            Stmt::Assign(name, e, line) => {
                let v = self.expr(e)?;
                match self.lookup(name) {
                    Some(var) => self.b.def_var(var, v),
                    None => return err(*line, format!("unknown variable `{name}` (declare it with `var`)")),
                }
            }
            Stmt::Store(name, idx, e, line) => {
                let v = self.expr(e)?;
                let addr = self.element(name, idx, *line)?;
                self.b.ins().store(MemFlags::trusted(), v, addr, 0);
            }
            Stmt::If(c, then, els) => {
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
            Stmt::While(c, body) => {
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
            Stmt::Break(line) | Stmt::Continue(line) => {
                let Some(&(header, exit)) = self.loops.last() else {
                    return err(*line, "`break` or `continue` outside a loop");
                };
                let target = if matches!(s, Stmt::Break(_)) { exit } else { header };
                self.b.ins().jump(target, &[]);
                self.fresh_block();
            }
            Stmt::Return(e) => {
                let v = match e {
                    Some(e) => self.expr(e)?,
                    None => self.b.ins().iconst(I64, 0),
                };
                self.b.ins().return_(&[v]);
                self.fresh_block();
            }
            Stmt::Print(args) => {
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
            Stmt::Expr(e) => {
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
        match s {
            Stmt::Print(args) => {
                for a in args {
                    if let PrintArg::Str(t) = a {
                        out.push(t.clone());
                    }
                }
            }
            Stmt::If(_, a, b) => {
                collect_strings(a, out);
                collect_strings(b, out);
            }
            Stmt::While(_, a) => collect_strings(a, out),
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------
// Host functions

extern "C" fn toy_print_int(x: i64) {
    print!("{x}");
}

extern "C" fn toy_print_str(p: *const u8, n: i64) {
    // SAFETY: the compiled code passes a string literal of the module and its length.
    let bytes = unsafe { std::slice::from_raw_parts(p, n as usize) };
    print!("{}", String::from_utf8_lossy(bytes));
}

extern "C" fn toy_print_nl() {
    println!();
}

fn sig(params: usize, returns: usize) -> Signature {
    let mut s = Signature::new(CallConv::SystemV);
    s.params.extend((0..params).map(|_| AbiParam::new(I64)));
    s.returns.extend((0..returns).map(|_| AbiParam::new(I64)));
    s
}

struct Compiled {
    module: JitModule,
    entry: FuncId,
    functions: usize,
    ir_insts: usize,
    code_bytes: usize,
    t_build: Duration,
    t_compile: Duration,
    t_link: Duration,
}

fn compile(src: &str, print_clif: bool) -> Result<Compiled, String> {
    let t0 = Instant::now();
    let toks = lex(src).map_err(|e| e.to_string())?;
    let prog = Parser { toks, pos: 0 }.program().map_err(|e| e.to_string())?;
    let isa = kiln_isa::native(Default::default()).map_err(|e| format!("no native backend: {e:?}"))?;
    let mut module = JitModule::new(isa);
    module.add_symbol_lookup(Box::new(|name| match name {
        "toy_print_int" => Some(toy_print_int as *const u8),
        "toy_print_str" => Some(toy_print_str as *const u8),
        "toy_print_nl" => Some(toy_print_nl as *const u8),
        _ => None,
    }));
    let me = |e: kiln_module::ModuleError| e.to_string();
    let print_str_sig = sig(2, 0);
    let globals_print = (
        module.declare_function("toy_print_int", Linkage::Import, &sig(1, 0)).map_err(me)?,
        module.declare_function("toy_print_str", Linkage::Import, &print_str_sig).map_err(me)?,
        module.declare_function("toy_print_nl", Linkage::Import, &sig(0, 0)).map_err(me)?,
    );
    let mut globals = Globals {
        funcs: HashMap::new(),
        arrays: HashMap::new(),
        strings: Vec::new(),
        print_int: globals_print.0,
        print_str: globals_print.1,
        print_nl: globals_print.2,
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
    let (mut t_build, mut t_compile) = (t0.elapsed(), Duration::ZERO);
    let (mut ir_insts, mut code_bytes) = (0, 0);
    for f in &prog.funcs {
        let t = Instant::now();
        let (id, n) = globals.funcs[&f.name];
        let mut func = Function::with_name_signature(UserFuncName::testcase(format!("toy_{}", f.name)), sig(n, 1));
        {
            let b = FunctionBuilder::new(&mut func, &mut ctx);
            let mut tr = Translator {
                b,
                module: &module,
                globals: &globals,
                scopes: vec![HashMap::new()],
                loops: Vec::new(),
                func_refs: HashMap::new(),
                data_refs: HashMap::new(),
            };
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
        t_build += t.elapsed();
        defs.push((id, func));
    }
    // Compile all functions at once, on all cores.
    let t = Instant::now();
    let ids: Vec<_> = defs.iter().map(|(id, _)| *id).collect();
    module.define_functions(defs).map_err(me)?;
    code_bytes += ids.iter().map(|&id| module.function_size(id).unwrap_or(0)).sum::<usize>();
    t_compile += t.elapsed();

    // The entry wrapper: `__toy_entry(out, _)` stores main's result to `*out`; it has the
    // two-argument shape `call_guarded` calls.
    let t = Instant::now();
    let entry_id = module.declare_function("__toy_entry", Linkage::Local, &sig(2, 0)).map_err(me)?;
    let mut wf = Function::with_name_signature(UserFuncName::testcase("__toy_entry"), sig(2, 0));
    let main_ref = module.declare_func_in_func(main, &mut wf).map_err(me)?;
    {
        let mut b = FunctionBuilder::new(&mut wf, &mut ctx);
        let e = b.create_block();
        b.append_block_params_for_function_params(e);
        b.switch_to_block(e);
        b.seal_block(e);
        let out = b.block_params(e)[0];
        let call = b.ins().call(main_ref, &[]);
        let r = b.inst_results(call)[0];
        b.ins().store(MemFlags::trusted(), r, out, 0);
        b.ins().return_(&[]);
        b.finalize().map_err(|e| e.to_string())?;
    }
    module.define_function(entry_id, wf).map_err(me)?;
    t_compile += t.elapsed();
    let t = Instant::now();
    module.finalize_definitions().map_err(me)?;
    let t_link = t.elapsed();
    Ok(Compiled {
        module,
        entry: entry_id,
        functions: prog.funcs.len(),
        ir_insts,
        code_bytes,
        t_build,
        t_compile,
        t_link,
    })
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let print_clif = args.iter().any(|a| a == "--clif");
    let Some(path) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: toy [--clif] FILE.toy");
        std::process::exit(2);
    };
    let src = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("toy: cannot read {path}: {e}");
            std::process::exit(2);
        }
    };
    let c = match compile(&src, print_clif) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("toy: {path}: {e}");
            std::process::exit(1);
        }
    };
    let isa = c.module.isa().name();
    eprintln!(
        "kiln: compiled {} function{} ({} IR instructions) to {} bytes of {isa} code: \
         front end {}, codegen {}, link {}",
        c.functions,
        if c.functions == 1 { "" } else { "s" },
        c.ir_insts,
        c.code_bytes,
        ms(c.t_build),
        ms(c.t_compile),
        ms(c.t_link)
    );
    let entry = c.module.get_finalized_function(c.entry).expect("finalized");
    let mut result = 0i64;
    let t = Instant::now();
    // SAFETY: `__toy_entry` takes (out pointer, unused) and writes one i64 to `out`.
    let r = unsafe { kiln_module::trap::call_guarded(entry, &mut result as *mut i64 as usize, 0) };
    let elapsed = t.elapsed();
    use std::io::Write;
    let _ = std::io::stdout().flush();
    match r {
        Ok(()) => {
            eprintln!("kiln: main() returned {result} after {}", ms(elapsed));
        }
        Err(trap) => {
            eprintln!("kiln: the program stopped with a {trap} after {}", ms(elapsed));
            std::process::exit(3);
        }
    }
}

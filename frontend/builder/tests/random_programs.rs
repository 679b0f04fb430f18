//! Property test: random structured programs over variables — assignments of random
//! expressions, if/else, loops with bounded trip counts (possibly nested, with early exits)
//! — are built through the `FunctionBuilder` with a random sealing strategy, verified, and
//! run by the reference interpreter and the JIT; both must agree with a direct evaluation
//! of the program in Rust.
//!
//! The generator is a small deterministic PRNG, so every failure reproduces from its seed
//! (printed with the program). `KILN_RANDOM_PROGRAMS=N` runs N programs instead of the
//! default.

mod common;

use common::{Jit, interpret, new_func, sig_i64, verify};
use kiln_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use kiln_ir::condcodes::IntCC;
use kiln_ir::types::I64;
use kiln_ir::{Block, InstBuilder, Value};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

#[derive(Debug, Clone, Copy)]
enum BinOp {
    Add,
    Sub,
    Mul,
    Xor,
    And,
    Or,
    Shl,
    Sshr,
}

#[derive(Debug, Clone)]
enum Expr {
    Var(usize),
    Const(i64),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    /// `if a < b { x } else { y }` as a select.
    Select(IntCC, Box<Expr>, Box<Expr>, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone)]
enum Stmt {
    Assign(usize, Expr),
    If(IntCC, Expr, Expr, Vec<Stmt>, Vec<Stmt>),
    /// Run the body `trips` times; `break_if` leaves early when the condition holds at the
    /// top of an iteration.
    Loop {
        trips: u8,
        body: Vec<Stmt>,
        break_if: Option<(IntCC, Expr, Expr)>,
    },
}

const CCS: [IntCC; 6] = [
    IntCC::Equal,
    IntCC::NotEqual,
    IntCC::SignedLessThan,
    IntCC::SignedGreaterThanOrEqual,
    IntCC::UnsignedLessThan,
    IntCC::UnsignedGreaterThan,
];

struct Gen<'r> {
    rng: &'r mut Rng,
    vars: usize,
}

impl Gen<'_> {
    fn expr(&mut self, depth: u32) -> Expr {
        match self.rng.below(if depth == 0 { 2 } else { 6 }) {
            0 => Expr::Var(self.rng.below(self.vars as u64) as usize),
            1 => Expr::Const(match self.rng.below(4) {
                0 => self.rng.below(8) as i64,
                1 => -(self.rng.below(100) as i64),
                2 => self.rng.next() as i64,
                _ => self.rng.below(1000) as i64,
            }),
            5 => Expr::Select(
                CCS[self.rng.below(6) as usize],
                Box::new(self.expr(depth - 1)),
                Box::new(self.expr(depth - 1)),
                Box::new(self.expr(depth - 1)),
                Box::new(self.expr(depth - 1)),
            ),
            _ => {
                let ops =
                    [BinOp::Add, BinOp::Sub, BinOp::Mul, BinOp::Xor, BinOp::And, BinOp::Or, BinOp::Shl, BinOp::Sshr];
                let op = ops[self.rng.below(ops.len() as u64) as usize];
                Expr::Bin(op, Box::new(self.expr(depth - 1)), Box::new(self.expr(depth - 1)))
            }
        }
    }

    fn cond(&mut self) -> (IntCC, Expr, Expr) {
        (CCS[self.rng.below(6) as usize], self.expr(2), self.expr(1))
    }

    fn stmts(&mut self, depth: u32, budget: &mut u32) -> Vec<Stmt> {
        let n = 1 + self.rng.below(4);
        let mut out = Vec::new();
        for _ in 0..n {
            if *budget == 0 {
                break;
            }
            *budget -= 1;
            let kind = if depth == 0 { 0 } else { self.rng.below(5) };
            out.push(match kind {
                0..=2 => Stmt::Assign(self.rng.below(self.vars as u64) as usize, self.expr(3)),
                3 => {
                    let (cc, a, b) = self.cond();
                    let t = self.stmts(depth - 1, budget);
                    let e = if self.rng.chance(60) { self.stmts(depth - 1, budget) } else { Vec::new() };
                    Stmt::If(cc, a, b, t, e)
                }
                _ => {
                    let trips = self.rng.below(6) as u8;
                    let body = self.stmts(depth - 1, budget);
                    let break_if = self.rng.chance(30).then(|| self.cond());
                    Stmt::Loop { trips, body, break_if }
                }
            });
        }
        out
    }
}

// ---------------------------------------------------------------------------------------
// Direct evaluation

fn cmp(cc: IntCC, a: i64, b: i64) -> bool {
    match cc {
        IntCC::Equal => a == b,
        IntCC::NotEqual => a != b,
        IntCC::SignedLessThan => a < b,
        IntCC::SignedGreaterThanOrEqual => a >= b,
        IntCC::UnsignedLessThan => (a as u64) < (b as u64),
        IntCC::UnsignedGreaterThan => (a as u64) > (b as u64),
        _ => unreachable!("not generated"),
    }
}

fn eval(e: &Expr, vars: &[i64]) -> i64 {
    match e {
        Expr::Var(v) => vars[*v],
        Expr::Const(c) => *c,
        Expr::Bin(op, a, b) => {
            let (a, b) = (eval(a, vars), eval(b, vars));
            match op {
                BinOp::Add => a.wrapping_add(b),
                BinOp::Sub => a.wrapping_sub(b),
                BinOp::Mul => a.wrapping_mul(b),
                BinOp::Xor => a ^ b,
                BinOp::And => a & b,
                BinOp::Or => a | b,
                BinOp::Shl => a.wrapping_shl((b & 63) as u32),
                BinOp::Sshr => a.wrapping_shr((b & 63) as u32),
            }
        }
        Expr::Select(cc, a, b, x, y) => {
            if cmp(*cc, eval(a, vars), eval(b, vars)) {
                eval(x, vars)
            } else {
                eval(y, vars)
            }
        }
    }
}

fn exec(stmts: &[Stmt], vars: &mut [i64]) {
    for s in stmts {
        match s {
            Stmt::Assign(v, e) => vars[*v] = eval(e, vars),
            Stmt::If(cc, a, b, t, e) => {
                if cmp(*cc, eval(a, vars), eval(b, vars)) {
                    exec(t, vars)
                } else {
                    exec(e, vars)
                }
            }
            Stmt::Loop { trips, body, break_if } => {
                for _ in 0..*trips {
                    if let Some((cc, a, b)) = break_if
                        && cmp(*cc, eval(a, vars), eval(b, vars))
                    {
                        break;
                    }
                    exec(body, vars);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Building

struct Lower<'a, 'b> {
    b: &'a mut FunctionBuilder<'b>,
    vars: Vec<Variable>,
    /// Seal every block at the end instead of as soon as possible.
    seal_late: bool,
}

impl Lower<'_, '_> {
    fn seal(&mut self, block: Block) {
        if !self.seal_late {
            self.b.seal_block(block);
        }
    }

    fn expr(&mut self, e: &Expr) -> Value {
        match e {
            Expr::Var(v) => self.b.use_var(self.vars[*v]),
            Expr::Const(c) => self.b.ins().iconst(I64, *c),
            Expr::Bin(op, a, b) => {
                let (a, b) = (self.expr(a), self.expr(b));
                let ins = self.b.ins();
                match op {
                    BinOp::Add => ins.iadd(a, b),
                    BinOp::Sub => ins.isub(a, b),
                    BinOp::Mul => ins.imul(a, b),
                    BinOp::Xor => ins.bxor(a, b),
                    BinOp::And => ins.band(a, b),
                    BinOp::Or => ins.bor(a, b),
                    BinOp::Shl => ins.ishl(a, b),
                    BinOp::Sshr => ins.sshr(a, b),
                }
            }
            Expr::Select(cc, a, b, x, y) => {
                let c = self.cond(*cc, a, b);
                let (x, y) = (self.expr(x), self.expr(y));
                self.b.ins().select(c, x, y)
            }
        }
    }

    fn cond(&mut self, cc: IntCC, a: &Expr, b: &Expr) -> Value {
        let (a, b) = (self.expr(a), self.expr(b));
        self.b.ins().icmp(cc, a, b)
    }

    fn stmts(&mut self, stmts: &[Stmt]) {
        for s in stmts {
            match s {
                Stmt::Assign(v, e) => {
                    let x = self.expr(e);
                    self.b.def_var(self.vars[*v], x);
                }
                Stmt::If(cc, a, bb, t, e) => {
                    let c = self.cond(*cc, a, bb);
                    let (tb, eb, join) = (self.b.create_block(), self.b.create_block(), self.b.create_block());
                    self.b.ins().brif(c, tb, &[], eb, &[]);
                    self.b.switch_to_block(tb);
                    self.seal(tb);
                    self.stmts(t);
                    self.b.ins().jump(join, &[]);
                    self.b.switch_to_block(eb);
                    self.seal(eb);
                    self.stmts(e);
                    self.b.ins().jump(join, &[]);
                    self.b.switch_to_block(join);
                    self.seal(join);
                }
                Stmt::Loop { trips, body, break_if } => {
                    // counter = 0; header: if counter >= trips goto exit; [if cond goto exit;]
                    // body; counter += 1; goto header
                    let counter = self.b.declare_var(I64);
                    let zero = self.b.ins().iconst(I64, 0);
                    self.b.def_var(counter, zero);
                    let (header, check, bodyb, exit) =
                        (self.b.create_block(), self.b.create_block(), self.b.create_block(), self.b.create_block());
                    self.b.ins().jump(header, &[]);
                    self.b.switch_to_block(header);
                    let cv = self.b.use_var(counter);
                    let lim = self.b.ins().iconst(I64, *trips as i64);
                    let more = self.b.ins().icmp(IntCC::SignedLessThan, cv, lim);
                    self.b.ins().brif(more, check, &[], exit, &[]);
                    self.b.switch_to_block(check);
                    self.seal(check);
                    match break_if {
                        Some((cc, a, bb)) => {
                            let c = self.cond(*cc, a, bb);
                            self.b.ins().brif(c, exit, &[], bodyb, &[]);
                        }
                        None => {
                            self.b.ins().jump(bodyb, &[]);
                        }
                    }
                    self.b.switch_to_block(bodyb);
                    self.seal(bodyb);
                    self.stmts(body);
                    let cv = self.b.use_var(counter);
                    let one = self.b.ins().iconst(I64, 1);
                    let n = self.b.ins().iadd(cv, one);
                    self.b.def_var(counter, n);
                    self.b.ins().jump(header, &[]);
                    self.seal(header);
                    self.b.switch_to_block(exit);
                    self.seal(exit);
                }
            }
        }
    }
}

const NVARS: usize = 5;
const NPARAMS: usize = 3;

fn build(prog: &[Stmt], seal_late: bool, ctx: &mut FunctionBuilderContext) -> kiln_ir::Function {
    let mut f = new_func("prog", sig_i64(NPARAMS, 2));
    let mut b = FunctionBuilder::new(&mut f, ctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    if !seal_late {
        b.seal_block(entry);
    }
    let vars: Vec<Variable> = (0..NVARS).map(|_| b.declare_var(I64)).collect();
    for k in 0..NPARAMS {
        let p = b.block_params(entry)[k];
        b.def_var(vars[k], p);
    }
    // The other variables start unassigned: they read as zero.
    let mut l = Lower { b: &mut b, vars, seal_late };
    l.stmts(prog);
    // Return a mix of every variable, and the last one alone.
    let mut acc = l.b.use_var(l.vars[0]);
    for k in 1..NVARS {
        let v = l.b.use_var(l.vars[k]);
        let k3 = l.b.ins().iconst(I64, 0x9e37_79b9_7f4a_7c15u64 as i64);
        let m = l.b.ins().imul(acc, k3);
        acc = l.b.ins().bxor(m, v);
    }
    let last = l.b.use_var(l.vars[NVARS - 1]);
    l.b.ins().return_(&[acc, last]);
    if seal_late {
        b.seal_all_blocks();
    }
    b.finalize().unwrap_or_else(|e| panic!("{e}"));
    f
}

fn model(prog: &[Stmt], args: &[i64]) -> Vec<i64> {
    let mut vars = [0i64; NVARS];
    vars[..NPARAMS].copy_from_slice(args);
    exec(prog, &mut vars);
    let mut acc = vars[0];
    for &v in &vars[1..] {
        acc = acc.wrapping_mul(0x9e37_79b9_7f4a_7c15u64 as i64) ^ v;
    }
    vec![acc, vars[NVARS - 1]]
}

/// No block parameter is trivial: each receives at least two distinct values other than
/// itself (minimal SSA form, as structured programs have reducible control flow).
fn assert_minimal(f: &kiln_ir::Function, seed: u64) {
    use kiln_ir::BlockArg;
    let mut incoming: std::collections::HashMap<(Block, usize), Vec<Value>> = Default::default();
    for block in f.layout.blocks() {
        for inst in f.layout.block_insts(block) {
            for bc in f.dfg.branch_destinations(inst) {
                let target = bc.block(&f.dfg.value_lists);
                for (k, a) in bc.args(&f.dfg.value_lists).enumerate() {
                    if let BlockArg::Value(v) = a {
                        incoming.entry((target, k)).or_default().push(v);
                    }
                }
            }
        }
    }
    for ((block, k), vals) in incoming {
        let p = f.dfg.block_params(block)[k];
        let mut distinct: Vec<Value> = vals.into_iter().filter(|&v| v != p).collect();
        distinct.sort();
        distinct.dedup();
        assert!(distinct.len() >= 2, "seed {seed}: parameter {p} of {block} is trivial\n{}", f.display());
    }
}

#[test]
fn random_structured_programs_agree() {
    let n: u64 = std::env::var("KILN_RANDOM_PROGRAMS").ok().and_then(|s| s.parse().ok()).unwrap_or(150);
    let mut ctx = FunctionBuilderContext::new();
    let (mut total_params, mut total_insts, mut total_blocks) = (0, 0, 0);
    for seed in 1..=n {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut budget = 6 + rng.below(30) as u32;
        let prog = Gen { rng: &mut rng, vars: NVARS }.stmts(3, &mut budget);
        let seal_late = rng.chance(40);
        let f = build(&prog, seal_late, &mut ctx);
        verify(&f);
        assert_minimal(&f, seed);
        total_params += f.layout.blocks().map(|b| f.dfg.block_params(b).len()).sum::<usize>();
        total_blocks += f.layout.blocks().count();
        total_insts += f.num_insts_in_layout();
        let funcs = [f];
        let jit = Jit::new(&funcs);
        for _ in 0..3 {
            let args: Vec<i64> = (0..NPARAMS)
                .map(|_| if rng.chance(50) { rng.below(20) as i64 - 5 } else { rng.next() as i64 })
                .collect();
            let want = model(&prog, &args);
            let ctx_msg =
                || format!("seed {seed}, late sealing {seal_late}, args {args:?}\n{prog:#?}\n{}", funcs[0].display());
            let got_i = interpret(&funcs, 0, &args).unwrap_or_else(|e| panic!("interpreter: {e}\n{}", ctx_msg()));
            assert_eq!(got_i, want, "interpreter disagrees: {}", ctx_msg());
            let got_j = jit.call(0, &args).unwrap_or_else(|e| panic!("JIT: {e}\n{}", ctx_msg()));
            assert_eq!(got_j, want, "JIT disagrees: {}", ctx_msg());
        }
    }
    eprintln!("{n} programs: {total_blocks} blocks, {total_insts} instructions, {total_params} block parameters");
    assert!(total_params > n as usize, "the programs rarely needed block parameters");
}

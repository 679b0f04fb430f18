//! The generator's own program representation and its CLIF printer.
//!
//! A [`Program`] is a list of functions; function 0 is the entry the tester calls, and
//! function `i` only calls functions `j > i` (so there is no recursion). Instructions keep
//! their operands as value numbers ([`Val`]) next to a text template in which every `#`
//! stands for the next operand, so the shrinker can rewrite operands and drop
//! instructions without re-deriving instruction syntax. Blocks are referred to by their
//! number (`block{id}`), not their position, so blocks can be removed.
//!
//! Invariants kept by the generator (and preserved by the shrinker):
//! - every value is defined once per function and each use is dominated by its definition
//!   (uses are restricted to the entry block's values and the using block's own values);
//! - instructions marked `pinned` (stack-slot initialisation, address computations) are
//!   never removed on their own, so loads never read uninitialised memory.

use kiln_ir::types::Type;
use std::fmt::Write;

/// A value number: printed `v{n}`.
pub type Val = u32;

/// One non-terminator instruction.
#[derive(Clone, Debug)]
pub struct Inst {
    /// Results and their types.
    pub results: Vec<(Val, Type)>,
    /// Text after `=`; every `#` is replaced by the next operand of `args`.
    pub template: String,
    /// Operands, in the order of the `#`s.
    pub args: Vec<Val>,
    /// Must stay (memory initialisation, address arithmetic); only removed with its block.
    pub pinned: bool,
    /// Opcode name, for statistics and the support probe.
    pub opcode: &'static str,
}

/// A branch target with its arguments.
#[derive(Clone, Debug)]
pub struct Target {
    /// Block number.
    pub block: u32,
    /// Arguments, one per block parameter.
    pub args: Vec<Val>,
}

/// How a block ends.
#[derive(Clone, Debug)]
pub enum Term {
    /// `return args`.
    Return(Vec<Val>),
    /// `jump target`.
    Jump(Target),
    /// `brif c, then, else`.
    Brif(Val, Target, Target),
    /// `br_table index, default, [targets]`.
    BrTable(Val, Target, Vec<Target>),
    /// `trap code`.
    Trap(String),
    /// `return_call fn{callee}(args)`, or with `func_addr`
    /// `return_call_indirect sig{callee}, v{func_addr}(args)` (both conventions `tail`,
    /// the same return types).
    ReturnCall {
        /// Index of the callee declaration (`fnK`/`sigK`).
        callee: usize,
        /// The callee's address, for `return_call_indirect`.
        func_addr: Option<Val>,
        /// Arguments.
        args: Vec<Val>,
    },
}

impl Term {
    /// The targets of the terminator.
    pub fn targets(&self) -> Vec<&Target> {
        match self {
            Term::Return(_) | Term::Trap(_) | Term::ReturnCall { .. } => vec![],
            Term::Jump(t) => vec![t],
            Term::Brif(_, a, b) => vec![a, b],
            Term::BrTable(_, d, ts) => std::iter::once(d).chain(ts.iter()).collect(),
        }
    }

    /// The targets, mutably.
    pub fn targets_mut(&mut self) -> Vec<&mut Target> {
        match self {
            Term::Return(_) | Term::Trap(_) | Term::ReturnCall { .. } => vec![],
            Term::Jump(t) => vec![t],
            Term::Brif(_, a, b) => vec![a, b],
            Term::BrTable(_, d, ts) => std::iter::once(d).chain(ts.iter_mut()).collect(),
        }
    }

    /// Every value the terminator uses.
    pub fn uses(&self) -> Vec<Val> {
        let mut v = match self {
            Term::Return(a) => a.clone(),
            Term::ReturnCall { func_addr, args, .. } => func_addr.iter().chain(args).copied().collect(),
            Term::Brif(c, _, _) | Term::BrTable(c, _, _) => vec![*c],
            _ => vec![],
        };
        for t in self.targets() {
            v.extend_from_slice(&t.args);
        }
        v
    }
}

/// A basic block.
#[derive(Clone, Debug)]
pub struct Block {
    /// Block number.
    pub id: u32,
    /// Parameters.
    pub params: Vec<(Val, Type)>,
    /// Body.
    pub insts: Vec<Inst>,
    /// Terminator.
    pub term: Term,
}

/// A stack slot.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    /// Size in bytes (a multiple of 8).
    pub size: u32,
    /// log2 of the alignment.
    pub align_shift: u8,
}

/// A declared callee: `fn{k} = [colocated] %name sig{k}`.
#[derive(Clone, Debug)]
pub struct Callee {
    /// Index of the called function in the program.
    pub func: usize,
    /// Whether the declaration says `colocated`.
    pub colocated: bool,
}

/// One function.
#[derive(Clone, Debug)]
pub struct Func {
    /// Name without `%`.
    pub name: String,
    /// Calling convention name.
    pub cc: &'static str,
    /// Parameter types.
    pub params: Vec<Type>,
    /// Return types.
    pub rets: Vec<Type>,
    /// Stack slots `ss0…`.
    pub slots: Vec<Slot>,
    /// Callees `fn0…` (each with its signature `sig{k}`).
    pub callees: Vec<Callee>,
    /// Blocks in layout order; the first is the entry.
    pub blocks: Vec<Block>,
    /// Next unused value number.
    pub next_val: Val,
}

impl Func {
    /// The signature text `(params) -> rets cc`.
    pub fn signature(&self) -> String {
        let mut s = String::from("(");
        for (i, t) in self.params.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            let _ = write!(s, "{t}");
        }
        s.push(')');
        if !self.rets.is_empty() {
            s.push_str(" -> ");
            for (i, t) in self.rets.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                let _ = write!(s, "{t}");
            }
        }
        let _ = write!(s, " {}", self.cc);
        s
    }

    /// Position of block number `id` in the layout.
    pub fn block_index(&self, id: u32) -> Option<usize> {
        self.blocks.iter().position(|b| b.id == id)
    }
}

/// A whole generated test case: functions plus the argument sets to call the entry with.
#[derive(Clone, Debug)]
pub struct Program {
    /// Functions; 0 is the entry.
    pub funcs: Vec<Func>,
}

fn write_inst(out: &mut String, inst: &Inst) {
    out.push_str("    ");
    if !inst.results.is_empty() {
        for (i, (v, _)) in inst.results.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "v{v}");
        }
        out.push_str(" = ");
    }
    let mut args = inst.args.iter();
    for ch in inst.template.chars() {
        if ch == '#' {
            match args.next() {
                Some(a) => {
                    let _ = write!(out, "v{a}");
                }
                None => out.push_str("v?"),
            }
        } else {
            out.push(ch);
        }
    }
    out.push('\n');
}

fn write_target(out: &mut String, t: &Target) {
    let _ = write!(out, "block{}", t.block);
    if !t.args.is_empty() {
        out.push('(');
        for (i, a) in t.args.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "v{a}");
        }
        out.push(')');
    }
}

impl Program {
    /// The CLIF text of function `index`.
    pub fn func_text(&self, index: usize) -> String {
        let f = &self.funcs[index];
        let mut out = String::new();
        let _ = writeln!(out, "function %{}{} {{", f.name, f.signature());
        for (i, s) in f.slots.iter().enumerate() {
            let _ = write!(out, "    ss{i} = explicit_slot {}", s.size);
            if s.align_shift > 0 {
                let _ = write!(out, ", align = {}", 1u32 << s.align_shift);
            }
            out.push('\n');
        }
        for (k, c) in f.callees.iter().enumerate() {
            let callee = &self.funcs[c.func];
            let _ = writeln!(out, "    sig{k} = {}", callee.signature());
        }
        for (k, c) in f.callees.iter().enumerate() {
            let coloc = if c.colocated { "colocated " } else { "" };
            let _ = writeln!(out, "    fn{k} = {coloc}%{} sig{k}", self.funcs[c.func].name);
        }
        for (bi, b) in f.blocks.iter().enumerate() {
            if bi > 0 || !f.slots.is_empty() || !f.callees.is_empty() {
                out.push('\n');
            }
            let _ = write!(out, "block{}", b.id);
            if !b.params.is_empty() {
                out.push('(');
                for (i, (v, t)) in b.params.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    let _ = write!(out, "v{v}: {t}");
                }
                out.push(')');
            }
            out.push_str(":\n");
            for inst in &b.insts {
                write_inst(&mut out, inst);
            }
            out.push_str("    ");
            match &b.term {
                Term::Return(vals) => {
                    out.push_str("return");
                    for (i, v) in vals.iter().enumerate() {
                        out.push_str(if i == 0 { " " } else { ", " });
                        let _ = write!(out, "v{v}");
                    }
                }
                Term::Jump(t) => {
                    out.push_str("jump ");
                    write_target(&mut out, t);
                }
                Term::Brif(c, a, b) => {
                    let _ = write!(out, "brif v{c}, ");
                    write_target(&mut out, a);
                    out.push_str(", ");
                    write_target(&mut out, b);
                }
                Term::BrTable(x, d, ts) => {
                    let _ = write!(out, "br_table v{x}, ");
                    write_target(&mut out, d);
                    out.push_str(", [");
                    for (i, t) in ts.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        write_target(&mut out, t);
                    }
                    out.push(']');
                }
                Term::Trap(code) => {
                    let _ = write!(out, "trap {code}");
                }
                Term::ReturnCall { callee, func_addr, args } => {
                    match func_addr {
                        Some(fa) => {
                            let _ = write!(out, "return_call_indirect sig{callee}, v{fa}(");
                        }
                        None => {
                            let _ = write!(out, "return_call fn{callee}(");
                        }
                    }
                    for (i, v) in args.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        let _ = write!(out, "v{v}");
                    }
                    out.push(')');
                }
            }
            out.push('\n');
        }
        out.push_str("}\n");
        out
    }

    /// The CLIF text of every function, separated by blank lines.
    pub fn to_clif(&self) -> String {
        let mut out = String::new();
        for i in 0..self.funcs.len() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&self.func_text(i));
        }
        out
    }

    /// Number of instructions (including terminators) in the program.
    pub fn size(&self) -> usize {
        self.funcs.iter().flat_map(|f| &f.blocks).map(|b| b.insts.len() + 1).sum()
    }
}

//! `test print-cfg`: FileCheck a Graphviz rendering of the function's control-flow graph.
//!
//! The rendering ([`render`]), one item per line:
//!
//! ```text
//! digraph "%name" {
//!     {rank=min; block0}
//!     block0 [shape=record, label="{block0(v0: i32): | <inst2>brif v0, block1, block2}"]
//!     block1 [shape=record, label="{block1: | <inst3>return}"]
//!     block0:inst2 -> block1
//! }
//! ```
//!
//! a node per block of the layout (a record whose first field is the block header and
//! whose second, with a port named after the instruction, is the block's last instruction
//! as the canonical printer writes it, without its trailing constant comment), then
//! an edge per CFG predecessor, grouped by destination block in layout order. Graphviz
//! record metacharacters (`{ } | < > "` and `\`) inside headers and instructions are
//! escaped with a backslash. The verifier does not run first, so the rendering copes with
//! any function the parser accepts.

use crate::subtest::{TestContext, TestKind, TestResult, no_options};
use kiln_ir::analysis::ControlFlowGraph;
use kiln_ir::entities::Block;
use kiln_ir::function::Function;
use kiln_ir::text::writer::inst_to_string;
use kiln_ir::text::{Details, TestCommand};
use std::fmt::Write;

/// The `print-cfg` test.
pub struct PrintCfg;

/// Build `test print-cfg` (no options).
pub fn make(command: &TestCommand) -> Result<Box<dyn TestKind>, String> {
    no_options(command)?;
    Ok(Box::new(PrintCfg))
}

fn escape_into(out: &mut String, text: &str) {
    for ch in text.chars() {
        if matches!(ch, '{' | '}' | '|' | '<' | '>' | '"' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
}

fn block_header(func: &Function, block: Block) -> String {
    let mut s = block.to_string();
    let params = func.dfg.block_params(block);
    if !params.is_empty() {
        s.push('(');
        for (i, &p) in params.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            let _ = write!(s, "{p}: {}", func.dfg.value_type(p));
        }
        s.push(')');
    }
    if func.layout.is_cold(block) {
        s.push_str(" cold");
    }
    s.push(':');
    s
}

/// The Graphviz rendering of `func`'s CFG (see the module documentation).
pub fn render(func: &Function) -> String {
    let cfg = ControlFlowGraph::with_function(func);
    let mut s = String::new();
    let mut name = String::new();
    let _ = write!(name, "{}", func.name);
    s.push_str("digraph \"");
    escape_into(&mut s, &name);
    s.push_str("\" {\n");
    if let Some(entry) = func.layout.entry_block() {
        let _ = writeln!(s, "    {{rank=min; {entry}}}");
    }
    for block in func.layout.blocks() {
        let _ = write!(s, "    {block} [shape=record, label=\"{{");
        escape_into(&mut s, &block_header(func, block));
        if let Some(inst) = func.layout.last_inst(block) {
            let _ = write!(s, " | <{inst}>");
            let text = inst_to_string(func, inst);
            // Without the printer's trailing `  ; v1 = 7` constant comment.
            let text = text.split_once("  ; ").map_or(text.as_str(), |(t, _)| t);
            escape_into(&mut s, text);
        }
        s.push_str("}\"]\n");
    }
    for block in func.layout.blocks() {
        for p in cfg.pred_iter(block) {
            let _ = writeln!(s, "    {}:{} -> {block}", p.block, p.inst);
        }
    }
    s.push_str("}\n");
    s
}

impl TestKind for PrintCfg {
    fn name(&self) -> &'static str {
        "print-cfg"
    }

    fn needs_verifier(&self) -> bool {
        false
    }

    fn run(&self, ctx: &TestContext, func: &Function, details: &Details) -> TestResult {
        ctx.filecheck(details, &render(func))
    }
}

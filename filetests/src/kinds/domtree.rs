//! `test domtree` (REFERENCE §4.14): check the `dominates:` annotations against the
//! computed dominator tree, then FileCheck a textual dump of the tree.
//!
//! `; dominates: blockA blockB …` attached to an instruction says that the instruction's
//! block is the immediate dominator of each listed block. A block may be listed once; every
//! non-entry block of the layout that is not listed must be unreachable.
//!
//! The dump ([`dump`]) has two parts:
//!
//! ```text
//! cfg_postorder: block3 block2 block1 block0
//! domtree_preorder {
//!     block0: block1
//!     block1: block2 block3
//!     block2:
//!     block3:
//! }
//! ```
//!
//! the CFG postorder of the reachable blocks, then every reachable block in preorder of the
//! dominator tree, indented, followed by its children (in reverse postorder).

use crate::subtest::{Failure, TestContext, TestKind, TestResult, comment_body, no_options};
use kiln_ir::analysis::{ControlFlowGraph, DominatorTree};
use kiln_ir::entities::{AnyEntity, Block};
use kiln_ir::entity::EntityRef;
use kiln_ir::function::Function;
use kiln_ir::text::{Details, TestCommand};
use std::collections::HashMap;
use std::fmt::Write;

/// The `domtree` test.
pub struct Domtree;

/// Build `test domtree` (no options).
pub fn make(command: &TestCommand) -> Result<Box<dyn TestKind>, String> {
    no_options(command)?;
    Ok(Box::new(Domtree))
}

/// The textual dump of a dominator tree (see the module documentation).
pub fn dump(domtree: &DominatorTree) -> String {
    let mut s = String::from("cfg_postorder:");
    for b in domtree.cfg_postorder() {
        let _ = write!(s, " {b}");
    }
    s.push_str("\ndomtree_preorder {\n");
    for &b in domtree.dom_preorder() {
        let _ = write!(s, "    {b}:");
        for c in domtree.children(b) {
            let _ = write!(s, " {c}");
        }
        s.push('\n');
    }
    s.push_str("}\n");
    s
}

/// A block name `blockN` of a block in the layout.
fn parse_block(func: &Function, word: &str) -> Option<Block> {
    let n: u32 = word.strip_prefix("block")?.parse().ok()?;
    if n as usize >= func.dfg.num_blocks() {
        return None;
    }
    let b = Block::new(n as usize);
    func.layout.is_block_inserted(b).then_some(b)
}

impl TestKind for Domtree {
    fn name(&self) -> &'static str {
        "domtree"
    }

    fn run(&self, ctx: &TestContext, func: &Function, details: &Details) -> TestResult {
        let cfg = ControlFlowGraph::with_function(func);
        let domtree = DominatorTree::with_function(func, &cfg);
        let mut failures = Vec::new();
        let mut expected: HashMap<Block, Block> = HashMap::new();
        for c in &details.comments {
            let Some(list) = comment_body(&c.text).strip_prefix("dominates:") else { continue };
            let dom = match c.entity {
                AnyEntity::Inst(i) => func.layout.inst_block(i),
                _ => None,
            };
            let Some(dom) = dom else {
                failures.push(Failure::at(c.location, "'dominates:' must be attached to an instruction"));
                continue;
            };
            for word in list.split_whitespace() {
                let Some(b) = parse_block(func, word) else {
                    failures.push(Failure::at(c.location, format!("expected a block of the function, got '{word}'")));
                    continue;
                };
                if expected.insert(b, dom).is_some() {
                    failures.push(Failure::at(c.location, format!("several immediate dominators given for {b}")));
                    continue;
                }
                match domtree.idom(b) {
                    Some(got) if got == dom => {}
                    Some(got) => {
                        failures.push(Failure::at(c.location, format!("idom of {b}: expected {dom}, got {got}")))
                    }
                    None => {
                        failures.push(Failure::at(c.location, format!("idom of {b}: expected {dom}, but {b} has none")))
                    }
                }
            }
        }
        for b in func.layout.blocks().skip(1) {
            if expected.contains_key(&b) {
                continue;
            }
            if let Some(got) = domtree.idom(b) {
                let at = details.map.location(AnyEntity::Block(b)).unwrap_or(details.location);
                failures.push(Failure::at(
                    at,
                    format!("{b} has immediate dominator {got} but no 'dominates:' annotation lists it"),
                ));
            }
        }
        if !failures.is_empty() {
            return Err(failures.into());
        }
        ctx.filecheck(details, &dump(&domtree))
    }
}

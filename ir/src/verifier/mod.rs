//! The verifier: checks every rule of REFERENCE §6 on a [`Function`] and reports each
//! violation at the entity it concerns (instruction, block, preamble declaration or the
//! function), so that `test verifier` annotations can be matched.
//!
//! It never panics, whatever the function holds: dangling entity references, out-of-range
//! indices, alias cycles, corrupt value lists and inconsistent layouts are reported instead.
//! To that end it works in phases, each trusting only what the previous ones established:
//!
//! 1. the layout: every block and instruction in it exists and appears once (otherwise
//!    nothing else can be iterated safely and verification stops);
//! 2. the preamble: global values, alias regions, signatures, external functions, dynamic
//!    types, the stack limit and the entry block's parameters ([`preamble`]);
//! 3. every block and instruction: structure (format, lists, tables), entity references,
//!    placement of terminators, then types and immediates ([`insts`], [`typecheck`]);
//! 4. SSA dominance, on the dominator tree, for uses in reachable blocks — only if phase 3
//!    found every instruction structurally sound, since analyses trust the structure.
//!
//! All errors are collected; a failed check only suppresses the checks that depend on it
//! (for example the operands of an instruction whose controlling type is invalid are not
//! typed against it), so one mistake yields one error rather than a cascade.

mod insts;
mod preamble;
mod typecheck;

use crate::analysis::{ControlFlowGraph, DominatorTree};
use crate::entities::{AnyEntity, Inst};
use crate::entity::EntitySet;
use crate::function::Function;
use crate::settings::{Flags, TargetSpec};
use crate::text::writer;
use crate::types::Type;
use core::fmt;

/// One verifier error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierError {
    /// The entity the error concerns.
    pub location: AnyEntity,
    /// The text of the offending instruction, when the error concerns one.
    pub context: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for VerifierError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match &self.context {
            None => write!(f, "{}: {}", self.location, self.message),
            Some(c) => write!(f, "{} ({}): {}", self.location, c, self.message),
        }
    }
}

impl std::error::Error for VerifierError {}

/// Every error found in a function.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifierErrors(pub Vec<VerifierError>);

impl VerifierErrors {
    /// No errors.
    pub fn new() -> Self {
        Self::default()
    }
    /// Are there no errors?
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Is there at least one error?
    pub fn has_error(&self) -> bool {
        !self.0.is_empty()
    }
    /// Number of errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Iterate over the errors.
    pub fn iter(&self) -> core::slice::Iter<'_, VerifierError> {
        self.0.iter()
    }
}

impl fmt::Display for VerifierErrors {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for VerifierErrors {}

impl From<Vec<VerifierError>> for VerifierErrors {
    fn from(v: Vec<VerifierError>) -> Self {
        VerifierErrors(v)
    }
}

impl<'a> IntoIterator for &'a VerifierErrors {
    type Item = &'a VerifierError;
    type IntoIter = core::slice::Iter<'a, VerifierError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// What the verifier knows about the compilation: the shared flags (always consulted) and
/// the target, if any (target-dependent rules run only with one).
#[derive(Copy, Clone, Debug)]
pub struct VerifierContext<'a> {
    /// Shared settings.
    pub flags: &'a Flags,
    /// The target, if known.
    pub target: Option<&'a TargetSpec>,
}

impl<'a> VerifierContext<'a> {
    /// A context without a target.
    pub fn new(flags: &'a Flags) -> Self {
        VerifierContext { flags, target: None }
    }
    /// A context with a target.
    pub fn with_target(flags: &'a Flags, target: &'a TargetSpec) -> Self {
        VerifierContext { flags, target: Some(target) }
    }
}

/// Verify `func`, computing the analyses it needs.
pub fn verify_function(func: &Function, ctx: &VerifierContext) -> Result<(), VerifierErrors> {
    let mut v = Verifier::new(func, ctx);
    if v.run_local_checks() {
        let cfg = ControlFlowGraph::with_function(func);
        let domtree = DominatorTree::with_function(func, &cfg);
        v.check_dominance(&domtree);
    }
    v.finish()
}

/// Verify `func` using already computed analyses (which must be up to date: the CFG is
/// checked against the function's branches, and a stale one is reported).
pub fn verify_function_with(
    func: &Function,
    ctx: &VerifierContext,
    cfg: &ControlFlowGraph,
    domtree: &DominatorTree,
) -> Result<(), VerifierErrors> {
    let mut v = Verifier::new(func, ctx);
    if v.run_local_checks() {
        if !cfg.is_valid() || !domtree.is_valid() {
            let cfg = ControlFlowGraph::with_function(func);
            let domtree = DominatorTree::with_function(func, &cfg);
            v.check_dominance(&domtree);
        } else {
            v.check_cfg(cfg);
            v.check_dominance(domtree);
        }
    }
    v.finish()
}

/// The state of one verification.
struct Verifier<'a> {
    func: &'a Function,
    ctx: &'a VerifierContext<'a>,
    errors: Vec<VerifierError>,
    /// The target's pointer type, if a target is known.
    ptr_ty: Option<Type>,
    /// Instructions whose structure (format, lists, tables, flag ids) is sound: they can be
    /// printed and analysed.
    sound: EntitySet<Inst>,
    /// Is every instruction of the layout sound, so that the CFG can be computed?
    all_sound: bool,
}

impl<'a> Verifier<'a> {
    fn new(func: &'a Function, ctx: &'a VerifierContext<'a>) -> Self {
        Verifier {
            func,
            ctx,
            errors: Vec::new(),
            ptr_ty: ctx.target.map(|t| t.pointer_type()),
            sound: EntitySet::new(),
            all_sound: true,
        }
    }

    /// Phases 1–3. Returns whether the dominance phase may run.
    fn run_local_checks(&mut self) -> bool {
        if !self.check_layout() {
            return false;
        }
        self.check_preamble();
        self.check_blocks();
        self.all_sound
    }

    fn finish(self) -> Result<(), VerifierErrors> {
        if self.errors.is_empty() { Ok(()) } else { Err(VerifierErrors(self.errors)) }
    }

    /// Report an error at an entity.
    fn report(&mut self, location: impl Into<AnyEntity>, message: impl Into<String>) {
        self.errors.push(VerifierError { location: location.into(), context: None, message: message.into() });
    }

    /// Report an error at an instruction, with its text as context when it can be printed.
    fn report_inst(&mut self, inst: Inst, message: impl Into<String>) {
        let context = self.sound.contains(inst).then(|| writer::inst_to_string(self.func, inst));
        self.errors.push(VerifierError { location: AnyEntity::Inst(inst), context, message: message.into() });
    }

    /// `opcode operands` of a sound instruction, for messages that quote it.
    fn inst_text(&self, inst: Inst) -> String {
        let op = self.func.dfg.insts[inst].opcode();
        let mut s = op.name().to_string();
        if let Some(t) = writer::type_suffix(self.func, inst) {
            s.push('.');
            s.push_str(&t.to_string());
        }
        let _ = writer::write_operands(&mut s, self.func, inst);
        s
    }
}

#[cfg(test)]
mod tests;

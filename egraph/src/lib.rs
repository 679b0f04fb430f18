//! # kiln-egraph — the mid-end optimizer
//!
//! [`optimize`] runs the passes of [`PIPELINE`] in order over one function; in debug builds
//! (with the `enable_verifier` setting) the verifier checks the function after every pass and
//! names the pass that broke it. The pipeline:
//!
//! 0. `resolve_aliases` — operands that are value aliases become the values they refer to;
//! 1. `unreachable_code` — remove blocks not reachable from the entry;
//! 2. `const_block_params` — a block parameter that receives the same value on every edge
//!    becomes that value;
//! 3. `alias_analysis` — compute, for every block, the last store each memory category
//!    (alias region, or "any") may have seen, respecting `readonly` and alias regions
//!    (module `alias`); redundant-load elimination and store-to-load forwarding use it in
//!    the next pass, where addresses are already value-numbered;
//! 4. `egraph` — pure instructions become hash-consed e-nodes (GVN), rewrite rules are
//!    applied eagerly with bounded budgets ([`rules`]), loads are deduplicated and forwarded
//!    from stores, the cheapest form of every value is extracted and elaborated back into
//!    the layout with loop-invariant code motion and rematerialization of constants (module
//!    `egraph`);
//! 5. `dead_code` — remove unused instructions without effects and unused block parameters;
//! 6. `cfg_cleanup` — fold constant branches, thread jumps through empty blocks, merge
//!    straight-line blocks, remove what became unreachable.
//!
//! Everything is linear or near-linear in the function size; memory lives in an
//! [`OptContext`] reused across functions. No input makes a pass panic or loop: the e-graph
//! has per-node and per-function rewrite budgets, and the data-flow fixpoints have
//! iteration limits with conservative fallbacks.

#![warn(missing_docs)]

mod alias;
mod cfg_cleanup;
mod const_params;
mod dce;
mod edges;
mod egraph;
mod fxhash;
pub mod rules;
mod scoped_map;
mod subst;
mod unreachable;

use kiln_ir::Function;
use kiln_ir::analysis::cfg::ControlFlowGraph;
use kiln_ir::analysis::domtree::DominatorTree;
use kiln_ir::analysis::loops::LoopAnalysis;
use kiln_ir::settings::{Flags, TargetSpec};
use kiln_ir::verifier::{VerifierContext, verify_function};

pub use rules::{rule_names, rule_topics};

/// A named pass of the pipeline.
pub struct Pass {
    /// The pass name (reported when the verifier fails after it).
    pub name: &'static str,
    /// Run the pass.
    pub run: fn(&mut Function, &mut OptContext) -> Result<(), String>,
}

/// The optimization pipeline, in order.
pub const PIPELINE: &[Pass] = &[
    Pass { name: "resolve_aliases", run: resolve_aliases },
    Pass { name: "unreachable_code", run: unreachable::run },
    Pass { name: "const_block_params", run: const_params::run },
    Pass { name: "alias_analysis", run: alias_pass },
    Pass { name: "egraph", run: egraph_pass },
    Pass { name: "dead_code", run: dce::run },
    Pass { name: "cfg_cleanup", run: cfg_cleanup::run },
];

/// The passes that also run at `opt_level=none` (as in Cranelift): they cost little, and
/// without them the register allocator would be handed block parameters that are not
/// parameters at all (a block with 40,000 parameters that all receive `v0`) and code that
/// can never run.
pub const MINIMAL_PIPELINE: &[Pass] = &[
    Pass { name: "resolve_aliases", run: resolve_aliases },
    Pass { name: "unreachable_code", run: unreachable::run },
    Pass { name: "const_block_params", run: const_params::run },
];

/// Knobs, mostly for tests.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Verify after every pass: `None` = in debug builds when `enable_verifier` is set.
    pub verify: Option<bool>,
    /// Apply only this rule (by index in [`rule_names`]); folding only if it is a folding rule.
    pub only_rule: Option<usize>,
    /// Extraction always prefers a rewrite over the form it rewrote (to test rules).
    pub force_rewrites: bool,
    /// Measure the time of each pass into [`Stats::pass_nanos`].
    pub time_passes: bool,
}

/// What the optimizer did (accumulated over the functions optimized with one context).
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Functions optimized.
    pub functions: u64,
    /// E-nodes created.
    pub nodes: u64,
    /// Nodes found already in the graph (global value numbering).
    pub gvn_hits: u64,
    /// Constant folds.
    pub folds: u64,
    /// Successful rule rewrites.
    pub rewrites: u64,
    /// Loads replaced by an earlier load.
    pub loads_removed: u64,
    /// Loads replaced by the value an earlier store wrote.
    pub loads_forwarded: u64,
    /// Trapping instructions merged with a dominating identical one.
    pub traps_merged: u64,
    /// Nodes placed by elaboration.
    pub placed: u64,
    /// Nodes hoisted out of loops.
    pub hoisted: u64,
    /// Constants rematerialized.
    pub remats: u64,
    /// Unreachable blocks removed.
    pub blocks_removed: u64,
    /// Block parameters removed (constant or unused).
    pub params_removed: u64,
    /// Dead instructions removed.
    pub insts_removed: u64,
    /// Branches folded or threaded, blocks merged.
    pub cfg_simplified: u64,
    /// Functions in which the rewrite budget ran out.
    pub budget_exhausted: u64,
    /// Successful applications of each rule (indexed like [`rule_names`]).
    pub rule_fires: Vec<u64>,
    /// Time spent in each pass of [`PIPELINE`], in nanoseconds (only with
    /// [`Options::time_passes`]).
    pub pass_nanos: Vec<u64>,
}

/// The optimizer failed; always a bug in a pass (the input was verified).
#[derive(Clone, Debug)]
pub struct OptError {
    /// The pass after which the function was found broken.
    pub pass: &'static str,
    /// What went wrong.
    pub message: String,
}

impl core::fmt::Display for OptError {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        write!(f, "optimizer pass {}: {}", self.pass, self.message)
    }
}

impl std::error::Error for OptError {}

/// Analyses and scratch memory shared by the passes, reused across functions.
#[derive(Default)]
pub struct OptContext {
    cfg: ControlFlowGraph,
    domtree: DominatorTree,
    loops: LoopAnalysis,
    cfg_valid: bool,
    alias: alias::AliasAnalysis,
    egraph: egraph::EGraph,
    build: egraph::build::BuildScratch,
    elab: egraph::elaborate::ElabScratch,
    blocks: Vec<kiln_ir::Block>,
    subst: subst::Subst,
    edges: edges::Edges,
    /// Statistics.
    pub stats: Stats,
    /// Options.
    pub options: Options,
}

impl OptContext {
    /// A fresh context.
    pub fn new() -> Self {
        Self::default()
    }

    /// The CFG and dominator tree of `func` (the function last optimized with this context),
    /// computed only if the last passes changed its control flow.
    pub fn analyses(&mut self, func: &Function) -> (&ControlFlowGraph, &DominatorTree) {
        self.ensure_cfg(func);
        (&self.cfg, &self.domtree)
    }

    /// Make sure the CFG and dominator tree describe `func`.
    fn ensure_cfg(&mut self, func: &Function) {
        if !self.cfg_valid {
            self.cfg.compute(func);
            self.domtree.compute(func, &self.cfg);
            self.cfg_valid = true;
        }
    }

    /// The CFG changed.
    fn invalidate_cfg(&mut self) {
        self.cfg_valid = false;
        self.alias.invalidate();
    }
}

/// Optimize `func` (which must be valid) for `flags`, on `target` if known.
pub fn optimize(
    func: &mut Function,
    ctx: &mut OptContext,
    flags: &Flags,
    target: Option<&TargetSpec>,
) -> Result<(), OptError> {
    run_pipeline(PIPELINE, func, ctx, flags, target)
}

/// Run only [`MINIMAL_PIPELINE`] on `func` (which must be valid): what `opt_level=none`
/// compilation does before lowering.
pub fn simplify(
    func: &mut Function,
    ctx: &mut OptContext,
    flags: &Flags,
    target: Option<&TargetSpec>,
) -> Result<(), OptError> {
    run_pipeline(MINIMAL_PIPELINE, func, ctx, flags, target)
}

fn run_pipeline(
    pipeline: &[Pass],
    func: &mut Function,
    ctx: &mut OptContext,
    flags: &Flags,
    target: Option<&TargetSpec>,
) -> Result<(), OptError> {
    ctx.cfg_valid = false;
    ctx.alias.invalidate();
    if func.layout.entry_block().is_none() {
        return Ok(());
    }
    ctx.stats.functions += 1;
    let verify = ctx.options.verify.unwrap_or(cfg!(debug_assertions) && flags.enable_verifier() != 0);
    if ctx.options.time_passes && ctx.stats.pass_nanos.len() < pipeline.len() {
        ctx.stats.pass_nanos.resize(pipeline.len(), 0);
    }
    for (k, pass) in pipeline.iter().enumerate() {
        let start = ctx.options.time_passes.then(std::time::Instant::now);
        (pass.run)(func, ctx).map_err(|message| OptError { pass: pass.name, message })?;
        if let Some(s) = start {
            ctx.stats.pass_nanos[k] += s.elapsed().as_nanos() as u64;
        }
        if verify {
            let vctx = VerifierContext { flags, target };
            verify_function(func, &vctx)
                .map_err(|e| OptError { pass: pass.name, message: format!("verifier errors:\n{e}") })?;
        }
    }
    Ok(())
}

fn resolve_aliases(func: &mut Function, _ctx: &mut OptContext) -> Result<(), String> {
    func.dfg.resolve_all_aliases();
    Ok(())
}

fn alias_pass(func: &mut Function, ctx: &mut OptContext) -> Result<(), String> {
    ctx.ensure_cfg(func);
    ctx.alias.compute(func, &ctx.cfg, &ctx.domtree);
    Ok(())
}

fn egraph_pass(func: &mut Function, ctx: &mut OptContext) -> Result<(), String> {
    ctx.ensure_cfg(func);
    if func.layout.blocks().any(|b| !ctx.domtree.is_reachable(b)) {
        // The build only visits reachable blocks; unreachable code must go first.
        unreachable::run(func, ctx)?;
        ctx.ensure_cfg(func);
    }
    if !ctx.alias.is_valid() {
        ctx.alias.compute(func, &ctx.cfg, &ctx.domtree);
    }
    ctx.loops.compute(func, &ctx.cfg, &ctx.domtree);
    let eg = &mut ctx.egraph;
    eg.clear(func);
    eg.only_rule = ctx.options.only_rule;
    eg.force_rewrites = ctx.options.force_rewrites;
    let b = egraph::build::build(func, eg, &ctx.domtree, &ctx.alias, &mut ctx.build);
    let e = egraph::elaborate::elaborate(func, eg, &ctx.domtree, &ctx.loops, &mut ctx.elab)?;
    ctx.alias.invalidate();
    let s = &mut ctx.stats;
    let c = &eg.counters;
    s.nodes += c.nodes;
    s.gvn_hits += c.gvn_hits;
    s.folds += c.folds;
    s.rewrites += c.rewrites;
    s.budget_exhausted += c.budget_exhausted as u64;
    s.loads_removed += b.loads_removed;
    s.loads_forwarded += b.loads_forwarded;
    s.traps_merged += b.traps_merged;
    s.placed += e.placed;
    s.hoisted += e.hoisted;
    s.remats += e.remats;
    if s.rule_fires.len() < eg.rule_fires.len() {
        s.rule_fires.resize(eg.rule_fires.len(), 0);
    }
    for (a, &b) in s.rule_fires.iter_mut().zip(&eg.rule_fires) {
        *a += b as u64;
    }
    Ok(())
}

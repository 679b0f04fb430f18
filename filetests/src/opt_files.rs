//! `clif-util opt`: run the mid-end optimizer on every function of the given files and print
//! the optimized CLIF.
//!
//! Settings and target come from the file as for `clif-util compile` (its first usable
//! `target` line, else the host), with `--set`/`--target` on top. The optimizer runs the
//! whole `opt_level=speed` pipeline whatever the file's `opt_level`, with the verifier after
//! every pass; `--stats` appends what it did.

use crate::native::{NativeOptions, load};
use kiln_egraph::OptContext;
use std::fmt::Write;
use std::path::Path;

/// Optimize and print every function of `path`. Returns whether all succeeded, and the text.
pub fn optimize_file(path: &Path, opts: &NativeOptions, stats: bool) -> (bool, String) {
    let mut out = String::new();
    let file = match load(path, opts, false) {
        Ok(f) => f,
        Err(e) => return (false, format!("{e}\n")),
    };
    let Some((spec, flags)) = file.configs.first() else {
        return (false, format!("{}: no target to optimize for\n", path.display()));
    };
    let mut ctx = OptContext::new();
    ctx.options.verify = Some(true);
    ctx.options.time_passes = stats;
    let mut ok = true;
    for (i, (f, _)) in file.functions.iter().enumerate() {
        let mut g = f.clone();
        if i > 0 {
            out.push('\n');
        }
        match kiln_egraph::optimize(&mut g, &mut ctx, flags, Some(spec)) {
            Ok(()) => {
                let _ = write!(out, "{}", g.display());
            }
            Err(e) => {
                ok = false;
                let _ = writeln!(out, "; {}: {e}", f.name);
            }
        }
    }
    if stats {
        let s = &ctx.stats;
        let _ = writeln!(
            out,
            "\n; {} functions: {} e-nodes, {} GVN hits, {} folds, {} rewrites, {} loads removed, {} forwarded, \
             {} hoisted, {} rematerialized, {} blocks removed, {} parameters removed, {} CFG simplifications",
            s.functions,
            s.nodes,
            s.gvn_hits,
            s.folds,
            s.rewrites,
            s.loads_removed,
            s.loads_forwarded,
            s.hoisted,
            s.remats,
            s.blocks_removed,
            s.params_removed,
            s.cfg_simplified
        );
        let times: Vec<String> = kiln_egraph::PIPELINE
            .iter()
            .zip(&s.pass_nanos)
            .map(|(p, n)| format!("{} {:.2} ms", p.name, *n as f64 / 1e6))
            .collect();
        let _ = writeln!(out, "; pass times: {}", times.join(", "));
        let names = kiln_egraph::rule_names();
        let mut fired: Vec<(u64, &String)> =
            s.rule_fires.iter().copied().zip(names.iter()).filter(|(n, _)| *n > 0).collect();
        fired.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        let fired: Vec<String> = fired.iter().map(|(n, name)| format!("{name} {n}")).collect();
        let _ = writeln!(out, "; rules fired: {}", if fired.is_empty() { "none".into() } else { fired.join(", ") });
    }
    (ok, out)
}

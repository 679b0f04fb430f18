//! The support oracle for a real target: an instruction (or a signature type) is generated
//! only if a one-instruction probe function containing it compiles for every ISA variant
//! the tester uses. Answers are memoized by the instruction's template (with numbers
//! erased) and types, so each distinct form is compiled once per process.
//!
//! Probes that fail with something other than `Unsupported` are recorded in
//! [`TargetSupport::errors`]: those are backend bugs, not gaps, and the tester reports them.
//!
//! A scalar form must compile on every variant. A form with a vector type only needs the
//! first variant (the host with all its extensions): some vector operations have no
//! sequence without SSSE3 (`swizzle`, general shuffles), and a case that uses one on the
//! baseline variant is skipped as `unsupported` there (counted in the statistics) instead
//! of never being generated at all.

use crate::generate::Support;
use kiln_codegen::{CodegenError, Context, TargetIsa};
use kiln_ir::Type;
use kiln_ir::settings::{Arch, Flags, TargetSpec};
use kiln_ir::text::parse_functions;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

/// A [`Support`] oracle that compiles probe functions with real ISAs.
pub struct TargetSupport {
    isas: Vec<Box<dyn TargetIsa>>,
    cache: HashMap<String, bool>,
    /// Forms the target rejected as unsupported: key → message.
    pub unsupported: BTreeMap<String, String>,
    /// Forms whose probe failed for another reason (a backend bug): key → message.
    pub errors: BTreeMap<String, String>,
}

/// The architecture the tester compiles for: x86-64 (the host) unless `set_target` chose
/// another (aarch64 and riscv64 run under qemu, see `kiln_filetests::cross_run`).
static TARGET: std::sync::OnceLock<Arch> = std::sync::OnceLock::new();

/// Compile for `arch` from now on (once per process, before the first case). `Err` if it was
/// already chosen otherwise, or there are no variants for it.
pub fn set_target(arch: Arch) -> Result<(), String> {
    if !matches!(arch, Arch::X86_64 | Arch::Aarch64 | Arch::Riscv64) {
        return Err(format!("no fuzzing variants for {arch:?}"));
    }
    TARGET.set(arch).or_else(|_| if target() == arch { Ok(()) } else { Err("the target was already chosen".into()) })
}

/// The architecture the tester compiles for.
pub fn target() -> Arch {
    *TARGET.get_or_init(|| Arch::X86_64)
}

/// Does the target lower vector types (so the generator should produce them)? x86-64,
/// aarch64 (NEON; forms it lacks are filtered out by the probes) and riscv64 (with V, on
/// its first two variants; the variant without V skips vector cases as unsupported).
pub fn vectors_supported() -> bool {
    matches!(target(), Arch::X86_64 | Arch::Aarch64 | Arch::Riscv64)
}

/// The ISA variants the tester compiles for. x86-64: the host with all its features, and a
/// baseline x86-64 without extensions (exercising fallback lowerings). aarch64: every
/// extension the lowering uses (qemu's `max` CPU has them all), and the baseline (LL/SC
/// atomics, no FP16). riscv64: RV64GC with V and every scalar extension the lowering uses,
/// with V and the compressed forms, and the base RV64G (no vectors).
pub fn isa_variants(flags: &Flags) -> Vec<(String, Box<dyn TargetIsa>)> {
    let mut v = Vec::new();
    let add = |v: &mut Vec<(String, Box<dyn TargetIsa>)>, triple: &str, words: &[&str]| {
        if let Ok(spec) = TargetSpec::parse(triple, words)
            && let Ok(isa) = kiln_isa::lookup(&spec, flags.clone())
        {
            v.push((format!("{triple} {}", words.join(" ")).trim().to_string(), isa));
        }
    };
    match target() {
        Arch::Aarch64 => {
            add(&mut v, "aarch64", &["has_lse", "has_fp16"]);
            add(&mut v, "aarch64", &[]);
        }
        Arch::Riscv64 => {
            add(&mut v, "riscv64", &["has_v", "has_zba", "has_zbb", "has_zbs", "has_zbkb", "has_zicond", "has_zfa"]);
            add(&mut v, "riscv64gc", &["has_v", "has_c", "has_zcb", "has_zba", "has_zbb"]);
            add(&mut v, "riscv64", &[]);
        }
        _ => {
            if let Ok(isa) = kiln_isa::native(flags.clone()) {
                let name = kiln_isa::host_isa_flags().map(|f| f.to_string()).unwrap_or_default();
                v.push((format!("x86_64 {name}").trim().to_string(), isa));
            }
            add(&mut v, "x86_64", &[]);
        }
    }
    v
}

/// How many ISA variants [`isa_variants`] gives for the chosen target (computed once).
pub fn isa_variant_count() -> usize {
    static COUNT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *COUNT.get_or_init(|| isa_variants(&Flags::default()).len())
}

impl TargetSupport {
    /// An oracle probing the ISA variants of the target with default settings.
    pub fn new() -> Self {
        let isas = isa_variants(&Flags::default()).into_iter().map(|(_, i)| i).collect();
        TargetSupport { isas, cache: HashMap::new(), unsupported: BTreeMap::new(), errors: BTreeMap::new() }
    }

    fn probe(&mut self, key: String, text: String, first_variant_only: bool) -> bool {
        if let Some(&ok) = self.cache.get(&key) {
            return ok;
        }
        let n = if first_variant_only { 1 } else { self.isas.len() };
        let mut ok = true;
        match parse_functions(&text) {
            Err(e) => {
                self.errors.insert(key.clone(), format!("probe does not parse: {e}\n{text}"));
                ok = false;
            }
            Ok(funcs) => {
                'isas: for isa in &self.isas[..n] {
                    for f in &funcs {
                        let mut ctx = Context::for_function(f.clone());
                        match ctx.compile(&**isa) {
                            Ok(_) => {}
                            Err(CodegenError::Unsupported(m)) => {
                                self.unsupported.insert(key.clone(), m);
                                ok = false;
                                break 'isas;
                            }
                            Err(e) => {
                                self.errors.insert(key.clone(), format!("{e}\n{text}"));
                                ok = false;
                                break 'isas;
                            }
                        }
                    }
                }
            }
        }
        self.cache.insert(key, ok);
        ok
    }
}

impl Default for TargetSupport {
    fn default() -> Self {
        Self::new()
    }
}

fn types_list(ts: &[Type]) -> String {
    ts.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
}

impl Support for TargetSupport {
    fn inst_ok(&mut self, _opcode: &'static str, template: &str, args: &[Type], results: &[Type]) -> bool {
        let shape: String = template.chars().map(|c| if c.is_ascii_digit() { '0' } else { c }).collect();
        let key = format!("{shape} : ({}) -> ({})", types_list(args), types_list(results));
        if self.cache.contains_key(&key) {
            return self.cache[&key];
        }
        let mut text = String::new();
        let rets = if results.is_empty() { String::new() } else { format!(" -> {}", types_list(results)) };
        let _ = writeln!(text, "function %probe({}){rets} system_v {{", types_list(args));
        let params: Vec<String> = args.iter().enumerate().map(|(i, t)| format!("v{i}: {t}")).collect();
        let _ = writeln!(text, "block0({}):", params.join(", "));
        let res: Vec<String> = (0..results.len()).map(|i| format!("v{}", 100 + i)).collect();
        let mut body = String::new();
        let mut n = 0;
        for ch in template.chars() {
            if ch == '#' {
                let _ = write!(body, "v{n}");
                n += 1;
            } else {
                body.push(ch);
            }
        }
        if res.is_empty() {
            let _ = writeln!(text, "    {body}");
        } else {
            let _ = writeln!(text, "    {} = {body}", res.join(", "));
        }
        let _ = writeln!(text, "    return {}\n}}", res.join(", "));
        let vector = args.iter().chain(results).any(|t| t.is_vector());
        self.probe(key, text, vector)
    }

    fn sig_type_ok(&mut self, ty: Type, cc: &'static str) -> bool {
        let key = format!("signature type {ty} {cc}");
        let text = format!(
            "function %p({ty}, {ty}) -> {ty}, {ty} {cc} {{\nblock0(v0: {ty}, v1: {ty}):\n    return v1, v0\n}}\n\n\
             function %q({ty}) -> {ty} {cc} {{\n    sig0 = ({ty}, {ty}) -> {ty}, {ty} {cc}\n    fn0 = %p sig0\n\
             block0(v0: {ty}):\n    v1, v2 = call fn0(v0, v0)\n    v3 = func_addr.i64 fn0\n\
             v4, v5 = call_indirect sig0, v3(v1, v2)\n    return v4\n}}\n"
        );
        self.probe(key, text, ty.is_vector())
    }
}

//! The rewrite rules: short declarative entries, one topic per file.
//!
//! A rule is written with the `rules!` macro as
//!
//! ```text
//! name : types : (lhs pattern) if (guard) (guard) … => (rhs template);
//! ```
//!
//! - `types` is a [`TypeClass`]: the rule applies when the controlling type of the matched
//!   root (for `icmp`, the operand type) belongs to it. `T` names that type in the rule.
//! - Patterns are s-expressions over opcodes: `(iadd x (iconst 0))`. Identifiers are
//!   variables (a repeated variable must be the same e-class); `(iconst c)` binds the
//!   constant `c`; `(icmp cc x y)` binds the condition code `cc` (or names one: `eq`, `ult`…);
//!   `(f64const c)` binds a float constant.
//! - Guards and computed immediates are small expressions (`(pow2 c)`, `(log2 c)`,
//!   `(add a b)`, `(ty_eq x T)`, `(swap cc)`, …; see `engine.rs`).
//! - Templates build new nodes; an opcode may carry a type (`iconst.T`, `iconst.i32`,
//!   `uextend.x` = the type of `x`); otherwise the type follows from the context. `(call f
//!   args…)` runs a Rust builder for rewrites too long for a template (magic-number
//!   division).
//!
//! The macro keeps every rule as text (checked for balanced parentheses by the compiler);
//! the text is compiled once per process into matchers indexed by root opcode
//! (`dsl.rs`). Every rule is checked for soundness by `soundness.rs` (tests), which
//! instantiates its left side on each type the rule allows and compares the interpreter's
//! results before and after the rewrite.
//!
//! Constant folding is one rule per foldable opcode (`fold.rs`): it evaluates the node with
//! the reference interpreter.

pub(crate) mod builders;
pub(crate) mod dsl;
pub(crate) mod engine;
pub(crate) mod fold;

mod arith;
mod bitwise;
mod divide;
mod extends;
mod float;
mod icmp;
mod select;
mod shifts;

#[cfg(test)]
mod soundness;
#[cfg(test)]
mod tests;

use kiln_ir::Opcode;
use kiln_ir::types::{self, Type};
use std::sync::OnceLock;

/// The types a rule applies to (by the controlling type of its root).
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
#[allow(non_camel_case_types)]
pub enum TypeClass {
    /// `i8`…`i64`.
    int,
    /// `i8`…`i128`.
    wint,
    /// `i32`, `i64`.
    i32_64,
    /// Integer scalars and integer vectors.
    intv,
    /// `f32`, `f64`.
    float,
    /// Every float scalar and float vector.
    fany,
    /// Every scalar type.
    scalar,
    /// Every scalar and vector type.
    any,
}

impl TypeClass {
    /// Does the class contain `ty`?
    pub fn contains(self, ty: Type) -> bool {
        if ty.is_dynamic_vector() || ty.is_invalid() {
            return false;
        }
        let scalar = ty.is_scalar();
        match self {
            TypeClass::int => scalar && ty.is_int() && ty.bits() <= 64,
            TypeClass::wint => scalar && ty.is_int(),
            TypeClass::i32_64 => ty == types::I32 || ty == types::I64,
            TypeClass::intv => ty.is_int(),
            TypeClass::float => ty == types::F32 || ty == types::F64,
            TypeClass::fany => ty.is_float(),
            TypeClass::scalar => scalar,
            TypeClass::any => true,
        }
    }

    /// Representative types of the class (for tests).
    pub fn examples(self) -> &'static [Type] {
        use types::*;
        match self {
            TypeClass::int => &[I8, I16, I32, I64],
            TypeClass::wint => &[I8, I16, I32, I64, I128],
            TypeClass::i32_64 => &[I32, I64],
            TypeClass::intv => &[I8, I16, I32, I64, I128, I8X16, I16X8, I32X4, I64X2],
            TypeClass::float => &[F32, F64],
            TypeClass::fany => &[F16, F32, F64, F128, F32X4, F64X2],
            TypeClass::scalar => &[I8, I16, I32, I64, I128, F16, F32, F64, F128],
            TypeClass::any => &[I8, I16, I32, I64, I128, F16, F32, F64, F128, I8X16, I32X4, F32X4, F64X2],
        }
    }
}

/// One rule as written.
#[derive(Debug)]
pub struct RuleDef {
    /// Unique name.
    pub name: &'static str,
    /// Types of the root's controlling type.
    pub types: TypeClass,
    /// The pattern, as text.
    pub lhs: &'static str,
    /// The guards, as text.
    pub guards: &'static [&'static str],
    /// The replacement, as text.
    pub rhs: &'static str,
}

/// Write a table of rules (see the module documentation).
#[macro_export]
#[doc(hidden)]
macro_rules! rules {
    ($($name:ident : $types:ident : $lhs:tt $(if $(($($guard:tt)*))+)? => $rhs:tt ;)*) => {
        pub(crate) const RULES: &[$crate::rules::RuleDef] = &[$(
            $crate::rules::RuleDef {
                name: stringify!($name),
                types: $crate::rules::TypeClass::$types,
                lhs: stringify!($lhs),
                guards: &[$($(stringify!(($($guard)*))),+)?],
                rhs: stringify!($rhs),
            }
        ),*];
    };
}

/// The topics, in the order their rules are tried.
pub(crate) const TOPICS: &[(&str, &[RuleDef])] = &[
    ("arith", arith::RULES),
    ("bitwise", bitwise::RULES),
    ("shifts", shifts::RULES),
    ("extends", extends::RULES),
    ("icmp", icmp::RULES),
    ("select", select::RULES),
    ("divide", divide::RULES),
    ("float", float::RULES),
];

/// A compiled rule.
pub(crate) enum Rule {
    /// Constant folding of one opcode.
    #[cfg_attr(not(test), allow(dead_code))]
    Fold(Opcode),
    /// A pattern rule.
    Pattern(dsl::Compiled),
}

/// All rules, compiled, with an index by root opcode.
pub(crate) struct RuleSet {
    pub rules: Vec<Rule>,
    /// Name and topic of each rule.
    pub names: Vec<(String, &'static str)>,
    /// Pattern rules by root opcode.
    pub by_op: Vec<Vec<u16>>,
    /// The fold rule of each opcode.
    pub fold_of: Vec<Option<u16>>,
    /// Rules whose text did not compile (a test checks this is empty).
    pub errors: Vec<String>,
}

/// The rule set, compiled on first use.
pub(crate) fn ruleset() -> &'static RuleSet {
    static SET: OnceLock<RuleSet> = OnceLock::new();
    SET.get_or_init(|| {
        let mut set = RuleSet {
            rules: Vec::new(),
            names: Vec::new(),
            by_op: vec![Vec::new(); Opcode::ALL.len()],
            fold_of: vec![None; Opcode::ALL.len()],
            errors: Vec::new(),
        };
        for &op in Opcode::ALL {
            if fold::foldable(op) {
                set.fold_of[op as usize] = Some(set.rules.len() as u16);
                set.rules.push(Rule::Fold(op));
                set.names.push((format!("fold_{}", op.name()), "fold"));
            }
        }
        for (topic, defs) in TOPICS {
            for def in defs.iter() {
                match dsl::compile(def) {
                    Ok(c) => {
                        let idx = set.rules.len() as u16;
                        set.by_op[c.root_op as usize].push(idx);
                        set.rules.push(Rule::Pattern(c));
                        set.names.push((def.name.to_string(), topic));
                    }
                    Err(e) => set.errors.push(format!("rule {}: {e}", def.name)),
                }
            }
        }
        set
    })
}

/// Number of rules (folding rules included).
pub(crate) fn rule_count() -> usize {
    ruleset().rules.len()
}

/// Is rule `i` a constant-folding rule?
pub(crate) fn is_fold_rule(i: usize) -> bool {
    matches!(ruleset().rules.get(i), Some(Rule::Fold(_)))
}

/// The folding rule of `op`.
pub(crate) fn fold_rule_index(op: Opcode) -> Option<usize> {
    ruleset().fold_of[op as usize].map(|i| i as usize)
}

/// A summary of the rule set: `(topic, number of rules)`, folding first.
pub fn rule_topics() -> Vec<(&'static str, usize)> {
    let mut out: Vec<(&'static str, usize)> = Vec::new();
    for (_, topic) in &ruleset().names {
        match out.iter_mut().find(|(t, _)| t == topic) {
            Some(e) => e.1 += 1,
            None => out.push((topic, 1)),
        }
    }
    out
}

/// The names of all rules, in order (folding rules are `fold_<opcode>`).
pub fn rule_names() -> Vec<String> {
    ruleset().names.iter().map(|(n, _)| n.clone()).collect()
}

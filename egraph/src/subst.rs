//! Value substitutions for passes that remove block parameters: instead of leaving value
//! aliases in the function (which the printer shows and every later reader must resolve),
//! a pass records `from → to` here and rewrites every operand of the layout once at the end.
//!
//! Invariant: the recorded substitution is acyclic (`set` refuses a pair that would close a
//! cycle), so resolving terminates; chains are followed up to their end.

use kiln_ir::entity::{PackedOption, SecondaryMap};
use kiln_ir::{Function, Value};

/// A set of pending value substitutions.
#[derive(Default)]
pub(crate) struct Subst {
    map: SecondaryMap<Value, PackedOption<Value>>,
    any: bool,
}

impl Subst {
    /// Forget every substitution.
    pub fn clear(&mut self) {
        self.map.clear();
        self.any = false;
    }

    /// The final replacement of `v` (aliases resolved too).
    pub fn resolve(&self, func: &Function, v: Value) -> Value {
        let mut v = func.dfg.resolve_aliases(v);
        // Chains are acyclic, so this ends; the bound guards against misuse.
        for _ in 0..=func.dfg.num_values() {
            match self.map.get(v).expand() {
                Some(t) => v = func.dfg.resolve_aliases(t),
                None => return v,
            }
        }
        v
    }

    /// Replace `from` by `to` everywhere; false (and nothing recorded) if that would make a
    /// cycle.
    pub fn set(&mut self, func: &Function, from: Value, to: Value) -> bool {
        let to = self.resolve(func, to);
        if to == from {
            return false;
        }
        self.map[from] = to.into();
        self.any = true;
        true
    }

    /// Rewrite every operand in the layout.
    pub fn apply(&self, func: &mut Function) {
        if !self.any {
            return;
        }
        let mut block = func.layout.entry_block();
        while let Some(b) = block {
            let mut cur = func.layout.first_inst(b);
            while let Some(i) = cur {
                cur = func.layout.next_inst(i);
                let mut hit = false;
                func.dfg.for_each_inst_value(i, |v| hit |= self.map.get(v).is_some() || func.dfg.value_is_alias(v));
                if hit {
                    func.dfg.map_inst_values(i, |dfg, v| {
                        let mut v = dfg.resolve_aliases(v);
                        for _ in 0..=dfg.num_values() {
                            match self.map.get(v).expand() {
                                Some(t) => v = dfg.resolve_aliases(t),
                                None => break,
                            }
                        }
                        v
                    });
                }
            }
            block = func.layout.next_block(b);
        }
    }
}

//! Function-level checks (REFERENCE §6 rules 1–4): global values (references, cycles,
//! `vmctx`, types with a target, regions), alias-region ids, signatures, external
//! functions (including `patchable` ones), dynamic types and slots, the stack limit and the
//! entry block's parameters.
//!
//! Placeholder entities (gaps in the preamble's numbering) are not checked, and naming one
//! counts as naming an undeclared entity. A signature error is reported at every external
//! function using the signature (that is where an inline signature is written), or at the
//! signature itself when no external function uses it.

use super::Verifier;
use crate::entities::*;
use crate::entity::{EntityRef, SecondaryMap};
use crate::extname::ExternalName;
use crate::function::GlobalValueData;
use crate::signature::{ArgumentExtension, ArgumentPurpose, CallConv, Signature};
use std::collections::HashMap;

impl Verifier<'_> {
    /// Phase 2.
    pub(super) fn check_preamble(&mut self) {
        self.check_global_values();
        self.check_alias_regions();
        self.check_signatures();
        self.check_ext_funcs();
        self.check_dynamic_entities();
        self.check_stack_limit();
        self.check_entry_block();
    }

    fn gv_is_declared(&self, gv: GlobalValue) -> bool {
        self.func.global_values.is_valid(gv) && !self.func.placeholders.global_values.contains(gv)
    }

    fn check_user_name(&mut self, loc: AnyEntity, name: &ExternalName) {
        if let ExternalName::User(r) = name
            && !self.func.user_named_funcs.is_valid(*r)
        {
            self.report(loc, format!("invalid user name reference {r}"));
        }
    }

    fn check_global_values(&mut self) {
        let func = self.func;
        let gvs = &func.global_values;
        let ph = &func.placeholders.global_values;
        for (gv, data) in gvs.iter() {
            if ph.contains(gv) {
                continue;
            }
            match data {
                GlobalValueData::VMContext => {
                    if func.signature.special_param_index(ArgumentPurpose::VMContext).is_none() {
                        self.report(gv, format!("undeclared vmctx reference {gv}"));
                    }
                }
                GlobalValueData::Load { base, flags, .. } => {
                    if !self.gv_is_declared(*base) {
                        self.report(gv, format!("invalid base {base} of {gv}"));
                    } else if let Some(ptr) = self.ptr_ty {
                        let base_ty = gvs[*base].global_type(ptr);
                        if base_ty != ptr {
                            self.report(
                                gv,
                                format!("base {base} has type {base_ty}, which is not the pointer type {ptr}"),
                            );
                        }
                    }
                    if let Some(r) = flags.alias_region()
                        && !func.alias_regions.is_valid(r)
                    {
                        self.report(gv, format!("undefined alias region {r}"));
                    }
                }
                GlobalValueData::IAddImm { base, global_type, .. } => {
                    if !self.gv_is_declared(*base) {
                        self.report(gv, format!("invalid base {base} of {gv}"));
                    } else if let Some(ptr) = self.ptr_ty {
                        if !global_type.is_int() || !global_type.is_scalar() {
                            self.report(gv, format!("iadd_imm global value with non-int type {global_type}"));
                        } else {
                            let base_ty = gvs[*base].global_type(ptr);
                            if base_ty != *global_type {
                                self.report(
                                    gv,
                                    format!("iadd_imm type {global_type} does not match base type {base_ty}"),
                                );
                            }
                        }
                    }
                }
                GlobalValueData::Symbol { name, .. } => self.check_user_name(gv.into(), name),
                GlobalValueData::DynScaleTargetConst { vector_type } => {
                    if !vector_type.is_vector() {
                        self.report(gv, format!("dyn_scale_target_const type {vector_type} is not a vector type"));
                    }
                }
            }
        }
        self.check_global_value_cycles();
    }

    /// Cycles through `load`/`iadd_imm` bases, reported once, at the first global value
    /// whose chain of bases runs into a cycle. Linear: chains already explored are not
    /// walked again.
    fn check_global_value_cycles(&mut self) {
        let gvs = &self.func.global_values;
        // 0: unexplored; k+1: on the chain started at gv k; u32::MAX: known to end.
        let mut state: SecondaryMap<GlobalValue, u32> = SecondaryMap::new();
        state.resize(gvs.len());
        let mut chain: Vec<GlobalValue> = Vec::new();
        for start in gvs.keys() {
            if state[start] != 0 || self.func.placeholders.global_values.contains(start) {
                continue;
            }
            let stamp = start.index() as u32 + 1;
            chain.clear();
            let mut cur = start;
            let cyclic = loop {
                state[cur] = stamp;
                chain.push(cur);
                let base = match gvs.get(cur) {
                    Some(GlobalValueData::Load { base, .. } | GlobalValueData::IAddImm { base, .. }) => *base,
                    _ => break false,
                };
                if !gvs.is_valid(base) {
                    break false;
                }
                match state[base] {
                    0 => cur = base,
                    s if s == stamp => break true,
                    _ => break false,
                }
            };
            for &g in &chain {
                state[g] = u32::MAX;
            }
            if cyclic {
                let list: Vec<String> = chain.iter().map(|g| g.to_string()).collect();
                self.report(start, format!("global value cycle: [{}]", list.join(", ")));
                return;
            }
        }
    }

    /// Rule 2: alias-region user ids are unique.
    fn check_alias_regions(&mut self) {
        let mut ids: HashMap<u32, AliasRegion> = HashMap::new();
        for (r, data) in self.func.alias_regions.iter() {
            if let Some(&first) = ids.get(&data.id) {
                self.report(r, format!("duplicate alias region user_id {} ({r} and {first})", data.id));
            } else {
                ids.insert(data.id, r);
            }
        }
    }

    /// Rule 4, for one signature reported at `loc`.
    fn check_signature(&mut self, sig: &Signature, loc: AnyEntity) {
        for (kind, list) in [("Parameter", &sig.params), ("Return value", &sig.returns)] {
            for (i, p) in list.iter().enumerate() {
                let t = p.value_type;
                if t.is_invalid() || t.is_dynamic_vector() {
                    self.report(loc, format!("{kind} at position {i} has an invalid type"));
                    continue;
                }
                if p.extension != ArgumentExtension::None && !(t.is_int() && t.is_scalar()) {
                    let (ext, name) =
                        if p.extension == ArgumentExtension::Uext { ("uext", "Uext") } else { ("sext", "Sext") };
                    self.report(
                        loc,
                        format!(
                            "{kind} at position {i} has invalid extension {name} (`{ext}` on non-integer type {t})"
                        ),
                    );
                }
                if kind == "Return value" && matches!(p.purpose, ArgumentPurpose::StructArgument(_)) {
                    self.report(loc, format!("Return value at position {i} cannot be a struct argument (`sarg`)"));
                }
            }
        }
        if sig.call_conv == CallConv::PreserveAll && !sig.returns.is_empty() {
            self.report(loc, "Signature with `preserve_all` ABI cannot have return values");
        }
    }

    fn check_signatures(&mut self) {
        let func = self.func;
        self.check_signature(&func.signature, AnyEntity::Function);
        let mut used_by_fn: SecondaryMap<SigRef, bool> = SecondaryMap::new();
        for (fr, ext) in func.dfg.ext_funcs.iter() {
            if !func.placeholders.func_refs.contains(fr) && func.dfg.signatures.is_valid(ext.signature) {
                used_by_fn[ext.signature] = true;
            }
        }
        for (sr, sig) in func.dfg.signatures.iter() {
            if !func.placeholders.signatures.contains(sr) && !used_by_fn[sr] {
                self.check_signature(sig, sr.into());
            }
        }
    }

    /// External functions: a declared signature and a valid name (the `patchable` rules are
    /// checked at the calls, rule 11).
    fn check_ext_funcs(&mut self) {
        let func = self.func;
        for (fr, ext) in func.dfg.ext_funcs.iter() {
            if func.placeholders.func_refs.contains(fr) {
                continue;
            }
            self.check_user_name(fr.into(), &ext.name);
            let sig = match func.dfg.signatures.get(ext.signature) {
                Some(s) if !func.placeholders.signatures.contains(ext.signature) => s,
                _ => {
                    self.report(fr, format!("invalid signature reference {}", ext.signature));
                    continue;
                }
            };
            self.check_signature(sig, fr.into());
        }
    }

    fn check_dynamic_entities(&mut self) {
        let func = self.func;
        for (dt, data) in func.dynamic_types.iter() {
            if func.placeholders.dynamic_types.contains(dt) {
                continue;
            }
            if !data.base_vector_ty.is_vector() {
                self.report(
                    dt,
                    format!("dynamic type {dt} must scale a fixed vector type, not {}", data.base_vector_ty),
                );
            }
            let gv = data.dynamic_scale;
            if !self.gv_is_declared(gv) {
                self.report(dt, format!("invalid global value {gv}"));
            } else if !matches!(func.global_values[gv], GlobalValueData::DynScaleTargetConst { .. }) {
                self.report(dt, format!("the scale {gv} of {dt} must be a dyn_scale_target_const global value"));
            }
        }
        for (dss, data) in func.dynamic_stack_slots.iter() {
            if func.placeholders.dynamic_stack_slots.contains(dss) {
                continue;
            }
            let dt = data.dyn_ty;
            if !func.dynamic_types.is_valid(dt) || func.placeholders.dynamic_types.contains(dt) {
                self.report(dss, format!("invalid dynamic type {dt}"));
            }
        }
    }

    fn check_stack_limit(&mut self) {
        if let Some(gv) = self.func.stack_limit
            && !self.gv_is_declared(gv)
        {
            self.report(AnyEntity::StackLimit, format!("invalid global value {gv}"));
        }
    }

    /// Rule 3: the entry block's parameters match the signature; it is not cold.
    fn check_entry_block(&mut self) {
        let func = self.func;
        let Some(entry) = func.layout.entry_block() else { return };
        if func.layout.is_cold(entry) {
            self.report(entry, "entry block cannot be marked as cold");
        }
        let Some(params) = func.dfg.try_block_params(entry) else { return };
        let sig = &func.signature.params;
        if params.len() != sig.len() {
            self.report(
                entry,
                format!("entry block parameters ({}) must match function signature ({})", params.len(), sig.len()),
            );
            return;
        }
        for (i, (&p, abi)) in params.iter().zip(sig).enumerate() {
            let t = func.dfg.value_type(p);
            if t != abi.value_type {
                self.report(
                    entry,
                    format!("entry block parameter {i} expected to have type {}, got {t}", abi.value_type),
                );
            }
        }
    }
}

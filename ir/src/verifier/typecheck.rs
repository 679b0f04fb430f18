//! Type checking driven by the opcode table (REFERENCE §6 rules 17–25) and the
//! instruction-specific rules (8, 11–16, 26–29).
//!
//! The controlling type `T` comes from the designated operand (`OpcodeInfo::infer`) or, for
//! result-typed opcodes, from the first result; it must be in the opcode's `ctrl` set.
//! Results must equal the types derived from `T` (calls: the callee signature), fixed
//! operands must satisfy their [`Constraint`], variable operands are typed by the callee
//! signature or the function's returns, and block calls by the target's parameters.
//! Every mismatch is reported; an invalid controlling type stops the checks that depend on
//! it.

use super::Verifier;
use super::insts::{TargetKind, arg_text, is_try_call};
use crate::entities::*;
use crate::instructions::{BlockArg, InstructionData};
use crate::opcodes::{Constraint, Opcode};
use crate::settings::Flags;
use crate::signature::Signature;
use crate::types::{self, Type};
use smallvec::SmallVec;

/// A short description of the types a constraint accepts, for messages.
fn describe(c: Constraint, ctrl: Type) -> String {
    match c {
        Constraint::Free(set) => set.to_string(),
        Constraint::FreeSameLanes(set) => format!("{set} with {} lanes", ctrl.lane_count()),
        Constraint::Narrower => format!("scalars of the kind of {ctrl} narrower than it"),
        Constraint::Wider => format!("scalars of the kind of {ctrl} wider than it"),
        Constraint::Addr => "i32|i64".to_string(),
        other => match other.resolve(ctrl) {
            Some(t) => t.to_string(),
            None => format!("{other:?} of {ctrl}"),
        },
    }
}

impl<'a> Verifier<'a> {
    /// The signature of a call instruction (references already checked).
    fn callee_signature(&self, inst: Inst) -> Option<&'a Signature> {
        let func: &'a crate::function::Function = self.func;
        let dfg = &func.dfg;
        dfg.call_signature(inst).and_then(|s| dfg.signatures.get(s))
    }

    pub(super) fn typecheck(&mut self, inst: Inst, data: &InstructionData) {
        let func = self.func;
        let dfg = &func.dfg;
        let op = data.opcode();
        let info = op.info();
        let args = data.arguments(&dfg.value_lists);
        let results = dfg.inst_results(inst);

        // Rule 17: the controlling type.
        let ctrl = if op.is_polymorphic() {
            let t = match info.infer {
                Some(i) => match args.get(i as usize) {
                    Some(&v) => dfg.value_type(v),
                    None => {
                        self.report_inst(inst, format!("{op} needs at least {} value operands", i + 1));
                        return;
                    }
                },
                None => match results.first() {
                    Some(&r) => dfg.value_type(r),
                    None => {
                        let n = info.results.len();
                        self.report_inst(
                            inst,
                            format!("has fewer result values than expected (instruction produces {n} result values, 0 given)"),
                        );
                        return;
                    }
                },
            };
            if !info.ctrl.contains(t) {
                self.report_inst(
                    inst,
                    format!("has an invalid controlling type {t} ({t} is not a valid typevar for {op})"),
                );
                return;
            }
            t
        } else {
            types::INVALID
        };

        // Rules 8 and 18: results.
        let expected: SmallVec<[Type; 4]> = match op {
            Opcode::Call | Opcode::CallIndirect => match self.callee_signature(inst) {
                Some(sig) => sig.returns.iter().map(|p| p.value_type).collect(),
                None => return,
            },
            _ => {
                let mut v = SmallVec::new();
                for c in info.results {
                    match c.resolve(ctrl) {
                        Some(t) => v.push(t),
                        None => {
                            self.report_inst(inst, format!("{op} has no result type for controlling type {ctrl}"));
                            return;
                        }
                    }
                }
                v
            }
        };
        if results.len() != expected.len() {
            let (n, m) = (expected.len(), results.len());
            let which = if m > n { "more" } else { "fewer" };
            self.report_inst(
                inst,
                format!("has {which} result values than expected (instruction produces {n} result values, {m} given)"),
            );
        }
        for (i, (&r, &e)) in results.iter().zip(&expected).enumerate() {
            let t = dfg.value_type(r);
            if t != e {
                self.report_inst(inst, format!("expected result {i} ({r}) to have type {e}, found {t}"));
            }
        }

        // Rule 19: fixed operands.
        if args.len() < info.args.len() || (!op.format().has_value_list() && args.len() != info.args.len()) {
            self.report_inst(inst, format!("has {} value operands, {op} expects {}", args.len(), info.args.len()));
            return;
        }
        for (i, (&c, &v)) in info.args.iter().zip(args).enumerate() {
            let t = dfg.value_type(v);
            if c.accepts(t, ctrl) {
                continue;
            }
            match c.resolve(ctrl) {
                Some(e) => self.report_inst(inst, format!("arg {i} ({v}) has type {t}, expected {e}")),
                None => self.report_inst(
                    inst,
                    format!("arg {i} ({v}) with type {t} failed to satisfy type set {}", describe(c, ctrl)),
                ),
            }
        }

        // Rules 21–24: variable operands of calls and returns.
        let rest = &args[info.args.len()..];
        match op {
            Opcode::Return => {
                let rets = &func.signature.returns;
                if rest.len() != rets.len() {
                    self.report_inst(inst, "arguments of return must match function signature");
                } else {
                    for (i, (&v, p)) in rest.iter().zip(rets).enumerate() {
                        let t = dfg.value_type(v);
                        if t != p.value_type {
                            self.report_inst(
                                inst,
                                format!("result {i} has type {t}, must match function signature of {}", p.value_type),
                            );
                        }
                    }
                }
            }
            _ if op.is_call() && op != Opcode::StackSwitch => self.check_call(inst, data, rest),
            _ => {}
        }

        // Rule 20: block calls.
        self.check_block_calls(inst, data);
    }

    /// Call arguments and the call-kind rules (tail calls, exceptions, patchable callees).
    fn check_call(&mut self, inst: Inst, data: &InstructionData, args: &[Value]) {
        let func = self.func;
        let dfg = &func.dfg;
        let op = data.opcode();
        let Some(sig) = self.callee_signature(inst) else { return };
        // A try_call whose exception table names another signature than the callee's gets
        // that one error (below), not one per argument.
        let table_mismatch = match *data {
            InstructionData::TryCall { exception, .. } => {
                dfg.exception_tables.get(exception).and_then(|t| dfg.signatures.get(t.sig)) != Some(sig)
            }
            _ => false,
        };
        if table_mismatch {
        } else if args.len() != sig.params.len() {
            let text = self.inst_text(inst);
            self.report_inst(
                inst,
                format!("mismatched argument count for `{text}`: got {}, expected {}", args.len(), sig.params.len()),
            );
        } else {
            for (i, (&v, p)) in args.iter().zip(&sig.params).enumerate() {
                let t = dfg.value_type(v);
                if t != p.value_type {
                    self.report_inst(inst, format!("arg {i} ({v}) has type {t}, expected {}", p.value_type));
                }
            }
        }
        match op {
            Opcode::ReturnCall | Opcode::ReturnCallIndirect => {
                let cc = sig.call_conv;
                if !cc.supports_tail_calls() {
                    self.report_inst(inst, format!("calling convention `{cc}` does not support tail calls"));
                }
                if cc != func.signature.call_conv {
                    self.report_inst(
                        inst,
                        format!(
                            "callee's calling convention must match caller (callee `{cc}`, caller `{}`)",
                            func.signature.call_conv
                        ),
                    );
                }
                if sig.returns.len() != func.signature.returns.len() {
                    self.report_inst(inst, "results of callee must match caller");
                } else {
                    for (i, (a, b)) in sig.returns.iter().zip(&func.signature.returns).enumerate() {
                        if a.value_type != b.value_type {
                            self.report_inst(
                                inst,
                                format!(
                                    "result {i} has type {}, must match function signature of {}",
                                    a.value_type, b.value_type
                                ),
                            );
                        }
                    }
                }
                if let InstructionData::Call { func_ref, .. } = *data
                    && dfg.ext_funcs[func_ref].patchable
                {
                    self.report_inst(inst, format!("patchable function {func_ref} cannot be tail-called"));
                }
            }
            Opcode::Call => {
                // Rule 11: a patchable callee is colocated and returns nothing.
                if let InstructionData::Call { func_ref, .. } = *data
                    && let Some(ext) = dfg.ext_funcs.get(func_ref)
                    && ext.patchable
                {
                    if !ext.colocated {
                        self.report_inst(inst, format!("patchable call to non-colocated function {func_ref}"));
                    }
                    if !sig.returns.is_empty() {
                        self.report_inst(
                            inst,
                            format!("patchable call cannot occur to a function with return values ({func_ref})"),
                        );
                    }
                }
            }
            Opcode::TryCall | Opcode::TryCallIndirect => {
                let cc = sig.call_conv;
                if !cc.supports_exceptions() {
                    self.report_inst(inst, format!("calling convention `{cc}` of callee does not support exceptions"));
                }
                if let InstructionData::TryCall { func_ref, exception, .. } = *data {
                    let table_sig = dfg.exception_tables[exception].sig;
                    let callee_sig = dfg.ext_funcs[func_ref].signature;
                    if dfg.signatures.get(table_sig) != Some(sig) {
                        self.report_inst(
                            inst,
                            format!(
                                "exception table signature {table_sig} did not match function {func_ref}'s signature {callee_sig}"
                            ),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    /// Rule 20: every block call passes the target's parameters, and `retK`/`exnK` only
    /// where they exist.
    fn check_block_calls(&mut self, inst: Inst, data: &InstructionData) {
        let func = self.func;
        let dfg = &func.dfg;
        let pool = &dfg.value_lists;
        let targets = self.block_call_targets(data);
        if targets.is_empty() {
            return;
        }
        // What `retK` and `exnK` stand for, for try calls.
        let (ret_types, payloads, cc): (SmallVec<[Type; 4]>, usize, _) = match self.callee_signature(inst) {
            Some(sig) if is_try_call(data.opcode()) => (
                sig.returns.iter().map(|p| p.value_type).collect(),
                sig.call_conv.exception_payloads(),
                Some(sig.call_conv),
            ),
            _ => (SmallVec::new(), 0, None),
        };
        for (call, kind) in targets {
            let block = call.block(pool);
            let Some(params) = dfg.try_block_params(block).filter(|_| func.layout.is_block_inserted(block)) else {
                continue; // reported as an invalid block reference
            };
            if call.len(pool) != params.len() {
                self.report_inst(
                    inst,
                    format!(
                        "mismatched argument count for `{}`: got {}, expected {}",
                        call.display(pool),
                        call.len(pool),
                        params.len()
                    ),
                );
                continue;
            }
            for (a, &p) in call.args(pool).zip(params) {
                let expected = dfg.value_type(p);
                let actual = match a {
                    BlockArg::Value(v) => dfg.value_type(v),
                    BlockArg::TryCallRet(k) => {
                        if kind != TargetKind::TryNormal {
                            self.report_inst(
                                inst,
                                format!("`retN` block argument used outside normal-return target of `try_call` ({a})"),
                            );
                            continue;
                        }
                        match ret_types.get(k as usize) {
                            Some(&t) => t,
                            None => {
                                self.report_inst(
                                    inst,
                                    format!("{a} is out of range: the callee has {} return values", ret_types.len()),
                                );
                                continue;
                            }
                        }
                    }
                    BlockArg::TryCallExn(k) => {
                        if kind != TargetKind::TryHandler {
                            // (Cranelift's wording, kept so its tests' patterns match.)
                            self.report_inst(
                                inst,
                                format!("`exnN` block argument used outside normal-return target of `try_call` ({a} is only valid in a handler target)"),
                            );
                            continue;
                        }
                        if k as usize >= payloads {
                            let cc = cc.map_or(String::new(), |c| format!(" `{c}`"));
                            self.report_inst(
                                inst,
                                format!(
                                    "out-of-bounds `exnN` block argument: {a}, but the callee's calling convention{cc} has {payloads} exception payloads"
                                ),
                            );
                            continue;
                        }
                        // Payloads are pointer-sized integers.
                        match self.ptr_ty {
                            Some(p) => p,
                            None if expected == types::I32 || expected == types::I64 => expected,
                            None => types::I64,
                        }
                    }
                };
                if actual != expected {
                    self.report_inst(inst, format!("arg {} has type {actual}, expected {expected}", arg_text(a)));
                }
            }
        }
    }

    /// Instruction-specific rules that do not follow from the opcode table.
    pub(super) fn check_special(&mut self, inst: Inst, data: &InstructionData) {
        let func = self.func;
        let dfg = &func.dfg;
        let op = data.opcode();
        let ctrl = dfg.ctrl_typevar(inst);
        let ctrl_ok = !op.is_polymorphic() || op.info().ctrl.contains(ctrl);

        // Rule 12.
        match op {
            Opcode::GetPinnedReg | Opcode::SetPinnedReg => {
                if self.ctx.target.is_none() {
                    self.report_inst(inst, format!("{op} needs a target ISA"));
                } else if !Flags::on(self.ctx.flags.enable_pinned_reg()) {
                    self.report_inst(inst, format!("{op} cannot be used without enable_pinned_reg"));
                }
            }
            Opcode::GetFramePointer | Opcode::GetReturnAddress => {
                if self.ctx.target.is_none() {
                    self.report_inst(inst, format!("{op} needs a target ISA"));
                } else if !Flags::on(self.ctx.flags.preserve_frame_pointers()) {
                    self.report_inst(inst, format!("`{op}` cannot be used without enabling `preserve_frame_pointers`"));
                }
            }
            _ => {}
        }

        // Rule 14: address width of memory accesses (type-set errors are reported by the
        // operand constraints).
        if op.is_memory_access()
            && let Some(ptr) = self.ptr_ty
        {
            let addr = match *data {
                InstructionData::Load { arg, .. } | InstructionData::LoadNoOffset { arg, .. } => Some(arg),
                InstructionData::Store { args, .. } | InstructionData::StoreNoOffset { args, .. } => Some(args[1]),
                InstructionData::AtomicRmw { args, .. } => Some(args[0]),
                InstructionData::AtomicCas { args, .. } => Some(args[0]),
                _ => None,
            };
            if let Some(a) = addr {
                let t = dfg.value_type(a);
                if (t == types::I32 || t == types::I64) && t != ptr {
                    self.report_inst(
                        inst,
                        format!("invalid pointer width (got {}, expected {}) encountered {a}", t.bits(), ptr.bits()),
                    );
                }
            }
        }

        // Rule 26.
        if op.can_store()
            && op.is_memory_access()
            && let Some(flags) = dfg.inst_mem_flags(inst)
            && flags.readonly()
        {
            self.report_inst(inst, "A store instruction cannot have the `readonly` MemFlag");
        }

        match *data {
            // Rule 13.
            InstructionData::LoadNoOffset { opcode: Opcode::Bitcast, arg, flags } => {
                let from = dfg.value_type(arg);
                if ctrl_ok && from.bits() != ctrl.bits() {
                    self.report_inst(
                        inst,
                        format!(
                            "The bitcast argument {arg} has a type of {} bits, which doesn't match an expected type of {} bits",
                            from.bits(),
                            ctrl.bits()
                        ),
                    );
                }
                let flags = dfg.mem_flags.get(flags);
                if !flags.is_only_endianness() {
                    self.report_inst(inst, "The bitcast instruction only accepts the `big` or `little` memory flags");
                } else if ctrl_ok && from.lane_count() != ctrl.lane_count() && flags.explicit_endianness().is_none() {
                    self.report_inst(
                        inst,
                        format!(
                            "Byte order specifier required for bitcast instruction changing lane count from {} to {}",
                            from.lane_count(),
                            ctrl.lane_count()
                        ),
                    );
                }
            }
            // Rule 15.
            InstructionData::UnaryConst { opcode, constant } => {
                let want = if opcode == Opcode::F128const { 16 } else { ctrl.bytes() as usize };
                let have = dfg.constants[constant].len();
                if (ctrl_ok || opcode == Opcode::F128const) && have != want {
                    self.report_inst(
                        inst,
                        format!("The instruction expects {constant} to have a size of {want} bytes but it has {have}"),
                    );
                }
            }
            // Rule 16.
            InstructionData::ExceptionHandlerAddress { block, imm, .. } => {
                let last = func.layout.last_inst(block);
                let table = last.and_then(|l| match dfg.insts[l] {
                    InstructionData::TryCall { exception, .. } | InstructionData::TryCallIndirect { exception, .. } => {
                        dfg.exception_tables.get(exception)
                    }
                    _ => None,
                });
                match table {
                    None => self.report_inst(inst, format!("referenced block {block} does not end in a try_call")),
                    Some(t) => {
                        let n = t.all_branches().len().saturating_sub(1);
                        if imm.0 < 0 {
                            self.report_inst(inst, format!("exception handler index {imm} cannot be negative"));
                        } else if imm.0 as u64 >= n as u64 {
                            self.report_inst(
                                inst,
                                format!(
                                    "exception handler index {imm} is out-of-range (the try_call ending {block} has {n} handler targets)"
                                ),
                            );
                        }
                    }
                }
            }
            // Rule 25 (with a target, which defines the pointer type).
            InstructionData::UnaryGlobalValue { global_value, .. } => {
                if let Some(ptr) = self.ptr_ty
                    && ctrl_ok
                {
                    let gty = func.global_values[global_value].global_type(ptr);
                    if gty != ctrl {
                        self.report_inst(
                            inst,
                            format!(
                                "global_value instruction with type {ctrl} references global value with type {gty}"
                            ),
                        );
                    }
                }
            }
            // Rule 27.
            InstructionData::TernaryImm8 { opcode: Opcode::Insertlane, imm, .. }
            | InstructionData::BinaryImm8 { opcode: Opcode::Extractlane, imm, .. }
                if ctrl_ok && u32::from(imm) >= ctrl.lane_count() =>
            {
                self.report_inst(inst, format!("The lane {imm} does not index into the type {ctrl}"));
            }
            // Rule 28.
            InstructionData::Shuffle { mask, .. } => {
                let bytes = dfg.immediates[mask].as_slice();
                if bytes.len() != 16 {
                    self.report_inst(
                        inst,
                        format!("the shuffle immediate wasn't 16 bytes long ({} bytes)", bytes.len()),
                    );
                }
                for (i, &b) in bytes.iter().enumerate() {
                    if b > 31 {
                        self.report_inst(
                            inst,
                            format!("shuffle immediate index {b} is larger than the maximum 31 (lane {i})"),
                        );
                    }
                }
            }
            // Rule 29.
            InstructionData::UnaryImm { opcode: Opcode::Iconst, imm } => {
                let bits = ctrl.bits();
                if ctrl_ok && bits < 64 && (imm.0 as u64) >> bits != 0 {
                    self.report_inst(inst, format!("constant immediate is out of bounds for {ctrl}"));
                }
            }
            _ => {}
        }
    }
}

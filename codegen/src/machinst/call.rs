//! Calls, returns and function arguments, lowered once for every target.
//!
//! The lowering driver hands these instructions to this module instead of the target:
//! `call`, `call_indirect`, `try_call`, `try_call_indirect`, `return_call`,
//! `return_call_indirect` and `return`, plus runtime-library calls a target asks for
//! ([`Lower::lower_libcall`]) and the function's own arguments. Everything that follows
//! from the calling convention happens here — argument and return locations (computed once
//! per signature: [`SigCache`]), extensions, arguments passed in a register of another class
//! ([`AbiSpec::gen_class_move`]), stack arguments, return areas, exception-handler tables
//! and landing pads, which clobbers count toward the caller's saves, the libcall
//! convention — and the target supplies only instruction forms through its ABI object:
//! [`AbiSpec::gen_call`] and [`AbiSpec::gen_return_call`] (given a [`CallInfo`]),
//! loads/stores/moves, `gen_args`/`gen_rets`, [`AbiSpec::gen_exception_payloads`].
//!
//! Invariants: a call's `uses`/`defs` are fixed-register operands (the allocator moves the
//! values); its `clobbers` never include a register it defines; a `try_call` ends its
//! block, and its values (returns, exception payloads) are allocated by whichever of its
//! edge blocks is lowered first (blocks are lowered backwards).

use crate::machinst::abi::{ABIArg, ABIArgSlot, AbiSpec, ArgPair, ComputedSig, RetPair, StackAMode, compute_sig};
use crate::machinst::buffer::{HandlerTag, RelocTarget};
use crate::machinst::lower::Lower;
use crate::machinst::{MachInst, MachLabel, OperandVisitor, Reg, ValueRegs, Writable};
use crate::{CodegenError, CodegenResult};
use kiln_ir::entity::EntityRef;
use kiln_ir::extname::{ExternalName, LibCall};
use kiln_ir::instructions::ExceptionItem;
use kiln_ir::signature::{AbiParam, ArgumentExtension, CallConv, Signature};
use kiln_ir::types::{self, Type};
use kiln_ir::{Function, Inst, InstructionData, SigRef, Value};
use regalloc2::{PReg, PRegSet};
use smallvec::SmallVec;

/// The target of a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallDest {
    /// A named function: PC-relative if `colocated`, else through an absolute address.
    Name {
        /// The symbol.
        name: RelocTarget,
        /// Within near-call range.
        colocated: bool,
    },
    /// The address in a register.
    Indirect(Reg),
}

/// The control-flow side of a `try_call`.
#[derive(Clone, Debug)]
pub struct TryCallInfo {
    /// Where a normal return continues.
    pub normal: MachLabel,
    /// Handler tags and the labels of their landing pads (the handler edge blocks, which
    /// start with the exception-payload pseudo-instruction).
    pub handlers: Vec<(HandlerTag, MachLabel)>,
}

/// Everything a target needs to emit a call or a tail call.
#[derive(Clone, Debug)]
pub struct CallInfo {
    /// The callee.
    pub dest: CallDest,
    /// Arguments in fixed registers.
    pub uses: SmallVec<[(Reg, PReg); 8]>,
    /// Return values in fixed registers.
    pub defs: SmallVec<[(Writable<Reg>, PReg); 4]>,
    /// Registers the callee may clobber (minus those in `defs`).
    pub clobbers: PRegSet,
    /// The callee's convention.
    pub callee_conv: CallConv,
    /// Bytes of stack arguments the callee pops (the `tail` convention).
    pub callee_pop: u32,
    /// For `try_call`: the normal-return target and the exception handlers (recorded with
    /// the call site). Such a call ends its block: after it, a jump to the normal target
    /// unless that block comes next.
    pub try_call: Option<TryCallInfo>,
    /// For tail calls: the bytes of stack arguments the new callee receives, already
    /// stored at the bottom of the outgoing area, to copy over the incoming area.
    pub tail_stack_args: u32,
}

impl CallInfo {
    /// Report the argument uses, return defs and clobbers to `v` (the target reports the
    /// callee register of an indirect call itself, with whatever constraint it needs).
    pub fn visit_operands(&mut self, v: &mut impl OperandVisitor) {
        for (r, p) in self.uses.iter_mut() {
            v.reg_fixed_use(r, *p);
        }
        for (r, p) in self.defs.iter_mut() {
            v.reg_fixed_def(r, *p);
        }
        v.reg_clobbers(self.clobbers);
    }
}

/// The relocation target for an external name of `f`.
pub fn reloc_target(f: &Function, name: &ExternalName) -> CodegenResult<RelocTarget> {
    Ok(match name {
        ExternalName::User(r) => {
            let u = f.user_named_funcs.get(*r).ok_or_else(|| CodegenError::Other("bad user name".into()))?;
            RelocTarget::User { namespace: u.namespace, index: u.index }
        }
        ExternalName::TestCase(s) => RelocTarget::TestCase(s.clone()),
        ExternalName::LibCall(l) => RelocTarget::LibCall(*l),
        ExternalName::KnownSymbol(k) => RelocTarget::KnownSymbol(*k),
    })
}

/// The convention of runtime-library calls: the `libcall_call_conv` flag, or the
/// platform's default (`isa_default`).
pub fn libcall_call_conv<I: MachInst>(abi: &dyn AbiSpec<I = I>) -> CallConv {
    match abi.flags().libcall_call_conv() {
        1 => CallConv::Fast,
        2 => CallConv::SystemV,
        3 => CallConv::WindowsFastcall,
        4 => CallConv::AppleAarch64,
        5 => CallConv::Probestack,
        6 => CallConv::PreserveAll,
        _ => abi.default_call_conv(),
    }
}

/// The argument and return locations of every signature a function declares, computed
/// once per function.
#[derive(Default)]
pub struct SigCache {
    /// By `SigRef` index; `None` if the signature cannot be lowered (the error is made
    /// again when a call uses it).
    sigs: Vec<Option<ComputedSig>>,
}

impl SigCache {
    /// The signatures of `func` under `abi`.
    pub fn new<I: MachInst>(func: &Function, abi: &dyn AbiSpec<I = I>) -> SigCache {
        SigCache { sigs: func.dfg.signatures.iter().map(|(_, sig)| compute_sig(abi, sig).ok()).collect() }
    }

    /// Does the call `inst` pass a return-area pointer (its callee returns values on the
    /// stack)? False for anything that is not a call with a valid signature.
    pub fn uses_return_area(&self, func: &Function, inst: Inst) -> bool {
        func.dfg
            .call_signature(inst)
            .and_then(|s| self.sigs.get(s.index()))
            .and_then(|c| c.as_ref())
            .is_some_and(|c| c.stack_ret_arg.is_some())
    }

    /// Take the computed signature of `sig_ref` out (put it back with [`SigCache::put`]),
    /// or the error computing it gives.
    fn take<I: MachInst>(
        &mut self,
        func: &Function,
        abi: &dyn AbiSpec<I = I>,
        sig_ref: SigRef,
    ) -> CodegenResult<ComputedSig> {
        if let Some(c) = self.sigs.get_mut(sig_ref.index()).and_then(|c| c.take()) {
            return Ok(c);
        }
        let sig = func.dfg.signatures.get(sig_ref).ok_or_else(|| CodegenError::Other(format!("bad {sig_ref}")))?;
        compute_sig(abi, sig)
    }

    fn put(&mut self, sig_ref: SigRef, c: ComputedSig) {
        if let Some(slot) = self.sigs.get_mut(sig_ref.index()) {
            *slot = Some(c);
        }
    }
}

impl<'f, I: MachInst> Lower<'f, I> {
    /// Run `body` with the computed signature of the call `inst`.
    fn with_call_sig<R>(
        &mut self,
        inst: Inst,
        body: impl FnOnce(&mut Self, &ComputedSig) -> CodegenResult<R>,
    ) -> CodegenResult<R> {
        let f = self.f;
        let sig_ref = f.dfg.call_signature(inst).ok_or_else(|| CodegenError::Other("call without signature".into()))?;
        let csig = self.sigs.take(f, self.abi, sig_ref)?;
        let r = body(self, &csig);
        self.sigs.put(sig_ref, csig);
        r
    }

    /// The callee of the call `inst`.
    fn call_dest(&mut self, inst: Inst) -> CodegenResult<CallDest> {
        let f = self.f;
        match *self.data(inst) {
            InstructionData::Call { func_ref, .. } | InstructionData::TryCall { func_ref, .. } => {
                let ext = f.dfg.ext_funcs.get(func_ref).ok_or_else(|| CodegenError::Other("bad func_ref".into()))?;
                Ok(CallDest::Name { name: reloc_target(f, &ext.name)?, colocated: ext.colocated })
            }
            _ => Ok(CallDest::Indirect(self.put_value_in_reg(self.inputs(inst)[0])?)),
        }
    }

    /// The registers a call of `call_conv` clobbers besides its return registers (`defs`);
    /// notes the ones the prologue must save.
    fn call_clobbers(&mut self, call_conv: CallConv, defs: &[(Writable<Reg>, PReg)], is_try: bool) -> PRegSet {
        let mut c = if is_try { self.abi.try_call_clobbers(call_conv) } else { self.abi.call_clobbers(call_conv) };
        for (_, p) in defs {
            c.remove(*p);
        }
        let caller = self.callee.sig.call_conv;
        self.callee.note_call_clobbers(self.abi.call_clobbers_to_save(caller, call_conv, c));
        c
    }

    /// Lower `call`/`call_indirect`, or the call of `try_call*` when `try_call` is given.
    pub(crate) fn lower_call(&mut self, inst: Inst, try_call: Option<TryCallInfo>) -> CodegenResult<()> {
        self.with_call_sig(inst, |ctx, csig| {
            let f = ctx.f;
            let cc = csig.call_conv;
            let dest = ctx.call_dest(inst)?;
            let ret_area = if csig.stack_ret_arg.is_some() {
                let t = ctx.alloc_tmp(types::I64)?;
                ctx.emit(ctx.abi.gen_stack_addr(StackAMode::OutgoingArg(csig.stack_arg_space as i64), t));
                Some(t.to_reg())
            } else {
                None
            };
            let uses = ctx.gen_call_args(csig, f.dfg.call_args(inst), ret_area)?;
            let is_try = try_call.is_some();
            let results: SmallVec<[ValueRegs; 4]> = if is_try {
                ctx.take_try_call_values(inst)?.0
            } else {
                let mut v = SmallVec::new();
                for i in 0..f.dfg.inst_results(inst).len() {
                    v.push(ctx.output_regs(inst, i)?);
                }
                v
            };
            let (defs, moves) = ctx.gen_call_ret_defs(csig, &results)?;
            if is_try && !moves.is_empty() {
                return Err(CodegenError::Unsupported(
                    "try_call returning a value in a register of another class".into(),
                ));
            }
            let clobbers = ctx.call_clobbers(cc, &defs, is_try);
            let callee_pop = if cc == CallConv::Tail { csig.stack_arg_space } else { 0 };
            let info =
                CallInfo { dest, uses, defs, clobbers, callee_conv: cc, callee_pop, try_call, tail_stack_args: 0 };
            ctx.emit(ctx.abi.gen_call(Box::new(info)));
            for m in moves {
                ctx.emit(m);
            }
            // A try_call is its block's terminator: its stack returns are loaded in the
            // normal-return edge block (`gen_try_call_normal_edge`).
            if csig.stack_ret_arg.is_some() && !is_try {
                ctx.gen_call_stack_rets(csig, &results, csig.stack_arg_space as i64)?;
            }
            Ok(())
        })
    }

    /// Lower `try_call`/`try_call_indirect`: the call with the handlers of its exception
    /// table. `targets` are the labels of its destinations (normal return first).
    pub(crate) fn lower_try_call(&mut self, inst: Inst, targets: &[MachLabel]) -> CodegenResult<()> {
        let et = match *self.data(inst) {
            InstructionData::TryCall { exception, .. } | InstructionData::TryCallIndirect { exception, .. } => {
                exception
            }
            _ => return Err(CodegenError::Other(format!("{inst} is not a try_call"))),
        };
        let table =
            self.f.dfg.exception_tables.get(et).ok_or_else(|| CodegenError::Other("bad exception table".into()))?;
        let mut handlers = Vec::with_capacity(table.items.len());
        let mut targets_left = targets.iter().skip(1);
        for item in &table.items {
            let tag = match item {
                ExceptionItem::Tag(t) => HandlerTag::Tag(*t),
                ExceptionItem::Default => HandlerTag::Default,
                ExceptionItem::Context(_) => continue,
            };
            let l = targets_left.next().ok_or_else(|| CodegenError::Other("exception table without targets".into()))?;
            handlers.push((tag, *l));
        }
        let normal = *targets.first().ok_or_else(|| CodegenError::Other("try_call without targets".into()))?;
        self.lower_call(inst, Some(TryCallInfo { normal, handlers }))
    }

    /// Lower `return_call`/`return_call_indirect` (the `tail` convention on both sides).
    pub(crate) fn lower_return_call(&mut self, inst: Inst) -> CodegenResult<()> {
        self.with_call_sig(inst, |ctx, csig| {
            if csig.call_conv != CallConv::Tail || ctx.f.signature.call_conv != CallConv::Tail {
                return Err(CodegenError::Unsupported("return_call outside the tail calling convention".into()));
            }
            let ret_area = match (csig.stack_ret_arg.is_some(), ctx.callee.sig.stack_ret_arg.is_some()) {
                (false, false) => None,
                // The returns are the caller's (the verifier checks), so the callee writes
                // them into the return area our own caller provided: pass its pointer on.
                (true, true) => Some(ctx.ret_area_ptr()?),
                _ => {
                    return Err(CodegenError::Unsupported(
                        "tail call between signatures with different return areas".into(),
                    ));
                }
            };
            let dest = ctx.call_dest(inst)?;
            let uses = ctx.gen_call_args(csig, ctx.f.dfg.call_args(inst), ret_area)?;
            let info = CallInfo {
                dest,
                uses,
                defs: SmallVec::new(),
                clobbers: PRegSet::empty(),
                callee_conv: csig.call_conv,
                callee_pop: 0,
                try_call: None,
                tail_stack_args: csig.stack_arg_space,
            };
            let call = ctx.abi.gen_return_call(Box::new(info))?;
            ctx.emit(call);
            Ok(())
        })
    }

    /// Call the runtime-library routine `lib` with `args`, writing `inst`'s results (for
    /// operations a target implements by a call: `ceil` without SSE4.1, …), under the
    /// libcall convention.
    pub fn lower_libcall(&mut self, inst: Inst, lib: LibCall, args: &[Value]) -> CodegenResult<()> {
        let arg_regs = self.libcall_args(args)?;
        let mut results = SmallVec::<[(ValueRegs, Type); 2]>::new();
        for i in 0..self.f.dfg.inst_results(inst).len() {
            let ty = self.value_ty(self.f.dfg.inst_results(inst)[i]);
            results.push((self.output_regs(inst, i)?, ty));
        }
        self.emit_libcall(lib, &arg_regs, &results)
    }

    /// Call `lib` for the single-result `inst` as [`Self::lower_libcall`] does, but into a
    /// new temporary that is returned, so the target can post-process the result (NaN
    /// canonicalization) before it becomes the instruction's value.
    pub fn libcall_value(&mut self, inst: Inst, lib: LibCall, args: &[Value]) -> CodegenResult<Reg> {
        let &[r] = self.f.dfg.inst_results(inst) else {
            return Err(CodegenError::Other(format!("{lib}: libcall_value needs one result")));
        };
        let ty = self.value_ty(r);
        let t = self.alloc_tmp(ty)?.to_reg();
        let arg_regs = self.libcall_args(args)?;
        self.emit_libcall(lib, &arg_regs, &[(ValueRegs::one(t), ty)])?;
        Ok(t)
    }

    /// The registers and types of libcall arguments.
    fn libcall_args(&mut self, args: &[Value]) -> CodegenResult<SmallVec<[(ValueRegs, Type); 4]>> {
        let mut regs = SmallVec::new();
        for &a in args {
            regs.push((self.put_value_in_regs(a)?, self.value_ty(a)));
        }
        Ok(regs)
    }

    /// Call the runtime-library routine `lib` with arguments already in registers, writing
    /// the registers of `results` (for operations a target implements lane by lane with a
    /// call: vector `fma` without the FMA extension, …), under the libcall convention.
    pub fn emit_libcall(
        &mut self,
        lib: LibCall,
        args: &[(ValueRegs, Type)],
        results: &[(ValueRegs, Type)],
    ) -> CodegenResult<()> {
        let cc = libcall_call_conv(self.abi);
        let mut sig = Signature::new(cc);
        for (_, ty) in args {
            sig.params.push(AbiParam::new(*ty));
        }
        for (_, ty) in results {
            sig.returns.push(AbiParam::new(*ty));
        }
        let csig = compute_sig(self.abi, &sig)?;
        if csig.stack_ret_arg.is_some() {
            return Err(CodegenError::Unsupported(format!("{lib} returning through memory")));
        }
        let arg_regs: SmallVec<[ValueRegs; 4]> = args.iter().map(|(r, _)| *r).collect();
        let uses = self.gen_call_arg_regs(&csig, &arg_regs, None)?;
        let results: SmallVec<[ValueRegs; 2]> = results.iter().map(|(r, _)| *r).collect();
        let (defs, moves) = self.gen_call_ret_defs(&csig, &results)?;
        let clobbers = self.call_clobbers(cc, &defs, false);
        let colocated = self.flags.use_colocated_libcalls() != 0;
        let info = CallInfo {
            dest: CallDest::Name { name: RelocTarget::LibCall(lib), colocated },
            uses,
            defs,
            clobbers,
            callee_conv: cc,
            callee_pop: 0,
            try_call: None,
            tail_stack_args: 0,
        };
        self.emit(self.abi.gen_call(Box::new(info)));
        for m in moves {
            self.emit(m);
        }
        Ok(())
    }

    /// A register of class `preg`'s holding `r` (a `ty` value): `r` itself, or a new one
    /// the value is moved to when the convention passes it in another class.
    fn in_class_of(&mut self, r: Reg, preg: PReg, ty: Type) -> CodegenResult<Reg> {
        if r.class() == preg.class() {
            return Ok(r);
        }
        let t = Writable::from_reg(self.alloc_vreg(preg.class(), I::canonical_type_for_rc(preg.class()))?);
        let mv = self.abi.gen_class_move(t, r, ty)?;
        self.emit(mv);
        Ok(t.to_reg())
    }

    /// Move call arguments into place for a call with signature `csig`: register
    /// arguments are returned as (vreg, preg) uses for the call instruction (extended if
    /// the signature asks, moved to the register class the convention uses), stack
    /// arguments are stored to the outgoing area now.
    pub fn gen_call_args(
        &mut self,
        csig: &ComputedSig,
        args: &[Value],
        ret_area: Option<Reg>,
    ) -> CodegenResult<SmallVec<[(Reg, PReg); 8]>> {
        let mut regs = SmallVec::<[ValueRegs; 8]>::new();
        for &v in args {
            regs.push(self.put_value_in_regs(v)?);
        }
        self.gen_call_arg_regs(csig, &regs, ret_area)
    }

    /// [`Self::gen_call_args`] for arguments already in registers.
    pub fn gen_call_arg_regs(
        &mut self,
        csig: &ComputedSig,
        args: &[ValueRegs],
        ret_area: Option<Reg>,
    ) -> CodegenResult<SmallVec<[(Reg, PReg); 8]>> {
        let mut uses = SmallVec::new();
        self.callee.accumulate_outgoing_args_size(csig.stack_arg_space + csig.stack_ret_space);
        let mut ai = 0usize;
        for (i, loc) in csig.args.iter().enumerate() {
            let regs = if Some(i) == csig.stack_ret_arg {
                ValueRegs::one(ret_area.ok_or_else(|| CodegenError::Other("missing return area".into()))?)
            } else {
                let r = *args.get(ai).ok_or_else(|| CodegenError::Other("too few call arguments".into()))?;
                ai += 1;
                r
            };
            match loc {
                ABIArg::Slots { slots, .. } => {
                    for (k, slot) in slots.iter().enumerate() {
                        let r = regs.reg(k.min(regs.len() - 1));
                        match *slot {
                            ABIArgSlot::Reg { reg, ty, extension } => {
                                uses.push((self.value_for_reg_slot(r, reg, ty, extension)?, reg));
                            }
                            ABIArgSlot::Stack { offset, ty, extension } => {
                                let r = self.extend_for_abi(r, ty, extension)?;
                                let sty = if extension != ArgumentExtension::None { types::I64 } else { ty };
                                self.emit(self.abi.gen_store_stack(StackAMode::OutgoingArg(offset), r, sty));
                            }
                        }
                    }
                }
                ABIArg::StructArg { .. } => {
                    return Err(CodegenError::Unsupported("struct arguments (sarg) in calls".into()));
                }
            }
        }
        Ok(uses)
    }

    /// The register to pass `r` (a `ty` value) in register slot `reg`: extended as the
    /// signature asks, moved to `reg`'s class if it differs.
    fn value_for_reg_slot(&mut self, r: Reg, reg: PReg, ty: Type, ext: ArgumentExtension) -> CodegenResult<Reg> {
        let r = self.extend_for_abi(r, ty, ext)?;
        self.in_class_of(r, reg, ty)
    }

    fn extend_for_abi(&mut self, r: Reg, ty: Type, ext: ArgumentExtension) -> CodegenResult<Reg> {
        let bits = ty.bits();
        if ext == ArgumentExtension::None || !ty.is_int() || bits >= 64 {
            return Ok(r);
        }
        let dst = self.alloc_tmp(types::I64)?;
        self.emit(self.abi.gen_extend(dst, r, ext == ArgumentExtension::Sext, bits as u8, 64));
        Ok(dst.to_reg())
    }

    /// The (vreg, preg) defs of a call's register return values, writing the call's
    /// results, and the moves to emit after the call for values the convention returns in
    /// a register of another class. Stack return values are loaded from the return area by
    /// [`gen_call_stack_rets`](Self::gen_call_stack_rets).
    #[allow(clippy::type_complexity)]
    pub fn gen_call_ret_defs(
        &mut self,
        csig: &ComputedSig,
        results: &[ValueRegs],
    ) -> CodegenResult<(SmallVec<[(Writable<Reg>, PReg); 4]>, SmallVec<[I; 2]>)> {
        let mut defs = SmallVec::new();
        let mut moves = SmallVec::new();
        for (loc, regs) in csig.rets.iter().zip(results) {
            if let ABIArg::Slots { slots, .. } = loc {
                for (k, slot) in slots.iter().enumerate() {
                    if let ABIArgSlot::Reg { reg, ty, .. } = *slot {
                        let r = regs.reg(k);
                        if r.class() == reg.class() {
                            defs.push((Writable::from_reg(r), reg));
                        } else {
                            let t = self.alloc_vreg(reg.class(), I::canonical_type_for_rc(reg.class()))?;
                            defs.push((Writable::from_reg(t), reg));
                            moves.push(self.abi.gen_class_move(Writable::from_reg(r), t, ty)?);
                        }
                    }
                }
            }
        }
        Ok((defs, moves))
    }

    /// Load the stack return values of a call from its return area (after the call).
    pub fn gen_call_stack_rets(
        &mut self,
        csig: &ComputedSig,
        results: &[ValueRegs],
        ret_area_base: i64,
    ) -> CodegenResult<()> {
        for (loc, regs) in csig.rets.iter().zip(results) {
            if let ABIArg::Slots { slots, .. } = loc {
                for (k, slot) in slots.iter().enumerate() {
                    if let ABIArgSlot::Stack { offset, ty, .. } = *slot {
                        let mem = StackAMode::OutgoingArg(ret_area_base + offset);
                        self.emit(self.abi.gen_load_stack(mem, Writable::from_reg(regs.reg(k)), ty));
                    }
                }
            }
        }
        Ok(())
    }

    /// Emit the return of `values` from the function: register values become uses of the
    /// return pseudo-instruction, stack values are stored through the return-area pointer.
    pub(crate) fn gen_return(&mut self, values: &[Value]) -> CodegenResult<()> {
        self.with_own_sig(|ctx, csig| ctx.gen_return_with(csig, values))
    }

    /// Run `body` with the function's own computed signature.
    fn with_own_sig<R>(&mut self, body: impl FnOnce(&mut Self, &ComputedSig) -> CodegenResult<R>) -> CodegenResult<R> {
        let csig = core::mem::take(&mut self.callee.sig);
        let r = body(self, &csig);
        self.callee.sig = csig;
        r
    }

    fn gen_return_with(&mut self, csig: &ComputedSig, values: &[Value]) -> CodegenResult<()> {
        let mut rets = Vec::new();
        for (loc, &v) in csig.rets.iter().zip(values) {
            let regs = self.put_value_in_regs(v)?;
            if let ABIArg::Slots { slots, .. } = loc {
                for (k, slot) in slots.iter().enumerate() {
                    let r = regs.reg(k.min(regs.len() - 1));
                    match *slot {
                        ABIArgSlot::Reg { reg, ty, extension } => {
                            rets.push(RetPair { vreg: self.value_for_reg_slot(r, reg, ty, extension)?, preg: reg });
                        }
                        ABIArgSlot::Stack { offset, ty, .. } => {
                            let base = self.ret_area_ptr()?;
                            self.emit(self.abi.gen_store_base_offset(base, offset as i32, r, ty));
                        }
                    }
                }
            }
        }
        let pop = if csig.call_conv == CallConv::Tail { csig.stack_arg_space } else { 0 };
        self.emit(self.abi.gen_rets(rets, pop));
        Ok(())
    }

    /// Receive the function's arguments into `params` (the entry block's parameter
    /// registers): register arguments are defined by the argument pseudo-instruction (moved
    /// from another class where the convention passes them so), stack arguments loaded,
    /// the return-area pointer kept.
    pub(crate) fn gen_args(&mut self, params: &[ValueRegs]) -> CodegenResult<()> {
        self.with_own_sig(|ctx, csig| ctx.gen_args_with(csig, params))
    }

    fn gen_args_with(&mut self, csig: &ComputedSig, params: &[ValueRegs]) -> CodegenResult<()> {
        let mut pairs = Vec::new();
        let mut after = Vec::new();
        let mut pi = 0usize;
        for (i, loc) in csig.args.iter().enumerate() {
            let regs = if Some(i) == csig.stack_ret_arg {
                ValueRegs::one(self.ret_area_ptr()?)
            } else {
                let r = *params.get(pi).ok_or_else(|| CodegenError::Other("signature/params mismatch".into()))?;
                pi += 1;
                r
            };
            match loc {
                ABIArg::Slots { slots, .. } => {
                    for (k, slot) in slots.iter().enumerate() {
                        let r = regs.reg(k.min(regs.len() - 1));
                        match *slot {
                            ABIArgSlot::Reg { reg, ty, .. } => {
                                if r.class() == reg.class() {
                                    pairs.push(ArgPair { vreg: Writable::from_reg(r), preg: reg });
                                } else {
                                    let class = reg.class();
                                    let t = self.alloc_vreg(class, I::canonical_type_for_rc(class))?;
                                    pairs.push(ArgPair { vreg: Writable::from_reg(t), preg: reg });
                                    after.push(self.abi.gen_class_move(Writable::from_reg(r), t, ty)?);
                                }
                            }
                            ABIArgSlot::Stack { offset, ty, .. } => {
                                after.push(self.abi.gen_load_stack(
                                    StackAMode::IncomingArg(offset),
                                    Writable::from_reg(r),
                                    ty,
                                ));
                            }
                        }
                    }
                }
                ABIArg::StructArg { offset, .. } => {
                    after.push(
                        self.abi.gen_stack_addr(StackAMode::IncomingArg(*offset), Writable::from_reg(regs.reg(0))),
                    );
                }
            }
        }
        self.emit(self.abi.gen_args(pairs));
        for l in after {
            self.emit(l);
        }
        Ok(())
    }

    /// The start of a `try_call` handler edge (a landing pad): the exception payloads
    /// arrive in the registers of the callee's convention.
    pub(crate) fn gen_exception_payloads(&mut self, call_conv: CallConv, payloads: &[Reg]) -> CodegenResult<()> {
        if payloads.is_empty() {
            return Ok(());
        }
        let pregs = self.abi.exception_payload_regs(call_conv);
        if pregs.len() < payloads.len() {
            return Err(CodegenError::Unsupported(format!("exception payloads under {call_conv}")));
        }
        let defs = payloads.iter().zip(pregs).map(|(r, p)| (Writable::from_reg(*r), *p)).collect();
        self.emit(self.abi.gen_exception_payloads(defs));
        Ok(())
    }

    /// The start of the normal-return edge block of the `try_call` `term` (split only when
    /// its callee returns values through a return area): load those values into the
    /// try_call's return registers.
    pub(crate) fn gen_try_call_normal_edge(&mut self, term: Inst) -> CodegenResult<()> {
        self.with_call_sig(term, |ctx, csig| {
            if csig.stack_ret_arg.is_some() {
                let results = ctx.take_try_call_values(term)?.0;
                ctx.gen_call_stack_rets(csig, &results, csig.stack_arg_space as i64)?;
            }
            Ok(())
        })
    }

    pub(crate) fn try_call_values_for_edge(&mut self, term: Inst) -> CodegenResult<()> {
        // The try_call itself is lowered with its block (after its edges, in backward
        // order, edges come later in the order so they are lowered first); its values
        // are allocated here on demand so both sides agree.
        let f = self.f;
        let sig = f.dfg.call_signature(term).and_then(|s| f.dfg.signatures.get(s));
        let Some(sig) = sig else { return Err(CodegenError::Other("try_call without a signature".into())) };
        if self.try_call_rets.is_empty() && !sig.returns.is_empty() {
            let mut rets = SmallVec::new();
            for p in &sig.returns {
                rets.push(self.alloc_regs(p.value_type)?);
            }
            self.try_call_rets = rets;
        }
        Ok(())
    }

    /// The registers of the return values of the `try_call` terminating the current block
    /// (allocated by its edge blocks, lowered first, or now), and the exception payload
    /// registers of the landing pad lowered last (each landing pad has its own).
    pub(crate) fn take_try_call_values(
        &mut self,
        inst: Inst,
    ) -> CodegenResult<(SmallVec<[ValueRegs; 4]>, SmallVec<[Reg; 2]>)> {
        self.try_call_values_for_edge(inst)?;
        Ok((self.try_call_rets.clone(), self.try_call_payloads.clone()))
    }

    /// Forget the try_call values after the try_call's block is done.
    pub(crate) fn clear_try_call_values(&mut self) {
        self.try_call_rets.clear();
        self.try_call_payloads.clear();
    }
}

//! Property test of the reference interpreter: EVERY opcode of the table is evaluated on
//! random inputs of EVERY type its table row allows (controlling types from
//! `TypeSet::fixed_types()` plus the dynamic forms where allowed, free operand types drawn
//! from their constraint), in single-instruction functions built through the DFG/Layout
//! API. Each evaluation must give results of exactly the table's result types, or a trap
//! (or, for the few opcodes where it is the specified outcome, a debug trap / undefined
//! behaviour report / "unsupported"); never a panic and never an `Invalid` error for this
//! well-typed IR. At least one million evaluations in total; counts per opcode are printed.

mod common;

use common::{Fb, Rng};
use kiln_ir::condcodes::{FloatCC, IntCC};
use kiln_ir::constant::ConstantData;
use kiln_ir::data_value::DataValue;
use kiln_ir::entities::Value;
use kiln_ir::extname::{ExtFuncData, ExternalName};
use kiln_ir::function::{DynamicStackSlotData, DynamicTypeData, Function, GlobalValueData, StackSlotData};
use kiln_ir::immediates::{Ieee16, Ieee32, Ieee64, Imm64, Offset32};
use kiln_ir::instructions::{
    AtomicRmwOp, BlockArg, BlockCall, ExceptionItem, ExceptionTableData, InstructionData as D, JumpTableData,
};
use kiln_ir::interp::{InterpConfig, InterpError, Interpreter};
use kiln_ir::memflags::{Endianness, MemFlags};
use kiln_ir::opcodes::{Constraint, InstructionFormat as F, Opcode};
use kiln_ir::signature::{AbiParam, ArgumentPurpose, CallConv, Signature};
use kiln_ir::trapcode::TrapCode;
use kiln_ir::types::{self, Type, TypeSet};
use std::collections::BTreeMap;

const PTR: Type = types::I64;

/// One runnable case: functions (the entry first), the entry's argument types, and the
/// expected result types.
struct Case {
    funcs: Vec<Function>,
    params: Vec<Type>,
    results: Vec<Type>,
}

fn all_fixed() -> Vec<Type> {
    TypeSet { lanes: TypeSet::INTS | TypeSet::FLOATS, counts: TypeSet::SCALAR | TypeSet::VECTORS, dynamic: 0 }
        .fixed_types()
        .collect()
}

/// Controlling types of a set: fixed ones and dynamic ones.
fn ctrl_types(set: TypeSet) -> Vec<Type> {
    let mut v: Vec<Type> = set.fixed_types().collect();
    let dynamic = TypeSet { lanes: set.lanes, counts: set.dynamic, dynamic: 0 };
    v.extend(dynamic.fixed_types().filter_map(|t| t.vector_to_dynamic()));
    v
}

fn norm(t: Type) -> Type {
    t.dynamic_to_vector().unwrap_or(t)
}

/// Pick a type for constraint `c` under `ctrl`.
fn pick(c: Constraint, ctrl: Type, rng: &mut Rng, fixed: &[Type]) -> Option<Type> {
    if let Some(t) = c.resolve(ctrl) {
        return Some(t);
    }
    if c == Constraint::Addr {
        return Some(PTR);
    }
    let cands: Vec<Type> = fixed.iter().copied().filter(|&t| c.accepts(t, ctrl)).collect();
    if cands.is_empty() {
        // Dynamic operands of FreeSameLanes.
        let dyns: Vec<Type> =
            fixed.iter().filter_map(|t| t.vector_to_dynamic()).filter(|&t| c.accepts(t, ctrl)).collect();
        if dyns.is_empty() {
            return None;
        }
        return Some(dyns[rng.below(dyns.len() as u64) as usize]);
    }
    Some(cands[rng.below(cands.len() as u64) as usize])
}

fn rand_flags(rng: &mut Rng) -> MemFlags {
    let mut f = MemFlags::new();
    match rng.below(8) {
        0 => f = f.with_trap_code(None),
        1 => f = f.with_aligned(),
        2 => f = f.with_endianness(Endianness::Big),
        3 => f = f.with_endianness(Endianness::Little),
        4 => f = f.with_trap_code(TrapCode::user(9)),
        _ => {}
    }
    f
}

fn import(fb: &mut Fb, name: &str, sig: Signature) -> kiln_ir::entities::FuncRef {
    let sig = fb.f.import_signature(sig);
    fb.f.import_function(ExtFuncData {
        name: ExternalName::from_percent_name(name),
        signature: sig,
        colocated: true,
        patchable: false,
    })
}

fn sig_of(params: &[Type], rets: &[Type], cc: CallConv) -> Signature {
    let mut s = Signature::new(cc);
    s.params = params.iter().map(|&t| AbiParam::new(t)).collect();
    s.returns = rets.iter().map(|&t| AbiParam::new(t)).collect();
    s
}

/// `%id(params) -> params`, returning its arguments.
fn identity(name: &str, tys: &[Type], cc: CallConv) -> Function {
    let mut fb = Fb::with_cc(name, tys, tys, cc);
    let ps: Vec<Value> = (0..tys.len()).map(|i| fb.param(i)).collect();
    fb.ret(&ps);
    fb.f
}

/// Build a case for `op` with controlling type `ctrl`.
fn build(op: Opcode, ctrl: Type, rng: &mut Rng, fixed: &[Type]) -> Option<Case> {
    let info = op.info();
    let fmt = op.format();
    // Call family and control flow get their own shapes.
    if op.is_call() && op != Opcode::StackSwitch || op == Opcode::FuncAddr {
        return Some(build_call(op, rng, fixed));
    }
    match op {
        Opcode::Jump | Opcode::Brif | Opcode::BrTable => return Some(build_branch(op, ctrl, rng)),
        _ => {}
    }
    // Operand types.
    let mut arg_tys = Vec::new();
    for &c in info.args {
        arg_tys.push(pick(c, ctrl, rng, fixed)?);
    }
    if op == Opcode::Bitcast {
        // The verifier requires equal total widths.
        let same: Vec<Type> = fixed.iter().copied().filter(|t| t.bits() == norm(ctrl).bits()).collect();
        arg_tys[0] = same[rng.below(same.len() as u64) as usize];
    }
    let is_mem = op.is_memory_access();
    let addr_idx = match fmt {
        F::Store | F::StoreNoOffset => 1,
        _ => 0,
    };
    // Entry parameters: the non-address operands, plus four i128 words of memory contents.
    let mut params: Vec<Type> = Vec::new();
    for (i, &t) in arg_tys.iter().enumerate() {
        if !(is_mem && i == addr_idx) {
            params.push(t);
        }
    }
    let blob = is_mem;
    if blob {
        params.extend([types::I128; 4]);
    }
    if op == Opcode::Return {
        let n = rng.below(4) as usize;
        params = (0..n).map(|_| fixed[rng.below(fixed.len() as u64) as usize]).collect();
    }
    let needs_vmctx = fmt == F::UnaryGlobalValue;
    let mut fb = Fb::new("case", &params, &[]);
    let mut vals: Vec<Value> = (0..params.len()).map(|i| fb.param(i)).collect();
    if op == Opcode::Return {
        fb.f.signature.returns = params.iter().map(|&t| AbiParam::new(t)).collect();
        fb.ret(&vals);
        return Some(Case { funcs: vec![fb.f], results: params.clone(), params });
    }
    // Memory harness: a 64-byte slot filled from the blob words.
    let mut addr = None;
    if blob {
        let align = rng.below(5) as u8;
        let ss = fb.f.create_stack_slot(StackSlotData::new(64, align));
        let base = fb.ins(D::StackAddr { opcode: Opcode::StackAddr, stack_slot: ss, offset: Offset32(0) }, PTR);
        let base = fb.res(base, 0);
        let plain = fb.f.dfg.intern_mem_flags(MemFlags::new());
        for k in 0..4 {
            let w = vals[vals.len() - 4 + k];
            fb.ins(
                D::Store { opcode: Opcode::Store, flags: plain, args: [w, base], offset: Offset32(16 * k as i32) },
                types::I128,
            );
        }
        vals.truncate(vals.len() - 4);
        let off = rng.below(80) as i64 - 8;
        let off = fb.iconst(PTR, off);
        addr = Some(fb.bin(Opcode::Iadd, base, off));
    }
    // Operand values in order.
    let mut ops_vals = Vec::new();
    let mut it = vals.iter();
    for i in 0..arg_tys.len() {
        if is_mem && i == addr_idx {
            ops_vals.push(addr.unwrap());
        } else {
            ops_vals.push(*it.next().unwrap());
        }
    }
    let a = |i: usize| ops_vals[i];
    let lanes = norm(ctrl).lane_count().max(1) as u64;
    let data = match fmt {
        F::NullAry => D::NullAry { opcode: op },
        F::Unary => D::Unary { opcode: op, arg: a(0) },
        F::UnaryImm => D::UnaryImm { opcode: op, imm: Imm64(rng.next() as i64) },
        F::UnaryIeee16 => D::UnaryIeee16 { opcode: op, imm: Ieee16(rng.lane(16, true) as u16) },
        F::UnaryIeee32 => D::UnaryIeee32 { opcode: op, imm: Ieee32(rng.lane(32, true) as u32) },
        F::UnaryIeee64 => D::UnaryIeee64 { opcode: op, imm: Ieee64(rng.lane(64, true) as u64) },
        F::UnaryConst => {
            let ty = if op == Opcode::F128const { types::F128 } else { norm(ctrl) };
            let bytes = rng.value(ty).to_le_bytes().to_vec();
            let constant = fb.f.dfg.insert_constant(ConstantData::new(bytes));
            D::UnaryConst { opcode: op, constant }
        }
        F::UnaryGlobalValue => {
            // symbol_value.T of `load.T notrap aligned (vmctx + 0)`, after storing a random T.
            let _ = needs_vmctx;
            return Some(build_global(op, ctrl, rng));
        }
        F::Binary => D::Binary { opcode: op, args: [a(0), a(1)] },
        F::BinaryImm8 => {
            let imm = if op == Opcode::ExtractVector { 0 } else { rng.below(lanes) as u8 };
            D::BinaryImm8 { opcode: op, arg: a(0), imm }
        }
        F::Ternary => D::Ternary { opcode: op, args: [a(0), a(1), a(2)] },
        F::TernaryImm8 => D::TernaryImm8 { opcode: op, args: [a(0), a(1)], imm: rng.below(lanes) as u8 },
        F::Shuffle => {
            let m: Vec<u8> = (0..16).map(|_| rng.below(32) as u8).collect();
            let mask = fb.f.dfg.insert_immediate(ConstantData::new(m));
            D::Shuffle { opcode: op, args: [a(0), a(1)], mask }
        }
        F::IntCompare => {
            let cond = IntCC::ALL[rng.below(IntCC::ALL.len() as u64) as usize];
            D::IntCompare { opcode: op, cond, args: [a(0), a(1)] }
        }
        F::FloatCompare => {
            let cond = FloatCC::ALL[rng.below(FloatCC::ALL.len() as u64) as usize];
            D::FloatCompare { opcode: op, cond, args: [a(0), a(1)] }
        }
        F::IntAddTrap => D::IntAddTrap { opcode: op, args: [a(0), a(1)], code: TrapCode::user(2).unwrap() },
        F::StackAddr => {
            let ss = fb.f.create_stack_slot(StackSlotData::new(rng.below(64) as u32, rng.below(6) as u8));
            D::StackAddr { opcode: op, stack_slot: ss, offset: Offset32(rng.below(64) as i32) }
        }
        F::DynamicStackAddr => {
            let gv = fb.f.create_global_value(GlobalValueData::DynScaleTargetConst { vector_type: types::I32X4 });
            let dt = fb.f.dynamic_types.push(DynamicTypeData { base_vector_ty: types::I32X4, dynamic_scale: gv });
            let dss = fb.f.dynamic_stack_slots.push(DynamicStackSlotData { dyn_ty: dt });
            D::DynamicStackAddr { opcode: op, dynamic_stack_slot: dss }
        }
        F::Load => {
            let flags = rand_flags(rng);
            let flags = fb.f.dfg.intern_mem_flags(flags);
            D::Load { opcode: op, flags, arg: a(0), offset: Offset32(rng.below(16) as i32 - 8) }
        }
        F::Store => {
            let flags = rand_flags(rng);
            let flags = fb.f.dfg.intern_mem_flags(flags);
            D::Store { opcode: op, flags, args: [a(0), a(1)], offset: Offset32(rng.below(16) as i32 - 8) }
        }
        F::LoadNoOffset => {
            let mut fl = if op == Opcode::Bitcast { MemFlags::new() } else { rand_flags(rng) };
            if op == Opcode::Bitcast {
                fl = fl.with_endianness(if rng.below(2) == 0 { Endianness::Big } else { Endianness::Little });
            }
            let flags = fb.f.dfg.intern_mem_flags(fl);
            D::LoadNoOffset { opcode: op, flags, arg: a(0) }
        }
        F::StoreNoOffset => {
            let flags = rand_flags(rng);
            let flags = fb.f.dfg.intern_mem_flags(flags);
            D::StoreNoOffset { opcode: op, flags, args: [a(0), a(1)] }
        }
        F::AtomicRmw => {
            let flags = rand_flags(rng);
            let flags = fb.f.dfg.intern_mem_flags(flags);
            let rop = AtomicRmwOp::ALL[rng.below(11) as usize];
            D::AtomicRmw { opcode: op, flags, op: rop, args: [a(0), a(1)] }
        }
        F::AtomicCas => {
            let flags = rand_flags(rng);
            let flags = fb.f.dfg.intern_mem_flags(flags);
            D::AtomicCas { opcode: op, flags, args: [a(0), a(1), a(2)] }
        }
        F::Trap => D::Trap { opcode: op, code: TrapCode::user(1 + rng.below(250) as u8).unwrap() },
        F::CondTrap => D::CondTrap { opcode: op, arg: a(0), code: TrapCode::INTEGER_OVERFLOW },
        F::ExceptionHandlerAddress => {
            let b = fb.cur;
            D::ExceptionHandlerAddress { opcode: op, block: b, imm: Imm64(rng.below(4) as i64) }
        }
        _ => panic!("{op}: format {fmt:?} not handled"),
    };
    let ctrl_for_results = if op.is_polymorphic() { ctrl } else { types::INVALID };
    let inst = fb.f.dfg.make_inst(data);
    if fb.f.dfg.make_inst_results(inst, ctrl_for_results).is_err() {
        return None;
    }
    fb.f.layout.append_inst(inst, fb.cur);
    if !op.is_terminator() {
        let results: Vec<Value> = fb.f.dfg.inst_results(inst).to_vec();
        let rtys: Vec<Type> = results.iter().map(|&r| fb.f.dfg.value_type(r)).collect();
        // Dynamic vector results cannot appear in a signature; they are evaluated but not
        // returned.
        let (rets, rtys): (Vec<Value>, Vec<Type>) =
            results.iter().zip(&rtys).filter(|(_, t)| !t.is_dynamic_vector()).map(|(&r, &t)| (r, t)).unzip();
        fb.f.signature.returns = rtys.iter().map(|&t| AbiParam::new(t)).collect();
        fb.ret(&rets);
        return Some(Case { funcs: vec![fb.f], params, results: rtys });
    }
    Some(Case { funcs: vec![fb.f], params, results: vec![] })
}

fn build_global(op: Opcode, ctrl: Type, rng: &mut Rng) -> Case {
    let ty = ctrl;
    let mut inner = Fb::new("inner", &[PTR], &[ty]);
    inner.f.signature.params[0] = AbiParam::special(PTR, ArgumentPurpose::VMContext);
    let vm = inner.f.create_global_value(GlobalValueData::VMContext);
    let gv = if ty.is_int() && ty.is_scalar() && rng.below(2) == 0 {
        let scale = inner.f.create_global_value(GlobalValueData::DynScaleTargetConst { vector_type: types::I8X16 });
        let base = if ty == PTR { scale } else { vm };
        if ty == PTR {
            inner.f.create_global_value(GlobalValueData::IAddImm {
                base,
                offset: Imm64(rng.next() as i64),
                global_type: ty,
            })
        } else {
            inner.f.create_global_value(GlobalValueData::Load {
                base: vm,
                offset: Offset32(0),
                global_type: ty,
                flags: MemFlags::trusted(),
            })
        }
    } else {
        inner.f.create_global_value(GlobalValueData::Load {
            base: vm,
            offset: Offset32(0),
            global_type: ty,
            flags: MemFlags::trusted(),
        })
    };
    let i = inner.ins(D::UnaryGlobalValue { opcode: op, global_value: gv }, ty);
    let r = inner.res(i, 0);
    inner.ret(&[r]);
    let mut main = Fb::new("main", &[ty], &[ty]);
    let ss = main.f.create_stack_slot(StackSlotData::new(ty.bytes(), 4));
    let a = main.ins(D::StackAddr { opcode: Opcode::StackAddr, stack_slot: ss, offset: Offset32(0) }, PTR);
    let a = main.res(a, 0);
    let fl = main.f.dfg.intern_mem_flags(MemFlags::new());
    let p = main.param(0);
    main.ins(D::Store { opcode: Opcode::Store, flags: fl, args: [p, a], offset: Offset32(0) }, ty);
    let callee = import(&mut main, "inner", inner.f.signature.clone());
    let args = main.list(&[a]);
    let c = main.ins(D::Call { opcode: Opcode::Call, func_ref: callee, args }, types::INVALID);
    let r = main.res(c, 0);
    main.ret(&[r]);
    Case { funcs: vec![main.f, inner.f], params: vec![ty], results: vec![ty] }
}

fn build_branch(op: Opcode, ctrl: Type, rng: &mut Rng) -> Case {
    let cty = if op == Opcode::Brif { ctrl } else { types::I32 };
    let params: Vec<Type> = if op == Opcode::Jump { vec![types::I64] } else { vec![cty, types::I64] };
    let mut fb = Fb::new("br", &params, &[types::I64]);
    let n = if op == Opcode::BrTable { 1 + rng.below(6) as usize } else { 2 };
    let blocks: Vec<_> = (0..n).map(|_| fb.block(&[types::I64])).collect();
    let payload = fb.param(params.len() - 1);
    let calls: Vec<BlockCall> =
        blocks.iter().map(|&b| BlockCall::new(b, [BlockArg::Value(payload)], &mut fb.f.dfg.value_lists)).collect();
    match op {
        Opcode::Jump => {
            fb.ins(D::Jump { opcode: op, destination: calls[0] }, types::INVALID);
        }
        Opcode::Brif => {
            let c = fb.param(0);
            fb.ins(D::Brif { opcode: op, arg: c, blocks: [calls[0], calls[1]] }, ctrl);
        }
        _ => {
            let jt = fb.f.dfg.jump_tables.push(JumpTableData::new(calls[0], &calls[1..]));
            let c = fb.param(0);
            fb.ins(D::BranchTable { opcode: op, arg: c, table: jt }, types::INVALID);
        }
    }
    for (i, &b) in blocks.iter().enumerate() {
        fb.switch(b);
        let p = fb.f.dfg.block_params(b)[0];
        let k = fb.iconst(types::I64, i as i64);
        let r = fb.bin(Opcode::Iadd, p, k);
        fb.ret(&[r]);
    }
    Case { funcs: vec![fb.f], results: vec![types::I64], params }
}

/// Calls: `%main` calls `%id` (identity over random types) in the opcode's way.
fn build_call(op: Opcode, rng: &mut Rng, fixed: &[Type]) -> Case {
    let n = rng.below(4) as usize;
    let tys: Vec<Type> = (0..n).map(|_| fixed[rng.below(fixed.len() as u64) as usize]).collect();
    let cc = CallConv::Tail;
    let callee_fn = identity("id", &tys, cc);
    let mut fb = Fb::with_cc("main", &tys, &tys, cc);
    let ps: Vec<Value> = (0..n).map(|i| fb.param(i)).collect();
    let id = import(&mut fb, "id", sig_of(&tys, &tys, cc));
    let sig = fb.f.dfg.ext_funcs[id].signature;
    let fa = |fb: &mut Fb| {
        let i = fb.ins(D::FuncAddr { opcode: Opcode::FuncAddr, func_ref: id }, PTR);
        fb.res(i, 0)
    };
    match op {
        Opcode::FuncAddr => {
            let a = fa(&mut fb);
            // Return the address reduced to a boolean "non-zero" so the case stays typed.
            let z = fb.iconst(PTR, 0);
            let c = fb.ins(D::IntCompare { opcode: Opcode::Icmp, cond: IntCC::NotEqual, args: [a, z] }, PTR);
            let c = fb.res(c, 0);
            fb.f.signature.returns = vec![AbiParam::new(types::I8)];
            fb.ret(&[c]);
            return Case { funcs: vec![fb.f, callee_fn], params: tys, results: vec![types::I8] };
        }
        Opcode::Call | Opcode::CallIndirect => {
            let inst = if op == Opcode::Call {
                let args = fb.list(&ps);
                fb.ins(D::Call { opcode: op, func_ref: id, args }, types::INVALID)
            } else {
                let a = fa(&mut fb);
                let mut all = vec![a];
                all.extend(&ps);
                let args = fb.list(&all);
                fb.ins(D::CallIndirect { opcode: op, sig_ref: sig, args }, PTR)
            };
            let rs = fb.f.dfg.inst_results(inst).to_vec();
            fb.ret(&rs);
        }
        Opcode::ReturnCall => {
            let args = fb.list(&ps);
            fb.ins(D::Call { opcode: op, func_ref: id, args }, types::INVALID);
        }
        Opcode::ReturnCallIndirect => {
            let a = fa(&mut fb);
            let mut all = vec![a];
            all.extend(&ps);
            let args = fb.list(&all);
            fb.ins(D::CallIndirect { opcode: op, sig_ref: sig, args }, PTR);
        }
        _ => {
            // try_call / try_call_indirect with a normal-return block taking retK.
            let normal = fb.block(&tys);
            let handler = fb.block(&[]);
            let rets: Vec<BlockArg> = (0..n as u32).map(BlockArg::TryCallRet).collect();
            let nb = BlockCall::new(normal, rets, &mut fb.f.dfg.value_lists);
            let hb = BlockCall::new(handler, [], &mut fb.f.dfg.value_lists);
            let et =
                fb.f.dfg.exception_tables.push(ExceptionTableData::new(sig, nb, vec![ExceptionItem::Tag(1)], &[hb]));
            if op == Opcode::TryCall {
                let args = fb.list(&ps);
                fb.ins(D::TryCall { opcode: op, func_ref: id, args, exception: et }, types::INVALID);
            } else {
                let a = fa(&mut fb);
                let mut all = vec![a];
                all.extend(&ps);
                let args = fb.list(&all);
                fb.ins(D::TryCallIndirect { opcode: op, args, exception: et }, PTR);
            }
            fb.switch(normal);
            let nps = fb.f.dfg.block_params(normal).to_vec();
            fb.ret(&nps);
            fb.switch(handler);
            fb.ins(D::Trap { opcode: Opcode::Trap, code: TrapCode::user(1).unwrap() }, types::INVALID);
        }
    }
    Case { funcs: vec![fb.f, callee_fn], params: tys.clone(), results: tys }
}

/// Outcomes other than results that are acceptable for `op`.
fn acceptable(op: Opcode, e: &InterpError) -> bool {
    match e {
        InterpError::Trap(_) => true,
        InterpError::DebugTrap => op == Opcode::Debugtrap,
        InterpError::Undefined(_) => op.is_memory_access(),
        InterpError::Unsupported(_) => {
            matches!(op, Opcode::StackSwitch | Opcode::GetPinnedReg | Opcode::SetPinnedReg)
        }
        _ => false,
    }
}

#[test]
fn every_opcode_on_every_type() {
    let fixed = all_fixed();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Enumerate (opcode, controlling type) configurations.
    let mut configs: Vec<(Opcode, Type)> = Vec::new();
    for &op in Opcode::ALL {
        let info = op.info();
        if op.is_polymorphic() {
            for t in ctrl_types(info.ctrl) {
                configs.push((op, t));
            }
        } else {
            configs.push((op, types::INVALID));
        }
    }
    const VARIANTS: usize = 3;
    let target: u64 = 1_100_000;
    let per_variant = (target / (configs.len() * VARIANTS) as u64 + 1).max(20);
    let mut counts: BTreeMap<&'static str, (u64, u64, u64)> = BTreeMap::new();
    let mut total = 0u64;
    let mut failures = Vec::new();
    for &(op, ctrl) in &configs {
        for _ in 0..VARIANTS {
            let Some(case) = build(op, ctrl, &mut rng, &fixed) else { continue };
            let mut interp = Interpreter::new(&case.funcs, InterpConfig::default());
            let entry = &case.funcs[0];
            for _ in 0..per_variant {
                let args: Vec<DataValue> = case.params.iter().map(|&t| rng.value(norm(t))).collect();
                let r = interp.call(0, &args);
                let e = counts.entry(op.name()).or_default();
                e.0 += 1;
                total += 1;
                match r {
                    Ok(vals) => {
                        let tys: Vec<Type> = vals.iter().map(|v| v.ty()).collect();
                        let want: Vec<Type> = case.results.iter().map(|&t| norm(t)).collect();
                        if tys != want && failures.len() < 20 {
                            failures.push(format!("{op}.{ctrl}: result types {tys:?}, expected {want:?}"));
                        }
                    }
                    Err(err) => {
                        if acceptable(op, &err) {
                            if matches!(err, InterpError::Trap(_)) {
                                e.1 += 1;
                            } else {
                                e.2 += 1;
                            }
                        } else if failures.len() < 20 {
                            let mut a = format!("{args:?}");
                            a.truncate(300);
                            failures.push(format!("{op}.{ctrl}: {err} with {a}\n{}", entry.display()));
                        }
                    }
                }
            }
        }
    }
    println!("{:<30} {:>10} {:>10} {:>10}", "opcode", "evals", "traps", "other");
    for (name, (n, t, o)) in &counts {
        println!("{name:<30} {n:>10} {t:>10} {o:>10}");
    }
    println!("total evaluations: {total}");
    for &op in Opcode::ALL {
        assert!(counts.get(op.name()).is_some_and(|c| c.0 > 0), "{op} was never evaluated");
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    assert!(total >= 1_000_000, "only {total} evaluations");
}

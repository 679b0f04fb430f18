//! Unit tests of the verifier: one or more per rule of REFERENCE §6, on functions built
//! through the DFG and layout API, plus robustness tests on corrupt functions.

use super::*;
use crate::entities::*;
use crate::entity::EntityRef;
use crate::extname::{ExtFuncData, ExternalName};
use crate::function::{AliasRegionData, DebugTag, GlobalValueData, StackSlotData};
use crate::immediates::{Imm64, Offset32};
use crate::instructions::{
    BlockArg, BlockCall, ExceptionItem, ExceptionTableData, InstructionData as D, JumpTableData, ValueList,
};
use crate::memflags::MemFlags;
use crate::opcodes::Opcode;
use crate::signature::{AbiParam, ArgumentPurpose, CallConv, Signature};
use crate::types::{self, Type};
use crate::{Function, constant::ConstantData};

use types::{F32, F64, I8, I16, I32, I64, I128, INVALID};

/// A tiny function builder for tests.
struct B {
    f: Function,
    cur: Block,
}

impl B {
    /// A function `(params) -> rets` with an entry block taking the parameters.
    fn new(params: &[Type], rets: &[Type]) -> (B, Vec<Value>) {
        let mut f = Function::new();
        f.signature.params = params.iter().map(|&t| AbiParam::new(t)).collect();
        f.signature.returns = rets.iter().map(|&t| AbiParam::new(t)).collect();
        let cur = f.dfg.make_block();
        f.layout.append_block(cur);
        let vals = params.iter().map(|&t| f.dfg.append_block_param(cur, t)).collect();
        (B { f, cur }, vals)
    }

    fn block(&mut self, params: &[Type]) -> (Block, Vec<Value>) {
        let b = self.f.dfg.make_block();
        self.f.layout.append_block(b);
        let vals = params.iter().map(|&t| self.f.dfg.append_block_param(b, t)).collect();
        (b, vals)
    }

    fn at(&mut self, b: Block) {
        self.cur = b;
    }

    /// Append an instruction whose results follow the opcode table for `ctrl`.
    fn ins(&mut self, data: D, ctrl: Type) -> Inst {
        let inst = self.f.dfg.make_inst(data);
        self.f.dfg.make_inst_results(inst, ctrl).expect("results");
        self.f.layout.append_inst(inst, self.cur);
        inst
    }

    /// Append an instruction with explicitly typed results.
    fn raw(&mut self, data: D, results: &[Type]) -> Inst {
        let inst = self.f.dfg.make_inst(data);
        for &t in results {
            self.f.dfg.append_result(inst, t).unwrap();
        }
        self.f.layout.append_inst(inst, self.cur);
        inst
    }

    fn res(&self, inst: Inst) -> Value {
        self.f.dfg.first_result(inst).unwrap()
    }

    fn iconst(&mut self, ty: Type, imm: i64) -> Value {
        let i = self.ins(D::UnaryImm { opcode: Opcode::Iconst, imm: Imm64(imm) }, ty);
        self.res(i)
    }

    fn binary(&mut self, opcode: Opcode, a: Value, b: Value) -> (Inst, Value) {
        let ctrl = self.f.dfg.value_type(a);
        let i = self.ins(D::Binary { opcode, args: [a, b] }, ctrl);
        (i, self.res(i))
    }

    fn unary(&mut self, opcode: Opcode, arg: Value, ctrl: Type) -> (Inst, Value) {
        let i = self.ins(D::Unary { opcode, arg }, ctrl);
        (i, self.res(i))
    }

    fn call_to(&mut self, b: Block, args: &[Value]) -> BlockCall {
        self.f.dfg.block_call(b, args)
    }

    fn jump(&mut self, b: Block, args: &[Value]) -> Inst {
        let destination = self.call_to(b, args);
        self.ins(D::Jump { opcode: Opcode::Jump, destination }, INVALID)
    }

    fn brif(&mut self, c: Value, t: Block, targs: &[Value], e: Block, eargs: &[Value]) -> Inst {
        let blocks = [self.call_to(t, targs), self.call_to(e, eargs)];
        let ctrl = self.f.dfg.value_type(c);
        self.ins(D::Brif { opcode: Opcode::Brif, arg: c, blocks }, ctrl)
    }

    fn ret(&mut self, vals: &[Value]) -> Inst {
        let args = ValueList::from_slice(vals, &mut self.f.dfg.value_lists);
        self.ins(D::MultiAry { opcode: Opcode::Return, args }, INVALID)
    }

    fn list(&mut self, vals: &[Value]) -> ValueList {
        ValueList::from_slice(vals, &mut self.f.dfg.value_lists)
    }

    fn sig(&mut self, params: &[Type], rets: &[Type], cc: CallConv) -> SigRef {
        let mut s = Signature::new(cc);
        s.params = params.iter().map(|&t| AbiParam::new(t)).collect();
        s.returns = rets.iter().map(|&t| AbiParam::new(t)).collect();
        self.f.import_signature(s)
    }

    fn func_ref(&mut self, sig: SigRef) -> FuncRef {
        self.f.import_function(ExtFuncData {
            name: ExternalName::TestCase("g".into()),
            signature: sig,
            colocated: false,
            patchable: false,
        })
    }

    fn flags(&mut self, f: MemFlags) -> crate::memflags::MemFlagsId {
        self.f.dfg.intern_mem_flags(f)
    }
}

fn run(func: &Function, target: Option<&str>, flags: &[&str]) -> Vec<VerifierError> {
    let mut fl = Flags::new();
    for w in flags {
        fl.set_word(w).unwrap();
    }
    let spec = target.map(|t| TargetSpec::parse(t, &[]).unwrap());
    let ctx = VerifierContext { flags: &fl, target: spec.as_ref() };
    match verify_function(func, &ctx) {
        Ok(()) => Vec::new(),
        Err(e) => e.0,
    }
}

fn errors(func: &Function) -> Vec<VerifierError> {
    run(func, None, &[])
}

#[track_caller]
fn assert_clean(func: &Function) {
    let e = errors(func);
    assert!(e.is_empty(), "unexpected errors:\n{}\n{}", VerifierErrors(e), func);
}

/// Exactly one error, at `loc`, containing `msg`.
#[track_caller]
fn assert_one(errs: Vec<VerifierError>, loc: impl Into<AnyEntity>, msg: &str) {
    let loc = loc.into();
    assert!(
        errs.len() == 1 && errs[0].location == loc && errs[0].message.contains(msg),
        "expected exactly one error at {loc} containing {msg:?}, got:\n{}",
        VerifierErrors(errs)
    );
}

#[track_caller]
fn assert_has(errs: &[VerifierError], loc: impl Into<AnyEntity>, msg: &str) {
    let loc = loc.into();
    assert!(
        errs.iter().any(|e| e.location == loc && e.message.contains(msg)),
        "expected an error at {loc} containing {msg:?}, got:\n{}",
        VerifierErrors(errs.to_vec())
    );
}

// ---------------------------------------------------------------------------------------
// Display and API

#[test]
fn error_display() {
    let e = VerifierError { location: AnyEntity::Inst(Inst::new(3)), context: None, message: "bad".into() };
    assert_eq!(e.to_string(), "inst3: bad");
    let e2 = VerifierError {
        location: AnyEntity::Inst(Inst::new(3)),
        context: Some("v1 = iadd v0, v0".into()),
        message: "bad".into(),
    };
    assert_eq!(e2.to_string(), "inst3 (v1 = iadd v0, v0): bad");
    let all = VerifierErrors(vec![e, e2]);
    assert_eq!(all.to_string(), "inst3: bad\ninst3 (v1 = iadd v0, v0): bad");
    assert!(!all.is_empty() && all.has_error() && all.len() == 2);
    let _: &dyn std::error::Error = &all;
}

#[test]
fn empty_function_verifies() {
    assert_clean(&Function::new());
}

#[test]
fn simple_function_verifies_with_context_on_errors() {
    let (mut b, p) = B::new(&[I32, I64], &[I32]);
    let (add, v) = b.binary(Opcode::Iadd, p[0], p[0]);
    b.ret(&[v]);
    assert_clean(&b.f);
    // Now break it: add an i64.
    b.f.dfg.replace_inst(add, D::Binary { opcode: Opcode::Iadd, args: [p[0], p[1]] });
    let errs = errors(&b.f);
    assert_one(errs.clone(), add, "arg 1 (v1) has type i64, expected i32");
    assert_eq!(errs[0].context.as_deref(), Some("v2 = iadd v0, v1"));
}

#[test]
fn reuse_of_analyses() {
    let (mut b, p) = B::new(&[I32], &[I32]);
    let (blk1, q) = b.block(&[I32]);
    b.jump(blk1, &[p[0]]);
    b.at(blk1);
    b.ret(&[q[0]]);
    let cfg = ControlFlowGraph::with_function(&b.f);
    let dt = DominatorTree::with_function(&b.f, &cfg);
    let fl = Flags::new();
    let ctx = VerifierContext::new(&fl);
    assert!(verify_function_with(&b.f, &ctx, &cfg, &dt).is_ok());
    // A stale CFG is reported.
    let stale = ControlFlowGraph::with_function(&Function::new());
    let err = verify_function_with(&b.f, &ctx, &stale, &dt).unwrap_err();
    assert!(err.to_string().contains("out of date"), "{err}");
    // Invalid analyses are recomputed.
    assert!(verify_function_with(&b.f, &ctx, &ControlFlowGraph::new(), &DominatorTree::new()).is_ok());
}

// ---------------------------------------------------------------------------------------
// Rule 1: global values

#[test]
fn rule01_global_values() {
    let (mut b, _) = B::new(&[], &[]);
    b.ret(&[]);
    let vm = b.f.create_global_value(GlobalValueData::VMContext);
    assert_one(errors(&b.f), vm, "undeclared vmctx reference gv0");
    b.f.signature.params.push(AbiParam::special(I64, ArgumentPurpose::VMContext));
    let entry = b.f.layout.entry_block().unwrap();
    b.f.dfg.append_block_param(entry, I64);
    assert_clean(&b.f);
    // A cycle gv1 -> gv2 -> gv1, reported once.
    let g1 = b.f.create_global_value(GlobalValueData::IAddImm {
        base: GlobalValue::new(2),
        offset: Imm64(1),
        global_type: I64,
    });
    b.f.create_global_value(GlobalValueData::Load {
        base: g1,
        offset: Offset32(0),
        global_type: I64,
        flags: MemFlags::trusted(),
    });
    assert_one(errors(&b.f), g1, "global value cycle: [gv1, gv2]");
    // Break the cycle; then type rules with a target.
    b.f.global_values[g1] = GlobalValueData::IAddImm { base: vm, offset: Imm64(1), global_type: I32 };
    assert_clean(&b.f);
    let errs = run(&b.f, Some("x86_64"), &[]);
    assert_has(&errs, g1, "iadd_imm type i32 does not match base type i64");
    assert_has(&errs, GlobalValue::new(2), "base gv1 has type i32, which is not the pointer type i64");
    assert_eq!(errs.len(), 2);
    b.f.global_values[g1] = GlobalValueData::IAddImm { base: vm, offset: Imm64(1), global_type: F64 };
    assert_has(&run(&b.f, Some("x86_64"), &[]), g1, "iadd_imm global value with non-int type f64");
    b.f.global_values[g1] = GlobalValueData::IAddImm { base: vm, offset: Imm64(1), global_type: I64 };
    let g3 = b.f.create_global_value(GlobalValueData::Load {
        base: g1,
        offset: Offset32(0),
        global_type: I32,
        flags: MemFlags::trusted(),
    });
    let g4 = b.f.create_global_value(GlobalValueData::Load {
        base: g3,
        offset: Offset32(0),
        global_type: I32,
        flags: MemFlags::trusted(),
    });
    assert!(run(&b.f, None, &[]).is_empty());
    assert_one(run(&b.f, Some("x86_64"), &[]), g4, "base gv3 has type i32, which is not the pointer type i64");
    b.f.global_values[g4] = GlobalValueData::Load {
        base: g1,
        offset: Offset32(0),
        global_type: I32,
        flags: MemFlags::trusted().with_alias_region(Some(AliasRegion::new(0))),
    };
    assert_one(errors(&b.f), g4, "undefined alias region region0");
    b.f.alias_regions.push(AliasRegionData { id: 0, name: "heap".into() });
    assert_clean(&b.f);
    // A dangling base.
    b.f.global_values[g3] = GlobalValueData::Load {
        base: GlobalValue::new(77),
        offset: Offset32(0),
        global_type: I32,
        flags: MemFlags::trusted(),
    };
    assert_one(errors(&b.f), g3, "invalid base gv77 of gv3");
}

// Rule 2
#[test]
fn rule02_alias_region_ids_unique() {
    let (mut b, _) = B::new(&[], &[]);
    b.ret(&[]);
    b.f.alias_regions.push(AliasRegionData { id: 7, name: "a".into() });
    assert_clean(&b.f);
    let r1 = b.f.alias_regions.push(AliasRegionData { id: 7, name: "b".into() });
    assert_one(errors(&b.f), r1, "duplicate alias region user_id 7 (region1 and region0)");
}

// Rule 3
#[test]
fn rule03_entry_block() {
    let (mut b, _) = B::new(&[I32], &[]);
    b.ret(&[]);
    assert_clean(&b.f);
    let entry = b.f.layout.entry_block().unwrap();
    b.f.signature.params.push(AbiParam::new(I64));
    assert_one(errors(&b.f), entry, "entry block parameters (1) must match function signature (2)");
    b.f.dfg.append_block_param(entry, I32);
    assert_one(errors(&b.f), entry, "entry block parameter 1 expected to have type i64, got i32");
    b.f.signature.params[1] = AbiParam::new(I32);
    b.f.layout.set_cold(entry, true);
    assert_one(errors(&b.f), entry, "entry block cannot be marked as cold");
}

// Rule 4
#[test]
fn rule04_signatures() {
    let (mut b, _) = B::new(&[], &[]);
    b.ret(&[]);
    b.f.signature.params.push(AbiParam::new(F32).uext());
    let entry = b.f.layout.entry_block().unwrap();
    b.f.dfg.append_block_param(entry, F32);
    assert_one(
        errors(&b.f),
        AnyEntity::Function,
        "Parameter at position 0 has invalid extension Uext (`uext` on non-integer type f32)",
    );
    b.f.signature.params[0] = AbiParam::new(INVALID);
    assert_has(&errors(&b.f), AnyEntity::Function, "Parameter at position 0 has an invalid type");
    b.f.signature.params.clear();
    b.f.dfg.remove_block_param(entry, 0);
    assert_clean(&b.f);
    let s0 = b.sig(&[], &[I32], CallConv::PreserveAll);
    assert_one(errors(&b.f), s0, "Signature with `preserve_all` ABI cannot have return values");
    // Used by an external function: reported there.
    let f0 = b.func_ref(s0);
    assert_one(errors(&b.f), f0, "Signature with `preserve_all` ABI cannot have return values");
    b.f.dfg.signatures[s0] = Signature::new(CallConv::SystemV);
    b.f.dfg.signatures[s0].returns.push(AbiParam::special(I64, ArgumentPurpose::StructArgument(8)));
    assert_one(errors(&b.f), f0, "Return value at position 0 cannot be a struct argument");
    b.f.dfg.signatures[s0].returns.clear();
    assert_clean(&b.f);
    b.f.signature.call_conv = CallConv::PreserveAll;
    b.f.signature.returns.push(AbiParam::new(I8));
    assert_has(&errors(&b.f), AnyEntity::Function, "Signature with `preserve_all` ABI cannot have return values");
}

// Rule 5 and 6
#[test]
fn rule05_06_blocks_and_terminators() {
    let (mut b, _) = B::new(&[], &[]);
    let (blk1, _) = b.block(&[]);
    b.ret(&[]);
    assert_one(errors(&b.f), blk1, "block1 cannot be empty");
    b.at(blk1);
    let c = b.iconst(I32, 1);
    assert_one(errors(&b.f), blk1, "block does not end in a terminator instruction");
    let r = b.ret(&[]);
    assert_clean(&b.f);
    b.ret(&[]);
    assert_one(errors(&b.f), r, "a terminator instruction was encountered before the end of block1");
    let _ = c;
}

// Rule 7: SSA and dominance
#[test]
fn rule07_dominance() {
    // block0: brif v0, block1, block2; block1: v1 = iconst; jump block3; block2: jump block3
    // block3: return v1 (not dominated).
    let (mut b, p) = B::new(&[I32], &[I32]);
    let (b1, _) = b.block(&[]);
    let (b2, _) = b.block(&[]);
    let (b3, _) = b.block(&[]);
    b.brif(p[0], b1, &[], b2, &[]);
    b.at(b1);
    let c = b.iconst(I32, 1);
    let def = b.f.dfg.value_def(c).unwrap().inst().unwrap();
    b.jump(b3, &[]);
    b.at(b2);
    b.jump(b3, &[]);
    b.at(b3);
    let r = b.ret(&[c]);
    assert_one(errors(&b.f), r, &format!("uses value v1 from non-dominating {def}"));
    // Uses in unreachable blocks are not dominance-checked.
    let (mut b, p) = B::new(&[I32], &[I32]);
    b.ret(&[p[0]]);
    let (u1, _) = b.block(&[]);
    let (u2, q) = b.block(&[I32]);
    b.at(u1);
    let x = b.iconst(I32, 3);
    b.ret(&[q[0]]);
    b.at(u2);
    b.ret(&[x]);
    assert_clean(&b.f);
    // A block parameter used outside its block's dominance.
    let (mut b, p) = B::new(&[I32], &[I32]);
    let (b1, q) = b.block(&[I32]);
    let (b2, _) = b.block(&[]);
    b.brif(p[0], b1, &[p[0]], b2, &[]);
    b.at(b1);
    b.ret(&[q[0]]);
    b.at(b2);
    let r = b.ret(&[q[0]]);
    assert_one(errors(&b.f), r, "uses value arg from non-dominating block1");
    // Using one's own result.
    let (mut b, p) = B::new(&[I32], &[I32]);
    let (add, v) = b.binary(Opcode::Iadd, p[0], p[0]);
    b.f.dfg.replace_inst(add, D::Binary { opcode: Opcode::Iadd, args: [p[0], v] });
    b.ret(&[v]);
    assert_one(errors(&b.f), add, "uses value v1 from itself");
    // Use before definition in the same block.
    let (mut b, p) = B::new(&[I32], &[I32]);
    let (a1, v1) = b.binary(Opcode::Iadd, p[0], p[0]);
    let (_, v2) = b.binary(Opcode::Iadd, p[0], p[0]);
    b.f.dfg.replace_inst(a1, D::Binary { opcode: Opcode::Iadd, args: [p[0], v2] });
    b.ret(&[v1]);
    assert_one(errors(&b.f), a1, "uses value v2 from non-dominating inst1");
    // Undefined values and aliases.
    let (mut b, p) = B::new(&[I32], &[I32]);
    let r = b.ret(&[Value::new(40)]);
    assert_one(errors(&b.f), r, "invalid value reference v40");
    b.f.dfg.reserve_values(3).unwrap();
    let (v1, v2) = (Value::new(1), Value::new(2));
    assert!(b.f.dfg.make_alias(v1, p[0]));
    let args = b.list(&[v1]);
    b.f.dfg.replace_inst(r, D::MultiAry { opcode: Opcode::Return, args });
    assert_clean(&b.f);
    let args = b.list(&[v2]);
    b.f.dfg.replace_inst(r, D::MultiAry { opcode: Opcode::Return, args });
    assert_one(errors(&b.f), r, "invalid value reference v2");
    // A value defined by an instruction not in the layout.
    let (mut b, p) = B::new(&[I32], &[I32]);
    let lonely = b.f.dfg.make_inst(D::Binary { opcode: Opcode::Iadd, args: [p[0], p[0]] });
    b.f.dfg.make_inst_results(lonely, I32).unwrap();
    let v = b.f.dfg.first_result(lonely).unwrap();
    let r = b.ret(&[v]);
    assert_one(errors(&b.f), r, &format!("uses value v1 from instruction {lonely} not in layout"));
}

// Rule 8
#[test]
fn rule08_result_count() {
    let (mut b, p) = B::new(&[I32], &[]);
    let i = b.raw(D::Binary { opcode: Opcode::Iadd, args: [p[0], p[0]] }, &[I32, I32]);
    b.ret(&[]);
    assert_one(errors(&b.f), i, "has more result values than expected (instruction produces 1 result values, 2 given)");
    let (mut b, p) = B::new(&[I32], &[]);
    let i = b.raw(D::Binary { opcode: Opcode::UaddOverflow, args: [p[0], p[0]] }, &[I32]);
    b.ret(&[]);
    assert_one(errors(&b.f), i, "has fewer result values than expected");
    // Calls: the signature decides.
    let (mut b, _) = B::new(&[], &[]);
    let s = b.sig(&[], &[I64], CallConv::Fast);
    let f = b.func_ref(s);
    let args = b.list(&[]);
    let c = b.raw(D::Call { opcode: Opcode::Call, func_ref: f, args }, &[]);
    b.ret(&[]);
    assert_one(
        errors(&b.f),
        c,
        "has fewer result values than expected (instruction produces 1 result values, 0 given)",
    );
}

// Rule 9
#[test]
fn rule09_references() {
    let (mut b, p) = B::new(&[I32], &[]);
    let (b1, _) = b.block(&[]);
    let j = b.jump(Block::new(9), &[]);
    b.at(b1);
    b.ret(&[]);
    let errs = errors(&b.f);
    assert_one(errs, j, "invalid block reference block9");
    let entry = b.f.layout.entry_block().unwrap();
    let dest = b.call_to(entry, &[p[0]]);
    b.f.dfg.replace_inst(j, D::Jump { opcode: Opcode::Jump, destination: dest });
    assert_one(errors(&b.f), j, "invalid reference to entry block block0");
    // A block that exists but is not in the layout.
    let outside = b.f.dfg.make_block();
    let dest = b.call_to(outside, &[]);
    b.f.dfg.replace_inst(j, D::Jump { opcode: Opcode::Jump, destination: dest });
    assert_one(errors(&b.f), j, &format!("invalid block reference {outside}"));
    // Other entities.
    let (mut b, _) = B::new(&[], &[]);
    let i1 = b.ins(D::StackAddr { opcode: Opcode::StackAddr, stack_slot: StackSlot::new(3), offset: Offset32(0) }, I64);
    let i2 = b.ins(D::UnaryGlobalValue { opcode: Opcode::SymbolValue, global_value: GlobalValue::new(1) }, I64);
    let i3 = b.raw(D::FuncAddr { opcode: Opcode::FuncAddr, func_ref: FuncRef::new(0) }, &[I64]);
    let args = b.list(&[]);
    let i4 = b.raw(D::CallIndirect { opcode: Opcode::CallIndirect, sig_ref: SigRef::new(5), args }, &[]);
    let i5 = b.raw(D::UnaryConst { opcode: Opcode::Vconst, constant: Constant::new(0) }, &[types::I32X4]);
    b.ret(&[]);
    let errs = errors(&b.f);
    assert_has(&errs, i1, "invalid stack slot ss3");
    assert_has(&errs, i2, "invalid global value gv1");
    assert_has(&errs, i3, "invalid function reference fn0");
    assert_has(&errs, i4, "invalid signature reference sig5");
    assert_has(&errs, i5, "invalid constant const0");
    assert_eq!(errs.len(), 5, "{}", VerifierErrors(errs.clone()));
    // Placeholders count as undeclared.
    let (mut b, _) = B::new(&[], &[]);
    let ss = b.f.create_stack_slot(StackSlotData::new(8, 0));
    let i = b.ins(D::StackAddr { opcode: Opcode::StackAddr, stack_slot: ss, offset: Offset32(0) }, I64);
    b.ret(&[]);
    assert_clean(&b.f);
    b.f.placeholders.stack_slots.insert(ss);
    assert_one(errors(&b.f), i, "invalid stack slot ss0");
}

// Rule 10
#[test]
fn rule10_memflags_regions() {
    let (mut b, p) = B::new(&[I64], &[]);
    let fl = b.flags(MemFlags::new().with_alias_region(Some(AliasRegion::new(1))));
    let l = b.ins(D::Load { opcode: Opcode::Load, flags: fl, arg: p[0], offset: Offset32(0) }, I32);
    b.ret(&[]);
    assert_one(errors(&b.f), l, "undefined alias region region1");
    b.f.alias_regions.push(AliasRegionData { id: 0, name: "a".into() });
    b.f.alias_regions.push(AliasRegionData { id: 1, name: "b".into() });
    assert_clean(&b.f);
}

// Rule 11
#[test]
fn rule11_patchable() {
    let (mut b, _) = B::new(&[], &[]);
    let s = b.sig(&[], &[], CallConv::Tail);
    let f = b.func_ref(s);
    b.f.dfg.ext_funcs[f].patchable = true;
    let args = b.list(&[]);
    let call = b.ins(D::Call { opcode: Opcode::Call, func_ref: f, args }, INVALID);
    b.ret(&[]);
    assert_one(errors(&b.f), call, "patchable call to non-colocated function fn0");
    b.f.dfg.ext_funcs[f].colocated = true;
    assert_clean(&b.f);
    b.f.dfg.signatures[s].returns.push(AbiParam::new(I32));
    assert_has(&errors(&b.f), call, "patchable call cannot occur to a function with return values");
    b.f.dfg.signatures[s].returns.clear();
    // Not in tail calls.
    let (mut b, _) = B::new(&[], &[]);
    b.f.signature.call_conv = CallConv::Tail;
    let s = b.sig(&[], &[], CallConv::Tail);
    let f = b.func_ref(s);
    b.f.dfg.ext_funcs[f].patchable = true;
    b.f.dfg.ext_funcs[f].colocated = true;
    let args = b.list(&[]);
    let rc = b.ins(D::Call { opcode: Opcode::ReturnCall, func_ref: f, args }, INVALID);
    assert_one(errors(&b.f), rc, "patchable function fn0 cannot be tail-called");
}

// Rule 12
#[test]
fn rule12_pinned_reg_and_frame_pointer() {
    let (mut b, _) = B::new(&[], &[]);
    let g = b.ins(D::NullAry { opcode: Opcode::GetPinnedReg }, I64);
    b.ret(&[]);
    assert_one(run(&b.f, None, &["enable_pinned_reg"]), g, "get_pinned_reg needs a target ISA");
    assert_one(run(&b.f, Some("x86_64"), &[]), g, "cannot be used without enable_pinned_reg");
    assert!(run(&b.f, Some("x86_64"), &["enable_pinned_reg"]).is_empty());
    let (mut b, _) = B::new(&[], &[]);
    let g = b.ins(D::NullAry { opcode: Opcode::GetFramePointer }, I64);
    b.ret(&[]);
    assert_one(run(&b.f, Some("aarch64"), &[]), g, "without enabling `preserve_frame_pointers`");
    assert!(run(&b.f, Some("aarch64"), &["preserve_frame_pointers"]).is_empty());
}

// Rule 13
#[test]
fn rule13_bitcast() {
    let (mut b, p) = B::new(&[I32, types::I32X4], &[]);
    let fl0 = b.flags(MemFlags::new());
    let bc = b.ins(D::LoadNoOffset { opcode: Opcode::Bitcast, flags: fl0, arg: p[0] }, F32);
    b.ret(&[]);
    assert_clean(&b.f);
    b.f.dfg.replace_inst(bc, D::LoadNoOffset { opcode: Opcode::Bitcast, flags: fl0, arg: p[1] });
    assert_has(&errors(&b.f), bc, "has a type of 128 bits, which doesn't match an expected type of 32 bits");
    let (mut b, p) = B::new(&[types::I32X4], &[]);
    let fl0 = b.flags(MemFlags::new());
    let bc = b.ins(D::LoadNoOffset { opcode: Opcode::Bitcast, flags: fl0, arg: p[0] }, types::I64X2);
    b.ret(&[]);
    assert_one(
        errors(&b.f),
        bc,
        "Byte order specifier required for bitcast instruction changing lane count from 4 to 2",
    );
    let little = b.flags(MemFlags::new().with_endianness(crate::memflags::Endianness::Little));
    b.f.dfg.replace_inst(bc, D::LoadNoOffset { opcode: Opcode::Bitcast, flags: little, arg: p[0] });
    assert_clean(&b.f);
    let bad = b.flags(MemFlags::new().with_aligned());
    b.f.dfg.replace_inst(bc, D::LoadNoOffset { opcode: Opcode::Bitcast, flags: bad, arg: p[0] });
    assert_one(errors(&b.f), bc, "only accepts the `big` or `little` memory flags");
}

// Rule 14
#[test]
fn rule14_pointer_width() {
    let (mut b, p) = B::new(&[I64, I32], &[]);
    let fl = b.flags(MemFlags::new());
    let l = b.ins(D::Load { opcode: Opcode::Load, flags: fl, arg: p[0], offset: Offset32(0) }, I32);
    let v = b.res(l);
    let s = b.ins(D::Store { opcode: Opcode::Store, flags: fl, args: [v, p[1]], offset: Offset32(0) }, I32);
    b.ret(&[]);
    assert!(errors(&b.f).is_empty());
    assert_one(run(&b.f, Some("x86_64"), &[]), s, "invalid pointer width (got 32, expected 64) encountered v1");
    assert_one(run(&b.f, Some("pulley32"), &[]), l, "invalid pointer width (got 64, expected 32) encountered v0");
    // A non-integer address fails the type set, with or without a target.
    let (mut b, p) = B::new(&[F64], &[]);
    let fl = b.flags(MemFlags::new());
    let l = b.ins(D::Load { opcode: Opcode::Load, flags: fl, arg: p[0], offset: Offset32(0) }, I32);
    b.ret(&[]);
    assert_one(errors(&b.f), l, "arg 0 (v0) with type f64 failed to satisfy type set i32|i64");
}

// Rule 15
#[test]
fn rule15_constant_sizes() {
    let (mut b, _) = B::new(&[], &[]);
    let c = b.f.dfg.insert_constant(ConstantData::new(vec![0; 8]));
    let i = b.ins(D::UnaryConst { opcode: Opcode::Vconst, constant: c }, types::I32X4);
    b.ret(&[]);
    assert_one(errors(&b.f), i, "expects const0 to have a size of 16 bytes but it has 8");
    let (mut b, _) = B::new(&[], &[]);
    let c = b.f.dfg.insert_constant(ConstantData::new(vec![0; 16]));
    let i = b.ins(D::UnaryConst { opcode: Opcode::F128const, constant: c }, INVALID);
    b.ret(&[]);
    assert_clean(&b.f);
    b.f.dfg.constants[c] = ConstantData::new(vec![1; 4]);
    assert_one(errors(&b.f), i, "to have a size of 16 bytes but it has 4");
}

fn try_call_fn(cc: CallConv, rets: &[Type]) -> (B, Inst, Vec<Block>) {
    let (mut b, _) = B::new(&[], &[]);
    let s = b.sig(&[], rets, cc);
    let f = b.func_ref(s);
    let (b1, _) = b.block(&[]);
    let (b2, _) = b.block(&[]);
    let (b3, _) = b.block(&[]);
    let normal = b.call_to(b1, &[]);
    let h1 = b.call_to(b2, &[]);
    let h2 = b.call_to(b3, &[]);
    let et = b.f.dfg.exception_tables.push(ExceptionTableData::new(
        s,
        normal,
        vec![ExceptionItem::Tag(1), ExceptionItem::Default],
        &[h1, h2],
    ));
    let args = b.list(&[]);
    let tc = b.ins(D::TryCall { opcode: Opcode::TryCall, func_ref: f, args, exception: et }, INVALID);
    for blk in [b1, b2, b3] {
        b.at(blk);
        b.ret(&[]);
    }
    (b, tc, vec![b1, b2, b3])
}

// Rule 16
#[test]
fn rule16_exception_handler_address() {
    let (mut b, _tc, blocks) = try_call_fn(CallConv::SystemV, &[]);
    let entry = b.f.layout.entry_block().unwrap();
    b.at(blocks[0]);
    let r = b.f.layout.last_inst(blocks[0]).unwrap();
    b.f.layout.remove_inst(r);
    let ok = b.ins(
        D::ExceptionHandlerAddress { opcode: Opcode::GetExceptionHandlerAddress, block: entry, imm: Imm64(1) },
        I64,
    );
    let bad_idx = b.ins(
        D::ExceptionHandlerAddress { opcode: Opcode::GetExceptionHandlerAddress, block: entry, imm: Imm64(2) },
        I64,
    );
    let neg = b.ins(
        D::ExceptionHandlerAddress { opcode: Opcode::GetExceptionHandlerAddress, block: entry, imm: Imm64(-1) },
        I64,
    );
    let bad_block = b.ins(
        D::ExceptionHandlerAddress { opcode: Opcode::GetExceptionHandlerAddress, block: blocks[1], imm: Imm64(0) },
        I64,
    );
    b.f.layout.append_inst(r, blocks[0]);
    let errs = errors(&b.f);
    assert_has(
        &errs,
        bad_idx,
        "exception handler index 2 is out-of-range (the try_call ending block0 has 2 handler targets)",
    );
    assert_has(&errs, neg, "exception handler index -1 cannot be negative");
    assert_has(&errs, bad_block, "referenced block block2 does not end in a try_call");
    assert!(!errs.iter().any(|e| e.location == AnyEntity::Inst(ok)));
    assert_eq!(errs.len(), 3);
}

// Rule 17
#[test]
fn rule17_controlling_type() {
    let (mut b, _) = B::new(&[], &[]);
    let i = b.raw(D::UnaryImm { opcode: Opcode::Iconst, imm: Imm64(1) }, &[I128]);
    b.ret(&[]);
    assert_one(errors(&b.f), i, "has an invalid controlling type i128 (i128 is not a valid typevar for iconst)");
    let (mut b, p) = B::new(&[F32], &[]);
    let i = b.raw(D::Binary { opcode: Opcode::Iadd, args: [p[0], p[0]] }, &[F32]);
    b.ret(&[]);
    assert_one(errors(&b.f), i, "f32 is not a valid typevar for iadd");
}

// Rule 18
#[test]
fn rule18_result_types() {
    let (mut b, p) = B::new(&[I32], &[]);
    let i =
        b.raw(D::IntCompare { opcode: Opcode::Icmp, cond: crate::condcodes::IntCC::Equal, args: [p[0], p[0]] }, &[I32]);
    b.ret(&[]);
    assert_one(errors(&b.f), i, "expected result 0 (v1) to have type i8, found i32");
}

// Rule 19
#[test]
fn rule19_operand_types() {
    let (mut b, p) = B::new(&[I32, I64], &[]);
    let (ext, _) = b.unary(Opcode::Uextend, p[0], I64);
    b.ret(&[]);
    assert_clean(&b.f);
    b.f.dfg.replace_inst(ext, D::Unary { opcode: Opcode::Uextend, arg: p[1] });
    assert_one(errors(&b.f), ext, "arg 0 (v1) with type i64 failed to satisfy type set");
    let (mut b, p) = B::new(&[I32, I64], &[]);
    let (red, _) = b.unary(Opcode::Ireduce, p[1], I32);
    b.ret(&[]);
    assert_clean(&b.f);
    b.f.dfg.replace_inst(red, D::Unary { opcode: Opcode::Ireduce, arg: p[0] });
    assert_one(errors(&b.f), red, "arg 0 (v0) with type i32 failed to satisfy type set");
    // select: a free condition type, two controlled operands.
    let (mut b, p) = B::new(&[F32, I64, I32], &[]);
    let sel = b.ins(D::Ternary { opcode: Opcode::Select, args: [p[1], p[0], p[0]] }, F32);
    b.ret(&[]);
    assert_clean(&b.f);
    b.f.dfg.replace_inst(sel, D::Ternary { opcode: Opcode::Select, args: [p[0], p[0], p[0]] });
    assert_one(errors(&b.f), sel, "arg 0 (v0) with type f32 failed to satisfy type set");
    b.f.dfg.replace_inst(sel, D::Ternary { opcode: Opcode::Select, args: [p[1], p[0], p[2]] });
    assert_one(errors(&b.f), sel, "arg 2 (v2) has type i32, expected f32");
}

// Rule 20
#[test]
fn rule20_block_calls() {
    let (mut b, p) = B::new(&[I32, I64], &[]);
    let (b1, _) = b.block(&[I32]);
    let j = b.jump(b1, &[p[0]]);
    b.at(b1);
    b.ret(&[]);
    assert_clean(&b.f);
    let d = b.call_to(b1, &[]);
    b.f.dfg.replace_inst(j, D::Jump { opcode: Opcode::Jump, destination: d });
    assert_one(errors(&b.f), j, "mismatched argument count for `block1`: got 0, expected 1");
    let d = b.call_to(b1, &[p[1]]);
    b.f.dfg.replace_inst(j, D::Jump { opcode: Opcode::Jump, destination: d });
    assert_one(errors(&b.f), j, "arg v1 has type i64, expected i32");
    // br_table: every entry, including the default.
    let (mut b, p) = B::new(&[I32], &[]);
    let (b1, _) = b.block(&[I32]);
    let (b2, _) = b.block(&[]);
    let def = b.call_to(b2, &[]);
    let e1 = b.call_to(b1, &[p[0]]);
    let e2 = b.call_to(b1, &[]);
    let jt = b.f.dfg.jump_tables.push(JumpTableData::new(def, &[e1, e2]));
    let bt = b.ins(D::BranchTable { opcode: Opcode::BrTable, arg: p[0], table: jt }, INVALID);
    b.at(b1);
    b.ret(&[]);
    b.at(b2);
    b.ret(&[]);
    assert_one(errors(&b.f), bt, "mismatched argument count for `block1`: got 0, expected 1");
    // retK / exnK.
    let (mut b, tc, blocks) = try_call_fn(CallConv::SystemV, &[I32]);
    assert_clean(&b.f);
    let p1 = b.f.dfg.append_block_param(blocks[0], I32);
    let _ = p1;
    assert_one(errors(&b.f), tc, "mismatched argument count for `block1`: got 0, expected 1");
    let et = match b.f.dfg.insts[tc] {
        D::TryCall { exception, .. } => exception,
        _ => unreachable!(),
    };
    let normal = BlockCall::new(blocks[0], [BlockArg::TryCallRet(0)], &mut b.f.dfg.value_lists);
    b.f.dfg.exception_tables[et].all_branches_mut()[0] = normal;
    assert_clean(&b.f);
    let normal = BlockCall::new(blocks[0], [BlockArg::TryCallRet(1)], &mut b.f.dfg.value_lists);
    b.f.dfg.exception_tables[et].all_branches_mut()[0] = normal;
    assert_one(errors(&b.f), tc, "ret1 is out of range: the callee has 1 return values");
    let normal = BlockCall::new(blocks[0], [BlockArg::TryCallExn(0)], &mut b.f.dfg.value_lists);
    b.f.dfg.exception_tables[et].all_branches_mut()[0] = normal;
    assert_one(
        errors(&b.f),
        tc,
        "`exnN` block argument used outside normal-return target of `try_call` (exn0 is only valid in a handler target)",
    );
    let normal = BlockCall::new(blocks[0], [BlockArg::TryCallRet(0)], &mut b.f.dfg.value_lists);
    b.f.dfg.exception_tables[et].all_branches_mut()[0] = normal;
    b.f.dfg.append_block_param(blocks[1], I64);
    let h = BlockCall::new(blocks[1], [BlockArg::TryCallExn(1)], &mut b.f.dfg.value_lists);
    b.f.dfg.exception_tables[et].all_branches_mut()[1] = h;
    assert_clean(&b.f);
    assert_one(run(&b.f, Some("pulley32"), &[]), tc, "arg exn1 has type i32, expected i64");
    let h = BlockCall::new(blocks[1], [BlockArg::TryCallExn(2)], &mut b.f.dfg.value_lists);
    b.f.dfg.exception_tables[et].all_branches_mut()[1] = h;
    assert_one(errors(&b.f), tc, "out-of-bounds `exnN` block argument: exn2");
    let h = BlockCall::new(blocks[1], [BlockArg::TryCallRet(0)], &mut b.f.dfg.value_lists);
    b.f.dfg.exception_tables[et].all_branches_mut()[1] = h;
    assert_has(&errors(&b.f), tc, "`retN` block argument used outside normal-return target of `try_call` (ret0)");
}

// Rule 21
#[test]
fn rule21_call_arguments() {
    let (mut b, p) = B::new(&[I32, I64], &[]);
    let s = b.sig(&[I32], &[], CallConv::Fast);
    let f = b.func_ref(s);
    let args = b.list(&[p[0]]);
    let c = b.ins(D::Call { opcode: Opcode::Call, func_ref: f, args }, INVALID);
    b.ret(&[]);
    assert_clean(&b.f);
    let args = b.list(&[p[1]]);
    b.f.dfg.replace_inst(c, D::Call { opcode: Opcode::Call, func_ref: f, args });
    assert_one(errors(&b.f), c, "arg 0 (v1) has type i64, expected i32");
    let args = b.list(&[p[0], p[0]]);
    b.f.dfg.replace_inst(c, D::Call { opcode: Opcode::Call, func_ref: f, args });
    assert_one(errors(&b.f), c, "mismatched argument count for `call fn0(v0, v0)`: got 2, expected 1");
    // call_indirect: the callee is the first operand.
    let args = b.list(&[p[1], p[0]]);
    b.f.dfg.replace_inst(c, D::CallIndirect { opcode: Opcode::CallIndirect, sig_ref: s, args });
    assert_clean(&b.f);
    let args = b.list(&[p[1], p[1]]);
    b.f.dfg.replace_inst(c, D::CallIndirect { opcode: Opcode::CallIndirect, sig_ref: s, args });
    assert_one(errors(&b.f), c, "arg 0 (v1) has type i64, expected i32");
    // try_call: the table signature must equal the callee's.
    let (mut b, tc, _) = try_call_fn(CallConv::SystemV, &[]);
    let other = b.sig(&[I8], &[], CallConv::SystemV);
    let et = match b.f.dfg.insts[tc] {
        D::TryCall { exception, .. } => exception,
        _ => unreachable!(),
    };
    b.f.dfg.exception_tables[et].sig = other;
    assert_one(errors(&b.f), tc, "exception table signature sig1 did not match function fn0's signature sig0");
}

// Rule 22
#[test]
fn rule22_return() {
    let (mut b, p) = B::new(&[I32, I64], &[I32]);
    let r = b.ret(&[]);
    assert_one(errors(&b.f), r, "arguments of return must match function signature");
    let args = b.list(&[p[1]]);
    b.f.dfg.replace_inst(r, D::MultiAry { opcode: Opcode::Return, args });
    assert_one(errors(&b.f), r, "result 0 has type i64, must match function signature of i32");
}

// Rule 23
#[test]
fn rule23_tail_calls() {
    let (mut b, _) = B::new(&[], &[]);
    b.f.signature.call_conv = CallConv::Tail;
    let s = b.sig(&[], &[], CallConv::Tail);
    let f = b.func_ref(s);
    let args = b.list(&[]);
    let rc = b.ins(D::Call { opcode: Opcode::ReturnCall, func_ref: f, args }, INVALID);
    assert_clean(&b.f);
    b.f.dfg.signatures[s].call_conv = CallConv::SystemV;
    let errs = errors(&b.f);
    assert_has(&errs, rc, "calling convention `system_v` does not support tail calls");
    assert_has(&errs, rc, "callee's calling convention must match caller (callee `system_v`, caller `tail`)");
    b.f.dfg.signatures[s].call_conv = CallConv::Tail;
    b.f.signature.call_conv = CallConv::Fast;
    assert_one(errors(&b.f), rc, "callee's calling convention must match caller (callee `tail`, caller `fast`)");
    b.f.signature.call_conv = CallConv::Tail;
    b.f.dfg.signatures[s].returns.push(AbiParam::new(I32));
    assert_one(errors(&b.f), rc, "results of callee must match caller");
    b.f.signature.returns.push(AbiParam::new(I64));
    assert_one(errors(&b.f), rc, "result 0 has type i32, must match function signature of i64");
}

// Rule 24
#[test]
fn rule24_exceptions() {
    let (b, tc, _) = try_call_fn(CallConv::Fast, &[]);
    assert_one(errors(&b.f), tc, "calling convention `fast` of callee does not support exceptions");
}

// Rule 25
#[test]
fn rule25_symbol_value_type() {
    let (mut b, _) = B::new(&[], &[]);
    let gv = b.f.create_global_value(GlobalValueData::Symbol {
        name: ExternalName::TestCase("x".into()),
        offset: Imm64(0),
        colocated: false,
        tls: false,
    });
    let i = b.ins(D::UnaryGlobalValue { opcode: Opcode::SymbolValue, global_value: gv }, I32);
    b.ret(&[]);
    assert_clean(&b.f);
    assert_one(
        run(&b.f, Some("x86_64"), &[]),
        i,
        "global_value instruction with type i32 references global value with type i64",
    );
    assert!(run(&b.f, Some("pulley32"), &[]).is_empty());
}

// Rule 26
#[test]
fn rule26_readonly_store() {
    let (mut b, p) = B::new(&[I64], &[]);
    let fl = b.flags(MemFlags::new().with_readonly());
    let s = b.ins(D::Store { opcode: Opcode::Store, flags: fl, args: [p[0], p[0]], offset: Offset32(0) }, I64);
    b.ins(D::Load { opcode: Opcode::Load, flags: fl, arg: p[0], offset: Offset32(0) }, I64);
    b.ret(&[]);
    assert_one(errors(&b.f), s, "A store instruction cannot have the `readonly` MemFlag");
}

// Rule 27
#[test]
fn rule27_lanes() {
    let (mut b, p) = B::new(&[types::I32X4, I32], &[]);
    let e = b.ins(D::BinaryImm8 { opcode: Opcode::Extractlane, arg: p[0], imm: 3 }, types::I32X4);
    let i = b.ins(D::TernaryImm8 { opcode: Opcode::Insertlane, args: [p[0], p[1]], imm: 3 }, types::I32X4);
    b.ret(&[]);
    assert_clean(&b.f);
    b.f.dfg.replace_inst(e, D::BinaryImm8 { opcode: Opcode::Extractlane, arg: p[0], imm: 4 });
    b.f.dfg.replace_inst(i, D::TernaryImm8 { opcode: Opcode::Insertlane, args: [p[0], p[1]], imm: 200 });
    let errs = errors(&b.f);
    assert_has(&errs, e, "The lane 4 does not index into the type i32x4");
    assert_has(&errs, i, "The lane 200 does not index into the type i32x4");
    assert_eq!(errs.len(), 2);
}

// Rule 28
#[test]
fn rule28_shuffle() {
    let (mut b, p) = B::new(&[types::I8X16], &[]);
    let m = b.f.dfg.insert_immediate(ConstantData::new((0..16).collect()));
    let s = b.ins(D::Shuffle { opcode: Opcode::Shuffle, args: [p[0], p[0]], mask: m }, INVALID);
    b.ret(&[]);
    assert_clean(&b.f);
    b.f.dfg.immediates[m] = ConstantData::new(vec![0; 8]);
    assert_one(errors(&b.f), s, "the shuffle immediate wasn't 16 bytes long");
    let mut bytes = vec![0u8; 16];
    bytes[5] = 32;
    b.f.dfg.immediates[m] = ConstantData::new(bytes);
    assert_one(errors(&b.f), s, "shuffle immediate index 32 is larger than the maximum 31 (lane 5)");
}

// Rule 29
#[test]
fn rule29_iconst_range() {
    let (mut b, _) = B::new(&[], &[]);
    b.iconst(I8, 255);
    b.iconst(I16, 0xffff);
    b.iconst(I64, -1);
    b.ret(&[]);
    assert_clean(&b.f);
    let (mut b, _) = B::new(&[], &[]);
    let v = b.iconst(I8, -1);
    let i = b.f.dfg.value_def(v).unwrap().inst().unwrap();
    b.ret(&[]);
    assert_one(errors(&b.f), i, "constant immediate is out of bounds for i8");
    let (mut b, _) = B::new(&[], &[]);
    let v = b.iconst(I32, 1 << 32);
    let i = b.f.dfg.value_def(v).unwrap().inst().unwrap();
    b.ret(&[]);
    assert_one(errors(&b.f), i, "constant immediate is out of bounds");
}

// Rule 30
#[test]
fn rule30_debug_tags() {
    let (mut b, p) = B::new(&[I32], &[]);
    let (add, _) = b.binary(Opcode::Iadd, p[0], p[0]);
    let sp = b.ins(D::NullAry { opcode: Opcode::SequencePoint }, INVALID);
    b.ret(&[]);
    b.f.debug_tags.insert(sp, vec![DebugTag::User(1)]);
    assert_clean(&b.f);
    b.f.debug_tags.insert(add, vec![DebugTag::User(2)]);
    assert_one(errors(&b.f), add, "debug tags present on non-call, non-sequence point instruction");
    b.f.debug_tags.remove(&add);
    b.f.debug_tags.insert(sp, vec![DebugTag::StackSlot(StackSlot::new(4))]);
    assert_one(errors(&b.f), sp, "debug tag names an invalid stack slot ss4");
}

// ---------------------------------------------------------------------------------------
// Robustness: corrupt functions produce errors, never panics.

#[test]
fn format_mismatch_and_corrupt_lists() {
    let (mut b, p) = B::new(&[I32], &[]);
    let i = b.raw(D::Unary { opcode: Opcode::Iadd, arg: p[0] }, &[I32]);
    b.ret(&[]);
    assert_one(errors(&b.f), i, "instruction format Unary doesn't match opcode iadd");
    // A list handle from a much bigger pool.
    let mut other = crate::instructions::ValueListPool::new();
    let mut big = ValueList::new();
    for k in 0..200 {
        big.push(Value::new(k), &mut other);
    }
    let (mut b, _) = B::new(&[], &[]);
    let r = b.ins(D::MultiAry { opcode: Opcode::Return, args: big }, INVALID);
    assert_one(errors(&b.f), r, "the argument list is corrupt");
    // A dangling jump table.
    let (mut b, p) = B::new(&[I32], &[]);
    let bt = b.raw(D::BranchTable { opcode: Opcode::BrTable, arg: p[0], table: JumpTable::new(3) }, &[]);
    assert_one(errors(&b.f), bt, "invalid jump table reference jt3");
    let empty = b.f.dfg.jump_tables.push(JumpTableData::default());
    b.f.dfg.replace_inst(bt, D::BranchTable { opcode: Opcode::BrTable, arg: p[0], table: empty });
    assert_one(errors(&b.f), bt, "has no default target");
    // Dangling exception table and memflags id.
    let (mut b, p) = B::new(&[I64], &[]);
    let args = b.list(&[p[0]]);
    let t = b.raw(D::TryCallIndirect { opcode: Opcode::TryCallIndirect, args, exception: ExceptionTable::new(0) }, &[]);
    assert_one(errors(&b.f), t, "invalid exception table reference extable0");
    let (mut b, p) = B::new(&[I64], &[]);
    let l = b.raw(
        D::Load { opcode: Opcode::Load, flags: crate::memflags::MemFlagsId(999), arg: p[0], offset: Offset32(0) },
        &[I32],
    );
    b.ret(&[]);
    assert_one(errors(&b.f), l, "invalid memory flags reference 999");
}

#[test]
fn corrupt_layout_is_reported() {
    let (mut b, _) = B::new(&[], &[]);
    b.ret(&[]);
    b.f.layout.append_inst(Inst::new(50), b.cur);
    assert_one(errors(&b.f), Inst::new(50), "is not an instruction of the function");
    let (mut b, _) = B::new(&[], &[]);
    b.ret(&[]);
    b.f.layout.append_block(Block::new(12));
    assert_one(errors(&b.f), Block::new(12), "is not a block of the function");
}

#[test]
fn alias_chains_resolve() {
    let (mut b, _) = B::new(&[], &[I32]);
    b.f.dfg.reserve_values(3).unwrap();
    let (v1, v2) = (Value::new(1), Value::new(2));
    let c = b.iconst(I32, 0);
    assert!(b.f.dfg.make_alias(v1, c));
    assert!(b.f.dfg.make_alias(v2, v1));
    // The DFG refuses to close a cycle, so chains always end.
    assert!(!b.f.dfg.make_alias(v1, v2));
    b.ret(&[v2]);
    assert_clean(&b.f);
}

/// Garbage instructions of every format, with valid and dangling references mixed, never
/// make the verifier panic (with or without a target, with or without given analyses).
#[test]
fn fuzz_garbage_instructions() {
    use crate::InstructionFormat as F;
    use crate::condcodes::{FloatCC, IntCC};
    use crate::instructions::AtomicRmwOp;
    use crate::trapcode::TrapCode;
    let mut state = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let fl = Flags::new();
    let x86 = TargetSpec::parse("x86_64", &[]).unwrap();
    let mut clean = 0;
    for round in 0..4000 {
        let (mut b, p) = B::new(&[I32, I64], &[I32]);
        let (b1, _) = b.block(&[I32]);
        let (b2, _) = b.block(&[]);
        // Preamble entities, some dangling.
        let s0 = b.sig(&[I32], &[I32], CallConv::SystemV);
        b.func_ref(s0);
        b.f.create_stack_slot(StackSlotData::new(16, 2));
        let base = GlobalValue::new((next() % 3) as usize);
        b.f.create_global_value(GlobalValueData::IAddImm { base, offset: Imm64(8), global_type: I64 });
        b.f.dfg.insert_constant(ConstantData::new(vec![7; (next() % 20) as usize]));
        b.f.dfg.insert_immediate(ConstantData::new(vec![3; (next() % 20) as usize]));
        if next() % 4 == 0 {
            b.f.placeholders.signatures.insert(s0);
        }
        let n_insts = 1 + next() % 4;
        for _ in 0..n_insts {
            let op = Opcode::ALL[(next() % Opcode::ALL.len() as u64) as usize];
            let mut rnd = || next();
            let val = |r: u64| Value::new((r % 7) as usize);
            let blk = |r: u64| Block::new((r % 4) as usize);
            let (r1, r2, r3, r4) = (rnd(), rnd(), rnd(), rnd());
            let call1 = b.call_to(blk(r1), &[val(r2)]);
            let call2 = b.call_to(blk(r2), &[]);
            let list = b.list(&[val(r1), val(r2), p[(r3 % 2) as usize]]);
            let flags = crate::memflags::MemFlagsId((r3 % 3) as u16);
            if r4 % 3 == 0 {
                b.flags(MemFlags::new().with_readonly().with_alias_region(Some(AliasRegion::new(0))));
            }
            let jt = {
                let d = b.call_to(blk(r3), &[p[0]]);
                b.f.dfg.jump_tables.push(JumpTableData::new(d, &[call1, call2]))
            };
            let et = {
                let n = b.f.dfg.block_call(blk(r4), &[]);
                let h = BlockCall::new(blk(r1), [BlockArg::TryCallExn((r2 % 3) as u32)], &mut b.f.dfg.value_lists);
                let items = if r4 % 2 == 0 {
                    vec![ExceptionItem::Tag(1), ExceptionItem::Context(val(r3))]
                } else {
                    vec![ExceptionItem::Default]
                };
                let mut t = ExceptionTableData::new(SigRef::new((r1 % 2) as usize), n, items, &[h]);
                if r4 % 7 == 1 {
                    // Items and handler targets out of step.
                    t.items.push(ExceptionItem::Tag(9));
                }
                b.f.dfg.exception_tables.push(t)
            };
            let data = match op.format() {
                F::NullAry => D::NullAry { opcode: op },
                F::Unary => D::Unary { opcode: op, arg: val(r1) },
                F::UnaryImm => D::UnaryImm { opcode: op, imm: Imm64(r1 as i64 >> (r2 % 64)) },
                F::UnaryIeee16 => D::UnaryIeee16 { opcode: op, imm: crate::immediates::Ieee16(r1 as u16) },
                F::UnaryIeee32 => D::UnaryIeee32 { opcode: op, imm: crate::immediates::Ieee32(r1 as u32) },
                F::UnaryIeee64 => D::UnaryIeee64 { opcode: op, imm: crate::immediates::Ieee64(r1) },
                F::UnaryConst => D::UnaryConst { opcode: op, constant: Constant::new((r1 % 2) as usize) },
                F::UnaryGlobalValue => {
                    D::UnaryGlobalValue { opcode: op, global_value: GlobalValue::new((r1 % 2) as usize) }
                }
                F::Binary => D::Binary { opcode: op, args: [val(r1), val(r2)] },
                F::BinaryImm8 => D::BinaryImm8 { opcode: op, arg: val(r1), imm: r2 as u8 },
                F::Ternary => D::Ternary { opcode: op, args: [val(r1), val(r2), val(r3)] },
                F::TernaryImm8 => D::TernaryImm8 { opcode: op, args: [val(r1), val(r2)], imm: r3 as u8 },
                F::MultiAry => D::MultiAry { opcode: op, args: list },
                F::Shuffle => {
                    D::Shuffle { opcode: op, args: [val(r1), val(r2)], mask: Immediate::new((r3 % 2) as usize) }
                }
                F::IntCompare => D::IntCompare { opcode: op, cond: IntCC::Equal, args: [val(r1), val(r2)] },
                F::FloatCompare => D::FloatCompare { opcode: op, cond: FloatCC::Ordered, args: [val(r1), val(r2)] },
                F::IntAddTrap => {
                    D::IntAddTrap { opcode: op, args: [val(r1), val(r2)], code: TrapCode::INTEGER_OVERFLOW }
                }
                F::Jump => D::Jump { opcode: op, destination: call1 },
                F::Brif => D::Brif { opcode: op, arg: val(r3), blocks: [call1, call2] },
                F::BranchTable => D::BranchTable {
                    opcode: op,
                    arg: val(r3),
                    table: if r1 % 3 == 2 { JumpTable::new(99) } else { jt },
                },
                F::Call => D::Call { opcode: op, func_ref: FuncRef::new((r1 % 2) as usize), args: list },
                F::CallIndirect => D::CallIndirect { opcode: op, sig_ref: SigRef::new((r2 % 2) as usize), args: list },
                F::TryCall => {
                    D::TryCall { opcode: op, func_ref: FuncRef::new((r1 % 2) as usize), args: list, exception: et }
                }
                F::TryCallIndirect => D::TryCallIndirect { opcode: op, args: list, exception: et },
                F::FuncAddr => D::FuncAddr { opcode: op, func_ref: FuncRef::new((r1 % 2) as usize) },
                F::StackAddr => D::StackAddr {
                    opcode: op,
                    stack_slot: StackSlot::new((r1 % 2) as usize),
                    offset: Offset32(r2 as i32),
                },
                F::DynamicStackAddr => D::DynamicStackAddr { opcode: op, dynamic_stack_slot: DynamicStackSlot::new(0) },
                F::Load => D::Load { opcode: op, flags, arg: val(r1), offset: Offset32(0) },
                F::Store => D::Store { opcode: op, flags, args: [val(r1), val(r2)], offset: Offset32(0) },
                F::LoadNoOffset => D::LoadNoOffset { opcode: op, flags, arg: val(r1) },
                F::StoreNoOffset => D::StoreNoOffset { opcode: op, flags, args: [val(r1), val(r2)] },
                F::AtomicRmw => D::AtomicRmw { opcode: op, flags, op: AtomicRmwOp::Xchg, args: [val(r1), val(r2)] },
                F::AtomicCas => D::AtomicCas { opcode: op, flags, args: [val(r1), val(r2), val(r3)] },
                F::Trap => D::Trap { opcode: op, code: TrapCode::STACK_OVERFLOW },
                F::CondTrap => D::CondTrap { opcode: op, arg: val(r1), code: TrapCode::STACK_OVERFLOW },
                F::ExceptionHandlerAddress => {
                    D::ExceptionHandlerAddress { opcode: op, block: blk(r1), imm: Imm64(r2 as i64 % 4) }
                }
            };
            // Occasionally a mismatched format.
            let data = if r4 % 17 == 0 { D::Binary { opcode: op, args: [val(r1), val(r2)] } } else { data };
            let inst = b.f.dfg.make_inst(data);
            if r4 % 5 == 0 {
                let _ = b.f.dfg.make_inst_results(inst, [I32, I64, F32, types::I32X4][(r2 % 4) as usize]);
            } else {
                for k in 0..(r2 % 3) {
                    b.f.dfg.append_result(inst, [I32, I64, F32][(k as usize + r3 as usize) % 3]).unwrap();
                }
            }
            if r3 % 7 == 0 {
                b.f.debug_tags.insert(inst, vec![DebugTag::StackSlot(StackSlot::new((r1 % 3) as usize))]);
            }
            b.f.layout.append_inst(inst, b.cur);
        }
        if round % 3 != 0 {
            b.jump(b1, &[p[0]]);
        }
        b.at(b1);
        if round % 4 != 0 {
            b.ret(&[p[0]]);
        }
        b.at(b2);
        b.brif(p[0], b1, &[p[0]], b2, &[]);
        let ctx = VerifierContext::with_target(&fl, &x86);
        let r = verify_function(&b.f, &ctx);
        if r.is_ok() {
            clean += 1;
        }
        let _ = verify_function(&b.f, &VerifierContext::new(&fl));
        if let Err(e) = &r {
            // Every error can be displayed.
            let _ = e.to_string();
        }
    }
    // Garbage is almost never valid, but the generator does produce some valid functions.
    assert!(clean < 4000);
}

/// Verification time is linear: a long function with many blocks and values verifies fast.
#[test]
fn large_function_is_linear() {
    let (mut b, p) = B::new(&[I32], &[I32]);
    let mut cur = p[0];
    let n_blocks = 2000;
    for _ in 0..n_blocks {
        for _ in 0..50 {
            cur = b.binary(Opcode::Iadd, cur, p[0]).1;
        }
        let (nb, q) = b.block(&[I32]);
        b.brif(cur, nb, &[cur], nb, &[p[0]]);
        b.at(nb);
        cur = q[0];
    }
    b.ret(&[cur]);
    let start = std::time::Instant::now();
    assert_clean(&b.f);
    let t = start.elapsed();
    assert!(t.as_secs_f64() < 5.0, "verifying 100k instructions took {t:?}");
}

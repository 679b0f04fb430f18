//! The whole backend pipeline (`machinst::compile`) with a second, toy target: the
//! framework's contracts that x86-64 alone does not exercise.
//!
//! The toy has four integer argument registers, one float argument register (further
//! float arguments travel in integer registers, as riscv64 LP64D does once its float
//! registers run out: class-changing moves), float registers f2/f3 that calls clobber but
//! callers need not save (like aarch64's v8–v15), 16-byte float spill slots, 8-byte float
//! saves, a block-start hook marking jump-table targets and landing pads, and literal
//! loads reaching ±127 bytes (islands inside small functions). Its code is a simple byte
//! format the tests decode.
//!
//! Checked: calls, returns and arguments are lowered by the framework into the target's
//! instruction forms (class moves included); the frame inputs leave out call clobbers the
//! rule excludes; spills of floats take two words; block starts carry their flags; islands
//! keep every literal in reach in a compiled function.

use kiln_codegen::context::CompileScratch;
use kiln_codegen::machinst::abi::{
    ABIArg, ABIArgSlot, AbiSpec, ArgPair, ArgsOrRets, CalleeSave, FrameInputs, FrameLayout, RetPair, StackAMode,
};
use kiln_codegen::machinst::buffer::{FinishedCode, Form, MachBuffer, MachEncoder, Reloc};
use kiln_codegen::machinst::call::{CallDest, CallInfo};
use kiln_codegen::machinst::compile::compile;
use kiln_codegen::machinst::lower::{Lower, LowerBackend};
use kiln_codegen::machinst::vcode::{BlockStart, EmitState, MachInstEmit};
use kiln_codegen::machinst::{MachInst, MachLabel, MachTerminator, OperandVisitor, Reg, Writable};
use kiln_codegen::{CodegenError, CodegenResult, CompiledCode};
use kiln_ir::analysis::cfg::ControlFlowGraph;
use kiln_ir::analysis::domtree::DominatorTree;
use kiln_ir::settings::Flags;
use kiln_ir::signature::{AbiParam, ArgumentExtension, ArgumentPurpose, CallConv};
use kiln_ir::text::parse_functions;
use kiln_ir::types::{self, Type};
use kiln_ir::{Inst, InstructionData, Opcode};
use regalloc2::{MachineEnv, PReg, PRegSet, RegClass};
use smallvec::{SmallVec, smallvec};
use std::sync::Mutex;

fn ireg(n: usize) -> PReg {
    PReg::new(n, RegClass::Int)
}
fn freg(n: usize) -> PReg {
    PReg::new(n, RegClass::Float)
}

/// The toy's instructions.
#[derive(Clone, Debug)]
enum T {
    Args(Vec<ArgPair>),
    Rets(Vec<RetPair>),
    ExnPayloads(SmallVec<[(Writable<Reg>, PReg); 2]>),
    Mov { dst: Writable<Reg>, src: Reg },
    ClassMove { dst: Writable<Reg>, src: Reg },
    Iconst { dst: Writable<Reg>, imm: u64 },
    Fconst { dst: Writable<Reg>, label: MachLabel },
    Add { dst: Writable<Reg>, a: Reg, b: Reg },
    Load { dst: Writable<Reg>, mem: StackAMode },
    Store { src: Reg, mem: StackAMode },
    StoreBase { src: Reg, base: Reg, offset: i32 },
    StackAddr { dst: Writable<Reg>, mem: StackAMode },
    Extend { dst: Writable<Reg>, src: Reg },
    Jump(MachLabel),
    BrIf { cond: Reg, taken: MachLabel, not_taken: MachLabel },
    Table { idx: Reg, default: MachLabel, targets: Vec<MachLabel> },
    Call(Box<CallInfo>),
    TailCall(Box<CallInfo>),
}

impl MachInst for T {
    fn get_operands(&mut self, v: &mut impl OperandVisitor) {
        match self {
            T::Args(args) => {
                for a in args {
                    v.reg_fixed_def(&mut a.vreg, a.preg);
                }
            }
            T::Rets(rets) => {
                for r in rets {
                    v.reg_fixed_use(&mut r.vreg, r.preg);
                }
            }
            T::ExnPayloads(defs) => {
                for (r, p) in defs {
                    v.reg_fixed_def(r, *p);
                }
            }
            T::Mov { dst, src } | T::ClassMove { dst, src } | T::Extend { dst, src } => {
                v.reg_use(src);
                v.reg_def(dst);
            }
            T::Iconst { dst, .. } | T::Fconst { dst, .. } | T::Load { dst, .. } | T::StackAddr { dst, .. } => {
                v.reg_def(dst)
            }
            T::Add { dst, a, b } => {
                v.reg_use(a);
                v.reg_use(b);
                v.reg_def(dst);
            }
            T::Store { src, .. } => v.reg_use(src),
            T::StoreBase { src, base, .. } => {
                v.reg_use(src);
                v.reg_use(base);
            }
            T::Jump(_) => {}
            T::BrIf { cond, .. } => v.reg_use(cond),
            T::Table { idx, .. } => v.reg_use(idx),
            T::Call(info) | T::TailCall(info) => {
                if let CallDest::Indirect(r) = &mut info.dest {
                    v.reg_use(r);
                }
                info.visit_operands(v);
            }
        }
    }
    fn is_move(&self) -> Option<(Writable<Reg>, Reg)> {
        match *self {
            T::Mov { dst, src } => Some((dst, src)),
            _ => None,
        }
    }
    fn is_term(&self) -> MachTerminator {
        match self {
            T::Rets(_) | T::TailCall(_) => MachTerminator::Ret,
            T::Jump(_) | T::BrIf { .. } | T::Table { .. } => MachTerminator::Branch,
            T::Call(info) if info.try_call.is_some() => MachTerminator::Branch,
            _ => MachTerminator::None,
        }
    }
    fn is_call(&self) -> bool {
        matches!(self, T::Call(_) | T::TailCall(_))
    }
    fn gen_move(dst: Writable<Reg>, src: Reg, _ty: Type) -> T {
        T::Mov { dst, src }
    }
    fn gen_jump(target: MachLabel) -> T {
        T::Jump(target)
    }
    fn rc_for_type(ty: Type) -> CodegenResult<(&'static [RegClass], &'static [Type])> {
        match ty {
            types::I8 | types::I16 | types::I32 | types::I64 => Ok((&[RegClass::Int], &[types::I64])),
            types::F32 | types::F64 => Ok((&[RegClass::Float], &[types::F64])),
            t => Err(CodegenError::Unsupported(format!("type {t} on the toy"))),
        }
    }
    fn canonical_type_for_rc(rc: RegClass) -> Type {
        if rc == RegClass::Int { types::I64 } else { types::F64 }
    }
    fn pretty_print(&self) -> String {
        match self {
            T::ClassMove { dst, src } => format!("cmov {dst:?}, {src:?}"),
            T::Call(info) => format!("call {:?} uses {:?} defs {:?}", info.dest, info.uses, info.defs),
            other => format!("{other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Encoding.

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum TBr {
    Jmp,
    Cond(u8),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum TUse {
    /// `4C d8 reg`: a literal load, reaching ±127 bytes from the instruction.
    Lit,
    /// A jump-table word: target − entry.
    Table32,
}

const fn form(size: u32, bits: u32, islands: bool) -> Form {
    let half = 1i64 << (bits - 1);
    Form { size, min_disp: -half, max_disp: half - 1, islands }
}
const JMP: [Form; 2] = [form(2, 8, false), form(5, 32, false)];
const COND: [Form; 2] = [form(3, 8, true), form(6, 32, false)];
const LIT: [Form; 1] = [form(0, 8, true)];
const TABLE: [Form; 1] = [form(0, 32, false)];

#[derive(Clone)]
struct ToyEnc;

impl MachEncoder for ToyEnc {
    type Branch = TBr;
    type LabelUse = TUse;
    fn branch_forms(&self, b: &TBr) -> &[Form] {
        if *b == TBr::Jmp { &JMP } else { &COND }
    }
    fn encode_branch(&self, b: &TBr, form: usize, _at: u32, disp: i64, out: &mut Vec<u8>) {
        match (b, form) {
            (TBr::Jmp, 0) => out.extend_from_slice(&[0xe0, disp as i8 as u8]),
            (TBr::Jmp, _) => {
                out.push(0xe1);
                out.extend_from_slice(&(disp as i32).to_le_bytes());
            }
            (TBr::Cond(r), 0) => out.extend_from_slice(&[0xc0, *r, disp as i8 as u8]),
            (TBr::Cond(r), _) => {
                out.extend_from_slice(&[0xc1, *r]);
                out.extend_from_slice(&(disp as i32).to_le_bytes());
            }
        }
    }
    fn is_unconditional(&self, b: &TBr) -> bool {
        *b == TBr::Jmp
    }
    fn jump(&self) -> TBr {
        TBr::Jmp
    }
    fn label_use_forms(&self, u: &TUse) -> &[Form] {
        if *u == TUse::Lit { &LIT } else { &TABLE }
    }
    fn patch_label_use(&self, u: &TUse, _at: u32, disp: i64, bytes: &mut [u8]) -> bool {
        match u {
            TUse::Lit => match i8::try_from(disp) {
                Ok(d) => {
                    bytes[1] = d as u8;
                    true
                }
                Err(_) => false,
            },
            TUse::Table32 => {
                bytes.copy_from_slice(&(disp as i32).to_le_bytes());
                true
            }
        }
    }
    fn label_use_patch_size(&self, u: &TUse) -> u32 {
        if *u == TUse::Lit { 2 } else { 4 }
    }
    fn encode_label_use(&self, _u: &TUse, _form: usize, _at: u32, _disp: i64, _out: &mut Vec<u8>) {}
    fn trap_instruction(&self) -> &[u8] {
        &[0xff]
    }
    fn write_nops(&self, n: usize, out: &mut Vec<u8>) {
        out.extend(std::iter::repeat_n(0x90, n));
    }
}

/// A register's byte: the hardware number, with 0x10 set for floats.
fn rb(r: Reg) -> u8 {
    r.hw_enc() | if r.class() == RegClass::Float { 0x10 } else { 0 }
}

/// Sizes of the toy's fixed instructions, by first byte (for the decoder).
fn insn_size(op: u8) -> usize {
    match op {
        0xb0..=0xb2 | 0xc3 | 0x90 | 0xff => 1,
        0xe0 | 0xca | 0xcb => 2,
        0x01 | 0x02 | 0x09 => 3,
        0x03 => 10,
        0x4c | 0xc0 => 3,
        0x05 => 4,
        0x06..=0x08 => 6,
        0x0a => 7,
        0xe1 => 5,
        0xc1 => 6,
        _ => panic!("undecodable {op:#x}"),
    }
}

impl MachInstEmit for T {
    type Info = ToyEnc;
    type State = ();
    fn emit(&self, sink: &mut MachBuffer<ToyEnc>, _info: &ToyEnc, state: &mut EmitState<()>) -> CodegenResult<()> {
        let off = |m: StackAMode| (state.stack_offset(m) as i32).to_le_bytes();
        match self {
            T::Args(_) | T::ExnPayloads(_) => {}
            T::Rets(_) => sink.put1(0xc3),
            T::Mov { dst, src } => sink.put_data(&[0x01, rb(dst.to_reg()), rb(*src)]),
            T::ClassMove { dst, src } => sink.put_data(&[0x02, rb(dst.to_reg()), rb(*src)]),
            T::Extend { dst, src } => sink.put_data(&[0x09, rb(dst.to_reg()), rb(*src)]),
            T::Iconst { dst, imm } => {
                sink.put_data(&[0x03, rb(dst.to_reg())]);
                sink.put8(*imm);
            }
            T::Fconst { dst, label } => {
                sink.use_label_at_offset(*label, TUse::Lit);
                sink.put_data(&[0x4c, 0, rb(dst.to_reg())]);
            }
            T::Add { dst, a, b } => sink.put_data(&[0x05, rb(dst.to_reg()), rb(*a), rb(*b)]),
            T::Load { dst, mem } => {
                sink.put_data(&[0x06, rb(dst.to_reg())]);
                sink.put_data(&off(*mem));
            }
            T::Store { src, mem } => {
                sink.put_data(&[0x07, rb(*src)]);
                sink.put_data(&off(*mem));
            }
            T::StackAddr { dst, mem } => {
                sink.put_data(&[0x08, rb(dst.to_reg())]);
                sink.put_data(&off(*mem));
            }
            T::StoreBase { src, base, offset } => {
                sink.put_data(&[0x0a, rb(*src), rb(*base)]);
                sink.put_data(&offset.to_le_bytes());
            }
            T::Jump(t) => {
                if state.next_block != Some(*t) {
                    sink.add_branch(*t, TBr::Jmp);
                }
            }
            T::BrIf { cond, taken, not_taken } => {
                sink.add_branch(*taken, TBr::Cond(rb(*cond)));
                if state.next_block != Some(*not_taken) {
                    sink.add_branch(*not_taken, TBr::Jmp);
                }
            }
            T::Table { idx, default, targets } => {
                sink.put_data(&[0x7a, rb(*idx)]);
                sink.put2(targets.len() as u16 + 1);
                let start = sink.cur_pos();
                for (k, t) in std::iter::once(default).chain(targets).enumerate() {
                    sink.use_label_at_offset_with_addend(*t, TUse::Table32, 4 * k as i32);
                    sink.put4(0);
                }
                sink.mark_inline_data(start);
            }
            T::Call(info) | T::TailCall(info) => {
                let tail = matches!(self, T::TailCall(_));
                sink.put1(if tail { 0xcb } else { 0xca });
                match &info.dest {
                    CallDest::Name { name, .. } => {
                        sink.add_reloc(Reloc::Abs8, name.clone(), 0);
                        sink.put1(0);
                    }
                    CallDest::Indirect(r) => sink.put1(rb(*r)),
                }
                if !tail {
                    let handlers = info.try_call.as_ref().map(|t| t.handlers.clone()).unwrap_or_default();
                    sink.add_call_site(handlers, 0);
                    if let Some(t) = &info.try_call
                        && state.next_block != Some(t.normal)
                    {
                        sink.add_branch(t.normal, TBr::Jmp);
                    }
                }
            }
        }
        Ok(())
    }
    fn emit_prologue(_: &mut MachBuffer<ToyEnc>, _: &ToyEnc, _: &mut EmitState<()>) -> CodegenResult<()> {
        Ok(())
    }
    fn emit_block_start(
        sink: &mut MachBuffer<ToyEnc>,
        _: &ToyEnc,
        _: &mut EmitState<()>,
        block: &BlockStart,
    ) -> CodegenResult<()> {
        if block.entry {
            sink.put1(0xb0);
        }
        if block.flags.indirect_target {
            sink.put1(0xb1);
        }
        if block.flags.landing_pad {
            sink.put1(0xb2);
        }
        Ok(())
    }
    fn is_plain_jump(&self) -> Option<MachLabel> {
        match self {
            T::Jump(t) => Some(*t),
            _ => None,
        }
    }
    fn worst_case_size(&self) -> u32 {
        match self {
            T::Table { targets, .. } => 8 + 4 * (targets.len() as u32 + 1),
            _ => 24,
        }
    }
}

// ---------------------------------------------------------------------------------------
// ABI.

struct ToyAbi {
    flags: Flags,
    env: MachineEnv,
    /// Every frame layout asked for.
    frames: Mutex<Vec<FrameInputs>>,
}

impl ToyAbi {
    fn new(flags: Flags) -> ToyAbi {
        let set = |regs: &[PReg]| {
            let mut s = PRegSet::empty();
            for &r in regs {
                s.add(r);
            }
            s
        };
        let env = MachineEnv {
            preferred_regs_by_class: [
                set(&[ireg(0), ireg(1), ireg(2), ireg(3)]),
                set(&[freg(0), freg(1), freg(2), freg(3)]),
                PRegSet::empty(),
            ],
            non_preferred_regs_by_class: [set(&[ireg(4), ireg(5)]), PRegSet::empty(), PRegSet::empty()],
            scratch_by_class: [None, None, None],
            fixed_stack_slots: Vec::new(),
        };
        ToyAbi { flags, env, frames: Mutex::new(Vec::new()) }
    }
}

fn callee_saved(r: PReg) -> bool {
    r == ireg(4) || r == ireg(5) || r == freg(2) || r == freg(3)
}

impl AbiSpec for ToyAbi {
    type I = T;
    fn flags(&self) -> &Flags {
        &self.flags
    }
    fn word_bytes(&self) -> u32 {
        8
    }
    fn stack_align(&self) -> u32 {
        16
    }
    fn default_call_conv(&self) -> CallConv {
        CallConv::SystemV
    }
    fn compute_arg_locs(
        &self,
        _cc: CallConv,
        params: &[AbiParam],
        args_or_rets: ArgsOrRets,
        add_ret_area_ptr: bool,
    ) -> CodegenResult<(Vec<ABIArg>, u32, Option<usize>)> {
        let (ints, floats): (&[usize], &[usize]) =
            if args_or_rets == ArgsOrRets::Args { (&[0, 1, 2, 3], &[0]) } else { (&[0, 1], &[1]) };
        let (mut ni, mut nf, mut stack) = (0, 0, 0u32);
        let mut out = Vec::new();
        let reg = |reg, ty| ABIArgSlot::Reg { reg, ty, extension: ArgumentExtension::None };
        if add_ret_area_ptr {
            out.push(ABIArg::Slots { slots: smallvec![reg(ireg(0), types::I64)], purpose: ArgumentPurpose::Normal });
            ni = 1;
        }
        for p in params {
            let ty = p.value_type;
            // Floats go in the float registers, then in integer registers, then the stack.
            let slot = if ty.is_float() && nf < floats.len() {
                nf += 1;
                reg(freg(floats[nf - 1]), ty)
            } else if ni < ints.len() {
                ni += 1;
                ABIArgSlot::Reg { reg: ireg(ints[ni - 1]), ty, extension: p.extension }
            } else {
                stack += 8;
                ABIArgSlot::Stack { offset: stack as i64 - 8, ty, extension: p.extension }
            };
            out.push(ABIArg::Slots { slots: smallvec![slot], purpose: p.purpose });
        }
        Ok((out, stack.next_multiple_of(16), add_ret_area_ptr.then_some(0)))
    }
    fn call_clobbers(&self, _cc: CallConv) -> PRegSet {
        let mut s = PRegSet::empty();
        for r in [ireg(0), ireg(1), ireg(2), ireg(3), freg(0), freg(1), freg(2), freg(3)] {
            s.add(r);
        }
        s
    }
    fn call_clobbers_to_save(&self, _caller: CallConv, _callee: CallConv, clobbers: PRegSet) -> PRegSet {
        // The callee preserves the low halves of f2/f3, all the caller must preserve.
        let mut c = clobbers;
        c.remove(freg(2));
        c.remove(freg(3));
        c
    }
    fn machine_env(&self) -> &MachineEnv {
        &self.env
    }
    fn spillslot_bytes(&self, rc: RegClass) -> u32 {
        if rc == RegClass::Int { 8 } else { 16 }
    }
    fn gen_load_stack(&self, mem: StackAMode, into: Writable<Reg>, _ty: Type) -> T {
        T::Load { dst: into, mem }
    }
    fn gen_store_stack(&self, mem: StackAMode, from: Reg, _ty: Type) -> T {
        T::Store { src: from, mem }
    }
    fn gen_store_base_offset(&self, base: Reg, offset: i32, from: Reg, _ty: Type) -> T {
        T::StoreBase { src: from, base, offset }
    }
    fn gen_stack_addr(&self, mem: StackAMode, into: Writable<Reg>) -> T {
        T::StackAddr { dst: into, mem }
    }
    fn gen_extend(&self, to: Writable<Reg>, from: Reg, _signed: bool, _from_bits: u8, _to_bits: u8) -> T {
        T::Extend { dst: to, src: from }
    }
    fn gen_class_move(&self, dst: Writable<Reg>, src: Reg, _ty: Type) -> CodegenResult<T> {
        assert_ne!(dst.to_reg().class(), src.class());
        Ok(T::ClassMove { dst, src })
    }
    fn gen_args(&self, args: Vec<ArgPair>) -> T {
        T::Args(args)
    }
    fn gen_rets(&self, rets: Vec<RetPair>, _pop: u32) -> T {
        T::Rets(rets)
    }
    fn gen_call(&self, info: Box<CallInfo>) -> T {
        T::Call(info)
    }
    fn gen_return_call(&self, info: Box<CallInfo>) -> CodegenResult<T> {
        Ok(T::TailCall(info))
    }
    fn exception_payload_regs(&self, _cc: CallConv) -> &[PReg] {
        const P: [PReg; 2] = [PReg::new(0, RegClass::Int), PReg::new(1, RegClass::Int)];
        &P
    }
    fn gen_exception_payloads(&self, defs: SmallVec<[(Writable<Reg>, PReg); 2]>) -> T {
        T::ExnPayloads(defs)
    }
    fn compute_frame_layout(&self, inputs: &FrameInputs) -> CodegenResult<FrameLayout> {
        self.frames.lock().unwrap().push(inputs.clone());
        let mut layout = FrameLayout::from_inputs(inputs, 8);
        let mut off = 0;
        for r in inputs.clobbered.into_iter().filter(|&r| callee_saved(r)) {
            // Float saves keep 8 bytes (the half the convention preserves).
            off += 8;
            layout.callee_saves.push(CalleeSave { reg: r, offset: off, size: 8 });
        }
        layout.clobber_size = off;
        layout.has_frame = true;
        layout.setup_area_size = 16;
        layout.align_frame(16);
        Ok(layout)
    }
}

// ---------------------------------------------------------------------------------------
// Lowering.

struct ToyBackend {
    abi: ToyAbi,
}

impl LowerBackend for ToyBackend {
    type MInst = T;
    type Abi = ToyAbi;
    fn abi(&self) -> &ToyAbi {
        &self.abi
    }
    fn lower(&self, ctx: &mut Lower<'_, T>, inst: Inst) -> CodegenResult<()> {
        let data = *ctx.data(inst);
        let args = ctx.inputs(inst);
        match data.opcode() {
            Opcode::Iconst => {
                let InstructionData::UnaryImm { imm, .. } = data else { unreachable!() };
                let dst = ctx.output_reg(inst, 0)?;
                ctx.emit(T::Iconst { dst, imm: imm.0 as u64 });
            }
            Opcode::F64const => {
                let InstructionData::UnaryIeee64 { imm, .. } = data else { unreachable!() };
                let label = ctx.constant_label(&imm.0.to_le_bytes());
                let dst = ctx.output_reg(inst, 0)?;
                ctx.emit(T::Fconst { dst, label });
            }
            Opcode::Iadd | Opcode::Fadd => {
                let a = ctx.put_value_in_reg(args[0])?;
                let b = ctx.put_value_in_reg(args[1])?;
                let dst = ctx.output_reg(inst, 0)?;
                ctx.emit(T::Add { dst, a, b });
            }
            op => return Err(CodegenError::Unsupported(format!("{op} on the toy"))),
        }
        Ok(())
    }
    fn lower_branch(&self, ctx: &mut Lower<'_, T>, inst: Inst, targets: &[MachLabel]) -> CodegenResult<()> {
        let args = ctx.inputs(inst);
        match ctx.data(inst).opcode() {
            Opcode::Jump => ctx.emit(T::Jump(targets[0])),
            Opcode::Brif => {
                let cond = ctx.put_value_in_reg(args[0])?;
                ctx.emit(T::BrIf { cond, taken: targets[0], not_taken: targets[1] });
            }
            Opcode::BrTable => {
                let idx = ctx.put_value_in_reg(args[0])?;
                ctx.emit(T::Table { idx, default: targets[0], targets: targets[1..].to_vec() });
            }
            op => return Err(CodegenError::Unsupported(format!("{op} on the toy"))),
        }
        Ok(())
    }
}

fn compile_toy(text: &str) -> (CompiledCode, Vec<FrameInputs>) {
    let func = parse_functions(text).expect("parse").remove(0);
    let mut cfg = ControlFlowGraph::new();
    cfg.compute(&func);
    let mut domtree = DominatorTree::new();
    domtree.compute(&func, &cfg);
    let mut flags = Flags::new();
    flags.set_word("regalloc_checker=true").unwrap();
    let backend = ToyBackend { abi: ToyAbi::new(flags) };
    let mut scratch = CompileScratch::default();
    let code = compile(&func, &domtree, &backend, &ToyEnc, true, 16, &mut scratch).expect("compile");
    let frames = backend.abi.frames.into_inner().unwrap();
    (code, frames)
}

/// Decode the code part: (offset, first byte) of each instruction, skipping inline data.
fn decode(out: &FinishedCode) -> Vec<(usize, u8)> {
    let mut v = Vec::new();
    let mut at = 0;
    while at < out.code_size as usize {
        if let Some(&(_, e)) = out.inline_data.iter().find(|&&(s, e)| s as usize <= at && at < e as usize) {
            at = e as usize;
            continue;
        }
        let op = out.bytes[at];
        v.push((at, op));
        at += if op == 0x7a { 4 } else { insn_size(op) };
    }
    v
}

#[test]
fn calls_and_arguments_change_register_class() {
    let (code, frames) = compile_toy(
        "function %caller(f64, f64, i64) -> f64 system_v {
            fn0 = %callee(f64, f64, i64) -> f64 system_v
        block0(v0: f64, v1: f64, v2: i64):
            v3 = call fn0(v1, v0, v2)
            v4 = iadd v2, v2
            v5 = call fn0(v3, v0, v4)
            v6 = fadd v5, v0
            return v6
        }",
    );
    let vcode = code.vcode.as_ref().unwrap();
    // The second float argument arrives in an integer register, and goes out in one to
    // each call: class moves on both sides.
    assert!(vcode.matches("cmov").count() >= 3, "{vcode}");
    assert_eq!(vcode.matches("call ").count(), 2, "{vcode}");
    // The framework built the calls: both named, args in f0 then r0/r1.
    assert!(vcode.contains("call Name"), "{vcode}");
    let frame = &frames[0];
    assert!(!frame.is_leaf);
    // v0 (a float) lives across the calls: f0–f3 are all clobbered, so it is spilled,
    // into a 16-byte slot; the calls' clobbers of f2/f3 do not make the caller save them.
    assert!(frame.spill_slots_size >= 16, "{frame:?}");
    assert!(!frame.clobbered.contains(freg(2)) && !frame.clobbered.contains(freg(3)), "{frame:?}");
    // The integer v2 lives across the first call in a callee-saved register.
    assert!(frame.clobbered.contains(ireg(4)) || frame.clobbered.contains(ireg(5)), "{frame:?}");
    // The code has the spill and reload, and the two calls.
    let insns = decode(&code.buffer);
    assert_eq!(insns.iter().filter(|(_, op)| *op == 0xca).count(), 2);
    assert!(insns.iter().any(|(_, op)| *op == 0x07) && insns.iter().any(|(_, op)| *op == 0x06));
    assert_eq!(code.buffer.relocs.len(), 2);
}

#[test]
fn block_starts_carry_jump_table_and_landing_pad_flags() {
    let (code, _) = compile_toy(
        "function %table(i64) -> i64 system_v {
        block0(v0: i64):
            br_table v0, block4, [block1, block2, block3]
        block1:
            v1 = iconst.i64 1
            return v1
        block2:
            v2 = iconst.i64 2
            return v2
        block3:
            v3 = iconst.i64 3
            return v3
        block4:
            v4 = iconst.i64 4
            return v4
        }",
    );
    let b = &code.buffer;
    assert_eq!(b.bytes[0], 0xb0, "entry mark");
    let (start, end) = b.inline_data[0];
    let entries = (end - start) / 4;
    assert_eq!(entries, 4);
    for k in 0..entries {
        let at = (start + 4 * k) as usize;
        let disp = i32::from_le_bytes(b.bytes[at..at + 4].try_into().unwrap());
        let target = (start as i64 + disp as i64) as usize;
        assert_eq!(b.bytes[target], 0xb1, "jump-table target {k} at {target:#x}");
    }

    let (code, _) = compile_toy(
        "function %landing(i64, i64) -> i64 tail {
            sig1 = (i64, i64) -> i64 tail
            fn1 = %may_throw(i64, i64) -> i64 tail
        block0(v10: i64, v11: i64):
            try_call fn1(v11, v10), sig1, block5(ret0), [ tag3: block6(exn1), default: block7(exn0, exn1) ]
        block5(v12: i64):
            v13 = iadd v12, v11
            return v13
        block6(v14: i64):
            return v14
        block7(v15: i64, v16: i64):
            v17 = iadd v15, v16
            v18 = iadd v17, v10
            return v18
        }",
    );
    let b = &code.buffer;
    assert_eq!(b.call_sites.len(), 1);
    let handlers = &b.call_sites[0].handlers;
    assert_eq!(handlers.len(), 2);
    for (tag, at) in handlers {
        assert_eq!(b.bytes[*at as usize], 0xb2, "landing pad of {tag:?}");
    }
    // The landing pads receive the payloads (r0, r1) and the normal return r0.
    let vcode = code.vcode.as_ref().unwrap();
    assert_eq!(vcode.matches("ExnPayloads").count(), 2, "{vcode}");
}

#[test]
fn islands_keep_literals_in_reach_in_compiled_code() {
    // v(2k-1) = f64const k; v(2k) = v(2k-2) + v(2k-1).
    let mut text = String::from("function %consts(f64) -> f64 system_v {\nblock0(v0: f64):\n");
    for k in 1..=60 {
        text += &format!(
            "    v{} = f64const 0x{k:x}.0p0\n    v{} = fadd v{}, v{}\n",
            2 * k - 1,
            2 * k,
            2 * k - 2,
            2 * k - 1
        );
    }
    text += "    return v120\n}\n";
    let (code, _) = compile_toy(&text);
    let b = &code.buffer;
    assert!(b.islands >= 3, "{} islands in {} bytes", b.islands, b.bytes.len());
    // Every literal load finds its constant within reach.
    let mut seen = 0;
    for (at, op) in decode(b) {
        if op == 0x4c {
            let target = (at as i64 + b.bytes[at + 1] as i8 as i64) as usize;
            let v = f64::from_le_bytes(b.bytes[target..target + 8].try_into().unwrap());
            assert!((1.0..=60.0).contains(&v) && v.fract() == 0.0, "literal at {at:#x} reads {v}");
            seen += 1;
        }
    }
    assert_eq!(seen, 60);
}

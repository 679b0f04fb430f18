//! riscv64 calling conventions: LP64D (the platform's `system_v`), also used for `fast`,
//! `cold` and `tail` (`tail`: the callee pops its stack arguments), with `preserve_all`
//! clobbering nothing.
//!
//! LP64D as the psABI gives it: integer arguments in a0–a7, floating-point arguments in
//! fa0–fa7 and, once those are used up, in the free integer registers (the bits moved by
//! `fmv`: [`AbiSpec::gen_class_move`]), then on the stack in 8-byte slots (16-byte aligned
//! pairs for `i128`); `i128` (and the bits of `f128`) in two integer registers. Returns in
//! a0/a1 and fa0/fa1; what does not fit goes to a return area whose address is a hidden
//! first argument. Vectors (with V) travel in v8–v23 and return in v8/v9. Callee-saved:
//! s0–s11, fs0–fs11; the vector registers are all caller-saved.
//!
//! Frame: `ra` and the caller's `s0` are saved in the 16 bytes below the CFA and `s0`
//! points at the saved `s0` (so the saved frame pointer is at `[fp]` and the return address
//! at `[fp + 8]`, the frame records Kiln's unwinder walks on every target); callee-saved
//! registers follow below it, 8 bytes each.

use crate::riscv64::inst::{AMode, FpWidth, Inst, LoadOp, StoreOp};
use crate::riscv64::regs::{self, enc, f_preg, v_preg, x_preg};
use crate::riscv64::settings::Riscv64Settings;
use kiln_codegen::machinst::abi::{
    ABIArg, ABIArgSlot, AbiSpec, ArgPair, ArgsOrRets, CalleeSave, FrameInputs, FrameLayout, RetPair, StackAMode,
};
use kiln_codegen::machinst::call::CallInfo;
use kiln_codegen::machinst::{Reg, Writable};
use kiln_codegen::{CodegenError, CodegenResult};
use kiln_ir::settings::{Flags, IsaFlags};
use kiln_ir::signature::{AbiParam, ArgumentExtension, ArgumentPurpose, CallConv};
use kiln_ir::types::{self, Type};
use regalloc2::{MachineEnv, PReg, PRegSet, RegClass};
use smallvec::{SmallVec, smallvec};
use target_lexicon::Triple;

/// The riscv64 ABI object.
#[derive(Clone, Debug)]
pub struct Rv64Abi {
    flags: Flags,
    /// The ISA extensions (`has_v` decides whether vectors can be passed at all).
    pub settings: Riscv64Settings,
    triple: Triple,
}

impl Rv64Abi {
    /// The ABI of a target with these flags and triple.
    pub fn new(flags: Flags, isa_flags: &IsaFlags, triple: Triple) -> Rv64Abi {
        Rv64Abi { flags, settings: Riscv64Settings::new(isa_flags), triple }
    }

    /// The triple.
    pub fn triple(&self) -> &Triple {
        &self.triple
    }
}

/// Is `reg` preserved across calls under `call_conv`?
pub fn is_callee_saved(call_conv: CallConv, reg: PReg) -> bool {
    if call_conv == CallConv::PreserveAll {
        return true;
    }
    let n = reg.hw_enc() as u8;
    match reg.class() {
        RegClass::Int => n == enc::FP || regs::CALLEE_SAVED_X.contains(&n),
        RegClass::Float => regs::is_callee_saved_f(n),
        RegClass::Vector => false,
    }
}

const A0: u8 = 10;

/// The load of a `ty` value (a whole register's worth) into a register of `into`'s class.
pub fn load_op(into: Reg, ty: Type) -> LoadOp {
    match into.class() {
        RegClass::Int => match ty.bytes() {
            1 => LoadOp::Lbu,
            2 => LoadOp::Lhu,
            4 => LoadOp::Lw,
            _ => LoadOp::Ld,
        },
        // An f16 moves as its NaN-boxed 4 bytes: the same in every function.
        _ => match ty.bytes() {
            2 | 4 => LoadOp::Flw,
            _ => LoadOp::Fld,
        },
    }
}

/// The store of a `ty` value from a register.
pub fn store_op(from: Reg, ty: Type) -> StoreOp {
    match from.class() {
        RegClass::Int => match ty.bytes() {
            1 => StoreOp::Sb,
            2 => StoreOp::Sh,
            4 => StoreOp::Sw,
            _ => StoreOp::Sd,
        },
        _ => match ty.bytes() {
            2 | 4 => StoreOp::Fsw,
            _ => StoreOp::Fsd,
        },
    }
}

/// A load or store of a whole vector register at `amode` (the address formed in `t6`
/// first: the whole-register forms take a bare base register).
fn vec_mem(amode: AMode, reg: Reg, load: bool) -> Inst {
    Inst::VecSpill { amode, reg, load }
}

impl AbiSpec for Rv64Abi {
    type I = Inst;

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
        _call_conv: CallConv,
        params: &[AbiParam],
        args_or_rets: ArgsOrRets,
        add_ret_area_ptr: bool,
    ) -> CodegenResult<(Vec<ABIArg>, u32, Option<usize>)> {
        let (max_x, max_f, max_v) = match args_or_rets {
            ArgsOrRets::Args => (8u8, 8u8, 16u8),
            ArgsOrRets::Rets => (2, 2, 2),
        };
        let (mut nx, mut nf, mut nv) = (0u8, 0u8, 0u8);
        let mut stack: u64 = 0;
        let mut out = Vec::with_capacity(params.len() + 1);
        let mut ret_area_idx = None;
        if add_ret_area_ptr {
            nx = 1;
            out.push(ABIArg::Slots {
                slots: smallvec![ABIArgSlot::Reg {
                    reg: x_preg(A0),
                    ty: types::I64,
                    extension: ArgumentExtension::None
                }],
                purpose: ArgumentPurpose::StructReturn,
            });
            ret_area_idx = Some(0);
        }
        for p in params {
            let ty = p.value_type;
            if let ArgumentPurpose::StructArgument(size) = p.purpose {
                if args_or_rets == ArgsOrRets::Rets {
                    return Err(CodegenError::Unsupported("sarg in return values on riscv64".into()));
                }
                let size = (size as u64).div_ceil(8) * 8;
                out.push(ABIArg::StructArg { offset: stack as i64, size, purpose: p.purpose });
                stack += size;
                continue;
            }
            let mut slots: SmallVec<[ABIArgSlot; 2]> = smallvec![];
            let ext = p.extension;
            if ty.is_vector() {
                if !self.settings.has_v || ty.bits() > 128 {
                    return Err(CodegenError::Unsupported(format!("{ty} arguments on riscv64 without has_v")));
                }
                if nv < max_v {
                    slots.push(ABIArgSlot::Reg { reg: v_preg(8 + nv), ty, extension: ext });
                    nv += 1;
                } else {
                    stack = stack.div_ceil(16) * 16;
                    slots.push(ABIArgSlot::Stack { offset: stack as i64, ty, extension: ext });
                    stack += 16;
                }
            } else if ty == types::I128 || ty == types::F128 {
                if nx + 2 <= max_x {
                    slots.push(ABIArgSlot::Reg { reg: x_preg(A0 + nx), ty: types::I64, extension: ext });
                    slots.push(ABIArgSlot::Reg { reg: x_preg(A0 + nx + 1), ty: types::I64, extension: ext });
                    nx += 2;
                } else {
                    nx = max_x;
                    stack = stack.div_ceil(16) * 16;
                    slots.push(ABIArgSlot::Stack { offset: stack as i64, ty: types::I64, extension: ext });
                    slots.push(ABIArgSlot::Stack { offset: stack as i64 + 8, ty: types::I64, extension: ext });
                    stack += 16;
                }
            } else if ty.is_float() {
                if nf < max_f {
                    slots.push(ABIArgSlot::Reg { reg: f_preg(A0 + nf), ty, extension: ext });
                    nf += 1;
                } else if nx < max_x {
                    // LP64D: floats go to the integer registers once fa0–fa7 are used.
                    slots.push(ABIArgSlot::Reg { reg: x_preg(A0 + nx), ty, extension: ext });
                    nx += 1;
                } else {
                    slots.push(ABIArgSlot::Stack { offset: stack as i64, ty, extension: ext });
                    stack += 8;
                }
            } else if ty.is_int() {
                if nx < max_x {
                    slots.push(ABIArgSlot::Reg { reg: x_preg(A0 + nx), ty, extension: ext });
                    nx += 1;
                } else {
                    slots.push(ABIArgSlot::Stack { offset: stack as i64, ty, extension: ext });
                    stack += 8;
                }
            } else {
                return Err(CodegenError::Unsupported(format!("{ty} arguments on riscv64")));
            }
            out.push(ABIArg::Slots { slots, purpose: p.purpose });
        }
        let stack = stack.div_ceil(16) * 16;
        if stack > (1 << 28) {
            return Err(CodegenError::ImplLimitExceeded("stack argument area too large".into()));
        }
        Ok((out, stack as u32, ret_area_idx))
    }

    fn call_clobbers(&self, call_conv: CallConv) -> PRegSet {
        let mut s = PRegSet::empty();
        if call_conv == CallConv::PreserveAll {
            return s;
        }
        for n in 0..32u8 {
            let (x, f, v) = (x_preg(n), f_preg(n), v_preg(n));
            if !is_callee_saved(call_conv, x) && !matches!(n, enc::ZERO | enc::SP | enc::GP | enc::TP) {
                s.add(x);
            }
            if !is_callee_saved(call_conv, f) {
                s.add(f);
            }
            // (Without V no vreg is in the vector class, and the VCode drops a call's
            // clobbers of unused classes: `VCodeBuilder::call_clobber_mask`.)
            s.add(v);
        }
        s
    }

    fn machine_env(&self) -> &MachineEnv {
        regs::machine_env(self.flags.enable_pinned_reg() != 0, self.settings.has_zca)
    }

    fn spillslot_bytes(&self, rc: RegClass) -> u32 {
        match rc {
            RegClass::Int | RegClass::Float => 8,
            RegClass::Vector => 16,
        }
    }

    fn gen_load_stack(&self, mem: StackAMode, into: Writable<Reg>, ty: Type) -> Inst {
        if into.to_reg().class() == RegClass::Vector {
            return vec_mem(AMode::Stack(mem), into.to_reg(), true);
        }
        Inst::Load { op: load_op(into.to_reg(), ty), rd: into, from: AMode::Stack(mem), trap: None }
    }

    fn gen_store_stack(&self, mem: StackAMode, from: Reg, ty: Type) -> Inst {
        if from.class() == RegClass::Vector {
            return vec_mem(AMode::Stack(mem), from, false);
        }
        Inst::Store { op: store_op(from, ty), src: from, to: AMode::Stack(mem), trap: None }
    }

    fn gen_store_base_offset(&self, base: Reg, offset: i32, from: Reg, ty: Type) -> Inst {
        let amode = AMode::RegOffset(base, offset as i64);
        if from.class() == RegClass::Vector {
            return vec_mem(amode, from, false);
        }
        Inst::Store { op: store_op(from, ty), src: from, to: amode, trap: None }
    }

    fn gen_stack_addr(&self, mem: StackAMode, into: Writable<Reg>) -> Inst {
        Inst::StackAddr { rd: into, mem }
    }

    fn gen_extend(&self, to: Writable<Reg>, from: Reg, signed: bool, from_bits: u8, to_bits: u8) -> Inst {
        debug_assert!(to_bits == 64 && from_bits < 64);
        Inst::Extend { rd: to, rs: from, signed, from_bits }
    }

    fn gen_class_move(&self, dst: Writable<Reg>, src: Reg, ty: Type) -> CodegenResult<Inst> {
        use crate::riscv64::inst::{FpuOpRR, Frm};
        // The float's bits move whole: a NaN-boxed f32/f16 as 32 bits (`fmv.x.w` sign-
        // extends them, `fmv.w.x` boxes them again), an f64 as 64.
        let width = if ty.bytes() == 8 { FpWidth::D } else { FpWidth::S };
        let op = match (dst.to_reg().class(), src.class()) {
            (RegClass::Int, RegClass::Float) => FpuOpRR::FmvXF,
            (RegClass::Float, RegClass::Int) => FpuOpRR::FmvFX,
            _ => return Err(CodegenError::Unsupported(format!("{ty} moved between these register classes"))),
        };
        Ok(Inst::FpuRR { op, width, frm: Frm::Dyn, rd: dst, rs: src })
    }

    fn gen_args(&self, args: Vec<ArgPair>) -> Inst {
        Inst::Args { args }
    }

    fn gen_rets(&self, rets: Vec<RetPair>, stack_bytes_to_pop: u32) -> Inst {
        Inst::Rets { rets, stack_bytes_to_pop }
    }

    fn gen_call(&self, info: Box<CallInfo>) -> Inst {
        Inst::Call { info }
    }

    fn gen_return_call(&self, info: Box<CallInfo>) -> CodegenResult<Inst> {
        Ok(Inst::ReturnCall { info })
    }

    fn exception_payload_regs(&self, _call_conv: CallConv) -> &[PReg] {
        const PAYLOADS: [PReg; 2] = [x_preg(10), x_preg(11)];
        &PAYLOADS
    }

    fn gen_exception_payloads(&self, defs: SmallVec<[(Writable<Reg>, PReg); 2]>) -> Inst {
        Inst::ExnPayloads { defs }
    }

    fn compute_frame_layout(&self, inputs: &FrameInputs) -> CodegenResult<FrameLayout> {
        let mut saves: Vec<PReg> =
            inputs.clobbered.into_iter().filter(|&r| is_callee_saved(inputs.call_conv, r)).collect();
        // The frame pointer is saved with the return address, never in the save area.
        saves.retain(|r| !(r.class() == RegClass::Int && r.hw_enc() as u8 == enc::FP));
        saves.sort_by_key(|r| (r.class() as u8, r.hw_enc()));
        let mut layout = FrameLayout::from_inputs(inputs, 8);
        let mut off = 0u32;
        for &reg in &saves {
            let size = if reg.class() == RegClass::Vector { 16 } else { 8 };
            off += size;
            layout.callee_saves.push(CalleeSave { reg, offset: off, size: size as u8 });
        }
        layout.clobber_size = off.next_multiple_of(8);
        // A leaf function that allocates nothing below the frame record needs no stack-limit
        // check (as in Cranelift): it adds at most the 16-byte record to its caller's
        // checked depth, and it calls nothing that could go deeper.
        if inputs.is_leaf && layout.frame_below_fp() == 0 {
            layout.stack_limit = None;
        }
        layout.has_frame = self.flags.preserve_frame_pointers() != 0
            || !inputs.is_leaf
            || layout.clobber_size > 0
            || layout.fixed_frame_storage_size > 0
            || layout.outgoing_args_size > 0
            || layout.incoming_args_size > 0
            || layout.stack_limit.is_some();
        layout.setup_area_size = if layout.has_frame { 16 } else { 0 };
        if layout.has_frame {
            layout.align_frame(16);
        }
        Ok(layout)
    }
}

//! x86-64 calling conventions: System V (also used for `fast`, `cold`, `tail`, `winch`,
//! `preserve_all` and `probestack`, with their own callee-saved sets) and Windows x64
//! (`windows_fastcall`).
//!
//! System V: integer arguments in rdi, rsi, rdx, rcx, r8, r9; float arguments in
//! xmm0–xmm7; integer returns in rax, rdx; float returns in xmm0, xmm1; the rest on the
//! stack in 8-byte slots (16-byte aligned for i128). Return values that do not fit in
//! registers go to a return area whose address the caller passes as a hidden first
//! argument. `tail`: the callee pops its stack arguments. Windows: the first four
//! arguments in rcx/rdx/r8/r9 or xmm0–xmm3 by position, 32 bytes of shadow space, rax/xmm0
//! returns, rdi/rsi/xmm6–xmm15 callee-saved.

use crate::x64::inst::{Amode, CallInfo, ExtMode, Inst, Mem, OperandSize, Reach, XmmMovOp};
use crate::x64::regs::{self, enc, gpr_preg, xmm_preg};
use kiln_codegen::machinst::abi::{
    ABIArg, ABIArgSlot, AbiSpec, ArgPair, ArgsOrRets, CalleeSave, FrameInputs, FrameLayout, RetPair, StackAMode,
};
use kiln_codegen::machinst::{Reg, Writable};
use kiln_codegen::{CodegenError, CodegenResult};
use kiln_ir::settings::{Flags, IsaFlags};
use kiln_ir::signature::{AbiParam, ArgumentExtension, ArgumentPurpose, CallConv};
use kiln_ir::types::{self, Type};
use regalloc2::{MachineEnv, PReg, PRegSet, RegClass};
use smallvec::{SmallVec, smallvec};
use target_lexicon::{OperatingSystem, Triple};

/// The x86-64 ABI object: the conventions as the target's flags and triple define them.
#[derive(Clone, Debug)]
pub struct X64Abi {
    flags: Flags,
    /// The ISA flags (no x86-64 convention depends on them yet).
    pub isa_flags: IsaFlags,
    triple: Triple,
    /// XMM loads and stores (spills, reloads, stack arguments) VEX-encoded: the target has
    /// AVX.
    vex: bool,
}

impl X64Abi {
    /// The ABI of a target with these flags and triple.
    pub fn new(flags: Flags, isa_flags: IsaFlags, triple: Triple) -> X64Abi {
        let vex = crate::x64::settings::X64Settings::new(&isa_flags).has_avx;
        X64Abi { flags, isa_flags, triple, vex }
    }

    /// The triple.
    pub fn triple(&self) -> &Triple {
        &self.triple
    }
}

/// The platform's default convention: Windows x64 on Windows, System V elsewhere.
pub fn default_call_conv(triple: &Triple) -> CallConv {
    match triple.operating_system {
        OperatingSystem::Windows => CallConv::WindowsFastcall,
        _ => CallConv::SystemV,
    }
}

/// Is `reg` preserved across calls under `call_conv`?
pub fn is_callee_saved(call_conv: CallConv, reg: PReg) -> bool {
    match call_conv {
        CallConv::PreserveAll => true,
        CallConv::Winch => false,
        CallConv::WindowsFastcall => match reg.class() {
            RegClass::Int => {
                matches!(reg.hw_enc() as u8, enc::RBX | enc::RSI | enc::RDI | enc::R12 | enc::R13 | enc::R14 | enc::R15)
            }
            _ => reg.hw_enc() >= 6,
        },
        _ => reg.class() == RegClass::Int && regs::sysv_callee_saved_gprs().any(|r| r as usize == reg.hw_enc()),
    }
}

/// Where the prologue saves `saves` (integer registers pushed in order right below the
/// saved `%rbp`, then 16-byte XMM slots at the bottom of the save area, stored with
/// `movdqu`), and the size of the save area.
pub fn callee_save_layout(saves: &[PReg]) -> (Vec<CalleeSave>, u32) {
    let nint = saves.iter().filter(|r| r.class() == RegClass::Int).count() as u32;
    let nvec = saves.len() as u32 - nint;
    let size = 8 * nint + 16 * nvec;
    let (mut k, mut kv) = (0u32, 0u32);
    let layout = saves
        .iter()
        .map(|&reg| {
            if reg.class() == RegClass::Int {
                k += 1;
                CalleeSave { reg, offset: 8 * k, size: 8 }
            } else {
                kv += 1;
                CalleeSave { reg, offset: size - 16 * (kv - 1), size: 16 }
            }
        })
        .collect();
    (layout, size)
}

const SYSV_INT_ARGS: [u8; 6] = [enc::RDI, enc::RSI, enc::RDX, enc::RCX, enc::R8, enc::R9];
const SYSV_INT_RETS: [u8; 2] = [enc::RAX, enc::RDX];
const WIN_INT_ARGS: [u8; 4] = [enc::RCX, enc::RDX, enc::R8, enc::R9];

fn is_windows(cc: CallConv) -> bool {
    cc == CallConv::WindowsFastcall
}

impl AbiSpec for X64Abi {
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
        default_call_conv(&self.triple)
    }

    fn compute_arg_locs(
        &self,
        call_conv: CallConv,
        params: &[AbiParam],
        args_or_rets: ArgsOrRets,
        add_ret_area_ptr: bool,
    ) -> CodegenResult<(Vec<ABIArg>, u32, Option<usize>)> {
        let win = is_windows(call_conv);
        let (int_regs, float_regs): (&[u8], u8) = match (win, args_or_rets) {
            (false, ArgsOrRets::Args) => (&SYSV_INT_ARGS, 8),
            (false, ArgsOrRets::Rets) => (&SYSV_INT_RETS, 2),
            (true, ArgsOrRets::Args) => (&WIN_INT_ARGS, 4),
            (true, ArgsOrRets::Rets) => (&[enc::RAX], 1),
        };
        let mut next_int = 0usize;
        let mut next_float = 0u8;
        // Windows assigns registers by position, whatever the class.
        let mut next_pos = 0usize;
        let mut stack: u64 = if win && args_or_rets == ArgsOrRets::Args { 32 } else { 0 };
        let mut out = Vec::with_capacity(params.len() + 1);
        let mut ret_area_idx = None;
        if add_ret_area_ptr {
            // The hidden return-area pointer comes first, in the first integer register.
            let reg = int_regs[0];
            next_int = 1;
            next_pos = 1;
            out.push(ABIArg::Slots {
                slots: smallvec![ABIArgSlot::Reg {
                    reg: gpr_preg(reg),
                    ty: types::I64,
                    extension: ArgumentExtension::None
                }],
                purpose: ArgumentPurpose::StructReturn,
            });
            ret_area_idx = Some(0);
        }
        let flags = &self.flags;
        for p in params {
            let ty = p.value_type;
            if let ArgumentPurpose::StructArgument(size) = p.purpose {
                if args_or_rets == ArgsOrRets::Rets {
                    return Err(CodegenError::Unsupported("sarg in return values".into()));
                }
                let size = (size as u64).div_ceil(8) * 8;
                out.push(ABIArg::StructArg { offset: stack as i64, size, purpose: p.purpose });
                stack += size;
                continue;
            }
            if ty.is_vector() || ty == types::F128 || ty == types::F16 {
                // Vectors, f16 and f128 travel in XMM registers (like f32/f64).
                if ty.bits() > 128 {
                    return Err(CodegenError::Unsupported(format!("{ty} arguments on x86_64")));
                }
            }
            let (classes, rtys) = if ty == types::I128 {
                (&[RegClass::Int, RegClass::Int][..], &[types::I64, types::I64][..])
            } else if ty.is_int() && ty.is_scalar() {
                (&[RegClass::Int][..], core::slice::from_ref(&ty))
            } else {
                (&[RegClass::Float][..], core::slice::from_ref(&ty))
            };
            let mut slots = smallvec![];
            // Windows passes i128 by reference unless LLVM's extensions are enabled; we
            // only support the register-pair form.
            if win && ty == types::I128 && flags.enable_llvm_abi_extensions() == 0 {
                return Err(CodegenError::Unsupported(
                    "i128 under windows_fastcall without enable_llvm_abi_extensions".into(),
                ));
            }
            let fits = if win {
                next_pos + classes.len() <= int_regs.len()
            } else {
                classes.iter().filter(|c| **c == RegClass::Int).count() + next_int <= int_regs.len()
                    && classes.iter().filter(|c| **c == RegClass::Float).count() as u8 + next_float <= float_regs
            };
            if fits {
                for (c, rty) in classes.iter().zip(rtys) {
                    let reg = match c {
                        RegClass::Int => {
                            let r = if win { int_regs[next_pos] } else { int_regs[next_int] };
                            next_int += 1;
                            next_pos += 1;
                            gpr_preg(r)
                        }
                        _ => {
                            let r = if win { next_pos as u8 } else { next_float };
                            next_float += 1;
                            next_pos += 1;
                            xmm_preg(r)
                        }
                    };
                    slots.push(ABIArgSlot::Reg { reg, ty: *rty, extension: p.extension });
                }
            } else {
                if win {
                    next_pos = int_regs.len();
                }
                let size = ty.bytes().max(8) as u64;
                let align = if ty == types::I128 || ty.bits() == 128 { 16 } else { 8 };
                stack = stack.div_ceil(align) * align;
                if ty == types::I128 {
                    slots.push(ABIArgSlot::Stack { offset: stack as i64, ty: types::I64, extension: p.extension });
                    slots.push(ABIArgSlot::Stack { offset: stack as i64 + 8, ty: types::I64, extension: p.extension });
                } else {
                    slots.push(ABIArgSlot::Stack { offset: stack as i64, ty, extension: p.extension });
                }
                stack += size;
            }
            out.push(ABIArg::Slots { slots, purpose: p.purpose });
        }
        let stack = stack.div_ceil(16) * 16;
        if stack > (1 << 28) {
            return Err(CodegenError::ImplLimitExceeded("stack argument area too large".into()));
        }
        // Windows: the shadow space is only part of the area when there are arguments
        // (the caller always reserves it, which the outgoing-area size accounts for).
        Ok((out, stack as u32, ret_area_idx))
    }

    fn call_clobbers(&self, call_conv: CallConv) -> PRegSet {
        let mut s = PRegSet::empty();
        match call_conv {
            CallConv::PreserveAll => {}
            CallConv::Winch => {
                for r in 0..16u8 {
                    if r != enc::RSP && r != enc::RBP {
                        s.add(gpr_preg(r));
                    }
                    s.add(xmm_preg(r));
                }
            }
            CallConv::WindowsFastcall => {
                for r in [enc::RAX, enc::RCX, enc::RDX, enc::R8, enc::R9, enc::R10, enc::R11] {
                    s.add(gpr_preg(r));
                }
                for r in 0..6 {
                    s.add(xmm_preg(r));
                }
            }
            _ => {
                for r in regs::sysv_caller_saved_gprs() {
                    s.add(gpr_preg(r));
                }
                for r in 0..16 {
                    s.add(xmm_preg(r));
                }
            }
        }
        s
    }

    fn machine_env(&self) -> &MachineEnv {
        regs::machine_env(self.flags.enable_pinned_reg() != 0)
    }

    fn spillslot_bytes(&self, rc: RegClass) -> u32 {
        // An XMM register is spilled whole (`movdqu`).
        match rc {
            RegClass::Int => 8,
            RegClass::Float | RegClass::Vector => 16,
        }
    }

    fn gen_load_stack(&self, mem: StackAMode, into: Writable<Reg>, ty: Type) -> Inst {
        load_to_reg(Mem::stack(mem), into, ty, self.vex)
    }

    fn gen_store_stack(&self, mem: StackAMode, from: Reg, ty: Type) -> Inst {
        store_from_reg(Mem::stack(mem), from, ty, self.vex)
    }

    fn gen_store_base_offset(&self, base: Reg, offset: i32, from: Reg, ty: Type) -> Inst {
        store_from_reg(Mem::new(Amode::imm_reg(offset, base), None), from, ty, self.vex)
    }

    fn gen_stack_addr(&self, mem: StackAMode, into: Writable<Reg>) -> Inst {
        Inst::Lea { size: OperandSize::S64, mem: Amode::Stack(mem), dst: into }
    }

    fn gen_extend(&self, to: Writable<Reg>, from: Reg, signed: bool, from_bits: u8, to_bits: u8) -> Inst {
        let ext = ExtMode::new(from_bits as u32, to_bits as u32).unwrap_or(ExtMode::LQ);
        if from_bits == 32 && !signed {
            return Inst::MovRR { size: OperandSize::S32, src: from, dst: to };
        }
        if signed {
            Inst::MovsxRmR { ext, src: crate::x64::inst::RegMem::Reg(from), dst: to }
        } else {
            Inst::MovzxRmR { ext, src: crate::x64::inst::RegMem::Reg(from), dst: to }
        }
    }

    fn gen_args(&self, args: Vec<ArgPair>) -> Inst {
        Inst::Args { args }
    }

    fn gen_rets(&self, rets: Vec<RetPair>, stack_bytes_to_pop: u32) -> Inst {
        Inst::Rets { rets, stack_bytes_to_pop }
    }

    fn gen_call(&self, info: Box<CallInfo>) -> Inst {
        let reach = Reach::of_call(&info.dest, self.flags.is_pic() != 0);
        Inst::Call { info, reach }
    }

    fn gen_return_call(&self, info: Box<CallInfo>) -> CodegenResult<Inst> {
        let reach = Reach::of_call(&info.dest, self.flags.is_pic() != 0);
        Ok(Inst::ReturnCall { info, reach })
    }

    fn try_call_clobbers(&self, _call_conv: CallConv) -> PRegSet {
        // Everything but %rsp and %rbp, the pinned register included.
        self.call_clobbers(CallConv::Winch)
    }

    fn exception_payload_regs(&self, _call_conv: CallConv) -> &[PReg] {
        const PAYLOADS: [PReg; 2] = [gpr_preg(enc::RAX), gpr_preg(enc::RDX)];
        &PAYLOADS
    }

    fn gen_exception_payloads(&self, defs: SmallVec<[(Writable<Reg>, PReg); 2]>) -> Inst {
        Inst::ExnPayloads { defs }
    }

    fn compute_frame_layout(&self, inputs: &FrameInputs) -> CodegenResult<FrameLayout> {
        let mut saves: Vec<PReg> =
            inputs.clobbered.into_iter().filter(|&r| is_callee_saved(inputs.call_conv, r)).collect();
        saves.sort_by_key(|r| r.index());
        let mut layout = FrameLayout::from_inputs(inputs, 8);
        (layout.callee_saves, layout.clobber_size) = callee_save_layout(&saves);
        layout.has_frame = self.flags.preserve_frame_pointers() != 0
            || !inputs.is_leaf
            || layout.clobber_size > 0
            || layout.fixed_frame_storage_size > 0
            || layout.outgoing_args_size > 0;
        // The return address, and the saved %rbp with a frame.
        layout.setup_area_size = if layout.has_frame { 16 } else { 8 };
        if layout.has_frame {
            layout.align_frame(16);
        }
        Ok(layout)
    }
}

/// A load of a full value of type `ty` into a register.
///
/// An `f16` in an XMM register moves 4 bytes (`movss`): there is no 2-byte SSE2 move, and the
/// callers (stack arguments, return areas) give it an 8-byte slot. It must not move 16.
/// `vex`: an XMM load is VEX-encoded (AVX).
pub fn load_to_reg(mem: Mem, into: Writable<Reg>, ty: Type, vex: bool) -> Inst {
    use crate::x64::inst::RegMem;
    if into.to_reg().class() != RegClass::Int {
        let op = match ty.bytes() {
            2 | 4 => XmmMovOp::Movss,
            8 => XmmMovOp::Movsd,
            _ => XmmMovOp::Movdqu,
        };
        return Inst::XmmLoad { op, mem, dst: into, vex };
    }
    match ty.bits() {
        8 => Inst::MovzxRmR { ext: ExtMode::BL, src: RegMem::Mem(mem), dst: into },
        16 => Inst::MovzxRmR { ext: ExtMode::WL, src: RegMem::Mem(mem), dst: into },
        32 => Inst::Load { size: OperandSize::S32, mem, dst: into },
        _ => Inst::Load { size: OperandSize::S64, mem, dst: into },
    }
}

/// A store of a full value of type `ty` from a register (an XMM `f16` as in
/// [`load_to_reg`]: 4 bytes).
pub fn store_from_reg(mem: Mem, from: Reg, ty: Type, vex: bool) -> Inst {
    if from.class() != RegClass::Int {
        let op = match ty.bytes() {
            2 | 4 => XmmMovOp::Movss,
            8 => XmmMovOp::Movsd,
            _ => XmmMovOp::Movdqu,
        };
        return Inst::XmmStore { op, src: from, mem, vex };
    }
    let size = match ty.bits() {
        8 => OperandSize::S8,
        16 => OperandSize::S16,
        32 => OperandSize::S32,
        _ => OperandSize::S64,
    };
    Inst::Store { size, src: from, mem }
}

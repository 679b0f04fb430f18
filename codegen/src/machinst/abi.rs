//! The ABI framework: where arguments and return values live under each calling
//! convention, how a function's frame is laid out, and the abstract stack addresses
//! instructions use before the frame size is known.
//!
//! A target implements [`AbiSpec`] on an *ABI object* built from the shared flags, its ISA
//! flags and the triple: argument assignment for each convention, the registers calls
//! clobber (and which of those the caller must save), spill-slot sizes, the instructions
//! for loads/stores/moves and class-changing argument moves, and the frame layout
//! ([`AbiSpec::compute_frame_layout`]: the target decides the save area — sizes, offsets,
//! pairs). The framework computes a [`ComputedSig`] per signature, lays out the stack slots
//! of the function, collects what register allocation clobbered, and asks the target for
//! the [`FrameLayout`]; the prologue and epilogue are emitted by the target from it.
//!
//! Frame shape (stack grows down; every target follows it):
//!
//! ```text
//!   incoming stack arguments          (caller's frame)
//!   return address / saved FP+LR      <- frame pointer points at the saved FP
//!   callee-saved registers            (the target's layout: FrameLayout::callee_saves)
//!   spill slots
//!   explicit stack slots
//!   outgoing arguments                <- stack pointer (fixed for the whole body)
//! ```
//!
//! [`StackAMode`] names a location in one of these areas; emission turns it into an
//! SP- or FP-relative address once [`FrameLayout`] is final.

use crate::machinst::call::CallInfo;
use crate::machinst::{MachInst, Reg, Writable};
use crate::{CodegenError, CodegenResult};
use kiln_ir::entity::SecondaryMap;
use kiln_ir::function::GlobalValueData;
use kiln_ir::settings::Flags;
use kiln_ir::signature::{AbiParam, ArgumentExtension, ArgumentPurpose, CallConv, Signature};
use kiln_ir::types::Type;
use kiln_ir::{Function, StackSlot};
use regalloc2::{MachineEnv, PReg, PRegSet, RegClass};
use smallvec::SmallVec;

/// One part of an argument or return value.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ABIArgSlot {
    /// In a register.
    Reg {
        /// The register.
        reg: PReg,
        /// The type of the part.
        ty: Type,
        /// How it is extended to the register width.
        extension: ArgumentExtension,
    },
    /// On the stack, at `offset` from the start of the argument (or return) area.
    Stack {
        /// Offset.
        offset: i64,
        /// The type of the part.
        ty: Type,
        /// How it is extended to the slot width.
        extension: ArgumentExtension,
    },
}

/// Where one argument or return value lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ABIArg {
    /// In one or more slots (two for `i128` on 64-bit targets).
    Slots {
        /// The parts, low part first.
        slots: SmallVec<[ABIArgSlot; 2]>,
        /// The purpose of the parameter.
        purpose: ArgumentPurpose,
    },
    /// A struct passed by value (`sarg(size)`), copied to the stack argument area.
    StructArg {
        /// Offset in the argument area.
        offset: i64,
        /// Size in bytes.
        size: u64,
        /// The purpose.
        purpose: ArgumentPurpose,
    },
}

/// Arguments or return values.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ArgsOrRets {
    /// Arguments.
    Args,
    /// Return values.
    Rets,
}

/// A signature with its locations computed.
#[derive(Clone, Debug)]
pub struct ComputedSig {
    /// Argument locations (including an implicit return-area pointer if needed, at
    /// `stack_ret_arg`).
    pub args: Vec<ABIArg>,
    /// Return-value locations.
    pub rets: Vec<ABIArg>,
    /// Bytes of stack argument space.
    pub stack_arg_space: u32,
    /// Bytes of stack return space (in the caller-provided return area).
    pub stack_ret_space: u32,
    /// Index in `args` of the implicit return-area pointer, if any.
    pub stack_ret_arg: Option<usize>,
    /// The convention.
    pub call_conv: CallConv,
}

impl Default for ComputedSig {
    /// An empty signature (a placeholder while the real one is borrowed).
    fn default() -> Self {
        ComputedSig {
            args: Vec::new(),
            rets: Vec::new(),
            stack_arg_space: 0,
            stack_ret_space: 0,
            stack_ret_arg: None,
            call_conv: CallConv::Fast,
        }
    }
}

/// An abstract stack location.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum StackAMode {
    /// In the incoming argument area, at this offset from its start.
    IncomingArg(i64),
    /// In the fixed frame area (explicit stack slots, then spill slots), at this offset
    /// from its start.
    Slot(i64),
    /// In the outgoing argument area, at this offset from the stack pointer.
    OutgoingArg(i64),
}

/// The final frame layout, known after register allocation. The target computes it
/// ([`AbiSpec::compute_frame_layout`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameLayout {
    /// Bytes of incoming stack arguments (popped by the callee for `tail`).
    pub incoming_args_size: u32,
    /// Bytes used by the return address and saved frame pointer (and link register).
    pub setup_area_size: u32,
    /// Bytes of saved callee-saved registers (the save area right below the frame
    /// pointer).
    pub clobber_size: u32,
    /// Bytes of explicit stack slots plus spill slots (and alignment padding).
    pub fixed_frame_storage_size: u32,
    /// Bytes of explicit stack slots (at the bottom of the fixed frame area).
    pub stack_slots_size: u32,
    /// Bytes of outgoing arguments.
    pub outgoing_args_size: u32,
    /// The callee-saved registers the function writes, where the prologue saves them, in
    /// save order.
    pub callee_saves: Vec<CalleeSave>,
    /// Whether a frame (FP setup) is needed at all.
    pub has_frame: bool,
    /// Bytes the callee pops from the caller's frame on return.
    pub stack_bytes_to_pop: u32,
    /// The stack-limit check the prologue makes, for a function with `stack_limit`.
    pub stack_limit: Option<StackLimit>,
}

/// Where the prologue saves one callee-saved register.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CalleeSave {
    /// The register.
    pub reg: PReg,
    /// The slot is `[FP - offset, FP - offset + size)`, FP being the frame pointer (the
    /// address of the saved frame pointer).
    pub offset: u32,
    /// Bytes saved: 8 for a general-purpose register or the low half of an aarch64 d8–d15,
    /// 16 for a whole vector register.
    pub size: u8,
}

/// What the framework knows when it asks for the frame layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameInputs {
    /// The function's calling convention.
    pub call_conv: CallConv,
    /// Every register the function writes, plus the call clobbers the caller must save
    /// ([`AbiSpec::call_clobbers_to_save`]); the target keeps those its convention
    /// preserves.
    pub clobbered: PRegSet,
    /// No calls?
    pub is_leaf: bool,
    /// Bytes of incoming stack arguments.
    pub incoming_args_size: u32,
    /// Bytes the callee pops on return (`tail`: its stack arguments).
    pub stack_bytes_to_pop: u32,
    /// Bytes of explicit stack slots (a multiple of the word size).
    pub stack_slots_size: u32,
    /// Bytes of spill slots.
    pub spill_slots_size: u32,
    /// The largest outgoing argument area of any call.
    pub outgoing_args_size: u32,
    /// The stack-limit check, if the function has `stack_limit`.
    pub stack_limit: Option<StackLimit>,
}

/// How the prologue computes the limit of a function with `stack_limit = gvN`: from the
/// `vmctx` argument, where the calling convention delivers it, through the loads and
/// additions of the global value's definition. The prologue traps with `stk_ovf` when the
/// stack pointer would go below the limit once the frame is allocated, before it stores
/// anything into the frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackLimit {
    /// Where the `vmctx` argument arrives.
    pub base: StackLimitBase,
    /// What is done to it, in order.
    pub steps: SmallVec<[StackLimitStep; 4]>,
}

/// Where the `vmctx` argument arrives at function entry.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum StackLimitBase {
    /// In this register.
    Reg(PReg),
    /// In the incoming argument area, at this offset.
    IncomingArg(i64),
}

/// One step of a stack-limit computation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum StackLimitStep {
    /// Replace the value by the pointer-sized word loaded from value + offset.
    Load(i32),
    /// Add a constant.
    Add(i64),
}

/// The stack-limit computation of `func`, if it declares `stack_limit`. Only the global
/// values a prologue can evaluate with scratch registers are accepted: `vmctx`, `load`
/// (of a pointer-sized value) and `iadd_imm` chains; others are `Unsupported`.
fn stack_limit_of(func: &Function, sig: &ComputedSig, word: u32) -> CodegenResult<Option<StackLimit>> {
    let Some(mut gv) = func.stack_limit else { return Ok(None) };
    let unsupported = |what: &str| CodegenError::Unsupported(format!("stack_limit {what}"));
    let mut steps: SmallVec<[StackLimitStep; 4]> = SmallVec::new();
    for _ in 0..=64 {
        let data = func.global_values.get(gv).ok_or_else(|| unsupported("names an undeclared global value"))?;
        match *data {
            GlobalValueData::VMContext => {
                let base = sig
                    .args
                    .iter()
                    .find_map(|a| match a {
                        ABIArg::Slots { slots, purpose: ArgumentPurpose::VMContext } => match slots.first() {
                            Some(ABIArgSlot::Reg { reg, .. }) => Some(StackLimitBase::Reg(*reg)),
                            Some(ABIArgSlot::Stack { offset, .. }) => Some(StackLimitBase::IncomingArg(*offset)),
                            None => None,
                        },
                        _ => None,
                    })
                    .ok_or_else(|| unsupported("without a vmctx parameter"))?;
                steps.reverse();
                return Ok(Some(StackLimit { base, steps }));
            }
            GlobalValueData::Load { base, offset, global_type, .. } => {
                if global_type.bytes() != word {
                    return Err(unsupported(&format!("through a {global_type} load (not pointer-sized)")));
                }
                steps.push(StackLimitStep::Load(offset.0));
                gv = base;
            }
            GlobalValueData::IAddImm { base, offset, .. } => {
                steps.push(StackLimitStep::Add(offset.0));
                gv = base;
            }
            _ => return Err(unsupported("from a global value other than a vmctx/load/iadd_imm chain")),
        }
    }
    Err(CodegenError::ImplLimitExceeded("stack_limit global value chain longer than 64".into()))
}

impl FrameLayout {
    /// Total bytes the prologue subtracts from SP below the saved FP: callee-saves, fixed
    /// storage and outgoing arguments.
    pub fn frame_below_fp(&self) -> u32 {
        self.clobber_size + self.fixed_frame_storage_size + self.outgoing_args_size
    }
    /// Offset of the start of the fixed frame area (stack slots) from SP.
    pub fn slot_base_from_sp(&self) -> u32 {
        self.outgoing_args_size
    }
    /// Offset of the incoming argument area from SP (after the prologue; the setup area
    /// includes the return address even without a frame).
    pub fn incoming_args_from_sp(&self) -> u32 {
        self.frame_below_fp() + self.setup_area_size
    }
    /// The layout every target starts from: the inputs' sizes, no saves, no frame yet.
    pub fn from_inputs(inputs: &FrameInputs, word: u32) -> FrameLayout {
        let fixed = (inputs.stack_slots_size + inputs.spill_slots_size).div_ceil(word) * word;
        FrameLayout {
            incoming_args_size: inputs.incoming_args_size,
            setup_area_size: 0,
            clobber_size: 0,
            fixed_frame_storage_size: fixed,
            stack_slots_size: inputs.stack_slots_size,
            outgoing_args_size: inputs.outgoing_args_size,
            callee_saves: Vec::new(),
            has_frame: false,
            stack_bytes_to_pop: inputs.stack_bytes_to_pop,
            stack_limit: inputs.stack_limit.clone(),
        }
    }
    /// Pad the fixed storage so that the setup area and everything below the frame
    /// pointer add up to a multiple of `align` (SP stays aligned at calls).
    pub fn align_frame(&mut self, align: u32) {
        let total = self.frame_below_fp() + self.setup_area_size;
        self.fixed_frame_storage_size += total.next_multiple_of(align) - total;
    }
}

/// A (vreg, preg) pair of an argument or return pseudo-instruction.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ArgPair {
    /// The virtual register.
    pub vreg: Writable<Reg>,
    /// The physical register it arrives in.
    pub preg: PReg,
}

/// A (vreg, preg) pair of a return pseudo-instruction.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RetPair {
    /// The virtual register.
    pub vreg: Reg,
    /// The physical register it leaves in.
    pub preg: PReg,
}

/// What a target implements for the ABI framework: an ABI object built from the shared
/// flags, the ISA flags and the triple, used through `&self` (and as `dyn AbiSpec` by the
/// lowering driver).
pub trait AbiSpec {
    /// The instruction type.
    type I: MachInst;

    /// The shared flags the object was built with.
    fn flags(&self) -> &Flags;

    /// Bytes in a machine word (also the unit of spill slots).
    fn word_bytes(&self) -> u32;

    /// Required stack-pointer alignment at calls.
    fn stack_align(&self) -> u32;

    /// The platform's default convention (runtime-library calls use it unless the
    /// `libcall_call_conv` flag says otherwise).
    fn default_call_conv(&self) -> CallConv;

    /// Assign locations to `params` under `call_conv`. When `add_ret_area_ptr` is set an
    /// extra pointer argument is added for the return area and its index is returned.
    /// A register slot may be of another class than the value (riscv64 LP64D passes
    /// floats in integer registers once the float registers run out): the framework then
    /// moves between classes with [`gen_class_move`](Self::gen_class_move).
    fn compute_arg_locs(
        &self,
        call_conv: CallConv,
        params: &[AbiParam],
        args_or_rets: ArgsOrRets,
        add_ret_area_ptr: bool,
    ) -> CodegenResult<(Vec<ABIArg>, u32, Option<usize>)>;

    /// Registers a callee of `call_conv` may clobber (what the allocator must not keep
    /// live across the call).
    fn call_clobbers(&self, call_conv: CallConv) -> PRegSet;

    /// Of the registers a call from a `caller`-convention function to a
    /// `callee`-convention function clobbers (`clobbers`), those the caller must save in
    /// its prologue if its own convention preserves them. Default: all of them (a
    /// `windows_fastcall` function calling a `system_v` one saves `rsi`, `rdi`,
    /// `xmm6`–`xmm15`). aarch64 leaves out v8–v15: the callee clobbers only their upper
    /// halves, which no AAPCS64 caller expects preserved.
    fn call_clobbers_to_save(&self, _caller: CallConv, _callee: CallConv, clobbers: PRegSet) -> PRegSet {
        clobbers
    }

    /// The allocator's view of the registers.
    fn machine_env(&self) -> &MachineEnv;

    /// Bytes of a spill slot for a register of class `rc` (a multiple of the word size).
    fn spillslot_bytes(&self, rc: RegClass) -> u32;

    /// Load a `ty` from a stack location.
    fn gen_load_stack(&self, mem: StackAMode, into: Writable<Reg>, ty: Type) -> Self::I;

    /// Store a `ty` to a stack location.
    fn gen_store_stack(&self, mem: StackAMode, from: Reg, ty: Type) -> Self::I;

    /// Store a `ty` to `base + offset`.
    fn gen_store_base_offset(&self, base: Reg, offset: i32, from: Reg, ty: Type) -> Self::I;

    /// The address of a stack location.
    fn gen_stack_addr(&self, mem: StackAMode, into: Writable<Reg>) -> Self::I;

    /// Extend `from` (of `from_bits`) to `to_bits` into `to`.
    fn gen_extend(&self, to: Writable<Reg>, from: Reg, signed: bool, from_bits: u8, to_bits: u8) -> Self::I;

    /// Move the bits of a `ty` value between registers of different classes (`dst` and
    /// `src` differ in class), for arguments and return values the convention passes in a
    /// register of another class. Default: unsupported (the target's conventions never do).
    fn gen_class_move(&self, _dst: Writable<Reg>, src: Reg, ty: Type) -> CodegenResult<Self::I> {
        Err(CodegenError::Unsupported(format!("{ty} in a register of another class than {:?}", src.class())))
    }

    /// The pseudo-instruction defining the register arguments at function entry.
    fn gen_args(&self, args: Vec<ArgPair>) -> Self::I;

    /// The return pseudo-instruction using the register return values.
    fn gen_rets(&self, rets: Vec<RetPair>, stack_bytes_to_pop: u32) -> Self::I;

    /// A call (`info.try_call` set for a `try_call`, which ends its block).
    fn gen_call(&self, info: Box<CallInfo>) -> Self::I;

    /// A tail call: tear the frame down, move the stack arguments, jump.
    fn gen_return_call(&self, info: Box<CallInfo>) -> CodegenResult<Self::I>;

    /// The registers a `try_call`'s callee clobbers: frames unwound by an exception do
    /// not restore what they saved, so by default every allocatable register.
    fn try_call_clobbers(&self, _call_conv: CallConv) -> PRegSet {
        let env = self.machine_env();
        let mut s = PRegSet::empty();
        for class in 0..3 {
            s.union_from(env.preferred_regs_by_class[class]);
            s.union_from(env.non_preferred_regs_by_class[class]);
        }
        s
    }

    /// The registers exception payloads arrive in at a landing pad, for a callee of
    /// `call_conv` (at least `call_conv.exception_payloads()` of them).
    fn exception_payload_regs(&self, call_conv: CallConv) -> &[PReg];

    /// The landing-pad pseudo-instruction defining the exception payload registers.
    fn gen_exception_payloads(&self, defs: SmallVec<[(Writable<Reg>, PReg); 2]>) -> Self::I;

    /// The frame layout of a function: which of `inputs.clobbered` to save and where
    /// (save-area sizes, offsets, register pairs), whether to set up a frame, the setup
    /// area, alignment padding. [`FrameLayout::from_inputs`] and
    /// [`FrameLayout::align_frame`] do the common parts.
    fn compute_frame_layout(&self, inputs: &FrameInputs) -> CodegenResult<FrameLayout>;
}

/// The ABI state of the function being compiled.
pub struct Callee {
    /// The function's own computed signature.
    pub sig: ComputedSig,
    /// Offset of each explicit stack slot in the fixed frame area.
    pub slot_offsets: SecondaryMap<StackSlot, u32>,
    /// Total bytes of explicit stack slots.
    pub stack_slots_size: u32,
    /// The largest outgoing argument area of any call.
    pub outgoing_args_size: u32,
    /// The virtual register holding the return-area pointer, if the function returns
    /// through memory.
    pub ret_area_ptr: Option<Reg>,
    /// Is this a leaf function (no calls)?
    pub is_leaf: bool,
    /// The prologue's stack-limit check, if the function has `stack_limit`.
    pub stack_limit: Option<StackLimit>,
    /// What the calls clobber that the prologue must save (per
    /// [`AbiSpec::call_clobbers_to_save`]).
    pub call_clobbers_to_save: PRegSet,
}

/// The locations of a signature's arguments and returns under `abi`: returns in registers
/// if they fit, otherwise through a return area whose address is an extra argument.
pub fn compute_sig<I: MachInst>(abi: &dyn AbiSpec<I = I>, sig: &Signature) -> CodegenResult<ComputedSig> {
    let (rets, stack_ret_space, _) = abi.compute_arg_locs(sig.call_conv, &sig.returns, ArgsOrRets::Rets, false)?;
    let needs_area = stack_ret_space > 0;
    let (args, stack_arg_space, stack_ret_arg) =
        abi.compute_arg_locs(sig.call_conv, &sig.params, ArgsOrRets::Args, needs_area)?;
    Ok(ComputedSig { args, rets, stack_arg_space, stack_ret_space, stack_ret_arg, call_conv: sig.call_conv })
}

impl Callee {
    /// Set up the ABI of `func`.
    pub fn new<I: MachInst>(func: &Function, abi: &dyn AbiSpec<I = I>) -> CodegenResult<Callee> {
        let sig = compute_sig(abi, &func.signature)?;
        let mut slot_offsets = SecondaryMap::new();
        let mut off: u64 = 0;
        for (ss, data) in func.stack_slots.iter() {
            let align = data.alignment().max(1).min(1 << 16);
            off = off.div_ceil(align) * align;
            slot_offsets[ss] = off as u32;
            off += data.size as u64;
            if off > (1 << 30) {
                return Err(CodegenError::ImplLimitExceeded("stack slots larger than 1 GiB".into()));
            }
        }
        let word = abi.word_bytes() as u64;
        let stack_slots_size = off.div_ceil(word) * word;
        let stack_limit = stack_limit_of(func, &sig, abi.word_bytes())?;
        Ok(Callee {
            stack_limit,
            sig,
            slot_offsets,
            stack_slots_size: stack_slots_size as u32,
            outgoing_args_size: 0,
            ret_area_ptr: None,
            is_leaf: true,
            call_clobbers_to_save: PRegSet::empty(),
        })
    }

    /// Note a call needing `bytes` of outgoing arguments.
    pub fn accumulate_outgoing_args_size(&mut self, bytes: u32) {
        self.outgoing_args_size = self.outgoing_args_size.max(bytes);
        self.is_leaf = false;
    }

    /// Note the registers a call clobbers that the prologue must save.
    pub fn note_call_clobbers(&mut self, to_save: PRegSet) {
        self.call_clobbers_to_save.union_from(to_save);
    }

    /// What the target needs for the frame layout, once the allocator has run: `written`
    /// are the registers the allocated code writes (call clobbers not included).
    pub fn frame_inputs(&self, written: PRegSet, spill_slots_size: u32) -> FrameInputs {
        let mut clobbered = written;
        clobbered.union_from(self.call_clobbers_to_save);
        let call_conv = self.sig.call_conv;
        FrameInputs {
            call_conv,
            clobbered,
            is_leaf: self.is_leaf,
            incoming_args_size: self.sig.stack_arg_space,
            stack_bytes_to_pop: if call_conv == CallConv::Tail { self.sig.stack_arg_space } else { 0 },
            stack_slots_size: self.stack_slots_size,
            spill_slots_size,
            outgoing_args_size: self.outgoing_args_size,
            stack_limit: self.stack_limit.clone(),
        }
    }
}

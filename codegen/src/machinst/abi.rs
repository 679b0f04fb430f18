//! The ABI framework: where arguments and return values live under each calling
//! convention, how a function's frame is laid out, and the abstract stack addresses
//! instructions use before the frame size is known.
//!
//! A target implements [`AbiSpec`]: argument assignment for each convention, the
//! instructions for loads/stores/moves, and prologue/epilogue generation from a
//! [`FrameLayout`]. The framework computes a [`ComputedSig`] per signature, lays out the
//! stack slots of the function, and after register allocation fills in the frame layout.
//!
//! Frame shape (stack grows down; every target follows it):
//!
//! ```text
//!   incoming stack arguments          (caller's frame)
//!   return address / saved FP+LR      <- frame pointer points at the saved FP
//!   callee-saved registers
//!   spill slots
//!   explicit stack slots
//!   outgoing arguments                <- stack pointer (fixed for the whole body)
//! ```
//!
//! [`StackAMode`] names a location in one of these areas; emission turns it into an
//! SP- or FP-relative address once [`FrameLayout`] is final.

use crate::machinst::{MachInst, Reg, Writable};
use crate::{CodegenError, CodegenResult};
use kiln_ir::entity::SecondaryMap;
use kiln_ir::function::GlobalValueData;
use kiln_ir::settings::Flags;
use kiln_ir::signature::{AbiParam, ArgumentExtension, ArgumentPurpose, CallConv, Signature};
use kiln_ir::types::Type;
use kiln_ir::{Function, StackSlot};
use regalloc2::{MachineEnv, PReg, PRegSet};
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

/// The final frame layout, known after register allocation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameLayout {
    /// Bytes of incoming stack arguments (popped by the callee for `tail`).
    pub incoming_args_size: u32,
    /// Bytes used by the return address and saved frame pointer (and link register).
    pub setup_area_size: u32,
    /// Bytes of saved callee-saved registers.
    pub clobber_size: u32,
    /// Bytes of explicit stack slots plus spill slots.
    pub fixed_frame_storage_size: u32,
    /// Bytes of explicit stack slots (at the bottom of the fixed frame area).
    pub stack_slots_size: u32,
    /// Bytes of outgoing arguments.
    pub outgoing_args_size: u32,
    /// Callee-saved registers that are written and must be saved, in save order.
    pub clobbered_callee_saves: Vec<PReg>,
    /// Whether a frame (FP setup) is needed at all.
    pub has_frame: bool,
    /// Bytes the callee pops from the caller's frame on return.
    pub stack_bytes_to_pop: u32,
    /// The stack-limit check the prologue makes, for a function with `stack_limit`.
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

/// What a target implements for the ABI framework.
pub trait AbiSpec {
    /// The instruction type.
    type I: MachInst;

    /// Bytes in a machine word.
    fn word_bytes() -> u32;

    /// Required stack-pointer alignment at calls.
    fn stack_align() -> u32;

    /// Assign locations to `params` under `call_conv`. When `add_ret_area_ptr` is set an
    /// extra pointer argument is added for the return area and its index is returned.
    fn compute_arg_locs(
        call_conv: CallConv,
        flags: &Flags,
        params: &[AbiParam],
        args_or_rets: ArgsOrRets,
        add_ret_area_ptr: bool,
    ) -> CodegenResult<(Vec<ABIArg>, u32, Option<usize>)>;

    /// Registers a callee of `call_conv` may clobber.
    fn call_clobbers(call_conv: CallConv) -> PRegSet;

    /// Is `reg` preserved across calls under `call_conv`?
    fn is_callee_saved(call_conv: CallConv, reg: PReg) -> bool;

    /// The allocator's view of the registers.
    fn machine_env(flags: &Flags) -> &'static MachineEnv;

    /// Load a `ty` from a stack location.
    fn gen_load_stack(mem: StackAMode, into: Writable<Reg>, ty: Type) -> Self::I;

    /// Store a `ty` to a stack location.
    fn gen_store_stack(mem: StackAMode, from: Reg, ty: Type) -> Self::I;

    /// Store a `ty` to `base + offset`.
    fn gen_store_base_offset(base: Reg, offset: i32, from: Reg, ty: Type) -> Self::I;

    /// The address of a stack location.
    fn gen_stack_addr(mem: StackAMode, into: Writable<Reg>) -> Self::I;

    /// Extend `from` (of `from_bits`) to `to_bits` into `to`.
    fn gen_extend(to: Writable<Reg>, from: Reg, signed: bool, from_bits: u8, to_bits: u8) -> Self::I;

    /// The pseudo-instruction defining the register arguments at function entry.
    fn gen_args(args: Vec<ArgPair>) -> Self::I;

    /// The return pseudo-instruction using the register return values.
    fn gen_rets(rets: Vec<RetPair>, stack_bytes_to_pop: u32) -> Self::I;

    /// Does the function need a frame even though it saves nothing and uses no stack?
    fn needs_frame(flags: &Flags, layout: &FrameLayout, is_leaf: bool) -> bool;

    /// Size of the frame setup area: what lies between the incoming arguments and the
    /// callee-save area (return address, saved frame pointer/link register), with or
    /// without a frame.
    fn setup_area_size(has_frame: bool) -> u32;
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
}

/// Does a signature need a return area, given how many return registers the target has?
pub fn compute_sig<S: AbiSpec>(sig: &Signature, flags: &Flags) -> CodegenResult<ComputedSig> {
    // First try to place the returns in registers only; if they spill to the stack, the
    // caller passes a return-area pointer.
    let (rets, stack_ret_space, _) = S::compute_arg_locs(sig.call_conv, flags, &sig.returns, ArgsOrRets::Rets, false)?;
    let needs_area = stack_ret_space > 0;
    let (args, stack_arg_space, stack_ret_arg) =
        S::compute_arg_locs(sig.call_conv, flags, &sig.params, ArgsOrRets::Args, needs_area)?;
    Ok(ComputedSig { args, rets, stack_arg_space, stack_ret_space, stack_ret_arg, call_conv: sig.call_conv })
}

/// Does the call `inst` of `func` pass a return-area pointer (its callee returns values on
/// the stack)? False for anything that is not a call with a valid signature.
pub fn call_uses_return_area<S: AbiSpec>(func: &Function, inst: kiln_ir::Inst, flags: &Flags) -> bool {
    func.dfg
        .call_signature(inst)
        .and_then(|s| func.dfg.signatures.get(s))
        .and_then(|sig| compute_sig::<S>(sig, flags).ok())
        .is_some_and(|c| c.stack_ret_arg.is_some())
}

impl Callee {
    /// Set up the ABI of `func`.
    pub fn new<S: AbiSpec>(func: &Function, flags: &Flags) -> CodegenResult<Callee> {
        let sig = compute_sig::<S>(&func.signature, flags)?;
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
        let word = S::word_bytes() as u64;
        let stack_slots_size = off.div_ceil(word) * word;
        let stack_limit = stack_limit_of(func, &sig, S::word_bytes())?;
        Ok(Callee {
            stack_limit,
            sig,
            slot_offsets,
            stack_slots_size: stack_slots_size as u32,
            outgoing_args_size: 0,
            ret_area_ptr: None,
            is_leaf: true,
        })
    }

    /// Note a call needing `bytes` of outgoing arguments.
    pub fn accumulate_outgoing_args_size(&mut self, bytes: u32) {
        self.outgoing_args_size = self.outgoing_args_size.max(bytes);
        self.is_leaf = false;
    }

    /// Compute the frame layout once the allocator has run.
    pub fn frame_layout<S: AbiSpec>(
        &self,
        flags: &Flags,
        clobbered: PRegSet,
        num_spillslots: usize,
        spillslot_bytes: u32,
    ) -> FrameLayout {
        let call_conv = self.sig.call_conv;
        let mut saves: Vec<PReg> = clobbered.into_iter().filter(|&r| S::is_callee_saved(call_conv, r)).collect();
        saves.sort_by_key(|r| r.index());
        let word = S::word_bytes();
        let clobber_size: u32 =
            saves.iter().map(|r| if r.class() == regalloc2::RegClass::Int { word } else { 16 }).sum();
        let spill = num_spillslots as u32 * spillslot_bytes;
        let align = S::stack_align();
        let fixed = (self.stack_slots_size + spill).div_ceil(word) * word;
        let mut layout = FrameLayout {
            incoming_args_size: self.sig.stack_arg_space,
            setup_area_size: 0,
            clobber_size,
            fixed_frame_storage_size: fixed,
            stack_slots_size: self.stack_slots_size,
            outgoing_args_size: self.outgoing_args_size,
            clobbered_callee_saves: saves,
            has_frame: false,
            stack_bytes_to_pop: if call_conv == CallConv::Tail { self.sig.stack_arg_space } else { 0 },
            stack_limit: self.stack_limit.clone(),
        };
        layout.has_frame = S::needs_frame(flags, &layout, self.is_leaf);
        layout.setup_area_size = S::setup_area_size(layout.has_frame);
        if layout.has_frame {
            // Keep SP aligned: setup area + everything below FP is a multiple of the
            // alignment (the return address push is part of the setup area).
            let below = layout.frame_below_fp();
            let total = below + layout.setup_area_size;
            let padded = total.div_ceil(align) * align;
            layout.fixed_frame_storage_size += padded - total;
        }
        layout
    }
}

//! aarch64 calling conventions: AAPCS64 (`system_v`, also used for `fast`, `tail`,
//! `probestack` and `windows_fastcall`), Apple's variant (`apple_aarch64`), `winch` (no
//! callee-saved registers) and `preserve_all` (everything callee-saved), and the frame
//! layout every aarch64 function has.
//!
//! AAPCS64: integer arguments in x0–x7 (an `i128` in an even/odd pair), floats and vectors
//! in v0–v7, the rest on the stack in 8-byte slots (16-byte aligned for 16-byte values;
//! Apple packs stack arguments at their natural size and alignment); return values in the
//! same registers (x0–x7, v0–v7: CLIF's multiple returns extend the standard's x0/x1, v0–v3);
//! a return area that does not fit is addressed by x8, the indirect result register.
//! Callee-saved: x19–x28 and the low 64 bits of v8–v15 (x29/x30 are saved by the frame
//! itself). A callee clobbers the upper halves of v8–v15, so they are call clobbers for
//! the allocator but never count toward the caller's own saves
//! ([`AbiSpec::call_clobbers_to_save`]). `tail`: the callee pops its stack arguments.
//!
//! Frame (stack grows down):
//!
//! ```text
//!   incoming stack arguments
//!   saved x30 (lr)                 <- CFA - 8
//!   saved x29 (fp)                 <- fp = CFA - 16
//!   callee-saves, in pairs of 16-byte slots (`stp`, first pair right below fp)
//!   spill slots and explicit stack slots
//!   outgoing arguments             <- sp
//! ```
//!
//! A function without calls, saves, stack slots, spills or outgoing arguments has no
//! frame at all (unless `preserve_frame_pointers`): its body runs with sp at the CFA.

use crate::aarch64::inst::*;
use crate::aarch64::regs::{self, vreg_preg, xreg_preg};
use crate::aarch64::settings::Aarch64Settings;
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
use target_lexicon::{OperatingSystem, Triple, Vendor};

/// The indirect result register (x8): the address of the return area.
pub const RET_AREA_ENC: u8 = 8;

/// The aarch64 ABI object.
#[derive(Clone, Debug)]
pub struct Aarch64Abi {
    flags: Flags,
    /// The ISA flags as typed booleans.
    pub settings: Aarch64Settings,
    triple: Triple,
}

impl Aarch64Abi {
    /// The ABI of a target with these flags and triple.
    pub fn new(flags: Flags, isa_flags: &IsaFlags, triple: Triple) -> Aarch64Abi {
        Aarch64Abi { flags, settings: Aarch64Settings::new(isa_flags), triple }
    }
}

/// The platform's default convention: Apple's on Apple platforms, AAPCS64 elsewhere.
pub fn default_call_conv(triple: &Triple) -> CallConv {
    match (&triple.vendor, &triple.operating_system) {
        (Vendor::Apple, _) | (_, OperatingSystem::Darwin(_)) | (_, OperatingSystem::MacOSX(_)) => {
            CallConv::AppleAarch64
        }
        (_, OperatingSystem::IOS(_)) => CallConv::AppleAarch64,
        _ => CallConv::SystemV,
    }
}

/// Is `reg` preserved across calls under `call_conv` (its low 64 bits, for v8–v15)?
pub fn is_callee_saved(call_conv: CallConv, reg: PReg) -> bool {
    match call_conv {
        CallConv::PreserveAll => true,
        CallConv::Winch => false,
        _ => match reg.class() {
            RegClass::Int => regs::callee_saved_gprs().any(|r| r as usize == reg.hw_enc()),
            _ => regs::callee_saved_vregs().any(|r| r as usize == reg.hw_enc()),
        },
    }
}

/// The register file and width of a value of type `ty` in an `ldr`/`str`.
pub fn load_op(ty: Type, class: RegClass) -> LoadOp {
    if class == RegClass::Int {
        return match ty.bits() {
            8 => LoadOp::Ldrb,
            16 => LoadOp::Ldrh,
            32 => LoadOp::LdrW,
            _ => LoadOp::LdrX,
        };
    }
    match ty.bits() {
        16 => LoadOp::LdrH,
        32 => LoadOp::LdrS,
        64 => LoadOp::LdrD,
        _ => LoadOp::LdrQ,
    }
}

/// The store of a value of type `ty` from a register of class `class`.
pub fn store_op(ty: Type, class: RegClass) -> StoreOp {
    if class == RegClass::Int {
        return match ty.bits() {
            8 => StoreOp::Strb,
            16 => StoreOp::Strh,
            32 => StoreOp::StrW,
            _ => StoreOp::StrX,
        };
    }
    match ty.bits() {
        16 => StoreOp::StrH,
        32 => StoreOp::StrS,
        64 => StoreOp::StrD,
        _ => StoreOp::StrQ,
    }
}

/// A sign or zero extension from `from_bits` to `to_bits` (32 or 64): `sxtb`, `uxth`,
/// `sxtw`, … as `sbfm`/`ubfm`, or `mov wd, wn` for a zero extension from 32 bits.
pub fn extend_inst(to: Writable<Reg>, from: Reg, signed: bool, from_bits: u8, to_bits: u8) -> Inst {
    let size = OperandSize::for_bits(to_bits as u32);
    if !signed && from_bits == 32 {
        return Inst::Mov { size: OperandSize::Size32, rd: to, rm: from };
    }
    let op = if signed { BitfieldOp::Sbfm } else { BitfieldOp::Ubfm };
    // A zero extension to 64 bits is the 32-bit form (which zeroes the upper half).
    let size = if signed { size } else { OperandSize::Size32 };
    Inst::Bitfield { op, size, rd: to, rn: from, immr: 0, imms: from_bits.saturating_sub(1).min(63) }
}

/// Where the prologue saves `saves` (integer registers first, then vector registers, in
/// the order given): each pair (or a last single register) takes one slot of 16 bytes
/// (32 for pairs of whole vector registers under `preserve_all`), the first right below
/// the frame pointer. Returns the layout in save order and the size of the save area.
pub fn callee_save_layout(saves: &[PReg], whole_vectors: bool) -> (Vec<CalleeSave>, u32) {
    let mut out = Vec::with_capacity(saves.len());
    let mut top = 0u32;
    for class in [RegClass::Int, RegClass::Float] {
        let regs: SmallVec<[PReg; 16]> = saves.iter().copied().filter(|r| r.class() == class).collect();
        let size: u8 = if class == RegClass::Float && whole_vectors { 16 } else { 8 };
        for pair in regs.chunks(2) {
            let slot = (2 * size as u32).max(16);
            top += slot;
            // The first register at the bottom of the slot, the second above it.
            out.push(CalleeSave { reg: pair[0], offset: top, size });
            if let Some(&r) = pair.get(1) {
                out.push(CalleeSave { reg: r, offset: top - size as u32, size });
            }
        }
    }
    (out, top)
}

const ARG_GPRS: u8 = 8;
const ARG_VREGS: u8 = 8;

impl AbiSpec for Aarch64Abi {
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
        let apple = call_conv == CallConv::AppleAarch64;
        let mut next_gpr = 0u8;
        let mut next_vreg = 0u8;
        let mut stack: u64 = 0;
        let mut out = Vec::with_capacity(params.len() + 1);
        let mut ret_area_idx = None;
        if add_ret_area_ptr {
            // The indirect result location register: not one of the argument registers.
            out.push(ABIArg::Slots {
                slots: smallvec![ABIArgSlot::Reg {
                    reg: xreg_preg(RET_AREA_ENC),
                    ty: types::I64,
                    extension: ArgumentExtension::None,
                }],
                purpose: ArgumentPurpose::StructReturn,
            });
            ret_area_idx = Some(0);
        }
        for p in params {
            let ty = p.value_type;
            if let ArgumentPurpose::StructArgument(size) = p.purpose {
                if args_or_rets == ArgsOrRets::Rets {
                    return Err(CodegenError::Unsupported("sarg in return values".into()));
                }
                stack = stack.next_multiple_of(8);
                let size = (size as u64).next_multiple_of(8);
                out.push(ABIArg::StructArg { offset: stack as i64, size, purpose: p.purpose });
                stack += size;
                continue;
            }
            if ty.bits() > 128 || ty.is_dynamic_vector() {
                return Err(CodegenError::Unsupported(format!("{ty} arguments on aarch64")));
            }
            let is_int = ty.is_int() && ty.is_scalar();
            if ty == types::I128 {
                // An even/odd register pair.
                let first = next_gpr.next_multiple_of(2);
                if first + 2 <= ARG_GPRS {
                    next_gpr = first + 2;
                    let slots = smallvec![
                        ABIArgSlot::Reg { reg: xreg_preg(first), ty: types::I64, extension: p.extension },
                        ABIArgSlot::Reg { reg: xreg_preg(first + 1), ty: types::I64, extension: p.extension },
                    ];
                    out.push(ABIArg::Slots { slots, purpose: p.purpose });
                    continue;
                }
                next_gpr = ARG_GPRS;
            } else if is_int {
                if next_gpr < ARG_GPRS {
                    let reg = xreg_preg(next_gpr);
                    next_gpr += 1;
                    out.push(ABIArg::Slots {
                        slots: smallvec![ABIArgSlot::Reg { reg, ty, extension: p.extension }],
                        purpose: p.purpose,
                    });
                    continue;
                }
            } else if next_vreg < ARG_VREGS {
                let reg = vreg_preg(next_vreg);
                next_vreg += 1;
                out.push(ABIArg::Slots {
                    slots: smallvec![ABIArgSlot::Reg { reg, ty, extension: p.extension }],
                    purpose: p.purpose,
                });
                continue;
            }
            // On the stack: 8-byte slots (natural size under Apple's rules, except values
            // the caller extends, which keep a whole slot), 16-byte aligned when 16 bytes.
            let bytes = ty.bytes() as u64;
            let extended = p.extension != ArgumentExtension::None && is_int && bytes < 8;
            let (size, align) = if apple && !extended { (bytes, bytes.max(1)) } else { (bytes.max(8), bytes.max(8)) };
            stack = stack.next_multiple_of(align);
            let slots = if ty == types::I128 {
                smallvec![
                    ABIArgSlot::Stack { offset: stack as i64, ty: types::I64, extension: p.extension },
                    ABIArgSlot::Stack { offset: stack as i64 + 8, ty: types::I64, extension: p.extension },
                ]
            } else {
                smallvec![ABIArgSlot::Stack { offset: stack as i64, ty, extension: p.extension }]
            };
            out.push(ABIArg::Slots { slots, purpose: p.purpose });
            stack += size;
        }
        let stack = stack.next_multiple_of(16);
        if stack > (1 << 28) {
            return Err(CodegenError::ImplLimitExceeded("stack argument area too large".into()));
        }
        Ok((out, stack as u32, ret_area_idx))
    }

    fn call_clobbers(&self, call_conv: CallConv) -> PRegSet {
        let mut s = PRegSet::empty();
        match call_conv {
            CallConv::PreserveAll => {}
            CallConv::Winch => {
                for r in 0..=28u8 {
                    s.add(xreg_preg(r));
                }
                for r in 0..32u8 {
                    s.add(vreg_preg(r));
                }
            }
            _ => {
                for r in 0..=17u8 {
                    s.add(xreg_preg(r));
                }
                // v8–v15 only keep their low halves: a vector value cannot live there
                // across a call.
                for r in 0..32u8 {
                    s.add(vreg_preg(r));
                }
            }
        }
        s
    }

    fn call_clobbers_to_save(&self, caller: CallConv, _callee: CallConv, clobbers: PRegSet) -> PRegSet {
        // The upper halves of v8–v15 are never preserved for a caller; a `preserve_all`
        // caller does preserve them and so saves them.
        if caller == CallConv::PreserveAll {
            return clobbers;
        }
        let mut s = clobbers;
        for r in regs::callee_saved_vregs() {
            s.remove(vreg_preg(r));
        }
        s
    }

    fn machine_env(&self) -> &MachineEnv {
        regs::machine_env(self.flags.enable_pinned_reg() != 0)
    }

    fn spillslot_bytes(&self, rc: RegClass) -> u32 {
        match rc {
            RegClass::Int => 8,
            // Vector registers are spilled whole.
            RegClass::Float | RegClass::Vector => 16,
        }
    }

    fn gen_load_stack(&self, mem: StackAMode, into: Writable<Reg>, ty: Type) -> Inst {
        Inst::Load { op: load_op(ty, into.to_reg().class()), rd: into, mem: AMode::Stack(mem), trap: None }
    }

    fn gen_store_stack(&self, mem: StackAMode, from: Reg, ty: Type) -> Inst {
        Inst::Store { op: store_op(ty, from.class()), rt: from, mem: AMode::Stack(mem), trap: None }
    }

    fn gen_store_base_offset(&self, base: Reg, offset: i32, from: Reg, ty: Type) -> Inst {
        Inst::Store {
            op: store_op(ty, from.class()),
            rt: from,
            mem: AMode::BaseOffset { rn: base, off: offset as i64 },
            trap: None,
        }
    }

    fn gen_stack_addr(&self, mem: StackAMode, into: Writable<Reg>) -> Inst {
        Inst::LoadAddr { rd: into, mem: AMode::Stack(mem) }
    }

    fn gen_extend(&self, to: Writable<Reg>, from: Reg, signed: bool, from_bits: u8, to_bits: u8) -> Inst {
        extend_inst(to, from, signed, from_bits, to_bits)
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

    fn try_call_clobbers(&self, _call_conv: CallConv) -> PRegSet {
        // Every allocatable register (frames an exception unwinds restore nothing).
        self.call_clobbers(CallConv::Winch)
    }

    fn exception_payload_regs(&self, _call_conv: CallConv) -> &[PReg] {
        const PAYLOADS: [PReg; 2] = [xreg_preg(0), xreg_preg(1)];
        &PAYLOADS
    }

    fn gen_exception_payloads(&self, defs: SmallVec<[(Writable<Reg>, PReg); 2]>) -> Inst {
        Inst::ExnPayloads { defs: Box::new(defs) }
    }

    fn compute_frame_layout(&self, inputs: &FrameInputs) -> CodegenResult<FrameLayout> {
        let mut saves: Vec<PReg> =
            inputs.clobbered.into_iter().filter(|&r| is_callee_saved(inputs.call_conv, r)).collect();
        // Only allocatable registers are saved: the frame saves x29/x30 itself, and the
        // scratch and platform registers are never allocated.
        let env = self.machine_env();
        saves.retain(|&r| {
            let c = r.class() as usize;
            env.preferred_regs_by_class[c].contains(r) || env.non_preferred_regs_by_class[c].contains(r)
        });
        saves.sort_by_key(|r| r.index());
        let mut layout = FrameLayout::from_inputs(inputs, 8);
        (layout.callee_saves, layout.clobber_size) =
            callee_save_layout(&saves, inputs.call_conv == CallConv::PreserveAll);
        layout.has_frame = self.flags.preserve_frame_pointers() != 0
            || !inputs.is_leaf
            || layout.clobber_size > 0
            || layout.fixed_frame_storage_size > 0
            || layout.outgoing_args_size > 0;
        // A leaf function that keeps nothing below the frame pointer needs no stack-limit
        // check: it only pushes the frame record (16 bytes), which the limit's slack
        // covers, and calls nothing that could go deeper.
        if inputs.is_leaf && layout.frame_below_fp() == 0 {
            layout.stack_limit = None;
        }
        // The saved frame pointer and link register.
        layout.setup_area_size = if layout.has_frame { 16 } else { 0 };
        if layout.has_frame {
            layout.align_frame(16);
        }
        Ok(layout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_come_in_pairs_below_the_frame_pointer() {
        let saves = [xreg_preg(19), xreg_preg(20), xreg_preg(21), vreg_preg(8), vreg_preg(9), vreg_preg(10)];
        let (l, size) = callee_save_layout(&saves, false);
        assert_eq!(size, 64);
        let at = |r: PReg| l.iter().find(|s| s.reg == r).map(|s| (s.offset, s.size));
        assert_eq!(at(xreg_preg(19)), Some((16, 8)));
        assert_eq!(at(xreg_preg(20)), Some((8, 8)));
        assert_eq!(at(xreg_preg(21)), Some((32, 8)));
        assert_eq!(at(vreg_preg(8)), Some((48, 8)));
        assert_eq!(at(vreg_preg(9)), Some((40, 8)));
        assert_eq!(at(vreg_preg(10)), Some((64, 8)));
        let (l, size) = callee_save_layout(&[vreg_preg(0), vreg_preg(1)], true);
        assert_eq!(size, 32);
        assert_eq!(l[0].offset, 32);
        assert_eq!(l[1].offset, 16);
    }

    #[test]
    fn i128_arguments_take_even_register_pairs() {
        let abi = Aarch64Abi::new(Flags::new(), &IsaFlags::new(kiln_ir::settings::Arch::Aarch64), Triple::host());
        let params = [AbiParam::new(types::I64), AbiParam::new(types::I128), AbiParam::new(types::F64)];
        let (locs, stack, _) = abi.compute_arg_locs(CallConv::SystemV, &params, ArgsOrRets::Args, false).unwrap();
        assert_eq!(stack, 0);
        let ABIArg::Slots { slots, .. } = &locs[1] else { panic!() };
        assert!(matches!(slots[0], ABIArgSlot::Reg { reg, .. } if reg == xreg_preg(2)));
        assert!(matches!(slots[1], ABIArgSlot::Reg { reg, .. } if reg == xreg_preg(3)));
        let ABIArg::Slots { slots, .. } = &locs[2] else { panic!() };
        assert!(matches!(slots[0], ABIArgSlot::Reg { reg, .. } if reg == vreg_preg(0)));
    }
}

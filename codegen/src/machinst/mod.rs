//! The machine-instruction framework shared by every target.
//!
//! A target defines its instruction type and a handful of trait implementations; the
//! framework lowers IR into [`vcode::VCode`] (machine instructions over virtual registers,
//! in block lowering order), runs regalloc2 on it, asks the target for the frame layout,
//! and emits the result into a [`buffer::MachBuffer`], which lays the code out. The pieces,
//! one per file:
//!
//! - `reg`: registers, `Writable`, and the operand visitor used both to collect operands
//!   for regalloc2 and to rewrite them with allocations;
//! - `blockorder`: the order blocks are lowered in, with critical edges split;
//! - `lower`: the lowering driver the backends plug into;
//! - `call`: calls, tail calls, `try_call`, returns, arguments and libcalls, lowered once
//!   for every target from the ABI object's locations;
//! - `abi`: the ABI object's trait, computed signatures, frame inputs and layout;
//! - `vcode`: the VCode container, its `regalloc2::Function` view, and the emission loop
//!   (block-start hook, islands between instructions);
//! - `buffer`: the layout engine (labels, branches and label uses with ladders of forms,
//!   alignment, the constant pool, trap stubs, veneers, islands, relaxation, records);
//! - `unwind`: the unwind records prologues and epilogues leave;
//! - `compile`: the pipeline of one function.
//!
//! # What a new target implements
//!
//! Every target is a folder `isa/src/<target>/` with the same files; each trait below is
//! implemented in the file named with it.
//!
//! - `settings.rs`: the typed ISA flags (`isa_settings!`).
//! - `regs.rs`: registers and the allocator's `regalloc2::MachineEnv`.
//! - `inst.rs`: the instruction enum and [`MachInst`]: `get_operands` (one visitor for
//!   collection and rewriting), `is_move`, `is_term`, `is_call` (instructions made by
//!   `AbiSpec::gen_call`/`gen_return_call`), `gen_move`, `gen_jump`, `rc_for_type`,
//!   `canonical_type_for_rc`, `pretty_print`.
//! - `emit.rs`:
//!   - [`buffer::MachEncoder`] on the target's encoder (its `EmitInfo`, built from the
//!     shared and ISA flags): the typed `Branch` and `LabelUse` kinds, the ladder of
//!     [`buffer::Form`]s of each (size, reach, whether islands keep deferred targets in
//!     reach), `encode_branch`, `patch_label_use` (fixed uses the emitter wrote),
//!     `encode_label_use` (relaxable uses the buffer writes), `is_unconditional`, `jump`,
//!     `trap_instruction`, `write_nops`, `code_alignment`;
//!   - [`vcode::MachInstEmit`]: `Info` (that encoder), `State` (the target's part of
//!     [`vcode::EmitState`]), `emit` (fallible), `emit_prologue` (which, like the epilogue,
//!     records [`unwind::UnwindInst`]s with `MachBuffer::add_unwind`), `emit_block_start`
//!     (landing pads, forgetting per-block state), `is_plain_jump`, `worst_case_size`
//!     (with the constants and trap stubs the instruction may add).
//! - `abi.rs`: [`abi::AbiSpec`] on an ABI object built from the shared flags, ISA flags and
//!   triple: `flags`, `word_bytes`, `stack_align`, `default_call_conv`,
//!   `compute_arg_locs` (slots may be of another register class: `gen_class_move`),
//!   `call_clobbers`, `call_clobbers_to_save` (which clobbers count toward the caller's
//!   saves), `try_call_clobbers`, `machine_env`, `spillslot_bytes` (per class),
//!   `gen_load_stack`/`gen_store_stack`/`gen_store_base_offset`/`gen_stack_addr`/
//!   `gen_extend`/`gen_class_move`, `gen_args`/`gen_rets`, `gen_call`/`gen_return_call`
//!   (from a [`call::CallInfo`]), `exception_payload_regs`/`gen_exception_payloads`,
//!   `compute_frame_layout` (the save area: which registers, offsets, sizes, pairs; the
//!   setup area; alignment — from [`abi::FrameInputs`]).
//! - `lower.rs`: [`lower::LowerBackend`]: `MInst`, `Abi` and `abi()`, `lower` (every
//!   non-call instruction), `lower_branch` (jumps, branches, tables, traps; not returns,
//!   tail calls or `try_call`).
//! - `print.rs`: assembler syntax (`isa::names` spells symbols and stack slots).
//! - `mod.rs`: the `TargetIsa`, which builds the backend (with its ABI object) and the
//!   encoder from the triple and flags and calls [`compile::compile`].
//!
//! The framework does the rest for every target: block order and critical edges, value
//! use counts and sinking, call/return/argument lowering with computed signatures,
//! register allocation, the frame inputs (what the code writes, spill space, outgoing
//! area), the emission loop (skipping empty blocks, fall-through hints, islands), and the
//! layout of the code (relaxation through the ladders, alignment, one constant pool,
//! trap stubs and veneers in islands, relocations, trap/call-site/source-location/unwind
//! records).

pub mod abi;
pub mod blockorder;
pub mod buffer;
pub mod call;
pub mod compile;
pub mod lower;
pub mod reg;
pub mod unwind;
pub mod vcode;

pub use kiln_ir::function::SourceLoc;
pub use reg::{OperandVisitor, Reg, ValueRegs, Writable};

use crate::CodegenResult;
use core::fmt;
use kiln_ir::types::Type;
use regalloc2::RegClass;

/// A label in the code buffer. Labels `0..num_blocks` are the lowered blocks.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MachLabel(pub u32);

impl MachLabel {
    /// The label of lowered block `b`.
    pub fn from_block(b: BlockIndex) -> MachLabel {
        MachLabel(b.0)
    }
}

impl fmt::Debug for MachLabel {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "label{}", self.0)
    }
}

/// Index of a lowered block.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Debug)]
pub struct BlockIndex(pub u32);

impl BlockIndex {
    /// As usize.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// How an instruction ends a block.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum MachTerminator {
    /// Not a terminator.
    None,
    /// Returns (or tail-calls, or traps unconditionally): no successors.
    Ret,
    /// Branches to the block's successors.
    Branch,
}

/// What the framework needs to know about a target's instructions.
pub trait MachInst: Clone + fmt::Debug + Sized + 'static {
    /// Report every register operand to `v` (and clobbers): used to collect operands for
    /// the allocator and, with another visitor, to substitute the allocated registers.
    fn get_operands(&mut self, v: &mut impl OperandVisitor);

    /// If this is a plain register move `dst := src`, the pair.
    fn is_move(&self) -> Option<(Writable<Reg>, Reg)>;

    /// How this instruction ends a block.
    fn is_term(&self) -> MachTerminator;

    /// Is this a call made by the framework's call lowering (its clobbers count toward the
    /// caller's saves only as [`abi::AbiSpec::call_clobbers_to_save`] says)?
    fn is_call(&self) -> bool;

    /// A register-to-register move of a value of type `ty`.
    fn gen_move(dst: Writable<Reg>, src: Reg, ty: Type) -> Self;

    /// An unconditional jump.
    fn gen_jump(target: MachLabel) -> Self;

    /// The register classes (and register types) holding a value of type `ty`; `i128`
    /// takes two integer registers.
    fn rc_for_type(ty: Type) -> CodegenResult<(&'static [RegClass], &'static [Type])>;

    /// A type that fills a whole register of class `rc` (for spills and moves).
    fn canonical_type_for_rc(rc: RegClass) -> Type;

    /// Print the instruction in assembler syntax.
    fn pretty_print(&self) -> String;
}

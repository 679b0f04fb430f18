//! The machine-instruction framework shared by every target.
//!
//! A target defines its instruction type and implements [`MachInst`]; the framework lowers
//! IR into [`vcode::VCode`] (machine instructions over virtual registers, in block
//! lowering order), runs regalloc2 on it, and emits the result into a
//! [`buffer::MachBuffer`]. The pieces, one per file:
//!
//! - `reg`: registers, `Writable`, and the operand visitor used both to collect operands
//!   for regalloc2 and to rewrite them with allocations;
//! - `blockorder`: the order blocks are lowered in, with critical edges split;
//! - `lower`: the lowering driver the backends plug into;
//! - `abi`: calling conventions, frame layout, prologue/epilogue;
//! - `vcode`: the VCode container, its `regalloc2::Function` view, and emission;
//! - `buffer`: the code buffer (labels, relaxed branches, constants, records).

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

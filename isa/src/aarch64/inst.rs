//! aarch64 machine instructions: the forms the lowering produces, their operands for the
//! register allocator, and the `MachInst` glue.
//!
//! Each variant is one encoding class of the A64 instruction set, parameterized by an
//! operation enum (`ALUOp`, `FpuOp2`, `VecALUOp`, …) whose values carry the opcode bits
//! (`emit.rs`) and the mnemonic (`print.rs`). A few variants are short fixed sequences
//! (*pseudo-instructions*): a conditional branch with its fall-through jump, a trap on a
//! condition, a symbol address (`adrp` + `add`).
//!
//! Conventions:
//! - integer operations are 32- or 64-bit ([`OperandSize`]); a 32-bit operation zeroes
//!   bits 63..32 of its destination. Narrower integer values live in the low bits of a
//!   register with the upper bits unspecified;
//! - register 31 is `xzr` or `sp` depending on the field; instructions name them as the
//!   distinct registers [`zero_reg`](crate::aarch64::regs::zero_reg) and
//!   [`stack_reg`](crate::aarch64::regs::stack_reg), and the docs below say which fields
//!   accept `sp` ("Rn|SP") — everything else means `xzr`;
//! - a destination that the instruction also reads (`movk`, `bfm`, `ins`, `bsl`, the
//!   narrowing "2" forms, `tbx`, `ld1` to a lane, `cas`) is a pair: an input `ri` and the
//!   output `rd`, tied together by a reuse constraint;
//! - base registers written back by pre/post-indexed addressing must be non-allocatable
//!   (`sp`, `fp`, the scratch registers): the allocator sees them as plain uses;
//! - memory accesses that can fault carry the trap code they report.

pub use crate::aarch64::imms::*;
use crate::aarch64::regs::{vreg_preg, xreg, xreg_preg, zero_reg};
use kiln_codegen::CodegenResult;
use kiln_codegen::machinst::abi::{ArgPair, RetPair, StackAMode};
use kiln_codegen::machinst::buffer::RelocTarget;
pub use kiln_codegen::machinst::call::{CallDest, CallInfo};
use kiln_codegen::machinst::{MachInst, MachLabel, MachTerminator, OperandVisitor, Reg, Writable};
use kiln_ir::trapcode::TrapCode;
use kiln_ir::types::Type;
use regalloc2::{PReg, RegClass};
use smallvec::SmallVec;

// ---------------------------------------------------------------------------------------
// Sizes and conditions.

/// Width of an integer operation (the `sf` bit).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum OperandSize {
    /// 32 bits (`w` registers).
    Size32,
    /// 64 bits (`x` registers).
    Size64,
}

impl OperandSize {
    /// The `sf` bit.
    pub fn sf(self) -> u32 {
        (self == OperandSize::Size64) as u32
    }
    /// 64-bit?
    pub fn is64(self) -> bool {
        self == OperandSize::Size64
    }
    /// Bits.
    pub fn bits(self) -> u32 {
        if self.is64() { 64 } else { 32 }
    }
    /// The size for an integer type: 64-bit for types wider than 32 bits.
    pub fn for_bits(bits: u32) -> OperandSize {
        if bits > 32 { OperandSize::Size64 } else { OperandSize::Size32 }
    }
}

/// Size of a scalar in an FP/SIMD register, or of a memory access.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ScalarSize {
    /// 8 bits (`b`).
    Size8,
    /// 16 bits (`h`).
    Size16,
    /// 32 bits (`s`).
    Size32,
    /// 64 bits (`d`).
    Size64,
    /// 128 bits (`q`).
    Size128,
}

impl ScalarSize {
    /// log2 of the size in bytes (0..=4).
    pub fn log2_bytes(self) -> u32 {
        match self {
            ScalarSize::Size8 => 0,
            ScalarSize::Size16 => 1,
            ScalarSize::Size32 => 2,
            ScalarSize::Size64 => 3,
            ScalarSize::Size128 => 4,
        }
    }
    /// Bytes.
    pub fn bytes(self) -> u32 {
        1 << self.log2_bytes()
    }
    /// Bits.
    pub fn bits(self) -> u32 {
        8 << self.log2_bytes()
    }
    /// The register-name letter (`b`, `h`, `s`, `d`, `q`).
    pub fn letter(self) -> char {
        ['b', 'h', 's', 'd', 'q'][self.log2_bytes() as usize]
    }
    /// From a size in bits (8..=128).
    pub fn from_bits(bits: u32) -> ScalarSize {
        match bits {
            0..=8 => ScalarSize::Size8,
            9..=16 => ScalarSize::Size16,
            17..=32 => ScalarSize::Size32,
            33..=64 => ScalarSize::Size64,
            _ => ScalarSize::Size128,
        }
    }
    /// The `ftype` field of scalar FP instructions (h = 11, s = 00, d = 01).
    pub fn ftype(self) -> u32 {
        match self {
            ScalarSize::Size16 => 0b11,
            ScalarSize::Size32 => 0b00,
            _ => 0b01,
        }
    }
}

/// A vector arrangement: lane size × lane count, in a 64-bit (`d`) or 128-bit (`q`)
/// register.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum VectorSize {
    /// `8b`.
    Size8x8,
    /// `16b`.
    Size8x16,
    /// `4h`.
    Size16x4,
    /// `8h`.
    Size16x8,
    /// `2s`.
    Size32x2,
    /// `4s`.
    Size32x4,
    /// `1d` (64-bit register, one lane; scalar-like forms).
    Size64x1,
    /// `2d`.
    Size64x2,
}

impl VectorSize {
    /// The `Q` bit (128-bit register).
    pub fn q(self) -> u32 {
        matches!(self, VectorSize::Size8x16 | VectorSize::Size16x8 | VectorSize::Size32x4 | VectorSize::Size64x2) as u32
    }
    /// Is this a 128-bit arrangement?
    pub fn is_128(self) -> bool {
        self.q() == 1
    }
    /// The `size` field: log2 of the lane size in bytes.
    pub fn size_bits(self) -> u32 {
        self.lane_size().log2_bytes()
    }
    /// The lane size.
    pub fn lane_size(self) -> ScalarSize {
        match self {
            VectorSize::Size8x8 | VectorSize::Size8x16 => ScalarSize::Size8,
            VectorSize::Size16x4 | VectorSize::Size16x8 => ScalarSize::Size16,
            VectorSize::Size32x2 | VectorSize::Size32x4 => ScalarSize::Size32,
            VectorSize::Size64x1 | VectorSize::Size64x2 => ScalarSize::Size64,
        }
    }
    /// Number of lanes.
    pub fn lanes(self) -> u32 {
        (if self.is_128() { 128 } else { 64 }) / self.lane_size().bits()
    }
    /// The arrangement with lanes of `lane` in a 64-bit (`q == false`) or 128-bit register.
    pub fn from_lane(lane: ScalarSize, q: bool) -> VectorSize {
        use VectorSize::*;
        match (lane, q) {
            (ScalarSize::Size8, false) => Size8x8,
            (ScalarSize::Size8, true) => Size8x16,
            (ScalarSize::Size16, false) => Size16x4,
            (ScalarSize::Size16, true) => Size16x8,
            (ScalarSize::Size32, false) => Size32x2,
            (ScalarSize::Size32, true) => Size32x4,
            (_, false) => Size64x1,
            (_, true) => Size64x2,
        }
    }
    /// The arrangement for a vector type (64 or 128 bits).
    pub fn from_ty(ty: Type) -> Option<VectorSize> {
        if !ty.is_vector() || !matches!(ty.bits(), 64 | 128) {
            return None;
        }
        Some(VectorSize::from_lane(ScalarSize::from_bits(ty.lane_bits()), ty.bits() == 128))
    }
    /// The same lane count with lanes twice as wide (in a 128-bit register).
    pub fn widen(self) -> VectorSize {
        use VectorSize::*;
        match self {
            Size8x8 | Size8x16 => Size16x8,
            Size16x4 | Size16x8 => Size32x4,
            _ => Size64x2,
        }
    }
    /// Lanes half as wide, in the low half (a 64-bit arrangement).
    pub fn narrow(self) -> VectorSize {
        use VectorSize::*;
        match self {
            Size16x4 | Size16x8 => Size8x8,
            Size32x2 | Size32x4 => Size16x4,
            _ => Size32x2,
        }
    }
    /// The same lanes in a 64-bit register (`false`) or a 128-bit one.
    pub fn with_q(self, q: bool) -> VectorSize {
        VectorSize::from_lane(self.lane_size(), q)
    }
    /// The arrangement suffix (`16b`, `4s`, …).
    pub fn name(self) -> &'static str {
        use VectorSize::*;
        match self {
            Size8x8 => "8b",
            Size8x16 => "16b",
            Size16x4 => "4h",
            Size16x8 => "8h",
            Size32x2 => "2s",
            Size32x4 => "4s",
            Size64x1 => "1d",
            Size64x2 => "2d",
        }
    }
}

/// A condition code.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum Cond {
    Eq = 0,
    Ne = 1,
    Hs = 2,
    Lo = 3,
    Mi = 4,
    Pl = 5,
    Vs = 6,
    Vc = 7,
    Hi = 8,
    Ls = 9,
    Ge = 10,
    Lt = 11,
    Gt = 12,
    Le = 13,
    Al = 14,
    Nv = 15,
}

impl Cond {
    /// Every condition, by encoding.
    pub const ALL: [Cond; 16] = [
        Cond::Eq,
        Cond::Ne,
        Cond::Hs,
        Cond::Lo,
        Cond::Mi,
        Cond::Pl,
        Cond::Vs,
        Cond::Vc,
        Cond::Hi,
        Cond::Ls,
        Cond::Ge,
        Cond::Lt,
        Cond::Gt,
        Cond::Le,
        Cond::Al,
        Cond::Nv,
    ];
    /// The opposite condition (`Al`/`Nv` swap, as the encoding does).
    pub fn invert(self) -> Cond {
        Cond::ALL[(self as usize) ^ 1]
    }
    /// The 4-bit encoding.
    pub fn bits(self) -> u32 {
        self as u32
    }
    /// The assembler name.
    pub fn name(self) -> &'static str {
        ["eq", "ne", "hs", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al", "nv"][self as usize]
    }
}

/// The flags a conditional compare sets when its condition fails (`#nzcv`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct NZCV(pub u8);

impl NZCV {
    /// From the four flags.
    pub fn new(n: bool, z: bool, c: bool, v: bool) -> NZCV {
        NZCV(((n as u8) << 3) | ((z as u8) << 2) | ((c as u8) << 1) | v as u8)
    }
    /// The 4-bit field.
    pub fn bits(self) -> u32 {
        self.0 as u32 & 15
    }
}

// ---------------------------------------------------------------------------------------
// Operand forms.

/// The shift of a shifted-register operand.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ShiftOp {
    Lsl = 0,
    Lsr = 1,
    Asr = 2,
    /// Logical operations only.
    Ror = 3,
}

impl ShiftOp {
    /// The assembler name.
    pub fn name(self) -> &'static str {
        ["lsl", "lsr", "asr", "ror"][self as usize]
    }
}

/// The extension of an extended-register operand (the `option` field).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ExtendOp {
    UXTB = 0,
    UXTH = 1,
    UXTW = 2,
    UXTX = 3,
    SXTB = 4,
    SXTH = 5,
    SXTW = 6,
    SXTX = 7,
}

impl ExtendOp {
    /// The assembler name.
    pub fn name(self) -> &'static str {
        ["uxtb", "uxth", "uxtw", "uxtx", "sxtb", "sxth", "sxtw", "sxtx"][self as usize]
    }
    /// Does the extended register read 64 bits (`x` register)?
    pub fn reads_x(self) -> bool {
        matches!(self, ExtendOp::UXTX | ExtendOp::SXTX)
    }
}

/// Two-source integer operations (register forms; the shifted, extended and immediate
/// forms accept the subsets noted).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ALUOp {
    // Add/subtract: register, shifted (lsl/lsr/asr), extended and 12-bit immediate forms.
    Add,
    Sub,
    Adds,
    Subs,
    // Logical: register and shifted forms; the first four also take bitmask immediates.
    And,
    Orr,
    Eor,
    Ands,
    Bic,
    Orn,
    Eon,
    Bics,
    // With carry: register form only.
    Adc,
    Adcs,
    Sbc,
    Sbcs,
    // Variable shifts, division, high multiply: register form only.
    Lsl,
    Lsr,
    Asr,
    Ror,
    SDiv,
    UDiv,
    /// 64-bit only.
    SMulH,
    /// 64-bit only.
    UMulH,
}

impl ALUOp {
    /// Is this an add/subtract (the extended and immediate forms exist)?
    pub fn is_addsub(self) -> bool {
        matches!(self, ALUOp::Add | ALUOp::Sub | ALUOp::Adds | ALUOp::Subs)
    }
    /// Is this a logical operation (the shifted form allows `ror`)?
    pub fn is_logical(self) -> bool {
        matches!(
            self,
            ALUOp::And | ALUOp::Orr | ALUOp::Eor | ALUOp::Ands | ALUOp::Bic | ALUOp::Orn | ALUOp::Eon | ALUOp::Bics
        )
    }
    /// Does it set the flags?
    pub fn sets_flags(self) -> bool {
        matches!(self, ALUOp::Adds | ALUOp::Subs | ALUOp::Ands | ALUOp::Bics | ALUOp::Adcs | ALUOp::Sbcs)
    }
}

/// Three-source multiply operations (`rd = ra ± rn * rm`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ALUOp3 {
    MAdd,
    MSub,
    /// 64-bit result from 32-bit sources.
    SMAddL,
    SMSubL,
    UMAddL,
    UMSubL,
}

/// One-source bit operations.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum BitOp {
    Rbit,
    Clz,
    Cls,
    Rev16,
    /// 64-bit only (byte-reverse each word).
    Rev32,
    /// Byte-reverse the whole register (`rev`).
    Rev,
}

/// Bitfield moves.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum BitfieldOp {
    Sbfm,
    Ubfm,
}

/// Move-wide operations that ignore the destination's old value.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum MoveWideOp {
    MovZ,
    MovN,
}

/// Conditional selects: `rd = cond ? rn : op(rm)`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum CSelOp {
    Csel,
    Csinc,
    Csinv,
    Csneg,
}

/// Conditional compares.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum CCmpOp {
    Ccmp,
    Ccmn,
}

// ---------------------------------------------------------------------------------------
// Memory.

/// Loads: the access size, the destination register file and the extension.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum LoadOp {
    /// Zero-extending loads to w (which zero the whole x register).
    Ldrb,
    Ldrh,
    LdrW,
    LdrX,
    /// Sign-extending loads to w or x.
    LdrsbW,
    LdrsbX,
    LdrshW,
    LdrshX,
    Ldrsw,
    /// FP/SIMD loads of b, h, s, d, q.
    LdrB,
    LdrH,
    LdrS,
    LdrD,
    LdrQ,
}

impl LoadOp {
    /// The access size.
    pub fn access(self) -> ScalarSize {
        use LoadOp::*;
        match self {
            Ldrb | LdrsbW | LdrsbX | LdrB => ScalarSize::Size8,
            Ldrh | LdrshW | LdrshX | LdrH => ScalarSize::Size16,
            LdrW | Ldrsw | LdrS => ScalarSize::Size32,
            LdrX | LdrD => ScalarSize::Size64,
            LdrQ => ScalarSize::Size128,
        }
    }
    /// Does it load an FP/SIMD register?
    pub fn is_fp(self) -> bool {
        matches!(self, LoadOp::LdrB | LoadOp::LdrH | LoadOp::LdrS | LoadOp::LdrD | LoadOp::LdrQ)
    }
    /// For integer loads: is the destination an x register?
    pub fn dest_is_x(self) -> bool {
        matches!(self, LoadOp::LdrX | LoadOp::LdrsbX | LoadOp::LdrshX | LoadOp::Ldrsw)
    }
}

/// Stores: the access size and the source register file.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum StoreOp {
    Strb,
    Strh,
    StrW,
    StrX,
    StrB,
    StrH,
    StrS,
    StrD,
    StrQ,
}

impl StoreOp {
    /// The access size.
    pub fn access(self) -> ScalarSize {
        use StoreOp::*;
        match self {
            Strb | StrB => ScalarSize::Size8,
            Strh | StrH => ScalarSize::Size16,
            StrW | StrS => ScalarSize::Size32,
            StrX | StrD => ScalarSize::Size64,
            StrQ => ScalarSize::Size128,
        }
    }
    /// Does it store an FP/SIMD register?
    pub fn is_fp(self) -> bool {
        matches!(self, StoreOp::StrB | StoreOp::StrH | StoreOp::StrS | StoreOp::StrD | StoreOp::StrQ)
    }
}

/// How a register offset is extended (and optionally scaled by the access size).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegExtend {
    /// 64-bit index, `lsl #log2(size)` when scaled.
    Lsl,
    /// Zero-extended 32-bit index.
    Uxtw,
    /// Sign-extended 32-bit index.
    Sxtw,
    /// 64-bit index, written `sxtx`.
    Sxtx,
}

impl RegExtend {
    /// The `option` field.
    pub fn option(self) -> u32 {
        match self {
            RegExtend::Uxtw => 0b010,
            RegExtend::Lsl => 0b011,
            RegExtend::Sxtw => 0b110,
            RegExtend::Sxtx => 0b111,
        }
    }
}

/// An addressing mode of single-register loads and stores.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AMode {
    /// `[rn, #off]`: unsigned offset, a multiple of the access size below 4096 × size
    /// (`ldr`). Rn|SP.
    UnsignedOffset {
        /// Base.
        rn: Reg,
        /// Byte offset.
        off: u32,
    },
    /// `[rn, #off]` with a signed 9-bit byte offset (`ldur`). Rn|SP.
    Unscaled {
        /// Base.
        rn: Reg,
        /// -256..=255.
        off: i16,
    },
    /// `[rn, #off]!`: add `off` to `rn`, then access. Rn|SP, written back.
    PreIndexed {
        /// Base (non-allocatable).
        rn: Reg,
        /// -256..=255.
        off: i16,
    },
    /// `[rn], #off`: access, then add `off` to `rn`. Rn|SP, written back.
    PostIndexed {
        /// Base (non-allocatable).
        rn: Reg,
        /// -256..=255.
        off: i16,
    },
    /// `[rn, rm{, extend {#shift}}]`: register offset, scaled by the access size if
    /// `scaled`. Rn|SP.
    RegOffset {
        /// Base.
        rn: Reg,
        /// Index (w for `Uxtw`/`Sxtw`, x otherwise).
        rm: Reg,
        /// Extension.
        extend: RegExtend,
        /// Scaled by the access size?
        scaled: bool,
    },
    /// A PC-relative literal within ±1 MiB (`ldr rt, label`; loads of 32 bits or more,
    /// and `ldrsw`).
    Label {
        /// The label.
        label: MachLabel,
    },
    /// A stack location, resolved against the frame at emission (sp-relative; large
    /// offsets go through x16).
    Stack(StackAMode),
    /// `[rn, #off]` for any offset: an immediate form when one fits, else the offset is
    /// put in x16 at emission (`[rn, x16]`). Rn|SP.
    BaseOffset {
        /// Base.
        rn: Reg,
        /// Byte offset.
        off: i64,
    },
}

impl AMode {
    /// `[rn, #off]` in whichever immediate form fits the access size, if any.
    pub fn reg_offset(rn: Reg, off: i64, access: ScalarSize) -> Option<AMode> {
        let size = access.bytes() as i64;
        if off >= 0 && off % size == 0 && off / size < 4096 {
            Some(AMode::UnsignedOffset { rn, off: off as u32 })
        } else if (-256..256).contains(&off) {
            Some(AMode::Unscaled { rn, off: off as i16 })
        } else {
            None
        }
    }

    fn get_operands(&mut self, v: &mut impl OperandVisitor) {
        match self {
            AMode::UnsignedOffset { rn, .. }
            | AMode::Unscaled { rn, .. }
            | AMode::PreIndexed { rn, .. }
            | AMode::PostIndexed { rn, .. }
            | AMode::BaseOffset { rn, .. } => v.reg_use(rn),
            AMode::RegOffset { rn, rm, .. } => {
                v.reg_use(rn);
                v.reg_use(rm);
            }
            AMode::Label { .. } | AMode::Stack(_) => {}
        }
    }
}

/// Register pairs of `ldp`/`stp`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PairOp {
    /// Two w registers.
    W,
    /// Two x registers.
    X,
    /// Two w loads sign-extended to x (`ldpsw`; loads only).
    Sw,
    /// Two s registers.
    S,
    /// Two d registers.
    D,
    /// Two q registers.
    Q,
}

impl PairOp {
    /// Bytes per register.
    pub fn access(self) -> ScalarSize {
        match self {
            PairOp::W | PairOp::Sw | PairOp::S => ScalarSize::Size32,
            PairOp::X | PairOp::D => ScalarSize::Size64,
            PairOp::Q => ScalarSize::Size128,
        }
    }
    /// FP/SIMD registers?
    pub fn is_fp(self) -> bool {
        matches!(self, PairOp::S | PairOp::D | PairOp::Q)
    }
}

/// The addressing modes of `ldp`/`stp`: a signed 7-bit offset scaled by the register size.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PairAMode {
    /// `[rn, #off]`. Rn|SP.
    SignedOffset {
        /// Base.
        rn: Reg,
        /// Byte offset: a multiple of the size in -64..=63 × size.
        off: i16,
    },
    /// `[rn, #off]!`. Rn|SP, written back.
    PreIndexed {
        /// Base (non-allocatable).
        rn: Reg,
        /// Byte offset.
        off: i16,
    },
    /// `[rn], #off`. Rn|SP, written back.
    PostIndexed {
        /// Base (non-allocatable).
        rn: Reg,
        /// Byte offset.
        off: i16,
    },
}

impl PairAMode {
    /// The base register.
    pub fn rn(&self) -> Reg {
        match *self {
            PairAMode::SignedOffset { rn, .. }
            | PairAMode::PreIndexed { rn, .. }
            | PairAMode::PostIndexed { rn, .. } => rn,
        }
    }
    fn get_operands(&mut self, v: &mut impl OperandVisitor) {
        match self {
            PairAMode::SignedOffset { rn, .. }
            | PairAMode::PreIndexed { rn, .. }
            | PairAMode::PostIndexed { rn, .. } => v.reg_use(rn),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Branches.

/// The condition of a conditional branch or trap.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CondBrKind {
    /// `cbz`: register is zero.
    Zero(Reg, OperandSize),
    /// `cbnz`: register is non-zero.
    NotZero(Reg, OperandSize),
    /// `tbz`: bit `n` (0..=63) of the register is zero.
    TestBitZero(Reg, u8),
    /// `tbnz`: bit `n` of the register is one.
    TestBitNotZero(Reg, u8),
    /// `b.cond` on the flags.
    Cond(Cond),
}

impl CondBrKind {
    /// The opposite condition.
    pub fn invert(self) -> CondBrKind {
        match self {
            CondBrKind::Zero(r, s) => CondBrKind::NotZero(r, s),
            CondBrKind::NotZero(r, s) => CondBrKind::Zero(r, s),
            CondBrKind::TestBitZero(r, b) => CondBrKind::TestBitNotZero(r, b),
            CondBrKind::TestBitNotZero(r, b) => CondBrKind::TestBitZero(r, b),
            CondBrKind::Cond(c) => CondBrKind::Cond(c.invert()),
        }
    }
    fn get_operands(&mut self, v: &mut impl OperandVisitor) {
        match self {
            CondBrKind::Zero(r, _)
            | CondBrKind::NotZero(r, _)
            | CondBrKind::TestBitZero(r, _)
            | CondBrKind::TestBitNotZero(r, _) => v.reg_use(r),
            CondBrKind::Cond(_) => {}
        }
    }
}

// ---------------------------------------------------------------------------------------
// Floating point.

/// One-source scalar FP operations (same size in and out).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum FpuOp1 {
    Abs,
    Neg,
    Sqrt,
    /// Round to nearest, ties to even.
    RintN,
    /// Round toward minus infinity (floor).
    RintM,
    /// Round toward plus infinity (ceil).
    RintP,
    /// Round toward zero (trunc).
    RintZ,
    /// Round to nearest, ties away from zero.
    RintA,
    /// Current rounding mode, signalling inexact.
    RintX,
    /// Current rounding mode.
    RintI,
}

/// Two-source scalar FP operations.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum FpuOp2 {
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
    MaxNm,
    MinNm,
    NMul,
}

/// Three-source (fused multiply-add) scalar FP operations.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FpuOp3 {
    /// `ra + rn * rm`.
    MAdd,
    /// `ra - rn * rm`.
    MSub,
    /// `-ra - rn * rm`.
    NMAdd,
    /// `-ra + rn * rm`.
    NMSub,
}

/// FP to integer conversions (rounding toward zero).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum FpuToIntOp {
    Fcvtzs,
    Fcvtzu,
}

/// Integer to FP conversions.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum IntToFpuOp {
    Scvtf,
    Ucvtf,
}

// ---------------------------------------------------------------------------------------
// Atomics, barriers, system.

/// LSE atomic read-modify-write operations (`ldadd`, … `swp`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum AtomicRmwOp {
    Add,
    /// `mem &= !rs`.
    Clr,
    Eor,
    /// `mem |= rs`.
    Set,
    SMax,
    SMin,
    UMax,
    UMin,
    Swp,
}

/// Memory-ordering flavour of an atomic: acquire on the load, release on the store.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Ordering {
    /// Acquire semantics (the `a` in `ldadda`, `ldaxr`).
    pub acquire: bool,
    /// Release semantics (the `l` in `ldaddl`, `stlxr`).
    pub release: bool,
}

impl Ordering {
    /// Neither.
    pub const RELAXED: Ordering = Ordering { acquire: false, release: false };
    /// Both (`al`).
    pub const ACQ_REL: Ordering = Ordering { acquire: true, release: true };
}

/// Barrier domains and types of `dmb`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum BarrierOption {
    Ish,
    IshLd,
    IshSt,
    Sy,
}

/// Hint-space instructions (executed as `nop` where the feature is absent).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum HintOp {
    Nop,
    /// Strip the pointer authentication code of x30.
    Xpaclri,
    Paciasp,
    Pacibsp,
    Autiasp,
    Autibsp,
    /// Branch target identification: landing pad for calls (`c`), jumps (`j`) or both.
    BtiC,
    BtiJ,
    BtiJC,
    /// Consumption of speculative data barrier.
    Csdb,
}

/// System registers accessible with `mrs`/`msr`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum SysReg {
    Nzcv,
    Fpcr,
    Fpsr,
    TpidrEl0,
}

/// Pointer-authentication key of `reta*`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum PacKey {
    A,
    B,
}

// ---------------------------------------------------------------------------------------
// Advanced SIMD.

/// Vector operations `rd = rn op rm` with all three registers of one arrangement
/// ("three same", integer and FP, and the permutes). FP operations take `2s`, `4s`, `2d`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum VecALUOp {
    Add,
    Sub,
    /// Not for `2d`.
    Mul,
    Sqadd,
    Uqadd,
    Sqsub,
    Uqsub,
    Smax,
    Umax,
    Smin,
    Umin,
    Srhadd,
    Urhadd,
    Cmeq,
    Cmge,
    Cmgt,
    Cmhi,
    Cmhs,
    Cmtst,
    Sshl,
    Ushl,
    /// `h` and `s` lanes.
    Sqrdmulh,
    Sqdmulh,
    Addp,
    Smaxp,
    Umaxp,
    Sminp,
    Uminp,
    /// Bitwise operations: `8b`/`16b` only.
    And,
    Bic,
    Orr,
    Orn,
    Eor,
    // FP.
    Fadd,
    Fsub,
    Fmul,
    Fdiv,
    Fmax,
    Fmin,
    Fmaxnm,
    Fminnm,
    Fcmeq,
    Fcmge,
    Fcmgt,
    Faddp,
    // Permutes.
    Zip1,
    Zip2,
    Uzp1,
    Uzp2,
    Trn1,
    Trn2,
}

impl VecALUOp {
    /// Is it an FP operation (lanes `s` or `d`)?
    pub fn is_fp(self) -> bool {
        use VecALUOp::*;
        matches!(self, Fadd | Fsub | Fmul | Fdiv | Fmax | Fmin | Fmaxnm | Fminnm | Fcmeq | Fcmge | Fcmgt | Faddp)
    }
    /// Is it a bitwise operation (arrangement `8b`/`16b`)?
    pub fn is_bitwise(self) -> bool {
        matches!(self, VecALUOp::And | VecALUOp::Bic | VecALUOp::Orr | VecALUOp::Orn | VecALUOp::Eor)
    }
}

/// Vector operations that also read their destination (`rd = f(ri, rn, rm)`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum VecALUModOp {
    /// Bitwise select: `rd = (ri & rn) | (!ri & rm)`.
    Bsl,
    /// Insert if true: `rd = (rn & rm) | (ri & !rm)`.
    Bit,
    /// Insert if false: `rd = (ri & rm) | (rn & !rm)`.
    Bif,
    Mla,
    Mls,
    Fmla,
    Fmls,
}

/// Widening ("long") three-register operations: `rd` lanes twice as wide as the sources'
/// (the `2` forms read the high halves of the sources).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum VecRRRLongOp {
    Smull,
    Umull,
    Saddl,
    Uaddl,
    Ssubl,
    Usubl,
    /// Wide: `rn` already wide, `rm` narrow.
    Saddw,
    Uaddw,
    Ssubw,
    Usubw,
    /// Polynomial multiply (8-bit lanes here).
    Pmull,
}

/// Widening multiply-accumulate: `rd = ri ± rn * rm` with wide `rd`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum VecRRRLongModOp {
    Smlal,
    Umlal,
    Smlsl,
    Umlsl,
}

/// One-source vector operations of the "two-register miscellaneous" class that keep the
/// arrangement (or, for the pairwise and conversion forms noted, change it as the name
/// says).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum VecMisc2 {
    Abs,
    Neg,
    /// Bitwise: `8b`/`16b`.
    Not,
    /// Population count per byte: `8b`/`16b`.
    Cnt,
    /// Bit reverse per byte: `8b`/`16b`.
    Rbit,
    Rev16,
    Rev32,
    Rev64,
    Cls,
    Clz,
    Cmeq0,
    Cmge0,
    Cmgt0,
    Cmle0,
    Cmlt0,
    /// Pairwise widening add: `rd` has half as many lanes, twice as wide.
    Saddlp,
    Uaddlp,
    // FP (lanes s or d).
    Fabs,
    Fneg,
    Fsqrt,
    Frintn,
    Frintm,
    Frintp,
    Frintz,
    Frinta,
    Frintx,
    Frinti,
    Fcvtzs,
    Fcvtzu,
    Scvtf,
    Ucvtf,
    Fcmeq0,
    Fcmge0,
    Fcmgt0,
    Fcmle0,
    Fcmlt0,
    Frecpe,
    Frsqrte,
    /// Widen: `2s`→`2d`, `4h`→`4s` (`fcvtl`), or the high half of `4s`/`8h` (`fcvtl2`).
    Fcvtl,
    /// Widen the low (high, for 128-bit sources) half, shifting left by the lane width.
    Shll,
}

impl VecMisc2 {
    /// Is it an FP operation?
    pub fn is_fp(self) -> bool {
        use VecMisc2::*;
        matches!(
            self,
            Fabs | Fneg
                | Fsqrt
                | Frintn
                | Frintm
                | Frintp
                | Frintz
                | Frinta
                | Frintx
                | Frinti
                | Fcvtzs
                | Fcvtzu
                | Scvtf
                | Ucvtf
                | Fcmeq0
                | Fcmge0
                | Fcmgt0
                | Fcmle0
                | Fcmlt0
                | Frecpe
                | Frsqrte
                | Fcvtl
        )
    }
}

/// Narrowing operations: lanes of `rn` halved into the low half of `rd` (the `2` forms
/// write the high half and keep the low half).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum VecNarrowOp {
    Xtn,
    Sqxtn,
    Sqxtun,
    Uqxtn,
    /// FP narrowing: `2d`→`2s`, `4s`→`4h`.
    Fcvtn,
}

/// Vector shifts by an immediate.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum VecShiftImmOp {
    /// Left shift, 0..lane bits - 1.
    Shl,
    /// Arithmetic right shift, 1..=lane bits.
    Sshr,
    /// Logical right shift, 1..=lane bits.
    Ushr,
}

/// Shift by immediate and insert, keeping the destination's other bits (`rd` read).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum VecShiftImmModOp {
    /// Shift left and insert, 0..lane bits - 1.
    Sli,
    /// Shift right and insert, 1..=lane bits.
    Sri,
}

/// Widening shifts (`sshll`/`ushll`, which with shift 0 are `sxtl`/`uxtl`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum VecExtendOp {
    Sshll,
    Ushll,
}

/// Reductions across the lanes of a vector into a scalar.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum VecLanesOp {
    Addv,
    Smaxv,
    Umaxv,
    Sminv,
    Uminv,
    /// Widening sum.
    Saddlv,
    Uaddlv,
    /// Add the two lanes of a `2d` vector (`addp d, v.2d`).
    Addp,
}

/// Table lookups: `tbl` (out-of-range indices give 0) or `tbx` (they keep `ri`'s lane).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum TblOp {
    Tbl,
    Tbx,
}

/// The first of the consecutive table registers of a multi-register `tbl`/`tbx` in VCode:
/// tables of `n` registers use v(TBL_BASE)..v(TBL_BASE + n - 1) through fixed constraints.
pub const TBL_BASE: u8 = 28;

/// An aarch64 instruction.
#[derive(Clone, Debug)]
pub enum Inst {
    // --- Integer ---------------------------------------------------------------------
    /// `rd = rn op rm`. Register 31 is `xzr` in every field.
    AluRRR {
        /// Operation.
        op: ALUOp,
        /// Width.
        size: OperandSize,
        /// Destination.
        rd: Writable<Reg>,
        /// First source.
        rn: Reg,
        /// Second source.
        rm: Reg,
    },
    /// `rd = rn op (rm shift #amt)` (add/sub and logical ops; `ror` for logical only).
    AluRRRShift {
        /// Operation.
        op: ALUOp,
        /// Width.
        size: OperandSize,
        /// Destination.
        rd: Writable<Reg>,
        /// First source.
        rn: Reg,
        /// Shifted source.
        rm: Reg,
        /// Shift kind.
        shift: ShiftOp,
        /// Shift amount (below the operand width).
        amt: u8,
    },
    /// `rd = rn op (extend(rm) << shift)` (add/sub only; shift 0..=4). Rd|SP (not for
    /// `adds`/`subs`), Rn|SP.
    AluRRRExtend {
        /// Operation (add/sub).
        op: ALUOp,
        /// Width.
        size: OperandSize,
        /// Destination.
        rd: Writable<Reg>,
        /// First source.
        rn: Reg,
        /// Extended source (a w register unless the extension is `uxtx`/`sxtx`).
        rm: Reg,
        /// Extension.
        extend: ExtendOp,
        /// Left shift after extension, 0..=4.
        shift: u8,
    },
    /// `rd = rn op #imm12` (add/sub). Rd|SP (not for `adds`/`subs`), Rn|SP.
    AluRRImm12 {
        /// Operation (add/sub).
        op: ALUOp,
        /// Width.
        size: OperandSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Source.
        rn: Reg,
        /// Immediate.
        imm12: Imm12,
    },
    /// `rd = rn op #bitmask` (and/orr/eor/ands). Rd|SP (not for `ands`).
    AluRRImmLogic {
        /// Operation (and/orr/eor/ands).
        op: ALUOp,
        /// Width.
        size: OperandSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Source.
        rn: Reg,
        /// Immediate (of the same width).
        imml: ImmLogic,
    },
    /// `rd = ra ± rn * rm` (and the widening 32×32→64 forms).
    AluRRRR {
        /// Operation.
        op: ALUOp3,
        /// Width (the widening forms are 64-bit).
        size: OperandSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Multiplicand.
        rn: Reg,
        /// Multiplier.
        rm: Reg,
        /// Addend (`xzr` for a plain multiply).
        ra: Reg,
    },
    /// `rd = op(rn)`: rbit, clz, cls, rev16, rev32, rev.
    BitRR {
        /// Operation.
        op: BitOp,
        /// Width.
        size: OperandSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Source.
        rn: Reg,
    },
    /// `movz`/`movn rd, #imm16, lsl #(16 * hw)`.
    MovWide {
        /// Operation.
        op: MoveWideOp,
        /// Width (hw 0..=1 for 32-bit).
        size: OperandSize,
        /// Destination.
        rd: Writable<Reg>,
        /// The chunk.
        imm: MoveWideConst,
    },
    /// `movk rd, #imm16, lsl #(16 * hw)`: replace one chunk of `ri` (tied to `rd`).
    MovK {
        /// Width.
        size: OperandSize,
        /// Destination.
        rd: Writable<Reg>,
        /// The value whose chunk is replaced.
        ri: Reg,
        /// The chunk.
        imm: MoveWideConst,
    },
    /// Register move: `mov rd, rm` (`orr rd, xzr, rm`, or `add rd, rn, #0` when either is
    /// `sp`).
    Mov {
        /// Width.
        size: OperandSize,
        /// Destination (may be sp).
        rd: Writable<Reg>,
        /// Source (may be sp).
        rm: Reg,
    },
    /// Signed/unsigned bitfield move (`sbfm`/`ubfm`: the shifts by immediate, extracts and
    /// extensions are its aliases).
    Bitfield {
        /// Operation.
        op: BitfieldOp,
        /// Width.
        size: OperandSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Source.
        rn: Reg,
        /// Rotation.
        immr: u8,
        /// Top bit of the field.
        imms: u8,
    },
    /// `bfm`: insert a field of `rn` into `ri` (tied to `rd`) (`bfi`, `bfxil`).
    BitfieldInsert {
        /// Width.
        size: OperandSize,
        /// Destination.
        rd: Writable<Reg>,
        /// The value the field is inserted into.
        ri: Reg,
        /// Source of the field.
        rn: Reg,
        /// Rotation.
        immr: u8,
        /// Top bit of the field.
        imms: u8,
    },
    /// `extr rd, rn, rm, #lsb`: bits `lsb..lsb+width` of `rn:rm` (`ror` when rn == rm).
    Extr {
        /// Width.
        size: OperandSize,
        /// Destination.
        rd: Writable<Reg>,
        /// High part.
        rn: Reg,
        /// Low part.
        rm: Reg,
        /// Lowest bit taken from `rm`, below the width.
        lsb: u8,
    },
    /// `rd = cond ? rn : op(rm)` (csel/csinc/csinv/csneg; cset/csetm/cinc/cinv/cneg are
    /// its aliases).
    CSel {
        /// Operation.
        op: CSelOp,
        /// Width.
        size: OperandSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Selected when `cond` holds.
        rn: Reg,
        /// Transformed and selected otherwise.
        rm: Reg,
        /// Condition.
        cond: Cond,
    },
    /// Conditional compare of registers: flags of `rn - rm` (ccmp) or `rn + rm` (ccmn) if
    /// `cond` holds, else `nzcv`.
    CCmp {
        /// Operation.
        op: CCmpOp,
        /// Width.
        size: OperandSize,
        /// First operand.
        rn: Reg,
        /// Second operand.
        rm: Reg,
        /// Flags when the condition fails.
        nzcv: NZCV,
        /// Condition.
        cond: Cond,
    },
    /// Conditional compare with a 5-bit immediate.
    CCmpImm {
        /// Operation.
        op: CCmpOp,
        /// Width.
        size: OperandSize,
        /// First operand.
        rn: Reg,
        /// 0..=31.
        imm: u8,
        /// Flags when the condition fails.
        nzcv: NZCV,
        /// Condition.
        cond: Cond,
    },
    /// `adr rd, label` (±1 MiB).
    Adr {
        /// Destination.
        rd: Writable<Reg>,
        /// Target.
        label: MachLabel,
    },
    /// `adrp rd, label`: the 4 KiB page of a label within ±4 GiB (valid only when the
    /// code is placed at a 4 KiB-aligned address, as pages are absolute).
    Adrp {
        /// Destination.
        rd: Writable<Reg>,
        /// Target.
        label: MachLabel,
    },
    /// The address of a symbol plus `offset`: `adrp rd, sym; add rd, rd, :lo12:sym` with
    /// relocations.
    LoadExtName {
        /// Destination.
        rd: Writable<Reg>,
        /// Symbol.
        name: Box<RelocTarget>,
        /// Addend.
        offset: i64,
    },

    // --- Memory ----------------------------------------------------------------------
    /// Load one register.
    Load {
        /// Size, extension and register file.
        op: LoadOp,
        /// Destination.
        rd: Writable<Reg>,
        /// Address.
        mem: AMode,
        /// Trap code of a faulting access.
        trap: Option<TrapCode>,
    },
    /// Store one register.
    Store {
        /// Size and register file.
        op: StoreOp,
        /// Source.
        rt: Reg,
        /// Address.
        mem: AMode,
        /// Trap code of a faulting access.
        trap: Option<TrapCode>,
    },
    /// `ldp`/`ldpsw`.
    LoadPair {
        /// Register kind.
        op: PairOp,
        /// First destination (lower address).
        rt: Writable<Reg>,
        /// Second destination.
        rt2: Writable<Reg>,
        /// Address.
        mem: PairAMode,
        /// Trap code of a faulting access.
        trap: Option<TrapCode>,
    },
    /// `stp`.
    StorePair {
        /// Register kind (not `Sw`).
        op: PairOp,
        /// First source (lower address).
        rt: Reg,
        /// Second source.
        rt2: Reg,
        /// Address.
        mem: PairAMode,
        /// Trap code of a faulting access.
        trap: Option<TrapCode>,
    },

    // --- Control flow ----------------------------------------------------------------
    /// `b label`.
    Jump {
        /// Target.
        dest: MachLabel,
    },
    /// Branch to `taken` if the condition holds, else to `not_taken` (a `b` follows
    /// unless `not_taken` is the next block).
    CondBr {
        /// Condition.
        kind: CondBrKind,
        /// Target when it holds.
        taken: MachLabel,
        /// Target when it does not.
        not_taken: MachLabel,
    },
    /// Trap with `code` if the condition holds (a branch to an out-of-line `udf`).
    TrapIf {
        /// Condition.
        kind: CondBrKind,
        /// Trap code.
        code: TrapCode,
    },
    /// `br rn`: jump to a computed address (inside a jump-table sequence).
    Br {
        /// Address.
        rn: Reg,
    },
    /// `blr rn`: the bare call instruction (the call pseudo-instruction of the ABI layer
    /// adds the argument and clobber constraints).
    Blr {
        /// Address.
        rn: Reg,
    },
    /// `bl sym`: the bare direct call (relocation `Arm64Call`).
    Bl {
        /// Callee.
        name: Box<RelocTarget>,
    },
    /// `ret` (to x30).
    Ret,
    /// `retaa`/`retab`: authenticate x30 against sp, then return.
    RetAuth {
        /// Key.
        key: PacKey,
    },
    /// `udf #code`: trap unconditionally with `code` (recorded as a trap site).
    Udf {
        /// Trap code.
        code: TrapCode,
    },
    /// `brk #imm`: breakpoint.
    Brk {
        /// 16-bit comment.
        imm: u16,
    },

    // --- Floating point --------------------------------------------------------------
    /// `fmov rd, rn` (scalar s, d or h with fp16; the upper bits are zeroed).
    FpuMove {
        /// Size.
        size: ScalarSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Source.
        rn: Reg,
    },
    /// `rd = op(rn)` (abs, neg, sqrt, frint*).
    FpuRR {
        /// Operation.
        op: FpuOp1,
        /// Size (h needs fp16).
        size: ScalarSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Source.
        rn: Reg,
    },
    /// `fcvt`: between h, s and d.
    FpuCvt {
        /// Source size.
        from: ScalarSize,
        /// Destination size.
        to: ScalarSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Source.
        rn: Reg,
    },
    /// `rd = rn op rm`.
    FpuRRR {
        /// Operation.
        op: FpuOp2,
        /// Size.
        size: ScalarSize,
        /// Destination.
        rd: Writable<Reg>,
        /// First source.
        rn: Reg,
        /// Second source.
        rm: Reg,
    },
    /// Fused multiply-add family: `rd = ±ra ± rn * rm`.
    FpuRRRR {
        /// Operation.
        op: FpuOp3,
        /// Size.
        size: ScalarSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Multiplicand.
        rn: Reg,
        /// Multiplier.
        rm: Reg,
        /// Addend.
        ra: Reg,
    },
    /// `fcmp rn, rm`.
    FpuCmp {
        /// Size.
        size: ScalarSize,
        /// First operand.
        rn: Reg,
        /// Second operand.
        rm: Reg,
    },
    /// `fcmp rn, #0.0`.
    FpuCmpZero {
        /// Size.
        size: ScalarSize,
        /// Operand.
        rn: Reg,
    },
    /// `fccmp rn, rm, #nzcv, cond`.
    FpuCCmp {
        /// Size.
        size: ScalarSize,
        /// First operand.
        rn: Reg,
        /// Second operand.
        rm: Reg,
        /// Flags when the condition fails.
        nzcv: NZCV,
        /// Condition.
        cond: Cond,
    },
    /// `fcsel rd, rn, rm, cond`.
    FpuCSel {
        /// Size.
        size: ScalarSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Selected when `cond` holds.
        rn: Reg,
        /// Selected otherwise.
        rm: Reg,
        /// Condition.
        cond: Cond,
    },
    /// `fmov rd, #imm`.
    FpuMoveImm {
        /// Size.
        size: ScalarSize,
        /// Destination.
        rd: Writable<Reg>,
        /// The 8-bit immediate.
        imm: FpImm8,
    },
    /// `fmov rd, rn` from a general register (`h`/`s` from w or x — h from x only with
    /// fp16 —, `d` from x).
    MovToFpu {
        /// FP size.
        size: ScalarSize,
        /// Integer register width.
        isize: OperandSize,
        /// FP destination.
        rd: Writable<Reg>,
        /// General source.
        rn: Reg,
    },
    /// `fmov rd, rn` to a general register.
    MovFromFpu {
        /// FP size.
        size: ScalarSize,
        /// Integer register width.
        isize: OperandSize,
        /// General destination.
        rd: Writable<Reg>,
        /// FP source.
        rn: Reg,
    },
    /// `fcvtzs`/`fcvtzu rd, rn`: FP to integer, rounding toward zero, saturating.
    FpuToInt {
        /// Operation.
        op: FpuToIntOp,
        /// FP source size.
        size: ScalarSize,
        /// Integer destination width.
        isize: OperandSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Source.
        rn: Reg,
    },
    /// `scvtf`/`ucvtf rd, rn`: integer to FP.
    IntToFpu {
        /// Operation.
        op: IntToFpuOp,
        /// FP destination size.
        size: ScalarSize,
        /// Integer source width.
        isize: OperandSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Source.
        rn: Reg,
    },

    // --- Atomics and barriers --------------------------------------------------------
    /// `ldxr`/`ldaxr` (b, h, w, x): load exclusive.
    LoadExclusive {
        /// Acquire (`ldaxr`)?
        acquire: bool,
        /// Access size (8..=64 bits).
        size: ScalarSize,
        /// Destination.
        rt: Writable<Reg>,
        /// Address. Rn|SP.
        rn: Reg,
        /// Trap code of a faulting access.
        trap: Option<TrapCode>,
    },
    /// `stxr`/`stlxr`: store exclusive; `rs` = 0 on success.
    StoreExclusive {
        /// Release (`stlxr`)?
        release: bool,
        /// Access size.
        size: ScalarSize,
        /// Status (must differ from `rt` and `rn`).
        rs: Writable<Reg>,
        /// Value.
        rt: Reg,
        /// Address.
        rn: Reg,
        /// Trap code of a faulting access.
        trap: Option<TrapCode>,
    },
    /// `ldar`: load-acquire.
    LoadAcquire {
        /// Access size.
        size: ScalarSize,
        /// Destination.
        rt: Writable<Reg>,
        /// Address.
        rn: Reg,
        /// Trap code of a faulting access.
        trap: Option<TrapCode>,
    },
    /// `stlr`: store-release.
    StoreRelease {
        /// Access size.
        size: ScalarSize,
        /// Value.
        rt: Reg,
        /// Address.
        rn: Reg,
        /// Trap code of a faulting access.
        trap: Option<TrapCode>,
    },
    /// `ldxp`/`ldaxp`: load a pair exclusive.
    LoadExclusivePair {
        /// Acquire?
        acquire: bool,
        /// 64-bit registers?
        size: OperandSize,
        /// First destination (lower address).
        rt: Writable<Reg>,
        /// Second destination.
        rt2: Writable<Reg>,
        /// Address.
        rn: Reg,
        /// Trap code of a faulting access.
        trap: Option<TrapCode>,
    },
    /// `stxp`/`stlxp`: store a pair exclusive; `rs` = 0 on success.
    StoreExclusivePair {
        /// Release?
        release: bool,
        /// 64-bit registers?
        size: OperandSize,
        /// Status.
        rs: Writable<Reg>,
        /// First value.
        rt: Reg,
        /// Second value.
        rt2: Reg,
        /// Address.
        rn: Reg,
        /// Trap code of a faulting access.
        trap: Option<TrapCode>,
    },
    /// LSE atomic read-modify-write: `rt = mem; mem = op(mem, rs)`.
    AtomicRmw {
        /// Operation.
        op: AtomicRmwOp,
        /// Ordering.
        order: Ordering,
        /// Access size.
        size: ScalarSize,
        /// Operand.
        rs: Reg,
        /// Old value (`xzr` to discard).
        rt: Writable<Reg>,
        /// Address.
        rn: Reg,
        /// Trap code of a faulting access.
        trap: Option<TrapCode>,
    },
    /// LSE `cas`: if `mem == ri` then `mem = rt`; `rd` (tied to `ri`) receives the old
    /// value.
    Cas {
        /// Ordering.
        order: Ordering,
        /// Access size.
        size: ScalarSize,
        /// Old value.
        rd: Writable<Reg>,
        /// Expected value.
        ri: Reg,
        /// New value.
        rt: Reg,
        /// Address.
        rn: Reg,
        /// Trap code of a faulting access.
        trap: Option<TrapCode>,
    },
    /// LSE `casp`: compare-and-swap of a register pair. The pairs are consecutive even/odd
    /// registers: in VCode, the expected/old pair is fixed to x0:x1 and the new pair to
    /// x2:x3.
    Casp {
        /// Ordering.
        order: Ordering,
        /// Width of each register.
        size: OperandSize,
        /// Old value, low and high (x0, x1).
        rd: [Writable<Reg>; 2],
        /// Expected value, low and high (x0, x1; tied to `rd`).
        ri: [Reg; 2],
        /// New value, low and high (x2, x3).
        rt: [Reg; 2],
        /// Address.
        rn: Reg,
        /// Trap code of a faulting access.
        trap: Option<TrapCode>,
    },
    /// `dmb`.
    Dmb {
        /// Domain and access types.
        option: BarrierOption,
    },
    /// `isb`.
    Isb,

    // --- Misc ------------------------------------------------------------------------
    /// A hint-space instruction (`nop`, `bti`, `paciasp`, …).
    Hint {
        /// Which.
        op: HintOp,
    },
    /// `mrs rd, sysreg`.
    Mrs {
        /// Destination.
        rd: Writable<Reg>,
        /// System register.
        reg: SysReg,
    },
    /// `msr sysreg, rn`.
    Msr {
        /// System register.
        reg: SysReg,
        /// Source.
        rn: Reg,
    },

    // --- Advanced SIMD ---------------------------------------------------------------
    /// `rd = rn op rm`, lane-wise (or a permute).
    VecRRR {
        /// Operation.
        op: VecALUOp,
        /// Arrangement.
        size: VectorSize,
        /// Destination.
        rd: Writable<Reg>,
        /// First source.
        rn: Reg,
        /// Second source.
        rm: Reg,
    },
    /// `rd = op(ri, rn, rm)` (bsl/bit/bif, mla/mls, fmla/fmls), `rd` tied to `ri`.
    VecRRRMod {
        /// Operation.
        op: VecALUModOp,
        /// Arrangement.
        size: VectorSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Old destination value.
        ri: Reg,
        /// First source.
        rn: Reg,
        /// Second source.
        rm: Reg,
    },
    /// Widening three-register operations; `size` is the arrangement of the narrow
    /// source (its `Q` bit selects the `2` form, which reads the high halves).
    VecRRRLong {
        /// Operation.
        op: VecRRRLongOp,
        /// Narrow source arrangement.
        size: VectorSize,
        /// Wide destination.
        rd: Writable<Reg>,
        /// First source (wide for the `w` forms).
        rn: Reg,
        /// Second source (narrow).
        rm: Reg,
    },
    /// Widening multiply-accumulate: `rd = ri ± rn * rm`, `rd` tied to `ri`.
    VecRRRLongMod {
        /// Operation.
        op: VecRRRLongModOp,
        /// Narrow source arrangement (`Q` selects the `2` form).
        size: VectorSize,
        /// Wide destination.
        rd: Writable<Reg>,
        /// Old destination value.
        ri: Reg,
        /// First source.
        rn: Reg,
        /// Second source.
        rm: Reg,
    },
    /// `rd = op(rn)`; `size` is the source arrangement.
    VecMisc {
        /// Operation.
        op: VecMisc2,
        /// Source arrangement (for `fcvtl2` the 128-bit source; for `fcvtl` the 64-bit
        /// one).
        size: VectorSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Source.
        rn: Reg,
    },
    /// Narrow `rn` (wide lanes, `size` names the narrow result) into the low half of `rd`,
    /// zeroing the high half.
    VecNarrowLow {
        /// Operation.
        op: VecNarrowOp,
        /// Narrow destination arrangement (64-bit).
        size: VectorSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Wide source.
        rn: Reg,
    },
    /// Narrow `rn` into the high half of `rd`, keeping the low half of `ri` (tied).
    VecNarrowHigh {
        /// Operation.
        op: VecNarrowOp,
        /// Narrow destination arrangement (128-bit).
        size: VectorSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Low half to keep.
        ri: Reg,
        /// Wide source.
        rn: Reg,
    },
    /// Shift each lane by an immediate.
    VecShiftImm {
        /// Operation.
        op: VecShiftImmOp,
        /// Arrangement.
        size: VectorSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Source.
        rn: Reg,
        /// Amount.
        imm: u8,
    },
    /// Shift each lane by an immediate and insert into `ri` (tied to `rd`).
    VecShiftImmMod {
        /// Operation.
        op: VecShiftImmModOp,
        /// Arrangement.
        size: VectorSize,
        /// Destination.
        rd: Writable<Reg>,
        /// The value the shifted bits are inserted into.
        ri: Reg,
        /// Source.
        rn: Reg,
        /// Amount.
        imm: u8,
    },
    /// Widen the lanes of the low (`size` 64-bit) or high (`size` 128-bit) half, shifting
    /// left by `shift` (`sxtl`/`uxtl` when 0).
    VecExtend {
        /// Operation.
        op: VecExtendOp,
        /// Source arrangement.
        size: VectorSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Source.
        rn: Reg,
        /// Shift, below the source lane width.
        shift: u8,
    },
    /// Reduce across lanes into a scalar.
    VecLanes {
        /// Operation.
        op: VecLanesOp,
        /// Source arrangement.
        size: VectorSize,
        /// Scalar destination.
        rd: Writable<Reg>,
        /// Source.
        rn: Reg,
    },
    /// `dup rd.<T>, rn` (a general register into every lane).
    VecDup {
        /// Arrangement.
        size: VectorSize,
        /// Destination.
        rd: Writable<Reg>,
        /// General source (w, or x for 64-bit lanes).
        rn: Reg,
    },
    /// `dup rd.<T>, rn.<t>[lane]`.
    VecDupElem {
        /// Arrangement.
        size: VectorSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Source vector.
        rn: Reg,
        /// Source lane.
        lane: u8,
    },
    /// `mov rd, rn.<t>[lane]` (scalar `dup`): one lane into a scalar FP register.
    FpuMoveFromVec {
        /// Lane size.
        size: ScalarSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Source vector.
        rn: Reg,
        /// Lane.
        lane: u8,
    },
    /// `ins rd.<t>[lane], rn` (`mov`): a general register into one lane of `ri` (tied).
    MovToVec {
        /// Lane size.
        size: ScalarSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Vector whose other lanes are kept.
        ri: Reg,
        /// General source.
        rn: Reg,
        /// Lane.
        lane: u8,
    },
    /// `ins rd.<t>[dst_lane], rn.<t>[src_lane]` (`mov`), `rd` tied to `ri`.
    VecMovElement {
        /// Lane size.
        size: ScalarSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Vector whose other lanes are kept.
        ri: Reg,
        /// Source vector.
        rn: Reg,
        /// Destination lane.
        dst_lane: u8,
        /// Source lane.
        src_lane: u8,
    },
    /// `umov rd, rn.<t>[lane]` (`mov` for s and d): a lane, zero-extended.
    MovFromVec {
        /// Lane size.
        size: ScalarSize,
        /// General destination (w, or x for d lanes).
        rd: Writable<Reg>,
        /// Source vector.
        rn: Reg,
        /// Lane.
        lane: u8,
    },
    /// `smov rd, rn.<t>[lane]`: a lane, sign-extended to w or x.
    MovFromVecSigned {
        /// Lane size (b, h; s only to x).
        size: ScalarSize,
        /// Destination width.
        isize: OperandSize,
        /// General destination.
        rd: Writable<Reg>,
        /// Source vector.
        rn: Reg,
        /// Lane.
        lane: u8,
    },
    /// `mov rd.16b, rn.16b` (or `8b`): a whole-register move.
    VecMov {
        /// 128 bits (`16b`) or 64 (`8b`, zeroing the high half).
        q: bool,
        /// Destination.
        rd: Writable<Reg>,
        /// Source.
        rn: Reg,
    },
    /// `ext rd, rn, rm, #imm`: bytes `imm..` of the concatenation `rm:rn`.
    VecExtract {
        /// 128 bits (imm 0..=15) or 64 (imm 0..=7).
        q: bool,
        /// Destination.
        rd: Writable<Reg>,
        /// Low source.
        rn: Reg,
        /// High source.
        rm: Reg,
        /// Byte offset.
        imm: u8,
    },
    /// `tbl`/`tbx rd, {tables}, rm`: byte lookup in 1–4 consecutive table registers.
    VecTbl {
        /// tbl or tbx.
        op: TblOp,
        /// 128 bits (`16b`) or 64 (`8b`).
        q: bool,
        /// Number of table registers, 1..=4.
        len: u8,
        /// Destination.
        rd: Writable<Reg>,
        /// For `tbx`, the lanes kept for out-of-range indices (tied); unused for `tbl`.
        ri: Reg,
        /// Table registers: `tables[0]` and, for `len` > 1, the next ones (consecutive
        /// registers mod 32; fixed to v28.. in VCode, [`TBL_BASE`]).
        tables: [Reg; 4],
        /// Indices.
        rm: Reg,
    },
    /// `movi`/`mvni`/`fmov` vector immediate.
    VecMovImm {
        /// 128 bits or 64.
        q: bool,
        /// Destination.
        rd: Writable<Reg>,
        /// Immediate.
        imm: AsimdModImm,
    },
    /// `ld1r {rd.<T>}, [rn]`: load one element into every lane.
    VecLoadReplicate {
        /// Arrangement.
        size: VectorSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Address. Rn|SP.
        rn: Reg,
        /// Trap code of a faulting access.
        trap: Option<TrapCode>,
    },
    /// `ld1 {rd.<t>}[lane], [rn]`: load one lane, keeping the others of `ri` (tied).
    VecLoadLane {
        /// Lane size.
        size: ScalarSize,
        /// Destination.
        rd: Writable<Reg>,
        /// Vector whose other lanes are kept.
        ri: Reg,
        /// Address.
        rn: Reg,
        /// Lane.
        lane: u8,
        /// Trap code of a faulting access.
        trap: Option<TrapCode>,
    },
    /// `st1 {rt.<t>}[lane], [rn]`: store one lane.
    VecStoreLane {
        /// Lane size.
        size: ScalarSize,
        /// Source vector.
        rt: Reg,
        /// Address.
        rn: Reg,
        /// Lane.
        lane: u8,
        /// Trap code of a faulting access.
        trap: Option<TrapCode>,
    },

    // --- Pseudo-instructions of the ABI and the lowering -----------------------------
    /// Defines the register arguments at function entry (no code).
    Args {
        /// (vreg, preg) pairs.
        args: Vec<ArgPair>,
    },
    /// The epilogue and `ret`, using the return registers.
    Rets {
        /// (vreg, preg) pairs.
        rets: Vec<RetPair>,
        /// Bytes of stack arguments the function pops (`tail`).
        stack_bytes_to_pop: u32,
    },
    /// A call made by the framework's call lowering: `bl sym` (colocated), the address of
    /// a far symbol loaded into x16 then `blr x16`, or `blr rn`.
    Call {
        /// Callee, operands, clobbers, `try_call` targets.
        info: Box<CallInfo>,
    },
    /// A tail call: restore the frame, move the stack arguments into the incoming area,
    /// jump (an indirect callee arrives in x9 and is jumped to through x17).
    ReturnCall {
        /// Callee and operands.
        info: Box<CallInfo>,
    },
    /// The start of an exception landing pad: defines the payload registers (no code).
    ExnPayloads {
        /// (vreg, preg) pairs.
        defs: Box<SmallVec<[(Writable<Reg>, PReg); 2]>>,
    },
    /// `rd = address of mem` (`add rd, base, #off`; large offsets through x16; a
    /// register offset with its extension and shift).
    LoadAddr {
        /// Destination (may not be sp).
        rd: Writable<Reg>,
        /// The address (not a label).
        mem: AMode,
    },
    /// The address of a symbol anywhere in the address space: `ldr rd, 1f; b 2f; 1:
    /// .quad sym + offset; 2:` (an `Abs8` relocation).
    LoadExtNameFar {
        /// Destination.
        rd: Writable<Reg>,
        /// Symbol.
        name: Box<RelocTarget>,
        /// Addend.
        offset: i64,
    },
    /// A jump table: `cmp idx, #n; b.hs default; csel tmp2, wzr, idx, hs; adr tmp1, 1f;
    /// ldrsw tmp2, [tmp1, tmp2, uxtw #2]; add tmp1, tmp1, tmp2; br tmp1; 1: .word t - 1b…`
    /// (the `csel` keeps a mispredicted bounds check from indexing past the table).
    JumpTable {
        /// The index (a w register: only its low 32 bits are read).
        idx: Reg,
        /// Table address, then the target.
        tmp1: Writable<Reg>,
        /// Clamped index, then the entry.
        tmp2: Writable<Reg>,
        /// Where out-of-range indices go.
        default: MachLabel,
        /// The table.
        targets: Box<[MachLabel]>,
    },
    /// Branch to `taken` if either condition holds, else to `not_taken`.
    CondBr2 {
        /// First condition.
        c1: Cond,
        /// Second condition.
        c2: Cond,
        /// Target when one holds.
        taken: MachLabel,
        /// Target otherwise.
        not_taken: MachLabel,
    },
    /// An atomic read-modify-write as a load-exclusive/store-exclusive loop (without LSE,
    /// or for operations LSE lacks): `1: ldaxr old, [addr]; new = op(old, operand); stlxr
    /// status, new, [addr]; cbnz status, 1b`.
    AtomicRmwLoop {
        /// The operation.
        op: AtomicLoopOp,
        /// Access size (8..=64 bits).
        size: ScalarSize,
        /// Address.
        addr: Reg,
        /// Operand.
        operand: Reg,
        /// The old value (zero-extended from the access size).
        old: Writable<Reg>,
        /// Scratch: the new value.
        new: Writable<Reg>,
        /// Scratch: the store-exclusive status.
        status: Writable<Reg>,
        /// Trap code of a faulting access.
        trap: Option<TrapCode>,
    },
    /// A compare-and-swap loop: `1: ldaxr old, [addr]; cmp old, expected; b.ne 2f; stlxr
    /// status, replacement, [addr]; cbnz status, 1b; 2:`.
    AtomicCasLoop {
        /// Access size (8..=64 bits).
        size: ScalarSize,
        /// Address.
        addr: Reg,
        /// The value compared with (its bits above the access size are ignored).
        expected: Reg,
        /// The value stored when equal.
        replacement: Reg,
        /// The old value (zero-extended).
        old: Writable<Reg>,
        /// Scratch: the store-exclusive status.
        status: Writable<Reg>,
        /// Trap code of a faulting access.
        trap: Option<TrapCode>,
    },
    /// A 128-bit compare-and-swap (or, with `load_only`, an atomic load) as an
    /// `ldaxp`/`stlxp` loop that always stores (the loaded value back when the comparison
    /// fails), which makes the 128-bit read single-copy atomic.
    Atomic128Loop(Box<Atomic128>),
}

/// The operands of [`Inst::Atomic128Loop`].
#[derive(Clone, Debug)]
pub struct Atomic128 {
    /// Address.
    pub addr: Reg,
    /// Expected value, low and high (unused with `load_only`).
    pub expected: [Reg; 2],
    /// Replacement, low and high (unused with `load_only`).
    pub replacement: [Reg; 2],
    /// The old value, low and high.
    pub old: [Writable<Reg>; 2],
    /// Scratch: the values stored.
    pub tmp: [Writable<Reg>; 2],
    /// Scratch: the store-exclusive status.
    pub status: Writable<Reg>,
    /// Only load (store the loaded value back).
    pub load_only: bool,
    /// Trap code of a faulting access.
    pub trap: Option<TrapCode>,
}

/// The operations of [`Inst::AtomicRmwLoop`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum AtomicLoopOp {
    Add,
    Sub,
    And,
    Nand,
    Orr,
    Eor,
    Xchg,
    Smin,
    Smax,
    Umin,
    Umax,
}

impl Inst {
    /// `mov rd, rm` of a 64-bit value.
    pub fn mov64(rd: Writable<Reg>, rm: Reg) -> Inst {
        Inst::Mov { size: OperandSize::Size64, rd, rm }
    }

    /// `cset rd, cond` (`csinc rd, xzr, xzr, !cond`).
    pub fn cset(size: OperandSize, rd: Writable<Reg>, cond: Cond) -> Inst {
        Inst::CSel { op: CSelOp::Csinc, size, rd, rn: zero_reg(), rm: zero_reg(), cond: cond.invert() }
    }

    /// `csetm rd, cond` (`csinv rd, xzr, xzr, !cond`).
    pub fn csetm(size: OperandSize, rd: Writable<Reg>, cond: Cond) -> Inst {
        Inst::CSel { op: CSelOp::Csinv, size, rd, rn: zero_reg(), rm: zero_reg(), cond: cond.invert() }
    }

    /// `cmp rn, rm` (`subs xzr, rn, rm`).
    pub fn cmp(size: OperandSize, rn: Reg, rm: Reg) -> Inst {
        Inst::AluRRR { op: ALUOp::Subs, size, rd: Writable::from_reg(zero_reg()), rn, rm }
    }

    /// The instructions that put the integer constant `value` into `rd` (the shortest
    /// `movz`/`movn`/`movk`/`orr` sequence of [`materialize`]).
    pub fn load_constant(rd: Writable<Reg>, value: u64, size: OperandSize) -> SmallVec<[Inst; 4]> {
        let steps = materialize(value, !size.is64());
        steps
            .iter()
            .map(|s| match *s {
                MatStep::MovZ(imm) => Inst::MovWide { op: MoveWideOp::MovZ, size, rd, imm },
                MatStep::MovN(imm) => Inst::MovWide { op: MoveWideOp::MovN, size, rd, imm },
                MatStep::MovK(imm) => Inst::MovK { size, rd, ri: rd.to_reg(), imm },
                MatStep::Orr(imml) => Inst::AluRRImmLogic { op: ALUOp::Orr, size, rd, rn: zero_reg(), imml },
            })
            .collect()
    }
}

/// The fixed registers of `casp` in VCode: old/expected pair and new pair.
const CASP_REGS: [u8; 4] = [0, 1, 2, 3];

/// The register an indirect tail call's callee is kept in through the frame teardown
/// (x9: not an argument register of any convention, caller-saved).
pub const TAIL_CALLEE_ENC: u8 = 9;

impl MachInst for Inst {
    fn is_call(&self) -> bool {
        matches!(self, Inst::Call { .. } | Inst::ReturnCall { .. })
    }

    fn get_operands(&mut self, v: &mut impl OperandVisitor) {
        match self {
            Inst::AluRRR { rd, rn, rm, .. }
            | Inst::AluRRRShift { rd, rn, rm, .. }
            | Inst::AluRRRExtend { rd, rn, rm, .. }
            | Inst::Extr { rd, rn, rm, .. }
            | Inst::CSel { rd, rn, rm, .. }
            | Inst::FpuRRR { rd, rn, rm, .. }
            | Inst::FpuCSel { rd, rn, rm, .. }
            | Inst::VecRRR { rd, rn, rm, .. }
            | Inst::VecRRRLong { rd, rn, rm, .. }
            | Inst::VecExtract { rd, rn, rm, .. } => {
                v.reg_use(rn);
                v.reg_use(rm);
                v.reg_def(rd);
            }
            Inst::AluRRImm12 { rd, rn, .. }
            | Inst::AluRRImmLogic { rd, rn, .. }
            | Inst::BitRR { rd, rn, .. }
            | Inst::Bitfield { rd, rn, .. }
            | Inst::FpuMove { rd, rn, .. }
            | Inst::FpuRR { rd, rn, .. }
            | Inst::FpuCvt { rd, rn, .. }
            | Inst::MovToFpu { rd, rn, .. }
            | Inst::MovFromFpu { rd, rn, .. }
            | Inst::FpuToInt { rd, rn, .. }
            | Inst::IntToFpu { rd, rn, .. }
            | Inst::VecMisc { rd, rn, .. }
            | Inst::VecNarrowLow { rd, rn, .. }
            | Inst::VecShiftImm { rd, rn, .. }
            | Inst::VecExtend { rd, rn, .. }
            | Inst::VecLanes { rd, rn, .. }
            | Inst::VecDup { rd, rn, .. }
            | Inst::VecDupElem { rd, rn, .. }
            | Inst::FpuMoveFromVec { rd, rn, .. }
            | Inst::MovFromVec { rd, rn, .. }
            | Inst::MovFromVecSigned { rd, rn, .. }
            | Inst::VecMov { rd, rn, .. } => {
                v.reg_use(rn);
                v.reg_def(rd);
            }
            Inst::Mov { rd, rm, .. } => {
                v.reg_use(rm);
                v.reg_def(rd);
            }
            Inst::AluRRRR { rd, rn, rm, ra, .. } | Inst::FpuRRRR { rd, rn, rm, ra, .. } => {
                v.reg_use(rn);
                v.reg_use(rm);
                v.reg_use(ra);
                v.reg_def(rd);
            }
            Inst::MovWide { rd, .. }
            | Inst::Adr { rd, .. }
            | Inst::Adrp { rd, .. }
            | Inst::LoadExtName { rd, .. }
            | Inst::FpuMoveImm { rd, .. }
            | Inst::Mrs { rd, .. }
            | Inst::VecMovImm { rd, .. } => v.reg_def(rd),
            Inst::MovK { rd, ri, .. } => {
                v.reg_use(ri);
                v.reg_reuse_def(rd, 0);
            }
            Inst::BitfieldInsert { rd, ri, rn, .. } => {
                v.reg_use(ri);
                v.reg_use(rn);
                v.reg_reuse_def(rd, 0);
            }
            Inst::CCmp { rn, rm, .. } | Inst::FpuCmp { rn, rm, .. } | Inst::FpuCCmp { rn, rm, .. } => {
                v.reg_use(rn);
                v.reg_use(rm);
            }
            Inst::CCmpImm { rn, .. }
            | Inst::FpuCmpZero { rn, .. }
            | Inst::Br { rn }
            | Inst::Blr { rn }
            | Inst::Msr { rn, .. } => v.reg_use(rn),
            Inst::Load { rd, mem, .. } => {
                mem.get_operands(v);
                v.reg_def(rd);
            }
            Inst::Store { rt, mem, .. } => {
                v.reg_use(rt);
                mem.get_operands(v);
            }
            Inst::LoadPair { rt, rt2, mem, .. } => {
                mem.get_operands(v);
                v.reg_def(rt);
                v.reg_def(rt2);
            }
            Inst::StorePair { rt, rt2, mem, .. } => {
                v.reg_use(rt);
                v.reg_use(rt2);
                mem.get_operands(v);
            }
            Inst::Jump { .. }
            | Inst::Bl { .. }
            | Inst::Ret
            | Inst::RetAuth { .. }
            | Inst::Udf { .. }
            | Inst::Brk { .. }
            | Inst::Dmb { .. }
            | Inst::Isb
            | Inst::Hint { .. } => {}
            Inst::CondBr { kind, .. } | Inst::TrapIf { kind, .. } => kind.get_operands(v),
            Inst::LoadExclusive { rt, rn, .. } | Inst::LoadAcquire { rt, rn, .. } => {
                v.reg_use(rn);
                v.reg_def(rt);
            }
            Inst::StoreExclusive { rs, rt, rn, .. } => {
                // The status must not share a register with the value or the address.
                v.reg_use(rt);
                v.reg_use(rn);
                v.reg_early_def(rs);
            }
            Inst::StoreRelease { rt, rn, .. } => {
                v.reg_use(rt);
                v.reg_use(rn);
            }
            Inst::LoadExclusivePair { rt, rt2, rn, .. } => {
                v.reg_use(rn);
                v.reg_def(rt);
                v.reg_def(rt2);
            }
            Inst::StoreExclusivePair { rs, rt, rt2, rn, .. } => {
                v.reg_use(rt);
                v.reg_use(rt2);
                v.reg_use(rn);
                v.reg_early_def(rs);
            }
            Inst::AtomicRmw { rs, rt, rn, .. } => {
                v.reg_use(rs);
                v.reg_use(rn);
                v.reg_def(rt);
            }
            Inst::Cas { rd, ri, rt, rn, .. } => {
                v.reg_use(ri);
                v.reg_use(rt);
                v.reg_use(rn);
                v.reg_reuse_def(rd, 0);
            }
            Inst::Casp { rd, ri, rt, rn, .. } => {
                v.reg_fixed_use(&mut ri[0], xreg_preg(CASP_REGS[0]));
                v.reg_fixed_use(&mut ri[1], xreg_preg(CASP_REGS[1]));
                v.reg_fixed_use(&mut rt[0], xreg_preg(CASP_REGS[2]));
                v.reg_fixed_use(&mut rt[1], xreg_preg(CASP_REGS[3]));
                v.reg_use(rn);
                v.reg_fixed_def(&mut rd[0], xreg_preg(CASP_REGS[0]));
                v.reg_fixed_def(&mut rd[1], xreg_preg(CASP_REGS[1]));
            }
            Inst::VecRRRMod { rd, ri, rn, rm, .. } | Inst::VecRRRLongMod { rd, ri, rn, rm, .. } => {
                v.reg_use(ri);
                v.reg_use(rn);
                v.reg_use(rm);
                v.reg_reuse_def(rd, 0);
            }
            Inst::VecNarrowHigh { rd, ri, rn, .. }
            | Inst::VecShiftImmMod { rd, ri, rn, .. }
            | Inst::MovToVec { rd, ri, rn, .. }
            | Inst::VecMovElement { rd, ri, rn, .. }
            | Inst::VecLoadLane { rd, ri, rn, .. } => {
                v.reg_use(ri);
                v.reg_use(rn);
                v.reg_reuse_def(rd, 0);
            }
            Inst::VecTbl { op, len, rd, ri, tables, rm, .. } => {
                let tbx = *op == TblOp::Tbx;
                if tbx {
                    v.reg_use(ri);
                }
                if *len == 1 {
                    v.reg_use(&mut tables[0]);
                } else {
                    for (i, t) in tables.iter_mut().take(*len as usize).enumerate() {
                        v.reg_fixed_use(t, vreg_preg(TBL_BASE + i as u8));
                    }
                }
                v.reg_use(rm);
                if tbx {
                    v.reg_reuse_def(rd, 0);
                } else {
                    v.reg_def(rd);
                }
            }
            Inst::VecLoadReplicate { rd, rn, .. } => {
                v.reg_use(rn);
                v.reg_def(rd);
            }
            Inst::VecStoreLane { rt, rn, .. } => {
                v.reg_use(rt);
                v.reg_use(rn);
            }
            Inst::Args { args } => {
                for a in args {
                    v.reg_fixed_def(&mut a.vreg, a.preg);
                }
            }
            Inst::Rets { rets, .. } => {
                for r in rets {
                    v.reg_fixed_use(&mut r.vreg, r.preg);
                }
            }
            Inst::Call { info } => {
                if let CallDest::Indirect(r) = &mut info.dest {
                    v.reg_use(r);
                }
                info.visit_operands(v);
            }
            Inst::ReturnCall { info } => {
                // The indirect callee survives the frame teardown in x9: never an argument
                // register, not callee-saved.
                if let CallDest::Indirect(r) = &mut info.dest {
                    v.reg_fixed_use(r, xreg_preg(TAIL_CALLEE_ENC));
                }
                info.visit_operands(v);
            }
            Inst::ExnPayloads { defs } => {
                for (r, p) in defs.iter_mut() {
                    v.reg_fixed_def(r, *p);
                }
            }
            Inst::LoadAddr { rd, mem } => {
                mem.get_operands(v);
                v.reg_def(rd);
            }
            Inst::LoadExtNameFar { rd, .. } => v.reg_def(rd),
            Inst::JumpTable { idx, tmp1, tmp2, .. } => {
                v.reg_use(idx);
                v.reg_early_def(tmp1);
                v.reg_early_def(tmp2);
            }
            Inst::CondBr2 { .. } => {}
            Inst::AtomicRmwLoop { addr, operand, old, new, status, .. } => {
                v.reg_use(addr);
                v.reg_use(operand);
                v.reg_early_def(old);
                v.reg_early_def(new);
                v.reg_early_def(status);
            }
            Inst::AtomicCasLoop { addr, expected, replacement, old, status, .. } => {
                v.reg_use(addr);
                v.reg_use(expected);
                v.reg_use(replacement);
                v.reg_early_def(old);
                v.reg_early_def(status);
            }
            Inst::Atomic128Loop(a) => {
                v.reg_use(&mut a.addr);
                if !a.load_only {
                    for r in a.expected.iter_mut().chain(a.replacement.iter_mut()) {
                        v.reg_use(r);
                    }
                }
                for r in a.old.iter_mut().chain(a.tmp.iter_mut()) {
                    v.reg_early_def(r);
                }
                v.reg_early_def(&mut a.status);
            }
        }
    }

    fn is_move(&self) -> Option<(Writable<Reg>, Reg)> {
        match *self {
            Inst::Mov { size: OperandSize::Size64, rd, rm } => Some((rd, rm)),
            Inst::VecMov { q: true, rd, rn } => Some((rd, rn)),
            _ => None,
        }
    }

    fn is_term(&self) -> MachTerminator {
        match self {
            Inst::Ret | Inst::RetAuth { .. } | Inst::Udf { .. } | Inst::Rets { .. } | Inst::ReturnCall { .. } => {
                MachTerminator::Ret
            }
            Inst::Jump { .. } | Inst::CondBr { .. } | Inst::CondBr2 { .. } | Inst::JumpTable { .. } => {
                MachTerminator::Branch
            }
            Inst::Call { info } if info.try_call.is_some() => MachTerminator::Branch,
            _ => MachTerminator::None,
        }
    }

    fn gen_move(dst: Writable<Reg>, src: Reg, _ty: Type) -> Inst {
        match src.class() {
            RegClass::Int => Inst::mov64(dst, src),
            // A whole-register move: vector and scalar FP values alike.
            _ => Inst::VecMov { q: true, rd: dst, rn: src },
        }
    }

    fn gen_jump(target: MachLabel) -> Inst {
        Inst::Jump { dest: target }
    }

    fn rc_for_type(ty: Type) -> CodegenResult<(&'static [RegClass], &'static [Type])> {
        // A dynamic vector is a 128-bit NEON register (its scale is 1 on aarch64).
        crate::common::rc_for_type(ty.dynamic_to_vector().unwrap_or(ty), "aarch64")
    }

    fn canonical_type_for_rc(rc: RegClass) -> Type {
        crate::common::canonical_type_for_rc(rc)
    }

    fn pretty_print(&self) -> String {
        crate::aarch64::print::print_inst(self)
    }
}

/// x16 as a written register (emission scratch).
pub(crate) fn writable_tmp1() -> Writable<Reg> {
    Writable::from_reg(xreg(crate::aarch64::regs::TMP1_ENC))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_codegen::machinst::reg::RegLister;

    #[test]
    fn inst_stays_small() {
        assert!(core::mem::size_of::<Inst>() <= 40, "Inst is {} bytes", core::mem::size_of::<Inst>());
    }

    #[test]
    fn tied_operands_come_first() {
        // reg_reuse_def(rd, 0) refers to the first operand visited: it must be `ri`.
        let ri = Reg::virt(7, RegClass::Int);
        let mut i = Inst::MovK {
            size: OperandSize::Size64,
            rd: Writable::from_reg(Reg::virt(8, RegClass::Int)),
            ri,
            imm: MoveWideConst { bits: 1, hw: 1 },
        };
        let mut regs = Vec::new();
        i.get_operands(&mut RegLister { regs: &mut regs });
        assert_eq!(regs[0], ri);
    }

    #[test]
    fn constants_are_loaded_by_the_materialized_sequence() {
        let rd = Writable::from_reg(xreg(3));
        let seq = Inst::load_constant(rd, 0x1234_0000_5678, OperandSize::Size64);
        assert_eq!(seq.len(), 2);
        assert!(matches!(seq[0], Inst::MovWide { op: MoveWideOp::MovZ, .. }));
        assert!(matches!(seq[1], Inst::MovK { .. }));
    }
}

//! x86-64 machine instructions: the forms the lowering produces, their operands for the
//! register allocator, and the `MachInst` glue.
//!
//! Each variant is one instruction form (or a short fixed sequence, a *pseudo-instruction*,
//! where the sequence needs internal branches or temporaries). Two-address forms name both
//! their first source and their destination; the destination is tied to the source with a
//! reuse constraint, so the allocator puts them in the same register. Encoding is in
//! `emit.rs`, AT&T-syntax printing in `print.rs`.
//!
//! Conventions: integer values narrower than 64 bits live in the low bits of a register
//! with the upper bits unspecified; an operation of `OperandSize::S32` zero-extends its
//! result to 64 bits (the hardware does); 8- and 16-bit operations leave the upper bits
//! unchanged.

use kiln_codegen::CodegenResult;
use kiln_codegen::machinst::abi::{ArgPair, RetPair, StackAMode};
use kiln_codegen::machinst::buffer::RelocTarget;
pub use kiln_codegen::machinst::call::{CallDest, CallInfo, TryCallInfo};
use kiln_codegen::machinst::{MachInst, MachLabel, MachTerminator, OperandVisitor, Reg, Writable};
use kiln_ir::trapcode::TrapCode;
use kiln_ir::types::Type;
use regalloc2::{PReg, RegClass};
use smallvec::SmallVec;

/// Operand size of an integer instruction.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum OperandSize {
    /// 8 bits.
    S8,
    /// 16 bits.
    S16,
    /// 32 bits.
    S32,
    /// 64 bits.
    S64,
}

impl OperandSize {
    /// Bytes.
    pub fn bytes(self) -> u8 {
        match self {
            OperandSize::S8 => 1,
            OperandSize::S16 => 2,
            OperandSize::S32 => 4,
            OperandSize::S64 => 8,
        }
    }
    /// The size for a type of `bits` bits (at least 8, at most 64).
    pub fn from_bits(bits: u32) -> OperandSize {
        match bits {
            0..=8 => OperandSize::S8,
            9..=16 => OperandSize::S16,
            17..=32 => OperandSize::S32,
            _ => OperandSize::S64,
        }
    }
    /// The size for a type, at least 32 bits (most ALU ops are done at 32 or 64 bits).
    pub fn from_ty_min32(ty: Type) -> OperandSize {
        if ty.bits() <= 32 { OperandSize::S32 } else { OperandSize::S64 }
    }
}

/// A condition code (the low nibble of `jcc`/`setcc`/`cmovcc` opcodes).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum CC {
    O = 0,
    NO = 1,
    B = 2,
    NB = 3,
    Z = 4,
    NZ = 5,
    BE = 6,
    NBE = 7,
    S = 8,
    NS = 9,
    P = 10,
    NP = 11,
    L = 12,
    NL = 13,
    LE = 14,
    NLE = 15,
}

impl CC {
    /// The opposite condition.
    pub fn invert(self) -> CC {
        CC::from_nibble(self as u8 ^ 1)
    }
    /// From the 4-bit encoding.
    pub fn from_nibble(n: u8) -> CC {
        use CC::*;
        [O, NO, B, NB, Z, NZ, BE, NBE, S, NS, P, NP, L, NL, LE, NLE][(n & 15) as usize]
    }
}

/// An addressing mode.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Amode {
    /// `disp(base)`.
    ImmReg {
        /// Displacement.
        disp: i32,
        /// Base register.
        base: Reg,
    },
    /// `disp(base, index, 1 << shift)`.
    ImmRegRegShift {
        /// Displacement.
        disp: i32,
        /// Base register.
        base: Reg,
        /// Index register (never `rsp`).
        index: Reg,
        /// Scale shift: 0..=3.
        shift: u8,
    },
    /// `label(%rip)`: a constant-pool entry or other code label.
    RipRelative {
        /// The label.
        label: MachLabel,
    },
    /// A stack location, resolved to `disp(%rsp)` once the frame is laid out.
    Stack(StackAMode),
}

impl Amode {
    /// `disp(base)`.
    pub fn imm_reg(disp: i32, base: Reg) -> Amode {
        Amode::ImmReg { disp, base }
    }

    fn get_operands(&mut self, v: &mut impl OperandVisitor) {
        match self {
            Amode::ImmReg { base, .. } => v.reg_use(base),
            Amode::ImmRegRegShift { base, index, .. } => {
                v.reg_use(base);
                v.reg_use(index);
            }
            Amode::RipRelative { .. } | Amode::Stack(_) => {}
        }
    }
}

/// A memory operand: an address and the trap code reported if the access faults (`None`
/// for accesses that cannot fault).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Mem {
    /// The address.
    pub amode: Amode,
    /// The trap code of a faulting access.
    pub trap: Option<TrapCode>,
}

impl Mem {
    /// A memory operand.
    pub fn new(amode: Amode, trap: Option<TrapCode>) -> Mem {
        Mem { amode, trap }
    }
    /// A non-trapping stack location.
    pub fn stack(mode: StackAMode) -> Mem {
        Mem { amode: Amode::Stack(mode), trap: None }
    }
    fn get_operands(&mut self, v: &mut impl OperandVisitor) {
        self.amode.get_operands(v)
    }
}

/// A register or memory operand.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RegMem {
    /// A register.
    Reg(Reg),
    /// Memory.
    Mem(Mem),
}

impl RegMem {
    fn get_operands(&mut self, v: &mut impl OperandVisitor) {
        match self {
            RegMem::Reg(r) => v.reg_use(r),
            RegMem::Mem(m) => m.get_operands(v),
        }
    }
}

/// A register, memory or 32-bit immediate (sign-extended to the operand size) operand.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RegMemImm {
    /// A register.
    Reg(Reg),
    /// Memory.
    Mem(Mem),
    /// A sign-extended immediate.
    Imm(i32),
}

impl RegMemImm {
    fn get_operands(&mut self, v: &mut impl OperandVisitor) {
        match self {
            RegMemImm::Reg(r) => v.reg_use(r),
            RegMemImm::Mem(m) => m.get_operands(v),
            RegMemImm::Imm(_) => {}
        }
    }
}

/// Two-operand integer ALU operations.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum AluOp {
    Add,
    Adc,
    Sub,
    Sbb,
    And,
    Or,
    Xor,
    /// BMI1 `andn` (dst = !src1 & src2): three-operand, VEX-encoded, not two-address.
    Andn,
}

/// Flag-setting comparisons without a destination.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `cmp`: flags of `src1 - src2`.
    Cmp,
    /// `test`: flags of `src1 & src2`.
    Test,
}

/// One-operand bit-counting operations (`dst = op(src)`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum UnaryOp {
    Bsr,
    Bsf,
    /// LZCNT extension.
    Lzcnt,
    /// BMI1.
    Tzcnt,
    /// POPCNT extension.
    Popcnt,
}

/// In-place unary operations.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Unary2Op {
    Not,
    Neg,
}

/// Shifts and rotates.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ShiftKind {
    Shl,
    Shr,
    Sar,
    Rol,
    Ror,
}

/// A shift amount.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ShiftAmount {
    /// An immediate (masked by the hardware to the operand width).
    Imm(u8),
    /// The `cl` register; the `Reg` is constrained to `rcx`.
    Cl(Reg),
}

/// Zero/sign extension modes of `movzx`/`movsx`: source and destination widths.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExtMode {
    /// 8 → 32.
    BL,
    /// 8 → 64.
    BQ,
    /// 16 → 32.
    WL,
    /// 16 → 64.
    WQ,
    /// 32 → 64 (`movsxd`; zero-extension of 32 bits is a plain `mov r32`).
    LQ,
}

impl ExtMode {
    /// The mode extending `from` bits to `to` bits (to ≥ 32).
    pub fn new(from: u32, to: u32) -> Option<ExtMode> {
        match (from, to) {
            (8, 16 | 32) => Some(ExtMode::BL),
            (8, 64) => Some(ExtMode::BQ),
            (16, 32) => Some(ExtMode::WL),
            (16, 64) => Some(ExtMode::WQ),
            (32, 64) => Some(ExtMode::LQ),
            _ => None,
        }
    }
    /// Source bytes.
    pub fn src_bytes(self) -> u8 {
        match self {
            ExtMode::BL | ExtMode::BQ => 1,
            ExtMode::WL | ExtMode::WQ => 2,
            ExtMode::LQ => 4,
        }
    }
    /// Destination bytes.
    pub fn dst_bytes(self) -> u8 {
        match self {
            ExtMode::BL | ExtMode::WL => 4,
            _ => 8,
        }
    }
}

/// SSE/SSE2/SSE4.1 operations on XMM registers, two-address (`dst = dst op src2`) in their
/// legacy encoding, three-address (`dst = src1 op src2`) in their VEX encoding.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum SseOp {
    Addss,
    Addsd,
    Subss,
    Subsd,
    Mulss,
    Mulsd,
    Divss,
    Divsd,
    Minss,
    Minsd,
    Maxss,
    Maxsd,
    Andps,
    Andpd,
    Andnps,
    Andnpd,
    Orps,
    Orpd,
    Xorps,
    Xorpd,
    /// Scalar square root (the destination's upper lanes come from `src1`).
    Sqrtss,
    Sqrtsd,
    /// f32 → f64 (upper lanes from `src1`).
    Cvtss2sd,
    /// f64 → f32.
    Cvtsd2ss,
    /// Compare for equality/unordered etc. with an immediate predicate (`cmpss`).
    Cmpss(u8),
    Cmpsd(u8),
    /// Scalar move merging the low lane (`movss xmm, xmm`).
    Movss,
    Movsd,
    /// Integer unpack/pack used by conversions.
    Punpckldq,
    Unpcklps,
    Subpd,
    /// Shuffle within 32-bit lanes with an immediate.
    Pshufd(u8),
}

/// Fused multiply-add forms (VEX, FMA extension): `dst = src1 * src2 + src3` and variants,
/// 213 form: operands are (dst/src1, src2, src3).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum FmaOp {
    Vfmadd213ss,
    Vfmadd213sd,
}

/// Rounding of scalar floats (SSE4.1), with the immediate rounding mode.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum RoundOp {
    /// `roundss`.
    Roundss,
    /// `roundsd`.
    Roundsd,
}

/// XMM loads and stores.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum XmmMovOp {
    /// 32-bit scalar (`movss`).
    Movss,
    /// 64-bit scalar (`movsd`).
    Movsd,
    /// 128-bit unaligned (`movdqu`).
    Movdqu,
}

/// Moves and conversions from a general-purpose register (or memory) to an XMM register.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum GprToXmmOp {
    /// `movd` (32 bits) / `movq` (64 bits): raw bits.
    Mov,
    /// Signed integer → f32 (`cvtsi2ss`).
    Cvtsi2ss,
    /// Signed integer → f64 (`cvtsi2sd`).
    Cvtsi2sd,
}

/// Moves and conversions from an XMM register to a general-purpose register.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum XmmToGprOp {
    /// `movd`/`movq`: raw bits.
    Mov,
    /// f32 → signed integer, truncating (`cvttss2si`).
    Cvttss2si,
    /// f64 → signed integer, truncating (`cvttsd2si`).
    Cvttsd2si,
}

/// Atomic read-modify-write operations done with a `lock cmpxchg` loop.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum AtomicLoopOp {
    And,
    Nand,
    Or,
    Xor,
    Umin,
    Umax,
    Smin,
    Smax,
    Add,
    Sub,
}

/// An x86-64 instruction.
#[derive(Clone, Debug)]
pub enum Inst {
    /// No-op of `len` bytes (1..=9).
    Nop {
        /// Length.
        len: u8,
    },
    /// `dst = src1 op src2` (two-address; `dst` tied to `src1`; `Andn` is three-address).
    AluRmiR {
        /// Size.
        size: OperandSize,
        /// Operation.
        op: AluOp,
        /// First source.
        src1: Reg,
        /// Second source.
        src2: RegMemImm,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// `mem = mem op src` (read-modify-write).
    AluRM {
        /// Size.
        size: OperandSize,
        /// Operation (not `Andn`).
        op: AluOp,
        /// Source register.
        src: Reg,
        /// Memory operand, read and written.
        mem: Mem,
    },
    /// Flags from `src1 - src2` (`cmp`) or `src1 & src2` (`test`).
    CmpRmiR {
        /// Size.
        size: OperandSize,
        /// Compare or test.
        op: CmpOp,
        /// First operand.
        src1: Reg,
        /// Second operand.
        src2: RegMemImm,
    },
    /// `dst = op(src)` (bsr, bsf, lzcnt, tzcnt, popcnt).
    UnaryRmR {
        /// Size (16, 32 or 64).
        size: OperandSize,
        /// Operation.
        op: UnaryOp,
        /// Source.
        src: RegMem,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// `dst = op(src)` in place (`not`, `neg`).
    Unary2 {
        /// Size.
        size: OperandSize,
        /// Operation.
        op: Unary2Op,
        /// Source (tied to `dst`).
        src: Reg,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// Shift or rotate, in place.
    ShiftR {
        /// Size.
        size: OperandSize,
        /// Kind.
        kind: ShiftKind,
        /// Source (tied to `dst`).
        src: Reg,
        /// Amount.
        amount: ShiftAmount,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// `dst = src1 * src2` (two-address `imul`).
    IMul {
        /// Size (16, 32 or 64).
        size: OperandSize,
        /// First source (tied to `dst`).
        src1: Reg,
        /// Second source.
        src2: RegMem,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// `dst = src * imm` (three-operand `imul`).
    IMulImm {
        /// Size (16, 32 or 64).
        size: OperandSize,
        /// Source.
        src: RegMem,
        /// Immediate.
        imm: i32,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// Widening multiply: `rdx:rax = rax * src2` (`mul`/`imul` one-operand form).
    MulHi {
        /// Size (16, 32 or 64).
        size: OperandSize,
        /// Signed (`imul`) or unsigned (`mul`).
        signed: bool,
        /// Multiplicand, in rax.
        src1: Reg,
        /// Multiplier.
        src2: RegMem,
        /// Low half, in rax.
        dst_lo: Writable<Reg>,
        /// High half, in rdx.
        dst_hi: Writable<Reg>,
    },
    /// Division: `rax = rdx:rax / divisor`, `rdx = rdx:rax % divisor` (`div`/`idiv`).
    /// The hardware fault (divisor zero or quotient overflow) is recorded with `trap`.
    Div {
        /// Size (32 or 64).
        size: OperandSize,
        /// Signed (`idiv`) or unsigned (`div`).
        signed: bool,
        /// Low half of the dividend, in rax.
        dividend_lo: Reg,
        /// High half of the dividend, in rdx.
        dividend_hi: Reg,
        /// Divisor.
        divisor: Reg,
        /// Quotient, in rax.
        dst_quotient: Writable<Reg>,
        /// Remainder, in rdx.
        dst_remainder: Writable<Reg>,
        /// Trap code of the fault.
        trap: TrapCode,
    },
    /// Sign-extend rax into rdx (`cdq`/`cqo`).
    SignExtendData {
        /// Size (32 or 64).
        size: OperandSize,
        /// Source, in rax.
        src: Reg,
        /// High half, in rdx.
        dst: Writable<Reg>,
    },
    /// Register move (`mov`, 32 or 64 bits).
    MovRR {
        /// Size (32 zero-extends).
        size: OperandSize,
        /// Source.
        src: Reg,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// Load an immediate.
    Imm {
        /// Size (32 or 64).
        size: OperandSize,
        /// The immediate (for S32, the low 32 bits).
        imm: u64,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// `xor dst, dst` (32-bit): zero a register; clobbers the flags.
    ZeroReg {
        /// Destination.
        dst: Writable<Reg>,
    },
    /// Zero-extending move/load (`movzx`, or `mov r32` for 32 → 64).
    MovzxRmR {
        /// Widths.
        ext: ExtMode,
        /// Source.
        src: RegMem,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// Sign-extending move/load (`movsx`, `movsxd`).
    MovsxRmR {
        /// Widths.
        ext: ExtMode,
        /// Source.
        src: RegMem,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// Load 32 or 64 bits (`mov r, m`).
    Load {
        /// Size (32 zero-extends, or 64).
        size: OperandSize,
        /// Source.
        mem: Mem,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// Store the low `size` bytes of `src`.
    Store {
        /// Size.
        size: OperandSize,
        /// Source.
        src: Reg,
        /// Destination.
        mem: Mem,
    },
    /// Store a sign-extended 32-bit immediate of `size` bytes.
    StoreImm {
        /// Size.
        size: OperandSize,
        /// Immediate.
        imm: i32,
        /// Destination.
        mem: Mem,
    },
    /// Load an effective address.
    Lea {
        /// Size (32 or 64).
        size: OperandSize,
        /// Address.
        mem: Amode,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// `dst.8 = cc ? 1 : 0`.
    Setcc {
        /// Condition.
        cc: CC,
        /// Destination (8-bit write).
        dst: Writable<Reg>,
    },
    /// `dst = cc ? consequent : alternative` (`cmov`; `dst` tied to `alternative`).
    Cmove {
        /// Size (16, 32 or 64).
        size: OperandSize,
        /// Condition.
        cc: CC,
        /// Chosen when `cc` holds.
        consequent: RegMem,
        /// Chosen otherwise.
        alternative: Reg,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// `dst = cc ? consequent : alternative` for XMM registers: `j!cc 1f; movaps
    /// consequent, dst; 1:` with `dst` tied to `alternative`.
    XmmCmove {
        /// Condition.
        cc: CC,
        /// Chosen when `cc` holds.
        consequent: Reg,
        /// Chosen otherwise.
        alternative: Reg,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// Byte swap in place (32 or 64 bits).
    Bswap {
        /// Size.
        size: OperandSize,
        /// Source (tied).
        src: Reg,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// Read a non-allocatable register (rsp, rbp) or the pinned register.
    MovFromPReg {
        /// The physical register.
        src: PReg,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// Write the pinned register.
    MovToPReg {
        /// Source.
        src: Reg,
        /// The physical register.
        dst: PReg,
    },
    /// Load the return address of the current frame (`mov 8(%rbp), dst`).
    LoadReturnAddress {
        /// Destination.
        dst: Writable<Reg>,
    },
    /// Materialize a symbol's address (`lea sym(%rip)` if colocated, else `movabs`).
    LoadExtName {
        /// Destination.
        dst: Writable<Reg>,
        /// Symbol.
        name: RelocTarget,
        /// Offset added to the symbol.
        offset: i64,
        /// Within PC-relative range.
        colocated: bool,
    },
    /// Load the address of a code label (`lea label(%rip), dst`).
    LoadLabelAddr {
        /// Destination.
        dst: Writable<Reg>,
        /// Label.
        label: MachLabel,
    },

    // --- XMM ---------------------------------------------------------------------------
    /// `dst = src1 op src2` (legacy SSE: `dst` tied to `src1`; with `vex`, three-address
    /// AVX form).
    XmmRmR {
        /// Operation.
        op: SseOp,
        /// First source.
        src1: Reg,
        /// Second source.
        src2: RegMem,
        /// Destination.
        dst: Writable<Reg>,
        /// Use the VEX (AVX) encoding.
        vex: bool,
    },
    /// Fused multiply-add (`dst = src1 * src2 + src3`; `dst` tied to `src1`).
    XmmFma {
        /// Operation.
        op: FmaOp,
        /// Multiplicand (tied to `dst`).
        src1: Reg,
        /// Multiplier.
        src2: Reg,
        /// Addend.
        src3: RegMem,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// `dst = round(src, imm)` (SSE4.1 `roundss`/`roundsd`; the destination's upper lanes
    /// are zeroed first to break the dependency).
    XmmRound {
        /// Operation.
        op: RoundOp,
        /// Rounding immediate (0 nearest, 1 down, 2 up, 3 toward zero; +8 to mask
        /// precision exceptions).
        imm: u8,
        /// Source.
        src: RegMem,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// Load an XMM register.
    XmmLoad {
        /// Width.
        op: XmmMovOp,
        /// Source.
        mem: Mem,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// Store an XMM register.
    XmmStore {
        /// Width.
        op: XmmMovOp,
        /// Source.
        src: Reg,
        /// Destination.
        mem: Mem,
    },
    /// Register move (`movaps`).
    XmmMovRR {
        /// Source.
        src: Reg,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// From a general-purpose register or memory to XMM.
    GprToXmm {
        /// Operation.
        op: GprToXmmOp,
        /// Source size (32 or 64).
        size: OperandSize,
        /// Source.
        src: RegMem,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// From XMM to a general-purpose register.
    XmmToGpr {
        /// Operation.
        op: XmmToGprOp,
        /// Destination size (32 or 64).
        size: OperandSize,
        /// Source.
        src: Reg,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// Unordered compare setting ZF/PF/CF (`ucomiss`/`ucomisd`).
    XmmCmp {
        /// f64 (`ucomisd`) or f32 (`ucomiss`).
        double: bool,
        /// First operand.
        src1: Reg,
        /// Second operand.
        src2: RegMem,
    },
    /// Zero an XMM register (`xorps dst, dst`).
    XmmZero {
        /// Destination.
        dst: Writable<Reg>,
    },
    /// `fmin`/`fmax` with CLIF semantics (NaN propagation, -0 < +0): a short sequence of
    /// compares and branches. `dst` tied to `lhs`.
    XmmMinMaxSeq {
        /// f64 or f32.
        double: bool,
        /// Minimum or maximum.
        is_min: bool,
        /// First operand.
        lhs: Reg,
        /// Second operand.
        rhs: Reg,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// Unsigned 64-bit integer → float: `test`, then direct `cvtsi2s*` or halve-convert-
    /// double sequence. `src` is read late; `tmp1`, `tmp2` are scratch GPRs.
    CvtUint64ToFloatSeq {
        /// f64 or f32 result.
        double: bool,
        /// Source.
        src: Reg,
        /// Destination.
        dst: Writable<Reg>,
        /// Scratch.
        tmp1: Writable<Reg>,
        /// Scratch.
        tmp2: Writable<Reg>,
    },
    /// Float → integer with CLIF semantics: trapping (`bad_toint` for NaN, `int_ovf` out of
    /// range) or saturating. `dst_size` 32 or 64; `signed`.
    CvtFloatToIntSeq {
        /// Source is f64 (else f32).
        src_double: bool,
        /// Destination size.
        dst_size: OperandSize,
        /// Signed conversion.
        signed: bool,
        /// Saturating (else trapping).
        saturating: bool,
        /// Source.
        src: Reg,
        /// Destination.
        dst: Writable<Reg>,
        /// GPR scratch.
        tmp_gpr: Writable<Reg>,
        /// XMM scratch.
        tmp_xmm: Writable<Reg>,
        /// Second XMM scratch.
        tmp_xmm2: Writable<Reg>,
    },

    // --- Control flow --------------------------------------------------------------------
    /// Receive the function's register arguments (no code).
    Args {
        /// (vreg, preg) pairs.
        args: Vec<ArgPair>,
    },
    /// Return: epilogue and `ret`, using the return registers.
    Rets {
        /// (vreg, preg) pairs.
        rets: Vec<RetPair>,
        /// Bytes of stack arguments to pop.
        stack_bytes_to_pop: u32,
    },
    /// Unconditional jump.
    JmpKnown {
        /// Target.
        dst: MachLabel,
    },
    /// Two-way conditional branch: `j<cc> taken; jmp not_taken`, either jump removed when
    /// its target is the next block.
    JmpCond {
        /// Condition.
        cc: CC,
        /// Target when `cc` holds.
        taken: MachLabel,
        /// Target otherwise.
        not_taken: MachLabel,
    },
    /// Two-way branch taken if `cc1` or `cc2` holds (float equality with parity).
    JmpCondOr {
        /// First condition.
        cc1: CC,
        /// Second condition.
        cc2: CC,
        /// Target when either holds.
        taken: MachLabel,
        /// Target otherwise.
        not_taken: MachLabel,
    },
    /// Jump-table dispatch: `cmpl $len, idx; jae default; movl idx, tmp2; lea table(%rip),
    /// tmp1; movslq (tmp1,tmp2,4), tmp2; add tmp1, tmp2; jmp *tmp2; table: .long
    /// target_i - table …` (entry `i` is a label use with addend `4i`, so it is patched
    /// relative to the table start). `idx` is a 32-bit index, zero-extended.
    JmpTableSeq {
        /// Index.
        idx: Reg,
        /// Scratch.
        tmp1: Writable<Reg>,
        /// Scratch.
        tmp2: Writable<Reg>,
        /// Default target.
        default: MachLabel,
        /// Targets.
        targets: Box<[MachLabel]>,
    },
    /// Trap with `code` if `cc` holds (a `j<cc>` to an out-of-line `ud2`).
    TrapIf {
        /// Condition.
        cc: CC,
        /// Trap code.
        code: TrapCode,
    },
    /// Trap if `cc1` or `cc2` holds.
    TrapIfOr {
        /// First condition.
        cc1: CC,
        /// Second condition.
        cc2: CC,
        /// Trap code.
        code: TrapCode,
    },
    /// Trap if `cc1` and `cc2` both hold.
    TrapIfAnd {
        /// First condition.
        cc1: CC,
        /// Second condition.
        cc2: CC,
        /// Trap code.
        code: TrapCode,
    },
    /// Unconditional trap (`ud2`).
    Ud2 {
        /// Trap code.
        code: TrapCode,
    },
    /// Breakpoint (`int3`).
    Int3,
    /// A call.
    Call {
        /// Operands and metadata.
        info: Box<CallInfo>,
    },
    /// The landing pad of a `try_call` handler edge: the exception payloads arrive in fixed
    /// registers (rax, rdx). No code.
    ExnPayloads {
        /// (vreg, preg) pairs.
        defs: SmallVec<[(Writable<Reg>, PReg); 2]>,
    },
    /// A tail call (`tail` convention): restore the frame, move stack arguments into the
    /// incoming area, jump.
    ReturnCall {
        /// Operands and metadata.
        info: Box<CallInfo>,
    },

    // --- Atomics -------------------------------------------------------------------------
    /// `lock cmpxchg`: if `mem == rax (expected)` then `mem = replacement`; `rax` receives
    /// the old value.
    LockCmpxchg {
        /// Size.
        size: OperandSize,
        /// New value.
        replacement: Reg,
        /// Expected value, in rax.
        expected: Reg,
        /// Memory.
        mem: Mem,
        /// Old value, in rax.
        dst_old: Writable<Reg>,
    },
    /// `lock cmpxchg16b`: rdx:rax expected, rcx:rbx replacement, rdx:rax old.
    LockCmpxchg16b {
        /// Replacement low (rbx).
        replacement_lo: Reg,
        /// Replacement high (rcx).
        replacement_hi: Reg,
        /// Expected low (rax).
        expected_lo: Reg,
        /// Expected high (rdx).
        expected_hi: Reg,
        /// Memory.
        mem: Mem,
        /// Old low (rax).
        dst_old_lo: Writable<Reg>,
        /// Old high (rdx).
        dst_old_hi: Writable<Reg>,
    },
    /// `lock xadd`: `mem += operand`, `dst_old` = old value (`dst_old` tied to `operand`).
    LockXadd {
        /// Size.
        size: OperandSize,
        /// Addend.
        operand: Reg,
        /// Memory.
        mem: Mem,
        /// Old value.
        dst_old: Writable<Reg>,
    },
    /// `xchg`: `mem = operand`, `dst_old` = old value (`dst_old` tied to `operand`).
    Xchg {
        /// Size.
        size: OperandSize,
        /// New value.
        operand: Reg,
        /// Memory.
        mem: Mem,
        /// Old value.
        dst_old: Writable<Reg>,
    },
    /// Read-modify-write loop: `1: mov mem, rax; tmp = op(rax, operand); lock cmpxchg tmp,
    /// mem; jnz 1b` (the first load is folded into the loop). `dst_old` in rax.
    AtomicRmwSeq {
        /// Size.
        size: OperandSize,
        /// Operation.
        op: AtomicLoopOp,
        /// Memory (its registers are read late).
        mem: Mem,
        /// Operand.
        operand: Reg,
        /// Scratch.
        temp: Writable<Reg>,
        /// Old value, in rax.
        dst_old: Writable<Reg>,
    },
    /// `mfence`.
    Fence,
}

fn fixed(enc: u8) -> PReg {
    crate::x64::regs::gpr_preg(enc)
}

impl MachInst for Inst {
    fn get_operands(&mut self, v: &mut impl OperandVisitor) {
        use crate::x64::regs::enc::*;
        match self {
            Inst::Nop { .. } | Inst::Int3 | Inst::Fence | Inst::Ud2 { .. } => {}
            Inst::AluRmiR { op: AluOp::Andn, src1, src2, dst, .. } => {
                v.reg_use(src1);
                src2.get_operands(v);
                v.reg_def(dst);
            }
            Inst::AluRmiR { src1, src2, dst, .. } => {
                v.reg_use(src1);
                src2.get_operands(v);
                v.reg_reuse_def(dst, 0);
            }
            Inst::AluRM { src, mem, .. } => {
                v.reg_use(src);
                mem.get_operands(v);
            }
            Inst::CmpRmiR { src1, src2, .. } => {
                v.reg_use(src1);
                src2.get_operands(v);
            }
            Inst::UnaryRmR { src, dst, .. } => {
                src.get_operands(v);
                v.reg_def(dst);
            }
            Inst::Unary2 { src, dst, .. } | Inst::Bswap { src, dst, .. } => {
                v.reg_use(src);
                v.reg_reuse_def(dst, 0);
            }
            Inst::ShiftR { src, amount, dst, .. } => {
                v.reg_use(src);
                if let ShiftAmount::Cl(r) = amount {
                    v.reg_fixed_use(r, fixed(RCX));
                }
                v.reg_reuse_def(dst, 0);
            }
            Inst::IMul { src1, src2, dst, .. } => {
                v.reg_use(src1);
                src2.get_operands(v);
                v.reg_reuse_def(dst, 0);
            }
            Inst::IMulImm { src, dst, .. } => {
                src.get_operands(v);
                v.reg_def(dst);
            }
            Inst::MulHi { src1, src2, dst_lo, dst_hi, .. } => {
                v.reg_fixed_use(src1, fixed(RAX));
                src2.get_operands(v);
                v.reg_fixed_def(dst_lo, fixed(RAX));
                v.reg_fixed_def(dst_hi, fixed(RDX));
            }
            Inst::Div { dividend_lo, dividend_hi, divisor, dst_quotient, dst_remainder, .. } => {
                v.reg_fixed_use(dividend_lo, fixed(RAX));
                v.reg_fixed_use(dividend_hi, fixed(RDX));
                v.reg_use(divisor);
                v.reg_fixed_def(dst_quotient, fixed(RAX));
                v.reg_fixed_def(dst_remainder, fixed(RDX));
            }
            Inst::SignExtendData { src, dst, .. } => {
                v.reg_fixed_use(src, fixed(RAX));
                v.reg_fixed_def(dst, fixed(RDX));
            }
            Inst::MovRR { src, dst, .. } => {
                v.reg_use(src);
                v.reg_def(dst);
            }
            Inst::Imm { dst, .. } | Inst::ZeroReg { dst } => v.reg_def(dst),
            Inst::MovzxRmR { src, dst, .. } | Inst::MovsxRmR { src, dst, .. } => {
                src.get_operands(v);
                v.reg_def(dst);
            }
            Inst::Load { mem, dst, .. } => {
                mem.get_operands(v);
                v.reg_def(dst);
            }
            Inst::Store { src, mem, .. } => {
                v.reg_use(src);
                mem.get_operands(v);
            }
            Inst::StoreImm { mem, .. } => mem.get_operands(v),
            Inst::Lea { mem, dst, .. } => {
                mem.get_operands(v);
                v.reg_def(dst);
            }
            Inst::Setcc { dst, .. } => v.reg_def(dst),
            Inst::Cmove { consequent, alternative, dst, .. } => {
                v.reg_use(alternative);
                consequent.get_operands(v);
                v.reg_reuse_def(dst, 0);
            }
            Inst::XmmCmove { consequent, alternative, dst, .. } => {
                v.reg_use(alternative);
                v.reg_use(consequent);
                v.reg_reuse_def(dst, 0);
            }
            Inst::MovFromPReg { dst, .. } => v.reg_def(dst),
            Inst::MovToPReg { src, .. } => v.reg_use(src),
            Inst::LoadReturnAddress { dst } | Inst::LoadExtName { dst, .. } | Inst::LoadLabelAddr { dst, .. } => {
                v.reg_def(dst)
            }
            Inst::XmmRmR { src1, src2, dst, vex, .. } => {
                v.reg_use(src1);
                src2.get_operands(v);
                if *vex {
                    v.reg_def(dst);
                } else {
                    v.reg_reuse_def(dst, 0);
                }
            }
            Inst::XmmFma { src1, src2, src3, dst, .. } => {
                v.reg_use(src1);
                v.reg_use(src2);
                src3.get_operands(v);
                v.reg_reuse_def(dst, 0);
            }
            Inst::XmmRound { src, dst, .. } => {
                src.get_operands(v);
                v.reg_def(dst);
            }
            Inst::XmmLoad { mem, dst, .. } => {
                mem.get_operands(v);
                v.reg_def(dst);
            }
            Inst::XmmStore { src, mem, .. } => {
                v.reg_use(src);
                mem.get_operands(v);
            }
            Inst::XmmMovRR { src, dst } => {
                v.reg_use(src);
                v.reg_def(dst);
            }
            Inst::GprToXmm { src, dst, .. } => {
                src.get_operands(v);
                v.reg_def(dst);
            }
            Inst::XmmToGpr { src, dst, .. } => {
                v.reg_use(src);
                v.reg_def(dst);
            }
            Inst::XmmCmp { src1, src2, .. } => {
                v.reg_use(src1);
                src2.get_operands(v);
            }
            Inst::XmmZero { dst } => v.reg_def(dst),
            Inst::XmmMinMaxSeq { lhs, rhs, dst, .. } => {
                v.reg_use(lhs);
                v.reg_use(rhs);
                v.reg_reuse_def(dst, 0);
            }
            Inst::CvtUint64ToFloatSeq { src, dst, tmp1, tmp2, .. } => {
                v.reg_late_use(src);
                v.reg_early_def(dst);
                v.reg_early_def(tmp1);
                v.reg_early_def(tmp2);
            }
            Inst::CvtFloatToIntSeq { src, dst, tmp_gpr, tmp_xmm, tmp_xmm2, .. } => {
                v.reg_late_use(src);
                v.reg_early_def(dst);
                v.reg_early_def(tmp_gpr);
                v.reg_early_def(tmp_xmm);
                v.reg_early_def(tmp_xmm2);
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
            Inst::JmpKnown { .. }
            | Inst::JmpCond { .. }
            | Inst::JmpCondOr { .. }
            | Inst::TrapIf { .. }
            | Inst::TrapIfOr { .. }
            | Inst::TrapIfAnd { .. } => {}
            Inst::JmpTableSeq { idx, tmp1, tmp2, .. } => {
                // tmp2 starts as the zero-extended index, in the index's own register.
                v.reg_use(idx);
                v.reg_early_def(tmp1);
                v.reg_reuse_def(tmp2, 0);
            }
            Inst::ReturnCall { info } => {
                // The indirect callee must survive the frame teardown: it lives in r10,
                // which is never an argument and not callee-saved.
                if let CallDest::Indirect(r) = &mut info.dest {
                    v.reg_fixed_use(r, fixed(R10));
                }
                info.visit_operands(v);
            }
            Inst::Call { info } => {
                if let CallDest::Indirect(r) = &mut info.dest {
                    v.reg_use(r);
                }
                info.visit_operands(v);
            }
            Inst::ExnPayloads { defs } => {
                for (r, p) in defs.iter_mut() {
                    v.reg_fixed_def(r, *p);
                }
            }
            Inst::LockCmpxchg { replacement, expected, mem, dst_old, .. } => {
                v.reg_use(replacement);
                v.reg_fixed_use(expected, fixed(RAX));
                mem.get_operands(v);
                v.reg_fixed_def(dst_old, fixed(RAX));
            }
            Inst::LockCmpxchg16b {
                replacement_lo,
                replacement_hi,
                expected_lo,
                expected_hi,
                mem,
                dst_old_lo,
                dst_old_hi,
            } => {
                v.reg_fixed_use(replacement_lo, fixed(RBX));
                v.reg_fixed_use(replacement_hi, fixed(RCX));
                v.reg_fixed_use(expected_lo, fixed(RAX));
                v.reg_fixed_use(expected_hi, fixed(RDX));
                mem.get_operands(v);
                v.reg_fixed_def(dst_old_lo, fixed(RAX));
                v.reg_fixed_def(dst_old_hi, fixed(RDX));
            }
            Inst::LockXadd { operand, mem, dst_old, .. } | Inst::Xchg { operand, mem, dst_old, .. } => {
                v.reg_use(operand);
                mem.get_operands(v);
                v.reg_reuse_def(dst_old, 0);
            }
            Inst::AtomicRmwSeq { mem, operand, temp, dst_old, .. } => {
                // The loop reads the address and operand after writing temp/rax.
                match &mut mem.amode {
                    Amode::ImmReg { base, .. } => v.reg_late_use(base),
                    Amode::ImmRegRegShift { base, index, .. } => {
                        v.reg_late_use(base);
                        v.reg_late_use(index);
                    }
                    _ => {}
                }
                v.reg_late_use(operand);
                v.reg_early_def(temp);
                v.add_operand(
                    dst_old.reg_mut(),
                    regalloc2::OperandConstraint::FixedReg(fixed(RAX)),
                    regalloc2::OperandKind::Def,
                    regalloc2::OperandPos::Early,
                );
            }
        }
    }

    fn is_move(&self) -> Option<(Writable<Reg>, Reg)> {
        match *self {
            Inst::MovRR { size: OperandSize::S64, src, dst } => Some((dst, src)),
            Inst::XmmMovRR { src, dst } => Some((dst, src)),
            _ => None,
        }
    }

    fn is_call(&self) -> bool {
        matches!(self, Inst::Call { .. } | Inst::ReturnCall { .. })
    }

    fn is_term(&self) -> MachTerminator {
        match self {
            Inst::Rets { .. } | Inst::ReturnCall { .. } | Inst::Ud2 { .. } => MachTerminator::Ret,
            Inst::JmpKnown { .. } | Inst::JmpCond { .. } | Inst::JmpCondOr { .. } | Inst::JmpTableSeq { .. } => {
                MachTerminator::Branch
            }
            Inst::Call { info } if info.try_call.is_some() => MachTerminator::Branch,
            _ => MachTerminator::None,
        }
    }

    fn gen_move(dst: Writable<Reg>, src: Reg, ty: Type) -> Inst {
        match src.class() {
            RegClass::Int => Inst::MovRR { size: OperandSize::S64, src, dst },
            _ => {
                let _ = ty;
                Inst::XmmMovRR { src, dst }
            }
        }
    }

    fn gen_jump(target: MachLabel) -> Inst {
        Inst::JmpKnown { dst: target }
    }

    fn rc_for_type(ty: Type) -> CodegenResult<(&'static [RegClass], &'static [Type])> {
        crate::common::rc_for_type(ty, "x86_64")
    }

    fn canonical_type_for_rc(rc: RegClass) -> Type {
        crate::common::canonical_type_for_rc(rc)
    }

    fn pretty_print(&self) -> String {
        crate::x64::print::print_inst(self)
    }
}

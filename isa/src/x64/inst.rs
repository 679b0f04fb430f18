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

/// The mandatory prefix of an SSE/AVX opcode (the `pp` field of a VEX/EVEX prefix).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SimdPrefix {
    /// No prefix.
    None = 0,
    /// `66`.
    P66 = 1,
    /// `F3`.
    F3 = 2,
    /// `F2`.
    F2 = 3,
}

/// The opcode map of an SSE/AVX opcode (the `mmmmm` field of a VEX/EVEX prefix).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum OpcodeMap {
    /// `0F`.
    M0F = 1,
    /// `0F 38`.
    M0F38 = 2,
    /// `0F 3A`.
    M0F3A = 3,
}

/// The extension an SSE/AVX operation needs. Up to SSE4.2 the operation has a legacy
/// encoding (and a VEX one when AVX is available); `Avx`/`Avx2` operations exist only in
/// their VEX form.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)]
pub enum SseExt {
    Sse,
    Sse2,
    Sse3,
    Ssse3,
    Sse41,
    Sse42,
    Avx,
    Avx2,
}

/// The operand shape of an SSE/AVX operation, i.e. the instruction form that carries it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SseKind {
    /// `dst = src1 op src2` ([`Inst::XmmRmR`]; legacy: `dst` is `src1`; VEX: `src1` in
    /// `vvvv`).
    Binary,
    /// As `Binary`, with a register `src2` only (the memory forms of the opcode are other
    /// instructions: `movlhps`/`movhps`, `movhlps`/`movlps`).
    BinaryReg,
    /// `dst = src1 op src2, imm` ([`Inst::XmmRmRImm`]).
    BinaryImm,
    /// `dst = op src` ([`Inst::XmmUnaryRmR`]; no `vvvv` operand).
    Unary,
    /// `dst = op src, imm` ([`Inst::XmmUnaryRmRImm`]).
    UnaryImm,
    /// Flags from `src1` and `src2` ([`Inst::XmmTest`]).
    Test,
}

/// The encoding of an SSE/AVX operation: mandatory prefix, opcode map, opcode, and the W
/// bit of its VEX/EVEX form.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct SimdEncoding {
    /// Mandatory prefix.
    pub prefix: SimdPrefix,
    /// Opcode map.
    pub map: OpcodeMap,
    /// Opcode byte.
    pub opcode: u8,
    /// VEX/EVEX W bit.
    pub w: bool,
}

/// `sse_ops! { Name "mnemonic" prefix map opcode w kind ext; … }`: the operation enum and its
/// tables (the single place an SSE/AVX operation is described).
macro_rules! sse_ops {
    ($($(#[doc = $doc:literal])* $name:ident $mnem:literal $pfx:ident $map:ident $opc:literal $w:literal $kind:ident $ext:ident;)*) => {
        /// SSE/AVX operations on XMM registers. Each is described once: mnemonic (without the
        /// `v` of its VEX form), encoding, operand shape ([`SseKind`]) and the extension its
        /// legacy form needs ([`SseExt`]). The instruction form carrying an operation must
        /// match its shape.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        pub enum SseOp { $($(#[doc = $doc])* #[allow(missing_docs)] $name,)* }

        impl SseOp {
            /// Every operation.
            pub const ALL: &'static [SseOp] = &[$(SseOp::$name),*];
            /// The mnemonic (legacy form).
            pub fn mnemonic(self) -> &'static str {
                match self { $(SseOp::$name => $mnem),* }
            }
            /// The encoding.
            pub fn encoding(self) -> SimdEncoding {
                match self {
                    $(SseOp::$name => SimdEncoding {
                        prefix: SimdPrefix::$pfx, map: OpcodeMap::$map, opcode: $opc, w: $w != 0,
                    }),*
                }
            }
            /// The operand shape.
            pub fn kind(self) -> SseKind {
                match self { $(SseOp::$name => SseKind::$kind),* }
            }
            /// The extension the legacy form needs (`Avx`/`Avx2`: VEX only).
            pub fn ext(self) -> SseExt {
                match self { $(SseOp::$name => SseExt::$ext),* }
            }
        }
    };
}

sse_ops! {
    // Scalar floats (the upper lanes of the destination come from `src1`).
    Addss "addss" F3 M0F 0x58 0 Binary Sse;
    Addsd "addsd" F2 M0F 0x58 0 Binary Sse2;
    Subss "subss" F3 M0F 0x5c 0 Binary Sse;
    Subsd "subsd" F2 M0F 0x5c 0 Binary Sse2;
    Mulss "mulss" F3 M0F 0x59 0 Binary Sse;
    Mulsd "mulsd" F2 M0F 0x59 0 Binary Sse2;
    Divss "divss" F3 M0F 0x5e 0 Binary Sse;
    Divsd "divsd" F2 M0F 0x5e 0 Binary Sse2;
    Minss "minss" F3 M0F 0x5d 0 Binary Sse;
    Minsd "minsd" F2 M0F 0x5d 0 Binary Sse2;
    Maxss "maxss" F3 M0F 0x5f 0 Binary Sse;
    Maxsd "maxsd" F2 M0F 0x5f 0 Binary Sse2;
    Sqrtss "sqrtss" F3 M0F 0x51 0 Binary Sse;
    Sqrtsd "sqrtsd" F2 M0F 0x51 0 Binary Sse2;
    Cvtss2sd "cvtss2sd" F3 M0F 0x5a 0 Binary Sse2;
    Cvtsd2ss "cvtsd2ss" F2 M0F 0x5a 0 Binary Sse2;
    /// Compare with the predicate in the immediate.
    Cmpss "cmpss" F3 M0F 0xc2 0 BinaryImm Sse;
    Cmpsd "cmpsd" F2 M0F 0xc2 0 BinaryImm Sse2;
    /// Merge the low lane of `src2` into `src1` (register form), or load (memory form).
    Movss "movss" F3 M0F 0x10 0 Binary Sse;
    Movsd "movsd" F2 M0F 0x10 0 Binary Sse2;
    // Packed floats.
    Addps "addps" None M0F 0x58 0 Binary Sse;
    Addpd "addpd" P66 M0F 0x58 0 Binary Sse2;
    Subps "subps" None M0F 0x5c 0 Binary Sse;
    Subpd "subpd" P66 M0F 0x5c 0 Binary Sse2;
    Mulps "mulps" None M0F 0x59 0 Binary Sse;
    Mulpd "mulpd" P66 M0F 0x59 0 Binary Sse2;
    Divps "divps" None M0F 0x5e 0 Binary Sse;
    Divpd "divpd" P66 M0F 0x5e 0 Binary Sse2;
    Minps "minps" None M0F 0x5d 0 Binary Sse;
    Minpd "minpd" P66 M0F 0x5d 0 Binary Sse2;
    Maxps "maxps" None M0F 0x5f 0 Binary Sse;
    Maxpd "maxpd" P66 M0F 0x5f 0 Binary Sse2;
    Andps "andps" None M0F 0x54 0 Binary Sse;
    Andpd "andpd" P66 M0F 0x54 0 Binary Sse2;
    /// `!src1 & src2`.
    Andnps "andnps" None M0F 0x55 0 Binary Sse;
    Andnpd "andnpd" P66 M0F 0x55 0 Binary Sse2;
    Orps "orps" None M0F 0x56 0 Binary Sse;
    Orpd "orpd" P66 M0F 0x56 0 Binary Sse2;
    Xorps "xorps" None M0F 0x57 0 Binary Sse;
    Xorpd "xorpd" P66 M0F 0x57 0 Binary Sse2;
    Sqrtps "sqrtps" None M0F 0x51 0 Unary Sse;
    Sqrtpd "sqrtpd" P66 M0F 0x51 0 Unary Sse2;
    Cmpps "cmpps" None M0F 0xc2 0 BinaryImm Sse;
    Cmppd "cmppd" P66 M0F 0xc2 0 BinaryImm Sse2;
    Shufps "shufps" None M0F 0xc6 0 BinaryImm Sse;
    Shufpd "shufpd" P66 M0F 0xc6 0 BinaryImm Sse2;
    Unpcklps "unpcklps" None M0F 0x14 0 Binary Sse;
    Unpcklpd "unpcklpd" P66 M0F 0x14 0 Binary Sse2;
    Unpckhps "unpckhps" None M0F 0x15 0 Binary Sse;
    Unpckhpd "unpckhpd" P66 M0F 0x15 0 Binary Sse2;
    /// Low half of `src1`, then low half of `src2`.
    Movlhps "movlhps" None M0F 0x16 0 BinaryReg Sse;
    /// High half of `src2`, then high half of `src1`.
    Movhlps "movhlps" None M0F 0x12 0 BinaryReg Sse;
    Cvtdq2ps "cvtdq2ps" None M0F 0x5b 0 Unary Sse2;
    Cvttps2dq "cvttps2dq" F3 M0F 0x5b 0 Unary Sse2;
    Cvtdq2pd "cvtdq2pd" F3 M0F 0xe6 0 Unary Sse2;
    Cvttpd2dq "cvttpd2dq" P66 M0F 0xe6 0 Unary Sse2;
    Cvtps2pd "cvtps2pd" None M0F 0x5a 0 Unary Sse2;
    Cvtpd2ps "cvtpd2ps" P66 M0F 0x5a 0 Unary Sse2;
    Movddup "movddup" F2 M0F 0x12 0 Unary Sse3;
    /// The low 64 bits, the upper ones zeroed.
    Movq "movq" F3 M0F 0x7e 0 Unary Sse2;
    Roundps "roundps" P66 M0F3A 0x08 0 UnaryImm Sse41;
    Roundpd "roundpd" P66 M0F3A 0x09 0 UnaryImm Sse41;
    Blendps "blendps" P66 M0F3A 0x0c 0 BinaryImm Sse41;
    Blendpd "blendpd" P66 M0F3A 0x0d 0 BinaryImm Sse41;
    Insertps "insertps" P66 M0F3A 0x21 0 BinaryImm Sse41;
    // Packed integers.
    Paddb "paddb" P66 M0F 0xfc 0 Binary Sse2;
    Paddw "paddw" P66 M0F 0xfd 0 Binary Sse2;
    Paddd "paddd" P66 M0F 0xfe 0 Binary Sse2;
    Paddq "paddq" P66 M0F 0xd4 0 Binary Sse2;
    Psubb "psubb" P66 M0F 0xf8 0 Binary Sse2;
    Psubw "psubw" P66 M0F 0xf9 0 Binary Sse2;
    Psubd "psubd" P66 M0F 0xfa 0 Binary Sse2;
    Psubq "psubq" P66 M0F 0xfb 0 Binary Sse2;
    Paddsb "paddsb" P66 M0F 0xec 0 Binary Sse2;
    Paddsw "paddsw" P66 M0F 0xed 0 Binary Sse2;
    Paddusb "paddusb" P66 M0F 0xdc 0 Binary Sse2;
    Paddusw "paddusw" P66 M0F 0xdd 0 Binary Sse2;
    Psubsb "psubsb" P66 M0F 0xe8 0 Binary Sse2;
    Psubsw "psubsw" P66 M0F 0xe9 0 Binary Sse2;
    Psubusb "psubusb" P66 M0F 0xd8 0 Binary Sse2;
    Psubusw "psubusw" P66 M0F 0xd9 0 Binary Sse2;
    Pavgb "pavgb" P66 M0F 0xe0 0 Binary Sse2;
    Pavgw "pavgw" P66 M0F 0xe3 0 Binary Sse2;
    Pand "pand" P66 M0F 0xdb 0 Binary Sse2;
    /// `!src1 & src2`.
    Pandn "pandn" P66 M0F 0xdf 0 Binary Sse2;
    Por "por" P66 M0F 0xeb 0 Binary Sse2;
    Pxor "pxor" P66 M0F 0xef 0 Binary Sse2;
    Pcmpeqb "pcmpeqb" P66 M0F 0x74 0 Binary Sse2;
    Pcmpeqw "pcmpeqw" P66 M0F 0x75 0 Binary Sse2;
    Pcmpeqd "pcmpeqd" P66 M0F 0x76 0 Binary Sse2;
    Pcmpeqq "pcmpeqq" P66 M0F38 0x29 0 Binary Sse41;
    Pcmpgtb "pcmpgtb" P66 M0F 0x64 0 Binary Sse2;
    Pcmpgtw "pcmpgtw" P66 M0F 0x65 0 Binary Sse2;
    Pcmpgtd "pcmpgtd" P66 M0F 0x66 0 Binary Sse2;
    Pcmpgtq "pcmpgtq" P66 M0F38 0x37 0 Binary Sse42;
    Pminsw "pminsw" P66 M0F 0xea 0 Binary Sse2;
    Pmaxsw "pmaxsw" P66 M0F 0xee 0 Binary Sse2;
    Pminub "pminub" P66 M0F 0xda 0 Binary Sse2;
    Pmaxub "pmaxub" P66 M0F 0xde 0 Binary Sse2;
    Pminsb "pminsb" P66 M0F38 0x38 0 Binary Sse41;
    Pmaxsb "pmaxsb" P66 M0F38 0x3c 0 Binary Sse41;
    Pminuw "pminuw" P66 M0F38 0x3a 0 Binary Sse41;
    Pmaxuw "pmaxuw" P66 M0F38 0x3e 0 Binary Sse41;
    Pminsd "pminsd" P66 M0F38 0x39 0 Binary Sse41;
    Pmaxsd "pmaxsd" P66 M0F38 0x3d 0 Binary Sse41;
    Pminud "pminud" P66 M0F38 0x3b 0 Binary Sse41;
    Pmaxud "pmaxud" P66 M0F38 0x3f 0 Binary Sse41;
    Pmullw "pmullw" P66 M0F 0xd5 0 Binary Sse2;
    Pmulld "pmulld" P66 M0F38 0x40 0 Binary Sse41;
    Pmulhw "pmulhw" P66 M0F 0xe5 0 Binary Sse2;
    Pmulhuw "pmulhuw" P66 M0F 0xe4 0 Binary Sse2;
    /// Unsigned 32 × 32 → 64 of the even lanes.
    Pmuludq "pmuludq" P66 M0F 0xf4 0 Binary Sse2;
    /// Signed 32 × 32 → 64 of the even lanes.
    Pmuldq "pmuldq" P66 M0F38 0x28 0 Binary Sse41;
    Pmaddwd "pmaddwd" P66 M0F 0xf5 0 Binary Sse2;
    Pmaddubsw "pmaddubsw" P66 M0F38 0x04 0 Binary Ssse3;
    Pmulhrsw "pmulhrsw" P66 M0F38 0x0b 0 Binary Ssse3;
    Psadbw "psadbw" P66 M0F 0xf6 0 Binary Sse2;
    Packsswb "packsswb" P66 M0F 0x63 0 Binary Sse2;
    Packssdw "packssdw" P66 M0F 0x6b 0 Binary Sse2;
    Packuswb "packuswb" P66 M0F 0x67 0 Binary Sse2;
    Packusdw "packusdw" P66 M0F38 0x2b 0 Binary Sse41;
    Punpcklbw "punpcklbw" P66 M0F 0x60 0 Binary Sse2;
    Punpcklwd "punpcklwd" P66 M0F 0x61 0 Binary Sse2;
    Punpckldq "punpckldq" P66 M0F 0x62 0 Binary Sse2;
    Punpcklqdq "punpcklqdq" P66 M0F 0x6c 0 Binary Sse2;
    Punpckhbw "punpckhbw" P66 M0F 0x68 0 Binary Sse2;
    Punpckhwd "punpckhwd" P66 M0F 0x69 0 Binary Sse2;
    Punpckhdq "punpckhdq" P66 M0F 0x6a 0 Binary Sse2;
    Punpckhqdq "punpckhqdq" P66 M0F 0x6d 0 Binary Sse2;
    Pshufb "pshufb" P66 M0F38 0x00 0 Binary Ssse3;
    Palignr "palignr" P66 M0F3A 0x0f 0 BinaryImm Ssse3;
    Pblendw "pblendw" P66 M0F3A 0x0e 0 BinaryImm Sse41;
    Phaddw "phaddw" P66 M0F38 0x01 0 Binary Ssse3;
    Phaddd "phaddd" P66 M0F38 0x02 0 Binary Ssse3;
    Pabsb "pabsb" P66 M0F38 0x1c 0 Unary Ssse3;
    Pabsw "pabsw" P66 M0F38 0x1d 0 Unary Ssse3;
    Pabsd "pabsd" P66 M0F38 0x1e 0 Unary Ssse3;
    Pmovsxbw "pmovsxbw" P66 M0F38 0x20 0 Unary Sse41;
    Pmovsxwd "pmovsxwd" P66 M0F38 0x23 0 Unary Sse41;
    Pmovsxdq "pmovsxdq" P66 M0F38 0x25 0 Unary Sse41;
    Pmovzxbw "pmovzxbw" P66 M0F38 0x30 0 Unary Sse41;
    Pmovzxwd "pmovzxwd" P66 M0F38 0x33 0 Unary Sse41;
    Pmovzxdq "pmovzxdq" P66 M0F38 0x35 0 Unary Sse41;
    /// ZF = `(src1 & src2) == 0`, CF = `(!src1 & src2) == 0`.
    Ptest "ptest" P66 M0F38 0x17 0 Test Sse41;
    /// Shifts by the count in the low 64 bits of `src2`.
    Psllw "psllw" P66 M0F 0xf1 0 Binary Sse2;
    Pslld "pslld" P66 M0F 0xf2 0 Binary Sse2;
    Psllq "psllq" P66 M0F 0xf3 0 Binary Sse2;
    Psrlw "psrlw" P66 M0F 0xd1 0 Binary Sse2;
    Psrld "psrld" P66 M0F 0xd2 0 Binary Sse2;
    Psrlq "psrlq" P66 M0F 0xd3 0 Binary Sse2;
    Psraw "psraw" P66 M0F 0xe1 0 Binary Sse2;
    Psrad "psrad" P66 M0F 0xe2 0 Binary Sse2;
    Pshufd "pshufd" P66 M0F 0x70 0 UnaryImm Sse2;
    Pshuflw "pshuflw" F2 M0F 0x70 0 UnaryImm Sse2;
    Pshufhw "pshufhw" F3 M0F 0x70 0 UnaryImm Sse2;
    // VEX only.
    Vpbroadcastb "vpbroadcastb" P66 M0F38 0x78 0 Unary Avx2;
    Vpbroadcastw "vpbroadcastw" P66 M0F38 0x79 0 Unary Avx2;
    Vpbroadcastd "vpbroadcastd" P66 M0F38 0x58 0 Unary Avx2;
    Vpbroadcastq "vpbroadcastq" P66 M0F38 0x59 0 Unary Avx2;
    /// From memory with AVX; from a register with AVX2.
    Vbroadcastss "vbroadcastss" P66 M0F38 0x18 0 Unary Avx;
}

impl SseOp {
    /// Does the operation exist only in its VEX form?
    pub fn vex_only(self) -> bool {
        self.ext() >= SseExt::Avx
    }
    /// A compare whose immediate is a predicate (printed as `cmp<pred>ps` …)?
    pub fn is_compare(self) -> bool {
        matches!(self, SseOp::Cmpss | SseOp::Cmpsd | SseOp::Cmpps | SseOp::Cmppd)
    }
}

/// Shifts of XMM lanes by an immediate (`66 0F 71/72/73 /digit ib`, SSE2).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum XmmShiftImmOp {
    Psllw,
    Pslld,
    Psllq,
    Psrlw,
    Psrld,
    Psrlq,
    Psraw,
    Psrad,
    /// Whole-register shift left by bytes.
    Pslldq,
    /// Whole-register shift right by bytes.
    Psrldq,
}

impl XmmShiftImmOp {
    /// Every shift.
    pub const ALL: [XmmShiftImmOp; 10] = [
        XmmShiftImmOp::Psllw,
        XmmShiftImmOp::Pslld,
        XmmShiftImmOp::Psllq,
        XmmShiftImmOp::Psrlw,
        XmmShiftImmOp::Psrld,
        XmmShiftImmOp::Psrlq,
        XmmShiftImmOp::Psraw,
        XmmShiftImmOp::Psrad,
        XmmShiftImmOp::Pslldq,
        XmmShiftImmOp::Psrldq,
    ];
    /// Opcode and ModRM `/digit`.
    pub fn encoding(self) -> (u8, u8) {
        use XmmShiftImmOp::*;
        match self {
            Psllw => (0x71, 6),
            Pslld => (0x72, 6),
            Psllq => (0x73, 6),
            Psrlw => (0x71, 2),
            Psrld => (0x72, 2),
            Psrlq => (0x73, 2),
            Psraw => (0x71, 4),
            Psrad => (0x72, 4),
            Pslldq => (0x73, 7),
            Psrldq => (0x73, 3),
        }
    }
    /// Mnemonic.
    pub fn mnemonic(self) -> &'static str {
        use XmmShiftImmOp::*;
        match self {
            Psllw => "psllw",
            Pslld => "pslld",
            Psllq => "psllq",
            Psrlw => "psrlw",
            Psrld => "psrld",
            Psrlq => "psrlq",
            Psraw => "psraw",
            Psrad => "psrad",
            Pslldq => "pslldq",
            Psrldq => "psrldq",
        }
    }
}

/// Variable blends: each lane from `if_true` where the mask lane's top bit is set, else from
/// `if_false` (SSE4.1: the mask is implicitly `%xmm0`; AVX: a fourth register operand).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum BlendvOp {
    Pblendvb,
    Blendvps,
    Blendvpd,
}

impl BlendvOp {
    /// Legacy opcode (`66 0F 38 op`) and VEX opcode (`66 0F 3A op /is4`).
    pub fn opcodes(self) -> (u8, u8) {
        match self {
            BlendvOp::Pblendvb => (0x10, 0x4c),
            BlendvOp::Blendvps => (0x14, 0x4a),
            BlendvOp::Blendvpd => (0x15, 0x4b),
        }
    }
    /// Mnemonic.
    pub fn mnemonic(self) -> &'static str {
        match self {
            BlendvOp::Pblendvb => "pblendvb",
            BlendvOp::Blendvps => "blendvps",
            BlendvOp::Blendvpd => "blendvpd",
        }
    }
}

/// Lane inserts from a general-purpose register or memory (`pinsrw`: SSE2; the others
/// SSE4.1).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum XmmInsertOp {
    Pinsrb,
    Pinsrw,
    Pinsrd,
    Pinsrq,
}

/// Lane extracts to a general-purpose register (`pextrw`: SSE2; the others SSE4.1).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum XmmExtractOp {
    Pextrb,
    Pextrw,
    Pextrd,
    Pextrq,
}

/// The AVX-512 extensions an EVEX operation needs (besides AVX512VL: every form used is
/// 128 bits wide).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum EvexExt {
    F,
    Dq,
    Bitalg,
    Vbmi,
}

/// The operand shape of an EVEX operation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum EvexKind {
    /// `dst = src1 op src2`.
    Binary,
    /// `dst = op src2` (`src1` unused).
    Unary,
    /// `dst = src2 >> imm` with this ModRM `/digit` (`src1` unused, immediate operand).
    ShiftImm(u8),
    /// `vpermi2*`: the destination is also the index operand.
    Permute,
}

/// `evex_ops! { Name "mnemonic" prefix map opcode w kind ext; … }`.
macro_rules! evex_ops {
    ($($name:ident $mnem:literal $pfx:ident $map:ident $opc:literal $w:literal $kind:expr, $ext:ident;)*) => {
        /// AVX-512 operations used on 128-bit vectors (EVEX-encoded, AVX512VL plus
        /// [`EvexOp::ext`]).
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum EvexOp { $($name,)* }

        impl EvexOp {
            /// Every operation.
            pub const ALL: &'static [EvexOp] = &[$(EvexOp::$name),*];
            /// Mnemonic.
            pub fn mnemonic(self) -> &'static str {
                match self { $(EvexOp::$name => $mnem),* }
            }
            /// Encoding.
            pub fn encoding(self) -> SimdEncoding {
                match self {
                    $(EvexOp::$name => SimdEncoding {
                        prefix: SimdPrefix::$pfx, map: OpcodeMap::$map, opcode: $opc, w: $w != 0,
                    }),*
                }
            }
            /// Operand shape.
            pub fn kind(self) -> EvexKind {
                match self { $(EvexOp::$name => $kind),* }
            }
            /// The extension needed besides AVX512VL.
            pub fn ext(self) -> EvexExt {
                match self { $(EvexOp::$name => EvexExt::$ext),* }
            }
        }
    };
}

evex_ops! {
    Vpabsq "vpabsq" P66 M0F38 0x1f 1 EvexKind::Unary, F;
    Vpmullq "vpmullq" P66 M0F38 0x40 1 EvexKind::Binary, Dq;
    Vpsraq "vpsraq" P66 M0F 0xe2 1 EvexKind::Binary, F;
    VpsraqImm "vpsraq" P66 M0F 0x72 1 EvexKind::ShiftImm(4), F;
    Vpminsq "vpminsq" P66 M0F38 0x39 1 EvexKind::Binary, F;
    Vpmaxsq "vpmaxsq" P66 M0F38 0x3d 1 EvexKind::Binary, F;
    Vpminuq "vpminuq" P66 M0F38 0x3b 1 EvexKind::Binary, F;
    Vpmaxuq "vpmaxuq" P66 M0F38 0x3f 1 EvexKind::Binary, F;
    Vpopcntb "vpopcntb" P66 M0F38 0x54 0 EvexKind::Unary, Bitalg;
    Vpopcntw "vpopcntw" P66 M0F38 0x54 1 EvexKind::Unary, Bitalg;
    Vcvtudq2ps "vcvtudq2ps" F2 M0F 0x7a 0 EvexKind::Unary, F;
    Vcvtqq2pd "vcvtqq2pd" F3 M0F 0xe6 1 EvexKind::Unary, Dq;
    Vcvtuqq2pd "vcvtuqq2pd" F3 M0F 0x7a 1 EvexKind::Unary, Dq;
    Vpermi2b "vpermi2b" P66 M0F38 0x75 0 EvexKind::Permute, Vbmi;
}

/// `fma_ops! { Name "mnemonic" opcode w; … }`.
macro_rules! fma_ops {
    ($($name:ident $mnem:literal $opc:literal $w:literal;)*) => {
        /// Fused multiply-add forms (VEX, FMA extension), 213 operand order:
        /// `dst = ±(src1 * src2) ± src3` with `dst` tied to `src1`.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum FmaOp { $($name,)* }

        impl FmaOp {
            /// Every form.
            pub const ALL: &'static [FmaOp] = &[$(FmaOp::$name),*];
            /// Mnemonic.
            pub fn mnemonic(self) -> &'static str {
                match self { $(FmaOp::$name => $mnem),* }
            }
            /// Opcode (`66 0F 38 op`) and VEX.W.
            pub fn encoding(self) -> (u8, bool) {
                match self { $(FmaOp::$name => ($opc, $w != 0)),* }
            }
        }
    };
}

fma_ops! {
    Vfmadd213ss "vfmadd213ss" 0xa9 0;
    Vfmadd213sd "vfmadd213sd" 0xa9 1;
    Vfmadd213ps "vfmadd213ps" 0xa8 0;
    Vfmadd213pd "vfmadd213pd" 0xa8 1;
    Vfmsub213ss "vfmsub213ss" 0xab 0;
    Vfmsub213sd "vfmsub213sd" 0xab 1;
    Vfmsub213ps "vfmsub213ps" 0xaa 0;
    Vfmsub213pd "vfmsub213pd" 0xaa 1;
    Vfnmadd213ss "vfnmadd213ss" 0xad 0;
    Vfnmadd213sd "vfnmadd213sd" 0xad 1;
    Vfnmadd213ps "vfnmadd213ps" 0xac 0;
    Vfnmadd213pd "vfnmadd213pd" 0xac 1;
    Vfnmsub213ss "vfnmsub213ss" 0xaf 0;
    Vfnmsub213sd "vfnmsub213sd" 0xaf 1;
    Vfnmsub213ps "vfnmsub213ps" 0xae 0;
    Vfnmsub213pd "vfnmsub213pd" 0xae 1;
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
    /// 128-bit unaligned (`movups`: one byte shorter than `movdqu`).
    Movups,
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
    /// The sign bits of the f32 lanes (`movmskps`).
    Movmskps,
    /// The sign bits of the f64 lanes (`movmskpd`).
    Movmskpd,
    /// The top bits of the bytes (`pmovmskb`).
    Pmovmskb,
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
    /// The new value is the operand (only in the 128-bit loop; narrower widths use `xchg`).
    Xchg,
}

impl AtomicLoopOp {
    /// Every operation.
    pub const ALL: [AtomicLoopOp; 11] = [
        AtomicLoopOp::And,
        AtomicLoopOp::Nand,
        AtomicLoopOp::Or,
        AtomicLoopOp::Xor,
        AtomicLoopOp::Umin,
        AtomicLoopOp::Umax,
        AtomicLoopOp::Smin,
        AtomicLoopOp::Smax,
        AtomicLoopOp::Add,
        AtomicLoopOp::Sub,
        AtomicLoopOp::Xchg,
    ];
}

/// How code reaches a symbol.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    /// PC-relative, directly (`colocated`: in the same linkage unit, within ±2 GiB).
    Near,
    /// Position-independent, through the GOT (addresses) or the PLT (calls).
    Indirect,
    /// Through its absolute 64-bit address (`movabs`).
    Absolute,
}

impl Reach {
    /// How code compiled with `is_pic` reaches a symbol that is `colocated` or not.
    pub fn of(colocated: bool, pic: bool) -> Reach {
        match (colocated, pic) {
            (true, _) => Reach::Near,
            (false, true) => Reach::Indirect,
            (false, false) => Reach::Absolute,
        }
    }

    /// How a call to `dest` reaches its callee (`Near` for an indirect call).
    pub fn of_call(dest: &CallDest, pic: bool) -> Reach {
        match dest {
            CallDest::Name { colocated, .. } => Reach::of(*colocated, pic),
            CallDest::Indirect(_) => Reach::Near,
        }
    }
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
    /// `mem = mem op imm` (read-modify-write with a sign-extended 32-bit immediate).
    AluMI {
        /// Size.
        size: OperandSize,
        /// Operation (not `Andn`).
        op: AluOp,
        /// The immediate.
        imm: i32,
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
    /// Materialize a symbol's address: `lea sym(%rip)` (near), `mov sym@GOTPCREL(%rip)`
    /// then `lea offset(dst)` (indirect; the offset fits 32 bits) or `movabs` (absolute).
    LoadExtName {
        /// Destination.
        dst: Writable<Reg>,
        /// Symbol.
        name: RelocTarget,
        /// Offset added to the symbol.
        offset: i64,
        /// How the code reaches the symbol.
        reach: Reach,
    },
    /// Load the address of a code label (`lea label(%rip), dst`).
    LoadLabelAddr {
        /// Destination.
        dst: Writable<Reg>,
        /// Label.
        label: MachLabel,
    },

    // --- XMM ---------------------------------------------------------------------------
    /// `dst = src1 op src2` for an operation of shape [`SseKind::Binary`]/`BinaryReg`
    /// (legacy SSE: `dst` tied to `src1`; with `vex`, the three-address AVX form). A memory
    /// `src2` of a legacy packed operation must be 16-byte aligned.
    XmmRmR {
        /// Operation.
        op: SseOp,
        /// First source.
        src1: Reg,
        /// Second source.
        src2: RegMem,
        /// Destination.
        dst: Writable<Reg>,
        /// Use the VEX (AVX) encoding (always for VEX-only operations).
        vex: bool,
    },
    /// `dst = src1 op src2, imm` ([`SseKind::BinaryImm`]; tied like `XmmRmR`).
    XmmRmRImm {
        /// Operation.
        op: SseOp,
        /// First source.
        src1: Reg,
        /// Second source.
        src2: RegMem,
        /// Immediate.
        imm: u8,
        /// Destination.
        dst: Writable<Reg>,
        /// Use the VEX encoding.
        vex: bool,
    },
    /// `dst = op src` ([`SseKind::Unary`]; never tied).
    XmmUnaryRmR {
        /// Operation.
        op: SseOp,
        /// Source.
        src: RegMem,
        /// Destination.
        dst: Writable<Reg>,
        /// Use the VEX encoding (always for VEX-only operations).
        vex: bool,
    },
    /// `dst = op src, imm` ([`SseKind::UnaryImm`]).
    XmmUnaryRmRImm {
        /// Operation.
        op: SseOp,
        /// Source.
        src: RegMem,
        /// Immediate.
        imm: u8,
        /// Destination.
        dst: Writable<Reg>,
        /// Use the VEX encoding.
        vex: bool,
    },
    /// Flags from two vector operands (`ptest`, [`SseKind::Test`]).
    XmmTest {
        /// Operation.
        op: SseOp,
        /// First operand (ModRM.reg).
        src1: Reg,
        /// Second operand.
        src2: RegMem,
        /// Use the VEX encoding.
        vex: bool,
    },
    /// Lanes shifted by an immediate (legacy: `dst` tied to `src`; VEX: `dst` in `vvvv`).
    XmmShiftImm {
        /// Operation.
        op: XmmShiftImmOp,
        /// Source.
        src: Reg,
        /// Shift count (bits; bytes for `pslldq`/`psrldq`).
        imm: u8,
        /// Destination.
        dst: Writable<Reg>,
        /// Use the VEX encoding.
        vex: bool,
    },
    /// Variable blend: `dst[i] = mask[i] top bit ? if_true[i] : if_false[i]` (legacy: `mask`
    /// in `%xmm0`, `dst` tied to `if_false`; VEX: four operands).
    XmmBlendv {
        /// Operation.
        op: BlendvOp,
        /// The mask.
        mask: Reg,
        /// Lanes taken where the mask is clear.
        if_false: Reg,
        /// Lanes taken where the mask is set.
        if_true: RegMem,
        /// Destination.
        dst: Writable<Reg>,
        /// Use the VEX encoding.
        vex: bool,
    },
    /// `dst = src1` with lane `lane` replaced by the low bits of `src2` (legacy: `dst` tied
    /// to `src1`).
    XmmInsertGpr {
        /// Operation (lane width).
        op: XmmInsertOp,
        /// The vector.
        src1: Reg,
        /// The general-purpose register or memory operand.
        src2: RegMem,
        /// Lane index.
        lane: u8,
        /// Destination.
        dst: Writable<Reg>,
        /// Use the VEX encoding.
        vex: bool,
    },
    /// Lane `lane` of `src`, zero-extended into a general-purpose register.
    XmmExtractGpr {
        /// Operation (lane width).
        op: XmmExtractOp,
        /// The vector.
        src: Reg,
        /// Lane index.
        lane: u8,
        /// Destination.
        dst: Writable<Reg>,
        /// Use the VEX encoding.
        vex: bool,
    },
    /// All bits set (`pcmpeqd dst, dst`).
    XmmOnes {
        /// Destination.
        dst: Writable<Reg>,
    },
    /// An AVX-512 operation on 128-bit vectors (EVEX encoding; `dst = src1 op src2`, or
    /// `op src2` for unary and shift-immediate shapes, which ignore `src1`).
    XmmEvex {
        /// Operation.
        op: EvexOp,
        /// First source (unused by unary shapes: give any register, it is not read).
        src1: Option<Reg>,
        /// Second source.
        src2: RegMem,
        /// Immediate of a shift shape.
        imm: u8,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// `vpermi2b`: `dst[i] = (indices[i] & 16 ? table_b : table_a)[indices[i] & 15]`, `dst`
    /// tied to `indices` (AVX512VBMI).
    XmmPermi2b {
        /// The byte indices (tied to `dst`).
        indices: Reg,
        /// Bytes 0–15 of the table.
        table_a: Reg,
        /// Bytes 16–31 of the table.
        table_b: RegMem,
        /// Destination.
        dst: Writable<Reg>,
    },
    /// Fused multiply-add (`dst = ±(src1 * src2) ± src3`; `dst` tied to `src1`).
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
        /// VEX-encoded (`vmovups` …: the target has AVX).
        vex: bool,
    },
    /// Store an XMM register.
    XmmStore {
        /// Width.
        op: XmmMovOp,
        /// Source.
        src: Reg,
        /// Destination.
        mem: Mem,
        /// VEX-encoded (the target has AVX).
        vex: bool,
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
        /// How a named callee is reached (`Near` for an indirect call).
        reach: Reach,
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
        /// How a named callee is reached (`Near` for an indirect call).
        reach: Reach,
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
    /// 128-bit read-modify-write loop (`has_cmpxchg16b`): `mov mem, rax/rdx; 1: mov rax/rdx,
    /// rbx/rcx; rbx:rcx = op(rbx:rcx, operand); lock cmpxchg16b mem; jnz 1b`. The old value
    /// ends in rdx:rax.
    AtomicRmw128Seq {
        /// Operation.
        op: AtomicLoopOp,
        /// Memory (its registers are read late).
        mem: Mem,
        /// Operand, low half.
        operand_lo: Reg,
        /// Operand, high half.
        operand_hi: Reg,
        /// The new value, low half (rbx).
        temp_lo: Writable<Reg>,
        /// The new value, high half (rcx).
        temp_hi: Writable<Reg>,
        /// Scratch for the 128-bit compare of min/max.
        temp: Writable<Reg>,
        /// Old value, low half (rax).
        dst_old_lo: Writable<Reg>,
        /// Old value, high half (rdx).
        dst_old_hi: Writable<Reg>,
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
            Inst::AluMI { mem, .. } => mem.get_operands(v),
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
            Inst::XmmRmR { op, src1, src2, dst, vex } | Inst::XmmRmRImm { op, src1, src2, dst, vex, .. } => {
                v.reg_use(src1);
                src2.get_operands(v);
                if *vex || op.vex_only() {
                    v.reg_def(dst);
                } else {
                    v.reg_reuse_def(dst, 0);
                }
            }
            Inst::XmmUnaryRmR { src, dst, .. } | Inst::XmmUnaryRmRImm { src, dst, .. } => {
                src.get_operands(v);
                v.reg_def(dst);
            }
            Inst::XmmTest { src1, src2, .. } => {
                v.reg_use(src1);
                src2.get_operands(v);
            }
            Inst::XmmShiftImm { src, dst, vex, .. } => {
                v.reg_use(src);
                if *vex {
                    v.reg_def(dst);
                } else {
                    v.reg_reuse_def(dst, 0);
                }
            }
            Inst::XmmBlendv { mask, if_false, if_true, dst, vex, .. } => {
                v.reg_use(if_false);
                if_true.get_operands(v);
                if *vex {
                    v.reg_use(mask);
                    v.reg_def(dst);
                } else {
                    v.reg_fixed_use(mask, crate::x64::regs::xmm_preg(0));
                    v.reg_reuse_def(dst, 0);
                }
            }
            Inst::XmmInsertGpr { src1, src2, dst, vex, .. } => {
                v.reg_use(src1);
                src2.get_operands(v);
                if *vex {
                    v.reg_def(dst);
                } else {
                    v.reg_reuse_def(dst, 0);
                }
            }
            Inst::XmmExtractGpr { src, dst, .. } => {
                v.reg_use(src);
                v.reg_def(dst);
            }
            Inst::XmmOnes { dst } => v.reg_def(dst),
            Inst::XmmEvex { src1, src2, dst, .. } => {
                if let Some(r) = src1 {
                    v.reg_use(r);
                }
                src2.get_operands(v);
                v.reg_def(dst);
            }
            Inst::XmmPermi2b { indices, table_a, table_b, dst } => {
                v.reg_use(indices);
                v.reg_use(table_a);
                table_b.get_operands(v);
                v.reg_reuse_def(dst, 0);
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
            Inst::ReturnCall { info, .. } => {
                // The indirect callee must survive the frame teardown: it lives in r10,
                // which is never an argument and not callee-saved.
                if let CallDest::Indirect(r) = &mut info.dest {
                    v.reg_fixed_use(r, fixed(R10));
                }
                info.visit_operands(v);
            }
            Inst::Call { info, .. } => {
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
            Inst::AtomicRmw128Seq {
                mem,
                operand_lo,
                operand_hi,
                temp_lo,
                temp_hi,
                temp,
                dst_old_lo,
                dst_old_hi,
                ..
            } => {
                // Everything is read inside the loop, after the fixed registers are written.
                match &mut mem.amode {
                    Amode::ImmReg { base, .. } => v.reg_late_use(base),
                    Amode::ImmRegRegShift { base, index, .. } => {
                        v.reg_late_use(base);
                        v.reg_late_use(index);
                    }
                    _ => {}
                }
                v.reg_late_use(operand_lo);
                v.reg_late_use(operand_hi);
                v.reg_early_def(temp);
                for (r, enc) in [(temp_lo, RBX), (temp_hi, RCX), (dst_old_lo, RAX), (dst_old_hi, RDX)] {
                    v.add_operand(
                        r.reg_mut(),
                        regalloc2::OperandConstraint::FixedReg(fixed(enc)),
                        regalloc2::OperandKind::Def,
                        regalloc2::OperandPos::Early,
                    );
                }
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
            Inst::Call { info, .. } if info.try_call.is_some() => MachTerminator::Branch,
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

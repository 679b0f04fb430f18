//! riscv64 machine instructions: the forms the lowering produces, their operands for the
//! register allocator, and the `MachInst` glue.
//!
//! Operations are grouped by encoding shape (register-register, register-immediate,
//! unary, loads, stores, atomics, the FP shapes, and the vector shapes of `vector.rs`);
//! each group is an enum generated from one table that gives every operation its
//! assembler mnemonic and its `MATCH` word (the fixed bits of the encoding), so encoding
//! (`emit.rs`) and printing (`print.rs`) read the same row and cannot disagree.
//!
//! Conventions: integer values narrower than 64 bits live in the low bits of a register;
//! the `*w` operations compute on the low 32 bits and sign-extend the result. Floating-point
//! values of `f32`/`f16` are NaN-boxed in the 64-bit f registers (the hardware does this).
//! Instructions name physical registers only for the fixed roles of `regs.rs`; everything
//! else is a virtual register until allocation.

use crate::riscv64::vector::{VState, VecAluOpRImm5, VecAluOpRR, VecAluOpRRImm5, VecAluOpRRR, VecMaskMode};
use kiln_codegen::CodegenResult;
use kiln_codegen::machinst::abi::{ArgPair, RetPair, StackAMode};
use kiln_codegen::machinst::buffer::RelocTarget;
use kiln_codegen::machinst::call::{CallDest, CallInfo};
use kiln_codegen::machinst::{MachInst, MachLabel, MachTerminator, OperandVisitor, Reg, Writable};
use kiln_ir::trapcode::TrapCode;
use kiln_ir::types::{self, Type};
use regalloc2::PReg;
use regalloc2::RegClass;
use smallvec::SmallVec;

/// Defines an operation enum from a table of `Variant = ("mnemonic", MATCH word)` rows,
/// with `ALL`, `name()` and `match_bits()`.
macro_rules! op_table {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = ($mn:literal, $bits:expr)),* $(,)? }) => {
        $(#[$m])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum $name { $($(#[$vm])* $v),* }
        impl $name {
            /// Every operation of the table.
            pub const ALL: &'static [$name] = &[$($name::$v),*];
            /// The assembler mnemonic.
            pub fn name(self) -> &'static str { match self { $($name::$v => $mn),* } }
            /// The fixed bits of the encoding (opcode, funct3, funct7 and fixed fields).
            pub fn match_bits(self) -> u32 { match self { $($name::$v => $bits),* } }
        }
    };
}

op_table!(
    /// Register-register integer operations (`rd = rs1 op rs2`): RV64I, M, Zba, Zbb, Zbc,
    /// Zbs, Zbkb and Zicond.
    AluOpRRR {
        Add = ("add", 0x0000_0033), Sub = ("sub", 0x4000_0033), Sll = ("sll", 0x0000_1033),
        Slt = ("slt", 0x0000_2033), Sltu = ("sltu", 0x0000_3033), Xor = ("xor", 0x0000_4033),
        Srl = ("srl", 0x0000_5033), Sra = ("sra", 0x4000_5033), Or = ("or", 0x0000_6033),
        And = ("and", 0x0000_7033),
        Addw = ("addw", 0x0000_003b), Subw = ("subw", 0x4000_003b), Sllw = ("sllw", 0x0000_103b),
        Srlw = ("srlw", 0x0000_503b), Sraw = ("sraw", 0x4000_503b),
        Mul = ("mul", 0x0200_0033), Mulh = ("mulh", 0x0200_1033), Mulhsu = ("mulhsu", 0x0200_2033),
        Mulhu = ("mulhu", 0x0200_3033), Div = ("div", 0x0200_4033), Divu = ("divu", 0x0200_5033),
        Rem = ("rem", 0x0200_6033), Remu = ("remu", 0x0200_7033),
        Mulw = ("mulw", 0x0200_003b), Divw = ("divw", 0x0200_403b), Divuw = ("divuw", 0x0200_503b),
        Remw = ("remw", 0x0200_603b), Remuw = ("remuw", 0x0200_703b),
        Sh1add = ("sh1add", 0x2000_2033), Sh2add = ("sh2add", 0x2000_4033), Sh3add = ("sh3add", 0x2000_6033),
        AddUw = ("add.uw", 0x0800_003b), Sh1addUw = ("sh1add.uw", 0x2000_203b),
        Sh2addUw = ("sh2add.uw", 0x2000_403b), Sh3addUw = ("sh3add.uw", 0x2000_603b),
        Andn = ("andn", 0x4000_7033), Orn = ("orn", 0x4000_6033), Xnor = ("xnor", 0x4000_4033),
        Max = ("max", 0x0a00_6033), Maxu = ("maxu", 0x0a00_7033), Min = ("min", 0x0a00_4033),
        Minu = ("minu", 0x0a00_5033), Rol = ("rol", 0x6000_1033), Ror = ("ror", 0x6000_5033),
        Rolw = ("rolw", 0x6000_103b), Rorw = ("rorw", 0x6000_503b),
        Clmul = ("clmul", 0x0a00_1033), Clmulh = ("clmulh", 0x0a00_3033), Clmulr = ("clmulr", 0x0a00_2033),
        Bclr = ("bclr", 0x4800_1033), Bext = ("bext", 0x4800_5033), Binv = ("binv", 0x6800_1033),
        Bset = ("bset", 0x2800_1033),
        Pack = ("pack", 0x0800_4033), Packh = ("packh", 0x0800_7033), Packw = ("packw", 0x0800_403b),
        CzeroEqz = ("czero.eqz", 0x0e00_5033), CzeroNez = ("czero.nez", 0x0e00_7033),
    }
);

op_table!(
    /// Register-immediate integer operations (`rd = rs op imm`). The immediate is a signed
    /// 12-bit value or a shift amount, per [`AluOpRRI::imm_kind`].
    AluOpRRI {
        Addi = ("addi", 0x0000_0013), Slti = ("slti", 0x0000_2013), Sltiu = ("sltiu", 0x0000_3013),
        Xori = ("xori", 0x0000_4013), Ori = ("ori", 0x0000_6013), Andi = ("andi", 0x0000_7013),
        Addiw = ("addiw", 0x0000_001b),
        Slli = ("slli", 0x0000_1013), Srli = ("srli", 0x0000_5013), Srai = ("srai", 0x4000_5013),
        Slliw = ("slliw", 0x0000_101b), Srliw = ("srliw", 0x0000_501b), Sraiw = ("sraiw", 0x4000_501b),
        SlliUw = ("slli.uw", 0x0800_101b), Rori = ("rori", 0x6000_5013), Roriw = ("roriw", 0x6000_501b),
        Bclri = ("bclri", 0x4800_1013), Bexti = ("bexti", 0x4800_5013), Binvi = ("binvi", 0x6800_1013),
        Bseti = ("bseti", 0x2800_1013),
    }
);

/// The kind of immediate a register-immediate operation takes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ImmKind {
    /// Signed 12 bits.
    Simm12,
    /// Shift amount 0..=63.
    Shamt6,
    /// Shift amount 0..=31.
    Shamt5,
}

impl AluOpRRI {
    /// The immediate this operation takes.
    pub fn imm_kind(self) -> ImmKind {
        use AluOpRRI::*;
        match self {
            Addi | Slti | Sltiu | Xori | Ori | Andi | Addiw => ImmKind::Simm12,
            Slliw | Srliw | Sraiw | Roriw => ImmKind::Shamt5,
            _ => ImmKind::Shamt6,
        }
    }
    /// Is `imm` a valid immediate for this operation?
    pub fn imm_ok(self, imm: i32) -> bool {
        match self.imm_kind() {
            ImmKind::Simm12 => (-2048..=2047).contains(&imm),
            ImmKind::Shamt6 => (0..64).contains(&imm),
            ImmKind::Shamt5 => (0..32).contains(&imm),
        }
    }
}

op_table!(
    /// Unary integer operations (`rd = op(rs)`; the rs2 field is part of the opcode):
    /// Zbb and Zbkb.
    AluOpRR {
        Clz = ("clz", 0x6000_1013), Ctz = ("ctz", 0x6010_1013), Cpop = ("cpop", 0x6020_1013),
        Clzw = ("clzw", 0x6000_101b), Ctzw = ("ctzw", 0x6010_101b), Cpopw = ("cpopw", 0x6020_101b),
        SextB = ("sext.b", 0x6040_1013), SextH = ("sext.h", 0x6050_1013), ZextH = ("zext.h", 0x0800_403b),
        OrcB = ("orc.b", 0x2870_5013), Rev8 = ("rev8", 0x6b80_5013), Brev8 = ("brev8", 0x6870_5013),
    }
);

op_table!(
    /// Loads (`rd = mem[rs1 + offset]`), integer (sign- or zero-extending) and FP.
    LoadOp {
        Lb = ("lb", 0x0000_0003), Lh = ("lh", 0x0000_1003), Lw = ("lw", 0x0000_2003), Ld = ("ld", 0x0000_3003),
        Lbu = ("lbu", 0x0000_4003), Lhu = ("lhu", 0x0000_5003), Lwu = ("lwu", 0x0000_6003),
        Flh = ("flh", 0x0000_1007), Flw = ("flw", 0x0000_2007), Fld = ("fld", 0x0000_3007),
    }
);

impl LoadOp {
    /// Does it load into an f register?
    pub fn is_fp(self) -> bool {
        matches!(self, LoadOp::Flh | LoadOp::Flw | LoadOp::Fld)
    }
    /// Bytes accessed.
    pub fn bytes(self) -> u32 {
        use LoadOp::*;
        match self {
            Lb | Lbu => 1,
            Lh | Lhu | Flh => 2,
            Lw | Lwu | Flw => 4,
            Ld | Fld => 8,
        }
    }
}

op_table!(
    /// Stores (`mem[rs1 + offset] = rs2`).
    StoreOp {
        Sb = ("sb", 0x0000_0023), Sh = ("sh", 0x0000_1023), Sw = ("sw", 0x0000_2023), Sd = ("sd", 0x0000_3023),
        Fsh = ("fsh", 0x0000_1027), Fsw = ("fsw", 0x0000_2027), Fsd = ("fsd", 0x0000_3027),
    }
);

impl StoreOp {
    /// Does it store an f register?
    pub fn is_fp(self) -> bool {
        matches!(self, StoreOp::Fsh | StoreOp::Fsw | StoreOp::Fsd)
    }
    /// Bytes accessed.
    pub fn bytes(self) -> u32 {
        use StoreOp::*;
        match self {
            Sb => 1,
            Sh | Fsh => 2,
            Sw | Fsw => 4,
            Sd | Fsd => 8,
        }
    }
}

op_table!(
    /// The A extension: load-reserved, store-conditional and the AMOs, 32- and 64-bit.
    AtomicOp {
        LrW = ("lr.w", 0x1000_202f), ScW = ("sc.w", 0x1800_202f), AmoswapW = ("amoswap.w", 0x0800_202f),
        AmoaddW = ("amoadd.w", 0x0000_202f), AmoxorW = ("amoxor.w", 0x2000_202f),
        AmoandW = ("amoand.w", 0x6000_202f), AmoorW = ("amoor.w", 0x4000_202f),
        AmominW = ("amomin.w", 0x8000_202f), AmomaxW = ("amomax.w", 0xa000_202f),
        AmominuW = ("amominu.w", 0xc000_202f), AmomaxuW = ("amomaxu.w", 0xe000_202f),
        LrD = ("lr.d", 0x1000_302f), ScD = ("sc.d", 0x1800_302f), AmoswapD = ("amoswap.d", 0x0800_302f),
        AmoaddD = ("amoadd.d", 0x0000_302f), AmoxorD = ("amoxor.d", 0x2000_302f),
        AmoandD = ("amoand.d", 0x6000_302f), AmoorD = ("amoor.d", 0x4000_302f),
        AmominD = ("amomin.d", 0x8000_302f), AmomaxD = ("amomax.d", 0xa000_302f),
        AmominuD = ("amominu.d", 0xc000_302f), AmomaxuD = ("amomaxu.d", 0xe000_302f),
    }
);

impl AtomicOp {
    /// Is this a load-reserved (no source operand)?
    pub fn is_lr(self) -> bool {
        matches!(self, AtomicOp::LrW | AtomicOp::LrD)
    }
    /// Is this a store-conditional?
    pub fn is_sc(self) -> bool {
        matches!(self, AtomicOp::ScW | AtomicOp::ScD)
    }
}

/// A floating-point format (the `fmt` field of the F/D/Zfh encodings).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FpWidth {
    /// Half precision (Zfh), fmt 2.
    H,
    /// Single precision, fmt 0.
    S,
    /// Double precision, fmt 1.
    D,
}

impl FpWidth {
    /// All widths.
    pub const ALL: [FpWidth; 3] = [FpWidth::H, FpWidth::S, FpWidth::D];
    /// The fmt field value.
    pub fn fmt(self) -> u32 {
        match self {
            FpWidth::S => 0,
            FpWidth::D => 1,
            FpWidth::H => 2,
        }
    }
    /// The mnemonic suffix letter.
    pub fn suffix(self) -> &'static str {
        match self {
            FpWidth::H => "h",
            FpWidth::S => "s",
            FpWidth::D => "d",
        }
    }
    /// The width of an FP type.
    pub fn of(ty: Type) -> Option<FpWidth> {
        match ty {
            types::F16 => Some(FpWidth::H),
            types::F32 => Some(FpWidth::S),
            types::F64 => Some(FpWidth::D),
            _ => None,
        }
    }
}

/// A static rounding mode (the `rm` field); `Dyn` uses the `frm` CSR.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Frm {
    Rne = 0,
    Rtz = 1,
    Rdn = 2,
    Rup = 3,
    Rmm = 4,
    Dyn = 7,
}

impl Frm {
    /// All modes.
    pub const ALL: [Frm; 6] = [Frm::Rne, Frm::Rtz, Frm::Rdn, Frm::Rup, Frm::Rmm, Frm::Dyn];
    /// The assembler name.
    pub fn name(self) -> &'static str {
        match self {
            Frm::Rne => "rne",
            Frm::Rtz => "rtz",
            Frm::Rdn => "rdn",
            Frm::Rup => "rup",
            Frm::Rmm => "rmm",
            Frm::Dyn => "dyn",
        }
    }
}

op_table!(
    /// Two-source FP operations (`rd = rs1 op rs2`; the width is the instruction's). The
    /// compares write an integer register.
    FpuOpRRR {
        Fadd = ("fadd", 0x0000_0053), Fsub = ("fsub", 0x0800_0053), Fmul = ("fmul", 0x1000_0053),
        Fdiv = ("fdiv", 0x1800_0053), Fsgnj = ("fsgnj", 0x2000_0053), Fsgnjn = ("fsgnjn", 0x2000_1053),
        Fsgnjx = ("fsgnjx", 0x2000_2053), Fmin = ("fmin", 0x2800_0053), Fmax = ("fmax", 0x2800_1053),
        Fminm = ("fminm", 0x2800_2053), Fmaxm = ("fmaxm", 0x2800_3053),
        Feq = ("feq", 0xa000_2053), Flt = ("flt", 0xa000_1053), Fle = ("fle", 0xa000_0053),
        Fleq = ("fleq", 0xa000_4053), Fltq = ("fltq", 0xa000_5053),
    }
);

impl FpuOpRRR {
    /// Does it take a rounding mode?
    pub fn has_rm(self) -> bool {
        matches!(self, FpuOpRRR::Fadd | FpuOpRRR::Fsub | FpuOpRRR::Fmul | FpuOpRRR::Fdiv)
    }
    /// Does it write an integer register (the compares)?
    pub fn int_dst(self) -> bool {
        matches!(self, FpuOpRRR::Feq | FpuOpRRR::Flt | FpuOpRRR::Fle | FpuOpRRR::Fleq | FpuOpRRR::Fltq)
    }
    /// Zfa operations.
    pub fn is_zfa(self) -> bool {
        matches!(self, FpuOpRRR::Fminm | FpuOpRRR::Fmaxm | FpuOpRRR::Fleq | FpuOpRRR::Fltq)
    }
}

op_table!(
    /// Fused multiply-add (`rd = ±(rs1 * rs2) ± rs3`).
    FpuOpRRRR {
        Fmadd = ("fmadd", 0x0000_0043), Fmsub = ("fmsub", 0x0000_0047),
        Fnmsub = ("fnmsub", 0x0000_004b), Fnmadd = ("fnmadd", 0x0000_004f),
    }
);

/// One-source FP operations: square root, classification, moves between register files,
/// conversions and the Zfa roundings.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FpuOpRR {
    /// `fsqrt.fmt`.
    Fsqrt,
    /// `fclass.fmt` (integer destination).
    Fclass,
    /// `fmv.x.fmt`: raw bits to an integer register.
    FmvXF,
    /// `fmv.fmt.x`: raw bits from an integer register.
    FmvFX,
    /// `fcvt.{w,wu,l,lu}.fmt`: float to integer.
    FcvtToInt(IntWidth),
    /// `fcvt.fmt.{w,wu,l,lu}`: integer to float.
    FcvtFromInt(IntWidth),
    /// `fcvt.fmt.from`: between FP widths.
    FcvtFromFloat(FpWidth),
    /// Zfa `fround.fmt`: round to an integral value (no inexact exception).
    Fround,
    /// Zfa `froundnx.fmt`: round to an integral value, raising inexact.
    Froundnx,
    /// Zfa `fcvtmod.w.d` (only `D`, always `rtz`): modular conversion to i32.
    FcvtmodWD,
}

/// The integer side of an int/float conversion.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum IntWidth {
    W,
    Wu,
    L,
    Lu,
}

impl IntWidth {
    /// All four.
    pub const ALL: [IntWidth; 4] = [IntWidth::W, IntWidth::Wu, IntWidth::L, IntWidth::Lu];
    fn code(self) -> u32 {
        self as u32
    }
    /// Mnemonic part.
    pub fn name(self) -> &'static str {
        match self {
            IntWidth::W => "w",
            IntWidth::Wu => "wu",
            IntWidth::L => "l",
            IntWidth::Lu => "lu",
        }
    }
}

impl FpuOpRR {
    /// The fixed bits for width `w` (the format of the result for conversions to FP).
    pub fn match_bits(self, w: FpWidth) -> u32 {
        let fmt = w.fmt() << 25;
        match self {
            FpuOpRR::Fsqrt => 0x5800_0053 | fmt,
            FpuOpRR::Fclass => 0xe000_1053 | fmt,
            FpuOpRR::FmvXF => 0xe000_0053 | fmt,
            FpuOpRR::FmvFX => 0xf000_0053 | fmt,
            FpuOpRR::FcvtToInt(i) => 0xc000_0053 | fmt | i.code() << 20,
            FpuOpRR::FcvtFromInt(i) => 0xd000_0053 | fmt | i.code() << 20,
            FpuOpRR::FcvtFromFloat(from) => 0x4000_0053 | fmt | from.fmt() << 20,
            FpuOpRR::Fround => 0x4040_0053 | fmt,
            FpuOpRR::Froundnx => 0x4050_0053 | fmt,
            FpuOpRR::FcvtmodWD => 0xc280_1053,
        }
    }
    /// Does it take a rounding mode operand? (Exact conversions have `rm` fixed to 0.)
    pub fn has_rm(self, w: FpWidth) -> bool {
        match self {
            FpuOpRR::Fsqrt | FpuOpRR::FcvtToInt(_) | FpuOpRR::Fround | FpuOpRR::Froundnx => true,
            FpuOpRR::FcvtFromInt(i) => !(w == FpWidth::D && matches!(i, IntWidth::W | IntWidth::Wu)),
            FpuOpRR::FcvtFromFloat(from) => !is_widening(from, w),
            FpuOpRR::Fclass | FpuOpRR::FmvXF | FpuOpRR::FmvFX | FpuOpRR::FcvtmodWD => false,
        }
    }
    /// Is the destination an integer register?
    pub fn int_dst(self) -> bool {
        matches!(self, FpuOpRR::Fclass | FpuOpRR::FmvXF | FpuOpRR::FcvtToInt(_) | FpuOpRR::FcvtmodWD)
    }
    /// Is the source an integer register?
    pub fn int_src(self) -> bool {
        matches!(self, FpuOpRR::FmvFX | FpuOpRR::FcvtFromInt(_))
    }
    /// The mnemonic for width `w`.
    pub fn name(self, w: FpWidth) -> String {
        let s = w.suffix();
        // fmv between register files names the single-precision format `w`.
        let mvfmt = if w == FpWidth::S { "w" } else { s };
        match self {
            FpuOpRR::Fsqrt => format!("fsqrt.{s}"),
            FpuOpRR::Fclass => format!("fclass.{s}"),
            FpuOpRR::FmvXF => format!("fmv.x.{mvfmt}"),
            FpuOpRR::FmvFX => format!("fmv.{mvfmt}.x"),
            FpuOpRR::FcvtToInt(i) => format!("fcvt.{}.{s}", i.name()),
            FpuOpRR::FcvtFromInt(i) => format!("fcvt.{s}.{}", i.name()),
            FpuOpRR::FcvtFromFloat(from) => format!("fcvt.{s}.{}", from.suffix()),
            FpuOpRR::Fround => format!("fround.{s}"),
            FpuOpRR::Froundnx => format!("froundnx.{s}"),
            FpuOpRR::FcvtmodWD => "fcvtmod.w.d".to_string(),
        }
    }
    /// Is this a Zfa operation?
    pub fn is_zfa(self) -> bool {
        matches!(self, FpuOpRR::Fround | FpuOpRR::Froundnx | FpuOpRR::FcvtmodWD)
    }
}

/// Is a conversion `from` → `to` exact (a widening)?
pub fn is_widening(from: FpWidth, to: FpWidth) -> bool {
    matches!((from, to), (FpWidth::H, FpWidth::S) | (FpWidth::H, FpWidth::D) | (FpWidth::S, FpWidth::D))
}

/// The condition of a conditional branch (`b<cond> rs1, rs2`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum BranchCond {
    Eq = 0,
    Ne = 1,
    Lt = 4,
    Ge = 5,
    Ltu = 6,
    Geu = 7,
}

impl BranchCond {
    /// All six.
    pub const ALL: [BranchCond; 6] =
        [BranchCond::Eq, BranchCond::Ne, BranchCond::Lt, BranchCond::Ge, BranchCond::Ltu, BranchCond::Geu];
    /// The opposite condition.
    pub fn invert(self) -> BranchCond {
        use BranchCond::*;
        match self {
            Eq => Ne,
            Ne => Eq,
            Lt => Ge,
            Ge => Lt,
            Ltu => Geu,
            Geu => Ltu,
        }
    }
    /// The funct3 field.
    pub fn funct3(self) -> u32 {
        self as u32
    }
    /// From the funct3 field.
    pub fn from_funct3(f: u32) -> Option<BranchCond> {
        BranchCond::ALL.into_iter().find(|c| c.funct3() == f)
    }
    /// The mnemonic (`beq`, …).
    pub fn name(self) -> &'static str {
        use BranchCond::*;
        match self {
            Eq => "beq",
            Ne => "bne",
            Lt => "blt",
            Ge => "bge",
            Ltu => "bltu",
            Geu => "bgeu",
        }
    }
}

/// An address.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AMode {
    /// `offset(base)`; offsets outside the 12-bit range are formed with `t6`.
    RegOffset(Reg, i64),
    /// A stack location, resolved to `offset(sp)` once the frame is laid out.
    Stack(StackAMode),
    /// A code label (constant pool, …): `auipc` + the access, PC-relative.
    Label(MachLabel),
}

impl AMode {
    fn get_operands(&mut self, v: &mut impl OperandVisitor) {
        if let AMode::RegOffset(r, _) = self {
            v.reg_use(r);
        }
    }
}

/// The operation of an [`Inst::AtomicLoop`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum AtomicLoopOp {
    Cas,
    Add,
    Sub,
    And,
    Nand,
    Or,
    Xor,
    Xchg,
    Smin,
    Smax,
    Umin,
    Umax,
}

/// The data-cache/IO ordering sets of `fence` (bits: i=8, o=4, r=2, w=1).
pub const FENCE_RW: u8 = 0b0011;
/// All four sets.
pub const FENCE_IORW: u8 = 0b1111;

/// A riscv64 instruction.
#[derive(Clone, Debug)]
pub enum Inst {
    /// `nop` (`addi zero, zero, 0`).
    Nop,
    /// `lui rd, imm20`: `rd = sext(imm20 << 12)`.
    Lui {
        /// Destination.
        rd: Writable<Reg>,
        /// The 20-bit field.
        imm20: u32,
    },
    /// `auipc rd, imm20`: `rd = pc + sext(imm20 << 12)`.
    Auipc {
        /// Destination.
        rd: Writable<Reg>,
        /// The 20-bit field.
        imm20: u32,
    },
    /// `rd = rs1 op rs2`.
    AluRRR {
        /// Operation.
        op: AluOpRRR,
        /// Destination.
        rd: Writable<Reg>,
        /// First source.
        rs1: Reg,
        /// Second source.
        rs2: Reg,
    },
    /// `rd = rs op imm`.
    AluRRImm {
        /// Operation.
        op: AluOpRRI,
        /// Destination.
        rd: Writable<Reg>,
        /// Source.
        rs: Reg,
        /// Immediate (checked against [`AluOpRRI::imm_ok`]).
        imm: i32,
    },
    /// `rd = op(rs)`.
    AluRR {
        /// Operation.
        op: AluOpRR,
        /// Destination.
        rd: Writable<Reg>,
        /// Source.
        rs: Reg,
    },
    /// A load.
    Load {
        /// Operation.
        op: LoadOp,
        /// Destination.
        rd: Writable<Reg>,
        /// Address.
        from: AMode,
        /// Trap code of a faulting access.
        trap: Option<TrapCode>,
    },
    /// A store.
    Store {
        /// Operation.
        op: StoreOp,
        /// Value.
        src: Reg,
        /// Address.
        to: AMode,
        /// Trap code of a faulting access.
        trap: Option<TrapCode>,
    },
    /// An A-extension instruction: `rd = op(mem[addr], src)`.
    Atomic {
        /// Operation.
        op: AtomicOp,
        /// Acquire ordering.
        aq: bool,
        /// Release ordering.
        rl: bool,
        /// Destination (old value; for `sc`, 0 on success).
        rd: Writable<Reg>,
        /// Address.
        addr: Reg,
        /// Source (ignored by `lr`; `zero` there).
        src: Reg,
        /// Trap code of a faulting access.
        trap: Option<TrapCode>,
    },
    /// `fence pred, succ`.
    Fence {
        /// Predecessor set.
        pred: u8,
        /// Successor set.
        succ: u8,
    },
    /// `fence.i`.
    FenceI,
    /// `ecall`.
    Ecall,
    /// `ebreak` (a debugger breakpoint).
    Ebreak,
    /// A permanently undefined instruction that traps with `code` (`unimp`).
    Udf {
        /// Trap code.
        code: TrapCode,
    },
    /// `rd = rs1 op rs2` in FP.
    FpuRRR {
        /// Operation.
        op: FpuOpRRR,
        /// Format.
        width: FpWidth,
        /// Rounding (only for operations that take one).
        frm: Frm,
        /// Destination (integer for compares).
        rd: Writable<Reg>,
        /// First source.
        rs1: Reg,
        /// Second source.
        rs2: Reg,
    },
    /// Fused multiply-add.
    FpuRRRR {
        /// Operation.
        op: FpuOpRRRR,
        /// Format.
        width: FpWidth,
        /// Rounding.
        frm: Frm,
        /// Destination.
        rd: Writable<Reg>,
        /// Multiplicand.
        rs1: Reg,
        /// Multiplier.
        rs2: Reg,
        /// Addend.
        rs3: Reg,
    },
    /// `rd = op(rs)` in FP (or between the register files).
    FpuRR {
        /// Operation.
        op: FpuOpRR,
        /// Format (of the result for conversions to FP, of the source otherwise).
        width: FpWidth,
        /// Rounding (only for operations that take one).
        frm: Frm,
        /// Destination.
        rd: Writable<Reg>,
        /// Source.
        rs: Reg,
    },
    /// Zfa `fli.fmt rd, constant`: one of 32 constants, by index.
    Fli {
        /// Format.
        width: FpWidth,
        /// Destination.
        rd: Writable<Reg>,
        /// Index into the table of [`crate::riscv64::inst::fli_value`].
        index: u8,
    },

    // --- Control flow --------------------------------------------------------------------
    /// Receive the function's register arguments (no code).
    Args {
        /// (vreg, preg) pairs.
        args: Vec<ArgPair>,
    },
    /// Return: the epilogue of the frame, then `ret`, using the return registers.
    Rets {
        /// (vreg, preg) pairs.
        rets: Vec<RetPair>,
        /// Bytes of incoming stack arguments the callee pops (`tail`).
        stack_bytes_to_pop: u32,
    },
    /// A call made by the framework's call lowering (`auipc`+`jalr` with a `call_plt`
    /// relocation, an absolute address loaded from inline data, or `jalr` through a
    /// register).
    Call {
        /// Callee, operands and clobbers.
        info: Box<CallInfo>,
    },
    /// A tail call: restore the frame, move the stack arguments, jump.
    ReturnCall {
        /// Callee and operands.
        info: Box<CallInfo>,
    },
    /// The landing pad of a `try_call` handler: defines the exception payload registers.
    ExnPayloads {
        /// (vreg, preg) pairs.
        defs: SmallVec<[(Writable<Reg>, PReg); 2]>,
    },
    /// `b<cond> rs1, rs2` to a trap stub raising `code`.
    TrapIf {
        /// Condition under which to trap.
        cond: BranchCond,
        /// First operand.
        rs1: Reg,
        /// Second operand.
        rs2: Reg,
        /// Trap code.
        code: TrapCode,
    },
    /// `rd = cond(rs1, rs2) ? a : b` by a branch (`mv rd, a; b<cond> rs1, rs2, 1f;
    /// mv rd, b; 1:`); `rd` is an early def so it never shares a source's register. Any
    /// register class for `rd`, `a`, `b`.
    Select {
        /// Destination.
        rd: Writable<Reg>,
        /// Condition.
        cond: BranchCond,
        /// First compared operand.
        rs1: Reg,
        /// Second compared operand.
        rs2: Reg,
        /// Value when the condition holds.
        a: Reg,
        /// Value otherwise.
        b: Reg,
    },
    /// A jump table: `index` (zero-extended 32 bits) selects one of `targets`, or
    /// `default` when out of range. The table is one `auipc t6; jalr zero, t6` pair per
    /// target, reached through `auipc`/`slli`/`add`/`jalr`.
    BrTable {
        /// The index (its low 32 bits, zero-extended by the lowering).
        index: Reg,
        /// A temporary.
        tmp: Writable<Reg>,
        /// Out-of-range target.
        default: MachLabel,
        /// Targets.
        targets: Box<[MachLabel]>,
    },
    /// `rd = address of a symbol + offset`, the absolute address loaded from inline data
    /// (`auipc rd, 0; ld rd, 12(rd); j 1f; .8byte sym; 1:`), for symbols outside the ±2 GiB
    /// PC-relative range.
    LoadExtNameAbs {
        /// Destination.
        rd: Writable<Reg>,
        /// Symbol.
        name: RelocTarget,
        /// Addend.
        offset: i64,
    },
    /// `rd` = the address of a stack location (`addi rd, sp, offset`, larger offsets
    /// through `rd`).
    StackAddr {
        /// Destination.
        rd: Writable<Reg>,
        /// The location.
        mem: StackAMode,
    },
    /// `rd = imm`: the shortest sequence of `materialize.rs` for the register `rd` gets
    /// (a single definition for the allocator; the steps all write `rd`).
    LoadConst {
        /// Destination.
        rd: Writable<Reg>,
        /// The 64-bit value.
        imm: u64,
    },
    /// Sign- or zero-extend the low `from_bits` (8, 16 or 32) of `rs` to 64 bits: one
    /// Zbb/Zba instruction when available (`sext.b`, `zext.h`, `add.uw`, …), `andi`,
    /// `addiw`, or a pair of shifts.
    Extend {
        /// Destination.
        rd: Writable<Reg>,
        /// Source.
        rs: Reg,
        /// Sign-extend?
        signed: bool,
        /// Width of the value.
        from_bits: u8,
    },
    /// A whole vector register loaded from or stored to memory (spills, stack arguments):
    /// the address formed in `t6`, then `vl1re8.v`/`vs1r.v`.
    VecSpill {
        /// The address.
        amode: AMode,
        /// The vector register.
        reg: Reg,
        /// Load (else store)?
        load: bool,
    },
    /// An LR/SC loop: compare-and-swap or a read-modify-write without an AMO, on a whole
    /// 32/64-bit word or (`narrow`) on an 8/16-bit field of an aligned word at bit `shift`.
    /// `dst` receives the old value (the field's low bits for a narrow access); `t0`/`t1`
    /// are loop temporaries (early defs); `t6` holds the field mask for narrow accesses.
    AtomicLoop {
        /// The operation.
        op: AtomicLoopOp,
        /// Width of the LR/SC access (32 or 64; 32 for narrow fields).
        word64: bool,
        /// For a field: its width in bits (8 or 16) and the register holding its bit
        /// offset in the word.
        narrow: Option<(u8, Reg)>,
        /// The (aligned) address.
        addr: Reg,
        /// The operand (the replacement value for `Cas`), extended for comparisons.
        src: Reg,
        /// The expected value (`Cas` only; `zero` otherwise), extended like the loaded value.
        expected: Reg,
        /// The old value.
        dst: Writable<Reg>,
        /// Temporary.
        t0: Writable<Reg>,
        /// Temporary.
        t1: Writable<Reg>,
        /// Trap code of a faulting access.
        trap: Option<TrapCode>,
    },
    /// Unconditional jump to a label (`j`; the form is chosen at layout).
    Jal {
        /// Target.
        dest: MachLabel,
    },
    /// Two-way conditional branch: `b<cond> rs1, rs2, taken; j not_taken` (either part
    /// removed when its target is the next block).
    CondBr {
        /// Condition.
        cond: BranchCond,
        /// First operand.
        rs1: Reg,
        /// Second operand.
        rs2: Reg,
        /// Target when the condition holds.
        taken: MachLabel,
        /// Target otherwise.
        not_taken: MachLabel,
    },
    /// `jalr rd, offset(base)`.
    Jalr {
        /// Link register (`zero` for a plain indirect jump).
        rd: Writable<Reg>,
        /// Base.
        base: Reg,
        /// Offset (12 bits).
        offset: i32,
    },
    /// `rd = address of label` (`auipc` + `addi`).
    LoadAddr {
        /// Destination.
        rd: Writable<Reg>,
        /// Label.
        label: MachLabel,
    },
    /// `rd = address of a symbol + offset` (`auipc` + `addi` with `pcrel_hi20`/`pcrel_lo12`
    /// relocations; the lo12 relocation refers to the `auipc`).
    LoadExtName {
        /// Destination.
        rd: Writable<Reg>,
        /// Symbol.
        name: RelocTarget,
        /// Addend.
        offset: i64,
    },

    // --- Vectors (RVV 1.0, `vector.rs`) --------------------------------------------------
    /// `vsetvli rd, avl, vtype` / `vsetivli` for an explicit state change.
    VecSetState {
        /// Destination (the new vl; `zero` to discard).
        rd: Writable<Reg>,
        /// The state.
        vstate: VState,
    },
    /// `vd = vs2 op src1` (`.vv`, `.vx`, `.vf`, `.wv`, `.vs`, `.mm` by operation).
    VecAluRRR {
        /// Operation.
        op: VecAluOpRRR,
        /// Destination.
        vd: Writable<Reg>,
        /// The vector source (field vs2).
        vs2: Reg,
        /// The other source: a vector, integer or FP register by the operation's form.
        src1: Reg,
        /// Masking.
        mask: VecMaskMode,
        /// The vector state the operation runs in.
        vstate: VState,
    },
    /// `vd = vs2 op src1 (+ vd)`: the operations that also read their destination
    /// (multiply-add, `vslideup`), with the prior value as a separate, tied operand.
    VecAluRRRR {
        /// Operation ([`VecAluOpRRR::reads_vd`] holds).
        op: VecAluOpRRR,
        /// Destination (tied to `vd_src`).
        vd: Writable<Reg>,
        /// The destination's prior value.
        vd_src: Reg,
        /// The vector source (field vs2).
        vs2: Reg,
        /// The other source.
        src1: Reg,
        /// Masking.
        mask: VecMaskMode,
        /// State.
        vstate: VState,
    },
    /// `vd = vs2 op imm5` (`.vi`).
    VecAluRRImm5 {
        /// Operation.
        op: VecAluOpRRImm5,
        /// Destination.
        vd: Writable<Reg>,
        /// Source.
        vs2: Reg,
        /// Immediate (signed or unsigned 5 bits, by operation).
        imm: i8,
        /// Masking.
        mask: VecMaskMode,
        /// State.
        vstate: VState,
    },
    /// `vd = op(src)`: unary vector operations, moves between register files, splats.
    VecAluRR {
        /// Operation.
        op: VecAluOpRR,
        /// Destination (vector, or integer/FP for scalar extraction).
        vd: Writable<Reg>,
        /// Source.
        vs: Reg,
        /// Masking.
        mask: VecMaskMode,
        /// State.
        vstate: VState,
    },
    /// `vd = splat(imm5)` (`vmv.v.i`).
    VecAluRImm5 {
        /// Operation.
        op: VecAluOpRImm5,
        /// Destination.
        vd: Writable<Reg>,
        /// Immediate.
        imm: i8,
        /// State.
        vstate: VState,
    },
    /// Unit-stride load `vle<eew>.v vd, (base)`.
    VecLoad {
        /// Element width in bits (8, 16, 32, 64).
        eew: u8,
        /// Destination.
        vd: Writable<Reg>,
        /// Base address.
        base: Reg,
        /// Masking.
        mask: VecMaskMode,
        /// State.
        vstate: VState,
        /// Trap code of a faulting access.
        trap: Option<TrapCode>,
    },
    /// Unit-stride store `vse<eew>.v vs, (base)`.
    VecStore {
        /// Element width in bits.
        eew: u8,
        /// Value.
        vs: Reg,
        /// Base address.
        base: Reg,
        /// Masking.
        mask: VecMaskMode,
        /// State.
        vstate: VState,
        /// Trap code of a faulting access.
        trap: Option<TrapCode>,
    },
    /// Whole-register move `vmv1r.v` (independent of the vector state).
    VecMovWhole {
        /// Destination.
        vd: Writable<Reg>,
        /// Source.
        vs: Reg,
    },
    /// Whole-register load `vl1re8.v vd, (base)` (independent of the vector state).
    VecLoadWhole {
        /// Destination.
        vd: Writable<Reg>,
        /// Base address.
        base: Reg,
    },
    /// Whole-register store `vs1r.v vs, (base)`.
    VecStoreWhole {
        /// Value.
        vs: Reg,
        /// Base address.
        base: Reg,
    },
}

/// The 32 constants of Zfa's `fli` (as f64), by index; index 1 is the minimum positive
/// normal of the format, 30 infinity, 31 the canonical NaN.
pub fn fli_value(index: u8, width: FpWidth) -> f64 {
    match (index, width) {
        (1, FpWidth::H) => 6.103515625e-05,
        (1, FpWidth::S) => f32::MIN_POSITIVE as f64,
        (1, FpWidth::D) => f64::MIN_POSITIVE,
        // 2^16 overflows half precision: `fli.h` index 29 loads +inf.
        (29, FpWidth::H) => f64::INFINITY,
        (i, _) => fli_table_value(i),
    }
}

/// The table entry of `fli` index `index` as written in assembly (the format-independent
/// constants; index 1 is the format's minimum normal, written `min`).
pub fn fli_table_value(index: u8) -> f64 {
    const T: [f64; 32] = [
        -1.0,
        0.0, // `min`: see fli_value
        1.0 / 65536.0,
        1.0 / 32768.0,
        1.0 / 256.0,
        1.0 / 128.0,
        0.0625,
        0.125,
        0.25,
        0.3125,
        0.375,
        0.4375,
        0.5,
        0.625,
        0.75,
        0.875,
        1.0,
        1.25,
        1.5,
        1.75,
        2.0,
        2.5,
        3.0,
        4.0,
        8.0,
        16.0,
        128.0,
        256.0,
        32768.0,
        65536.0,
        f64::INFINITY,
        f64::NAN,
    ];
    T[(index & 31) as usize]
}

/// The `fli` index loading exactly `v` in format `width`, if there is one (NaN is left
/// to the caller: index 31 is the canonical NaN only).
pub fn fli_index(v: f64, width: FpWidth) -> Option<u8> {
    (0..31u8).find(|&i| !(width == FpWidth::H && i == 29) && fli_value(i, width).to_bits() == v.to_bits())
}

impl Inst {
    /// `rd = rs` (integer).
    pub fn mv(rd: Writable<Reg>, rs: Reg) -> Inst {
        Inst::AluRRImm { op: AluOpRRI::Addi, rd, rs, imm: 0 }
    }
    /// `rd = imm` for a 12-bit immediate.
    pub fn li12(rd: Writable<Reg>, imm: i32) -> Inst {
        Inst::AluRRImm { op: AluOpRRI::Addi, rd, rs: crate::riscv64::regs::zero_reg(), imm }
    }
    /// If this is an unconditional jump with no other effect, its target (an otherwise
    /// empty block holding only it can be skipped).
    pub fn is_plain_jump(&self) -> Option<MachLabel> {
        match self {
            Inst::Jal { dest } => Some(*dest),
            _ => None,
        }
    }
}

/// A vector destination: early (never sharing a register with a source or the mask)
/// where the ISA forbids overlap.
fn vec_def(v: &mut impl OperandVisitor, vd: &mut Writable<Reg>, early: bool) {
    if early { v.reg_early_def(vd) } else { v.reg_def(vd) }
}

impl MachInst for Inst {
    fn is_call(&self) -> bool {
        matches!(self, Inst::Call { .. })
    }

    fn get_operands(&mut self, v: &mut impl OperandVisitor) {
        match self {
            Inst::Nop | Inst::Fence { .. } | Inst::FenceI | Inst::Ecall | Inst::Ebreak | Inst::Udf { .. } => {}
            Inst::Lui { rd, .. } | Inst::Auipc { rd, .. } | Inst::Fli { rd, .. } => v.reg_def(rd),
            Inst::AluRRR { rd, rs1, rs2, .. } | Inst::FpuRRR { rd, rs1, rs2, .. } => {
                v.reg_use(rs1);
                v.reg_use(rs2);
                v.reg_def(rd);
            }
            Inst::AluRRImm { rd, rs, .. } | Inst::AluRR { rd, rs, .. } | Inst::FpuRR { rd, rs, .. } => {
                v.reg_use(rs);
                v.reg_def(rd);
            }
            Inst::Load { rd, from, .. } => {
                from.get_operands(v);
                v.reg_def(rd);
            }
            Inst::Store { src, to, .. } => {
                v.reg_use(src);
                to.get_operands(v);
            }
            Inst::Atomic { op, rd, addr, src, .. } => {
                v.reg_use(addr);
                if !op.is_lr() {
                    v.reg_use(src);
                }
                v.reg_def(rd);
            }
            Inst::FpuRRRR { rd, rs1, rs2, rs3, .. } => {
                v.reg_use(rs1);
                v.reg_use(rs2);
                v.reg_use(rs3);
                v.reg_def(rd);
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
                if let CallDest::Indirect(r) = &mut info.dest {
                    v.reg_use(r);
                }
                for (r, p) in info.uses.iter_mut() {
                    v.reg_fixed_use(r, *p);
                }
            }
            Inst::ExnPayloads { defs } => {
                for (r, p) in defs.iter_mut() {
                    v.reg_fixed_def(r, *p);
                }
            }
            Inst::TrapIf { rs1, rs2, .. } => {
                v.reg_use(rs1);
                v.reg_use(rs2);
            }
            Inst::Select { rd, rs1, rs2, a, b, .. } => {
                v.reg_use(rs1);
                v.reg_use(rs2);
                v.reg_use(a);
                v.reg_use(b);
                v.reg_early_def(rd);
            }
            Inst::BrTable { index, tmp, .. } => {
                v.reg_use(index);
                v.reg_early_def(tmp);
            }
            Inst::LoadExtNameAbs { rd, .. } | Inst::StackAddr { rd, .. } => v.reg_def(rd),
            Inst::Extend { rd, rs, .. } => {
                v.reg_use(rs);
                v.reg_def(rd);
            }
            Inst::LoadConst { rd, .. } => v.reg_def(rd),
            Inst::VecSpill { amode, reg, load } => {
                amode.get_operands(v);
                if *load {
                    v.reg_maybe_fixed(reg, regalloc2::OperandKind::Def, regalloc2::OperandPos::Late);
                } else {
                    v.reg_use(reg);
                }
            }
            Inst::AtomicLoop { narrow, addr, src, expected, dst, t0, t1, .. } => {
                v.reg_use(addr);
                v.reg_use(src);
                v.reg_use(expected);
                if let Some((_, shift)) = narrow {
                    v.reg_use(shift);
                }
                v.reg_early_def(dst);
                v.reg_early_def(t0);
                v.reg_early_def(t1);
            }
            Inst::Jal { .. } => {}
            Inst::CondBr { rs1, rs2, .. } => {
                v.reg_use(rs1);
                v.reg_use(rs2);
            }
            Inst::Jalr { rd, base, .. } => {
                v.reg_use(base);
                v.reg_def(rd);
            }
            Inst::LoadAddr { rd, .. } | Inst::LoadExtName { rd, .. } => v.reg_def(rd),
            Inst::VecSetState { rd, .. } => v.reg_def(rd),
            Inst::VecAluRRR { op, vd, vs2, src1, mask, .. } => {
                v.reg_use(vs2);
                v.reg_use(src1);
                mask.get_operands(v);
                vec_def(v, vd, mask.is_masked() || op.dst_overlap_forbidden());
            }
            Inst::VecAluRRRR { vd, vd_src, vs2, src1, mask, .. } => {
                // vslideup's destination may not overlap vs2; the multiply-adds may overlap
                // anything. The tie to vd_src (operand 2) already keeps vd off vs2 and src1
                // unless they are the same value, which slides never use.
                v.reg_use(vs2);
                v.reg_use(src1);
                v.reg_use(vd_src);
                mask.get_operands(v);
                v.reg_reuse_def(vd, 2);
            }
            Inst::VecAluRRImm5 { op, vd, vs2, mask, .. } => {
                v.reg_use(vs2);
                mask.get_operands(v);
                vec_def(v, vd, mask.is_masked() || op.dst_overlap_forbidden());
            }
            Inst::VecAluRR { op, vd, vs, mask, .. } => {
                if op.has_src() {
                    v.reg_use(vs);
                }
                mask.get_operands(v);
                vec_def(v, vd, mask.is_masked() || op.dst_overlap_forbidden());
            }
            Inst::VecAluRImm5 { vd, .. } => v.reg_def(vd),
            Inst::VecLoad { vd, base, mask, .. } => {
                v.reg_use(base);
                mask.get_operands(v);
                v.reg_def(vd);
            }
            Inst::VecStore { vs, base, mask, .. } => {
                v.reg_use(vs);
                v.reg_use(base);
                mask.get_operands(v);
            }
            Inst::VecMovWhole { vd, vs } => {
                v.reg_use(vs);
                v.reg_def(vd);
            }
            Inst::VecLoadWhole { vd, base } => {
                v.reg_use(base);
                v.reg_def(vd);
            }
            Inst::VecStoreWhole { vs, base } => {
                v.reg_use(vs);
                v.reg_use(base);
            }
        }
    }

    fn is_move(&self) -> Option<(Writable<Reg>, Reg)> {
        match *self {
            Inst::AluRRImm { op: AluOpRRI::Addi, rd, rs, imm: 0 } if rs.class() == RegClass::Int => Some((rd, rs)),
            Inst::FpuRRR { op: FpuOpRRR::Fsgnj, width: FpWidth::D, rd, rs1, rs2, .. } if rs1 == rs2 => Some((rd, rs1)),
            Inst::VecMovWhole { vd, vs } => Some((vd, vs)),
            _ => None,
        }
    }

    fn is_term(&self) -> MachTerminator {
        match self {
            Inst::Rets { .. } | Inst::Udf { .. } | Inst::ReturnCall { .. } => MachTerminator::Ret,
            Inst::Jal { .. } | Inst::CondBr { .. } | Inst::BrTable { .. } => MachTerminator::Branch,
            Inst::Call { info } if info.try_call.is_some() => MachTerminator::Branch,
            _ => MachTerminator::None,
        }
    }

    fn gen_move(dst: Writable<Reg>, src: Reg, _ty: Type) -> Inst {
        match src.class() {
            RegClass::Int => Inst::mv(dst, src),
            RegClass::Float => {
                Inst::FpuRRR { op: FpuOpRRR::Fsgnj, width: FpWidth::D, frm: Frm::Dyn, rd: dst, rs1: src, rs2: src }
            }
            RegClass::Vector => Inst::VecMovWhole { vd: dst, vs: src },
        }
    }

    fn gen_jump(target: MachLabel) -> Inst {
        Inst::Jal { dest: target }
    }

    fn rc_for_type(ty: Type) -> CodegenResult<(&'static [RegClass], &'static [Type])> {
        match ty {
            // f128 is only moved around: its bits live in two integer registers.
            types::F128 => Ok((&[RegClass::Int, RegClass::Int], &[types::I64, types::I64])),
            // Vectors live in the V registers (their own class), not the f registers.
            t if t.is_vector() && t.bits() <= 128 => Ok((&[RegClass::Vector], &[types::I8X16])),
            t => crate::common::rc_for_type(t, "riscv64"),
        }
    }

    fn canonical_type_for_rc(rc: RegClass) -> Type {
        match rc {
            RegClass::Int => types::I64,
            RegClass::Float => types::F64,
            RegClass::Vector => types::I8X16,
        }
    }

    fn pretty_print(&self) -> String {
        crate::riscv64::print::print_inst(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fli_constants_round_trip() {
        for width in FpWidth::ALL {
            for i in 0..31u8 {
                let v = fli_value(i, width);
                let expect = if width == FpWidth::H && i == 29 { 30 } else { i };
                assert_eq!(fli_index(v, width), Some(expect), "{width:?} {i}");
            }
            assert_eq!(fli_index(0.1, width), None);
        }
        assert_eq!(fli_value(1, FpWidth::S), f32::MIN_POSITIVE as f64);
    }

    fn collect(mut inst: Inst) -> Vec<regalloc2::Operand> {
        let mut ops = Vec::new();
        let mut c = kiln_codegen::machinst::reg::OperandCollector::new(&mut ops);
        inst.get_operands(&mut c);
        ops
    }

    #[test]
    fn operands_for_the_allocator() {
        use crate::riscv64::vector::{VState, VecAluOpRRR, VecMaskMode};
        use regalloc2::{OperandConstraint as C, OperandKind as K, OperandPos as P};
        let vr = |i| Reg::virt(i, RegClass::Vector);
        let s = VState::for_lanes(4, 32).unwrap();
        // Multiply-add: vd tied to its prior value (operand 2); the mask in v0.
        let ops = collect(Inst::VecAluRRRR {
            op: VecAluOpRRR::VmaccVV,
            vd: Writable::from_reg(vr(0)),
            vd_src: vr(1),
            vs2: vr(2),
            src1: vr(3),
            mask: VecMaskMode::Masked(vr(4)),
            vstate: s,
        });
        assert_eq!(ops.len(), 5);
        assert_eq!(ops[3].constraint(), C::FixedReg(crate::riscv64::regs::v_preg(0)));
        assert_eq!((ops[4].kind(), ops[4].constraint()), (K::Def, C::Reuse(2)));
        // A widening add may not overlap its sources: early def.
        let ops = collect(Inst::VecAluRRR {
            op: VecAluOpRRR::VwaddVV,
            vd: Writable::from_reg(vr(0)),
            vs2: vr(1),
            src1: vr(2),
            mask: VecMaskMode::Unmasked,
            vstate: s,
        });
        assert_eq!((ops[2].kind(), ops[2].pos()), (K::Def, P::Early));
        // A plain add: late def.
        let ops = collect(Inst::VecAluRRR {
            op: VecAluOpRRR::VaddVV,
            vd: Writable::from_reg(vr(0)),
            vs2: vr(1),
            src1: vr(2),
            mask: VecMaskMode::Unmasked,
            vstate: s,
        });
        assert_eq!((ops[2].kind(), ops[2].pos()), (K::Def, P::Late));
        // Moves are recognized in all three register files.
        let x = |i| Reg::virt(i, RegClass::Int);
        assert!(Inst::gen_move(Writable::from_reg(x(0)), x(1), types::I64).is_move().is_some());
        let f = |i| Reg::virt(i, RegClass::Float);
        assert!(Inst::gen_move(Writable::from_reg(f(0)), f(1), types::F32).is_move().is_some());
        assert!(Inst::gen_move(Writable::from_reg(vr(0)), vr(1), types::I32X4).is_move().is_some());
        assert_eq!(Inst::rc_for_type(types::I128).unwrap().0.len(), 2);
        assert!(Inst::rc_for_type(types::I64.by(4).unwrap()).is_err());
    }

    #[test]
    fn immediates_of_register_immediate_operations() {
        assert!(AluOpRRI::Addi.imm_ok(-2048) && !AluOpRRI::Addi.imm_ok(2048));
        assert!(AluOpRRI::Slli.imm_ok(63) && !AluOpRRI::Slli.imm_ok(64));
        assert!(AluOpRRI::Slliw.imm_ok(31) && !AluOpRRI::Slliw.imm_ok(32));
        assert!(AluOpRRI::SlliUw.imm_ok(63));
    }
}

//! RVV 1.0 forms: the vector state (`vtype` and `vl`), masking, the tables of vector
//! operations with their `funct6`/`funct3` encodings, and the emission-time tracking of the
//! vector state that decides when a `vsetvli` is needed.
//!
//! Every vector instruction carries the [`VState`] it runs in. Emission keeps the state
//! the hardware is known to be in ([`VecEmitState`]): unknown at the start of each block
//! and after calls, set by each `vsetvli`/`vsetivli` emitted. Before an instruction whose
//! state differs from the known one, emission inserts the `vsetivli` that establishes it.
//! Kiln always uses tail- and mask-agnostic policies (`ta, ma`): no value depends on the
//! tail or masked-off elements of a destination, except where an operation's destination
//! is an explicit tied source (`VecAluRRRR`).

use crate::riscv64::encode::enc_opv;
use kiln_codegen::machinst::{OperandVisitor, Reg};

/// Selected element width.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Sew {
    E8 = 0,
    E16 = 1,
    E32 = 2,
    E64 = 3,
}

impl Sew {
    /// Bits per element.
    pub fn bits(self) -> u32 {
        8 << (self as u32)
    }
    /// From a lane width in bits.
    pub fn from_bits(bits: u32) -> Option<Sew> {
        match bits {
            8 => Some(Sew::E8),
            16 => Some(Sew::E16),
            32 => Some(Sew::E32),
            64 => Some(Sew::E64),
            _ => None,
        }
    }
}

/// Register group multiplier.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Lmul {
    Mf8 = 5,
    Mf4 = 6,
    Mf2 = 7,
    M1 = 0,
    M2 = 1,
    M4 = 2,
    M8 = 3,
}

impl Lmul {
    /// The assembler name.
    pub fn name(self) -> &'static str {
        match self {
            Lmul::Mf8 => "mf8",
            Lmul::Mf4 => "mf4",
            Lmul::Mf2 => "mf2",
            Lmul::M1 => "m1",
            Lmul::M2 => "m2",
            Lmul::M4 => "m4",
            Lmul::M8 => "m8",
        }
    }
}

/// The `vtype` register: element width, grouping and the tail/mask policies.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct VType {
    /// Element width.
    pub sew: Sew,
    /// Grouping.
    pub lmul: Lmul,
    /// Tail agnostic.
    pub ta: bool,
    /// Mask agnostic.
    pub ma: bool,
}

impl VType {
    /// The `vtypei` immediate of `vsetvli`/`vsetivli`.
    pub fn encode(self) -> u32 {
        (self.lmul as u32) | (self.sew as u32) << 3 | (self.ta as u32) << 6 | (self.ma as u32) << 7
    }
    /// The assembler operand text (`e32,m1,ta,ma`).
    pub fn show(self) -> String {
        format!(
            "e{},{},{},{}",
            self.sew.bits(),
            self.lmul.name(),
            if self.ta { "ta" } else { "tu" },
            if self.ma { "ma" } else { "mu" }
        )
    }
}

/// The vector state an instruction needs: `vl` (as a constant application vector length)
/// and `vtype`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct VState {
    /// Elements to process (`vsetivli` when ≤ 31, else through `t6`).
    pub avl: u32,
    /// Element width and grouping.
    pub vtype: VType,
}

impl VState {
    /// The state for `lanes` elements of `lane_bits` bits each, with LMUL 1 and agnostic
    /// policies (the 128-bit vector types on VLEN ≥ 128).
    pub fn for_lanes(lanes: u32, lane_bits: u32) -> Option<VState> {
        Some(VState {
            avl: lanes,
            vtype: VType { sew: Sew::from_bits(lane_bits)?, lmul: Lmul::M1, ta: true, ma: true },
        })
    }
}

/// Emission-time knowledge of the hardware vector state.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct VecEmitState {
    known: Option<VState>,
}

impl VecEmitState {
    /// Does running an instruction in `want` need a `vsetvli` first?
    pub fn needs_vsetvli(&self, want: &VState) -> bool {
        self.known != Some(*want)
    }
    /// Record that the hardware is now in `s`.
    pub fn set(&mut self, s: VState) {
        self.known = Some(s);
    }
    /// Forget the state (block start: another predecessor may have changed it; after a
    /// call: the callee may have).
    pub fn clear(&mut self) {
        self.known = None;
    }
    /// The known state.
    pub fn known(&self) -> Option<VState> {
        self.known
    }
}

/// Masking of a vector operation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum VecMaskMode {
    /// All elements (`vm` = 1).
    Unmasked,
    /// Only elements whose bit in the mask is set (`v0.t`); the register is constrained to
    /// `v0`.
    Masked(Reg),
}

impl VecMaskMode {
    /// Is it masked?
    pub fn is_masked(self) -> bool {
        matches!(self, VecMaskMode::Masked(_))
    }
    /// The `vm` bit.
    pub fn vm_bit(self) -> bool {
        !self.is_masked()
    }
    pub(crate) fn get_operands(&mut self, v: &mut impl OperandVisitor) {
        if let VecMaskMode::Masked(r) = self {
            v.reg_fixed_use(r, crate::riscv64::regs::v_preg(0));
        }
    }
}

/// The `funct3` operand categories of OP-V.
#[allow(missing_docs)]
pub mod cat {
    pub const OPIVV: u8 = 0;
    pub const OPFVV: u8 = 1;
    pub const OPMVV: u8 = 2;
    pub const OPIVI: u8 = 3;
    pub const OPIVX: u8 = 4;
    pub const OPFVF: u8 = 5;
    pub const OPMVX: u8 = 6;
}

/// The register file of an operand.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OperandFile {
    /// A vector register.
    V,
    /// An integer register.
    X,
    /// A floating-point register.
    F,
}

impl OperandFile {
    fn of_cat(c: u8) -> OperandFile {
        match c {
            cat::OPIVX | cat::OPMVX => OperandFile::X,
            cat::OPFVF => OperandFile::F,
            _ => OperandFile::V,
        }
    }
}

/// Defines a vector operation enum from `Variant = ("mnemonic", funct6, category)` rows.
macro_rules! vec_table {
    ($(#[$m:meta])* $name:ident { $($v:ident = ($mn:literal, $f6:expr, $cat:ident)),* $(,)? }) => {
        $(#[$m])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum $name { $($v),* }
        impl $name {
            /// Every operation of the table.
            pub const ALL: &'static [$name] = &[$($name::$v),*];
            /// The assembler mnemonic.
            pub fn name(self) -> &'static str { match self { $($name::$v => $mn),* } }
            /// `funct6`.
            pub fn funct6(self) -> u8 { match self { $($name::$v => $f6),* } }
            /// `funct3` (the operand category).
            pub fn funct3(self) -> u8 { match self { $($name::$v => cat::$cat),* } }
        }
    };
}

vec_table!(
    /// Binary vector operations `vd = vs2 op src1`; the category says whether `src1` is a
    /// vector (`.vv`, `.wv`, `.vs`, `.mm`), integer (`.vx`, `.wx`) or FP (`.vf`) register.
    VecAluOpRRR {
        VaddVV = ("vadd.vv", 0b000000, OPIVV), VaddVX = ("vadd.vx", 0b000000, OPIVX),
        VsubVV = ("vsub.vv", 0b000010, OPIVV), VsubVX = ("vsub.vx", 0b000010, OPIVX),
        VrsubVX = ("vrsub.vx", 0b000011, OPIVX),
        VminuVV = ("vminu.vv", 0b000100, OPIVV), VminuVX = ("vminu.vx", 0b000100, OPIVX),
        VminVV = ("vmin.vv", 0b000101, OPIVV), VminVX = ("vmin.vx", 0b000101, OPIVX),
        VmaxuVV = ("vmaxu.vv", 0b000110, OPIVV), VmaxuVX = ("vmaxu.vx", 0b000110, OPIVX),
        VmaxVV = ("vmax.vv", 0b000111, OPIVV), VmaxVX = ("vmax.vx", 0b000111, OPIVX),
        VandVV = ("vand.vv", 0b001001, OPIVV), VandVX = ("vand.vx", 0b001001, OPIVX),
        VorVV = ("vor.vv", 0b001010, OPIVV), VorVX = ("vor.vx", 0b001010, OPIVX),
        VxorVV = ("vxor.vv", 0b001011, OPIVV), VxorVX = ("vxor.vx", 0b001011, OPIVX),
        VrgatherVV = ("vrgather.vv", 0b001100, OPIVV), VrgatherVX = ("vrgather.vx", 0b001100, OPIVX),
        VslideupVX = ("vslideup.vx", 0b001110, OPIVX), VslidedownVX = ("vslidedown.vx", 0b001111, OPIVX),
        VmergeVVM = ("vmerge.vvm", 0b010111, OPIVV), VmergeVXM = ("vmerge.vxm", 0b010111, OPIVX),
        VmseqVV = ("vmseq.vv", 0b011000, OPIVV), VmseqVX = ("vmseq.vx", 0b011000, OPIVX),
        VmsneVV = ("vmsne.vv", 0b011001, OPIVV), VmsneVX = ("vmsne.vx", 0b011001, OPIVX),
        VmsltuVV = ("vmsltu.vv", 0b011010, OPIVV), VmsltuVX = ("vmsltu.vx", 0b011010, OPIVX),
        VmsltVV = ("vmslt.vv", 0b011011, OPIVV), VmsltVX = ("vmslt.vx", 0b011011, OPIVX),
        VmsleuVV = ("vmsleu.vv", 0b011100, OPIVV), VmsleuVX = ("vmsleu.vx", 0b011100, OPIVX),
        VmsleVV = ("vmsle.vv", 0b011101, OPIVV), VmsleVX = ("vmsle.vx", 0b011101, OPIVX),
        VmsgtuVX = ("vmsgtu.vx", 0b011110, OPIVX), VmsgtVX = ("vmsgt.vx", 0b011111, OPIVX),
        VsadduVV = ("vsaddu.vv", 0b100000, OPIVV), VsadduVX = ("vsaddu.vx", 0b100000, OPIVX),
        VsaddVV = ("vsadd.vv", 0b100001, OPIVV), VsaddVX = ("vsadd.vx", 0b100001, OPIVX),
        VssubuVV = ("vssubu.vv", 0b100010, OPIVV), VssubuVX = ("vssubu.vx", 0b100010, OPIVX),
        VssubVV = ("vssub.vv", 0b100011, OPIVV), VssubVX = ("vssub.vx", 0b100011, OPIVX),
        VsllVV = ("vsll.vv", 0b100101, OPIVV), VsllVX = ("vsll.vx", 0b100101, OPIVX),
        VsmulVV = ("vsmul.vv", 0b100111, OPIVV), VsmulVX = ("vsmul.vx", 0b100111, OPIVX),
        VsrlVV = ("vsrl.vv", 0b101000, OPIVV), VsrlVX = ("vsrl.vx", 0b101000, OPIVX),
        VsraVV = ("vsra.vv", 0b101001, OPIVV), VsraVX = ("vsra.vx", 0b101001, OPIVX),
        VnsrlWV = ("vnsrl.wv", 0b101100, OPIVV), VnsrlWX = ("vnsrl.wx", 0b101100, OPIVX),
        VnsraWV = ("vnsra.wv", 0b101101, OPIVV), VnsraWX = ("vnsra.wx", 0b101101, OPIVX),
        VnclipuWV = ("vnclipu.wv", 0b101110, OPIVV), VnclipuWX = ("vnclipu.wx", 0b101110, OPIVX),
        VnclipWV = ("vnclip.wv", 0b101111, OPIVV), VnclipWX = ("vnclip.wx", 0b101111, OPIVX),
        VredsumVS = ("vredsum.vs", 0b000000, OPMVV), VredandVS = ("vredand.vs", 0b000001, OPMVV),
        VredorVS = ("vredor.vs", 0b000010, OPMVV), VredxorVS = ("vredxor.vs", 0b000011, OPMVV),
        VredminuVS = ("vredminu.vs", 0b000100, OPMVV), VredminVS = ("vredmin.vs", 0b000101, OPMVV),
        VredmaxuVS = ("vredmaxu.vs", 0b000110, OPMVV), VredmaxVS = ("vredmax.vs", 0b000111, OPMVV),
        VaadduVV = ("vaaddu.vv", 0b001000, OPMVV), VaadduVX = ("vaaddu.vx", 0b001000, OPMVX),
        VaaddVV = ("vaadd.vv", 0b001001, OPMVV), VaaddVX = ("vaadd.vx", 0b001001, OPMVX),
        Vslide1upVX = ("vslide1up.vx", 0b001110, OPMVX), Vslide1downVX = ("vslide1down.vx", 0b001111, OPMVX),
        VmandnMM = ("vmandn.mm", 0b011000, OPMVV), VmandMM = ("vmand.mm", 0b011001, OPMVV),
        VmorMM = ("vmor.mm", 0b011010, OPMVV), VmxorMM = ("vmxor.mm", 0b011011, OPMVV),
        VmornMM = ("vmorn.mm", 0b011100, OPMVV), VmnandMM = ("vmnand.mm", 0b011101, OPMVV),
        VmnorMM = ("vmnor.mm", 0b011110, OPMVV), VmxnorMM = ("vmxnor.mm", 0b011111, OPMVV),
        VdivuVV = ("vdivu.vv", 0b100000, OPMVV), VdivuVX = ("vdivu.vx", 0b100000, OPMVX),
        VdivVV = ("vdiv.vv", 0b100001, OPMVV), VdivVX = ("vdiv.vx", 0b100001, OPMVX),
        VremuVV = ("vremu.vv", 0b100010, OPMVV), VremuVX = ("vremu.vx", 0b100010, OPMVX),
        VremVV = ("vrem.vv", 0b100011, OPMVV), VremVX = ("vrem.vx", 0b100011, OPMVX),
        VmulhuVV = ("vmulhu.vv", 0b100100, OPMVV), VmulhuVX = ("vmulhu.vx", 0b100100, OPMVX),
        VmulVV = ("vmul.vv", 0b100101, OPMVV), VmulVX = ("vmul.vx", 0b100101, OPMVX),
        VmulhsuVV = ("vmulhsu.vv", 0b100110, OPMVV), VmulhsuVX = ("vmulhsu.vx", 0b100110, OPMVX),
        VmulhVV = ("vmulh.vv", 0b100111, OPMVV), VmulhVX = ("vmulh.vx", 0b100111, OPMVX),
        VmaddVV = ("vmadd.vv", 0b101001, OPMVV), VmaddVX = ("vmadd.vx", 0b101001, OPMVX),
        VnmsubVV = ("vnmsub.vv", 0b101011, OPMVV), VnmsubVX = ("vnmsub.vx", 0b101011, OPMVX),
        VmaccVV = ("vmacc.vv", 0b101101, OPMVV), VmaccVX = ("vmacc.vx", 0b101101, OPMVX),
        VnmsacVV = ("vnmsac.vv", 0b101111, OPMVV), VnmsacVX = ("vnmsac.vx", 0b101111, OPMVX),
        VwadduVV = ("vwaddu.vv", 0b110000, OPMVV), VwadduVX = ("vwaddu.vx", 0b110000, OPMVX),
        VwaddVV = ("vwadd.vv", 0b110001, OPMVV), VwaddVX = ("vwadd.vx", 0b110001, OPMVX),
        VwsubuVV = ("vwsubu.vv", 0b110010, OPMVV), VwsubuVX = ("vwsubu.vx", 0b110010, OPMVX),
        VwsubVV = ("vwsub.vv", 0b110011, OPMVV), VwsubVX = ("vwsub.vx", 0b110011, OPMVX),
        VwadduWV = ("vwaddu.wv", 0b110100, OPMVV), VwadduWX = ("vwaddu.wx", 0b110100, OPMVX),
        VwaddWV = ("vwadd.wv", 0b110101, OPMVV), VwaddWX = ("vwadd.wx", 0b110101, OPMVX),
        VwmuluVV = ("vwmulu.vv", 0b111000, OPMVV), VwmuluVX = ("vwmulu.vx", 0b111000, OPMVX),
        VwmulsuVV = ("vwmulsu.vv", 0b111010, OPMVV), VwmulsuVX = ("vwmulsu.vx", 0b111010, OPMVX),
        VwmulVV = ("vwmul.vv", 0b111011, OPMVV), VwmulVX = ("vwmul.vx", 0b111011, OPMVX),
        VfaddVV = ("vfadd.vv", 0b000000, OPFVV), VfaddVF = ("vfadd.vf", 0b000000, OPFVF),
        VfredusumVS = ("vfredusum.vs", 0b000001, OPFVV),
        VfsubVV = ("vfsub.vv", 0b000010, OPFVV), VfsubVF = ("vfsub.vf", 0b000010, OPFVF),
        VfredosumVS = ("vfredosum.vs", 0b000011, OPFVV),
        VfminVV = ("vfmin.vv", 0b000100, OPFVV), VfminVF = ("vfmin.vf", 0b000100, OPFVF),
        VfredminVS = ("vfredmin.vs", 0b000101, OPFVV),
        VfmaxVV = ("vfmax.vv", 0b000110, OPFVV), VfmaxVF = ("vfmax.vf", 0b000110, OPFVF),
        VfredmaxVS = ("vfredmax.vs", 0b000111, OPFVV),
        VfsgnjVV = ("vfsgnj.vv", 0b001000, OPFVV), VfsgnjVF = ("vfsgnj.vf", 0b001000, OPFVF),
        VfsgnjnVV = ("vfsgnjn.vv", 0b001001, OPFVV), VfsgnjnVF = ("vfsgnjn.vf", 0b001001, OPFVF),
        VfsgnjxVV = ("vfsgnjx.vv", 0b001010, OPFVV), VfsgnjxVF = ("vfsgnjx.vf", 0b001010, OPFVF),
        Vfslide1upVF = ("vfslide1up.vf", 0b001110, OPFVF), Vfslide1downVF = ("vfslide1down.vf", 0b001111, OPFVF),
        VfmergeVFM = ("vfmerge.vfm", 0b010111, OPFVF),
        VmfeqVV = ("vmfeq.vv", 0b011000, OPFVV), VmfeqVF = ("vmfeq.vf", 0b011000, OPFVF),
        VmfleVV = ("vmfle.vv", 0b011001, OPFVV), VmfleVF = ("vmfle.vf", 0b011001, OPFVF),
        VmfltVV = ("vmflt.vv", 0b011011, OPFVV), VmfltVF = ("vmflt.vf", 0b011011, OPFVF),
        VmfneVV = ("vmfne.vv", 0b011100, OPFVV), VmfneVF = ("vmfne.vf", 0b011100, OPFVF),
        VmfgtVF = ("vmfgt.vf", 0b011101, OPFVF), VmfgeVF = ("vmfge.vf", 0b011111, OPFVF),
        VfdivVV = ("vfdiv.vv", 0b100000, OPFVV), VfdivVF = ("vfdiv.vf", 0b100000, OPFVF),
        VfrdivVF = ("vfrdiv.vf", 0b100001, OPFVF),
        VfmulVV = ("vfmul.vv", 0b100100, OPFVV), VfmulVF = ("vfmul.vf", 0b100100, OPFVF),
        VfrsubVF = ("vfrsub.vf", 0b100111, OPFVF),
        VfmaddVV = ("vfmadd.vv", 0b101000, OPFVV), VfmaddVF = ("vfmadd.vf", 0b101000, OPFVF),
        VfnmaddVV = ("vfnmadd.vv", 0b101001, OPFVV), VfnmaddVF = ("vfnmadd.vf", 0b101001, OPFVF),
        VfmsubVV = ("vfmsub.vv", 0b101010, OPFVV), VfmsubVF = ("vfmsub.vf", 0b101010, OPFVF),
        VfnmsubVV = ("vfnmsub.vv", 0b101011, OPFVV), VfnmsubVF = ("vfnmsub.vf", 0b101011, OPFVF),
        VfmaccVV = ("vfmacc.vv", 0b101100, OPFVV), VfmaccVF = ("vfmacc.vf", 0b101100, OPFVF),
        VfnmaccVV = ("vfnmacc.vv", 0b101101, OPFVV), VfnmaccVF = ("vfnmacc.vf", 0b101101, OPFVF),
        VfmsacVV = ("vfmsac.vv", 0b101110, OPFVV), VfmsacVF = ("vfmsac.vf", 0b101110, OPFVF),
        VfnmsacVV = ("vfnmsac.vv", 0b101111, OPFVV), VfnmsacVF = ("vfnmsac.vf", 0b101111, OPFVF),
        VfwaddVV = ("vfwadd.vv", 0b110000, OPFVV), VfwaddVF = ("vfwadd.vf", 0b110000, OPFVF),
        VfwsubVV = ("vfwsub.vv", 0b110010, OPFVV), VfwsubVF = ("vfwsub.vf", 0b110010, OPFVF),
        VfwmulVV = ("vfwmul.vv", 0b111000, OPFVV), VfwmulVF = ("vfwmul.vf", 0b111000, OPFVF),
    }
);

impl VecAluOpRRR {
    /// The register file of `src1`.
    pub fn src1_file(self) -> OperandFile {
        OperandFile::of_cat(self.funct3())
    }
    /// Does the operation also read its destination (multiply-add, `vslideup`)? Such
    /// operations are used through `Inst::VecAluRRRR`.
    pub fn reads_vd(self) -> bool {
        use VecAluOpRRR::*;
        matches!(
            self,
            VmaddVV
                | VmaddVX
                | VnmsubVV
                | VnmsubVX
                | VmaccVV
                | VmaccVX
                | VnmsacVV
                | VnmsacVX
                | VfmaddVV
                | VfmaddVF
                | VfnmaddVV
                | VfnmaddVF
                | VfmsubVV
                | VfmsubVF
                | VfnmsubVV
                | VfnmsubVF
                | VfmaccVV
                | VfmaccVF
                | VfnmaccVV
                | VfnmaccVF
                | VfmsacVV
                | VfmsacVF
                | VfnmsacVV
                | VfnmsacVF
                | VslideupVX
        )
    }
    /// Is the printed operand order `vd, src1, vs2` (multiply-add forms)?
    pub fn src1_first(self) -> bool {
        self.reads_vd() && self != VecAluOpRRR::VslideupVX
    }
    /// Is this a merge (always masked by `v0`, printed with a trailing `v0`)?
    pub fn is_merge(self) -> bool {
        matches!(self, VecAluOpRRR::VmergeVVM | VecAluOpRRR::VmergeVXM | VecAluOpRRR::VfmergeVFM)
    }
    /// Can the operation be masked? (Mask-register logical operations cannot.)
    pub fn maskable(self) -> bool {
        use VecAluOpRRR::*;
        !matches!(self, VmandnMM | VmandMM | VmorMM | VmxorMM | VmornMM | VmnandMM | VmnorMM | VmxnorMM)
    }
    /// Must the destination differ from the sources? Widening and narrowing operations,
    /// gathers, slides and compares writing a mask register may not overlap their sources
    /// (RVV 1.0 §5.2); Kiln keeps them apart with early defs.
    pub fn dst_overlap_forbidden(self) -> bool {
        use VecAluOpRRR::*;
        matches!(
            self,
            VwadduVV
                | VwadduVX
                | VwaddVV
                | VwaddVX
                | VwsubuVV
                | VwsubuVX
                | VwsubVV
                | VwsubVX
                | VwadduWV
                | VwadduWX
                | VwaddWV
                | VwaddWX
                | VwmuluVV
                | VwmuluVX
                | VwmulsuVV
                | VwmulsuVX
                | VwmulVV
                | VwmulVX
                | VfwaddVV
                | VfwaddVF
                | VfwsubVV
                | VfwsubVF
                | VfwmulVV
                | VfwmulVF
                | VnsrlWV
                | VnsrlWX
                | VnsraWV
                | VnsraWX
                | VnclipuWV
                | VnclipuWX
                | VnclipWV
                | VnclipWX
                | VrgatherVV
                | VrgatherVX
                | VslideupVX
                | VslidedownVX
                | Vslide1upVX
                | Vslide1downVX
                | Vfslide1upVF
                | Vfslide1downVF
                | VmseqVV
                | VmseqVX
                | VmsneVV
                | VmsneVX
                | VmsltuVV
                | VmsltuVX
                | VmsltVV
                | VmsltVX
                | VmsleuVV
                | VmsleuVX
                | VmsleVV
                | VmsleVX
                | VmsgtuVX
                | VmsgtVX
                | VmfeqVV
                | VmfeqVF
                | VmfleVV
                | VmfleVF
                | VmfltVV
                | VmfltVF
                | VmfneVV
                | VmfneVF
                | VmfgtVF
                | VmfgeVF
        )
    }
}

vec_table!(
    /// Vector-immediate operations `vd = vs2 op imm5` (`.vi`, `.wi`).
    VecAluOpRRImm5 {
        VaddVI = ("vadd.vi", 0b000000, OPIVI), VrsubVI = ("vrsub.vi", 0b000011, OPIVI),
        VandVI = ("vand.vi", 0b001001, OPIVI), VorVI = ("vor.vi", 0b001010, OPIVI),
        VxorVI = ("vxor.vi", 0b001011, OPIVI), VrgatherVI = ("vrgather.vi", 0b001100, OPIVI),
        VslideupVI = ("vslideup.vi", 0b001110, OPIVI), VslidedownVI = ("vslidedown.vi", 0b001111, OPIVI),
        VmergeVIM = ("vmerge.vim", 0b010111, OPIVI),
        VmseqVI = ("vmseq.vi", 0b011000, OPIVI), VmsneVI = ("vmsne.vi", 0b011001, OPIVI),
        VmsleuVI = ("vmsleu.vi", 0b011100, OPIVI), VmsleVI = ("vmsle.vi", 0b011101, OPIVI),
        VmsgtuVI = ("vmsgtu.vi", 0b011110, OPIVI), VmsgtVI = ("vmsgt.vi", 0b011111, OPIVI),
        VsadduVI = ("vsaddu.vi", 0b100000, OPIVI), VsaddVI = ("vsadd.vi", 0b100001, OPIVI),
        VsllVI = ("vsll.vi", 0b100101, OPIVI), VsrlVI = ("vsrl.vi", 0b101000, OPIVI),
        VsraVI = ("vsra.vi", 0b101001, OPIVI),
        VnsrlWI = ("vnsrl.wi", 0b101100, OPIVI), VnsraWI = ("vnsra.wi", 0b101101, OPIVI),
        VnclipuWI = ("vnclipu.wi", 0b101110, OPIVI), VnclipWI = ("vnclip.wi", 0b101111, OPIVI),
    }
);

impl VecAluOpRRImm5 {
    /// Is the immediate unsigned (0..=31) rather than signed (−16..=15)?
    pub fn imm_unsigned(self) -> bool {
        use VecAluOpRRImm5::*;
        matches!(
            self,
            VrgatherVI
                | VslideupVI
                | VslidedownVI
                | VsllVI
                | VsrlVI
                | VsraVI
                | VnsrlWI
                | VnsraWI
                | VnclipuWI
                | VnclipWI
        )
    }
    /// Is `imm` in range?
    pub fn imm_ok(self, imm: i8) -> bool {
        if self.imm_unsigned() { (0..32).contains(&imm) } else { (-16..16).contains(&imm) }
    }
    /// Must the destination differ from the source?
    pub fn dst_overlap_forbidden(self) -> bool {
        use VecAluOpRRImm5::*;
        matches!(
            self,
            VrgatherVI
                | VslideupVI
                | VslidedownVI
                | VnsrlWI
                | VnsraWI
                | VnclipuWI
                | VnclipWI
                | VmseqVI
                | VmsneVI
                | VmsleuVI
                | VmsleVI
                | VmsgtuVI
                | VmsgtVI
        )
    }
    /// Is this a merge (printed with a trailing `v0`)?
    pub fn is_merge(self) -> bool {
        self == VecAluOpRRImm5::VmergeVIM
    }
}

vec_table!(
    /// Splat of a 5-bit signed immediate.
    VecAluOpRImm5 {
        VmvVI = ("vmv.v.i", 0b010111, OPIVI),
    }
);

/// Where the source of a unary vector operation goes and what fills the other field.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum UnaryShape {
    /// Source in `vs2`, the `vs1` field holds this sub-opcode.
    Vs2(u8),
    /// Source in the `vs1`/`rs1` field, `vs2` is 0.
    Vs1,
    /// No source (`vid.v`): `vs2` = 0, `vs1` = this sub-opcode.
    NoSrc(u8),
    /// The source in both `vs2` and `vs1` (aliases such as `vfneg.v`).
    Both,
}

macro_rules! vec_unary_table {
    ($($v:ident = ($mn:literal, $f6:expr, $cat:ident, $shape:expr, $dst:ident, $src:ident)),* $(,)?) => {
        /// Unary vector operations, moves between register files and splats.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum VecAluOpRR { $($v),* }
        impl VecAluOpRR {
            /// Every operation of the table.
            pub const ALL: &'static [VecAluOpRR] = &[$(VecAluOpRR::$v),*];
            /// The assembler mnemonic.
            pub fn name(self) -> &'static str { match self { $(VecAluOpRR::$v => $mn),* } }
            /// `funct6`.
            pub fn funct6(self) -> u8 { match self { $(VecAluOpRR::$v => $f6),* } }
            /// `funct3`.
            pub fn funct3(self) -> u8 { match self { $(VecAluOpRR::$v => cat::$cat),* } }
            /// Operand placement.
            pub fn shape(self) -> UnaryShape { match self { $(VecAluOpRR::$v => $shape),* } }
            /// Register file of the destination.
            pub fn dst_file(self) -> OperandFile { match self { $(VecAluOpRR::$v => OperandFile::$dst),* } }
            /// Register file of the source.
            pub fn src_file(self) -> OperandFile { match self { $(VecAluOpRR::$v => OperandFile::$src),* } }
        }
    };
}

use UnaryShape::{Both, NoSrc, Vs1, Vs2};
vec_unary_table!(
    VmvVV = ("vmv.v.v", 0b010111, OPIVV, Vs1, V, V),
    VmvVX = ("vmv.v.x", 0b010111, OPIVX, Vs1, V, X),
    VfmvVF = ("vfmv.v.f", 0b010111, OPFVF, Vs1, V, F),
    VmvSX = ("vmv.s.x", 0b010000, OPMVX, Vs1, V, X),
    VfmvSF = ("vfmv.s.f", 0b010000, OPFVF, Vs1, V, F),
    VmvXS = ("vmv.x.s", 0b010000, OPMVV, Vs2(0b00000), X, V),
    VfmvFS = ("vfmv.f.s", 0b010000, OPFVV, Vs2(0b00000), F, V),
    VcpopM = ("vcpop.m", 0b010000, OPMVV, Vs2(0b10000), X, V),
    VfirstM = ("vfirst.m", 0b010000, OPMVV, Vs2(0b10001), X, V),
    VzextVF8 = ("vzext.vf8", 0b010010, OPMVV, Vs2(0b00010), V, V),
    VsextVF8 = ("vsext.vf8", 0b010010, OPMVV, Vs2(0b00011), V, V),
    VzextVF4 = ("vzext.vf4", 0b010010, OPMVV, Vs2(0b00100), V, V),
    VsextVF4 = ("vsext.vf4", 0b010010, OPMVV, Vs2(0b00101), V, V),
    VzextVF2 = ("vzext.vf2", 0b010010, OPMVV, Vs2(0b00110), V, V),
    VsextVF2 = ("vsext.vf2", 0b010010, OPMVV, Vs2(0b00111), V, V),
    VmsbfM = ("vmsbf.m", 0b010100, OPMVV, Vs2(0b00001), V, V),
    VmsofM = ("vmsof.m", 0b010100, OPMVV, Vs2(0b00010), V, V),
    VmsifM = ("vmsif.m", 0b010100, OPMVV, Vs2(0b00011), V, V),
    ViotaM = ("viota.m", 0b010100, OPMVV, Vs2(0b10000), V, V),
    VidV = ("vid.v", 0b010100, OPMVV, NoSrc(0b10001), V, V),
    VfcvtXuFV = ("vfcvt.xu.f.v", 0b010010, OPFVV, Vs2(0b00000), V, V),
    VfcvtXFV = ("vfcvt.x.f.v", 0b010010, OPFVV, Vs2(0b00001), V, V),
    VfcvtFXuV = ("vfcvt.f.xu.v", 0b010010, OPFVV, Vs2(0b00010), V, V),
    VfcvtFXV = ("vfcvt.f.x.v", 0b010010, OPFVV, Vs2(0b00011), V, V),
    VfcvtRtzXuFV = ("vfcvt.rtz.xu.f.v", 0b010010, OPFVV, Vs2(0b00110), V, V),
    VfcvtRtzXFV = ("vfcvt.rtz.x.f.v", 0b010010, OPFVV, Vs2(0b00111), V, V),
    VfwcvtXuFV = ("vfwcvt.xu.f.v", 0b010010, OPFVV, Vs2(0b01000), V, V),
    VfwcvtXFV = ("vfwcvt.x.f.v", 0b010010, OPFVV, Vs2(0b01001), V, V),
    VfwcvtFXuV = ("vfwcvt.f.xu.v", 0b010010, OPFVV, Vs2(0b01010), V, V),
    VfwcvtFXV = ("vfwcvt.f.x.v", 0b010010, OPFVV, Vs2(0b01011), V, V),
    VfwcvtFFV = ("vfwcvt.f.f.v", 0b010010, OPFVV, Vs2(0b01100), V, V),
    VfwcvtRtzXuFV = ("vfwcvt.rtz.xu.f.v", 0b010010, OPFVV, Vs2(0b01110), V, V),
    VfwcvtRtzXFV = ("vfwcvt.rtz.x.f.v", 0b010010, OPFVV, Vs2(0b01111), V, V),
    VfncvtXuFW = ("vfncvt.xu.f.w", 0b010010, OPFVV, Vs2(0b10000), V, V),
    VfncvtXFW = ("vfncvt.x.f.w", 0b010010, OPFVV, Vs2(0b10001), V, V),
    VfncvtFXuW = ("vfncvt.f.xu.w", 0b010010, OPFVV, Vs2(0b10010), V, V),
    VfncvtFXW = ("vfncvt.f.x.w", 0b010010, OPFVV, Vs2(0b10011), V, V),
    VfncvtFFW = ("vfncvt.f.f.w", 0b010010, OPFVV, Vs2(0b10100), V, V),
    VfncvtRodFFW = ("vfncvt.rod.f.f.w", 0b010010, OPFVV, Vs2(0b10101), V, V),
    VfncvtRtzXuFW = ("vfncvt.rtz.xu.f.w", 0b010010, OPFVV, Vs2(0b10110), V, V),
    VfncvtRtzXFW = ("vfncvt.rtz.x.f.w", 0b010010, OPFVV, Vs2(0b10111), V, V),
    VfsqrtV = ("vfsqrt.v", 0b010011, OPFVV, Vs2(0b00000), V, V),
    Vfrsqrt7V = ("vfrsqrt7.v", 0b010011, OPFVV, Vs2(0b00100), V, V),
    Vfrec7V = ("vfrec7.v", 0b010011, OPFVV, Vs2(0b00101), V, V),
    VfclassV = ("vfclass.v", 0b010011, OPFVV, Vs2(0b10000), V, V),
    VfnegV = ("vfneg.v", 0b001001, OPFVV, Both, V, V),
    VfabsV = ("vfabs.v", 0b001010, OPFVV, Both, V, V),
    VmnotM = ("vmnot.m", 0b011101, OPMVV, Both, V, V),
    VmmvM = ("vmmv.m", 0b011001, OPMVV, Both, V, V),
);

impl VecAluOpRR {
    /// Does the operation read a source register?
    pub fn has_src(self) -> bool {
        !matches!(self.shape(), UnaryShape::NoSrc(_))
    }
    /// Can the operation be masked (ops writing a scalar or a whole-register splat
    /// cannot, except `vcpop.m`/`vfirst.m`)?
    pub fn maskable(self) -> bool {
        use VecAluOpRR::*;
        !matches!(self, VmvVV | VmvVX | VfmvVF | VmvSX | VfmvSF | VmvXS | VfmvFS | VmnotM | VmmvM)
    }
    /// Must the destination differ from the source (extensions, widening and narrowing
    /// conversions, the set-before-first family and `viota`)?
    pub fn dst_overlap_forbidden(self) -> bool {
        use VecAluOpRR::*;
        matches!(
            self,
            VzextVF8
                | VsextVF8
                | VzextVF4
                | VsextVF4
                | VzextVF2
                | VsextVF2
                | VfwcvtXuFV
                | VfwcvtXFV
                | VfwcvtFXuV
                | VfwcvtFXV
                | VfwcvtFFV
                | VfwcvtRtzXuFV
                | VfwcvtRtzXFV
                | VfncvtXuFW
                | VfncvtXFW
                | VfncvtFXuW
                | VfncvtFXW
                | VfncvtFFW
                | VfncvtRodFFW
                | VfncvtRtzXuFW
                | VfncvtRtzXFW
                | VmsbfM
                | VmsofM
                | VmsifM
                | ViotaM
        )
    }
    /// The instruction word for hardware registers `vd` and `src` and `vm` bit `vm`.
    pub fn encode(self, vd: u8, src: u8, vm: bool) -> u32 {
        let (vs2, vs1) = match self.shape() {
            UnaryShape::Vs2(sub) => (src, sub),
            UnaryShape::Vs1 => (0, src),
            UnaryShape::NoSrc(sub) => (0, sub),
            UnaryShape::Both => (src, src),
        };
        enc_opv(self.funct6(), vm, vs2, vs1, self.funct3(), vd)
    }
}

/// The `width` field of a unit-stride load/store of `eew`-bit elements.
pub fn mem_width_field(eew: u8) -> u32 {
    match eew {
        8 => 0,
        16 => 5,
        32 => 6,
        _ => 7,
    }
}

/// `vle<eew>.v vd, (rs1)` (`store` = false) or `vse<eew>.v vs3, (rs1)`.
pub fn enc_unit_stride(store: bool, eew: u8, vreg: u8, rs1: u8, vm: bool) -> u32 {
    let op = if store { 0x27 } else { 0x07 };
    op | (vreg as u32 & 31) << 7 | mem_width_field(eew) << 12 | (rs1 as u32 & 31) << 15 | (vm as u32) << 25
}

/// `vl1re8.v vd, (rs1)` (`store` = false) or `vs1r.v vs3, (rs1)`: whole-register access.
pub fn enc_whole_reg(store: bool, vreg: u8, rs1: u8) -> u32 {
    let op = if store { 0x27 } else { 0x07 };
    op | (vreg as u32 & 31) << 7 | (rs1 as u32 & 31) << 15 | 0b01000 << 20 | 1 << 25
}

/// `vmv1r.v vd, vs2`.
pub fn enc_vmv1r(vd: u8, vs2: u8) -> u32 {
    enc_opv(0b100111, true, vs2, 0, cat::OPIVI, vd)
}

/// `vsetvli rd, rs1, vtype`.
pub fn enc_vsetvli(rd: u8, rs1: u8, vtype: VType) -> u32 {
    0x7057 | (rd as u32 & 31) << 7 | (rs1 as u32 & 31) << 15 | vtype.encode() << 20
}

/// `vsetivli rd, uimm, vtype` (`uimm` ≤ 31).
pub fn enc_vsetivli(rd: u8, uimm: u32, vtype: VType) -> u32 {
    debug_assert!(uimm < 32);
    0xc000_7057 | (rd as u32 & 31) << 7 | (uimm & 31) << 15 | vtype.encode() << 20
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vstate_tracking() {
        let a = VState::for_lanes(4, 32).unwrap();
        let b = VState::for_lanes(16, 8).unwrap();
        let mut s = VecEmitState::default();
        assert!(s.needs_vsetvli(&a));
        s.set(a);
        assert!(!s.needs_vsetvli(&a));
        assert!(s.needs_vsetvli(&b));
        s.clear();
        assert!(s.needs_vsetvli(&a));
    }

    #[test]
    fn vtype_immediate() {
        let t = VType { sew: Sew::E32, lmul: Lmul::M1, ta: true, ma: true };
        assert_eq!(t.encode(), 0b1101_0000);
        assert_eq!(t.show(), "e32,m1,ta,ma");
    }
}

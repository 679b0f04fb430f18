//! Lowering of the vector (SIMD) opcodes to RVV 1.0 under `has_v`: every 128-bit (and
//! smaller) vector type runs with the vector state its lane type and count give
//! (`VState::for_lanes`, LMUL 1; widening and narrowing steps run at LMUL ½ so that their
//! wide operand is one register), which emission establishes with `vsetivli` only when
//! it changes.
//!
//! Invariants: a vector value of `n` lanes lives in the low `n` elements of one V register
//! (VLEN = 128 as Cranelift assumes; elements past `n` are unspecified); boolean vectors
//! (compare results) are lanes of all ones or all zeros, turned into a mask register with
//! `vmsne.vi` where an instruction needs one, and masks back into lanes with `vmerge.vim`.
//! Masked instructions are only the merges (`vmerge`, `vfmerge`), whose masked-off
//! elements come from a source: with the mask-agnostic policy any other masked result
//! would be unspecified. Fixed-point operations that depend on `vxrm` (`vaaddu`,
//! `vsmul`, rounding `vnclip`) are avoided or used with a zero shift: the rounding mode is
//! not preserved across calls.

use crate::riscv64::inst::*;
use crate::riscv64::lower::{Ctx, RvLower, unsupported, unsupported_op};
use crate::riscv64::regs::zero_reg;
use crate::riscv64::vector::{
    Lmul, VState, VType, VecAluOpRImm5, VecAluOpRR, VecAluOpRRImm5, VecAluOpRRR, VecMaskMode,
};
use kiln_codegen::machinst::{Reg, Writable};
use kiln_codegen::{CodegenError, CodegenResult};
use kiln_ir::condcodes::{FloatCC, IntCC};
use kiln_ir::memflags::Endianness;
use kiln_ir::trapcode::TrapCode;
use kiln_ir::types::{self, Type};
use kiln_ir::{Inst as IrInst, InstructionData as D, Opcode, Value};

use VecAluOpRR as U;
use VecAluOpRRImm5 as I5;
use VecAluOpRRR as B;

/// The vector state of the vector type `ty` (one lane per element, LMUL 1).
fn vstate(ty: Type) -> CodegenResult<VState> {
    VState::for_lanes(ty.lane_count(), ty.lane_bits()).ok_or_else(|| unsupported(format!("{ty} vectors")))
}

/// `lanes` elements of `bits` bits in half a register (LMUL ½): the narrow side of a
/// widening or narrowing instruction whose wide side is one register.
fn half_state(lanes: u32, bits: u32) -> CodegenResult<VState> {
    let s = VState::for_lanes(lanes, bits).ok_or_else(|| unsupported(format!("{bits}-bit lanes")))?;
    Ok(VState { vtype: VType { lmul: Lmul::Mf2, ..s.vtype }, ..s })
}

/// Is `ty` a vector type this lowering handles (at most 128 bits, lanes of 8 to 64 bits,
/// no f16 lanes: they need Zvfh)?
fn supported_type(ty: Type) -> bool {
    ty.is_vector()
        && !ty.is_dynamic_vector()
        && ty.bits() <= 128
        && matches!(ty.lane_bits(), 8 | 16 | 32 | 64)
        && ty.lane_type() != types::F16
}

impl RvLower<'_> {
    // -------------------------------------------------------------------------------------
    // Small helpers: each allocates its destination and emits one instruction.

    fn vtmp(&self, ctx: Ctx) -> CodegenResult<Writable<Reg>> {
        ctx.alloc_tmp(types::I8X16)
    }

    /// `vs2 op src1`.
    fn vrrr(&self, ctx: Ctx, op: VecAluOpRRR, vs2: Reg, src1: Reg, s: VState) -> CodegenResult<Reg> {
        let vd = self.vtmp(ctx)?;
        ctx.emit(Inst::VecAluRRR { op, vd, vs2, src1, mask: VecMaskMode::Unmasked, vstate: s });
        Ok(vd.to_reg())
    }

    /// An operation that also reads its destination (`vd_src`: the accumulator of the
    /// multiply-adds, the lanes below the offset of `vslideup`).
    fn vrrrr(&self, ctx: Ctx, op: VecAluOpRRR, vd_src: Reg, vs2: Reg, src1: Reg, s: VState) -> CodegenResult<Reg> {
        let vd = self.vtmp(ctx)?;
        ctx.emit(Inst::VecAluRRRR { op, vd, vd_src, vs2, src1, mask: VecMaskMode::Unmasked, vstate: s });
        Ok(vd.to_reg())
    }

    /// `mask ? src1 : vs2` (`vmerge.vvm`, `vmerge.vxm`, `vfmerge.vfm`).
    fn vmerge(&self, ctx: Ctx, op: VecAluOpRRR, vs2: Reg, src1: Reg, mask: Reg, s: VState) -> CodegenResult<Reg> {
        let vd = self.vtmp(ctx)?;
        ctx.emit(Inst::VecAluRRR { op, vd, vs2, src1, mask: VecMaskMode::Masked(mask), vstate: s });
        Ok(vd.to_reg())
    }

    /// `vs2 op imm`.
    fn vrri(&self, ctx: Ctx, op: VecAluOpRRImm5, vs2: Reg, imm: i8, s: VState) -> CodegenResult<Reg> {
        let vd = self.vtmp(ctx)?;
        ctx.emit(Inst::VecAluRRImm5 { op, vd, vs2, imm, mask: VecMaskMode::Unmasked, vstate: s });
        Ok(vd.to_reg())
    }

    /// `mask ? imm : vs2` (`vmerge.vim`).
    fn vmerge_imm(&self, ctx: Ctx, vs2: Reg, imm: i8, mask: Reg, s: VState) -> CodegenResult<Reg> {
        let vd = self.vtmp(ctx)?;
        ctx.emit(Inst::VecAluRRImm5 { op: I5::VmergeVIM, vd, vs2, imm, mask: VecMaskMode::Masked(mask), vstate: s });
        Ok(vd.to_reg())
    }

    /// `op(vs)`, into a register of the operation's destination file.
    fn vrr(&self, ctx: Ctx, op: VecAluOpRR, vs: Reg, s: VState) -> CodegenResult<Reg> {
        use crate::riscv64::vector::OperandFile;
        let vd = match op.dst_file() {
            OperandFile::V => self.vtmp(ctx)?,
            OperandFile::X => ctx.alloc_tmp(types::I64)?,
            OperandFile::F => ctx.alloc_tmp(types::F64)?,
        };
        ctx.emit(Inst::VecAluRR { op, vd, vs, mask: VecMaskMode::Unmasked, vstate: s });
        Ok(vd.to_reg())
    }

    /// Every element `imm` (`vmv.v.i`).
    fn vsplat_imm(&self, ctx: Ctx, imm: i8, s: VState) -> CodegenResult<Reg> {
        let vd = self.vtmp(ctx)?;
        ctx.emit(Inst::VecAluRImm5 { op: VecAluOpRImm5::VmvVI, vd, imm, vstate: s });
        Ok(vd.to_reg())
    }

    /// Every element the low `SEW` bits of the integer `val`.
    fn vsplat_const(&self, ctx: Ctx, val: i64, s: VState) -> CodegenResult<Reg> {
        if (-16..16).contains(&val) {
            return self.vsplat_imm(ctx, val as i8, s);
        }
        let r = self.iconst(ctx, val as u64)?;
        self.vrr(ctx, U::VmvVX, r, s)
    }

    /// The mask of the lanes of the boolean vector `c` that are not zero.
    fn mask_of(&self, ctx: Ctx, c: Reg, s: VState) -> CodegenResult<Reg> {
        self.vrri(ctx, I5::VmsneVI, c, 0, s)
    }

    /// The boolean vector (all-ones or zero lanes) of mask `m`.
    fn bool_of_mask(&self, ctx: Ctx, m: Reg, s: VState) -> CodegenResult<Reg> {
        let z = self.vsplat_imm(ctx, 0, s)?;
        self.vmerge_imm(ctx, z, -1, m, s)
    }

    /// The mask of the lane `lane` alone.
    fn lane_mask(&self, ctx: Ctx, lane: u8, s: VState) -> CodegenResult<Reg> {
        let id = self.vrr(ctx, U::VidV, zero_reg(), s)?;
        self.vrri(ctx, I5::VmseqVI, id, lane as i8, s)
    }

    /// `v` with lane `lane` replaced by the scalar `x` (`vmerge.vxm`/`vfmerge.vfm` under the
    /// mask of that lane).
    fn insert_lane(&self, ctx: Ctx, v: Reg, x: Value, lane: u8, float: bool, s: VState) -> CodegenResult<Reg> {
        let x = self.reg(ctx, x)?;
        let m = self.lane_mask(ctx, lane, s)?;
        self.vmerge(ctx, if float { B::VfmergeVFM } else { B::VmergeVXM }, v, x, m, s)
    }

    /// The address in `amode` in one register.
    fn addr_reg(&self, ctx: Ctx, amode: AMode) -> CodegenResult<Reg> {
        Ok(match amode {
            AMode::RegOffset(r, 0) => r,
            AMode::RegOffset(r, off) if (-2048..2048).contains(&off) => self.rri(ctx, AluOpRRI::Addi, r, off as i32)?,
            AMode::RegOffset(r, off) => {
                let o = self.iconst(ctx, off as u64)?;
                self.rrr(ctx, AluOpRRR::Add, r, o)?
            }
            AMode::Stack(mem) => {
                let rd = self.tmp(ctx)?;
                ctx.emit(Inst::StackAddr { rd, mem });
                rd.to_reg()
            }
            AMode::Label(label) => {
                let rd = self.tmp(ctx)?;
                ctx.emit(Inst::LoadAddr { rd, label });
                rd.to_reg()
            }
        })
    }

    /// The element width and state of a load or store of `ty`: the lane width when the
    /// access is aligned, else bytes (a misaligned element access may fault).
    fn mem_state(&self, ty: Type, aligned: bool) -> CodegenResult<(u8, VState)> {
        if aligned {
            Ok((ty.lane_bits() as u8, vstate(ty)?))
        } else {
            let s = VState::for_lanes(ty.bytes(), 8).ok_or_else(|| unsupported(format!("{ty} access")))?;
            Ok((8, s))
        }
    }

    /// A vector of the 16 (or fewer) bytes `bytes` as `ty`: a splat when every lane is the
    /// same, else a load from the constant pool.
    fn vconst(&self, ctx: Ctx, bytes: &[u8], ty: Type, s: VState) -> CodegenResult<Reg> {
        let lb = (ty.lane_bits() / 8) as usize;
        let lane = |i: usize| {
            let mut v = [0u8; 8];
            v[..lb].copy_from_slice(&bytes[i * lb..(i + 1) * lb]);
            let shift = 64 - 8 * lb as u32;
            ((u64::from_le_bytes(v) << shift) as i64) >> shift
        };
        let n = ty.lane_count() as usize;
        if bytes.len() >= n * lb {
            let first = lane(0);
            if (1..n).all(|i| lane(i) == first) {
                return self.vsplat_const(ctx, first, s);
            }
        }
        let label = ctx.constant_label(bytes);
        let base = self.addr_reg(ctx, AMode::Label(label))?;
        let vd = self.vtmp(ctx)?;
        ctx.emit(Inst::VecLoad {
            eew: ty.lane_bits() as u8,
            vd,
            base,
            mask: VecMaskMode::Unmasked,
            vstate: s,
            trap: None,
        });
        Ok(vd.to_reg())
    }

    /// The canonical NaN of `bits`-bit floats in every lane.
    fn vnan(&self, ctx: Ctx, bits: u32, s: VState) -> CodegenResult<Reg> {
        let nan = if bits == 32 { 0x7fc0_0000 } else { 0x7ff8_0000_0000_0000 };
        self.vsplat_const(ctx, nan, s)
    }

    /// The mask of the lanes where `a cc b` holds (integers).
    fn icmp_mask(&self, ctx: Ctx, cc: IntCC, a: Reg, b: Reg, s: VState) -> CodegenResult<Reg> {
        let (op, x, y) = match cc {
            IntCC::Equal => (B::VmseqVV, a, b),
            IntCC::NotEqual => (B::VmsneVV, a, b),
            IntCC::SignedLessThan => (B::VmsltVV, a, b),
            IntCC::SignedLessThanOrEqual => (B::VmsleVV, a, b),
            IntCC::SignedGreaterThan => (B::VmsltVV, b, a),
            IntCC::SignedGreaterThanOrEqual => (B::VmsleVV, b, a),
            IntCC::UnsignedLessThan => (B::VmsltuVV, a, b),
            IntCC::UnsignedLessThanOrEqual => (B::VmsleuVV, a, b),
            IntCC::UnsignedGreaterThan => (B::VmsltuVV, b, a),
            IntCC::UnsignedGreaterThanOrEqual => (B::VmsleuVV, b, a),
        };
        self.vrrr(ctx, op, x, y, s)
    }

    /// The mask of the lanes where neither `a` nor `b` is NaN.
    fn fcmp_ordered(&self, ctx: Ctx, a: Reg, b: Reg, s: VState) -> CodegenResult<Reg> {
        let qa = self.vrrr(ctx, B::VmfeqVV, a, a, s)?;
        let qb = self.vrrr(ctx, B::VmfeqVV, b, b, s)?;
        self.vrrr(ctx, B::VmandMM, qa, qb, s)
    }

    /// The mask of the lanes where `a < b` or `a > b`.
    fn fcmp_lt_or_gt(&self, ctx: Ctx, a: Reg, b: Reg, s: VState) -> CodegenResult<Reg> {
        let lt = self.vrrr(ctx, B::VmfltVV, a, b, s)?;
        let gt = self.vrrr(ctx, B::VmfltVV, b, a, s)?;
        self.vrrr(ctx, B::VmorMM, lt, gt, s)
    }

    /// The mask of the lanes where `a cc b` holds (floats).
    fn fcmp_mask(&self, ctx: Ctx, cc: FloatCC, a: Reg, b: Reg, s: VState) -> CodegenResult<Reg> {
        // The unordered conditions are the negations of ordered ones.
        let (m, negate) = match cc {
            FloatCC::Equal => (self.vrrr(ctx, B::VmfeqVV, a, b, s)?, false),
            FloatCC::NotEqual => (self.vrrr(ctx, B::VmfneVV, a, b, s)?, false),
            FloatCC::LessThan => (self.vrrr(ctx, B::VmfltVV, a, b, s)?, false),
            FloatCC::LessThanOrEqual => (self.vrrr(ctx, B::VmfleVV, a, b, s)?, false),
            FloatCC::GreaterThan => (self.vrrr(ctx, B::VmfltVV, b, a, s)?, false),
            FloatCC::GreaterThanOrEqual => (self.vrrr(ctx, B::VmfleVV, b, a, s)?, false),
            FloatCC::Ordered => (self.fcmp_ordered(ctx, a, b, s)?, false),
            FloatCC::Unordered => (self.fcmp_ordered(ctx, a, b, s)?, true),
            FloatCC::OrderedNotEqual => (self.fcmp_lt_or_gt(ctx, a, b, s)?, false),
            FloatCC::UnorderedOrEqual => (self.fcmp_lt_or_gt(ctx, a, b, s)?, true),
            FloatCC::UnorderedOrLessThan => (self.vrrr(ctx, B::VmfleVV, b, a, s)?, true),
            FloatCC::UnorderedOrLessThanOrEqual => (self.vrrr(ctx, B::VmfltVV, b, a, s)?, true),
            FloatCC::UnorderedOrGreaterThan => (self.vrrr(ctx, B::VmfleVV, a, b, s)?, true),
            FloatCC::UnorderedOrGreaterThanOrEqual => (self.vrrr(ctx, B::VmfltVV, a, b, s)?, true),
        };
        if negate { self.vrr(ctx, U::VmnotM, m, s) } else { Ok(m) }
    }

    /// `ceil`/`floor`/`trunc`/`nearest` of the float lanes of `x`: lanes with |x| < 2^m
    /// (m the mantissa width) go through an integer (rounding towards zero, or to nearest
    /// even with the default `frm`, as every other float operation assumes) and back,
    /// adjusted by one for `floor`/`ceil`, with the sign of `x` (so −0.5 gives −0.0);
    /// others (integral, infinite, NaN) stay `x`, NaNs quieted by `x + x`.
    fn vround(&self, ctx: Ctx, op: Opcode, x: Reg, bits: u32, s: VState) -> CodegenResult<Reg> {
        let (w, limit) = if bits == 32 { (FpWidth::S, 8388608.0) } else { (FpWidth::D, 4503599627370496.0) };
        let cvt = if op == Opcode::Nearest { U::VfcvtXFV } else { U::VfcvtRtzXFV };
        let i = self.vrr(ctx, cvt, x, s)?;
        let mut f = self.vrr(ctx, U::VfcvtFXV, i, s)?;
        if matches!(op, Opcode::Floor | Opcode::Ceil) {
            let one = self.fconst(ctx, 1.0, w)?;
            // floor: one less where the truncation is above x; ceil: one more where below.
            let (m, adj) = if op == Opcode::Floor {
                (self.vrrr(ctx, B::VmfltVV, x, f, s)?, B::VfsubVF)
            } else {
                (self.vrrr(ctx, B::VmfltVV, f, x, s)?, B::VfaddVF)
            };
            let g = self.vrrr(ctx, adj, f, one, s)?;
            f = self.vmerge(ctx, B::VmergeVVM, f, g, m, s)?;
        }
        let r = self.vrrr(ctx, B::VfsgnjVV, f, x, s)?;
        let lim = self.fconst(ctx, limit, w)?;
        let abs = self.vrr(ctx, U::VfabsV, x, s)?;
        let small = self.vrrr(ctx, B::VmfltVF, abs, lim, s)?;
        let xx = self.vrrr(ctx, B::VfaddVV, x, x, s)?;
        let nan = self.vrrr(ctx, B::VmfneVV, x, x, s)?;
        let other = self.vmerge(ctx, B::VmergeVVM, x, xx, nan, s)?;
        self.vmerge(ctx, B::VmergeVVM, other, r, small, s)
    }

    /// `x` with its lanes narrowed to half their width (signed or unsigned saturation) in
    /// the low half of a register: `vnclip[u].wi 0` at LMUL ½.
    fn vnarrow_half(&self, ctx: Ctx, op: Opcode, x: Reg, in_ty: Type) -> CodegenResult<Reg> {
        let n = in_ty.lane_count();
        let bits = in_ty.lane_bits();
        let x = if op == Opcode::Unarrow {
            // Signed input, unsigned saturation: negative lanes become 0 first.
            self.vrrr(ctx, B::VmaxVX, x, zero_reg(), vstate(in_ty)?)?
        } else {
            x
        };
        let nop = if op == Opcode::Snarrow { I5::VnclipWI } else { I5::VnclipuWI };
        self.vrri(ctx, nop, x, 0, half_state(n, bits / 2)?)
    }

    /// The vector whose low `half` lanes are `lo`'s and whose next ones are `hi`'s.
    fn vconcat_halves(&self, ctx: Ctx, lo: Reg, hi: Reg, half: u32, s: VState) -> CodegenResult<Reg> {
        let cnt = self.iconst(ctx, half as u64)?;
        self.vrrrr(ctx, B::VslideupVX, lo, hi, cnt, s)
    }

    /// The sums of adjacent lane pairs of `x` (`n` lanes of `bits`), in the low `n/2`
    /// lanes at LMUL ½.
    fn vpairwise_half(&self, ctx: Ctx, x: Reg, n: u32, bits: u32) -> CodegenResult<Reg> {
        let hs = half_state(n / 2, bits)?;
        let even = self.vrri(ctx, I5::VnsrlWI, x, 0, hs)?;
        let odd = if bits < 32 {
            self.vrri(ctx, I5::VnsrlWI, x, bits as i8, hs)?
        } else {
            let k = self.iconst(ctx, bits as u64)?;
            self.vrrr(ctx, B::VnsrlWX, x, k, hs)?
        };
        self.vrrr(ctx, B::VaddVV, even, odd, hs)
    }

    /// `sqmul_round_sat` of the `n/2` lanes of `a` and `b` starting at lane `from`, in the
    /// low lanes at LMUL ½: the exact product (widened), plus 2^(bits−2), shifted right by
    /// bits−1, saturated.
    fn vsqmul_half(&self, ctx: Ctx, a: Reg, b: Reg, from: u32, n: u32, bits: u32) -> CodegenResult<Reg> {
        let s = VState::for_lanes(n, bits).ok_or_else(|| unsupported("sqmul_round_sat lanes"))?;
        let (a, b) = if from == 0 {
            (a, b)
        } else {
            (self.vrri(ctx, I5::VslidedownVI, a, from as i8, s)?, self.vrri(ctx, I5::VslidedownVI, b, from as i8, s)?)
        };
        let hs = half_state(n / 2, bits)?;
        let ws = VState::for_lanes(n / 2, bits * 2).ok_or_else(|| unsupported("sqmul_round_sat lanes"))?;
        let p = self.vrrr(ctx, B::VwmulVV, a, b, hs)?;
        let round = self.iconst(ctx, 1u64 << (bits - 2))?;
        let p = self.vrrr(ctx, B::VaddVX, p, round, ws)?;
        let p = self.vrri(ctx, I5::VsraVI, p, (bits - 1) as i8, ws)?;
        self.vrri(ctx, I5::VnclipWI, p, 0, hs)
    }

    /// The number of set bits of each lane of `x` (SWAR: pairs, nibbles, bytes, then a
    /// multiply summing the bytes into the top one).
    fn vpopcnt(&self, ctx: Ctx, x: Reg, bits: u32, s: VState) -> CodegenResult<Reg> {
        let c = |v: u64| (v as i64) as u64;
        let k55 = self.iconst(ctx, c(0x5555_5555_5555_5555))?;
        let k33 = self.iconst(ctx, c(0x3333_3333_3333_3333))?;
        let k0f = self.iconst(ctx, c(0x0f0f_0f0f_0f0f_0f0f))?;
        let t = self.vrri(ctx, I5::VsrlVI, x, 1, s)?;
        let t = self.vrrr(ctx, B::VandVX, t, k55, s)?;
        let x = self.vrrr(ctx, B::VsubVV, x, t, s)?;
        let t = self.vrri(ctx, I5::VsrlVI, x, 2, s)?;
        let t = self.vrrr(ctx, B::VandVX, t, k33, s)?;
        let x = self.vrrr(ctx, B::VandVX, x, k33, s)?;
        let x = self.vrrr(ctx, B::VaddVV, x, t, s)?;
        let t = self.vrri(ctx, I5::VsrlVI, x, 4, s)?;
        let x = self.vrrr(ctx, B::VaddVV, x, t, s)?;
        let x = self.vrrr(ctx, B::VandVX, x, k0f, s)?;
        if bits == 8 {
            return Ok(x);
        }
        let k01 = self.iconst(ctx, c(0x0101_0101_0101_0101))?;
        let x = self.vrrr(ctx, B::VmulVX, x, k01, s)?;
        if bits - 8 < 32 {
            self.vrri(ctx, I5::VsrlVI, x, (bits - 8) as i8, s)
        } else {
            let k = self.iconst(ctx, (bits - 8) as u64)?;
            self.vrrr(ctx, B::VsrlVX, x, k, s)
        }
    }

    // -------------------------------------------------------------------------------------

    /// Lower a vector instruction (one whose result or first operand is a vector).
    pub(crate) fn lower_vector(&self, ctx: Ctx, inst: IrInst, op: Opcode, ty: Type) -> CodegenResult<()> {
        if !self.b.isa.has_v {
            return Err(unsupported(format!("vector {ty} {op} without has_v")));
        }
        let data = *ctx.data(inst);
        let args = ctx.inputs(inst);
        let in_ty = args.first().map(|a| ctx.value_ty(*a)).unwrap_or(ty);
        let vty = if ty.is_vector() { ty } else { in_ty };
        let un = || unsupported_op(op, vty);
        if !supported_type(vty) || (in_ty.is_vector() && !supported_type(in_ty)) {
            return Err(un());
        }
        // Only these give a scalar from a vector; every other result must be a vector (a
        // one-lane "vector" such as the widening of i16x2 is a scalar type).
        let scalar_result = matches!(
            op,
            Opcode::Extractlane | Opcode::VanyTrue | Opcode::VallTrue | Opcode::VhighBits | Opcode::Bitcast
        );
        if !ty.is_vector() && !scalar_result {
            return Err(unsupported(format!("{op} giving {ty} from {in_ty}")));
        }
        let s = vstate(vty)?;
        let lt = vty.lane_type();
        let bits = lt.bits();
        let float = lt.is_float();
        let full = vty.bits() == 128;
        let n = vty.lane_count();
        let res: Reg = match op {
            Opcode::Vconst => {
                let D::UnaryConst { constant, .. } = data else { unreachable!() };
                let c = ctx.f.dfg.constants.get(constant).ok_or_else(|| CodegenError::Other("bad constant".into()))?;
                let bytes: Vec<u8> = c.as_slice().to_vec();
                if bytes.len() < vty.bytes() as usize {
                    return Err(CodegenError::Other(format!("vconst of {} bytes for {vty}", bytes.len())));
                }
                self.vconst(ctx, &bytes[..vty.bytes() as usize], vty, s)?
            }
            Opcode::Uload8x8
            | Opcode::Sload8x8
            | Opcode::Uload16x4
            | Opcode::Sload16x4
            | Opcode::Uload32x2
            | Opcode::Sload32x2 => {
                let D::Load { arg, offset, flags, .. } = data else { unreachable!() };
                let flags = ctx.f.dfg.mem_flags.get(flags);
                if flags.explicit_endianness() == Some(Endianness::Big) {
                    return Err(unsupported(format!("big-endian {op}")));
                }
                let narrow = Type::int(bits / 2).and_then(|t| t.by(n)).ok_or_else(un)?;
                let amode = self.amode(ctx, arg, offset.0)?;
                let base = self.addr_reg(ctx, amode)?;
                let (eew, ls) = self.mem_state(narrow, flags.aligned())?;
                let raw = self.vtmp(ctx)?;
                let trap = flags.trap_code();
                ctx.emit(Inst::VecLoad { eew, vd: raw, base, mask: VecMaskMode::Unmasked, vstate: ls, trap });
                let signed = matches!(op, Opcode::Sload8x8 | Opcode::Sload16x4 | Opcode::Sload32x2);
                self.vrr(ctx, if signed { U::VsextVF2 } else { U::VzextVF2 }, raw.to_reg(), s)?
            }
            Opcode::Bitcast => return self.lower_vector_bitcast(ctx, inst, args[0], ty),
            Opcode::Select | Opcode::SelectSpectreGuard => {
                let flag = self.cond_value_nonzero(ctx, args[0])?;
                let a = self.reg(ctx, args[1])?;
                let b = self.reg(ctx, args[2])?;
                let f = self.vrr(ctx, U::VmvVX, flag, s)?;
                let m = self.mask_of(ctx, f, s)?;
                self.vmerge(ctx, B::VmergeVVM, b, a, m, s)?
            }
            Opcode::Bitselect => {
                // b ^ ((a ^ b) & c)
                let c = self.reg(ctx, args[0])?;
                let a = self.reg(ctx, args[1])?;
                let b = self.reg(ctx, args[2])?;
                let x = self.vrrr(ctx, B::VxorVV, a, b, s)?;
                let y = self.vrrr(ctx, B::VandVV, x, c, s)?;
                self.vrrr(ctx, B::VxorVV, y, b, s)?
            }
            Opcode::Splat => {
                if float {
                    let x = self.reg(ctx, args[0])?;
                    self.vrr(ctx, U::VfmvVF, x, s)?
                } else if let Some(c) = ctx.iconst_signed(args[0]) {
                    self.vsplat_const(ctx, c, s)?
                } else {
                    let x = self.reg(ctx, args[0])?;
                    self.vrr(ctx, U::VmvVX, x, s)?
                }
            }
            Opcode::ScalarToVector => {
                let z = self.vsplat_imm(ctx, 0, s)?;
                self.insert_lane(ctx, z, args[0], 0, float, s)?
            }
            Opcode::Insertlane => {
                let D::TernaryImm8 { imm, .. } = data else { unreachable!() };
                if imm as u32 >= n {
                    return Err(un());
                }
                let v = self.reg(ctx, args[0])?;
                self.insert_lane(ctx, v, args[1], imm, float, s)?
            }
            Opcode::Extractlane => {
                let D::BinaryImm8 { imm, .. } = data else { unreachable!() };
                if imm as u32 >= n {
                    return Err(un());
                }
                let v = self.reg(ctx, args[0])?;
                let v = if imm == 0 { v } else { self.vrri(ctx, I5::VslidedownVI, v, imm as i8, s)? };
                self.vrr(ctx, if float { U::VfmvFS } else { U::VmvXS }, v, s)?
            }

            // ---- integer and float arithmetic -------------------------------------------
            Opcode::Iadd
            | Opcode::Isub
            | Opcode::Band
            | Opcode::Bor
            | Opcode::Bxor
            | Opcode::Imul
            | Opcode::Umulhi
            | Opcode::Smulhi
            | Opcode::Smin
            | Opcode::Smax
            | Opcode::Umin
            | Opcode::Umax
            | Opcode::SaddSat
            | Opcode::UaddSat
            | Opcode::SsubSat
            | Opcode::UsubSat
            | Opcode::Fadd
            | Opcode::Fsub
            | Opcode::Fmul
            | Opcode::Fdiv => {
                let vop = match (op, float) {
                    (Opcode::Band, _) => B::VandVV,
                    (Opcode::Bor, _) => B::VorVV,
                    (Opcode::Bxor, _) => B::VxorVV,
                    (Opcode::Iadd, false) => B::VaddVV,
                    (Opcode::Isub, false) => B::VsubVV,
                    (Opcode::Imul, false) => B::VmulVV,
                    (Opcode::Umulhi, false) => B::VmulhuVV,
                    (Opcode::Smulhi, false) => B::VmulhVV,
                    (Opcode::Smin, false) => B::VminVV,
                    (Opcode::Smax, false) => B::VmaxVV,
                    (Opcode::Umin, false) => B::VminuVV,
                    (Opcode::Umax, false) => B::VmaxuVV,
                    (Opcode::SaddSat, false) => B::VsaddVV,
                    (Opcode::UaddSat, false) => B::VsadduVV,
                    (Opcode::SsubSat, false) => B::VssubVV,
                    (Opcode::UsubSat, false) => B::VssubuVV,
                    (Opcode::Fadd, true) => B::VfaddVV,
                    (Opcode::Fsub, true) => B::VfsubVV,
                    (Opcode::Fmul, true) => B::VfmulVV,
                    (Opcode::Fdiv, true) => B::VfdivVV,
                    _ => return Err(un()),
                };
                let a = self.reg(ctx, args[0])?;
                let b = self.reg(ctx, args[1])?;
                self.vrrr(ctx, vop, a, b, s)?
            }
            Opcode::AvgRound if !float => {
                // (a >> 1) + (b >> 1) + ((a | b) & 1), without vaaddu's dependence on vxrm.
                let a = self.reg(ctx, args[0])?;
                let b = self.reg(ctx, args[1])?;
                let ha = self.vrri(ctx, I5::VsrlVI, a, 1, s)?;
                let hb = self.vrri(ctx, I5::VsrlVI, b, 1, s)?;
                let sum = self.vrrr(ctx, B::VaddVV, ha, hb, s)?;
                let o = self.vrrr(ctx, B::VorVV, a, b, s)?;
                let o = self.vrri(ctx, I5::VandVI, o, 1, s)?;
                self.vrrr(ctx, B::VaddVV, sum, o, s)?
            }
            Opcode::SqmulRoundSat if !float && full && matches!(bits, 16 | 32) => {
                let a = self.reg(ctx, args[0])?;
                let b = self.reg(ctx, args[1])?;
                let lo = self.vsqmul_half(ctx, a, b, 0, n, bits)?;
                let hi = self.vsqmul_half(ctx, a, b, n / 2, n, bits)?;
                self.vconcat_halves(ctx, lo, hi, n / 2, s)?
            }
            Opcode::IaddPairwise if !float && full && bits < 64 => {
                let a = self.reg(ctx, args[0])?;
                let b = self.reg(ctx, args[1])?;
                let lo = self.vpairwise_half(ctx, a, n, bits)?;
                let hi = self.vpairwise_half(ctx, b, n, bits)?;
                self.vconcat_halves(ctx, lo, hi, n / 2, s)?
            }
            Opcode::Ineg if !float => {
                let x = self.reg(ctx, args[0])?;
                self.vrri(ctx, I5::VrsubVI, x, 0, s)?
            }
            Opcode::Iabs if !float => {
                let x = self.reg(ctx, args[0])?;
                let neg = self.vrri(ctx, I5::VrsubVI, x, 0, s)?;
                self.vrrr(ctx, B::VmaxVV, x, neg, s)?
            }
            Opcode::Bnot => {
                let x = self.reg(ctx, args[0])?;
                self.vrri(ctx, I5::VxorVI, x, -1, s)?
            }
            Opcode::Popcnt if !float => {
                let x = self.reg(ctx, args[0])?;
                self.vpopcnt(ctx, x, bits, s)?
            }
            Opcode::Ishl | Opcode::Ushr | Opcode::Sshr if !float => {
                let (iop, xop) = match op {
                    Opcode::Ishl => (I5::VsllVI, B::VsllVX),
                    Opcode::Ushr => (I5::VsrlVI, B::VsrlVX),
                    _ => (I5::VsraVI, B::VsraVX),
                };
                let x = self.reg(ctx, args[0])?;
                // The hardware uses the low log2(SEW) bits of the count: the CLIF modulo.
                match ctx.iconst_bits(args[1]).map(|c| (c & (bits as u64 - 1)) as i8) {
                    Some(k) if k < 32 => self.vrri(ctx, iop, x, k, s)?,
                    _ => {
                        let amt = ctx.put_value_in_regs(args[1])?.reg(0);
                        self.vrrr(ctx, xop, x, amt, s)?
                    }
                }
            }
            Opcode::Icmp => {
                let D::IntCompare { cond, .. } = data else { unreachable!() };
                let a = self.reg(ctx, args[0])?;
                let b = self.reg(ctx, args[1])?;
                let m = self.icmp_mask(ctx, cond, a, b, s)?;
                self.bool_of_mask(ctx, m, s)?
            }
            Opcode::Fcmp if in_ty.lane_type().is_float() => {
                let D::FloatCompare { cond, .. } = data else { unreachable!() };
                let a = self.reg(ctx, args[0])?;
                let b = self.reg(ctx, args[1])?;
                let m = self.fcmp_mask(ctx, cond, a, b, s)?;
                self.bool_of_mask(ctx, m, s)?
            }
            Opcode::VanyTrue | Opcode::VallTrue => {
                let x = self.reg(ctx, args[0])?;
                let mop = if op == Opcode::VanyTrue { I5::VmsneVI } else { I5::VmseqVI };
                let m = self.vrri(ctx, mop, x, 0, s)?;
                let cnt = self.vrr(ctx, U::VcpopM, m, s)?;
                if op == Opcode::VanyTrue {
                    // cnt != 0
                    self.rrr(ctx, AluOpRRR::Sltu, zero_reg(), cnt)?
                } else {
                    // cnt == 0
                    self.rri(ctx, AluOpRRI::Sltiu, cnt, 1)?
                }
            }
            Opcode::VhighBits => {
                let x = self.reg(ctx, args[0])?;
                let m = self.vrrr(ctx, B::VmsltVX, x, zero_reg(), s)?;
                let s64 = VState::for_lanes(2, 64).ok_or_else(un)?;
                let r = self.vrr(ctx, U::VmvXS, m, s64)?;
                // Mask bits past the lane count are unspecified.
                if n <= 11 {
                    self.rri(ctx, AluOpRRI::Andi, r, (1 << n) - 1)?
                } else {
                    let t = self.rri(ctx, AluOpRRI::Slli, r, 64 - n as i32)?;
                    self.rri(ctx, AluOpRRI::Srli, t, 64 - n as i32)?
                }
            }
            Opcode::Fneg | Opcode::Fabs | Opcode::Sqrt if float => {
                let x = self.reg(ctx, args[0])?;
                let u = match op {
                    Opcode::Fneg => U::VfnegV,
                    Opcode::Fabs => U::VfabsV,
                    _ => U::VfsqrtV,
                };
                self.vrr(ctx, u, x, s)?
            }
            Opcode::Fcopysign if float => {
                let a = self.reg(ctx, args[0])?;
                let b = self.reg(ctx, args[1])?;
                self.vrrr(ctx, B::VfsgnjVV, a, b, s)?
            }
            Opcode::Fma if float => {
                let a = self.reg(ctx, args[0])?;
                let b = self.reg(ctx, args[1])?;
                let c = self.reg(ctx, args[2])?;
                self.vrrrr(ctx, B::VfmaccVV, c, a, b, s)?
            }
            Opcode::Fmin | Opcode::Fmax if float => {
                // vfmin/vfmax order −0 below +0 but return the other operand for one NaN:
                // lanes with a NaN get the canonical NaN.
                let a = self.reg(ctx, args[0])?;
                let b = self.reg(ctx, args[1])?;
                let r = self.vrrr(ctx, if op == Opcode::Fmin { B::VfminVV } else { B::VfmaxVV }, a, b, s)?;
                let ord = self.fcmp_mask(ctx, FloatCC::Ordered, a, b, s)?;
                let nan = self.vnan(ctx, bits, s)?;
                self.vmerge(ctx, B::VmergeVVM, nan, r, ord, s)?
            }
            Opcode::Ceil | Opcode::Floor | Opcode::Trunc | Opcode::Nearest if float => {
                let x = self.reg(ctx, args[0])?;
                self.vround(ctx, op, x, bits, s)?
            }

            // ---- conversions ------------------------------------------------------------
            Opcode::FcvtFromSint | Opcode::FcvtFromUint if float && in_ty.lane_bits() == bits => {
                let x = self.reg(ctx, args[0])?;
                self.vrr(ctx, if op == Opcode::FcvtFromSint { U::VfcvtFXV } else { U::VfcvtFXuV }, x, s)?
            }
            Opcode::FcvtToSintSat | Opcode::FcvtToUintSat
                if in_ty.lane_type().is_float() && in_ty.lane_bits() == bits =>
            {
                // The conversion saturates; NaN lanes give 0.
                let x = self.reg(ctx, args[0])?;
                let cvt = if op == Opcode::FcvtToSintSat { U::VfcvtRtzXFV } else { U::VfcvtRtzXuFV };
                let r = self.vrr(ctx, cvt, x, s)?;
                let nan = self.vrrr(ctx, B::VmfneVV, x, x, s)?;
                self.vmerge_imm(ctx, r, 0, nan, s)?
            }
            Opcode::FvpromoteLow if ty == types::F64X2 && in_ty == types::F32X4 => {
                let x = self.reg(ctx, args[0])?;
                self.vrr(ctx, U::VfwcvtFFV, x, half_state(2, 32)?)?
            }
            Opcode::Fvdemote if ty == types::F32X4 && in_ty == types::F64X2 => {
                let x = self.reg(ctx, args[0])?;
                let lo = self.vrr(ctx, U::VfncvtFFW, x, half_state(2, 32)?)?;
                // The upper two lanes are zero.
                let id = self.vrr(ctx, U::VidV, zero_reg(), s)?;
                let m = self.vrri(ctx, I5::VmsgtuVI, id, 1, s)?;
                self.vmerge_imm(ctx, lo, 0, m, s)?
            }
            Opcode::SwidenLow | Opcode::SwidenHigh | Opcode::UwidenLow | Opcode::UwidenHigh if !float => {
                let x = self.reg(ctx, args[0])?;
                let x = if matches!(op, Opcode::SwidenHigh | Opcode::UwidenHigh) {
                    self.vrri(ctx, I5::VslidedownVI, x, n as i8, vstate(in_ty)?)?
                } else {
                    x
                };
                let signed = matches!(op, Opcode::SwidenLow | Opcode::SwidenHigh);
                self.vrr(ctx, if signed { U::VsextVF2 } else { U::VzextVF2 }, x, s)?
            }
            Opcode::Snarrow | Opcode::Unarrow | Opcode::Uunarrow if !float && full => {
                let a = self.reg(ctx, args[0])?;
                let b = self.reg(ctx, args[1])?;
                let lo = self.vnarrow_half(ctx, op, a, in_ty)?;
                let hi = self.vnarrow_half(ctx, op, b, in_ty)?;
                self.vconcat_halves(ctx, lo, hi, n / 2, s)?
            }

            // ---- permutations -----------------------------------------------------------
            Opcode::Shuffle if vty == types::I8X16 => {
                let D::Shuffle { mask, .. } = data else { unreachable!() };
                let idx: Vec<u8> = ctx
                    .f
                    .dfg
                    .immediates
                    .get(mask)
                    .ok_or_else(|| CodegenError::Other("bad shuffle mask".into()))?
                    .as_slice()
                    .to_vec();
                if idx.len() != 16 {
                    return Err(CodegenError::Other("shuffle mask of other than 16 bytes".into()));
                }
                let a = self.reg(ctx, args[0])?;
                let b = self.reg(ctx, args[1])?;
                // vrgather gives 0 for indices past the last element.
                if idx.iter().all(|&i| i < 16) {
                    let iv = self.vconst(ctx, &idx, vty, s)?;
                    self.vrrr(ctx, B::VrgatherVV, a, iv, s)?
                } else if idx.iter().all(|&i| (16..32).contains(&i)) {
                    let shifted: Vec<u8> = idx.iter().map(|&i| i - 16).collect();
                    let iv = self.vconst(ctx, &shifted, vty, s)?;
                    self.vrrr(ctx, B::VrgatherVV, b, iv, s)?
                } else {
                    let iv = self.vconst(ctx, &idx, vty, s)?;
                    let ra = self.vrrr(ctx, B::VrgatherVV, a, iv, s)?;
                    // Indices below 16 wrap to 240 and above: 0 from b.
                    let ib = self.vrri(ctx, I5::VaddVI, iv, -16, s)?;
                    let rb = self.vrrr(ctx, B::VrgatherVV, b, ib, s)?;
                    self.vrrr(ctx, B::VorVV, ra, rb, s)?
                }
            }
            Opcode::Swizzle if vty == types::I8X16 => {
                let x = self.reg(ctx, args[0])?;
                let i = self.reg(ctx, args[1])?;
                self.vrrr(ctx, B::VrgatherVV, x, i, s)?
            }
            _ => return Err(un()),
        };
        let out = ctx.f.dfg.inst_results(inst)[0];
        ctx.alias_value(out, res)
    }

    /// A vector load.
    pub(crate) fn lower_vector_load(
        &self,
        ctx: Ctx,
        inst: IrInst,
        amode: AMode,
        trap: Option<TrapCode>,
        aligned: bool,
        ty: Type,
    ) -> CodegenResult<()> {
        if !self.b.isa.has_v {
            return Err(unsupported(format!("{ty} load without has_v")));
        }
        if !supported_type(ty) {
            return Err(unsupported(format!("{ty} load")));
        }
        let base = self.addr_reg(ctx, amode)?;
        let (eew, s) = self.mem_state(ty, aligned)?;
        let vd = ctx.output_reg(inst, 0)?;
        ctx.emit(Inst::VecLoad { eew, vd, base, mask: VecMaskMode::Unmasked, vstate: s, trap });
        Ok(())
    }

    /// A vector store.
    pub(crate) fn lower_vector_store(
        &self,
        ctx: Ctx,
        v: Value,
        amode: AMode,
        trap: Option<TrapCode>,
        aligned: bool,
        ty: Type,
    ) -> CodegenResult<()> {
        if !self.b.isa.has_v {
            return Err(unsupported(format!("{ty} store without has_v")));
        }
        if !supported_type(ty) {
            return Err(unsupported(format!("{ty} store")));
        }
        let vs = self.reg(ctx, v)?;
        let base = self.addr_reg(ctx, amode)?;
        let (eew, s) = self.mem_state(ty, aligned)?;
        ctx.emit(Inst::VecStore { eew, vs, base, mask: VecMaskMode::Unmasked, vstate: s, trap });
        Ok(())
    }

    /// A bitcast to or from a vector type: the same register between vector types
    /// (a byte permutation for big-endian lane order when the lane sizes differ), element
    /// moves between vectors and scalars.
    pub(crate) fn lower_vector_bitcast(&self, ctx: Ctx, inst: IrInst, x: Value, ty: Type) -> CodegenResult<()> {
        let src_ty = ctx.value_ty(x);
        let vty = if ty.is_vector() { ty } else { src_ty };
        let un = || unsupported(format!("bitcast from {src_ty} to {ty}"));
        if !self.b.isa.has_v || src_ty.bits() != ty.bits() || !supported_type(vty) {
            return Err(un());
        }
        let D::LoadNoOffset { flags, .. } = *ctx.data(inst) else {
            return Err(CodegenError::Other("bitcast without flags".into()));
        };
        let big = ctx.f.dfg.mem_flags.get(flags).explicit_endianness() == Some(Endianness::Big);
        let out = ctx.f.dfg.inst_results(inst)[0];
        if src_ty.is_vector() && ty.is_vector() {
            if src_ty.is_vector() && !supported_type(src_ty) {
                return Err(un());
            }
            let r = self.reg(ctx, x)?;
            let (a, b) = ((src_ty.lane_bits() / 8) as usize, (ty.lane_bits() / 8) as usize);
            if !big || a == b {
                return ctx.alias_value(out, r);
            }
            // Big-endian lane order: reverse the bytes within each source lane, then
            // within each destination lane.
            let swap = |i: usize, k: usize| i / k * k + (k - 1 - i % k);
            let nbytes = ty.bytes() as usize;
            let idx: Vec<u8> = (0..nbytes).map(|i| swap(swap(i, b), a) as u8).collect();
            let bt = types::I8.by(nbytes as u32).ok_or_else(un)?;
            let bs = vstate(bt)?;
            let iv = self.vconst(ctx, &idx, bt, bs)?;
            let p = self.vrrr(ctx, B::VrgatherVV, r, iv, bs)?;
            return ctx.alias_value(out, p);
        }
        if big {
            return Err(un());
        }
        // Between a vector and a scalar of the same size.
        let bits = ty.bits();
        let es = VState::for_lanes(if bits == 128 { 2 } else { 1 }, bits.min(64)).ok_or_else(un)?;
        if ty.is_vector() {
            let r = ctx.put_value_in_regs(x)?;
            let v = if src_ty == types::I128 || src_ty == types::F128 {
                let t = self.vrr(ctx, U::VmvVX, r.reg(0), es)?;
                let vd = self.vtmp(ctx)?;
                ctx.emit(Inst::VecAluRRR {
                    op: B::Vslide1downVX,
                    vd,
                    vs2: t,
                    src1: r.reg(1),
                    mask: VecMaskMode::Unmasked,
                    vstate: es,
                });
                vd.to_reg()
            } else if matches!(src_ty, types::F32 | types::F64) {
                self.vrr(ctx, U::VfmvSF, r.reg(0), es)?
            } else if src_ty.is_int() && bits >= 32 {
                self.vrr(ctx, U::VmvSX, r.reg(0), es)?
            } else {
                return Err(un());
            };
            return ctx.alias_value(out, v);
        }
        let v = self.reg(ctx, x)?;
        if ty == types::I128 || ty == types::F128 {
            let lo = self.vrr(ctx, U::VmvXS, v, es)?;
            let t = self.vrri(ctx, I5::VslidedownVI, v, 1, es)?;
            let hi = self.vrr(ctx, U::VmvXS, t, es)?;
            let dst = ctx.output_regs(inst, 0)?;
            ctx.emit(Inst::mv(Writable::from_reg(dst.reg(0)), lo));
            ctx.emit(Inst::mv(Writable::from_reg(dst.reg(1)), hi));
            return Ok(());
        }
        let r = if matches!(ty, types::F32 | types::F64) {
            self.vrr(ctx, U::VfmvFS, v, es)?
        } else if ty.is_int() && bits >= 32 {
            self.vrr(ctx, U::VmvXS, v, es)?
        } else {
            return Err(un());
        };
        ctx.alias_value(out, r)
    }
}

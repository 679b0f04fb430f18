//! Lowering of vector (SIMD) operations to SSE/AVX instructions: a child of `lower.rs`,
//! reached from its `lower_inst` for every instruction whose result or first operand is a
//! vector, and from its load/store lowering for vector accesses.
//!
//! Invariants:
//! - A vector of up to 128 bits lives in one XMM register, lane 0 in the low bits; the bits
//!   above a small vector (i8x8, i32x2, …) are unspecified, so only operations whose low
//!   lanes do not depend on them are lowered for small vectors (the others are
//!   `unsupported`).
//! - SSE2 is the baseline; SSSE3/SSE4.1/SSE4.2/AVX/AVX2/FMA/AVX-512 forms are used only
//!   when the target line enables them, and an operation with no sequence for the enabled
//!   extensions is an `unsupported: <op> <type> on x86_64` error.
//! - With AVX every SSE operation takes its three-operand VEX form (`vex`); legacy forms
//!   tie the destination to the first source and the register allocator adds the copy.
//!   Legacy packed forms need 16-byte aligned memory operands, so only constant-pool
//!   operands (aligned by the pool) and loads marked `aligned` are folded into them;
//!   under AVX any 128-bit load that can be merged is.
//! - Results agree bit for bit with the interpreter except for the bits of NaN results,
//!   which the NaN rule (`kiln_ir::interp`) leaves open: `fmin`/`fmax` order −0 below +0
//!   and give x86's conventional NaNs (the canonical NaN under
//!   `enable_nan_canonicalization`); saturating conversions give 0 for NaN.

use super::*;

/// The CLIF `FloatCC` as a `cmpps` predicate, with the operands swapped when `swap`; `None`
/// for the two conditions that need two compares without AVX.
fn cmpps_pred(cc: FloatCC, avx: bool) -> Option<(bool, u8)> {
    use FloatCC::*;
    Some(match cc {
        Equal => (false, 0),
        LessThan => (false, 1),
        LessThanOrEqual => (false, 2),
        Unordered => (false, 3),
        NotEqual => (false, 4),
        UnorderedOrGreaterThanOrEqual => (false, 5),
        UnorderedOrGreaterThan => (false, 6),
        Ordered => (false, 7),
        GreaterThan => (true, 1),
        GreaterThanOrEqual => (true, 2),
        UnorderedOrLessThanOrEqual => (true, 5),
        UnorderedOrLessThan => (true, 6),
        UnorderedOrEqual if avx => (false, 8),
        OrderedNotEqual if avx => (false, 12),
        _ => return None,
    })
}

/// `bytes` repeated to 16 bytes (a splatted lane constant).
fn splat_bytes(lane: &[u8]) -> [u8; 16] {
    let mut b = [0u8; 16];
    for (i, x) in b.iter_mut().enumerate() {
        *x = lane[i % lane.len()];
    }
    b
}

/// A constant with every lane of `bits` bits set to `v`.
fn lanes_const(bits: u32, v: u64) -> [u8; 16] {
    splat_bytes(&v.to_le_bytes()[..(bits / 8) as usize])
}

impl X64Lower<'_> {
    fn vex(&self) -> bool {
        self.b.isa.has_avx
    }

    fn need(&self, ok: bool, op: Opcode, ty: Type, ext: &str) -> CodegenResult<()> {
        if ok { Ok(()) } else { Err(unsupported(format!("{ty} {op} without {ext}"))) }
    }

    /// `dst = a op b` (two-source form).
    fn vbin(&self, ctx: Ctx, op: SseOp, a: Reg, b: RegMem) -> CodegenResult<Reg> {
        let dst = self.tmp(ctx, types::I8X16)?;
        ctx.emit(Inst::XmmRmR { op, src1: a, src2: b, dst, vex: self.vex() || op.vex_only() });
        Ok(dst.to_reg())
    }

    fn vbin_r(&self, ctx: Ctx, op: SseOp, a: Reg, b: Reg) -> CodegenResult<Reg> {
        self.vbin(ctx, op, a, RegMem::Reg(b))
    }

    fn vbin_imm(&self, ctx: Ctx, op: SseOp, a: Reg, b: RegMem, imm: u8) -> CodegenResult<Reg> {
        let dst = self.tmp(ctx, types::I8X16)?;
        ctx.emit(Inst::XmmRmRImm { op, src1: a, src2: b, imm, dst, vex: self.vex() || op.vex_only() });
        Ok(dst.to_reg())
    }

    fn vun(&self, ctx: Ctx, op: SseOp, src: RegMem) -> CodegenResult<Reg> {
        let dst = self.tmp(ctx, types::I8X16)?;
        ctx.emit(Inst::XmmUnaryRmR { op, src, dst, vex: self.vex() || op.vex_only() });
        Ok(dst.to_reg())
    }

    fn vun_imm(&self, ctx: Ctx, op: SseOp, src: Reg, imm: u8) -> CodegenResult<Reg> {
        let dst = self.tmp(ctx, types::I8X16)?;
        ctx.emit(Inst::XmmUnaryRmRImm { op, src: RegMem::Reg(src), imm, dst, vex: self.vex() || op.vex_only() });
        Ok(dst.to_reg())
    }

    fn vshift_imm(&self, ctx: Ctx, op: XmmShiftImmOp, src: Reg, imm: u8) -> CodegenResult<Reg> {
        let dst = self.tmp(ctx, types::I8X16)?;
        ctx.emit(Inst::XmmShiftImm { op, src, imm, dst, vex: self.vex() });
        Ok(dst.to_reg())
    }

    fn vzero(&self, ctx: Ctx) -> CodegenResult<Reg> {
        let dst = self.tmp(ctx, types::I8X16)?;
        ctx.emit(Inst::XmmZero { dst });
        Ok(dst.to_reg())
    }

    fn vones(&self, ctx: Ctx) -> CodegenResult<Reg> {
        let dst = self.tmp(ctx, types::I8X16)?;
        ctx.emit(Inst::XmmOnes { dst });
        Ok(dst.to_reg())
    }

    /// A 16-byte constant in a register (zero and all-ones without a load).
    fn vconst_reg(&self, ctx: Ctx, bytes: &[u8; 16]) -> CodegenResult<Reg> {
        if bytes.iter().all(|b| *b == 0xff) {
            return self.vones(ctx);
        }
        self.xmm_constant(ctx, bytes, types::I8X16)
    }

    fn vnot(&self, ctx: Ctx, x: Reg) -> CodegenResult<Reg> {
        let ones = self.vones(ctx)?;
        self.vbin_r(ctx, SseOp::Pxor, x, ones)
    }

    /// `mask ? a : b` lane by lane for a mask of all-ones/all-zeros lanes (or bit by bit).
    fn vbitselect(&self, ctx: Ctx, mask: Reg, a: Reg, b: Reg) -> CodegenResult<Reg> {
        let t = self.vbin_r(ctx, SseOp::Pand, a, mask)?;
        let f = self.vbin_r(ctx, SseOp::Pandn, mask, b)?;
        self.vbin_r(ctx, SseOp::Por, t, f)
    }

    /// A general-purpose register to the low lane of an XMM register (upper lanes zeroed).
    fn gpr_to_xmm(&self, ctx: Ctx, r: Reg, bits64: bool) -> CodegenResult<Reg> {
        let dst = self.tmp(ctx, types::I8X16)?;
        let size = if bits64 { OperandSize::S64 } else { OperandSize::S32 };
        ctx.emit(Inst::GprToXmm { op: GprToXmmOp::Mov, size, src: RegMem::Reg(r), dst });
        Ok(dst.to_reg())
    }

    fn xmm_to_gpr(&self, ctx: Ctx, r: Reg, bits64: bool) -> CodegenResult<Reg> {
        let dst = self.tmp(ctx, types::I64)?;
        let size = if bits64 { OperandSize::S64 } else { OperandSize::S32 };
        ctx.emit(Inst::XmmToGpr { op: XmmToGprOp::Mov, size, src: r, dst });
        Ok(dst.to_reg())
    }

    /// Broadcast lane 0 of `x` (lanes of `bits` bits) to every lane.
    fn broadcast_lane0(&self, ctx: Ctx, x: Reg, bits: u32) -> CodegenResult<Reg> {
        let avx2 = self.b.isa.has_avx2;
        Ok(match bits {
            8 if avx2 => self.vun(ctx, SseOp::Vpbroadcastb, RegMem::Reg(x))?,
            8 if self.b.isa.has_ssse3 => {
                let z = self.vzero(ctx)?;
                self.vbin_r(ctx, SseOp::Pshufb, x, z)?
            }
            8 => {
                let t = self.vbin_r(ctx, SseOp::Punpcklbw, x, x)?;
                let t = self.vun_imm(ctx, SseOp::Pshuflw, t, 0)?;
                self.vun_imm(ctx, SseOp::Pshufd, t, 0)?
            }
            16 if avx2 => self.vun(ctx, SseOp::Vpbroadcastw, RegMem::Reg(x))?,
            16 => {
                let t = self.vun_imm(ctx, SseOp::Pshuflw, x, 0)?;
                self.vun_imm(ctx, SseOp::Pshufd, t, 0)?
            }
            32 => self.vun_imm(ctx, SseOp::Pshufd, x, 0)?,
            _ => self.vun_imm(ctx, SseOp::Pshufd, x, 0x44)?,
        })
    }

    /// The shift count of a vector shift as an XMM register (masked to the lane width), or
    /// the immediate when constant.
    fn vshift_count(&self, ctx: Ctx, amt: Value, bits: u32) -> CodegenResult<Result<u8, Reg>> {
        if let Some(c) = ctx.iconst_bits(amt) {
            return Ok(Ok((c & (bits as u64 - 1)) as u8));
        }
        // An i128 amount: its low half (the count is masked anyway).
        let r = self.regs(ctx, amt)?.reg(0);
        let m = self.emit_alu(ctx, OperandSize::S32, AluOp::And, r, RegMemImm::Imm(bits as i32 - 1))?;
        Ok(Err(self.gpr_to_xmm(ctx, m, false)?))
    }

    /// Shift by a count that is an immediate or in an XMM register.
    fn vshift(&self, ctx: Ctx, imm_op: XmmShiftImmOp, reg_op: SseOp, x: Reg, n: Result<u8, Reg>) -> CodegenResult<Reg> {
        match n {
            Ok(i) => self.vshift_imm(ctx, imm_op, x, i),
            Err(c) => self.vbin_r(ctx, reg_op, x, c),
        }
    }

    /// A vector constant (`vconst`, or a `splat` of a constant) that is not zero or all
    /// ones, as a constant-pool operand (16-byte aligned, so legacy forms may use it).
    fn vconst_operand(&self, ctx: Ctx, v: Value) -> Option<RegMem> {
        let def = ctx.def_inst(v)?;
        let ty = ctx.value_ty(v);
        let bytes: [u8; 16] = match *ctx.data(def) {
            D::UnaryConst { opcode: Opcode::Vconst, constant } => {
                let c = ctx.f.dfg.constants.get(constant)?.as_slice();
                if c.len() != 16 {
                    return None;
                }
                c.try_into().ok()?
            }
            D::Unary { opcode: Opcode::Splat, arg } if ty.bits() == 128 => {
                lanes_const(ty.lane_bits(), ctx.iconst_bits(arg)?)
            }
            _ => return None,
        };
        if bytes.iter().all(|b| *b == 0) || bytes.iter().all(|b| *b == 0xff) {
            return None;
        }
        Some(self.const_mem(ctx, &bytes))
    }

    /// Can the 128-bit vector load defining `v` be merged here as a memory operand? Legacy
    /// SSE forms fault on a memory operand that is not 16-byte aligned, so only loads
    /// marked `aligned` are merged into them; VEX forms (AVX) take any address.
    fn is_foldable_vload(&self, ctx: Ctx, v: Value) -> bool {
        let ty = ctx.value_ty(v);
        ty.bits() == 128
            && self.is_sinkable_load(ctx, v, ty)
            && ctx.sinkable_inst(v).is_some_and(|load| {
                let D::Load { flags, .. } = *ctx.data(load) else { return false };
                self.vex() || ctx.f.dfg.mem_flags.get(flags).aligned()
            })
    }

    /// `v` as a memory operand: a pool constant, or a load merged here
    /// ([`Self::is_foldable_vload`]).
    fn vmem_operand(&self, ctx: Ctx, v: Value) -> CodegenResult<Option<RegMem>> {
        if let Some(m) = self.vconst_operand(ctx, v) {
            return Ok(Some(m));
        }
        if self.is_foldable_vload(ctx, v) {
            return Ok(self.sinkable_load(ctx, v, ctx.value_ty(v))?.map(RegMem::Mem));
        }
        Ok(None)
    }

    /// `x op y` with a memory operand when `y` (or `x` when `commutative`) is a pool
    /// constant or a load that can be merged.
    fn vbin_vals(&self, ctx: Ctx, op: SseOp, x: Value, y: Value, commutative: bool) -> CodegenResult<Reg> {
        if let Some(m) = self.vmem_operand(ctx, y)? {
            let a = self.reg(ctx, x)?;
            return self.vbin(ctx, op, a, m);
        }
        if commutative && let Some(m) = self.vmem_operand(ctx, x)? {
            let b = self.reg(ctx, y)?;
            return self.vbin(ctx, op, b, m);
        }
        let a = self.reg(ctx, x)?;
        let b = self.reg(ctx, y)?;
        self.vbin_r(ctx, op, a, b)
    }

    // -------------------------------------------------------------------------------------

    /// Lower `inst`, whose result or first operand is a vector.
    pub(super) fn lower_vector(&self, ctx: Ctx, inst: IrInst, op: Opcode, ty: Type) -> CodegenResult<()> {
        let data = *ctx.data(inst);
        let args = ctx.inputs(inst);
        let in_ty = args.first().map(|a| ctx.value_ty(*a)).unwrap_or(ty);
        // The controlling vector type: the operand's for narrowing and widening (whose
        // result has other lanes), else the result's when it is a vector.
        let by_operand = matches!(
            op,
            Opcode::Snarrow
                | Opcode::Unarrow
                | Opcode::Uunarrow
                | Opcode::SwidenLow
                | Opcode::SwidenHigh
                | Opcode::UwidenLow
                | Opcode::UwidenHigh
        );
        let vty = if ty.is_vector() && !by_operand { ty } else { in_ty };
        if vty.bits() > 128 || vty.is_dynamic_vector() {
            return Err(unsupported_op(op, vty));
        }
        let lt = vty.lane_type();
        let bits = lt.bits();
        let full = vty.bits() == 128;
        let isa = &self.b.isa;
        let un = || unsupported_op(op, vty);
        // Operations whose low lanes depend on the unspecified upper bits of a small vector.
        let whole_register = matches!(op, Opcode::Shuffle | Opcode::Swizzle);
        if !full && whole_register {
            return Err(un());
        }
        let res: Reg = match op {
            Opcode::Vconst => {
                let D::UnaryConst { constant, .. } = data else { unreachable!() };
                let c = ctx.f.dfg.constants.get(constant).ok_or_else(|| CodegenError::Other("bad constant".into()))?;
                let mut b = [0u8; 16];
                let s = c.as_slice();
                b[..s.len().min(16)].copy_from_slice(&s[..s.len().min(16)]);
                self.vconst_reg(ctx, &b)?
            }
            Opcode::Load
            | Opcode::Uload8x8
            | Opcode::Sload8x8
            | Opcode::Uload16x4
            | Opcode::Sload16x4
            | Opcode::Uload32x2
            | Opcode::Sload32x2 => return self.lower_vector_load(ctx, inst, op, ty),
            Opcode::Store => return self.lower_vector_store(ctx, inst),
            Opcode::Bitcast => return self.lower_vector_bitcast(ctx, inst, in_ty, ty),
            Opcode::Select | Opcode::SelectSpectreGuard => {
                let cond = self.cond(ctx, args[0])?;
                let x = self.regs(ctx, args[1])?;
                let y = self.regs(ctx, args[2])?;
                let dst = ctx.output_regs(inst, 0)?;
                return self.select_regs(ctx, cond, ty, x, y, dst);
            }
            Opcode::Splat => self.lower_splat(ctx, args[0], ty)?,
            Opcode::ScalarToVector => {
                let s_ty = in_ty;
                let x = self.reg(ctx, args[0])?;
                if s_ty.is_int() {
                    let x = if s_ty.bits() < 32 { self.extend_reg(ctx, x, s_ty.bits(), false, false)? } else { x };
                    self.gpr_to_xmm(ctx, x, s_ty.bits() == 64)?
                } else if s_ty == types::F64 {
                    self.vun(ctx, SseOp::Movq, RegMem::Reg(x))?
                } else if s_ty == types::F32 {
                    let z = self.vzero(ctx)?;
                    self.vbin_r(ctx, SseOp::Movss, z, x)?
                } else {
                    return Err(un());
                }
            }
            Opcode::Extractlane => {
                let D::BinaryImm8 { imm, .. } = data else { unreachable!() };
                return self.lower_extractlane(ctx, inst, args[0], vty, imm);
            }
            Opcode::Insertlane => {
                let D::TernaryImm8 { imm, .. } = data else { unreachable!() };
                self.lower_insertlane(ctx, args[0], args[1], vty, imm)?
            }

            // ---- integer arithmetic -------------------------------------------------------
            Opcode::Iadd
            | Opcode::Isub
            | Opcode::SaddSat
            | Opcode::UaddSat
            | Opcode::SsubSat
            | Opcode::UsubSat
            | Opcode::AvgRound
                if lt.is_int() =>
            {
                use SseOp::*;
                let sop = match (op, bits) {
                    (Opcode::Iadd, 8) => Paddb,
                    (Opcode::Iadd, 16) => Paddw,
                    (Opcode::Iadd, 32) => Paddd,
                    (Opcode::Iadd, 64) => Paddq,
                    (Opcode::Isub, 8) => Psubb,
                    (Opcode::Isub, 16) => Psubw,
                    (Opcode::Isub, 32) => Psubd,
                    (Opcode::Isub, 64) => Psubq,
                    (Opcode::SaddSat, 8) => Paddsb,
                    (Opcode::SaddSat, 16) => Paddsw,
                    (Opcode::UaddSat, 8) => Paddusb,
                    (Opcode::UaddSat, 16) => Paddusw,
                    (Opcode::SsubSat, 8) => Psubsb,
                    (Opcode::SsubSat, 16) => Psubsw,
                    (Opcode::UsubSat, 8) => Psubusb,
                    (Opcode::UsubSat, 16) => Psubusw,
                    (Opcode::AvgRound, 8) => Pavgb,
                    (Opcode::AvgRound, 16) => Pavgw,
                    (Opcode::AvgRound, 32 | 64) => {
                        // (a + b + 1) >> 1 without the carry out: (a | b) - ((a ^ b) >> 1).
                        let a = self.reg(ctx, args[0])?;
                        let b = self.reg(ctx, args[1])?;
                        let o = self.vbin_r(ctx, Por, a, b)?;
                        let x = self.vbin_r(ctx, Pxor, a, b)?;
                        let (shift, sub) =
                            if bits == 32 { (XmmShiftImmOp::Psrld, Psubd) } else { (XmmShiftImmOp::Psrlq, Psubq) };
                        let h = self.vshift_imm(ctx, shift, x, 1)?;
                        let r = self.vbin_r(ctx, sub, o, h)?;
                        let out = ctx.f.dfg.inst_results(inst)[0];
                        return ctx.alias_value(out, r);
                    }
                    _ => return Err(un()),
                };
                self.vbin_vals(
                    ctx,
                    sop,
                    args[0],
                    args[1],
                    op != Opcode::Isub && !matches!(op, Opcode::SsubSat | Opcode::UsubSat),
                )?
            }
            Opcode::Ineg if lt.is_int() => {
                let z = self.vzero(ctx)?;
                let x = self.reg(ctx, args[0])?;
                let sub = [SseOp::Psubb, SseOp::Psubw, SseOp::Psubd, SseOp::Psubq][bits.trailing_zeros() as usize - 3];
                self.vbin_r(ctx, sub, z, x)?
            }
            Opcode::Iabs if lt.is_int() => {
                let x = self.reg(ctx, args[0])?;
                match bits {
                    8 | 16 | 32 if isa.has_ssse3 => {
                        let a = [SseOp::Pabsb, SseOp::Pabsw, SseOp::Pabsd][bits.trailing_zeros() as usize - 3];
                        self.vun(ctx, a, RegMem::Reg(x))?
                    }
                    64 if isa.has_avx512vl && isa.has_avx512f => {
                        let dst = self.tmp(ctx, types::I8X16)?;
                        ctx.emit(Inst::XmmEvex { op: EvexOp::Vpabsq, src1: None, src2: RegMem::Reg(x), imm: 0, dst });
                        dst.to_reg()
                    }
                    _ => {
                        // s = x >> (bits-1) (arithmetic); |x| = (x ^ s) - s.
                        let s = self.sign_mask(ctx, x, bits)?;
                        let t = self.vbin_r(ctx, SseOp::Pxor, x, s)?;
                        let sub = [SseOp::Psubb, SseOp::Psubw, SseOp::Psubd, SseOp::Psubq]
                            [bits.trailing_zeros() as usize - 3];
                        self.vbin_r(ctx, sub, t, s)?
                    }
                }
            }
            Opcode::Imul if lt.is_int() && (bits == 16 || (bits == 32 && isa.has_sse41)) => {
                let mop = if bits == 16 { SseOp::Pmullw } else { SseOp::Pmulld };
                self.vbin_vals(ctx, mop, args[0], args[1], true)?
            }
            Opcode::Imul if lt.is_int() => {
                let a = self.reg(ctx, args[0])?;
                let b = self.reg(ctx, args[1])?;
                match bits {
                    8 => {
                        // 16-bit products: of the even bytes (the low byte of each word is
                        // right) and of the odd bytes (shifted down, the product shifted
                        // back up), merged.
                        let even = self.vbin_r(ctx, SseOp::Pmullw, a, b)?;
                        let a1 = self.vshift_imm(ctx, XmmShiftImmOp::Psrlw, a, 8)?;
                        let b1 = self.vshift_imm(ctx, XmmShiftImmOp::Psrlw, b, 8)?;
                        let odd = self.vbin_r(ctx, SseOp::Pmullw, a1, b1)?;
                        let odd = self.vshift_imm(ctx, XmmShiftImmOp::Psllw, odd, 8)?;
                        let m = self.const_mem(ctx, &lanes_const(16, 0x00ff));
                        let even = self.vbin(ctx, SseOp::Pand, even, m)?;
                        self.vbin_r(ctx, SseOp::Por, even, odd)?
                    }
                    32 => {
                        // Even lanes, odd lanes (shifted down), recombined.
                        let even = self.vbin_r(ctx, SseOp::Pmuludq, a, b)?;
                        let a1 = self.vshift_imm(ctx, XmmShiftImmOp::Psrlq, a, 32)?;
                        let b1 = self.vshift_imm(ctx, XmmShiftImmOp::Psrlq, b, 32)?;
                        let odd = self.vbin_r(ctx, SseOp::Pmuludq, a1, b1)?;
                        let e = self.vun_imm(ctx, SseOp::Pshufd, even, 0b00_00_10_00)?;
                        let o = self.vun_imm(ctx, SseOp::Pshufd, odd, 0b00_00_10_00)?;
                        self.vbin_r(ctx, SseOp::Punpckldq, e, o)?
                    }
                    64 if isa.has_avx512vl && isa.has_avx512dq => {
                        let dst = self.tmp(ctx, types::I8X16)?;
                        ctx.emit(Inst::XmmEvex {
                            op: EvexOp::Vpmullq,
                            src1: Some(a),
                            src2: RegMem::Reg(b),
                            imm: 0,
                            dst,
                        });
                        dst.to_reg()
                    }
                    64 => {
                        // lo(a)*lo(b) + ((hi(a)*lo(b) + lo(a)*hi(b)) << 32).
                        let ah = self.vshift_imm(ctx, XmmShiftImmOp::Psrlq, a, 32)?;
                        let t1 = self.vbin_r(ctx, SseOp::Pmuludq, ah, b)?;
                        let bh = self.vshift_imm(ctx, XmmShiftImmOp::Psrlq, b, 32)?;
                        let t2 = self.vbin_r(ctx, SseOp::Pmuludq, bh, a)?;
                        let t = self.vbin_r(ctx, SseOp::Paddq, t1, t2)?;
                        let t = self.vshift_imm(ctx, XmmShiftImmOp::Psllq, t, 32)?;
                        let l = self.vbin_r(ctx, SseOp::Pmuludq, a, b)?;
                        self.vbin_r(ctx, SseOp::Paddq, l, t)?
                    }
                    _ => return Err(un()),
                }
            }
            Opcode::Umulhi | Opcode::Smulhi if bits == 16 => {
                let a = self.reg(ctx, args[0])?;
                let b = self.reg(ctx, args[1])?;
                self.vbin_r(ctx, if op == Opcode::Umulhi { SseOp::Pmulhuw } else { SseOp::Pmulhw }, a, b)?
            }
            Opcode::Umulhi | Opcode::Smulhi if bits == 8 || bits == 32 => {
                let a = self.reg(ctx, args[0])?;
                let b = self.reg(ctx, args[1])?;
                self.lower_vmulhi(ctx, op == Opcode::Smulhi, a, b, bits)?
            }
            Opcode::SqmulRoundSat if bits == 16 && !isa.has_ssse3 => {
                // The 32-bit products (high and low halves interleaved), + 2^14, >> 15,
                // packed with signed saturation (which handles -1 * -1 in Q15).
                let a = self.reg(ctx, args[0])?;
                let b = self.reg(ctx, args[1])?;
                let lo = self.vbin_r(ctx, SseOp::Pmullw, a, b)?;
                let hi = self.vbin_r(ctx, SseOp::Pmulhw, a, b)?;
                let mut halves = [lo; 2];
                for (i, unpack) in [SseOp::Punpcklwd, SseOp::Punpckhwd].into_iter().enumerate() {
                    let p = self.vbin_r(ctx, unpack, lo, hi)?;
                    let round = self.const_mem(ctx, &lanes_const(32, 0x4000));
                    let p = self.vbin(ctx, SseOp::Paddd, p, round)?;
                    halves[i] = self.vshift_imm(ctx, XmmShiftImmOp::Psrad, p, 15)?;
                }
                self.vbin_r(ctx, SseOp::Packssdw, halves[0], halves[1])?
            }
            Opcode::SqmulRoundSat | Opcode::X86Pmulhrsw if bits == 16 => {
                self.need(isa.has_ssse3, op, vty, "SSSE3")?;
                let a = self.reg(ctx, args[0])?;
                let b = self.reg(ctx, args[1])?;
                let r = self.vbin_r(ctx, SseOp::Pmulhrsw, a, b)?;
                if op == Opcode::X86Pmulhrsw {
                    r
                } else {
                    // 0x8000 * 0x8000 gives 0x8000; saturate it to 0x7fff.
                    let c = self.const_mem(ctx, &lanes_const(16, 0x8000));
                    let m = self.vbin(ctx, SseOp::Pcmpeqw, r, c)?;
                    self.vbin_r(ctx, SseOp::Pxor, r, m)?
                }
            }
            Opcode::Smin | Opcode::Smax | Opcode::Umin | Opcode::Umax if lt.is_int() => {
                self.lower_vminmax(ctx, op, args[0], args[1], vty)?
            }
            Opcode::IaddPairwise => {
                let a = self.reg(ctx, args[0])?;
                let b = self.reg(ctx, args[1])?;
                if full {
                    self.lower_iadd_pairwise(ctx, a, b, vty)?
                } else {
                    // A small vector: x's lanes then y's in one register, summed in pairs;
                    // the low lanes of the result are the answer.
                    let t = self.concat_small(ctx, a, b, vty)?;
                    self.lower_iadd_pairwise(ctx, t, t, vty)?
                }
            }
            Opcode::X86Pmaddubsw => {
                self.need(isa.has_ssse3, op, vty, "SSSE3")?;
                // out = s(x)·u(y) pairs: pmaddubsw's first (destination) operand is the
                // unsigned one, so y goes first.
                let a = self.reg(ctx, args[0])?;
                let b = self.reg(ctx, args[1])?;
                self.vbin_r(ctx, SseOp::Pmaddubsw, b, a)?
            }
            Opcode::Popcnt if lt.is_int() => {
                let x = self.reg(ctx, args[0])?;
                let c = self.popcnt_bytes(ctx, x)?;
                match bits {
                    8 => c,
                    16 => {
                        // Each word: its two byte counts added, the high byte cleared.
                        let h = self.vshift_imm(ctx, XmmShiftImmOp::Psrlw, c, 8)?;
                        let t = self.vbin_r(ctx, SseOp::Paddb, c, h)?;
                        let m = self.const_mem(ctx, &lanes_const(16, 0xff));
                        self.vbin(ctx, SseOp::Pand, t, m)?
                    }
                    32 => {
                        // Each dword: its four byte counts summed by two shifted adds.
                        let h = self.vshift_imm(ctx, XmmShiftImmOp::Psrld, c, 16)?;
                        let t = self.vbin_r(ctx, SseOp::Paddb, c, h)?;
                        let h = self.vshift_imm(ctx, XmmShiftImmOp::Psrlw, t, 8)?;
                        let t = self.vbin_r(ctx, SseOp::Paddb, t, h)?;
                        let m = self.const_mem(ctx, &lanes_const(32, 0xff));
                        self.vbin(ctx, SseOp::Pand, t, m)?
                    }
                    _ => {
                        // psadbw against zero sums the eight byte counts of each qword.
                        let z = self.vzero(ctx)?;
                        self.vbin_r(ctx, SseOp::Psadbw, c, z)?
                    }
                }
            }

            // ---- bitwise --------------------------------------------------------------------
            Opcode::Band | Opcode::Bor | Opcode::Bxor => {
                let sop = match op {
                    Opcode::Band => SseOp::Pand,
                    Opcode::Bor => SseOp::Por,
                    _ => SseOp::Pxor,
                };
                self.vbin_vals(ctx, sop, args[0], args[1], true)?
            }
            Opcode::Bnot => {
                let x = self.reg(ctx, args[0])?;
                self.vnot(ctx, x)?
            }
            Opcode::Bitselect => {
                let c = self.reg(ctx, args[0])?;
                let x = self.reg(ctx, args[1])?;
                let y = self.reg(ctx, args[2])?;
                self.vbitselect(ctx, c, x, y)?
            }
            Opcode::Blendv => {
                self.need(isa.has_sse41, op, vty, "SSE4.1")?;
                let c = self.reg(ctx, args[0])?;
                // pblendvb looks at the sign of every byte: spread each 16-bit lane's sign
                // over its two bytes first.
                let c = if bits == 16 { self.vshift_imm(ctx, XmmShiftImmOp::Psraw, c, 15)? } else { c };
                let x = self.reg(ctx, args[1])?;
                let y = self.reg(ctx, args[2])?;
                let bop = match bits {
                    32 => BlendvOp::Blendvps,
                    64 => BlendvOp::Blendvpd,
                    _ => BlendvOp::Pblendvb,
                };
                let dst = self.tmp(ctx, types::I8X16)?;
                ctx.emit(Inst::XmmBlendv {
                    op: bop,
                    mask: c,
                    if_false: y,
                    if_true: RegMem::Reg(x),
                    dst,
                    vex: self.vex(),
                });
                dst.to_reg()
            }
            Opcode::Ishl | Opcode::Ushr | Opcode::Sshr if lt.is_int() => {
                self.lower_vshift(ctx, op, args[0], args[1], vty)?
            }

            // ---- compares -------------------------------------------------------------------
            Opcode::Icmp => {
                let D::IntCompare { cond, .. } = data else { unreachable!() };
                self.lower_vicmp(ctx, cond, args[0], args[1], vty)?
            }
            Opcode::Fcmp => {
                let D::FloatCompare { cond, .. } = data else { unreachable!() };
                let a = self.reg(ctx, args[0])?;
                let b = self.reg(ctx, args[1])?;
                let cmp = if bits == 64 { SseOp::Cmppd } else { SseOp::Cmpps };
                match cmpps_pred(cond, self.vex()) {
                    Some((swap, p)) => {
                        let (a, b) = if swap { (b, a) } else { (a, b) };
                        self.vbin_imm(ctx, cmp, a, RegMem::Reg(b), p)?
                    }
                    None => {
                        // ueq = unord | eq; one = ord & neq.
                        let (p1, p2, comb) =
                            if cond == FloatCC::UnorderedOrEqual { (3, 0, SseOp::Por) } else { (7, 4, SseOp::Pand) };
                        let t1 = self.vbin_imm(ctx, cmp, a, RegMem::Reg(b), p1)?;
                        let t2 = self.vbin_imm(ctx, cmp, a, RegMem::Reg(b), p2)?;
                        self.vbin_r(ctx, comb, t1, t2)?
                    }
                }
            }
            Opcode::VanyTrue | Opcode::VallTrue => {
                let x = self.reg(ctx, args[0])?;
                // A small vector: the bytes above it are unspecified; make them zero (any)
                // or all ones (all) so they do not count.
                let x = if full {
                    x
                } else {
                    let n = vty.bytes() as usize;
                    let mut m = [0u8; 16];
                    let any = op == Opcode::VanyTrue;
                    for (i, b) in m.iter_mut().enumerate() {
                        *b = if (i < n) == any { 0xff } else { 0 };
                    }
                    let c = self.const_mem(ctx, &m);
                    self.vbin(ctx, if any { SseOp::Pand } else { SseOp::Por }, x, c)?
                };
                let z = self.vzero(ctx)?;
                let eq = if op == Opcode::VanyTrue {
                    SseOp::Pcmpeqb
                } else {
                    match bits {
                        8 => SseOp::Pcmpeqb,
                        16 => SseOp::Pcmpeqw,
                        32 => SseOp::Pcmpeqd,
                        _ => SseOp::Pcmpeqq,
                    }
                };
                let t = self.veq(ctx, eq, x, z)?;
                let m = self.tmp(ctx, types::I32)?;
                ctx.emit(Inst::XmmToGpr { op: XmmToGprOp::Pmovmskb, size: OperandSize::S32, src: t, dst: m });
                // any: some byte is non-zero (mask != 0xffff); all: no lane is zero (mask == 0).
                let imm = if op == Opcode::VanyTrue { 0xffff } else { 0 };
                ctx.emit(Inst::CmpRmiR {
                    size: OperandSize::S32,
                    op: CmpOp::Cmp,
                    src1: m.to_reg(),
                    src2: RegMemImm::Imm(imm),
                });
                let dst = self.output(ctx, inst)?;
                let cc = if op == Opcode::VanyTrue { CC::NZ } else { CC::Z };
                return self.setcc(ctx, Cond::One(cc), dst);
            }
            Opcode::VhighBits => {
                let x = self.reg(ctx, args[0])?;
                let dst = self.output(ctx, inst)?;
                let (mop, src) = match bits {
                    8 => (XmmToGprOp::Pmovmskb, x),
                    16 => (XmmToGprOp::Pmovmskb, self.vbin_r(ctx, SseOp::Packsswb, x, x)?),
                    32 => (XmmToGprOp::Movmskps, x),
                    _ => (XmmToGprOp::Movmskpd, x),
                };
                if !full {
                    // A small vector: keep the bits of its lanes only.
                    let m = self.tmp(ctx, types::I32)?;
                    ctx.emit(Inst::XmmToGpr { op: mop, size: OperandSize::S32, src, dst: m });
                    let keep = (1i32 << vty.lane_count()) - 1;
                    ctx.emit(Inst::AluRmiR {
                        size: OperandSize::S32,
                        op: AluOp::And,
                        src1: m.to_reg(),
                        src2: RegMemImm::Imm(keep),
                        dst,
                    });
                } else if bits == 16 {
                    let m = self.tmp(ctx, types::I32)?;
                    ctx.emit(Inst::XmmToGpr { op: mop, size: OperandSize::S32, src, dst: m });
                    ctx.emit(Inst::MovzxRmR { ext: ExtMode::BL, src: RegMem::Reg(m.to_reg()), dst });
                } else {
                    ctx.emit(Inst::XmmToGpr { op: mop, size: OperandSize::S32, src, dst });
                }
                return Ok(());
            }

            // ---- floats ---------------------------------------------------------------------
            Opcode::Fadd | Opcode::Fsub | Opcode::Fmul | Opcode::Fdiv if lt.is_float() => {
                let d = bits == 64;
                let sop = match op {
                    Opcode::Fadd => [SseOp::Addps, SseOp::Addpd][d as usize],
                    Opcode::Fsub => [SseOp::Subps, SseOp::Subpd][d as usize],
                    Opcode::Fmul => [SseOp::Mulps, SseOp::Mulpd][d as usize],
                    _ => [SseOp::Divps, SseOp::Divpd][d as usize],
                };
                if bits != 32 && bits != 64 {
                    return Err(un());
                }
                self.vbin_vals(ctx, sop, args[0], args[1], matches!(op, Opcode::Fadd | Opcode::Fmul))?
            }
            Opcode::Sqrt if bits == 32 || bits == 64 => {
                let x = self.reg(ctx, args[0])?;
                self.vun(ctx, if bits == 64 { SseOp::Sqrtpd } else { SseOp::Sqrtps }, RegMem::Reg(x))?
            }
            Opcode::Fneg | Opcode::Fabs | Opcode::Fcopysign if lt.is_float() => {
                let sign = 1u64 << (bits - 1);
                let sgn = lanes_const(bits, sign);
                let mag = lanes_const(bits, sign - 1);
                let x = self.reg(ctx, args[0])?;
                match op {
                    Opcode::Fneg => {
                        let m = self.const_mem(ctx, &sgn);
                        self.vbin(ctx, SseOp::Pxor, x, m)?
                    }
                    Opcode::Fabs => {
                        let m = self.const_mem(ctx, &mag);
                        self.vbin(ctx, SseOp::Pand, x, m)?
                    }
                    _ => {
                        let y = self.reg(ctx, args[1])?;
                        let m = self.const_mem(ctx, &mag);
                        let a = self.vbin(ctx, SseOp::Pand, x, m)?;
                        let s = self.const_mem(ctx, &sgn);
                        let b = self.vbin(ctx, SseOp::Pand, y, s)?;
                        self.vbin_r(ctx, SseOp::Por, a, b)?
                    }
                }
            }
            Opcode::Fmin | Opcode::Fmax
                if (bits == 32 || bits == 64) && ctx.flags.enable_nan_canonicalization() == 0 =>
            {
                let a = self.reg(ctx, args[0])?;
                let b = self.reg(ctx, args[1])?;
                self.lower_vfminmax_x86_nan(ctx, op == Opcode::Fmin, a, b, bits == 64)?
            }
            Opcode::Fmin | Opcode::Fmax if bits == 32 || bits == 64 => {
                let d = bits == 64;
                let a = self.reg(ctx, args[0])?;
                let b = self.reg(ctx, args[1])?;
                let (mop, comb) = if op == Opcode::Fmin {
                    ([SseOp::Minps, SseOp::Minpd][d as usize], SseOp::Por)
                } else {
                    ([SseOp::Maxps, SseOp::Maxpd][d as usize], SseOp::Pand)
                };
                // Both operand orders: they differ only for zeros of both signs (or NaN),
                // where `or` gives −0 for min and `and` gives +0 for max.
                let m1 = self.vbin_r(ctx, mop, a, b)?;
                let m2 = self.vbin_r(ctx, mop, b, a)?;
                let r = self.vbin_r(ctx, comb, m1, m2)?;
                // Lanes where an operand is NaN become the canonical NaN.
                let cmp = [SseOp::Cmpps, SseOp::Cmppd][d as usize];
                let unord = self.vbin_imm(ctx, cmp, a, RegMem::Reg(b), 3)?;
                self.select_canonical_nan(ctx, unord, r, d)?
            }
            Opcode::Ceil | Opcode::Floor | Opcode::Trunc | Opcode::Nearest
                if (bits == 32 || bits == 64) && !isa.has_sse41 =>
            {
                let x = self.reg(ctx, args[0])?;
                self.lane_libcall(ctx, rounding_libcall(op, bits == 64), &[x], vty)?
            }
            Opcode::Fma if (bits == 32 || bits == 64) && !isa.has_fma => {
                let lib = if bits == 64 { LibCall::FmaF64 } else { LibCall::FmaF32 };
                let x = self.reg(ctx, args[0])?;
                let y = self.reg(ctx, args[1])?;
                let z = self.reg(ctx, args[2])?;
                self.lane_libcall(ctx, lib, &[x, y, z], vty)?
            }
            Opcode::Ceil | Opcode::Floor | Opcode::Trunc | Opcode::Nearest if bits == 32 || bits == 64 => {
                let imm = match op {
                    Opcode::Nearest => 0,
                    Opcode::Floor => 1,
                    Opcode::Ceil => 2,
                    _ => 3,
                } | 8;
                let x = self.reg(ctx, args[0])?;
                self.vun_imm(ctx, if bits == 64 { SseOp::Roundpd } else { SseOp::Roundps }, x, imm)?
            }
            Opcode::Fma if bits == 32 || bits == 64 => {
                let x = self.reg(ctx, args[0])?;
                let y = self.reg(ctx, args[1])?;
                let z = self.reg(ctx, args[2])?;
                let dst = self.tmp(ctx, types::I8X16)?;
                let fop = if bits == 64 { FmaOp::Vfmadd213pd } else { FmaOp::Vfmadd213ps };
                ctx.emit(Inst::XmmFma { op: fop, src1: x, src2: y, src3: RegMem::Reg(z), dst });
                dst.to_reg()
            }
            Opcode::Fvdemote => {
                let x = self.reg(ctx, args[0])?;
                self.vun(ctx, SseOp::Cvtpd2ps, RegMem::Reg(x))?
            }
            Opcode::FvpromoteLow => {
                let x = self.reg(ctx, args[0])?;
                self.vun(ctx, SseOp::Cvtps2pd, RegMem::Reg(x))?
            }
            Opcode::FcvtFromSint | Opcode::FcvtFromUint => self.lower_vcvt_from_int(ctx, op, args[0], ty)?,
            Opcode::FcvtToSintSat | Opcode::FcvtToUintSat | Opcode::X86Cvtt2dq => {
                self.lower_vcvt_to_int(ctx, op, args[0], ty)?
            }

            // ---- lanes ----------------------------------------------------------------------
            Opcode::Snarrow | Opcode::Unarrow | Opcode::Uunarrow => {
                self.lower_narrow(ctx, op, args[0], args[1], vty)?
            }
            Opcode::SwidenLow | Opcode::SwidenHigh | Opcode::UwidenLow | Opcode::UwidenHigh => {
                let x = self.reg(ctx, args[0])?;
                let r = if !full && matches!(op, Opcode::SwidenHigh | Opcode::UwidenHigh) {
                    // A small vector: its high half shifted down to lane 0, then widened as
                    // the low half.
                    let h = self.vshift_imm(ctx, XmmShiftImmOp::Psrldq, x, (vty.bytes() / 2) as u8)?;
                    let low = if op == Opcode::SwidenHigh { Opcode::SwidenLow } else { Opcode::UwidenLow };
                    self.lower_widen(ctx, low, h, vty)?
                } else {
                    self.lower_widen(ctx, op, x, vty)?
                };
                if !ty.is_vector() {
                    // A two-lane vector widens to one lane: a scalar in a general register.
                    let g = self.xmm_to_gpr(ctx, r, ty.bits() == 64)?;
                    let out = ctx.f.dfg.inst_results(inst)[0];
                    return ctx.alias_value(out, g);
                }
                r
            }
            Opcode::Shuffle => {
                let D::Shuffle { mask, .. } = data else { unreachable!() };
                let m = ctx.f.dfg.immediates.get(mask).ok_or_else(|| CodegenError::Other("bad shuffle mask".into()))?;
                let mut idx = [0u8; 16];
                idx.copy_from_slice(&m.as_slice()[..16]);
                self.lower_shuffle(ctx, args[0], args[1], idx)?
            }
            Opcode::Swizzle | Opcode::X86Pshufb => {
                self.need(isa.has_ssse3, op, vty, "SSSE3")?;
                let x = self.reg(ctx, args[0])?;
                let i = self.reg(ctx, args[1])?;
                let i = if op == Opcode::Swizzle {
                    // Indices 16 and above select 0: saturate them into pshufb's zeroing range.
                    let c = self.const_mem(ctx, &[0x70; 16]);
                    self.vbin(ctx, SseOp::Paddusb, i, c)?
                } else {
                    i
                };
                self.vbin_r(ctx, SseOp::Pshufb, x, i)?
            }
            _ => return Err(un()),
        };
        // With `enable_nan_canonicalization`, arithmetic NaN results become the canonical
        // NaN (fmin/fmax produce it already; sign and bitwise operations keep their bits).
        let arithmetic = matches!(
            op,
            Opcode::Fadd
                | Opcode::Fsub
                | Opcode::Fmul
                | Opcode::Fdiv
                | Opcode::Sqrt
                | Opcode::Fma
                | Opcode::Ceil
                | Opcode::Floor
                | Opcode::Trunc
                | Opcode::Nearest
                | Opcode::Fvdemote
                | Opcode::FvpromoteLow
        );
        let res = if arithmetic && ctx.flags.enable_nan_canonicalization() != 0 {
            self.canonicalize_vector_nans(ctx, res, ty.lane_bits())?
        } else {
            res
        };
        let r = ctx.f.dfg.inst_results(inst)[0];
        ctx.alias_value(r, res)
    }

    /// `fmin`/`fmax` without NaN canonicalization: exact for every non-NaN lane (−0 below
    /// +0), and the NaN lanes get the bits x86 code conventionally gives (those of
    /// Cranelift's x86 lowering, which `simd-fmax-fmin-nondeterministic-x86_64.clif`
    /// documents): `fmin` the negative quiet NaN with an empty payload, `fmax` a quiet NaN
    /// with an empty payload and the sign of the NaN operand. The NaN rule lets a NaN
    /// result have any bits; with `enable_nan_canonicalization` the caller uses the
    /// canonical-NaN sequence instead. No constant is loaded.
    fn lower_vfminmax_x86_nan(&self, ctx: Ctx, min: bool, a: Reg, b: Reg, double: bool) -> CodegenResult<Reg> {
        use SseOp::*;
        let (minmax, or, xor, sub, andn, cmp) = match (min, double) {
            (true, false) => (Minps, Orps, Xorps, Subps, Andnps, Cmpps),
            (true, true) => (Minpd, Orpd, Xorpd, Subpd, Andnpd, Cmppd),
            (false, false) => (Maxps, Orps, Xorps, Subps, Andnps, Cmpps),
            (false, true) => (Maxpd, Orpd, Xorpd, Subpd, Andnpd, Cmppd),
        };
        // Both operand orders: they differ only for zeros of both signs and when an
        // operand is NaN (each order returns its second operand then).
        let m1 = self.vbin_r(ctx, minmax, a, b)?;
        let m2 = self.vbin_r(ctx, minmax, b, a)?;
        // The mask of every bit below the quiet bit of a lane.
        let (shift, frac_shift) = if double { (XmmShiftImmOp::Psrlq, 13) } else { (XmmShiftImmOp::Psrld, 10) };
        if min {
            // or: −0 for (+0, −0), a NaN when either is NaN; NaN lanes then all ones, the
            // payload cleared: 0xfff8… (0xffc0…).
            let r = self.vbin_r(ctx, or, m1, m2)?;
            let nan = self.vbin_imm(ctx, cmp, r, RegMem::Reg(r), 3)?;
            let r = self.vbin_r(ctx, or, r, nan)?;
            let frac = self.vshift_imm(ctx, shift, nan, frac_shift)?;
            return self.vbin_r(ctx, andn, frac, r);
        }
        // d = m1 ^ m2 is 0 except for (+0, −0) (the sign bit) and NaN lanes; m1 | d is then
        // m1, −0, or a NaN; subtracting d gives m1, +0 (−0 − −0), or the NaN quieted.
        let d = self.vbin_r(ctx, xor, m1, m2)?;
        let r = self.vbin_r(ctx, or, m1, d)?;
        let s = self.vbin_r(ctx, sub, r, d)?;
        let nan = self.vbin_imm(ctx, cmp, r, RegMem::Reg(r), 3)?;
        let frac = self.vshift_imm(ctx, shift, nan, frac_shift)?;
        self.vbin_r(ctx, andn, frac, s)
    }

    /// The high half of the products of 8- or 32-bit lanes. Bytes: widened to 16 bits,
    /// multiplied, the high bytes packed. Dwords: the 64-bit products of the even and of
    /// the odd lanes (`pmuludq`, or `pmuldq` with SSE4.1), their high dwords interleaved; a
    /// signed product without SSE4.1 from the unsigned one, minus `b` where `a` < 0 and `a`
    /// where `b` < 0.
    fn lower_vmulhi(&self, ctx: Ctx, signed: bool, a: Reg, b: Reg, bits: u32) -> CodegenResult<Reg> {
        use XmmShiftImmOp as I;
        if bits == 8 {
            let mut halves = [a; 2];
            for (i, unpack) in [SseOp::Punpcklbw, SseOp::Punpckhbw].into_iter().enumerate() {
                let mut w = [a; 2];
                for (k, x) in [a, b].into_iter().enumerate() {
                    w[k] = if signed {
                        let t = self.vbin_r(ctx, unpack, x, x)?;
                        self.vshift_imm(ctx, I::Psraw, t, 8)?
                    } else {
                        let z = self.vzero(ctx)?;
                        self.vbin_r(ctx, unpack, x, z)?
                    };
                }
                let p = self.vbin_r(ctx, SseOp::Pmullw, w[0], w[1])?;
                halves[i] = self.vshift_imm(ctx, I::Psrlw, p, 8)?;
            }
            return self.vbin_r(ctx, SseOp::Packuswb, halves[0], halves[1]);
        }
        let native = signed && self.b.isa.has_sse41;
        let mul = if native { SseOp::Pmuldq } else { SseOp::Pmuludq };
        let even = self.vbin_r(ctx, mul, a, b)?;
        // The odd lanes moved to the low dword of each qword (pmuldq/pmuludq read only it).
        let a1 = self.vun_imm(ctx, SseOp::Pshufd, a, 0b11_11_01_01)?;
        let b1 = self.vun_imm(ctx, SseOp::Pshufd, b, 0b11_11_01_01)?;
        let odd = self.vbin_r(ctx, mul, a1, b1)?;
        let e = self.vun_imm(ctx, SseOp::Pshufd, even, 0b11_11_11_01)?;
        let o = self.vun_imm(ctx, SseOp::Pshufd, odd, 0b11_11_11_01)?;
        let r = self.vbin_r(ctx, SseOp::Punpckldq, e, o)?;
        if !signed || native {
            return Ok(r);
        }
        let sa = self.vshift_imm(ctx, I::Psrad, a, 31)?;
        let sb = self.vshift_imm(ctx, I::Psrad, b, 31)?;
        let t1 = self.vbin_r(ctx, SseOp::Pand, sa, b)?;
        let t2 = self.vbin_r(ctx, SseOp::Pand, sb, a)?;
        let r = self.vbin_r(ctx, SseOp::Psubd, r, t1)?;
        self.vbin_r(ctx, SseOp::Psubd, r, t2)
    }

    /// The bit count of every byte of `x`: nibble lookups with SSSE3, else the SSE2
    /// pair/nibble/byte sums.
    fn popcnt_bytes(&self, ctx: Ctx, x: Reg) -> CodegenResult<Reg> {
        if self.b.isa.has_ssse3 {
            // popcnt(lo nibble) + popcnt(hi nibble).
            let table: [u8; 16] = [0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4];
            let low_mask = self.const_mem(ctx, &[0x0f; 16]);
            let lo = self.vbin(ctx, SseOp::Pand, x, low_mask.clone())?;
            let hi = self.vshift_imm(ctx, XmmShiftImmOp::Psrlw, x, 4)?;
            let hi = self.vbin(ctx, SseOp::Pand, hi, low_mask)?;
            let t1 = self.vconst_reg(ctx, &table)?;
            let a = self.vbin_r(ctx, SseOp::Pshufb, t1, lo)?;
            let t2 = self.vconst_reg(ctx, &table)?;
            let b = self.vbin_r(ctx, SseOp::Pshufb, t2, hi)?;
            return self.vbin_r(ctx, SseOp::Paddb, a, b);
        }
        let t = self.vshift_imm(ctx, XmmShiftImmOp::Psrlw, x, 1)?;
        let m55 = self.const_mem(ctx, &[0x55; 16]);
        let t = self.vbin(ctx, SseOp::Pand, t, m55)?;
        let x = self.vbin_r(ctx, SseOp::Psubb, x, t)?;
        let m33 = self.const_mem(ctx, &[0x33; 16]);
        let lo = self.vbin(ctx, SseOp::Pand, x, m33.clone())?;
        let hi = self.vshift_imm(ctx, XmmShiftImmOp::Psrlw, x, 2)?;
        let hi = self.vbin(ctx, SseOp::Pand, hi, m33)?;
        let x = self.vbin_r(ctx, SseOp::Paddb, lo, hi)?;
        let t = self.vshift_imm(ctx, XmmShiftImmOp::Psrlw, x, 4)?;
        let x = self.vbin_r(ctx, SseOp::Paddb, x, t)?;
        let m0f = self.const_mem(ctx, &[0x0f; 16]);
        self.vbin(ctx, SseOp::Pand, x, m0f)
    }

    /// The lanes of `r` (floats of `bits` bits) that are NaN replaced by the canonical NaN.
    fn canonicalize_vector_nans(&self, ctx: Ctx, r: Reg, bits: u32) -> CodegenResult<Reg> {
        let d = bits == 64;
        let cmp = if d { SseOp::Cmppd } else { SseOp::Cmpps };
        let unord = self.vbin_imm(ctx, cmp, r, RegMem::Reg(r), 3)?;
        self.select_canonical_nan(ctx, unord, r, d)
    }

    /// `unord ? canonical NaN : r` lane by lane.
    fn select_canonical_nan(&self, ctx: Ctx, unord: Reg, r: Reg, double: bool) -> CodegenResult<Reg> {
        let canon = if double { lanes_const(64, 0x7ff8_0000_0000_0000) } else { lanes_const(32, 0x7fc0_0000) };
        let nan = self.const_mem(ctx, &canon);
        let nan = self.vbin(ctx, SseOp::Pand, unord, nan)?;
        let keep = self.vbin_r(ctx, SseOp::Pandn, unord, r)?;
        self.vbin_r(ctx, SseOp::Por, keep, nan)
    }

    /// The float vector `vty` computed lane by lane by calls of the scalar routine `lib`
    /// on the lanes of `args`, reassembled.
    fn lane_libcall(&self, ctx: Ctx, lib: LibCall, args: &[Reg], vty: Type) -> CodegenResult<Reg> {
        let lt = vty.lane_type();
        let double = lt.bits() == 64;
        let mut lanes: SmallVec<[Reg; 4]> = SmallVec::new();
        for i in 0..vty.lane_count() as u8 {
            let mut lane_args: SmallVec<[(ValueRegs, Type); 3]> = SmallVec::new();
            for &a in args {
                let l = match (i, double) {
                    (0, _) => a,
                    (_, true) => self.vun_imm(ctx, SseOp::Pshufd, a, 0xee)?,
                    (_, false) => self.vun_imm(ctx, SseOp::Pshufd, a, i)?,
                };
                lane_args.push((ValueRegs::one(l), lt));
            }
            let r = self.tmp(ctx, lt)?;
            ctx.emit_libcall(lib, &lane_args, &[(ValueRegs::one(r.to_reg()), lt)])?;
            lanes.push(r.to_reg());
        }
        Ok(match lanes.len() {
            1 => lanes[0],
            2 if double => self.vbin_r(ctx, SseOp::Movlhps, lanes[0], lanes[1])?,
            2 => self.vbin_r(ctx, SseOp::Unpcklps, lanes[0], lanes[1])?,
            _ => {
                let lo = self.vbin_r(ctx, SseOp::Unpcklps, lanes[0], lanes[1])?;
                let hi = self.vbin_r(ctx, SseOp::Unpcklps, lanes[2], lanes[3])?;
                self.vbin_r(ctx, SseOp::Movlhps, lo, hi)?
            }
        })
    }

    /// The lanes of `x` (of `bits` bits) filled with their sign bit.
    fn sign_mask(&self, ctx: Ctx, x: Reg, bits: u32) -> CodegenResult<Reg> {
        Ok(match bits {
            8 => {
                let z = self.vzero(ctx)?;
                self.vbin_r(ctx, SseOp::Pcmpgtb, z, x)?
            }
            16 => self.vshift_imm(ctx, XmmShiftImmOp::Psraw, x, 15)?,
            32 => self.vshift_imm(ctx, XmmShiftImmOp::Psrad, x, 31)?,
            _ => {
                let t = self.vshift_imm(ctx, XmmShiftImmOp::Psrad, x, 31)?;
                self.vun_imm(ctx, SseOp::Pshufd, t, 0b11_11_01_01)?
            }
        })
    }

    fn lower_splat(&self, ctx: Ctx, v: Value, ty: Type) -> CodegenResult<Reg> {
        let lt = ty.lane_type();
        let bits = lt.bits();
        // A constant: from the pool.
        if let Some(c) = ctx.iconst_bits(v) {
            return self.vconst_reg(ctx, &lanes_const(bits, c));
        }
        if let Some(def) = ctx.def_inst(v) {
            match *ctx.data(def) {
                D::UnaryIeee32 { imm, .. } => return self.vconst_reg(ctx, &lanes_const(32, imm.0 as u64)),
                D::UnaryIeee64 { imm, .. } => return self.vconst_reg(ctx, &lanes_const(64, imm.0)),
                _ => {}
            }
        }
        // A load with AVX2: broadcast straight from memory.
        if self.b.isa.has_avx2
            && ty.bits() == 128
            && let Some(m) = self.sinkable_load(ctx, v, lt)?
        {
            let op = [SseOp::Vpbroadcastb, SseOp::Vpbroadcastw, SseOp::Vpbroadcastd, SseOp::Vpbroadcastq]
                [bits.trailing_zeros() as usize - 3];
            return self.vun(ctx, op, RegMem::Mem(m));
        }
        let x = self.reg(ctx, v)?;
        let x = if lt.is_int() { self.gpr_to_xmm(ctx, x, bits == 64)? } else { x };
        self.broadcast_lane0(ctx, x, bits)
    }

    fn lower_extractlane(&self, ctx: Ctx, inst: IrInst, v: Value, vty: Type, lane: u8) -> CodegenResult<()> {
        let lt = vty.lane_type();
        let bits = lt.bits();
        let x = self.reg(ctx, v)?;
        let sse41 = self.b.isa.has_sse41;
        let vex = self.vex();
        let res = ctx.f.dfg.inst_results(inst)[0];
        if lt.is_float() {
            let r = match (bits, lane) {
                (_, 0) => x,
                (32, l) => self.vun_imm(ctx, SseOp::Pshufd, x, l)?,
                (64, _) => self.vun_imm(ctx, SseOp::Pshufd, x, 0xee)?,
                _ => return Err(unsupported_op(Opcode::Extractlane, vty)),
            };
            return ctx.alias_value(res, r);
        }
        let dst = self.output(ctx, inst)?;
        match bits {
            8 if sse41 => ctx.emit(Inst::XmmExtractGpr { op: XmmExtractOp::Pextrb, src: x, lane, dst, vex }),
            8 => {
                let t = self.tmp(ctx, types::I32)?;
                ctx.emit(Inst::XmmExtractGpr { op: XmmExtractOp::Pextrw, src: x, lane: lane / 2, dst: t, vex });
                let amount = ShiftAmount::Imm(if lane % 2 == 1 { 8 } else { 0 });
                ctx.emit(Inst::ShiftR { size: OperandSize::S32, kind: ShiftKind::Shr, src: t.to_reg(), amount, dst });
            }
            16 => ctx.emit(Inst::XmmExtractGpr { op: XmmExtractOp::Pextrw, src: x, lane, dst, vex }),
            32 | 64 if lane == 0 => {
                ctx.emit(Inst::XmmToGpr { op: XmmToGprOp::Mov, size: OperandSize::from_bits(bits), src: x, dst })
            }
            32 if sse41 => ctx.emit(Inst::XmmExtractGpr { op: XmmExtractOp::Pextrd, src: x, lane, dst, vex }),
            64 if sse41 => ctx.emit(Inst::XmmExtractGpr { op: XmmExtractOp::Pextrq, src: x, lane, dst, vex }),
            32 | 64 => {
                let imm = if bits == 32 { lane } else { 0xee };
                let t = self.vun_imm(ctx, SseOp::Pshufd, x, imm)?;
                ctx.emit(Inst::XmmToGpr { op: XmmToGprOp::Mov, size: OperandSize::from_bits(bits), src: t, dst });
            }
            _ => return Err(unsupported_op(Opcode::Extractlane, vty)),
        }
        Ok(())
    }

    fn lower_insertlane(&self, ctx: Ctx, v: Value, s: Value, vty: Type, lane: u8) -> CodegenResult<Reg> {
        let lt = vty.lane_type();
        let bits = lt.bits();
        let x = self.reg(ctx, v)?;
        let y = self.reg(ctx, s)?;
        let sse41 = self.b.isa.has_sse41;
        let vex = self.vex();
        let gpr_insert = |ctx: Ctx, op: XmmInsertOp| -> CodegenResult<Reg> {
            let dst = self.tmp(ctx, types::I8X16)?;
            ctx.emit(Inst::XmmInsertGpr { op, src1: x, src2: RegMem::Reg(y), lane, dst, vex });
            Ok(dst.to_reg())
        };
        Ok(match (lt.is_float(), bits, lane) {
            (false, 8, _) if sse41 => gpr_insert(ctx, XmmInsertOp::Pinsrb)?,
            (false, 16, _) => gpr_insert(ctx, XmmInsertOp::Pinsrw)?,
            (false, 32, _) if sse41 => gpr_insert(ctx, XmmInsertOp::Pinsrd)?,
            (false, 64, _) if sse41 => gpr_insert(ctx, XmmInsertOp::Pinsrq)?,
            (false, 64, l) => {
                let t = self.gpr_to_xmm(ctx, y, true)?;
                if l == 0 { self.vbin_r(ctx, SseOp::Movsd, x, t)? } else { self.vbin_r(ctx, SseOp::Movlhps, x, t)? }
            }
            (false, 32, l) => {
                // Through a register holding the value in lane 0: merged with movss, then
                // the lanes put back in order.
                let t = self.gpr_to_xmm(ctx, y, false)?;
                self.insert_f32_sse2(ctx, x, t, l)?
            }
            (false, 8, l) => {
                // Into the 16-bit lane holding the byte, with the other byte kept.
                let w = self.tmp(ctx, types::I32)?;
                ctx.emit(Inst::XmmExtractGpr { op: XmmExtractOp::Pextrw, src: x, lane: l / 2, dst: w, vex });
                let (keep, shift) = if l % 2 == 0 { (0xff00, 0) } else { (0x00ff, 8) };
                let k = self.emit_alu(ctx, OperandSize::S32, AluOp::And, w.to_reg(), RegMemImm::Imm(keep))?;
                let v = self.extend_reg(ctx, y, 8, false, false)?;
                let v = if shift > 0 {
                    let d = self.tmp(ctx, types::I32)?;
                    ctx.emit(Inst::ShiftR {
                        size: OperandSize::S32,
                        kind: ShiftKind::Shl,
                        src: v,
                        amount: ShiftAmount::Imm(8),
                        dst: d,
                    });
                    d.to_reg()
                } else {
                    v
                };
                let nw = self.emit_alu(ctx, OperandSize::S32, AluOp::Or, k, RegMemImm::Reg(v))?;
                let dst = self.tmp(ctx, types::I8X16)?;
                ctx.emit(Inst::XmmInsertGpr {
                    op: XmmInsertOp::Pinsrw,
                    src1: x,
                    src2: RegMem::Reg(nw),
                    lane: l / 2,
                    dst,
                    vex,
                });
                dst.to_reg()
            }
            (true, 32, l) if !sse41 => self.insert_f32_sse2(ctx, x, y, l)?,
            (true, 32, 0) => self.vbin_r(ctx, SseOp::Movss, x, y)?,
            (true, 32, l) if sse41 => self.vbin_imm(ctx, SseOp::Insertps, x, RegMem::Reg(y), l << 4)?,
            (true, 64, 0) => self.vbin_r(ctx, SseOp::Movsd, x, y)?,
            (true, 64, _) => self.vbin_r(ctx, SseOp::Movlhps, x, y)?,
            _ => return Err(unsupported(format!("{vty} insertlane without SSE4.1"))),
        })
    }

    /// Lane `lane` of the f32x4 `x` replaced by lane 0 of `y` (SSE2).
    fn insert_f32_sse2(&self, ctx: Ctx, x: Reg, y: Reg, lane: u8) -> CodegenResult<Reg> {
        if lane == 0 {
            return self.vbin_r(ctx, SseOp::Movss, x, y);
        }
        // Swap lane 0 and `lane`, merge into lane 0, swap back.
        let mut order = [0u8, 1, 2, 3];
        order.swap(0, lane as usize);
        let imm = order.iter().enumerate().fold(0u8, |acc, (i, v)| acc | (v << (2 * i)));
        let t = self.vun_imm(ctx, SseOp::Pshufd, x, imm)?;
        let t = self.vbin_r(ctx, SseOp::Movss, t, y)?;
        self.vun_imm(ctx, SseOp::Pshufd, t, imm)
    }

    fn lower_vminmax(&self, ctx: Ctx, op: Opcode, x: Value, y: Value, vty: Type) -> CodegenResult<Reg> {
        use SseOp::*;
        let bits = vty.lane_bits();
        let a = self.reg(ctx, x)?;
        let b = self.reg(ctx, y)?;
        let sse41 = self.b.isa.has_sse41;
        let direct = match (op, bits) {
            (Opcode::Smin, 16) => Some(Pminsw),
            (Opcode::Smax, 16) => Some(Pmaxsw),
            (Opcode::Umin, 8) => Some(Pminub),
            (Opcode::Umax, 8) => Some(Pmaxub),
            (Opcode::Smin, 8) if sse41 => Some(Pminsb),
            (Opcode::Smax, 8) if sse41 => Some(Pmaxsb),
            (Opcode::Umin, 16) if sse41 => Some(Pminuw),
            (Opcode::Umax, 16) if sse41 => Some(Pmaxuw),
            (Opcode::Smin, 32) if sse41 => Some(Pminsd),
            (Opcode::Smax, 32) if sse41 => Some(Pmaxsd),
            (Opcode::Umin, 32) if sse41 => Some(Pminud),
            (Opcode::Umax, 32) if sse41 => Some(Pmaxud),
            _ => None,
        };
        if let Some(o) = direct {
            return self.vbin_r(ctx, o, a, b);
        }
        // a > b (signed, or unsigned after flipping the sign bits), then select.
        let gt = self.vgt(ctx, a, b, bits, matches!(op, Opcode::Umin | Opcode::Umax))?;
        if matches!(op, Opcode::Smax | Opcode::Umax) {
            self.vbitselect(ctx, gt, a, b)
        } else {
            self.vbitselect(ctx, gt, b, a)
        }
    }

    /// Lane equality with `eq`; `pcmpeqq` from `pcmpeqd` without SSE4.1 (both halves
    /// equal).
    fn veq(&self, ctx: Ctx, eq: SseOp, a: Reg, b: Reg) -> CodegenResult<Reg> {
        if eq != SseOp::Pcmpeqq || self.b.isa.has_sse41 {
            return self.vbin_r(ctx, eq, a, b);
        }
        let t = self.vbin_r(ctx, SseOp::Pcmpeqd, a, b)?;
        let s = self.vun_imm(ctx, SseOp::Pshufd, t, 0b10_11_00_01)?;
        self.vbin_r(ctx, SseOp::Pand, t, s)
    }

    /// Lanes where `a > b` (signed or unsigned) as a mask; `pcmpgtq` from 32-bit compares
    /// without SSE4.2.
    fn vgt(&self, ctx: Ctx, a: Reg, b: Reg, bits: u32, unsigned: bool) -> CodegenResult<Reg> {
        if bits == 64 && !self.b.isa.has_sse42 {
            // From 32-bit compares: the high halves decide unless equal, then the low
            // halves compared unsigned (sign bits flipped; the high ones too if unsigned).
            let flip =
                self.const_mem(ctx, &lanes_const(64, if unsigned { 0x8000_0000_8000_0000 } else { 0x8000_0000 }));
            let fa = self.vbin(ctx, SseOp::Pxor, a, flip.clone())?;
            let fb = self.vbin(ctx, SseOp::Pxor, b, flip)?;
            let gt = self.vbin_r(ctx, SseOp::Pcmpgtd, fa, fb)?;
            let eq = self.vbin_r(ctx, SseOp::Pcmpeqd, fa, fb)?;
            let gt_lo = self.vun_imm(ctx, SseOp::Pshufd, gt, 0b10_10_00_00)?;
            let gt_hi = self.vun_imm(ctx, SseOp::Pshufd, gt, 0b11_11_01_01)?;
            let eq_hi = self.vun_imm(ctx, SseOp::Pshufd, eq, 0b11_11_01_01)?;
            let t = self.vbin_r(ctx, SseOp::Pand, eq_hi, gt_lo)?;
            return self.vbin_r(ctx, SseOp::Por, gt_hi, t);
        }
        let gt = match bits {
            8 => SseOp::Pcmpgtb,
            16 => SseOp::Pcmpgtw,
            32 => SseOp::Pcmpgtd,
            _ => SseOp::Pcmpgtq,
        };
        let (a, b) = if unsigned {
            let s = lanes_const(bits, 1 << (bits - 1));
            let m1 = self.const_mem(ctx, &s);
            let fa = self.vbin(ctx, SseOp::Pxor, a, m1)?;
            let m2 = self.const_mem(ctx, &s);
            let fb = self.vbin(ctx, SseOp::Pxor, b, m2)?;
            (fa, fb)
        } else {
            (a, b)
        };
        self.vbin_r(ctx, gt, a, b)
    }

    fn lower_vicmp(&self, ctx: Ctx, cc: IntCC, x: Value, y: Value, vty: Type) -> CodegenResult<Reg> {
        let bits = vty.lane_bits();
        let a = self.reg(ctx, x)?;
        let b = self.reg(ctx, y)?;
        let eq = match bits {
            8 => SseOp::Pcmpeqb,
            16 => SseOp::Pcmpeqw,
            32 => SseOp::Pcmpeqd,
            _ => SseOp::Pcmpeqq,
        };
        let unsigned = matches!(
            cc,
            IntCC::UnsignedLessThan
                | IntCC::UnsignedGreaterThan
                | IntCC::UnsignedLessThanOrEqual
                | IntCC::UnsignedGreaterThanOrEqual
        );
        let gt = |ctx: Ctx, p: Reg, q: Reg| self.vgt(ctx, p, q, bits, unsigned);
        Ok(match cc {
            IntCC::Equal => self.veq(ctx, eq, a, b)?,
            IntCC::NotEqual => {
                let t = self.veq(ctx, eq, a, b)?;
                self.vnot(ctx, t)?
            }
            IntCC::SignedGreaterThan | IntCC::UnsignedGreaterThan => gt(ctx, a, b)?,
            IntCC::SignedLessThan | IntCC::UnsignedLessThan => gt(ctx, b, a)?,
            IntCC::SignedLessThanOrEqual | IntCC::UnsignedLessThanOrEqual => {
                let t = gt(ctx, a, b)?;
                self.vnot(ctx, t)?
            }
            IntCC::SignedGreaterThanOrEqual | IntCC::UnsignedGreaterThanOrEqual => {
                let t = gt(ctx, b, a)?;
                self.vnot(ctx, t)?
            }
        })
    }

    fn lower_vshift(&self, ctx: Ctx, op: Opcode, x: Value, amt: Value, vty: Type) -> CodegenResult<Reg> {
        use XmmShiftImmOp as I;
        let bits = vty.lane_bits();
        let a = self.reg(ctx, x)?;
        let n = self.vshift_count(ctx, amt, bits)?;
        let idx = match bits {
            16 => 0,
            32 => 1,
            64 => 2,
            _ => 3,
        };
        if idx < 3 && !(op == Opcode::Sshr && bits == 64) {
            let (imm_op, reg_op) = match op {
                Opcode::Ishl => ([I::Psllw, I::Pslld, I::Psllq][idx], [SseOp::Psllw, SseOp::Pslld, SseOp::Psllq][idx]),
                Opcode::Ushr => ([I::Psrlw, I::Psrld, I::Psrlq][idx], [SseOp::Psrlw, SseOp::Psrld, SseOp::Psrlq][idx]),
                _ => ([I::Psraw, I::Psrad][idx], [SseOp::Psraw, SseOp::Psrad][idx]),
            };
            return self.vshift(ctx, imm_op, reg_op, a, n);
        }
        if bits == 64 {
            // sshr i64: ((x >>> n) ^ m) - m with m = 1 << (63 - n).
            let t = self.vshift(ctx, I::Psrlq, SseOp::Psrlq, a, n)?;
            let s = self.vconst_reg(ctx, &lanes_const(64, 1 << 63))?;
            let m = self.vshift(ctx, I::Psrlq, SseOp::Psrlq, s, n)?;
            let t = self.vbin_r(ctx, SseOp::Pxor, t, m)?;
            return self.vbin_r(ctx, SseOp::Psubq, t, m);
        }
        // Bytes.
        match op {
            Opcode::Ishl | Opcode::Ushr => {
                // A 16-bit shift, then the bits that crossed between bytes cleared.
                let (imm_op, reg_op) =
                    if op == Opcode::Ishl { (I::Psllw, SseOp::Psllw) } else { (I::Psrlw, SseOp::Psrlw) };
                let t = self.vshift(ctx, imm_op, reg_op, a, n)?;
                let mask = match n {
                    Ok(i) => {
                        let m = if op == Opcode::Ishl { (0xffu32 << i) as u8 } else { (0xffu32 >> i) as u8 };
                        self.vconst_reg(ctx, &[m; 16])?
                    }
                    Err(c) => {
                        let base = self.vconst_reg(ctx, &lanes_const(16, 0x00ff))?;
                        let m = self.vbin_r(ctx, reg_op, base, c)?;
                        self.broadcast_lane0(ctx, m, 8)?
                    }
                };
                self.vbin_r(ctx, SseOp::Pand, t, mask)
            }
            _ => {
                // Each byte doubled into a 16-bit lane, shifted arithmetically by n + 8,
                // packed back.
                let lo = self.vbin_r(ctx, SseOp::Punpcklbw, a, a)?;
                let hi = self.vbin_r(ctx, SseOp::Punpckhbw, a, a)?;
                let (lo, hi) = match n {
                    Ok(i) => (self.vshift_imm(ctx, I::Psraw, lo, i + 8)?, self.vshift_imm(ctx, I::Psraw, hi, i + 8)?),
                    Err(c) => {
                        let lo = self.vbin_r(ctx, SseOp::Psraw, lo, c)?;
                        let hi = self.vbin_r(ctx, SseOp::Psraw, hi, c)?;
                        (self.vshift_imm(ctx, I::Psraw, lo, 8)?, self.vshift_imm(ctx, I::Psraw, hi, 8)?)
                    }
                };
                self.vbin_r(ctx, SseOp::Packsswb, lo, hi)
            }
        }
    }

    fn lower_iadd_pairwise(&self, ctx: Ctx, a: Reg, b: Reg, vty: Type) -> CodegenResult<Reg> {
        let bits = vty.lane_bits();
        match bits {
            8 => {
                // Each byte plus its odd neighbour in the low byte of a 16-bit lane, the
                // high bytes cleared, packed (no saturation: every lane is below 256).
                let mut r = [a; 2];
                for (i, x) in [a, b].into_iter().enumerate() {
                    let odd = self.vshift_imm(ctx, XmmShiftImmOp::Psrlw, x, 8)?;
                    let t = self.vbin_r(ctx, SseOp::Paddb, x, odd)?;
                    let m = self.const_mem(ctx, &lanes_const(16, 0xff));
                    r[i] = self.vbin(ctx, SseOp::Pand, t, m)?;
                }
                self.vbin_r(ctx, SseOp::Packuswb, r[0], r[1])
            }
            16 if self.b.isa.has_ssse3 => self.vbin_r(ctx, SseOp::Phaddw, a, b),
            16 => {
                // pmaddwd by ones sums the pairs into 32 bits; keep the (wrapped) low 16
                // bits sign-extended so the pack does not saturate.
                let mut half = [0u8; 2];
                half[0] = 1;
                let mut r = [a; 2];
                for (i, x) in [a, b].into_iter().enumerate() {
                    let ones = self.const_mem(ctx, &splat_bytes(&half));
                    let t = self.vbin(ctx, SseOp::Pmaddwd, x, ones)?;
                    let t = self.vshift_imm(ctx, XmmShiftImmOp::Pslld, t, 16)?;
                    r[i] = self.vshift_imm(ctx, XmmShiftImmOp::Psrad, t, 16)?;
                }
                self.vbin_r(ctx, SseOp::Packssdw, r[0], r[1])
            }
            32 if self.b.isa.has_ssse3 => self.vbin_r(ctx, SseOp::Phaddd, a, b),
            32 => {
                // pmaddwd with ones does not apply to i32 inputs; use shuffles.
                let even = self.vbin_imm(ctx, SseOp::Shufps, a, RegMem::Reg(b), 0b10_00_10_00)?;
                let odd = self.vbin_imm(ctx, SseOp::Shufps, a, RegMem::Reg(b), 0b11_01_11_01)?;
                self.vbin_r(ctx, SseOp::Paddd, even, odd)
            }
            _ => Err(unsupported_op(Opcode::IaddPairwise, vty)),
        }
    }

    fn lower_narrow(&self, ctx: Ctx, op: Opcode, x: Value, y: Value, vty: Type) -> CodegenResult<Reg> {
        let bits = vty.lane_bits();
        // i32x4 from f64x2 saturating conversions and a zero vector (Wasm's
        // `trunc_sat_f64x2_*_zero`).
        if bits == 64 && self.is_zero_vconst(ctx, y) {
            if let Some(def) = ctx.def_inst(x)
                && let D::Unary { opcode: cvt @ (Opcode::FcvtToSintSat | Opcode::FcvtToUintSat), arg } = *ctx.data(def)
                && ctx.value_ty(arg) == types::F64X2
                && ((op == Opcode::Snarrow && cvt == Opcode::FcvtToSintSat)
                    || (op == Opcode::Uunarrow && cvt == Opcode::FcvtToUintSat))
            {
                let f = self.reg(ctx, arg)?;
                return self.f64x2_to_i32x4_sat(ctx, f, cvt == Opcode::FcvtToSintSat);
            }
        }
        let a = self.reg(ctx, x)?;
        let b = self.reg(ctx, y)?;
        // A small vector: x's lanes then y's in one register, narrowed together; the low
        // half of the result is the answer.
        let (a, b) = if vty.bits() < 128 {
            let t = self.concat_small(ctx, a, b, vty)?;
            (t, t)
        } else {
            (a, b)
        };
        let sse41 = self.b.isa.has_sse41;
        match (op, bits) {
            (Opcode::Snarrow, 16) => self.vbin_r(ctx, SseOp::Packsswb, a, b),
            (Opcode::Snarrow, 32) => self.vbin_r(ctx, SseOp::Packssdw, a, b),
            (Opcode::Unarrow, 16) => self.vbin_r(ctx, SseOp::Packuswb, a, b),
            (Opcode::Unarrow, 32) if sse41 => self.vbin_r(ctx, SseOp::Packusdw, a, b),
            (Opcode::Uunarrow, 16) if sse41 => {
                let m1 = self.const_mem(ctx, &lanes_const(16, 0xff));
                let a = self.vbin(ctx, SseOp::Pminuw, a, m1)?;
                let m2 = self.const_mem(ctx, &lanes_const(16, 0xff));
                let b = self.vbin(ctx, SseOp::Pminuw, b, m2)?;
                self.vbin_r(ctx, SseOp::Packuswb, a, b)
            }
            (Opcode::Uunarrow, 16) => {
                // min(x, 255) unsigned without pminuw: x - sat(x - 255); then no lane
                // saturates in the signed-to-unsigned pack.
                let mut r = [a; 2];
                for (i, v) in [a, b].into_iter().enumerate() {
                    let m = self.const_mem(ctx, &lanes_const(16, 0xff));
                    let over = self.vbin(ctx, SseOp::Psubusw, v, m)?;
                    r[i] = self.vbin_r(ctx, SseOp::Psubw, v, over)?;
                }
                self.vbin_r(ctx, SseOp::Packuswb, r[0], r[1])
            }
            (Opcode::Uunarrow, 32) if sse41 => {
                let m1 = self.const_mem(ctx, &lanes_const(32, 0xffff));
                let a = self.vbin(ctx, SseOp::Pminud, a, m1)?;
                let m2 = self.const_mem(ctx, &lanes_const(32, 0xffff));
                let b = self.vbin(ctx, SseOp::Pminud, b, m2)?;
                self.vbin_r(ctx, SseOp::Packusdw, a, b)
            }
            (Opcode::Unarrow | Opcode::Uunarrow, 32) => {
                // Without packusdw: clamp every lane into [0, 0xffff] (negative lanes to 0
                // for unarrow; lanes above 0xffff to all ones), sign-extend the low 16 bits
                // and pack with signed saturation (which then keeps them exactly).
                let mut r = [a; 2];
                for (i, v) in [a, b].into_iter().enumerate() {
                    let v = if op == Opcode::Unarrow {
                        let z = self.vzero(ctx)?;
                        let neg = self.vbin_r(ctx, SseOp::Pcmpgtd, z, v)?;
                        self.vbin_r(ctx, SseOp::Pandn, neg, v)?
                    } else {
                        v
                    };
                    let limit = self.vconst_reg(ctx, &lanes_const(32, 0xffff))?;
                    let over = self.vgt(ctx, v, limit, 32, op == Opcode::Uunarrow)?;
                    let v = self.vbin_r(ctx, SseOp::Por, v, over)?;
                    let v = self.vshift_imm(ctx, XmmShiftImmOp::Pslld, v, 16)?;
                    r[i] = self.vshift_imm(ctx, XmmShiftImmOp::Psrad, v, 16)?;
                }
                self.vbin_r(ctx, SseOp::Packssdw, r[0], r[1])
            }
            (_, 64) => {
                // No 64-to-32-bit pack: clamp each lane into the 32-bit range with compares
                // and selects, then gather the low halves of x's and y's lanes.
                let (lo, hi): (Option<u64>, u64) = match op {
                    Opcode::Snarrow => (Some(i32::MIN as i64 as u64), i32::MAX as u64),
                    Opcode::Unarrow => (Some(0), u32::MAX as u64),
                    _ => (None, u32::MAX as u64),
                };
                let unsigned = op == Opcode::Uunarrow;
                let mut r = [a; 2];
                for (i, v) in [a, b].into_iter().enumerate() {
                    let h = self.vconst_reg(ctx, &lanes_const(64, hi))?;
                    let over = self.vgt(ctx, v, h, 64, unsigned)?;
                    let mut v = self.vbitselect(ctx, over, h, v)?;
                    if let Some(lo) = lo {
                        let l = self.vconst_reg(ctx, &lanes_const(64, lo))?;
                        let under = self.vgt(ctx, l, v, 64, false)?;
                        v = self.vbitselect(ctx, under, l, v)?;
                    }
                    r[i] = v;
                }
                self.vbin_imm(ctx, SseOp::Shufps, r[0], RegMem::Reg(r[1]), 0b10_00_10_00)
            }
            _ => Err(unsupported_op(op, vty)),
        }
    }

    /// The lanes of the small vectors `a` then `b` (of type `vty`, at most 64 bits) side by
    /// side in the low `2 × vty.bytes()` bytes of one register.
    fn concat_small(&self, ctx: Ctx, a: Reg, b: Reg, vty: Type) -> CodegenResult<Reg> {
        let unpack = match vty.bytes() {
            2 => SseOp::Punpcklwd,
            4 => SseOp::Punpckldq,
            8 => SseOp::Punpcklqdq,
            _ => return Err(unsupported(format!("{vty} lanes of two operands"))),
        };
        self.vbin_r(ctx, unpack, a, b)
    }

    fn is_zero_vconst(&self, ctx: Ctx, v: Value) -> bool {
        let Some(def) = ctx.def_inst(v) else { return false };
        let D::UnaryConst { opcode: Opcode::Vconst, constant } = *ctx.data(def) else { return false };
        ctx.f.dfg.constants.get(constant).is_some_and(|c| c.as_slice().iter().all(|b| *b == 0))
    }

    fn lower_widen(&self, ctx: Ctx, op: Opcode, x: Reg, vty: Type) -> CodegenResult<Reg> {
        let bits = vty.lane_bits();
        let signed = matches!(op, Opcode::SwidenLow | Opcode::SwidenHigh);
        let high = matches!(op, Opcode::SwidenHigh | Opcode::UwidenHigh);
        if bits > 32 {
            return Err(unsupported_op(op, vty));
        }
        if self.b.isa.has_sse41 {
            let src = if high { self.vun_imm(ctx, SseOp::Pshufd, x, 0xee)? } else { x };
            let mop = match (signed, bits) {
                (true, 8) => SseOp::Pmovsxbw,
                (true, 16) => SseOp::Pmovsxwd,
                (true, _) => SseOp::Pmovsxdq,
                (false, 8) => SseOp::Pmovzxbw,
                (false, 16) => SseOp::Pmovzxwd,
                (false, _) => SseOp::Pmovzxdq,
            };
            return self.vun(ctx, mop, RegMem::Reg(src));
        }
        let (lo_op, hi_op) = match bits {
            8 => (SseOp::Punpcklbw, SseOp::Punpckhbw),
            16 => (SseOp::Punpcklwd, SseOp::Punpckhwd),
            _ => (SseOp::Punpckldq, SseOp::Punpckhdq),
        };
        let unpack = if high { hi_op } else { lo_op };
        if signed {
            let s = self.sign_mask(ctx, x, bits)?;
            self.vbin_r(ctx, unpack, x, s)
        } else {
            let z = self.vzero(ctx)?;
            self.vbin_r(ctx, unpack, x, z)
        }
    }

    fn f64x2_to_i32x4_sat(&self, ctx: Ctx, x: Reg, signed: bool) -> CodegenResult<Reg> {
        // NaN lanes to 0, then clamp into the target range (exact in f64), truncate.
        let ord = self.vbin_imm(ctx, SseOp::Cmppd, x, RegMem::Reg(x), 7)?;
        let xz = self.vbin_r(ctx, SseOp::Pand, x, ord)?;
        if signed {
            let hi = self.const_mem(ctx, &lanes_const(64, 2147483647.0f64.to_bits()));
            let c = self.vbin(ctx, SseOp::Minpd, xz, hi)?;
            return self.vun(ctx, SseOp::Cvttpd2dq, RegMem::Reg(c));
        }
        if !self.b.isa.has_sse41 {
            return Err(unsupported("f64x2 fcvt_to_uint_sat without SSE4.1"));
        }
        let z = self.vzero(ctx)?;
        let c = self.vbin_r(ctx, SseOp::Maxpd, xz, z)?;
        let hi = self.const_mem(ctx, &lanes_const(64, 4294967295.0f64.to_bits()));
        let c = self.vbin(ctx, SseOp::Minpd, c, hi)?;
        // Truncate, then add 2^52: the integer is the low 32 bits of the mantissa.
        let t = self.vun_imm(ctx, SseOp::Roundpd, c, 0b1011)?;
        let magic = self.const_mem(ctx, &lanes_const(64, 0x4330_0000_0000_0000));
        let m = self.vbin(ctx, SseOp::Addpd, t, magic)?;
        self.vbin_imm(ctx, SseOp::Shufps, m, RegMem::Reg(z), 0b10_00_10_00)
    }

    fn lower_vcvt_from_int(&self, ctx: Ctx, op: Opcode, x: Value, ty: Type) -> CodegenResult<Reg> {
        let src_ty = ctx.value_ty(x);
        // f64x2 from the low half of an i32x4 (Wasm's `convert_low_i32x4_*`).
        if ty == types::F64X2
            && let Some(def) = ctx.def_inst(x)
            && let D::Unary { opcode: w @ (Opcode::SwidenLow | Opcode::UwidenLow), arg } = *ctx.data(def)
            && ctx.value_ty(arg) == types::I32X4
            && ((w == Opcode::SwidenLow) == (op == Opcode::FcvtFromSint))
        {
            let a = self.reg(ctx, arg)?;
            if w == Opcode::SwidenLow {
                return self.vun(ctx, SseOp::Cvtdq2pd, RegMem::Reg(a));
            }
            // Unsigned: put each lane in the mantissa of 2^52, subtract 2^52.
            let hi = self.const_mem(ctx, &lanes_const(32, 0x4330_0000));
            let t = self.vbin(ctx, SseOp::Unpcklps, a, hi)?;
            let magic = self.const_mem(ctx, &lanes_const(64, 0x4330_0000_0000_0000));
            return self.vbin(ctx, SseOp::Subpd, t, magic);
        }
        let a = self.reg(ctx, x)?;
        match (op, src_ty.lane_bits(), ty.lane_bits()) {
            (Opcode::FcvtFromSint, 32, 32) => self.vun(ctx, SseOp::Cvtdq2ps, RegMem::Reg(a)),
            (Opcode::FcvtFromUint, 32, 32) => {
                // lo = x & 0xffff (exact), hi = x - lo; hi / 2 converted exactly, doubled.
                let m = self.const_mem(ctx, &lanes_const(32, 0xffff));
                let lo = self.vbin(ctx, SseOp::Pand, a, m)?;
                let hi = self.vbin_r(ctx, SseOp::Psubd, a, lo)?;
                let flo = self.vun(ctx, SseOp::Cvtdq2ps, RegMem::Reg(lo))?;
                let h = self.vshift_imm(ctx, XmmShiftImmOp::Psrld, hi, 1)?;
                let fh = self.vun(ctx, SseOp::Cvtdq2ps, RegMem::Reg(h))?;
                let fh = self.vbin_r(ctx, SseOp::Addps, fh, fh)?;
                self.vbin_r(ctx, SseOp::Addps, fh, flo)
            }
            (Opcode::FcvtFromUint, 64, 64) => {
                // The low 32 bits in the mantissa of 2^52, the high 32 bits in that of 2^84:
                // (hi - (2^84 + 2^52)) is exact, adding lo rounds once.
                let m = self.const_mem(ctx, &lanes_const(64, 0xffff_ffff));
                let lo = self.vbin(ctx, SseOp::Pand, a, m)?;
                let c52 = self.const_mem(ctx, &lanes_const(64, 0x4330_0000_0000_0000));
                let lo = self.vbin(ctx, SseOp::Por, lo, c52)?;
                let hi = self.vshift_imm(ctx, XmmShiftImmOp::Psrlq, a, 32)?;
                let c84 = self.const_mem(ctx, &lanes_const(64, 0x4530_0000_0000_0000));
                let hi = self.vbin(ctx, SseOp::Por, hi, c84)?;
                let both = self.const_mem(ctx, &lanes_const(64, 0x4530_0000_0010_0000));
                let hi = self.vbin(ctx, SseOp::Subpd, hi, both)?;
                self.vbin_r(ctx, SseOp::Addpd, hi, lo)
            }
            (Opcode::FcvtFromSint, 64, 64) => {
                // Lane by lane through the scalar conversion.
                let l0 = self.xmm_to_gpr(ctx, a, true)?;
                let h = self.vun_imm(ctx, SseOp::Pshufd, a, 0xee)?;
                let l1 = self.xmm_to_gpr(ctx, h, true)?;
                let mut f = [a; 2];
                for (i, l) in [l0, l1].into_iter().enumerate() {
                    let d2 = self.tmp(ctx, types::F64)?;
                    ctx.emit(Inst::GprToXmm {
                        op: GprToXmmOp::Cvtsi2sd,
                        size: OperandSize::S64,
                        src: RegMem::Reg(l),
                        dst: d2,
                    });
                    f[i] = d2.to_reg();
                }
                self.vbin_r(ctx, SseOp::Movlhps, f[0], f[1])
            }
            _ => Err(unsupported(format!("{op} from {src_ty} to {ty}"))),
        }
    }

    fn lower_vcvt_to_int(&self, ctx: Ctx, op: Opcode, x: Value, ty: Type) -> CodegenResult<Reg> {
        let src_ty = ctx.value_ty(x);
        let a = self.reg(ctx, x)?;
        let packed = src_ty.lane_bits() == 32 && ty.lane_bits() == 32;
        if op == Opcode::X86Cvtt2dq && !packed {
            return Err(unsupported(format!("{op} from {src_ty} to {ty}")));
        }
        if !packed {
            return self.vcvt_to_int_lanes(ctx, op == Opcode::FcvtToSintSat, a, src_ty, ty);
        }
        // f32 lanes to i32 lanes (also the small f32x2): the low lanes of the packed forms.
        if op == Opcode::X86Cvtt2dq {
            return self.vun(ctx, SseOp::Cvttps2dq, RegMem::Reg(a));
        }
        let two31 = lanes_const(32, 2147483648.0f32.to_bits() as u64);
        if op == Opcode::FcvtToSintSat {
            // NaN lanes to 0; the conversion gives 0x80000000 for every out-of-range lane,
            // which is right below the range and flipped to 0x7fffffff above it.
            let ord = self.vbin_imm(ctx, SseOp::Cmpps, a, RegMem::Reg(a), 0)?;
            let xz = self.vbin_r(ctx, SseOp::Pand, a, ord)?;
            let r = self.vun(ctx, SseOp::Cvttps2dq, RegMem::Reg(xz))?;
            let c = self.const_mem(ctx, &two31);
            let big = self.vbin_imm(ctx, SseOp::Cmpps, xz, c, 5)?;
            return self.vbin_r(ctx, SseOp::Pxor, r, big);
        }
        // Unsigned: clamp below at 0 (NaN too), convert x and x - 2^31, combine.
        let z = self.vzero(ctx)?;
        let xz = self.vbin_r(ctx, SseOp::Maxps, a, z)?;
        let t1 = self.vun(ctx, SseOp::Cvttps2dq, RegMem::Reg(xz))?;
        let c = self.const_mem(ctx, &two31);
        let xh = self.vbin(ctx, SseOp::Subps, xz, c.clone())?;
        let t2 = self.vun(ctx, SseOp::Cvttps2dq, RegMem::Reg(xh))?;
        let big = self.vbin_imm(ctx, SseOp::Cmpps, xz, c.clone(), 5)?;
        let over = self.vbin_imm(ctx, SseOp::Cmpps, xh, c, 5)?;
        let t2 = self.vbin_r(ctx, SseOp::Pand, t2, big)?;
        let r = self.vbin_r(ctx, SseOp::Por, t1, t2)?;
        self.vbin_r(ctx, SseOp::Por, r, over)
    }

    /// A saturating float-to-integer conversion with no packed sequence (f64 lanes, 64-bit
    /// results): each lane through the scalar saturating conversion, the integers put back
    /// together in an XMM register.
    fn vcvt_to_int_lanes(&self, ctx: Ctx, signed: bool, a: Reg, src_ty: Type, ty: Type) -> CodegenResult<Reg> {
        let (sb, db, n) = (src_ty.lane_bits(), ty.lane_bits(), ty.lane_count());
        if !matches!(sb, 32 | 64) || !matches!(db, 32 | 64) || n > 4 || (db == 64 && n > 2) {
            return Err(unsupported(format!(
                "fcvt_to_{}int_sat from {src_ty} to {ty}",
                if signed { "s" } else { "u" }
            )));
        }
        let double = sb == 64;
        let fty = if double { types::F64 } else { types::F32 };
        let mut lanes: SmallVec<[Reg; 4]> = SmallVec::new();
        for i in 0..n as u8 {
            let l = match (i, double) {
                (0, _) => a,
                (_, true) => self.vun_imm(ctx, SseOp::Pshufd, a, 0xee)?,
                (_, false) => self.vun_imm(ctx, SseOp::Pshufd, a, i)?,
            };
            let dst = self.tmp(ctx, types::I64)?;
            let (tmp_gpr, tmp_xmm, tmp_xmm2) = (self.tmp(ctx, types::I64)?, self.tmp(ctx, fty)?, self.tmp(ctx, fty)?);
            ctx.emit(Inst::CvtFloatToIntSeq {
                src_double: double,
                dst_size: if db == 64 { OperandSize::S64 } else { OperandSize::S32 },
                signed,
                saturating: true,
                src: l,
                dst,
                tmp_gpr,
                tmp_xmm,
                tmp_xmm2,
            });
            lanes.push(self.gpr_to_xmm(ctx, dst.to_reg(), db == 64)?);
        }
        Ok(match (lanes.len(), db) {
            (1, _) => lanes[0],
            (2, 64) => self.vbin_r(ctx, SseOp::Punpcklqdq, lanes[0], lanes[1])?,
            (2, _) => self.vbin_r(ctx, SseOp::Punpckldq, lanes[0], lanes[1])?,
            _ => {
                let lo = self.vbin_r(ctx, SseOp::Punpckldq, lanes[0], lanes[1])?;
                let hi = self.vbin_r(ctx, SseOp::Punpckldq, lanes[2], lanes[3])?;
                self.vbin_r(ctx, SseOp::Punpcklqdq, lo, hi)?
            }
        })
    }

    fn lower_shuffle(&self, ctx: Ctx, x: Value, y: Value, idx: [u8; 16]) -> CodegenResult<Reg> {
        let a = self.reg(ctx, x)?;
        let b = self.reg(ctx, y)?;
        // Whole 32-bit lanes: pshufd of one source, shufps of two (low half from the first
        // operand, high half from the second).
        let lanes32: Option<[u8; 4]> = (0..4)
            .map(|i| {
                let l = idx[i * 4];
                (l % 4 == 0 && (0..4).all(|k| idx[i * 4 + k] == l + k as u8)).then_some(l / 4)
            })
            .collect::<Option<Vec<u8>>>()
            .map(|v| [v[0], v[1], v[2], v[3]]);
        if let Some(l) = lanes32 {
            let imm = |l: [u8; 4]| l.iter().enumerate().fold(0u8, |acc, (i, x)| acc | ((x & 3) << (2 * i)));
            if l.iter().all(|x| *x < 4) {
                return self.vun_imm(ctx, SseOp::Pshufd, a, imm(l));
            }
            if l.iter().all(|x| *x >= 4) {
                return self.vun_imm(ctx, SseOp::Pshufd, b, imm(l));
            }
            if l[0] < 4 && l[1] < 4 && l[2] >= 4 && l[3] >= 4 {
                return self.vbin_imm(ctx, SseOp::Shufps, a, RegMem::Reg(b), imm(l));
            }
            if l[0] >= 4 && l[1] >= 4 && l[2] < 4 && l[3] < 4 {
                return self.vbin_imm(ctx, SseOp::Shufps, b, RegMem::Reg(a), imm(l));
            }
        }
        // Interleaves of the two operands.
        for (op, width, base) in [
            (SseOp::Punpcklbw, 1usize, 0u8),
            (SseOp::Punpckhbw, 1, 8),
            (SseOp::Punpcklwd, 2, 0),
            (SseOp::Punpckhwd, 2, 8),
            (SseOp::Punpckldq, 4, 0),
            (SseOp::Punpckhdq, 4, 8),
            (SseOp::Punpcklqdq, 8, 0),
            (SseOp::Punpckhqdq, 8, 8),
        ] {
            let fits = |first: u8, second: u8| {
                (0..16).all(|i| {
                    let chunk = i / width;
                    let (src, k) = (chunk % 2, i % width);
                    let from = base as usize + (chunk / 2) * width + k;
                    idx[i] as usize == from + if src == 0 { first as usize } else { second as usize }
                })
            };
            if fits(0, 16) {
                return self.vbin_r(ctx, op, a, b);
            }
            if fits(16, 0) {
                return self.vbin_r(ctx, op, b, a);
            }
        }
        // A byte rotation across the pair: palignr (bytes s.. of y:x with x low), or two
        // byte shifts without SSSE3.
        let s = idx[0];
        if (1..16).contains(&s) && (0..16).all(|i| idx[i] == s + i as u8) {
            if self.b.isa.has_ssse3 {
                return self.vbin_imm(ctx, SseOp::Palignr, b, RegMem::Reg(a), s);
            }
            let lo = self.vshift_imm(ctx, XmmShiftImmOp::Psrldq, a, s)?;
            let hi = self.vshift_imm(ctx, XmmShiftImmOp::Pslldq, b, 16 - s)?;
            return self.vbin_r(ctx, SseOp::Por, lo, hi);
        }
        self.need(self.b.isa.has_ssse3, Opcode::Shuffle, types::I8X16, "SSSE3")?;
        // General case: one pshufb per source (0x80 zeroes the lanes of the other), or'ed.
        let mut ma = [0x80u8; 16];
        let mut mb = [0x80u8; 16];
        for i in 0..16 {
            if idx[i] < 16 {
                ma[i] = idx[i];
            } else if idx[i] < 32 {
                mb[i] = idx[i] - 16;
            }
        }
        let use_a = ma.iter().any(|m| *m != 0x80);
        let use_b = mb.iter().any(|m| *m != 0x80);
        let ra = if use_a {
            let m = self.const_mem(ctx, &ma);
            Some(self.vbin(ctx, SseOp::Pshufb, a, m)?)
        } else {
            None
        };
        let rb = if use_b {
            let m = self.const_mem(ctx, &mb);
            Some(self.vbin(ctx, SseOp::Pshufb, b, m)?)
        } else {
            None
        };
        match (ra, rb) {
            (Some(p), Some(q)) => self.vbin_r(ctx, SseOp::Por, p, q),
            (Some(p), None) | (None, Some(p)) => Ok(p),
            (None, None) => self.vzero(ctx),
        }
    }

    /// `bitcast` with a vector on either side: through an XMM register; a big-endian bitcast
    /// between different lane sizes permutes the bytes (byte-swap the source lanes, then
    /// the result lanes: one pshufb).
    fn lower_vector_bitcast(&self, ctx: Ctx, inst: IrInst, src_ty: Type, ty: Type) -> CodegenResult<()> {
        if src_ty.bits() != ty.bits() {
            return Err(unsupported(format!("bitcast from {src_ty} to {ty}")));
        }
        let D::LoadNoOffset { flags, arg, .. } = *ctx.data(inst) else { unreachable!() };
        let big = ctx.f.dfg.mem_flags.get(flags).explicit_endianness() == Some(Endianness::Big);
        let (a, b) = ((src_ty.lane_bits() / 8) as usize, (ty.lane_bits() / 8) as usize);
        let permute = big && a != b;
        let r = self.regs(ctx, arg)?;
        let out = ctx.f.dfg.inst_results(inst)[0];
        if !permute && (src_ty.is_vector() && ty.is_vector() || class_of(src_ty) == class_of(ty) && r.len() == 1) {
            return ctx.alias_value(out, r.reg(0));
        }
        let x = if class_of(src_ty) != RegClass::Int {
            r.reg(0)
        } else if src_ty == types::I128 {
            let lo = self.gpr_to_xmm(ctx, r.reg(0), true)?;
            let hi = self.gpr_to_xmm(ctx, r.reg(1), true)?;
            self.vbin_r(ctx, SseOp::Punpcklqdq, lo, hi)?
        } else {
            self.gpr_to_xmm(ctx, r.reg(0), src_ty.bits() == 64)?
        };
        let x = if permute {
            self.need(self.b.isa.has_ssse3, Opcode::Bitcast, ty, "SSSE3 (big-endian)")?;
            let swap = |i: usize, n: usize| i / n * n + (n - 1 - i % n);
            let mut mask = [0u8; 16];
            for (i, m) in mask.iter_mut().enumerate() {
                *m = if i < ty.bytes() as usize { swap(swap(i, b), a) as u8 } else { i as u8 };
            }
            let c = self.const_mem(ctx, &mask);
            self.vbin(ctx, SseOp::Pshufb, x, c)?
        } else {
            x
        };
        if ty == types::I128 {
            let lo = self.xmm_to_gpr(ctx, x, true)?;
            let h = self.vun_imm(ctx, SseOp::Pshufd, x, 0xee)?;
            let hi = self.xmm_to_gpr(ctx, h, true)?;
            let dst = ctx.output_regs(inst, 0)?;
            self.mov_to(ctx, Writable::from_reg(dst.reg(0)), lo);
            self.mov_to(ctx, Writable::from_reg(dst.reg(1)), hi);
            return Ok(());
        }
        if class_of(ty) == RegClass::Int {
            let dst = self.output(ctx, inst)?;
            let size = if ty.bits() == 64 { OperandSize::S64 } else { OperandSize::S32 };
            ctx.emit(Inst::XmmToGpr { op: XmmToGprOp::Mov, size, src: x, dst });
            return Ok(());
        }
        ctx.alias_value(out, x)
    }

    fn lower_vector_load(&self, ctx: Ctx, inst: IrInst, op: Opcode, ty: Type) -> CodegenResult<()> {
        let D::Load { flags, arg, offset, .. } = *ctx.data(inst) else { unreachable!() };
        let mf = ctx.f.dfg.mem_flags.get(flags);
        let mem = self.mem(ctx, mf, arg, offset.0)?;
        if mf.explicit_endianness() == Some(Endianness::Big) {
            // Loaded little-endian, then every lane (of the memory type) byte-swapped in place;
            // an extending load reads 8 bytes and widens them after the swap.
            let (lane_ty, wop) = match op {
                Opcode::Load => (ty, None),
                Opcode::Uload8x8 | Opcode::Sload8x8 => (types::I8X16, None),
                Opcode::Uload16x4 => (types::I16X8, Some(Opcode::UwidenLow)),
                Opcode::Sload16x4 => (types::I16X8, Some(Opcode::SwidenLow)),
                Opcode::Uload32x2 => (types::I32X4, Some(Opcode::UwidenLow)),
                _ => (types::I32X4, Some(Opcode::SwidenLow)),
            };
            if lane_ty.lane_bits() > 8 {
                let t = self.tmp(ctx, types::I8X16)?;
                match wop {
                    None => self.emit_vector_load(ctx, Opcode::Load, ty, mem, t)?,
                    Some(_) => ctx.emit(Inst::XmmLoad { op: XmmMovOp::Movsd, mem, dst: t, vex: self.vex() }),
                }
                let r = self.bswap_lanes(ctx, t.to_reg(), lane_ty.lane_bits())?;
                let r = match wop {
                    Some(w) => self.lower_widen(ctx, w, r, lane_ty)?,
                    None => r,
                };
                let out = ctx.f.dfg.inst_results(inst)[0];
                return ctx.alias_value(out, r);
            }
        }
        let dst = self.output(ctx, inst)?;
        self.emit_vector_load(ctx, op, ty, mem, dst)
    }

    /// A little-endian vector load of `op` (`load` or an extending load) into `dst`.
    fn emit_vector_load(&self, ctx: Ctx, op: Opcode, ty: Type, mem: Mem, dst: Writable<Reg>) -> CodegenResult<()> {
        if op == Opcode::Load {
            let mop = match ty.bytes() {
                16 => XmmMovOp::Movups,
                8 => XmmMovOp::Movsd,
                4 => XmmMovOp::Movss,
                2 => {
                    // A 2-byte vector (i8x2): through a general register.
                    let g = self.tmp(ctx, types::I32)?;
                    ctx.emit(Inst::MovzxRmR { ext: ExtMode::WL, src: RegMem::Mem(mem), dst: g });
                    let r = self.gpr_to_xmm(ctx, g.to_reg(), false)?;
                    self.mov_to(ctx, dst, r);
                    return Ok(());
                }
                _ => return Err(unsupported_op(op, ty)),
            };
            ctx.emit(Inst::XmmLoad { op: mop, mem, dst, vex: self.vex() });
            return Ok(());
        }
        let signed = matches!(op, Opcode::Sload8x8 | Opcode::Sload16x4 | Opcode::Sload32x2);
        let narrow = match op {
            Opcode::Uload8x8 | Opcode::Sload8x8 => types::I8X16,
            Opcode::Uload16x4 | Opcode::Sload16x4 => types::I16X8,
            _ => types::I32X4,
        };
        if self.b.isa.has_sse41 {
            // pmovsx/pmovzx read their 8 bytes straight from memory.
            let mop = match (signed, narrow.lane_bits()) {
                (true, 8) => SseOp::Pmovsxbw,
                (true, 16) => SseOp::Pmovsxwd,
                (true, _) => SseOp::Pmovsxdq,
                (false, 8) => SseOp::Pmovzxbw,
                (false, 16) => SseOp::Pmovzxwd,
                (false, _) => SseOp::Pmovzxdq,
            };
            ctx.emit(Inst::XmmUnaryRmR { op: mop, src: RegMem::Mem(mem), dst, vex: self.vex() });
            return Ok(());
        }
        let t = self.tmp(ctx, types::I8X16)?;
        ctx.emit(Inst::XmmLoad { op: XmmMovOp::Movsd, mem, dst: t, vex: self.vex() });
        let wop = if signed { Opcode::SwidenLow } else { Opcode::UwidenLow };
        let r = self.lower_widen(ctx, wop, t.to_reg(), narrow)?;
        self.mov_to(ctx, dst, r);
        Ok(())
    }

    fn lower_vector_store(&self, ctx: Ctx, inst: IrInst) -> CodegenResult<()> {
        let D::Store { flags, args, offset, .. } = *ctx.data(inst) else { unreachable!() };
        let mf = ctx.f.dfg.mem_flags.get(flags);
        let vty = ctx.value_ty(args[0]);
        let big = mf.explicit_endianness() == Some(Endianness::Big) && vty.lane_bits() > 8;
        let mop = match vty.bytes() {
            16 => XmmMovOp::Movups,
            8 => XmmMovOp::Movsd,
            4 => XmmMovOp::Movss,
            2 => {
                // A 2-byte vector (i8x2): through a general register.
                let r = self.reg(ctx, args[0])?;
                let r = if big { self.bswap_lanes(ctx, r, vty.lane_bits())? } else { r };
                let g = self.xmm_to_gpr(ctx, r, false)?;
                let mem = self.mem(ctx, mf, args[1], offset.0)?;
                ctx.emit(Inst::Store { size: OperandSize::S16, src: g, mem });
                return Ok(());
            }
            _ => return Err(unsupported_op(Opcode::Store, vty)),
        };
        let r = self.reg(ctx, args[0])?;
        // Big-endian: every lane byte-swapped in place, then stored little-endian.
        let r = if big { self.bswap_lanes(ctx, r, vty.lane_bits())? } else { r };
        let mem = self.mem(ctx, mf, args[1], offset.0)?;
        ctx.emit(Inst::XmmStore { op: mop, src: r, mem, vex: self.vex() });
        Ok(())
    }

    /// The bytes of every lane of `x` (lanes of `bits` > 8 bits) reversed, lanes in place:
    /// one `pshufb` with SSSE3, else word swaps (`pshuflw`/`pshufhw`) and a byte swap
    /// within the 16-bit words by shifts.
    fn bswap_lanes(&self, ctx: Ctx, x: Reg, bits: u32) -> CodegenResult<Reg> {
        if self.b.isa.has_ssse3 {
            let n = (bits / 8) as usize;
            let mut mask = [0u8; 16];
            for (i, m) in mask.iter_mut().enumerate() {
                *m = (i / n * n + (n - 1 - i % n)) as u8;
            }
            let c = self.const_mem(ctx, &mask);
            return self.vbin(ctx, SseOp::Pshufb, x, c);
        }
        let words = match bits {
            32 => Some(0b10_11_00_01u8),
            64 => Some(0b00_01_10_11),
            _ => None,
        };
        let x = match words {
            Some(imm) => {
                let t = self.vun_imm(ctx, SseOp::Pshuflw, x, imm)?;
                self.vun_imm(ctx, SseOp::Pshufhw, t, imm)?
            }
            None => x,
        };
        let hi = self.vshift_imm(ctx, XmmShiftImmOp::Psllw, x, 8)?;
        let lo = self.vshift_imm(ctx, XmmShiftImmOp::Psrlw, x, 8)?;
        self.vbin_r(ctx, SseOp::Por, hi, lo)
    }
}

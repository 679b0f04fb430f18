//! GNU-assembler syntax for aarch64 instructions.
//!
//! Invariant: for every real instruction form the printed text assembles with
//! `aarch64-linux-gnu-as` to exactly the word `emit.rs` produces (labels and relocated
//! fields excepted). Where the architecture defines a preferred alias (`mov`, `cmp`,
//! `lsl`, `ubfx`, `cset`, `mul`, `stadd`, …) the printer uses it under the same conditions
//! as the Arm ARM, so the text reads like a disassembler's. Virtual registers print as
//! `%vNx`/`%vNw` (integer) or `%vNd`/`%vN.4s` (FP/SIMD); labels as `labelN`; unresolved
//! stack locations as `slot+N`, `outgoing+N`, `incoming+N`. Pseudo-instructions print
//! their instructions separated by `; `.

use crate::aarch64::inst::*;
use crate::aarch64::regs::{is_sp, is_zr, show_ireg, show_vreg_lane, show_vreg_scalar, show_vreg_vector};
use crate::names::{show_name, show_name_offset, show_stack};
use kiln_codegen::machinst::{MachLabel, Reg, Writable};

/// A label.
pub fn show_label(l: MachLabel) -> String {
    format!("label{}", l.0)
}

fn x(r: Reg) -> String {
    show_ireg(r, true)
}

fn ir(r: Reg, size: OperandSize) -> String {
    show_ireg(r, size.is64())
}

fn iw(r: Writable<Reg>, size: OperandSize) -> String {
    show_ireg(r.to_reg(), size.is64())
}

fn sc(r: Reg, size: ScalarSize) -> String {
    show_vreg_scalar(r, size.letter())
}

fn scw(r: Writable<Reg>, size: ScalarSize) -> String {
    sc(r.to_reg(), size)
}

fn vec(r: Reg, size: VectorSize) -> String {
    show_vreg_vector(r, size.name())
}

fn vecw(r: Writable<Reg>, size: VectorSize) -> String {
    vec(r.to_reg(), size)
}

fn lane(r: Reg, size: ScalarSize, l: u8) -> String {
    show_vreg_lane(r, size.letter(), l)
}

/// An integer register of an access of `size` bytes: w for up to 4, x for 8.
fn ir_access(r: Reg, size: ScalarSize) -> String {
    show_ireg(r, size.bits() == 64)
}

fn alu_name(op: ALUOp) -> &'static str {
    use ALUOp::*;
    match op {
        Add => "add",
        Sub => "sub",
        Adds => "adds",
        Subs => "subs",
        And => "and",
        Orr => "orr",
        Eor => "eor",
        Ands => "ands",
        Bic => "bic",
        Orn => "orn",
        Eon => "eon",
        Bics => "bics",
        Adc => "adc",
        Adcs => "adcs",
        Sbc => "sbc",
        Sbcs => "sbcs",
        Lsl => "lsl",
        Lsr => "lsr",
        Asr => "asr",
        Ror => "ror",
        SDiv => "sdiv",
        UDiv => "udiv",
        SMulH => "smulh",
        UMulH => "umulh",
    }
}

/// The preferred alias of a two-register-operand ALU form, if any: `(mnemonic, uses rd,
/// uses rn)`: `cmp`/`cmn`/`tst` drop rd, `neg`/`negs`/`ngc`/`ngcs`/`mvn`/`mov` drop rn.
fn alu_alias(op: ALUOp, rd: Reg, rn: Reg, plain_rm: bool) -> Option<(&'static str, bool, bool)> {
    match op {
        ALUOp::Subs if is_zr(rd) => Some(("cmp", false, true)),
        ALUOp::Adds if is_zr(rd) => Some(("cmn", false, true)),
        ALUOp::Ands if is_zr(rd) => Some(("tst", false, true)),
        ALUOp::Sub if is_zr(rn) => Some(("neg", true, false)),
        ALUOp::Subs if is_zr(rn) => Some(("negs", true, false)),
        ALUOp::Sbc if is_zr(rn) => Some(("ngc", true, false)),
        ALUOp::Sbcs if is_zr(rn) => Some(("ngcs", true, false)),
        ALUOp::Orn if is_zr(rn) => Some(("mvn", true, false)),
        ALUOp::Orr if is_zr(rn) && plain_rm => Some(("mov", true, false)),
        _ => None,
    }
}

fn operands(parts: &[String]) -> String {
    parts.join(", ")
}

fn alu_text(op: ALUOp, size: OperandSize, rd: Reg, rn: Reg, rest: &[String], plain_rm: bool) -> String {
    let (name, with_d, with_n) = alu_alias(op, rd, rn, plain_rm).unwrap_or((alu_name(op), true, true));
    let mut parts = Vec::with_capacity(4);
    if with_d {
        parts.push(ir(rd, size));
    }
    if with_n {
        parts.push(ir(rn, size));
    }
    parts.extend_from_slice(rest);
    format!("{name} {}", operands(&parts))
}

/// `, lsl #16*hw`, or nothing for hw 0.
fn lsl16(hw: u8) -> String {
    if hw == 0 { String::new() } else { format!(", lsl #{}", 16 * hw as u32) }
}

fn imm(v: impl std::fmt::Display) -> String {
    format!("#{v}")
}

fn hex(v: u64) -> String {
    format!("#0x{v:x}")
}

/// The Arm ARM's `BFXPreferred`: is `sbfx`/`ubfx` the preferred alias of this bitfield
/// move (rather than an extension)?
fn bfx_preferred(is64: bool, unsigned: bool, imms: u8, immr: u8) -> bool {
    if imms < immr || imms as u32 == if is64 { 63 } else { 31 } {
        return false;
    }
    if immr == 0 {
        if !is64 && (imms == 7 || imms == 15) {
            return false;
        }
        if is64 && !unsigned && (imms == 7 || imms == 15 || imms == 31) {
            return false;
        }
    }
    true
}

fn bitfield_text(op: BitfieldOp, size: OperandSize, rd: Writable<Reg>, rn: Reg, immr: u8, imms: u8) -> String {
    let w = size.bits() as u8;
    let (d, n) = (iw(rd, size), ir(rn, size));
    let unsigned = op == BitfieldOp::Ubfm;
    if unsigned && imms != w - 1 && imms + 1 == immr {
        return format!("lsl {d}, {n}, #{}", w - 1 - imms);
    }
    if imms == w - 1 {
        return format!("{} {d}, {n}, #{immr}", if unsigned { "lsr" } else { "asr" });
    }
    let p = if unsigned { "u" } else { "s" };
    if imms < immr {
        return format!("{p}bfiz {d}, {n}, #{}, #{}", w - immr, imms + 1);
    }
    if bfx_preferred(size.is64(), unsigned, imms, immr) {
        return format!("{p}bfx {d}, {n}, #{immr}, #{}", imms - immr + 1);
    }
    // immr == 0 and imms == 7, 15 or 31: an extension of the low w register.
    let ext = match imms {
        7 => "xtb",
        15 => "xth",
        _ => "xtw",
    };
    format!("{p}{ext} {d}, {}", ir(rn, OperandSize::Size32))
}

fn load_name(op: LoadOp, unscaled: bool) -> String {
    use LoadOp::*;
    let base = match op {
        Ldrb => "ldrb",
        Ldrh => "ldrh",
        LdrsbW | LdrsbX => "ldrsb",
        LdrshW | LdrshX => "ldrsh",
        Ldrsw => "ldrsw",
        _ => "ldr",
    };
    if unscaled { base.replacen("ldr", "ldur", 1) } else { base.to_string() }
}

fn store_name(op: StoreOp, unscaled: bool) -> String {
    let base = match op {
        StoreOp::Strb => "strb",
        StoreOp::Strh => "strh",
        _ => "str",
    };
    if unscaled { base.replacen("str", "stur", 1) } else { base.to_string() }
}

fn load_reg(op: LoadOp, r: Reg) -> String {
    if op.is_fp() { sc(r, op.access()) } else { show_ireg(r, op.dest_is_x()) }
}

fn store_reg(op: StoreOp, r: Reg) -> String {
    if op.is_fp() { sc(r, op.access()) } else { show_ireg(r, op.access() == ScalarSize::Size64) }
}

/// An addressing mode for an access of `access`.
pub fn show_amode(m: &AMode, access: ScalarSize) -> String {
    match *m {
        AMode::UnsignedOffset { rn, off } => {
            if off == 0 {
                format!("[{}]", x(rn))
            } else {
                format!("[{}, #{off}]", x(rn))
            }
        }
        AMode::Unscaled { rn, off } => {
            if off == 0 {
                format!("[{}]", x(rn))
            } else {
                format!("[{}, #{off}]", x(rn))
            }
        }
        AMode::PreIndexed { rn, off } => format!("[{}, #{off}]!", x(rn)),
        AMode::PostIndexed { rn, off } => format!("[{}], #{off}", x(rn)),
        AMode::RegOffset { rn, rm, extend, scaled } => {
            let amt = access.log2_bytes();
            let (name, wide) = match extend {
                RegExtend::Lsl => ("lsl", true),
                RegExtend::Uxtw => ("uxtw", false),
                RegExtend::Sxtw => ("sxtw", false),
                RegExtend::Sxtx => ("sxtx", true),
            };
            let idx = show_ireg(rm, wide);
            match (extend, scaled) {
                (RegExtend::Lsl, false) => format!("[{}, {idx}]", x(rn)),
                (_, false) => format!("[{}, {idx}, {name}]", x(rn)),
                (_, true) => format!("[{}, {idx}, {name} #{amt}]", x(rn)),
            }
        }
        AMode::Label { label } => show_label(label),
        AMode::Stack(mode) => format!("[sp, {}]", show_stack(mode)),
        AMode::BaseOffset { rn, off: 0 } => format!("[{}]", x(rn)),
        AMode::BaseOffset { rn, off } => format!("[{}, #{off}]", x(rn)),
    }
}

/// An address computation (`add rd, base, #off` and the like).
fn show_load_addr(rd: Writable<Reg>, mem: &AMode) -> String {
    let d = x(rd.to_reg());
    match *mem {
        AMode::UnsignedOffset { rn, off } => format!("add {d}, {}, #{off}", x(rn)),
        AMode::Unscaled { rn, off } | AMode::PreIndexed { rn, off } | AMode::PostIndexed { rn, off } => {
            format!("add {d}, {}, #{off}", x(rn))
        }
        AMode::BaseOffset { rn, off } => format!("add {d}, {}, #{off}", x(rn)),
        AMode::Stack(mode) => format!("add {d}, sp, {}", show_stack(mode)),
        AMode::Label { label } => format!("adr {d}, {}", show_label(label)),
        AMode::RegOffset { .. } => format!("add {d}, {}", show_amode(mem, ScalarSize::Size8)),
    }
}

fn show_call_dest(dest: &CallDest) -> String {
    match dest {
        CallDest::Name { name, colocated: true } => format!("bl {}", show_name(name)),
        CallDest::Name { name, colocated: false } => format!("ldr x16, ={}; blr x16", show_name(name)),
        CallDest::Indirect(r) => format!("blr {}", x(*r)),
    }
}

fn show_call_info(s: &mut String, info: &CallInfo) {
    use std::fmt::Write;
    for (reg, p) in &info.uses {
        let _ = write!(s, " {}={}", show_any(*reg), show_any(Reg::phys(*p)));
    }
    for (reg, p) in &info.defs {
        let _ = write!(s, " {}={}", show_any(reg.to_reg()), show_any(Reg::phys(*p)));
    }
    if info.callee_pop > 0 {
        let _ = write!(s, " callee_pop={}", info.callee_pop);
    }
    if info.tail_stack_args > 0 {
        let _ = write!(s, " stack_args={}", info.tail_stack_args);
    }
}

/// A register of either class as a whole (`x3`, `q5`, `%v7x`, `%v8q`).
fn show_any(r: Reg) -> String {
    if r.class() == regalloc2::RegClass::Int { x(r) } else { show_vreg_scalar(r, 'q') }
}

fn loop_op_name(op: AtomicLoopOp) -> &'static str {
    match op {
        AtomicLoopOp::Add => "add",
        AtomicLoopOp::Sub => "sub",
        AtomicLoopOp::And => "and",
        AtomicLoopOp::Nand => "nand",
        AtomicLoopOp::Orr => "orr",
        AtomicLoopOp::Eor => "eor",
        AtomicLoopOp::Xchg => "xchg",
        AtomicLoopOp::Smin => "smin",
        AtomicLoopOp::Smax => "smax",
        AtomicLoopOp::Umin => "umin",
        AtomicLoopOp::Umax => "umax",
    }
}

fn show_pair_amode(m: &PairAMode) -> String {
    match *m {
        PairAMode::SignedOffset { rn, off: 0 } => format!("[{}]", x(rn)),
        PairAMode::SignedOffset { rn, off } => format!("[{}, #{off}]", x(rn)),
        PairAMode::PreIndexed { rn, off } => format!("[{}, #{off}]!", x(rn)),
        PairAMode::PostIndexed { rn, off } => format!("[{}], #{off}", x(rn)),
    }
}

fn pair_reg(op: PairOp, r: Reg) -> String {
    match op {
        PairOp::W => show_ireg(r, false),
        PairOp::X | PairOp::Sw => show_ireg(r, true),
        _ => sc(r, op.access()),
    }
}

/// The text of a conditional branch to `target`.
pub fn show_cond_br(kind: CondBrKind, target: &str) -> String {
    match kind {
        CondBrKind::Zero(r, size) => format!("cbz {}, {target}", ir(r, size)),
        CondBrKind::NotZero(r, size) => format!("cbnz {}, {target}", ir(r, size)),
        CondBrKind::TestBitZero(r, b) => format!("tbz {}, #{b}, {target}", show_ireg(r, b >= 32)),
        CondBrKind::TestBitNotZero(r, b) => format!("tbnz {}, #{b}, {target}", show_ireg(r, b >= 32)),
        CondBrKind::Cond(c) => format!("b.{} {target}", c.name()),
    }
}

fn fpu_op1_name(op: FpuOp1) -> &'static str {
    match op {
        FpuOp1::Abs => "fabs",
        FpuOp1::Neg => "fneg",
        FpuOp1::Sqrt => "fsqrt",
        FpuOp1::RintN => "frintn",
        FpuOp1::RintM => "frintm",
        FpuOp1::RintP => "frintp",
        FpuOp1::RintZ => "frintz",
        FpuOp1::RintA => "frinta",
        FpuOp1::RintX => "frintx",
        FpuOp1::RintI => "frinti",
    }
}

fn fpu_op2_name(op: FpuOp2) -> &'static str {
    match op {
        FpuOp2::Add => "fadd",
        FpuOp2::Sub => "fsub",
        FpuOp2::Mul => "fmul",
        FpuOp2::Div => "fdiv",
        FpuOp2::Max => "fmax",
        FpuOp2::Min => "fmin",
        FpuOp2::MaxNm => "fmaxnm",
        FpuOp2::MinNm => "fminnm",
        FpuOp2::NMul => "fnmul",
    }
}

fn fp_imm_text(v: f64) -> String {
    format!("#{v:?}")
}

/// The size suffix of a b/h access (`b`, `h`, or nothing for w/x).
fn bh_suffix(size: ScalarSize) -> &'static str {
    match size {
        ScalarSize::Size8 => "b",
        ScalarSize::Size16 => "h",
        _ => "",
    }
}

fn order_suffix(order: Ordering) -> &'static str {
    match (order.acquire, order.release) {
        (false, false) => "",
        (true, false) => "a",
        (false, true) => "l",
        (true, true) => "al",
    }
}

fn rmw_name(op: AtomicRmwOp) -> &'static str {
    match op {
        AtomicRmwOp::Add => "add",
        AtomicRmwOp::Clr => "clr",
        AtomicRmwOp::Eor => "eor",
        AtomicRmwOp::Set => "set",
        AtomicRmwOp::SMax => "smax",
        AtomicRmwOp::SMin => "smin",
        AtomicRmwOp::UMax => "umax",
        AtomicRmwOp::UMin => "umin",
        AtomicRmwOp::Swp => "swp",
    }
}

fn sysreg_name(r: SysReg) -> &'static str {
    match r {
        SysReg::Nzcv => "nzcv",
        SysReg::Fpcr => "fpcr",
        SysReg::Fpsr => "fpsr",
        SysReg::TpidrEl0 => "tpidr_el0",
    }
}

fn vec_alu_name(op: VecALUOp) -> &'static str {
    use VecALUOp::*;
    match op {
        Add => "add",
        Sub => "sub",
        Mul => "mul",
        Sqadd => "sqadd",
        Uqadd => "uqadd",
        Sqsub => "sqsub",
        Uqsub => "uqsub",
        Smax => "smax",
        Umax => "umax",
        Smin => "smin",
        Umin => "umin",
        Srhadd => "srhadd",
        Urhadd => "urhadd",
        Cmeq => "cmeq",
        Cmge => "cmge",
        Cmgt => "cmgt",
        Cmhi => "cmhi",
        Cmhs => "cmhs",
        Cmtst => "cmtst",
        Sshl => "sshl",
        Ushl => "ushl",
        Sqrdmulh => "sqrdmulh",
        Sqdmulh => "sqdmulh",
        Addp => "addp",
        Smaxp => "smaxp",
        Umaxp => "umaxp",
        Sminp => "sminp",
        Uminp => "uminp",
        And => "and",
        Bic => "bic",
        Orr => "orr",
        Orn => "orn",
        Eor => "eor",
        Fadd => "fadd",
        Fsub => "fsub",
        Fmul => "fmul",
        Fdiv => "fdiv",
        Fmax => "fmax",
        Fmin => "fmin",
        Fmaxnm => "fmaxnm",
        Fminnm => "fminnm",
        Fcmeq => "fcmeq",
        Fcmge => "fcmge",
        Fcmgt => "fcmgt",
        Faddp => "faddp",
        Zip1 => "zip1",
        Zip2 => "zip2",
        Uzp1 => "uzp1",
        Uzp2 => "uzp2",
        Trn1 => "trn1",
        Trn2 => "trn2",
    }
}

fn vec_alu_mod_name(op: VecALUModOp) -> &'static str {
    match op {
        VecALUModOp::Bsl => "bsl",
        VecALUModOp::Bit => "bit",
        VecALUModOp::Bif => "bif",
        VecALUModOp::Mla => "mla",
        VecALUModOp::Mls => "mls",
        VecALUModOp::Fmla => "fmla",
        VecALUModOp::Fmls => "fmls",
    }
}

fn vec_long_name(op: VecRRRLongOp) -> &'static str {
    use VecRRRLongOp::*;
    match op {
        Smull => "smull",
        Umull => "umull",
        Saddl => "saddl",
        Uaddl => "uaddl",
        Ssubl => "ssubl",
        Usubl => "usubl",
        Saddw => "saddw",
        Uaddw => "uaddw",
        Ssubw => "ssubw",
        Usubw => "usubw",
        Pmull => "pmull",
    }
}

fn vec_long_mod_name(op: VecRRRLongModOp) -> &'static str {
    match op {
        VecRRRLongModOp::Smlal => "smlal",
        VecRRRLongModOp::Umlal => "umlal",
        VecRRRLongModOp::Smlsl => "smlsl",
        VecRRRLongModOp::Umlsl => "umlsl",
    }
}

fn vec_misc_name(op: VecMisc2) -> &'static str {
    use VecMisc2::*;
    match op {
        Abs => "abs",
        Neg => "neg",
        Not => "mvn",
        Cnt => "cnt",
        Rbit => "rbit",
        Rev16 => "rev16",
        Rev32 => "rev32",
        Rev64 => "rev64",
        Cls => "cls",
        Clz => "clz",
        Cmeq0 => "cmeq",
        Cmge0 => "cmge",
        Cmgt0 => "cmgt",
        Cmle0 => "cmle",
        Cmlt0 => "cmlt",
        Saddlp => "saddlp",
        Uaddlp => "uaddlp",
        Fabs => "fabs",
        Fneg => "fneg",
        Fsqrt => "fsqrt",
        Frintn => "frintn",
        Frintm => "frintm",
        Frintp => "frintp",
        Frintz => "frintz",
        Frinta => "frinta",
        Frintx => "frintx",
        Frinti => "frinti",
        Fcvtzs => "fcvtzs",
        Fcvtzu => "fcvtzu",
        Scvtf => "scvtf",
        Ucvtf => "ucvtf",
        Fcmeq0 => "fcmeq",
        Fcmge0 => "fcmge",
        Fcmgt0 => "fcmgt",
        Fcmle0 => "fcmle",
        Fcmlt0 => "fcmlt",
        Frecpe => "frecpe",
        Frsqrte => "frsqrte",
        Fcvtl => "fcvtl",
        Shll => "shll",
    }
}

fn vec_narrow_name(op: VecNarrowOp) -> &'static str {
    match op {
        VecNarrowOp::Xtn => "xtn",
        VecNarrowOp::Sqxtn => "sqxtn",
        VecNarrowOp::Sqxtun => "sqxtun",
        VecNarrowOp::Uqxtn => "uqxtn",
        VecNarrowOp::Fcvtn => "fcvtn",
    }
}

fn vec_lanes_name(op: VecLanesOp) -> &'static str {
    match op {
        VecLanesOp::Addv => "addv",
        VecLanesOp::Smaxv => "smaxv",
        VecLanesOp::Umaxv => "umaxv",
        VecLanesOp::Sminv => "sminv",
        VecLanesOp::Uminv => "uminv",
        VecLanesOp::Saddlv => "saddlv",
        VecLanesOp::Uaddlv => "uaddlv",
        VecLanesOp::Addp => "addp",
    }
}

fn two(q: bool) -> &'static str {
    if q { "2" } else { "" }
}

fn vec_imm_text(q: bool, rd: Writable<Reg>, i: AsimdModImm) -> String {
    let name = if i.invert { "mvni" } else { "movi" };
    let lanes = |l: ScalarSize| vecw(rd, VectorSize::from_lane(l, q));
    match i.kind {
        AsimdImmKind::Bytes => format!("movi {}, {}", lanes(ScalarSize::Size8), hex(i.imm8 as u64)),
        AsimdImmKind::Halves { shift } | AsimdImmKind::Words { shift } => {
            let l = if matches!(i.kind, AsimdImmKind::Halves { .. }) { ScalarSize::Size16 } else { ScalarSize::Size32 };
            if shift == 0 {
                format!("{name} {}, {}", lanes(l), hex(i.imm8 as u64))
            } else {
                format!("{name} {}, {}, lsl #{shift}", lanes(l), hex(i.imm8 as u64))
            }
        }
        AsimdImmKind::WordsOnes { shift } => {
            format!("{name} {}, {}, msl #{shift}", lanes(ScalarSize::Size32), hex(i.imm8 as u64))
        }
        AsimdImmKind::ByteMask => {
            let v = i.expand64();
            if q {
                format!("movi {}, {}", lanes(ScalarSize::Size64), hex(v))
            } else {
                format!("movi {}, {}", scw(rd, ScalarSize::Size64), hex(v))
            }
        }
        AsimdImmKind::F32 => format!("fmov {}, {}", lanes(ScalarSize::Size32), fp_imm_text(FpImm8(i.imm8).to_f64())),
        AsimdImmKind::F64 => format!("fmov {}, {}", lanes(ScalarSize::Size64), fp_imm_text(FpImm8(i.imm8).to_f64())),
    }
}

/// Print an instruction in GNU assembler syntax.
pub fn print_inst(inst: &Inst) -> String {
    match inst {
        Inst::AluRRR { op, size, rd, rn, rm } => alu_text(*op, *size, rd.to_reg(), *rn, &[ir(*rm, *size)], true),
        Inst::AluRRRShift { op, size, rd, rn, rm, shift, amt } => {
            let plain = *shift == ShiftOp::Lsl && *amt == 0;
            let mut rest = vec![ir(*rm, *size)];
            if !plain {
                rest.push(format!("{} #{amt}", shift.name()));
            }
            alu_text(*op, *size, rd.to_reg(), *rn, &rest, plain)
        }
        Inst::AluRRRExtend { op, size, rd, rn, rm, extend, shift } => {
            let rm_x = size.is64() && extend.reads_x();
            let mut rest = vec![show_ireg(*rm, rm_x)];
            // With sp involved, uxtx (uxtw for 32-bit) is written as lsl, or omitted.
            let sp_form = (is_sp(rd.to_reg()) || is_sp(*rn))
                && *extend == if size.is64() { ExtendOp::UXTX } else { ExtendOp::UXTW };
            if sp_form {
                if *shift != 0 {
                    rest.push(format!("lsl #{shift}"));
                }
            } else if *shift == 0 {
                rest.push(extend.name().to_string());
            } else {
                rest.push(format!("{} #{shift}", extend.name()));
            }
            alu_text(*op, *size, rd.to_reg(), *rn, &rest, false)
        }
        Inst::AluRRImm12 { op, size, rd, rn, imm12 } => {
            if *op == ALUOp::Add && imm12.value() == 0 && (is_sp(rd.to_reg()) || is_sp(*rn)) {
                return format!("mov {}, {}", iw(*rd, *size), ir(*rn, *size));
            }
            let mut rest = vec![imm(imm12.bits)];
            if imm12.shift12 {
                rest.push("lsl #12".to_string());
            }
            let name = match op {
                ALUOp::Subs if is_zr(rd.to_reg()) => "cmp",
                ALUOp::Adds if is_zr(rd.to_reg()) => "cmn",
                _ => alu_name(*op),
            };
            let mut parts = Vec::new();
            if !matches!(name, "cmp" | "cmn") {
                parts.push(iw(*rd, *size));
            }
            parts.push(ir(*rn, *size));
            parts.extend(rest);
            format!("{name} {}", operands(&parts))
        }
        Inst::AluRRImmLogic { op, size, rd, rn, imml } => {
            if *op == ALUOp::Ands && is_zr(rd.to_reg()) {
                format!("tst {}, {}", ir(*rn, *size), hex(imml.value))
            } else {
                format!("{} {}, {}, {}", alu_name(*op), iw(*rd, *size), ir(*rn, *size), hex(imml.value))
            }
        }
        Inst::AluRRRR { op, size, rd, rn, rm, ra } => {
            let widening = !matches!(op, ALUOp3::MAdd | ALUOp3::MSub);
            let src = if widening { OperandSize::Size32 } else { *size };
            let (name, alias) = match op {
                ALUOp3::MAdd => ("madd", "mul"),
                ALUOp3::MSub => ("msub", "mneg"),
                ALUOp3::SMAddL => ("smaddl", "smull"),
                ALUOp3::SMSubL => ("smsubl", "smnegl"),
                ALUOp3::UMAddL => ("umaddl", "umull"),
                ALUOp3::UMSubL => ("umsubl", "umnegl"),
            };
            if is_zr(*ra) {
                format!("{alias} {}, {}, {}", iw(*rd, *size), ir(*rn, src), ir(*rm, src))
            } else {
                format!("{name} {}, {}, {}, {}", iw(*rd, *size), ir(*rn, src), ir(*rm, src), ir(*ra, *size))
            }
        }
        Inst::BitRR { op, size, rd, rn } => {
            let name = match op {
                BitOp::Rbit => "rbit",
                BitOp::Clz => "clz",
                BitOp::Cls => "cls",
                BitOp::Rev16 => "rev16",
                BitOp::Rev32 => "rev32",
                BitOp::Rev => "rev",
            };
            format!("{name} {}, {}", iw(*rd, *size), ir(*rn, *size))
        }
        Inst::MovWide { op, size, rd, imm } => {
            // `mov #value` is preferred unless the chunk is zero in a shifted position, or
            // (movn, 32-bit) 0xffff: there the value has a shorter encoding `mov` would pick.
            let movn = *op == MoveWideOp::MovN;
            let alias = !((imm.bits == 0 && imm.hw != 0) || (movn && !size.is64() && imm.bits == 0xffff));
            if alias {
                let v = if movn {
                    let n = !imm.value();
                    if size.is64() { n as i64 } else { n as u32 as i32 as i64 }
                } else {
                    imm.value() as i64
                };
                let text = if v < 0 { format!("#-0x{:x}", v.unsigned_abs()) } else { hex(v as u64) };
                format!("mov {}, {text}", iw(*rd, *size))
            } else {
                let name = if movn { "movn" } else { "movz" };
                format!("{name} {}, {}{}", iw(*rd, *size), hex(imm.bits as u64), lsl16(imm.hw))
            }
        }
        Inst::MovK { size, rd, imm, .. } => {
            format!("movk {}, {}{}", iw(*rd, *size), hex(imm.bits as u64), lsl16(imm.hw))
        }
        Inst::Mov { size, rd, rm } => format!("mov {}, {}", iw(*rd, *size), ir(*rm, *size)),
        Inst::Bitfield { op, size, rd, rn, immr, imms } => bitfield_text(*op, *size, *rd, *rn, *immr, *imms),
        Inst::BitfieldInsert { size, rd, rn, immr, imms, .. } => {
            let w = size.bits() as u8;
            if imms < immr {
                format!("bfi {}, {}, #{}, #{}", iw(*rd, *size), ir(*rn, *size), w - immr, imms + 1)
            } else {
                format!("bfxil {}, {}, #{immr}, #{}", iw(*rd, *size), ir(*rn, *size), imms - immr + 1)
            }
        }
        Inst::Extr { size, rd, rn, rm, lsb } => {
            if rn == rm {
                format!("ror {}, {}, #{lsb}", iw(*rd, *size), ir(*rn, *size))
            } else {
                format!("extr {}, {}, {}, #{lsb}", iw(*rd, *size), ir(*rn, *size), ir(*rm, *size))
            }
        }
        Inst::CSel { op, size, rd, rn, rm, cond } => {
            let d = iw(*rd, *size);
            let plain_cond = !matches!(cond, Cond::Al | Cond::Nv);
            let inv = cond.invert().name();
            let both_zr = is_zr(*rn) && is_zr(*rm);
            let same = rn == rm && !is_zr(*rn);
            match op {
                CSelOp::Csinc if plain_cond && both_zr => format!("cset {d}, {inv}"),
                CSelOp::Csinv if plain_cond && both_zr => format!("csetm {d}, {inv}"),
                CSelOp::Csinc if plain_cond && same => format!("cinc {d}, {}, {inv}", ir(*rn, *size)),
                CSelOp::Csinv if plain_cond && same => format!("cinv {d}, {}, {inv}", ir(*rn, *size)),
                CSelOp::Csneg if plain_cond && rn == rm => format!("cneg {d}, {}, {inv}", ir(*rn, *size)),
                _ => {
                    let name = match op {
                        CSelOp::Csel => "csel",
                        CSelOp::Csinc => "csinc",
                        CSelOp::Csinv => "csinv",
                        CSelOp::Csneg => "csneg",
                    };
                    format!("{name} {d}, {}, {}, {}", ir(*rn, *size), ir(*rm, *size), cond.name())
                }
            }
        }
        Inst::CCmp { op, size, rn, rm, nzcv, cond } => {
            let name = if *op == CCmpOp::Ccmp { "ccmp" } else { "ccmn" };
            format!("{name} {}, {}, #{}, {}", ir(*rn, *size), ir(*rm, *size), nzcv.bits(), cond.name())
        }
        Inst::CCmpImm { op, size, rn, imm, nzcv, cond } => {
            let name = if *op == CCmpOp::Ccmp { "ccmp" } else { "ccmn" };
            format!("{name} {}, #{imm}, #{}, {}", ir(*rn, *size), nzcv.bits(), cond.name())
        }
        Inst::Adr { rd, label } => format!("adr {}, {}", x(rd.to_reg()), show_label(*label)),
        Inst::Adrp { rd, label } => format!("adrp {}, {}", x(rd.to_reg()), show_label(*label)),
        Inst::LoadExtName { rd, name, offset } => {
            let d = x(rd.to_reg());
            let s = show_name_offset(name, *offset);
            format!("adrp {d}, {s}; add {d}, {d}, :lo12:{s}")
        }

        Inst::Load { op, rd, mem, .. } => {
            let unscaled = matches!(mem, AMode::Unscaled { .. });
            format!("{} {}, {}", load_name(*op, unscaled), load_reg(*op, rd.to_reg()), show_amode(mem, op.access()))
        }
        Inst::Store { op, rt, mem, .. } => {
            let unscaled = matches!(mem, AMode::Unscaled { .. });
            format!("{} {}, {}", store_name(*op, unscaled), store_reg(*op, *rt), show_amode(mem, op.access()))
        }
        Inst::LoadPair { op, rt, rt2, mem, .. } => {
            let name = if *op == PairOp::Sw { "ldpsw" } else { "ldp" };
            format!("{name} {}, {}, {}", pair_reg(*op, rt.to_reg()), pair_reg(*op, rt2.to_reg()), show_pair_amode(mem))
        }
        Inst::StorePair { op, rt, rt2, mem, .. } => {
            format!("stp {}, {}, {}", pair_reg(*op, *rt), pair_reg(*op, *rt2), show_pair_amode(mem))
        }

        Inst::Jump { dest } => format!("b {}", show_label(*dest)),
        Inst::CondBr { kind, taken, not_taken } => {
            format!("{}; b {}", show_cond_br(*kind, &show_label(*taken)), show_label(*not_taken))
        }
        Inst::TrapIf { kind, code } => show_cond_br(*kind, &format!("trap_{code}")),
        Inst::Br { rn } => format!("br {}", x(*rn)),
        Inst::Blr { rn } => format!("blr {}", x(*rn)),
        Inst::Bl { name } => format!("bl {}", show_name(name)),
        Inst::Ret => "ret".to_string(),
        Inst::RetAuth { key } => if *key == PacKey::A { "retaa" } else { "retab" }.to_string(),
        Inst::Udf { code } => format!("udf #{}", code.as_raw()),
        Inst::Brk { imm } => format!("brk {}", hex(*imm as u64)),

        Inst::FpuMove { size, rd, rn } => format!("fmov {}, {}", scw(*rd, *size), sc(*rn, *size)),
        Inst::FpuRR { op, size, rd, rn } => format!("{} {}, {}", fpu_op1_name(*op), scw(*rd, *size), sc(*rn, *size)),
        Inst::FpuCvt { from, to, rd, rn } => format!("fcvt {}, {}", scw(*rd, *to), sc(*rn, *from)),
        Inst::FpuRRR { op, size, rd, rn, rm } => {
            format!("{} {}, {}, {}", fpu_op2_name(*op), scw(*rd, *size), sc(*rn, *size), sc(*rm, *size))
        }
        Inst::FpuRRRR { op, size, rd, rn, rm, ra } => {
            let name = match op {
                FpuOp3::MAdd => "fmadd",
                FpuOp3::MSub => "fmsub",
                FpuOp3::NMAdd => "fnmadd",
                FpuOp3::NMSub => "fnmsub",
            };
            format!("{name} {}, {}, {}, {}", scw(*rd, *size), sc(*rn, *size), sc(*rm, *size), sc(*ra, *size))
        }
        Inst::FpuCmp { size, rn, rm } => format!("fcmp {}, {}", sc(*rn, *size), sc(*rm, *size)),
        Inst::FpuCmpZero { size, rn } => format!("fcmp {}, #0.0", sc(*rn, *size)),
        Inst::FpuCCmp { size, rn, rm, nzcv, cond } => {
            format!("fccmp {}, {}, #{}, {}", sc(*rn, *size), sc(*rm, *size), nzcv.bits(), cond.name())
        }
        Inst::FpuCSel { size, rd, rn, rm, cond } => {
            format!("fcsel {}, {}, {}, {}", scw(*rd, *size), sc(*rn, *size), sc(*rm, *size), cond.name())
        }
        Inst::FpuMoveImm { size, rd, imm } => format!("fmov {}, {}", scw(*rd, *size), fp_imm_text(imm.to_f64())),
        Inst::MovToFpu { size, isize, rd, rn } => format!("fmov {}, {}", scw(*rd, *size), ir(*rn, *isize)),
        Inst::MovFromFpu { size, isize, rd, rn } => format!("fmov {}, {}", iw(*rd, *isize), sc(*rn, *size)),
        Inst::FpuToInt { op, size, isize, rd, rn } => {
            let name = if *op == FpuToIntOp::Fcvtzs { "fcvtzs" } else { "fcvtzu" };
            format!("{name} {}, {}", iw(*rd, *isize), sc(*rn, *size))
        }
        Inst::IntToFpu { op, size, isize, rd, rn } => {
            let name = if *op == IntToFpuOp::Scvtf { "scvtf" } else { "ucvtf" };
            format!("{name} {}, {}", scw(*rd, *size), ir(*rn, *isize))
        }

        Inst::LoadExclusive { acquire, size, rt, rn, .. } => {
            let name = if *acquire { "ldaxr" } else { "ldxr" };
            format!("{name}{} {}, [{}]", bh_suffix(*size), ir_access(rt.to_reg(), *size), x(*rn))
        }
        Inst::StoreExclusive { release, size, rs, rt, rn, .. } => {
            let name = if *release { "stlxr" } else { "stxr" };
            format!(
                "{name}{} {}, {}, [{}]",
                bh_suffix(*size),
                show_ireg(rs.to_reg(), false),
                ir_access(*rt, *size),
                x(*rn)
            )
        }
        Inst::LoadAcquire { size, rt, rn, .. } => {
            format!("ldar{} {}, [{}]", bh_suffix(*size), ir_access(rt.to_reg(), *size), x(*rn))
        }
        Inst::StoreRelease { size, rt, rn, .. } => {
            format!("stlr{} {}, [{}]", bh_suffix(*size), ir_access(*rt, *size), x(*rn))
        }
        Inst::LoadExclusivePair { acquire, size, rt, rt2, rn, .. } => {
            let name = if *acquire { "ldaxp" } else { "ldxp" };
            format!("{name} {}, {}, [{}]", iw(*rt, *size), iw(*rt2, *size), x(*rn))
        }
        Inst::StoreExclusivePair { release, size, rs, rt, rt2, rn, .. } => {
            let name = if *release { "stlxp" } else { "stxp" };
            format!("{name} {}, {}, {}, [{}]", show_ireg(rs.to_reg(), false), ir(*rt, *size), ir(*rt2, *size), x(*rn))
        }
        Inst::AtomicRmw { op, order, size, rs, rt, rn, .. } => {
            let sfx = format!("{}{}", order_suffix(*order), bh_suffix(*size));
            // `st<op>`: the load form that discards the old value (not for swp, and not
            // with acquire semantics).
            if is_zr(rt.to_reg()) && !order.acquire && *op != AtomicRmwOp::Swp {
                format!("st{}{sfx} {}, [{}]", rmw_name(*op), ir_access(*rs, *size), x(*rn))
            } else {
                let name = if *op == AtomicRmwOp::Swp { "swp".to_string() } else { format!("ld{}", rmw_name(*op)) };
                format!("{name}{sfx} {}, {}, [{}]", ir_access(*rs, *size), ir_access(rt.to_reg(), *size), x(*rn))
            }
        }
        Inst::Cas { order, size, rd, rt, rn, .. } => format!(
            "cas{}{} {}, {}, [{}]",
            order_suffix(*order),
            bh_suffix(*size),
            ir_access(rd.to_reg(), *size),
            ir_access(*rt, *size),
            x(*rn)
        ),
        Inst::Casp { order, size, rd, rt, rn, .. } => format!(
            "casp{} {}, {}, {}, {}, [{}]",
            order_suffix(*order),
            iw(rd[0], *size),
            iw(rd[1], *size),
            ir(rt[0], *size),
            ir(rt[1], *size),
            x(*rn)
        ),
        Inst::Dmb { option } => format!(
            "dmb {}",
            match option {
                BarrierOption::Ish => "ish",
                BarrierOption::IshLd => "ishld",
                BarrierOption::IshSt => "ishst",
                BarrierOption::Sy => "sy",
            }
        ),
        Inst::Isb => "isb".to_string(),

        Inst::Hint { op } => match op {
            HintOp::Nop => "nop",
            HintOp::Xpaclri => "xpaclri",
            HintOp::Paciasp => "paciasp",
            HintOp::Pacibsp => "pacibsp",
            HintOp::Autiasp => "autiasp",
            HintOp::Autibsp => "autibsp",
            HintOp::BtiC => "bti c",
            HintOp::BtiJ => "bti j",
            HintOp::BtiJC => "bti jc",
            HintOp::Csdb => "csdb",
        }
        .to_string(),
        Inst::Mrs { rd, reg } => format!("mrs {}, {}", x(rd.to_reg()), sysreg_name(*reg)),
        Inst::Msr { reg, rn } => format!("msr {}, {}", sysreg_name(*reg), x(*rn)),

        Inst::VecRRR { op, size, rd, rn, rm } => {
            if *op == VecALUOp::Orr && rn == rm {
                format!("mov {}, {}", vecw(*rd, *size), vec(*rn, *size))
            } else {
                format!("{} {}, {}, {}", vec_alu_name(*op), vecw(*rd, *size), vec(*rn, *size), vec(*rm, *size))
            }
        }
        Inst::VecRRRMod { op, size, rd, rn, rm, .. } => {
            format!("{} {}, {}, {}", vec_alu_mod_name(*op), vecw(*rd, *size), vec(*rn, *size), vec(*rm, *size))
        }
        Inst::VecRRRLong { op, size, rd, rn, rm } => {
            let wide = size.widen();
            let wide_n =
                matches!(op, VecRRRLongOp::Saddw | VecRRRLongOp::Uaddw | VecRRRLongOp::Ssubw | VecRRRLongOp::Usubw);
            let n = if wide_n { vec(*rn, wide) } else { vec(*rn, *size) };
            format!("{}{} {}, {n}, {}", vec_long_name(*op), two(size.is_128()), vecw(*rd, wide), vec(*rm, *size))
        }
        Inst::VecRRRLongMod { op, size, rd, rn, rm, .. } => format!(
            "{}{} {}, {}, {}",
            vec_long_mod_name(*op),
            two(size.is_128()),
            vecw(*rd, size.widen()),
            vec(*rn, *size),
            vec(*rm, *size)
        ),
        Inst::VecMisc { op, size, rd, rn } => {
            let name = vec_misc_name(*op);
            match op {
                VecMisc2::Saddlp | VecMisc2::Uaddlp => {
                    let dst = VectorSize::from_lane(size.widen().lane_size(), size.is_128());
                    format!("{name} {}, {}", vecw(*rd, dst), vec(*rn, *size))
                }
                VecMisc2::Shll => format!(
                    "{name}{} {}, {}, #{}",
                    two(size.is_128()),
                    vecw(*rd, size.widen()),
                    vec(*rn, *size),
                    size.lane_size().bits()
                ),
                VecMisc2::Fcvtl => {
                    format!("{name}{} {}, {}", two(size.is_128()), vecw(*rd, size.widen()), vec(*rn, *size))
                }
                VecMisc2::Cmeq0 | VecMisc2::Cmge0 | VecMisc2::Cmgt0 | VecMisc2::Cmle0 | VecMisc2::Cmlt0 => {
                    format!("{name} {}, {}, #0", vecw(*rd, *size), vec(*rn, *size))
                }
                VecMisc2::Fcmeq0 | VecMisc2::Fcmge0 | VecMisc2::Fcmgt0 | VecMisc2::Fcmle0 | VecMisc2::Fcmlt0 => {
                    format!("{name} {}, {}, #0.0", vecw(*rd, *size), vec(*rn, *size))
                }
                _ => format!("{name} {}, {}", vecw(*rd, *size), vec(*rn, *size)),
            }
        }
        Inst::VecNarrowLow { op, size, rd, rn } | Inst::VecNarrowHigh { op, size, rd, rn, .. } => {
            format!("{}{} {}, {}", vec_narrow_name(*op), two(size.is_128()), vecw(*rd, *size), vec(*rn, size.widen()))
        }
        Inst::VecShiftImm { op, size, rd, rn, imm } => {
            let name = match op {
                VecShiftImmOp::Shl => "shl",
                VecShiftImmOp::Sshr => "sshr",
                VecShiftImmOp::Ushr => "ushr",
            };
            format!("{name} {}, {}, #{imm}", vecw(*rd, *size), vec(*rn, *size))
        }
        Inst::VecShiftImmMod { op, size, rd, rn, imm, .. } => {
            let name = if *op == VecShiftImmModOp::Sli { "sli" } else { "sri" };
            format!("{name} {}, {}, #{imm}", vecw(*rd, *size), vec(*rn, *size))
        }
        Inst::VecExtend { op, size, rd, rn, shift } => {
            let s = if *op == VecExtendOp::Sshll { "s" } else { "u" };
            let t = two(size.is_128());
            if *shift == 0 {
                format!("{s}xtl{t} {}, {}", vecw(*rd, size.widen()), vec(*rn, *size))
            } else {
                format!("{s}shll{t} {}, {}, #{shift}", vecw(*rd, size.widen()), vec(*rn, *size))
            }
        }
        Inst::VecLanes { op, size, rd, rn } => {
            let l = size.lane_size();
            let dst = if matches!(op, VecLanesOp::Saddlv | VecLanesOp::Uaddlv) { size.widen().lane_size() } else { l };
            format!("{} {}, {}", vec_lanes_name(*op), scw(*rd, dst), vec(*rn, *size))
        }
        Inst::VecDup { size, rd, rn } => {
            format!("dup {}, {}", vecw(*rd, *size), show_ireg(*rn, size.lane_size() == ScalarSize::Size64))
        }
        Inst::VecDupElem { size, rd, rn, lane: l } => {
            format!("dup {}, {}", vecw(*rd, *size), lane(*rn, size.lane_size(), *l))
        }
        Inst::FpuMoveFromVec { size, rd, rn, lane: l } => format!("mov {}, {}", scw(*rd, *size), lane(*rn, *size, *l)),
        Inst::MovToVec { size, rd, rn, lane: l, .. } => {
            format!("mov {}, {}", lane(rd.to_reg(), *size, *l), show_ireg(*rn, *size == ScalarSize::Size64))
        }
        Inst::VecMovElement { size, rd, rn, dst_lane, src_lane, .. } => {
            format!("mov {}, {}", lane(rd.to_reg(), *size, *dst_lane), lane(*rn, *size, *src_lane))
        }
        Inst::MovFromVec { size, rd, rn, lane: l } => {
            let name = if size.bits() >= 32 { "mov" } else { "umov" };
            format!("{name} {}, {}", show_ireg(rd.to_reg(), *size == ScalarSize::Size64), lane(*rn, *size, *l))
        }
        Inst::MovFromVecSigned { size, isize, rd, rn, lane: l } => {
            format!("smov {}, {}", iw(*rd, *isize), lane(*rn, *size, *l))
        }
        Inst::VecMov { q, rd, rn } => {
            let s = if *q { VectorSize::Size8x16 } else { VectorSize::Size8x8 };
            format!("mov {}, {}", vecw(*rd, s), vec(*rn, s))
        }
        Inst::VecExtract { q, rd, rn, rm, imm } => {
            let s = if *q { VectorSize::Size8x16 } else { VectorSize::Size8x8 };
            format!("ext {}, {}, {}, #{imm}", vecw(*rd, s), vec(*rn, s), vec(*rm, s))
        }
        Inst::VecTbl { op, q, len, rd, tables, rm, .. } => {
            let s = if *q { VectorSize::Size8x16 } else { VectorSize::Size8x8 };
            let list: Vec<String> = tables[..*len as usize].iter().map(|t| vec(*t, VectorSize::Size8x16)).collect();
            let name = if *op == TblOp::Tbl { "tbl" } else { "tbx" };
            format!("{name} {}, {{{}}}, {}", vecw(*rd, s), list.join(", "), vec(*rm, s))
        }
        Inst::VecMovImm { q, rd, imm } => vec_imm_text(*q, *rd, *imm),
        Inst::VecLoadReplicate { size, rd, rn, .. } => format!("ld1r {{{}}}, [{}]", vecw(*rd, *size), x(*rn)),
        Inst::VecLoadLane { size, rd, rn, lane: l, .. } => {
            format!("ld1 {{{}}}[{l}], [{}]", show_vreg_vector(rd.to_reg(), &size.letter().to_string()), x(*rn))
        }
        Inst::VecStoreLane { size, rt, rn, lane: l, .. } => {
            format!("st1 {{{}}}[{l}], [{}]", show_vreg_vector(*rt, &size.letter().to_string()), x(*rn))
        }
        Inst::Args { args } => {
            let mut s = "args".to_string();
            for a in args {
                s.push_str(&format!(" {}={}", show_any(a.vreg.to_reg()), show_any(Reg::phys(a.preg))));
            }
            s
        }
        Inst::Rets { rets, stack_bytes_to_pop } => {
            let mut s = "rets".to_string();
            for a in rets {
                s.push_str(&format!(" {}={}", show_any(a.vreg), show_any(Reg::phys(a.preg))));
            }
            if *stack_bytes_to_pop > 0 {
                s.push_str(&format!(" pop={stack_bytes_to_pop}"));
            }
            s
        }
        Inst::Call { info } => {
            let mut s = show_call_dest(&info.dest);
            let mut extra = String::new();
            show_call_info(&mut extra, info);
            if let Some(t) = &info.try_call {
                extra.push_str(&format!(" normal={}", show_label(t.normal)));
                for (tag, l) in &t.handlers {
                    extra.push_str(&format!(" {tag:?}={}", show_label(*l)));
                }
            }
            if !extra.is_empty() {
                s.push_str(&format!(" #{extra}"));
            }
            s
        }
        Inst::ReturnCall { info } => {
            let mut s = format!(
                "return_call {}",
                match &info.dest {
                    CallDest::Name { name, colocated } =>
                        format!("{}{}", show_name(name), if *colocated { "" } else { " (abs)" }),
                    CallDest::Indirect(r) => x(*r),
                }
            );
            show_call_info(&mut s, info);
            s
        }
        Inst::ExnPayloads { defs } => {
            let mut s = "exn_payloads".to_string();
            for (reg, p) in defs.iter() {
                s.push_str(&format!(" {}={}", x(reg.to_reg()), x(Reg::phys(*p))));
            }
            s
        }
        Inst::LoadAddr { rd, mem } => show_load_addr(*rd, mem),
        Inst::LoadExtNameFar { rd, name, offset } => {
            format!("ldr {}, ={}", x(rd.to_reg()), show_name_offset(name, *offset))
        }
        Inst::JumpTable { idx, tmp1, tmp2, default, targets } => {
            let t: Vec<String> = targets.iter().map(|l| show_label(*l)).collect();
            format!(
                "jump_table {}, {}, {}, default {}, [{}]",
                show_ireg(*idx, false),
                x(tmp1.to_reg()),
                x(tmp2.to_reg()),
                show_label(*default),
                t.join(", ")
            )
        }
        Inst::CondBr2 { c1, c2, taken, not_taken } => {
            format!("b.{} {t}; b.{} {t}; b {}", c1.name(), c2.name(), show_label(*not_taken), t = show_label(*taken))
        }
        Inst::AtomicRmwLoop { op, size, addr, operand, old, new, status, .. } => format!(
            "atomic_rmw_loop_{}{} {}, [{}], {}; tmps {}, {}",
            loop_op_name(*op),
            size.bits(),
            ir_access(old.to_reg(), *size),
            x(*addr),
            ir_access(*operand, *size),
            ir_access(new.to_reg(), *size),
            show_ireg(status.to_reg(), false)
        ),
        Inst::AtomicCasLoop { size, addr, expected, replacement, old, status, .. } => format!(
            "atomic_cas_loop{} {}, [{}], {}, {}; tmp {}",
            size.bits(),
            ir_access(old.to_reg(), *size),
            x(*addr),
            ir_access(*expected, *size),
            ir_access(*replacement, *size),
            show_ireg(status.to_reg(), false)
        ),
        Inst::Atomic128Loop(a) => {
            if a.load_only {
                format!(
                    "atomic_load128 {}:{}, [{}]; tmps {}, {}, {}",
                    x(a.old[0].to_reg()),
                    x(a.old[1].to_reg()),
                    x(a.addr),
                    x(a.tmp[0].to_reg()),
                    x(a.tmp[1].to_reg()),
                    show_ireg(a.status.to_reg(), false)
                )
            } else {
                format!(
                    "atomic_cas128 {}:{}, [{}], {}:{}, {}:{}; tmps {}, {}, {}",
                    x(a.old[0].to_reg()),
                    x(a.old[1].to_reg()),
                    x(a.addr),
                    x(a.expected[0]),
                    x(a.expected[1]),
                    x(a.replacement[0]),
                    x(a.replacement[1]),
                    x(a.tmp[0].to_reg()),
                    x(a.tmp[1].to_reg()),
                    show_ireg(a.status.to_reg(), false)
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aarch64::regs::{stack_reg, xreg, zero_reg};
    use regalloc2::RegClass;

    #[test]
    fn virtual_registers_and_aliases() {
        let v = |i| Reg::virt(i, RegClass::Int);
        let add = Inst::AluRRR {
            op: ALUOp::Add,
            size: OperandSize::Size32,
            rd: Writable::from_reg(v(0)),
            rn: v(1),
            rm: v(2),
        };
        assert_eq!(print_inst(&add), "add %v0w, %v1w, %v2w");
        let cmp = Inst::cmp(OperandSize::Size64, xreg(1), xreg(2));
        assert_eq!(print_inst(&cmp), "cmp x1, x2");
        let cset = Inst::cset(OperandSize::Size32, Writable::from_reg(xreg(0)), Cond::Lo);
        assert_eq!(print_inst(&cset), "cset w0, lo");
        let mov_sp = Inst::mov64(Writable::from_reg(xreg(29)), stack_reg());
        assert_eq!(print_inst(&mov_sp), "mov x29, sp");
        let neg = Inst::AluRRR {
            op: ALUOp::Sub,
            size: OperandSize::Size64,
            rd: Writable::from_reg(xreg(3)),
            rn: zero_reg(),
            rm: xreg(4),
        };
        assert_eq!(print_inst(&neg), "neg x3, x4");
    }
}

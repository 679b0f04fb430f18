//! AT&T-syntax printing of x86-64 instructions, in the dialect GNU `as` accepts.
//!
//! Invariant: for every real instruction form (everything but the pseudo-instructions), the
//! printed text assembles with `as --64` to exactly the bytes `emit.rs` produces (labels
//! and relocated fields excepted); where the emitter picks a particular encoding (short
//! immediate, `movl` for small 64-bit constants, `{disp8}` NOPs …) the text names the same
//! choice. Sizes are explicit (`addl`, `movq`); virtual registers print as `%vN` with a size
//! letter; labels as `labelN`; unresolved stack locations as `slot+N`, `outgoing+N`,
//! `incoming+N`. Pseudo-instructions print as one readable line: their name and operands.

pub use crate::names::show_name;
use crate::names::{show_name_offset, show_stack};
use crate::x64::emit::{ImmForm, imm_form};
use crate::x64::inst::*;
use crate::x64::regs::show_reg;
use kiln_codegen::machinst::{MachLabel, Reg, Writable};
use std::fmt::Write;

/// The AT&T size suffix of an operand size.
pub fn suffix(size: OperandSize) -> &'static str {
    match size {
        OperandSize::S8 => "b",
        OperandSize::S16 => "w",
        OperandSize::S32 => "l",
        OperandSize::S64 => "q",
    }
}

/// The mnemonic suffix of a condition code (`e`, `ne`, `b`, `ae`, …).
pub fn cc_name(cc: CC) -> &'static str {
    match cc {
        CC::O => "o",
        CC::NO => "no",
        CC::B => "b",
        CC::NB => "ae",
        CC::Z => "e",
        CC::NZ => "ne",
        CC::BE => "be",
        CC::NBE => "a",
        CC::S => "s",
        CC::NS => "ns",
        CC::P => "p",
        CC::NP => "np",
        CC::L => "l",
        CC::NL => "ge",
        CC::LE => "le",
        CC::NLE => "g",
    }
}

fn r(reg: Reg, size: OperandSize) -> String {
    show_reg(reg, size.bytes())
}

fn w(reg: Writable<Reg>, size: OperandSize) -> String {
    show_reg(reg.to_reg(), size.bytes())
}

fn x(reg: Reg) -> String {
    show_reg(reg, 16)
}

fn xw(reg: Writable<Reg>) -> String {
    show_reg(reg.to_reg(), 16)
}

fn q(reg: Reg) -> String {
    show_reg(reg, 8)
}

/// A label.
pub fn show_label(l: MachLabel) -> String {
    format!("label{}", l.0)
}

/// An addressing mode.
pub fn show_amode(a: &Amode) -> String {
    match *a {
        Amode::ImmReg { disp, base } => {
            if disp == 0 {
                format!("({})", q(base))
            } else {
                format!("{disp}({})", q(base))
            }
        }
        Amode::ImmRegRegShift { disp, base, index, shift } => {
            let d = if disp == 0 { String::new() } else { disp.to_string() };
            format!("{d}({},{},{})", q(base), q(index), 1u8 << (shift & 3))
        }
        Amode::RipRelative { label } => format!("{}(%rip)", show_label(label)),
        Amode::Stack(mode) => show_stack(mode),
    }
}

fn show_mem(m: &Mem) -> String {
    show_amode(&m.amode)
}

fn show_rm(rm: &RegMem, size: OperandSize) -> String {
    match rm {
        RegMem::Reg(reg) => r(*reg, size),
        RegMem::Mem(m) => show_mem(m),
    }
}

fn show_xrm(rm: &RegMem) -> String {
    match rm {
        RegMem::Reg(reg) => x(*reg),
        RegMem::Mem(m) => show_mem(m),
    }
}

/// An immediate as the instruction of `size` sees it.
fn show_imm(imm: i32, size: OperandSize) -> String {
    match size {
        OperandSize::S8 => format!("${}", imm as i8),
        OperandSize::S16 => format!("${}", imm as i16),
        _ => format!("${imm}"),
    }
}

fn show_rmi(rmi: &RegMemImm, size: OperandSize) -> String {
    match rmi {
        RegMemImm::Reg(reg) => r(*reg, size),
        RegMemImm::Mem(m) => show_mem(m),
        RegMemImm::Imm(i) => show_imm(*i, size),
    }
}

fn alu_name(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "add",
        AluOp::Adc => "adc",
        AluOp::Sub => "sub",
        AluOp::Sbb => "sbb",
        AluOp::And => "and",
        AluOp::Or => "or",
        AluOp::Xor => "xor",
        AluOp::Andn => "andn",
    }
}

fn shift_name(k: ShiftKind) -> &'static str {
    match k {
        ShiftKind::Shl => "shl",
        ShiftKind::Shr => "shr",
        ShiftKind::Sar => "sar",
        ShiftKind::Rol => "rol",
        ShiftKind::Ror => "ror",
    }
}

const CMP_PRED: [&str; 32] = [
    "eq", "lt", "le", "unord", "neq", "nlt", "nle", "ord", "eq_uq", "nge", "ngt", "false", "neq_oq", "ge", "gt",
    "true", "eq_os", "lt_oq", "le_oq", "unord_s", "neq_us", "nlt_uq", "nle_uq", "ord_s", "eq_us", "nge_uq", "ngt_uq",
    "false_os", "neq_os", "ge_oq", "gt_oq", "true_us",
];

/// The mnemonic of an SSE/AVX operation in its legacy or VEX form; compares with a
/// predicate the assembler names (0–7 legacy, 0–31 VEX) print as `cmp<pred>ps` and the
/// flag says the immediate is part of the name.
fn sse_name(op: SseOp, vex: bool, imm: Option<u8>) -> (String, bool) {
    let v = if vex && !op.vex_only() { "v" } else { "" };
    let m = op.mnemonic();
    if let (true, Some(i)) = (op.is_compare(), imm) {
        let limit = if vex { 32 } else { 8 };
        if (i as usize) < limit {
            return (format!("{v}cmp{}{}", CMP_PRED[i as usize], &m[3..]), true);
        }
    }
    (format!("{v}{m}"), false)
}

/// `name [$imm, ]operands`: the immediate is printed unless it is part of the name.
fn with_imm(name: (String, bool), imm: Option<u8>, operands: &str) -> String {
    match imm {
        Some(i) if !name.1 => format!("{} ${i}, {operands}", name.0),
        _ => format!("{} {operands}", name.0),
    }
}

/// A general-purpose register operand of a lane insert/extract (`%eax` for 8/16/32-bit
/// lanes, `%rax` for 64-bit ones).
fn lane_gpr(reg: Reg, q64: bool) -> String {
    show_reg(reg, if q64 { 8 } else { 4 })
}

fn nop_text(n: u8) -> &'static str {
    match n {
        1 => "nop",
        2 => "xchg %ax, %ax",
        3 => "nopl (%rax)",
        4 => "{disp8} nopl 0(%rax)",
        5 => "{disp8} nopl 0(%rax,%rax,1)",
        6 => "{disp8} nopw 0(%rax,%rax,1)",
        7 => "{disp32} nopl 0(%rax)",
        8 => "{disp32} nopl 0(%rax,%rax,1)",
        _ => "{disp32} nopw 0(%rax,%rax,1)",
    }
}

fn show_call_dest(dest: &CallDest, reach: Reach) -> String {
    match (dest, reach) {
        (CallDest::Name { name, .. }, Reach::Near) => show_name(name),
        (CallDest::Name { name, .. }, Reach::Indirect) => format!("{}@PLT", show_name(name)),
        (CallDest::Name { name, .. }, Reach::Absolute) => format!("movabsq ${}, %r11; call *%r11", show_name(name)),
        (CallDest::Indirect(r), _) => format!("*{}", q(*r)),
    }
}

fn show_call_info(s: &mut String, info: &CallInfo) {
    for (reg, p) in &info.uses {
        let _ = write!(s, " {}={}", q(*reg), q(Reg::phys(*p)));
    }
    for (reg, p) in &info.defs {
        let _ = write!(s, " {}={}", q(reg.to_reg()), q(Reg::phys(*p)));
    }
    if info.callee_pop > 0 {
        let _ = write!(s, " callee_pop={}", info.callee_pop);
    }
    if info.tail_stack_args > 0 {
        let _ = write!(s, " stack_args={}", info.tail_stack_args);
    }
    if let Some(t) = &info.try_call {
        let _ = write!(s, " normal={}", show_label(t.normal));
        for (tag, l) in &t.handlers {
            let _ = write!(s, " {tag:?}:{}", show_label(*l));
        }
    }
}

/// Print one instruction in AT&T syntax.
pub fn print_inst(inst: &Inst) -> String {
    use OperandSize::*;
    match inst {
        Inst::Nop { len } => {
            let mut parts = Vec::new();
            let mut left = *len;
            while left > 0 {
                let n = left.min(9);
                parts.push(nop_text(n));
                left -= n;
            }
            if parts.is_empty() { "nop0".to_string() } else { parts.join("; ") }
        }
        Inst::AluRmiR { size, op: AluOp::Andn, src1, src2, dst } => {
            format!("andn{} {}, {}, {}", suffix(*size), show_rmi(src2, *size), r(*src1, *size), w(*dst, *size))
        }
        Inst::AluRmiR { size, op, src2, dst, .. } => {
            format!("{}{} {}, {}", alu_name(*op), suffix(*size), show_rmi(src2, *size), w(*dst, *size))
        }
        Inst::AluRM { size, op, src, mem } => {
            format!("{}{} {}, {}", alu_name(*op), suffix(*size), r(*src, *size), show_mem(mem))
        }
        Inst::AluMI { size, op, imm, mem } => {
            format!("{}{} {}, {}", alu_name(*op), suffix(*size), show_imm(*imm, *size), show_mem(mem))
        }
        Inst::CmpRmiR { size, op: CmpOp::Cmp, src1, src2: RegMemImm::Imm(0) } => {
            format!("test{} {1}, {1}", suffix(*size), r(*src1, *size))
        }
        Inst::CmpRmiR { size, op: CmpOp::Cmp, src1, src2 } => {
            format!("cmp{} {}, {}", suffix(*size), show_rmi(src2, *size), r(*src1, *size))
        }
        Inst::CmpRmiR { size, op: CmpOp::Test, src1, src2 } => match src2 {
            RegMemImm::Mem(m) => format!("test{} {}, {}", suffix(*size), r(*src1, *size), show_mem(m)),
            _ => format!("test{} {}, {}", suffix(*size), show_rmi(src2, *size), r(*src1, *size)),
        },
        Inst::UnaryRmR { size, op, src, dst } => {
            let n = match op {
                UnaryOp::Bsr => "bsr",
                UnaryOp::Bsf => "bsf",
                UnaryOp::Lzcnt => "lzcnt",
                UnaryOp::Tzcnt => "tzcnt",
                UnaryOp::Popcnt => "popcnt",
            };
            format!("{n}{} {}, {}", suffix(*size), show_rm(src, *size), w(*dst, *size))
        }
        Inst::Unary2 { size, op, dst, .. } => {
            let n = if *op == Unary2Op::Not { "not" } else { "neg" };
            format!("{n}{} {}", suffix(*size), w(*dst, *size))
        }
        Inst::ShiftR { size, kind, amount, dst, .. } => {
            let a = match amount {
                ShiftAmount::Imm(n) => format!("${n}"),
                ShiftAmount::Cl(_) => "%cl".to_string(),
            };
            format!("{}{} {a}, {}", shift_name(*kind), suffix(*size), w(*dst, *size))
        }
        Inst::IMul { size, src2, dst, .. } => {
            format!("imul{} {}, {}", suffix(*size), show_rm(src2, *size), w(*dst, *size))
        }
        Inst::IMulImm { size, src, imm, dst } => {
            format!("imul{} {}, {}, {}", suffix(*size), show_imm(*imm, *size), show_rm(src, *size), w(*dst, *size))
        }
        Inst::MulHi { size, signed, src2, .. } => {
            format!("{}{} {}", if *signed { "imul" } else { "mul" }, suffix(*size), show_rm(src2, *size))
        }
        Inst::Div { size, signed, divisor, .. } => {
            format!("{}{} {}", if *signed { "idiv" } else { "div" }, suffix(*size), r(*divisor, *size))
        }
        Inst::SignExtendData { size, .. } => match size {
            S8 => "cbtw",
            S16 => "cwtd",
            S32 => "cltd",
            S64 => "cqto",
        }
        .to_string(),
        Inst::MovRR { size, src, dst } => format!("mov{} {}, {}", suffix(*size), r(*src, *size), w(*dst, *size)),
        Inst::Imm { size, imm, dst } => match imm_form(*size, *imm) {
            ImmForm::Mov32(v) => format!("movl ${v}, {}", w(*dst, S32)),
            ImmForm::MovSx32(v) => format!("movq ${v}, {}", w(*dst, S64)),
            ImmForm::Movabs(v) => format!("movabsq ${}, {}", v as i64, w(*dst, S64)),
        },
        Inst::ZeroReg { dst } => format!("xorl {0}, {0}", w(*dst, S32)),
        Inst::MovzxRmR { ext, src, dst } => match ext {
            ExtMode::BL | ExtMode::BQ => format!("movzbl {}, {}", show_rm(src, S8), w(*dst, S32)),
            ExtMode::WL | ExtMode::WQ => format!("movzwl {}, {}", show_rm(src, S16), w(*dst, S32)),
            ExtMode::LQ => format!("movl {}, {}", show_rm(src, S32), w(*dst, S32)),
        },
        Inst::MovsxRmR { ext, src, dst } => {
            let (n, s, d) = match ext {
                ExtMode::BL => ("movsbl", S8, S32),
                ExtMode::BQ => ("movsbq", S8, S64),
                ExtMode::WL => ("movswl", S16, S32),
                ExtMode::WQ => ("movswq", S16, S64),
                ExtMode::LQ => ("movslq", S32, S64),
            };
            format!("{n} {}, {}", show_rm(src, s), w(*dst, d))
        }
        Inst::Load { size, mem, dst } => format!("mov{} {}, {}", suffix(*size), show_mem(mem), w(*dst, *size)),
        Inst::Store { size, src, mem } => format!("mov{} {}, {}", suffix(*size), r(*src, *size), show_mem(mem)),
        Inst::StoreImm { size, imm, mem } => {
            format!("mov{} {}, {}", suffix(*size), show_imm(*imm, *size), show_mem(mem))
        }
        Inst::Lea { size, mem, dst } => format!("lea{} {}, {}", suffix(*size), show_amode(mem), w(*dst, *size)),
        Inst::Setcc { cc, dst } => format!("set{} {}", cc_name(*cc), w(*dst, S8)),
        Inst::Cmove { size, cc, consequent, dst, .. } => {
            let size = if *size == S8 { S32 } else { *size };
            format!("cmov{} {}, {}", cc_name(*cc), show_rm(consequent, size), w(*dst, size))
        }
        Inst::XmmCmove { cc, consequent, alternative, dst } => {
            format!("xmm_cmov{} {}, {}, {}", cc_name(*cc), x(*consequent), x(*alternative), xw(*dst))
        }
        Inst::Bswap { size, dst, .. } => format!("bswap{} {}", suffix(*size), w(*dst, *size)),
        Inst::MovFromPReg { src, dst } => format!("movq {}, {}", q(Reg::phys(*src)), w(*dst, S64)),
        Inst::MovToPReg { src, dst } => format!("movq {}, {}", q(*src), q(Reg::phys(*dst))),
        Inst::LoadReturnAddress { dst } => format!("movq 8(%rbp), {}", w(*dst, S64)),
        Inst::LoadExtName { dst, name, offset, reach } => match reach {
            Reach::Near => format!("leaq {}(%rip), {}", show_name_offset(name, *offset), w(*dst, S64)),
            Reach::Indirect if *offset == 0 => format!("movq {}@GOTPCREL(%rip), {}", show_name(name), w(*dst, S64)),
            Reach::Indirect => {
                format!("movq {}@GOTPCREL(%rip), {d}; leaq {offset}({d}), {d}", show_name(name), d = w(*dst, S64))
            }
            Reach::Absolute => format!("movabsq ${}, {}", show_name_offset(name, *offset), w(*dst, S64)),
        },
        Inst::LoadLabelAddr { dst, label } => format!("leaq {}(%rip), {}", show_label(*label), w(*dst, S64)),

        Inst::XmmRmR { op, src1, src2, dst, vex } => {
            let vex = *vex || op.vex_only();
            let name = sse_name(*op, vex, None);
            if !vex || (matches!(op, SseOp::Movss | SseOp::Movsd) && matches!(src2, RegMem::Mem(_))) {
                with_imm(name, None, &format!("{}, {}", show_xrm(src2), xw(*dst)))
            } else {
                with_imm(name, None, &format!("{}, {}, {}", show_xrm(src2), x(*src1), xw(*dst)))
            }
        }
        Inst::XmmRmRImm { op, src1, src2, imm, dst, vex } => {
            let vex = *vex || op.vex_only();
            let name = sse_name(*op, vex, Some(*imm));
            if vex {
                with_imm(name, Some(*imm), &format!("{}, {}, {}", show_xrm(src2), x(*src1), xw(*dst)))
            } else {
                with_imm(name, Some(*imm), &format!("{}, {}", show_xrm(src2), xw(*dst)))
            }
        }
        Inst::XmmUnaryRmR { op, src, dst, vex } => {
            let mut name = sse_name(*op, *vex, None);
            // The 128-bit memory forms of the narrowing VEX conversions need the `x` suffix
            // (the operand size cannot be told from the register).
            if *vex && matches!(src, RegMem::Mem(_)) && matches!(op, SseOp::Cvtpd2ps | SseOp::Cvttpd2dq) {
                name.0.push('x');
            }
            with_imm(name, None, &format!("{}, {}", show_xrm(src), xw(*dst)))
        }
        Inst::XmmUnaryRmRImm { op, src, imm, dst, vex } => {
            with_imm(sse_name(*op, *vex, None), Some(*imm), &format!("{}, {}", show_xrm(src), xw(*dst)))
        }
        Inst::XmmTest { op, src1, src2, vex } => {
            with_imm(sse_name(*op, *vex, None), None, &format!("{}, {}", show_xrm(src2), x(*src1)))
        }
        Inst::XmmShiftImm { op, src, imm, dst, vex } => {
            if *vex {
                format!("v{} ${imm}, {}, {}", op.mnemonic(), x(*src), xw(*dst))
            } else {
                format!("{} ${imm}, {}", op.mnemonic(), xw(*dst))
            }
        }
        Inst::XmmBlendv { op, mask, if_false, if_true, dst, vex } => {
            if *vex {
                format!("v{} {}, {}, {}, {}", op.mnemonic(), x(*mask), show_xrm(if_true), x(*if_false), xw(*dst))
            } else {
                format!("{} {}, {}, {}", op.mnemonic(), x(*mask), show_xrm(if_true), xw(*dst))
            }
        }
        Inst::XmmInsertGpr { op, src1, src2, lane, dst, vex } => {
            let q64 = *op == XmmInsertOp::Pinsrq;
            let n = format!("{op:?}").to_lowercase();
            let s2 = match src2 {
                RegMem::Reg(r) => lane_gpr(*r, q64),
                RegMem::Mem(m) => show_mem(m),
            };
            if *vex {
                format!("v{n} ${lane}, {s2}, {}, {}", x(*src1), xw(*dst))
            } else {
                format!("{n} ${lane}, {s2}, {}", xw(*dst))
            }
        }
        Inst::XmmExtractGpr { op, src, lane, dst, vex } => {
            let q64 = *op == XmmExtractOp::Pextrq;
            let n = format!("{op:?}").to_lowercase();
            format!("{}{n} ${lane}, {}, {}", if *vex { "v" } else { "" }, x(*src), lane_gpr(dst.to_reg(), q64))
        }
        Inst::XmmOnes { dst } => format!("pcmpeqd {0}, {0}", xw(*dst)),
        Inst::XmmEvex { op, src1, src2, imm, dst } => match (op.kind(), src1) {
            (EvexKind::ShiftImm(_), _) => format!("{} ${imm}, {}, {}", op.mnemonic(), show_xrm(src2), xw(*dst)),
            (EvexKind::Unary, _) | (_, None) => format!("{} {}, {}", op.mnemonic(), show_xrm(src2), xw(*dst)),
            (_, Some(s1)) => format!("{} {}, {}, {}", op.mnemonic(), show_xrm(src2), x(*s1), xw(*dst)),
        },
        Inst::XmmPermi2b { table_a, table_b, dst, .. } => {
            format!("vpermi2b {}, {}, {}", show_xrm(table_b), x(*table_a), xw(*dst))
        }
        Inst::XmmFma { op, src2, src3, dst, .. } => {
            format!("{} {}, {}, {}", op.mnemonic(), show_xrm(src3), x(*src2), xw(*dst))
        }
        Inst::XmmRound { op, imm, src, dst } => {
            let n = if *op == RoundOp::Roundss { "roundss" } else { "roundsd" };
            let zero = match src {
                RegMem::Reg(s) if *s == dst.to_reg() => String::new(),
                _ => format!("xorps {0}, {0}; ", xw(*dst)),
            };
            format!("{zero}{n} ${imm}, {}, {}", show_xrm(src), xw(*dst))
        }
        Inst::XmmLoad { op, mem, dst, vex } => {
            format!("{}{} {}, {}", if *vex { "v" } else { "" }, xmm_mov_name(*op), show_mem(mem), xw(*dst))
        }
        Inst::XmmStore { op, src, mem, vex } => {
            format!("{}{} {}, {}", if *vex { "v" } else { "" }, xmm_mov_name(*op), x(*src), show_mem(mem))
        }
        Inst::XmmMovRR { src, dst } => format!("movaps {}, {}", x(*src), xw(*dst)),
        Inst::GprToXmm { op, size, src, dst } => {
            let n = match op {
                GprToXmmOp::Mov => {
                    if *size == S64 {
                        "movq"
                    } else {
                        "movd"
                    }
                }
                GprToXmmOp::Cvtsi2ss => {
                    if *size == S64 {
                        "cvtsi2ssq"
                    } else {
                        "cvtsi2ssl"
                    }
                }
                GprToXmmOp::Cvtsi2sd => {
                    if *size == S64 {
                        "cvtsi2sdq"
                    } else {
                        "cvtsi2sdl"
                    }
                }
            };
            format!("{n} {}, {}", show_rm(src, *size), xw(*dst))
        }
        Inst::XmmToGpr { op, size, src, dst } => {
            let n = match op {
                XmmToGprOp::Mov => {
                    if *size == S64 {
                        "movq"
                    } else {
                        "movd"
                    }
                }
                XmmToGprOp::Cvttss2si => "cvttss2si",
                XmmToGprOp::Cvttsd2si => "cvttsd2si",
                XmmToGprOp::Movmskps => "movmskps",
                XmmToGprOp::Movmskpd => "movmskpd",
                XmmToGprOp::Pmovmskb => "pmovmskb",
            };
            format!("{n} {}, {}", x(*src), w(*dst, *size))
        }
        Inst::XmmCmp { double, src1, src2 } => {
            format!("{} {}, {}", if *double { "ucomisd" } else { "ucomiss" }, show_xrm(src2), x(*src1))
        }
        Inst::XmmZero { dst } => format!("xorps {0}, {0}", xw(*dst)),
        Inst::XmmMinMaxSeq { double, is_min, lhs, rhs, dst } => {
            let n = if *is_min { "min" } else { "max" };
            let t = if *double { "sd" } else { "ss" };
            format!("xmm_f{n}_seq_{t} {}, {}, {}", x(*rhs), x(*lhs), xw(*dst))
        }
        Inst::CvtUint64ToFloatSeq { double, src, dst, tmp1, tmp2 } => {
            let t = if *double { "sd" } else { "ss" };
            format!("cvt_u64_to_{t}_seq {}, {}, tmp={}, {}", q(*src), xw(*dst), w(*tmp1, S64), w(*tmp2, S64))
        }
        Inst::CvtFloatToIntSeq { src_double, dst_size, signed, saturating, src, dst, tmp_gpr, tmp_xmm, tmp_xmm2 } => {
            format!(
                "cvt_{}_to_{}{}{}_seq {}, {}, tmp={}, {}, {}",
                if *src_double { "sd" } else { "ss" },
                if *signed { "s" } else { "u" },
                dst_size.bytes() as u32 * 8,
                if *saturating { "_sat" } else { "" },
                x(*src),
                w(*dst, *dst_size),
                w(*tmp_gpr, S64),
                xw(*tmp_xmm),
                xw(*tmp_xmm2)
            )
        }

        Inst::Args { args } => {
            let mut s = "args".to_string();
            for a in args {
                let _ = write!(s, " {}={}", show_reg(a.vreg.to_reg(), 8), show_reg(Reg::phys(a.preg), 8));
            }
            s
        }
        Inst::Rets { rets, stack_bytes_to_pop } => {
            let mut s = "rets".to_string();
            for a in rets {
                let _ = write!(s, " {}={}", show_reg(a.vreg, 8), show_reg(Reg::phys(a.preg), 8));
            }
            if *stack_bytes_to_pop > 0 {
                let _ = write!(s, " pop={stack_bytes_to_pop}");
            }
            s
        }
        Inst::JmpKnown { dst } => format!("jmp {}", show_label(*dst)),
        Inst::JmpCond { cc, taken, not_taken } => {
            format!("jmp_cond {} {}, {}", cc_name(*cc), show_label(*taken), show_label(*not_taken))
        }
        Inst::JmpCondOr { cc1, cc2, taken, not_taken } => format!(
            "jmp_cond_or {} {} {}, {}",
            cc_name(*cc1),
            cc_name(*cc2),
            show_label(*taken),
            show_label(*not_taken)
        ),
        Inst::JmpTableSeq { idx, tmp1, tmp2, default, targets } => {
            let mut s = format!(
                "jmp_table_seq {}, tmp={}, {}, default={}, [",
                r(*idx, S32),
                w(*tmp1, S64),
                w(*tmp2, S64),
                show_label(*default)
            );
            for (i, t) in targets.iter().enumerate() {
                let _ = write!(s, "{}{}", if i > 0 { ", " } else { "" }, show_label(*t));
            }
            s.push(']');
            s
        }
        Inst::TrapIf { cc, code } => format!("trap_if {} {code}", cc_name(*cc)),
        Inst::TrapIfOr { cc1, cc2, code } => format!("trap_if_or {} {} {code}", cc_name(*cc1), cc_name(*cc2)),
        Inst::TrapIfAnd { cc1, cc2, code } => format!("trap_if_and {} {} {code}", cc_name(*cc1), cc_name(*cc2)),
        Inst::Ud2 { .. } => "ud2".to_string(),
        Inst::Int3 => "int3".to_string(),
        Inst::Call { info, reach } => {
            let mut s = match (&info.dest, reach) {
                (CallDest::Name { .. }, Reach::Absolute) => show_call_dest(&info.dest, *reach),
                (d, _) => format!("call {}", show_call_dest(d, *reach)),
            };
            if info.callee_pop > 0 {
                let _ = write!(s, "; subq ${}, %rsp", info.callee_pop);
            }
            let mut extra = String::new();
            show_call_info(&mut extra, info);
            if !extra.is_empty() {
                let _ = write!(s, " #{extra}");
            }
            s
        }
        Inst::ExnPayloads { defs } => {
            let mut s = "exn_payloads".to_string();
            for (reg, p) in defs {
                let _ = write!(s, " {}={}", q(reg.to_reg()), q(Reg::phys(*p)));
            }
            s
        }
        Inst::ReturnCall { info, reach } => {
            let mut s = format!(
                "return_call {}",
                match (&info.dest, reach) {
                    (CallDest::Name { name, .. }, Reach::Near) => show_name(name),
                    (CallDest::Name { name, .. }, Reach::Indirect) => format!("{}@PLT", show_name(name)),
                    (CallDest::Name { name, .. }, Reach::Absolute) => format!("{} (abs)", show_name(name)),
                    (CallDest::Indirect(r), _) => format!("*{}", q(*r)),
                }
            );
            show_call_info(&mut s, info);
            s
        }
        Inst::LockCmpxchg { size, replacement, mem, .. } => {
            format!("lock cmpxchg{} {}, {}", suffix(*size), r(*replacement, *size), show_mem(mem))
        }
        Inst::LockCmpxchg16b { mem, .. } => format!("lock cmpxchg16b {}", show_mem(mem)),
        Inst::LockXadd { size, operand, mem, .. } => {
            format!("lock xadd{} {}, {}", suffix(*size), r(*operand, *size), show_mem(mem))
        }
        Inst::Xchg { size, operand, mem, .. } => {
            format!("xchg{} {}, {}", suffix(*size), r(*operand, *size), show_mem(mem))
        }
        Inst::AtomicRmwSeq { size, op, mem, operand, temp, dst_old } => format!(
            "atomic_rmw_seq_{}{} {}, {}, tmp={}, old={}",
            format!("{op:?}").to_lowercase(),
            suffix(*size),
            r(*operand, *size),
            show_mem(mem),
            w(*temp, S64),
            w(*dst_old, *size)
        ),
        Inst::AtomicRmw128Seq { op, mem, operand_lo, operand_hi, temp, .. } => format!(
            "atomic_rmw128_seq_{} {}:{}, {}, tmp={}",
            format!("{op:?}").to_lowercase(),
            q(*operand_hi),
            q(*operand_lo),
            show_mem(mem),
            w(*temp, S64)
        ),
        Inst::Fence => "mfence".to_string(),
    }
}

fn xmm_mov_name(op: XmmMovOp) -> &'static str {
    match op {
        XmmMovOp::Movss => "movss",
        XmmMovOp::Movsd => "movsd",
        XmmMovOp::Movdqu => "movdqu",
        XmmMovOp::Movups => "movups",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_codegen::machinst::abi::StackAMode;
    use kiln_ir::trapcode::TrapCode;
    use regalloc2::RegClass;

    fn v(i: usize) -> Reg {
        Reg::virt(kiln_codegen::machinst::reg::PINNED_VREGS + i, RegClass::Int)
    }
    fn vx(i: usize) -> Reg {
        Reg::virt(kiln_codegen::machinst::reg::PINNED_VREGS + i, RegClass::Float)
    }

    #[test]
    fn virtual_registers_and_stack_operands() {
        let base = kiln_codegen::machinst::reg::PINNED_VREGS;
        let add = Inst::AluRmiR {
            size: OperandSize::S32,
            op: AluOp::Add,
            src1: v(0),
            src2: RegMemImm::Reg(v(1)),
            dst: Writable::from_reg(v(0)),
        };
        assert_eq!(print_inst(&add), format!("addl %v{}l, %v{}l", base + 1, base));
        let ld =
            Inst::Load { size: OperandSize::S64, mem: Mem::stack(StackAMode::Slot(8)), dst: Writable::from_reg(v(2)) };
        assert_eq!(print_inst(&ld), format!("movq slot+8, %v{}", base + 2));
        let st =
            Inst::XmmStore { op: XmmMovOp::Movsd, src: vx(3), mem: Mem::stack(StackAMode::OutgoingArg(0)), vex: false };
        assert_eq!(print_inst(&st), format!("movsd %v{}x, outgoing+0", base + 3));
        let inc = Inst::Load {
            size: OperandSize::S32,
            mem: Mem::stack(StackAMode::IncomingArg(16)),
            dst: Writable::from_reg(v(4)),
        };
        assert_eq!(print_inst(&inc), format!("movl incoming+16, %v{}l", base + 4));
    }

    #[test]
    fn pseudo_instructions_print_one_line() {
        let insts = [
            Inst::TrapIf { cc: CC::Z, code: TrapCode::INTEGER_OVERFLOW },
            Inst::JmpCond { cc: CC::L, taken: MachLabel(3), not_taken: MachLabel(4) },
            Inst::JmpKnown { dst: MachLabel(17) },
            Inst::XmmMinMaxSeq { double: true, is_min: true, lhs: vx(1), rhs: vx(2), dst: Writable::from_reg(vx(1)) },
            Inst::CvtFloatToIntSeq {
                src_double: false,
                dst_size: OperandSize::S64,
                signed: false,
                saturating: true,
                src: vx(1),
                dst: Writable::from_reg(v(2)),
                tmp_gpr: Writable::from_reg(v(3)),
                tmp_xmm: Writable::from_reg(vx(4)),
                tmp_xmm2: Writable::from_reg(vx(5)),
            },
            Inst::JmpTableSeq {
                idx: v(1),
                tmp1: Writable::from_reg(v(2)),
                tmp2: Writable::from_reg(v(3)),
                default: MachLabel(1),
                targets: vec![MachLabel(2), MachLabel(3)].into_boxed_slice(),
            },
        ];
        let texts: Vec<String> = insts.iter().map(print_inst).collect();
        assert!(texts[0].starts_with("trap_if e "));
        assert_eq!(texts[1], "jmp_cond l label3, label4");
        assert_eq!(texts[2], "jmp label17");
        assert!(texts[3].starts_with("xmm_fmin_seq_sd "));
        assert!(texts[4].starts_with("cvt_ss_to_u64_sat_seq "));
        assert!(texts[5].ends_with("default=label1, [label2, label3]"));
        assert!(texts.iter().all(|t| !t.contains('\n')));
    }
}

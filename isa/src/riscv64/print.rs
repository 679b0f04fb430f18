//! Printing of riscv64 instructions in the syntax GNU `as` accepts.
//!
//! Invariant: for every real instruction form, the printed text assembles (GNU `as`, or
//! `llvm-mc` for the extensions binutils 2.40 lacks) to exactly the bytes `emit.rs`
//! produces, with the assembler's automatic compression matching Kiln's when the C
//! extensions are enabled. Registers print by ABI name (`a0`, `fs1`, `v3`), virtual ones as
//! `%xN`/`%fN`/`%vN`; labels as `labelN`; unresolved stack locations as `slot+N`,
//! `outgoing+N`, `incoming+N`. Forms that expand to several instructions print them
//! separated by ` ; `. Rounding modes print only when they differ from the assembler's
//! default (`dyn`, or the fixed `rne` of exact conversions).

use crate::names::{show_name_offset, show_stack};
use crate::riscv64::inst::*;
use crate::riscv64::regs::show_reg;
use crate::riscv64::vector::{UnaryShape, VState, VecMaskMode};
use kiln_codegen::machinst::{MachLabel, Reg, Writable};

fn r(reg: Reg) -> String {
    show_reg(reg)
}

fn w(reg: Writable<Reg>) -> String {
    show_reg(reg.to_reg())
}

/// A label.
pub fn show_label(l: MachLabel) -> String {
    format!("label{}", l.0)
}

fn show_amode(a: &AMode) -> String {
    match *a {
        AMode::RegOffset(base, off) => format!("{off}({})", r(base)),
        AMode::Stack(m) => show_stack(m),
        AMode::Label(l) => show_label(l),
    }
}

fn rm_suffix(frm: Frm, shown: bool) -> String {
    if shown && frm != Frm::Dyn { format!(",{}", frm.name()) } else { String::new() }
}

fn mask_suffix(m: VecMaskMode) -> &'static str {
    if m.is_masked() { ",v0.t" } else { "" }
}

/// The `fence` operand of an ordering set.
fn fence_set(s: u8) -> String {
    let mut out = String::new();
    for (bit, c) in [(8, 'i'), (4, 'o'), (2, 'r'), (1, 'w')] {
        if s & bit != 0 {
            out.push(c);
        }
    }
    if out.is_empty() { "0".to_string() } else { out }
}

/// The assembler operand of an `fli` constant.
pub fn fli_operand(index: u8) -> String {
    match index {
        1 => "min".to_string(),
        30 => "inf".to_string(),
        31 => "nan".to_string(),
        i => {
            let v = fli_table_value(i);
            if v.fract() == 0.0 { format!("{v:.1}") } else { format!("{v:e}") }
        }
    }
}

fn show_vsetvl(rd: Writable<Reg>, s: &VState) -> String {
    if s.avl < 32 {
        format!("vsetivli {},{},{}", w(rd), s.avl, s.vtype.show())
    } else {
        format!("li t6,{} ; vsetvli {},t6,{}", s.avl, w(rd), s.vtype.show())
    }
}

/// The assembler text of an instruction.
pub fn print_inst(inst: &Inst) -> String {
    match inst {
        Inst::Nop => "nop".to_string(),
        Inst::Lui { rd, imm20 } => format!("lui {},{:#x}", w(*rd), imm20),
        Inst::Auipc { rd, imm20 } => format!("auipc {},{:#x}", w(*rd), imm20),
        Inst::AluRRR { op, rd, rs1, rs2 } => format!("{} {},{},{}", op.name(), w(*rd), r(*rs1), r(*rs2)),
        Inst::AluRRImm { op, rd, rs, imm } => format!("{} {},{},{}", op.name(), w(*rd), r(*rs), imm),
        Inst::AluRR { op, rd, rs } => format!("{} {},{}", op.name(), w(*rd), r(*rs)),
        Inst::Load { op, rd, from, .. } => match from {
            AMode::Label(l) if op.is_fp() => format!("{} {},{},t6", op.name(), w(*rd), show_label(*l)),
            _ => format!("{} {},{}", op.name(), w(*rd), show_amode(from)),
        },
        Inst::Store { op, src, to, .. } => match to {
            AMode::Label(l) => format!("{} {},{},t6", op.name(), r(*src), show_label(*l)),
            _ => format!("{} {},{}", op.name(), r(*src), show_amode(to)),
        },
        Inst::Atomic { op, aq, rl, rd, addr, src, .. } => {
            let ord = match (aq, rl) {
                (true, true) => ".aqrl",
                (true, false) => ".aq",
                (false, true) => ".rl",
                (false, false) => "",
            };
            if op.is_lr() {
                format!("{}{ord} {},({})", op.name(), w(*rd), r(*addr))
            } else {
                format!("{}{ord} {},{},({})", op.name(), w(*rd), r(*src), r(*addr))
            }
        }
        Inst::Fence { pred, succ } => format!("fence {},{}", fence_set(*pred), fence_set(*succ)),
        Inst::FenceI => "fence.i".to_string(),
        Inst::Ecall => "ecall".to_string(),
        Inst::Ebreak => "ebreak".to_string(),
        Inst::Udf { .. } => "unimp".to_string(),
        Inst::FpuRRR { op, width, frm, rd, rs1, rs2 } => format!(
            "{}.{} {},{},{}{}",
            op.name(),
            width.suffix(),
            w(*rd),
            r(*rs1),
            r(*rs2),
            rm_suffix(*frm, op.has_rm())
        ),
        Inst::FpuRRRR { op, width, frm, rd, rs1, rs2, rs3 } => format!(
            "{}.{} {},{},{},{}{}",
            op.name(),
            width.suffix(),
            w(*rd),
            r(*rs1),
            r(*rs2),
            r(*rs3),
            rm_suffix(*frm, true)
        ),
        Inst::FpuRR { op: FpuOpRR::FcvtmodWD, rd, rs, .. } => format!("fcvtmod.w.d {},{},rtz", w(*rd), r(*rs)),
        Inst::FpuRR { op, width, frm, rd, rs } => {
            format!("{} {},{}{}", op.name(*width), w(*rd), r(*rs), rm_suffix(*frm, op.has_rm(*width)))
        }
        Inst::Fli { width, rd, index } => format!("fli.{} {},{}", width.suffix(), w(*rd), fli_operand(*index)),
        Inst::Args { args } => {
            let a: Vec<String> =
                args.iter().map(|a| format!("{}={}", w(a.vreg), show_reg(Reg::phys(a.preg)))).collect();
            format!("args {}", a.join(", "))
        }
        Inst::Rets { .. } => "ret".to_string(),
        Inst::Jal { dest } => format!("j {}", show_label(*dest)),
        Inst::CondBr { cond, rs1, rs2, taken, not_taken } => {
            format!("{} {},{},{} ; j {}", cond.name(), r(*rs1), r(*rs2), show_label(*taken), show_label(*not_taken))
        }
        Inst::Jalr { rd, base, offset } => format!("jalr {},{}({})", w(*rd), offset, r(*base)),
        Inst::LoadAddr { rd, label } => format!("lla {},{}", w(*rd), show_label(*label)),
        Inst::LoadExtName { rd, name, offset } => format!("lla {},{}", w(*rd), show_name_offset(name, *offset)),
        Inst::VecSetState { rd, vstate } => show_vsetvl(*rd, vstate),
        Inst::VecAluRRR { op, vd, vs2, src1, mask, .. } | Inst::VecAluRRRR { op, vd, vs2, src1, mask, .. } => {
            if op.is_merge() {
                format!("{} {},{},{},v0", op.name(), w(*vd), r(*vs2), r(*src1))
            } else if op.src1_first() {
                format!("{} {},{},{}{}", op.name(), w(*vd), r(*src1), r(*vs2), mask_suffix(*mask))
            } else {
                format!("{} {},{},{}{}", op.name(), w(*vd), r(*vs2), r(*src1), mask_suffix(*mask))
            }
        }
        Inst::VecAluRRImm5 { op, vd, vs2, imm, mask, .. } => {
            if op.is_merge() {
                format!("{} {},{},{},v0", op.name(), w(*vd), r(*vs2), imm)
            } else {
                format!("{} {},{},{}{}", op.name(), w(*vd), r(*vs2), imm, mask_suffix(*mask))
            }
        }
        Inst::VecAluRR { op, vd, vs, mask, .. } => match op.shape() {
            UnaryShape::NoSrc(_) => format!("{} {}{}", op.name(), w(*vd), mask_suffix(*mask)),
            _ => format!("{} {},{}{}", op.name(), w(*vd), r(*vs), mask_suffix(*mask)),
        },
        Inst::VecAluRImm5 { op, vd, imm, .. } => format!("{} {},{}", op.name(), w(*vd), imm),
        Inst::VecLoad { eew, vd, base, mask, .. } => {
            format!("vle{eew}.v {},({}){}", w(*vd), r(*base), mask_suffix(*mask))
        }
        Inst::VecStore { eew, vs, base, mask, .. } => {
            format!("vse{eew}.v {},({}){}", r(*vs), r(*base), mask_suffix(*mask))
        }
        Inst::VecMovWhole { vd, vs } => format!("vmv1r.v {},{}", w(*vd), r(*vs)),
        Inst::VecLoadWhole { vd, base } => format!("vl1re8.v {},({})", w(*vd), r(*base)),
        Inst::VecStoreWhole { vs, base } => format!("vs1r.v {},({})", r(*vs), r(*base)),
    }
}

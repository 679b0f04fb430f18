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

fn show_call_dest(d: &kiln_codegen::machinst::call::CallDest) -> String {
    match d {
        kiln_codegen::machinst::call::CallDest::Name { name, .. } => show_name_offset(name, 0),
        kiln_codegen::machinst::call::CallDest::Indirect(reg) => r(*reg),
    }
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
        Inst::Rets { stack_bytes_to_pop: 0, .. } => "ret".to_string(),
        Inst::Rets { stack_bytes_to_pop, .. } => format!("ret ; pop {stack_bytes_to_pop}"),
        Inst::Call { info } => format!("call {}", show_call_dest(&info.dest)),
        Inst::ReturnCall { info } => format!("tail {}", show_call_dest(&info.dest)),
        Inst::ExnPayloads { defs } => {
            let a: Vec<String> = defs.iter().map(|(r, p)| format!("{}={}", w(*r), show_reg(Reg::phys(*p)))).collect();
            format!("exn_payloads {}", a.join(", "))
        }
        Inst::TrapIf { cond, rs1, rs2, code } => format!("{} {},{},trap_{code}", cond.name(), r(*rs1), r(*rs2)),
        Inst::Select { rd, cond, rs1, rs2, a, b } => {
            format!("select {} = {} {},{} ? {} : {}", w(*rd), cond.name(), r(*rs1), r(*rs2), r(*a), r(*b))
        }
        Inst::BrTable { index, tmp, default, targets } => {
            let t: Vec<String> = targets.iter().map(|l| show_label(*l)).collect();
            format!("br_table {},{} [{}] default {}", r(*index), w(*tmp), t.join(", "), show_label(*default))
        }
        Inst::StackAddr { rd, mem } => format!("addi {},sp,{}", w(*rd), show_stack(*mem)),
        Inst::LoadConst { rd, imm } => format!("li {},{}", w(*rd), *imm as i64),
        Inst::Extend { rd, rs, signed, from_bits } => {
            let k = match (signed, from_bits) {
                (true, 8) => "sext.b",
                (true, 16) => "sext.h",
                (true, _) => "sext.w",
                (false, 8) => "zext.b",
                (false, 16) => "zext.h",
                (false, _) => "zext.w",
            };
            format!("{k} {},{}", w(*rd), r(*rs))
        }
        Inst::VecSpill { amode, reg, load: true } => format!("vl1re8.v {},{}", r(*reg), show_amode(amode)),
        Inst::VecSpill { amode, reg, load: false } => format!("vs1r.v {},{}", r(*reg), show_amode(amode)),
        Inst::LoadExtNameAbs { rd, name, offset } => format!("la {},{}", w(*rd), show_name_offset(name, *offset)),
        Inst::AtomicLoop { op, word64, narrow, addr, src, expected, dst, t0, t1, .. } => {
            let width = match narrow {
                Some((bits, shift)) => format!("i{bits}@{}", r(*shift)),
                None if *word64 => "d".to_string(),
                None => "w".to_string(),
            };
            format!(
                "atomic_{op:?}.{width} {},({}),{},{} ; tmp {},{}",
                w(*dst),
                r(*addr),
                r(*src),
                r(*expected),
                w(*t0),
                w(*t1)
            )
        }
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

//! Branch relaxation and label uses with the x86-64 encodings ([`X64Branch`], [`X64LabelUse`]): short and
//! long forms of `jmp` and `jcc` at the exact range boundaries, cascading growth, branch
//! elision against the next block, jump-table entries and RIP-relative fields followed by
//! immediates.

use kiln_codegen::machinst::buffer::{FinishedCode, MachBuffer, MachEncoder};
use kiln_codegen::machinst::vcode::MachInstEmit;
use kiln_codegen::machinst::{MachLabel, Writable};
use kiln_ir::settings::{Arch, Flags, IsaFlags};
use kiln_isa::x64::emit::{EmitInfo, EmitState, Sink, X64Branch, X64LabelUse};
use kiln_isa::x64::inst::*;
use kiln_isa::x64::regs::gpr;

fn finish(b: Sink) -> FinishedCode {
    let mut out = FinishedCode::default();
    b.finish(&mut out).expect("finish");
    out
}

fn buffer() -> Sink {
    MachBuffer::new(info())
}

fn rel32(b: &[u8], at: usize) -> i32 {
    i32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

#[test]
fn forward_jmp_boundary() {
    for (gap, long) in [(0usize, false), (127, false), (128, true), (1000, true)] {
        let mut b = buffer();
        let l = b.get_label();
        b.add_branch(l, X64Branch::Jmp);
        b.put_data(&vec![0x90; gap]);
        b.bind_label(l);
        let out = finish(b);
        if long {
            assert_eq!(out.bytes[0], 0xe9);
            assert_eq!(rel32(&out.bytes, 1), gap as i32);
            assert_eq!(out.bytes.len(), 5 + gap);
        } else {
            assert_eq!(&out.bytes[..2], &[0xeb, gap as u8]);
            assert_eq!(out.bytes.len(), 2 + gap);
        }
    }
}

#[test]
fn backward_and_conditional_boundaries() {
    for cc in 0..16u8 {
        for (gap, long) in [(126usize, false), (127, true)] {
            let mut b = buffer();
            let l = b.get_label();
            b.bind_label(l);
            b.put_data(&vec![0x90; gap]);
            b.add_branch(l, X64Branch::Jcc(CC::from_nibble(cc)));
            let out = finish(b);
            let at = gap;
            if long {
                assert_eq!(&out.bytes[at..at + 2], &[0x0f, 0x80 | cc]);
                assert_eq!(rel32(&out.bytes, at + 2), -(gap as i32 + 6));
            } else {
                assert_eq!(out.bytes[at], 0x70 | cc);
                assert_eq!(out.bytes[at + 1] as i8 as i32, -(gap as i32 + 2));
                assert_eq!(-(gap as i32 + 2), -128);
            }
        }
    }
}

#[test]
fn growth_cascades() {
    // Branch A jumps over branch B and 124 bytes: short while B is short (2 + 124 = 126),
    // but B's target is far, so B grows to 5 bytes and A (now 129 away) must grow too.
    let mut b = buffer();
    let la = b.get_label();
    let lb = b.get_label();
    b.add_branch(la, X64Branch::Jcc(CC::Z));
    b.add_branch(lb, X64Branch::Jmp);
    b.put_data(&[0x90; 124]);
    b.bind_label(la);
    b.put_data(&[0x90; 200]);
    b.bind_label(lb);
    let out = finish(b);
    assert_eq!(&out.bytes[..2], &[0x0f, 0x84]);
    assert_eq!(rel32(&out.bytes, 2), 5 + 124);
    assert_eq!(out.bytes[6], 0xe9);
    assert_eq!(rel32(&out.bytes, 7), 324);
    assert_eq!(out.label_offsets[la.0 as usize], 6 + 5 + 124);
}

#[test]
fn label_use_kinds() {
    let enc = info();
    assert_eq!(enc.label_use_patch_size(&X64LabelUse::JumpTable32), 4);
    let mut bytes = [0u8; 4];
    // PC-relative with k trailing immediate bytes: relative to the instruction end.
    for k in [0u8, 1, 2, 4] {
        let u = X64LabelUse::PcRel32 { trailing: k };
        assert!(enc.patch_label_use(&u, 0, 40 - 100, &mut bytes));
        assert_eq!(i32::from_le_bytes(bytes), 40 - (100 + 4 + k as i32));
        // The single form's reach is exactly what the field can hold.
        let f = enc.label_use_forms(&u)[0];
        assert_eq!(f.max_disp, i32::MAX as i64 + 4 + k as i64);
        assert!(enc.patch_label_use(&u, 0, f.max_disp, &mut bytes));
        assert!(!enc.patch_label_use(&u, 0, f.max_disp + 1, &mut bytes));
        assert!(enc.patch_label_use(&u, 0, f.min_disp, &mut bytes));
        assert!(!enc.patch_label_use(&u, 0, f.min_disp - 1, &mut bytes));
    }
    assert!(enc.patch_label_use(&X64LabelUse::JumpTable32, 0, -60, &mut bytes));
    assert_eq!(i32::from_le_bytes(bytes), -60);
    assert!(!enc.patch_label_use(&X64LabelUse::PcRel32 { trailing: 0 }, 0, u32::MAX as i64, &mut bytes));
    assert_eq!(enc.trap_instruction(), &[0x0f, 0x0b]);
    let sizes = |b: X64Branch| enc.branch_forms(&b).iter().map(|f| f.size).collect::<Vec<_>>();
    assert_eq!(sizes(X64Branch::Jmp), [2, 5]);
    assert_eq!(sizes(X64Branch::Jcc(CC::Z)), [2, 6]);
    assert!(enc.is_unconditional(&X64Branch::Jmp) && !enc.is_unconditional(&X64Branch::Jcc(CC::O)));
    // Padding is made of the recommended multi-byte no-ops.
    let mut nops = Vec::new();
    enc.write_nops(12, &mut nops);
    assert_eq!(nops, [0x66, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0, 0x0f, 0x1f, 0x00]);
}

fn info() -> EmitInfo {
    EmitInfo::new(Flags::new(), IsaFlags::new(Arch::X86_64))
}

#[test]
fn rip_relative_with_immediate() {
    // movl $0x11223344, label(%rip) where the label is 100 bytes after the instruction.
    let mut b = buffer();
    let l = b.get_label();
    let mut st = EmitState::default();
    let inst = Inst::StoreImm {
        size: OperandSize::S32,
        imm: 0x1122_3344,
        mem: Mem::new(Amode::RipRelative { label: l }, None),
    };
    inst.emit(&mut b, &info(), &mut st).unwrap();
    let len = b.data_len();
    b.put_data(&[0xcc; 100]);
    b.bind_label(l);
    let out = finish(b);
    assert_eq!(len, 10);
    assert_eq!(&out.bytes[..2], &[0xc7, 0x05]);
    assert_eq!(rel32(&out.bytes, 2), 100);
    assert_eq!(rel32(&out.bytes, 6), 0x1122_3344);
}

#[test]
fn jump_table_entries_are_table_relative() {
    let mut b = buffer();
    let targets: Vec<MachLabel> = (0..5).map(|_| b.get_label()).collect();
    let default = b.get_label();
    let mut st = EmitState::default();
    let inst = Inst::JmpTableSeq {
        idx: gpr(7),
        tmp1: Writable::from_reg(gpr(1)),
        tmp2: Writable::from_reg(gpr(2)),
        default,
        targets: targets.clone().into_boxed_slice(),
    };
    inst.emit(&mut b, &info(), &mut st).unwrap();
    let table_end = b.data_len();
    for t in &targets {
        b.put_data(&[0x90; 50]);
        b.bind_label(*t);
    }
    b.bind_label(default);
    let out = finish(b);
    // The `jae default` is long (over the table and 250 bytes).
    assert_eq!(&out.bytes[3..5], &[0x0f, 0x83]);
    let table = table_end as u32 + 6 - 20; // the long `jae` adds 6 bytes before it
    for (i, t) in targets.iter().enumerate() {
        let entry = table + 4 * i as u32;
        let v = rel32(&out.bytes, entry as usize);
        assert_eq!(table as i64 + v as i64, out.label_offsets[t.0 as usize] as i64);
    }
}

#[test]
fn fallthrough_elision() {
    let emit = |inst: Inst, next: Option<MachLabel>| {
        let mut b = buffer();
        b.reserve_labels(3);
        let mut st = EmitState { next_block: next, ..Default::default() };
        inst.emit(&mut b, &info(), &mut st).unwrap();
        b.bind_label(MachLabel(0));
        b.bind_label(MachLabel(1));
        b.bind_label(MachLabel(2));
        finish(b).bytes
    };
    let (l0, l1, l2) = (MachLabel(0), MachLabel(1), MachLabel(2));
    assert_eq!(emit(Inst::JmpKnown { dst: l1 }, Some(l1)), Vec::<u8>::new());
    assert_eq!(emit(Inst::JmpKnown { dst: l1 }, Some(l2)), vec![0xeb, 0x00]);
    // Not-taken target next: only the jcc.
    assert_eq!(emit(Inst::JmpCond { cc: CC::Z, taken: l0, not_taken: l1 }, Some(l1)), vec![0x74, 0x00]);
    // Taken target next: inverted jcc to the other target.
    assert_eq!(emit(Inst::JmpCond { cc: CC::Z, taken: l0, not_taken: l1 }, Some(l0)), vec![0x75, 0x00]);
    // Neither: jcc + jmp.
    assert_eq!(emit(Inst::JmpCond { cc: CC::L, taken: l0, not_taken: l1 }, Some(l2)), vec![0x7c, 0x02, 0xeb, 0x00]);
    // JmpCondOr: jp taken; jne taken; (jmp not_taken elided).
    assert_eq!(
        emit(Inst::JmpCondOr { cc1: CC::P, cc2: CC::NZ, taken: l0, not_taken: l1 }, Some(l1)),
        vec![0x7a, 0x02, 0x75, 0x00]
    );
    // Taken next: jp taken; je not_taken.
    assert_eq!(
        emit(Inst::JmpCondOr { cc1: CC::P, cc2: CC::NZ, taken: l0, not_taken: l1 }, Some(l0)),
        vec![0x7a, 0x02, 0x74, 0x00]
    );
}

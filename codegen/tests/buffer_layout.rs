//! The `MachBuffer` layout engine with a toy target whose reaches are tiny (±127 bytes for
//! short forms), so that ladders, islands, veneers, constant copies, trap-stub islands and
//! alignment all happen in functions of a few kilobytes.
//!
//! Every test emits a toy program, finishes it, then decodes the bytes and checks each
//! reference: a branch is followed (through jumps: veneers) to the block marker it was
//! meant for, a literal load must find its constant's bytes, a branch to a trap stub must
//! land on a trap instruction with the right trap record. Instructions the test emits are
//! followed by an *expectation* marker saying what they should reach.
//!
//! Toy encoding (displacements are relative to the instruction's first byte):
//! `90` nop · `50 id` block marker · `5F id` / `5E code` / `5C id` expectation markers
//! (block, trap, constant) · `E0 d8` / `E1 d32` jmp · `B0+c d8` / `C0+c d16` / `C8+c d32`
//! conditional branch (three forms) · `D0+c d8` fixed-size conditional branch · `4C d8`
//! literal load (fixed use) · `AD d8` / `AE d32` address of a label (relaxable use) ·
//! `10 d8` low part of an address anchored at another label · `FF` trap.

use kiln_codegen::machinst::MachLabel;
use kiln_codegen::machinst::buffer::{BufferError, FinishedCode, Form, MachBuffer, MachEncoder, Reloc, RelocTarget};
use kiln_ir::function::SourceLoc;
use kiln_ir::trapcode::TrapCode;

#[derive(Clone, Default)]
struct Toy {
    /// Instruction alignment (1 unless a test asks for more).
    code_align: u32,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum TB {
    Jmp,
    Bcc(u8),
    Fixed(u8),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum TU {
    Lit,
    Adr,
    PcLo,
}

const fn form(size: u32, bits: u32, islands: bool) -> Form {
    let half = 1i64 << (bits - 1);
    Form { size, min_disp: -half, max_disp: half - 1, islands }
}

const JMP: [Form; 2] = [form(2, 8, false), form(5, 32, false)];
const BCC: [Form; 3] = [form(2, 8, true), form(3, 16, false), form(5, 32, false)];
const FIXED: [Form; 1] = [form(2, 8, true)];
const LIT: [Form; 1] = [form(0, 8, true)];
const ADR: [Form; 2] = [form(2, 8, true), form(5, 32, false)];

impl MachEncoder for Toy {
    type Branch = TB;
    type LabelUse = TU;

    fn branch_forms(&self, b: &TB) -> &[Form] {
        match b {
            TB::Jmp => &JMP,
            TB::Bcc(_) => &BCC,
            TB::Fixed(_) => &FIXED,
        }
    }
    fn encode_branch(&self, b: &TB, form: usize, _at: u32, disp: i64, out: &mut Vec<u8>) {
        match (b, form) {
            (TB::Jmp, 0) => out.extend_from_slice(&[0xe0, disp as i8 as u8]),
            (TB::Jmp, _) => {
                out.push(0xe1);
                out.extend_from_slice(&(disp as i32).to_le_bytes());
            }
            (TB::Bcc(c), 0) => out.extend_from_slice(&[0xb0 | c, disp as i8 as u8]),
            (TB::Bcc(c), 1) => {
                out.push(0xc0 | c);
                out.extend_from_slice(&(disp as i16).to_le_bytes());
            }
            (TB::Bcc(c), _) => {
                out.push(0xc8 | c);
                out.extend_from_slice(&(disp as i32).to_le_bytes());
            }
            (TB::Fixed(c), _) => out.extend_from_slice(&[0xd0 | c, disp as i8 as u8]),
        }
    }
    fn is_unconditional(&self, b: &TB) -> bool {
        *b == TB::Jmp
    }
    fn jump(&self) -> TB {
        TB::Jmp
    }
    fn label_use_forms(&self, u: &TU) -> &[Form] {
        match u {
            TU::Lit | TU::PcLo => &LIT,
            TU::Adr => &ADR,
        }
    }
    fn patch_label_use(&self, _u: &TU, _at: u32, disp: i64, bytes: &mut [u8]) -> bool {
        match i8::try_from(disp) {
            Ok(d) => {
                bytes[1] = d as u8;
                true
            }
            Err(_) => false,
        }
    }
    fn label_use_patch_size(&self, _u: &TU) -> u32 {
        2
    }
    fn encode_label_use(&self, u: &TU, form: usize, _at: u32, disp: i64, out: &mut Vec<u8>) {
        assert_eq!(*u, TU::Adr, "only `Adr` is relaxable");
        if form == 0 {
            out.extend_from_slice(&[0xad, disp as i8 as u8]);
        } else {
            out.push(0xae);
            out.extend_from_slice(&(disp as i32).to_le_bytes());
        }
    }
    fn trap_instruction(&self) -> &[u8] {
        &[0xff]
    }
    fn write_nops(&self, n: usize, out: &mut Vec<u8>) {
        out.extend(std::iter::repeat_n(0x90, n));
    }
    fn code_alignment(&self) -> u32 {
        self.code_align.max(1)
    }
}

/// The 4 bytes of constant `id`.
fn const_bytes(id: u8) -> [u8; 4] {
    [0xc0, id, !id, 0x0c]
}

/// A toy program being emitted, with the framework's island policy: a forced island (with
/// a jump around it) before any instruction that could push a pending item out of reach,
/// and an island without jump at a block start no code falls through to, when wanted.
struct Asm {
    b: MachBuffer<Toy>,
    fallthrough: bool,
}

impl Asm {
    fn new() -> Asm {
        Asm { b: MachBuffer::new(Toy::default()), fallthrough: true }
    }
    fn check(&mut self, worst: u32) {
        if self.b.island_needed(worst) {
            self.b.emit_island(self.fallthrough);
        }
        self.fallthrough = true;
    }
    fn block(&mut self, l: MachLabel, id: u8) {
        if !self.fallthrough && self.b.island_wanted() {
            self.b.emit_island(false);
        }
        self.b.bind_label(l);
        self.b.put_data(&[0x50, id]);
        self.fallthrough = true;
    }
    fn nops(&mut self, n: usize) {
        for _ in 0..n {
            self.check(1);
            self.b.put1(0x90);
        }
    }
    fn branch(&mut self, l: MachLabel, kind: TB, expect: u8) {
        self.check(7);
        self.b.add_branch(l, kind);
        self.b.put_data(&[0x5f, expect]);
        if kind == TB::Jmp {
            self.fallthrough = false;
        }
    }
    fn trap_if(&mut self, c: u8, code: TrapCode) {
        self.check(8);
        let l = self.b.defer_trap(code, SourceLoc::default());
        self.b.add_branch(l, TB::Bcc(c));
        self.b.put_data(&[0x5e, code.as_raw()]);
    }
    fn lit(&mut self, id: u8) {
        self.check(16);
        let l = self.b.add_constant(&const_bytes(id), 4);
        self.b.use_label_at_offset(l, TU::Lit);
        self.b.put_data(&[0x4c, 0, 0x5c, id]);
    }
    fn adr(&mut self, id: u8) {
        self.check(16);
        let l = self.b.add_constant(&const_bytes(id), 4);
        self.b.add_label_use(l, TU::Adr);
        self.b.put_data(&[0x5c, id]);
    }
    fn finish(self) -> FinishedCode {
        let mut out = FinishedCode::default();
        self.b.finish(&mut out).expect("finish");
        check(&out);
        out
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Insn {
    Nop,
    Mark(u8),
    ExpectBlock(u8),
    ExpectTrap(u8),
    ExpectConst(u8),
    Jmp(usize),
    Bcc(usize, u32),
    Fixed(usize),
    Lit(usize),
    Adr(usize),
    PcLo(i8),
    Trap,
}

fn rel(at: usize, d: i64) -> usize {
    (at as i64 + d) as usize
}

fn decode_one(code: &[u8], at: usize) -> (Insn, usize) {
    let b = code[at];
    let d8 = || code[at + 1] as i8 as i64;
    let d16 = || i16::from_le_bytes([code[at + 1], code[at + 2]]) as i64;
    let d32 = || i32::from_le_bytes(code[at + 1..at + 5].try_into().unwrap()) as i64;
    match b {
        0x90 => (Insn::Nop, 1),
        0x50 => (Insn::Mark(code[at + 1]), 2),
        0x5f => (Insn::ExpectBlock(code[at + 1]), 2),
        0x5e => (Insn::ExpectTrap(code[at + 1]), 2),
        0x5c => (Insn::ExpectConst(code[at + 1]), 2),
        0xe0 => (Insn::Jmp(rel(at, d8())), 2),
        0xe1 => (Insn::Jmp(rel(at, d32())), 5),
        0xb0..=0xb7 => (Insn::Bcc(rel(at, d8()), 2), 2),
        0xc0..=0xc7 => (Insn::Bcc(rel(at, d16()), 3), 3),
        0xc8..=0xcf => (Insn::Bcc(rel(at, d32()), 5), 5),
        0xd0..=0xd7 => (Insn::Fixed(rel(at, d8())), 2),
        0x4c => (Insn::Lit(rel(at, d8())), 2),
        0xad => (Insn::Adr(rel(at, d8())), 2),
        0xae => (Insn::Adr(rel(at, d32())), 5),
        0x10 => (Insn::PcLo(code[at + 1] as i8), 2),
        0xff => (Insn::Trap, 1),
        _ => panic!("undecodable byte {b:#x} at {at:#x}"),
    }
}

/// Decode the code part (skipping inline data) into (offset, instruction).
fn decode(out: &FinishedCode) -> Vec<(usize, Insn)> {
    let mut v = Vec::new();
    let mut at = 0usize;
    let end = out.code_size as usize;
    while at < end {
        if let Some(&(_, e)) = out.inline_data.iter().find(|&&(s, e)| s as usize <= at && at < e as usize) {
            at = e as usize;
            continue;
        }
        let (i, n) = decode_one(&out.bytes, at);
        v.push((at, i));
        at += n;
    }
    v
}

/// Follow jumps (veneers) from `at` to a non-jump instruction.
fn follow(out: &FinishedCode, mut at: usize) -> (usize, Insn) {
    for _ in 0..8 {
        match decode_one(&out.bytes, at).0 {
            Insn::Jmp(t) => at = t,
            i => return (at, i),
        }
    }
    panic!("jump chain too long at {at:#x}");
}

fn in_data(out: &FinishedCode, at: usize) -> bool {
    at >= out.code_size as usize || out.inline_data.iter().any(|&(s, e)| s as usize <= at && at < e as usize)
}

/// Check every reference of a decoded toy program (see the module doc).
fn check(out: &FinishedCode) {
    let insns = decode(out);
    for (k, &(at, insn)) in insns.iter().enumerate() {
        let expect = insns.get(k + 1).map(|x| x.1);
        match (insn, expect) {
            (Insn::Jmp(t) | Insn::Bcc(t, _) | Insn::Fixed(t), Some(Insn::ExpectBlock(id))) => {
                let (dst, i) = follow(out, t);
                assert_eq!(i, Insn::Mark(id), "branch at {at:#x} reaches {dst:#x}");
            }
            (Insn::Bcc(t, _) | Insn::Fixed(t), Some(Insn::ExpectTrap(code))) => {
                let (dst, i) = follow(out, t);
                assert_eq!(i, Insn::Trap, "trap branch at {at:#x} reaches {dst:#x}");
                let rec = out.traps.iter().find(|r| r.offset as usize == dst).expect("trap record");
                assert_eq!(rec.code.as_raw(), code);
            }
            (Insn::Lit(t) | Insn::Adr(t), Some(Insn::ExpectConst(id))) => {
                assert!(in_data(out, t), "constant of {at:#x} at {t:#x} is not in data");
                assert_eq!(&out.bytes[t..t + 4], &const_bytes(id), "constant of {at:#x} at {t:#x}");
                assert_eq!(t % 4, 0, "constant at {t:#x} is misaligned");
            }
            // An island's jump around it: forward, over island contents only.
            (Insn::Jmp(t), _) => {
                assert!(t > at, "island jump at {at:#x} goes backwards");
                for &(a, i) in &insns[k + 1..] {
                    if a >= t {
                        break;
                    }
                    assert!(matches!(i, Insn::Trap | Insn::Jmp(_) | Insn::Nop), "{i:?} at {a:#x} inside an island");
                }
            }
            (Insn::Bcc(..) | Insn::Fixed(_) | Insn::Lit(_) | Insn::Adr(_), e) => {
                panic!("{insn:?} at {at:#x} without an expectation (followed by {e:?})")
            }
            _ => {}
        }
    }
}

fn count(out: &FinishedCode, f: impl Fn(&Insn) -> bool) -> usize {
    decode(out).iter().filter(|(_, i)| f(i)).count()
}

#[test]
fn ladder_picks_the_first_form_that_reaches() {
    for (gap, size) in [(0usize, 2u32), (123, 2), (124, 3), (30000, 3), (32762, 3), (32763, 5), (70000, 5)] {
        let mut a = Asm::new();
        let l = a.b.get_label();
        a.branch(l, TB::Bcc(3), 1);
        a.b.put_data(&vec![0x90; gap]);
        a.block(l, 1);
        let out = a.finish();
        // branch + expectation (2) + gap, then the target: disp = size + 2 + gap.
        assert_eq!(out.bytes.len() as u32, size + 2 + gap as u32 + 2, "gap {gap}");
        assert_eq!(count(&out, |i| matches!(i, Insn::Bcc(_, s) if *s == size)), 1, "gap {gap}");
    }
    // Backwards: the displacement is negative from the branch's own start.
    for (gap, size) in [(128usize, 2u32), (129, 3)] {
        let mut a = Asm::new();
        let l = a.b.get_label();
        a.block(l, 9);
        a.b.put_data(&vec![0x90; gap - 2]);
        a.branch(l, TB::Bcc(0), 9);
        let out = a.finish();
        assert_eq!(count(&out, |i| matches!(i, Insn::Bcc(_, s) if *s == size)), 1, "gap {gap}");
    }
}

#[test]
fn growth_cascades_and_alignment_follows() {
    // A jumps over B and 120 bytes: short while B is short, but B's target is far, so B
    // grows and A must grow too; the aligned label after them moves with them.
    let mut a = Asm::new();
    let (la, lb, lc) = (a.b.get_label(), a.b.get_label(), a.b.get_label());
    a.branch(la, TB::Bcc(1), 1);
    a.branch(lb, TB::Bcc(2), 2);
    a.b.put_data(&[0x90; 119]);
    a.block(la, 1);
    a.b.align_to(16);
    a.block(lc, 3);
    a.branch(lc, TB::Jmp, 3);
    a.b.put_data(&[0x90; 300]);
    a.block(lb, 2);
    let out = a.finish();
    assert_eq!(count(&out, |i| matches!(i, Insn::Bcc(_, 3))), 2);
    assert_eq!(out.label_offsets[lc.0 as usize] % 16, 0);
    // The padding is no-ops: 3 + 2 + 3 + 2 + 119 + 2 = 131 → 144.
    assert_eq!(out.label_offsets[lc.0 as usize], 144);
    assert!(out.bytes[131..144].iter().all(|&b| b == 0x90));
}

#[test]
fn islands_keep_literals_in_reach() {
    let mut a = Asm::new();
    let labels: Vec<MachLabel> = (0..120).map(|_| a.b.get_label()).collect();
    for (i, &l) in labels.iter().enumerate() {
        a.block(l, i as u8);
        // A literal shared by everything, one per block, and one per 10 blocks.
        a.lit(0);
        a.nops(7);
        a.lit(1 + (i % 100) as u8);
        a.adr(200 + (i / 10) as u8);
        a.nops(5);
        if i % 2 == 0 {
            // An unconditional jump: a free place for an island.
            a.branch(labels[(i + 1).min(labels.len() - 1)], TB::Jmp, (i + 1).min(labels.len() - 1) as u8);
        }
    }
    let out = a.finish();
    assert!(out.islands > 10, "{} islands", out.islands);
    // Most islands sit where nothing falls through: few jumps around them.
    let jumps_around = decode(&out)
        .windows(2)
        .filter(|w| matches!(w[0].1, Insn::Jmp(_)) && !matches!(w[1].1, Insn::ExpectBlock(_)))
        .count();
    assert!(jumps_around < out.islands as usize / 2, "{jumps_around} jumps around {} islands", out.islands);
    // The relaxable uses stay in their short form: their constants are kept in reach.
    assert_eq!(count(&out, |i| matches!(i, Insn::Adr(_))), 120);
    assert_eq!(decode(&out).iter().filter(|(a, i)| matches!(i, Insn::Adr(_)) && out.bytes[*a] == 0xae).count(), 0);
}

#[test]
fn far_constants_get_fresh_copies() {
    let mut a = Asm::new();
    a.lit(7);
    a.nops(600);
    a.lit(7);
    a.nops(600);
    a.lit(7);
    let out = a.finish();
    // Three uses 600 bytes apart cannot share one copy within ±127 bytes.
    let copies = out.bytes.windows(4).filter(|w| *w == const_bytes(7)).count();
    assert_eq!(copies, 3);
    // Close uses share one.
    let mut a = Asm::new();
    for _ in 0..5 {
        a.lit(8);
        a.nops(10);
    }
    let out = a.finish();
    assert_eq!(out.bytes.windows(4).filter(|w| *w == const_bytes(8)).count(), 1);
    assert_eq!(out.islands, 0, "the end of the function is in reach");
}

#[test]
fn trap_stubs_are_placed_in_reach_of_short_branches() {
    let mut a = Asm::new();
    let codes = [TrapCode::INTEGER_OVERFLOW, TrapCode::HEAP_OUT_OF_BOUNDS, TrapCode::INTEGER_DIVISION_BY_ZERO];
    for k in 0..60 {
        a.trap_if((k % 8) as u8, codes[k % 3]);
        a.nops(40);
    }
    let out = a.finish();
    // Every conditional trap keeps its 2-byte form: stubs are repeated in islands.
    assert_eq!(count(&out, |i| matches!(i, Insn::Bcc(_, 2))), 60);
    let stubs = count(&out, |i| *i == Insn::Trap);
    assert!((6..60).contains(&stubs), "{stubs} trap stubs");
    assert_eq!(out.traps.len(), stubs);
}

#[test]
fn fixed_branches_get_veneers() {
    let mut a = Asm::new();
    let far = a.b.get_label();
    let near = a.b.get_label();
    a.branch(far, TB::Fixed(5), 1);
    a.branch(near, TB::Fixed(6), 2);
    a.nops(50);
    a.block(near, 2);
    a.nops(1000);
    a.block(far, 1);
    let out = a.finish();
    // The far branch goes through a veneer (a jump); the near one does not.
    let insns = decode(&out);
    let Insn::Fixed(t) = insns[0].1 else { panic!("{:?}", insns[0]) };
    assert!(matches!(decode_one(&out.bytes, t).0, Insn::Jmp(_)));
    let Insn::Fixed(t) = insns[2].1 else { panic!("{:?}", insns[2]) };
    assert_eq!(decode_one(&out.bytes, t).0, Insn::Mark(2));
    assert_eq!(out.islands, 1);

    // A fixed branch backwards out of reach cannot be helped.
    let mut a = Asm::new();
    let l = a.b.get_label();
    a.block(l, 0);
    a.nops(300);
    a.branch(l, TB::Fixed(0), 0);
    let mut out = FinishedCode::default();
    match a.b.finish(&mut out) {
        Err(BufferError::OutOfRange(msg)) => assert!(msg.contains("Fixed"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn anchored_uses_and_relocations_to_labels() {
    let mut b = MachBuffer::new(Toy::default());
    let anchor = b.get_label();
    let target = b.get_label();
    b.put_data(&[0x90; 3]);
    b.bind_label(anchor);
    b.add_branch(target, TB::Jmp);
    b.use_label_anchored(target, TU::PcLo, anchor);
    b.put_data(&[0x10, 0]);
    b.add_reloc_to_label(Reloc::RiscvPCRelLo12I, anchor, 0);
    b.put_data(&[0; 4]);
    b.put_data(&[0x90; 20]);
    b.bind_label(target);
    b.put1(0xff);
    let mut out = FinishedCode::default();
    b.finish(&mut out).unwrap();
    // The jump is 2 bytes at 3; the anchored field measures from the anchor (3), not from
    // its own position (5): target 3 + 2 + 2 + 4 + 20 = 31.
    assert_eq!(out.label_offsets[target.0 as usize], 31);
    assert_eq!(out.bytes[6] as i8, 28);
    assert_eq!(out.relocs.len(), 1);
    assert_eq!(out.relocs[0].offset, 7);
    assert_eq!(out.relocs[0].target, RelocTarget::CodeOffset(3));
}

#[test]
fn relaxation_stays_linear_on_cascades() {
    // 20,000 branches, each jumping over the next one and 123 bytes: every branch is just
    // in reach while its successor is short, and the last one's target is far, so growth
    // ripples back one branch per pass without the eager rule.
    let n = 20_000;
    let mut a = Asm::new();
    let labels: Vec<MachLabel> = (0..=n).map(|_| a.b.get_label()).collect();
    let far = a.b.get_label();
    for i in 0..n {
        if i > 0 {
            a.block(labels[i - 1], 0);
        }
        let target = if i + 1 == n { far } else { labels[i] };
        a.branch(target, TB::Bcc(1), if i + 1 == n { 1 } else { 0 });
        a.b.put_data(&[0x90; 119]);
    }
    a.block(labels[n - 1], 0);
    a.b.put_data(&vec![0x90; 1000]);
    a.block(far, 1);
    let out = a.finish();
    assert!(out.layout_passes <= 8, "{} passes", out.layout_passes);
}

#[test]
fn code_after_an_island_is_realigned() {
    // A 2-byte constant last in an island: the instruction after it is at a multiple of
    // the target's code alignment again.
    let mut b = MachBuffer::new(Toy { code_align: 4 });
    b.put_data(&[0x90; 3]);
    let c = b.add_constant(&[0x12, 0x34], 2);
    b.use_label_at_offset(c, TU::Lit);
    b.put_data(&[0x4c, 0]);
    b.emit_island(true);
    let after = b.get_label();
    b.bind_label(after);
    b.put1(0x90);
    let mut out = FinishedCode::default();
    b.finish(&mut out).unwrap();
    assert_eq!(out.islands, 1);
    let (s, e) = out.inline_data[0];
    assert!(s + 2 <= e);
    assert_eq!(&out.bytes[e as usize - 2..e as usize], &[0x12, 0x34]);
    assert_eq!(out.label_offsets[after.0 as usize] % 4, 0);
    assert!(out.label_offsets[after.0 as usize] >= e);
}

//! aarch64 machine-code emission: the encoder of every [`Inst`] form as pure functions
//! (`enc_*`, returning the 32-bit instruction word), [`Inst::emit`] which appends an
//! instruction to the [`MachBuffer`], the label-use kinds with their ranges and patch
//! functions ([`LabelUse`]), the long-branch sequences, and the branches ([`A64Branch`])
//! with their ladders of forms for the buffer's relaxation (`impl MachEncoder for EmitInfo`).
//!
//! Invariants:
//! - emission only sees physical registers (the allocator has rewritten every operand);
//! - every word is what GNU `as` produces for the text `print.rs` prints (checked by
//!   `tests/aarch64_encoding.rs` for every form);
//! - operands outside what the form can encode (offsets, shifts, lanes, sp/xzr in the
//!   wrong field) are reported as errors by `emit`, never silently truncated;
//! - x16 and x17 are free for emission sequences (stack offsets that need a register,
//!   long branches and veneers): the allocator never hands them out.

use crate::aarch64::inst::*;
use crate::aarch64::regs::{SP_PREG, ZR_ENC, enc, is_sp, is_zr, stack_reg, tmp1_reg, tmp2_reg, writable_stack_reg};
use crate::aarch64::settings::Aarch64Settings;
use kiln_codegen::machinst::abi::{CalleeSave, FrameLayout, StackLimit, StackLimitBase, StackLimitStep};
use kiln_codegen::machinst::buffer::{Form, HandlerTag, MachBuffer, MachEncoder, Reloc, RelocTarget};
use kiln_codegen::machinst::unwind::UnwindInst;
use kiln_codegen::machinst::vcode::{self, BlockStart, MachInstEmit};
use kiln_codegen::machinst::{MachLabel, Reg, Writable};
use kiln_codegen::{CodegenError, CodegenResult};
use kiln_ir::settings::{Flags, IsaFlags};
use regalloc2::RegClass;

/// What emission needs to know about the target: the shared flags and the ISA extensions.
#[derive(Clone, Debug)]
pub struct EmitInfo {
    /// Shared settings.
    pub flags: Flags,
    /// aarch64 ISA flags.
    pub isa_flags: IsaFlags,
    /// The same flags as typed booleans.
    pub settings: Aarch64Settings,
}

impl EmitInfo {
    /// Emission info for these flags.
    pub fn new(flags: Flags, isa_flags: IsaFlags) -> EmitInfo {
        EmitInfo { settings: Aarch64Settings::new(&isa_flags), flags, isa_flags }
    }
}

// ---------------------------------------------------------------------------------------
// Label uses.

/// A PC-relative reference to a label inside the function, by the field it patches.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum LabelUse {
    /// `tbz`/`tbnz`: 14-bit word offset (bits 18..5), ±32 KiB.
    Branch14,
    /// `b.cond`/`cbz`/`cbnz`: 19-bit word offset (bits 23..5), ±1 MiB.
    Branch19,
    /// `b`/`bl`: 26-bit word offset (bits 25..0), ±128 MiB.
    Branch26,
    /// `ldr` literal: 19-bit word offset (bits 23..5), ±1 MiB.
    Ldr19,
    /// `adr`: 21-bit byte offset (immhi bits 23..5, immlo bits 30..29), ±1 MiB.
    Adr21,
    /// `adrp`: 21-bit offset in 4 KiB pages, ±4 GiB (pages are absolute: valid only when
    /// the code starts at a 4 KiB-aligned address).
    Adrp21,
    /// A 32-bit data word holding `label - word address` (jump tables, long branches).
    PCRel32,
}

impl LabelUse {
    /// Every kind.
    pub const ALL: [LabelUse; 7] = [
        LabelUse::Branch14,
        LabelUse::Branch19,
        LabelUse::Branch26,
        LabelUse::Ldr19,
        LabelUse::Adr21,
        LabelUse::Adrp21,
        LabelUse::PCRel32,
    ];

    /// The largest forward distance (label − use, in bytes) the kind reaches.
    pub fn max_pos_range(self) -> i64 {
        match self {
            LabelUse::Branch14 => (1 << 15) - 4,
            LabelUse::Branch19 | LabelUse::Ldr19 => (1 << 20) - 4,
            LabelUse::Branch26 => (1 << 27) - 4,
            LabelUse::Adr21 => (1 << 20) - 1,
            LabelUse::Adrp21 => (1 << 32) - 1,
            LabelUse::PCRel32 => i32::MAX as i64,
        }
    }

    /// The largest backward distance (use − label, in bytes) the kind reaches.
    pub fn max_neg_range(self) -> i64 {
        match self {
            LabelUse::Branch14 => 1 << 15,
            LabelUse::Branch19 | LabelUse::Ldr19 => 1 << 20,
            LabelUse::Branch26 => 1 << 27,
            LabelUse::Adr21 => 1 << 20,
            LabelUse::Adrp21 => 1 << 32,
            LabelUse::PCRel32 => 1 << 31,
        }
    }

    /// Bytes patched (always one word).
    pub fn patch_size(self) -> u32 {
        4
    }

    /// The instruction word `word` (or data word) at byte offset `use_off` with its field
    /// set to reach `label_off`; `None` if out of range or misaligned.
    pub fn patch(self, word: u32, use_off: u32, label_off: u32) -> Option<u32> {
        let d = label_off as i64 - use_off as i64;
        if self == LabelUse::Adrp21 {
            let pages = (label_off as i64 >> 12) - (use_off as i64 >> 12);
            return fits_signed(pages, 21).then(|| set_adr_imm(word, pages));
        }
        if d > self.max_pos_range() || -d > self.max_neg_range() {
            return None;
        }
        match self {
            LabelUse::Branch14 | LabelUse::Branch19 | LabelUse::Ldr19 | LabelUse::Branch26 if d & 3 != 0 => None,
            LabelUse::Branch14 => Some((word & !(0x3fff << 5)) | ((((d >> 2) as u32) & 0x3fff) << 5)),
            LabelUse::Branch19 | LabelUse::Ldr19 => {
                Some((word & !(0x7ffff << 5)) | ((((d >> 2) as u32) & 0x7ffff) << 5))
            }
            LabelUse::Branch26 => Some((word & !0x3ff_ffff) | (((d >> 2) as u32) & 0x3ff_ffff)),
            LabelUse::Adr21 => Some(set_adr_imm(word, d)),
            LabelUse::PCRel32 => Some(d as i32 as u32),
            LabelUse::Adrp21 => unreachable!("handled above"),
        }
    }

    /// The kind of the veneer that extends this one's reach, and the veneer's size: a
    /// short-range branch is redirected to a `b` (Branch26), a `b` to the long sequence of
    /// [`long_branch_sequence`] (PCRel32). Data references have none.
    pub fn veneer(self) -> Option<(LabelUse, u32)> {
        match self {
            LabelUse::Branch14 | LabelUse::Branch19 => Some((LabelUse::Branch26, 4)),
            LabelUse::Branch26 => Some((LabelUse::PCRel32, LONG_BRANCH_SIZE)),
            _ => None,
        }
    }

    /// The veneer's words (with a zero offset field) and the byte offset, inside the
    /// veneer, of the field to patch with the veneer's own label-use kind.
    pub fn veneer_words(self) -> Option<(&'static [u32], u32)> {
        match self.veneer()? {
            (LabelUse::Branch26, _) => Some((&[0x1400_0000], 0)),
            _ => Some((&LONG_BRANCH_WORDS, LONG_BRANCH_SIZE - 4)),
        }
    }
}

fn fits_signed(v: i64, bits: u32) -> bool {
    let lim = 1i64 << (bits - 1);
    (-lim..lim).contains(&v)
}

fn set_adr_imm(word: u32, v: i64) -> u32 {
    let v = v as u32;
    (word & !((3 << 29) | (0x7ffff << 5))) | ((v & 3) << 29) | (((v >> 2) & 0x7ffff) << 5)
}

/// Size of [`long_branch_sequence`].
pub const LONG_BRANCH_SIZE: u32 = 20;

/// The long unconditional branch (±2 GiB, through x16/x17):
/// `ldrsw x16, 16f; adr x17, 16f; add x16, x17, x16; br x16; 16: .word target - 16b`.
const LONG_BRANCH_WORDS: [u32; 5] = [
    0x9800_0090, // ldrsw x16, #16
    0x1000_0071, // adr x17, #12 (the data word, from +4)
    0x8b10_0230, // add x16, x17, x16
    0xd61f_0200, // br x16
    0,
];

/// The long branch from `at` to `target` (byte offsets), as five words.
pub fn long_branch_sequence(at: u32, target: u32) -> Option<[u32; 5]> {
    let mut w = LONG_BRANCH_WORDS;
    w[4] = LabelUse::PCRel32.patch(0, at + 16, target)?;
    Some(w)
}

// ---------------------------------------------------------------------------------------
// Branches and label uses in the MachBuffer.

/// An aarch64 branch as the buffer records it, each with a ladder of forms.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum A64Branch {
    /// `b`: 4 bytes (±128 MiB), then the 20-byte long sequence (±2 GiB).
    B,
    /// `b.cond`/`cbz`/`cbnz`, the word with a zero offset field: 4 bytes (±1 MiB), then the
    /// inverted branch over a `b` (8 bytes, ±128 MiB), then over the long sequence (24).
    Cond19(u32),
    /// `tbz`/`tbnz`, as [`A64Branch::Cond19`] with a short form of ±32 KiB.
    Cond14(u32),
}

/// The forms of a fixed-size reference of `bits` bits counting `scale`-byte units, placed
/// `bias` bytes after the site (`islands`: keep deferred targets in its reach).
const fn form(size: u32, bias: i64, bits: u32, scale: i64, islands: bool) -> Form {
    let half = (1i64 << (bits - 1)) * scale;
    Form { size, min_disp: -half + bias, max_disp: half - scale + bias, islands }
}

const B_FORMS: [Form; 2] = [form(4, 0, 26, 4, false), form(LONG_BRANCH_SIZE, 16, 32, 1, false)];
const COND19_FORMS: [Form; 3] =
    [form(4, 0, 19, 4, true), form(8, 4, 26, 4, false), form(4 + LONG_BRANCH_SIZE, 20, 32, 1, false)];
const COND14_FORMS: [Form; 3] =
    [form(4, 0, 14, 4, true), form(8, 4, 26, 4, false), form(4 + LONG_BRANCH_SIZE, 20, 32, 1, false)];
const fn fixed(bits: u32, scale: i64) -> [Form; 1] {
    [form(0, 0, bits, scale, true)]
}
const USE_FORMS: [[Form; 1]; 7] = [
    fixed(14, 4),
    fixed(19, 4),
    fixed(26, 4),
    fixed(19, 4),
    fixed(21, 1),
    // adrp: ±4 GiB of pages (checked exactly when patched).
    fixed(33, 1),
    fixed(32, 1),
];

/// A conditional branch word inverted (the opposite condition, same offset field).
pub fn invert_cond_branch(word: u32) -> u32 {
    if word & 0xff00_0010 == 0x5400_0000 { word ^ 1 } else { word ^ (1 << 24) }
}

fn put_word(w: u32, out: &mut Vec<u8>) {
    out.extend_from_slice(&w.to_le_bytes());
}

impl MachEncoder for EmitInfo {
    type Branch = A64Branch;
    type LabelUse = LabelUse;

    fn branch_forms(&self, branch: &A64Branch) -> &[Form] {
        match branch {
            A64Branch::B => &B_FORMS,
            A64Branch::Cond19(_) => &COND19_FORMS,
            A64Branch::Cond14(_) => &COND14_FORMS,
        }
    }

    fn encode_branch(&self, branch: &A64Branch, form: usize, at: u32, disp: i64, out: &mut Vec<u8>) {
        // The buffer chose a form that reaches; the fields below cannot overflow.
        let target = (at as i64 + disp) as u32;
        let b = |from: u32| LabelUse::Branch26.patch(0x1400_0000, from, target).unwrap_or(0x1400_0000);
        let long = |from: u32, out: &mut Vec<u8>| {
            for w in long_branch_sequence(from, target).unwrap_or(LONG_BRANCH_WORDS) {
                put_word(w, out);
            }
        };
        let (word, kind) = match *branch {
            A64Branch::B => {
                if form == 0 {
                    put_word(b(at), out);
                } else {
                    long(at, out);
                }
                return;
            }
            A64Branch::Cond19(w) => (w, LabelUse::Branch19),
            A64Branch::Cond14(w) => (w, LabelUse::Branch14),
        };
        match form {
            0 => put_word(kind.patch(word, at, target).unwrap_or(word), out),
            1 => {
                // Skip the `b` when the condition fails.
                let inv = invert_cond_branch(word);
                put_word(kind.patch(inv, at, at + 8).unwrap_or(inv), out);
                put_word(b(at + 4), out);
            }
            _ => {
                let inv = invert_cond_branch(word);
                put_word(kind.patch(inv, at, at + 4 + LONG_BRANCH_SIZE).unwrap_or(inv), out);
                long(at + 4, out);
            }
        }
    }

    fn is_unconditional(&self, branch: &A64Branch) -> bool {
        *branch == A64Branch::B
    }

    fn jump(&self) -> A64Branch {
        A64Branch::B
    }

    fn label_use_forms(&self, label_use: &LabelUse) -> &[Form] {
        &USE_FORMS[LabelUse::ALL.iter().position(|k| k == label_use).unwrap_or(0)]
    }

    fn patch_label_use(&self, label_use: &LabelUse, at: u32, disp: i64, bytes: &mut [u8]) -> bool {
        let Ok(word) = <[u8; 4]>::try_from(&bytes[..]) else { return false };
        let Ok(target) = u32::try_from(at as i64 + disp) else { return false };
        match label_use.patch(u32::from_le_bytes(word), at, target) {
            Some(w) => {
                bytes.copy_from_slice(&w.to_le_bytes());
                true
            }
            None => false,
        }
    }

    fn label_use_patch_size(&self, label_use: &LabelUse) -> u32 {
        label_use.patch_size()
    }

    fn encode_label_use(&self, _label_use: &LabelUse, _form: usize, _at: u32, _disp: i64, _out: &mut Vec<u8>) {
        // Every aarch64 label use so far is a field of a word the emitter writes (fixed,
        // patched in place, forms of no size of their own).
    }

    fn trap_instruction(&self) -> &[u8] {
        &[0, 0, 0, 0] // udf #0
    }

    fn write_nops(&self, n: usize, out: &mut Vec<u8>) {
        for _ in 0..n / 4 {
            put_word(0xd503_201f, out);
        }
        out.extend(std::iter::repeat_n(0, n % 4));
    }

    fn code_alignment(&self) -> u32 {
        4
    }
}

/// The code buffer of an aarch64 function.
pub type Sink = MachBuffer<EmitInfo>;

/// The emission state of an aarch64 function (no target-specific part yet).
pub type EmitState = vcode::EmitState<()>;

// ---------------------------------------------------------------------------------------
// Register fields.

fn bad(msg: impl Into<String>) -> CodegenError {
    CodegenError::Other(format!("aarch64 encoding: {}", msg.into()))
}

fn check(ok: bool, what: impl FnOnce() -> String) -> CodegenResult<()> {
    if ok { Ok(()) } else { Err(bad(what())) }
}

/// A register that the field cannot hold (never on a correct path: cold).
#[cold]
#[inline(never)]
fn bad_reg(r: Reg, field: &str) -> CodegenError {
    bad(format!("{r:?} where {field} is required"))
}

// The register fields below test the physical register's index (class × 64 + hardware
// number, see `regs.rs`) against one range: x0–x30 and xzr are 0..=31, sp is 32, v0–v31
// are 64..=95. They run for every operand of every emitted instruction.

/// An integer register in a field where 31 means `xzr`.
#[inline]
fn rz(r: Reg) -> CodegenResult<u32> {
    match r.to_real() {
        Some(p) if p.index() < 32 => Ok(p.index() as u32),
        _ => Err(bad_reg(r, "xzr/x0-x30")),
    }
}

/// An integer register in a field where 31 means `sp`.
#[inline]
fn rs(r: Reg) -> CodegenResult<u32> {
    match r.to_real() {
        Some(p) if p.index() <= SP_PREG as usize && p.index() != ZR_ENC as usize => Ok(p.index().min(31) as u32),
        _ => Err(bad_reg(r, "sp/x0-x30")),
    }
}

/// An FP/SIMD register.
#[inline]
fn rv(r: Reg) -> CodegenResult<u32> {
    match r.to_real() {
        Some(p) if p.class() == RegClass::Float => Ok(p.hw_enc() as u32),
        _ => Err(bad_reg(r, "an FP/SIMD register")),
    }
}

#[inline]
fn wz(r: Writable<Reg>) -> CodegenResult<u32> {
    rz(r.to_reg())
}
#[inline]
fn ws(r: Writable<Reg>) -> CodegenResult<u32> {
    rs(r.to_reg())
}
#[inline]
fn wv(r: Writable<Reg>) -> CodegenResult<u32> {
    rv(r.to_reg())
}

// ---------------------------------------------------------------------------------------
// Pure encoders: integer.

/// Add/subtract opcode bits `op:S` (bits 30..29).
fn addsub_bits(op: ALUOp) -> u32 {
    match op {
        ALUOp::Add => 0b00,
        ALUOp::Adds => 0b01,
        ALUOp::Sub => 0b10,
        _ => 0b11,
    }
}

/// Logical opcode bits `opc` (30..29) and `N` (21).
fn logical_bits(op: ALUOp) -> (u32, u32) {
    match op {
        ALUOp::And => (0b00, 0),
        ALUOp::Bic => (0b00, 1),
        ALUOp::Orr => (0b01, 0),
        ALUOp::Orn => (0b01, 1),
        ALUOp::Eor => (0b10, 0),
        ALUOp::Eon => (0b10, 1),
        ALUOp::Ands => (0b11, 0),
        _ => (0b11, 1), // Bics
    }
}

/// `add/sub{s} rd, rn, rm, shift #amt` (and the register form with amt 0).
pub fn enc_addsub_shift(op: ALUOp, sf: u32, rd: u32, rn: u32, rm: u32, shift: ShiftOp, amt: u32) -> u32 {
    0x0b00_0000 | sf << 31 | addsub_bits(op) << 29 | (shift as u32) << 22 | rm << 16 | amt << 10 | rn << 5 | rd
}

/// Logical shifted register.
pub fn enc_logical_shift(op: ALUOp, sf: u32, rd: u32, rn: u32, rm: u32, shift: ShiftOp, amt: u32) -> u32 {
    let (opc, n) = logical_bits(op);
    0x0a00_0000 | sf << 31 | opc << 29 | (shift as u32) << 22 | n << 21 | rm << 16 | amt << 10 | rn << 5 | rd
}

/// Add/subtract extended register.
pub fn enc_addsub_ext(op: ALUOp, sf: u32, rd: u32, rn: u32, rm: u32, ext: ExtendOp, shift: u32) -> u32 {
    0x0b20_0000 | sf << 31 | addsub_bits(op) << 29 | rm << 16 | (ext as u32) << 13 | shift << 10 | rn << 5 | rd
}

/// Add/subtract immediate.
pub fn enc_addsub_imm(op: ALUOp, sf: u32, rd: u32, rn: u32, imm: Imm12) -> u32 {
    0x1100_0000 | sf << 31 | addsub_bits(op) << 29 | imm.enc_bits() << 10 | rn << 5 | rd
}

/// Logical immediate.
pub fn enc_logical_imm(op: ALUOp, sf: u32, rd: u32, rn: u32, imm: ImmLogic) -> u32 {
    let (opc, _) = logical_bits(op);
    0x1200_0000 | sf << 31 | opc << 29 | imm.enc_bits() << 10 | rn << 5 | rd
}

/// Move wide (`opc`: movn 00, movz 10, movk 11).
pub fn enc_move_wide(opc: u32, sf: u32, rd: u32, imm: MoveWideConst) -> u32 {
    0x1280_0000 | sf << 31 | opc << 29 | (imm.hw as u32) << 21 | (imm.bits as u32) << 5 | rd
}

/// Bitfield (`opc`: sbfm 00, bfm 01, ubfm 10).
pub fn enc_bitfield(opc: u32, sf: u32, rd: u32, rn: u32, immr: u32, imms: u32) -> u32 {
    0x1300_0000 | sf << 31 | opc << 29 | sf << 22 | immr << 16 | imms << 10 | rn << 5 | rd
}

/// `extr`.
pub fn enc_extr(sf: u32, rd: u32, rn: u32, rm: u32, lsb: u32) -> u32 {
    0x1380_0000 | sf << 31 | sf << 22 | rm << 16 | lsb << 10 | rn << 5 | rd
}

/// Data processing, two sources (`opcode`: udiv 2, sdiv 3, lslv 8, lsrv 9, asrv 10, rorv 11).
pub fn enc_dp2(opcode: u32, sf: u32, rd: u32, rn: u32, rm: u32) -> u32 {
    0x1ac0_0000 | sf << 31 | rm << 16 | opcode << 10 | rn << 5 | rd
}

/// Data processing, one source.
pub fn enc_dp1(opcode: u32, sf: u32, rd: u32, rn: u32) -> u32 {
    0x5ac0_0000 | sf << 31 | opcode << 10 | rn << 5 | rd
}

/// Data processing, three sources (`op31`, `o0`).
pub fn enc_dp3(op31: u32, o0: u32, sf: u32, rd: u32, rn: u32, rm: u32, ra: u32) -> u32 {
    0x1b00_0000 | sf << 31 | op31 << 21 | rm << 16 | o0 << 15 | ra << 10 | rn << 5 | rd
}

/// Add/subtract with carry (`op:S`).
pub fn enc_adc(op_s: u32, sf: u32, rd: u32, rn: u32, rm: u32) -> u32 {
    0x1a00_0000 | sf << 31 | op_s << 29 | rm << 16 | rn << 5 | rd
}

/// Conditional select.
pub fn enc_csel(op: CSelOp, sf: u32, rd: u32, rn: u32, rm: u32, cond: Cond) -> u32 {
    let (o, o2) = match op {
        CSelOp::Csel => (0, 0),
        CSelOp::Csinc => (0, 1),
        CSelOp::Csinv => (1, 0),
        CSelOp::Csneg => (1, 1),
    };
    0x1a80_0000 | sf << 31 | o << 30 | rm << 16 | cond.bits() << 12 | o2 << 10 | rn << 5 | rd
}

/// Conditional compare; `rm_or_imm` is a register or a 5-bit immediate (`imm`).
pub fn enc_ccmp(op: CCmpOp, sf: u32, rn: u32, rm_or_imm: u32, imm: bool, nzcv: NZCV, cond: Cond) -> u32 {
    let o = (op == CCmpOp::Ccmp) as u32;
    0x3a40_0000 | sf << 31 | o << 30 | rm_or_imm << 16 | cond.bits() << 12 | (imm as u32) << 11 | rn << 5 | nzcv.bits()
}

/// `adr` (`page == false`) or `adrp` with offset 0.
pub fn enc_adr(page: bool, rd: u32) -> u32 {
    (if page { 0x9000_0000 } else { 0x1000_0000 }) | rd
}

// ---------------------------------------------------------------------------------------
// Pure encoders: memory.

/// `size`, `V` and `opc` of a load.
fn load_bits(op: LoadOp) -> (u32, u32, u32) {
    use LoadOp::*;
    match op {
        Ldrb => (0, 0, 1),
        LdrsbX => (0, 0, 2),
        LdrsbW => (0, 0, 3),
        Ldrh => (1, 0, 1),
        LdrshX => (1, 0, 2),
        LdrshW => (1, 0, 3),
        LdrW => (2, 0, 1),
        Ldrsw => (2, 0, 2),
        LdrX => (3, 0, 1),
        LdrB => (0, 1, 1),
        LdrH => (1, 1, 1),
        LdrS => (2, 1, 1),
        LdrD => (3, 1, 1),
        LdrQ => (0, 1, 3),
    }
}

/// `size`, `V` and `opc` of a store.
fn store_bits(op: StoreOp) -> (u32, u32, u32) {
    use StoreOp::*;
    match op {
        Strb => (0, 0, 0),
        Strh => (1, 0, 0),
        StrW => (2, 0, 0),
        StrX => (3, 0, 0),
        StrB => (0, 1, 0),
        StrH => (1, 1, 0),
        StrS => (2, 1, 0),
        StrD => (3, 1, 0),
        StrQ => (0, 1, 2),
    }
}

/// `size:111:V:01:opc` … unsigned scaled offset (`uimm12` already divided by the size).
pub fn enc_ldst_uimm12(bits: (u32, u32, u32), rt: u32, rn: u32, uimm12: u32) -> u32 {
    let (size, v, opc) = bits;
    0x3900_0000 | size << 30 | v << 26 | opc << 22 | uimm12 << 10 | rn << 5 | rt
}

/// Unscaled (`ldur`, `idx` 00), post-indexed (01) or pre-indexed (11) 9-bit offset.
pub fn enc_ldst_simm9(bits: (u32, u32, u32), idx: u32, rt: u32, rn: u32, simm9: i16) -> u32 {
    let (size, v, opc) = bits;
    0x3800_0000 | size << 30 | v << 26 | opc << 22 | ((simm9 as u32) & 0x1ff) << 12 | idx << 10 | rn << 5 | rt
}

/// Register offset.
pub fn enc_ldst_reg(bits: (u32, u32, u32), rt: u32, rn: u32, rm: u32, ext: RegExtend, scaled: bool) -> u32 {
    let (size, v, opc) = bits;
    0x3820_0800
        | size << 30
        | v << 26
        | opc << 22
        | rm << 16
        | ext.option() << 13
        | (scaled as u32) << 12
        | rn << 5
        | rt
}

/// PC-relative literal load with offset 0 (`ldr w/x/s/d/q`, `ldrsw`).
pub fn enc_ldr_literal(op: LoadOp, rt: u32) -> Option<u32> {
    let (opc, v) = match op {
        LoadOp::LdrW => (0, 0),
        LoadOp::LdrX => (1, 0),
        LoadOp::Ldrsw => (2, 0),
        LoadOp::LdrS => (0, 1),
        LoadOp::LdrD => (1, 1),
        LoadOp::LdrQ => (2, 1),
        _ => return None,
    };
    Some(0x1800_0000 | opc << 30 | v << 26 | rt)
}

/// Load/store pair (`idx`: post 01, offset 10, pre 11; `imm7` already scaled).
pub fn enc_ldst_pair(op: PairOp, load: bool, idx: u32, rt: u32, rt2: u32, rn: u32, imm7: i32) -> u32 {
    let (opc, v) = match op {
        PairOp::W => (0, 0),
        PairOp::Sw => (1, 0),
        PairOp::X => (2, 0),
        PairOp::S => (0, 1),
        PairOp::D => (1, 1),
        PairOp::Q => (2, 1),
    };
    0x2800_0000
        | opc << 30
        | v << 26
        | idx << 23
        | (load as u32) << 22
        | ((imm7 as u32) & 0x7f) << 15
        | rt2 << 10
        | rn << 5
        | rt
}

// ---------------------------------------------------------------------------------------
// Pure encoders: branches and system.

/// `b.cond` with offset 0.
pub fn enc_bcond(cond: Cond) -> u32 {
    0x5400_0000 | cond.bits()
}

/// The branch word of a condition with a zero offset, and its label-use kind.
pub fn enc_cond_br(kind: CondBrKind) -> CodegenResult<(u32, LabelUse)> {
    Ok(match kind {
        CondBrKind::Zero(r, size) => (0x3400_0000 | size.sf() << 31 | rz(r)?, LabelUse::Branch19),
        CondBrKind::NotZero(r, size) => (0x3500_0000 | size.sf() << 31 | rz(r)?, LabelUse::Branch19),
        CondBrKind::TestBitZero(r, bit) | CondBrKind::TestBitNotZero(r, bit) => {
            check(bit < 64, || format!("tbz bit {bit}"))?;
            let nz = matches!(kind, CondBrKind::TestBitNotZero(..)) as u32;
            let b = bit as u32;
            (0x3600_0000 | nz << 24 | (b >> 5) << 31 | (b & 31) << 19 | rz(r)?, LabelUse::Branch14)
        }
        CondBrKind::Cond(c) => (enc_bcond(c), LabelUse::Branch19),
    })
}

/// The `CRm` of a `dmb`.
fn barrier_crm(o: BarrierOption) -> u32 {
    match o {
        BarrierOption::IshLd => 0b1001,
        BarrierOption::IshSt => 0b1010,
        BarrierOption::Ish => 0b1011,
        BarrierOption::Sy => 0b1111,
    }
}

/// The `CRm:op2` immediate of a hint.
pub fn hint_imm(op: HintOp) -> u32 {
    match op {
        HintOp::Nop => 0,
        HintOp::Xpaclri => 7,
        HintOp::Paciasp => 25,
        HintOp::Pacibsp => 27,
        HintOp::Autiasp => 29,
        HintOp::Autibsp => 31,
        HintOp::BtiC => 34,
        HintOp::BtiJ => 36,
        HintOp::BtiJC => 38,
        HintOp::Csdb => 20,
    }
}

/// `o0:op1:CRn:CRm:op2` of a system register (bits 19..5).
fn sysreg_bits(r: SysReg) -> u32 {
    let (op0, op1, crn, crm, op2) = match r {
        SysReg::Nzcv => (3, 3, 4, 2, 0),
        SysReg::Fpcr => (3, 3, 4, 4, 0),
        SysReg::Fpsr => (3, 3, 4, 4, 1),
        SysReg::TpidrEl0 => (3, 3, 13, 0, 2),
    };
    (op0 - 2) << 14 | op1 << 11 | crn << 7 | crm << 3 | op2
}

// ---------------------------------------------------------------------------------------
// Pure encoders: floating point.

/// Scalar FP data processing, one source (`opcode` bits 20..15).
pub fn enc_fp1(ftype: u32, opcode: u32, rd: u32, rn: u32) -> u32 {
    0x1e20_4000 | ftype << 22 | opcode << 15 | rn << 5 | rd
}

/// The `opcode` of a one-source FP operation.
fn fpu_op1_bits(op: FpuOp1) -> u32 {
    match op {
        FpuOp1::Abs => 0b000001,
        FpuOp1::Neg => 0b000010,
        FpuOp1::Sqrt => 0b000011,
        FpuOp1::RintN => 0b001000,
        FpuOp1::RintP => 0b001001,
        FpuOp1::RintM => 0b001010,
        FpuOp1::RintZ => 0b001011,
        FpuOp1::RintA => 0b001100,
        FpuOp1::RintX => 0b001110,
        FpuOp1::RintI => 0b001111,
    }
}

/// Scalar FP data processing, two sources.
pub fn enc_fp2(op: FpuOp2, ftype: u32, rd: u32, rn: u32, rm: u32) -> u32 {
    let opcode = match op {
        FpuOp2::Mul => 0,
        FpuOp2::Div => 1,
        FpuOp2::Add => 2,
        FpuOp2::Sub => 3,
        FpuOp2::Max => 4,
        FpuOp2::Min => 5,
        FpuOp2::MaxNm => 6,
        FpuOp2::MinNm => 7,
        FpuOp2::NMul => 8,
    };
    0x1e20_0800 | ftype << 22 | rm << 16 | opcode << 12 | rn << 5 | rd
}

/// Scalar FP data processing, three sources.
pub fn enc_fp3(op: FpuOp3, ftype: u32, rd: u32, rn: u32, rm: u32, ra: u32) -> u32 {
    let (o1, o0) = match op {
        FpuOp3::MAdd => (0, 0),
        FpuOp3::MSub => (0, 1),
        FpuOp3::NMAdd => (1, 0),
        FpuOp3::NMSub => (1, 1),
    };
    0x1f00_0000 | ftype << 22 | o1 << 21 | rm << 16 | o0 << 15 | ra << 10 | rn << 5 | rd
}

/// FP/integer conversion class (`rmode`, `opcode`).
pub fn enc_fp_int(sf: u32, ftype: u32, rmode: u32, opcode: u32, rd: u32, rn: u32) -> u32 {
    0x1e20_0000 | sf << 31 | ftype << 22 | rmode << 19 | opcode << 16 | rn << 5 | rd
}

// ---------------------------------------------------------------------------------------
// Pure encoders: atomics.

/// Load/store exclusive and ordered class: `size:001000:o2:L:o1:Rs:o0:Rt2:Rn:Rt`.
#[allow(clippy::too_many_arguments)]
pub fn enc_ldst_excl(size: u32, o2: u32, l: u32, o1: u32, rs: u32, o0: u32, rt2: u32, rn: u32, rt: u32) -> u32 {
    0x0800_0000 | size << 30 | o2 << 23 | l << 22 | o1 << 21 | rs << 16 | o0 << 15 | rt2 << 10 | rn << 5 | rt
}

/// LSE atomic memory operation.
pub fn enc_atomic_rmw(op: AtomicRmwOp, order: Ordering, size: u32, rs: u32, rt: u32, rn: u32) -> u32 {
    let (o3, opc) = match op {
        AtomicRmwOp::Add => (0, 0),
        AtomicRmwOp::Clr => (0, 1),
        AtomicRmwOp::Eor => (0, 2),
        AtomicRmwOp::Set => (0, 3),
        AtomicRmwOp::SMax => (0, 4),
        AtomicRmwOp::SMin => (0, 5),
        AtomicRmwOp::UMax => (0, 6),
        AtomicRmwOp::UMin => (0, 7),
        AtomicRmwOp::Swp => (1, 0),
    };
    0x3820_0000
        | size << 30
        | (order.acquire as u32) << 23
        | (order.release as u32) << 22
        | rs << 16
        | o3 << 15
        | opc << 12
        | rn << 5
        | rt
}

// ---------------------------------------------------------------------------------------
// Pure encoders: Advanced SIMD.

/// Three same: `0:Q:U:01110:size:1:Rm:opcode:1:Rn:Rd`.
pub fn enc_vec_rrr(q: u32, u: u32, size: u32, opcode: u32, rd: u32, rn: u32, rm: u32) -> u32 {
    0x0e20_0400 | q << 30 | u << 29 | size << 22 | rm << 16 | opcode << 11 | rn << 5 | rd
}

/// `U`, `size` (or `a:sz` for FP; the bitwise ops' fixed size), `opcode` of a three-same
/// or permute operation; the lane size field is `lane` (0..=3).
fn vec_alu_bits(op: VecALUOp, lane: u32) -> (u32, u32, u32) {
    use VecALUOp::*;
    let sz = lane & 1; // FP: 0 for s, 1 for d
    match op {
        Add => (0, lane, 0b10000),
        Sub => (1, lane, 0b10000),
        Mul => (0, lane, 0b10011),
        Sqadd => (0, lane, 0b00001),
        Uqadd => (1, lane, 0b00001),
        Sqsub => (0, lane, 0b00101),
        Uqsub => (1, lane, 0b00101),
        Smax => (0, lane, 0b01100),
        Umax => (1, lane, 0b01100),
        Smin => (0, lane, 0b01101),
        Umin => (1, lane, 0b01101),
        Srhadd => (0, lane, 0b00010),
        Urhadd => (1, lane, 0b00010),
        Cmeq => (1, lane, 0b10001),
        Cmtst => (0, lane, 0b10001),
        Cmge => (0, lane, 0b00111),
        Cmgt => (0, lane, 0b00110),
        Cmhi => (1, lane, 0b00110),
        Cmhs => (1, lane, 0b00111),
        Sshl => (0, lane, 0b01000),
        Ushl => (1, lane, 0b01000),
        Sqrdmulh => (1, lane, 0b10110),
        Sqdmulh => (0, lane, 0b10110),
        Addp => (0, lane, 0b10111),
        Smaxp => (0, lane, 0b10100),
        Umaxp => (1, lane, 0b10100),
        Sminp => (0, lane, 0b10101),
        Uminp => (1, lane, 0b10101),
        And => (0, 0b00, 0b00011),
        Bic => (0, 0b01, 0b00011),
        Orr => (0, 0b10, 0b00011),
        Orn => (0, 0b11, 0b00011),
        Eor => (1, 0b00, 0b00011),
        Fadd => (0, sz, 0b11010),
        Fsub => (0, 0b10 | sz, 0b11010),
        Fmul => (1, sz, 0b11011),
        Fdiv => (1, sz, 0b11111),
        Fmax => (0, sz, 0b11110),
        Fmin => (0, 0b10 | sz, 0b11110),
        Fmaxnm => (0, sz, 0b11000),
        Fminnm => (0, 0b10 | sz, 0b11000),
        Fcmeq => (0, sz, 0b11100),
        Fcmge => (1, sz, 0b11100),
        Fcmgt => (1, 0b10 | sz, 0b11100),
        Faddp => (1, sz, 0b11010),
        // Permutes: the opcode field of their own class.
        Uzp1 => (0, lane, 0b001),
        Trn1 => (0, lane, 0b010),
        Zip1 => (0, lane, 0b011),
        Uzp2 => (0, lane, 0b101),
        Trn2 => (0, lane, 0b110),
        Zip2 => (0, lane, 0b111),
    }
}

fn is_permute(op: VecALUOp) -> bool {
    use VecALUOp::*;
    matches!(op, Zip1 | Zip2 | Uzp1 | Uzp2 | Trn1 | Trn2)
}

/// `U`, size, opcode of the "modify" three-same ops.
fn vec_alu_mod_bits(op: VecALUModOp, lane: u32) -> (u32, u32, u32) {
    let sz = lane & 1;
    match op {
        VecALUModOp::Bsl => (1, 0b01, 0b00011),
        VecALUModOp::Bit => (1, 0b10, 0b00011),
        VecALUModOp::Bif => (1, 0b11, 0b00011),
        VecALUModOp::Mla => (0, lane, 0b10010),
        VecALUModOp::Mls => (1, lane, 0b10010),
        VecALUModOp::Fmla => (0, sz, 0b11001),
        VecALUModOp::Fmls => (0, 0b10 | sz, 0b11001),
    }
}

/// Three different: `0:Q:U:01110:size:1:Rm:opcode:00:Rn:Rd`.
pub fn enc_vec_rrr_long(q: u32, u: u32, size: u32, opcode: u32, rd: u32, rn: u32, rm: u32) -> u32 {
    0x0e20_0000 | q << 30 | u << 29 | size << 22 | rm << 16 | opcode << 12 | rn << 5 | rd
}

fn vec_long_bits(op: VecRRRLongOp) -> (u32, u32) {
    use VecRRRLongOp::*;
    match op {
        Saddl => (0, 0b0000),
        Uaddl => (1, 0b0000),
        Saddw => (0, 0b0001),
        Uaddw => (1, 0b0001),
        Ssubl => (0, 0b0010),
        Usubl => (1, 0b0010),
        Ssubw => (0, 0b0011),
        Usubw => (1, 0b0011),
        Smull => (0, 0b1100),
        Umull => (1, 0b1100),
        Pmull => (0, 0b1110),
    }
}

fn vec_long_mod_bits(op: VecRRRLongModOp) -> (u32, u32) {
    match op {
        VecRRRLongModOp::Smlal => (0, 0b1000),
        VecRRRLongModOp::Umlal => (1, 0b1000),
        VecRRRLongModOp::Smlsl => (0, 0b1010),
        VecRRRLongModOp::Umlsl => (1, 0b1010),
    }
}

/// Two-register miscellaneous: `0:Q:U:01110:size:10000:opcode:10:Rn:Rd`.
pub fn enc_vec_misc(q: u32, u: u32, size: u32, opcode: u32, rd: u32, rn: u32) -> u32 {
    0x0e20_0800 | q << 30 | u << 29 | size << 22 | opcode << 12 | rn << 5 | rd
}

/// `U`, size field and opcode of a two-register-misc op on lanes `lane` (0..=3).
fn vec_misc_bits(op: VecMisc2, lane: u32) -> (u32, u32, u32) {
    use VecMisc2::*;
    let sz = lane & 1; // FP: s = 0, d = 1 (fcvtl: h→s = 0, s→d = 1)
    match op {
        Rev64 => (0, lane, 0b00000),
        Rev16 => (0, lane, 0b00001),
        Rev32 => (1, lane, 0b00000),
        Saddlp => (0, lane, 0b00010),
        Uaddlp => (1, lane, 0b00010),
        Cls => (0, lane, 0b00100),
        Clz => (1, lane, 0b00100),
        Cnt => (0, 0, 0b00101),
        Not => (1, 0, 0b00101),
        Rbit => (1, 1, 0b00101),
        Cmgt0 => (0, lane, 0b01000),
        Cmeq0 => (0, lane, 0b01001),
        Cmlt0 => (0, lane, 0b01010),
        Cmge0 => (1, lane, 0b01000),
        Cmle0 => (1, lane, 0b01001),
        Abs => (0, lane, 0b01011),
        Neg => (1, lane, 0b01011),
        Fcvtl => (0, sz, 0b10111),
        Shll => (1, lane, 0b10011),
        Frintn => (0, sz, 0b11000),
        Frintm => (0, sz, 0b11001),
        Frintp => (0, 0b10 | sz, 0b11000),
        Frintz => (0, 0b10 | sz, 0b11001),
        Frinta => (1, sz, 0b11000),
        Frintx => (1, sz, 0b11001),
        Frinti => (1, 0b10 | sz, 0b11001),
        Fcvtzs => (0, 0b10 | sz, 0b11011),
        Fcvtzu => (1, 0b10 | sz, 0b11011),
        Scvtf => (0, sz, 0b11101),
        Ucvtf => (1, sz, 0b11101),
        Fabs => (0, 0b10 | sz, 0b01111),
        Fneg => (1, 0b10 | sz, 0b01111),
        Fsqrt => (1, 0b10 | sz, 0b11111),
        Fcmgt0 => (0, 0b10 | sz, 0b01100),
        Fcmeq0 => (0, 0b10 | sz, 0b01101),
        Fcmlt0 => (0, 0b10 | sz, 0b01110),
        Fcmge0 => (1, 0b10 | sz, 0b01100),
        Fcmle0 => (1, 0b10 | sz, 0b01101),
        Frecpe => (0, 0b10 | sz, 0b11101),
        Frsqrte => (1, 0b10 | sz, 0b11101),
    }
}

/// `U`, opcode of a narrowing op (size = the narrow lane size; fcvtn: sz).
fn vec_narrow_bits(op: VecNarrowOp) -> (u32, u32) {
    match op {
        VecNarrowOp::Xtn => (0, 0b10010),
        VecNarrowOp::Sqxtun => (1, 0b10010),
        VecNarrowOp::Sqxtn => (0, 0b10100),
        VecNarrowOp::Uqxtn => (1, 0b10100),
        VecNarrowOp::Fcvtn => (0, 0b10110),
    }
}

/// Shift by immediate: `0:Q:U:011110:immh:immb:opcode:1:Rn:Rd`.
pub fn enc_vec_shift_imm(q: u32, u: u32, immh_immb: u32, opcode: u32, rd: u32, rn: u32) -> u32 {
    0x0f00_0400 | q << 30 | u << 29 | immh_immb << 16 | opcode << 11 | rn << 5 | rd
}

/// Across lanes: `0:Q:U:01110:size:11000:opcode:10:Rn:Rd`.
pub fn enc_vec_lanes(q: u32, u: u32, size: u32, opcode: u32, rd: u32, rn: u32) -> u32 {
    0x0e30_0800 | q << 30 | u << 29 | size << 22 | opcode << 12 | rn << 5 | rd
}

/// Copy class: `0:Q:op:01110000:imm5:0:imm4:1:Rn:Rd`.
pub fn enc_vec_copy(q: u32, op: u32, imm5: u32, imm4: u32, rd: u32, rn: u32) -> u32 {
    0x0e00_0400 | q << 30 | op << 29 | imm5 << 16 | imm4 << 11 | rn << 5 | rd
}

/// `imm5` for a lane of `size` at index `lane`.
fn lane_imm5(size: ScalarSize, lane: u8) -> CodegenResult<u32> {
    let l = size.log2_bytes();
    check(l <= 3 && (lane as u32) < (16 >> l), || format!("lane {lane} of {size:?}"))?;
    Ok(((lane as u32) << (l + 1)) | (1 << l))
}

/// Modified immediate: `0:Q:op:0111100000:abc:cmode:o2:1:defgh:Rd`.
pub fn enc_vec_mod_imm(q: u32, imm: AsimdModImm, rd: u32) -> u32 {
    let (op, cmode) = imm.op_cmode();
    let i = imm.imm8 as u32;
    0x0f00_0400 | q << 30 | op << 29 | (i >> 5) << 16 | cmode << 12 | (i & 31) << 5 | rd
}

/// `ld1`/`st1` single structure, no offset: `0:Q:0011010:L:0:00000:opcode:S:size:Rn:Rt`.
pub fn enc_ldst_lane(load: bool, size: ScalarSize, lane: u8, rt: u32, rn: u32) -> CodegenResult<u32> {
    let l = lane as u32;
    let (opcode, qss) = match size {
        ScalarSize::Size8 if l < 16 => (0b000, l),
        ScalarSize::Size16 if l < 8 => (0b010, l << 1),
        ScalarSize::Size32 if l < 4 => (0b100, l << 2),
        ScalarSize::Size64 if l < 2 => (0b100, (l << 3) | 1),
        _ => return Err(bad(format!("ld1/st1 lane {lane} of {size:?}"))),
    };
    let (q, s, sz) = (qss >> 3, (qss >> 2) & 1, qss & 3);
    Ok(0x0d00_0000 | q << 30 | (load as u32) << 22 | opcode << 13 | s << 12 | sz << 10 | rn << 5 | rt)
}

// ---------------------------------------------------------------------------------------
// Emission.

fn put(sink: &mut Sink, w: u32) {
    sink.put4(w);
}

fn trap_here(sink: &mut Sink, trap: Option<kiln_ir::trapcode::TrapCode>) {
    if let Some(code) = trap {
        sink.add_trap(code);
    }
}

fn simm9_ok(off: i16) -> bool {
    (-256..256).contains(&off)
}

/// Emit a single-register load or store (`bits` from [`load_bits`]/[`store_bits`]) at
/// `mem`; stack locations are resolved here, with x16 for offsets beyond the immediate
/// forms.
#[allow(clippy::too_many_arguments)]
fn emit_ldst(
    sink: &mut Sink,
    info: &EmitInfo,
    state: &EmitState,
    bits: (u32, u32, u32),
    access: ScalarSize,
    rt: u32,
    mem: &AMode,
    literal: Option<LoadOp>,
    trap: Option<kiln_ir::trapcode::TrapCode>,
) -> CodegenResult<()> {
    let size = access.bytes();
    match *mem {
        AMode::UnsignedOffset { rn, off } => {
            check(off % size == 0 && off / size < 4096, || format!("offset {off} for a {size}-byte access"))?;
            let w = enc_ldst_uimm12(bits, rt, rs(rn)?, off / size);
            trap_here(sink, trap);
            put(sink, w);
        }
        AMode::Unscaled { rn, off } | AMode::PreIndexed { rn, off } | AMode::PostIndexed { rn, off } => {
            check(simm9_ok(off), || format!("9-bit offset {off}"))?;
            let idx = match mem {
                AMode::Unscaled { .. } => 0b00,
                AMode::PostIndexed { .. } => 0b01,
                _ => 0b11,
            };
            let w = enc_ldst_simm9(bits, idx, rt, rs(rn)?, off);
            trap_here(sink, trap);
            put(sink, w);
        }
        AMode::RegOffset { rn, rm, extend, scaled } => {
            let w = enc_ldst_reg(bits, rt, rs(rn)?, rz(rm)?, extend, scaled);
            trap_here(sink, trap);
            put(sink, w);
        }
        AMode::Label { label } => {
            let op = literal.ok_or_else(|| bad("a literal address for a store or a narrow load"))?;
            let w = enc_ldr_literal(op, rt).ok_or_else(|| bad(format!("{op:?} from a literal")))?;
            trap_here(sink, trap);
            sink.use_label_at_offset(label, LabelUse::Ldr19);
            put(sink, w);
        }
        AMode::BaseOffset { rn, off } => {
            let resolved = match AMode::reg_offset(rn, off, access) {
                Some(m) => m,
                None => {
                    check(rn != tmp1_reg(), || "a large offset from x16".into())?;
                    for i in Inst::load_constant(writable_tmp1(), off as u64, OperandSize::Size64) {
                        i.emit(sink, info, &mut EmitState::default())?;
                    }
                    AMode::RegOffset { rn, rm: tmp1_reg(), extend: RegExtend::Lsl, scaled: false }
                }
            };
            return emit_ldst(sink, info, state, bits, access, rt, &resolved, literal, trap);
        }
        AMode::Stack(mode) => {
            let off = state.stack_offset(mode);
            let sp = stack_reg();
            let resolved = match AMode::reg_offset(sp, off, access) {
                Some(m) => m,
                None => {
                    let tmp = writable_tmp1();
                    for i in Inst::load_constant(tmp, off as u64, OperandSize::Size64) {
                        i.emit(sink, info, &mut EmitState::default())?;
                    }
                    AMode::RegOffset { rn: sp, rm: tmp1_reg(), extend: RegExtend::Lsl, scaled: false }
                }
            };
            return emit_ldst(sink, info, state, bits, access, rt, &resolved, literal, trap);
        }
    }
    Ok(())
}

fn pair_imm7(op: PairOp, off: i16) -> CodegenResult<i32> {
    let size = op.access().bytes() as i32;
    let off = off as i32;
    check(off % size == 0 && (-64..64).contains(&(off / size)), || format!("pair offset {off} for {op:?}"))?;
    Ok(off / size)
}

/// The register field of a pair/single access of an integer or FP register.
fn reg_field(r: Reg, fp: bool) -> CodegenResult<u32> {
    if fp { rv(r) } else { rz(r) }
}

/// The `size` field of an exclusive/atomic access.
fn atomic_size(size: ScalarSize) -> CodegenResult<u32> {
    check(size.bits() <= 64, || format!("atomic access of {size:?}"))?;
    Ok(size.log2_bytes())
}

fn vec_lane_field(size: VectorSize) -> u32 {
    size.size_bits()
}

impl Inst {
    /// Append this instruction's encoding to `sink` (physical registers only). Branches
    /// to labels are recorded with the buffer for relaxation; literal and `adr` label
    /// references as fixups; faulting accesses as trap sites.
    pub fn emit(&self, sink: &mut Sink, info: &EmitInfo, state: &mut EmitState) -> CodegenResult<()> {
        match self {
            Inst::AluRRR { op, size, rd, rn, rm } => {
                let sf = size.sf();
                let (d, n, m) = (wz(*rd)?, rz(*rn)?, rz(*rm)?);
                let w = match op {
                    _ if op.is_addsub() => enc_addsub_shift(*op, sf, d, n, m, ShiftOp::Lsl, 0),
                    _ if op.is_logical() => enc_logical_shift(*op, sf, d, n, m, ShiftOp::Lsl, 0),
                    ALUOp::Adc => enc_adc(0b00, sf, d, n, m),
                    ALUOp::Adcs => enc_adc(0b01, sf, d, n, m),
                    ALUOp::Sbc => enc_adc(0b10, sf, d, n, m),
                    ALUOp::Sbcs => enc_adc(0b11, sf, d, n, m),
                    ALUOp::UDiv => enc_dp2(0b000010, sf, d, n, m),
                    ALUOp::SDiv => enc_dp2(0b000011, sf, d, n, m),
                    ALUOp::Lsl => enc_dp2(0b001000, sf, d, n, m),
                    ALUOp::Lsr => enc_dp2(0b001001, sf, d, n, m),
                    ALUOp::Asr => enc_dp2(0b001010, sf, d, n, m),
                    ALUOp::Ror => enc_dp2(0b001011, sf, d, n, m),
                    ALUOp::SMulH | ALUOp::UMulH => {
                        check(size.is64(), || "smulh/umulh are 64-bit only".into())?;
                        let op31 = if *op == ALUOp::SMulH { 0b010 } else { 0b110 };
                        enc_dp3(op31, 0, 1, d, n, m, 31)
                    }
                    _ => unreachable!("add/sub and logical handled above"),
                };
                put(sink, w);
            }
            Inst::AluRRRShift { op, size, rd, rn, rm, shift, amt } => {
                check((*amt as u32) < size.bits(), || format!("shift amount {amt}"))?;
                let (d, n, m) = (wz(*rd)?, rz(*rn)?, rz(*rm)?);
                let w = if op.is_addsub() {
                    check(*shift != ShiftOp::Ror, || "ror on add/sub".into())?;
                    enc_addsub_shift(*op, size.sf(), d, n, m, *shift, *amt as u32)
                } else {
                    check(op.is_logical(), || format!("{op:?} with a shifted register"))?;
                    enc_logical_shift(*op, size.sf(), d, n, m, *shift, *amt as u32)
                };
                put(sink, w);
            }
            Inst::AluRRRExtend { op, size, rd, rn, rm, extend, shift } => {
                check(op.is_addsub() && *shift <= 4, || format!("{op:?} extended, shift {shift}"))?;
                let d = if op.sets_flags() { wz(*rd)? } else { ws(*rd)? };
                put(sink, enc_addsub_ext(*op, size.sf(), d, rs(*rn)?, rz(*rm)?, *extend, *shift as u32));
            }
            Inst::AluRRImm12 { op, size, rd, rn, imm12 } => {
                check(op.is_addsub(), || format!("{op:?} with imm12"))?;
                let d = if op.sets_flags() { wz(*rd)? } else { ws(*rd)? };
                put(sink, enc_addsub_imm(*op, size.sf(), d, rs(*rn)?, *imm12));
            }
            Inst::AluRRImmLogic { op, size, rd, rn, imml } => {
                check(
                    matches!(op, ALUOp::And | ALUOp::Orr | ALUOp::Eor | ALUOp::Ands) && imml.is32 != size.is64(),
                    || format!("{op:?} with a bitmask immediate of the other width"),
                )?;
                let d = if op.sets_flags() { wz(*rd)? } else { ws(*rd)? };
                put(sink, enc_logical_imm(*op, size.sf(), d, rz(*rn)?, *imml));
            }
            Inst::AluRRRR { op, size, rd, rn, rm, ra } => {
                let (op31, o0) = match op {
                    ALUOp3::MAdd => (0b000, 0),
                    ALUOp3::MSub => (0b000, 1),
                    ALUOp3::SMAddL => (0b001, 0),
                    ALUOp3::SMSubL => (0b001, 1),
                    ALUOp3::UMAddL => (0b101, 0),
                    ALUOp3::UMSubL => (0b101, 1),
                };
                check(op31 == 0 || size.is64(), || "widening multiply is 64-bit".into())?;
                put(sink, enc_dp3(op31, o0, size.sf(), wz(*rd)?, rz(*rn)?, rz(*rm)?, rz(*ra)?));
            }
            Inst::BitRR { op, size, rd, rn } => {
                let opcode = match (op, size.is64()) {
                    (BitOp::Rbit, _) => 0b000000,
                    (BitOp::Rev16, _) => 0b000001,
                    (BitOp::Rev32, true) => 0b000010,
                    (BitOp::Rev32, false) => return Err(bad("rev32 is 64-bit only")),
                    (BitOp::Rev, false) => 0b000010,
                    (BitOp::Rev, true) => 0b000011,
                    (BitOp::Clz, _) => 0b000100,
                    (BitOp::Cls, _) => 0b000101,
                };
                put(sink, enc_dp1(opcode, size.sf(), wz(*rd)?, rz(*rn)?));
            }
            Inst::MovWide { op, size, rd, imm } => {
                check(imm.hw < 4 && (size.is64() || imm.hw < 2), || format!("movz/movn hw {}", imm.hw))?;
                let opc = if *op == MoveWideOp::MovN { 0b00 } else { 0b10 };
                put(sink, enc_move_wide(opc, size.sf(), wz(*rd)?, *imm));
            }
            Inst::MovK { size, rd, ri, imm } => {
                check(imm.hw < 4 && (size.is64() || imm.hw < 2), || format!("movk hw {}", imm.hw))?;
                check(rd.to_reg() == *ri, || "movk destination differs from its input".into())?;
                put(sink, enc_move_wide(0b11, size.sf(), wz(*rd)?, *imm));
            }
            Inst::Mov { size, rd, rm } => {
                let w = if is_sp(rd.to_reg()) || is_sp(*rm) {
                    enc_addsub_imm(ALUOp::Add, size.sf(), ws(*rd)?, rs(*rm)?, Imm12::ZERO)
                } else {
                    enc_logical_shift(ALUOp::Orr, size.sf(), wz(*rd)?, 31, rz(*rm)?, ShiftOp::Lsl, 0)
                };
                put(sink, w);
            }
            Inst::Bitfield { op, size, rd, rn, immr, imms } => {
                check((*immr as u32) < size.bits() && (*imms as u32) < size.bits(), || "bitfield range".into())?;
                let opc = if *op == BitfieldOp::Sbfm { 0b00 } else { 0b10 };
                put(sink, enc_bitfield(opc, size.sf(), wz(*rd)?, rz(*rn)?, *immr as u32, *imms as u32));
            }
            Inst::BitfieldInsert { size, rd, ri, rn, immr, imms } => {
                check((*immr as u32) < size.bits() && (*imms as u32) < size.bits(), || "bitfield range".into())?;
                check(rd.to_reg() == *ri, || "bfm destination differs from its input".into())?;
                put(sink, enc_bitfield(0b01, size.sf(), wz(*rd)?, rz(*rn)?, *immr as u32, *imms as u32));
            }
            Inst::Extr { size, rd, rn, rm, lsb } => {
                check((*lsb as u32) < size.bits(), || format!("extr lsb {lsb}"))?;
                put(sink, enc_extr(size.sf(), wz(*rd)?, rz(*rn)?, rz(*rm)?, *lsb as u32));
            }
            Inst::CSel { op, size, rd, rn, rm, cond } => {
                put(sink, enc_csel(*op, size.sf(), wz(*rd)?, rz(*rn)?, rz(*rm)?, *cond));
            }
            Inst::CCmp { op, size, rn, rm, nzcv, cond } => {
                put(sink, enc_ccmp(*op, size.sf(), rz(*rn)?, rz(*rm)?, false, *nzcv, *cond));
            }
            Inst::CCmpImm { op, size, rn, imm, nzcv, cond } => {
                check(*imm < 32, || format!("ccmp immediate {imm}"))?;
                put(sink, enc_ccmp(*op, size.sf(), rz(*rn)?, *imm as u32, true, *nzcv, *cond));
            }
            Inst::Adr { rd, label } => {
                sink.use_label_at_offset(*label, LabelUse::Adr21);
                put(sink, enc_adr(false, wz(*rd)?));
            }
            Inst::Adrp { rd, label } => {
                sink.use_label_at_offset(*label, LabelUse::Adrp21);
                put(sink, enc_adr(true, wz(*rd)?));
            }
            Inst::LoadExtName { rd, name, offset } => {
                let d = wz(*rd)?;
                sink.add_reloc(Reloc::Aarch64AdrPrelPgHi21, (**name).clone(), *offset);
                put(sink, enc_adr(true, d));
                sink.add_reloc(Reloc::Aarch64AddAbsLo12Nc, (**name).clone(), *offset);
                put(sink, enc_addsub_imm(ALUOp::Add, 1, d, d, Imm12::ZERO));
            }

            Inst::Load { op, rd, mem, trap } => {
                if let AMode::PreIndexed { rn, .. } | AMode::PostIndexed { rn, .. } = mem {
                    check(writeback_ok(*rn, &[rd.to_reg()]), || "load with writeback to its base".into())?;
                }
                let rt = reg_field(rd.to_reg(), op.is_fp())?;
                emit_ldst(sink, info, state, load_bits(*op), op.access(), rt, mem, Some(*op), *trap)?;
            }
            Inst::Store { op, rt, mem, trap } => {
                check(!matches!(mem, AMode::Label { .. }), || "store to a literal".into())?;
                if let AMode::PreIndexed { rn, .. } | AMode::PostIndexed { rn, .. } = mem {
                    check(writeback_ok(*rn, &[*rt]), || "store with writeback of its base".into())?;
                }
                let t = reg_field(*rt, op.is_fp())?;
                emit_ldst(sink, info, state, store_bits(*op), op.access(), t, mem, None, *trap)?;
            }
            Inst::LoadPair { op, rt, rt2, mem, trap } => {
                check(rt != rt2, || "ldp to the same register twice".into())?;
                if !matches!(mem, PairAMode::SignedOffset { .. }) {
                    check(writeback_ok(mem.rn(), &[rt.to_reg(), rt2.to_reg()]), || {
                        "ldp writeback to a loaded register".into()
                    })?;
                }
                let (t, t2) = (reg_field(rt.to_reg(), op.is_fp())?, reg_field(rt2.to_reg(), op.is_fp())?);
                emit_pair(sink, *op, true, t, t2, mem, *trap)?;
            }
            Inst::StorePair { op, rt, rt2, mem, trap } => {
                check(*op != PairOp::Sw, || "stp of ldpsw registers".into())?;
                if !matches!(mem, PairAMode::SignedOffset { .. }) {
                    check(writeback_ok(mem.rn(), &[*rt, *rt2]), || "stp writeback of a stored register".into())?;
                }
                let (t, t2) = (reg_field(*rt, op.is_fp())?, reg_field(*rt2, op.is_fp())?);
                emit_pair(sink, *op, false, t, t2, mem, *trap)?;
            }

            Inst::Jump { dest } => {
                if !state.falls_through_to(*dest) {
                    sink.add_branch(*dest, A64Branch::B);
                }
            }
            Inst::CondBr { kind, taken, not_taken } => {
                if state.falls_through_to(*taken) {
                    cond_branch(sink, kind.invert(), *not_taken)?;
                } else {
                    cond_branch(sink, *kind, *taken)?;
                    if !state.falls_through_to(*not_taken) {
                        sink.add_branch(*not_taken, A64Branch::B);
                    }
                }
            }
            Inst::TrapIf { kind, code } => {
                let stub = sink.defer_trap(*code, state.cur_srcloc);
                cond_branch(sink, *kind, stub)?;
            }
            Inst::Br { rn } => put(sink, 0xd61f_0000 | rz(*rn)? << 5),
            Inst::Blr { rn } => put(sink, 0xd63f_0000 | rz(*rn)? << 5),
            Inst::Bl { name } => {
                sink.add_reloc(Reloc::Arm64Call, (**name).clone(), 0);
                put(sink, 0x9400_0000);
            }
            Inst::Ret => put(sink, 0xd65f_03c0),
            Inst::RetAuth { key } => {
                need(info.settings.has_pauth, "retaa/retab", "has_pauth")?;
                put(sink, if *key == PacKey::A { 0xd65f_0bff } else { 0xd65f_0fff });
            }
            Inst::Udf { code } => {
                sink.add_trap(*code);
                put(sink, code.as_raw() as u32);
            }
            Inst::Brk { imm } => put(sink, 0xd420_0000 | (*imm as u32) << 5),

            Inst::FpuMove { size, rd, rn } => {
                fp_scalar(info, *size)?;
                put(sink, enc_fp1(size.ftype(), 0, wv(*rd)?, rv(*rn)?));
            }
            Inst::FpuRR { op, size, rd, rn } => {
                fp_scalar(info, *size)?;
                put(sink, enc_fp1(size.ftype(), fpu_op1_bits(*op), wv(*rd)?, rv(*rn)?));
            }
            Inst::FpuCvt { from, to, rd, rn } => {
                // Conversions to and from half precision are base FP (no fp16 needed).
                for s in [from, to] {
                    check(matches!(s, ScalarSize::Size16 | ScalarSize::Size32 | ScalarSize::Size64), || {
                        format!("fcvt of {s:?}")
                    })?;
                }
                check(from != to, || "fcvt to the same size".into())?;
                let opc = match to {
                    ScalarSize::Size32 => 0b00,
                    ScalarSize::Size64 => 0b01,
                    _ => 0b11,
                };
                put(sink, enc_fp1(from.ftype(), 0b000100 | opc, wv(*rd)?, rv(*rn)?));
            }
            Inst::FpuRRR { op, size, rd, rn, rm } => {
                fp_scalar(info, *size)?;
                put(sink, enc_fp2(*op, size.ftype(), wv(*rd)?, rv(*rn)?, rv(*rm)?));
            }
            Inst::FpuRRRR { op, size, rd, rn, rm, ra } => {
                fp_scalar(info, *size)?;
                put(sink, enc_fp3(*op, size.ftype(), wv(*rd)?, rv(*rn)?, rv(*rm)?, rv(*ra)?));
            }
            Inst::FpuCmp { size, rn, rm } => {
                fp_scalar(info, *size)?;
                put(sink, 0x1e20_2000 | size.ftype() << 22 | rv(*rm)? << 16 | rv(*rn)? << 5);
            }
            Inst::FpuCmpZero { size, rn } => {
                fp_scalar(info, *size)?;
                put(sink, 0x1e20_2008 | size.ftype() << 22 | rv(*rn)? << 5);
            }
            Inst::FpuCCmp { size, rn, rm, nzcv, cond } => {
                fp_scalar(info, *size)?;
                put(
                    sink,
                    0x1e20_0400 | size.ftype() << 22 | rv(*rm)? << 16 | cond.bits() << 12 | rv(*rn)? << 5 | nzcv.bits(),
                );
            }
            Inst::FpuCSel { size, rd, rn, rm, cond } => {
                fp_scalar(info, *size)?;
                put(
                    sink,
                    0x1e20_0c00 | size.ftype() << 22 | rv(*rm)? << 16 | cond.bits() << 12 | rv(*rn)? << 5 | wv(*rd)?,
                );
            }
            Inst::FpuMoveImm { size, rd, imm } => {
                fp_scalar(info, *size)?;
                put(sink, 0x1e20_1000 | size.ftype() << 22 | (imm.0 as u32) << 13 | wv(*rd)?);
            }
            Inst::MovToFpu { size, isize, rd, rn } => {
                fp_scalar(info, *size)?;
                check(
                    matches!((size, isize), (ScalarSize::Size16, _))
                        || (*size == ScalarSize::Size32 && !isize.is64())
                        || (*size == ScalarSize::Size64 && isize.is64()),
                    || format!("fmov {size:?} from {isize:?}"),
                )?;
                put(sink, enc_fp_int(isize.sf(), size.ftype(), 0, 0b111, wv(*rd)?, rz(*rn)?));
            }
            Inst::MovFromFpu { size, isize, rd, rn } => {
                fp_scalar(info, *size)?;
                check(
                    matches!((size, isize), (ScalarSize::Size16, _))
                        || (*size == ScalarSize::Size32 && !isize.is64())
                        || (*size == ScalarSize::Size64 && isize.is64()),
                    || format!("fmov {size:?} to {isize:?}"),
                )?;
                put(sink, enc_fp_int(isize.sf(), size.ftype(), 0, 0b110, wz(*rd)?, rv(*rn)?));
            }
            Inst::FpuToInt { op, size, isize, rd, rn } => {
                fp_scalar(info, *size)?;
                let opcode = if *op == FpuToIntOp::Fcvtzs { 0b000 } else { 0b001 };
                put(sink, enc_fp_int(isize.sf(), size.ftype(), 0b11, opcode, wz(*rd)?, rv(*rn)?));
            }
            Inst::IntToFpu { op, size, isize, rd, rn } => {
                fp_scalar(info, *size)?;
                let opcode = if *op == IntToFpuOp::Scvtf { 0b010 } else { 0b011 };
                put(sink, enc_fp_int(isize.sf(), size.ftype(), 0b00, opcode, wv(*rd)?, rz(*rn)?));
            }

            Inst::LoadExclusive { acquire, size, rt, rn, trap } => {
                let w = enc_ldst_excl(atomic_size(*size)?, 0, 1, 0, 31, *acquire as u32, 31, rs(*rn)?, wz(*rt)?);
                trap_here(sink, *trap);
                put(sink, w);
            }
            Inst::StoreExclusive { release, size, rs: status, rt, rn, trap } => {
                check(status.to_reg() != *rt && status.to_reg() != *rn, || "stxr status overlaps an operand".into())?;
                let s = wz(*status)?;
                let w = enc_ldst_excl(atomic_size(*size)?, 0, 0, 0, s, *release as u32, 31, rs(*rn)?, rz(*rt)?);
                trap_here(sink, *trap);
                put(sink, w);
            }
            Inst::LoadAcquire { size, rt, rn, trap } => {
                let w = enc_ldst_excl(atomic_size(*size)?, 1, 1, 0, 31, 1, 31, rs(*rn)?, wz(*rt)?);
                trap_here(sink, *trap);
                put(sink, w);
            }
            Inst::StoreRelease { size, rt, rn, trap } => {
                let w = enc_ldst_excl(atomic_size(*size)?, 1, 0, 0, 31, 1, 31, rs(*rn)?, rz(*rt)?);
                trap_here(sink, *trap);
                put(sink, w);
            }
            Inst::LoadExclusivePair { acquire, size, rt, rt2, rn, trap } => {
                check(rt != rt2, || "ldxp to the same register twice".into())?;
                let sz = 0b10 | size.sf();
                let w = enc_ldst_excl(sz, 0, 1, 1, 31, *acquire as u32, wz(*rt2)?, rs(*rn)?, wz(*rt)?);
                trap_here(sink, *trap);
                put(sink, w);
            }
            Inst::StoreExclusivePair { release, size, rs: status, rt, rt2, rn, trap } => {
                let st = status.to_reg();
                check(st != *rt && st != *rt2 && st != *rn, || "stxp status overlaps an operand".into())?;
                let sz = 0b10 | size.sf();
                let w = enc_ldst_excl(sz, 0, 0, 1, wz(*status)?, *release as u32, rz(*rt2)?, rs(*rn)?, rz(*rt)?);
                trap_here(sink, *trap);
                put(sink, w);
            }
            Inst::AtomicRmw { op, order, size, rs: src, rt, rn, trap } => {
                need(info.settings.has_lse, "LSE atomics", "has_lse")?;
                let w = enc_atomic_rmw(*op, *order, atomic_size(*size)?, rz(*src)?, wz(*rt)?, rs(*rn)?);
                trap_here(sink, *trap);
                put(sink, w);
            }
            Inst::Cas { order, size, rd, ri, rt, rn, trap } => {
                need(info.settings.has_lse, "LSE atomics", "has_lse")?;
                check(rd.to_reg() == *ri, || "cas destination differs from its input".into())?;
                let w = enc_ldst_excl(
                    atomic_size(*size)?,
                    1,
                    order.acquire as u32,
                    1,
                    wz(*rd)?,
                    order.release as u32,
                    31,
                    rs(*rn)?,
                    rz(*rt)?,
                );
                trap_here(sink, *trap);
                put(sink, w);
            }
            Inst::Casp { order, size, rd, ri, rt, rn, trap } => {
                need(info.settings.has_lse, "LSE atomics", "has_lse")?;
                let (s, t) = (wz(rd[0])?, rz(rt[0])?);
                check(
                    rd[0].to_reg() == ri[0]
                        && rd[1].to_reg() == ri[1]
                        && s % 2 == 0
                        && t % 2 == 0
                        && wz(rd[1])? == s + 1
                        && rz(rt[1])? == t + 1,
                    || "casp needs consecutive even/odd register pairs".into(),
                )?;
                let w = enc_ldst_excl(size.sf(), 0, order.acquire as u32, 1, s, order.release as u32, 31, rs(*rn)?, t);
                trap_here(sink, *trap);
                put(sink, w);
            }
            Inst::Dmb { option } => put(sink, 0xd503_30bf | barrier_crm(*option) << 8),
            Inst::Isb => put(sink, 0xd503_3fdf),

            Inst::Hint { op } => put(sink, 0xd503_201f | hint_imm(*op) << 5),
            Inst::Mrs { rd, reg } => put(sink, 0xd530_0000 | sysreg_bits(*reg) << 5 | wz(*rd)?),
            Inst::Msr { reg, rn } => put(sink, 0xd510_0000 | sysreg_bits(*reg) << 5 | rz(*rn)?),

            Inst::VecRRR { op, size, rd, rn, rm } => {
                let lane = vec_lane_field(*size);
                check_vec_alu(*op, *size)?;
                let (u, sz, opcode) = vec_alu_bits(*op, lane);
                let (d, n, m) = (wv(*rd)?, rv(*rn)?, rv(*rm)?);
                let w = if is_permute(*op) {
                    0x0e00_0800 | size.q() << 30 | sz << 22 | m << 16 | opcode << 12 | n << 5 | d
                } else {
                    enc_vec_rrr(size.q(), u, sz, opcode, d, n, m)
                };
                put(sink, w);
            }
            Inst::VecRRRMod { op, size, rd, ri, rn, rm } => {
                check(rd.to_reg() == *ri, || "vector destination differs from its input".into())?;
                check(vec_mod_ok(*op, *size), || format!("{op:?} on {size:?}"))?;
                let (u, sz, opcode) = vec_alu_mod_bits(*op, vec_lane_field(*size));
                put(sink, enc_vec_rrr(size.q(), u, sz, opcode, wv(*rd)?, rv(*rn)?, rv(*rm)?));
            }
            Inst::VecRRRLong { op, size, rd, rn, rm } => {
                let ok = if *op == VecRRRLongOp::Pmull {
                    size.lane_size() == ScalarSize::Size8
                } else {
                    size.lane_size().bits() <= 32 && *size != VectorSize::Size64x1
                };
                check(ok, || format!("{op:?} on {size:?}"))?;
                let (u, opcode) = vec_long_bits(*op);
                put(sink, enc_vec_rrr_long(size.q(), u, size.size_bits(), opcode, wv(*rd)?, rv(*rn)?, rv(*rm)?));
            }
            Inst::VecRRRLongMod { op, size, rd, ri, rn, rm } => {
                check(rd.to_reg() == *ri, || "vector destination differs from its input".into())?;
                check(size.lane_size().bits() <= 32, || format!("long op on {size:?}"))?;
                check(*size != VectorSize::Size64x1, || "1d arrangement".into())?;
                let (u, opcode) = vec_long_mod_bits(*op);
                put(sink, enc_vec_rrr_long(size.q(), u, size.size_bits(), opcode, wv(*rd)?, rv(*rn)?, rv(*rm)?));
            }
            Inst::VecMisc { op, size, rd, rn } => {
                let lane = match op {
                    // fcvtl: the size field names the destination (sz = 1 for s→d).
                    VecMisc2::Fcvtl => (size.lane_size() == ScalarSize::Size32) as u32,
                    _ => vec_lane_field(*size),
                };
                check(vec_misc_ok(*op, *size), || format!("{op:?} on {size:?}"))?;
                let (u, sz, opcode) = vec_misc_bits(*op, lane);
                put(sink, enc_vec_misc(size.q(), u, sz, opcode, wv(*rd)?, rv(*rn)?));
            }
            Inst::VecNarrowLow { op, size, rd, rn } | Inst::VecNarrowHigh { op, size, rd, rn, .. } => {
                if let Inst::VecNarrowHigh { ri, .. } = self {
                    check(rd.to_reg() == *ri && size.is_128(), || "narrow-high operands".into())?;
                } else {
                    check(!size.is_128(), || "narrow-low to a 128-bit arrangement".into())?;
                }
                let (u, opcode) = vec_narrow_bits(*op);
                let sz = match op {
                    VecNarrowOp::Fcvtn => (size.lane_size() == ScalarSize::Size32) as u32,
                    _ => size.size_bits(),
                };
                check(vec_narrow_ok(*op, *size), || format!("{op:?} to {size:?}"))?;
                put(sink, enc_vec_misc(size.q(), u, sz, opcode, wv(*rd)?, rv(*rn)?));
            }
            Inst::VecShiftImm { op, size, rd, rn, imm } => {
                let bits = size.lane_size().bits();
                let imm = *imm as u32;
                let (u, opcode, immhb) = match op {
                    VecShiftImmOp::Shl => {
                        check(imm < bits, || format!("shl #{imm}"))?;
                        (0, 0b01010, bits + imm)
                    }
                    VecShiftImmOp::Sshr | VecShiftImmOp::Ushr => {
                        check(imm >= 1 && imm <= bits, || format!("shr #{imm}"))?;
                        ((*op == VecShiftImmOp::Ushr) as u32, 0b00000, 2 * bits - imm)
                    }
                };
                check(*size != VectorSize::Size64x1, || "1d arrangement".into())?;
                put(sink, enc_vec_shift_imm(size.q(), u, immhb, opcode, wv(*rd)?, rv(*rn)?));
            }
            Inst::VecShiftImmMod { op, size, rd, ri, rn, imm } => {
                check(rd.to_reg() == *ri, || "sli/sri destination differs from its input".into())?;
                let bits = size.lane_size().bits();
                let imm = *imm as u32;
                let (opcode, immhb) = match op {
                    VecShiftImmModOp::Sli => {
                        check(imm < bits, || format!("sli #{imm}"))?;
                        (0b01010, bits + imm)
                    }
                    VecShiftImmModOp::Sri => {
                        check(imm >= 1 && imm <= bits, || format!("sri #{imm}"))?;
                        (0b01000, 2 * bits - imm)
                    }
                };
                check(*size != VectorSize::Size64x1, || "1d arrangement".into())?;
                put(sink, enc_vec_shift_imm(size.q(), 1, immhb, opcode, wv(*rd)?, rv(*rn)?));
            }
            Inst::VecExtend { op, size, rd, rn, shift } => {
                let bits = size.lane_size().bits();
                check(bits <= 32 && (*shift as u32) < bits && *size != VectorSize::Size64x1, || {
                    format!("extend {size:?} #{shift}")
                })?;
                let u = (*op == VecExtendOp::Ushll) as u32;
                put(sink, enc_vec_shift_imm(size.q(), u, bits + *shift as u32, 0b10100, wv(*rd)?, rv(*rn)?));
            }
            Inst::VecLanes { op: VecLanesOp::Addp, size, rd, rn } => {
                check(*size == VectorSize::Size64x2, || format!("addp scalar of {size:?}"))?;
                put(sink, 0x5ef1_b800 | rv(*rn)? << 5 | wv(*rd)?);
            }
            Inst::VecLanes { op, size, rd, rn } => {
                let (u, opcode) = match op {
                    VecLanesOp::Addv => (0, 0b11011),
                    VecLanesOp::Smaxv => (0, 0b01010),
                    VecLanesOp::Umaxv => (1, 0b01010),
                    VecLanesOp::Sminv => (0, 0b11010),
                    VecLanesOp::Uminv => (1, 0b11010),
                    VecLanesOp::Saddlv => (0, 0b00011),
                    VecLanesOp::Uaddlv => (1, 0b00011),
                    VecLanesOp::Addp => unreachable!("matched above"),
                };
                check(size.lane_size().bits() <= 16 || *size == VectorSize::Size32x4, || {
                    format!("across-lanes on {size:?}")
                })?;
                put(sink, enc_vec_lanes(size.q(), u, size.size_bits(), opcode, wv(*rd)?, rv(*rn)?));
            }
            Inst::VecDup { size, rd, rn } => {
                check(*size != VectorSize::Size64x1, || "dup to 1d".into())?;
                let imm5 = lane_imm5(size.lane_size(), 0)?;
                put(sink, enc_vec_copy(size.q(), 0, imm5, 0b0001, wv(*rd)?, rz(*rn)?));
            }
            Inst::VecDupElem { size, rd, rn, lane } => {
                check(*size != VectorSize::Size64x1, || "dup to 1d".into())?;
                let imm5 = lane_imm5(size.lane_size(), *lane)?;
                put(sink, enc_vec_copy(size.q(), 0, imm5, 0b0000, wv(*rd)?, rv(*rn)?));
            }
            Inst::FpuMoveFromVec { size, rd, rn, lane } => {
                let imm5 = lane_imm5(*size, *lane)?;
                put(sink, 0x5e00_0400 | imm5 << 16 | rv(*rn)? << 5 | wv(*rd)?);
            }
            Inst::MovToVec { size, rd, ri, rn, lane } => {
                check(rd.to_reg() == *ri, || "ins destination differs from its input".into())?;
                let imm5 = lane_imm5(*size, *lane)?;
                put(sink, enc_vec_copy(1, 0, imm5, 0b0011, wv(*rd)?, rz(*rn)?));
            }
            Inst::VecMovElement { size, rd, ri, rn, dst_lane, src_lane } => {
                check(rd.to_reg() == *ri, || "ins destination differs from its input".into())?;
                let imm5 = lane_imm5(*size, *dst_lane)?;
                lane_imm5(*size, *src_lane)?;
                let imm4 = (*src_lane as u32) << size.log2_bytes();
                put(sink, enc_vec_copy(1, 1, imm5, imm4, wv(*rd)?, rv(*rn)?));
            }
            Inst::MovFromVec { size, rd, rn, lane } => {
                let imm5 = lane_imm5(*size, *lane)?;
                let q = (*size == ScalarSize::Size64) as u32;
                put(sink, enc_vec_copy(q, 0, imm5, 0b0111, wz(*rd)?, rv(*rn)?));
            }
            Inst::MovFromVecSigned { size, isize, rd, rn, lane } => {
                check(size.bits() < isize.bits() && size.bits() <= 32, || format!("smov {size:?} to {isize:?}"))?;
                let imm5 = lane_imm5(*size, *lane)?;
                put(sink, enc_vec_copy(isize.sf(), 0, imm5, 0b0101, wz(*rd)?, rv(*rn)?));
            }
            Inst::VecMov { q, rd, rn } => {
                let n = rv(*rn)?;
                put(sink, enc_vec_rrr(*q as u32, 0, 0b10, 0b00011, wv(*rd)?, n, n));
            }
            Inst::VecExtract { q, rd, rn, rm, imm } => {
                check((*imm as u32) < if *q { 16 } else { 8 }, || format!("ext #{imm}"))?;
                put(
                    sink,
                    0x2e00_0000 | (*q as u32) << 30 | rv(*rm)? << 16 | (*imm as u32) << 11 | rv(*rn)? << 5 | wv(*rd)?,
                );
            }
            Inst::VecTbl { op, q, len, rd, ri, tables, rm } => {
                check((1..=4).contains(len), || format!("tbl of {len} registers"))?;
                let first = rv(tables[0])?;
                for (i, t) in tables.iter().enumerate().take(*len as usize).skip(1) {
                    check(rv(*t)? == (first + i as u32) % 32, || "tbl table registers are not consecutive".into())?;
                }
                let tbx = *op == TblOp::Tbx;
                if tbx {
                    check(rd.to_reg() == *ri, || "tbx destination differs from its input".into())?;
                }
                put(
                    sink,
                    0x0e00_0000
                        | (*q as u32) << 30
                        | rv(*rm)? << 16
                        | (*len as u32 - 1) << 13
                        | (tbx as u32) << 12
                        | first << 5
                        | wv(*rd)?,
                );
            }
            Inst::VecMovImm { q, rd, imm } => {
                check(*q || imm.kind != AsimdImmKind::F64, || "fmov .2d immediate needs 128 bits".into())?;
                put(sink, enc_vec_mod_imm(*q as u32, *imm, wv(*rd)?));
            }
            Inst::VecLoadReplicate { size, rd, rn, trap } => {
                let w = 0x0d40_c000 | size.q() << 30 | size.size_bits() << 10 | rs(*rn)? << 5 | wv(*rd)?;
                trap_here(sink, *trap);
                put(sink, w);
            }
            Inst::VecLoadLane { size, rd, ri, rn, lane, trap } => {
                check(rd.to_reg() == *ri, || "ld1 destination differs from its input".into())?;
                let w = enc_ldst_lane(true, *size, *lane, wv(*rd)?, rs(*rn)?)?;
                trap_here(sink, *trap);
                put(sink, w);
            }
            Inst::VecStoreLane { size, rt, rn, lane, trap } => {
                let w = enc_ldst_lane(false, *size, *lane, rv(*rt)?, rs(*rn)?)?;
                trap_here(sink, *trap);
                put(sink, w);
            }

            Inst::Args { .. } | Inst::ExnPayloads { .. } => {}
            Inst::Rets { stack_bytes_to_pop, .. } => emit_return(sink, info, state, *stack_bytes_to_pop)?,
            Inst::Call { info: ci } => {
                match &ci.dest {
                    CallDest::Name { name, colocated: true } => {
                        sink.add_reloc(Reloc::Arm64Call, name.clone(), 0);
                        put(sink, 0x9400_0000);
                    }
                    CallDest::Name { name, colocated: false } => {
                        emit_far_address(sink, tmp1_reg(), name, 0)?;
                        put(sink, 0xd63f_0000 | enc(tmp1_reg()) << 5);
                    }
                    CallDest::Indirect(r) => put(sink, 0xd63f_0000 | rz(*r)? << 5),
                }
                sink.add_call_site(call_handlers(ci), state.frame.frame_below_fp());
                if ci.callee_pop > 0 {
                    // The callee popped its stack arguments: our sp stays fixed in the body.
                    emit_add_imm(sink, info, writable_stack_reg(), stack_reg(), -(ci.callee_pop as i64))?;
                }
                if let Some(t) = &ci.try_call
                    && !state.falls_through_to(t.normal)
                {
                    sink.add_branch(t.normal, A64Branch::B);
                }
            }
            Inst::ReturnCall { info: ci } => emit_return_call(sink, info, state, ci)?,
            Inst::LoadAddr { rd, mem } => emit_load_addr(sink, info, state, *rd, mem)?,
            Inst::LoadExtNameFar { rd, name, offset } => emit_far_address(sink, rd.to_reg(), name, *offset)?,
            Inst::JumpTable { idx, tmp1, tmp2, default, targets } => {
                let n = targets.len() as u64;
                let (i, t1, t2) = (rz(*idx)?, wz(*tmp1)?, wz(*tmp2)?);
                match Imm12::maybe_from_u64(n) {
                    Some(imm) => put(sink, enc_addsub_imm(ALUOp::Subs, 0, 31, i, imm)),
                    None => {
                        for k in Inst::load_constant(writable_tmp1(), n, OperandSize::Size32) {
                            k.emit(sink, info, state)?;
                        }
                        put(sink, enc_addsub_shift(ALUOp::Subs, 0, 31, i, enc(tmp1_reg()), ShiftOp::Lsl, 0));
                    }
                }
                cond_branch(sink, CondBrKind::Cond(Cond::Hs), *default)?;
                // Out of range on a mispredicted path: index 0.
                put(sink, enc_csel(CSelOp::Csel, 0, t2, 31, i, Cond::Hs));
                // adr tmp1, table (16 bytes on); ldrsw tmp2, [tmp1, w(tmp2), uxtw #2];
                // add tmp1, tmp1, tmp2; br tmp1.
                put(sink, set_adr_imm(enc_adr(false, t1), 16));
                put(sink, enc_ldst_reg(load_bits(LoadOp::Ldrsw), t2, t1, t2, RegExtend::Uxtw, true));
                put(sink, enc_addsub_shift(ALUOp::Add, 1, t1, t1, t2, ShiftOp::Lsl, 0));
                put(sink, 0xd61f_0000 | t1 << 5);
                let start = sink.cur_pos();
                for (k, &t) in targets.iter().enumerate() {
                    sink.use_label_at_offset_with_addend(t, LabelUse::PCRel32, 4 * k as i32);
                    put(sink, 0);
                }
                sink.mark_inline_data(start);
            }
            Inst::CondBr2 { c1, c2, taken, not_taken } => {
                cond_branch(sink, CondBrKind::Cond(*c1), *taken)?;
                cond_branch(sink, CondBrKind::Cond(*c2), *taken)?;
                if !state.falls_through_to(*not_taken) {
                    sink.add_branch(*not_taken, A64Branch::B);
                }
            }
            Inst::AtomicRmwLoop { op, size, addr, operand, old, new, status, trap } => {
                emit_atomic_rmw_loop(sink, *op, *size, *addr, *operand, *old, *new, *status, *trap)?
            }
            Inst::AtomicCasLoop { size, addr, expected, replacement, old, status, trap } => {
                let sz = atomic_size(*size)?;
                let (a, o, s) = (rs(*addr)?, wz(*old)?, wz(*status)?);
                check(o != a && s != a && s != rz(*replacement)? && s != o, || "cas loop registers overlap".into())?;
                let again = sink.get_label();
                let out = sink.get_label();
                sink.bind_label(again);
                trap_here(sink, *trap);
                put(sink, enc_ldst_excl(sz, 0, 1, 0, 31, 1, 31, a, o));
                put(sink, cmp_access(*size, o, rz(*expected)?));
                cond_branch(sink, CondBrKind::Cond(Cond::Ne), out)?;
                trap_here(sink, *trap);
                put(sink, enc_ldst_excl(sz, 0, 0, 0, s, 1, 31, a, rz(*replacement)?));
                cond_branch(sink, CondBrKind::NotZero(status.to_reg(), OperandSize::Size32), again)?;
                sink.bind_label(out);
            }
            Inst::Atomic128Loop(a) => {
                let addr = rs(a.addr)?;
                let (o0, o1) = (wz(a.old[0])?, wz(a.old[1])?);
                let (t0, t1) = (wz(a.tmp[0])?, wz(a.tmp[1])?);
                let s = wz(a.status)?;
                check(o0 != o1 && s != addr && s != o0 && s != o1, || "128-bit atomic registers overlap".into())?;
                let again = sink.get_label();
                sink.bind_label(again);
                trap_here(sink, a.trap);
                put(sink, enc_ldst_excl(0b11, 0, 1, 1, 31, 1, o1, addr, o0));
                let (v0, v1) = if a.load_only {
                    (o0, o1)
                } else {
                    put(sink, enc_addsub_shift(ALUOp::Subs, 1, 31, o0, rz(a.expected[0])?, ShiftOp::Lsl, 0));
                    put(sink, enc_ccmp(CCmpOp::Ccmp, 1, o1, rz(a.expected[1])?, false, NZCV(0), Cond::Eq));
                    put(sink, enc_csel(CSelOp::Csel, 1, t0, rz(a.replacement[0])?, o0, Cond::Eq));
                    put(sink, enc_csel(CSelOp::Csel, 1, t1, rz(a.replacement[1])?, o1, Cond::Eq));
                    (t0, t1)
                };
                check(s != v0 && s != v1, || "stlxp status overlaps a value".into())?;
                trap_here(sink, a.trap);
                put(sink, enc_ldst_excl(0b11, 0, 0, 1, s, 1, v1, addr, v0));
                cond_branch(sink, CondBrKind::NotZero(a.status.to_reg(), OperandSize::Size32), again)?;
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Sequences: addresses, immediates, atomics, calls.

/// `rd = rn + imm` (a subtraction for negative `imm`): one or two 12-bit immediates, or
/// the constant through x16. Rd|SP, Rn|SP; `rn` must not be x16 when x16 is needed.
pub fn emit_add_imm(sink: &mut Sink, info: &EmitInfo, rd: Writable<Reg>, rn: Reg, imm: i64) -> CodegenResult<()> {
    let (op, a) = if imm < 0 { (ALUOp::Sub, imm.unsigned_abs()) } else { (ALUOp::Add, imm as u64) };
    if a == 0 {
        if rd.to_reg() != rn {
            put(sink, enc_addsub_imm(ALUOp::Add, 1, ws(rd)?, rs(rn)?, Imm12::ZERO));
        }
        return Ok(());
    }
    if let Some(i) = Imm12::maybe_from_u64(a) {
        put(sink, enc_addsub_imm(op, 1, ws(rd)?, rs(rn)?, i));
        return Ok(());
    }
    if a < 1 << 24 {
        let hi = Imm12 { bits: (a >> 12) as u16, shift12: true };
        let lo = Imm12 { bits: (a & 0xfff) as u16, shift12: false };
        put(sink, enc_addsub_imm(op, 1, ws(rd)?, rs(rn)?, hi));
        put(sink, enc_addsub_imm(op, 1, ws(rd)?, rs(rd.to_reg())?, lo));
        return Ok(());
    }
    check(rn != tmp1_reg(), || "a large immediate added to x16".into())?;
    for k in Inst::load_constant(writable_tmp1(), a, OperandSize::Size64) {
        k.emit(sink, info, &mut EmitState::default())?;
    }
    put(sink, enc_addsub_ext(op, 1, ws(rd)?, rs(rn)?, enc(tmp1_reg()), ExtendOp::UXTX, 0));
    Ok(())
}

/// `rd = address of mem`.
fn emit_load_addr(
    sink: &mut Sink,
    info: &EmitInfo,
    state: &EmitState,
    rd: Writable<Reg>,
    mem: &AMode,
) -> CodegenResult<()> {
    match *mem {
        AMode::UnsignedOffset { rn, off } => emit_add_imm(sink, info, rd, rn, off as i64),
        AMode::Unscaled { rn, off } => emit_add_imm(sink, info, rd, rn, off as i64),
        AMode::BaseOffset { rn, off } => emit_add_imm(sink, info, rd, rn, off),
        AMode::Stack(mode) => emit_add_imm(sink, info, rd, stack_reg(), state.stack_offset(mode)),
        AMode::RegOffset { rn, rm, extend, .. } => {
            let w = match extend {
                RegExtend::Lsl => enc_addsub_ext(ALUOp::Add, 1, ws(rd)?, rs(rn)?, rz(rm)?, ExtendOp::UXTX, 0),
                RegExtend::Sxtx => enc_addsub_ext(ALUOp::Add, 1, ws(rd)?, rs(rn)?, rz(rm)?, ExtendOp::SXTX, 0),
                RegExtend::Uxtw => enc_addsub_ext(ALUOp::Add, 1, ws(rd)?, rs(rn)?, rz(rm)?, ExtendOp::UXTW, 0),
                RegExtend::Sxtw => enc_addsub_ext(ALUOp::Add, 1, ws(rd)?, rs(rn)?, rz(rm)?, ExtendOp::SXTW, 0),
            };
            put(sink, w);
            Ok(())
        }
        AMode::Label { label } => {
            sink.use_label_at_offset(label, LabelUse::Adr21);
            put(sink, enc_adr(false, wz(rd)?));
            Ok(())
        }
        AMode::PreIndexed { .. } | AMode::PostIndexed { .. } => Err(bad("the address of a writeback mode")),
    }
}

/// `ldr rd, 1f; b 2f; 1: .quad name + offset; 2:`: a 64-bit absolute address (`Abs8`).
fn emit_far_address(sink: &mut Sink, rd: Reg, name: &RelocTarget, offset: i64) -> CodegenResult<()> {
    let d = rz(rd)?;
    let ldr = enc_ldr_literal(LoadOp::LdrX, d).ok_or_else(|| bad("ldr literal"))?;
    put(sink, ldr | 2 << 5);
    put(sink, 0x1400_0003);
    sink.add_reloc(Reloc::Abs8, name.clone(), offset);
    sink.put8(0);
    Ok(())
}

/// The handlers of a `try_call` (none for a plain call).
fn call_handlers(ci: &CallInfo) -> Vec<(HandlerTag, MachLabel)> {
    ci.try_call.as_ref().map(|t| t.handlers.clone()).unwrap_or_default()
}

/// `cmp` of the low `size` bits of two registers, the first already zero-extended (an
/// exclusive load's result): `cmp wn, wm, uxtb/uxth`, or a plain 32/64-bit `cmp`.
fn cmp_access(size: ScalarSize, n: u32, m: u32) -> u32 {
    match size {
        ScalarSize::Size8 => enc_addsub_ext(ALUOp::Subs, 0, 31, n, m, ExtendOp::UXTB, 0),
        ScalarSize::Size16 => enc_addsub_ext(ALUOp::Subs, 0, 31, n, m, ExtendOp::UXTH, 0),
        ScalarSize::Size32 => enc_addsub_shift(ALUOp::Subs, 0, 31, n, m, ShiftOp::Lsl, 0),
        _ => enc_addsub_shift(ALUOp::Subs, 1, 31, n, m, ShiftOp::Lsl, 0),
    }
}

#[allow(clippy::too_many_arguments)]
fn emit_atomic_rmw_loop(
    sink: &mut Sink,
    op: AtomicLoopOp,
    size: ScalarSize,
    addr: Reg,
    operand: Reg,
    old: Writable<Reg>,
    new: Writable<Reg>,
    status: Writable<Reg>,
    trap: Option<kiln_ir::trapcode::TrapCode>,
) -> CodegenResult<()> {
    let sz = atomic_size(size)?;
    let (a, x, o, n, s) = (rs(addr)?, rz(operand)?, wz(old)?, wz(new)?, wz(status)?);
    check(o != a && n != a && s != a && o != x && n != x && s != x && o != n && s != o && s != n, || {
        "atomic loop registers overlap".into()
    })?;
    let sf = (size == ScalarSize::Size64) as u32;
    let again = sink.get_label();
    sink.bind_label(again);
    trap_here(sink, trap);
    put(sink, enc_ldst_excl(sz, 0, 1, 0, 31, 1, 31, a, o));
    let logical = |op| enc_logical_shift(op, sf, n, o, x, ShiftOp::Lsl, 0);
    let stored = match op {
        AtomicLoopOp::Add => {
            put(sink, enc_addsub_shift(ALUOp::Add, sf, n, o, x, ShiftOp::Lsl, 0));
            n
        }
        AtomicLoopOp::Sub => {
            put(sink, enc_addsub_shift(ALUOp::Sub, sf, n, o, x, ShiftOp::Lsl, 0));
            n
        }
        AtomicLoopOp::And => {
            put(sink, logical(ALUOp::And));
            n
        }
        AtomicLoopOp::Orr => {
            put(sink, logical(ALUOp::Orr));
            n
        }
        AtomicLoopOp::Eor => {
            put(sink, logical(ALUOp::Eor));
            n
        }
        AtomicLoopOp::Nand => {
            put(sink, logical(ALUOp::And));
            put(sink, enc_logical_shift(ALUOp::Orn, sf, n, 31, n, ShiftOp::Lsl, 0));
            n
        }
        AtomicLoopOp::Xchg => x,
        AtomicLoopOp::Umin | AtomicLoopOp::Umax => {
            put(sink, cmp_access(size, o, x));
            let c = if op == AtomicLoopOp::Umin { Cond::Lo } else { Cond::Hi };
            put(sink, enc_csel(CSelOp::Csel, sf, n, o, x, c));
            n
        }
        AtomicLoopOp::Smin | AtomicLoopOp::Smax => {
            let c = if op == AtomicLoopOp::Smin { Cond::Lt } else { Cond::Gt };
            match size {
                ScalarSize::Size8 | ScalarSize::Size16 => {
                    // Compare the sign-extended old value with the operand's low bits
                    // sign-extended.
                    let (imms, ext) =
                        if size == ScalarSize::Size8 { (7, ExtendOp::SXTB) } else { (15, ExtendOp::SXTH) };
                    put(sink, enc_bitfield(0b00, 0, n, o, 0, imms));
                    put(sink, enc_addsub_ext(ALUOp::Subs, 0, 31, n, x, ext, 0));
                }
                _ => put(sink, enc_addsub_shift(ALUOp::Subs, sf, 31, o, x, ShiftOp::Lsl, 0)),
            }
            put(sink, enc_csel(CSelOp::Csel, sf, n, o, x, c));
            n
        }
    };
    trap_here(sink, trap);
    put(sink, enc_ldst_excl(sz, 0, 0, 0, s, 1, 31, a, stored));
    cond_branch(sink, CondBrKind::NotZero(status.to_reg(), OperandSize::Size32), again)
}

// ---------------------------------------------------------------------------------------
// Prologue and epilogue.

/// Does the function sign its return address (`paciasp` on entry, `autiasp` before
/// returning)? Functions that save the link register do with `sign_return_address`,
/// every function with `sign_return_address_all`.
fn signs_return_address(info: &EmitInfo, frame: &FrameLayout) -> bool {
    let s = &info.settings;
    s.sign_return_address && (frame.has_frame || s.sign_return_address_all)
}

fn pac_hint(info: &EmitInfo, sign: bool) -> HintOp {
    match (info.settings.sign_return_address_with_bkey, sign) {
        (false, true) => HintOp::Paciasp,
        (true, true) => HintOp::Pacibsp,
        (false, false) => HintOp::Autiasp,
        (true, false) => HintOp::Autibsp,
    }
}

fn hint(sink: &mut Sink, op: HintOp) {
    put(sink, 0xd503_201f | hint_imm(op) << 5);
}

/// The callee-saves of `frame` grouped as the prologue stores them: one or two registers
/// per slot, the slot's offset below the frame pointer and its size.
fn save_slots(frame: &FrameLayout) -> Vec<(CalleeSave, Option<CalleeSave>, u32)> {
    let saves = &frame.callee_saves;
    let mut out = Vec::with_capacity(saves.len());
    let mut i = 0;
    while i < saves.len() {
        let a = saves[i];
        let slot = (2 * a.size as u32).max(16);
        match saves.get(i + 1) {
            // `b` right above `a` in the same 16-byte (or 32-byte) slot.
            Some(&b) if b.reg.class() == a.reg.class() && b.size == a.size && b.offset + a.size as u32 == a.offset => {
                out.push((a, Some(b), slot));
                i += 2;
            }
            _ => {
                out.push((a, None, slot));
                i += 1;
            }
        }
    }
    out
}

fn pair_op_of(save: &CalleeSave) -> PairOp {
    match (save.reg.class(), save.size) {
        (RegClass::Int, _) => PairOp::X,
        (_, 8) => PairOp::D,
        _ => PairOp::Q,
    }
}

fn single_op(save: &CalleeSave) -> (LoadOp, StoreOp) {
    match (save.reg.class(), save.size) {
        (RegClass::Int, _) => (LoadOp::LdrX, StoreOp::StrX),
        (_, 8) => (LoadOp::LdrD, StoreOp::StrD),
        _ => (LoadOp::LdrQ, StoreOp::StrQ),
    }
}

/// The unwind record of a callee-save slot (the CFA is 16 bytes above the frame pointer).
fn save_record(save: &CalleeSave) -> UnwindInst {
    UnwindInst::SaveReg { reg: save.reg, offset_down_from_cfa: 16 + save.offset, size: save.size }
}

fn emit_prologue(sink: &mut Sink, info: &EmitInfo, state: &mut EmitState) -> CodegenResult<()> {
    let sign = signs_return_address(info, &state.frame);
    if sign {
        // Also a BTI landing pad for calls.
        hint(sink, pac_hint(info, true));
        sink.add_unwind(UnwindInst::Aarch64SetPointerAuth { return_addresses: true });
    } else if info.settings.use_bti {
        hint(sink, HintOp::BtiC);
    }
    if !state.frame.has_frame {
        return Ok(());
    }
    let mut scratch = EmitState::default();
    // stp x29, x30, [sp, #-16]!; mov x29, sp
    let fp = crate::aarch64::regs::fp_reg();
    let lr = crate::aarch64::regs::link_reg();
    let sp_pre = |off: i16| PairAMode::PreIndexed { rn: stack_reg(), off };
    Inst::StorePair { op: PairOp::X, rt: fp, rt2: lr, mem: sp_pre(-16), trap: None }.emit(sink, info, &mut scratch)?;
    sink.add_unwind(UnwindInst::PushFrameRegs { offset_upward_to_caller_sp: 16 });
    put(sink, enc_addsub_imm(ALUOp::Add, 1, enc(fp), 31, Imm12::ZERO));
    sink.add_unwind(UnwindInst::DefineNewFrame { offset_upward_to_caller_sp: 16 });
    if let Some(limit) = &state.frame.stack_limit {
        emit_stack_limit_check(sink, info, limit, state.frame.frame_below_fp())?;
    }
    for (a, b, slot) in save_slots(&state.frame) {
        let off = -(slot as i16);
        match b {
            Some(b) => {
                let inst = Inst::StorePair {
                    op: pair_op_of(&a),
                    rt: Reg::phys(a.reg),
                    rt2: Reg::phys(b.reg),
                    mem: sp_pre(off),
                    trap: None,
                };
                inst.emit(sink, info, &mut scratch)?;
                sink.add_unwind(save_record(&a));
                sink.add_unwind(save_record(&b));
            }
            None => {
                let (_, op) = single_op(&a);
                let mem = AMode::PreIndexed { rn: stack_reg(), off };
                Inst::Store { op, rt: Reg::phys(a.reg), mem, trap: None }.emit(sink, info, &mut scratch)?;
                sink.add_unwind(save_record(&a));
            }
        }
    }
    let n = state.frame.frame_below_fp() - state.frame.clobber_size;
    let guard_log2 = info.flags.probestack_size_log2().min(31) as u32;
    let guard = 1u32 << guard_log2.max(8);
    if Flags::on(info.flags.enable_probestack()) && n > guard {
        emit_probes(sink, info, n, guard)?;
    } else {
        emit_add_imm(sink, info, writable_stack_reg(), stack_reg(), -(n as i64))?;
    }
    if n > 0 {
        sink.add_unwind(UnwindInst::StackAlloc { size: n });
    }
    Ok(())
}

/// Allocate `n` bytes of stack touching every `guard`-sized page on the way down: unrolled
/// up to four pages, a loop (with x16 as the end marker) beyond.
fn emit_probes(sink: &mut Sink, info: &EmitInfo, n: u32, guard: u32) -> CodegenResult<()> {
    let pages = n / guard;
    let probe = |sink: &mut Sink| -> CodegenResult<()> {
        emit_add_imm(sink, info, writable_stack_reg(), stack_reg(), -(guard as i64))?;
        // str xzr, [sp]
        put(sink, enc_ldst_uimm12(store_bits(StoreOp::StrX), 31, 31, 0));
        Ok(())
    };
    if pages <= 4 {
        for _ in 0..pages {
            probe(sink)?;
        }
    } else {
        // x16 = sp - pages * guard (through x17 for the constant)
        let total = pages as u64 * guard as u64;
        for k in Inst::load_constant(Writable::from_reg(tmp2_reg()), total, OperandSize::Size64) {
            k.emit(sink, info, &mut EmitState::default())?;
        }
        put(sink, enc_addsub_ext(ALUOp::Sub, 1, enc(tmp1_reg()), 31, enc(tmp2_reg()), ExtendOp::UXTX, 0));
        let top = sink.get_label();
        sink.bind_label(top);
        probe(sink)?;
        // cmp sp, x16
        put(sink, enc_addsub_ext(ALUOp::Subs, 1, 31, 31, enc(tmp1_reg()), ExtendOp::UXTX, 0));
        cond_branch(sink, CondBrKind::Cond(Cond::Ne), top)?;
    }
    emit_add_imm(sink, info, writable_stack_reg(), stack_reg(), -((n - pages * guard) as i64))
}

/// Right after the frame-pointer setup: compute the stack limit into x16 (the `vmctx`
/// argument is still where the convention put it; x16/x17 are never arguments) and trap
/// with `stk_ovf` if `sp - below` would be under it, before anything is stored below the
/// frame pointer.
fn emit_stack_limit_check(sink: &mut Sink, info: &EmitInfo, limit: &StackLimit, below: u32) -> CodegenResult<()> {
    let t = writable_tmp1();
    let mut cur = match limit.base {
        StackLimitBase::Reg(p) => Reg::phys(p),
        StackLimitBase::IncomingArg(off) => {
            // The incoming arguments start right above the saved fp/lr pair.
            load_x16(sink, info, crate::aarch64::regs::fp_reg(), 16 + off)?;
            tmp1_reg()
        }
    };
    let mut pending: i64 = 0;
    for step in &limit.steps {
        match *step {
            StackLimitStep::Load(off) => {
                if pending != 0 {
                    emit_add_imm_via_x17(sink, info, t, cur, pending)?;
                    cur = tmp1_reg();
                    pending = 0;
                }
                load_x16(sink, info, cur, off as i64)?;
                cur = tmp1_reg();
            }
            StackLimitStep::Add(k) => pending = pending.wrapping_add(k),
        }
    }
    emit_add_imm_via_x17(sink, info, t, cur, pending.wrapping_add(below as i64))?;
    // cmp sp, x16; b.lo stk_ovf
    put(sink, enc_addsub_ext(ALUOp::Subs, 1, 31, 31, enc(tmp1_reg()), ExtendOp::UXTX, 0));
    let trap =
        sink.defer_trap(kiln_ir::trapcode::TrapCode::STACK_OVERFLOW, kiln_codegen::machinst::SourceLoc::default());
    cond_branch(sink, CondBrKind::Cond(Cond::Lo), trap)
}

/// `ldr x16, [base, #off]` for any offset (through x17).
fn load_x16(sink: &mut Sink, info: &EmitInfo, base: Reg, off: i64) -> CodegenResult<()> {
    let mem = match AMode::reg_offset(base, off, ScalarSize::Size64) {
        Some(m) => m,
        None => {
            for k in Inst::load_constant(Writable::from_reg(tmp2_reg()), off as u64, OperandSize::Size64) {
                k.emit(sink, info, &mut EmitState::default())?;
            }
            AMode::RegOffset { rn: base, rm: tmp2_reg(), extend: RegExtend::Lsl, scaled: false }
        }
    };
    Inst::Load { op: LoadOp::LdrX, rd: writable_tmp1(), mem, trap: None }.emit(sink, info, &mut EmitState::default())
}

/// `rd = rn + k` for any `k`, with x17 (not x16) for a large constant.
fn emit_add_imm_via_x17(sink: &mut Sink, info: &EmitInfo, rd: Writable<Reg>, rn: Reg, k: i64) -> CodegenResult<()> {
    let a = k.unsigned_abs();
    if a < 1 << 24 {
        return emit_add_imm(sink, info, rd, rn, k);
    }
    for i in Inst::load_constant(Writable::from_reg(tmp2_reg()), a, OperandSize::Size64) {
        i.emit(sink, info, &mut EmitState::default())?;
    }
    let op = if k < 0 { ALUOp::Sub } else { ALUOp::Add };
    put(sink, enc_addsub_ext(op, 1, ws(rd)?, rs(rn)?, enc(tmp2_reg()), ExtendOp::UXTX, 0));
    Ok(())
}

/// The callee-saves restored and x29/x30 popped, sp back at the CFA (the frame's
/// allocation is released first). Records the epilogue's start and the frame restored.
fn emit_frame_teardown(sink: &mut Sink, info: &EmitInfo, frame: &FrameLayout) -> CodegenResult<()> {
    let mut scratch = EmitState::default();
    let n = frame.frame_below_fp() - frame.clobber_size;
    emit_add_imm(sink, info, writable_stack_reg(), stack_reg(), n as i64)?;
    let sp_post = |off: i16| PairAMode::PostIndexed { rn: stack_reg(), off };
    for (a, b, slot) in save_slots(frame).into_iter().rev() {
        let off = slot as i16;
        match b {
            Some(b) => Inst::LoadPair {
                op: pair_op_of(&a),
                rt: Writable::from_reg(Reg::phys(a.reg)),
                rt2: Writable::from_reg(Reg::phys(b.reg)),
                mem: sp_post(off),
                trap: None,
            }
            .emit(sink, info, &mut scratch)?,
            None => {
                let (op, _) = single_op(&a);
                let mem = AMode::PostIndexed { rn: stack_reg(), off };
                Inst::Load { op, rd: Writable::from_reg(Reg::phys(a.reg)), mem, trap: None }.emit(
                    sink,
                    info,
                    &mut scratch,
                )?
            }
        }
    }
    let (fp, lr) = (crate::aarch64::regs::fp_reg(), crate::aarch64::regs::link_reg());
    Inst::LoadPair {
        op: PairOp::X,
        rt: Writable::from_reg(fp),
        rt2: Writable::from_reg(lr),
        mem: sp_post(16),
        trap: None,
    }
    .emit(sink, info, &mut scratch)?;
    sink.add_unwind(UnwindInst::FrameRestored { offset_upward_to_caller_sp: 0 });
    Ok(())
}

/// The epilogue and `ret` (popping `pop` bytes of stack arguments for `tail`).
fn emit_return(sink: &mut Sink, info: &EmitInfo, state: &EmitState, pop: u32) -> CodegenResult<()> {
    let frame = &state.frame;
    let sign = signs_return_address(info, frame);
    let records = frame.has_frame || sign;
    if records {
        sink.add_unwind(UnwindInst::EpilogueStart);
    }
    if frame.has_frame {
        emit_frame_teardown(sink, info, frame)?;
    }
    if sign && info.settings.has_pauth && pop == 0 {
        put(sink, if info.settings.sign_return_address_with_bkey { 0xd65f_0fff } else { 0xd65f_0bff });
    } else {
        if sign {
            hint(sink, pac_hint(info, false));
            sink.add_unwind(UnwindInst::Aarch64SetPointerAuth { return_addresses: false });
        }
        emit_add_imm(sink, info, writable_stack_reg(), stack_reg(), pop as i64)?;
        put(sink, 0xd65f_03c0);
    }
    if records {
        sink.add_unwind(UnwindInst::EpilogueEnd);
    }
    Ok(())
}

/// A tail call: restore the callee-saves and x29/x30, copy the new callee's stack
/// arguments (at the bottom of the outgoing area) over the top of the incoming area, set sp
/// to where the new callee's arguments start, jump (an indirect callee is in x9; with
/// BTI it is jumped to through x17, which `bti c` accepts).
fn emit_return_call(sink: &mut Sink, info: &EmitInfo, state: &EmitState, ci: &CallInfo) -> CodegenResult<()> {
    let f = &state.frame;
    let args_off = f.incoming_args_from_sp() as i64;
    let a_f = f.incoming_args_size as i64;
    let a_g = ci.tail_stack_args as i64;
    let delta = args_off + a_f - a_g;
    check(delta >= 0, || "tail call moving stack arguments down".into())?;
    let sign = signs_return_address(info, f);
    let epilogue = f.has_frame || delta != 0 || sign;
    if epilogue {
        sink.add_unwind(UnwindInst::EpilogueStart);
    }
    let sp = stack_reg();
    let mut scratch = EmitState::default();
    if f.has_frame {
        let fb = f.frame_below_fp() as i64;
        for save in &f.callee_saves {
            let (op, _) = single_op(save);
            let mem = AMode::BaseOffset { rn: sp, off: fb - save.offset as i64 };
            Inst::Load { op, rd: Writable::from_reg(Reg::phys(save.reg)), mem, trap: None }.emit(
                sink,
                info,
                &mut scratch,
            )?;
        }
        let (fp, lr) = (crate::aarch64::regs::fp_reg(), crate::aarch64::regs::link_reg());
        for (r, off) in [(fp, fb), (lr, fb + 8)] {
            let mem = AMode::BaseOffset { rn: sp, off };
            Inst::Load { op: LoadOp::LdrX, rd: Writable::from_reg(r), mem, trap: None }.emit(
                sink,
                info,
                &mut scratch,
            )?;
        }
        sink.add_unwind(UnwindInst::FrameRestored { offset_upward_to_caller_sp: args_off as u32 });
    }
    // Copy downward-overlapping regions from the top (the destination is higher).
    let mut i = a_g - 8;
    while i >= 0 {
        let t = Writable::from_reg(tmp1_reg());
        load_via_x17(sink, info, t, sp, i)?;
        store_via_x17(sink, info, tmp1_reg(), sp, delta + i)?;
        i -= 8;
    }
    if sign {
        // Authenticate with sp at the CFA, as it was when the address was signed.
        emit_add_imm(sink, info, writable_stack_reg(), sp, args_off)?;
        sink.add_unwind(UnwindInst::FrameRestored { offset_upward_to_caller_sp: 0 });
        hint(sink, pac_hint(info, false));
        sink.add_unwind(UnwindInst::Aarch64SetPointerAuth { return_addresses: false });
        emit_add_imm(sink, info, writable_stack_reg(), sp, a_f - a_g)?;
    } else {
        emit_add_imm(sink, info, writable_stack_reg(), sp, delta)?;
        if delta == args_off && (f.has_frame || delta != 0) {
            sink.add_unwind(UnwindInst::FrameRestored { offset_upward_to_caller_sp: 0 });
        }
    }
    match &ci.dest {
        CallDest::Name { name, colocated: true } => {
            sink.add_reloc(Reloc::Arm64Call, name.clone(), 0);
            put(sink, 0x1400_0000);
        }
        CallDest::Name { name, colocated: false } => {
            emit_far_address(sink, tmp2_reg(), name, 0)?;
            put(sink, 0xd61f_0000 | enc(tmp2_reg()) << 5);
        }
        CallDest::Indirect(r) => {
            if info.settings.use_bti {
                put(sink, enc_logical_shift(ALUOp::Orr, 1, enc(tmp2_reg()), 31, rz(*r)?, ShiftOp::Lsl, 0));
                put(sink, 0xd61f_0000 | enc(tmp2_reg()) << 5);
            } else {
                put(sink, 0xd61f_0000 | rz(*r)? << 5);
            }
        }
    }
    if epilogue {
        sink.add_unwind(UnwindInst::EpilogueEnd);
    }
    Ok(())
}

/// `ldr rd, [base, #off]` for any offset, with x17 for a large one.
fn load_via_x17(sink: &mut Sink, info: &EmitInfo, rd: Writable<Reg>, base: Reg, off: i64) -> CodegenResult<()> {
    let mem = match AMode::reg_offset(base, off, ScalarSize::Size64) {
        Some(m) => m,
        None => {
            for k in Inst::load_constant(Writable::from_reg(tmp2_reg()), off as u64, OperandSize::Size64) {
                k.emit(sink, info, &mut EmitState::default())?;
            }
            AMode::RegOffset { rn: base, rm: tmp2_reg(), extend: RegExtend::Lsl, scaled: false }
        }
    };
    Inst::Load { op: LoadOp::LdrX, rd, mem, trap: None }.emit(sink, info, &mut EmitState::default())
}

/// `str rt, [base, #off]` for any offset, with x17 for a large one.
fn store_via_x17(sink: &mut Sink, info: &EmitInfo, rt: Reg, base: Reg, off: i64) -> CodegenResult<()> {
    let mem = match AMode::reg_offset(base, off, ScalarSize::Size64) {
        Some(m) => m,
        None => {
            for k in Inst::load_constant(Writable::from_reg(tmp2_reg()), off as u64, OperandSize::Size64) {
                k.emit(sink, info, &mut EmitState::default())?;
            }
            AMode::RegOffset { rn: base, rm: tmp2_reg(), extend: RegExtend::Lsl, scaled: false }
        }
    };
    Inst::Store { op: StoreOp::StrX, rt, mem, trap: None }.emit(sink, info, &mut EmitState::default())
}

impl MachInstEmit for Inst {
    type Info = EmitInfo;
    type State = ();

    fn emit(&self, sink: &mut Sink, info: &EmitInfo, state: &mut EmitState) -> CodegenResult<()> {
        Inst::emit(self, sink, info, state)
    }

    fn emit_prologue(sink: &mut Sink, info: &EmitInfo, state: &mut EmitState) -> CodegenResult<()> {
        emit_prologue(sink, info, state)
    }

    fn emit_block_start(
        sink: &mut Sink,
        info: &EmitInfo,
        _state: &mut EmitState,
        block: &BlockStart,
    ) -> CodegenResult<()> {
        // Blocks entered by an indirect branch (jump tables, the unwinder's jump to a
        // landing pad) start with a landing pad for jumps; the entry's is in the prologue.
        if info.settings.use_bti && !block.entry && (block.flags.indirect_target || block.flags.landing_pad) {
            hint(sink, HintOp::BtiJ);
        }
        Ok(())
    }

    fn is_plain_jump(&self) -> Option<MachLabel> {
        match self {
            Inst::Jump { dest } => Some(*dest),
            _ => None,
        }
    }

    fn worst_case_size(&self) -> u32 {
        // Every form and fixed sequence fits in 256 bytes with its constants and trap
        // stubs (an epilogue restores at most 30 pairs); jump tables and tail calls grow
        // with their tables and stack arguments.
        const BASE: u32 = 256;
        match self {
            Inst::JumpTable { targets, .. } => BASE + 4 * targets.len() as u32,
            Inst::ReturnCall { info } => BASE.saturating_add(info.tail_stack_args.saturating_mul(6)),
            Inst::Rets { .. } => 2 * BASE,
            _ => BASE,
        }
    }
}

/// A scalar FP size the instruction supports: h (with `has_fp16`), s or d.
fn fp_scalar(info: &EmitInfo, size: ScalarSize) -> CodegenResult<()> {
    check(matches!(size, ScalarSize::Size16 | ScalarSize::Size32 | ScalarSize::Size64), || {
        format!("scalar FP of {size:?}")
    })?;
    need(size != ScalarSize::Size16 || info.settings.has_fp16, "half-precision arithmetic", "has_fp16")
}

/// An extension the instruction needs: its absence is an `unsupported` error.
fn need(ok: bool, what: &str, flag: &str) -> CodegenResult<()> {
    if ok { Ok(()) } else { Err(CodegenError::Unsupported(format!("{what} on aarch64 without {flag}"))) }
}

fn check_vec_alu(op: VecALUOp, size: VectorSize) -> CodegenResult<()> {
    let lane = size.lane_size();
    let ok = if op.is_fp() {
        matches!(size, VectorSize::Size32x2 | VectorSize::Size32x4 | VectorSize::Size64x2)
    } else if op.is_bitwise() {
        matches!(size, VectorSize::Size8x8 | VectorSize::Size8x16)
    } else {
        size != VectorSize::Size64x1
            && match op {
                VecALUOp::Mul
                | VecALUOp::Smax
                | VecALUOp::Umax
                | VecALUOp::Smin
                | VecALUOp::Umin
                | VecALUOp::Srhadd
                | VecALUOp::Urhadd
                | VecALUOp::Smaxp
                | VecALUOp::Umaxp
                | VecALUOp::Sminp
                | VecALUOp::Uminp => lane != ScalarSize::Size64,
                VecALUOp::Sqrdmulh | VecALUOp::Sqdmulh => {
                    matches!(lane, ScalarSize::Size16 | ScalarSize::Size32)
                }
                _ => true,
            }
    };
    check(ok, || format!("{op:?} on {size:?}"))
}

fn vec_mod_ok(op: VecALUModOp, size: VectorSize) -> bool {
    use VectorSize::*;
    match op {
        VecALUModOp::Bsl | VecALUModOp::Bit | VecALUModOp::Bif => matches!(size, Size8x8 | Size8x16),
        VecALUModOp::Mla | VecALUModOp::Mls => !matches!(size, Size64x1 | Size64x2),
        VecALUModOp::Fmla | VecALUModOp::Fmls => matches!(size, Size32x2 | Size32x4 | Size64x2),
    }
}

fn vec_misc_ok(op: VecMisc2, size: VectorSize) -> bool {
    use VecMisc2::*;
    use VectorSize::*;
    let lane = size.lane_size().bits();
    if size == Size64x1 {
        return false;
    }
    match op {
        Not | Cnt | Rbit | Rev16 => lane == 8,
        Rev32 => lane <= 16,
        Rev64 | Cls | Clz | Saddlp | Uaddlp | Shll => lane <= 32,
        Abs | Neg | Cmeq0 | Cmge0 | Cmgt0 | Cmle0 | Cmlt0 => true,
        Fcvtl => matches!(size, Size16x4 | Size16x8 | Size32x2 | Size32x4),
        _ => matches!(size, Size32x2 | Size32x4 | Size64x2),
    }
}

fn vec_narrow_ok(op: VecNarrowOp, size: VectorSize) -> bool {
    use VectorSize::*;
    match op {
        VecNarrowOp::Fcvtn => matches!(size, Size16x4 | Size16x8 | Size32x2 | Size32x4),
        _ => size.lane_size().bits() <= 32 && size != Size64x1,
    }
}

/// Writeback to a register the same access loads or stores is unpredictable.
fn writeback_ok(mem_rn: Reg, regs: &[Reg]) -> bool {
    regs.iter().all(|&t| is_zr(t) || t.class() != RegClass::Int || t != mem_rn)
}

fn cond_branch(sink: &mut Sink, kind: CondBrKind, target: MachLabel) -> CodegenResult<()> {
    let (w, k) = enc_cond_br(kind)?;
    sink.add_branch(target, if k == LabelUse::Branch14 { A64Branch::Cond14(w) } else { A64Branch::Cond19(w) });
    Ok(())
}

fn emit_pair(
    sink: &mut Sink,
    op: PairOp,
    load: bool,
    t: u32,
    t2: u32,
    mem: &PairAMode,
    trap: Option<kiln_ir::trapcode::TrapCode>,
) -> CodegenResult<()> {
    let (idx, rn, off) = match *mem {
        PairAMode::SignedOffset { rn, off } => (0b010, rn, off),
        PairAMode::PreIndexed { rn, off } => (0b011, rn, off),
        PairAMode::PostIndexed { rn, off } => (0b001, rn, off),
    };
    let w = enc_ldst_pair(op, load, idx, t, t2, rs(rn)?, pair_imm7(op, off)?);
    trap_here(sink, trap);
    put(sink, w);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_use_ranges_and_patching() {
        // Each kind reaches exactly its documented range, in words where it counts words.
        for k in LabelUse::ALL {
            let base = 1u32 << 31; // room on both sides
            let pos = k.max_pos_range();
            let neg = k.max_neg_range();
            if k == LabelUse::Adrp21 {
                continue;
            }
            assert!(k.patch(0, base, (base as i64 + pos) as u32).is_some(), "{k:?} +max");
            assert!(k.patch(0, base, (base as i64 - neg) as u32).is_some(), "{k:?} -max");
            let step = if matches!(k, LabelUse::Adr21 | LabelUse::PCRel32) { 1 } else { 4 };
            if k != LabelUse::PCRel32 {
                assert!(k.patch(0, base, (base as i64 + pos + step) as u32).is_none(), "{k:?} beyond +max");
                assert!(k.patch(0, base, (base as i64 - neg - step) as u32).is_none(), "{k:?} beyond -max");
            }
        }
        // Field placement: b +8, b.eq -4, tbz +0x7ffc, ldr literal +0x100, adr -1.
        assert_eq!(LabelUse::Branch26.patch(0x1400_0000, 100, 108), Some(0x1400_0002));
        assert_eq!(LabelUse::Branch19.patch(0x5400_0000, 100, 96), Some(0x54ff_ffe0));
        assert_eq!(LabelUse::Branch14.patch(0x3600_0000, 0, 0x7ffc), Some(0x3603_ffe0));
        assert_eq!(LabelUse::Ldr19.patch(0x5800_0000, 0x1000, 0x1100), Some(0x5800_0800));
        assert_eq!(LabelUse::Adr21.patch(0x1000_0000, 5, 4), Some(0x70ff_ffe0));
        assert_eq!(LabelUse::Branch19.patch(0x5400_0000, 0, 2), None, "misaligned");
        // adrp: page differences.
        assert_eq!(LabelUse::Adrp21.patch(0x9000_0000, 0xfff, 0x1000), Some(0xb000_0000));
        assert_eq!(LabelUse::Adrp21.patch(0x9000_0000, 0x1000, 0xfff), Some(0xf0ff_ffe0));
        assert_eq!(LabelUse::PCRel32.patch(0, 8, 0), Some(-8i32 as u32));
    }

    #[test]
    fn veneers_extend_the_reach() {
        assert_eq!(LabelUse::Branch14.veneer(), Some((LabelUse::Branch26, 4)));
        assert_eq!(LabelUse::Branch19.veneer(), Some((LabelUse::Branch26, 4)));
        assert_eq!(LabelUse::Branch26.veneer(), Some((LabelUse::PCRel32, LONG_BRANCH_SIZE)));
        assert_eq!(LabelUse::Ldr19.veneer(), None);
        for k in [LabelUse::Branch14, LabelUse::Branch19, LabelUse::Branch26] {
            let (v, size) = k.veneer().unwrap();
            let (words, field) = k.veneer_words().unwrap();
            assert_eq!(words.len() as u32 * 4, size);
            assert!(field < size);
            assert!(v.max_pos_range() > k.max_pos_range());
        }
        // The long branch: data word = target - (at + 16).
        let seq = long_branch_sequence(0x100, 0x40).unwrap();
        assert_eq!(seq[4] as i32, 0x40 - 0x110);
    }

    #[test]
    fn conditional_branches_invert() {
        assert_eq!(invert_cond_branch(enc_bcond(Cond::Eq)), enc_bcond(Cond::Ne));
        assert_eq!(invert_cond_branch(0x3400_0003), 0x3500_0003); // cbz → cbnz
        assert_eq!(invert_cond_branch(0xb600_0003), 0xb700_0003); // tbz → tbnz, bit 32+
    }

    #[test]
    fn long_form_branches_relax() {
        use kiln_codegen::machinst::buffer::FinishedCode;
        let info = EmitInfo::new(Flags::new(), IsaFlags::new(kiln_ir::settings::Arch::Aarch64));
        let mut b = MachBuffer::new(info.clone());
        let far = b.get_label();
        let tbz = enc_cond_br(CondBrKind::TestBitZero(crate::aarch64::regs::xreg(3), 40)).unwrap().0;
        assert_eq!(tbz, 0xb640_0003);
        b.add_branch(far, A64Branch::Cond14(tbz));
        b.add_branch(far, A64Branch::B);
        b.put_data(&vec![0; 40_000]);
        b.bind_label(far);
        b.put4(0xd65f_03c0);
        let mut out = FinishedCode::default();
        b.finish(&mut out).unwrap();
        let w = |i: usize| u32::from_le_bytes(out.bytes[i..i + 4].try_into().unwrap());
        // Beyond tbz's ±32 KiB: tbnz over a `b`, then the `b`; then a short `b`.
        let target = out.label_offsets[far.0 as usize];
        assert_eq!(w(0), 0xb740_0003 | (2 << 5));
        assert_eq!(w(4), 0x1400_0000 | ((target - 4) / 4));
        assert_eq!(w(8), 0x1400_0000 | ((target - 8) / 4));
        // Beyond ±128 MiB: the inverted branch over the long sequence.
        let mut out = Vec::new();
        let disp = 200 << 20;
        let forms = info.branch_forms(&A64Branch::Cond14(tbz));
        assert!(!forms[1].reaches(disp) && forms[2].reaches(disp));
        info.encode_branch(&A64Branch::Cond14(tbz), 2, 0x100, disp, &mut out);
        let w = |i: usize| u32::from_le_bytes(out[i..i + 4].try_into().unwrap());
        assert_eq!(out.len(), 24);
        assert_eq!(w(0), 0xb740_0003 | (6 << 5));
        assert_eq!(w(4), 0x9800_0090);
        assert_eq!(w(20) as i32 as i64, 0x100 + disp - (0x100 + 20));
    }
}

//! Pure riscv64 encoders: one function per instruction format (R, R4, I, S, B, U, J and
//! the vector OP-V layout), the compression of a 32-bit instruction word into its 2-byte
//! form (C/Zca, Zcd, Zcb), and the patch functions of every PC-relative label use
//! (compressed and full branches and jumps, `auipc`-based pairs).
//!
//! Everything here works on plain integers (hardware register numbers, immediates, the
//! fixed bits of an opcode written as the `MATCH` word of the ISA manual's opcode map), so
//! it can be tested on its own and used by any buffer. Invariants: an encoder never
//! silently truncates an operand (debug assertions check ranges; callers check them first
//! with the `fits_*` helpers); [`try_compress`] returns a 2-byte word only when that word
//! decodes to exactly the same operation as the 4-byte word; a patch function returns
//! `None` (and changes nothing) when the offset is out of range or misaligned.

/// Does `v` fit in a signed field of `bits` bits?
#[inline]
pub fn fits_signed(v: i64, bits: u32) -> bool {
    let lim = 1i64 << (bits - 1);
    (-lim..lim).contains(&v)
}

/// Does `v` fit in a signed 12-bit immediate?
#[inline]
pub fn fits_imm12(v: i64) -> bool {
    fits_signed(v, 12)
}

#[inline]
fn r5(n: u8) -> u32 {
    debug_assert!(n < 32);
    (n & 31) as u32
}

/// R-type: `match | rd | rs1 | rs2`.
#[inline]
pub fn enc_r(m: u32, rd: u8, rs1: u8, rs2: u8) -> u32 {
    m | r5(rd) << 7 | r5(rs1) << 15 | r5(rs2) << 20
}

/// R-type with a rounding-mode field (bits 14:12).
#[inline]
pub fn enc_r_rm(m: u32, rd: u8, rs1: u8, rs2: u8, rm: u8) -> u32 {
    enc_r(m, rd, rs1, rs2) | ((rm & 7) as u32) << 12
}

/// R4-type (fused multiply-add): `rs3` in bits 31:27.
#[inline]
pub fn enc_r4(m: u32, rd: u8, rs1: u8, rs2: u8, rs3: u8, rm: u8) -> u32 {
    enc_r_rm(m, rd, rs1, rs2, rm) | r5(rs3) << 27
}

/// I-type: a signed 12-bit immediate in bits 31:20.
#[inline]
pub fn enc_i(m: u32, rd: u8, rs1: u8, imm: i32) -> u32 {
    debug_assert!(fits_imm12(imm as i64), "imm12 {imm}");
    m | r5(rd) << 7 | r5(rs1) << 15 | ((imm as u32) & 0xfff) << 20
}

/// S-type: a signed 12-bit offset split into bits 31:25 and 11:7.
#[inline]
pub fn enc_s(m: u32, rs1: u8, rs2: u8, imm: i32) -> u32 {
    debug_assert!(fits_imm12(imm as i64), "imm12 {imm}");
    let imm = imm as u32;
    m | (imm & 0x1f) << 7 | r5(rs1) << 15 | r5(rs2) << 20 | ((imm >> 5) & 0x7f) << 25
}

/// B-type: a signed, even 13-bit offset.
#[inline]
pub fn enc_b(m: u32, rs1: u8, rs2: u8, off: i32) -> u32 {
    m | r5(rs1) << 15 | r5(rs2) << 20 | b_imm(off)
}

/// The immediate bits of a B-type offset.
#[inline]
pub fn b_imm(off: i32) -> u32 {
    let o = off as u32;
    ((o >> 12) & 1) << 31 | ((o >> 5) & 0x3f) << 25 | ((o >> 1) & 0xf) << 8 | ((o >> 11) & 1) << 7
}

/// U-type: a 20-bit immediate in bits 31:12 (`imm20` is the field value).
#[inline]
pub fn enc_u(m: u32, rd: u8, imm20: u32) -> u32 {
    m | r5(rd) << 7 | (imm20 & 0xfffff) << 12
}

/// J-type: a signed, even 21-bit offset.
#[inline]
pub fn enc_j(m: u32, rd: u8, off: i32) -> u32 {
    m | r5(rd) << 7 | j_imm(off)
}

/// The immediate bits of a J-type offset.
#[inline]
pub fn j_imm(off: i32) -> u32 {
    let o = off as u32;
    ((o >> 20) & 1) << 31 | ((o >> 1) & 0x3ff) << 21 | ((o >> 11) & 1) << 20 | ((o >> 12) & 0xff) << 12
}

/// OP-V arithmetic: `funct6 | vm | vs2 | vs1/rs1/imm5 | funct3 | vd | 0x57`. `vm` is the
/// instruction bit: 1 = unmasked, 0 = masked by `v0`.
#[inline]
pub fn enc_opv(funct6: u8, vm: bool, vs2: u8, src1: u8, funct3: u8, vd: u8) -> u32 {
    0x57 | r5(vd) << 7
        | ((funct3 & 7) as u32) << 12
        | r5(src1) << 15
        | r5(vs2) << 20
        | (vm as u32) << 25
        | ((funct6 & 0x3f) as u32) << 26
}

/// Split a 32-bit PC-relative or absolute offset into the `auipc`/`lui` part and the
/// sign-extended 12-bit rest: `(hi20 << 12) + lo12 == v` (mod 2^32). `None` if `v` is out of
/// the reach of the pair (±2 GiB around the `auipc`).
pub fn split_hi20_lo12(v: i64) -> Option<(u32, i32)> {
    if !(-(1i64 << 31) - 0x800..(1i64 << 31) - 0x800).contains(&v) {
        return None;
    }
    let hi = ((v + 0x800) >> 12) as u32 & 0xfffff;
    let lo = (v - (((v + 0x800) >> 12) << 12)) as i32;
    Some((hi, lo))
}

// ---------------------------------------------------------------------------------------
// Compression.

/// Which compressed extensions [`try_compress`] may use.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct CompressExts {
    /// Zca (the integer part of C).
    pub zca: bool,
    /// Zcd (compressed double loads and stores).
    pub zcd: bool,
    /// Zcb (byte/half loads and stores, extensions, `c.not`, `c.mul`).
    pub zcb: bool,
    /// Zbb is present (for `c.sext.b`, `c.zext.h`, `c.sext.h`).
    pub zbb: bool,
    /// Zba is present (for `c.zext.w`).
    pub zba: bool,
    /// M is present (for `c.mul`).
    pub m: bool,
}

impl CompressExts {
    /// None at all: [`try_compress`] always returns `None`.
    pub const NONE: CompressExts =
        CompressExts { zca: false, zcd: false, zcb: false, zbb: false, zba: false, m: false };
}

/// Is `x` one of x8–x15 (the registers of the 3-bit compressed fields)?
#[inline]
pub fn is_creg(x: u8) -> bool {
    (8..16).contains(&x)
}

#[inline]
fn c3(x: u8) -> u16 {
    (x - 8) as u16
}

/// Scatter the bits of `v`: `spec[i] = (bit of v, bit of the result)`.
#[inline]
fn scatter(v: u32, spec: &[(u8, u8)]) -> u16 {
    spec.iter().fold(0u16, |acc, &(from, to)| acc | ((((v >> from) & 1) as u16) << to))
}

// Immediate layouts of the compressed formats (value bit → instruction bit).
const CI_IMM6: [(u8, u8); 6] = [(5, 12), (4, 6), (3, 5), (2, 4), (1, 3), (0, 2)];
const C_LDSP: [(u8, u8); 6] = [(5, 12), (4, 6), (3, 5), (8, 4), (7, 3), (6, 2)];
const C_LWSP: [(u8, u8); 6] = [(5, 12), (4, 6), (3, 5), (2, 4), (7, 3), (6, 2)];
const C_SDSP: [(u8, u8); 6] = [(5, 12), (4, 11), (3, 10), (8, 9), (7, 8), (6, 7)];
const C_SWSP: [(u8, u8); 6] = [(5, 12), (4, 11), (3, 10), (2, 9), (7, 8), (6, 7)];
const C_LD: [(u8, u8); 5] = [(5, 12), (4, 11), (3, 10), (7, 6), (6, 5)];
const C_LW: [(u8, u8); 5] = [(5, 12), (4, 11), (3, 10), (2, 6), (6, 5)];
const C_ADDI4SPN: [(u8, u8); 8] = [(5, 12), (4, 11), (9, 10), (8, 9), (7, 8), (6, 7), (2, 6), (3, 5)];
const C_ADDI16SP: [(u8, u8); 6] = [(9, 12), (4, 6), (6, 5), (8, 4), (7, 3), (5, 2)];
const C_J: [(u8, u8); 11] =
    [(11, 12), (4, 11), (9, 10), (8, 9), (10, 8), (6, 7), (7, 6), (3, 5), (2, 4), (1, 3), (5, 2)];
const C_B: [(u8, u8); 8] = [(8, 12), (4, 11), (3, 10), (7, 6), (6, 5), (2, 4), (1, 3), (5, 2)];

/// Fields of a 32-bit instruction word.
#[derive(Copy, Clone)]
struct Word(u32);

impl Word {
    fn opcode(self) -> u32 {
        self.0 & 0x7f
    }
    fn rd(self) -> u8 {
        ((self.0 >> 7) & 31) as u8
    }
    fn f3(self) -> u32 {
        (self.0 >> 12) & 7
    }
    fn rs1(self) -> u8 {
        ((self.0 >> 15) & 31) as u8
    }
    fn rs2(self) -> u8 {
        ((self.0 >> 20) & 31) as u8
    }
    fn f7(self) -> u32 {
        self.0 >> 25
    }
    fn imm_i(self) -> i32 {
        (self.0 as i32) >> 20
    }
    fn imm_s(self) -> i32 {
        ((self.0 as i32) >> 25) << 5 | ((self.0 >> 7) & 31) as i32
    }
}

/// The 2-byte form of the 32-bit instruction `word`, if one exists for its operands and
/// the enabled extensions. Branches and jumps with label targets are not compressed here
/// (their form is chosen when the target is known); `jalr`, `ebreak` and `unimp` are.
pub fn try_compress(word: u32, ext: CompressExts) -> Option<u16> {
    if !ext.zca {
        return None;
    }
    let w = Word(word);
    let (rd, rs1, rs2) = (w.rd(), w.rs1(), w.rs2());
    let ci = |f3: u16, op: u16, rd: u8, imm: i32| -> u16 {
        f3 << 13 | (rd as u16) << 7 | scatter(imm as u32, &CI_IMM6) | op
    };
    let ca = |f6: u16, f2: u16, rd: u8, rs2: u8| -> u16 { f6 << 10 | c3(rd) << 7 | f2 << 5 | c3(rs2) << 2 | 1 };
    let cb_imm = |f2: u16, rd: u8, imm: u32| -> u16 {
        0b100 << 13 | (((imm >> 5) & 1) as u16) << 12 | f2 << 10 | c3(rd) << 7 | ((imm & 31) as u16) << 2 | 1
    };
    let zcb_unary = |rd: u8, sub: u16| -> u16 { 0b100111 << 10 | c3(rd) << 7 | 0b11 << 5 | sub << 2 | 1 };
    match (w.opcode(), w.f3()) {
        // OP-IMM
        (0x13, 0) => {
            let imm = w.imm_i();
            if rd == 0 && rs1 == 0 && imm == 0 {
                return Some(0x0001); // c.nop
            }
            if rd == 0 {
                return None;
            }
            if rd == rs1 && imm != 0 && fits_signed(imm as i64, 6) {
                return Some(ci(0b000, 1, rd, imm)); // c.addi
            }
            if rd == 2 && rs1 == 2 && imm != 0 && imm % 16 == 0 && (-512..=496).contains(&imm) {
                return Some(0b011 << 13 | 2 << 7 | scatter(imm as u32, &C_ADDI16SP) | 1);
            }
            if rs1 == 2 && is_creg(rd) && imm > 0 && imm % 4 == 0 && imm <= 1020 {
                return Some(scatter(imm as u32, &C_ADDI4SPN) | c3(rd) << 2); // c.addi4spn
            }
            if rs1 == 0 && fits_signed(imm as i64, 6) {
                return Some(ci(0b010, 1, rd, imm)); // c.li
            }
            if imm == 0 && rs1 != 0 {
                return Some(0b100 << 13 | (rd as u16) << 7 | (rs1 as u16) << 2 | 2); // c.mv
            }
            None
        }
        (0x13, 1) if w.f7() >> 1 == 0 => {
            let sh = (word >> 20) & 63;
            (rd == rs1 && rd != 0 && sh != 0).then(|| ci(0b000, 2, rd, sh as i32)) // c.slli
        }
        (0x13, 5) if rd == rs1 && is_creg(rd) && (w.f7() >> 1 == 0 || w.f7() >> 1 == 0b010000) => {
            let sh = (word >> 20) & 63;
            let f2 = if w.f7() >> 1 == 0 { 0 } else { 1 };
            (sh != 0).then(|| cb_imm(f2, rd, sh)) // c.srli / c.srai
        }
        (0x13, 7) if rd == rs1 && is_creg(rd) => {
            let imm = w.imm_i();
            if fits_signed(imm as i64, 6) {
                Some(cb_imm(0b10, rd, imm as u32)) // c.andi
            } else if imm == 255 && ext.zcb {
                Some(zcb_unary(rd, 0b000)) // c.zext.b
            } else {
                None
            }
        }
        (0x13, 4) if ext.zcb && rd == rs1 && is_creg(rd) && w.imm_i() == -1 => Some(zcb_unary(rd, 0b101)), // c.not
        // Zbb sext.b / sext.h (OP-IMM f3=1, fixed rs2 field).
        (0x13, 1) if ext.zcb && ext.zbb && rd == rs1 && is_creg(rd) && w.f7() == 0b0110000 => match rs2 {
            0b00100 => Some(zcb_unary(rd, 0b001)),
            0b00101 => Some(zcb_unary(rd, 0b011)),
            _ => None,
        },
        // OP-IMM-32: addiw.
        (0x1b, 0) if rd != 0 && fits_signed(w.imm_i() as i64, 6) && (rd == rs1 || rs1 == 0) => {
            // addiw rd, zero, imm is `li rd, imm` (the value is already sign-extended).
            Some(ci(if rs1 == 0 { 0b010 } else { 0b001 }, 1, rd, w.imm_i()))
        }
        // LUI
        (0x37, _) => {
            let imm20 = (word >> 12) as i32;
            let v = (imm20 << 12) >> 12; // sign-extend the 20-bit field
            (rd != 0 && rd != 2 && v != 0 && fits_signed(v as i64, 6)).then(|| ci(0b011, 1, rd, v))
        }
        // OP
        (0x33, _) => compress_op(w, ext, ca),
        // OP-32: addw, subw; Zba add.uw rd, rd, zero (zext.w).
        (0x3b, 0) if is_creg(rd) => {
            let (a, b) = if rd == rs1 { (rd, rs2) } else { (rs2, rs1) };
            match w.f7() {
                0 if a == rd && is_creg(b) => Some(ca(0b100111, 0b01, rd, b)), // c.addw
                0b0100000 if rd == rs1 && is_creg(rs2) => Some(ca(0b100111, 0b00, rd, rs2)), // c.subw
                0b0000100 if ext.zcb && ext.zba && rd == rs1 && rs2 == 0 => Some(zcb_unary(rd, 0b100)), // c.zext.w
                _ => None,
            }
        }
        // Zbb zext.h (OP-32 f3=4, funct7 0000100, rs2=0).
        (0x3b, 4) if ext.zcb && ext.zbb && rd == rs1 && is_creg(rd) && w.f7() == 0b0000100 && rs2 == 0 => {
            Some(zcb_unary(rd, 0b010))
        }
        // LOAD
        (0x03, f3) => {
            let off = w.imm_i();
            match f3 {
                3 if rd != 0 && rs1 == 2 && off & 7 == 0 && (0..=504).contains(&off) => {
                    Some(0b011 << 13 | (rd as u16) << 7 | scatter(off as u32, &C_LDSP) | 2)
                }
                2 if rd != 0 && rs1 == 2 && off & 3 == 0 && (0..=252).contains(&off) => {
                    Some(0b010 << 13 | (rd as u16) << 7 | scatter(off as u32, &C_LWSP) | 2)
                }
                3 if is_creg(rd) && is_creg(rs1) && off & 7 == 0 && (0..=248).contains(&off) => {
                    Some(0b011 << 13 | c3(rs1) << 7 | c3(rd) << 2 | scatter(off as u32, &C_LD))
                }
                2 if is_creg(rd) && is_creg(rs1) && off & 3 == 0 && (0..=124).contains(&off) => {
                    Some(0b010 << 13 | c3(rs1) << 7 | c3(rd) << 2 | scatter(off as u32, &C_LW))
                }
                4 if ext.zcb && is_creg(rd) && is_creg(rs1) && (0..=3).contains(&off) => Some(
                    0b100000 << 10
                        | c3(rs1) << 7
                        | ((off & 1) as u16) << 6
                        | (((off >> 1) & 1) as u16) << 5
                        | c3(rd) << 2,
                ),
                5 | 1 if ext.zcb && is_creg(rd) && is_creg(rs1) && (off == 0 || off == 2) => {
                    let signed = (f3 == 1) as u16;
                    Some(0b100001 << 10 | c3(rs1) << 7 | signed << 6 | ((off >> 1) as u16) << 5 | c3(rd) << 2)
                }
                _ => None,
            }
        }
        // LOAD-FP: fld.
        (0x07, 3) if ext.zcd => {
            let off = w.imm_i();
            if rs1 == 2 && off & 7 == 0 && (0..=504).contains(&off) {
                Some(0b001 << 13 | (rd as u16) << 7 | scatter(off as u32, &C_LDSP) | 2)
            } else if is_creg(rd) && is_creg(rs1) && off & 7 == 0 && (0..=248).contains(&off) {
                Some(0b001 << 13 | c3(rs1) << 7 | c3(rd) << 2 | scatter(off as u32, &C_LD))
            } else {
                None
            }
        }
        // STORE
        (0x23, f3) => {
            let off = w.imm_s();
            match f3 {
                3 if rs1 == 2 && off & 7 == 0 && (0..=504).contains(&off) => {
                    Some(0b111 << 13 | scatter(off as u32, &C_SDSP) | (rs2 as u16) << 2 | 2)
                }
                2 if rs1 == 2 && off & 3 == 0 && (0..=252).contains(&off) => {
                    Some(0b110 << 13 | scatter(off as u32, &C_SWSP) | (rs2 as u16) << 2 | 2)
                }
                3 if is_creg(rs2) && is_creg(rs1) && off & 7 == 0 && (0..=248).contains(&off) => {
                    Some(0b111 << 13 | c3(rs1) << 7 | c3(rs2) << 2 | scatter(off as u32, &C_LD))
                }
                2 if is_creg(rs2) && is_creg(rs1) && off & 3 == 0 && (0..=124).contains(&off) => {
                    Some(0b110 << 13 | c3(rs1) << 7 | c3(rs2) << 2 | scatter(off as u32, &C_LW))
                }
                0 if ext.zcb && is_creg(rs2) && is_creg(rs1) && (0..=3).contains(&off) => Some(
                    0b100010 << 10
                        | c3(rs1) << 7
                        | ((off & 1) as u16) << 6
                        | (((off >> 1) & 1) as u16) << 5
                        | c3(rs2) << 2,
                ),
                1 if ext.zcb && is_creg(rs2) && is_creg(rs1) && (off == 0 || off == 2) => {
                    Some(0b100011 << 10 | c3(rs1) << 7 | ((off >> 1) as u16) << 5 | c3(rs2) << 2)
                }
                _ => None,
            }
        }
        // STORE-FP: fsd.
        (0x27, 3) if ext.zcd => {
            let off = w.imm_s();
            if rs1 == 2 && off & 7 == 0 && (0..=504).contains(&off) {
                Some(0b101 << 13 | scatter(off as u32, &C_SDSP) | (rs2 as u16) << 2 | 2)
            } else if is_creg(rs2) && is_creg(rs1) && off & 7 == 0 && (0..=248).contains(&off) {
                Some(0b101 << 13 | c3(rs1) << 7 | c3(rs2) << 2 | scatter(off as u32, &C_LD))
            } else {
                None
            }
        }
        // JALR rd, 0(rs1) with rd = zero (c.jr) or ra (c.jalr).
        (0x67, 0) if rs1 != 0 && w.imm_i() == 0 && (rd == 0 || rd == 1) => {
            Some(if rd == 0 { 0b1000 << 12 } else { 0b1001 << 12 } | (rs1 as u16) << 7 | 2)
        }
        // SYSTEM: ebreak; unimp (csrrw zero, cycle, zero).
        (0x73, 0) if word == 0x0010_0073 => Some(0x9002),
        (0x73, 1) if word == 0xc000_1073 => Some(0x0000),
        _ => None,
    }
}

/// Compression of the OP major opcode (register-register ALU operations).
fn compress_op(w: Word, ext: CompressExts, ca: impl Fn(u16, u16, u8, u8) -> u16) -> Option<u16> {
    let (rd, rs1, rs2) = (w.rd(), w.rs1(), w.rs2());
    // The other operand when `rd` is one of the sources of a commutative operation.
    let other = if rd == rs1 {
        Some(rs2)
    } else if rd == rs2 {
        Some(rs1)
    } else {
        None
    };
    match (w.f7(), w.f3()) {
        (0, 0) => {
            // add
            if rd == 0 {
                None
            } else if let Some(o) = other.filter(|&o| o != 0) {
                Some(0b1001 << 12 | (rd as u16) << 7 | (o as u16) << 2 | 2) // c.add
            } else if (rs1 == 0) != (rs2 == 0) {
                // add rd, zero, rs / add rd, rs, zero: c.mv rd, rs.
                Some(0b1000 << 12 | (rd as u16) << 7 | (rs1.max(rs2) as u16) << 2 | 2)
            } else {
                None
            }
        }
        (0b0100000, 0) if rd == rs1 && is_creg(rd) && is_creg(rs2) => Some(ca(0b100011, 0b00, rd, rs2)), // c.sub
        (0, 4 | 6 | 7) if is_creg(rd) => {
            let f2 = match w.f3() {
                4 => 0b01,
                6 => 0b10,
                _ => 0b11,
            };
            other.filter(|&o| is_creg(o)).map(|o| ca(0b100011, f2, rd, o)) // c.xor / c.or / c.and
        }
        (1, 0) if ext.zcb && ext.m && is_creg(rd) => other.filter(|&o| is_creg(o)).map(|o| ca(0b100111, 0b10, rd, o)), // c.mul
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Label uses.

/// A PC-relative reference to a label, by the form of the instruction(s) holding it.
/// The offset is always `target - address of the (first) instruction`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum LabelUse {
    /// `c.beqz`/`c.bnez`: 9-bit offset, ±256 B.
    RvcB9,
    /// `c.j`: 12-bit offset, ±2 KiB.
    RvcJ12,
    /// B-type conditional branch: 13-bit offset, ±4 KiB.
    B12,
    /// `jal`: 21-bit offset, ±1 MiB.
    Jal20,
    /// `auipc rX, hi20; jalr/addi/ld …, lo12(rX)`: an 8-byte pair whose second
    /// instruction takes an I-type immediate; ±2 GiB.
    PCRelPairI,
    /// `auipc rX, hi20; sd …, lo12(rX)`: the same with an S-type second instruction.
    PCRelPairS,
    /// `auipc` alone (`pcrel_hi20`), the low part being patched separately.
    PCRelHi20,
    /// An I-type instruction holding `pcrel_lo12` of the `auipc` it refers to; its offset
    /// is `target - address of that auipc`.
    PCRelLo12I,
    /// An S-type instruction holding `pcrel_lo12`.
    PCRelLo12S,
}

impl LabelUse {
    /// Bytes covered by the use.
    pub fn patch_size(self) -> u32 {
        match self {
            LabelUse::RvcB9 | LabelUse::RvcJ12 => 2,
            LabelUse::PCRelPairI | LabelUse::PCRelPairS => 8,
            _ => 4,
        }
    }

    /// The largest forward offset the use reaches.
    pub fn max_pos_range(self) -> i64 {
        match self {
            LabelUse::RvcB9 => 254,
            LabelUse::RvcJ12 => 2046,
            LabelUse::B12 => 4094,
            LabelUse::Jal20 => (1 << 20) - 2,
            _ => (1i64 << 31) - 0x801,
        }
    }

    /// The largest backward offset (a positive number) the use reaches.
    pub fn max_neg_range(self) -> i64 {
        match self {
            LabelUse::RvcB9 => 256,
            LabelUse::RvcJ12 => 2048,
            LabelUse::B12 => 4096,
            LabelUse::Jal20 => 1 << 20,
            _ => (1i64 << 31) + 0x800,
        }
    }

    /// Does `off` fit (range and alignment)?
    pub fn reaches(self, off: i64) -> bool {
        let aligned = match self {
            LabelUse::RvcB9 | LabelUse::RvcJ12 | LabelUse::B12 | LabelUse::Jal20 => off & 1 == 0,
            _ => true,
        };
        aligned && off <= self.max_pos_range() && off >= -self.max_neg_range()
    }

    /// Can a use that cannot reach its label go through a veneer (an unconditional long
    /// jump placed within its reach)? The PC-relative pairs already reach ±2 GiB.
    pub fn supports_veneer(self) -> bool {
        matches!(self, LabelUse::RvcB9 | LabelUse::RvcJ12 | LabelUse::B12 | LabelUse::Jal20)
    }

    /// Bytes of a veneer: `auipc t6, hi; jalr zero, lo(t6)`.
    pub fn veneer_size(self) -> u32 {
        8
    }

    /// Write a veneer into `out` (at least [`veneer_size`](Self::veneer_size) bytes): the
    /// use is then patched to reach the veneer, and the veneer's own use, returned with its
    /// offset inside the veneer, to reach the label.
    pub fn generate_veneer(self, out: &mut [u8]) -> (u32, LabelUse) {
        const T6: u8 = 31;
        out[..4].copy_from_slice(&enc_u(0x17, T6, 0).to_le_bytes());
        out[4..8].copy_from_slice(&enc_i(0x67, 0, T6, 0).to_le_bytes());
        (0, LabelUse::PCRelPairI)
    }

    /// Patch the instruction bytes `bytes` (exactly [`patch_size`](Self::patch_size) long)
    /// for offset `off`. Returns false (bytes unchanged) if `off` is out of reach.
    pub fn patch(self, bytes: &mut [u8], off: i64) -> bool {
        if bytes.len() != self.patch_size() as usize || !self.reaches(off) {
            return false;
        }
        let rd16 = |b: &[u8]| u16::from_le_bytes([b[0], b[1]]);
        let rd32 = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        match self {
            LabelUse::RvcB9 => bytes.copy_from_slice(&patch_rvc_b9(rd16(bytes), off as i32).to_le_bytes()),
            LabelUse::RvcJ12 => bytes.copy_from_slice(&patch_rvc_j12(rd16(bytes), off as i32).to_le_bytes()),
            LabelUse::B12 => bytes.copy_from_slice(&patch_b12(rd32(bytes), off as i32).to_le_bytes()),
            LabelUse::Jal20 => bytes.copy_from_slice(&patch_jal20(rd32(bytes), off as i32).to_le_bytes()),
            LabelUse::PCRelHi20 | LabelUse::PCRelPairI | LabelUse::PCRelPairS => {
                let Some((hi, lo)) = split_hi20_lo12(off) else { return false };
                let auipc = (rd32(bytes) & 0xfff) | hi << 12;
                bytes[..4].copy_from_slice(&auipc.to_le_bytes());
                if self != LabelUse::PCRelHi20 {
                    let second = rd32(&bytes[4..]);
                    let second =
                        if self == LabelUse::PCRelPairI { patch_lo12_i(second, lo) } else { patch_lo12_s(second, lo) };
                    bytes[4..].copy_from_slice(&second.to_le_bytes());
                }
            }
            LabelUse::PCRelLo12I | LabelUse::PCRelLo12S => {
                // The low part of an offset whose high part the auipc holds.
                let Some((_, lo)) = split_hi20_lo12(off) else { return false };
                let w = rd32(bytes);
                let w = if self == LabelUse::PCRelLo12I { patch_lo12_i(w, lo) } else { patch_lo12_s(w, lo) };
                bytes.copy_from_slice(&w.to_le_bytes());
            }
        }
        true
    }
}

/// A B-type branch with its offset field replaced by `off`.
pub fn patch_b12(word: u32, off: i32) -> u32 {
    (word & 0x01ff_f07f) | b_imm(off)
}

/// A `jal` with its offset field replaced by `off`.
pub fn patch_jal20(word: u32, off: i32) -> u32 {
    (word & 0xfff) | j_imm(off)
}

/// `c.beqz`/`c.bnez` with its offset replaced by `off`.
pub fn patch_rvc_b9(half: u16, off: i32) -> u16 {
    (half & 0xe383) | scatter(off as u32, &C_B)
}

/// `c.j` with its offset replaced by `off`.
pub fn patch_rvc_j12(half: u16, off: i32) -> u16 {
    (half & 0xe003) | scatter(off as u32, &C_J)
}

/// An I-type instruction with its immediate replaced by `lo`.
pub fn patch_lo12_i(word: u32, lo: i32) -> u32 {
    (word & 0x000f_ffff) | ((lo as u32) & 0xfff) << 20
}

/// An S-type instruction with its immediate replaced by `lo`.
pub fn patch_lo12_s(word: u32, lo: i32) -> u32 {
    let l = lo as u32;
    (word & 0x01ff_f07f) | (l & 0x1f) << 7 | ((l >> 5) & 0x7f) << 25
}

/// The offset a `c.beqz`/`c.bnez` holds (for tests and disassembly).
pub fn rvc_b9_offset(half: u16) -> i32 {
    let h = half as u32;
    let v = C_B.iter().fold(0u32, |acc, &(from, to)| acc | ((h >> to) & 1) << from);
    ((v << 23) as i32) >> 23
}

/// The offset a `c.j` holds.
pub fn rvc_j12_offset(half: u16) -> i32 {
    let h = half as u32;
    let v = C_J.iter().fold(0u32, |acc, &(from, to)| acc | ((h >> to) & 1) << from);
    ((v << 20) as i32) >> 20
}

/// The offset a B-type branch holds.
pub fn b12_offset(word: u32) -> i32 {
    let v = ((word >> 31) & 1) << 12 | ((word >> 7) & 1) << 11 | ((word >> 25) & 0x3f) << 5 | ((word >> 8) & 0xf) << 1;
    ((v << 19) as i32) >> 19
}

/// The offset a `jal` holds.
pub fn jal20_offset(word: u32) -> i32 {
    let v =
        ((word >> 31) & 1) << 20 | ((word >> 12) & 0xff) << 12 | ((word >> 20) & 1) << 11 | ((word >> 21) & 0x3ff) << 1;
    ((v << 11) as i32) >> 11
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(max_neg: i64, max_pos: i64) -> Vec<i64> {
        let mut v = vec![0, 2, -2, 4, -4, 254, -256, 2046, -2048, 4094, -4096, max_pos, -max_neg, 0x7fe, -0x800];
        v.retain(|o| *o <= max_pos && *o >= -max_neg);
        v
    }

    #[test]
    fn branch_offsets_round_trip() {
        let beq = enc_b(0x63, 10, 11, 0);
        for off in offsets(4096, 4094) {
            assert_eq!(b12_offset(patch_b12(beq, off as i32)), off as i32);
            assert_eq!(patch_b12(beq, off as i32) & !b_imm(-2), beq & !b_imm(-2));
        }
        let jal = enc_j(0x6f, 1, 0);
        for off in offsets(1 << 20, (1 << 20) - 2).into_iter().chain([0x12344, -0x8_0000]) {
            assert_eq!(jal20_offset(patch_jal20(jal, off as i32)), off as i32);
        }
        for off in offsets(256, 254) {
            assert_eq!(rvc_b9_offset(patch_rvc_b9(0xc001 | 3 << 7, off as i32)), off as i32);
        }
        for off in offsets(2048, 2046) {
            assert_eq!(rvc_j12_offset(patch_rvc_j12(0xa001, off as i32)), off as i32);
        }
    }

    #[test]
    fn label_use_ranges() {
        let cases: [(LabelUse, i64, i64); 5] = [
            (LabelUse::RvcB9, -256, 254),
            (LabelUse::RvcJ12, -2048, 2046),
            (LabelUse::B12, -4096, 4094),
            (LabelUse::Jal20, -(1 << 20), (1 << 20) - 2),
            (LabelUse::PCRelPairI, -(1i64 << 31) - 0x800, (1i64 << 31) - 0x801),
        ];
        for (k, lo, hi) in cases {
            let mut b = vec![0u8; k.patch_size() as usize];
            assert!(k.patch(&mut b, lo), "{k:?} {lo}");
            assert!(k.patch(&mut b, hi), "{k:?} {hi}");
            let step = if k == LabelUse::PCRelPairI { 1 } else { 2 };
            let before = b.clone();
            assert!(!k.patch(&mut b, lo - step), "{k:?} {}", lo - step);
            assert!(!k.patch(&mut b, hi + step), "{k:?} {}", hi + step);
            assert_eq!(b, before);
        }
        let mut b = [0u8; 4];
        assert!(!LabelUse::B12.patch(&mut b, 3), "odd offsets are rejected");
    }

    #[test]
    fn pcrel_pairs_add_up() {
        // auipc t6, 0; ld a0, 0(t6)  and  auipc t6, 0; sd a0, 0(t6)
        let auipc = enc_u(0x17, 31, 0);
        let ld = enc_i(0x3003, 10, 31, 0);
        let sd = enc_s(0x3023, 31, 10, 0);
        for off in [0i64, 1, -1, 0x7ff, 0x800, -0x800, -0x801, 0x1234_5678, -0x7654_3210, (1 << 31) - 0x801] {
            for (k, second) in [(LabelUse::PCRelPairI, ld), (LabelUse::PCRelPairS, sd)] {
                let mut b = [0u8; 8];
                b[..4].copy_from_slice(&auipc.to_le_bytes());
                b[4..].copy_from_slice(&second.to_le_bytes());
                assert!(k.patch(&mut b, off));
                let a = u32::from_le_bytes(b[..4].try_into().unwrap());
                let s = u32::from_le_bytes(b[4..].try_into().unwrap());
                let hi = ((a & 0xffff_f000) as i32) as i64;
                let lo = if k == LabelUse::PCRelPairI { Word(s).imm_i() } else { Word(s).imm_s() } as i64;
                assert_eq!(hi + lo, off, "{k:?} {off:#x}");
                // The separate hi20/lo12 patches give the same words.
                let mut h = auipc.to_le_bytes();
                assert!(LabelUse::PCRelHi20.patch(&mut h, off));
                assert_eq!(u32::from_le_bytes(h), a);
                let lk = if k == LabelUse::PCRelPairI { LabelUse::PCRelLo12I } else { LabelUse::PCRelLo12S };
                let mut l = second.to_le_bytes();
                assert!(lk.patch(&mut l, off));
                assert_eq!(u32::from_le_bytes(l), s);
            }
        }
    }

    #[test]
    fn veneers_extend_short_uses() {
        for k in [LabelUse::RvcB9, LabelUse::RvcJ12, LabelUse::B12, LabelUse::Jal20] {
            assert!(k.supports_veneer());
            let mut v = [0u8; 8];
            let (at, use2) = k.generate_veneer(&mut v);
            assert_eq!((at, use2), (0, LabelUse::PCRelPairI));
            // The veneer 1 MiB before a label 300 MiB away reaches it.
            assert!(use2.patch(&mut v, 300 << 20));
            let hi = (u32::from_le_bytes(v[..4].try_into().unwrap()) & 0xffff_f000) as i32 as i64;
            let lo = Word(u32::from_le_bytes(v[4..].try_into().unwrap())).imm_i() as i64;
            assert_eq!(hi + lo, 300 << 20);
            assert_eq!(u32::from_le_bytes(v[4..].try_into().unwrap()) & 0xfffff, 0xf8067, "jalr zero, (t6)");
        }
        assert!(!LabelUse::PCRelPairI.supports_veneer());
    }

    #[test]
    fn split_hi_lo() {
        for v in [0i64, 0x7ff, 0x800, 0xfff, -1, -0x800, -0x801, 0x7fff_f7ff, -(1 << 31) - 0x800] {
            let (hi, lo) = split_hi20_lo12(v).unwrap();
            assert_eq!(((hi << 12) as i32 as i64) + lo as i64, v);
            assert!(fits_imm12(lo as i64));
        }
        assert!(split_hi20_lo12(0x7fff_f800).is_none());
        assert!(split_hi20_lo12(-(1 << 31) - 0x801).is_none());
    }

    #[test]
    fn compression_respects_register_subsets_and_ranges() {
        let all = CompressExts { zca: true, zcd: true, zcb: true, zbb: true, zba: true, m: true };
        // addi a0, a0, 31 → c.addi; 32 does not fit.
        assert!(try_compress(enc_i(0x13, 10, 10, 31), all).is_some());
        assert!(try_compress(enc_i(0x13, 10, 10, 32), all).is_none());
        // ld a0, 248(a1) → c.ld; 256 does not fit; a non-x8..15 base does not either.
        assert!(try_compress(enc_i(0x3003, 10, 11, 248), all).is_some());
        assert!(try_compress(enc_i(0x3003, 10, 11, 256), all).is_none());
        assert!(try_compress(enc_i(0x3003, 10, 5, 8), all).is_none());
        // ld from sp reaches 504.
        assert!(try_compress(enc_i(0x3003, 5, 2, 504), all).is_some());
        assert!(try_compress(enc_i(0x3003, 0, 2, 8), all).is_none());
        // sub needs rd == rs1.
        assert!(try_compress(enc_r(0x4000_0033, 10, 10, 11), all).is_some());
        assert!(try_compress(enc_r(0x4000_0033, 10, 11, 10), all).is_none());
        // zext.h a0 (= packw a0, a0, zero) → c.zext.h with Zbb.
        assert_eq!(try_compress(enc_r(0x0800_403b, 10, 10, 0), all), Some(0x9d69));
        // Nothing without Zca.
        assert!(try_compress(enc_i(0x13, 10, 10, 1), CompressExts::NONE).is_none());
        // Zcb forms need Zcb.
        let no_zcb = CompressExts { zcb: false, ..all };
        assert!(try_compress(enc_i(0x4003, 10, 11, 1), all).is_some());
        assert!(try_compress(enc_i(0x4003, 10, 11, 1), no_zcb).is_none());
    }
}

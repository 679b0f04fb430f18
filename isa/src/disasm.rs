//! Disassembly of compiled code through capstone (the `disas` feature), in AT&T syntax for x86-64 (the syntax
//! Kiln's printer uses), capstone's syntax for aarch64 and its RISC-V syntax for riscv64 (which knows I, M, A, F, D
//! and C: other instructions show as `.word`, or `.half` when compressed), one instruction per line with its offset;
//! jump tables inside the code as data words.

use capstone::Capstone;
use capstone::arch::BuildsCapstone;
use capstone::arch::BuildsCapstoneExtraMode;
use capstone::arch::BuildsCapstoneSyntax;
use kiln_ir::settings::Arch;
use std::fmt::Write;

/// Disassemble `code` of architecture `arch`. `code_size` bounds the instructions (the
/// rest is the constant pool, shown as bytes); `inline_data` lists the `[start, end)`
/// ranges inside the code that are data (jump tables), shown as `.long` words. Bytes that
/// do not decode are shown as `.byte` and decoding resumes after them.
pub fn disassemble(arch: Arch, code: &[u8], code_size: usize, inline_data: &[(u32, u32)]) -> Result<String, String> {
    let cs = match arch {
        Arch::X86_64 => Capstone::new()
            .x86()
            .mode(capstone::arch::x86::ArchMode::Mode64)
            .syntax(capstone::arch::x86::ArchSyntax::Att)
            .build(),
        Arch::Aarch64 => Capstone::new().arm64().mode(capstone::arch::arm64::ArchMode::Arm).build(),
        Arch::Riscv64 => Capstone::new()
            .riscv()
            .mode(capstone::arch::riscv::ArchMode::RiscV64)
            .extra_mode([capstone::arch::riscv::ArchExtraMode::RiscVC].into_iter())
            .build(),
        other => return Err(format!("no disassembler for {other:?}")),
    }
    .map_err(|e| e.to_string())?;
    let code_size = code_size.min(code.len());
    let mut out = String::new();
    let mut pos = 0usize;
    let mut data = inline_data.iter().map(|&(s, e)| (s as usize, (e as usize).min(code_size))).peekable();
    while pos < code_size {
        // The instructions up to the next data range.
        let seg_end = data.peek().map_or(code_size, |&(s, _)| s.clamp(pos, code_size));
        while pos < seg_end {
            let insns = cs.disasm_all(&code[pos..seg_end], pos as u64).map_err(|e| e.to_string())?;
            for i in insns.iter() {
                let m = i.mnemonic().unwrap_or("?");
                let ops = i.op_str().unwrap_or("");
                let _ = writeln!(out, "{:4x}: {}{}{}", i.address(), m, if ops.is_empty() { "" } else { " " }, ops);
                pos = i.address() as usize + i.len();
            }
            if pos < seg_end {
                // RISC-V instructions are 2 or 4 bytes by their low bits: skip a whole one.
                // aarch64 instructions are always 4 bytes.
                let word =
                    seg_end - pos >= 4 && (arch == Arch::Aarch64 || (arch == Arch::Riscv64 && code[pos] & 3 == 3));
                if word {
                    let w = u32::from_le_bytes([code[pos], code[pos + 1], code[pos + 2], code[pos + 3]]);
                    let _ = writeln!(out, "{pos:4x}: .word 0x{w:08x}");
                    pos += 4;
                } else if arch == Arch::Riscv64 && seg_end - pos >= 2 && code[pos] & 3 != 3 {
                    // A compressed instruction capstone lacks (Zcb).
                    let h = u16::from_le_bytes([code[pos], code[pos + 1]]);
                    let _ = writeln!(out, "{pos:4x}: .half 0x{h:04x}");
                    pos += 2;
                } else {
                    let _ = writeln!(out, "{pos:4x}: .byte 0x{:02x}", code[pos]);
                    pos += 1;
                }
            }
        }
        if let Some((s, e)) = data.next() {
            let mut at = s.max(pos);
            while at < e {
                if e - at >= 4 {
                    let w = u32::from_le_bytes([code[at], code[at + 1], code[at + 2], code[at + 3]]);
                    let _ = writeln!(out, "{at:4x}: .long 0x{w:08x}");
                    at += 4;
                } else {
                    let _ = writeln!(out, "{at:4x}: .byte 0x{:02x}", code[at]);
                    at += 1;
                }
            }
            pos = pos.max(e);
        }
    }
    if code.len() > code_size {
        let _ = write!(out, "{code_size:4x}: constants:");
        for b in &code[code_size..] {
            let _ = write!(out, " {b:02x}");
        }
        let _ = writeln!(out);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn riscv64_words_capstone_lacks_are_skipped_whole() {
        // addi a0, a0, 1; czero.eqz a0, a1, a2 (Zicond); c.addi a0, 1; ret
        let code = [0x13, 0x05, 0x15, 0x00, 0x33, 0xd5, 0xc5, 0x0e, 0x05, 0x05, 0x82, 0x80];
        let text = disassemble(Arch::Riscv64, &code, code.len(), &[]).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].contains("addi"), "{text}");
        assert!(lines[1].contains(".word 0x0ec5d533"), "{text}");
        assert!(lines[3].contains("ret") || lines[3].contains("jr"), "{text}");
    }
}

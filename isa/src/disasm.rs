//! Disassembly of compiled code through capstone (the `disas` feature), in AT&T syntax for x86-64 (the syntax
//! Kiln's printer uses), one instruction per line with its offset; jump tables inside the
//! code as data words.

use capstone::Capstone;
use capstone::arch::BuildsCapstone;
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
                let _ = writeln!(out, "{pos:4x}: .byte 0x{:02x}", code[pos]);
                pos += 1;
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

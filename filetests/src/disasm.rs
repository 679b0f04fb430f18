//! Disassembly of compiled code through capstone, in AT&T syntax for x86-64 (the syntax
//! Kiln's printer uses), one instruction per line with its offset.

use capstone::Capstone;
use capstone::arch::BuildsCapstone;
use capstone::arch::BuildsCapstoneSyntax;
use kiln_ir::settings::Arch;
use std::fmt::Write;

/// Disassemble `code` of architecture `arch`. `code_size` bounds the instructions (the
/// rest is the constant pool, shown as bytes).
pub fn disassemble(arch: Arch, code: &[u8], code_size: usize) -> Result<String, String> {
    let cs = match arch {
        Arch::X86_64 => Capstone::new()
            .x86()
            .mode(capstone::arch::x86::ArchMode::Mode64)
            .syntax(capstone::arch::x86::ArchSyntax::Att)
            .build(),
        other => return Err(format!("no disassembler for {other:?}")),
    }
    .map_err(|e| e.to_string())?;
    let insns = cs.disasm_all(&code[..code_size.min(code.len())], 0).map_err(|e| e.to_string())?;
    let mut out = String::new();
    let mut end = 0usize;
    for i in insns.iter() {
        let m = i.mnemonic().unwrap_or("?");
        let ops = i.op_str().unwrap_or("");
        let _ = writeln!(out, "{:4x}: {}{}{}", i.address(), m, if ops.is_empty() { "" } else { " " }, ops);
        end = i.address() as usize + i.len();
    }
    if end < code_size {
        let _ = writeln!(out, "{end:4x}: (undecodable bytes)");
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

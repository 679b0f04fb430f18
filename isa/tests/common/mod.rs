//! Helpers shared by the x86-64 tests.

use capstone::prelude::*;

/// A capstone disassembler for x86-64 in AT&T syntax (the syntax Kiln's printer uses).
pub fn capstone_x64_att() -> Capstone {
    Capstone::new()
        .x86()
        .mode(arch::x86::ArchMode::Mode64)
        .syntax(arch::x86::ArchSyntax::Att)
        .build()
        .expect("capstone")
}

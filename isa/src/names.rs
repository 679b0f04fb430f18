//! Assembler spellings shared by every target's printer: symbol names of relocation
//! targets (quoted when they are not plain identifiers), symbol-plus-offset, and the
//! placeholders of stack locations not yet resolved against a frame (`slot+8`).

use kiln_codegen::machinst::abi::StackAMode;
use kiln_codegen::machinst::buffer::RelocTarget;

/// A relocation target as an assembler symbol.
pub fn show_name(name: &RelocTarget) -> String {
    match name {
        RelocTarget::User { namespace, index } => format!("u{namespace}_{index}"),
        RelocTarget::TestCase(n) => {
            let plain = !n.is_empty()
                && !n.as_bytes()[0].is_ascii_digit()
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
            if plain { n.clone() } else { format!("\"{}\"", n.replace('\\', "\\\\").replace('"', "\\\"")) }
        }
        RelocTarget::LibCall(l) => l.name().to_string(),
        RelocTarget::KnownSymbol(k) => k.name().to_string(),
        RelocTarget::CodeOffset(o) => format!(".Lcode{o:#x}"),
    }
}

/// `name`, `name+offset` or `name-offset`.
pub fn show_name_offset(name: &RelocTarget, offset: i64) -> String {
    match offset {
        0 => show_name(name),
        o if o > 0 => format!("{}+{o}", show_name(name)),
        o => format!("{}{o}", show_name(name)),
    }
}

/// An unresolved stack location: `incoming+N`, `slot+N`, `outgoing+N`.
pub fn show_stack(mode: StackAMode) -> String {
    match mode {
        StackAMode::IncomingArg(o) => format!("incoming{o:+}"),
        StackAMode::Slot(o) => format!("slot{o:+}"),
        StackAMode::OutgoingArg(o) => format!("outgoing{o:+}"),
    }
}

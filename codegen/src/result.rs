//! Compilation results and errors.

use crate::machinst::buffer::FinishedCode;
use core::fmt;
use kiln_ir::verifier::VerifierErrors;

/// Why a function could not be compiled. Never a panic: every input a user can give maps
/// to one of these.
#[derive(Debug)]
pub enum CodegenError {
    /// The IR is invalid.
    Verifier(VerifierErrors),
    /// The target does not support something the function uses, e.g.
    /// `unsupported: i128 sdiv on riscv64`.
    Unsupported(String),
    /// An implementation limit was exceeded (function too large, too many values, …).
    ImplLimitExceeded(String),
    /// The register allocator failed.
    Regalloc(String),
    /// Any other internal inconsistency, with a description.
    Other(String),
}

impl fmt::Display for CodegenError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            CodegenError::Verifier(e) => write!(f, "verifier errors:\n{e}"),
            CodegenError::Unsupported(s) => write!(f, "unsupported: {s}"),
            CodegenError::ImplLimitExceeded(s) => write!(f, "implementation limit exceeded: {s}"),
            CodegenError::Regalloc(s) => write!(f, "register allocation failed: {s}"),
            CodegenError::Other(s) => write!(f, "code generation error: {s}"),
        }
    }
}

impl std::error::Error for CodegenError {}

impl From<VerifierErrors> for CodegenError {
    fn from(e: VerifierErrors) -> Self {
        CodegenError::Verifier(e)
    }
}

/// A result of compilation.
pub type CodegenResult<T> = Result<T, CodegenError>;

/// The machine code of one function and everything needed to load and run it.
#[derive(Clone, Debug, Default)]
pub struct CompiledCode {
    /// Code, relocations, traps, call sites and source locations.
    pub buffer: FinishedCode,
    /// Total frame size in bytes (below the return address).
    pub frame_size: u32,
    /// The VCode listing before register allocation, if requested.
    pub vcode: Option<String>,
    /// The disassembly of the machine code, if requested (`Context::want_disasm`) and the
    /// build has a disassembler.
    pub disasm: Option<String>,
    /// Required alignment of the code in bytes.
    pub alignment: u32,
}

impl CompiledCode {
    /// The code bytes (with the constant pool).
    pub fn code(&self) -> &[u8] {
        &self.buffer.bytes
    }

    /// The unwind records of the prologue and epilogues: what each frame instruction did,
    /// at the offset just after it (see [`UnwindInst`](crate::machinst::unwind::UnwindInst)).
    pub fn unwind(&self) -> &[(u32, crate::machinst::unwind::UnwindInst)] {
        &self.buffer.unwind
    }
}

//! Errors of the WebAssembly frontend: every one names the byte offset in the module (where
//! there is one) and the reason. Malformed or invalid input, unsupported proposals and
//! implementation limits are errors, never panics.

use core::fmt;

/// What kind of problem a [`WasmError`] reports.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WasmErrorKind {
    /// The bytes are not a well-formed module, or the module does not validate (this
    /// includes uses of proposals that are not enabled).
    Invalid,
    /// A feature Kiln does not implement (yet).
    Unsupported,
    /// The module does not validate with the enabled proposals, but would with a proposal
    /// Kiln does not implement (GC, typed function references, exception handling, relaxed
    /// SIMD, threads, …): it is invalid here and needs that proposal.
    Proposal,
    /// An implementation limit was reached.
    Limit,
    /// The IR built for a function was rejected (a translator bug, reported rather than
    /// hidden).
    Internal,
}

/// An error of parsing, validating or translating a module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WasmError {
    /// The kind.
    pub kind: WasmErrorKind,
    /// The byte offset in the module, when known.
    pub offset: Option<usize>,
    /// The reason.
    pub message: String,
}

impl WasmError {
    /// An invalid-module error at `offset`.
    pub fn invalid(offset: usize, message: impl Into<String>) -> Self {
        WasmError { kind: WasmErrorKind::Invalid, offset: Some(offset), message: message.into() }
    }
    /// An unsupported-feature error at `offset`.
    pub fn unsupported(offset: usize, message: impl Into<String>) -> Self {
        WasmError { kind: WasmErrorKind::Unsupported, offset: Some(offset), message: message.into() }
    }
    /// An implementation-limit error at `offset`.
    pub fn limit(offset: usize, message: impl Into<String>) -> Self {
        WasmError { kind: WasmErrorKind::Limit, offset: Some(offset), message: message.into() }
    }
    /// An internal error (no offset).
    pub fn internal(message: impl Into<String>) -> Self {
        WasmError { kind: WasmErrorKind::Internal, offset: None, message: message.into() }
    }
}

impl From<wasmparser::BinaryReaderError> for WasmError {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        WasmError::invalid(e.offset(), e.message().to_string())
    }
}

impl fmt::Display for WasmError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let what = match self.kind {
            WasmErrorKind::Invalid => "invalid module",
            WasmErrorKind::Unsupported => "unsupported",
            WasmErrorKind::Proposal => "invalid module (needs a proposal Kiln does not implement)",
            WasmErrorKind::Limit => "implementation limit",
            WasmErrorKind::Internal => "internal error",
        };
        match self.offset {
            Some(o) => write!(f, "{what} at byte offset {o:#x}: {}", self.message),
            None => write!(f, "{what}: {}", self.message),
        }
    }
}

impl std::error::Error for WasmError {}

/// The result of frontend operations.
pub type WasmResult<T> = Result<T, WasmError>;

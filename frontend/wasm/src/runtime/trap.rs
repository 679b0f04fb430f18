//! Traps as the runtime reports them: every trap of compiled code (a trap instruction or a
//! fault at a recorded trap site), of a runtime routine or of instantiation becomes a
//! [`Trap`] naming its [`TrapKind`]; the messages are the spec test suite's.

use crate::environ::trap as codes;
use core::fmt;
use kiln_ir::trapcode::TrapCode;

/// The kind of a trap.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TrapKind {
    /// A linear-memory access out of bounds.
    MemoryOutOfBounds,
    /// A table access out of bounds.
    TableOutOfBounds,
    /// `call_indirect` past the table's end.
    UndefinedElement,
    /// `call_indirect` of a null entry.
    UninitializedElement,
    /// `call_indirect` of a function of the wrong type.
    IndirectCallTypeMismatch,
    /// Integer overflow (division, float-to-int conversion).
    IntegerOverflow,
    /// Integer division by zero.
    IntegerDivideByZero,
    /// Float-to-int conversion of NaN.
    InvalidConversionToInteger,
    /// `unreachable` was executed.
    Unreachable,
    /// The stack limit was reached.
    StackOverflow,
    /// A host function returned an error.
    Host,
    /// A fault in compiled code at a place that has no trap code (a bug).
    UnexpectedFault,
}

/// A trap: its kind and, for host errors and unexpected faults, a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trap {
    /// What happened.
    pub kind: TrapKind,
    /// Details (the host's message, the faulting address).
    pub message: Option<String>,
}

impl Trap {
    /// A trap of `kind` without details.
    pub fn new(kind: TrapKind) -> Trap {
        Trap { kind, message: None }
    }

    /// A host-function error.
    pub fn host(message: impl Into<String>) -> Trap {
        Trap { kind: TrapKind::Host, message: Some(message.into()) }
    }

    /// The kind of the trap with IR trap code `code`.
    pub fn kind_of(code: TrapCode) -> TrapKind {
        match code {
            codes::MEMORY_OUT_OF_BOUNDS => TrapKind::MemoryOutOfBounds,
            codes::TABLE_OUT_OF_BOUNDS => TrapKind::TableOutOfBounds,
            codes::INDIRECT_CALL_OUT_OF_BOUNDS => TrapKind::UndefinedElement,
            codes::INDIRECT_CALL_TO_NULL => TrapKind::UninitializedElement,
            codes::BAD_SIGNATURE => TrapKind::IndirectCallTypeMismatch,
            codes::INTEGER_OVERFLOW => TrapKind::IntegerOverflow,
            codes::INTEGER_DIVISION_BY_ZERO => TrapKind::IntegerDivideByZero,
            codes::BAD_CONVERSION_TO_INTEGER => TrapKind::InvalidConversionToInteger,
            codes::UNREACHABLE => TrapKind::Unreachable,
            codes::STACK_OVERFLOW => TrapKind::StackOverflow,
            codes::HOST => TrapKind::Host,
            _ => TrapKind::UnexpectedFault,
        }
    }
}

impl TrapKind {
    /// The spec test suite's message for this kind.
    pub fn message(self) -> &'static str {
        match self {
            TrapKind::MemoryOutOfBounds => "out of bounds memory access",
            TrapKind::TableOutOfBounds => "out of bounds table access",
            TrapKind::UndefinedElement => "undefined element",
            TrapKind::UninitializedElement => "uninitialized element",
            TrapKind::IndirectCallTypeMismatch => "indirect call type mismatch",
            TrapKind::IntegerOverflow => "integer overflow",
            TrapKind::IntegerDivideByZero => "integer divide by zero",
            TrapKind::InvalidConversionToInteger => "invalid conversion to integer",
            TrapKind::Unreachable => "unreachable",
            TrapKind::StackOverflow => "call stack exhausted",
            TrapKind::Host => "host function error",
            TrapKind::UnexpectedFault => "unexpected fault",
        }
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.kind.message())?;
        if let Some(m) = &self.message {
            write!(f, ": {m}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Trap {}

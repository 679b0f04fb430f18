//! What the 64-bit targets share below lowering: which register classes hold each IR type
//! (integers up to 64 bits in one integer register, `i128` in two, floats and vectors of
//! up to 128 bits in one FP/vector register), and the macro that turns a target's ISA
//! flags into a struct of typed booleans.

use kiln_codegen::{CodegenError, CodegenResult};
use kiln_ir::types::{self, Type};
use regalloc2::RegClass;

/// The register classes (and register types) of a value of type `ty` on a 64-bit target
/// named `target` (for the error).
pub fn rc_for_type(ty: Type, target: &str) -> CodegenResult<(&'static [RegClass], &'static [Type])> {
    match ty {
        types::I8 => Ok((&[RegClass::Int], &[types::I8])),
        types::I16 => Ok((&[RegClass::Int], &[types::I16])),
        types::I32 => Ok((&[RegClass::Int], &[types::I32])),
        types::I64 => Ok((&[RegClass::Int], &[types::I64])),
        types::I128 => Ok((&[RegClass::Int, RegClass::Int], &[types::I64, types::I64])),
        types::F16 => Ok((&[RegClass::Float], &[types::F16])),
        types::F32 => Ok((&[RegClass::Float], &[types::F32])),
        types::F64 => Ok((&[RegClass::Float], &[types::F64])),
        types::F128 => Ok((&[RegClass::Float], &[types::F128])),
        t if t.is_vector() && t.bits() <= 128 => Ok((&[RegClass::Float], &[types::I8X16])),
        t => Err(CodegenError::Unsupported(format!("type {t} on {target}"))),
    }
}

/// A type that fills a whole register of class `rc`.
pub fn canonical_type_for_rc(rc: RegClass) -> Type {
    match rc {
        RegClass::Int => types::I64,
        _ => types::I8X16,
    }
}

/// `isa_settings!(Name, "doc", flag, …)`: a struct of one boolean per ISA flag, read from
/// the target's `IsaFlags` by `Name::new`.
#[macro_export]
macro_rules! isa_settings {
    ($name:ident, $doc:literal, $($field:ident),* $(,)?) => {
        #[doc = $doc]
        #[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub struct $name { $(pub $field: bool),* }

        impl $name {
            /// Read the settings from a target's ISA flags.
            pub fn new(isa_flags: &kiln_ir::settings::IsaFlags) -> Self {
                $name { $($field: isa_flags.has(stringify!($field))),* }
            }
        }
    };
}

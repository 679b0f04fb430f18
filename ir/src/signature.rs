//! Function signatures and calling conventions.

use crate::types::Type;
use core::fmt;

/// A calling convention.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum CallConv {
    /// Unspecified, not ABI-stable; the default when none is written.
    Fast,
    /// Supports tail calls; callee pops stack arguments.
    Tail,
    /// System V.
    SystemV,
    /// Windows x64 / ARM64.
    WindowsFastcall,
    /// Apple's AArch64 variant.
    AppleAarch64,
    /// The stack-probe helper's convention.
    Probestack,
    /// Baseline-compiler convention: no callee-saved registers.
    Winch,
    /// Clobbers no registers; no return values.
    PreserveAll,
}

impl CallConv {
    /// Every convention.
    pub const ALL: [CallConv; 8] = [
        CallConv::Fast,
        CallConv::Tail,
        CallConv::SystemV,
        CallConv::WindowsFastcall,
        CallConv::AppleAarch64,
        CallConv::Probestack,
        CallConv::Winch,
        CallConv::PreserveAll,
    ];
    /// Text name.
    pub fn name(self) -> &'static str {
        match self {
            CallConv::Fast => "fast",
            CallConv::Tail => "tail",
            CallConv::SystemV => "system_v",
            CallConv::WindowsFastcall => "windows_fastcall",
            CallConv::AppleAarch64 => "apple_aarch64",
            CallConv::Probestack => "probestack",
            CallConv::Winch => "winch",
            CallConv::PreserveAll => "preserve_all",
        }
    }
    /// Parse a text name.
    pub fn parse(s: &str) -> Option<CallConv> {
        CallConv::ALL.iter().copied().find(|c| c.name() == s)
    }
    /// Does the convention support `return_call`?
    pub fn supports_tail_calls(self) -> bool {
        self == CallConv::Tail
    }
    /// Can a `try_call` call a function of this convention?
    pub fn supports_exceptions(self) -> bool {
        matches!(
            self,
            CallConv::Tail | CallConv::SystemV | CallConv::Winch | CallConv::PreserveAll | CallConv::AppleAarch64
        )
    }
    /// Number of pointer-sized exception payload values delivered to handlers.
    pub fn exception_payloads(self) -> usize {
        match self {
            CallConv::Tail | CallConv::SystemV | CallConv::PreserveAll | CallConv::AppleAarch64 => 2,
            _ => 0,
        }
    }
}

impl fmt::Display for CallConv {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a parameter is for.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
pub enum ArgumentPurpose {
    /// An ordinary value.
    #[default]
    Normal,
    /// A struct passed by value, `sarg(size)`.
    StructArgument(u32),
    /// The struct-return pointer.
    StructReturn,
    /// The VM context pointer.
    VMContext,
}

/// How a narrow integer is extended in registers.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
pub enum ArgumentExtension {
    /// Not extended.
    #[default]
    None,
    /// Zero-extended.
    Uext,
    /// Sign-extended.
    Sext,
}

/// One parameter or return value of a signature.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct AbiParam {
    /// The value type.
    pub value_type: Type,
    /// Its purpose.
    pub purpose: ArgumentPurpose,
    /// Its extension.
    pub extension: ArgumentExtension,
}

impl AbiParam {
    /// An ordinary parameter of type `ty`.
    pub fn new(ty: Type) -> Self {
        AbiParam { value_type: ty, purpose: ArgumentPurpose::Normal, extension: ArgumentExtension::None }
    }
    /// With a purpose.
    pub fn special(ty: Type, purpose: ArgumentPurpose) -> Self {
        AbiParam { purpose, ..Self::new(ty) }
    }
    /// Zero-extended.
    pub fn uext(self) -> Self {
        AbiParam { extension: ArgumentExtension::Uext, ..self }
    }
    /// Sign-extended.
    pub fn sext(self) -> Self {
        AbiParam { extension: ArgumentExtension::Sext, ..self }
    }
}

impl fmt::Display for AbiParam {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.value_type)?;
        match self.extension {
            ArgumentExtension::None => {}
            ArgumentExtension::Uext => f.write_str(" uext")?,
            ArgumentExtension::Sext => f.write_str(" sext")?,
        }
        match self.purpose {
            ArgumentPurpose::Normal => {}
            ArgumentPurpose::StructArgument(n) => write!(f, " sarg({n})")?,
            ArgumentPurpose::StructReturn => f.write_str(" sret")?,
            ArgumentPurpose::VMContext => f.write_str(" vmctx")?,
        }
        Ok(())
    }
}

/// A function signature.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Signature {
    /// Parameters.
    pub params: Vec<AbiParam>,
    /// Return values.
    pub returns: Vec<AbiParam>,
    /// Calling convention.
    pub call_conv: CallConv,
}

impl Signature {
    /// An empty signature.
    pub fn new(call_conv: CallConv) -> Self {
        Signature { params: Vec::new(), returns: Vec::new(), call_conv }
    }
    /// Index of the `vmctx` parameter, if any.
    pub fn special_param_index(&self, purpose: ArgumentPurpose) -> Option<usize> {
        self.params.iter().position(|p| p.purpose == purpose)
    }
    /// Remove every parameter and return, keeping the convention.
    pub fn clear(&mut self, call_conv: CallConv) {
        self.params.clear();
        self.returns.clear();
        self.call_conv = call_conv;
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("(")?;
        for (i, p) in self.params.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{p}")?;
        }
        f.write_str(")")?;
        if !self.returns.is_empty() {
            f.write_str(" -> ")?;
            for (i, p) in self.returns.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{p}")?;
            }
        }
        write!(f, " {}", self.call_conv)
    }
}

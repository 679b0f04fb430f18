//! Names of functions and symbols: test-case names (`%foo`), user names (`u1:2`), runtime
//! library routines and well-known linker symbols.

use crate::entities::{SigRef, UserExternalNameRef};
use core::fmt;

/// A user-defined name: namespace and index, written `uN:M`.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord, Default)]
pub struct UserExternalName {
    /// Namespace.
    pub namespace: u32,
    /// Index within the namespace.
    pub index: u32,
}

impl fmt::Display for UserExternalName {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "u{}:{}", self.namespace, self.index)
    }
}

/// A function's own name.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum UserFuncName {
    /// `uN:M`.
    User(UserExternalName),
    /// `%name`.
    Testcase(String),
}

impl Default for UserFuncName {
    fn default() -> Self {
        UserFuncName::Testcase(String::new())
    }
}

impl UserFuncName {
    /// A `%name`.
    pub fn testcase(s: impl Into<String>) -> Self {
        UserFuncName::Testcase(s.into())
    }
    /// A `uN:M`.
    pub fn user(namespace: u32, index: u32) -> Self {
        UserFuncName::User(UserExternalName { namespace, index })
    }
}

impl fmt::Display for UserFuncName {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            UserFuncName::User(u) => u.fmt(f),
            UserFuncName::Testcase(s) => write!(f, "%{s}"),
        }
    }
}

macro_rules! name_enum {
    ($(#[$attr:meta])* $name:ident { $($variant:ident),* $(,)? }) => {
        $(#[$attr])*
        #[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
        #[allow(missing_docs)]
        pub enum $name { $($variant),* }
        impl $name {
            /// Every member.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            /// Text name (without `%`).
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),* }
            }
            /// Look up a text name (without `%`).
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|x| x.name() == s)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "%{}", self.name())
            }
        }
    };
}

name_enum!(
    /// A runtime-library routine.
    LibCall {
        Probestack,
        CeilF32,
        CeilF64,
        FloorF32,
        FloorF64,
        TruncF32,
        TruncF64,
        NearestF32,
        NearestF64,
        FmaF32,
        FmaF64,
        Memcpy,
        Memset,
        Memmove,
        Memcmp,
        ElfTlsGetAddr,
        ElfTlsGetOffset,
        X86Pshufb,
    }
);

name_enum!(
    /// A well-known linker symbol.
    KnownSymbol { ElfGlobalOffsetTable, CoffTlsIndex }
);

/// The name of an external function or symbol.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum ExternalName {
    /// An entry of the function's user-name table.
    User(UserExternalNameRef),
    /// A `%name`.
    TestCase(String),
    /// A runtime-library routine.
    LibCall(LibCall),
    /// A well-known symbol.
    KnownSymbol(KnownSymbol),
}

impl Default for ExternalName {
    fn default() -> Self {
        ExternalName::TestCase(String::new())
    }
}

impl ExternalName {
    /// Classify a `%name`: library routine, known symbol or test-case name.
    pub fn from_percent_name(s: &str) -> Self {
        if let Some(l) = LibCall::parse(s) {
            ExternalName::LibCall(l)
        } else if let Some(k) = KnownSymbol::parse(s) {
            ExternalName::KnownSymbol(k)
        } else {
            ExternalName::TestCase(s.to_string())
        }
    }
}

/// An external function declared in the preamble.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ExtFuncData {
    /// Its name.
    pub name: ExternalName,
    /// Its signature.
    pub signature: SigRef,
    /// Defined in the same code unit (near calls allowed).
    pub colocated: bool,
    /// Call sites get patching metadata.
    pub patchable: bool,
}

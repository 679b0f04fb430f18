//! x86-64 ISA settings: the target line's flags (`has_avx`, `has_bmi1`, …, REFERENCE §4.4)
//! as typed booleans, read once when the target is created.

use kiln_ir::settings::IsaFlags;

macro_rules! x64_settings {
    ($($field:ident),* $(,)?) => {
        /// The x86-64 extensions the generated code may use.
        #[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub struct X64Settings { $(pub $field: bool),* }

        impl X64Settings {
            /// Read the settings from a target's ISA flags.
            pub fn new(isa_flags: &IsaFlags) -> Self {
                X64Settings { $($field: isa_flags.has(stringify!($field))),* }
            }
        }
    };
}

x64_settings!(
    has_sse3,
    has_ssse3,
    has_sse41,
    has_sse42,
    has_avx,
    has_avx2,
    has_fma,
    has_bmi1,
    has_bmi2,
    has_lzcnt,
    has_popcnt,
    has_cmpxchg16b,
    has_avx512f,
    has_avx512vl,
    has_avx512dq,
    has_avx512vbmi,
    has_avx512bitalg,
    has_avx_vnni,
    has_avx512vnni,
);

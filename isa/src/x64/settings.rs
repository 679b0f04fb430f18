//! x86-64 ISA settings: the target line's flags (`has_avx`, `has_bmi1`, …, REFERENCE §4.4)
//! as typed booleans, read once when the target is created.

crate::isa_settings!(
    X64Settings,
    "The x86-64 extensions the generated code may use.",
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

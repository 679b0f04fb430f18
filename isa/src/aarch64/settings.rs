//! aarch64 ISA settings: the target line's flags (`has_lse`, `has_fp16`, `use_bti`, …,
//! REFERENCE §4.4) as typed booleans, read once when the target is created.

crate::isa_settings!(
    Aarch64Settings,
    "The aarch64 extensions and code-generation choices the target line asks for.",
    has_lse,
    has_pauth,
    has_fp16,
    has_dotprod,
    has_i8mm,
    sign_return_address,
    sign_return_address_all,
    sign_return_address_with_bkey,
    use_bti,
    use_csdb,
);

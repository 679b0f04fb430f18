//! Exports of wasm-smith modules run in Kiln and in wasmi (the oracle): results, traps,
//! memories and globals must agree.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let kiln_fuzz::wasm::Outcome::Mismatch(m) = kiln_fuzz::wasm::differential(data) {
        panic!("{m}");
    }
});

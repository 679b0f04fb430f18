//! wasm-smith modules (every proposal Kiln implements, SIMD included) translate and compile
//! without panicking; errors other than `unsupported` are bugs.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let kiln_fuzz::wasm::Outcome::Mismatch(m) = kiln_fuzz::wasm::compile_module(data) {
        panic!("{m}");
    }
});

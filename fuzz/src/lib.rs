//! # kiln-fuzz — random CLIF programs and differential testing
//!
//! - [`generate`]: turns `arbitrary` bytes into a valid, terminating [`program::Program`] (every
//!   scalar type, the opcodes of [`table::GEN_OPS`], control flow with block parameters,
//!   bounded loops, stack slots, calls, traps);
//! - [`oracle`]: which instruction forms the x86-64 target compiles (probed, memoized);
//! - [`diff`]: runs a case in the interpreter and compiled under every configuration
//!   (`opt_level` none/speed × both register allocators, regalloc2 checker on) and compares
//!   results bit for bit (NaNs canonicalized, traps by code);
//! - [`compile_time`]: the compile-time oracle (compile time far above a linear model of
//!   the function's size is a finding);
//! - [`mutate`]: random edits that break valid functions (verifier and backend robustness);
//! - [`shrink`]: reduces a failing case to a small reproducer written as a `.clif` runtest;
//! - [`seeded_bytes`]: the deterministic byte source of the `differential` command.

#![warn(missing_docs)]

pub mod compile_time;
pub mod diff;
pub mod generate;
pub mod mutate;
pub mod oracle;
pub mod program;
pub mod runtest;
pub mod shrink;
pub mod table;
pub mod wasm;

/// The input bytes of case `index` of a run with `seed`: SplitMix64 output, 256–8191 bytes.
pub fn seeded_bytes(seed: u64, index: u64) -> Vec<u8> {
    let mut state = seed ^ index.wrapping_mul(0xA076_1D64_78BD_642F) ^ 0x1234_5678_9ABC_DEF0;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let len = 256 + (next() % 7936) as usize;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        v.extend_from_slice(&next().to_le_bytes());
    }
    v.truncate(len);
    v
}

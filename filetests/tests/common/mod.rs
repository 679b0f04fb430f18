//! Helpers shared by the integration tests: locating the `shared/` folder and the
//! allow-list of sample run lines that contradict the specification.

#![allow(dead_code)]

use std::path::PathBuf;

/// The `shared/` folder: `KILN_SHARED_DIR`, else the nearest ancestor of the crate with a
/// `shared/clif` folder (the repository's sibling, or a worktree's ancestor). `None` (with
/// a message) when it is missing, except under CI (`CI=true`), where a missing folder is a
/// failure.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("KILN_SHARED_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
            let mut found = None;
            while found.is_none() && dir.pop() {
                found = Some(dir.join("shared")).filter(|c| c.join("clif").is_dir());
            }
            found.unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")))
        }
    };
    if dir.join("clif").is_dir() {
        return Some(dir);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(!ci, "CI=true but the shared folder {} is missing (set KILN_SHARED_DIR)", dir.display());
    println!("skipping: shared folder {} not found (set KILN_SHARED_DIR)", dir.display());
    None
}

/// The sample runtests folder, if available.
pub fn samples_dir() -> Option<PathBuf> {
    shared_dir().map(|d| d.join("clif/runtests-sample"))
}

/// This crate's own filetests.
pub fn own_filetests() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/filetests"))
}

/// A run line of a sample file allowed to fail, and why.
pub struct Allowed {
    /// File name relative to the samples folder.
    pub file: &'static str,
    /// Line of the run command.
    pub line: u32,
    /// Why the sample's expectation contradicts the specification.
    pub reason: &'static str,
}

const I128_FCVT: &str = "OPCODES §8: 0x1.fffffep127 = 2^128 - 2^104 is below 2^128, so fcvt_to_uint(_sat).i128 \
     gives it exactly; the sample expects i128::MAX (a deviation of the reference interpreter)";
const I128_SINT: &str = "OPCODES §8: 0x1.fffffep127 = 2^128 - 2^104 exceeds i128::MAX, so fcvt_to_sint.i128 traps \
     int_ovf; the sample expects i128::MAX";
const NAN_SIGN: &str = "OPCODES §0.3: the sign of a NaN produced by fmin/fmax is unspecified; the sample expects \
     x86's negative NaN, Kiln's interpreter produces the positive canonical NaN";

/// Sample run lines that fail when every run line is interpreted (`clif-util interpret`):
/// the i128 conversion lines, plus x86's NaN sign for fmin/fmax (the interpreter gives the
/// positive canonical NaN, which the NaN rule allows).
pub const ALL_RUN_LINES_ALLOWED: &[Allowed] = &[
    Allowed { file: "i128-conversion.clif", line: 14, reason: I128_FCVT },
    Allowed { file: "i128-conversion.clif", line: 28, reason: I128_SINT },
    Allowed { file: "i128-conversion.clif", line: 40, reason: I128_FCVT },
    Allowed { file: "simd-fmax-fmin-nondeterministic-x86_64.clif", line: 17, reason: NAN_SIGN },
    Allowed { file: "simd-fmax-fmin-nondeterministic-x86_64.clif", line: 19, reason: NAN_SIGN },
    Allowed { file: "simd-fmax-fmin-nondeterministic-x86_64.clif", line: 29, reason: NAN_SIGN },
    Allowed { file: "simd-fmax-fmin-nondeterministic-x86_64.clif", line: 30, reason: NAN_SIGN },
    Allowed { file: "simd-fmax-fmin-nondeterministic-x86_64.clif", line: 31, reason: NAN_SIGN },
    Allowed { file: "simd-fmax-fmin-nondeterministic-x86_64.clif", line: 32, reason: NAN_SIGN },
];

/// Sample run lines that fail under `test interpret` / `test run` on x86-64: the i128
/// conversion lines of `test interpret` only (x86-64 vector fmin/fmax give x86's NaN bits,
/// so the fmin/fmax file, which is `test run` only, passes).
pub const TEST_RUN_LINES_ALLOWED: &[Allowed] = &[
    Allowed { file: "i128-conversion.clif", line: 14, reason: I128_FCVT },
    Allowed { file: "i128-conversion.clif", line: 28, reason: I128_SINT },
    Allowed { file: "i128-conversion.clif", line: 40, reason: I128_FCVT },
];

/// Compare the failing (file, line) pairs with an allow-list: every failure must be allowed
/// and every allowed line must fail. Returns a description of the differences.
pub fn check_against(failures: &[(String, u32, String)], allowed: &[Allowed]) -> Result<(), String> {
    let mut problems = Vec::new();
    for (file, line, msg) in failures {
        if !allowed.iter().any(|a| a.file == file && a.line == *line) {
            problems.push(format!("new failure: {file}:{line}: {msg}"));
        }
    }
    for a in allowed {
        if !failures.iter().any(|(f, l, _)| f == a.file && *l == a.line) {
            problems.push(format!(
                "allow-listed line now passes (remove it from the list): {}:{} ({})",
                a.file, a.line, a.reason
            ));
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n")) }
}

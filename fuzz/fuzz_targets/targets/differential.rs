//! Differential execution: a generated case runs in the interpreter and compiled under
//! every configuration (opt_level none/speed × both allocators, regalloc2 checker on); any
//! disagreement, compile error, invalid generated program or compilation far slower than
//! the compile-time oracle's linear model predicts is a crash.
#![no_main]
use kiln_fuzz::diff::{Differ, generate_case};
use kiln_fuzz::generate::GenConfig;
use kiln_fuzz::oracle::TargetSupport;
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

thread_local! {
    static ORACLE: RefCell<TargetSupport> = RefCell::new(TargetSupport::new());
    // One differ per thread: its compile-time oracle is calibrated once.
    static DIFFER: Differ = Differ::default();
}

fuzz_target!(|data: &[u8]| {
    let Ok(case) = ORACLE.with(|o| generate_case(data, &GenConfig::default(), &mut *o.borrow_mut())) else { return };
    if let Err(failure) = DIFFER.with(|d| d.check(&case, None)) {
        panic!("{failure}\n{}", case.program.to_clif());
    }
});

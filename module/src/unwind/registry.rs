//! Registration of JIT code's `.eh_frame` with the system unwinder, so that a panic raised
//! in a host callback unwinds through JIT frames and a backtrace taken there walks through
//! them to `main`.
//!
//! The unwinder is the one the process links (libgcc's on Linux): `__register_frame` takes
//! the start of a whole `.eh_frame` section (CIEs and FDEs, ended by a zero length word)
//! and `__deregister_frame` removes it. The section is written with absolute FDE
//! addresses (`DW_EH_PE_absptr`), so it can live anywhere: on the heap, owned by
//! [`FrameRegistration`].
//!
//! Invariants: a registered section stays alive and unchanged until it is deregistered;
//! deregistration happens before the code it describes is unmapped or reused.

unsafe extern "C" {
    fn __register_frame(begin: *const u8);
    fn __deregister_frame(begin: *const u8);
}

/// A registered `.eh_frame`; dropping it deregisters it.
pub struct FrameRegistration {
    eh_frame: Box<[u8]>,
}

// SAFETY: the bytes are immutable while registered.
unsafe impl Send for FrameRegistration {}
unsafe impl Sync for FrameRegistration {}

impl FrameRegistration {
    /// Register `eh_frame` (one or more CIEs and FDEs with absolute addresses; a zero
    /// terminator is added).
    pub fn new(mut eh_frame: Vec<u8>) -> FrameRegistration {
        eh_frame.extend_from_slice(&[0; 4]);
        let eh_frame = eh_frame.into_boxed_slice();
        // SAFETY: a well-formed `.eh_frame` with a terminator, kept alive by `self` until
        // `drop` deregisters it.
        unsafe { __register_frame(eh_frame.as_ptr()) };
        FrameRegistration { eh_frame }
    }

    /// The registered bytes (with the terminator).
    pub fn bytes(&self) -> &[u8] {
        &self.eh_frame
    }
}

impl Drop for FrameRegistration {
    fn drop(&mut self) {
        // SAFETY: registered in `new` with this very pointer.
        unsafe { __deregister_frame(self.eh_frame.as_ptr()) };
    }
}

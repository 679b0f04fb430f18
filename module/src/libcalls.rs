//! Host implementations of the runtime-library routines compiled code may call
//! (`%CeilF32`, `%Memcpy`, …), resolved by the JIT when linking.

use kiln_ir::extname::LibCall;

extern "C" fn ceil_f32(x: f32) -> f32 {
    x.ceil()
}
extern "C" fn ceil_f64(x: f64) -> f64 {
    x.ceil()
}
extern "C" fn floor_f32(x: f32) -> f32 {
    x.floor()
}
extern "C" fn floor_f64(x: f64) -> f64 {
    x.floor()
}
extern "C" fn trunc_f32(x: f32) -> f32 {
    x.trunc()
}
extern "C" fn trunc_f64(x: f64) -> f64 {
    x.trunc()
}
extern "C" fn nearest_f32(x: f32) -> f32 {
    x.round_ties_even()
}
extern "C" fn nearest_f64(x: f64) -> f64 {
    x.round_ties_even()
}
extern "C" fn fma_f32(a: f32, b: f32, c: f32) -> f32 {
    a.mul_add(b, c)
}
extern "C" fn fma_f64(a: f64, b: f64, c: f64) -> f64 {
    a.mul_add(b, c)
}

/// The address of the host implementation of `lib`, if this build has one.
pub fn libcall_address(lib: LibCall) -> Option<*const u8> {
    Some(match lib {
        LibCall::CeilF32 => ceil_f32 as *const u8,
        LibCall::CeilF64 => ceil_f64 as *const u8,
        LibCall::FloorF32 => floor_f32 as *const u8,
        LibCall::FloorF64 => floor_f64 as *const u8,
        LibCall::TruncF32 => trunc_f32 as *const u8,
        LibCall::TruncF64 => trunc_f64 as *const u8,
        LibCall::NearestF32 => nearest_f32 as *const u8,
        LibCall::NearestF64 => nearest_f64 as *const u8,
        LibCall::FmaF32 => fma_f32 as *const u8,
        LibCall::FmaF64 => fma_f64 as *const u8,
        LibCall::Memcpy => libc::memcpy as *const u8,
        LibCall::Memset => libc::memset as *const u8,
        LibCall::Memmove => libc::memmove as *const u8,
        LibCall::Memcmp => libc::memcmp as *const u8,
        LibCall::Probestack | LibCall::ElfTlsGetAddr | LibCall::ElfTlsGetOffset | LibCall::X86Pshufb => return None,
    })
}

/// Look up a symbol of the host process by name (`dlsym`).
pub fn host_symbol(name: &str) -> Option<*const u8> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: dlsym with RTLD_DEFAULT and a valid C string.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c.as_ptr()) };
    if p.is_null() { None } else { Some(p as *const u8) }
}

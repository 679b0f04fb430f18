//! Traps stay catchable while other threads register and remove code: the signal handler
//! must not give up (and crash the process) when it finds the registry briefly locked.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use kiln_ir::trapcode::TrapCode;
use kiln_module::trap::{call_guarded, register_code, unregister_code};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// One page of executable memory holding `ud2`, registered with a trap site at offset 0.
fn trapping_code() -> usize {
    // SAFETY: anonymous mapping, then writes inside it before it is made executable.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(p, libc::MAP_FAILED);
        let code = p as *mut u8;
        *code = 0x0f; // ud2
        *code.add(1) = 0x0b;
        assert_eq!(libc::mprotect(p, 4096, libc::PROT_READ | libc::PROT_EXEC), 0);
        p as usize
    }
}

#[test]
fn traps_are_caught_while_code_is_registered_concurrently() {
    let code = trapping_code();
    let user1 = TrapCode::user(1).unwrap();
    register_code(code, 2, vec![(0, user1)]);
    let stop = Arc::new(AtomicBool::new(false));
    // Writers: keep the registry's write lock busy with registrations of other ranges.
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut n = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let start = 0x1000_0000 + w * 0x100_0000 + (n % 64) * 0x1000;
                    register_code(start, 16, vec![(0, user1); 64]);
                    unregister_code(start);
                    n += 1;
                }
            })
        })
        .collect();
    let mut caught = 0;
    for _ in 0..20_000 {
        // SAFETY: `code` is registered and traps at once; it takes no arguments.
        let r = unsafe { call_guarded(code as *const u8, 0, 0) };
        assert_eq!(r.map_err(|t| t.code), Err(Some(user1)));
        caught += 1;
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    unregister_code(code);
    assert_eq!(caught, 20_000);
}

//! The JIT as tools see it: `gdb` shows JIT function names and source lines in a
//! backtrace (the GDB JIT interface), and `perf` gets a perf map and a jitdump file.

#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

mod common;
mod levels;

use common::*;
use kiln_module::{DebugSource, JitOptions, Module};
use levels::{call, levels};

extern "sysv64" fn host_stop(x: i64) -> i64 {
    // SAFETY: raising a signal the debugger stops at.
    unsafe {
        libc::raise(libc::SIGTRAP);
    }
    x + 1
}

/// Run under gdb by `gdb_backtrace_names_jit_functions`: stops (SIGTRAP) inside the host
/// routine three JIT frames down.
#[test]
#[ignore = "run under gdb by gdb_backtrace_names_jit_functions"]
fn gdb_target() {
    if std::env::var("KILN_GDB_TARGET").is_err() {
        return;
    }
    let options = JitOptions { gdb: true, debug_source: Some(DebugSource::new("levels.clif")), ..Default::default() };
    let (m, top) = levels(options, host_stop as *const u8);
    assert_eq!(call(&m, top, 20), 43);
}

/// Run `gdb_target` under gdb, which runs `commands` once it stops; its whole output.
fn gdb_on_target(commands: &[&str]) -> String {
    let gdb = tool(&["gdb"], "gdb");
    let exe = std::env::current_exe().unwrap();
    let mut cmd = std::process::Command::new(&gdb);
    cmd.args(["-batch", "-nx", "-ex", "run"]);
    for c in commands {
        cmd.args(["-ex", c]);
    }
    let out = cmd
        .arg("--args")
        .arg(&exe)
        .args(["--exact", "gdb_target", "--ignored", "--nocapture", "--test-threads=1"])
        .env("KILN_GDB_TARGET", "1")
        .output()
        .expect("run gdb");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn gdb_backtrace_names_jit_functions() {
    let text = gdb_on_target(&["bt"]);
    // The frames, innermost first: host_stop, level3, level2, level1, then the test.
    let frames: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
    let pos = |name: &str| {
        frames
            .iter()
            .position(|l| l.contains(&format!(" {name} (")) || l.contains(&format!(" in {name}")))
            .unwrap_or_else(|| panic!("no frame for {name} in gdb's backtrace:\n{text}"))
    };
    let (h, l3, l2, l1) = (pos("jit_tools::host_stop"), pos("level3"), pos("level2"), pos("level1"));
    assert!(h < l3 && l3 < l2 && l2 < l1, "frames out of order:\n{text}");
    // Source lines from the DWARF of the JIT code: each call is on its line of LEVELS.
    for (name, line) in [("level3", 6), ("level2", 14), ("level1", 23)] {
        let f = frames[pos(name)];
        assert!(f.contains(&format!("levels.clif:{line}")), "{name} should be at levels.clif:{line}: {f}\n{text}");
    }
    // The walk goes on past the JIT frames into the test harness.
    assert!(frames.iter().skip(l1 + 1).any(|l| l.contains("gdb_target")), "{text}");
}

/// gdb unwinds the JIT frames with the call-frame information of the in-memory image (its
/// `dwarf2` unwinder), not by guessing from the instructions (`amd64 prologue`): with
/// `set debug frame 1`, the unwinder that accepts each frame follows the frame's number.
#[test]
fn gdb_unwinds_jit_frames_with_their_cfi() {
    let text = gdb_on_target(&["set debug frame 1", "flushregs", "bt 8"]);
    // `#4  0x… in level3 (…`: frame numbers of the JIT functions.
    let number = |name: &str| {
        text.lines()
            .find(|l| l.starts_with('#') && l.contains(&format!(" in {name} (")))
            .and_then(|l| l[1..].split_whitespace().next()?.parse::<u32>().ok())
            .unwrap_or_else(|| panic!("no frame for {name}:\n{text}"))
    };
    // `frame_unwind_find_by_frame: this_frame=N`, then `trying unwinder "X"` … `yes`.
    let unwinder_of = |n: u32| {
        let mut lines = text.lines().skip_while(|l| !l.trim_end().ends_with(&format!("this_frame={n}")));
        let mut trying = None;
        for l in lines.by_ref() {
            if let Some(u) = l.split("trying unwinder \"").nth(1) {
                trying = u.split('"').next().map(str::to_string);
            } else if l.trim_end().ends_with("frame_unwind_try_unwinder: yes") {
                return trying;
            }
        }
        None
    };
    for name in ["level3", "level2", "level1"] {
        let n = number(name);
        assert_eq!(unwinder_of(n).as_deref(), Some("dwarf2"), "{name} (frame {n}):\n{text}");
    }
}

extern "sysv64" fn host_plain(x: i64) -> i64 {
    x + 1
}

#[test]
fn perf_map_and_jitdump() {
    let dir = scratch("jitdump");
    let options = JitOptions { perf_map: true, jitdump: Some(dir.clone()), ..Default::default() };
    let (m, top) = levels(options, host_plain as *const u8);
    assert_eq!(call(&m, top, 20), 43);
    let map = std::fs::read_to_string(kiln_module::perf::perf_map_path()).unwrap();
    let dump = std::fs::read(kiln_module::perf::jitdump_path(&dir)).unwrap();
    // Header: magic, version, size, machine (x86-64), pad, pid.
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    assert_eq!((u32_at(&dump, 0), u32_at(&dump, 4), u32_at(&dump, 8), u32_at(&dump, 12)), (0x4a69_5444, 1, 40, 62));
    assert_eq!(u32_at(&dump, 20), std::process::id());
    let mut records = std::collections::HashMap::new();
    let mut at = 40;
    while at < dump.len() {
        let (id, size) = (u32_at(&dump, at), u32_at(&dump, at + 4) as usize);
        assert_eq!(id, 0, "only code loads are written");
        let (addr, len) = (u64_at(&dump, at + 32), u64_at(&dump, at + 40) as usize);
        let name_at = at + 56;
        let nul = dump[name_at..].iter().position(|&b| b == 0).unwrap();
        let name = String::from_utf8(dump[name_at..name_at + nul].to_vec()).unwrap();
        let code = dump[name_at + nul + 1..name_at + nul + 1 + len].to_vec();
        assert_eq!(name_at + nul + 1 + len, at + size, "{name}: record size");
        records.insert(name, (addr, code));
        at += size;
    }
    for name in ["level1", "level2", "level3"] {
        let id = m.func_id(&kiln_codegen::machinst::buffer::RelocTarget::TestCase(name.into())).unwrap();
        let addr = m.get_finalized_function(id).unwrap() as u64;
        let size = m.function_size(id).unwrap();
        assert!(map.lines().any(|l| l == format!("{addr:x} {size:x} {name}")), "perf map lacks {name}:\n{map}");
        let (a, code) = &records[name];
        // SAFETY: the function's code is mapped and readable.
        let mem = unsafe { std::slice::from_raw_parts(addr as *const u8, size) };
        assert_eq!((*a, code.as_slice()), (addr, mem), "jitdump record of {name}");
    }
}

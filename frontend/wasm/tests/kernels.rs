//! The benchmark kernels of `shared/bench/kernels/wasm/` return the checksums of
//! `expected.tsv` for `run(1)` (compiled on all cores and on one thread).

use kiln_wasm::runtime::{Config, Engine, Instance, Module, Store, Val};
use std::path::PathBuf;

fn shared() -> Option<PathBuf> {
    if let Ok(d) = std::env::var("KILN_SHARED_DIR") {
        return Some(PathBuf::from(d));
    }
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let c = dir.join("shared");
        if c.join("bench").is_dir() {
            return Some(c);
        }
        if !dir.pop() {
            return None;
        }
    }
}

fn run_kernels(threads: usize) {
    let Some(shared) = shared() else { panic!("shared/ not found (set KILN_SHARED_DIR)") };
    let k = shared.join("bench/kernels");
    let tsv = std::fs::read_to_string(k.join("expected.tsv")).unwrap();
    let engine = Engine::new(Config { threads, ..Config::default() }).unwrap();
    let mut n = 0;
    for line in tsv.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (name, n1): (&str, i64) = (cols[0], cols[4].parse().unwrap());
        let bytes = std::fs::read(k.join(format!("wasm/{name}.wasm"))).unwrap();
        let module = Module::new(&engine, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut store = Store::new(&engine);
        let inst = Instance::new(&mut store, &module, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
        let run = inst.get_func(&store, "run").unwrap();
        let r = run.call(&mut store, &[Val::I32(1)]).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r, vec![Val::I64(n1)], "{name}");
        // Stateless: a second call gives the same checksum.
        assert_eq!(run.call(&mut store, &[Val::I32(1)]).unwrap(), vec![Val::I64(n1)], "{name} (again)");
        n += 1;
    }
    assert_eq!(n, 8);
}

#[test]
fn kernels_all_cores() {
    run_kernels(0);
}

#[test]
fn kernels_one_thread() {
    run_kernels(1);
}

//! Times the CLIF reader (and writer) on a file: `cargo run --release -p kiln-ir --example
//! parse_bench -- FILE`. Prints the parse throughput in MB/s.

use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("usage: parse_bench FILE.clif");
    let text = std::fs::read_to_string(&path).expect("read file");
    let mb = text.len() as f64 / 1e6;
    let mut best = f64::MAX;
    let mut nfuncs = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let tf = kiln_ir::text::parse_test(&text, &Default::default()).expect("parse");
        best = best.min(t.elapsed().as_secs_f64());
        nfuncs = tf.functions.len();
    }
    println!("parse_test: {nfuncs} functions, {mb:.1} MB in {:.3} s = {:.0} MB/s", best, mb / best);
    let body = text.find("\nfunction ").map_or(&text[..], |i| &text[i + 1..]);
    let t = Instant::now();
    let funcs = kiln_ir::text::parse_functions(body).expect("parse");
    let p = t.elapsed().as_secs_f64();
    println!("parse_functions: {:.3} s = {:.0} MB/s", p, mb / p);
    let t = Instant::now();
    let mut out = String::new();
    for f in &funcs {
        use std::fmt::Write;
        write!(out, "{f}").unwrap();
    }
    println!("print: {:.3} s ({:.1} MB)", t.elapsed().as_secs_f64(), out.len() as f64 / 1e6);
}

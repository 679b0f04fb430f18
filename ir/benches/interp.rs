//! Interpreter throughput benchmark: interpreted IR instructions per second on loop-heavy
//! code (a sieve of Eratosthenes over a stack slot: loads, stores, compares, branches) and
//! on call-heavy code (recursive Fibonacci). Run with `cargo bench -p kiln-ir --bench interp`.

use kiln_ir::data_value::DataValue;
use kiln_ir::interp::{InterpConfig, Interpreter};
use kiln_ir::text::parse_functions;
use std::time::Instant;

const SIEVE: &str = "
function %sieve(i64) -> i64 {
    ss0 = explicit_slot 100000

block0(v0: i64):
    v1 = stack_addr.i64 ss0
    v2 = iconst.i64 2
    v3 = iconst.i64 0
    jump block1(v2, v3)

block1(v4: i64, v5: i64):
    v6 = icmp sge v4, v0
    brif v6, block6(v5), block2

block2:
    v7 = iadd v1, v4
    v8 = uload8.i32 v7
    brif v8, block5(v5), block3

block3:
    v9 = iconst.i64 1
    v10 = iadd v5, v9
    v11 = imul v4, v4
    jump block4(v11)

block4(v12: i64):
    v13 = icmp sge v12, v0
    brif v13, block5(v10), block7

block7:
    v14 = iadd v1, v12
    v15 = iconst.i8 1
    store v15, v14
    v16 = iadd v12, v4
    jump block4(v16)

block5(v17: i64):
    v18 = iconst.i64 1
    v19 = iadd v4, v18
    jump block1(v19, v17)

block6(v20: i64):
    return v20
}

function %fib(i64) -> i64 {
    fn0 = %fib(i64) -> i64

block0(v0: i64):
    v1 = iconst.i64 2
    v2 = icmp slt v0, v1
    brif v2, block1, block2

block1:
    return v0

block2:
    v3 = iconst.i64 1
    v4 = isub v0, v3
    v5 = call fn0(v4)
    v6 = iconst.i64 2
    v7 = isub v0, v6
    v8 = call fn0(v7)
    v9 = iadd v5, v8
    return v9
}
";

fn bench(interp: &mut Interpreter, name: &str, arg: i64, expect: i64, reps: u32) {
    let mut insts = 0u64;
    let start = Instant::now();
    for _ in 0..reps {
        let r = interp.call_by_name(name, &[DataValue::I64(arg)]).expect("benchmark call");
        assert_eq!(r, vec![DataValue::I64(expect)]);
        insts += interp.fuel_used();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{name}({arg}) x{reps}: {insts} instructions in {secs:.3} s = {:.1} M instructions/s",
        insts as f64 / secs / 1e6
    );
}

fn main() {
    let funcs = parse_functions(SIEVE).expect("benchmark source parses");
    let mut interp = Interpreter::new(&funcs, InterpConfig { fuel: None, ..InterpConfig::default() });
    bench(&mut interp, "sieve", 100_000, 9592, 10);
    bench(&mut interp, "fib", 25, 75025, 3);
}

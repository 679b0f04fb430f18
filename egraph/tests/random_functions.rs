//! Differential test of the whole pipeline: random functions (integer arithmetic, compares,
//! selects, extensions, divisions by constants and by variables, loads and stores to a stack
//! slot, a diamond and a counted loop) are optimized with the verifier after every pass, then
//! run by the interpreter before and after on random inputs; results (or traps) must match.

use kiln_egraph::{OptContext, optimize};
use kiln_ir::data_value::DataValue;
use kiln_ir::interp::{InterpConfig, Interpreter};
use kiln_ir::settings::Flags;
use kiln_ir::text::parse_functions;
use std::fmt::Write;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const EDGES: &[i64] =
    &[0, 1, 2, 3, 7, 8, 31, 32, 63, 255, -1, -2, -8, i32::MIN as i64, i32::MAX as i64, i64::MIN, i64::MAX];

/// Values of one type available in the current block.
struct Pool {
    i32s: Vec<usize>,
    i64s: Vec<usize>,
    i8s: Vec<usize>,
}

struct Gen {
    rng: Rng,
    text: String,
    next: usize,
}

impl Gen {
    fn val(&mut self) -> usize {
        self.next += 1;
        self.next - 1
    }

    fn pick(&mut self, v: &[usize]) -> usize {
        v[self.rng.below(v.len())]
    }

    fn konst(&mut self) -> i64 {
        if self.rng.below(2) == 0 { EDGES[self.rng.below(EDGES.len())] } else { (self.rng.next() % 100) as i64 - 20 }
    }

    /// Emit one random instruction into the pool.
    fn inst(&mut self, p: &mut Pool) {
        let wide = self.rng.below(2) == 0;
        let (ty, vals) = if wide { ("i64", p.i64s.clone()) } else { ("i32", p.i32s.clone()) };
        let a = self.pick(&vals);
        let b = self.pick(&vals);
        let r = self.val();
        let line = match self.rng.below(24) {
            0 => format!("iadd v{a}, v{b}"),
            1 => format!("isub v{a}, v{b}"),
            2 => format!("imul v{a}, v{b}"),
            3 => format!("band v{a}, v{b}"),
            4 => format!("bor v{a}, v{b}"),
            5 => format!("bxor v{a}, v{b}"),
            6 => format!("ishl v{a}, v{b}"),
            7 => format!("ushr v{a}, v{b}"),
            8 => format!("sshr v{a}, v{b}"),
            9 => format!("rotl v{a}, v{b}"),
            10 => format!("iconst.{ty} {}", self.konst() & if wide { -1 } else { 0xffff_ffff }),
            11 => {
                let c = self.konst();
                let c = if c == 0 { 3 } else { c };
                let c = c & if wide { -1 } else { 0xffff_ffff };
                let k = self.val();
                let op = ["udiv", "urem", "sdiv", "srem"][self.rng.below(4)];
                let _ = writeln!(self.text, "    v{k} = iconst.{ty} {c}");
                format!("{op} v{a}, v{k}")
            }
            12 => format!("udiv v{a}, v{b}"),
            13 => format!("smin v{a}, v{b}"),
            14 => format!("umax v{a}, v{b}"),
            15 => format!("bnot v{a}"),
            16 => format!("ineg v{a}"),
            17 => format!("popcnt v{a}"),
            18 => {
                let cc = ["eq", "ne", "slt", "sge", "ugt", "ule"][self.rng.below(6)];
                let c = self.val();
                let _ = writeln!(self.text, "    v{c} = icmp {cc} v{a}, v{b}");
                p.i8s.push(c);
                let x = self.pick(&vals);
                format!("select v{c}, v{x}, v{b}")
            }
            19 => {
                let cc = ["eq", "ne", "slt", "ult"][self.rng.below(4)];
                let c = self.val();
                let _ = writeln!(self.text, "    v{c} = icmp {cc} v{a}, v{b}");
                p.i8s.push(c);
                format!("uextend.{ty} v{c}")
            }
            20 => {
                if wide {
                    let s = self.pick(&p.i32s.clone());
                    format!("{}.i64 v{s}", ["uextend", "sextend"][self.rng.below(2)])
                } else {
                    let s = self.pick(&p.i64s.clone());
                    format!("ireduce.i32 v{s}")
                }
            }
            21 if !p.i8s.is_empty() => {
                let s = self.pick(&p.i8s.clone());
                format!("bmask.{ty} v{s}")
            }
            22 => {
                let k = self.val();
                let c = self.konst() & if wide { -1 } else { 0xffff_ffff };
                let _ = writeln!(self.text, "    v{k} = iconst.{ty} {c}");
                format!("iadd v{a}, v{k}")
            }
            _ => format!("iabs v{a}"),
        };
        let _ = writeln!(self.text, "    v{r} = {line}");
        if wide { p.i64s.push(r) } else { p.i32s.push(r) }
    }
}

fn generate(seed: u64) -> String {
    let mut g = Gen { rng: Rng(seed), text: String::new(), next: 4 };
    let mut p = Pool { i32s: vec![0, 1], i64s: vec![2, 3], i8s: Vec::new() };
    let _ = write!(
        g.text,
        "function %f(i32, i32, i64, i64) -> i32, i64 {{\n    ss0 = explicit_slot 16\n\nblock0(v0: i32, v1: i32, v2: i64, v3: i64):\n"
    );
    let slot = g.val();
    let _ = writeln!(g.text, "    v{slot} = stack_addr.i64 ss0");
    let _ = writeln!(g.text, "    store notrap aligned v2, v{slot}");
    let _ = writeln!(g.text, "    store notrap aligned v0, v{slot}+8");
    let f = g.val();
    let _ = writeln!(g.text, "    v{f} = load.i32 notrap aligned v{slot}+8");
    p.i32s.push(f);
    for _ in 0..12 {
        g.inst(&mut p);
    }
    // Loads that the alias analysis may forward or deduplicate.
    let l = g.val();
    let _ = writeln!(g.text, "    v{l} = load.i64 notrap aligned v{slot}");
    p.i64s.push(l);
    let x = g.pick(&p.i32s.clone());
    let _ = writeln!(g.text, "    store notrap aligned v{x}, v{slot}+12");
    let l2 = g.val();
    let _ = writeln!(g.text, "    v{l2} = load.i32 notrap aligned v{slot}+8");
    p.i32s.push(l2);
    let l3 = g.val();
    let _ = writeln!(g.text, "    v{l3} = load.i32 notrap aligned v{slot}+8");
    p.i32s.push(l3);
    // A diamond.
    let c = g.pick(&p.i32s.clone());
    let (a32, a64) = (g.pick(&p.i32s.clone()), g.pick(&p.i64s.clone()));
    let _ = writeln!(g.text, "    brif v{c}, block1, block2\n\nblock1:");
    let mut p1 = Pool { i32s: p.i32s.clone(), i64s: p.i64s.clone(), i8s: p.i8s.clone() };
    for _ in 0..6 {
        g.inst(&mut p1);
    }
    let (t32, t64) = (g.pick(&p1.i32s.clone()), g.pick(&p1.i64s.clone()));
    let _ = writeln!(g.text, "    jump block3(v{t32}, v{t64})\n\nblock2:");
    let mut p2 = Pool { i32s: p.i32s.clone(), i64s: p.i64s.clone(), i8s: p.i8s.clone() };
    for _ in 0..6 {
        g.inst(&mut p2);
    }
    let (e32, e64) = (g.pick(&p2.i32s.clone()), g.pick(&p2.i64s.clone()));
    let _ = writeln!(g.text, "    jump block3(v{e32}, v{a64})");
    let _ = (a32, e64);
    let (j32, j64) = (g.val(), g.val());
    let _ = writeln!(g.text, "\nblock3(v{j32}: i32, v{j64}: i64):");
    p.i32s.push(j32);
    p.i64s.push(j64);
    // A counted loop (at most 7 iterations) carrying two values.
    let (n, zero) = (g.val(), g.val());
    let _ = writeln!(g.text, "    v{n} = iconst.i32 7\n    v{zero} = iconst.i32 0");
    let (i, acc, acc64) = (g.val(), g.val(), g.val());
    let s64 = g.pick(&p.i64s.clone());
    let _ =
        writeln!(g.text, "    jump block4(v{zero}, v{j32}, v{s64})\n\nblock4(v{i}: i32, v{acc}: i32, v{acc64}: i64):");
    let mut pl = Pool { i32s: p.i32s.clone(), i64s: p.i64s.clone(), i8s: p.i8s.clone() };
    pl.i32s.push(acc);
    pl.i32s.push(i);
    pl.i64s.push(acc64);
    for _ in 0..6 {
        g.inst(&mut pl);
    }
    let (na, na64) = (g.pick(&pl.i32s.clone()), g.pick(&pl.i64s.clone()));
    let (one, i2, cont) = (g.val(), g.val(), g.val());
    let _ = writeln!(
        g.text,
        "    v{one} = iconst.i32 1\n    v{i2} = iadd v{i}, v{one}\n    v{cont} = icmp ult v{i2}, v{n}\n    brif v{cont}, block4(v{i2}, v{na}, v{na64}), block5\n\nblock5:"
    );
    let (r32, r64) = (g.val(), g.val());
    let _ = writeln!(
        g.text,
        "    v{r32} = iadd v{acc}, v{na}\n    v{r64} = bxor v{acc64}, v{na64}\n    return v{r32}, v{r64}\n}}"
    );
    g.text
}

#[test]
fn random_functions_keep_their_meaning() {
    let mut rng = Rng(0xdead_beef_1234_5678);
    let flags = Flags::new();
    let mut ctx = OptContext::new();
    ctx.options.verify = Some(true);
    let mut compared = 0;
    for seed in 1..=3000u64 {
        let text = generate(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let funcs = parse_functions(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let mut opt = funcs.clone();
        if let Err(e) = optimize(&mut opt[0], &mut ctx, &flags, None) {
            panic!("{e}\n{text}");
        }
        let cfg = InterpConfig { fuel: Some(100_000), ..InterpConfig::default() };
        let mut ib = Interpreter::new(&funcs, cfg.clone());
        let mut ia = Interpreter::new(&opt, cfg);
        for _ in 0..40 {
            let pick = |r: &mut Rng| {
                if r.below(3) == 0 { EDGES[r.below(EDGES.len())] } else { r.next() as i64 >> r.below(60) }
            };
            let args = [
                DataValue::I32(pick(&mut rng) as i32),
                DataValue::I32(pick(&mut rng) as i32),
                DataValue::I64(pick(&mut rng)),
                DataValue::I64(pick(&mut rng)),
            ];
            let (b, a) = (ib.call(0, &args), ia.call(0, &args));
            assert_eq!(b, a, "inputs {args:?}\nbefore:\n{text}\nafter:\n{}", opt[0].display());
            compared += 1;
        }
    }
    let s = &ctx.stats;
    assert!(s.rewrites > 100 && s.hoisted > 0 && s.loads_removed > 0 && s.loads_forwarded > 0, "{s:?}");
    eprintln!("{compared} runs compared; {:?}", ctx.stats);
}

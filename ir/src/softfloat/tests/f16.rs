//! binary16 checks: the f16 → f64 conversion is verified on all 65,536 patterns against a
//! direct decode; f64 → f16 rounding against an independent nearest-value search; and
//! add/sub/mul/div/sqrt against "compute in f64, round to f16" (double rounding through f64
//! is innocuous for these operations since 53 ≥ 2·11 + 2; add/sub/mul are even exact in f64).

use super::*;

/// Direct decode of an f16 pattern to its f64 value.
fn decode(x: u16) -> f64 {
    let sign = if x & 0x8000 != 0 { -1.0 } else { 1.0 };
    let e = ((x >> 10) & 0x1F) as i32;
    let f = (x & 0x3FF) as f64;
    match e {
        0 => sign * f * 2f64.powi(-24),
        31 if f == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        _ => sign * (1024.0 + f) * 2f64.powi(e - 25),
    }
}

/// Independent f64 → f16 rounding: nearest value among all finite f16s by binary search,
/// ties to the even pattern, overflow at 65520 (max + half an ulp).
struct Rounder {
    /// Values of the positive finite patterns 0 ..= 0x7BFF, increasing.
    vals: Vec<f64>,
}

impl Rounder {
    fn new() -> Rounder {
        Rounder { vals: (0..=0x7BFFu16).map(decode).collect() }
    }
    fn round(&self, x: f64) -> u128 {
        if x.is_nan() {
            return F16.canonical_nan();
        }
        let sign = if x.is_sign_negative() { 0x8000 } else { 0 };
        let m = x.abs();
        if m >= 65520.0 {
            return sign | 0x7C00;
        }
        // First index with vals[i] >= m.
        let i = self.vals.partition_point(|&v| v < m);
        let p = if i == self.vals.len() {
            // Between max finite and 65520: rounds down to max.
            0x7BFF
        } else if self.vals[i] == m || i == 0 {
            i
        } else {
            let (lo, hi) = (self.vals[i - 1], self.vals[i]);
            match (m - lo).partial_cmp(&(hi - m)).unwrap() {
                Ordering::Less => i - 1,
                Ordering::Greater => i,
                Ordering::Equal => {
                    if (i - 1) % 2 == 0 {
                        i - 1
                    } else {
                        i
                    }
                }
            }
        };
        sign | p as u128
    }
}

#[test]
fn f16_to_f64_is_exact_for_all_patterns() {
    for x in 0..=u16::MAX {
        let got = convert(F16, F64, x as u128);
        let want = decode(x);
        if want.is_nan() {
            assert_eq!(got, F64.canonical_nan(), "{x:#x}");
        } else {
            assert_eq!(got, want.to_bits() as u128, "{x:#x}");
            // And back, exactly.
            assert_eq!(convert(F64, F16, got), x as u128);
            assert_eq!(convert(F32, F16, convert(F16, F32, x as u128)), x as u128);
            assert_eq!(convert(F128, F16, convert(F16, F128, x as u128)), x as u128);
        }
    }
}

#[test]
fn f64_to_f16_rounding_matches_nearest_search() {
    let r = Rounder::new();
    let mut rng = Rng::new(16);
    let n = 200_000 * scale();
    for i in 0..n {
        let x = if i % 2 == 0 {
            // Values in and around the f16 range: a random f16 value, perturbed by a random
            // amount below/around half an f16 ulp (hits ties and near-ties).
            let base = decode(rng.below(0x7C00) as u16);
            let ulp = 2f64.powi(rng.range(-30, 6) as i32);
            let k = [0.5, 1.0, -0.5, rng.below(1 << 20) as f64 / (1 << 20) as f64][rng.below(4) as usize];
            let v = base + k * ulp;
            if rng.bool() { -v } else { v }
        } else {
            f64::from_bits(gen_val(F64, &mut rng) as u64)
        };
        assert_eq!(convert(F64, F16, x.to_bits() as u128), r.round(x), "{x:e} ({:#x})", x.to_bits());
    }
    eprintln!("f16 demote vs nearest search: {n} cases");
}

fn check_binary(r: &Rounder, a: u16, b: u16) {
    let (x, y) = (decode(a), decode(b));
    let (a, b) = (a as u128, b as u128);
    assert_eq!(add(F16, a, b), r.round(x + y), "add {a:#x} {b:#x}");
    assert_eq!(sub(F16, a, b), r.round(x - y), "sub {a:#x} {b:#x}");
    assert_eq!(mul(F16, a, b), r.round(x * y), "mul {a:#x} {b:#x}");
    assert_eq!(div(F16, a, b), r.round(x / y), "div {a:#x} {b:#x}");
}

#[test]
fn f16_sqrt_exhaustive() {
    let r = Rounder::new();
    for a in 0..=u16::MAX {
        assert_eq!(sqrt(F16, a as u128), r.round(decode(a).sqrt()), "sqrt {a:#x}");
    }
}

/// Every f16 `a` against every value of a fixed edge list plus random `b`s.
#[test]
fn f16_binary_ops_near_exhaustive() {
    let r = Rounder::new();
    let mut rng = Rng::new(17);
    let edges: [u16; 16] = [
        0, 0x8000, 1, 0x8001, 0x3FF, 0x400, 0x3C00, 0xBC00, 0x3C01, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00, 0x7E00, 0x7C01,
        0x3800,
    ];
    let per_a = 8 * scale();
    for a in 0..=u16::MAX {
        for &b in &edges {
            check_binary(&r, a, b);
            check_binary(&r, b, a);
        }
        for _ in 0..per_a {
            let b = if rng.bool() { rng.next_u64() as u16 } else { gen_related(F16, &mut rng, a as u128) as u16 };
            check_binary(&r, a, b);
        }
    }
    eprintln!("f16 binary ops: {} pairs x 4 ops", 65536 * (32 + per_a));
}

/// All 2^32 pairs: `cargo test --release -p kiln-ir f16_binary_ops_exhaustive -- --ignored`.
#[test]
#[ignore]
fn f16_binary_ops_exhaustive() {
    let r = Rounder::new();
    for a in 0..=u16::MAX {
        for b in 0..=u16::MAX {
            check_binary(&r, a, b);
        }
    }
    eprintln!("f16 binary ops exhaustive: {} pairs x 4 ops", 1u64 << 32);
}

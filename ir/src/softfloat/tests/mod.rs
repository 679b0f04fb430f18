//! Tests of the soft-float module: shared random/edge-case generators, unit tests of the
//! documented edge cases (OPCODES.md §7/§8), and the differential suites in the submodules:
//! [`host`] (f32/f64 against the host FPU), [`f16`] (near-exhaustive binary16 checks against
//! f64 plus an independent rounding), [`oracle`] (an exact big-integer rational oracle used for
//! binary128 and every other format).
//!
//! Case counts scale with the environment variable `KILN_SOFTFLOAT_SCALE` (default 1).

mod f16;
mod host;
mod oracle;

use super::*;

pub(super) const F16: FloatFormat = FloatFormat::F16;
pub(super) const F32: FloatFormat = FloatFormat::F32;
pub(super) const F64: FloatFormat = FloatFormat::F64;
pub(super) const F128: FloatFormat = FloatFormat::F128;
pub(super) const FORMATS: [FloatFormat; 4] = [F16, F32, F64, F128];
pub(super) const WIDTHS: [u32; 5] = [8, 16, 32, 64, 128];

/// The case-count multiplier from `KILN_SOFTFLOAT_SCALE`.
pub(super) fn scale() -> usize {
    std::env::var("KILN_SOFTFLOAT_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1)
}

/// SplitMix64: small, fast, good enough for test inputs.
pub(super) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn next_u128(&mut self) -> u128 {
        ((self.next_u64() as u128) << 64) | self.next_u64() as u128
    }
    /// Uniform in `0..n` (n > 0; slight modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    pub fn bool(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    /// A `bits`-bit value with few set bits.
    pub fn sparse(&mut self, bits: u32) -> u128 {
        let mut v = 0u128;
        for _ in 0..self.range(1, 4) {
            v |= 1u128 << self.below(bits as u64);
        }
        v
    }
}

/// The pattern of `±2^e` (normal range) or `None`.
pub(super) fn pow2(fmt: FloatFormat, e: i32) -> Option<u128> {
    let biased = e + fmt.bias();
    (biased >= 1 && (biased as u128) < fmt.exp_max()).then(|| (biased as u128) << fmt.t)
}

/// A random fraction field: uniform, sparse, dense (all ones minus a few), or tiny.
fn frac(fmt: FloatFormat, rng: &mut Rng) -> u128 {
    let m = fmt.frac_mask();
    match rng.below(6) {
        0 => rng.sparse(fmt.t) & m,
        1 => !rng.sparse(fmt.t) & m,
        2 => rng.below(4) as u128,
        3 => m - rng.below(4) as u128,
        4 => (rng.next_u128() & m) >> rng.below(fmt.t as u64),
        _ => rng.next_u128() & m,
    }
}

/// A random value biased toward edge cases: ±0, ±Inf, quiet/signaling NaNs with payloads,
/// subnormals, extreme normals, powers of two and their neighbours, sparse/dense significands
/// (rounding ties), values around 1, half-integers and integer-width boundaries.
pub(super) fn gen_val(fmt: FloatFormat, rng: &mut Rng) -> u128 {
    let sign = if rng.bool() { fmt.sign_bit() } else { 0 };
    let t = fmt.t;
    let expo = |b: i64| (b as u128) << t;
    let emax = fmt.exp_max() as i64;
    let bias = fmt.bias() as i64;
    let v = match rng.below(20) {
        0 => 0,
        1 => expo(emax),
        2 => fmt.canonical_nan(),
        3 => expo(emax) | fmt.quiet_bit() | (rng.next_u128() & (fmt.quiet_bit() - 1)),
        4 => expo(emax) | ((rng.next_u128() & (fmt.quiet_bit() - 1)).max(1)),
        5 => frac(fmt, rng).max(1),
        6 => rng.range(1, 16) as u128,
        7 => (expo(1) as i128 + rng.range(-8, 8) as i128) as u128,
        8 => expo(emax) - rng.range(1, 8) as u128,
        9 => expo(rng.range(1, emax - 1)),
        10 => (expo(rng.range(1, emax - 1)) as i128 + rng.range(-3, 3) as i128) as u128,
        // Around 1 .. 2^(t+2): integral and fractional values, half-integers.
        11 | 12 => expo(rng.range(bias - 3, (bias + t as i64 + 2).min(emax - 1))) | frac(fmt, rng),
        13 => {
            // k + 1/2 for a random integer k that keeps the half bit.
            let e = rng.range(0, (t as i64 - 1).min(20));
            let k = rng.next_u128() & ((1u128 << e) - 1);
            expo(bias + e) | (k << (t as i64 - e)) | (1u128 << (t as i64 - e - 1))
        }
        14 => {
            // Integer-width boundaries ±2^B ± a few ulps.
            let b = [7, 8, 15, 16, 31, 32, 63, 64, 127, 128][rng.below(10) as usize];
            match pow2(fmt, b) {
                Some(p) => (p as i128 + rng.range(-3, 3) as i128) as u128,
                None => expo(emax),
            }
        }
        15 => expo(rng.range(1, 4)) | frac(fmt, rng),
        16 => expo(rng.range(emax - 4, emax - 1)) | frac(fmt, rng),
        17 => expo(rng.range(1, emax - 1)) | frac(fmt, rng),
        _ => rng.next_u128() & (fmt.sign_bit() - 1),
    };
    sign | v
}

/// A second operand related to `a`: nearby bits, the negation, a nearby exponent with a random
/// significand, or an independent value.
pub(super) fn gen_related(fmt: FloatFormat, rng: &mut Rng, a: u128) -> u128 {
    let mag_mask = fmt.sign_bit() - 1;
    let fin_max = (fmt.exp_max() << fmt.t) - 1;
    match rng.below(6) {
        0 => {
            let m = ((a & mag_mask) as i128 + rng.range(-4, 4) as i128).clamp(0, fin_max as i128) as u128;
            m | if rng.bool() { a & fmt.sign_bit() } else { (a & fmt.sign_bit()) ^ fmt.sign_bit() }
        }
        1 => {
            let e = ((a >> fmt.t) & fmt.exp_max()) as i64 + rng.range(-(fmt.t as i64) - 3, fmt.t as i64 + 3);
            let e = e.clamp(0, fmt.exp_max() as i64 - 1) as u128;
            (e << fmt.t) | frac(fmt, rng) | if rng.bool() { fmt.sign_bit() } else { 0 }
        }
        _ => gen_val(fmt, rng),
    }
}

/// A finite value with a sparse significand (products and quotients of these hit exact ties
/// and "tie plus a far-away bit" cases), with an exponent near 1 or anywhere.
pub(super) fn gen_sparse(fmt: FloatFormat, rng: &mut Rng) -> u128 {
    let sign = if rng.bool() { fmt.sign_bit() } else { 0 };
    let bias = fmt.bias() as i64;
    let e = if rng.bool() { rng.range(bias - 8, bias + 8) } else { rng.range(0, fmt.exp_max() as i64 - 1) };
    sign | ((e as u128) << fmt.t) | (rng.sparse(fmt.t) & fmt.frac_mask())
}

/// The addend of an `fma` test: random, related to `a`, near `−a·b` (cancellation), a signed
/// zero, or a tiny value (product rounding decided by the sticky bit).
pub(super) fn gen_addend(fmt: FloatFormat, rng: &mut Rng, a: u128, b: u128) -> u128 {
    let sign = if rng.bool() { fmt.sign_bit() } else { 0 };
    match rng.below(8) {
        0 => gen_val(fmt, rng),
        1 => gen_related(fmt, rng, a),
        2 => sign,
        3 => sign | rng.range(1, 3) as u128,
        4 => gen_sparse(fmt, rng),
        _ => gen_related(fmt, rng, mul(fmt, a, b) ^ fmt.sign_bit()),
    }
}

fn nan(fmt: FloatFormat) -> u128 {
    fmt.canonical_nan()
}

/// Bits of an f64 value.
fn d(x: f64) -> u128 {
    x.to_bits() as u128
}

/// Bits of an f32 value.
fn s(x: f32) -> u128 {
    x.to_bits() as u128
}

#[test]
fn canonical_nans_match_opcodes_md() {
    assert_eq!(nan(F16), 0x7E00);
    assert_eq!(nan(F32), 0x7FC0_0000);
    assert_eq!(nan(F64), 0x7FF8_0000_0000_0000);
    assert_eq!(nan(F128), 0x7FFF_8000_0000_0000_0000_0000_0000_0000);
}

#[test]
fn nan_results_are_positive_canonical() {
    for fmt in FORMATS {
        let snan_neg = fmt.sign_bit() | (fmt.exp_max() << fmt.t) | 1;
        let qnan_payload = (fmt.exp_max() << fmt.t) | fmt.quiet_bit() | 5;
        let one = pow2(fmt, 0).unwrap();
        let inf = fmt.exp_max() << fmt.t;
        let ninf = inf | fmt.sign_bit();
        for n in [snan_neg, qnan_payload] {
            assert_eq!(add(fmt, n, one), nan(fmt));
            assert_eq!(sub(fmt, one, n), nan(fmt));
            assert_eq!(mul(fmt, n, one), nan(fmt));
            assert_eq!(div(fmt, one, n), nan(fmt));
            assert_eq!(sqrt(fmt, n), nan(fmt));
            assert_eq!(fma(fmt, one, one, n), nan(fmt));
            assert_eq!(min(fmt, n, one), nan(fmt));
            assert_eq!(max(fmt, one, n), nan(fmt));
            assert_eq!(round_to_integral(fmt, n, RoundMode::Up), nan(fmt));
            for to in FORMATS {
                assert_eq!(convert(fmt, to, n), nan(to));
            }
        }
        // Invalid operations.
        assert_eq!(add(fmt, inf, ninf), nan(fmt));
        assert_eq!(sub(fmt, inf, inf), nan(fmt));
        assert_eq!(mul(fmt, inf, 0), nan(fmt));
        assert_eq!(div(fmt, 0, fmt.sign_bit()), nan(fmt));
        assert_eq!(div(fmt, ninf, inf), nan(fmt));
        assert_eq!(sqrt(fmt, one | fmt.sign_bit()), nan(fmt));
        assert_eq!(sqrt(fmt, ninf), nan(fmt));
        assert_eq!(fma(fmt, inf, 0, one), nan(fmt));
        assert_eq!(fma(fmt, inf, one, ninf), nan(fmt));
        assert_eq!(compare(fmt, snan_neg, snan_neg), FloatRel::Unordered);
    }
}

#[test]
fn documented_arithmetic_edge_cases() {
    for fmt in FORMATS {
        let sb = fmt.sign_bit();
        let inf = fmt.exp_max() << fmt.t;
        let one = pow2(fmt, 0).unwrap();
        let two = pow2(fmt, 1).unwrap();
        let half = pow2(fmt, -1).unwrap();
        // Signed zeros.
        assert_eq!(add(fmt, 0, sb), 0);
        assert_eq!(add(fmt, sb, sb), sb);
        assert_eq!(sub(fmt, sb, 0), sb);
        assert_eq!(sub(fmt, one, one), 0);
        assert_eq!(mul(fmt, sb, one), sb);
        assert_eq!(sqrt(fmt, sb), sb);
        assert_eq!(sqrt(fmt, 0), 0);
        assert_eq!(sqrt(fmt, inf), inf);
        assert_eq!(fma(fmt, sb, one, sb), sb);
        assert_eq!(fma(fmt, sb, one, 0), 0);
        assert_eq!(fma(fmt, one, one, one | sb), 0);
        // Division by zero and by infinity never traps.
        assert_eq!(div(fmt, one, 0), inf);
        assert_eq!(div(fmt, one, sb), inf | sb);
        assert_eq!(div(fmt, one | sb, inf), sb);
        // Overflow / underflow.
        let max_fin = inf - 1;
        assert_eq!(add(fmt, max_fin, max_fin), inf);
        assert_eq!(mul(fmt, max_fin | sb, two), inf | sb);
        assert_eq!(mul(fmt, 1, half), 0); // min subnormal / 2 ties to even 0
        assert_eq!(mul(fmt, 3, half), 2); // 1.5 ulp ties to even 2
        assert_eq!(mul(fmt, 1 | sb, half), sb);
        assert_eq!(div(fmt, 1, two), 0);
        assert_eq!(sqrt(fmt, pow2(fmt, 2).unwrap()), two);
        // fmin / fmax with signed zeros, in either order.
        assert_eq!(min(fmt, sb, 0), sb);
        assert_eq!(min(fmt, 0, sb), sb);
        assert_eq!(max(fmt, sb, 0), 0);
        assert_eq!(max(fmt, 0, sb), 0);
        assert_eq!(min(fmt, one, two | sb), two | sb);
        assert_eq!(max(fmt, inf | sb, one), one);
        assert_eq!(compare(fmt, 0, sb), FloatRel::Equal);
        assert_eq!(compare(fmt, one | sb, sb), FloatRel::Less);
        assert_eq!(compare(fmt, inf, max_fin), FloatRel::Greater);
        // Rounding to integral values.
        let m05 = half | sb;
        assert_eq!(round_to_integral(fmt, m05, RoundMode::Up), sb);
        assert_eq!(round_to_integral(fmt, m05, RoundMode::Down), one | sb);
        assert_eq!(round_to_integral(fmt, m05, RoundMode::NearestEven), sb);
        assert_eq!(round_to_integral(fmt, m05, RoundMode::TowardZero), sb);
        assert_eq!(round_to_integral(fmt, half, RoundMode::Up), one);
        let one_half = one | fmt.quiet_bit(); // 1.5
        assert_eq!(round_to_integral(fmt, one_half, RoundMode::NearestEven), two);
        let two_half = two | (fmt.quiet_bit() >> 1); // 2.5
        assert_eq!(round_to_integral(fmt, two_half, RoundMode::NearestEven), two);
        for mode in [RoundMode::NearestEven, RoundMode::TowardZero, RoundMode::Down, RoundMode::Up] {
            for x in [0, sb, inf, inf | sb, max_fin, one] {
                assert_eq!(round_to_integral(fmt, x, mode), x);
            }
        }
        // Promotion / demotion.
        for to in FORMATS {
            assert_eq!(convert(fmt, to, one), pow2(to, 0).unwrap());
            assert_eq!(convert(fmt, to, inf | sb), (to.exp_max() << to.t) | to.sign_bit());
            assert_eq!(convert(fmt, to, sb), to.sign_bit());
        }
    }
    // Host-format spot checks.
    assert_eq!(add(F64, d(0.1), d(0.2)), d(0.1 + 0.2));
    assert_eq!(div(F32, s(1.0), s(3.0)), s(1.0 / 3.0));
    assert_eq!(sqrt(F64, d(2.0)), d(2f64.sqrt()));
    assert_eq!(convert(F64, F32, d(f64::MAX)), s(f32::INFINITY));
    assert_eq!(convert(F64, F32, d(1e-50)), 0);
    assert_eq!(convert(F64, F16, d(65519.99)), 0x7BFF);
    assert_eq!(convert(F64, F16, d(65520.0)), 0x7C00);
    assert_eq!(convert(F16, F32, 0x0001), s(2f32.powi(-24)));
}

#[test]
fn documented_conversion_boundaries() {
    use ToIntError::*;
    // f32 → i32: −2147483648.0 converts, the next f32 below traps; 2147483648.0 traps.
    assert_eq!(to_int(F32, s(-2147483648.0), true, 32), Ok(0x8000_0000));
    assert_eq!(to_int(F32, s(-2147483904.0), true, 32), Err(Overflow));
    assert_eq!(to_int(F32, s(2147483648.0), true, 32), Err(Overflow));
    assert_eq!(to_int(F32, s(2147483520.0), true, 32), Ok(2147483520));
    // f64 → i32.
    assert_eq!(to_int(F64, d(-2147483648.9), true, 32), Ok(0x8000_0000));
    assert_eq!(to_int(F64, d(-2147483649.0), true, 32), Err(Overflow));
    assert_eq!(to_int(F64, d(2147483647.9), true, 32), Ok(0x7FFF_FFFF));
    // f32 → u32.
    assert_eq!(to_int(F32, s(4294967040.0), false, 32), Ok(4294967040));
    assert_eq!(to_int(F32, s(4294967296.0), false, 32), Err(Overflow));
    assert_eq!(to_int(F32, s(-0.9), false, 32), Ok(0));
    assert_eq!(to_int(F32, s(-1.0), false, 32), Err(Overflow));
    assert_eq!(to_int(F64, d(-0.9), true, 8), Ok(0));
    assert_eq!(to_int(F64, d(-1.5), true, 8), Ok(0xFF));
    assert_eq!(to_int(F64, d(-128.99), true, 8), Ok(0x80));
    assert_eq!(to_int(F64, d(-129.0), true, 8), Err(Overflow));
    assert_eq!(to_int(F64, d(255.9), false, 8), Ok(255));
    assert_eq!(to_int(F64, d(f64::NAN), false, 8), Err(NaN));
    assert_eq!(to_int(F64, d(f64::INFINITY), false, 64), Err(Overflow));
    assert_eq!(to_int(F64, d(f64::NEG_INFINITY), true, 64), Err(Overflow));
    assert_eq!(to_int(F64, d(-0.0), false, 64), Ok(0));
    assert_eq!(to_int(F64, 1, false, 64), Ok(0)); // min subnormal
    // 128-bit targets.
    assert_eq!(to_int(F64, d(-(2f64.powi(127))), true, 128), Ok(1 << 127));
    assert_eq!(to_int(F64, d(2f64.powi(127)), true, 128), Err(Overflow));
    assert_eq!(to_int(F64, d(2f64.powi(127)), false, 128), Ok(1 << 127));
    assert_eq!(to_int(F64, d(2f64.powi(128)), false, 128), Err(Overflow));
    assert_eq!(to_int(F128, (0x3FFF + 127) << 112 | ((1 << 112) - 1), false, 128), Ok(u128::MAX << 15));
    assert_eq!(to_int(F128, (0x3FFF + 126) << 112 | ((1 << 112) - 1), true, 128), Ok((1u128 << 127) - (1 << 14)));
    // Saturation.
    assert_eq!(to_int_sat(F32, s(f32::NAN), true, 32), 0);
    assert_eq!(to_int_sat(F32, s(f32::NEG_INFINITY), true, 32), 0x8000_0000);
    assert_eq!(to_int_sat(F32, s(f32::INFINITY), true, 32), 0x7FFF_FFFF);
    assert_eq!(to_int_sat(F32, s(-5.0), false, 16), 0);
    assert_eq!(to_int_sat(F32, s(1e10), false, 16), 0xFFFF);
    assert_eq!(to_int_sat(F64, d(-1e300), true, 128), 1 << 127);
    assert_eq!(to_int_sat(F64, d(1e300), false, 128), u128::MAX);
    assert_eq!(to_int_sat(F64, d(-3.7), true, 64), (-3i64) as u64 as u128);
    // Integer → float.
    assert_eq!(from_int(F32, 0xFFFF_FFFF, true, 32), s(-1.0));
    assert_eq!(from_int(F32, 0xFFFF_FFFF, false, 32), s(4294967296.0));
    assert_eq!(from_int(F64, 1 << 127, true, 128), d(-(2f64.powi(127))));
    assert_eq!(from_int(F64, u128::MAX, false, 128), d(2f64.powi(128)));
    assert_eq!(from_int(F16, 65519, false, 32), 0x7BFF);
    assert_eq!(from_int(F16, 65520, false, 32), 0x7C00);
    assert_eq!(from_int(F16, 0x80, true, 8), 0xD800); // −128
    assert_eq!(from_int(F128, u128::MAX, false, 128), (0x3FFF + 128) << 112);
    assert_eq!(from_int(F128, 0, true, 64), 0);
    // 2^113 + 1 ties to even in binary128 (113-bit significand).
    assert_eq!(from_int(F128, (1 << 113) | 1, false, 128), (0x3FFF + 113) << 112);
    assert_eq!(from_int(F128, (1 << 113) | 3, false, 128), ((0x3FFF + 113) << 112) | 2);
}

/// No input pattern may panic, including bits above the format width and odd widths.
#[test]
fn garbage_inputs_do_not_panic() {
    let mut rng = Rng::new(7);
    for _ in 0..2000 {
        let (a, b, c) = (rng.next_u128(), rng.next_u128(), rng.next_u128());
        for fmt in FORMATS {
            let r = [
                add(fmt, a, b),
                sub(fmt, a, b),
                mul(fmt, a, b),
                div(fmt, a, b),
                sqrt(fmt, a),
                fma(fmt, a, b, c),
                min(fmt, a, b),
                max(fmt, a, b),
                round_to_integral(fmt, a, RoundMode::Down),
            ];
            for x in r {
                assert_eq!(x & !width_mask(fmt), 0);
            }
            // High garbage bits are ignored.
            let m = width_mask(fmt);
            assert_eq!(add(fmt, a, b), add(fmt, a & m, b & m));
            assert_eq!(fma(fmt, a, b, c), fma(fmt, a & m, b & m, c & m));
            assert_eq!(compare(fmt, a, b), compare(fmt, a & m, b & m));
            for bits in [0, 1, 7, 8, 33, 128, 129, u32::MAX] {
                let _ = to_int(fmt, a, rng.bool(), bits);
                let _ = to_int_sat(fmt, a, rng.bool(), bits);
                assert_eq!(from_int(fmt, b, rng.bool(), bits) & !m, 0);
            }
        }
    }
}

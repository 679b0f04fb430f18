//! Differential tests against the host FPU for binary32 and binary64: every operation must
//! equal the host result bit for bit, where any host NaN must be our positive canonical NaN.

use super::*;

/// The host operations of one float type.
trait Host: Copy {
    const FMT: FloatFormat;
    fn from_bits(b: u128) -> Self;
    fn to_bits(self) -> u128;
    fn is_nan(self) -> bool;
    fn to_f64(self) -> f64;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
    fn sqrt(self) -> Self;
    fn fma(self, b: Self, c: Self) -> Self;
    fn round(self, mode: RoundMode) -> Self;
    /// `as` cast to the `bits`-wide integer (saturating, NaN → 0), as a zero-extended pattern.
    fn sat_cast(self, signed: bool, bits: u32) -> u128;
    /// `as` cast of the `bits`-wide integer pattern `x`.
    fn from_int(x: u128, signed: bool, bits: u32) -> Self;
}

macro_rules! host_impl {
    ($t:ty, $ut:ty, $fmt:expr) => {
        impl Host for $t {
            const FMT: FloatFormat = $fmt;
            fn from_bits(b: u128) -> Self {
                <$t>::from_bits(b as $ut)
            }
            fn to_bits(self) -> u128 {
                <$t>::to_bits(self) as u128
            }
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn add(self, o: Self) -> Self {
                self + o
            }
            fn sub(self, o: Self) -> Self {
                self - o
            }
            fn mul(self, o: Self) -> Self {
                self * o
            }
            fn div(self, o: Self) -> Self {
                self / o
            }
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            fn fma(self, b: Self, c: Self) -> Self {
                <$t>::mul_add(self, b, c)
            }
            fn round(self, mode: RoundMode) -> Self {
                match mode {
                    RoundMode::NearestEven => self.round_ties_even(),
                    RoundMode::TowardZero => self.trunc(),
                    RoundMode::Down => self.floor(),
                    RoundMode::Up => self.ceil(),
                }
            }
            fn sat_cast(self, signed: bool, bits: u32) -> u128 {
                match (signed, bits) {
                    (true, 8) => self as i8 as u8 as u128,
                    (true, 16) => self as i16 as u16 as u128,
                    (true, 32) => self as i32 as u32 as u128,
                    (true, 64) => self as i64 as u64 as u128,
                    (true, 128) => self as i128 as u128,
                    (false, 8) => self as u8 as u128,
                    (false, 16) => self as u16 as u128,
                    (false, 32) => self as u32 as u128,
                    (false, 64) => self as u64 as u128,
                    (false, 128) => self as u128,
                    _ => unreachable!("test widths only"),
                }
            }
            fn from_int(x: u128, signed: bool, bits: u32) -> Self {
                match (signed, bits) {
                    (true, 8) => x as u8 as i8 as $t,
                    (true, 16) => x as u16 as i16 as $t,
                    (true, 32) => x as u32 as i32 as $t,
                    (true, 64) => x as u64 as i64 as $t,
                    (true, 128) => x as i128 as $t,
                    (false, 8) => x as u8 as $t,
                    (false, 16) => x as u16 as $t,
                    (false, 32) => x as u32 as $t,
                    (false, 64) => x as u64 as $t,
                    (false, 128) => x as $t,
                    _ => unreachable!("test widths only"),
                }
            }
        }
    };
}

host_impl!(f32, u32, FloatFormat::F32);
host_impl!(f64, u64, FloatFormat::F64);

/// The host's checked conversion: range check on the truncated value, then the exact cast.
fn host_to_int<H: Host>(x: H, signed: bool, bits: u32) -> Result<u128, ToIntError> {
    if x.is_nan() {
        return Err(ToIntError::NaN);
    }
    let t = x.to_f64().trunc(); // exact: f32 and f64 values are f64 values
    let (lo_ok, hi_ok) = if signed {
        (t >= -(2f64.powi(bits as i32 - 1)), t < 2f64.powi(bits as i32 - 1))
    } else {
        (t >= 0.0, t < 2f64.powi(bits as i32))
    };
    if lo_ok && hi_ok { Ok(x.sat_cast(signed, bits)) } else { Err(ToIntError::Overflow) }
}

/// A random integer pattern of `bits` bits, biased to boundaries and rounding ties.
fn gen_int(rng: &mut Rng, bits: u32) -> u128 {
    let mask = if bits == 128 { u128::MAX } else { (1u128 << bits) - 1 };
    let v = match rng.below(8) {
        0 => rng.range(-4, 4) as i128 as u128,
        1 => (1u128 << rng.below(bits as u64)).wrapping_add(rng.range(-2, 2) as i128 as u128),
        2 => rng.sparse(bits),
        3 => !rng.sparse(bits),
        4 => {
            // A value with a tie just below some rounding point.
            let top = rng.below(bits as u64) as u32;
            let low = rng.below(top as u64 + 1) as u32;
            (1u128 << top)
                | (1u128 << low)
                | (rng.next_u128() & !((2u128 << low).wrapping_sub(1)) & ((1u128 << top) - 1))
        }
        5 => rng.next_u128() >> rng.below(128),
        _ => rng.next_u128(),
    };
    v & mask
}

fn check(op: &str, fmt: FloatFormat, inputs: &[u128], got: u128, host: u128, host_nan: bool) {
    let want = if host_nan { fmt.canonical_nan() } else { host };
    assert_eq!(got, want, "{op} {inputs:x?}: got {got:#x}, host {host:#x}");
}

type BinOp = fn(FloatFormat, u128, u128) -> u128;

/// Run `n` cases of every operation; returns the number of individual comparisons.
fn run<H: Host>(n: usize, seed: u64) -> usize {
    let fmt = H::FMT;
    let mut rng = Rng::new(seed);
    let mut checks = 0;
    for i in 0..n {
        // Alternate uniform random patterns with the edge-case generator.
        let (a, b) = match i % 8 {
            0 | 1 => (rng.next_u128() & width_mask(fmt), rng.next_u128() & width_mask(fmt)),
            2 => (gen_sparse(fmt, &mut rng), gen_sparse(fmt, &mut rng)),
            _ => {
                let a = gen_val(fmt, &mut rng);
                (a, gen_related(fmt, &mut rng, a))
            }
        };
        let (ha, hb) = (H::from_bits(a), H::from_bits(b));
        let bin: [(&str, BinOp, H); 4] =
            [("add", add, ha.add(hb)), ("sub", sub, ha.sub(hb)), ("mul", mul, ha.mul(hb)), ("div", div, ha.div(hb))];
        for (name, f, h) in bin {
            check(name, fmt, &[a, b], f(fmt, a, b), h.to_bits(), h.is_nan());
        }
        let h = ha.sqrt();
        check("sqrt", fmt, &[a], sqrt(fmt, a), h.to_bits(), h.is_nan());
        // fma: c is random, related to a, or near −a·b (cancellation).
        let c = gen_addend(fmt, &mut rng, a, b);
        let h = ha.fma(hb, H::from_bits(c));
        check("fma", fmt, &[a, b, c], fma(fmt, a, b, c), h.to_bits(), h.is_nan());
        // min / max against the CLIF rule written directly on host values.
        let want_min = if ha.is_nan() || hb.is_nan() {
            fmt.canonical_nan()
        } else if ha.to_f64() < hb.to_f64() || (ha.to_f64() == hb.to_f64() && a & fmt.sign_bit() != 0) {
            a
        } else {
            b
        };
        let want_max = if ha.is_nan() || hb.is_nan() {
            fmt.canonical_nan()
        } else if ha.to_f64() > hb.to_f64() || (ha.to_f64() == hb.to_f64() && a & fmt.sign_bit() == 0) {
            a
        } else {
            b
        };
        assert_eq!(min(fmt, a, b), want_min, "min {a:#x} {b:#x}");
        assert_eq!(max(fmt, a, b), want_max, "max {a:#x} {b:#x}");
        let rel = match ha.to_f64().partial_cmp(&hb.to_f64()) {
            None => FloatRel::Unordered,
            Some(Ordering::Less) => FloatRel::Less,
            Some(Ordering::Equal) => FloatRel::Equal,
            Some(Ordering::Greater) => FloatRel::Greater,
        };
        assert_eq!(compare(fmt, a, b), rel, "compare {a:#x} {b:#x}");
        for mode in [RoundMode::NearestEven, RoundMode::TowardZero, RoundMode::Down, RoundMode::Up] {
            let h = ha.round(mode);
            check("round", fmt, &[a, mode as u128], round_to_integral(fmt, a, mode), h.to_bits(), h.is_nan());
        }
        // Conversions to the other host format.
        if fmt == F32 {
            let h = ha.to_f64();
            check("fpromote", F64, &[a], convert(F32, F64, a), h.to_bits() as u128, h.is_nan());
        } else {
            let h = f64::from_bits(a as u64) as f32;
            check("fdemote", F32, &[a], convert(F64, F32, a), h.to_bits() as u128, h.is_nan());
        }
        // Float → integer, checked and saturating; integer → float.
        for bits in WIDTHS {
            for signed in [false, true] {
                assert_eq!(
                    to_int(fmt, a, signed, bits),
                    host_to_int(ha, signed, bits),
                    "to_int {a:#x} {signed} {bits}"
                );
                assert_eq!(to_int_sat(fmt, a, signed, bits), ha.sat_cast(signed, bits), "to_int_sat {a:#x} {bits}");
                let x = gen_int(&mut rng, bits);
                let h = H::from_int(x, signed, bits);
                assert_eq!(from_int(fmt, x, signed, bits), h.to_bits(), "from_int {x:#x} {signed} {bits}");
            }
        }
        checks += 4 + 1 + 1 + 3 + 4 + 1 + 3 * 10;
    }
    checks
}

#[test]
fn host_f32() {
    let n = 150_000 * scale();
    let checks = run::<f32>(n, 1);
    eprintln!("host f32: {n} cases, {checks} comparisons");
}

#[test]
fn host_f64() {
    let n = 150_000 * scale();
    let checks = run::<f64>(n, 2);
    eprintln!("host f64: {n} cases, {checks} comparisons");
}

/// The large run: `cargo test --release -p kiln-ir host_large -- --ignored --nocapture`.
#[test]
#[ignore]
fn host_large() {
    for (seed, n) in [(11u64, 20_000_000usize), (12, 20_000_000)] {
        let checks = if seed == 11 { run::<f32>(n, seed) } else { run::<f64>(n, seed) };
        eprintln!("host large seed {seed}: {n} cases, {checks} comparisons");
    }
}

/// Exhaustive unary f32 checks (sqrt, rounding, fpromote, conversions) over all 2^32 inputs:
/// `cargo test --release -p kiln-ir host_f32_exhaustive -- --ignored --nocapture`.
#[test]
#[ignore]
fn host_f32_exhaustive() {
    for x in 0..=u32::MAX {
        let a = x as u128;
        let h = f32::from_bits(x);
        let r = h.sqrt();
        check("sqrt", F32, &[a], sqrt(F32, a), r.to_bits() as u128, r.is_nan());
        for mode in [RoundMode::NearestEven, RoundMode::TowardZero, RoundMode::Down, RoundMode::Up] {
            let r = Host::round(h, mode);
            check("round", F32, &[a], round_to_integral(F32, a, mode), r.to_bits() as u128, r.is_nan());
        }
        let r = h as f64;
        check("fpromote", F64, &[a], convert(F32, F64, a), r.to_bits() as u128, r.is_nan());
        assert_eq!(to_int(F32, a, true, 32), host_to_int(h, true, 32));
        assert_eq!(to_int(F32, a, false, 64), host_to_int(h, false, 64));
        assert_eq!(to_int_sat(F32, a, true, 64), h.sat_cast(true, 64));
        assert_eq!(from_int(F32, a, true, 32), (x as i32 as f32).to_bits() as u128);
        assert_eq!(from_int(F32, a, false, 32), (x as f32).to_bits() as u128);
    }
    eprintln!("host f32 exhaustive: {} inputs x 10 checks", 1u64 << 32);
}

//! An exact oracle for every format (used mainly for binary128, where the host has nothing):
//! a tiny `Vec<u64>` big integer, exact dyadic/rational values, and correct rounding by a
//! separate, simple method — find the binade by comparison, divide out the last place with a
//! big-integer long division, compare twice the remainder with the divisor, and pack the
//! result field by field. Every operation is then checked against it, and `sqrt` by its
//! defining inequality (the squared midpoints around the result bracket the input).

use super::*;

/// Non-negative big integer: little-endian limbs, no high zero limbs.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Big(Vec<u64>);

impl Big {
    fn zero() -> Big {
        Big(Vec::new())
    }
    fn from_u128(x: u128) -> Big {
        Big(vec![x as u64, (x >> 64) as u64]).norm()
    }
    fn pow2(n: u64) -> Big {
        Big::from_u128(1).shl(n)
    }
    fn norm(mut self) -> Big {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
        self
    }
    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }
    fn bit_len(&self) -> u64 {
        match self.0.last() {
            None => 0,
            Some(&top) => 64 * self.0.len() as u64 - top.leading_zeros() as u64,
        }
    }
    fn bit(&self, i: u64) -> bool {
        self.0.get((i / 64) as usize).is_some_and(|l| (l >> (i % 64)) & 1 == 1)
    }
    fn to_u128(&self) -> u128 {
        assert!(self.bit_len() <= 128);
        self.0.iter().rev().fold(0u128, |acc, &l| (acc << 64) | l as u128)
    }
    fn shl(&self, n: u64) -> Big {
        if self.is_zero() {
            return Big::zero();
        }
        let (limbs, bits) = ((n / 64) as usize, (n % 64) as u32);
        let mut r = vec![0u64; limbs];
        let mut carry = 0u64;
        for &l in &self.0 {
            r.push((l << bits) | carry);
            carry = if bits == 0 { 0 } else { l >> (64 - bits) };
        }
        r.push(carry);
        Big(r).norm()
    }
    fn shr(&self, n: u64) -> Big {
        let (limbs, bits) = ((n / 64) as usize, (n % 64) as u32);
        if limbs >= self.0.len() {
            return Big::zero();
        }
        let src = &self.0[limbs..];
        let r = (0..src.len())
            .map(|i| {
                let hi = if bits == 0 { 0 } else { src.get(i + 1).map_or(0, |&h| h << (64 - bits)) };
                (src[i] >> bits) | hi
            })
            .collect();
        Big(r).norm()
    }
    fn add(&self, o: &Big) -> Big {
        let n = self.0.len().max(o.0.len());
        let mut r = Vec::with_capacity(n + 1);
        let mut carry = 0u128;
        for i in 0..n {
            let s = *self.0.get(i).unwrap_or(&0) as u128 + *o.0.get(i).unwrap_or(&0) as u128 + carry;
            r.push(s as u64);
            carry = s >> 64;
        }
        r.push(carry as u64);
        Big(r).norm()
    }
    fn sub(&self, o: &Big) -> Big {
        assert!(self.cmp(o) != Ordering::Less);
        let mut r = Vec::with_capacity(self.0.len());
        let mut borrow = 0i128;
        for i in 0..self.0.len() {
            let mut s = self.0[i] as i128 - *o.0.get(i).unwrap_or(&0) as i128 - borrow;
            borrow = 0;
            if s < 0 {
                s += 1 << 64;
                borrow = 1;
            }
            r.push(s as u64);
        }
        Big(r).norm()
    }
    fn mul(&self, o: &Big) -> Big {
        let mut r = vec![0u64; self.0.len() + o.0.len() + 1];
        for (i, &x) in self.0.iter().enumerate() {
            let mut carry = 0u128;
            for (j, &y) in o.0.iter().enumerate() {
                let cur = r[i + j] as u128 + x as u128 * y as u128 + carry;
                r[i + j] = cur as u64;
                carry = cur >> 64;
            }
            let mut k = i + o.0.len();
            while carry != 0 {
                let cur = r[k] as u128 + carry;
                r[k] = cur as u64;
                carry = cur >> 64;
                k += 1;
            }
        }
        Big(r).norm()
    }
    fn cmp(&self, o: &Big) -> Ordering {
        self.0.len().cmp(&o.0.len()).then_with(|| self.0.iter().rev().cmp(o.0.iter().rev()))
    }
    /// Binary long division: (quotient, remainder).
    fn divrem(&self, d: &Big) -> (Big, Big) {
        assert!(!d.is_zero());
        if self.cmp(d) == Ordering::Less {
            return (Big::zero(), self.clone());
        }
        let n = self.bit_len() - d.bit_len();
        let mut r = self.clone();
        let mut q = Big::zero();
        for i in (0..=n).rev() {
            let ds = d.shl(i);
            if r.cmp(&ds) != Ordering::Less {
                r = r.sub(&ds);
                q = q.add(&Big::pow2(i));
            }
        }
        (q, r)
    }
}

/// An exact value `(−1)^neg · m · 2^e`.
#[derive(Clone, Debug)]
struct Dy {
    neg: bool,
    m: Big,
    e: i64,
}

enum Val {
    NaN,
    Inf(bool),
    /// Finite, including ±0.
    Fin(Dy),
}

fn decode(fmt: FloatFormat, x: u128) -> Val {
    let neg = x & fmt.sign_bit() != 0;
    let e = ((x >> fmt.t) & fmt.exp_max()) as i64;
    let f = x & fmt.frac_mask();
    let (bias, t) = (fmt.bias() as i64, fmt.t as i64);
    if e == fmt.exp_max() as i64 {
        return if f == 0 { Val::Inf(neg) } else { Val::NaN };
    }
    if e == 0 {
        Val::Fin(Dy { neg, m: Big::from_u128(f), e: 1 - bias - t })
    } else {
        Val::Fin(Dy { neg, m: Big::from_u128(f | (1 << fmt.t)), e: e - bias - t })
    }
}

fn dy_add(a: &Dy, b: &Dy) -> Dy {
    let e = a.e.min(b.e);
    let am = a.m.shl((a.e - e) as u64);
    let bm = b.m.shl((b.e - e) as u64);
    if a.neg == b.neg {
        Dy { neg: a.neg, m: am.add(&bm), e }
    } else if am.cmp(&bm) != Ordering::Less {
        Dy { neg: a.neg, m: am.sub(&bm), e }
    } else {
        Dy { neg: b.neg, m: bm.sub(&am), e }
    }
}

fn dy_mul(a: &Dy, b: &Dy) -> Dy {
    Dy { neg: a.neg != b.neg, m: a.m.mul(&b.m), e: a.e + b.e }
}

/// Signed comparison of two exact values (zeros compare equal).
fn dy_cmp(a: &Dy, b: &Dy) -> Ordering {
    let key = |x: &Dy| {
        if x.m.is_zero() {
            0
        } else if x.neg {
            -1
        } else {
            1
        }
    };
    let (ka, kb) = (key(a), key(b));
    if ka != kb || ka == 0 {
        return ka.cmp(&kb);
    }
    let e = a.e.min(b.e);
    let mag = a.m.shl((a.e - e) as u64).cmp(&b.m.shl((b.e - e) as u64));
    if ka < 0 { mag.reverse() } else { mag }
}

/// Correctly rounded (ties to even) `(−1)^neg · num/den · 2^e` in `fmt`; a zero value gives
/// a zero of sign `neg`.
fn round_rat(fmt: FloatFormat, neg: bool, num: &Big, den: &Big, e: i64) -> u128 {
    let sign = if neg { fmt.sign_bit() } else { 0 };
    if num.is_zero() {
        return sign;
    }
    let (t, bias) = (fmt.t as i64, fmt.bias() as i64);
    let qmin = 1 - bias - t;
    // k with 2^k ≤ num/den < 2^(k+1).
    let mut k = num.bit_len() as i64 - den.bit_len() as i64;
    let below = if k >= 0 { num.cmp(&den.shl(k as u64)) } else { num.shl((-k) as u64).cmp(den) };
    if below == Ordering::Less {
        k -= 1;
    }
    // The last place of the result.
    let mut q = (k + e - t).max(qmin);
    let s = e - q;
    let (n2, d2) = if s >= 0 { (num.shl(s as u64), den.clone()) } else { (num.clone(), den.shl((-s) as u64)) };
    let (mut i, r) = n2.divrem(&d2);
    let up = match r.shl(1).cmp(&d2) {
        Ordering::Greater => true,
        Ordering::Equal => i.bit(0),
        Ordering::Less => false,
    };
    if up {
        i = i.add(&Big::from_u128(1));
    }
    if i.cmp(&Big::pow2(fmt.t as u64 + 1)) == Ordering::Equal {
        i = Big::pow2(fmt.t as u64);
        q += 1;
    }
    if i.is_zero() {
        return sign;
    }
    let i = i.to_u128();
    if i < 1 << fmt.t {
        assert_eq!(q, qmin);
        return sign | i;
    }
    let biased = q + t + bias;
    if biased >= fmt.exp_max() as i64 {
        return sign | (fmt.exp_max() << fmt.t);
    }
    sign | ((biased as u128) << fmt.t) | (i - (1 << fmt.t))
}

fn round_dy(fmt: FloatFormat, x: &Dy) -> u128 {
    round_rat(fmt, x.neg, &x.m, &Big::from_u128(1), x.e)
}

fn o_inf(fmt: FloatFormat, neg: bool) -> u128 {
    (fmt.exp_max() << fmt.t) | if neg { fmt.sign_bit() } else { 0 }
}

/// Exact sum, rounded; `zero_sign` decides the sign of an exact zero.
fn round_sum(fmt: FloatFormat, a: &Dy, b: &Dy) -> u128 {
    let s = dy_add(a, b);
    if s.m.is_zero() {
        // Exact zero: −0 only if both terms are −0 (RNE).
        let both_neg_zero = a.m.is_zero() && b.m.is_zero() && a.neg && b.neg;
        return if both_neg_zero { fmt.sign_bit() } else { 0 };
    }
    round_dy(fmt, &s)
}

fn o_add(fmt: FloatFormat, a: u128, b: u128) -> u128 {
    match (decode(fmt, a), decode(fmt, b)) {
        (Val::NaN, _) | (_, Val::NaN) => fmt.canonical_nan(),
        (Val::Inf(x), Val::Inf(y)) if x != y => fmt.canonical_nan(),
        (Val::Inf(x), _) | (_, Val::Inf(x)) => o_inf(fmt, x),
        (Val::Fin(x), Val::Fin(y)) => round_sum(fmt, &x, &y),
    }
}

fn o_mul(fmt: FloatFormat, a: u128, b: u128) -> u128 {
    match (decode(fmt, a), decode(fmt, b)) {
        (Val::NaN, _) | (_, Val::NaN) => fmt.canonical_nan(),
        (Val::Inf(_), Val::Fin(z)) | (Val::Fin(z), Val::Inf(_)) if z.m.is_zero() => fmt.canonical_nan(),
        (Val::Inf(x), Val::Inf(y)) => o_inf(fmt, x != y),
        (Val::Inf(x), Val::Fin(y)) | (Val::Fin(y), Val::Inf(x)) => o_inf(fmt, x != y.neg),
        (Val::Fin(x), Val::Fin(y)) => round_dy(fmt, &dy_mul(&x, &y)),
    }
}

fn o_div(fmt: FloatFormat, a: u128, b: u128) -> u128 {
    match (decode(fmt, a), decode(fmt, b)) {
        (Val::NaN, _) | (_, Val::NaN) | (Val::Inf(_), Val::Inf(_)) => fmt.canonical_nan(),
        (Val::Inf(x), Val::Fin(y)) => o_inf(fmt, x != y.neg),
        (Val::Fin(x), Val::Inf(y)) => {
            if x.neg != y {
                fmt.sign_bit()
            } else {
                0
            }
        }
        (Val::Fin(x), Val::Fin(y)) => {
            let neg = x.neg != y.neg;
            match (x.m.is_zero(), y.m.is_zero()) {
                (true, true) => fmt.canonical_nan(),
                (false, true) => o_inf(fmt, neg),
                _ => round_rat(fmt, neg, &x.m, &y.m, x.e - y.e),
            }
        }
    }
}

fn o_fma(fmt: FloatFormat, a: u128, b: u128, c: u128) -> u128 {
    let (va, vb, vc) = (decode(fmt, a), decode(fmt, b), decode(fmt, c));
    if matches!(va, Val::NaN) || matches!(vb, Val::NaN) || matches!(vc, Val::NaN) {
        return fmt.canonical_nan();
    }
    // The product as Inf(sign) or an exact value.
    let prod = match (va, vb) {
        (Val::Inf(_), Val::Fin(z)) | (Val::Fin(z), Val::Inf(_)) if z.m.is_zero() => return fmt.canonical_nan(),
        (Val::Inf(x), Val::Inf(y)) => Err(x != y),
        (Val::Inf(x), Val::Fin(y)) | (Val::Fin(y), Val::Inf(x)) => Err(x != y.neg),
        (Val::Fin(x), Val::Fin(y)) => Ok(dy_mul(&x, &y)),
        _ => unreachable!(),
    };
    match (prod, vc) {
        (Err(x), Val::Inf(y)) if x != y => fmt.canonical_nan(),
        (Err(x), _) => o_inf(fmt, x),
        (Ok(_), Val::Inf(y)) => o_inf(fmt, y),
        (Ok(p), Val::Fin(z)) => round_sum(fmt, &p, &z),
        (Ok(_), Val::NaN) => unreachable!(),
    }
}

/// Check that `r = sqrt(a)` by the defining inequality.
fn check_sqrt(fmt: FloatFormat, a: u128) {
    let r = sqrt(fmt, a);
    let ctx = format!("sqrt {a:#x} -> {r:#x}");
    match decode(fmt, a) {
        Val::NaN => assert_eq!(r, fmt.canonical_nan(), "{ctx}"),
        Val::Inf(false) => assert_eq!(r, o_inf(fmt, false), "{ctx}"),
        Val::Inf(true) => assert_eq!(r, fmt.canonical_nan(), "{ctx}"),
        Val::Fin(x) if x.m.is_zero() => assert_eq!(r, a & width_mask(fmt), "{ctx}"),
        Val::Fin(x) if x.neg => assert_eq!(r, fmt.canonical_nan(), "{ctx}"),
        Val::Fin(x) => {
            // r must be positive, finite, non-zero; lo/hi are the midpoints to its neighbours.
            assert!(r != 0 && r < o_inf(fmt, false), "{ctx}");
            let get = |bits: u128| match decode(fmt, bits) {
                Val::Fin(v) => v,
                _ => panic!("{ctx}: neighbour not finite"),
            };
            let (rv, prev, next) = (get(r), get(r - 1), get(r + 1));
            let half = |mut v: Dy| {
                v.e -= 1;
                v
            };
            let lo = half(dy_add(&prev, &rv));
            let hi = half(dy_add(&rv, &next));
            let lo2 = dy_mul(&lo, &lo);
            let hi2 = dy_mul(&hi, &hi);
            let even = r & 1 == 0;
            match dy_cmp(&lo2, &x) {
                Ordering::Less => {}
                Ordering::Equal => assert!(even, "{ctx}: tie below not to even"),
                Ordering::Greater => panic!("{ctx}: result too large"),
            }
            match dy_cmp(&x, &hi2) {
                Ordering::Less => {}
                Ordering::Equal => assert!(even, "{ctx}: tie above not to even"),
                Ordering::Greater => panic!("{ctx}: result too small"),
            }
        }
    }
}

fn o_round_integral(fmt: FloatFormat, a: u128, mode: RoundMode) -> u128 {
    match decode(fmt, a) {
        Val::NaN => fmt.canonical_nan(),
        Val::Inf(_) => a,
        Val::Fin(x) => {
            // floor(|x|) and whether a fraction was dropped.
            let (fl, frac, half_cmp) = if x.e >= 0 {
                (x.m.shl(x.e as u64), false, Ordering::Less)
            } else {
                let sh = (-x.e) as u64;
                let fl = x.m.shr(sh);
                let rem = x.m.sub(&fl.shl(sh));
                let half_cmp = rem.cmp(&Big::pow2(sh - 1));
                (fl, !rem.is_zero(), half_cmp)
            };
            let up = frac
                && match mode {
                    RoundMode::NearestEven => {
                        half_cmp == Ordering::Greater || (half_cmp == Ordering::Equal && fl.bit(0))
                    }
                    RoundMode::TowardZero => false,
                    RoundMode::Down => x.neg,
                    RoundMode::Up => !x.neg,
                };
            let m = if up { fl.add(&Big::from_u128(1)) } else { fl };
            // Integers up to 2^(t+1) are exact; a zero keeps the sign of `a`.
            round_rat(fmt, x.neg, &m, &Big::from_u128(1), 0)
        }
    }
}

fn o_convert(from: FloatFormat, to: FloatFormat, a: u128) -> u128 {
    match decode(from, a) {
        Val::NaN => to.canonical_nan(),
        Val::Inf(n) => o_inf(to, n),
        Val::Fin(x) => round_dy(to, &x),
    }
}

fn o_to_int(fmt: FloatFormat, a: u128, signed: bool, bits: u32) -> Result<u128, ToIntError> {
    match decode(fmt, a) {
        Val::NaN => Err(ToIntError::NaN),
        Val::Inf(_) => Err(ToIntError::Overflow),
        Val::Fin(x) => {
            let mag = if x.e >= 0 { x.m.shl(x.e as u64) } else { x.m.shr((-x.e) as u64) };
            let limit = match (signed, x.neg) {
                (true, false) => Big::pow2(bits as u64 - 1).sub(&Big::from_u128(1)),
                (true, true) => Big::pow2(bits as u64 - 1),
                (false, false) => Big::pow2(bits as u64).sub(&Big::from_u128(1)),
                (false, true) => Big::zero(),
            };
            if mag.cmp(&limit) == Ordering::Greater {
                return Err(ToIntError::Overflow);
            }
            if x.neg && !mag.is_zero() { Ok(Big::pow2(bits as u64).sub(&mag).to_u128()) } else { Ok(mag.to_u128()) }
        }
    }
}

fn o_from_int(fmt: FloatFormat, x: u128, signed: bool, bits: u32) -> u128 {
    let x = if bits == 128 { x } else { x & ((1 << bits) - 1) };
    let neg = signed && (x >> (bits - 1)) & 1 == 1;
    let mag = if neg { Big::pow2(bits as u64).sub(&Big::from_u128(x)) } else { Big::from_u128(x) };
    round_rat(fmt, neg, &mag, &Big::from_u128(1), 0)
}

fn o_compare(fmt: FloatFormat, a: u128, b: u128) -> FloatRel {
    match (decode(fmt, a), decode(fmt, b)) {
        (Val::NaN, _) | (_, Val::NaN) => FloatRel::Unordered,
        (x, y) => {
            // Map ±Inf onto values beyond every finite one.
            let big = |v: Val| match v {
                Val::Inf(n) => Dy { neg: n, m: Big::from_u128(1), e: 20_000 },
                Val::Fin(d) => d,
                Val::NaN => unreachable!(),
            };
            match dy_cmp(&big(x), &big(y)) {
                Ordering::Less => FloatRel::Less,
                Ordering::Equal => FloatRel::Equal,
                Ordering::Greater => FloatRel::Greater,
            }
        }
    }
}

fn rand_int(rng: &mut Rng, bits: u32, fmt: FloatFormat) -> u128 {
    let mask = if bits == 128 { u128::MAX } else { (1u128 << bits) - 1 };
    let p = fmt.t + 1;
    let v = match rng.below(6) {
        0 => rng.range(-3, 3) as i128 as u128,
        1 => (1u128 << rng.below(bits as u64)).wrapping_add(rng.range(-2, 2) as i128 as u128),
        // Ties and near-ties at the format's precision: p+1 significant bits, last one set.
        2 if bits > p => {
            let top = rng.range(p as i64, bits as i64 - 1) as u32;
            let low = top - p;
            let body = rng.next_u128() & ((1u128 << top) - 1) & !((2u128 << low) - 1);
            (1u128 << top) | body | (1u128 << low) | (rng.range(0, 1) as u128 * rng.below(1 << low.min(60)) as u128)
        }
        3 => rng.sparse(bits),
        4 => rng.next_u128() >> rng.below(128),
        _ => rng.next_u128(),
    };
    v & mask
}

/// Run `n` cases of every operation in `fmt` against the oracle; returns the comparisons.
fn run(fmt: FloatFormat, n: usize, seed: u64) -> usize {
    let mut rng = Rng::new(seed);
    let mut checks = 0;
    for i in 0..n {
        let (a, b) = match i % 8 {
            0 => (rng.next_u128() & width_mask(fmt), rng.next_u128() & width_mask(fmt)),
            1 | 2 => (gen_sparse(fmt, &mut rng), gen_sparse(fmt, &mut rng)),
            _ => {
                let a = gen_val(fmt, &mut rng);
                (a, gen_related(fmt, &mut rng, a))
            }
        };
        assert_eq!(add(fmt, a, b), o_add(fmt, a, b), "add {a:#x} {b:#x}");
        assert_eq!(sub(fmt, a, b), o_add(fmt, a, b ^ fmt.sign_bit()), "sub {a:#x} {b:#x}");
        assert_eq!(mul(fmt, a, b), o_mul(fmt, a, b), "mul {a:#x} {b:#x}");
        assert_eq!(div(fmt, a, b), o_div(fmt, a, b), "div {a:#x} {b:#x}");
        let c = gen_addend(fmt, &mut rng, a, b);
        assert_eq!(fma(fmt, a, b, c), o_fma(fmt, a, b, c), "fma {a:#x} {b:#x} {c:#x}");
        check_sqrt(fmt, a);
        let rel = o_compare(fmt, a, b);
        assert_eq!(compare(fmt, a, b), rel, "compare {a:#x} {b:#x}");
        let (lo, hi) = match rel {
            FloatRel::Unordered => (fmt.canonical_nan(), fmt.canonical_nan()),
            FloatRel::Less => (a, b),
            FloatRel::Greater => (b, a),
            FloatRel::Equal if a & fmt.sign_bit() != 0 => (a, b),
            FloatRel::Equal => (b, a),
        };
        assert_eq!(min(fmt, a, b), lo, "min {a:#x} {b:#x}");
        assert_eq!(max(fmt, a, b), hi, "max {a:#x} {b:#x}");
        for mode in [RoundMode::NearestEven, RoundMode::TowardZero, RoundMode::Down, RoundMode::Up] {
            assert_eq!(round_to_integral(fmt, a, mode), o_round_integral(fmt, a, mode), "round {a:#x} {mode:?}");
        }
        for to in FORMATS {
            assert_eq!(convert(fmt, to, a), o_convert(fmt, to, a), "convert {a:#x} to {to:?}");
        }
        for bits in WIDTHS {
            for signed in [false, true] {
                let want = o_to_int(fmt, a, signed, bits);
                assert_eq!(to_int(fmt, a, signed, bits), want, "to_int {a:#x} {signed} {bits}");
                let sat = match want {
                    Ok(v) => v,
                    Err(ToIntError::NaN) => 0,
                    Err(ToIntError::Overflow) => {
                        let neg = a & fmt.sign_bit() != 0;
                        let umax = if bits == 128 { u128::MAX } else { (1 << bits) - 1 };
                        match (signed, neg) {
                            (true, true) => 1 << (bits - 1),
                            (true, false) => umax >> 1,
                            (false, true) => 0,
                            (false, false) => umax,
                        }
                    }
                };
                assert_eq!(to_int_sat(fmt, a, signed, bits), sat, "to_int_sat {a:#x} {signed} {bits}");
                let x = rand_int(&mut rng, bits, fmt);
                assert_eq!(from_int(fmt, x, signed, bits), o_from_int(fmt, x, signed, bits), "from_int {x:#x}");
            }
        }
        checks += 5 + 1 + 3 + 4 + 4 + 30;
    }
    checks
}

#[test]
fn oracle_selftest() {
    // The oracle itself on values whose results are known.
    let one = pow2(F128, 0).unwrap();
    assert_eq!(o_add(F128, one, one), pow2(F128, 1).unwrap());
    assert_eq!(o_div(F128, one, pow2(F128, 1).unwrap()), pow2(F128, -1).unwrap());
    let three = o_from_int(F128, 3, false, 8);
    assert_eq!(three, pow2(F128, 1).unwrap() | (1 << 111));
    // 1/3 in binary128: 0x3FFD_5555…5555 (…0101 rounds down).
    assert_eq!(o_div(F128, one, three), 0x3FFD_5555_5555_5555_5555_5555_5555_5555);
    // 2/3: 0x3FFE_5555…5555 (the tail 0101… rounds down).
    assert_eq!(o_div(F128, pow2(F128, 1).unwrap(), three), 0x3FFE_5555_5555_5555_5555_5555_5555_5555);
    assert_eq!(o_from_int(F64, 3, true, 2), (-1f64).to_bits() as u128);
    assert_eq!(o_from_int(F32, 16777217, false, 32), 16777216f32.to_bits() as u128);
    assert_eq!(o_to_int(F64, (-1.5f64).to_bits() as u128, true, 8), Ok(0xFF));
    // Host agreement on a few f64 cases (the oracle is format-generic).
    let mut rng = Rng::new(99);
    for _ in 0..2000 {
        let (a, b) = (gen_val(F64, &mut rng), gen_val(F64, &mut rng));
        let (x, y) = (f64::from_bits(a as u64), f64::from_bits(b as u64));
        let canon = |v: f64| if v.is_nan() { F64.canonical_nan() } else { v.to_bits() as u128 };
        assert_eq!(o_add(F64, a, b), canon(x + y));
        assert_eq!(o_mul(F64, a, b), canon(x * y));
        assert_eq!(o_div(F64, a, b), canon(x / y));
    }
}

#[test]
fn oracle_f128() {
    let n = 25_000 * scale();
    let checks = run(F128, n, 128);
    eprintln!("oracle f128: {n} cases, {checks} comparisons");
}

#[test]
fn oracle_other_formats() {
    let n = 5_000 * scale();
    let mut checks = 0;
    for (i, fmt) in [F16, F32, F64].into_iter().enumerate() {
        checks += run(fmt, n, 200 + i as u64);
    }
    eprintln!("oracle f16/f32/f64: {n} cases each, {checks} comparisons");
}

/// The large run: `cargo test --release -p kiln-ir oracle_large -- --ignored --nocapture`.
#[test]
#[ignore]
fn oracle_large() {
    let n = 1_000_000;
    let checks = run(F128, n, 1128);
    eprintln!("oracle f128 large: {n} cases, {checks} comparisons");
    for (i, fmt) in [F16, F32, F64].into_iter().enumerate() {
        let checks = run(fmt, n / 5, 1200 + i as u64);
        eprintln!("oracle {fmt:?} large: {} cases, {checks} comparisons", n / 5);
    }
}

/// Throughput of binary128 mul/div/fma/add/sqrt:
/// `cargo test --release -p kiln-ir f128_throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn f128_throughput() {
    let mut rng = Rng::new(5);
    let vals: Vec<u128> = (0..4096)
        .map(|_| {
            let e = (0x3FFF + rng.range(-100, 100)) as u128;
            (rng.next_u128() & (F128.frac_mask() | F128.sign_bit())) | (e << 112)
        })
        .collect();
    let n = 20_000_000usize;
    let bench = |name: &str, f: &dyn Fn(u128, u128, u128) -> u128| {
        let start = std::time::Instant::now();
        let mut acc = 0u128;
        for i in 0..n {
            let a = vals[i & 4095];
            let b = vals[(i * 7 + 1) & 4095];
            let c = vals[(i * 13 + 5) & 4095];
            acc ^= f(a, b ^ acc & 1, c);
        }
        let dt = start.elapsed().as_secs_f64();
        eprintln!("f128 {name}: {:.1} Mops/s ({acc:x})", n as f64 / dt / 1e6);
    };
    bench("add", &|a, b, _| add(F128, a, b));
    bench("mul", &|a, b, _| mul(F128, a, b));
    bench("div", &|a, b, _| div(F128, a, b));
    bench("fma", &|a, b, c| fma(F128, a, b, c));
    bench("sqrt", &|a, _, _| sqrt(F128, a));
}

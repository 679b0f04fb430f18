//! Immediate operands: 64-bit integers, offsets, IEEE floats of every width, and the exact
//! text forms CLIF gives them.
//!
//! Floats are kept as bit patterns ([`Ieee16`] … [`Ieee128`]), never as host floats, so NaN
//! payloads and signed zeros survive every round trip. [`parse_float_bits`] accepts exactly the
//! literals of REFERENCE §1.10 (hexadecimal, exactly representable, no rounding) and
//! [`format_float_bits`] prints the canonical form.

use core::fmt;

/// A 64-bit integer immediate (interpreted per the instruction's type).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Imm64(pub i64);

impl Imm64 {
    /// The value sign-extended from `bits`.
    pub fn sign_extend_from(self, bits: u32) -> Imm64 {
        if bits >= 64 {
            self
        } else {
            let s = 64 - bits;
            Imm64((self.0 << s) >> s)
        }
    }
    /// The value zero-extended from `bits`.
    pub fn zero_extend_from(self, bits: u32) -> Imm64 {
        if bits >= 64 { self } else { Imm64(self.0 & ((1i64 << bits) - 1)) }
    }
}

impl From<i64> for Imm64 {
    fn from(x: i64) -> Self {
        Imm64(x)
    }
}

impl From<i32> for Offset32 {
    fn from(x: i32) -> Self {
        Offset32(x)
    }
}

/// Write `x` in CLIF's hex form: `0x` and 16-bit groups of four digits joined by `_`.
pub fn write_hex_groups(f: &mut dyn fmt::Write, x: u64) -> fmt::Result {
    let top = 63 - (x | 1).leading_zeros();
    let mut pos = top & !15;
    write!(f, "0x{:04x}", (x >> pos) & 0xffff)?;
    while pos > 0 {
        pos -= 16;
        write!(f, "_{:04x}", (x >> pos) & 0xffff)?;
    }
    Ok(())
}

impl fmt::Display for Imm64 {
    /// Decimal below 10000 (including every negative value), hex groups above.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.0 < 10_000 { write!(f, "{}", self.0) } else { write_hex_groups(f, self.0 as u64) }
    }
}

/// A signed 32-bit address offset. Prints with an explicit sign, and not at all when zero.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Offset32(pub i32);

impl fmt::Display for Offset32 {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let v = self.0 as i64;
        if v == 0 {
            return Ok(());
        }
        let (sign, mag) = if v < 0 { ('-', (-v) as u64) } else { ('+', v as u64) };
        if mag < 10_000 {
            write!(f, "{sign}{mag}")
        } else {
            write!(f, "{sign}")?;
            write_hex_groups(f, mag)
        }
    }
}

/// Parameters of an IEEE binary interchange format.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FloatFormat {
    /// Exponent bits.
    pub w: u32,
    /// Trailing significand bits.
    pub t: u32,
}

impl FloatFormat {
    /// binary16
    pub const F16: FloatFormat = FloatFormat { w: 5, t: 10 };
    /// binary32
    pub const F32: FloatFormat = FloatFormat { w: 8, t: 23 };
    /// binary64
    pub const F64: FloatFormat = FloatFormat { w: 11, t: 52 };
    /// binary128
    pub const F128: FloatFormat = FloatFormat { w: 15, t: 112 };

    /// The format of a float type of `bits` bits.
    pub fn for_bits(bits: u32) -> Option<FloatFormat> {
        match bits {
            16 => Some(Self::F16),
            32 => Some(Self::F32),
            64 => Some(Self::F64),
            128 => Some(Self::F128),
            _ => None,
        }
    }
    /// Total bits.
    pub const fn bits(self) -> u32 {
        1 + self.w + self.t
    }
    /// Exponent bias.
    pub const fn bias(self) -> i32 {
        (1 << (self.w - 1)) - 1
    }
    /// Mask of the trailing significand.
    pub const fn frac_mask(self) -> u128 {
        (1u128 << self.t) - 1
    }
    /// The all-ones biased exponent.
    pub const fn exp_max(self) -> u128 {
        (1u128 << self.w) - 1
    }
    /// The sign bit.
    pub const fn sign_bit(self) -> u128 {
        1u128 << (self.w + self.t)
    }
    /// The quiet bit of NaNs.
    pub const fn quiet_bit(self) -> u128 {
        1u128 << (self.t - 1)
    }
    /// The positive canonical quiet NaN.
    pub const fn canonical_nan(self) -> u128 {
        (self.exp_max() << self.t) | self.quiet_bit()
    }
    /// Is `bits` a NaN?
    pub fn is_nan(self, bits: u128) -> bool {
        (bits >> self.t) & self.exp_max() == self.exp_max() && bits & self.frac_mask() != 0
    }
    /// Hex digits printed after the point.
    const fn digits(self) -> u32 {
        self.t.div_ceil(4)
    }
}

/// Why a float literal was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FloatError {
    /// A decimal literal other than `0.0`.
    NotHex,
    /// Malformed text.
    Syntax(&'static str),
    /// More significant bits than the format holds.
    TooManyBits,
    /// The exponent is too large for the format.
    ExponentTooLarge,
    /// The value is too small (or a subnormal that would lose bits).
    TooSmall,
    /// A NaN payload that does not fit or is invalid.
    BadPayload,
}

impl fmt::Display for FloatError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            FloatError::NotHex => f.write_str("float must be hexadecimal"),
            FloatError::Syntax(s) => f.write_str(s),
            FloatError::TooManyBits => f.write_str("too many significant bits"),
            FloatError::ExponentTooLarge => f.write_str("exponent too large"),
            FloatError::TooSmall => f.write_str("value too small or loses subnormal bits"),
            FloatError::BadPayload => f.write_str("invalid NaN payload"),
        }
    }
}

fn parse_hex_u128(s: &str) -> Result<u128, FloatError> {
    if s.is_empty() || s.len() > 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(FloatError::Syntax("invalid hexadecimal NaN payload"));
    }
    u128::from_str_radix(s, 16).map_err(|_| FloatError::Syntax("invalid hexadecimal NaN payload"))
}

/// Parse a float literal (REFERENCE §1.10) into the bit pattern of format `fmt`.
pub fn parse_float_bits(text: &str, fmt: FloatFormat) -> Result<u128, FloatError> {
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let sign = if neg { fmt.sign_bit() } else { 0 };
    let exp_all = fmt.exp_max() << fmt.t;
    if body == "Inf" {
        return Ok(sign | exp_all);
    }
    if body == "NaN" {
        return Ok(sign | exp_all | fmt.quiet_bit());
    }
    if let Some(p) = body.strip_prefix("NaN:0x") {
        let payload = parse_hex_u128(p)?;
        if payload >= fmt.quiet_bit() {
            return Err(FloatError::BadPayload);
        }
        return Ok(sign | exp_all | fmt.quiet_bit() | payload);
    }
    if let Some(p) = body.strip_prefix("sNaN:0x") {
        let payload = parse_hex_u128(p)?;
        if payload == 0 || payload >= fmt.quiet_bit() {
            return Err(FloatError::BadPayload);
        }
        return Ok(sign | exp_all | payload);
    }
    if body == "0.0" {
        return Ok(sign);
    }
    let Some(hex) = body.strip_prefix("0x") else {
        return Err(if body.starts_with(|c: char| c.is_ascii_digit()) {
            FloatError::NotHex
        } else {
            FloatError::Syntax("invalid float literal")
        });
    };
    let (mant, exp) = match hex.find('p') {
        Some(i) => (&hex[..i], Some(&hex[i + 1..])),
        None => (hex, None),
    };
    let p: i32 = match exp {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(FloatError::Syntax("invalid float exponent"));
            }
            e.parse::<i16>().map_err(|_| FloatError::ExponentTooLarge)? as i32
        }
    };
    let mut m: u128 = 0;
    let mut ndigits = 0u32;
    let mut after_point: Option<u32> = None;
    for c in mant.chars() {
        if c == '.' {
            if after_point.is_some() {
                return Err(FloatError::Syntax("more than one '.' in float"));
            }
            after_point = Some(0);
            continue;
        }
        let d = c.to_digit(16).ok_or(FloatError::Syntax("invalid hexadecimal digit in float"))?;
        ndigits += 1;
        if ndigits > 32 {
            return Err(FloatError::TooManyBits);
        }
        m = (m << 4) | d as u128;
        if let Some(k) = after_point.as_mut() {
            *k += 1;
        }
    }
    if ndigits == 0 {
        return Err(FloatError::Syntax("float has no digits"));
    }
    if m == 0 {
        return Ok(sign);
    }
    let k = after_point.unwrap_or(0) as i32;
    let e = p - 4 * k; // value = m * 2^e
    let msb = 127 - m.leading_zeros() as i32;
    let big_e = msb + e; // unbiased exponent of the leading bit
    let bias = fmt.bias();
    let t = fmt.t as i32;
    if big_e > bias {
        return Err(FloatError::ExponentTooLarge);
    }
    let tz = m.trailing_zeros() as i32;
    if big_e >= 1 - bias {
        // Normal: the bits below the leading one must fit in t bits.
        if msb - tz > t {
            return Err(FloatError::TooManyBits);
        }
        let frac = m & !(1u128 << msb);
        let frac = if msb <= t { frac << (t - msb) } else { frac >> (msb - t) };
        let biased = (big_e + bias) as u128;
        return Ok(sign | (biased << fmt.t) | frac);
    }
    // Subnormal: value = f * 2^(1 - bias - t), f < 2^t.
    let shift = e - (1 - bias - t);
    let f = if shift >= 0 {
        m << shift
    } else {
        if tz < -shift {
            return Err(FloatError::TooSmall);
        }
        m >> (-shift)
    };
    if f == 0 || f > fmt.frac_mask() {
        return Err(FloatError::TooSmall);
    }
    Ok(sign | f)
}

/// Write the canonical text of float bits `bits` of format `fmt`.
pub fn format_float_bits(f: &mut dyn fmt::Write, bits: u128, fmt: FloatFormat) -> fmt::Result {
    let neg = bits & fmt.sign_bit() != 0;
    let exp = (bits >> fmt.t) & fmt.exp_max();
    let frac = bits & fmt.frac_mask();
    if exp == fmt.exp_max() {
        let s = if neg { '-' } else { '+' };
        if frac == 0 {
            return write!(f, "{s}Inf");
        }
        let payload = frac & !fmt.quiet_bit();
        if frac & fmt.quiet_bit() != 0 {
            if payload == 0 {
                return write!(f, "{s}NaN");
            }
            return write!(f, "{s}NaN:0x{payload:x}");
        }
        return write!(f, "{s}sNaN:0x{payload:x}");
    }
    if neg {
        f.write_char('-')?;
    }
    if exp == 0 && frac == 0 {
        return f.write_str("0.0");
    }
    let d = fmt.digits();
    let digits = frac << (4 * d - fmt.t);
    let (lead, e) = if exp == 0 { (0, 1 - fmt.bias()) } else { (1, exp as i32 - fmt.bias()) };
    write!(f, "0x{lead}.{digits:0width$x}p{e}", width = d as usize)
}

macro_rules! ieee_type {
    ($name:ident, $bits:ty, $fmt:expr, $doc:expr) => {
        #[doc = $doc]
        #[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
        pub struct $name(pub $bits);

        impl $name {
            /// The IEEE format.
            pub const FORMAT: FloatFormat = $fmt;
            /// The raw bits.
            pub fn bits(self) -> $bits {
                self.0
            }
            /// Parse a CLIF float literal.
            pub fn parse(s: &str) -> Result<Self, FloatError> {
                parse_float_bits(s, $fmt).map(|b| $name(b as $bits))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
                format_float_bits(f, self.0 as u128, $fmt)
            }
        }
    };
}

ieee_type!(Ieee16, u16, FloatFormat::F16, "An f16 immediate, as bits.");
ieee_type!(Ieee32, u32, FloatFormat::F32, "An f32 immediate, as bits.");
ieee_type!(Ieee64, u64, FloatFormat::F64, "An f64 immediate, as bits.");
ieee_type!(Ieee128, u128, FloatFormat::F128, "An f128 immediate, as bits.");

impl Ieee32 {
    /// From a host float.
    pub fn with_float(x: f32) -> Self {
        Ieee32(x.to_bits())
    }
    /// As a host float.
    pub fn as_f32(self) -> f32 {
        f32::from_bits(self.0)
    }
}

impl From<f32> for Ieee32 {
    fn from(x: f32) -> Self {
        Ieee32::with_float(x)
    }
}

impl From<f64> for Ieee64 {
    fn from(x: f64) -> Self {
        Ieee64::with_float(x)
    }
}

impl Ieee64 {
    /// From a host float.
    pub fn with_float(x: f64) -> Self {
        Ieee64(x.to_bits())
    }
    /// As a host float.
    pub fn as_f64(self) -> f64 {
        f64::from_bits(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32s(s: &str) -> u32 {
        Ieee32::parse(s).unwrap().0
    }

    #[test]
    fn parse_examples() {
        assert_eq!(f32s("0x1.0"), 1.0f32.to_bits());
        assert_eq!(f32s("0x1.8p1"), 3.0f32.to_bits());
        assert_eq!(f32s("0x.8"), 0.5f32.to_bits());
        assert_eq!(f32s("0x34.0p0"), 52.0f32.to_bits());
        assert_eq!(f32s("-0x0.0"), (-0.0f32).to_bits());
        assert_eq!(f32s("-0.0"), (-0.0f32).to_bits());
        assert_eq!(f32s("+Inf"), f32::INFINITY.to_bits());
        assert_eq!(f32s("-Inf"), f32::NEG_INFINITY.to_bits());
        assert_eq!(f32s("NaN"), 0x7fc0_0000);
        assert_eq!(f32s("-NaN:0x3fffff"), 0xffff_ffff);
        assert_eq!(f32s("+sNaN:0x1"), 0x7f80_0001);
        assert_eq!(f32s("0x0.0000fep-126"), 0x7f);
        assert_eq!(Ieee64::parse("0x1.fffffffffffffp62").unwrap().0, 0x43df_ffff_ffff_ffff);
        assert_eq!(Ieee16::parse("0x1.610p4").unwrap().0, 0x4d84);
        assert_eq!(Ieee128::parse("0x1.0").unwrap().0, 0x3fff_0000_0000_0000_0000_0000_0000_0000);
    }

    #[test]
    fn parse_errors() {
        assert_eq!(Ieee32::parse("1.5"), Err(FloatError::NotHex));
        assert_eq!(Ieee32::parse("0x1.000001p0"), Err(FloatError::TooManyBits));
        assert_eq!(Ieee32::parse("0x1.0p128"), Err(FloatError::ExponentTooLarge));
        assert_eq!(Ieee32::parse("0x1.0p-150"), Err(FloatError::TooSmall));
        assert_eq!(Ieee32::parse("0x3.0p-150"), Err(FloatError::TooSmall));
        assert_eq!(Ieee32::parse("+sNaN:0x0"), Err(FloatError::BadPayload));
        assert_eq!(Ieee32::parse("NaN:0x400000"), Err(FloatError::BadPayload));
        assert!(Ieee32::parse("0x1.0p99999").is_err());
        assert!(Ieee32::parse("0x").is_err());
        assert!(Ieee32::parse("0x1..0").is_err());
    }

    #[test]
    fn canonical_printing() {
        assert_eq!(Ieee32(1.0f32.to_bits()).to_string(), "0x1.000000p0");
        assert_eq!(Ieee64(4.0f64.to_bits()).to_string(), "0x1.0000000000000p2");
        assert_eq!(Ieee16(0x4d84).to_string(), "0x1.610p4");
        assert_eq!(Ieee32(0x7f).to_string(), "0x0.0000fep-126");
        assert_eq!(Ieee32(0x8000_0000).to_string(), "-0.0");
        assert_eq!(Ieee32(0x7fc0_0000).to_string(), "+NaN");
        assert_eq!(Ieee32(0xffc0_0001).to_string(), "-NaN:0x1");
        assert_eq!(Ieee32(0x7f80_0001).to_string(), "+sNaN:0x1");
        assert_eq!(Ieee32(0xff80_0000).to_string(), "-Inf");
    }

    #[test]
    fn every_f16_round_trips() {
        for b in 0..=u16::MAX {
            let s = Ieee16(b).to_string();
            assert_eq!(Ieee16::parse(&s), Ok(Ieee16(b)), "{s}");
        }
    }

    #[test]
    fn imm64_and_offsets() {
        assert_eq!(Imm64(9999).to_string(), "9999");
        assert_eq!(Imm64(10000).to_string(), "0x2710");
        assert_eq!(Imm64(0x12345).to_string(), "0x0001_2345");
        assert_eq!(Imm64(-256).to_string(), "-256");
        assert_eq!(Offset32(8).to_string(), "+8");
        assert_eq!(Offset32(-72).to_string(), "-72");
        assert_eq!(Offset32(10000).to_string(), "+0x2710");
        assert_eq!(Offset32(0).to_string(), "");
        assert_eq!(Offset32(i32::MIN).to_string(), "-0x8000_0000");
    }
}

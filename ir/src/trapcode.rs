//! Trap codes: a one-byte space of user codes `user1`…`user250` and five reserved codes.

use core::fmt;
use core::num::NonZeroU8;

/// A trap code. Never zero, so `Option<TrapCode>` is one byte.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrapCode(NonZeroU8);

impl TrapCode {
    /// Stack overflow.
    pub const STACK_OVERFLOW: TrapCode = TrapCode::reserved(251);
    /// Integer overflow.
    pub const INTEGER_OVERFLOW: TrapCode = TrapCode::reserved(252);
    /// Out-of-bounds memory access.
    pub const HEAP_OUT_OF_BOUNDS: TrapCode = TrapCode::reserved(253);
    /// Integer division by zero.
    pub const INTEGER_DIVISION_BY_ZERO: TrapCode = TrapCode::reserved(254);
    /// NaN converted to an integer.
    pub const BAD_CONVERSION_TO_INTEGER: TrapCode = TrapCode::reserved(255);

    const fn reserved(n: u8) -> TrapCode {
        match NonZeroU8::new(n) {
            Some(n) => TrapCode(n),
            None => panic!("zero trap code"),
        }
    }

    /// The user code `userN`, for 1 ≤ N ≤ 250.
    pub const fn user(n: u8) -> Option<TrapCode> {
        if n >= 1 && n <= 250 {
            match NonZeroU8::new(n) {
                Some(n) => Some(TrapCode(n)),
                None => None,
            }
        } else {
            None
        }
    }

    /// The raw one-byte code (1..=255).
    pub const fn as_raw(self) -> u8 {
        self.0.get()
    }

    /// From a raw code.
    pub const fn from_raw(n: u8) -> Option<TrapCode> {
        match NonZeroU8::new(n) {
            Some(n) => Some(TrapCode(n)),
            None => None,
        }
    }

    /// Parse a text name (`heap_oob`, `user7`, …).
    pub fn parse(s: &str) -> Option<TrapCode> {
        Some(match s {
            "stk_ovf" => Self::STACK_OVERFLOW,
            "int_ovf" => Self::INTEGER_OVERFLOW,
            "heap_oob" => Self::HEAP_OUT_OF_BOUNDS,
            "int_divz" => Self::INTEGER_DIVISION_BY_ZERO,
            "bad_toint" => Self::BAD_CONVERSION_TO_INTEGER,
            _ => {
                let n = s.strip_prefix("user")?;
                if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || (n.len() > 1 && n.starts_with('0')) {
                    return None;
                }
                return Self::user(n.parse().ok()?);
            }
        })
    }
}

impl fmt::Display for TrapCode {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.0.get() {
            251 => f.write_str("stk_ovf"),
            252 => f.write_str("int_ovf"),
            253 => f.write_str("heap_oob"),
            254 => f.write_str("int_divz"),
            255 => f.write_str("bad_toint"),
            n => write!(f, "user{n}"),
        }
    }
}

impl fmt::Debug for TrapCode {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn names() {
        for n in 1..=255u8 {
            let t = TrapCode::from_raw(n).unwrap();
            assert_eq!(TrapCode::parse(&t.to_string()), Some(t));
        }
        for bad in ["user0", "user251", "user", "user01", "oops"] {
            assert_eq!(TrapCode::parse(bad), None);
        }
    }
}

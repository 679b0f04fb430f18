//! Condition codes of `icmp` ([`IntCC`]) and `fcmp` ([`FloatCC`]), with their text names,
//! inverses, swaps and evaluation.

use core::fmt;

macro_rules! cond_enum {
    ($(#[$attr:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$attr])*
        #[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
        #[allow(missing_docs)]
        pub enum $name { $($variant),* }

        impl $name {
            /// Every condition code.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            /// The text name.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
            /// Parse a text name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)* _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

cond_enum!(
    /// Integer comparison condition.
    IntCC {
        Equal = "eq",
        NotEqual = "ne",
        SignedLessThan = "slt",
        SignedGreaterThanOrEqual = "sge",
        SignedGreaterThan = "sgt",
        SignedLessThanOrEqual = "sle",
        UnsignedLessThan = "ult",
        UnsignedGreaterThanOrEqual = "uge",
        UnsignedGreaterThan = "ugt",
        UnsignedLessThanOrEqual = "ule",
    }
);

impl IntCC {
    /// The condition that holds exactly when `self` does not.
    pub fn complement(self) -> IntCC {
        use IntCC::*;
        match self {
            Equal => NotEqual,
            NotEqual => Equal,
            SignedLessThan => SignedGreaterThanOrEqual,
            SignedGreaterThanOrEqual => SignedLessThan,
            SignedGreaterThan => SignedLessThanOrEqual,
            SignedLessThanOrEqual => SignedGreaterThan,
            UnsignedLessThan => UnsignedGreaterThanOrEqual,
            UnsignedGreaterThanOrEqual => UnsignedLessThan,
            UnsignedGreaterThan => UnsignedLessThanOrEqual,
            UnsignedLessThanOrEqual => UnsignedGreaterThan,
        }
    }

    /// The condition with the operands swapped: `x cc y == y cc.swap_args() x`.
    pub fn swap_args(self) -> IntCC {
        use IntCC::*;
        match self {
            Equal | NotEqual => self,
            SignedLessThan => SignedGreaterThan,
            SignedGreaterThan => SignedLessThan,
            SignedGreaterThanOrEqual => SignedLessThanOrEqual,
            SignedLessThanOrEqual => SignedGreaterThanOrEqual,
            UnsignedLessThan => UnsignedGreaterThan,
            UnsignedGreaterThan => UnsignedLessThan,
            UnsignedGreaterThanOrEqual => UnsignedLessThanOrEqual,
            UnsignedLessThanOrEqual => UnsignedGreaterThanOrEqual,
        }
    }

    /// Is this a signed comparison?
    pub fn is_signed(self) -> bool {
        use IntCC::*;
        matches!(self, SignedLessThan | SignedGreaterThanOrEqual | SignedGreaterThan | SignedLessThanOrEqual)
    }

    /// Evaluate on two `bits`-wide values given as zero-extended u128 patterns.
    pub fn eval(self, x: u128, y: u128, bits: u32) -> bool {
        use IntCC::*;
        let sx = sext128(x, bits);
        let sy = sext128(y, bits);
        match self {
            Equal => x == y,
            NotEqual => x != y,
            SignedLessThan => sx < sy,
            SignedGreaterThanOrEqual => sx >= sy,
            SignedGreaterThan => sx > sy,
            SignedLessThanOrEqual => sx <= sy,
            UnsignedLessThan => x < y,
            UnsignedGreaterThanOrEqual => x >= y,
            UnsignedGreaterThan => x > y,
            UnsignedLessThanOrEqual => x <= y,
        }
    }
}

/// Sign-extend the low `bits` bits of `x` to an i128.
pub fn sext128(x: u128, bits: u32) -> i128 {
    if bits >= 128 {
        x as i128
    } else {
        let s = 128 - bits;
        ((x << s) as i128) >> s
    }
}

cond_enum!(
    /// Floating-point comparison condition.
    FloatCC {
        Ordered = "ord",
        Unordered = "uno",
        Equal = "eq",
        NotEqual = "ne",
        OrderedNotEqual = "one",
        UnorderedOrEqual = "ueq",
        LessThan = "lt",
        LessThanOrEqual = "le",
        GreaterThan = "gt",
        GreaterThanOrEqual = "ge",
        UnorderedOrLessThan = "ult",
        UnorderedOrLessThanOrEqual = "ule",
        UnorderedOrGreaterThan = "ugt",
        UnorderedOrGreaterThanOrEqual = "uge",
    }
);

/// The relation between two floats: exactly one holds.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum FloatRel {
    /// Either operand is NaN.
    Unordered,
    /// Equal (±0 are equal).
    Equal,
    /// x < y.
    Less,
    /// x > y.
    Greater,
}

impl FloatCC {
    /// Does the condition hold for relation `r`?
    pub fn holds(self, r: FloatRel) -> bool {
        use FloatCC::*;
        use FloatRel as R;
        match self {
            Ordered => r != R::Unordered,
            Unordered => r == R::Unordered,
            Equal => r == R::Equal,
            NotEqual => r != R::Equal,
            OrderedNotEqual => matches!(r, R::Less | R::Greater),
            UnorderedOrEqual => matches!(r, R::Unordered | R::Equal),
            LessThan => r == R::Less,
            LessThanOrEqual => matches!(r, R::Less | R::Equal),
            GreaterThan => r == R::Greater,
            GreaterThanOrEqual => matches!(r, R::Greater | R::Equal),
            UnorderedOrLessThan => matches!(r, R::Unordered | R::Less),
            UnorderedOrLessThanOrEqual => matches!(r, R::Unordered | R::Less | R::Equal),
            UnorderedOrGreaterThan => matches!(r, R::Unordered | R::Greater),
            UnorderedOrGreaterThanOrEqual => matches!(r, R::Unordered | R::Greater | R::Equal),
        }
    }

    /// The condition that holds exactly when `self` does not.
    pub fn complement(self) -> FloatCC {
        use FloatCC::*;
        match self {
            Ordered => Unordered,
            Unordered => Ordered,
            Equal => NotEqual,
            NotEqual => Equal,
            OrderedNotEqual => UnorderedOrEqual,
            UnorderedOrEqual => OrderedNotEqual,
            LessThan => UnorderedOrGreaterThanOrEqual,
            LessThanOrEqual => UnorderedOrGreaterThan,
            GreaterThan => UnorderedOrLessThanOrEqual,
            GreaterThanOrEqual => UnorderedOrLessThan,
            UnorderedOrLessThan => GreaterThanOrEqual,
            UnorderedOrLessThanOrEqual => GreaterThan,
            UnorderedOrGreaterThan => LessThanOrEqual,
            UnorderedOrGreaterThanOrEqual => LessThan,
        }
    }

    /// The condition with the operands swapped.
    pub fn swap_args(self) -> FloatCC {
        use FloatCC::*;
        match self {
            LessThan => GreaterThan,
            LessThanOrEqual => GreaterThanOrEqual,
            GreaterThan => LessThan,
            GreaterThanOrEqual => LessThanOrEqual,
            UnorderedOrLessThan => UnorderedOrGreaterThan,
            UnorderedOrLessThanOrEqual => UnorderedOrGreaterThanOrEqual,
            UnorderedOrGreaterThan => UnorderedOrLessThan,
            UnorderedOrGreaterThanOrEqual => UnorderedOrLessThanOrEqual,
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intcc_laws() {
        for &cc in IntCC::ALL {
            assert_eq!(IntCC::parse(cc.name()), Some(cc));
            for (x, y) in [(0u128, 0u128), (1, 0xff), (0x80, 0x7f), (5, 5), (0xff, 1)] {
                assert_eq!(cc.eval(x, y, 8), !cc.complement().eval(x, y, 8));
                assert_eq!(cc.eval(x, y, 8), cc.swap_args().eval(y, x, 8));
            }
        }
        assert!(IntCC::SignedLessThan.eval(0x80, 0x7f, 8));
        assert!(!IntCC::UnsignedLessThan.eval(0x80, 0x7f, 8));
    }

    #[test]
    fn floatcc_laws() {
        use FloatRel::*;
        for &cc in FloatCC::ALL {
            assert_eq!(FloatCC::parse(cc.name()), Some(cc));
            for r in [Unordered, Equal, Less, Greater] {
                assert_eq!(cc.holds(r), !cc.complement().holds(r));
                let swapped = match r {
                    Less => Greater,
                    Greater => Less,
                    o => o,
                };
                assert_eq!(cc.holds(r), cc.swap_args().holds(swapped));
            }
        }
    }
}

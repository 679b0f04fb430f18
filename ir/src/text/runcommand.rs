//! Run commands (REFERENCE §4.8): `; run: %f(args) == expected`, `; print: %f(args)` (also
//! written `; run: %f(args)`, without a comparison) and the legacy bare `; run` / `; print`,
//! parsed against the signature of the function they are attached to into [`DataValue`]s.
//!
//! Invariants: a comment whose first word is not `run`/`print` is not a run command
//! (`Ok(None)`); one whose first word is, must be well-formed (else `Err`); a parsed command
//! has exactly one argument per parameter and, for `run:`, one expected value per return.

use super::lexer::{Lexer, Token};
use super::parser::{parse_float_of_type, parse_hex_bytes, parse_int_of_type};
use crate::data_value::DataValue;
use crate::signature::Signature;
use crate::types::Type;
use core::fmt;
use smallvec::SmallVec;

/// A parsed run command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunCommand {
    /// Call and compare the results.
    Run {
        /// The call.
        invocation: Invocation,
        /// `==` or `!=`.
        comparison: Comparison,
        /// The expected results, one per return value.
        expected: Vec<DataValue>,
    },
    /// Call and print the results.
    Print(Invocation),
}

/// A call written in a run command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// The function name without `%` (`default` for the legacy forms).
    pub func: String,
    /// The arguments, one per parameter.
    pub args: Vec<DataValue>,
}

/// How results are compared with the expectation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// `==`: bitwise equal.
    Equals,
    /// `!=`: different.
    NotEquals,
}

impl fmt::Display for Invocation {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "%{}(", self.func)?;
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{a}")?;
        }
        f.write_str(")")
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Comparison::Equals => "==",
            Comparison::NotEquals => "!=",
        })
    }
}

impl fmt::Display for RunCommand {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            RunCommand::Print(inv) => write!(f, "print: {inv}"),
            RunCommand::Run { invocation, comparison, expected } => {
                write!(f, "run: {invocation} {comparison} ")?;
                if expected.len() == 1 {
                    write!(f, "{}", expected[0])
                } else {
                    f.write_str("[")?;
                    for (i, v) in expected.iter().enumerate() {
                        if i > 0 {
                            f.write_str(", ")?;
                        }
                        write!(f, "{v}")?;
                    }
                    f.write_str("]")
                }
            }
        }
    }
}

/// Token reader over the command text (comments inside it are skipped).
struct Reader<'a> {
    lex: Lexer<'a>,
    tok: Token<'a>,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Self {
        let mut r = Reader { lex: Lexer::new(text), tok: Token::Eof };
        r.advance();
        r
    }

    fn advance(&mut self) {
        loop {
            let (t, _) = self.lex.next_token();
            if !matches!(t, Token::Comment(_)) {
                self.tok = t;
                return;
            }
        }
    }

    fn describe(&self) -> String {
        match self.tok {
            Token::Eof => "end of line".to_string(),
            Token::Error(m) => m.to_string(),
            t => format!("{t:?}"),
        }
    }

    fn expect(&mut self, t: Token<'a>, what: &str) -> Result<(), String> {
        if self.tok == t {
            self.advance();
            Ok(())
        } else {
            Err(format!("expected {what}, found {}", self.describe()))
        }
    }

    /// A data value of type `ty`.
    fn value(&mut self, ty: Type) -> Result<DataValue, String> {
        if ty.is_dynamic_vector() || ty.is_invalid() {
            return Err(format!("values of type {ty} cannot be written in run commands"));
        }
        if ty.is_vector() {
            let size = ty.bytes() as usize;
            if !matches!(size, 2 | 4 | 8 | 16) {
                return Err(format!("vector type {ty} is not 2, 4, 8 or 16 bytes"));
            }
            let bytes = match self.tok {
                Token::LBracket => {
                    self.advance();
                    let lane = ty.lane_type();
                    let lb = (lane.lane_bits() / 8) as usize;
                    let mut bytes: SmallVec<[u8; 16]> = SmallVec::new();
                    for _ in 0..ty.lane_count() {
                        let bits = self.scalar_bits(lane)?;
                        bytes.extend_from_slice(&bits.to_le_bytes()[..lb]);
                    }
                    self.expect(Token::RBracket, &format!("']' after {} lanes", ty.lane_count()))?;
                    bytes
                }
                Token::Integer(t) => {
                    let mut b = parse_hex_bytes(t)?;
                    if b.len() > size {
                        return Err(format!("hexadecimal value is longer than {ty}"));
                    }
                    b.resize(size, 0);
                    self.advance();
                    SmallVec::from_vec(b)
                }
                _ => return Err(format!("expected {ty} vector value, found {}", self.describe())),
            };
            return Ok(DataValue::Vector(ty, bytes));
        }
        let bits = self.scalar_bits(ty)?;
        DataValue::from_u128(ty, bits).ok_or_else(|| format!("unsupported type {ty}"))
    }

    /// The bits of a scalar literal of type `ty`.
    fn scalar_bits(&mut self, ty: Type) -> Result<u128, String> {
        let r = match (self.tok, ty.is_float()) {
            (Token::Float(t), true) => parse_float_of_type(t, ty),
            (Token::Integer(t), false) => parse_int_of_type(t, ty).map_err(|m| format!("{ty} value {t}: {m}")),
            (Token::Integer(t), true) => Err(format!("expected {ty} float literal, found integer {t}")),
            (Token::Float(t), false) => Err(format!("expected {ty} integer, found float {t}")),
            _ => Err(format!("expected {ty} value, found {}", self.describe())),
        };
        if r.is_ok() {
            self.advance();
        }
        r
    }
}

/// Parse the text of a comment (from `;`) as a run command for a function with signature
/// `sig`. `Ok(None)` if the comment is not a run command.
pub fn parse_run_command(comment_text: &str, sig: &Signature) -> Result<Option<RunCommand>, String> {
    let text = comment_text.trim_start_matches([' ', '\t', ';']);
    let word_len = text.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
    let (word, rest) = text.split_at(word_len);
    let is_run = match word {
        "run" => true,
        "print" => false,
        _ => return Ok(None),
    };
    let mut r = Reader::new(rest);
    if r.tok == Token::Eof {
        // Legacy forms.
        if !sig.params.is_empty() {
            return Err(format!("bare '{word}' needs a function without parameters"));
        }
        let invocation = Invocation { func: "default".to_string(), args: Vec::new() };
        if !is_run {
            return Ok(Some(RunCommand::Print(invocation)));
        }
        let ret = match sig.returns.as_slice() {
            [p] if p.value_type.is_int() && p.value_type.is_scalar() => p.value_type,
            _ => return Err("bare 'run' needs a function returning a single integer".to_string()),
        };
        let zero = DataValue::from_u128(ret, 0).ok_or("unsupported return type")?;
        return Ok(Some(RunCommand::Run { invocation, comparison: Comparison::NotEquals, expected: vec![zero] }));
    }
    r.expect(Token::Colon, &format!("':' after '{word}'"))?;
    let Token::Name(name) = r.tok else {
        return Err(format!("expected function name %name, found {}", r.describe()));
    };
    r.advance();
    r.expect(Token::LPar, "'(' after the function name")?;
    let mut args = Vec::with_capacity(sig.params.len());
    for (i, p) in sig.params.iter().enumerate() {
        if i > 0 {
            r.expect(Token::Comma, "',' between arguments")?;
        }
        args.push(r.value(p.value_type)?);
    }
    if r.tok != Token::RPar {
        return Err(format!("expected ')' after {} argument(s), found {}", sig.params.len(), r.describe()));
    }
    r.advance();
    let invocation = Invocation { func: name.to_string(), args };
    // `run: %f(x)` without a comparison prints the result, like `print:`.
    if !is_run || r.tok == Token::Eof {
        if r.tok != Token::Eof {
            return Err(format!("unexpected {} after print command", r.describe()));
        }
        return Ok(Some(RunCommand::Print(invocation)));
    }
    let comparison = match r.tok {
        Token::Equal => Comparison::Equals,
        Token::Bang => Comparison::NotEquals,
        _ => return Err(format!("expected '==' or '!=', found {}", r.describe())),
    };
    r.advance();
    r.expect(Token::Equal, "'==' or '!='")?;
    let mut expected = Vec::with_capacity(sig.returns.len());
    if sig.returns.len() == 1 {
        expected.push(r.value(sig.returns[0].value_type)?);
    } else {
        r.expect(Token::LBracket, "'[' before the expected results")?;
        for (i, p) in sig.returns.iter().enumerate() {
            if i > 0 {
                r.expect(Token::Comma, "',' between expected results")?;
            }
            expected.push(r.value(p.value_type)?);
        }
        r.expect(Token::RBracket, &format!("']' after {} expected result(s)", sig.returns.len()))?;
    }
    if r.tok != Token::Eof {
        return Err(format!("unexpected {} after run command", r.describe()));
    }
    Ok(Some(RunCommand::Run { invocation, comparison, expected }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::immediates::{Ieee32, Ieee64};
    use crate::signature::{AbiParam, CallConv};
    use crate::types;

    fn sig(params: &[Type], returns: &[Type]) -> Signature {
        let mut s = Signature::new(CallConv::Fast);
        s.params = params.iter().map(|&t| AbiParam::new(t)).collect();
        s.returns = returns.iter().map(|&t| AbiParam::new(t)).collect();
        s
    }

    fn run(text: &str, s: &Signature) -> RunCommand {
        match parse_run_command(text, s) {
            Ok(Some(c)) => c,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn not_run_commands() {
        let s = sig(&[], &[]);
        for t in ["; running", "; check: run", "; nothing", ";", "", "; runs: x", "; printer"] {
            assert_eq!(parse_run_command(t, &s), Ok(None), "{t}");
        }
    }

    #[test]
    fn scalar_values() {
        let s = sig(&[types::I8, types::I16, types::I32, types::I64, types::I128], &[types::I32]);
        let c =
            run("; run: %f(0xff, -1, 0xC0FFEEEE, 0xC0FFEEEE_DECAFFFF, 0x01234567_89abcdef_01234567_89abcdef) == 7", &s);
        let RunCommand::Run { invocation, comparison, expected } = &c else { panic!() };
        assert_eq!(invocation.func, "f");
        assert_eq!(
            invocation.args,
            vec![
                DataValue::I8(-1),
                DataValue::I16(-1),
                DataValue::I32(0xc0ff_eeee_u32 as i32),
                DataValue::I64(0xc0ff_eeee_deca_ffff_u64 as i64),
                DataValue::I128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
            ]
        );
        assert_eq!(*comparison, Comparison::Equals);
        assert_eq!(expected, &vec![DataValue::I32(7)]);
        assert_eq!(
            c.to_string(),
            "run: %f(-1, -1, -1056968978, -4539647189658697729, 1512366075204170929049582354406559215) == 7"
        );
        // Typed ranges.
        assert!(parse_run_command("; run: %f(256, 0, 0, 0, 0) == 0", &s).is_err());
        assert!(parse_run_command("; run: %f(1_0, 0, 0, 0, 0) == 0", &s).is_err());
        assert!(parse_run_command("; run: %f(1, 0, 0, 1_000, 0) == 0", &s).is_ok());
    }

    #[test]
    fn floats_vectors_and_multiple_returns() {
        let s = sig(&[types::F32, types::F64], &[types::F32]);
        let c = run(";; run: %g(0x1.0, -NaN:0x1) != +Inf", &s);
        let RunCommand::Run { invocation, comparison, expected } = &c else { panic!() };
        assert_eq!(
            invocation.args,
            vec![DataValue::F32(Ieee32(0x3f80_0000)), DataValue::F64(Ieee64(0xfff8_0000_0000_0001))]
        );
        assert_eq!(*comparison, Comparison::NotEquals);
        assert_eq!(expected, &vec![DataValue::F32(Ieee32(0x7f80_0000))]);
        assert!(parse_run_command("; run: %g(1, 0x1.0) == 0x1.0", &s).unwrap_err().contains("float"));
        assert!(parse_run_command("; run: %g(1.5, 0x1.0) == 0x1.0", &s).unwrap_err().contains("hexadecimal"));

        let s = sig(&[types::I32X4, types::I8X16], &[types::I32X4, types::I8]);
        let c = run("; run: %v([1 2 3 -1], 0x0102) == [[11 22 33 44], 1]", &s);
        let RunCommand::Run { invocation, expected, .. } = &c else { panic!() };
        assert_eq!(
            invocation.args[0].to_le_bytes().as_slice(),
            &[1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 255, 255, 255, 255]
        );
        let mut b16 = [0u8; 16];
        b16[0] = 2;
        b16[1] = 1;
        assert_eq!(invocation.args[1].to_le_bytes().as_slice(), &b16);
        assert_eq!(expected.len(), 2);
        assert_eq!(expected[1], DataValue::I8(1));
        let echo = c.to_string();
        assert_eq!(parse_run_command(&format!("; {echo}"), &s), Ok(Some(c)));
        // Lane count and commas.
        assert!(parse_run_command("; run: %v([1 2 3], 0x01) == [[1 2 3 4], 1]", &s).is_err());
        assert!(parse_run_command("; run: %v([1, 2, 3, 4], 0x01) == [[1 2 3 4], 1]", &s).is_err());
        assert!(parse_run_command("; run: %v([1 2 3 4], 0x01) == [1 2 3 4]", &s).is_err());

        let s = sig(&[types::F32X4], &[]);
        let c = run("; run: %w([0x1.0 -0x1.0 NaN 0.0]) == []", &s);
        assert_eq!(c.to_string(), "run: %w(0x000000007fc00000bf8000003f800000) == []");
    }

    #[test]
    fn print_and_legacy_forms() {
        let s = sig(&[types::I32], &[types::I32]);
        assert_eq!(
            run("; print: %p(5)", &s),
            RunCommand::Print(Invocation { func: "p".into(), args: vec![DataValue::I32(5)] })
        );
        assert_eq!(run("; print: %p(5)", &s).to_string(), "print: %p(5)");
        let s0 = sig(&[], &[types::I8]);
        let c = run("; run", &s0);
        assert_eq!(
            c,
            RunCommand::Run {
                invocation: Invocation { func: "default".into(), args: vec![] },
                comparison: Comparison::NotEquals,
                expected: vec![DataValue::I8(0)],
            }
        );
        assert!(matches!(run(";print", &s0), RunCommand::Print(_)));
        assert!(parse_run_command("; run", &s).is_err(), "bare run needs no parameters");
        assert!(parse_run_command("; run", &sig(&[], &[types::F32])).is_err());
    }

    #[test]
    fn malformed_commands_are_errors() {
        let s = sig(&[types::I32], &[types::I32]);
        for t in [
            "; run: %f(1) = 2",
            "; run: %f(1) == ",
            "; run: %f(1, 2) == 3",
            "; run: %f() == 3",
            "; run: f(1) == 3",
            "; run %f(1) == 3",
            "; run: %f(1) == 3 4",
            "; run: %f(1) == [3]",
            "; print: %f(1) == 3",
            "; run: %f(1) == 0x1.0",
            "; run: %f(1) == $",
        ] {
            assert!(parse_run_command(t, &s).is_err(), "{t}");
        }
        // A trailing comment is allowed.
        assert!(parse_run_command("; run: %f(1) == 3 ; note", &s).is_ok());
        // Without a comparison, `run:` prints the result.
        assert_eq!(
            run("; run: %f(7)", &s),
            RunCommand::Print(Invocation { func: "f".into(), args: vec![DataValue::I32(7)] })
        );
    }
}

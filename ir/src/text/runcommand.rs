//! Run commands (REFERENCE §4.8): `; run: %f(args) == expected`, `; print: %f(args)` and the
//! legacy bare `; run` / `; print`, parsed against the signature of the function they are
//! attached to into [`DataValue`]s.
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
    if !is_run {
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

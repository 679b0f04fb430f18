//! The CLIF lexer (REFERENCE §1): a single pass over the bytes of the source, producing
//! tokens that borrow from the text (no allocation per token).
//!
//! Invariants: every token carries its [`Pos`] (byte offset, line, start of line), from which
//! a 1-based [`Location`] is computed on demand; the lexer never reads more than one token
//! ahead of what it returned, so a caller can take the raw rest of the current line
//! ([`Lexer::rest_of_line`]) for header lines. After an error the lexer only returns
//! [`Token::Eof`].

use super::Location;
use crate::entities::*;
use crate::types::Type;

/// A lexical token.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Token<'a> {
    /// `; …` to the end of the line (the `;` included, the newline not).
    Comment(&'a str),
    /// `(`
    LPar,
    /// `)`
    RPar,
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `<`
    Less,
    /// `>`
    Greater,
    /// `,`
    Comma,
    /// `.`
    Dot,
    /// `:`
    Colon,
    /// `=`
    Equal,
    /// `!`
    Bang,
    /// `*`
    Star,
    /// `@` not followed by a hex digit.
    At,
    /// `->`
    Arrow,
    /// `-` not starting a number.
    Minus,
    /// `+` not starting a number.
    Plus,
    /// A float token (contains `.` or starts with `NaN`/`sNaN`/`Inf` after the sign).
    Float(&'a str),
    /// An integer token (decimal or `0x` hex, maybe signed; validated by context).
    Integer(&'a str),
    /// A scalar or fixed vector type.
    Type(Type),
    /// `vN`
    Value(Value),
    /// `blockN`
    Block(Block),
    /// `ssN`
    StackSlot(StackSlot),
    /// `dssN`
    DynamicStackSlot(DynamicStackSlot),
    /// `dtN`
    DynamicType(DynamicType),
    /// `gvN`
    GlobalValue(GlobalValue),
    /// `constN`
    Constant(Constant),
    /// `fnN`
    FuncRef(FuncRef),
    /// `sigN`
    SigRef(SigRef),
    /// `regionN`
    AliasRegion(AliasRegion),
    /// `tagN`
    Tag(u32),
    /// `retN`
    TryCallRet(u32),
    /// `exnN`
    TryCallExn(u32),
    /// `uN` (the namespace of a user name `uN:M`).
    UserRef(u32),
    /// `userextnameN`
    UserNameRef(u32),
    /// `mtN` (recognized, accepted nowhere).
    MemoryType(u32),
    /// `extableN` (recognized, accepted nowhere).
    ExceptionTableRef(u32),
    /// The keyword `cold`.
    Cold,
    /// Any other word.
    Identifier(&'a str),
    /// `%name`, without the `%`.
    Name(&'a str),
    /// `"…"`, without the quotes.
    String(&'a str),
    /// `#hex`, without the `#`.
    HexSequence(&'a str),
    /// `@hex`, without the `@`.
    SourceLoc(&'a str),
    /// A lexical error (the lexer stops after it).
    Error(&'static str),
    /// End of input.
    Eof,
}

/// A position in the source: byte offset, line number and byte offset of the line start.
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
pub struct Pos {
    /// Byte offset of the token.
    pub offset: usize,
    /// 1-based line number.
    pub line: u32,
    /// Byte offset of the first character of the line.
    pub line_start: usize,
    /// Does a string literal come before the token on its line? (Only string literals can
    /// put non-ASCII text there; otherwise the column is the byte distance, found in O(1).)
    pub after_string: bool,
}

impl Pos {
    /// The 1-based line/column location of this position in `src`.
    pub fn location(self, src: &str) -> Location {
        let start = self.line_start.min(src.len());
        let end = self.offset.clamp(start, src.len());
        let col = match src.get(start..end) {
            Some(s) if self.after_string => s.chars().count(),
            _ => end - start,
        };
        Location { line: self.line.max(1), col: (col as u32).saturating_add(1) }
    }
}

// Character classes, one table lookup per byte.
const WS: u8 = 1;
const WORD_START: u8 = 2;
const WORD: u8 = 4;
const DIGIT: u8 = 8;
const HEX: u8 = 16;
const NUM_CONT: u8 = 32;

const fn class_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        let mut k = 0;
        if c == b' ' || c == b'\t' || c == b'\n' || c == 0x0b || c == 0x0c || c == b'\r' {
            k |= WS;
        }
        let alpha = c.is_ascii_alphabetic();
        if alpha || c == b'_' {
            k |= WORD_START | WORD | NUM_CONT;
        }
        if c.is_ascii_digit() {
            k |= DIGIT | WORD | NUM_CONT;
        }
        if c.is_ascii_hexdigit() {
            k |= HEX;
        }
        if c == b'.' || c == b'-' {
            k |= NUM_CONT;
        }
        t[i] = k;
        i += 1;
    }
    t
}

static CLASS: [u8; 256] = class_table();

#[inline]
fn is(c: u8, k: u8) -> bool {
    CLASS[c as usize] & k != 0
}

/// The lexer.
#[derive(Clone)]
pub struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line: u32,
    line_start: usize,
    /// A string literal was lexed on the current line.
    line_has_string: bool,
    failed: bool,
}

impl<'a> Lexer<'a> {
    /// A lexer over `src`, starting at line 1. A UTF-8 byte-order mark at the start is
    /// skipped (columns of the first line count from after it).
    pub fn new(src: &'a str) -> Self {
        let start = if src.starts_with('\u{feff}') { 3 } else { 0 };
        Lexer {
            src,
            bytes: src.as_bytes(),
            pos: start,
            line: 1,
            line_start: start,
            line_has_string: false,
            failed: false,
        }
    }

    /// The source text.
    pub fn source(&self) -> &'a str {
        self.src
    }

    /// The position just after the last token returned.
    pub fn pos(&self) -> Pos {
        Pos { offset: self.pos, line: self.line, line_start: self.line_start, after_string: self.line_has_string }
    }

    /// Consume and return the raw text from the current position to the end of the line
    /// (the newline is not consumed).
    pub fn rest_of_line(&mut self) -> &'a str {
        let start = self.pos;
        let end = match self.bytes[start..].iter().position(|&b| b == b'\n') {
            Some(n) => start + n,
            None => self.bytes.len(),
        };
        self.pos = end;
        &self.src[start..end]
    }

    fn skip_whitespace(&mut self) {
        // Canonical CLIF is indented by up to 36 spaces: skip runs of spaces 8 at a time.
        while let Some(chunk) = self.bytes.get(self.pos..self.pos + 8) {
            let w =
                u64::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7]]);
            if w != 0x2020_2020_2020_2020 {
                break;
            }
            self.pos += 8;
        }
        while let Some(&c) = self.bytes.get(self.pos) {
            if !is(c, WS) {
                break;
            }
            self.pos += 1;
            if c == b'\n' {
                self.line += 1;
                self.line_start = self.pos;
                self.line_has_string = false;
            }
        }
    }

    /// The next token and its position.
    pub fn next_token(&mut self) -> (Token<'a>, Pos) {
        if self.failed {
            return (Token::Eof, self.pos());
        }
        self.skip_whitespace();
        let pos = self.pos();
        let start = self.pos;
        let Some(&c) = self.bytes.get(start) else {
            return (Token::Eof, pos);
        };
        let next = self.bytes.get(start + 1).copied().unwrap_or(0);
        let tok = match c {
            b';' => {
                let end = match self.bytes[start..].iter().position(|&b| b == b'\n') {
                    Some(n) => start + n,
                    None => self.bytes.len(),
                };
                self.pos = end;
                let mut text = &self.src[start..end];
                if let Some(t) = text.strip_suffix('\r') {
                    text = t;
                }
                Token::Comment(text)
            }
            b'(' => self.punct(Token::LPar),
            b')' => self.punct(Token::RPar),
            b'{' => self.punct(Token::LBrace),
            b'}' => self.punct(Token::RBrace),
            b'[' => self.punct(Token::LBracket),
            b']' => self.punct(Token::RBracket),
            b'<' => self.punct(Token::Less),
            b'>' => self.punct(Token::Greater),
            b',' => self.punct(Token::Comma),
            b'.' => self.punct(Token::Dot),
            b':' => self.punct(Token::Colon),
            b'=' => self.punct(Token::Equal),
            b'!' => self.punct(Token::Bang),
            b'*' => self.punct(Token::Star),
            b'-' if next == b'>' => {
                self.pos += 2;
                Token::Arrow
            }
            b'-' | b'+' => {
                if self.starts_number_after_sign(start + 1) {
                    self.number(start)
                } else {
                    self.punct(if c == b'-' { Token::Minus } else { Token::Plus })
                }
            }
            b'0'..=b'9' => self.number(start),
            b'@' => {
                if is(next, HEX) {
                    let mut p = start + 1;
                    while p < self.bytes.len() && is(self.bytes[p], HEX) {
                        p += 1;
                    }
                    self.pos = p;
                    Token::SourceLoc(&self.src[start + 1..p])
                } else {
                    self.punct(Token::At)
                }
            }
            b'%' => {
                let mut p = start + 1;
                while p < self.bytes.len() && is(self.bytes[p], WORD) {
                    p += 1;
                }
                self.pos = p;
                Token::Name(&self.src[start + 1..p])
            }
            b'#' => {
                let mut p = start + 1;
                while p < self.bytes.len() && is(self.bytes[p], HEX) {
                    p += 1;
                }
                self.pos = p;
                Token::HexSequence(&self.src[start + 1..p])
            }
            b'"' => {
                let Some(n) = self.bytes[start + 1..].iter().position(|&b| b == b'"') else {
                    return self.fail(pos, "unterminated string");
                };
                let end = start + 1 + n;
                for (i, &b) in self.bytes[start + 1..end].iter().enumerate() {
                    if b == b'\n' {
                        self.line += 1;
                        self.line_start = start + 2 + i;
                    }
                }
                self.pos = end + 1;
                self.line_has_string = true;
                Token::String(&self.src[start + 1..end])
            }
            _ if is(c, WORD_START) => {
                let rest = &self.bytes[start..];
                if rest.starts_with(b"NaN") || rest.starts_with(b"Inf") {
                    self.number(start)
                } else {
                    let mut p = start + 1;
                    while p < self.bytes.len() && is(self.bytes[p], WORD) {
                        p += 1;
                    }
                    self.pos = p;
                    classify_word(&self.src[start..p])
                }
            }
            _ => return self.fail(pos, "invalid character"),
        };
        (tok, pos)
    }

    fn fail(&mut self, pos: Pos, msg: &'static str) -> (Token<'a>, Pos) {
        self.failed = true;
        (Token::Error(msg), pos)
    }

    #[inline]
    fn punct(&mut self, t: Token<'a>) -> Token<'a> {
        self.pos += 1;
        t
    }

    /// Does the text at `p` (just after a sign) continue a numeric token?
    fn starts_number_after_sign(&self, p: usize) -> bool {
        match self.bytes.get(p) {
            Some(b'0'..=b'9' | b'.' | b'-' | b'+') => true,
            Some(_) => {
                let rest = &self.bytes[p..];
                rest.starts_with(b"NaN") || rest.starts_with(b"Inf") || rest.starts_with(b"sNaN")
            }
            None => false,
        }
    }

    /// Lex a numeric token starting at `start` (a digit, a sign, or `NaN`/`Inf`).
    fn number(&mut self, start: usize) -> Token<'a> {
        let b = self.bytes;
        let mut p = start;
        if matches!(b[p], b'-' | b'+') {
            p += 1;
        }
        let rest = &b[p..];
        let mut float = false;
        if rest.starts_with(b"NaN:") {
            p += 4;
            float = true;
        } else if rest.starts_with(b"sNaN:") {
            p += 5;
            float = true;
        } else if rest.starts_with(b"NaN") || rest.starts_with(b"sNaN") || rest.starts_with(b"Inf") {
            float = true;
        }
        while p < b.len() && is(b[p], NUM_CONT) {
            if b[p] == b'.' {
                float = true;
            }
            p += 1;
        }
        self.pos = p;
        let text = &self.src[start..p];
        if float { Token::Float(text) } else { Token::Integer(text) }
    }
}

/// Parse `digits` as an entity number: decimal, no leading zeros, fits u32.
fn entity_number(digits: &str) -> Option<u32> {
    if digits.is_empty() || digits.len() > 10 || (digits.len() > 1 && digits.starts_with('0')) {
        return None;
    }
    let mut n: u64 = 0;
    for b in digits.bytes() {
        n = n * 10 + (b - b'0') as u64;
    }
    u32::try_from(n).ok()
}

/// Classify a word: entity reference, type, `cold`, or identifier (REFERENCE §1.4).
pub fn classify_word(word: &str) -> Token<'_> {
    let b = word.as_bytes();
    let mut i = b.len();
    while i > 0 && b[i - 1].is_ascii_digit() {
        i -= 1;
    }
    if i > 0 && i < b.len() {
        let (prefix, digits) = word.split_at(i);
        // Fast path for the most frequent entities.
        if i == 1 && b[0] == b'v' {
            return match entity_number(digits) {
                Some(n) if n < i32::MAX as u32 => Token::Value(Value::from_u32(n)),
                _ => Token::Identifier(word),
            };
        }
        if let Some(n) = entity_number(digits) {
            let tok = match prefix {
                "v" if n < i32::MAX as u32 => Some(Token::Value(Value::from_u32(n))),
                "block" if n < u32::MAX => Some(Token::Block(Block::from_u32(n))),
                "ss" => Some(Token::StackSlot(StackSlot::from_u32(n))),
                "dss" => Some(Token::DynamicStackSlot(DynamicStackSlot::from_u32(n))),
                "dt" => Some(Token::DynamicType(DynamicType::from_u32(n))),
                "gv" => Some(Token::GlobalValue(GlobalValue::from_u32(n))),
                "const" => Some(Token::Constant(Constant::from_u32(n))),
                "fn" => Some(Token::FuncRef(FuncRef::from_u32(n))),
                "sig" => Some(Token::SigRef(SigRef::from_u32(n))),
                "region" => Some(Token::AliasRegion(AliasRegion::from_u32(n))),
                "tag" => Some(Token::Tag(n)),
                "ret" => Some(Token::TryCallRet(n)),
                "exn" => Some(Token::TryCallExn(n)),
                "u" => Some(Token::UserRef(n)),
                "userextname" => Some(Token::UserNameRef(n)),
                "mt" => Some(Token::MemoryType(n)),
                "extable" => Some(Token::ExceptionTableRef(n)),
                _ => None,
            };
            if let Some(t) = tok {
                return t;
            }
        }
    }
    if matches!(b[0], b'i' | b'f')
        && let Some(t) = Type::parse(word)
    {
        return Token::Type(t);
    }
    if word == "cold" {
        return Token::Cold;
    }
    Token::Identifier(word)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types;

    fn lex(s: &str) -> Vec<Token<'_>> {
        let mut l = Lexer::new(s);
        let mut out = Vec::new();
        loop {
            let (t, _) = l.next_token();
            if t == Token::Eof {
                break;
            }
            out.push(t);
            if matches!(t, Token::Error(_)) {
                break;
            }
        }
        out
    }

    #[test]
    fn entities_and_words() {
        use Token::*;
        assert_eq!(
            lex("v0 v12 block12 ss0 dss1 dt0 gv2 const3 fn4 sig5 region6 tag7 ret0 exn1 u0 userextname2"),
            vec![
                Value(crate::Value::from_u32(0)),
                Value(crate::Value::from_u32(12)),
                Block(crate::Block::from_u32(12)),
                StackSlot(crate::StackSlot::from_u32(0)),
                DynamicStackSlot(crate::DynamicStackSlot::from_u32(1)),
                DynamicType(crate::DynamicType::from_u32(0)),
                GlobalValue(crate::GlobalValue::from_u32(2)),
                Constant(crate::Constant::from_u32(3)),
                FuncRef(crate::FuncRef::from_u32(4)),
                SigRef(crate::SigRef::from_u32(5)),
                AliasRegion(crate::AliasRegion::from_u32(6)),
                Tag(7),
                TryCallRet(0),
                TryCallExn(1),
                UserRef(0),
                UserNameRef(2),
            ]
        );
        // Leading zeros make identifiers.
        assert_eq!(lex("v01 block007 ss00"), vec![Identifier("v01"), Identifier("block007"), Identifier("ss00")]);
        // Entity limits.
        assert_eq!(lex("v2147483646"), vec![Value(crate::Value::from_u32(2147483646))]);
        assert_eq!(lex("v2147483647"), vec![Identifier("v2147483647")]);
        assert_eq!(lex("block4294967294"), vec![Block(crate::Block::from_u32(4294967294))]);
        assert_eq!(
            lex("block4294967295 ss4294967296"),
            vec![Identifier("block4294967295"), Identifier("ss4294967296")]
        );
        assert_eq!(lex("mt0 extable1"), vec![MemoryType(0), ExceptionTableRef(1)]);
        // Types and keywords.
        assert_eq!(
            lex("i8 i32x4 f64x2 i32x1 i32x4xN cold function v"),
            vec![
                Type(types::I8),
                Type(types::I32X4),
                Type(types::F64X2),
                Type(types::I32),
                Identifier("i32x4xN"),
                Cold,
                Identifier("function"),
                Identifier("v"),
            ]
        );
        assert_eq!(
            lex("user1 f32const x86_pshufb"),
            vec![Identifier("user1"), Identifier("f32const"), Identifier("x86_pshufb")]
        );
    }

    #[test]
    fn numbers() {
        use Token::*;
        assert_eq!(
            lex("0x1.8p-3 0x1p3 1.5 1e3"),
            vec![Float("0x1.8p-3"), Integer("0x1p3"), Float("1.5"), Integer("1e3")]
        );
        assert_eq!(
            lex("v0+8 gv2-72 ss0+4"),
            vec![
                Value(crate::Value::from_u32(0)),
                Integer("+8"),
                GlobalValue(crate::GlobalValue::from_u32(2)),
                Integer("-72"),
                StackSlot(crate::StackSlot::from_u32(0)),
                Integer("+4"),
            ]
        );
        assert_eq!(
            lex("NaN -NaN +sNaN:0x1 NaN:0x3 -Inf Inf Infinity sNaN"),
            vec![
                Float("NaN"),
                Float("-NaN"),
                Float("+sNaN:0x1"),
                Float("NaN:0x3"),
                Float("-Inf"),
                Float("Inf"),
                Float("Infinity"),
                Identifier("sNaN"),
            ]
        );
        assert_eq!(lex("- + -> -x +y"), vec![Minus, Plus, Arrow, Minus, Identifier("x"), Plus, Identifier("y")]);
        assert_eq!(
            lex("-.5 --1 0xDECAFFFF_DECAFFFF"),
            vec![Float("-.5"), Integer("--1"), Integer("0xDECAFFFF_DECAFFFF")]
        );
        assert_eq!(lex("++1"), vec![Integer("+"), Integer("+1")]);
    }

    #[test]
    fn punctuation_names_strings() {
        use Token::*;
        assert_eq!(
            lex("%foo %0x % @0001 @ @zz #ab \"a\nb\" ; c"),
            vec![
                Name("foo"),
                Name("0x"),
                Name(""),
                SourceLoc("0001"),
                At,
                At,
                Identifier("zz"),
                HexSequence("ab"),
                String("a\nb"),
                Comment("; c"),
            ]
        );
        assert_eq!(
            lex("( ) { } [ ] < > , . : = ! *"),
            vec![LPar, RPar, LBrace, RBrace, LBracket, RBracket, Less, Greater, Comma, Dot, Colon, Equal, Bang, Star]
        );
        assert_eq!(lex("v0 $"), vec![Value(crate::Value::from_u32(0)), Error("invalid character")]);
        assert_eq!(lex("\"abc"), vec![Error("unterminated string")]);
        assert_eq!(lex("é"), vec![Error("invalid character")]);
    }

    #[test]
    fn locations() {
        let src = "a\n  b \"x\ny\" c\n\u{e9}";
        let mut l = Lexer::new(src);
        let (_, p) = l.next_token();
        assert_eq!(p.location(src), Location { line: 1, col: 1 });
        let (_, p) = l.next_token();
        assert_eq!(p.location(src), Location { line: 2, col: 3 });
        let (_, p) = l.next_token();
        assert_eq!(p.location(src), Location { line: 2, col: 5 });
        let (t, p) = l.next_token();
        assert_eq!(t, Token::Identifier("c"));
        assert_eq!(p.location(src), Location { line: 3, col: 4 });
        let (t, p) = l.next_token();
        assert_eq!(t, Token::Error("invalid character"));
        assert_eq!(p.location(src), Location { line: 4, col: 1 });
    }
}

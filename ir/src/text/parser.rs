//! The CLIF function parser (REFERENCE §1.9–§3): signatures, preamble declarations, blocks
//! and instructions, built directly into a [`Function`] through the DFG/layout API.
//!
//! Invariants kept while parsing a function:
//! - entity numbers are preserved: `v7` in the text is `Value::from_u32(7)`, `block3` is
//!   `Block::from_u32(3)`, `ss2` is `StackSlot::from_u32(2)`; gaps in the preamble are filled
//!   with inert entities recorded in `Function::placeholders`, gaps among values and blocks
//!   stay unattached / out of the layout;
//! - every referenced preamble entity is declared (not a placeholder) at the point of use;
//! - a value is defined (result, block parameter or alias) at most once; operands may refer
//!   to values defined later, and each such forward reference is checked at the end of the
//!   function;
//! - the controlling type of an instruction is the `.T` suffix, or the type of its
//!   designated operand when that operand was defined earlier in the text (§3.7).
//!
//! Comments are attached as they are lexed, to the entity being parsed (§4.7). Numeric
//! literal rules of every context (§1.9–§1.11) live here as small functions shared with
//! the run-command parser.

use super::lexer::{Lexer, Pos, Token};
use super::numbering::Numbering;
use super::testfile::{Comment, Details, SourceMap};
use super::{Location, ParseError};
use crate::condcodes::{FloatCC, IntCC};
use crate::constant::ConstantData;
use crate::entities::*;
use crate::entity::{EntityRef, EntitySet, PrimaryMap};
use crate::extname::{ExtFuncData, ExternalName, UserExternalName, UserFuncName};
use crate::function::{
    AliasRegionData, DebugTag, DynamicStackSlotData, DynamicTypeData, Function, GlobalValueData, SourceLoc,
    StackSlotData, UserStackMapEntry,
};
use crate::immediates::{FloatFormat, Ieee16, Ieee32, Ieee64, Imm64, Offset32, parse_float_bits};
use crate::instructions::{
    AtomicRmwOp, BlockArg, BlockCall, ExceptionItem, ExceptionTableData, InstructionData, JumpTableData, MAX_VALUES,
    ValueList,
};
use crate::memflags::{MemFlags, MemFlagsId};
use crate::opcodes::{InstructionFormat, Opcode};
use crate::signature::{AbiParam, ArgumentExtension, ArgumentPurpose, CallConv, Signature};
use crate::trapcode::TrapCode;
use crate::types::{self, Type};
use smallvec::SmallVec;

/// Block numbers must be below this ("too many blocks").
pub const MAX_BLOCKS: u32 = 100_000;
/// Value numbers must be below this (an implementation limit keeping memory bounded).
pub const MAX_VALUE_NUMBER: u32 = 1 << 22;
/// Preamble entity numbers must be below this.
pub const MAX_DECL_NUMBER: u32 = 1 << 20;

type PResult<T> = Result<T, ParseError>;

/// Parse every function of a plain CLIF text (no filetest header).
pub fn parse_functions(text: &str) -> Result<Vec<crate::Function>, ParseError> {
    let mut p = Parser::new(text, false);
    Ok(p.parse_function_list()?.into_iter().map(|(f, _)| f).collect())
}

/// Parse every function of a plain CLIF text, with what the parser knows about each
/// (comments, where each entity was defined).
pub fn parse_functions_with_details(text: &str) -> Result<Vec<(crate::Function, super::Details)>, ParseError> {
    let mut p = Parser::new(text, true);
    p.parse_function_list()
}

// -------------------------------------------------------------------------------------------
// Literals by context (REFERENCE §1.9–§1.11).

fn split_sign(text: &str) -> (bool, &str) {
    match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    }
}

/// Parse an unsigned magnitude: `0x` hex (1–`max_hex` digits, `_` anywhere after `0x`) or
/// decimal (first character a digit, `_` after it if `dec_underscores`).
fn parse_magnitude(s: &str, max_hex: u32, dec_underscores: bool) -> Result<u128, &'static str> {
    if let Some(h) = s.strip_prefix("0x") {
        let mut v: u128 = 0;
        let mut digits = 0;
        for c in h.bytes() {
            if c == b'_' {
                continue;
            }
            let d = (c as char).to_digit(16).ok_or("invalid character in hexadecimal number")?;
            digits += 1;
            if digits > max_hex {
                return Err("too many hexadecimal digits");
            }
            v = (v << 4) | d as u128;
        }
        if digits == 0 {
            return Err("no hexadecimal digits");
        }
        return Ok(v);
    }
    let b = s.as_bytes();
    if b.is_empty() || !b[0].is_ascii_digit() {
        return Err("expected a decimal or hexadecimal number");
    }
    let mut v: u128 = 0;
    for &c in b {
        if c == b'_' && dec_underscores {
            continue;
        }
        if !c.is_ascii_digit() {
            return Err("invalid character in decimal number");
        }
        v = v.checked_mul(10).and_then(|v| v.checked_add((c - b'0') as u128)).ok_or("number too large")?;
    }
    Ok(v)
}

/// An imm64 literal: −2⁶³ … 2⁶⁴−1, values ≥ 2⁶³ wrap.
pub(crate) fn parse_imm64(text: &str) -> Result<i64, &'static str> {
    let (neg, body) = split_sign(text);
    let m = parse_magnitude(body, 16, true)?;
    if m > u64::MAX as u128 {
        return Err("integer too large for 64 bits");
    }
    let m = m as u64;
    if neg {
        let v = m.wrapping_neg();
        if (v as i64) > 0 {
            return Err("negative number too small for 64 bits");
        }
        Ok(v as i64)
    } else {
        Ok(m as i64)
    }
}

/// A typed integer of `bits` (8 … 128) bits; returns the `bits`-bit pattern.
pub(crate) fn parse_typed_int(text: &str, bits: u32) -> Result<u128, &'static str> {
    let (neg, body) = split_sign(text);
    let mask = if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 };
    if body.starts_with("0x") {
        let m = parse_magnitude(body, bits.div_ceil(4), true)?;
        if m > mask {
            return Err("hexadecimal value does not fit the type");
        }
        return Ok(if neg { m.wrapping_neg() & mask } else { m });
    }
    let m = parse_magnitude(body, 0, false)?;
    if neg {
        if m > 1u128 << (bits - 1) {
            return Err("value too small for the type");
        }
        Ok(m.wrapping_neg() & mask)
    } else {
        if m > mask {
            return Err("value too large for the type");
        }
        Ok(m)
    }
}

/// An integer of type `ty` (i8 … i128): imm64 rules for i64, typed rules otherwise.
pub(crate) fn parse_int_of_type(text: &str, ty: Type) -> Result<u128, &'static str> {
    if ty.lane_bits() == 64 {
        parse_imm64(text).map(|v| v as u64 as u128)
    } else {
        parse_typed_int(text, ty.lane_bits())
    }
}

/// A uimm8 (lane index): decimal or hex, no sign.
fn parse_uimm8(text: &str) -> Result<u8, &'static str> {
    let m = parse_magnitude(text, 2, false)?;
    u8::try_from(m).map_err(|_| "value must fit in 8 bits")
}

/// A uimm32 written with imm64 syntax.
fn parse_uimm32(text: &str) -> Result<u32, &'static str> {
    let v = parse_imm64(text)?;
    u32::try_from(v).map_err(|_| "value must be an unsigned 32-bit number")
}

/// A uimm64: decimal or hex with `_`, no sign.
fn parse_uimm64(text: &str) -> Result<u64, &'static str> {
    let m = parse_magnitude(text, 16, true)?;
    u64::try_from(m).map_err(|_| "value must fit in 64 bits")
}

/// A plain decimal u32.
fn parse_u32_decimal(text: &str) -> Result<u32, &'static str> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("expected a decimal number");
    }
    let m = parse_magnitude(text, 0, false)?;
    u32::try_from(m).map_err(|_| "number too large for 32 bits")
}

/// An offset32: must start with a sign.
fn parse_offset32(text: &str) -> Result<i32, &'static str> {
    if !text.starts_with(['+', '-']) {
        return Err("offset must begin with '+' or '-'");
    }
    let (neg, body) = split_sign(text);
    let m = parse_magnitude(body, 16, true)?;
    let v = if neg { -(m.min(1 << 40) as i64) } else { m.min(1 << 40) as i64 };
    i32::try_from(v).map_err(|_| "offset out of range for 32 bits")
}

/// A hex byte string (§1.11): `0x` and an even number (2–32) of hex digits, `_` ignored;
/// returns the bytes little-endian (the last two digits are byte 0).
pub(crate) fn parse_hex_bytes(text: &str) -> Result<Vec<u8>, &'static str> {
    let Some(h) = text.strip_prefix("0x") else {
        return Err("expected a hexadecimal byte string");
    };
    let mut digits: SmallVec<[u8; 32]> = SmallVec::new();
    for c in h.bytes() {
        if c == b'_' {
            continue;
        }
        let d = (c as char).to_digit(16).ok_or("invalid character in hexadecimal byte string")?;
        digits.push(d as u8);
    }
    if digits.is_empty() || !digits.len().is_multiple_of(2) {
        return Err("expected an even number of hexadecimal digits");
    }
    if digits.len() > 32 {
        return Err("hexadecimal byte string longer than 16 bytes");
    }
    Ok(digits.chunks(2).rev().map(|p| (p[0] << 4) | p[1]).collect())
}

/// A float literal (§1.10) of the float type `ty`, as bits.
pub(crate) fn parse_float_of_type(text: &str, ty: Type) -> Result<u128, String> {
    let fmt = FloatFormat::for_bits(ty.lane_bits()).ok_or_else(|| format!("{ty} is not a float type"))?;
    parse_float_bits(text, fmt).map_err(|e| e.to_string())
}

/// Opcode lookup by name through a small open-addressing hash table built once from the
/// opcode table (faster than a binary search over strings on the parser's hot path).
fn opcode_by_name(name: &str) -> Option<Opcode> {
    use std::sync::OnceLock;
    const SIZE: usize = 1024;
    fn hash(s: &[u8]) -> usize {
        let mut h: u32 = 0x811c_9dc5;
        for &b in s {
            h = (h ^ b as u32).wrapping_mul(0x0100_0193);
        }
        h as usize & (SIZE - 1)
    }
    static TABLE: OnceLock<Vec<u8>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        // 0 = empty, else opcode index + 1.
        let mut t = vec![0u8; SIZE];
        for &op in Opcode::ALL {
            let mut i = hash(op.name().as_bytes());
            while t[i] != 0 {
                i = (i + 1) & (SIZE - 1);
            }
            t[i] = op as u8 + 1;
        }
        t
    });
    let mut i = hash(name.as_bytes());
    loop {
        let e = table[i];
        if e == 0 {
            return None;
        }
        let op = Opcode::ALL[e as usize - 1];
        if op.name() == name {
            return Some(op);
        }
        i = (i + 1) & (SIZE - 1);
    }
}

/// An example type of an opcode's controlling type set, for diagnostics.
fn example_type(op: Opcode) -> Type {
    let set = op.info().ctrl;
    for t in [types::I32, types::F32, types::I64, types::I32X4, types::F32X4] {
        if set.contains(t) {
            return t;
        }
    }
    set.fixed_types().next().unwrap_or(types::I32)
}

// -------------------------------------------------------------------------------------------
// The parser.

/// Where comments currently go.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum CommentTarget {
    /// File preamble (before the first function).
    Preamble,
    /// Attached to an entity of the current function.
    Entity(AnyEntity),
    /// Dropped (after a value alias).
    Ignore,
}

/// The token-level parser state: the lexer, one token of lookahead and the comments seen.
pub(crate) struct Parser<'a> {
    src: &'a str,
    lex: Lexer<'a>,
    /// The current (lookahead) token.
    pub(crate) tok: Token<'a>,
    /// Its position.
    pub(crate) pos: Pos,
    /// Collect comments and source maps?
    collect: bool,
    comments: Vec<Comment>,
    preamble_comments: Vec<Comment>,
    target: CommentTarget,
    /// Calling convention of signatures without one.
    pub(crate) default_cc: CallConv,
    /// Written entity numbers → numbers in memory (see [`Numbering`]).
    numbering: Numbering,
}

/// Per-function parsing state.
struct Ctx {
    func: Function,
    map: SourceMap,
    /// Operands that referred to values not yet defined.
    forward_uses: Vec<(Value, Pos)>,
    collect: bool,
}

impl Ctx {
    fn define_loc(&mut self, e: AnyEntity, loc: Location) {
        if self.collect {
            self.map.define(e, loc);
        }
    }
}

/// Declare entity `k` in `map`, filling gaps with placeholders. `Err` if already declared.
fn declare<K: EntityRef, V>(
    map: &mut PrimaryMap<K, V>,
    ph: &mut EntitySet<K>,
    k: K,
    v: V,
    placeholder: impl Fn() -> V,
) -> Result<(), ()> {
    let n = k.index();
    if n < map.len() {
        if ph.contains(k) {
            map[k] = v;
            ph.remove(k);
            Ok(())
        } else {
            Err(())
        }
    } else {
        while map.len() < n {
            let p = map.push(placeholder());
            ph.insert(p);
        }
        map.push(v);
        Ok(())
    }
}

fn is_declared<K: EntityRef, V>(map: &PrimaryMap<K, V>, ph: &EntitySet<K>, k: K) -> bool {
    map.is_valid(k) && !ph.contains(k)
}

impl<'a> Parser<'a> {
    /// A parser positioned on the first token of `src`.
    pub(crate) fn new(src: &'a str, collect: bool) -> Self {
        let mut p = Parser {
            src,
            lex: Lexer::new(src),
            tok: Token::Eof,
            pos: Pos::default(),
            collect,
            comments: Vec::new(),
            preamble_comments: Vec::new(),
            target: CommentTarget::Preamble,
            default_cc: CallConv::Fast,
            numbering: Numbering::for_file(src.len()),
        };
        p.advance();
        p
    }

    /// Move to the next non-comment token, attaching skipped comments.
    pub(crate) fn advance(&mut self) {
        loop {
            let (t, pos) = self.lex.next_token();
            if let Token::Comment(text) = t {
                if self.collect {
                    let c = Comment {
                        entity: AnyEntity::Function,
                        text: text.to_string(),
                        location: pos.location(self.src),
                    };
                    match self.target {
                        CommentTarget::Preamble => self.preamble_comments.push(c),
                        CommentTarget::Entity(e) => self.comments.push(Comment { entity: e, ..c }),
                        CommentTarget::Ignore => {}
                    }
                }
                continue;
            }
            self.tok = self.numbering.translate(t);
            self.pos = pos;
            return;
        }
    }

    /// The raw rest of the line after the current token; the token after it becomes current.
    pub(crate) fn rest_of_line(&mut self) -> &'a str {
        self.lex.rest_of_line()
    }

    /// The location of the current token.
    pub(crate) fn location(&self) -> Location {
        self.pos.location(self.src)
    }

    fn loc_of(&self, pos: Pos) -> Location {
        pos.location(self.src)
    }

    /// An error at the current token (a lexical error there takes precedence).
    pub(crate) fn error(&self, msg: impl Into<String>) -> ParseError {
        if let Token::Error(m) = self.tok {
            return self.error_at(self.location(), m);
        }
        self.error_at(self.location(), msg)
    }

    /// An error at `loc`.
    pub(crate) fn error_at(&self, location: Location, msg: impl Into<String>) -> ParseError {
        ParseError { location, message: msg.into(), is_warning: false }
    }

    fn error_pos(&self, pos: Pos, msg: impl Into<String>) -> ParseError {
        self.error_at(self.loc_of(pos), msg)
    }

    fn err<T>(&self, msg: impl Into<String>) -> PResult<T> {
        Err(self.error(msg))
    }

    /// Take the file-preamble comments gathered so far.
    pub(crate) fn take_preamble_comments(&mut self) -> Vec<Comment> {
        std::mem::take(&mut self.preamble_comments)
    }

    fn expect(&mut self, t: Token<'a>, what: &str) -> PResult<()> {
        if self.tok == t {
            self.advance();
            Ok(())
        } else {
            self.err(format!("expected {what}"))
        }
    }

    fn eat(&mut self, t: Token<'a>) -> bool {
        if self.tok == t {
            self.advance();
            true
        } else {
            false
        }
    }

    fn set_target(&mut self, e: AnyEntity) {
        self.target = CommentTarget::Entity(e);
    }

    // ---------------------------------------------------------------------------------
    // Small token matchers.

    fn match_integer(&mut self, what: &str) -> PResult<(&'a str, Pos)> {
        if let Token::Integer(t) = self.tok {
            let pos = self.pos;
            self.advance();
            Ok((t, pos))
        } else {
            self.err(format!("expected {what}"))
        }
    }

    fn match_imm64(&mut self, what: &str) -> PResult<i64> {
        let (t, pos) = self.match_integer(what)?;
        parse_imm64(t).map_err(|m| self.error_pos(pos, format!("{what}: {m}")))
    }

    fn match_uimm32(&mut self, what: &str) -> PResult<u32> {
        let (t, pos) = self.match_integer(what)?;
        parse_uimm32(t).map_err(|m| self.error_pos(pos, format!("{what}: {m}")))
    }

    fn match_type(&mut self, what: &str) -> PResult<Type> {
        if let Token::Type(t) = self.tok {
            self.advance();
            Ok(t)
        } else {
            self.err(format!("expected {what}"))
        }
    }

    /// An identifier accepted by `f`, with the error at the identifier itself.
    fn match_word<T>(&mut self, what: &str, f: impl Fn(&str) -> Option<T>) -> PResult<T> {
        let Token::Identifier(w) = self.tok else {
            return self.err(format!("expected {what}"));
        };
        match f(w) {
            Some(x) => {
                self.advance();
                Ok(x)
            }
            None => self.err(format!("invalid {what} '{w}'")),
        }
    }

    fn match_keyword(&mut self, kw: &str) -> PResult<()> {
        if self.tok == Token::Identifier(kw) {
            self.advance();
            Ok(())
        } else {
            self.err(format!("expected '{kw}'"))
        }
    }

    /// A float literal token of the float type `ty`.
    fn match_float(&mut self, ty: Type) -> PResult<u128> {
        match self.tok {
            Token::Float(t) => {
                let r = parse_float_of_type(t, ty).map_err(|m| self.error(m));
                self.advance();
                r
            }
            Token::Integer(_) => self.err(format!("expected {ty} float literal (hexadecimal floats need a '.')")),
            _ => self.err(format!("expected {ty} float literal")),
        }
    }

    // ---------------------------------------------------------------------------------
    // Functions.

    /// Parse functions until the end of the input.
    pub(crate) fn parse_function_list(&mut self) -> PResult<Vec<(Function, Details)>> {
        let mut out = Vec::new();
        loop {
            match self.tok {
                Token::Eof => return Ok(out),
                Token::Identifier("function") => out.push(self.parse_function()?),
                _ => return self.err("expected 'function'"),
            }
        }
    }

    fn parse_function(&mut self) -> PResult<(Function, Details)> {
        let fn_loc = self.location();
        self.set_target(AnyEntity::Function);
        self.comments.clear();
        self.numbering.start_function();
        self.match_keyword("function")?;
        let name = self.parse_function_name()?;
        let signature = self.parse_signature()?;
        if let Token::Identifier(w) = self.tok {
            return self.err(format!("unknown calling convention: {w}"));
        }
        let mut ctx = Ctx {
            func: Function::with_name_signature(name, signature),
            map: SourceMap::default(),
            forward_uses: Vec::new(),
            collect: self.collect,
        };
        ctx.define_loc(AnyEntity::Function, fn_loc);
        self.expect(Token::LBrace, "'{' before function body")?;
        self.parse_preamble(&mut ctx)?;
        while let Token::Block(b) = self.tok {
            self.parse_block(&mut ctx, b)?;
        }
        if self.tok != Token::RBrace {
            return self.err("expected block header, instruction or '}'");
        }
        // Comments after `}` up to the next `function` belong to the function.
        self.set_target(AnyEntity::Function);
        self.advance();
        for &(v, pos) in &ctx.forward_uses {
            if !ctx.func.dfg.value_is_valid(v) {
                return Err(self.error_pos(pos, format!("undefined operand value {v}")));
            }
        }
        let details = Details { location: fn_loc, comments: std::mem::take(&mut self.comments), map: ctx.map };
        Ok((ctx.func, details))
    }

    fn parse_function_name(&mut self) -> PResult<UserFuncName> {
        match self.tok {
            Token::Name(s) => {
                self.advance();
                Ok(UserFuncName::Testcase(s.to_string()))
            }
            Token::UserRef(ns) => {
                let u = self.parse_user_name(ns)?;
                Ok(UserFuncName::User(u))
            }
            _ => self.err("expected function name (%name or uN:M)"),
        }
    }

    /// `uN:M` with the current token `uN`.
    fn parse_user_name(&mut self, namespace: u32) -> PResult<UserExternalName> {
        self.advance();
        self.expect(Token::Colon, "':' in user name uN:M")?;
        let (t, pos) = self.match_integer("user name index")?;
        let index = parse_u32_decimal(t).map_err(|m| self.error_pos(pos, format!("user name index: {m}")))?;
        Ok(UserExternalName { namespace, index })
    }

    // ---------------------------------------------------------------------------------
    // Signatures.

    fn parse_signature(&mut self) -> PResult<Signature> {
        let mut sig = Signature::new(self.default_cc);
        self.expect(Token::LPar, "'(' starting a signature")?;
        if self.tok != Token::RPar {
            loop {
                sig.params.push(self.parse_abi_param()?);
                if !self.eat(Token::Comma) {
                    break;
                }
            }
        }
        self.expect(Token::RPar, "')' ending the parameter list")?;
        if self.eat(Token::Arrow) {
            loop {
                sig.returns.push(self.parse_abi_param()?);
                if !self.eat(Token::Comma) {
                    break;
                }
            }
        }
        if let Token::Identifier(w) = self.tok
            && let Some(cc) = CallConv::parse(w)
        {
            self.advance();
            sig.call_conv = cc;
        }
        Ok(sig)
    }

    fn parse_abi_param(&mut self) -> PResult<AbiParam> {
        let ty = self.match_type("parameter type")?;
        let mut p = AbiParam::new(ty);
        loop {
            match self.tok {
                Token::Identifier("uext") => p.extension = ArgumentExtension::Uext,
                Token::Identifier("sext") => p.extension = ArgumentExtension::Sext,
                Token::Identifier("sret") => p.purpose = ArgumentPurpose::StructReturn,
                Token::Identifier("vmctx") => p.purpose = ArgumentPurpose::VMContext,
                Token::Identifier("normal") => p.purpose = ArgumentPurpose::Normal,
                Token::Identifier("sarg") => {
                    self.advance();
                    self.expect(Token::LPar, "'(' after sarg")?;
                    let n = self.match_uimm32("sarg size")?;
                    if self.tok != Token::RPar {
                        return self.err("expected ')' after sarg size");
                    }
                    p.purpose = ArgumentPurpose::StructArgument(n);
                }
                _ => return Ok(p),
            }
            self.advance();
        }
    }

    // ---------------------------------------------------------------------------------
    // Preamble.

    fn check_decl_number(&self, n: u32) -> PResult<()> {
        if n >= MAX_DECL_NUMBER {
            return self.err(format!("entity number {n} is too large (limit {MAX_DECL_NUMBER})"));
        }
        Ok(())
    }

    fn parse_preamble(&mut self, ctx: &mut Ctx) -> PResult<()> {
        loop {
            let pos = self.pos;
            let loc = self.location();
            let entity: AnyEntity = match self.tok {
                Token::StackSlot(k) => {
                    self.begin_decl(k.into(), k.as_u32())?;
                    let data = self.parse_stack_slot_decl()?;
                    let f = &mut ctx.func;
                    let r =
                        declare(&mut f.stack_slots, &mut f.placeholders.stack_slots, k, data, StackSlotData::default);
                    self.dup(r, pos, k)?;
                    k.into()
                }
                Token::DynamicStackSlot(k) => {
                    self.begin_decl(k.into(), k.as_u32())?;
                    self.match_keyword("explicit_dynamic_slot")?;
                    let Token::DynamicType(dt) = self.tok else {
                        return self.err("expected dynamic type dtN");
                    };
                    self.advance();
                    let f = &mut ctx.func;
                    let r = declare(
                        &mut f.dynamic_stack_slots,
                        &mut f.placeholders.dynamic_stack_slots,
                        k,
                        DynamicStackSlotData { dyn_ty: dt },
                        || DynamicStackSlotData { dyn_ty: DynamicType::from_u32(0) },
                    );
                    self.dup(r, pos, k)?;
                    k.into()
                }
                Token::DynamicType(k) => {
                    self.begin_decl(k.into(), k.as_u32())?;
                    let ty = self.match_type("vector type")?;
                    if !ty.is_vector() {
                        return Err(self.error_pos(pos, format!("dynamic type base {ty} must be a fixed vector type")));
                    }
                    self.expect(Token::Star, "'*' in dynamic type")?;
                    let Token::GlobalValue(gv) = self.tok else {
                        return self.err("expected global value gvN");
                    };
                    self.advance();
                    let f = &mut ctx.func;
                    let r = declare(
                        &mut f.dynamic_types,
                        &mut f.placeholders.dynamic_types,
                        k,
                        DynamicTypeData { base_vector_ty: ty, dynamic_scale: gv },
                        || DynamicTypeData { base_vector_ty: types::I32X4, dynamic_scale: GlobalValue::from_u32(0) },
                    );
                    self.dup(r, pos, k)?;
                    k.into()
                }
                Token::GlobalValue(k) => {
                    self.begin_decl(k.into(), k.as_u32())?;
                    let data = self.parse_global_value_decl(ctx)?;
                    let f = &mut ctx.func;
                    let r = declare(&mut f.global_values, &mut f.placeholders.global_values, k, data, || {
                        GlobalValueData::VMContext
                    });
                    self.dup(r, pos, k)?;
                    k.into()
                }
                Token::AliasRegion(k) => {
                    self.begin_decl(k.into(), k.as_u32())?;
                    let (t, ipos) = self.match_integer("alias region id")?;
                    let id = parse_u32_decimal(t).map_err(|m| self.error_pos(ipos, format!("alias region id: {m}")))?;
                    let Token::String(name) = self.tok else {
                        return self.err("expected alias region description string");
                    };
                    self.advance();
                    let regions = &mut ctx.func.alias_regions;
                    if k.index() != regions.len() {
                        return Err(self.error_pos(pos, format!("duplicate alias region {k}")));
                    }
                    regions.push(AliasRegionData { id, name: name.to_string() });
                    k.into()
                }
                Token::SigRef(k) => {
                    self.begin_decl(k.into(), k.as_u32())?;
                    let sig = self.parse_signature()?;
                    let f = &mut ctx.func;
                    let r = declare(&mut f.dfg.signatures, &mut f.placeholders.signatures, k, sig, || {
                        Signature::new(CallConv::Fast)
                    });
                    self.dup(r, pos, k)?;
                    k.into()
                }
                Token::FuncRef(k) => {
                    self.begin_decl(k.into(), k.as_u32())?;
                    let data = self.parse_func_decl(ctx)?;
                    let f = &mut ctx.func;
                    let r = declare(&mut f.dfg.ext_funcs, &mut f.placeholders.func_refs, k, data, || ExtFuncData {
                        name: ExternalName::default(),
                        signature: SigRef::from_u32(0),
                        colocated: false,
                        patchable: false,
                    });
                    self.dup(r, pos, k)?;
                    k.into()
                }
                Token::Constant(k) => {
                    self.begin_decl(k.into(), k.as_u32())?;
                    let data = self.parse_constant_decl()?;
                    let f = &mut ctx.func;
                    let r =
                        declare(&mut f.dfg.constants, &mut f.placeholders.constants, k, data, ConstantData::default);
                    self.dup(r, pos, k)?;
                    k.into()
                }
                Token::Identifier("stack_limit") => {
                    self.set_target(AnyEntity::StackLimit);
                    self.advance();
                    self.expect(Token::Equal, "'=' after stack_limit")?;
                    let Token::GlobalValue(gv) = self.tok else {
                        return self.err("expected global value gvN");
                    };
                    if ctx.func.stack_limit.is_some() {
                        return Err(self.error_pos(pos, "stack_limit can only be specified once"));
                    }
                    self.advance();
                    ctx.func.stack_limit = Some(gv);
                    AnyEntity::StackLimit
                }
                _ => return Ok(()),
            };
            ctx.define_loc(entity, loc);
        }
    }

    /// Start a declaration: attach comments to it, consume `entity =`.
    fn begin_decl(&mut self, e: AnyEntity, n: u32) -> PResult<()> {
        self.set_target(e);
        self.check_decl_number(n)?;
        self.advance();
        self.expect(Token::Equal, "'=' in declaration")
    }

    fn dup(&self, r: Result<(), ()>, pos: Pos, e: impl core::fmt::Display) -> PResult<()> {
        r.map_err(|_| self.error_pos(pos, format!("duplicate entity: {e}")))
    }

    fn parse_stack_slot_decl(&mut self) -> PResult<StackSlotData> {
        self.match_keyword("explicit_slot")?;
        let (t, spos) = self.match_integer("stack slot size")?;
        let size = parse_imm64(t)
            .ok()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| self.error_pos(spos, "stack slot size must be in 0 … 2^32-1"))?;
        let mut data = StackSlotData::new(size, 0);
        while self.eat(Token::Comma) {
            match self.tok {
                Token::Identifier("align") => {
                    self.advance();
                    self.expect(Token::Equal, "'=' after align")?;
                    let (t, apos) = self.match_integer("alignment")?;
                    let a = parse_imm64(t).ok().and_then(|v| u32::try_from(v).ok()).filter(|a| a.is_power_of_two());
                    let Some(a) = a else {
                        return Err(self.error_pos(apos, "alignment must be a power of two that fits u32"));
                    };
                    data.align_shift = a.trailing_zeros() as u8;
                }
                Token::Identifier("key") => {
                    self.advance();
                    self.expect(Token::Equal, "'=' after key")?;
                    let (t, kpos) = self.match_integer("key")?;
                    data.key = Some(parse_uimm64(t).map_err(|m| self.error_pos(kpos, format!("key: {m}")))?);
                }
                _ => return self.err("expected stack slot flag 'align' or 'key'"),
            }
        }
        Ok(data)
    }

    /// Memory flag words (and one `regionN`), as used by loads and `load` global values.
    fn parse_memflags(&mut self) -> PResult<MemFlags> {
        let mut flags = MemFlags::new();
        let mut region_seen = false;
        loop {
            match self.tok {
                Token::Identifier(w) => match flags.set_by_name(w) {
                    Ok(true) => {}
                    Ok(false) => return Ok(flags),
                    Err(m) => return self.err(m),
                },
                Token::AliasRegion(r) => {
                    if region_seen {
                        return self.err("memory flags may name at most one alias region");
                    }
                    region_seen = true;
                    flags = flags.with_alias_region(Some(r));
                }
                _ => return Ok(flags),
            }
            self.advance();
        }
    }

    fn parse_global_value_decl(&mut self, ctx: &mut Ctx) -> PResult<GlobalValueData> {
        let Token::Identifier(kw) = self.tok else {
            return self.err("expected global value kind");
        };
        if !matches!(kw, "vmctx" | "load" | "iadd_imm" | "symbol" | "dyn_scale_target_const") {
            return self.err(format!("unknown global value kind '{kw}'"));
        }
        self.advance();
        match kw {
            "vmctx" => Ok(GlobalValueData::VMContext),
            "load" => {
                self.expect(Token::Dot, "'.' type suffix after load")?;
                let global_type = self.match_type("load type")?;
                let fpos = self.pos;
                let flags = self.parse_memflags()?;
                if !flags.notrap() || !flags.aligned() {
                    return Err(self.error_pos(fpos, "global-value load must be notrap and aligned"));
                }
                let Token::GlobalValue(base) = self.tok else {
                    return self.err("expected base global value gvN");
                };
                self.advance();
                let offset = self.optional_offset32()?;
                Ok(GlobalValueData::Load { base, offset, global_type, flags })
            }
            "iadd_imm" => {
                self.expect(Token::Dot, "'.' type suffix after iadd_imm")?;
                let global_type = self.match_type("iadd_imm type")?;
                let Token::GlobalValue(base) = self.tok else {
                    return self.err("expected base global value gvN");
                };
                self.advance();
                self.expect(Token::Comma, "','")?;
                let offset = Imm64(self.match_imm64("immediate")?);
                Ok(GlobalValueData::IAddImm { base, offset, global_type })
            }
            "symbol" => {
                let mut colocated = false;
                let mut tls = false;
                loop {
                    match self.tok {
                        Token::Identifier("colocated") => colocated = true,
                        Token::Identifier("tls") => tls = true,
                        _ => break,
                    }
                    self.advance();
                }
                let name = self.parse_external_name(ctx)?;
                let mut offset = Imm64(0);
                if let Token::Integer(t) = self.tok
                    && t.starts_with(['+', '-'])
                {
                    offset = Imm64(parse_imm64(t).map_err(|m| self.error(format!("symbol offset: {m}")))?);
                    self.advance();
                }
                Ok(GlobalValueData::Symbol { name, offset, colocated, tls })
            }
            "dyn_scale_target_const" => {
                self.expect(Token::Dot, "'.' type suffix after dyn_scale_target_const")?;
                match self.tok {
                    Token::Type(t) if t.is_vector() => {
                        self.advance();
                        Ok(GlobalValueData::DynScaleTargetConst { vector_type: t })
                    }
                    _ => self.err("expected a fixed vector type after dyn_scale_target_const"),
                }
            }
            _ => self.err("unknown global value kind"),
        }
    }

    fn parse_external_name(&mut self, ctx: &mut Ctx) -> PResult<ExternalName> {
        match self.tok {
            Token::Name(s) => {
                self.advance();
                Ok(ExternalName::from_percent_name(s))
            }
            Token::UserRef(ns) => {
                let u = self.parse_user_name(ns)?;
                Ok(ExternalName::User(ctx.func.declare_user_name(u)))
            }
            Token::UserNameRef(n) => {
                let r = UserExternalNameRef::from_u32(n);
                if !ctx.func.user_named_funcs.is_valid(r) {
                    return self.err(format!("undefined user name {r}"));
                }
                self.advance();
                Ok(ExternalName::User(r))
            }
            _ => self.err("expected external name (%name or uN:M)"),
        }
    }

    fn parse_func_decl(&mut self, ctx: &mut Ctx) -> PResult<ExtFuncData> {
        let mut colocated = false;
        let mut patchable = false;
        loop {
            match self.tok {
                Token::Identifier("colocated") => colocated = true,
                Token::Identifier("patchable") => patchable = true,
                _ => break,
            }
            self.advance();
        }
        let name = self.parse_external_name(ctx)?;
        let signature = match self.tok {
            Token::LPar => {
                let sig = self.parse_signature()?;
                if ctx.func.dfg.signatures.len() >= MAX_DECL_NUMBER as usize {
                    return self.err("too many signatures");
                }
                ctx.func.import_signature(sig)
            }
            Token::SigRef(s) => {
                let f = &ctx.func;
                if !is_declared(&f.dfg.signatures, &f.placeholders.signatures, s) {
                    return self.err(format!("undefined signature {s}"));
                }
                self.advance();
                s
            }
            _ => return self.err("expected signature or sigN"),
        };
        Ok(ExtFuncData { name, signature, colocated, patchable })
    }

    fn parse_constant_decl(&mut self) -> PResult<ConstantData> {
        match self.tok {
            Token::Integer(t) => {
                let bytes = parse_hex_bytes(t).map_err(|m| self.error(m))?;
                self.advance();
                Ok(ConstantData::new(bytes))
            }
            Token::Type(ty) => {
                self.advance();
                self.parse_vector_literal(ty)
            }
            _ => self.err("expected constant data: 0x… or a vector type and lanes"),
        }
    }

    /// After a vector type: `[lanes]` or a hex byte string (zero-extended to the type).
    fn parse_vector_literal(&mut self, ty: Type) -> PResult<ConstantData> {
        if !ty.is_vector() {
            return self.err(format!("expected a vector type for constant data, got {ty}"));
        }
        let size = ty.bytes() as usize;
        if size > 16 {
            return self.err(format!("constant data of type {ty} is larger than 16 bytes"));
        }
        match self.tok {
            Token::LBracket => {
                self.advance();
                let lane = ty.lane_type();
                if lane.lane_bits() == 128 {
                    return self.err(format!("{lane} lanes cannot be written as a lane list"));
                }
                let lb = (lane.lane_bits() / 8) as usize;
                let mut bytes = Vec::with_capacity(size);
                for _ in 0..ty.lane_count() {
                    let bits = self.parse_lane(lane)?;
                    bytes.extend_from_slice(&bits.to_le_bytes()[..lb]);
                }
                self.expect(Token::RBracket, &format!("']' after {} lanes", ty.lane_count()))?;
                Ok(ConstantData::new(bytes))
            }
            Token::Integer(t) => {
                let bytes = parse_hex_bytes(t).map_err(|m| self.error(m))?;
                if bytes.len() > size {
                    return self.err(format!("hexadecimal constant is longer than {ty}"));
                }
                self.advance();
                Ok(ConstantData::new(bytes).expand_to(size))
            }
            _ => self.err("expected '[' lane list or 0x… byte string"),
        }
    }

    /// One lane literal of lane type `lane` (integer or float), as bits.
    fn parse_lane(&mut self, lane: Type) -> PResult<u128> {
        if lane.is_float() {
            return self.match_float(lane);
        }
        let (t, pos) = self.match_integer(&format!("{lane} lane value"))?;
        parse_int_of_type(t, lane).map_err(|m| self.error_pos(pos, format!("{lane} lane: {m}")))
    }

    // ---------------------------------------------------------------------------------
    // Blocks and instructions.

    fn check_block(&self, b: Block) -> PResult<()> {
        if b.as_u32() >= MAX_BLOCKS {
            return self.err(format!("too many blocks: {b}"));
        }
        Ok(())
    }

    fn parse_block(&mut self, ctx: &mut Ctx, block: Block) -> PResult<()> {
        let loc = self.location();
        let pos = self.pos;
        self.set_target(AnyEntity::Block(block));
        self.check_block(block)?;
        self.advance();
        let f = &mut ctx.func;
        f.dfg.reserve_blocks(block.index() + 1);
        if f.layout.is_block_inserted(block) {
            return Err(self.error_pos(pos, format!("duplicate entity: {block}")));
        }
        f.layout.append_block(block);
        ctx.define_loc(AnyEntity::Block(block), loc);
        if self.eat(Token::LPar) {
            if self.tok != Token::RPar {
                loop {
                    let Token::Value(v) = self.tok else {
                        return self.err("expected block parameter value");
                    };
                    let vloc = self.location();
                    self.define_value(ctx, v)?;
                    self.advance();
                    self.expect(Token::Colon, "':' after block parameter")?;
                    let ty = self.parse_value_type(ctx)?;
                    ctx.func.dfg.attach_block_param(block, v, ty);
                    ctx.define_loc(AnyEntity::Value(v), vloc);
                    if !self.eat(Token::Comma) {
                        break;
                    }
                }
            }
            self.expect(Token::RPar, "')' after block parameters")?;
        }
        if self.eat(Token::Cold) {
            ctx.func.layout.set_cold(block, true);
        }
        self.expect(Token::Colon, "':' after block header")?;
        loop {
            match self.tok {
                Token::Value(_) | Token::Identifier(_) | Token::Less | Token::SourceLoc(_) => {
                    self.parse_line(ctx, block)?
                }
                _ => return Ok(()),
            }
        }
    }

    /// A type, or `dtN` naming a declared dynamic type.
    fn parse_value_type(&mut self, ctx: &Ctx) -> PResult<Type> {
        match self.tok {
            Token::Type(t) => {
                self.advance();
                Ok(t)
            }
            Token::DynamicType(dt) => {
                let t = self.dynamic_type(ctx, dt)?;
                self.advance();
                Ok(t)
            }
            _ => self.err("expected type"),
        }
    }

    fn dynamic_type(&self, ctx: &Ctx, dt: DynamicType) -> PResult<Type> {
        let f = &ctx.func;
        if !is_declared(&f.dynamic_types, &f.placeholders.dynamic_types, dt) {
            return self.err(format!("undefined dynamic type {dt}"));
        }
        f.dynamic_types[dt].base_vector_ty.vector_to_dynamic().ok_or_else(|| self.error("invalid dynamic type"))
    }

    /// Make sure value `v` exists (unattached if new), within the limits.
    fn reserve_value(&self, ctx: &mut Ctx, v: Value) -> PResult<()> {
        if v.as_u32() >= MAX_VALUE_NUMBER || v.as_u32() >= MAX_VALUES {
            return self.err(format!("value number too large: {v} (limit v{})", MAX_VALUE_NUMBER - 1));
        }
        if ctx.func.dfg.num_values() <= v.index() {
            ctx.func.dfg.reserve_values(v.index() + 1).map_err(|_| self.error("too many values"))?;
        }
        Ok(())
    }

    /// Check that `v` (the current token) may be defined now.
    fn define_value(&self, ctx: &mut Ctx, v: Value) -> PResult<()> {
        self.reserve_value(ctx, v)?;
        if ctx.func.dfg.value_is_valid(v) {
            return self.err(format!("duplicate entity: {v}"));
        }
        Ok(())
    }

    /// A value operand (may be a forward reference).
    fn value_operand(&mut self, ctx: &mut Ctx) -> PResult<Value> {
        let Token::Value(v) = self.tok else {
            return self.err("expected value operand");
        };
        self.reserve_value(ctx, v)?;
        if !ctx.func.dfg.value_is_valid(v) {
            ctx.forward_uses.push((v, self.pos));
        }
        self.advance();
        Ok(v)
    }

    fn comma(&mut self) -> PResult<()> {
        self.expect(Token::Comma, "',' between operands")
    }

    fn parse_line(&mut self, ctx: &mut Ctx, block: Block) -> PResult<()> {
        let inst_loc = self.location();
        let inst_pos = self.pos;
        let predicted = Inst::from_u32(ctx.func.dfg.num_insts() as u32);
        self.set_target(AnyEntity::Inst(predicted));

        // Debug tags.
        let mut tags: Vec<DebugTag> = Vec::new();
        if self.eat(Token::Less) {
            loop {
                match self.tok {
                    Token::Integer(_) => tags.push(DebugTag::User(self.match_uimm32("debug tag")?)),
                    Token::StackSlot(ss) => {
                        self.check_stack_slot(ctx, ss)?;
                        self.advance();
                        tags.push(DebugTag::StackSlot(ss));
                    }
                    _ => return self.err("expected debug tag (u32 or ssN)"),
                }
                if !self.eat(Token::Comma) {
                    break;
                }
            }
            self.expect(Token::Greater, "'>' after debug tags")?;
        }

        // Source location.
        let mut srcloc = None;
        if let Token::SourceLoc(hex) = self.tok {
            let v = u32::from_str_radix(hex, 16).map_err(|_| self.error("source location does not fit 32 bits"))?;
            srcloc = Some(SourceLoc(v));
            self.advance();
        }

        // Results, or a value alias.
        let mut results: SmallVec<[(Value, Pos); 4]> = SmallVec::new();
        if let Token::Value(v) = self.tok {
            let vpos = self.pos;
            self.advance();
            if self.tok == Token::Arrow && tags.is_empty() && srcloc.is_none() {
                self.target = CommentTarget::Ignore;
                self.advance();
                return self.parse_alias(ctx, v, vpos);
            }
            results.push((v, vpos));
            while self.eat(Token::Comma) {
                let Token::Value(v) = self.tok else {
                    return self.err("expected result value");
                };
                results.push((v, self.pos));
                self.advance();
            }
            self.expect(Token::Equal, "'=' after instruction results")?;
        }

        // Opcode and type suffix.
        let Token::Identifier(name) = self.tok else {
            return self.err("expected instruction opcode");
        };
        let Some(opcode) = opcode_by_name(name) else {
            return self.err(format!("unknown opcode '{name}'"));
        };
        let op_pos = self.pos;
        self.advance();
        let mut explicit = None;
        if self.eat(Token::Dot) {
            explicit = Some(match self.tok {
                Token::Type(t) => {
                    self.advance();
                    t
                }
                Token::DynamicType(dt) => {
                    let t = self.dynamic_type(ctx, dt)?;
                    self.advance();
                    t
                }
                _ => return self.err("expected type suffix after '.'"),
            });
        }
        let info = opcode.info();
        if !opcode.is_polymorphic() && explicit.is_some() {
            return Err(self.error_pos(op_pos, format!("{opcode} does not take a typevar")));
        }
        // Result-typed opcodes need the suffix before their operands are read.
        let early_ctrl = if opcode.is_polymorphic() && info.infer.is_none() {
            match explicit {
                Some(t) => Some(self.check_ctrl(opcode, t, op_pos)?),
                None => {
                    return Err(self.error_pos(
                        op_pos,
                        format!(
                            "type variable required for polymorphic opcode, e.g. '{opcode}.{}'",
                            example_type(opcode)
                        ),
                    ));
                }
            }
        } else {
            None
        };

        let data = self.parse_operands(ctx, opcode, early_ctrl.unwrap_or(types::INVALID))?;

        // User stack map.
        let mut stack_map: Vec<UserStackMapEntry> = Vec::new();
        if opcode.allows_stack_map() && self.eat(Token::Comma) {
            self.match_keyword("stack_map")?;
            self.expect(Token::Equal, "'=' after stack_map")?;
            self.expect(Token::LBracket, "'[' starting the stack map")?;
            loop {
                let ty = self.match_type("stack map entry type")?;
                self.expect(Token::At, "'@' in stack map entry")?;
                let Token::StackSlot(slot) = self.tok else {
                    return self.err("expected stack slot in stack map entry");
                };
                self.check_stack_slot(ctx, slot)?;
                self.advance();
                let offset = match self.tok {
                    Token::Plus => {
                        self.advance();
                        self.match_uimm32("stack map offset")?
                    }
                    Token::Integer(t) if t.starts_with('+') => self.match_uimm32("stack map offset")?,
                    _ => return self.err("expected '+offset' in stack map entry"),
                };
                stack_map.push(UserStackMapEntry { ty, slot, offset });
                if !self.eat(Token::Comma) {
                    break;
                }
            }
            self.expect(Token::RBracket, "']' ending the stack map")?;
        }

        // Controlling type.
        let ctrl = match early_ctrl {
            Some(t) => t,
            None if !opcode.is_polymorphic() => types::INVALID,
            None => match explicit {
                Some(t) => {
                    let t = self.check_ctrl(opcode, t, op_pos)?;
                    // The suffix states the type of the operand the type is inferred from;
                    // when that operand is already defined, they must agree (otherwise the
                    // canonical text, which omits the suffix, would mean something else).
                    let dfg = &ctx.func.dfg;
                    if let Some(i) = info.infer
                        && let Some(&v) = data.arguments(&dfg.value_lists).get(i as usize)
                        && dfg.value_is_attached(v)
                        && dfg.value_type(v) != t
                    {
                        return Err(self.error_pos(
                            op_pos,
                            format!("type suffix .{t} of {opcode} does not match {v}, which is {}", dfg.value_type(v)),
                        ));
                    }
                    t
                }
                None => {
                    let i = info.infer.unwrap_or(0) as usize;
                    let dfg = &ctx.func.dfg;
                    let Some(&v) = data.arguments(&dfg.value_lists).get(i) else {
                        return Err(self.error_pos(op_pos, format!("{opcode}: missing operand to infer the type from")));
                    };
                    // An alias has the type of the defined value it refers to (Cranelift's
                    // reader infers from aliases too).
                    let known =
                        dfg.value_is_attached(v) || (dfg.value_is_alias(v) && dfg.value_type(v) != types::INVALID);
                    if !known {
                        let why = if dfg.value_is_alias(v) { "is a value alias" } else { "is not yet defined" };
                        return Err(self.error_pos(
                            op_pos,
                            format!(
                                "type variable required for polymorphic opcode, e.g. '{opcode}.{}'; can't infer from {v} which {why}",
                                example_type(opcode)
                            ),
                        ));
                    }
                    self.check_ctrl(opcode, dfg.value_type(v), op_pos)?
                }
            },
        };

        // Build the instruction and its results.
        let f = &mut ctx.func;
        let inst = f.dfg.make_inst(data);
        debug_assert_eq!(inst, predicted);
        f.layout.append_inst(inst, block);
        let tys = f.dfg.result_types(inst, ctrl).map_err(|e| {
            let msg = match e {
                crate::dfg::ResultError::BadType(m) => m,
                crate::dfg::ResultError::Limit => "too many values".to_string(),
            };
            self.error_pos(op_pos, msg)
        })?;
        if tys.len() != results.len() {
            return Err(self.error_pos(
                inst_pos,
                format!("instruction produces {} result values, {} given", tys.len(), results.len()),
            ));
        }
        for (&(v, vpos), &ty) in results.iter().zip(tys.iter()) {
            if v.as_u32() >= MAX_VALUE_NUMBER {
                return Err(self.error_pos(vpos, format!("value number too large: {v}")));
            }
            self.reserve_value(ctx, v)?;
            if ctx.func.dfg.value_is_valid(v) {
                return Err(self.error_pos(vpos, format!("duplicate entity: {v}")));
            }
            ctx.func.dfg.attach_result(inst, v, ty);
            if ctx.collect {
                let l = self.loc_of(vpos);
                ctx.map.define(AnyEntity::Value(v), l);
            }
        }
        let f = &mut ctx.func;
        if let Some(l) = srcloc {
            f.srclocs[inst] = l;
        }
        if !tags.is_empty() {
            f.debug_tags.insert(inst, tags);
        }
        if !stack_map.is_empty() {
            f.stack_maps.insert(inst, stack_map);
        }
        ctx.define_loc(AnyEntity::Inst(inst), inst_loc);
        Ok(())
    }

    /// `vA -> vB`, with `vA` consumed and the current token after the arrow.
    fn parse_alias(&mut self, ctx: &mut Ctx, a: Value, apos: Pos) -> PResult<()> {
        let Token::Value(b) = self.tok else {
            return self.err("expected value alias target");
        };
        self.reserve_value(ctx, a)?;
        self.reserve_value(ctx, b)?;
        let dfg = &ctx.func.dfg;
        if !dfg.value_is_valid(b) {
            return self.err(format!("value alias target {b} is not defined"));
        }
        if let Some(old) = dfg.alias_target(a) {
            if old == b {
                self.advance();
                return Ok(());
            }
            return Err(self.error_pos(apos, format!("conflicting alias {a} -> {b}: already an alias of {old}")));
        }
        if dfg.value_is_valid(a) {
            return Err(self.error_pos(apos, format!("duplicate entity: {a}")));
        }
        // `a` is not defined, and alias targets must be defined: nothing refers to `a`
        // yet, so this cannot close a cycle.
        ctx.func.dfg.make_alias_of_fresh(a, b);
        if ctx.collect {
            let l = self.loc_of(apos);
            ctx.map.define(AnyEntity::Value(a), l);
        }
        self.advance();
        Ok(())
    }

    fn check_ctrl(&self, opcode: Opcode, t: Type, pos: Pos) -> PResult<Type> {
        if !opcode.info().ctrl.contains(t) {
            return Err(self.error_pos(pos, format!("{t} is not a valid typevar for {opcode}")));
        }
        Ok(t)
    }

    fn check_stack_slot(&self, ctx: &Ctx, ss: StackSlot) -> PResult<()> {
        let f = &ctx.func;
        if !is_declared(&f.stack_slots, &f.placeholders.stack_slots, ss) {
            return self.err(format!("undefined stack slot {ss}"));
        }
        Ok(())
    }

    fn check_func_ref(&self, ctx: &Ctx, fr: FuncRef) -> PResult<()> {
        let f = &ctx.func;
        if !is_declared(&f.dfg.ext_funcs, &f.placeholders.func_refs, fr) {
            return self.err(format!("undefined function {fr}"));
        }
        Ok(())
    }

    fn check_sig_ref(&self, ctx: &Ctx, s: SigRef) -> PResult<()> {
        let f = &ctx.func;
        if !is_declared(&f.dfg.signatures, &f.placeholders.signatures, s) {
            return self.err(format!("undefined signature {s}"));
        }
        Ok(())
    }

    fn intern_flags(&self, ctx: &mut Ctx, flags: MemFlags) -> PResult<MemFlagsId> {
        ctx.func.dfg.mem_flags.intern(flags).map_err(|m| self.error(m))
    }

    fn optional_offset32(&mut self) -> PResult<Offset32> {
        if let Token::Integer(t) = self.tok
            && t.starts_with(['+', '-'])
        {
            let v = parse_offset32(t).map_err(|m| self.error(m))?;
            self.advance();
            return Ok(Offset32(v));
        }
        Ok(Offset32(0))
    }

    fn match_uimm8(&mut self, what: &str) -> PResult<u8> {
        let (t, pos) = self.match_integer(what)?;
        parse_uimm8(t).map_err(|m| self.error_pos(pos, format!("{what}: {m}")))
    }

    fn trap_code(&mut self) -> PResult<TrapCode> {
        self.match_word("trap code", TrapCode::parse)
    }

    /// A block call `blockN` / `blockN(args)`; `special` allows `retK`/`exnK` arguments.
    fn block_call(&mut self, ctx: &mut Ctx, special: bool) -> PResult<BlockCall> {
        let Token::Block(b) = self.tok else {
            return self.err("expected branch target block");
        };
        self.check_block(b)?;
        ctx.func.dfg.reserve_blocks(b.index() + 1);
        self.advance();
        let mut args: SmallVec<[BlockArg; 8]> = SmallVec::new();
        if self.eat(Token::LPar) {
            if self.tok != Token::RPar {
                loop {
                    let arg = match self.tok {
                        Token::Value(_) => BlockArg::Value(self.value_operand(ctx)?),
                        Token::TryCallRet(n) | Token::TryCallExn(n) => {
                            if !special {
                                return self.err("retN/exnN arguments are only allowed in try_call targets");
                            }
                            if n >= MAX_VALUES {
                                return self.err("retN/exnN index too large");
                            }
                            let a = if matches!(self.tok, Token::TryCallRet(_)) {
                                BlockArg::TryCallRet(n)
                            } else {
                                BlockArg::TryCallExn(n)
                            };
                            self.advance();
                            a
                        }
                        _ => return self.err("expected block argument"),
                    };
                    args.push(arg);
                    if !self.eat(Token::Comma) {
                        break;
                    }
                }
            }
            self.expect(Token::RPar, "')' after block arguments")?;
        }
        Ok(BlockCall::new(b, args, &mut ctx.func.dfg.value_lists))
    }

    /// `(v1, v2, …)` appended to `list`.
    fn call_args(&mut self, ctx: &mut Ctx, list: &mut ValueList) -> PResult<()> {
        self.expect(Token::LPar, "'(' before call arguments")?;
        if self.tok != Token::RPar {
            loop {
                let v = self.value_operand(ctx)?;
                list.push(v, &mut ctx.func.dfg.value_lists);
                if !self.eat(Token::Comma) {
                    break;
                }
            }
        }
        self.expect(Token::RPar, "')' after call arguments")
    }

    /// `sigN, normal-target, [items]`.
    fn exception_table(&mut self, ctx: &mut Ctx) -> PResult<ExceptionTable> {
        let Token::SigRef(sig) = self.tok else {
            return self.err("expected exception table signature sigN");
        };
        self.check_sig_ref(ctx, sig)?;
        self.advance();
        self.comma()?;
        let normal = self.block_call(ctx, true)?;
        self.comma()?;
        self.expect(Token::LBracket, "'[' starting the exception table")?;
        let mut items = Vec::new();
        let mut handlers: Vec<BlockCall> = Vec::new();
        if self.tok != Token::RBracket {
            loop {
                match self.tok {
                    Token::Tag(t) => {
                        self.advance();
                        self.expect(Token::Colon, "':' after tag")?;
                        handlers.push(self.block_call(ctx, true)?);
                        items.push(ExceptionItem::Tag(t));
                    }
                    Token::Identifier("default") => {
                        self.advance();
                        self.expect(Token::Colon, "':' after default")?;
                        handlers.push(self.block_call(ctx, true)?);
                        items.push(ExceptionItem::Default);
                    }
                    Token::Identifier("context") => {
                        self.advance();
                        let v = self.value_operand(ctx)?;
                        items.push(ExceptionItem::Context(v));
                    }
                    _ => return self.err("expected exception table item: tagN, default or context"),
                }
                if !self.eat(Token::Comma) {
                    break;
                }
            }
        }
        self.expect(Token::RBracket, "']' ending the exception table")?;
        let data = ExceptionTableData::new(sig, normal, items, &handlers);
        Ok(ctx.func.dfg.exception_tables.push(data))
    }

    /// Does the token stream at the current position start a new instruction line with
    /// results or an alias (`v1 =`, `v1, v2 =`, `v1 ->`)? Used to end an optional value list.
    fn at_result_list(&self) -> bool {
        let mut lex = self.lex.clone();
        loop {
            let (t, _) = loop {
                let r = lex.next_token();
                if !matches!(r.0, Token::Comment(_)) {
                    break r;
                }
            };
            match t {
                Token::Equal | Token::Arrow => return true,
                Token::Comma => {}
                _ => return false,
            }
            let (t, _) = loop {
                let r = lex.next_token();
                if !matches!(r.0, Token::Comment(_)) {
                    break r;
                }
            };
            if !matches!(t, Token::Value(_)) {
                return false;
            }
        }
    }

    fn parse_operands(&mut self, ctx: &mut Ctx, opcode: Opcode, ctrl: Type) -> PResult<InstructionData> {
        use InstructionFormat as F;
        Ok(match opcode.format() {
            F::NullAry => InstructionData::NullAry { opcode },
            F::Unary => InstructionData::Unary { opcode, arg: self.value_operand(ctx)? },
            F::UnaryImm => {
                let (t, pos) = self.match_integer("integer immediate")?;
                let bits = parse_int_of_type(t, ctrl)
                    .map_err(|m| self.error_pos(pos, format!("immediate for {opcode}.{ctrl}: {m}")))?;
                InstructionData::UnaryImm { opcode, imm: Imm64(bits as u64 as i64) }
            }
            F::UnaryIeee16 => {
                InstructionData::UnaryIeee16 { opcode, imm: Ieee16(self.match_float(types::F16)? as u16) }
            }
            F::UnaryIeee32 => {
                InstructionData::UnaryIeee32 { opcode, imm: Ieee32(self.match_float(types::F32)? as u32) }
            }
            F::UnaryIeee64 => {
                InstructionData::UnaryIeee64 { opcode, imm: Ieee64(self.match_float(types::F64)? as u64) }
            }
            F::UnaryConst => {
                let constant = match self.tok {
                    Token::Constant(c) => {
                        let f = &ctx.func;
                        if !is_declared(&f.dfg.constants, &f.placeholders.constants, c) {
                            return self.err(format!("undefined constant {c}"));
                        }
                        self.advance();
                        c
                    }
                    _ if opcode == Opcode::F128const => {
                        let bits = self.match_float(types::F128)?;
                        ctx.func.dfg.insert_constant(ConstantData::from_u128(bits, 16))
                    }
                    _ => {
                        let data = self.parse_vector_literal(ctrl)?;
                        ctx.func.dfg.insert_constant(data)
                    }
                };
                InstructionData::UnaryConst { opcode, constant }
            }
            F::UnaryGlobalValue => {
                let Token::GlobalValue(gv) = self.tok else {
                    return self.err("expected global value gvN");
                };
                let f = &ctx.func;
                if !is_declared(&f.global_values, &f.placeholders.global_values, gv) {
                    return self.err(format!("undefined global value {gv}"));
                }
                self.advance();
                InstructionData::UnaryGlobalValue { opcode, global_value: gv }
            }
            F::Binary => {
                let a = self.value_operand(ctx)?;
                self.comma()?;
                let b = self.value_operand(ctx)?;
                InstructionData::Binary { opcode, args: [a, b] }
            }
            F::BinaryImm8 => {
                let arg = self.value_operand(ctx)?;
                self.comma()?;
                let imm = self.match_uimm8("lane index")?;
                InstructionData::BinaryImm8 { opcode, arg, imm }
            }
            F::Ternary => {
                let a = self.value_operand(ctx)?;
                self.comma()?;
                let b = self.value_operand(ctx)?;
                self.comma()?;
                let c = self.value_operand(ctx)?;
                InstructionData::Ternary { opcode, args: [a, b, c] }
            }
            F::TernaryImm8 => {
                let a = self.value_operand(ctx)?;
                self.comma()?;
                let b = self.value_operand(ctx)?;
                self.comma()?;
                let imm = self.match_uimm8("lane index")?;
                InstructionData::TernaryImm8 { opcode, args: [a, b], imm }
            }
            F::MultiAry => {
                let mut args = ValueList::new();
                if matches!(self.tok, Token::Value(_)) && !self.at_result_list() {
                    loop {
                        let v = self.value_operand(ctx)?;
                        args.push(v, &mut ctx.func.dfg.value_lists);
                        if !self.eat(Token::Comma) {
                            break;
                        }
                    }
                }
                InstructionData::MultiAry { opcode, args }
            }
            F::Shuffle => {
                let a = self.value_operand(ctx)?;
                self.comma()?;
                let b = self.value_operand(ctx)?;
                self.comma()?;
                let data = match self.tok {
                    Token::LBracket => self.parse_vector_literal(types::I8X16)?,
                    Token::Integer(t) => {
                        let bytes = parse_hex_bytes(t).map_err(|m| self.error(m))?;
                        self.advance();
                        ConstantData::new(bytes).expand_to(16)
                    }
                    _ => return self.err("expected shuffle mask: [16 lanes] or 0x…"),
                };
                let mask = ctx.func.dfg.insert_immediate(data);
                InstructionData::Shuffle { opcode, args: [a, b], mask }
            }
            F::IntCompare => {
                let cond = self.match_word("integer condition code", IntCC::parse)?;
                let a = self.value_operand(ctx)?;
                self.comma()?;
                let b = self.value_operand(ctx)?;
                InstructionData::IntCompare { opcode, cond, args: [a, b] }
            }
            F::FloatCompare => {
                let cond = self.match_word("float condition code", FloatCC::parse)?;
                let a = self.value_operand(ctx)?;
                self.comma()?;
                let b = self.value_operand(ctx)?;
                InstructionData::FloatCompare { opcode, cond, args: [a, b] }
            }
            F::IntAddTrap => {
                let a = self.value_operand(ctx)?;
                self.comma()?;
                let b = self.value_operand(ctx)?;
                self.comma()?;
                let code = self.trap_code()?;
                InstructionData::IntAddTrap { opcode, args: [a, b], code }
            }
            F::Jump => InstructionData::Jump { opcode, destination: self.block_call(ctx, false)? },
            F::Brif => {
                let arg = self.value_operand(ctx)?;
                self.comma()?;
                let t = self.block_call(ctx, false)?;
                self.comma()?;
                let e = self.block_call(ctx, false)?;
                InstructionData::Brif { opcode, arg, blocks: [t, e] }
            }
            F::BranchTable => {
                let arg = self.value_operand(ctx)?;
                self.comma()?;
                let default = self.block_call(ctx, false)?;
                self.comma()?;
                self.expect(Token::LBracket, "'[' starting the jump table")?;
                let mut entries = Vec::new();
                if self.tok != Token::RBracket {
                    loop {
                        entries.push(self.block_call(ctx, false)?);
                        if !self.eat(Token::Comma) {
                            break;
                        }
                    }
                }
                self.expect(Token::RBracket, "']' ending the jump table")?;
                let table = ctx.func.dfg.jump_tables.push(JumpTableData::new(default, &entries));
                InstructionData::BranchTable { opcode, arg, table }
            }
            F::Call => {
                let Token::FuncRef(fr) = self.tok else {
                    return self.err("expected function reference fnN");
                };
                self.check_func_ref(ctx, fr)?;
                self.advance();
                let mut args = ValueList::new();
                self.call_args(ctx, &mut args)?;
                InstructionData::Call { opcode, func_ref: fr, args }
            }
            F::CallIndirect => {
                let Token::SigRef(sig) = self.tok else {
                    return self.err("expected signature reference sigN");
                };
                self.check_sig_ref(ctx, sig)?;
                self.advance();
                self.comma()?;
                let callee = self.value_operand(ctx)?;
                let mut args = ValueList::new();
                args.push(callee, &mut ctx.func.dfg.value_lists);
                self.call_args(ctx, &mut args)?;
                InstructionData::CallIndirect { opcode, sig_ref: sig, args }
            }
            F::TryCall => {
                let Token::FuncRef(fr) = self.tok else {
                    return self.err("expected function reference fnN");
                };
                self.check_func_ref(ctx, fr)?;
                self.advance();
                let mut args = ValueList::new();
                self.call_args(ctx, &mut args)?;
                self.comma()?;
                let exception = self.exception_table(ctx)?;
                InstructionData::TryCall { opcode, func_ref: fr, args, exception }
            }
            F::TryCallIndirect => {
                let callee = self.value_operand(ctx)?;
                let mut args = ValueList::new();
                args.push(callee, &mut ctx.func.dfg.value_lists);
                self.call_args(ctx, &mut args)?;
                self.comma()?;
                let exception = self.exception_table(ctx)?;
                InstructionData::TryCallIndirect { opcode, args, exception }
            }
            F::FuncAddr => {
                let Token::FuncRef(fr) = self.tok else {
                    return self.err("expected function reference fnN");
                };
                self.check_func_ref(ctx, fr)?;
                self.advance();
                InstructionData::FuncAddr { opcode, func_ref: fr }
            }
            F::StackAddr => {
                let Token::StackSlot(ss) = self.tok else {
                    return self.err("expected stack slot ssN");
                };
                self.check_stack_slot(ctx, ss)?;
                self.advance();
                let offset = self.optional_offset32()?;
                InstructionData::StackAddr { opcode, stack_slot: ss, offset }
            }
            F::DynamicStackAddr => {
                let Token::DynamicStackSlot(dss) = self.tok else {
                    return self.err("expected dynamic stack slot dssN");
                };
                let f = &ctx.func;
                if !is_declared(&f.dynamic_stack_slots, &f.placeholders.dynamic_stack_slots, dss) {
                    return self.err(format!("undefined dynamic stack slot {dss}"));
                }
                self.advance();
                InstructionData::DynamicStackAddr { opcode, dynamic_stack_slot: dss }
            }
            F::Load => {
                let fl = self.parse_memflags()?;
                let flags = self.intern_flags(ctx, fl)?;
                let arg = self.value_operand(ctx)?;
                let offset = self.optional_offset32()?;
                InstructionData::Load { opcode, flags, arg, offset }
            }
            F::Store => {
                let fl = self.parse_memflags()?;
                let flags = self.intern_flags(ctx, fl)?;
                let a = self.value_operand(ctx)?;
                self.comma()?;
                let p = self.value_operand(ctx)?;
                let offset = self.optional_offset32()?;
                InstructionData::Store { opcode, flags, args: [a, p], offset }
            }
            F::LoadNoOffset => {
                let fl = self.parse_memflags()?;
                let flags = self.intern_flags(ctx, fl)?;
                let arg = self.value_operand(ctx)?;
                InstructionData::LoadNoOffset { opcode, flags, arg }
            }
            F::StoreNoOffset => {
                let fl = self.parse_memflags()?;
                let flags = self.intern_flags(ctx, fl)?;
                let a = self.value_operand(ctx)?;
                self.comma()?;
                let p = self.value_operand(ctx)?;
                InstructionData::StoreNoOffset { opcode, flags, args: [a, p] }
            }
            F::AtomicRmw => {
                let fl = self.parse_memflags()?;
                let flags = self.intern_flags(ctx, fl)?;
                let op = self.match_word("atomic rmw operation", AtomicRmwOp::parse)?;
                let p = self.value_operand(ctx)?;
                self.comma()?;
                let x = self.value_operand(ctx)?;
                InstructionData::AtomicRmw { opcode, flags, op, args: [p, x] }
            }
            F::AtomicCas => {
                let fl = self.parse_memflags()?;
                let flags = self.intern_flags(ctx, fl)?;
                let p = self.value_operand(ctx)?;
                self.comma()?;
                let e = self.value_operand(ctx)?;
                self.comma()?;
                let r = self.value_operand(ctx)?;
                InstructionData::AtomicCas { opcode, flags, args: [p, e, r] }
            }
            F::Trap => InstructionData::Trap { opcode, code: self.trap_code()? },
            F::CondTrap => {
                let arg = self.value_operand(ctx)?;
                self.comma()?;
                let code = self.trap_code()?;
                InstructionData::CondTrap { opcode, arg, code }
            }
            F::ExceptionHandlerAddress => {
                let Token::Block(b) = self.tok else {
                    return self.err("expected block");
                };
                self.check_block(b)?;
                ctx.func.dfg.reserve_blocks(b.index() + 1);
                self.advance();
                self.comma()?;
                let imm = Imm64(self.match_imm64("handler index")?);
                InstructionData::ExceptionHandlerAddress { opcode, block: b, imm }
            }
        })
    }
}

#[cfg(test)]
#[path = "parser_tests.rs"]
mod tests;

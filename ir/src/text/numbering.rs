//! Entity numbering for the parser: keeps the numbers written in the text (`v7`,
//! `block3`, `ss2`, …) as the entity numbers in memory, unless keeping one would cost more
//! memory than the input allows; such a number gets the next free number instead.
//!
//! Entities live in arenas indexed by number, so keeping a written number `vN` allocates a
//! slot for every number below it: a hostile file naming `v4194303` in each of many tiny
//! functions would take gigabytes. So the parser of a file has a pool of
//! `POOL_FLOOR + (bytes of the file)` slots, shared by every arena (value, block, stack slot,
//! … of every function): keeping number `n` in an arena of `len` slots takes `n + 1 - len`
//! slots from the pool and is refused when the pool cannot pay; a refused number is
//! *moved* to slot `len` (one slot, always granted: one per distinct written number). All
//! the arenas of a file together thus never exceed `POOL_FLOOR + 2·(bytes of the file)`
//! slots: memory stays proportional to the input.
//!
//! Invariants: within a function the mapping is a bijection from written numbers to slots,
//! decided when a number is first seen (first come, first served), so it depends only on the
//! text. The floor is large enough for every hand-written test (Cranelift's own parser tests
//! name `v9200` in a three-line function) and files the size of real modules keep every
//! number, so they print unchanged; a moved entity prints under its new number.

use super::lexer::Token;
use super::parser::{MAX_BLOCKS, MAX_DECL_NUMBER, MAX_VALUE_NUMBER};
use crate::entity::EntityRef;
use std::collections::HashMap;

/// Slots every file may use beyond one per byte of text.
const POOL_FLOOR: u64 = 1 << 16;

/// The state of a slot.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Slot {
    /// Not claimed by any written number (a gap: a placeholder in the arena).
    Free,
    /// Claimed by the written number equal to it.
    Kept,
    /// Claimed by a moved number.
    Moved,
}

/// The numbering of one entity kind.
#[derive(Default)]
struct KindNumbering {
    /// Slots `0..slots.len()` may be in use.
    slots: Vec<Slot>,
    /// Written number → slot, for moved numbers.
    moved: HashMap<u32, u32>,
}

impl KindNumbering {
    fn clear(&mut self) {
        self.slots.clear();
        self.moved.clear();
    }

    /// The slot of written number `n`, paid from `pool`.
    fn slot(&mut self, n: u32, pool: &mut u64) -> u32 {
        let i = n as usize;
        match self.slots.get(i) {
            Some(Slot::Kept) => return n,
            Some(Slot::Free) if self.moved.is_empty() || !self.moved.contains_key(&n) => {
                self.slots[i] = Slot::Kept;
                return n;
            }
            _ => {}
        }
        if let Some(&s) = self.moved.get(&n) {
            return s;
        }
        let cost = (i + 1).saturating_sub(self.slots.len()) as u64;
        if i >= self.slots.len() && cost <= *pool {
            *pool -= cost;
            self.slots.resize(i, Slot::Free);
            self.slots.push(Slot::Kept);
            return n;
        }
        let s = self.slots.len() as u32;
        *pool = pool.saturating_sub(1);
        self.slots.push(Slot::Moved);
        self.moved.insert(n, s);
        s
    }
}

/// The numbering of every entity kind of the function being parsed, and the file's pool.
pub(crate) struct Numbering {
    /// Slots the file may still add to its arenas.
    pool: u64,
    values: KindNumbering,
    blocks: KindNumbering,
    stack_slots: KindNumbering,
    dynamic_stack_slots: KindNumbering,
    dynamic_types: KindNumbering,
    global_values: KindNumbering,
    constants: KindNumbering,
    func_refs: KindNumbering,
    sig_refs: KindNumbering,
    alias_regions: KindNumbering,
}

/// The written number of a declaration token.
fn declared_number(t: Token) -> u32 {
    match t {
        Token::StackSlot(e) => e.as_u32(),
        Token::DynamicStackSlot(e) => e.as_u32(),
        Token::DynamicType(e) => e.as_u32(),
        Token::GlobalValue(e) => e.as_u32(),
        Token::Constant(e) => e.as_u32(),
        Token::FuncRef(e) => e.as_u32(),
        Token::SigRef(e) => e.as_u32(),
        Token::AliasRegion(e) => e.as_u32(),
        _ => 0,
    }
}

fn map<E: EntityRef>(k: &mut KindNumbering, pool: &mut u64, e: E) -> E {
    E::new(k.slot(e.index() as u32, pool) as usize)
}

impl Numbering {
    /// The numbering of a file of `len` bytes.
    pub(crate) fn for_file(len: usize) -> Self {
        Numbering {
            pool: POOL_FLOOR + len as u64,
            values: KindNumbering::default(),
            blocks: KindNumbering::default(),
            stack_slots: KindNumbering::default(),
            dynamic_stack_slots: KindNumbering::default(),
            dynamic_types: KindNumbering::default(),
            global_values: KindNumbering::default(),
            constants: KindNumbering::default(),
            func_refs: KindNumbering::default(),
            sig_refs: KindNumbering::default(),
            alias_regions: KindNumbering::default(),
        }
    }

    /// Start a new function.
    pub(crate) fn start_function(&mut self) {
        for k in [
            &mut self.values,
            &mut self.blocks,
            &mut self.stack_slots,
            &mut self.dynamic_stack_slots,
            &mut self.dynamic_types,
            &mut self.global_values,
            &mut self.constants,
            &mut self.func_refs,
            &mut self.sig_refs,
            &mut self.alias_regions,
        ] {
            k.clear();
        }
    }

    /// The token with its entity number (if it names an entity) replaced by the slot. The
    /// limits on written numbers (Cranelift's too: `block100000`, `v4194304` and
    /// declaration numbers from 2^20 are errors) are checked here, before renumbering.
    pub(crate) fn translate<'a>(&mut self, t: Token<'a>) -> Token<'a> {
        match t {
            Token::Block(e) if e.as_u32() >= MAX_BLOCKS => {
                return Token::Error("too many blocks (block numbers must be below 100000)");
            }
            Token::Value(e) if e.as_u32() >= MAX_VALUE_NUMBER => {
                return Token::Error("value number too large (limit v4194303)");
            }
            Token::StackSlot(_)
            | Token::DynamicStackSlot(_)
            | Token::DynamicType(_)
            | Token::GlobalValue(_)
            | Token::Constant(_)
            | Token::FuncRef(_)
            | Token::SigRef(_)
            | Token::AliasRegion(_)
                if declared_number(t) >= MAX_DECL_NUMBER =>
            {
                return Token::Error("entity number too large (limit 1048575)");
            }
            _ => {}
        }
        match t {
            Token::Value(e) => Token::Value(map(&mut self.values, &mut self.pool, e)),
            Token::Block(e) => Token::Block(map(&mut self.blocks, &mut self.pool, e)),
            Token::StackSlot(e) => Token::StackSlot(map(&mut self.stack_slots, &mut self.pool, e)),
            Token::DynamicStackSlot(e) => {
                Token::DynamicStackSlot(map(&mut self.dynamic_stack_slots, &mut self.pool, e))
            }
            Token::DynamicType(e) => Token::DynamicType(map(&mut self.dynamic_types, &mut self.pool, e)),
            Token::GlobalValue(e) => Token::GlobalValue(map(&mut self.global_values, &mut self.pool, e)),
            Token::Constant(e) => Token::Constant(map(&mut self.constants, &mut self.pool, e)),
            Token::FuncRef(e) => Token::FuncRef(map(&mut self.func_refs, &mut self.pool, e)),
            Token::SigRef(e) => Token::SigRef(map(&mut self.sig_refs, &mut self.pool, e)),
            Token::AliasRegion(e) => Token::AliasRegion(map(&mut self.alias_regions, &mut self.pool, e)),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_kept_while_the_pool_pays() {
        let mut k = KindNumbering::default();
        let mut pool = 2000;
        for n in [0, 5, 3, 1000, 1500, 3] {
            assert_eq!(k.slot(n, &mut pool), n);
        }
        assert_eq!(pool, 2000 - 1501);
        assert_eq!(k.slot(4_194_303, &mut pool), 1501);
        assert_eq!(k.slot(4_194_303, &mut pool), 1501);
        // The slot a moved number took cannot be claimed by its own written number.
        assert_eq!(k.slot(1501, &mut pool), 1502);
        assert_eq!(k.slot(1501, &mut pool), 1502);
        assert_eq!(k.slot(1400, &mut pool), 1400);
        // A moved number stays moved when later numbers grow the arena past it.
        let mut k = KindNumbering::default();
        let mut pool = 100;
        assert_eq!(k.slot(150, &mut pool), 0);
        assert_eq!(k.slot(98, &mut pool), 98);
        assert_eq!(k.slot(150, &mut pool), 0);
        assert_eq!(k.slot(120, &mut pool), 99);
    }

    #[test]
    fn arenas_stay_within_the_pool_plus_the_count() {
        let mut n = 7u32;
        let mut pool = 1000;
        let mut kinds: Vec<KindNumbering> = (0..4).map(|_| KindNumbering::default()).collect();
        for count in 1..=10_000u64 {
            n = n.wrapping_mul(2_654_435_761).wrapping_add(12345);
            kinds[count as usize % 4].slot(n % 5000, &mut pool);
            let total: u64 = kinds.iter().map(|k| k.slots.len() as u64).sum();
            assert!(total <= 1000 + count);
        }
    }
}

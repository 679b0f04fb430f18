//! Memory-access flags: trap behaviour, alignment, read-only, code-motion permission, byte
//! order and alias region.
//!
//! [`MemFlags`] is the full value. Instructions hold a [`MemFlagsId`], an index into the
//! function's interned table (`DataFlowGraph::mem_flags`), which keeps `InstructionData`
//! within 16 bytes; id 0 is always the default flags.

use crate::entities::AliasRegion;
use crate::entity::PackedOption;
use crate::trapcode::TrapCode;
use core::fmt;

/// Byte order of a memory access.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum Endianness {
    /// Least significant byte first.
    Little,
    /// Most significant byte first.
    Big,
}

const ALIGNED: u8 = 1;
const READONLY: u8 = 2;
const CAN_MOVE: u8 = 4;
const BIG: u8 = 8;
const LITTLE: u8 = 16;

/// The flags of one memory access.
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct MemFlags {
    /// 0 = `notrap`, otherwise the raw trap code reported when the access faults.
    trap: u8,
    bits: u8,
    region: PackedOption<AliasRegion>,
}

impl Default for MemFlags {
    fn default() -> Self {
        Self::new()
    }
}

impl MemFlags {
    /// Default flags: may trap with `heap_oob`, native byte order, no promises.
    pub const fn new() -> Self {
        MemFlags { trap: TrapCode::HEAP_OUT_OF_BOUNDS.as_raw(), bits: 0, region: PackedOption::NONE }
    }
    /// `notrap aligned`: the flags of accesses the compiler knows are safe (e.g. stack slots).
    pub const fn trusted() -> Self {
        MemFlags { trap: 0, bits: ALIGNED, region: PackedOption::NONE }
    }

    /// The trap code, or `None` for `notrap`.
    pub fn trap_code(self) -> Option<TrapCode> {
        TrapCode::from_raw(self.trap)
    }
    /// Set the trap code (`None` = `notrap`).
    pub fn with_trap_code(mut self, code: Option<TrapCode>) -> Self {
        self.trap = code.map_or(0, |c| c.as_raw());
        self
    }
    /// Is the access `notrap`?
    pub fn notrap(self) -> bool {
        self.trap == 0
    }
    /// Is `aligned` set?
    pub fn aligned(self) -> bool {
        self.bits & ALIGNED != 0
    }
    /// Is `readonly` set?
    pub fn readonly(self) -> bool {
        self.bits & READONLY != 0
    }
    /// Is `can_move` set?
    pub fn can_move(self) -> bool {
        self.bits & CAN_MOVE != 0
    }
    /// The explicit byte order, if any.
    pub fn explicit_endianness(self) -> Option<Endianness> {
        if self.bits & BIG != 0 {
            Some(Endianness::Big)
        } else if self.bits & LITTLE != 0 {
            Some(Endianness::Little)
        } else {
            None
        }
    }
    /// The byte order, given the target's native order.
    pub fn endianness(self, native: Endianness) -> Endianness {
        self.explicit_endianness().unwrap_or(native)
    }
    /// The alias region.
    pub fn alias_region(self) -> Option<AliasRegion> {
        self.region.expand()
    }
    /// Set `aligned`.
    pub fn with_aligned(mut self) -> Self {
        self.bits |= ALIGNED;
        self
    }
    /// Set `readonly`.
    pub fn with_readonly(mut self) -> Self {
        self.bits |= READONLY;
        self
    }
    /// Set `can_move`.
    pub fn with_can_move(mut self) -> Self {
        self.bits |= CAN_MOVE;
        self
    }
    /// Set the explicit byte order.
    pub fn with_endianness(mut self, e: Endianness) -> Self {
        self.bits &= !(BIG | LITTLE);
        self.bits |= match e {
            Endianness::Big => BIG,
            Endianness::Little => LITTLE,
        };
        self
    }
    /// Set the alias region.
    pub fn with_alias_region(mut self, r: Option<AliasRegion>) -> Self {
        self.region = r.into();
        self
    }
    /// Is this only a byte-order flag (or nothing), as `bitcast` requires?
    pub fn is_only_endianness(self) -> bool {
        self.trap == TrapCode::HEAP_OUT_OF_BOUNDS.as_raw() && self.bits & !(BIG | LITTLE) == 0 && self.region.is_none()
    }

    /// Apply one text flag word; returns false if the word is not a flag. A second byte
    /// order conflicting with the first is reported by `conflict`.
    pub fn set_by_name(&mut self, word: &str) -> Result<bool, &'static str> {
        match word {
            "notrap" => self.trap = 0,
            "aligned" => self.bits |= ALIGNED,
            "readonly" => self.bits |= READONLY,
            "can_move" => self.bits |= CAN_MOVE,
            "big" | "little" => {
                let bit = if word == "big" { BIG } else { LITTLE };
                if self.bits & (BIG | LITTLE) & !bit != 0 {
                    return Err("cannot set both big and little endianness");
                }
                self.bits |= bit;
            }
            _ => match TrapCode::parse(word) {
                Some(code) => self.trap = code.as_raw(),
                None => return Ok(false),
            },
        }
        Ok(true)
    }
}

impl fmt::Display for MemFlags {
    /// The flags as words, each preceded by a space, in canonical order.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.trap_code() {
            None => f.write_str(" notrap")?,
            Some(TrapCode::HEAP_OUT_OF_BOUNDS) => {}
            Some(code) => write!(f, " {code}")?,
        }
        if self.aligned() {
            f.write_str(" aligned")?;
        }
        if self.readonly() {
            f.write_str(" readonly")?;
        }
        if self.can_move() {
            f.write_str(" can_move")?;
        }
        if self.bits & BIG != 0 {
            f.write_str(" big")?;
        }
        if self.bits & LITTLE != 0 {
            f.write_str(" little")?;
        }
        if let Some(r) = self.alias_region() {
            write!(f, " {r}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for MemFlags {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "MemFlags({})", self.to_string().trim())
    }
}

/// Index of interned [`MemFlags`] in a function's table.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default, PartialOrd, Ord)]
pub struct MemFlagsId(pub u16);

/// A function's interned memory flags. Entry 0 is `MemFlags::new()`.
#[derive(Clone, Debug)]
pub struct MemFlagsTable {
    list: Vec<MemFlags>,
}

impl Default for MemFlagsTable {
    fn default() -> Self {
        MemFlagsTable { list: vec![MemFlags::new()] }
    }
}

impl MemFlagsTable {
    /// The flags of `id`.
    #[inline]
    pub fn get(&self, id: MemFlagsId) -> MemFlags {
        self.list[id.0 as usize]
    }
    /// Intern `flags`. A function rarely uses more than a handful of distinct flag sets, so
    /// a linear search is the fastest lookup. Fails past 65,536 distinct sets.
    pub fn intern(&mut self, flags: MemFlags) -> Result<MemFlagsId, &'static str> {
        if let Some(i) = self.list.iter().position(|f| *f == flags) {
            return Ok(MemFlagsId(i as u16));
        }
        if self.list.len() > u16::MAX as usize {
            return Err("implementation limit: more than 65536 distinct memory flag sets in one function");
        }
        self.list.push(flags);
        Ok(MemFlagsId((self.list.len() - 1) as u16))
    }
    /// Reset to just the default entry.
    pub fn clear(&mut self) {
        self.list.truncate(1);
    }
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.list.len()
    }
    /// Always false: the default entry exists.
    pub fn is_empty(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn printing_order() {
        let mut f = MemFlags::new();
        for w in ["little", "can_move", "readonly", "aligned", "notrap"] {
            assert_eq!(f.set_by_name(w), Ok(true));
        }
        assert_eq!(f.to_string(), " notrap aligned readonly can_move little");
        assert!(f.set_by_name("big").is_err());
        let mut g = MemFlags::new();
        g.set_by_name("user6").unwrap();
        assert_eq!(g.to_string(), " user6");
        assert_eq!(MemFlags::new().to_string(), "");
        assert_eq!(g.set_by_name("v0"), Ok(false));
    }
    #[test]
    fn interning() {
        let mut t = MemFlagsTable::default();
        assert_eq!(t.intern(MemFlags::new()), Ok(MemFlagsId(0)));
        let a = t.intern(MemFlags::trusted()).unwrap();
        assert_eq!(t.intern(MemFlags::trusted()), Ok(a));
        assert_eq!(t.get(a), MemFlags::trusted());
    }
}

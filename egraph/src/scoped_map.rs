//! A hash map whose entries belong to nested scopes (the dominator-tree walk): entries
//! inserted in a scope disappear when the scope is left.
//!
//! Invalidation is lazy: every scope gets a fresh generation number when it is entered, and
//! an entry is visible only while the scope it was inserted at is on the stack with the same
//! generation. Leaving a scope is O(1). An entry may be inserted at an outer scope that is
//! still on the stack (used to make a hoisted value visible in the whole loop).
//!
//! Invariant: `gens[d]` is the generation of the live scope at depth `d` (`d < gens.len()`);
//! generations are never reused, so a stale entry can never become visible again.

use crate::fxhash::FxHashMap;
use core::hash::Hash;

#[derive(Clone, Copy)]
struct Entry<V> {
    value: V,
    depth: u32,
    generation: u32,
}

/// The scoped map.
pub struct ScopedMap<K, V> {
    map: FxHashMap<K, Entry<V>>,
    gens: Vec<u32>,
    next_gen: u32,
}

impl<K: Hash + Eq, V: Copy> Default for ScopedMap<K, V> {
    fn default() -> Self {
        ScopedMap { map: FxHashMap::default(), gens: Vec::new(), next_gen: 0 }
    }
}

impl<K: Hash + Eq, V: Copy> ScopedMap<K, V> {
    /// Forget everything (keeping memory) and start with no open scope.
    pub fn clear(&mut self) {
        self.map.clear();
        self.gens.clear();
    }

    /// Enter a new innermost scope.
    pub fn push_scope(&mut self) {
        self.gens.push(self.next_gen);
        self.next_gen = self.next_gen.wrapping_add(1);
        if self.next_gen == 0 {
            // 2^32 scopes: start over rather than risk a stale entry matching.
            self.map.clear();
        }
    }

    /// Leave the innermost scope.
    pub fn pop_scope(&mut self) {
        self.gens.pop();
    }

    /// The depth of the innermost scope (0 = the outermost).
    pub fn depth(&self) -> u32 {
        self.gens.len().saturating_sub(1) as u32
    }

    /// The visible value of `key`.
    #[inline]
    pub fn get(&self, key: &K) -> Option<V> {
        let e = self.map.get(key)?;
        (self.gens.get(e.depth as usize) == Some(&e.generation)).then_some(e.value)
    }

    /// Insert at the innermost scope.
    #[inline]
    pub fn insert(&mut self, key: K, value: V) {
        let d = self.depth();
        self.insert_at(key, value, d);
    }

    /// Insert at scope `depth` (clamped to the innermost scope).
    #[inline]
    pub fn insert_at(&mut self, key: K, value: V, depth: u32) {
        let depth = depth.min(self.depth());
        let Some(&generation) = self.gens.get(depth as usize) else { return };
        self.map.insert(key, Entry { value, depth, generation });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_hide_inner_entries() {
        let mut m: ScopedMap<u32, u32> = ScopedMap::default();
        m.push_scope();
        m.insert(1, 10);
        m.push_scope();
        m.insert(2, 20);
        m.insert_at(3, 30, 0);
        assert_eq!(m.get(&1), Some(10));
        assert_eq!(m.get(&2), Some(20));
        m.pop_scope();
        assert_eq!(m.get(&2), None);
        assert_eq!(m.get(&3), Some(30));
        m.push_scope();
        assert_eq!(m.get(&2), None, "a sibling scope does not see its predecessor's entries");
        assert_eq!(m.get(&1), Some(10));
        m.pop_scope();
        m.pop_scope();
        assert_eq!(m.get(&1), None);
    }
}

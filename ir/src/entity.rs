//! Entity references and the arenas that hold them.
//!
//! Every IR object (value, instruction, block, stack slot, …) is a `u32` newtype that indexes
//! an arena. There are no pointers between IR nodes: a [`PrimaryMap`] owns the objects and hands
//! out their references, a [`SecondaryMap`] attaches extra data to existing references, an
//! [`EntitySet`] is a bit set of references and an [`EntityList`] is a short list of references
//! stored in a shared [`ListPool`].
//!
//! Invariants: a reference is only meaningful for the map that created it; `u32::MAX` is
//! reserved as the "none" marker of [`PackedOption`], so no arena grows beyond `u32::MAX - 1`
//! entries.

use core::fmt;
use core::hash::Hash;
use core::marker::PhantomData;
use core::ops::{Index, IndexMut};

/// A typed index into an arena.
pub trait EntityRef: Copy + Eq + Ord + Hash + fmt::Debug {
    /// The reference with index `index`.
    fn new(index: usize) -> Self;
    /// The index of this reference.
    fn index(self) -> usize;
}

/// Declare an entity reference type: a `u32` newtype printed as `prefix` followed by its
/// number.
#[macro_export]
macro_rules! entity_ref {
    ($(#[$attr:meta])* $name:ident, $prefix:expr) => {
        $(#[$attr])*
        #[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        #[repr(transparent)]
        pub struct $name(u32);

        impl $crate::entity::EntityRef for $name {
            #[inline]
            fn new(index: usize) -> Self {
                debug_assert!(index < u32::MAX as usize);
                $name(index as u32)
            }
            #[inline]
            fn index(self) -> usize {
                self.0 as usize
            }
        }

        // SAFETY: `repr(transparent)` over a single `u32`.
        unsafe impl $crate::entity::U32Entity for $name {}

        impl $crate::entity::Reserved for $name {
            const RESERVED: Self = $name(u32::MAX);
        }

        #[allow(dead_code)]
        impl $name {
            /// The reference with number `n`.
            #[inline]
            pub const fn from_u32(n: u32) -> Self {
                $name(n)
            }
            /// The number of this reference.
            #[inline]
            pub const fn as_u32(self) -> u32 {
                self.0
            }
            /// The text prefix of this kind of entity.
            pub const PREFIX: &'static str = $prefix;
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
                write!(f, "{}{}", $prefix, self.0)
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
                core::fmt::Display::fmt(self, f)
            }
        }
    };
}

/// An entity reference whose memory representation is exactly one `u32` holding its index.
///
/// # Safety
/// Implementors must be `repr(transparent)` over a `u32` equal to `index()`. `entity_ref!`
/// implements it; [`EntityList`] relies on it to view pool words as references.
pub unsafe trait U32Entity: EntityRef {}

/// A type with a reserved value, usable in a [`PackedOption`].
pub trait Reserved: Copy + Eq {
    /// The value that means "none".
    const RESERVED: Self;
}

/// An `Option<T>` stored in the size of `T`, using `T`'s reserved value for `None`.
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct PackedOption<T: Reserved>(T);

impl<T: Reserved> PackedOption<T> {
    /// The empty option.
    pub const NONE: Self = PackedOption(T::RESERVED);
    /// Is this `None`?
    #[inline]
    pub fn is_none(self) -> bool {
        self.0 == T::RESERVED
    }
    /// Is this `Some`?
    #[inline]
    pub fn is_some(self) -> bool {
        self.0 != T::RESERVED
    }
    /// Unpack into an `Option`.
    #[inline]
    pub fn expand(self) -> Option<T> {
        if self.is_none() { None } else { Some(self.0) }
    }
}

impl<T: Reserved> Default for PackedOption<T> {
    fn default() -> Self {
        Self::NONE
    }
}

impl<T: Reserved> From<T> for PackedOption<T> {
    fn from(t: T) -> Self {
        debug_assert!(t != T::RESERVED);
        PackedOption(t)
    }
}

impl<T: Reserved> From<Option<T>> for PackedOption<T> {
    fn from(t: Option<T>) -> Self {
        match t {
            Some(t) => t.into(),
            None => Self::NONE,
        }
    }
}

impl<T: Reserved + fmt::Debug> fmt::Debug for PackedOption<T> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.expand().fmt(f)
    }
}

/// The arena that creates and owns entities of type `K`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PrimaryMap<K: EntityRef, V> {
    elems: Vec<V>,
    _k: PhantomData<K>,
}

impl<K: EntityRef, V> PrimaryMap<K, V> {
    /// An empty map.
    pub const fn new() -> Self {
        Self { elems: Vec::new(), _k: PhantomData }
    }
    /// Add `v` and return its new reference.
    #[inline]
    pub fn push(&mut self, v: V) -> K {
        let k = K::new(self.elems.len());
        self.elems.push(v);
        k
    }
    /// The reference the next `push` will return.
    pub fn next_key(&self) -> K {
        K::new(self.elems.len())
    }
    /// Number of entities.
    #[inline]
    pub fn len(&self) -> usize {
        self.elems.len()
    }
    /// Is the map empty?
    pub fn is_empty(&self) -> bool {
        self.elems.is_empty()
    }
    /// Does `k` refer to an entity of this map?
    #[inline]
    pub fn is_valid(&self, k: K) -> bool {
        k.index() < self.elems.len()
    }
    /// The entity `k`, if it exists.
    #[inline]
    pub fn get(&self, k: K) -> Option<&V> {
        self.elems.get(k.index())
    }
    /// The entity `k` mutably, if it exists.
    pub fn get_mut(&mut self, k: K) -> Option<&mut V> {
        self.elems.get_mut(k.index())
    }
    /// Remove every entity, keeping the allocation.
    pub fn clear(&mut self) {
        self.elems.clear()
    }
    /// Iterate over `(reference, entity)` pairs.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (K, &V)> + ExactSizeIterator {
        self.elems.iter().enumerate().map(|(i, v)| (K::new(i), v))
    }
    /// Iterate mutably over `(reference, entity)` pairs.
    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = (K, &mut V)> {
        self.elems.iter_mut().enumerate().map(|(i, v)| (K::new(i), v))
    }
    /// Iterate over the references.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = K> + ExactSizeIterator + use<K, V> {
        (0..self.elems.len()).map(K::new)
    }
    /// Iterate over the entities.
    pub fn values(&self) -> core::slice::Iter<'_, V> {
        self.elems.iter()
    }
    /// Iterate mutably over the entities.
    pub fn values_mut(&mut self) -> core::slice::IterMut<'_, V> {
        self.elems.iter_mut()
    }
    /// The last entity pushed.
    pub fn last(&self) -> Option<(K, &V)> {
        let n = self.elems.len();
        self.elems.last().map(|v| (K::new(n - 1), v))
    }
    /// Reserve space for `n` more entities.
    pub fn reserve(&mut self, n: usize) {
        self.elems.reserve(n)
    }
    /// Shorten the map to `n` entities.
    pub fn truncate(&mut self, n: usize) {
        self.elems.truncate(n)
    }
}

impl<K: EntityRef, V> Default for PrimaryMap<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: EntityRef, V> Index<K> for PrimaryMap<K, V> {
    type Output = V;
    #[inline]
    fn index(&self, k: K) -> &V {
        &self.elems[k.index()]
    }
}

impl<K: EntityRef, V> IndexMut<K> for PrimaryMap<K, V> {
    #[inline]
    fn index_mut(&mut self, k: K) -> &mut V {
        &mut self.elems[k.index()]
    }
}

impl<K: EntityRef, V: fmt::Debug> fmt::Debug for PrimaryMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Extra data for entities created elsewhere. Reading an entity that was never written gives
/// the default value; writing grows the map as needed.
#[derive(Clone)]
pub struct SecondaryMap<K: EntityRef, V: Clone> {
    elems: Vec<V>,
    default: V,
    _k: PhantomData<K>,
}

impl<K: EntityRef, V: Clone + Default> SecondaryMap<K, V> {
    /// An empty map whose default is `V::default()`.
    pub fn new() -> Self {
        Self::with_default(V::default())
    }
}

impl<K: EntityRef, V: Clone + Default> Default for SecondaryMap<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: EntityRef, V: Clone> SecondaryMap<K, V> {
    /// An empty map with the given default.
    pub fn with_default(default: V) -> Self {
        Self { elems: Vec::new(), default, _k: PhantomData }
    }
    /// An empty map with room for `n` entities.
    pub fn with_capacity(n: usize) -> Self
    where
        V: Default,
    {
        Self { elems: Vec::with_capacity(n), default: V::default(), _k: PhantomData }
    }
    /// The value for `k` (the default if never set).
    #[inline]
    pub fn get(&self, k: K) -> &V {
        self.elems.get(k.index()).unwrap_or(&self.default)
    }
    /// Reset every entry to the default, keeping the allocation.
    pub fn clear(&mut self) {
        self.elems.clear()
    }
    /// Make sure entries up to `n` exist, and reset all of them to the default.
    pub fn clear_and_resize(&mut self, n: usize) {
        self.elems.clear();
        self.elems.resize(n, self.default.clone());
    }
    /// Grow so that `k` is stored explicitly.
    #[inline]
    pub fn resize(&mut self, n: usize) {
        if self.elems.len() < n {
            self.elems.resize(n, self.default.clone());
        }
    }
    /// Number of explicitly stored entries.
    pub fn capacity(&self) -> usize {
        self.elems.len()
    }
    /// Iterate over explicitly stored `(reference, value)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (K, &V)> {
        self.elems.iter().enumerate().map(|(i, v)| (K::new(i), v))
    }
    /// Iterate over explicitly stored values.
    pub fn values(&self) -> core::slice::Iter<'_, V> {
        self.elems.iter()
    }
}

impl<K: EntityRef, V: Clone> Index<K> for SecondaryMap<K, V> {
    type Output = V;
    #[inline]
    fn index(&self, k: K) -> &V {
        self.get(k)
    }
}

impl<K: EntityRef, V: Clone> IndexMut<K> for SecondaryMap<K, V> {
    #[inline]
    fn index_mut(&mut self, k: K) -> &mut V {
        let i = k.index();
        if i >= self.elems.len() {
            self.elems.resize(i + 1, self.default.clone());
        }
        &mut self.elems[i]
    }
}

impl<K: EntityRef, V: Clone + fmt::Debug> fmt::Debug for SecondaryMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// A set of entities as a bit set.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EntitySet<K: EntityRef> {
    words: Vec<u64>,
    _k: PhantomData<K>,
}

impl<K: EntityRef> EntitySet<K> {
    /// An empty set.
    pub fn new() -> Self {
        Self { words: Vec::new(), _k: PhantomData }
    }
    /// Does the set contain `k`?
    #[inline]
    pub fn contains(&self, k: K) -> bool {
        let i = k.index();
        self.words.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
    /// Add `k`; returns true if it was not yet in the set.
    #[inline]
    pub fn insert(&mut self, k: K) -> bool {
        let i = k.index();
        if i / 64 >= self.words.len() {
            self.words.resize(i / 64 + 1, 0);
        }
        let w = &mut self.words[i / 64];
        let bit = 1 << (i % 64);
        let fresh = *w & bit == 0;
        *w |= bit;
        fresh
    }
    /// Remove `k`.
    #[inline]
    pub fn remove(&mut self, k: K) {
        let i = k.index();
        if let Some(w) = self.words.get_mut(i / 64) {
            *w &= !(1 << (i % 64));
        }
    }
    /// Remove everything, keeping the allocation.
    pub fn clear(&mut self) {
        self.words.clear()
    }
    /// Is the set empty?
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }
    /// Iterate over the members in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = K> + '_ {
        self.words.iter().enumerate().flat_map(|(wi, &w)| {
            let mut w = w;
            core::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let b = w.trailing_zeros() as usize;
                w &= w - 1;
                Some(K::new(wi * 64 + b))
            })
        })
    }
}

impl<K: EntityRef> fmt::Debug for EntitySet<K> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// A handle to a list of entities stored in a [`ListPool`]. The default handle is the empty
/// list; a handle is only meaningful for the pool that made it.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Default)]
pub struct EntityList<T: U32Entity> {
    /// 0 for the empty list, else 1 + the index of the length word in the pool.
    head: u32,
    _t: PhantomData<T>,
}

impl<T: U32Entity> fmt::Debug for EntityList<T> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "EntityList({})", self.head)
    }
}

/// Storage for many short [`EntityList`]s. Blocks have power-of-two sizes (4, 8, 16, … words,
/// the first word holding the length) and freed blocks are recycled per size class, so the
/// pool never allocates per list once warm.
#[derive(Clone, Default)]
pub struct ListPool<T: U32Entity> {
    data: Vec<u32>,
    /// Heads of the free lists, by size class; a free block stores the next free block in its
    /// first word (0 = end).
    free: Vec<u32>,
    _t: PhantomData<T>,
}

impl<T: U32Entity> fmt::Debug for ListPool<T> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "ListPool({} words)", self.data.len())
    }
}

#[inline]
fn size_class(len: usize) -> usize {
    // Class c holds blocks of 4 << c words: up to (4 << c) - 1 elements.
    let words = len + 1;
    if words <= 4 { 0 } else { (usize::BITS - (words - 1).leading_zeros()) as usize - 2 }
}

#[inline]
fn class_words(class: usize) -> usize {
    4 << class
}

impl<T: U32Entity> ListPool<T> {
    /// An empty pool.
    pub fn new() -> Self {
        Self { data: Vec::new(), free: Vec::new(), _t: PhantomData }
    }

    /// Forget every list, keeping the allocation.
    pub fn clear(&mut self) {
        self.data.clear();
        self.free.clear();
    }

    fn alloc(&mut self, class: usize) -> usize {
        if let Some(&head) = self.free.get(class)
            && head != 0
        {
            let block = head as usize - 1;
            self.free[class] = self.data[block];
            return block;
        }
        let block = self.data.len();
        self.data.resize(block + class_words(class), 0);
        block
    }

    fn release(&mut self, block: usize, class: usize) {
        if self.free.len() <= class {
            self.free.resize(class + 1, 0);
        }
        self.data[block] = self.free[class];
        self.free[class] = block as u32 + 1;
    }
}

impl<T: U32Entity> EntityList<T> {
    /// The empty list.
    pub const fn new() -> Self {
        Self { head: 0, _t: PhantomData }
    }

    /// A list holding `elems`.
    pub fn from_slice(elems: &[T], pool: &mut ListPool<T>) -> Self {
        let mut l = Self::new();
        l.extend(elems.iter().copied(), pool);
        l
    }

    /// Is the list empty?
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.head == 0
    }

    /// Number of elements.
    #[inline]
    pub fn len(&self, pool: &ListPool<T>) -> usize {
        if self.head == 0 { 0 } else { pool.data[self.head as usize - 1] as usize }
    }

    /// The elements as a slice.
    #[inline]
    pub fn as_slice<'a>(&self, pool: &'a ListPool<T>) -> &'a [T] {
        if self.head == 0 {
            return &[];
        }
        let b = self.head as usize - 1;
        let len = pool.data[b] as usize;
        let words = &pool.data[b + 1..b + 1 + len];
        // SAFETY: list elements are entity references declared by `entity_ref!`, which are
        // `repr(transparent)` newtypes of `u32`; every stored word came from `T::index()`.
        unsafe { core::slice::from_raw_parts(words.as_ptr() as *const T, len) }
    }

    /// The elements as a slice, or `None` if the handle does not describe a list of `pool`
    /// (a handle from another pool, or a corrupted one). Never panics; used by the verifier
    /// before trusting a list.
    pub fn try_as_slice<'a>(&self, pool: &'a ListPool<T>) -> Option<&'a [T]> {
        if self.head == 0 {
            return Some(&[]);
        }
        let b = self.head as usize - 1;
        let len = *pool.data.get(b)? as usize;
        if b.checked_add(len).is_none_or(|end| end >= pool.data.len()) {
            return None;
        }
        Some(self.as_slice(pool))
    }

    /// The elements as a mutable slice.
    #[inline]
    pub fn as_mut_slice<'a>(&mut self, pool: &'a mut ListPool<T>) -> &'a mut [T] {
        if self.head == 0 {
            return &mut [];
        }
        let b = self.head as usize - 1;
        let len = pool.data[b] as usize;
        let words = &mut pool.data[b + 1..b + 1 + len];
        // SAFETY: see `as_slice`.
        unsafe { core::slice::from_raw_parts_mut(words.as_mut_ptr() as *mut T, len) }
    }

    /// Element `i`, if any.
    pub fn get(&self, i: usize, pool: &ListPool<T>) -> Option<T> {
        self.as_slice(pool).get(i).copied()
    }

    /// The first element.
    pub fn first(&self, pool: &ListPool<T>) -> Option<T> {
        self.get(0, pool)
    }

    /// Make the list empty, returning its storage to the pool.
    pub fn clear(&mut self, pool: &mut ListPool<T>) {
        if self.head != 0 {
            let b = self.head as usize - 1;
            let len = pool.data[b] as usize;
            pool.release(b, size_class(len));
            self.head = 0;
        }
    }

    /// Forget the storage without returning it (for lists in a pool about to be cleared).
    pub fn take(&mut self) -> Self {
        core::mem::replace(self, Self::new())
    }

    /// A new list with the same elements (storage not shared).
    pub fn deep_clone(&self, pool: &mut ListPool<T>) -> Self {
        if self.head == 0 {
            return Self::new();
        }
        let b = self.head as usize - 1;
        let len = pool.data[b] as usize;
        let nb = pool.alloc(size_class(len));
        pool.data.copy_within(b..b + 1 + len, nb);
        Self { head: nb as u32 + 1, _t: PhantomData }
    }

    /// Grow the list by `extra` elements (uninitialized words are zero), returning the start
    /// index of the new elements.
    fn grow(&mut self, extra: usize, pool: &mut ListPool<T>) -> usize {
        let old_len = self.len(pool);
        let new_len = old_len + extra;
        if self.head == 0 {
            if extra == 0 {
                return 0;
            }
            let b = pool.alloc(size_class(new_len));
            pool.data[b] = new_len as u32;
            self.head = b as u32 + 1;
            return 0;
        }
        let b = self.head as usize - 1;
        let (oc, nc) = (size_class(old_len), size_class(new_len));
        if oc == nc {
            pool.data[b] = new_len as u32;
            return old_len;
        }
        let nb = pool.alloc(nc);
        pool.data.copy_within(b..b + 1 + old_len, nb);
        pool.data[nb] = new_len as u32;
        pool.release(b, oc);
        self.head = nb as u32 + 1;
        old_len
    }

    /// Append one element.
    pub fn push(&mut self, t: T, pool: &mut ListPool<T>) -> usize {
        let i = self.grow(1, pool);
        let b = self.head as usize - 1;
        pool.data[b + 1 + i] = t.index() as u32;
        i
    }

    /// Append many elements.
    pub fn extend(&mut self, elems: impl IntoIterator<Item = T>, pool: &mut ListPool<T>) {
        for t in elems {
            self.push(t, pool);
        }
    }

    /// Remove the element at `i`, shifting the rest down.
    pub fn remove(&mut self, i: usize, pool: &mut ListPool<T>) {
        let len = self.len(pool);
        assert!(i < len);
        if len == 1 {
            self.clear(pool);
            return;
        }
        let b = self.head as usize - 1;
        pool.data.copy_within(b + 2 + i..b + 1 + len, b + 1 + i);
        let (oc, nc) = (size_class(len), size_class(len - 1));
        pool.data[b] = (len - 1) as u32;
        if oc != nc {
            // Move to the smaller class so that `size_class(len)` always names the block's
            // class (used when releasing).
            let nb = pool.alloc(nc);
            pool.data.copy_within(b..b + len, nb);
            pool.release(b, oc);
            self.head = nb as u32 + 1;
        }
    }

    /// Insert `t` at `i`, shifting the rest up.
    pub fn insert(&mut self, i: usize, t: T, pool: &mut ListPool<T>) {
        let len = self.len(pool);
        assert!(i <= len);
        self.grow(1, pool);
        let b = self.head as usize - 1;
        pool.data.copy_within(b + 1 + i..b + 1 + len, b + 2 + i);
        pool.data[b + 1 + i] = t.index() as u32;
    }

    /// Keep, in order, the elements for which `keep(index, element)` holds (one pass, so
    /// removing many elements costs O(len), unlike repeated [`EntityList::remove`]).
    pub fn retain(&mut self, pool: &mut ListPool<T>, mut keep: impl FnMut(usize, T) -> bool) {
        let s = self.as_mut_slice(pool);
        let mut w = 0;
        for r in 0..s.len() {
            let t = s[r];
            if keep(r, t) {
                s[w] = t;
                w += 1;
            }
        }
        self.truncate(w, pool);
    }

    /// Shorten to `n` elements.
    pub fn truncate(&mut self, n: usize, pool: &mut ListPool<T>) {
        while self.len(pool) > n {
            let l = self.len(pool);
            self.remove(l - 1, pool);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    crate::entity_ref!(E, "e");

    #[test]
    fn size_classes() {
        assert_eq!(size_class(0), 0);
        assert_eq!(size_class(3), 0);
        assert_eq!(size_class(4), 1);
        assert_eq!(size_class(7), 1);
        assert_eq!(size_class(8), 2);
        assert_eq!(size_class(15), 2);
        assert_eq!(size_class(16), 3);
        for len in 0..200 {
            assert!(class_words(size_class(len)) > len);
        }
    }

    #[test]
    fn lists_grow_shrink_and_recycle() {
        let mut pool = ListPool::<E>::new();
        let mut a = EntityList::new();
        let mut b = EntityList::new();
        for i in 0..40 {
            a.push(E::new(i), &mut pool);
            b.push(E::new(100 + i), &mut pool);
        }
        assert_eq!(a.len(&pool), 40);
        assert_eq!(a.as_slice(&pool)[39], E::new(39));
        assert_eq!(b.as_slice(&pool)[0], E::new(100));
        a.remove(0, &mut pool);
        assert_eq!(a.as_slice(&pool)[0], E::new(1));
        a.insert(0, E::new(7), &mut pool);
        assert_eq!(a.as_slice(&pool)[0], E::new(7));
        let c = a.deep_clone(&mut pool);
        let mut r = c.deep_clone(&mut pool);
        r.retain(&mut pool, |i, e| i % 3 == 0 && e != E::new(3));
        assert_eq!(&r.as_slice(&pool)[..4], &[E::new(7), E::new(6), E::new(9), E::new(12)]);
        assert_eq!(r.len(&pool), 13);
        a.truncate(2, &mut pool);
        assert_eq!(a.as_slice(&pool), &[E::new(7), E::new(1)]);
        assert_eq!(c.len(&pool), 40);
        let words = pool.data.len();
        a.clear(&mut pool);
        let mut d = EntityList::new();
        d.push(E::new(5), &mut pool);
        assert_eq!(pool.data.len(), words, "freed block reused");
        assert_eq!(b.as_slice(&pool)[39], E::new(139));
    }

    #[test]
    fn entity_set() {
        let mut s = EntitySet::<E>::new();
        assert!(s.insert(E::new(3)));
        assert!(!s.insert(E::new(3)));
        s.insert(E::new(130));
        assert!(s.contains(E::new(130)));
        assert!(!s.contains(E::new(4)));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![E::new(3), E::new(130)]);
        s.remove(E::new(3));
        assert_eq!(s.iter().count(), 1);
    }
}

//! Tables: a vector of pointer-sized reference values (funcref: address of a `VMFuncRef`;
//! externref: payload + 1; null: 0) and the definition compiled code reads. Growing may
//! move the elements (the definition's base is updated), except for tables whose maximum
//! equals their minimum, whose elements are allocated once at their final size.

use super::vmctx::VMTableDefinition;
use crate::types::TableType;

/// Tables never grow beyond this many elements (a `table.grow` past it returns -1).
pub const MAX_TABLE_ELEMENTS: u64 = 10_000_000;

/// A table owned by a store.
pub struct TableData {
    /// What compiled code reads.
    pub def: VMTableDefinition,
    /// Its type.
    pub ty: TableType,
    elements: Vec<usize>,
}

impl TableData {
    /// A table of type `ty` with its minimum size, every element `init`.
    pub fn new(ty: TableType, init: usize) -> Result<Box<TableData>, String> {
        if ty.limits.min > MAX_TABLE_ELEMENTS {
            return Err(format!("table of {} elements is larger than this runtime supports", ty.limits.min));
        }
        let mut elements = vec![init; ty.limits.min as usize];
        let def = VMTableDefinition { base: elements.as_mut_ptr(), length: ty.limits.min };
        Ok(Box::new(TableData { def, ty, elements }))
    }

    /// The elements.
    pub fn elements(&self) -> &[usize] {
        &self.elements
    }

    /// The elements, writable.
    pub fn elements_mut(&mut self) -> &mut [usize] {
        &mut self.elements
    }

    /// Grow by `delta` elements set to `init`: the old size, or `None` if the maximum
    /// would be exceeded.
    pub fn grow(&mut self, delta: u64, init: usize) -> Option<u64> {
        let old = self.elements.len() as u64;
        let new = old.checked_add(delta)?;
        if new > self.ty.limits.max.unwrap_or(u64::MAX).min(MAX_TABLE_ELEMENTS) {
            return None;
        }
        self.elements.resize(new as usize, init);
        self.def = VMTableDefinition { base: self.elements.as_mut_ptr(), length: new };
        Some(old)
    }
}

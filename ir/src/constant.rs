//! Constant data: the bytes of `vconst`, `f128const` and `shuffle` masks, stored
//! little-endian (byte 0 = least significant byte of lane 0).

use core::fmt;

/// A byte string.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default, PartialOrd, Ord)]
pub struct ConstantData(pub Vec<u8>);

impl ConstantData {
    /// From little-endian bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        ConstantData(bytes)
    }
    /// The bytes, little-endian.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Is it empty?
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The first 16 bytes as a little-endian u128 (zero-extended).
    pub fn as_u128(&self) -> u128 {
        let mut b = [0u8; 16];
        let n = self.0.len().min(16);
        b[..n].copy_from_slice(&self.0[..n]);
        u128::from_le_bytes(b)
    }
    /// From a u128, keeping `len` bytes.
    pub fn from_u128(x: u128, len: usize) -> Self {
        ConstantData(x.to_le_bytes()[..len.min(16)].to_vec())
    }
    /// Zero-extend to `len` bytes.
    pub fn expand_to(mut self, len: usize) -> Self {
        if self.0.len() < len {
            self.0.resize(len, 0);
        }
        self
    }
}

impl fmt::Display for ConstantData {
    /// `0x` and two hex digits per byte, most significant byte first.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("0x")?;
        for b in self.0.iter().rev() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn display_is_msb_first() {
        assert_eq!(ConstantData(vec![2, 1]).to_string(), "0x0102");
        assert_eq!(ConstantData::from_u128(0x0102, 4).to_string(), "0x00000102");
    }
}

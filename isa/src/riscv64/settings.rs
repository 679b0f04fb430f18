//! riscv64 ISA settings: the target line's flags (`has_m`, `has_zbb`, `has_zca`, …,
//! REFERENCE §4.4) as typed booleans, read once when the target is created. The `has_c`
//! preset sets `has_zca` and `has_zcd`; the `zvlNb` presets set the minimum vector length.

use crate::riscv64::encode::CompressExts;

crate::isa_settings!(
    Riscv64Settings,
    "The riscv64 extensions the generated code may use.",
    has_m,
    has_a,
    has_f,
    has_d,
    has_zicsr,
    has_zifencei,
    has_zfa,
    has_zfhmin,
    has_zfh,
    has_v,
    has_zvfh,
    has_zca,
    has_zcd,
    has_zcb,
    has_zbkb,
    has_zba,
    has_zbb,
    has_zbc,
    has_zbs,
    has_zicond,
    has_zvbb,
    has_zvl32b,
    has_zvl64b,
    has_zvl128b,
    has_zvl256b,
    has_zvl512b,
    has_zvl1024b,
    has_zvl2048b,
    has_zvl4096b,
    has_zvl8192b,
    has_zvl16384b,
    has_zvl32768b,
    has_zvl65536b,
);

impl Riscv64Settings {
    /// The compressed forms emission may use.
    pub fn compress_exts(&self) -> CompressExts {
        CompressExts {
            zca: self.has_zca,
            zcd: self.has_zca && self.has_zcd && self.has_d,
            zcb: self.has_zca && self.has_zcb,
            zbb: self.has_zbb,
            zba: self.has_zba,
            m: self.has_m,
        }
    }

    /// The minimum vector register length in bits the target guarantees (0 if no `zvl*`
    /// flag is set: then V code assumes the V extension's own minimum, 128).
    pub fn min_vlen(&self) -> u32 {
        let table = [
            (self.has_zvl65536b, 65536),
            (self.has_zvl32768b, 32768),
            (self.has_zvl16384b, 16384),
            (self.has_zvl8192b, 8192),
            (self.has_zvl4096b, 4096),
            (self.has_zvl2048b, 2048),
            (self.has_zvl1024b, 1024),
            (self.has_zvl512b, 512),
            (self.has_zvl256b, 256),
            (self.has_zvl128b, 128),
            (self.has_zvl64b, 64),
            (self.has_zvl32b, 32),
        ];
        let explicit = table.iter().find(|(on, _)| *on).map_or(0, |(_, n)| *n);
        if self.has_v { explicit.max(128) } else { explicit }
    }
}

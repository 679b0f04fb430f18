//! Settings: the shared compiler flags of `set` lines and the per-target ISA flags of
//! `target` lines (REFERENCE §4.3–4.5).
//!
//! Both are table-driven: one descriptor per setting (name, kind, default) from which
//! parsing, defaults, printing and typed accessors derive. They live in `kiln-ir` because the
//! text format names them and the verifier consults some (`enable_pinned_reg`,
//! `preserve_frame_pointers`, the target's pointer width); `kiln-codegen` re-exports them.

use crate::types::{self, Type};
use core::fmt;
use core::str::FromStr;
use target_lexicon::{Architecture, Triple};

/// The kind and default of one setting.
#[derive(Copy, Clone, Debug)]
pub enum SettingKind {
    /// A boolean.
    Bool(bool),
    /// A `u8` number.
    Num(u8),
    /// One of the listed words; the default is the index.
    Enum(&'static [&'static str], u8),
}

/// A setting descriptor.
#[derive(Copy, Clone, Debug)]
pub struct Setting {
    /// Name.
    pub name: &'static str,
    /// Kind and default.
    pub kind: SettingKind,
}

/// Why a setting could not be applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetError {
    /// No such setting.
    UnknownName(String),
    /// The value does not fit the setting.
    BadValue(String),
}

impl fmt::Display for SetError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            SetError::UnknownName(n) => write!(f, "unknown setting '{n}'"),
            SetError::BadValue(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for SetError {}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" | "on" | "yes" | "1" => Some(true),
        "false" | "off" | "no" | "0" => Some(false),
        _ => None,
    }
}

fn parse_setting(desc: &Setting, value: Option<&str>) -> Result<u8, SetError> {
    match (desc.kind, value) {
        (SettingKind::Bool(_), None) => Ok(1),
        (SettingKind::Bool(_), Some(v)) => parse_bool(v)
            .map(u8::from)
            .ok_or_else(|| SetError::BadValue(format!("'{v}' is not a boolean value for {}", desc.name))),
        (SettingKind::Num(_), Some(v)) => {
            v.parse::<u8>().map_err(|_| SetError::BadValue(format!("'{v}' is not a u8 value for {}", desc.name)))
        }
        (SettingKind::Enum(words, _), Some(v)) => words
            .iter()
            .position(|w| *w == v)
            .map(|i| i as u8)
            .ok_or_else(|| SetError::BadValue(format!("'{v}' is not one of {} for {}", words.join("|"), desc.name))),
        (_, None) => Err(SetError::BadValue(format!("setting {} needs a value", desc.name))),
    }
}

fn default_of(desc: &Setting) -> u8 {
    match desc.kind {
        SettingKind::Bool(b) => b as u8,
        SettingKind::Num(n) => n,
        SettingKind::Enum(_, d) => d,
    }
}

fn write_value(f: &mut fmt::Formatter, desc: &Setting, v: u8) -> fmt::Result {
    match desc.kind {
        SettingKind::Bool(_) => write!(f, "{}={}", desc.name, v != 0),
        SettingKind::Num(_) => write!(f, "{}={}", desc.name, v),
        SettingKind::Enum(words, _) => write!(f, "{}={}", desc.name, words[v as usize]),
    }
}

macro_rules! shared_settings {
    ($($(#[$doc:meta])* $ident:ident : $kind:expr;)*) => {
        /// The shared settings, in table order.
        pub static SHARED_SETTINGS: &[Setting] = &[$(Setting { name: stringify!($ident), kind: $kind }),*];

        #[allow(non_camel_case_types, dead_code)]
        #[repr(usize)]
        enum SharedIndex { $($ident),* }

        impl Flags {
            $(
                $(#[$doc])*
                pub fn $ident(&self) -> u8 {
                    self.vals[SharedIndex::$ident as usize]
                }
            )*
        }
    };
}

const OPT_LEVELS: &[&str] = &["none", "speed", "speed_and_size"];
const REGALLOC: &[&str] = &["backtracking", "single_pass"];

shared_settings! {
    /// Optimization level (index into `none|speed|speed_and_size`); see [`Flags::opt`].
    opt_level: SettingKind::Enum(OPT_LEVELS, 0);
    /// Register allocator (`backtracking|single_pass`).
    regalloc_algorithm: SettingKind::Enum(REGALLOC, 0);
    /// TLS access model.
    tls_model: SettingKind::Enum(&["none", "elf_gd", "macho", "coff"], 0);
    /// Stack-switching model.
    stack_switch_model: SettingKind::Enum(&["none", "basic", "update_windows_tib"], 0);
    /// Calling convention of runtime-library calls.
    libcall_call_conv: SettingKind::Enum(
        &["isa_default", "fast", "system_v", "windows_fastcall", "apple_aarch64", "probestack", "preserve_all"], 0);
    /// Guard size for stack probes (log2).
    probestack_size_log2: SettingKind::Num(12);
    /// Stack-probe emission (`outline|inline`).
    probestack_strategy: SettingKind::Enum(&["outline", "inline"], 0);
    /// Debugging: padding between blocks.
    bb_padding_log2_minus_one: SettingKind::Num(0);
    /// Minimum function alignment (log2).
    log2_min_function_alignment: SettingKind::Num(0);
    /// Verify during compilation.
    enable_verifier: SettingKind::Bool(true);
    /// Redundant-load elimination.
    enable_alias_analysis: SettingKind::Bool(true);
    /// Position-independent code.
    is_pic: SettingKind::Bool(false);
    /// Runtime-library routines are near.
    use_colocated_libcalls: SettingKind::Bool(false);
    /// Canonicalize NaNs produced by float arithmetic.
    enable_nan_canonicalization: SettingKind::Bool(false);
    /// Reserve the pinned register.
    enable_pinned_reg: SettingKind::Bool(false);
    /// Follow LLVM's ABI extensions.
    enable_llvm_abi_extensions: SettingKind::Bool(false);
    /// Return extra values through an implicit return area.
    enable_multi_ret_implicit_sret: SettingKind::Bool(false);
    /// Emit unwind tables.
    unwind_info: SettingKind::Bool(true);
    /// Keep frame pointers.
    preserve_frame_pointers: SettingKind::Bool(false);
    /// Emit machine-code CFG metadata.
    machine_code_cfg_info: SettingKind::Bool(false);
    /// Emit stack probes.
    enable_probestack: SettingKind::Bool(false);
    /// Spectre mitigation for heap accesses.
    enable_heap_access_spectre_mitigation: SettingKind::Bool(true);
    /// Spectre mitigation for table accesses.
    enable_table_access_spectre_mitigation: SettingKind::Bool(true);
    /// Mach-O compact unwind.
    enable_compact_unwind_abi: SettingKind::Bool(false);
    /// Run the regalloc2 checker on every function.
    regalloc_checker: SettingKind::Bool(false);
    /// Verbose register-allocator logs.
    regalloc_verbose_logs: SettingKind::Bool(false);
    /// Incremental-compilation cache checks.
    enable_incremental_compilation_cache_checks: SettingKind::Bool(false);
}

/// Optimization level.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum OptLevel {
    /// No optimization.
    None,
    /// Optimize for speed.
    Speed,
    /// Optimize for speed and size.
    SpeedAndSize,
}

/// Register allocator.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum RegallocAlgorithm {
    /// regalloc2's backtracking allocator.
    Backtracking,
    /// regalloc2's fast single-pass allocator.
    SinglePass,
}

/// The shared settings.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Flags {
    vals: [u8; 27],
}

impl Default for Flags {
    fn default() -> Self {
        let mut vals = [0u8; 27];
        for (i, d) in SHARED_SETTINGS.iter().enumerate() {
            vals[i] = default_of(d);
        }
        Flags { vals }
    }
}

impl Flags {
    /// Default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Apply `name` (bare: enable a boolean) or `name=value`.
    pub fn set(&mut self, name: &str, value: Option<&str>) -> Result<(), SetError> {
        let i = SHARED_SETTINGS
            .iter()
            .position(|d| d.name == name)
            .ok_or_else(|| SetError::UnknownName(name.to_string()))?;
        self.vals[i] = parse_setting(&SHARED_SETTINGS[i], value)?;
        Ok(())
    }

    /// Apply a `name` or `name=value` word.
    pub fn set_word(&mut self, word: &str) -> Result<(), SetError> {
        match word.split_once('=') {
            Some((n, v)) => self.set(n, Some(v)),
            None => self.set(word, None),
        }
    }

    /// Builder-style [`Flags::set_word`].
    pub fn with(mut self, word: &str) -> Result<Self, SetError> {
        self.set_word(word)?;
        Ok(self)
    }

    /// The optimization level.
    pub fn opt(&self) -> OptLevel {
        match self.opt_level() {
            0 => OptLevel::None,
            1 => OptLevel::Speed,
            _ => OptLevel::SpeedAndSize,
        }
    }

    /// The register allocator.
    pub fn regalloc(&self) -> RegallocAlgorithm {
        if self.regalloc_algorithm() == 0 { RegallocAlgorithm::Backtracking } else { RegallocAlgorithm::SinglePass }
    }

    /// Boolean value of a named setting (for settings read by name).
    pub fn get_bool(&self, name: &str) -> Option<bool> {
        let i = SHARED_SETTINGS.iter().position(|d| d.name == name)?;
        matches!(SHARED_SETTINGS[i].kind, SettingKind::Bool(_)).then(|| self.vals[i] != 0)
    }

    /// Is `flag` (a boolean accessor's value) on?
    pub fn on(v: u8) -> bool {
        v != 0
    }
}

impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for (i, d) in SHARED_SETTINGS.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write_value(f, d, self.vals[i])?;
        }
        Ok(())
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

// ---------------------------------------------------------------------------------------
// Targets and ISA flags

/// An architecture CLIF knows about.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum Arch {
    /// x86-64.
    X86_64,
    /// AArch64.
    Aarch64,
    /// RISC-V 64 (all variants).
    Riscv64,
    /// IBM Z.
    S390x,
    /// Pulley bytecode, 32-bit little-endian.
    Pulley32,
    /// Pulley bytecode, 64-bit little-endian.
    Pulley64,
    /// Pulley bytecode, 32-bit big-endian.
    Pulley32be,
    /// Pulley bytecode, 64-bit big-endian.
    Pulley64be,
}

impl Arch {
    /// The architecture of a target triple, or `None` if CLIF has no backend for it.
    pub fn of(triple: &Triple) -> Option<Arch> {
        Some(match triple.architecture {
            Architecture::X86_64 => Arch::X86_64,
            Architecture::Aarch64(_) => Arch::Aarch64,
            Architecture::Riscv64(_) => Arch::Riscv64,
            Architecture::S390x => Arch::S390x,
            Architecture::Pulley32 => Arch::Pulley32,
            Architecture::Pulley64 => Arch::Pulley64,
            Architecture::Pulley32be => Arch::Pulley32be,
            Architecture::Pulley64be => Arch::Pulley64be,
            _ => return None,
        })
    }

    /// The pointer type.
    pub fn pointer_type(self) -> Type {
        match self {
            Arch::Pulley32 | Arch::Pulley32be => types::I32,
            _ => types::I64,
        }
    }

    /// Is the target big-endian?
    pub fn is_big_endian(self) -> bool {
        matches!(self, Arch::S390x | Arch::Pulley32be | Arch::Pulley64be)
    }

    /// The ISA flag table of this architecture.
    pub fn isa_table(self) -> &'static IsaTable {
        match self {
            Arch::X86_64 => &X86_TABLE,
            Arch::Aarch64 => &AARCH64_TABLE,
            Arch::Riscv64 => &RISCV64_TABLE,
            Arch::S390x => &S390X_TABLE,
            _ => &PULLEY_TABLE,
        }
    }
}

/// The ISA flags and presets of one architecture.
#[derive(Debug)]
pub struct IsaTable {
    /// `(name, default)` of each boolean flag.
    pub flags: &'static [(&'static str, bool)],
    /// `(preset, flags it enables)`; a preset may name other presets.
    pub presets: &'static [(&'static str, &'static [&'static str])],
}

static X86_TABLE: IsaTable = IsaTable {
    flags: &[
        ("has_sse3", false),
        ("has_ssse3", false),
        ("has_cmpxchg16b", false),
        ("has_sse41", false),
        ("has_sse42", false),
        ("has_avx", false),
        ("has_avx2", false),
        ("has_fma", false),
        ("has_avx_vnni", false),
        ("has_avx512bitalg", false),
        ("has_avx512dq", false),
        ("has_avx512vl", false),
        ("has_avx512vbmi", false),
        ("has_avx512f", false),
        ("has_avx512vnni", false),
        ("has_popcnt", false),
        ("has_bmi1", false),
        ("has_bmi2", false),
        ("has_lzcnt", false),
    ],
    presets: &[
        ("baseline", &[]),
        ("x86-64", &[]),
        ("opteron", &[]),
        ("k8", &[]),
        ("athlon64", &[]),
        ("athlon-fx", &[]),
        ("sse3", &["has_sse3"]),
        ("ssse3", &["sse3", "has_ssse3"]),
        ("sse41", &["ssse3", "has_sse41"]),
        ("sse42", &["sse41", "has_sse42"]),
        ("nocona", &["has_sse3", "has_cmpxchg16b"]),
        ("core2", &["has_sse3", "has_cmpxchg16b"]),
        ("opteron-sse3", &["has_sse3", "has_cmpxchg16b"]),
        ("k8-sse3", &["has_sse3", "has_cmpxchg16b"]),
        ("athlon64-sse3", &["has_sse3", "has_cmpxchg16b"]),
        ("penryn", &["has_sse3", "has_ssse3", "has_sse41", "has_cmpxchg16b"]),
        ("atom", &["has_sse3", "has_ssse3", "has_cmpxchg16b"]),
        ("bonnell", &["has_sse3", "has_ssse3", "has_cmpxchg16b"]),
        ("x86-64-v2", &["has_sse3", "has_ssse3", "has_sse41", "has_sse42", "has_popcnt", "has_cmpxchg16b"]),
        ("silvermont", &["x86-64-v2"]),
        ("slm", &["x86-64-v2"]),
        ("goldmont", &["x86-64-v2"]),
        ("goldmont-plus", &["x86-64-v2"]),
        ("tremont", &["x86-64-v2"]),
        ("nehalem", &["x86-64-v2"]),
        ("corei7", &["x86-64-v2"]),
        ("westmere", &["x86-64-v2"]),
        ("sandybridge", &["x86-64-v2", "has_avx"]),
        ("corei7-avx", &["x86-64-v2", "has_avx"]),
        ("ivybridge", &["x86-64-v2", "has_avx"]),
        ("core-avx-i", &["x86-64-v2", "has_avx"]),
        ("haswell", &["x86-64-v2", "has_avx", "has_avx2", "has_bmi1", "has_bmi2", "has_fma", "has_lzcnt"]),
        ("core-avx2", &["haswell"]),
        ("broadwell", &["haswell"]),
        ("skylake", &["haswell"]),
        ("x86-64-v3", &["x86-64-v2", "has_bmi1", "has_bmi2", "has_fma", "has_lzcnt", "has_avx2"]),
        ("x86-64-v4", &["x86-64-v3", "has_avx512dq", "has_avx512vl"]),
        ("alderlake", &["x86-64-v2", "has_bmi1", "has_bmi2", "has_lzcnt", "has_fma", "has_avx_vnni"]),
        ("sierraforest", &["alderlake"]),
        ("grandridge", &["alderlake"]),
        ("raptorlake", &["alderlake"]),
        ("meteorlake", &["alderlake"]),
        ("knl", &["has_popcnt", "has_avx512f", "has_fma", "has_bmi1", "has_bmi2", "has_lzcnt", "has_cmpxchg16b"]),
        ("knm", &["knl"]),
        ("skylake-avx512", &["haswell", "has_avx512f", "has_avx512dq", "has_avx512vl"]),
        ("skx", &["skylake-avx512"]),
        ("cascadelake", &["skx", "has_avx512vnni"]),
        ("cooperlake", &["cascadelake"]),
        ("cannonlake", &["skx", "has_avx512vbmi"]),
        ("icelake-client", &["skx", "has_avx512vbmi", "has_avx512bitalg", "has_avx512vnni"]),
        ("icelake", &["icelake-client"]),
        ("icelake-server", &["icelake-client"]),
        ("tigerlake", &["icelake-client"]),
        ("sapphirerapids", &["icelake-client"]),
        ("graniterapids", &["icelake-client"]),
        ("barcelona", &["has_popcnt", "has_lzcnt", "has_cmpxchg16b"]),
        ("amdfam10", &["barcelona"]),
        ("btver1", &["has_sse3", "has_ssse3", "has_lzcnt", "has_popcnt", "has_cmpxchg16b"]),
        ("btver2", &["btver1", "has_avx", "has_bmi1"]),
        ("bdver1", &["has_lzcnt", "has_popcnt", "has_sse3", "has_ssse3", "has_cmpxchg16b"]),
        ("bdver2", &["bdver1", "has_bmi1"]),
        ("bdver3", &["bdver2"]),
        ("bdver4", &["bdver2", "has_avx2", "has_bmi2"]),
        (
            "znver1",
            &[
                "has_sse3",
                "has_ssse3",
                "has_sse41",
                "has_sse42",
                "has_popcnt",
                "has_bmi1",
                "has_bmi2",
                "has_lzcnt",
                "has_fma",
                "has_cmpxchg16b",
            ],
        ),
        ("znver2", &["znver1"]),
        ("znver3", &["znver1"]),
        ("znver4", &["znver1", "has_avx512bitalg", "has_avx512dq", "has_avx512f", "has_avx512vbmi", "has_avx512vl"]),
    ],
};

static AARCH64_TABLE: IsaTable = IsaTable {
    flags: &[
        ("has_lse", false),
        ("has_pauth", false),
        ("has_fp16", false),
        ("has_dotprod", false),
        ("has_i8mm", false),
        ("sign_return_address", false),
        ("sign_return_address_all", false),
        ("sign_return_address_with_bkey", false),
        ("use_bti", false),
        ("use_csdb", false),
    ],
    presets: &[],
};

static RISCV64_TABLE: IsaTable = IsaTable {
    flags: &[
        ("has_m", true),
        ("has_a", true),
        ("has_f", true),
        ("has_d", true),
        ("has_zicsr", true),
        ("has_zifencei", true),
        ("has_zfa", false),
        ("has_zfhmin", false),
        ("has_zfh", false),
        ("has_v", false),
        ("has_zvfh", false),
        ("has_zca", false),
        ("has_zcd", false),
        ("has_zcb", false),
        ("has_zbkb", false),
        ("has_zba", false),
        ("has_zbb", false),
        ("has_zbc", false),
        ("has_zbs", false),
        ("has_zicond", false),
        ("has_zvbb", false),
        ("has_zvl32b", false),
        ("has_zvl64b", false),
        ("has_zvl128b", false),
        ("has_zvl256b", false),
        ("has_zvl512b", false),
        ("has_zvl1024b", false),
        ("has_zvl2048b", false),
        ("has_zvl4096b", false),
        ("has_zvl8192b", false),
        ("has_zvl16384b", false),
        ("has_zvl32768b", false),
        ("has_zvl65536b", false),
    ],
    presets: &[
        ("has_c", &["has_zca", "has_zcd"]),
        ("zvl32b", &["has_zvl32b"]),
        ("zvl64b", &["zvl32b", "has_zvl64b"]),
        ("zvl128b", &["zvl64b", "has_zvl128b"]),
        ("zvl256b", &["zvl128b", "has_zvl256b"]),
        ("zvl512b", &["zvl256b", "has_zvl512b"]),
        ("zvl1024b", &["zvl512b", "has_zvl1024b"]),
        ("zvl2048b", &["zvl1024b", "has_zvl2048b"]),
        ("zvl4096b", &["zvl2048b", "has_zvl4096b"]),
        ("zvl8192b", &["zvl4096b", "has_zvl8192b"]),
        ("zvl16384b", &["zvl8192b", "has_zvl16384b"]),
        ("zvl32768b", &["zvl16384b", "has_zvl32768b"]),
        ("zvl65536b", &["zvl32768b", "has_zvl65536b"]),
    ],
};

static S390X_TABLE: IsaTable = IsaTable {
    flags: &[("has_mie3", false), ("has_vxrs_ext2", false), ("has_mie4", false), ("has_vxrs_ext3", false)],
    presets: &[
        ("arch13", &["has_mie3", "has_vxrs_ext2"]),
        ("arch14", &["has_mie3", "has_vxrs_ext2"]),
        ("z15", &["has_mie3", "has_vxrs_ext2"]),
        ("z16", &["has_mie3", "has_vxrs_ext2"]),
        ("arch15", &["has_mie3", "has_vxrs_ext2", "has_mie4", "has_vxrs_ext3"]),
        ("z17", &["arch15"]),
    ],
};

static PULLEY_TABLE: IsaTable = IsaTable { flags: &[], presets: &[] };

/// The ISA flag values of one target (up to 64 boolean flags).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct IsaFlags {
    arch: Arch,
    bits: u64,
    /// Flags written explicitly on the target line (as opposed to defaults).
    explicit: u64,
}

impl IsaFlags {
    /// The defaults of `arch`.
    pub fn new(arch: Arch) -> Self {
        let t = arch.isa_table();
        let mut bits = 0;
        for (i, (_, d)) in t.flags.iter().enumerate() {
            if *d {
                bits |= 1 << i;
            }
        }
        IsaFlags { arch, bits, explicit: 0 }
    }

    /// The architecture.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.arch.isa_table().flags.iter().position(|(n, _)| *n == name)
    }

    /// The value of flag `name`, if the architecture has it.
    pub fn get(&self, name: &str) -> Option<bool> {
        self.index(name).map(|i| self.bits & (1 << i) != 0)
    }

    /// Is flag `name` set (false if unknown)?
    pub fn has(&self, name: &str) -> bool {
        self.get(name) == Some(true)
    }

    /// Apply a word of a `target` line: a flag (`has_avx`), `flag=bool`, or a preset.
    pub fn set_word(&mut self, word: &str) -> Result<(), SetError> {
        self.set_word_depth(word, 0)
    }

    fn set_word_depth(&mut self, word: &str, depth: u32) -> Result<(), SetError> {
        let (name, value) = match word.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (word, None),
        };
        if let Some(i) = self.index(name) {
            let on = match value {
                None => true,
                Some(v) => parse_bool(v)
                    .ok_or_else(|| SetError::BadValue(format!("'{v}' is not a boolean value for {name}")))?,
            };
            if on {
                self.bits |= 1 << i;
            } else {
                self.bits &= !(1 << i);
            }
            self.explicit |= 1 << i;
            return Ok(());
        }
        if value.is_none()
            && depth < 8
            && let Some((_, members)) = self.arch.isa_table().presets.iter().find(|(p, _)| *p == name)
        {
            for m in *members {
                self.set_word_depth(m, depth + 1)?;
            }
            return Ok(());
        }
        Err(SetError::UnknownName(name.to_string()))
    }

    /// The names of every flag that is on.
    pub fn enabled(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.arch.isa_table().flags.iter().enumerate().filter(|(i, _)| self.bits & (1 << i) != 0).map(|(_, (n, _))| *n)
    }
}

impl fmt::Display for IsaFlags {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let mut first = true;
        for n in self.enabled() {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            f.write_str(n)?;
        }
        Ok(())
    }
}

/// A parsed `target` line: the triple and its ISA flags.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TargetSpec {
    /// The full triple.
    pub triple: Triple,
    /// The ISA flags.
    pub isa_flags: IsaFlags,
}

/// Why a `target` line was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetError {
    /// The triple does not parse.
    BadTriple(String),
    /// The architecture has no backend in CLIF (the file is skipped, not failed).
    NoBackend(String),
    /// A bad ISA flag.
    Flag(SetError),
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            TargetError::BadTriple(t) => write!(f, "invalid target triple '{t}'"),
            TargetError::NoBackend(t) => write!(f, "unsupported target architecture '{t}'"),
            TargetError::Flag(e) => e.fmt(f),
        }
    }
}

impl TargetSpec {
    /// Parse a triple and its option words.
    pub fn parse(triple: &str, words: &[&str]) -> Result<TargetSpec, TargetError> {
        let t = Triple::from_str(triple).map_err(|_| TargetError::BadTriple(triple.to_string()))?;
        let arch = Arch::of(&t).ok_or_else(|| TargetError::NoBackend(triple.to_string()))?;
        let mut isa_flags = IsaFlags::new(arch);
        for w in words {
            isa_flags.set_word(w).map_err(TargetError::Flag)?;
        }
        Ok(TargetSpec { triple: t, isa_flags })
    }

    /// The architecture.
    pub fn arch(&self) -> Arch {
        self.isa_flags.arch
    }

    /// The pointer type.
    pub fn pointer_type(&self) -> Type {
        self.arch().pointer_type()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_flags() {
        let mut f = Flags::new();
        assert_eq!(f.opt(), OptLevel::None);
        assert!(Flags::on(f.enable_verifier()));
        f.set_word("opt_level=speed").unwrap();
        f.set_word("enable_pinned_reg").unwrap();
        f.set_word("probestack_size_log2=16").unwrap();
        f.set_word("is_pic=off").unwrap();
        assert_eq!(f.opt(), OptLevel::Speed);
        assert!(Flags::on(f.enable_pinned_reg()));
        assert_eq!(f.probestack_size_log2(), 16);
        assert!(f.set_word("opt_level=best").is_err());
        assert!(f.set_word("no_such").is_err());
        assert!(f.set_word("opt_level").is_err());
        assert!(f.set_word("probestack_size_log2=300").is_err());
        assert_eq!(SHARED_SETTINGS.len(), 27);
    }

    #[test]
    fn isa_flags_and_presets() {
        let t = TargetSpec::parse("x86_64", &["haswell"]).unwrap();
        assert!(t.isa_flags.has("has_avx2"));
        assert!(t.isa_flags.has("has_sse41"));
        assert!(!t.isa_flags.has("has_avx512f"));
        let r = TargetSpec::parse("riscv64gc", &["has_c", "has_m=false"]).unwrap();
        assert_eq!(r.arch(), Arch::Riscv64);
        assert!(r.isa_flags.has("has_zcd"));
        assert!(!r.isa_flags.has("has_m"));
        assert!(r.isa_flags.has("has_d"));
        assert!(matches!(TargetSpec::parse("i686", &[]), Err(TargetError::NoBackend(_))));
        assert!(matches!(TargetSpec::parse("x86_64", &["has_neon"]), Err(TargetError::Flag(_))));
        assert_eq!(TargetSpec::parse("pulley32", &[]).unwrap().pointer_type(), types::I32);
    }
}

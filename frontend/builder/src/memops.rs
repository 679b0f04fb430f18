//! Memory helpers: `memcpy`, `memmove` and `memset` as calls to the runtime-library
//! routines (`%Memcpy`, `%Memmove`, `%Memset`), inlined as loads and stores when the size is
//! a small constant.
//!
//! Inlining uses the widest integer accesses (up to the pointer width) that fit the
//! remaining size; the accesses are unaligned unless the caller promises alignment. A
//! `memmove` loads every chunk before storing any, so overlapping buffers are handled. The
//! library routines are imported once per function (their `FuncRef`s are cached by name).

use crate::FunctionBuilder;
use kiln_ir::extname::{ExtFuncData, ExternalName, LibCall};
use kiln_ir::memflags::MemFlags;
use kiln_ir::signature::{AbiParam, CallConv, Signature};
use kiln_ir::types::{self, Type};
use kiln_ir::{FuncRef, InstBuilder, Value};

/// What the frontend needs to know about the target.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TargetFrontendConfig {
    /// The pointer type (`i64` on 64-bit targets).
    pub pointer_type: Type,
    /// The calling convention of the runtime-library routines.
    pub default_call_conv: CallConv,
}

impl TargetFrontendConfig {
    /// A 64-bit System V target (x86-64 Linux, the usual host).
    pub fn system_v_64() -> Self {
        TargetFrontendConfig { pointer_type: types::I64, default_call_conv: CallConv::SystemV }
    }
}

/// Inline copies and fills of at most this many bytes.
const INLINE_LIMIT: u64 = 64;

impl FunctionBuilder<'_> {
    /// Import `lib` with the signature `(params) -> ret`, once per function.
    fn libcall(&mut self, lib: LibCall, params: &[Type], ret: Option<Type>, config: TargetFrontendConfig) -> FuncRef {
        let name = ExternalName::LibCall(lib);
        if let Some((f, _)) = self.func.dfg.ext_funcs.iter().find(|(_, d)| d.name == name) {
            return f;
        }
        let mut sig = Signature::new(config.default_call_conv);
        sig.params.extend(params.iter().map(|&t| AbiParam::new(t)));
        sig.returns.extend(ret.map(AbiParam::new));
        let signature = self.import_signature(sig);
        self.import_function(ExtFuncData { name, signature, colocated: false, patchable: false })
    }

    /// Convert an integer `v` to type `ty` (extend or reduce as needed).
    fn int_as(&mut self, v: Value, ty: Type) -> Value {
        let vt = self.func.dfg.value_type(v);
        if vt == ty || !vt.is_int() {
            v
        } else if vt.bits() < ty.bits() {
            self.ins().uextend(ty, v)
        } else {
            self.ins().ireduce(ty, v)
        }
    }

    /// Copy `size` bytes from `src` to `dest` (which must not overlap). Inlined when `size`
    /// is a constant of at most 64 bytes, else a call of `%Memcpy`.
    pub fn call_memcpy(&mut self, config: TargetFrontendConfig, dest: Value, src: Value, size: Value) {
        match self.small_const(size) {
            Some(n) => self.emit_small_memory_copy(config, dest, src, n, 1, 1, true, MemFlags::new()),
            None => self.call_copy(LibCall::Memcpy, config, dest, src, size),
        }
    }

    /// Copy `size` bytes from `src` to `dest`, which may overlap. Inlined when `size` is a
    /// constant of at most 64 bytes, else a call of `%Memmove`.
    pub fn call_memmove(&mut self, config: TargetFrontendConfig, dest: Value, src: Value, size: Value) {
        match self.small_const(size) {
            Some(n) => self.emit_small_memory_copy(config, dest, src, n, 1, 1, false, MemFlags::new()),
            None => self.call_copy(LibCall::Memmove, config, dest, src, size),
        }
    }

    /// Fill `size` bytes at `buffer` with the low byte of `ch`. Inlined when `size` is a
    /// constant of at most 64 bytes, else a call of `%Memset`.
    pub fn call_memset(&mut self, config: TargetFrontendConfig, buffer: Value, ch: Value, size: Value) {
        if let Some(n) = self.small_const(size) {
            if let Some(c) = self.func.dfg.iconst_value(ch) {
                return self.emit_small_memset(config, buffer, c as u8, n, 1, MemFlags::new());
            }
            return self.emit_small_memset_value(config, buffer, ch, n, MemFlags::new());
        }
        let ptr = config.pointer_type;
        let f = self.libcall(LibCall::Memset, &[ptr, types::I32, ptr], Some(ptr), config);
        let ch = self.int_as(ch, types::I32);
        let size = self.int_as(size, ptr);
        self.ins().call(f, &[buffer, ch, size]);
    }

    fn call_copy(&mut self, lib: LibCall, config: TargetFrontendConfig, dest: Value, src: Value, size: Value) {
        let ptr = config.pointer_type;
        let f = self.libcall(lib, &[ptr, ptr, ptr], Some(ptr), config);
        let size = self.int_as(size, ptr);
        self.ins().call(f, &[dest, src, size]);
    }

    fn small_const(&self, size: Value) -> Option<u64> {
        let n = self.func.dfg.iconst_value(size)?;
        (0..=INLINE_LIMIT as i64).contains(&n).then_some(n as u64)
    }

    /// The chunks (offset, type) covering `size` bytes with accesses of at most
    /// `max_bytes` bytes.
    fn chunks(size: u64, max_bytes: u64) -> impl Iterator<Item = (u64, Type)> {
        let mut off = 0u64;
        core::iter::from_fn(move || {
            if off >= size {
                return None;
            }
            let mut w = max_bytes;
            while w > size - off {
                w /= 2;
            }
            let ty = Type::int((w * 8) as u32).unwrap_or(types::I8);
            let r = (off, ty);
            off += w;
            Some(r)
        })
    }

    fn access_width(config: TargetFrontendConfig, align: u8) -> u64 {
        let _ = align; // Unaligned accesses are allowed; alignment only sets the `aligned` flag.
        u64::from(config.pointer_type.bytes()).max(1)
    }

    /// Copy `size` bytes (a constant) from `src` to `dest`: inline loads and stores when
    /// `size` is at most 64 bytes, else a call. `dest_align` and `src_align` are the
    /// alignments the caller guarantees; `non_overlapping` allows storing each chunk right
    /// after loading it.
    #[allow(clippy::too_many_arguments)]
    pub fn emit_small_memory_copy(
        &mut self,
        config: TargetFrontendConfig,
        dest: Value,
        src: Value,
        size: u64,
        dest_align: u8,
        src_align: u8,
        non_overlapping: bool,
        flags: MemFlags,
    ) {
        if size > INLINE_LIMIT {
            let n = self.ins().iconst(config.pointer_type, size as i64);
            let lib = if non_overlapping { LibCall::Memcpy } else { LibCall::Memmove };
            return self.call_copy(lib, config, dest, src, n);
        }
        let w = Self::access_width(config, dest_align.min(src_align));
        let aligned =
            |a: u8, off: u64, ty: Type| a as u64 >= ty.bytes() as u64 && off.is_multiple_of(ty.bytes() as u64);
        if non_overlapping {
            for (off, ty) in Self::chunks(size, w) {
                let lf = if aligned(src_align, off, ty) { flags.with_aligned() } else { flags };
                let sf = if aligned(dest_align, off, ty) { flags.with_aligned() } else { flags };
                let v = self.ins().load(ty, lf, src, off as i32);
                self.ins().store(sf, v, dest, off as i32);
            }
        } else {
            let mut loaded: Vec<(u64, Type, Value)> = Vec::with_capacity(8);
            for (off, ty) in Self::chunks(size, w) {
                let lf = if aligned(src_align, off, ty) { flags.with_aligned() } else { flags };
                let v = self.ins().load(ty, lf, src, off as i32);
                loaded.push((off, ty, v));
            }
            for (off, ty, v) in loaded {
                let sf = if aligned(dest_align, off, ty) { flags.with_aligned() } else { flags };
                self.ins().store(sf, v, dest, off as i32);
            }
        }
    }

    /// Fill `size` bytes (a constant) at `buffer` with `ch`: inline stores when `size` is at
    /// most 64 bytes, else a call. `buffer_align` is the alignment the caller guarantees.
    pub fn emit_small_memset(
        &mut self,
        config: TargetFrontendConfig,
        buffer: Value,
        ch: u8,
        size: u64,
        buffer_align: u8,
        flags: MemFlags,
    ) {
        if size > INLINE_LIMIT {
            let ptr = config.pointer_type;
            let f = self.libcall(LibCall::Memset, &[ptr, types::I32, ptr], Some(ptr), config);
            let c = self.ins().iconst(types::I32, ch as i64);
            let n = self.ins().iconst(ptr, size as i64);
            self.ins().call(f, &[buffer, c, n]);
            return;
        }
        let w = Self::access_width(config, buffer_align);
        for (off, ty) in Self::chunks(size, w) {
            let pattern = (u64::from(ch)).wrapping_mul(0x0101_0101_0101_0101) as i64;
            let v = self.ins().iconst(ty, pattern);
            let f = if buffer_align as u64 >= ty.bytes() as u64 && off % ty.bytes() as u64 == 0 {
                flags.with_aligned()
            } else {
                flags
            };
            self.ins().store(f, v, buffer, off as i32);
        }
    }

    /// Fill with a byte known only at run time: the pattern is the byte times 0x0101….
    fn emit_small_memset_value(
        &mut self,
        config: TargetFrontendConfig,
        buffer: Value,
        ch: Value,
        size: u64,
        flags: MemFlags,
    ) {
        let w = Self::access_width(config, 1);
        let wide = Type::int((w * 8) as u32).unwrap_or(types::I64);
        let byte = self.int_as(ch, types::I8);
        let b = self.ins().uextend(wide, byte);
        let ones = self.ins().iconst(wide, 0x0101_0101_0101_0101u64 as i64);
        let pattern = self.ins().imul(b, ones);
        for (off, ty) in Self::chunks(size, w) {
            let v = if ty == wide { pattern } else { self.ins().ireduce(ty, pattern) };
            self.ins().store(flags, v, buffer, off as i32);
        }
    }
}

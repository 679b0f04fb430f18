//! The builder's helpers: `Switch` (jump tables and branch trees, for several key types)
//! and the memcpy/memset/memmove helpers (inlined and called), checked with the interpreter
//! and the JIT.

mod common;

use common::{build_single_block, check_all, new_func, sig_i64};
use kiln_frontend::{FunctionBuilder, FunctionBuilderContext, Switch, TargetFrontendConfig};
use kiln_ir::function::StackSlotData;
use kiln_ir::memflags::MemFlags;
use kiln_ir::types::{I8, I16, I32, I64, Type};
use kiln_ir::{Function, InstBuilder};

/// `f(x)`: switch on `x` (reduced to `ty`) over `keys`; case k returns its index, the
/// default returns -1.
fn switch_fn(ty: Type, keys: &[u128]) -> Function {
    let mut f = new_func("sw", sig_i64(1, 1));
    let mut ctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut f, &mut ctx);
    let e = b.create_block();
    b.append_block_params_for_function_params(e);
    b.switch_to_block(e);
    b.seal_block(e);
    let x = b.block_params(e)[0];
    let v = if ty == I64 { x } else { b.ins().ireduce(ty, x) };
    let mut sw = Switch::new();
    let mut cases = Vec::new();
    for (i, &k) in keys.iter().enumerate() {
        let blk = b.create_block();
        assert_eq!(sw.set_entry(k, blk), None);
        cases.push((i, blk));
    }
    let default = b.create_block();
    sw.emit(&mut b, v, default);
    for (i, blk) in cases {
        b.switch_to_block(blk);
        b.seal_block(blk);
        let r = b.ins().iconst(I64, i as i64);
        b.ins().return_(&[r]);
    }
    b.switch_to_block(default);
    b.seal_block(default);
    let r = b.ins().iconst(I64, -1);
    b.ins().return_(&[r]);
    b.finalize().unwrap_or_else(|e| panic!("{e}"));
    f
}

fn check_switch(ty: Type, keys: &[u128], probes: &[i64]) {
    let f = switch_fn(ty, keys);
    let mask: u128 = if ty.bits() >= 64 { u64::MAX as u128 } else { (1u128 << ty.bits()) - 1 };
    let inputs: Vec<Vec<i64>> = probes.iter().map(|&p| vec![p]).collect();
    check_all(&[f], 0, &inputs, |a| {
        let x = (a[0] as u64 as u128) & mask;
        vec![keys.iter().position(|&k| k == x).map_or(-1, |i| i as i64)]
    });
}

fn probes_around(keys: &[u128]) -> Vec<i64> {
    let mut p: Vec<i64> = keys.iter().flat_map(|&k| [k as i64 - 1, k as i64, k as i64 + 1]).collect();
    p.extend([0, -1, i64::MIN, i64::MAX, 1 << 40, 255, 256, 65535]);
    p
}

#[test]
fn switch_dense_uses_a_jump_table() {
    let keys: Vec<u128> = (10..30).filter(|k| k % 7 != 0).collect();
    let f = switch_fn(I64, &keys);
    assert!(f.to_string().contains("br_table"), "{f}");
    check_switch(I64, &keys, &probes_around(&keys));
    check_switch(I32, &keys, &probes_around(&keys));
    check_switch(I8, &keys, &probes_around(&keys));
}

#[test]
fn switch_sparse_uses_a_branch_tree() {
    let keys: Vec<u128> = vec![3, 1000, 77, 1 << 20, 5_000_000_000, 42, 9, 123_456];
    let f = switch_fn(I64, &keys);
    assert!(!f.to_string().contains("br_table"), "{f}");
    check_switch(I64, &keys, &probes_around(&keys));
}

#[test]
fn switch_mixed_and_edge_cases() {
    // Two dense runs and scattered keys, including 0 and the type's maximum.
    let mut keys: Vec<u128> = (0..8).collect();
    keys.extend((200..215).map(|k| k as u128));
    keys.extend([1000, 4096, 65535]);
    check_switch(I16, &keys, &probes_around(&keys));
    check_switch(I64, &[], &[0, 1, -1]);
    check_switch(I64, &[5], &[4, 5, 6]);
    check_switch(I8, &[255, 0, 128], &[255, 0, 128, 127, 1, -1]);
}

#[test]
fn switch_key_too_wide_is_an_error() {
    let mut f = new_func("sw", sig_i64(1, 1));
    let mut ctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut f, &mut ctx);
    let e = b.create_block();
    b.append_block_params_for_function_params(e);
    b.switch_to_block(e);
    b.seal_block(e);
    let x = b.block_params(e)[0];
    let v = b.ins().ireduce(I8, x);
    let (t, d) = (b.create_block(), b.create_block());
    let mut sw = Switch::new();
    sw.set_entry(300, t);
    sw.emit(&mut b, v, d);
    for blk in [t, d] {
        b.switch_to_block(blk);
        b.seal_block(blk);
        b.ins().return_(&[x]);
    }
    let err = b.finalize().unwrap_err();
    assert!(err.to_string().contains("does not fit in i8"), "{err}");
}

/// Copy/fill a 64-byte stack buffer with the memory helpers, then return a checksum of
/// its bytes. `size` is either a constant (inlined) or the function argument (a call).
fn mem_fn(op: &str, size: Option<i64>) -> Function {
    let mut f = new_func("mem", sig_i64(1, 1));
    let mut ctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut f, &mut ctx);
    let config = TargetFrontendConfig::system_v_64();
    let e = b.create_block();
    b.append_block_params_for_function_params(e);
    b.switch_to_block(e);
    b.seal_block(e);
    let arg = b.block_params(e)[0];
    let slot = b.create_sized_stack_slot(StackSlotData::new(80, 3));
    let base = b.ins().stack_addr(I64, slot, 0);
    let flags = MemFlags::trusted();
    // Fill with a pattern: byte i = i * 7 + 1.
    for i in 0..10 {
        let mut word = 0u64;
        for k in 0..8 {
            word |= (((i * 8 + k) * 7 + 1) as u8 as u64) << (8 * k);
        }
        let w = b.ins().iconst(I64, word as i64);
        b.ins().store(flags, w, base, i * 8);
    }
    let size = match size {
        Some(n) => b.ins().iconst(I64, n),
        None => arg,
    };
    let src = add_imm(&mut b, base, 3);
    let dst = add_imm(&mut b, base, 8);
    match op {
        "memcpy" => {
            let far = add_imm(&mut b, base, 40);
            b.call_memcpy(config, base, far, size)
        }
        "memmove" => b.call_memmove(config, dst, src, size),
        _ => {
            let ch = b.ins().iconst(I32, 0xab);
            b.call_memset(config, src, ch, size)
        }
    }
    // Checksum: fold the 10 words.
    let mut acc = b.ins().iconst(I64, 0);
    for i in 0..10 {
        let w = b.ins().load(I64, flags, base, i * 8);
        let k = b.ins().iconst(I64, 31);
        let m = b.ins().imul(acc, k);
        acc = b.ins().bxor(m, w);
    }
    b.ins().return_(&[acc]);
    b.finalize().unwrap_or_else(|e| panic!("{e}"));
    f
}

fn add_imm(b: &mut FunctionBuilder, x: kiln_ir::Value, n: i64) -> kiln_ir::Value {
    let c = b.ins().iconst(I64, n);
    b.ins().iadd(x, c)
}

fn mem_model(op: &str, size: usize) -> i64 {
    let mut buf: Vec<u8> = (0..80).map(|i| (i * 7 + 1) as u8).collect();
    match op {
        "memcpy" => {
            let src: Vec<u8> = buf[40..40 + size].to_vec();
            buf[..size].copy_from_slice(&src);
        }
        "memmove" => buf.copy_within(3..3 + size, 8),
        _ => buf[3..3 + size].fill(0xab),
    }
    let mut acc = 0i64;
    for i in 0..10 {
        let w = i64::from_le_bytes(buf[i * 8..i * 8 + 8].try_into().unwrap());
        acc = acc.wrapping_mul(31) ^ w;
    }
    acc
}

#[test]
fn memory_helpers_inline_and_call() {
    for op in ["memcpy", "memmove", "memset"] {
        for size in [0i64, 1, 7, 13, 31, 40] {
            let inlined = mem_fn(op, Some(size));
            let text = inlined.to_string();
            assert!(!text.contains("call fn"), "{op} of {size} bytes should be inlined:\n{text}");
            check_all(&[inlined], 0, &[vec![0]], |_| vec![mem_model(op, size as usize)]);
            let called = mem_fn(op, None);
            assert!(called.to_string().contains("call fn0"), "{called}");
            check_all(&[called], 0, &[vec![size]], |_| vec![mem_model(op, size as usize)]);
        }
    }
}

#[test]
fn small_types_and_constants() {
    // iconst accepts negative values for narrow types (they are stored zero-extended).
    let mut f = new_func("narrow", sig_i64(1, 1));
    build_single_block(&mut f, |b, p| {
        let m = b.ins().iconst(I16, -2);
        let r = b.ins().ireduce(I16, p[0]);
        let s = b.ins().iadd(r, m);
        b.ins().sextend(I64, s)
    });
    check_all(&[f], 0, &[vec![5], vec![1], vec![0x12345]], |a| vec![((a[0] as i16).wrapping_sub(2)) as i64]);
}

#[test]
fn source_locations_stack_slots_and_imports() {
    use kiln_ir::function::SourceLoc;
    let mut f = new_func("locs", sig_i64(1, 1));
    build_single_block(&mut f, |b, params| {
        b.set_srcloc(SourceLoc(0x42));
        let slot = b.create_sized_stack_slot(StackSlotData::new(8, 3));
        let p0 = b.ins().stack_addr(I64, slot, 0);
        b.ins().store(MemFlags::trusted(), params[0], p0, 0);
        b.set_srcloc(SourceLoc(0x43));
        let p = b.ins().stack_addr(I64, slot, 0);
        let v = b.ins().load(I64, MemFlags::trusted(), p, 0);
        b.set_srcloc(SourceLoc::default());
        v
    });
    let text = f.to_string();
    assert!(text.contains("@0042") && text.contains("@0043"), "{text}");
    check_all(&[f], 0, &[vec![5], vec![-9]], |a| vec![a[0]]);
}

//! The random function generator: `arbitrary` bytes in, a valid, terminating [`Program`] out.
//!
//! Structure of a generated program:
//! - up to `max_funcs` functions; function `i` calls only functions `j > i` (no recursion);
//!   a `tail` function may end a block with `return_call`/`return_call_indirect` of a later
//!   `tail` function with the same return types (some signatures copy an earlier one's
//!   returns to make that possible);
//! - each function has stack slots, initialised by stores at the top of the entry block
//!   (so every load reads defined bytes — compiled code does not zero its frame);
//! - blocks after the entry take a loop counter `ctr: i32` as their first parameter and
//!   random further parameters. Forward branches pass the counter unchanged; a branch to an
//!   earlier block (a loop) is guarded by `ctr != 0` and passes `ctr - 1`, so at most
//!   `ctr₀ ≤ max_loop` back edges are taken per call and every call terminates;
//! - an instruction uses values of the entry block (which dominate everything) and of its
//!   own block; cross-block data flows through block parameters;
//! - memory accesses address stack slots only, in bounds (constant offsets, `iadd`ed bases,
//!   masked dynamic indices), with `aligned` only where the address is aligned; atomics are
//!   always naturally aligned. Addresses never flow into arithmetic (their values differ
//!   between the interpreter and compiled code);
//! - traps arise naturally (division, conversions, `trapz`/`trapnz`, `uadd_overflow_trap`,
//!   rare unconditional `trap` terminators).
//!
//! Which opcodes and types are generated comes from [`crate::table::GEN_OPS`] (plus
//! [`crate::table::VECTOR_GEN_OPS`] and the vector types when [`GenConfig::vectors`] is on)
//! filtered by a [`Support`] oracle (what the target can compile). With vectors on, about a
//! third of the type choices that may be vectors are; with vectors off no extra input
//! bytes are consumed, so a scalar-only run generates the same programs as before vectors
//! existed. Running out of input bytes never makes
//! an invalid program: `arbitrary` then returns minimal choices.

use crate::program::{Block, Callee, Func, Inst, Program, Slot, Target, Term, Val};
use crate::table::{GenOp, SCALAR_TYPES, Shape, gen_ops, total_weight, vector_types};
use arbitrary::{Result, Unstructured};
use kiln_ir::DataValue;
use kiln_ir::immediates::{Ieee16, Ieee32, Ieee64, Ieee128};
use kiln_ir::opcodes::Constraint;
use kiln_ir::types::{self, Type};
use std::fmt::Write;

/// What the target can compile; the generator only emits what the oracle accepts.
pub trait Support {
    /// Can instruction `template` (opcode `opcode`, operand types `args`, result types
    /// `results`) be compiled? `template` has a `#` per operand.
    fn inst_ok(&mut self, opcode: &'static str, template: &str, args: &[Type], results: &[Type]) -> bool;
    /// Can `ty` be a parameter and return type of a function with convention `cc`, and be
    /// passed in calls?
    fn sig_type_ok(&mut self, ty: Type, cc: &'static str) -> bool;
}

/// An oracle that accepts everything (for targets-independent uses: verifier and parser
/// fuzzing, interpreter-only runs).
pub struct AcceptAll;

impl Support for AcceptAll {
    fn inst_ok(&mut self, _: &'static str, _: &str, _: &[Type], _: &[Type]) -> bool {
        true
    }
    fn sig_type_ok(&mut self, _: Type, _: &'static str) -> bool {
        true
    }
}

/// Size limits of generated programs.
#[derive(Clone, Debug)]
pub struct GenConfig {
    /// Maximum number of functions.
    pub max_funcs: usize,
    /// Maximum number of blocks per function.
    pub max_blocks: usize,
    /// Maximum number of instructions per block (before terminators).
    pub max_insts: usize,
    /// Maximum number of parameters per function / block.
    pub max_params: usize,
    /// Maximum number of return values.
    pub max_rets: usize,
    /// Maximum initial loop counter.
    pub max_loop: u32,
    /// Maximum number of stack slots per function.
    pub max_slots: usize,
    /// Generate vector types and vector opcodes (on for x86-64 and aarch64; the riscv64
    /// backend has no vector lowering).
    pub vectors: bool,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            max_funcs: 3,
            max_blocks: 6,
            max_insts: 14,
            max_params: 5,
            max_rets: 3,
            max_loop: 6,
            max_slots: 3,
            vectors: true,
        }
    }
}

impl GenConfig {
    /// Larger functions (up to 64 blocks of 64 instructions, many parameters), for the
    /// compile-time oracle: size-dependent slowness only shows on functions of some size.
    pub fn large() -> Self {
        GenConfig {
            max_funcs: 2,
            max_blocks: 64,
            max_insts: 64,
            max_params: 16,
            max_rets: 3,
            max_loop: 3,
            max_slots: 8,
            vectors: true,
        }
    }
}

/// Calling conventions used for generated functions.
pub const CALL_CONVS: &[&str] = &["system_v", "fast", "tail", "windows_fastcall"];

/// Trap codes used by `trap`, `trapz`, `trapnz`, `uadd_overflow_trap`.
const TRAP_CODES: &[&str] = &["user1", "user7", "user250", "int_ovf", "heap_oob", "int_divz", "bad_toint", "stk_ovf"];

const INT_CCS: &[&str] = &["eq", "ne", "slt", "sge", "sgt", "sle", "ult", "uge", "ugt", "ule"];
const FLOAT_CCS: &[&str] =
    &["ord", "uno", "eq", "ne", "one", "ueq", "lt", "ge", "gt", "le", "ult", "uge", "ugt", "ule"];
const RMW_OPS: &[&str] = &["add", "sub", "and", "nand", "or", "xor", "xchg", "umin", "umax", "smin", "smax"];

/// The result of generation: the program and whether it lets float NaN bits become
/// observable other than as a NaN (then compiled code must canonicalize NaNs to agree
/// with the interpreter).
pub struct Generated {
    /// The program.
    pub program: Program,
    /// Some instruction exposes NaN bit patterns (bitcast or bitwise ops on floats,
    /// `fcopysign`, float stores read back as integers).
    pub nan_bits_observable: bool,
}

/// Generate a program.
pub fn generate(u: &mut Unstructured, cfg: &GenConfig, oracle: &mut dyn Support) -> Result<Generated> {
    let nfuncs = u.int_in_range(1..=cfg.max_funcs.max(1))?;
    // Signatures first, so callers know their callees.
    let mut funcs: Vec<Func> = Vec::with_capacity(nfuncs);
    for i in 0..nfuncs {
        let cc = *u.choose(CALL_CONVS)?;
        let np = u.int_in_range(0..=cfg.max_params)?;
        let nr = u.int_in_range(usize::from(i == 0)..=cfg.max_rets.max(1))?;
        let mut params = Vec::new();
        for _ in 0..np {
            let t = pick_type(u, cfg.vectors, |t| oracle.sig_type_ok(t, cc))?;
            params.extend(t);
        }
        let mut rets = Vec::new();
        for _ in 0..nr {
            let t = pick_type(u, cfg.vectors, |t| oracle.sig_type_ok(t, cc))?;
            rets.extend(t);
        }
        if i == 0 && rets.is_empty() {
            rets.push(types::I64);
        }
        // Sometimes a `tail` function with the returns of an earlier `tail` function, so
        // that the earlier one can `return_call` it.
        let mut cc = cc;
        if i > 0 && u.ratio(1u8, 4u8)? {
            let tails: Vec<usize> = (0..i).filter(|&k| funcs[k].cc == "tail").collect();
            if !tails.is_empty() {
                let k = *u.choose(&tails)?;
                cc = "tail";
                rets = funcs[k].rets.clone();
                params.retain(|&t| oracle.sig_type_ok(t, cc));
            }
        }
        funcs.push(Func {
            name: format!("f{i}"),
            cc,
            params,
            rets,
            slots: Vec::new(),
            callees: Vec::new(),
            blocks: Vec::new(),
            next_val: 0,
        });
    }
    let mut program = Program { funcs };
    let mut leaks = false;
    for i in 0..nfuncs {
        let mut g = FnGen::new(u, cfg, oracle, &program, i);
        g.generate()?;
        leaks |= g.leaks;
        let (func, _) = (g.func, ());
        program.funcs[i] = func;
    }
    Ok(Generated { program, nan_bits_observable: leaks })
}

/// The types the generator chooses from: the scalars, then (if `vectors`) the vector types.
fn all_types(vectors: bool) -> Vec<Type> {
    let mut v = SCALAR_TYPES.to_vec();
    if vectors {
        v.extend_from_slice(vector_types());
    }
    v
}

/// One of `cands`: with `vectors` on and both kinds present, a vector one time in three.
/// Without vectors this is `u.choose(cands)` (the same input bytes as a scalar-only
/// generator).
fn choose_type(u: &mut Unstructured, vectors: bool, cands: &[Type]) -> Result<Type> {
    if vectors && cands.iter().any(|t| t.is_vector()) && cands.iter().any(|t| !t.is_vector()) {
        let want_vector = u.ratio(1u8, 3u8)?;
        let part: Vec<Type> = cands.iter().copied().filter(|t| t.is_vector() == want_vector).collect();
        return Ok(*u.choose(&part)?);
    }
    Ok(*u.choose(cands)?)
}

fn pick_type(u: &mut Unstructured, vectors: bool, mut ok: impl FnMut(Type) -> bool) -> Result<Option<Type>> {
    let all = all_types(vectors);
    for _ in 0..4 {
        let t = choose_type(u, vectors, &all)?;
        if ok(t) {
            return Ok(Some(t));
        }
    }
    Ok(if ok(types::I64) { Some(types::I64) } else { None })
}

/// Interesting integer bit patterns for a type of `bits` bits (as u128, truncated later).
fn interesting_int(u: &mut Unstructured, bits: u32) -> Result<u128> {
    let mask = if bits == 128 { u128::MAX } else { (1u128 << bits) - 1 };
    let min = 1u128 << (bits - 1);
    let v = match u.int_in_range(0..=15)? {
        0 => 0,
        1 => 1,
        2 => mask,    // -1
        3 => min,     // MIN
        4 => min - 1, // MAX
        5 => min + 1, // MIN + 1
        6 => 2,
        7 => u128::from(bits),
        8 => u128::from(bits) + 1,
        9 => u128::from(u.int_in_range(0u8..=31)?),
        10 => (u.int_in_range(-16i64..=16)? as i128) as u128,
        11 => 1u128 << u.int_in_range(0..=bits - 1)?,
        12 => mask >> 1 ^ 0x55,
        _ => u.arbitrary::<u128>()?,
    };
    Ok(v & mask)
}

/// Interesting float values in the format of `ty`, as bits.
fn interesting_float(u: &mut Unstructured, ty: Type) -> Result<u128> {
    let (ebits, mbits): (u32, u32) = match ty.bits() {
        16 => (5, 10),
        32 => (8, 23),
        64 => (11, 52),
        _ => (15, 112),
    };
    let bias = (1u128 << (ebits - 1)) - 1;
    let sign = 1u128 << (ebits + mbits);
    let exp_all = ((1u128 << ebits) - 1) << mbits;
    let quiet = 1u128 << (mbits - 1);
    let from_int = |n: i64| -> u128 {
        // Exact for small |n|.
        if n == 0 {
            return 0;
        }
        let neg = n < 0;
        let m = n.unsigned_abs() as u128;
        let e = 127 - m.leading_zeros();
        let frac = (m ^ (1 << e)) << (mbits.saturating_sub(e));
        let frac = if e > mbits { (m ^ (1 << e)) >> (e - mbits) } else { frac };
        let bits = ((bias + u128::from(e)) << mbits) | (frac & ((1u128 << mbits) - 1));
        if neg { bits | sign } else { bits }
    };
    let pow2 = |e: i32| -> u128 { ((bias as i128 + e as i128).clamp(1, (1i128 << ebits) - 2) as u128) << mbits };
    let v = match u.int_in_range(0..=22)? {
        0 => 0,
        1 => sign,
        2 => from_int(1),
        3 => from_int(-1),
        4 => exp_all,
        5 => exp_all | sign,
        6 => exp_all | quiet,
        7 => exp_all | quiet | sign,
        8 => exp_all | quiet | 1,
        9 => exp_all | 1,                                    // signalling NaN
        10 => 1,                                             // smallest subnormal
        11 => 1 << mbits,                                    // smallest normal
        12 => (exp_all - (1 << mbits)) | ((1 << mbits) - 1), // max
        13 => pow2(-1),                                      // 0.5
        14 => from_int(1) | (1 << (mbits - 1)),              // 1.5
        15 => pow2(31),
        16 => pow2(63),
        17 => pow2(63) | sign,
        18 => pow2(32),
        19 => pow2(64),
        20 => from_int(u.int_in_range(-300i64..=300)?),
        21 => pow2(u.int_in_range(-20i32..=70)?) | (u128::from(u.arbitrary::<u32>()?) << mbits.saturating_sub(32)),
        _ => u.arbitrary::<u128>()?,
    };
    let width_mask = if ty.bits() == 128 { u128::MAX } else { (1u128 << ty.bits()) - 1 };
    Ok(v & width_mask)
}

/// Interesting bits of one value of scalar type `ty`.
fn interesting_bits(u: &mut Unstructured, ty: Type) -> Result<u128> {
    if ty.is_float() { interesting_float(u, ty) } else { interesting_int(u, ty.bits()) }
}

/// The little-endian bytes of a vector of type `ty` with interesting lanes (sometimes all
/// lanes equal).
fn interesting_vector(u: &mut Unstructured, ty: Type) -> Result<Vec<u8>> {
    let lane = ty.lane_type();
    let lb = lane.bytes() as usize;
    let same = u.ratio(1u8, 4u8)?;
    let mut bytes = Vec::with_capacity(ty.bytes() as usize);
    let mut bits = interesting_bits(u, lane)?;
    for _ in 0..ty.lane_count() {
        if !same {
            bits = interesting_bits(u, lane)?;
        }
        bytes.extend_from_slice(&bits.to_le_bytes()[..lb]);
    }
    Ok(bytes)
}

/// A random value of a scalar or vector type (used for arguments).
pub fn arbitrary_value(u: &mut Unstructured, ty: Type) -> Result<DataValue> {
    if ty.is_vector() {
        let bytes = interesting_vector(u, ty)?;
        return Ok(DataValue::from_le_bytes(ty, &bytes).unwrap_or(DataValue::I64(0)));
    }
    let bits = interesting_bits(u, ty)?;
    Ok(DataValue::from_u128(ty, bits).unwrap_or(DataValue::I64(0)))
}

/// CLIF text of a vector immediate (`vconst`, `shuffle` masks): `0x` and the bytes, the
/// last one first.
fn vector_literal(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 + 2 * bytes.len());
    s.push_str("0x");
    for b in bytes.iter().rev() {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Text of a float immediate of type `ty` with these bits.
fn float_literal(ty: Type, bits: u128) -> String {
    match ty.bits() {
        16 => Ieee16(bits as u16).to_string(),
        32 => Ieee32(bits as u32).to_string(),
        64 => Ieee64(bits as u64).to_string(),
        _ => Ieee128(bits).to_string(),
    }
}

/// Signed decimal text of the low `bits` bits of `v`.
fn int_literal(v: u128, bits: u32) -> String {
    let shift = 128 - bits;
    (((v << shift) as i128) >> shift).to_string()
}

struct FnGen<'a, 'u, 'd> {
    u: &'u mut Unstructured<'d>,
    cfg: &'a GenConfig,
    oracle: &'a mut dyn Support,
    program: &'a Program,
    index: usize,
    func: Func,
    /// Values usable anywhere (entry block values).
    entry_pool: Vec<(Val, Type)>,
    /// Values of the current block.
    pool: Vec<(Val, Type)>,
    /// Instructions of the current block.
    insts: Vec<Inst>,
    /// Address of each slot (defined in the entry block).
    slot_addrs: Vec<Val>,
    /// The current block's loop counter.
    ctr: Val,
    leaks: bool,
    /// The types to choose from (scalars, and vectors if on).
    types: Vec<Type>,
}

impl<'a, 'u, 'd> FnGen<'a, 'u, 'd> {
    fn new(
        u: &'u mut Unstructured<'d>,
        cfg: &'a GenConfig,
        oracle: &'a mut dyn Support,
        program: &'a Program,
        index: usize,
    ) -> Self {
        let func = program.funcs[index].clone();
        FnGen {
            u,
            cfg,
            oracle,
            program,
            index,
            func,
            entry_pool: Vec::new(),
            pool: Vec::new(),
            insts: Vec::new(),
            slot_addrs: Vec::new(),
            ctr: 0,
            leaks: false,
            types: all_types(cfg.vectors),
        }
    }

    fn new_val(&mut self) -> Val {
        let v = self.func.next_val;
        self.func.next_val += 1;
        v
    }

    /// Append an instruction; results go to the pool if `pooled`.
    fn push(
        &mut self,
        opcode: &'static str,
        template: String,
        args: Vec<Val>,
        results: &[Type],
        pooled: bool,
    ) -> Vec<Val> {
        let res: Vec<(Val, Type)> = results.iter().map(|&t| (self.new_val(), t)).collect();
        if pooled {
            self.pool.extend(res.iter().copied());
        }
        let vals = res.iter().map(|r| r.0).collect();
        self.insts.push(Inst { results: res, template, args, pinned: !pooled, opcode });
        vals
    }

    fn generate(&mut self) -> Result<()> {
        let nblocks = self.u.int_in_range(1..=self.cfg.max_blocks.max(1))?;
        // Block parameter types (block 0: the signature).
        let mut block_params: Vec<Vec<(Val, Type)>> = Vec::with_capacity(nblocks);
        let entry: Vec<(Val, Type)> = self.func.params.clone().into_iter().map(|t| (self.new_val(), t)).collect();
        block_params.push(entry);
        for _ in 1..nblocks {
            let mut ps = vec![(self.new_val(), types::I32)];
            let n = self.u.int_in_range(0..=self.cfg.max_params)?;
            for _ in 0..n {
                let t = choose_type(self.u, self.cfg.vectors, &self.types)?;
                ps.push((self.new_val(), t));
            }
            block_params.push(ps);
        }
        // Stack slots.
        let nslots = self.u.int_in_range(0..=self.cfg.max_slots)?;
        for _ in 0..nslots {
            let size = 8 * self.u.int_in_range(1u32..=8)?;
            let align_shift = self.u.int_in_range(0u8..=4)?;
            self.func.slots.push(Slot { size, align_shift });
        }
        let mut blocks = Vec::with_capacity(nblocks);
        for bi in 0..nblocks {
            self.pool = block_params[bi].clone();
            self.insts = Vec::new();
            if bi == 0 {
                self.init_slots()?;
                let l = self.u.int_in_range(0..=self.cfg.max_loop)?;
                self.ctr = self.push("iconst", format!("iconst.i32 {l}"), vec![], &[types::I32], false)[0];
            } else {
                self.ctr = block_params[bi][0].0;
            }
            let n = self.u.int_in_range(0..=self.cfg.max_insts)?;
            for _ in 0..n {
                self.gen_inst()?;
            }
            let term = self.gen_term(bi, nblocks, &block_params)?;
            if bi == 0 {
                self.entry_pool = std::mem::take(&mut self.pool);
            }
            blocks.push(Block {
                id: bi as u32,
                params: block_params[bi].clone(),
                insts: std::mem::take(&mut self.insts),
                term,
            });
        }
        self.func.blocks = blocks;
        Ok(())
    }

    fn init_slots(&mut self) -> Result<()> {
        for s in 0..self.func.slots.len() {
            let slot = self.func.slots[s];
            let a = self.push("stack_addr", format!("stack_addr.i64 ss{s}"), vec![], &[types::I64], false)[0];
            self.slot_addrs.push(a);
            for off in (0..slot.size).step_by(8) {
                let bits = interesting_int(self.u, 64)?;
                let c =
                    self.push("iconst", format!("iconst.i64 {}", int_literal(bits, 64)), vec![], &[types::I64], false)
                        [0];
                let aligned = if slot.align_shift >= 3 { " aligned" } else { "" };
                self.push("store", format!("store notrap{aligned} #, #+{off}"), vec![c, a], &[], false);
            }
        }
        Ok(())
    }

    /// A constant of type `ty` (emitted now, pooled).
    fn constant(&mut self, ty: Type) -> Result<Val> {
        if ty.is_vector() {
            if self.u.ratio(1u8, 3u8)? {
                let x = self.constant(ty.lane_type())?;
                return Ok(self.push("splat", format!("splat.{ty} #"), vec![x], &[ty], true)[0]);
            }
            let bytes = interesting_vector(self.u, ty)?;
            return Ok(self.push("vconst", format!("vconst.{ty} {}", vector_literal(&bytes)), vec![], &[ty], true)[0]);
        }
        if ty.is_int() {
            if ty == types::I128 {
                let lo = self.constant(types::I64)?;
                return Ok(match self.u.int_in_range(0..=2)? {
                    0 => self.push("uextend", "uextend.i128 #".into(), vec![lo], &[ty], true)[0],
                    1 => self.push("sextend", "sextend.i128 #".into(), vec![lo], &[ty], true)[0],
                    _ => {
                        let hi = self.constant(types::I64)?;
                        self.push("iconcat", "iconcat #, #".into(), vec![lo, hi], &[ty], true)[0]
                    }
                });
            }
            let bits = interesting_int(self.u, ty.bits())?;
            return Ok(self.push(
                "iconst",
                format!("iconst.{ty} {}", int_literal(bits, ty.bits())),
                vec![],
                &[ty],
                true,
            )[0]);
        }
        let bits = interesting_float(self.u, ty)?;
        let name: &'static str = match ty.bits() {
            16 => "f16const",
            32 => "f32const",
            64 => "f64const",
            _ => "f128const",
        };
        Ok(self.push(name, format!("{name} {}", float_literal(ty, bits)), vec![], &[ty], true)[0])
    }

    /// An operand of type `ty`: usually an existing value, sometimes a fresh constant.
    fn operand(&mut self, ty: Type) -> Result<Val> {
        let n = self.pool.iter().chain(&self.entry_pool).filter(|(_, t)| *t == ty).count();
        if n == 0 || self.u.ratio(1u8, 10u8)? {
            return self.constant(ty);
        }
        let k = self.u.int_in_range(0..=n - 1)?;
        Ok(self.pool.iter().chain(&self.entry_pool).filter(|(_, t)| *t == ty).nth(k).map(|v| v.0).unwrap_or(0))
    }

    fn gen_inst(&mut self) -> Result<()> {
        let vectors = self.cfg.vectors;
        let mut pick = self.u.int_in_range(0..=total_weight(vectors) - 1)?;
        let mut op = gen_ops(vectors).next().expect("the table has rows");
        for g in gen_ops(vectors) {
            if pick < g.weight {
                op = g;
                break;
            }
            pick -= g.weight;
        }
        // A few attempts at types the target supports.
        for _ in 0..4 {
            if self.try_gen(op)? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// The generator's types allowed as controlling types of `op` (for an opcode that is
    /// not polymorphic, a placeholder: its operand types are all concrete).
    fn ctrl_choices(&self, g: &GenOp) -> Vec<Type> {
        if !g.opcode.is_polymorphic() {
            return vec![types::I8X16];
        }
        self.types.iter().copied().filter(|t| g.opcode.info().ctrl.contains(*t)).collect()
    }

    /// One of the controlling types of `op`, if it has any among the generator's types.
    fn pick_ctrl(&mut self, g: &GenOp) -> Result<Option<Type>> {
        let choices = self.ctrl_choices(g);
        if choices.is_empty() {
            return Ok(None);
        }
        Ok(Some(choose_type(self.u, self.cfg.vectors, &choices)?))
    }

    /// Emit `op` if the oracle accepts; false to retry.
    fn emit_checked(&mut self, g: &GenOp, template: String, arg_types: &[Type], results: &[Type]) -> Result<bool> {
        if !self.cfg.vectors && arg_types.iter().chain(results).any(|t| t.is_vector()) {
            return Ok(false);
        }
        if !self.oracle.inst_ok(g.opcode.name(), &template, arg_types, results) {
            return Ok(false);
        }
        let mut args = Vec::with_capacity(arg_types.len());
        for &t in arg_types {
            args.push(self.operand(t)?);
        }
        self.push(g.opcode.name(), template, args, results, true);
        Ok(true)
    }

    fn suffix(g: &GenOp, ctrl: Type) -> String {
        if g.opcode.is_polymorphic() && g.opcode.info().infer.is_none() { format!(".{ctrl}") } else { String::new() }
    }

    fn pick_free(&mut self, pred: impl Fn(Type) -> bool) -> Result<Option<Type>> {
        let c: Vec<Type> = self.types.iter().copied().filter(|t| pred(*t)).collect();
        if c.is_empty() { Ok(None) } else { Ok(Some(choose_type(self.u, self.cfg.vectors, &c)?)) }
    }

    fn try_gen(&mut self, g: &GenOp) -> Result<bool> {
        let name = g.opcode.name();
        let info = g.opcode.info();
        match g.shape {
            Shape::Generic | Shape::IntCompare | Shape::FloatCompare | Shape::CondTrap | Shape::IntAddTrap => {
                let Some(ctrl) = self.pick_ctrl(g)? else { return Ok(false) };
                let mut arg_types = Vec::new();
                for c in info.args {
                    let t = match *c {
                        c @ (Constraint::Free(_)
                        | Constraint::FreeSameLanes(_)
                        | Constraint::Narrower
                        | Constraint::Wider) => self.pick_free(|t| c.accepts(t, ctrl))?,
                        other => other.resolve(ctrl),
                    };
                    match t {
                        Some(t) => arg_types.push(t),
                        None => return Ok(false),
                    }
                }
                let mut results = Vec::new();
                for c in info.results {
                    match c.resolve(ctrl) {
                        Some(t) => results.push(t),
                        None => return Ok(false),
                    }
                }
                let operands = vec!["#"; arg_types.len()].join(", ");
                let sfx = Self::suffix(g, ctrl);
                let template = match g.shape {
                    Shape::IntCompare => format!("{name} {} {operands}", self.u.choose(INT_CCS)?),
                    Shape::FloatCompare => format!("{name} {} {operands}", self.u.choose(FLOAT_CCS)?),
                    Shape::CondTrap | Shape::IntAddTrap => {
                        format!("{name}{sfx} {operands}, {}", self.u.choose(TRAP_CODES)?)
                    }
                    _ => format!("{name}{sfx} {operands}"),
                };
                // Operations that let a NaN's bits (payload or sign) show other than as "a NaN".
                if ctrl.is_float()
                    && matches!(name, "band" | "bor" | "bxor" | "bnot" | "bitselect" | "blendv" | "fcopysign")
                    || name == "vhigh_bits" && arg_types.iter().any(|t| t.is_float())
                {
                    self.leaks = true;
                }
                self.emit_checked(g, template, &arg_types, &results)
            }
            Shape::Const => {
                let ty = match info.results.first().and_then(|c| c.resolve(types::I64)) {
                    Some(t) if !g.opcode.is_polymorphic() => t,
                    _ => match self.pick_ctrl(g)? {
                        Some(t) => t,
                        None => return Ok(false),
                    },
                };
                self.constant(ty)?;
                Ok(true)
            }
            Shape::Bitcast => {
                let to = choose_type(self.u, self.cfg.vectors, &self.types.clone())?;
                let from = self.pick_free(|t| t.bits() == to.bits() && t != to)?;
                let Some(from) = from else { return Ok(false) };
                if from.is_float() {
                    self.leaks = true;
                }
                // A bitcast that changes the lane count names the byte order.
                let order = if from.lane_count() != to.lane_count() {
                    if self.u.ratio(1u8, 4u8)? { " big" } else { " little" }
                } else {
                    ""
                };
                self.emit_checked(g, format!("bitcast.{to}{order} #"), &[from], &[to])
            }
            Shape::Lane => {
                let Some(ty) = self.pick_ctrl(g)? else { return Ok(false) };
                let lane = self.u.int_in_range(0..=ty.lane_count() - 1)?;
                let (template, args) = if g.opcode == kiln_ir::Opcode::Insertlane {
                    (format!("{name} #, #, {lane}"), vec![ty, ty.lane_type()])
                } else {
                    (format!("{name} #, {lane}"), vec![ty])
                };
                let result = if g.opcode == kiln_ir::Opcode::Insertlane { ty } else { ty.lane_type() };
                self.emit_checked(g, template, &args, &[result])
            }
            Shape::Shuffle => {
                let mask = self.shuffle_mask()?;
                let template = format!("{name} #, #, {}", vector_literal(&mask));
                self.emit_checked(g, template, &[types::I8X16, types::I8X16], &[types::I8X16])
            }
            Shape::Load(bytes) | Shape::Store(bytes) => {
                let is_load = matches!(g.shape, Shape::Load(_));
                let Some(mut ty) = self.pick_ctrl(g)? else { return Ok(false) };
                // `uload32`/`sload32`: the controlling type is the address type.
                let addr_ctrl = info.infer == Some(0) && is_load;
                if addr_ctrl {
                    ty = types::I64;
                }
                let size = if bytes == 0 { ty.bytes() } else { u32::from(bytes) };
                let Some((flags, addr_text, mut addr_args)) = self.address(size)? else { return Ok(false) };
                if is_load {
                    let results: Vec<Type> = info.results.iter().filter_map(|c| c.resolve(ty)).collect();
                    if !self.cfg.vectors && results.iter().any(|t| t.is_vector()) {
                        return Ok(false);
                    }
                    let sfx = if addr_ctrl { String::new() } else { format!(".{ty}") };
                    let template = format!("{name}{sfx}{flags} {addr_text}");
                    if !self.oracle.inst_ok(name, &template, &[types::I64], &results) {
                        return Ok(false);
                    }
                    self.push(name, template, addr_args, &results, true);
                } else {
                    if ty.is_float() {
                        self.leaks = true;
                    }
                    let template = format!("{name}{flags} #, {addr_text}");
                    if !self.oracle.inst_ok(name, &template, &[ty, types::I64], &[]) {
                        return Ok(false);
                    }
                    let x = self.operand(ty)?;
                    addr_args.insert(0, x);
                    self.push(name, template, addr_args, &[], true);
                }
                Ok(true)
            }
            Shape::AtomicRmw | Shape::AtomicCas | Shape::AtomicLoad | Shape::AtomicStore => {
                let Some(ty) = self.pick_ctrl(g)? else { return Ok(false) };
                let flags = *self.u.choose(&["", " aligned", " notrap aligned", " little"])?;
                // Atomics take the address without an offset: a naturally aligned one.
                let Some(addr) = self.atomic_address(ty.bytes())? else { return Ok(false) };
                let (template, mut arg_types, results) = match g.shape {
                    Shape::AtomicRmw => {
                        let op = self.u.choose(RMW_OPS)?;
                        (format!("atomic_rmw.{ty}{flags} {op} #, #"), vec![ty], vec![ty])
                    }
                    Shape::AtomicCas => (format!("atomic_cas{flags} #, #, #"), vec![ty, ty], vec![ty]),
                    Shape::AtomicLoad => (format!("atomic_load.{ty}{flags} #"), vec![], vec![ty]),
                    _ => (format!("atomic_store{flags} #, #"), vec![ty], vec![]),
                };
                let mut all_types = vec![types::I64];
                all_types.extend(arg_types.iter().copied());
                if g.shape == Shape::AtomicStore {
                    all_types.swap(0, 1);
                }
                if !self.oracle.inst_ok(name, &template, &all_types, &results) {
                    return Ok(false);
                }
                let mut args = vec![addr];
                for t in arg_types.drain(..) {
                    args.push(self.operand(t)?);
                }
                if g.shape == Shape::AtomicStore {
                    args.swap(0, 1);
                }
                self.push(name, template, args, &results, true);
                Ok(true)
            }
            Shape::Call | Shape::CallIndirect => {
                let n = self.program.funcs.len();
                if self.index + 1 >= n {
                    return Ok(false);
                }
                let callee = self.u.int_in_range(self.index + 1..=n - 1)?;
                let k = self.declare_callee(callee)?;
                let cf = &self.program.funcs[callee];
                let (params, rets) = (cf.params.clone(), cf.rets.clone());
                let mut args = Vec::new();
                let fa = if g.shape == Shape::CallIndirect {
                    Some(self.push("func_addr", format!("func_addr.i64 fn{k}"), vec![], &[types::I64], false)[0])
                } else {
                    None
                };
                args.extend(fa);
                for t in &params {
                    args.push(self.operand(*t)?);
                }
                let holes = vec!["#"; params.len()].join(", ");
                let template = match fa {
                    Some(_) => format!("call_indirect sig{k}, #({holes})"),
                    None => format!("call fn{k}({holes})"),
                };
                self.push(name, template, args, &rets, true);
                Ok(true)
            }
            Shape::NullAry => {
                self.push(name, name.to_string(), vec![], &[], true);
                Ok(true)
            }
        }
    }

    /// A shuffle mask: random lanes of both inputs, or a pattern with a one-instruction
    /// form (a 32-bit lane permutation, an interleave, a byte rotation, a 16-bit blend).
    fn shuffle_mask(&mut self) -> Result<[u8; 16]> {
        let mut m = [0u8; 16];
        match self.u.int_in_range(0..=4)? {
            0 => {
                let lanes: [u8; 4] = [
                    self.u.int_in_range(0..=7)?,
                    self.u.int_in_range(0..=7)?,
                    self.u.int_in_range(0..=7)?,
                    self.u.int_in_range(0..=7)?,
                ];
                for (i, b) in m.iter_mut().enumerate() {
                    *b = lanes[i / 4] * 4 + (i % 4) as u8;
                }
            }
            1 => {
                let size = 1u8 << self.u.int_in_range(0..=3)?;
                let high = if self.u.arbitrary()? { 16 / 2 } else { 0 };
                for (i, b) in m.iter_mut().enumerate() {
                    let i = i as u8;
                    let (k, within) = (i / size, i % size);
                    let src = if k % 2 == 0 { 0 } else { 16 };
                    *b = src + high + (k / 2) * size + within;
                }
            }
            2 => {
                let r = self.u.int_in_range(0..=31)?;
                for (i, b) in m.iter_mut().enumerate() {
                    *b = (i as u8 + r) % 32;
                }
            }
            3 => {
                // 16-bit lanes taken in place from either input.
                for i in (0..16).step_by(2) {
                    let from = if self.u.arbitrary()? { 16 } else { 0 };
                    m[i] = i as u8 + from;
                    m[i + 1] = i as u8 + 1 + from;
                }
            }
            _ => {
                for b in m.iter_mut() {
                    *b = self.u.int_in_range(0..=31)?;
                }
            }
        }
        Ok(m)
    }

    /// The declaration index (`fnK`/`sigK`) of function `callee`, declared on first use.
    fn declare_callee(&mut self, callee: usize) -> Result<usize> {
        if let Some(k) = self.func.callees.iter().position(|c| c.func == callee) {
            return Ok(k);
        }
        let colocated = self.u.arbitrary()?;
        self.func.callees.push(Callee { func: callee, colocated });
        Ok(self.func.callees.len() - 1)
    }

    /// A tail call instead of a return, when this function and a later one are both
    /// `tail` with the same return types (and the input says so).
    fn tail_call(&mut self) -> Result<Option<Term>> {
        if self.func.cc != "tail" {
            return Ok(None);
        }
        let cands: Vec<usize> = (self.index + 1..self.program.funcs.len())
            .filter(|&j| self.program.funcs[j].cc == "tail" && self.program.funcs[j].rets == self.func.rets)
            .collect();
        if cands.is_empty() || !self.u.ratio(2u8, 3u8)? {
            return Ok(None);
        }
        let callee = *self.u.choose(&cands)?;
        let k = self.declare_callee(callee)?;
        let func_addr = if self.u.ratio(1u8, 3u8)? {
            Some(self.push("func_addr", format!("func_addr.i64 fn{k}"), vec![], &[types::I64], false)[0])
        } else {
            None
        };
        let params = self.program.funcs[callee].params.clone();
        let mut args = Vec::with_capacity(params.len());
        for t in params {
            args.push(self.operand(t)?);
        }
        Ok(Some(Term::ReturnCall { callee: k, func_addr, args }))
    }

    /// An in-bounds address for an access of `size` bytes: (memflags text, address text
    /// with `#` for the base, base operands).
    fn address(&mut self, size: u32) -> Result<Option<(String, String, Vec<Val>)>> {
        let cands: Vec<usize> = (0..self.func.slots.len()).filter(|&s| self.func.slots[s].size >= size).collect();
        if cands.is_empty() {
            return Ok(None);
        }
        let s = *self.u.choose(&cands)?;
        let slot = self.func.slots[s];
        let base = self.slot_addrs[s];
        let max_off = slot.size - size;
        let slot_align = 1u32 << slot.align_shift;
        let mut off = self.u.int_in_range(0..=max_off)?;
        if self.u.ratio(2u8, 3u8)? {
            off -= off % size;
        }
        let addr_aligned = slot_align >= size && off % size == 0;
        let mut flags = String::new();
        match self.u.int_in_range(0..=3)? {
            0 => flags.push_str(" notrap"),
            1 => {
                let _ = write!(flags, " {}", self.u.choose(TRAP_CODES)?);
            }
            _ => {}
        }
        if addr_aligned && self.u.arbitrary()? {
            flags.push_str(" aligned");
        }
        if self.u.ratio(1u8, 8u8)? {
            flags.push_str(" little");
        }
        let mode = self.u.int_in_range(0..=3)?;
        let (text, args) = match mode {
            // Slot address plus constant offset.
            0 => (format!("#+{off}"), vec![base]),
            // Masked dynamic index: base + (x & mask), mask keeps the access in bounds and
            // (when `aligned` may be used) a multiple of the size.
            1 => {
                let room = max_off - off; // index range available after `off`
                let p = if room == 0 { 1 } else { 1u32 << (31 - (room + 1).leading_zeros()) };
                let mask = (p - 1) & !(size.next_power_of_two() - 1);
                let x = self.operand(types::I64)?;
                let m = self.push("iconst", format!("iconst.i64 {mask}"), vec![], &[types::I64], false)[0];
                let idx = self.push("band", "band #, #".into(), vec![x, m], &[types::I64], false)[0];
                let a = self.push("iadd", "iadd #, #".into(), vec![base, idx], &[types::I64], false)[0];
                (format!("#+{off}"), vec![a])
            }
            // A fresh `stack_addr` with part of the offset.
            2 => {
                let part = self.u.int_in_range(0..=off)?;
                let a =
                    self.push("stack_addr", format!("stack_addr.i64 ss{s}+{part}"), vec![], &[types::I64], false)[0];
                (format!("#+{}", off - part), vec![a])
            }
            // A displaced base and a possibly negative offset.
            _ => {
                let k = self.u.int_in_range(0..=64u32)?;
                let c = self.push("iconst", format!("iconst.i64 {k}"), vec![], &[types::I64], false)[0];
                let a = self.push("iadd", "iadd #, #".into(), vec![base, c], &[types::I64], false)[0];
                let d = off as i64 - i64::from(k);
                (if d < 0 { format!("#{d}") } else { format!("#+{d}") }, vec![a])
            }
        };
        Ok(Some((flags, text, args)))
    }

    /// A naturally aligned address (a value) inside a slot whose alignment allows it.
    fn atomic_address(&mut self, size: u32) -> Result<Option<Val>> {
        let cands: Vec<usize> = (0..self.func.slots.len())
            .filter(|&s| self.func.slots[s].size >= size && (1u32 << self.func.slots[s].align_shift) >= size)
            .collect();
        if cands.is_empty() {
            return Ok(None);
        }
        let s = *self.u.choose(&cands)?;
        let n = (self.func.slots[s].size - size) / size;
        let off = size * self.u.int_in_range(0..=n)?;
        Ok(Some(self.push("stack_addr", format!("stack_addr.i64 ss{s}+{off}"), vec![], &[types::I64], false)[0]))
    }

    fn target(&mut self, block: usize, params: &[(Val, Type)], ctr: Val) -> Result<Target> {
        let mut args = vec![ctr];
        for &(_, t) in &params[1..] {
            args.push(self.operand(t)?);
        }
        Ok(Target { block: block as u32, args })
    }

    fn forward(&mut self, bi: usize, n: usize, bp: &[Vec<(Val, Type)>]) -> Result<Target> {
        let b = self.u.int_in_range(bi + 1..=n - 1)?;
        let ctr = self.ctr;
        self.target(b, &bp[b], ctr)
    }

    fn gen_term(&mut self, bi: usize, n: usize, bp: &[Vec<(Val, Type)>]) -> Result<Term> {
        let last = bi + 1 == n;
        let choice = if last { 0 } else { self.u.int_in_range(0..=9)? };
        Ok(match choice {
            1 | 2 => Term::Jump(self.forward(bi, n, bp)?),
            3..=5 => {
                let ct = *self.u.choose(&[types::I8, types::I16, types::I32, types::I64, types::I128])?;
                let c = self.operand(ct)?;
                let a = self.forward(bi, n, bp)?;
                let b = self.forward(bi, n, bp)?;
                Term::Brif(c, a, b)
            }
            6 => {
                let x = self.operand(types::I32)?;
                let x = if self.u.arbitrary()? {
                    let m = self.push("iconst", "iconst.i32 3".into(), vec![], &[types::I32], true)[0];
                    self.push("band", "band #, #".into(), vec![x, m], &[types::I32], true)[0]
                } else {
                    x
                };
                let d = self.forward(bi, n, bp)?;
                let k = self.u.int_in_range(0..=4)?;
                let mut ts = Vec::with_capacity(k);
                for _ in 0..k {
                    ts.push(self.forward(bi, n, bp)?);
                }
                Term::BrTable(x, d, ts)
            }
            7 | 8 if bi >= 1 => {
                // A loop: back to an earlier block while the counter lasts.
                let to = self.u.int_in_range(1..=bi)?;
                let ctr = self.ctr;
                let zero = self.push("iconst", "iconst.i32 0".into(), vec![], &[types::I32], true)[0];
                let c = self.push("icmp", "icmp ne #, #".into(), vec![ctr, zero], &[types::I8], true)[0];
                let one = self.push("iconst", "iconst.i32 1".into(), vec![], &[types::I32], true)[0];
                let dec = self.push("isub", "isub #, #".into(), vec![ctr, one], &[types::I32], true)[0];
                // The counter arithmetic must survive shrinking.
                let len = self.insts.len();
                for i in &mut self.insts[len - 4..] {
                    i.pinned = true;
                }
                let back = self.target(to, &bp[to], dec)?;
                let fwd = self.forward(bi, n, bp)?;
                Term::Brif(c, back, fwd)
            }
            9 if self.u.ratio(1u8, 3u8)? => Term::Trap(self.u.choose(TRAP_CODES)?.to_string()),
            _ => {
                if let Some(t) = self.tail_call()? {
                    return Ok(t);
                }
                let rets = self.func.rets.clone();
                let mut vals = Vec::with_capacity(rets.len());
                for t in rets {
                    vals.push(self.operand(t)?);
                }
                Term::Return(vals)
            }
        })
    }
}

//! Test helpers: build functions through the DFG/Layout API and run them with the
//! interpreter, a small deterministic random generator for property tests, and the
//! location of the `shared/` folder and its `.clif` files.

#![allow(dead_code)]

use kiln_ir::data_value::DataValue;
use kiln_ir::entities::{Block, Inst, Value};
use kiln_ir::extname::UserFuncName;
use kiln_ir::function::Function;
use kiln_ir::instructions::{InstructionData, ValueList};
use kiln_ir::interp::{InterpConfig, InterpError, Interpreter};
use kiln_ir::opcodes::Opcode;
use kiln_ir::signature::{AbiParam, CallConv, Signature};
use kiln_ir::types::Type;
use std::path::{Path, PathBuf};

/// A function under construction, appending to a current block.
pub struct Fb {
    pub f: Function,
    pub cur: Block,
}

impl Fb {
    /// A function `%name(params) -> rets` with an entry block taking the parameters.
    pub fn new(name: &str, params: &[Type], rets: &[Type]) -> Fb {
        Self::with_cc(name, params, rets, CallConv::Fast)
    }

    /// Same with an explicit calling convention.
    pub fn with_cc(name: &str, params: &[Type], rets: &[Type], cc: CallConv) -> Fb {
        let mut sig = Signature::new(cc);
        sig.params = params.iter().map(|&t| AbiParam::new(t)).collect();
        sig.returns = rets.iter().map(|&t| AbiParam::new(t)).collect();
        let mut f = Function::with_name_signature(UserFuncName::testcase(name), sig);
        let b = f.dfg.make_block();
        for &t in params {
            f.dfg.append_block_param(b, t);
        }
        f.layout.append_block(b);
        Fb { f, cur: b }
    }

    /// Parameter `i` of the entry block.
    pub fn param(&self, i: usize) -> Value {
        let entry = self.f.layout.entry_block().unwrap();
        self.f.dfg.block_params(entry)[i]
    }

    /// A new block with parameters (appended to the layout).
    pub fn block(&mut self, params: &[Type]) -> Block {
        let b = self.f.dfg.make_block();
        for &t in params {
            self.f.dfg.append_block_param(b, t);
        }
        self.f.layout.append_block(b);
        b
    }

    /// Continue appending to `b`.
    pub fn switch(&mut self, b: Block) {
        self.cur = b;
    }

    /// Append an instruction with controlling type `ctrl`; its results are made from the
    /// opcode table (or the call signature).
    pub fn ins(&mut self, data: InstructionData, ctrl: Type) -> Inst {
        let i = self.f.dfg.make_inst(data);
        self.f.dfg.make_inst_results(i, ctrl).expect("result types");
        self.f.layout.append_inst(i, self.cur);
        i
    }

    /// Result `n` of `inst`.
    pub fn res(&self, inst: Inst, n: usize) -> Value {
        self.f.dfg.inst_results(inst)[n]
    }

    /// A value list.
    pub fn list(&mut self, vals: &[Value]) -> ValueList {
        ValueList::from_slice(vals, &mut self.f.dfg.value_lists)
    }

    /// `return vals`.
    pub fn ret(&mut self, vals: &[Value]) {
        let args = self.list(vals);
        self.ins(InstructionData::MultiAry { opcode: Opcode::Return, args }, kiln_ir::types::INVALID);
    }

    /// `iconst.ty x`.
    pub fn iconst(&mut self, ty: Type, x: i64) -> Value {
        let i = self.ins(InstructionData::UnaryImm { opcode: Opcode::Iconst, imm: kiln_ir::immediates::Imm64(x) }, ty);
        self.res(i, 0)
    }

    /// Binary instruction.
    pub fn bin(&mut self, op: Opcode, a: Value, b: Value) -> Value {
        let ty = self.f.dfg.value_type(a);
        let i = self.ins(InstructionData::Binary { opcode: op, args: [a, b] }, ty);
        self.res(i, 0)
    }
}

/// Run function 0 of `funcs` with the default configuration.
pub fn run(funcs: &[Function], args: &[DataValue]) -> Result<Vec<DataValue>, InterpError> {
    Interpreter::new(funcs, InterpConfig::default()).call(0, args)
}

/// Build `f(args) = op(args)` for one instruction made by `make` from the parameters, with
/// controlling type `ctrl`, returning all its results; run it.
pub fn eval(
    make: impl FnOnce(&mut Fb, &[Value]) -> InstructionData,
    ctrl: Type,
    args: &[DataValue],
) -> Result<Vec<DataValue>, InterpError> {
    let tys: Vec<Type> = args.iter().map(|a| a.ty()).collect();
    let mut fb = Fb::new("t", &tys, &[]);
    let params: Vec<Value> = (0..tys.len()).map(|i| fb.param(i)).collect();
    let data = make(&mut fb, &params);
    let inst = fb.ins(data, ctrl);
    let results: Vec<Value> = fb.f.dfg.inst_results(inst).to_vec();
    let rtys: Vec<Type> = results.iter().map(|&r| fb.f.dfg.value_type(r)).collect();
    fb.f.signature.returns = rtys.iter().map(|&t| AbiParam::new(t)).collect();
    fb.ret(&results);
    run(&[fb.f], args)
}

/// xorshift64* generator.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    pub fn u128(&mut self) -> u128 {
        ((self.next() as u128) << 64) | self.next() as u128
    }
    /// Interesting bits for a lane of `bits` bits of an integer (`float == false`) or float.
    pub fn lane(&mut self, bits: u32, float: bool) -> u128 {
        let m = if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 };
        let sign = 1u128 << (bits - 1);
        let r = self.below(16);
        let v = if float {
            let (w, t) = match bits {
                16 => (5, 10),
                32 => (8, 23),
                64 => (11, 52),
                _ => (15, 112),
            };
            let expmax = ((1u128 << w) - 1) << t;
            let bias = ((1u128 << (w - 1)) - 1) << t;
            match r {
                0 => 0,
                1 => sign,
                2 => expmax,
                3 => expmax | (1 << (t - 1)),
                4 => expmax | self.u128() & ((1 << t) - 1) | 1,
                5 => self.u128() & ((1 << t) - 1),
                6 => bias,
                7 => bias | self.u128() & ((1 << t) - 1),
                8 => (bias + ((self.below(64) as u128) << t)) | (self.u128() & ((1 << t) - 1)),
                9 => bias - (1 << t),
                _ => self.u128(),
            }
        } else {
            match r {
                0 => 0,
                1 => 1,
                2 => m,
                3 => sign,
                4 => sign - 1,
                5 => self.below(bits as u64 + 2) as u128,
                6 => (self.below(7) as u128).wrapping_sub(3),
                _ => self.u128(),
            }
        };
        v & m
    }
    /// A random value of type `ty`.
    pub fn value(&mut self, ty: Type) -> DataValue {
        if ty.is_vector() {
            let lb = (ty.lane_bits() / 8) as usize;
            let mut bytes = Vec::with_capacity(ty.bytes() as usize);
            for _ in 0..ty.lane_count() {
                let l = self.lane(ty.lane_bits(), ty.is_float());
                bytes.extend_from_slice(&l.to_le_bytes()[..lb]);
            }
            DataValue::from_le_bytes(ty, &bytes).unwrap()
        } else {
            DataValue::from_u128(ty, self.lane(ty.bits(), ty.is_float())).unwrap()
        }
    }
}

/// The `shared/` folder: `KILN_SHARED_DIR`, else the nearest ancestor of the crate that has
/// a `shared/clif` folder (the repository's sibling, or a worktree's ancestor).
pub fn shared() -> PathBuf {
    if let Some(d) = std::env::var_os("KILN_SHARED_DIR") {
        return PathBuf::from(d);
    }
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while dir.pop() {
        let cand = dir.join("shared");
        if cand.join("clif").is_dir() {
            return cand;
        }
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared"))
}

/// Every `.clif` file below `dir`, recursively, in sorted order (appended to `out`).
pub fn clif_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            clif_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "clif") {
            out.push(p);
        }
    }
}

//! Lowered riscv64 code run under `qemu-riscv64`, compared with the interpreter: the CLIF
//! functions of `riscv64_lower/*.clif` are compiled by Kiln for several riscv64 targets
//! (the base RV64G, with Zba/Zbb/Zbs/Zbkb/Zicond/Zfa, with the compressed forms), linked
//! into a C program built with `riscv64-linux-gnu-gcc` (calls between the functions through
//! the assembler's relocations), and each function is called on inputs drawn from a
//! fixed-seed pool of edge values and random bits. Every result (or trap) must be the
//! interpreter's, bit for bit (any NaN matches any NaN).
//!
//! Functions take scalar integers (i8–i128) and floats (f32, f64) and return one value or
//! two integers up to 64 bits. Without the cross compiler or qemu the test fails with a clear
//! message unless `KILN_SKIP_QEMU=1` is set.

use kiln_codegen::Context;
use kiln_codegen::machinst::buffer::{Reloc, RelocTarget};
use kiln_ir::Function;
use kiln_ir::data_value::DataValue;
use kiln_ir::interp::{InterpConfig, InterpError, Interpreter};
use kiln_ir::settings::{Flags, TargetSpec};
use kiln_ir::text::parse_functions;
use kiln_ir::types::{self, Type};
use std::fmt::Write as _;

#[path = "common/rv64_qemu.rs"]
mod rv64_qemu;
use rv64_qemu::{run_under_qemu, skip_qemu};

/// The targets every file runs on.
const TARGETS: &[(&str, &[&str])] = &[
    ("riscv64", &[]),
    ("riscv64", &["has_zba", "has_zbb", "has_zbs", "has_zbkb", "has_zicond", "has_zfa"]),
    ("riscv64gc", &["has_c", "has_zcb", "has_zba", "has_zbb"]),
];

/// Cases per function.
const CASES: usize = 40;

/// A small xorshift generator (fixed seed: the inputs are the same on every run).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// An argument of type `ty`: an edge value or random bits.
fn input(rng: &mut Rng, ty: Type) -> DataValue {
    let r = rng.next();
    if ty.is_float() {
        const F64: [f64; 18] = [
            0.0,
            -0.0,
            1.0,
            -1.5,
            2.5,
            -2.5,
            0.49999999999999994,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e10,
            -1e19,
            4294967296.0,
            -2147483648.0,
            2147483647.5,
            9.3e18,
            f64::MIN_POSITIVE,
            1.5e-310,
        ];
        let v = if r % 4 == 0 { f64::from_bits(rng.next()) } else { F64[(r >> 8) as usize % F64.len()] };
        return if ty == types::F32 {
            DataValue::from_u128(ty, (v as f32).to_bits() as u128).unwrap()
        } else {
            DataValue::from_u128(ty, v.to_bits() as u128).unwrap()
        };
    }
    let bits = ty.bits();
    let edge: [i128; 9] = [0, 1, -1, 2, 7, -8, 31, 64, 100];
    let v: u128 = match r % 6 {
        0 | 1 => edge[(r >> 8) as usize % edge.len()] as u128,
        2 => 1u128 << (bits - 1),       // min
        3 => (1u128 << (bits - 1)) - 1, // max
        _ => (rng.next() as u128) << 64 | rng.next() as u128,
    };
    let mask = if bits == 128 { u128::MAX } else { (1u128 << bits) - 1 };
    DataValue::from_u128(ty, v & mask).unwrap()
}

fn c_type(ty: Type, ret: bool) -> &'static str {
    match ty {
        types::F32 => "float",
        types::F64 => "double",
        types::I128 => "unsigned __int128",
        // Narrow results have unspecified upper bits: the harness masks them.
        _ if ret => "uint64_t",
        types::I8 => "int8_t",
        types::I16 => "int16_t",
        types::I32 => "int32_t",
        _ => "int64_t",
    }
}

fn c_literal(v: &DataValue) -> String {
    let bits = v.to_u128().unwrap();
    match v.ty() {
        types::F32 => format!("f32_of(0x{:x}u)", bits as u32),
        types::F64 => format!("f64_of(0x{:x}ull)", bits as u64),
        types::I128 => format!("(((unsigned __int128)0x{:x}ull << 64) | 0x{:x}ull)", (bits >> 64) as u64, bits as u64),
        t => format!("({})0x{:x}ull", c_type(t, false), bits as u64),
    }
}

/// The symbol of a function (or of a call's target).
fn symbol(t: &RelocTarget) -> Option<String> {
    match t {
        RelocTarget::TestCase(n) => Some(format!("kf_{n}")),
        RelocTarget::User { namespace, index } => Some(format!("kf_u{namespace}_{index}")),
        _ => None,
    }
}

/// The function's code as assembler input, with its relocations as `.reloc` directives.
fn asm_function(name: &str, code: &kiln_codegen::CompiledCode) -> Result<String, String> {
    let mut s = format!(".text\n.balign 4\n.globl {name}\n{name}:\n");
    let bytes = code.code();
    let mut relocs: Vec<_> = code.buffer.relocs.iter().collect();
    relocs.sort_by_key(|r| r.offset);
    for r in &relocs {
        let kind = match r.kind {
            Reloc::RiscvCallPlt => "R_RISCV_CALL_PLT",
            Reloc::Abs8 => "R_RISCV_64",
            ref k => return Err(format!("{name}: relocation {k:?}")),
        };
        let sym = symbol(&r.target).ok_or_else(|| format!("{name}: relocation to {:?}", r.target))?;
        let _ = writeln!(s, ".reloc {name}+{}, {kind}, {sym}+{}", r.offset, r.addend);
    }
    let b: Vec<String> = bytes.iter().map(|b| format!("{b:#04x}")).collect();
    for chunk in b.chunks(32) {
        let _ = writeln!(s, ".byte {}", chunk.join(","));
    }
    Ok(s)
}

/// What the interpreter says a call returns: the results' bits, or `None` for a trap.
fn expected(interp: &mut Interpreter, name: &str, args: &[DataValue]) -> Option<Option<Vec<DataValue>>> {
    match interp.call_by_name(name, args) {
        Ok(r) => Some(Some(r)),
        Err(InterpError::Trap(_)) => Some(None),
        // Fuel, undefined behaviour: not a case to compare.
        Err(_) => None,
    }
}

struct Case {
    func: usize,
    args: Vec<DataValue>,
    want: Option<Vec<DataValue>>,
}

fn c_program(funcs: &[Function], cases: &[Case]) -> String {
    let mut c = String::from(
        "#include <stdio.h>\n#include <stdint.h>\n#include <string.h>\n#include <signal.h>\n#include <setjmp.h>\n\
         static sigjmp_buf jb;\nstatic void on_sig(int s) { siglongjmp(jb, s); }\n\
         static float f32_of(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }\n\
         static double f64_of(uint64_t b) { double f; memcpy(&f, &b, 8); return f; }\n\
         static void p32(float f) { uint32_t b; memcpy(&b, &f, 4); printf(\"%x\\n\", b); }\n\
         static void p64(double f) { uint64_t b; memcpy(&b, &f, 8); printf(\"%llx\\n\", (unsigned long long)b); }\n\
         static void pi(uint64_t v, int bits) { if (bits < 64) v &= (1ull << bits) - 1; printf(\"%llx\\n\", (unsigned long long)v); }\n\
         static void p128(unsigned __int128 v) { printf(\"%llx:%llx\\n\", (unsigned long long)(v >> 64), (unsigned long long)v); }\n\
         typedef struct { uint64_t a, b; } pair;\n",
    );
    let mut called: Vec<usize> = cases.iter().map(|c| c.func).collect();
    called.dedup();
    called.sort_unstable();
    called.dedup();
    for f in called.iter().map(|&i| &funcs[i]) {
        let rets = &f.signature.returns;
        let ret = if rets.len() == 2 { "pair" } else { c_type(rets[0].value_type, true) };
        let params: Vec<&str> = f.signature.params.iter().map(|p| c_type(p.value_type, false)).collect();
        let _ = writeln!(c, "extern {ret} kf_{}({});", f.name.to_string().trim_start_matches('%'), params.join(", "));
    }
    c.push_str(
        "int main(void) {\n  struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_handler = on_sig;\n  \
         sigaction(SIGILL, &sa, 0); sigaction(SIGTRAP, &sa, 0); sigaction(SIGSEGV, &sa, 0); sigaction(SIGBUS, &sa, 0); sigaction(SIGFPE, &sa, 0);\n  setvbuf(stdout, 0, _IOFBF, 1 << 16);\n",
    );
    for case in cases {
        let f = &funcs[case.func];
        let name = f.name.to_string().trim_start_matches('%').to_string();
        let args: Vec<String> = case.args.iter().map(c_literal).collect();
        let call = format!("kf_{name}({})", args.join(", "));
        let rets = &f.signature.returns;
        let print = if rets.len() == 2 {
            format!("pair p = {call}; pi(p.a, {}); pi(p.b, {});", rets[0].value_type.bits(), rets[1].value_type.bits())
        } else {
            match rets[0].value_type {
                types::F32 => format!("p32({call});"),
                types::F64 => format!("p64({call});"),
                types::I128 => format!("p128({call});"),
                t => format!("pi({call}, {});", t.bits()),
            }
        };
        let _ = writeln!(c, "  if (sigsetjmp(jb, 1) == 0) {{ {print} }} else printf(\"trap\\n\");");
    }
    c.push_str("  return 0;\n}\n");
    c
}

/// The line the C program prints for a result.
fn render(want: &Option<Vec<DataValue>>) -> String {
    let Some(vals) = want else { return "trap".into() };
    let mut lines = Vec::new();
    for v in vals {
        let bits = v.to_u128().unwrap();
        lines.push(match v.ty() {
            types::I128 => format!("{:x}:{:x}", (bits >> 64) as u64, bits as u64),
            _ => format!("{bits:x}"),
        });
    }
    lines.join("\n")
}

fn is_nan_line(ty: Type, line: &str) -> bool {
    let Ok(b) = u64::from_str_radix(line, 16) else { return false };
    match ty {
        types::F32 => f32::from_bits(b as u32).is_nan(),
        types::F64 => f64::from_bits(b).is_nan(),
        _ => false,
    }
}

/// Can the C harness call `f`? Scalar integers and floats in, one value or two integers
/// out; no `tail` function with stack arguments (it pops them, C would not expect that).
fn callable(f: &Function) -> bool {
    let scalar = |t: Type| (t.is_int() && t.is_scalar()) || t == types::F32 || t == types::F64;
    let rets = &f.signature.returns;
    f.signature.params.iter().all(|p| scalar(p.value_type))
        && ((rets.len() == 1 && scalar(rets[0].value_type))
            || (rets.len() == 2 && rets.iter().all(|r| r.value_type.is_int() && r.value_type.bits() <= 64)))
        && !(f.signature.call_conv == kiln_ir::signature::CallConv::Tail && f.signature.params.len() > 8)
}

/// The cases whose output line(s) differ from the interpreter's results.
fn compare(funcs: &[Function], cases: &[Case], out: &str) -> Vec<String> {
    let mut lines = out.lines();
    let mut failures = Vec::new();
    for case in cases {
        let f = &funcs[case.func];
        let want = render(&case.want);
        let n = if case.want.is_some() { f.signature.returns.len() } else { 1 };
        let got: Vec<&str> = lines.by_ref().take(n).collect();
        let got = got.join("\n");
        let ret_ty = f.signature.returns[0].value_type;
        let nan_ok = case.want.is_some() && is_nan_line(ret_ty, &want) && is_nan_line(ret_ty, &got);
        if got != want && !nan_ok {
            failures.push(format!("{}({:?}): got {got:?}, want {want:?}", f.name, case.args));
        }
    }
    failures
}

/// Compile and run every function of `file` on every target; returns the number of cases
/// compared.
fn check_file(file: &str) -> usize {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/riscv64_lower").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let funcs = parse_functions(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut interp = Interpreter::new(&funcs, InterpConfig { fuel: Some(1_000_000), ..InterpConfig::default() });
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ file.len() as u64);
    let mut cases = Vec::new();
    for (i, f) in funcs.iter().enumerate() {
        if !callable(f) {
            // Compiled (and called by the others) but not called from C.
            continue;
        }
        let name = f.name.to_string();
        let name = name.trim_start_matches('%');
        for _ in 0..CASES {
            let args: Vec<DataValue> = f.signature.params.iter().map(|p| input(&mut rng, p.value_type)).collect();
            if let Some(want) = expected(&mut interp, name, &args) {
                cases.push(Case { func: i, args, want });
            }
        }
    }
    let main_c = c_program(&funcs, &cases);
    for (triple, words) in TARGETS {
        let spec = TargetSpec::parse(triple, words).expect("target");
        let isa = kiln_isa::lookup(&spec, Flags::new()).expect("riscv64 backend");
        let mut asm = String::new();
        for f in &funcs {
            let mut ctx = Context::for_function(f.clone());
            let code = ctx.compile(&*isa).unwrap_or_else(|e| panic!("{file}: {} on {triple} {words:?}: {e}", f.name));
            let name = f.name.to_string();
            asm.push_str(&asm_function(&format!("kf_{}", name.trim_start_matches('%')), &code).expect("relocations"));
        }
        let tag = format!("{}-{}", file.trim_end_matches(".clif"), words.len());
        let out = run_under_qemu(&tag, &asm, &main_c);
        let failures = compare(&funcs, &cases, &out);
        assert!(
            failures.is_empty(),
            "{file} on {triple} {words:?}: {} of {} cases differ:\n{}",
            failures.len(),
            cases.len(),
            failures[..failures.len().min(30)].join("\n")
        );
    }
    cases.len()
}

macro_rules! files {
    ($($test:ident => $file:literal),* $(,)?) => {$(
        #[test]
        fn $test() {
            if skip_qemu() {
                return;
            }
            let n = check_file($file);
            assert!(n >= 20, "{}: only {n} cases", $file);
        }
    )*};
}

files! {
    integer_arithmetic => "int.clif",
    compares_selects_branches_overflow => "cmp.clif",
    division => "div.clif",
    floats => "float.clif",
    conversions => "conv.clif",
    i128_operations => "i128.clif",
    memory => "mem.clif",
    calls => "call.clif",
}

//! Edge-case tests of the reference interpreter, per opcode family, on functions built
//! through the DFG/Layout API.

mod common;

use common::{Fb, eval, run};
use kiln_ir::condcodes::{FloatCC, IntCC};
use kiln_ir::data_value::DataValue as DV;
use kiln_ir::entities::Value;
use kiln_ir::extname::{ExtFuncData, ExternalName};
use kiln_ir::function::{GlobalValueData, StackSlotData};
use kiln_ir::immediates::{Ieee32, Ieee64, Imm64, Offset32};
use kiln_ir::instructions::{
    AtomicRmwOp, BlockArg, BlockCall, ExceptionItem, ExceptionTableData, InstructionData as D,
};
use kiln_ir::interp::{InterpConfig, InterpError, Interpreter};
use kiln_ir::memflags::{Endianness, MemFlags};
use kiln_ir::opcodes::Opcode::{self, *};
use kiln_ir::signature::{AbiParam, ArgumentPurpose, CallConv, Signature};
use kiln_ir::trapcode::TrapCode;
use kiln_ir::types::{self, *};

fn bin(op: Opcode, a: DV, b: DV) -> Result<Vec<DV>, InterpError> {
    let ty = a.ty();
    eval(|_, p| D::Binary { opcode: op, args: [p[0], p[1]] }, ty, &[a, b])
}
fn un(op: Opcode, a: DV) -> Result<Vec<DV>, InterpError> {
    let ty = a.ty();
    eval(|_, p| D::Unary { opcode: op, arg: p[0] }, ty, &[a])
}
fn un_to(op: Opcode, ctrl: Type, a: DV) -> Result<Vec<DV>, InterpError> {
    eval(|_, p| D::Unary { opcode: op, arg: p[0] }, ctrl, &[a])
}
fn vec(ty: Type, lanes: &[i128]) -> DV {
    let lb = (ty.lane_bits() / 8) as usize;
    let mut b = Vec::new();
    for &l in lanes {
        b.extend_from_slice(&l.to_le_bytes()[..lb]);
    }
    DV::from_le_bytes(ty, &b).unwrap()
}
fn f32v(x: f32) -> DV {
    DV::F32(Ieee32::with_float(x))
}
fn f64v(x: f64) -> DV {
    DV::F64(Ieee64::with_float(x))
}
fn trap(c: TrapCode) -> Result<Vec<DV>, InterpError> {
    Err(InterpError::Trap(c))
}

#[test]
fn integer_edges() {
    assert_eq!(bin(Iadd, DV::I8(127), DV::I8(1)), Ok(vec![DV::I8(-128)]));
    assert_eq!(bin(Sdiv, DV::I32(i32::MIN), DV::I32(-1)), trap(TrapCode::INTEGER_OVERFLOW));
    assert_eq!(bin(Srem, DV::I32(i32::MIN), DV::I32(-1)), Ok(vec![DV::I32(0)]));
    assert_eq!(bin(Srem, DV::I128(i128::MIN), DV::I128(-1)), Ok(vec![DV::I128(0)]));
    assert_eq!(bin(Udiv, DV::I64(5), DV::I64(0)), trap(TrapCode::INTEGER_DIVISION_BY_ZERO));
    assert_eq!(bin(Sdiv, DV::I128(i128::MIN), DV::I128(-1)), trap(TrapCode::INTEGER_OVERFLOW));
    assert_eq!(bin(Umulhi, DV::I128(-1), DV::I128(-1)), Ok(vec![DV::I128(-2)]));
    assert_eq!(bin(Smulhi, DV::I64(i64::MIN), DV::I64(i64::MIN)), Ok(vec![DV::I64(1 << 62)]));
    assert_eq!(un(Iabs, DV::I128(i128::MIN)), Ok(vec![DV::I128(i128::MIN)]));
    assert_eq!(un(Ineg, DV::I16(i16::MIN)), Ok(vec![DV::I16(i16::MIN)]));
    assert_eq!(un(Popcnt, DV::I128(-1)), Ok(vec![DV::I128(128)]));
    assert_eq!(un(Clz, DV::I128(1)), Ok(vec![DV::I128(127)]));
    assert_eq!(un(Bswap, DV::I128(0x0102)), Ok(vec![DV::I128(0x0201 << 112)]));
    assert_eq!(un(Bitrev, DV::I128(1)), Ok(vec![DV::I128(i128::MIN)]));
    assert_eq!(un_to(Bmask, I128, DV::I8(2)), Ok(vec![DV::I128(-1)]));
    assert_eq!(un_to(Bmask, I8, DV::I128(0)), Ok(vec![DV::I8(0)]));
    // Overflow flags.
    let ov = |op, a, b| eval(|_, p| D::Binary { opcode: op, args: [p[0], p[1]] }, I8, &[DV::I8(a), DV::I8(b)]);
    assert_eq!(ov(SaddOverflow, 127, 1), Ok(vec![DV::I8(-128), DV::I8(1)]));
    assert_eq!(ov(UaddOverflow, -1, 1), Ok(vec![DV::I8(0), DV::I8(1)]));
    assert_eq!(ov(UsubOverflow, 0, 1), Ok(vec![DV::I8(-1), DV::I8(1)]));
    assert_eq!(ov(SmulOverflow, -128, -1), Ok(vec![DV::I8(-128), DV::I8(1)]));
    let cin = |op, a, b, c| {
        eval(|_, p| D::Ternary { opcode: op, args: [p[0], p[1], p[2]] }, I8, &[DV::I8(a), DV::I8(b), DV::I8(c)])
    };
    assert_eq!(cin(SaddOverflowCin, -128, -1, 1), Ok(vec![DV::I8(-128), DV::I8(0)]));
    assert_eq!(cin(UaddOverflowCin, -1, 0, 5), Ok(vec![DV::I8(0), DV::I8(1)]));
    assert_eq!(cin(SsubOverflowBin, 127, -1, 1), Ok(vec![DV::I8(127), DV::I8(0)]));
    let trap_add = |a, b| {
        eval(
            |_, p| D::IntAddTrap { opcode: UaddOverflowTrap, args: [p[0], p[1]], code: TrapCode::user(7).unwrap() },
            I32,
            &[DV::I32(a), DV::I32(b)],
        )
    };
    assert_eq!(trap_add(-1, 1), trap(TrapCode::user(7).unwrap()));
    assert_eq!(trap_add(1, 1), Ok(vec![DV::I32(2)]));
}

#[test]
fn shifts() {
    assert_eq!(bin(Ishl, DV::I64(1), DV::I64(65)), Ok(vec![DV::I64(2)]));
    // Amount of a different width, including i128.
    let sh = |op, x: DV, amt: DV| {
        let ty = x.ty();
        eval(|_, p| D::Binary { opcode: op, args: [p[0], p[1]] }, ty, &[x, amt])
    };
    assert_eq!(sh(Ishl, DV::I32(1), DV::I128((1 << 100) + 33)), Ok(vec![DV::I32(2)]));
    assert_eq!(sh(Sshr, DV::I128(i128::MIN), DV::I8(127)), Ok(vec![DV::I128(-1)]));
    assert_eq!(sh(Rotr, DV::I128(1), DV::I64(129)), Ok(vec![DV::I128(i128::MIN)]));
    let v = vec(I8X16, &[1; 16]);
    assert_eq!(sh(Ishl, v, DV::I32(9)), Ok(vec![vec(I8X16, &[2; 16])]));
    let v = vec(I16X8, &[-4, 4, -4, 4, 0, 1, 2, 3]);
    assert_eq!(sh(Sshr, v, DV::I8(17)), Ok(vec![vec(I16X8, &[-2, 2, -2, 2, 0, 0, 1, 1])]));
}

#[test]
fn comparisons_and_selects() {
    let icmp = |cc, a: DV, b: DV| {
        let ty = a.ty();
        eval(|_, p| D::IntCompare { opcode: Icmp, cond: cc, args: [p[0], p[1]] }, ty, &[a, b])
    };
    assert_eq!(icmp(IntCC::SignedLessThan, DV::I128(-1), DV::I128(0)), Ok(vec![DV::I8(1)]));
    assert_eq!(icmp(IntCC::UnsignedLessThan, DV::I128(-1), DV::I128(0)), Ok(vec![DV::I8(0)]));
    assert_eq!(
        icmp(IntCC::Equal, vec(I32X4, &[1, 2, 3, 4]), vec(I32X4, &[1, 0, 3, 0])),
        Ok(vec![vec(I32X4, &[-1, 0, -1, 0])])
    );
    let fcmp = |cc, a: DV, b: DV| {
        let ty = a.ty();
        eval(|_, p| D::FloatCompare { opcode: Fcmp, cond: cc, args: [p[0], p[1]] }, ty, &[a, b])
    };
    assert_eq!(fcmp(FloatCC::Equal, f32v(-0.0), f32v(0.0)), Ok(vec![DV::I8(1)]));
    assert_eq!(fcmp(FloatCC::Unordered, f64v(f64::NAN), f64v(0.0)), Ok(vec![DV::I8(1)]));
    assert_eq!(fcmp(FloatCC::UnorderedOrLessThan, f64v(f64::NAN), f64v(0.0)), Ok(vec![DV::I8(1)]));
    assert_eq!(fcmp(FloatCC::LessThan, f64v(f64::NAN), f64v(0.0)), Ok(vec![DV::I8(0)]));
    let sel = |c: DV, x: DV, y: DV| {
        let ty = x.ty();
        eval(|_, p| D::Ternary { opcode: Select, args: [p[0], p[1], p[2]] }, ty, &[c, x, y])
    };
    assert_eq!(sel(DV::I128(1 << 100), f32v(1.0), f32v(2.0)), Ok(vec![f32v(1.0)]));
    let blend = eval(
        |_, p| D::Ternary { opcode: Blendv, args: [p[0], p[1], p[2]] },
        I32X4,
        &[vec(I32X4, &[-1, 0, i32::MIN as i128, 1]), vec(I32X4, &[1, 2, 3, 4]), vec(I32X4, &[5, 6, 7, 8])],
    );
    assert_eq!(blend, Ok(vec![vec(I32X4, &[1, 6, 3, 8])]));
}

#[test]
fn floats() {
    let nan32 = DV::F32(Ieee32(0x7fc0_0000));
    assert_eq!(bin(Fadd, f32v(f32::INFINITY), f32v(f32::NEG_INFINITY)), Ok(vec![nan32.clone()]));
    // NaN payloads are not propagated.
    assert_eq!(bin(Fmul, DV::F32(Ieee32(0xffc0_1234)), f32v(1.0)), Ok(vec![nan32.clone()]));
    assert_eq!(bin(Fmin, f32v(0.0), f32v(-0.0)), Ok(vec![f32v(-0.0)]));
    assert_eq!(bin(Fmax, f32v(-0.0), f32v(0.0)), Ok(vec![f32v(0.0)]));
    assert_eq!(bin(Fmin, DV::F32(Ieee32(0x7f80_0001)), f32v(1.0)), Ok(vec![nan32.clone()]));
    assert_eq!(un(Sqrt, f64v(-0.0)), Ok(vec![f64v(-0.0)]));
    assert_eq!(un(Fneg, DV::F32(Ieee32(0x7f80_0001))), Ok(vec![DV::F32(Ieee32(0xff80_0001))]));
    assert_eq!(un(Ceil, f32v(-0.5)), Ok(vec![f32v(-0.0)]));
    assert_eq!(un(Nearest, f64v(2.5)), Ok(vec![f64v(2.0)]));
    // Subnormals are not flushed.
    let tiny = f32::from_bits(1);
    assert_eq!(bin(Fadd, f32v(tiny), f32v(tiny)), Ok(vec![DV::F32(Ieee32(2))]));
    let fma =
        eval(|_, p| D::Ternary { opcode: Fma, args: [p[0], p[1], p[2]] }, F64, &[f64v(0.1), f64v(10.0), f64v(-1.0)]);
    assert_eq!(fma, Ok(vec![f64v(0.1f64.mul_add(10.0, -1.0))]));
    assert_eq!(un_to(Fpromote, F64, f32v(1.5)), Ok(vec![f64v(1.5)]));
    assert_eq!(un_to(Fdemote, F32, f64v(1e300)), Ok(vec![f32v(f32::INFINITY)]));
    assert_eq!(un_to(Fdemote, F16, f64v(1.0)), Ok(vec![DV::F16(kiln_ir::immediates::Ieee16(0x3c00))]));
    // f16 arithmetic.
    let h = |x: u16| DV::F16(kiln_ir::immediates::Ieee16(x));
    assert_eq!(bin(Fadd, h(0x3c00), h(0x3c00)), Ok(vec![h(0x4000)]));
    assert_eq!(bin(Fdiv, h(0x3c00), h(0)), Ok(vec![h(0x7c00)]));
    let v =
        eval(|_, p| D::Unary { opcode: FvpromoteLow, arg: p[0] }, types::INVALID, &[vec_f32(&[1.0, 2.0, 3.0, 4.0])]);
    assert_eq!(v, Ok(vec![vec_f64(&[1.0, 2.0])]));
    let v = eval(|_, p| D::Unary { opcode: Fvdemote, arg: p[0] }, types::INVALID, &[vec_f64(&[1.0, -2.0])]);
    assert_eq!(v, Ok(vec![vec_f32(&[1.0, -2.0, 0.0, 0.0])]));
}

fn vec_f32(l: &[f32]) -> DV {
    let b: Vec<u8> = l.iter().flat_map(|x| x.to_le_bytes()).collect();
    DV::from_le_bytes(F32X4, &b).unwrap()
}
fn vec_f64(l: &[f64]) -> DV {
    let b: Vec<u8> = l.iter().flat_map(|x| x.to_le_bytes()).collect();
    DV::from_le_bytes(F64X2, &b).unwrap()
}

#[test]
fn conversions() {
    assert_eq!(un_to(FcvtToSint, I32, f32v(f32::NAN)), trap(TrapCode::BAD_CONVERSION_TO_INTEGER));
    assert_eq!(un_to(FcvtToSint, I32, f32v(2147483648.0)), trap(TrapCode::INTEGER_OVERFLOW));
    assert_eq!(un_to(FcvtToSint, I32, f32v(-2147483648.0)), Ok(vec![DV::I32(i32::MIN)]));
    assert_eq!(un_to(FcvtToUint, I8, f64v(-0.9)), Ok(vec![DV::I8(0)]));
    assert_eq!(un_to(FcvtToUint, I8, f64v(-1.0)), trap(TrapCode::INTEGER_OVERFLOW));
    assert_eq!(un_to(FcvtToUint, I128, f64v(1e30)), Ok(vec![DV::I128(1e30 as u128 as i128)]));
    assert_eq!(un_to(FcvtToSintSat, I16, f32v(-1e9)), Ok(vec![DV::I16(i16::MIN)]));
    assert_eq!(un_to(FcvtToUintSat, I16, f32v(f32::NAN)), Ok(vec![DV::I16(0)]));
    assert_eq!(
        un_to(FcvtToSintSat, I32X4, vec_f32(&[f32::NAN, 1e10, -1e10, -1.5])),
        Ok(vec![vec(I32X4, &[0, i32::MAX as i128, i32::MIN as i128, -1])])
    );
    assert_eq!(
        un_to(X86Cvtt2dq, I32X4, vec_f32(&[f32::NAN, 1e10, -1e10, -1.5])),
        Ok(vec![vec(I32X4, &[i32::MIN as i128, i32::MIN as i128, i32::MIN as i128, -1])])
    );
    assert_eq!(un_to(FcvtFromSint, F32, DV::I128(-1)), Ok(vec![f32v(-1.0)]));
    assert_eq!(un_to(FcvtFromUint, F64, DV::I128(-1)), Ok(vec![f64v(u128::MAX as f64)]));
    assert_eq!(un_to(FcvtFromUint, F32, DV::I8(-1)), Ok(vec![f32v(255.0)]));
    assert_eq!(un_to(Uextend, I128, DV::I8(-1)), Ok(vec![DV::I128(255)]));
    assert_eq!(un_to(Sextend, I128, DV::I8(-1)), Ok(vec![DV::I128(-1)]));
    assert_eq!(un_to(Ireduce, I8, DV::I128(0x1ff)), Ok(vec![DV::I8(-1)]));
    assert_eq!(un(Isplit, DV::I128(1 | (2 << 64))), Ok(vec![DV::I64(1), DV::I64(2)]));
    assert_eq!(un(Isplit, DV::I16(0x1234)), Ok(vec![DV::I8(0x34), DV::I8(0x12)]));
    assert_eq!(bin(Iconcat, DV::I8(0x34), DV::I8(0x12)), Ok(vec![DV::I16(0x1234)]));
}

fn bitcast(to: Type, x: DV, order: Option<Endianness>) -> Result<Vec<DV>, InterpError> {
    eval(
        |fb, p| {
            let mut fl = MemFlags::new();
            if let Some(e) = order {
                fl = fl.with_endianness(e);
            }
            let flags = fb.f.dfg.intern_mem_flags(fl);
            D::LoadNoOffset { opcode: Bitcast, flags, arg: p[0] }
        },
        to,
        &[x],
    )
}

#[test]
fn bitcasts() {
    let v = vec(I32X4, &[1, 2, 3, 4]);
    assert_eq!(
        bitcast(I64X2, v.clone(), Some(Endianness::Little)),
        Ok(vec![vec(I64X2, &[1 + (2 << 32), 3 + (4 << 32)])])
    );
    assert_eq!(bitcast(I64X2, v, Some(Endianness::Big)), Ok(vec![vec(I64X2, &[(1 << 32) + 2, (3 << 32) + 4])]));
    assert_eq!(bitcast(I128, vec(I64X2, &[5, 6]), Some(Endianness::Little)), Ok(vec![DV::I128(5 + (6 << 64))]));
    assert_eq!(bitcast(F32, DV::I32(0x7f), None), Ok(vec![DV::F32(Ieee32(0x7f))]));
    assert_eq!(bitcast(F32X4, vec(I32X4, &[1, 2, 3, 4]), None), Ok(vec![vec_f32_bits(&[1, 2, 3, 4])]));
}

fn vec_f32_bits(l: &[u32]) -> DV {
    let b: Vec<u8> = l.iter().flat_map(|x| x.to_le_bytes()).collect();
    DV::from_le_bytes(F32X4, &b).unwrap()
}

#[test]
fn simd_ops() {
    let x = vec(I8X16, &(0..16).map(|i| i * 3).collect::<Vec<_>>());
    let y = vec(I8X16, &[0, 15, 16, -1, -128, 2, 1, 3, 4, 5, 6, 7, 8, 9, 10, 0x8f]);
    let sw = bin(Swizzle, x.clone(), y.clone()).unwrap();
    assert_eq!(sw, vec![vec(I8X16, &[0, 45, 0, 0, 0, 6, 3, 9, 12, 15, 18, 21, 24, 27, 30, 0])]);
    let pb = bin(X86Pshufb, x.clone(), y).unwrap();
    assert_eq!(pb, vec![vec(I8X16, &[0, 45, 0, 0, 0, 6, 3, 9, 12, 15, 18, 21, 24, 27, 30, 0])]);
    assert_eq!(
        bin(Snarrow, vec(I32X4, &[70000, -70000, 5, -5]), vec(I32X4, &[1, 2, 3, 4])),
        Ok(vec![vec(I16X8, &[32767, -32768, 5, -5, 1, 2, 3, 4])])
    );
    assert_eq!(
        bin(Unarrow, vec(I16X8, &[300, -1, 5, 255, 0, 0, 0, 0]), vec(I16X8, &[0; 8])),
        Ok(vec![vec(I8X16, &[255, 0, 5, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])])
    );
    assert_eq!(
        bin(Uunarrow, vec(I16X8, &[-1, 3, 0, 0, 0, 0, 0, 0]), vec(I16X8, &[0; 8])),
        Ok(vec![vec(I8X16, &[255, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])])
    );
    assert_eq!(un(SwidenHigh, vec(I16X8, &[0, 0, 0, 0, -1, 2, -3, 4])), Ok(vec![vec(I32X4, &[-1, 2, -3, 4])]));
    assert_eq!(un(UwidenLow, vec(I32.by(2).unwrap(), &[-1, 2])), Ok(vec![DV::I64(0xffff_ffff)]));
    assert_eq!(
        bin(IaddPairwise, vec(I32X4, &[1, 2, 3, 4]), vec(I32X4, &[5, 6, 7, 8])),
        Ok(vec![vec(I32X4, &[3, 7, 11, 15])])
    );
    assert_eq!(bin(AvgRound, vec(I8X16, &[-1; 16]), vec(I8X16, &[-1; 16])), Ok(vec![vec(I8X16, &[-1; 16])]));
    assert_eq!(
        bin(
            SqmulRoundSat,
            vec(I16X8, &[-32768, 16384, 0, 0, 0, 0, 0, 0]),
            vec(I16X8, &[-32768, 16384, 0, 0, 0, 0, 0, 0])
        ),
        Ok(vec![vec(I16X8, &[32767, 8192, 0, 0, 0, 0, 0, 0])])
    );
    let madd =
        bin(X86Pmaddubsw, vec(I8X16, &[-128, -128, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), vec(I8X16, &[-1; 16]));
    assert_eq!(madd, Ok(vec![vec(I16X8, &[-32768, 765, 0, 0, 0, 0, 0, 0])]));
    let hb = eval(|_, p| D::Unary { opcode: VhighBits, arg: p[0] }, I8, &[vec(I32X4, &[-1, 0, -1, 1])]);
    assert_eq!(hb, Ok(vec![DV::I8(0b101)]));
    assert_eq!(un(VallTrue, vec(I32X4, &[1, 2, 3, 0])), Ok(vec![DV::I8(0)]));
    assert_eq!(un(VanyTrue, vec_f32(&[0.0, -0.0, 0.0, 0.0])), Ok(vec![DV::I8(1)]));
    let ins = eval(
        |_, p| D::TernaryImm8 { opcode: Insertlane, args: [p[0], p[1]], imm: 3 },
        I32X4,
        &[vec(I32X4, &[1, 2, 3, 4]), DV::I32(9)],
    );
    assert_eq!(ins, Ok(vec![vec(I32X4, &[1, 2, 3, 9])]));
    let ext = eval(|_, p| D::BinaryImm8 { opcode: Extractlane, arg: p[0], imm: 1 }, I64X2, &[vec(I64X2, &[1, -2])]);
    assert_eq!(ext, Ok(vec![DV::I64(-2)]));
    let big = I8.by(256).unwrap();
    let s = eval(|_, p| D::Unary { opcode: Splat, arg: p[0] }, big, &[DV::I8(7)]).unwrap();
    assert_eq!(s[0].to_le_bytes().len(), 256);
    let stv = eval(|_, p| D::Unary { opcode: ScalarToVector, arg: p[0] }, I32X4, &[DV::I32(5)]);
    assert_eq!(stv, Ok(vec![vec(I32X4, &[5, 0, 0, 0])]));
    let shuf = eval(
        |fb, p| {
            let mask = fb.f.dfg.insert_immediate(kiln_ir::constant::ConstantData::new((16..32).rev().collect()));
            D::Shuffle { opcode: Shuffle, args: [p[0], p[1]], mask }
        },
        types::INVALID,
        &[vec(I8X16, &[0; 16]), vec(I8X16, &(0..16).collect::<Vec<_>>())],
    );
    assert_eq!(shuf, Ok(vec![vec(I8X16, &(0..16).rev().collect::<Vec<_>>())]));
}

/// `f(p) = load.T flags (stack slot + off)` after storing `x` at slot+0.
#[allow(clippy::too_many_arguments)]
fn store_load(
    slot: u32,
    align: u8,
    x: DV,
    store_flags: MemFlags,
    off: i32,
    load_ty: Type,
    load_op: Opcode,
    load_flags: MemFlags,
) -> Result<Vec<DV>, InterpError> {
    let mut fb = Fb::new("t", &[x.ty()], &[load_ty]);
    let ss = fb.f.create_stack_slot(StackSlotData::new(slot, align));
    let a = fb.ins(D::StackAddr { opcode: StackAddr, stack_slot: ss, offset: Offset32(0) }, I64);
    let a = fb.res(a, 0);
    let sf = fb.f.dfg.intern_mem_flags(store_flags);
    let p = fb.param(0);
    fb.ins(D::Store { opcode: Store, flags: sf, args: [p, a], offset: Offset32(0) }, x.ty());
    let lf = fb.f.dfg.intern_mem_flags(load_flags);
    let ctrl = if load_ty.is_vector() && load_op != Load { I64 } else { load_ty };
    let l = fb.ins(D::Load { opcode: load_op, flags: lf, arg: a, offset: Offset32(off) }, ctrl);
    let r = fb.res(l, 0);
    fb.ret(&[r]);
    run(&[fb.f], &[x])
}

#[test]
fn memory() {
    let n = MemFlags::new();
    assert_eq!(
        store_load(8, 0, DV::I64(0x0102_0304_0506_0708), n, 0, I64, Load, n),
        Ok(vec![DV::I64(0x0102_0304_0506_0708)])
    );
    assert_eq!(
        store_load(8, 0, DV::I32(0x0102_0304), n, 0, I32, Load, n.with_endianness(Endianness::Big)),
        Ok(vec![DV::I32(0x0403_0201)])
    );
    assert_eq!(store_load(8, 0, DV::I32(-1), n, 1, I32, Sload8, n), Ok(vec![DV::I32(-1)]));
    assert_eq!(store_load(8, 0, DV::I32(-1), n, 2, I64, Uload16, n), Ok(vec![DV::I64(0xffff)]));
    // Out of bounds, partially out of bounds, custom trap code, notrap, misaligned.
    assert_eq!(store_load(8, 0, DV::I32(1), n, 5, I32, Load, n), trap(TrapCode::HEAP_OUT_OF_BOUNDS));
    // Below the frame (its 16-byte frame record sits below the first slot).
    assert_eq!(store_load(8, 0, DV::I32(1), n, -17, I32, Load, n), trap(TrapCode::HEAP_OUT_OF_BOUNDS));
    let u5 = n.with_trap_code(TrapCode::user(5));
    assert_eq!(store_load(8, 0, DV::I32(1), n, 8, I8.by(1).unwrap(), Load, u5), trap(TrapCode::user(5).unwrap()));
    assert!(matches!(
        store_load(8, 0, DV::I32(1), n, 6, I32, Load, MemFlags::trusted()),
        Err(InterpError::Undefined(_))
    ));
    assert!(matches!(store_load(8, 3, DV::I32(1), n, 2, I32, Load, n.with_aligned()), Err(InterpError::Undefined(_))));
    assert_eq!(store_load(0, 0, DV::I8(1), n, 0, I8, Load, n), trap(TrapCode::HEAP_OUT_OF_BOUNDS));
    // Vector lanes in big-endian order.
    let v = vec(I16X8, &[0x0102, 0, 0, 0, 0, 0, 0, 0x0304]);
    assert_eq!(
        store_load(16, 0, v, n.with_endianness(Endianness::Big), 0, I8X16, Load, n),
        Ok(vec![vec(I8X16, &[1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 4])])
    );
    let bytes = vec(I8X16, &[-1, 2, -3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        store_load(16, 0, bytes.clone(), n, 0, I16X8, Sload8x8, n),
        Ok(vec![vec(I16X8, &[-1, 2, -3, 4, 5, 6, 7, 8])])
    );
    assert_eq!(
        store_load(16, 0, bytes.clone(), n, 0, I16X8, Uload8x8, n),
        Ok(vec![vec(I16X8, &[255, 2, 253, 4, 5, 6, 7, 8])])
    );
    assert_eq!(store_load(16, 0, bytes, n, 0, I64X2, Sload32x2, n), Ok(vec![vec(I64X2, &[0x04fd_02ff, 0x0807_0605])]));
    assert_eq!(store_load(16, 0, DV::I128(-5), n, 0, I128, Load, n), Ok(vec![DV::I128(-5)]));
}

#[test]
fn atomics() {
    for (op, old, x, new) in [
        (AtomicRmwOp::Add, 5i16, 7i16, 12i16),
        (AtomicRmwOp::Sub, 5, 7, -2),
        (AtomicRmwOp::Nand, 0x0f, 0x3c, !0x0c),
        (AtomicRmwOp::Smin, -1, 1, -1),
        (AtomicRmwOp::Umin, -1, 1, 1),
        (AtomicRmwOp::Xchg, 3, 4, 4),
    ] {
        let mut fb = Fb::new("t", &[I16, I16], &[I16, I16]);
        let ss = fb.f.create_stack_slot(StackSlotData::new(2, 1));
        let a = fb.ins(D::StackAddr { opcode: StackAddr, stack_slot: ss, offset: Offset32(0) }, I64);
        let a = fb.res(a, 0);
        let f = fb.f.dfg.intern_mem_flags(MemFlags::new());
        let (p0, p1) = (fb.param(0), fb.param(1));
        fb.ins(D::StoreNoOffset { opcode: AtomicStore, flags: f, args: [p0, a] }, I16);
        let r = fb.ins(D::AtomicRmw { opcode: AtomicRmw, flags: f, op, args: [a, p1] }, I16);
        let r = fb.res(r, 0);
        let l = fb.ins(D::LoadNoOffset { opcode: AtomicLoad, flags: f, arg: a }, I16);
        let l = fb.res(l, 0);
        fb.ret(&[r, l]);
        assert_eq!(run(&[fb.f], &[DV::I16(old), DV::I16(x)]), Ok(vec![DV::I16(old), DV::I16(new)]), "{op}");
    }
    // cas
    let mut fb = Fb::new("t", &[I64, I64], &[I64, I64]);
    let ss = fb.f.create_stack_slot(StackSlotData::new(8, 3));
    let a = fb.ins(D::StackAddr { opcode: StackAddr, stack_slot: ss, offset: Offset32(0) }, I64);
    let a = fb.res(a, 0);
    let f = fb.f.dfg.intern_mem_flags(MemFlags::new());
    let (e, x) = (fb.param(0), fb.param(1));
    let r = fb.ins(D::AtomicCas { opcode: AtomicCas, flags: f, args: [a, e, x] }, I64);
    let r = fb.res(r, 0);
    let l = fb.ins(D::LoadNoOffset { opcode: AtomicLoad, flags: f, arg: a }, I64);
    let l = fb.res(l, 0);
    fb.ret(&[r, l]);
    let funcs = [fb.f];
    assert_eq!(run(&funcs, &[DV::I64(0), DV::I64(9)]), Ok(vec![DV::I64(0), DV::I64(9)]));
    assert_eq!(run(&funcs, &[DV::I64(1), DV::I64(9)]), Ok(vec![DV::I64(0), DV::I64(0)]));
}

/// `%leak() -> i64` returns the address of its stack slot; `%main` loads from it.
#[test]
fn freed_frames_are_invalid() {
    let mut leak = Fb::new("leak", &[], &[I64]);
    let ss = leak.f.create_stack_slot(StackSlotData::new(8, 3));
    let a = leak.ins(D::StackAddr { opcode: StackAddr, stack_slot: ss, offset: Offset32(0) }, I64);
    let a = leak.res(a, 0);
    leak.ret(&[a]);
    let mut main = Fb::new("main", &[], &[I64]);
    let sig = main.f.import_signature(leak.f.signature.clone());
    let fr = main.f.import_function(ExtFuncData {
        name: ExternalName::TestCase("leak".into()),
        signature: sig,
        colocated: true,
        patchable: false,
    });
    let args = main.list(&[]);
    let c = main.ins(D::Call { opcode: Call, func_ref: fr, args }, types::INVALID);
    let p = main.res(c, 0);
    let f = main.f.dfg.intern_mem_flags(MemFlags::new());
    let l = main.ins(D::Load { opcode: Load, flags: f, arg: p, offset: Offset32(0) }, I64);
    let l = main.res(l, 0);
    main.ret(&[l]);
    let funcs = [main.f, leak.f];
    assert_eq!(run(&funcs, &[]), trap(TrapCode::HEAP_OUT_OF_BOUNDS));
}

fn import(fb: &mut Fb, name: &str, sig: Signature) -> kiln_ir::entities::FuncRef {
    let sig = fb.f.import_signature(sig);
    fb.f.import_function(ExtFuncData {
        name: ExternalName::from_percent_name(name),
        signature: sig,
        colocated: true,
        patchable: false,
    })
}

/// `%count(n, acc)`: loops n times through a (tail) call or branches.
fn counter(tail: bool) -> kiln_ir::function::Function {
    let mut fb = Fb::with_cc("count", &[I64, I64], &[I64], CallConv::Tail);
    let sig = fb.f.signature.clone();
    let me = import(&mut fb, "count", sig);
    let (n, acc) = (fb.param(0), fb.param(1));
    let done = fb.block(&[]);
    let more = fb.block(&[]);
    let c1 = fb.bc(done);
    let c2 = fb.bc(more);
    fb.ins(D::Brif { opcode: Brif, arg: n, blocks: [c2, c1] }, I64);
    fb.switch(done);
    fb.ret(&[acc]);
    fb.switch(more);
    let one = fb.iconst(I64, 1);
    let n1 = fb.bin(Isub, n, one);
    let a1 = fb.bin(Iadd, acc, one);
    let args = fb.list(&[n1, a1]);
    if tail {
        fb.ins(D::Call { opcode: ReturnCall, func_ref: me, args }, types::INVALID);
    } else {
        let c = fb.ins(D::Call { opcode: Call, func_ref: me, args }, types::INVALID);
        let r = fb.res(c, 0);
        fb.ret(&[r]);
    }
    fb.f
}

trait BlockCalls {
    fn bc(&mut self, b: kiln_ir::entities::Block) -> BlockCall;
    fn bca(&mut self, b: kiln_ir::entities::Block, args: &[BlockArg]) -> BlockCall;
}
impl BlockCalls for Fb {
    fn bc(&mut self, b: kiln_ir::entities::Block) -> BlockCall {
        BlockCall::new(b, [], &mut self.f.dfg.value_lists)
    }
    fn bca(&mut self, b: kiln_ir::entities::Block, args: &[BlockArg]) -> BlockCall {
        BlockCall::new(b, args.iter().copied(), &mut self.f.dfg.value_lists)
    }
}

#[test]
fn calls_tail_calls_depth_and_fuel() {
    let funcs = [counter(true)];
    let mut i = Interpreter::new(&funcs, InterpConfig { max_call_depth: 4, ..InterpConfig::default() });
    assert_eq!(i.call(0, &[DV::I64(1_000_000), DV::I64(0)]), Ok(vec![DV::I64(1_000_000)]));
    assert!(i.fuel_used() > 5_000_000);
    let funcs = [counter(false)];
    let mut i = Interpreter::new(&funcs, InterpConfig::default());
    assert_eq!(i.call(0, &[DV::I64(1000), DV::I64(0)]), Ok(vec![DV::I64(1000)]));
    assert_eq!(i.call(0, &[DV::I64(1_000_000), DV::I64(0)]), Err(InterpError::CallDepth));
    // Reusable after an error.
    assert_eq!(i.call_by_name("%count", &[DV::I64(3), DV::I64(4)]), Ok(vec![DV::I64(7)]));
    let mut i = Interpreter::new(&funcs, InterpConfig { fuel: Some(1000), ..InterpConfig::default() });
    assert_eq!(i.call(0, &[DV::I64(1000), DV::I64(0)]), Err(InterpError::FuelExhausted));
    // Infinite loop.
    let mut fb = Fb::new("spin", &[], &[]);
    let b = fb.block(&[]);
    let c = fb.bc(b);
    fb.ins(D::Jump { opcode: Jump, destination: c }, types::INVALID);
    fb.switch(b);
    let c = fb.bc(b);
    fb.ins(D::Jump { opcode: Jump, destination: c }, types::INVALID);
    let funcs = [fb.f];
    let mut i = Interpreter::new(&funcs, InterpConfig { fuel: Some(10_000), ..InterpConfig::default() });
    assert_eq!(i.call(0, &[]), Err(InterpError::FuelExhausted));
    assert_eq!(i.call(0, &[DV::I32(1)]).map_err(|e| matches!(e, InterpError::Invalid(_))), Err(true));
    assert!(matches!(i.call_by_name("nope", &[]), Err(InterpError::Invalid(_))));
}

#[test]
fn indirect_calls_and_libcalls() {
    let mut fb = Fb::new("main", &[F32], &[F32, F32]);
    let sig =
        Signature { params: vec![AbiParam::new(F32)], returns: vec![AbiParam::new(F32)], call_conv: CallConv::Fast };
    let ceil = import(&mut fb, "CeilF32", sig.clone());
    let near = import(&mut fb, "NearestF32", sig.clone());
    let sref = fb.f.import_signature(sig);
    let x = fb.param(0);
    let args = fb.list(&[x]);
    let c = fb.ins(D::Call { opcode: Call, func_ref: ceil, args }, types::INVALID);
    let r1 = fb.res(c, 0);
    let fa = fb.ins(D::FuncAddr { opcode: FuncAddr, func_ref: near }, I64);
    let fa = fb.res(fa, 0);
    let args = fb.list(&[fa, x]);
    let c = fb.ins(D::CallIndirect { opcode: CallIndirect, sig_ref: sref, args }, types::INVALID);
    let r2 = fb.res(c, 0);
    fb.ret(&[r1, r2]);
    assert_eq!(run(&[fb.f], &[f32v(2.5)]), Ok(vec![f32v(3.0), f32v(2.0)]));
}

#[test]
fn traps_and_branches() {
    let t = eval(|_, _| D::Trap { opcode: Trap, code: TrapCode::user(3).unwrap() }, types::INVALID, &[]);
    assert_eq!(t, trap(TrapCode::user(3).unwrap()));
    let t = eval(|_, _| D::NullAry { opcode: Debugtrap }, types::INVALID, &[]);
    assert_eq!(t, Err(InterpError::DebugTrap));
    let t = eval(
        |_, p| D::CondTrap { opcode: Trapz, arg: p[0], code: TrapCode::INTEGER_OVERFLOW },
        I128,
        &[DV::I128(1 << 100)],
    );
    assert_eq!(t, Ok(vec![]));
    let t = eval(
        |_, p| D::CondTrap { opcode: Trapnz, arg: p[0], code: TrapCode::INTEGER_OVERFLOW },
        I128,
        &[DV::I128(1 << 100)],
    );
    assert_eq!(t, trap(TrapCode::INTEGER_OVERFLOW));
    // br_table: x -> 10*x for x < 3, else 99.
    let mut fb = Fb::new("bt", &[I32], &[I32]);
    let x = fb.param(0);
    let blocks: Vec<_> = (0..4).map(|_| fb.block(&[])).collect();
    let calls: Vec<_> = blocks.iter().map(|&b| fb.bc(b)).collect();
    let jt = fb.f.dfg.jump_tables.push(kiln_ir::instructions::JumpTableData::new(calls[3], &calls[..3]));
    fb.ins(D::BranchTable { opcode: BrTable, arg: x, table: jt }, types::INVALID);
    for (i, &b) in blocks.iter().enumerate() {
        fb.switch(b);
        let v = fb.iconst(I32, if i == 3 { 99 } else { 10 * i as i64 });
        fb.ret(&[v]);
    }
    let funcs = [fb.f];
    for (x, r) in [(0, 0), (2, 20), (3, 99), (-1, 99)] {
        assert_eq!(run(&funcs, &[DV::I32(x)]), Ok(vec![DV::I32(r)]));
    }
}

#[test]
fn exceptions() {
    // %thrower(tag) calls __cranelift_throw; %main try_calls it with handlers for tag 1 and
    // default.
    let ptr = I64;
    let throw_sig = Signature {
        params: [ptr, ptr, ptr, I32, ptr, ptr].iter().map(|&t| AbiParam::new(t)).collect(),
        returns: vec![],
        call_conv: CallConv::Tail,
    };
    let mut th = Fb::with_cc("thrower", &[I32], &[], CallConv::Tail);
    let helper = import(&mut th, "__cranelift_throw", throw_sig);
    let tag = th.param(0);
    let z = th.iconst(I64, 0);
    let p0 = th.iconst(I64, 42);
    let p1 = th.iconst(I64, 100);
    let args = th.list(&[z, z, z, tag, p0, p1]);
    th.ins(D::Call { opcode: Call, func_ref: helper, args }, types::INVALID);
    th.ret(&[]);

    let mut m = Fb::with_cc("main", &[I32], &[I64], CallConv::Tail);
    let tsig = th.f.signature.clone();
    let callee = import(&mut m, "thrower", tsig);
    let sig = m.f.dfg.ext_funcs[callee].signature;
    let tag = m.param(0);
    let normal = m.block(&[]);
    let h1 = m.block(&[I64, I64]);
    let hd = m.block(&[I64]);
    let nb = m.bc(normal);
    let b1 = m.bca(h1, &[BlockArg::TryCallExn(0), BlockArg::TryCallExn(1)]);
    let bd = m.bca(hd, &[BlockArg::TryCallExn(1)]);
    let et = m.f.dfg.exception_tables.push(ExceptionTableData::new(
        sig,
        nb,
        vec![ExceptionItem::Default, ExceptionItem::Tag(1)],
        &[bd, b1],
    ));
    let args = m.list(&[tag]);
    m.ins(D::TryCall { opcode: TryCall, func_ref: callee, args, exception: et }, types::INVALID);
    m.switch(normal);
    let one = m.iconst(I64, 1);
    m.ret(&[one]);
    m.switch(h1);
    let (a, b) = (m.f.dfg.block_params(h1)[0], m.f.dfg.block_params(h1)[1]);
    let d = m.bin(Isub, b, a);
    m.ret(&[d]);
    m.switch(hd);
    let a = m.f.dfg.block_params(hd)[0];
    m.ret(&[a]);
    let funcs = [m.f, th.f];
    assert_eq!(run(&funcs, &[DV::I32(1)]), Ok(vec![DV::I64(58)]));
    assert_eq!(run(&funcs, &[DV::I32(2)]), Ok(vec![DV::I64(100)]));
    let mut i = Interpreter::new(&funcs, InterpConfig::default());
    assert!(matches!(i.call_by_name("thrower", &[DV::I32(1)]), Err(InterpError::Undefined(_))));
}

#[test]
fn global_values() {
    // %f(vmctx) = symbol_value(load(vmctx + 8) + 3) where the caller passes a stack address.
    let mut fb = Fb::new("f", &[I64], &[I64]);
    fb.f.signature.params[0] = AbiParam::special(I64, ArgumentPurpose::VMContext);
    let vm = fb.f.create_global_value(GlobalValueData::VMContext);
    let ld = fb.f.create_global_value(GlobalValueData::Load {
        base: vm,
        offset: Offset32(8),
        global_type: I64,
        flags: MemFlags::trusted().with_readonly(),
    });
    let add = fb.f.create_global_value(GlobalValueData::IAddImm { base: ld, offset: Imm64(3), global_type: I64 });
    let sv = fb.ins(D::UnaryGlobalValue { opcode: SymbolValue, global_value: add }, I64);
    let r = fb.res(sv, 0);
    fb.ret(&[r]);

    let mut m = Fb::new("main", &[], &[I64]);
    let ss = m.f.create_stack_slot(StackSlotData::new(16, 3));
    let a = m.ins(D::StackAddr { opcode: StackAddr, stack_slot: ss, offset: Offset32(0) }, I64);
    let a = m.res(a, 0);
    let v = m.iconst(I64, 39);
    let fl = m.f.dfg.intern_mem_flags(MemFlags::new());
    m.ins(D::Store { opcode: Store, flags: fl, args: [v, a], offset: Offset32(8) }, I64);
    let sig = fb.f.signature.clone();
    let callee = import(&mut m, "f", sig);
    let args = m.list(&[a]);
    let c = m.ins(D::Call { opcode: Call, func_ref: callee, args }, types::INVALID);
    let r = m.res(c, 0);
    m.ret(&[r]);
    assert_eq!(run(&[m.f, fb.f], &[]), Ok(vec![DV::I64(42)]));
}

#[test]
fn invalid_ir_is_reported() {
    // iadd of an i32 and an i64: built without verification.
    let mut fb = Fb::new("bad", &[I32, I64], &[I32]);
    let (a, b) = (fb.param(0), fb.param(1));
    let i = fb.f.dfg.make_inst(D::Binary { opcode: Iadd, args: [a, b] });
    fb.f.dfg.make_inst_results(i, I32).unwrap();
    fb.f.layout.append_inst(i, fb.cur);
    let r = fb.res(i, 0);
    fb.ret(&[r]);
    assert!(matches!(run(&[fb.f], &[DV::I32(1), DV::I64(2)]), Err(InterpError::Invalid(_))));
    // Use of a value that is never defined at run time (defined in a block not executed).
    let mut fb = Fb::new("undef", &[], &[I32]);
    let other = fb.block(&[]);
    let c = fb.bc(other);
    fb.ins(D::Jump { opcode: Jump, destination: c }, types::INVALID);
    fb.switch(other);
    let v = Value::from_u32(0);
    let _ = v;
    let dead = fb.f.dfg.make_inst(D::UnaryImm { opcode: Iconst, imm: Imm64(1) });
    fb.f.dfg.make_inst_results(dead, I32).unwrap();
    let dv = fb.res(dead, 0);
    fb.ret(&[dv]);
    assert!(matches!(run(&[fb.f], &[]), Err(InterpError::Invalid(_))));
}

#[test]
fn memory_libcalls() {
    // memset(a, 7, 8); memcpy(a + 8, a, 8); memmove(a + 4, a + 8, 8); memcmp(a, a + 8, 8)
    let mut fb = Fb::new("m", &[], &[I64, I64, I32]);
    let ss = fb.f.create_stack_slot(StackSlotData::new(16, 3));
    let a = fb.ins(D::StackAddr { opcode: StackAddr, stack_slot: ss, offset: Offset32(0) }, I64);
    let a = fb.res(a, 0);
    let p3 = |t: Type| Signature {
        params: vec![AbiParam::new(I64), AbiParam::new(t), AbiParam::new(I64)],
        returns: vec![AbiParam::new(I64)],
        call_conv: CallConv::SystemV,
    };
    let memset = import(&mut fb, "Memset", p3(I32));
    let memcpy = import(&mut fb, "Memcpy", p3(I64));
    let memmove = import(&mut fb, "Memmove", p3(I64));
    let mut cmp_sig = p3(I64);
    cmp_sig.returns = vec![AbiParam::new(I32)];
    let memcmp = import(&mut fb, "Memcmp", cmp_sig);
    let seven = fb.iconst(I32, 7);
    let eight = fb.iconst(I64, 8);
    let four = fb.iconst(I64, 4);
    let a8 = fb.bin(Iadd, a, eight);
    let a4 = fb.bin(Iadd, a, four);
    let call = |fb: &mut Fb, f, args: &[Value]| {
        let l = fb.list(args);
        let c = fb.ins(D::Call { opcode: Call, func_ref: f, args: l }, types::INVALID);
        fb.res(c, 0)
    };
    call(&mut fb, memset, &[a, seven, eight]);
    call(&mut fb, memcpy, &[a8, a, eight]);
    let one = fb.iconst(I8, 1);
    let fl = fb.f.dfg.intern_mem_flags(MemFlags::new());
    fb.ins(D::Store { opcode: Store, flags: fl, args: [one, a8], offset: Offset32(0) }, I8);
    let c = call(&mut fb, memcmp, &[a, a8, eight]);
    call(&mut fb, memmove, &[a4, a8, eight]);
    let l0 = fb.ins(D::Load { opcode: Load, flags: fl, arg: a, offset: Offset32(0) }, I64);
    let l0 = fb.res(l0, 0);
    let l1 = fb.ins(D::Load { opcode: Load, flags: fl, arg: a, offset: Offset32(8) }, I64);
    let l1 = fb.res(l1, 0);
    fb.ret(&[l0, l1, c]);
    assert_eq!(run(&[fb.f], &[]), Ok(vec![DV::I64(0x0707_0701_0707_0707), DV::I64(0x0707_0707_0707_0707), DV::I32(1)]));
}

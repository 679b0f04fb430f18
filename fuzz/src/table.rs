//! The table of opcodes the generator produces: the one place to add an opcode to fuzzing.
//!
//! Each row names an opcode of `kiln_ir::opcodes` and the [`Shape`] of generator code that
//! builds its operands; types and operand constraints come from the opcode table itself
//! (`Opcode::info()`), restricted to [`SCALAR_TYPES`] and, when the generator's `vectors`
//! setting is on, [`vector_types`]. Rows of [`GEN_OPS`] are drawn always; rows of
//! [`VECTOR_GEN_OPS`] (vector-only opcodes) only with `vectors` on, so that turning vectors
//! off gives exactly the programs of a scalar-only generator (the riscv64 differential
//! runs, whose backend has no vector lowering, use that). Control flow
//! (`jump`, `brif`, `br_table`, `return`, `trap`) is produced by the block-structure
//! generator, not from this table, and is listed in [`CONTROL_OPCODES`] for statistics.
//!
//! Opcodes deliberately absent: opcodes whose
//! result depends on addresses or the environment (`get_stack_pointer`,
//! `get_frame_pointer`, `get_return_address`, `symbol_value`, `tls_value`, pinned-register
//! opcodes, `stack_switch`), `debugtrap`, exception opcodes (`try_call*`) and dynamic
//! vectors; tail calls come from the block-structure generator.

use kiln_ir::Opcode;

/// How the generator builds an instruction of an opcode.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Operands and results follow the opcode table's constraints (unary, binary, ternary,
    /// conversions, overflow arithmetic, `select`, …).
    Generic,
    /// `icmp cc x, y`.
    IntCompare,
    /// `fcmp cc x, y`.
    FloatCompare,
    /// `iconst` / `fNconst` with an interesting immediate.
    Const,
    /// `trapz` / `trapnz` with a trap code.
    CondTrap,
    /// `uadd_overflow_trap x, y, code`.
    IntAddTrap,
    /// `bitcast` between scalars of the same size.
    Bitcast,
    /// A load from a stack slot of `bytes` bytes (0: the controlling type's size).
    Load(u8),
    /// A store into a stack slot of `bytes` bytes (0: the stored type's size).
    Store(u8),
    /// `atomic_rmw` on a stack slot.
    AtomicRmw,
    /// `atomic_cas` on a stack slot.
    AtomicCas,
    /// `atomic_load` from a stack slot.
    AtomicLoad,
    /// `atomic_store` into a stack slot.
    AtomicStore,
    /// A direct call of a later function of the program.
    Call,
    /// `func_addr` plus `call_indirect` of a later function.
    CallIndirect,
    /// An instruction without operands or results (`nop`, `fence`).
    NullAry,
    /// `extractlane x, K` / `insertlane x, y, K` with a lane index in range.
    Lane,
    /// `shuffle x, y, MASK` with a 16-byte mask (random or one of the patterns that have
    /// one-instruction forms).
    Shuffle,
}

/// One row: an opcode, its shape and its relative weight.
#[derive(Copy, Clone, Debug)]
pub struct GenOp {
    /// The opcode.
    pub opcode: Opcode,
    /// How to build it.
    pub shape: Shape,
    /// Relative frequency.
    pub weight: u32,
}

macro_rules! gen_ops {
    ($(#[$doc:meta])* $name:ident; $($op:ident $shape:ident $(($arg:expr))? $w:literal;)*) => {
        $(#[$doc])*
        pub static $name: &[GenOp] = &[$(GenOp { opcode: Opcode::$op, shape: Shape::$shape $(($arg))?, weight: $w }),*];
    };
}

gen_ops! {
    /// Every opcode the generator produces (besides control flow); the polymorphic ones
    /// also on vector types when vectors are on.
    GEN_OPS;
    Iconst Const 6;
    F16const Const 1;
    F32const Const 2;
    F64const Const 2;
    F128const Const 1;
    Smin Generic 2;
    Umin Generic 2;
    Smax Generic 2;
    Umax Generic 2;
    Select Generic 4;
    SelectSpectreGuard Generic 1;
    Bitselect Generic 2;
    Icmp IntCompare 6;
    Iadd Generic 6;
    Isub Generic 5;
    Ineg Generic 2;
    Iabs Generic 2;
    Imul Generic 4;
    Umulhi Generic 2;
    Smulhi Generic 2;
    Udiv Generic 3;
    Sdiv Generic 3;
    Urem Generic 3;
    Srem Generic 3;
    SaddOverflowCin Generic 1;
    UaddOverflowCin Generic 1;
    UaddOverflow Generic 1;
    SaddOverflow Generic 1;
    UsubOverflow Generic 1;
    SsubOverflow Generic 1;
    UmulOverflow Generic 1;
    SmulOverflow Generic 1;
    UaddOverflowTrap IntAddTrap 1;
    SsubOverflowBin Generic 1;
    UsubOverflowBin Generic 1;
    Band Generic 3;
    Bor Generic 3;
    Bxor Generic 3;
    Bnot Generic 2;
    Rotl Generic 2;
    Rotr Generic 2;
    Ishl Generic 3;
    Ushr Generic 3;
    Sshr Generic 3;
    Bitrev Generic 1;
    Clz Generic 1;
    Cls Generic 1;
    Ctz Generic 1;
    Bswap Generic 1;
    Popcnt Generic 1;
    Fcmp FloatCompare 4;
    Fadd Generic 3;
    Fsub Generic 3;
    Fmul Generic 3;
    Fdiv Generic 3;
    Sqrt Generic 1;
    Fma Generic 1;
    Fneg Generic 1;
    Fabs Generic 1;
    Fcopysign Generic 1;
    Fmin Generic 2;
    Fmax Generic 2;
    Ceil Generic 1;
    Floor Generic 1;
    Trunc Generic 1;
    Nearest Generic 1;
    Bitcast Bitcast 2;
    Bmask Generic 1;
    Ireduce Generic 3;
    Uextend Generic 3;
    Sextend Generic 3;
    Fpromote Generic 1;
    Fdemote Generic 1;
    FcvtToUint Generic 2;
    FcvtToSint Generic 2;
    FcvtToUintSat Generic 1;
    FcvtToSintSat Generic 1;
    FcvtFromUint Generic 2;
    FcvtFromSint Generic 2;
    Isplit Generic 1;
    Iconcat Generic 1;
    Load Load(0) 4;
    Store Store(0) 4;
    Uload8 Load(1) 1;
    Sload8 Load(1) 1;
    Istore8 Store(1) 1;
    Uload16 Load(2) 1;
    Sload16 Load(2) 1;
    Istore16 Store(2) 1;
    Uload32 Load(4) 1;
    Sload32 Load(4) 1;
    Istore32 Store(4) 1;
    AtomicRmw AtomicRmw 1;
    AtomicCas AtomicCas 1;
    AtomicLoad AtomicLoad 1;
    AtomicStore AtomicStore 1;
    Trapz CondTrap 1;
    Trapnz CondTrap 1;
    Call Call 2;
    CallIndirect CallIndirect 1;
    Nop NullAry 1;
    Fence NullAry 1;
}

gen_ops! {
    /// Vector-only opcodes, drawn only when the generator's `vectors` setting is on.
    VECTOR_GEN_OPS;
    Vconst Const 1;
    Splat Generic 2;
    ScalarToVector Generic 1;
    Insertlane Lane 1;
    Extractlane Lane 2;
    Shuffle Shuffle 2;
    Swizzle Generic 1;
    X86Pshufb Generic 1;
    AvgRound Generic 1;
    UaddSat Generic 1;
    SaddSat Generic 1;
    UsubSat Generic 1;
    SsubSat Generic 1;
    SqmulRoundSat Generic 1;
    X86Pmulhrsw Generic 1;
    VanyTrue Generic 1;
    VallTrue Generic 1;
    VhighBits Generic 1;
    Blendv Generic 1;
    Snarrow Generic 1;
    Unarrow Generic 1;
    Uunarrow Generic 1;
    SwidenLow Generic 1;
    SwidenHigh Generic 1;
    UwidenLow Generic 1;
    UwidenHigh Generic 1;
    IaddPairwise Generic 1;
    X86Pmaddubsw Generic 1;
    Fvdemote Generic 1;
    FvpromoteLow Generic 1;
    X86Cvtt2dq Generic 1;
    Uload8x8 Load(8) 1;
    Sload8x8 Load(8) 1;
    Uload16x4 Load(8) 1;
    Sload16x4 Load(8) 1;
    Uload32x2 Load(8) 1;
    Sload32x2 Load(8) 1;
}

/// Control-flow opcodes the block-structure generator produces (plus `func_addr`, which
/// comes with `call_indirect`, and `stack_addr`, which addresses slots).
pub const CONTROL_OPCODES: &[Opcode] = &[
    Opcode::Jump,
    Opcode::Brif,
    Opcode::BrTable,
    Opcode::Return,
    Opcode::ReturnCall,
    Opcode::ReturnCallIndirect,
    Opcode::Trap,
    Opcode::FuncAddr,
    Opcode::StackAddr,
];

/// The scalar types the generator uses.
pub const SCALAR_TYPES: &[kiln_ir::Type] = &[
    kiln_ir::types::I8,
    kiln_ir::types::I16,
    kiln_ir::types::I32,
    kiln_ir::types::I64,
    kiln_ir::types::I128,
    kiln_ir::types::F16,
    kiln_ir::types::F32,
    kiln_ir::types::F64,
    kiln_ir::types::F128,
];

/// The vector types the generator uses (with `vectors` on): the 128-bit types and the
/// small ones of 16, 32 and 64 bits that live in the low part of a vector register.
pub fn vector_types() -> &'static [kiln_ir::Type] {
    use kiln_ir::types::*;
    static V: std::sync::OnceLock<Vec<kiln_ir::Type>> = std::sync::OnceLock::new();
    V.get_or_init(|| {
        let mut v = vec![I8X16, I16X8, I32X4, I64X2, F32X4, F64X2];
        for (lane, n) in [(I8, 8), (I16, 4), (I32, 2), (F32, 2), (I8, 4), (I16, 2), (I8, 2)] {
            v.extend(lane.by(n));
        }
        v
    })
}

/// The rows drawn: [`GEN_OPS`], then [`VECTOR_GEN_OPS`] if `vectors`.
pub fn gen_ops(vectors: bool) -> impl Iterator<Item = &'static GenOp> {
    GEN_OPS.iter().chain(VECTOR_GEN_OPS.iter().filter(move |_| vectors))
}

/// Sum of the weights of the rows drawn.
pub fn total_weight(vectors: bool) -> u32 {
    gen_ops(vectors).map(|g| g.weight).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_are_unique_and_typed() {
        let mut seen = std::collections::HashSet::new();
        for g in gen_ops(true) {
            assert!(seen.insert(g.opcode), "{} listed twice", g.opcode);
            assert!(g.weight > 0);
        }
        for g in GEN_OPS {
            if g.opcode.is_polymorphic() {
                let info = g.opcode.info();
                assert!(SCALAR_TYPES.iter().any(|t| info.ctrl.contains(*t)), "{} has no scalar type", g.opcode);
            }
        }
        for g in VECTOR_GEN_OPS {
            let info = g.opcode.info();
            let vector_ctrl = vector_types().iter().any(|t| info.ctrl.contains(*t));
            let vector_operand = info.args.iter().chain(info.results).any(|c| match c {
                kiln_ir::opcodes::Constraint::Concrete(t) => t.is_vector(),
                kiln_ir::opcodes::Constraint::Free(set) => vector_types().iter().any(|t| set.contains(*t)),
                _ => false,
            });
            assert!(vector_ctrl || vector_operand, "{} has no vector type", g.opcode);
        }
    }
}

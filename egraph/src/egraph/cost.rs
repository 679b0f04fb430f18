//! The cost model used by extraction: a rough latency of each operation on a modern
//! out-of-order core. A node's cost is its operation's cost plus the costs of its operands'
//! best members (a tree cost: shared operands count once per use).
//!
//! Leaves (block parameters, skeleton results) cost 0; constants cost 1, since the backends
//! fold most of them into immediates.

use kiln_ir::Opcode;
use kiln_ir::types::Type;

/// The cost of one operation producing a value of type `ty`.
pub(crate) fn op_cost(op: Opcode, ty: Type) -> u32 {
    use Opcode::*;
    let vector = ty.is_vector();
    let base = match op {
        Iconst | F16const | F32const | F64const => 1,
        F128const | Vconst => 2,
        Iadd | Isub | Ineg | Band | Bor | Bxor | Bnot | Ishl | Ushr | Sshr | Rotl | Rotr | Icmp | Uextend | Sextend
        | Ireduce | Bmask | Select | Bitselect | Iabs | Smin | Smax | Umin | Umax | Bswap | Bitcast | Iconcat
        | Fneg | Fabs | Fcopysign => 2,
        Imul => 3,
        Umulhi | Smulhi | Popcnt | Clz | Ctz | Cls => 4,
        Bitrev => 8,
        Fadd | Fsub | Fmul | Fcmp | Fmin | Fmax | Fma | Ceil | Floor | Trunc | Nearest | Fpromote | Fdemote
        | FcvtFromSint | FcvtFromUint | FcvtToSintSat | FcvtToUintSat => 4,
        Fdiv => 12,
        Sqrt => 16,
        Udiv | Sdiv | Urem | Srem => 30,
        Load | Uload8 | Sload8 | Uload16 | Sload16 | Uload32 | Sload32 => 4,
        _ => 4,
    };
    if vector && base < 3 { base + 1 } else { base }
}

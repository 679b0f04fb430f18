//! The opcode table: the single source of truth for every CLIF opcode.
//!
//! One row per opcode gives its text name, instruction format, the set of allowed controlling
//! types, which value operand the controlling type is inferred from, the type constraint of
//! every fixed value operand and result, and its flags. The [`Opcode`] enum, name lookup, the
//! parser, the printer, the verifier's type checking, the builder and all queries
//! (`is_branch`, `can_trap`, …) read this table; nothing else lists opcodes.
//!
//! Rows are in the definition order of `shared/clif/opcodes.tsv` (163 opcodes); a test checks
//! the table against that file.

use crate::types::{self, Type, TypeSet};
use core::fmt;

/// The 36 instruction formats: the shape of an instruction's operands.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
#[allow(missing_docs)]
pub enum InstructionFormat {
    NullAry,
    Unary,
    UnaryImm,
    UnaryIeee16,
    UnaryIeee32,
    UnaryIeee64,
    UnaryConst,
    UnaryGlobalValue,
    Binary,
    BinaryImm8,
    Ternary,
    TernaryImm8,
    MultiAry,
    Shuffle,
    IntCompare,
    FloatCompare,
    IntAddTrap,
    Jump,
    Brif,
    BranchTable,
    Call,
    CallIndirect,
    TryCall,
    TryCallIndirect,
    FuncAddr,
    StackAddr,
    DynamicStackAddr,
    Load,
    Store,
    LoadNoOffset,
    StoreNoOffset,
    AtomicRmw,
    AtomicCas,
    Trap,
    CondTrap,
    ExceptionHandlerAddress,
}

impl InstructionFormat {
    /// Does the format end with a variable-length list of value operands?
    pub fn has_value_list(self) -> bool {
        use InstructionFormat::*;
        matches!(self, MultiAry | Call | CallIndirect | TryCall | TryCallIndirect)
    }
}

/// How the type of a value operand or result relates to the controlling type `T`.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Constraint {
    /// `T` itself.
    Ctrl,
    /// `lane_of(T)`.
    Lane,
    /// `as_truthy(T)`.
    Truthy,
    /// `half_width(T)`.
    HalfWidth,
    /// `double_width(T)`.
    DoubleWidth,
    /// `split_lanes(T)`.
    SplitLanes,
    /// `merge_lanes(T)`.
    MergeLanes,
    /// A scalar of T's kind strictly narrower than T.
    Narrower,
    /// A scalar of T's kind strictly wider than T.
    Wider,
    /// `dynamic_to_vector(T)`.
    DynToVector,
    /// Exactly this type.
    Concrete(Type),
    /// Any type of the set, independent of T.
    Free(TypeSet),
    /// Any type of the set with the same lane count as T.
    FreeSameLanes(TypeSet),
    /// An address: `i32` or `i64`, and the target's pointer type when a target is known.
    Addr,
}

impl Constraint {
    /// The exact type this constraint demands given controlling type `ctrl`, if it is
    /// determined by `ctrl` alone.
    pub fn resolve(self, ctrl: Type) -> Option<Type> {
        match self {
            Constraint::Ctrl => Some(ctrl),
            Constraint::Lane => Some(ctrl.lane_type()),
            Constraint::Truthy => Some(ctrl.as_truthy()),
            Constraint::HalfWidth => ctrl.half_width(),
            Constraint::DoubleWidth => ctrl.double_width(),
            Constraint::SplitLanes => ctrl.split_lanes(),
            Constraint::MergeLanes => ctrl.merge_lanes(),
            Constraint::DynToVector => ctrl.dynamic_to_vector(),
            Constraint::Concrete(t) => Some(t),
            Constraint::Narrower
            | Constraint::Wider
            | Constraint::Free(_)
            | Constraint::FreeSameLanes(_)
            | Constraint::Addr => None,
        }
    }

    /// Does `ty` satisfy this constraint given controlling type `ctrl`?
    pub fn accepts(self, ty: Type, ctrl: Type) -> bool {
        match self {
            Constraint::Narrower => ty.is_narrower_scalar_of_kind(ctrl),
            Constraint::Wider => ctrl.is_narrower_scalar_of_kind(ty),
            Constraint::Free(set) => set.contains(ty),
            Constraint::FreeSameLanes(set) => {
                set.contains(ty)
                    && ty.lane_count() == ctrl.lane_count()
                    && ty.is_dynamic_vector() == ctrl.is_dynamic_vector()
            }
            Constraint::Addr => ty == types::I32 || ty == types::I64,
            other => other.resolve(ctrl) == Some(ty),
        }
    }
}

/// Opcode flag bits.
pub mod flags {
    /// Must end a block.
    pub const TERMINATOR: u32 = 1 << 0;
    /// Transfers control to blocks named in its operands.
    pub const BRANCH: u32 = 1 << 1;
    /// Calls a function.
    pub const CALL: u32 = 1 << 2;
    /// Leaves the function.
    pub const RETURN: u32 = 1 << 3;
    /// May read memory.
    pub const CAN_LOAD: u32 = 1 << 4;
    /// May write memory.
    pub const CAN_STORE: u32 = 1 << 5;
    /// May trap.
    pub const CAN_TRAP: u32 = 1 << 6;
    /// Has effects beyond its results.
    pub const SIDE_EFFECTS: u32 = 1 << 7;
    /// Its only effect is possibly trapping.
    pub const IDEMPOTENT: u32 = 1 << 8;
    /// May trap when the access faults, unless `notrap`.
    pub const MEM_TRAP: u32 = 1 << 9;
    /// May carry debug tags.
    pub const DEBUG_TAGS: u32 = 1 << 10;
    /// May carry a user stack map.
    pub const STACK_MAP: u32 = 1 << 11;
    /// Has an exception table.
    pub const EXCEPTION_EDGES: u32 = 1 << 12;
    /// Defined to mirror an x86 instruction.
    pub const X86: u32 = 1 << 13;
    /// Requires the `tail` calling convention.
    pub const REQ_TAIL_CC: u32 = 1 << 14;
    /// Requires `enable_pinned_reg`.
    pub const REQ_PINNED_REG: u32 = 1 << 15;
    /// Requires `preserve_frame_pointers`.
    pub const REQ_FRAME_POINTERS: u32 = 1 << 16;
    /// Requires a `stack_switch_model`.
    pub const REQ_STACK_SWITCH: u32 = 1 << 17;
}

/// Everything the table says about one opcode.
#[derive(Debug)]
pub struct OpcodeInfo {
    /// Text name.
    pub name: &'static str,
    /// Instruction format.
    pub format: InstructionFormat,
    /// Allowed controlling types; empty for monomorphic opcodes.
    pub ctrl: TypeSet,
    /// Index (among the value operands) of the operand the controlling type is inferred
    /// from; `None` if a `.T` suffix is required (or the opcode is monomorphic).
    pub infer: Option<u8>,
    /// Constraints of the fixed value operands, in order. Formats with a value list take any
    /// number of further operands, typed by a signature.
    pub args: &'static [Constraint],
    /// Constraints of the results (calls take theirs from the signature).
    pub results: &'static [Constraint],
    /// [`flags`] bits.
    pub flags: u32,
}

// Type sets of the table, named after the TSV's notation.
const fn ts(lanes: u16, counts: u16, dynamic: u16) -> TypeSet {
    TypeSet { lanes, counts, dynamic }
}
const I: u16 = TypeSet::INTS;
const F: u16 = TypeSet::FLOATS;
const S: u16 = TypeSet::SCALAR;
const V: u16 = TypeSet::VECTORS;
const L8: u16 = 1 << 1;
const L16: u16 = 1 << 2;
const L32: u16 = 1 << 3;
const L64: u16 = 1 << 4;
const L128: u16 = 1 << 5;
const MONO: TypeSet = TypeSet::EMPTY;
const INT_S: TypeSet = ts(I, S, 0);
const INT_SV: TypeSet = ts(I, S | V, 0);
const INT_SVD: TypeSet = ts(I, S | V, V);
const INT_V: TypeSet = ts(I, V, 0);
const FLT_S: TypeSet = ts(F, S, 0);
const FLT_SV: TypeSet = ts(F, S | V, 0);
const FLT_SVD: TypeSet = ts(F, S | V, V);
const ANY_SV: TypeSet = ts(I | F, S | V, 0);
const ANY_SVD: TypeSet = ts(I | F, S | V, V);
const ANY_V: TypeSet = ts(I | F, V, 0);
const ANY_VD: TypeSet = ts(I | F, V, V);
const PTR: TypeSet = ts(L32 | L64, S, 0);
const I16_64: TypeSet = ts(L16 | L32 | L64, S, 0);
const I32_64: TypeSet = ts(L32 | L64, S, 0);
const I64_ONLY: TypeSet = ts(L64, S, 0);
const I8_64: TypeSet = ts(L8 | L16 | L32 | L64, S, 0);
const I16_128: TypeSet = ts(L16 | L32 | L64 | L128, S, 0);
const Q_MUL: TypeSet = ts(L16 | L32, (1 << 2) | (1 << 3), 0);
const NARROW: TypeSet = ts(L16 | L32 | L64, 0b1110, 0b1110);
const WIDEN: TypeSet = ts(L8 | L16 | L32, 0b1_1110, 0b1_1110);
const XV: TypeSet = ts(I | F, S, V);

macro_rules! infer {
    (_) => {
        None
    };
    ($n:literal) => {
        Some($n)
    };
}

/// The text name of an opcode from its row's method identifier (`return_` is `return`).
macro_rules! opcode_name {
    (return_) => {
        "return"
    };
    ($m:ident) => {
        stringify!($m)
    };
}
pub(crate) use opcode_name;

macro_rules! define_opcodes {
    ($( $variant:ident $method:ident $format:ident $ctrl:ident $infer:tt
        [$($arg:expr),*] [$($res:expr),*] $flags:expr; )*) => {
        /// A CLIF opcode.
        #[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        #[allow(missing_docs)]
        pub enum Opcode { $($variant),* }

        /// The table, indexed by `Opcode as usize`.
        pub static OPCODE_INFO: &[OpcodeInfo] = {
            use Constraint::*;
            use flags::*;
            &[$(OpcodeInfo {
                name: opcode_name!($method),
                format: InstructionFormat::$format,
                ctrl: $ctrl,
                infer: infer!($infer),
                args: &[$($arg),*],
                results: &[$($res),*],
                flags: $flags,
            }),*]
        };

        impl Opcode {
            /// Every opcode, in table order.
            pub const ALL: &'static [Opcode] = &[$(Opcode::$variant),*];
        }

        /// The name of each opcode's `InstBuilder` method, indexed by `Opcode as usize`
        /// (the text name, with `_` appended where it is a Rust keyword).
        pub static OPCODE_METHODS: &[&str] = &[$(stringify!($method)),*];
    };
}

const NONE: u32 = 0;
const C8X16: Constraint = Constraint::Concrete(types::I8X16);
const ADDR: Constraint = Constraint::Addr;

/// The table itself. `opcode_table!(callback)` expands to `callback! { rows }`, so every
/// consumer (the [`Opcode`] enum and [`OPCODE_INFO`] here, the `InstBuilder` trait in
/// [`crate::builder`]) derives from these rows. One row per opcode:
///
/// `Variant method Format ctrl-typeset infer-operand [operand constraints] [result constraints] flags;`
///
/// `method` is the opcode's text name (and its `InstBuilder` method), `_`-suffixed where it
/// is a Rust keyword; `infer-operand` is `_` when the controlling type is not inferred.
macro_rules! opcode_table {
    ($callback:ident) => {
        $callback! {
            Jump jump Jump MONO _ [] [] TERMINATOR | BRANCH;
            Brif brif Brif INT_S 0 [Ctrl] [] TERMINATOR | BRANCH;
            BrTable br_table BranchTable MONO _ [Concrete(types::I32)] [] TERMINATOR | BRANCH;
            Debugtrap debugtrap NullAry MONO _ [] [] CAN_LOAD | CAN_STORE | SIDE_EFFECTS;
            Trap trap Trap MONO _ [] [] TERMINATOR | CAN_TRAP;
            Trapz trapz CondTrap INT_S 0 [Ctrl] [] CAN_TRAP | IDEMPOTENT;
            Trapnz trapnz CondTrap INT_S 0 [Ctrl] [] CAN_TRAP | IDEMPOTENT;
            Return return_ MultiAry MONO _ [] [] TERMINATOR | RETURN;
            Call call Call MONO _ [] [] CALL | DEBUG_TAGS | STACK_MAP;
            CallIndirect call_indirect CallIndirect PTR 0 [Ctrl] [] CALL | DEBUG_TAGS | STACK_MAP;
            ReturnCall return_call Call MONO _ [] [] TERMINATOR | CALL | RETURN | REQ_TAIL_CC | DEBUG_TAGS;
            ReturnCallIndirect return_call_indirect CallIndirect PTR 0 [Ctrl] []
                TERMINATOR | CALL | RETURN | REQ_TAIL_CC | DEBUG_TAGS;
            FuncAddr func_addr FuncAddr PTR _ [] [Ctrl] NONE;
            TryCall try_call TryCall MONO _ [] []
                TERMINATOR | BRANCH | CALL | EXCEPTION_EDGES | DEBUG_TAGS | STACK_MAP;
            TryCallIndirect try_call_indirect TryCallIndirect PTR 0 [Ctrl] []
                TERMINATOR | BRANCH | CALL | EXCEPTION_EDGES | DEBUG_TAGS | STACK_MAP;
            Splat splat Unary ANY_VD _ [Lane] [Ctrl] NONE;
            Swizzle swizzle Binary MONO _ [C8X16, C8X16] [C8X16] NONE;
            X86Pshufb x86_pshufb Binary MONO _ [C8X16, C8X16] [C8X16] X86;
            Insertlane insertlane TernaryImm8 ANY_VD 0 [Ctrl, Lane] [Ctrl] NONE;
            Extractlane extractlane BinaryImm8 ANY_VD 0 [Ctrl] [Lane] NONE;
            Smin smin Binary INT_SV 0 [Ctrl, Ctrl] [Ctrl] NONE;
            Umin umin Binary INT_SV 0 [Ctrl, Ctrl] [Ctrl] NONE;
            Smax smax Binary INT_SV 0 [Ctrl, Ctrl] [Ctrl] NONE;
            Umax umax Binary INT_SV 0 [Ctrl, Ctrl] [Ctrl] NONE;
            AvgRound avg_round Binary INT_V 0 [Ctrl, Ctrl] [Ctrl] NONE;
            UaddSat uadd_sat Binary INT_V 0 [Ctrl, Ctrl] [Ctrl] NONE;
            SaddSat sadd_sat Binary INT_V 0 [Ctrl, Ctrl] [Ctrl] NONE;
            UsubSat usub_sat Binary INT_V 0 [Ctrl, Ctrl] [Ctrl] NONE;
            SsubSat ssub_sat Binary INT_V 0 [Ctrl, Ctrl] [Ctrl] NONE;
            Load load Load ANY_SVD _ [ADDR] [Ctrl] CAN_LOAD | MEM_TRAP;
            Store store Store ANY_SVD 0 [Ctrl, ADDR] [] CAN_STORE | MEM_TRAP;
            Uload8 uload8 Load I16_64 _ [ADDR] [Ctrl] CAN_LOAD | MEM_TRAP;
            Sload8 sload8 Load I16_64 _ [ADDR] [Ctrl] CAN_LOAD | MEM_TRAP;
            Istore8 istore8 Store I16_64 0 [Ctrl, ADDR] [] CAN_STORE | MEM_TRAP;
            Uload16 uload16 Load I32_64 _ [ADDR] [Ctrl] CAN_LOAD | MEM_TRAP;
            Sload16 sload16 Load I32_64 _ [ADDR] [Ctrl] CAN_LOAD | MEM_TRAP;
            Istore16 istore16 Store I32_64 0 [Ctrl, ADDR] [] CAN_STORE | MEM_TRAP;
            Uload32 uload32 Load PTR 0 [Ctrl] [Concrete(types::I64)] CAN_LOAD | MEM_TRAP;
            Sload32 sload32 Load PTR 0 [Ctrl] [Concrete(types::I64)] CAN_LOAD | MEM_TRAP;
            Istore32 istore32 Store I64_ONLY 0 [Ctrl, ADDR] [] CAN_STORE | MEM_TRAP;
            StackSwitch stack_switch Ternary PTR 1 [Ctrl, Ctrl, Ctrl] [Ctrl]
                CALL | CAN_LOAD | CAN_STORE | SIDE_EFFECTS | REQ_STACK_SWITCH | DEBUG_TAGS | STACK_MAP;
            Uload8x8 uload8x8 Load PTR 0 [Ctrl] [Concrete(types::I16X8)] CAN_LOAD | MEM_TRAP;
            Sload8x8 sload8x8 Load PTR 0 [Ctrl] [Concrete(types::I16X8)] CAN_LOAD | MEM_TRAP;
            Uload16x4 uload16x4 Load PTR 0 [Ctrl] [Concrete(types::I32X4)] CAN_LOAD | MEM_TRAP;
            Sload16x4 sload16x4 Load PTR 0 [Ctrl] [Concrete(types::I32X4)] CAN_LOAD | MEM_TRAP;
            Uload32x2 uload32x2 Load PTR 0 [Ctrl] [Concrete(types::I64X2)] CAN_LOAD | MEM_TRAP;
            Sload32x2 sload32x2 Load PTR 0 [Ctrl] [Concrete(types::I64X2)] CAN_LOAD | MEM_TRAP;
            StackAddr stack_addr StackAddr PTR _ [] [Ctrl] NONE;
            DynamicStackAddr dynamic_stack_addr DynamicStackAddr PTR _ [] [Ctrl] NONE;
            SymbolValue symbol_value UnaryGlobalValue ANY_SVD _ [] [Ctrl] NONE;
            TlsValue tls_value UnaryGlobalValue ANY_SVD _ [] [Ctrl] NONE;
            GetPinnedReg get_pinned_reg NullAry PTR _ [] [Ctrl] SIDE_EFFECTS | REQ_PINNED_REG;
            SetPinnedReg set_pinned_reg Unary PTR 0 [Ctrl] [] SIDE_EFFECTS | REQ_PINNED_REG;
            GetFramePointer get_frame_pointer NullAry PTR _ [] [Ctrl] REQ_FRAME_POINTERS;
            GetStackPointer get_stack_pointer NullAry PTR _ [] [Ctrl] NONE;
            GetReturnAddress get_return_address NullAry PTR _ [] [Ctrl] REQ_FRAME_POINTERS;
            GetExceptionHandlerAddress get_exception_handler_address ExceptionHandlerAddress PTR _ [] [Ctrl] NONE;
            Iconst iconst UnaryImm I8_64 _ [] [Ctrl] NONE;
            F16const f16const UnaryIeee16 MONO _ [] [Concrete(types::F16)] NONE;
            F32const f32const UnaryIeee32 MONO _ [] [Concrete(types::F32)] NONE;
            F64const f64const UnaryIeee64 MONO _ [] [Concrete(types::F64)] NONE;
            F128const f128const UnaryConst MONO _ [] [Concrete(types::F128)] NONE;
            Vconst vconst UnaryConst ANY_V _ [] [Ctrl] NONE;
            Shuffle shuffle Shuffle MONO _ [C8X16, C8X16] [C8X16] NONE;
            Nop nop NullAry MONO _ [] [] NONE;
            Select select Ternary ANY_SV 1 [Free(INT_S), Ctrl, Ctrl] [Ctrl] NONE;
            SelectSpectreGuard select_spectre_guard Ternary ANY_SV 1 [Free(INT_S), Ctrl, Ctrl] [Ctrl] NONE;
            Bitselect bitselect Ternary ANY_SV 1 [Ctrl, Ctrl, Ctrl] [Ctrl] NONE;
            Blendv blendv Ternary ANY_SV 1 [Ctrl, Ctrl, Ctrl] [Ctrl] X86;
            VanyTrue vany_true Unary ANY_V 0 [Ctrl] [Concrete(types::I8)] NONE;
            VallTrue vall_true Unary ANY_V 0 [Ctrl] [Concrete(types::I8)] NONE;
            VhighBits vhigh_bits Unary I8_64 _ [Free(ANY_V)] [Ctrl] NONE;
            Icmp icmp IntCompare INT_SVD 0 [Ctrl, Ctrl] [Truthy] NONE;
            Iadd iadd Binary INT_SVD 0 [Ctrl, Ctrl] [Ctrl] NONE;
            Isub isub Binary INT_SVD 0 [Ctrl, Ctrl] [Ctrl] NONE;
            Ineg ineg Unary INT_SVD 0 [Ctrl] [Ctrl] NONE;
            Iabs iabs Unary INT_SVD 0 [Ctrl] [Ctrl] NONE;
            Imul imul Binary INT_SVD 0 [Ctrl, Ctrl] [Ctrl] NONE;
            Umulhi umulhi Binary INT_SVD 0 [Ctrl, Ctrl] [Ctrl] NONE;
            Smulhi smulhi Binary INT_SVD 0 [Ctrl, Ctrl] [Ctrl] NONE;
            SqmulRoundSat sqmul_round_sat Binary Q_MUL 0 [Ctrl, Ctrl] [Ctrl] NONE;
            X86Pmulhrsw x86_pmulhrsw Binary Q_MUL 0 [Ctrl, Ctrl] [Ctrl] X86;
            Udiv udiv Binary INT_S 0 [Ctrl, Ctrl] [Ctrl] CAN_TRAP | IDEMPOTENT;
            Sdiv sdiv Binary INT_S 0 [Ctrl, Ctrl] [Ctrl] CAN_TRAP | IDEMPOTENT;
            Urem urem Binary INT_S 0 [Ctrl, Ctrl] [Ctrl] CAN_TRAP | IDEMPOTENT;
            Srem srem Binary INT_S 0 [Ctrl, Ctrl] [Ctrl] CAN_TRAP | IDEMPOTENT;
            SaddOverflowCin sadd_overflow_cin Ternary INT_S 1 [Ctrl, Ctrl, Concrete(types::I8)]
                [Ctrl, Concrete(types::I8)] NONE;
            UaddOverflowCin uadd_overflow_cin Ternary INT_S 1 [Ctrl, Ctrl, Concrete(types::I8)]
                [Ctrl, Concrete(types::I8)] NONE;
            UaddOverflow uadd_overflow Binary INT_S 0 [Ctrl, Ctrl] [Ctrl, Concrete(types::I8)] NONE;
            SaddOverflow sadd_overflow Binary INT_S 0 [Ctrl, Ctrl] [Ctrl, Concrete(types::I8)] NONE;
            UsubOverflow usub_overflow Binary INT_S 0 [Ctrl, Ctrl] [Ctrl, Concrete(types::I8)] NONE;
            SsubOverflow ssub_overflow Binary INT_S 0 [Ctrl, Ctrl] [Ctrl, Concrete(types::I8)] NONE;
            UmulOverflow umul_overflow Binary I8_64 0 [Ctrl, Ctrl] [Ctrl, Concrete(types::I8)] NONE;
            SmulOverflow smul_overflow Binary I8_64 0 [Ctrl, Ctrl] [Ctrl, Concrete(types::I8)] NONE;
            UaddOverflowTrap uadd_overflow_trap IntAddTrap I32_64 0 [Ctrl, Ctrl] [Ctrl] CAN_TRAP | IDEMPOTENT;
            SsubOverflowBin ssub_overflow_bin Ternary INT_S 1 [Ctrl, Ctrl, Concrete(types::I8)]
                [Ctrl, Concrete(types::I8)] NONE;
            UsubOverflowBin usub_overflow_bin Ternary INT_S 1 [Ctrl, Ctrl, Concrete(types::I8)]
                [Ctrl, Concrete(types::I8)] NONE;
            Band band Binary ANY_SV 0 [Ctrl, Ctrl] [Ctrl] NONE;
            Bor bor Binary ANY_SV 0 [Ctrl, Ctrl] [Ctrl] NONE;
            Bxor bxor Binary ANY_SV 0 [Ctrl, Ctrl] [Ctrl] NONE;
            Bnot bnot Unary ANY_SV 0 [Ctrl] [Ctrl] NONE;
            Rotl rotl Binary INT_SVD 0 [Ctrl, Free(INT_S)] [Ctrl] NONE;
            Rotr rotr Binary INT_SVD 0 [Ctrl, Free(INT_S)] [Ctrl] NONE;
            Ishl ishl Binary INT_SVD 0 [Ctrl, Free(INT_S)] [Ctrl] NONE;
            Ushr ushr Binary INT_SVD 0 [Ctrl, Free(INT_S)] [Ctrl] NONE;
            Sshr sshr Binary INT_SVD 0 [Ctrl, Free(INT_S)] [Ctrl] NONE;
            Bitrev bitrev Unary INT_S 0 [Ctrl] [Ctrl] NONE;
            Clz clz Unary INT_S 0 [Ctrl] [Ctrl] NONE;
            Cls cls Unary INT_S 0 [Ctrl] [Ctrl] NONE;
            Ctz ctz Unary INT_S 0 [Ctrl] [Ctrl] NONE;
            Bswap bswap Unary I16_128 0 [Ctrl] [Ctrl] NONE;
            Popcnt popcnt Unary INT_SVD 0 [Ctrl] [Ctrl] NONE;
            Fcmp fcmp FloatCompare FLT_SVD 0 [Ctrl, Ctrl] [Truthy] NONE;
            Fadd fadd Binary FLT_SVD 0 [Ctrl, Ctrl] [Ctrl] NONE;
            Fsub fsub Binary FLT_SVD 0 [Ctrl, Ctrl] [Ctrl] NONE;
            Fmul fmul Binary FLT_SVD 0 [Ctrl, Ctrl] [Ctrl] NONE;
            Fdiv fdiv Binary FLT_SVD 0 [Ctrl, Ctrl] [Ctrl] NONE;
            Sqrt sqrt Unary FLT_SVD 0 [Ctrl] [Ctrl] NONE;
            Fma fma Ternary FLT_SVD 1 [Ctrl, Ctrl, Ctrl] [Ctrl] NONE;
            Fneg fneg Unary FLT_SVD 0 [Ctrl] [Ctrl] NONE;
            Fabs fabs Unary FLT_SVD 0 [Ctrl] [Ctrl] NONE;
            Fcopysign fcopysign Binary FLT_SVD 0 [Ctrl, Ctrl] [Ctrl] NONE;
            Fmin fmin Binary FLT_SVD 0 [Ctrl, Ctrl] [Ctrl] NONE;
            Fmax fmax Binary FLT_SVD 0 [Ctrl, Ctrl] [Ctrl] NONE;
            Ceil ceil Unary FLT_SVD 0 [Ctrl] [Ctrl] NONE;
            Floor floor Unary FLT_SVD 0 [Ctrl] [Ctrl] NONE;
            Trunc trunc Unary FLT_SVD 0 [Ctrl] [Ctrl] NONE;
            Nearest nearest Unary FLT_SVD 0 [Ctrl] [Ctrl] NONE;
            Bitcast bitcast LoadNoOffset ANY_SVD _ [Free(ANY_SVD)] [Ctrl] NONE;
            ScalarToVector scalar_to_vector Unary ANY_V _ [Lane] [Ctrl] NONE;
            Bmask bmask Unary INT_S _ [Free(INT_S)] [Ctrl] NONE;
            Ireduce ireduce Unary INT_S _ [Wider] [Ctrl] NONE;
            Snarrow snarrow Binary NARROW 0 [Ctrl, Ctrl] [SplitLanes] NONE;
            Unarrow unarrow Binary NARROW 0 [Ctrl, Ctrl] [SplitLanes] NONE;
            Uunarrow uunarrow Binary NARROW 0 [Ctrl, Ctrl] [SplitLanes] NONE;
            SwidenLow swiden_low Unary WIDEN 0 [Ctrl] [MergeLanes] NONE;
            SwidenHigh swiden_high Unary WIDEN 0 [Ctrl] [MergeLanes] NONE;
            UwidenLow uwiden_low Unary WIDEN 0 [Ctrl] [MergeLanes] NONE;
            UwidenHigh uwiden_high Unary WIDEN 0 [Ctrl] [MergeLanes] NONE;
            IaddPairwise iadd_pairwise Binary WIDEN 0 [Ctrl, Ctrl] [Ctrl] NONE;
            X86Pmaddubsw x86_pmaddubsw Binary MONO _ [C8X16, C8X16] [Concrete(types::I16X8)] X86;
            Uextend uextend Unary INT_S _ [Narrower] [Ctrl] NONE;
            Sextend sextend Unary INT_S _ [Narrower] [Ctrl] NONE;
            Fpromote fpromote Unary FLT_S _ [Narrower] [Ctrl] NONE;
            Fdemote fdemote Unary FLT_S _ [Wider] [Ctrl] NONE;
            Fvdemote fvdemote Unary MONO _ [Concrete(types::F64X2)] [Concrete(types::F32X4)] NONE;
            FvpromoteLow fvpromote_low Unary MONO _ [Concrete(types::F32X4)] [Concrete(types::F64X2)] NONE;
            FcvtToUint fcvt_to_uint Unary INT_S _ [Free(FLT_S)] [Ctrl] CAN_TRAP | IDEMPOTENT;
            FcvtToSint fcvt_to_sint Unary INT_S _ [Free(FLT_S)] [Ctrl] CAN_TRAP | IDEMPOTENT;
            FcvtToUintSat fcvt_to_uint_sat Unary INT_SV _ [FreeSameLanes(FLT_SVD)] [Ctrl] NONE;
            FcvtToSintSat fcvt_to_sint_sat Unary INT_SV _ [FreeSameLanes(FLT_SVD)] [Ctrl] NONE;
            X86Cvtt2dq x86_cvtt2dq Unary INT_SV _ [FreeSameLanes(FLT_SVD)] [Ctrl] X86;
            FcvtFromUint fcvt_from_uint Unary FLT_SV _ [FreeSameLanes(INT_SV)] [Ctrl] NONE;
            FcvtFromSint fcvt_from_sint Unary FLT_SV _ [FreeSameLanes(INT_SV)] [Ctrl] NONE;
            Isplit isplit Unary I16_128 0 [Ctrl] [HalfWidth, HalfWidth] NONE;
            Iconcat iconcat Binary I8_64 0 [Ctrl, Ctrl] [DoubleWidth] NONE;
            AtomicRmw atomic_rmw AtomicRmw INT_S _ [ADDR, Ctrl] [Ctrl]
                CAN_LOAD | CAN_STORE | SIDE_EFFECTS | MEM_TRAP;
            AtomicCas atomic_cas AtomicCas INT_S 2 [ADDR, Ctrl, Ctrl] [Ctrl]
                CAN_LOAD | CAN_STORE | SIDE_EFFECTS | MEM_TRAP;
            AtomicLoad atomic_load LoadNoOffset INT_S _ [ADDR] [Ctrl] CAN_LOAD | SIDE_EFFECTS | MEM_TRAP;
            AtomicStore atomic_store StoreNoOffset INT_S 0 [Ctrl, ADDR] [] CAN_STORE | SIDE_EFFECTS | MEM_TRAP;
            Fence fence NullAry MONO _ [] [] SIDE_EFFECTS;
            ExtractVector extract_vector BinaryImm8 XV 0 [Ctrl] [DynToVector] NONE;
            SequencePoint sequence_point NullAry MONO _ [] [] SIDE_EFFECTS | DEBUG_TAGS;
        }
    };
}
pub(crate) use opcode_table;

opcode_table!(define_opcodes);

impl Opcode {
    /// The table row.
    #[inline]
    pub fn info(self) -> &'static OpcodeInfo {
        &OPCODE_INFO[self as usize]
    }
    /// Text name.
    #[inline]
    pub fn name(self) -> &'static str {
        self.info().name
    }
    /// Instruction format.
    #[inline]
    pub fn format(self) -> InstructionFormat {
        self.info().format
    }
    #[inline]
    fn has(self, f: u32) -> bool {
        self.info().flags & f != 0
    }
    /// Must end a block.
    pub fn is_terminator(self) -> bool {
        self.has(flags::TERMINATOR)
    }
    /// Transfers control to blocks named in its operands.
    pub fn is_branch(self) -> bool {
        self.has(flags::BRANCH)
    }
    /// Calls a function (including tail calls and `try_call`).
    pub fn is_call(self) -> bool {
        self.has(flags::CALL)
    }
    /// Leaves the function (`return`, tail calls).
    pub fn is_return(self) -> bool {
        self.has(flags::RETURN)
    }
    /// May read memory.
    pub fn can_load(self) -> bool {
        self.has(flags::CAN_LOAD)
    }
    /// May write memory.
    pub fn can_store(self) -> bool {
        self.has(flags::CAN_STORE)
    }
    /// May trap unconditionally of memory flags.
    pub fn can_trap(self) -> bool {
        self.has(flags::CAN_TRAP)
    }
    /// Has effects beyond its results.
    pub fn other_side_effects(self) -> bool {
        self.has(flags::SIDE_EFFECTS)
    }
    /// Its only side effect is possibly trapping.
    pub fn side_effects_idempotent(self) -> bool {
        self.has(flags::IDEMPOTENT)
    }
    /// May trap through its memory flags.
    pub fn is_memory_access(self) -> bool {
        self.has(flags::MEM_TRAP)
    }
    /// Has an exception table.
    pub fn has_exception_edges(self) -> bool {
        self.has(flags::EXCEPTION_EDGES)
    }
    /// May carry debug tags.
    pub fn allows_debug_tags(self) -> bool {
        self.has(flags::DEBUG_TAGS)
    }
    /// May carry a user stack map.
    pub fn allows_stack_map(self) -> bool {
        self.has(flags::STACK_MAP)
    }
    /// Mirrors an x86 instruction.
    pub fn is_x86_oriented(self) -> bool {
        self.has(flags::X86)
    }
    /// Is the opcode polymorphic (has a controlling type)?
    pub fn is_polymorphic(self) -> bool {
        !self.info().ctrl.is_empty()
    }
    /// Is it free of side effects, so that it may be removed when unused and moved freely?
    pub fn is_pure(self) -> bool {
        let f = self.info().flags;
        f & (flags::TERMINATOR
            | flags::CALL
            | flags::CAN_LOAD
            | flags::CAN_STORE
            | flags::CAN_TRAP
            | flags::SIDE_EFFECTS
            | flags::MEM_TRAP
            | flags::REQ_PINNED_REG)
            == 0
    }

    /// Look up an opcode by its text name.
    pub fn from_name(name: &str) -> Option<Opcode> {
        // Names are short; a binary search over a sorted index is fast and allocation-free.
        let idx = sorted_index();
        idx.binary_search_by(|&op| op.name().cmp(name)).ok().map(|i| idx[i])
    }
}

fn sorted_index() -> &'static [Opcode] {
    use std::sync::OnceLock;
    static INDEX: OnceLock<Vec<Opcode>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut v = Opcode::ALL.to_vec();
        v.sort_by_key(|op| op.name());
        v
    })
}

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Debug for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        assert_eq!(Opcode::ALL.len(), 163);
        assert_eq!(OPCODE_INFO.len(), 163);
        for &op in Opcode::ALL {
            assert_eq!(Opcode::from_name(op.name()), Some(op));
        }
        assert_eq!(Opcode::from_name("iadd_imm"), None);
    }

    #[test]
    fn inference_operands_exist() {
        for &op in Opcode::ALL {
            let info = op.info();
            if let Some(i) = info.infer {
                assert!(op.is_polymorphic(), "{op}");
                assert_eq!(info.args.get(i as usize), Some(&Constraint::Ctrl), "{op}");
            }
        }
    }

    /// The table agrees with the specification's `opcodes.tsv`: same opcodes in the same
    /// order, same formats, same flags, and monomorphic exactly where the TSV says so.
    #[test]
    fn matches_the_specification() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/clif/opcodes.tsv");
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("skipping: {path} not found");
            return;
        };
        let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split('\t').collect()).collect();
        assert_eq!(rows.len(), Opcode::ALL.len());
        for (row, &op) in rows.iter().zip(Opcode::ALL) {
            assert_eq!(row[0], op.name());
            assert_eq!(row[1], format!("{:?}", op.format()), "{op}");
            let mono = row[4].starts_with("monomorphic");
            assert_eq!(mono, !op.is_polymorphic(), "{op}");
            let tsv_flags: Vec<&str> = row[5].split(',').filter(|s| *s != "-").collect();
            let check = |name: &str, has: bool| {
                let listed = tsv_flags.iter().any(|f| *f == name || f.starts_with(name));
                assert_eq!(listed, has, "{op}: flag {name}");
            };
            check("is_terminator", op.is_terminator());
            check("is_branch", op.is_branch());
            check("is_call", op.is_call());
            check("is_return", op.is_return());
            check("can_load", op.can_load());
            check("can_store", op.can_store());
            check("can_trap", op.can_trap());
            check("side_effects", op.other_side_effects());
            check("idempotent_side_effects", op.side_effects_idempotent());
            check("mem_trap_via_memflags", op.is_memory_access());
            check("exception_edges", op.has_exception_edges());
            check("debug_tags_allowed", op.allows_debug_tags());
            check("stack_map", op.allows_stack_map());
            check("x86_oriented", op.is_x86_oriented());
            let infers = row[4].contains("inferred from operand");
            assert_eq!(infers, op.info().infer.is_some(), "{op}: inference");
        }
    }
}

//! The entity references of the IR. Each is a `u32` index into an arena of the function
//! (see [`crate::entity`]) and prints with its CLIF prefix (`v3`, `block7`, `ss0`, …).

use crate::entity_ref;

entity_ref!(
    /// An SSA value: an instruction result or a block parameter.
    Value,
    "v"
);
entity_ref!(
    /// An instruction.
    Inst,
    "inst"
);
entity_ref!(
    /// A basic block.
    Block,
    "block"
);
entity_ref!(
    /// An explicit stack slot.
    StackSlot,
    "ss"
);
entity_ref!(
    /// A dynamic stack slot.
    DynamicStackSlot,
    "dss"
);
entity_ref!(
    /// A dynamic vector type declaration.
    DynamicType,
    "dt"
);
entity_ref!(
    /// A global value.
    GlobalValue,
    "gv"
);
entity_ref!(
    /// A constant-pool entry.
    Constant,
    "const"
);
entity_ref!(
    /// A large immediate (a `shuffle` mask).
    Immediate,
    "imm"
);
entity_ref!(
    /// An external function declared in the preamble.
    FuncRef,
    "fn"
);
entity_ref!(
    /// A signature declared in the preamble.
    SigRef,
    "sig"
);
entity_ref!(
    /// The inline jump table of a `br_table`.
    JumpTable,
    "jt"
);
entity_ref!(
    /// The exception table of a `try_call`.
    ExceptionTable,
    "extable"
);
entity_ref!(
    /// A declared alias region.
    AliasRegion,
    "region"
);
entity_ref!(
    /// An entry of the function's table of user external names (`uN:M`).
    UserExternalNameRef,
    "userextname"
);

/// A reference to any entity, for diagnostics and comment attachment.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum AnyEntity {
    Function,
    Block(Block),
    Inst(Inst),
    Value(Value),
    StackSlot(StackSlot),
    DynamicStackSlot(DynamicStackSlot),
    DynamicType(DynamicType),
    GlobalValue(GlobalValue),
    Constant(Constant),
    FuncRef(FuncRef),
    SigRef(SigRef),
    AliasRegion(AliasRegion),
    /// The `stack_limit` declaration.
    StackLimit,
}

impl core::fmt::Display for AnyEntity {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match self {
            AnyEntity::Function => f.write_str("function"),
            AnyEntity::Block(e) => e.fmt(f),
            AnyEntity::Inst(e) => e.fmt(f),
            AnyEntity::Value(e) => e.fmt(f),
            AnyEntity::StackSlot(e) => e.fmt(f),
            AnyEntity::DynamicStackSlot(e) => e.fmt(f),
            AnyEntity::DynamicType(e) => e.fmt(f),
            AnyEntity::GlobalValue(e) => e.fmt(f),
            AnyEntity::Constant(e) => e.fmt(f),
            AnyEntity::FuncRef(e) => e.fmt(f),
            AnyEntity::SigRef(e) => e.fmt(f),
            AnyEntity::AliasRegion(e) => e.fmt(f),
            AnyEntity::StackLimit => f.write_str("stack_limit"),
        }
    }
}

macro_rules! any_from {
    ($($t:ident),*) => {$(
        impl From<$t> for AnyEntity {
            fn from(e: $t) -> Self { AnyEntity::$t(e) }
        }
    )*};
}
any_from!(
    Block,
    Inst,
    Value,
    StackSlot,
    DynamicStackSlot,
    DynamicType,
    GlobalValue,
    Constant,
    FuncRef,
    SigRef,
    AliasRegion
);

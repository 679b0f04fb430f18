//! Instruction data: one enum variant per instruction format, at most 16 bytes.
//!
//! Variable-length operands (call arguments, return values, branch arguments) live in the
//! function's value-list pool and are referenced by a 4-byte [`ValueList`] handle. A
//! [`BlockCall`] (a branch target with its arguments) is such a list whose first element
//! encodes the block. Jump tables and exception tables are side tables of the
//! `DataFlowGraph`.

use crate::condcodes::{FloatCC, IntCC};
use crate::entities::*;
use crate::entity::{EntityList, EntityRef, ListPool};
use crate::immediates::{Ieee16, Ieee32, Ieee64, Imm64, Offset32};
use crate::memflags::MemFlagsId;
use crate::opcodes::{InstructionFormat, Opcode};
use crate::trapcode::TrapCode;
use core::fmt;

/// A list of values in the function's pool.
pub type ValueList = EntityList<Value>;
/// The pool of value lists.
pub type ValueListPool = ListPool<Value>;

/// The operation of an `atomic_rmw`.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
#[allow(missing_docs)]
pub enum AtomicRmwOp {
    Add,
    Sub,
    And,
    Nand,
    Or,
    Xor,
    Xchg,
    Umin,
    Umax,
    Smin,
    Smax,
}

impl AtomicRmwOp {
    /// Every operation.
    pub const ALL: [AtomicRmwOp; 11] = [
        Self::Add,
        Self::Sub,
        Self::And,
        Self::Nand,
        Self::Or,
        Self::Xor,
        Self::Xchg,
        Self::Umin,
        Self::Umax,
        Self::Smin,
        Self::Smax,
    ];
    /// Text name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Sub => "sub",
            Self::And => "and",
            Self::Nand => "nand",
            Self::Or => "or",
            Self::Xor => "xor",
            Self::Xchg => "xchg",
            Self::Umin => "umin",
            Self::Umax => "umax",
            Self::Smin => "smin",
            Self::Smax => "smax",
        }
    }
    /// Parse a text name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|op| op.name() == s)
    }
}

impl fmt::Display for AtomicRmwOp {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An argument passed to a block: a value, or inside `try_call` targets the callee's K-th
/// return value (`retK`) or the K-th exception payload (`exnK`).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum BlockArg {
    /// An SSA value.
    Value(Value),
    /// `retK`.
    TryCallRet(u32),
    /// `exnK`.
    TryCallExn(u32),
}

const TAG_SHIFT: u32 = 30;
const TAG_MASK: u32 = 3 << TAG_SHIFT;
/// Values numbered at or above this cannot be created (their top bits tag block arguments).
pub const MAX_VALUES: u32 = 1 << TAG_SHIFT;

impl BlockArg {
    /// Encode as a pool word.
    pub fn encode(self) -> Value {
        match self {
            BlockArg::Value(v) => v,
            BlockArg::TryCallRet(n) => Value::from_u32((1 << TAG_SHIFT) | n),
            BlockArg::TryCallExn(n) => Value::from_u32((2 << TAG_SHIFT) | n),
        }
    }
    /// Decode a pool word.
    pub fn decode(v: Value) -> BlockArg {
        let n = v.as_u32();
        match n >> TAG_SHIFT {
            0 => BlockArg::Value(v),
            1 => BlockArg::TryCallRet(n & !TAG_MASK),
            _ => BlockArg::TryCallExn(n & !TAG_MASK),
        }
    }
    /// The value, if this is a plain value.
    pub fn as_value(self) -> Option<Value> {
        match self {
            BlockArg::Value(v) => Some(v),
            _ => None,
        }
    }
}

impl fmt::Display for BlockArg {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            BlockArg::Value(v) => v.fmt(f),
            BlockArg::TryCallRet(n) => write!(f, "ret{n}"),
            BlockArg::TryCallExn(n) => write!(f, "exn{n}"),
        }
    }
}

/// A branch target with its arguments: a pool list whose first word is the block and whose
/// remaining words are encoded [`BlockArg`]s.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct BlockCall {
    list: ValueList,
}

impl BlockCall {
    /// A call of `block` with `args`.
    pub fn new(block: Block, args: impl IntoIterator<Item = BlockArg>, pool: &mut ValueListPool) -> Self {
        let mut list = ValueList::new();
        list.push(Value::new(block.index()), pool);
        list.extend(args.into_iter().map(BlockArg::encode), pool);
        BlockCall { list }
    }
    /// Does this handle describe a block call stored in `pool` (a list holding at least the
    /// block)? Never panics; the other accessors assume it.
    pub fn is_well_formed(self, pool: &ValueListPool) -> bool {
        self.list.try_as_slice(pool).is_some_and(|s| !s.is_empty())
    }
    /// The target block.
    pub fn block(self, pool: &ValueListPool) -> Block {
        Block::new(self.list.first(pool).map_or(0, |v| v.index()))
    }
    /// Retarget to `block`.
    pub fn set_block(self, block: Block, pool: &mut ValueListPool) {
        let mut l = self.list;
        l.as_mut_slice(pool)[0] = Value::new(block.index());
    }
    /// Number of arguments.
    pub fn len(self, pool: &ValueListPool) -> usize {
        self.list.len(pool).saturating_sub(1)
    }
    /// Are there no arguments?
    pub fn is_empty(self, pool: &ValueListPool) -> bool {
        self.len(pool) == 0
    }
    /// The raw (encoded) argument words.
    pub fn raw_args(self, pool: &ValueListPool) -> &[Value] {
        self.list.as_slice(pool).get(1..).unwrap_or(&[])
    }
    /// The raw argument words, mutably (to rewrite values in place).
    pub fn raw_args_mut(self, pool: &mut ValueListPool) -> &mut [Value] {
        let mut l = self.list;
        let s = l.as_mut_slice(pool);
        if s.is_empty() { s } else { &mut s[1..] }
    }
    /// The arguments.
    pub fn args(self, pool: &ValueListPool) -> impl ExactSizeIterator<Item = BlockArg> + '_ {
        self.raw_args(pool).iter().map(|&v| BlockArg::decode(v))
    }
    /// Append an argument.
    pub fn append_arg(&mut self, arg: BlockArg, pool: &mut ValueListPool) {
        self.list.push(arg.encode(), pool);
    }
    /// Remove argument `i`.
    pub fn remove_arg(&mut self, i: usize, pool: &mut ValueListPool) {
        self.list.remove(i + 1, pool);
    }
    /// Keep the arguments whose index satisfies `keep` (one pass).
    pub fn retain_args(&mut self, pool: &mut ValueListPool, mut keep: impl FnMut(usize) -> bool) {
        self.list.retain(pool, |i, _| i == 0 || keep(i - 1));
    }
    /// Remove every argument.
    pub fn clear_args(&mut self, pool: &mut ValueListPool) {
        self.list.truncate(1, pool);
    }
    /// A copy with separate storage.
    pub fn deep_clone(self, pool: &mut ValueListPool) -> Self {
        BlockCall { list: self.list.deep_clone(pool) }
    }
    /// Displayable form.
    pub fn display(self, pool: &ValueListPool) -> DisplayBlockCall<'_> {
        DisplayBlockCall { call: self, pool }
    }
}

/// Displays a [`BlockCall`] as `block3(v1, ret0)`.
pub struct DisplayBlockCall<'a> {
    call: BlockCall,
    pool: &'a ValueListPool,
}

impl fmt::Display for DisplayBlockCall<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.call.block(self.pool))?;
        if !self.call.is_empty(self.pool) {
            f.write_str("(")?;
            for (i, a) in self.call.args(self.pool).enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{a}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// The table of a `br_table`: the default target first, then the entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct JumpTableData {
    targets: Vec<BlockCall>,
}

impl JumpTableData {
    /// A table with `default` and `entries`.
    pub fn new(default: BlockCall, entries: &[BlockCall]) -> Self {
        let mut targets = Vec::with_capacity(entries.len() + 1);
        targets.push(default);
        targets.extend_from_slice(entries);
        JumpTableData { targets }
    }
    /// The default target.
    pub fn default_block(&self) -> BlockCall {
        self.targets[0]
    }
    /// The entries (without the default).
    pub fn as_slice(&self) -> &[BlockCall] {
        &self.targets[1..]
    }
    /// Every target, the default first.
    pub fn all_branches(&self) -> &[BlockCall] {
        &self.targets
    }
    /// Every target, mutably.
    pub fn all_branches_mut(&mut self) -> &mut [BlockCall] {
        &mut self.targets
    }
}

/// An item of a `try_call` exception table.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExceptionItem {
    /// Catch exceptions with this tag (the next handler target).
    Tag(u32),
    /// Catch any exception not matched by a tag (the next handler target).
    Default,
    /// A dynamic context value for the unwinder.
    Context(Value),
}

/// The exception table of a `try_call`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ExceptionTableData {
    /// The signature, structurally equal to the callee's.
    pub sig: SigRef,
    /// The normal-return target first, then one handler target per `Tag`/`Default` item.
    targets: Vec<BlockCall>,
    /// The items in source order.
    pub items: Vec<ExceptionItem>,
}

impl ExceptionTableData {
    /// A table; `handlers` holds one target per non-context item, in order.
    pub fn new(sig: SigRef, normal: BlockCall, items: Vec<ExceptionItem>, handlers: &[BlockCall]) -> Self {
        debug_assert_eq!(items.iter().filter(|i| !matches!(i, ExceptionItem::Context(_))).count(), handlers.len());
        let mut targets = Vec::with_capacity(handlers.len() + 1);
        targets.push(normal);
        targets.extend_from_slice(handlers);
        ExceptionTableData { sig, targets, items }
    }
    /// The normal-return target.
    pub fn normal_return(&self) -> BlockCall {
        self.targets[0]
    }
    /// The handler targets, in item order.
    pub fn handlers(&self) -> &[BlockCall] {
        &self.targets[1..]
    }
    /// Every target, the normal return first.
    pub fn all_branches(&self) -> &[BlockCall] {
        &self.targets
    }
    /// Every target, mutably.
    pub fn all_branches_mut(&mut self) -> &mut [BlockCall] {
        &mut self.targets
    }
    /// The items paired with their handler target (`None` for context items).
    pub fn items_with_targets(&self) -> impl Iterator<Item = (ExceptionItem, Option<BlockCall>)> + '_ {
        let mut h = self.handlers().iter();
        self.items.iter().map(move |&item| match item {
            ExceptionItem::Context(_) => (item, None),
            _ => (item, h.next().copied()),
        })
    }
    /// The context values.
    pub fn contexts(&self) -> impl Iterator<Item = Value> + '_ {
        self.items.iter().filter_map(|i| match i {
            ExceptionItem::Context(v) => Some(*v),
            _ => None,
        })
    }
    /// The context values, mutably.
    pub fn contexts_mut(&mut self) -> impl Iterator<Item = &mut Value> + '_ {
        self.items.iter_mut().filter_map(|i| match i {
            ExceptionItem::Context(v) => Some(v),
            _ => None,
        })
    }
}

/// The operands of one instruction. The opcode determines the variant (its format).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum InstructionData {
    NullAry {
        opcode: Opcode,
    },
    Unary {
        opcode: Opcode,
        arg: Value,
    },
    UnaryImm {
        opcode: Opcode,
        imm: Imm64,
    },
    UnaryIeee16 {
        opcode: Opcode,
        imm: Ieee16,
    },
    UnaryIeee32 {
        opcode: Opcode,
        imm: Ieee32,
    },
    UnaryIeee64 {
        opcode: Opcode,
        imm: Ieee64,
    },
    UnaryConst {
        opcode: Opcode,
        constant: Constant,
    },
    UnaryGlobalValue {
        opcode: Opcode,
        global_value: GlobalValue,
    },
    Binary {
        opcode: Opcode,
        args: [Value; 2],
    },
    BinaryImm8 {
        opcode: Opcode,
        arg: Value,
        imm: u8,
    },
    Ternary {
        opcode: Opcode,
        args: [Value; 3],
    },
    TernaryImm8 {
        opcode: Opcode,
        args: [Value; 2],
        imm: u8,
    },
    MultiAry {
        opcode: Opcode,
        args: ValueList,
    },
    Shuffle {
        opcode: Opcode,
        args: [Value; 2],
        mask: Immediate,
    },
    IntCompare {
        opcode: Opcode,
        cond: IntCC,
        args: [Value; 2],
    },
    FloatCompare {
        opcode: Opcode,
        cond: FloatCC,
        args: [Value; 2],
    },
    IntAddTrap {
        opcode: Opcode,
        args: [Value; 2],
        code: TrapCode,
    },
    Jump {
        opcode: Opcode,
        destination: BlockCall,
    },
    Brif {
        opcode: Opcode,
        arg: Value,
        blocks: [BlockCall; 2],
    },
    BranchTable {
        opcode: Opcode,
        arg: Value,
        table: JumpTable,
    },
    Call {
        opcode: Opcode,
        func_ref: FuncRef,
        args: ValueList,
    },
    /// The callee is the first element of `args`.
    CallIndirect {
        opcode: Opcode,
        sig_ref: SigRef,
        args: ValueList,
    },
    TryCall {
        opcode: Opcode,
        func_ref: FuncRef,
        args: ValueList,
        exception: ExceptionTable,
    },
    /// The callee is the first element of `args`.
    TryCallIndirect {
        opcode: Opcode,
        args: ValueList,
        exception: ExceptionTable,
    },
    FuncAddr {
        opcode: Opcode,
        func_ref: FuncRef,
    },
    StackAddr {
        opcode: Opcode,
        stack_slot: StackSlot,
        offset: Offset32,
    },
    DynamicStackAddr {
        opcode: Opcode,
        dynamic_stack_slot: DynamicStackSlot,
    },
    Load {
        opcode: Opcode,
        flags: MemFlagsId,
        arg: Value,
        offset: Offset32,
    },
    /// `args` = [stored value, address].
    Store {
        opcode: Opcode,
        flags: MemFlagsId,
        args: [Value; 2],
        offset: Offset32,
    },
    LoadNoOffset {
        opcode: Opcode,
        flags: MemFlagsId,
        arg: Value,
    },
    /// `args` = [stored value, address].
    StoreNoOffset {
        opcode: Opcode,
        flags: MemFlagsId,
        args: [Value; 2],
    },
    /// `args` = [address, operand].
    AtomicRmw {
        opcode: Opcode,
        flags: MemFlagsId,
        op: AtomicRmwOp,
        args: [Value; 2],
    },
    /// `args` = [address, expected, replacement].
    AtomicCas {
        opcode: Opcode,
        flags: MemFlagsId,
        args: [Value; 3],
    },
    Trap {
        opcode: Opcode,
        code: TrapCode,
    },
    CondTrap {
        opcode: Opcode,
        arg: Value,
        code: TrapCode,
    },
    ExceptionHandlerAddress {
        opcode: Opcode,
        block: Block,
        imm: Imm64,
    },
}

impl InstructionData {
    /// The opcode.
    #[inline]
    pub fn opcode(&self) -> Opcode {
        use InstructionData::*;
        match *self {
            NullAry { opcode }
            | Unary { opcode, .. }
            | UnaryImm { opcode, .. }
            | UnaryIeee16 { opcode, .. }
            | UnaryIeee32 { opcode, .. }
            | UnaryIeee64 { opcode, .. }
            | UnaryConst { opcode, .. }
            | UnaryGlobalValue { opcode, .. }
            | Binary { opcode, .. }
            | BinaryImm8 { opcode, .. }
            | Ternary { opcode, .. }
            | TernaryImm8 { opcode, .. }
            | MultiAry { opcode, .. }
            | Shuffle { opcode, .. }
            | IntCompare { opcode, .. }
            | FloatCompare { opcode, .. }
            | IntAddTrap { opcode, .. }
            | Jump { opcode, .. }
            | Brif { opcode, .. }
            | BranchTable { opcode, .. }
            | Call { opcode, .. }
            | CallIndirect { opcode, .. }
            | TryCall { opcode, .. }
            | TryCallIndirect { opcode, .. }
            | FuncAddr { opcode, .. }
            | StackAddr { opcode, .. }
            | DynamicStackAddr { opcode, .. }
            | Load { opcode, .. }
            | Store { opcode, .. }
            | LoadNoOffset { opcode, .. }
            | StoreNoOffset { opcode, .. }
            | AtomicRmw { opcode, .. }
            | AtomicCas { opcode, .. }
            | Trap { opcode, .. }
            | CondTrap { opcode, .. }
            | ExceptionHandlerAddress { opcode, .. } => opcode,
        }
    }

    /// The instruction format.
    pub fn format(&self) -> InstructionFormat {
        use InstructionData as D;
        use InstructionFormat as F;
        match self {
            D::NullAry { .. } => F::NullAry,
            D::Unary { .. } => F::Unary,
            D::UnaryImm { .. } => F::UnaryImm,
            D::UnaryIeee16 { .. } => F::UnaryIeee16,
            D::UnaryIeee32 { .. } => F::UnaryIeee32,
            D::UnaryIeee64 { .. } => F::UnaryIeee64,
            D::UnaryConst { .. } => F::UnaryConst,
            D::UnaryGlobalValue { .. } => F::UnaryGlobalValue,
            D::Binary { .. } => F::Binary,
            D::BinaryImm8 { .. } => F::BinaryImm8,
            D::Ternary { .. } => F::Ternary,
            D::TernaryImm8 { .. } => F::TernaryImm8,
            D::MultiAry { .. } => F::MultiAry,
            D::Shuffle { .. } => F::Shuffle,
            D::IntCompare { .. } => F::IntCompare,
            D::FloatCompare { .. } => F::FloatCompare,
            D::IntAddTrap { .. } => F::IntAddTrap,
            D::Jump { .. } => F::Jump,
            D::Brif { .. } => F::Brif,
            D::BranchTable { .. } => F::BranchTable,
            D::Call { .. } => F::Call,
            D::CallIndirect { .. } => F::CallIndirect,
            D::TryCall { .. } => F::TryCall,
            D::TryCallIndirect { .. } => F::TryCallIndirect,
            D::FuncAddr { .. } => F::FuncAddr,
            D::StackAddr { .. } => F::StackAddr,
            D::DynamicStackAddr { .. } => F::DynamicStackAddr,
            D::Load { .. } => F::Load,
            D::Store { .. } => F::Store,
            D::LoadNoOffset { .. } => F::LoadNoOffset,
            D::StoreNoOffset { .. } => F::StoreNoOffset,
            D::AtomicRmw { .. } => F::AtomicRmw,
            D::AtomicCas { .. } => F::AtomicCas,
            D::Trap { .. } => F::Trap,
            D::CondTrap { .. } => F::CondTrap,
            D::ExceptionHandlerAddress { .. } => F::ExceptionHandlerAddress,
        }
    }

    /// The value operands (fixed ones and the value list; not branch arguments).
    #[inline]
    pub fn arguments<'a>(&'a self, pool: &'a ValueListPool) -> &'a [Value] {
        use InstructionData::*;
        match self {
            NullAry { .. }
            | UnaryImm { .. }
            | UnaryIeee16 { .. }
            | UnaryIeee32 { .. }
            | UnaryIeee64 { .. }
            | UnaryConst { .. }
            | UnaryGlobalValue { .. }
            | Jump { .. }
            | FuncAddr { .. }
            | StackAddr { .. }
            | DynamicStackAddr { .. }
            | Trap { .. }
            | ExceptionHandlerAddress { .. } => &[],
            Unary { arg, .. }
            | BinaryImm8 { arg, .. }
            | Brif { arg, .. }
            | BranchTable { arg, .. }
            | Load { arg, .. }
            | LoadNoOffset { arg, .. }
            | CondTrap { arg, .. } => core::slice::from_ref(arg),
            Binary { args, .. }
            | TernaryImm8 { args, .. }
            | Shuffle { args, .. }
            | IntCompare { args, .. }
            | FloatCompare { args, .. }
            | IntAddTrap { args, .. }
            | Store { args, .. }
            | StoreNoOffset { args, .. }
            | AtomicRmw { args, .. } => args,
            Ternary { args, .. } | AtomicCas { args, .. } => args,
            MultiAry { args, .. }
            | Call { args, .. }
            | CallIndirect { args, .. }
            | TryCall { args, .. }
            | TryCallIndirect { args, .. } => args.as_slice(pool),
        }
    }

    /// The value operands, mutably.
    #[inline]
    pub fn arguments_mut<'a>(&'a mut self, pool: &'a mut ValueListPool) -> &'a mut [Value] {
        use InstructionData::*;
        match self {
            NullAry { .. }
            | UnaryImm { .. }
            | UnaryIeee16 { .. }
            | UnaryIeee32 { .. }
            | UnaryIeee64 { .. }
            | UnaryConst { .. }
            | UnaryGlobalValue { .. }
            | Jump { .. }
            | FuncAddr { .. }
            | StackAddr { .. }
            | DynamicStackAddr { .. }
            | Trap { .. }
            | ExceptionHandlerAddress { .. } => &mut [],
            Unary { arg, .. }
            | BinaryImm8 { arg, .. }
            | Brif { arg, .. }
            | BranchTable { arg, .. }
            | Load { arg, .. }
            | LoadNoOffset { arg, .. }
            | CondTrap { arg, .. } => core::slice::from_mut(arg),
            Binary { args, .. }
            | TernaryImm8 { args, .. }
            | Shuffle { args, .. }
            | IntCompare { args, .. }
            | FloatCompare { args, .. }
            | IntAddTrap { args, .. }
            | Store { args, .. }
            | StoreNoOffset { args, .. }
            | AtomicRmw { args, .. } => args,
            Ternary { args, .. } | AtomicCas { args, .. } => args,
            MultiAry { args, .. }
            | Call { args, .. }
            | CallIndirect { args, .. }
            | TryCall { args, .. }
            | TryCallIndirect { args, .. } => args.as_mut_slice(pool),
        }
    }

    /// The memory flags id, for instructions that have one.
    pub fn memflags(&self) -> Option<MemFlagsId> {
        use InstructionData::*;
        match *self {
            Load { flags, .. }
            | Store { flags, .. }
            | LoadNoOffset { flags, .. }
            | StoreNoOffset { flags, .. }
            | AtomicRmw { flags, .. }
            | AtomicCas { flags, .. } => Some(flags),
            _ => None,
        }
    }

    /// The trap code, for instructions that carry one in their format.
    pub fn trap_code(&self) -> Option<TrapCode> {
        use InstructionData::*;
        match *self {
            Trap { code, .. } | CondTrap { code, .. } | IntAddTrap { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The address offset of a `Load`/`Store`/`StackAddr`.
    pub fn offset(&self) -> Option<Offset32> {
        use InstructionData::*;
        match *self {
            Load { offset, .. } | Store { offset, .. } | StackAddr { offset, .. } => Some(offset),
            _ => None,
        }
    }

    /// The callee function of a direct call.
    pub fn func_ref(&self) -> Option<FuncRef> {
        use InstructionData::*;
        match *self {
            Call { func_ref, .. } | TryCall { func_ref, .. } | FuncAddr { func_ref, .. } => Some(func_ref),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instruction_data_is_16_bytes() {
        assert_eq!(core::mem::size_of::<InstructionData>(), 16);
        assert_eq!(core::mem::size_of::<Option<TrapCode>>(), 1);
    }

    #[test]
    fn block_args_encode() {
        for a in [BlockArg::Value(Value::new(77)), BlockArg::TryCallRet(3), BlockArg::TryCallExn(0)] {
            assert_eq!(BlockArg::decode(a.encode()), a);
        }
        let mut pool = ValueListPool::new();
        let c = BlockCall::new(Block::new(4), [BlockArg::Value(Value::new(1)), BlockArg::TryCallRet(0)], &mut pool);
        assert_eq!(c.block(&pool), Block::new(4));
        assert_eq!(c.display(&pool).to_string(), "block4(v1, ret0)");
        let e = BlockCall::new(Block::new(2), [], &mut pool);
        assert_eq!(e.display(&pool).to_string(), "block2");
    }
}

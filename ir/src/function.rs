//! A function: its name, signature, preamble declarations (stack slots, global values,
//! dynamic types, alias regions, user names), data-flow graph, layout and per-instruction
//! annotations (source locations, debug tags, user stack maps).

use crate::dfg::DataFlowGraph;
use crate::entities::*;
use crate::entity::{EntitySet, PrimaryMap, SecondaryMap};
use crate::extname::{ExternalName, UserExternalName, UserFuncName};
use crate::immediates::{Imm64, Offset32};
use crate::layout::Layout;
use crate::memflags::MemFlags;
use crate::signature::{ArgumentPurpose, CallConv, Signature};
use crate::types::Type;
use core::fmt;
use std::collections::HashMap;

/// The source location of an instruction (an opaque 32-bit number, `@hex` in text).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct SourceLoc(pub u32);

impl SourceLoc {
    /// No location.
    pub const NONE: SourceLoc = SourceLoc(u32::MAX);
    /// Is this the "no location" value?
    pub fn is_default(self) -> bool {
        self == Self::NONE
    }
}

impl Default for SourceLoc {
    fn default() -> Self {
        Self::NONE
    }
}

impl fmt::Display for SourceLoc {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "@{:04x}", self.0)
    }
}

/// An explicit stack slot.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct StackSlotData {
    /// Size in bytes.
    pub size: u32,
    /// log2 of the alignment.
    pub align_shift: u8,
    /// An opaque key passed through to metadata.
    pub key: Option<u64>,
}

impl StackSlotData {
    /// A slot of `size` bytes aligned to `1 << align_shift`.
    pub fn new(size: u32, align_shift: u8) -> Self {
        StackSlotData { size, align_shift, key: None }
    }
    /// Alignment in bytes.
    pub fn alignment(&self) -> u64 {
        1u64 << self.align_shift
    }
}

impl fmt::Display for StackSlotData {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "explicit_slot {}", self.size)?;
        if self.align_shift != 0 {
            write!(f, ", align = {}", self.alignment())?;
        }
        if let Some(k) = self.key {
            write!(f, ", key = {k}")?;
        }
        Ok(())
    }
}

/// A dynamic stack slot.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct DynamicStackSlotData {
    /// The dynamic type of its contents.
    pub dyn_ty: DynamicType,
}

/// A dynamic vector type: a fixed vector scaled by a global value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct DynamicTypeData {
    /// The fixed vector type.
    pub base_vector_ty: Type,
    /// The `dyn_scale_target_const` global value giving the scale.
    pub dynamic_scale: GlobalValue,
}

/// A declared alias region.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct AliasRegionData {
    /// The user id (unique in the function).
    pub id: u32,
    /// A description.
    pub name: String,
}

/// A global value.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum GlobalValueData {
    /// The function's `vmctx` parameter.
    VMContext,
    /// A value loaded from `base + offset`.
    Load {
        /// Address base.
        base: GlobalValue,
        /// Offset.
        offset: Offset32,
        /// Loaded type.
        global_type: Type,
        /// Flags (always `notrap aligned`, maybe more).
        flags: MemFlags,
    },
    /// `base + offset`, wrapping.
    IAddImm {
        /// Base.
        base: GlobalValue,
        /// Addend.
        offset: Imm64,
        /// Type (equal to the base's).
        global_type: Type,
    },
    /// The address of a linker symbol plus an offset.
    Symbol {
        /// The symbol.
        name: ExternalName,
        /// Offset.
        offset: Imm64,
        /// Within near-call/PC-relative range.
        colocated: bool,
        /// Thread-local.
        tls: bool,
    },
    /// Number of `vector_type`-sized chunks in the target's scalable vector register.
    DynScaleTargetConst {
        /// The vector type.
        vector_type: Type,
    },
}

impl GlobalValueData {
    /// The value's type, given the target pointer type.
    pub fn global_type(&self, pointer_type: Type) -> Type {
        match *self {
            GlobalValueData::VMContext
            | GlobalValueData::Symbol { .. }
            | GlobalValueData::DynScaleTargetConst { .. } => pointer_type,
            GlobalValueData::Load { global_type, .. } | GlobalValueData::IAddImm { global_type, .. } => global_type,
        }
    }
}

/// A user stack-map entry of a call: a GC reference of type `ty` at `slot + offset`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct UserStackMapEntry {
    /// Type of the reference.
    pub ty: Type,
    /// The slot.
    pub slot: StackSlot,
    /// Offset in the slot.
    pub offset: u32,
}

/// A debug tag on a call or `sequence_point`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum DebugTag {
    /// A user number.
    User(u32),
    /// A stack slot.
    StackSlot(StackSlot),
}

impl fmt::Display for DebugTag {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            DebugTag::User(n) => write!(f, "{n}"),
            DebugTag::StackSlot(s) => write!(f, "{s}"),
        }
    }
}

/// Preamble entities that the parser created only to fill gaps in the numbering
/// (`ss0` … `ss3` when only `ss3` was declared). They hold inert data and are not printed or
/// verified.
#[derive(Clone, Default, PartialEq, Eq, Debug)]
#[allow(missing_docs)]
pub struct Placeholders {
    pub stack_slots: EntitySet<StackSlot>,
    pub dynamic_stack_slots: EntitySet<DynamicStackSlot>,
    pub dynamic_types: EntitySet<DynamicType>,
    pub global_values: EntitySet<GlobalValue>,
    pub signatures: EntitySet<SigRef>,
    pub func_refs: EntitySet<FuncRef>,
    pub constants: EntitySet<Constant>,
}

/// A function.
#[derive(Clone, Default)]
pub struct Function {
    /// Its name.
    pub name: UserFuncName,
    /// Its signature.
    pub signature: Signature,
    /// Explicit stack slots.
    pub stack_slots: PrimaryMap<StackSlot, StackSlotData>,
    /// Dynamic stack slots.
    pub dynamic_stack_slots: PrimaryMap<DynamicStackSlot, DynamicStackSlotData>,
    /// Dynamic vector types.
    pub dynamic_types: PrimaryMap<DynamicType, DynamicTypeData>,
    /// Global values.
    pub global_values: PrimaryMap<GlobalValue, GlobalValueData>,
    /// Alias regions.
    pub alias_regions: PrimaryMap<AliasRegion, AliasRegionData>,
    /// User names referenced by external functions and symbols (deduplicated).
    pub user_named_funcs: PrimaryMap<UserExternalNameRef, UserExternalName>,
    /// The global value holding the stack limit.
    pub stack_limit: Option<GlobalValue>,
    /// Instructions, values, blocks and their side tables.
    pub dfg: DataFlowGraph,
    /// Block and instruction order.
    pub layout: Layout,
    /// Source locations.
    pub srclocs: SecondaryMap<Inst, SourceLoc>,
    /// Debug tags (sparse).
    pub debug_tags: HashMap<Inst, Vec<DebugTag>>,
    /// User stack maps of calls (sparse).
    pub stack_maps: HashMap<Inst, Vec<UserStackMapEntry>>,
    /// Gap-filling preamble entities.
    pub placeholders: Placeholders,
}

impl Default for Signature {
    fn default() -> Self {
        Signature::new(CallConv::Fast)
    }
}

impl Function {
    /// An empty function.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty function with a name and signature.
    pub fn with_name_signature(name: UserFuncName, signature: Signature) -> Self {
        Function { name, signature, ..Self::default() }
    }

    /// Forget everything, keeping allocations, so the function can be reused.
    pub fn clear(&mut self) {
        self.name = UserFuncName::default();
        self.signature.clear(CallConv::Fast);
        self.stack_slots.clear();
        self.dynamic_stack_slots.clear();
        self.dynamic_types.clear();
        self.global_values.clear();
        self.alias_regions.clear();
        self.user_named_funcs.clear();
        self.stack_limit = None;
        self.dfg.clear();
        self.layout.clear();
        self.srclocs.clear();
        self.debug_tags.clear();
        self.stack_maps.clear();
        self.placeholders = Placeholders::default();
    }

    /// Add a stack slot.
    pub fn create_stack_slot(&mut self, data: StackSlotData) -> StackSlot {
        self.stack_slots.push(data)
    }

    /// Add a global value.
    pub fn create_global_value(&mut self, data: GlobalValueData) -> GlobalValue {
        self.global_values.push(data)
    }

    /// Declare a user name, returning its (deduplicated) reference.
    pub fn declare_user_name(&mut self, name: UserExternalName) -> UserExternalNameRef {
        if let Some((r, _)) = self.user_named_funcs.iter().find(|(_, n)| **n == name) {
            return r;
        }
        self.user_named_funcs.push(name)
    }

    /// Import a signature.
    pub fn import_signature(&mut self, sig: Signature) -> SigRef {
        self.dfg.signatures.push(sig)
    }

    /// Import an external function.
    pub fn import_function(&mut self, data: crate::extname::ExtFuncData) -> FuncRef {
        self.dfg.ext_funcs.push(data)
    }

    /// The entry block (first in layout).
    pub fn entry_block(&self) -> Option<Block> {
        self.layout.entry_block()
    }

    /// The `vmctx` parameter of the entry block, if the signature has one.
    pub fn special_param(&self, purpose: ArgumentPurpose) -> Option<Value> {
        let i = self.signature.special_param_index(purpose)?;
        let entry = self.entry_block()?;
        self.dfg.block_params(entry).get(i).copied()
    }

    /// The source location of `inst`.
    pub fn srcloc(&self, inst: Inst) -> SourceLoc {
        self.srclocs[inst]
    }

    /// Print the function in canonical CLIF.
    pub fn display(&self) -> crate::text::writer::DisplayFunction<'_> {
        crate::text::writer::DisplayFunction::new(self)
    }

    /// Number of instructions in the layout.
    pub fn num_insts_in_layout(&self) -> usize {
        self.layout.blocks().map(|b| self.layout.block_insts(b).count()).sum()
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        fmt::Display::fmt(&self.display(), f)
    }
}

impl fmt::Debug for Function {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        fmt::Display::fmt(&self.display(), f)
    }
}

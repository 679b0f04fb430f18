//! The acyclic e-graph: pure values as hash-consed e-nodes, grouped into e-classes by
//! union nodes, with rewrite rules applied eagerly when a node is inserted.
//!
//! Representation (all arena indices, no pointers):
//! - an [`Id`] names an e-class *version*: a [`Kind::Leaf`] (a block parameter or the result
//!   of a skeleton instruction, i.e. an opaque value), a [`Kind::Node`] (one e-node) or a
//!   [`Kind::Union`] of two older ids. An id's members are the leaves and nodes reachable
//!   through its union tree.
//! - e-nodes ([`NodeData`]) are `InstructionData` whose value operands hold *ids* (encoded as
//!   `Value`s) plus the controlling and result types; they live outside the function's
//!   layout until elaboration places them.
//! - a union-find over ids records which ids are known equal; the hash-consing (GVN) key of a
//!   node uses the union-find representatives of its operands, so `f(x + 0)` and `f(x)` meet.
//!
//! Invariants:
//! - acyclic: a node's operands and a union's children are always older ids, so every id's
//!   cost and best member are final when the id is created (extraction is incremental);
//! - an id, once created, never changes: rewriting adds a new union id above it;
//! - every rewrite is bounded: nested insertions stop at [`MAX_DEPTH`], each node takes at
//!   most [`MAX_REWRITES_PER_NODE`] successful rewrites, and a per-function budget caps the
//!   total, so no input can make the graph blow up.

pub(crate) mod build;
pub(crate) mod cost;
pub(crate) mod elaborate;

use crate::fxhash::FxHashMap;
use crate::rules;
use kiln_ir::constant::ConstantData;
use kiln_ir::data_value::DataValue;
use kiln_ir::entity::{PackedOption, SecondaryMap};
use kiln_ir::function::SourceLoc;
use kiln_ir::immediates::{Ieee16, Ieee32, Ieee64, Imm64};
use kiln_ir::instructions::{InstructionData, ValueListPool};
use kiln_ir::types::{self, Type};
use kiln_ir::{Block, Function, Inst, Opcode, Value};
use smallvec::SmallVec;

/// How deep rewrite results may nest (a rule's result inserted while inserting a node).
pub(crate) const MAX_DEPTH: u32 = 5;
/// Successful rewrites per inserted node.
pub(crate) const MAX_REWRITES_PER_NODE: u32 = 6;
/// Constant pool entries above which folding stops creating new vector/f128 constants.
const MAX_POOL_FOR_FOLDING: usize = 1024;

/// An e-class id (see the module documentation).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub(crate) struct Id(pub u32);

impl Id {
    /// No id.
    pub const NONE: Id = Id(u32::MAX);
    /// The id stored in a node's operand slot.
    #[inline]
    pub fn from_value(v: Value) -> Id {
        Id(v.as_u32())
    }
    /// The id encoded for a node's operand slot.
    #[inline]
    pub fn as_value(self) -> Value {
        Value::from_u32(self.0)
    }
    #[inline]
    fn idx(self) -> usize {
        self.0 as usize
    }
}

/// What an id stands for.
#[derive(Copy, Clone, Debug)]
pub(crate) enum Kind {
    /// An opaque value of the function.
    Leaf(Value),
    /// The node with this index in `EGraph::nodes`.
    Node(u32),
    /// Both children's members.
    Union(Id, Id),
}

/// Per-id data.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Class {
    pub kind: Kind,
    /// The value type.
    pub ty: Type,
    /// Cost of the best member.
    pub cost: u32,
    /// The best member (a leaf or node id).
    pub best: Id,
    /// A constant node among the members, or `Id::NONE`.
    pub konst: Id,
    /// Bit `op % 64` is set for the opcode of every node member (a quick filter for
    /// matching).
    pub ops: u64,
}

/// The bit of `op` in [`Class::ops`].
#[inline]
pub(crate) fn op_bit(op: Opcode) -> u64 {
    1u64 << (op as u32 % 64)
}

/// An e-node.
#[derive(Copy, Clone, Debug)]
pub(crate) struct NodeData {
    /// Opcode and immediates; value operands are ids.
    pub data: InstructionData,
    /// Controlling type (`INVALID` for monomorphic opcodes).
    pub ctrl: Type,
    /// Type of the (single) result.
    pub rty: Type,
    /// The instruction this node was read from, reused when the node is first placed.
    pub orig: Option<Inst>,
    /// Source location for placed copies.
    pub srcloc: SourceLoc,
}

impl NodeData {
    /// The opcode.
    #[inline]
    pub fn opcode(&self) -> Opcode {
        self.data.opcode()
    }
}

/// Counters, per function (accumulated into [`crate::Stats`]).
#[derive(Default, Clone, Debug)]
pub(crate) struct Counters {
    pub nodes: u64,
    pub gvn_hits: u64,
    pub folds: u64,
    pub rewrites: u64,
    pub budget_exhausted: bool,
}

/// The e-graph of one function (memory is kept across functions).
#[derive(Default)]
pub(crate) struct EGraph {
    pub classes: Vec<Class>,
    pub nodes: Vec<NodeData>,
    uf: Vec<u32>,
    gvn: FxHashMap<(InstructionData, Type), Id>,
    /// The id of each value of the function (`u32::MAX`: none yet).
    pub value_ids: SecondaryMap<Value, u32>,
    /// Per id: the block of the instruction it was read from (its place in the input), if
    /// any. Elaboration puts a value there when that block dominates the use, instead of
    /// copying it into every branch that uses it.
    homes: Vec<PackedOption<Block>>,
    /// Lists for `InstructionData::arguments` (pure formats have no value lists).
    pub(crate) empty_pool: ValueListPool,
    /// Rewrites left for this function.
    pub budget: u64,
    /// Testing: extraction always takes the rewritten member of a union.
    pub force_rewrites: bool,
    /// Testing: apply only this rule (and fold only if it is a folding rule).
    pub only_rule: Option<usize>,
    /// Source location given to nodes created by rewrites.
    pub cur_srcloc: SourceLoc,
    /// Per-rule success counts of this function.
    pub rule_fires: Vec<u32>,
    pub counters: Counters,
}

impl EGraph {
    /// Forget the previous function.
    pub fn clear(&mut self, func: &Function) {
        self.classes.clear();
        self.nodes.clear();
        self.uf.clear();
        self.homes.clear();
        self.gvn.clear();
        self.value_ids = SecondaryMap::with_default(u32::MAX);
        self.value_ids.resize(func.dfg.num_values());
        let n = func.dfg.num_insts() as u64;
        self.budget = 8 * n + 4096;
        self.cur_srcloc = SourceLoc::NONE;
        self.rule_fires.clear();
        self.rule_fires.resize(rules::rule_count(), 0);
        self.counters = Counters::default();
    }

    /// The class data of `id`.
    #[inline]
    pub fn class(&self, id: Id) -> &Class {
        &self.classes[id.idx()]
    }

    /// The type of `id`'s values.
    #[inline]
    pub fn ty(&self, id: Id) -> Type {
        self.classes[id.idx()].ty
    }

    /// The node of a node id.
    #[inline]
    pub fn node_of(&self, id: Id) -> Option<&NodeData> {
        match self.classes[id.idx()].kind {
            Kind::Node(n) => Some(&self.nodes[n as usize]),
            _ => None,
        }
    }

    /// Union-find representative.
    #[inline]
    pub fn find(&mut self, id: Id) -> Id {
        let mut x = id.0;
        loop {
            let p = self.uf[x as usize];
            if p == x {
                return Id(x);
            }
            let gp = self.uf[p as usize];
            self.uf[x as usize] = gp;
            x = gp;
        }
    }

    /// Union-find representative, without path compression.
    #[inline]
    pub fn find_ro(&self, id: Id) -> Id {
        let mut x = id.0;
        loop {
            let p = self.uf[x as usize];
            if p == x {
                return Id(x);
            }
            x = p;
        }
    }

    fn uf_union(&mut self, a: Id, b: Id) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.uf[hi.idx()] = lo.0;
        }
    }

    fn push_class(&mut self, c: Class) -> Id {
        let id = Id(self.classes.len() as u32);
        self.classes.push(c);
        self.uf.push(id.0);
        self.homes.push(PackedOption::NONE);
        id
    }

    /// Record that `id` was defined in `block` in the input (first definition wins).
    pub fn set_home(&mut self, id: Id, block: Block) {
        if let Some(h) = self.homes.get_mut(id.idx())
            && h.is_none()
        {
            *h = block.into();
        }
    }

    /// The input block of `id`, if it was read from an instruction.
    #[inline]
    pub fn home(&self, id: Id) -> Option<Block> {
        self.homes.get(id.idx()).and_then(|h| h.expand())
    }

    /// The id of value `v` (a leaf if `v` has none yet). `v` must be alias-resolved.
    pub fn value_id(&mut self, func: &Function, v: Value) -> Id {
        let cur = *self.value_ids.get(v);
        if cur != u32::MAX {
            return Id(cur);
        }
        let ty = func.dfg.value_type(v);
        let id = Id(self.classes.len() as u32);
        self.push_class(Class { kind: Kind::Leaf(v), ty, cost: 0, best: id, konst: Id::NONE, ops: 0 });
        self.value_ids[v] = id.0;
        id
    }

    /// Record that value `v` is `id`.
    pub fn set_value_id(&mut self, v: Value, id: Id) {
        self.value_ids[v] = id.0;
    }

    /// A new union of `a` (the older form) and `b` (its rewrite).
    pub fn union(&mut self, a: Id, b: Id) -> Id {
        if a == b {
            return a;
        }
        let (ca, cb) = (self.classes[a.idx()], self.classes[b.idx()]);
        let (cost, best) =
            if self.force_rewrites || cb.cost <= ca.cost { (cb.cost, cb.best) } else { (ca.cost, ca.best) };
        let konst = if ca.konst != Id::NONE { ca.konst } else { cb.konst };
        let ops = ca.ops | cb.ops;
        let u = self.push_class(Class { kind: Kind::Union(a, b), ty: ca.ty, cost, best, konst, ops });
        self.uf_union(a, u);
        self.uf_union(b, u);
        u
    }

    /// The members (leaves and nodes) of `id`, into `out` (appended), newest first:
    /// rewrites come before the forms they rewrote, so matching sees simplified forms first.
    pub fn members(&self, id: Id, out: &mut SmallVec<[Id; 8]>) {
        let mut stack: SmallVec<[Id; 8]> = SmallVec::new();
        stack.push(id);
        while let Some(x) = stack.pop() {
            match self.classes[x.idx()].kind {
                Kind::Union(a, b) => {
                    stack.push(a);
                    stack.push(b);
                }
                _ => out.push(x),
            }
        }
    }

    /// The GVN key of a node.
    fn key(&mut self, n: &NodeData) -> (InstructionData, Type) {
        let mut data = n.data;
        let mut pool = core::mem::take(&mut self.empty_pool);
        {
            let args = data.arguments_mut(&mut pool);
            for a in args.iter_mut() {
                *a = self.find(Id::from_value(*a)).as_value();
            }
            if args.len() == 2 && is_commutative(&n.data) && args[0] > args[1] {
                args.swap(0, 1);
            }
        }
        self.empty_pool = pool;
        (data, n.rty)
    }

    /// Insert a node: hash-cons it, fold it if its operands are constants, and apply the
    /// rewrite rules. Returns the id standing for the node's value (a union if rewritten).
    pub fn insert(&mut self, func: &mut Function, mut n: NodeData, depth: u32) -> Id {
        // Commutative operations keep constants on the right, so that rules need one form.
        let commutative = is_commutative(&n.data);
        if let InstructionData::Binary { args, .. } = &mut n.data
            && commutative
        {
            let (a, b) = (Id::from_value(args[0]), Id::from_value(args[1]));
            if self.classes[a.idx()].konst != Id::NONE && self.classes[b.idx()].konst == Id::NONE {
                args.swap(0, 1);
            }
        }
        let key = self.key(&n);
        if let Some(&id) = self.gvn.get(&key) {
            self.counters.gvn_hits += 1;
            return id;
        }
        let id = self.add_node(n);
        self.gvn.insert(key, id);
        if depth >= MAX_DEPTH || self.budget == 0 {
            if self.budget == 0 {
                self.counters.budget_exhausted = true;
            }
            return id;
        }
        let mut root = id;
        if let Some(k) = self.try_fold(func, id) {
            self.counters.folds += 1;
            self.budget = self.budget.saturating_sub(1);
            root = self.union(root, k);
        } else {
            root = rules::engine::apply_rules(self, func, id, depth);
        }
        if root != id {
            self.gvn.insert(key, root);
        }
        root
    }

    /// Add a node without hash-consing or rewriting.
    fn add_node(&mut self, n: NodeData) -> Id {
        self.counters.nodes += 1;
        let mut cost = cost::op_cost(n.opcode(), n.rty);
        let mut all_const = true;
        let mut nargs = 0;
        for a in n.data.arguments(&self.empty_pool) {
            let c = &self.classes[Id::from_value(*a).idx()];
            cost = cost.saturating_add(c.cost);
            all_const &= c.konst != Id::NONE;
            nargs += 1;
        }
        let ni = self.nodes.len() as u32;
        self.nodes.push(n);
        let id = Id(self.classes.len() as u32);
        let is_const = match n.opcode() {
            Opcode::Iconst | Opcode::F16const | Opcode::F32const | Opcode::F64const | Opcode::F128const => true,
            Opcode::Vconst => true,
            Opcode::Iconcat => nargs == 2 && all_const && n.rty == types::I128,
            _ => false,
        };
        let konst = if is_const { id } else { Id::NONE };
        self.push_class(Class { kind: Kind::Node(ni), ty: n.rty, cost, best: id, konst, ops: op_bit(n.opcode()) })
    }

    /// Insert a node of `data` at `depth` with the types given.
    pub fn build(&mut self, func: &mut Function, data: InstructionData, ctrl: Type, rty: Type, depth: u32) -> Id {
        let n = NodeData { data, ctrl, rty, orig: None, srcloc: self.cur_srcloc };
        self.insert(func, n, depth)
    }

    /// An integer constant of scalar type `ty` (`i8`…`i64`; `i128` as an `iconcat` of two
    /// `i64` constants), `bits` truncated to the type.
    pub fn iconst(&mut self, func: &mut Function, ty: Type, bits: u128, depth: u32) -> Option<Id> {
        match ty {
            types::I8 | types::I16 | types::I32 | types::I64 => {
                let m = (bits & lane_mask(ty.bits())) as u64;
                let data = InstructionData::UnaryImm { opcode: Opcode::Iconst, imm: Imm64(m as i64) };
                Some(self.build(func, data, ty, ty, MAX_DEPTH.max(depth)))
            }
            types::I128 => {
                let lo = self.iconst(func, types::I64, bits & u64::MAX as u128, depth)?;
                let hi = self.iconst(func, types::I64, bits >> 64, depth)?;
                let data = InstructionData::Binary { opcode: Opcode::Iconcat, args: [lo.as_value(), hi.as_value()] };
                Some(self.build(func, data, types::I64, types::I128, MAX_DEPTH.max(depth)))
            }
            _ => None,
        }
    }

    /// The integer value of a constant id (zero-extended bits), if it is one.
    pub fn int_const(&self, id: Id) -> Option<u128> {
        let k = self.classes[id.idx()].konst;
        if k == Id::NONE {
            return None;
        }
        let n = self.node_of(k)?;
        match n.data {
            InstructionData::UnaryImm { imm, .. } => Some(imm.0 as u64 as u128 & lane_mask(n.rty.bits())),
            InstructionData::Binary { opcode: Opcode::Iconcat, args } => {
                let lo = self.int_const(Id::from_value(args[0]))?;
                let hi = self.int_const(Id::from_value(args[1]))?;
                Some(lo | (hi << 64))
            }
            _ => None,
        }
    }

    /// The runtime value of a constant id.
    pub fn const_value(&self, func: &Function, id: Id) -> Option<DataValue> {
        let k = self.classes[id.idx()].konst;
        if k == Id::NONE {
            return None;
        }
        let n = self.node_of(k)?;
        match n.data {
            InstructionData::UnaryImm { .. } | InstructionData::Binary { .. } => {
                DataValue::from_u128(n.rty, self.int_const(k)?)
            }
            InstructionData::UnaryIeee16 { imm, .. } => Some(DataValue::F16(imm)),
            InstructionData::UnaryIeee32 { imm, .. } => Some(DataValue::F32(imm)),
            InstructionData::UnaryIeee64 { imm, .. } => Some(DataValue::F64(imm)),
            InstructionData::UnaryConst { constant, .. } => {
                let c = func.dfg.constants.get(constant)?;
                if c.len() != n.rty.bytes() as usize {
                    return None;
                }
                if n.rty.is_vector() {
                    Some(DataValue::Vector(n.rty, SmallVec::from_slice(c.as_slice())))
                } else {
                    DataValue::from_u128(n.rty, c.as_u128())
                }
            }
            _ => None,
        }
    }

    /// A constant node for a runtime value.
    pub fn make_const(&mut self, func: &mut Function, v: &DataValue, depth: u32) -> Option<Id> {
        let d = MAX_DEPTH.max(depth);
        let ty = v.ty();
        Some(match v {
            DataValue::I8(x) => self.iconst(func, ty, *x as u8 as u128, d)?,
            DataValue::I16(x) => self.iconst(func, ty, *x as u16 as u128, d)?,
            DataValue::I32(x) => self.iconst(func, ty, *x as u32 as u128, d)?,
            DataValue::I64(x) => self.iconst(func, ty, *x as u64 as u128, d)?,
            DataValue::I128(x) => self.iconst(func, ty, *x as u128, d)?,
            DataValue::F16(x) => self.build(
                func,
                InstructionData::UnaryIeee16 { opcode: Opcode::F16const, imm: Ieee16(x.0) },
                types::INVALID,
                ty,
                d,
            ),
            DataValue::F32(x) => self.build(
                func,
                InstructionData::UnaryIeee32 { opcode: Opcode::F32const, imm: Ieee32(x.0) },
                types::INVALID,
                ty,
                d,
            ),
            DataValue::F64(x) => self.build(
                func,
                InstructionData::UnaryIeee64 { opcode: Opcode::F64const, imm: Ieee64(x.0) },
                types::INVALID,
                ty,
                d,
            ),
            DataValue::F128(x) => {
                if func.dfg.constants.len() >= MAX_POOL_FOR_FOLDING {
                    return None;
                }
                let constant = func.dfg.insert_constant(ConstantData::from_u128(x.0, 16));
                self.build(
                    func,
                    InstructionData::UnaryConst { opcode: Opcode::F128const, constant },
                    types::INVALID,
                    ty,
                    d,
                )
            }
            DataValue::Vector(vty, bytes) => {
                if func.dfg.constants.len() >= MAX_POOL_FOR_FOLDING || bytes.len() != vty.bytes() as usize {
                    return None;
                }
                let constant = func.dfg.insert_constant(ConstantData::new(bytes.to_vec()));
                self.build(func, InstructionData::UnaryConst { opcode: Opcode::Vconst, constant }, *vty, *vty, d)
            }
        })
    }

    /// Fold a node whose operands are all constants, with the interpreter's semantics.
    fn try_fold(&mut self, func: &mut Function, id: Id) -> Option<Id> {
        if let Some(r) = self.only_rule
            && !rules::is_fold_rule(r)
        {
            return None;
        }
        let n = *self.node_of(id)?;
        let op = n.opcode();
        if !rules::fold::foldable(op) {
            return None;
        }
        let args = n.data.arguments(&self.empty_pool);
        if args.is_empty() || args.len() > 3 {
            return None;
        }
        let mut vals: SmallVec<[DataValue; 3]> = SmallVec::new();
        for &a in args {
            vals.push(self.const_value(func, Id::from_value(a))?);
        }
        let refs: SmallVec<[&DataValue; 3]> = vals.iter().collect();
        let out = kiln_ir::interp::eval_pure(func, &n.data, n.ctrl, n.rty, &refs).ok()?;
        if out.len() != 1 || out[0].ty() != n.rty {
            return None;
        }
        let k = self.make_const(func, &out[0], MAX_DEPTH)?;
        if let Some(r) = rules::fold_rule_index(op) {
            self.rule_fires[r] += 1;
        }
        Some(k)
    }
}

/// The mask of the low `bits` bits.
#[inline]
pub(crate) fn lane_mask(bits: u32) -> u128 {
    if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 }
}

/// Does the operand order not matter (for hash-consing)?
fn is_commutative(data: &InstructionData) -> bool {
    match *data {
        InstructionData::Binary { opcode, .. } => matches!(
            opcode,
            Opcode::Iadd
                | Opcode::Imul
                | Opcode::Band
                | Opcode::Bor
                | Opcode::Bxor
                | Opcode::Umulhi
                | Opcode::Smulhi
                | Opcode::Smin
                | Opcode::Smax
                | Opcode::Umin
                | Opcode::Umax
        ),
        InstructionData::IntCompare { cond, .. } => {
            matches!(cond, kiln_ir::condcodes::IntCC::Equal | kiln_ir::condcodes::IntCC::NotEqual)
        }
        _ => false,
    }
}

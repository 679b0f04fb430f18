//! VCode: a function's machine instructions over virtual registers, in block lowering
//! order, with everything regalloc2 needs (blocks, successors, predecessors, block
//! parameters, branch arguments, operands, clobbers), and the emission of the allocated
//! code into a [`MachBuffer`].
//!
//! Lowering walks the function backwards, so [`VCodeBuilder`] accumulates instructions in
//! reverse and [`VCodeBuilder::build`] flips them once. Operands are collected after that
//! in a single forward pass (through each instruction's `get_operands`), so the operand
//! arrays are contiguous and allocation-free per instruction.

use crate::machinst::abi::{AbiSpec, FrameLayout, StackAMode};
use crate::machinst::buffer::{ConstantPool, MachBuffer, MachEncoder};
use crate::machinst::reg::{AllocationRewriter, MISSING_VREG, OperandCollector, resolve_alias};
use crate::machinst::{BlockIndex, MachInst, MachLabel, MachTerminator, Reg, SourceLoc, Writable};
use crate::{CodegenError, CodegenResult};
use kiln_ir::types::Type;
use regalloc2::{Allocation, Block as RBlock, Edit, Inst as RInst, InstRange, Operand, PReg, PRegSet, RegClass, VReg};
use std::fmt::Write;

/// A VCode function.
pub struct VCode<I: MachInst> {
    /// Instructions, in final order.
    pub insts: Vec<I>,
    /// Source location of each instruction.
    pub srclocs: Vec<SourceLoc>,
    operands: Vec<Operand>,
    operand_starts: Vec<u32>,
    clobbers: Vec<(u32, PRegSet)>,
    block_starts: Vec<u32>,
    succs: Vec<RBlock>,
    succ_starts: Vec<u32>,
    preds: Vec<RBlock>,
    pred_starts: Vec<u32>,
    params: Vec<VReg>,
    param_starts: Vec<u32>,
    /// Branch arguments, per (block, successor): `branch_arg_starts[succ_starts[b] + i]`.
    branch_args: Vec<VReg>,
    branch_arg_starts: Vec<u32>,
    /// Type of each virtual register (indexed by vreg number; pinned range unused).
    pub vreg_types: Vec<Type>,
    /// Is each block cold?
    pub cold: Vec<bool>,
    /// How each block is entered besides direct branches (see [`BlockFlags`]).
    pub block_flags: Vec<BlockFlags>,
    /// Spill-slot size of each register class (int, float, vector), in words.
    spillslot_words: [u32; 3],
    /// The constant pool the lowering started: entry `i` is label `num_blocks + i`.
    /// Emission hands it to the buffer, which keeps adding to it.
    pub constants: ConstantPool,
}

impl<I: MachInst> VCode<I> {
    /// Number of blocks.
    pub fn num_blocks(&self) -> usize {
        self.block_starts.len().saturating_sub(1)
    }

    /// The instruction range of block `b`.
    pub fn block_range(&self, b: usize) -> (usize, usize) {
        (self.block_starts[b] as usize, self.block_starts[b + 1] as usize)
    }

    /// Successors of block `b`.
    pub fn block_succs_of(&self, b: usize) -> &[RBlock] {
        &self.succs[self.succ_starts[b] as usize..self.succ_starts[b + 1] as usize]
    }

    /// Print the VCode (before allocation): blocks with params, successors and
    /// instructions.
    pub fn show(&self) -> String {
        let mut s = String::new();
        for b in 0..self.num_blocks() {
            let params = &self.params[self.param_starts[b] as usize..self.param_starts[b + 1] as usize];
            let _ = write!(s, "block{b}(");
            for (i, p) in params.iter().enumerate() {
                let _ = write!(s, "{}{}", if i > 0 { ", " } else { "" }, show_vreg(*p));
            }
            let _ = write!(s, "):");
            let succs = self.block_succs_of(b);
            if !succs.is_empty() {
                let _ = write!(s, "  ; succs:");
                for (i, sb) in succs.iter().enumerate() {
                    let _ = write!(s, " block{}", sb.index());
                    let k = self.succ_starts[b] as usize + i;
                    let args =
                        &self.branch_args[self.branch_arg_starts[k] as usize..self.branch_arg_starts[k + 1] as usize];
                    if !args.is_empty() {
                        let _ = write!(s, "(");
                        for (j, a) in args.iter().enumerate() {
                            let _ = write!(s, "{}{}", if j > 0 { ", " } else { "" }, show_vreg(*a));
                        }
                        let _ = write!(s, ")");
                    }
                }
            }
            let _ = writeln!(s);
            let (start, end) = self.block_range(b);
            for i in start..end {
                let _ = writeln!(s, "  {}", self.insts[i].pretty_print());
            }
        }
        s
    }
}

/// Print a vreg the way VCode listings show it.
pub fn show_vreg(v: VReg) -> String {
    format!("{:?}", Reg::from_vreg(v))
}

impl<I: MachInst> regalloc2::Function for VCode<I> {
    fn num_insts(&self) -> usize {
        self.insts.len()
    }
    fn num_blocks(&self) -> usize {
        VCode::num_blocks(self)
    }
    fn entry_block(&self) -> RBlock {
        RBlock::new(0)
    }
    fn block_insns(&self, block: RBlock) -> InstRange {
        let (s, e) = self.block_range(block.index());
        InstRange::new(RInst::new(s), RInst::new(e))
    }
    fn block_succs(&self, block: RBlock) -> &[RBlock] {
        self.block_succs_of(block.index())
    }
    fn block_preds(&self, block: RBlock) -> &[RBlock] {
        let b = block.index();
        &self.preds[self.pred_starts[b] as usize..self.pred_starts[b + 1] as usize]
    }
    fn block_params(&self, block: RBlock) -> &[VReg] {
        let b = block.index();
        &self.params[self.param_starts[b] as usize..self.param_starts[b + 1] as usize]
    }
    fn is_ret(&self, insn: RInst) -> bool {
        self.insts[insn.index()].is_term() == MachTerminator::Ret
    }
    fn is_branch(&self, insn: RInst) -> bool {
        self.insts[insn.index()].is_term() == MachTerminator::Branch
    }
    fn branch_blockparams(&self, block: RBlock, _insn: RInst, succ_idx: usize) -> &[VReg] {
        let k = self.succ_starts[block.index()] as usize + succ_idx;
        &self.branch_args[self.branch_arg_starts[k] as usize..self.branch_arg_starts[k + 1] as usize]
    }
    fn inst_operands(&self, insn: RInst) -> &[Operand] {
        let i = insn.index();
        &self.operands[self.operand_starts[i] as usize..self.operand_starts[i + 1] as usize]
    }
    fn inst_clobbers(&self, insn: RInst) -> PRegSet {
        let i = insn.index() as u32;
        match self.clobbers.binary_search_by_key(&i, |(k, _)| *k) {
            Ok(pos) => self.clobbers[pos].1,
            Err(_) => PRegSet::empty(),
        }
    }
    fn num_vregs(&self) -> usize {
        self.vreg_types.len()
    }
    fn spillslot_size(&self, regclass: RegClass) -> usize {
        self.spillslot_words[regclass as usize] as usize
    }
    fn multi_spillslot_named_by_last_slot(&self) -> bool {
        false
    }
}

/// Builds a [`VCode`] from instructions emitted in reverse.
pub struct VCodeBuilder<I: MachInst> {
    /// Instructions in reverse order.
    rev_insts: Vec<I>,
    rev_srclocs: Vec<SourceLoc>,
    /// Per lowered block: (start, end) in `rev_insts` (the block's instructions are
    /// `rev_insts[start..end]`, reversed).
    rev_block_ranges: Vec<(u32, u32)>,
    cur_block_end: u32,
    /// Per lowered block: its successors, a range of `succ_list` (set by the lowering).
    block_succs: Vec<(u32, u32)>,
    /// Successors of all blocks, each with its branch arguments (a range of `arg_list`).
    succ_list: Vec<(BlockIndex, u32, u32)>,
    arg_list: Vec<VReg>,
    /// Per lowered block: its parameter vregs, a range of `param_list`.
    block_params: Vec<(u32, u32)>,
    param_list: Vec<VReg>,
    /// Type of each vreg.
    pub vreg_types: Vec<Type>,
    /// vreg aliases: `alias[v] = target` (resolved when operands are collected).
    vreg_alias: Vec<u32>,
    /// Bit `c` set: some vreg has register class `c`.
    vreg_classes: u8,
    cold: Vec<bool>,
    block_flags: Vec<BlockFlags>,
    spillslot_words: [u32; 3],
    constants: ConstantPool,
}

impl<I: MachInst> VCodeBuilder<I> {
    /// A builder for `num_blocks` lowered blocks, expecting about `num_insts` instructions.
    pub fn new(num_blocks: usize, num_insts: usize) -> Self {
        let vreg_types = Vec::with_capacity(256);
        VCodeBuilder {
            rev_insts: Vec::with_capacity(num_insts),
            rev_srclocs: Vec::with_capacity(num_insts),
            rev_block_ranges: vec![(0, 0); num_blocks],
            cur_block_end: 0,
            block_succs: vec![(0, 0); num_blocks],
            succ_list: Vec::with_capacity(num_blocks * 2),
            arg_list: Vec::new(),
            block_params: vec![(0, 0); num_blocks],
            param_list: Vec::new(),
            vreg_types,
            vreg_alias: Vec::new(),
            vreg_classes: 0,
            cold: vec![false; num_blocks],
            block_flags: vec![BlockFlags::default(); num_blocks],
            spillslot_words: [1, 2, 2],
            constants: ConstantPool::default(),
        }
    }

    /// The label of a constant-pool entry holding `bytes` (deduplicated), aligned to its
    /// size (at most 16).
    pub fn constant_label(&mut self, bytes: &[u8]) -> MachLabel {
        let nblocks = self.rev_block_ranges.len() as u32;
        let align = bytes.len().next_power_of_two().clamp(1, 16) as u32;
        MachLabel(nblocks + self.constants.insert(bytes, align))
    }

    /// Allocate a new virtual register for a value of register type `ty`.
    pub fn alloc_vreg(&mut self, class: RegClass, ty: Type) -> CodegenResult<Reg> {
        let idx = self.vreg_types.len();
        if idx >= MISSING_VREG {
            return Err(CodegenError::ImplLimitExceeded("too many virtual registers".into()));
        }
        self.vreg_types.push(ty);
        self.vreg_classes |= 1 << class as u8;
        Ok(Reg::virt(idx, class))
    }

    /// Make `from` an alias of `to`: every use or def of `from` becomes `to`.
    pub fn set_vreg_alias(&mut self, from: Reg, to: Reg) {
        let f = from.vreg().vreg();
        if self.vreg_alias.len() <= f {
            let n = self.vreg_types.len().max(f + 1);
            let start = self.vreg_alias.len();
            self.vreg_alias.extend((start..n).map(|i| i as u32));
        }
        self.vreg_alias[f] = to.vreg().vreg() as u32;
    }

    /// Start collecting instructions of a block (blocks are processed last to first).
    pub fn start_block(&mut self) {
        self.cur_block_end = self.rev_insts.len() as u32;
    }

    /// Take the spill-slot sizes of each register class from the target's ABI.
    pub fn set_spillslot_sizes(&mut self, abi: &dyn AbiSpec<I = I>) {
        let word = abi.word_bytes().max(1);
        for (k, rc) in [RegClass::Int, RegClass::Float, RegClass::Vector].into_iter().enumerate() {
            self.spillslot_words[k] = abi.spillslot_bytes(rc).div_ceil(word).max(1);
        }
    }

    /// Mark block `b` as entered through a jump table (an indirect branch).
    pub fn set_indirect_target(&mut self, b: BlockIndex) {
        self.block_flags[b.index()].indirect_target = true;
    }

    /// Mark block `b` as the landing pad of an exception handler.
    pub fn set_landing_pad(&mut self, b: BlockIndex) {
        self.block_flags[b.index()].landing_pad = true;
    }

    /// Finish block `b`, recording its range.
    pub fn end_block(&mut self, b: BlockIndex, cold: bool) {
        let start = self.rev_insts.len() as u32;
        self.rev_block_ranges[b.index()] = (self.cur_block_end, start);
        self.cold[b.index()] = cold;
    }

    /// Append the instructions of one IR instruction, given in forward order.
    pub fn push_ir_inst(&mut self, insts: &mut Vec<I>, loc: SourceLoc) {
        let n = insts.len();
        self.rev_insts.extend(insts.drain(..).rev());
        self.rev_srclocs.extend(core::iter::repeat_n(loc, n));
    }

    /// Start the successor list of `b` (its successors follow with [`Self::add_succ`]).
    pub fn start_succs(&mut self, b: BlockIndex) {
        let n = self.succ_list.len() as u32;
        self.block_succs[b.index()] = (n, n);
    }

    /// Add successor `s` of `b`, with its branch arguments, after those already added since
    /// [`Self::start_succs`].
    pub fn add_succ(&mut self, b: BlockIndex, s: BlockIndex, args: &[VReg]) {
        let start = self.arg_list.len() as u32;
        self.arg_list.extend_from_slice(args);
        self.succ_list.push((s, start, self.arg_list.len() as u32));
        self.block_succs[b.index()].1 = self.succ_list.len() as u32;
    }

    /// Set the parameters of `b`.
    pub fn set_params(&mut self, b: BlockIndex, params: impl IntoIterator<Item = VReg>) {
        let start = self.param_list.len() as u32;
        self.param_list.extend(params);
        self.block_params[b.index()] = (start, self.param_list.len() as u32);
    }

    /// Finish: put instructions in forward order and collect operands.
    pub fn build(mut self) -> CodegenResult<VCode<I>> {
        let n = self.rev_insts.len();
        self.rev_insts.reverse();
        self.rev_srclocs.reverse();
        let mut insts = self.rev_insts;
        let nblocks = self.rev_block_ranges.len();
        let mut block_starts = Vec::with_capacity(nblocks + 1);
        for b in 0..nblocks {
            let (s, e) = self.rev_block_ranges[b];
            // Reversed: rev range [s, e) becomes [n - e, n - s).
            let fs = n as u32 - e;
            let fe = n as u32 - s;
            if b > 0 && block_starts.last().copied() != Some(fs) {
                return Err(CodegenError::Other(format!("lowered block {b} is not contiguous")));
            }
            if fs == fe {
                return Err(CodegenError::Other(format!("lowered block {b} is empty")));
            }
            if b == 0 {
                block_starts.push(fs);
            }
            block_starts.push(fe);
        }
        if nblocks == 0 {
            block_starts.push(0);
        }
        // Resolve aliases in branch args and params as well.
        let alias = &self.vreg_alias;
        let resolve = |v: VReg| resolve_alias(alias, v);

        // Operands.
        let mut operands = Vec::with_capacity(n * 3);
        let mut operand_starts = Vec::with_capacity(n + 1);
        let mut clobbers = Vec::new();
        // A call's clobbers in a register class no vreg has cannot matter to the allocator
        // (it puts a range on each clobbered register at every call), and they play no
        // other role (`written_regs` skips calls): keep only the classes in use.
        let mut call_clobber_mask = PRegSet::empty();
        for class in [RegClass::Int, RegClass::Float, RegClass::Vector] {
            if self.vreg_classes & (1 << class as u8) == 0 {
                for hw in 0..=PReg::MAX {
                    call_clobber_mask.add(PReg::new(hw, class));
                }
            }
        }
        let call_clobber_mask = call_clobber_mask.invert();
        for (i, inst) in insts.iter_mut().enumerate() {
            operand_starts.push(operands.len() as u32);
            let mut c = OperandCollector::with_aliases(&mut operands, alias);
            inst.get_operands(&mut c);
            if c.class_mismatch {
                return Err(CodegenError::Other(format!(
                    "invalid input to the register allocator: instruction {i} ({}) constrains a register to one of another class (is the function valid? compile with the verifier)",
                    inst.pretty_print()
                )));
            }
            let mut cl = c.clobbers;
            if inst.is_call() {
                cl.intersect_from(call_clobber_mask);
            }
            if cl != PRegSet::empty() {
                clobbers.push((i as u32, cl));
            }
        }
        operand_starts.push(operands.len() as u32);

        // Successors, predecessors, params, branch args.
        let nsuccs = self.succ_list.len();
        let mut succs = Vec::with_capacity(nsuccs);
        let mut succ_starts = Vec::with_capacity(nblocks + 1);
        let mut branch_args = Vec::with_capacity(self.arg_list.len());
        let mut branch_arg_starts = Vec::with_capacity(nsuccs + 1);
        // Predecessors by counting sort: `pred_starts[s + 1]` counts the edges into `s` first.
        let mut pred_starts = vec![0u32; nblocks + 1];
        for b in 0..nblocks {
            succ_starts.push(succs.len() as u32);
            let (ss, se) = self.block_succs[b];
            for &(s, as_, ae) in &self.succ_list[ss as usize..se as usize] {
                succs.push(RBlock::new(s.index()));
                pred_starts[s.index() + 1] += 1;
                branch_arg_starts.push(branch_args.len() as u32);
                branch_args.extend(self.arg_list[as_ as usize..ae as usize].iter().map(|&v| resolve(v)));
            }
        }
        succ_starts.push(succs.len() as u32);
        branch_arg_starts.push(branch_args.len() as u32);
        for b in 0..nblocks {
            pred_starts[b + 1] += pred_starts[b];
        }
        // Fill in block order, so each block's predecessors are listed in increasing order.
        let mut preds = vec![RBlock::new(0); nsuccs];
        let mut fill: Vec<u32> = pred_starts[..nblocks].to_vec();
        for b in 0..nblocks {
            for s in &succs[succ_starts[b] as usize..succ_starts[b + 1] as usize] {
                let k = &mut fill[s.index()];
                preds[*k as usize] = RBlock::new(b);
                *k += 1;
            }
        }
        let mut params = Vec::with_capacity(self.param_list.len());
        let mut param_starts = Vec::with_capacity(nblocks + 1);
        for b in 0..nblocks {
            param_starts.push(params.len() as u32);
            let (ps, pe) = self.block_params[b];
            params.extend(self.param_list[ps as usize..pe as usize].iter().map(|&v| resolve(v)));
        }
        param_starts.push(params.len() as u32);

        let vcode = VCode {
            insts,
            srclocs: self.rev_srclocs,
            operands,
            operand_starts,
            clobbers,
            block_starts,
            succs,
            succ_starts,
            preds,
            pred_starts,
            params,
            param_starts,
            branch_args,
            branch_arg_starts,
            vreg_types: self.vreg_types,
            cold: self.cold,
            block_flags: self.block_flags,
            spillslot_words: self.spillslot_words,
            constants: self.constants,
        };
        vcode.check_for_allocator()?;
        Ok(vcode)
    }
}

impl<I: MachInst> VCode<I> {
    /// Check what regalloc2 assumes of its input and would otherwise panic on (it does not
    /// check it without `validate_ssa`): branch arguments match the successor's parameters
    /// in number and register class, reuse constraints agree in class (fixed ones are
    /// checked while the operands are collected), every
    /// virtual register is in range and defined at most once. Valid IR always lowers to
    /// VCode that passes; IR compiled with the verifier off may not, and gets this error
    /// instead of a panic. Linear, without hashing.
    fn check_for_allocator(&self) -> CodegenResult<()> {
        let bad = |what: String| {
            Err(CodegenError::Other(format!(
                "invalid input to the register allocator: {what} (is the function valid? compile with the verifier)"
            )))
        };
        let nvregs = self.vreg_types.len();
        let mut defined = vec![false; nvregs];
        let mut define = |v: VReg| -> bool {
            match defined.get_mut(v.vreg()) {
                Some(d) if !*d => {
                    *d = true;
                    true
                }
                _ => false,
            }
        };
        for b in 0..self.num_blocks() {
            let params = &self.params[self.param_starts[b] as usize..self.param_starts[b + 1] as usize];
            for &p in params {
                if !define(p) {
                    return bad(format!("{} defined twice or out of range", show_vreg(p)));
                }
            }
            for (k, s) in self.block_succs_of(b).iter().enumerate() {
                let e = self.succ_starts[b] as usize + k;
                let args =
                    &self.branch_args[self.branch_arg_starts[e] as usize..self.branch_arg_starts[e + 1] as usize];
                let si = s.index();
                let Some(&ps) = self.param_starts.get(si + 1) else {
                    return bad(format!("block{b} branches to block{si}, which does not exist"));
                };
                let sparams = &self.params[self.param_starts[si] as usize..ps as usize];
                if args.len() != sparams.len() {
                    return bad(format!(
                        "block{b} passes {} registers to block{si}, which takes {}",
                        args.len(),
                        sparams.len()
                    ));
                }
                if let Some((a, p)) =
                    args.iter().zip(sparams).find(|(a, p)| a.class() != p.class() || a.vreg() >= nvregs)
                {
                    return bad(format!("block{b} passes {} to {} of block{si}", show_vreg(*a), show_vreg(*p)));
                }
            }
        }
        for i in 0..self.insts.len() {
            let ops = &self.operands[self.operand_starts[i] as usize..self.operand_starts[i + 1] as usize];
            for op in ops {
                if op.as_fixed_nonallocatable().is_some() {
                    continue;
                }
                let v = op.vreg();
                if v.vreg() >= nvregs {
                    return bad(format!("instruction {i} names an unknown register"));
                }
                match op.constraint() {
                    regalloc2::OperandConstraint::Reuse(k) => {
                        let ok = ops.get(k).is_some_and(|u| {
                            u.kind() == regalloc2::OperandKind::Use
                                && u.vreg().class() == v.class()
                                && u.as_fixed_nonallocatable().is_none()
                        });
                        if !ok {
                            return bad(format!("instruction {i} reuses an incompatible operand for {}", show_vreg(v)));
                        }
                    }
                    _ => {}
                }
            }
            for op in ops {
                if op.kind() == regalloc2::OperandKind::Def
                    && op.as_fixed_nonallocatable().is_none()
                    && !define(op.vreg())
                {
                    return bad(format!("{} defined twice", show_vreg(op.vreg())));
                }
            }
        }
        Ok(())
    }
}

/// How a block is entered besides by direct branches: what a target's block-start hook
/// may need (aarch64 BTI landing pads).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockFlags {
    /// A jump table (an indirect branch) may enter it.
    pub indirect_target: bool,
    /// It is the landing pad of a `try_call`'s exception handler (entered by the unwinder).
    pub landing_pad: bool,
}

/// The block whose start is being emitted, for [`MachInstEmit::emit_block_start`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct BlockStart {
    /// Its label (bound at the current position).
    pub label: MachLabel,
    /// The function's entry (the prologue follows the hook).
    pub entry: bool,
    /// Is it cold?
    pub cold: bool,
    /// How else it is entered (merged over the empty blocks that jump to it and were
    /// skipped).
    pub flags: BlockFlags,
}

/// The target's side of emission.
pub trait MachInstEmit: MachInst {
    /// The target's encoder: an instance built from its settings (shared and ISA flags),
    /// with the encodings of its branches and label uses for the [`MachBuffer`].
    type Info: MachEncoder;
    /// What the target tracks during emission beyond [`EmitState`]'s shared part (riscv64:
    /// the vector configuration known to be set; `()` if nothing).
    type State: Default;
    /// Emit this instruction (with physical registers).
    fn emit(
        &self,
        sink: &mut MachBuffer<Self::Info>,
        info: &Self::Info,
        state: &mut EmitState<Self::State>,
    ) -> CodegenResult<()>;
    /// Emit the prologue for `state.frame` (at the start of the entry block, after
    /// [`emit_block_start`](Self::emit_block_start)).
    fn emit_prologue(
        sink: &mut MachBuffer<Self::Info>,
        info: &Self::Info,
        state: &mut EmitState<Self::State>,
    ) -> CodegenResult<()>;
    /// Called at the start of every emitted block, right after its label is bound: landing
    /// pads (BTI), forgetting state that does not hold across control flow. Default:
    /// nothing.
    fn emit_block_start(
        _sink: &mut MachBuffer<Self::Info>,
        _info: &Self::Info,
        _state: &mut EmitState<Self::State>,
        _block: &BlockStart,
    ) -> CodegenResult<()> {
        Ok(())
    }
    /// Is this an unconditional jump to `target` with no other effect (so an otherwise
    /// empty block consisting of it can be skipped)?
    fn is_plain_jump(&self) -> Option<MachLabel>;
    /// An upper bound of the bytes this instruction emits, counting the deferred items
    /// (constants, trap stubs) it adds: the buffer emits an island before it when the
    /// instruction could otherwise push a pending item out of reach.
    fn worst_case_size(&self) -> u32;
}

/// State carried through emission: the shared part, and the target's own in `target`.
#[derive(Default)]
pub struct EmitState<T> {
    /// The final frame layout.
    pub frame: FrameLayout,
    /// The label of the block emitted next (for fall-through elision): compare with
    /// [`EmitState::falls_through_to`], which sees through skipped blocks.
    pub next_block: Option<MachLabel>,
    /// For each block label: the block it was replaced by if it is skipped (a lone jump),
    /// else `u32::MAX`.
    pub skipped_to: Vec<u32>,
    /// The current source location.
    pub cur_srcloc: SourceLoc,
    /// The target's state.
    pub target: T,
}

impl<T> EmitState<T> {
    /// Is `label` the next block to be emitted, directly or through skipped blocks (so a
    /// jump to it can be left out)?
    pub fn falls_through_to(&self, label: MachLabel) -> bool {
        let l = match self.skipped_to.get(label.0 as usize) {
            Some(&t) if t != u32::MAX => MachLabel(t),
            _ => label,
        };
        self.next_block == Some(l)
    }

    /// Resolve a stack address to its offset from the stack pointer, which does not move
    /// during the body.
    pub fn stack_offset(&self, mem: StackAMode) -> i64 {
        match mem {
            StackAMode::IncomingArg(off) => self.frame.incoming_args_from_sp() as i64 + off,
            StackAMode::Slot(off) => self.frame.slot_base_from_sp() as i64 + off,
            StackAMode::OutgoingArg(off) => off,
        }
    }
}

/// Emit an island before something of at most `worst` bytes if a pending item would
/// otherwise go out of reach (`fallthrough`: code runs into this point, so the island needs
/// a jump around it).
#[inline]
fn island_check<I: MachInstEmit>(sink: &mut MachBuffer<I::Info>, inst: &I, fallthrough: bool) {
    if sink.has_deadline() && sink.island_needed(inst.worst_case_size()) {
        sink.emit_island(fallthrough);
    }
}

/// Emit allocated VCode into `sink`, whose constant pool starts as the lowering's `pool`.
pub fn emit<I: MachInstEmit>(
    vcode: &VCode<I>,
    out: &regalloc2::Output,
    frame: FrameLayout,
    abi: &dyn AbiSpec<I = I>,
    info: &I::Info,
    pool: ConstantPool,
    sink: &mut MachBuffer<I::Info>,
) -> CodegenResult<()> {
    let nblocks = vcode.num_blocks();
    sink.reserve_labels(nblocks);
    sink.adopt_constants(pool, nblocks as u32);
    let spill_base = frame.stack_slots_size as i64;
    let word = abi.word_bytes() as i64;
    let mut state = EmitState {
        frame,
        next_block: None,
        skipped_to: Vec::new(),
        cur_srcloc: SourceLoc::default(),
        target: I::State::default(),
    };

    // Which blocks are a lone unconditional jump to another block, with no allocator
    // edits: skip them, and send references to them to the block their chain of such
    // jumps ends at.
    let mut skip = vec![false; nblocks];
    let mut jump_to = vec![0u32; nblocks];
    let mut edit_idx = 0usize;
    for b in 1..nblocks {
        let (s, e) = vcode.block_range(b);
        while edit_idx < out.edits.len() && out.edits[edit_idx].0.inst().index() < s {
            edit_idx += 1;
        }
        let has_edits = edit_idx < out.edits.len() && out.edits[edit_idx].0.inst().index() < e;
        if e - s == 1
            && !has_edits
            && let Some(target) = vcode.insts[s].is_plain_jump()
            && (target.0 as usize) < nblocks
            && target.0 as usize != b
        {
            skip[b] = true;
            jump_to[b] = target.0;
        }
    }
    resolve_jump_chains(&mut skip, &mut jump_to);
    for b in 0..nblocks {
        if skip[b] {
            sink.alias_label(MachLabel(b as u32), MachLabel(jump_to[b]));
        }
    }
    if skip.iter().any(|&s| s) {
        state.skipped_to = (0..nblocks).map(|b| if skip[b] { jump_to[b] } else { u32::MAX }).collect();
    }
    let emitted: Vec<usize> = (0..nblocks).filter(|&b| !skip[b]).collect();
    // A skipped block's entries (jump tables, landing pads) enter the block it jumps to.
    let mut flags = std::borrow::Cow::Borrowed(&vcode.block_flags[..]);
    for b in 0..nblocks {
        if skip[b] && flags[b] != BlockFlags::default() {
            let flags = flags.to_mut();
            let cur = jump_to[b] as usize;
            let f = flags[b];
            flags[cur].indirect_target |= f.indirect_target;
            flags[cur].landing_pad |= f.landing_pad;
        }
    }

    let mut scratch_inst;
    // Does code run into the current position (false after a return or an unconditional
    // jump: a free place for an island)?
    let mut fallthrough = true;
    for (k, &b) in emitted.iter().enumerate() {
        state.next_block = emitted.get(k + 1).map(|&n| MachLabel(n as u32));
        if !fallthrough && sink.island_wanted() {
            sink.emit_island(false);
        }
        let label = MachLabel(b as u32);
        sink.bind_label(label);
        let start = BlockStart { label, entry: b == 0, cold: vcode.cold[b], flags: flags[b] };
        I::emit_block_start(sink, info, &mut state, &start)?;
        if b == 0 {
            I::emit_prologue(sink, info, &mut state)?;
        }
        for ie in out.block_insts_and_edits(vcode, RBlock::new(b)) {
            match ie {
                regalloc2::InstOrEdit::Inst(i) => {
                    let idx = i.index();
                    let loc = vcode.srclocs[idx];
                    scratch_inst = vcode.insts[idx].clone();
                    let mut rw = AllocationRewriter { allocs: out.inst_allocs(i).iter() };
                    scratch_inst.get_operands(&mut rw);
                    if let Some((dst, src)) = scratch_inst.is_move()
                        && dst.to_reg() == src
                    {
                        continue;
                    }
                    island_check(sink, &scratch_inst, true);
                    if loc != state.cur_srcloc {
                        sink.end_srcloc();
                        if !loc.is_default() {
                            sink.start_srcloc(loc);
                        }
                        state.cur_srcloc = loc;
                    }
                    scratch_inst.emit(sink, info, &mut state)?;
                    fallthrough = match scratch_inst.is_term() {
                        MachTerminator::None => true,
                        MachTerminator::Ret => false,
                        MachTerminator::Branch => !sink.ends_in_unconditional_branch(),
                    };
                }
                regalloc2::InstOrEdit::Edit(Edit::Move { from, to }) => {
                    emit_move(*from, *to, spill_base, word, abi, sink, info, &mut state)?;
                    fallthrough = true;
                }
            }
        }
    }
    sink.end_srcloc();
    Ok(())
}

/// Resolve chains of skipped blocks in linear time: on return, `jump_to[b]` of every
/// skipped block `b` is the first non-skipped block its chain of jumps reaches. A cycle of
/// skipped blocks (an empty infinite loop) is broken by keeping the block where the walk
/// entered it (`skip` is cleared for it): that block is emitted with its jump.
fn resolve_jump_chains(skip: &mut [bool], jump_to: &mut [u32]) {
    const UNVISITED: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![UNVISITED; skip.len()];
    let mut path = Vec::new();
    for start in 0..skip.len() {
        if !skip[start] || state[start] != UNVISITED {
            continue;
        }
        let mut cur = start;
        let end = loop {
            state[cur] = ON_PATH;
            path.push(cur);
            let t = jump_to[cur] as usize;
            if !skip[t] {
                break t;
            }
            match state[t] {
                DONE => break jump_to[t] as usize,
                ON_PATH => {
                    // A cycle: keep `t`, so everything on the path goes to it.
                    skip[t] = false;
                    break t;
                }
                _ => cur = t,
            }
        };
        for &b in &path {
            state[b] = DONE;
            jump_to[b] = end as u32;
        }
        path.clear();
    }
}

/// The stack location of spill slot `slot` (slots are words; a vector register's slot
/// spans several).
fn spill_mode(slot: regalloc2::SpillSlot, spill_base: i64, word: i64) -> StackAMode {
    StackAMode::Slot(spill_base + slot.index() as i64 * word)
}

#[allow(clippy::too_many_arguments)]
fn emit_move<I: MachInstEmit>(
    from: Allocation,
    to: Allocation,
    spill_base: i64,
    word: i64,
    abi: &dyn AbiSpec<I = I>,
    sink: &mut MachBuffer<I::Info>,
    info: &I::Info,
    state: &mut EmitState<I::State>,
) -> CodegenResult<()> {
    let inst = match (from.as_reg(), to.as_reg()) {
        (Some(f), Some(t)) => {
            if f == t {
                return Ok(());
            }
            I::gen_move(Writable::from_reg(Reg::phys(t)), Reg::phys(f), I::canonical_type_for_rc(f.class()))
        }
        (Some(f), None) => {
            let slot = to.as_stack().ok_or_else(|| CodegenError::Regalloc("move to a non-slot".into()))?;
            abi.gen_store_stack(spill_mode(slot, spill_base, word), Reg::phys(f), I::canonical_type_for_rc(f.class()))
        }
        (None, Some(t)) => {
            let slot = from.as_stack().ok_or_else(|| CodegenError::Regalloc("move from a non-slot".into()))?;
            abi.gen_load_stack(
                spill_mode(slot, spill_base, word),
                Writable::from_reg(Reg::phys(t)),
                I::canonical_type_for_rc(t.class()),
            )
        }
        (None, None) => return Err(CodegenError::Regalloc("stack-to-stack move".into())),
    };
    island_check(sink, &inst, true);
    inst.emit(sink, info, state)
}

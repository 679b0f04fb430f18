//! `MachBuffer`: the layout engine machine code is emitted into. It owns labels, branches
//! and label uses with ladders of forms, alignment, the function's single constant pool,
//! out-of-line trap stubs, veneers, islands, and the records a code consumer needs (traps,
//! call sites, relocations, source locations, unwind records).
//!
//! # The target's side: [`MachEncoder`]
//!
//! A target hands the buffer an *encoder*, an instance built from its settings (so an
//! encoding may depend on ISA flags, e.g. compressed branches with `has_zca`). The encoder
//! defines two typed kinds — `Branch` (a control transfer with its payload: condition,
//! registers) and `LabelUse` (any other reference to a label: a PC-relative load, an
//! address computation, a jump-table entry) — and, for each, a **ladder of forms**
//! ([`Form`]): encodings of increasing reach (and size). x86 `jcc` is `rel8` (2 bytes,
//! ±127) then `rel32`; aarch64 `b.cond` is 4 bytes (±1 MiB) then `b.!cond +8; b` (8 bytes,
//! ±128 MiB); riscv64 may go `c.beqz` → `beq` → `bne +8; jal` → `bne; auipc; jalr`.
//!
//! # Positions and relaxation
//!
//! Only the bytes whose size is not known yet are deferred: a *site* is a branch, a
//! relaxable label use ([`MachBuffer::add_label_use`]) or an alignment request
//! ([`MachBuffer::align_to`]); it occupies no bytes while emitting. Everything else is
//! encoded at once. Every recorded position is a [`Pos`]: a byte offset in the site-free
//! data plus the number of sites before it; its final offset is `data + size of the sites
//! before it`, a prefix sum. [`MachBuffer::finish`] chooses the forms by relaxation: every
//! site starts in its first form; a site whose target is out of reach moves to the first
//! form of its ladder that reaches, alignment padding is recomputed from the new offsets,
//! and passes repeat until nothing changes. Forms only grow, so this terminates; each pass
//! is linear, and after a few passes a failing site jumps straight to its last form, so
//! cascades cannot make it quadratic.
//!
//! A *fixed* label use ([`MachBuffer::use_label_at_offset`]) is part of an instruction the
//! target encodes itself (x86 `disp32(%rip)`): it has exactly one form and its bytes are
//! patched after layout. A use may be *anchored* at another label: the displacement is
//! then measured from that label (riscv64's `%pcrel_lo12` refers to its `auipc`).
//!
//! # Islands
//!
//! Constants ([`MachBuffer::add_constant`], and those the lowering created, adopted with
//! [`MachBuffer::adopt_constants`]) and trap stubs ([`MachBuffer::defer_trap`]) are
//! *deferred items*: instructions refer to them through their label and the buffer places
//! them later, in an **island**. Every use of an unplaced item sets a deadline: the
//! worst-case offset by which the item must be placed to stay within the reach of that use
//! (for a fixed use its only form; for a site the first form marked [`Form::islands`]).
//! Worst-case offsets count every site at its largest form and every alignment at its
//! largest padding, so real distances are never longer. The emission loop asks
//! [`MachBuffer::island_needed`] before each instruction (forcing an island, with a jump
//! around it, when the next instruction could push an item out of reach) and
//! [`MachBuffer::island_wanted`] at points no code falls through to (after an unconditional
//! jump or a return, where an island costs no jump). [`MachBuffer::finish`] places what is
//! left at the end of the function: with reaches of ±2 GiB (x86) that is where every
//! constant and trap stub goes.
//!
//! An item placed in an island can be used again later only while it is within reach
//! backwards; otherwise the use gets a fresh copy in a later island. Uses always name the
//! item's first label; the buffer redirects each to the right copy.
//!
//! A branch with a single form (a fixed-size branch, e.g. inside a sequence that must keep
//! its size) cannot grow: if its target is still unbound when an island is emitted near its
//! deadline, the island gets a **veneer** — the target's unconditional jump (with its own
//! ladder) to the real target — and the branch is redirected to the veneer.
//!
//! Invariants: labels are bound at most once; every use of an item is within the reach of
//! the copy it is redirected to, in worst-case offsets; forms never shrink during
//! relaxation.

use crate::machinst::unwind::UnwindInst;
use crate::machinst::{MachLabel, SourceLoc};
use kiln_ir::extname::{KnownSymbol, LibCall};
use kiln_ir::trapcode::TrapCode;
use smallvec::SmallVec;
use std::collections::HashMap;

/// One encoding on the ladder of a branch or label use.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Form {
    /// Bytes of code the form occupies (for a fixed label use: 0, the target encodes it).
    pub size: u32,
    /// The smallest displacement the form encodes: `target - start`, where `start` is the
    /// offset of the site (or of the fixed use's field, or of its anchor).
    pub min_disp: i64,
    /// The largest displacement the form encodes.
    pub max_disp: i64,
    /// Deferred items (constants, trap stubs, veneers) referred to by this use are kept
    /// within this form's reach by islands. Fixed label uses always are.
    pub islands: bool,
}

impl Form {
    /// Does the form reach displacement `disp`?
    #[inline]
    pub fn reaches(&self, disp: i64) -> bool {
        self.min_disp <= disp && disp <= self.max_disp
    }
}

/// The target's encodings of branches and label uses, as an instance built from its
/// settings. The buffer keeps a clone.
pub trait MachEncoder: Clone {
    /// A branch with its payload (kind, condition, registers).
    type Branch: Copy + core::fmt::Debug;
    /// A label use with its payload (kind, registers).
    type LabelUse: Copy + core::fmt::Debug;

    /// The ladder of `branch`: non-empty, increasing reach and non-decreasing size.
    fn branch_forms(&self, branch: &Self::Branch) -> &[Form];
    /// Append `branch` in form `form`, at offset `at`, with displacement `disp` (target −
    /// `at`); exactly `branch_forms(branch)[form].size` bytes.
    fn encode_branch(&self, branch: &Self::Branch, form: usize, at: u32, disp: i64, out: &mut Vec<u8>);
    /// Does `branch` always transfer control (so nothing falls through after it)?
    fn is_unconditional(&self, branch: &Self::Branch) -> bool;
    /// The unconditional jump: jumps around islands and veneers.
    fn jump(&self) -> Self::Branch;

    /// The ladder of `label_use`. A fixed use (see [`MachBuffer::use_label_at_offset`])
    /// uses only the first form.
    fn label_use_forms(&self, label_use: &Self::LabelUse) -> &[Form];
    /// Patch a fixed use recorded at offset `at` whose bytes (`bytes`, from `at`) the
    /// target emitted, for displacement `disp` (target − `at`, or − the anchor). False if
    /// it cannot be encoded.
    fn patch_label_use(&self, label_use: &Self::LabelUse, at: u32, disp: i64, bytes: &mut [u8]) -> bool;
    /// Bytes a fixed use patches, from its recorded position.
    fn label_use_patch_size(&self, label_use: &Self::LabelUse) -> u32;
    /// Append a relaxable use (see [`MachBuffer::add_label_use`]) in form `form` at `at`.
    fn encode_label_use(&self, label_use: &Self::LabelUse, form: usize, at: u32, disp: i64, out: &mut Vec<u8>);

    /// The bytes of an out-of-line trap stub.
    fn trap_instruction(&self) -> &[u8];
    /// Append `n` bytes of padding that execute as no-ops.
    fn write_nops(&self, n: usize, out: &mut Vec<u8>);

    /// The alignment every instruction needs (4 on aarch64): code after an island of
    /// constants is padded to it.
    fn code_alignment(&self) -> u32 {
        1
    }
}

/// A position in the buffer before layout.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// Offset in the site-free data.
    pub data: u32,
    /// Number of sites (branches, relaxable uses, alignments) before this position.
    pub sites: u32,
}

/// Relocation kinds.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Reloc {
    /// Absolute 8-byte address.
    Abs8,
    /// Absolute 4-byte address.
    Abs4,
    /// x86 PC-relative 4 bytes (relative to the end of the field: addend −4 included).
    X86PCRel4,
    /// x86 call PC-relative 4 bytes.
    X86CallPCRel4,
    /// x86 GOT-relative PC-relative 4 bytes: the field holds the distance to the target's
    /// GOT entry (addend −4 included), as in `mov foo@GOTPCREL(%rip), %rax`.
    X86GOTPCRel4,
    /// x86 call PC-relative 4 bytes through the PLT (`call foo@PLT`): reaches the target or
    /// a stub that jumps through its GOT entry.
    X86CallPLTRel4,
    /// AArch64 26-bit call.
    Arm64Call,
    /// AArch64 ADRP + ADD page pair, page part.
    Aarch64AdrPrelPgHi21,
    /// AArch64 ADD low 12 bits.
    Aarch64AddAbsLo12Nc,
    /// AArch64 ADRP of the page of the target's GOT entry.
    Aarch64AdrGotPage21,
    /// AArch64 64-bit LDR of the target's GOT entry, low 12 bits (scaled by 8).
    Aarch64Ld64GotLo12Nc,
    /// RISC-V AUIPC + JALR call pair.
    RiscvCallPlt,
    /// RISC-V PC-relative HI20 (AUIPC).
    RiscvPCRelHi20,
    /// RISC-V HI20 (AUIPC) of the target's GOT entry; the LD that follows uses
    /// `RiscvPCRelLo12I` referring to the AUIPC.
    RiscvGotHi20,
    /// RISC-V PC-relative LO12 (I-type), whose target is the label of its AUIPC
    /// ([`RelocTarget::CodeOffset`]).
    RiscvPCRelLo12I,
}

/// The symbol a relocation refers to, independent of any function's name tables.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RelocTarget {
    /// A user name `uN:M`.
    User {
        /// Namespace.
        namespace: u32,
        /// Index.
        index: u32,
    },
    /// A test-case name `%name`.
    TestCase(String),
    /// A runtime-library routine.
    LibCall(LibCall),
    /// A well-known symbol.
    KnownSymbol(KnownSymbol),
    /// An offset in this function's own code (a label of the function, resolved by the
    /// buffer; see [`MachBuffer::add_reloc_to_label`]).
    CodeOffset(u32),
}

/// A relocation in the final code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalizedReloc {
    /// Offset of the field in the code.
    pub offset: u32,
    /// Kind.
    pub kind: Reloc,
    /// Target symbol.
    pub target: RelocTarget,
    /// Addend.
    pub addend: i64,
}

/// A trap site in the final code.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TrapSite {
    /// Offset of the trapping instruction.
    pub offset: u32,
    /// Its trap code.
    pub code: TrapCode,
}

/// An exception handler of a call site.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum HandlerTag {
    /// Catches this tag.
    Tag(u32),
    /// Catches everything not matched by a tag.
    Default,
}

/// A call site in the final code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallSite {
    /// Offset of the return address (the end of the call instruction).
    pub ret_addr: u32,
    /// Handlers of a `try_call`: tag and the offset of the handler code.
    pub handlers: Vec<(HandlerTag, u32)>,
    /// Dynamic context values recorded for the unwinder are not tracked yet: `try_call`
    /// context items are accepted but not materialized.
    pub frame_offset: u32,
}

/// A source-location range.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SrcLocRange {
    /// Start offset.
    pub start: u32,
    /// End offset.
    pub end: u32,
    /// Location.
    pub loc: SourceLoc,
}

/// The function's constant pool: each distinct byte string once, with the strictest
/// alignment asked of it. The lowering fills one (constants it puts in instructions get
/// labels after the block labels), emission adopts it into the buffer
/// ([`MachBuffer::adopt_constants`]) and keeps adding to the same pool.
#[derive(Clone, Debug, Default)]
pub struct ConstantPool {
    entries: Vec<PoolEntry>,
    index: HashMap<SmallVec<[u8; 16]>, u32>,
}

/// A constant of the pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolEntry {
    /// Its bytes.
    pub bytes: SmallVec<[u8; 16]>,
    /// Its alignment (a power of two).
    pub align: u32,
}

impl ConstantPool {
    /// The index of the entry holding `bytes` (added if new), aligned to at least `align`.
    pub fn insert(&mut self, bytes: &[u8], align: u32) -> u32 {
        let align = align.max(1).next_power_of_two();
        if let Some(&i) = self.index.get(bytes) {
            let e = &mut self.entries[i as usize];
            e.align = e.align.max(align);
            return i;
        }
        let i = self.entries.len() as u32;
        let bytes: SmallVec<[u8; 16]> = SmallVec::from_slice(bytes);
        self.index.insert(bytes.clone(), i);
        self.entries.push(PoolEntry { bytes, align });
        i
    }
    /// Entry `i`.
    pub fn get(&self, i: u32) -> &PoolEntry {
        &self.entries[i as usize]
    }
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// Is the pool empty?
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// Forget every entry, keeping allocations.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.index.clear();
    }
}

/// A site: a branch, a relaxable label use or an alignment, sized at layout.
#[derive(Copy, Clone, Debug)]
enum SiteKind<B, U> {
    Branch(B),
    Use(U),
    /// Pad with no-ops to a multiple of this (a power of two).
    Align(u32),
}

#[derive(Copy, Clone, Debug)]
struct Site<B, U> {
    at: Pos,
    /// Target label (unused for alignments).
    label: MachLabel,
    kind: SiteKind<B, U>,
}

/// A fixed label use, patched after layout.
#[derive(Copy, Clone, Debug)]
struct Fixup<U> {
    at: Pos,
    label: MachLabel,
    label_use: U,
    addend: i32,
    /// Measure the displacement from this label instead of `at`.
    anchor: Option<MachLabel>,
}

/// What a deferred item is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum ItemKind {
    /// Pool entry.
    Constant(u32),
    /// A trap stub.
    Trap(TrapCode, SourceLoc),
}

/// A deferred item and its current copy.
#[derive(Copy, Clone, Debug)]
struct Item {
    kind: ItemKind,
    /// The label instructions name.
    canonical: MachLabel,
    /// The label of the current copy (equal to `canonical` for the first).
    copy: MachLabel,
    /// Is the current copy placed (bound in an island)?
    placed: bool,
    /// Is the current copy in the pending list?
    pending: bool,
    /// Worst-case offset of the placed copy.
    worst_pos: u64,
    /// Alignment of the placed copy (constants).
    placed_align: u32,
}

const NO_ITEM: u32 = u32::MAX;
const NO_DEADLINE: u64 = u64::MAX;

/// The code buffer of one function, for a target with encoder `E`.
pub struct MachBuffer<E: MachEncoder> {
    enc: E,
    data: Vec<u8>,
    sites: Vec<Site<E::Branch, E::LabelUse>>,
    /// Sum of the largest sizes of the sites so far: `data.len() + worst_extra` is the
    /// worst-case offset of the current position.
    worst_extra: u64,
    label_pos: Vec<Option<Pos>>,
    /// Label aliases: a label bound to another label (resolved at finish).
    label_alias: Vec<Option<MachLabel>>,
    /// The item whose canonical label this is, or `NO_ITEM`.
    label_item: Vec<u32>,
    fixups: Vec<Fixup<E::LabelUse>>,
    relocs: Vec<(Pos, Reloc, RelocTarget, i64)>,
    label_relocs: Vec<(Pos, Reloc, MachLabel, i64)>,
    traps: Vec<(Pos, TrapCode)>,
    call_sites: Vec<(Pos, Vec<(HandlerTag, MachLabel)>, u32)>,
    srclocs: Vec<(Pos, Pos, SourceLoc)>,
    cur_srcloc: Option<(Pos, SourceLoc)>,
    /// Ranges of data inside the code (jump tables, constants in islands).
    inline_data: Vec<(Pos, Pos)>,
    unwind: Vec<(Pos, UnwindInst)>,
    pool: ConstantPool,
    items: Vec<Item>,
    /// Pool index → item.
    const_items: Vec<u32>,
    trap_items: HashMap<(TrapCode, SourceLoc), u32>,
    /// Items waiting for an island, in order of first use.
    pending: Vec<u32>,
    /// Worst-case bytes of the pending items (with their largest padding).
    pending_bytes: u64,
    /// The worst-case offset by which the pending items must be placed.
    deadline: u64,
    /// The smallest reach of a use of a pending item (or of a veneer candidate).
    min_reach: u64,
    /// Fixed-size branches to labels not bound yet: (site index, deadline).
    veneer_candidates: Vec<(u32, u64)>,
    /// The margin of the last `island_needed` query.
    last_margin: u64,
    /// Start of the trailing constant data of the final island.
    tail_data: Option<Pos>,
    islands: u32,
}

/// The finished code of one function.
#[derive(Clone, Debug, Default)]
pub struct FinishedCode {
    /// Machine code, followed by the trailing constants.
    pub bytes: Vec<u8>,
    /// Size of the code proper: the trailing constants (with their padding) start here.
    pub code_size: u32,
    /// Relocations.
    pub relocs: Vec<FinalizedReloc>,
    /// Trap sites.
    pub traps: Vec<TrapSite>,
    /// Call sites.
    pub call_sites: Vec<CallSite>,
    /// Source-location ranges.
    pub srclocs: Vec<SrcLocRange>,
    /// Final offsets of labels (by label index; `u32::MAX` for unbound labels), for
    /// consumers that need block offsets.
    pub label_offsets: Vec<u32>,
    /// Byte ranges `[start, end)` of data inside the code (jump tables, constants placed in
    /// islands), so that a disassembler shows them as data.
    pub inline_data: Vec<(u32, u32)>,
    /// The unwind records of the prologue and epilogues, by offset (just after the
    /// instruction each describes), in order.
    pub unwind: Vec<(u32, UnwindInst)>,
    /// Number of islands emitted inside the function (not counting the end).
    pub islands: u32,
    /// Number of relaxation passes the layout took.
    pub layout_passes: u32,
}

/// Why finishing failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BufferError {
    /// A label was used but never bound.
    UnboundLabel(MachLabel),
    /// A label reference cannot reach its target in any of its forms.
    OutOfRange(String),
}

impl core::fmt::Display for BufferError {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match self {
            BufferError::UnboundLabel(l) => write!(f, "{l:?} is used but never bound"),
            BufferError::OutOfRange(s) => write!(f, "{s}"),
        }
    }
}

/// After this many relaxation passes, a site that does not reach goes straight to its last
/// form (keeps pathological cascades linear).
const EAGER_PASSES: u32 = 4;

impl<E: MachEncoder> MachBuffer<E> {
    /// An empty buffer encoding with `enc`.
    pub fn new(enc: E) -> Self {
        MachBuffer {
            enc,
            data: Vec::new(),
            sites: Vec::new(),
            worst_extra: 0,
            label_pos: Vec::new(),
            label_alias: Vec::new(),
            label_item: Vec::new(),
            fixups: Vec::new(),
            relocs: Vec::new(),
            label_relocs: Vec::new(),
            traps: Vec::new(),
            call_sites: Vec::new(),
            srclocs: Vec::new(),
            cur_srcloc: None,
            inline_data: Vec::new(),
            unwind: Vec::new(),
            pool: ConstantPool::default(),
            items: Vec::new(),
            const_items: Vec::new(),
            trap_items: HashMap::new(),
            pending: Vec::new(),
            pending_bytes: 0,
            deadline: NO_DEADLINE,
            min_reach: NO_DEADLINE,
            veneer_candidates: Vec::new(),
            last_margin: 0,
            tail_data: None,
            islands: 0,
        }
    }

    /// The encoder.
    pub fn encoder(&self) -> &E {
        &self.enc
    }

    /// The current position.
    #[inline]
    pub fn cur_pos(&self) -> Pos {
        Pos { data: self.data.len() as u32, sites: self.sites.len() as u32 }
    }

    /// Bytes emitted so far, excluding sites (for size estimates).
    pub fn data_len(&self) -> usize {
        self.data.len()
    }

    /// The worst-case offset of the current position (every site at its largest form).
    #[inline]
    pub fn worst_offset(&self) -> u64 {
        self.data.len() as u64 + self.worst_extra
    }

    /// Make room for about `bytes` more bytes of code, so appending does not grow the
    /// buffer step by step.
    pub fn reserve_code(&mut self, bytes: usize) {
        self.data.reserve(bytes);
    }

    /// Append one byte.
    #[inline]
    pub fn put1(&mut self, b: u8) {
        self.data.push(b);
    }
    /// Append a little-endian u16.
    #[inline]
    pub fn put2(&mut self, v: u16) {
        self.data.extend_from_slice(&v.to_le_bytes());
    }
    /// Append a little-endian u32.
    #[inline]
    pub fn put4(&mut self, v: u32) {
        self.data.extend_from_slice(&v.to_le_bytes());
    }
    /// Append a little-endian u64.
    #[inline]
    pub fn put8(&mut self, v: u64) {
        self.data.extend_from_slice(&v.to_le_bytes());
    }
    /// Append bytes.
    #[inline]
    pub fn put_data(&mut self, d: &[u8]) {
        self.data.extend_from_slice(d);
    }

    // ---------------------------------------------------------------------------------
    // Labels

    /// Create a new, unbound label.
    pub fn get_label(&mut self) -> MachLabel {
        let l = MachLabel(self.label_pos.len() as u32);
        self.label_pos.push(None);
        self.label_alias.push(None);
        self.label_item.push(NO_ITEM);
        l
    }

    /// Make sure labels `0..n` exist (block labels are created up front).
    pub fn reserve_labels(&mut self, n: usize) {
        while self.label_pos.len() < n {
            self.get_label();
        }
    }

    /// Bind `label` to the current position.
    pub fn bind_label(&mut self, label: MachLabel) {
        self.label_pos[label.0 as usize] = Some(self.cur_pos());
    }

    /// Make `label` an alias of `target`: every reference to `label` goes to `target`.
    pub fn alias_label(&mut self, label: MachLabel, target: MachLabel) {
        self.label_alias[label.0 as usize] = Some(target);
    }

    /// Is `label` (after aliases) bound?
    pub fn is_bound(&self, label: MachLabel) -> bool {
        let l = self.resolve(label);
        self.label_pos.get(l.0 as usize).is_some_and(|p| p.is_some())
    }

    fn resolve(&self, mut l: MachLabel) -> MachLabel {
        for _ in 0..self.label_alias.len() {
            match self.label_alias.get(l.0 as usize).copied().flatten() {
                Some(t) if t != l => l = t,
                _ => break,
            }
        }
        l
    }

    // ---------------------------------------------------------------------------------
    // Branches and label uses

    /// Record a branch to `label` at the current position (encoded at `finish`).
    pub fn add_branch(&mut self, label: MachLabel, branch: E::Branch) {
        let forms = self.enc.branch_forms(&branch);
        let largest = forms.last().map_or(0, |f| f.size);
        let first = forms[0];
        let fixed = forms.len() == 1;
        let is_item = self.label_item.get(label.0 as usize).is_some_and(|&i| i != NO_ITEM);
        let label = if is_item {
            // A fixed branch cannot grow: its item targets are kept in reach of its only form.
            let island_form = if fixed { Some(first) } else { forms.iter().find(|f| f.islands).copied() };
            self.redirect(label, island_form)
        } else {
            if fixed && !self.is_bound(label) {
                // A fixed-size branch forward: a veneer may be needed (see `emit_island`).
                let reach = first.max_disp.max(0) as u64;
                let deadline = self.worst_offset().saturating_add(reach);
                self.veneer_candidates.push((self.sites.len() as u32, deadline));
                self.note_deadline(deadline, reach);
            }
            label
        };
        self.sites.push(Site { at: self.cur_pos(), label, kind: SiteKind::Branch(branch) });
        self.worst_extra += largest as u64;
    }

    /// Record a relaxable use of `label` (an instruction the buffer encodes at `finish`,
    /// in the first form of its ladder that reaches: aarch64 `adr` → `adrp; add`).
    pub fn add_label_use(&mut self, label: MachLabel, label_use: E::LabelUse) {
        let forms = self.enc.label_use_forms(&label_use);
        let largest = forms.last().map_or(0, |f| f.size);
        let island_form = forms.iter().find(|f| f.islands).copied();
        let label = self.redirect(label, island_form);
        self.sites.push(Site { at: self.cur_pos(), label, kind: SiteKind::Use(label_use) });
        self.worst_extra += largest as u64;
    }

    /// Record a fixed use of `label` starting at the current position: the target emits
    /// the instruction (with placeholder bytes) and the buffer patches
    /// `label_use_patch_size` bytes from here once the layout is final.
    pub fn use_label_at_offset(&mut self, label: MachLabel, label_use: E::LabelUse) {
        self.use_label_at_offset_with_addend(label, label_use, 0);
    }

    /// [`use_label_at_offset`](Self::use_label_at_offset) referring to `label + addend`
    /// (jump-table entries relative to the table start use `4 × index`).
    pub fn use_label_at_offset_with_addend(&mut self, label: MachLabel, label_use: E::LabelUse, addend: i32) {
        let form = self.enc.label_use_forms(&label_use)[0];
        let label = self.redirect(label, Some(form));
        self.fixups.push(Fixup { at: self.cur_pos(), label, label_use, addend, anchor: None });
    }

    /// A fixed use of `label` whose displacement is measured from `anchor` instead of the
    /// use's own position (riscv64 `%pcrel_lo12(anchor)` names the label of its `auipc`).
    pub fn use_label_anchored(&mut self, label: MachLabel, label_use: E::LabelUse, anchor: MachLabel) {
        let form = self.enc.label_use_forms(&label_use)[0];
        let label = self.redirect(label, Some(form));
        self.fixups.push(Fixup { at: self.cur_pos(), label, label_use, addend: 0, anchor: Some(anchor) });
    }

    /// Pad with no-ops so the next byte is at a multiple of `align` (a power of two); the
    /// padding is chosen at layout.
    pub fn align_to(&mut self, align: u32) {
        let align = align.max(1).next_power_of_two();
        if align <= 1 {
            return;
        }
        self.sites.push(Site { at: self.cur_pos(), label: MachLabel(0), kind: SiteKind::Align(align) });
        self.worst_extra += align as u64 - 1;
    }

    /// Is the last thing emitted an unconditional branch, so that no code falls through
    /// to the current position?
    pub fn ends_in_unconditional_branch(&self) -> bool {
        match self.sites.last() {
            Some(s) if s.at.data as usize == self.data.len() => match &s.kind {
                SiteKind::Branch(b) => self.enc.is_unconditional(b),
                _ => false,
            },
            _ => false,
        }
    }

    // ---------------------------------------------------------------------------------
    // Records

    /// Record a relocation for a field starting at the current position.
    pub fn add_reloc(&mut self, kind: Reloc, target: RelocTarget, addend: i64) {
        self.relocs.push((self.cur_pos(), kind, target, addend));
    }

    /// Record a relocation for a field starting at the current position whose target is a
    /// label of this function: it becomes a [`RelocTarget::CodeOffset`].
    pub fn add_reloc_to_label(&mut self, kind: Reloc, label: MachLabel, addend: i64) {
        self.label_relocs.push((self.cur_pos(), kind, label, addend));
    }

    /// Record that the instruction starting at the current position may trap with `code`.
    pub fn add_trap(&mut self, code: TrapCode) {
        self.traps.push((self.cur_pos(), code));
    }

    /// Record a call site whose return address is the current position.
    pub fn add_call_site(&mut self, handlers: Vec<(HandlerTag, MachLabel)>, frame_offset: u32) {
        self.call_sites.push((self.cur_pos(), handlers, frame_offset));
    }

    /// Record what the prologue or epilogue instruction that just ended did to the frame.
    pub fn add_unwind(&mut self, inst: UnwindInst) {
        self.unwind.push((self.cur_pos(), inst));
    }

    /// Start a source-location range.
    pub fn start_srcloc(&mut self, loc: SourceLoc) {
        self.cur_srcloc = Some((self.cur_pos(), loc));
    }

    /// End the current source-location range.
    pub fn end_srcloc(&mut self) {
        if let Some((start, loc)) = self.cur_srcloc.take() {
            let end = self.cur_pos();
            if end > start {
                self.srclocs.push((start, end, loc));
            }
        }
    }

    /// Record that the bytes from `start` to the current position are data (a jump
    /// table), not instructions.
    pub fn mark_inline_data(&mut self, start: Pos) {
        let end = self.cur_pos();
        if end > start {
            self.inline_data.push((start, end));
        }
    }

    // ---------------------------------------------------------------------------------
    // Deferred items

    /// A label for an out-of-line trap with `code` at `loc` (shared by every use in reach).
    pub fn defer_trap(&mut self, code: TrapCode, loc: SourceLoc) -> MachLabel {
        if let Some(&i) = self.trap_items.get(&(code, loc)) {
            return self.items[i as usize].canonical;
        }
        let i = self.new_item(ItemKind::Trap(code, loc));
        self.trap_items.insert((code, loc), i);
        self.items[i as usize].canonical
    }

    /// A label for a constant holding `data`, aligned to `align` (deduplicated: the same
    /// bytes share one entry of the function's pool).
    pub fn add_constant(&mut self, data: &[u8], align: u32) -> MachLabel {
        let idx = self.pool.insert(data, align);
        while self.const_items.len() <= idx as usize {
            let c = self.const_items.len() as u32;
            let i = self.new_item(ItemKind::Constant(c));
            self.const_items.push(i);
        }
        self.items[self.const_items[idx as usize] as usize].canonical
    }

    /// Take over the constant pool the lowering filled: entry `i` gets label
    /// `first_label + i` (labels below it must exist already; they are reserved here).
    pub fn adopt_constants(&mut self, pool: ConstantPool, first_label: u32) {
        debug_assert!(self.pool.is_empty() && self.label_pos.len() <= first_label as usize);
        self.reserve_labels(first_label as usize);
        let n = pool.len();
        self.pool = pool;
        for c in 0..n as u32 {
            let i = self.new_item(ItemKind::Constant(c));
            debug_assert_eq!(self.items[i as usize].canonical.0, first_label + c);
            self.const_items.push(i);
        }
    }

    fn new_item(&mut self, kind: ItemKind) -> u32 {
        let label = self.get_label();
        let i = self.items.len() as u32;
        self.label_item[label.0 as usize] = i;
        self.items.push(Item {
            kind,
            canonical: label,
            copy: label,
            placed: false,
            pending: false,
            worst_pos: 0,
            placed_align: 1,
        });
        i
    }

    /// Worst-case bytes item `i` takes in an island.
    fn item_worst_size(&self, i: u32) -> u64 {
        match self.items[i as usize].kind {
            ItemKind::Constant(c) => {
                let e = self.pool.get(c);
                e.bytes.len() as u64 + e.align as u64 - 1
            }
            ItemKind::Trap(..) => self.enc.trap_instruction().len() as u64,
        }
    }

    fn note_deadline(&mut self, deadline: u64, reach: u64) {
        self.deadline = self.deadline.min(deadline);
        self.min_reach = self.min_reach.min(reach);
    }

    /// The label a use of `label` must name: for a deferred item, its current copy (a new
    /// one if the placed copy is out of `form`'s reach backwards). Registers the deadline.
    fn redirect(&mut self, label: MachLabel, form: Option<Form>) -> MachLabel {
        let i = match self.label_item.get(label.0 as usize) {
            Some(&i) if i != NO_ITEM => i,
            _ => return label,
        };
        let now = self.worst_offset();
        let it = self.items[i as usize];
        if it.placed {
            let needed_align = match it.kind {
                ItemKind::Constant(c) => self.pool.get(c).align,
                ItemKind::Trap(..) => 1,
            };
            let back = -((now - it.worst_pos) as i64);
            let in_reach = form.is_none_or(|f| f.reaches(back));
            if in_reach && it.placed_align >= needed_align {
                return it.copy;
            }
            // A fresh copy for the uses from here on.
            let copy = self.get_label();
            let item = &mut self.items[i as usize];
            item.copy = copy;
            item.placed = false;
            item.pending = false;
        }
        if !self.items[i as usize].pending {
            self.items[i as usize].pending = true;
            self.pending.push(i);
            self.pending_bytes += self.item_worst_size(i);
        }
        if let Some(f) = form {
            let reach = f.max_disp.max(0) as u64;
            self.note_deadline(now.saturating_add(reach), reach);
        }
        self.items[i as usize].copy
    }

    // ---------------------------------------------------------------------------------
    // Islands

    /// Is any pending item waiting for an island (or a fixed branch for a veneer)?
    #[inline]
    pub fn has_deadline(&self) -> bool {
        self.deadline != NO_DEADLINE
    }

    /// Must an island be emitted before an instruction of at most `worst_size` bytes
    /// (counting the deferred items it may add) so that no pending item goes out of
    /// reach?
    #[inline]
    pub fn island_needed(&mut self, worst_size: u32) -> bool {
        if self.deadline == NO_DEADLINE {
            return false;
        }
        let jump = self.enc.branch_forms(&self.enc.jump()).last().map_or(0, |f| f.size) as u64;
        let margin = 2 * worst_size as u64 + jump + self.pending_bytes;
        self.last_margin = margin;
        self.worst_offset().saturating_add(margin) >= self.deadline
    }

    /// Is it worth emitting an island here, a point no code falls through to? Yes when the
    /// first deadline is less than half the smallest reach away.
    pub fn island_wanted(&self) -> bool {
        if self.deadline == NO_DEADLINE {
            return false;
        }
        let left = self.deadline.saturating_sub(self.worst_offset() + self.pending_bytes);
        left < self.min_reach / 2
    }

    /// Emit an island here: veneers for fixed branches whose targets would otherwise go
    /// out of reach, then the pending trap stubs, then the pending constants (strictest
    /// alignment first). With `jump_around`, code falling through jumps over it.
    pub fn emit_island(&mut self, jump_around: bool) {
        // Fixed branches that are bound by now need nothing; the others whose deadline
        // is near get a veneer here.
        let horizon = self.worst_offset() + self.pending_bytes + 2 * self.last_margin;
        let mut candidates = core::mem::take(&mut self.veneer_candidates);
        let mut veneers: SmallVec<[(u32, MachLabel); 4]> = SmallVec::new();
        candidates.retain(|&(site, deadline)| {
            let target = self.sites[site as usize].label;
            if self.is_bound(target) {
                return false;
            }
            if deadline <= horizon {
                veneers.push((site, target));
                return false;
            }
            true
        });
        if veneers.is_empty() && self.pending.is_empty() {
            self.veneer_candidates = candidates;
            self.recompute_deadline();
            return;
        }
        self.islands += 1;
        let open_srcloc = self.cur_srcloc.map(|(_, loc)| loc);
        self.end_srcloc();
        let skip = jump_around.then(|| {
            let l = self.get_label();
            let j = self.enc.jump();
            self.add_branch(l, j);
            l
        });
        for (site, target) in veneers {
            let v = self.get_label();
            self.bind_label(v);
            let j = self.enc.jump();
            self.add_branch(target, j);
            self.sites[site as usize].label = v;
        }
        self.place_pending(false);
        if let Some(l) = skip {
            self.bind_label(l);
        }
        if let Some(loc) = open_srcloc {
            self.start_srcloc(loc);
        }
        self.veneer_candidates = candidates;
        self.recompute_deadline();
    }

    fn recompute_deadline(&mut self) {
        self.deadline = NO_DEADLINE;
        self.min_reach = NO_DEADLINE;
        for i in 0..self.veneer_candidates.len() {
            let (site, d) = self.veneer_candidates[i];
            let SiteKind::Branch(b) = self.sites[site as usize].kind else { continue };
            let reach = self.enc.branch_forms(&b)[0].max_disp.max(0) as u64;
            self.note_deadline(d, reach);
        }
    }

    /// Place every pending item here: trap stubs, then constants by decreasing alignment.
    /// `tail`: this is the end of the function (constants go after `code_size`).
    fn place_pending(&mut self, tail: bool) {
        let pending = core::mem::take(&mut self.pending);
        for &i in &pending {
            let Item { kind: ItemKind::Trap(code, loc), copy, .. } = self.items[i as usize] else { continue };
            self.bind_label(copy);
            let worst = self.worst_offset();
            if !loc.is_default() {
                self.start_srcloc(loc);
            }
            self.add_trap(code);
            let bytes = self.enc.trap_instruction();
            self.data.extend_from_slice(bytes);
            if !loc.is_default() {
                self.end_srcloc();
            }
            let it = &mut self.items[i as usize];
            it.placed = true;
            it.pending = false;
            it.worst_pos = worst;
        }
        let mut consts: SmallVec<[(u32, u32); 16]> = pending
            .iter()
            .filter_map(|&i| match self.items[i as usize].kind {
                ItemKind::Constant(c) => Some((i, self.pool.get(c).align)),
                ItemKind::Trap(..) => None,
            })
            .collect();
        if !consts.is_empty() {
            consts.sort_by_key(|&(_, align)| core::cmp::Reverse(align));
            let start = self.cur_pos();
            if tail {
                self.tail_data = Some(start);
            }
            for (i, align) in consts {
                self.align_to(align);
                let it = self.items[i as usize];
                self.bind_label(it.copy);
                let worst = self.worst_offset();
                let ItemKind::Constant(c) = it.kind else { continue };
                let bytes = &self.pool.entries[c as usize].bytes;
                self.data.extend_from_slice(bytes);
                let it = &mut self.items[i as usize];
                it.placed = true;
                it.pending = false;
                it.worst_pos = worst;
                it.placed_align = align;
            }
            if !tail {
                self.mark_inline_data(start);
                // Instructions follow.
                let align = self.enc.code_alignment();
                self.align_to(align);
            }
        }
        self.pending_bytes = 0;
        self.pending = pending;
        self.pending.clear();
    }

    // ---------------------------------------------------------------------------------
    // Layout

    /// Emit what is still deferred, lay out the sites, patch every reference, and produce
    /// the final code.
    pub fn finish(mut self, out: &mut FinishedCode) -> Result<(), BufferError> {
        self.end_srcloc();
        // Veneers are only needed for branches that cannot reach; at the end the targets
        // are all bound, so a fixed branch out of reach is reported by the layout.
        self.veneer_candidates.clear();
        self.place_pending(true);
        let enc = &self.enc;

        // Resolve every site's target to a position once.
        let n = self.sites.len();
        let mut targets: Vec<Pos> = Vec::with_capacity(n);
        for s in &self.sites {
            if let SiteKind::Align(_) = s.kind {
                targets.push(Pos::default());
                continue;
            }
            let l = self.resolve(s.label);
            match self.label_pos.get(l.0 as usize).copied().flatten() {
                Some(p) => targets.push(p),
                None => return Err(BufferError::UnboundLabel(s.label)),
            }
        }

        // Relaxation.
        let mut form = vec![0u8; n];
        let mut prefix = vec![0u32; n + 1];
        let final_of = |pos: Pos, prefix: &[u32]| pos.data + prefix[pos.sites as usize];
        let mut pass = 0u32;
        loop {
            for i in 0..n {
                let s = &self.sites[i];
                let size = match &s.kind {
                    SiteKind::Branch(b) => enc.branch_forms(b)[form[i] as usize].size,
                    SiteKind::Use(u) => enc.label_use_forms(u)[form[i] as usize].size,
                    SiteKind::Align(a) => {
                        let start = s.at.data + prefix[i];
                        start.next_multiple_of(*a) - start
                    }
                };
                prefix[i + 1] = prefix[i] + size;
            }
            let mut changed = false;
            let mut failing = None;
            for i in 0..n {
                let s = &self.sites[i];
                let forms = match &s.kind {
                    SiteKind::Branch(b) => enc.branch_forms(b),
                    SiteKind::Use(u) => enc.label_use_forms(u),
                    SiteKind::Align(_) => continue,
                };
                let cur = form[i] as usize;
                let start = final_of(s.at, &prefix) as i64;
                let disp = final_of(targets[i], &prefix) as i64 - start;
                if forms[cur].reaches(disp) {
                    continue;
                }
                let next = if pass >= EAGER_PASSES {
                    Some(forms.len() - 1).filter(|&k| k > cur)
                } else {
                    (cur + 1..forms.len()).find(|&k| forms[k].reaches(disp)).or(Some(forms.len() - 1))
                };
                match next {
                    Some(k) if k > cur => {
                        form[i] = k as u8;
                        changed = true;
                    }
                    // Already at its last form: an error unless the layout still changes
                    // (alignment padding can shrink).
                    _ => failing = Some((i, start, disp)),
                }
            }
            if !changed {
                if let Some((i, start, disp)) = failing {
                    return Err(BufferError::OutOfRange(format!(
                        "{} at {start:#x} cannot reach {:#x}",
                        self.sites[i].kind_name(),
                        start + disp
                    )));
                }
                break;
            }
            pass += 1;
        }

        // Final bytes.
        let total = self.data.len() as u32 + prefix[n];
        out.bytes.clear();
        out.bytes.reserve(total as usize);
        let mut cursor = 0usize;
        for (i, s) in self.sites.iter().enumerate() {
            out.bytes.extend_from_slice(&self.data[cursor..s.at.data as usize]);
            cursor = s.at.data as usize;
            let start = out.bytes.len() as u32;
            debug_assert_eq!(start, final_of(s.at, &prefix));
            let disp = final_of(targets[i], &prefix) as i64 - start as i64;
            match &s.kind {
                SiteKind::Branch(b) => enc.encode_branch(b, form[i] as usize, start, disp, &mut out.bytes),
                SiteKind::Use(u) => enc.encode_label_use(u, form[i] as usize, start, disp, &mut out.bytes),
                SiteKind::Align(_) => enc.write_nops((prefix[i + 1] - prefix[i]) as usize, &mut out.bytes),
            }
            debug_assert_eq!(out.bytes.len() as u32 - start, prefix[i + 1] - prefix[i], "{:?}", s.kind_name());
        }
        out.bytes.extend_from_slice(&self.data[cursor..]);
        debug_assert_eq!(out.bytes.len() as u32, total);
        out.code_size = self.tail_data.map_or(total, |p| final_of(p, &prefix));
        out.islands = self.islands;
        out.layout_passes = pass + 1;

        // Final label offsets.
        out.label_offsets.clear();
        out.label_offsets.extend(self.label_pos.iter().map(|p| p.map_or(u32::MAX, |p| final_of(p, &prefix))));
        let label_offset = |l: MachLabel| -> Result<u32, BufferError> {
            let r = self.resolve(l);
            out.label_offsets.get(r.0 as usize).copied().filter(|o| *o != u32::MAX).ok_or(BufferError::UnboundLabel(l))
        };

        // Patch fixed uses.
        let mut patches: Vec<(u32, i64, E::LabelUse)> = Vec::with_capacity(self.fixups.len());
        for f in &self.fixups {
            let at = final_of(f.at, &prefix);
            let target = label_offset(f.label)? as i64 + f.addend as i64;
            let base = match f.anchor {
                Some(a) => label_offset(a)? as i64,
                None => at as i64,
            };
            let disp = target - base;
            if !enc.label_use_forms(&f.label_use)[0].reaches(disp) {
                return Err(BufferError::OutOfRange(format!("{:?} at {at:#x} cannot reach {target:#x}", f.label_use)));
            }
            patches.push((at, disp, f.label_use));
        }
        for (at, disp, u) in patches {
            let size = enc.label_use_patch_size(&u) as usize;
            let bytes = &mut out.bytes[at as usize..at as usize + size];
            if !enc.patch_label_use(&u, at, disp, bytes) {
                return Err(BufferError::OutOfRange(format!("{u:?} at {at:#x} cannot encode displacement {disp}")));
            }
        }

        out.relocs.clear();
        out.relocs.extend(self.relocs.iter().map(|(p, k, t, a)| FinalizedReloc {
            offset: final_of(*p, &prefix),
            kind: *k,
            target: t.clone(),
            addend: *a,
        }));
        if !self.label_relocs.is_empty() {
            for &(p, kind, l, addend) in &self.label_relocs {
                let target = RelocTarget::CodeOffset(label_offset(l)?);
                out.relocs.push(FinalizedReloc { offset: final_of(p, &prefix), kind, target, addend });
            }
            out.relocs.sort_by_key(|r| r.offset);
        }
        out.traps.clear();
        out.traps.extend(self.traps.iter().map(|(p, c)| TrapSite { offset: final_of(*p, &prefix), code: *c }));
        out.call_sites.clear();
        for (p, handlers, frame_offset) in &self.call_sites {
            let mut hs = Vec::with_capacity(handlers.len());
            for (tag, l) in handlers {
                hs.push((*tag, label_offset(*l)?));
            }
            out.call_sites.push(CallSite {
                ret_addr: final_of(*p, &prefix),
                handlers: hs,
                frame_offset: *frame_offset,
            });
        }
        out.srclocs.clear();
        out.srclocs.extend(self.srclocs.iter().map(|(s, e, loc)| SrcLocRange {
            start: final_of(*s, &prefix),
            end: final_of(*e, &prefix),
            loc: *loc,
        }));
        out.inline_data.clear();
        out.inline_data.extend(self.inline_data.iter().map(|(s, e)| (final_of(*s, &prefix), final_of(*e, &prefix))));
        out.unwind.clear();
        out.unwind.extend(self.unwind.iter().map(|(p, u)| (final_of(*p, &prefix), *u)));
        Ok(())
    }
}

impl<B: core::fmt::Debug, U: core::fmt::Debug> Site<B, U> {
    fn kind_name(&self) -> String {
        match &self.kind {
            SiteKind::Branch(b) => format!("branch {b:?}"),
            SiteKind::Use(u) => format!("label use {u:?}"),
            SiteKind::Align(a) => format!("alignment {a}"),
        }
    }
}

//! `MachBuffer`: the code buffer that machine instructions are emitted into, with labels,
//! relaxed branches, label fixups, a constant pool, out-of-line trap stubs, and the records
//! a code consumer needs (traps, call sites, relocations, source locations).
//!
//! # Branches and relaxation
//!
//! Branches are not encoded when emitted. `add_branch` records a [`BranchRecord`] at the
//! current position and occupies no bytes yet; everything else is encoded directly. Every
//! position recorded (labels, fixups, traps, relocations, …) is stored as a
//! [`Pos`]: a byte offset in the branch-free data plus the number of branches emitted before
//! it. At [`MachBuffer::finish`], branch sizes are chosen by relaxation: every branch starts
//! in its short form (x86 `jmp rel8`, …); any whose target is out of range grows to the
//! long form, and offsets are recomputed until nothing changes (sizes only grow, so this
//! terminates). The final offset of a `Pos` is `data offset + total size of the branches
//! before it`, a prefix sum.
//!
//! Label fixups that are not branches (RIP-relative constant loads, jump-table entries,
//! …) have one fixed size chosen by the backend; they are patched after layout, and an
//! out-of-range one is an implementation-limit error.
//!
//! # Deferred code
//!
//! Trap stubs requested with [`MachBuffer::defer_trap`] and constants added with
//! [`MachBuffer::add_constant`] are emitted after the function body (by `finish`), each
//! bound to the label the body referred to.

use crate::machinst::{MachLabel, SourceLoc};
use kiln_ir::extname::{KnownSymbol, LibCall};
use kiln_ir::trapcode::TrapCode;
use smallvec::SmallVec;

/// What the target architecture knows about its branches and label references.
pub trait BranchEncoding {
    /// Size in bytes of the short and long forms of branch kind `kind`.
    fn branch_sizes(kind: u8) -> (u32, u32);
    /// Can the short form at final offset `at` (branch start) reach `target`?
    fn short_reaches(kind: u8, at: u32, target: u32) -> bool;
    /// Encode a branch of kind `kind` with arch payload `payload` at final offset `at` to
    /// final offset `target`, in its short or long form, appending to `out`.
    fn encode_branch(kind: u8, payload: u32, at: u32, target: u32, long: bool, out: &mut Vec<u8>);
    /// Patch a label use of kind `kind` at final offset `at` (the start of the field or
    /// instruction as the kind defines) for a label at `target`; returns false if out of
    /// range.
    fn patch_label_use(kind: u8, at: u32, target: u32, bytes: &mut [u8]) -> bool;
    /// Bytes of the label-use field/instruction starting at `at`.
    fn label_use_size(kind: u8) -> u32;
    /// The trap instruction's bytes.
    fn trap_instruction() -> &'static [u8];
    /// Padding instruction bytes of the architecture (one unit).
    fn nop_unit() -> &'static [u8];
}

/// A position in the buffer before relaxation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// Offset in the branch-free data.
    pub data: u32,
    /// Number of branches emitted before this position.
    pub branches: u32,
}

/// A recorded branch.
#[derive(Copy, Clone, Debug)]
pub struct BranchRecord {
    /// Where it goes.
    pub at: Pos,
    /// Target label.
    pub target: MachLabel,
    /// Arch-defined kind (e.g. unconditional / conditional).
    pub kind: u8,
    /// Arch-defined payload (condition code, registers).
    pub payload: u32,
}

/// A non-branch reference to a label.
#[derive(Copy, Clone, Debug)]
struct LabelFixup {
    at: Pos,
    label: MachLabel,
    kind: u8,
    /// Added to the label's offset before patching.
    addend: i32,
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
    /// RISC-V PC-relative LO12 (I-type), referring to the AUIPC.
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

/// A constant-pool entry.
struct PoolConstant {
    data: SmallVec<[u8; 16]>,
    align: u32,
    label: MachLabel,
}

/// The code buffer of one function.
pub struct MachBuffer {
    data: Vec<u8>,
    branches: Vec<BranchRecord>,
    label_pos: Vec<Option<Pos>>,
    /// Label aliases: a label bound to another label (resolved at finish).
    label_alias: Vec<Option<MachLabel>>,
    fixups: Vec<LabelFixup>,
    relocs: Vec<(Pos, Reloc, RelocTarget, i64)>,
    traps: Vec<(Pos, TrapCode)>,
    call_sites: Vec<(Pos, Vec<(HandlerTag, MachLabel)>, u32)>,
    srclocs: Vec<(Pos, Pos, SourceLoc)>,
    cur_srcloc: Option<(Pos, SourceLoc)>,
    /// Ranges of data inside the code (jump tables).
    inline_data: Vec<(Pos, Pos)>,
    deferred_traps: Vec<(MachLabel, TrapCode, SourceLoc)>,
    constants: Vec<PoolConstant>,
}

/// The finished code of one function.
#[derive(Clone, Debug, Default)]
pub struct FinishedCode {
    /// Machine code, followed by the constant pool.
    pub bytes: Vec<u8>,
    /// Size of the code proper (before the constant pool).
    pub code_size: u32,
    /// Relocations.
    pub relocs: Vec<FinalizedReloc>,
    /// Trap sites.
    pub traps: Vec<TrapSite>,
    /// Call sites.
    pub call_sites: Vec<CallSite>,
    /// Source-location ranges.
    pub srclocs: Vec<SrcLocRange>,
    /// Final offsets of labels (by label index), for consumers that need block offsets.
    pub label_offsets: Vec<u32>,
    /// Byte ranges `[start, end)` of data inside the code (jump tables), so that a
    /// disassembler shows them as data.
    pub inline_data: Vec<(u32, u32)>,
}

/// Why finishing failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BufferError {
    /// A label was used but never bound.
    UnboundLabel(MachLabel),
    /// A fixed-size label reference is out of range.
    OutOfRange(String),
}

impl Default for MachBuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl MachBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        MachBuffer {
            data: Vec::new(),
            branches: Vec::new(),
            label_pos: Vec::new(),
            label_alias: Vec::new(),
            fixups: Vec::new(),
            relocs: Vec::new(),
            traps: Vec::new(),
            call_sites: Vec::new(),
            srclocs: Vec::new(),
            cur_srcloc: None,
            inline_data: Vec::new(),
            deferred_traps: Vec::new(),
            constants: Vec::new(),
        }
    }

    /// Reset for a new function, keeping allocations.
    pub fn clear(&mut self) {
        self.data.clear();
        self.branches.clear();
        self.label_pos.clear();
        self.label_alias.clear();
        self.fixups.clear();
        self.relocs.clear();
        self.traps.clear();
        self.call_sites.clear();
        self.srclocs.clear();
        self.cur_srcloc = None;
        self.inline_data.clear();
        self.deferred_traps.clear();
        self.constants.clear();
    }

    /// The current position.
    #[inline]
    pub fn cur_pos(&self) -> Pos {
        Pos { data: self.data.len() as u32, branches: self.branches.len() as u32 }
    }

    /// Bytes emitted so far, excluding branches (for size estimates).
    pub fn data_len(&self) -> usize {
        self.data.len()
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

    /// Create a new, unbound label.
    pub fn get_label(&mut self) -> MachLabel {
        let l = MachLabel(self.label_pos.len() as u32);
        self.label_pos.push(None);
        self.label_alias.push(None);
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

    /// Record a branch (encoded at `finish`).
    pub fn add_branch(&mut self, target: MachLabel, kind: u8, payload: u32) {
        let at = self.cur_pos();
        self.branches.push(BranchRecord { at, target, kind, payload });
    }

    /// Record a fixed-size reference to `label` whose field/instruction starts at the
    /// current position; the backend then emits `label_use_size(kind)` placeholder bytes.
    pub fn use_label_at_offset(&mut self, label: MachLabel, kind: u8) {
        self.use_label_at_offset_with_addend(label, kind, 0);
    }

    /// [`use_label_at_offset`](Self::use_label_at_offset) referring to `label + addend`
    /// (jump-table entries relative to the table start use `4 × index`).
    pub fn use_label_at_offset_with_addend(&mut self, label: MachLabel, kind: u8, addend: i32) {
        let at = self.cur_pos();
        self.fixups.push(LabelFixup { at, label, kind, addend });
    }

    /// Record a relocation for a field starting at the current position.
    pub fn add_reloc(&mut self, kind: Reloc, target: RelocTarget, addend: i64) {
        let at = self.cur_pos();
        self.relocs.push((at, kind, target, addend));
    }

    /// Record that the instruction starting at the current position may trap with `code`.
    pub fn add_trap(&mut self, code: TrapCode) {
        let at = self.cur_pos();
        self.traps.push((at, code));
    }

    /// Record a call site whose return address is the current position.
    pub fn add_call_site(&mut self, handlers: Vec<(HandlerTag, MachLabel)>, frame_offset: u32) {
        let at = self.cur_pos();
        self.call_sites.push((at, handlers, frame_offset));
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

    /// A label for an out-of-line trap with `code`, emitted after the body.
    pub fn defer_trap(&mut self, code: TrapCode, loc: SourceLoc) -> MachLabel {
        if let Some((l, _, _)) = self.deferred_traps.iter().find(|(_, c, s)| *c == code && *s == loc) {
            return *l;
        }
        let l = self.get_label();
        self.deferred_traps.push((l, code, loc));
        l
    }

    /// A label for a pool constant (deduplicated).
    pub fn add_constant(&mut self, data: &[u8], align: u32) -> MachLabel {
        if let Some(c) = self.constants.iter().find(|c| c.data.as_slice() == data && c.align >= align) {
            return c.label;
        }
        let label = self.get_label();
        self.constants.push(PoolConstant { data: SmallVec::from_slice(data), align, label });
        label
    }

    /// Place `data` in the constant pool at an existing label.
    pub fn define_constant(&mut self, label: MachLabel, data: &[u8], align: u32) {
        self.constants.push(PoolConstant { data: SmallVec::from_slice(data), align, label });
    }

    fn resolve(&self, mut l: MachLabel) -> MachLabel {
        for _ in 0..self.label_alias.len() {
            match self.label_alias[l.0 as usize] {
                Some(t) if t != l => l = t,
                _ => break,
            }
        }
        l
    }

    /// Emit the deferred trap stubs (call before emitting the constant pool).
    fn emit_deferred_traps<E: BranchEncoding>(&mut self) {
        let traps = core::mem::take(&mut self.deferred_traps);
        for (label, code, loc) in &traps {
            self.bind_label(*label);
            if !loc.is_default() {
                self.start_srcloc(*loc);
            }
            self.add_trap(*code);
            self.put_data(E::trap_instruction());
            if !loc.is_default() {
                self.end_srcloc();
            }
        }
        self.deferred_traps = traps;
        self.deferred_traps.clear();
    }

    /// Lay out branches, emit deferred code and the constant pool, patch every reference,
    /// and produce the final code.
    pub fn finish<E: BranchEncoding>(mut self, out: &mut FinishedCode) -> Result<(), BufferError> {
        self.emit_deferred_traps::<E>();
        let code_data_len = self.data.len() as u32;
        // The constant pool is laid out separately and placed after the code once the code
        // size is known, aligned to its strictest entry.
        let consts = core::mem::take(&mut self.constants);
        let mut pool_entries = Vec::with_capacity(consts.len());
        let mut pool = Vec::new();
        for c in &consts {
            while pool.len() % c.align as usize != 0 {
                pool.push(0);
            }
            pool_entries.push((c.label, pool.len() as u32));
            pool.extend_from_slice(&c.data);
        }
        let pool_align = consts.iter().map(|c| c.align).max().unwrap_or(1);

        // Relaxation.
        let nb = self.branches.len();
        let mut long = vec![false; nb];
        let mut prefix = vec![0u32; nb + 1];
        let label_final = |pos: Pos, prefix: &[u32]| pos.data + prefix[pos.branches as usize];
        // Resolve branch targets to positions once.
        let mut targets = Vec::with_capacity(nb);
        for b in &self.branches {
            let l = self.resolve(b.target);
            match self.label_pos.get(l.0 as usize).copied().flatten() {
                Some(p) => targets.push(p),
                None => {
                    // Pool labels are bound after layout.
                    if pool_entries.iter().any(|(pl, _)| *pl == l) {
                        return Err(BufferError::OutOfRange("branch to a constant-pool label".into()));
                    }
                    return Err(BufferError::UnboundLabel(b.target));
                }
            }
        }
        loop {
            for i in 0..nb {
                let (s, lg) = E::branch_sizes(self.branches[i].kind);
                prefix[i + 1] = prefix[i] + if long[i] { lg } else { s };
            }
            let mut changed = false;
            for i in 0..nb {
                if long[i] {
                    continue;
                }
                // The branch starts after the `i` branches before it.
                let start = label_final(self.branches[i].at, &prefix);
                let target = label_final(targets[i], &prefix);
                if !E::short_reaches(self.branches[i].kind, start, target) {
                    long[i] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let total_branch = prefix[nb];
        // Final bytes.
        let code_len_final = code_data_len + total_branch;
        let mut pool_start = code_len_final;
        while !pool_start.is_multiple_of(pool_align) {
            pool_start += 1;
        }
        out.bytes.clear();
        out.bytes.reserve((pool_start as usize) + pool.len());
        let mut cursor = 0usize;
        for (i, b) in self.branches.iter().enumerate() {
            out.bytes.extend_from_slice(&self.data[cursor..b.at.data as usize]);
            cursor = b.at.data as usize;
            let start = out.bytes.len() as u32;
            let target = label_final(targets[i], &prefix);
            E::encode_branch(b.kind, b.payload, start, target, long[i], &mut out.bytes);
            debug_assert_eq!(out.bytes.len() as u32 - start, {
                let (s, l) = E::branch_sizes(b.kind);
                if long[i] { l } else { s }
            });
        }
        out.bytes.extend_from_slice(&self.data[cursor..]);
        debug_assert_eq!(out.bytes.len() as u32, code_len_final);
        let nop = E::nop_unit();
        while (out.bytes.len() as u32) < pool_start {
            let pad = (pool_start as usize - out.bytes.len()).min(nop.len());
            if pad == nop.len() {
                out.bytes.extend_from_slice(nop);
            } else {
                out.bytes.push(0);
            }
        }
        out.bytes.extend_from_slice(&pool);
        out.code_size = code_len_final;

        // Final label offsets.
        let nlabels = self.label_pos.len();
        out.label_offsets.clear();
        out.label_offsets.resize(nlabels, u32::MAX);
        for (i, p) in self.label_pos.iter().enumerate() {
            if let Some(p) = p {
                out.label_offsets[i] = label_final(*p, &prefix);
            }
        }
        for (l, off) in &pool_entries {
            out.label_offsets[l.0 as usize] = pool_start + off;
        }
        let label_offset = |l: MachLabel| -> Option<u32> {
            let r = self.resolve(l);
            out.label_offsets.get(r.0 as usize).copied().filter(|o| *o != u32::MAX)
        };
        // Patch fixups.
        let mut patches = Vec::with_capacity(self.fixups.len());
        for f in &self.fixups {
            let at = label_final(f.at, &prefix);
            let target = label_offset(f.label).ok_or(BufferError::UnboundLabel(f.label))?;
            let target = u32::try_from(target as i64 + f.addend as i64)
                .map_err(|_| BufferError::OutOfRange(format!("label reference at {at:#x} with addend {}", f.addend)))?;
            patches.push((f.kind, at, target));
        }
        for (kind, at, target) in patches {
            let size = E::label_use_size(kind) as usize;
            let bytes = &mut out.bytes[at as usize..at as usize + size];
            if !E::patch_label_use(kind, at, target, bytes) {
                return Err(BufferError::OutOfRange(format!("label reference at {at:#x} cannot reach {target:#x}")));
            }
        }
        out.relocs.clear();
        out.relocs.extend(self.relocs.iter().map(|(p, k, t, a)| FinalizedReloc {
            offset: label_final(*p, &prefix),
            kind: *k,
            target: t.clone(),
            addend: *a,
        }));
        out.traps.clear();
        out.traps.extend(self.traps.iter().map(|(p, c)| TrapSite { offset: label_final(*p, &prefix), code: *c }));
        out.call_sites.clear();
        for (p, handlers, frame_offset) in &self.call_sites {
            let mut hs = Vec::with_capacity(handlers.len());
            for (tag, l) in handlers {
                hs.push((*tag, label_offset(*l).ok_or(BufferError::UnboundLabel(*l))?));
            }
            out.call_sites.push(CallSite {
                ret_addr: label_final(*p, &prefix),
                handlers: hs,
                frame_offset: *frame_offset,
            });
        }
        out.srclocs.clear();
        out.srclocs.extend(self.srclocs.iter().map(|(s, e, loc)| SrcLocRange {
            start: label_final(*s, &prefix),
            end: label_final(*e, &prefix),
            loc: *loc,
        }));
        out.inline_data.clear();
        out.inline_data
            .extend(self.inline_data.iter().map(|(s, e)| (label_final(*s, &prefix), label_final(*e, &prefix))));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy encoding: short branches are 2 bytes reaching ±127 from their end, long 5.
    struct Toy;
    impl BranchEncoding for Toy {
        fn branch_sizes(_: u8) -> (u32, u32) {
            (2, 5)
        }
        fn short_reaches(_: u8, at: u32, target: u32) -> bool {
            let d = target as i64 - (at as i64 + 2);
            (-128..=127).contains(&d)
        }
        fn encode_branch(_: u8, _: u32, at: u32, target: u32, long: bool, out: &mut Vec<u8>) {
            if long {
                out.push(0xe9);
                out.extend_from_slice(&((target as i64 - (at as i64 + 5)) as i32).to_le_bytes());
            } else {
                out.push(0xeb);
                out.push((target as i64 - (at as i64 + 2)) as i8 as u8);
            }
        }
        fn patch_label_use(_: u8, at: u32, target: u32, bytes: &mut [u8]) -> bool {
            bytes.copy_from_slice(&((target as i64 - (at as i64 + 4)) as i32).to_le_bytes());
            true
        }
        fn label_use_size(_: u8) -> u32 {
            4
        }
        fn trap_instruction() -> &'static [u8] {
            &[0x0f, 0x0b]
        }
        fn nop_unit() -> &'static [u8] {
            &[0x90]
        }
    }

    #[test]
    fn relaxation_picks_short_and_long_forms() {
        let mut b = MachBuffer::new();
        let near = b.get_label();
        let far = b.get_label();
        b.add_branch(near, 0, 0);
        b.add_branch(far, 0, 0);
        b.bind_label(near);
        b.put_data(&[0x90; 200]);
        b.bind_label(far);
        b.put1(0xc3);
        let mut out = FinishedCode::default();
        b.finish::<Toy>(&mut out).unwrap();
        // near: short (2) jumping over the far branch; far: long (5) over 200 bytes.
        assert_eq!(out.bytes[0], 0xeb);
        assert_eq!(out.bytes[1], 5);
        assert_eq!(out.bytes[2], 0xe9);
        assert_eq!(i32::from_le_bytes(out.bytes[3..7].try_into().unwrap()), 200);
        assert_eq!(out.label_offsets[far.0 as usize], 207);
        assert_eq!(out.bytes.len(), 208);
    }

    #[test]
    fn traps_constants_and_aliases() {
        let mut b = MachBuffer::new();
        let empty = b.get_label();
        let target = b.get_label();
        let c = b.add_constant(&[1, 2, 3, 4, 5, 6, 7, 8], 8);
        let trap = b.defer_trap(TrapCode::INTEGER_DIVISION_BY_ZERO, SourceLoc::default());
        b.alias_label(empty, target);
        b.add_branch(empty, 0, 0);
        b.add_branch(trap, 0, 0);
        b.use_label_at_offset(c, 0);
        b.put4(0);
        b.bind_label(target);
        b.put1(0xc3);
        let mut out = FinishedCode::default();
        b.finish::<Toy>(&mut out).unwrap();
        // jmp +2 (over the second branch), jmp to trap stub, rel32 to pool, ret, ud2, pool.
        assert_eq!(&out.bytes[0..2], &[0xeb, 2 + 4]);
        assert_eq!(out.traps.len(), 1);
        let trap_off = out.traps[0].offset;
        assert_eq!(&out.bytes[trap_off as usize..trap_off as usize + 2], &[0x0f, 0x0b]);
        let pool = out.label_offsets[c.0 as usize];
        assert_eq!(pool % 8, 0);
        assert_eq!(&out.bytes[pool as usize..pool as usize + 8], &[1, 2, 3, 4, 5, 6, 7, 8]);
        let rel = i32::from_le_bytes(out.bytes[4..8].try_into().unwrap());
        assert_eq!(8 + rel as i64, pool as i64);
    }
}

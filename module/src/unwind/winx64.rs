//! Windows x64 unwind information from unwind records: the `UNWIND_INFO` structure of a
//! function (`.xdata`), which a `RUNTIME_FUNCTION` entry in `.pdata` points to.
//!
//! Kiln's x86-64 prologue pushes `%rbp`, points `%rbp` at it, pushes the integer
//! callee-saves, allocates the rest of the frame and stores the vector callee-saves in
//! it. Windows describes it by the stack pointer alone: no frame register is declared
//! (`UWOP_SET_FPREG` can only express a frame pointer *below* the saves), which is exact
//! since the body never moves `%rsp` after the prologue. Pushes become `UWOP_PUSH_NONVOL`,
//! the allocation `UWOP_ALLOC_SMALL`/`UWOP_ALLOC_LARGE`, stores `UWOP_SAVE_XMM128` or
//! `UWOP_SAVE_NONVOL` at their offset from the final `%rsp`. Epilogues need no codes: they
//! have the shape the Windows unwinder recognizes (`add %rsp`, pops, `ret`/`jmp`).
//!
//! Limits (errors, not silent truncation): a prologue longer than 255 bytes, or records
//! that do not describe this frame shape.

use crate::module::ModuleError;
use crate::unwind::UnwindInst;
use regalloc2::RegClass;

const UWOP_PUSH_NONVOL: u8 = 0;
const UWOP_ALLOC_LARGE: u8 = 1;
const UWOP_ALLOC_SMALL: u8 = 2;
const UWOP_SAVE_NONVOL: u8 = 4;
const UWOP_SAVE_NONVOL_FAR: u8 = 5;
const UWOP_SAVE_XMM128: u8 = 8;
const UWOP_SAVE_XMM128_FAR: u8 = 9;

/// The Windows number of `%rbp`.
const RBP: u8 = 5;

/// One unwind code: the prologue offset after the instruction, the operation, its info
/// nibble and its extra 16-bit slots.
struct Code {
    at: u8,
    op: u8,
    info: u8,
    extra: Vec<u16>,
}

/// The `UNWIND_INFO` of a function with unwind records `records` (`None` for a function
/// without a frame: Windows unwinds such leaf functions without an entry).
pub fn unwind_info(records: &[(u32, UnwindInst)]) -> Result<Option<Vec<u8>>, ModuleError> {
    let bad = |what: &str| ModuleError::Unsupported(format!("Windows x64 unwind information: {what}"));
    let prologue: Vec<(u32, UnwindInst)> =
        records.iter().copied().take_while(|(_, r)| *r != UnwindInst::EpilogueStart).collect();
    if prologue.is_empty() {
        return Ok(None);
    }
    // Where SP ends, below the CFA, and which integer saves are pushes.
    let mut sp = 8u32;
    let mut pushes = Vec::new();
    for &(_, r) in &prologue {
        match r {
            UnwindInst::PushFrameRegs { offset_upward_to_caller_sp } => sp = offset_upward_to_caller_sp,
            UnwindInst::SaveReg { reg, offset_down_from_cfa, size: 8 }
                if reg.class() == RegClass::Int && offset_down_from_cfa == sp + 8 =>
            {
                sp += 8;
                pushes.push(offset_down_from_cfa);
            }
            UnwindInst::StackAlloc { size } => sp += size,
            _ => {}
        }
    }
    let mut codes = Vec::new();
    for &(at, r) in &prologue {
        let at = u8::try_from(at).map_err(|_| bad("a prologue longer than 255 bytes"))?;
        match r {
            UnwindInst::PushFrameRegs { offset_upward_to_caller_sp: 16 } => {
                codes.push(Code { at, op: UWOP_PUSH_NONVOL, info: RBP, extra: vec![] })
            }
            UnwindInst::PushFrameRegs { .. } => return Err(bad("a frame-register push of another size")),
            UnwindInst::DefineNewFrame { .. } => {}
            UnwindInst::Aarch64SetPointerAuth { .. } => return Err(bad("aarch64 pointer authentication")),
            UnwindInst::StackAlloc { size } if size % 8 != 0 => {
                return Err(bad("a stack allocation not a multiple of 8"));
            }
            UnwindInst::StackAlloc { size: 0 } => {}
            UnwindInst::StackAlloc { size } if size <= 128 => {
                codes.push(Code { at, op: UWOP_ALLOC_SMALL, info: (size / 8 - 1) as u8, extra: vec![] })
            }
            UnwindInst::StackAlloc { size } if size / 8 <= 0xffff => {
                codes.push(Code { at, op: UWOP_ALLOC_LARGE, info: 0, extra: vec![(size / 8) as u16] })
            }
            UnwindInst::StackAlloc { size } => {
                codes.push(Code { at, op: UWOP_ALLOC_LARGE, info: 1, extra: vec![size as u16, (size >> 16) as u16] })
            }
            UnwindInst::SaveReg { reg, offset_down_from_cfa, size } => {
                let n = reg.hw_enc() as u8;
                if reg.class() == RegClass::Int && pushes.contains(&offset_down_from_cfa) {
                    codes.push(Code { at, op: UWOP_PUSH_NONVOL, info: n, extra: vec![] });
                    continue;
                }
                let off = sp.checked_sub(offset_down_from_cfa).ok_or_else(|| bad("a save above the frame"))?;
                let (near, far, scale) = match (reg.class(), size) {
                    (RegClass::Int, 8) => (UWOP_SAVE_NONVOL, UWOP_SAVE_NONVOL_FAR, 8),
                    (RegClass::Float | RegClass::Vector, 16) => (UWOP_SAVE_XMM128, UWOP_SAVE_XMM128_FAR, 16),
                    _ => return Err(bad("a save of this register and size")),
                };
                if off % scale == 0 && off / scale <= 0xffff {
                    codes.push(Code { at, op: near, info: n, extra: vec![(off / scale) as u16] });
                } else {
                    codes.push(Code { at, op: far, info: n, extra: vec![off as u16, (off >> 16) as u16] });
                }
            }
            UnwindInst::EpilogueStart | UnwindInst::FrameRestored { .. } | UnwindInst::EpilogueEnd => {
                return Err(bad("an epilogue record in the prologue"));
            }
        }
    }
    let prologue_size = codes.iter().map(|c| c.at).max().unwrap_or(0);
    let slots: usize = codes.iter().map(|c| 1 + c.extra.len()).sum();
    let count = u8::try_from(slots).map_err(|_| bad("more than 255 unwind code slots"))?;
    let mut out = vec![1, prologue_size, count, 0];
    // Codes go in reverse order of the prologue.
    for c in codes.iter().rev() {
        out.extend([c.at, c.op | c.info << 4]);
        for e in &c.extra {
            out.extend(e.to_le_bytes());
        }
    }
    if slots % 2 == 1 {
        out.extend([0, 0]);
    }
    Ok(Some(out))
}

//! The compile pipeline of one function, shared by every target: block order → lowering
//! → register allocation (with the optional regalloc2 checker) → frame layout → emission
//! → branch relaxation.

use crate::context::CompileScratch;
use crate::machinst::MachInst;
use crate::machinst::abi::{AbiSpec, Callee};
use crate::machinst::buffer::{FinishedCode, MachBuffer};
use crate::machinst::call::SigCache;
use crate::machinst::lower::{Lower, LowerBackend};
use crate::machinst::vcode::{MachInstEmit, VCode, emit};
use crate::result::{CodegenError, CodegenResult, CompiledCode};
use kiln_ir::Function;
use kiln_ir::analysis::domtree::DominatorTree;
use kiln_ir::settings::RegallocAlgorithm;
use regalloc2::{Algorithm, Function as _, OperandKind, PRegSet, RegallocOptions};

/// Compile `func` with `backend` (and its ABI object), emitting with the encoder `info`.
pub fn compile<B>(
    func: &Function,
    domtree: &DominatorTree,
    backend: &B,
    info: &<B::MInst as MachInstEmit>::Info,
    want_vcode: bool,
    function_alignment: u32,
    scratch: &mut CompileScratch,
) -> CodegenResult<CompiledCode>
where
    B: LowerBackend,
    B::MInst: MachInstEmit,
{
    let abi: &dyn AbiSpec<I = B::MInst> = backend.abi();
    let flags = abi.flags();
    // A try_call whose callee returns through a return area loads those values in its
    // normal-return edge block (the call itself is the block's terminator).
    let sigs = SigCache::new(func, abi);
    scratch.block_order.compute(func, domtree, &|term| sigs.uses_return_area(func, term));
    let callee = Callee::new(func, abi)?;
    let lower = Lower::new(func, abi, callee, sigs, &scratch.block_order);
    let (mut vcode, callee) = lower.lower(backend, &scratch.block_order)?;
    let vcode_text = want_vcode.then(|| vcode.show());

    let env = abi.machine_env();
    let options = RegallocOptions {
        verbose_log: false,
        validate_ssa: flags.enable_verifier() != 0,
        algorithm: match flags.regalloc() {
            RegallocAlgorithm::Backtracking => Algorithm::Ion,
            RegallocAlgorithm::SinglePass => Algorithm::Fastalloc,
        },
    };
    regalloc2::run_with_ctx(&vcode, env, &options, &mut scratch.regalloc).map_err(|e| {
        // With KILN_DEBUG_VCODE set, show the VCode the allocator rejected.
        let listing = if std::env::var_os("KILN_DEBUG_VCODE").is_some() { vcode.show() } else { String::new() };
        CodegenError::Regalloc(format!("{e:?}{listing}"))
    })?;
    let out = &scratch.regalloc.output;
    if flags.regalloc_checker() != 0 {
        let mut checker = regalloc2::checker::Checker::new(&vcode, env);
        checker.prepare(out);
        checker.run().map_err(|e| CodegenError::Regalloc(format!("regalloc2 checker: {e:?}")))?;
    }

    let written = written_regs(&vcode, out);
    let spill_bytes = (out.num_spillslots as u64 * abi.word_bytes() as u64).min(u32::MAX as u64) as u32;
    let frame = abi.compute_frame_layout(&callee.frame_inputs(written, spill_bytes))?;
    let frame_size = frame.frame_below_fp() as u64 + frame.setup_area_size as u64;
    if frame_size > MAX_FRAME {
        return Err(CodegenError::ImplLimitExceeded(format!("a frame of {frame_size} bytes (limit {MAX_FRAME})")));
    }
    let pool = core::mem::take(&mut vcode.constants);
    let mut buf = MachBuffer::new(info.clone());
    emit(&vcode, out, frame, abi, info, pool, &mut buf)?;
    let mut finished = FinishedCode::default();
    buf.finish(&mut finished).map_err(|e| CodegenError::ImplLimitExceeded(e.to_string()))?;
    Ok(CompiledCode {
        buffer: finished,
        frame_size: frame_size as u32,
        vcode: vcode_text,
        disasm: None,
        alignment: function_alignment,
    })
}

/// The largest frame a function may have: stack offsets stay far from any target's
/// displacement limits.
const MAX_FRAME: u64 = 1 << 30;

/// Every physical register the allocated code writes: allocations of defs, the
/// destinations of allocator moves, and the registers non-call instructions clobber. The
/// clobbers of calls are not included: the lowering noted which of them the prologue must
/// save ([`Callee::note_call_clobbers`], per [`AbiSpec::call_clobbers_to_save`]). The
/// target keeps the callee-saved ones in its frame layout.
fn written_regs<I: MachInst>(vcode: &VCode<I>, out: &regalloc2::Output) -> PRegSet {
    let mut set = PRegSet::empty();
    for i in 0..vcode.num_insts() {
        let inst = regalloc2::Inst::new(i);
        if !vcode.insts[i].is_call() {
            set.union_from(vcode.inst_clobbers(inst));
        }
        let ops = vcode.inst_operands(inst);
        for (op, alloc) in ops.iter().zip(out.inst_allocs(inst)) {
            if op.kind() == OperandKind::Def
                && let Some(r) = alloc.as_reg()
            {
                set.add(r);
            }
        }
    }
    for (_, regalloc2::Edit::Move { to, .. }) in &out.edits {
        if let Some(r) = to.as_reg() {
            set.add(r);
        }
    }
    set
}

//! The compile pipeline of one function, shared by every target: block order → lowering
//! → register allocation (with the optional regalloc2 checker) → frame layout → emission
//! → branch relaxation.

use crate::context::CompileScratch;
use crate::machinst::MachInst;
use crate::machinst::abi::{AbiSpec, Callee, call_uses_return_area};
use crate::machinst::buffer::{FinishedCode, MachBuffer};
use crate::machinst::lower::{Lower, LowerBackend};
use crate::machinst::vcode::{MachInstEmit, VCode, emit};
use crate::result::{CodegenError, CodegenResult, CompiledCode};
use kiln_ir::Function;
use kiln_ir::analysis::domtree::DominatorTree;
use kiln_ir::settings::{Flags, RegallocAlgorithm};
use regalloc2::{Algorithm, Function as _, OperandKind, PRegSet, RegallocOptions};

/// Compile `func` with `backend` and ABI `S`.
pub fn compile<B, S>(
    func: &Function,
    domtree: &DominatorTree,
    flags: &Flags,
    backend: &B,
    info: &<B::MInst as MachInstEmit>::Info,
    want_vcode: bool,
    function_alignment: u32,
    scratch: &mut CompileScratch,
) -> CodegenResult<CompiledCode>
where
    B: LowerBackend,
    B::MInst: MachInstEmit,
    S: AbiSpec<I = B::MInst>,
{
    // A try_call whose callee returns through a return area loads those values in its
    // normal-return edge block (the call itself is the block's terminator).
    scratch.block_order.compute(func, domtree, &|term| call_uses_return_area::<S>(func, term, flags));
    let abi = Callee::new::<S>(func, flags)?;
    let lower = Lower::new(func, flags, abi, &scratch.block_order);
    let (mut vcode, abi) = lower.lower(backend, &scratch.block_order)?;
    let vcode_text = want_vcode.then(|| vcode.show());

    let env = S::machine_env(flags);
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

    let clobbered = clobbered_regs(&vcode, out);
    let frame = abi.frame_layout::<S>(flags, clobbered, out.num_spillslots, 8);
    let frame_size = frame.frame_below_fp() + frame.setup_area_size;
    let pool = core::mem::take(&mut vcode.constants);
    let mut buf = MachBuffer::new(info.clone());
    emit::<B::MInst, S>(&vcode, out, frame, info, pool, &mut buf)?;
    let mut finished = FinishedCode::default();
    buf.finish(&mut finished).map_err(|e| CodegenError::ImplLimitExceeded(e.to_string()))?;
    Ok(CompiledCode { buffer: finished, frame_size, vcode: vcode_text, disasm: None, alignment: function_alignment })
}

/// Every physical register the allocated code writes: allocations of defs, the
/// destinations of allocator moves, and the registers instructions clobber. Call clobbers
/// matter when the callee's convention clobbers a register the function's own convention
/// must preserve (a `windows_fastcall` function calling a `system_v` one clobbers `rsi`,
/// `rdi` and `xmm6`–`xmm15`), and a `try_call` clobbers everything (frames unwound by an
/// exception do not restore what they saved), so a function containing one saves all its
/// callee-saved registers. The frame layout keeps only the callee-saved ones.
fn clobbered_regs<I: MachInst>(vcode: &VCode<I>, out: &regalloc2::Output) -> PRegSet {
    let mut set = PRegSet::empty();
    for i in 0..vcode.num_insts() {
        let inst = regalloc2::Inst::new(i);
        set.union_from(vcode.inst_clobbers(inst));
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

//! Object files for aarch64 and riscv64: the program of `object_x64.rs` (a greeting printed
//! with `puts`, a counter in `.bss`, a table of addresses in `.data.rel.ro`, a call through
//! a function pointer, a local and an exported function) written as ELF for each target,
//! linked by Debian's cross `gcc` and run under `qemu-user`; `objdump` must agree with
//! Kiln's own printer and `llvm-dwarfdump --verify` must find no errors.
//!
//! Limit: these targets have their instruction layers but no lowering yet, so the
//! functions are built from machine instructions directly (Kiln's encoders, printers and
//! relocation records), then given to `ObjectModule::define_compiled` as compiled code; a
//! stand-in `TargetIsa` only names the target. riscv64 has no call instruction in its
//! layer yet: calls are `auipc ra` + `jalr ra` words with an `R_RISCV_CALL_PLT` relocation,
//! as its lowering will emit them. Once `kiln_isa::lookup` offers these targets, the
//! program of `object_x64.rs` is compiled for them as well, by
//! `compiled_program_links_and_runs_under_qemu`: until then that test checks that the
//! target is reported as unsupported, and it starts linking and running the compiled
//! program the day a backend answers.

mod common;
mod program;

use common::*;
use kiln_codegen::machinst::buffer::{FinishedCode, MachBuffer, Reloc, RelocTarget};
use kiln_codegen::machinst::unwind::UnwindInst;
use kiln_codegen::machinst::{Reg, Writable};
use kiln_codegen::{CodegenError, CodegenResult, CompiledCode, TargetIsa};
use kiln_ir::settings::{Arch, Flags, IsaFlags, TargetSpec};
use kiln_ir::signature::{AbiParam, CallConv, Signature};
use kiln_ir::types::I64;
use kiln_module::{DebugSource, FuncId, Linkage, Module, ObjectModule};
use std::collections::BTreeMap;
use std::path::Path;

/// A target that only names itself: code for it is built by hand.
struct HandBuilt {
    spec: TargetSpec,
    flags: Flags,
}

impl TargetIsa for HandBuilt {
    fn name(&self) -> &'static str {
        "hand-built"
    }
    fn triple(&self) -> &target_lexicon::Triple {
        &self.spec.triple
    }
    fn flags(&self) -> &Flags {
        &self.flags
    }
    fn isa_flags(&self) -> &IsaFlags {
        &self.spec.isa_flags
    }
    fn default_call_conv(&self) -> CallConv {
        CallConv::SystemV
    }
    fn compile_function(
        &self,
        _: &kiln_ir::Function,
        _: &kiln_ir::analysis::domtree::DominatorTree,
        _: bool,
        _: &mut kiln_codegen::context::CompileScratch,
    ) -> CodegenResult<CompiledCode> {
        Err(CodegenError::Unsupported("no lowering for this target yet: code is built by hand".into()))
    }
    fn function_alignment(&self) -> u32 {
        4
    }
}

/// Compiled code from a finished buffer, and Kiln's listing of it: offset → the mnemonic
/// its printer starts the instruction with.
struct Built {
    code: CompiledCode,
    listing: BTreeMap<u64, String>,
}

fn sig(params: usize, returns: usize) -> Signature {
    let mut s = Signature::new(CallConv::SystemV);
    s.params.extend((0..params).map(|_| AbiParam::new(I64)));
    s.returns.extend((0..returns).map(|_| AbiParam::new(I64)));
    s
}

fn name(s: &str) -> RelocTarget {
    RelocTarget::TestCase(s.into())
}

mod a64 {
    use super::*;
    use kiln_isa::aarch64::emit::{EmitInfo, EmitState};
    use kiln_isa::aarch64::imms::Imm12;
    use kiln_isa::aarch64::inst::*;
    use kiln_isa::aarch64::print::print_inst;
    use kiln_isa::aarch64::regs::{fp_reg, link_reg, stack_reg, writable_xreg, xreg, xreg_preg};

    /// Emit `insts`; after the instruction at index `k`, the unwind records `after[k]`
    /// (an `EpilogueStart` comes after the last instruction of the body).
    fn build(insts: &[Inst], after: &[(usize, UnwindInst)]) -> Built {
        let info = EmitInfo::new(Flags::new(), IsaFlags::new(Arch::Aarch64));
        let mut buf = MachBuffer::new(info.clone());
        let mut state = EmitState::default();
        let mut listing = BTreeMap::new();
        for (k, i) in insts.iter().enumerate() {
            let text = print_inst(i);
            listing.insert(buf.data_len() as u64, text.split_whitespace().next().unwrap().to_string());
            i.emit(&mut buf, &info, &mut state).unwrap_or_else(|e| panic!("{i:?}: {e}"));
            for &(_, u) in after.iter().filter(|(at, _)| *at == k) {
                buf.add_unwind(u);
            }
        }
        let mut out = FinishedCode::default();
        buf.finish(&mut out).unwrap();
        Built { code: CompiledCode { buffer: out, alignment: 4, ..Default::default() }, listing }
    }

    fn ext(rd: u8, n: &str, offset: i64) -> Inst {
        Inst::LoadExtName { rd: writable_xreg(rd), name: Box::new(name(n)), offset }
    }
    fn ldr(rd: u8, rn: Reg, off: u32) -> Inst {
        Inst::Load { op: LoadOp::LdrX, rd: writable_xreg(rd), mem: AMode::UnsignedOffset { rn, off }, trap: None }
    }
    fn str_(rt: u8, rn: Reg, off: u32) -> Inst {
        Inst::Store { op: StoreOp::StrX, rt: xreg(rt), mem: AMode::UnsignedOffset { rn, off }, trap: None }
    }

    /// `twice(x) = x + x` and `main`.
    pub fn program() -> (Built, Built) {
        let x = |n| xreg(n);
        let twice = build(
            &[
                Inst::AluRRR { op: ALUOp::Add, size: OperandSize::Size64, rd: writable_xreg(0), rn: x(0), rm: x(0) },
                Inst::Ret,
            ],
            &[],
        );
        // The frame: fp and lr pushed 32 bytes down, fp set, x19 saved at CFA - 16.
        let frame = [
            (0, UnwindInst::PushFrameRegs { offset_upward_to_caller_sp: 32 }),
            (1, UnwindInst::DefineNewFrame { offset_upward_to_caller_sp: 32 }),
            (2, UnwindInst::SaveReg { reg: xreg_preg(19), offset_down_from_cfa: 16, size: 8 }),
            (14, UnwindInst::EpilogueStart),
            (16, UnwindInst::FrameRestored { offset_upward_to_caller_sp: 0 }),
            (17, UnwindInst::EpilogueEnd),
        ];
        let main = build(
            &[
                Inst::StorePair {
                    op: PairOp::X,
                    rt: fp_reg(),
                    rt2: link_reg(),
                    mem: PairAMode::PreIndexed { rn: stack_reg(), off: -32 },
                    trap: None,
                },
                Inst::Mov { size: OperandSize::Size64, rd: Writable::from_reg(fp_reg()), rm: stack_reg() },
                str_(19, stack_reg(), 16),
                ext(0, "greeting", 0),
                Inst::Bl { name: Box::new(name("puts")) },
                ext(19, "table", 0),
                ldr(0, x(19), 8),
                Inst::Bl { name: Box::new(name("puts")) },
                ext(1, "counter", 0),
                ldr(0, x(1), 0),
                Inst::AluRRImm12 {
                    op: ALUOp::Add,
                    size: OperandSize::Size64,
                    rd: writable_xreg(0),
                    rn: x(0),
                    imm12: Imm12::maybe_from_u64(5).unwrap(),
                },
                str_(0, x(1), 0),
                ldr(9, x(19), 0),
                Inst::Blr { rn: x(9) },
                Inst::Bl { name: Box::new(name("twice")) },
                ldr(19, stack_reg(), 16),
                Inst::LoadPair {
                    op: PairOp::X,
                    rt: Writable::from_reg(fp_reg()),
                    rt2: Writable::from_reg(link_reg()),
                    mem: PairAMode::PostIndexed { rn: stack_reg(), off: 32 },
                    trap: None,
                },
                Inst::Ret,
            ],
            &frame,
        );
        (twice, main)
    }
}

mod rv64 {
    use super::*;
    use kiln_isa::riscv64::emit::{EmitInfo, EmitState};
    use kiln_isa::riscv64::inst::*;
    use kiln_isa::riscv64::print::print_inst;
    use kiln_isa::riscv64::regs::{writable_xreg, x_preg, xreg};

    const RA: u8 = 1;
    const SP: u8 = 2;
    const T0: u8 = 5;
    const S1: u8 = 9;
    const A0: u8 = 10;
    const A1: u8 = 11;

    /// An instruction, a call (`auipc ra, 0; jalr ra, 0(ra)` relocated as a pair), or an
    /// unwind record about the instruction before it.
    enum Item {
        I(Inst),
        Call(&'static str),
        U(UnwindInst),
    }

    fn build(items: &[Item]) -> Built {
        let info = EmitInfo::new(Flags::new(), IsaFlags::new(Arch::Riscv64));
        let mut buf = MachBuffer::new(info.clone());
        let mut state = EmitState::default();
        let mut listing = BTreeMap::new();
        for item in items {
            match item {
                Item::I(i) => {
                    let text = print_inst(i);
                    let at = buf.data_len() as u64;
                    match text.split_whitespace().next().unwrap() {
                        // The printer writes the pair as the assembler's pseudo-instruction.
                        "lla" => {
                            listing.insert(at, "auipc".into());
                            listing.insert(at + 4, "addi".into());
                        }
                        m => {
                            listing.insert(at, m.to_string());
                        }
                    }
                    i.emit(&mut buf, &info, &mut state).unwrap_or_else(|e| panic!("{i:?}: {e}"));
                }
                Item::Call(target) => {
                    listing.insert(buf.data_len() as u64, "auipc".into());
                    buf.add_reloc(Reloc::RiscvCallPlt, name(target), 0);
                    buf.put4(0x0000_0097); // auipc ra, 0
                    listing.insert(buf.data_len() as u64, "jalr".into());
                    buf.put4(0x0000_80e7); // jalr ra, 0(ra)
                }
                Item::U(u) => buf.add_unwind(*u),
            }
        }
        let mut out = FinishedCode::default();
        buf.finish(&mut out).unwrap();
        Built { code: CompiledCode { buffer: out, alignment: 4, ..Default::default() }, listing }
    }

    fn addi(rd: u8, rs: u8, imm: i32) -> Item {
        Item::I(Inst::AluRRImm { op: AluOpRRI::Addi, rd: writable_xreg(rd), rs: xreg(rs), imm })
    }
    fn ld(rd: u8, base: u8, off: i64) -> Item {
        Item::I(Inst::Load {
            op: LoadOp::Ld,
            rd: writable_xreg(rd),
            from: AMode::RegOffset(xreg(base), off),
            trap: None,
        })
    }
    fn sd(src: u8, base: u8, off: i64) -> Item {
        Item::I(Inst::Store { op: StoreOp::Sd, src: xreg(src), to: AMode::RegOffset(xreg(base), off), trap: None })
    }
    fn ext(rd: u8, n: &str) -> Item {
        Item::I(Inst::LoadExtName { rd: writable_xreg(rd), name: name(n), offset: 0 })
    }
    fn ret() -> Item {
        Item::I(Inst::Jalr { rd: writable_xreg(0), base: xreg(RA), offset: 0 })
    }

    /// `twice(x) = x + x` and `main`.
    pub fn program() -> (Built, Built) {
        let twice = build(&[
            Item::I(Inst::AluRRR { op: AluOpRRR::Add, rd: writable_xreg(A0), rs1: xreg(A0), rs2: xreg(A0) }),
            ret(),
        ]);
        let main = build(&[
            addi(SP, SP, -32),
            Item::U(UnwindInst::StackAlloc { size: 32 }),
            sd(RA, SP, 24),
            Item::U(UnwindInst::SaveReg { reg: x_preg(RA), offset_down_from_cfa: 8, size: 8 }),
            sd(S1, SP, 16),
            Item::U(UnwindInst::SaveReg { reg: x_preg(S1), offset_down_from_cfa: 16, size: 8 }),
            ext(A0, "greeting"),
            Item::Call("puts"),
            ext(S1, "table"),
            ld(A0, S1, 8),
            Item::Call("puts"),
            ext(A1, "counter"),
            ld(A0, A1, 0),
            addi(A0, A0, 5),
            sd(A0, A1, 0),
            ld(T0, S1, 0),
            Item::I(Inst::Jalr { rd: writable_xreg(RA), base: xreg(T0), offset: 0 }),
            Item::Call("twice"),
            Item::U(UnwindInst::EpilogueStart),
            ld(S1, SP, 16),
            ld(RA, SP, 24),
            addi(SP, SP, 32),
            Item::U(UnwindInst::FrameRestored { offset_upward_to_caller_sp: 0 }),
            ret(),
            Item::U(UnwindInst::EpilogueEnd),
        ]);
        (twice, main)
    }
}

/// The program as an object file for `triple`, from the two hand-built functions.
fn object(triple: &str, twice: CompiledCode, main: CompiledCode) -> Vec<u8> {
    let isa = HandBuilt { spec: TargetSpec::parse(triple, &[]).unwrap(), flags: Flags::new() };
    let mut m = ObjectModule::new(Box::new(isa)).unwrap();
    m.set_debug_source(DebugSource::new("hand-built.s"));
    let tw: FuncId = m.declare_function("twice", Linkage::Local, &sig(1, 1)).unwrap();
    let mn = m.declare_function("main", Linkage::Export, &sig(0, 1)).unwrap();
    m.declare_function("puts", Linkage::Import, &sig(1, 1)).unwrap();
    program_data(&mut m, tw);
    m.define_compiled(tw, twice).unwrap();
    m.define_compiled(mn, main).unwrap();
    m.finish().unwrap().emit().unwrap()
}

/// Every instruction start in Kiln's listing shows the same mnemonic in `objdump -d`.
fn check_listing(dump: &str, func: &str, listing: &BTreeMap<u64, String>) {
    let mut base = None;
    let mut seen = BTreeMap::new();
    for l in dump.lines() {
        if l.ends_with(&format!("<{func}>:")) {
            base = u64::from_str_radix(l.split_whitespace().next().unwrap(), 16).ok();
            continue;
        }
        let Some((off, ins)) = l.split_once(':') else { continue };
        let Ok(off) = u64::from_str_radix(off.trim(), 16) else { continue };
        if let Some(m) = ins.split_whitespace().next() {
            seen.insert(off, m.to_string());
        }
    }
    let base = base.unwrap_or_else(|| panic!("objdump shows no {func}:\n{dump}"));
    for (off, m) in listing {
        let theirs = seen
            .get(&(base + off))
            .unwrap_or_else(|| panic!("{func}+{off:#x}: objdump has no instruction there:\n{dump}"));
        assert_eq!(theirs.trim_start_matches("c."), m, "{func}+{off:#x}");
    }
}

/// Link `obj` with the cross gcc (`extra` flags first) and run it under qemu.
fn link_and_run(arch: &str, obj: &Path, dir: &Path, extra: &[&str]) {
    let gcc = tool(&[&format!("{arch}-linux-gnu-gcc")], &format!("gcc-{arch}-linux-gnu"));
    let qemu = tool(&[&format!("qemu-{arch}")], "qemu-user");
    let exe = dir.join(format!("prog-{arch}"));
    let mut args = extra.to_vec();
    args.extend([s(obj), "-o", s(&exe)]);
    run(&gcc, &args);
    let sysroot = format!("/usr/{arch}-linux-gnu");
    let (code, out, err) = run_status(&qemu, &["-L", &sysroot, s(&exe)]);
    assert_eq!((code, out.as_str()), (20, "Hello from Kiln\nello from Kiln\n"), "{arch}: stderr: {err}");
}

/// `readelf` reads the `.eh_frame` of `obj` without a complaint: one CIE, an FDE for each
/// of its `funcs` functions, their starts relocated PC-relatively.
fn check_frames(arch: &str, obj: &Path, funcs: usize) {
    let (code, frames, err) = run_status("readelf", &["--debug-dump=frames", s(obj)]);
    assert_eq!((code, err.as_str()), (0, ""), "{arch}: readelf --debug-dump=frames:\n{frames}");
    assert_eq!(frames.matches(" CIE").count(), 1, "{arch}: {frames}");
    assert_eq!(frames.matches(" FDE ").count(), funcs, "{arch}: {frames}");
    let relocs = run("readelf", &["-rW", s(obj)]);
    let pcrel = if arch == "aarch64" { "R_AARCH64_PREL32" } else { "R_RISCV_32_PCREL" };
    assert!(relocs.contains(".rela.eh_frame") && relocs.contains(pcrel), "{arch}: {relocs}");
}

fn check_target(arch: &str, triple: &str, (twice, main): (Built, Built)) {
    let dir = scratch(&format!("cross-{arch}"));
    let obj = dir.join(format!("prog-{arch}.o"));
    std::fs::write(&obj, object(triple, twice.code, main.code)).unwrap();
    let objdump = tool(&[&format!("{arch}-linux-gnu-objdump")], &format!("binutils-{arch}-linux-gnu"));
    // Kiln's printer writes every instruction by its own name: no aliases (`ret`, `mv`).
    let mut args = vec!["-d", "-w", "--no-show-raw-insn"];
    if arch == "riscv64" {
        args.extend(["-M", "no-aliases"]);
    }
    args.push(s(&obj));
    let dump = run(&objdump, &args);
    check_listing(&dump, "twice", &twice.listing);
    check_listing(&dump, "main", &main.listing);
    let relocs = run("readelf", &["-rW", s(&obj)]);
    let want: &[&str] = match arch {
        "aarch64" => {
            &["R_AARCH64_ADR_PREL_PG_HI21", "R_AARCH64_ADD_ABS_LO12_NC", "R_AARCH64_CALL26", "R_AARCH64_ABS64"]
        }
        _ => &["R_RISCV_PCREL_HI20", "R_RISCV_PCREL_LO12_I", "R_RISCV_CALL_PLT", "R_RISCV_64"],
    };
    for w in want {
        assert!(relocs.contains(w), "{arch}: no {w}:\n{relocs}");
    }
    dwarf_verify(&obj);
    check_frames(arch, &obj, 2);
    // The FDE of `main` replays its records: the frame registers pushed and the CFA on the
    // frame pointer (aarch64), or the stack allocated and ra and s1 saved (riscv64).
    let frames = run("readelf", &["--debug-dump=frames", s(&obj)]);
    let want: &[&str] = match arch {
        "aarch64" => &[
            "DW_CFA_def_cfa_offset: 32",
            "DW_CFA_offset: r29 (x29) at cfa-32",
            "DW_CFA_def_cfa: r29 (x29) ofs 32",
            "DW_CFA_offset: r19 (x19) at cfa-16",
        ],
        _ => &["DW_CFA_def_cfa_offset: 32", "DW_CFA_offset: r1 (ra) at cfa-8", "DW_CFA_offset: r9 (s1) at cfa-16"],
    };
    for w in want {
        assert!(frames.contains(w), "{arch}: no `{w}`:\n{frames}");
    }
    link_and_run(arch, &obj, &dir, &[]);
}

#[test]
fn aarch64_elf_links_and_runs_under_qemu() {
    check_target("aarch64", "aarch64-unknown-linux-gnu", a64::program());
}

#[test]
fn riscv64_elf_links_and_runs_under_qemu() {
    check_target("riscv64", "riscv64gc-unknown-linux-gnu", rv64::program());
}

/// Mach-O for aarch64: relocations of the right kinds, DWARF that verifies.
#[test]
fn aarch64_macho_is_well_formed() {
    let dir = scratch("cross-macho");
    let (twice, main) = a64::program();
    let obj = dir.join("prog.macho.o");
    std::fs::write(&obj, object("aarch64-apple-darwin", twice.code, main.code)).unwrap();
    let relocs = run(&llvm_objdump(), &["-r", s(&obj)]);
    for w in ["ARM64_RELOC_PAGE21", "ARM64_RELOC_PAGEOFF12", "ARM64_RELOC_BRANCH26", "ARM64_RELOC_UNSIGNED"] {
        assert!(relocs.contains(w), "no {w}:\n{relocs}");
    }
    assert!(relocs.contains("_puts"), "{relocs}");
    dwarf_verify(&obj);
    let (code, frames, err) = run_status(&llvm_dwarfdump(), &["--eh-frame", s(&obj)]);
    assert_eq!((code, err.as_str()), (0, ""), "{frames}");
    assert_eq!(frames.matches(" FDE ").count(), 2, "{frames}");
    assert!(frames.contains("DW_CFA_def_cfa: W29 +32"), "{frames}");
}

/// Targets Kiln cannot write objects for say so.
#[test]
fn unsupported_formats_are_errors() {
    for triple in ["riscv64gc-apple-darwin", "aarch64-pc-windows-msvc", "riscv64gc-pc-windows-msvc"] {
        let isa = HandBuilt { spec: TargetSpec::parse(triple, &[]).unwrap(), flags: Flags::new() };
        let e = ObjectModule::new(Box::new(isa)).err().unwrap_or_else(|| panic!("{triple} accepted"));
        assert!(e.to_string().starts_with("unsupported:"), "{triple}: {e}");
    }
}

/// The program of `object_x64.rs`, compiled by Kiln's backend for each target, linked by
/// the cross gcc (position-independent and not) and run under qemu — as soon as
/// `kiln_isa::lookup` has the target; until then the lookup must say it is unsupported.
#[test]
fn compiled_program_links_and_runs_under_qemu() {
    for (arch, triple) in [("aarch64", "aarch64-unknown-linux-gnu"), ("riscv64", "riscv64gc-unknown-linux-gnu")] {
        let dir = scratch(&format!("compiled-{arch}"));
        for (tag, flags, link) in [("nopic", &["is_pic=0"][..], &["-no-pie"][..]), ("pic", &["is_pic=1"][..], &[][..])]
        {
            let (bytes, _) = match program::build(triple, flags) {
                Ok(b) => b,
                Err(e) => {
                    assert!(e.starts_with("unsupported: no backend"), "{arch}: {e}");
                    eprintln!("{arch}: no backend in this build yet ({e}); the compiled program is not checked");
                    continue;
                }
            };
            let obj = dir.join(format!("prog-{tag}.o"));
            std::fs::write(&obj, bytes).unwrap();
            dwarf_verify(&obj);
            check_frames(arch, &obj, 2);
            link_and_run(arch, &obj, &dir, link);
        }
    }
}

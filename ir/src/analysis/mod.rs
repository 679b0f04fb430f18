//! Analyses of a function's control flow: the [`ControlFlowGraph`], the [`DominatorTree`]
//! and the [`LoopAnalysis`].
//!
//! Each analysis is a reusable object: `compute` recomputes it for a (possibly different)
//! function while keeping its allocations, `clear` invalidates it, and `is_valid` tells
//! whether it is up to date with the last computation. They depend on each other in this
//! order: CFG ← dominator tree ← loops; a later one must be recomputed when an earlier one
//! changes. Queries never panic, whatever block they are asked about.

pub mod cfg;
pub mod domtree;
pub mod loops;

pub use cfg::{BlockPredecessor, ControlFlowGraph};
pub use domtree::{DominatorTree, ProgramPoint};
pub use loops::{Loop, LoopAnalysis, LoopData};

/// Helpers that build small functions with a given block graph, shared by the analysis
/// tests.
#[cfg(test)]
pub(crate) mod tests {
    use crate::entities::{Block, Inst, Value};
    use crate::entity::EntityRef;
    use crate::extname::{ExtFuncData, ExternalName};
    use crate::function::Function;
    use crate::immediates::Imm64;
    use crate::instructions::{ExceptionItem, ExceptionTableData, InstructionData, JumpTableData, ValueList};
    use crate::opcodes::Opcode;
    use crate::signature::{CallConv, Signature};
    use crate::types;

    /// Builds a function with `n` blocks (all in the layout, in numeric order) whose
    /// terminators are added one by one.
    pub(crate) struct FuncBuilder {
        pub func: Function,
    }

    impl FuncBuilder {
        pub fn new(n: usize) -> Self {
            let mut func = Function::new();
            for _ in 0..n {
                let b = func.dfg.make_block();
                func.layout.append_block(b);
            }
            FuncBuilder { func }
        }

        fn add(&mut self, block: usize, data: InstructionData, ctrl: types::Type) -> Inst {
            let inst = self.func.dfg.make_inst(data);
            self.func.dfg.make_inst_results(inst, ctrl).unwrap();
            self.func.layout.append_inst(inst, Block::new(block));
            inst
        }

        /// `iconst.i32 0` in `block`.
        pub fn iconst(&mut self, block: usize) -> Inst {
            self.add(block, InstructionData::UnaryImm { opcode: Opcode::Iconst, imm: Imm64(0) }, types::I32)
        }

        fn cond(&mut self, block: usize) -> Value {
            let c = self.iconst(block);
            self.func.dfg.first_result(c).unwrap()
        }

        pub fn jump(&mut self, from: usize, to: usize) -> Inst {
            let destination = self.func.dfg.block_call(Block::new(to), &[]);
            self.add(from, InstructionData::Jump { opcode: Opcode::Jump, destination }, types::INVALID)
        }

        pub fn brif(&mut self, from: usize, then: usize, els: usize) -> Inst {
            let arg = self.cond(from);
            let t = self.func.dfg.block_call(Block::new(then), &[]);
            let e = self.func.dfg.block_call(Block::new(els), &[]);
            self.add(from, InstructionData::Brif { opcode: Opcode::Brif, arg, blocks: [t, e] }, types::I32)
        }

        pub fn br_table(&mut self, from: usize, default: usize, entries: &[usize]) -> Inst {
            let arg = self.cond(from);
            let d = self.func.dfg.block_call(Block::new(default), &[]);
            let e: Vec<_> = entries.iter().map(|&t| self.func.dfg.block_call(Block::new(t), &[])).collect();
            let table = self.func.dfg.jump_tables.push(JumpTableData::new(d, &e));
            self.add(from, InstructionData::BranchTable { opcode: Opcode::BrTable, arg, table }, types::INVALID)
        }

        /// `try_call` of a `system_v` function with a normal target and one `tag` handler
        /// per entry of `handlers`.
        pub fn try_call(&mut self, from: usize, normal: usize, handlers: &[usize]) -> Inst {
            let sig = self.func.import_signature(Signature::new(CallConv::SystemV));
            let func_ref = self.func.import_function(ExtFuncData {
                name: ExternalName::TestCase("callee".into()),
                signature: sig,
                colocated: false,
                patchable: false,
            });
            let n = self.func.dfg.block_call(Block::new(normal), &[]);
            let h: Vec<_> = handlers.iter().map(|&t| self.func.dfg.block_call(Block::new(t), &[])).collect();
            let items = (0..handlers.len() as u32).map(ExceptionItem::Tag).collect();
            let exception = self.func.dfg.exception_tables.push(ExceptionTableData::new(sig, n, items, &h));
            let data =
                InstructionData::TryCall { opcode: Opcode::TryCall, func_ref, args: ValueList::new(), exception };
            self.add(from, data, types::INVALID)
        }

        pub fn ret(&mut self, block: usize) -> Inst {
            let data = InstructionData::MultiAry { opcode: Opcode::Return, args: ValueList::new() };
            self.add(block, data, types::INVALID)
        }

        pub fn finish(self) -> Function {
            self.func
        }
    }

    /// A deterministic pseudo-random function of `n` blocks: each block ends in a return, a
    /// jump, a `brif` or a `br_table` to random blocks (possibly the entry, possibly itself).
    pub(crate) fn random_cfg(seed: u64, n: usize) -> Function {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut b = FuncBuilder::new(n);
        for i in 0..n {
            let pick = |r: u64| (r % n as u64) as usize;
            match next() % 8 {
                0 => {
                    b.ret(i);
                }
                1..=3 => {
                    let t = pick(next());
                    b.jump(i, t);
                }
                4..=6 => {
                    let (t, e) = (pick(next()), pick(next()));
                    b.brif(i, t, e);
                }
                _ => {
                    let d = pick(next());
                    let entries: Vec<usize> = (0..next() % 4).map(|_| pick(next())).collect();
                    b.br_table(i, d, &entries);
                }
            }
        }
        b.finish()
    }
}

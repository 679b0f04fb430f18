//! The instruction builder: one typed method per opcode, generated from the opcode table.
//!
//! [`InstBuilder`] is implemented for every [`InstBuilderBase`]: a builder only has to say how
//! an [`InstructionData`] becomes an instruction (where it goes in the layout, how its results
//! are made, what is checked). The methods are derived from the rows of
//! [`opcodes`](crate::opcodes) by the `opcode_table!` macro, so adding a row adds a method:
//!
//! - the operands follow the instruction format (`iadd(x, y)`, `load(ty, flags, p, offset)`,
//!   `brif(c, block_then, args_then, block_else, args_else)`, `call(func_ref, args)`, …);
//! - polymorphic opcodes whose controlling type cannot be inferred from an operand take it
//!   as their first argument (`iconst(ty, imm)`, `uextend(ty, x)`, `load(ty, …)`);
//! - the return value follows the result count: an [`Inst`] for none (and for calls, whose
//!   results come from the signature — read them with `dfg.inst_results(inst)`), a
//!   [`Value`] for one, a pair for two.
//!
//! The method for `return` is `return_` (a Rust keyword); every other method has the
//! opcode's text name. Below the per-opcode methods, one method per instruction format
//! (`binary(opcode, ctrl, x, y)`, …) builds any opcode of that format.
//!
//! Memory flags are interned per function ([`InstBuilderBase::intern_mem_flags`]): the
//! instruction data stays 16 bytes.

use crate::condcodes::{FloatCC, IntCC};
use crate::dfg::DataFlowGraph;
use crate::entities::*;
use crate::entity::Reserved;
use crate::immediates::{Ieee16, Ieee32, Ieee64, Imm64, Offset32};
use crate::instructions::{AtomicRmwOp, BlockCall, InstructionData, ValueList};
use crate::memflags::{MemFlags, MemFlagsId};
use crate::opcodes::{Opcode, opcode_table};
use crate::trapcode::TrapCode;
use crate::types::{self, Type};

/// What an instruction builder must provide; [`InstBuilder`] does the rest.
pub trait InstBuilderBase<'f>: Sized {
    /// The data-flow graph instructions are built in.
    fn data_flow_graph(&self) -> &DataFlowGraph;

    /// The data-flow graph, mutably (to make value lists and block calls for operands).
    fn data_flow_graph_mut(&mut self) -> &mut DataFlowGraph;

    /// Intern memory flags for a memory instruction. Implementations report the
    /// 65,536-entry limit in their own way (the `FunctionBuilder` records an error).
    fn intern_mem_flags(&mut self, flags: MemFlags) -> MemFlagsId;

    /// Insert the instruction `data` and create its results. `ctrl_typevar` is the
    /// controlling type for polymorphic opcodes whose type is not inferred from an operand,
    /// and [`types::INVALID`] otherwise (the builder infers it or the opcode is
    /// monomorphic). Implementations must create every result the opcode (or the call's
    /// signature) defines, so that the typed methods can return them.
    fn build(self, data: InstructionData, ctrl_typevar: Type) -> (Inst, &'f mut DataFlowGraph);
}

/// The results of a built instruction, as the typed methods return them.
pub trait InstResults: Sized {
    /// Extract the results of `inst`.
    fn from_results(inst: Inst, dfg: &DataFlowGraph) -> Self;
}

impl InstResults for Inst {
    fn from_results(inst: Inst, _: &DataFlowGraph) -> Self {
        inst
    }
}

impl InstResults for Value {
    /// The first result; a builder that failed to make it yields the reserved value, which
    /// every later check rejects.
    fn from_results(inst: Inst, dfg: &DataFlowGraph) -> Self {
        dfg.try_inst_results(inst).and_then(|r| r.first().copied()).unwrap_or(Value::RESERVED)
    }
}

impl InstResults for (Value, Value) {
    fn from_results(inst: Inst, dfg: &DataFlowGraph) -> Self {
        let r = dfg.try_inst_results(inst).unwrap_or(&[]);
        (r.first().copied().unwrap_or(Value::RESERVED), r.get(1).copied().unwrap_or(Value::RESERVED))
    }
}

/// The Rust type a method returns for a result-constraint list.
macro_rules! results_ty {
    ([]) => {
        Inst
    };
    ([$a:tt]) => {
        Value
    };
    ([$a:tt, $b:tt]) => {
        (Value, Value)
    };
}

/// One `InstBuilder` method per table row.
macro_rules! inst_method {
    // Does the method take the controlling type?
    (@row $variant:ident $method:ident $format:ident MONO _ $res:tt) => {
        inst_method!(@f $format $variant $method [] (types::INVALID) $res);
    };
    (@row $variant:ident $method:ident $format:ident $ctrl:ident _ $res:tt) => {
        inst_method!(@f $format $variant $method [ty: Type,] (ty) $res);
    };
    (@row $variant:ident $method:ident $format:ident $ctrl:ident $infer:literal $res:tt) => {
        inst_method!(@f $format $variant $method [] (types::INVALID) $res);
    };

    (@emit $format:ident $method:ident [$($p:tt)*] $ctrl:tt $res:tt, $self_:ident => $data:block) => {
        #[doc = concat!("Build a `", crate::opcodes::opcode_name!($method), "` instruction (format `",
            stringify!($format), "`).")]
        #[allow(clippy::too_many_arguments)]
        fn $method(mut self, $($p)*) -> results_ty!($res) {
            let $self_ = &mut self;
            let data = $data;
            let (inst, dfg) = self.build(data, $ctrl);
            InstResults::from_results(inst, dfg)
        }
    };

    (@f NullAry $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit NullAry $m [$($t)*] $c $r, _s => { InstructionData::NullAry { opcode: Opcode::$v } });
    };
    (@f Unary $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit Unary $m [$($t)* x: Value] $c $r, _s => {
            InstructionData::Unary { opcode: Opcode::$v, arg: x }
        });
    };
    (@f UnaryImm $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit UnaryImm $m [$($t)* imm: impl Into<Imm64>] $c $r, _s => {
            InstructionData::UnaryImm { opcode: Opcode::$v, imm: imm.into() }
        });
    };
    (@f UnaryIeee16 $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit UnaryIeee16 $m [$($t)* imm: impl Into<Ieee16>] $c $r, _s => {
            InstructionData::UnaryIeee16 { opcode: Opcode::$v, imm: imm.into() }
        });
    };
    (@f UnaryIeee32 $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit UnaryIeee32 $m [$($t)* imm: impl Into<Ieee32>] $c $r, _s => {
            InstructionData::UnaryIeee32 { opcode: Opcode::$v, imm: imm.into() }
        });
    };
    (@f UnaryIeee64 $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit UnaryIeee64 $m [$($t)* imm: impl Into<Ieee64>] $c $r, _s => {
            InstructionData::UnaryIeee64 { opcode: Opcode::$v, imm: imm.into() }
        });
    };
    (@f UnaryConst $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit UnaryConst $m [$($t)* constant: Constant] $c $r, _s => {
            InstructionData::UnaryConst { opcode: Opcode::$v, constant }
        });
    };
    (@f UnaryGlobalValue $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit UnaryGlobalValue $m [$($t)* global_value: GlobalValue] $c $r, _s => {
            InstructionData::UnaryGlobalValue { opcode: Opcode::$v, global_value }
        });
    };
    (@f Binary $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit Binary $m [$($t)* x: Value, y: Value] $c $r, _s => {
            InstructionData::Binary { opcode: Opcode::$v, args: [x, y] }
        });
    };
    (@f BinaryImm8 $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit BinaryImm8 $m [$($t)* x: Value, imm: u8] $c $r, _s => {
            InstructionData::BinaryImm8 { opcode: Opcode::$v, arg: x, imm }
        });
    };
    (@f Ternary $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit Ternary $m [$($t)* x: Value, y: Value, z: Value] $c $r, _s => {
            InstructionData::Ternary { opcode: Opcode::$v, args: [x, y, z] }
        });
    };
    (@f TernaryImm8 $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit TernaryImm8 $m [$($t)* x: Value, y: Value, imm: u8] $c $r, _s => {
            InstructionData::TernaryImm8 { opcode: Opcode::$v, args: [x, y], imm }
        });
    };
    (@f MultiAry $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit MultiAry $m [$($t)* args: &[Value]] $c $r, s => {
            let args = ValueList::from_slice(args, &mut s.data_flow_graph_mut().value_lists);
            InstructionData::MultiAry { opcode: Opcode::$v, args }
        });
    };
    (@f Shuffle $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit Shuffle $m [$($t)* x: Value, y: Value, mask: Immediate] $c $r, _s => {
            InstructionData::Shuffle { opcode: Opcode::$v, args: [x, y], mask }
        });
    };
    (@f IntCompare $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit IntCompare $m [$($t)* cond: IntCC, x: Value, y: Value] $c $r, _s => {
            InstructionData::IntCompare { opcode: Opcode::$v, cond, args: [x, y] }
        });
    };
    (@f FloatCompare $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit FloatCompare $m [$($t)* cond: FloatCC, x: Value, y: Value] $c $r, _s => {
            InstructionData::FloatCompare { opcode: Opcode::$v, cond, args: [x, y] }
        });
    };
    (@f IntAddTrap $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit IntAddTrap $m [$($t)* x: Value, y: Value, code: TrapCode] $c $r, _s => {
            InstructionData::IntAddTrap { opcode: Opcode::$v, args: [x, y], code }
        });
    };
    (@f Jump $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit Jump $m [$($t)* block: Block, args: &[Value]] $c $r, s => {
            let destination = s.data_flow_graph_mut().block_call(block, args);
            InstructionData::Jump { opcode: Opcode::$v, destination }
        });
    };
    (@f Brif $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit Brif $m [$($t)* c: Value, block_then: Block, args_then: &[Value],
            block_else: Block, args_else: &[Value]] $c $r, s => {
            let dfg = s.data_flow_graph_mut();
            let then_call = dfg.block_call(block_then, args_then);
            let else_call = dfg.block_call(block_else, args_else);
            InstructionData::Brif { opcode: Opcode::$v, arg: c, blocks: [then_call, else_call] }
        });
    };
    (@f BranchTable $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit BranchTable $m [$($t)* index: Value, table: JumpTable] $c $r, _s => {
            InstructionData::BranchTable { opcode: Opcode::$v, arg: index, table }
        });
    };
    (@f Call $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit Call $m [$($t)* func_ref: FuncRef, args: &[Value]] $c $r, s => {
            let args = ValueList::from_slice(args, &mut s.data_flow_graph_mut().value_lists);
            InstructionData::Call { opcode: Opcode::$v, func_ref, args }
        });
    };
    (@f CallIndirect $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit CallIndirect $m [$($t)* sig_ref: SigRef, callee: Value, args: &[Value]] $c $r, s => {
            let pool = &mut s.data_flow_graph_mut().value_lists;
            let mut list = ValueList::from_slice(&[callee], pool);
            list.extend(args.iter().copied(), pool);
            InstructionData::CallIndirect { opcode: Opcode::$v, sig_ref, args: list }
        });
    };
    (@f TryCall $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit TryCall $m [$($t)* func_ref: FuncRef, args: &[Value], exception: ExceptionTable]
            $c $r, s => {
            let args = ValueList::from_slice(args, &mut s.data_flow_graph_mut().value_lists);
            InstructionData::TryCall { opcode: Opcode::$v, func_ref, args, exception }
        });
    };
    (@f TryCallIndirect $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit TryCallIndirect $m [$($t)* callee: Value, args: &[Value], exception: ExceptionTable]
            $c $r, s => {
            let pool = &mut s.data_flow_graph_mut().value_lists;
            let mut list = ValueList::from_slice(&[callee], pool);
            list.extend(args.iter().copied(), pool);
            InstructionData::TryCallIndirect { opcode: Opcode::$v, args: list, exception }
        });
    };
    (@f FuncAddr $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit FuncAddr $m [$($t)* func_ref: FuncRef] $c $r, _s => {
            InstructionData::FuncAddr { opcode: Opcode::$v, func_ref }
        });
    };
    (@f StackAddr $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit StackAddr $m [$($t)* stack_slot: StackSlot, offset: impl Into<Offset32>] $c $r, _s => {
            InstructionData::StackAddr { opcode: Opcode::$v, stack_slot, offset: offset.into() }
        });
    };
    (@f DynamicStackAddr $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit DynamicStackAddr $m [$($t)* dynamic_stack_slot: DynamicStackSlot] $c $r, _s => {
            InstructionData::DynamicStackAddr { opcode: Opcode::$v, dynamic_stack_slot }
        });
    };
    (@f Load $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit Load $m [$($t)* flags: MemFlags, p: Value, offset: impl Into<Offset32>] $c $r, s => {
            let flags = s.intern_mem_flags(flags);
            InstructionData::Load { opcode: Opcode::$v, flags, arg: p, offset: offset.into() }
        });
    };
    (@f Store $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit Store $m [$($t)* flags: MemFlags, x: Value, p: Value, offset: impl Into<Offset32>]
            $c $r, s => {
            let flags = s.intern_mem_flags(flags);
            InstructionData::Store { opcode: Opcode::$v, flags, args: [x, p], offset: offset.into() }
        });
    };
    (@f LoadNoOffset $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit LoadNoOffset $m [$($t)* flags: MemFlags, x: Value] $c $r, s => {
            let flags = s.intern_mem_flags(flags);
            InstructionData::LoadNoOffset { opcode: Opcode::$v, flags, arg: x }
        });
    };
    (@f StoreNoOffset $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit StoreNoOffset $m [$($t)* flags: MemFlags, x: Value, p: Value] $c $r, s => {
            let flags = s.intern_mem_flags(flags);
            InstructionData::StoreNoOffset { opcode: Opcode::$v, flags, args: [x, p] }
        });
    };
    (@f AtomicRmw $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit AtomicRmw $m [$($t)* flags: MemFlags, op: AtomicRmwOp, p: Value, x: Value] $c $r, s => {
            let flags = s.intern_mem_flags(flags);
            InstructionData::AtomicRmw { opcode: Opcode::$v, flags, op, args: [p, x] }
        });
    };
    (@f AtomicCas $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit AtomicCas $m [$($t)* flags: MemFlags, p: Value, expected: Value, x: Value] $c $r, s => {
            let flags = s.intern_mem_flags(flags);
            InstructionData::AtomicCas { opcode: Opcode::$v, flags, args: [p, expected, x] }
        });
    };
    (@f Trap $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit Trap $m [$($t)* code: TrapCode] $c $r, _s => {
            InstructionData::Trap { opcode: Opcode::$v, code }
        });
    };
    (@f CondTrap $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit CondTrap $m [$($t)* c: Value, code: TrapCode] $c $r, _s => {
            InstructionData::CondTrap { opcode: Opcode::$v, arg: c, code }
        });
    };
    (@f ExceptionHandlerAddress $v:ident $m:ident [$($t:tt)*] $c:tt $r:tt) => {
        inst_method!(@emit ExceptionHandlerAddress $m [$($t)* block: Block, imm: impl Into<Imm64>] $c $r, _s => {
            InstructionData::ExceptionHandlerAddress { opcode: Opcode::$v, block, imm: imm.into() }
        });
    };
}

macro_rules! define_inst_builder {
    ($( $variant:ident $method:ident $format:ident $ctrl:ident $infer:tt
        [$($arg:expr),*] [$($res:expr),*] $flags:expr; )*) => {
        /// One typed method per opcode (generated from the opcode table), plus one method per
        /// instruction format. Implemented for every [`InstBuilderBase`].
        pub trait InstBuilder<'f>: InstBuilderBase<'f> {
            $( inst_method!(@row $variant $method $format $ctrl $infer [$($res),*]); )*

            // -------------------------------------------------------------------------
            // Per-format methods: build any opcode of the format. `ctrl` is the
            // controlling type, or `types::INVALID` to infer it (or for monomorphic
            // opcodes). They return the instruction; read its results from the DFG.

            /// A `NullAry` instruction.
            fn nullary(self, opcode: Opcode, ctrl: Type) -> (Inst, &'f mut DataFlowGraph) {
                self.build(InstructionData::NullAry { opcode }, ctrl)
            }
            /// A `Unary` instruction.
            fn unary(self, opcode: Opcode, ctrl: Type, x: Value) -> (Inst, &'f mut DataFlowGraph) {
                self.build(InstructionData::Unary { opcode, arg: x }, ctrl)
            }
            /// A `UnaryImm` instruction.
            fn unary_imm(self, opcode: Opcode, ctrl: Type, imm: Imm64) -> (Inst, &'f mut DataFlowGraph) {
                self.build(InstructionData::UnaryImm { opcode, imm }, ctrl)
            }
            /// A `Binary` instruction.
            fn binary(self, opcode: Opcode, ctrl: Type, x: Value, y: Value) -> (Inst, &'f mut DataFlowGraph) {
                self.build(InstructionData::Binary { opcode, args: [x, y] }, ctrl)
            }
            /// A `BinaryImm8` instruction.
            fn binary_imm8(self, opcode: Opcode, ctrl: Type, x: Value, imm: u8) -> (Inst, &'f mut DataFlowGraph) {
                self.build(InstructionData::BinaryImm8 { opcode, arg: x, imm }, ctrl)
            }
            /// A `Ternary` instruction.
            fn ternary(self, opcode: Opcode, ctrl: Type, x: Value, y: Value, z: Value)
                -> (Inst, &'f mut DataFlowGraph) {
                self.build(InstructionData::Ternary { opcode, args: [x, y, z] }, ctrl)
            }
            /// An `IntCompare` instruction.
            fn int_compare(self, opcode: Opcode, ctrl: Type, cond: IntCC, x: Value, y: Value)
                -> (Inst, &'f mut DataFlowGraph) {
                self.build(InstructionData::IntCompare { opcode, cond, args: [x, y] }, ctrl)
            }
            /// A `FloatCompare` instruction.
            fn float_compare(self, opcode: Opcode, ctrl: Type, cond: FloatCC, x: Value, y: Value)
                -> (Inst, &'f mut DataFlowGraph) {
                self.build(InstructionData::FloatCompare { opcode, cond, args: [x, y] }, ctrl)
            }
            /// A `Load` instruction.
            fn load_format(mut self, opcode: Opcode, ctrl: Type, flags: MemFlags, p: Value, offset: Offset32)
                -> (Inst, &'f mut DataFlowGraph) {
                let flags = self.intern_mem_flags(flags);
                self.build(InstructionData::Load { opcode, flags, arg: p, offset }, ctrl)
            }
            /// A `Store` instruction.
            fn store_format(mut self, opcode: Opcode, ctrl: Type, flags: MemFlags, x: Value, p: Value,
                offset: Offset32) -> (Inst, &'f mut DataFlowGraph) {
                let flags = self.intern_mem_flags(flags);
                self.build(InstructionData::Store { opcode, flags, args: [x, p], offset }, ctrl)
            }
            /// A `Jump` instruction to an existing block call.
            fn jump_call(self, destination: BlockCall) -> Inst {
                self.build(InstructionData::Jump { opcode: Opcode::Jump, destination }, types::INVALID).0
            }
            /// A `Brif` instruction between existing block calls.
            fn brif_calls(self, c: Value, then_call: BlockCall, else_call: BlockCall) -> Inst {
                self.build(InstructionData::Brif { opcode: Opcode::Brif, arg: c, blocks: [then_call, else_call] },
                    types::INVALID).0
            }
            /// Any instruction, given its data.
            fn any(self, data: InstructionData, ctrl: Type) -> (Inst, &'f mut DataFlowGraph) {
                self.build(data, ctrl)
            }
        }
    };
}

opcode_table!(define_inst_builder);

impl<'f, T: InstBuilderBase<'f>> InstBuilder<'f> for T {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Function;
    use crate::opcodes::OPCODE_METHODS;

    /// A minimal builder appending to one block, with no checks.
    struct Append<'f> {
        func: &'f mut Function,
        block: Block,
    }

    impl<'f> InstBuilderBase<'f> for Append<'f> {
        fn data_flow_graph(&self) -> &DataFlowGraph {
            &self.func.dfg
        }
        fn data_flow_graph_mut(&mut self) -> &mut DataFlowGraph {
            &mut self.func.dfg
        }
        fn intern_mem_flags(&mut self, flags: MemFlags) -> MemFlagsId {
            self.func.dfg.mem_flags.intern(flags).unwrap()
        }
        fn build(self, data: InstructionData, ctrl: Type) -> (Inst, &'f mut DataFlowGraph) {
            let inst = self.func.dfg.make_inst(data);
            let ctrl = if ctrl == types::INVALID { self.func.dfg.ctrl_typevar(inst) } else { ctrl };
            self.func.dfg.make_inst_results(inst, ctrl).unwrap();
            self.func.layout.append_inst(inst, self.block);
            (inst, &mut self.func.dfg)
        }
    }

    #[test]
    fn method_names_follow_the_opcode_names() {
        for &op in Opcode::ALL {
            let m = OPCODE_METHODS[op as usize];
            assert!(m == op.name() || m == format!("{}_", op.name()), "{op}: {m}");
        }
    }

    #[test]
    fn typed_methods_build_and_print() {
        use crate::signature::{AbiParam, CallConv, Signature};
        let mut sig = Signature::new(CallConv::SystemV);
        sig.params.push(AbiParam::new(types::I64));
        sig.params.push(AbiParam::new(types::I64));
        sig.returns.push(AbiParam::new(types::I64));
        let mut func = Function::with_name_signature(crate::extname::UserFuncName::testcase("f"), sig);
        let b0 = func.dfg.make_block();
        func.layout.append_block(b0);
        let x = func.dfg.append_block_param(b0, types::I64);
        let y = func.dfg.append_block_param(b0, types::I64);
        fn ins(func: &mut Function) -> Append<'_> {
            let block = func.layout.entry_block().unwrap();
            Append { func, block }
        }
        let s = ins(&mut func).iadd(x, y);
        let c = ins(&mut func).iconst(types::I64, 7);
        let (lo, hi) = ins(&mut func).isplit(s);
        let w = ins(&mut func).iconcat(lo, hi);
        let m = ins(&mut func).imul(w, c);
        let t = ins(&mut func).ireduce(types::I32, m);
        let n = ins(&mut func).uextend(types::I64, t);
        let (sum, of) = ins(&mut func).uadd_overflow(n, x);
        let k = ins(&mut func).icmp(IntCC::SignedLessThan, sum, y);
        let e = ins(&mut func).uextend(types::I64, of);
        let r = ins(&mut func).select(k, sum, e);
        let ss = func.create_stack_slot(crate::function::StackSlotData::new(16, 3));
        let st = ins(&mut func).stack_addr(types::I64, ss, 0);
        let v = ins(&mut func).load(types::I64, MemFlags::trusted(), st, 8);
        ins(&mut func).store(MemFlags::trusted(), v, st, 0);
        ins(&mut func).return_(&[r]);
        let text = func.display().to_string();
        for needle in [
            "v2 = iadd v0, v1",
            "v3 = iconst.i64 7",
            "v4, v5 = isplit v2",
            "uextend.i64 v8",
            "uadd_overflow",
            "icmp slt",
            "select v12, v10, v13",
            "load.i64 notrap aligned",
            "return v14",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        let flags = crate::settings::Flags::default();
        crate::verifier::verify_function(&func, &crate::verifier::VerifierContext::new(&flags))
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
    }
}

//! # kiln-frontend — build Kiln IR from your own language
//!
//! A [`FunctionBuilder`] builds a [`kiln_ir::Function`] block by block. Its
//! [`ins()`](FunctionBuilder::ins) method returns an instruction builder with one typed
//! method per opcode ([`kiln_ir::InstBuilder`], generated from the opcode table): `iadd(x, y)`
//! returns the result [`Value`](kiln_ir::Value), `brif(c, then_block, &[], else_block, &[])`
//! returns the instruction, and so on.
//!
//! Instead of managing SSA values across blocks by hand, declare [`Variable`]s and assign
//! and read them anywhere: SSA form — block parameters and branch arguments — is built on
//! the fly (Braun et al. 2013). Seal each block when all of its predecessors are known;
//! the earlier blocks are sealed, the fewer parameters are ever created. A variable read
//! before being assigned on some path reads as zero.
//!
//! Mistakes do not panic: they are collected and [`FunctionBuilder::finalize`] returns them
//! ([`BuilderError`]), naming the variable, block or instruction at fault.
//!
//! Helpers: [`Switch`] (jump tables for dense cases, a balanced branch tree for sparse ones),
//! [`FunctionBuilder::call_memcpy`] / [`call_memset`](FunctionBuilder::call_memset) /
//! [`call_memmove`](FunctionBuilder::call_memmove) (inlined for small constant sizes), stack
//! slots, imported signatures and functions, source locations.
//!
//! ## Example
//!
//! The sum `0 + 1 + … + (n-1)` with a loop over two variables, checked by the verifier,
//! run by the reference interpreter, then compiled and run natively by the JIT:
//!
//! ```
//! use kiln_frontend::{FunctionBuilder, FunctionBuilderContext};
//! use kiln_ir::condcodes::IntCC;
//! use kiln_ir::extname::UserFuncName;
//! use kiln_ir::signature::{AbiParam, CallConv, Signature};
//! use kiln_ir::types::I64;
//! use kiln_ir::{DataValue, Function, InstBuilder};
//!
//! let mut sig = Signature::new(CallConv::SystemV);
//! sig.params.push(AbiParam::new(I64));
//! sig.returns.push(AbiParam::new(I64));
//! let mut func = Function::with_name_signature(UserFuncName::testcase("sum"), sig.clone());
//! let mut ctx = FunctionBuilderContext::new();
//! let mut b = FunctionBuilder::new(&mut func, &mut ctx);
//!
//! let (entry, header, body, exit) = (b.create_block(), b.create_block(), b.create_block(), b.create_block());
//! let (i, sum) = (b.declare_var(I64), b.declare_var(I64));
//!
//! b.append_block_params_for_function_params(entry);
//! b.switch_to_block(entry);
//! b.seal_block(entry);
//! let n = b.block_params(entry)[0];
//! let zero = b.ins().iconst(I64, 0);
//! b.def_var(i, zero);
//! b.def_var(sum, zero);
//! b.ins().jump(header, &[]);
//!
//! b.switch_to_block(header); // sealed once the back edge exists
//! let iv = b.use_var(i);
//! let more = b.ins().icmp(IntCC::SignedLessThan, iv, n);
//! b.ins().brif(more, body, &[], exit, &[]);
//!
//! b.switch_to_block(body);
//! b.seal_block(body);
//! let (iv, sv) = (b.use_var(i), b.use_var(sum));
//! let s = b.ins().iadd(sv, iv);
//! b.def_var(sum, s);
//! let one = b.ins().iconst(I64, 1);
//! let next = b.ins().iadd(iv, one);
//! b.def_var(i, next);
//! b.ins().jump(header, &[]);
//! b.seal_block(header);
//!
//! b.switch_to_block(exit);
//! b.seal_block(exit);
//! let result = b.use_var(sum);
//! b.ins().return_(&[result]);
//! b.finalize().expect("a well-formed function");
//!
//! // The verifier accepts it; the loop header got block parameters for `i` and `sum`.
//! let flags = kiln_ir::settings::Flags::default();
//! kiln_ir::verifier::verify_function(&func, &kiln_ir::verifier::VerifierContext::new(&flags)).unwrap();
//! assert_eq!(func.dfg.block_params(header).len(), 2);
//!
//! // The reference interpreter…
//! let funcs = [func.clone()];
//! let mut interp = kiln_ir::interp::Interpreter::new(&funcs, Default::default());
//! assert_eq!(interp.call(0, &[DataValue::I64(10)]).unwrap(), [DataValue::I64(45)]);
//!
//! // …and native code.
//! # #[cfg(all(target_arch = "x86_64", target_os = "linux"))] {
//! let isa = kiln_isa::native(Default::default()).unwrap();
//! use kiln_module::Module;
//! let mut module = kiln_module::JitModule::new(isa);
//! let id = module.declare_function("sum", kiln_module::Linkage::Export, &sig).unwrap();
//! module.define_function(id, func).unwrap();
//! module.finalize_definitions().unwrap();
//! let code = module.get_finalized_function(id).unwrap();
//! // SAFETY: compiled for exactly this signature.
//! let sum_fn: extern "sysv64" fn(i64) -> i64 = unsafe { std::mem::transmute(code) };
//! assert_eq!(sum_fn(100_000), 4_999_950_000);
//! # }
//! ```

#![warn(missing_docs)]

mod frontend;
mod memops;
mod ssa;
mod switch;

pub use frontend::{FuncInstBuilder, FunctionBuilder, FunctionBuilderContext};
pub use memops::TargetFrontendConfig;
pub use switch::Switch;

use core::fmt;
use kiln_ir::{Block, Inst, Opcode, Type, Value};

kiln_ir::entity_ref!(
    /// A variable of the source program: declared with a type by
    /// [`FunctionBuilder::declare_var`], assigned with `def_var` and read with `use_var`
    /// anywhere in the function.
    Variable,
    "var"
);

/// A mistake in the use of the builder, reported by [`FunctionBuilder::finalize`] (or at
/// once by the `try_` methods).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuilderError {
    /// A variable that was never declared was used or assigned.
    UndeclaredVariable(Variable),
    /// A value of the wrong type was assigned to a variable.
    VariableType {
        /// The variable.
        var: Variable,
        /// Its declared type.
        expected: Type,
        /// The value's type.
        found: Type,
        /// The value.
        value: Value,
    },
    /// An instruction's operands do not have the types its opcode (or signature, or target
    /// block) requires.
    TypeMismatch {
        /// The instruction, if the error concerns one.
        inst: Option<Inst>,
        /// What is wrong.
        message: String,
    },
    /// An instruction or variable access with no current block (`switch_to_block` first).
    NoCurrentBlock(String),
    /// An instruction appended to a block that already ends with a terminator.
    AfterTerminator {
        /// The block.
        block: Block,
        /// The instruction's opcode.
        opcode: Opcode,
    },
    /// A branch to a block that was already sealed.
    BranchToSealedBlock {
        /// The branch.
        inst: Inst,
        /// Its sealed target.
        target: Block,
    },
    /// A branch to the entry block (which cannot have predecessors).
    BranchToEntry(Inst),
    /// A user parameter appended to a block that already has predecessors or SSA
    /// parameters.
    LateBlockParam(Block),
    /// A block in the layout does not end with a terminator.
    UnterminatedBlock(Block),
    /// A block in the layout was never sealed.
    UnsealedBlock(Block),
    /// A block is the target of a branch but was never switched to.
    MissingBlock(Block),
    /// No block was ever switched to.
    EmptyFunction,
    /// An entity handle (block, jump table, …) that does not belong to this function.
    InvalidEntity(String),
    /// An implementation limit was reached.
    Limit(String),
}

impl fmt::Display for BuilderError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            BuilderError::UndeclaredVariable(v) => write!(f, "use of undeclared variable {v}"),
            BuilderError::VariableType { var, expected, found, value } => {
                write!(f, "{var} has type {expected} but is assigned {value} of type {found}")
            }
            BuilderError::TypeMismatch { inst: Some(i), message } => write!(f, "{i}: type mismatch: {message}"),
            BuilderError::TypeMismatch { inst: None, message } => write!(f, "type mismatch: {message}"),
            BuilderError::NoCurrentBlock(what) => write!(f, "{what} with no current block (call switch_to_block)"),
            BuilderError::AfterTerminator { block, opcode } => {
                write!(f, "{opcode} appended to {block}, which already ends with a terminator")
            }
            BuilderError::BranchToSealedBlock { inst, target } => {
                write!(f, "{inst} branches to {target}, which was already sealed")
            }
            BuilderError::BranchToEntry(i) => write!(f, "{i} branches to the entry block"),
            BuilderError::LateBlockParam(b) => {
                write!(f, "parameter appended to {b} after branches to it or variable uses in it")
            }
            BuilderError::UnterminatedBlock(b) => write!(f, "{b} is not terminated"),
            BuilderError::UnsealedBlock(b) => write!(f, "{b} was never sealed"),
            BuilderError::MissingBlock(b) => write!(f, "{b} is a branch target but was never built"),
            BuilderError::EmptyFunction => f.write_str("the function has no blocks"),
            BuilderError::InvalidEntity(m) => f.write_str(m),
            BuilderError::Limit(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for BuilderError {}

/// The errors of a function that could not be finalized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalizeError {
    /// The errors, in the order they happened (at most 64).
    pub errors: Vec<BuilderError>,
    /// How many more errors were not kept.
    pub dropped: usize,
}

impl fmt::Display for FinalizeError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        if self.dropped > 0 {
            write!(f, "\n… and {} more", self.dropped)?;
        }
        Ok(())
    }
}

impl std::error::Error for FinalizeError {}

//! # kiln-ir — Kiln's intermediate representation
//!
//! An SSA IR whose text form is CLIF. A [`Function`] owns a [`DataFlowGraph`] (instructions,
//! values, blocks and side tables) and a [`Layout`] (their order); every IR object is a
//! `u32` entity reference into an arena ([`entity`]). The [`opcodes`] table is the single
//! source of truth for the 163 opcodes: formats, type constraints and flags.
//!
//! Around the core: [`text`] reads and writes CLIF, [`verifier`] checks every rule of the
//! format, [`analysis`] computes CFGs, dominator trees and loops, and [`interp`] executes
//! functions — it defines what every opcode means.

#![warn(missing_docs)]

pub mod entity;

pub mod analysis;
pub mod builder;
pub mod compare;
pub mod condcodes;
pub mod constant;
pub mod data_value;
pub mod dfg;
pub mod entities;
pub mod extname;
pub mod function;
pub mod immediates;
pub mod instructions;
pub mod interp;
pub mod layout;
pub mod memflags;
pub mod opcodes;
pub mod settings;
pub mod signature;
pub mod softfloat;
pub mod text;
pub mod trapcode;
pub mod types;
pub mod verifier;

pub use crate::builder::{InstBuilder, InstBuilderBase};
pub use crate::data_value::DataValue;
pub use crate::dfg::{DataFlowGraph, ValueDef};
pub use crate::entities::*;
pub use crate::function::Function;
pub use crate::instructions::{BlockArg, BlockCall, InstructionData};
pub use crate::layout::Layout;
pub use crate::opcodes::{InstructionFormat, Opcode};
pub use crate::types::Type;

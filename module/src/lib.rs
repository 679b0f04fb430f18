//! # kiln-module — Kiln's outputs
//!
//! Both outputs share the [`Module`] API (declare functions and data objects with a
//! [`Linkage`], reference them from IR, define them; see [`module`]):
//!
//! - [`JitModule`] compiles functions into executable memory (never writable and executable
//!   at once), lays out data objects, links everything to each other and to host symbols
//!   (`libc` functions, or routines of the embedding program through
//!   [`JitModule::add_symbol_lookup`]), catches the traps of the code it runs
//!   ([`trap::call_guarded`]) and can free and redefine functions. On request it describes
//!   its code to `gdb` ([`gdb_jit`]) and `perf` ([`perf`]), and it registers every
//!   function's unwind table with the system unwinder ([`unwind::registry`]), so panics and
//!   backtraces walk through JIT frames. See [`jit`] for the life cycle: declare, define,
//!   finalize, get addresses, free.
//! - [`ObjectModule`] writes a relocatable object file (ELF, Mach-O or COFF) for the system
//!   linker, with unwind tables ([`unwind`]: `.eh_frame`, or `.pdata`/`.xdata` on COFF) and
//!   DWARF debug information ([`debug`]); see [`object`].
//!
//! ## Example
//!
//! A function that bumps a counter (a writable data object) and returns the absolute value
//! of its argument through libc's `labs`, resolved by name:
//!
//! ```
//! # #[cfg(all(target_arch = "x86_64", target_os = "linux"))] {
//! use kiln_ir::text::parse_functions;
//! use kiln_module::{DataDescription, JitModule, Linkage, Module};
//!
//! let mut module = JitModule::new(kiln_isa::native(Default::default()).unwrap());
//!
//! // Declarations: names, linkage, signatures.
//! let clif = "
//!     function %abs_count(i64) -> i64 system_v {
//!         sig0 = (i64) -> i64 system_v
//!         fn0 = %labs sig0
//!         gv0 = symbol colocated %counter
//!     block0(v0: i64):
//!         v1 = symbol_value.i64 gv0
//!         v2 = load.i64 notrap aligned v1
//!         v3 = iconst.i64 1
//!         v4 = iadd v2, v3
//!         store notrap aligned v4, v1
//!         v5 = call fn0(v0)
//!         return v5
//!     }";
//! let func = parse_functions(clif).unwrap().remove(0);
//! let f = module.declare_function("abs_count", Linkage::Export, &func.signature).unwrap();
//! module.declare_function("labs", Linkage::Import, &func.dfg.signatures[kiln_ir::SigRef::from_u32(0)]).unwrap();
//! let counter = module.declare_data("counter", Linkage::Local, true).unwrap();
//!
//! // Definitions: compile the function, describe the data.
//! module.define_function(f, func).unwrap();
//! let mut data = DataDescription::new();
//! data.define_zeroinit(8);
//! data.set_align(8);
//! module.define_data(counter, &data).unwrap();
//!
//! // Link and run.
//! module.finalize_definitions().unwrap();
//! let code = module.get_finalized_function(f).unwrap();
//! // SAFETY: compiled for exactly this signature.
//! let abs_count: extern "sysv64" fn(i64) -> i64 = unsafe { std::mem::transmute(code) };
//! assert_eq!(abs_count(-5), 5);
//! assert_eq!(abs_count(7), 7);
//! let (p, size) = module.get_finalized_data(counter).unwrap();
//! assert_eq!((unsafe { *(p as *const i64) }, size), (2, 8));
//! module.free_memory(); // or just drop it
//! # }
//! ```

#![warn(missing_docs)]

pub mod debug;
pub mod exceptions;
pub mod gdb_jit;
pub mod jit;
pub mod libcalls;
pub mod memory;
pub mod module;
pub mod object;
pub mod objreloc;
pub mod perf;
pub mod trap;
pub mod unwind;

pub use debug::DebugSource;
pub use jit::{JitModule, JitOptions};
pub use module::{
    DataDescription, DataId, FuncId, FuncOrDataId, Init, Linkage, Module, ModuleDeclarations, ModuleError, SymbolName,
};
pub use object::{ObjectModule, ObjectProduct};

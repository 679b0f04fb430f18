//! # kiln-wasm — WebAssembly on Kiln
//!
//! The frontend: [`parse_module`](module::parse_module) validates a module with wasmparser
//! and describes it ([`ModuleInfo`](module::ModuleInfo)); a [`FuncTranslator`] validates and
//! translates each function body to Kiln IR through the `FunctionBuilder`, one function at a
//! time (translate in parallel or lazily, as an embedder prefers). Everything an embedder
//! decides — instance layout, heap strategy (guard pages or bounds checks, Spectre-safe
//! checks), globals, tables, calls, runtime routines — goes through the
//! [`FuncEnvironment`](environ::FuncEnvironment) trait.
//!
//! The reference runtime ([`runtime`]) implements that trait and runs modules: instances
//! with imports and exports, tables, globals, segments, linear memories in mmap'd
//! reservations with guard pages, traps caught and returned as typed
//! [`Trap`](runtime::Trap)s, functions compiled on all cores.
//!
//! ## Example
//!
//! ```
//! # #[cfg(all(target_arch = "x86_64", target_os = "linux"))] {
//! use kiln_wasm::runtime::{Engine, Extern, Func, Instance, Module, Store, Val};
//! use kiln_wasm::types::{FuncType, ValType};
//!
//! // A module (binary Wasm; this one is written out by hand) importing `env.double` and
//! // exporting `quad(x) = double(double(x))`.
//! let wasm = [
//!     0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
//!     0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f, // type 0: (i32) -> i32
//!     0x02, 0x0e, 0x01, 0x03, b'e', b'n', b'v', 0x06, b'd', b'o', b'u', b'b', b'l', b'e', 0x00, 0x00,
//!     0x03, 0x02, 0x01, 0x00, // function 1 has type 0
//!     0x07, 0x08, 0x01, 0x04, b'q', b'u', b'a', b'd', 0x00, 0x01, // export "quad"
//!     0x0a, 0x0a, 0x01, 0x08, 0x00, 0x20, 0x00, 0x10, 0x00, 0x10, 0x00, 0x0b, // body
//! ];
//! let engine = Engine::default();
//! let module = Module::new(&engine, &wasm).unwrap();
//! let mut store = Store::new(&engine);
//! let ty = FuncType::new([ValType::I32], [ValType::I32]);
//! let double = Func::new(&mut store, ty, |args: &[Val], results: &mut [Val]| {
//!     results[0] = Val::I32(args[0].unwrap_i32().wrapping_mul(2));
//!     Ok(())
//! });
//! let instance = Instance::new(&mut store, &module, &[Extern::Func(double)]).unwrap();
//! let quad = instance.get_func(&store, "quad").unwrap();
//! assert_eq!(quad.call(&mut store, &[Val::I32(5)]).unwrap(), vec![Val::I32(20)]);
//! # }
//! ```

#![warn(missing_docs)]

pub mod environ;
pub mod error;
pub mod module;
pub mod runtime;
pub mod translate;
pub mod types;

pub use environ::{FuncEnvironment, Heap, HeapBound};
pub use error::{WasmError, WasmErrorKind, WasmResult};
pub use module::{ModuleInfo, parse_module};
pub use translate::FuncTranslator;

//! Calling into compiled code and making host functions callable from it.
//!
//! [`Func::call`] writes the arguments to 16-byte slots, sets the store's stack limit (on
//! the outermost entry: [`Config::max_wasm_stack`](super::Config::max_wasm_stack) below the
//! current stack pointer, but never closer than [`STACK_RESERVE`] to the end of the
//! thread's stack, so host routines and signal handling keep room) and calls the
//! function's trampoline through `kiln_module::trap::call_guarded`, which turns a trap
//! of compiled code into an error instead of a crash; the trap code recorded for the
//! faulting instruction names the [`TrapKind`]. A trap leaves the instance usable.
//!
//! [`Func::new`] wraps a host closure: its funcref's code is an adapter compiled for the
//! function type, its vmctx the closure's data.

use super::engine::Error;
use super::libcalls::take_host_error;
use super::store::{Func, HostFn, HostFuncData, Store, Val};
use super::trap::{Trap, TrapKind};
use super::vmctx::VMFuncRef;
use crate::environ::trap as codes;
use crate::types::FuncType;
use core::ptr::NonNull;

/// Bytes kept free at the end of a thread's stack below the Wasm stack limit.
pub const STACK_RESERVE: usize = 256 << 10;

/// The lowest address of the current thread's stack, if the system tells.
fn thread_stack_low() -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain pthread queries with valid out-pointers; the attribute object is
        // destroyed after use.
        unsafe {
            let mut attr: libc::pthread_attr_t = core::mem::zeroed();
            if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
                return None;
            }
            let mut addr: *mut libc::c_void = core::ptr::null_mut();
            let mut size: libc::size_t = 0;
            let r = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
            libc::pthread_attr_destroy(&mut attr);
            if r != 0 { None } else { Some(addr as usize) }
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// The stack limit for Wasm code entered from here.
fn stack_limit(max_wasm_stack: usize) -> usize {
    let here = 0u8;
    let sp = &here as *const u8 as usize;
    let by_config = sp.saturating_sub(max_wasm_stack);
    match thread_stack_low() {
        Some(low) => by_config.max(low + STACK_RESERVE),
        None => by_config,
    }
}

impl Func {
    /// A host function of type `ty`. The closure gets the arguments and fills in the
    /// results (initially zero); returning an error traps the calling Wasm code with that
    /// error. It cannot call back into the store.
    pub fn new(
        store: &mut Store,
        ty: FuncType,
        f: impl Fn(&[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static,
    ) -> Func {
        let f: HostFn = Box::new(f);
        Self::try_new(store, ty, f).expect("compiling a host-function adapter")
    }

    /// [`Func::new`], reporting a failure to compile the adapter.
    pub fn try_new(store: &mut Store, ty: FuncType, f: HostFn) -> Result<Func, Error> {
        let type_id = store.engine.type_id(&ty);
        let code = store.engine.adapter(type_id)?;
        let mut data = Box::new(HostFuncData { funcref: VMFuncRef::default(), ty, f });
        let data_ptr: *mut HostFuncData = &mut *data;
        data.funcref = VMFuncRef { code, vmctx: data_ptr as usize, type_id, _pad: 0 };
        let fr = NonNull::from(&data.funcref);
        store.host_funcs.push(data);
        Ok(Func(fr))
    }

    /// Call the function with `args`; its results, or the trap it took.
    pub fn call(&self, store: &mut Store, args: &[Val]) -> Result<Vec<Val>, Error> {
        let fr = self.funcref();
        let ty = store.engine.func_type(fr.type_id);
        if args.len() != ty.params.len() || args.iter().zip(ty.params.iter()).any(|(a, &t)| a.ty() != t) {
            let given: Vec<String> = args.iter().map(|a| a.ty().to_string()).collect();
            return Err(Error::Other(format!("arguments ({}) do not match {ty}", given.join(" "))));
        }
        let tramp = store.engine.trampoline(fr.type_id)?;
        let mut slots = vec![0u128; ty.params.len().max(ty.results.len()).max(1)];
        for (s, a) in slots.iter_mut().zip(args) {
            *s = a.to_raw();
        }
        let outermost = store.ctx.stack_limit == 0;
        if outermost {
            store.ctx.stack_limit = stack_limit(store.engine.config().max_wasm_stack);
        }
        // SAFETY: the trampoline has the System V signature (funcref, values) and was
        // compiled for this function's type; the slots hold max(params, results) values.
        let r =
            unsafe { kiln_module::trap::call_guarded(tramp as *const u8, self.as_raw(), slots.as_mut_ptr() as usize) };
        if outermost {
            store.ctx.stack_limit = 0;
        }
        match r {
            Ok(()) => Ok(ty.results.iter().zip(&slots).map(|(&t, &s)| Val::from_raw(s, t)).collect()),
            Err(t) => {
                let trap = match t.code {
                    Some(codes::HOST) => take_host_error().unwrap_or_else(|| Trap::host("unknown host error")),
                    Some(code) => Trap::new(Trap::kind_of(code)),
                    None => Trap {
                        kind: TrapKind::UnexpectedFault,
                        message: Some(format!("signal {} at pc {:#x}", t.signal, t.pc)),
                    },
                };
                Err(Error::Trap(trap))
            }
        }
    }
}

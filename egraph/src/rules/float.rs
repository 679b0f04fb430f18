//! Floating point, only where the result is bit-exact under IEEE 754 and the interpreter's
//! NaN rules: sign-bit operations (`fneg`, `fabs`, `fcopysign`), negations that cancel in
//! products and sums, `x * 2 = x + x`, division by a power of two as multiplication by its
//! exact reciprocal, idempotent rounding, and bitcast round trips. Identities such as
//! `x * 1 = x` or `x + 0 = x` are *not* rules: they change NaN payloads or signed zeros.

crate::rules! {
    fneg_fneg: fany: (fneg (fneg x)) => x;
    fabs_fabs: fany: (fabs (fabs x)) => (fabs x);
    fabs_fneg: fany: (fabs (fneg x)) => (fabs x);
    fabs_fcopysign: fany: (fabs (fcopysign x y)) => (fabs x);
    fcopysign_self: fany: (fcopysign x x) => x;
    fcopysign_fneg: fany: (fcopysign (fneg x) y) => (fcopysign x y);
    fcopysign_fabs: fany: (fcopysign (fabs x) y) => (fcopysign x y);
    fcopysign_of_fabs: fany: (fcopysign x (fabs y)) => (fabs x);
    fneg_fcopysign_fneg: fany: (fcopysign x (fneg (fabs y))) => (fneg (fabs x));
    fmul_fneg_both: fany: (fmul (fneg x) (fneg y)) => (fmul x y);
    fdiv_fneg_both: fany: (fdiv (fneg x) (fneg y)) => (fdiv x y);
    fsub_fneg: fany: (fsub x (fneg y)) => (fadd x y);
    fadd_fneg_right: fany: (fadd x (fneg y)) => (fsub x y);
    fadd_fneg_left: fany: (fadd (fneg y) x) => (fsub x y);
    fmul_two_f32: float: (fmul x (f32const 2.0)) => (fadd x x);
    fmul_two_f64: float: (fmul x (f64const 2.0)) => (fadd x x);
    fmul_two_left_f32: float: (fmul (f32const 2.0) x) => (fadd x x);
    fmul_two_left_f64: float: (fmul (f64const 2.0) x) => (fadd x x);
    fdiv_pow2_f32: float: (fdiv x (f32const c)) if (recip_exact c) => (fmul x (f32const (recip c)));
    fdiv_pow2_f64: float: (fdiv x (f64const c)) if (recip_exact c) => (fmul x (f64const (recip c)));
    fcmp_fneg_both: fany: (fcmp cc (fneg x) (fneg y)) => (fcmp (swap cc) x y);
    floor_floor: fany: (floor (floor x)) => (floor x);
    floor_ceil: fany: (floor (ceil x)) => (ceil x);
    floor_trunc: fany: (floor (trunc x)) => (trunc x);
    floor_nearest: fany: (floor (nearest x)) => (nearest x);
    ceil_floor: fany: (ceil (floor x)) => (floor x);
    ceil_ceil: fany: (ceil (ceil x)) => (ceil x);
    ceil_trunc: fany: (ceil (trunc x)) => (trunc x);
    ceil_nearest: fany: (ceil (nearest x)) => (nearest x);
    trunc_floor: fany: (trunc (floor x)) => (floor x);
    trunc_ceil: fany: (trunc (ceil x)) => (ceil x);
    trunc_trunc: fany: (trunc (trunc x)) => (trunc x);
    trunc_nearest: fany: (trunc (nearest x)) => (nearest x);
    nearest_floor: fany: (nearest (floor x)) => (floor x);
    nearest_ceil: fany: (nearest (ceil x)) => (ceil x);
    nearest_trunc: fany: (nearest (trunc x)) => (trunc x);
    nearest_nearest: fany: (nearest (nearest x)) => (nearest x);
    floor_of_sint: float: (floor (fcvt_from_sint x)) => (fcvt_from_sint x);
    ceil_of_sint: float: (ceil (fcvt_from_sint x)) => (fcvt_from_sint x);
    trunc_of_sint: float: (trunc (fcvt_from_sint x)) => (fcvt_from_sint x);
    nearest_of_sint: float: (nearest (fcvt_from_sint x)) => (fcvt_from_sint x);
    floor_of_uint: float: (floor (fcvt_from_uint x)) => (fcvt_from_uint x);
    ceil_of_uint: float: (ceil (fcvt_from_uint x)) => (fcvt_from_uint x);
    trunc_of_uint: float: (trunc (fcvt_from_uint x)) => (fcvt_from_uint x);
    nearest_of_uint: float: (nearest (fcvt_from_uint x)) => (fcvt_from_uint x);
    bitcast_bitcast: scalar: (bitcast (bitcast x)) if (ty_eq x T) => x;
}

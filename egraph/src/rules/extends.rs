//! Extensions and reductions: chains of `uextend`/`sextend`/`ireduce` collapse, masks that
//! keep every bit of an extension disappear, reductions of extended arithmetic narrow the
//! arithmetic, and `bmask` only looks at whether its operand is zero.

crate::rules! {
    uextend_uextend: wint: (uextend (uextend x)) => (uextend x);
    sextend_sextend: wint: (sextend (sextend x)) => (sextend x);
    sextend_uextend: wint: (sextend (uextend x)) => (uextend x);
    ireduce_uextend_same: wint: (ireduce (uextend x)) if (ty_eq x T) => x;
    ireduce_uextend_narrower: wint: (ireduce (uextend x)) if (ty_lt x T) => (uextend x);
    ireduce_uextend_wider: wint: (ireduce (uextend x)) if (ty_lt T x) => (ireduce x);
    ireduce_sextend_same: wint: (ireduce (sextend x)) if (ty_eq x T) => x;
    ireduce_sextend_narrower: wint: (ireduce (sextend x)) if (ty_lt x T) => (sextend x);
    ireduce_sextend_wider: wint: (ireduce (sextend x)) if (ty_lt T x) => (ireduce x);
    ireduce_ireduce: wint: (ireduce (ireduce x)) => (ireduce x);
    ireduce_iconcat_same: wint: (ireduce (iconcat lo hi)) if (ty_eq lo T) => lo;
    ireduce_iconcat_wider: wint: (ireduce (iconcat lo hi)) if (ty_lt T lo) => (ireduce lo);
    band_uextend_mask: int: (band (uextend x) (iconst m)) if (eq (and m (umax x)) (umax x)) => (uextend x);
    ireduce_iadd_uextend: wint: (ireduce (iadd (uextend x) (uextend y))) if (ty_eq x T) (ty_eq y T) => (iadd x y);
    ireduce_isub_uextend: wint: (ireduce (isub (uextend x) (uextend y))) if (ty_eq x T) (ty_eq y T) => (isub x y);
    ireduce_imul_uextend: wint: (ireduce (imul (uextend x) (uextend y))) if (ty_eq x T) (ty_eq y T) => (imul x y);
    ireduce_band_uextend: wint: (ireduce (band (uextend x) (uextend y))) if (ty_eq x T) (ty_eq y T) => (band x y);
    ireduce_bor_uextend: wint: (ireduce (bor (uextend x) (uextend y))) if (ty_eq x T) (ty_eq y T) => (bor x y);
    ireduce_bxor_uextend: wint: (ireduce (bxor (uextend x) (uextend y))) if (ty_eq x T) (ty_eq y T) => (bxor x y);
    ireduce_iadd_sextend: wint: (ireduce (iadd (sextend x) (sextend y))) if (ty_eq x T) (ty_eq y T) => (iadd x y);
    ireduce_imul_sextend: wint: (ireduce (imul (sextend x) (sextend y))) if (ty_eq x T) (ty_eq y T) => (imul x y);
    ireduce_iconst_arith: int: (ireduce (iadd (uextend x) (iconst c))) if (ty_eq x T) => (iadd x (iconst.T c));
    bmask_bmask: wint: (bmask (bmask x)) => (bmask x);
    bmask_uextend: wint: (bmask (uextend x)) => (bmask x);
    bmask_sextend: wint: (bmask (sextend x)) => (bmask x);
    bmask_ineg: wint: (bmask (ineg x)) => (bmask x);
    sextend_icmp_is_bmask: int: (ineg (uextend (icmp cc x y))) => (bmask.T (icmp cc x y));
}

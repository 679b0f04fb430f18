//! Integer arithmetic: additive and multiplicative identities, cancellation, negation,
//! reassociation of constants, multiplication by powers of two, min/max bounds.

crate::rules! {
    iadd_zero: int: (iadd x (iconst 0)) => x;
    iadd_const_assoc: int: (iadd (iadd x (iconst a)) (iconst b)) => (iadd x (iconst (add a b)));
    isub_zero: int: (isub x (iconst 0)) => x;
    isub_const: int: (isub x (iconst c)) => (iadd x (iconst (neg c)));
    isub_self: int: (isub x x) => (iconst 0);
    isub_from_zero: int: (isub (iconst 0) x) => (ineg x);
    isub_const_iadd: int: (isub (iconst a) (iadd x (iconst b))) => (isub (iconst (sub a b)) x);
    iadd_ineg_right: intv: (iadd x (ineg y)) => (isub x y);
    iadd_ineg_left: intv: (iadd (ineg y) x) => (isub x y);
    isub_ineg: intv: (isub x (ineg y)) => (iadd x y);
    ineg_ineg: intv: (ineg (ineg x)) => x;
    ineg_isub: intv: (ineg (isub x y)) => (isub y x);
    iadd_isub_cancel_left: intv: (iadd (isub x y) y) => x;
    iadd_isub_cancel_right: intv: (iadd y (isub x y)) => x;
    isub_iadd_cancel_right: intv: (isub (iadd x y) y) => x;
    isub_iadd_cancel_left: intv: (isub (iadd x y) x) => y;
    isub_isub_cancel: intv: (isub x (isub x y)) => y;
    isub_iadd_self: intv: (isub x (iadd x y)) => (ineg y);
    imul_zero: int: (imul x (iconst 0)) => (iconst 0);
    imul_one: int: (imul x (iconst 1)) => x;
    imul_neg_one: int: (imul x (iconst -1)) => (ineg x);
    imul_pow2: int: (imul x (iconst c)) if (pow2 c) => (ishl x (iconst.T (log2 c)));
    imul_neg_pow2: int: (imul x (iconst c)) if (neg_pow2 c) => (ineg (ishl x (iconst.T (log2 (neg c)))));
    imul_const_assoc: int: (imul (imul x (iconst a)) (iconst b)) => (imul x (iconst (mul a b)));
    imul_ineg_both: intv: (imul (ineg x) (ineg y)) => (imul x y);
    imul_ineg_const: int: (imul (ineg x) (iconst c)) => (imul x (iconst (neg c)));
    iabs_iabs: intv: (iabs (iabs x)) => (iabs x);
    iabs_ineg: intv: (iabs (ineg x)) => (iabs x);
    umulhi_zero: int: (umulhi x (iconst 0)) => (iconst 0);
    smulhi_zero: int: (smulhi x (iconst 0)) => (iconst 0);
    umulhi_one: int: (umulhi x (iconst 1)) => (iconst 0);
    smin_self: intv: (smin x x) => x;
    smax_self: intv: (smax x x) => x;
    umin_self: intv: (umin x x) => x;
    umax_self: intv: (umax x x) => x;
    umin_zero: int: (umin x (iconst 0)) => (iconst 0);
    umax_zero: int: (umax x (iconst 0)) => x;
    umin_umax_const: int: (umin x (iconst c)) if (eq c (umax T)) => x;
    umax_umax_const: int: (umax x (iconst c)) if (eq c (umax T)) => (iconst c);
    smin_smax_const: int: (smin x (iconst c)) if (eq c (smax T)) => x;
    smin_smin_const: int: (smin x (iconst c)) if (eq c (smin T)) => (iconst c);
    smax_smin_const: int: (smax x (iconst c)) if (eq c (smin T)) => x;
    smax_smax_const: int: (smax x (iconst c)) if (eq c (smax T)) => (iconst c);
}

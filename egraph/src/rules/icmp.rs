//! Integer comparisons: reflexive comparisons, comparisons against the bounds of the type,
//! constants moved to the right, equality tests of differences, comparisons of extended
//! values, and boolean tests of comparison results (`(x < y) != 0`, `(x < y) ^ 1`, …).
//! `eqne` guards read "`cc` is `eq` or `ne`".

crate::rules! {
    icmp_self: wint: (icmp cc x x) => (iconst (cc_refl cc));
    icmp_const_left: int: (icmp cc (iconst c) x) => (icmp (swap cc) x (iconst c));
    icmp_ult_zero: int: (icmp ult x (iconst 0)) => (iconst 0);
    icmp_uge_zero: int: (icmp uge x (iconst 0)) => (iconst 1);
    icmp_ule_zero: int: (icmp ule x (iconst 0)) => (icmp eq x (iconst 0));
    icmp_ugt_zero: int: (icmp ugt x (iconst 0)) => (icmp ne x (iconst 0));
    icmp_ult_one: int: (icmp ult x (iconst 1)) => (icmp eq x (iconst 0));
    icmp_uge_one: int: (icmp uge x (iconst 1)) => (icmp ne x (iconst 0));
    icmp_ugt_umax: int: (icmp ugt x (iconst c)) if (eq c (umax T)) => (iconst 0);
    icmp_ule_umax: int: (icmp ule x (iconst c)) if (eq c (umax T)) => (iconst 1);
    icmp_slt_smin: int: (icmp slt x (iconst c)) if (eq c (smin T)) => (iconst 0);
    icmp_sge_smin: int: (icmp sge x (iconst c)) if (eq c (smin T)) => (iconst 1);
    icmp_sgt_smax: int: (icmp sgt x (iconst c)) if (eq c (smax T)) => (iconst 0);
    icmp_sle_smax: int: (icmp sle x (iconst c)) if (eq c (smax T)) => (iconst 1);
    icmp_eqne_bxor: int: (icmp cc (bxor x y) (iconst 0)) if (and (cc_signed cc) (cc_unsigned cc))
        => (icmp cc x y);
    icmp_eqne_isub: int: (icmp cc (isub x y) (iconst 0)) if (and (cc_signed cc) (cc_unsigned cc))
        => (icmp cc x y);
    icmp_eqne_iadd_const: int: (icmp cc (iadd x (iconst a)) (iconst b)) if (and (cc_signed cc) (cc_unsigned cc))
        => (icmp cc x (iconst (sub b a)));
    icmp_eqne_bxor_const: int: (icmp cc (bxor x (iconst a)) (iconst b)) if (and (cc_signed cc) (cc_unsigned cc))
        => (icmp cc x (iconst (xor a b)));
    icmp_uextend_both: wint: (icmp cc (uextend x) (uextend y)) if (cc_unsigned cc) (ty_eq x y) => (icmp cc x y);
    icmp_sextend_both: wint: (icmp cc (sextend x) (sextend y)) if (ty_eq x y) => (icmp cc x y);
    icmp_uextend_const: int: (icmp cc (uextend x) (iconst c)) if (cc_unsigned cc) (fits_u c x)
        => (icmp cc x (iconst.x c));
    icmp_sextend_const: int: (icmp cc (sextend x) (iconst c)) if (fits_s c x) => (icmp cc x (iconst.x c));
    icmp_ne_icmp_zero: int: (icmp ne (icmp cc x y) (iconst 0)) => (icmp cc x y);
    icmp_eq_icmp_zero: int: (icmp eq (icmp cc x y) (iconst 0)) => (icmp (invert cc) x y);
    icmp_eq_icmp_one: int: (icmp eq (icmp cc x y) (iconst 1)) => (icmp cc x y);
    icmp_ne_icmp_one: int: (icmp ne (icmp cc x y) (iconst 1)) => (icmp (invert cc) x y);
    icmp_ne_uext_icmp_zero: int: (icmp ne (uextend (icmp cc x y)) (iconst 0)) => (icmp cc x y);
    icmp_eq_uext_icmp_zero: int: (icmp eq (uextend (icmp cc x y)) (iconst 0)) => (icmp (invert cc) x y);
    icmp_eq_uext_icmp_one: int: (icmp eq (uextend (icmp cc x y)) (iconst 1)) => (icmp cc x y);
    icmp_ne_uext_icmp_one: int: (icmp ne (uextend (icmp cc x y)) (iconst 1)) => (icmp (invert cc) x y);
    icmp_ne_fcmp_zero: int: (icmp ne (fcmp cc x y) (iconst 0)) => (fcmp cc x y);
    icmp_eq_fcmp_zero: int: (icmp eq (fcmp cc x y) (iconst 0)) => (fcmp (invert cc) x y);
    icmp_ne_uext_fcmp_zero: int: (icmp ne (uextend (fcmp cc x y)) (iconst 0)) => (fcmp cc x y);
    icmp_eq_uext_fcmp_zero: int: (icmp eq (uextend (fcmp cc x y)) (iconst 0)) => (fcmp (invert cc) x y);
    bxor_icmp_one: int: (bxor (icmp cc x y) (iconst 1)) => (icmp (invert cc) x y);
    bxor_fcmp_one: int: (bxor (fcmp cc x y) (iconst 1)) => (fcmp (invert cc) x y);
    band_icmp_one: int: (band (icmp cc x y) (iconst 1)) => (icmp cc x y);
    uextend_icmp_band_one: int: (band (uextend (icmp cc x y)) (iconst 1)) => (uextend (icmp cc x y));
}

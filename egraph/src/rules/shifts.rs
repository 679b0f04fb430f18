//! Shifts and rotates: amounts are taken modulo the lane width, so a zero amount, chained
//! constant shifts and operations that only touch the amount's low bits simplify.
//! `m(k)` below stands for `k mod bits(T)`.

crate::rules! {
    ishl_zero: intv: (ishl x (iconst k)) if (eq (and k (sub (bits T) 1)) 0) => x;
    ushr_zero: intv: (ushr x (iconst k)) if (eq (and k (sub (bits T) 1)) 0) => x;
    sshr_zero: intv: (sshr x (iconst k)) if (eq (and k (sub (bits T) 1)) 0) => x;
    rotl_zero: intv: (rotl x (iconst k)) if (eq (and k (sub (bits T) 1)) 0) => x;
    rotr_zero: intv: (rotr x (iconst k)) if (eq (and k (sub (bits T) 1)) 0) => x;
    shift_of_zero_ishl: int: (ishl (iconst 0) y) => (iconst 0);
    shift_of_zero_ushr: int: (ushr (iconst 0) y) => (iconst 0);
    shift_of_zero_sshr: int: (sshr (iconst 0) y) => (iconst 0);
    sshr_of_ones: int: (sshr (iconst -1) y) => (iconst -1);
    ishl_ishl: int: (ishl (ishl x (iconst a)) (iconst b))
        if (ult (add (and a (sub (bits T) 1)) (and b (sub (bits T) 1))) (bits T))
        => (ishl x (iconst.T (add (and a (sub (bits T) 1)) (and b (sub (bits T) 1)))));
    ishl_ishl_all: int: (ishl (ishl x (iconst a)) (iconst b))
        if (uge (add (and a (sub (bits T) 1)) (and b (sub (bits T) 1))) (bits T))
        => (iconst 0);
    ushr_ushr: int: (ushr (ushr x (iconst a)) (iconst b))
        if (ult (add (and a (sub (bits T) 1)) (and b (sub (bits T) 1))) (bits T))
        => (ushr x (iconst.T (add (and a (sub (bits T) 1)) (and b (sub (bits T) 1)))));
    ushr_ushr_all: int: (ushr (ushr x (iconst a)) (iconst b))
        if (uge (add (and a (sub (bits T) 1)) (and b (sub (bits T) 1))) (bits T))
        => (iconst 0);
    sshr_sshr: int: (sshr (sshr x (iconst a)) (iconst b))
        if (ult (add (and a (sub (bits T) 1)) (and b (sub (bits T) 1))) (bits T))
        => (sshr x (iconst.T (add (and a (sub (bits T) 1)) (and b (sub (bits T) 1)))));
    sshr_sshr_all: int: (sshr (sshr x (iconst a)) (iconst b))
        if (uge (add (and a (sub (bits T) 1)) (and b (sub (bits T) 1))) (bits T))
        => (sshr x (iconst.T (sub (bits T) 1)));
    ushr_ishl_same: int: (ushr (ishl x (iconst k)) (iconst k))
        => (band x (iconst (ushr (umax T) (and k (sub (bits T) 1)))));
    ishl_ushr_same: int: (ishl (ushr x (iconst k)) (iconst k))
        => (band x (iconst (shl (umax T) (and k (sub (bits T) 1)))));
    sshr_ishl_8: int: (sshr (ishl x (iconst k)) (iconst k))
        if (eq (and k (sub (bits T) 1)) (sub (bits T) 8)) => (sextend.T (ireduce.i8 x));
    sshr_ishl_16: int: (sshr (ishl x (iconst k)) (iconst k))
        if (eq (and k (sub (bits T) 1)) (sub (bits T) 16)) => (sextend.T (ireduce.i16 x));
    sshr_ishl_32: int: (sshr (ishl x (iconst k)) (iconst k))
        if (eq (and k (sub (bits T) 1)) (sub (bits T) 32)) => (sextend.T (ireduce.i32 x));
    rotl_rotl: int: (rotl (rotl x (iconst a)) (iconst b))
        => (rotl x (iconst.T (and (add (and a (sub (bits T) 1)) (and b (sub (bits T) 1))) (sub (bits T) 1))));
    rotr_rotr: int: (rotr (rotr x (iconst a)) (iconst b))
        => (rotr x (iconst.T (and (add (and a (sub (bits T) 1)) (and b (sub (bits T) 1))) (sub (bits T) 1))));
    rotl_rotr_same: intv: (rotl (rotr x (iconst k)) (iconst k)) => x;
    rotr_rotl_same: intv: (rotr (rotl x (iconst k)) (iconst k)) => x;
    ishl_amount_uextend: intv: (ishl x (uextend y)) => (ishl x y);
    ushr_amount_uextend: intv: (ushr x (uextend y)) => (ushr x y);
    sshr_amount_uextend: intv: (sshr x (uextend y)) => (sshr x y);
    rotl_amount_uextend: intv: (rotl x (uextend y)) => (rotl x y);
    rotr_amount_uextend: intv: (rotr x (uextend y)) => (rotr x y);
    ishl_amount_sextend: intv: (ishl x (sextend y)) => (ishl x y);
    ushr_amount_sextend: intv: (ushr x (sextend y)) => (ushr x y);
    sshr_amount_sextend: intv: (sshr x (sextend y)) => (sshr x y);
    rotl_amount_sextend: intv: (rotl x (sextend y)) => (rotl x y);
    rotr_amount_sextend: intv: (rotr x (sextend y)) => (rotr x y);
    ishl_amount_ireduce: intv: (ishl x (ireduce y)) => (ishl x y);
    ushr_amount_ireduce: intv: (ushr x (ireduce y)) => (ushr x y);
    sshr_amount_ireduce: intv: (sshr x (ireduce y)) => (sshr x y);
    rotl_amount_ireduce: intv: (rotl x (ireduce y)) => (rotl x y);
    rotr_amount_ireduce: intv: (rotr x (ireduce y)) => (rotr x y);
    ishl_amount_mask: intv: (ishl x (band y (iconst m)))
        if (eq (and m (sub (bits T) 1)) (sub (bits T) 1)) => (ishl x y);
    ushr_amount_mask: intv: (ushr x (band y (iconst m)))
        if (eq (and m (sub (bits T) 1)) (sub (bits T) 1)) => (ushr x y);
    sshr_amount_mask: intv: (sshr x (band y (iconst m)))
        if (eq (and m (sub (bits T) 1)) (sub (bits T) 1)) => (sshr x y);
    rotl_amount_mask: intv: (rotl x (band y (iconst m)))
        if (eq (and m (sub (bits T) 1)) (sub (bits T) 1)) => (rotl x y);
    rotr_amount_mask: intv: (rotr x (band y (iconst m)))
        if (eq (and m (sub (bits T) 1)) (sub (bits T) 1)) => (rotr x y);
}

//! Bitwise identities: idempotence, absorbing and neutral constants, complements,
//! absorption laws, De Morgan, reassociation of constants.

crate::rules! {
    band_self: any: (band x x) => x;
    bor_self: any: (bor x x) => x;
    bxor_self: int: (bxor x x) => (iconst 0);
    band_zero: int: (band x (iconst 0)) => (iconst 0);
    band_ones: int: (band x (iconst -1)) => x;
    bor_zero: int: (bor x (iconst 0)) => x;
    bor_ones: int: (bor x (iconst -1)) => (iconst -1);
    bxor_zero: int: (bxor x (iconst 0)) => x;
    bxor_ones: int: (bxor x (iconst -1)) => (bnot x);
    bnot_bnot: any: (bnot (bnot x)) => x;
    band_const_assoc: int: (band (band x (iconst a)) (iconst b)) => (band x (iconst (and a b)));
    bor_const_assoc: int: (bor (bor x (iconst a)) (iconst b)) => (bor x (iconst (or a b)));
    bxor_const_assoc: int: (bxor (bxor x (iconst a)) (iconst b)) => (bxor x (iconst (xor a b)));
    band_bnot_self_right: int: (band x (bnot x)) => (iconst 0);
    band_bnot_self_left: int: (band (bnot x) x) => (iconst 0);
    bor_bnot_self_right: int: (bor x (bnot x)) => (iconst -1);
    bor_bnot_self_left: int: (bor (bnot x) x) => (iconst -1);
    bxor_bnot_self: int: (bxor x (bnot x)) => (iconst -1);
    band_absorb_right: any: (band x (bor x y)) => x;
    band_absorb_left: any: (band (bor x y) x) => x;
    bor_absorb_right: any: (bor x (band x y)) => x;
    bor_absorb_left: any: (bor (band x y) x) => x;
    bxor_cancel_right: any: (bxor (bxor x y) y) => x;
    bxor_cancel_left: any: (bxor (bxor x y) x) => y;
    demorgan_band: any: (band (bnot x) (bnot y)) => (bnot (bor x y));
    demorgan_bor: any: (bor (bnot x) (bnot y)) => (bnot (band x y));
    bxor_bnot_both: any: (bxor (bnot x) (bnot y)) => (bxor x y);
    bnot_bxor_const: int: (bnot (bxor x (iconst c))) => (bxor x (iconst (not c)));
    isub_ones_is_bnot: int: (isub (iconst -1) x) => (bnot x);
    iadd_bnot_one_is_ineg: int: (iadd (bnot x) (iconst 1)) => (ineg x);
    band_ushr_mask: int: (band (ushr x (iconst k)) (iconst m))
        if (eq (and m (ushr (umax T) (and k (sub (bits T) 1)))) (ushr (umax T) (and k (sub (bits T) 1))))
        => (ushr x (iconst k));
    band_ishl_mask: int: (band (ishl x (iconst k)) (iconst m))
        if (eq (and m (shl (umax T) (and k (sub (bits T) 1)))) (shl (umax T) (and k (sub (bits T) 1))))
        => (ishl x (iconst k));
}

//! Division and remainder by constants (strength reduction). These opcodes are e-nodes only
//! when their constant divisor rules out a trap (see `egraph::build`), so every rewrite here
//! is exact: powers of two become shifts and masks (with the rounding fix-up for signed
//! division), other divisors a multiply-high by a magic number (`builders`).

crate::rules! {
    udiv_one: int: (udiv x (iconst 1)) => x;
    sdiv_one: int: (sdiv x (iconst 1)) => x;
    urem_one: int: (urem x (iconst 1)) => (iconst 0);
    srem_one: int: (srem x (iconst 1)) => (iconst 0);
    srem_neg_one: int: (srem x (iconst -1)) => (iconst 0);
    udiv_pow2: int: (udiv x (iconst c)) if (pow2 c) => (ushr x (iconst.T (log2 c)));
    urem_pow2: int: (urem x (iconst c)) if (pow2 c) => (band x (iconst (sub c 1)));
    sdiv_pow2: int: (sdiv x (iconst c)) if (pow2 c) (sgt c 1) => (call sdiv_pow2 x c);
    sdiv_neg_pow2: int: (sdiv x (iconst c)) if (neg_pow2 c) (ne c (smin T)) => (call sdiv_neg_pow2 x c);
    srem_pow2: int: (srem x (iconst c)) if (or (and (pow2 c) (sgt c 1)) (and (neg_pow2 c) (ne c (smin T))))
        => (call srem_pow2 x c);
    udiv_magic: i32_64: (udiv x (iconst c)) if (not (pow2 c)) (ugt c 1) => (call udiv_magic x c);
    urem_magic: i32_64: (urem x (iconst c)) if (not (pow2 c)) (ugt c 1) => (call urem_magic x c);
    sdiv_magic: i32_64: (sdiv x (iconst c)) if (not (pow2 c)) (not (neg_pow2 c)) (ne c 1) (ne c -1)
        => (call sdiv_magic x c);
    srem_magic: i32_64: (srem x (iconst c)) if (not (pow2 c)) (not (neg_pow2 c)) (ne c 1) (ne c -1)
        => (call srem_magic x c);
}

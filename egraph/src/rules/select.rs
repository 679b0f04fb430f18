//! `select` and `bmask`: equal arms, constant conditions, conditions that only matter as
//! zero/non-zero (extensions, `bmask`, `!= 0`), selects that are min/max, `select (x == y) x
//! y`, and selects of 0/1 or 0/-1 that are extensions or masks of the condition.

crate::rules! {
    select_same: any: (select c x x) => x;
    select_const_true: any: (select (iconst c) x y) if (ne c 0) => x;
    select_const_false: any: (select (iconst 0) x y) => y;
    select_cond_uextend: any: (select (uextend c) x y) => (select c x y);
    select_cond_sextend: any: (select (sextend c) x y) => (select c x y);
    select_cond_bmask: any: (select (bmask c) x y) => (select c x y);
    select_cond_ne_zero: any: (select (icmp ne c (iconst 0)) x y) => (select c x y);
    select_cond_eq_zero: any: (select (icmp eq c (iconst 0)) x y) => (select c y x);
    select_eq_arms: wint: (select (icmp eq x y) x y) => y;
    select_ne_arms: wint: (select (icmp ne x y) x y) => x;
    select_sgt_is_smax: int: (select (icmp sgt x y) x y) => (smax x y);
    select_sge_is_smax: int: (select (icmp sge x y) x y) => (smax x y);
    select_slt_is_smin: int: (select (icmp slt x y) x y) => (smin x y);
    select_sle_is_smin: int: (select (icmp sle x y) x y) => (smin x y);
    select_ugt_is_umax: int: (select (icmp ugt x y) x y) => (umax x y);
    select_uge_is_umax: int: (select (icmp uge x y) x y) => (umax x y);
    select_ult_is_umin: int: (select (icmp ult x y) x y) => (umin x y);
    select_ule_is_umin: int: (select (icmp ule x y) x y) => (umin x y);
    select_sgt_swapped: int: (select (icmp sgt x y) y x) => (smin x y);
    select_sge_swapped: int: (select (icmp sge x y) y x) => (smin x y);
    select_slt_swapped: int: (select (icmp slt x y) y x) => (smax x y);
    select_sle_swapped: int: (select (icmp sle x y) y x) => (smax x y);
    select_ugt_swapped: int: (select (icmp ugt x y) y x) => (umin x y);
    select_uge_swapped: int: (select (icmp uge x y) y x) => (umin x y);
    select_ult_swapped: int: (select (icmp ult x y) y x) => (umax x y);
    select_ule_swapped: int: (select (icmp ule x y) y x) => (umax x y);
    select_bool_to_i8: int: (select (icmp cc x y) (iconst 1) (iconst 0)) if (ty_eq T i8) => (icmp cc x y);
    select_bool_to_int: int: (select (icmp cc x y) (iconst 1) (iconst 0)) => (uextend.T (icmp cc x y));
    select_bool_to_int_inverted: int: (select (icmp cc x y) (iconst 0) (iconst 1))
        => (uextend.T (icmp (invert cc) x y));
    select_mask: int: (select c (iconst -1) (iconst 0)) => (bmask.T c);
    select_inverted_mask: int: (select c (iconst 0) (iconst -1)) => (bnot (bmask.T c));
    select_bool_to_mask: int: (select (icmp cc x y) (iconst -1) (iconst 0)) => (bmask.T (icmp cc x y));
}

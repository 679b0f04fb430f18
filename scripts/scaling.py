#!/usr/bin/env python3
"""Scaling benchmark: compile-time growth of Kiln against Cranelift on hostile input shapes.

Generates one function per shape and size (issue 17's list), compiles each with
`clif-util bench compile` (Kiln) and `anchor clif-compile` (Cranelift 0.135.8) in the same
run, and prints the time of each and the ratio Kiln / Cranelift. The compile column is the
time the tools report for compiling the function (parsing excluded; one compilation, or, when
that takes under a second, the median of five after a warm-up one); the wall column is the
whole process (parse + verify + compile twice + exit), which is the figure that matters for
the shapes that stress the parser (`aliases`, `params`). `params` also runs its `; run:`
line (`clif-util run` against `anchor clif-run`).

usage: scripts/scaling.py [--sizes 1000,10000,100000] [--shapes a,b] [--rounds N]
                          [--timeout SECONDS] [--keep DIR]

Shapes (n = size; both readers stop at 100,000 blocks and Cranelift at 65,535 block
parameters, hence the largest sizes of `diamonds` (3 blocks each), `jumps` and `params`):
  live      n values live at once: v_i = iadd v0, c_i, then all summed
  diamonds  a chain of n if/else diamonds, each joining with a block parameter
  jumps     n blocks that only jump to the next
  loops     n nested loops (Cranelift is quadratic here too: 30k instead of 100k)
  opt       the optimizer (opt_level=speed) on a single block of n values
  aliases   a chain of n value aliases `vK -> vK-1`, then used (parser)
  params    a block with n parameters on one line, jumped to with n arguments, summed

Needs target/release/clif-util and target/anchor/release/anchor (see README); the
environment variables KILN_CLIF_UTIL and ANCHOR override the two paths. A run that
takes longer than --timeout (default 300 s) is shown as `>T`. Timings are medians of
--rounds process runs (default 1), the tools alternating.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KILN = os.environ.get("KILN_CLIF_UTIL", os.path.join(ROOT, "target", "release", "clif-util"))
ANCHOR = os.environ.get("ANCHOR", os.path.join(ROOT, "target", "anchor", "release", "anchor"))


def gen_live(n):
    out = ["function %live(i64) -> i64 {", "block0(v0: i64):"]
    for i in range(1, n + 1):
        out.append(f"    v{2 * i} = iconst.i64 {i}")
        out.append(f"    v{2 * i + 1} = iadd v0, v{2 * i}")
    acc = 3
    nxt = 2 * n + 2
    for i in range(2, n + 1):
        out.append(f"    v{nxt} = iadd v{acc}, v{2 * i + 1}")
        acc = nxt
        nxt += 1
    out += [f"    return v{acc}", "}"]
    return out


def gen_diamonds(n):
    out = ["function %diamonds(i64) -> i64 {", "block0(v0: i64):", "    v1 = iconst.i64 1",
           "    v2 = iconst.i64 3", "    v3 = iconst.i64 5", "    jump block1(v0)"]
    v = 4
    for i in range(n):
        h, t, e, j = 1 + 3 * i, 2 + 3 * i, 3 + 3 * i, 4 + 3 * i
        x = v
        out += [f"block{h}(v{x}: i64):", f"    v{x + 1} = band v{x}, v1", f"    brif v{x + 1}, block{t}, block{e}"]
        out += [f"block{t}:", f"    v{x + 2} = iadd v{x}, v2", f"    jump block{j}(v{x + 2})"]
        out += [f"block{e}:", f"    v{x + 3} = imul v{x}, v3", f"    jump block{j}(v{x + 3})"]
        v = x + 4
    out += [f"block{1 + 3 * n}(v{v}: i64):", f"    return v{v}", "}"]
    return out


def gen_jumps(n):
    out = ["function %jumps(i64) -> i64 {", "block0(v0: i64):", "    jump block1"]
    for i in range(1, n):
        out += [f"block{i}:", f"    jump block{i + 1}"]
    out += [f"block{n}:", "    return v0", "}"]
    return out


def gen_loops(n):
    # h_i = block i (1..n) is the header of loop i; l_i = block n+i is its latch.
    # h_i jumps into h_{i+1}; the innermost loop's body branches back to itself or
    # leaves to l_{n-1}; l_i branches back to h_i or leaves to l_{i-1}; l_0 returns.
    out = ["function %loops(i64) -> i64 {", "block0(v0: i64):", "    v1 = iconst.i64 1",
           "    v2 = iconst.i64 3", "    jump block1(v0)"]
    val = 3
    for i in range(1, n):
        out += [f"block{i}(v{val}: i64):", f"    jump block{i + 1}(v{val})"]
        val += 1
    out += [
        f"block{n}(v{val}: i64):",
        f"    v{val + 1} = iadd v{val}, v1",
        f"    v{val + 2} = icmp ult v{val + 1}, v2",
        f"    brif v{val + 2}, block{n}(v{val + 1}), block{2 * n - 1}(v{val + 1})",
    ]
    val += 3
    for i in range(n - 1, 0, -1):
        exit_to = n + i - 1 if i > 1 else 2 * n
        out += [
            f"block{n + i}(v{val}: i64):",
            f"    v{val + 1} = iadd v{val}, v1",
            f"    v{val + 2} = icmp ult v{val + 1}, v2",
            f"    brif v{val + 2}, block{i + 1}(v{val + 1}), block{exit_to}(v{val + 1})",
        ]
        val += 3
    out += [f"block{2 * n}(v{val}: i64):", f"    return v{val}", "}"]
    return out


def gen_opt(n):
    # A single block of n values: a dependency chain with constants, redundant
    # expressions (GVN), algebraic identities and values used much later.
    out = ["function %opt(i64, i64) -> i64 {", "block0(v0: i64, v1: i64):"]
    v = 2
    prev, prev2 = 0, 1
    while v < n:
        k = v
        out += [
            f"    v{k} = iconst.i64 {v % 977 + 1}",
            f"    v{k + 1} = iadd v{prev}, v{k}",
            f"    v{k + 2} = iadd v{prev}, v{k}",
            f"    v{k + 3} = imul v{k + 1}, v{prev2}",
            f"    v{k + 4} = bxor v{k + 3}, v{k + 2}",
            f"    v{k + 5} = ishl v{k + 4}, v{k}",
            f"    v{k + 6} = isub v{k + 5}, v{k + 1}",
            f"    v{k + 7} = iadd v{k + 6}, v{max(0, k - 1000)}",
        ]
        prev2, prev = prev, k + 7
        v += 8
    out += [f"    return v{prev}", "}"]
    return out


def gen_aliases(n):
    out = ["function %aliases(i64) -> i64 {", "block0(v0: i64):", "    v1 = iadd v0, v0"]
    for k in range(2, n + 2):
        out.append(f"    v{k} -> v{k - 1}")
    out += [f"    v{n + 2} = iadd.i64 v{n + 1}, v0", f"    return v{n + 2}", "}"]
    return out


def gen_params(n):
    args = ", ".join("v0" for _ in range(n))
    params = ", ".join(f"v{k}: i64" for k in range(1, n + 1))
    out = ["test run", "function %params(i64) -> i64 {", "block0(v0: i64):", f"    jump block1({args})"]
    out.append(f"block1({params}):")
    acc = 1
    nxt = n + 1
    for k in range(2, n + 1):
        out.append(f"    v{nxt} = iadd v{acc}, v{k}")
        acc = nxt
        nxt += 1
    out += [f"    return v{acc}", "}", f"; run: %params(1) == {n}"]
    return out


SHAPES = {
    "live": (gen_live, "none", [1000, 10000, 100000]),
    "diamonds": (gen_diamonds, "none", [1000, 10000, 30000]),
    "jumps": (gen_jumps, "none", [1000, 10000, 99000]),
    "loops": (gen_loops, "none", [1000, 10000, 30000]),
    "opt": (gen_opt, "speed", [1000, 10000, 100000]),
    "aliases": (gen_aliases, "none", [1000, 10000, 100000]),
    "params": (gen_params, "none", [1000, 10000, 40000]),
}


def timed(cmd, timeout):
    """Run cmd; return (wall seconds or None on timeout, stdout, ok)."""
    start = time.perf_counter()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "", False
    return time.perf_counter() - start, p.stdout + p.stderr, p.returncode == 0


def reported_ms(text):
    m = re.search(r"compile time/iter:\s+([0-9.]+) ms", text)
    return float(m.group(1)) / 1e3 if m else None


def steady(cmd, first, timeout):
    """A compile time under a second is measured again after a warm-up iteration, as the
    median of five (a single cold compilation is dominated by first-touch page faults)."""
    if first is None or first >= 1.0:
        return first
    cmd = [c for c in cmd]
    i = cmd.index("--iters")
    cmd[i + 1] = "5"
    j = cmd.index("--warmup")
    cmd[j + 1] = "1"
    w, out, ok = timed(cmd, timeout)
    t = reported_ms(out) if w is not None and ok else None
    return t if t is not None else first


def fmt(t, timeout, failed=False):
    if failed:
        return "fail"
    if t is None:
        return f">{timeout:.0f}s"
    return f"{t:.3f}s" if t < 10 else f"{t:.1f}s"


def ratio(k, a):
    if k is None or a is None:
        return "-"
    return f"{k / max(a, 1e-4):.2f}x"


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", help="comma-separated sizes instead of each shape's default")
    ap.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated shapes")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--keep", help="write the generated files to this folder and keep them")
    args = ap.parse_args()
    for tool in (KILN, ANCHOR):
        if not os.access(tool, os.X_OK):
            sys.exit(f"missing {tool} (see README: build clif-util, and the anchor)")
    tmp = args.keep or tempfile.mkdtemp(prefix="kiln-scaling-")
    os.makedirs(tmp, exist_ok=True)
    print(f"{'shape':<9} {'n':>7} {'insts':>8} | {'kiln compile':>12} {'cl compile':>11} {'ratio':>7} |"
          f" {'kiln wall':>10} {'cl wall':>9} {'ratio':>7} | {'kiln run':>9} {'cl run':>8}")
    failures = 0
    for shape in args.shapes.split(","):
        gen, opt, sizes = SHAPES[shape]
        if args.sizes:
            sizes = [int(s) for s in args.sizes.split(",")]
        for n in sizes:
            path = os.path.join(tmp, f"{shape}-{n}.clif")
            lines = gen(n)
            with open(path, "w") as f:
                f.write("\n".join(lines) + "\n")
            insts = sum(1 for l in lines if l.startswith("    ") and "->" not in l.split("=")[0])
            k_c, a_c, k_w, a_w, k_r, a_r = [], [], [], [], [], []
            k_fail = a_fail = False
            for _ in range(args.rounds):
                kc = [KILN, "bench", "compile", "--opt", opt, "--iters", "1", "--warmup", "0", path]
                ac = [ANCHOR, "clif-compile", path, "--opt", opt, "--iters", "1", "--warmup", "0"]
                w, out, ok = timed(kc, args.timeout)
                if w is not None and (not ok or reported_ms(out) is None):
                    print(f"  kiln failed on {path}: {out.strip()[:300]}")
                    failures += 1
                    k_fail = True
                k_w.append(w)
                k_c.append(steady(kc, reported_ms(out) if w is not None else None, args.timeout))
                w, out, ok = timed(ac, args.timeout)
                if w is not None and (not ok or reported_ms(out) is None):
                    print(f"  cranelift failed on {path}: {out.strip()[:300]}")
                    a_fail = True
                a_w.append(w)
                a_c.append(steady(ac, reported_ms(out) if w is not None else None, args.timeout))
                if shape == "params":
                    w, out, ok = timed([KILN, "run", path], args.timeout)
                    if w is not None and not ok:
                        print(f"  kiln run failed on {path}: {out.strip()[:300]}")
                        failures += 1
                    k_r.append(w)
                    w, out, ok = timed([ANCHOR, "clif-run", path], args.timeout)
                    a_r.append(w)
            T = args.timeout
            kc, ac, kw, aw = median(k_c), median(a_c), median(k_w), median(a_w)
            # A timed-out Kiln run shows as >T (never as a ratio against a finished anchor).
            run_cols = ""
            if shape == "params":
                run_cols = f" {fmt(median(k_r), T):>9} {fmt(median(a_r), T):>8}"
            print(f"{shape:<9} {n:>7} {insts:>8} | {fmt(kc, T, k_fail):>12} {fmt(ac, T, a_fail):>11} {ratio(kc, ac):>7} |"
                  f" {fmt(kw, T):>10} {fmt(aw, T):>9} {ratio(kw, aw):>7} |{run_cols}", flush=True)
    if not args.keep:
        for f in os.listdir(tmp):
            os.remove(os.path.join(tmp, f))
        os.rmdir(tmp)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# The whole performance comparison of issue 16 in one go, printed as one table:
#   1. generated code: the eight kernels of shared/bench/kernels/wasm at opt_level=speed,
#      Kiln (`clif-util wasm run`) against Wasmtime (`anchor wasm-run`) in alternating
#      rounds (scripts/compare-wasm-run.sh), and the native build (gcc -O2, the kernels'
#      NATIVE_CFLAGS; built into target/native, shared/ is not written);
#   2. compile speed on shared/bench/clif/sqlite.clif, one thread, at opt_level=none and
#      speed (scripts/compare-compile.sh: throughput ratio and code size ratio);
#   3. whole-module Wasm compile time at one thread (scripts/compare-wasm-compile.sh);
#   4. peak memory (max RSS) compiling sqlite.clif, Kiln against Cranelift.
# Every ratio is measured side by side in this run; all figures are medians of --rounds.
#
# usage: scripts/perf-report.sh [--rounds N] [--quick]
#   --quick: 3 rounds, and only sql-wasm for the module compile (for a first look)
# needs: target/anchor/release/anchor, a release clif-util, gcc.
set -euo pipefail
rounds=5; quick=0
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --quick) quick=1; rounds=3; shift ;;
    *) echo "usage: $0 [--rounds N] [--quick]" >&2; exit 2 ;;
  esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${KILN_SHARED_DIR:-$root/../shared}
[ -d "$shared/bench/kernels" ] || shared=$(cd "$root/../.." && pwd)/shared
kdir=$shared/bench/kernels
anchor=$root/target/anchor/release/anchor
kiln=$root/target/release/clif-util
[ -x "$anchor" ] || { echo "missing $anchor: build shared/tools/anchor (see README)" >&2; exit 2; }
[ -x "$kiln" ] || { echo "missing $kiln: cargo build --release -p kiln-filetests" >&2; exit 2; }
command -v gcc >/dev/null || { echo "missing gcc (for the native kernels)" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# 1. Kernels: Kiln and Wasmtime, then native.
"$root/scripts/compare-wasm-run.sh" --rounds "$rounds" > "$tmp/run.txt"
ndir=$root/target/native; mkdir -p "$ndir"
declare -A native
while IFS=$'\t' read -r k n sum _; do
  [ "$k" = kernel ] && continue
  gcc -O2 -fno-math-errno -ffp-contract=off -c -o "$ndir/$k.o" "$kdir/$k.c"
  gcc -O2 -o "$ndir/$k.native" "$kdir/driver.c" "$ndir/$k.o"
  out=$("$ndir/$k.native" "$n" "$rounds")
  got=$(echo "$out" | sed 's/.*checksum=\([-0-9]*\).*/\1/')
  [ "$got" = "$sum" ] || { echo "$k native: checksum $got, expected $sum" >&2; exit 1; }
  native[$k]=$(echo "$out" | sed 's/.*median_ms=\([0-9.]*\).*/\1/')
done < "$kdir/expected.tsv"

# 2. Compile speed and code size on sqlite.clif.
sqlite=$shared/bench/clif/sqlite.clif
for opt in none speed; do
  "$root/scripts/compare-compile.sh" --opt "$opt" --rounds "$rounds" "$sqlite" > "$tmp/compile-$opt.txt"
done

# 3. Module compile, one thread.
mods=("$shared"/bench/modules/*.wasm)
[ "$quick" = 1 ] && mods=("$shared"/bench/modules/sql-wasm.wasm)
"$root/scripts/compare-wasm-compile.sh" --rounds "$rounds" --threads 1 "${mods[@]}" > "$tmp/modules.txt"

# 4. Peak memory compiling sqlite.clif (one thread, opt_level=speed).
rss() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -n 1; }
kiln_rss=$(rss "$kiln" bench compile --opt speed --iters 1 --warmup 0 --threads 1 "$sqlite")
cl_rss=$(rss "$anchor" clif-compile --opt speed --iters 1 --warmup 0 "$sqlite")

# The table.
echo "== generated code (opt_level=speed; ms per call, medians of $rounds rounds)"
printf '%-8s %10s %10s %10s %12s %12s\n' kernel wasmtime kiln native kiln/wasmtime kiln/native
awk 'NR>1 && NF==4' "$tmp/run.txt" | while read -r k wt ki r; do
  nat=${native[$k]}
  printf '%-8s %10.1f %10.1f %10.1f %12s %12.2f\n' "$k" "$wt" "$ki" "$nat" "$r" "$(awk -v a="$ki" -v b="$nat" 'BEGIN {print a/b}')"
done
grep '^geomean' "$tmp/run.txt"
awk 'NR>1 && NF==4 {print $1, $3}' "$tmp/run.txt" | while read -r k ki; do echo "${native[$k]} $ki"; done |
  awk '{s+=log($2/$1); n++} END {printf "geomean ratio kiln/native: %.3f\n", exp(s/n)}'
echo
echo "== compile speed, sqlite.clif, one thread (goal: >= 2.0x at none, >= 1.5x at speed)"
for opt in none speed; do
  printf 'opt_level=%-5s %s\n' "$opt" "$(grep 'ratio kiln/cranelift' "$tmp/compile-$opt.txt" | sed 's/^ *//')"
  printf '%16s%s\n' '' "$(grep 'common functions' "$tmp/compile-$opt.txt" | sed 's/^ *//')"
done
echo
echo "== module compile, one thread (wasmtime ms / kiln ms; goal >= 1.5x)"
grep -v '^module' "$tmp/modules.txt" | awk '{printf "%-16s %10s %10s %8sx\n", $1, $3, $4, $5}'
echo
echo "== peak memory compiling sqlite.clif (max RSS)"
printf 'kiln %d KB, cranelift %d KB: ratio %.2f\n' "$kiln_rss" "$cl_rss" "$(awk -v a="$kiln_rss" -v b="$cl_rss" 'BEGIN {print a/b}')"

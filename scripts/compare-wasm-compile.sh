#!/usr/bin/env bash
# Module compile-time comparison of Kiln with Wasmtime (Cranelift): for each module,
# alternating rounds of `anchor wasm-compile` and `clif-util wasm compile` (validation,
# translation, compilation and linking into executable memory, a fresh engine per
# iteration on both sides), on one thread and on all cores; then the median times and the
# ratio Wasmtime/Kiln (> 1: Kiln is faster) per module and thread count.
#
# usage: scripts/compare-wasm-compile.sh [--rounds N] [--iters N] [--threads 1|all|both] MODULE.wasm...
#        (default: the three modules of shared/bench/modules)
# needs: target/anchor/release/anchor (see README) and a release build of clif-util.
set -euo pipefail
rounds=3; iters=1; threads=both
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) break ;;
  esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${KILN_SHARED_DIR:-$root/../shared}
[ -d "$shared/bench/modules" ] || shared=$(cd "$root/../.." && pwd)/shared
anchor=$root/target/anchor/release/anchor
kiln=$root/target/release/clif-util
[ -x "$anchor" ] || { echo "missing $anchor: build shared/tools/anchor (see README)" >&2; exit 2; }
[ -x "$kiln" ] || { echo "missing $kiln: cargo build --release -p kiln-filetests" >&2; exit 2; }
modules=("$@")
[ ${#modules[@]} -gt 0 ] || modules=("$shared/bench/modules/sql-wasm.wasm" "$shared/bench/modules/canvaskit.wasm" "$shared/bench/modules/esbuild.wasm")
case "$threads" in
  both) modes=(1 all) ;;
  *) modes=("$threads") ;;
esac

med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ctime() { grep '^  compile time:' | awk '{print $3}'; }

printf '%-16s %7s %14s %14s %9s\n' module threads "wasmtime ms" "kiln ms" "wt/kiln"
for m in "${modules[@]}"; do
  for t in "${modes[@]}"; do
    kt=$t; [ "$t" = all ] && kt=0
    a=(); b=()
    for r in $(seq "$rounds"); do
      a+=("$("$anchor" wasm-compile "$m" --threads "$t" --iters "$iters" | ctime)")
      b+=("$("$kiln" wasm compile "$m" --threads "$kt" --iters "$iters" | ctime)")
    done
    ma=$(med "${a[@]}"); mb=$(med "${b[@]}")
    printf '%-16s %7s %14.1f %14.1f %9.2f   (rounds: wasmtime %s; kiln %s)\n' "$(basename "$m")" "$t" "$ma" "$mb" \
      "$(awk -v a="$ma" -v b="$mb" 'BEGIN {print a/b}')" "${a[*]}" "${b[*]}"
  done
done

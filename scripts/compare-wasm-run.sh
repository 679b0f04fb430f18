#!/usr/bin/env bash
# Run-time comparison of Kiln's Wasm runtime with Wasmtime (Cranelift) on the execution
# kernels of shared/bench/kernels: alternating rounds of `anchor wasm-run` and
# `clif-util wasm run` on each kernel with the n of expected.tsv, checking the checksums,
# then per kernel the median call time of each over the rounds, the ratio Kiln/Wasmtime,
# and the geometric mean of the ratios. Each round takes the median of `--iters` calls
# (after one warm-up call) on one instance, so compile and instantiate time are excluded.
#
# usage: scripts/compare-wasm-run.sh [--rounds N] [--iters N] [KERNEL...]
# needs: target/anchor/release/anchor (see README) and a release build of clif-util.
set -euo pipefail
rounds=5; iters=3
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    *) break ;;
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
kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || kernels=($(awk 'NR>1 {print $1}' "$kdir/expected.tsv"))

med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
call_ms() { grep '^  call time:' | awk '{print $3}'; }
checksum() { sed -n 's/^call: .* -> \[\(.*\)\]$/\1/p'; }

printf '%-8s %12s %12s %8s\n' kernel "wasmtime ms" "kiln ms" ratio
ratios=()
for k in "${kernels[@]}"; do
  n=$(awk -v k="$k" '$1==k {print $2}' "$kdir/expected.tsv")
  want=$(awk -v k="$k" '$1==k {print $3}' "$kdir/expected.tsv")
  wasm=$kdir/wasm/$k.wasm
  a=(); b=()
  for r in $(seq "$rounds"); do
    oa=$("$anchor" wasm-run "$wasm" run "$n" --iters "$iters" --warmup 1)
    ob=$("$kiln" wasm run "$wasm" run "$n" --iters "$iters" --warmup 1)
    for o in "$oa" "$ob"; do
      got=$(echo "$o" | checksum)
      [ "$got" = "$want" ] || { echo "$k: checksum $got, expected $want" >&2; exit 1; }
    done
    a+=("$(echo "$oa" | call_ms)"); b+=("$(echo "$ob" | call_ms)")
  done
  ma=$(med "${a[@]}"); mb=$(med "${b[@]}")
  ratio=$(awk -v a="$ma" -v b="$mb" 'BEGIN {printf "%.3f", b/a}')
  ratios+=("$ratio")
  printf '%-8s %12.1f %12.1f %8s\n' "$k" "$ma" "$mb" "$ratio"
done
printf '%s\n' "${ratios[@]}" | awk '{s+=log($1); n++} END {printf "geomean ratio kiln/wasmtime: %.3f (%d kernels, %s rounds x %s calls, medians)\n", exp(s/n), n, '"$rounds"', '"$iters"'}'

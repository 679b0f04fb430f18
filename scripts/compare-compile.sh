#!/usr/bin/env bash
# Compile-speed and code-size comparison of Kiln with Cranelift on the same CLIF files,
# measured in one run: alternating rounds of `anchor clif-compile` and
# `clif-util bench compile`, then the medians of each and their ratios. Both reuse one
# compilation context per file (Cranelift with `--reuse-context`, as Wasmtime does), and
# both time only the compilation of each function on one thread.
#
# usage: scripts/compare-compile.sh [--opt none|speed] [--rounds N] [--iters N] FILE...
# needs: target/anchor/release/anchor (see README) and a release build of clif-util.
set -euo pipefail
opt=none; rounds=3; iters=5
while [ $# -gt 0 ]; do
  case "$1" in
    --opt) opt=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--opt LEVEL] [--rounds N] [--iters N] FILE..." >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
anchor=$root/target/anchor/release/anchor
kiln=$root/target/release/clif-util
[ -x "$anchor" ] || { echo "missing $anchor: build shared/tools/anchor (see README)" >&2; exit 2; }
[ -x "$kiln" ] || { echo "missing $kiln: cargo build --release -p kiln-filetests" >&2; exit 2; }

# The last "throughput" / "machine code bytes" / "functions" lines are the totals.
field() { grep "^  $1:" | tail -1 | awk -F: '{print $2}' | awk '{print $1}'; }
a_tp=(); k_tp=()
for r in $(seq "$rounds"); do
  a=$("$anchor" clif-compile "$@" --opt "$opt" --iters "$iters" --reuse-context 2>/dev/null)
  k=$("$kiln" bench compile --opt "$opt" --iters "$iters" "$@")
  a_tp+=("$(echo "$a" | field throughput)"); k_tp+=("$(echo "$k" | field throughput)")
  a_bytes=$(echo "$a" | field "machine code bytes"); k_bytes=$(echo "$k" | field "machine code bytes")
  a_fn=$(echo "$a" | field "functions"); k_fn=$(echo "$k" | field "functions")
done
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
am=$(med "${a_tp[@]}"); km=$(med "${k_tp[@]}")
echo "opt_level=$opt, $rounds rounds x $iters iterations, files: $*"
echo "  cranelift: $a_fn functions, $a_bytes bytes, throughput median $am insts/s (rounds: ${a_tp[*]})"
echo "  kiln:      $k_fn functions, $k_bytes bytes, throughput median $km insts/s (rounds: ${k_tp[*]})"
awk -v a="$am" -v k="$km" -v ab="$a_bytes" -v kb="$k_bytes" \
  'BEGIN { printf "  ratio kiln/cranelift: throughput %.2fx, code size %.3fx\n", k/a, kb/ab }'

# Each round runs Cranelift then Kiln back to back, so the ratio within a round is less
# exposed to the machine's drift between rounds than the ratio of the two medians.
pr=(); for i in "${!a_tp[@]}"; do pr+=("$(awk -v a="${a_tp[$i]}" -v k="${k_tp[$i]}" 'BEGIN { printf "%.3f", k/a }')"); done
echo "  per-round throughput ratios (kiln/cranelift in the same round): ${pr[*]}; median $(med "${pr[@]}")"

# Code size over the functions both compilers compiled (Kiln skips functions using
# features it does not support yet, e.g. SIMD; Cranelift's total would include them).
per_func() { awk '/^file:/ {f=$2} NF>=3 && $2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ {print f"/"$1, $3}'; }
a_pf=$("$anchor" clif-compile "$@" --opt "$opt" --iters 1 --warmup 0 --per-func 2>/dev/null | per_func)
k_pf=$("$kiln" bench compile --opt "$opt" --iters 1 --warmup 0 --per-func "$@" | per_func)
join <(echo "$a_pf" | sort) <(echo "$k_pf" | sort) | awk '{n++; a+=$2; k+=$3} END {
  printf "  common functions: %d; code size cranelift %d, kiln %d bytes: ratio %.3fx\n", n, a, k, k/a }'

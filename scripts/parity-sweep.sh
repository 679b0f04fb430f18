#!/usr/bin/env bash
# Cranelift parity sweep on x86-64: every `.clif` file with a `target x86_64` line and a
# `test run` line — under shared/clif/runtests-sample/ and the repository's
# filetests/filetests/ (or the FILE/DIR arguments) — runs through the anchor (real
# Cranelift, `anchor clif-run --vectors`) and through Kiln (`clif-util run` on the file's
# x86_64 target lines only: a temporary copy without the other targets), and the files
# are classified by the two outcomes. The list that matters is "Cranelift passes, Kiln
# does not"; the script exits 1 if it is not empty.
#
#   scripts/parity-sweep.sh [--verbose] [FILE|DIR]...
#
# A file passes when the tool exits with status 0 and reports no failure; the anchor's
# SKIP lines (features this host lacks, unsupported signatures) make the file "skipped" if
# nothing passed. The anchor has no trap handling: a run line that traps kills it, which
# counts as a Cranelift failure. Needs target/release/clif-util (built here if missing) and
# target/anchor/release/anchor (see README: build the anchor harness once).
set -uo pipefail

cd "$(dirname "$0")/.."
shared="${KILN_SHARED_DIR:-$(cd .. && pwd)/shared}"
anchor=target/anchor/release/anchor
kiln=target/release/clif-util
verbose=0
paths=()
for a in "$@"; do
    case "$a" in
    --verbose | -v) verbose=1 ;;
    *) paths+=("$a") ;;
    esac
done
[ ${#paths[@]} -eq 0 ] && paths=("$shared/clif/runtests-sample" filetests/filetests)
[ -x "$anchor" ] || { echo "error: $anchor missing (build the anchor harness, see README)" >&2; exit 2; }
[ -x "$kiln" ] || cargo build --release -q -p kiln-filetests || exit 2

files=$(for p in "${paths[@]}"; do
    if [ -d "$p" ]; then find "$p" -name '*.clif'; else echo "$p"; fi
done | sort | while read -r f; do
    grep -q '^target x86_64' "$f" && grep -q '^test run' "$f" && echo "$f"
done)

# outcome TOOL-OUTPUT STATUS -> pass | fail | skip
outcome() {
    local out=$1 status=$2
    local summary
    summary=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    if [ -z "$summary" ]; then
        echo fail
        return
    fi
    local passed failed
    passed=$(echo "$summary" | sed -E 's/^([0-9]+) passed.*/\1/')
    failed=$(echo "$summary" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    if [ "$failed" -eq 0 ] && [ "$passed" -eq 0 ]; then
        echo skip
    elif [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then
        echo fail
    else
        echo pass
    fi
}

tmp=$(mktemp --suffix=.clif)
trap 'rm -f "$tmp"' EXIT
declare -A count
regressions=()
total=0
for f in $files; do
    total=$((total + 1))
    a_out=$(timeout 120 "$anchor" clif-run --vectors "$f" 2>&1)
    a_status=$?
    # Kiln runs the file's x86_64 target lines only (clif-util run would also run the
    # aarch64 and riscv64 ones under qemu): a copy without the other target lines.
    grep -vE '^target ' "$f" | sed -n '1,/^function/p' | grep -v '^function' >"$tmp" || true
    grep -E '^target x86_64' "$f" >>"$tmp"
    grep -vE '^target ' "$f" | sed -n '/^function/,$p' >>"$tmp"
    k_out=$(timeout 300 "$kiln" run "$tmp" 2>&1)
    k_status=$?
    a=$(outcome "$a_out" $a_status)
    k=$(outcome "$k_out" $k_status)
    count["cranelift $a, kiln $k"]=$((${count["cranelift $a, kiln $k"]:-0} + 1))
    if [ "$verbose" = 1 ]; then
        echo "$a $k $f"
    fi
    if [ "$a" = pass ] && [ "$k" != pass ]; then
        regressions+=("$f")
        echo "== Cranelift passes, Kiln $k: $f"
        printf '%s\n' "$k_out" | grep -vE '^(PASS|ok)' | head -n 8 | sed 's/^/   /'
    fi
done

echo "== $total files with a target x86_64 line and test run"
for key in "${!count[@]}"; do
    echo "   $key: ${count[$key]}"
done | sort
echo "== Cranelift passes and Kiln does not: ${#regressions[@]}"
for f in "${regressions[@]}"; do
    echo "   $f"
done
[ ${#regressions[@]} -eq 0 ]

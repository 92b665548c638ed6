#!/usr/bin/env bash
# Runs the libFuzzer targets for SECONDS each against a copy of their seed
# corpus, building them first if needed.
#
#   tests/fuzz/run.sh [--merge] [--build-dir DIR] SECONDS [TARGET...]
#
# TARGET is parser, tracker, tcp, view, jbd2, follow or relay (default: all seven).  The committed corpus
# (tests/fuzz/corpus/TARGET) is only read, unless --merge is given: then the
# inputs that add coverage are merged into it (-merge=1) after the run.
# Crash, leak and timeout inputs are written to BUILD_DIR/fuzz-artifacts/.
# Exit status: 0 when every target ran clean, 1 otherwise, 2 on bad usage.
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$src/build-fuzz
merge=0
while [ $# -gt 0 ]; do
    case $1 in
    --merge) merge=1; shift ;;
    --build-dir) build=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) break ;;
    esac
done
[ $# -ge 1 ] && [[ $1 =~ ^[0-9]+$ ]] || { echo "usage: $0 [--merge] [--build-dir DIR] SECONDS [TARGET...]" >&2; exit 2; }
secs=$1; shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(parser tracker tcp view jbd2 follow relay)

if [ ! -f "$build/CMakeCache.txt" ]; then
    CC=${CC:-clang} cmake -S "$src" -B "$build" -DSTORM_BUILD_FUZZ=ON -DSTORM_BUILD_TESTS=OFF \
        -DSTORM_BUILD_TOOLS=OFF -DSTORM_BUILD_BENCH=OFF >/dev/null || exit 1
fi
cmake --build "$build" -j"$(nproc)" --target $(printf 'fuzz_%s ' "${targets[@]}") >/dev/null || exit 1

work=$(mktemp -d "${TMPDIR:-/tmp}/storm-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
artifacts=$build/fuzz-artifacts
mkdir -p "$artifacts"

status=0
for t in "${targets[@]}"; do
    bin=$build/tests/fuzz/fuzz_$t
    corpus=$here/corpus/$t
    [ -x "$bin" ] || { echo "no fuzz target $bin" >&2; exit 2; }
    mkdir -p "$work/$t"
    [ -d "$corpus" ] && cp "$corpus"/* "$work/$t/" 2>/dev/null
    log=$work/$t.log
    regressions=("$here"/regressions/"$t"-*)
    if [ -e "${regressions[0]}" ]; then
        if ! "$bin" -rss_limit_mb=2048 -timeout=10 "${regressions[@]}" >"$work/$t.reg.log" 2>&1; then
            status=1
            echo "== fuzz_$t: a regression input failed:"
            grep -E 'ERROR|SUMMARY|invariant|Running' "$work/$t.reg.log" | tail -n 20 | sed 's/^/   /'
            continue
        fi
        echo "== fuzz_$t: ${#regressions[@]} regression inputs ran clean"
    fi
    echo "== fuzz_$t: ${secs}s, $(ls "$work/$t" | wc -l) seeds"
    "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$artifacts/$t-" "$work/$t" >"$log" 2>&1
    rc=$?
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    echo "   runs ${execs:-?}, ${rate:-?} exec/s; last: ${last:-none}"
    if [ $rc -ne 0 ]; then
        status=1
        echo "   FAILED (exit $rc); artifacts in $artifacts; log tail:"
        grep -E 'ERROR|SUMMARY|invariant|Test unit written' "$log" | head -n 20 | sed 's/^/   /'
        cp "$log" "$artifacts/$t.log"
    elif [ $merge -eq 1 ] && [ -d "$corpus" ]; then
        before=$(ls "$corpus" | wc -l)
        "$bin" -merge=1 -rss_limit_mb=2048 -timeout=10 -max_len=65536 "$corpus" "$work/$t" >"$work/$t.merge.log" 2>&1 ||
            { status=1; echo "   merge failed"; }
        echo "   merged: $before -> $(ls "$corpus" | wc -l) files in $corpus"
    fi
done
exit $status

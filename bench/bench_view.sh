#!/usr/bin/env bash
# The ext4 view's benchmarks (issue 4), one line per metric:
#
#   1. view build: storm_view_open_ext4() on an ext4 image of 100,000 files,
#      against `e2fsck -fn` on the same image in the same run (goal <= 0.5x);
#   2. lookups: storm_view_lookup() of random and of sequential blocks on that
#      view, and lookup + storm_view_path() (bench_view_build);
#   3. replay: file operations attributed per second when storm-monitor
#      replays the captures of tests/integration/test_monitor_ext4.sh (~100 MB,
#      ~6200 operations each), against `storm-dump --events` on the same
#      capture (the parsing and session layers alone);
#   4. memory per million runs: the 100k-file view (exact index bytes, RSS
#      kept, peak RSS of the build) and bench_view_index's synthetic index.
#
#   bench/bench_view.sh                    (as root to make the captures)
#   STORM_BUILD_DIR=build-bview RUNS=5 bench/bench_view.sh
#
# Needs, built in STORM_BUILD_DIR (default build/): bench/bench_view_build,
# bench/bench_view_index, examples/monitor/storm-monitor, tools/storm-dump and,
# to make the captures, tools/storm-relay.  Tools: mkfs.ext4 (>= 1.43 for -d),
# e2fsck, python3.
#
# Every command runs RUNS times (default 3), the view build and e2fsck
# alternating, after one untimed warm-up of each: the page cache is warm (no
# caches dropped), so both are CPU-bound and read the same cached image.
# Reported: the median and the range [min-max] of the wall time, and of the
# user + system CPU time, which other processes on the machine disturb less
# (a compile next door stretches the wall time, not the CPU time).  The view
# build is timed inside bench_view_build (storm_view_open_ext4 alone, getrusage
# for its CPU); e2fsck, storm-monitor and storm-dump as whole processes.
#
# The image and the captures are made once and cached in
# $STORM_BUILD_DIR/bench-view/ (about 1.5 GB on disk; delete it to remake):
#   ext4-100k.img   4 GiB, mkfs.ext4 -d of a tree made in /dev/shm: 100,000
#                   files (99,990 of 0-16 KiB in 300 directories, 10 sparse
#                   files of ~2,500 extents each), Debian 12 mke2fs.conf
#                   defaults (4 KiB blocks, extents, flex_bg, 64bit,
#                   metadata_csum)
#   capture-MODE/   BEFORE.img, cap.pcap and port of test_monitor_ext4.sh
#                   (STORM_KEEP_WORK=1), MODE sync and fsync (~25 s to make)
# Environment: STORM_BUILD_DIR, RUNS, BENCH_VIEW_CACHE (cache directory),
# BENCH_VIEW_MODES (default "sync fsync"), INDEX_RUNS (bench_view_index
# size, default 1000000).
set -u -o pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
bld=${STORM_BUILD_DIR:-$src/build}
bld=$(cd "$bld" 2>/dev/null && pwd) || { echo "no build directory $bld" >&2; exit 2; }
runs=${RUNS:-3}
cache=${BENCH_VIEW_CACHE:-$bld/bench-view}
modes=${BENCH_VIEW_MODES:-sync fsync}
index_runs=${INDEX_RUNS:-1000000}

vbuild=$bld/bench/bench_view_build
vindex=$bld/bench/bench_view_index
monitor=$bld/examples/monitor/storm-monitor
dump=$bld/tools/storm-dump
for b in "$vbuild" "$vindex" "$monitor" "$dump"; do
    [ -x "$b" ] || {
        echo "$b is not built: cmake --build $bld --target bench_view_build bench_view_index storm-monitor storm-dump storm-relay" >&2
        exit 2
    }
done
for c in mkfs.ext4 e2fsck python3; do
    command -v "$c" >/dev/null || { echo "$c not found" >&2; exit 2; }
done
mkdir -p "$cache" || exit 2

tmp=$(mktemp -d "${TMPDIR:-/tmp}/storm-bview.XXXXXX") || exit 2
tree=
index_pid=
cleanup() {
    [ -n "$index_pid" ] && kill "$index_pid" 2>/dev/null
    [ -n "$tree" ] && rm -rf "$tree"
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

note() { printf '# %s\n' "$*" >&2; }

# -------------------------------------------------------------- helpers --

# secs CMD... : runs CMD (output discarded); sets WALL to its wall time and
# CPU to its user + system CPU time, in seconds; fails with CMD's status.
secs() {
    local TIMEFORMAT='%R %U %S' rc r u s
    { time "$@" >/dev/null 2>&1; } 2>"$tmp/time"
    rc=$?
    read -r r u s <"$tmp/time"
    WALL=$r
    CPU=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.3f", u + s }')
    return "$rc"
}

# stats V... : "median min max" of the values.
stats() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
              printf "%s %s %s\n", m, v[1], v[NR] }'
}

# fmt "median min max" DIGITS : "M [min-max]"
fmt() {
    local m lo hi
    read -r m lo hi <<<"$1"
    printf "%.${2}f [%.${2}f-%.${2}f]" "$m" "$lo" "$hi"
}

# kv FILE KEY : the value of KEY=value in FILE
kv() { sed -n "s/^$2=//p" "$1"; }

# ---------------------------------------------------------------- image --

IMG_VERSION="v1 files=100000 dirs=300 sparse=10 size=4G seed=4"
img=$cache/ext4-100k.img

# make_tree DIR : the 100,000 files (deterministic).  File bytes are not
# zero: mkfs.ext4 -d leaves all-zero blocks unallocated.
make_tree() {
    python3 - "$1" <<'EOF'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(4)
# 20 top directories of 14 subdirectories each: 300 directories.
dirs = []
for t in range(20):
    top = os.path.join(root, "d%02d" % t)
    os.mkdir(top)
    dirs.append(top)
    for s in range(14):
        sub = os.path.join(top, "s%02d" % s)
        os.mkdir(sub)
        dirs.append(sub)
buf = bytes(range(1, 256)) * 80          # > 16 KiB of non-zero bytes
for i in range(99990):
    d = dirs[rnd.randrange(len(dirs))]
    with open(os.path.join(d, "f%06d.dat" % i), "wb") as f:
        f.write(buf[: rnd.randint(0, 16384)])
# Sparse files: ~2,500 runs of 1-4 blocks, each after a hole of 1-4 blocks,
# so each run is its own extent (a depth-2 extent tree).
chunk = bytes([0x5A]) * (4 * 4096)
os.mkdir(os.path.join(root, "big"))
for i in range(10):
    with open(os.path.join(root, "big", "sparse%02d.bin" % i), "wb") as f:
        at = 0
        for _ in range(2500):
            at += rnd.randint(1, 4) * 4096
            n = rnd.randint(1, 4) * 4096
            f.seek(at)
            f.write(chunk[:n])
            at += n
EOF
}

make_image() {
    local t0=$EPOCHREALTIME
    tree=$(mktemp -d /dev/shm/storm-bview-tree.XXXXXX) || return 1
    note "making the image: 100,000 files in $tree (tmpfs) ..."
    make_tree "$tree" || return 1
    rm -f "$img" "$img.stamp"
    note "mkfs.ext4 -d $tree $img 4G ..."
    mkfs.ext4 -q -F -d "$tree" "$img" 4G >"$tmp/mkfs.log" 2>&1 || { cat "$tmp/mkfs.log" >&2; return 1; }
    rm -rf "$tree"
    tree=
    e2fsck -fn "$img" >"$tmp/e2fsck.log" 2>&1 || { cat "$tmp/e2fsck.log" >&2; return 1; }
    echo "$IMG_VERSION" >"$img.stamp"
    note "image made in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s"
}

if [ "$(cat "$img.stamp" 2>/dev/null)" != "$IMG_VERSION" ]; then
    make_image || { echo "cannot make the image" >&2; exit 2; }
fi

# ------------------------------------------------------------- captures --

# make_capture MODE : test_monitor_ext4.sh for MODE, its work directory's
# BEFORE.img and cap.pcap kept in $cache/capture-MODE with the tgtd port.
make_capture() {
    local mode=$1 dir=$cache/capture-$1 log=$tmp/it-$1.log work port
    note "making the $mode capture with tests/integration/test_monitor_ext4.sh ..."
    STORM_BUILD_DIR=$bld STORM_KEEP_WORK=1 STORM_MONITOR_SYNC=$mode \
        bash "$src/tests/integration/test_monitor_ext4.sh" >"$log" 2>&1
    local rc=$?
    work=$(sed -n 's/^work directory kept: //p' "$log" | tail -n 1)
    if [ "$rc" -ne 0 ] || [ ! -s "$work/$mode/cap.pcap" ]; then
        tail -n 20 "$log" >&2
        [ -n "$work" ] && rm -rf "$work"
        return 1
    fi
    port=$(sed -n 's/.*tgtd :\([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)
    if [ -z "$port" ] && command -v tshark >/dev/null; then
        # The first packet is the SYN towards tgtd.
        port=$(tshark -r "$work/$mode/cap.pcap" -c 1 -T fields -e tcp.dstport 2>/dev/null)
    fi
    mkdir -p "$dir" &&
        cp --sparse=always "$work/$mode/BEFORE.img" "$dir/BEFORE.img" &&
        cp "$work/$mode/cap.pcap" "$dir/cap.pcap" &&
        echo "$port" >"$dir/port"
    rc=$?
    rm -rf "$work"
    [ "$rc" -eq 0 ] && [ -n "$port" ]
}

have_modes=()
for mode in $modes; do
    d=$cache/capture-$mode
    if [ ! -s "$d/cap.pcap" ] || [ ! -s "$d/port" ]; then
        if [ "$(id -u)" -ne 0 ]; then
            note "no cached $mode capture and not root: cannot make it (replay skipped)"
            continue
        fi
        make_capture "$mode" || { note "could not make the $mode capture (replay skipped)"; continue; }
    fi
    have_modes+=("$mode")
done

# ---------------------------------------------------------- measurements --

echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "image: $img ($IMG_VERSION); $runs runs each, warm page cache, median [min-max]"

# 1, 2, 4: the view build (and its lookups) alternating with e2fsck -fn.
"$vbuild" "$img" 100000 >/dev/null || { echo "bench_view_build failed on $img" >&2; exit 1; }
secs e2fsck -fn "$img" || { echo "e2fsck -fn: $img is not clean" >&2; exit 1; }
b_s=() b_cpu=() f_s=() f_cpu=() rnd=() seq=() path=()
for ((i = 1; i <= runs; i++)); do
    "$vbuild" "$img" >"$tmp/vb.$i" || { echo "bench_view_build failed" >&2; exit 1; }
    b_s+=("$(kv "$tmp/vb.$i" build_s)")
    b_cpu+=("$(kv "$tmp/vb.$i" build_cpu_s)")
    rnd+=("$(kv "$tmp/vb.$i" lookup_random_mps)")
    seq+=("$(kv "$tmp/vb.$i" lookup_seq_mps)")
    path+=("$(kv "$tmp/vb.$i" lookup_path_mps)")
    secs e2fsck -fn "$img" || { echo "e2fsck -fn failed" >&2; exit 1; }
    f_s+=("$WALL")
    f_cpu+=("$CPU")
done
b=$(stats "${b_s[@]}")
f=$(stats "${f_s[@]}")
bc=$(stats "${b_cpu[@]}")
fc=$(stats "${f_cpu[@]}")
ratio=$(awk -v b="${b%% *}" -v f="${f%% *}" 'BEGIN { printf "%.2f", b / f }')
cratio=$(awk -v b="${bc%% *}" -v f="${fc%% *}" 'BEGIN { printf "%.2f", b / f }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r <= 0.5 ? "met" : "MISSED") }')
vb=$tmp/vb.1
echo "view build: $(fmt "$b" 3) s vs e2fsck -fn $(fmt "$f" 3) s = ${ratio}× (goal ≤ 0.5×: $verdict);" \
    "CPU $(fmt "$bc" 3) s vs $(fmt "$fc" 3) s = ${cratio}×;" \
    "$(kv "$vb" runs) runs, $(kv "$vb" names) names, $(kv "$vb" blocks) blocks"
echo "lookups: random $(fmt "$(stats "${rnd[@]}")" 1) M/s, sequential $(fmt "$(stats "${seq[@]}")" 1) M/s," \
    "lookup+path $(fmt "$(stats "${path[@]}")" 1) M/s ($(kv "$vb" lookup_path_named) of random blocks named)"

# 3: replay.
for mode in "${have_modes[@]}"; do
    d=$cache/capture-$mode
    port=$(cat "$d/port")
    mon=("$monitor" --image "$d/BEFORE.img" --pcap "$d/cap.pcap" --port "$port" -q)
    evt=("$dump" --events --port "$port" "$d/cap.pcap")
    "${mon[@]}" >"$tmp/ops.jsonl" 2>"$tmp/mon.err" || { cat "$tmp/mon.err" >&2; echo "storm-monitor failed on $d" >&2; exit 1; }
    "${evt[@]}" >/dev/null 2>&1 || { echo "storm-dump --events failed on $d" >&2; exit 1; }
    ops=$(wc -l <"$tmp/ops.jsonl")
    mb=$(awk -v s="$(stat -c %s "$d/cap.pcap")" 'BEGIN { printf "%.1f", s / 1e6 }')
    m_s=() m_cpu=() e_s=() e_cpu=()
    for ((i = 1; i <= runs; i++)); do
        secs "${mon[@]}" || { echo "storm-monitor failed" >&2; exit 1; }
        m_s+=("$WALL")
        m_cpu+=("$CPU")
        secs "${evt[@]}" || { echo "storm-dump --events failed" >&2; exit 1; }
        e_s+=("$WALL")
        e_cpu+=("$CPU")
    done
    m=$(stats "${m_s[@]}")
    e=$(stats "${e_s[@]}")
    mc=$(stats "${m_cpu[@]}")
    ec=$(stats "${e_cpu[@]}")
    read -r mm mlo mhi <<<"$m"
    echo "replay $mode: $ops operations from $mb MB in $(fmt "$m" 3) s =" \
        "$(awk -v o="$ops" -v t="$mm" 'BEGIN { printf "%.0f", o / t }') ops/s" \
        "[$(awk -v o="$ops" -v t="$mhi" 'BEGIN { printf "%.0f", o / t }')-$(awk -v o="$ops" -v t="$mlo" 'BEGIN { printf "%.0f", o / t }')]," \
        "$(awk -v s="$mb" -v t="$mm" 'BEGIN { printf "%.0f", s / t }') MB/s;" \
        "storm-dump --events $(fmt "$e" 3) s, monitor/dump = $(awk -v a="$mm" -v b="${e%% *}" 'BEGIN { printf "%.2f", a / b }')×;" \
        "CPU $(fmt "$mc" 3) s vs $(fmt "$ec" 3) s = $(awk -v a="${mc%% *}" -v b="${ec%% *}" 'BEGIN { printf "%.2f", a / b }')×"
done

# 4: memory.  bench_view_index prints its memory line ~1 s after the start;
# its lookup and assign benchmarks (minutes) are not waited for.
: >"$tmp/index.out"
stdbuf -oL "$vindex" "$index_runs" >"$tmp/index.out" 2>&1 &
index_pid=$!
for ((i = 0; i < 600; i++)); do
    grep -q '^memory after build' "$tmp/index.out" && break
    kill -0 "$index_pid" 2>/dev/null || break
    sleep 0.1
done
kill "$index_pid" 2>/dev/null
wait "$index_pid" 2>/dev/null
index_pid=
idx=$(sed -n 's/^memory after build: \([0-9]*\) runs, \([0-9.]*\) MiB per million runs, \([0-9.]*\) bytes\/run/\1 runs: \2 MiB per million runs (\3 B\/run)/p' "$tmp/index.out")
per_m() { awk -v b="$1" 'BEGIN { printf "%.1f MiB per million runs (%.1f B/run)", b * 1e6 / 1048576, b }'; }
echo "memory: view of $(kv "$vb" runs) runs: index $(per_m "$(kv "$vb" bytes_per_run_index)")" \
    "+ path map $(kv "$vb" bytes_per_name) B/name; RSS kept $(per_m "$(kv "$vb" bytes_per_run_rss)")" \
    "paths included; peak RSS of the build $(per_m "$(kv "$vb" bytes_per_run_maxrss)");" \
    "bench_view_index ${idx:-(no result)}"
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# What storm-relay costs a real iSCSI initiator: the same workloads run
# straight to tgtd, through storm-relay (no hook), through storm-relay --touch
# (a hook reads every data byte) and through HAProxy in TCP mode, in one run.
#
#   sudo bench/bench_relay.sh            (root: tgtd needs it)
#
# Setup: tgtd on a free loopback port with a 1 GiB LUN on tmpfs (/dev/shm),
# written through once before measuring so that tmpfs has its pages; each
# proxy is started once and serves every run.  Workloads (one iSCSI session
# per run, each a fresh login):
#
#   seq-write-64k   qemu-img bench -w -d 16 -s 64K -t none       (sequential)
#   seq-read-64k    qemu-img bench    -d 16 -s 64K -t none       (sequential)
#   stride-read-4k  qemu-img bench    -d 32 -s 4K  -S 4K*104729  qemu-img
#                   bench has no random mode; a step of 104729 blocks (prime,
#                   ~409 MiB) wraps modulo the LUN size, so the offsets are a
#                   scrambled permutation of every 4 KiB block
#   rand-read-4k    iscsi-perf -r -m 32 -b 8 -t SECS   (true random READ16,
#                   8 x 512-byte blocks at random LBAs, depth 32; iscsi-perf
#                   only reads)
#
# Every measurement is repeated REPS times; a repetition runs each workload
# on every path, the order of the paths rotating from one repetition to the
# next, so drift and noise spread over all paths.  The table shows the median
# (MiB/s for 64 KiB workloads, IOPS for 4 KiB ones) and each path's median as
# a ratio of direct's, then every sample, the proxy's CPU time per I/O (from
# /proc/PID/stat: user+system of the proxy process, 10 ms ticks) and how many
# cores the whole machine was busy during the runs (from /proc/stat).  It also
# shows the CPU of the whole path per I/O (initiator from the shell's `times`,
# tgtd and proxy from /proc/PID/stat) and direct's over each path's: what the
# throughput ratio would be were the machine purely CPU-bound.  It moves much
# less than the throughput ratios with the scheduler's placement of the three
# processes; but CPU that another load's processes or the idle task happen to
# spend on our packets (softirq) is missed, so take it from quiet runs.
#
# The machine has few cores: initiator, proxy and tgtd share them, so the
# proxy's CPU time is taken from the same budget as the other two's.  When
# "sys busy" is close to the number of cores, the run was CPU-bound and a
# proxy's ratio is roughly direct's CPU per I/O over direct's plus the
# proxy's (see bench/RELAY_PERF.md).
#
# Environment:
#   REPS=5                repetitions (>= 3)
#   WRITE_COUNT=16384     requests per seq-write-64k / seq-read-64k run (1 GiB)
#   READ_COUNT=60000      requests per stride-read-4k run
#   PERF_SECS=3           seconds per rand-read-4k run (iscsi-perf, >= 2)
#   PATHS="direct relay relay+touch haproxy"   subset/order of the paths; also
#                         base, base+touch: STORM_RELAY_BASE (another build of
#                         storm-relay, e.g. the previous commit's) in the same run;
#                         floor, floor+splice: bench/relay_floor.c (compiled
#                         here with cc), a proxy with storm-relay's loop and no
#                         parsing, copying (floor) or splicing (floor+splice)
#                         the bytes: the floor of any user-space relay here;
#                         floor+sockmap: the same proxy letting the kernel
#                         forward after the login (eBPF SOCKHASH redirect)
#                         python: bench/naive_relay.py, the issue's reference (a
#                         naive relay, one blocking thread per direction)
#   TESTS="seq-write-64k seq-read-64k stride-read-4k rand-read-4k"
#   STORM_RELAY=build/tools/storm-relay
#   NO_HAPROXY=1          skip the HAProxy column (else haproxy is installed
#                         with apt-get when missing; skipped if that fails)
#   HAPROXY_THREADS=1     nbthread of HAProxy (1: single-threaded like the relay)
#   PIN=1                 pin the initiator to CPU 0 and tgtd (all threads) to
#                         CPU 1, proxies unpinned (default: nothing pinned).
#                         Without a proxy it narrowed direct seq-write's spread
#                         from 355-586 to 528-579 MiB/s; not yet measured on a
#                         quiet machine with the proxies
#   PIN=split             the initiator and tgtd share CPU 0, every proxy runs
#                         alone on CPU 1: a middlebox with a core of its own,
#                         as on the network path between two other machines
#   STORM_KEEP_WORK=1     keep the work directory (logs, haproxy.cfg)
# Exit status: 0 done, 1 failure, 77 cannot run here (not root, tool missing).
set -u -o pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/tests/integration/lib.sh"

REPS=${REPS:-5}
WRITE_COUNT=${WRITE_COUNT:-16384}
READ_COUNT=${READ_COUNT:-60000}
PERF_SECS=${PERF_SECS:-3}
PATHS=${PATHS:-direct relay relay+touch haproxy}
TESTS=${TESTS:-seq-write-64k seq-read-64k stride-read-4k rand-read-4k}
RELAY=${STORM_RELAY:-$STORM_BUILD_DIR/tools/storm-relay}
RELAY_BASE=${STORM_RELAY_BASE:-}
HAPROXY_THREADS=${HAPROXY_THREADS:-1}
LUN_SIZE=$((1024 * 1024 * 1024))
STRIDE_BLOCKS=104729 # prime: odd, so k*step mod 2^18 blocks visits every block

[ "$REPS" -ge 3 ] 2>/dev/null || fail "REPS must be a number >= 3"
[ "$PERF_SECS" -ge 2 ] 2>/dev/null || fail "PERF_SECS must be a number >= 2"
require_root
require_cmd tgtd tgtadm qemu-img iscsi-perf ss setsid timeout truncate awk python3
[ -x "$RELAY" ] || skip "storm-relay not found at $RELAY (cmake -S . -B build && cmake --build build -j2, or set STORM_RELAY)"

# ------------------------------------------------------------ paths setup --

want_path() { case " $PATHS " in *" $1 "*) return 0 ;; esac; return 1; }

ensure_haproxy() {
    command -v haproxy >/dev/null 2>&1 && return 0
    if [ "${NO_HAPROXY:-0}" = 1 ]; then
        return 1
    fi
    command -v apt-get >/dev/null 2>&1 || return 1
    log "haproxy missing: installing Debian's package"
    # Debian's postinst would start the system service where an init runs:
    # deny it for this install only when no policy-rc.d exists already.
    local policy=/usr/sbin/policy-rc.d made=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made=1
    fi
    local ok=1
    if DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y --no-install-recommends haproxy \
        >"$WORK/apt.log" 2>&1 ||
        { timeout 300 apt-get update >>"$WORK/apt.log" 2>&1 &&
            DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y --no-install-recommends haproxy \
                >>"$WORK/apt.log" 2>&1; }; then
        ok=0
    fi
    [ "$made" = 1 ] && rm -f "$policy"
    [ "$ok" = 0 ] && command -v haproxy >/dev/null 2>&1
}

if want_path haproxy; then
    if [ "${NO_HAPROXY:-0}" = 1 ]; then
        echo "haproxy: skipped (NO_HAPROXY=1)"
        PATHS=${PATHS/haproxy/}
    elif ! ensure_haproxy; then
        echo "haproxy: not installed and apt-get install haproxy failed; skipping that column"
        PATHS=${PATHS/haproxy/}
    fi
fi
read -r -a paths <<<"$PATHS"
read -r -a tests <<<"$TESTS"
[ ${#paths[@]} -gt 0 ] || fail "no path to measure"

tport=$(free_port) || fail "no free port"
iqn=iqn.2024-01.org.libstorm.bench:relay
lun=$(mktemp /dev/shm/storm-bench-lun.XXXXXX) || fail "cannot create the LUN file in /dev/shm"
on_exit "rm -f '$lun'"
truncate -s "$LUN_SIZE" "$lun" || fail "cannot size $lun"
tgt_start "$tport"
tgt_add_target 1 "$iqn" "$lun"
initiator=()
proxy_cpu=()
if [ "${PIN:-0}" = 1 ]; then
    [ "$(nproc)" -ge 2 ] || fail "PIN=1 needs 2 CPUs"
    require_cmd taskset
    taskset -a -pc 1 "$TGT_PID" >/dev/null || fail "cannot pin tgtd"
    initiator=(taskset -c 0)
elif [ "${PIN:-0}" = split ]; then
    [ "$(nproc)" -ge 2 ] || fail "PIN=split needs 2 CPUs"
    require_cmd taskset
    taskset -a -pc 0 "$TGT_PID" >/dev/null || fail "cannot pin tgtd"
    initiator=(taskset -c 0)
    proxy_cpu=(taskset -c 1)
fi

declare -A port pid
port[direct]=$tport

# stop_pid PID : SIGTERM, then SIGKILL if it is still there after 5 s.
stop_pid() {
    local p=$1
    _pid_alive "$p" || { wait "$p" 2>/dev/null; return 0; }
    kill -TERM "$p" 2>/dev/null
    _wait_pid "$p" 5 || { kill -KILL "$p" 2>/dev/null; _wait_pid "$p" 2; }
}

# start_proxy NAME CMD... : start CMD in the background (it must listen on
# ${port[NAME]}), remember its pid, stop it on exit.
start_proxy() {
    local name=$1 p; shift
    "${proxy_cpu[@]}" "$@" >"$WORK/$name.log" 2>&1 </dev/null &
    p=$!
    pid[$name]=$p
    on_exit "stop_pid $p"
    wait_until 10 _port_listening "${port[$name]}" || {
        cat "$WORK/$name.log" >&2
        fail "$name did not listen on 127.0.0.1:${port[$name]}"
    }
    _pid_alive "$p" || fail "$name exited at start"
}

for p in "${paths[@]}"; do
    case $p in
    direct) ;;
    relay)
        port[$p]=$(free_port) || fail "no free port"
        start_proxy "$p" "$RELAY" -l "127.0.0.1:${port[$p]}" -u "127.0.0.1:$tport" -q
        ;;
    relay+touch)
        port[$p]=$(free_port) || fail "no free port"
        start_proxy "$p" "$RELAY" -l "127.0.0.1:${port[$p]}" -u "127.0.0.1:$tport" --touch -q
        ;;
    floor | floor+splice | floor+sockmap)
        if [ ! -x "$WORK/relay-floor" ]; then
            require_cmd cc
            cc -O2 -o "$WORK/relay-floor" "$src/bench/relay_floor.c" || fail "cannot compile bench/relay_floor.c"
        fi
        port[$p]=$(free_port) || fail "no free port"
        mode=copy
        [ "$p" = floor+splice ] && mode=splice
        [ "$p" = floor+sockmap ] && mode=sockmap
        start_proxy "$p" "$WORK/relay-floor" "${port[$p]}" "$tport" "$mode"
        ;;
    base | base+touch)
        [ -x "$RELAY_BASE" ] || fail "path $p needs STORM_RELAY_BASE (another storm-relay binary)"
        port[$p]=$(free_port) || fail "no free port"
        touch_opt=()
        [ "$p" = base+touch ] && touch_opt=(--touch)
        start_proxy "$p" "$RELAY_BASE" -l "127.0.0.1:${port[$p]}" -u "127.0.0.1:$tport" "${touch_opt[@]}" -q
        ;;
    python)
        port[$p]=$(free_port) || fail "no free port"
        start_proxy "$p" python3 "$src/bench/naive_relay.py" "${port[$p]}" "$tport"
        ;;
    haproxy)
        port[$p]=$(free_port) || fail "no free port"
        cat >"$WORK/haproxy.cfg" <<EOF
global
    nbthread $HAPROXY_THREADS
    maxconn 64
defaults
    mode tcp
    timeout connect 5s
    timeout client 5m
    timeout server 5m
frontend iscsi
    bind 127.0.0.1:${port[$p]}
    default_backend tgtd
backend tgtd
    server tgtd 127.0.0.1:$tport
EOF
        haproxy -c -q -f "$WORK/haproxy.cfg" >"$WORK/haproxy-check.log" 2>&1 ||
            { cat "$WORK/haproxy-check.log" >&2; fail "haproxy rejects its configuration"; }
        start_proxy "$p" haproxy -db -f "$WORK/haproxy.cfg"
        ;;
    *) fail "unknown path $p (direct, relay, relay+touch, base, base+touch, floor, floor+splice, floor+sockmap, python, haproxy)" ;;
    esac
done

url() { echo "iscsi://127.0.0.1:${port[$1]}/$iqn/1"; }

# --------------------------------------------------------------- workloads --

# cpu_ticks PID : user+system clock ticks the process used so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# qemu_bench SIZE COUNT [qemu-img bench options] -- URL : prints "IOPS MiB/s".
qemu_bench() {
    local size=$1 count=$2; shift 2
    local out secs
    out=$(timeout -k 5 120 "${initiator[@]}" qemu-img bench -f raw -t none -c "$count" -s "$size" "$@" 2>&1) ||
        { echo "$out" >&2; return 1; }
    secs=$(sed -n 's/^Run completed in \([0-9.]*\) seconds.*/\1/p' <<<"$out")
    [ -n "$secs" ] || { echo "$out" >&2; return 1; }
    awk -v c="$count" -v s="$secs" -v b="$size" \
        'BEGIN { printf "%.0f %.1f\n", c / s, c * b / s / 1048576 }'
}

# perf_bench URL : iscsi-perf random 4 KiB reads, prints "IOPS MiB/s".
perf_bench() {
    local out iops
    out=$(timeout -k 5 $((PERF_SECS + 30)) "${initiator[@]}" iscsi-perf -r -m 32 -b 8 -t "$PERF_SECS" "$1" 2>&1) ||
        { echo "$out" >&2; return 1; }
    iops=$(tr '\r' '\n' <<<"$out" | sed -n 's/^iops average \([0-9]*\) .*/\1/p' | tail -n 1)
    [ -n "$iops" ] || { echo "$out" >&2; return 1; }
    echo "$iops $(awk -v i="$iops" 'BEGIN { printf "%.1f", i * 4096 / 1048576 }')"
}

# run_test TEST PATH : prints "IOPS MiB/s".
run_test() {
    local u
    u=$(url "$2")
    case $1 in
    seq-write-64k) qemu_bench 65536 "$WRITE_COUNT" -w -d 16 "$u" ;;
    seq-read-64k) qemu_bench 65536 "$WRITE_COUNT" -d 16 "$u" ;;
    stride-read-4k) qemu_bench 4096 "$READ_COUNT" -d 32 -S $((4096 * STRIDE_BLOCKS)) "$u" ;;
    rand-read-4k) perf_bench "$u" ;;
    *) fail "unknown test $1" ;;
    esac
}

# The primary figure of a test: MiB/s for 64 KiB requests, IOPS for 4 KiB.
unit() { case $1 in *-64k) echo "MiB/s" ;; *) echo "IOPS" ;; esac; }

declare -A iops mibs cpu busy pathcpu
# sys_busy : clock ticks all CPUs spent not idle (user nice system irq softirq steal).
sys_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
# run_ios TEST IOPS : how many I/Os one run of TEST did.
run_ios() {
    case $1 in
    seq-*) echo "$WRITE_COUNT" ;;
    stride-read-4k) echo "$READ_COUNT" ;;
    *) echo $(($2 * PERF_SECS)) ;;
    esac
}
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Prime tmpfs (every page of the LUN allocated) and check every path logs in.
log "writing the whole LUN once (direct) so that tmpfs has its pages"
qemu_bench 65536 $((LUN_SIZE / 65536)) -w -d 16 "$(url direct)" >/dev/null || fail "warm-up write failed"
for p in "${paths[@]}"; do
    qemu_bench 65536 256 -d 16 "$(url "$p")" >/dev/null || fail "warm-up read through $p failed"
done

clk=$(getconf CLK_TCK)
# idle_check : cores busy during one quiet second (nothing of ours runs).
idle_check() {
    local b0 b1
    b0=$(sys_busy); sleep 1; b1=$(sys_busy)
    awk -v b=$((b1 - b0)) -v k="$clk" 'BEGIN { printf "%.2f", b / k }'
}
quiet_before=$(idle_check)
if awk -v q="$quiet_before" 'BEGIN { exit !(q > 0.15) }'; then
    log "WARNING: $quiet_before cores busy before the runs: something else uses this machine, numbers will be noisy"
fi

t_start=$(date +%s)
for ((rep = 0; rep < REPS; rep++)); do
    # Rotate the path order: each path goes first, second, ... in turn.
    order=()
    for ((i = 0; i < ${#paths[@]}; i++)); do
        order+=("${paths[$(((i + rep) % ${#paths[@]}))]}")
    done
    for t in "${tests[@]}"; do
        for p in "${order[@]}"; do
            pp=${pid[$p]:-}
            [ -z "$pp" ] || _pid_alive "$pp" || fail "$p died (see $WORK/$p.log)"
            c0=0 w0=$(date +%s%N) b0=$(sys_busy) g0=$(cpu_ticks "$TGT_PID")
            [ -z "$pp" ] || c0=$(cpu_ticks "$pp")
            # times: the CPU of the initiator (the subshell's only children).
            out=$(run_test "$t" "$p" && times) || fail "$t through $p failed"
            w1=$(date +%s%N) b1=$(sys_busy) g1=$(cpu_ticks "$TGT_PID")
            r=$(head -n 1 <<<"$out")
            init_s=$(sed -n 3p <<<"$out" | awk '{ n = 0; for (i = 1; i <= NF; i++) {
                split($i, a, "m"); n += a[1] * 60 + a[2] } printf "%.3f", n }')
            busy[$t|$p]+="$(awk -v b=$((b1 - b0)) -v k="$clk" -v w=$((w1 - w0)) \
                'BEGIN { printf "%.2f", b / k / (w / 1e9) }') "
            # I/Os of this run: IOPS x measured seconds; the login and logout
            # are in the CPU figures too (a few ms).
            ios=$(run_ios "$t" "${r% *}")
            c1=$c0
            [ -z "$pp" ] || c1=$(cpu_ticks "$pp")
            [ -z "$pp" ] || cpu[$t|$p]+="$(awk -v c=$((c1 - c0)) -v k="$clk" -v ios="$ios" \
                'BEGIN { printf "%.1f", 1e6 * c / k / ios }') "
            pathcpu[$t|$p]+="$(awk -v c=$((c1 - c0 + g1 - g0)) -v k="$clk" -v i="$init_s" -v ios="$ios" \
                'BEGIN { printf "%.1f", 1e6 * (c / k + i) / ios }') "
            iops[$t|$p]+="${r% *} "
            mibs[$t|$p]+="${r#* } "
        done
    done
    log "repetition $((rep + 1))/$REPS done ($(($(date +%s) - t_start)) s)"
done

# ------------------------------------------------------------------ report --

echo
pin_note=
[ "${PIN:-0}" = 1 ] && pin_note="; initiator on CPU 0, tgtd on CPU 1"
[ "${PIN:-0}" = split ] && pin_note="; initiator and tgtd on CPU 0, the proxy alone on CPU 1"
echo "storm-relay bench: tgtd, 1 GiB LUN on tmpfs, loopback, $(nproc) cores; median of $REPS runs$pin_note"
echo "qemu-img $(qemu-img --version | sed -n '1s/.*version \([^ ]*\).*/\1/p'), $(iscsi-perf 2>&1 | sed -n 's/^\(iscsi-perf version [^ ]*\).*/\1/p' | head -n 1)$(want_path haproxy && printf ', %s' "$(haproxy -v 2>/dev/null | sed -n '1s/^\(HAProxy version [^ ]*\).*/\1/p') nbthread $HAPROXY_THREADS")"
echo
for t in "${tests[@]}"; do
    u=$(unit "$t")
    if [ "$u" = MiB/s ]; then d=$(median <<<"${mibs[$t|direct]:-}"); else d=$(median <<<"${iops[$t|direct]:-}"); fi
    line=$(printf '%-15s' "$t")
    for p in "${paths[@]}"; do
        if [ "$u" = MiB/s ]; then v=$(median <<<"${mibs[$t|$p]}"); else v=$(median <<<"${iops[$t|$p]}"); fi
        if [ "$p" = direct ]; then
            line+=$(printf '  direct %6.0f %-5s' "$v" "$u")
        elif [ "$d" != nan ]; then
            line+=$(awk -v n="$p" -v v="$v" -v d="$d" 'BEGIN { printf "  %s %.2fx", n, v / d }')
        else
            line+=$(printf '  %s %.0f %s' "$p" "$v" "$u")
        fi
    done
    echo "$line"
done
echo
echo "CPU of the whole path (initiator + tgtd + proxy) per I/O, direct's over the path's:"
echo "the ratio a purely CPU-bound machine would show (exact on a quiet machine only)"
for t in "${tests[@]}"; do
    d=$(median <<<"${pathcpu[$t|direct]:-}")
    line=$(printf '%-15s' "$t")
    for p in "${paths[@]}"; do
        v=$(median <<<"${pathcpu[$t|$p]}")
        if [ "$p" = direct ]; then
            line+=$(printf '  direct %6.1f us/IO' "$v")
        elif [ "$d" != nan ]; then
            line+=$(awk -v n="$p" -v v="$v" -v d="$d" 'BEGIN { printf "  %s %.2fx", n, d / v }')
        fi
    done
    echo "$line"
done

# What the goals leave a relay: 5 % (0.95x) and 10 % (0.90x) of direct's
# path CPU per I/O, set against one copy of the I/O's payload (a relay that
# lets a hook see the bytes makes two, into its buffer and out of it).
if [ -x "$WORK/copy-cost" ] || { command -v cc >/dev/null 2>&1 &&
    cc -O2 -o "$WORK/copy-cost" "$src/bench/copy_cost.c" 2>"$WORK/copy-cost.log"; }; then
    echo
    echo "budget: CPU a path may add per I/O for 0.95x / 0.90x of direct on a CPU-bound machine,"
    echo "against one memcpy of the payload (warm: in cache; cold: from memory), measured now:"
    for t in "${tests[@]}"; do
        d=$(median <<<"${pathcpu[$t|direct]:-}")
        [ "$d" != nan ] || continue
        case $t in *-64k) sz=65536 ;; *) sz=4096 ;; esac
        read -r _ warm cold _ _ < <("$WORK/copy-cost" "$sz")
        awk -v t="$t" -v d="$d" -v w="$warm" -v c="$cold" -v sz="$sz" 'BEGIN {
            printf "%-15s %5.1f / %5.1f us per I/O; one copy of %d bytes %.2f us warm, %.2f us cold\n",
                t, d / 0.95 - d, d / 0.90 - d, sz, w, c }'
    done
fi

echo
echo "samples: every run, in the primary unit; sys busy: cores busy machine-wide during"
echo "the run (median); proxy us/IO: the proxy's CPU microseconds per I/O (median); path"
echo "us/IO: initiator + tgtd + proxy (median)"
printf '%-15s %-12s %9s %9s %7s %8s %8s %8s  %s\n' test path IOPS MiB/s ratio "sys busy" "proxy" "path" "samples"
printf '%-15s %-12s %9s %9s %7s %8s %8s %8s\n' "" "" "" "" "" cores "us/IO" "us/IO"
for t in "${tests[@]}"; do
    u=$(unit "$t")
    if [ "$u" = MiB/s ]; then d=$(median <<<"${mibs[$t|direct]:-}"); else d=$(median <<<"${iops[$t|direct]:-}"); fi
    for p in "${paths[@]}"; do
        mi=$(median <<<"${iops[$t|$p]}") mm=$(median <<<"${mibs[$t|$p]}")
        if [ "$u" = MiB/s ]; then v=$mm s=${mibs[$t|$p]}; else v=$mi s=${iops[$t|$p]}; fi
        ratio=$(awk -v v="$v" -v d="$d" 'BEGIN { if (d == "nan" || d == 0) print "-"; else printf "%.3f", v / d }')
        pc=-
        [ -z "${cpu[$t|$p]:-}" ] || pc=$(median <<<"${cpu[$t|$p]}")
        printf '%-15s %-12s %9.0f %9.1f %7s %8.2f %8s %8.1f  %s\n' "$t" "$p" "$mi" "$mm" "$ratio" \
            "$(median <<<"${busy[$t|$p]}")" "$pc" "$(median <<<"${pathcpu[$t|$p]}")" "${s% }"
    done
done
echo
quiet_after=$(idle_check)
echo "total measuring time: $(($(date +%s) - t_start)) s; cores busy with nothing of ours running: $quiet_before before, $quiet_after after"
if awk -v a="$quiet_before" -v b="$quiet_after" 'BEGIN { exit !(a > 0.15 || b > 0.15) }'; then
    echo "WARNING: another load shared the machine; the ratios above are not trustworthy"
fi
exit 0

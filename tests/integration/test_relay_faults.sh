#!/usr/bin/env bash
# storm-relay under faults, with real peers: tgtd (LUN 1 = 256 MiB image file)
# and QEMU's libiscsi initiator (qemu-io, which reconnects and retries by
# itself: libiscsi's session recovery re-logs in and resends the commands that
# had no status).  Each sub-case writes distinct patterns at distinct offsets
# of its own region of the LUN and checks every byte of that region twice:
# through tgtd directly (qemu-io read -P, not through the relay) and in the
# backing image file itself.
#
#   a  kill -9 of the relay in the middle of a long write workload, restart
#      on the same port: the initiator reconnects, completes, data verifies
#   b  tgtd taken away mid-write: b1 SIGSTOP for 3 s then SIGCONT;
#      b2 kill -9 and a fresh tgtd on the same port and backing file
#   c  initiators vanishing: c1 kill -9 of qemu-io during a 64 MiB write
#      (several timings): the relay lives on, its fd count returns to the
#      baseline; c2 an initiator that resets its connection while the target
#      is stopped: the relay must close both sides now (not when the target
#      comes back) and must not spin; then a good workload verifies
#   d  garbage-spewing clients (random bytes, zeros, endless NOP-Outs, a
#      header announcing a 16 MiB segment) beside a good workload
#   e  memory bound: relay with -b 1048576, tgtd stopped, a qemu-io writer
#      blocked in it plus 4 clients pushing 64 MiB each of valid PDUs: the
#      relay's VmRSS (sampled for 5 s) must stay under 64 MiB
#   f  silent peers: relay with -c 4 --login-timeout 1000; 4 connections that
#      never send a byte take every slot; the relay must close each (EOF at
#      the client, "Connection timed out" in its log) within 1-3 s, then a
#      1.6 s workload logs in and completes uncut (the deadline ends at the
#      Login)
#
# Every sub-case ends by stopping its relay with SIGTERM: exit status 0 and no
# sanitizer report in its log (CTest runs this in the plain and the ASan build:
# LeakSanitizer reports at exit, so leaks are charged to the sub-case).
# STORM_FAULT_CASES="a c" runs a subset.  Needs no FUSE: qemu-io is the
# initiator here.
#
# Exit: 0 all sub-cases passed, 1 a failure, 77 skip.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd tgtd tgtadm qemu-io python3 ss timeout setsid stdbuf nm
require_relay

CASES=${STORM_FAULT_CASES:-a b c d e f}
IQN=iqn.2024-01.storm.test:relay-faults
IMG=$WORK/lun.img
MiB=1048576
T0=$(now_s)
truncate -s $((256 * MiB)) "$IMG"

TPORT=$(free_port) || fail "no free port"
RPORT=$(free_port) || fail "no free port"
URL_R=iscsi://127.0.0.1:$RPORT/$IQN/1    # through the relay
tgt_url() { echo "iscsi://127.0.0.1:$TPORT/$IQN/1"; }   # tgtd directly
RELAY_ARGS=(--touch --events "$WORK/events.jsonl")
RELAY_N=0
ASAN=no
if nm -an "$STORM_RELAY" 2>/dev/null | grep -q __asan_init || ldd "$STORM_RELAY" 2>/dev/null | grep -q libasan; then
    ASAN=yes
fi

# ---------------------------------------------------------------- helpers --

CASE=
CASE_MSG=
declare -A RESULT
case_fail() { CASE_MSG=$*; printf '  [%s] FAIL: %s\n' "$CASE" "$*" >&2; return 1; }
note() { printf '  [%s] %s\n' "$CASE" "$*" >&2; }

# Each relay instance logs to its own file; all are checked for sanitizer reports.
start_relay() {
    RELAY_N=$((RELAY_N + 1))
    relay_start "$RPORT" "$TPORT" "$WORK/relay-$RELAY_N.log" "${RELAY_ARGS[@]}" "$@"
}
stop_relay() {
    local rc
    relay_stop; rc=$?
    if [ "$rc" -ne 0 ]; then case_fail "storm-relay exited with status $rc on SIGTERM"; return 1; fi
    if sanitizer_report "$RELAY_LOG"; then
        grep -E -A12 'ERROR: (Address|Leak)Sanitizer|runtime error' "$RELAY_LOG" | head -40 >&2
        case_fail "sanitizer report in $RELAY_LOG"; return 1
    fi
    return 0
}

# A tgtd serving the image on TPORT.  A restarted one gets its target before
# TPORT opens: it starts on a scratch port and TPORT is added as a portal last,
# so an initiator never logs in to a tgtd without the target.
start_target() {
    local scratch
    scratch=$(free_port) || fail "no free port"
    tgt_start "$scratch"
    tgt_add_target 1 "$IQN" "$IMG"
    tgt_adm --lld iscsi --mode portal --op new --param "portal=127.0.0.1:$TPORT" >/dev/null \
        || fail "tgtadm: cannot add portal 127.0.0.1:$TPORT"
    wait_until 5 _port_listening "$TPORT" || fail "tgtd does not listen on $TPORT"
}

# Known state between sub-cases: tgtd running (not stopped), a relay listening.
ensure_env() {
    if [ -n "$TGT_PID" ] && _pid_alive "$TGT_PID"; then kill -CONT "$TGT_PID"; else tgt_kill9; start_target; fi
    if [ -z "$RELAY_PID" ] || ! _pid_alive "$RELAY_PID"; then
        [ -n "$RELAY_PID" ] && { wait "$RELAY_PID" 2>/dev/null; RELAY_PID=; }
        start_relay
    fi
}

# Write specs: one "OFFSET LENGTH PATTERN" line per write, in order.
spec_add() { echo "$2 $3 $4" >>"$WORK/spec-$1"; }
# qemu-io -c arguments for the writes of a spec, with SLEEP ms between them.
spec_writes() {
    local name=$1 sleep_ms=$2 off len pat
    QIO_ARGS=()
    while read -r off len pat; do
        QIO_ARGS+=(-c "write -P $pat $off $len")
        [ "$sleep_ms" -gt 0 ] && QIO_ARGS+=(-c "sleep $sleep_ms")
    done <"$WORK/spec-$name"
}

# verify NAME START END : every byte of [START, END) of the LUN is what the
# spec's writes (later ones win) left there, zero elsewhere: read back through
# tgtd directly, and from the backing file.
verify() {
    local name=$1 start=$2 end=$3 off len pat args=() out
    while read -r off len pat; do args+=(-c "read -P $pat $off $len"); done \
        < <(python3 "$WORK/final_extents.py" "$WORK/spec-$name" "$start" "$end")
    out=$(timeout -k 5 60 qemu-io -f raw "${args[@]}" "$(tgt_url)" 2>&1)
    if [ $? -ne 0 ] || grep -qiE 'fail|error' <<<"$out"; then
        grep -iE 'fail|error' <<<"$out" | head -5 >&2
        case_fail "read-back through tgtd differs from what was written ($name)"; return 1
    fi
    local nread
    nread=$(grep -c '^read ' <<<"$out")
    [ "$nread" -eq $((${#args[@]} / 2)) ] || { case_fail "read-back: $nread of $((${#args[@]} / 2)) reads done"; return 1; }
    out=$(python3 "$WORK/check_image.py" "$IMG" "$WORK/spec-$name" "$start" "$end") \
        || { echo "$out" >&2; case_fail "backing image differs from what was written ($name)"; return 1; }
    note "verified $out ($((nread)) extents read back through tgtd with read -P)"
}

# qemu-io through the relay in the background; QIO_PID is qemu-io itself.
qio_start() {
    local qlog=$1; shift
    # line-buffered, so progress shows in the log while it runs
    stdbuf -oL qemu-io -f raw "$@" "$URL_R" >"$qlog" 2>&1 </dev/null &
    QIO_PID=$!
}
# qio_ok LOG N : qemu-io output has N successful writes and no error.
qio_ok() {
    local n
    n=$(grep -c '^wrote ' "$1")
    if grep -qiE 'error|fail' "$1" || [ "$n" -ne "$2" ]; then
        grep -iE 'error|fail' "$1" | head -5 >&2
        case_fail "qemu-io: $n of $2 writes done, or errors ($(basename "$1"))"; return 1
    fi
}

relay_conns() { ss -Htn state established "( sport = :$RPORT )" 2>/dev/null | wc -l; }
relay_opens() { cat "$WORK"/relay-*.log 2>/dev/null | grep -c 'storm-relay: open'; }
opens_gt() { [ "$(relay_opens)" -gt "$1" ]; }
# fds_le N : the relay holds at most N file descriptors.
fds_le() { [ "$(proc_fd_count "$RELAY_PID")" -le "$1" ]; }
no_relay_conns() { [ "$(relay_conns)" -eq 0 ]; }

cat >"$WORK/final_extents.py" <<'PY'
# Prints the extents "OFFSET LENGTH PATTERN" that a spec's writes leave in
# [START, END) (later writes win), zero-filled gaps included as pattern 0.
import sys
spec, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
owner = {}   # 4 KiB granule -> pattern (specs use 4 KiB-aligned writes)
G = 4096
for line in open(spec):
    off, ln, pat = (int(x, 0) for x in line.split())
    assert off % G == 0 and ln % G == 0 and start <= off and off + ln <= end
    for g in range(off // G, (off + ln) // G):
        owner[g] = pat
runs = []
for g in range(start // G, end // G):
    p = owner.get(g, 0)
    if runs and runs[-1][2] == p and runs[-1][0] + runs[-1][1] == g * G and runs[-1][1] < (16 << 20):
        runs[-1][1] += G
    else:
        runs.append([g * G, G, p])
for off, ln, p in runs:
    print(off, ln, "0x%02x" % p)
PY

cat >"$WORK/check_image.py" <<'PY'
# Compares [START, END) of the image with what the spec's writes left there.
import subprocess, sys
img, spec, start, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ext = subprocess.run([sys.executable, sys.argv[0].replace("check_image", "final_extents"), spec,
                      str(start), str(end)], capture_output=True, text=True, check=True).stdout
bad = []
total = 0
with open(img, "rb") as f:
    for line in ext.split("\n"):
        if not line:
            continue
        off, ln, p = line.split()
        off, ln, p = int(off), int(ln), int(p, 16)
        f.seek(off)
        got = f.read(ln)
        total += len(got)
        if got != bytes([p]) * ln:
            first = next((i for i in range(len(got)) if got[i] != p), len(got))
            bad.append("at %d (extent %d+%d, pattern 0x%02x): found 0x%02x" %
                       (off + first, off, ln, p, got[first] if first < len(got) else -1))
if bad:
    print("image mismatches:\n  " + "\n  ".join(bad[:10]))
    sys.exit(1)
print("%d bytes of [%d MiB, %d MiB) in the image" % (total, start >> 20, end >> 20))
PY

# flood.py PORT BYTES MODE KIND : a client that pushes BYTES of KIND
# (random|zeros|nop|bighdr) and stops when the relay stops reading for 3 s;
# MODE close|reset (SO_LINGER 0) at the end; prints the bytes it got rid of.
cat >"$WORK/flood.py" <<'PY'
import os, socket, struct, sys
port, total, mode, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.settimeout(3)
if kind == "nop":
    # NOP-Out, immediate, F bit, ITT/TTT 0xffffffff: a valid PDU, endlessly.
    chunk = (bytes([0x40, 0x80]) + bytes(14) + b"\xff" * 8 + bytes(24)) * 5000
elif kind == "zeros":
    chunk = bytes(1 << 18)
elif kind == "bighdr":
    # A Login Request announcing a (16 MiB - 1) data segment, then random bytes.
    bhs = bytearray(48)
    bhs[0] = 0x43; bhs[1] = 0x87
    bhs[5:8] = b"\xff\xff\xff"      # DataSegmentLength 16 MiB - 1
    chunk = bytes(bhs) + os.urandom((1 << 18) - 48)
else:
    chunk = os.urandom(1 << 18)
sent = 0
try:
    while sent < total:
        sent += s.send(chunk[: min(len(chunk), total - sent)])
        if kind in ("random", "bighdr"):
            chunk = os.urandom(len(chunk))
except (socket.timeout, OSError) as e:
    pass
if mode == "reset":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
print(sent)
PY

# ----------------------------------------------------------------- case a --
case_a() {
    local i off pat t_kill t_back ms_down ms_open ms_done opens0
    : >"$WORK/spec-a"
    for ((i = 0; i < 16; i++)); do
        spec_add a $((i * 4 * MiB)) $((4 * MiB)) $((0x10 + i))
    done
    spec_writes a 60
    opens0=$(relay_opens)
    qio_start "$WORK/qio-a.log" "${QIO_ARGS[@]}"
    local qpid=$QIO_PID t_start
    t_start=$(now_s)
    wait_until 10 opens_gt "$opens0" || { case_fail "qemu-io did not connect through the relay"; return 1; }
    sleep 0.8
    _pid_alive "$qpid" || { case_fail "the workload ended before the kill: inconclusive"; return 1; }
    local wrote_before
    wrote_before=$(grep -c '^wrote ' "$WORK/qio-a.log")
    relay_kill9; t_kill=$(now_s)
    note "storm-relay killed (-9) $(ms_since "$t_start") ms into the workload, after $wrote_before of 16 writes"
    sleep 1
    _pid_alive "$qpid" || { case_fail "qemu-io gave up while the relay was down"; return 1; }
    opens0=$(relay_opens)
    start_relay; t_back=$(now_s)
    ms_down=$(awk -v a="$t_kill" -v b="$t_back" 'BEGIN {printf "%d", (b - a) * 1000}')
    wait_until 30 opens_gt "$opens0" || { case_fail "the initiator did not reconnect within 30 s of the restart"; return 1; }
    ms_open=$(ms_since "$t_back")
    wait_bounded "$qpid" 60; local rc=$?
    ms_done=$(ms_since "$t_back")
    [ "$rc" -eq 0 ] || { case_fail "qemu-io exited $rc"; return 1; }
    qio_ok "$WORK/qio-a.log" 16 || return 1
    note "relay down ${ms_down} ms; initiator reconnected ${ms_open} ms after the restart; workload done ${ms_done} ms after it (total $(ms_since "$t_start") ms)"
    verify a 0 $((64 * MiB)) || return 1
}

# ----------------------------------------------------------------- case b --
case_b() {
    local i t t_stop qpid rc
    # b1: SIGSTOP / SIGCONT
    : >"$WORK/spec-b1"
    for ((i = 0; i < 16; i++)); do spec_add b1 $((64 * MiB + i * 2 * MiB)) $((2 * MiB)) $((0x30 + i)); done
    spec_writes b1 40
    t=$(now_s)
    qio_start "$WORK/qio-b1.log" "${QIO_ARGS[@]}"; qpid=$QIO_PID
    sleep 0.5
    _pid_alive "$qpid" || { case_fail "b1: the workload ended before the stop: inconclusive"; return 1; }
    kill -STOP "$TGT_PID"; t_stop=$(now_s)
    note "b1: tgtd stopped $(ms_since "$t") ms into the workload"
    sleep 3
    _pid_alive "$qpid" || { case_fail "b1: qemu-io ended while tgtd was stopped"; return 1; }
    kill -CONT "$TGT_PID"
    local ms_cont
    ms_cont=$(ms_since "$t_stop")
    t=$(now_s)
    wait_bounded "$qpid" 60; rc=$?
    [ "$rc" -eq 0 ] || { case_fail "b1: qemu-io exited $rc"; return 1; }
    qio_ok "$WORK/qio-b1.log" 16 || return 1
    note "b1: tgtd stopped for ${ms_cont} ms; workload done $(ms_since "$t") ms after SIGCONT"
    verify b1 $((64 * MiB)) $((96 * MiB)) || return 1

    # b2: kill -9, a fresh tgtd on the same port and backing file
    : >"$WORK/spec-b2"
    for ((i = 0; i < 16; i++)); do spec_add b2 $((96 * MiB + i * 2 * MiB)) $((2 * MiB)) $((0x50 + i)); done
    spec_writes b2 40
    t=$(now_s)
    qio_start "$WORK/qio-b2.log" "${QIO_ARGS[@]}"; qpid=$QIO_PID
    sleep 0.5
    _pid_alive "$qpid" || { case_fail "b2: the workload ended before the kill: inconclusive"; return 1; }
    tgt_kill9; t_stop=$(now_s)
    note "b2: tgtd killed (-9) $(ms_since "$t") ms into the workload"
    sleep 1
    _pid_alive "$qpid" || { case_fail "b2: qemu-io gave up while tgtd was down"; return 1; }
    start_target
    note "b2: new tgtd serving on $TPORT $(ms_since "$t_stop") ms after the kill"
    t=$(now_s)
    wait_bounded "$qpid" 60; rc=$?
    [ "$rc" -eq 0 ] || { case_fail "b2: qemu-io exited $rc"; return 1; }
    qio_ok "$WORK/qio-b2.log" 16 || return 1
    note "b2: workload done $(ms_since "$t") ms after the new tgtd came up"
    _pid_alive "$RELAY_PID" || { case_fail "b2: the relay died"; return 1; }
    verify b2 $((96 * MiB)) $((128 * MiB)) || return 1
}

# ----------------------------------------------------------------- case c --
case_c() {
    local base d t qpid n ms
    wait_until 10 no_relay_conns
    base=$(proc_fd_count "$RELAY_PID")
    note "relay idle: $base fds, VmRSS $(proc_rss_kb "$RELAY_PID") kB"
    # c1: kill -9 of qemu-io during one 64 MiB write, at several points.
    for d in 0.05 0.15 0.3 0.5; do
        qio_start "$WORK/qio-c1.log" -c "write -P 0xc1 $((128 * MiB)) $((64 * MiB))"; qpid=$QIO_PID
        sleep "$d"
        if ! _pid_alive "$qpid"; then note "c1: qemu-io finished before ${d} s: no kill this time"; wait "$qpid"; continue; fi
        kill -9 "$qpid"; wait "$qpid" 2>/dev/null; t=$(now_s)
        if ! wait_until 10 fds_le "$base"; then
            case_fail "c1: relay fds stuck at $(proc_fd_count "$RELAY_PID") (baseline $base) 10 s after qemu-io was killed at ${d} s"
            return 1
        fi
        note "c1: qemu-io killed at ${d} s: relay back to $base fds in $(ms_since "$t") ms"
    done
    _pid_alive "$RELAY_PID" || { case_fail "c1: the relay died"; return 1; }

    # c2: an initiator resets its connection while the target is stopped.
    kill -STOP "$TGT_PID"
    local sent
    sent=$(timeout -k 2 30 python3 "$WORK/flood.py" "$RPORT" $((64 * MiB)) reset nop)
    t=$(now_s)
    note "c2: tgtd stopped; client pushed ${sent} bytes of NOP-Outs, then reset its connection"
    local ok=1 c0 c1 fds
    wait_until 3 fds_le "$base" || ok=0
    ms=$(ms_since "$t")
    c0=$(proc_cpu_ticks "$RELAY_PID"); sleep 1; c1=$(proc_cpu_ticks "$RELAY_PID")
    fds=$(proc_fd_count "$RELAY_PID")
    kill -CONT "$TGT_PID"
    note "c2: relay CPU while the target stays stopped: $((c1 - c0)) ticks in 1 s ($(getconf CLK_TCK)/s = one core); fds $fds (baseline $base)"
    if [ "$ok" = 0 ]; then
        case_fail "c2: the relay kept the reset connection (fds $fds, baseline $base) while the target was stopped"
        return 1
    fi
    note "c2: both sides closed ${ms} ms after the reset"
    [ $((c1 - c0)) -le 20 ] || { case_fail "c2: relay busy-loops ($((c1 - c0)) ticks/s) after an initiator reset"; return 1; }

    # c3: the relay still serves: a full rewrite of the region verifies.
    wait_until 10 fds_le "$base"
    : >"$WORK/spec-c"
    spec_add c $((128 * MiB)) $((64 * MiB)) 0xc3
    qio_start "$WORK/qio-c3.log" -c "write -P 0xc3 $((128 * MiB)) $((64 * MiB))"
    wait_bounded "$QIO_PID" 60 || { case_fail "c3: qemu-io failed"; return 1; }
    qio_ok "$WORK/qio-c3.log" 1 || return 1
    verify c $((128 * MiB)) $((192 * MiB)) || return 1
    wait_until 10 fds_le "$base" \
        || { case_fail "c3: relay fds $(proc_fd_count "$RELAY_PID") after the workload, baseline $base"; return 1; }
}

# ----------------------------------------------------------------- case d --
case_d() {
    local base i qpid rc kinds=(random zeros nop bighdr) n_garbage=0 t
    wait_until 10 no_relay_conns
    base=$(proc_fd_count "$RELAY_PID")
    : >"$WORK/spec-d"
    for ((i = 0; i < 32; i++)); do spec_add d $((192 * MiB + i * MiB)) $MiB $((0x70 + i)); done
    spec_writes d 30
    rm -f "$WORK/garbage.stop"
    (
        # garbage loop: 10 MiB per connection, kinds in turn, plus raw bash /dev/tcp
        j=0
        while [ ! -e "$WORK/garbage.stop" ] && [ "$j" -lt 60 ]; do
            k=${kinds[$((j % 4))]}
            timeout -k 1 10 python3 "$WORK/flood.py" "$RPORT" $((10 * MiB)) close "$k" >/dev/null 2>&1
            timeout -k 1 10 bash -c "head -c 1M /dev/urandom >/dev/tcp/127.0.0.1/$RPORT" 2>/dev/null
            j=$((j + 1))
            echo "$j" >"$WORK/garbage.count"
        done
    ) &
    local gpid=$!
    sleep 0.3
    t=$(now_s)
    qio_start "$WORK/qio-d.log" "${QIO_ARGS[@]}"; qpid=$QIO_PID
    wait_bounded "$qpid" 90; rc=$?
    touch "$WORK/garbage.stop"
    wait_bounded "$gpid" 30
    n_garbage=$(( $(cat "$WORK/garbage.count" 2>/dev/null || echo 0) * 2 ))
    [ "$rc" -eq 0 ] || { case_fail "qemu-io exited $rc beside the garbage"; return 1; }
    qio_ok "$WORK/qio-d.log" 32 || return 1
    note "good workload done in $(ms_since "$t") ms beside $n_garbage garbage connections"
    _pid_alive "$RELAY_PID" || { case_fail "the relay died"; return 1; }
    wait_until 10 fds_le "$base" \
        || { case_fail "relay fds $(proc_fd_count "$RELAY_PID") after the garbage, baseline $base"; return 1; }
    note "relay alive, back to $base fds, VmRSS $(proc_rss_kb "$RELAY_PID") kB"
    verify d $((192 * MiB)) $((224 * MiB)) || return 1
}

# ----------------------------------------------------------------- case e --
case_e() {
    local i qpid rc base_rss max=0 v samples=() fpids=() sent total=0 t
    stop_relay || return 1
    start_relay -b 1048576
    : >"$WORK/spec-e"
    spec_add e $((224 * MiB)) $((64 * 1024)) 0xe0
    QIO_ARGS=(-c "write -P 0xe0 $((224 * MiB)) 65536" -c "sleep 1500")
    for ((i = 0; i < 16; i++)); do
        spec_add e $((225 * MiB + i * MiB)) $MiB $((0xe1 + i))
        QIO_ARGS+=(-c "aio_write -P $((0xe1 + i)) $((225 * MiB + i * MiB)) 1M")
    done
    QIO_ARGS+=(-c "aio_flush")
    base_rss=$(proc_rss_kb "$RELAY_PID")
    qio_start "$WORK/qio-e.log" "${QIO_ARGS[@]}"; qpid=$QIO_PID
    wait_until 10 grep -q '^wrote ' "$WORK/qio-e.log" || { case_fail "the writer did not start"; return 1; }
    kill -STOP "$TGT_PID"
    t=$(now_s)
    for ((i = 0; i < 4; i++)); do
        timeout -k 2 40 python3 "$WORK/flood.py" "$RPORT" $((64 * MiB)) close nop >"$WORK/flood-e$i.out" 2>&1 &
        fpids+=($!)
    done
    for ((i = 0; i < 20; i++)); do
        sleep 0.25
        v=$(proc_rss_kb "$RELAY_PID")
        samples+=("$v")
        [ "${v:-0}" -gt "$max" ] && max=$v
    done
    local blocked=yes
    _pid_alive "$qpid" || blocked=no
    for i in "${!fpids[@]}"; do wait_bounded "${fpids[$i]}" 20; sent=$(cat "$WORK/flood-e$i.out"); total=$((total + ${sent:-0})); done
    kill -CONT "$TGT_PID"
    note "relay -b 1048576, tgtd stopped for $(ms_since "$t") ms: VmRSS before ${base_rss} kB, max ${max} kB over 5 s (samples: ${samples[*]})"
    note "writer blocked through the stop: $blocked; 4 flood clients got rid of $((total / 1024)) kB of 256 MiB before back-pressure held them"
    [ "$blocked" = yes ] || { case_fail "the writer was not blocked by the stopped target: inconclusive"; return 1; }
    [ "$max" -lt $((64 * 1024)) ] || { case_fail "relay VmRSS reached $max kB (bound 64 MiB)"; return 1; }
    [ "$total" -lt $((128 * MiB)) ] || { case_fail "the relay read $total bytes from flood clients while the target was stopped"; return 1; }
    wait_bounded "$qpid" 60; rc=$?
    [ "$rc" -eq 0 ] || { case_fail "the writer exited $rc after SIGCONT"; return 1; }
    grep -qiE 'error|fail' "$WORK/qio-e.log" && { case_fail "the writer reported errors"; return 1; }
    [ "$(grep -c '^wrote ' "$WORK/qio-e.log")" -eq 17 ] || { case_fail "the writer did $(grep -c '^wrote ' "$WORK/qio-e.log") of 17 writes"; return 1; }
    note "writer done $(ms_since "$t") ms after the stop"
    verify e $((224 * MiB)) $((256 * MiB)) || return 1
}

cat >"$WORK/silent.py" <<'PY'
# silent.py PORT N SECS: N connections to 127.0.0.1:PORT that send nothing;
# prints when the relay closed each, fails if one is still open after SECS.
import socket, sys, time
port, n, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
t0 = time.monotonic()
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
for s in socks:
    s.settimeout(0.05)
closed = {}
while len(closed) < n and time.monotonic() - t0 < secs:
    for i, s in enumerate(socks):
        if i in closed:
            continue
        try:
            if s.recv(4096) == b"":
                closed[i] = time.monotonic() - t0
        except socket.timeout:
            pass
        except OSError:
            closed[i] = time.monotonic() - t0
if len(closed) < n:
    print(f"{n - len(closed)} of {n} silent connections still open after {secs} s")
    sys.exit(1)
ms = sorted(int(v * 1000) for v in closed.values())
print(f"{n} silent connections closed by the relay after {ms[0]}-{ms[-1]} ms")
sys.exit(0 if ms[0] >= 900 else 2)
PY

case_f() {
    local i t qpid rc out
    stop_relay || return 1
    start_relay -c 4 --login-timeout 1000
    out=$(timeout -k 1 15 python3 "$WORK/silent.py" "$RPORT" 4 5 2>&1); rc=$?
    [ "$rc" -eq 0 ] || { echo "$out" >&2; case_fail "silent connections not closed at the login deadline (rc $rc)"; return 1; }
    note "$out"
    [ "$(grep -c 'Connection timed out' "$RELAY_LOG")" -eq 4 ] \
        || { grep 'close' "$RELAY_LOG" >&2; case_fail "the relay's log does not say the 4 timed out"; return 1; }
    : >"$WORK/spec-f"
    for ((i = 0; i < 16; i++)); do spec_add f $((192 * MiB + i * MiB)) $MiB $((0x30 + i)); done
    spec_writes f 100
    t=$(now_s)
    qio_start "$WORK/qio-f.log" "${QIO_ARGS[@]}"; qpid=$QIO_PID
    wait_bounded "$qpid" 60; rc=$?
    [ "$rc" -eq 0 ] || { case_fail "qemu-io exited $rc"; return 1; }
    qio_ok "$WORK/qio-f.log" 16 || return 1
    [ "$(grep -c 'storm-relay: open' "$RELAY_LOG")" -eq 5 ] \
        || { case_fail "the workload reconnected: $(grep -c 'storm-relay: open' "$RELAY_LOG") opens"; return 1; }
    note "logged-in workload ran $(ms_since "$t") ms on one connection, past the 1 s login deadline"
    verify f $((192 * MiB)) $((208 * MiB)) || return 1
}

# ------------------------------------------------------------------- main --
log "storm-relay: $STORM_RELAY (ASan: $ASAN)"
start_target
start_relay
overall=0
for CASE in $CASES; do
    declare -F "case_$CASE" >/dev/null || fail "unknown sub-case $CASE"
    ensure_env
    log "---- sub-case $CASE"
    t=$(now_s)
    CASE_MSG=
    # Each sub-case ends with its relay stopped by SIGTERM: exit 0 and no
    # sanitizer (leak) report, attributed to this sub-case.
    if "case_$CASE" && stop_relay; then
        RESULT[$CASE]="PASS ($(ms_since "$t") ms)"
    else
        RESULT[$CASE]="FAIL: $CASE_MSG"
        overall=1
        # leave a known state for the next sub-case
        [ -n "$TGT_PID" ] && kill -CONT "$TGT_PID" 2>/dev/null
        touch "$WORK/garbage.stop"
    fi
    log "sub-case $CASE: ${RESULT[$CASE]}"
done
CASE=end
if [ -n "$RELAY_PID" ]; then stop_relay || overall=1; fi
for f in "$WORK"/relay-*.log; do
    if sanitizer_report "$f"; then echo "sanitizer report in $(basename "$f")" >&2; overall=1; fi
done
echo "storm-relay fault sub-cases (ASan build: $ASAN), $(ms_since "$T0") ms in all:"
for CASE in $CASES; do echo "  $CASE: ${RESULT[$CASE]}"; done
[ "$overall" -eq 0 ] || fail "some sub-cases failed"
echo "PASS"
exit 0

# shellcheck shell=bash
# Helpers for libstorm's integration tests.  Source this file from a test
# script (bash):
#
#     . "$(dirname "$0")/lib.sh"
#
# It provides:
#   skip MSG / fail MSG / log MSG     exit 77 / exit 1 / trace on stderr
#   require_root, require_cmd CMD...  exit 77 ("SKIP: ...") when missing
#   WORK                              a private temporary directory
#   free_port                         print a free TCP port on 127.0.0.1
#   tgt_start PORT                    tgtd on 127.0.0.1:PORT, own control port
#   tgt_add_target TID IQN IMG [PARAM=VALUE...]
#                                     target TID with LUN 1 backed by IMG
#   tgt_lun_params TID PARAMS         e.g. thin_provisioning=1 on LUN 1
#   tgt_stop                          offline, delete targets, delete system
#   cap_start IFACE FILTER OUT.pcap   dumpcap (classic pcap format)
#   cap_stop                          SIGINT dumpcap and wait for it
#   run_to SECS CMD...                run CMD with a timeout, log it
#   on_exit CMD                       extra cleanup command (run first)
#
# Everything started here is stopped by an EXIT trap, also on failure or on
# SIGINT/SIGTERM.  Only loopback is used.  Set STORM_KEEP_WORK=1 to keep the
# work directory (captures, logs) for inspection.

set -u -o pipefail

_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${STORM_SOURCE_DIR:=$(cd "$_lib_dir/../.." && pwd)}"
: "${STORM_BUILD_DIR:=$STORM_SOURCE_DIR/build}"
: "${STORM_DUMP:=$STORM_BUILD_DIR/tools/storm-dump}"
export STORM_SOURCE_DIR STORM_BUILD_DIR STORM_DUMP
STORM_IT_DIR=$_lib_dir

log()  { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
skip() { printf 'SKIP: %s\n' "$*" >&2; exit 77; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

require_root() {
    [ "$(id -u)" -eq 0 ] || skip "must run as root (tgtd and dumpcap on lo need it)"
}

require_cmd() {
    local c missing=()
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || missing+=("$c")
    done
    [ ${#missing[@]} -eq 0 ] || skip "missing command(s): ${missing[*]}"
}

# require_storm_dump: the binary under test must exist (77 otherwise: it is
# built by the project, but a build without tools is legitimate).
require_storm_dump() {
    [ -x "$STORM_DUMP" ] || skip "storm-dump not found at $STORM_DUMP (set STORM_DUMP or build tools)"
}

# run_to SECS CMD... : run a command with a hard timeout (SIGKILL 5 s later).
run_to() {
    local secs=$1; shift
    log "+ $*"
    timeout -k 5 "$secs" "$@"
}

# ---------------------------------------------------------------- cleanup --

_extra_cleanup=()
on_exit() { _extra_cleanup+=("$1"); }

_lib_cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    set +e
    local c
    for c in "${_extra_cleanup[@]}"; do eval "$c"; done
    cap_stop >/dev/null 2>&1
    tgt_stop
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
        local f
        for f in "$WORK"/*.log; do
            [ -s "$f" ] || continue
            echo "---- tail of $f" >&2
            tail -n 20 "$f" >&2
        done
    fi
    if [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
        if [ "${STORM_KEEP_WORK:-0}" = 1 ]; then
            echo "work directory kept: $WORK" >&2
        else
            rm -rf "$WORK"
        fi
    fi
    exit "$rc"
}
trap _lib_cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT
trap 'echo "terminated" >&2; exit 143' TERM HUP

WORK=$(mktemp -d "${TMPDIR:-/tmp}/storm-it.XXXXXX") || { echo "FAIL: mktemp" >&2; exit 1; }
export WORK

# wait_until SECS CMD... : poll CMD every 0.1 s until it succeeds; 1 on timeout.
wait_until() {
    local secs=$1; shift
    local i n=$((secs * 10))
    for ((i = 0; i < n; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

_pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# _wait_pid PID SECS : wait for a child to exit (bounded); 1 if still alive.
_wait_pid() {
    local pid=$1 secs=$2 i
    for ((i = 0; i < secs * 10; i++)); do
        _pid_alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
        sleep 0.1
    done
    return 1
}

# ------------------------------------------------------------------ ports --

_port_listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# free_port: a TCP port that nothing on 127.0.0.1 uses right now.
free_port() {
    local p i
    for ((i = 0; i < 50; i++)); do
        p=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()') || return 1
        # Stay away from the well-known iSCSI port and anything in use.
        if [ "$p" != 3260 ] && ! _port_listening "$p"; then
            echo "$p"; return 0
        fi
    done
    return 1
}

# ------------------------------------------------------------------- tgtd --

TGT_PID=
TGT_CTL=
TGT_PORT=
TGT_TIDS=()
TGT_LOG=

# tgtadm bound to our tgtd's control port, with a timeout.
tgt_adm() {
    timeout -k 2 10 tgtadm -C "$TGT_CTL" "$@"
}

# tgt_start PORT : start tgtd listening on 127.0.0.1:PORT only.
tgt_start() {
    local port=$1 i
    [ -z "$TGT_PID" ] || fail "tgt_start: a tgtd is already running (pid $TGT_PID)"
    mkdir -p /var/run/tgtd
    # The control port only names the unix socket /var/run/tgtd/socket.N;
    # pick one that no other tgtd uses (the system one uses 0).
    for ((i = 0; i < 100; i++)); do
        TGT_CTL=$((1000 + RANDOM % 30000))
        [ -e "/var/run/tgtd/socket.$TGT_CTL" ] || [ -e "/var/run/tgtd/socket.$TGT_CTL.lock" ] || break
    done
    TGT_PORT=$port
    TGT_LOG=$WORK/tgtd-$port.log
    log "starting tgtd on 127.0.0.1:$port (control port $TGT_CTL)"
    setsid tgtd -f -C "$TGT_CTL" --iscsi "portal=127.0.0.1:$port" >"$TGT_LOG" 2>&1 </dev/null &
    TGT_PID=$!
    for ((i = 0; i < 100; i++)); do
        _pid_alive "$TGT_PID" || { wait "$TGT_PID" 2>/dev/null; TGT_PID=; cat "$TGT_LOG" >&2; fail "tgtd exited at start"; }
        if tgt_adm --mode system --op show >/dev/null 2>&1 && _port_listening "$port"; then
            return 0
        fi
        sleep 0.1
    done
    fail "tgtd did not answer on control port $TGT_CTL / listen on $port within 10 s"
}

# tgt_add_target TID IQN IMG [NAME=VALUE...] : new target, LUN 1 = IMG,
# open to all initiators, then optional iSCSI parameters (e.g.
# HeaderDigest=CRC32C).
tgt_add_target() {
    local tid=$1 iqn=$2 img=$3; shift 3
    [ -n "$TGT_PID" ] || fail "tgt_add_target: tgtd not started"
    tgt_adm --lld iscsi --mode target --op new --tid "$tid" --targetname "$iqn" \
        || fail "tgtadm: cannot create target $tid $iqn"
    TGT_TIDS+=("$tid")
    tgt_adm --lld iscsi --mode logicalunit --op new --tid "$tid" --lun 1 --backing-store "$img" \
        || fail "tgtadm: cannot add LUN 1 ($img) to target $tid"
    tgt_adm --lld iscsi --mode target --op bind --tid "$tid" --initiator-address ALL \
        || fail "tgtadm: cannot bind target $tid"
    local kv
    for kv in "$@"; do
        tgt_adm --lld iscsi --mode target --op update --tid "$tid" --name "${kv%%=*}" --value "${kv#*=}" \
            || fail "tgtadm: cannot set ${kv%%=*} on target $tid"
    done
}

# tgt_lun_params TID PARAMS : logical unit 1 parameters, e.g.
# thin_provisioning=1 (makes UNMAP and WRITE SAME with UNMAP available).
tgt_lun_params() {
    tgt_adm --lld iscsi --mode logicalunit --op update --tid "$1" --lun 1 --params "$2" \
        || fail "tgtadm: cannot set LUN parameters $2 on target $1"
}

# tgt_stop : the documented shutdown (tgtd ignores SIGTERM), then wait.
tgt_stop() {
    [ -n "$TGT_PID" ] || return 0
    if _pid_alive "$TGT_PID"; then
        log "stopping tgtd (pid $TGT_PID)"
        tgt_adm --mode system --op update --name State -v offline >/dev/null 2>&1
        local tid
        for tid in "${TGT_TIDS[@]}"; do
            tgt_adm --lld iscsi --mode target --op delete --force --tid "$tid" >/dev/null 2>&1
        done
        tgt_adm --mode system --op delete >/dev/null 2>&1
        if ! _wait_pid "$TGT_PID" 10; then
            log "tgtd did not exit, killing it"
            kill -9 "$TGT_PID" 2>/dev/null
            _wait_pid "$TGT_PID" 5
        fi
    fi
    wait "$TGT_PID" 2>/dev/null
    rm -f "/var/run/tgtd/socket.$TGT_CTL" "/var/run/tgtd/socket.$TGT_CTL.lock"
    TGT_PID=
    TGT_TIDS=()
}

# ---------------------------------------------------------------- dumpcap --

CAP_PID=
CAP_OUT=

# cap_start IFACE FILTER OUT.pcap
cap_start() {
    local iface=$1 filter=$2 out=$3 i
    [ -z "$CAP_PID" ] || fail "cap_start: a capture is already running"
    CAP_OUT=$out
    local caplog
    caplog=$WORK/dumpcap-$(basename "$out").log
    rm -f "$out"
    # -P: classic pcap (libpcap) format; -B 512: 512 MiB kernel buffer, the
    # default one drops packets at loopback speed.
    dumpcap -q -P -i "$iface" -B 512 -f "$filter" -w "$out" >"$caplog" 2>&1 </dev/null &
    CAP_PID=$!
    for ((i = 0; i < 100; i++)); do
        _pid_alive "$CAP_PID" || { wait "$CAP_PID" 2>/dev/null; CAP_PID=; cat "$caplog" >&2; fail "dumpcap exited at start"; }
        # "Capturing on" is printed once the interface is open and the
        # filter set, right before the capture loop starts.
        if grep -q "Capturing on" "$caplog" 2>/dev/null && [ -s "$out" ]; then
            sleep 0.2
            return 0
        fi
        sleep 0.1
    done
    fail "dumpcap did not start capturing within 10 s"
}

# cap_stop : stop the capture (SIGINT), wait for the file to be complete.
cap_stop() {
    [ -n "$CAP_PID" ] || return 0
    sleep 0.3   # let the last loopback packets reach the socket
    kill -INT "$CAP_PID" 2>/dev/null
    if ! _wait_pid "$CAP_PID" 10; then
        kill -TERM "$CAP_PID" 2>/dev/null
        if ! _wait_pid "$CAP_PID" 3; then
            kill -9 "$CAP_PID" 2>/dev/null
            _wait_pid "$CAP_PID" 3
        fi
    fi
    wait "$CAP_PID" 2>/dev/null
    CAP_PID=
    return 0
}

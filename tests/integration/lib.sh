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

# ------------------------------------------------------------ storm-relay --
#
# Added for the relay tests:
#   STORM_RELAY                       storm-relay under test ($STORM_BUILD_DIR/tools/storm-relay)
#   require_relay                     exit 77 when it is not built
#   relay_start LPORT UPORT LOG [ARGS...]
#                                     storm-relay 127.0.0.1:LPORT -> 127.0.0.1:UPORT,
#                                     stderr to LOG, waits until it listens; sets RELAY_PID
#   relay_stop                        SIGTERM, bounded wait; returns its exit status
#                                     (137 if it had to be killed)
#   relay_kill9                       kill -9 the relay, reap it
#   sanitizer_report LOG              true if LOG holds an ASan/LSan/UBSan report
#   proc_rss_kb PID / proc_fd_count PID
#   require_fuse                      /dev/fuse and qemu-storage-daemon, else 77
#   qsd_start PORT IQN FILE LOG       qemu-storage-daemon: iSCSI LUN 1 of IQN at
#                                     127.0.0.1:PORT exported by FUSE as FILE; sets QSD_PID
#                                     (and writes it to $WORK/qsd.pid)
#   qsd_stop                          SIGTERM (unmounts the FUSE file), bounded, then -9

: "${STORM_RELAY:=$STORM_BUILD_DIR/tools/storm-relay}"
export STORM_RELAY

RELAY_PID=
RELAY_LOG=
_relay_cleanup_set=0

require_relay() {
    [ -x "$STORM_RELAY" ] || skip "storm-relay not found at $STORM_RELAY (set STORM_RELAY or build tools)"
}

_relay_cleanup() {
    if [ -n "$RELAY_PID" ] && _pid_alive "$RELAY_PID"; then
        kill -TERM "$RELAY_PID" 2>/dev/null
        _wait_pid "$RELAY_PID" 10 || { kill -9 "$RELAY_PID" 2>/dev/null; _wait_pid "$RELAY_PID" 3; }
    fi
    RELAY_PID=
}

relay_start() {
    local lport=$1 uport=$2 rlog=$3 i; shift 3
    [ -z "$RELAY_PID" ] || fail "relay_start: a relay is already running (pid $RELAY_PID)"
    if [ "$_relay_cleanup_set" = 0 ]; then on_exit _relay_cleanup; _relay_cleanup_set=1; fi
    RELAY_LOG=$rlog
    log "starting storm-relay 127.0.0.1:$lport -> 127.0.0.1:$uport $*"
    # ASan: report leaks at exit, do not stop at the first UBSan finding silently.
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
        "$STORM_RELAY" -l "127.0.0.1:$lport" -u "127.0.0.1:$uport" "$@" >>"$rlog" 2>&1 </dev/null &
    RELAY_PID=$!
    for ((i = 0; i < 100; i++)); do
        _pid_alive "$RELAY_PID" || { wait "$RELAY_PID" 2>/dev/null; RELAY_PID=; cat "$rlog" >&2; fail "storm-relay exited at start"; }
        _port_listening "$lport" && grep -q "listening on 127.0.0.1:$lport" "$rlog" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "storm-relay did not listen on $lport within 10 s"
}

relay_stop() {
    local rc=0 i pid=$RELAY_PID
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 150; i++)); do
        _pid_alive "$pid" || break
        sleep 0.1
    done
    if _pid_alive "$pid"; then
        log "storm-relay did not exit within 15 s of SIGTERM, killing it"
        kill -9 "$pid" 2>/dev/null
        _wait_pid "$pid" 5
        RELAY_PID=
        return 137
    fi
    wait "$pid" 2>/dev/null; rc=$?
    RELAY_PID=
    return "$rc"
}

relay_kill9() {
    [ -n "$RELAY_PID" ] || return 0
    kill -9 "$RELAY_PID" 2>/dev/null
    _wait_pid "$RELAY_PID" 5
    RELAY_PID=
}

sanitizer_report() {
    grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer' "$1" 2>/dev/null
}

proc_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
proc_fd_count() { local a=(/proc/"$1"/fd/*); [ -e "${a[0]}" ] && echo "${#a[@]}" || echo 0; }

# loop_release LOOPVAR MNT : unmounts MNT (lazily when it will not go) and
# detaches the loop device whose name variable LOOPVAR holds, then empties
# LOOPVAR.  Nothing when LOOPVAR is empty: safe in cleanup traps.
loop_release() {
    local -n _loop=$1
    [ -n "$_loop" ] || return 0
    mountpoint -q "$2" && { timeout -k 2 30 umount "$2" || umount -l "$2"; }
    timeout -k 2 10 losetup -d "$_loop" 2>/dev/null
    _loop=
}

# random_files DIR SEED NAME:BYTES... : files of random bytes from one
# generator seeded with SEED (an integer, e.g. 0x4d4f4e), in the order given.
random_files() {
    python3 - "$@" <<'PY' || fail "cannot write the source files in $1"
import os, random, sys
rng = random.Random(int(sys.argv[2], 0))
for spec in sys.argv[3:]:
    name, size = spec.split(":")
    with open(os.path.join(sys.argv[1], name), "wb") as f:
        f.write(rng.randbytes(int(size)))
PY
}

# mkfs_ext4 IMG SIZE BLOCKSIZE : a fresh ext4 image with its inode tables and
# journal written out (no lazy init to race the tests' own writes).
mkfs_ext4() {
    truncate -s "$2" "$1" || fail "cannot create $1"
    run_to 60 mkfs.ext4 -q -F -b "$3" -E lazy_itable_init=0,lazy_journal_init=0 "$1" >"$WORK/mkfs.log" 2>&1 \
        || fail "mkfs.ext4 failed (see $WORK/mkfs.log)"
}

require_fuse() {
    [ -c /dev/fuse ] || skip "/dev/fuse is missing (FUSE export impossible)"
    require_cmd qemu-storage-daemon
}

QSD_PID=
QSD_FILE=
_qsd_cleanup_set=0

_fuse_mounted() { awk -v f="$1" '$2 == f {found = 1} END {exit !found}' /proc/mounts; }

qsd_start() {
    local port=$1 iqn=$2 file=$3 qlog=$4 i
    [ -z "$QSD_PID" ] || fail "qsd_start: qemu-storage-daemon already running (pid $QSD_PID)"
    if [ "$_qsd_cleanup_set" = 0 ]; then on_exit qsd_stop; _qsd_cleanup_set=1; fi
    QSD_FILE=$file
    : >"$file"   # the FUSE mountpoint must be an existing regular file
    log "starting qemu-storage-daemon: iscsi://127.0.0.1:$port/$iqn/1 -> FUSE $file"
    setsid qemu-storage-daemon \
        --blockdev "driver=iscsi,transport=tcp,portal=127.0.0.1:$port,target=$iqn,lun=1,node-name=n0" \
        --export "type=fuse,id=e0,node-name=n0,mountpoint=$file,writable=on" \
        >"$qlog" 2>&1 </dev/null &
    QSD_PID=$!
    echo "$QSD_PID" >"$WORK/qsd.pid"
    for ((i = 0; i < 150; i++)); do
        _pid_alive "$QSD_PID" || { wait "$QSD_PID" 2>/dev/null; QSD_PID=; cat "$qlog" >&2; fail "qemu-storage-daemon exited at start"; }
        _fuse_mounted "$file" && return 0
        sleep 0.1
    done
    fail "qemu-storage-daemon did not export $file within 15 s"
}

qsd_stop() {
    [ -n "$QSD_PID" ] || return 0
    if _pid_alive "$QSD_PID"; then
        kill -TERM "$QSD_PID" 2>/dev/null
        if ! _wait_pid "$QSD_PID" 20; then
            log "qemu-storage-daemon did not exit within 20 s of SIGTERM, killing it"
            kill -9 "$QSD_PID" 2>/dev/null
            _wait_pid "$QSD_PID" 5
        fi
    fi
    wait "$QSD_PID" 2>/dev/null
    if [ -n "$QSD_FILE" ] && _fuse_mounted "$QSD_FILE"; then
        umount -l "$QSD_FILE" 2>/dev/null
    fi
    QSD_PID=
}

# tgt_kill9 : kill -9 our tgtd (no orderly shutdown), reap it and forget its
# targets; a following tgt_start gives a fresh, empty tgtd.
tgt_kill9() {
    [ -n "$TGT_PID" ] || return 0
    kill -CONT "$TGT_PID" 2>/dev/null
    kill -9 "$TGT_PID" 2>/dev/null
    _wait_pid "$TGT_PID" 5
    wait "$TGT_PID" 2>/dev/null
    rm -f "/var/run/tgtd/socket.$TGT_CTL" "/var/run/tgtd/socket.$TGT_CTL.lock"
    TGT_PID=
    TGT_TIDS=()
}

# wait_bounded PID SECS : wait for a background child of this shell; its exit
# status, or 124 after killing it (-9) when it outlived SECS.
wait_bounded() {
    local pid=$1 secs=$2 i
    for ((i = 0; i < secs * 10; i++)); do
        _pid_alive "$pid" || break
        sleep 0.1
    done
    if _pid_alive "$pid"; then
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        return 124
    fi
    wait "$pid" 2>/dev/null
}

# now_s : wall clock in seconds with milliseconds; ms_since T0 : milliseconds since T0.
now_s() { date +%s.%N | cut -c1-14; }
ms_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN {printf "%d", (b - a) * 1000}'; }

# proc_cpu_ticks PID : utime+stime of a process, in clock ticks (see getconf CLK_TCK).
proc_cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null; }

# watchdog_start SECS CMD : eval CMD in the background once SECS have passed,
# unless the script ended first (for waits the kernel makes unkillable, e.g.
# a sync stuck on a FUSE daemon: kill the daemon, then `kill -TERM $$`).  The
# watchdog runs in a copy of the shell: CMD must read what changes later from
# files (e.g. $WORK/qsd.pid), not from variables.
watchdog_start() {
    local secs=$1 cmd=$2
    rm -f "$WORK/.watchdog.off"
    (
        for ((i = 0; i < secs; i++)); do
            sleep 1
            [ -e "$WORK/.watchdog.off" ] && exit 0
        done
        echo "WATCHDOG: ${secs} s elapsed: $cmd" >&2
        eval "$cmd"
    ) &
    local wd=$!
    on_exit "touch '$WORK/.watchdog.off'; kill $wd 2>/dev/null; wait $wd 2>/dev/null"
}

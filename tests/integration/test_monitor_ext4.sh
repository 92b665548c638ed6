#!/usr/bin/env bash
# The proof of storm-monitor: the Linux kernel's ext4 runs a known workload
# over iSCSI, and storm-monitor must tell, from the capture and the image as
# it was before, every file operation and every byte written.
#
#   mkfs.ext4 (Debian defaults, 512 MiB sparse file: 4 KiB blocks, 16 MiB
#   journal); BEFORE.img = a copy.  tgtd serves the image; the chain is
#     kernel ext4 -> loop -> FUSE (qemu-storage-daemon, libiscsi)
#       -> storm-monitor --listen --upstream (live: the monitor is the relay,
#          its view built from BEFORE.img in the sync run, over its own
#          read-only iSCSI session to tgtd in the fsync run) -> tgtd
#   and dumpcap records the relay -> target leg (tcp port of tgtd): the I/O
#   the volume really received.  monitor_workload.sh runs the workload (mkdir,
#   300 files, an htree directory of 5200 entries, an 88 MiB file with holes
#   and an unwritten range (depth-1 extent tree), appends, overwrites,
#   renames, links, symlinks, truncates, chmod/chown, unlinks, rmdir; a sync
#   after each phase) and logs its ground truth; umount, teardown; the final
#   image must pass e2fsck -fn and hold the htree and the extent tree.
#
# Then storm-monitor --image BEFORE.img --pcap CAP --port TPORT offline on the
# capture of the same run, and monitor_score.py scores both outputs (live and
# offline) against the ground truth: namespace
# operations (precision/recall of (op, path, to)), written bytes per inode, and
# the final image's names (debugfs) against the monitor's.  Thresholds:
#
#   STORM_MONITOR_MIN_PRECISION, STORM_MONITOR_MIN_RECALL     (default 1.0)
#   STORM_MONITOR_MIN_{PRECISION,RECALL}_{NAMESPACE,WRITES,NAMES}
#                                  per score, override the two above
#
# STORM_MONITOR_SYNC: how each phase of the workload ends (see
# monitor_workload.sh): "sync" (sync(2), which also writes the committed
# metadata in place right after each commit: a reader of home blocks alone
# could pass), "fsync" (journal commits only until the checkpoint at umount:
# the journal must be followed), or "both" (default: two captures, each
# scored against the same thresholds; ~6 s each).
#
# STORM_KEEP_WORK=1 keeps the work directory: per mode, BEFORE.img, the final
# image lun.img, cap.pcap, expected.jsonl, monitor-{live,offline}.jsonl,
# score-{live,offline}.txt.
#
# Exit: 0 pass, 1 fail (also: scores below the thresholds), 77 skip (not
# root, no FUSE, missing tools or binaries).
. "$(dirname "$0")/lib.sh"

: "${STORM_MONITOR:=$STORM_BUILD_DIR/examples/monitor/storm-monitor}"
[ -x "$STORM_MONITOR" ] || skip "storm-monitor not found at $STORM_MONITOR (set STORM_MONITOR or build examples)"
require_root
require_cmd tgtd tgtadm dumpcap losetup mkfs.ext4 debugfs e2fsck mount umount mountpoint \
    python3 ss timeout setsid
require_fuse
require_relay

IQN=iqn.2024-01.storm.test:monitor-ext4
FUSEFILE=$WORK/disk.raw
MNT=$WORK/mnt
LOOP=
T0=$(date +%s.%N)
MODES=${STORM_MONITOR_SYNC:-both}
case $MODES in
    sync|fsync) ;;
    both) MODES="sync fsync" ;;
    *) fail "STORM_MONITOR_SYNC must be sync, fsync or both, not '$MODES'" ;;
esac

elapsed() { python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(date +%s.%N)"; }

_mon_ext4_cleanup() {
    loop_release LOOP "$MNT"
    qsd_stop
    _relay_cleanup
}
on_exit _mon_ext4_cleanup
# Never hang: past the limit, kill the FUSE exporter (that fails any I/O the
# kernel waits for) and end the script; the EXIT trap cleans up.
watchdog_start "${STORM_WATCHDOG_SECS:-180}" 'kill -9 $(cat "$WORK/qsd.pid" 2>/dev/null) 2>/dev/null; kill -TERM $$'

# capture_workload DIR MODE : a fresh image and its copy DIR/BEFORE.img, the
# chain through storm-relay, the workload (ground truth DIR/expected.jsonl)
# captured on the relay -> target leg into DIR/cap.pcap, teardown, checks of
# the final image DIR/lun.img.  Sets TPORT (the capture's iSCSI port).
capture_workload() {
    local dir=$1 mode=$2 t rrc nmany nleaf
    local img=$dir/lun.img
    mkdir -p "$dir" "$MNT"
    truncate -s 512M "$img" || fail "cannot create the image"
    # Debian's defaults as they are: 512 MiB is the smallest size that is
    # not "small" in mke2fs.conf, so 4 KiB blocks.
    run_to 60 mkfs.ext4 -q -F "$img" >"$dir/mkfs.log" 2>&1 || fail "mkfs.ext4 failed"
    cp --sparse=always "$img" "$dir/BEFORE.img" || fail "cannot copy the image"

    TPORT=$(free_port) || fail "no free port"
    tgt_start "$TPORT"
    tgt_add_target 1 "$IQN" "$img"
    local rport
    rport=$(free_port) || fail "no free port"
    # Live: storm-monitor itself is the relay, its view built before the
    # initiator logs in: from the image (sync run), or over its own read-only
    # iSCSI session to the target (fsync run).
    local volume=$dir/BEFORE.img
    [ "$mode" = fsync ] && volume=iscsi://127.0.0.1:$TPORT/$IQN/1
    monitor_live_start "$rport" "$TPORT" "$dir" "$volume"
    # One leg, relay -> target: the I/O the volume received.  Started before
    # the initiator logs in: the capture has the login and READ CAPACITY.
    cap_start lo "tcp port $TPORT" "$dir/cap.pcap"
    qsd_start "$rport" "$IQN" "$FUSEFILE" "$dir/qsd.log"
    grep -q "open 127.0.0.1:.*>127.0.0.1:$TPORT" "$dir/monitor-live.log" \
        || fail "qemu-storage-daemon's connection did not go through storm-monitor"
    LOOP=$(timeout -k 2 20 losetup --find --show "$FUSEFILE") || fail "losetup on the FUSE file"
    run_to 30 mount -t ext4 "$LOOP" "$MNT" || fail "mount of ext4 over iSCSI failed"
    log "[$mode] mounted $LOOP (FUSE -> relay :$rport -> tgtd :$TPORT)"

    t=$(date +%s.%N)
    MONITOR_WORKLOAD_SYNC=$mode run_to 150 bash "$STORM_IT_DIR/monitor_workload.sh" "$MNT" "$dir/expected.jsonl" \
        || fail "the workload failed"
    log "[$mode] workload: $(grep -vc '"op": "sync"' "$dir/expected.jsonl") operations in $(elapsed "$t") s"
    t=$(date +%s.%N)
    run_to 60 umount "$MNT" || fail "umount failed"
    timeout -k 2 20 losetup -d "$LOOP" || fail "losetup -d failed"
    LOOP=
    qsd_stop
    cap_stop
    local drops
    drops=$(sed -n 's|.*received/dropped on interface.*: [0-9]*/\([0-9]*\) .*|\1|p' "$WORK/dumpcap-cap.pcap.log")
    [ "${drops:-0}" -eq 0 ] || fail "dumpcap dropped $drops packets: the capture is incomplete"
    relay_stop; rrc=$?
    cat "$dir/monitor-live.log" >&2
    [ "$rrc" -eq 0 ] || fail "storm-monitor (live) exited $rrc on SIGTERM"
    tgt_stop
    log "[$mode] teardown in $(elapsed "$t") s; capture $(stat -c %s "$dir/cap.pcap") bytes"

    # The workload did what it claims.
    run_to 60 e2fsck -fn "$img" >"$dir/e2fsck.log" 2>&1 \
        || { cat "$dir/e2fsck.log" >&2; fail "e2fsck -fn: the final image is not clean"; }
    debugfs -R "htree /many" "$img" >"$dir/htree.txt" 2>/dev/null
    grep -q "Root node dump" "$dir/htree.txt" || fail "/many is not an htree directory"
    nmany=$(debugfs -R "ls /many" "$img" 2>/dev/null | grep -o 'entry-[0-9]*\|renamed-[0-9]*' | wc -l)
    [ "$nmany" -ge 5000 ] || fail "/many has $nmany entries, expected >= 5000"
    debugfs -R "ex /big/large.bin" "$img" >"$dir/extents.txt" 2>/dev/null
    nleaf=$(grep -cE '^ *1/ *1 ' "$dir/extents.txt")   # leaf entries of a depth-1 tree
    [ "$nleaf" -ge 5 ] || { cat "$dir/extents.txt" >&2; fail "/big/large.bin: $nleaf extents in a depth-1 tree, expected >= 5"; }
    log "[$mode] final image: e2fsck clean, /many an htree of $nmany entries, /big/large.bin $nleaf extents (depth 1)"
}

# run_monitor_offline DIR OUT : storm-monitor on DIR's capture and BEFORE.img.
# storm-monitor --listen --upstream in place of storm-relay (lib.sh's
# relay_stop and cleanup apply to it).
monitor_live_start() {
    local lport=$1 uport=$2 dir=$3 volume=$4 i
    if [ "$_relay_cleanup_set" = 0 ]; then on_exit _relay_cleanup; _relay_cleanup_set=1; fi
    log "starting storm-monitor live 127.0.0.1:$lport -> 127.0.0.1:$uport, view from $volume"
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$STORM_MONITOR" --image "$volume" \
        --listen "127.0.0.1:$lport" --upstream "127.0.0.1:$uport" \
        >"$dir/monitor-live.jsonl" 2>"$dir/monitor-live.log" </dev/null &
    RELAY_PID=$!
    for ((i = 0; i < 100; i++)); do
        _pid_alive "$RELAY_PID" || { wait "$RELAY_PID" 2>/dev/null; RELAY_PID=; cat "$dir/monitor-live.log" >&2; fail "storm-monitor exited at start"; }
        grep -q "listening on 127.0.0.1:$lport" "$dir/monitor-live.log" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "storm-monitor did not listen on $lport within 10 s"
}

run_monitor_offline() {
    local dir=$1 out=$2 t rc
    t=$(date +%s.%N)
    run_to 120 "$STORM_MONITOR" --image "$dir/BEFORE.img" --pcap "$dir/cap.pcap" --port "$TPORT" \
        >"$out" 2>"$dir/monitor-offline.log"
    rc=$?
    cat "$dir/monitor-offline.log" >&2
    [ "$rc" -eq 0 ] || fail "storm-monitor exited $rc"
    log "storm-monitor offline: $(wc -l <"$out") lines in $(elapsed "$t") s"
}

# score_monitor DIR LABEL MONITOR.jsonl : score one run of storm-monitor (live
# or offline) against DIR's ground truth and final image; prints the table;
# fails below the thresholds.
score_monitor() {
    local dir=$1 label=$2 out=$3 args=() cat kind var rc
    args+=(--min-precision "${STORM_MONITOR_MIN_PRECISION:-1.0}")
    args+=(--min-recall "${STORM_MONITOR_MIN_RECALL:-1.0}")
    for cat in namespace writes names; do
        for kind in precision recall; do
            var=STORM_MONITOR_MIN_${kind^^}_${cat^^}
            [ -n "${!var:-}" ] && args+=("--min-$kind-$cat" "${!var}")
        done
    done
    echo "==== storm-monitor $label, workload synced by ${dir##*/}: scores against the ground truth"
    run_to 120 python3 "$STORM_IT_DIR/monitor_score.py" "$dir/expected.jsonl" "$out" \
        --before-image "$dir/BEFORE.img" --final-image "$dir/lun.img" "${args[@]}" \
        >"$dir/score-$label.txt" 2>&1
    rc=$?
    cat "$dir/score-$label.txt"
    [ "$rc" -eq 0 ] || SCORE_FAILED+=("$label/${dir##*/}")
}

SCORE_FAILED=()
for mode in $MODES; do
    capture_workload "$WORK/$mode" "$mode"
    score_monitor "$WORK/$mode" live "$WORK/$mode/monitor-live.jsonl"
    run_monitor_offline "$WORK/$mode" "$WORK/$mode/monitor-offline.jsonl"
    score_monitor "$WORK/$mode" offline "$WORK/$mode/monitor-offline.jsonl"
done
[ ${#SCORE_FAILED[@]} -eq 0 ] \
    || fail "storm-monitor ${SCORE_FAILED[*]}: scores below the thresholds (or bad input); total $(elapsed "$T0") s"
echo "PASS: storm-monitor's report of kernel ext4 over iSCSI meets the thresholds ($MODES); total $(elapsed "$T0") s"
exit 0

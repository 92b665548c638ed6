#!/bin/bash
# storm-dump --events against known writes and reads.
#
# qemu-io writes known data at known offsets of a tgtd LUN (uniform patterns
# and one block of random bytes from a file), then reads the same ranges
# back, while dumpcap captures on lo.  storm-dump --events must report, for
# every range, write and read events on LUN 1 that cover it exactly, with
# block_size 512, status 0, lba = offset / 512, bytes = blocks * 512 and the
# SHA-256 of the bytes written.  A range may have been split into several
# SCSI commands by the initiator; each piece is then checked on its own.
#
# Exit: 0 checked and right, 1 failure, 77 prerequisite missing.

. "$(dirname "$0")/lib.sh"

require_root
require_cmd tgtd tgtadm dumpcap python3 ss setsid timeout truncate qemu-io sha256sum
require_storm_dump

PORT=$(free_port) || fail "no free port"
IQN=iqn.2024-01.org.libstorm.test:events
URL=iscsi://127.0.0.1:$PORT/$IQN/1
CAP=$WORK/events.pcap

truncate -s 64M "$WORK/lun.img" || fail "cannot create the image"
# 192 KiB of random bytes: position-dependent data catches Data-Out
# reordering that a uniform pattern would hide.
head -c 196608 /dev/urandom >"$WORK/random.bin" || fail "cannot make random data"

# offset length source (0xNN pattern byte or the random file)
RANGES="4096 65536 0xab
1048576 262144 0x5a
8388608 1048576 0x11
33553920 512 0xee
20971520 196608 $WORK/random.bin
40960000 4096 0x00"

tgt_start "$PORT"
tgt_add_target 1 "$IQN" "$WORK/lun.img"

# Fill the last range with 0xff first so that writing zeros changes it.
run_to 60 qemu-io -f raw -c 'write -P 0xff 40960000 4096' "$URL" >"$WORK/qemu-io.log" 2>&1 \
    || fail "qemu-io pre-fill failed"

cap_start lo "tcp port $PORT" "$CAP"

wargs=() rargs=()
while read -r off len src; do
    if [ -f "$src" ]; then
        wargs+=(-c "write -s $src $off $len")
        rargs+=(-c "read $off $len")
    else
        wargs+=(-c "write -P $src $off $len")
        rargs+=(-c "read -P $src $off $len")
    fi
done <<<"$RANGES"
run_to 120 qemu-io -f raw "${wargs[@]}" "$URL" >>"$WORK/qemu-io.log" 2>&1 || { cat "$WORK/qemu-io.log" >&2; fail "qemu-io writes failed"; }
# A separate session for the reads (nothing cached in the initiator).
run_to 120 qemu-io -f raw "${rargs[@]}" "$URL" >>"$WORK/qemu-io.log" 2>&1 || { cat "$WORK/qemu-io.log" >&2; fail "qemu-io reads failed"; }
grep -qi "verification failed" "$WORK/qemu-io.log" && fail "qemu-io read back other data than written"

cap_stop
tgt_stop

# The data really landed where we think (independent of storm-dump).
cmp -s <(tail -c +$((20971520 + 1)) "$WORK/lun.img" | head -c 196608) "$WORK/random.bin" \
    || fail "the image does not hold the random block at 20 MiB"

log "running storm-dump --events"
timeout -k 5 120 "$STORM_DUMP" --events --port "$PORT" "$CAP" >"$WORK/events.jsonl" 2>"$WORK/storm-dump.log"
rc=$?
[ "$rc" -eq 0 ] || { cat "$WORK/storm-dump.log" >&2; fail "storm-dump --events exited $rc"; }

RANGES=$RANGES timeout 60 python3 - "$WORK/events.jsonl" <<'EOF'
import hashlib, json, os, sys

ranges = []
for line in os.environ["RANGES"].splitlines():
    off, length, src = line.split()
    off, length = int(off), int(length)
    if os.path.isfile(src):
        data = open(src, "rb").read()
        assert len(data) == length
    else:
        data = bytes([int(src, 0)]) * length
    ranges.append((off, length, src, data))

events = []
with open(sys.argv[1]) as fh:
    for n, line in enumerate(fh, 1):
        line = line.strip()
        if line:
            try:
                events.append(json.loads(line))
            except ValueError:
                print("FAIL: storm-dump --events line %d is not JSON: %.200s" % (n, line))
                sys.exit(1)
print("%d events" % len(events))

failures = 0
checked = 0
for op in ("write", "read"):
    for off, length, src, data in ranges:
        lba0, nblk = off // 512, length // 512
        label = "%s of %d bytes at offset %d (%s)" % (op, length, off, os.path.basename(src))
        pieces = [e for e in events
                  if e.get("op") == op and e.get("lun") == 1 and isinstance(e.get("lba"), int)
                  and isinstance(e.get("blocks"), int)
                  and e["lba"] < lba0 + nblk and e["lba"] + e["blocks"] > lba0]
        if not pieces:
            print("FAIL: no %s event for lba %d..%d" % (op, lba0, lba0 + nblk - 1))
            failures += 1
            continue
        covered = set()
        ok = True
        for e in pieces:
            problems = []
            if e["lba"] < lba0 or e["lba"] + e["blocks"] > lba0 + nblk:
                problems.append("extends beyond the range")
            if e.get("block_size") != 512:
                problems.append("block_size %r" % e.get("block_size"))
            if e.get("status") != 0:
                problems.append("status %r" % e.get("status"))
            if e.get("bytes") != e["blocks"] * 512:
                problems.append("bytes %r for %d blocks" % (e.get("bytes"), e["blocks"]))
            start = (e["lba"] - lba0) * 512
            piece = data[max(start, 0):start + e["blocks"] * 512]
            want = hashlib.sha256(piece).hexdigest()
            if e.get("sha256") != want:
                problems.append("sha256 %r, expected %s" % (e.get("sha256"), want))
            blocks = set(range(e["lba"], e["lba"] + e["blocks"]))
            if blocks & covered:
                problems.append("overlaps another %s event" % op)
            covered |= blocks
            if problems:
                ok = False
                print("FAIL: %s: event %s: %s" % (label, json.dumps(e), "; ".join(problems)))
        missing = set(range(lba0, lba0 + nblk)) - covered
        if missing:
            ok = False
            print("FAIL: %s: %d blocks not covered by any event (first lba %d)" % (label, len(missing), min(missing)))
        if ok:
            checked += 1
            print("ok: %s: %d event(s)" % (label, len(pieces)))
        else:
            failures += 1

print("%d ranges checked, %d failed" % (checked, failures))
sys.exit(1 if failures or checked == 0 else 0)
EOF
rc=$?
[ "$rc" -eq 0 ] || fail "storm-dump --events does not match the I/O done (exit $rc)"
log "PASS"
exit 0

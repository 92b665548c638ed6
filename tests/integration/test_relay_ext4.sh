#!/usr/bin/env bash
# The whole real path through storm-relay:
#
#   kernel ext4 -> loop -> FUSE file (qemu-storage-daemon, libiscsi initiator)
#     -> storm-relay --touch --events FILE -> tgtd (LUN 1 = 256 MiB image file)
#
# mkfs.ext4 and a file workload (nested directories, ~200 files of known
# random content from 0 bytes to 32 MiB, appends, overwrites in the middle,
# truncates, renames of files and of a directory, deletes, sync) run on the
# loop device.  After umount and teardown of the initiator, relay and target,
# the backing image itself is the oracle: e2fsck -fn must find it clean, and a
# fresh read-only loop mount of the image must hold exactly the expected set of
# files with the expected SHA-256 of each.  The relay must have written block
# I/O events (writes among them) and must exit 0 on SIGTERM (also: no
# sanitizer report in its log, for the ASan build).
#
# Exit: 0 pass, 1 fail, 77 skip (not root, no FUSE, missing tools).
. "$(dirname "$0")/lib.sh"

require_root
require_cmd tgtd tgtadm losetup mkfs.ext4 e2fsck mount umount mountpoint python3 ss timeout setsid
require_fuse
require_relay

IQN=iqn.2024-01.storm.test:relay-ext4
IMG=$WORK/lun.img
FUSEFILE=$WORK/disk.raw
MNT=$WORK/mnt
VMNT=$WORK/verify
EVENTS=$WORK/events.jsonl
MANIFEST=$WORK/manifest.json
LOOP=
VLOOP=
T0=$(date +%s.%N)

elapsed() { python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(date +%s.%N)"; }

# Cleanup in dependency order: file system, loop, FUSE exporter, relay, (tgtd
# is stopped by lib.sh after these).
_ext4_cleanup() {
    loop_release LOOP "$MNT"
    loop_release VLOOP "$VMNT"
    qsd_stop
    _relay_cleanup
}
on_exit _ext4_cleanup

mkdir -p "$MNT" "$VMNT"
truncate -s 256M "$IMG"

# Never hang: past 420 s, kill the FUSE exporter (that fails any I/O stuck in
# the kernel on it) and end the script (the EXIT trap cleans up).
watchdog_start "${STORM_WATCHDOG_SECS:-420}" 'kill -9 $(cat "$WORK/qsd.pid" 2>/dev/null) 2>/dev/null; kill -TERM $$'

TPORT=$(free_port) || fail "no free port"
tgt_start "$TPORT"
tgt_add_target 1 "$IQN" "$IMG"
RPORT=$(free_port) || fail "no free port"
relay_start "$RPORT" "$TPORT" "$WORK/relay.log" --touch --events "$EVENTS"

qsd_start "$RPORT" "$IQN" "$FUSEFILE" "$WORK/qsd.log"
size=$(stat -c %s "$FUSEFILE")
[ "$size" -eq $((256 * 1024 * 1024)) ] || fail "FUSE export has size $size, expected 256 MiB"
grep -q "open 127.0.0.1:.*>127.0.0.1:$TPORT" "$WORK/relay.log" \
    || fail "qemu-storage-daemon's connection did not go through the relay"

LOOP=$(timeout -k 2 20 losetup --find --show "$FUSEFILE") || fail "losetup on the FUSE file"
log "loop device $LOOP on $FUSEFILE"
t=$(date +%s.%N)
run_to 120 mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$LOOP" >"$WORK/mkfs.log" 2>&1 \
    || fail "mkfs.ext4 through the relay failed"
run_to 30 mount -t ext4 "$LOOP" "$MNT" || fail "mount of ext4 through the relay failed"
log "mkfs.ext4 and mount in $(elapsed "$t") s"

# ------------------------------------------------------------- workload --
cat >"$WORK/workload.py" <<'PY'
import hashlib, json, os, random, shutil, sys

root, manifest = sys.argv[1], sys.argv[2]
rng = random.Random(0x5707)
model = {}                      # relative path -> bytearray (what the file must hold)

def p(rel):
    return os.path.join(root, rel)

def write_file(rel, data):
    os.makedirs(os.path.dirname(p(rel)), exist_ok=True)
    with open(p(rel), "wb") as f:
        for i in range(0, len(data), 1 << 20):
            f.write(data[i:i + (1 << 20)])
    model[rel] = bytearray(data)

# Nested directories, up to 4 levels.
dirs = []
for a in range(5):
    for b in range(4):
        d = "top%d/mid%d" % (a, b)
        if b % 2:
            d += "/leaf%d/deep" % b
        os.makedirs(p(d), exist_ok=True)
        dirs.append(d)

edge = [0, 1, 511, 512, 513, 4095, 4096, 4097, 65535, 65536, 65537,
        262143, 262144, 262145, 1048575, 1048576, 1048583, 3 * 1048576 + 5]
sizes = list(edge)
while len(sizes) < 199:
    k = rng.random()
    if k < 0.45:
        sizes.append(rng.randrange(1, 16384))
    elif k < 0.85:
        sizes.append(rng.randrange(16384, 262144))
    else:
        sizes.append(rng.randrange(262144, 2 * 1048576))
for i, n in enumerate(sizes):
    write_file("%s/f%03d.bin" % (dirs[i % len(dirs)], i), rng.randbytes(n))
write_file("big/blob32m.bin", rng.randbytes(32 * 1048576))
os.sync()

names = sorted(model)
small = [n for n in names if n != "big/blob32m.bin"]

# Appends.
for rel in rng.sample(small, 30) + ["big/blob32m.bin"]:
    extra = rng.randbytes(rng.randrange(1, 200000) if rel != "big/blob32m.bin" else 1048576 + 5)
    with open(p(rel), "ab") as f:
        f.write(extra)
    model[rel] += extra

# Overwrites in the middle.
for rel in rng.sample([n for n in small if len(model[n]) >= 2], 30) + ["big/blob32m.bin"]:
    size = len(model[rel])
    off = rng.randrange(1, size) if rel != "big/blob32m.bin" else 13 * 1048576 + 123
    n = min(rng.randrange(1, 100000) if rel != "big/blob32m.bin" else 1048576 + 77, size - off)
    data = rng.randbytes(n)
    with open(p(rel), "r+b") as f:
        f.seek(off)
        f.write(data)
    model[rel][off:off + n] = data

# Truncates (shrink and grow with a hole).
for rel in rng.sample([n for n in small if len(model[n]) >= 8192], 5):
    new = len(model[rel]) // 3
    os.truncate(p(rel), new)
    del model[rel][new:]
for rel in rng.sample(small, 3):
    new = len(model[rel]) + 70000
    os.truncate(p(rel), new)
    model[rel] += bytes(new - len(model[rel]))
os.sync()

# Renames of files, across directories, and of a whole directory.
for i, rel in enumerate(rng.sample(sorted(n for n in model if not n.startswith("top4/")), 20)):
    new = "%s/renamed%02d.bin" % (rng.choice(dirs), i)
    os.rename(p(rel), p(new))
    model[new] = model.pop(rel)
os.rename(p("top4"), p("top4_renamed"))
for rel in [n for n in model if n.startswith("top4/")]:
    model["top4_renamed/" + rel[len("top4/"):]] = model.pop(rel)

# Deletes: single files, then a whole subtree.
for rel in rng.sample(sorted(n for n in model if n != "big/blob32m.bin"), 25):
    os.unlink(p(rel))
    del model[rel]
shutil.rmtree(p("top3/mid1"))
for rel in [n for n in model if n.startswith("top3/mid1/")]:
    del model[rel]

# A late batch of new files after all that churn.
for i in range(10):
    write_file("late/l%02d.bin" % i, rng.randbytes(rng.randrange(1, 300000)))
os.sync()

# Sanity through the mount (page cache; the real check is on the image later).
out = {}
for rel, data in model.items():
    with open(p(rel), "rb") as f:
        got = f.read()
    if got != data:
        sys.exit("mismatch through the mount: %s" % rel)
    out[rel] = [len(data), hashlib.sha256(data).hexdigest()]
with open(manifest, "w") as f:
    json.dump(out, f, indent=0, sort_keys=True)
print("files=%d bytes=%d" % (len(out), sum(v[0] for v in out.values())))
PY

cat >"$WORK/verify.py" <<'PY'
import hashlib, json, os, sys

root, manifest = sys.argv[1], sys.argv[2]
want = json.load(open(manifest))
have = {}
for d, subdirs, files in os.walk(root):
    if d == root and "lost+found" in subdirs:
        subdirs.remove("lost+found")
    for n in files:
        full = os.path.join(d, n)
        h = hashlib.sha256()
        size = 0
        with open(full, "rb") as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                h.update(b)
                size += len(b)
        have[os.path.relpath(full, root)] = [size, h.hexdigest()]
bad = 0
for rel in sorted(set(want) | set(have)):
    if rel not in have:
        print("MISSING  %s" % rel); bad += 1
    elif rel not in want:
        print("EXTRA    %s" % rel); bad += 1
    elif want[rel] != have[rel]:
        print("DIFFERS  %s: want %s got %s" % (rel, want[rel], have[rel])); bad += 1
print("verified %d files, %d bytes, %d problems" % (len(have), sum(v[0] for v in have.values()), bad))
sys.exit(1 if bad else 0)
PY

t=$(date +%s.%N)
run_to 240 python3 "$WORK/workload.py" "$MNT" "$MANIFEST" || fail "file workload through the relay failed"
log "workload done in $(elapsed "$t") s"

t=$(date +%s.%N)
run_to 60 umount "$MNT" || fail "umount of ext4 failed"
timeout -k 2 20 losetup -d "$LOOP" || fail "losetup -d $LOOP failed"
LOOP=
qsd_stop
log "umount and teardown of the initiator in $(elapsed "$t") s"

# Only the target-side image is looked at from here on: stop the relay and
# tgtd first so nothing can still be in flight.
relay_stop; rrc=$?
[ "$rrc" -eq 0 ] || fail "storm-relay exited with status $rrc on SIGTERM (expected 0)"
log "storm-relay exited 0 on SIGTERM"
if sanitizer_report "$WORK/relay.log"; then
    fail "sanitizer report in the relay's log: $(grep -m3 -E 'Sanitizer|runtime error' "$WORK/relay.log")"
fi
tgt_stop
to_target=$(sed -n 's/.*storm-relay: close .*, \([0-9]*\) bytes to target, \([0-9]*\) to initiator.*/\1/p' "$WORK/relay.log" | awk '{s += $1} END {print s + 0}')
log "relay forwarded $to_target bytes to the target"
[ "$to_target" -gt $((64 * 1024 * 1024)) ] || fail "relay forwarded only $to_target bytes to the target"

# -------------------------------------------------------------- oracles --
run_to 120 e2fsck -fn "$IMG" >"$WORK/e2fsck.log" 2>&1 || { cat "$WORK/e2fsck.log" >&2; fail "e2fsck -fn found the image unclean"; }
log "e2fsck -fn: clean ($(tail -n 1 "$WORK/e2fsck.log"))"

VLOOP=$(timeout -k 2 20 losetup --find --show --read-only "$IMG") || fail "losetup on the image"
run_to 30 mount -t ext4 -o ro,noload "$VLOOP" "$VMNT" || fail "read-only mount of the image failed"
run_to 120 python3 "$WORK/verify.py" "$VMNT" "$MANIFEST" >"$WORK/verify.out" 2>&1
vrc=$?
cat "$WORK/verify.out" >&2
[ "$vrc" -eq 0 ] || fail "files on the image differ from what was written through the relay"
timeout -k 2 30 umount "$VMNT"
timeout -k 2 10 losetup -d "$VLOOP"
VLOOP=

# ---------------------------------------------------------------- events --
[ -s "$EVENTS" ] || fail "no events written to $EVENTS"
nev=$(wc -l <"$EVENTS")
nwr=$(grep -c '"op":"write"' "$EVENTS")
nrd=$(grep -c '"op":"read"' "$EVENTS")
nwr_hash=$(grep '"op":"write"' "$EVENTS" | grep -c '"sha256":"')
[ "$nwr" -gt 0 ] || fail "events file has no write event ($nev events)"
# Every event is JSON; the good writes carried at least the files' bytes.
wbytes=$(python3 - "$EVENTS" <<'PY'
import json, sys
total = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("op") == "write" and e.get("status") == 0:
        total += e.get("bytes", 0)
print(total)
PY
) || fail "events file is not valid JSON Lines"
fbytes=$(python3 -c 'import json, sys; print(sum(v[0] for v in json.load(open(sys.argv[1])).values()))' "$MANIFEST")
[ "$wbytes" -ge "$fbytes" ] || fail "write events carry $wbytes bytes, less than the $fbytes bytes of the files"
log "events: $nev lines, $nwr writes ($nwr_hash with sha256, $wbytes bytes with GOOD status), $nrd reads"

echo "PASS: ext4 through storm-relay: $(grep -o 'verified.*' "$WORK/verify.out"), e2fsck clean, $nwr write events, relay exit 0; total $(elapsed "$T0") s"
exit 0

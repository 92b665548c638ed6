#!/usr/bin/env bash
# storm-monitor offline: known in-place overwrites by the Linux kernel's ext4,
# captured on the wire, mapped back to files through the view of the image as
# it was before.
#
#   debugfs -w populates a 128 MiB ext4 image offline (/a 1 MiB, /dir/b 200 KiB,
#   /dir/sub/c 5 KiB of random bytes); a copy is BEFORE.img.  tgtd serves the
#   image; dumpcap captures on lo while kernel ext4 -> loop -> FUSE
#   (qemu-storage-daemon, libiscsi) -> tgtd overwrites known byte ranges in
#   place (no size or allocation change), one of them a 512-byte O_DIRECT
#   write inside a 4 KiB file block; sync, umount, teardown.
#
# Checks: the overwrites reached the image (debugfs dump); storm-monitor
# --image BEFORE.img --pcap CAP reports, for every overwritten range, write
# lines of that path whose union covers it (recall), and every file-data write
# line it reports lies inside an expected range of the same path (precision);
# no unclaimed data is attributed to our inodes; the metadata writes (inode
# times, journal) make no operation other than writes.  Also: --help, usage and
# unreadable-input exit codes.
#
# Exit: 0 pass, 1 fail, 77 skip (not root, no FUSE, missing tools).
. "$(dirname "$0")/lib.sh"

: "${STORM_MONITOR:=$STORM_BUILD_DIR/examples/monitor/storm-monitor}"
[ -x "$STORM_MONITOR" ] || skip "storm-monitor not found at $STORM_MONITOR (set STORM_MONITOR or build examples)"
require_root
require_cmd tgtd tgtadm dumpcap losetup mkfs.ext4 debugfs mount umount mountpoint python3 ss timeout setsid
require_fuse

IQN=iqn.2024-01.storm.test:monitor
IMG=$WORK/lun.img
BEFORE=$WORK/BEFORE.img
CAP=$WORK/cap.pcap
FUSEFILE=$WORK/disk.raw
MNT=$WORK/mnt
OUT=$WORK/monitor.jsonl
LOOP=

_mon_cleanup() {
    loop_release LOOP "$MNT"
    qsd_stop
}
on_exit _mon_cleanup
watchdog_start "${STORM_WATCHDOG_SECS:-300}" 'kill -9 $(cat "$WORK/qsd.pid" 2>/dev/null) 2>/dev/null; kill -TERM $$'

# ---------------------------------------------------------- usage checks --
"$STORM_MONITOR" --help >/dev/null || fail "--help did not exit 0"
"$STORM_MONITOR" --pcap x >/dev/null 2>&1; rc=$?
[ "$rc" -eq 1 ] || fail "missing --image: exit $rc, expected 1"
"$STORM_MONITOR" --image "$WORK/none.img" --pcap x >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || fail "unreadable image: exit $rc, expected 2"
truncate -s 8M "$WORK/zero.img"
"$STORM_MONITOR" --image "$WORK/zero.img" --pcap x >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || fail "image without a file system: exit $rc, expected 2"

# ------------------------------------------------- the image, offline --
mkdir -p "$MNT" "$WORK/src"
random_files "$WORK/src" 0x4d4f4e a:$((1 << 20)) b:$((200 << 10)) c:$((5 << 10))
mkfs_ext4 "$IMG" 128M 4096
cat >"$WORK/debugfs.cmd" <<EOF2
write $WORK/src/a a
mkdir dir
cd dir
write $WORK/src/b b
mkdir sub
cd sub
write $WORK/src/c c
EOF2
run_to 60 debugfs -w -f "$WORK/debugfs.cmd" "$IMG" >"$WORK/debugfs.log" 2>&1 || fail "debugfs -w failed"
run_to 60 e2fsck -fn "$IMG" >"$WORK/e2fsck-before.log" 2>&1 || fail "the populated image is not clean"
cp --sparse=always "$IMG" "$BEFORE" || fail "cannot copy the image"

# ------------------------------------- kernel ext4 over iSCSI, captured --
TPORT=$(free_port) || fail "no free port"
tgt_start "$TPORT"
tgt_add_target 1 "$IQN" "$IMG"
cap_start lo "tcp port $TPORT" "$CAP"
qsd_start "$TPORT" "$IQN" "$FUSEFILE" "$WORK/qsd.log"
LOOP=$(timeout -k 2 20 losetup --find --show "$FUSEFILE") || fail "losetup on the FUSE file"
run_to 30 mount -t ext4 "$LOOP" "$MNT" || fail "mount of ext4 over iSCSI failed"

# Overwrites in place: path, offset, length, O_DIRECT?  The expected ranges
# and the model of each file's content go to expect.json.
run_to 60 python3 - "$MNT" "$WORK/src" "$WORK/expect.json" <<'PY' || fail "overwrites failed"
import json, mmap, os, random, sys
mnt, src, out = sys.argv[1:4]
rng = random.Random(0x77)
ops = [("/a", 65536, 8192, False), ("/dir/b", 0, 4096, False),
       ("/dir/sub/c", 0, 4096, False), ("/dir/sub/c", 4608, 512, True)]
model = {p: bytearray(open(os.path.join(src, os.path.basename(p)), "rb").read())
         for p in ("/a", "/dir/b", "/dir/sub/c")}
expect = []
for path, off, n, direct in ops:
    data = rng.randbytes(n)
    full = mnt + path
    if direct:
        buf = mmap.mmap(-1, 4096)          # page-aligned for O_DIRECT
        buf[:n] = data
        fd = os.open(full, os.O_WRONLY | os.O_DIRECT)
        if os.pwritev(fd, [memoryview(buf)[:n]], off) != n:
            sys.exit("short O_DIRECT write")
    else:
        fd = os.open(full, os.O_WRONLY)
        os.lseek(fd, off, 0)
        if os.write(fd, data) != n:
            sys.exit("short write")
    os.fsync(fd)
    os.close(fd)
    model[path][off:off + n] = data
    expect.append({"path": path, "inode": os.stat(full).st_ino, "offset": off, "length": n})
for p, m in model.items():
    if os.stat(mnt + p).st_size != len(m):
        sys.exit("size of %s changed" % p)
json.dump({"ranges": expect, "inodes": {p: os.stat(mnt + p).st_ino for p in model}}, open(out, "w"))
for p, m in model.items():
    open(os.path.join(src, os.path.basename(p) + ".want"), "wb").write(m)
PY
sync
run_to 60 umount "$MNT" || fail "umount failed"
timeout -k 2 20 losetup -d "$LOOP" || fail "losetup -d failed"
LOOP=
qsd_stop
cap_stop
tgt_stop
[ -s "$CAP" ] || fail "empty capture"

# The overwrites reached the image.
for f in a dir/b dir/sub/c; do
    run_to 30 debugfs -R "dump /$f $WORK/got" "$IMG" >/dev/null 2>&1 || fail "debugfs dump /$f"
    cmp -s "$WORK/got" "$WORK/src/$(basename "$f").want" || fail "/$f on the image does not hold what was written"
done
log "the image holds the overwritten content"

# ------------------------------------------------------ storm-monitor --
run_to 120 "$STORM_MONITOR" --image "$BEFORE" --pcap "$CAP" --port "$TPORT" >"$OUT" 2>"$WORK/monitor.log"
rc=$?
cat "$WORK/monitor.log" >&2
[ "$rc" -eq 0 ] || fail "storm-monitor exited $rc"

python3 - "$OUT" "$WORK/expect.json" <<'PY' || fail "storm-monitor's report does not match the overwrites"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
exp = json.load(open(sys.argv[2]))
ranges, inodes = exp["ranges"], exp["inodes"]
ours = set(inodes.values())
bad = 0
writes = [l for l in lines if l["op"] == "write" and l.get("path") is not None]
free = [l for l in lines if l["op"] == "write" and "volume_offset" in l]
nullfile = [l for l in lines if l["op"] == "write" and l.get("path") is None and l.get("inode")]
other = [l for l in lines if l["op"] != "write"]
for l in lines:
    for k in ("ts", "lun", "op"):
        if k not in l:
            print("line without %s: %s" % (k, l)); bad += 1
# Recall: the union of the pieces of a path covers each expected range.
found = 0
for r in ranges:
    iv = sorted((l["offset"], l["offset"] + l["length"]) for l in writes if l["path"] == r["path"])
    pos, end = r["offset"], r["offset"] + r["length"]
    for a, b in iv:
        if a <= pos < b:
            pos = b
    if pos >= end:
        found += 1
    else:
        print("MISSED   %s bytes %d..%d (covered up to %d)" % (r["path"], r["offset"], end, pos)); bad += 1
# Precision: every file-data write lies inside an expected range of its path
# widened to whole pages (the kernel's loop/FUSE path may write a sub-block
# O_DIRECT write out to the end of its page), with the inode of that path.
PG = 4096
match = 0
for l in writes:
    a, b = l["offset"], l["offset"] + l["length"]
    if any(r["path"] == l["path"] and r["offset"] // PG * PG <= a
           and b <= -(-(r["offset"] + r["length"]) // PG) * PG for r in ranges) \
            and l["inode"] == inodes.get(l["path"]):
        match += 1
    else:
        print("UNEXPECTED %s" % json.dumps(l)); bad += 1
for l in nullfile:
    if l["inode"] in ours:
        print("NO PATH  %s" % json.dumps(l)); bad += 1
# In-place overwrites change no name, size, mode or owner.
for l in other:
    print("NOT AN OVERWRITE %s" % json.dumps(l)); bad += 1
print("recall %d/%d expected ranges found; precision %d/%d file-data write lines match; "
      "%d unclaimed-block lines, %d file lines without a path, %d other operations" % (
      found, len(ranges), match, len(writes), len(free), len(nullfile), len(other)))
# The sub-block write: a piece must start at exactly its byte offset (4608,
# inside file block 1), not at the block's start.
sub = [(l["offset"], l["length"]) for l in writes if l["path"] == "/dir/sub/c" and l["offset"] % PG]
print("sub-block pieces of /dir/sub/c (offset, length): %s" % json.dumps(sub))
if not any(a == 4608 for a, n in sub):
    print("no piece of /dir/sub/c starts at byte 4608"); bad += 1
sys.exit(1 if bad else 0)
PY
echo "PASS: storm-monitor mapped the kernel's in-place overwrites to the right files and byte ranges"
exit 0

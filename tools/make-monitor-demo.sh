#!/bin/bash
# Make the storm-monitor demo: a small ext4 volume as it was when a capture
# started, and the capture of the Linux kernel's ext4 working on it over iSCSI.
#
#   tests/data/monitor-demo.img.gz          the volume BEFORE (gzip -9 of a
#                                           16 MiB image: gunzip it first)
#   tests/data/monitor-demo.pcap            the capture (tgtd on 127.0.0.1:3260)
#   tests/data/monitor-demo.expected.jsonl  what the workload did, in the
#                                           fields of storm-monitor (ground
#                                           truth for tests/integration/monitor_score.py)
#
# Then:  gunzip -k tests/data/monitor-demo.img.gz
#        storm-monitor --image tests/data/monitor-demo.img --pcap tests/data/monitor-demo.pcap
#
# The volume: mkfs.ext4 with the default features (4 KiB blocks forced: at
# 16 MiB mke2fs.conf would pick 1 KiB ones; fixed UUID and directory hash
# seed), populated by the kernel through a plain loop mount: /README.txt,
# /hello.txt, /docs/guide.txt, /docs/old-notes.txt, /src/main.c,
# /src/util.h, /photos/ (a 16 KiB file).  That state is the BEFORE image.
#
# The capture: tgtd serves the image; kernel ext4 -> loop -> FUSE
# (qemu-storage-daemon, libiscsi) -> tgtd, dumpcap on lo from before the login
# to after the logout (FUSE readahead off: it tripled the reads).  The
# workload, in three steps each ended by fsync(2) of what it touched (data
# and one journal commit; the metadata's home blocks are written at umount):
#   1. mkdir /notes; create /notes/todo.txt; append to /README.txt; overwrite
#      bytes inside /docs/guide.txt (in place);
#   2. rename /docs/old-notes.txt -> /notes/old-notes.txt; hard link
#      /notes/todo.txt as /todo-link.txt; symlink /latest -> notes/todo.txt;
#   3. delete /hello.txt; truncate /src/main.c; chmod /src/util.h;
# then umount.
#
# Usage: tools/make-monitor-demo.sh [OUTDIR]   (default tests/data)
# Needs root, tgtd/tgtadm, dumpcap, qemu-storage-daemon (iscsi driver) and
# /dev/fuse, losetup, mkfs.ext4, e2fsck, gzip, python3.  Port 3260 on
# 127.0.0.1 must be free (STORM_DEMO_PORT overrides it, but then readers of
# the capture need --port).  Uses the built storm-dump and storm-monitor (in
# $STORM_BUILD_DIR, default build/) for a self-check when they exist.

set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
outdir=${1:-$src/tests/data}

. "$src/tests/integration/lib.sh"
# A tool, not a test: missing prerequisites are errors, not skips.
skip() { printf 'error: %s\n' "$*" >&2; exit 1; }

require_root
require_cmd tgtd tgtadm dumpcap losetup mkfs.ext4 e2fsck debugfs mount umount mountpoint \
    gzip python3 ss setsid timeout truncate
require_fuse

PORT=${STORM_DEMO_PORT:-3260}
IQN=iqn.2024-01.org.libstorm:monitor-demo
IMG=$WORK/monitor-demo.img
CAP=$WORK/monitor-demo.pcap
EXP=$WORK/monitor-demo.expected.jsonl
MNT=$WORK/mnt
FUSEFILE=$WORK/disk.raw
LOOP=
MAX=307200   # each shipped file stays under 300 KiB

if _port_listening "$PORT"; then
    fail "port $PORT is in use (a system tgtd?); stop it or set STORM_DEMO_PORT"
fi

_demo_cleanup() {
    if [ -n "$LOOP" ]; then
        mountpoint -q "$MNT" && { timeout -k 2 30 umount "$MNT" || umount -l "$MNT"; }
        timeout -k 2 10 losetup -d "$LOOP" 2>/dev/null
        LOOP=
    fi
    qsd_stop
}
on_exit _demo_cleanup
watchdog_start 120 'kill -9 $(cat "$WORK/qsd.pid" 2>/dev/null) 2>/dev/null; kill -TERM $$'
mkdir -p "$MNT"

# ------------------------------------------------ the volume, before --
truncate -s 16M "$IMG" || fail "cannot create the image"
run_to 60 mkfs.ext4 -q -F -b 4096 -L storm-demo -U 6d6f6e69-746f-7200-8000-64656d6f0001 \
    -E hash_seed=6d6f6e69-746f-7200-8000-686173680001 "$IMG" >"$WORK/mkfs.log" 2>&1 \
    || fail "mkfs.ext4 failed"
LOOP=$(timeout -k 2 20 losetup --find --show "$IMG") || fail "losetup on the image"
run_to 30 mount -t ext4 "$LOOP" "$MNT" || fail "mount of the new image failed"
run_to 30 python3 - "$MNT" <<'PY' || fail "cannot populate the image"
import os, random, sys
m = sys.argv[1]
def put(path, text):
    os.makedirs(os.path.dirname(m + path), exist_ok=True)
    with open(m + path, "w") as f:
        f.write(text)
put("/README.txt", "This volume is watched by storm-monitor.\n"
    "Every sector the kernel writes over iSCSI is turned back into file operations.\n")
put("/hello.txt", "hello, world\n")
put("/docs/guide.txt", "".join("Guide line %02d: sectors in, file operations out.\n" % i
                               for i in range(40)))
put("/docs/old-notes.txt", "Notes from last week:\n- capture the wire\n- map blocks to files\n")
put("/src/main.c", "#include <stdio.h>\n#include \"util.h\"\n\n"
    "int main(void)\n{\n\tputs(greeting());\n\treturn 0;\n}\n" + "/* padding */\n" * 20)
put("/src/util.h", "static inline const char *greeting(void) { return \"hi\"; }\n")
os.makedirs(m + "/photos")
with open(m + "/photos/cat.raw", "wb") as f:
    f.write(random.Random(7).randbytes(16384))
PY
run_to 30 umount "$MNT" || fail "umount after populating failed"
timeout -k 2 20 losetup -d "$LOOP" || fail "losetup -d failed"
LOOP=
run_to 30 e2fsck -fn "$IMG" >"$WORK/e2fsck-before.log" 2>&1 \
    || { cat "$WORK/e2fsck-before.log" >&2; fail "the populated image is not clean"; }
gzip -9 -n -c "$IMG" >"$WORK/monitor-demo.img.gz" || fail "gzip failed"

# -------------------------------------------- the capture over iSCSI --
tgt_start "$PORT"
tgt_add_target 1 "$IQN" "$IMG"
cap_start lo "tcp port $PORT" "$CAP"
qsd_start "$PORT" "$IQN" "$FUSEFILE" "$WORK/qsd.log"
# No readahead on the FUSE file: the kernel's page cache would read 16 to
# 64 KiB around every metadata block, a third of the capture.
bdi=/sys/class/bdi/$(mountpoint -d "$FUSEFILE")/read_ahead_kb
[ -w "$bdi" ] && echo 0 >"$bdi"
LOOP=$(timeout -k 2 20 losetup --find --show "$FUSEFILE") || fail "losetup on the FUSE file"
run_to 30 mount -t ext4 "$LOOP" "$MNT" || fail "mount over iSCSI failed"
run_to 60 python3 - "$MNT" "$EXP" <<'PY' || fail "the demo workload failed"
import json, os, sys, time
m, out = sys.argv[1], open(sys.argv[2], "w")

def emit(op, path, **kw):
    rec = {"op": op, "path": path, "inode": os.lstat(m + (kw.get("to") or path)).st_ino}
    rec.update(kw)
    rec["ts"] = round(time.time(), 6)
    out.write(json.dumps(rec, sort_keys=True) + "\n")

def write(path, off, data, how="r+b"):
    with open(m + path, how) as f:
        f.seek(off)
        f.write(data)
    emit("write", path, offset=off, length=len(data), size=os.path.getsize(m + path))

def step(*paths):
    # fsync(2) of what the step touched: its data, and one journal commit
    # for all of its metadata (the metadata's home blocks wait for the
    # checkpoint at umount; sync(2) would write them after every step).
    for p in paths:
        fd = os.open(m + p, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
    out.write(json.dumps({"op": "sync", "ts": round(time.time(), 6)}) + "\n")
    time.sleep(0.25)          # steps apart in the capture's timestamps

os.mkdir(m + "/notes"); emit("mkdir", "/notes")
open(m + "/notes/todo.txt", "x").close(); emit("create", "/notes/todo.txt")
write("/notes/todo.txt", 0, b"- watch the wire\n- name every block\n- ship the demo\n")
size = os.path.getsize(m + "/README.txt")
write("/README.txt", size, b"Appended while the capture ran.\n")
write("/docs/guide.txt", 4 * 51, b"Guide line 04: REWRITTEN IN PLACE over iSCSI!!!!\n")
step("/notes/todo.txt", "/README.txt", "/docs/guide.txt", "/notes", "/")
os.rename(m + "/docs/old-notes.txt", m + "/notes/old-notes.txt")
emit("rename", "/docs/old-notes.txt", to="/notes/old-notes.txt")
os.link(m + "/notes/todo.txt", m + "/todo-link.txt"); emit("link", "/todo-link.txt", target="/notes/todo.txt")
os.symlink("notes/todo.txt", m + "/latest"); emit("symlink", "/latest", target="notes/todo.txt")
step("/notes", "/docs", "/")
ino = os.lstat(m + "/hello.txt").st_ino
os.unlink(m + "/hello.txt")
out.write(json.dumps({"inode": ino, "op": "unlink", "path": "/hello.txt",
                      "ts": round(time.time(), 6)}, sort_keys=True) + "\n")
os.truncate(m + "/src/main.c", 100); emit("truncate", "/src/main.c", size=100)
os.chmod(m + "/src/util.h", 0o600); emit("setattr", "/src/util.h", mode=0o600)
step("/src/main.c", "/src/util.h", "/")
out.close()
PY
run_to 30 umount "$MNT" || fail "umount over iSCSI failed"
timeout -k 2 20 losetup -d "$LOOP" || fail "losetup -d failed"
LOOP=
qsd_stop
cap_stop
tgt_stop
drops=$(sed -n 's|.*received/dropped on interface.*: [0-9]*/\([0-9]*\) .*|\1|p' "$WORK/dumpcap-monitor-demo.pcap.log")
[ "${drops:-0}" -eq 0 ] || fail "dumpcap dropped $drops packets"
run_to 30 e2fsck -fn "$IMG" >"$WORK/e2fsck-after.log" 2>&1 \
    || { cat "$WORK/e2fsck-after.log" >&2; fail "the image after the workload is not clean"; }

# ------------------------------------------------------ self-check --
for f in "$WORK/monitor-demo.img.gz" "$CAP"; do
    size=$(stat -c %s "$f")
    [ "$size" -lt "$MAX" ] || fail "$(basename "$f") is $size bytes, more than 300 KiB"
done
popt=()
[ "$PORT" = 3260 ] || popt=(--port "$PORT")
dump=${STORM_DUMP:-$STORM_BUILD_DIR/tools/storm-dump}
if [ -x "$dump" ]; then
    "$dump" --events "${popt[@]}" "$CAP" >"$WORK/events.jsonl" || fail "storm-dump cannot read the capture"
    grep -q '"op":"write"' "$WORK/events.jsonl" || fail "the capture has no write"
fi
mon=${STORM_MONITOR:-$STORM_BUILD_DIR/examples/monitor/storm-monitor}
gunzip -c "$WORK/monitor-demo.img.gz" >"$WORK/check.img" || fail "gunzip failed"
if [ -x "$mon" ]; then
    "$mon" --image "$WORK/check.img" --pcap "$CAP" "${popt[@]}" >"$WORK/monitor.jsonl" \
        || fail "storm-monitor failed on the demo"
    log "storm-monitor: $(wc -l <"$WORK/monitor.jsonl") lines"
fi

mkdir -p "$outdir" || fail "cannot create $outdir"
for f in monitor-demo.img.gz monitor-demo.pcap monitor-demo.expected.jsonl; do
    cp "$WORK/$f" "$outdir/$f.tmp" && chmod 644 "$outdir/$f.tmp" && mv "$outdir/$f.tmp" "$outdir/$f" \
        || fail "cannot write $outdir/$f"
    log "wrote $outdir/$f ($(stat -c %s "$outdir/$f") bytes)"
done

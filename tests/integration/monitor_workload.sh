#!/usr/bin/env bash
# The scripted file workload of test_monitor_ext4.sh, with its ground truth.
#
#   monitor_workload.sh MNT LOG
#
# runs on the ext4 file system mounted at MNT (fresh from mkfs: only
# lost+found) and writes LOG, JSON Lines, one object per file operation, with
# the field names of storm-monitor:
#
#   {"op":"mkdir"|"create"|"symlink","path":P,"inode":I[,"target":T]}
#   {"op":"write","path":P,"inode":I,"offset":O,"length":L,"size":S}
#   {"op":"rename","path":OLD,"to":NEW,"inode":I}
#   {"op":"link","path":NEW,"inode":I,"target":EXISTING}
#   {"op":"truncate","path":P,"inode":I,"size":S}
#   {"op":"setattr","path":P,"inode":I,"mode":M,"uid":U,"gid":G}
#   {"op":"unlink"|"rmdir","path":P,"inode":I}
#   {"op":"sync","phase":NAME}      (a marker: the phase's sync returned; not
#                                    an operation)
#
# "size" of a write is the file's size right after it.  Every record also
# has "ts", the wall clock (time.time()) right after the operation: the clock
# of the capture when both run on one machine.  Paths are absolute within the
# volume; inodes are st_ino on the mounted file system (what `stat -c %i`
# prints).  Every phase ends with a sync, so its effects are on the wire
# before the next phase starts.  MONITOR_WORKLOAD_SYNC chooses how:
#   sync   (default) sync(2): data, a journal commit, and then (sync_bdevs)
#          the committed metadata written in place as well;
#   fsync  fsync(2) of every file written in the phase and of every directory:
#          data and a journal commit only; the metadata reaches its home
#          blocks at checkpoint (umount), so a reader must follow the journal.
# Within a phase no
# path and no inode takes part in more than one namespace operation, so each
# one stays visible in the metadata the kernel writes (two renames of one file
# in one journal transaction would leave only their sum).  Nothing is deleted
# or truncated before the sync that wrote its data; nothing is created after
# the first delete (no inode number is reused).  Content comes from a seeded
# generator: the run is the same every time, only inode numbers and the
# kernel's block placement may differ.
#
# Phases: mkdir (nested a/b/c/d and the other directories) / create (300
# files of 0 B .. 200 KiB, 5200 empty entries of /many: an htree directory,
# and /big/large.bin: 88 MiB, 64 MiB of it written in pieces around holes and
# inside a fallocated range: 7 extents or more, a depth-1 extent tree) / modify
# (appends, overwrites in the middle: single bytes and ranges, overwrites
# inside large.bin) / names (renames within and across directories, of files
# and of directories, also inside /many; hard links; fast and slow symbolic
# links) / attrs (truncates that shrink, large.bin to 84 MiB, chmod, chown) /
# unlink / rmdir.
#
# Exit: 0 done, 1 a step failed (the message says which).
set -u -o pipefail
[ $# -eq 2 ] || { echo "usage: $0 MNT LOG" >&2; exit 1; }
exec python3 - "$1" "$2" <<'PY'
import json, os, random, sys, time

mnt, logpath = sys.argv[1], sys.argv[2]
mode = os.environ.get("MONITOR_WORKLOAD_SYNC", "sync")
if mode not in ("sync", "fsync"):
    sys.exit("MONITOR_WORKLOAD_SYNC must be sync or fsync, not %r" % mode)
rng = random.Random(0x6d6f6e)
log = open(logpath, "w")
KIB, MIB = 1024, 1024 * 1024


def full(path):
    return mnt + path


def emit(op, path, **kw):
    rec = {"op": op, "path": path}
    rec.update(kw)
    rec["ts"] = round(time.time(), 6)
    log.write(json.dumps(rec, sort_keys=True) + "\n")


def ino(path):
    return os.lstat(full(path)).st_ino


dirty = set()   # files written or truncated since the last sync


def fsync_path(path, flags=os.O_RDONLY):
    fd = os.open(full(path), flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync(phase):
    if mode == "sync":
        os.sync()
    else:
        for p in sorted(dirty):
            fsync_path(p)
        for d, _, _ in os.walk(mnt):
            fsync_path("/" + os.path.relpath(d, mnt) if d != mnt else "/", os.O_DIRECTORY)
    dirty.clear()
    log.write(json.dumps({"op": "sync", "phase": phase, "mode": mode,
                          "ts": round(time.time(), 6)}) + "\n")
    log.flush()


# Content: one 1 MiB seeded block, sliced at a per-call offset; fast and
# position-dependent enough that a misplaced block would not look right.
POOL = rng.randbytes(MIB + 256 * KIB)


def content(n, salt):
    out = bytearray()
    while len(out) < n:
        start = (salt * 7919 + len(out)) % (256 * KIB)
        out += POOL[start:start + min(MIB, n - len(out))]
    return bytes(out)


files = {}   # path -> size, regular files alive now


def pwrite(path, off, n, salt):
    data = content(n, salt)
    with open(full(path), "r+b") as f:
        f.seek(off)
        for i in range(0, n, MIB):
            f.write(data[i:i + MIB])
    files[path] = max(files.get(path, 0), off + n)
    dirty.add(path)
    if n:
        st = os.lstat(full(path))
        emit("write", path, inode=st.st_ino, offset=off, length=n, size=st.st_size)


def create(path, size, salt):
    with open(full(path), "xb"):
        pass
    files[path] = 0
    emit("create", path, inode=ino(path))
    if size:
        pwrite(path, 0, size, salt)


def mkdir(path):
    os.mkdir(full(path))
    emit("mkdir", path, inode=ino(path))


# ------------------------------------------------------------ mkdir --
DIRS = ["/a", "/a/b", "/a/b/c", "/a/b/c/d", "/docs", "/docs/x", "/src", "/src/lib",
        "/tree", "/tree/sub", "/gone", "/gone/inner", "/data", "/big", "/many",
        "/links", "/moved"]
for d in DIRS:
    mkdir(d)
sync("mkdir")

# ----------------------------------------------------------- create --
homes = ["/a", "/a/b", "/a/b/c", "/docs", "/docs/x", "/src", "/src/lib", "/tree",
         "/tree/sub", "/data"]
edge = [0, 0, 1, 511, 512, 4095, 4096, 4097, 8191, 8192, 65535, 65536, 65537,
        131072, 200 * KIB]
sizes = edge + [int(200 * KIB * rng.random() ** 2) for _ in range(300 - len(edge) - 8)]
for i, n in enumerate(sizes):
    create("%s/f%03d.dat" % (homes[i % len(homes)], i), n, i)
for i in range(4):       # emptied, then removed in the last phases
    create("/a/b/c/d/leaf%d.txt" % i, 100 + 900 * i, 1000 + i)
    create("/gone/g%d.txt" % i, 3000 * i, 1010 + i)
create("/gone/inner/last.txt", 12345, 1020)

# The large file: 16 MiB pieces around holes (each hole ends one extent), a
# fallocated 12 MiB range (an unwritten extent) with 4 MiB written inside (it
# splits in three), a last 12 MiB piece: 88 MiB, 64 MiB written, >4 extents.
big = "/big/large.bin"
create(big, 0, 0)
pwrite(big, 0, 16 * MIB, 1)
pwrite(big, 20 * MIB, 16 * MIB, 2)
pwrite(big, 40 * MIB, 16 * MIB, 3)
fd = os.open(full(big), os.O_WRONLY)
os.posix_fallocate(fd, 60 * MIB, 12 * MIB)
os.close(fd)
files[big] = 72 * MIB
pwrite(big, 64 * MIB, 4 * MIB, 4)
pwrite(big, 76 * MIB, 12 * MIB, 5)

# /many: a directory of 5200 empty files, far more than one block: htree.
for i in range(5200):
    create("/many/entry-%05d-%s" % (i, "x" * (i % 23)), 0, 0)
sync("create")

# ----------------------------------------------------------- modify --
regular = sorted(p for p in files if p.startswith(tuple(homes)) and p.count("/") >= 2)
rng.shuffle(regular)
for j, p in enumerate(regular[:30]):                       # appends
    pwrite(p, files[p], 1 + int(50 * KIB * rng.random()), 2000 + j)
for j, p in enumerate([q for q in regular[30:80] if files[q] > 2][:30]):  # overwrites
    size = files[p]
    if j % 3 == 0:                                         # one byte, like dd bs=1 conv=notrunc
        pwrite(p, rng.randrange(size), 1, 3000 + j)
    else:
        off = rng.randrange(1, size)
        pwrite(p, off, min(size - off, 1 + rng.randrange(20 * KIB)), 3000 + j)
pwrite(big, 5 * MIB + 1234, 2 * MIB, 6)                   # inside a written extent
pwrite(big, 61 * MIB, 1 * MIB, 7)                         # inside the unwritten one
sync("modify")

# ------------------------------------------------------------ names --
# Disjoint sets of files: each one has at most one namespace operation here.
# Nothing under /tree or /docs/x: those directories are renamed themselves.
pool = sorted(p for p in files if p.startswith(("/a/", "/src/", "/data/", "/docs/f"))
              and not p.startswith("/a/b/c/d/"))
rng.shuffle(pool)
within, across, linked = pool[:10], pool[10:20], pool[20:25]
for p in within:
    new = p.rsplit("/", 1)[0] + "/renamed-" + p.rsplit("/", 1)[1]
    i = ino(p)
    os.rename(full(p), full(new))
    emit("rename", p, to=new, inode=i)
    files[new] = files.pop(p)
for p in across:
    new = "/moved/" + p.strip("/").replace("/", "_")
    i = ino(p)
    os.rename(full(p), full(new))
    emit("rename", p, to=new, inode=i)
    files[new] = files.pop(p)
for k, p in enumerate(linked):
    new = "/links/hard%d" % k
    os.link(full(p), full(new))
    emit("link", new, inode=ino(new), target=p)
for k in range(3):
    p = "/links/fast%d" % k
    t = "../docs/f%03d.dat" % (3 + 10 * k)                # < 60 bytes: in the inode
    os.symlink(t, full(p))
    emit("symlink", p, inode=ino(p), target=t)
for k in range(2):
    p = "/links/slow%d" % k
    t = "/" + "/".join("level-%02d-of-a-long-symlink-target" % j for j in range(4 + 3 * k))
    os.symlink(t, full(p))                                 # >= 60 bytes: a data block
    emit("symlink", p, inode=ino(p), target=t)
for i in range(0, 5200, 1000):                             # inside the htree directory
    old = "/many/entry-%05d-%s" % (i, "x" * (i % 23))
    new = "/many/renamed-%05d" % i
    n = ino(old)
    os.rename(full(old), full(new))
    emit("rename", old, to=new, inode=n)


def rename_dir(old, new):
    n = ino(old)
    os.rename(full(old), full(new))
    emit("rename", old, to=new, inode=n)
    for p in [q for q in files if q.startswith(old + "/")]:
        files[new + p[len(old):]] = files.pop(p)


rename_dir("/tree", "/a/b/tree2")                          # across directories
rename_dir("/docs/x", "/docs/y")                           # within a directory
sync("names")

# ------------------------------------------------------------ attrs --
attr = sorted(p for p in files if p.startswith(("/a/b/tree2/", "/docs/y/", "/moved/"))
              and files[p] >= 8192)
rng.shuffle(attr)
for k, p in enumerate(attr[:10]):                          # shrink
    new = 0 if k == 0 else (files[p] // 3 if k % 2 else files[p] // 3 // 4096 * 4096)
    os.truncate(full(p), new)
    emit("truncate", p, inode=ino(p), size=new)
    files[p] = new
    dirty.add(p)                                           # the zeroed tail of its last block
os.truncate(full(big), 84 * MIB + 100)                     # frees the tail of the last extent
emit("truncate", big, inode=ino(big), size=84 * MIB + 100)
files[big] = 84 * MIB + 100
dirty.add(big)
for k, p in enumerate(attr[10:15]):
    os.chmod(full(p), 0o600 + k)
    st = os.lstat(full(p))
    emit("setattr", p, inode=st.st_ino, mode=st.st_mode & 0o7777, uid=st.st_uid, gid=st.st_gid)
for k, p in enumerate(attr[15:20]):
    os.chown(full(p), 1000 + k, 1000 + k)
    st = os.lstat(full(p))
    emit("setattr", p, inode=st.st_ino, mode=st.st_mode & 0o7777, uid=st.st_uid, gid=st.st_gid)
sync("attrs")

# ----------------------------------------------------------- unlink --
def unlink(p):
    n = ino(p)
    os.unlink(full(p))
    emit("unlink", p, inode=n)
    files.pop(p, None)


for p in sorted(p for p in files if p.startswith(("/a/b/c/d/", "/gone/"))):
    unlink(p)
rest = sorted(p for p in files if p.startswith(("/src/", "/data/", "/a/b/tree2/"))
              and p not in linked)
rng.shuffle(rest)
for p in rest[:15]:
    unlink(p)
unlink(linked[0])                                          # one name of a linked inode
unlink("/links/fast1")
for i in range(1, 5200, 50):
    if i % 1000:
        unlink("/many/entry-%05d-%s" % (i, "x" * (i % 23)))
sync("unlink")

# ------------------------------------------------------------ rmdir --
for d in ("/a/b/c/d", "/gone/inner", "/gone"):
    n = ino(d)
    os.rmdir(full(d))
    emit("rmdir", d, inode=n)
sync("rmdir")
log.close()
print("workload: %d regular files alive, %d bytes" % (len(files), sum(files.values())))
PY

#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Makes fuzz_follow's base images and seed corpus.

    tests/fuzz/mkseed_follow.py [--check FUZZ_FOLLOW_BINARY]

Needs mkfs.ext4, debugfs, e2fsck (e2fsprogs) and gzip.  Writes

  tests/fuzz/data/follow-{plain,csum,ext3}.img.gz   the base images (4 MiB,
      1 KiB blocks, 64 inodes; fixed UUID, hash seed and time, so the output
      is the same on every run with the same e2fsprogs)
  tests/fuzz/corpus/follow/*                        the seeds

Seeds come from real changes: each is a debugfs -w script applied to a copy
of a base image; the blocks that differ become write records (fuzz_follow.c
gives the format), either

  NAME-inplace   every changed block written in place (file data first, as
                 data=ordered writes it; then the rest by block number), or
  NAME-journal   file data in place, then one jbd2 transaction (descriptor
                 with a tag per changed metadata block, the blocks, a commit
                 block, checksummed when the journal has CSUM_V3) at the log's
                 start, then the same metadata written in place (checkpoint,
                 left out of long transactions);
  NAME-partial   (a few changes) as inplace, but each one-block metadata
                 write starts inside its block, where the change is.

A change may take several transactions (NAME-two: two, the second with a
revoke block).  With --check, every seed is run through the fuzz target with
STORM_FUZZ_VERBOSE=1: each must report file operations (but a punched hole),
and each journal seed transactions applied.
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
CORPUS = os.path.join(HERE, "corpus", "follow")
BS = 1024
SIZE = 4 << 20
ENV = dict(os.environ, E2FSPROGS_FAKE_TIME="1700000000", TZ="UTC", LC_ALL="C")
UUID = "5eed5eed-0f01-4c0e-8a11-0123456789ab"
HASH_SEED = "0badc0de-1234-4567-89ab-cdef01234567"

# name, image byte, mkfs.ext4 options
VARIANTS = [
    ("plain", 0, ["-O", "^metadata_csum,^64bit", "-I", "256", "-g", "2048"]),
    ("csum", 1, ["-O", "metadata_csum,64bit", "-I", "256"]),
    ("ext3", 2, ["-O", "^extent,^flex_bg,^metadata_csum,^64bit,^huge_file,^dir_nlink,"
                 "^extra_isize", "-I", "128", "-g", "1024"]),
]

# /d gets an htree index (e2fsck -D): 40 names of 60 bytes, more than two
# blocks, spread over four inodes (the view's path map walks a chain per
# hard-linked inode: long chains would slow every run).
HTREE_NAMES = ["entry-%02d-" % i + "n" * 51 for i in range(40)]

BASE = """mkdir a
mkdir a/b
mkdir d
write {src}/hello hello
write {src}/big a/big
write {src}/frag frag
punch frag 1 1
punch frag 3 3
punch frag 5 5
punch frag 7 7
punch frag 9 9
symlink a/link /hello
symlink slow /a/b/{long}
ln hello a/hello2
sif hello links_count 2
mknod fifo p
""".format(src="{src}", long="t" * 100) + "expand d\n" * 3 + "".join(
    "write {src}/empty d/t%d\n" % t for t in range(4)) + "".join(
    "ln d/t%d d/%s\n" % (i % 4, n) for i, n in enumerate(HTREE_NAMES)) + "".join(
    "sif d/t%d links_count %d\n" % (t, len(HTREE_NAMES) // 4 + 1) for t in range(4))

DEEP_NAMES = [chr(ord("A") + i) + "x" * 249 for i in range(16)] + ["z" * 73]
DEEP_DIRS = ["/" + "/".join(DEEP_NAMES[:i + 1]) for i in range(len(DEEP_NAMES))]

# name -> debugfs scripts, one per transaction
# (a punched hole changes no name, size or attribute: no operation expected)
QUIET = {"punch-hole"}
CHANGES = {
    "mkdir": ["mkdir a/new"],
    "create": ["write {src}/small newfile"],
    "create-big": ["write {src}/big2 a/b/big2"],
    "rm": ["rm a/big"],
    "unlink": ["unlink a/hello2\nsif hello links_count 1"],
    "rename": ["ln a/big a/b/moved\nunlink a/big"],
    "rename-dir": ["ln a/b d/b2\nunlink a/b\nsif a links_count 2\nsif d links_count 3"],
    "symlink": ["symlink a/b/s2 /a/big"],
    "symlink-slow": ["symlink a/s3 /%s" % ("x" * 90)],
    "setattr": ["sif hello mode 0100600\nsif hello uid 1000\nsif hello gid 100"],
    "truncate": ["punch a/big 4\nsif a/big size 3000"],
    "punch": ["punch frag 12 23\nsif frag size 12288"],
    "punch-hole": ["punch frag 12 15"],
    "htree-add": ["ln d/t1 d/zz-new-entry\nsif d/t1 links_count 12"],
    "htree-rm": ["unlink d/%s\nunlink d/%s\nsif d/t2 links_count 9" %
                 (HTREE_NAMES[10], HTREE_NAMES[38])],
    "rmdir": ["rmdir a/b"],
    "mknod": ["cd a\nmknod fifo2 p"],
    "two": ["mkdir x", "write {src}/small x/f"],
    "overwrite": ["@data a/big 3\n@data a/big 4\n@data frag 10"],
    "append": ["@data hello 0\nsif hello size 1000"],
    "reuse": ["rm a/big\nwrite {src}/small a/new\nsif a/new generation 7"],
    # a directory 4090 bytes deep, then a 255-byte name in it: a path longer
    # than PATH_MAX
    "deep": ["".join("mkdir %s\n" % p for p in DEEP_DIRS),
             "ln hello %s/%s\nsif hello links_count 3" % (DEEP_DIRS[-1], "L" * 255)],
}
# changes that also get a NAME-partial seed: metadata written from inside
# the block (partial in-place writes)
PARTIAL = {"setattr", "rename", "htree-add", "mkdir"}


def run(cmd, ok=(0,), **kw):
    p = subprocess.run(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)
    if p.returncode not in ok:
        sys.exit("mkseed_follow: %s failed (%d):\n%s" % (" ".join(cmd), p.returncode,
                                                          p.stdout.decode(errors="replace")))
    return p.stdout.decode(errors="replace")


def debugfs(img, script, write=True):
    with tempfile.NamedTemporaryFile("w", suffix=".debugfs") as f:
        f.write(script)
        f.flush()
        out = run(["debugfs"] + (["-w"] if write else []) + ["-f", f.name, img])
    if write:
        fix_times(img)
    for line in out.splitlines():
        # debugfs reports errors on stdout and still exits 0
        if re.search(r": (File not found|Filesystem|Could not|Ext2|No free|Invalid)", line) and \
                not line.startswith("debugfs "):
            sys.exit("mkseed_follow: debugfs on %s: %s" % (img, line))
    return out


def apply_step(img, step, src):
    """Runs a change: debugfs commands, and lines "@data PATH LBLK" that
    overwrite logical block LBLK of file PATH with new bytes (file data
    written in place, as a program's write reaches the disk)."""
    batch = []
    for line in step.format(src=src).splitlines() + ["@end"]:
        if not line.startswith("@"):
            batch.append(line)
            continue
        if batch:
            debugfs(img, "\n".join(batch) + "\n")
            batch = []
        words = line.split()
        if words[0] == "@data":
            phys = data_map(img, words[1])[0][int(words[2])]
            with open(img, "r+b") as f:
                f.seek(phys * BS)
                f.write(bytes((i * 7 + phys) & 0xFF for i in range(BS)))


def fix_times(img):
    """debugfs and e2fsck stamp the superblock (and its backups) with the
    real time (s_mtime, s_wtime, s_lastcheck): set the fixed one instead."""
    with open(img, "r+b") as f:
        sb = bytearray(f.read(2048)[1024:])
        per_group = struct.unpack("<I", sb[0x20:0x24])[0]
        first = struct.unpack("<I", sb[0x14:0x18])[0]
        for g in range(SIZE // BS // per_group + 1):
            at = 1024 if g == 0 else (first + g * per_group) * BS
            if at + 1024 > SIZE:
                break
            f.seek(at)
            sb = bytearray(f.read(1024))
            if struct.unpack("<H", sb[0x38:0x3A])[0] != 0xEF53 or \
                    struct.unpack("<H", sb[0x5A:0x5C])[0] != g:
                continue
            for off in (0x2C, 0x30, 0x40):
                struct.pack_into("<I", sb, off, 1700000000)
            if struct.unpack("<I", sb[0x64:0x68])[0] & 0x400:  # metadata_csum
                struct.pack_into("<I", sb, 0x3FC, crc32c_raw(0xFFFFFFFF, sb[:0x3FC]))
            f.seek(at)
            f.write(sb)


def debugfs_r(img, request):
    p = subprocess.run(["debugfs", "-R", request, img], env=ENV, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, check=True)
    return p.stdout.decode(errors="replace")


def make_sources(src):
    """Deterministic file contents."""
    def fill(name, n, seed):
        x = seed
        out = bytearray()
        while len(out) < n:
            x = (x * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
            out += struct.pack("<Q", x)
        with open(os.path.join(src, name), "wb") as f:
            f.write(bytes(out[:n]))
    fill("hello", 700, 1)
    fill("big", 20 * BS, 2)
    fill("frag", 24 * BS, 3)
    fill("small", 3000, 4)
    fill("big2", 14 * BS + 100, 5)
    fill("empty", 0, 6)


def set_journal_csum(img):
    """Turns on the journal features the kernel sets when it mounts a
    metadata_csum, 64bit file system: 64BIT and CSUM_V3 (crc32c)."""
    phys = data_map(img, "<8>")[0]
    with open(img, "r+b") as f:
        f.seek(phys[0] * BS)
        sb = bytearray(f.read(BS))
        incompat = struct.unpack(">I", sb[0x28:0x2C])[0] | 0x2 | 0x10
        struct.pack_into(">I", sb, 0x28, incompat)
        sb[0x50] = 4  # JBD2_CRC32C_CHKSUM
        struct.pack_into(">I", sb, 0xFC, 0)
        struct.pack_into(">I", sb, 0xFC, crc32c_raw(0xFFFFFFFF, sb[:1024]))
        f.seek(phys[0] * BS)
        f.write(sb)


def make_base(path, opts, src, journal_csum):
    if os.path.exists(path):
        os.unlink(path)
    run(["mkfs.ext4", "-q", "-F", "-b", str(BS), "-N", "64", "-J", "size=1", "-U", UUID,
         "-E", "hash_seed=%s,lazy_itable_init=0,nodiscard" % HASH_SEED] + opts + [path, "4M"])
    debugfs(path, BASE.format(src=src))
    run(["e2fsck", "-fyD", path], ok=(0, 1))
    fix_times(path)
    if journal_csum:
        set_journal_csum(path)
    run(["e2fsck", "-fn", path])
    if "hash tree" not in debugfs_r(path, "htree d") and "Root node" not in \
            debugfs_r(path, "htree d"):
        sys.exit("mkseed_follow: %s: /d got no htree index" % path)


def read_blocks(path):
    with open(path, "rb") as f:
        data = f.read()
    assert len(data) == SIZE
    return [data[i:i + BS] for i in range(0, SIZE, BS)]


def data_map(img, spec):
    """Physical blocks of a file's data in logical order (from stat: the
    BLOCKS or EXTENTS list; indirect and extent-tree blocks left out).
    @spec is a path or "<ino>"."""
    out = debugfs_r(img, "stat %s" % spec)
    phys = {}
    for m in re.finditer(r"\((\d+)(?:-(\d+))?\):(\d+)(?:-(\d+))?", out):
        first, last, p = int(m.group(1)), int(m.group(2) or m.group(1)), int(m.group(3))
        for i in range(last - first + 1):
            phys[first + i] = p + i
    return [phys[i] for i in sorted(phys)], out


def file_data_blocks(img, blocks):
    """Those of @blocks that are data of a regular file in @img."""
    if not blocks:
        return set()
    out = debugfs_r(img, "icheck " + " ".join(map(str, sorted(blocks))))
    inos = {int(m.group(1)) for m in re.finditer(r"^\d+\s+(\d+)$", out, re.M)}
    data = set()
    for ino in inos:
        blocks_of, stat = data_map(img, "<%d>" % ino)
        if "Type: regular" in stat:
            data.update(blocks_of)
    return data & set(blocks)


def runs(blocks):
    """Sorted blocks as (first, count<=4) records."""
    out = []
    for b in sorted(blocks):
        if out and out[-1][0] + out[-1][1] == b and out[-1][1] < 4:
            out[-1][1] += 1
        else:
            out.append([b, 1])
    return out


def record(block, count, data, ctl=0):
    assert 1 <= count <= 4 and len(data) == count * BS and block < 65536
    return struct.pack("<HB", block, (count - 1) | ctl) + data


# ---- jbd2 (the kernel's Documentation/filesystems/ext4/journal.rst) -------

JBD2_MAGIC = 0xC03B3998
CRC_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ (0x82F63B78 if _c & 1 else 0)
    CRC_TABLE.append(_c)


def crc32c_raw(crc, data):
    """jbd2's crc32c: seeded, no inversion."""
    for b in data:
        crc = CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


class Journal:
    def __init__(self, img, blocks):
        self.phys = data_map(img, "<8>")[0]
        sb = blocks[self.phys[0]]
        magic, btype = struct.unpack(">II", sb[0:8])
        assert magic == JBD2_MAGIC and btype == 4, "journal superblock v2 expected"
        self.maxlen, self.first, self.seq, self.start = struct.unpack(">IIII", sb[0x10:0x20])
        self.first_seq = self.seq
        self.incompat = struct.unpack(">I", sb[0x28:0x2C])[0]
        assert len(self.phys) == self.maxlen
        self.uuid = sb[0x30:0x40]
        self.v3 = bool(self.incompat & 0x10)
        assert not self.incompat & 0x8, "CSUM_V2 journals are not generated"
        self.b64 = bool(self.incompat & 0x2)
        self.seed = crc32c_raw(0xFFFFFFFF, self.uuid)
        self.pos = self.start or self.first
        self.sb = bytearray(sb)

    def tag_size(self):
        return 16 if self.v3 else (12 if self.b64 else 8)

    def revoke(self, homes):
        """A revoke block of the current transaction naming @homes."""
        blk = bytearray(BS)
        size = 8 if self.b64 else 4
        blk[0:12] = struct.pack(">III", JBD2_MAGIC, 5, self.seq)
        struct.pack_into(">I", blk, 12, 16 + size * len(homes))
        for i, home in enumerate(homes):
            struct.pack_into(">Q" if self.b64 else ">I", blk, 16 + size * i, home)
        if self.v3:
            struct.pack_into(">I", blk, BS - 4, crc32c_raw(self.seed, blk))
        return bytes(blk)

    def transaction(self, homes, contents, revokes=()):
        """The journal blocks of one transaction: [(journal index, bytes)],
        revoke records first (as the kernel writes them)."""
        assert homes
        seq = self.seq
        pre = [self.revoke(revokes)] if revokes else []
        desc = bytearray(BS)
        desc[0:12] = struct.pack(">III", JBD2_MAGIC, 1, seq)
        off, out = 12, []
        room = BS - (4 if self.v3 else 0)
        for i, (home, data) in enumerate(zip(homes, contents)):
            need = self.tag_size() + (16 if i == 0 else 0)
            assert off + need <= room, "too many blocks for one descriptor"
            flags = (2 if i else 0) | (8 if i == len(homes) - 1 else 0)
            data = bytearray(data)
            csum = crc32c_raw(crc32c_raw(self.seed, struct.pack(">I", seq)), data)
            if struct.unpack(">I", data[0:4])[0] == JBD2_MAGIC:
                flags |= 1
                data[0:4] = bytes(4)
            if self.v3:
                tag = struct.pack(">IIII", home & 0xFFFFFFFF, flags, home >> 32, csum)
            else:
                tag = struct.pack(">IHH", home & 0xFFFFFFFF, 0, flags)
                if self.b64:
                    tag += struct.pack(">I", home >> 32)
            desc[off:off + len(tag)] = tag
            off += len(tag)
            if i == 0:
                desc[off:off + 16] = self.uuid
                off += 16
            out.append(bytes(data))
        if self.v3:
            struct.pack_into(">I", desc, BS - 4, crc32c_raw(self.seed, desc))
        commit = bytearray(BS)
        commit[0:12] = struct.pack(">III", JBD2_MAGIC, 2, seq)
        struct.pack_into(">QI", commit, 0x30, 1700000000, 0)
        if self.v3:
            struct.pack_into(">I", commit, 0x10, crc32c_raw(self.seed, commit))
        blocks = pre + [bytes(desc)] + out + [bytes(commit)]
        res = []
        for b in blocks:
            assert self.pos < self.maxlen, "journal wrapped"
            res.append((self.pos, b))
            self.pos += 1
        self.seq += 1
        return res

    def superblock(self, start, seq):
        """Journal block 0 naming the log start @start, sequence @seq."""
        sb = bytearray(self.sb)
        struct.pack_into(">II", sb, 0x18, seq, start)
        if self.v3:
            struct.pack_into(">I", sb, 0xFC, 0)
            struct.pack_into(">I", sb, 0xFC, crc32c_raw(0xFFFFFFFF, sb[:1024]))
        return (0, bytes(sb))


def journal_records(jnl, jblocks):
    """Journal writes [(index, bytes)] as records of contiguous physical blocks."""
    recs, cur = [], None
    for idx, data in jblocks:
        p = jnl.phys[idx]
        if cur and cur[0] + len(cur[1]) == p and len(cur[1]) < 4:
            cur[1].append(data)
        else:
            if cur:
                recs.append(record(cur[0], len(cur[1]), b"".join(cur[1])))
            cur = [p, [data]]
    if cur:
        recs.append(record(cur[0], len(cur[1]), b"".join(cur[1])))
    return recs


def partial_record(first, count, before, after):
    """A record of one block written from the latest head offset (ctl bits
    3-4) that still covers every changed byte: a partial in-place write."""
    if count == 1:
        diff = next(i for i in range(BS) if after[first][i] != before[first][i])
        for bits, head in ((1, 512), (2, 100)):
            if diff >= head:
                return struct.pack("<HB", first, bits << 3) + after[first][head:]
    return record(first, count, b"".join(after[first:first + count]))


def make_seeds(name, byte, base, src, work):
    base_blocks = read_blocks(base)
    written = 0
    for change, steps in CHANGES.items():
        inplace, journal, partial = [bytes([byte])], [bytes([byte])], [bytes([byte])]
        jnl = Journal(base, base_blocks)
        img = os.path.join(work, "change.img")
        shutil.copyfile(base, img)
        before = base_blocks
        journalled = []
        for n, step in enumerate(steps):
            apply_step(img, step, src)
            after = read_blocks(img)
            changed = [b for b in range(len(after)) if after[b] != before[b]]
            data = file_data_blocks(img, changed)
            meta = [b for b in changed if b not in data]
            for first, count in runs(data):
                rec = record(first, count, b"".join(after[first:first + count]), ctl=4)
                inplace.append(rec)
                journal.append(rec)
                partial.append(rec)
            for first, count in runs(meta):
                inplace.append(record(first, count, b"".join(after[first:first + count])))
                partial.append(partial_record(first, count, before, after))
            if meta:
                # the second of two transactions revokes the blocks the
                # first journalled and this one does not
                revokes = sorted(set(journalled) - set(meta)) if n == 1 else []
                jb = jnl.transaction(meta, [after[b] for b in meta], revokes)
                journalled += meta
                if n == 1:
                    # a second transaction: the log start moves past the first
                    jb.insert(0, jnl.superblock(jb[0][0], jnl.seq - 1))
                journal += journal_records(jnl, jb)
                if len(meta) < 20:  # the checkpoint, unless the seed grows too long
                    for first, count in runs(meta):
                        journal.append(record(first, count, b"".join(after[first:first + count])))
            before = after
        kinds = [("inplace", inplace)]
        if jnl.seq != jnl.first_seq:
            kinds.append(("journal", journal))
        if change in PARTIAL:
            kinds.append(("partial", partial))
        for kind, recs in kinds:
            seed = b"".join(recs)
            if len(seed) > 65536:
                sys.exit("mkseed_follow: seed %s-%s-%s is %d bytes (run.sh's -max_len is 64 KiB)"
                         % (name, change, kind, len(seed)))
            with open(os.path.join(CORPUS, "%s-%s-%s" % (name, change, kind)), "wb") as f:
                f.write(seed)
            written += 1
    return written


def check(binary):
    bad = 0
    for seed in sorted(os.listdir(CORPUS)):
        out = subprocess.run([binary, os.path.join(CORPUS, seed)],
                             env=dict(ENV, STORM_FUZZ_VERBOSE="1"), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT).stdout.decode(errors="replace")
        m = re.search(r"stats: transactions (\d+) .* ops (\d+)", out)
        if not m:
            print("%s: no stats line\n%s" % (seed, out[-2000:]))
            bad += 1
            continue
        txns, ops = int(m.group(1)), int(m.group(2))
        quiet = any(seed.endswith("-%s-%s" % (q, k)) for q in QUIET for k in ("inplace", "journal"))
        ok = (ops > 0 or quiet) and (txns > 0 or not seed.endswith("-journal"))
        print("%-40s transactions %d ops %d%s" % (seed, txns, ops, "" if ok else "  <-- BAD"))
        bad += not ok
    return bad


def main():
    args = sys.argv[1:]
    binary = None
    if args[:1] == ["--check"] and len(args) == 2:
        binary = args[1]
    elif args:
        sys.exit(__doc__)
    os.makedirs(DATA, exist_ok=True)
    os.makedirs(CORPUS, exist_ok=True)
    for f in os.listdir(CORPUS):
        os.unlink(os.path.join(CORPUS, f))
    total = 0
    with tempfile.TemporaryDirectory() as work:
        src = os.path.join(work, "src")
        os.mkdir(src)
        make_sources(src)
        for name, byte, opts in VARIANTS:
            base = os.path.join(work, name + ".img")
            make_base(base, opts, src, "metadata_csum," in opts[1])
            total += make_seeds(name, byte, base, src, work)
            with open(os.path.join(DATA, "follow-%s.img.gz" % name), "wb") as f:
                subprocess.run(["gzip", "-9nc", base], stdout=f, check=True)
    print("mkseed_follow: %d seeds in %s, images in %s" % (total, CORPUS, DATA))
    if binary and check(binary):
        sys.exit("mkseed_follow: some seeds do nothing")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Score storm-monitor's JSON Lines against a workload's ground truth.

    monitor_score.py EXPECTED.jsonl MONITOR.jsonl [--final-image IMG]
                     [--before-image IMG] [--min-precision P] [--min-recall R]
                     [--min-precision-namespace P] [--min-recall-namespace R]
                     [--min-precision-writes P] [--min-recall-writes R]
                     [--min-precision-names P] [--min-recall-names R]

EXPECTED is what monitor_workload.sh logs, MONITOR what storm-monitor prints;
both use the same fields (op, path, to, inode, offset, length, size).  Three
scores, each a precision and a recall:

namespace  (op, path, to) of create, mkdir, symlink, link, rename, unlink,
           rmdir, truncate, setattr, matched as a multiset (ts, inode and
           the other fields are ignored).
writes     bytes, per inode.  Expected: the union of the byte ranges the
           workload wrote, each rounded out to 4 KiB file blocks (the kernel
           writes whole pages) and clipped to the file's size when the phase's
           sync returned ({"op":"sync"} markers; the size is the "size" of the
           last write record if it has one, else the largest end written; a
           truncate before the sync drops what lies past it).  A truncate that
           shrinks a file to a size inside a block also writes that block (the
           kernel zeroes its tail): its bytes up to the new size count.  Reported: the union of the monitor's
           write ranges of that inode (lines without an inode, e.g. kind
           "free", are counted apart).  precision = |reported & expected| /
           |reported|, recall = |reported & expected| / |expected|.
names      with --final-image: every path of the final image (debugfs) and
           its inode, against the names the monitor's namespace lines leave
           when replayed over the starting names (--before-image, else an
           empty volume); lost+found is left out.  The ground truth is
           replayed too and must give exactly the final image (else the
           workload's log is wrong: exit 1 whatever the thresholds).

A precision with nothing reported counts as 1.  Prints a table and the first
20 misses and false positives of each score.  Exit: 0 when every score meets
its thresholds (default 1.0), 1 otherwise, 2 on bad input.
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile

NS_OPS = ("create", "mkdir", "symlink", "link", "rename", "unlink", "rmdir",
          "truncate", "setattr")
PAGE = 4096
SHOW = 20


# ------------------------------------------------------------ intervals --

def normalize(iv):
    """Sorted, merged, non-empty half-open intervals."""
    out = []
    for a, b in sorted(x for x in iv if x[1] > x[0]):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1][1] = b
        else:
            out.append([a, b])
    return [tuple(x) for x in out]


def total(iv):
    return sum(b - a for a, b in iv)


def intersect(x, y):
    out, i, j = [], 0, 0
    while i < len(x) and j < len(y):
        a, b = max(x[i][0], y[j][0]), min(x[i][1], y[j][1])
        if a < b:
            out.append((a, b))
        if x[i][1] < y[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(x, y):
    """x minus y, both normalized."""
    out, j = [], 0
    for a, b in x:
        while j < len(y) and y[j][1] <= a:
            j += 1
        k, pos = j, a
        while k < len(y) and y[k][0] < b:
            if y[k][0] > pos:
                out.append((pos, y[k][0]))
            pos = max(pos, y[k][1])
            k += 1
        if pos < b:
            out.append((pos, b))
    return out


# --------------------------------------------------------------- inputs --

def read_jsonl(path, what):
    recs, bad = [], 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                bad += 1
                if bad <= 3:
                    print("%s:%d: not JSON: %.120s" % (what, n, line))
                continue
            if isinstance(rec, dict):
                recs.append(rec)
            else:
                bad += 1
    return recs, bad


def ns_key(rec):
    return (rec.get("op"), rec.get("path"), rec.get("to"))


def expected_writes(recs, page=PAGE):
    """inode -> normalized expected byte intervals; inode -> its last name."""
    size = {}
    pending = collections.defaultdict(list)
    done = collections.defaultdict(list)
    names = {}

    def flush():
        for ino, ranges in pending.items():
            end = size.get(ino, 0)
            for a, b in ranges:
                a, b = a // page * page, min(-(-b // page) * page, end)
                if a < b:
                    done[ino].append((a, b))
        pending.clear()

    for r in recs:
        op, ino = r.get("op"), r.get("inode")
        if op == "rename" and isinstance(r.get("to"), str):
            old, to = r.get("path") or "", r["to"]
            for i, p in list(names.items()):       # a directory moves its subtree
                if p == old or p.startswith(old + "/"):
                    names[i] = to + p[len(old):]
            names[ino] = to
        elif op != "link" and r.get("path"):
            names[ino] = r["path"]
        if op == "write":
            a, n = int(r["offset"]), int(r["length"])
            pending[ino].append((a, a + n))
            size[ino] = int(r["size"]) if "size" in r else max(size.get(ino, 0), a + n)
        elif op == "truncate":
            s, old = int(r["size"]), size.get(ino)
            size[ino] = s
            pending[ino] = [(a, min(b, s)) for a, b in pending.get(ino, []) if a < s]
            if (old is None or s < old) and s % page:
                # The kernel zeroes the rest of the new last block on disk:
                # that block is written, its bytes up to the new size too.
                pending[ino].append((s // page * page, s))
        elif op == "sync":
            flush()
    flush()
    return {ino: normalize(iv) for ino, iv in done.items()}, names


def reported_writes(recs):
    iv = collections.defaultdict(list)
    names = {}
    unattributed = 0
    for r in recs:
        if r.get("op") != "write":
            continue
        ino = r.get("inode")
        try:
            a, n = int(r["offset"]), int(r["length"])
        except (KeyError, TypeError, ValueError):
            if isinstance(r.get("length"), int):
                unattributed += r["length"]
            continue
        if not isinstance(ino, int):
            unattributed += n
            continue
        iv[ino].append((a, a + n))
        if r.get("path"):
            names[ino] = r["path"]
    return {ino: normalize(x) for ino, x in iv.items()}, names, unattributed


# ----------------------------------------------------------------- names --

def replay(recs, start):
    """path -> inode after the namespace records, from a copy of start."""
    m = dict(start)
    for r in recs:
        op, p = r.get("op"), r.get("path")
        if not isinstance(p, str):
            continue
        if op in ("create", "mkdir", "symlink", "link"):
            m[p] = r.get("inode")
        elif op in ("unlink", "rmdir"):
            m.pop(p, None)
        elif op == "rename" and isinstance(r.get("to"), str):
            to = r["to"]
            for q in [q for q in m if q == to or q.startswith(to + "/")]:
                del m[q]
            for q in [q for q in m if q == p or q.startswith(p + "/")]:
                m[to + q[len(p):]] = m.pop(q)
    return m


def debugfs_walk(img):
    """path -> inode of every name under / (lost+found left out), by debugfs."""
    names, level = {}, ["/"]
    with tempfile.TemporaryDirectory() as tmp:
        cmd = os.path.join(tmp, "cmd")
        while level:
            with open(cmd, "w") as f:
                for d in level:
                    f.write('ls -p "%s"\n' % d)
            out = subprocess.run(["debugfs", "-f", cmd, img], capture_output=True,
                                 text=True, errors="replace", check=False).stdout
            nxt, cur = [], None
            for line in out.splitlines():
                if line.startswith("debugfs: ls -p "):
                    cur = line[len("debugfs: ls -p "):].strip().strip('"')
                    continue
                parts = line.split("/")
                if cur is None or len(parts) < 7 or parts[0] != "":
                    continue
                ino, mode, name = int(parts[1]), int(parts[2], 8), "/".join(parts[5:-2])
                if name in (".", "..") or ino == 0:
                    continue
                path = (cur.rstrip("/") + "/" + name)
                if path == "/lost+found":
                    continue
                names[path] = ino
                if mode & 0o170000 == 0o040000:
                    nxt.append(path)
            level = nxt
    return names


def drop_lost_found(m):
    return {p: i for p, i in m.items()
            if p != "/lost+found" and not p.startswith("/lost+found/")}


# ----------------------------------------------------------------- output --

def ratio(num, den):
    return 1.0 if den == 0 else num / den


def fmt(x, den):
    return "   n/a" if den == 0 else "%6.4f" % x


def row(cat, what, e, r, m):
    print("%-10s %-10s %12d %12d %12d   %s   %s" % (
        cat, what, e, r, m, fmt(ratio(m, r), r), fmt(ratio(m, e), e)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("expected")
    ap.add_argument("monitor")
    ap.add_argument("--final-image")
    ap.add_argument("--before-image")
    ap.add_argument("--min-precision", type=float, default=1.0)
    ap.add_argument("--min-recall", type=float, default=1.0)
    for cat in ("namespace", "writes", "names"):
        ap.add_argument("--min-precision-" + cat, type=float)
        ap.add_argument("--min-recall-" + cat, type=float)
    ap.add_argument("--page", type=int, default=PAGE, help=argparse.SUPPRESS)
    a = ap.parse_args()

    try:
        exp, ebad = read_jsonl(a.expected, "expected")
        mon, mbad = read_jsonl(a.monitor, "monitor")
    except OSError as e:
        print("monitor_score: %s" % e, file=sys.stderr)
        return 2
    if ebad:
        print("monitor_score: %d bad lines in %s" % (ebad, a.expected), file=sys.stderr)
        return 2
    ops = collections.Counter(r.get("op") for r in mon)
    print("monitor: %d lines (%s)%s" % (len(mon), ", ".join(
        "%s %d" % kv for kv in sorted(ops.items(), key=lambda kv: str(kv[0]))),
        ", %d not JSON" % mbad if mbad else ""))

    scores = {}
    print("%-10s %-10s %12s %12s %12s   %s   %s" % (
        "score", "op", "expected", "reported", "matched", "precis", "recall"))

    # -- namespace
    e_ns = collections.Counter(ns_key(r) for r in exp if r.get("op") in NS_OPS)
    r_ns = collections.Counter(ns_key(r) for r in mon if r.get("op") in NS_OPS)
    m_ns = e_ns & r_ns
    for op in NS_OPS:
        e = sum(v for k, v in e_ns.items() if k[0] == op)
        r = sum(v for k, v in r_ns.items() if k[0] == op)
        if e or r:
            row("namespace", op, e, r, sum(v for k, v in m_ns.items() if k[0] == op))
    E, R, M = sum(e_ns.values()), sum(r_ns.values()), sum(m_ns.values())
    row("namespace", "all", E, R, M)
    scores["namespace"] = (ratio(M, R), ratio(M, E))
    ns_miss, ns_fp = list((e_ns - r_ns).elements()), list((r_ns - e_ns).elements())

    # -- writes
    e_w, e_names = expected_writes(exp, a.page)
    r_w, r_names, unattributed = reported_writes(mon)
    E = sum(total(x) for x in e_w.values())
    R = sum(total(x) for x in r_w.values())
    M = sum(total(intersect(e_w[i], r_w[i])) for i in e_w if i in r_w)
    row("writes", "bytes", E, R, M)
    scores["writes"] = (ratio(M, R), ratio(M, E))
    fully = sum(1 for i, x in e_w.items() if not subtract(x, r_w.get(i, [])))
    print("%-10s %d of %d written inodes fully reported; %d inodes reported; "
          "%d bytes of writes without an inode (free blocks, ...)" % (
              "", fully, len(e_w), len(r_w), unattributed))
    w_miss = [(i, s) for i in sorted(e_w) for s in subtract(e_w[i], r_w.get(i, []))]
    w_fp = [(i, s) for i in sorted(r_w) for s in subtract(r_w[i], e_w.get(i, []))]

    # -- names
    truth_bad = []
    if a.final_image:
        final = debugfs_walk(a.final_image)
        start = drop_lost_found(debugfs_walk(a.before_image)) if a.before_image else {}
        truth = drop_lost_found(replay(exp, start))
        seen = drop_lost_found(replay(mon, start))
        fset, sset = set(final.items()), set(seen.items())
        M = len(fset & sset)
        row("names", "final", len(fset), len(sset), M)
        scores["names"] = (ratio(M, len(sset)), ratio(M, len(fset)))
        truth_bad = sorted(set(truth.items()) ^ fset)
        by_ino = collections.defaultdict(list)
        for p, i in seen.items():
            by_ino[i].append(p)
        n_miss = []
        for p, i in sorted(fset - sset):
            if p in seen:
                why = "monitor: inode %s" % seen[p]
            elif by_ino.get(i):
                why = "monitor names inode %d %s" % (i, ", ".join(sorted(by_ino[i])[:3]))
            else:
                why = "monitor: no such name"
            n_miss.append("%s inode %d (%s)" % (p, i, why))
        n_fp = ["%s inode %s" % (p, i) for p, i in sorted(sset - fset)]

    # -- details
    def show(title, items):
        if not items:
            return
        print("-- %s: %d, first %d:" % (title, len(items), min(SHOW, len(items))))
        for it in items[:SHOW]:
            print("   " + it)

    show("namespace misses", ["%s %s%s" % (op, p, " -> %s" % t if t else "")
                              for op, p, t in ns_miss])
    show("namespace false positives", ["%s %s%s" % (op, p, " -> %s" % t if t else "")
                                       for op, p, t in ns_fp])
    show("write misses (inode, bytes)",
         ["%d %s [%d, %d) %d bytes" % (i, e_names.get(i, r_names.get(i, "?")), s[0], s[1],
                                       s[1] - s[0]) for i, s in w_miss])
    show("write false positives (inode, bytes)",
         ["%d %s [%d, %d) %d bytes" % (i, r_names.get(i, e_names.get(i, "?")), s[0], s[1],
                                       s[1] - s[0]) for i, s in w_fp])
    if a.final_image:
        show("final names the monitor does not know", n_miss)
        show("names the monitor believes but the final image lacks", n_fp)
        if truth_bad:
            show("GROUND TRUTH DISAGREES WITH THE FINAL IMAGE (path, inode)",
                 ["%s %s" % pi for pi in truth_bad])

    ok = True
    for cat, (p, r) in scores.items():
        minp = getattr(a, "min_precision_" + cat)
        minr = getattr(a, "min_recall_" + cat)
        minp = a.min_precision if minp is None else minp
        minr = a.min_recall if minr is None else minr
        good = p >= minp and r >= minr
        ok &= good
        print("%-10s precision %.4f (min %.4f) recall %.4f (min %.4f): %s" % (
            cat, p, minp, r, minr, "ok" if good else "BELOW"))
    if truth_bad:
        print("the ground truth's names differ from the final image: the workload log is wrong")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

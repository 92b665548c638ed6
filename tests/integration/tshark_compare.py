#!/usr/bin/env python3
"""Compare storm-dump's per-PDU output with Wireshark's iSCSI dissector.

    tshark_compare.py [--port N]... (--storm-dump BIN | --jsonl FILE) CAPTURE
    tshark_compare.py [--port N]... --tshark-jsonl CAPTURE   (print tshark's
                                                 PDUs in storm-dump's format)

tshark is run as
    tshark -r CAPTURE -Y iscsi -T pdml -o iscsi.bogus_pdu_max_data_len:16777216
           [-d tcp.port==N,iscsi]...
and its PDML is parsed incrementally (bounded memory).  Every iSCSI PDU is a
<proto name="iscsi"> element; the <proto name="scsi"> elements that follow it
in the same packet belong to it (CDB, payload, response).  A PDU that spans
several TCP segments is shown once, in the frame that completes it, so the
order of iscsi protos in the PDML is stream order within each direction.

PDUs are grouped by (flow, dir), flow being "IP:PORT>IP:PORT" from initiator
to target (the direction is given by the opcode: 0x00-0x1f are initiator
opcodes), and compared in order, field by field for every field that both
sides report.  Exit status: 0 all equal, 1 any mismatch / count difference /
nothing compared, 2 usage or tool failure.  Only the Python standard library
is used.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

OPS = {
    0x00: "nop_out", 0x01: "scsi_cmd", 0x02: "tmf_req", 0x03: "login_req",
    0x04: "text_req", 0x05: "data_out", 0x06: "logout_req", 0x10: "snack",
    0x20: "nop_in", 0x21: "scsi_resp", 0x22: "tmf_resp", 0x23: "login_resp",
    0x24: "text_resp", 0x25: "data_in", 0x26: "logout_resp", 0x31: "r2t",
    0x32: "async", 0x3f: "reject",
}

# storm-dump field -> tshark fields (first one present wins), all inside the
# <proto name="iscsi"> element of the PDU.
ISCSI_FIELDS = {
    "opcode": ["iscsi.opcode"],
    "itt": ["iscsi.initiatortasktag"],
    "ttt": ["iscsi.targettransfertag"],
    "dsl": ["iscsi.datasegmentlength"],
    "cmdsn": ["iscsi.cmdsn"],
    "expstatsn": ["iscsi.expstatsn"],
    "statsn": ["iscsi.statsn"],
    "expcmdsn": ["iscsi.expcmdsn"],
    "maxcmdsn": ["iscsi.maxcmdsn"],
    "datasn": ["iscsi.datasn"],
    "r2tsn": ["iscsi.r2tsn"],
    "buffer_offset": ["iscsi.bufferOffset"],
    "edtl": ["iscsi.scsicommand.expecteddatatransferlength"],
    "desired_length": ["iscsi.desireddatalength"],
    "status": ["iscsi.scsiresponse.status"],
    "response": ["iscsi.scsiresponse.response", "iscsi.taskmanfun.response",
                 "iscsi.logout.response"],
    "residual": ["iscsi.scsiresponse.residualcount",
                 "iscsi.scsidata.readresidualcount"],
}

# CDB fields, inside the <proto name="scsi" showname="SCSI CDB ..."> element.
CDB_OPCODE_RE = re.compile(r"^scsi(_[a-z]+)?(\.spc)?\.opcode$")
LBA_FIELDS = ["scsi_sbc.rdwr6.lba", "scsi_sbc.rdwr10.lba", "scsi_sbc.rdwr16.lba",
              "scsi_sbc.verify.lba", "scsi_sbc.verify.lba64",
              "scsi_sbc.wrverify.lba", "scsi_sbc.wrverify.lba64"]
BLOCKS_FIELDS = ["scsi_sbc.rdwr6.xferlen", "scsi_sbc.rdwr10.xferlen",
                 "scsi_sbc.rdwr12.xferlen", "scsi_sbc.verify.vlen",
                 "scsi_sbc.verify.vlen32", "scsi_sbc.wrverify.xferlen",
                 "scsi_sbc.wrverify.xferlen32"]

# Per CDB opcode, where tshark 4.0 puts the LBA and the number of blocks when
# the generic names above are wrong or missing.
CDB_LAYOUT = {
    # WRITE SAME(10): the block count is shown as "Allocation Length".
    0x41: (["scsi_sbc.rdwr10.lba"], ["scsi_sbc.alloclen16"]),
    # UNMAP: the CDB has neither (they are in the parameter list).
    0x42: ([], []),
}

COMPARED = ["op", "opcode", "itt", "ttt", "dsl", "lun", "cmdsn", "expstatsn",
            "statsn", "expcmdsn", "maxcmdsn", "datasn", "r2tsn",
            "buffer_offset", "edtl", "desired_length", "status", "response",
            "residual", "cdb_op", "lba", "blocks"]


def to_int(show):
    """tshark 'show' strings: '12', '0x0000000c', '00:00:00:00:00:00:00:08'."""
    if show is None:
        return None
    s = show.strip()
    try:
        if ":" in s:
            return int(s.replace(":", ""), 16)
        return int(s, 0)
    except ValueError:
        return None


def first_fields(proto, wanted):
    """Map field name -> first 'show' value, for names in `wanted`, searching
    the whole subtree of `proto` in document order."""
    found = {}
    for f in proto.iter("field"):
        n = f.get("name")
        if n in wanted and n not in found:
            found[n] = f.get("show")
    return found


ALL_ISCSI_NAMES = {n for names in ISCSI_FIELDS.values() for n in names} | {
    "scsi.lun", "scsi.lun.address_mode"}


def iscsi_pdu(proto):
    """Extract our fields from one <proto name="iscsi">; None if tshark did
    not decode a PDU header (continuation, bogus)."""
    vals = first_fields(proto, ALL_ISCSI_NAMES)
    if "iscsi.opcode" not in vals:
        return None
    pdu = {}
    for key, names in ISCSI_FIELDS.items():
        for n in names:
            if n in vals:
                v = to_int(vals[n])
                if v is not None:
                    pdu[key] = v
                break
    pdu["opcode"] &= 0x3f
    pdu["op"] = OPS.get(pdu["opcode"], "unknown")
    # LUN: only from the PDU header, and only for peripheral (0) or flat (1)
    # addressing, which is what storm-dump decodes.
    if "scsi.lun" in vals:
        mode = to_int(vals.get("scsi.lun.address_mode", "0"))
        if mode in (0, 1):
            pdu["lun"] = to_int(vals["scsi.lun"])
    return pdu


def add_cdb(pdu, proto):
    if "cdb_op" in pdu:
        return
    op = None
    for f in proto.iter("field"):
        n = f.get("name") or ""
        if CDB_OPCODE_RE.match(n):
            op = to_int(f.get("show"))
            break
    if op is None:
        return
    pdu["cdb_op"] = op
    lba_fields, blocks_fields = CDB_LAYOUT.get(op, (LBA_FIELDS, BLOCKS_FIELDS))
    vals = first_fields(proto, set(lba_fields) | set(blocks_fields))
    for n in lba_fields:
        if n in vals:
            pdu["lba"] = to_int(vals[n])
            break
    if "scsi_sbc.rdwr6.lba" in vals and "lba" in pdu:
        # tshark 4.0 bug: the READ(6)/WRITE(6) LBA field is masked with
        # 0xfffff, but SBC gives it 21 bits (byte 1 bits 4-0, bytes 2-3).
        for f in proto.iter("field"):
            if f.get("name") == "scsi_sbc.rdwr6.lba" and f.get("unmaskedvalue"):
                pdu["lba"] = int(f.get("unmaskedvalue"), 16) & 0x1fffff
                break
    for n in blocks_fields:
        if n in vals:
            b = to_int(vals[n])
            # READ(6)/WRITE(6): a transfer length of 0 means 256 blocks;
            # tshark shows the raw 0.
            if b == 0 and op in (0x08, 0x0a):
                b = 256
            pdu["blocks"] = b
            break
    for k in ("lba", "blocks"):
        if k in pdu and pdu[k] is None:
            del pdu[k]


def packet_endpoints(packet):
    src = dst = sport = dport = num = None
    for proto in packet.findall("proto"):
        name = proto.get("name")
        if name == "geninfo":
            for f in proto.findall("field"):
                if f.get("name") == "num":
                    num = int(f.get("show"))
        elif name in ("ip", "ipv6"):
            want = {"ip.src", "ip.dst"} if name == "ip" else {"ipv6.src", "ipv6.dst"}
            v = first_fields(proto, want)
            s = v.get("ip.src", v.get("ipv6.src"))
            d = v.get("ip.dst", v.get("ipv6.dst"))
            if s and d:
                if name == "ipv6":
                    s, d = "[%s]" % s, "[%s]" % d
                src, dst = s, d
        elif name == "tcp":
            v = first_fields(proto, {"tcp.srcport", "tcp.dstport"})
            sport, dport = v.get("tcp.srcport"), v.get("tcp.dstport")
    return num, src, sport, dst, dport


def tshark_pdus(capture, ports, stats):
    """Yield (flow, dir, pdu) for every iSCSI PDU tshark decodes."""
    cmd = ["tshark", "-n", "-r", capture, "-Y", "iscsi", "-T", "pdml",
           "-o", "iscsi.bogus_pdu_max_data_len:16777216",
           # dumpcap on lo sees segments out of order now and then (and real
           # retransmissions under load); without this tshark drops the PDUs
           # in them.
           "-o", "tcp.reassemble_out_of_order:TRUE"]
    for p in ports:
        cmd += ["-d", "tcp.port==%d,iscsi" % p]
    errf = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf)
    try:
        it = ET.iterparse(proc.stdout, events=("start", "end"))
        root = None
        for ev, el in it:
            if ev == "start":
                if root is None:
                    root = el
                continue
            if el.tag != "packet":
                continue
            num, src, sport, dst, dport = packet_endpoints(el)
            cur = None
            for proto in el.findall("proto"):
                name = proto.get("name")
                if name == "iscsi":
                    if cur is not None:
                        yield cur
                        cur = None
                    pdu = iscsi_pdu(proto)
                    if pdu is None:
                        stats["tshark_undecoded"] += 1
                        continue
                    pdu["_frame"] = num
                    if pdu["opcode"] < 0x20:
                        d, flow = "i2t", "%s:%s>%s:%s" % (src, sport, dst, dport)
                    else:
                        d, flow = "t2i", "%s:%s>%s:%s" % (dst, dport, src, sport)
                    cur = (flow, d, pdu)
                elif name == "scsi" and cur is not None and cur[2]["op"] == "scsi_cmd":
                    if (proto.get("showname") or "").startswith("SCSI CDB"):
                        add_cdb(cur[2], proto)
            if cur is not None:
                yield cur
            el.clear()
            if root is not None:
                root.clear()
    finally:
        proc.stdout.close()
        rc = proc.wait()
        errf.seek(0)
        err = errf.read().decode(errors="replace")
        errf.close()
        if rc != 0:
            sys.stderr.write("tshark failed (exit %d): %s\n" % (rc, err.strip()))
            raise SystemExit(2)


def storm_pdus(lines, stats):
    for lineno, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except ValueError as e:
            stats["storm_bad_json"] += 1
            if stats["storm_bad_json"] <= 3:
                sys.stderr.write("storm-dump line %d is not JSON (%s): %.200s\n" % (lineno, e, line))
            continue
        if not isinstance(obj, dict) or "flow" not in obj or "dir" not in obj or \
                ("opcode" not in obj and "error" not in obj):
            stats["storm_other_records"] += 1
            continue
        obj["_line"] = lineno
        yield obj["flow"], obj["dir"], obj


def fmt(v):
    if isinstance(v, int) and not isinstance(v, bool) and v > 255:
        return "%d (0x%x)" % (v, v)
    return repr(v)


def compare(tshark_groups, storm_groups, max_detail):
    pdus_ok = pdus_bad = fields_ok = fields_bad = 0
    count_problems = []
    details = []
    field_hits = {}
    keys = sorted(set(tshark_groups) | set(storm_groups))
    for key in keys:
        t = tshark_groups.get(key, [])
        s = storm_groups.get(key, [])
        if len(t) != len(s):
            count_problems.append("%s %s: tshark %d PDUs, storm-dump %d PDUs" % (key[0], key[1], len(t), len(s)))
        for i, (tp, sp) in enumerate(zip(t, s)):
            bad = []
            if "error" in sp:
                bad.append(("error", None, sp.get("error")))
            for k in COMPARED:
                if k in tp and k in sp:
                    field_hits[k] = field_hits.get(k, 0) + 1
                    if tp[k] == sp[k]:
                        fields_ok += 1
                    else:
                        fields_bad += 1
                        bad.append((k, tp[k], sp[k]))
            if bad:
                pdus_bad += 1
                if len(details) < max_detail:
                    details.append("%s %s PDU #%d (tshark frame %s, storm-dump line %s, %s): %s" % (
                        key[0], key[1], i, tp.get("_frame"), sp.get("_line"), tp.get("op"),
                        "; ".join("%s tshark=%s storm=%s" % (k, fmt(a), fmt(b)) for k, a, b in bad)))
            else:
                pdus_ok += 1
        if len(t) != len(s) and len(details) < max_detail:
            n = min(len(t), len(s))
            extra = t[n:n + 3] if len(t) > n else s[n:n + 3]
            who = "tshark" if len(t) > n else "storm-dump"
            details.append("%s %s: first PDUs only in %s: %s" % (
                key[0], key[1], who,
                ", ".join("%s itt=%s (frame %s / line %s)" % (p.get("op"), p.get("itt"), p.get("_frame"), p.get("_line"))
                          for p in extra)))
    return pdus_ok, pdus_bad, fields_ok, fields_bad, count_problems, details, field_hits


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("capture")
    ap.add_argument("--port", type=int, action="append", default=[],
                    help="extra iSCSI target port (tshark -d, storm-dump --port)")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--storm-dump", metavar="BIN", help="run BIN [--port N]... CAPTURE")
    g.add_argument("--jsonl", metavar="FILE", help="storm-dump output already saved")
    g.add_argument("--tshark-jsonl", action="store_true",
                   help="only print tshark's PDUs as JSON Lines and exit")
    ap.add_argument("--max-detail", type=int, default=20)
    ap.add_argument("--min-pdus", type=int, default=1,
                    help="fail unless at least this many PDUs were compared")
    ap.add_argument("--expect-ops", default="",
                    help="comma-separated PDU types (op names) that must have been compared")
    args = ap.parse_args()

    stats = {"tshark_undecoded": 0, "storm_bad_json": 0, "storm_other_records": 0}

    if args.tshark_jsonl:
        for flow, d, pdu in tshark_pdus(args.capture, args.port, stats):
            out = {"flow": flow, "dir": d}
            out.update({k: v for k, v in pdu.items() if not k.startswith("_")})
            print(json.dumps(out))
        return 0

    tshark_groups = {}
    n_tshark = 0
    for flow, d, pdu in tshark_pdus(args.capture, args.port, stats):
        tshark_groups.setdefault((flow, d), []).append(pdu)
        n_tshark += 1

    if args.storm_dump:
        cmd = [args.storm_dump]
        for p in args.port:
            cmd += ["--port", str(p)]
        cmd.append(args.capture)
        with tempfile.TemporaryFile() as errf:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf,
                                    universal_newlines=True)
            storm_groups = {}
            for flow, d, obj in storm_pdus(proc.stdout, stats):
                storm_groups.setdefault((flow, d), []).append(obj)
            proc.stdout.close()
            rc = proc.wait()
            errf.seek(0)
            err = errf.read().decode(errors="replace")
        if rc != 0:
            sys.stderr.write("storm-dump failed (exit %d): %s\n" % (rc, err.strip()))
            return 1
        if err.strip():
            sys.stderr.write("storm-dump stderr: %s\n" % err.strip()[:2000])
    else:
        with open(args.jsonl) as fh:
            storm_groups = {}
            for flow, d, obj in storm_pdus(fh, stats):
                storm_groups.setdefault((flow, d), []).append(obj)
    n_storm = sum(len(v) for v in storm_groups.values())

    pdus_ok, pdus_bad, fields_ok, fields_bad, count_problems, details, hits = \
        compare(tshark_groups, storm_groups, args.max_detail)
    ops_seen = {}
    for key, pdus in tshark_groups.items():
        for p in pdus[:len(storm_groups.get(key, []))]:
            ops_seen[p["op"]] = ops_seen.get(p["op"], 0) + 1

    print("tshark: %d PDUs in %d flow directions; storm-dump: %d PDUs in %d flow directions"
          % (n_tshark, len(tshark_groups), n_storm, len(storm_groups)))
    print("PDU types compared: %s" % ", ".join("%s=%d" % kv for kv in sorted(ops_seen.items())))
    print("fields compared: %s" % ", ".join("%s=%d" % (k, hits[k]) for k in COMPARED if k in hits))
    never = [k for k in COMPARED if k not in hits]
    if never:
        print("fields never compared (absent on one side): %s" % ", ".join(never))
    if stats["tshark_undecoded"]:
        print("note: %d iscsi protos without a decoded header in tshark's output" % stats["tshark_undecoded"])
    if stats["storm_other_records"]:
        print("note: %d storm-dump records that are not PDUs were ignored" % stats["storm_other_records"])
    for line in details:
        print("MISMATCH: " + line)
    for line in count_problems:
        print("COUNT: " + line)
    print("%d PDUs passed, %d PDUs failed (%d fields equal, %d differ); %d flow-direction count differences"
          % (pdus_ok, pdus_bad, fields_ok, fields_bad, len(count_problems)))
    failed = pdus_bad or count_problems or stats["storm_bad_json"]
    missing = [o for o in args.expect_ops.split(",") if o and o not in ops_seen]
    if missing:
        print("FAIL: expected PDU types never compared: %s" % ", ".join(missing))
        failed = True
    if pdus_ok + pdus_bad < args.min_pdus:
        print("FAIL: only %d PDUs compared (minimum %d)" % (pdus_ok + pdus_bad, args.min_pdus))
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(1)

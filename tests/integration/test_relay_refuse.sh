#!/usr/bin/env bash
# storm-relay --refuse-writes: the relay refuses writes to a protected range
# (storm_conn_refuse(): CHECK CONDITION, DATA PROTECT / WRITE PROTECTED) and
# the initiator's session goes on, healthy, with real peers.
#
# tgtd serves two 64 MiB LUNs (files in the work directory, filled with
# pseudo-random bytes): target 1 as tgtd negotiates by default (InitialR2T=Yes,
# ImmediateData=Yes: immediate data, then R2T), target 2 with InitialR2T=No
# and HeaderDigest=CRC32C (immediate data, unsolicited Data-Out up to
# FirstBurstLength, then R2T; every header digest recomputed by the relay).
# storm-relay --refuse-writes LBA+COUNT protects 1 MiB in the middle.  For
# each target, ONE qemu-io session (QEMU's libiscsi client, many -c commands)
# through the relay:
#
#   1  writes into, and across both edges of, the protected range: each must
#      fail (Permission denied: DATA PROTECT), then ~330 writes elsewhere
#      (512 B to 120 KiB), with a refused write every 30, then a read of each
#      with its pattern, then a batch of aio_write (one refused) and
#      aio_flush, then reads of that batch: far more commands than the CmdSN
#      window, so every later CmdSN, StatSN, ExpCmdSN, MaxCmdSN and
#      ExpStatSN crosses the relay translated;
#   2  every other command succeeds and every read matches; the relay logged
#      exactly the refusals expected, and one connection for the session,
#      closed orderly (the session never broke or reconnected);
#   3  both legs captured (dumpcap on lo) and decoded with storm-dump: the
#      refused commands (and their Data-Out) never reached tgtd, each got
#      exactly one CHECK CONDITION on the initiator's leg; every CmdSN tgtd
#      received is the initiator's minus the refusals before it, every
#      ExpStatSN minus the injected responses it acknowledges; the StatSNs
#      the initiator received are contiguous, injected ones included;
#   4  the backing file afterwards: the protected range unchanged, everything
#      else exactly as written.
#
# Then libiscsi's compliance suite (STORM_REFUSE_CU_TESTS, a list of
# FAMILY[.SUITE] patterns; "ALL" for all of it) runs directly against target
# 3 and through the relay against target 4: the sets of failing tests must
# be equal, except tests that write the whole LUN (WRITE SAME with 0
# blocks), which the relay must refuse, and which must be all it refused.
# Finally the relay exits 0 on SIGTERM with no sanitizer report.
#
# Run it against a sanitizer build with STORM_BUILD_DIR=build-san.
# Exit: 0 all checked, 1 failure, 77 prerequisite missing.
. "$(dirname "$0")/lib.sh"

require_root
require_cmd tgtd tgtadm qemu-io iscsi-test-cu iscsi-readcapacity16 dumpcap python3 ss setsid timeout truncate
require_relay
require_storm_dump

SIZE=$((64 * 1024 * 1024))
TPORT=$(free_port) || fail "no free port"
RPORT=$(free_port) || fail "no free port"
[ "$TPORT" != "$RPORT" ] || RPORT=$(free_port) || fail "no free port"
IQN1=iqn.2024-01.org.libstorm.test:refuse-r2t
IQN2=iqn.2024-01.org.libstorm.test:refuse-unsol
IQN_CD=iqn.2024-01.org.libstorm.test:refuse-cu-direct
IQN_CR=iqn.2024-01.org.libstorm.test:refuse-cu-relay
RLOG=$WORK/relay.log
CU_TESTS=${STORM_REFUSE_CU_TESTS:-iSCSI SCSI.Read10 SCSI.Write10 SCSI.Write16 SCSI.WriteSame10 SCSI.WriteVerify10 SCSI.CompareAndWrite SCSI.Unmap}
T0=$(now_s)

python3 - "$WORK/lun1.img" "$WORK/lun2.img" "$SIZE" <<'EOF' || fail "cannot create the LUN images"
import random, sys
for i, path in enumerate(sys.argv[1:3]):
    open(path, "wb").write(random.Random(1000 + i).randbytes(int(sys.argv[3])))
EOF
truncate -s 64M "$WORK/cu-direct.img" "$WORK/cu-relay.img" || fail "cannot create the suite's LUNs"

tgt_start "$TPORT"
tgt_add_target 1 "$IQN1" "$WORK/lun1.img"
tgt_add_target 2 "$IQN2" "$WORK/lun2.img" InitialR2T=No HeaderDigest=CRC32C
tgt_add_target 3 "$IQN_CD" "$WORK/cu-direct.img"
tgt_lun_params 3 thin_provisioning=1
tgt_add_target 4 "$IQN_CR" "$WORK/cu-relay.img"
tgt_lun_params 4 thin_provisioning=1

BS=$(iscsi-readcapacity16 "iscsi://127.0.0.1:$TPORT/$IQN1/1" | sed -n 's/^LOGICAL BLOCK LENGTH IN BYTES:\([0-9]*\)$/\1/p')
[ -n "$BS" ] && [ "$BS" -gt 0 ] || fail "cannot read the LUN's block size"
# 1 MiB in the middle of the LUN, in its blocks.
PLBA=$((SIZE / 2 / BS))
PCOUNT=$((1048576 / BS))
log "block size $BS; protected blocks $PLBA+$PCOUNT (bytes $((PLBA * BS))..$(((PLBA + PCOUNT) * BS - 1)))"

relay_start "$RPORT" "$TPORT" "$RLOG" --refuse-writes "$PLBA+$PCOUNT"

# plan N SEED : writes $WORK/planN.cmds (one qemu-io command a line) and
# $WORK/planN.json (the writes that must land, and the counts to expect).
plan() {
    python3 - "$1" "$2" "$SIZE" "$((PLBA * BS))" "$((PCOUNT * BS))" "$WORK" <<'EOF'
import json, random, sys
n, seed, size, plo, plen, work = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
rnd = random.Random(seed)
phi = plo + plen
SLOT = 128 * 1024
slots = [s for s in range(0, size, SLOT) if s + SLOT <= plo or s >= phi]
rnd.shuffle(slots)
cmds, writes, reads = [], [], []
refused = {"write": 0, "aio_write": 0}

def refuse(kind="write"):
    # Inside, or across either edge of, the protected range.
    off, ln = rnd.choice([(plo + 4096, 65536), (plo - 4096, 8192), (phi - 512, 4096),
                          (plo, plen), (phi - 65536, 65536)])
    cmds.append(f"{kind} -P 0x5a {off} {ln}")
    refused[kind] += 1

for _ in range(3):
    refuse()
for i in range(330):
    if i % 30 == 29:
        refuse()
    off = slots.pop()
    ln = rnd.choice([512, 4096, 65536, 122880])
    pat = 1 + i % 250
    cmds.append(f"write -P {pat} {off} {ln}")
    writes.append((off, ln, pat))
for off, ln, pat in writes:
    cmds.append(f"read -P {pat} {off} {ln}")
batch = []
for j in range(8):
    off = slots.pop()
    batch.append((off, 4096 * (j + 1), 0xc0 + j))
for j, (off, ln, pat) in enumerate(batch):
    cmds.append(f"aio_write -P {pat} {off} {ln}")
    if j == 4:
        refuse("aio_write")
cmds.append("aio_flush")
writes += batch
for off, ln, pat in batch:
    cmds.append(f"read -P {pat} {off} {ln}")
off = slots.pop()
cmds.append(f"write -P 0x77 {off} 4096")
cmds.append(f"read -P 0x77 {off} 4096")
writes.append((off, 4096, 0x77))
open(f"{work}/plan{n}.cmds", "w").write("\n".join(cmds) + "\n")
json.dump({"writes": writes, "refused": refused, "reads": len(writes)}, open(f"{work}/plan{n}.json", "w"))
EOF
}

last_close_orderly() { tail -n 1 "$RLOG" | grep -q 'storm-relay: close .*(orderly)'; }

# session N IMAGE-SPEC... : runs plan N in one qemu-io session, checks its output.
session() {
    local n=$1; shift
    local args=() c
    while IFS= read -r c; do args+=(-c "$c"); done <"$WORK/plan$n.cmds"
    local opens0 refusals0
    opens0=$(grep -c 'storm-relay: open ' "$RLOG")
    refusals0=$(grep -c 'storm-relay: refused write ' "$RLOG")
    log "session $n: qemu-io with ${#args[@]} arguments"
    # stdout and stderr apart: a line of one may land inside a line of the other.
    cap_start lo "tcp port $RPORT or tcp port $TPORT" "$WORK/session$n.pcap"
    run_to 300 qemu-io "$@" "${args[@]}" >"$WORK/qemu$n.out" 2>"$WORK/qemu$n.err"
    local rc=$?
    cap_stop
    [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || fail "qemu-io (session $n) timed out"
    python3 - "$WORK/qemu$n.out" "$WORK/plan$n.json" "$WORK/qemu$n.err" <<'EOF' || { tail -n 20 "$WORK/qemu$n.out" "$WORK/qemu$n.err" >&2; fail "session $n: qemu-io output is not what it should be"; }
import json, re, sys
out = open(sys.argv[1], errors="replace").read()
plan = json.load(open(sys.argv[2]))
err = open(sys.argv[3], errors="replace").read()
wrote = len(re.findall(r"^wrote \d+/\d+ bytes at offset", out, re.M))
read = len(re.findall(r"^read \d+/\d+ bytes at offset", out, re.M))
wfail = len(re.findall(r"^write failed: Permission denied$", out, re.M))
afail = len(re.findall(r"^aio_write failed: Permission denied$", out, re.M))
sense = len(re.findall(r"SENSE KEY:DATA PROTECTION\(7\) ASCQ:WRITE_PROTECTED\(0x2700\)", err))
other = [l for l in (out + err).splitlines() if re.search(r"failed|Pattern verification|error", l, re.I)
         and not re.search(r"Permission denied$|DATA PROTECTION\(7\)", l)]
want = (len(plan["writes"]), plan["reads"], plan["refused"]["write"], plan["refused"]["aio_write"])
got = (wrote, read, wfail, afail)
print(f"  wrote {wrote}, read {read}, refused {wfail} writes and {afail} aio_writes (sense reported {sense} times)")
bad = got != want or sense != wfail + afail or other
if got != want:
    print(f"FAIL: (wrote, read, write failed, aio_write failed) = {got}, expected {want}", file=sys.stderr)
if sense != wfail + afail:
    print(f"FAIL: DATA PROTECT sense reported {sense} times for {wfail + afail} refusals", file=sys.stderr)
for l in other[:10]:
    print(f"FAIL: unexpected: {l}", file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
    local opens refusals want
    opens=$(($(grep -c 'storm-relay: open ' "$RLOG") - opens0))
    refusals=$(($(grep -c 'storm-relay: refused write ' "$RLOG") - refusals0))
    want=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["refused"]; print(r["write"] + r["aio_write"])' "$WORK/plan$n.json")
    [ "$opens" -eq 1 ] || fail "session $n: $opens connections through the relay (the session must not reconnect)"
    [ "$refusals" -eq "$want" ] || fail "session $n: the relay refused $refusals writes, expected $want"
    if grep 'storm-relay: cannot refuse ' "$RLOG" >&2; then
        fail "session $n: storm_conn_refuse failed (above)"
    fi
    wait_until 5 last_close_orderly \
        || { tail -n 5 "$RLOG" >&2; fail "session $n: its connection did not end orderly"; }
    "$STORM_DUMP" -p "$RPORT" -p "$TPORT" "$WORK/session$n.pcap" >"$WORK/session$n.jsonl" \
        || fail "session $n: storm-dump could not decode the capture"
    python3 - "$WORK/session$n.jsonl" "$RPORT" "$TPORT" "$want" <<'EOF' || fail "session $n: the two legs do not match"
import json, sys
rport, tport, want = sys.argv[2], sys.argv[3], int(sys.argv[4])
pdus = [json.loads(l) for l in open(sys.argv[1])]
ini = [p for p in pdus if p["flow"].endswith(":" + rport)]   # initiator <-> relay
tgt = [p for p in pdus if p["flow"].endswith(":" + tport)]   # relay <-> tgtd
M = 1 << 32
bad = []
tgt_cmds = {(p["op"], p["itt"]): p for p in tgt if p["dir"] == "i2t" and "cmdsn" in p}
tgt_itts = {p["itt"] for p in tgt}
refused = [p for p in ini if p["dir"] == "i2t" and p["op"] == "scsi_cmd" and p["itt"] not in tgt_itts]
if len(refused) != want:
    bad.append(f"{len(refused)} commands never reached the target, {want} refused")
refused_itts = {p["itt"] for p in refused}
answers = {}
for p in ini:
    if p["dir"] == "t2i" and p["op"] == "scsi_resp" and p["itt"] in refused_itts:
        answers.setdefault(p["itt"], []).append(p)
for itt in refused_itts:
    a = answers.get(itt, [])
    if len(a) != 1 or a[0]["status"] != 2:
        bad.append(f"refused ITT 0x{itt:x}: answers {a}")
injected = [a[0]["statsn"] for a in answers.values() if a]
# I2T: in the target's numbers.
done = 0
for p in ini:
    if p["dir"] != "i2t" or "cmdsn" not in p:
        continue
    if p["op"] == "scsi_cmd" and p["itt"] in refused_itts:
        done += 1
        continue
    q = tgt_cmds.get((p["op"], p["itt"]))
    if q is None:
        bad.append(f"{p['op']} ITT 0x{p['itt']:x} never reached the target")
        continue
    if q["cmdsn"] != (p["cmdsn"] - done) % M:
        bad.append(f"{p['op']} ITT 0x{p['itt']:x}: CmdSN {p['cmdsn']} -> {q['cmdsn']}, {done} refused before")
    acked = sum(1 for s in injected if 0 < (p["expstatsn"] - s) % M < M // 2)
    if q["expstatsn"] != (p["expstatsn"] - acked) % M:
        bad.append(f"{p['op']} ITT 0x{p['itt']:x}: ExpStatSN {p['expstatsn']} -> {q['expstatsn']}, "
                   f"{acked} injected below")
# T2I: the StatSNs the initiator receives follow one another.
prev, statuses = None, 0
for p in ini:
    if p["dir"] != "t2i" or "statsn" not in p or p["op"] == "r2t":
        continue
    if p["op"] == "nop_in" and p["itt"] == 0xffffffff:
        continue
    if prev is not None and p["statsn"] != (prev + 1) % M:
        bad.append(f"initiator StatSN {p['statsn']} after {prev} ({p['op']} ITT 0x{p['itt']:x})")
    prev = p["statsn"]
    statuses += 1
for b in bad[:10]:
    print("FAIL:", b, file=sys.stderr)
if not bad:
    print(f"  capture: {len(ini)} PDUs on the initiator's leg, {len(tgt)} on the target's; "
          f"{len(refused)} refused; {statuses} contiguous StatSNs; CmdSN and ExpStatSN translated")
sys.exit(1 if bad else 0)
EOF
}

# check_image N IMAGE SEED : protected range unchanged, the rest as written.
check_image() {
    python3 - "$2" "$WORK/plan$1.json" "$SIZE" "$3" "$((PLBA * BS))" "$((PCOUNT * BS))" <<'EOF'
import json, random, sys
path, plan, size, seed, plo, plen = sys.argv[1], json.load(open(sys.argv[2])), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
want = bytearray(random.Random(seed).randbytes(size))
for off, ln, pat in plan["writes"]:
    want[off:off + ln] = bytes([pat]) * ln
got = open(path, "rb").read()
if len(got) != size:
    sys.exit(f"FAIL: {path}: {len(got)} bytes, expected {size}")
if got[plo:plo + plen] != want[plo:plo + plen]:
    sys.exit(f"FAIL: {path}: the protected range changed")
if got != want:
    first = next(i for i in range(size) if got[i] != want[i])
    sys.exit(f"FAIL: {path}: differs from what was written, first at byte {first}")
print(f"  {path}: protected range unchanged, {len(plan['writes'])} writes in place")
EOF
}

plan 1 11
plan 2 22
session 1 -f raw "iscsi://127.0.0.1:$RPORT/$IQN1/1"
session 2 --image-opts "driver=iscsi,transport=tcp,portal=127.0.0.1:$RPORT,target=$IQN2,lun=1,header-digest=crc32c"
check_image 1 "$WORK/lun1.img" 1000 || exit 1
check_image 2 "$WORK/lun2.img" 1001 || exit 1

# ---- the compliance suite, a range it does not write refused ------------------

cu_fails() { grep -E "^Suite [^,]+, Test \S+ had failures:" "$1" | sed 's/^Suite \([^,]*\), Test \(\S*\) .*/\1.\2/' | sort -u; }
refusals0=$(grep -c 'storm-relay: refused write ' "$RLOG")
: >"$WORK/cu-direct.fails"
: >"$WORK/cu-relay.fails"
ran_d=0
ran_r=0
for t in $CU_TESTS; do
    for side in direct relay; do
        if [ "$side" = direct ]; then url="iscsi://127.0.0.1:$TPORT/$IQN_CD/1"; else url="iscsi://127.0.0.1:$RPORT/$IQN_CR/1"; fi
        (cd "$WORK" && run_to 300 iscsi-test-cu -d -n -t "$t" "$url") >"$WORK/cu-$side.out" 2>&1
        grep -q "Run Summary" "$WORK/cu-$side.out" || { tail -n 20 "$WORK/cu-$side.out" >&2; fail "iscsi-test-cu $t ($side) did not finish"; }
        cu_fails "$WORK/cu-$side.out" >>"$WORK/cu-$side.fails"
        ran=$(awk '/^ +tests/ {print $3; exit}' "$WORK/cu-$side.out")
        if [ "$side" = direct ]; then ran_d=$((ran_d + ran)); else ran_r=$((ran_r + ran)); fi
    done
done
[ "$ran_d" -gt 0 ] && [ "$ran_d" -eq "$ran_r" ] || fail "iscsi-test-cu ran $ran_d tests directly, $ran_r through the relay"
only_relay=$(comm -13 <(sort -u "$WORK/cu-direct.fails") <(sort -u "$WORK/cu-relay.fails"))
only_direct=$(comm -23 <(sort -u "$WORK/cu-direct.fails") <(sort -u "$WORK/cu-relay.fails"))
echo "iscsi-test-cu ($CU_TESTS): $ran_r tests; failing directly: $(sort -u "$WORK/cu-direct.fails" | tr '\n' ' ')"
[ -z "$only_direct" ] || fail "fail only directly: $only_direct"
# Only WRITE SAME of the whole LUN (0 blocks) touches the protected range.
for t in $only_relay; do
    case "$t" in WriteSame10.ZeroBlocks | WriteSame16.ZeroBlocks) ;; *) fail "fails only through the relay: $t" ;; esac
done
cu_refusals=$(($(grep -c 'storm-relay: refused write ' "$RLOG") - refusals0))
if [ "$cu_refusals" -gt 0 ] && grep 'storm-relay: refused write ' "$RLOG" | tail -n "$cu_refusals" | grep -v ' lba 0 blocks 0 ' >&2; then
    fail "the relay refused writes of the suite that do not touch the protected range (above)"
fi
if [ -n "$only_relay" ] && [ "$cu_refusals" -eq 0 ]; then
    fail "fails only through the relay without a refusal: $only_relay"
fi
echo "  the suite wrote the whole LUN $cu_refusals times (refused: $(echo $only_relay))"
if grep 'storm-relay: cannot refuse ' "$RLOG" >&2; then
    fail "storm_conn_refuse failed (above)"
fi
if grep 'storm-relay: close ' "$RLOG" | grep -v -E '\((orderly|Connection reset by peer|Broken pipe)\)' >&2; then
    fail "connections through the relay ended in an unexpected error (above)"
fi

relay_stop
rc=$?
[ "$rc" -eq 0 ] || { tail -n 20 "$RLOG" >&2; fail "storm-relay exited $rc after SIGTERM"; }
if sanitizer_report "$RLOG"; then
    cat "$RLOG" >&2
    fail "sanitizer report from storm-relay"
fi
echo "refused writes answered DATA PROTECT, sessions healthy, images right; $(ms_since "$T0") ms"

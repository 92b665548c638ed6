#!/usr/bin/env bash
# storm-monitor --deny-write: writes to a protected file are refused on the
# wire, and the session goes on.
#
#   An ext4 image (mkfs.ext4 -b 4096, debugfs -w) holds /protected/secret.bin
#   and /open/data.bin (128 KiB of known bytes each).  tgtd serves it;
#   storm-monitor --listen --upstream --image BEFORE.img --deny-write
#   '/protected/*' is the relay.  ONE qemu-io session (QEMU's libiscsi
#   client) writes into secret.bin's blocks (refused, three times, one of
#   them spanning both files), and 320 times into data.bin's blocks and into
#   free space, reading everything back — more commands than tgtd's CmdSN
#   window, so the relay's renumbering is exercised.
#
# Checks: qemu-io saw exactly the three refusals (DATA PROTECT) and every
# other command succeed in one session; the image afterwards holds
# secret.bin unchanged and every other write; storm-monitor printed three
# "denied" lines naming /protected/secret.bin and write lines for
# /open/data.bin, and exited 0 on SIGTERM.
#
# Exit: 0 pass, 1 fail, 77 skip (not root, missing tools).
. "$(dirname "$0")/lib.sh"

: "${STORM_MONITOR:=$STORM_BUILD_DIR/examples/monitor/storm-monitor}"
[ -x "$STORM_MONITOR" ] || skip "storm-monitor not found at $STORM_MONITOR"
require_root
require_cmd tgtd tgtadm qemu-io mkfs.ext4 debugfs python3 ss setsid timeout

IQN=iqn.2024-01.org.libstorm.test:monitor-deny
IMG=$WORK/lun.img
OUT=$WORK/monitor.jsonl
MLOG=$WORK/monitor.log
MPID=
_deny_cleanup() {
    [ -n "$MPID" ] && kill -9 "$MPID" 2>/dev/null
    MPID=
}
on_exit _deny_cleanup
watchdog_start "${STORM_WATCHDOG_SECS:-240}" 'kill -TERM $$'

head -c $((128 * 1024)) /dev/urandom >"$WORK/secret.src"
head -c $((128 * 1024)) /dev/urandom >"$WORK/data.src"
truncate -s 64M "$IMG" || fail "cannot create the image"
run_to 30 mkfs.ext4 -q -F -b 4096 "$IMG" >/dev/null 2>&1 || fail "mkfs.ext4 failed"
printf 'mkdir protected\nmkdir open\nwrite %s protected/secret.bin\nwrite %s open/data.bin\n' \
    "$WORK/secret.src" "$WORK/data.src" | run_to 30 debugfs -w -f - "$IMG" >/dev/null 2>&1 \
    || fail "debugfs -w failed"
cp --sparse=always "$IMG" "$WORK/BEFORE.img" || fail "cannot copy the image"
block_of() { debugfs -R "bmap $1 $2" "$IMG" 2>/dev/null | tr -dc 0-9; }
S0=$(block_of /protected/secret.bin 0); S31=$(block_of /protected/secret.bin 31)
D0=$(block_of /open/data.bin 0)
[ -n "$S0" ] && [ -n "$D0" ] && [ "$S31" -eq $((S0 + 31)) ] \
    || fail "unexpected layout: secret.bin at $S0..$S31, data.bin at $D0"
log "secret.bin at blocks $S0..$S31, data.bin at $D0.."

TPORT=$(free_port) || fail "no free port"
MPORT=$(free_port) || fail "no free port"
[ "$TPORT" != "$MPORT" ] || MPORT=$(free_port) || fail "no free port"
tgt_start "$TPORT"
tgt_add_target 1 "$IQN" "$IMG"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$STORM_MONITOR" --image "$WORK/BEFORE.img" \
    --listen "127.0.0.1:$MPORT" --upstream "127.0.0.1:$TPORT" --deny-write '/protected/*' \
    >"$OUT" 2>"$MLOG" </dev/null &
MPID=$!
listening() { grep -q "listening on 127.0.0.1:$MPORT" "$MLOG"; }
wait_until 10 listening || { cat "$MLOG" >&2; fail "storm-monitor did not listen"; }

# The plan: refusals into secret.bin (one spanning into data.bin if it
# follows), and 320 writes into data.bin and free space, each read back.
python3 - "$WORK" "$S0" "$D0" <<'EOF' || fail "cannot make the plan"
import json, random, sys
work, s0, d0 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(7)
B = 4096
cmds, writes = [], []
def refuse(off, ln):
    cmds.append(f"write -P 0x5a {off} {ln}")
refuse(s0 * B, B)
free = list(range(40 << 20, 60 << 20, 64 * 1024))
rnd.shuffle(free)
for i in range(320):
    if i == 100:
        refuse((s0 + 5) * B + 512, 2 * B)
    if i == 200:
        refuse((s0 + 30) * B, 8 * B)     # the end of secret.bin and what follows
    if i % 2:
        off, ln = (d0 + rnd.randrange(32)) * B, B
    else:
        off, ln = free.pop(), rnd.choice([B, 16 * B])
    pat = 1 + i % 250
    cmds.append(f"write -P {pat} {off} {ln}")
    writes.append((off, ln, pat))
# Read back each write that no later write overlaps.
for i, (off, ln, pat) in enumerate(writes):
    if not any(o < off + ln and off < o + l for o, l, _ in writes[i + 1:]):
        cmds.append(f"read -P {pat} {off} {ln}")
open(f"{work}/plan.cmds", "w").write("\n".join(cmds) + "\n")
json.dump({"writes": writes, "refused": 3}, open(f"{work}/plan.json", "w"))
EOF
args=()
while IFS= read -r c; do args+=(-c "$c"); done <"$WORK/plan.cmds"
log "qemu-io: ${#args[@]} arguments in one session"
run_to 180 qemu-io -f raw "iscsi://127.0.0.1:$MPORT/$IQN/1" "${args[@]}" >"$WORK/qemu.out" 2>"$WORK/qemu.err"
rc=$?
[ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || fail "qemu-io timed out"
kill -TERM "$MPID"
wait_until 15 eval '! kill -0 $MPID 2>/dev/null' || fail "storm-monitor did not exit on SIGTERM"
wait "$MPID"; mrc=$?; MPID=
cat "$MLOG" >&2
[ "$mrc" -eq 0 ] || fail "storm-monitor exited $mrc"
tgt_stop

python3 - "$WORK" "$IMG" "$S0" "$D0" <<'EOF' || fail "the session, the image or the report is not what it should be"
import json, re, sys
work, img, s0, d0 = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
B = 4096
out = open(f"{work}/qemu.out", errors="replace").read()
err = open(f"{work}/qemu.err", errors="replace").read()
plan = json.load(open(f"{work}/plan.json"))
bad = 0
wrote = len(re.findall(r"^wrote \d+/\d+ bytes", out, re.M))
refused = len(re.findall(r"^write failed: Permission denied$", out, re.M))
other = [l for l in (out + err).splitlines() if re.search(r"failed|verification|error", l, re.I)
         and not re.search(r"Permission denied$|DATA PROTECTION\(7\)", l)]
print(f"qemu-io: {wrote} writes, {refused} refused, {len(other)} other failures")
if wrote != len(plan["writes"]) or refused != plan["refused"] or other:
    print("FAIL: expected %d writes and %d refusals" % (len(plan["writes"]), plan["refused"]), other[:5])
    bad += 1
data = open(img, "rb").read()
secret = open(f"{work}/secret.src", "rb").read()
if data[s0 * B:s0 * B + len(secret)] != secret:
    print("FAIL: secret.bin changed on the target"); bad += 1
model = {}
for off, ln, pat in plan["writes"]:
    for b in range(off, off + ln, 512):
        model[b] = pat
wrong = [b for b, pat in model.items() if data[b:b + 512] != bytes([pat]) * 512]
if wrong:
    print(f"FAIL: {len(wrong)} sectors of the allowed writes did not land (first at {wrong[0]})"); bad += 1
lines = [json.loads(l) for l in open(f"{work}/monitor.jsonl")]
denied = [l for l in lines if l.get("denied")]
datalines = [l for l in lines if l["op"] == "write" and l.get("path") == "/open/data.bin" and not l.get("denied")]
print(f"storm-monitor: {len(denied)} denied lines, {len(datalines)} write lines of /open/data.bin")
if len(denied) != 3 or any(l["path"] != "/protected/secret.bin" or l["denied"] != "/protected/*" for l in denied):
    print("FAIL: denied lines", denied); bad += 1
if not datalines:
    print("FAIL: no write line for /open/data.bin"); bad += 1
sys.exit(1 if bad else 0)
EOF
echo "PASS: writes to /protected/* refused on the wire, the session went on, everything else landed"
exit 0

#!/usr/bin/env bash
# The iSCSI block source (storm_blocksrc_iscsi_*, libiscsi) against tgtd.
#
#   debugfs -w populates a 48 MiB ext4 image offline (1 KiB blocks: /a 1 MiB +
#   123 bytes, /dir/b 200 KiB, /dir/sub/c 5 KiB, /big 6 MiB of random bytes, a
#   symlink, a hard link, /many with 300 files); tgtd serves it as a read-only LUN (readonly=1) and
#   dumpcap records every byte on the target's port.  blocksrc_iscsi_check
#   (tests/integration/blocksrc_iscsi_check.c) then:
#
#   read       reads the whole LUN in odd-sized, unaligned pieces (1, 511, 513,
#              … bytes, random ones up to 300 KiB, 3 MiB ones split into 1 MiB
#              READ(16)s) and 300 random ones: byte for byte the image; reads
#              past the end fail with -EIO
#   view       builds the ext4 view through the LUN and from the image: every
#              block's owner and every inode's path agree, and five paths are
#              those debugfs gives
#   reconnect  reads half the LUN, the script drops the session (tgtadm delete
#              connection), the other half is read through a new login
#   open-fail  wrong target IQN (-ENXIO), missing LUN (-ENXIO), closed port on
#              127.0.0.1 and [::1] (-ECONNREFUSED), malformed URLs (-EINVAL):
#              each within 5 s; a listener that never answers the login:
#              -ETIMEDOUT after the 15 s login bound, well under 30 s
#   scsi-error a second LUN whose backing file is cut short after tgtd opened
#              it: reading the missing tail gives -EIO and the sense text
#
# No write: in the capture, every SCSI command is TEST UNIT READY, INQUIRY,
# READ CAPACITY(16) or READ(16), none has the W bit, no Data-Out PDU was sent
# (tshark as the reference dissector); the read-only LUN never failed a
# command; the image is unchanged (cmp with a copy).
#
# Exit: 0 pass, 1 fail, 77 skip (not root, missing tools or the helper).
. "$(dirname "$0")/lib.sh"

: "${STORM_BLOCKSRC_ISCSI_CHECK:=$STORM_BUILD_DIR/tests/blocksrc_iscsi_check}"
CHECK=$STORM_BLOCKSRC_ISCSI_CHECK
[ -x "$CHECK" ] || skip "blocksrc_iscsi_check not found at $CHECK (build the tests or set STORM_BLOCKSRC_ISCSI_CHECK)"
require_root
require_cmd tgtd tgtadm dumpcap tshark mkfs.ext4 debugfs e2fsck python3 ss timeout setsid truncate cmp

IQN=iqn.2024-01.storm.test:blocksrc
IMG=$WORK/lun.img
BEFORE=$WORK/BEFORE.img
CAP=$WORK/cap.pcap
T0=$(now_s)
# ASan: report leaks at exit (the sanitizer build).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

# -------------------------------------------------------------- the image --
mkdir -p "$WORK/src"
random_files "$WORK/src" 0x6273726331 a:$(((1 << 20) + 123)) b:$((200 << 10)) c:$((5 << 10)) big:$((6 << 20))
mkfs_ext4 "$IMG" 48M 1024
cat >"$WORK/debugfs.cmd" <<EOF
write $WORK/src/a a
write $WORK/src/big big
mkdir dir
cd dir
write $WORK/src/b b
mkdir sub
cd sub
write $WORK/src/c c
cd /
symlink link /dir/sub/c
ln /dir/b /b-link
sif /dir/b links_count 2
sif /dir/b uid 1234
mkdir many
EOF
for i in $(seq 1 300); do echo "write $WORK/src/c many/file-$i"; done >>"$WORK/debugfs.cmd"
run_to 60 debugfs -w -f "$WORK/debugfs.cmd" "$IMG" >"$WORK/debugfs.log" 2>&1 || fail "debugfs -w failed"
run_to 60 e2fsck -fn "$IMG" >"$WORK/e2fsck.log" 2>&1 || fail "the populated image is not clean (see e2fsck.log)"
cp "$IMG" "$BEFORE" || fail "cannot copy the image"

PATHS=()
for p in /a /big /dir/sub/c /link /many/file-300; do
    ino=$(debugfs -R "stat $p" "$IMG" 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p')
    [ -n "$ino" ] || fail "debugfs does not know $p"
    PATHS+=("$ino=$p")
done

# ------------------------------------------------- tgtd, read-only LUN --
TPORT=$(free_port) || fail "no free port"
tgt_start "$TPORT"
tgt_add_target 1 "$IQN" "$IMG"
tgt_lun_params 1 readonly=1
URL=iscsi://127.0.0.1:$TPORT/$IQN/1
cap_start lo "tcp port $TPORT" "$CAP"

run_to 120 "$CHECK" read "$URL" "$IMG" || fail "read check"
run_to 120 "$CHECK" view "$URL" "$IMG" "${PATHS[@]}" || fail "view check"

# --------------------------------------- a dropped session, one re-login --
rm -f "$WORK/half" "$WORK/go"
"$CHECK" reconnect "$URL" "$IMG" "$WORK/half" "$WORK/go" >"$WORK/reconnect.out" 2>&1 &
RPID=$!
wait_until 60 test -e "$WORK/half" || { cat "$WORK/reconnect.out" >&2; fail "reconnect: the first half was not read"; }
sid=$(tgt_adm --lld iscsi --mode conn --op show --tid 1 | awk '/Session:/ {print $2; exit}')
[ -n "$sid" ] || fail "reconnect: tgtd shows no session"
log "dropping session $sid"
tgt_adm --lld iscsi --mode conn --op delete --tid 1 --sid "$sid" --cid 0 || fail "tgtadm cannot drop session $sid"
touch "$WORK/go"
wait_bounded "$RPID" 120; rc=$?
cat "$WORK/reconnect.out" >&2
[ "$rc" -eq 0 ] || fail "reconnect check (exit $rc)"
cap_stop

# ------------------------------------------------ no write on the wire --
TSHARK=(tshark -r "$CAP" -d "tcp.port==$TPORT,iscsi" -o iscsi.bogus_pdu_max_data_len:16777216)
"${TSHARK[@]}" -Y 'iscsi.opcode == 0x01' -T fields -E occurrence=a -E aggregator=' ' \
    -e iscsi.scsicommand.W -e scsi_sbc.opcode -e iscsi.scsicommand.expecteddatatransferlength \
    >"$WORK/commands.txt" 2>"$WORK/tshark.log" || fail "tshark failed"
"${TSHARK[@]}" -Y 'iscsi.opcode == 0x21' -T fields -E occurrence=a -E aggregator=' ' \
    -e iscsi.scsiresponse.status -e scsi.sns.key >"$WORK/responses.txt" 2>>"$WORK/tshark.log" \
    || fail "tshark failed"
dataout=$("${TSHARK[@]}" -Y 'iscsi.opcode == 0x05' 2>/dev/null | wc -l)
python3 - "$WORK/commands.txt" "$WORK/responses.txt" "$dataout" <<'PY' || fail "the capture shows more than reads"
import collections, sys
names = {0x00: "TEST UNIT READY", 0x12: "INQUIRY", 0x88: "READ(16)", 0x9e: "READ CAPACITY(16)"}
seen, bad, longest = collections.Counter(), [], 0
for line in open(sys.argv[1]):
    cols = line.rstrip("\n").split("\t")
    for w in cols[0].split():
        if w not in ("0", "False"):
            bad.append("a command with the W bit")
    for op, length in zip(cols[1].split(), cols[2].split()):
        op = int(op, 0)
        seen[op] += 1
        if op not in names:
            bad.append("opcode 0x%02x" % op)
        if op == 0x88:
            longest = max(longest, int(length))
failed, attentions = 0, 0
for line in open(sys.argv[2]):
    cols = line.rstrip("\n").split("\t") + [""]
    for status, key in zip(cols[0].split(), cols[1].split() + [""] * 9):
        if int(status, 0) != 0:
            failed += 1
            attentions += key != "" and int(key, 0) == 6
print("capture: " + ", ".join("%s x%d" % (names.get(op, hex(op)), n) for op, n in sorted(seen.items())),
      "; longest READ(16): %d bytes; Data-Out PDUs: %s; non-GOOD responses: %d (UNIT ATTENTION: %d)"
      % (longest, sys.argv[3], failed, attentions), file=sys.stderr)
if seen[0x88] < 100:
    bad.append("only %d READ(16) seen: the capture missed the reads" % seen[0x88])
# tgtd sets no MAXIMUM TRANSFER LENGTH: the 3 MiB reads go as 1 MiB READ(16)s.
if longest != 1 << 20:
    bad.append("longest READ(16) %d bytes, expected 1 MiB" % longest)
if int(sys.argv[3]):
    bad.append("%s Data-Out PDUs" % sys.argv[3])
# A read-only LUN answers any write with CHECK CONDITION (DATA PROTECT); the
# only ones allowed are the UNIT ATTENTIONs that follow each login.
if failed != attentions:
    bad.append("%d responses other than GOOD or UNIT ATTENTION" % (failed - attentions))
if bad:
    print("FAIL: " + "; ".join(sorted(set(bad))), file=sys.stderr)
    sys.exit(1)
PY

# ------------------------------------------ errors, quickly and bounded --
CPORT=$(free_port) || fail "no free port"
run_to 30 "$CHECK" open-fail "iscsi://127.0.0.1:$TPORT/iqn.2024-01.storm.test:nope/1" ENXIO 5000 \
    || fail "wrong target IQN"
run_to 30 "$CHECK" open-fail "iscsi://127.0.0.1:$TPORT/$IQN/7" ENXIO 5000 || fail "missing LUN"
run_to 30 "$CHECK" open-fail "iscsi://127.0.0.1:$CPORT/$IQN/1" ECONNREFUSED 5000 || fail "closed port"
if ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1'; then
    run_to 30 "$CHECK" open-fail "iscsi://[::1]:$CPORT/$IQN/1" ECONNREFUSED 5000 || fail "closed port, IPv6"
else
    log "no ::1 on lo: IPv6 URL not tried"
fi
run_to 30 "$CHECK" open-fail "iscsi://127.0.0.1:$TPORT/$IQN" EINVAL 5000 || fail "URL without a LUN"
run_to 30 "$CHECK" open-fail "http://127.0.0.1:$TPORT/$IQN/1" EINVAL 5000 || fail "URL of another scheme"
run_to 30 "$CHECK" open-fail "iscsi://[::1:$CPORT/$IQN/1" EINVAL 5000 || fail "IPv6 address without ']'"

# A listener that accepts and never answers: the login must give up.
SPORT=$(free_port) || fail "no free port"
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
conns = []
while True:
    conns.append(s.accept())' "$SPORT" >"$WORK/silent.log" 2>&1 &
SILENT=$!
on_exit "kill $SILENT 2>/dev/null; wait $SILENT 2>/dev/null"
wait_until 10 _port_listening "$SPORT" || fail "the silent listener did not start"
run_to 40 "$CHECK" open-fail "iscsi://127.0.0.1:$SPORT/$IQN/1" ETIMEDOUT 20000 || fail "silent target"

# ------------------------------------------------------- a SCSI error --
cp "$BEFORE" "$WORK/short.img"
tgt_add_target 2 "$IQN-short" "$WORK/short.img"
truncate -s 24M "$WORK/short.img"
run_to 30 "$CHECK" scsi-error "iscsi://127.0.0.1:$TPORT/$IQN-short/1" || fail "SCSI error check"

cmp "$IMG" "$BEFORE" || fail "the LUN's image changed"
log "PASS: test_blocksrc_iscsi in $(ms_since "$T0") ms"

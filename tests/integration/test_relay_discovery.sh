#!/bin/bash
# SendTargets through storm-relay --rewrite-discovery.
#
# tgtd answers discovery with its own address; through the relay the answer
# must name the relay instead (portal group tag kept), so libiscsi's iscsi-ls
# logs in to the LUN through the relay: the relay must see the discovery
# connection and then the login connections, one per target (one of them
# insists on header digests for its normal sessions).  Without the option the
# target's own address must come back unchanged.
#
# Then discovery with digests.  tgtd always answers HeaderDigest=None on a
# discovery session (its discovery sessions keep the default parameters),
# whatever the initiator offers, so this pass uses istgt as the target, which
# accepts HeaderDigest=CRC32C and DataDigest=CRC32C on discovery.  libiscsi
# never offers data digests (and its iscsi-ls hangs at istgt's discovery
# logout), so the discovery client is the small one below: it negotiates both
# digests, checks every PDU it receives after login against CRC32C (a wrong
# digest fails it, as it would a real initiator) and sends correct ones
# (istgt checks those).  The relay listens on 127.0.0.10 while istgt is on
# 127.0.0.1: the rewritten TargetAddress is one byte longer, so the relay must
# redo DataSegmentLength, padding, the header digest and the data digest.
#   - the listing succeeds with both digests on and names only the relay
#     (127.0.0.10:RPORT,1); istgt logs both discoveries (direct, through the
#     relay) with HeaderDigest=on, DataDigest=on;
#   - iscsi-inq logs in through the rewritten portal to the target, which
#     requires header digests (istgt UseDigest Header); istgt logs it with
#     HeaderDigest=on.
#
# Exit: 0 checked and right, 1 failure, 77 prerequisite missing (also when
# istgt is not installed: the digest pass then did not run).

. "$(dirname "$0")/lib.sh"

require_root
require_cmd tgtd tgtadm iscsi-ls ss setsid timeout truncate
RELAY=${STORM_RELAY:-${STORM_BUILD_DIR:-$STORM_SOURCE_DIR/build}/tools/storm-relay}
[ -x "$RELAY" ] || skip "storm-relay not built at $RELAY"

TPORT=$(free_port) || fail "no free port"
truncate -s 16M "$WORK/a.img" "$WORK/b.img" || fail "cannot create images"
tgt_start "$TPORT"
tgt_add_target 1 iqn.2024-01.org.libstorm.test:plain "$WORK/a.img"
tgt_add_target 2 iqn.2024-01.org.libstorm.test:digest "$WORK/b.img" HeaderDigest=CRC32C

RELAY_PID=
stop_relay() {
    [ -n "$RELAY_PID" ] || return 0
    kill -TERM "$RELAY_PID" 2>/dev/null
    local rc=0
    wait "$RELAY_PID" || rc=$?
    RELAY_PID=
    return $rc
}
on_exit stop_relay

# $1: extra relay options.  Starts the relay on a fresh port, sets RPORT.
start_relay() {
    RPORT=$(free_port) || fail "no free port"
    RLOG=$WORK/relay-$RPORT.log
    setsid "$RELAY" -l "127.0.0.1:$RPORT" -u "127.0.0.1:$TPORT" "$@" >"$RLOG" 2>&1 </dev/null &
    RELAY_PID=$!
    wait_until 10 _port_listening "$RPORT" || { cat "$RLOG" >&2; fail "relay did not listen"; }
}

start_relay --rewrite-discovery
out=$(run_to 20 iscsi-ls -s "iscsi://127.0.0.1:$RPORT") || { echo "$out" >&2; fail "iscsi-ls through the relay failed"; }
echo "$out"
for t in plain digest; do
    grep -q "Target:iqn.2024-01.org.libstorm.test:$t Portal:127.0.0.1:$RPORT,1" <<<"$out" ||
        fail "the $t target is not advertised at the relay's address"
    grep -q "DIRECT_ACCESS" <<<"$out" || fail "no LUN listed"
done
grep -q "127.0.0.1:$TPORT" <<<"$out" && fail "the target's own address leaked through the relay"
stop_relay || fail "relay did not exit 0 on SIGTERM"
opens=$(grep -c ' open ' "$RLOG")
# One discovery connection, then one login per target.
[ "$opens" -ge 3 ] || { cat "$RLOG" >&2; fail "expected ≥ 3 connections through the relay, saw $opens"; }
if grep -E ' close .*\((.*)\)' "$RLOG" | grep -v '(orderly)' >&2; then
    fail "a connection through the relay ended in an error"
fi

start_relay
out=$(run_to 20 iscsi-ls -s "iscsi://127.0.0.1:$RPORT") || fail "iscsi-ls through the plain relay failed"
grep -q "Portal:127.0.0.1:$TPORT,1" <<<"$out" || fail "without rewriting, the target's address must pass unchanged"
stop_relay || fail "relay did not exit 0 on SIGTERM"
echo "discovery: rewritten for 2 targets, $opens connections through the relay; unchanged without the option"

# ------------------------------------------------ discovery with digests --

command -v istgt >/dev/null 2>&1 ||
    skip "istgt not installed (tools/install-deps.sh): the discovery-with-digests pass did not run"
tgt_stop
ISTGT_PID=
stop_istgt() {
    [ -n "$ISTGT_PID" ] || return 0
    kill -TERM "$ISTGT_PID" 2>/dev/null
    _wait_pid "$ISTGT_PID" 10 || kill -9 "$ISTGT_PID" 2>/dev/null
    wait "$ISTGT_PID" 2>/dev/null
    ISTGT_PID=
}
on_exit stop_istgt
IPORT=$(free_port) || fail "no free port"
UPORT=$(free_port) || fail "no free port"
IIQN=iqn.2024-01.org.libstorm.test:istgt
truncate -s 16M "$WORK/c.img" || fail "cannot create an image"
: >"$WORK/auth.conf"
cat >"$WORK/istgt.conf" <<EOF
[Global]
  NodeBase "iqn.2024-01.org.libstorm.test"
  PidFile $WORK/istgt.pid
  AuthFile $WORK/auth.conf
  MediaDirectory $WORK
  DiscoveryAuthMethod None
  Timeout 30
  NopInInterval 20
[UnitControl]
  AuthMethod None
  Portal UC1 127.0.0.1:$UPORT
  Netmask 127.0.0.1
[PortalGroup1]
  Portal DA1 127.0.0.1:$IPORT
[InitiatorGroup1]
  InitiatorName "ALL"
  Netmask 127.0.0.0/8
[LogicalUnit1]
  TargetName istgt
  Mapping PortalGroup1 InitiatorGroup1
  AuthMethod None
  UseDigest Header
  UnitType Disk
  LUN0 Storage $WORK/c.img 16MB
EOF
ILOG=$WORK/istgt.log
setsid istgt -c "$WORK/istgt.conf" -D -p "$WORK/istgt.pid" >"$ILOG" 2>&1 </dev/null &
ISTGT_PID=$!
wait_until 10 _port_listening "$IPORT" || { cat "$ILOG" >&2; fail "istgt did not listen on 127.0.0.1:$IPORT"; }

RPORT=$(free_port) || fail "no free port"
RLOG=$WORK/relay-digest.log
setsid "$RELAY" -l "127.0.0.10:$RPORT" -u "127.0.0.1:$IPORT" --rewrite-discovery >"$RLOG" 2>&1 </dev/null &
RELAY_PID=$!
wait_until 10 _port_listening "$RPORT" || { cat "$RLOG" >&2; fail "relay did not listen on 127.0.0.10:$RPORT"; }

discover() {
    run_to 20 python3 - "$1" "$2" <<'PYEOF'
# SendTargets=All on a discovery session that negotiates HeaderDigest=CRC32C
# and DataDigest=CRC32C; every PDU received after login must carry digests
# that verify (a wrong one is an error, as for a real initiator).  Prints
# the negotiated digests and the SendTargets text, one key=value a line.
import socket, struct, sys

host, port = sys.argv[1], int(sys.argv[2])
T = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    T.append(c)
def crc32c(b):
    c = 0xFFFFFFFF
    for x in b:
        c = T[(c ^ x) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF
assert crc32c(b"123456789") == 0xE3069283
dig = lambda b: struct.pack("<I", crc32c(b))

s = socket.create_connection((host, port), timeout=10)
def recvn(n):
    b = b""
    while len(b) < n:
        x = s.recv(n - len(b))
        if not x:
            sys.exit("FAIL: connection closed by the peer")
        b += x
    return b
hd = dd = False
def pad(d): return d + b"\0" * (-len(d) % 4)
def send(bhs, data=b""):
    bhs = bytearray(bhs)
    bhs[5:8] = len(data).to_bytes(3, "big")
    out = bytes(bhs) + (dig(bytes(bhs)) if hd else b"")
    if data:
        out += pad(data) + (dig(pad(data)) if dd else b"")
    s.sendall(out)
def recv():
    bhs = recvn(48)
    if hd:
        d = recvn(4)
        if d != dig(bhs):
            sys.exit("FAIL: header digest %s, computed %s (opcode 0x%02x)" % (d.hex(), dig(bhs).hex(), bhs[0] & 0x3f))
    n = int.from_bytes(bhs[5:8], "big")
    data = recvn(n + (-n % 4)) if n else b""
    if n and dd:
        d = recvn(4)
        if d != dig(data):
            sys.exit("FAIL: data digest %s, computed %s (opcode 0x%02x)" % (d.hex(), dig(data).hex(), bhs[0] & 0x3f))
    if n and any(data[n:]):
        sys.exit("FAIL: non-zero padding")
    return bhs, data[:n]
def kv(data): return [x.decode() for x in data.split(b"\0") if x]

isid = bytes([0x80, 0x12, 0x34, 0x56, 0x00, 0x00])
cmdsn, statsn, itt = 1, 0, 1
def login(csg, nsg, keys):
    global statsn
    b = bytearray(48)
    b[0] = 0x43; b[1] = 0x80 | (csg << 2) | nsg
    b[8:14] = isid; b[16:20] = itt.to_bytes(4, "big")
    b[24:28] = cmdsn.to_bytes(4, "big"); b[28:32] = statsn.to_bytes(4, "big")
    send(b, "\0".join(keys).encode() + b"\0")
    r, data = recv()
    if r[0] & 0x3f != 0x23 or r[36] != 0:
        sys.exit("FAIL: login: opcode 0x%02x status %d/%d %s" % (r[0], r[36], r[37], kv(data)))
    statsn = int.from_bytes(r[24:28], "big") + 1
    return r, dict(k.split("=", 1) for k in kv(data))
login(0, 1, ["InitiatorName=iqn.2024-01.org.libstorm.test:digest-client", "SessionType=Discovery", "AuthMethod=None"])
r, keys = login(1, 3, ["HeaderDigest=CRC32C", "DataDigest=CRC32C", "MaxRecvDataSegmentLength=262144"])
if not r[1] & 0x80 or r[1] & 3 != 3:
    sys.exit("FAIL: the target did not move to full feature phase")
print("negotiated HeaderDigest=%s DataDigest=%s" % (keys.get("HeaderDigest"), keys.get("DataDigest")))
hd, dd = keys.get("HeaderDigest") == "CRC32C", keys.get("DataDigest") == "CRC32C"

text, ttt, data = b"", 0xFFFFFFFF, b"SendTargets=All\0"
while True:
    itt += 1
    b = bytearray(48)
    b[0] = 0x44; b[1] = 0x80
    b[16:20] = itt.to_bytes(4, "big"); b[20:24] = ttt.to_bytes(4, "big")
    b[24:28] = cmdsn.to_bytes(4, "big"); b[28:32] = statsn.to_bytes(4, "big")
    send(b, data)
    cmdsn += 1
    r, d = recv()
    if r[0] & 0x3f != 0x24:
        sys.exit("FAIL: expected a Text Response, got opcode 0x%02x" % r[0])
    statsn = int.from_bytes(r[24:28], "big") + 1
    text += d
    if r[1] & 0x80:
        break
    ttt, data = int.from_bytes(r[20:24], "big"), b""
for k in kv(text):
    print(k)
itt += 1
b = bytearray(48)
b[0] = 0x46; b[1] = 0x80
b[16:20] = itt.to_bytes(4, "big")
b[24:28] = cmdsn.to_bytes(4, "big"); b[28:32] = statsn.to_bytes(4, "big")
send(b)
r, _ = recv()
if r[0] & 0x3f != 0x26 or r[2] != 0:
    sys.exit("FAIL: logout: opcode 0x%02x response %d" % (r[0], r[2]))
print("logout ok")
PYEOF
}

# Directly first: the client and istgt agree on digests.
out=$(discover 127.0.0.1 "$IPORT") || { echo "$out" >&2; fail "discovery with digests straight to istgt failed"; }
grep -qx "TargetAddress=127.0.0.1:$IPORT,1" <<<"$out" || { echo "$out" >&2; fail "istgt did not advertise 127.0.0.1:$IPORT,1"; }
# Through the relay.
out=$(discover 127.0.0.10 "$RPORT") || { echo "$out" >&2; cat "$RLOG" >&2; fail "discovery with digests through the relay failed"; }
echo "$out"
grep -qx "negotiated HeaderDigest=CRC32C DataDigest=CRC32C" <<<"$out" || fail "digests not negotiated through the relay"
grep -qx "TargetName=$IIQN" <<<"$out" || fail "the istgt target is not listed"
grep -qx "TargetAddress=127.0.0.10:$RPORT,1" <<<"$out" || fail "TargetAddress is not the relay's (127.0.0.10:$RPORT,1)"
[ "$(grep -c '^TargetAddress=' <<<"$out")" -eq 1 ] || fail "more than one TargetAddress"
grep -qx "logout ok" <<<"$out" || fail "no logout"
n=$(grep -c "Login(discovery) from iqn.2024-01.org.libstorm.test:digest-client .*HeaderDigest=on, DataDigest=on" "$ILOG")
[ "$n" -eq 2 ] || { cat "$ILOG" >&2; fail "istgt logged $n discovery logins with both digests on, expected 2"; }
# A login through the rewritten portal, to a target that insists on digests.
out=$(run_to 20 iscsi-inq "iscsi://127.0.0.10:$RPORT/$IIQN/0") || { echo "$out" >&2; fail "iscsi-inq through the rewritten portal failed"; }
grep -q "DIRECT_ACCESS" <<<"$out" || { echo "$out" >&2; fail "iscsi-inq printed no inquiry data"; }
grep -q "Login from .*iscsi-inq .*HeaderDigest=on" "$ILOG" || { cat "$ILOG" >&2; fail "istgt did not log the iscsi-inq login with header digests"; }
stop_relay || fail "relay did not exit 0 on SIGTERM"
dopens=$(grep -c ' open ' "$RLOG")
[ "$dopens" -eq 2 ] || { cat "$RLOG" >&2; fail "expected 2 connections through the relay (discovery, iscsi-inq), saw $dopens"; }
if grep -E ' close ' "$RLOG" | grep -v '(orderly)' >&2; then
    fail "a connection through the relay ended in an error"
fi
stop_istgt
echo "discovery with HeaderDigest=CRC32C and DataDigest=CRC32C: TargetAddress rewritten to 127.0.0.10:$RPORT, digests verified; iscsi-inq through it with digests"

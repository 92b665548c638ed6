#!/bin/bash
# A peer that vanishes without a word (its host crashed or lost its network:
# no FIN, no reset) must not hold a relayed connection, nor the target's
# session behind it, for good.
#
# Everything runs inside a network namespace the test makes (its own
# loopback, its own iptables): a stand-in target (python, accepts and waits
# for the end of the connection), storm-relay --keepalive 1,1,2 in front of
# it, and a client that connects through the relay.  Then every packet to the
# client's port is dropped (iptables INPUT DROP inside the namespace): to the
# relay the client is gone.  The relay must close the target's side within
# idle + interval x count (3 s) plus a margin, and log "Connection timed out";
# with --keepalive 0 (the control) the target's side must still be open after
# the same time.  --login-timeout 0 in both, so only keepalive can end it.
#
# Exit: 0 checked and right, 1 failure, 77 prerequisite missing.
. "$(dirname "$0")/lib.sh"
require_root
require_cmd ip iptables python3 timeout setsid
RELAY=${STORM_RELAY:-${STORM_BUILD_DIR:-$STORM_SOURCE_DIR/build}/tools/storm-relay}
[ -x "$RELAY" ] || skip "storm-relay not built at $RELAY"

NS=storm-ka-$$
ip netns add "$NS" 2>/dev/null || skip "cannot create a network namespace"
_ka_cleanup() {
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$NS" 2>/dev/null
}
on_exit _ka_cleanup
ip -n "$NS" link set lo up || fail "cannot bring up the namespace's loopback"
ip netns exec "$NS" iptables -L INPUT >/dev/null 2>&1 || skip "iptables does not work in a namespace here"

cat >"$WORK/target.py" <<'PY'
# target.py PORT: accepts one connection, prints "open", then "closed MS"
# when it ends (EOF or reset), MS after the file "$2" appears.
import os, socket, sys, time
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(1)
c, _ = srv.accept()
print("open", flush=True)
try:
    while c.recv(4096):
        pass
except OSError:
    pass
t = os.stat(sys.argv[2]).st_mtime if os.path.exists(sys.argv[2]) else time.time()
print("closed %d" % ((time.time() - t) * 1000), flush=True)
PY
cat >"$WORK/client.py" <<'PY'
# client.py PORT: connects, prints its own port, then waits silently.
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print(s.getsockname()[1], flush=True)
time.sleep(60)
PY

# run KEEPALIVE : one round; sets CLOSED_MS (empty if still open after 6 s).
run() {
    local ka=$1 tport=$((20000 + RANDOM % 10000)) rport cport i
    rport=$((tport + 1))
    local tag=$WORK/ka-$ka dropped=$WORK/dropped-$ka
    rm -f "$dropped"
    ip netns exec "$NS" python3 "$WORK/target.py" "$tport" "$dropped" >"$tag.target" 2>&1 &
    local tpid=$!
    sleep 0.3
    ip netns exec "$NS" setsid "$RELAY" -l "127.0.0.1:$rport" -u "127.0.0.1:$tport" \
        --keepalive "$ka" --login-timeout 0 >"$tag.relay" 2>&1 </dev/null &
    local rpid=$!
    for ((i = 0; i < 50; i++)); do grep -q listening "$tag.relay" && break; sleep 0.1; done
    ip netns exec "$NS" python3 "$WORK/client.py" "$rport" >"$tag.client" 2>&1 &
    local cpid=$!
    for ((i = 0; i < 50; i++)); do grep -q open "$tag.target" && [ -s "$tag.client" ] && break; sleep 0.1; done
    grep -q open "$tag.target" || fail "keepalive $ka: the relay did not connect to the target"
    cport=$(head -n 1 "$tag.client")
    ip netns exec "$NS" iptables -A INPUT -p tcp --dport "$cport" -j DROP || fail "iptables DROP failed"
    touch "$dropped"
    log "keepalive $ka: client port $cport dropped from now on"
    for ((i = 0; i < 60; i++)); do grep -q closed "$tag.target" && break; sleep 0.1; done
    CLOSED_MS=$(sed -n 's/^closed //p' "$tag.target")
    ip netns exec "$NS" iptables -D INPUT -p tcp --dport "$cport" -j DROP
    { kill -9 "$cpid" "$tpid"; wait "$cpid" "$tpid"; } 2>/dev/null
    kill -TERM "$rpid" 2>/dev/null
    wait "$rpid"
    local rc=$?
    [ "$rc" -eq 0 ] || { cat "$tag.relay" >&2; fail "keepalive $ka: storm-relay exited $rc"; }
    if sanitizer_report "$tag.relay"; then cat "$tag.relay" >&2; fail "sanitizer report"; fi
    RLOG=$tag.relay
}

run 1,1,2
[ -n "$CLOSED_MS" ] || { cat "$RLOG" >&2; fail "with keepalive 1,1,2 the target's side was still open 6 s after the client vanished"; }
grep -q "Connection timed out" "$RLOG" || { cat "$RLOG" >&2; fail "the relay's log does not say the connection timed out"; }
[ "$CLOSED_MS" -ge 2000 ] && [ "$CLOSED_MS" -le 5500 ] \
    || fail "closed $CLOSED_MS ms after the drop, expected about 3000 (idle 1 + 2 probes x 1 s)"
log "keepalive 1,1,2: the target's side closed $CLOSED_MS ms after the client vanished"

run 0
[ -z "$CLOSED_MS" ] || fail "with keepalive off the target's side closed after $CLOSED_MS ms: something else ended it"
log "keepalive 0 (control): the target's side still open 6 s after the client vanished"
echo "PASS"
exit 0

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
# Exit: 0 checked and right, 1 failure, 77 prerequisite missing.

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

#!/bin/bash
# libiscsi's compliance suite through storm-relay, compared with a direct run.
#
# tgtd serves two targets, each with its own fresh 64 MiB scratch LUN (thin
# provisioned, so UNMAP and WRITE SAME with UNMAP are exercised).  The whole
# suite (iscsi-test-cu -d -n, ALL tests) runs once straight against the first
# target and once through `storm-relay --touch --events FILE` against the
# second: a hook that reads every data byte, and the JSON Lines writer.
# tgtd fails a fixed set of tests by itself; the relay must not change that
# set: the SETS of failing tests (CUnit's "Suite S, Test T had failures")
# must be equal, and so must the number of tests run (which must not be 0).
# The relay must survive the suite, write events (writes among them), log no
# connection that ended in an error other than a reset that the suite itself
# provokes, and exit 0 on SIGTERM.
#
# STORM_CU_TESTS=FAMILY[.SUITE[.TEST]] runs a subset instead of ALL.
# Prints both failing sets and the timings (direct vs through the relay).
#
# Exit: 0 checked and equal, 1 failure, 77 prerequisite missing.

. "$(dirname "$0")/lib.sh"

require_root
require_cmd tgtd tgtadm iscsi-test-cu ss setsid timeout truncate python3
RELAY=${STORM_RELAY:-$STORM_BUILD_DIR/tools/storm-relay}
[ -x "$RELAY" ] || skip "storm-relay not built at $RELAY (set STORM_RELAY or build tools)"

TESTS=${STORM_CU_TESTS:-ALL}
TPORT=$(free_port) || fail "no free port"
RPORT=$(free_port) || fail "no free port"
[ "$TPORT" != "$RPORT" ] || RPORT=$(free_port) || fail "no free port"
IQN_D=iqn.2024-01.org.libstorm.test:cu-direct
IQN_R=iqn.2024-01.org.libstorm.test:cu-relay
EVENTS=$WORK/events.jsonl
RLOG=$WORK/relay.log

truncate -s 64M "$WORK/direct.img" "$WORK/relay.img" || fail "cannot create the LUN images"
tgt_start "$TPORT"
tgt_add_target 1 "$IQN_D" "$WORK/direct.img"
tgt_lun_params 1 thin_provisioning=1
tgt_add_target 2 "$IQN_R" "$WORK/relay.img"
tgt_lun_params 2 thin_provisioning=1

RELAY_PID=
stop_relay_hard() {
    [ -n "$RELAY_PID" ] || return 0
    kill -KILL "$RELAY_PID" 2>/dev/null
    wait "$RELAY_PID" 2>/dev/null
    RELAY_PID=
}
on_exit stop_relay_hard

log "starting $RELAY on 127.0.0.1:$RPORT -> 127.0.0.1:$TPORT"
setsid "$RELAY" -l "127.0.0.1:$RPORT" -u "127.0.0.1:$TPORT" --touch --events "$EVENTS" \
    >"$WORK/relay.stdout" 2>"$RLOG" </dev/null &
RELAY_PID=$!
wait_until 10 _port_listening "$RPORT" || { cat "$RLOG" >&2; fail "storm-relay did not listen on $RPORT"; }

now() { date +%s.%N; }

# run_cu NAME URL : runs the suite, output in $WORK/NAME.out, seconds in $WORK/NAME.time.
run_cu() {
    local name=$1 url=$2 t0 t1 rc
    t0=$(now)
    # The suite's exit status says whether some test failed: expected here.
    # -x would write its XML into the working directory; -n's text is enough.
    (cd "$WORK" && run_to 600 iscsi-test-cu -d -n -t "$TESTS" "$url") >"$WORK/$name.out" 2>&1
    rc=$?
    t1=$(now)
    python3 -c "print(f'{$t1 - $t0:.1f}')" >"$WORK/$name.time"
    [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && fail "iscsi-test-cu ($name) timed out"
    grep -q "Run Summary" "$WORK/$name.out" || { tail -n 30 "$WORK/$name.out" >&2; fail "iscsi-test-cu ($name) did not finish (exit $rc)"; }
    return 0
}

run_cu direct "iscsi://127.0.0.1:$TPORT/$IQN_D/1"
run_cu relay "iscsi://127.0.0.1:$RPORT/$IQN_R/1"

# The relay survived the suite, and stops cleanly.
kill -0 "$RELAY_PID" 2>/dev/null || { tail -n 30 "$RLOG" >&2; fail "storm-relay died during the suite"; }
kill -TERM "$RELAY_PID"
# A watchdog bounds the wait; `wait` itself keeps the exit status.
(sleep 20; kill -KILL "$RELAY_PID" 2>/dev/null) &
dog=$!
wait "$RELAY_PID"; rc=$?
RELAY_PID=
kill "$dog" 2>/dev/null; wait "$dog" 2>/dev/null
[ "$rc" -ne 137 ] || fail "storm-relay did not exit within 20 s of SIGTERM"

python3 - "$WORK/direct.out" "$WORK/relay.out" "$WORK/direct.time" "$WORK/relay.time" <<'EOF' || exit 1
import re, sys

def parse(path):
    text = open(path, errors="replace").read()
    failed = set(re.findall(r"^Suite ([^,\n]+), Test (\S+) had failures:", text, re.M))
    m = re.search(r"^\s+tests\s+(\d+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(\d+)", text, re.M)
    if not m:
        sys.exit(f"FAIL: no CUnit run summary in {path}")
    return {f"{s}.{t}" for s, t in failed}, int(m.group(2)), int(m.group(4))

d_fail, d_ran, d_nfail = parse(sys.argv[1])
r_fail, r_ran, r_nfail = parse(sys.argv[2])
d_time = open(sys.argv[3]).read().strip()
r_time = open(sys.argv[4]).read().strip()

def show(name, s):
    print(f"{name} failing ({len(s)}): " + (" ".join(sorted(s)) or "none"))

show("direct", d_fail)
show("relay ", r_fail)
print(f"tests run: direct {d_ran}, relay {r_ran}")
print(f"time: direct {d_time} s, relay {r_time} s")
bad = False
if d_ran == 0 or r_ran == 0:
    print("FAIL: no test ran", file=sys.stderr); bad = True
if d_ran != r_ran:
    print(f"FAIL: {d_ran} tests ran directly, {r_ran} through the relay", file=sys.stderr); bad = True
if len(d_fail) != d_nfail or len(r_fail) != r_nfail:
    print(f"FAIL: failure lists do not match the summaries ({len(d_fail)}/{d_nfail}, {len(r_fail)}/{r_nfail})",
          file=sys.stderr); bad = True
if d_fail != r_fail:
    print("FAIL: the relay changed the set of failing tests", file=sys.stderr)
    print("  fail only through the relay: " + (" ".join(sorted(r_fail - d_fail)) or "none"), file=sys.stderr)
    print("  fail only directly:          " + (" ".join(sorted(d_fail - r_fail)) or "none"), file=sys.stderr)
    bad = True
sys.exit(1 if bad else 0)
EOF

[ "$rc" -eq 0 ] || { tail -n 30 "$RLOG" >&2; fail "storm-relay exited $rc after SIGTERM (expected 0)"; }

# Events: JSON Lines with writes among them.
[ -s "$EVENTS" ] || fail "the relay wrote no events"
nwrites=$(grep -c '"op":"write"' "$EVENTS")
nev=$(wc -l <"$EVENTS")
[ "$nwrites" -gt 0 ] || { head -n 5 "$EVENTS" >&2; fail "no write event among $nev events"; }
python3 -c '
import json, sys
for n, line in enumerate(open(sys.argv[1]), 1):
    try:
        json.loads(line)
    except ValueError as e:
        sys.exit(f"FAIL: events line {n} is not JSON: {e}")
' "$EVENTS" || exit 1

# Connection ends: orderly, or a reset.  The suite provokes resets itself
# (tests that drop the session, and tgtd closing connections it finds in
# error, e.g. iSCSIdatasn); anything else (a parser error, a refused
# stream, a buffer bound hit) means the relay broke a connection.
opens=$(grep -c 'storm-relay: open ' "$RLOG")
closes=$(grep -c 'storm-relay: close ' "$RLOG")
[ "$opens" -gt 0 ] || fail "no connection went through the relay"
[ "$opens" -eq "$closes" ] || fail "$opens connections opened, $closes closed"
reasons=$(grep -o 'storm-relay: close [^ ]* ([^)]*)' "$RLOG" | sed 's/.*(\(.*\))/\1/' | sort | uniq -c)
echo "connection ends through the relay:"
echo "$reasons"
if grep 'storm-relay: close ' "$RLOG" | grep -v -E '\((orderly|Connection reset by peer|Broken pipe)\)' >&2; then
    fail "connections through the relay ended in an unexpected error (above)"
fi
grep -q -i -E 'AddressSanitizer|LeakSanitizer|runtime error' "$RLOG" && { cat "$RLOG" >&2; fail "sanitizer report from storm-relay"; }
echo "iscsi-test-cu $TESTS: same failing set directly and through storm-relay; $opens connections, $nev events ($nwrites writes)"

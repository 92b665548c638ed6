#!/usr/bin/env bash
# storm-relay --transparent on a routed path, with real peers.
#
# Three network namespaces made here (names suffixed with this shell's pid):
#
#   initiator 198.51.100.1/24 --veth-- router 198.51.100.254 | 192.0.2.254 --veth-- target 192.0.2.1/24
#
# The router forwards (ip_forward=1) and has
#   iptables -t nat -A PREROUTING -p tcp -d 192.0.2.1 --dport 3260 -j REDIRECT --to-ports RPORT
# (RPORT: STORM_TRANSPARENT_PORT, default 3261).  tgtd runs in the target
# namespace on 192.0.2.1:3260 with a 64 MiB LUN.  storm-relay --transparent
# --events FILE runs in the router namespace, once per listener form:
#
#   case 1  -l 198.51.100.254:RPORT (where REDIRECT sends: the primary address
#           of the incoming interface); the initiator writes 0xab at offset 0
#   case 2  -l 0.0.0.0:RPORT (wildcard); 0xcd at offset 1 MiB
#
# (STORM_TRANSPARENT_LISTEN="ADDR..." runs only the listed forms, in order.)
# Then the same again over IPv6 (a second pass, same namespaces and tgtd):
#
#   initiator 2001:db8:1::1/64 -- router 2001:db8:1::fe | 2001:db8:2::fe -- target 2001:db8:2::1/64
#   ip6tables -t nat -A PREROUTING -p tcp -d 2001:db8:2::1 --dport 3260 -j REDIRECT --to-ports RPORT
#   tgtd also has the portal [2001:db8:2::1]:3260 (tgtadm --mode portal)
#   case 3  -l [2001:db8:1::fe]:RPORT; 0x5a at offset 2 MiB
#   case 4  -l [::]:RPORT (wildcard, IPV6_V6ONLY); 0x3c at offset 3 MiB
#           (no-loop probes on 2001:db8:1::fe, 2001:db8:2::fe and ::1)
#
# the relay reading the original destination with IP6T_SO_ORIGINAL_DST and
# forwarding to [2001:db8:2::1]:3260.  (STORM_TRANSPARENT_LISTEN6="ADDR..."
# selects the v6 forms as STORM_TRANSPARENT_LISTEN does the v4 ones; an empty
# value skips that pass.)
#
# In each case the initiator believes it talks to 192.0.2.1:3260 directly:
#
#   1  iscsi-inq from the initiator namespace succeeds;
#   2  qemu-io writes 1 MiB of the pattern and reads it back (read -P);
#   3  the REDIRECT rule matched, and the relay's log shows the two
#      connections opened and closed in order, 198.51.100.1:*>192.0.2.1:3260,
#      and no connection to anywhere else;
#   4  the relay's events file has exactly one write (lba, 2048 blocks,
#      status 0) and one read of the same range, both with the sha256 of
#      1 MiB of the pattern, both on a flow 198.51.100.1:*>192.0.2.1:3260;
#   5  the backing file holds the pattern (and zeros after it);
#   6  no loop: a connection made from the router namespace straight to the
#      relay's port (not redirected: its original destination is the relay's
#      own listener; for the wildcard listener on each of 198.51.100.254,
#      192.0.2.254 and 127.0.0.1) is closed within 2 s, and the relay opens
#      no connection at all for it (in particular none to itself), keeps its
#      fd count, stays alive and still serves (iscsi-inq through it again);
#   7  SIGTERM: the relay exits 0, no sanitizer report in its log.
#
# Everything is removed on any exit (daemons stopped, namespaces deleted).
# Exit: 0 all checked, 1 failure, 77 prerequisite missing (root, ip, iptables,
# netns/veth, the xt REDIRECT target, tgtd, libiscsi tools, qemu-io).
. "$(dirname "$0")/lib.sh"

require_root
require_cmd ip iptables tgtd tgtadm iscsi-inq qemu-io python3 sha256sum ss setsid timeout truncate
require_relay

MiB=1048576
IQN=iqn.2024-01.org.libstorm.test:transparent
IMG=$WORK/lun.img
RLOG=
EVENTS=
TLOG=$WORK/tgtd.log
RPORT=${STORM_TRANSPARENT_PORT:-3261}
LISTEN=
T0=$(now_s)

NS_I=storm-ini-$$
NS_R=storm-rtr-$$
NS_T=storm-tgt-$$
# Interface names (at most 15 characters), created directly inside the
# namespaces: nothing is added to the host's own namespace.
IF_I=sti$$       # initiator side of pair 1
IF_RI=stri$$     # router side of pair 1
IF_RT=strt$$     # router side of pair 2
IF_T=stt$$       # target side of pair 2

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# in_ns_to NS SECS CMD... : bounded command inside a namespace.
in_ns_to() { local ns=$1 secs=$2; shift 2; timeout -k 3 "$secs" ip netns exec "$ns" "$@"; }

# ---------------------------------------------------------------- cleanup --

NS_MADE=()
T_PID=
T_CTL=
T_TID=

tgt_ns_adm() { in_ns_to "$NS_T" 10 tgtadm -C "$T_CTL" "$@"; }

tgt_ns_stop() {
    [ -n "$T_PID" ] || return 0
    if _pid_alive "$T_PID"; then
        log "stopping tgtd (pid $T_PID) in $NS_T"
        tgt_ns_adm --mode system --op update --name State -v offline >/dev/null 2>&1
        [ -z "$T_TID" ] || tgt_ns_adm --lld iscsi --mode target --op delete --force --tid "$T_TID" >/dev/null 2>&1
        tgt_ns_adm --mode system --op delete >/dev/null 2>&1
        if ! _wait_pid "$T_PID" 10; then
            log "tgtd did not exit, killing it"
            kill -9 "$T_PID" 2>/dev/null
            _wait_pid "$T_PID" 5
        fi
    fi
    wait "$T_PID" 2>/dev/null
    rm -f "/var/run/tgtd/socket.$T_CTL" "/var/run/tgtd/socket.$T_CTL.lock"
    T_PID=
}

ns_cleanup() {
    local ns p
    _relay_cleanup
    tgt_ns_stop
    for ns in "${NS_MADE[@]}"; do
        # Anything still in one of our namespaces was started by this test
        # (e.g. a timed-out client): end it by pid before deleting the netns.
        for p in $(ip netns pids "$ns" 2>/dev/null); do
            kill -9 "$p" 2>/dev/null
        done
        ip netns del "$ns" 2>/dev/null || log "cannot delete namespace $ns"
    done
    NS_MADE=()
}
on_exit ns_cleanup
_relay_cleanup_set=1   # ns_cleanup stops the relay first

# --------------------------------------------------------------- topology --

for ns in "$NS_I" "$NS_R" "$NS_T"; do
    ip netns list 2>/dev/null | grep -qw "^$ns" && fail "namespace $ns already exists"
    timeout 10 ip netns add "$ns" || skip "cannot create network namespace $ns"
    NS_MADE+=("$ns")
    timeout 10 ip -n "$ns" link set lo up || fail "lo up in $ns"
done

timeout 10 ip -n "$NS_I" link add "$IF_I" type veth peer name "$IF_RI" netns "$NS_R" \
    || skip "cannot create a veth pair (veth support missing?)"
timeout 10 ip -n "$NS_T" link add "$IF_T" type veth peer name "$IF_RT" netns "$NS_R" \
    || skip "cannot create a veth pair (veth support missing?)"

setup_topology() {
    ip -n "$NS_I" addr add 198.51.100.1/24 dev "$IF_I" &&
    ip -n "$NS_I" link set "$IF_I" up &&
    ip -n "$NS_I" route add default via 198.51.100.254 &&
    ip -n "$NS_R" addr add 198.51.100.254/24 dev "$IF_RI" &&
    ip -n "$NS_R" addr add 192.0.2.254/24 dev "$IF_RT" &&
    ip -n "$NS_R" link set "$IF_RI" up &&
    ip -n "$NS_R" link set "$IF_RT" up &&
    ip -n "$NS_T" addr add 192.0.2.1/24 dev "$IF_T" &&
    ip -n "$NS_T" link set "$IF_T" up &&
    ip -n "$NS_T" route add default via 192.0.2.254 &&
    in_ns_to "$NS_R" 10 sysctl -qw net.ipv4.ip_forward=1 &&
    # IPv6, without duplicate address detection (usable at once).
    ip -n "$NS_I" addr add 2001:db8:1::1/64 dev "$IF_I" nodad &&
    ip -n "$NS_I" -6 route add default via 2001:db8:1::fe &&
    ip -n "$NS_R" addr add 2001:db8:1::fe/64 dev "$IF_RI" nodad &&
    ip -n "$NS_R" addr add 2001:db8:2::fe/64 dev "$IF_RT" nodad &&
    ip -n "$NS_T" addr add 2001:db8:2::1/64 dev "$IF_T" nodad &&
    ip -n "$NS_T" -6 route add default via 2001:db8:2::fe &&
    in_ns_to "$NS_R" 10 sysctl -qw net.ipv6.conf.all.forwarding=1
}
setup_topology || fail "cannot configure addresses, routes or forwarding"

# The REDIRECT rule: the kernel may lack the xt REDIRECT target (or NAT).
NAT_RULE=(PREROUTING -p tcp -d 192.0.2.1 --dport 3260 -j REDIRECT --to-ports "$RPORT")
if ! out=$(in_ns_to "$NS_R" 15 iptables -w 10 -t nat -A "${NAT_RULE[@]}" 2>&1); then
    skip "iptables REDIRECT refused in the router namespace: $out"
fi
in_ns_to "$NS_R" 15 iptables -w 10 -t nat -C "${NAT_RULE[@]}" >/dev/null 2>&1 \
    || skip "iptables REDIRECT rule not listed after adding it"
NAT6_RULE=(PREROUTING -p tcp -d 2001:db8:2::1 --dport 3260 -j REDIRECT --to-ports "$RPORT")
if ! out=$(in_ns_to "$NS_R" 15 ip6tables -w 10 -t nat -A "${NAT6_RULE[@]}" 2>&1); then
    skip "ip6tables REDIRECT refused in the router namespace: $out"
fi
in_ns_to "$NS_R" 15 ip6tables -w 10 -t nat -C "${NAT6_RULE[@]}" >/dev/null 2>&1 \
    || skip "ip6tables REDIRECT rule not listed after adding it"
log "topology up: $NS_I 198.51.100.1 -> $NS_R (REDIRECT :3260 -> :$RPORT) -> $NS_T 192.0.2.1 ($(ms_since "$T0") ms)"

# ------------------------------------------------------------------- tgtd --

truncate -s $((64 * MiB)) "$IMG" || fail "cannot create $IMG"
mkdir -p /var/run/tgtd
for ((i = 0; i < 100; i++)); do
    T_CTL=$((1000 + RANDOM % 30000))
    [ -e "/var/run/tgtd/socket.$T_CTL" ] || [ -e "/var/run/tgtd/socket.$T_CTL.lock" ] || break
done
log "starting tgtd in $NS_T on 192.0.2.1:3260 (control port $T_CTL)"
setsid ip netns exec "$NS_T" tgtd -f -C "$T_CTL" --iscsi portal=192.0.2.1:3260 >"$TLOG" 2>&1 </dev/null &
T_PID=$!
tgt_up() { tgt_ns_adm --mode system --op show >/dev/null 2>&1 && in_ns "$NS_T" ss -Hltn 'sport = :3260' | grep -q 192.0.2.1; }
for ((i = 0; i < 100; i++)); do
    _pid_alive "$T_PID" || { wait "$T_PID" 2>/dev/null; T_PID=; cat "$TLOG" >&2; fail "tgtd exited at start"; }
    tgt_up && break
    sleep 0.1
done
tgt_up || fail "tgtd did not listen on 192.0.2.1:3260 within 10 s"
tgt_ns_adm --lld iscsi --mode target --op new --tid 1 --targetname "$IQN" || fail "tgtadm: new target"
T_TID=1
tgt_ns_adm --lld iscsi --mode logicalunit --op new --tid 1 --lun 1 --backing-store "$IMG" || fail "tgtadm: LUN 1"
tgt_ns_adm --lld iscsi --mode target --op bind --tid 1 --initiator-address ALL || fail "tgtadm: bind"
tgt_ns_adm --lld iscsi --mode portal --op new --param portal=[2001:db8:2::1]:3260 || fail "tgtadm: IPv6 portal"
tgt_up6() { in_ns "$NS_T" ss -Hltn 'sport = :3260' | grep -q '\[2001:db8:2::1\]'; }
wait_until 10 tgt_up6 || { in_ns "$NS_T" ss -ltn >&2; fail "tgtd did not listen on [2001:db8:2::1]:3260"; }

# ---------------------------------------------------------------- a case --

# set_family 4|6 : the addresses and patterns of one pass.
set_family() {
    FAM=$1
    if [ "$FAM" = 4 ]; then
        URL=iscsi://192.0.2.1:3260/$IQN/1
        INI=198.51.100.1; INI_RE='198\.51\.100\.1'; TGT_EP=192.0.2.1:3260; TGT_RE='192\.0\.2\.1:3260'
        WILD=0.0.0.0; WILD_PROBES=(198.51.100.254 192.0.2.254 127.0.0.1); IPT=iptables; NAT_DST='192\.0\.2\.1'
    else
        URL=iscsi://[2001:db8:2::1]:3260/$IQN/1
        INI='[2001:db8:1::1]'; INI_RE='\[2001:db8:1::1\]'; TGT_EP='[2001:db8:2::1]:3260'; TGT_RE='\[2001:db8:2::1\]:3260'
        WILD='[::]'; WILD_PROBES=(2001:db8:1::fe 2001:db8:2::fe ::1); IPT=ip6tables; NAT_DST='2001:db8:2::1'
    fi
}
# host part of a listen address, brackets removed (for connect and grep).
unbracket() { local a=${1#[}; echo "${a%]}"; }
# endpoint as the relay prints it.
ep_of() { case $1 in *:*) echo "[$1]:$2" ;; *) echo "$1:$2" ;; esac; }
CASE_N=0
CASE=

cfail() { fail "[$CASE] $*"; }
# show FILE [N] : the first N (20) lines of FILE on stderr.
show() { head -n "${2:-20}" "$1" >&2; }

start_relay() {
    log "[$CASE] starting storm-relay in $NS_R: -l $LISTEN:$RPORT --transparent --events $(basename "$EVENTS")"
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
        ip netns exec "$NS_R" "$STORM_RELAY" -l "$LISTEN:$RPORT" --transparent --events "$EVENTS" \
        >>"$RLOG" 2>&1 </dev/null &
    RELAY_PID=$!
    local i
    for ((i = 0; i < 100; i++)); do
        _pid_alive "$RELAY_PID" || { wait "$RELAY_PID" 2>/dev/null; RELAY_PID=; show "$RLOG"; cfail "storm-relay exited at start"; }
        relay_up && return 0
        sleep 0.1
    done
    cfail "storm-relay did not listen on $LISTEN:$RPORT within 10 s"
}
relay_up() { grep -qF "listening on $LISTEN:$RPORT" "$RLOG" && in_ns "$NS_R" ss -Hltn "sport = :$RPORT" | grep -q .; }

# Straight to the relay's port from inside the router: the original
# destination is the listener itself.  Send the start of a Login PDU and wait
# for the relay to close (EOF or reset); prints how and when.
probe() {
    in_ns_to "$NS_R" 10 python3 - "$1" "$RPORT" <<'EOF'
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
t0 = time.monotonic()
try:
    s = socket.create_connection((host, port), timeout=2)
except (ConnectionResetError, ConnectionRefusedError) as e:
    # Accepted and reset (abortive close) before connect() returned.
    print("%s at connect after %.0f ms" % (e.__class__.__name__, (time.monotonic() - t0) * 1000))
    sys.exit(0)
except OSError as e:
    print("connect failed: %s" % e); sys.exit(1)
s.settimeout(2)
how = None
try:
    s.sendall(b"\x43" + b"\0" * 47)
except OSError as e:
    how = "send: %s" % e.__class__.__name__
if how is None:
    try:
        data = s.recv(4096)
        how = "eof" if not data else "data (%d bytes)" % len(data)
    except socket.timeout:
        print("still open after 2 s"); sys.exit(1)
    except OSError as e:
        how = e.__class__.__name__
print("%s after %.0f ms" % (how, (time.monotonic() - t0) * 1000))
sys.exit(0 if how in ("eof", "ConnectionResetError") or how.startswith("send:") else 1)
EOF
}

# run_case LISTEN PATTERN OFFSET : one relay listening on LISTEN:RPORT; the
# initiator writes 1 MiB of PATTERN at OFFSET through it and reads it back.
run_case() {
    LISTEN=$1
    local pat=$2 off=$3 t nopen pkts0 pkts got rest fds0 lines0 a res est nself rc
    CASE_N=$((CASE_N + 1))
    CASE="$CASE_N: $LISTEN:$RPORT"
    RLOG=$WORK/relay-$CASE_N.log
    EVENTS=$WORK/events-$CASE_N.jsonl
    local lba=$((off / 512))
    local want
    want=$(python3 -c "import hashlib; print(hashlib.sha256(bytes([$pat]) * $MiB).hexdigest())")
    pkts0=$(redirect_pkts)
    start_relay

    # 1, 2: the initiator, which believes it talks to the target directly.
    t=$(now_s)
    log "[$CASE] + [$NS_I] iscsi-inq $URL"
    in_ns_to "$NS_I" 30 iscsi-inq "$URL" >"$WORK/inq-$CASE_N.out" 2>&1 \
        || { show "$WORK/inq-$CASE_N.out"; cfail "iscsi-inq through the transparent relay failed"; }
    grep -qi "vendor\|product\|device type" "$WORK/inq-$CASE_N.out" \
        || { show "$WORK/inq-$CASE_N.out"; cfail "iscsi-inq printed no inquiry data"; }
    log "[$CASE] iscsi-inq ok ($(ms_since "$t") ms)"

    t=$(now_s)
    log "[$CASE] + [$NS_I] qemu-io write/read -P $pat $off $MiB $URL"
    in_ns_to "$NS_I" 60 qemu-io -f raw -c "write -P $pat $off $MiB" -c "read -P $pat $off $MiB" "$URL" \
        >"$WORK/qemu-io-$CASE_N.out" 2>&1 \
        || { show "$WORK/qemu-io-$CASE_N.out"; cfail "qemu-io through the transparent relay failed"; }
    if grep -qi "fail\|error" "$WORK/qemu-io-$CASE_N.out" ||
       ! grep -q "wrote $MiB/$MiB bytes at offset $off" "$WORK/qemu-io-$CASE_N.out" ||
       ! grep -q "read $MiB/$MiB bytes at offset $off" "$WORK/qemu-io-$CASE_N.out"; then
        show "$WORK/qemu-io-$CASE_N.out"
        cfail "qemu-io did not write and read back 1 MiB of $pat at $off"
    fi
    log "[$CASE] qemu-io ok ($(ms_since "$t") ms)"

    # 3: the REDIRECT rule matched, the relay's log names the real target.
    pkts=$(redirect_pkts)
    [ "$pkts" -gt "$pkts0" ] || cfail "the REDIRECT rule matched no new packet ($pkts0 -> $pkts)"
    nopen=$(grep -cE "^storm-relay: open ${INI_RE}:[0-9]+>${TGT_RE}$" "$RLOG")
    [ "$nopen" -eq 2 ] || { show "$RLOG"; cfail "relay log: $nopen connection(s) $INI:*>$TGT_EP opened, expected 2 (iscsi-inq, qemu-io)"; }
    wait_until 10 sh -c "[ \$(grep -cE '^storm-relay: close ${INI_RE}:[0-9]+>${TGT_RE} \(orderly\)' '$RLOG') -ge $nopen ]" \
        || { show "$RLOG"; cfail "relay log: not every connection to $TGT_EP was closed in order"; }
    if grep "^storm-relay: open" "$RLOG" | grep -vqE ">${TGT_RE}$"; then
        show "$RLOG"; cfail "relay log: a connection to somewhere else than $TGT_EP"
    fi
    log "[$CASE] relay log: $nopen connections $INI -> $TGT_EP opened and closed; REDIRECT matched $((pkts - pkts0)) packets"

    # 4: the events.
    wait_until 5 grep -q '"op":"read"' "$EVENTS" || true
    python3 - "$EVENTS" "$want" "$lba" "^${INI_RE}:\d+>${TGT_RE}$" <<'EOF' || { show "$EVENTS" 10; cfail "events file check"; }
import json, re, sys
path, want, lba = sys.argv[1], sys.argv[2], int(sys.argv[3])
events = []
with open(path) as fh:
    for n, line in enumerate(fh, 1):
        line = line.strip()
        if not line:
            continue
        try:
            events.append(json.loads(line))
        except ValueError:
            print("FAIL: events line %d is not JSON: %.200s" % (n, line)); sys.exit(1)
flow_re = re.compile(sys.argv[4])
bad = 0
for op in ("write", "read"):
    hits = [e for e in events if e.get("op") == op]
    good = [e for e in hits if e.get("lun") == 1 and e.get("lba") == lba and e.get("blocks") == 2048
            and e.get("status") == 0 and e.get("block_size") == 512 and e.get("bytes") == 1048576
            and e.get("sha256") == want and flow_re.match(str(e.get("flow", ""))) and "end" not in e]
    if len(good) != 1 or len(hits) != 1:
        print("FAIL: %s: %d event(s), %d as expected (lun 1, lba %d, 2048 blocks, status 0, sha256 %s, "
              "flow %s)" % (op, len(hits), len(good), lba, want, sys.argv[4]))
        for e in hits:
            print("  %s" % json.dumps(e, sort_keys=True))
        bad += 1
sys.exit(1 if bad else 0)
EOF
    log "[$CASE] events: write and read, lba $lba x 2048 blocks, status 0, sha256 $want"

    # 5: the backing file.
    got=$(tail -c +$((off + 1)) "$IMG" | head -c "$MiB" | sha256sum | cut -d' ' -f1)
    [ "$got" = "$want" ] || cfail "backing file: MiB at $off has sha256 $got, expected $want (1 MiB of $pat)"
    rest=$(tail -c +$((off + MiB + 1)) "$IMG" | head -c "$MiB" | tr -d '\0' | wc -c)
    [ "$rest" -eq 0 ] || cfail "backing file: the MiB after the pattern is not zero"
    log "[$CASE] backing file: 1 MiB of $pat at $off"

    # 6: no loop.  A wildcard listener is "its own listener" on every local
    # address of the router.
    fds0=$(proc_fd_count "$RELAY_PID")
    lines0=$(wc -l <"$RLOG")
    local lines_before=$lines0 looped=()
    local addrs=("$(unbracket "$LISTEN")")
    [ "$LISTEN" != "$WILD" ] || addrs=("${WILD_PROBES[@]}")
    for a in "${addrs[@]}"; do
        res=$(probe "$a" 2>&1) || { show "$RLOG"; cfail "no-loop: direct connection to $(ep_of "$a" "$RPORT"): ${res:-probe timed out}"; }
        nself=$(tail -n +$((lines0 + 1)) "$RLOG" | grep "^storm-relay: open " | grep -cF ">$(ep_of "$a" "$RPORT")")
        log "[$CASE] no-loop: direct connection to $(ep_of "$a" "$RPORT"): $res; relay opened $nself connection(s) to itself"
        _pid_alive "$RELAY_PID" || cfail "no-loop: storm-relay died after a direct connection to $a:$RPORT"
        [ "$nself" -eq 0 ] || looped+=("$(ep_of "$a" "$RPORT") ($nself)")
        lines0=$(wc -l <"$RLOG")
    done
    [ ${#looped[@]} -eq 0 ] || cfail "no-loop: connections straight to the relay's own listener $LISTEN:$RPORT were forwarded to the relay itself, chaining self-connections until the connection limit: ${looped[*]}"
    sleep 0.3
    if tail -n +$((lines_before + 1)) "$RLOG" | grep -q "^storm-relay: open"; then
        tail -n +$((lines_before + 1)) "$RLOG" | head -n 20 >&2
        cfail "no-loop: the relay opened a connection during the probes"
    fi
    est=$(in_ns "$NS_R" ss -Htn state established "( sport = :$RPORT or dport = :$RPORT )" | wc -l)
    [ "$est" -eq 0 ] || { in_ns "$NS_R" ss -tn >&2; cfail "no-loop: $est established connection(s) on port $RPORT remain"; }
    wait_until 5 sh -c "[ \$(ls /proc/$RELAY_PID/fd | wc -l) -le $fds0 ]" \
        || cfail "no-loop: relay fd count $(proc_fd_count "$RELAY_PID"), was $fds0 before the probes"
    # Still serving.
    in_ns_to "$NS_I" 30 iscsi-inq "$URL" >"$WORK/inq2-$CASE_N.out" 2>&1 \
        || { show "$WORK/inq2-$CASE_N.out"; cfail "iscsi-inq through the relay after the no-loop probes failed"; }
    log "[$CASE] no-loop: closed without forwarding, relay alive (fds $fds0) and still serving"

    # 7: SIGTERM.
    t=$(now_s)
    relay_stop; rc=$?
    [ "$rc" -eq 0 ] || { show "$RLOG"; cfail "storm-relay exited with status $rc on SIGTERM"; }
    if sanitizer_report "$RLOG"; then
        grep -E -A12 'ERROR: (Address|Leak)Sanitizer|runtime error' "$RLOG" | head -40 >&2
        cfail "sanitizer report in the relay's log"
    fi
    log "[$CASE] storm-relay: SIGTERM -> exit 0 ($(ms_since "$t") ms)"
}

redirect_pkts() {
    local n
    n=$(in_ns_to "$NS_R" 15 "$IPT" -w 10 -t nat -L PREROUTING -n -v -x 2>/dev/null |
        awk -v d="$NAT_DST" '/REDIRECT/ && $0 ~ d {print $1; exit}')
    echo "${n:-0}"
}

# --------------------------------------------------------------- the cases --

# Case 1: the router's own address (where REDIRECT sends: the primary address
# of the incoming interface), 0xab at offset 0.  Case 2: the wildcard address,
# 0xcd at 1 MiB.  STORM_TRANSPARENT_LISTEN="ADDR..." runs only those.
# Then the IPv6 pass: cases 3 and 4 ([2001:db8:1::fe], [::]), 0x5a at 2 MiB
# and 0x3c at 3 MiB.  STORM_TRANSPARENT_LISTEN6 likewise.
read -r -a LISTENS <<<"${STORM_TRANSPARENT_LISTEN-198.51.100.254 0.0.0.0}"
read -r -a LISTENS6 <<<"${STORM_TRANSPARENT_LISTEN6-[2001:db8:1::fe] [::]}"
PATS=(0xab 0xcd 0x5a 0x3c 0x11 0x22 0x33 0x44)
k=0
set_family 4
for L in "${LISTENS[@]}"; do
    run_case "$L" "${PATS[$((k % 8))]}" $((k * MiB)); k=$((k + 1))
done
set_family 6
for L in "${LISTENS6[@]}"; do
    run_case "$L" "${PATS[$((k % 8))]}" $((k * MiB)); k=$((k + 1))
done
log "PASS: transparent relay on a routed path (IPv4: ${LISTENS[*]}; IPv6: ${LISTENS6[*]}; $(ms_since "$T0") ms in all)"
exit 0

#!/usr/bin/env bash
# Wall time of storm-dump against tshark on the same capture.
#
#   bench/bench_dump.sh [CAPTURE [PORT]]
#
# Without CAPTURE it makes one with tests/integration/lib.sh (tgtd on a free
# port, qemu-io writing then reading 64 MiB in 1 MiB requests, dumpcap on lo)
# when it runs as root and those tools exist, else it uses /tmp/explore.pcap
# (tgtd on port 49241) or tests/data/demo.pcap.  PORT is the iSCSI port when it is not 3260.
# Each command runs RUNS times (default 3); the best time is kept.
# Environment: STORM_DUMP (default build/tools/storm-dump), RUNS,
# KEEP_CAPTURE=1 keeps the capture it made (deleted on exit otherwise).
set -u -o pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
dump=${STORM_DUMP:-$src/build/tools/storm-dump}
runs=${RUNS:-3}
[ -x "$dump" ] || { echo "storm-dump not found at $dump (build it, or set STORM_DUMP)" >&2; exit 2; }
command -v tshark >/dev/null || { echo "tshark not found" >&2; exit 2; }

# make_capture OUT.pcap : prints the iSCSI port used.
make_capture() {
    # Runs in a subshell: lib.sh's EXIT trap stops tgtd and dumpcap and
    # removes its work directory there.
    (
        out=$1
        . "$src/tests/integration/lib.sh"
        require_root
        require_cmd tgtd tgtadm dumpcap qemu-io ss setsid timeout truncate
        port=$(free_port) || fail "no free port"
        iqn=iqn.2024-01.org.libstorm.bench:data
        truncate -s 128M "$WORK/data.img" || fail "cannot create image"
        tgt_start "$port" >&2
        tgt_add_target 1 "$iqn" "$WORK/data.img" >&2
        cap_start lo "tcp port $port" "$WORK/bench.pcap" >&2
        cmds=()
        for ((i = 0; i < 64; i++)); do cmds+=(-c "write -P $((i % 250 + 1)) $((i << 20)) 1M"); done
        for ((i = 0; i < 64; i++)); do cmds+=(-c "read $((i << 20)) 1M"); done
        run_to 300 qemu-io -f raw "${cmds[@]}" "iscsi://127.0.0.1:$port/$iqn/1" >/dev/null 2>&1 ||
            fail "qemu-io failed"
        cap_stop >&2
        cp "$WORK/bench.pcap" "$out" || fail "cannot copy the capture"
        echo "$port"
    )
}

cap=${1:-}
port=${2:-}
if [ -z "$cap" ]; then
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/storm-bench.XXXXXX") || exit 2
    if [ "${KEEP_CAPTURE:-0}" = 1 ]; then
        trap 'echo "capture kept: $tmp/bench.pcap"' EXIT
    else
        trap 'rm -rf "$tmp"' EXIT
    fi
    if [ -f "$src/tests/integration/lib.sh" ] && port=$(make_capture "$tmp/bench.pcap") &&
        [ -s "$tmp/bench.pcap" ]; then
        cap=$tmp/bench.pcap
        echo "capture: made with tgtd and qemu-io (port $port)"
    else
        if [ -r /tmp/explore.pcap ]; then
            cap=/tmp/explore.pcap port=49241
        else
            cap=$src/tests/data/demo.pcap port=3260
        fi
        echo "capture: $cap (could not make one; port $port)"
    fi
fi
[ -r "$cap" ] || { echo "cannot read $cap" >&2; exit 2; }

dump_port=()
tshark_port=()
if [ -n "$port" ] && [ "$port" != 3260 ]; then
    dump_port=(--port "$port")
    tshark_port=(-d "tcp.port==$port,iscsi")
fi
tshark_common=(-r "$cap" -Y iscsi -o iscsi.bogus_pdu_max_data_len:16777216 "${tshark_port[@]}")

# best SECONDS of running "$@" $runs times, output discarded
best() {
    local b="" t0 t1 t i
    for ((i = 0; i < runs; i++)); do
        t0=$(date +%s.%N)
        "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; return 1; }
        t1=$(date +%s.%N)
        t=$(echo "$t1 - $t0" | bc -l)
        if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
    done
    printf '%.3f' "$b"
}

size=$(stat -c %s "$cap")
echo "capture: $(numfmt --to=iec "$size")B, $("$dump" "${dump_port[@]}" "$cap" | wc -l) PDUs (storm-dump), best of $runs"
t_dump=$(best "$dump" "${dump_port[@]}" "$cap") || exit 1
t_events=$(best "$dump" --events "${dump_port[@]}" "$cap") || exit 1
t_pdml=$(best tshark "${tshark_common[@]}" -T pdml) || exit 1
t_fields=$(best tshark "${tshark_common[@]}" -T fields -e iscsi.opcode) || exit 1

ratio() { echo "scale=1; $1 / $2" | bc -l; }
printf '%-46s %8ss\n' "storm-dump" "$t_dump" "storm-dump --events" "$t_events" \
    "tshark -T pdml" "$t_pdml" "tshark -T fields -e iscsi.opcode" "$t_fields"
echo "tshark pdml   / storm-dump:          $(ratio "$t_pdml" "$t_dump")x"
echo "tshark fields / storm-dump:          $(ratio "$t_fields" "$t_dump")x"
echo "tshark pdml   / storm-dump --events: $(ratio "$t_pdml" "$t_events")x"
echo "tshark fields / storm-dump --events: $(ratio "$t_fields" "$t_events")x"

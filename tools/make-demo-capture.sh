#!/bin/bash
# Make tests/data/demo.pcap: a small capture of one real iSCSI session
# between QEMU's libiscsi initiator (qemu-io) and tgtd on 127.0.0.1:3260.
#
# The session: login, TEST UNIT READY, INQUIRY (standard and VPD pages),
# MODE SENSE, READ CAPACITY(16), writes with recognisable patterns
#   4 KiB of 0xab at offset 4096        (LBA 8, immediate data)
#   32 KiB of 0x5a at offset 1 MiB      (LBA 2048, immediate data + R2T +
#                                        Data-Out)
#   512 bytes of 0xee at offset 2 MiB   (LBA 4096)
# reads of the same ranges, SYNCHRONIZE CACHE, logout.
#
# Usage: tools/make-demo-capture.sh [OUTPUT]   (default tests/data/demo.pcap)
# Needs root, tgtd/tgtadm, dumpcap, qemu-io (with the iscsi driver), tshark
# for the self-check.  Port 3260 on 127.0.0.1 must be free (override with
# STORM_DEMO_PORT, but then readers of the capture need --port).

set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
out=${1:-$src/tests/data/demo.pcap}

. "$src/tests/integration/lib.sh"
# A tool, not a test: missing prerequisites are errors, not skips.
skip() { printf 'error: %s\n' "$*" >&2; exit 1; }

require_root
require_cmd tgtd tgtadm dumpcap tshark qemu-io ss setsid timeout truncate

PORT=${STORM_DEMO_PORT:-3260}
IQN=iqn.2024-01.org.libstorm:demo
if _port_listening "$PORT"; then
    fail "port $PORT is in use (a system tgtd?); stop it or set STORM_DEMO_PORT"
fi

truncate -s 16M "$WORK/demo.img" || fail "cannot create the image"
tgt_start "$PORT"
tgt_add_target 1 "$IQN" "$WORK/demo.img"

cap_start lo "tcp port $PORT" "$WORK/demo.pcap"
run_to 60 qemu-io -f raw \
    -c 'write -P 0xab 4096 4096' \
    -c 'write -P 0x5a 1048576 32768' \
    -c 'write -P 0xee 2097152 512' \
    -c 'read -P 0xab 4096 4096' \
    -c 'read -P 0x5a 1048576 32768' \
    -c 'read -P 0xee 2097152 512' \
    -c 'flush' \
    "iscsi://127.0.0.1:$PORT/$IQN/1" >"$WORK/qemu-io.log" 2>&1 \
    || { cat "$WORK/qemu-io.log" >&2; fail "qemu-io failed"; }
grep -qi "verification failed" "$WORK/qemu-io.log" && fail "qemu-io read back other data than written"
cap_stop
tgt_stop

# Self-check with tshark: one session, the PDU types we promise.
dopt=()
[ "$PORT" = 3260 ] || dopt=(-d "tcp.port==$PORT,iscsi")
ops=$(timeout 60 tshark -n -r "$WORK/demo.pcap" "${dopt[@]}" -Y iscsi -T fields -e iscsi.opcode \
      -o tcp.reassemble_out_of_order:TRUE 2>/dev/null | tr ',' '\n' | sort | uniq -c)
echo "$ops" >&2
for op in 0x03 0x23 0x01 0x21 0x25 0x05 0x31 0x06 0x26; do
    grep -q " $op\$" <<<"$ops" || fail "the capture lacks iSCSI opcode $op"
done
cdbs=$(timeout 60 tshark -n -r "$WORK/demo.pcap" "${dopt[@]}" -Y 'scsi_sbc.opcode' -T fields \
       -e scsi_sbc.opcode 2>/dev/null | tr ',' '\n' | sort -u | tr '\n' ' ')
for cdb in 0x12 0x9e 0x2a 0x28; do
    grep -q "$cdb" <<<"$cdbs" || fail "the capture lacks SCSI opcode $cdb"
done
size=$(stat -c %s "$WORK/demo.pcap")
[ "$size" -lt 307200 ] || fail "capture is $size bytes, more than 300 KB"

mkdir -p "$(dirname "$out")"
cp "$WORK/demo.pcap" "$out.tmp" && chmod 644 "$out.tmp" && mv "$out.tmp" "$out" || fail "cannot write $out"
log "wrote $out ($size bytes)"

#!/bin/bash
# storm-dump against Wireshark's iSCSI dissector on real traffic.
#
# A tgtd on 127.0.0.1 (random port) serves three targets: a data LUN, a
# thin-provisioned scratch LUN for the libiscsi compliance suite, and a LUN
# that insists on header digests.  libiscsi's tools, qemu-io, qemu-img and
# iscsi-test-cu drive it while dumpcap captures on lo; then every PDU that
# tshark decodes is compared, per flow and direction, in order, with
# storm-dump's default output (tshark_compare.py).
#
# Exit: 0 compared and equal, 1 failure, 77 prerequisite missing.
# Environment: STORM_DUMP, STORM_SOURCE_DIR, STORM_BUILD_DIR (set by CTest),
# STORM_KEEP_WORK=1 keeps the capture, STORM_CU_TESTS overrides the
# iscsi-test-cu selection.

. "$(dirname "$0")/lib.sh"

require_root
require_cmd tgtd tgtadm dumpcap tshark python3 ss setsid timeout truncate cmp \
    qemu-io qemu-img iscsi-ls iscsi-inq iscsi-readcapacity16 iscsi-test-cu
require_storm_dump

: "${STORM_CU_TESTS:=SCSI.TestUnitReady,SCSI.Inquiry,SCSI.ReadCapacity10,SCSI.ReadCapacity16,SCSI.ModeSense6.Residuals,SCSI.ReportSupportedOpcodes.Simple,SCSI.Read10.BeyondEol,SCSI.Read10.ZeroBlocks,SCSI.Read10.DpoFua,SCSI.Write10.Simple,SCSI.Write10.DpoFua,SCSI.Read6.BeyondEol,SCSI.Read12.DpoFua,SCSI.Write12.DpoFua,SCSI.Read16.DpoFua,SCSI.Write16.DpoFua,SCSI.Verify16.Flags,SCSI.WriteVerify10.Flags,SCSI.WriteVerify16.Flags,SCSI.Prefetch10,SCSI.Prefetch16.Simple,SCSI.GetLBAStatus.Simple,SCSI.Unmap.Simple,SCSI.Unmap.VPD,SCSI.Unmap.ZeroBlocks,SCSI.WriteSame10.Simple,SCSI.WriteSame16.Simple,SCSI.CompareAndWrite,iSCSI.iSCSITMF,iSCSI.iSCSIResiduals,iSCSI.iSCSIcmdsn,iSCSI.iSCSIdatasn}"

PORT=$(free_port) || fail "no free port"
IQN_DATA=iqn.2024-01.org.libstorm.test:data
IQN_SCRATCH=iqn.2024-01.org.libstorm.test:scratch
IQN_HD=iqn.2024-01.org.libstorm.test:hdigest
URL=iscsi://127.0.0.1:$PORT
CAP=$WORK/iscsi.pcap

truncate -s 64M "$WORK/data.img" "$WORK/scratch.img" "$WORK/hd.img" || fail "cannot create images"

tgt_start "$PORT"
tgt_add_target 1 "$IQN_DATA" "$WORK/data.img"
tgt_add_target 2 "$IQN_SCRATCH" "$WORK/scratch.img"
tgt_lun_params 2 thin_provisioning=1
tgt_add_target 3 "$IQN_HD" "$WORK/hd.img" HeaderDigest=CRC32C

cap_start lo "tcp port $PORT" "$CAP"

# --- libiscsi tools: discovery (Text), login/logout, INQUIRY, READ CAPACITY.
run_to 60 iscsi-ls -s "$URL" >"$WORK/iscsi-ls.log" 2>&1 || fail "iscsi-ls failed"
grep -q "$IQN_DATA" "$WORK/iscsi-ls.log" || fail "iscsi-ls did not list $IQN_DATA"
run_to 30 iscsi-inq "$URL/$IQN_DATA/1" >"$WORK/inq.log" 2>&1 || fail "iscsi-inq failed"
run_to 30 iscsi-inq -e 1 -c 0x83 "$URL/$IQN_DATA/1" >>"$WORK/inq.log" 2>&1 || fail "iscsi-inq VPD 0x83 failed"
run_to 30 iscsi-inq "$URL/$IQN_DATA/0" >>"$WORK/inq.log" 2>&1 || fail "iscsi-inq LUN 0 failed"
run_to 30 iscsi-readcapacity16 "$URL/$IQN_DATA/1" >"$WORK/rc16.log" 2>&1 || fail "iscsi-readcapacity16 failed"

# --- QEMU's libiscsi driver: writes with known patterns (a 1 MiB one goes
# through R2T and many Data-Out), reads that verify them, zero writes
# (WRITE SAME), discard (UNMAP, on the thin scratch LUN).
run_to 120 qemu-io -f raw \
    -c 'write -P 0xab 4096 65536' \
    -c 'write -P 0x5a 1048576 1048576' \
    -c 'write -P 0x11 8388608 262144' \
    -c 'write -P 0xee 33553920 512' \
    -c 'write -P 0x42 12345600 70000' \
    -c 'read -P 0xab 4096 65536' \
    -c 'read -P 0x5a 1048576 1048576' \
    -c 'read -P 0x11 8388608 262144' \
    -c 'read -P 0xee 33553920 512' \
    -c 'flush' \
    "$URL/$IQN_DATA/1" >"$WORK/qemu-io.log" 2>&1 || { cat "$WORK/qemu-io.log" >&2; fail "qemu-io on the data LUN failed"; }
grep -qi "verification failed" "$WORK/qemu-io.log" && fail "qemu-io pattern verification failed"
run_to 60 qemu-io -f raw \
    -c 'write -P 0x77 0 131072' \
    -c 'write -z 1048576 65536' \
    -c 'discard 2097152 65536' \
    -c 'read -P 0x77 0 131072' \
    "$URL/$IQN_SCRATCH/1" >>"$WORK/qemu-io.log" 2>&1 || fail "qemu-io on the scratch LUN failed"

# --- qemu-img convert of the first 16 MiB of the data LUN.
run_to 120 qemu-img convert -O raw --image-opts \
    "driver=raw,offset=0,size=16777216,file.driver=iscsi,file.transport=tcp,file.portal=127.0.0.1:$PORT,file.target=$IQN_DATA,file.lun=1" \
    "$WORK/part.raw" >"$WORK/qemu-img.log" 2>&1 || fail "qemu-img convert failed"
cmp -s "$WORK/part.raw" <(head -c 16777216 "$WORK/data.img") || fail "qemu-img convert copy differs from the image"

# --- the libiscsi compliance suite, a short selection, on the scratch LUN.
# tgtd fails some tests on its own (e.g. iSCSIdatasn, Unmap.ZeroBlocks):
# only the traffic matters here, not the verdicts.
run_to 300 iscsi-test-cu -d -n -t "$STORM_CU_TESTS" "$URL/$IQN_SCRATCH/1" >"$WORK/iscsi-test-cu.log" 2>&1
cu_rc=$?
[ "$cu_rc" -ge 124 ] && fail "iscsi-test-cu timed out or crashed (exit $cu_rc)"
log "iscsi-test-cu exit $cu_rc (failures of tgtd itself are expected)"

# --- a session with header digests (tgtd insists, QEMU asks for them).
run_to 60 qemu-io --image-opts \
    -c 'write -P 0xcd 0 65536' -c 'write -P 0xdc 524288 524288' \
    -c 'read -P 0xcd 0 65536' -c 'read -P 0xdc 524288 524288' \
    "driver=iscsi,transport=tcp,portal=127.0.0.1:$PORT,target=$IQN_HD,lun=1,header-digest=crc32c" \
    >"$WORK/qemu-io-hd.log" 2>&1 || { cat "$WORK/qemu-io-hd.log" >&2; fail "qemu-io with header digests failed"; }

cap_stop
tgt_stop
log "capture: $(stat -c %s "$CAP") bytes"

# The capture must hold the header-digest session.
n_hd=$(timeout 300 tshark -n -r "$CAP" -d "tcp.port==$PORT,iscsi" -o iscsi.bogus_pdu_max_data_len:16777216 \
    -Y iscsi.headerdigest32 -T fields -e frame.number 2>/dev/null | wc -l)
[ "$n_hd" -gt 0 ] || fail "tshark sees no header digest in the capture"
log "$n_hd frames with header digests"

log "comparing storm-dump with tshark"
timeout -k 5 540 python3 "$STORM_IT_DIR/tshark_compare.py" --port "$PORT" --storm-dump "$STORM_DUMP" \
    --min-pdus 1000 \
    --expect-ops login_req,login_resp,text_req,text_resp,scsi_cmd,scsi_resp,data_in,data_out,r2t,tmf_req,tmf_resp,logout_req,logout_resp \
    "$CAP"
rc=$?
[ "$rc" -eq 0 ] || fail "storm-dump differs from tshark (exit $rc)"
log "PASS"
exit 0

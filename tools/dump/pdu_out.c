/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Default mode: one JSON object per PDU, in stream order. */
#include "dump.h"

static const char *dir_name(storm_dir d)
{
	return d == STORM_I2T ? "i2t" : "t2i";
}

static void put_cdb(json_line *j, const storm_pdu *pdu)
{
	size_t len;
	const uint8_t *cdb = storm_pdu_cdb(pdu, &len);
	storm_cdb_info info;
	if (!cdb || len == 0)
		return;
	jl_u64(j, "cdb_op", cdb[0]);
	if (storm_cdb_decode(cdb, len, &info) == 0 && info.addresses_blocks) {
		jl_u64(j, "lba", info.lba);
		jl_u64(j, "blocks", info.blocks);
	}
}

static void put_fields(json_line *j, const uint8_t *bhs)
{
	for (int f = 0; f < STORM_F_COUNT; f++) {
		uint64_t v;
		if (f == STORM_F_ITT || storm_bhs_field(bhs, (enum storm_field)f, &v))
			continue;
		if (f == STORM_F_LUN)
			v = storm_lun_decode(v);
		jl_u64(j, storm_field_name((enum storm_field)f), v);
	}
}

static void put_pdu(json_line *j, struct flow_ctx *fc, storm_dir d, const storm_pdu *pdu)
{
	const uint8_t *bhs = storm_pdu_bhs(pdu);
	unsigned op = storm_bhs_opcode(bhs);
	const char *name = storm_iscsi_opcode_name(op);
	jl_str(j, "flow", fc->name);
	jl_str(j, "dir", dir_name(d));
	jl_double(j, "ts", flow_now(fc));
	jl_u64(j, "opcode", op);
	jl_str(j, "op", name ? name : "reserved");
	jl_u64(j, "itt", storm_bhs_itt(bhs));
	jl_u64(j, "dsl", storm_bhs_dsl(bhs));
	put_fields(j, bhs);
	if (op == STORM_OP_SCSI_CMD)
		put_cdb(j, pdu);
	if (storm_pdu_lost(pdu))
		jl_bool(j, "lost", true);
}

static int on_pdu_end(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, void *user)
{
	(void)p;
	json_line j;
	jl_begin(&j);
	put_pdu(&j, user, d, pdu);
	jl_end(&j);
	return 0;
}

/* A malformed PDU is printed with what could be read of it and the reason. */
static void on_error(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, int err,
		     const char *reason, void *user)
{
	struct flow_ctx *fc = user;
	json_line j;
	jl_begin(&j);
	if (pdu) {
		put_pdu(&j, fc, d, pdu);
	} else {
		jl_str(&j, "flow", fc->name);
		jl_str(&j, "dir", dir_name(d));
		jl_double(&j, "ts", flow_now(fc));
	}
	jl_u64(&j, "stream_offset", storm_iscsi_offset(p, d));
	jl_str(&j, "error", reason && *reason ? reason : storm_strerror(err));
	jl_end(&j);
	fc->ff.broken[d] = true;
}

static void on_resync(storm_iscsi *p, storm_dir d, uint64_t skipped, void *user)
{
	struct flow_ctx *fc = user;
	json_line j;
	jl_begin(&j);
	jl_str(&j, "flow", fc->name);
	jl_str(&j, "dir", dir_name(d));
	jl_double(&j, "ts", flow_now(fc));
	jl_str(&j, "anomaly", "resync");
	jl_u64(&j, "skipped", skipped);
	jl_u64(&j, "stream_offset", storm_iscsi_offset(p, d));
	jl_end(&j);
}

void print_gap(struct flow_ctx *fc, storm_dir d, uint64_t len)
{
	json_line j;
	jl_begin(&j);
	jl_str(&j, "flow", fc->name);
	jl_str(&j, "dir", dir_name(d));
	jl_double(&j, "ts", flow_now(fc));
	jl_str(&j, "anomaly", "gap");
	jl_u64(&j, "lost", len);
	jl_end(&j);
}

void anomaly_callbacks(storm_iscsi_callbacks *cbs)
{
	storm_iscsi_callbacks_set_error(cbs, on_error);
	storm_iscsi_callbacks_set_resync(cbs, on_resync);
}

int pdu_out_callbacks(storm_iscsi_callbacks **cbs)
{
	int rc = storm_iscsi_callbacks_new(cbs);
	if (rc)
		return rc;
	storm_iscsi_callbacks_set_pdu_end(*cbs, on_pdu_end);
	anomaly_callbacks(*cbs);
	return 0;
}

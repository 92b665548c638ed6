/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Structural checks on a BHS before its lengths are trusted. */
#include <stdio.h>
#include <string.h>

#include "iscsi/parser_int.h"
#include "util/bytes.h"

int iscsi_check_bhs(const storm_iscsi *p, storm_dir d, const uint8_t *bhs,
		    char *reason, size_t reason_len)
{
	unsigned op = storm_bhs_opcode(bhs);
	/* §11.2.1.1: the top bit of byte 0 is reserved; targets never set I. */
	if ((bhs[0] & 0x80) || (d == STORM_T2I && (bhs[0] & 0x40))) {
		snprintf(reason, reason_len, "reserved bit set in byte 0 (0x%02x)", bhs[0]);
		return STORM_ERR_PROTO;
	}
	if (!storm_iscsi_opcode_valid(op, d)) {
		snprintf(reason, reason_len, "opcode 0x%02x is reserved for %s PDUs", op,
			 d == STORM_I2T ? "initiator" : "target");
		return STORM_ERR_OPCODE;
	}
	uint32_t dsl = storm_bhs_dsl(bhs);
	uint32_t max = p->max_dsl[d];
	if (dsl > STORM_ISCSI_MAX_DSL || dsl > max) {
		snprintf(reason, reason_len,
			 "DataSegmentLength %u exceeds the %s maximum %u", dsl,
			 max < STORM_ISCSI_MAX_DSL ? "declared" : "hard", max);
		return STORM_ERR_LENGTH;
	}
	return 0;
}

/* RFC 7143 §11.2.2: each AHS is AHSLength (2 bytes), AHSType (1), then
 * AHSLength bytes, padded to a 4-byte boundary.  Type 1 is the Extended CDB
 * (§11.2.2.3), type 2 the Expected Bidirectional Read Data Length (§11.2.2.4). */
static int parse_one_ahs(struct iscsi_dir *ds, const uint8_t *a, size_t left,
			 size_t *used, char *reason, size_t reason_len)
{
	if (left < 4) {
		snprintf(reason, reason_len, "AHS truncated: %zu bytes left", left);
		return STORM_ERR_AHS;
	}
	size_t alen = ((size_t)a[0] << 8) | a[1];
	size_t total = (3 + alen + 3) & ~(size_t)3;
	if (total > left) {
		snprintf(reason, reason_len, "AHS of %zu bytes overruns TotalAHSLength (%zu left)",
			 total, left);
		return STORM_ERR_AHS;
	}
	uint8_t type = a[2];
	if (type == 1 && alen >= 1) {
		/* The reserved byte counts in AHSLength: CDB length = 15 + AHSLength. */
		memcpy(ds->cdb + 16, a + 4, alen - 1);
		ds->pdu.cdb_len = 16 + alen - 1;
	} else if (type == 2) {
		if (alen != 5) {
			snprintf(reason, reason_len, "bidirectional AHS length %zu, not 5", alen);
			return STORM_ERR_AHS;
		}
		ds->pdu.has_bidi = true;
		ds->pdu.bidi_len = get_be32(a + 4);
	}
	*used = total;
	return 0;
}

int iscsi_parse_ahs(struct iscsi_dir *ds, char *reason, size_t reason_len)
{
	const uint8_t *bhs = ds->hdr;
	size_t len = storm_bhs_ahs_len(bhs);
	bool cmd = storm_bhs_opcode(bhs) == STORM_OP_SCSI_CMD;
	ds->pdu.has_bidi = false;
	ds->pdu.cdb = NULL;
	ds->pdu.cdb_len = 0;
	if (cmd) {
		memcpy(ds->cdb, bhs + 32, 16);
		ds->pdu.cdb = ds->cdb;
		ds->pdu.cdb_len = 16;
	}
	for (size_t off = 0; off < len;) {
		size_t used;
		int rc = parse_one_ahs(ds, bhs + STORM_BHS_LEN + off, len - off, &used,
				       reason, reason_len);
		if (rc)
			return rc;
		off += used;
	}
	return 0;
}

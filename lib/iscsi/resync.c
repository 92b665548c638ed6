/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Losing bytes (a TCP gap) inside a data segment costs only those bytes: the
 * header said how long the segment is, so framing is kept.  Losing a header
 * loses framing, and the parser must find the next PDU boundary by looking.
 *
 * A candidate header is accepted when its BHS passes the normal checks and
 * the stricter ones below (fixed flag bits and reserved bytes that RFC 7143
 * §11 requires to be 0 or 1), and, when header digests are in use, when its
 * CRC32C matches: with digests a false match has odds of 2^-32; without them
 * resynchronisation is a heuristic, and storm_pdu_lost() / the resync
 * callback tell the user that the stream around it is not whole. */
#include <errno.h>
#include <string.h>

#include "iscsi/parser_int.h"
#include "util/bytes.h"

static bool plausible_target(const uint8_t *h, unsigned op, uint32_t dsl)
{
	switch (op) {
	case STORM_OP_NOP_IN: return h[1] == 0x80;
	case STORM_OP_SCSI_RESP: return (h[1] & 0xe1) == 0x80;
	case STORM_OP_TMF_RESP:
	case STORM_OP_LOGOUT_RESP: return h[1] == 0x80 && dsl == 0;
	case STORM_OP_DATA_IN: return (h[1] & 0x38) == 0 && h[2] == 0;
	case STORM_OP_R2T: return h[1] == 0x80 && h[2] == 0 && h[3] == 0 && dsl == 0;
	case STORM_OP_ASYNC:
	case STORM_OP_REJECT: return h[1] == 0x80;
	default: return true;
	}
}

static bool plausible_initiator(const uint8_t *h, unsigned op, uint32_t dsl)
{
	switch (op) {
	case STORM_OP_NOP_OUT: return h[1] == 0x80 && h[2] == 0 && h[3] == 0;
	case STORM_OP_SCSI_CMD: return (h[1] & 0x18) == 0;
	case STORM_OP_TMF_REQ:
	case STORM_OP_LOGOUT_REQ: return (h[1] & 0x80) && dsl == 0;
	case STORM_OP_DATA_OUT: return (h[1] & 0x7f) == 0 && h[2] == 0 && h[3] == 0;
	case STORM_OP_SNACK: return (h[1] & 0xf0) == 0x80;
	default: return true;
	}
}

/* 1: accept, 0: reject, -1: need *need bytes to decide. */
static int candidate(const storm_iscsi *p, storm_dir d, const uint8_t *h, size_t have,
		     size_t *need)
{
	char why[192];
	*need = STORM_BHS_LEN;
	if (have < STORM_BHS_LEN)
		return -1;
	if (iscsi_check_bhs(p, d, h, why, sizeof why))
		return 0;
	unsigned op = storm_bhs_opcode(h);
	uint32_t dsl = storm_bhs_dsl(h);
	size_t ahs = storm_bhs_ahs_len(h);
	if (ahs && op != STORM_OP_SCSI_CMD)
		return 0;
	bool ok = d == STORM_I2T ? plausible_initiator(h, op, dsl) : plausible_target(h, op, dsl);
	if (!ok)
		return 0;
	if (!p->hdigest)
		return 1;
	*need = STORM_BHS_LEN + ahs + ISCSI_DIGEST_LEN;
	if (have < *need)
		return -1;
	return get_le32(h + STORM_BHS_LEN + ahs) == storm_crc32c(0, h, STORM_BHS_LEN + ahs);
}

/* The window may hold more than the accepted header: a longer candidate
 * rejected before it was gathered in full.  Those bytes follow the header in
 * the stream; they go to the replay buffer and are parsed again. */
static void accept(storm_iscsi *p, storm_dir d, size_t used, size_t need)
{
	struct iscsi_dir *ds = &p->dir[d];
	ds->st = ST_HEADER;
	ds->hdr_need = 0;
	ds->pdu.offset = ds->offset + used - ds->have;
	if (ds->have > need) {
		size_t extra = ds->have - need;
		size_t left = ds->replay_len - ds->replay_pos;
		/* Bytes still waiting in the replay buffer come after these. */
		memmove(ds->replay + extra, ds->replay + ds->replay_pos, left);
		memcpy(ds->replay, ds->hdr + need, extra);
		ds->replay_pos = 0;
		ds->replay_len = extra + left;
		ds->offset -= extra;
		ds->have = need;
	}
	uint64_t skipped = ds->resync_skipped;
	ds->resync_skipped = 0;
	if (p->cb.resync)
		p->cb.resync(p, d, skipped, p->user);
}

size_t iscsi_resync_scan(storm_iscsi *p, storm_dir d, const uint8_t *in, size_t len)
{
	struct iscsi_dir *ds = &p->dir[d];
	size_t used = 0;
	for (;;) {
		size_t need;
		int v = candidate(p, d, ds->hdr, ds->have, &need);
		if (v > 0) {
			accept(p, d, used, need);
			return used;
		}
		if (v < 0) {
			size_t n = need - ds->have;
			n = n < len - used ? n : len - used;
			memcpy(ds->hdr + ds->have, in + used, n);
			ds->have += n;
			used += n;
			if (ds->have < need)
				return used;
			continue;
		}
		/* Rejected: slide the window by one byte. */
		memmove(ds->hdr, ds->hdr + 1, ds->have - 1);
		ds->have--;
		ds->resync_skipped++;
	}
}

/* Enters resynchronisation, counting the partial header as skipped. */
static void start_resync(struct iscsi_dir *ds, uint64_t lost)
{
	ds->resync_skipped += ds->have + lost;
	ds->have = 0;
	ds->hdr_need = 0;
	ds->text.len = 0;
	ds->st = ST_RESYNC;
}

/* Skips lost bytes inside the data segment or trailer; returns bytes used. */
static uint64_t skip_in_pdu(struct iscsi_dir *ds, uint64_t len)
{
	uint64_t n;
	if (ds->st == ST_DATA) {
		n = ds->dsl - ds->data_done;
		n = n < len ? n : len;
		ds->data_done += (uint32_t)n;
		ds->pdu.lost = true;
		ds->text.len = 0;
		if (ds->data_done == ds->dsl) {
			ds->st = ST_TRAILER;
			ds->have = 0;
		}
		return n;
	}
	n = ds->trailer_len - ds->have;
	n = n < len ? n : len;
	ds->have += (size_t)n;
	ds->pdu.lost = true;
	return n;
}

STORM_EXTERN int storm_iscsi_gap(storm_iscsi *p, storm_dir d, uint64_t len)
{
	if ((unsigned)d > STORM_T2I)
		return -EINVAL;
	struct iscsi_dir *ds = &p->dir[d];
	/* Bytes waiting to be parsed again precede the loss; a caller that
	 * reports a gap without resuming a pause first loses them too. */
	if (ds->replay_pos < ds->replay_len) {
		len += ds->replay_len - ds->replay_pos;
		ds->replay_pos = ds->replay_len = 0;
	}
	while (len > 0 || (ds->st == ST_TRAILER && ds->have == ds->trailer_len && ds->pdu.lost)) {
		if (ds->st == ST_BROKEN)
			return STORM_ERR_BROKEN;
		if (ds->st == ST_DATA || (ds->st == ST_TRAILER && ds->have < ds->trailer_len)) {
			uint64_t n = skip_in_pdu(ds, len);
			ds->offset += n;
			len -= n;
		} else if (ds->st == ST_TRAILER) {
			int rc = iscsi_gap_pdu_end(p, d);
			if (rc < 0)
				return rc;
		} else {
			if (ds->st != ST_RESYNC)
				start_resync(ds, len);
			else {
				ds->resync_skipped += ds->have + len;
				ds->have = 0;
			}
			ds->offset += len;
			len = 0;
		}
	}
	return 0;
}

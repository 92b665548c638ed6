/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The per-direction state machine: header, data segment, trailer (padding
 * and data digest), then the end of the PDU.  RFC 7143 §11.2 gives the
 * layout: BHS (48), AHS (TotalAHSLength*4), HeaderDigest, data segment padded
 * to 4 bytes, DataDigest (only when DataSegmentLength > 0). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/parser_int.h"
#include "util/bytes.h"

static void report_error(storm_iscsi *p, storm_dir d, int err)
{
	struct iscsi_dir *ds = &p->dir[d];
	bool have_header = ds->st != ST_RESYNC && ds->header_done;
	ds->st = ST_BROKEN;
	if (p->cb.error)
		p->cb.error(p, d, have_header ? &ds->pdu : NULL, err, ds->reason, p->user);
}

int iscsi_fail(storm_iscsi *p, storm_dir d, int err, const char *fmt, ...)
{
	struct iscsi_dir *ds = &p->dir[d];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ds->reason, sizeof ds->reason, fmt, ap);
	va_end(ap);
	report_error(p, d, err);
	return err;
}

/* Maps a callback's return value: 0 goes on, STORM_PAUSE pauses, anything
 * else fails the direction. */
static int cb_result(storm_iscsi *p, storm_dir d, int rc, const char *what)
{
	if (rc == 0 || rc == STORM_PAUSE)
		return rc;
	return iscsi_fail(p, d, rc < 0 ? rc : STORM_ERR_CALLBACK, "%s callback returned %d",
			  what, rc);
}

static bool is_text_pdu(const uint8_t *bhs)
{
	unsigned op = storm_bhs_opcode(bhs);
	return op == STORM_OP_LOGIN_REQ || op == STORM_OP_LOGIN_RESP ||
	       op == STORM_OP_TEXT_REQ || op == STORM_OP_TEXT_RESP;
}

struct text_ctx {
	storm_iscsi *p;
	storm_dir d;
};

static int on_pair(void *ctx, const char *key, const char *value)
{
	struct text_ctx *t = ctx;
	neg_statement(&t->p->neg, t->d, key, value);
	if (!t->p->cb.text)
		return 0;
	int rc = t->p->cb.text(t->p, t->d, &t->p->dir[t->d].pdu, key, value, t->p->user);
	return rc == STORM_PAUSE ? 0 : rc; /* text callbacks cannot pause */
}

static int text_result(storm_iscsi *p, storm_dir d, int rc, const char *why)
{
	if (rc == STORM_ERR_TEXT)
		return iscsi_fail(p, d, rc, "%s", why);
	return cb_result(p, d, rc, "text");
}

/* ---- header ---------------------------------------------------------- */

static int header_complete(storm_iscsi *p, storm_dir d)
{
	struct iscsi_dir *ds = &p->dir[d];
	size_t hlen = STORM_BHS_LEN + storm_bhs_ahs_len(ds->hdr);
	if (p->hdigest) {
		uint32_t want = get_le32(ds->hdr + hlen);
		uint32_t got = storm_crc32c(0, ds->hdr, hlen);
		if (want != got)
			return iscsi_fail(p, d, STORM_ERR_HDIGEST,
					  "header digest 0x%08x, computed 0x%08x", want, got);
	}
	char why[sizeof ds->reason];
	/* The PDU is whole enough for the error callback before its AHS is read. */
	ds->pdu.hdr = ds->hdr;
	ds->pdu.ahs_len = storm_bhs_ahs_len(ds->hdr);
	ds->pdu.lost = false;
	ds->header_done = true;
	int rc = iscsi_parse_ahs(ds, why, sizeof why);
	if (rc)
		return iscsi_fail(p, d, rc, "%s", why);
	ds->dsl = storm_bhs_dsl(ds->hdr);
	ds->data_done = 0;
	ds->crc = 0;
	ds->digest_data = p->ddigest && ds->dsl > 0;
	ds->trailer_len = ((4 - (ds->dsl & 3)) & 3) + (ds->digest_data ? ISCSI_DIGEST_LEN : 0);
	ds->st = ds->dsl ? ST_DATA : ST_TRAILER;
	ds->have = 0;
	if (!p->cb.pdu)
		return 0;
	return cb_result(p, d, p->cb.pdu(p, d, &ds->pdu, p->user), "pdu");
}

static int step_header(storm_iscsi *p, storm_dir d, const uint8_t *in, size_t len, size_t *used)
{
	struct iscsi_dir *ds = &p->dir[d];
	size_t n = 0;
	if (!ds->hdr_need) {
		if (ds->have == 0)
			ds->pdu.offset = ds->offset;
		ds->header_done = false;
		n = STORM_BHS_LEN > ds->have ? STORM_BHS_LEN - ds->have : 0;
		n = n < len ? n : len;
		memcpy(ds->hdr + ds->have, in, n);
		ds->have += n;
		*used = n;
		if (ds->have < STORM_BHS_LEN)
			return 0;
		char why[sizeof ds->reason];
		int rc = iscsi_check_bhs(p, d, ds->hdr, why, sizeof why);
		if (rc)
			return iscsi_fail(p, d, rc, "%s", why);
		ds->hdr_need = STORM_BHS_LEN + storm_bhs_ahs_len(ds->hdr) +
			       (p->hdigest ? ISCSI_DIGEST_LEN : 0);
	}
	size_t m = ds->hdr_need - ds->have;
	m = m < len - n ? m : len - n;
	memcpy(ds->hdr + ds->have, in + n, m);
	ds->have += m;
	*used = n + m;
	if (ds->have < ds->hdr_need)
		return 0;
	ds->hdr_need = 0;
	return header_complete(p, d);
}

/* ---- data segment ---------------------------------------------------- */

static int step_data(storm_iscsi *p, storm_dir d, const uint8_t *in, size_t len, size_t *used)
{
	struct iscsi_dir *ds = &p->dir[d];
	size_t n = ds->dsl - ds->data_done;
	n = n < len ? n : len;
	*used = n;
	if (ds->digest_data)
		ds->crc = storm_crc32c(ds->crc, in, n);
	uint32_t off = ds->data_done;
	ds->data_done += (uint32_t)n;
	if (ds->data_done == ds->dsl)
		ds->st = ST_TRAILER;
	if (is_text_pdu(ds->hdr)) {
		struct text_ctx tc = {p, d};
		const char *why = "";
		int rc = text_feed(&ds->text, in, n, on_pair, &tc, &why);
		if (rc)
			return text_result(p, d, rc, why);
	}
	if (!p->cb.data)
		return 0;
	return cb_result(p, d, p->cb.data(p, d, &ds->pdu, off, in, n, p->user), "data");
}

/* ---- trailer and end --------------------------------------------------- */

static int pdu_end(storm_iscsi *p, storm_dir d)
{
	struct iscsi_dir *ds = &p->dir[d];
	if (ds->digest_data && !ds->pdu.lost) {
		size_t pad = ds->trailer_len - ISCSI_DIGEST_LEN;
		uint32_t got = storm_crc32c(ds->crc, ds->trailer, pad);
		uint32_t want = get_le32(ds->trailer + pad);
		if (got != want)
			return iscsi_fail(p, d, STORM_ERR_DDIGEST,
					  "data digest 0x%08x, computed 0x%08x", want, got);
	}
	ds->st = ST_HEADER;
	ds->have = 0;
	if (is_text_pdu(ds->hdr)) {
		struct text_ctx tc = {p, d};
		const char *why = "";
		bool continued = ds->hdr[1] & 0x40;
		if (ds->pdu.lost)
			ds->text.len = 0; /* a pair with a hole in it is not trusted */
		int rc = text_pdu_end(&ds->text, continued, on_pair, &tc, &why);
		if (rc)
			return text_result(p, d, rc, why);
	}
	iscsi_negotiation_pdu_end(p, d, ds->hdr);
	if (!p->cb.pdu_end)
		return 0;
	return cb_result(p, d, p->cb.pdu_end(p, d, &ds->pdu, p->user), "pdu_end");
}

int iscsi_gap_pdu_end(storm_iscsi *p, storm_dir d)
{
	int rc = pdu_end(p, d);
	return rc == STORM_PAUSE ? 0 : rc;
}

static int step_trailer(storm_iscsi *p, storm_dir d, const uint8_t *in, size_t len, size_t *used)
{
	struct iscsi_dir *ds = &p->dir[d];
	size_t n = ds->trailer_len - ds->have;
	n = n < len ? n : len;
	memcpy(ds->trailer + ds->have, in, n);
	ds->have += n;
	*used = n;
	if (ds->have < ds->trailer_len)
		return 0;
	return pdu_end(p, d);
}

/* ---- feeding ---------------------------------------------------------- */

static int step(storm_iscsi *p, storm_dir d, const uint8_t *in, size_t len, size_t *used)
{
	switch (p->dir[d].st) {
	case ST_HEADER: return step_header(p, d, in, len, used);
	case ST_DATA: return step_data(p, d, in, len, used);
	case ST_TRAILER: return step_trailer(p, d, in, len, used);
	case ST_RESYNC: *used = iscsi_resync_scan(p, d, in, len); return 0;
	default: return STORM_ERR_BROKEN;
	}
}

/* Work that needs no more input: a PDU whose trailer is complete, or a
 * header already gathered (after resynchronisation). */
static bool pending(const struct iscsi_dir *ds)
{
	if (ds->replay_pos < ds->replay_len)
		return true;
	if (ds->st == ST_TRAILER)
		return ds->have == ds->trailer_len;
	return ds->st == ST_HEADER && ds->have >= STORM_BHS_LEN &&
	       (!ds->hdr_need || ds->have >= ds->hdr_need);
}

STORM_EXTERN bool storm_iscsi_pending(const storm_iscsi *p, storm_dir d)
{
	return (unsigned)d <= STORM_T2I && pending(&p->dir[d]);
}

STORM_EXTERN ssize_t storm_iscsi_feed(storm_iscsi *p, storm_dir d, const uint8_t *in, size_t len)
{
	if ((unsigned)d > STORM_T2I)
		return -EINVAL;
	static const uint8_t none[1];
	if (!in) {
		if (len)
			return -EINVAL;
		in = none; /* resuming after a pause: no bytes, still a valid pointer */
	}
	struct iscsi_dir *ds = &p->dir[d];
	size_t pos = 0;
	for (;;) {
		if (ds->st == ST_BROKEN)
			return STORM_ERR_BROKEN;
		/* A PDU whose trailer is empty ends without waiting for input. */
		bool ready = ds->st == ST_TRAILER && ds->have == ds->trailer_len;
		bool replay = ds->replay_pos < ds->replay_len;
		if (pos == len && !pending(ds))
			break;
		size_t used = 0;
		int rc;
		if (ready) {
			rc = pdu_end(p, d);
		} else if (replay) {
			/* Consumed before, counted in pos then: only the offset moves. */
			rc = step(p, d, ds->replay + ds->replay_pos,
				  ds->replay_len - ds->replay_pos, &used);
			ds->replay_pos += used;
			ds->offset += used;
			used = 0;
		} else {
			rc = step(p, d, in + pos, len - pos, &used);
		}
		pos += used;
		ds->offset += used;
		if (rc == STORM_PAUSE)
			break;
		if (rc < 0)
			return rc;
	}
	return (ssize_t)pos;
}

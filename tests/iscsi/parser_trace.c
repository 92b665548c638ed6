/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "parser_trace.h"

#include <criterion/criterion.h>
#include <string.h>

static int maybe_pause(ptrace *pt)
{
	pt->calls++;
	return pt->pause_every && pt->calls % pt->pause_every == 0 ? STORM_PAUSE : 0;
}

static int on_pdu(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, void *user)
{
	(void)p;
	ptrace *pt = user;
	pt->crc[d] = 0;
	pt->next_off[d] = 0;
	size_t cdb_len;
	storm_pdu_cdb(pdu, &cdb_len);
	tb_tracef(&pt->t, "H%d op=%02x cdb=%zu at=%llu\n", d, storm_bhs_opcode(storm_pdu_bhs(pdu)),
		  cdb_len, (unsigned long long)storm_pdu_stream_offset(pdu));
	return maybe_pause(pt);
}

static int on_data(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, uint32_t off,
		   const uint8_t *data, size_t len, void *user)
{
	(void)p;
	(void)pdu;
	ptrace *pt = user;
	cr_assert_geq(off, pt->next_off[d], "data pieces in order (a gap may skip)");
	cr_assert_gt(len, 0);
	pt->next_off[d] = off + (uint32_t)len;
	pt->crc[d] = storm_crc32c(pt->crc[d], data, len);
	return maybe_pause(pt);
}

static int on_end(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, void *user)
{
	(void)p;
	ptrace *pt = user;
	const uint8_t *bhs = storm_pdu_bhs(pdu);
	tb_tracef(&pt->t, "E%d op=%02x itt=%u dsl=%u crc=%08x lost=%d\n", d, storm_bhs_opcode(bhs),
		  storm_bhs_itt(bhs), storm_bhs_dsl(bhs), pt->crc[d], storm_pdu_lost(pdu));
	return maybe_pause(pt);
}

static int on_text(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, const char *key,
		   const char *value, void *user)
{
	(void)p;
	(void)pdu;
	tb_tracef(&((ptrace *)user)->t, "T%d %s=%s\n", d, key, value);
	return 0;
}

static void on_error(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, int err,
		     const char *reason, void *user)
{
	(void)p;
	ptrace *pt = user;
	pt->errors++;
	tb_tracef(&pt->t, "X%d err=%d pdu=%d reason=%s\n", d, err, pdu != NULL, reason);
}

static void on_resync(storm_iscsi *p, storm_dir d, uint64_t skipped, void *user)
{
	(void)p;
	tb_tracef(&((ptrace *)user)->t, "R%d skipped=%llu\n", d, (unsigned long long)skipped);
}

void ptrace_init(ptrace *pt)
{
	memset(pt, 0, sizeof *pt);
	storm_iscsi_callbacks *cb;
	cr_assert_eq(storm_iscsi_callbacks_new(&cb), 0);
	storm_iscsi_callbacks_set_pdu(cb, on_pdu);
	storm_iscsi_callbacks_set_data(cb, on_data);
	storm_iscsi_callbacks_set_pdu_end(cb, on_end);
	storm_iscsi_callbacks_set_text(cb, on_text);
	storm_iscsi_callbacks_set_error(cb, on_error);
	storm_iscsi_callbacks_set_resync(cb, on_resync);
	cr_assert_eq(storm_iscsi_new(&pt->p, cb, pt), 0);
	storm_iscsi_callbacks_del(cb);
}

void ptrace_free(ptrace *pt)
{
	storm_iscsi_del(pt->p);
	tb_trace_free(&pt->t);
}

ssize_t ptrace_feed(void *ctx, storm_dir d, const uint8_t *in, size_t len)
{
	ptrace *pt = ctx;
	ssize_t rc = storm_iscsi_feed(pt->p, d, in, len);
	/* A pause on the last byte leaves the PDU's end to a resuming call. */
	while (rc == (ssize_t)len && storm_iscsi_pending(pt->p, d)) {
		ssize_t r = storm_iscsi_feed(pt->p, d, NULL, 0);
		if (r < 0)
			return r;
	}
	return rc;
}

char *ptrace_run(const tb_script *s, tb_chunk_fn chunk, void *cstate, int pause_every, int *rc)
{
	ptrace pt;
	ptrace_init(&pt);
	pt.pause_every = pause_every;
	*rc = tb_run(s, ptrace_feed, &pt, chunk, cstate);
	tb_tracef(&pt.t, "ffp=%d hd=%d dd=%d max=%u/%u\n", storm_iscsi_in_ffp(pt.p),
		  storm_iscsi_header_digest(pt.p), storm_iscsi_data_digest(pt.p),
		  storm_iscsi_max_dsl(pt.p, STORM_I2T), storm_iscsi_max_dsl(pt.p, STORM_T2I));
	char *text = pt.t.text;
	pt.t.text = NULL;
	ptrace_free(&pt);
	return text;
}

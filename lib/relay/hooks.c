/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The session and parser callbacks of every relayed connection: they check
 * the initiator's IQN and call the relay's hooks with the connection. */
#include <errno.h>
#include <string.h>

#include "relay/refuse.h"
#include "relay/relay_int.h"
#include "util/bytes.h"

static void redigest(storm_conn *c, storm_dir d, const storm_pdu *pdu);

/* A hook's answer, remembered when it fails the connection (storm_relay_stats
 * counts that as failed, whatever error it chose). */
static int hook_rc(storm_conn *c, int rc)
{
	if (rc < 0)
		c->end_why = END_HOOK;
	return rc;
}

static bool rewritable(const storm_conn *c, storm_iscsi *p, storm_dir d, const storm_pdu *pdu)
{
	return d == STORM_T2I && c->relay->cfg.rewrite_discovery && storm_iscsi_discovery(p) &&
	       storm_bhs_opcode(storm_pdu_bhs(pdu)) == STORM_OP_TEXT_RESP;
}

static int on_pdu(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, void *user)
{
	storm_conn *c = user;
	storm_relay *r = c->relay;
	c->pdu_start[d] = storm_pdu_stream_offset(pdu);
	c->dcrc[d] = 0;
	c->hooked[d] = 0;
	if (r->cb.io_start) {
		int rc = refuse_on_pdu(c, d, pdu);
		if (rc)
			return rc;
	}
	/* Nothing from this PDU on is forwarded until it is rewritten. */
	if (rewritable(c, p, d, pdu)) {
		c->held[d] = true;
		c->hold_from[d] = c->pdu_start[d];
	}
	return r->cb.pdu ? hook_rc(c, r->cb.pdu(r, c, d, pdu, r->user)) : 0;
}

/* The held PDU is whole: pause the parser so the relay rewrites it before
 * the bytes after it are parsed (they move). */
static int on_pdu_end(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, void *user)
{
	storm_conn *c = user;
	if (c->relay->cb.io_data && !refuse_dropping(c, d))
		redigest(c, d, pdu);
	/* A refused PDU is cut, or a response injected, before the next byte. */
	int rc = refuse_on_pdu_end(c, d);
	if (rc)
		return rc;
	if (!c->held[d] || !rewritable(c, p, d, pdu))
		return 0;
	c->rewrite_due = true;
	return STORM_PAUSE;
}

/* RFC 7143 §13.5: InitiatorName is sent in the first Login Request; checking
 * it here keeps a refused initiator from ever reaching the target. */
static int on_text(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, const char *key,
		   const char *value, void *user)
{
	(void)p;
	(void)pdu;
	storm_conn *c = user;
	const struct storm_relay_config *cfg = &c->relay->cfg;
	if (d != STORM_I2T || cfg->niqn == 0 || strcmp(key, "InitiatorName") != 0)
		return 0;
	for (unsigned i = 0; i < cfg->niqn; i++)
		if (strcmp(cfg->iqn[i], value) == 0)
			return 0;
	c->end_why = END_IQN;
	return -EACCES;
}

/* A hook that returns STORM_PAUSE holds the command: its PDU and all that
 * follows in that direction stay in the relay until storm_conn_release(). */
static int on_start(storm_session *s, storm_io *io, void *user)
{
	(void)s;
	storm_conn *c = user;
	storm_relay *r = c->relay;
	c->starting = io;
	int rc = r->cb.io_start ? hook_rc(c, r->cb.io_start(r, c, io, r->user)) : 0;
	c->starting = NULL;
	if (rc == STORM_PAUSE && refuse_dropping(c, STORM_I2T))
		rc = 0; /* refused: nothing to hold */
	if (rc == STORM_PAUSE) {
		c->held[STORM_I2T] = true;
		c->hold_from[STORM_I2T] = c->pdu_start[STORM_I2T];
		c->paused[STORM_I2T] = true;
	}
	return rc;
}

/* The parser was fed the relay's own buffer, so the bytes are writable. */
static int on_data(storm_session *s, storm_io *io, storm_dir d, uint64_t off,
		   const uint8_t *data, size_t len, void *user)
{
	storm_conn *c = user;
	storm_relay *r = c->relay;
	if (refuse_dropping(c, d))
		return 0; /* refused: the data goes nowhere */
	uint8_t *bytes = (uint8_t *)(uintptr_t)data;
	int rc = r->cb.io_data ? hook_rc(c, r->cb.io_data(r, c, io, d, off, bytes, len, r->user)) : 0;
	if (storm_iscsi_data_digest(storm_session_parser(s))) {
		c->dcrc[d] = storm_crc32c(c->dcrc[d], bytes, len);
		c->hooked[d] += (uint32_t)len;
	}
	return rc;
}

/* RFC 7143 §11.2.3: the data digest covers the data segment and its padding.
 * When hooks saw the whole segment, the digest is rewritten over what they
 * left, before the PDU's last bytes can leave the buffer (guard.c holds a
 * trailer that arrives in pieces). */
static void redigest(storm_conn *c, storm_dir d, const storm_pdu *pdu)
{
	const uint8_t *bhs = storm_pdu_bhs(pdu);
	uint32_t dsl = storm_bhs_dsl(bhs);
	storm_iscsi *p = storm_session_parser(c->session);
	if (!dsl || c->hooked[d] != dsl || !storm_iscsi_data_digest(p))
		return;
	size_t hlen = STORM_BHS_LEN + storm_bhs_ahs_len(bhs) + (storm_iscsi_header_digest(p) ? 4 : 0);
	size_t pad = (4 - (dsl & 3)) & 3;
	uint8_t *tail = c->buf[d].data + buf_pos(c, d, c->pdu_start[d] + hlen + dsl);
	put_le32(tail + pad, storm_crc32c(c->dcrc[d], tail, pad));
}

static int on_done(storm_session *s, storm_io *io, void *user)
{
	(void)s;
	storm_conn *c = user;
	storm_relay *r = c->relay;
	return r->cb.io_done ? hook_rc(c, r->cb.io_done(r, c, io, r->user)) : 0;
}

int hooks_make(storm_relay *r)
{
	if (storm_session_callbacks_new(&r->scb) || storm_iscsi_callbacks_new(&r->pcb))
		return -ENOMEM;
	storm_iscsi_callbacks_set_pdu(r->pcb, on_pdu);
	storm_iscsi_callbacks_set_text(r->pcb, on_text);
	storm_iscsi_callbacks_set_pdu_end(r->pcb, on_pdu_end);
	if (r->cb.io_start)
		storm_session_callbacks_set_start(r->scb, on_start);
	if (r->cb.io_data)
		storm_session_callbacks_set_data(r->scb, on_data);
	if (r->cb.io_done)
		storm_session_callbacks_set_done(r->scb, on_done);
	return 0;
}

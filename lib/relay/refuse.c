/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Refusing a command (storm_conn_refuse()).
 *
 * An io_start hook refuses the SCSI Command whose header was just parsed.
 * The relay then
 *  - cuts the command PDU (header, immediate data, digests) out of the I2T
 *    buffer as the parser passes it, and every later unsolicited Data-Out
 *    of that task (ITT, TTT 0xffffffff, until the one with F): the target
 *    never sees a byte of it.  Partial I2T headers never leave the relay
 *    while refusals are possible (guard.c), so a command is still whole
 *    in the buffer when its hook refuses it;
 *  - answers the initiator with a SCSI Response (RFC 7143 §11.4): CHECK
 *    CONDITION, fixed-format sense (SPC-4 §4.5.3), inserted into the T2I
 *    stream at the next PDU boundary with the StatSN the initiator expects
 *    there.  The inserted bytes go through the session tracker like the
 *    target's own, so the task ends there and io_done reports it;
 *  - translates CmdSN, ExpStatSN, StatSN, ExpCmdSN, MaxCmdSN (seqmap.c) in
 *    every later header, with its header digest recomputed.
 *
 * Stream offsets are those of the parser (bytes fed); buffer positions
 * follow them through the tail (buf_pos()), which stays right for every
 * offset past the last cut or insertion. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/parser_int.h"
#include "relay/refuse.h"
#include "util/bytes.h"

#define ITT_NONE 0xffffffffu

static storm_iscsi *parser_of(const storm_conn *c) { return storm_session_parser(c->session); }

/* Bytes of the PDU whose header is @p bhs, as framed on this connection now. */
static uint64_t wire_len(const storm_iscsi *p, const uint8_t *bhs)
{
	uint32_t dsl = storm_bhs_dsl(bhs);
	uint64_t n = STORM_BHS_LEN + storm_bhs_ahs_len(bhs) + (storm_iscsi_header_digest(p) ? 4 : 0);
	n += dsl + ((4 - (dsl & 3)) & 3);
	if (dsl && storm_iscsi_data_digest(p))
		n += 4;
	return n;
}

/* The header of the PDU being parsed in @p d, in the relay's buffer
 * (guard.c keeps it there), or NULL if some of it left already. */
static uint8_t *header_in_buffer(storm_conn *c, storm_dir d)
{
	struct relay_buf *b = &c->buf[d];
	uint64_t back = c->stream_at_tail[d] - c->pdu_start[d];
	return back <= b->tail - b->head ? b->data + (b->tail - back) : NULL;
}

/* RFC 7143 §11.2.1.7 (via RFC 3720 B.4): CRC32C over BHS and AHS. */
static void header_digest(storm_conn *c, uint8_t *h)
{
	if (!storm_iscsi_header_digest(parser_of(c)))
		return;
	size_t hlen = STORM_BHS_LEN + storm_bhs_ahs_len(h);
	put_le32(h + hlen, storm_crc32c(0, h, hlen));
}

/* ---- the target's numbers ---------------------------------------------- */

/* RFC 7143 §4.2.2.2, §11.7.4, §11.8.3, §11.19: every response advances
 * StatSN except R2T, Data-In without status and an unsolicited NOP-In,
 * which carry the next StatSN (Data-In without S carries none). */
static void track(storm_conn *c, const uint8_t *bhs)
{
	unsigned op = storm_bhs_opcode(bhs);
	if (op != STORM_OP_DATA_IN || (bhs[1] & 0x01)) {
		bool advances = op != STORM_OP_R2T &&
				!(op == STORM_OP_NOP_IN && storm_bhs_itt(bhs) == ITT_NONE);
		uint32_t next = get_be32(bhs + 24) + (advances ? 1 : 0);
		if (!c->t2i_seen || sn_lt(c->t2i_statsn, next))
			c->t2i_statsn = next;
	}
	c->t2i_expcmdsn = get_be32(bhs + 28);
	c->t2i_maxcmdsn = get_be32(bhs + 32);
	c->t2i_seen = true;
}

/* ---- translation --------------------------------------------------------- */

static int translate_t2i(storm_conn *c, struct refusal *f, const uint8_t *bhs)
{
	uint8_t *h = header_in_buffer(c, STORM_T2I);
	if (!h)
		return STORM_ERR_PROTO;
	struct seqmap *m = &f->map;
	if (storm_bhs_opcode(bhs) != STORM_OP_DATA_IN || (bhs[1] & 0x01))
		put_be32(h + 24, seqmap_stat_to_initiator(m, get_be32(bhs + 24)));
	uint32_t exp = get_be32(bhs + 28);
	seqmap_fold_cmd(m, exp);
	uint32_t exp_i = seqmap_exp_to_initiator(m, exp);
	put_be32(h + 28, exp_i);
	put_be32(h + 32, seqmap_max_to_initiator(m, get_be32(bhs + 32), exp_i));
	header_digest(c, h);
	return 0;
}

/* CmdSN at 24 (all requests but Data-Out and SNACK), ExpStatSN at 28 (all);
 * ABORT TASK names its task's CmdSN (RefCmdSN, §11.5.4), a status SNACK a
 * StatSN (BegRun, §11.16.3).  An ABORT TASK of a refused task (one that
 * crossed the relay's answer) must not name the CmdSN the target will give
 * the next command: for a task it cannot find, a target takes a RefCmdSN
 * below the request's own CmdSN as received (§11.5.1).  It names the
 * request's own CmdSN instead, as for an immediate task: "no such task". */
static int translate_i2t(storm_conn *c, struct refusal *f, const uint8_t *bhs)
{
	uint8_t *h = header_in_buffer(c, STORM_I2T);
	if (!h)
		return STORM_ERR_PROTO;
	struct seqmap *m = &f->map;
	unsigned op = storm_bhs_opcode(bhs);
	if (op != STORM_OP_DATA_OUT && op != STORM_OP_SNACK)
		put_be32(h + 24, seqmap_cmd_to_target(m, get_be32(bhs + 24)));
	uint32_t expstat = get_be32(bhs + 28);
	seqmap_fold_stat(m, expstat);
	put_be32(h + 28, seqmap_stat_to_target(m, expstat));
	if (op == STORM_OP_TMF_REQ && (bhs[1] & 0x7f) == 1) {
		uint32_t ref = get_be32(bhs + 32);
		uint32_t target_ref = seqmap_cmd_refused(m, ref) ? get_be32(h + 24) : seqmap_cmd_to_target(m, ref);
		put_be32(h + 32, target_ref);
	}
	if (op == STORM_OP_SNACK && (bhs[1] & 0x0f) == 1)
		put_be32(h + 40, seqmap_stat_to_target(m, get_be32(bhs + 40)));
	header_digest(c, h);
	return 0;
}

/* ---- cutting refused PDUs out of I2T ------------------------------------- */

static bool awaiting_find(const struct refusal *f, uint32_t itt, size_t *at)
{
	for (size_t i = 0; i < f->nawaiting; i++)
		if (f->awaiting[i] == itt) {
			*at = i;
			return true;
		}
	return false;
}

static void awaiting_remove(struct refusal *f, size_t i)
{
	memmove(f->awaiting + i, f->awaiting + i + 1, (f->nawaiting - i - 1) * sizeof *f->awaiting);
	f->nawaiting--;
}

/* A full list forgets its oldest: that task's initiator sends its
 * unsolicited data very late or never. */
static void awaiting_add(struct refusal *f, uint32_t itt)
{
	if (f->nawaiting == REFUSE_MAX_AWAITING)
		awaiting_remove(f, 0);
	f->awaiting[f->nawaiting++] = itt;
}

static void start_drop(storm_conn *c, struct refusal *f, const uint8_t *bhs)
{
	f->dropping = true;
	f->drop_pdu = f->drop_from = c->pdu_start[STORM_I2T];
	f->drop_to = f->drop_from + wire_len(parser_of(c), bhs);
}

/* Removes stream range [from, to) of I2T, all of it parsed and unsent. */
static void cut(storm_conn *c, uint64_t from, uint64_t to)
{
	struct relay_buf *b = &c->buf[STORM_I2T];
	size_t a = buf_pos(c, STORM_I2T, from), e = buf_pos(c, STORM_I2T, to);
	if (a == b->head) {
		b->head = e;
		return;
	}
	memmove(b->data + a, b->data + e, b->tail - e);
	b->tail -= e - a;
}

static void cut_parsed(storm_conn *c, struct refusal *f)
{
	uint64_t to = c->stream_parsed[STORM_I2T];
	if (to > f->drop_to)
		to = f->drop_to;
	if (to > f->drop_from) {
		cut(c, f->drop_from, to);
		f->drop_from = to;
	}
	if (to == f->drop_to)
		f->dropping = false;
}

/* ---- injecting responses into T2I ---------------------------------------- */

/* Writes the response into @p out (REFUSE_RESP_MAX bytes); returns its
 * length.  RFC 7143 §11.4: SCSI Response, CHECK CONDITION, "command
 * completed at target"; §11.4.7: SenseLength then sense data, here fixed
 * format (SPC-4 §4.5.3: 0x70, key at 2, additional length 10 at 7, ASC and
 * ASCQ at 12 and 13).  Nothing was transferred: a residual underflow of the
 * whole EDTL. */
static size_t build_response(uint8_t *out, const struct refused_cmd *q, uint32_t statsn,
			     uint32_t exp, uint32_t max, bool hd, bool dd)
{
	enum { SENSE = 18, DSL = 2 + SENSE };
	memset(out, 0, REFUSE_RESP_MAX);
	out[0] = STORM_OP_SCSI_RESP;
	out[1] = 0x80 | (q->edtl ? 0x02 : 0);
	out[3] = 0x02;
	put_be24(out + 5, DSL);
	put_be32(out + 16, q->itt);
	put_be32(out + 20, ITT_NONE); /* SNACK Tag: none */
	put_be32(out + 24, statsn);
	put_be32(out + 28, exp);
	put_be32(out + 32, max);
	put_be32(out + 44, q->edtl);
	size_t o = STORM_BHS_LEN;
	if (hd) {
		put_le32(out + o, storm_crc32c(0, out, STORM_BHS_LEN));
		o += 4;
	}
	uint8_t *d = out + o;
	put_be16(d, SENSE);
	d[2] = 0x70;
	d[2 + 2] = q->key & 0x0f;
	d[2 + 7] = SENSE - 8;
	d[2 + 12] = q->asc;
	d[2 + 13] = q->ascq;
	o += DSL; /* a multiple of 4: no padding */
	if (dd) {
		put_le32(out + o, storm_crc32c(0, d, DSL));
		o += 4;
	}
	return o;
}

static size_t response_len(bool hd, bool dd)
{
	return STORM_BHS_LEN + 20 + (hd ? 4 : 0) + (dd ? 4 : 0);
}

/* The T2I parser stands between two PDUs and may take new bytes there. */
static bool injectable(const storm_conn *c)
{
	const struct iscsi_dir *ds = &parser_of(c)->dir[STORM_T2I];
	return ds->st == ST_HEADER && ds->have == 0 && ds->replay_pos == ds->replay_len &&
	       !c->held[STORM_T2I] && !c->shut[STORM_T2I];
}

/* Room for @p len more bytes at the tail of T2I: compacting, then growing
 * past the configured bound by at most REFUSE_SLACK, so an initiator that
 * does not read cannot make the relay grow without end. */
static int make_room(storm_conn *c, struct refusal *f, size_t len)
{
	struct relay_buf *b = &c->buf[STORM_T2I];
	if (b->tail + len <= b->cap)
		return 0;
	if (b->head) {
		memmove(b->data, b->data + b->head, b->tail - b->head);
		b->tail -= b->head;
		b->head = 0;
	}
	if (b->tail + len <= b->cap)
		return 0;
	size_t limit = c->relay->cfg.max_buffered + REFUSE_SLACK;
	if (b->tail + len > limit)
		return -ENOBUFS;
	if (f->t2i_alloc < limit) {
		uint8_t *data = realloc(b->data, limit);
		if (!data)
			return -ENOMEM;
		b->data = data;
		f->t2i_alloc = limit;
	}
	b->cap = b->tail + len; /* reading resumes once the initiator took these */
	return 0;
}

static void restore_cap(storm_conn *c)
{
	struct relay_buf *b = &c->buf[STORM_T2I];
	size_t bound = c->relay->cfg.max_buffered;
	if (b->cap > bound && b->tail <= bound)
		b->cap = bound;
}

/* Inserts the waiting responses where the parser will read next: after the
 * injected bytes it has not read yet, else at its position.  StatSN: the
 * one the initiator expects there (the target's next, plus those injected
 * before); ExpCmdSN and MaxCmdSN: the target's last, translated. */
static int inject(storm_conn *c, struct refusal *f)
{
	storm_iscsi *p = parser_of(c);
	bool hd = storm_iscsi_header_digest(p), dd = storm_iscsi_data_digest(p);
	size_t len = f->npending * response_len(hd, dd);
	int rc = make_room(c, f, len);
	if (rc)
		return rc;
	struct relay_buf *b = &c->buf[STORM_T2I];
	uint64_t at = c->stream_parsed[STORM_T2I];
	bool append = f->inj_to > at;
	if (append)
		at = f->inj_to;
	size_t pos = buf_pos(c, STORM_T2I, at);
	memmove(b->data + pos + len, b->data + pos, b->tail - pos);
	uint8_t *out = b->data + pos;
	for (size_t i = 0; i < f->npending; i++) {
		uint8_t resp[REFUSE_RESP_MAX];
		uint32_t statsn = c->t2i_statsn + f->map.injected;
		uint32_t exp = seqmap_exp_to_initiator(&f->map, c->t2i_expcmdsn);
		uint32_t max = seqmap_max_to_initiator(&f->map, c->t2i_maxcmdsn, exp);
		size_t n = build_response(resp, &f->pending[i], statsn, exp, max, hd, dd);
		memcpy(out, resp, n);
		out += n;
		seqmap_add_stat(&f->map, statsn);
	}
	b->tail += len;
	c->stream_at_tail[STORM_T2I] += len;
	if (!append)
		f->inj_from = at;
	f->inj_to = at + len;
	f->npending = 0;
	return 0;
}

/* ---- the relay's calls ----------------------------------------------------- */

int refuse_fed(storm_conn *c, storm_dir d)
{
	struct refusal *f = c->refusal;
	if (d == STORM_I2T && f->dropping)
		cut_parsed(c, f);
	restore_cap(c);
	return f->npending && injectable(c) ? inject(c, f) : 0;
}

bool refuse_t2i_waiting(const storm_conn *c)
{
	return c->stream_parsed[STORM_T2I] < c->stream_at_tail[STORM_T2I] && !c->paused[STORM_T2I];
}

int refuse_on_pdu(storm_conn *c, storm_dir d, const storm_pdu *pdu)
{
	const uint8_t *bhs = storm_pdu_bhs(pdu);
	struct refusal *f = c->refusal;
	uint64_t at = c->pdu_start[d];
	if (d == STORM_I2T && storm_bhs_opcode(bhs) == STORM_OP_LOGIN_REQ && get_be16(bhs + 14))
		c->joined_session = true; /* TSIH: a connection added to a session */
	if (d == STORM_T2I) {
		if (f && at >= f->inj_from && at < f->inj_to)
			return 0; /* the relay's own: in the initiator's numbers already */
		track(c, bhs);
		if (!f)
			return 0;
		if (f->skip_t2i && f->skip_t2i_at == at) {
			f->skip_t2i = false;
			return 0;
		}
		return translate_t2i(c, f, bhs);
	}
	if (!f)
		return 0;
	unsigned op = storm_bhs_opcode(bhs);
	size_t i;
	if (awaiting_find(f, storm_bhs_itt(bhs), &i)) {
		if (op == STORM_OP_DATA_OUT && get_be32(bhs + 20) == ITT_NONE) {
			if (storm_bhs_final(bhs))
				awaiting_remove(f, i);
			start_drop(c, f, bhs);
			return 0;
		}
		if (op == STORM_OP_SCSI_CMD)
			awaiting_remove(f, i); /* the tag names a new task now */
	}
	return translate_i2t(c, f, bhs);
}

int refuse_on_pdu_end(storm_conn *c, storm_dir d)
{
	struct refusal *f = c->refusal;
	if (!f)
		return 0;
	if (d == STORM_I2T)
		return f->dropping ? STORM_PAUSE : 0;
	return f->npending ? STORM_PAUSE : 0;
}

void refuse_free(struct refusal *f)
{
	if (!f)
		return;
	seqmap_free(&f->map);
	free(f);
}

/* The first refusal: translation starts.  A T2I header half parsed now may
 * have partly left; it is let through as it is (see struct refusal). */
static int activate(storm_conn *c)
{
	struct refusal *f = calloc(1, sizeof *f);
	if (!f)
		return -ENOMEM;
	f->t2i_alloc = c->buf[STORM_T2I].cap;
	const struct iscsi_dir *ds = &parser_of(c)->dir[STORM_T2I];
	if (ds->st == ST_HEADER && ds->have > 0) {
		f->skip_t2i = true;
		f->skip_t2i_at = ds->pdu.offset;
	}
	c->refusal = f;
	return 0;
}

STORM_EXTERN int storm_conn_refuse(storm_conn *c, storm_io *io, uint8_t key, uint8_t asc,
				   uint8_t ascq)
{
	if (!c || !io || c->dead || c->starting != io || refuse_dropping(c, STORM_I2T))
		return -EINVAL;
	const uint8_t *bhs = parser_of(c)->dir[STORM_I2T].hdr;
	uint32_t itt = storm_bhs_itt(bhs);
	if (storm_bhs_opcode(bhs) != STORM_OP_SCSI_CMD || itt != storm_io_itt(io))
		return -EINVAL;
	/* CmdSN counts per session (RFC 7143 §4.2.2.1): the session's other
	 * connections, which this one cannot renumber, would disagree. */
	if (c->joined_session)
		return -ENOTSUP;
	if (!c->refusal) {
		int rc = activate(c);
		if (rc)
			return rc;
	}
	struct refusal *f = c->refusal;
	if (f->npending == REFUSE_MAX_PENDING || seqmap_reserve(&f->map, f->npending + 1))
		return -ENOMEM;
	start_drop(c, f, bhs);
	/* §11.3.1: an Immediate command does not advance CmdSN: nothing to renumber. */
	if (!storm_bhs_immediate(bhs))
		seqmap_add_cmd(&f->map, get_be32(bhs + 24));
	/* W without F: unsolicited Data-Out follows (§11.3.1, §11.7.1). */
	if ((bhs[1] & 0x20) && !storm_bhs_final(bhs))
		awaiting_add(f, itt);
	f->pending[f->npending++] = (struct refused_cmd){
		.itt = itt, .edtl = get_be32(bhs + 20), .key = key, .asc = asc, .ascq = ascq};
	f->refused++;
	c->relay->st.commands_refused++;
	return 0;
}

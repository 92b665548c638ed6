/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "conn.h"

#include "internal.h"
#include "seq.h"

/* What the reassembly sink needs to reach the user's callbacks. */
struct dir_ctx {
	storm_tcp *t;
	storm_flow *f;
	storm_dir dir;
};

static int sink_data(void *ctx, const uint8_t *p, size_t n)
{
	struct dir_ctx *c = ctx;
	return cb_data(c->t, c->f, c->dir, p, n);
}

static int sink_gap(void *ctx, uint64_t n)
{
	struct dir_ctx *c = ctx;
	return cb_gap(c->t, c->f, c->dir, n);
}

static int drain_dir(storm_tcp *t, storm_flow *f, storm_dir dir)
{
	struct dir_ctx ctx = { t, f, dir };
	struct tcp_sink sink = { sink_data, sink_gap, &ctx };
	return stream_drain(&f->dir[dir], &sink);
}

static void conn_close(storm_tcp *t, storm_flow *f, storm_tcp_close why)
{
	cb_close(t, f, why);
	flow_retire(&t->flows, f);
}

int conn_finish(storm_tcp *t, storm_flow *f, storm_tcp_close why)
{
	int r = drain_dir(t, f, STORM_I2T);
	if (!r)
		r = drain_dir(t, f, STORM_T2I);
	if (!r)
		conn_close(t, f, why);
	return r;
}

/* No payload reaches past the FIN (RFC 9293 §3.10.7.4: FIN ends the stream). */
static size_t clamp_to_fin(const struct tcp_stream *s, uint32_t seq, size_t len)
{
	if (!s->fin)
		return len;
	if (seq_ge(seq, s->fin_seq))
		return 0;
	uint32_t room = s->fin_seq - seq;
	return len < room ? len : room;
}

static int take_data(storm_tcp *t, storm_flow *f, storm_dir dir, uint32_t seq,
		     const struct tcp_pkt *pkt)
{
	struct tcp_stream *s = &f->dir[dir];
	if (s->finished)
		return 0;
	struct dir_ctx ctx = { t, f, dir };
	struct tcp_sink sink = { sink_data, sink_gap, &ctx };
	size_t len = s->started ? clamp_to_fin(s, seq, pkt->len) : pkt->len;
	int r = stream_data(s, seq, pkt->payload, len, t->hold_limit, &sink);
	if (r)
		return r;
	if (pkt->flags & TCP_FIN)
		stream_fin(s, seq + (uint32_t)pkt->len);
	stream_check_fin(s);
	return 0;
}

/*
 * A cumulative ACK past the other direction's FIN means the peer received
 * every byte before it (RFC 9293 §3.4); a hole we still have there was lost
 * by the capture and will not be retransmitted.
 */
static int check_acked_fin(storm_tcp *t, storm_flow *f, storm_dir other, uint32_t ack)
{
	struct tcp_stream *o = &f->dir[other];
	if (!o->fin || o->finished || !seq_gt(ack, o->fin_seq))
		return 0;
	return drain_dir(t, f, other);
}

int conn_segment(storm_tcp *t, storm_flow *f, storm_dir dir, const struct tcp_pkt *pkt)
{
	/* A reset ends both directions at once; held bytes are not delivered. */
	if (pkt->flags & TCP_RST) {
		stream_discard(&f->dir[STORM_I2T]);
		stream_discard(&f->dir[STORM_T2I]);
		conn_close(t, f, STORM_TCP_RST);
		return 0;
	}
	uint32_t seq = pkt->seq;
	if (pkt->flags & TCP_SYN) {
		stream_syn(&f->dir[dir], seq);
		seq++; /* the SYN occupies one sequence number (RFC 9293 §3.4) */
	}
	int r = take_data(t, f, dir, seq, pkt);
	if (!r && (pkt->flags & TCP_ACK))
		r = check_acked_fin(t, f, dir == STORM_I2T ? STORM_T2I : STORM_I2T, pkt->ack);
	if (r)
		return r;
	if (f->dir[STORM_I2T].finished && f->dir[STORM_T2I].finished)
		conn_close(t, f, STORM_TCP_FIN);
	return 0;
}

bool conn_is_new_syn(const storm_flow *f, storm_dir dir, const struct tcp_pkt *pkt)
{
	const struct tcp_stream *s = &f->dir[dir];
	if ((pkt->flags & (TCP_SYN | TCP_ACK)) != TCP_SYN || dir != STORM_I2T || !s->started)
		return false;
	if (s->syn && s->isn == pkt->seq)
		return false;
	return s->next != pkt->seq + 1;
}

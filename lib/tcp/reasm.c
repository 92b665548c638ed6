/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "reasm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "seq.h"

void stream_discard(struct tcp_stream *s)
{
	while (s->hold) {
		struct tcp_hold *h = s->hold;
		s->hold = h->next;
		free(h);
	}
	s->tail = NULL;
	s->held = 0;
}

void stream_free(struct tcp_stream *s)
{
	stream_discard(s);
}

void stream_syn(struct tcp_stream *s, uint32_t isn)
{
	if (s->started)
		return;
	s->started = true;
	s->syn = true;
	s->isn = isn;
	s->next = isn + 1;
}

static struct tcp_hold *hold_pop(struct tcp_stream *s)
{
	struct tcp_hold *h = s->hold;
	s->hold = h->next;
	if (!s->hold)
		s->tail = NULL;
	s->held -= h->len;
	return h;
}

/* Hands on the held pieces that the delivery point has reached. */
static int deliver_held(struct tcp_stream *s, const struct tcp_sink *sink)
{
	while (s->hold && seq_le(s->hold->seq, s->next)) {
		struct tcp_hold *h = hold_pop(s);
		uint32_t skip = s->next - h->seq;
		int r = 0;
		if (skip < h->len) {
			s->next += h->len - skip;
			r = sink->data(sink->ctx, h->data + skip, h->len - skip);
		}
		free(h);
		if (r)
			return r;
	}
	return 0;
}

/* Drops the front of a segment that was already delivered (or skipped). */
static void trim_old(const struct tcp_stream *s, uint32_t *seq, const uint8_t **p, uint32_t *len)
{
	if (!seq_lt(*seq, s->next))
		return;
	uint32_t old = s->next - *seq;
	if (old > *len)
		old = *len;
	*seq += old;
	*p += old;
	*len -= old;
}

/*
 * Delivers what of the segment is in order, straight from the caller's
 * buffer, up to the first held piece; held bytes arrived first, so they are
 * delivered in place of the segment's copy.  Leaves in seq, p and len the
 * part that is still ahead of a hole.
 */
static int absorb(struct tcp_stream *s, uint32_t *seq, const uint8_t **p, uint32_t *len,
		  const struct tcp_sink *sink)
{
	for (;;) {
		int r = deliver_held(s, sink);
		if (r)
			return r;
		trim_old(s, seq, p, len);
		if (*len == 0 || *seq != s->next)
			return 0;
		uint32_t n = *len;
		if (s->hold && s->hold->seq - *seq < n)
			n = s->hold->seq - *seq;
		const uint8_t *out = *p;
		s->next += n;
		*seq += n;
		*p += n;
		*len -= n;
		r = sink->data(sink->ctx, out, n);
		if (r)
			return r;
	}
}

static struct tcp_hold *hold_new(uint32_t seq, const uint8_t *p, uint32_t n)
{
	struct tcp_hold *h = malloc(sizeof *h + n);
	if (!h)
		return NULL;
	h->next = NULL;
	h->seq = seq;
	h->len = n;
	memcpy(h->data, p, n);
	return h;
}

/* Links h after prev, or first when prev is NULL. */
static void hold_link(struct tcp_stream *s, struct tcp_hold *prev, struct tcp_hold *h)
{
	struct tcp_hold **at = prev ? &prev->next : &s->hold;
	h->next = *at;
	*at = h;
	if (!h->next)
		s->tail = h;
	s->held += h->len;
}

/*
 * Copies into the hold list the parts of the segment no held piece covers.
 * Returns 0, 1 when a piece would pass the limit (it is not held), or -ENOMEM.
 */
static int hold_insert(struct tcp_stream *s, uint32_t seq, const uint8_t *p, uint32_t len,
		       size_t limit)
{
	struct tcp_hold *prev = NULL, *cur = s->hold;
	/* Data usually arrives in order after a loss: try the end first. */
	if (s->tail && seq_ge(seq, s->tail->seq + s->tail->len)) {
		prev = s->tail;
		cur = NULL;
	}
	while (len > 0) {
		if (cur && seq_le(cur->seq + cur->len, seq)) {
			prev = cur;
			cur = cur->next;
			continue;
		}
		uint32_t n = len;
		if (cur && seq_le(cur->seq, seq)) {
			uint32_t dup = cur->seq + cur->len - seq;
			if (dup >= len)
				return 0;
			seq += dup;
			p += dup;
			len -= dup;
			prev = cur;
			cur = cur->next;
			continue;
		}
		if (cur && cur->seq - seq < n)
			n = cur->seq - seq;
		if (n > limit || s->held > limit - n)
			return 1;
		struct tcp_hold *h = hold_new(seq, p, n);
		if (!h)
			return -ENOMEM;
		hold_link(s, prev, h);
		prev = h;
		seq += n;
		p += n;
		len -= n;
	}
	return 0;
}

/* Reports the hole [next, to) as lost and moves the delivery point past it. */
static int skip_to(struct tcp_stream *s, uint32_t to, const struct tcp_sink *sink)
{
	if (!seq_gt(to, s->next))
		return 0;
	uint32_t gap = to - s->next;
	s->next = to;
	return sink->gap(sink->ctx, gap);
}

int stream_data(struct tcp_stream *s, uint32_t seq, const uint8_t *p, size_t len,
		size_t hold_limit, const struct tcp_sink *sink)
{
	if (!s->started) {
		s->started = true;
		s->next = seq;
	}
	if (len >= TCP_MAX_WINDOW || seq_diff(seq, s->next) >= (int32_t)TCP_MAX_WINDOW)
		return 0;
	uint32_t n = (uint32_t)len;
	for (;;) {
		int r = absorb(s, &seq, &p, &n, sink);
		if (r || n == 0)
			return r;
		r = hold_insert(s, seq, p, n, hold_limit);
		if (r <= 0)
			return r;
		/* Over the hold bound: the earliest hole is taken as lost (see storm/tcp.h). */
		uint32_t to = seq;
		if (s->hold && seq_lt(s->hold->seq, to))
			to = s->hold->seq;
		r = skip_to(s, to, sink);
		if (r)
			return r;
	}
}

int stream_drain(struct tcp_stream *s, const struct tcp_sink *sink)
{
	while (s->hold) {
		int r = skip_to(s, s->hold->seq, sink);
		if (r)
			return r;
		r = deliver_held(s, sink);
		if (r)
			return r;
	}
	if (s->fin && !s->finished) {
		int r = skip_to(s, s->fin_seq, sink);
		if (r)
			return r;
		stream_check_fin(s);
	}
	return 0;
}

void stream_check_fin(struct tcp_stream *s)
{
	if (s->fin && !s->finished && seq_ge(s->next, s->fin_seq)) {
		s->finished = true;
		stream_discard(s);
	}
}

void stream_fin(struct tcp_stream *s, uint32_t seq)
{
	if (!s->started) {
		s->started = true;
		s->next = seq;
	}
	if (!s->fin) {
		s->fin = true;
		s->fin_seq = seq;
	}
	stream_check_fin(s);
}

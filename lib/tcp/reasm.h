/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reassembly of one direction of a TCP connection.  Internal.
 *
 * Bytes are handed to a sink in sequence order.  The sink sees pointers into
 * the caller's segment whenever the segment is in order (no copy); only
 * segments that arrive ahead of a hole are copied, into a list of held
 * pieces that never overlap.  Trimming a new segment against what was
 * already delivered or held makes the first copy of every byte win, which is
 * what an inline middlebox forwarding first arrivals would have passed on.
 */
#ifndef STORM_TCP_REASM_H
#define STORM_TCP_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A held piece: copied payload waiting for the hole before it to fill. */
struct tcp_hold {
	struct tcp_hold *next;
	uint32_t seq;
	uint32_t len;
	uint8_t data[];
};

/* Where in-order bytes and gaps go; a non-zero return stops delivery. */
struct tcp_sink {
	int (*data)(void *ctx, const uint8_t *p, size_t n);
	int (*gap)(void *ctx, uint64_t n);
	void *ctx;
};

/* One direction.  Zero-initialised means "nothing seen yet". */
struct tcp_stream {
	struct tcp_hold *hold, *tail; /* ascending, disjoint, all after next */
	size_t held;                  /* bytes in the hold list */
	uint32_t next;                /* sequence number of the next byte to deliver */
	uint32_t isn;                 /* valid when syn */
	uint32_t fin_seq;             /* sequence number of the FIN, valid when fin */
	bool started;                 /* next is known */
	bool syn;                     /* a SYN was seen */
	bool fin;                     /* a FIN was seen */
	bool finished;                /* everything up to the FIN was delivered */
};

/* Frees the held pieces; the stream can then only be discarded. */
void stream_free(struct tcp_stream *s);

/*
 * A SYN with sequence number isn: data starts at isn + 1 (RFC 9293 §3.4).
 * Ignored when the direction already started (a retransmitted SYN, or one
 * seen after mid-stream data).
 */
void stream_syn(struct tcp_stream *s, uint32_t isn);

/*
 * Takes a segment's payload.  A direction without SYN starts at its first
 * segment.  In-order bytes go to the sink at once; later ones are held.
 * When holding would pass hold_limit bytes, the hole before the earliest
 * held (or new) byte is reported as a gap and delivery resumes there.
 * Returns 0, -ENOMEM, or the sink's non-zero value.
 */
int stream_data(struct tcp_stream *s, uint32_t seq, const uint8_t *p, size_t len,
		size_t hold_limit, const struct tcp_sink *sink);

/*
 * Delivers everything held, reporting each hole before it as a gap; after a
 * FIN, the hole left before it too, and the direction is then finished.
 * Used when no retransmission can be waited for any longer: flush, eviction,
 * or a FIN the peer acknowledged (it had every byte, so ours were lost by
 * the capture).  Returns 0 or the sink's non-zero value.
 */
int stream_drain(struct tcp_stream *s, const struct tcp_sink *sink);

/* Drops held pieces without delivering them. */
void stream_discard(struct tcp_stream *s);

/* Records a FIN at sequence number seq and updates finished. */
void stream_fin(struct tcp_stream *s, uint32_t seq);

/* Sets finished once every byte before the FIN was delivered. */
void stream_check_fin(struct tcp_stream *s);

#endif

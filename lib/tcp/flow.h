/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The flow table: flows keyed by their 4-tuple, with a bound and
 * least-recently-seen eviction.  Internal.
 *
 * A closed flow stays in the table as a tombstone (no buffers, no user
 * pointer) so that the ACKs and retransmissions trailing a FIN or RST do not
 * open a new mid-stream flow; a SYN on the same 4-tuple replaces it, and
 * tombstones are the first to go when the table is full.
 */
#ifndef STORM_TCP_FLOW_H
#define STORM_TCP_FLOW_H

#include <stdbool.h>
#include <storm/tcp.h>

/* uthash exits the process on allocation failure unless told otherwise. */
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) ((obj)->oom = true)
#include <uthash.h>

#include "packet.h"
#include "reasm.h"

/* The two endpoints in a canonical order, so both directions find one flow. */
struct flow_key {
	uint8_t addr[2][16];
	uint16_t port[2];
	uint8_t family;
	uint8_t pad[3]; /* zeroed: the key is hashed and compared as bytes */
};

struct storm_flow {
	struct flow_key key;
	UT_hash_handle hh;
	storm_flow *prev, *next;     /* in the live list or the tombstone list */
	storm_endpoint end[2];       /* [STORM_I2T] client, [STORM_T2I] server */
	struct tcp_stream dir[2];    /* indexed by storm_dir: the sender's direction */
	void *user;
	bool closed;                 /* a tombstone */
	bool oom;                    /* uthash could not index it */
};

/* A list ordered oldest first. */
struct flow_list {
	storm_flow *head, *tail;
	size_t n;
};

struct flow_table {
	storm_flow *hash;     /* uthash head */
	struct flow_list live;  /* least recently seen first */
	struct flow_list dead;  /* tombstones, oldest first */
};

/* Builds the canonical key of a segment's 4-tuple. */
void flow_key_of(struct flow_key *k, const struct tcp_pkt *pkt);
storm_flow *flow_find(struct flow_table *ft, const struct flow_key *k);

/*
 * Adds a live flow; the client is the segment's sender when sender_is_client.
 * Returns 0 or -ENOMEM.
 */
int flow_add(struct flow_table *ft, const struct tcp_pkt *pkt, bool sender_is_client,
	     storm_flow **out);
/* Marks the flow seen now: it becomes the last to be evicted. */
void flow_touch(struct flow_table *ft, storm_flow *f);
/* Turns a live flow into a tombstone: frees its buffers, forgets the user pointer. */
void flow_retire(struct flow_table *ft, storm_flow *f);
/* Unlinks and frees a flow, live or not. */
void flow_remove(struct flow_table *ft, storm_flow *f);
/* Frees every flow. */
void flow_clear(struct flow_table *ft);
/* Flows and tombstones together: what the bound counts. */
size_t flow_count(const struct flow_table *ft);
/* The direction a segment travels in, from its sender. */
storm_dir flow_dir(const storm_flow *f, const struct tcp_pkt *pkt);

#endif

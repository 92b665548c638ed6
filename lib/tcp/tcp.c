/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "internal.h"
#include "packet.h"

STORM_EXTERN int storm_tcp_new(storm_tcp **tp, const storm_tcp_callbacks *cbs, void *user)
{
	storm_tcp *t = calloc(1, sizeof *t);
	*tp = t;
	if (!t)
		return -ENOMEM;
	if (cbs)
		t->cbs = *cbs;
	t->user = user;
	t->hold_limit = STORM_TCP_DEFAULT_HOLD;
	t->max_flows = STORM_TCP_DEFAULT_FLOWS;
	return 0;
}

STORM_EXTERN void storm_tcp_del(storm_tcp *t)
{
	if (!t)
		return;
	flow_clear(&t->flows);
	free(t);
}

STORM_EXTERN int storm_tcp_add_port(storm_tcp *t, uint16_t port)
{
	for (unsigned i = 0; i < t->nports; i++)
		if (t->ports[i] == port)
			return 0;
	if (t->nports == TCP_MAX_PORTS)
		return -ENOSPC;
	t->ports[t->nports++] = port;
	return 0;
}

STORM_EXTERN void storm_tcp_set_limits(storm_tcp *t, size_t hold_bytes, size_t max_flows)
{
	t->hold_limit = hold_bytes;
	t->max_flows = max_flows ? max_flows : 1;
}

STORM_EXTERN uint64_t storm_tcp_now(const storm_tcp *t)
{
	return t->now;
}

STORM_EXTERN void *storm_tcp_user(const storm_tcp *t)
{
	return t->user;
}

static bool port_tracked(const storm_tcp *t, uint16_t port)
{
	if (t->nports == 0)
		return port == TCP_ISCSI_PORT;
	for (unsigned i = 0; i < t->nports; i++)
		if (t->ports[i] == port)
			return true;
	return false;
}

enum role { ROLE_NONE, SENDER_CLIENT, SENDER_SERVER };

/*
 * Who sent a segment of a flow not seen yet.  The server owns the tracked
 * port; when both ports are tracked the SYN tells (RFC 9293 §3.5: the
 * active opener sends SYN without ACK), and otherwise the lower port is
 * taken as the server's, servers usually having the well-known one.
 */
static enum role sender_role(const storm_tcp *t, const struct tcp_pkt *pkt)
{
	bool src = port_tracked(t, pkt->sport), dst = port_tracked(t, pkt->dport);
	if (!src && !dst)
		return ROLE_NONE;
	if (src != dst)
		return src ? SENDER_SERVER : SENDER_CLIENT;
	if (pkt->flags & TCP_SYN)
		return (pkt->flags & TCP_ACK) ? SENDER_SERVER : SENDER_CLIENT;
	if (pkt->sport != pkt->dport)
		return pkt->sport < pkt->dport ? SENDER_SERVER : SENDER_CLIENT;
	return memcmp(pkt->src, pkt->dst, 16) < 0 ? SENDER_SERVER : SENDER_CLIENT;
}

/* Frees a slot: a tombstone if there is one, else the flow idle longest. */
static int make_room(storm_tcp *t)
{
	while (flow_count(&t->flows) >= t->max_flows) {
		storm_flow *f = t->flows.dead.head;
		if (!f) {
			f = t->flows.live.head;
			int r = conn_finish(t, f, STORM_TCP_EVICTED);
			if (r)
				return r;
		}
		flow_remove(&t->flows, f);
	}
	return 0;
}

static int open_flow(storm_tcp *t, const struct tcp_pkt *pkt, enum role role, storm_flow **f)
{
	int r = make_room(t);
	if (!r)
		r = flow_add(&t->flows, pkt, role == SENDER_CLIENT, f);
	if (!r)
		r = cb_open(t, *f);
	return r;
}

/*
 * The live flow for a segment, or NULL.  Tombstones absorb what trails a
 * close; a SYN replaces them, and a SYN of a new connection replaces a live
 * flow that never saw its end (closed as evicted).
 */
static int find_flow(storm_tcp *t, const struct tcp_pkt *pkt, storm_flow **out, bool *absorbed)
{
	struct flow_key key;
	flow_key_of(&key, pkt);
	storm_flow *f = flow_find(&t->flows, &key);
	*out = NULL;
	*absorbed = false;
	if (!f)
		return 0;
	if (f->closed && !(pkt->flags & TCP_SYN)) {
		flow_touch(&t->flows, f);
		*absorbed = true;
		return 0;
	}
	if (!f->closed && conn_is_new_syn(f, flow_dir(f, pkt), pkt)) {
		int r = conn_finish(t, f, STORM_TCP_EVICTED);
		if (r)
			return r;
	}
	if (f->closed)
		flow_remove(&t->flows, f);
	else
		*out = f;
	return 0;
}

STORM_EXTERN int storm_tcp_packet(storm_tcp *t, const uint8_t *ip, size_t len, uint64_t ts_usec)
{
	struct tcp_pkt pkt;
	t->now = ts_usec;
	int r = tcp_pkt_parse(&pkt, ip, len);
	if (r <= 0)
		return r;
	enum role role = sender_role(t, &pkt);
	if (role == ROLE_NONE)
		return 0;
	storm_flow *f;
	bool absorbed;
	r = find_flow(t, &pkt, &f, &absorbed);
	if (r)
		return r;
	if (absorbed)
		return 1;
	if (!f) {
		/* A reset of a connection never seen has nothing to close. */
		if ((pkt.flags & (TCP_RST | TCP_SYN)) == TCP_RST)
			return 0;
		r = open_flow(t, &pkt, role, &f);
		if (r)
			return r;
	}
	flow_touch(&t->flows, f);
	r = conn_segment(t, f, flow_dir(f, &pkt), &pkt);
	return r ? r : 1;
}

STORM_EXTERN int storm_tcp_flush(storm_tcp *t)
{
	while (t->flows.live.head) {
		storm_flow *f = t->flows.live.head;
		int r = conn_finish(t, f, STORM_TCP_FLUSHED);
		if (r)
			return r;
		flow_remove(&t->flows, f);
	}
	while (t->flows.dead.head)
		flow_remove(&t->flows, t->flows.dead.head);
	return 0;
}

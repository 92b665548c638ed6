/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "flow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int endpoint_cmp(const uint8_t *a, uint16_t pa, const uint8_t *b, uint16_t pb)
{
	int c = memcmp(a, b, 16);
	if (c)
		return c;
	return (pa > pb) - (pa < pb);
}

void flow_key_of(struct flow_key *k, const struct tcp_pkt *pkt)
{
	int first = endpoint_cmp(pkt->src, pkt->sport, pkt->dst, pkt->dport) <= 0 ? 0 : 1;
	memset(k, 0, sizeof *k);
	memcpy(k->addr[first], pkt->src, 16);
	k->port[first] = pkt->sport;
	memcpy(k->addr[!first], pkt->dst, 16);
	k->port[!first] = pkt->dport;
	k->family = (uint8_t)pkt->family;
}

storm_flow *flow_find(struct flow_table *ft, const struct flow_key *k)
{
	storm_flow *f = NULL;
	HASH_FIND(hh, ft->hash, k, sizeof *k, f);
	return f;
}

static void list_unlink(struct flow_list *l, storm_flow *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		l->head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		l->tail = f->prev;
	f->prev = f->next = NULL;
	l->n--;
}

static void list_append(struct flow_list *l, storm_flow *f)
{
	f->next = NULL;
	f->prev = l->tail;
	if (l->tail)
		l->tail->next = f;
	else
		l->head = f;
	l->tail = f;
	l->n++;
}

static struct flow_list *list_of(struct flow_table *ft, const storm_flow *f)
{
	return f->closed ? &ft->dead : &ft->live;
}

static void endpoint_set(storm_endpoint *e, int family, const uint8_t *addr, uint16_t port)
{
	memset(e, 0, sizeof *e);
	e->family = family;
	memcpy(e->addr, addr, 16);
	e->port = port;
}

int flow_add(struct flow_table *ft, const struct tcp_pkt *pkt, bool sender_is_client,
	     storm_flow **out)
{
	storm_flow *f = calloc(1, sizeof *f);
	if (!f)
		return -ENOMEM;
	flow_key_of(&f->key, pkt);
	storm_endpoint *sender = &f->end[sender_is_client ? STORM_I2T : STORM_T2I];
	storm_endpoint *receiver = &f->end[sender_is_client ? STORM_T2I : STORM_I2T];
	endpoint_set(sender, pkt->family, pkt->src, pkt->sport);
	endpoint_set(receiver, pkt->family, pkt->dst, pkt->dport);
	HASH_ADD(hh, ft->hash, key, sizeof f->key, f);
	if (f->oom) {
		free(f);
		return -ENOMEM;
	}
	list_append(&ft->live, f);
	*out = f;
	return 0;
}

void flow_touch(struct flow_table *ft, storm_flow *f)
{
	struct flow_list *l = list_of(ft, f);
	if (l->tail == f)
		return;
	list_unlink(l, f);
	list_append(l, f);
}

void flow_retire(struct flow_table *ft, storm_flow *f)
{
	if (f->closed)
		return;
	list_unlink(&ft->live, f);
	stream_free(&f->dir[0]);
	stream_free(&f->dir[1]);
	f->user = NULL;
	f->closed = true;
	list_append(&ft->dead, f);
}

void flow_remove(struct flow_table *ft, storm_flow *f)
{
	HASH_DELETE(hh, ft->hash, f);
	list_unlink(list_of(ft, f), f);
	stream_free(&f->dir[0]);
	stream_free(&f->dir[1]);
	free(f);
}

void flow_clear(struct flow_table *ft)
{
	while (ft->live.head)
		flow_remove(ft, ft->live.head);
	while (ft->dead.head)
		flow_remove(ft, ft->dead.head);
}

size_t flow_count(const struct flow_table *ft)
{
	return ft->live.n + ft->dead.n;
}

storm_dir flow_dir(const storm_flow *f, const struct tcp_pkt *pkt)
{
	const storm_endpoint *c = &f->end[STORM_I2T];
	if (c->port == pkt->sport && memcmp(c->addr, pkt->src, 16) == 0)
		return STORM_I2T;
	return STORM_T2I;
}

STORM_EXTERN void *storm_flow_user(const storm_flow *f)
{
	return f->user;
}

STORM_EXTERN void storm_flow_set_user(storm_flow *f, void *user)
{
	f->user = user;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sequence-number translation of a relay that refused commands: see
 * seqmap.h.  Points are kept in rings, oldest first; both kinds are in
 * increasing serial order, so every count is a binary search. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "relay/seqmap.h"

static uint32_t ring_at(const struct sn_ring *r, size_t i) { return r->v[(r->head + i) % r->cap]; }

static void ring_pop(struct sn_ring *r)
{
	r->head = (r->head + 1) % r->cap;
	r->n--;
}

/* Grows the ring (unwrapping it) so @p more fit. */
static int ring_reserve(struct sn_ring *r, size_t more)
{
	if (r->n + more <= r->cap)
		return 0;
	if (r->n + more > SEQMAP_MAX_POINTS)
		return -ENOMEM;
	size_t cap = r->cap ? r->cap : 16;
	while (cap < r->n + more)
		cap *= 2;
	uint32_t *v = malloc(cap * sizeof *v);
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < r->n; i++)
		v[i] = ring_at(r, i);
	free(r->v);
	r->v = v;
	r->cap = cap;
	r->head = 0;
	return 0;
}

static void ring_push(struct sn_ring *r, uint32_t x)
{
	r->v[(r->head + r->n) % r->cap] = x;
	r->n++;
}

void seqmap_free(struct seqmap *m)
{
	free(m->cmd.v);
	free(m->stat.v);
	memset(m, 0, sizeof *m);
}

int seqmap_reserve(struct seqmap *m, size_t stats)
{
	int rc = ring_reserve(&m->cmd, 1);
	return rc ? rc : ring_reserve(&m->stat, stats);
}

void seqmap_add_cmd(struct seqmap *m, uint32_t cmdsn)
{
	if (m->cmd.n && !sn_lt(ring_at(&m->cmd, m->cmd.n - 1), cmdsn))
		return;
	ring_push(&m->cmd, cmdsn);
}

void seqmap_add_stat(struct seqmap *m, uint32_t statsn)
{
	ring_push(&m->stat, statsn);
	m->injected++;
}

/* Entries of @p r below @p x. */
static size_t count_below(const struct sn_ring *r, uint32_t x)
{
	size_t lo = 0, hi = r->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sn_lt(ring_at(r, mid), x))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Where refusal i sits in the target's numbering: the CmdSN the target gives
 * the next command it receives.  Non-decreasing in i (consecutive refusals
 * share it). */
static uint32_t cmd_target_at(const struct seqmap *m, size_t i)
{
	return ring_at(&m->cmd, i) - m->cmd_base - (uint32_t)i;
}

/* Refusals whose target-side place is at or before @p v. */
static size_t count_target_le(const struct seqmap *m, uint32_t v)
{
	size_t lo = 0, hi = m->cmd.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sn_le(cmd_target_at(m, mid), v))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint32_t seqmap_cmd_to_target(const struct seqmap *m, uint32_t cmdsn)
{
	return cmdsn - m->cmd_base - (uint32_t)count_below(&m->cmd, cmdsn);
}

bool seqmap_cmd_refused(const struct seqmap *m, uint32_t cmdsn)
{
	size_t i = count_below(&m->cmd, cmdsn);
	return i < m->cmd.n && ring_at(&m->cmd, i) == cmdsn;
}

uint32_t seqmap_exp_to_initiator(const struct seqmap *m, uint32_t expcmdsn)
{
	return expcmdsn + m->cmd_base + (uint32_t)count_target_le(m, expcmdsn);
}

uint32_t seqmap_max_to_initiator(const struct seqmap *m, uint32_t maxcmdsn, uint32_t exp)
{
	uint32_t max = maxcmdsn + m->cmd_base + (uint32_t)count_target_le(m, maxcmdsn);
	return sn_lt(max, exp - 1) ? exp - 1 : max;
}

uint32_t seqmap_stat_to_initiator(const struct seqmap *m, uint32_t statsn)
{
	return statsn + m->injected;
}

uint32_t seqmap_stat_to_target(const struct seqmap *m, uint32_t expstatsn)
{
	return expstatsn - m->stat_base - (uint32_t)count_below(&m->stat, expstatsn);
}

/* A point folds once the target expects a command past it: every later
 * ExpCmdSN is then past it too, and every later MaxCmdSN at least reaches it
 * (MaxCmdSN ≥ ExpCmdSN − 1), so counting it in the base changes nothing. */
void seqmap_fold_cmd(struct seqmap *m, uint32_t expcmdsn)
{
	while (m->cmd.n > SEQMAP_KEEP && sn_lt(cmd_target_at(m, 0), expcmdsn)) {
		ring_pop(&m->cmd);
		m->cmd_base++;
	}
}

void seqmap_fold_stat(struct seqmap *m, uint32_t expstatsn)
{
	while (m->stat.n && sn_lt(ring_at(&m->stat, 0), expstatsn)) {
		ring_pop(&m->stat);
		m->stat_base++;
	}
}

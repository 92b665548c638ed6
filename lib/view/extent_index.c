/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The owner-run index, build phase: xt_add() gathers runs in a flat array,
 * in any order and overlapping; xt_finish() sorts and trims them, so that
 * they are disjoint (a claimed block beats a free one), merges neighbours
 * that continue each other, then hands them to the run map (runmap.c), which
 * packs them into full chunks and keeps them up to date from then on.
 *
 * xt_step() lives here too: how a run's base steps per block is a property
 * of its kind, which both halves of the index rely on.
 */
#include "view/extent_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint64_t xt_step(const struct xt_index *x, unsigned kind)
{
	switch (kind) {
	case STORM_OWNER_FILE_DATA:
	case STORM_OWNER_DIR_DATA:
	case STORM_OWNER_JOURNAL:
	case STORM_OWNER_OTHER:
		return 1;
	case STORM_OWNER_INODE_TABLE:
		return x->inodes_per_block;
	default:
		return 0;
	}
}

static int xt_push(struct xt_index *x, const struct xt_run *r)
{
	if (x->npend == x->pend_cap) {
		size_t cap = x->pend_cap ? x->pend_cap * 2 : 256;
		struct xt_run *p = realloc(x->pend, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		x->pend = p;
		x->pend_cap = cap;
	}
	x->pend[x->npend++] = *r;
	return 0;
}

int xt_add(struct xt_index *x, uint64_t start, uint64_t len, unsigned kind, uint32_t ino,
	   uint32_t group, uint64_t base)
{
	if (x->dynamic)
		return -EINVAL;
	while (len) {
		uint64_t take = len < XT_MAX_LEN ? len : XT_MAX_LEN;
		struct xt_run r = { .start = start, .base = base, .len = (uint32_t)take,
				    .ino = ino, .group = group, .kind = (uint8_t)kind };
		struct xt_run *last = x->npend ? &x->pend[x->npend - 1] : NULL;
		int rc;

		if (last && xt_joins(x, last, &r) && last->len < XT_MAX_LEN) {
			take = XT_MAX_LEN - last->len < take ? XT_MAX_LEN - last->len : take;
			last->len += (uint32_t)take;
		} else if ((rc = xt_push(x, &r))) {
			return rc;
		}
		start += take;
		base += take * xt_step(x, kind);
		len -= take;
	}
	return 0;
}

static int xt_cmp(const void *pa, const void *pb)
{
	const struct xt_run *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	return a->ino < b->ino ? -1 : a->ino > b->ino;
}

/* Sorts runs[0..n) and makes them disjoint: a consistent file system has no
 * overlaps; a corrupt one keeps the run starting first (the longest at one
 * start).  Neighbours that continue each other merge.  Returns the new n. */
static size_t xt_disjoint(const struct xt_index *x, struct xt_run *runs, size_t n)
{
	size_t out = 0;
	uint64_t end = 0;

	qsort(runs, n, sizeof(*runs), xt_cmp);
	for (size_t i = 0; i < n; i++) {
		struct xt_run r = runs[i];

		if (out && xt_end(&r) <= end)
			continue;
		if (out && r.start < end) {
			uint64_t cut = end - r.start;

			r.start += cut;
			r.len -= (uint32_t)cut;
			r.base += cut * xt_step(x, r.kind);
		}
		if (out && xt_mergeable(x, &runs[out - 1], &r))
			runs[out - 1].len += r.len;
		else
			runs[out++] = r;
		end = xt_end(&r);
	}
	return out;
}

/* Claimed runs first, free runs after them; returns how many are claimed. */
static size_t xt_claimed_first(struct xt_run *runs, size_t n)
{
	size_t nc = 0;

	for (size_t i = 0; i < n; i++)
		if (runs[i].kind != STORM_OWNER_FREE) {
			struct xt_run t = runs[nc];

			runs[nc++] = runs[i];
			runs[i] = t;
		}
	return nc;
}

/* Appends to all[*n] the parts of free run f outside the claimed runs
 * c[*j..nc) (sorted, disjoint); *j skips the claimed runs left behind. */
static void xt_free_gaps(const struct xt_run *f, const struct xt_run *c, size_t nc, size_t *j,
			 struct xt_run *all, size_t *n)
{
	uint64_t at = f->start, end = xt_end(f);

	while (*j < nc && xt_end(&c[*j]) <= at)
		(*j)++;
	for (size_t k = *j; at < end; k++) {
		uint64_t stop = k < nc && c[k].start < end ? c[k].start : end;

		if (stop > at)
			all[(*n)++] = (struct xt_run){ .start = at, .len = (uint32_t)(stop - at),
						       .kind = STORM_OWNER_FREE };
		if (k >= nc || c[k].start >= end)
			break;
		at = xt_end(&c[k]);
	}
}

/* Makes the pending runs sorted and disjoint, a claimed block beating a
 * free one.  0 or -ENOMEM (the pending runs still valid). */
static int xt_flatten(struct xt_index *x)
{
	size_t nc = xt_claimed_first(x->pend, x->npend), nf = 0, cap, n, j = 0;
	struct xt_run *all;

	nc = xt_disjoint(x, x->pend, nc);
	for (size_t i = nc; i < x->npend; i++)
		if (x->pend[i].kind == STORM_OWNER_FREE)
			x->pend[nc + nf++] = x->pend[i];
	x->npend = nc + nf;
	nf = xt_disjoint(x, x->pend + nc, nf);
	x->npend = nc + nf;
	/* Each cut of a free run around a claimed one adds at most one piece. */
	cap = 2 * nc + nf + 1;
	all = malloc(cap * sizeof(*all));
	if (!all)
		return -ENOMEM;
	memcpy(all, x->pend, nc * sizeof(*all));
	n = nc;
	for (size_t i = 0; i < nf; i++)
		xt_free_gaps(&x->pend[nc + i], x->pend, nc, &j, all, &n);
	free(x->pend);
	x->pend = all;
	x->pend_cap = cap;
	x->npend = xt_disjoint(x, all, n);
	return 0;
}

/* The pending runs are in the chunks now: drop them. */
static void xt_pend_drop(struct xt_index *x)
{
	free(x->pend);
	x->pend = NULL;
	x->npend = x->pend_cap = 0;
}

int xt_finish(struct xt_index *x)
{
	int rc;

	if (x->dynamic)
		return 0;
	if (x->npend) {
		rc = xt_flatten(x);
		if (!rc)
			rc = xt_pack(x, x->pend, x->npend);
		if (rc)
			return rc;
		xt_pend_drop(x);
	}
	x->dynamic = true;
	return 0;
}

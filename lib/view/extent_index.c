/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The owner-run index: a sorted array of non-overlapping runs, binary-searched. */
#include "view/view_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Runs longer than this are split so that `len` fits in 32 bits. */
#define XT_MAX_LEN 0x80000000u

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

static bool xt_extends(const struct xt_index *x, const struct xt_run *r, uint64_t start,
		       unsigned kind, uint32_t ino, uint32_t group, uint64_t base)
{
	return r->kind == kind && r->ino == ino && r->group == group &&
	       r->start + r->len == start && r->len < XT_MAX_LEN &&
	       r->base + r->len * xt_step(x, kind) == base;
}

static int xt_push(struct xt_index *x, uint64_t start, uint32_t len, unsigned kind,
		   uint32_t ino, uint32_t group, uint64_t base)
{
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 256;
		struct xt_run *r = realloc(x->runs, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		x->runs = r;
		x->cap = cap;
	}
	x->runs[x->n++] = (struct xt_run){ .start = start, .base = base, .len = len,
					   .ino = ino, .group = group, .kind = (uint8_t)kind };
	return 0;
}

int xt_add(struct xt_index *x, uint64_t start, uint64_t len, unsigned kind, uint32_t ino,
	   uint32_t group, uint64_t base)
{
	while (len) {
		struct xt_run *last = x->n ? &x->runs[x->n - 1] : NULL;

		if (last && xt_extends(x, last, start, kind, ino, group, base)) {
			uint64_t room = XT_MAX_LEN - last->len;
			uint64_t take = len < room ? len : room;

			last->len += (uint32_t)take;
			start += take;
			base += take * xt_step(x, kind);
			len -= take;
			continue;
		}
		uint64_t take = len < XT_MAX_LEN ? len : XT_MAX_LEN;
		int rc = xt_push(x, start, (uint32_t)take, kind, ino, group, base);

		if (rc)
			return rc;
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

		if (out && r.start + r.len <= end)
			continue;
		if (out && r.start < end) {
			uint64_t cut = end - r.start;

			r.start += cut;
			r.len -= (uint32_t)cut;
			r.base += cut * xt_step(x, r.kind);
		}
		if (out && xt_extends(x, &runs[out - 1], r.start, r.kind, r.ino, r.group, r.base) &&
		    (uint64_t)runs[out - 1].len + r.len <= XT_MAX_LEN)
			runs[out - 1].len += r.len;
		else
			runs[out++] = r;
		end = r.start + r.len;
	}
	return out;
}

int xt_finish(struct xt_index *x)
{
	size_t nc = 0, nf, cap, n;
	struct xt_run *all;

	if (!x->n)
		return 0;
	/* Claimed runs first, free runs after them. */
	for (size_t i = 0; i < x->n; i++)
		if (x->runs[i].kind != STORM_OWNER_FREE) {
			struct xt_run t = x->runs[nc];

			x->runs[nc++] = x->runs[i];
			x->runs[i] = t;
		}
	nc = xt_disjoint(x, x->runs, nc);
	nf = 0;
	for (size_t i = nc; i < x->n; i++)
		if (x->runs[i].kind == STORM_OWNER_FREE)
			x->runs[nc + nf++] = x->runs[i];
	nf = xt_disjoint(x, x->runs + nc, nf);
	/* A block both claimed and free in the bitmap is claimed: cut the free
	 * runs around claimed ones (each cut adds at most one piece). */
	cap = 2 * nc + nf + 1;
	all = malloc(cap * sizeof(*all));
	if (!all)
		return -ENOMEM;
	memcpy(all, x->runs, nc * sizeof(*all));
	n = nc;
	for (size_t i = 0, j = 0; i < nf; i++) {
		uint64_t at = x->runs[nc + i].start, end = at + x->runs[nc + i].len;

		while (j < nc && x->runs[j].start + x->runs[j].len <= at)
			j++;
		for (size_t k = j; at < end; k++) {
			uint64_t stop = k < nc && x->runs[k].start < end ? x->runs[k].start : end;

			if (stop > at)
				all[n++] = (struct xt_run){ .start = at, .len = (uint32_t)(stop - at),
							    .kind = STORM_OWNER_FREE };
			if (k >= nc || x->runs[k].start >= end)
				break;
			at = x->runs[k].start + x->runs[k].len;
		}
	}
	free(x->runs);
	x->runs = all;
	x->cap = cap;
	x->n = xt_disjoint(x, all, n);
	all = realloc(x->runs, (x->n ? x->n : 1) * sizeof(*all));
	if (all) {
		x->runs = all;
		x->cap = x->n ? x->n : 1;
	}
	return 0;
}

const struct xt_run *xt_find(const struct xt_index *x, uint64_t block)
{
	size_t lo = 0, hi = x->n;

	/* The last run starting at or before `block`. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (x->runs[mid].start <= block)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct xt_run *r = &x->runs[lo - 1];

	return block - r->start < r->len ? r : NULL;
}

void xt_free(struct xt_index *x)
{
	free(x->runs);
	x->runs = NULL;
	x->n = x->cap = 0;
}

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
#include "util/grow.h"
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
	struct xt_run *pend = grow(x->pend, &x->pend_cap, x->npend, sizeof(*pend), 256);

	if (!pend)
		return -ENOMEM;
	x->pend = pend;
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

/* The order of the runs: by start, then the longest first (the one that
 * survives trimming), then by kind and inode. */
static int xt_cmp(const struct xt_run *a, const struct xt_run *b)
{
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	return a->ino < b->ino ? -1 : a->ino > b->ino;
}

/* The sort keys of xt_cmp, least significant first. */
enum xt_key { XT_KEY_INO, XT_KEY_KIND, XT_KEY_LEN, XT_KEY_START };

static inline uint64_t xt_key(const struct xt_run *r, enum xt_key k)
{
	switch (k) {
	case XT_KEY_INO:
		return r->ino;
	case XT_KEY_KIND:
		return r->kind;
	case XT_KEY_LEN:
		return ~r->len; /* the longest first */
	default:
		return r->start;
	}
}

#define XT_RADIX_BITS 11
#define XT_RADIX_MASK ((1u << XT_RADIX_BITS) - 1)

/* A stable LSD radix sort of runs[0..n) on key k, as many digits as the
 * largest key needs; tmp holds n runs. */
static void xt_radix(struct xt_run *runs, struct xt_run *tmp, size_t n, enum xt_key k)
{
	struct xt_run *src = runs, *dst = tmp, *t;
	uint64_t bits = 0;

	for (size_t i = 0; i < n; i++)
		bits |= xt_key(&runs[i], k);
	for (unsigned shift = 0; shift < 64 && bits >> shift; shift += XT_RADIX_BITS) {
		size_t at[XT_RADIX_MASK + 1] = { 0 }, sum = 0;

		for (size_t i = 0; i < n; i++)
			at[(xt_key(&src[i], k) >> shift) & XT_RADIX_MASK]++;
		for (size_t d = 0; d <= XT_RADIX_MASK; d++) {
			size_t c = at[d];

			at[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[at[(xt_key(&src[i], k) >> shift) & XT_RADIX_MASK]++] = src[i];
		t = src, src = dst, dst = t;
	}
	if (src != runs)
		memcpy(runs, src, n * sizeof(*runs));
}

/* Whether runs[0..n) are in xt_cmp order already (free space is). */
static bool xt_sorted(const struct xt_run *runs, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (xt_cmp(&runs[i - 1], &runs[i]) > 0)
			return false;
	return true;
}

/* Whether two of runs[0..n) (sorted by start) start at the same block. */
static bool xt_same_starts(const struct xt_run *runs, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (runs[i - 1].start == runs[i].start)
			return true;
	return false;
}

/* Sorts runs[0..n) as xt_cmp orders them, stably (runs equal under xt_cmp
 * keep their order); tmp holds n runs.  O(n): a radix sort on start, and,
 * when starts repeat (only in a corrupt file system), on every key. */
static void xt_sort(struct xt_run *runs, struct xt_run *tmp, size_t n)
{
	if (xt_sorted(runs, n))
		return;
	xt_radix(runs, tmp, n, XT_KEY_START);
	if (!xt_same_starts(runs, n))
		return;
	for (enum xt_key k = XT_KEY_INO; k <= XT_KEY_START; k++)
		xt_radix(runs, tmp, n, k);
}

/* Makes runs[0..n), sorted by xt_sort(), disjoint: a consistent file
 * system has no overlaps; a corrupt one keeps the run starting first (the
 * longest at one start).  Neighbours that continue each other merge.
 * Returns the new n. */
static size_t xt_trim(const struct xt_index *x, struct xt_run *runs, size_t n)
{
	size_t out = 0;
	uint64_t end = 0;

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

/* Merging the claimed runs (sorted, disjoint) with the free space. */
struct xt_merge {
	const struct xt_run *c; /* the claimed runs */
	size_t nc, j;           /* c[j] is the next to place */
	uint64_t claimed_end;   /* the end of the claimed runs placed */
	struct xt_run *all;     /* the merged runs */
	size_t n;
};

static void xt_put_free(struct xt_merge *m, uint64_t start, uint64_t end)
{
	if (end > start)
		m->all[m->n++] = (struct xt_run){ .start = start, .len = (uint32_t)(end - start),
						  .kind = STORM_OWNER_FREE };
}

/* Places, in block order, the claimed runs starting before the end of free
 * run f, and the parts of f outside every claimed run. */
static void xt_merge_free(struct xt_merge *m, const struct xt_run *f)
{
	uint64_t end = xt_end(f), at = f->start > m->claimed_end ? f->start : m->claimed_end;

	for (; m->j < m->nc && m->c[m->j].start < end; m->j++) {
		const struct xt_run *c = &m->c[m->j];

		xt_put_free(m, at, c->start < end ? c->start : end);
		m->all[m->n++] = *c;
		if (xt_end(c) > m->claimed_end)
			m->claimed_end = xt_end(c);
		if (m->claimed_end > at)
			at = m->claimed_end;
	}
	xt_put_free(m, at, end);
}

/* Makes the pending runs sorted and disjoint, a claimed block beating a
 * free one.  0 or -ENOMEM (the pending runs still valid). */
static int xt_flatten(struct xt_index *x)
{
	size_t nc = xt_claimed_first(x->pend, x->npend), nf = x->npend - nc;
	/* Each cut of a free run around a claimed one adds at most one piece.
	 * The sorts use the same array as scratch before the merge fills it. */
	size_t cap = 2 * nc + nf + 1;
	struct xt_merge m = { .c = x->pend, .all = malloc(cap * sizeof(*m.all)) };

	if (!m.all)
		return -ENOMEM;
	xt_sort(x->pend, m.all, nc);
	nc = xt_trim(x, x->pend, nc);
	memmove(x->pend + nc, x->pend + x->npend - nf, nf * sizeof(*x->pend));
	xt_sort(x->pend + nc, m.all, nf);
	nf = xt_trim(x, x->pend + nc, nf);
	m.nc = nc;
	for (size_t i = 0; i < nf; i++)
		xt_merge_free(&m, &x->pend[nc + i]);
	memcpy(m.all + m.n, m.c + m.j, (nc - m.j) * sizeof(*m.all));
	m.n += nc - m.j;
	free(x->pend);
	x->pend = m.all;
	x->pend_cap = cap;
	/* Sorted and disjoint already: only neighbours to merge. */
	x->npend = xt_trim(x, m.all, m.n);
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

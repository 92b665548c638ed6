/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internal to the owner-run index, shared by its two halves: the build phase
 * (extent_index.c) and the run map, the B+-tree it hands its runs to
 * (runmap.c).
 */
#ifndef STORM_VIEW_EXTENT_INT_H
#define STORM_VIEW_EXTENT_INT_H

#include "view/view_int.h"

/* Runs longer than this are split so that `len` fits in 32 bits. */
#define XT_MAX_LEN 0x80000000u

static inline uint64_t xt_end(const struct xt_run *r)
{
	return r->start + r->len;
}

/* Whether b continues a: same owner, adjacent, base stepping on. */
static inline bool xt_joins(const struct xt_index *x, const struct xt_run *a,
			    const struct xt_run *b)
{
	return a->kind == b->kind && a->ino == b->ino && a->group == b->group &&
	       xt_end(a) == b->start && a->base + a->len * xt_step(x, a->kind) == b->base;
}

/* Whether a and b can become one run. */
static inline bool xt_mergeable(const struct xt_index *x, const struct xt_run *a,
				const struct xt_run *b)
{
	return xt_joins(x, a, b) && (uint64_t)a->len + b->len <= XT_MAX_LEN;
}

/* Packs runs[0..n) (sorted, disjoint) into full chunks of an index that has
 * none yet; the runs are copied.  0 or -ENOMEM (the index still has no
 * chunks). */
int xt_pack(struct xt_index *x, const struct xt_run *runs, size_t n);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The run map: the owner-run index once built, disjoint runs sorted by
 * start, kept so that both lookups and updates stay cheap with millions of
 * runs.
 *
 * A two-level B+-tree.  The leaves are chunks: sorted arrays of at most
 * XT_CHUNK runs, each allocated to fit its runs plus a little slack, so
 * memory stays close to the 32 bytes of a run.  The directory is a sorted
 * array of (first start, chunk) pairs, 16 bytes per chunk.
 *
 * - xt_find(): a binary search of the directory, then of one chunk.
 * - xt_assign(): finds the few runs at the edges of the range (a left and a
 *   right remainder, and neighbours the new run may merge with), builds their
 *   replacement (a handful of runs) and splices it in: usually a memmove of
 *   at most XT_CHUNK runs inside one chunk.  When the range spans chunks, or
 *   a chunk overflows, the chunks involved are rewritten (a split); a chunk
 *   under a quarter full is merged with a neighbour.  Only splits and merges
 *   move directory entries: n / XT_CHUNK entries of 16 bytes, about once per
 *   XT_CHUNK / 2 updates.
 * - Every allocation is made before the first change, so -ENOMEM leaves the
 *   index as it was.
 *
 * The build phase (extent_index.c) fills it once through xt_pack().
 */
#include "view/extent_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Runs per chunk at most. */
#define XT_CHUNK 256
/* Replacement runs an assignment builds without allocating. */
#define XT_STACK_RUNS 16

struct xt_chunk {
	uint32_t n, cap;
	struct xt_run runs[];
};

/* A run's place: chunk c (directory index), run i in it.  As the end of a
 * range or an insertion point, i may equal the chunk's n. */
struct xt_pos {
	size_t c, i;
};

/* Chunks ------------------------------------------------------------------ */

static size_t xt_chunk_bytes(size_t cap)
{
	return sizeof(struct xt_chunk) + cap * sizeof(struct xt_run);
}

/* Room for t runs and some slack, so that growing reallocates rarely. */
static size_t xt_cap_for(size_t t)
{
	size_t cap = t + t / 8 + 4;

	return cap < XT_CHUNK ? cap : XT_CHUNK;
}

static struct xt_chunk *xt_chunk_new(size_t cap)
{
	struct xt_chunk *c = malloc(xt_chunk_bytes(cap));

	if (c) {
		c->n = 0;
		c->cap = (uint32_t)cap;
	}
	return c;
}

static struct xt_chunk *xt_chunk(const struct xt_index *x, size_t c)
{
	return x->dir[c].c;
}

static const struct xt_run *xt_at(const struct xt_index *x, struct xt_pos p)
{
	return &x->dir[p.c].c->runs[p.i];
}

/* Reallocates chunk c to hold cap runs.  0 or -ENOMEM (chunk unchanged). */
static int xt_chunk_resize(struct xt_index *x, size_t c, size_t cap)
{
	struct xt_chunk *old = xt_chunk(x, c), *p = realloc(old, xt_chunk_bytes(cap));

	if (!p)
		return -ENOMEM;
	x->chunk_bytes += xt_chunk_bytes(cap) - xt_chunk_bytes(p->cap);
	p->cap = (uint32_t)cap;
	x->dir[c].c = p;
	return 0;
}

static void xt_chunk_free(struct xt_index *x, size_t c)
{
	x->chunk_bytes -= xt_chunk_bytes(xt_chunk(x, c)->cap);
	free(xt_chunk(x, c));
}

static int xt_dir_reserve(struct xt_index *x, size_t need)
{
	size_t cap = x->dir_cap ? x->dir_cap * 2 : 16;
	struct xt_dirent *d;

	if (need <= x->dir_cap)
		return 0;
	if (cap < need)
		cap = need;
	d = realloc(x->dir, cap * sizeof(*d));
	if (!d)
		return -ENOMEM;
	x->dir = d;
	x->dir_cap = cap;
	return 0;
}

int xt_pack(struct xt_index *x, const struct xt_run *runs, size_t n)
{
	size_t nch = (n + XT_CHUNK - 1) / XT_CHUNK, i;

	if (xt_dir_reserve(x, nch))
		return -ENOMEM;
	for (i = 0; i < nch; i++) {
		size_t at = i * XT_CHUNK, k = n - at < XT_CHUNK ? n - at : XT_CHUNK;
		struct xt_chunk *c = xt_chunk_new(k);

		if (!c)
			break;
		memcpy(c->runs, runs + at, k * sizeof(*c->runs));
		c->n = (uint32_t)k;
		x->dir[i] = (struct xt_dirent){ .first = c->runs[0].start, .c = c };
		x->chunk_bytes += xt_chunk_bytes(k);
	}
	if (i < nch) {
		while (i--)
			xt_chunk_free(x, i);
		return -ENOMEM;
	}
	x->nchunks = nch;
	x->count = n;
	return 0;
}

/* Lookups ----------------------------------------------------------------- */

/* The last chunk whose first run starts at or before `key`, or nchunks. */
static size_t xt_dir_upto(const struct xt_index *x, uint64_t key)
{
	size_t lo = 0, hi = x->nchunks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (x->dir[mid].first <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : x->nchunks;
}

/* Whether `key` falls in chunk c's share of the blocks. */
static bool xt_dir_holds(const struct xt_index *x, size_t c, uint64_t key)
{
	return c < x->nchunks && x->dir[c].first <= key &&
	       (c + 1 == x->nchunks || x->dir[c + 1].first > key);
}

/* The last run starting at or before `key`; false (p untouched) if there is
 * none.  Chunk `hint` is searched first if it holds the key (nchunks: none). */
static bool xt_upto_near(const struct xt_index *x, uint64_t key, size_t hint, struct xt_pos *p)
{
	size_t at = xt_dir_holds(x, hint, key) ? hint : xt_dir_upto(x, key), lo = 1, hi;
	const struct xt_chunk *c;

	if (at == x->nchunks)
		return false;
	p->c = at;
	c = xt_chunk(x, at);
	hi = c->n; /* runs[0] starts at dir[at].first: lo = 1 */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->runs[mid].start <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	p->i = lo - 1;
	return true;
}

static bool xt_upto(const struct xt_index *x, uint64_t key, struct xt_pos *p)
{
	return xt_upto_near(x, key, x->nchunks, p);
}

/* The run after p, across chunks; false if p is the last. */
static bool xt_next(const struct xt_index *x, struct xt_pos p, struct xt_pos *q)
{
	if (p.i + 1 < xt_chunk(x, p.c)->n) {
		*q = (struct xt_pos){ p.c, p.i + 1 };
		return true;
	}
	if (p.c + 1 < x->nchunks) {
		*q = (struct xt_pos){ p.c + 1, 0 };
		return true;
	}
	return false;
}

static bool xt_prev(const struct xt_index *x, struct xt_pos p, struct xt_pos *q)
{
	if (p.i) {
		*q = (struct xt_pos){ p.c, p.i - 1 };
		return true;
	}
	if (p.c) {
		*q = (struct xt_pos){ p.c - 1, xt_chunk(x, p.c - 1)->n - 1 };
		return true;
	}
	return false;
}

const struct xt_run *xt_find(const struct xt_index *x, uint64_t block)
{
	struct xt_pos p;
	const struct xt_run *r;

	if (!xt_upto(x, block, &p))
		return NULL;
	r = xt_at(x, p);
	return block - r->start < r->len ? r : NULL;
}

/* r clipped to [s, e), which it overlaps. */
static struct xt_run xt_clip(const struct xt_index *x, const struct xt_run *r, uint64_t s,
			     uint64_t e)
{
	struct xt_run c = *r;

	if (c.start < s) {
		c.base += (s - c.start) * xt_step(x, c.kind);
		c.len -= (uint32_t)(s - c.start);
		c.start = s;
	}
	if (xt_end(&c) > e)
		c.len = (uint32_t)(e - c.start);
	return c;
}

int xt_visit(const struct xt_index *x, uint64_t start, uint64_t len,
	     int (*cb)(void *ctx, const struct xt_run *r), void *ctx)
{
	uint64_t end = start + len < start ? UINT64_MAX : start + len;
	struct xt_pos p = { 0, 0 };
	bool more = x->nchunks > 0;

	if (!cb)
		return -EINVAL;
	if (!len)
		return 0;
	if (more && xt_upto(x, start, &p) && xt_end(xt_at(x, p)) <= start)
		more = xt_next(x, p, &p);
	for (; more && xt_at(x, p)->start < end; more = xt_next(x, p, &p)) {
		struct xt_run c = xt_clip(x, xt_at(x, p), start, end);
		int rc = cb(ctx, &c);

		if (rc)
			return rc;
	}
	return 0;
}

size_t xt_count(const struct xt_index *x)
{
	return x->count + x->npend;
}

size_t xt_mem(const struct xt_index *x)
{
	return x->chunk_bytes + x->dir_cap * sizeof(*x->dir) + x->pend_cap * sizeof(*x->pend);
}

void xt_free(struct xt_index *x)
{
	uint32_t ipb = x->inodes_per_block;

	for (size_t c = 0; c < x->nchunks; c++)
		free(xt_chunk(x, c));
	free(x->dir);
	free(x->pend);
	memset(x, 0, sizeof(*x));
	x->inodes_per_block = ipb;
}

/* Updates ------------------------------------------------------------------ */

/* A splice: the runs in [from, to) are replaced by r[0..m). */
struct xt_splice {
	struct xt_pos from, to;
	struct xt_run *r;
	size_t m;
};

static int xt_pos_cmp(struct xt_pos a, struct xt_pos b)
{
	if (a.c != b.c)
		return a.c < b.c ? -1 : 1;
	return a.i < b.i ? -1 : a.i > b.i;
}

static void xt_emit(struct xt_splice *s, const struct xt_run *r)
{
	s->r[s->m++] = *r;
}

/* The left edge of [st, e): where the replaced runs begin, and what of them
 * lies before st.  A run ending at st is taken along, to merge with the new
 * one; so is the run before a cut one that could join it once shorter. */
static void xt_left(const struct xt_index *x, uint64_t st, struct xt_splice *s)
{
	struct xt_pos l, p;

	s->from = (struct xt_pos){ 0, 0 };
	if (!st || !xt_upto(x, st - 1, &l))
		return;
	if (xt_end(xt_at(x, l)) < st) {
		s->from = (struct xt_pos){ l.c, l.i + 1 };
		return;
	}
	s->from = l;
	if (xt_end(xt_at(x, l)) > st && xt_prev(x, l, &p) && xt_joins(x, xt_at(x, p), xt_at(x, l))) {
		s->from = p;
		xt_emit(s, xt_at(x, p));
	}
	struct xt_run c = *xt_at(x, l);

	c.len = (uint32_t)(st - c.start);
	xt_emit(s, &c);
}

/* The right edge of [st, e): where the replaced runs end, and what of them
 * lies after e (the mirror of xt_left()). */
static void xt_right(const struct xt_index *x, uint64_t e, struct xt_splice *s)
{
	struct xt_pos z, nx;
	bool has_z = xt_upto_near(x, e - 1, s->from.c, &z), has_n;

	if (has_z && xt_end(xt_at(x, z)) > e) {
		struct xt_run c = xt_clip(x, xt_at(x, z), e, UINT64_MAX);

		xt_emit(s, &c);
		s->to = (struct xt_pos){ z.c, z.i + 1 };
		if (xt_next(x, z, &nx) && xt_joins(x, xt_at(x, z), xt_at(x, nx))) {
			xt_emit(s, xt_at(x, nx));
			s->to = (struct xt_pos){ nx.c, nx.i + 1 };
		}
		return;
	}
	if (has_z) {
		s->to = (struct xt_pos){ z.c, z.i + 1 };
		has_n = xt_next(x, z, &nx);
	} else {
		s->to = nx = (struct xt_pos){ 0, 0 };
		has_n = x->nchunks > 0;
	}
	if (has_n && xt_at(x, nx)->start == e) {
		xt_emit(s, xt_at(x, nx));
		s->to = (struct xt_pos){ nx.c, nx.i + 1 };
	}
}

/* Merges neighbours of r[0..m) in place; returns the new m. */
static size_t xt_coalesce(const struct xt_index *x, struct xt_run *r, size_t m)
{
	size_t out = 0;

	for (size_t i = 0; i < m; i++) {
		if (out && xt_mergeable(x, &r[out - 1], &r[i]))
			r[out - 1].len += r[i].len;
		else
			r[out++] = r[i];
	}
	return out;
}

/* Plans the assignment of [st, st + len) to run template t. */
static void xt_plan(const struct xt_index *x, uint64_t st, uint64_t len, const struct xt_run *t,
		    struct xt_splice *s)
{
	uint64_t step = xt_step(x, t->kind), base = t->base;

	s->m = 0;
	xt_left(x, st, s);
	for (uint64_t at = st, left = len; t->kind != STORM_OWNER_UNKNOWN && left;) {
		struct xt_run p = *t;

		p.start = at;
		p.base = base;
		p.len = (uint32_t)(left < XT_MAX_LEN ? left : XT_MAX_LEN);
		xt_emit(s, &p);
		at += p.len;
		base += p.len * step;
		left -= p.len;
	}
	xt_right(x, st + len, s);
	s->m = xt_coalesce(x, s->r, s->m);
	/* Runs replaced after the end of a chunk are the next chunk's first:
	 * start there, so that the splice stays inside one chunk. */
	if (x->nchunks && s->from.i == xt_chunk(x, s->from.c)->n && s->from.c + 1 < x->nchunks &&
	    xt_pos_cmp(s->from, s->to) < 0)
		s->from = (struct xt_pos){ s->from.c + 1, 0 };
}

/* The splice inside one chunk that keeps between 1 and XT_CHUNK runs. */
static int xt_splice_in(struct xt_index *x, const struct xt_splice *s)
{
	struct xt_chunk *c = xt_chunk(x, s->from.c);
	size_t t = c->n - (s->to.i - s->from.i) + s->m;

	if (t > c->cap && xt_chunk_resize(x, s->from.c, xt_cap_for(t)))
		return -ENOMEM;
	c = xt_chunk(x, s->from.c);
	memmove(&c->runs[s->from.i + s->m], &c->runs[s->to.i],
		(c->n - s->to.i) * sizeof(*c->runs));
	memcpy(&c->runs[s->from.i], s->r, s->m * sizeof(*s->r));
	x->count = x->count - c->n + t;
	c->n = (uint32_t)t;
	x->dir[s->from.c].first = c->runs[0].start;
	return 0;
}

/* The runs a rewrite of chunks lays out: three sources read in order. */
struct xt_src {
	const struct xt_run *p[3];
	size_t n[3];
	unsigned k;
};

static void xt_src_take(struct xt_src *q, struct xt_run *dst, size_t want)
{
	while (want) {
		size_t take = q->n[q->k] < want ? q->n[q->k] : want;

		if (!take) {
			q->k++;
			continue;
		}
		memcpy(dst, q->p[q->k], take * sizeof(*dst));
		dst += take;
		want -= take;
		q->p[q->k] += take;
		q->n[q->k] -= take;
		if (!q->n[q->k])
			q->k++;
	}
}

/* Allocates k chunks for t runs, filled from q.  0 or -ENOMEM (none kept). */
static int xt_fill(struct xt_chunk **out, size_t k, size_t t, struct xt_src *q)
{
	for (size_t i = 0; i < k; i++) {
		size_t share = t / k + (i < t % k);

		out[i] = xt_chunk_new(xt_cap_for(share));
		if (!out[i]) {
			while (i--)
				free(out[i]);
			return -ENOMEM;
		}
		out[i]->n = (uint32_t)share;
	}
	for (size_t i = 0; i < k; i++)
		xt_src_take(q, out[i]->runs, out[i]->n);
	return 0;
}

/* Replaces directory entries [c0, c0 + old) by the k chunks in fresh. */
static void xt_dir_replace(struct xt_index *x, size_t c0, size_t old, struct xt_chunk **fresh,
			   size_t k)
{
	for (size_t c = c0; c < c0 + old; c++) {
		x->count -= xt_chunk(x, c)->n;
		xt_chunk_free(x, c);
	}
	memmove(&x->dir[c0 + k], &x->dir[c0 + old], (x->nchunks - c0 - old) * sizeof(*x->dir));
	for (size_t i = 0; i < k; i++) {
		x->dir[c0 + i] = (struct xt_dirent){ .first = fresh[i]->runs[0].start, .c = fresh[i] };
		x->count += fresh[i]->n;
		x->chunk_bytes += xt_chunk_bytes(fresh[i]->cap);
	}
	x->nchunks = x->nchunks - old + k;
}

/* The general splice: rewrites the chunks from s->from.c to s->to.c into as
 * few new chunks as hold the runs they keep plus the replacement. */
static int xt_rewrite(struct xt_index *x, const struct xt_splice *s)
{
	struct xt_chunk *stack[4], **fresh = stack;
	struct xt_src q = { .p = { NULL, s->r, NULL }, .n = { 0, s->m, 0 } };
	size_t old = 0, t, k;

	if (x->nchunks) {
		const struct xt_chunk *a = xt_chunk(x, s->from.c), *b = xt_chunk(x, s->to.c);

		q.p[0] = a->runs;
		q.n[0] = s->from.i;
		q.p[2] = b->runs + s->to.i;
		q.n[2] = b->n - s->to.i;
		old = s->to.c - s->from.c + 1;
	}
	t = q.n[0] + q.n[1] + q.n[2];
	k = (t + XT_CHUNK - 1) / XT_CHUNK;
	if (xt_dir_reserve(x, x->nchunks - old + k))
		return -ENOMEM;
	if (k > 4 && !(fresh = malloc(k * sizeof(*fresh))))
		return -ENOMEM;
	if (xt_fill(fresh, k, t, &q)) {
		if (fresh != stack)
			free(fresh);
		return -ENOMEM;
	}
	xt_dir_replace(x, s->from.c, old, fresh, k);
	if (fresh != stack)
		free(fresh);
	return 0;
}

static int xt_splice(struct xt_index *x, const struct xt_splice *s)
{
	if (x->nchunks && s->from.c == s->to.c) {
		size_t t = xt_chunk(x, s->from.c)->n - (s->to.i - s->from.i) + s->m;

		if (t && t <= XT_CHUNK)
			return xt_splice_in(x, s);
	}
	return xt_rewrite(x, s);
}

/* Keeps chunk c from staying small: merges it with a neighbour when both
 * fit in three quarters of a chunk, else gives back unused room.  Failures
 * leave the index as it is, valid. */
static void xt_tidy(struct xt_index *x, size_t c)
{
	struct xt_chunk *ch;

	if (c >= x->nchunks)
		return;
	ch = xt_chunk(x, c);
	if (ch->n < XT_CHUNK / 4) {
		for (size_t a = c ? c - 1 : c; a <= c && a + 1 < x->nchunks; a++) {
			size_t na = xt_chunk(x, a)->n, nb = xt_chunk(x, a + 1)->n;
			struct xt_splice s = { .from = { a, na }, .to = { a + 1, 0 } };

			if (na + nb <= XT_CHUNK * 3 / 4 && !xt_rewrite(x, &s))
				return;
		}
	}
	if (ch->cap > 2 * (size_t)ch->n + 8)
		(void)xt_chunk_resize(x, c, xt_cap_for(ch->n));
}

int xt_assign(struct xt_index *x, uint64_t start, uint64_t len, unsigned kind, uint32_t ino,
	      uint32_t group, uint64_t base)
{
	struct xt_run stack[XT_STACK_RUNS];
	struct xt_run t = { .base = base, .ino = ino, .group = group, .kind = (uint8_t)kind };
	struct xt_splice s = { .r = stack };
	uint64_t pieces;
	int rc;

	if (!len || start + len < start || kind > UINT8_MAX || x->npend)
		return -EINVAL;
	/* The new run's pieces, and at most two runs on either side. */
	pieces = kind == STORM_OWNER_UNKNOWN ? 0 : (len - 1) / XT_MAX_LEN + 1;
	if (pieces > XT_STACK_RUNS - 4 && !(s.r = malloc((pieces + 4) * sizeof(*s.r))))
		return -ENOMEM;
	xt_plan(x, start, len, &t, &s);
	rc = xt_splice(x, &s);
	if (!rc) {
		x->dynamic = true;
		xt_tidy(x, s.from.c);
	}
	if (s.r != stack)
		free(s.r);
	return rc;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The dynamic owner-run index (xt_assign, xt_find, xt_visit) against a naive
 * per-block model, its edge cases, and the dynamic path map (pm_link,
 * pm_unlink, pm_find) with hard links.
 */
#include "view/view_int.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPACE 50000u
#define IPB 16u /* inodes per block */
#define MAX_RUN 0x80000000ull

/* What one block of the model maps to. */
struct cell {
	uint8_t kind;
	uint32_t ino, group;
	uint64_t at; /* base + offset * step */
};

struct model {
	struct xt_index x;
	struct cell *c;
	uint64_t rng;
};

static uint64_t rnd(struct model *m)
{
	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 7;
	m->rng ^= m->rng << 17;
	return m->rng;
}

static void model_init(struct model *m, uint64_t seed)
{
	m->x = (struct xt_index){ .inodes_per_block = IPB };
	m->c = calloc(SPACE, sizeof(*m->c));
	m->rng = seed * 0x9E3779B97F4A7C15ull + 1;
	cr_assert_not_null(m->c);
}

static void model_free(struct model *m)
{
	xt_free(&m->x);
	free(m->c);
}

static void model_assign(struct model *m, uint64_t start, uint64_t len, unsigned kind,
			 uint32_t ino, uint32_t group, uint64_t base)
{
	uint64_t step = xt_step(&m->x, kind);

	cr_assert_eq(xt_assign(&m->x, start, len, kind, ino, group, base), 0);
	for (uint64_t i = 0; i < len; i++)
		m->c[start + i] = kind ? (struct cell){ .kind = (uint8_t)kind, .ino = ino,
							.group = group, .at = base + i * step }
				       : (struct cell){ 0 };
}

/* Blocks [a, b) of the index against the model. */
static void check_blocks(const struct model *m, uint64_t a, uint64_t b)
{
	for (uint64_t blk = a; blk < b && blk < SPACE; blk++) {
		const struct xt_run *r = xt_find(&m->x, blk);
		const struct cell *c = &m->c[blk];

		if (!c->kind) {
			cr_assert_null(r, "block %llu should be unowned", (unsigned long long)blk);
			continue;
		}
		cr_assert_not_null(r, "block %llu should be owned", (unsigned long long)blk);
		cr_assert(r->kind == c->kind && r->ino == c->ino && r->group == c->group,
			  "block %llu: kind %u ino %u, model kind %u ino %u", (unsigned long long)blk,
			  r->kind, r->ino, c->kind, c->ino);
		cr_assert_eq(r->base + (blk - r->start) * xt_step(&m->x, r->kind), c->at,
			     "block %llu maps wrongly", (unsigned long long)blk);
	}
}

/* What a visit of the runs saw. */
struct walk {
	const struct xt_index *x;
	struct xt_run prev;
	size_t n;
	uint64_t lo, hi; /* the range visited */
};

static int walk_cb(void *ctx, const struct xt_run *r)
{
	struct walk *w = ctx;
	const struct xt_run *p = &w->prev;

	cr_assert(r->len > 0 && r->kind != STORM_OWNER_UNKNOWN);
	cr_assert(r->start >= w->lo && r->start + r->len <= w->hi, "visit not clipped");
	if (w->n) {
		cr_assert_leq(p->start + p->len, r->start, "runs overlap or are out of order");
		cr_assert(!(p->kind == r->kind && p->ino == r->ino && p->group == r->group &&
			    p->start + p->len == r->start &&
			    p->base + p->len * xt_step(w->x, p->kind) == r->base &&
			    (uint64_t)p->len + r->len <= MAX_RUN),
			  "runs at %llu and %llu should have merged", (unsigned long long)p->start,
			  (unsigned long long)r->start);
	}
	w->prev = *r;
	w->n++;
	return 0;
}

/* Sorted, disjoint, merged runs in [lo, hi); returns how many were seen. */
static size_t check_runs(const struct xt_index *x, uint64_t lo, uint64_t hi)
{
	struct walk w = { .x = x, .lo = lo, .hi = hi };

	cr_assert_eq(xt_visit(x, lo, hi - lo, walk_cb, &w), 0);
	return w.n;
}

/* Every chunk of the directory begins with a run, in order. */
static void check_dir(const struct xt_index *x)
{
	for (size_t c = 0; c < x->nchunks; c++) {
		const struct xt_run *r = xt_find(x, x->dir[c].first);

		cr_assert(r && r->start == x->dir[c].first);
		cr_assert(!c || x->dir[c - 1].first < x->dir[c].first);
	}
}

static void check_all(const struct model *m)
{
	check_dir(&m->x);
	check_blocks(m, 0, SPACE);
	cr_assert_eq(check_runs(&m->x, 0, UINT64_MAX), xt_count(&m->x));
}

static const unsigned kinds[] = {
	STORM_OWNER_UNKNOWN,     STORM_OWNER_FREE,      STORM_OWNER_FREE,
	STORM_OWNER_FREE,        STORM_OWNER_FILE_DATA, STORM_OWNER_FILE_DATA,
	STORM_OWNER_FILE_DATA,   STORM_OWNER_DIR_DATA,  STORM_OWNER_INODE_TABLE,
	STORM_OWNER_INODE_TABLE, STORM_OWNER_SUPERBLOCK, STORM_OWNER_EXTENT_TREE,
};

static uint64_t random_len(struct model *m, uint64_t start)
{
	uint64_t p = rnd(m) % 100, len;

	if (p < 70)
		len = 1 + rnd(m) % 8;
	else if (p < 98)
		len = 1 + rnd(m) % 64;
	else
		len = 1 + rnd(m) % 3000;
	return len < SPACE - start ? len : SPACE - start;
}

/* Mostly bases that continue a neighbour with the same owner, so that runs
 * merge as often as they split. */
static uint64_t random_base(struct model *m, unsigned kind, uint64_t start)
{
	uint64_t step = xt_step(&m->x, kind);

	if (rnd(m) % 4 == 0)
		return rnd(m) % 1000;
	return step ? start * step : 0;
}

static void random_assign(struct model *m)
{
	uint64_t start = rnd(m) % SPACE, len = random_len(m, start);
	unsigned kind = kinds[rnd(m) % (sizeof(kinds) / sizeof(kinds[0]))];
	uint32_t ino = kind ? 1 + (uint32_t)(rnd(m) % 6) : 0;
	uint32_t group = kind ? (uint32_t)(rnd(m) % 2) : 0;

	model_assign(m, start, len, kind, ino, group, random_base(m, kind, start));
	check_blocks(m, start ? start - 1 : 0, start + len + 1);
	check_runs(&m->x, start > 100 ? start - 100 : 0, start + len + 100);
}

/* Starts from a built index of one-block runs that cannot merge. */
static void prebuild(struct model *m)
{
	for (uint32_t b = 0; b < SPACE; b++) {
		uint32_t ino = 1 + b % 2;

		cr_assert_eq(xt_add(&m->x, b, 1, STORM_OWNER_FILE_DATA, ino, 0, b), 0);
		m->c[b] = (struct cell){ .kind = STORM_OWNER_FILE_DATA, .ino = ino, .at = b };
	}
	cr_assert_eq(xt_finish(&m->x), 0);
	cr_assert_eq(xt_count(&m->x), SPACE);
}

static void differential(uint64_t seed, bool built)
{
	struct model m;
	size_t least = SIZE_MAX, most = 0;

	model_init(&m, seed);
	if (built)
		prebuild(&m);
	for (unsigned i = 0; i < 30000; i++) {
		random_assign(&m);
		if (i % 5000 == 0)
			check_all(&m);
		least = xt_count(&m.x) < least ? xt_count(&m.x) : least;
		most = xt_count(&m.x) > most ? xt_count(&m.x) : most;
	}
	check_all(&m);
	/* Enough runs for chunks to split, and fewer at times for them to merge. */
	cr_assert_gt(most, 2000);
	cr_assert_lt(least, most);
	model_free(&m);
}

Test(runmap, random_assigns_match_a_per_block_model_1) { differential(1, false); }
Test(runmap, random_assigns_match_a_per_block_model_2) { differential(2, true); }
Test(runmap, random_assigns_match_a_per_block_model_3) { differential(3, false); }
Test(runmap, random_assigns_match_a_per_block_model_4) { differential(4, true); }

Test(runmap, assign_over_the_whole_space_leaves_one_run)
{
	struct model m;

	model_init(&m, 9);
	prebuild(&m);
	for (unsigned i = 0; i < 2000; i++)
		random_assign(&m);
	model_assign(&m, 0, SPACE, STORM_OWNER_FREE, 0, 0, 0);
	cr_assert_eq(xt_count(&m.x), 1);
	check_all(&m);
	/* A handful of runs left: the chunks were freed. */
	cr_assert_lt(xt_mem(&m.x), 64 * 1024);
	model_assign(&m, 0, SPACE, STORM_OWNER_UNKNOWN, 0, 0, 0);
	cr_assert_eq(xt_count(&m.x), 0);
	cr_assert_null(xt_find(&m.x, 0));
	check_all(&m);
	model_free(&m);
}

Test(runmap, first_and_last_blocks)
{
	struct model m;

	model_init(&m, 10);
	model_assign(&m, 0, 1, STORM_OWNER_SUPERBLOCK, 0, 0, 0);
	model_assign(&m, SPACE - 1, 1, STORM_OWNER_FILE_DATA, 5, 0, 77);
	model_assign(&m, 1, SPACE - 2, STORM_OWNER_FREE, 0, 0, 0);
	cr_assert_eq(xt_count(&m.x), 3);
	check_all(&m);
	model_assign(&m, 0, 2, STORM_OWNER_FREE, 0, 0, 0);
	model_assign(&m, SPACE - 2, 2, STORM_OWNER_FREE, 0, 0, 0);
	cr_assert_eq(xt_count(&m.x), 1);
	check_all(&m);
	/* The highest block that can be owned is UINT64_MAX - 1. */
	cr_assert_eq(xt_assign(&m.x, UINT64_MAX - 1, 1, STORM_OWNER_OTHER, 0, 0, 9), 0);
	cr_assert_eq(xt_find(&m.x, UINT64_MAX - 1)->base, 9);
	cr_assert_null(xt_find(&m.x, UINT64_MAX));
	cr_assert_eq(xt_assign(&m.x, UINT64_MAX, 1, STORM_OWNER_OTHER, 0, 0, 0), -EINVAL);
	model_free(&m);
}

Test(runmap, bad_arguments_leave_the_index_alone)
{
	struct xt_index x = { .inodes_per_block = IPB };

	cr_assert_eq(xt_assign(&x, 10, 20, STORM_OWNER_FREE, 0, 0, 0), 0);
	cr_assert_eq(xt_assign(&x, 10, 0, STORM_OWNER_FREE, 0, 0, 0), -EINVAL);
	cr_assert_eq(xt_assign(&x, 10, UINT64_MAX - 9, STORM_OWNER_FREE, 0, 0, 0), -EINVAL);
	cr_assert_eq(xt_assign(&x, 2, UINT64_MAX, STORM_OWNER_FREE, 0, 0, 0), -EINVAL);
	cr_assert_eq(xt_assign(&x, 10, 1, 256, 0, 0, 0), -EINVAL);
	/* Once dynamic, the build phase is over. */
	cr_assert_eq(xt_add(&x, 100, 1, STORM_OWNER_FREE, 0, 0, 0), -EINVAL);
	cr_assert_eq(xt_count(&x), 1);
	cr_assert_eq(xt_find(&x, 29)->len, 20);
	xt_free(&x);
	/* Runs added but not finished cannot be assigned over. */
	cr_assert_eq(xt_add(&x, 100, 1, STORM_OWNER_FREE, 0, 0, 0), 0);
	cr_assert_eq(xt_assign(&x, 10, 1, STORM_OWNER_FREE, 0, 0, 0), -EINVAL);
	cr_assert_eq(xt_finish(&x), 0);
	cr_assert_eq(xt_assign(&x, 101, 1, STORM_OWNER_FREE, 0, 0, 0), 0);
	cr_assert_eq(xt_find(&x, 100)->len, 2);
	xt_free(&x);
}

Test(runmap, inode_table_base_steps_by_inodes_per_block)
{
	struct model m;
	const struct xt_run *r;

	model_init(&m, 11);
	model_assign(&m, 100, 100, STORM_OWNER_INODE_TABLE, 0, 3, 1);
	model_assign(&m, 120, 10, STORM_OWNER_FILE_DATA, 12, 0, 0);
	r = xt_find(&m.x, 150);
	cr_assert_eq(r->start, 130);
	cr_assert_eq(r->base, 1 + 30 * IPB); /* the right remainder's base moved on */
	cr_assert_eq(xt_count(&m.x), 3);
	check_all(&m);
	/* Putting the table back makes one run again. */
	model_assign(&m, 120, 10, STORM_OWNER_INODE_TABLE, 0, 3, 1 + 20 * IPB);
	cr_assert_eq(xt_count(&m.x), 1);
	cr_assert_eq(xt_find(&m.x, 199)->len, 100);
	/* Another group, or a base that does not continue, stays apart. */
	model_assign(&m, 200, 5, STORM_OWNER_INODE_TABLE, 0, 4, 1 + 100 * IPB);
	model_assign(&m, 205, 5, STORM_OWNER_INODE_TABLE, 0, 4, 2 + 105 * IPB);
	cr_assert_eq(xt_count(&m.x), 3);
	check_all(&m);
	model_free(&m);
}

Test(runmap, unknown_unowns)
{
	struct xt_index x = { .inodes_per_block = IPB };

	cr_assert_eq(xt_assign(&x, 0, 100, STORM_OWNER_FREE, 0, 0, 0), 0);
	cr_assert_eq(xt_assign(&x, 10, 10, STORM_OWNER_UNKNOWN, 0, 0, 0), 0);
	cr_assert_null(xt_find(&x, 15));
	cr_assert_eq(xt_count(&x), 2);
	cr_assert_eq(xt_assign(&x, 10, 10, STORM_OWNER_FREE, 0, 0, 0), 0);
	cr_assert_eq(xt_count(&x), 1);
	xt_free(&x);
}

/* Runs of 2^31 blocks at most: a long assignment is cut in pieces, and
 * pieces that could join after a cut do. */
Test(runmap, runs_longer_than_31_bits)
{
	struct xt_index x = { .inodes_per_block = IPB };
	uint64_t len = 2 * MAX_RUN + 10, at = 5 + MAX_RUN + 123;
	const struct xt_run *r;

	cr_assert_eq(xt_assign(&x, 5, len, STORM_OWNER_FILE_DATA, 7, 0, 1000), 0);
	cr_assert_eq(xt_count(&x), 3);
	r = xt_find(&x, at);
	cr_assert_eq(r->base + (at - r->start), 1000 + (at - 5));
	check_runs(&x, 0, UINT64_MAX);
	/* Cut in the middle of the first piece, then put it back. */
	cr_assert_eq(xt_assign(&x, 100, 1, STORM_OWNER_FREE, 0, 0, 0), 0);
	check_runs(&x, 0, UINT64_MAX);
	cr_assert_eq(xt_count(&x), 5);
	cr_assert_eq(xt_assign(&x, 100, 1, STORM_OWNER_FILE_DATA, 7, 0, 1095), 0);
	check_runs(&x, 0, UINT64_MAX);
	cr_assert_eq(xt_count(&x), 3);
	/* Cut the end of the second piece: what is left of it joins the third. */
	cr_assert_eq(xt_assign(&x, 5 + 2 * MAX_RUN - 20, 15, STORM_OWNER_FREE, 0, 0, 0), 0);
	check_runs(&x, 0, UINT64_MAX);
	r = xt_find(&x, 5 + 2 * MAX_RUN - 3);
	cr_assert_eq(r->start, 5 + 2 * MAX_RUN - 5);
	cr_assert_eq(r->len, 15);
	cr_assert_eq(r->base, 1000 + 2 * MAX_RUN - 5);
	for (uint64_t b = 5; b < 5 + 2 * MAX_RUN - 20; b += 99991)
		cr_assert_eq(xt_find(&x, b)->base + (b - xt_find(&x, b)->start), 1000 + (b - 5));
	xt_free(&x);
	/* The mirror: cutting the end of a long run lets the short one before
	 * it join. */
	cr_assert_eq(xt_assign(&x, 0, 10, STORM_OWNER_FILE_DATA, 1, 0, 0), 0);
	cr_assert_eq(xt_assign(&x, 10, MAX_RUN, STORM_OWNER_FILE_DATA, 1, 0, 10), 0);
	cr_assert_eq(xt_count(&x), 2);
	cr_assert_eq(xt_assign(&x, MAX_RUN, 10, STORM_OWNER_FREE, 0, 0, 0), 0);
	cr_assert_eq(xt_count(&x), 2);
	cr_assert_eq(xt_find(&x, 0)->len, MAX_RUN);
	check_runs(&x, 0, UINT64_MAX);
	xt_free(&x);
}

struct visit_log {
	struct xt_run r[8];
	int n, stop_after;
};

static int log_cb(void *ctx, const struct xt_run *r)
{
	struct visit_log *l = ctx;

	l->r[l->n++] = *r;
	return l->n == l->stop_after ? 42 : 0;
}

Test(runmap, visit_clips_and_stops)
{
	struct xt_index x = { .inodes_per_block = IPB };
	struct visit_log l = { .stop_after = 0 };

	cr_assert_eq(xt_assign(&x, 10, 10, STORM_OWNER_FILE_DATA, 3, 0, 50), 0);
	cr_assert_eq(xt_assign(&x, 30, 10, STORM_OWNER_INODE_TABLE, 0, 1, 1), 0);
	cr_assert_eq(xt_assign(&x, 40, 10, STORM_OWNER_FREE, 0, 0, 0), 0);
	cr_assert_eq(xt_visit(&x, 15, 20, log_cb, &l), 0);
	cr_assert_eq(l.n, 2);
	cr_assert(l.r[0].start == 15 && l.r[0].len == 5 && l.r[0].base == 55);
	cr_assert(l.r[1].start == 30 && l.r[1].len == 5 && l.r[1].base == 1);
	l = (struct visit_log){ .stop_after = 2 };
	cr_assert_eq(xt_visit(&x, 0, UINT64_MAX, log_cb, &l), 42);
	cr_assert_eq(l.n, 2);
	l = (struct visit_log){ .stop_after = 0 };
	cr_assert_eq(xt_visit(&x, 33, 1, log_cb, &l), 0);
	cr_assert(l.n == 1 && l.r[0].base == 1 + 3 * IPB && l.r[0].len == 1);
	cr_assert_eq(xt_visit(&x, 20, 10, log_cb, &l), 0); /* a gap */
	cr_assert_eq(xt_visit(&x, 45, 0, log_cb, &l), 0);
	cr_assert_eq(l.n, 1);
	cr_assert_eq(xt_visit(&x, 0, 1, NULL, NULL), -EINVAL);
	xt_free(&x);
	cr_assert_eq(xt_visit(&x, 0, 100, log_cb, &l), 0);
}

/* Many runs made and unmade in random order: chunks split, merge and free. */
Test(runmap, many_runs_grow_and_shrink)
{
	enum { N = 60000 };
	struct xt_index x = { .inodes_per_block = IPB };
	uint32_t *order = malloc(N * sizeof(*order));
	uint64_t rng = 88172645463325252ull;
	size_t mem;

	cr_assert_not_null(order);
	for (uint32_t i = 0; i < N; i++)
		order[i] = i;
	for (uint32_t i = N - 1; i > 0; i--) {
		uint32_t j;

		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		j = (uint32_t)(rng % (i + 1));
		uint32_t t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (uint32_t i = 0; i < N; i++)
		cr_assert_eq(xt_assign(&x, 2 * (uint64_t)order[i], 1, STORM_OWNER_FILE_DATA,
				       order[i] % 2, 0, 2 * (uint64_t)order[i]), 0);
	cr_assert_eq(xt_count(&x), N);
	mem = xt_mem(&x);
	cr_assert_lt(mem, (size_t)N * 48, "%zu bytes for %d runs", mem, N);
	cr_assert_eq(check_runs(&x, 0, UINT64_MAX), N);
	check_dir(&x);
	for (uint32_t i = 0; i < N; i++)
		cr_assert_eq(xt_find(&x, 2 * (uint64_t)i)->ino, i % 2);
	/* Fill the gaps: each run merges with the block after it. */
	for (uint32_t i = 0; i < N; i++)
		cr_assert_eq(xt_assign(&x, 2 * (uint64_t)order[i] + 1, 1, STORM_OWNER_FILE_DATA,
				       order[i] % 2, 0, 2 * (uint64_t)order[i] + 1), 0);
	cr_assert_eq(check_runs(&x, 0, UINT64_MAX), N);
	cr_assert_eq(xt_count(&x), N);
	check_dir(&x);
	for (uint32_t i = 0; i < N; i++)
		cr_assert_eq(xt_assign(&x, 2 * (uint64_t)order[i], 2, STORM_OWNER_UNKNOWN, 0, 0, 0),
			     0);
	cr_assert_eq(xt_count(&x), 0);
	cr_assert_lt(xt_mem(&x), mem / 8);
	xt_free(&x);
	free(order);
}

/* Path map ------------------------------------------------------------------ */

static void expect_first(const struct path_map *m, uint32_t child, uint32_t parent,
			 const char *name)
{
	const struct path_entry *e = pm_find(m, child);

	cr_assert_not_null(e, "inode %u has no name", child);
	cr_assert_eq(e->child, child);
	cr_assert_eq(e->parent, parent, "inode %u: parent %u, not %u", child, e->parent, parent);
	cr_assert_eq(e->name_len, strlen(name));
	cr_assert_eq(memcmp(pm_name(m, e), name, e->name_len), 0);
}

static int link_s(struct path_map *m, uint32_t child, uint32_t parent, const char *name)
{
	return pm_link(m, child, parent, name, strlen(name));
}

static int unlink_s(struct path_map *m, uint32_t child, uint32_t parent, const char *name)
{
	return pm_unlink(m, child, parent, name, strlen(name));
}

Test(runmap, hard_links_oldest_name_first)
{
	struct path_map m = { 0 };

	cr_assert_null(pm_find(&m, 10));
	cr_assert_eq(unlink_s(&m, 10, 2, "a"), -ENOENT);
	cr_assert_eq(link_s(&m, 10, 2, "a"), 0);
	cr_assert_eq(link_s(&m, 10, 3, "b"), 0);
	cr_assert_eq(link_s(&m, 10, 2, "c"), 0);
	cr_assert_eq(link_s(&m, 11, 2, "a"), 0); /* another inode, same name */
	cr_assert_eq(pm_count(&m), 4);
	expect_first(&m, 10, 2, "a");
	/* A duplicate is a no-op. */
	cr_assert_eq(link_s(&m, 10, 3, "b"), 0);
	cr_assert_eq(pm_count(&m), 4);
	/* Only the exact name goes. */
	cr_assert_eq(unlink_s(&m, 10, 3, "a"), -ENOENT);
	cr_assert_eq(unlink_s(&m, 10, 2, "ab"), -ENOENT);
	cr_assert_eq(unlink_s(&m, 12, 2, "a"), -ENOENT);
	cr_assert_eq(unlink_s(&m, 10, 2, "a"), 0);
	cr_assert_eq(unlink_s(&m, 10, 2, "a"), -ENOENT);
	expect_first(&m, 10, 3, "b");
	/* Linked again, the name is the youngest. */
	cr_assert_eq(link_s(&m, 10, 2, "a"), 0);
	expect_first(&m, 10, 3, "b");
	cr_assert_eq(unlink_s(&m, 10, 2, "c"), 0); /* a middle one */
	cr_assert_eq(unlink_s(&m, 10, 3, "b"), 0);
	expect_first(&m, 10, 2, "a");
	cr_assert_eq(unlink_s(&m, 10, 2, "a"), 0);
	cr_assert_null(pm_find(&m, 10));
	expect_first(&m, 11, 2, "a");
	cr_assert_eq(pm_count(&m), 1);
	pm_free(&m);
}

Test(runmap, name_lengths)
{
	struct path_map m = { 0 };
	char name[300];

	memset(name, 'x', sizeof(name));
	cr_assert_eq(pm_link(&m, 5, 2, name, 0), -EINVAL);
	cr_assert_eq(pm_link(&m, 5, 2, name, 256), -EINVAL);
	cr_assert_eq(pm_add(&m, 5, 2, name, 256), -EUCLEAN);
	cr_assert_eq(pm_count(&m), 0);
	cr_assert_eq(pm_link(&m, 5, 2, name, 255), 0);
	cr_assert_eq(pm_find(&m, 5)->name_len, 255);
	cr_assert_eq(pm_unlink(&m, 5, 2, name, 256), -ENOENT);
	cr_assert_eq(pm_unlink(&m, 5, 2, name, 255), 0);
	pm_free(&m);
}

static void name_of(uint32_t i, char *buf)
{
	snprintf(buf, 16, "f%u", i);
}

Test(runmap, a_million_children)
{
	enum { N = 1000000 };
	struct path_map m = { 0 };
	char buf[16];

	for (uint32_t i = 1; i <= N; i++) {
		name_of(i, buf);
		cr_assert_eq(pm_add(&m, i, i / 16, buf, strlen(buf)), 0);
	}
	pm_finish(&m);
	cr_assert_eq(pm_count(&m), N);
	cr_assert_lt(pm_mem(&m), (size_t)N * 48, "%zu bytes", pm_mem(&m));
	/* A second name for every third, then the first names of the even go. */
	for (uint32_t i = 3; i <= N; i += 3)
		cr_assert_eq(link_s(&m, i, 7, "again"), 0);
	for (uint32_t i = 2; i <= N; i += 2) {
		name_of(i, buf);
		cr_assert_eq(pm_unlink(&m, i, i / 16, buf, strlen(buf)), 0);
	}
	cr_assert_eq(pm_count(&m), N - N / 2 + N / 3);
	for (uint32_t i = 1; i <= N; i++) {
		name_of(i, buf);
		if (i % 2)
			expect_first(&m, i, i / 16, buf);
		else if (i % 3 == 0)
			expect_first(&m, i, 7, "again");
		else
			cr_assert_null(pm_find(&m, i));
	}
	cr_assert_null(pm_find(&m, 0));
	cr_assert_null(pm_find(&m, N + 1));
	pm_free(&m);
}

/* Random links and unlinks against a per-child list of names. */
Test(runmap, random_links_match_a_model)
{
	enum { CHILDREN = 3000, SLOTS = 8 };
	static const char *const names[] = { "a", "bb", "ccc", "dddd" };
	/* Per child, its names in age order: parent * 4 + name index, -1 none. */
	static int model[CHILDREN][SLOTS];
	struct path_map m = { 0 };
	uint64_t rng = 42;
	size_t count = 0;

	memset(model, -1, sizeof(model));
	for (unsigned op = 0; op < 150000; op++) {
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		uint32_t child = (uint32_t)(rng % CHILDREN);
		int id = (int)((rng >> 20) % SLOTS); /* 2 parents x 4 names */
		int *l = model[child], at = -1, n = 0;

		for (n = 0; n < SLOTS && l[n] >= 0; n++)
			if (l[n] == id)
				at = n;
		if ((rng >> 40) % 2) {
			cr_assert_eq(pm_link(&m, child, 100 + (uint32_t)id / 4, names[id % 4],
					     strlen(names[id % 4])), 0);
			if (at < 0)
				l[n] = id, count++;
		} else {
			int rc = pm_unlink(&m, child, 100 + (uint32_t)id / 4, names[id % 4],
					   strlen(names[id % 4]));

			cr_assert_eq(rc, at < 0 ? -ENOENT : 0);
			if (at >= 0) {
				memmove(&l[at], &l[at + 1], (size_t)(SLOTS - at - 1) * sizeof(*l));
				l[SLOTS - 1] = -1;
				count--;
			}
		}
		if (l[0] < 0)
			cr_assert_null(pm_find(&m, child));
		else
			expect_first(&m, child, 100 + (uint32_t)l[0] / 4, names[l[0] % 4]);
	}
	cr_assert_eq(pm_count(&m), count);
	for (uint32_t c = 0; c < CHILDREN; c++)
		if (model[c][0] < 0)
			cr_assert_null(pm_find(&m, c));
		else
			expect_first(&m, c, 100 + (uint32_t)model[c][0] / 4, names[model[c][0] % 4]);
	pm_free(&m);
}

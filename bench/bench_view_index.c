/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench_view_index: the ext4 view's owner-run index and path map at scale.
 *
 *   bench_view_index [RUNS]      (default 1000000)
 *
 * Builds an index of RUNS runs (xt_add + xt_finish; runs of 1 to 16 blocks
 * with gaps, each of another inode so that none merge), then measures:
 * - lookup: xt_find of random blocks, against a plain binary search of a
 *   sorted array of the same runs;
 * - assign: xt_assign of random small ranges (1 to 8 blocks, new owners),
 *   against the least a sorted array must do for each (a binary search and a
 *   memmove of the tail by two runs, the split of one run around the new);
 * - memory: xt_mem per run after the build and after the assigns;
 * - path map: pm_link and pm_find of RUNS names, and bytes per name.
 * Each rate is the best of a few runs, in millions per second. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "view/view_int.h"

#include "bench_util.h"

#define LOOKUPS (4u << 20)
#define ASSIGNS 1000000u
#define ARRAY_ASSIGNS 20000u
#define REPEAT 3

static uint64_t g_rng = 0x2545F4914F6CDD1Dull;

static uint64_t rnd(void)
{
	return bench_rnd(&g_rng);
}

static void die(const char *what)
{
	fprintf(stderr, "bench_view_index: %s\n", what);
	exit(1);
}

/* Runs of 1..16 blocks, 0..3 blocks apart; returns the blocks spanned. */
static uint64_t build(struct xt_index *x, size_t nruns)
{
	uint64_t at = 0;

	for (size_t i = 0; i < nruns; i++) {
		uint64_t len = 1 + rnd() % 16;

		if (xt_add(x, at, len, STORM_OWNER_FILE_DATA, (uint32_t)i + 1, 0, 0))
			die("out of memory adding runs");
		at += len + rnd() % 4;
	}
	if (xt_finish(x))
		die("out of memory finishing the index");
	return at;
}

struct flat {
	struct xt_run *r;
	size_t n;
};

static int flat_add(void *ctx, const struct xt_run *r)
{
	struct flat *f = ctx;

	f->r[f->n++] = *r;
	return 0;
}

static const struct xt_run *flat_find(const struct flat *f, uint64_t block)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->r[mid].start <= block)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	return block - f->r[lo - 1].start < f->r[lo - 1].len ? &f->r[lo - 1] : NULL;
}

/* Best rate of REPEAT passes over the blocks, in M/s; *sum defeats the
 * optimizer and lets both lookups be compared. */
static double rate_index(const struct xt_index *x, const uint64_t *blocks, uint64_t *sum)
{
	double best = 0;

	for (int k = 0; k < REPEAT; k++) {
		double t = bench_now();
		uint64_t s = 0;

		for (size_t i = 0; i < LOOKUPS; i++) {
			const struct xt_run *r = xt_find(x, blocks[i]);

			s += r ? r->ino : 0;
		}
		t = bench_now() - t;
		best = LOOKUPS / t / 1e6 > best ? LOOKUPS / t / 1e6 : best;
		*sum = s;
	}
	return best;
}

static double rate_flat(const struct flat *f, const uint64_t *blocks, uint64_t *sum)
{
	double best = 0;

	for (int k = 0; k < REPEAT; k++) {
		double t = bench_now();
		uint64_t s = 0;

		for (size_t i = 0; i < LOOKUPS; i++) {
			const struct xt_run *r = flat_find(f, blocks[i]);

			s += r ? r->ino : 0;
		}
		t = bench_now() - t;
		best = LOOKUPS / t / 1e6 > best ? LOOKUPS / t / 1e6 : best;
		*sum = s;
	}
	return best;
}

static void bench_lookup(const struct xt_index *x, uint64_t space)
{
	struct flat f = { .r = malloc(xt_count(x) * sizeof(*f.r)) };
	uint64_t *blocks = malloc(LOOKUPS * sizeof(*blocks));
	uint64_t s1, s2;
	double ri, rf;

	if (!f.r || !blocks)
		die("out of memory");
	xt_visit(x, 0, UINT64_MAX, flat_add, &f);
	for (size_t i = 0; i < LOOKUPS; i++)
		blocks[i] = rnd() % space;
	ri = rate_index(x, blocks, &s1);
	rf = rate_flat(&f, blocks, &s2);
	if (s1 != s2)
		die("the index and the array disagree");
	printf("lookup: %.1f M/s (binary-search array %.1f M/s, ratio %.2f)\n", ri, rf, ri / rf);
	free(blocks);
	free(f.r);
}

/* What a sorted array must at least do per assignment: find the place, and
 * open room for the two new runs of a split. */
static double rate_array_assign(uint64_t space, size_t nruns)
{
	struct flat f = { .r = malloc((nruns + 2 * ARRAY_ASSIGNS) * sizeof(*f.r)), .n = nruns };
	double t;

	if (!f.r)
		die("out of memory");
	for (size_t i = 0; i < nruns; i++)
		f.r[i] = (struct xt_run){ .start = i * (space / nruns), .len = 1 };
	t = bench_now();
	for (size_t i = 0; i < ARRAY_ASSIGNS; i++) {
		const struct xt_run *r = flat_find(&f, rnd() % space);
		size_t at = r ? (size_t)(r - f.r) : 0;

		memmove(&f.r[at + 2], &f.r[at], (f.n - at) * sizeof(*f.r));
		f.n += 2;
	}
	t = bench_now() - t;
	free(f.r);
	return ARRAY_ASSIGNS / t / 1e6;
}

static void bench_assign(struct xt_index *x, uint64_t space, size_t nruns)
{
	double t = bench_now(), ra, rarr;

	for (size_t i = 0; i < ASSIGNS; i++) {
		uint64_t start = rnd() % space, len = 1 + rnd() % 8;

		if (xt_assign(x, start, len, STORM_OWNER_FILE_DATA, (uint32_t)(rnd() % nruns) + 1, 0,
			      rnd() % 100000))
			die("out of memory assigning");
	}
	t = bench_now() - t;
	ra = ASSIGNS / t / 1e6;
	rarr = rate_array_assign(space, nruns);
	printf("assign: %.2f M/s (sorted-array memmove lower bound %.4f M/s, ratio %.0f)\n", ra,
	       rarr, ra / rarr);
}

static void print_mem(const char *when, const struct xt_index *x)
{
	double per = (double)xt_mem(x) / (double)xt_count(x);

	printf("memory %s: %zu runs, %.1f MiB per million runs, %.1f bytes/run\n", when,
	       xt_count(x), per * 1e6 / (1 << 20), per);
}

static void bench_paths(size_t n)
{
	struct path_map m = { 0 };
	char name[32];
	double tl, tf;
	size_t found = 0;

	tl = bench_now();
	for (size_t i = 0; i < n; i++) {
		int len = snprintf(name, sizeof(name), "file-%zu.dat", i);

		if (pm_link(&m, (uint32_t)i + 12, (uint32_t)(i / 64) + 2, name, (size_t)len))
			die("out of memory linking names");
	}
	tl = bench_now() - tl;
	tf = bench_now();
	for (size_t i = 0; i < LOOKUPS; i++)
		found += pm_find(&m, (uint32_t)(rnd() % n) + 12) != NULL;
	tf = bench_now() - tf;
	if (found != LOOKUPS)
		die("a name went missing");
	printf("path map: %zu names, link %.1f M/s, find %.1f M/s, %.1f bytes/name (names avg %.1f bytes)\n",
	       pm_count(&m), n / tl / 1e6, LOOKUPS / tf / 1e6, (double)pm_mem(&m) / n,
	       (double)m.names_len / n);
	pm_free(&m);
}

int main(int argc, char **argv)
{
	size_t nruns = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	struct xt_index x = { .inodes_per_block = 16 };
	uint64_t space;
	double t;

	if (argc > 2 || nruns < 1000 || nruns > 100000000) {
		fprintf(stderr, "usage: bench_view_index [RUNS]   (1000..100000000, default 1000000)\n");
		return 2;
	}
	t = bench_now();
	space = build(&x, nruns);
	t = bench_now() - t;
	printf("build: %zu runs over %llu blocks in %.2f s (xt_add + xt_finish)\n", xt_count(&x),
	       (unsigned long long)space, t);
	print_mem("after build", &x);
	bench_lookup(&x, space);
	bench_assign(&x, space, nruns);
	print_mem("after assigns", &x);
	bench_lookup(&x, space);
	xt_free(&x);
	bench_paths(nruns);
	return 0;
}

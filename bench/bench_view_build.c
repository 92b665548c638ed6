/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench_view_build: the ext4 view of a real image, through the public API.
 *
 *   bench_view_build IMAGE [LOOKUPS]      (default 4194304 lookups)
 *
 * Opens IMAGE with storm_blocksrc_file_open() and times one
 * storm_view_open_ext4() (the build alone: not the process start, not the
 * lookups; wall clock and the process's user + system CPU time), then
 * measures storm_view_lookup() over the view it built:
 * - random: LOOKUPS blocks drawn uniformly over the volume (drawn beforehand);
 * - sequential: every block of the volume in order, passes repeated until
 *   LOOKUPS lookups were made;
 * - path: storm_view_lookup() and storm_view_path() of random blocks, the
 *   path only for blocks of a file or a directory (what storm-monitor does per
 *   block written).
 * Each rate is the best of 3 passes.  Memory: the peak RSS the build added
 *   (getrusage maxrss after minus before: libext2fs's bitmaps and the
 *   unsorted runs count too), the RSS the view still holds once the build's
 *   garbage is returned (malloc_trim), and the exact heap bytes of the
 *   owner-run index and of the path map (lib/view internals, as in
 *   bench_view_index).
 * Output: one "key=value" line per quantity, for bench/bench_view.sh. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <storm/view.h>

#include "view/view_int.h"

#include "bench_util.h"

#define REPEAT 3

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	return bench_rnd(&g_rng);
}

/* Prints what failed (and storm_strerror(rc) when rc is not 0) and exits. */
static void die(const char *what, int rc)
{
	if (rc)
		fprintf(stderr, "bench_view_build: %s: %s\n", what, storm_strerror(rc));
	else
		fprintf(stderr, "bench_view_build: %s\n", what);
	exit(1);
}

/* User + system CPU seconds of the process so far. */
static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static long maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* The current RSS in KiB, from /proc/self/statm (resident pages). */
static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, resident = 0;

	if (f) {
		if (fscanf(f, "%ld %ld", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Best rate of REPEAT passes of storm_view_lookup() over blocks[], in M/s. */
static double rate_random(const storm_view *v, const uint64_t *blocks, size_t n, uint64_t *sum)
{
	double best = 0;

	for (int k = 0; k < REPEAT; k++) {
		storm_owner o;
		uint64_t s = 0;
		double t = bench_now();

		for (size_t i = 0; i < n; i++) {
			if (storm_view_lookup(v, blocks[i], &o))
				die("storm_view_lookup failed on a block inside the volume", 0);
			s += o.ino + o.kind;
		}
		t = bench_now() - t;
		best = n / t / 1e6 > best ? n / t / 1e6 : best;
		*sum = s;
	}
	return best;
}

/* Best rate of REPEAT passes of in-order lookups (whole volume, repeated
 * until n lookups), in M/s. */
static double rate_sequential(const storm_view *v, size_t n, uint64_t *sum)
{
	uint64_t count = storm_view_block_count(v);
	double best = 0;

	for (int k = 0; k < REPEAT; k++) {
		storm_owner o;
		uint64_t s = 0, b = 0;
		double t = bench_now();

		for (size_t i = 0; i < n; i++) {
			if (storm_view_lookup(v, b, &o))
				die("storm_view_lookup failed on a block inside the volume", 0);
			s += o.ino + o.kind;
			b = b + 1 == count ? 0 : b + 1;
		}
		t = bench_now() - t;
		best = n / t / 1e6 > best ? n / t / 1e6 : best;
		*sum = s;
	}
	return best;
}

/* Lookup then path of the owner (file or directory blocks only), in M/s;
 * *named gets the share of lookups that produced a path. */
static double rate_path(const storm_view *v, const uint64_t *blocks, size_t n, double *named)
{
	char path[4096];
	double best = 0;
	size_t got = 0;

	for (int k = 0; k < REPEAT; k++) {
		storm_owner o;
		double t = bench_now();

		got = 0;
		for (size_t i = 0; i < n; i++) {
			if (storm_view_lookup(v, blocks[i], &o))
				die("storm_view_lookup failed on a block inside the volume", 0);
			if ((o.kind == STORM_OWNER_FILE_DATA || o.kind == STORM_OWNER_DIR_DATA) &&
			    storm_view_path(v, o.ino, path, sizeof(path)) > 0)
				got++;
		}
		t = bench_now() - t;
		best = n / t / 1e6 > best ? n / t / 1e6 : best;
	}
	*named = (double)got / (double)n;
	return best;
}

/* Runs per kind, to tell file extents from free runs and metadata. */
static int count_kind(void *ctx, const struct xt_run *r)
{
	size_t *per = ctx;

	per[r->kind <= STORM_OWNER_OTHER ? r->kind : STORM_OWNER_UNKNOWN]++;
	return 0;
}

static void print_kinds(const storm_view *v)
{
	size_t per[STORM_OWNER_OTHER + 1] = { 0 };

	xt_visit(&v->xt, 0, UINT64_MAX, count_kind, per);
	printf("runs_file=%zu\nruns_dir=%zu\nruns_free=%zu\nruns_extent_tree=%zu\nruns_other=%zu\n",
	       per[STORM_OWNER_FILE_DATA], per[STORM_OWNER_DIR_DATA], per[STORM_OWNER_FREE],
	       per[STORM_OWNER_EXTENT_TREE],
	       storm_view_extent_count(v) - per[STORM_OWNER_FILE_DATA] - per[STORM_OWNER_DIR_DATA] -
		       per[STORM_OWNER_FREE] - per[STORM_OWNER_EXTENT_TREE]);
}

int main(int argc, char **argv)
{
	size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : (4u << 20);
	storm_blocksrc_file *f;
	storm_view *v;
	uint64_t *blocks, s1, s2;
	long rss0, max0;
	double t, cpu, named;
	int rc;

	if (argc < 2 || argc > 3 || n < 1000 || n > (1u << 30)) {
		fprintf(stderr, "usage: bench_view_build IMAGE [LOOKUPS]   (1000..2^30, default 4194304)\n");
		return 2;
	}
	rc = storm_blocksrc_file_open(&f, argv[1]);
	if (rc)
		die(argv[1], rc);
	rss0 = rss_kib();
	max0 = maxrss_kib();
	cpu = cpu_s();
	t = bench_now();
	rc = storm_view_open_ext4(&v, storm_blocksrc_file_read, f, storm_blocksrc_file_size(f));
	t = bench_now() - t;
	cpu = cpu_s() - cpu;
	if (rc)
		die("storm_view_open_ext4", rc);
	storm_blocksrc_file_close(f);
	long max1 = maxrss_kib();
	malloc_trim(0);
	long rss1 = rss_kib();
	size_t runs = storm_view_extent_count(v);

	printf("build_s=%.4f\nbuild_cpu_s=%.4f\n", t, cpu);
	printf("block_size=%u\nblocks=%llu\nruns=%zu\nnames=%zu\n", storm_view_block_size(v),
	       (unsigned long long)storm_view_block_count(v), runs, pm_count(&v->pm));
	printf("maxrss_delta_kib=%ld\nrss_delta_kib=%ld\n", max1 - max0, rss1 - rss0);
	printf("index_bytes=%zu\npathmap_bytes=%zu\n", xt_mem(&v->xt), pm_mem(&v->pm));
	printf("bytes_per_run_maxrss=%.1f\nbytes_per_run_rss=%.1f\nbytes_per_run_index=%.1f\n",
	       (double)(max1 - max0) * 1024 / (double)runs, (double)(rss1 - rss0) * 1024 / (double)runs,
	       (double)xt_mem(&v->xt) / (double)runs);
	printf("bytes_per_name=%.1f\n",
	       pm_count(&v->pm) ? (double)pm_mem(&v->pm) / (double)pm_count(&v->pm) : 0.0);
	print_kinds(v);

	blocks = malloc(n * sizeof(*blocks));
	if (!blocks)
		die("lookup blocks", -ENOMEM);
	for (size_t i = 0; i < n; i++)
		blocks[i] = rnd() % storm_view_block_count(v);
	printf("lookup_random_mps=%.2f\n", rate_random(v, blocks, n, &s1));
	printf("lookup_seq_mps=%.2f\n", rate_sequential(v, n, &s2));
	printf("lookup_path_mps=%.2f\n", rate_path(v, blocks, n, &named));
	printf("lookup_path_named=%.3f\n", named);
	printf("checksum=%llu\n", (unsigned long long)(s1 ^ s2));
	free(blocks);
	storm_view_del(v);
	return 0;
}

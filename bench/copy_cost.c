/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* copy-cost: what one copy of an I/O's payload costs on this machine, for
 * bench/bench_relay.sh (compiled there with cc; not built by CMake).  A relay
 * that hands bytes through user space copies each byte at least twice
 * (socket -> buffer, buffer -> socket); the bench sets that against the CPU
 * a path may add for a given ratio to direct.
 *
 *   copy-cost SIZE        (bytes per copy, e.g. 65536)
 *
 * Prints "SIZE warm_us cold_us warm_GBps cold_GBps": the median over 9
 * rounds of copying SIZE bytes with memcpy, warm (the same source and
 * destination every time: in cache) and cold (walking 64 MiB source and
 * destination rings, so every copy misses the caches). */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RING (64u << 20)
#define ROUNDS 9

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Seconds per copy of size bytes, median of ROUNDS; ring: bytes walked. */
static double per_copy(uint8_t *dst, const uint8_t *src, size_t size, size_t ring)
{
	size_t copies = (256u << 20) / size; /* 256 MiB per round */
	double t[ROUNDS];
	for (int r = 0; r < ROUNDS; r++) {
		size_t off = 0;
		double t0 = now_s();
		for (size_t i = 0; i < copies; i++) {
			memcpy(dst + off, src + off, size);
			off += size;
			if (off + size > ring)
				off = 0;
		}
		t[r] = (now_s() - t0) / (double)copies;
	}
	qsort(t, ROUNDS, sizeof t[0], cmp_double);
	return t[ROUNDS / 2];
}

int main(int argc, char **argv)
{
	size_t size = argc > 1 ? strtoul(argv[1], NULL, 0) : 65536;
	if (size == 0 || size > RING) {
		fprintf(stderr, "usage: copy-cost SIZE (1..%u)\n", RING);
		return 2;
	}
	uint8_t *src = malloc(RING), *dst = malloc(RING);
	if (!src || !dst)
		return 1;
	memset(src, 0x5a, RING);
	memset(dst, 0, RING);
	double warm = per_copy(dst, src, size, size);
	double cold = per_copy(dst, src, size, RING);
	printf("%zu %.2f %.2f %.1f %.1f\n", size, warm * 1e6, cold * 1e6, (double)size / warm / 1e9,
	       (double)size / cold / 1e9);
	volatile uint8_t sink = dst[size / 2];
	(void)sink;
	free(src);
	free(dst);
	return 0;
}

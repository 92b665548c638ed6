/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the benchmarks share: a monotonic clock and a seeded xorshift. */
#ifndef STORM_BENCH_UTIL_H
#define STORM_BENCH_UTIL_H

#include <stdint.h>
#include <time.h>

/* Seconds on CLOCK_MONOTONIC. */
static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64: the next number of the sequence in *@p state (never 0). */
static inline uint64_t bench_rnd(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What every fuzz target shares: the invariant check, and a sink that makes
 * the sanitizers read what a callback was handed. */
#ifndef STORM_FUZZ_UTIL_H
#define STORM_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* A broken invariant aborts, which libFuzzer reports as a crash. */
#define FUZZ_CHECK(cond)                                                           \
	do {                                                                       \
		if (!(cond)) {                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
				__LINE__, #cond);                                  \
			abort();                                                   \
		}                                                                  \
	} while (0)

/* Values read only so that the sanitizers see the reads. */
static volatile uint32_t g_sink __attribute__((unused));

/* Reads every byte of [p, p + len). */
static inline void touch(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t s = 0;
	for (size_t i = 0; i < len; i++)
		s += b[i];
	g_sink += s;
}

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers shared by the unit tests. */
#ifndef STORM_TESTUTIL_H
#define STORM_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/** A growable byte buffer for building streams in tests. */
typedef struct tu_buf {
	uint8_t *data;
	size_t len, cap;
} tu_buf;

void tu_buf_put(tu_buf *b, const void *p, size_t n);
void tu_buf_free(tu_buf *b);
/** Reads a whole file into a tu_buf; aborts the test on failure. */
tu_buf tu_read_file(const char *path);
/** A deterministic pseudo-random generator (xorshift64*). */
uint64_t tu_rand(uint64_t *state);
/** CLOCK_MONOTONIC in milliseconds. */
double tu_now_ms(void);
/**
 * A non-blocking listening socket on 127.0.0.1, port chosen by the kernel,
 * with SO_RCVBUF @p rcvbuf unless 0; writes "127.0.0.1:PORT" to @p addr.
 * Aborts the test on failure.
 */
int tu_listener(char *addr, size_t len, int rcvbuf);

#endif

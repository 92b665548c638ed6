/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The input format shared by the fuzz targets and mkseed: a sequence of
 * records, each
 *
 *     [1 byte flags][2 bytes big-endian length][length bytes]
 *
 * flags:
 *   bit 0      direction (0 initiator to target, 1 target to initiator)
 *   bits 1-3   how the record's bytes are cut into feed calls (enum chunking)
 *   bit 4      a gap record: no bytes follow; `length` bytes (times 256 when
 *              bit 5 is set) of the direction were lost (storm_iscsi_gap)
 *   bit 5      on a data record: the first callback of the record returns
 *              STORM_PAUSE once, so the rest is fed again
 *   bits 6-7   on the first record only: how the connection starts
 *              (enum start_mode); bit 5 of the first record also says whether
 *              digests are assumed, and a first data record does not pause
 * A truncated last record is fed as far as it goes. */
#ifndef STORM_FUZZ_RECORDS_H
#define STORM_FUZZ_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <storm/common.h>

#define REC_DIR 0x01u
#define REC_CHUNK_SHIFT 1
#define REC_CHUNK_MASK 0x0eu
#define REC_GAP 0x10u
#define REC_PAUSE 0x20u  /* also: digests, on the first record */
#define REC_GAP_X256 0x20u
#define REC_MODE_SHIFT 6
#define REC_MAX_LEN 0xffffu

enum start_mode {
	START_LOGIN = 0,     /* a connection seen from its Login */
	START_FFP = 1,       /* storm_iscsi_assume_ffp() */
	START_MIDSTREAM = 2, /* storm_iscsi_start_midstream() */
	START_FFP_HD = 3     /* assume_ffp with a header digest only */
};

struct record {
	unsigned flags;
	storm_dir dir;
	bool gap;
	uint64_t gap_len;
	const uint8_t *data;
	size_t len;
};

/* Takes the next record off *@p in; false at the end of the input. */
static inline bool record_next(const uint8_t **in, size_t *left, struct record *r)
{
	if (*left < 3)
		return false;
	const uint8_t *p = *in;
	size_t len = (size_t)p[1] << 8 | p[2];
	r->flags = p[0];
	r->dir = (p[0] & REC_DIR) ? STORM_T2I : STORM_I2T;
	r->gap = p[0] & REC_GAP;
	r->data = p + 3;
	*in += 3;
	*left -= 3;
	if (r->gap) {
		r->gap_len = (uint64_t)len << ((p[0] & REC_GAP_X256) ? 8 : 0);
		r->len = 0;
		return true;
	}
	r->gap_len = 0;
	r->len = len < *left ? len : *left;
	*in += r->len;
	*left -= r->len;
	return true;
}

/* The size of the next feed call for a record cut with pattern @p chunk;
 * @p i counts the calls so far, @p state is a small PRNG state. */
static inline size_t record_chunk(unsigned chunk, size_t i, uint32_t *state, size_t left)
{
	static const size_t primes[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
	size_t n;
	switch (chunk) {
	case 0: n = left; break;
	case 1: n = 1; break;
	case 2: n = primes[i % (sizeof primes / sizeof primes[0])]; break;
	case 3: n = 48; break;
	case 4: n = 47; break;
	case 5: n = 4096; break;
	case 6:
		*state = *state * 1103515245u + 12345u;
		n = 1 + (*state >> 16) % 600;
		break;
	default: n = 13; break;
	}
	return n < left ? n : left;
}

/* Writes one data record (split at REC_MAX_LEN) to @p f. */
static inline int record_write(FILE *f, unsigned flags, const uint8_t *data, size_t len)
{
	do {
		size_t n = len < REC_MAX_LEN ? len : REC_MAX_LEN;
		uint8_t h[3] = {(uint8_t)flags, (uint8_t)(n >> 8), (uint8_t)n};
		if (fwrite(h, 1, 3, f) != 3 || fwrite(data, 1, n, f) != n)
			return -1;
		data += n;
		len -= n;
		flags &= ~(0xc0u | REC_PAUSE); /* start mode only on the first */
	} while (len > 0);
	return 0;
}

/* Writes gap records for @p len lost bytes of direction @p dir to @p f. */
static inline int record_write_gap(FILE *f, storm_dir dir, uint64_t len)
{
	while (len > 0) {
		uint64_t big = len >> 8;
		bool x256 = big > 0;
		uint64_t n = x256 ? (big < REC_MAX_LEN ? big : REC_MAX_LEN) : len;
		uint8_t h[3] = {(uint8_t)(REC_GAP | (x256 ? REC_GAP_X256 : 0) | (unsigned)dir),
				(uint8_t)(n >> 8), (uint8_t)n};
		if (fwrite(h, 1, 3, f) != 3)
			return -1;
		len -= x256 ? n << 8 : n;
	}
	return 0;
}

#endif

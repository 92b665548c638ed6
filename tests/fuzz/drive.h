/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Feeds a records input (records.h) into a parser or a tracker and checks the
 * invariants of the feeding API on the way:
 *  - a feed consumes all its bytes unless a callback paused;
 *  - once a direction failed, every later feed or gap of it returns
 *    STORM_ERR_BROKEN;
 *  - storm_iscsi_offset() counts exactly the bytes consumed and lost.
 * A broken invariant aborts, which libFuzzer reports as a crash. */
#ifndef STORM_FUZZ_DRIVE_H
#define STORM_FUZZ_DRIVE_H

#include <stdio.h>
#include <stdlib.h>

#include <storm/iscsi.h>

#include "fuzz_util.h"
#include "records.h"

struct drive {
	void *obj;
	ssize_t (*feed)(void *obj, storm_dir dir, const uint8_t *in, size_t len);
	int (*gap)(void *obj, storm_dir dir, uint64_t len);
	storm_iscsi *parser;
	/* Set by the target's callbacks. */
	int pause_budget;  /* callbacks return STORM_PAUSE while > 0 */
	bool paused;       /* a callback paused during the current call */
	bool broken[2];
	uint64_t offset[2];
};


/* For the target's callbacks: whether to pause now. */
static inline int drive_pause(struct drive *dr)
{
	if (dr->pause_budget <= 0)
		return 0;
	dr->pause_budget--;
	dr->paused = true;
	return STORM_PAUSE;
}

static inline void drive_start(struct drive *dr, unsigned flags)
{
	bool dig = flags & REC_PAUSE;
	switch (flags >> REC_MODE_SHIFT) {
	case START_FFP: storm_iscsi_assume_ffp(dr->parser, dig, dig); break;
	case START_MIDSTREAM: storm_iscsi_start_midstream(dr->parser, dig, dig); break;
	case START_FFP_HD: storm_iscsi_assume_ffp(dr->parser, true, dig); break;
	default: break;
	}
}

static inline void drive_check_offset(struct drive *dr, storm_dir d)
{
	if (dr->broken[d] || storm_iscsi_offset(dr->parser, d) == dr->offset[d])
		return;
	fprintf(stderr, "dir %d: storm_iscsi_offset %llu, bytes fed and lost %llu\n", (int)d,
		(unsigned long long)storm_iscsi_offset(dr->parser, d),
		(unsigned long long)dr->offset[d]);
	FUZZ_CHECK(storm_iscsi_offset(dr->parser, d) == dr->offset[d]);
}

static inline void drive_gap(struct drive *dr, storm_dir d, uint64_t len)
{
	dr->pause_budget = 0;
	int rc = dr->gap(dr->obj, d, len);
	if (dr->broken[d]) {
		FUZZ_CHECK(len == 0 || rc == STORM_ERR_BROKEN);
		return;
	}
	if (rc < 0) {
		dr->broken[d] = true;
		return;
	}
	FUZZ_CHECK(rc == 0);
	dr->offset[d] += len;
	drive_check_offset(dr, d);
}

static inline void drive_feed_record(struct drive *dr, const struct record *r, bool first)
{
	storm_dir d = r->dir;
	unsigned chunk = (r->flags & REC_CHUNK_MASK) >> REC_CHUNK_SHIFT;
	uint32_t prng = (uint32_t)r->len * 2654435761u;
	dr->pause_budget = !first && (r->flags & REC_PAUSE) ? 1 : 0;
	size_t pos = 0;
	for (size_t i = 0; pos < r->len; i++) {
		size_t n = record_chunk(chunk, i, &prng, r->len - pos);
		dr->paused = false;
		ssize_t got = dr->feed(dr->obj, d, r->data + pos, n);
		if (dr->broken[d]) {
			FUZZ_CHECK(got == STORM_ERR_BROKEN);
			pos += n;
			continue;
		}
		if (got < 0) {
			dr->broken[d] = true;
			pos += n;
			continue;
		}
		FUZZ_CHECK((size_t)got <= n);
		FUZZ_CHECK((size_t)got == n || dr->paused);
		dr->offset[d] += (uint64_t)got;
		drive_check_offset(dr, d);
		pos += (size_t)got; /* the rest of the chunk goes in the next call */
	}
	dr->pause_budget = 0;
}

/* Feeds the whole input. */
static inline void drive_run(struct drive *dr, const uint8_t *data, size_t size)
{
	struct record r;
	bool first = true;
	while (record_next(&data, &size, &r)) {
		if (first)
			drive_start(dr, r.flags);
		if (r.gap)
			drive_gap(dr, r.dir, r.gap_len);
		else
			drive_feed_record(dr, &r, first);
		first = false;
	}
	/* A feed of nothing must not change anything, broken or not. */
	for (int d = 0; d < 2; d++) {
		ssize_t got = dr->feed(dr->obj, (storm_dir)d, data, 0);
		FUZZ_CHECK(dr->broken[d] ? got == STORM_ERR_BROKEN : got == 0);
	}
}

#endif

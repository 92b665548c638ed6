/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Building iSCSI PDUs and two-direction scripts in tests, and recording what
 * a parser or tracker reports as a text trace that does not depend on how
 * the input was chunked. */
#ifndef STORM_TEST_ISCSI_BUILD_H
#define STORM_TEST_ISCSI_BUILD_H

#include <stdbool.h>
#include <storm/storm.h>

#include "testutil.h"

/* A BHS under construction. */
typedef struct tb_pdu {
	uint8_t bhs[48];
	uint8_t ahs[1020];
	size_t ahs_len;
	const uint8_t *data;
	size_t dsl;
} tb_pdu;

void tb_init(tb_pdu *p, unsigned opcode, unsigned flags, uint32_t itt);
void tb_u32(tb_pdu *p, size_t off, uint32_t v);
void tb_u64(tb_pdu *p, size_t off, uint64_t v);
/* LUN field in flat-space addressing for small LUNs (peripheral). */
void tb_lun(tb_pdu *p, unsigned lun);
void tb_data(tb_pdu *p, const void *data, size_t len);
/* Appends the PDU's wire bytes; digests as given. */
void tb_emit(tu_buf *out, const tb_pdu *p, bool hdigest, bool ddigest);

/* A script: segments of one direction each, in causal order. */
#define TB_MAX_SEGS 256
typedef struct tb_script {
	storm_dir dir[TB_MAX_SEGS];
	tu_buf seg[TB_MAX_SEGS];
	size_t n;
} tb_script;

/* The segment to append to for direction @p d (a new one if the last is of the other direction). */
tu_buf *tb_seg(tb_script *s, storm_dir d);
void tb_script_free(tb_script *s);

/* Text key=value data: pairs separated by NULs, "a=1\0b=2\0". */
size_t tb_text(uint8_t *out, size_t cap, const char *const *pairs, size_t n);

/* A login: request with @p pairs_i, final response with @p pairs_t, both
 * transiting to Full Feature Phase. */
void tb_login(tb_script *s, const char *const *pairs_i, size_t ni,
	      const char *const *pairs_t, size_t nt);

/* Feeds a script into a feed function, each segment cut into pieces by
 * @p chunk (called with the bytes left; returns the piece size).  Pieces are
 * malloc'ed copies of exact size so ASan catches reads past them.  Returns
 * the first negative value of feed, else 0. */
typedef ssize_t (*tb_feed_fn)(void *ctx, storm_dir d, const uint8_t *in, size_t len);
typedef size_t (*tb_chunk_fn)(void *state, size_t left);
int tb_run(const tb_script *s, tb_feed_fn feed, void *ctx, tb_chunk_fn chunk, void *cstate);

/* Chunkers: whole segments; split at a byte offset of the concatenated
 * script (state: pointer to size_t); random sizes (state: tu_rand state). */
size_t tb_chunk_whole(void *state, size_t left);
size_t tb_chunk_random(void *state, size_t left);
size_t tb_chunk_one(void *state, size_t left);
typedef struct tb_split {
	size_t pos; /* bytes handed out so far */
	size_t at;  /* the global offset to cut at */
} tb_split;
size_t tb_chunk_split(void *state, size_t left);
/* Total bytes of a script. */
size_t tb_script_len(const tb_script *s);

/* A trace buffer: lines appended with printf formatting. */
typedef struct tb_trace {
	char *text;
	size_t len, cap;
} tb_trace;
void tb_tracef(tb_trace *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tb_trace_free(tb_trace *t);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A parser wired to a trace: each PDU is one line with its header fields and
 * a CRC of its whole data segment, so the trace is the same however the
 * input is chunked. */
#ifndef STORM_TEST_PARSER_TRACE_H
#define STORM_TEST_PARSER_TRACE_H

#include "util/iscsi_build.h"

typedef struct ptrace {
	storm_iscsi *p;
	tb_trace t;
	uint32_t crc[2];
	uint32_t next_off[2];
	int pause_every;   /* pause after every Nth callback (0: never) */
	int calls;
	int errors;
} ptrace;

void ptrace_init(ptrace *pt);
void ptrace_free(ptrace *pt);
ssize_t ptrace_feed(void *ctx, storm_dir d, const uint8_t *in, size_t len);
/* Runs a script through a fresh parser with a chunker; returns the trace
 * (caller frees) and the feed result in *rc. */
char *ptrace_run(const tb_script *s, tb_chunk_fn chunk, void *cstate, int pause_every, int *rc);

#endif

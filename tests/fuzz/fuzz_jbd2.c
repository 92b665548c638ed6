/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the jbd2 journal interpreter (lib/view/jbd2.c).
 *
 * Input: a 10-byte configuration, then writes.  1024-byte blocks.
 *   [0] features: bit 0 64BIT, bits 1-2 checksums (0 none, 1 v3, 2 v2, 3 v3),
 *       bit 3 ASYNC_COMMIT, bit 4 FAST_COMMIT, bit 5 a v1 superblock
 *   [1] journal length 8 + b % 56 blocks   [2] s_first 1 + b % 4
 *   [3] fast-commit blocks 1 + b % 3        [4] mem_cap (b % 40) blocks + b / 40 bytes
 *   [5] s_start (b % length; 0: none)       [6..9] s_sequence, big-endian
 * Each write: [jblock] [len lo] [len hi] [len bytes, zero-padded to a block].
 * jblock's low 7 bits (mod length + 1: one past the end is tried too) name
 * the block; bit 7 asks the harness to fix the block's checksums the way
 * jbd2 would (superblock, descriptor tail and its tags against what was last
 * written after it, revoke tail, commit), so that checksummed transactions
 * get delivered too.
 *
 * Invariants: callbacks of one transaction share its sequence; the counters
 * match the calls; home blocks fit 32 bits without 64BIT; returns are 0, a
 * callback's value, -EUCLEAN, STORM_ERR_UNSUPPORTED, or -EINVAL only for a
 * block past the journal.  Seeds: tests/fuzz/corpus/jbd2. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <storm/common.h>
#include <storm/iscsi.h>

#include "../../lib/view/jbd2.h"
#include "fuzz_util.h"

#define BS 1024u
#define MAGIC 0xC03B3998u
#define CB_STOP 77 /* what a callback returns to stop a transaction */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* jbd2's crc32c: seeded, no final inversion. */
static uint32_t jc(uint32_t seed, const uint8_t *p, size_t n)
{
	return ~storm_crc32c(~seed, p, n);
}

static uint32_t jc_hole(uint32_t seed, uint8_t *b, size_t len, size_t at)
{
	put32(b + at, 0);
	return jc(seed, b, len);
}

struct state {
	uint32_t incompat;
	bool csum, v3, b64;
	uint32_t first, last, nblocks;
	uint32_t seed;
	uint8_t shadow[64][BS]; /* what was last written to each block */
	/* what the callbacks saw */
	bool in_txn;
	uint32_t txn_seq;
	uint64_t nblock, nrevoke, ncommit;
	unsigned calls;
};

static int cb_block(void *ctx, uint32_t seq, uint64_t home, const uint8_t *data)
{
	struct state *s = ctx;

	FUZZ_CHECK(data != NULL);
	FUZZ_CHECK(s->b64 || home <= UINT32_MAX);
	FUZZ_CHECK(!s->in_txn || seq == s->txn_seq);
	s->in_txn = true;
	s->txn_seq = seq;
	s->nblock++;
	return ++s->calls % 23 == 0 ? CB_STOP : 0;
}

static int cb_revoke(void *ctx, uint32_t seq, uint64_t home)
{
	struct state *s = ctx;

	FUZZ_CHECK(s->b64 || home <= UINT32_MAX);
	FUZZ_CHECK(!s->in_txn || seq == s->txn_seq);
	s->in_txn = true;
	s->txn_seq = seq;
	s->nrevoke++;
	return ++s->calls % 29 == 0 ? CB_STOP : 0;
}

static int cb_commit(void *ctx, uint32_t seq)
{
	struct state *s = ctx;

	FUZZ_CHECK(!s->in_txn || seq == s->txn_seq);
	s->in_txn = false;
	s->ncommit++;
	return ++s->calls % 31 == 0 ? CB_STOP : 0;
}

static const struct jbd2_ops ops = { cb_block, cb_revoke, cb_commit };
static struct state g; /* one run's state (static: the shadow is 64 KiB) */

static size_t tag_len(const struct state *s)
{
	size_t n = s->b64 ? 12 : 8;

	return s->v3 ? 16 : s->csum ? n + 2 : n;
}

/* Sets each tag's checksum from the shadow copy of the block it names. */
static void fix_tags(struct state *s, uint8_t *b, uint32_t at)
{
	size_t off = 12, end = BS - 4;
	uint32_t q = at;
	uint8_t seq[4];

	memcpy(seq, b + 8, 4);
	while (off <= end && end - off >= tag_len(s)) {
		uint8_t *t = b + off;
		uint32_t flags = s->v3 ? be32(t + 4) : (uint32_t)(t[6] << 8 | t[7]);

		q = q + 1 >= s->last ? s->first : q + 1;
		uint32_t c = jc(jc(s->seed, seq, 4), s->shadow[q], BS);
		if (s->v3) {
			put32(t + 12, c);
		} else {
			t[4] = (uint8_t)(c >> 8);
			t[5] = (uint8_t)c;
		}
		off += tag_len(s) + ((flags & 2) ? 0 : 16);
		if (flags & 8)
			break;
	}
}

static void fix_csums(struct state *s, uint8_t *b, uint32_t at)
{
	if (at == 0) {
		put32(b + 0xFC, jc_hole(~0u, b, 1024, 0xFC));
		return;
	}
	if (!s->csum || be32(b) != MAGIC)
		return;
	switch (be32(b + 4)) {
	case 1:
		fix_tags(s, b, at);
		/* fall through */
	case 5:
		put32(b + BS - 4, jc_hole(s->seed, b, BS, BS - 4));
		break;
	case 2:
		put32(b + 16, jc_hole(s->seed, b, BS, 16));
		break;
	}
}

static void make_sb(struct state *s, uint8_t *sb, const uint8_t *cfg)
{
	static const uint32_t csums[4] = { 0, 0x10, 0x08, 0x10 };
	uint32_t fc = 1 + cfg[3] % 3;

	memset(sb, 0, BS);
	s->incompat = 0x1 | ((cfg[0] & 1) ? 0x2 : 0) | csums[(cfg[0] >> 1) & 3] |
		      ((cfg[0] & 8) ? 0x4 : 0) | ((cfg[0] & 16) ? 0x20 : 0);
	s->nblocks = 8 + cfg[1] % 56;
	s->first = 1 + cfg[2] % 4;
	put32(sb, MAGIC);
	put32(sb + 4, (cfg[0] & 32) ? 3 : 4);
	put32(sb + 0xC, BS);
	put32(sb + 0x10, s->nblocks);
	put32(sb + 0x14, s->first);
	put32(sb + 0x18, be32(cfg + 6));
	put32(sb + 0x1C, cfg[5] % s->nblocks);
	put32(sb + 0x28, s->incompat);
	for (int i = 0; i < 16; i++)
		sb[0x30 + i] = (uint8_t)(0x11 * i);
	sb[0x50] = 4;
	put32(sb + 0x54, fc);
	put32(sb + 0xFC, jc_hole(~0u, sb, 1024, 0xFC));
	if (cfg[0] & 32)
		s->incompat = 0; /* a v1 superblock has no features */
	s->csum = s->incompat & 0x18;
	s->v3 = s->incompat & 0x10;
	s->b64 = s->incompat & 0x2;
	s->last = s->nblocks - ((s->incompat & 0x20) ? fc : 0);
	s->seed = jc(~0u, sb + 0x30, 16);
}

static void check_stats(const struct jbd2 *j, const struct state *s)
{
	struct jbd2_stats st;

	jbd2_stats(j, &st);
	FUZZ_CHECK(st.blocks == s->nblock);
	FUZZ_CHECK(st.revokes == s->nrevoke);
	FUZZ_CHECK(st.committed == s->ncommit);
	FUZZ_CHECK(jbd2_last_error(j) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t sb[BS], blk[BS];
	struct jbd2 *j = NULL;

	if (size < 10)
		return -1;
	memset(&g, 0, sizeof(g));
	make_sb(&g, sb, data);
	size_t cap = (size_t)(data[4] % 40) * BS + data[4] / 40;
	int rc = jbd2_new(&j, sb, BS, g.nblocks, cap, &ops, &g);
	FUZZ_CHECK(rc == 0 && j);
	memcpy(g.shadow[0], sb, BS);

	for (size_t off = 10; off + 3 <= size;) {
		uint32_t at = (data[off] & 0x7f) % (g.nblocks + 1);
		bool fix = data[off] & 0x80;
		size_t len = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;

		off += 3;
		if (len > size - off)
			len = size - off;
		if (len > BS)
			len = BS;
		memset(blk, 0, BS);
		memcpy(blk, data + off, len);
		off += len;
		if (fix && at < g.nblocks)
			fix_csums(&g, blk, at);
		if (at < g.nblocks)
			memcpy(g.shadow[at], blk, BS);
		rc = jbd2_write(j, at, blk);
		if (at >= g.nblocks)
			FUZZ_CHECK(rc == -EINVAL);
		else
			FUZZ_CHECK(rc == 0 || rc == CB_STOP || rc == -EUCLEAN || rc == STORM_ERR_UNSUPPORTED);
		g.in_txn = false; /* a write delivers at most one transaction */
		check_stats(j, &g);
		/* Superblock writes may change the features the callbacks see. */
		if (at == 0 && rc == 0) {
			uint32_t inc = be32(blk + 4) == 4 ? be32(blk + 0x28) : 0;

			g.b64 = inc & 0x2;
			g.csum = inc & 0x18;
			g.v3 = inc & 0x10;
			g.seed = jc(~0u, blk + 0x30, 16);
			g.first = be32(blk + 0x14);
			g.last = be32(blk + 0x10) - ((inc & 0x20) ? (be32(blk + 0x54) ? be32(blk + 0x54) : 256) : 0);
		}
	}
	jbd2_del(j);
	return 0;
}

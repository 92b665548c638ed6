/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The jbd2 journal interpreter (lib/view/jbd2.c) on journals built here
 * block by block (every tag and revoke layout, checksums, wraparound, blocks
 * out of order, missing and garbage blocks, the memory cap), on journals
 * written by debugfs's journal_write (e2fsprogs' own jbd2 code, plain and
 * with checksum v3) and on a journal written by the kernel's ext4.
 */
#include "ext4_oracle.h"
#include "util/bytes.h"
#include "view/jbd2.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ext2fs/ext2fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <storm/common.h>
#include <storm/iscsi.h>

#define MAGIC 0xC03B3998u
#define BS 1024u

#define I_REVOKE 0x1
#define I_64BIT 0x2
#define I_ASYNC 0x4
#define I_CSUM2 0x8
#define I_CSUM3 0x10
#define I_FAST 0x20

#define T_ESCAPE 1
#define T_SAME_UUID 2
#define T_LAST 8

/* ---- building journals -------------------------------------------------- */

struct fmt {
	uint32_t bs, maxlen, first, seq, start, incompat, num_fc;
	uint8_t uuid[16];
};

/* jbd2's crc32c: seeded, no final inversion. */
static uint32_t jc(uint32_t seed, const void *p, size_t n)
{
	return ~storm_crc32c(~seed, p, n);
}

static bool has_csum(const struct fmt *f)
{
	return f->incompat & (I_CSUM2 | I_CSUM3);
}

static uint32_t seed_of(const struct fmt *f)
{
	return jc(~0u, f->uuid, 16);
}

static struct fmt fmt_make(uint32_t incompat, uint32_t maxlen)
{
	struct fmt f = { .bs = BS, .maxlen = maxlen, .first = 1, .seq = 10, .start = 1,
			 .incompat = incompat | I_REVOKE };

	for (int i = 0; i < 16; i++)
		f.uuid[i] = (uint8_t)(0xa0 + i);
	return f;
}

static void sb_csum(uint8_t *b)
{
	put_be32(b + 0xFC, 0);
	put_be32(b + 0xFC, jc(~0u, b, 1024));
}

static void mk_sb(uint8_t *b, const struct fmt *f)
{
	memset(b, 0, f->bs);
	put_be32(b, MAGIC);
	put_be32(b + 4, 4);
	put_be32(b + 0xC, f->bs);
	put_be32(b + 0x10, f->maxlen);
	put_be32(b + 0x14, f->first);
	put_be32(b + 0x18, f->seq);
	put_be32(b + 0x1C, f->start);
	put_be32(b + 0x28, f->incompat);
	memcpy(b + 0x30, f->uuid, 16);
	put_be32(b + 0x40, 1);
	put_be32(b + 0x54, f->num_fc);
	if (has_csum(f)) {
		b[0x50] = 4;
		sb_csum(b);
	}
}

static size_t tag_size(const struct fmt *f)
{
	size_t n = (f->incompat & I_64BIT) ? 12 : 8;

	if (f->incompat & I_CSUM3)
		return 16;
	return (f->incompat & I_CSUM2) ? n + 2 : n;
}

static void hdr(uint8_t *b, uint32_t type, uint32_t seq)
{
	put_be32(b, MAGIC);
	put_be32(b + 4, type);
	put_be32(b + 8, seq);
}

/* The checksum tail of a descriptor or revoke block. */
static void tail_csum(uint8_t *b, const struct fmt *f)
{
	if (!has_csum(f))
		return;
	put_be32(b + f->bs - 4, 0);
	put_be32(b + f->bs - 4, jc(seed_of(f), b, f->bs));
}

/* A journal under construction: the blocks and the order they were put. */
struct jn {
	struct fmt f;
	uint8_t *blk;
	uint64_t head, last;
	uint64_t order[1024];
	size_t n;
};

static void jn_init(struct jn *j, const struct fmt *f)
{
	memset(j, 0, sizeof(*j));
	j->f = *f;
	j->blk = calloc(f->maxlen, f->bs);
	cr_assert(j->blk);
	mk_sb(j->blk, f);
	j->head = f->start ? f->start : f->first;
	j->last = f->maxlen - ((f->incompat & I_FAST) ? (f->num_fc ? f->num_fc : 256) : 0);
}

static uint8_t *jn_at(struct jn *j, uint64_t p)
{
	return j->blk + p * j->f.bs;
}

/* The next log block, zeroed, recorded in the order. */
static uint8_t *jn_take(struct jn *j)
{
	uint64_t p = j->head;

	j->head = p + 1 == j->last ? j->f.first : p + 1;
	cr_assert(j->n < 1024);
	j->order[j->n++] = p;
	memset(jn_at(j, p), 0, j->f.bs);
	return jn_at(j, p);
}

/* Writes one tag at @p t; returns its size including the uuid. */
static size_t put_tag(const struct fmt *f, uint8_t *t, uint64_t home, uint32_t flags, uint32_t csum)
{
	put_be32(t, (uint32_t)home);
	if (f->incompat & I_CSUM3) {
		put_be32(t + 4, flags);
		put_be32(t + 8, (uint32_t)(home >> 32));
		put_be32(t + 12, csum);
	} else {
		put_be16(t + 4, (uint16_t)csum);
		put_be16(t + 6, (uint16_t)flags);
		if (f->incompat & I_64BIT)
			put_be32(t + 8, (uint32_t)(home >> 32));
	}
	size_t n = tag_size(f);
	if (!(flags & T_SAME_UUID)) {
		memcpy(t + n, f->uuid, 16);
		n += 16;
	}
	return n;
}

/* A descriptor of @p n tags (a uuid on the first, every second one when
 * @p uuids) and its @p n data blocks, escaped as jbd2 does. */
static void jn_desc_u(struct jn *j, uint32_t seq, const uint64_t *homes, uint8_t *const *data,
		      size_t n, bool uuids)
{
	const struct fmt *f = &j->f;
	uint8_t *d = jn_take(j);
	size_t off = 12;

	hdr(d, 1, seq);
	for (size_t i = 0; i < n; i++) {
		uint8_t *b = jn_take(j);
		uint32_t flags = (i == n - 1 ? T_LAST : 0);
		uint8_t s[4];

		if (i > 0 && !(uuids && i % 2 == 0))
			flags |= T_SAME_UUID;
		memcpy(b, data[i], f->bs);
		if (get_be32(b) == MAGIC) {
			put_be32(b, 0);
			flags |= T_ESCAPE;
		}
		put_be32(s, seq);
		uint32_t c = jc(jc(seed_of(f), s, 4), b, f->bs);
		cr_assert(off + tag_size(f) + 16 <= f->bs - (has_csum(f) ? 4 : 0), "too many tags");
		off += put_tag(f, d + off, homes[i], flags, c);
	}
	tail_csum(d, f);
}

static void jn_desc(struct jn *j, uint32_t seq, const uint64_t *homes, uint8_t *const *data, size_t n)
{
	jn_desc_u(j, seq, homes, data, n, false);
}

static void jn_revoke(struct jn *j, uint32_t seq, const uint64_t *homes, size_t n)
{
	const struct fmt *f = &j->f;
	uint8_t *r = jn_take(j);
	size_t rec = (f->incompat & I_64BIT) ? 8 : 4, off = 16;

	hdr(r, 5, seq);
	for (size_t i = 0; i < n; i++, off += rec) {
		if (rec == 8)
			put_be64(r + off, homes[i]);
		else
			put_be32(r + off, (uint32_t)homes[i]);
	}
	put_be32(r + 12, (uint32_t)off);
	tail_csum(r, f);
}

static void jn_commit(struct jn *j, uint32_t seq)
{
	uint8_t *c = jn_take(j);

	hdr(c, 2, seq);
	c[12] = 4;
	c[13] = 4;
	put_be64(c + 0x30, 1700000000ull + seq);
	if (has_csum(&j->f))
		put_be32(c + 0x10, jc(seed_of(&j->f), c, j->f.bs));
}

/* Block contents: a pattern of @p tag; @p magic puts the journal magic first. */
static uint8_t *pattern(uint32_t tag, bool magic)
{
	uint8_t *b = malloc(BS);

	cr_assert(b);
	for (uint32_t i = 0; i < BS; i++)
		b[i] = (uint8_t)(tag * 31 + i * 7 + (i >> 8));
	if (magic)
		put_be32(b, MAGIC);
	return b;
}

/* ---- recording what is delivered ---------------------------------------- */

struct ev {
	char kind; /* 'B' block, 'R' revoke, 'C' commit */
	uint32_t seq;
	uint64_t home;
	uint32_t crc;
};

struct rec {
	struct ev e[2048];
	size_t n;
	uint32_t bs;
	size_t stop_at; /* return stop_rc from the block call numbered stop_at (1-based) */
	int stop_rc;
	size_t nblock;
};

static void push(struct rec *r, char kind, uint32_t seq, uint64_t home, uint32_t crc)
{
	cr_assert(r->n < 2048);
	r->e[r->n++] = (struct ev){ kind, seq, home, crc };
}

static int on_block(void *ctx, uint32_t seq, uint64_t home, const uint8_t *data)
{
	struct rec *r = ctx;

	push(r, 'B', seq, home, storm_crc32c(0, data, r->bs));
	return ++r->nblock == r->stop_at ? r->stop_rc : 0;
}

static int on_revoke(void *ctx, uint32_t seq, uint64_t home)
{
	push(ctx, 'R', seq, home, 0);
	return 0;
}

static int on_commit(void *ctx, uint32_t seq)
{
	push(ctx, 'C', seq, 0, 0);
	return 0;
}

static const struct jbd2_ops ops = { on_block, on_revoke, on_commit };

static struct jbd2 *open_jn(struct jn *j, struct rec *r, size_t mem_cap)
{
	struct jbd2 *jb = NULL;

	memset(r, 0, sizeof(*r));
	r->bs = j->f.bs;
	cr_assert_eq(jbd2_new(&jb, j->blk, j->f.bs, j->f.maxlen, mem_cap, &ops, r), 0);
	return jb;
}

/* Writes the blocks put since @p from, in order; asserts each returns 0. */
static void feed(struct jbd2 *jb, struct jn *j, size_t from)
{
	for (size_t i = from; i < j->n; i++) {
		int rc = jbd2_write(jb, j->order[i], jn_at(j, j->order[i]));

		cr_assert_eq(rc, 0, "write %zu (block %llu): %d %s", i, (unsigned long long)j->order[i],
			     rc, jbd2_last_error(jb));
	}
}

static int write1(struct jbd2 *jb, struct jn *j, uint64_t p)
{
	return jbd2_write(jb, p, jn_at(j, p));
}

static void expect_block(const struct rec *r, size_t i, uint32_t seq, uint64_t home, const uint8_t *data)
{
	cr_assert(i < r->n, "event %zu missing (%zu events)", i, r->n);
	cr_assert_eq(r->e[i].kind, 'B', "event %zu is %c", i, r->e[i].kind);
	cr_assert_eq(r->e[i].seq, seq);
	cr_assert_eq(r->e[i].home, home, "event %zu home %llu", i, (unsigned long long)r->e[i].home);
	cr_assert_eq(r->e[i].crc, storm_crc32c(0, data, BS), "event %zu content", i);
}

static void expect_ev(const struct rec *r, size_t i, char kind, uint32_t seq, uint64_t home)
{
	cr_assert(i < r->n, "event %zu missing (%zu events)", i, r->n);
	cr_assert_eq(r->e[i].kind, kind, "event %zu is %c, not %c", i, r->e[i].kind, kind);
	cr_assert_eq(r->e[i].seq, seq);
	cr_assert_eq(r->e[i].home, home);
}

static struct jbd2_stats stats(const struct jbd2 *jb)
{
	struct jbd2_stats s;

	jbd2_stats(jb, &s);
	return s;
}

/* A transaction of @p n blocks with homes base, base+1…; data kept in @p d. */
static void simple_txn(struct jn *j, uint32_t seq, uint64_t base, size_t n, uint8_t **d, uint64_t *h)
{
	for (size_t i = 0; i < n; i++) {
		h[i] = base + i;
		d[i] = pattern((uint32_t)(seq * 100 + i), false);
	}
	jn_desc(j, seq, h, d, n);
	jn_commit(j, seq);
}

static void free_all(uint8_t **d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(d[i]);
}

/* ---- superblock --------------------------------------------------------- */

static int try_new(const uint8_t *sb, uint64_t nblocks)
{
	struct jbd2 *jb = NULL;
	struct rec r = { .bs = BS };
	int rc = jbd2_new(&jb, sb, BS, nblocks, 1 << 20, &ops, &r);

	jbd2_del(jb);
	return rc;
}

Test(jbd2, new_checks_superblock)
{
	struct fmt f = fmt_make(I_64BIT | I_CSUM3, 64);
	uint8_t sb[BS];

	mk_sb(sb, &f);
	cr_assert_eq(try_new(sb, 64), 0);
	cr_assert_eq(try_new(sb, 63), -EINVAL, "s_maxlen past the journal");
	struct jbd2 *jb = NULL;
	cr_assert_eq(jbd2_new(&jb, sb, 4096, 64, 0, &ops, NULL), -EINVAL, "block size differs");
	sb[0] ^= 1;
	cr_assert_eq(try_new(sb, 64), -EINVAL, "bad magic");

	f.first = 0;
	mk_sb(sb, &f);
	cr_assert_eq(try_new(sb, 64), -EINVAL, "s_first 0");
	f.first = 64;
	mk_sb(sb, &f);
	cr_assert_eq(try_new(sb, 64), -EINVAL, "s_first past s_maxlen");
	f.first = 1;

	mk_sb(sb, &f);
	sb[0x60] ^= 1;
	cr_assert_eq(try_new(sb, 64), -EINVAL, "superblock checksum");
	mk_sb(sb, &f);
	sb[0x50] = 1;
	sb_csum(sb);
	cr_assert_eq(try_new(sb, 64), STORM_ERR_UNSUPPORTED, "crc32 checksum type");

	f.incompat = I_64BIT | 0x40;
	mk_sb(sb, &f);
	cr_assert_eq(try_new(sb, 64), STORM_ERR_UNSUPPORTED, "unknown feature");
	f.incompat = I_CSUM2 | I_CSUM3;
	mk_sb(sb, &f);
	cr_assert_eq(try_new(sb, 64), -EINVAL, "both checksum versions");

	/* A v1 superblock has no feature words: whatever is there is ignored. */
	f.incompat = 0x40;
	mk_sb(sb, &f);
	put_be32(sb + 4, 3);
	cr_assert_eq(try_new(sb, 64), 0);

	/* The fast-commit area must leave a log. */
	f.incompat = I_FAST;
	f.num_fc = 63;
	mk_sb(sb, &f);
	cr_assert_eq(try_new(sb, 64), -EINVAL);
	f.num_fc = 0; /* 256 by default */
	mk_sb(sb, &f);
	cr_assert_eq(try_new(sb, 64), -EINVAL);
	f.num_fc = 8;
	mk_sb(sb, &f);
	cr_assert_eq(try_new(sb, 64), 0);
}

/* ---- tag layouts --------------------------------------------------------- */

/* One transaction in format @p incompat with homes from @p base; uuids on
 * every second tag when @p uuids; one block starting with the magic. */
static void one_txn(uint32_t incompat, uint64_t base, bool uuids)
{
	struct fmt f = fmt_make(incompat, 64);
	struct jn j;
	struct rec r;
	uint8_t *d[5];
	uint64_t h[5];

	jn_init(&j, &f);
	for (size_t i = 0; i < 5; i++) {
		h[i] = base + i * 3;
		d[i] = pattern((uint32_t)i, i == 2);
	}
	jn_desc_u(&j, 10, h, d, 5, uuids);
	jn_commit(&j, 10);
	struct jbd2 *jb = open_jn(&j, &r, 1 << 20);
	feed(jb, &j, 0);
	cr_assert_eq(r.n, 6, "%zu events: %s", r.n, jbd2_last_error(jb));
	for (size_t i = 0; i < 5; i++)
		expect_block(&r, i, 10, h[i], d[i]);
	expect_ev(&r, 5, 'C', 10, 0);
	struct jbd2_stats s = stats(jb);
	cr_assert_eq(s.committed, 1);
	cr_assert_eq(s.blocks, 5);
	cr_assert_eq(s.malformed + s.incomplete + s.dropped_bytes, 0);
	jbd2_del(jb);
	free_all(d, 5);
	free(j.blk);
}

Test(jbd2, tags_32bit_plain)
{
	one_txn(0, 1000, false);
	one_txn(0, 0xfffffff0u, true);
}

Test(jbd2, tags_64bit_plain)
{
	one_txn(I_64BIT, 0x123456789aull, false);
	one_txn(I_64BIT, 7, true);
}

Test(jbd2, tags_csum_v2)
{
	one_txn(I_CSUM2, 5000, true);
	one_txn(I_CSUM2 | I_64BIT, 0x500000000ull, false);
}

Test(jbd2, tags_csum_v3)
{
	one_txn(I_CSUM3, 77, false);
	one_txn(I_CSUM3 | I_64BIT, 0xabcdef01234ull, true);
}

Test(jbd2, escaped_block_restored)
{
	struct fmt f = fmt_make(I_CSUM3 | I_64BIT, 32);
	struct jn j;
	struct rec r;
	uint8_t *d[1] = { pattern(1, true) };
	uint64_t h[1] = { 99 };

	jn_init(&j, &f);
	jn_desc(&j, 10, h, d, 1);
	jn_commit(&j, 10);
	cr_assert_eq(get_be32(jn_at(&j, 2)), 0, "the journal copy is escaped");
	cr_assert_eq(get_be32(jn_at(&j, 1) + 12 + 4) & T_ESCAPE, T_ESCAPE);
	struct jbd2 *jb = open_jn(&j, &r, 1 << 20);
	feed(jb, &j, 0);
	cr_assert_eq(r.n, 2);
	expect_block(&r, 0, 10, 99, d[0]);
	jbd2_del(jb);
	free(d[0]);
	free(j.blk);
}

Test(jbd2, two_descriptors_and_revokes)
{
	for (int v = 0; v < 2; v++) {
		struct fmt f = fmt_make(v ? I_64BIT | I_CSUM3 : 0, 64);
		struct jn j;
		struct rec r;
		uint8_t *d[4];
		uint64_t h[4] = { 10, 11, 12, 13 };
		uint64_t rv[3] = { 500, 501, v ? 0x700000001ull : 502 };

		for (int i = 0; i < 4; i++)
			d[i] = pattern((uint32_t)i, false);
		jn_init(&j, &f);
		jn_revoke(&j, 10, rv, 3);
		jn_desc(&j, 10, h, d, 2);
		jn_desc(&j, 10, h + 2, d + 2, 2);
		jn_revoke(&j, 10, rv, 1);
		jn_commit(&j, 10);
		struct jbd2 *jb = open_jn(&j, &r, 1 << 20);
		feed(jb, &j, 0);
		cr_assert_eq(r.n, 3 + 4 + 1 + 1, "%zu events (%s)", r.n, jbd2_last_error(jb));
		for (int i = 0; i < 3; i++)
			expect_ev(&r, (size_t)i, 'R', 10, rv[i]);
		for (int i = 0; i < 4; i++)
			expect_block(&r, 3 + (size_t)i, 10, h[i], d[i]);
		expect_ev(&r, 7, 'R', 10, 500);
		expect_ev(&r, 8, 'C', 10, 0);
		cr_assert_eq(stats(jb).revokes, 4);
		jbd2_del(jb);
		free_all(d, 4);
		free(j.blk);
	}
}

/* ---- the log ------------------------------------------------------------ */

Test(jbd2, wraps_at_maxlen)
{
	struct fmt f = fmt_make(I_CSUM3, 12);
	struct jn j;
	struct rec r;
	uint8_t *d[12];
	uint64_t h[12];
	const size_t sizes[4] = { 3, 4, 3, 2 };

	f.start = 7;
	jn_init(&j, &f);
	struct jbd2 *jb = open_jn(&j, &r, 1 << 20);
	/* 7..11, 1..6, 7..11, then 1..4: each overwrites an applied one. */
	for (size_t t = 0, k = 0; t < 4; k += sizes[t++]) {
		size_t from = j.n;

		simple_txn(&j, 10 + (uint32_t)t, 100 * (t + 1), sizes[t], d + k, h + k);
		cr_assert_eq(j.order[from], t % 2 ? 1 : 7);
		feed(jb, &j, from);
	}
	cr_assert_eq(r.n, 12 + 4, "%zu events (%s)", r.n, jbd2_last_error(jb));
	size_t e = 0, k = 0;
	for (uint32_t t = 0; t < 4; t++) {
		for (size_t i = 0; i < sizes[t]; i++, k++)
			expect_block(&r, e++, 10 + t, h[k], d[k]);
		expect_ev(&r, e++, 'C', 10 + t, 0);
	}
	jbd2_del(jb);
	free_all(d, 12);
	free(j.blk);
}

Test(jbd2, transaction_across_the_end)
{
	struct fmt f = fmt_make(I_64BIT, 10);
	struct jn j;
	struct rec r;
	uint8_t *d[5];
	uint64_t h[5];

	f.start = 7;
	jn_init(&j, &f);
	simple_txn(&j, 10, 100, 5, d, h); /* descriptor at 7, data 8 9 1 2 3, commit 4 */
	cr_assert_eq(j.order[6], 4);
	struct jbd2 *jb = open_jn(&j, &r, 1 << 20);
	feed(jb, &j, 0);
	cr_assert_eq(r.n, 6);
	for (size_t i = 0; i < 5; i++)
		expect_block(&r, i, 10, h[i], d[i]);
	jbd2_del(jb);
	free_all(d, 5);
	free(j.blk);
}

Test(jbd2, blocks_in_reverse_order)
{
	struct fmt f = fmt_make(I_CSUM3 | I_64BIT, 64);
	struct jn j;
	struct rec r;
	uint8_t *d[6];
	uint64_t h[6];
	uint64_t rv[2] = { 1, 2 };

	jn_init(&j, &f);
	jn_revoke(&j, 10, rv, 2);
	for (int i = 0; i < 6; i++) {
		h[i] = 40 + (uint64_t)i;
		d[i] = pattern((uint32_t)i, i == 4);
	}
	jn_desc(&j, 10, h, d, 3);
	jn_desc(&j, 10, h + 3, d + 3, 3);
	jn_commit(&j, 10);
	struct jbd2 *jb = open_jn(&j, &r, 1 << 20);
	for (size_t i = j.n - 1; i-- > 0;)
		cr_assert_eq(write1(jb, &j, j.order[i]), 0);
	cr_assert_eq(r.n, 0);
	cr_assert_eq(write1(jb, &j, j.order[j.n - 1]), 0);
	cr_assert_eq(r.n, 2 + 6 + 1, "%s", jbd2_last_error(jb));
	expect_ev(&r, 0, 'R', 10, 1);
	expect_ev(&r, 1, 'R', 10, 2);
	for (size_t i = 0; i < 6; i++)
		expect_block(&r, 2 + i, 10, h[i], d[i]);
	jbd2_del(jb);
	free_all(d, 6);
	free(j.blk);
}

Test(jbd2, missing_block_is_incomplete)
{
	struct fmt f = fmt_make(I_CSUM3, 64);
	struct jn j;
	struct rec r;
	uint8_t *d[5];
	uint64_t h[5];

	jn_init(&j, &f);
	simple_txn(&j, 10, 100, 3, d, h);
	simple_txn(&j, 11, 200, 2, d + 3, h + 3);
	struct jbd2 *jb = open_jn(&j, &r, 1 << 20);
	for (size_t i = 0; i < j.n; i++) {
		if (i != 2) /* the second data block of the first transaction */
			cr_assert_eq(write1(jb, &j, j.order[i]), 0);
	}
	struct jbd2_stats s = stats(jb);
	cr_assert_eq(s.incomplete, 1);
	cr_assert_eq(s.committed, 1);
	cr_assert(strstr(jbd2_last_error(jb), "missing"));
	cr_assert_eq(r.n, 3, "only the second transaction");
	expect_block(&r, 0, 11, 200, d[3]);
	expect_block(&r, 1, 11, 201, d[4]);
	jbd2_del(jb);
	free_all(d, 5);
	free(j.blk);
}

/* With the start known (the previous commit or the superblock), a lost first
 * descriptor makes the transaction incomplete; without, the interpreter
 * starts at the earliest descriptor it holds. */
Test(jbd2, start_of_transaction)
{
	struct fmt f = fmt_make(0, 64);
	struct jn j;
	struct rec r;
	uint8_t *d[4];
	uint64_t h[4] = { 1, 2, 3, 4 };

	for (int i = 0; i < 4; i++)
		d[i] = pattern((uint32_t)i, false);
	for (int anchored = 0; anchored < 2; anchored++) {
		f.start = anchored ? 1 : 0;
		jn_init(&j, &f);
		j.head = 1;
		jn_desc(&j, 10, h, d, 2);
		jn_desc(&j, 10, h + 2, d + 2, 2);
		jn_commit(&j, 10);
		struct jbd2 *jb = open_jn(&j, &r, 1 << 20);
		for (size_t i = 3; i < j.n; i++)
			cr_assert_eq(write1(jb, &j, j.order[i]), 0);
		if (anchored) {
			cr_assert_eq(r.n, 0);
			cr_assert_eq(stats(jb).incomplete, 1);
		} else {
			cr_assert_eq(r.n, 3);
			expect_block(&r, 0, 10, 3, d[2]);
			expect_block(&r, 1, 10, 4, d[3]);
		}
		jbd2_del(jb);
		free(j.blk);
	}
	free_all(d, 4);
}

Test(jbd2, superblock_write_moves_the_start)
{
	struct fmt f = fmt_make(I_CSUM3, 64);
	struct jn j;
	struct rec r;
	uint8_t *d[3];
	uint64_t h[3] = { 5, 6, 7 };
	uint8_t sb[BS];

	for (int i = 0; i < 3; i++)
		d[i] = pattern((uint32_t)i, false);
	f.start = 0;
	jn_init(&j, &f);
	struct jbd2 *jb = open_jn(&j, &r, 1 << 20);

	/* What the kernel writes at mount: log start and first sequence. */
	f.start = 20;
	f.seq = 42;
	mk_sb(sb, &f);
	cr_assert_eq(jbd2_write(jb, 0, sb), 0);
	j.head = 20;
	jn_desc(&j, 42, h, d, 3);
	jn_commit(&j, 42);
	/* The descriptor is lost: known start, so incomplete, not partial. */
	for (size_t i = 1; i < j.n; i++)
		cr_assert_eq(write1(jb, &j, j.order[i]), 0);
	cr_assert_eq(stats(jb).incomplete, 1);
	cr_assert_eq(r.n, 0);

	/* A bad superblock write is refused and counted; the old one holds. */
	sb[0x10] = 0xff;
	cr_assert_eq(jbd2_write(jb, 0, sb), -EUCLEAN);
	cr_assert_eq(stats(jb).malformed, 1);
	cr_assert(strstr(jbd2_last_error(jb), "superblock"));
	f.incompat |= 0x100;
	mk_sb(sb, &f);
	cr_assert_eq(jbd2_write(jb, 0, sb), STORM_ERR_UNSUPPORTED);

	size_t from = j.n;
	jn_desc(&j, 43, h, d, 3);
	jn_commit(&j, 43);
	feed(jb, &j, from);
	cr_assert_eq(r.n, 4);
	cr_assert_eq(jbd2_write(jb, 64, sb), -EINVAL, "past the journal");
	jbd2_del(jb);
	free_all(d, 3);
	free(j.blk);
}

/* ---- bad journals ---------------------------------------------------------- */

Test(jbd2, garbage_blocks)
{
	struct fmt f = fmt_make(I_64BIT, 64);
	struct jn j;
	struct rec r;
	uint8_t *d[6];
	uint64_t h[6];
	uint8_t junk[BS];

	jn_init(&j, &f);
	simple_txn(&j, 10, 100, 2, d, h);     /* 1..4 */
	simple_txn(&j, 11, 200, 2, d + 2, h + 2); /* 5..8 */
	simple_txn(&j, 12, 300, 2, d + 4, h + 4); /* 9..12 */
	struct jbd2 *jb = open_jn(&j, &r, 1 << 20);
	srand(7);
	for (size_t i = 0; i < BS; i++)
		junk[i] = (uint8_t)rand();
	/* Junk far ahead of the log is held and does no harm. */
	for (uint64_t p = 30; p < 40; p++)
		cr_assert_eq(jbd2_write(jb, p, junk), 0);
	feed(jb, &j, 0);
	cr_assert_eq(stats(jb).committed, 3);

	/* Junk where a descriptor should be. */
	size_t from = j.n;
	free(d[0]);
	simple_txn(&j, 13, 400, 1, d, h);
	cr_assert_eq(jbd2_write(jb, j.order[from], junk), 0);
	cr_assert_eq(write1(jb, &j, j.order[from + 1]), 0);
	cr_assert_eq(write1(jb, &j, j.order[from + 2]), -EUCLEAN);
	cr_assert(strstr(jbd2_last_error(jb), "not a descriptor"), "%s", jbd2_last_error(jb));

	/* A journal header where a data block should be. */
	from = j.n;
	free(d[0]);
	simple_txn(&j, 14, 500, 1, d, h);
	hdr(junk, 1, 14);
	cr_assert_eq(write1(jb, &j, j.order[from]), 0);
	cr_assert_eq(jbd2_write(jb, j.order[from + 1], junk), 0);
	cr_assert_eq(write1(jb, &j, j.order[from + 2]), -EUCLEAN);
	cr_assert(strstr(jbd2_last_error(jb), "magic"), "%s", jbd2_last_error(jb));

	/* A descriptor of another sequence where the transaction starts. */
	from = j.n;
	free(d[0]);
	simple_txn(&j, 15, 600, 1, d, h);
	put_be32(jn_at(&j, j.order[from]) + 8, 99);
	cr_assert_eq(write1(jb, &j, j.order[from]), 0);
	cr_assert_eq(write1(jb, &j, j.order[from + 1]), 0);
	cr_assert_eq(write1(jb, &j, j.order[from + 2]), -EUCLEAN);
	cr_assert(strstr(jbd2_last_error(jb), "another sequence"), "%s", jbd2_last_error(jb));
	cr_assert_eq(stats(jb).malformed, 3);
	cr_assert_eq(stats(jb).incomplete, 0);

	/* A descriptor naming more blocks than come before the commit. */
	from = j.n;
	free(d[0]);
	simple_txn(&j, 16, 700, 1, d, h);
	uint8_t *desc = jn_at(&j, j.order[from]);
	put_be16(desc + 12 + 6, 0); /* not the last tag any more */
	put_tag(&f, desc + 12 + tag_size(&f) + 16, 701, T_SAME_UUID | T_LAST, 0);
	cr_assert_eq(write1(jb, &j, j.order[from]), 0);
	cr_assert_eq(write1(jb, &j, j.order[from + 1]), 0);
	cr_assert_eq(write1(jb, &j, j.order[from + 2]), -EUCLEAN);
	cr_assert(strstr(jbd2_last_error(jb), "past the commit"), "%s", jbd2_last_error(jb));

	/* The log goes on after all that. */
	from = j.n;
	free(d[0]);
	simple_txn(&j, 17, 800, 1, d, h);
	size_t before = r.n;
	feed(jb, &j, from);
	cr_assert_eq(r.n, before + 2);
	expect_block(&r, before, 17, 800, d[0]);
	jbd2_del(jb);
	free_all(d, 6);
	free(j.blk);
}

Test(jbd2, revoke_count_past_block)
{
	for (int v = 0; v < 2; v++) {
		struct fmt f = fmt_make(v ? I_CSUM3 : I_64BIT, 64);
		struct jn j;
		struct rec r;
		uint64_t rv[2] = { 3, 4 };

		jn_init(&j, &f);
		jn_revoke(&j, 10, rv, 2);
		put_be32(jn_at(&j, 1) + 12, v ? BS - 3 : BS + 4);
		tail_csum(jn_at(&j, 1), &f);
		jn_commit(&j, 10);
		struct jbd2 *jb = open_jn(&j, &r, 1 << 20);
		cr_assert_eq(write1(jb, &j, 1), 0);
		cr_assert_eq(write1(jb, &j, 2), -EUCLEAN);
		cr_assert(strstr(jbd2_last_error(jb), "r_count"), "%s", jbd2_last_error(jb));
		cr_assert_eq(r.n, 0);
		cr_assert_eq(stats(jb).malformed, 1);
		jbd2_del(jb);
		free(j.blk);
	}
}

/* Tags stop where the next one would not fit: a full descriptor without
 * LAST_TAG, and a last tag whose uuid runs off the block. */
Test(jbd2, tags_running_off_the_block)
{
	struct fmt f = fmt_make(0, 256);
	struct jn j;
	struct rec r;
	uint8_t *d = pattern(5, false);

	for (int v = 0; v < 2; v++) {
		jn_init(&j, &f);
		uint8_t *desc = jn_take(&j);
		size_t off = 12, n = 0;

		hdr(desc, 1, 10);
		while (off + 8 <= BS) {
			/* v 1: the tag at 1012 fits, its uuid would end at 1036. */
			bool uuid = n == 0 || (v == 1 && off == 1012);

			put_tag(&f, desc + off, 1000 + n, T_SAME_UUID, 0);
			if (uuid)
				put_be16(desc + off + 6, 0);
			off += uuid ? 24 : 8;
			if (uuid && off <= BS)
				memcpy(desc + off - 16, f.uuid, 16);
			memcpy(jn_take(&j), d, BS);
			n++;
		}
		cr_assert_eq(n, 124, "tags that fit: %zu", n);
		jn_commit(&j, 10);
		struct jbd2 *jb = open_jn(&j, &r, 1 << 20);
		feed(jb, &j, 0);
		cr_assert_eq(r.n, 125);
		expect_block(&r, 123, 10, 1123, d);
		jbd2_del(jb);
		free(j.blk);
	}
	free(d);
}

Test(jbd2, checksum_mismatch)
{
	/* Which block to spoil: 0 revoke, 1 descriptor, 2 data, 3 commit. */
	static const char *const what[] = { "revoke", "descriptor", "tag checksum", "commit" };

	for (uint32_t v = 0; v < 2; v++) {
		for (int spoil = 0; spoil < 4; spoil++) {
			struct fmt f = fmt_make(v ? I_CSUM2 : I_CSUM3 | I_64BIT, 64);
			struct jn j;
			struct rec r;
			uint8_t *d[2] = { pattern(1, false), pattern(2, false) };
			uint64_t h[2] = { 8, 9 }, rv[1] = { 3 };

			jn_init(&j, &f);
			jn_revoke(&j, 10, rv, 1);
			jn_desc(&j, 10, h, d, 2);
			jn_commit(&j, 10);
			uint64_t at = spoil == 0 ? 1 : spoil == 1 ? 2 : spoil == 2 ? 4 : 5;
			jn_at(&j, at)[100] ^= 0x40;
			struct jbd2 *jb = open_jn(&j, &r, 1 << 20);
			for (size_t i = 0; i + 1 < j.n; i++)
				cr_assert_eq(write1(jb, &j, j.order[i]), 0);
			cr_assert_eq(write1(jb, &j, j.order[j.n - 1]), -EUCLEAN);
			cr_assert(strstr(jbd2_last_error(jb), what[spoil]), "%s", jbd2_last_error(jb));
			cr_assert_eq(r.n, 0);
			cr_assert_eq(stats(jb).malformed, 1);
			jbd2_del(jb);
			free_all(d, 2);
			free(j.blk);
		}
	}
}

/* ---- limits, callbacks, features ---------------------------------------- */

Test(jbd2, mem_cap_exceeded)
{
	struct fmt f = fmt_make(I_CSUM3, 64);
	struct jn j;
	struct rec r;
	uint8_t *d[7];
	uint64_t h[7];

	jn_init(&j, &f);
	simple_txn(&j, 10, 100, 5, d, h);     /* 6 blocks held before the commit */
	simple_txn(&j, 11, 200, 2, d + 5, h + 5); /* 3 */
	struct jbd2 *jb = open_jn(&j, &r, 3 * BS);
	feed(jb, &j, 0);
	struct jbd2_stats s = stats(jb);
	cr_assert_eq(s.dropped_bytes, 3 * BS);
	cr_assert_eq(s.incomplete, 1);
	cr_assert_eq(s.committed, 1);
	cr_assert_eq(r.n, 3);
	expect_block(&r, 0, 11, 200, d[5]);
	jbd2_del(jb);

	/* Nothing can be held at all. */
	jb = open_jn(&j, &r, BS - 1);
	feed(jb, &j, 0);
	s = stats(jb);
	cr_assert_eq(s.dropped_bytes, 9 * BS);
	cr_assert_eq(s.incomplete, 2);
	cr_assert_eq(r.n, 0);
	jbd2_del(jb);
	free_all(d, 7);
	free(j.blk);
}

Test(jbd2, callback_stops_transaction)
{
	struct fmt f = fmt_make(0, 64);
	struct jn j;
	struct rec r;
	uint8_t *d[6];
	uint64_t h[6];

	jn_init(&j, &f);
	simple_txn(&j, 10, 100, 4, d, h);
	simple_txn(&j, 11, 200, 2, d + 4, h + 4);
	struct jbd2 *jb = open_jn(&j, &r, 1 << 20);
	r.stop_at = 2;
	r.stop_rc = 42;
	for (size_t i = 0; i < 5; i++)
		cr_assert_eq(write1(jb, &j, j.order[i]), 0);
	cr_assert_eq(write1(jb, &j, j.order[5]), 42);
	cr_assert_eq(r.n, 2);
	cr_assert_eq(stats(jb).committed, 0);
	feed(jb, &j, 6);
	cr_assert_eq(r.n, 5);
	expect_block(&r, 2, 11, 200, d[4]);
	cr_assert_eq(stats(jb).committed, 1);
	/* The same commit block written again is not applied twice. */
	cr_assert_eq(write1(jb, &j, j.order[j.n - 1]), 0);
	cr_assert_eq(r.n, 5);
	jbd2_del(jb);
	free_all(d, 6);
	free(j.blk);
}

Test(jbd2, async_commit_before_its_blocks)
{
	struct fmt f = fmt_make(I_ASYNC | I_CSUM3, 64);
	struct jn j;
	struct rec r;
	uint8_t *d[6];
	uint64_t h[6];

	jn_init(&j, &f);
	simple_txn(&j, 10, 100, 3, d, h);     /* 1..5 */
	simple_txn(&j, 11, 200, 2, d + 3, h + 3); /* 6..9 */
	simple_txn(&j, 12, 300, 1, d + 5, h + 5); /* 10..12 */
	struct jbd2 *jb = open_jn(&j, &r, 1 << 20);
	/* Commit first, then the blocks backwards: applied with the last one. */
	cr_assert_eq(write1(jb, &j, 5), 0);
	for (uint64_t p = 4; p >= 2; p--)
		cr_assert_eq(write1(jb, &j, p), 0);
	cr_assert_eq(r.n, 0);
	cr_assert_eq(write1(jb, &j, 1), 0);
	cr_assert_eq(r.n, 4, "%s", jbd2_last_error(jb));
	expect_block(&r, 0, 10, 100, d[0]);
	/* Commit 11 never gets its descriptor before commit 12 comes. */
	cr_assert_eq(write1(jb, &j, 9), 0);
	cr_assert_eq(write1(jb, &j, 7), 0);
	cr_assert_eq(write1(jb, &j, 8), 0);
	for (uint64_t p = 10; p <= 12; p++)
		cr_assert_eq(write1(jb, &j, p), 0);
	struct jbd2_stats s = stats(jb);
	cr_assert_eq(s.incomplete, 1);
	cr_assert_eq(s.committed, 2);
	expect_block(&r, 4, 12, 300, d[5]);
	jbd2_del(jb);
	free_all(d, 6);
	free(j.blk);
}

Test(jbd2, fast_commit_area_ignored)
{
	struct fmt f = fmt_make(I_FAST | I_64BIT, 24);
	struct jn j;
	struct rec r;
	uint8_t *d[4];
	uint64_t h[4];
	uint8_t fc[BS];

	f.num_fc = 8; /* log 1..15, fast commits 16..23 */
	f.start = 13;
	jn_init(&j, &f);
	simple_txn(&j, 10, 100, 4, d, h); /* 13 14 15 1 2 3 */
	cr_assert_eq(j.order[3], 1);
	struct jbd2 *jb = open_jn(&j, &r, 1 << 20);
	memset(fc, 0x5a, sizeof(fc));
	for (uint64_t p = 16; p < 24; p++)
		cr_assert_eq(jbd2_write(jb, p, fc), 0);
	feed(jb, &j, 0);
	cr_assert_eq(r.n, 5, "%s", jbd2_last_error(jb));
	for (size_t i = 0; i < 4; i++)
		expect_block(&r, i, 10, h[i], d[i]);
	cr_assert_eq(stats(jb).dropped_bytes, 0);
	jbd2_del(jb);
	free_all(d, 4);
	free(j.blk);
}

/* ---- journals written by e2fsprogs and by the kernel ---------------------- */

/* The journal (inode s_journal_inum) of image @p path, all its blocks. */
static uint8_t *read_journal(const char *path, uint32_t *bs, uint64_t *nblocks)
{
	ext2_filsys fs = NULL;
	struct ext2_inode in;

	cr_assert_eq(ext2fs_open(path, 0, 0, 0, unix_io_manager, &fs), 0, "ext2fs_open %s", path);
	ext2_ino_t ino = fs->super->s_journal_inum;
	cr_assert_eq(ext2fs_read_inode(fs, ino, &in), 0);
	*bs = fs->blocksize;
	*nblocks = EXT2_I_SIZE(&in) / fs->blocksize;
	uint8_t *buf = malloc(*nblocks * *bs);
	cr_assert(buf);
	for (blk64_t l = 0; l < *nblocks; l++) {
		blk64_t p = 0;

		cr_assert_eq(ext2fs_bmap2(fs, ino, &in, NULL, 0, l, NULL, &p), 0);
		cr_assert(p != 0);
		cr_assert_eq(io_channel_read_blk64(fs->io, p, 1, buf + l * *bs), 0);
	}
	ext2fs_close_free(&fs);
	return buf;
}

/* Turns on checksum v3 in the journal superblock, as the kernel does when it
 * mounts a metadata_csum file system. */
static void journal_csum_v3(const char *path)
{
	ext2_filsys fs = NULL;
	struct ext2_inode in;
	blk64_t p = 0;

	cr_assert_eq(ext2fs_open(path, EXT2_FLAG_RW, 0, 0, unix_io_manager, &fs), 0);
	cr_assert_eq(ext2fs_read_inode(fs, fs->super->s_journal_inum, &in), 0);
	cr_assert_eq(ext2fs_bmap2(fs, fs->super->s_journal_inum, &in, NULL, 0, 0, NULL, &p), 0);
	uint8_t *b = malloc(fs->blocksize);
	cr_assert(b);
	cr_assert_eq(io_channel_read_blk64(fs->io, p, 1, b), 0);
	put_be32(b + 0x28, get_be32(b + 0x28) | I_CSUM3 | I_64BIT);
	b[0x50] = 4;
	sb_csum(b);
	cr_assert_eq(io_channel_write_blk64(fs->io, p, 1, b), 0);
	free(b);
	ext2fs_close_free(&fs);
}

/* Everything the journal holds up to @p upto, fed in log order from block 1;
 * counts the -EUCLEAN returns in @p *bad. */
static struct jbd2 *feed_journal_rc(const uint8_t *jbuf, uint32_t bs, uint64_t n, struct rec *r,
				    uint64_t upto, unsigned *bad)
{
	struct jbd2 *jb = NULL;

	memset(r, 0, sizeof(*r));
	r->bs = bs;
	cr_assert_eq(jbd2_new(&jb, jbuf, bs, n, 16u << 20, &ops, r), 0);
	for (uint64_t p = 1; p < upto && p < n; p++) {
		int rc = jbd2_write(jb, p, jbuf + p * bs);

		cr_assert(rc == 0 || (bad && rc == -EUCLEAN), "journal block %llu: %d %s",
			  (unsigned long long)p, rc, jbd2_last_error(jb));
		if (rc)
			++*bad;
	}
	return jb;
}

static struct jbd2 *feed_journal(const uint8_t *jbuf, uint32_t bs, uint64_t n, struct rec *r,
				 uint64_t upto)
{
	return feed_journal_rc(jbuf, bs, n, r, upto, NULL);
}

/* A file of @p nblocks blocks, block i a pattern of i; @p magic_at starts
 * with the journal magic. */
static void write_blocks(const char *path, uint32_t bs, size_t nblocks, size_t magic_at)
{
	FILE *fp = fopen(path, "w");

	cr_assert(fp);
	for (size_t i = 0; i < nblocks; i++) {
		for (uint32_t k = 0; k < bs; k++)
			fputc((int)((i * 131 + k * 17 + (k >> 9)) & 0xff), fp);
	}
	fclose(fp);
	if (magic_at < nblocks) {
		uint8_t m[4];
		int fd = open(path, O_WRONLY);

		put_be32(m, MAGIC);
		cr_assert(fd >= 0 && pwrite(fd, m, 4, (off_t)(magic_at * bs)) == 4);
		close(fd);
	}
}

static uint32_t file_block_crc(const char *path, uint32_t bs, size_t i)
{
	FILE *fp = fopen(path, "r");
	uint8_t *b = malloc(bs);

	cr_assert(fp && b);
	cr_assert_eq(fseek(fp, (long)(i * bs), SEEK_SET), 0);
	cr_assert_eq(fread(b, 1, bs, fp), bs);
	fclose(fp);
	uint32_t c = storm_crc32c(0, b, bs);
	free(b);
	return c;
}

/* debugfs journal_write: 150 blocks (several descriptors, one escaped), a
 * revoke-only transaction, then blocks and revokes together. */
static void debugfs_journal(bool csum3)
{
	struct image im;
	char data[160], script[4096], list[1024];
	size_t len = 0;

	cr_assert(oracle_tools(), "mkfs.ext4, debugfs, dumpe2fs, e2fsck (e2fsprogs) are needed");
	image_make(&im, "-b 1024", "8M");
	if (csum3)
		journal_csum_v3(im.path);
	snprintf(data, sizeof(data), "%s/data", im.dir);
	write_blocks(data, 1024, 150, 70);
	for (int i = 0; i < 150; i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%d", i ? "," : "", 3000 + i);
	snprintf(script, sizeof(script),
		 "jo\njw -b %s %s\njw -r 4000,4001,4002 %s\njw -b 5000,5001 -r 6000 %s\njc\n", list,
		 data, data, data);
	char sp[200];
	snprintf(sp, sizeof(sp), "%s/jw", im.dir);
	FILE *fp = fopen(sp, "w");
	cr_assert(fp);
	fputs(script, fp);
	fclose(fp);
	cr_assert_eq(oracle_sh("PATH=\"$PATH:/usr/sbin:/sbin\" debugfs -w -f '%s' '%s' >/dev/null 2>&1",
			       sp, im.path), 0);

	uint32_t bs;
	uint64_t n;
	uint8_t *jbuf = read_journal(im.path, &bs, &n);
	uint32_t inc = get_be32(jbuf + 0x28);
	cr_assert_eq(!!(inc & I_CSUM3), csum3, "journal features %#x", inc);
	cr_assert(inc & I_64BIT);
	uint32_t seq = get_be32(jbuf + 0x18);
	struct rec *r = calloc(1, sizeof(*r));
	cr_assert(r);
	struct jbd2 *jb = feed_journal(jbuf, bs, n, r, 200);

	size_t e = 0;
	for (size_t i = 0; i < 150; i++) {
		cr_assert_eq(r->e[e].kind, 'B');
		cr_assert_eq(r->e[e].seq, seq);
		cr_assert_eq(r->e[e].home, 3000 + i);
		cr_assert_eq(r->e[e].crc, file_block_crc(data, bs, i), "block %zu", i);
		e++;
	}
	expect_ev(r, e++, 'C', seq, 0);
	for (uint64_t k = 0; k < 3; k++)
		expect_ev(r, e++, 'R', seq + 1, 4000 + k);
	expect_ev(r, e++, 'C', seq + 1, 0);
	/* debugfs puts the revoke block after the data. */
	expect_ev(r, e, 'B', seq + 2, 5000);
	cr_assert_eq(r->e[e++].crc, file_block_crc(data, bs, 0));
	expect_ev(r, e, 'B', seq + 2, 5001);
	cr_assert_eq(r->e[e++].crc, file_block_crc(data, bs, 1));
	expect_ev(r, e++, 'R', seq + 2, 6000);
	expect_ev(r, e++, 'C', seq + 2, 0);
	cr_assert_eq(r->n, e);
	struct jbd2_stats s = stats(jb);
	cr_assert_eq(s.committed, 3);
	cr_assert_eq(s.malformed + s.incomplete + s.dropped_bytes, 0);
	jbd2_del(jb);

	/* A spoiled journalled block (the first, home 3000) is caught with
	 * checksums and delivered as it is without. */
	jbuf[2 * bs + 9] ^= 1;
	unsigned bad = 0;
	jb = feed_journal_rc(jbuf, bs, n, r, 200, &bad);
	s = stats(jb);
	cr_assert_eq(bad, csum3 ? 1 : 0);
	cr_assert_eq(s.malformed, csum3 ? 1 : 0);
	cr_assert_eq(s.committed, csum3 ? 2 : 3);
	jbd2_del(jb);
	free(jbuf);
	free(r);
	image_remove(&im);
}

Test(jbd2, debugfs_journal_plain)
{
	debugfs_journal(false);
}

Test(jbd2, debugfs_journal_csum_v3)
{
	debugfs_journal(true);
}

/* The kernel's own ext4 (metadata_csum: checksum v3 journal): a workload on a
 * loop mount, then the journal it left.  Every block it journalled must have
 * reached home with the content of its last committed copy (checkpointed at
 * unmount); the ext4 superblock is written in place at unmount as well and
 * is left out. */
Test(jbd2, kernel_journal, .timeout = 60)
{
	struct image im;
	char mnt[128];

	cr_assert(oracle_tools(), "mkfs.ext4, debugfs, dumpe2fs, e2fsck (e2fsprogs) are needed");
	if (geteuid() != 0)
		cr_skip_test("mounting a loop device needs root");
	image_make(&im, "-b 4096 -E lazy_itable_init=0,lazy_journal_init=0", "32M");
	snprintf(mnt, sizeof(mnt), "%s/mnt", im.dir);
	cr_assert_eq(oracle_sh("mkdir '%s'", mnt), 0);
	if (oracle_sh("mount -o loop '%s' '%s' 2>/dev/null", im.path, mnt) != 0) {
		image_remove(&im);
		cr_skip_test("cannot mount a loop device here");
	}
	int wl = oracle_sh("cd '%s' && mkdir -p a/b c && for i in $(seq 1 60); do echo $i > a/f$i; done"
			   " && dd if=/dev/zero of=c/big bs=64k count=20 status=none && mv a/f1 c/"
			   " && ln -s a/b link && sync && mkdir d && touch d/x && sync",
			   mnt);
	cr_assert_eq(oracle_sh("umount '%s'", mnt), 0);
	cr_assert_eq(wl, 0, "workload failed");

	uint32_t bs;
	uint64_t n;
	uint8_t *jbuf = read_journal(im.path, &bs, &n);
	cr_assert(get_be32(jbuf + 0x28) & I_CSUM3, "the kernel turns on checksum v3");
	struct rec *r = calloc(1, sizeof(*r));
	cr_assert(r);
	struct jbd2 *jb = feed_journal(jbuf, bs, n, r, n);
	struct jbd2_stats s = stats(jb);
	cr_assert(s.committed >= 2, "%llu transactions (%llu incomplete, %llu malformed: %s)",
		  (unsigned long long)s.committed, (unsigned long long)s.incomplete,
		  (unsigned long long)s.malformed, jbd2_last_error(jb));
	cr_assert_eq(s.malformed + s.incomplete + s.dropped_bytes, 0, "%s", jbd2_last_error(jb));
	cr_assert(s.blocks > 10);

	/* The last event for each home block: a copy, or a revoke after it. */
	FILE *img = fopen(im.path, "r");
	uint8_t *b = malloc(bs);
	size_t checked = 0;
	cr_assert(img && b);
	for (size_t i = 0; i < r->n; i++) {
		const struct ev *e = &r->e[i];
		bool later = false;

		if (e->kind != 'B' || e->home == 0)
			continue;
		for (size_t k = i + 1; k < r->n && !later; k++)
			later = r->e[k].home == e->home && r->e[k].kind != 'C';
		if (later)
			continue;
		cr_assert_eq(fseeko(img, (off_t)(e->home * bs), SEEK_SET), 0);
		cr_assert_eq(fread(b, 1, bs, img), bs);
		cr_assert_eq(storm_crc32c(0, b, bs), e->crc, "block %llu differs from its last journalled copy",
			     (unsigned long long)e->home);
		checked++;
	}
	cr_assert(checked > 5);
	fclose(img);
	free(b);
	jbd2_del(jb);
	free(jbuf);
	free(r);
	image_remove(&im);
}

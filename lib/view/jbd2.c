/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The jbd2 journal interpreter (jbd2.h).  Every on-disk field is big-endian;
 * offsets and constants follow Documentation/filesystems/ext4/journal.rst and
 * the kernel's include/linux/jbd2.h.
 *
 * Written journal blocks are copied into a table keyed by journal index until
 * a commit block arrives.  The commit's transaction is then walked in log
 * order from its first block: revoke blocks, descriptor blocks each followed
 * by the blocks its tags name, up to the commit block.  The walk runs twice,
 * once to check that every block is there and well-formed (checksums
 * included), once to deliver, so a transaction is delivered whole or not at
 * all.  Its held copies are then dropped.
 */
#include "view/jbd2.h"

#include "util/bytes.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <storm/common.h>
#include <storm/iscsi.h> /* storm_crc32c */

/* journal.rst "Block Header": h_magic, h_blocktype, h_sequence. */
#define JBD2_MAGIC 0xC03B3998u
#define HDR_LEN 12
#define JT_DESCRIPTOR 1
#define JT_COMMIT 2
#define JT_SB_V1 3
#define JT_SB_V2 4
#define JT_REVOKE 5
#define JT_OTHER 255 /* the magic with a block type we do not know */

/* journal.rst "Super Block" (struct journal_superblock_s, 1024 bytes). */
#define SB_BLOCKSIZE 0x0C
#define SB_MAXLEN 0x10
#define SB_FIRST 0x14
#define SB_SEQUENCE 0x18
#define SB_START 0x1C
#define SB_INCOMPAT 0x28
#define SB_UUID 0x30
#define SB_CSUM_TYPE 0x50
#define SB_NUM_FC_BLKS 0x54
#define SB_CHECKSUM 0xFC
#define SB_LEN 1024

/* Incompatible features (journal.rst "jbd2_incompat"). */
#define F_REVOKE 0x1
#define F_64BIT 0x2
#define F_ASYNC_COMMIT 0x4
#define F_CSUM_V2 0x8
#define F_CSUM_V3 0x10
#define F_FAST_COMMIT 0x20
#define F_KNOWN (F_REVOKE | F_64BIT | F_ASYNC_COMMIT | F_CSUM_V2 | F_CSUM_V3 | F_FAST_COMMIT)

#define CSUM_TYPE_CRC32C 4
#define FC_BLKS_DEFAULT 256 /* JBD2_DEFAULT_FAST_COMMIT_BLOCKS */

/* Tag flags (journal.rst "jbd2_tag_flags"). */
#define TAG_ESCAPE 0x1
#define TAG_SAME_UUID 0x2
#define TAG_LAST 0x8

#define UUID_LEN 16
#define TAIL_LEN 4         /* struct jbd2_journal_block_tail / revoke_tail */
#define COMMIT_CHKSUM 0x10 /* commit_header.h_chksum[0] */
#define REVOKE_COUNT 0x0C  /* r_count, bytes used including the header */
#define REVOKE_HDR 16

#define NO_BLOCK UINT64_MAX
#define WALK_MISSING 1

static const char ERR_SB_MAGIC[] = "journal superblock: bad magic or block type";
static const char ERR_SB_BSIZE[] = "journal superblock: block size differs";
static const char ERR_SB_GEOM[] = "journal superblock: s_first/s_maxlen outside the journal";
static const char ERR_SB_FEAT[] = "journal superblock: unknown incompatible feature";
static const char ERR_SB_CSUMS[] = "journal superblock: checksum v2 and v3 both set";
static const char ERR_SB_CTYPE[] = "journal superblock: checksum type is not crc32c";
static const char ERR_SB_CSUM[] = "journal superblock: checksum mismatch";
static const char ERR_COMMIT_CSUM[] = "commit block: checksum mismatch";
static const char ERR_NOT_HDR[] = "transaction: a block is not a descriptor or revoke block";
static const char ERR_SEQ[] = "transaction: a block carries another sequence";
static const char ERR_LONG[] = "transaction: longer than the log";
static const char ERR_DESC_CSUM[] = "descriptor block: checksum mismatch";
static const char ERR_DESC_PAST[] = "descriptor block: names blocks past the commit block";
static const char ERR_DATA_MAGIC[] = "journalled block: starts with the journal magic (not escaped)";
static const char ERR_DATA_CSUM[] = "journalled block: tag checksum mismatch";
static const char ERR_REVOKE_COUNT[] = "revoke block: r_count past the block";
static const char ERR_REVOKE_CSUM[] = "revoke block: checksum mismatch";
static const char ERR_MISSING[] = "transaction: blocks missing at its commit";
static const char ERR_ASYNC[] = "transaction: blocks still missing when the next commit came";

/* A journal block held until its commit: the copy and what its header says. */
struct held {
	uint64_t jblock;
	struct held *chain;         /* hash bucket */
	struct held *older, *newer; /* arrival order, the oldest dropped first */
	uint32_t seq;
	uint8_t type; /* h_blocktype when it starts with the magic, else 0 */
	uint8_t data[];
};

/* The superblock fields the interpreter uses; the log is [first, last). */
struct jsb {
	uint32_t first, last, sequence, start, incompat;
	uint8_t uuid[UUID_LEN];
};

struct jbd2 {
	const struct jbd2_ops *ops;
	void *ctx;
	uint32_t bs;
	uint64_t nblocks;
	struct jsb sb;
	uint32_t seed;     /* crc32c of the uuid, where every block checksum starts */
	unsigned tag_len;  /* bytes of a tag before its optional uuid */
	unsigned tail_len; /* checksum tail of descriptor and revoke blocks */
	/* Where the next transaction starts, once known. */
	bool anchored;
	uint64_t next_block;
	uint32_t next_seq;
	/* The last commit seen, to ignore the same write repeated. */
	bool have_last;
	uint64_t last_block;
	uint32_t last_seq;
	/* A commit waiting for its blocks (ASYNC_COMMIT). */
	bool pending;
	uint64_t pend_block, pend_wait; /* pend_wait: the block it needs, or NO_BLOCK */
	uint32_t pend_seq;
	uint8_t *pend;
	/* Held copies. */
	struct held **bucket;
	size_t nbucket, nheld, held_bytes, mem_cap;
	struct held *oldest, *newest;
	uint8_t *scratch;
	struct jbd2_stats st;
	const char *err;
};

/* ---- checksums ---------------------------------------------------------- */

/* jbd2 checksums are crc32c without the final inversion (the kernel's
 * crc32c()); storm_crc32c() inverts before and after, hence the ~. */
static uint32_t jcsum(uint32_t seed, const uint8_t *p, size_t len)
{
	return ~storm_crc32c(~seed, p, len);
}

/* The same over @p len bytes whose 4 at @p hole count as zeros: the
 * checksum field itself. */
static uint32_t jcsum_hole(uint32_t seed, const uint8_t *p, size_t len, size_t hole)
{
	static const uint8_t zero[4];
	uint32_t c = storm_crc32c(~seed, p, hole);

	c = storm_crc32c(c, zero, sizeof(zero));
	return ~storm_crc32c(c, p + hole + 4, len - hole - 4);
}

static bool has_csum(const struct jbd2 *j)
{
	return j->sb.incompat & (F_CSUM_V2 | F_CSUM_V3);
}

/* A descriptor or revoke block: tail checksum of the block, tail zeroed. */
static bool tail_ok(const struct jbd2 *j, const uint8_t *b)
{
	size_t at = j->bs - TAIL_LEN;

	return !has_csum(j) || get_be32(b + at) == jcsum_hole(j->seed, b, j->bs, at);
}

static bool commit_ok(const struct jbd2 *j, const uint8_t *b)
{
	return !has_csum(j) ||
	       get_be32(b + COMMIT_CHKSUM) == jcsum_hole(j->seed, b, j->bs, COMMIT_CHKSUM);
}

/* A journalled block against its tag: crc32c(seed, be32 sequence, block),
 * all 32 bits with v3, the low 16 with v2. */
static bool data_ok(const struct jbd2 *j, uint32_t seq, const uint8_t *b, uint32_t want)
{
	uint8_t s[4];

	if (!has_csum(j))
		return true;
	put_be32(s, seq);
	uint32_t c = jcsum(jcsum(j->seed, s, sizeof(s)), b, j->bs);
	return (j->sb.incompat & F_CSUM_V3) ? c == want : (c & 0xffff) == want;
}

/* ---- the superblock ----------------------------------------------------- */

static int sb_features(const uint8_t *b, uint32_t incompat, const char **why)
{
	if (incompat & ~(uint32_t)F_KNOWN) {
		*why = ERR_SB_FEAT;
		return STORM_ERR_UNSUPPORTED;
	}
	if ((incompat & F_CSUM_V2) && (incompat & F_CSUM_V3)) {
		*why = ERR_SB_CSUMS;
		return -EINVAL;
	}
	if (!(incompat & (F_CSUM_V2 | F_CSUM_V3)))
		return 0;
	if (b[SB_CSUM_TYPE] != CSUM_TYPE_CRC32C) {
		*why = ERR_SB_CTYPE;
		return STORM_ERR_UNSUPPORTED;
	}
	if (get_be32(b + SB_CHECKSUM) != jcsum_hole(~0u, b, SB_LEN, SB_CHECKSUM)) {
		*why = ERR_SB_CSUM;
		return -EINVAL;
	}
	return 0;
}

/* The log is [s_first, s_maxlen), less the fast-commit area at its end. */
static int sb_geometry(const uint8_t *b, uint64_t nblocks, struct jsb *s, const char **why)
{
	uint32_t maxlen = get_be32(b + SB_MAXLEN);

	s->first = get_be32(b + SB_FIRST);
	s->last = maxlen;
	if (s->incompat & F_FAST_COMMIT) {
		uint32_t fc = get_be32(b + SB_NUM_FC_BLKS);

		fc = fc ? fc : FC_BLKS_DEFAULT;
		s->last = fc < maxlen ? maxlen - fc : 0;
	}
	if (s->first == 0 || s->first >= s->last || maxlen > nblocks) {
		*why = ERR_SB_GEOM;
		return -EINVAL;
	}
	return 0;
}

static int sb_parse(const uint8_t *b, uint32_t bs, uint64_t nblocks, struct jsb *s,
		    const char **why)
{
	uint32_t type = get_be32(b + 4);

	if (get_be32(b) != JBD2_MAGIC || (type != JT_SB_V1 && type != JT_SB_V2)) {
		*why = ERR_SB_MAGIC;
		return -EINVAL;
	}
	if (get_be32(b + SB_BLOCKSIZE) != bs) {
		*why = ERR_SB_BSIZE;
		return -EINVAL;
	}
	/* The feature words exist in a v2 superblock only. */
	s->incompat = type == JT_SB_V2 ? get_be32(b + SB_INCOMPAT) : 0;
	int rc = sb_features(b, s->incompat, why);
	if (rc)
		return rc;
	rc = sb_geometry(b, nblocks, s, why);
	if (rc)
		return rc;
	s->sequence = get_be32(b + SB_SEQUENCE);
	s->start = get_be32(b + SB_START);
	memcpy(s->uuid, b + SB_UUID, UUID_LEN);
	return 0;
}

/* Bytes of a tag before its uuid (the kernel's journal_tag_bytes()). */
static unsigned tag_len(uint32_t incompat)
{
	unsigned n = 8; /* t_blocknr, t_checksum (16), t_flags (16) */

	if (incompat & F_CSUM_V3)
		return 16; /* journal_block_tag3_t */
	if (incompat & F_64BIT)
		n += 4; /* t_blocknr_high */
	if (incompat & F_CSUM_V2)
		n += 2;
	return n;
}

static bool seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static bool in_log(const struct jbd2 *j, uint64_t p)
{
	return p >= j->sb.first && p < j->sb.last;
}

/* A superblock naming a log start newer than what we expect tells where the
 * next transaction goes (the kernel writes it before its first commit after
 * mounting); an older one only tells how far the checkpoint got. */
static void sb_apply(struct jbd2 *j, const struct jsb *s)
{
	j->sb = *s;
	j->seed = jcsum(~0u, s->uuid, UUID_LEN);
	j->tag_len = tag_len(s->incompat);
	j->tail_len = (s->incompat & (F_CSUM_V2 | F_CSUM_V3)) ? TAIL_LEN : 0;
	if (j->anchored && !in_log(j, j->next_block))
		j->anchored = false;
	if (s->start != 0 && in_log(j, s->start) &&
	    (!j->anchored || seq_after(s->sequence, j->next_seq))) {
		j->anchored = true;
		j->next_block = s->start;
		j->next_seq = s->sequence;
	}
}

/* ---- held copies -------------------------------------------------------- */

static size_t slot(const struct jbd2 *j, uint64_t jblock)
{
	return (size_t)((jblock * 0x9E3779B97F4A7C15ull) >> 32) & (j->nbucket - 1);
}

static struct held *held_find(const struct jbd2 *j, uint64_t jblock)
{
	struct held *h = j->bucket[slot(j, jblock)];

	while (h && h->jblock != jblock)
		h = h->chain;
	return h;
}

static void held_unlist(struct jbd2 *j, struct held *h)
{
	if (h->older)
		h->older->newer = h->newer;
	else
		j->oldest = h->newer;
	if (h->newer)
		h->newer->older = h->older;
	else
		j->newest = h->older;
	h->older = h->newer = NULL;
}

static void held_list(struct jbd2 *j, struct held *h)
{
	h->older = j->newest;
	h->newer = NULL;
	if (j->newest)
		j->newest->newer = h;
	else
		j->oldest = h;
	j->newest = h;
}

static void held_free(struct jbd2 *j, struct held *h)
{
	struct held **pp = &j->bucket[slot(j, h->jblock)];

	while (*pp != h)
		pp = &(*pp)->chain;
	*pp = h->chain;
	held_unlist(j, h);
	j->nheld--;
	j->held_bytes -= j->bs;
	free(h);
}

static void held_drop_at(struct jbd2 *j, uint64_t jblock)
{
	struct held *h = held_find(j, jblock);

	if (h)
		held_free(j, h);
}

/* Doubles the buckets when they are full; on failure keeps longer chains. */
static void held_grow(struct jbd2 *j)
{
	size_t n = j->nbucket * 2;
	struct held **nb;

	if (j->nheld < j->nbucket || n > SIZE_MAX / sizeof(*nb) || !(nb = calloc(n, sizeof(*nb))))
		return;
	struct held **old = j->bucket;
	size_t oldn = j->nbucket;

	j->bucket = nb;
	j->nbucket = n;
	for (size_t i = 0; i < oldn; i++) {
		for (struct held *h = old[i], *next; h; h = next) {
			next = h->chain;
			h->chain = nb[slot(j, h->jblock)];
			nb[slot(j, h->jblock)] = h;
		}
	}
	free(old);
}

static uint8_t hdr_type(const uint8_t *b)
{
	uint32_t t = get_be32(b + 4);

	if (get_be32(b) != JBD2_MAGIC)
		return 0;
	return t >= 1 && t <= JT_REVOKE ? (uint8_t)t : JT_OTHER;
}

static void held_fill(struct jbd2 *j, struct held *h, const uint8_t *data)
{
	memcpy(h->data, data, j->bs);
	h->type = hdr_type(data);
	h->seq = get_be32(data + 8);
}

/* Keeps a copy of @p data as block @p jblock, replacing an older copy and
 * dropping the oldest ones to stay within mem_cap.  NULL when not kept. */
static struct held *held_put(struct jbd2 *j, uint64_t jblock, const uint8_t *data)
{
	struct held *h = held_find(j, jblock);

	if (h) {
		held_unlist(j, h); /* a rewrite counts as new */
		held_list(j, h);
	} else {
		while (j->oldest && j->mem_cap - j->held_bytes < j->bs) {
			j->st.dropped_bytes += j->bs;
			held_free(j, j->oldest);
		}
		if (j->mem_cap - j->held_bytes < j->bs || !(h = calloc(1, sizeof(*h) + j->bs))) {
			j->st.dropped_bytes += j->bs;
			return NULL;
		}
		h->jblock = jblock;
		h->chain = j->bucket[slot(j, jblock)];
		j->bucket[slot(j, jblock)] = h;
		held_list(j, h);
		j->nheld++;
		j->held_bytes += j->bs;
		held_grow(j);
	}
	held_fill(j, h, data);
	return h;
}

/* ---- the log ------------------------------------------------------------ */

/* After block last-1 comes s_first (journal.rst "Layout"). */
static uint64_t log_next(const struct jbd2 *j, uint64_t p)
{
	return p + 1 >= j->sb.last ? j->sb.first : p + 1;
}

/* Steps from @p a forward to @p b, both in the log. */
static uint64_t log_dist(const struct jbd2 *j, uint64_t a, uint64_t b)
{
	return b >= a ? b - a : (j->sb.last - a) + (b - j->sb.first);
}

/* Drops the held copies from @p a to @p b (both in the log) in log order. */
static void drop_range(struct jbd2 *j, uint64_t a, uint64_t b)
{
	uint64_t d = log_dist(j, a, b);

	if (d < j->nheld) {
		for (uint64_t p = a, i = 0; i <= d; i++, p = log_next(j, p))
			held_drop_at(j, p);
		return;
	}
	for (struct held *h = j->oldest, *next; h; h = next) {
		next = h->newer;
		if (in_log(j, h->jblock) && log_dist(j, a, h->jblock) <= d)
			held_free(j, h);
	}
}

/* ---- walking a transaction ---------------------------------------------- */

struct tag {
	uint64_t home;
	uint32_t flags;
	uint32_t csum;
};

/* Reads the tag at @p *off of descriptor @p b and steps past it and its uuid.
 * False when the next tag would run into the checksum tail or off the block,
 * or after a LAST_TAG (journal.rst "Descriptor Block"). */
static bool tag_next(const struct jbd2 *j, const uint8_t *b, size_t *off, struct tag *t)
{
	size_t end = j->bs - j->tail_len;

	if (*off > end || end - *off < j->tag_len)
		return false;
	const uint8_t *p = b + *off;
	t->home = get_be32(p);
	if (j->sb.incompat & F_CSUM_V3) {
		t->flags = get_be32(p + 4);
		t->csum = get_be32(p + 12);
	} else {
		t->csum = get_be16(p + 4);
		t->flags = get_be16(p + 6);
	}
	if (j->sb.incompat & F_64BIT)
		t->home |= (uint64_t)get_be32(p + 8) << 32;
	*off += j->tag_len + ((t->flags & TAG_SAME_UUID) ? 0 : UUID_LEN);
	if (t->flags & TAG_LAST)
		*off = SIZE_MAX;
	return true;
}

struct walk {
	uint32_t seq;
	uint64_t commit;  /* where its commit block is */
	bool deliver;     /* false: check only */
	uint64_t missing; /* the first block not held, after WALK_MISSING */
	uint64_t steps;
};

static int walk_fail(struct jbd2 *j, const char *why)
{
	j->err = why;
	return -EUCLEAN;
}

static int walk_missing(struct walk *w, uint64_t p)
{
	w->missing = p;
	return WALK_MISSING;
}

/* One journalled block at @p q, named by tag @p t. */
static int walk_data(struct jbd2 *j, struct walk *w, uint64_t q, const struct tag *t)
{
	const struct held *h = held_find(j, q);

	if (!h)
		return w->deliver ? walk_fail(j, ERR_MISSING) : walk_missing(w, q);
	if (!w->deliver) {
		if (h->type)
			return walk_fail(j, ERR_DATA_MAGIC);
		return data_ok(j, w->seq, h->data, t->csum) ? 0 : walk_fail(j, ERR_DATA_CSUM);
	}
	const uint8_t *data = h->data;
	if (t->flags & TAG_ESCAPE) {
		memcpy(j->scratch, h->data, j->bs);
		put_be32(j->scratch, JBD2_MAGIC);
		data = j->scratch;
	}
	j->st.blocks++;
	return j->ops->block ? j->ops->block(j->ctx, w->seq, t->home, data) : 0;
}

/* A descriptor block at @p *p and the blocks its tags name; @p *p ends on
 * the block after them. */
static int walk_descriptor(struct jbd2 *j, struct walk *w, const struct held *d, uint64_t *p)
{
	uint64_t q = *p;
	size_t off = HDR_LEN;
	struct tag t;

	if (!w->deliver && !tail_ok(j, d->data))
		return walk_fail(j, ERR_DESC_CSUM);
	while (tag_next(j, d->data, &off, &t)) {
		q = log_next(j, q);
		if (q == w->commit || ++w->steps > j->sb.last - j->sb.first)
			return walk_fail(j, ERR_DESC_PAST);
		int rc = walk_data(j, w, q, &t);
		if (rc)
			return rc;
	}
	*p = log_next(j, q);
	return 0;
}

/* A revoke block: r_count bytes of header and 4- or 8-byte block numbers
 * (journal.rst "Revocation Block"). */
static int walk_revoke(struct jbd2 *j, struct walk *w, const struct held *r)
{
	uint32_t used = get_be32(r->data + REVOKE_COUNT);
	size_t rec = (j->sb.incompat & F_64BIT) ? 8 : 4;

	if (!w->deliver) {
		if (used > j->bs - j->tail_len)
			return walk_fail(j, ERR_REVOKE_COUNT);
		return tail_ok(j, r->data) ? 0 : walk_fail(j, ERR_REVOKE_CSUM);
	}
	for (size_t off = REVOKE_HDR; off + rec <= used; off += rec) {
		const uint8_t *p = r->data + off;
		uint64_t home = rec == 8 ? get_be64(p) : get_be32(p);

		j->st.revokes++;
		int rc = j->ops->revoke ? j->ops->revoke(j->ctx, w->seq, home) : 0;
		if (rc)
			return rc;
	}
	return 0;
}

/* Walks from @p start up to the commit block.  Checking: 0, WALK_MISSING or
 * -EUCLEAN.  Delivering: 0 or a callback's return. */
static int walk_txn(struct jbd2 *j, struct walk *w, uint64_t start)
{
	uint64_t p = start;

	w->steps = 0;
	while (p != w->commit) {
		const struct held *h = held_find(j, p);
		int rc;

		if (++w->steps > j->sb.last - j->sb.first)
			return walk_fail(j, ERR_LONG);
		if (!h)
			return w->deliver ? walk_fail(j, ERR_MISSING) : walk_missing(w, p);
		if (h->type != JT_DESCRIPTOR && h->type != JT_REVOKE)
			return walk_fail(j, ERR_NOT_HDR);
		if (h->seq != w->seq)
			return walk_fail(j, ERR_SEQ);
		if (h->type == JT_REVOKE) {
			rc = walk_revoke(j, w, h);
			p = log_next(j, p);
		} else {
			rc = walk_descriptor(j, w, h, &p);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- commits ------------------------------------------------------------ */

/* The earliest held descriptor or revoke block of @p seq before @p commit. */
static bool find_start(const struct jbd2 *j, uint32_t seq, uint64_t commit, uint64_t *start)
{
	uint64_t best = 0;
	bool found = false;

	for (const struct held *h = j->oldest; h; h = h->newer) {
		if ((h->type != JT_DESCRIPTOR && h->type != JT_REVOKE) || h->seq != seq ||
		    !in_log(j, h->jblock))
			continue;
		uint64_t d = log_dist(j, h->jblock, commit);
		if (!found || d > best) {
			best = d;
			*start = h->jblock;
			found = true;
		}
	}
	return found;
}

/* Where the transaction of @p seq starts: after the previous commit when that
 * one was seq - 1, else its earliest block held. */
static bool txn_start(const struct jbd2 *j, uint32_t seq, uint64_t commit, uint64_t *start)
{
	if (j->anchored && j->next_seq == seq) {
		*start = j->next_block;
		return true;
	}
	return find_start(j, seq, commit, start);
}

/* The transaction is over (applied, incomplete or malformed): the next one
 * starts after its commit block, and its held copies are of no more use. */
static void txn_done(struct jbd2 *j, bool have_start, uint64_t start, uint64_t commit,
		     uint32_t seq)
{
	if (have_start)
		drop_range(j, start, commit);
	j->anchored = true;
	j->next_block = log_next(j, commit);
	j->next_seq = seq + 1;
	j->have_last = true;
	j->last_block = commit;
	j->last_seq = seq;
	j->pending = false;
}

static void pend_set(struct jbd2 *j, uint64_t commit, const uint8_t *b, uint32_t seq,
		     uint64_t wait)
{
	if (b != j->pend)
		memcpy(j->pend, b, j->bs);
	j->pending = true;
	j->pend_block = commit;
	j->pend_seq = seq;
	j->pend_wait = wait;
}

static void pend_give_up(struct jbd2 *j)
{
	uint64_t start = 0;
	bool have = txn_start(j, j->pend_seq, j->pend_block, &start);

	j->st.incomplete++;
	j->err = ERR_ASYNC;
	txn_done(j, have, start, j->pend_block, j->pend_seq);
}

static int txn_deliver(struct jbd2 *j, struct walk *w, uint64_t start)
{
	w->deliver = true;
	int rc = walk_txn(j, w, start);
	if (rc)
		return rc;
	j->st.committed++;
	return j->ops->commit ? j->ops->commit(j->ctx, w->seq) : 0;
}

/* Applies the transaction of commit block @p b (at @p commit) if it is all
 * there; with ASYNC_COMMIT waits for the blocks still missing. */
static int txn_try(struct jbd2 *j, uint64_t commit, const uint8_t *b)
{
	struct walk w = { .seq = get_be32(b + 8), .commit = commit, .missing = NO_BLOCK };
	uint64_t start = 0;
	bool have = in_log(j, commit) && txn_start(j, w.seq, commit, &start);
	int rc = have ? walk_txn(j, &w, start) : WALK_MISSING;

	if (rc == WALK_MISSING && (j->sb.incompat & F_ASYNC_COMMIT) && in_log(j, commit)) {
		pend_set(j, commit, b, w.seq, w.missing);
		return 0;
	}
	if (rc == WALK_MISSING) {
		j->st.incomplete++;
		j->err = ERR_MISSING;
		rc = 0;
	} else if (rc < 0) {
		j->st.malformed++;
	} else {
		rc = txn_deliver(j, &w, start);
	}
	txn_done(j, have, start, commit, w.seq);
	return rc;
}

static int on_commit(struct jbd2 *j, uint64_t jblock, const uint8_t *b)
{
	uint32_t seq = get_be32(b + 8);

	held_drop_at(j, jblock);
	if (!commit_ok(j, b)) {
		j->st.malformed++;
		j->err = ERR_COMMIT_CSUM;
		return -EUCLEAN;
	}
	if (j->have_last && j->last_block == jblock && j->last_seq == seq)
		return 0; /* the same commit written again */
	if (j->pending) {
		if (j->pend_block == jblock && j->pend_seq == seq)
			return 0;
		pend_give_up(j);
	}
	return txn_try(j, jblock, b);
}

/* A block other than a commit: held; it may be the one a pending commit
 * waits for. */
static int on_block(struct jbd2 *j, uint64_t jblock, const uint8_t *b)
{
	if (j->pending && jblock == j->pend_block)
		pend_give_up(j);
	const struct held *h = held_put(j, jblock, b);
	if (!h || !j->pending)
		return 0;
	bool starts = j->pend_wait == NO_BLOCK && h->seq == j->pend_seq &&
		      (h->type == JT_DESCRIPTOR || h->type == JT_REVOKE);
	if (jblock != j->pend_wait && !starts)
		return 0;
	return txn_try(j, j->pend_block, j->pend);
}

static int on_superblock(struct jbd2 *j, const uint8_t *b)
{
	struct jsb s;
	const char *why = "";
	int rc = sb_parse(b, j->bs, j->nblocks, &s, &why);

	if (rc) {
		j->st.malformed++;
		j->err = why;
		return rc == -EINVAL ? -EUCLEAN : rc;
	}
	sb_apply(j, &s);
	if (j->pending && !in_log(j, j->pend_block)) {
		j->pending = false;
		j->st.incomplete++;
		j->err = ERR_ASYNC;
	}
	return 0;
}

/* ---- the interface ------------------------------------------------------ */

int jbd2_new(struct jbd2 **out, const uint8_t *sb, uint32_t block_size, uint64_t nblocks,
	     size_t mem_cap, const struct jbd2_ops *ops, void *ctx)
{
	struct jsb s;
	const char *why;

	if (!out || !sb || !ops || block_size < SB_LEN || block_size > 65536 ||
	    (block_size & (block_size - 1)) || nblocks == 0)
		return -EINVAL;
	*out = NULL;
	int rc = sb_parse(sb, block_size, nblocks, &s, &why);
	if (rc)
		return rc;
	struct jbd2 *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->ops = ops;
	j->ctx = ctx;
	j->bs = block_size;
	j->nblocks = nblocks;
	j->mem_cap = mem_cap;
	j->err = "";
	j->nbucket = 64;
	j->bucket = calloc(j->nbucket, sizeof(*j->bucket));
	j->scratch = malloc(block_size);
	j->pend = malloc(block_size);
	if (!j->bucket || !j->scratch || !j->pend) {
		jbd2_del(j);
		return -ENOMEM;
	}
	sb_apply(j, &s);
	*out = j;
	return 0;
}

int jbd2_write(struct jbd2 *j, uint64_t jblock, const uint8_t *data)
{
	if (!j || !data || jblock >= j->nblocks)
		return -EINVAL;
	if (jblock == 0)
		return on_superblock(j, data);
	if (!in_log(j, jblock))
		return 0; /* the fast-commit area, or before s_first */
	if (hdr_type(data) == JT_COMMIT)
		return on_commit(j, jblock, data);
	return on_block(j, jblock, data);
}

void jbd2_stats(const struct jbd2 *j, struct jbd2_stats *out)
{
	if (j)
		*out = j->st;
	else
		memset(out, 0, sizeof(*out));
}

const char *jbd2_last_error(const struct jbd2 *j)
{
	return j ? j->err : "";
}

void jbd2_del(struct jbd2 *j)
{
	if (!j)
		return;
	while (j->oldest) {
		struct held *h = j->oldest;

		j->oldest = h->newer;
		free(h);
	}
	free(j->bucket);
	free(j->scratch);
	free(j->pend);
	free(j);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Block bitmaps (blockgroup.rst): bit i of group g's bitmap block is block
 * first_data_block + g * blocks_per_group + i, set when the block is in use.
 * A committed transaction's bitmap agrees with its inodes, so it corrects
 * what the view could not see: a block freed under a file whose inode change
 * was missed becomes free; a block allocated before the inode that owns it
 * is seen becomes unknown rather than free.  Only the bitmap as written is
 * read, not its earlier content (which, for a group never initialised, may
 * be anything).  Group metadata and the journal are never changed here.
 */
#include "view/track_int.h"

#include <errno.h>

/* Kinds a bitmap may take away: what belongs to an inode's map. */
static bool freeable(unsigned kind)
{
	return kind == STORM_OWNER_FILE_DATA || kind == STORM_OWNER_DIR_DATA ||
	       kind == STORM_OWNER_EXTENT_TREE || kind == STORM_OWNER_INDIRECT ||
	       kind == STORM_OWNER_XATTR;
}

struct span {
	uint64_t start, len;
	bool now_free; /* set to FREE, else to unknown */
};

struct bm {
	struct track *t;
	const uint8_t *bits;
	uint64_t first; /* block of bit 0 */
	struct span s[64];
	size_t n;
	bool more;
};

static bool used(const struct bm *b, uint64_t block)
{
	uint64_t i = block - b->first;

	return b->bits[i / 8] >> (i % 8) & 1;
}

static bool push(struct bm *b, uint64_t start, uint64_t len, bool now_free)
{
	if (b->n && b->s[b->n - 1].now_free == now_free &&
	    b->s[b->n - 1].start + b->s[b->n - 1].len == start) {
		b->s[b->n - 1].len += len;
		return true;
	}
	if (b->n == sizeof(b->s) / sizeof(b->s[0]))
		return false;
	b->s[b->n++] = (struct span){ start, len, now_free };
	return true;
}

/* Spans of run @p r whose bit disagrees with its owner. */
static int visit_run(void *ctx, const struct xt_run *r)
{
	struct bm *b = ctx;
	bool owned = freeable(r->kind);

	if (!owned && r->kind != STORM_OWNER_FREE)
		return 0;
	for (uint64_t blk = r->start; blk < r->start + r->len; blk++) {
		if (used(b, blk) == owned)
			continue;
		if (!push(b, blk, 1, owned)) {
			b->more = true;
			return 1;
		}
	}
	return 0;
}

int bitmap_apply(struct track *t, const struct tx_block *x)
{
	uint64_t first = t->first_data_block + (uint64_t)x->was.group * t->blocks_per_group;
	uint64_t count = t->v->block_count;
	struct bm b = { .t = t, .bits = x->after, .first = first };

	if (first >= count)
		return 0;
	uint64_t len = count - first < t->blocks_per_group ? count - first : t->blocks_per_group;
	uint64_t at = first;

	do {
		b.n = 0;
		b.more = false;
		xt_visit(&t->v->xt, at, len - (at - first), visit_run, &b);
		for (size_t i = 0; i < b.n; i++) {
			const struct span *s = &b.s[i];
			int rc = xt_assign(&t->v->xt, s->start, s->len,
					   s->now_free ? STORM_OWNER_FREE : STORM_OWNER_UNKNOWN, 0, 0, 0);

			if (rc)
				return rc;
			t->st.bitmap_blocks += s->len;
		}
		/* Resume after the last span fixed: the runs before it agree now. */
		if (b.more)
			at = b.s[b.n - 1].start + b.s[b.n - 1].len;
	} while (b.more);
	return 0;
}

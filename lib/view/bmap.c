/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An inode's block map read from the wire's view of the volume: the extent
 * tree rooted in i_block (ifork.rst: 12-byte header with magic 0xF30A, index
 * and leaf entries of 12 bytes) or the classic direct/indirect map.  Every
 * count and block number is checked against the block and the volume; a tree
 * that fails a check stops the walk with -EUCLEAN.
 */
#include "view/track_int.h"
#include "util/bytes.h"

#include <errno.h>
#include <stdlib.h>

#define EXT4_EXTENTS_FL 0x80000u
#define EXT4_INLINE_DATA_FL 0x10000000u
#define EXT_MAGIC 0xF30Au
#define EXT_MAX_DEPTH 5
#define WALK_MAX_NODES (1u << 16) /* 256 GiB of 4 KiB indirect blocks */
#define UNINIT_LEN 32768u

struct walk {
	struct track *t;
	bool old;
	bmap_cb cb;
	void *ctx;
	unsigned nodes;
	uint64_t taken; /* blocks of the map seen: data and tree nodes */
	/* the data run being grown (indirect maps come block by block) */
	uint64_t lblk, pblk, len;
};

bool bmap_has_blocks(const struct ino_info *in)
{
	unsigned type = in->mode & 0xF000;

	if (in->flags & EXT4_INLINE_DATA_FL)
		return false;
	if (type == 0xA000) /* symlink: fast ones keep the target in i_block */
		return (in->flags & EXT4_EXTENTS_FL) || in->size >= sizeof(in->iblock);
	return type == 0x8000 || type == 0x4000;
}

static bool in_volume(const struct walk *w, uint64_t pblk, uint64_t len)
{
	uint64_t n = w->t->v->block_count;

	return pblk && pblk < n && len <= n - pblk;
}

/* Counts @p n more blocks of the map.  A sound file system gives each block
 * one owner, so a map of more blocks than the volume holds is corrupt: one
 * that names the same blocks over and over (tree nodes or indirect blocks
 * pointing at themselves) would otherwise cost time and memory without
 * bound but WALK_MAX_NODES. */
static bool take(struct walk *w, uint64_t n)
{
	if (n > w->t->v->block_count - w->taken)
		return false;
	w->taken += n;
	return true;
}

static int flush_run(struct walk *w)
{
	int rc = 0;

	if (w->len)
		rc = w->cb(w->ctx, w->lblk, w->pblk, w->len, false);
	w->len = 0;
	return rc;
}

/* Grows the pending data run or reports it and starts another. */
static int data_run(struct walk *w, uint64_t lblk, uint64_t pblk, uint64_t len)
{
	if (!take(w, len))
		return -EUCLEAN;
	if (w->len && w->lblk + w->len == lblk && w->pblk + w->len == pblk) {
		w->len += len;
		return 0;
	}
	int rc = flush_run(w);

	w->lblk = lblk;
	w->pblk = pblk;
	w->len = len;
	return rc;
}

static int ext_node(struct walk *w, const uint8_t *node, size_t size, int depth);

static int ext_child(struct walk *w, uint64_t pblk, int depth)
{
	uint32_t bs = w->t->bs;
	uint8_t *buf;
	int rc;

	if (!in_volume(w, pblk, 1) || ++w->nodes > WALK_MAX_NODES || !take(w, 1))
		return -EUCLEAN;
	rc = w->cb(w->ctx, 0, pblk, 1, true);
	if (rc)
		return rc;
	buf = malloc(bs);
	if (!buf)
		return -ENOMEM;
	const uint8_t *node = tk_block(w->t, pblk, w->old, buf);

	rc = node ? ext_node(w, node, bs, depth) : -EIO;
	free(buf);
	return rc;
}

static int ext_node(struct walk *w, const uint8_t *node, size_t size, int depth)
{
	unsigned entries = get_le16(node + 2), max = get_le16(node + 4);

	if (get_le16(node) != EXT_MAGIC || get_le16(node + 6) != depth || entries > max ||
	    max > (size - 12) / 12)
		return -EUCLEAN;
	for (unsigned i = 0; i < entries; i++) {
		const uint8_t *e = node + 12 + 12 * i;
		int rc;

		if (depth > 0) {
			uint64_t leaf = get_le32(e + 4) | (uint64_t)get_le16(e + 8) << 32;

			rc = ext_child(w, leaf, depth - 1);
		} else {
			uint32_t len = get_le16(e + 4);
			uint64_t start = get_le32(e + 8) | (uint64_t)get_le16(e + 6) << 32;

			if (len > UNINIT_LEN)
				len -= UNINIT_LEN;
			if (!len)
				continue;
			if (!in_volume(w, start, len))
				return -EUCLEAN;
			rc = data_run(w, get_le32(e), start, len);
		}
		if (rc)
			return rc;
	}
	return 0;
}

static int ext_walk(struct walk *w, const struct ino_info *in)
{
	int depth = get_le16(in->iblock + 6);

	if (depth > EXT_MAX_DEPTH)
		return -EUCLEAN;
	return ext_node(w, in->iblock, sizeof(in->iblock), depth);
}

/* An indirect block of @p level (1 single, 2 double, 3 triple) mapping
 * logical blocks from *lblk on. */
static int ind_block(struct walk *w, uint64_t pblk, int level, uint64_t *lblk)
{
	uint32_t per = w->t->bs / 4;
	uint64_t span = 1;
	int rc;

	for (int i = 1; i < level; i++)
		span *= per;
	if (!pblk) {
		*lblk += span * per;
		return 0;
	}
	if (!in_volume(w, pblk, 1) || ++w->nodes > WALK_MAX_NODES || !take(w, 1))
		return -EUCLEAN;
	rc = w->cb(w->ctx, 0, pblk, 1, true);
	if (rc)
		return rc;
	uint8_t *buf = malloc(w->t->bs);

	if (!buf)
		return -ENOMEM;
	const uint8_t *b = tk_block(w->t, pblk, w->old, buf);

	rc = b ? 0 : -EIO;
	for (uint32_t i = 0; !rc && i < per; i++) {
		uint64_t child = get_le32(b + 4 * i);

		if (level > 1) {
			rc = ind_block(w, child, level - 1, lblk);
		} else {
			if (child && !in_volume(w, child, 1))
				rc = -EUCLEAN;
			else if (child)
				rc = data_run(w, *lblk, child, 1);
			++*lblk;
		}
	}
	free(buf);
	return rc;
}

static int ind_walk(struct walk *w, const struct ino_info *in)
{
	uint64_t lblk = 0;
	int rc = 0;

	for (int i = 0; !rc && i < 12; i++, lblk++) {
		uint64_t p = get_le32(in->iblock + 4 * i);

		if (p && !in_volume(w, p, 1))
			return -EUCLEAN;
		if (p)
			rc = data_run(w, lblk, p, 1);
	}
	for (int level = 1; !rc && level <= 3; level++)
		rc = ind_block(w, get_le32(in->iblock + 4 * (11 + level)), level, &lblk);
	return rc;
}

int bmap_walk(struct track *t, const struct ino_info *in, bool old, bmap_cb cb, void *ctx)
{
	struct walk w = { .t = t, .old = old, .cb = cb, .ctx = ctx };
	int rc;

	if (!bmap_has_blocks(in))
		return 0;
	rc = (in->flags & EXT4_EXTENTS_FL) ? ext_walk(&w, in) : ind_walk(&w, in);
	if (!rc)
		rc = flush_run(&w);
	return rc;
}

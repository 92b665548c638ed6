/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The overlay: the last written content of each metadata block, so that the
 * next change to it can be compared with what the file system already holds
 * rather than with the volume as it was.  Bounded by ov_cap bytes; past it
 * the block written longest ago is forgotten (and read through the source
 * again, which may be stale: counted as missed).
 */
#include "view/track_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const uint8_t *ov_get(const struct track *t, uint64_t block)
{
	struct ov_block *b = NULL;

	HASH_FIND(hh, t->ov, &block, sizeof(block), b);
	return b ? b->data : NULL;
}

static void ov_unlist(struct track *t, struct ov_block *b)
{
	if (b->older)
		b->older->newer = b->newer;
	else
		t->ov_old = b->newer;
	if (b->newer)
		b->newer->older = b->older;
	else
		t->ov_new = b->older;
	b->older = b->newer = NULL;
}

static void ov_list(struct track *t, struct ov_block *b)
{
	b->older = t->ov_new;
	b->newer = NULL;
	if (t->ov_new)
		t->ov_new->newer = b;
	else
		t->ov_old = b;
	t->ov_new = b;
}

static void ov_remove(struct track *t, struct ov_block *b)
{
	HASH_DELETE(hh, t->ov, b);
	ov_unlist(t, b);
	t->ov_bytes -= sizeof(*b) + t->bs;
	free(b);
}

int ov_put(struct track *t, uint64_t block, const uint8_t *data)
{
	struct ov_block *b = NULL;

	it_forget(t, block, 1);
	HASH_FIND(hh, t->ov, &block, sizeof(block), b);
	if (b) {
		memcpy(b->data, data, t->bs);
		ov_unlist(t, b);
		ov_list(t, b);
		return 0;
	}
	while (t->ov_old && t->ov_bytes + sizeof(*b) + t->bs > t->ov_cap) {
		ov_remove(t, t->ov_old);
		t->st.missed++;
	}
	b = malloc(sizeof(*b) + t->bs);
	if (!b)
		return -ENOMEM;
	b->block = block;
	memcpy(b->data, data, t->bs);
	HASH_ADD(hh, t->ov, block, sizeof(b->block), b);
	ov_list(t, b);
	t->ov_bytes += sizeof(*b) + t->bs;
	return 0;
}

void ov_drop(struct track *t, uint64_t block)
{
	struct ov_block *b = NULL;

	it_forget(t, block, 1);
	HASH_FIND(hh, t->ov, &block, sizeof(block), b);
	if (b)
		ov_remove(t, b);
}

void ov_free(struct track *t)
{
	while (t->ov_old)
		ov_remove(t, t->ov_old);
}

const uint8_t *tk_source(struct track *t, uint64_t block, uint8_t *buf)
{
	t->st.source_reads++;
	if (t->read(t->rctx, block * t->bs, buf, t->bs))
		return NULL;
	return buf;
}

/* tk_block() and tk_itable_block(): the transaction's earlier content, the
 * overlay, then the source (through the inode-table cache for @p itable). */
static const uint8_t *block_of(struct track *t, uint64_t block, bool old, uint8_t *buf, bool itable)
{
	const uint8_t *p;

	if (block >= t->v->block_count)
		return NULL;
	if (old) {
		struct tx_block *x = NULL;

		HASH_FIND(hh, t->tx.by_block, &block, sizeof(block), x);
		if (x)
			return x->had_before ? x->before : NULL;
	}
	p = ov_get(t, block);
	if (p)
		return p;
	return itable ? it_read(t, block, buf) : tk_source(t, block, buf);
}

const uint8_t *tk_block(struct track *t, uint64_t block, bool old, uint8_t *buf)
{
	return block_of(t, block, old, buf, false);
}

const uint8_t *tk_itable_block(struct track *t, uint64_t block, bool old, uint8_t *buf)
{
	return block_of(t, block, old, buf, true);
}

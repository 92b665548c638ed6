/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Applying a transaction: a set of metadata blocks that changed together (a
 * committed jbd2 transaction, or one in-place write).  Each block's content
 * before and after is kept; inode slots that differ are compared, the block
 * maps of changed inodes re-walked (old blocks freed, new ones claimed),
 * directory blocks compared name by name, and the differences reported as
 * file operations (emit.c).
 */
#include "view/track_int.h"
#include "util/grow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int tx_add(struct track *t, uint64_t block, const uint8_t *data)
{
	struct txn *tx = &t->tx;
	struct tx_block *x = NULL;

	HASH_FIND(hh, tx->by_block, &block, sizeof(block), x);
	if (x) {
		memcpy(x->after, data, t->bs);
		return 0;
	}
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->before = malloc(t->bs);
	x->after = malloc(t->bs);
	if (!x->before || !x->after) {
		free(x->before);
		free(x->after);
		free(x);
		return -ENOMEM;
	}
	x->block = block;
	memcpy(x->after, data, t->bs);
	storm_view_lookup(t->v, block, &x->was);
	const uint8_t *cur = tk_block(t, block, false, x->before);

	x->had_before = cur != NULL;
	if (cur && cur != x->before)
		memcpy(x->before, cur, t->bs);
	HASH_ADD(hh, tx->by_block, block, sizeof(x->block), x);
	if (tx->last)
		tx->last->next = x;
	else
		tx->first = x;
	tx->last = x;
	tx->nblocks++;
	return 0;
}

void tx_reset(struct track *t)
{
	struct txn *tx = &t->tx;
	struct tx_block *x, *next;

	HASH_CLEAR(hh, tx->by_block);
	for (x = tx->first; x; x = next) {
		next = x->next;
		free(x->before);
		free(x->after);
		free(x);
	}
	tx->first = tx->last = NULL;
	tx->nblocks = 0;
	tx_changes_reset(tx);
	tx->ncl = 0;
	tx->removed.n = tx->added.n = 0;
}

/* Whether the inode was a live, named file before this transaction. */
static bool was_used(struct track *t, uint32_t ino, const struct ino_info *old)
{
	if (!ino_in_use(old))
		return false;
	return ino == t->v->root_ino || ino < t->first_ino || pm_find(&t->v->pm, ino);
}

static void change_classify(struct track *t, struct ino_change *c)
{
	c->old_used = was_used(t, c->ino, &c->old);
	c->new_used = ino_in_use(&c->cur);
	c->reborn = c->old_used && c->new_used && c->old.generation != c->cur.generation;
	if (c->old_used != c->new_used || ino_in_use(&c->old) != c->new_used || c->reborn ||
	    c->old.flags != c->cur.flags ||
	    memcmp(c->old.iblock, c->cur.iblock, sizeof(c->old.iblock)))
		c->remap = true;
	/* Reserved inodes (journal, resize, …) keep the map the build gave them. */
	if (c->ino < t->first_ino && c->ino != t->v->root_ino)
		c->remap = false;
}

/* Every inode slot of an inode-table block whose bytes changed. */
static int inode_slots(struct track *t, const struct tx_block *x)
{
	uint32_t per = t->bs / t->inode_size;

	for (uint32_t i = 0; i < per; i++) {
		uint32_t ino = x->was.ino + i;
		size_t off = (size_t)i * t->inode_size;

		if (!x->was.ino || ino > t->inodes_count)
			break;
		if (x->had_before && !memcmp(x->before + off, x->after + off, t->inode_size))
			continue;
		struct ino_change *c = tx_change_add(&t->tx, ino);

		if (!c)
			return -ENOMEM;
		if (x->had_before)
			ino_parse(x->before + off, t->inode_size, &c->old);
		ino_parse(x->after + off, t->inode_size, &c->cur);
		t->st.inodes_changed++;
	}
	return 0;
}

/* A changed extent-tree or indirect block: its inode's map is re-walked. */
static int tree_block(struct track *t, const struct tx_block *x)
{
	struct ino_change *c = tx_change(&t->tx, x->was.ino);
	struct ino_info old, cur;

	if (c) {
		c->remap = true;
		return 0;
	}
	if (ino_read(t, x->was.ino, true, &old) || ino_read(t, x->was.ino, false, &cur)) {
		t->st.malformed++;
		return 0;
	}
	c = tx_change_add(&t->tx, x->was.ino);
	if (!c)
		return -ENOMEM;
	c->old = old;
	c->cur = cur;
	c->remap = true;
	return 0;
}

static int collect_changes(struct track *t)
{
	int rc = 0;

	for (struct tx_block *x = t->tx.first; x && !rc; x = x->next) {
		if (x->was.kind == STORM_OWNER_INODE_TABLE)
			rc = inode_slots(t, x);
	}
	for (struct tx_block *x = t->tx.first; x && !rc; x = x->next) {
		if ((x->was.kind == STORM_OWNER_EXTENT_TREE || x->was.kind == STORM_OWNER_INDIRECT) &&
		    x->was.ino)
			rc = tree_block(t, x);
	}
	/* A remap already asked for (a changed tree block) stays asked for. */
	for (size_t i = 0; i < t->tx.nch; i++)
		change_classify(t, &t->tx.ch[i]);
	return rc;
}

struct remap_ctx {
	struct track *t;
	const struct ino_change *c;
	bool claim;
	int err;
};

struct owned {
	uint32_t ino;
	struct xt_run r[64];
	size_t n;
	bool more;
};

static int owned_run(void *ctx, const struct xt_run *r)
{
	struct owned *o = ctx;

	if (r->ino != o->ino || r->kind == STORM_OWNER_INODE_TABLE || r->kind == STORM_OWNER_FREE)
		return 0;
	if (o->n == sizeof(o->r) / sizeof(o->r[0])) {
		o->more = true;
		return 1;
	}
	o->r[o->n++] = *r;
	return 0;
}

/* Frees the blocks of [pblk, pblk+len) the view gives to the inode: an old
 * map read from a garbage inode frees nothing it never owned. */
static int free_owned(struct track *t, uint32_t ino, uint64_t pblk, uint64_t len)
{
	struct owned o = { .ino = ino };

	do {
		o.n = 0;
		o.more = false;
		xt_visit(&t->v->xt, pblk, len, owned_run, &o);
		for (size_t i = 0; i < o.n; i++) {
			int rc = xt_assign(&t->v->xt, o.r[i].start, o.r[i].len, STORM_OWNER_FREE, 0, 0, 0);

			if (rc)
				return rc;
		}
	} while (o.more);
	return 0;
}

static int remap_run(void *ctx, uint64_t lblk, uint64_t pblk, uint64_t len, bool tree)
{
	struct remap_ctx *r = ctx;
	struct track *t = r->t;
	const struct ino_info *in = &r->c->cur;
	unsigned kind;

	if (!r->claim)
		return free_owned(t, r->c->ino, pblk, len);
	if (tree)
		kind = (in->flags & 0x80000u) ? STORM_OWNER_EXTENT_TREE : STORM_OWNER_INDIRECT;
	else
		kind = (in->mode & 0xF000) == 0x4000 ? STORM_OWNER_DIR_DATA : STORM_OWNER_FILE_DATA;
	int rc = xt_assign(&t->v->xt, pblk, len, kind, r->c->ino, 0, tree ? 0 : lblk);

	if (rc || tree || kind != STORM_OWNER_FILE_DATA)
		return rc;
	struct txn *tx = &t->tx;

	struct claim *cl = grow(tx->cl, &tx->clcap, tx->ncl, sizeof(*cl), 64);

	if (!cl)
		return -ENOMEM;
	tx->cl = cl;
	tx->cl[tx->ncl++] = (struct claim){ r->c->ino, lblk, pblk, len, in->size,
					     (in->mode & 0xF000) != 0x8000 };
	return 0;
}

/* Frees the old maps of all changed inodes, then claims the new ones, so a
 * block moving between two inodes of the transaction ends with its new one. */
static int remap(struct track *t)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < t->tx.nch; i++) {
			struct ino_change *c = &t->tx.ch[i];
			struct remap_ctx r = { t, c, pass == 1, 0 };
			bool used = pass ? c->new_used : ino_in_use(&c->old);
			int rc;

			if (!c->remap || !used)
				continue;
			rc = bmap_walk(t, pass ? &c->cur : &c->old, pass == 0, remap_run, &r);
			if (rc == -ENOMEM)
				return rc;
			if (rc)
				t->st.malformed++;
			if (pass && c->cur.xattr && c->cur.xattr < t->v->block_count)
				rc = xt_assign(&t->v->xt, c->cur.xattr, 1, STORM_OWNER_XATTR, c->ino, 0, 0);
			if (rc == -ENOMEM)
				return rc;
		}
	}
	return 0;
}

/* Names only in @p a go to @p out (both sorted). */
static int dent_minus(const struct dent_list *a, const struct dent_list *b, struct dent_list *out)
{
	size_t j = 0;

	for (size_t i = 0; i < a->n; i++) {
		int c = 1;

		while (j < b->n && (c = dent_cmp(&b->e[j], &a->e[i])) < 0)
			j++;
		if (j < b->n && c == 0) {
			j++;
			continue;
		}
		int rc = dent_push(out, &a->e[i]);

		if (rc)
			return rc;
	}
	return 0;
}

static int dir_block(struct track *t, const struct tx_block *x, struct dent_list *old,
		     struct dent_list *cur)
{
	storm_owner now;
	int rc = 0;

	storm_view_lookup(t->v, x->block, &now);
	bool was_dir = x->was.kind == STORM_OWNER_DIR_DATA && x->had_before;
	bool is_dir = now.kind == STORM_OWNER_DIR_DATA;

	if (!was_dir && !is_dir)
		return 0;
	t->st.dir_blocks++;
	if (was_dir)
		rc = dent_parse(t, x->before, x->was.ino, old);
	if (!rc && is_dir)
		rc = dent_parse(t, x->after, now.ino, cur);
	return rc;
}

struct gone_ctx {
	struct track *t;
	uint32_t dir;
	struct dent_list *old;
	uint8_t *buf;
};

static int gone_run(void *ctx, uint64_t lblk, uint64_t pblk, uint64_t len, bool tree)
{
	struct gone_ctx *g = ctx;
	int rc = 0;

	(void)lblk;
	for (uint64_t b = pblk; !tree && b < pblk + len && !rc; b++) {
		struct tx_block *x = NULL;

		HASH_FIND(hh, g->t->tx.by_block, &b, sizeof(b), x);
		if (x)
			continue; /* compared with the transaction's blocks */
		const uint8_t *blk = tk_block(g->t, b, true, g->buf);

		if (blk)
			rc = dent_parse(g->t, blk, g->dir, g->old);
	}
	return rc;
}

/* A directory freed with names still in blocks the kernel did not rewrite
 * (jbd2 drops a freed block's changes from the transaction): those names
 * went with it. */
static int gone_dirs(struct track *t, struct dent_list *old)
{
	struct gone_ctx g = { .t = t, .old = old, .buf = malloc(t->bs) };
	int rc = 0;

	if (!g.buf)
		return -ENOMEM;
	for (size_t i = 0; i < t->tx.nch && !rc; i++) {
		const struct ino_change *c = &t->tx.ch[i];

		if ((c->old.mode & 0xF000) != 0x4000 || !c->old_used || (c->new_used && !c->reborn))
			continue;
		g.dir = c->ino;
		rc = bmap_walk(t, &c->old, true, gone_run, &g);
		if (rc && rc != -ENOMEM) {
			t->st.malformed++;
			rc = 0;
		}
	}
	free(g.buf);
	return rc;
}

/* All names removed and added, with names that only moved between blocks of
 * one directory (an htree split) cancelled out. */
static int dir_changes(struct track *t)
{
	struct dent_list old = { 0 }, cur = { 0 };
	int rc = 0;

	for (struct tx_block *x = t->tx.first; x && !rc; x = x->next)
		rc = dir_block(t, x, &old, &cur);
	if (!rc)
		rc = gone_dirs(t, &old);
	if (!rc) {
		dent_sort(&old);
		dent_sort(&cur);
		rc = dent_minus(&old, &cur, &t->tx.removed);
	}
	if (!rc)
		rc = dent_minus(&cur, &old, &t->tx.added);
	dent_free(&old);
	dent_free(&cur);
	return rc;
}

int tx_apply(struct track *t)
{
	int rc = 0;

	if (!t->tx.nblocks)
		return 0;
	for (struct tx_block *x = t->tx.first; x && !rc; x = x->next)
		rc = ov_put(t, x->block, x->after);
	if (!rc)
		rc = collect_changes(t);
	if (!rc)
		rc = remap(t);
	for (struct tx_block *x = t->tx.first; x && !rc; x = x->next)
		if (x->was.kind == STORM_OWNER_BLOCK_BITMAP)
			rc = bitmap_apply(t, x);
	if (!rc)
		rc = dir_changes(t);
	if (!rc)
		rc = emit_namespace(t);
	if (!rc)
		rc = emit_attrs(t);
	for (size_t i = 0; !rc && i < t->tx.ncl; i++)
		rc = held_claim(t, &t->tx.cl[i]);
	tx_reset(t);
	return rc;
}

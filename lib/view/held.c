/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Held data: blocks written while no file owned them.  The kernel's delayed
 * allocation and data=ordered mode write a file's new data before the
 * transaction that gives it the blocks commits, so such writes are kept (as
 * block runs with the stamp of their write, in a second owner-run index) and
 * reported once a transaction claims the blocks for a file.  The index holds
 * at most one run per block of the volume.
 */
#include "view/track_int.h"
#include "util/grow.h"

#include <errno.h>
#include <stdlib.h>

enum { HELD_NONE = 0, HELD_DATA = 1 };

struct pieces {
	struct xt_run *r;
	size_t n, cap;
};

static int collect(void *ctx, const struct xt_run *r)
{
	struct pieces *p = ctx;

	if (r->kind != HELD_DATA)
		return 0;
	struct xt_run *r2 = grow(p->r, &p->cap, p->n, sizeof(*r2), 16);

	if (!r2)
		return -ENOMEM;
	p->r = r2;
	p->r[p->n++] = *r;
	return 0;
}

static int held_pieces(struct track *t, uint64_t block, uint64_t len, struct pieces *p)
{
	return xt_visit(&t->held, block, len, collect, p);
}

static uint64_t pieces_blocks(const struct pieces *p)
{
	uint64_t n = 0;

	for (size_t i = 0; i < p->n; i++)
		n += p->r[i].len;
	return n;
}

int held_add(struct track *t, uint64_t block, uint64_t len)
{
	struct pieces p = { 0 };
	int rc = held_pieces(t, block, len, &p);

	if (!rc)
		rc = xt_assign(&t->held, block, len, HELD_DATA, 0, 0, t->stamp);
	if (!rc)
		t->st.held_blocks += len - pieces_blocks(&p);
	free(p.r);
	return rc;
}

/* Reports the held pieces inside @p block.. as writes of inode @p ino whose
 * logical block at @p block is @p lblk and whose size is @p size (ino 0: the
 * volume offset, unclipped), and forgets them; @p quiet forgets only (the
 * target of a symbolic link is not file data). */
static int report(struct track *t, uint32_t ino, uint64_t lblk, uint64_t block, uint64_t len,
		  uint64_t size, bool quiet)
{
	struct pieces p = { 0 };
	char *buf = NULL;
	const char *path = NULL;
	int rc = held_pieces(t, block, len, &p);

	if (!rc && p.n && ino && !quiet) {
		buf = malloc(TK_PATH_CAP);
		path = buf ? tk_path(t, ino, buf) : NULL;
	}
	for (size_t i = 0; i < p.n && !rc; i++) {
		const struct xt_run *r = &p.r[i];
		uint64_t first = ino ? lblk + (r->start - block) : r->start;
		uint64_t off = first * t->bs, bytes = (uint64_t)r->len * t->bs;

		rc = xt_assign(&t->held, r->start, r->len, HELD_NONE, 0, 0, 0);
		if (rc)
			break;
		t->st.held_blocks -= r->len;
		if (quiet) {
			continue;
		} else if (ino) {
			rc = tail_write(t, ino, path, off, bytes, size, r->base);
		} else {
			storm_fop op = { .op = STORM_FOP_WRITE, .offset = off, .length = bytes,
					 .stamp = r->base };

			rc = emit_op(t, &op);
		}
	}
	free(buf);
	free(p.r);
	return rc;
}

int held_claim(struct track *t, const struct claim *c)
{
	return report(t, c->ino, c->lblk, c->pblk, c->len, c->size, c->quiet);
}

int held_flush(struct track *t)
{
	return report(t, 0, 0, 0, t->v->block_count, 0, false);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writes are reported as file bytes: the part of a block past the end of the
 * file is not file data.  But an append's data may reach the disk before the
 * transaction that grows the file's size commits, so the bytes past the end
 * are kept per inode (one range, the hull of what was written there) and
 * reported when the size grows over them.  At most TAILS_MAX inodes are
 * remembered; past that the oldest is forgotten.
 */
#include "view/track_int.h"

#include <errno.h>
#include <stdlib.h>

#define TAILS_MAX 65536

static int report(struct track *t, uint32_t ino, const char *path, uint64_t a, uint64_t b,
		  uint64_t stamp)
{
	storm_fop op = { .op = STORM_FOP_WRITE, .ino = ino, .path = path, .offset = a,
			 .length = b - a, .stamp = stamp };

	return a < b ? emit_op(t, &op) : 0;
}

void tail_forget(struct track *t, uint32_t ino)
{
	struct tail *x = NULL;

	HASH_FIND(hh, t->tails, &ino, sizeof(ino), x);
	if (x) {
		HASH_DELETE(hh, t->tails, x);
		free(x);
		t->ntails--;
	}
}

static int keep(struct track *t, uint32_t ino, uint64_t from, uint64_t to, uint64_t stamp)
{
	struct tail *x = NULL;

	HASH_FIND(hh, t->tails, &ino, sizeof(ino), x);
	if (x) {
		x->from = from < x->from ? from : x->from;
		x->to = to > x->to ? to : x->to;
		x->stamp = stamp;
		return 0;
	}
	if (t->ntails >= TAILS_MAX)
		tail_forget(t, t->tails->ino); /* the oldest: uthash keeps insertion order */
	x = malloc(sizeof(*x));
	if (!x)
		return -ENOMEM;
	*x = (struct tail){ .ino = ino, .from = from, .to = to, .stamp = stamp };
	HASH_ADD(hh, t->tails, ino, sizeof(x->ino), x);
	t->ntails++;
	return 0;
}

int tail_write(struct track *t, uint32_t ino, const char *path, uint64_t off, uint64_t len,
	       uint64_t size, uint64_t stamp)
{
	uint64_t end = off + len;
	int rc = report(t, ino, path, off, end < size ? end : size, stamp);

	if (rc || end <= size)
		return rc;
	return keep(t, ino, off > size ? off : size, end, stamp);
}

int tail_resize(struct track *t, uint32_t ino, const char *path, uint64_t old, uint64_t cur)
{
	struct tail *x = NULL;
	int rc;

	HASH_FIND(hh, t->tails, &ino, sizeof(ino), x);
	if (!x)
		return 0;
	if (cur <= old) {
		tail_forget(t, ino);
		return 0;
	}
	uint64_t a = x->from > old ? x->from : old, b = x->to < cur ? x->to : cur;

	rc = report(t, ino, path, a, b, x->stamp);
	if (rc)
		return rc;
	if (x->to <= cur)
		tail_forget(t, ino);
	else if (x->from < cur)
		x->from = cur;
	return 0;
}

void tail_free(struct track *t)
{
	struct tail *x, *tmp;

	HASH_ITER(hh, t->tails, x, tmp) {
		HASH_DELETE(hh, t->tails, x);
		free(x);
	}
	t->ntails = 0;
}

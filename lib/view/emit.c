/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * From a transaction's differences to file operations.  A name added for an
 * inode that lost a name in the same transaction is a rename; a name added
 * for an inode that had none is a create, mkdir or symlink (by its mode);
 * another name for a named inode is a link; a name removed and not re-added
 * is an unlink or rmdir.  An inode freed and reused in one transaction (its
 * generation changed) is never paired.  Paths of removed names are taken
 * before the path map changes, paths of added names after.
 */
#include "view/track_int.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define S_TYPE(m) ((m) & 0xF000u)
#define T_DIR 0x4000u
#define T_LNK 0xA000u
#define T_REG 0x8000u

const char *tk_path(struct track *t, uint32_t ino, char *buf)
{
	return ino && storm_view_path(t->v, ino, buf, TK_PATH_CAP) >= 0 ? buf : NULL;
}

int emit_op(struct track *t, storm_fop *op)
{
	int rc;

	if (!op->stamp)
		op->stamp = t->stamp;
	t->st.ops++;
	rc = t->cb ? t->cb(t->cbctx, op) : 0;
	if (rc && !t->cb_err)
		t->cb_err = rc;
	return rc;
}

/* "<path of parent>/<name>" into a new string; NULL if the parent has no path. */
static char *child_path(struct track *t, const struct dent *d)
{
	char *p = malloc(TK_PATH_CAP);
	int n;

	if (!p)
		return NULL;
	n = storm_view_path(t->v, d->parent, p, TK_PATH_CAP - 257);
	if (n < 0) {
		free(p);
		return NULL;
	}
	if (n == 1)
		n = 0; /* the root: "/" + name */
	p[n] = '/';
	memcpy(p + n + 1, d->name, d->len);
	p[n + 1 + d->len] = '\0';
	/* One is kept per name of the transaction: only its own length. */
	char *fit = realloc(p, (size_t)n + 2 + d->len);

	return fit ? fit : p;
}

static uint16_t mode_of(struct track *t, uint32_t ino, bool old)
{
	const struct ino_change *c = tx_change(&t->tx, ino);
	struct ino_info in;

	if (c)
		return old ? c->old.mode : c->cur.mode;
	return ino_read(t, ino, old, &in) ? 0 : in.mode;
}

struct ns {
	struct track *t;
	char **from;     /* per removed name: its path before */
	char **to;       /* per added name: its path after */
	bool *paired;    /* per removed name */
	size_t *by_ino;  /* removed names' indexes, by inode */
};

/* An order of names by path length (qsort with ties kept by index). */
struct by_depth {
	size_t len, i;
};

static int by_depth_asc(const void *a, const void *b)
{
	const struct by_depth *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static int by_depth_desc(const void *a, const void *b)
{
	return by_depth_asc(b, a);
}

static struct by_depth *depth_order(char *const *paths, size_t n, bool deepest_first)
{
	struct by_depth *o = malloc((n + 1) * sizeof(*o));

	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i++)
		o[i] = (struct by_depth){ paths[i] ? strlen(paths[i]) : 0, i };
	qsort(o, n, sizeof(*o), deepest_first ? by_depth_desc : by_depth_asc);
	return o;
}

static int create_op(struct ns *s, size_t i)
{
	const struct dent *d = &s->t->tx.added.e[i];
	const struct ino_change *c = tx_change(&s->t->tx, d->ino);
	storm_fop op = { .ino = d->ino, .path = s->to[i] };

	if (c && (!c->old_used || c->reborn)) {
		op.mode = c->cur.mode;
		op.op = S_TYPE(op.mode) == T_DIR   ? STORM_FOP_MKDIR
			: S_TYPE(op.mode) == T_LNK ? STORM_FOP_SYMLINK
						   : STORM_FOP_CREATE;
	} else {
		op.op = STORM_FOP_LINK;
	}
	return emit_op(s->t, &op);
}

static int ino_cmp(const struct dent_list *rm, size_t a, size_t b)
{
	uint32_t x = rm->e[a].ino, y = rm->e[b].ino;

	return x < y ? -1 : x > y ? 1 : (a > b) - (a < b);
}

/* Removed names sorted by inode: an insertion of each into place would be
 * quadratic, so a merge sort over the index array. */
static void sort_by_ino(const struct dent_list *rm, size_t *v, size_t *tmp, size_t n)
{
	if (n < 2)
		return;
	size_t h = n / 2;

	sort_by_ino(rm, v, tmp, h);
	sort_by_ino(rm, v + h, tmp, n - h);
	for (size_t i = 0, j = h, k = 0; k < n; k++)
		tmp[k] = (j == n || (i < h && ino_cmp(rm, v[i], v[j]) <= 0)) ? v[i++] : v[j++];
	memcpy(v, tmp, n * sizeof(*v));
}

/* The first unpaired removed name of the same inode, or -1. */
static long rename_source(struct ns *s, const struct dent *d)
{
	const struct dent_list *rm = &s->t->tx.removed;
	const struct ino_change *c = tx_change(&s->t->tx, d->ino);
	size_t lo = 0, hi = rm->n;

	if (c && c->reborn)
		return -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (rm->e[s->by_ino[mid]].ino < d->ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < rm->n && rm->e[s->by_ino[lo]].ino == d->ino; lo++)
		if (!s->paired[s->by_ino[lo]])
			return (long)s->by_ino[lo];
	return -1;
}

/* Shallow paths first, so a new directory comes before what it holds. */
static int added_ops(struct ns *s)
{
	const struct dent_list *add = &s->t->tx.added;
	struct by_depth *order = depth_order(s->to, add->n, false);
	int rc = 0;

	if (!order)
		return -ENOMEM;
	for (size_t k = 0; k < add->n && !rc; k++) {
		size_t i = order[k].i;
		long j = rename_source(s, &add->e[i]);

		if (j >= 0) {
			storm_fop op = { .op = STORM_FOP_RENAME, .ino = add->e[i].ino,
					 .path = s->from[j], .to = s->to[i] };

			s->paired[j] = true;
			rc = emit_op(s->t, &op);
		} else {
			rc = create_op(s, i);
		}
	}
	free(order);
	return rc;
}

/* Unpaired removed names, deepest first (a directory's contents before it). */
static int removed_ops(struct ns *s)
{
	const struct dent_list *rm = &s->t->tx.removed;
	struct by_depth *order = depth_order(s->from, rm->n, true);
	int rc = 0;

	if (!order)
		return -ENOMEM;
	for (size_t k = 0; k < rm->n && !rc; k++) {
		size_t i = order[k].i;

		if (s->paired[i])
			continue;
		uint16_t mode = mode_of(s->t, rm->e[i].ino, true);
		storm_fop op = { .op = S_TYPE(mode) == T_DIR ? STORM_FOP_RMDIR : STORM_FOP_UNLINK,
				 .ino = rm->e[i].ino, .path = s->from[i], .mode = mode };

		rc = emit_op(s->t, &op);
	}
	free(order);
	return rc;
}

static int apply_names(struct track *t)
{
	const struct dent_list *rm = &t->tx.removed, *add = &t->tx.added;
	int rc = 0;

	for (size_t i = 0; i < rm->n; i++)
		pm_unlink(&t->v->pm, rm->e[i].ino, rm->e[i].parent, rm->e[i].name, rm->e[i].len);
	for (size_t i = 0; i < add->n && !rc; i++)
		rc = pm_link(&t->v->pm, add->e[i].ino, add->e[i].parent, add->e[i].name,
			     add->e[i].len);
	return rc;
}

static void ns_free(struct ns *s)
{
	for (size_t i = 0; s->from && i < s->t->tx.removed.n; i++)
		free(s->from[i]);
	for (size_t i = 0; s->to && i < s->t->tx.added.n; i++)
		free(s->to[i]);
	free(s->from);
	free(s->to);
	free(s->paired);
	free(s->by_ino);
}

int emit_namespace(struct track *t)
{
	size_t nr = t->tx.removed.n, na = t->tx.added.n;
	struct ns s = { .t = t };
	int rc;

	if (!nr && !na)
		return 0;
	s.from = calloc(nr + 1, sizeof(char *));
	s.to = calloc(na + 1, sizeof(char *));
	s.paired = calloc(nr + 1, sizeof(bool));
	s.by_ino = calloc(2 * nr + 1, sizeof(size_t));
	if (!s.from || !s.to || !s.paired || !s.by_ino) {
		ns_free(&s);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nr; i++) {
		s.from[i] = child_path(t, &t->tx.removed.e[i]);
		s.by_ino[i] = i;
	}
	sort_by_ino(&t->tx.removed, s.by_ino, s.by_ino + nr, nr);
	rc = apply_names(t);
	for (size_t i = 0; i < na && !rc; i++)
		s.to[i] = child_path(t, &t->tx.added.e[i]);
	if (!rc)
		rc = added_ops(&s);
	if (!rc)
		rc = removed_ops(&s);
	ns_free(&s);
	return rc;
}

static int attr_ops(struct track *t, const struct ino_change *c, const char *path)
{
	int rc = 0;

	if (S_TYPE(c->cur.mode) == T_REG && c->cur.size < c->old.size) {
		storm_fop op = { .op = STORM_FOP_TRUNCATE, .ino = c->ino, .path = path,
				 .size = c->cur.size };

		rc = emit_op(t, &op);
	}
	if (!rc && (c->cur.mode != c->old.mode || c->cur.uid != c->old.uid ||
		    c->cur.gid != c->old.gid)) {
		storm_fop op = { .op = STORM_FOP_SETATTR, .ino = c->ino, .path = path,
				 .mode = c->cur.mode, .uid = c->cur.uid, .gid = c->cur.gid };

		rc = emit_op(t, &op);
	}
	return rc;
}

/* Sizes that grew over bytes written past the old end (tail.c). */
static int size_ops(struct track *t, const struct ino_change *c, const char *path)
{
	if (!c->new_used || S_TYPE(c->cur.mode) != T_REG) {
		tail_forget(t, c->ino);
		return 0;
	}
	uint64_t old = c->old_used && !c->reborn ? c->old.size : 0;

	if (c->reborn)
		tail_forget(t, c->ino);
	return old == c->cur.size ? 0 : tail_resize(t, c->ino, path, old, c->cur.size);
}

int emit_attrs(struct track *t)
{
	char *path = malloc(TK_PATH_CAP);
	int rc = 0;

	if (!path)
		return -ENOMEM;
	for (size_t i = 0; i < t->tx.nch && !rc; i++) {
		const struct ino_change *c = &t->tx.ch[i];
		const char *p = c->new_used ? tk_path(t, c->ino, path) : NULL;

		if (c->old_used && c->new_used && !c->reborn)
			rc = attr_ops(t, c, p);
		if (!rc)
			rc = size_ops(t, c, p);
	}
	free(path);
	return rc;
}

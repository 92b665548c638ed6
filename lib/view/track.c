/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Following a volume: storm_view_follow() and the writes and reads fed to it.
 * A write is cut by the owner of each block (see track_int.h).
 */
#include "view/track_int.h"
#include "view/jbd2.h"
#include "util/bytes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define OVERLAY_CAP (256u << 20)
#define JOURNAL_CAP (256u << 20)

/* Offsets in the ext4 superblock (super.rst), 1024 bytes into the volume. */
enum {
	S_INODES_COUNT = 0x00, S_FIRST_DATA_BLOCK = 0x14, S_LOG_BLOCK_SIZE = 0x18,
	S_BLOCKS_PER_GROUP = 0x20, S_INODES_PER_GROUP = 0x28,
	S_REV_LEVEL = 0x4C, S_FIRST_INO = 0x54, S_INODE_SIZE = 0x58, S_JOURNAL_INUM = 0xE0,
	S_JOURNAL_DEV = 0xE4,
};

/* A piece of file data being grown over consecutive blocks. */
struct piece {
	uint32_t ino;
	uint64_t foff, len;
};

struct feed {
	struct track *t;
	bool write;
	struct piece p;
	uint64_t held_start, held_len;
};

static int piece_flush(struct feed *f)
{
	struct track *t = f->t;
	char buf[TK_PATH_CAP];
	struct ino_info in;
	int rc = 0;

	if (f->p.len) {
		/* File bytes only: a block's part past the end of the file is not,
		 * nor is the target of a symbolic link. */
		bool known = ino_read(t, f->p.ino, false, &in) == 0;
		uint64_t size = known ? in.size : UINT64_MAX;

		if (known && (in.mode & 0xF000) != 0x8000) {
			/* not a regular file */
		} else if (f->write) {
			rc = tail_write(t, f->p.ino, tk_path(t, f->p.ino, buf), f->p.foff, f->p.len, size,
					t->stamp);
		} else if (f->p.foff < size) {
			uint64_t end = f->p.foff + f->p.len < size ? f->p.foff + f->p.len : size;
			storm_fop op = { .op = STORM_FOP_READ, .ino = f->p.ino,
					 .path = tk_path(t, f->p.ino, buf), .offset = f->p.foff,
					 .length = end - f->p.foff };

			rc = emit_op(t, &op);
		}
	}
	f->p.len = 0;
	if (!rc && f->held_len)
		rc = held_add(t, f->held_start, f->held_len);
	f->held_len = 0;
	return rc;
}

static int data_bytes(struct feed *f, const storm_owner *o, uint64_t foff, uint64_t n)
{
	if (f->p.len && f->p.ino == o->ino && f->p.foff + f->p.len == foff) {
		f->p.len += n;
		return 0;
	}
	int rc = piece_flush(f);

	f->p = (struct piece){ o->ino, foff, n };
	return rc;
}

static int held_block(struct feed *f, uint64_t block)
{
	if (f->held_len && f->held_start + f->held_len == block) {
		f->held_len++;
		return 0;
	}
	int rc = piece_flush(f);

	f->held_start = block;
	f->held_len = 1;
	return rc;
}

static bool interpreted(uint32_t kind)
{
	return kind == STORM_OWNER_INODE_TABLE || kind == STORM_OWNER_DIR_DATA ||
	       kind == STORM_OWNER_EXTENT_TREE || kind == STORM_OWNER_INDIRECT ||
	       kind == STORM_OWNER_BLOCK_BITMAP;
}

/* A metadata block written in place; partial writes are merged with what
 * the block held. */
static int meta_block(struct feed *f, uint64_t block, const uint8_t *src, uint32_t at, uint32_t n)
{
	struct track *t = f->t;
	uint8_t *buf;
	int rc;

	if (!src) {
		t->st.missed++;
		return 0;
	}
	if (at == 0 && n == t->bs)
		return tx_add(t, block, src);
	buf = malloc(t->bs);
	if (!buf)
		return -ENOMEM;
	const uint8_t *cur = tk_block(t, block, false, buf);

	if (!cur) {
		free(buf);
		t->st.missed++;
		return 0;
	}
	if (cur != buf)
		memcpy(buf, cur, t->bs);
	memcpy(buf + at, src, n);
	rc = tx_add(t, block, buf);
	free(buf);
	return rc;
}

static int journal_block(struct feed *f, const storm_owner *o, const uint8_t *src, uint32_t n)
{
	struct track *t = f->t;
	int rc = tx_apply(t); /* in-place writes before, in order */

	if (rc)
		return rc;
	if (!src || n != t->bs || !t->jnl) {
		t->st.missed++;
		return 0;
	}
	rc = jbd2_write(t->jnl, o->offset / t->bs, src);
	return rc < 0 && rc != -ENOMEM ? 0 : rc; /* malformed: counted by jbd2 */
}

static int one_block(struct feed *f, uint64_t block, const uint8_t *src, uint32_t at, uint32_t n)
{
	storm_owner o;

	if (storm_view_lookup(f->t->v, block, &o))
		return 0;
	switch (o.kind) {
	case STORM_OWNER_FILE_DATA:
		return data_bytes(f, &o, o.offset + at, n);
	case STORM_OWNER_FREE:
	case STORM_OWNER_UNKNOWN:
		return f->write ? held_block(f, block) : 0;
	case STORM_OWNER_JOURNAL:
		return f->write ? journal_block(f, &o, src, n) : 0;
	default:
		if (!f->write || !interpreted(o.kind))
			return 0;
		f->t->st.direct_writes++;
		return meta_block(f, block, src, at, n);
	}
}

/* Drops the cached source copies of the blocks under [offset, offset + len). */
static void forget(struct track *t, uint64_t offset, uint64_t len)
{
	uint64_t first = offset / t->bs, count = t->v->block_count;

	if (!len || first >= count || offset + len < offset)
		return;
	uint64_t last = (offset + len - 1) / t->bs;

	it_forget(t, first, (last < count ? last + 1 : count) - first);
}

STORM_EXTERN int storm_view_invalidate(storm_view *v, uint64_t offset, uint64_t len)
{
	if (!v || !v->tk)
		return -EINVAL;
	forget(v->tk, offset, len);
	return 0;
}

static int feed(storm_view *v, uint64_t offset, const uint8_t *data, size_t len, uint64_t stamp,
		bool write)
{
	struct track *t = v ? v->tk : NULL;
	struct feed f = { .t = t, .write = write };
	uint64_t end = offset + len;
	int rc = 0;

	if (!t || end < offset)
		return -EINVAL;
	t->stamp = stamp;
	t->cb_err = 0;
	for (uint64_t pos = offset; pos < end && !rc;) {
		uint64_t block = pos / t->bs;
		uint32_t at = (uint32_t)(pos % t->bs);
		uint64_t n = t->bs - at < end - pos ? t->bs - at : end - pos;

		if (block >= v->block_count)
			break;
		rc = one_block(&f, block, data ? data + (pos - offset) : NULL, at, (uint32_t)n);
		pos += n;
	}
	if (!rc)
		rc = piece_flush(&f);
	if (!rc)
		rc = tx_apply(t);
	else
		tx_reset(t);
	if (write)
		forget(t, offset, len);
	return rc ? rc : t->cb_err;
}

STORM_EXTERN int storm_view_write(storm_view *v, uint64_t offset, const void *data, size_t len,
				  uint64_t stamp)
{
	return feed(v, offset, data, len, stamp, true);
}

STORM_EXTERN int storm_view_read(storm_view *v, uint64_t offset, size_t len, uint64_t stamp)
{
	return feed(v, offset, NULL, len, stamp, false);
}

STORM_EXTERN int storm_view_flush(storm_view *v)
{
	struct track *t = v ? v->tk : NULL;
	int rc;

	if (!t)
		return -EINVAL;
	t->cb_err = 0;
	rc = held_flush(t);
	return rc ? rc : t->cb_err;
}

/* ------------------------------------------------------------------ */
/* jbd2 → transactions                                                 */

static int j_block(void *ctx, uint32_t seq, uint64_t home, const uint8_t *data)
{
	struct track *t = ctx;

	(void)seq;
	if (home >= t->v->block_count) {
		t->st.malformed++;
		return 0;
	}
	t->st.journal_blocks++;
	return tx_add(t, home, data);
}

static int j_revoke(void *ctx, uint32_t seq, uint64_t home)
{
	(void)ctx, (void)seq, (void)home;
	return 0;
}

static int j_commit(void *ctx, uint32_t seq)
{
	struct track *t = ctx;

	(void)seq;
	t->st.transactions++;
	return tx_apply(t);
}

static const struct jbd2_ops journal_ops = { j_block, j_revoke, j_commit };

/* ------------------------------------------------------------------ */
/* Setting up                                                          */

struct layout {
	struct track *t;
	uint64_t jsb, jlen;
	bool have_jsb;
};

static int layout_run(void *ctx, const struct xt_run *r)
{
	struct layout *l = ctx;
	struct track *t = l->t;

	if (r->kind == STORM_OWNER_INODE_TABLE && r->group < t->ngroups) {
		uint64_t first = (uint64_t)r->group * t->inodes_per_group + 1;
		uint64_t skip = (r->base - first) / (t->bs / t->inode_size);

		if (!t->itable[r->group] && r->base >= first && r->start >= skip)
			t->itable[r->group] = r->start - skip;
	} else if (r->kind == STORM_OWNER_JOURNAL) {
		l->jlen += r->len;
		if (r->base == 0) {
			l->jsb = r->start;
			l->have_jsb = true;
		}
	}
	return 0;
}

static int read_super(struct track *t, uint8_t *sb)
{
	int rc = t->read(t->rctx, 1024, sb, 1024);

	if (rc)
		return rc;
	if ((1024u << get_le32(sb + S_LOG_BLOCK_SIZE)) != t->bs)
		return -EUCLEAN;
	t->inodes_count = get_le32(sb + S_INODES_COUNT);
	t->inodes_per_group = get_le32(sb + S_INODES_PER_GROUP);
	t->blocks_per_group = get_le32(sb + S_BLOCKS_PER_GROUP);
	t->first_data_block = get_le32(sb + S_FIRST_DATA_BLOCK);
	bool rev0 = get_le32(sb + S_REV_LEVEL) == 0;

	t->inode_size = rev0 ? 128 : get_le16(sb + S_INODE_SIZE);
	t->first_ino = rev0 ? 11 : get_le32(sb + S_FIRST_INO);
	t->journal_ino = get_le32(sb + S_JOURNAL_INUM);
	if (!t->inodes_per_group || !t->blocks_per_group || t->blocks_per_group > 8 * t->bs ||
	    t->inode_size < 128 || t->inode_size > t->bs ||
	    t->bs % t->inode_size)
		return -EUCLEAN;
	if (!t->journal_ino && get_le32(sb + S_JOURNAL_DEV))
		return STORM_ERR_UNSUPPORTED; /* an external journal */
	t->ngroups = (uint32_t)(((uint64_t)t->inodes_count + t->inodes_per_group - 1) /
				t->inodes_per_group);
	return 0;
}

static int open_journal(struct track *t, const struct layout *l)
{
	uint8_t *jsb;
	int rc;

	if (!t->journal_ino || !l->have_jsb)
		return 0;
	jsb = malloc(t->bs);
	if (!jsb)
		return -ENOMEM;
	rc = t->read(t->rctx, l->jsb * t->bs, jsb, t->bs);
	if (!rc)
		rc = jbd2_new(&t->jnl, jsb, t->bs, l->jlen, JOURNAL_CAP, &journal_ops, t);
	t->jblocks = l->jlen;
	free(jsb);
	return rc;
}

static int track_setup(struct track *t)
{
	uint8_t sb[1024];
	struct layout l = { .t = t };
	int rc = read_super(t, sb);

	if (rc)
		return rc;
	t->itable = calloc(t->ngroups ? t->ngroups : 1, sizeof(*t->itable));
	t->scratch = malloc(t->bs);
	if (!t->itable || !t->scratch)
		return -ENOMEM;
	rc = xt_visit(&t->v->xt, 0, t->v->block_count, layout_run, &l);
	if (!rc)
		rc = xt_finish(&t->held);
	if (!rc)
		rc = open_journal(t, &l);
	return rc;
}

void tk_free(struct track *t)
{
	if (!t)
		return;
	tx_reset(t);
	free(t->tx.ch);
	free(t->tx.idx);
	free(t->tx.cl);
	dent_free(&t->tx.removed);
	dent_free(&t->tx.added);
	jbd2_del(t->jnl);
	ov_free(t);
	it_free(t);
	tail_free(t);
	xt_free(&t->held);
	free(t->itable);
	free(t->scratch);
	free(t);
}

STORM_EXTERN int storm_view_follow(storm_view *v, storm_blocksrc_read read, void *ctx,
				   storm_fop_cb cb, void *cb_ctx)
{
	struct track *t;
	int rc;

	if (!v || !read)
		return -EINVAL;
	if (v->tk)
		return -EALREADY;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	*t = (struct track){ .v = v, .read = read, .rctx = ctx, .cb = cb, .cbctx = cb_ctx,
			     .bs = v->block_size, .ov_cap = OVERLAY_CAP };
	rc = track_setup(t);
	if (rc) {
		tk_free(t);
		return rc;
	}
	v->tk = t;
	return 0;
}

STORM_EXTERN void storm_view_stats_get(const storm_view *v, storm_view_stats *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (!v || !v->tk)
		return;
	*out = v->tk->st;
	out->overlay_bytes = v->tk->ov_bytes;
	if (v->tk->jnl) {
		struct jbd2_stats js;

		jbd2_stats(v->tk->jnl, &js);
		out->journal_skipped = js.incomplete + js.malformed;
	}
}

STORM_EXTERN const char *storm_fop_name(uint32_t op)
{
	static const char *const names[] = {
		[STORM_FOP_CREATE] = "create", [STORM_FOP_MKDIR] = "mkdir",
		[STORM_FOP_UNLINK] = "unlink", [STORM_FOP_RMDIR] = "rmdir",
		[STORM_FOP_RENAME] = "rename", [STORM_FOP_LINK] = "link",
		[STORM_FOP_SYMLINK] = "symlink", [STORM_FOP_TRUNCATE] = "truncate",
		[STORM_FOP_SETATTR] = "setattr", [STORM_FOP_WRITE] = "write",
		[STORM_FOP_READ] = "read",
	};

	return op < sizeof(names) / sizeof(names[0]) && names[op] ? names[op] : "unknown";
}

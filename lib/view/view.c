/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Public entry points of the file-system view. */
#include "view/view_int.h"
#include "view/ext4_io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(storm_owner) == 56, "storm_owner is frozen at 56 bytes");

/* Features whose blocks or names this view would map wrongly. */
static bool ext4_unsupported(struct ext2_super_block *sb)
{
	return ext2fs_has_feature_inline_data(sb) || ext2fs_has_feature_encrypt(sb) ||
	       ext2fs_has_feature_casefold(sb) || ext2fs_has_feature_bigalloc(sb);
}

static int ext4_open_fs(ext2_filsys *fs, struct ext4_src *src)
{
	char name[64];
	errcode_t e;
	int rc = ext4_src_name(src, name, sizeof(name));

	if (rc)
		return rc;
	e = ext2fs_open2(name, NULL, EXT2_FLAG_64BITS, 0, 0, ext4_src_manager(), fs);
	if (e) {
		*fs = NULL;
		return src->err ? src->err : ext4_err(e);
	}
	return 0;
}

STORM_EXTERN int storm_view_open_ext4(storm_view **v, storm_blocksrc_read read, void *ctx,
				      uint64_t volume_bytes)
{
	struct ext4_src src = { .read = read, .ctx = ctx, .volume_bytes = volume_bytes };
	ext2_filsys fs = NULL;
	storm_view *view;
	int rc;

	if (!v || !read)
		return -EINVAL;
	*v = NULL;
	rc = ext4_open_fs(&fs, &src);
	if (rc)
		return rc;
	if (ext4_unsupported(fs->super)) {
		ext2fs_close_free(&fs);
		return STORM_ERR_UNSUPPORTED;
	}
	if (ext2fs_blocks_count(fs->super) > volume_bytes / fs->blocksize) {
		ext2fs_close_free(&fs);
		return -EUCLEAN; /* the file system is larger than its volume */
	}
	/* The first data block is 1 with 1 KiB blocks (no clusters), else 0, as
	 * e2fsck insists; libext2fs 1.47 overruns its bitmap buffers on other
	 * values (found by fuzz_view), so they are refused before it reads them. */
	if (fs->super->s_first_data_block != (fs->blocksize == 1024 && fs->cluster_ratio_bits == 0)) {
		ext2fs_close_free(&fs);
		return -EUCLEAN;
	}
	view = calloc(1, sizeof(*view));
	if (!view) {
		ext2fs_close_free(&fs);
		return -ENOMEM;
	}
	rc = ext4_build(view, fs);
	ext2fs_close_free(&fs);
	if (rc) {
		storm_view_del(view);
		return src.err ? src.err : rc;
	}
	*v = view;
	return 0;
}

STORM_EXTERN void storm_view_del(storm_view *v)
{
	if (!v)
		return;
	tk_free(v->tk);
	xt_free(&v->xt);
	pm_free(&v->pm);
	free(v);
}

STORM_EXTERN uint32_t storm_view_block_size(const storm_view *v)
{
	return v->block_size;
}

STORM_EXTERN uint64_t storm_view_block_count(const storm_view *v)
{
	return v->block_count;
}

STORM_EXTERN size_t storm_view_extent_count(const storm_view *v)
{
	return xt_count(&v->xt);
}

STORM_EXTERN int storm_view_lookup(const storm_view *v, uint64_t fs_block, storm_owner *out)
{
	const struct xt_run *r;

	if (!v || !out)
		return -EINVAL;
	if (fs_block >= v->block_count)
		return -ERANGE;
	memset(out, 0, sizeof(*out));
	r = xt_find(&v->xt, fs_block);
	if (!r)
		return 0; /* STORM_OWNER_UNKNOWN */
	uint64_t at = r->base + (fs_block - r->start) * xt_step(&v->xt, r->kind);

	out->kind = r->kind;
	out->ino = r->ino;
	out->group = r->group;
	switch (r->kind) {
	case STORM_OWNER_INODE_TABLE:
		out->ino = (uint32_t)at;
		break;
	case STORM_OWNER_FILE_DATA:
	case STORM_OWNER_DIR_DATA:
	case STORM_OWNER_JOURNAL:
		out->offset = at * v->block_size;
		break;
	default:
		break;
	}
	return 0;
}

STORM_EXTERN int storm_view_path(const storm_view *v, uint32_t ino, char *buf, size_t len)
{
	size_t need = 0, steps = 0;
	uint32_t cur;

	if (!v || (!buf && len))
		return -EINVAL;
	if (ino == v->root_ino) {
		if (len < 2)
			return -ERANGE;
		memcpy(buf, "/", 2);
		return 1;
	}
	/* First pass: the length, and whether the chain reaches the root. */
	for (cur = ino; cur != v->root_ino; steps++) {
		const struct path_entry *e = pm_find(&v->pm, cur);

		if (!e)
			return -ENOENT;
		if (steps > pm_count(&v->pm))
			return -ELOOP;
		need += 1 + e->name_len;
		cur = e->parent;
	}
	if (need + 1 > len || need > INT32_MAX)
		return -ERANGE;
	buf[need] = '\0';
	size_t at = need;

	for (cur = ino; cur != v->root_ino;) {
		const struct path_entry *e = pm_find(&v->pm, cur);

		at -= e->name_len;
		memcpy(buf + at, pm_name(&v->pm, e), e->name_len);
		buf[--at] = '/';
		cur = e->parent;
	}
	return (int)need;
}

STORM_EXTERN const char *storm_owner_kind_name(uint32_t kind)
{
	static const char *const names[] = {
		[STORM_OWNER_UNKNOWN] = "unknown",
		[STORM_OWNER_FREE] = "free",
		[STORM_OWNER_SUPERBLOCK] = "superblock",
		[STORM_OWNER_GROUP_DESC] = "group-desc",
		[STORM_OWNER_BLOCK_BITMAP] = "block-bitmap",
		[STORM_OWNER_INODE_BITMAP] = "inode-bitmap",
		[STORM_OWNER_INODE_TABLE] = "inode-table",
		[STORM_OWNER_FILE_DATA] = "file",
		[STORM_OWNER_DIR_DATA] = "dir",
		[STORM_OWNER_EXTENT_TREE] = "extent-tree",
		[STORM_OWNER_INDIRECT] = "indirect",
		[STORM_OWNER_XATTR] = "xattr",
		[STORM_OWNER_JOURNAL] = "journal",
		[STORM_OWNER_OTHER] = "other",
	};

	return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "unknown";
}

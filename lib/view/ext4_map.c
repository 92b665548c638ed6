/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Builds the owner runs of an ext2/3/4 file system from libext2fs: the group
 * metadata from the group descriptors, every in-use inode's blocks (data and
 * extent-tree or indirect blocks), the journal, free space from the block
 * bitmap, and the directory entries for paths.  On-disk layout: the kernel's
 * Documentation/filesystems/ext4 (blockgroup.rst, inodes.rst, ifork.rst).
 */
#include "view/view_int.h"

#include "view/ext4_csum.h"
#include "view/ext4_io.h"

#include <errno.h>
#include <ext2fs/ext3_extents.h>
#include <stdlib.h>
#include <string.h>

struct build {
	struct storm_view *v;
	ext2_filsys fs;
	int err;
	uint32_t ino; /* the inode whose blocks are being iterated */
	unsigned data_kind, tree_kind;
	uint32_t *dirs;
	size_t ndirs, dirs_cap;
};

int ext4_err(errcode_t e)
{
	if (e == 0)
		return 0;
	if (e == EXT2_ET_NO_MEMORY)
		return -ENOMEM;
	if (e == EXT2_ET_UNSUPP_FEATURE || e == EXT2_ET_RO_UNSUPP_FEATURE)
		return STORM_ERR_UNSUPPORTED;
	if (e > 0 && e < 4096)
		return -(int)e;
	return -EUCLEAN;
}

/* Adds a run after checking it lies inside the file system. */
static int add(struct build *b, uint64_t start, uint64_t len, unsigned kind, uint32_t ino,
	       uint32_t group, uint64_t base)
{
	uint64_t count = b->v->block_count;

	if (start >= count || len > count - start)
		return -EUCLEAN;
	return xt_add(&b->v->xt, start, len, kind, ino, group, base);
}

/* Superblock, descriptors, bitmaps and inode table of each group, wherever
 * flex_bg or meta_bg placed them (blockgroup.rst). */
static int map_group(struct build *b, dgrp_t g)
{
	ext2_filsys fs = b->fs;
	struct ext2_super_block *sb = fs->super;
	blk64_t super = 0, old_desc = 0, new_desc = 0;
	blk_t used = 0;
	int rc = 0;

	ext2fs_super_and_bgd_loc2(fs, g, &super, &old_desc, &new_desc, &used);
	if (ext2fs_bg_has_super(fs, g))
		rc = add(b, super, 1, STORM_OWNER_SUPERBLOCK, 0, g, 0);
	if (!rc && old_desc) {
		if (ext2fs_has_feature_meta_bg(sb)) {
			rc = add(b, old_desc, sb->s_first_meta_bg, STORM_OWNER_GROUP_DESC, 0, g, 0);
		} else {
			uint32_t resize = ext2fs_has_feature_resize_inode(sb) ? EXT2_RESIZE_INO : 0;

			rc = add(b, old_desc, fs->desc_blocks, STORM_OWNER_GROUP_DESC, 0, g, 0);
			if (!rc && sb->s_reserved_gdt_blocks)
				rc = add(b, old_desc + fs->desc_blocks, sb->s_reserved_gdt_blocks,
					 STORM_OWNER_GROUP_DESC, resize, g, 0);
		}
	}
	if (!rc && new_desc)
		rc = add(b, new_desc, 1, STORM_OWNER_GROUP_DESC, 0, g, 0);
	if (!rc)
		rc = add(b, ext2fs_block_bitmap_loc(fs, g), 1, STORM_OWNER_BLOCK_BITMAP, 0, g, 0);
	if (!rc)
		rc = add(b, ext2fs_inode_bitmap_loc(fs, g), 1, STORM_OWNER_INODE_BITMAP, 0, g, 0);
	if (!rc)
		rc = add(b, ext2fs_inode_table_loc(fs, g), fs->inode_blocks_per_group,
			 STORM_OWNER_INODE_TABLE, 0, g, (uint64_t)g * sb->s_inodes_per_group + 1);
	return rc;
}

static int map_metadata(struct build *b)
{
	ext2_filsys fs = b->fs;
	int rc = 0;

	/* With 1 KiB blocks, block 0 (boot sector) precedes group 0. */
	if (fs->super->s_first_data_block)
		rc = add(b, 0, fs->super->s_first_data_block, STORM_OWNER_OTHER, 0, 0, 0);
	for (dgrp_t g = 0; !rc && g < fs->group_desc_count; g++)
		rc = map_group(b, g);
	if (!rc && ext2fs_has_feature_resize_inode(fs->super)) {
		/* The resize inode maps the reserved GDT blocks through one
		 * double-indirect block; the blocks themselves are mapped above. */
		struct ext2_inode inode;
		errcode_t e = ext2fs_read_inode(fs, EXT2_RESIZE_INO, &inode);

		if (e)
			return ext4_err(e);
		if (inode.i_block[EXT2_DIND_BLOCK])
			rc = add(b, inode.i_block[EXT2_DIND_BLOCK], 1, STORM_OWNER_INDIRECT,
				 EXT2_RESIZE_INO, 0, 0);
	}
	return rc;
}

static int block_cb(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt, blk64_t ref_blk,
		    int ref_offset, void *priv)
{
	struct build *b = priv;
	uint32_t ino = b->ino;
	int rc;

	(void)fs, (void)ref_blk, (void)ref_offset;
	/* Negative counts are the mapping's own blocks: (in)direct blocks, or
	 * a Hurd translator block (ext2fs.h, BLOCK_COUNT_*). */
	if (blockcnt < 0)
		rc = add(b, *blocknr, 1, b->tree_kind, ino, 0, 0);
	else
		rc = add(b, *blocknr, 1, b->data_kind, ino, 0, (uint64_t)blockcnt);
	if (rc) {
		b->err = rc;
		return BLOCK_ABORT;
	}
	return 0;
}

static int note_dir(struct build *b, uint32_t ino)
{
	if (b->ndirs == b->dirs_cap) {
		size_t cap = b->dirs_cap ? b->dirs_cap * 2 : 64;
		uint32_t *d = realloc(b->dirs, cap * sizeof(*d));

		if (!d)
			return -ENOMEM;
		b->dirs = d;
		b->dirs_cap = cap;
	}
	b->dirs[b->ndirs++] = ino;
	return 0;
}

/* A leaf extent: one run, based on its first logical block.  An empty
 * extent maps nothing (ext2fs_block_iterate3 visits none of its blocks). */
static int add_extent(struct build *b, uint64_t pblk, uint32_t len, uint32_t lblk)
{
	return len ? add(b, pblk, len, b->data_kind, b->ino, 0, lblk) : 0;
}

/*
 * A tree of depth 0, the extents in i_block itself (ifork.rst): nearly every
 * small file.  Read straight from the inode, with the checks
 * ext2fs_extent_open2() makes on such a root (ext2fs_extent_header_verify:
 * magic, entries <= max, max 2..4).  false when the root is anything else,
 * for the extent handle to walk or refuse.
 */
static bool map_extents_inline(struct build *b, const struct ext2_inode *inode, int *rc)
{
	struct {
		struct ext3_extent_header h;
		struct ext3_extent x[4];
	} root;
	unsigned n, max;

	_Static_assert(sizeof(root) == sizeof(inode->i_block), "an extent root fills i_block");
	memcpy(&root, inode->i_block, sizeof(root));
	n = ext2fs_le16_to_cpu(root.h.eh_entries);
	max = ext2fs_le16_to_cpu(root.h.eh_max);
	if (ext2fs_le16_to_cpu(root.h.eh_magic) != EXT3_EXT_MAGIC ||
	    ext2fs_le16_to_cpu(root.h.eh_depth) || n > max || max < 2 || max > 4)
		return false;
	*rc = 0;
	for (unsigned i = 0; i < n && !*rc; i++) {
		const struct ext3_extent *x = &root.x[i];
		uint32_t len = ext2fs_le16_to_cpu(x->ee_len);

		if (len > EXT_INIT_MAX_LEN) /* unwritten: the length is the rest */
			len -= EXT_INIT_MAX_LEN;
		*rc = add_extent(b, ext2fs_le32_to_cpu(x->ee_start) |
					    (uint64_t)ext2fs_le16_to_cpu(x->ee_start_hi) << 32,
				 len, ext2fs_le32_to_cpu(x->ee_block));
	}
	return true;
}

/*
 * Any extent tree, through libext2fs's extent handle over the inode the scan
 * returned: a run per leaf extent, one block per index or leaf block (on its
 * first visit).  libext2fs checks the tree blocks' headers and checksums.
 * Every leaf extent is mapped as it is on disk; ext2fs_block_iterate3 skips
 * one that goes back in logical order (and the extent after it), which only
 * a corrupt tree has.
 */
static int map_extent_tree(struct build *b, ext2_ino_t ino, struct ext2_inode *inode)
{
	ext2_extent_handle_t h;
	struct ext2fs_extent ex;
	errcode_t e = ext2fs_extent_open2(b->fs, ino, inode, &h);
	int op = EXT2_EXTENT_ROOT, rc = 0;

	/* A root ext2fs_extent_open2() refuses maps no block, as with
	 * ext2fs_block_iterate3 (libext2fs 1.47), which returns 0 then. */
	if (e)
		return e == EXT2_ET_NO_MEMORY ? -ENOMEM : 0;
	while (!rc && !(e = ext2fs_extent_get(h, op, &ex))) {
		op = EXT2_EXTENT_NEXT;
		if (ex.e_flags & EXT2_EXTENT_FLAGS_LEAF)
			rc = add_extent(b, ex.e_pblk, ex.e_len, (uint32_t)ex.e_lblk);
		else if (!(ex.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT))
			rc = add(b, ex.e_pblk, 1, b->tree_kind, ino, 0, 0);
	}
	ext2fs_extent_free(h);
	if (rc)
		return rc;
	return e == EXT2_ET_EXTENT_NO_NEXT ? 0 : ext4_err(e);
}

static int map_extents(struct build *b, ext2_ino_t ino, struct ext2_inode *inode)
{
	int rc;

	/* ext2fs_block_iterate3 reports a Hurd translator block among the
	 * mapping's own blocks; so does the view. */
	if (b->fs->super->s_creator_os == EXT2_OS_HURD && inode->osd1.hurd1.h_i_translator &&
	    (rc = add(b, inode->osd1.hurd1.h_i_translator, 1, b->tree_kind, ino, 0, 0)))
		return rc;
	if (map_extents_inline(b, inode, &rc))
		return rc;
	return map_extent_tree(b, ino, inode);
}

static int map_inode(struct build *b, ext2_ino_t ino, struct ext2_inode *inode)
{
	ext2_filsys fs = b->fs;
	blk64_t xattr = ext2fs_file_acl_block(fs, inode);
	errcode_t e;
	int rc = 0;

	if (ino == fs->super->s_journal_inum)
		b->data_kind = STORM_OWNER_JOURNAL;
	else if (ino == EXT2_BAD_INO)
		b->data_kind = STORM_OWNER_OTHER;
	else if (LINUX_S_ISDIR(inode->i_mode))
		b->data_kind = STORM_OWNER_DIR_DATA;
	else
		b->data_kind = STORM_OWNER_FILE_DATA;
	b->tree_kind = (inode->i_flags & EXT4_EXTENTS_FL) ? STORM_OWNER_EXTENT_TREE
							  : STORM_OWNER_INDIRECT;
	if (b->data_kind == STORM_OWNER_DIR_DATA && (rc = note_dir(b, ino)))
		return rc;
	if (xattr && (rc = add(b, xattr, 1, STORM_OWNER_XATTR, ino, 0, 0)))
		return rc;
	if (!ext2fs_inode_has_valid_blocks2(fs, inode))
		return 0;
	b->ino = ino;
	b->err = 0;
	/* Extents are walked from the scanned inode, a run per extent;
	 * ext2fs_block_iterate3 would read the inode again and call back per
	 * block.  It stays for block maps (ext2/3, indirect blocks). */
	if (inode->i_flags & EXT4_EXTENTS_FL)
		return map_extents(b, ino, inode);
	e = ext2fs_block_iterate3(fs, ino, BLOCK_FLAG_READ_ONLY, NULL, block_cb, b);
	if (b->err)
		return b->err;
	return ext4_err(e);
}

/*
 * The next inode of the scan.  On a metadata_csum file system (little-endian
 * hosts) libext2fs is told not to check inode checksums here: it checks every
 * inode of the tables with a byte-table CRC, while only the inodes in use
 * matter, and the caller checks those (ext4_inode_csum_ok).  Every other
 * read (tree and directory blocks, inodes read again) is still checked.
 */
static errcode_t next_inode(ext2_inode_scan scan, ext2_filsys fs, bool own_csum, ext2_ino_t *ino,
			    struct ext2_inode *inode, int size)
{
	int flags = fs->flags;
	errcode_t e;

	if (own_csum)
		fs->flags |= EXT2_FLAG_IGNORE_CSUM_ERRORS;
	e = ext2fs_get_next_inode_full(scan, ino, inode, size);
	fs->flags = (fs->flags & ~EXT2_FLAG_IGNORE_CSUM_ERRORS) |
		    (flags & EXT2_FLAG_IGNORE_CSUM_ERRORS);
	return e;
}

static int map_inodes(struct build *b)
{
	ext2_filsys fs = b->fs;
	int size = EXT2_INODE_SIZE(fs->super);
	struct ext2_inode *inode = malloc((size_t)size);
	ext2_inode_scan scan = NULL;
	ext2_ino_t ino = 0;
	/* The scan's copy of an inode is the on-disk bytes only on a
	 * little-endian host; elsewhere libext2fs checks them. */
	bool own_csum = ext2fs_has_feature_metadata_csum(fs->super) &&
			__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
	errcode_t e;
	int rc = 0;

	if (!inode)
		return -ENOMEM;
	e = ext2fs_open_inode_scan(fs, 0, &scan);
	if (e) {
		free(inode);
		return ext4_err(e);
	}
	for (;;) {
		e = next_inode(scan, fs, own_csum, &ino, inode, size);
		if (e == EXT2_ET_INODE_CSUM_INVALID || e == EXT2_ET_INODE_IS_GARBAGE) {
			/* Only an inode in use must be intact. */
			if (ino && !ext2fs_test_inode_bitmap2(fs->inode_map, ino))
				continue;
		}
		if (e) {
			rc = ext4_err(e);
			break;
		}
		if (!ino)
			break;
		if (!ext2fs_test_inode_bitmap2(fs->inode_map, ino))
			continue;
		if (own_csum && !ext4_inode_csum_ok(fs->csum_seed, ino, inode, (size_t)size)) {
			rc = -EUCLEAN;
			break;
		}
		if (ino == EXT2_RESIZE_INO)
			continue;
		rc = map_inode(b, ino, inode);
		if (rc)
			break;
	}
	ext2fs_close_inode_scan(scan);
	free(inode);
	return rc;
}

static int map_free(struct build *b)
{
	ext2_filsys fs = b->fs;
	blk64_t at = fs->super->s_first_data_block, end = ext2fs_blocks_count(fs->super) - 1;

	while (at <= end) {
		blk64_t zero, set;
		errcode_t e = ext2fs_find_first_zero_block_bitmap2(fs->block_map, at, end, &zero);
		int rc;

		if (e == ENOENT)
			break;
		if (e)
			return ext4_err(e);
		e = ext2fs_find_first_set_block_bitmap2(fs->block_map, zero, end, &set);
		if (e == ENOENT)
			set = end + 1;
		else if (e)
			return ext4_err(e);
		rc = add(b, zero, set - zero, STORM_OWNER_FREE, 0, 0, 0);
		if (rc)
			return rc;
		at = set;
	}
	return 0;
}

static int dir_cb(ext2_ino_t dir, int entry, struct ext2_dir_entry *dirent, int offset,
		  int blocksize, char *buf, void *priv)
{
	struct build *b = priv;
	int len = ext2fs_dirent_name_len(dirent);

	(void)offset, (void)blocksize, (void)buf;
	if (entry == DIRENT_DOT_FILE || entry == DIRENT_DOT_DOT_FILE || !dirent->inode || !len)
		return 0;
	if (dirent->inode > b->fs->super->s_inodes_count)
		b->err = -EUCLEAN;
	else if (memchr(dirent->name, '\0', (size_t)len) || memchr(dirent->name, '/', (size_t)len))
		return 0; /* an illegal name (e2fsck's rule) never becomes part of a path */
	else
		b->err = pm_add(&b->v->pm, dirent->inode, dir, dirent->name, (size_t)len);
	return b->err ? DIRENT_ABORT : 0;
}

static int map_dirs(struct build *b)
{
	for (size_t i = 0; i < b->ndirs; i++) {
		errcode_t e;

		b->err = 0;
		e = ext2fs_dir_iterate2(b->fs, b->dirs[i], 0, NULL, dir_cb, b);
		if (b->err)
			return b->err;
		if (e)
			return ext4_err(e);
	}
	return 0;
}

int ext4_build(struct storm_view *v, void *fsp)
{
	struct build b = { .v = v, .fs = fsp };
	ext2_filsys fs = fsp;
	int rc;

	v->block_size = fs->blocksize;
	v->block_count = ext2fs_blocks_count(fs->super);
	v->root_ino = EXT2_ROOT_INO;
	v->xt.inodes_per_block = fs->blocksize / EXT2_INODE_SIZE(fs->super);
	rc = map_metadata(&b);
	if (!rc)
		rc = ext4_err(ext2fs_read_bitmaps(fs));
	if (!rc)
		rc = map_inodes(&b);
	if (!rc)
		rc = map_free(&b);
	if (!rc)
		rc = map_dirs(&b);
	free(b.dirs);
	if (rc)
		return rc;
	pm_finish(&v->pm);
	return xt_finish(&v->xt);
}

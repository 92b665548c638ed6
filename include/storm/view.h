/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file storm/view.h
 * @brief File-system views: which file, directory or metadata owns a block.
 *
 * A `storm_view` is built once from the file system on a volume, read through
 * a block-source callback (never a mount, never a device opened by the view
 * itself).  It answers, for any file-system block, what owns it: a file's
 * data (inode and byte offset), a directory block, an extent-tree or indirect
 * block, an inode-table block (which inodes), a bitmap, the superblock or
 * group descriptors (and their backups), the journal, or free space; and for
 * an inode, an absolute path.
 *
 * This version builds an ext4 (and ext2/ext3) view with libext2fs and keeps it
 * as a static snapshot: it does not yet follow metadata writes.  The block
 * source is used only while storm_view_open_ext4() runs.
 *
 * Memory: the view holds one 32-byte record per run of contiguous blocks with
 * one owner (a file extent, an inode table, a free run, …) plus, for paths,
 * 16 bytes per named inode and the bytes of every name read.
 *
 * A built view is immutable: lookups and paths may run from several threads.
 */
#ifndef STORM_VIEW_H
#define STORM_VIEW_H

#include <storm/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Reads @p len bytes at byte @p offset of the volume into @p buf.
 * @return 0 when all @p len bytes were read, or a negated errno (-EIO, …);
 *         a short read is an error.
 */
typedef int (*storm_blocksrc_read)(void *ctx, uint64_t offset, void *buf, size_t len);

/** A volume's file-system view.  Opaque. */
typedef struct storm_view storm_view;

/** What owns a block.  Values are frozen; new kinds are added at the end. */
typedef enum storm_owner_kind {
	STORM_OWNER_UNKNOWN = 0,  /**< marked in use, but no owner was found */
	STORM_OWNER_FREE,         /**< free in the block bitmap */
	STORM_OWNER_SUPERBLOCK,   /**< the superblock or a backup */
	STORM_OWNER_GROUP_DESC,   /**< group descriptors or their backups, or reserved GDT blocks (ino 7) */
	STORM_OWNER_BLOCK_BITMAP, /**< the block bitmap of group `group` */
	STORM_OWNER_INODE_BITMAP, /**< the inode bitmap of group `group` */
	STORM_OWNER_INODE_TABLE,  /**< inode table of group `group`; `ino` is the first inode in the block */
	STORM_OWNER_FILE_DATA,    /**< data of inode `ino` (file, symlink, special inode) at byte `offset` */
	STORM_OWNER_DIR_DATA,     /**< a block of directory `ino` at byte `offset` (entries or htree index) */
	STORM_OWNER_EXTENT_TREE,  /**< an extent-tree index or leaf block of inode `ino` */
	STORM_OWNER_INDIRECT,     /**< an indirect block of inode `ino` (block-mapped files; the resize inode's, ino 7) */
	STORM_OWNER_XATTR,        /**< the extended-attribute block of inode `ino` (first user found) */
	STORM_OWNER_JOURNAL,      /**< the jbd2 journal (inode `ino`), at byte `offset` of the journal */
	STORM_OWNER_OTHER         /**< anything else: the boot block before group 0 (1 KiB blocks), bad blocks */
} storm_owner_kind;

/**
 * What owns one block.  The layout is frozen (56 bytes); later versions fill
 * the reserved fields, which this version sets to zero.
 */
typedef struct storm_owner {
	uint32_t kind;        /**< a storm_owner_kind */
	uint32_t ino;         /**< owning inode, or first inode of an inode-table block; 0 if none */
	uint64_t offset;      /**< byte offset in the file/directory/journal (logical block × block size) */
	uint32_t group;       /**< block group, for group metadata; 0 otherwise */
	uint32_t reserved32;  /**< zero */
	uint64_t reserved[4]; /**< zero */
} storm_owner;

/**
 * Builds an ext2/3/4 view of the volume read through @p read.
 *
 * The file system is opened read-only with libext2fs through a private
 * io_manager that reads through @p read; every group's metadata, every in-use
 * inode's blocks and every directory are read once.  @p read and @p ctx are
 * not used after the call returns.
 *
 * @param volume_bytes size of the volume; reads beyond it are refused.
 * @return 0 and a view in @p *v, or:
 *  - the error @p read returned (-EIO, …);
 *  - STORM_ERR_UNSUPPORTED for features this view cannot map correctly
 *    (inline_data, encrypt, casefold, bigalloc, unknown incompatible ones);
 *  - -EUCLEAN when the volume holds no ext file system or a corrupt one (bad
 *    magic or checksum, blocks outside the volume, a looping directory, …);
 *  - -ENOMEM, -EINVAL.
 */
STORM_EXTERN int storm_view_open_ext4(storm_view **v, storm_blocksrc_read read, void *ctx,
				      uint64_t volume_bytes);

/** Frees a view; NULL is fine. */
STORM_EXTERN void storm_view_del(storm_view *v);

/** File-system block size in bytes. */
STORM_EXTERN uint32_t storm_view_block_size(const storm_view *v);

/** Number of file-system blocks (valid block numbers are 0 … count-1). */
STORM_EXTERN uint64_t storm_view_block_count(const storm_view *v);

/** Number of owner runs the view holds (32 bytes each). */
STORM_EXTERN size_t storm_view_extent_count(const storm_view *v);

/**
 * Tells what owns file-system block @p fs_block (a byte offset on the volume
 * divided by storm_view_block_size()).  A binary search, O(log runs).
 * @return 0 and @p *out filled, or -ERANGE if the block is past the file
 *         system's end, or -EINVAL.
 */
STORM_EXTERN int storm_view_lookup(const storm_view *v, uint64_t fs_block, storm_owner *out);

/**
 * Writes an absolute path of inode @p ino into @p buf: "/" for the root, the
 * first name found for an inode with several links.
 * @return the path's length (without the terminating NUL), or -ENOENT if the
 *         inode is not reachable from the root (unlinked, or not a file),
 *         -ERANGE if @p len is too small, -ELOOP for a directory cycle.
 */
STORM_EXTERN int storm_view_path(const storm_view *v, uint32_t ino, char *buf, size_t len);

/** Names a storm_owner_kind ("file", "dir", "extent-tree", …); never NULL. */
STORM_EXTERN const char *storm_owner_kind_name(uint32_t kind);

/* ------------------------------------------------------------------ */
/* A block source over an image file or a block device                 */

/** An open image file or block device.  Opaque. */
typedef struct storm_blocksrc_file storm_blocksrc_file;

/**
 * Opens @p path read-only as a block source.
 * @return 0, or a negated errno from open(2)/fstat(2), or -ENOMEM.
 */
STORM_EXTERN int storm_blocksrc_file_open(storm_blocksrc_file **f, const char *path);

/** Size in bytes of the file or device (pass it as volume_bytes). */
STORM_EXTERN uint64_t storm_blocksrc_file_size(const storm_blocksrc_file *f);

/**
 * A storm_blocksrc_read over a storm_blocksrc_file: pass this function and
 * the storm_blocksrc_file as its ctx.  @return 0, -EIO past the end, or the
 * negated errno of pread(2).
 */
STORM_EXTERN int storm_blocksrc_file_read(void *f, uint64_t offset, void *buf, size_t len);

/** Closes the file; NULL is fine. */
STORM_EXTERN void storm_blocksrc_file_close(storm_blocksrc_file *f);

#ifdef __cplusplus
}
#endif
#endif

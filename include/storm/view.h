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

/**
 * Names the first feature of the ext2/3/4 file system read through @p read
 * that storm_view_open_ext4() or storm_view_follow() refuse with
 * STORM_ERR_UNSUPPORTED ("inline_data", "encrypt", "casefold", "bigalloc",
 * an external journal, an unknown incompatible feature), for a message to a
 * user.  @return a static string, or NULL if none (or no ext superblock).
 */
STORM_EXTERN const char *storm_view_ext4_unsupported(storm_blocksrc_read read, void *ctx);

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
/* Following the volume: file operations from the writes seen          */

/** A file operation reconstructed from block I/O.  Values are frozen. */
typedef enum storm_fop_kind {
	STORM_FOP_CREATE = 1, /**< a regular file (or fifo, socket, device) got its first name */
	STORM_FOP_MKDIR,      /**< a directory was created */
	STORM_FOP_UNLINK,     /**< a name of a non-directory was removed */
	STORM_FOP_RMDIR,      /**< a directory was removed */
	STORM_FOP_RENAME,     /**< a name moved: `path` → `to` */
	STORM_FOP_LINK,       /**< an inode that had a name got another one */
	STORM_FOP_SYMLINK,    /**< a symbolic link was created */
	STORM_FOP_TRUNCATE,   /**< a file shrank to `size` bytes */
	STORM_FOP_SETATTR,    /**< mode, owner or group changed (`mode`, `uid`, `gid` are the new ones) */
	STORM_FOP_WRITE,      /**< `length` bytes of the file written at byte `offset` */
	STORM_FOP_READ        /**< `length` bytes of the file read at byte `offset` */
} storm_fop_kind;

/**
 * One file operation.  Strings and the struct live until the callback
 * returns.  Fields an operation does not use are zero or NULL.  A path is at
 * most PATH_MAX + 255 bytes (a name under a directory whose own path is up to
 * PATH_MAX); NULL when the inode (for `to`: the new parent) has no known path.
 */
typedef struct storm_fop {
	uint32_t op;        /**< a storm_fop_kind */
	uint32_t ino;       /**< the inode the operation is about */
	const char *path;   /**< absolute path (before a rename or removal); NULL if the inode has no known name */
	const char *to;     /**< rename: the new absolute path */
	uint64_t offset;    /**< write, read: byte offset in the file */
	uint64_t length;    /**< write, read: bytes (whole file-system blocks, or the I/O's bytes inside a block) */
	uint64_t size;      /**< truncate: the new size */
	uint64_t stamp;     /**< the stamp of the storm_view_write()/storm_view_read() the bytes came with */
	uint32_t mode;      /**< create, mkdir, symlink, setattr: the inode's new mode; unlink, rmdir: its mode before */
	uint32_t uid, gid;  /**< setattr: the new owner and group */
} storm_fop;

/** Receives each file operation; a non-zero return is passed back to the feeder. */
typedef int (*storm_fop_cb)(void *ctx, const storm_fop *op);

/**
 * Makes @p v follow the volume: from now on it interprets the writes passed to
 * storm_view_write() (jbd2 journal transactions when their commit block is
 * seen, inode tables, directory blocks including htree, extent trees, block
 * bitmaps), keeps
 * its block owners and paths current and reports file operations to @p cb.
 *
 * @p read must return the volume's contents as they were when the view was
 * built (for example the same image): blocks that no write has replaced yet
 * are read through it to compare old and new metadata.  Data written to blocks
 * no file owns yet (delayed allocation, data=ordered) is held, as block
 * ranges, and reported as writes once a committed transaction gives the
 * blocks an owner.
 *
 * A followed view is no longer immutable: it must not be used from several
 * threads at once.  Not supported: file systems without a journal get the
 * same interpretation per write, but blocks first written while free are not
 * remembered, so new directory or extent blocks there are read from @p read.
 *
 * @return 0, -EINVAL, -ENOMEM, -EALREADY if already following, the error of
 *         @p read, or STORM_ERR_UNSUPPORTED for a journal it cannot parse
 *         (external journal, unknown incompatible jbd2 features).
 */
STORM_EXTERN int storm_view_follow(storm_view *v, storm_blocksrc_read read, void *ctx,
				   storm_fop_cb cb, void *cb_ctx);

/**
 * Feeds one completed, successful write of @p len bytes at byte @p offset of
 * the volume.  @p data may be NULL when the bytes are not known: file data is
 * still attributed, metadata and journal blocks are then counted as missed.
 * Writes must come in completion order.  @p stamp is handed back in every
 * storm_fop the write causes (a timestamp, a sequence number).
 * @return 0, the callback's non-zero return, -EINVAL, -ENOMEM.  Malformed
 *         metadata is counted in storm_view_stats, never returned.
 */
STORM_EXTERN int storm_view_write(storm_view *v, uint64_t offset, const void *data, size_t len,
				  uint64_t stamp);

/**
 * Tells a followed view that the volume's bytes at @p offset may have changed
 * without a storm_view_write(): a write that failed, was aborted or ended with
 * its connection, and may have reached the medium anyway.  The view keeps a
 * read cache of inode-table blocks read through its source; with a live source
 * (an iSCSI LUN) those blocks are read again after this.  Nothing is reported.
 * @return 0 or -EINVAL (no followed view).
 */
STORM_EXTERN int storm_view_invalidate(storm_view *v, uint64_t offset, uint64_t len);

/**
 * Reports the file data in a completed read of @p len bytes at @p offset as
 * STORM_FOP_READ operations.  @return 0, the callback's return, -EINVAL.
 */
STORM_EXTERN int storm_view_read(storm_view *v, uint64_t offset, size_t len, uint64_t stamp);

/**
 * Reports what is still held (data on blocks no committed transaction gave an
 * owner) as STORM_FOP_WRITE operations with ino 0 and a NULL path, and forgets
 * it.  Call it at the end of a capture.  @return 0 or the callback's return.
 */
STORM_EXTERN int storm_view_flush(storm_view *v);

/** Counters of a followed view. */
typedef struct storm_view_stats {
	uint64_t transactions;     /**< jbd2 transactions applied */
	uint64_t journal_blocks;   /**< journalled blocks applied */
	uint64_t journal_skipped;  /**< transactions incomplete or malformed, skipped */
	uint64_t direct_writes;    /**< metadata blocks written in place and interpreted */
	uint64_t inodes_changed;   /**< inode slots that changed */
	uint64_t dir_blocks;       /**< directory blocks compared */
	uint64_t malformed;        /**< metadata that failed a check and was ignored */
	uint64_t missed;           /**< metadata or journal blocks whose bytes were not known */
	uint64_t held_blocks;      /**< blocks now held for an owner not yet known */
	uint64_t overlay_bytes;    /**< bytes of metadata blocks kept as last written */
	uint64_t ops;              /**< file operations reported */
	uint64_t bitmap_blocks;    /**< blocks whose owner a block bitmap corrected (freed or allocated unseen) */
	uint64_t source_reads;     /**< metadata blocks read through the volume source (not in the overlay or the inode-table cache) */
	uint64_t source_cached;    /**< inode-table blocks served by the view's read cache instead of the source */
} storm_view_stats;

/** Fills @p out; zeros for a view that does not follow. */
STORM_EXTERN void storm_view_stats_get(const storm_view *v, storm_view_stats *out);

/** Names a storm_fop_kind as storm-monitor prints it ("create", "rename", …); never NULL. */
STORM_EXTERN const char *storm_fop_name(uint32_t op);

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

/* ------------------------------------------------------------------ */
/* A block source over an iSCSI LUN (libiscsi)                         */

/**
 * A read-only iSCSI session of its own to one LUN, for building a view of a
 * live volume (a middlebox that cannot read the image file) while the
 * tenant's initiator runs.  Opaque.
 *
 * It never writes: the only SCSI commands it sends are READ CAPACITY(16),
 * INQUIRY (Block Limits VPD page) and READ(16); besides them, the iSCSI login,
 * answers to the target's NOP-Ins and the logout.  No WRITE, UNMAP, WRITE
 * SAME, SYNCHRONIZE CACHE or reservation command is ever sent.
 *
 * Every call blocks: a login is bounded by 15 s, each command by 30 s
 * (-ETIMEDOUT past that).  A source is used by one thread at a time; it starts
 * no thread, installs no signal handler and prints nothing (libiscsi's log is
 * turned off, even when LIBISCSI_DEBUG is set).  libiscsi reads the CHAP
 * secrets LIBISCSI_CHAP_USERNAME / LIBISCSI_CHAP_PASSWORD from the
 * environment when the URL has none.
 */
typedef struct storm_blocksrc_iscsi storm_blocksrc_iscsi;

/**
 * Logs in to the LUN named by @p url and reads its capacity.
 *
 * @param url libiscsi's form `iscsi://[user[%password]@]host[:port]/target-iqn/lun`
 *        (port 3260 by default; an IPv6 host in brackets: `iscsi://[::1]:3260/…`;
 *        '%' escapes in the target name are decoded).  Copied.
 * @param initiator_iqn the name this session logs in with; NULL for
 *        "iqn.2024-01.org.libstorm:view".  Copied.
 * @return 0 and a source in @p *s, or:
 *  - -EINVAL for a malformed URL (or NULL arguments);
 *  - the connect(2) error: -ECONNREFUSED, -EHOSTUNREACH (also for a host name
 *    that does not resolve), -ENETUNREACH, …;
 *  - -ETIMEDOUT when the login did not finish within 15 s;
 *  - -EACCES when the target refused the login for authentication or
 *    authorization, -ENXIO when it has no such target name (or no such LUN),
 *    -EAGAIN when it is out of resources or unavailable for now, -EPROTO for
 *    any other login refusal;
 *  - -EIO when READ CAPACITY(16) failed or gave a block size over 1 MiB;
 *  - -ENOMEM.
 *  The failure's text is not kept (there is no source to ask).
 */
STORM_EXTERN int storm_blocksrc_iscsi_open(storm_blocksrc_iscsi **s, const char *url,
					   const char *initiator_iqn);

/** Size of the LUN in bytes (pass it as volume_bytes). */
STORM_EXTERN uint64_t storm_blocksrc_iscsi_size(const storm_blocksrc_iscsi *s);

/** The LUN's logical block size in bytes (512, 4096, …). */
STORM_EXTERN uint32_t storm_blocksrc_iscsi_block_size(const storm_blocksrc_iscsi *s);

/**
 * A storm_blocksrc_read over a storm_blocksrc_iscsi: pass this function and
 * the storm_blocksrc_iscsi as its ctx.
 *
 * Any byte offset and length: a read that does not start or end on a LUN block
 * reads the partial blocks whole and copies the bytes asked for.  Aligned runs
 * are read straight into @p buf with READ(16) commands of at most 1 MiB (less
 * if the target's Block Limits VPD page says so), one at a time.  When the
 * connection drops, the source logs in again once per call and repeats the
 * command; a UNIT ATTENTION is retried.
 *
 * @return 0, or -EIO past the LUN's end, for a SCSI error (the sense is in
 *         storm_blocksrc_iscsi_error()) or a short transfer; -ENXIO when the
 *         target no longer has the LUN; -ETIMEDOUT (the session is dropped,
 *         the next call logs in again); -ECONNRESET or the new login's error
 *         when the session could not be brought back; -ENOMEM.  @p buf is
 *         undefined after an error.
 */
STORM_EXTERN int storm_blocksrc_iscsi_read(void *s, uint64_t offset, void *buf, size_t len);

/**
 * Describes the last failure of @p s (libiscsi's text, with the sense key and
 * ASC/ASCQ of a SCSI error), or "" if nothing failed yet.  Valid until the next
 * call on @p s.
 */
STORM_EXTERN const char *storm_blocksrc_iscsi_error(const storm_blocksrc_iscsi *s);

/** Logs out (bounded by 5 s), closes the connection and frees @p s; NULL is fine. */
STORM_EXTERN void storm_blocksrc_iscsi_close(storm_blocksrc_iscsi *s);

#ifdef __cplusplus
}
#endif
#endif

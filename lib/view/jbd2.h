/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internal to lib/view: the jbd2 journal interpreter.  It is fed the blocks
 * written into an ext4 journal (journal-relative indexes, in completion
 * order), holds them until their transaction's commit block is written, and
 * then hands the committed transaction to its caller block by block.
 * On-disk format: the kernel's Documentation/filesystems/ext4/journal.rst.
 *
 * Choices:
 *  - Checksums (CSUM_V2/V3, crc32c): the superblock, descriptor, revoke and
 *    commit block checksums and every journalled block's tag checksum are
 *    verified; a mismatch makes the transaction malformed (skipped, counted),
 *    so a forged journal block cannot reach the view.  The older
 *    COMPAT_CHECKSUM (crc32 of the whole transaction in the commit block) is
 *    accepted but not verified.
 *  - FAST_COMMIT: accepted.  The log then wraps before the fast-commit area
 *    (the last s_num_fc_blks blocks, 256 when 0) and writes to that area are
 *    ignored: fast commits are not interpreted, the view learns of those
 *    changes at the next full commit or checkpoint.
 *  - ASYNC_COMMIT: the kernel may then write the commit block before the
 *    blocks of its transaction.  A commit whose blocks are still missing is
 *    kept (one at a time) and the transaction is applied as soon as the last
 *    block arrives; it counts as incomplete only when another commit, or a
 *    write over the commit block, comes first.  Without ASYNC_COMMIT a
 *    commit with missing blocks is incomplete at once.
 *  - Where a transaction starts: right after the previous commit block seen
 *    (or the log start the superblock names); when that is unknown (after
 *    attaching to a running journal), at the earliest held descriptor or
 *    revoke block of the commit's sequence.
 */
#ifndef STORM_VIEW_JBD2_H
#define STORM_VIEW_JBD2_H

#include <stddef.h>
#include <stdint.h>

struct jbd2;

/* What a committed transaction is handed to.  Any member may be NULL.  The
 * callbacks must not call back into the same struct jbd2. */
struct jbd2_ops {
	/* A committed transaction `seq`, one call per journalled block in log
	   order; `data` is block_size bytes with an escaped first word restored
	   (JBD2_FLAG_ESCAPE), valid during the call only.  Non-zero return stops
	   the transaction and is returned by jbd2_write. */
	int (*block)(void *ctx, uint32_t seq, uint64_t home, const uint8_t *data);
	/* A revoke record of the committed transaction `seq`. */
	int (*revoke)(void *ctx, uint32_t seq, uint64_t home);
	/* After all blocks and revokes of `seq` were delivered. */
	int (*commit)(void *ctx, uint32_t seq);
};

/**
 * Starts interpreting a journal.
 * @param sb the journal superblock (journal block 0 as on disk, block_size
 *        bytes); copied what is needed, not kept.
 * @param nblocks journal length in blocks (the journal inode's size / block
 *        size).
 * @param mem_cap most bytes of uncommitted journal block copies held; past it
 *        the oldest copies are dropped (and counted in dropped_bytes).  The
 *        interpreter's own overhead (two blocks and ~48 bytes per held
 *        block) comes on top.
 * @param ops, ctx the callbacks and their context; @p ops must outlive @p *j.
 * @return 0 and sets @p *j; -EINVAL for a NULL argument, @p block_size not a
 *         power of two from 1024 to 65536, bad magic or block type, an
 *         s_blocksize other than @p block_size, s_first/s_maxlen outside
 *         @p nblocks, both checksum versions set, or a superblock checksum
 *         mismatch;
 *         STORM_ERR_UNSUPPORTED for unknown incompatible features or a
 *         checksum type other than crc32c; -ENOMEM.
 */
int jbd2_new(struct jbd2 **j, const uint8_t *sb, uint32_t block_size, uint64_t nblocks,
	     size_t mem_cap, const struct jbd2_ops *ops, void *ctx);

/**
 * One journal block was written (completed write) at journal index
 * @p jblock (0 = superblock); @p data is block_size bytes, copied if needed.
 * Blocks of a transaction may arrive in any order before its commit block;
 * the commit block applies the transaction through the callbacks.  A write
 * to block 0 updates the superblock fields; writes outside the log (the
 * fast-commit area) are ignored.
 * @return 0 (also when a commit found its transaction incomplete: counted in
 *         the stats); a callback's non-zero return; -EUCLEAN for a malformed
 *         transaction or superblock, skipped and counted (jbd2_last_error()
 *         says what); STORM_ERR_UNSUPPORTED for a superblock write turning on
 *         an unknown feature (refused, counted); -EINVAL for @p jblock past
 *         the journal.  Never more memory than mem_cap for held copies.
 */
int jbd2_write(struct jbd2 *j, uint64_t jblock, const uint8_t *data);

struct jbd2_stats {
	uint64_t committed;     /* transactions delivered up to their commit call */
	uint64_t blocks;        /* journalled blocks delivered */
	uint64_t revokes;       /* revoke records delivered */
	uint64_t incomplete;    /* commits whose transaction had blocks missing */
	uint64_t malformed;     /* transactions or superblock writes refused */
	uint64_t dropped_bytes; /* held copies dropped to stay under mem_cap */
};

/** Copies the counters into @p out. */
void jbd2_stats(const struct jbd2 *j, struct jbd2_stats *out);

/** @return a static string naming the last problem seen (malformed or
 *  incomplete transaction, refused superblock), "" if none. */
const char *jbd2_last_error(const struct jbd2 *j);

/** Frees everything; NULL-safe. */
void jbd2_del(struct jbd2 *j);

#endif

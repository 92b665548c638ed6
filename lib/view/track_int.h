/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internal to lib/view: following an ext4 volume from the writes seen.
 *
 * A write is split by the current owner of each block: file data is reported
 * at once, data on blocks no file owns is held (held.c), journal blocks go to
 * the jbd2 interpreter (jbd2.c), metadata blocks written in place become a
 * one-write transaction.  A transaction (txn.c) keeps each block's content
 * before and after; applying it compares inode slots (inode.c), re-walks the
 * block maps of changed inodes (bmap.c), compares directory blocks (dirent.c)
 * and reports the file operations that explain the differences (emit.c).
 * The last written content of every metadata block is kept in the overlay
 * (overlay.c); blocks never written are read through the caller's source.
 */
#ifndef STORM_VIEW_TRACK_INT_H
#define STORM_VIEW_TRACK_INT_H

#include "view/view_int.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

struct jbd2;

/* One metadata block as last written. */
struct ov_block {
	uint64_t block;
	UT_hash_handle hh;
	struct ov_block *older, *newer; /* write order, for eviction */
	uint8_t data[];
};

/* One block of the transaction being applied. */
struct tx_block {
	uint64_t block;
	UT_hash_handle hh;
	storm_owner was;  /* owner before the transaction */
	bool had_before;  /* `before` could be read */
	uint8_t *before;  /* content before the transaction */
	uint8_t *after;   /* content the transaction wrote */
	struct tx_block *next; /* in arrival order */
};

/* The fields of an inode the view compares (inodes.rst). */
struct ino_info {
	uint16_t mode;
	uint16_t links;
	uint32_t uid, gid;
	uint64_t size;
	uint32_t dtime;
	uint32_t flags;
	uint32_t generation;
	uint64_t xattr;
	uint8_t iblock[60];
};

/* A directory entry (dirent.c). */
struct dent {
	uint32_t parent, ino;
	uint8_t len;
	uint8_t ftype;
	char name[256];
};

struct dent_list {
	struct dent *e;
	size_t n, cap;
};

/* An inode the transaction touched, and how. */
struct ino_change {
	uint32_t ino;
	bool old_used, new_used;
	bool reborn;           /* freed and reused (generation changed) */
	bool remap;            /* its block map may have changed */
	struct ino_info old, cur;
};

/* A run of new blocks of an inode, to look for held data afterwards. */
struct claim {
	uint32_t ino;
	uint64_t lblk, pblk, len;
	uint64_t size; /* the inode's size after the transaction */
	bool quiet;    /* not a regular file (a symbolic link's target): not reported */
};

/* File bytes written past the inode's size as the view knows it (an append
 * whose data reaches the disk before the transaction that grows the size):
 * reported when a transaction grows the size over them (tail.c). */
struct tail {
	uint32_t ino;
	UT_hash_handle hh;
	uint64_t from, to, stamp;
};

struct txn {
	struct tx_block *by_block; /* uthash */
	struct tx_block *first, *last;
	size_t nblocks;
	struct ino_change *ch;
	size_t nch, chcap;
	uint32_t *idx;        /* changes by inode: index + 1, 0 empty (changes.c) */
	size_t idx_cap;
	struct claim *cl;
	size_t ncl, clcap;
	struct dent_list removed, added;
};

struct track {
	storm_view *v;
	storm_blocksrc_read read;
	void *rctx;
	storm_fop_cb cb;
	void *cbctx;
	uint32_t bs;
	uint32_t inode_size, inodes_per_group, inodes_count, first_ino;
	uint32_t journal_ino;
	uint32_t blocks_per_group, first_data_block;
	uint32_t ngroups;
	uint64_t *itable;        /* first inode-table block of each group */
	struct jbd2 *jnl;
	uint64_t jblocks;        /* journal length in blocks */
	struct ov_block *ov;     /* uthash by block */
	struct ov_block *ov_old, *ov_new;
	size_t ov_bytes, ov_cap;
	struct xt_index held;    /* held data: kind 1, base = stamp */
	struct tail *tails;      /* uthash by inode */
	size_t ntails;
	struct txn tx;
	uint64_t stamp;          /* of the write being fed */
	uint8_t *scratch;        /* one block for reads through the source */
	uint64_t *it_tag;        /* itcache.c: block + 1 per slot, 0 empty */
	uint8_t *it_data;
	uint32_t it_slots;
	storm_view_stats st;
	int cb_err;              /* first non-zero callback return */
};

/* overlay.c */
const uint8_t *ov_get(const struct track *t, uint64_t block);
int ov_put(struct track *t, uint64_t block, const uint8_t *data);
void ov_drop(struct track *t, uint64_t block);
void ov_free(struct track *t);

/* Content of @p block: before the transaction (@p old) or now.  Reads through
 * the source into @p buf when no write replaced the block.  NULL on error. */
const uint8_t *tk_block(struct track *t, uint64_t block, bool old, uint8_t *buf);

/* tk_block() for a block of an inode table: its source reads go through the
 * inode-table cache (itcache.c). */
const uint8_t *tk_itable_block(struct track *t, uint64_t block, bool old, uint8_t *buf);
/* Reads @p block through the source into @p buf (counted in the stats). */
const uint8_t *tk_source(struct track *t, uint64_t block, uint8_t *buf);

/* itcache.c: a source read of an inode-table block, served from the cache
 * when it holds the block; it_forget() drops blocks a write touched or the
 * overlay took. */
const uint8_t *it_read(struct track *t, uint64_t block, uint8_t *buf);
void it_forget(struct track *t, uint64_t first, uint64_t count);
void it_free(struct track *t);

/* inode.c */
void ino_parse(const uint8_t *raw, size_t size, struct ino_info *out);
bool ino_in_use(const struct ino_info *in);
/* Reads inode @p ino (old or current) into @p out.  0, -ERANGE, -EIO. */
int ino_read(struct track *t, uint32_t ino, bool old, struct ino_info *out);
/* The inode-table block holding @p ino, and the byte offset in it. */
int ino_locate(const struct track *t, uint32_t ino, uint64_t *block, size_t *off);

/* bmap.c: calls @p cb for every run of an inode's blocks: data (tree=false,
 * at logical block lblk) and extent-tree or indirect blocks (tree=true). */
typedef int (*bmap_cb)(void *ctx, uint64_t lblk, uint64_t pblk, uint64_t len, bool tree);
int bmap_walk(struct track *t, const struct ino_info *in, bool old, bmap_cb cb, void *ctx);
bool bmap_has_blocks(const struct ino_info *in);

/* dirent.c: appends the named entries of a directory block. */
int dent_parse(struct track *t, const uint8_t *blk, uint32_t parent, struct dent_list *out);
int dent_push(struct dent_list *l, const struct dent *d);
void dent_sort(struct dent_list *l);
int dent_cmp(const struct dent *a, const struct dent *b);
void dent_free(struct dent_list *l);

/* bitmap.c: a block bitmap the transaction wrote: blocks it marks free that
 * the view gives to a file become free, blocks it marks used that the view
 * has as free become unknown (allocated, owner not yet seen). */
int bitmap_apply(struct track *t, const struct tx_block *x);

/* changes.c: the transaction's changed inodes, found by inode number. */
struct ino_change *tx_change(struct txn *tx, uint32_t ino);
struct ino_change *tx_change_add(struct txn *tx, uint32_t ino); /* NULL: no memory */
void tx_changes_reset(struct txn *tx);

/* txn.c */
int tx_add(struct track *t, uint64_t block, const uint8_t *data);
int tx_apply(struct track *t);
void tx_reset(struct track *t);

/* emit.c */
/* Room for any path a storm_fop carries: a name under a directory whose
 * own path is up to PATH_MAX. */
#define TK_PATH_CAP (PATH_MAX + 256)
/* The path of @p ino into @p buf (TK_PATH_CAP bytes); NULL if it has none. */
const char *tk_path(struct track *t, uint32_t ino, char *buf);
int emit_namespace(struct track *t);
int emit_attrs(struct track *t);
int emit_op(struct track *t, storm_fop *op);

/* held.c */
int held_add(struct track *t, uint64_t block, uint64_t len);
int held_claim(struct track *t, const struct claim *c);
int held_flush(struct track *t);

/* tail.c: reports @p len bytes of inode @p ino at @p off written with
 * @p stamp, the part at or past @p size kept as a tail. */
int tail_write(struct track *t, uint32_t ino, const char *path, uint64_t off, uint64_t len,
	       uint64_t size, uint64_t stamp);
/* The size of @p ino went from @p old to @p cur: reports the tail bytes now
 * inside the file; a shrink or a free forgets them. */
int tail_resize(struct track *t, uint32_t ino, const char *path, uint64_t old, uint64_t cur);
void tail_forget(struct track *t, uint32_t ino);
void tail_free(struct track *t);

/* track.c */


#endif

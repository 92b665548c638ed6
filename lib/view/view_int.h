/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal to lib/view: the owner-run index, the path map and the view. */
#ifndef STORM_VIEW_INT_H
#define STORM_VIEW_INT_H

#include <storm/view.h>
#include <stdbool.h>

/*
 * One run of contiguous blocks with one owner.  `base` is what the first
 * block maps to: a logical block for data kinds, the first inode for an
 * inode-table run; the following blocks step from it (see xt_step()).
 * 32 bytes per run.
 */
struct xt_run {
	uint64_t start;
	uint64_t base;
	uint32_t len;
	uint32_t ino;
	uint32_t group;
	uint8_t kind;
};

struct xt_chunk; /* runmap.c */

/* A directory entry of the index: a chunk and the start of its first run. */
struct xt_dirent {
	uint64_t first;
	struct xt_chunk *c;
};

/*
 * The owner-run index: disjoint runs sorted by start.  Built with xt_add()
 * and xt_finish(), then kept up to date with xt_assign().  A zeroed index
 * (with inodes_per_block set) is empty and may be assigned to at once.
 * Internally a two-level B+-tree: a sorted directory of chunks, each a
 * sorted array of at most 256 runs (see runmap.c).
 */
struct xt_index {
	struct xt_run *pend; /* build phase: runs added, not yet finished */
	size_t npend, pend_cap;
	struct xt_dirent *dir; /* chunks in block order */
	size_t nchunks, dir_cap;
	size_t count;       /* runs in the chunks */
	size_t chunk_bytes; /* heap bytes the chunks hold */
	bool dynamic;       /* finished or assigned to: xt_add() is refused */
	uint32_t inodes_per_block; /* step of base for inode-table runs */
};

/* Build phase: adds a run (split as needed so each len fits in 31 bits).
 * Overlaps are allowed and resolved by xt_finish().  0, -ENOMEM, or -EINVAL
 * once the index is dynamic. */
int xt_add(struct xt_index *x, uint64_t start, uint64_t len, unsigned kind, uint32_t ino,
	   uint32_t group, uint64_t base);
/* Sorts the runs, trims overlaps (a claimed block beats a free one, else the
 * run starting first wins) and merges neighbours; afterwards the index is
 * dynamic.  0, or -ENOMEM with the index still valid (and xt_finish() may be
 * called again). */
int xt_finish(struct xt_index *x);
/* The run covering `block`, NULL if none.  The pointer is valid until the
 * next modification of the index. */
const struct xt_run *xt_find(const struct xt_index *x, uint64_t block);
/*
 * Dynamic phase: blocks [start, start+len) are now owned as given, whatever
 * owned them before; kind STORM_OWNER_UNKNOWN (0) leaves them unowned
 * (xt_find() returns NULL).  Runs overlapping the range are cut at its edges
 * (a right remainder's base advances by xt_step(kind) per block cut), and
 * equal neighbours are merged (same kind, ino and group, contiguous, base
 * continuing).  O(log n) plus a move of at most 256 runs, unless the range
 * covers many runs.  0; -ENOMEM with the index unchanged; -EINVAL if len is
 * 0, start + len overflows, kind > 255, or xt_add() runs are not finished.
 */
int xt_assign(struct xt_index *x, uint64_t start, uint64_t len, unsigned kind, uint32_t ino,
	      uint32_t group, uint64_t base);
/* Calls cb for every run overlapping [start, start+len) (clipped at
 * UINT64_MAX), in block order, with a copy clipped to the range (start, base
 * and len adjusted).  Stops on the first non-zero return and returns it; 0
 * otherwise; -EINVAL without cb.  The callback must not modify the index. */
int xt_visit(const struct xt_index *x, uint64_t start, uint64_t len,
	     int (*cb)(void *ctx, const struct xt_run *r), void *ctx);
/* The number of runs (those added and not yet finished, in the build phase). */
size_t xt_count(const struct xt_index *x);
/* Heap bytes held by the index. */
size_t xt_mem(const struct xt_index *x);
/* How much `base` advances per block for runs of `kind`: 1 for data kinds,
 * inodes_per_block for the inode table, 0 for the others. */
uint64_t xt_step(const struct xt_index *x, unsigned kind);
/* Frees the runs; the index is empty (and not dynamic) again.  Keeps
 * inodes_per_block. */
void xt_free(struct xt_index *x);

/*
 * One name of an inode: the directory holding it and the name bytes (see
 * pm_name()).  Pointers to entries are valid until the next modification.
 */
struct path_entry {
	uint32_t child;
	uint32_t parent;
	uint32_t name_len;
	uint32_t name_off; /* into path_map.names */
	uint32_t next;     /* index + 1 of the child's next (younger) name, 0 at
			      the end; chains free entries when unused */
};

/*
 * The path map: child inode -> its names, oldest first.  A zeroed map is
 * empty.  An open-addressing hash table (linear probing) of the oldest name
 * of each child, entries in one array, names packed in one arena.
 */
struct path_map {
	struct path_entry *e; /* entries; name_len 0 marks a free one */
	size_t ne, e_cap;     /* entries used or freed, allocated */
	uint32_t free_e;      /* index + 1 of the first free entry, 0 if none */
	uint32_t *slot;       /* index + 1 of a child's oldest name, 0 empty */
	size_t nslots;        /* a power of two, or 0 */
	unsigned slot_bits;
	size_t children;      /* slots in use */
	size_t count;         /* names held */
	char *names;          /* name bytes, not NUL-terminated */
	size_t names_len, names_cap, names_dead;
};

/* Build phase: pm_link(), but a name longer than 255 bytes (not possible on
 * ext4) is -EUCLEAN, as corrupt input. */
int pm_add(struct path_map *m, uint32_t child, uint32_t parent, const char *name, size_t len);
/* Ends the build phase (nothing left to do: the map is always ready). */
void pm_finish(struct path_map *m);
/* Adds a name of child (hard links give several; pm_find() returns the
 * oldest remaining).  The name bytes are copied.  0; a duplicate (same child,
 * parent and name) is a no-op returning 0; -ENOMEM with the map unchanged;
 * -EINVAL if len is 0 or more than 255. */
int pm_link(struct path_map *m, uint32_t child, uint32_t parent, const char *name, size_t len);
/* Removes that exact name of child.  0 or -ENOENT. */
int pm_unlink(struct path_map *m, uint32_t child, uint32_t parent, const char *name, size_t len);
/* The oldest remaining name of child, NULL if none. */
const struct path_entry *pm_find(const struct path_map *m, uint32_t child);
/* The e->name_len bytes of e's name (not NUL-terminated); valid until the
 * next modification. */
const char *pm_name(const struct path_map *m, const struct path_entry *e);
/* The number of names held. */
size_t pm_count(const struct path_map *m);
/* Heap bytes held by the map. */
size_t pm_mem(const struct path_map *m);
void pm_free(struct path_map *m);

struct storm_view {
	uint32_t block_size;
	uint64_t block_count;
	uint32_t root_ino;
	struct xt_index xt;
	struct path_map pm;
	struct track *tk; /* set while following the volume (track.c) */
};

struct track;
/* Frees what following the volume holds (track.c); NULL is fine. */
void tk_free(struct track *t);

/* Builds v->xt and v->pm from an open libext2fs file system (ext4_map.c);
 * `fs` is an ext2_filsys, kept as void * so this header stays libext2fs-free. */
int ext4_build(struct storm_view *v, void *fs);

#endif

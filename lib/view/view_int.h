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

struct xt_index {
	struct xt_run *runs;
	size_t n, cap;
	uint32_t inodes_per_block; /* step of base for inode-table runs */
};

int xt_add(struct xt_index *x, uint64_t start, uint64_t len, unsigned kind, uint32_t ino,
	   uint32_t group, uint64_t base);
/* Sorts the runs, trims overlaps (a claimed block beats a free one, else the
 * run starting first wins) and merges neighbours.  0 or -ENOMEM. */
int xt_finish(struct xt_index *x);
const struct xt_run *xt_find(const struct xt_index *x, uint64_t block);
uint64_t xt_step(const struct xt_index *x, unsigned kind);
void xt_free(struct xt_index *x);

/* Directory entries sorted by child inode: the first name seen for each. */
struct path_entry {
	uint32_t child;
	uint32_t parent;
	uint32_t name_off; /* into path_map.names */
	uint32_t name_len;
};

struct path_map {
	struct path_entry *e;
	size_t n, cap;
	char *names;
	size_t names_len, names_cap;
};

int pm_add(struct path_map *m, uint32_t child, uint32_t parent, const char *name, size_t len);
void pm_finish(struct path_map *m);
const struct path_entry *pm_find(const struct path_map *m, uint32_t child);
void pm_free(struct path_map *m);

struct storm_view {
	uint32_t block_size;
	uint64_t block_count;
	uint32_t root_ino;
	struct xt_index xt;
	struct path_map pm;
};

/* Builds v->xt and v->pm from an open libext2fs file system (ext4_map.c);
 * `fs` is an ext2_filsys, kept as void * so this header stays libext2fs-free. */
int ext4_build(struct storm_view *v, void *fs);

#endif

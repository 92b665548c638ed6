/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The owner-run index: merging, overlap trimming, binary search. */
#include "view/view_int.h"

#include <criterion/criterion.h>

static struct xt_index idx(void)
{
	return (struct xt_index){ .inodes_per_block = 4 };
}

Test(extent_index, contiguous_blocks_merge_into_one_run)
{
	struct xt_index x = idx();

	for (uint64_t b = 100; b < 200; b++)
		cr_assert_eq(xt_add(&x, b, 1, STORM_OWNER_FILE_DATA, 12, 0, b - 90), 0);
	/* Physically contiguous but logically not: a new run. */
	cr_assert_eq(xt_add(&x, 200, 1, STORM_OWNER_FILE_DATA, 12, 0, 500), 0);
	/* Another inode: a new run. */
	cr_assert_eq(xt_add(&x, 201, 1, STORM_OWNER_FILE_DATA, 13, 0, 111), 0);
	cr_assert_eq(xt_finish(&x), 0);
	cr_assert_eq(xt_count(&x), 3);
	cr_assert_eq(xt_find(&x, 100)->len, 100);
	const struct xt_run *r = xt_find(&x, 150);

	cr_assert(r && r->ino == 12 && r->base + (150 - r->start) == 60);
	cr_assert_null(xt_find(&x, 99));
	cr_assert_null(xt_find(&x, 202));
	cr_assert_eq(xt_find(&x, 201)->ino, 13);
	xt_free(&x);
}

static int sorted_disjoint(void *ctx, const struct xt_run *r)
{
	uint64_t *end = ctx;

	cr_assert_leq(*end, r->start);
	*end = r->start + r->len;
	return 0;
}

Test(extent_index, overlaps_are_trimmed_and_free_space_loses)
{
	struct xt_index x = idx();

	cr_assert_eq(xt_add(&x, 0, 100, STORM_OWNER_FREE, 0, 0, 0), 0);
	cr_assert_eq(xt_add(&x, 10, 10, STORM_OWNER_FILE_DATA, 20, 0, 0), 0);
	cr_assert_eq(xt_add(&x, 0, 5, STORM_OWNER_INODE_TABLE, 0, 3, 1), 0);
	cr_assert_eq(xt_add(&x, 15, 10, STORM_OWNER_DIR_DATA, 21, 0, 7), 0);
	cr_assert_eq(xt_finish(&x), 0);
	/* Sorted and disjoint. */
	uint64_t end = 0;

	cr_assert_eq(xt_visit(&x, 0, UINT64_MAX, sorted_disjoint, &end), 0);
	cr_assert_eq(xt_find(&x, 0)->kind, STORM_OWNER_INODE_TABLE);
	cr_assert_eq(xt_find(&x, 4)->base + (4 - xt_find(&x, 4)->start) * 4, 17);
	cr_assert_eq(xt_find(&x, 12)->kind, STORM_OWNER_FILE_DATA);
	/* The directory run lost its first five blocks, and its base moved. */
	const struct xt_run *d = xt_find(&x, 22);

	cr_assert_eq(d->kind, STORM_OWNER_DIR_DATA);
	cr_assert_eq(d->start, 20);
	cr_assert_eq(d->base, 12);
	cr_assert_eq(xt_find(&x, 50)->kind, STORM_OWNER_FREE);
	xt_free(&x);
}

Test(extent_index, empty_and_path_map)
{
	struct xt_index x = idx();
	struct path_map m = { 0 };

	cr_assert_eq(xt_finish(&x), 0);
	cr_assert_null(xt_find(&x, 0));
	cr_assert_eq(pm_add(&m, 15, 2, "second", 6), 0);
	cr_assert_eq(pm_add(&m, 12, 2, "a", 1), 0);
	cr_assert_eq(pm_add(&m, 15, 14, "first-is-kept?", 14), 0);
	pm_finish(&m);
	cr_assert_eq(pm_count(&m), 3); /* every name is kept; the first is found */
	const struct path_entry *e = pm_find(&m, 15);

	cr_assert(e && e->parent == 2 && e->name_len == 6);
	cr_assert_null(pm_find(&m, 13));
	pm_free(&m);
	xt_free(&x);
}

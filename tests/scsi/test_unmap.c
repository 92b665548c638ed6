/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <storm/scsi.h>
#include <string.h>

#include "util/bytes.h"

/* Builds an UNMAP parameter list of n descriptors (SBC-3 §5.28.2);
 * returns its length. */
static size_t build(uint8_t *p, unsigned n)
{
	size_t len = 8 + 16 * (size_t)n;

	memset(p, 0, len);
	put_be16(p, (uint16_t)(len - 2));
	put_be16(p + 2, (uint16_t)(16 * n));
	for (unsigned i = 0; i < n; i++) {
		put_be64(p + 8 + 16 * i, 0x1000000000ull * i + i);
		put_be32(p + 16 + 16 * i, 8 + i);
		memset(p + 20 + 16 * i, 0xee, 4); /* reserved bytes are ignored */
	}
	return len;
}

Test(unmap, descriptors)
{
	uint8_t p[8 + 16 * 4];
	size_t len = build(p, 4);
	uint64_t lba;
	uint32_t blocks;

	cr_assert_eq(storm_unmap_count(p, len), 4);
	for (unsigned i = 0; i < 4; i++) {
		cr_assert_eq(storm_unmap_range(p, len, i, &lba, &blocks), 0);
		cr_expect_eq(lba, 0x1000000000ull * i + i);
		cr_expect_eq(blocks, 8 + i);
	}
	cr_expect_eq(storm_unmap_range(p, len, 4, &lba, &blocks), -ENOENT);
	cr_expect_eq(storm_unmap_range(p, len, UINT32_MAX, &lba, &blocks), -ENOENT);
}

Test(unmap, extreme_values)
{
	uint8_t p[24];
	uint64_t lba;
	uint32_t blocks;

	build(p, 1);
	put_be64(p + 8, UINT64_MAX);
	put_be32(p + 16, UINT32_MAX);
	cr_assert_eq(storm_unmap_count(p, sizeof(p)), 1);
	cr_assert_eq(storm_unmap_range(p, sizeof(p), 0, &lba, &blocks), 0);
	cr_expect_eq(lba, UINT64_MAX);
	cr_expect_eq(blocks, UINT32_MAX);
}

Test(unmap, empty_list)
{
	uint8_t p[8];

	build(p, 0);
	cr_expect_eq(storm_unmap_count(p, 8), 0);
	cr_expect_eq(storm_unmap_range(p, 8, 0, NULL, NULL), -ENOENT);
}

Test(unmap, short_header)
{
	uint8_t p[24];

	build(p, 1);
	for (size_t len = 0; len < 8; len++) {
		cr_expect_eq(storm_unmap_count(p, len), STORM_ERR_FORMAT, "len %zu", len);
		cr_expect_eq(storm_unmap_range(p, len, 0, NULL, NULL), STORM_ERR_FORMAT);
	}
	cr_expect_eq(storm_unmap_count(NULL, 24), STORM_ERR_FORMAT);
}

Test(unmap, truncated_buffer_counts_complete_descriptors)
{
	uint8_t p[8 + 16 * 3];
	size_t len = build(p, 3);

	for (size_t cut = 8; cut <= len; cut++)
		cr_expect_eq(storm_unmap_count(p, cut), (int)((cut - 8) / 16), "len %zu", cut);
}

Test(unmap, descriptor_length_governs)
{
	uint8_t p[8 + 16 * 3];
	size_t len = build(p, 3);
	uint64_t lba;

	/* Fewer descriptors declared than the buffer holds: trailing bytes are not ranges. */
	put_be16(p + 2, 32);
	cr_expect_eq(storm_unmap_count(p, len), 2);
	cr_expect_eq(storm_unmap_range(p, len, 2, &lba, NULL), -ENOENT);
	/* Not a multiple of 16: only complete descriptors count. */
	put_be16(p + 2, 40);
	cr_expect_eq(storm_unmap_count(p, len), 2);
	put_be16(p + 2, 15);
	cr_expect_eq(storm_unmap_count(p, len), 0);
	/* More declared than held. */
	put_be16(p + 2, 0xfff0);
	cr_expect_eq(storm_unmap_count(p, len), 3);
	cr_expect_eq(storm_unmap_range(p, len, 2, &lba, NULL), 0);
	cr_expect_eq(lba, 0x2000000002ull);
}

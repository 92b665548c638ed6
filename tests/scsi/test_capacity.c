/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <storm/scsi.h>

#include "util/bytes.h"

Test(capacity, read_capacity10)
{
	uint8_t d[8];
	uint32_t bs = 0;

	put_be32(d, 0x003fffff);
	put_be32(d + 4, 512);
	cr_expect_eq(storm_read_capacity_block_size(STORM_SCSI_READ_CAPACITY10, d, 8, &bs), 0);
	cr_expect_eq(bs, 512);
	for (size_t len = 0; len < 8; len++)
		cr_expect_eq(storm_read_capacity_block_size(STORM_SCSI_READ_CAPACITY10, d, len, &bs),
			     STORM_ERR_FORMAT, "len %zu", len);
}

Test(capacity, read_capacity16)
{
	uint8_t d[32] = {0};
	uint32_t bs = 0;

	put_be64(d, 0xffffffffffull);
	put_be32(d + 8, 4096);
	cr_expect_eq(storm_read_capacity_block_size(STORM_SCSI_SERVICE_ACTION_IN16, d, 32, &bs), 0);
	cr_expect_eq(bs, 4096);
	cr_expect_eq(storm_read_capacity_block_size(STORM_SCSI_SERVICE_ACTION_IN16, d, 12, &bs), 0);
	for (size_t len = 0; len < 12; len++)
		cr_expect_eq(storm_read_capacity_block_size(STORM_SCSI_SERVICE_ACTION_IN16, d, len,
							    &bs),
			     STORM_ERR_FORMAT, "len %zu", len);
}

Test(capacity, absurd_sizes)
{
	uint8_t d[8] = {0};
	uint32_t bs = 77;

	cr_expect_eq(storm_read_capacity_block_size(STORM_SCSI_READ_CAPACITY10, d, 8, &bs),
		     STORM_ERR_FORMAT);
	put_be32(d + 4, (1u << 20) + 1);
	cr_expect_eq(storm_read_capacity_block_size(STORM_SCSI_READ_CAPACITY10, d, 8, &bs),
		     STORM_ERR_FORMAT);
	cr_expect_eq(bs, 77, "left untouched on failure");
	put_be32(d + 4, 1u << 20);
	cr_expect_eq(storm_read_capacity_block_size(STORM_SCSI_READ_CAPACITY10, d, 8, &bs), 0);
	cr_expect_eq(bs, 1u << 20);
}

Test(capacity, wrong_opcode)
{
	uint8_t d[16] = {0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0};
	uint32_t bs;

	cr_expect_eq(storm_read_capacity_block_size(STORM_SCSI_READ10, d, 16, &bs),
		     STORM_ERR_FORMAT);
	cr_expect_eq(storm_read_capacity_block_size(STORM_SCSI_INQUIRY, d, 16, &bs),
		     STORM_ERR_FORMAT);
	cr_expect_eq(storm_read_capacity_block_size(STORM_SCSI_READ_CAPACITY10, NULL, 8, &bs),
		     STORM_ERR_FORMAT);
	cr_expect_eq(storm_read_capacity_block_size(STORM_SCSI_READ_CAPACITY10, d, 8, NULL),
		     -EINVAL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* READ CAPACITY parameter data (SBC-3 §5.15.2, §5.16.2). */
#include <errno.h>
#include <storm/scsi.h>

#include "util/bytes.h"

/* No real device has logical blocks this large; a bigger value means the
 * bytes are not READ CAPACITY data. */
#define MAX_BLOCK_SIZE (1u << 20)

STORM_EXTERN int storm_read_capacity_block_size(uint8_t cdb_opcode, const uint8_t *data,
						size_t len, uint32_t *block_size)
{
	uint32_t size;

	if (!block_size)
		return -EINVAL;
	if (!data)
		return STORM_ERR_FORMAT;
	switch (cdb_opcode) {
	case STORM_SCSI_READ_CAPACITY10:
		/* 4-byte RETURNED LOGICAL BLOCK ADDRESS, then LOGICAL BLOCK LENGTH */
		if (len < 8)
			return STORM_ERR_FORMAT;
		size = get_be32(data + 4);
		break;
	case STORM_SCSI_SERVICE_ACTION_IN16:
		/* 8-byte RETURNED LOGICAL BLOCK ADDRESS, then LOGICAL BLOCK LENGTH */
		if (len < 12)
			return STORM_ERR_FORMAT;
		size = get_be32(data + 8);
		break;
	default:
		return STORM_ERR_FORMAT;
	}
	if (size == 0 || size > MAX_BLOCK_SIZE)
		return STORM_ERR_FORMAT;
	*block_size = size;
	return 0;
}

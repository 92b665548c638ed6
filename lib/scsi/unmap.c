/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* UNMAP parameter list (SBC-3 §5.28.2). */
#include <errno.h>
#include <storm/scsi.h>

#include "util/bytes.h"

/* Header: UNMAP DATA LENGTH (bytes 0-1), UNMAP BLOCK DESCRIPTOR DATA LENGTH
 * (bytes 2-3), 4 reserved bytes.  Descriptors follow, 16 bytes each: an
 * 8-byte LBA, a 4-byte NUMBER OF LOGICAL BLOCKS, 4 reserved bytes. */
#define UNMAP_HEADER 8
#define UNMAP_DESC 16

STORM_EXTERN int storm_unmap_count(const uint8_t *param, size_t len)
{
	size_t desc_len;

	if (!param || len < UNMAP_HEADER)
		return STORM_ERR_FORMAT;
	/* Trust the descriptor length only as far as the bytes we hold; a
	 * trailing partial descriptor is not counted. */
	desc_len = get_be16(param + 2);
	if (desc_len > len - UNMAP_HEADER)
		desc_len = len - UNMAP_HEADER;
	return (int)(desc_len / UNMAP_DESC);
}

STORM_EXTERN int storm_unmap_range(const uint8_t *param, size_t len, unsigned i,
				   uint64_t *lba, uint32_t *blocks)
{
	int count = storm_unmap_count(param, len);
	const uint8_t *d;

	if (count < 0)
		return count;
	if (i >= (unsigned)count)
		return -ENOENT;
	d = param + UNMAP_HEADER + (size_t)i * UNMAP_DESC;
	if (lba)
		*lba = get_be64(d);
	if (blocks)
		*blocks = get_be32(d + 8);
	return 0;
}

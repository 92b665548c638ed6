/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Command descriptor blocks of the block commands that move or change data
 * (SBC-3 §5; READ CAPACITY (16) is a SERVICE ACTION IN (16), SBC-3 §5.16).
 */
#include <errno.h>
#include <storm/scsi.h>
#include <string.h>

#include "util/bytes.h"

#define SAI16_READ_CAPACITY 0x10 /* SERVICE ACTION IN (16) service action, SBC-3 §5.16 */

static const char *const op_names[STORM_IO_OP_COUNT] = {
	[STORM_IO_OTHER] = "other",
	[STORM_IO_READ] = "read",
	[STORM_IO_WRITE] = "write",
	[STORM_IO_WRITE_SAME] = "write_same",
	[STORM_IO_UNMAP] = "unmap",
	[STORM_IO_COMPARE_AND_WRITE] = "compare_and_write",
	[STORM_IO_VERIFY] = "verify",
	[STORM_IO_SYNC] = "sync",
};

STORM_EXTERN const char *storm_io_op_name(storm_io_op op)
{
	/* The enum may be signed or unsigned; compare as unsigned to catch both. */
	if ((unsigned)op >= STORM_IO_OP_COUNT)
		return op_names[STORM_IO_OTHER];
	return op_names[op];
}

/* Where the fields of a CDB layout sit (SPC-4 §4.2.5 shows the 6/10/12/16
 * byte shapes; SBC-3 gives each command). */
enum cdb_layout {
	LAYOUT_NONE,    /* nothing to decode */
	LAYOUT_RW6,     /* 21-bit LBA in bytes 1-3, length byte 4, 0 = 256 */
	LAYOUT_10,      /* LBA bytes 2-5, length bytes 7-8 */
	LAYOUT_12,      /* LBA bytes 2-5, length bytes 6-9 */
	LAYOUT_16,      /* LBA bytes 2-9, length bytes 10-13 */
	LAYOUT_CAW,     /* COMPARE AND WRITE: LBA bytes 2-9, blocks byte 13 */
	LAYOUT_UNMAP,   /* parameter list length bytes 7-8 */
	LAYOUT_RCAP,    /* READ CAPACITY: no blocks, the response has the size */
};

struct cdb_kind {
	storm_io_op op;
	enum cdb_layout layout;
	uint8_t len; /* CDB bytes the layout reads */
};

static struct cdb_kind cdb_kind(const uint8_t *cdb, size_t len)
{
	switch (cdb[0]) {
	case STORM_SCSI_READ6: return (struct cdb_kind){STORM_IO_READ, LAYOUT_RW6, 6};
	case STORM_SCSI_WRITE6: return (struct cdb_kind){STORM_IO_WRITE, LAYOUT_RW6, 6};
	case STORM_SCSI_READ10: return (struct cdb_kind){STORM_IO_READ, LAYOUT_10, 10};
	case STORM_SCSI_WRITE10:
	case STORM_SCSI_WRITE_VERIFY10: return (struct cdb_kind){STORM_IO_WRITE, LAYOUT_10, 10};
	case STORM_SCSI_VERIFY10: return (struct cdb_kind){STORM_IO_VERIFY, LAYOUT_10, 10};
	case STORM_SCSI_SYNC_CACHE10: return (struct cdb_kind){STORM_IO_SYNC, LAYOUT_10, 10};
	case STORM_SCSI_WRITE_SAME10: return (struct cdb_kind){STORM_IO_WRITE_SAME, LAYOUT_10, 10};
	case STORM_SCSI_UNMAP: return (struct cdb_kind){STORM_IO_UNMAP, LAYOUT_UNMAP, 10};
	case STORM_SCSI_READ12: return (struct cdb_kind){STORM_IO_READ, LAYOUT_12, 12};
	case STORM_SCSI_WRITE12:
	case STORM_SCSI_WRITE_VERIFY12: return (struct cdb_kind){STORM_IO_WRITE, LAYOUT_12, 12};
	case STORM_SCSI_VERIFY12: return (struct cdb_kind){STORM_IO_VERIFY, LAYOUT_12, 12};
	case STORM_SCSI_READ16: return (struct cdb_kind){STORM_IO_READ, LAYOUT_16, 16};
	case STORM_SCSI_WRITE16:
	case STORM_SCSI_WRITE_VERIFY16: return (struct cdb_kind){STORM_IO_WRITE, LAYOUT_16, 16};
	case STORM_SCSI_VERIFY16: return (struct cdb_kind){STORM_IO_VERIFY, LAYOUT_16, 16};
	case STORM_SCSI_SYNC_CACHE16: return (struct cdb_kind){STORM_IO_SYNC, LAYOUT_16, 16};
	case STORM_SCSI_WRITE_SAME16: return (struct cdb_kind){STORM_IO_WRITE_SAME, LAYOUT_16, 16};
	case STORM_SCSI_COMPARE_AND_WRITE:
		return (struct cdb_kind){STORM_IO_COMPARE_AND_WRITE, LAYOUT_CAW, 16};
	case STORM_SCSI_READ_CAPACITY10: return (struct cdb_kind){STORM_IO_OTHER, LAYOUT_RCAP, 10};
	case STORM_SCSI_SERVICE_ACTION_IN16:
		/* Every SERVICE ACTION IN (16) CDB is 16 bytes; only one action is ours. */
		if (len >= 2 && (cdb[1] & 0x1f) == SAI16_READ_CAPACITY)
			return (struct cdb_kind){STORM_IO_OTHER, LAYOUT_RCAP, 16};
		return (struct cdb_kind){STORM_IO_OTHER, LAYOUT_NONE, 16};
	default: return (struct cdb_kind){STORM_IO_OTHER, LAYOUT_NONE, 1};
	}
}

/* READ (6) / WRITE (6), SBC-3 §5.8 / §5.32: a transfer length of 0 means 256. */
static void decode_rw6(const uint8_t *cdb, storm_cdb_info *out)
{
	out->lba = get_be24(cdb + 1) & 0x1fffff;
	out->blocks = cdb[4] ? cdb[4] : 256;
}

static void decode_fields(const uint8_t *cdb, enum cdb_layout layout, storm_cdb_info *out)
{
	switch (layout) {
	case LAYOUT_RW6:
		decode_rw6(cdb, out);
		break;
	case LAYOUT_10:
		/* In 10-byte CDBs a length of 0 moves nothing (SBC-3 §5.10); for
		 * SYNCHRONIZE CACHE and WRITE SAME it means "to the last block",
		 * which is left to the caller as 0. */
		out->lba = get_be32(cdb + 2);
		out->blocks = get_be16(cdb + 7);
		break;
	case LAYOUT_12:
		out->lba = get_be32(cdb + 2);
		out->blocks = get_be32(cdb + 6);
		break;
	case LAYOUT_16:
		out->lba = get_be64(cdb + 2);
		out->blocks = get_be32(cdb + 10);
		break;
	case LAYOUT_CAW:
		/* COMPARE AND WRITE, SBC-3 §5.2 */
		out->lba = get_be64(cdb + 2);
		out->blocks = cdb[13];
		break;
	case LAYOUT_UNMAP:
		/* UNMAP, SBC-3 §5.28: the ranges are in the Data-Out buffer. */
		out->param_len = get_be16(cdb + 7);
		break;
	case LAYOUT_RCAP:
		out->read_capacity = true;
		break;
	case LAYOUT_NONE:
		break;
	}
}

static bool layout_addresses_blocks(enum cdb_layout layout)
{
	return layout == LAYOUT_RW6 || layout == LAYOUT_10 || layout == LAYOUT_12 ||
	       layout == LAYOUT_16 || layout == LAYOUT_CAW;
}

STORM_EXTERN int storm_cdb_decode(const uint8_t *cdb, size_t len, storm_cdb_info *out)
{
	struct cdb_kind kind;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!cdb || len < 1)
		return STORM_ERR_FORMAT;
	kind = cdb_kind(cdb, len);
	if (len < kind.len)
		return STORM_ERR_FORMAT;
	out->opcode = cdb[0];
	out->op = kind.op;
	out->addresses_blocks = layout_addresses_blocks(kind.layout);
	decode_fields(cdb, kind.layout, out);
	return 0;
}

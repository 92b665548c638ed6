/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Accessors for the block I/O handed to callbacks. */
#include <errno.h>

#include "session/session_int.h"

STORM_EXTERN void *storm_io_user(const storm_io *io) { return io->user; }
STORM_EXTERN void storm_io_set_user(storm_io *io, void *user) { io->user = user; }
STORM_EXTERN uint32_t storm_io_itt(const storm_io *io) { return io->itt; }
STORM_EXTERN uint64_t storm_io_lun(const storm_io *io) { return io->lun; }
STORM_EXTERN storm_io_op storm_io_operation(const storm_io *io) { return io->op; }
STORM_EXTERN uint8_t storm_io_cdb_opcode(const storm_io *io) { return io->cdb_len ? io->cdb[0] : 0; }
STORM_EXTERN uint64_t storm_io_lba(const storm_io *io) { return io->lba; }
STORM_EXTERN uint32_t storm_io_blocks(const storm_io *io) { return io->blocks; }
STORM_EXTERN uint32_t storm_io_block_size(const storm_io *io) { return io->block_size; }
STORM_EXTERN uint32_t storm_io_edtl(const storm_io *io) { return io->edtl; }
STORM_EXTERN uint64_t storm_io_bytes(const storm_io *io) { return io->bytes; }
STORM_EXTERN uint64_t storm_io_lost(const storm_io *io) { return io->lost; }
STORM_EXTERN storm_io_end storm_io_end_reason(const storm_io *io) { return io->end; }
STORM_EXTERN uint8_t storm_io_status(const storm_io *io) { return io->status; }
STORM_EXTERN uint8_t storm_io_response(const storm_io *io) { return io->response; }
STORM_EXTERN int64_t storm_io_residual(const storm_io *io) { return io->residual; }
STORM_EXTERN unsigned storm_io_unmap_count(const storm_io *io) { return io->unmap_count; }

STORM_EXTERN const uint8_t *storm_io_cdb(const storm_io *io, size_t *len)
{
	*len = io->cdb_len;
	return io->cdb;
}

STORM_EXTERN const uint8_t *storm_io_sense(const storm_io *io, size_t *len)
{
	*len = io->sense ? io->sense_len : 0;
	return io->sense;
}

STORM_EXTERN int storm_io_unmap_range(const storm_io *io, unsigned i, uint64_t *lba, uint32_t *blocks)
{
	if (i >= io->unmap_count)
		return -ENOENT;
	return storm_unmap_range(io->unmap, io->unmap_len, i, lba, blocks);
}

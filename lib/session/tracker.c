/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* From PDUs to tasks: which task each PDU belongs to, and where its data goes.
 * Write data arrives as immediate data in the SCSI Command, unsolicited
 * Data-Out, or Data-Out answering an R2T; its place in the task's buffer is
 * the Data-Out's Buffer Offset (RFC 7143 §11.7.6), 0 for immediate data.
 * Read data arrives in Data-In, placed the same way. */
#include <string.h>

#include "session/session_int.h"
#include "util/bytes.h"

static int forward_pdu(storm_session *s, storm_iscsi *p, storm_dir d, const storm_pdu *pdu)
{
	if (!s->pdu_cb || !s->pdu_cb->pdu)
		return 0;
	return s->pdu_cb->pdu(p, d, pdu, s->user);
}

static void fill_from_cdb(storm_session *s, struct storm_io *io, const storm_pdu *pdu)
{
	size_t len;
	const uint8_t *cdb = storm_pdu_cdb(pdu, &len);
	io->cdb_len = len < IO_CDB_MAX ? len : IO_CDB_MAX;
	memcpy(io->cdb, cdb, io->cdb_len);
	storm_cdb_info info;
	if (storm_cdb_decode(cdb, len, &info) == 0) {
		io->op = info.op;
		io->lba = info.lba;
		io->blocks = info.blocks;
		io->read_capacity = info.read_capacity;
	} else {
		io->op = STORM_IO_OTHER;
	}
	io->block_size = lun_block_size(s, io->lun);
}

static int on_command(storm_session *s, const storm_pdu *pdu)
{
	const uint8_t *bhs = storm_pdu_bhs(pdu);
	uint32_t itt = storm_bhs_itt(bhs);
	struct storm_io *io = task_find(s, itt);
	/* A reused ITT means the old task's end was never seen (a gap, or a
	 * peer breaking §11.2.1.8): report it lost rather than merge the two. */
	if (io) {
		int rc = task_finish(s, io, STORM_END_LOST);
		if (rc)
			return rc;
	}
	int rc = task_add(s, itt, &io);
	if (rc)
		return rc;
	io->raw_lun = get_be64(bhs + 8);
	io->lun = storm_lun_decode(io->raw_lun);
	io->edtl = get_be32(bhs + 20);
	fill_from_cdb(s, io, pdu);
	s->cur[STORM_I2T] = io;
	if (!s->cb.start)
		return 0;
	return s->cb.start(s, io, s->user);
}

static int on_tmf(storm_session *s, const uint8_t *bhs)
{
	uint32_t itt = storm_bhs_itt(bhs);
	struct storm_io *io = task_find(s, itt);
	if (io)
		return 0; /* a retried TMF: keep the first */
	int rc = task_add(s, itt, &io);
	if (rc)
		return rc;
	io->tmf = true;
	io->tmf_function = bhs[1] & 0x7f;
	io->tmf_ref = get_be32(bhs + 20);
	io->raw_lun = get_be64(bhs + 8);
	io->lun = storm_lun_decode(io->raw_lun);
	return 0;
}

static int route_pdu(storm_session *s, storm_dir d, const storm_pdu *pdu)
{
	const uint8_t *bhs = storm_pdu_bhs(pdu);
	s->cur[d] = NULL;
	s->piece_bytes[d] = 0;
	s->scratch_len[d] = 0;
	switch (storm_bhs_opcode(bhs)) {
	case STORM_OP_SCSI_CMD:
		return on_command(s, pdu);
	case STORM_OP_TMF_REQ:
		return on_tmf(s, bhs);
	case STORM_OP_DATA_OUT:
	case STORM_OP_DATA_IN:
	case STORM_OP_SCSI_RESP:
		s->cur[d] = task_find(s, storm_bhs_itt(bhs));
		return 0;
	default:
		return 0;
	}
}

int tracker_on_pdu(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, void *user)
{
	storm_session *s = user;
	/* A user's pause still lets the tracker see the PDU first. */
	int user_rc = forward_pdu(s, p, d, pdu);
	if (user_rc && user_rc != STORM_PAUSE)
		return user_rc;
	int rc = route_pdu(s, d, pdu);
	return rc ? rc : user_rc;
}

/* Keeps the bytes of [off, off+len) that fall inside buf[0, cap). */
static void keep(uint8_t *buf, size_t cap, size_t *have, uint64_t off,
		 const uint8_t *data, size_t len)
{
	if (off >= cap)
		return;
	size_t n = cap - off < len ? cap - (size_t)off : len;
	memcpy(buf + off, data, n);
	if (off + n > *have)
		*have = (size_t)off + n;
}

static void keep_unmap(storm_session *s, struct storm_io *io, uint64_t off,
		       const uint8_t *data, size_t len)
{
	if (!io->unmap && io->edtl > 0) {
		size_t cap = io->edtl < STORM_SESSION_MAX_UNMAP ? io->edtl : STORM_SESSION_MAX_UNMAP;
		if (s->unmap_held + cap > SESSION_UNMAP_BUDGET)
			return; /* the ranges will be reported missing, not guessed */
		io->unmap = malloc(cap);
		if (!io->unmap)
			return;
		io->unmap_cap = cap;
		s->unmap_held += cap;
	}
	if (io->unmap)
		keep(io->unmap, io->unmap_cap, &io->unmap_len, off, data, len);
}

static int task_data(storm_session *s, storm_dir d, struct storm_io *io, const storm_pdu *pdu,
		     uint32_t off, const uint8_t *data, size_t len)
{
	const uint8_t *bhs = storm_pdu_bhs(pdu);
	uint64_t at = off;
	if (storm_bhs_opcode(bhs) != STORM_OP_SCSI_CMD)
		at += get_be32(bhs + 40);
	io->bytes += len;
	if (io->read_capacity && d == STORM_T2I)
		keep(io->capacity, sizeof io->capacity, &io->capacity_len, at, data, len);
	if (io->op == STORM_IO_UNMAP && d == STORM_I2T)
		keep_unmap(s, io, at, data, len);
	if (!s->cb.data)
		return 0;
	return s->cb.data(s, io, d, at, data, len, s->user);
}

static int track_data(storm_session *s, storm_dir d, const storm_pdu *pdu, uint32_t off,
		      const uint8_t *data, size_t len);

int tracker_on_data(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, uint32_t off,
		    const uint8_t *data, size_t len, void *user)
{
	storm_session *s = user;
	int user_rc = 0;
	if (s->pdu_cb && s->pdu_cb->data) {
		user_rc = s->pdu_cb->data(p, d, pdu, off, data, len, s->user);
		if (user_rc && user_rc != STORM_PAUSE)
			return user_rc;
	}
	int rc = track_data(s, d, pdu, off, data, len);
	return rc ? rc : user_rc;
}

static int track_data(storm_session *s, storm_dir d, const storm_pdu *pdu, uint32_t off,
		      const uint8_t *data, size_t len)
{
	s->piece_bytes[d] += (uint32_t)len;
	unsigned op = storm_bhs_opcode(storm_pdu_bhs(pdu));
	if (op == STORM_OP_SCSI_RESP || op == STORM_OP_REJECT) {
		keep(s->scratch[d], SESSION_SCRATCH, &s->scratch_len[d], off, data, len);
		return 0;
	}
	struct storm_io *io = s->cur[d];
	if (!io || io->tmf)
		return 0;
	return task_data(s, d, io, pdu, off, data, len);
}

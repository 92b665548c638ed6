/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How tasks end: SCSI Response (RFC 7143 §11.4), Data-In with the S bit
 * (§11.7.3), task management (§11.5, §11.6), Reject (§11.17) and Logout
 * (§11.15). */
#include "session/session_int.h"
#include "util/bytes.h"

/* §11.4.5: U (0x02) underflow, O (0x04) overflow; the count is unsigned. */
static int64_t residual_of(const uint8_t *bhs)
{
	uint32_t count = get_be32(bhs + 44);
	if (bhs[1] & 0x02)
		return count;
	if (bhs[1] & 0x04)
		return -(int64_t)count;
	return 0;
}

static void learn(storm_session *s, struct storm_io *io)
{
	if (io->read_capacity && io->status == 0) {
		uint32_t bs;
		if (storm_read_capacity_block_size(io->cdb[0], io->capacity, io->capacity_len, &bs) == 0)
			lun_set_block_size(s, io->lun, bs);
	}
	if (io->unmap) {
		int n = storm_unmap_count(io->unmap, io->unmap_len);
		io->unmap_count = n > 0 ? (unsigned)n : 0;
	}
}

static int complete_status(storm_session *s, storm_dir d, struct storm_io *io, const uint8_t *bhs)
{
	io->status = bhs[3];
	io->residual = residual_of(bhs);
	if (storm_bhs_opcode(bhs) == STORM_OP_SCSI_RESP) {
		io->response = bhs[2];
		/* §11.4.7: SenseLength (2 bytes) then the sense data. */
		if (s->scratch_len[d] >= 2) {
			size_t slen = get_be16(s->scratch[d]);
			size_t have = s->scratch_len[d] - 2;
			io->sense = s->scratch[d] + 2;
			io->sense_len = slen < have ? slen : have;
		}
	}
	learn(s, io);
	return task_finish(s, io, STORM_END_STATUS);
}

/* §11.5.1 function codes. */
static int complete_tmf(storm_session *s, const uint8_t *bhs)
{
	struct storm_io *tmf = task_find(s, storm_bhs_itt(bhs));
	if (!tmf || !tmf->tmf)
		return 0;
	uint8_t fn = tmf->tmf_function;
	uint32_t ref = tmf->tmf_ref;
	uint64_t lun = tmf->lun;
	task_finish(s, tmf, STORM_END_STATUS);
	if (bhs[2] != 0)
		return 0; /* not "Function complete": nothing was aborted */
	switch (fn) {
	case 1: { /* ABORT TASK */
		struct storm_io *io = task_find(s, ref);
		return io && !io->tmf ? task_finish(s, io, STORM_END_ABORTED) : 0;
	}
	case 2: case 3: case 5: /* ABORT TASK SET, CLEAR TASK SET, LOGICAL UNIT RESET */
		return task_finish_all(s, true, lun, STORM_END_ABORTED);
	case 6: case 7: /* TARGET WARM / COLD RESET */
		return task_finish_all(s, false, 0, STORM_END_ABORTED);
	default:
		return 0;
	}
}

/* The data segment of a Reject carries the header of the rejected PDU. */
static int complete_reject(storm_session *s, storm_dir d)
{
	const uint8_t *rej = s->scratch[d];
	if (s->scratch_len[d] < STORM_BHS_LEN || storm_bhs_opcode(rej) != STORM_OP_SCSI_CMD)
		return 0;
	struct storm_io *io = task_find(s, storm_bhs_itt(rej));
	return io && !io->tmf ? task_finish(s, io, STORM_END_REJECTED) : 0;
}

static int route_end(storm_session *s, storm_dir d, const uint8_t *bhs)
{
	struct storm_io *io = s->cur[d];
	switch (storm_bhs_opcode(bhs)) {
	case STORM_OP_SCSI_RESP:
		return io ? complete_status(s, d, io, bhs) : 0;
	case STORM_OP_DATA_IN:
		return io && (bhs[1] & 0x01) ? complete_status(s, d, io, bhs) : 0;
	case STORM_OP_TMF_RESP:
		return complete_tmf(s, bhs);
	case STORM_OP_REJECT:
		return complete_reject(s, d);
	case STORM_OP_LOGOUT_RESP:
		/* The connection is going away: what is outstanding on it will
		 * never be answered here. */
		return bhs[2] == 0 ? task_finish_all(s, false, 0, STORM_END_LOST) : 0;
	default:
		return 0;
	}
}

int tracker_on_pdu_end(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, void *user)
{
	storm_session *s = user;
	int user_rc = 0;
	if (s->pdu_cb && s->pdu_cb->pdu_end) {
		user_rc = s->pdu_cb->pdu_end(p, d, pdu, s->user);
		if (user_rc && user_rc != STORM_PAUSE)
			return user_rc;
	}
	const uint8_t *bhs = storm_pdu_bhs(pdu);
	struct storm_io *io = s->cur[d];
	if (io && storm_pdu_lost(pdu))
		io->lost += storm_bhs_dsl(bhs) - s->piece_bytes[d];
	int rc = route_end(s, d, bhs);
	s->cur[d] = NULL;
	return rc ? rc : user_rc;
}

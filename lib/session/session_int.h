/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal state of the session tracker. */
#ifndef STORM_SESSION_INT_H
#define STORM_SESSION_INT_H

#include <storm/session.h>
#include "iscsi/parser_int.h"
#include <uthash.h>

#define IO_CDB_MAX 32           /* CDB bytes kept per task (16 or 32 in practice) */
#define IO_CAPACITY_MAX 32      /* READ CAPACITY 16 returns 32 bytes */
#define SESSION_SCRATCH 264     /* SenseLength + sense (SPC: ≤ 252) or a rejected BHS */
#define SESSION_MAX_LUNS 256
#define SESSION_UNMAP_BUDGET (1024 * 1024) /* all UNMAP lists held at once */

struct storm_session_callbacks {
	storm_io_start_cb start;
	storm_io_data_cb data;
	storm_io_done_cb done;
};

/* One tracked task: block I/O, or a task management request (tmf set). */
struct storm_io {
	uint32_t itt;
	UT_hash_handle hh;
	uint64_t lun;          /* decoded LUN */
	uint64_t raw_lun;
	storm_io_op op;
	uint8_t cdb[IO_CDB_MAX];
	size_t cdb_len;
	uint64_t lba;
	uint32_t blocks;
	uint32_t block_size;
	uint32_t edtl;
	uint64_t bytes;
	uint64_t lost;
	storm_io_end end;
	uint8_t status;
	uint8_t response;
	int64_t residual;
	const uint8_t *sense;  /* points into the session scratch at completion */
	size_t sense_len;
	bool read_capacity;
	uint8_t capacity[IO_CAPACITY_MAX];
	size_t capacity_len;
	uint8_t *unmap;        /* parameter list, UNMAP only */
	size_t unmap_len, unmap_cap;
	unsigned unmap_count;
	bool tmf;              /* a TMF request, not block I/O */
	uint8_t tmf_function;
	uint32_t tmf_ref;      /* Referenced Task Tag */
	void *user;
};

struct lun_block_size {
	uint64_t lun;
	uint32_t block_size;
};

struct storm_session {
	struct storm_session_callbacks cb;
	struct storm_iscsi_callbacks *pdu_cb; /* the user's PDU callbacks, copied */
	void *user;
	storm_iscsi *parser;
	struct storm_io *tasks;     /* uthash by ITT */
	size_t ntasks;
	struct storm_io *cur[2];    /* the task the PDU being parsed belongs to */
	uint32_t piece_bytes[2];    /* data bytes delivered of the current PDU */
	uint8_t scratch[2][SESSION_SCRATCH];
	size_t scratch_len[2];
	struct lun_block_size luns[SESSION_MAX_LUNS];
	size_t nluns;
	size_t unmap_held;
};

/* Task table (task.c). */
struct storm_io *task_find(storm_session *s, uint32_t itt);
int task_add(storm_session *s, uint32_t itt, struct storm_io **out);
/* Calls the done callback (block I/O only), then frees the task. */
int task_finish(storm_session *s, struct storm_io *io, storm_io_end end);
/* Ends every task matching: all (lun_only false) or those of one LUN. */
int task_finish_all(storm_session *s, bool lun_only, uint64_t lun, storm_io_end end);

/* Block sizes per LUN (lun.c). */
uint32_t lun_block_size(const storm_session *s, uint64_t lun);
void lun_set_block_size(storm_session *s, uint64_t lun, uint32_t bs);

/* PDU handling (tracker.c, complete.c). */
int tracker_on_pdu(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, void *user);
int tracker_on_data(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, uint32_t off,
		    const uint8_t *data, size_t len, void *user);
int tracker_on_pdu_end(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, void *user);

#endif

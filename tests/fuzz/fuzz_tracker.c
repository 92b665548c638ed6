/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the session tracker (storm_session) on one connection, in
 * the records format of records.h.  The start callback hangs a malloc'd
 * record on each task and the done callback frees it, so LeakSanitizer
 * reports any task that is started and never ended; every accessor is read
 * and every data byte touched, so AddressSanitizer sees stale storm_io or
 * data pointers. */
#include <string.h>

#include <storm/scsi.h>
#include <storm/session.h>

#include "drive.h"

#define TASK_MAGIC 0x5354524du

struct task_rec {
	uint32_t magic;
	uint32_t itt;
	uint64_t bytes;
};

static struct drive g_dr;
static size_t g_live; /* tasks started and not yet done */

static void touch_io(storm_io *io)
{
	size_t len = 0;
	const uint8_t *cdb = storm_io_cdb(io, &len);
	if (len)
		touch(cdb, len);
	storm_io_op op = storm_io_operation(io);
	FUZZ_CHECK((unsigned)op < STORM_IO_OP_COUNT);
	const char *name = storm_io_op_name(op);
	if (name)
		touch(name, strlen(name));
	g_sink += storm_io_itt(io) + (uint32_t)storm_io_lun(io) + storm_io_cdb_opcode(io) +
		  (uint32_t)storm_io_lba(io) + storm_io_blocks(io) + storm_io_block_size(io) +
		  storm_io_edtl(io) + (uint32_t)storm_io_bytes(io) + (uint32_t)storm_io_lost(io) +
		  storm_io_end_reason(io) + storm_io_status(io) + storm_io_response(io) +
		  (uint32_t)storm_io_residual(io);
	const uint8_t *sense = storm_io_sense(io, &len);
	if (sense)
		touch(sense, len);
	unsigned n = storm_io_unmap_count(io);
	for (unsigned i = 0; i <= n; i++) {
		uint64_t lba;
		uint32_t blocks;
		int rc = storm_io_unmap_range(io, i, &lba, &blocks);
		FUZZ_CHECK(i < n ? rc == 0 : rc != 0);
		if (rc == 0)
			g_sink += (uint32_t)lba + blocks;
	}
}

static struct task_rec *rec_of(storm_io *io)
{
	struct task_rec *t = storm_io_user(io);
	FUZZ_CHECK(t && t->magic == TASK_MAGIC && t->itt == storm_io_itt(io));
	return t;
}

static int on_start(storm_session *s, storm_io *io, void *user)
{
	(void)user;
	FUZZ_CHECK(storm_io_user(io) == NULL);
	touch_io(io);
	struct task_rec *t = malloc(sizeof *t);
	if (!t)
		abort();
	*t = (struct task_rec){TASK_MAGIC, storm_io_itt(io), 0};
	storm_io_set_user(io, t);
	g_live++;
	g_sink += (uint32_t)storm_session_outstanding(s) +
		  storm_session_block_size(s, storm_io_lun(io));
	return drive_pause(&g_dr);
}

static int on_data(storm_session *s, storm_io *io, storm_dir d, uint64_t offset,
		   const uint8_t *data, size_t len, void *user)
{
	(void)s;
	(void)user;
	FUZZ_CHECK((unsigned)d <= STORM_T2I);
	struct task_rec *t = rec_of(io);
	t->bytes += len;
	g_sink += (uint32_t)offset;
	touch(data, len);
	touch_io(io);
	return drive_pause(&g_dr);
}

static int on_done(storm_session *s, storm_io *io, void *user)
{
	(void)s;
	(void)user;
	struct task_rec *t = rec_of(io);
	touch_io(io);
	FUZZ_CHECK(storm_io_bytes(io) >= t->bytes);
	free(t);
	storm_io_set_user(io, NULL);
	FUZZ_CHECK(g_live > 0);
	g_live--;
	return 0;
}

/* PDU-level callbacks the tracker forwards to. */
static int on_pdu(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, void *user)
{
	(void)p;
	(void)d;
	(void)user;
	touch(storm_pdu_bhs(pdu), STORM_BHS_LEN);
	return 0;
}

static int on_pdu_data(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, uint32_t offset,
		       const uint8_t *data, size_t len, void *user)
{
	(void)p;
	(void)d;
	(void)pdu;
	(void)offset;
	(void)user;
	touch(data, len);
	return 0;
}

static int on_text(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, const char *key,
		   const char *value, void *user)
{
	(void)p;
	(void)d;
	(void)pdu;
	(void)user;
	touch(key, strlen(key) + 1);
	touch(value, strlen(value) + 1);
	return 0;
}

static void on_error(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, int err,
		     const char *reason, void *user)
{
	(void)p;
	(void)d;
	(void)user;
	FUZZ_CHECK(err < 0);
	if (pdu) {
		FUZZ_CHECK(storm_pdu_bhs(pdu) != NULL);
		touch(storm_pdu_bhs(pdu), STORM_BHS_LEN);
	}
	touch(reason, strlen(reason) + 1);
}

static ssize_t feed(void *obj, storm_dir d, const uint8_t *in, size_t len)
{
	return storm_session_feed(obj, d, in, len);
}

static int gap(void *obj, storm_dir d, uint64_t len)
{
	return storm_session_gap(obj, d, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static storm_session_callbacks *cbs;
	static storm_iscsi_callbacks *pdu_cbs;
	if (!cbs) {
		if (storm_session_callbacks_new(&cbs) || storm_iscsi_callbacks_new(&pdu_cbs))
			abort();
		storm_session_callbacks_set_start(cbs, on_start);
		storm_session_callbacks_set_data(cbs, on_data);
		storm_session_callbacks_set_done(cbs, on_done);
		storm_iscsi_callbacks_set_pdu(pdu_cbs, on_pdu);
		storm_iscsi_callbacks_set_data(pdu_cbs, on_pdu_data);
		storm_iscsi_callbacks_set_text(pdu_cbs, on_text);
		storm_iscsi_callbacks_set_error(pdu_cbs, on_error);
	}
	storm_session *s;
	if (storm_session_new(&s, cbs, pdu_cbs, NULL))
		abort();
	memset(&g_dr, 0, sizeof g_dr);
	g_live = 0;
	g_dr.obj = s;
	g_dr.parser = storm_session_parser(s);
	g_dr.feed = feed;
	g_dr.gap = gap;
	drive_run(&g_dr, data, size);
	FUZZ_CHECK(storm_session_outstanding(s) >= g_live);
	storm_session_close(s);
	/* Every task started was reported done. */
	FUZZ_CHECK(g_live == 0);
	FUZZ_CHECK(storm_session_outstanding(s) == 0);
	storm_session_del(s);
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Block I/O into the view, from a capture or from the relay: write data is
 * gathered per task (bounded per task and in all) and fed with the task when
 * it ends with GOOD status. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor.h"

/* Write data of one task, gathered by Buffer Offset until the task ends. */
struct wbuf {
	uint64_t len;    /* the task's bytes */
	uint64_t got;    /* bytes placed */
	uint8_t data[];
};

/* Most bytes of one task, and of all tasks in flight, kept for the view. */
#define TASK_CAP (64u << 20)
#define TOTAL_CAP (512u << 20)

bool mon_is_write(storm_io_op op)
{
	return op == STORM_IO_WRITE || op == STORM_IO_WRITE_SAME ||
	       op == STORM_IO_COMPARE_AND_WRITE;
}

/* Whether the view follows this task's LUN; the first LUN doing I/O is
 * followed unless --lun named one. */
bool mon_followed(struct monitor *m, const storm_io *io)
{
	uint64_t lun = storm_io_lun(io);

	if (!m->lun_known) {
		m->opts.lun = lun;
		m->lun_known = true;
	}
	return lun == m->opts.lun;
}

static struct wbuf *wbuf_for(struct monitor *m, storm_io *io)
{
	struct wbuf *w = storm_io_user(io);
	uint64_t len = (uint64_t)storm_io_blocks(io) * storm_io_block_size(io);

	if (w || storm_io_operation(io) != STORM_IO_WRITE || !len || len > TASK_CAP ||
	    m->buffered + len > TOTAL_CAP)
		return w;
	w = malloc(sizeof(*w) + len);
	if (!w)
		return NULL;
	w->len = len;
	w->got = 0;
	m->buffered += len;
	storm_io_set_user(io, w);
	return w;
}

void mon_io_data(struct monitor *m, storm_io *io, storm_dir dir, uint64_t offset,
		 const uint8_t *data, size_t len)
{
	if (dir != STORM_I2T || !mon_followed(m, io))
		return;
	struct wbuf *w = wbuf_for(m, io);

	if (!w || offset > w->len || len > w->len - offset)
		return;
	memcpy(w->data + offset, data, len);
	w->got += len; /* the tracker places each byte once */
}

static void feed_view(struct monitor *m, storm_io *io, const struct wbuf *w, uint64_t stamp)
{
	storm_io_op op = storm_io_operation(io);
	uint64_t bs = storm_io_block_size(io);
	uint64_t at = storm_io_lba(io) * bs, len = (uint64_t)storm_io_blocks(io) * bs;
	bool write = mon_is_write(op);
	int rc;

	if (!write && (op != STORM_IO_READ || !m->opts.reads))
		return;
	if (write) {
		/* WRITE SAME and COMPARE AND WRITE are fed without bytes. */
		bool whole = w && w->got == w->len && storm_io_lost(io) == 0;

		m->st.writes++;
		m->st.blind += !whole;
		rc = storm_view_write(m->view, at, whole ? w->data : NULL, len, stamp);
	} else {
		m->st.reads++;
		rc = storm_view_read(m->view, at, len, stamp);
	}
	if (rc == -ENOMEM)
		fprintf(stderr, "storm-monitor: out of memory following the volume\n");
}

void mon_io_done(struct monitor *m, storm_io *io, uint64_t stamp)
{
	struct wbuf *w = storm_io_user(io);
	storm_io_op op = storm_io_operation(io);

	if (!mon_is_write(op) && op != STORM_IO_READ) {
		/* not block I/O */
	} else if (!mon_followed(m, io)) {
		m->st.other_lun++;
	} else if (storm_io_end_reason(io) != STORM_END_STATUS || storm_io_status(io) != 0 ||
		   storm_io_response(io) != 0) {
		m->st.failed++;
		if (mon_is_write(op)) /* it may have reached the medium all the same */
			storm_view_invalidate(m->view, storm_io_lba(io) * storm_io_block_size(io),
					      (uint64_t)storm_io_blocks(io) * storm_io_block_size(io));
	} else {
		feed_view(m, io, w, stamp);
	}
	if (w) {
		m->buffered -= w->len;
		free(w);
		storm_io_set_user(io, NULL);
	}
}


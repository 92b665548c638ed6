/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* storm-dump --events: the session's block I/O callbacks print events. */
#include "dump.h"
#include "events.h"

static int on_start(storm_session *s, storm_io *io, void *user)
{
	(void)s;
	(void)user;
	return ev_start(io);
}

static int on_data(storm_session *s, storm_io *io, storm_dir d, uint64_t off,
		   const uint8_t *data, size_t len, void *user)
{
	(void)s;
	(void)user;
	ev_data(io, d, off, data, len);
	return 0;
}

static int on_done(storm_session *s, storm_io *io, void *user)
{
	(void)s;
	struct flow_ctx *fc = user;
	ev_done(fc->name, flow_now(fc), io);
	return 0;
}

int events_out_callbacks(storm_session_callbacks **cbs)
{
	int rc = storm_session_callbacks_new(cbs);
	if (rc)
		return rc;
	storm_session_callbacks_set_start(*cbs, on_start);
	storm_session_callbacks_set_data(*cbs, on_data);
	storm_session_callbacks_set_done(*cbs, on_done);
	return 0;
}

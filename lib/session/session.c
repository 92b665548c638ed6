/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tracker lifetime and the parser it drives. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/parser_int.h"
#include "session/session_int.h"

STORM_EXTERN int storm_session_callbacks_new(storm_session_callbacks **cbs)
{
	*cbs = calloc(1, sizeof **cbs);
	return *cbs ? 0 : -ENOMEM;
}

STORM_EXTERN void storm_session_callbacks_del(storm_session_callbacks *cbs) { free(cbs); }
STORM_EXTERN void storm_session_callbacks_set_start(storm_session_callbacks *c, storm_io_start_cb cb) { c->start = cb; }
STORM_EXTERN void storm_session_callbacks_set_data(storm_session_callbacks *c, storm_io_data_cb cb) { c->data = cb; }
STORM_EXTERN void storm_session_callbacks_set_done(storm_session_callbacks *c, storm_io_done_cb cb) { c->done = cb; }

/* The parser's user pointer is the tracker; these hand the user's own
 * pointer to the user's PDU-level callbacks. */
static int fwd_text(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, const char *key,
		    const char *value, void *user)
{
	storm_session *s = user;
	return s->pdu_cb->text(p, d, pdu, key, value, s->user);
}

static void fwd_error(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, int err,
		      const char *reason, void *user)
{
	storm_session *s = user;
	s->pdu_cb->error(p, d, pdu, err, reason, s->user);
}

static void fwd_resync(storm_iscsi *p, storm_dir d, uint64_t skipped, void *user)
{
	storm_session *s = user;
	s->pdu_cb->resync(p, d, skipped, s->user);
}

/* Header, data and end are the tracker's own, which call the user's after;
 * text, error and resync are forwarded only when the user set them. */
static int make_parser(storm_session *s)
{
	struct storm_iscsi_callbacks cb = {
		.pdu = tracker_on_pdu,
		.data = tracker_on_data,
		.pdu_end = tracker_on_pdu_end,
	};
	if (s->pdu_cb) {
		cb.text = s->pdu_cb->text ? fwd_text : NULL;
		cb.error = s->pdu_cb->error ? fwd_error : NULL;
		cb.resync = s->pdu_cb->resync ? fwd_resync : NULL;
	}
	return storm_iscsi_new(&s->parser, &cb, s);
}

STORM_EXTERN int storm_session_new(storm_session **sp, const storm_session_callbacks *cbs,
				   const storm_iscsi_callbacks *pdu_cbs, void *user)
{
	storm_session *s = calloc(1, sizeof *s);
	*sp = s;
	if (!s)
		return -ENOMEM;
	if (cbs)
		s->cb = *cbs;
	s->user = user;
	if (pdu_cbs) {
		s->pdu_cb = malloc(sizeof *s->pdu_cb);
		if (!s->pdu_cb)
			goto nomem;
		*s->pdu_cb = *pdu_cbs;
	}
	if (make_parser(s))
		goto nomem;
	return 0;
nomem:
	storm_session_del(s);
	*sp = NULL;
	return -ENOMEM;
}

STORM_EXTERN void storm_session_del(storm_session *s)
{
	if (!s)
		return;
	struct storm_io *io, *tmp;
	HASH_ITER(hh, s->tasks, io, tmp) {
		HASH_DELETE(hh, s->tasks, io);
		free(io->unmap);
		free(io);
	}
	storm_iscsi_del(s->parser);
	free(s->pdu_cb);
	free(s);
}

STORM_EXTERN ssize_t storm_session_feed(storm_session *s, storm_dir d, const uint8_t *in, size_t len)
{
	return storm_iscsi_feed(s->parser, d, in, len);
}

STORM_EXTERN int storm_session_gap(storm_session *s, storm_dir d, uint64_t len)
{
	return storm_iscsi_gap(s->parser, d, len);
}

STORM_EXTERN int storm_session_close(storm_session *s)
{
	int rc = task_finish_all(s, false, 0, STORM_END_LOST);
	struct storm_io *io, *tmp;
	HASH_ITER(hh, s->tasks, io, tmp)
		task_finish(s, io, STORM_END_LOST); /* the TMFs left: no callback */
	return rc;
}

STORM_EXTERN storm_iscsi *storm_session_parser(storm_session *s) { return s->parser; }
STORM_EXTERN void *storm_session_user(const storm_session *s) { return s->user; }
STORM_EXTERN size_t storm_session_outstanding(const storm_session *s) { return s->ntasks; }

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The table of outstanding tasks of one connection, keyed by Initiator Task
 * Tag (RFC 7143 §11.2.1.8).  Bounded by STORM_SESSION_MAX_TASKS. */
#include <errno.h>
#include <stdlib.h>

#include "session/session_int.h"

struct storm_io *task_find(storm_session *s, uint32_t itt)
{
	struct storm_io *io = NULL;
	HASH_FIND(hh, s->tasks, &itt, sizeof itt, io);
	return io;
}

static void task_free(storm_session *s, struct storm_io *io)
{
	HASH_DELETE(hh, s->tasks, io);
	s->ntasks--;
	for (int d = 0; d < 2; d++)
		if (s->cur[d] == io)
			s->cur[d] = NULL;
	s->unmap_held -= io->unmap_cap;
	free(io->unmap);
	free(io);
}

int task_add(storm_session *s, uint32_t itt, struct storm_io **out)
{
	*out = NULL;
	if (s->ntasks >= STORM_SESSION_MAX_TASKS)
		return STORM_ERR_LIMIT;
	struct storm_io *io = calloc(1, sizeof *io);
	if (!io)
		return -ENOMEM;
	io->itt = itt;
	HASH_ADD(hh, s->tasks, itt, sizeof io->itt, io);
	s->ntasks++;
	*out = io;
	return 0;
}

int task_finish(storm_session *s, struct storm_io *io, storm_io_end end)
{
	int rc = 0;
	io->end = end;
	if (!io->tmf && s->cb.done)
		rc = s->cb.done(s, io, s->user);
	task_free(s, io);
	return rc == STORM_PAUSE ? 0 : rc;
}

static int cmp_itt(const void *a, const void *b)
{
	uint32_t x = (*(struct storm_io *const *)a)->itt;
	uint32_t y = (*(struct storm_io *const *)b)->itt;
	return x < y ? -1 : x > y;
}

/* Ends tasks in ITT order so the report does not depend on hash order. */
int task_finish_all(storm_session *s, bool lun_only, uint64_t lun, storm_io_end end)
{
	size_t n = 0;
	struct storm_io **list = malloc((s->ntasks + 1) * sizeof *list);
	if (!list)
		return -ENOMEM;
	for (struct storm_io *io = s->tasks; io; io = io->hh.next)
		if (!io->tmf && (!lun_only || io->lun == lun))
			list[n++] = io;
	qsort(list, n, sizeof *list, cmp_itt);
	int first = 0;
	for (size_t i = 0; i < n; i++) {
		int rc = task_finish(s, list[i], end);
		if (rc && !first)
			first = rc;
	}
	free(list);
	return first;
}

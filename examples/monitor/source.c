/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where the monitor's view starts from: an image file (or block device), or
 * the LUN itself read over a read-only iSCSI session of the monitor's own. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "monitor.h"

static bool is_url(const char *where)
{
	return strncmp(where, "iscsi://", 8) == 0;
}

static int source_open(struct mon_source *s, const char *where)
{
	int rc;

	memset(s, 0, sizeof(*s));
	if (is_url(where)) {
		rc = storm_blocksrc_iscsi_open(&s->iscsi, where, NULL);
		if (rc)
			return rc;
		s->read = storm_blocksrc_iscsi_read;
		s->ctx = s->iscsi;
		s->size = storm_blocksrc_iscsi_size(s->iscsi);
		return 0;
	}
	rc = storm_blocksrc_file_open(&s->file, where);
	if (rc)
		return rc;
	s->read = storm_blocksrc_file_read;
	s->ctx = s->file;
	s->size = storm_blocksrc_file_size(s->file);
	return 0;
}

void mon_source_close(struct mon_source *s)
{
	storm_blocksrc_file_close(s->file);
	storm_blocksrc_iscsi_close(s->iscsi);
	memset(s, 0, sizeof(*s));
}

int mon_open_view(struct monitor *m, const char *where, struct mon_source *s)
{
	int rc = source_open(s, where);

	if (rc == 0)
		rc = storm_view_open_ext4(&m->view, s->read, s->ctx, s->size);
	if (rc == 0)
		rc = storm_view_follow(m->view, s->read, s->ctx, mon_print_fop, m);
	if (rc == 0)
		return 0;
	const char *why = storm_strerror(rc);
	char buf[160];
	if (rc == STORM_ERR_UNSUPPORTED) {
		const char *f = s->read ? storm_view_ext4_unsupported(s->read, s->ctx) : NULL;
		snprintf(buf, sizeof buf, "the file system uses %s, which this view does not support",
			 f ? f : "a feature");
		why = buf;
	}
	else if (rc == -EUCLEAN)
		why = "no ext2/3/4 file system, or a corrupt one";
	else if (s->iscsi && *storm_blocksrc_iscsi_error(s->iscsi))
		why = storm_blocksrc_iscsi_error(s->iscsi);
	fprintf(stderr, "storm-monitor: %s: %s\n", where, why);
	storm_view_del(m->view);
	m->view = NULL;
	mon_source_close(s);
	return rc;
}

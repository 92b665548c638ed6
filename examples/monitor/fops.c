/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One JSON line per file operation the view reports. */
#include <fnmatch.h>

#include "json.h"
#include "monitor.h"

/* The first --watch glob the operation's path (or new path) matches. */
static const char *watched(const struct monitor *m, const storm_fop *op)
{
	for (int i = 0; i < m->opts.nwatch; i++) {
		const char *g = m->opts.watch[i];

		if ((op->path && !fnmatch(g, op->path, 0)) || (op->to && !fnmatch(g, op->to, 0)))
			return g;
	}
	return NULL;
}

static void put_path(json_line *j, const char *key, const char *path)
{
	if (path)
		jl_str(j, key, path);
	else
		jl_null(j, key);
}

int mon_print_fop(void *ctx, const storm_fop *op)
{
	struct monitor *m = ctx;
	const char *hit = m->opts.nwatch ? watched(m, op) : NULL;
	json_line j;

	if (m->opts.nwatch && !hit && !m->opts.alert)
		return 0; /* --watch without --alert: only what matches */
	jl_begin(&j);
	if (hit && m->opts.alert)
		jl_str(&j, "alert", hit);
	jl_double(&j, "ts", (double)op->stamp / 1e6);
	jl_u64(&j, "lun", m->opts.lun);
	jl_str(&j, "op", storm_fop_name(op->op));
	put_path(&j, "path", op->path);
	if (op->op == STORM_FOP_RENAME)
		put_path(&j, "to", op->to);
	jl_u64(&j, "inode", op->ino);
	switch (op->op) {
	case STORM_FOP_WRITE:
	case STORM_FOP_READ:
		/* ino 0: data no file claimed; the offset is the volume's. */
		jl_u64(&j, op->ino ? "offset" : "volume_offset", op->offset);
		jl_u64(&j, "length", op->length);
		break;
	case STORM_FOP_TRUNCATE:
		jl_u64(&j, "size", op->size);
		break;
	case STORM_FOP_SETATTR:
		jl_u64(&j, "mode", op->mode);
		jl_u64(&j, "uid", op->uid);
		jl_u64(&j, "gid", op->gid);
		break;
	default:
		break;
	}
	jl_end(&j);
	m->st.lines++;
	return 0;
}

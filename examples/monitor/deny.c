/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* --deny-write: a WRITE that would change the data of a file matching a
 * glob is refused by the relay (CHECK CONDITION, DATA PROTECT / WRITE
 * PROTECTED) instead of forwarded, and reported.  Only blocks the view knows
 * to be that file's count: data a delayed allocation has not placed yet has
 * no owner to match. */
#include <fnmatch.h>
#include <limits.h>

#include "json.h"
#include "monitor.h"

#define SENSE_DATA_PROTECT 0x07
#define ASC_WRITE_PROTECTED 0x27

/* The first file piece of the write whose path matches a --deny-write glob. */
struct denial {
	const char *glob;
	uint32_t ino;
	uint64_t offset, length;
	char path[PATH_MAX];
};

static const char *denied_path(const struct monitor *m, const char *path)
{
	for (int i = 0; i < m->opts.ndeny; i++)
		if (!fnmatch(m->opts.deny[i], path, 0))
			return m->opts.deny[i];
	return NULL;
}

/* Looks at every file-system block of the write; fills @p d for the first
 * piece of a denied file.  @return true when one was found. */
static bool find_denied(const struct monitor *m, uint64_t start, uint64_t len, struct denial *d)
{
	const storm_view *v = m->view;
	uint64_t bs = storm_view_block_size(v);
	uint32_t last = 0;

	for (uint64_t pos = start / bs * bs; pos < start + len; pos += bs) {
		storm_owner o;

		if (storm_view_lookup(v, pos / bs, &o) || o.kind != STORM_OWNER_FILE_DATA)
			continue;
		if (o.ino == last)
			continue;
		last = o.ino;
		if (storm_view_path(v, o.ino, d->path, sizeof d->path) < 0)
			continue;
		d->glob = denied_path(m, d->path);
		if (!d->glob)
			continue;
		d->ino = o.ino;
		d->offset = o.offset + (pos < start ? start - pos : 0);
		d->length = start + len - (pos < start ? start : pos);
		return true;
	}
	return false;
}

static void report(const struct monitor *m, const struct denial *d, uint64_t stamp)
{
	json_line j;

	jl_begin(&j);
	jl_double(&j, "ts", (double)stamp / 1e6);
	jl_u64(&j, "lun", m->opts.lun);
	jl_str(&j, "op", "write");
	jl_str(&j, "path", d->path);
	jl_u64(&j, "inode", d->ino);
	jl_u64(&j, "offset", d->offset);
	jl_u64(&j, "length", d->length);
	jl_str(&j, "denied", d->glob);
	jl_end(&j);
}

int mon_deny_check(struct monitor *m, storm_conn *c, storm_io *io, uint64_t stamp)
{
	struct denial d;

	if (!m->opts.ndeny || !mon_is_write(storm_io_operation(io)))
		return 0;
	if (!mon_followed(m, io))
		return 0;
	uint64_t bs = storm_io_block_size(io);

	if (!find_denied(m, storm_io_lba(io) * bs, (uint64_t)storm_io_blocks(io) * bs, &d))
		return 0;
	int rc = storm_conn_refuse(c, io, SENSE_DATA_PROTECT, ASC_WRITE_PROTECTED, 0);

	if (rc == 0) {
		report(m, &d, stamp);
		m->st.denied++;
	}
	return rc;
}

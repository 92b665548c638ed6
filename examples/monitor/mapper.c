/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* From a byte range of the volume to file pieces, free pieces and metadata
 * lines, through the view's block → owner lookup. */
#include <limits.h>

#include "json.h"
#include "monitor.h"

/* A run of bytes with one kind of owner, grown while the next block fits. */
struct piece {
	bool valid;
	uint32_t kind;
	uint32_t ino;
	uint64_t foff;    /* file offset (file data) */
	uint64_t vstart;  /* volume byte offset of the first byte */
	uint64_t len;     /* bytes */
	uint64_t block;   /* first file-system block */
	uint64_t blocks;  /* blocks touched */
};

struct io_ctx {
	struct monitor *m;
	double ts;
	uint64_t lun;
	bool write;
};

/* Kinds whose `ino` names an owner, so runs of different inodes stay apart;
 * for the others (inode table: first inode of each block) it does not. */
static bool ino_is_owner(uint32_t kind)
{
	return kind == STORM_OWNER_DIR_DATA || kind == STORM_OWNER_EXTENT_TREE ||
	       kind == STORM_OWNER_INDIRECT || kind == STORM_OWNER_XATTR;
}

static void put_path(json_line *j, const storm_view *v, uint32_t ino)
{
	char path[PATH_MAX];
	if (ino && storm_view_path(v, ino, path, sizeof path) >= 0)
		jl_str(j, "path", path);
	else
		jl_null(j, "path");
}

static void head(json_line *j, const struct io_ctx *c, const char *op)
{
	jl_begin(j);
	jl_double(j, "ts", c->ts);
	jl_u64(j, "lun", c->lun);
	jl_str(j, "op", op);
}

static void emit(const struct io_ctx *c, const struct piece *p)
{
	struct monitor *m = c->m;
	json_line j;
	if (p->kind == STORM_OWNER_FILE_DATA) {
		head(&j, c, c->write ? "write" : "read");
		put_path(&j, m->view, p->ino);
		jl_u64(&j, "inode", p->ino);
		jl_u64(&j, "offset", p->foff);
		jl_u64(&j, "length", p->len);
		m->st.file_lines++;
	} else if (!c->write) {
		return; /* reads report file data only */
	} else if (p->kind == STORM_OWNER_FREE) {
		head(&j, c, "write");
		jl_null(&j, "path");
		jl_str(&j, "kind", "free");
		jl_u64(&j, "block", p->block);
		jl_u64(&j, "volume_offset", p->vstart);
		jl_u64(&j, "length", p->len);
		m->st.free_lines++;
	} else {
		head(&j, c, "metadata");
		jl_str(&j, "kind", storm_owner_kind_name(p->kind));
		if (p->ino)
			jl_u64(&j, "inode", p->ino);
		if (p->kind == STORM_OWNER_DIR_DATA)
			put_path(&j, m->view, p->ino);
		jl_u64(&j, "block", p->block);
		jl_u64(&j, "blocks", p->blocks);
		m->st.meta_lines++;
	}
	jl_end(&j);
}

/* Whether the bytes at @p pos (in block @p b, owned by @p o) continue @p p. */
static bool extends(const struct piece *p, const storm_owner *o, uint64_t foff)
{
	if (!p->valid || p->kind != o->kind)
		return false;
	if (o->kind == STORM_OWNER_FILE_DATA)
		return p->ino == o->ino && p->foff + p->len == foff;
	return !ino_is_owner(o->kind) || p->ino == o->ino;
}

void mon_map_io(struct monitor *m, double ts, uint64_t lun, bool write,
		uint64_t start, uint64_t len)
{
	struct io_ctx c = {m, ts, lun, write};
	uint64_t bs = m->fs_bs, end = start + len;
	if (end < start || end > m->fs_bytes) {
		uint64_t cut = start >= m->fs_bytes ? start : m->fs_bytes;
		m->st.outside_bytes += (end < start ? UINT64_MAX : end) - cut;
		end = cut;
	}
	struct piece p = {0};
	for (uint64_t pos = start; pos < end;) {
		uint64_t b = pos / bs;
		uint64_t bend = (b + 1) * bs < end ? (b + 1) * bs : end;
		uint64_t n = bend - pos;
		storm_owner o;
		if (storm_view_lookup(m->view, b, &o) != 0) {
			m->st.outside_bytes += end - pos;
			break;
		}
		/* Sub-block I/O: the byte's place inside its block carries over
		 * to the file offset. */
		uint64_t foff = o.offset + (pos - b * bs);
		if (extends(&p, &o, foff)) {
			p.len += n;
			p.blocks++;
		} else {
			if (p.valid)
				emit(&c, &p);
			p = (struct piece){true, o.kind, o.ino, foff, pos, n, b, 1};
		}
		pos = bend;
	}
	if (p.valid)
		emit(&c, &p);
}

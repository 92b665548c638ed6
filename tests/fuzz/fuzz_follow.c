/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: a followed ext4 view fed hostile writes (storm_view_follow,
 * storm_view_write: the jbd2 interpreter and the metadata interpreters of
 * lib/view: inode tables, directory blocks, extent trees, indirect blocks).
 *
 * The volume is one of three fixed 4 MiB images with 1 KiB blocks and 64
 * inodes, made by mkseed_follow.py and shipped gzipped in tests/fuzz/data/
 * (loaded once, through `gzip -dc`):
 *   0 plain  ext4 without metadata_csum or 64bit: jbd2 without checksums,
 *            8-byte tags; two block groups
 *   1 csum   ext4 with metadata_csum and 64bit: jbd2 CSUM_V3, 16-byte tags
 *   2 ext3   no extents, no flex_bg: block-mapped files, four groups
 * Each holds directories, files (one with an extent-tree block or an
 * indirect block), a fast and a slow symbolic link, a hard link and a
 * directory with an htree index.
 *
 * Input: [1 byte: image = byte % 3] then records
 *     [u16 little-endian block] [u8 ctl] [data]
 * ctl bits 0-1: count - 1 (1 to 4 blocks); bit 2: storm_view_read the same
 * range after the write; bits 3-4: the write starts that many bytes into its
 * first block (0, 512, 100, 1020) and is as much shorter; bit 5: the bytes
 * are not known (data NULL); bit 6: the callback fails (returns CB_FAIL) on
 * the first operation of this record.  The block is taken modulo
 * (block count + 4): writes running past the end are tried too.  The data is
 * the write's length in bytes (count × 1024 less the head offset) and is
 * consumed even when bit 5 is set; a short last record is padded with zeros.
 *
 * Each run builds a view of the image (the block source returns the image as
 * it was, never modified), follows it, feeds every record as one
 * storm_view_write with stamp = record number + 1, flushes, then checks the
 * owner of every block (walking the owner index: its runs in order, disjoint,
 * inside the volume, agreeing with storm_view_lookup at both ends) and every
 * inode's path.  Checked: every storm_fop (kind in range, strings
 * NUL-terminated, absolute and at most PATH_MAX + 255 bytes, unused fields
 * zero, stamps of a write fed so far, lengths that do not wrap), every return
 * value, the counters (ops reported = callbacks made, held blocks never more
 * than the volume, none after a clean flush), every owner and path.
 *
 * Environment: STORM_FUZZ_DATA, the folder of the images (default: the
 * source tree's); STORM_FUZZ_VERBOSE, print each operation and the counters
 * of each run (mkseed_follow.py --check uses it).  Seeds:
 * tests/fuzz/corpus/follow (real changes made by debugfs, fed in place and as
 * jbd2 transactions). */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <storm/view.h>

#include "../../lib/view/view_int.h"
#include "fuzz_util.h"

#ifndef STORM_FUZZ_DATA_DIR
#define STORM_FUZZ_DATA_DIR "tests/fuzz/data"
#endif

#define IMAGES 3
#define IMAGE_BYTES (4u << 20)
#define BS 1024u
#define INODES 64u
#define CB_FAIL 7
/* The longest path the view hands out: a directory's path shorter than
 * PATH_MAX, '/', a name of at most 255 bytes (lib/view/emit.c PATH_CAP). */
#define FOP_PATH_MAX (PATH_MAX + 255)

static const char *const image_names[IMAGES] = { "plain", "csum", "ext3" };
static uint8_t *images[IMAGES];
static bool verbose; /* STORM_FUZZ_VERBOSE set: each operation and the counters */

struct run {
	const uint8_t *img;
	uint64_t stamp;     /* of the write or read being fed */
	uint64_t reading;   /* bytes of the storm_view_read being fed, 0 if none */
	bool fail;          /* the next callback fails (once) */
	uint64_t ops;       /* callbacks made */
};

static int img_read(void *ctx, uint64_t offset, void *buf, size_t len)
{
	const struct run *r = ctx;

	FUZZ_CHECK(buf != NULL);
	FUZZ_CHECK(offset <= IMAGE_BYTES && len <= IMAGE_BYTES - offset);
	memcpy(buf, r->img + offset, len);
	return 0;
}

static void check_path(const char *p)
{
	if (!p)
		return;
	size_t n = strnlen(p, FOP_PATH_MAX + 1);

	FUZZ_CHECK(n >= 1 && n <= FOP_PATH_MAX);
	FUZZ_CHECK(p[0] == '/');
	g_sink += (uint8_t)p[n - 1];
}

static int on_fop(void *ctx, const storm_fop *op)
{
	struct run *r = ctx;
	unsigned type = op->mode & 0xF000u;

	r->ops++;
	FUZZ_CHECK(op != NULL);
	if (verbose)
		fprintf(stderr, "  %s ino %u %s%s%s off %llu len %llu size %llu mode %o stamp %llu\n",
			storm_fop_name(op->op), op->ino, op->path ? op->path : "(null)",
			op->to ? " -> " : "", op->to ? op->to : "", (unsigned long long)op->offset,
			(unsigned long long)op->length, (unsigned long long)op->size, op->mode,
			(unsigned long long)op->stamp);
	FUZZ_CHECK(op->op >= STORM_FOP_CREATE && op->op <= STORM_FOP_READ);
	FUZZ_CHECK(strcmp(storm_fop_name(op->op), "unknown") != 0);
	check_path(op->path);
	check_path(op->to);
	FUZZ_CHECK(op->ino <= INODES);
	FUZZ_CHECK(op->ino != 0 || op->op == STORM_FOP_WRITE);
	FUZZ_CHECK(op->ino != 0 || op->path == NULL);
	FUZZ_CHECK(op->to == NULL || op->op == STORM_FOP_RENAME);
	FUZZ_CHECK(op->stamp >= 1 && op->stamp <= r->stamp);
	switch (op->op) {
	case STORM_FOP_WRITE:
	case STORM_FOP_READ:
		FUZZ_CHECK(op->length > 0 && op->offset + op->length > op->offset);
		FUZZ_CHECK(op->op == STORM_FOP_WRITE || op->stamp == r->stamp);
		FUZZ_CHECK(op->op == STORM_FOP_WRITE || op->length <= r->reading);
		FUZZ_CHECK(op->op == STORM_FOP_READ || !r->reading);
		FUZZ_CHECK(op->ino == 0 || op->offset + op->length <= (uint64_t)UINT32_MAX * 4 * BS);
		FUZZ_CHECK(!op->size && !op->mode && !op->uid && !op->gid);
		break;
	case STORM_FOP_MKDIR:
		FUZZ_CHECK(type == 0x4000);
		break;
	case STORM_FOP_SYMLINK:
		FUZZ_CHECK(type == 0xA000);
		break;
	case STORM_FOP_CREATE:
		FUZZ_CHECK(type != 0x4000 && type != 0xA000);
		break;
	default:
		break;
	}
	if (op->op != STORM_FOP_WRITE && op->op != STORM_FOP_READ)
		FUZZ_CHECK(!op->offset && !op->length);
	if (op->op != STORM_FOP_TRUNCATE)
		FUZZ_CHECK(!op->size);
	if (op->op != STORM_FOP_SETATTR)
		FUZZ_CHECK(!op->uid && !op->gid);
	if (r->fail) {
		r->fail = false;
		return CB_FAIL;
	}
	return 0;
}

static void check_stats(const storm_view *v, const struct run *r, uint64_t nblocks)
{
	storm_view_stats st;

	storm_view_stats_get(v, &st);
	FUZZ_CHECK(st.ops == r->ops);
	FUZZ_CHECK(st.held_blocks <= nblocks);
	g_sink += (uint32_t)(st.transactions + st.journal_blocks + st.journal_skipped +
			     st.direct_writes + st.inodes_changed + st.dir_blocks + st.malformed +
			     st.missed + st.overlay_bytes);
}

struct walk {
	const storm_view *v;
	uint64_t next;  /* first block after the previous run */
	uint64_t nblocks;
};

/* One run of the owner index: in order, disjoint, inside the volume, and
 * what storm_view_lookup() says of its first and last block. */
static int check_run(void *ctx, const struct xt_run *r)
{
	struct walk *w = ctx;
	storm_owner o;

	FUZZ_CHECK(r->len > 0 && r->start >= w->next && r->start + r->len <= w->nblocks);
	FUZZ_CHECK(r->kind <= STORM_OWNER_OTHER);
	if (r->start > w->next) {
		FUZZ_CHECK(storm_view_lookup(w->v, w->next, &o) == 0 && o.kind == STORM_OWNER_UNKNOWN);
		FUZZ_CHECK(storm_view_lookup(w->v, r->start - 1, &o) == 0 && o.kind == STORM_OWNER_UNKNOWN);
	}
	w->next = r->start + r->len;
	for (uint64_t b = r->start; b < w->next; b += r->len - 1) {
		memset(&o, 0xa5, sizeof o);
		FUZZ_CHECK(storm_view_lookup(w->v, b, &o) == 0);
		FUZZ_CHECK(o.kind == r->kind);
		FUZZ_CHECK(o.ino <= INODES);
		FUZZ_CHECK(o.reserved32 == 0 && !o.reserved[0] && !o.reserved[1] && !o.reserved[2] &&
		      !o.reserved[3]);
		g_sink += o.kind + o.ino + (uint32_t)o.offset + o.group;
		if (r->len == 1)
			break;
	}
	return 0;
}

/* Every block's owner (through the index's runs: looking up each of the 4096
 * blocks would double the time of a run) and every inode's path. */
static void check_view(const storm_view *v, uint64_t nblocks)
{
	static char path[1 << 16];
	char small[4];
	storm_owner o;
	struct walk w = { .v = v, .nblocks = nblocks };

	FUZZ_CHECK(xt_visit(&v->xt, 0, UINT64_MAX, check_run, &w) == 0);
	if (w.next < nblocks)
		FUZZ_CHECK(storm_view_lookup(v, nblocks - 1, &o) == 0 && o.kind == STORM_OWNER_UNKNOWN);
	FUZZ_CHECK(storm_view_lookup(v, nblocks, &o) == -ERANGE);
	for (uint32_t ino = 0; ino <= INODES + 1; ino++) {
		int n = storm_view_path(v, ino, path, sizeof path);

		if (n < 0) {
			FUZZ_CHECK(n == -ENOENT || n == -ERANGE || n == -ELOOP);
			continue;
		}
		FUZZ_CHECK((size_t)n < sizeof path && path[0] == '/' && strlen(path) == (size_t)n);
		int m = storm_view_path(v, ino, small, sizeof small);

		if ((size_t)n < sizeof small)
			FUZZ_CHECK(m == n && memcmp(small, path, (size_t)n + 1) == 0);
		else
			FUZZ_CHECK(m == -ERANGE);
	}
}

static uint8_t *load_image(const char *name)
{
	const char *dir = getenv("STORM_FUZZ_DATA");
	char cmd[4096];
	uint8_t *img = malloc(IMAGE_BYTES + 1);
	size_t n = 0;
	FILE *p;

	snprintf(cmd, sizeof cmd, "gzip -dc '%s/follow-%s.img.gz'", dir ? dir : STORM_FUZZ_DATA_DIR,
		 name);
	p = img ? popen(cmd, "r") : NULL;
	if (p) {
		size_t got;

		while (n <= IMAGE_BYTES && (got = fread(img + n, 1, IMAGE_BYTES + 1 - n, p)) > 0)
			n += got;
		if (pclose(p) != 0)
			n = 0;
	}
	if (n != IMAGE_BYTES) {
		fprintf(stderr, "fuzz_follow: cannot load a %u-byte image with `%s` "
				"(set STORM_FUZZ_DATA to the folder of follow-*.img.gz)\n",
			IMAGE_BYTES, cmd);
		exit(1);
	}
	return img;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	verbose = getenv("STORM_FUZZ_VERBOSE") != NULL;
	for (int i = 0; i < IMAGES; i++)
		images[i] = load_image(image_names[i]);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[4 * BS];
	struct run r = { 0 };
	storm_view *v = NULL;

	if (size < 1)
		return -1;
	r.img = images[data[0] % IMAGES];
	int rc = storm_view_open_ext4(&v, img_read, &r, IMAGE_BYTES);

	FUZZ_CHECK(rc == 0 && v);
	uint64_t nblocks = storm_view_block_count(v);

	FUZZ_CHECK(storm_view_block_size(v) == BS && nblocks == IMAGE_BYTES / BS);
	FUZZ_CHECK(storm_view_follow(v, img_read, &r, on_fop, &r) == 0);
	FUZZ_CHECK(storm_view_follow(v, img_read, &r, on_fop, &r) == -EALREADY);

	static const uint32_t heads[4] = { 0, 512, 100, 1020 };
	size_t off = 1;

	while (off + 3 <= size) {
		uint64_t block = (uint64_t)(data[off] | data[off + 1] << 8) % (nblocks + 4);
		unsigned ctl = data[off + 2];
		uint32_t head = heads[(ctl >> 3) & 3];
		size_t len = ((ctl & 3) + 1) * BS - head, have = size - off - 3;

		off += 3;
		if (have > len)
			have = len;
		memcpy(buf, data + off, have);
		memset(buf + have, 0, len - have);
		off += have;
		r.stamp++;
		r.fail = ctl & 0x40;
		rc = storm_view_write(v, block * BS + head, (ctl & 0x20) ? NULL : buf, len, r.stamp);
		FUZZ_CHECK(rc == 0 || (rc == CB_FAIL && (ctl & 0x40)));
		if (ctl & 4) {
			r.reading = len;
			rc = storm_view_read(v, block * BS + head, len, r.stamp);
			FUZZ_CHECK(rc == 0 || (rc == CB_FAIL && r.fail == false && (ctl & 0x40)));
			r.reading = 0;
		}
		r.fail = false;
		check_stats(v, &r, nblocks);
	}
	FUZZ_CHECK(storm_view_flush(v) == 0);
	check_stats(v, &r, nblocks);
	storm_view_stats st;

	storm_view_stats_get(v, &st);
	FUZZ_CHECK(st.held_blocks == 0);
	if (verbose)
		fprintf(stderr,
			"stats: transactions %llu journal_blocks %llu skipped %llu direct %llu "
			"inodes %llu dir_blocks %llu malformed %llu missed %llu ops %llu\n",
			(unsigned long long)st.transactions, (unsigned long long)st.journal_blocks,
			(unsigned long long)st.journal_skipped, (unsigned long long)st.direct_writes,
			(unsigned long long)st.inodes_changed, (unsigned long long)st.dir_blocks,
			(unsigned long long)st.malformed, (unsigned long long)st.missed,
			(unsigned long long)st.ops);
	check_view(v, nblocks);
	storm_view_del(v);
	return 0;
}

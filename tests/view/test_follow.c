/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Following an ext4 volume: images made by mkfs.ext4, changed by debugfs -w;
 * the blocks that differ are fed to a view of the image as it was (file data
 * first, as the kernel's data=ordered mode writes it, then the metadata as
 * one transaction).  The file operations reported must be the ones debugfs
 * made, and the followed view must equal a view built afresh on the changed
 * image, block by block and path by path.
 */
#include "ext4_oracle.h"
#include "view/track_int.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SKIP_WITHOUT_TOOLS()                                                                   \
	do {                                                                                   \
		if (!oracle_tools())                                                           \
			cr_skip_test("mkfs.ext4, debugfs, dumpe2fs or e2fsck not installed (e2fsprogs)"); \
	} while (0)

struct rec {
	uint32_t op, ino, mode, uid;
	char path[320], to[320];
	uint64_t offset, length, size;
};

struct scen {
	struct image im; /* the image before, at im.path */
	char after[160];
	storm_blocksrc_file *src;
	storm_view *v;     /* followed */
	storm_view *fresh; /* built on the changed image */
	struct rec *r;
	size_t n, cap;
};

static int on_fop(void *ctx, const storm_fop *op)
{
	struct scen *s = ctx;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->r = realloc(s->r, s->cap * sizeof(*s->r));
		cr_assert(s->r);
	}
	struct rec *r = &s->r[s->n++];

	memset(r, 0, sizeof(*r));
	r->op = op->op;
	r->ino = op->ino;
	r->mode = op->mode;
	r->uid = op->uid;
	r->offset = op->offset;
	r->length = op->length;
	r->size = op->size;
	snprintf(r->path, sizeof(r->path), "%s", op->path ? op->path : "(null)");
	snprintf(r->to, sizeof(r->to), "%s", op->to ? op->to : "");
	return 0;
}

static void scen_begin(struct scen *s, const char *opts, const char *script)
{
	memset(s, 0, sizeof(*s));
	image_make(&s->im, opts, "64M");
	if (script)
		oracle_debugfs_w(s->im.path, script);
	snprintf(s->after, sizeof(s->after), "%s/after", s->im.dir);
	cr_assert_eq(oracle_sh("cp --sparse=always '%s' '%s'", s->im.path, s->after), 0);
}

static storm_view *open_view(const char *path, storm_blocksrc_file **keep)
{
	storm_blocksrc_file *f;
	storm_view *v;

	cr_assert_eq(storm_blocksrc_file_open(&f, path), 0);
	cr_assert_eq(storm_view_open_ext4(&v, storm_blocksrc_file_read, f,
					  storm_blocksrc_file_size(f)), 0, "view of %s", path);
	if (keep)
		*keep = f;
	else
		storm_blocksrc_file_close(f);
	return v;
}

static void read_block(int fd, uint64_t b, uint32_t bs, uint8_t *buf)
{
	cr_assert_eq(pread(fd, buf, bs, (off_t)(b * bs)), (ssize_t)bs);
}

/*
 * Feeds what debugfs changed: data blocks of the changed image first (each
 * as a write), then every other changed block, as one transaction when
 * @p one_txn, else each as an in-place write.
 */
static void scen_replay(struct scen *s, bool one_txn)
{
	s->v = open_view(s->im.path, &s->src);
	cr_assert_eq(storm_view_follow(s->v, storm_blocksrc_file_read, s->src, on_fop, s), 0);
	s->fresh = open_view(s->after, NULL);

	uint32_t bs = storm_view_block_size(s->v);
	uint64_t nb = storm_view_block_count(s->v);
	int fb = open(s->im.path, O_RDONLY), fa = open(s->after, O_RDONLY);
	uint8_t *a = malloc(bs), *b = malloc(bs);
	uint64_t *meta = calloc(nb, sizeof(*meta));
	size_t nmeta = 0;

	cr_assert(fb >= 0 && fa >= 0 && a && b && meta);
	for (uint64_t blk = 0; blk < nb; blk++) {
		storm_owner o;

		read_block(fb, blk, bs, b);
		read_block(fa, blk, bs, a);
		if (!memcmp(a, b, bs))
			continue;
		cr_assert_eq(storm_view_lookup(s->fresh, blk, &o), 0);
		if (o.kind == STORM_OWNER_FILE_DATA)
			cr_assert_eq(storm_view_write(s->v, blk * bs, a, bs, 1), 0);
		else
			meta[nmeta++] = blk;
	}
	for (size_t i = 0; i < nmeta; i++) {
		read_block(fa, meta[i], bs, a);
		if (one_txn)
			cr_assert_eq(tx_add(s->v->tk, meta[i], a), 0);
		else
			cr_assert_eq(storm_view_write(s->v, meta[i] * bs, a, bs, 2), 0);
	}
	if (one_txn)
		cr_assert_eq(tx_apply(s->v->tk), 0);
	free(meta);
	free(a);
	free(b);
	close(fa);
	close(fb);
}

/* The followed view equals the fresh one: every block's owner, and the path
 * of every owner (but those in @p skip, hard-linked inodes whose first name
 * may differ). */
static void scen_compare(struct scen *s, const uint32_t *skip)
{
	uint64_t nb = storm_view_block_count(s->v);
	char p1[4096], p2[4096];
	unsigned bad = 0;

	for (uint64_t blk = 0; blk < nb; blk++) {
		storm_owner f, x;

		cr_assert_eq(storm_view_lookup(s->v, blk, &f), 0);
		cr_assert_eq(storm_view_lookup(s->fresh, blk, &x), 0);
		bool same = f.kind == x.kind;

		if (same && (x.kind == STORM_OWNER_FILE_DATA || x.kind == STORM_OWNER_DIR_DATA))
			same = f.ino == x.ino && f.offset == x.offset;
		else if (same && (x.kind == STORM_OWNER_EXTENT_TREE || x.kind == STORM_OWNER_INDIRECT))
			same = f.ino == x.ino;
		if (!same && bad++ < 10)
			cr_log_error("block %llu: followed %s ino %u off %llu, fresh %s ino %u off %llu",
				     (unsigned long long)blk, storm_owner_kind_name(f.kind), f.ino,
				     (unsigned long long)f.offset, storm_owner_kind_name(x.kind), x.ino,
				     (unsigned long long)x.offset);
		if (!same || (x.kind != STORM_OWNER_FILE_DATA && x.kind != STORM_OWNER_DIR_DATA))
			continue;
		bool skipped = false;

		for (const uint32_t *k = skip; k && *k; k++)
			skipped |= *k == x.ino;
		if (skipped)
			continue;
		int n1 = storm_view_path(s->v, x.ino, p1, sizeof(p1));
		int n2 = storm_view_path(s->fresh, x.ino, p2, sizeof(p2));

		if ((n1 < 0) != (n2 < 0) || (n1 >= 0 && strcmp(p1, p2))) {
			if (bad++ < 10)
				cr_log_error("inode %u: followed path %s, fresh %s", x.ino,
					     n1 < 0 ? "-" : p1, n2 < 0 ? "-" : p2);
		}
	}
	cr_assert_eq(bad, 0, "%u differences between the followed and the fresh view", bad);
}

static void scen_end(struct scen *s)
{
	storm_view_del(s->v);
	storm_view_del(s->fresh);
	storm_blocksrc_file_close(s->src);
	image_remove(&s->im);
	free(s->r);
}

static size_t count_ops(const struct scen *s, uint32_t op, const char *path, const char *to)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->r[i].op == op && !strcmp(s->r[i].path, path) && (!to || !strcmp(s->r[i].to, to));
	return n;
}

static uint64_t bytes_written(const struct scen *s, const char *path)
{
	uint64_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		if (s->r[i].op == STORM_FOP_WRITE && !strcmp(s->r[i].path, path))
			n += s->r[i].length;
	return n;
}

static void dump_ops(const struct scen *s)
{
	for (size_t i = 0; i < s->n; i++)
		cr_log_info("%s %s %s ino %u off %llu len %llu size %llu", storm_fop_name(s->r[i].op),
			    s->r[i].path, s->r[i].to, s->r[i].ino, (unsigned long long)s->r[i].offset,
			    (unsigned long long)s->r[i].length, (unsigned long long)s->r[i].size);
}

#define EXPECT_OP(s, op, path, to)                                                             \
	do {                                                                                   \
		if (count_ops(s, op, path, to) != 1)                                           \
			dump_ops(s);                                                           \
		cr_expect_eq(count_ops(s, op, path, to), 1, "%s %s %s", storm_fop_name(op), path, \
			     to ? to : "");                                                    \
	} while (0)

static char *sources(struct scen *s, char *script, size_t cap)
{
	char p[160];

	snprintf(p, sizeof(p), "%s/s10k", s->im.dir);
	oracle_source(p, 10000, 1);
	snprintf(p, sizeof(p), "%s/s100k", s->im.dir);
	oracle_source(p, 100000, 2);
	snprintf(script, cap, "%s", "");
	return script;
}

static void create_tree(const char *opts, uint32_t bs)
{
	struct scen s;
	char script[2048], target[201];

	SKIP_WITHOUT_TOOLS();
	scen_begin(&s, opts, NULL);
	sources(&s, script, sizeof(script));
	memset(target, 'x', 200);
	target[0] = '/';
	target[200] = '\0';
	snprintf(script, sizeof(script),
		 "mkdir d1\nmkdir d1/d2\nwrite %s/s10k d1/d2/f\nwrite %s/s100k top\n"
		 "symlink s /etc/hosts\nsymlink d1/long %s\n",
		 s.im.dir, s.im.dir, target);
	oracle_debugfs_w(s.after, script);
	scen_replay(&s, true);
	EXPECT_OP(&s, STORM_FOP_MKDIR, "/d1", NULL);
	EXPECT_OP(&s, STORM_FOP_MKDIR, "/d1/d2", NULL);
	EXPECT_OP(&s, STORM_FOP_CREATE, "/d1/d2/f", NULL);
	EXPECT_OP(&s, STORM_FOP_CREATE, "/top", NULL);
	EXPECT_OP(&s, STORM_FOP_SYMLINK, "/s", NULL);
	EXPECT_OP(&s, STORM_FOP_SYMLINK, "/d1/long", NULL);
	/* Whole blocks cross the wire; the file's bytes stop at its size. */
	(void)bs;
	cr_expect_eq(bytes_written(&s, "/d1/d2/f"), 10000);
	cr_expect_eq(bytes_written(&s, "/top"), 100000);
	scen_compare(&s, NULL);
	storm_view_stats st;
	storm_view_stats_get(s.v, &st);
	cr_expect_eq(st.held_blocks, 0, "every held block was claimed");
	scen_end(&s);
}

Test(follow, creates_with_4k_blocks)
{
	create_tree("-b 4096", 4096);
}

Test(follow, creates_with_1k_blocks)
{
	create_tree("-b 1024", 1024);
}

#define BEFORE_NS                                                                              \
	"mkdir a\nmkdir b\nmkdir a/sub\nmkdir empty\nwrite %s/s10k a/x\nwrite %s/s10k a/y\n"    \
	"write %s/s10k z\nwrite %s/s10k a/sub/inner\n"

static void namespace_ops(bool one_txn)
{
	struct scen s;
	char script[2048];
	char dir[64];

	SKIP_WITHOUT_TOOLS();
	/* The sources live beside the image, so the directory is known first. */
	scen_begin(&s, "-b 4096", NULL);
	strcpy(dir, s.im.dir);
	sources(&s, script, sizeof(script));
	snprintf(script, sizeof(script), BEFORE_NS, dir, dir, dir, dir);
	oracle_debugfs_w(s.im.path, script);
	cr_assert_eq(oracle_sh("cp --sparse=always '%s' '%s'", s.im.path, s.after), 0);
	oracle_debugfs_w(s.after, "ln a/x b/x2\nunlink a/x\n"
				  "ln a/sub b/sub\nunlink a/sub\n"
				  "ln z a/zlink\nsif z links_count 2\n"
				  "rm a/y\nrmdir empty\n");
	scen_replay(&s, one_txn);
	if (one_txn) {
		EXPECT_OP(&s, STORM_FOP_RENAME, "/a/x", "/b/x2");
		EXPECT_OP(&s, STORM_FOP_RENAME, "/a/sub", "/b/sub");
		EXPECT_OP(&s, STORM_FOP_LINK, "/a/zlink", NULL);
		EXPECT_OP(&s, STORM_FOP_UNLINK, "/a/y", NULL);
		EXPECT_OP(&s, STORM_FOP_RMDIR, "/empty", NULL);
		cr_expect_eq(s.n, 5, "five operations, not %zu", s.n);
	}
	char out[8];
	cr_assert_eq(storm_view_path(s.v, 2, out, sizeof(out)), 1, "the root stays /");
	scen_compare(&s, NULL);
	scen_end(&s);
}

Test(follow, rename_link_unlink_rmdir_in_one_transaction)
{
	namespace_ops(true);
}

Test(follow, same_changes_written_in_place_converge)
{
	namespace_ops(false);
}

Test(follow, setattr_and_truncate)
{
	struct scen s;
	char script[2048];

	SKIP_WITHOUT_TOOLS();
	scen_begin(&s, "-b 4096", NULL);
	sources(&s, script, sizeof(script));
	snprintf(script, sizeof(script), "write %s/s100k t\nwrite %s/s10k m\n", s.im.dir, s.im.dir);
	oracle_debugfs_w(s.im.path, script);
	cr_assert_eq(oracle_sh("cp --sparse=always '%s' '%s'", s.im.path, s.after), 0);
	oracle_debugfs_w(s.after, "sif m mode 0100600\nsif m uid 1234\npunch t 5\nsif t size 20000\n");
	scen_replay(&s, true);
	EXPECT_OP(&s, STORM_FOP_SETATTR, "/m", NULL);
	EXPECT_OP(&s, STORM_FOP_TRUNCATE, "/t", NULL);
	for (size_t i = 0; i < s.n; i++) {
		if (s.r[i].op == STORM_FOP_SETATTR) {
			cr_expect_eq(s.r[i].mode, 0100600);
			cr_expect_eq(s.r[i].uid, 1234);
		}
		if (s.r[i].op == STORM_FOP_TRUNCATE)
			cr_expect_eq(s.r[i].size, 20000);
	}
	scen_compare(&s, NULL);
	scen_end(&s);
}

Test(follow, htree_directory_grows_without_phantom_operations)
{
	struct scen s;
	size_t cap = 1 << 16, len = 0;
	char *script = malloc(cap);

	SKIP_WITHOUT_TOOLS();
	cr_assert(script);
	memset(&s, 0, sizeof(s));
	image_make(&s.im, "-b 4096", "64M");
	image_populate(&s.im); /* /many: an htree of 2000 entries */
	snprintf(s.after, sizeof(s.after), "%s/after", s.im.dir);
	cr_assert_eq(oracle_sh("cp --sparse=always '%s' '%s'", s.im.path, s.after), 0);
	for (int i = 0; i < 300; i++)
		len += (size_t)snprintf(script + len, cap - len,
					"write %s/small.src many/new-entry-with-a-long-name-%03d\n",
					s.im.dir, i);
	len += (size_t)snprintf(script + len, cap - len, "rm many/file-with-a-longish-name-0007\n");
	oracle_debugfs_w(s.after, script);
	scen_replay(&s, true);
	size_t creates = 0, others = 0;

	for (size_t i = 0; i < s.n; i++) {
		if (s.r[i].op == STORM_FOP_CREATE &&
		    !strncmp(s.r[i].path, "/many/new-entry-with-a-long-name-", 33))
			creates++;
		else if (s.r[i].op != STORM_FOP_WRITE)
			others++;
	}
	cr_expect_eq(creates, 300);
	EXPECT_OP(&s, STORM_FOP_UNLINK, "/many/file-with-a-longish-name-0007", NULL);
	cr_expect_eq(others, 1, "only the unlink besides the creates, not %zu", others);
	static const uint32_t hard[] = { 12, 0 }; /* /f1 and /d1/hard */
	scen_compare(&s, hard);
	free(script);
	scen_end(&s);
}

/* Garbage over every interpreted metadata block: no crash, counted. */
Test(follow, hostile_metadata_is_contained)
{
	struct scen s;

	SKIP_WITHOUT_TOOLS();
	memset(&s, 0, sizeof(s));
	image_make(&s.im, "-b 4096", "64M");
	image_populate(&s.im);
	s.v = open_view(s.im.path, &s.src);
	cr_assert_eq(storm_view_follow(s.v, storm_blocksrc_file_read, s.src, on_fop, &s), 0);
	uint32_t bs = storm_view_block_size(s.v);
	uint8_t *junk = malloc(bs);
	uint64_t fed = 0;

	cr_assert(junk);
	srand(7);
	for (uint64_t blk = 0; blk < storm_view_block_count(s.v); blk++) {
		storm_owner o;

		storm_view_lookup(s.v, blk, &o);
		if (o.kind != STORM_OWNER_INODE_TABLE && o.kind != STORM_OWNER_DIR_DATA &&
		    o.kind != STORM_OWNER_EXTENT_TREE)
			continue;
		for (int round = 0; round < 3; round++) {
			for (uint32_t i = 0; i < bs; i++)
				junk[i] = (uint8_t)(round == 2 ? (i & 1 ? 0xFF : 0) : rand());
			cr_assert_geq(storm_view_write(s.v, blk * bs, junk, bs, 3), 0);
			fed++;
		}
	}
	storm_view_stats st;
	storm_view_stats_get(s.v, &st);
	cr_expect_gt(fed, 10);
	cr_expect_gt(st.malformed, 0, "garbage was noticed");
	free(junk);
	s.fresh = NULL;
	scen_end(&s);
}

/* What debugfs prints for @p cmd on @p image (to be freed). */
static char *debugfs_out(const char *image, const char *cmd)
{
	struct image im = { 0 };

	snprintf(im.path, sizeof(im.path), "%s", image);
	snprintf(im.dir, sizeof(im.dir), "%s", "/tmp");
	return oracle_debugfs(&im, cmd);
}

/* Block @p lblk of @p path, by debugfs bmap. */
static uint64_t file_block(const char *image, const char *path, unsigned lblk)
{
	char cmd[256];
	unsigned long long b = 0;

	snprintf(cmd, sizeof(cmd), "bmap %s %u\n", path, lblk);
	char *out = debugfs_out(image, cmd);
	const char *p = strstr(out, "bmap");

	p = p ? strchr(p, '\n') : NULL;
	cr_assert(p && sscanf(p + 1, "%llu", &b) == 1, "debugfs bmap: %s", out);
	free(out);
	return b;
}

/* The inode-table block holding @p path's inode, by debugfs imap. */
static uint64_t inode_block(const char *image, const char *path)
{
	char cmd[256];
	unsigned long long b = 0;

	snprintf(cmd, sizeof(cmd), "imap %s\n", path);
	char *out = debugfs_out(image, cmd);
	const char *p = strstr(out, "located at block ");

	cr_assert(p && sscanf(p + strlen("located at block "), "%llu", &b) == 1, "debugfs imap: %s", out);
	free(out);
	return b;
}

/* A 4 KiB-block image holding /t (100,000 bytes), copied as the "after"
 * image for the test to change. */
static void scen_with_t(struct scen *s)
{
	char script[512];

	scen_begin(s, "-b 4096", NULL);
	sources(s, script, sizeof(script));
	snprintf(script, sizeof(script), "write %s/s100k t\n", s->im.dir);
	oracle_debugfs_w(s->im.path, script);
	cr_assert_eq(oracle_sh("cp --sparse=always '%s' '%s'", s->im.path, s->after), 0);
}

/* A block bitmap written alone corrects the owners: blocks it frees under a
 * file become free, blocks it allocates from free space become unknown. */
Test(follow, block_bitmap_frees_and_allocates)
{
	struct scen s;
	char script[512];

	SKIP_WITHOUT_TOOLS();
	scen_with_t(&s);
	uint64_t tb = file_block(s.im.path, "t", 0);
	uint64_t fb = 10000; /* free in a fresh 64 MiB image */

	snprintf(script, sizeof(script), "freeb %llu 3\nsetb %llu 5\n", (unsigned long long)tb + 2,
		 (unsigned long long)fb);
	oracle_debugfs_w(s.after, script);
	scen_replay(&s, true);
	storm_owner o;

	for (uint64_t b = tb + 2; b < tb + 5; b++) {
		cr_assert_eq(storm_view_lookup(s.v, b, &o), 0);
		cr_expect_eq(o.kind, STORM_OWNER_FREE, "block %llu freed by the bitmap is %s",
			     (unsigned long long)b, storm_owner_kind_name(o.kind));
	}
	cr_assert_eq(storm_view_lookup(s.v, tb + 1, &o), 0);
	cr_expect_eq(o.kind, STORM_OWNER_FILE_DATA, "the block before stays the file's");
	for (uint64_t b = fb; b < fb + 5; b++) {
		cr_assert_eq(storm_view_lookup(s.v, b, &o), 0);
		cr_expect_eq(o.kind, STORM_OWNER_UNKNOWN, "block %llu allocated by the bitmap is %s",
			     (unsigned long long)b, storm_owner_kind_name(o.kind));
	}
	cr_assert_eq(storm_view_lookup(s.v, fb + 5, &o), 0);
	cr_expect_eq(o.kind, STORM_OWNER_FREE);
	storm_view_stats st;
	storm_view_stats_get(s.v, &st);
	cr_expect_eq(st.bitmap_blocks, 8);
	cr_expect_eq(s.n, 0, "a bitmap alone is no file operation");
	scen_end(&s);
}

static void write_from(storm_view *v, const char *image, uint64_t block, uint32_t bs)
{
	uint8_t *buf = malloc(bs);
	int fd = open(image, O_RDONLY);

	cr_assert(buf && fd >= 0);
	read_block(fd, block, bs, buf);
	cr_assert_eq(storm_view_write(v, block * bs, buf, bs, 3), 0);
	close(fd);
	free(buf);
}

/* Every reported write piece clips at its file's size, read from the inode:
 * repeated writes to a file read its inode-table block from the volume once,
 * and a size the file system changes afterwards is the one that clips. */
Test(follow, inode_reads_are_cached_and_follow_the_size)
{
	struct scen s;

	SKIP_WITHOUT_TOOLS();
	scen_with_t(&s);
	oracle_debugfs_w(s.after, "sif t size 98304\n"); /* block 24 now past the end */
	uint64_t b0 = file_block(s.im.path, "t", 0), b24 = file_block(s.im.path, "t", 24);
	uint64_t ib = inode_block(s.im.path, "t");

	s.v = open_view(s.im.path, &s.src);
	cr_assert_eq(storm_view_follow(s.v, storm_blocksrc_file_read, s.src, on_fop, &s), 0);
	uint32_t bs = storm_view_block_size(s.v);
	storm_view_stats st0, st;

	storm_view_stats_get(s.v, &st0);
	for (int i = 0; i < 3; i++)
		write_from(s.v, s.im.path, b0, bs);
	write_from(s.v, s.im.path, b24, bs);
	storm_view_stats_get(s.v, &st);
	cr_expect_eq(st.source_reads - st0.source_reads, 1, "one read of the inode-table block, not %llu",
		     (unsigned long long)(st.source_reads - st0.source_reads));
	cr_expect_eq(st.source_cached - st0.source_cached, 3);
	cr_assert_eq(s.n, 4);
	for (int i = 0; i < 3; i++)
		cr_expect(s.r[i].op == STORM_FOP_WRITE && s.r[i].offset == 0 && s.r[i].length == bs);
	cr_expect_eq(s.r[3].offset, 24ull * bs);
	cr_expect_eq(s.r[3].length, 100000 - 24ull * bs, "clipped at the size: %llu",
		     (unsigned long long)s.r[3].length);

	write_from(s.v, s.after, ib, bs); /* the inode block, in place: size 98304 */
	EXPECT_OP(&s, STORM_FOP_TRUNCATE, "/t", NULL);
	size_t before = s.n;

	write_from(s.v, s.im.path, b24, bs); /* past the new end: no file bytes */
	write_from(s.v, s.im.path, b0, bs);
	cr_assert_eq(s.n, before + 1, "%zu operations after the truncate", s.n - before);
	cr_expect(s.r[before].op == STORM_FOP_WRITE && s.r[before].offset == 0);
	scen_end(&s);
}

/* Copies block @p b of image @p from over block @p b of image @p to. */
static void copy_block(const char *from, const char *to, uint64_t b, uint32_t bs)
{
	uint8_t *buf = malloc(bs);
	int fi = open(from, O_RDONLY), fo = open(to, O_WRONLY);

	cr_assert(buf && fi >= 0 && fo >= 0);
	read_block(fi, b, bs, buf);
	cr_assert_eq(pwrite(fo, buf, bs, (off_t)(b * bs)), (ssize_t)bs);
	close(fi);
	close(fo);
	free(buf);
}

/* A live source (an iSCSI LUN) changes under the view; a change the view was
 * not fed is seen again after storm_view_invalidate() or a write fed without
 * its bytes, not before (the inode-table cache holds the copy it read). */
Test(follow, source_changes_are_seen_after_invalidate)
{
	struct scen s;

	SKIP_WITHOUT_TOOLS();
	scen_with_t(&s);
	oracle_debugfs_w(s.after, "sif t size 98304\n");
	uint64_t b0 = file_block(s.im.path, "t", 0), b24 = file_block(s.im.path, "t", 24);
	uint64_t ib = inode_block(s.im.path, "t");
	char orig[200];

	snprintf(orig, sizeof(orig), "%s/orig", s.im.dir);
	cr_assert_eq(oracle_sh("cp --sparse=always '%s' '%s'", s.im.path, orig), 0);
	s.v = open_view(s.im.path, &s.src);
	cr_assert_eq(storm_view_follow(s.v, storm_blocksrc_file_read, s.src, on_fop, &s), 0);
	uint32_t bs = storm_view_block_size(s.v);

	write_from(s.v, orig, b0, bs);            /* reads and caches the inode block */
	copy_block(s.after, s.im.path, ib, bs);   /* the volume now says 98304 */
	write_from(s.v, orig, b24, bs);
	cr_assert_eq(s.n, 2);
	cr_expect_eq(s.r[1].length, 100000 - 24ull * bs, "the cached size clips until told");

	cr_assert_eq(storm_view_invalidate(s.v, ib * bs, bs), 0);
	write_from(s.v, orig, b24, bs);           /* past 98304: no file bytes */
	cr_expect_eq(s.n, 2, "after invalidate the volume's size clips: %zu operations", s.n);

	copy_block(orig, s.im.path, ib, bs);      /* back to 100000 ... */
	cr_assert_eq(storm_view_write(s.v, ib * bs, NULL, bs, 4), 0); /* ... by a write without bytes */
	write_from(s.v, orig, b24, bs);
	cr_assert_eq(s.n, 3, "%zu operations", s.n);
	cr_expect_eq(s.r[2].length, 100000 - 24ull * bs);
	cr_expect_eq(storm_view_invalidate(NULL, 0, 1), -EINVAL);
	scen_end(&s);
}

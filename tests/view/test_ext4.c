/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ext4 view against debugfs and dumpe2fs on images made by mkfs.ext4:
 * every block's owner (icheck), every group's metadata and free space
 * (dumpe2fs), the logical offset of every block of several files and their
 * extent-tree blocks (ex), and every inode's path (ncheck).
 */
#include "ext4_oracle.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <storm/view.h>

#define SKIP_WITHOUT_TOOLS()                                                                   \
	do {                                                                                   \
		if (!oracle_tools())                                                           \
			cr_skip_test("mkfs.ext4, debugfs, dumpe2fs or e2fsck not installed (e2fsprogs)"); \
	} while (0)

/* What dumpe2fs says a block is: 0 when it says nothing. */
struct expect {
	uint8_t kind;
	uint32_t group;
	uint32_t ino;
};

struct fsinfo {
	uint64_t blocks;
	uint32_t block_size, inodes, inodes_per_group, inode_size;
	struct expect *ex; /* per block */
};

static uint64_t header_num(const char *out, const char *key)
{
	const char *p = strstr(out, key);
	unsigned long long v = 0;

	cr_assert(p, "dumpe2fs has no %s", key);
	cr_assert_eq(sscanf(p + strlen(key), " %llu", &v), 1);
	return v;
}

static void mark(struct fsinfo *fi, uint64_t a, uint64_t b, unsigned kind, uint32_t group,
		 uint32_t ino)
{
	cr_assert(a <= b && b < fi->blocks, "dumpe2fs range %llu-%llu", (unsigned long long)a,
		  (unsigned long long)b);
	for (uint64_t x = a; x <= b; x++)
		fi->ex[x] = (struct expect){ .kind = (uint8_t)kind, .group = group, .ino = ino };
}

/* "a-b, c, d-e" */
static void mark_list(struct fsinfo *fi, const char *s, unsigned kind, uint32_t group)
{
	while (*s && *s != '\n') {
		unsigned long long a, b;
		int n;

		if (sscanf(s, " %llu-%llu%n", &a, &b, &n) == 2)
			mark(fi, a, b, kind, group, 0);
		else if (sscanf(s, " %llu%n", &a, &n) == 1)
			mark(fi, a, a, kind, group, 0);
		else
			break;
		s += n;
		while (*s == ',' || *s == ' ')
			s++;
	}
}

static void parse_dumpe2fs(struct fsinfo *fi, const char *out)
{
	const char *line = strstr(out, "\nGroup 0:");
	uint32_t g = 0;

	fi->blocks = header_num(out, "Block count:");
	fi->block_size = (uint32_t)header_num(out, "Block size:");
	fi->inodes = (uint32_t)header_num(out, "Inode count:");
	fi->inodes_per_group = (uint32_t)header_num(out, "Inodes per group:");
	fi->inode_size = (uint32_t)header_num(out, "Inode size:");
	fi->ex = calloc(fi->blocks, sizeof(*fi->ex));
	cr_assert(fi->ex && line);
	for (line++; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		unsigned long long a, b;
		const char *p;

		if (sscanf(line, "Group %u:", &g) == 1)
			continue;
		if ((p = strstr(line, "uperblock at ")) && p < strchr(line, '\n') &&
		    sscanf(p, "uperblock at %llu", &a) == 1)
			mark(fi, a, a, STORM_OWNER_SUPERBLOCK, g, 0);
		if ((p = strstr(line, "Group descriptors at ")) && p < strchr(line, '\n') &&
		    sscanf(p, "Group descriptors at %llu-%llu", &a, &b) == 2)
			mark(fi, a, b, STORM_OWNER_GROUP_DESC, g, 0);
		if (sscanf(line, "  Reserved GDT blocks at %llu-%llu", &a, &b) == 2)
			mark(fi, a, b, STORM_OWNER_GROUP_DESC, g, 7);
		if (sscanf(line, "  Block bitmap at %llu", &a) == 1)
			mark(fi, a, a, STORM_OWNER_BLOCK_BITMAP, g, 0);
		if (sscanf(line, "  Inode bitmap at %llu", &a) == 1)
			mark(fi, a, a, STORM_OWNER_INODE_BITMAP, g, 0);
		if (sscanf(line, "  Inode table at %llu-%llu", &a, &b) == 2) {
			uint32_t per_block = fi->block_size / fi->inode_size;

			mark(fi, a, b, STORM_OWNER_INODE_TABLE, g, 0);
			for (uint64_t x = a; x <= b; x++)
				fi->ex[x].ino = g * fi->inodes_per_group + 1 + (uint32_t)(x - a) * per_block;
		}
		if (strncmp(line, "  Free blocks: ", 15) == 0)
			mark_list(fi, line + 15, STORM_OWNER_FREE, g);
	}
}

static bool is_group_kind(unsigned k)
{
	return k == STORM_OWNER_FREE || k == STORM_OWNER_SUPERBLOCK || k == STORM_OWNER_GROUP_DESC ||
	       k == STORM_OWNER_BLOCK_BITMAP || k == STORM_OWNER_INODE_BITMAP ||
	       k == STORM_OWNER_INODE_TABLE;
}

/* The inode icheck should name for a block we attribute. */
static uint32_t owning_ino(const storm_owner *o)
{
	switch (o->kind) {
	case STORM_OWNER_FILE_DATA:
	case STORM_OWNER_DIR_DATA:
	case STORM_OWNER_EXTENT_TREE:
	case STORM_OWNER_INDIRECT:
	case STORM_OWNER_XATTR:
	case STORM_OWNER_JOURNAL:
	case STORM_OWNER_GROUP_DESC:
	case STORM_OWNER_OTHER:
		return o->ino;
	default:
		return 0;
	}
}

static storm_view *open_view(const struct image *im)
{
	storm_blocksrc_file *f;
	storm_view *v = NULL;
	int rc;

	cr_assert_eq(storm_blocksrc_file_open(&f, im->path), 0);
	rc = storm_view_open_ext4(&v, storm_blocksrc_file_read, f, storm_blocksrc_file_size(f));
	storm_blocksrc_file_close(f);
	cr_assert_eq(rc, 0, "storm_view_open_ext4: %s", storm_strerror(rc));
	return v;
}

static size_t check_group_metadata(const struct fsinfo *fi, const storm_owner *own)
{
	size_t bad = 0, checked = 0;

	for (uint64_t b = 0; b < fi->blocks; b++) {
		const struct expect *e = &fi->ex[b];
		const storm_owner *o = &own[b];

		if (!e->kind && !is_group_kind(o->kind))
			continue;
		checked++;
		if (e->kind != o->kind || (e->kind != STORM_OWNER_FREE && e->group != o->group) ||
		    ((e->kind == STORM_OWNER_INODE_TABLE || e->kind == STORM_OWNER_GROUP_DESC) &&
		     e->ino != o->ino)) {
			if (bad++ < 10)
				cr_log_error("block %llu: dumpe2fs %s g%u i%u, view %s g%u i%u",
					     (unsigned long long)b, storm_owner_kind_name(e->kind), e->group,
					     e->ino, storm_owner_kind_name(o->kind), o->group, o->ino);
		}
	}
	cr_expect_eq(bad, 0, "%zu of %zu group-metadata/free blocks differ from dumpe2fs", bad, checked);
	return checked;
}

static size_t check_icheck(const struct image *im, const struct fsinfo *fi, const storm_owner *own)
{
	size_t cap = fi->blocks * 12 + 4096, len = 0, bad = 0, seen = 0, owned = 0;
	char *script = malloc(cap), *out;
	long long *ino = malloc(fi->blocks * sizeof(*ino));

	cr_assert(script && ino);
	for (uint64_t b = 0; b < fi->blocks; b++) {
		if (b % 500 == 0) /* debugfs reads script lines into 8 KiB */
			len += (size_t)snprintf(script + len, cap - len, "%sicheck", b ? "\n" : "");
		len += (size_t)snprintf(script + len, cap - len, " %llu", (unsigned long long)b);
		ino[b] = -1;
	}
	snprintf(script + len, cap - len, "\n");
	out = oracle_debugfs(im, script);
	for (char *l = out; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		unsigned long long b, i;

		if (sscanf(l, "%llu\t%llu", &b, &i) == 2 && b < fi->blocks)
			ino[b] = (long long)i;
		else if (sscanf(l, "%llu\t<block not found>", &b) == 1 && b < fi->blocks)
			ino[b] = 0;
	}
	for (uint64_t b = 0; b < fi->blocks; b++) {
		cr_assert_neq(ino[b], -1, "icheck said nothing about block %llu", (unsigned long long)b);
		seen++;
		owned += ino[b] != 0;
		if ((long long)owning_ino(&own[b]) != ino[b] && bad++ < 10)
			cr_log_error("block %llu: icheck inode %lld, view %s inode %u",
				     (unsigned long long)b, ino[b], storm_owner_kind_name(own[b].kind),
				     own[b].ino);
	}
	cr_expect_eq(bad, 0, "%zu of %zu blocks differ from icheck", bad, seen);
	cr_log_info("icheck: %zu blocks compared, %zu owned by an inode", seen, owned);
	free(script);
	free(out);
	free(ino);
	return owned;
}

/* paths[ino] is "\n/a\n/b\n" (every name ncheck gave), or NULL. */
static char **ncheck_paths(const struct image *im, uint32_t inodes)
{
	size_t cap = (size_t)inodes * 8 + 4096, len = 0;
	char *script = malloc(cap), *out;
	char **paths = calloc(inodes + 1, sizeof(*paths));

	cr_assert(script && paths);
	for (uint32_t i = 1; i <= inodes; i++) {
		if (i % 500 == 1)
			len += (size_t)snprintf(script + len, cap - len, "%sncheck", i > 1 ? "\n" : "");
		len += (size_t)snprintf(script + len, cap - len, " %u", i);
	}
	snprintf(script + len, cap - len, "\n");
	out = oracle_debugfs(im, script);
	for (char *l = out; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		unsigned i;
		char p[1024], norm[1024];
		size_t n = 0;

		if (sscanf(l, "%u\t%1023[^\n]", &i, p) != 2 || i == 0 || i > inodes)
			continue;
		/* ncheck prints "//name" for entries of the root. */
		for (char *s = p; *s; s++)
			if (!(s[0] == '/' && s[1] == '/'))
				norm[n++] = *s;
		norm[n] = '\0';
		size_t old = paths[i] ? strlen(paths[i]) : 0;

		paths[i] = realloc(paths[i], old + n + 3);
		if (!old)
			paths[i][old++] = '\n';
		memcpy(paths[i] + old, norm, n);
		memcpy(paths[i] + old + n, "\n", 2);
	}
	free(script);
	free(out);
	return paths;
}

static size_t check_paths(const storm_view *v, char **paths, uint32_t inodes)
{
	size_t bad = 0, named = 0;
	char buf[4096], key[4100];

	cr_assert_eq(storm_view_path(v, 2, buf, sizeof(buf)), 1);
	cr_assert_str_eq(buf, "/");
	for (uint32_t i = 1; i <= inodes; i++) {
		int rc = storm_view_path(v, i, buf, sizeof(buf));

		if (i == 2)
			continue;
		if (!paths[i]) {
			if (rc != -ENOENT && bad++ < 10)
				cr_log_error("inode %u: ncheck has no name, view says %s", i,
					     rc >= 0 ? buf : storm_strerror(rc));
			continue;
		}
		named++;
		snprintf(key, sizeof(key), "\n%s\n", buf);
		if ((rc < 0 || !strstr(paths[i], key) || (size_t)rc != strlen(buf)) && bad++ < 10)
			cr_log_error("inode %u: ncheck %s, view %s", i, paths[i],
				     rc >= 0 ? buf : storm_strerror(rc));
	}
	cr_expect_eq(bad, 0, "%zu of %u inodes have a path different from ncheck", bad, inodes);
	cr_log_info("ncheck: %u inodes compared, %zu with names", inodes, named);
	return named;
}

static uint32_t ino_of(char **paths, uint32_t inodes, const char *path)
{
	char key[512];

	if (strcmp(path, "/") == 0)
		return 2;
	snprintf(key, sizeof(key), "\n%s\n", path);
	for (uint32_t i = 1; i <= inodes; i++)
		if (paths[i] && strstr(paths[i], key))
			return i;
	cr_assert_fail("ncheck knows no %s", path);
	return 0;
}

/* Every block of the file's extents (debugfs ex) at its logical offset, and
 * every extent-tree block.  @return blocks checked. */
static size_t check_extents(const struct image *im, const struct fsinfo *fi, const storm_owner *own,
			    const char *path, uint32_t ino)
{
	char script[600], *out;
	size_t data = 0, tree = 0, bad = 0, ours = 0;
	unsigned kind = STORM_OWNER_FILE_DATA;

	snprintf(script, sizeof(script), "stat %s\nex %s\n", path, path);
	out = oracle_debugfs(im, script);
	if (strstr(out, "Type: directory"))
		kind = STORM_OWNER_DIR_DATA;
	for (char *l = out; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		unsigned lvl, depth, ent, ents;
		unsigned long long la, lb, pa, pb, n;

		if (sscanf(l, " %u/ %u %u/ %u %llu - %llu %llu - %llu %llu", &lvl, &depth, &ent, &ents,
			   &la, &lb, &pa, &pb, &n) == 9 && lvl == depth) {
			for (unsigned long long i = 0; i < n; i++, data++) {
				const storm_owner *o = &own[pa + i];

				if ((o->kind != kind || o->ino != ino ||
				     o->offset != (la + i) * fi->block_size) && bad++ < 10)
					cr_log_error("%s block %llu (logical %llu): view %s inode %u offset %llu",
						     path, pa + i, la + i, storm_owner_kind_name(o->kind),
						     o->ino, (unsigned long long)o->offset);
			}
		} else if (sscanf(l, " %u/ %u %u/ %u %llu - %llu %llu %llu", &lvl, &depth, &ent, &ents,
				  &la, &lb, &pa, &n) == 8 && lvl < depth) {
			tree++;
			if ((own[pa].kind != STORM_OWNER_EXTENT_TREE || own[pa].ino != ino) && bad++ < 10)
				cr_log_error("%s tree block %llu: view %s inode %u", path, pa,
					     storm_owner_kind_name(own[pa].kind), own[pa].ino);
		}
	}
	for (uint64_t b = 0; b < fi->blocks; b++)
		ours += own[b].kind == kind && own[b].ino == ino;
	cr_expect_gt(data, 0, "debugfs ex listed no blocks for %s", path);
	cr_expect_eq(ours, data, "%s: view has %zu data blocks, ex %zu", path, ours, data);
	cr_expect_eq(bad, 0, "%s: %zu blocks differ from debugfs ex", path, bad);
	cr_log_info("ex %s: %zu data blocks, %zu extent-tree blocks", path, data, tree);
	free(out);
	return data + tree;
}

static bool is_htree(const struct image *im, const char *path)
{
	char script[300], *out, *p;
	unsigned flags = 0;

	snprintf(script, sizeof(script), "stat %s\n", path);
	out = oracle_debugfs(im, script);
	p = strstr(out, "Flags: 0x");
	if (p)
		sscanf(p, "Flags: 0x%x", &flags);
	free(out);
	return flags & 0x1000; /* EXT4_INDEX_FL */
}

static void check_image(const char *opts, bool extents)
{
	struct image im = { 0 };
	struct fsinfo fi = { 0 };
	storm_owner *own, o;
	storm_view *v;
	char **paths, *dump;
	size_t unknown = 0, tree = 0;

	SKIP_WITHOUT_TOOLS();
	image_make(&im, opts, "64M");
	image_populate(&im);
	dump = oracle_dumpe2fs(&im);
	parse_dumpe2fs(&fi, dump);
	free(dump);
	v = open_view(&im);
	cr_assert_eq(storm_view_block_count(v), fi.blocks);
	cr_assert_eq(storm_view_block_size(v), fi.block_size);
	own = calloc(fi.blocks, sizeof(*own));
	cr_assert(own);
	for (uint64_t b = 0; b < fi.blocks; b++) {
		cr_assert_eq(storm_view_lookup(v, b, &own[b]), 0);
		unknown += own[b].kind == STORM_OWNER_UNKNOWN;
		tree += own[b].kind == STORM_OWNER_EXTENT_TREE || own[b].kind == STORM_OWNER_INDIRECT;
	}
	cr_expect_eq(unknown, 0, "%zu blocks in use with no owner", unknown);
	cr_expect_gt(tree, 0, "no extent-tree or indirect block found");
	cr_expect_eq(storm_view_lookup(v, fi.blocks, &o), -ERANGE);
	cr_log_info("%s: %llu blocks of %u bytes, %zu runs", opts, (unsigned long long)fi.blocks,
		    fi.block_size, storm_view_extent_count(v));

	check_group_metadata(&fi, own);
	check_icheck(&im, &fi, own);
	paths = ncheck_paths(&im, fi.inodes);
	check_paths(v, paths, fi.inodes);
	cr_expect(is_htree(&im, "/many"), "/many is not an htree directory");
	if (extents)
		for (int i = 0; oracle_tree_files[i]; i++)
			check_extents(&im, &fi, own, oracle_tree_files[i],
				      ino_of(paths, fi.inodes, oracle_tree_files[i]));

	for (uint32_t i = 0; i <= fi.inodes; i++)
		free(paths[i]);
	free(paths);
	free(own);
	free(fi.ex);
	storm_view_del(v);
	image_remove(&im);
}

Test(ext4, debian_defaults_1k_blocks)
{
	check_image("", true); /* 64M is a "small" file system: 1 KiB blocks */
}

Test(ext4, debian_defaults_4k_blocks)
{
	check_image("-b 4096", true);
}

Test(ext4, no_csum_no_64bit)
{
	check_image("-O ^metadata_csum,^64bit", true);
}

Test(ext4, ext3_indirect_blocks)
{
	check_image("-t ext3", false);
}

/* ------------------------------------------------------------------ */
/* Refusals and failures                                               */

static int open_path(const char *path, storm_view **v, uint64_t bytes_override)
{
	storm_blocksrc_file *f;
	int rc;

	cr_assert_eq(storm_blocksrc_file_open(&f, path), 0);
	rc = storm_view_open_ext4(v, storm_blocksrc_file_read, f,
				  bytes_override ? bytes_override : storm_blocksrc_file_size(f));
	storm_blocksrc_file_close(f);
	return rc;
}

Test(ext4, unsupported_features_are_refused)
{
	static const char *const opts[] = { "-O inline_data", "-O encrypt", "-O casefold",
					    "-O bigalloc -C 16384" };
	static const char *const names[] = { "inline_data", "encrypt", "casefold", "bigalloc" };

	SKIP_WITHOUT_TOOLS();
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		struct image im = { 0 };
		storm_view *v = (storm_view *)&im;
		storm_blocksrc_file *f;

		image_make(&im, opts[i], "16M");
		cr_expect_eq(open_path(im.path, &v, 0), STORM_ERR_UNSUPPORTED, "%s", opts[i]);
		cr_expect_null(v);
		cr_assert_eq(storm_blocksrc_file_open(&f, im.path), 0);
		const char *why = storm_view_ext4_unsupported(storm_blocksrc_file_read, f);
		cr_expect(why && !strcmp(why, names[i]), "%s: named %s", opts[i], why ? why : "nothing");
		storm_blocksrc_file_close(f);
		image_remove(&im);
	}
	{
		struct image im = { 0 };
		storm_blocksrc_file *f;

		image_make(&im, "", "16M");
		cr_assert_eq(storm_blocksrc_file_open(&f, im.path), 0);
		cr_expect_null(storm_view_ext4_unsupported(storm_blocksrc_file_read, f),
			       "Debian's defaults are supported");
		storm_blocksrc_file_close(f);
		image_remove(&im);
	}
	cr_expect_str_eq(storm_strerror(STORM_ERR_UNSUPPORTED), "feature not supported");
}

/* Overwrites @p len bytes at @p off of the image with @p byte, or with a
 * pseudo-random pattern when @p byte is negative. */
static void scribble(const struct image *im, uint64_t off, size_t len, int byte)
{
	FILE *f = fopen(im->path, "r+b");

	cr_assert(f);
	cr_assert_eq(fseek(f, (long)off, SEEK_SET), 0);
	for (size_t i = 0; i < len; i++)
		fputc(byte >= 0 ? byte : (int)((i * 2654435761u) >> 13) & 0xff, f);
	fclose(f);
}

Test(ext4, corrupt_superblock_is_an_error)
{
	static const struct {
		uint64_t off;
		size_t len;
		int byte;
	} cases[] = {
		{ 1024 + 56, 2, 0 },     /* s_magic */
		{ 1024 + 24, 4, 0x7f },  /* s_log_block_size: absurd (checksum catches it) */
		{ 1024, 1024, -1 },      /* the whole superblock */
		{ 1024 + 100, 1, 0x55 }, /* one byte: the checksum catches it */
	};

	SKIP_WITHOUT_TOOLS();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct image im = { 0 };
		storm_view *v = NULL;
		int rc;

		image_make(&im, "", "16M");
		scribble(&im, cases[i].off, cases[i].len, cases[i].byte);
		rc = open_path(im.path, &v, 0);
		cr_expect_eq(rc, -EUCLEAN, "case %zu: %d %s", i, rc, storm_strerror(rc));
		cr_expect_null(v);
		image_remove(&im);
	}
}

Test(ext4, corrupt_inode_table_is_an_error)
{
	struct image im = { 0 };
	storm_view *v = NULL;
	char *dump;
	struct fsinfo fi = { 0 };
	uint64_t itable = 0;
	int rc;

	SKIP_WITHOUT_TOOLS();
	image_make(&im, "", "16M");
	dump = oracle_dumpe2fs(&im);
	parse_dumpe2fs(&fi, dump);
	for (uint64_t b = 0; b < fi.blocks && !itable; b++)
		if (fi.ex[b].kind == STORM_OWNER_INODE_TABLE)
			itable = b; /* holds the root inode */
	free(dump);
	free(fi.ex);
	cr_assert_gt(itable, 0);
	scribble(&im, itable * fi.block_size, fi.block_size, -1);
	rc = open_path(im.path, &v, 0);
	cr_expect_eq(rc, -EUCLEAN, "%d %s", rc, storm_strerror(rc));
	cr_expect_null(v);
	image_remove(&im);
}

Test(ext4, volume_smaller_than_the_file_system)
{
	struct image im = { 0 };
	storm_view *v = NULL;

	SKIP_WITHOUT_TOOLS();
	image_make(&im, "", "16M");
	cr_expect_eq(open_path(im.path, &v, 8u << 20), -EUCLEAN);
	cr_expect_eq(open_path(im.path, &v, 1500), -EUCLEAN);
	cr_expect_null(v);
	image_remove(&im);
}

/* A source that fails with -EIO from its `fail_at`-th read on. */
struct failing {
	storm_blocksrc_file *f;
	unsigned reads, fail_at;
};

static int failing_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct failing *s = ctx;

	if (++s->reads >= s->fail_at)
		return -EIO;
	return storm_blocksrc_file_read(s->f, off, buf, len);
}

Test(ext4, read_errors_are_reported)
{
	struct image im = { 0 };
	struct failing s = { .fail_at = UINT32_MAX };
	storm_view *v = NULL;
	unsigned total, tried = 0;

	SKIP_WITHOUT_TOOLS();
	image_make(&im, "", "16M");
	image_populate(&im);
	cr_assert_eq(storm_blocksrc_file_open(&s.f, im.path), 0);
	cr_assert_eq(storm_view_open_ext4(&v, failing_read, &s, storm_blocksrc_file_size(s.f)), 0);
	storm_view_del(v);
	total = s.reads;
	cr_assert_gt(total, 3);
	/* Fail each of the first reads, then a spread of later ones. */
	for (unsigned k = 1; k <= total; k += k < 16 ? 1 : total / 40 + 1, tried++) {
		s.reads = 0;
		s.fail_at = k;
		v = (storm_view *)&s;
		cr_expect_eq(storm_view_open_ext4(&v, failing_read, &s, storm_blocksrc_file_size(s.f)),
			     -EIO, "failing read %u of %u", k, total);
		cr_expect_null(v);
	}
	cr_log_info("%u reads to build the view; %u failure points tried", total, tried);
	storm_blocksrc_file_close(s.f);
	image_remove(&im);
}

Test(ext4, api_edges)
{
	struct image im = { 0 };
	storm_view *v;
	storm_owner o;
	char buf[8];
	storm_blocksrc_file *f;

	SKIP_WITHOUT_TOOLS();
	cr_expect_eq(storm_blocksrc_file_open(&f, "/nonexistent/storm"), -ENOENT);
	cr_expect_eq(storm_view_open_ext4(NULL, storm_blocksrc_file_read, NULL, 0), -EINVAL);
	storm_view_del(NULL);
	storm_blocksrc_file_close(NULL);
	image_make(&im, "", "16M");
	image_populate(&im);
	v = open_view(&im);
	cr_expect_eq(storm_view_lookup(v, UINT64_MAX, &o), -ERANGE);
	cr_expect_eq(storm_view_lookup(v, 0, NULL), -EINVAL);
	cr_expect_eq(storm_view_path(v, 2, buf, 1), -ERANGE);
	cr_expect_eq(storm_view_path(v, 2, buf, 2), 1);
	cr_expect_eq(storm_view_path(v, 12, buf, 3), -ERANGE); /* "/f1" needs 4 */
	cr_expect_eq(storm_view_path(v, 12, buf, 4), 3);
	cr_expect_str_eq(buf, "/f1");
	cr_expect_eq(storm_view_path(v, 8, buf, sizeof(buf)), -ENOENT); /* the journal */
	cr_expect_eq(storm_view_path(v, 0, buf, sizeof(buf)), -ENOENT);
	cr_expect_eq(storm_view_path(v, UINT32_MAX, buf, sizeof(buf)), -ENOENT);
	cr_expect_str_eq(storm_owner_kind_name(STORM_OWNER_EXTENT_TREE), "extent-tree");
	cr_expect_str_eq(storm_owner_kind_name(1000), "unknown");
	storm_view_del(v);
	image_remove(&im);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The checks test_blocksrc_iscsi.sh runs against a real target (tgtd):
 *
 *   read URL IMAGE            the whole LUN in odd-sized, unaligned pieces (and
 *                             random ones) equals IMAGE byte for byte; reads
 *                             past the end fail with -EIO
 *   view URL IMAGE [INO=PATH...]
 *                             the ext4 view built through the LUN equals the one
 *                             built from IMAGE (every block's owner, every
 *                             inode's path), and INO has PATH
 *   open-fail URL ERRNO MS    opening fails with -ERRNO (a name: ENXIO, …)
 *                             within MS milliseconds
 *   reconnect URL IMAGE HALF GO
 *                             reads half the LUN, creates HALF, waits for GO
 *                             (the script drops the session meanwhile), reads
 *                             the rest through a new login; all equal IMAGE
 *   scsi-error URL            the last block of a LUN whose backing file was
 *                             truncated fails with -EIO and the sense text
 *
 * Exit 0 when the check holds, 1 otherwise (the reason on stderr). */
#include <storm/storm.h>
#include <storm/view.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FAIL(...) do { fprintf(stderr, "blocksrc_iscsi_check: " __VA_ARGS__); fputc('\n', stderr); return 1; } while (0)

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int open_src(storm_blocksrc_iscsi **s, const char *url)
{
	int rc = storm_blocksrc_iscsi_open(s, url, "iqn.2024-01.org.libstorm:test-check");

	if (rc)
		fprintf(stderr, "blocksrc_iscsi_check: open %s: %s\n", url, storm_strerror(rc));
	return rc;
}

static uint8_t *load(const char *path, uint64_t *size)
{
	struct stat st;
	uint8_t *p;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	p = malloc((size_t)st.st_size ? (size_t)st.st_size : 1);
	for (off_t done = 0; p && done < st.st_size;) {
		ssize_t n = pread(fd, p + done, (size_t)(st.st_size - done), done);

		if (n <= 0) {
			free(p);
			p = NULL;
			break;
		}
		done += n;
	}
	close(fd);
	*size = (uint64_t)st.st_size;
	return p;
}

/* One read through the source, compared with the image. */
static int check_piece(storm_blocksrc_iscsi *s, const uint8_t *img, uint64_t off, size_t len,
		       uint8_t *buf)
{
	int rc;

	memset(buf, 0xa5, len);
	rc = storm_blocksrc_iscsi_read(s, off, buf, len);
	if (rc)
		FAIL("read %zu bytes at %llu: %s (%s)", len, (unsigned long long)off, storm_strerror(rc),
		     storm_blocksrc_iscsi_error(s));
	if (memcmp(buf, img + off, len)) {
		size_t i = 0;

		while (buf[i] == img[off + i])
			i++;
		FAIL("read %zu bytes at %llu: byte %llu differs from the image", len,
		     (unsigned long long)off, (unsigned long long)(off + i));
	}
	return 0;
}

/* Sequential pieces over [from, to): odd sizes first (1, 511, 513, …), then
 * random ones up to 300 KiB and now and then 3 MiB (several READ(16) chunks). */
static int read_range(storm_blocksrc_iscsi *s, const uint8_t *img, uint64_t from, uint64_t to,
		      uint8_t *buf, unsigned *pieces)
{
	static const size_t first[] = {1, 511, 513, 4095, 1, 1023, 7, 65537, 4097, 3};
	uint64_t off = from;

	for (unsigned i = 0; off < to; i++) {
		size_t len;

		if (i < sizeof(first) / sizeof(first[0]))
			len = first[i];
		else if (next_rand() % 16 == 0)
			len = 3 * 1024 * 1024 + 1 + next_rand() % 1000;
		else
			len = 1 + next_rand() % (300 * 1024);
		if (len > to - off)
			len = (size_t)(to - off);
		if (check_piece(s, img, off, len, buf))
			return 1;
		off += len;
		(*pieces)++;
	}
	return 0;
}

static int cmd_read(const char *url, const char *image)
{
	storm_blocksrc_iscsi *s;
	uint64_t size;
	uint8_t *img = load(image, &size);
	uint8_t *buf = malloc(4 * 1024 * 1024);
	unsigned pieces = 0;
	double t0 = now_ms();
	int rc;

	if (!img || !buf)
		FAIL("cannot load %s", image);
	if (open_src(&s, url))
		return 1;
	if (storm_blocksrc_iscsi_size(s) != size)
		FAIL("LUN size %llu, image size %llu", (unsigned long long)storm_blocksrc_iscsi_size(s),
		     (unsigned long long)size);
	if (read_range(s, img, 0, size, buf, &pieces))
		return 1;
	/* Random offsets and lengths, many inside one block or across two. */
	for (int i = 0; i < 300; i++, pieces++) {
		size_t len = 1 + next_rand() % (i % 3 ? 2000 : 200000);
		uint64_t off = next_rand() % (size - len + 1);

		if (check_piece(s, img, off, len, buf))
			return 1;
	}
	if (check_piece(s, img, size - 1, 1, buf) || storm_blocksrc_iscsi_read(s, size, buf, 0))
		FAIL("the last byte, or an empty read at the end");
	rc = storm_blocksrc_iscsi_read(s, size - 10, buf, 11);
	if (rc != -EIO || !*storm_blocksrc_iscsi_error(s))
		FAIL("a read past the end gave %d, error '%s'", rc, storm_blocksrc_iscsi_error(s));
	rc = storm_blocksrc_iscsi_read(s, size + 512, buf, 1);
	if (rc != -EIO)
		FAIL("a read after the end gave %d", rc);
	printf("read: %u pieces, %llu bytes equal to the image (block size %u) in %.0f ms\n", pieces,
	       (unsigned long long)size, storm_blocksrc_iscsi_block_size(s), now_ms() - t0);
	storm_blocksrc_iscsi_close(s);
	free(img);
	free(buf);
	return 0;
}

static int owner_eq(const storm_owner *a, const storm_owner *b)
{
	return a->kind == b->kind && a->ino == b->ino && a->offset == b->offset &&
	       a->group == b->group;
}

static int compare_views(const storm_view *a, const storm_view *b)
{
	char pa[4096], pb[4096];
	uint64_t blocks = storm_view_block_count(a);
	unsigned named = 0;

	if (storm_view_block_size(a) != storm_view_block_size(b) || blocks != storm_view_block_count(b) ||
	    storm_view_extent_count(a) != storm_view_extent_count(b))
		FAIL("views differ in geometry or run count (%zu vs %zu runs)", storm_view_extent_count(a),
		     storm_view_extent_count(b));
	for (uint64_t blk = 0; blk < blocks; blk++) {
		storm_owner oa, ob;

		if (storm_view_lookup(a, blk, &oa) || storm_view_lookup(b, blk, &ob))
			FAIL("lookup of block %llu failed", (unsigned long long)blk);
		if (!owner_eq(&oa, &ob))
			FAIL("block %llu: %s ino %u through iSCSI, %s ino %u from the image",
			     (unsigned long long)blk, storm_owner_kind_name(oa.kind), oa.ino,
			     storm_owner_kind_name(ob.kind), ob.ino);
	}
	for (uint32_t ino = 1; ino <= 65536; ino++) {
		int ra = storm_view_path(a, ino, pa, sizeof(pa));
		int rb = storm_view_path(b, ino, pb, sizeof(pb));

		if (ra != rb || (ra >= 0 && strcmp(pa, pb)))
			FAIL("inode %u: path '%s' (%d) through iSCSI, '%s' (%d) from the image", ino,
			     ra >= 0 ? pa : "", ra, rb >= 0 ? pb : "", rb);
		named += ra >= 0;
	}
	printf("view: %llu blocks of %u bytes, %zu owner runs, %u named inodes: identical\n",
	       (unsigned long long)blocks, storm_view_block_size(a), storm_view_extent_count(a), named);
	return 0;
}

static int cmd_view(const char *url, const char *image, int npaths, char **paths)
{
	storm_blocksrc_iscsi *s;
	storm_blocksrc_file *f;
	storm_view *vi, *vf;
	double t0;
	int rc;

	if (open_src(&s, url))
		return 1;
	t0 = now_ms();
	rc = storm_view_open_ext4(&vi, storm_blocksrc_iscsi_read, s, storm_blocksrc_iscsi_size(s));
	if (rc)
		FAIL("view through iSCSI: %s (%s)", storm_strerror(rc), storm_blocksrc_iscsi_error(s));
	printf("view: built through iSCSI in %.0f ms\n", now_ms() - t0);
	storm_blocksrc_iscsi_close(s);
	if (storm_blocksrc_file_open(&f, image))
		FAIL("cannot open %s", image);
	rc = storm_view_open_ext4(&vf, storm_blocksrc_file_read, f, storm_blocksrc_file_size(f));
	storm_blocksrc_file_close(f);
	if (rc)
		FAIL("view of the image: %s", storm_strerror(rc));
	if (compare_views(vi, vf))
		return 1;
	for (int i = 0; i < npaths; i++) {
		char got[4096];
		char *eq = strchr(paths[i], '=');
		uint32_t ino = (uint32_t)strtoul(paths[i], NULL, 10);

		if (!eq || storm_view_path(vi, ino, got, sizeof(got)) < 0 || strcmp(got, eq + 1))
			FAIL("inode %u: expected path %s", ino, eq ? eq + 1 : "?");
	}
	printf("view: %d paths as debugfs names them\n", npaths);
	storm_view_del(vi);
	storm_view_del(vf);
	return 0;
}

static const struct {
	const char *name;
	int value;
} errnos[] = {
	{"ECONNREFUSED", ECONNREFUSED}, {"ENXIO", ENXIO},       {"EINVAL", EINVAL},
	{"EACCES", EACCES},             {"ETIMEDOUT", ETIMEDOUT}, {"EHOSTUNREACH", EHOSTUNREACH},
};

static int cmd_open_fail(const char *url, const char *name, const char *max_ms)
{
	storm_blocksrc_iscsi *s = NULL;
	int want = 0;
	double t0 = now_ms(), ms;
	int rc;

	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (!strcmp(errnos[i].name, name))
			want = -errnos[i].value;
	if (!want)
		FAIL("unknown errno name %s", name);
	rc = storm_blocksrc_iscsi_open(&s, url, NULL);
	ms = now_ms() - t0;
	if (rc != want || s)
		FAIL("open %s: %d (%s), expected %s", url, rc, storm_strerror(rc), name);
	if (ms > atof(max_ms))
		FAIL("open %s: %s after %.0f ms, over %s ms", url, name, ms, max_ms);
	printf("open-fail: %s -> %s (%s) in %.0f ms\n", url, name, storm_strerror(rc), ms);
	return 0;
}

static int cmd_reconnect(const char *url, const char *image, const char *half, const char *go)
{
	storm_blocksrc_iscsi *s;
	uint64_t size;
	uint8_t *img = load(image, &size);
	uint8_t *buf = malloc(4 * 1024 * 1024);
	unsigned pieces = 0;
	int fd;

	if (!img || !buf)
		FAIL("cannot load %s", image);
	if (open_src(&s, url) || read_range(s, img, 0, size / 2, buf, &pieces))
		return 1;
	fd = open(half, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		FAIL("cannot create %s", half);
	close(fd);
	for (int i = 0; access(go, F_OK); i++) {
		if (i > 600)
			FAIL("%s did not appear within 60 s", go);
		usleep(100000);
	}
	if (read_range(s, img, size / 2, size, buf, &pieces))
		return 1;
	if (!*storm_blocksrc_iscsi_error(s))
		FAIL("the rest was read, but no lost session was recorded");
	printf("reconnect: %u pieces equal to the image across a new login (last failure: %s)\n",
	       pieces, storm_blocksrc_iscsi_error(s));
	storm_blocksrc_iscsi_close(s);
	free(img);
	free(buf);
	return 0;
}

static int cmd_scsi_error(const char *url)
{
	storm_blocksrc_iscsi *s;
	uint8_t buf[4096];
	uint64_t size;
	int rc;

	if (open_src(&s, url))
		return 1;
	size = storm_blocksrc_iscsi_size(s);
	rc = storm_blocksrc_iscsi_read(s, size - 100, buf, 100);
	if (rc != -EIO || !strstr(storm_blocksrc_iscsi_error(s), "CHECK CONDITION"))
		FAIL("read of the missing tail: %d, error '%s'", rc, storm_blocksrc_iscsi_error(s));
	printf("scsi-error: -EIO, \"%s\"\n", storm_blocksrc_iscsi_error(s));
	rc = storm_blocksrc_iscsi_read(s, 0, buf, sizeof(buf));
	if (rc)
		FAIL("the session is unusable after a SCSI error: %s", storm_strerror(rc));
	storm_blocksrc_iscsi_close(s);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "read") && argc == 4)
		return cmd_read(argv[2], argv[3]);
	if (!strcmp(cmd, "view") && argc >= 4)
		return cmd_view(argv[2], argv[3], argc - 4, argv + 4);
	if (!strcmp(cmd, "open-fail") && argc == 5)
		return cmd_open_fail(argv[2], argv[3], argv[4]);
	if (!strcmp(cmd, "reconnect") && argc == 6)
		return cmd_reconnect(argv[2], argv[3], argv[4], argv[5]);
	if (!strcmp(cmd, "scsi-error") && argc == 3)
		return cmd_scsi_error(argv[2]);
	fprintf(stderr, "usage: blocksrc_iscsi_check read|view|open-fail|reconnect|scsi-error URL ...\n");
	return 2;
}

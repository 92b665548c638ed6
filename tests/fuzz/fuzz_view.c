/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the ext2/3/4 file-system view (storm_view_open_ext4).
 *
 * The input is the start of a volume image: the block source reads it and
 * returns zeros past its end, up to the volume size.  The seeds are small
 * images with their trailing zeros cut off, so they stay under run.sh's
 * -max_len (64 KiB).
 *
 * Volume size: byte 0 of the volume is never read by ext2/3/4 (the boot
 * sector before the superblock at 1024), so the target takes it over.  0 (as
 * in every mkfs image) means "the size the superblock claims"; any other
 * value v means (v * 16 KiB), so that volumes smaller or larger than the file
 * system are explored as well.  The block source reports that byte as 0.
 * Either way the volume is at most 4 MiB.
 *
 * When the view opens, every block of the file system is looked up and every
 * inode number the superblock claims (at most 64 Ki) is turned into a path;
 * every result is read and checked.  Seeds: tests/fuzz/corpus/view (mkfs.ext4
 * -b 1024/4096 -N 32..64 images populated with debugfs, trailing zeros cut). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <storm/view.h>

#include "fuzz_util.h"

#define VOLUME_MAX (4u << 20)
#define INODES_MAX 65536u


struct img {
	const uint8_t *data;
	size_t size;
	uint64_t volume;
};

static int img_read(void *ctx, uint64_t offset, void *buf, size_t len)
{
	const struct img *im = ctx;

	/* The view promises never to read past volume_bytes. */
	FUZZ_CHECK(offset <= im->volume && len <= im->volume - offset);
	uint8_t *out = buf;
	size_t have = 0;
	if (offset < im->size) {
		have = im->size - (size_t)offset;
		if (have > len)
			have = len;
		memcpy(out, im->data + offset, have);
	}
	memset(out + have, 0, len - have);
	if (offset == 0 && len > 0)
		out[0] = 0; /* the volume-size byte */
	return 0;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The volume size the superblock claims, 0 if none can be read. */
static uint64_t claimed_size(const uint8_t *data, size_t size)
{
	if (size < 1024 + 32)
		return 0;
	uint64_t blocks = le32(data + 1024 + 4);
	uint32_t log = le32(data + 1024 + 24);
	if (log > 6) /* at most 64 KiB blocks */
		return 0;
	return blocks * (1024u << log);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct img im = { .data = data, .size = size };

	if (size > VOLUME_MAX)
		return -1;
	if (size > 0 && data[0])
		im.volume = (uint64_t)data[0] * 16384u;
	else
		im.volume = claimed_size(data, size);
	if (im.volume > VOLUME_MAX)
		im.volume = VOLUME_MAX;
	if (im.volume < size && (size == 0 || data[0] == 0))
		im.volume = size;

	storm_view *v = (storm_view *)&im; /* must be overwritten */
	int rc = storm_view_open_ext4(&v, img_read, &im, im.volume);
	if (rc) {
		FUZZ_CHECK(rc < 0);
		FUZZ_CHECK(v == NULL);
		return 0;
	}
	FUZZ_CHECK(v != NULL);

	uint32_t bs = storm_view_block_size(v);
	uint64_t nblocks = storm_view_block_count(v);
	FUZZ_CHECK(bs >= 1024 && bs <= 65536 && (bs & (bs - 1)) == 0);
	FUZZ_CHECK(nblocks <= im.volume / bs);
	g_sink += (uint32_t)storm_view_extent_count(v);

	storm_owner o;
	for (uint64_t b = 0; b < nblocks; b++) {
		memset(&o, 0xa5, sizeof o);
		FUZZ_CHECK(storm_view_lookup(v, b, &o) == 0);
		FUZZ_CHECK(o.kind <= STORM_OWNER_OTHER);
		FUZZ_CHECK(o.reserved32 == 0 && !o.reserved[0] && !o.reserved[1] && !o.reserved[2] &&
		      !o.reserved[3]);
		const char *name = storm_owner_kind_name(o.kind);
		FUZZ_CHECK(name != NULL);
		g_sink += o.kind + o.ino + (uint32_t)o.offset + o.group + (uint32_t)strlen(name);
	}
	FUZZ_CHECK(storm_view_lookup(v, nblocks, &o) == -ERANGE);
	FUZZ_CHECK(storm_view_lookup(v, UINT64_MAX, &o) == -ERANGE);

	/* The inode count the superblock claims; the view was built from it. */
	uint32_t ninodes = size >= 1028 ? le32(data + 1024) : 0;
	if (ninodes > INODES_MAX)
		ninodes = INODES_MAX;
	static char path[1 << 16];
	char small[4];
	for (uint32_t ino = 0; ino <= ninodes + 1; ino++) {
		int n = storm_view_path(v, ino, path, sizeof path);
		if (n < 0) {
			FUZZ_CHECK(n == -ENOENT || n == -ERANGE || n == -ELOOP);
			continue;
		}
		/* Names holding NUL or '/' are skipped by the view, so the
		 * length is the string's. */
		FUZZ_CHECK((size_t)n < sizeof path && path[n] == '\0' && path[0] == '/');
		FUZZ_CHECK(strlen(path) == (size_t)n);
		g_sink += (uint32_t)path[n - 1];
		int m = storm_view_path(v, ino, small, sizeof small);
		if ((size_t)n < sizeof small)
			FUZZ_CHECK(m == n && memcmp(small, path, (size_t)n + 1) == 0);
		else
			FUZZ_CHECK(m == -ERANGE);
		FUZZ_CHECK(storm_view_path(v, ino, NULL, 0) == -ERANGE);
	}
	storm_view_del(v);
	return 0;
}

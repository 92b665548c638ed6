/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The metadata_csum checksum of an inode (the kernel's
 * Documentation/filesystems/ext4/inodes.rst and checksums.rst; e2fsprogs
 * lib/ext2fs/csum.c, ext2fs_inode_csum()): CRC32C, without the final
 * inversion, seeded with the file system's checksum seed, over the inode
 * number and the generation (le32 each), then the whole on-disk inode with
 * i_checksum_lo, and i_checksum_hi when the inode has room for it, read as
 * zero.  With i_checksum_hi only the low 16 bits are stored.
 *
 * libext2fs computes it with a byte-table CRC; storm_crc32c() uses SSE4.2
 * where there is one, which is what makes checking every inode in use cheap.
 */
#include "view/ext4_csum.h"

#include <ext2fs/ext2_fs.h>
#include <storm/iscsi.h> /* storm_crc32c() */
#include <stddef.h>
#include <string.h>

#define CSUM_LO offsetof(struct ext2_inode_large, i_checksum_lo)
#define CSUM_HI offsetof(struct ext2_inode_large, i_checksum_hi)
#define EXTRA_ISIZE offsetof(struct ext2_inode_large, i_extra_isize)
#define GENERATION offsetof(struct ext2_inode_large, i_generation)

/* The head of an inode copied with its checksum fields, all of which lie in
 * its first 256 bytes, zeroed; the rest is summed in place. */
#define HEAD 256

static uint16_t le16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

bool ext4_inode_csum_ok(uint32_t seed, uint32_t ino, const void *raw, size_t size)
{
	/* One CRC over inode number, generation and head: a single call of
	 * the 8-byte-wide loop, rather than several short, unaligned ones. */
	union {
		uint64_t align;
		uint8_t b[8 + HEAD];
	} u;
	const uint8_t *p = raw;
	size_t head = size < HEAD ? size : HEAD;
	bool has_hi = size > EXT2_GOOD_OLD_INODE_SIZE &&
		      le16_at(p + EXTRA_ISIZE) >= EXT4_INODE_CSUM_HI_EXTRA_END;
	uint32_t want = le16_at(p + CSUM_LO), got;

	u.b[0] = (uint8_t)ino, u.b[1] = (uint8_t)(ino >> 8), u.b[2] = (uint8_t)(ino >> 16);
	u.b[3] = (uint8_t)(ino >> 24);
	memcpy(u.b + 4, p + GENERATION, 4);
	memcpy(u.b + 8, p, head);
	memset(u.b + 8 + CSUM_LO, 0, 2);
	if (has_hi) {
		memset(u.b + 8 + CSUM_HI, 0, 2);
		want |= (uint32_t)le16_at(p + CSUM_HI) << 16;
	}
	/* storm_crc32c() inverts before and after: ~seed in, ~result out
	 * gives the bare CRC libext2fs chains from the seed. */
	got = ~storm_crc32c(storm_crc32c(~seed, u.b, 8 + head), p + head, size - head);
	if (!has_hi)
		got &= 0xffff;
	/* libext2fs takes an all-zero inode (its first 128 bytes) as valid. */
	return got == want || all_zero(p, sizeof(struct ext2_inode));
}

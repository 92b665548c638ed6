/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ext4 inodes as the view compares them: where an inode lives in its group's
 * inode table and the fields that tell a file's life (the kernel's
 * Documentation/filesystems/ext4/inodes.rst; little-endian).
 */
#include "view/track_int.h"
#include "util/bytes.h"

#include <errno.h>
#include <string.h>

/* Offsets in struct ext4_inode. */
enum {
	I_MODE = 0x00, I_UID = 0x02, I_SIZE_LO = 0x04, I_DTIME = 0x14, I_GID = 0x18,
	I_LINKS = 0x1A, I_FLAGS = 0x20, I_BLOCK = 0x28, I_GENERATION = 0x64,
	I_FILE_ACL_LO = 0x68, I_SIZE_HIGH = 0x6C, I_FILE_ACL_HIGH = 0x76,
	I_UID_HIGH = 0x78, I_GID_HIGH = 0x7A, I_MIN_SIZE = 0x80,
};

void ino_parse(const uint8_t *raw, size_t size, struct ino_info *out)
{
	memset(out, 0, sizeof(*out));
	if (size < I_MIN_SIZE)
		return;
	out->mode = get_le16(raw + I_MODE);
	out->uid = get_le16(raw + I_UID) | (uint32_t)get_le16(raw + I_UID_HIGH) << 16;
	out->gid = get_le16(raw + I_GID) | (uint32_t)get_le16(raw + I_GID_HIGH) << 16;
	out->size = get_le32(raw + I_SIZE_LO) | (uint64_t)get_le32(raw + I_SIZE_HIGH) << 32;
	out->dtime = get_le32(raw + I_DTIME);
	out->links = get_le16(raw + I_LINKS);
	out->flags = get_le32(raw + I_FLAGS);
	out->generation = get_le32(raw + I_GENERATION);
	out->xattr = get_le32(raw + I_FILE_ACL_LO) | (uint64_t)get_le16(raw + I_FILE_ACL_HIGH) << 32;
	memcpy(out->iblock, raw + I_BLOCK, sizeof(out->iblock));
}

/* In use: a type, a link, no deletion time.  (Directories with more than
 * 65000 subdirectories keep i_links_count at 1, still non-zero.) */
bool ino_in_use(const struct ino_info *in)
{
	return (in->mode & 0xF000) && in->links && !in->dtime;
}

int ino_locate(const struct track *t, uint32_t ino, uint64_t *block, size_t *off)
{
	if (!ino || ino > t->inodes_count)
		return -ERANGE;
	uint32_t g = (ino - 1) / t->inodes_per_group;
	uint64_t idx = (ino - 1) % t->inodes_per_group;
	uint32_t per_block = t->bs / t->inode_size;

	if (g >= t->ngroups || !t->itable[g])
		return -ERANGE;
	*block = t->itable[g] + idx / per_block;
	*off = (size_t)(idx % per_block) * t->inode_size;
	return 0;
}

int ino_read(struct track *t, uint32_t ino, bool old, struct ino_info *out)
{
	uint64_t block;
	size_t off;
	int rc = ino_locate(t, ino, &block, &off);

	if (rc)
		return rc;
	const uint8_t *b = tk_itable_block(t, block, old, t->scratch);

	if (!b)
		return -EIO;
	ino_parse(b + off, t->inode_size, out);
	return 0;
}

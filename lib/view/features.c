/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which ext4 feature keeps a volume from being viewed, by name, from the
 * superblock's feature words (super.rst: s_feature_compat at 0x5C,
 * s_feature_incompat at 0x60, s_feature_ro_compat at 0x64).
 */
#include <errno.h>
#include <stddef.h>

#include <storm/view.h>

#include "util/bytes.h"

enum { S_MAGIC = 0x38, S_COMPAT = 0x5C, S_INCOMPAT = 0x60, S_RO_COMPAT = 0x64,
       S_JOURNAL_INUM = 0xE0, EXT4_MAGIC = 0xEF53 };

struct feature {
	uint32_t word; /* offset of its feature word */
	uint32_t bit;
	const char *name;
};

static const struct feature refused[] = {
	{ S_INCOMPAT, 0x0008, "journal_dev (an external journal device)" },
	{ S_INCOMPAT, 0x8000, "inline_data" },
	{ S_INCOMPAT, 0x10000, "encrypt" },
	{ S_INCOMPAT, 0x20000, "casefold" },
	{ S_RO_COMPAT, 0x0200, "bigalloc" },
};

/* Incompatible features the view reads correctly (libext2fs 1.47 and the
 * interpreters): filetype, recover, meta_bg, extent, 64bit, mmp, flex_bg,
 * ea_inode, dirdata-free large_dir, csum_seed. */
#define INCOMPAT_KNOWN (0x0002u | 0x0004u | 0x0010u | 0x0040u | 0x0080u | 0x0100u | 0x0200u | \
			0x0400u | 0x2000u | 0x4000u)

STORM_EXTERN const char *storm_view_ext4_unsupported(storm_blocksrc_read read, void *ctx)
{
	uint8_t sb[1024];

	if (!read || read(ctx, 1024, sb, sizeof(sb)) || get_le16(sb + S_MAGIC) != EXT4_MAGIC)
		return NULL;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (get_le32(sb + refused[i].word) & refused[i].bit)
			return refused[i].name;
	if ((get_le32(sb + S_COMPAT) & 0x4) && !get_le32(sb + S_JOURNAL_INUM))
		return "an external journal";
	if (get_le32(sb + S_INCOMPAT) & ~(INCOMPAT_KNOWN | 0x0008u | 0x8000u | 0x10000u | 0x20000u))
		return "an incompatible feature unknown to this version";
	return NULL;
}

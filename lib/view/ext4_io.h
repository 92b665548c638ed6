/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal: the block-source io_manager for libext2fs (ext4_io.c). */
#ifndef STORM_VIEW_EXT4_IO_H
#define STORM_VIEW_EXT4_IO_H

#include <storm/view.h>
#include <ext2fs/ext2fs.h>

/* What a channel reads through; lives on the opener's stack. */
struct ext4_src {
	storm_blocksrc_read read;
	void *ctx;
	uint64_t volume_bytes;
	int err;      /* the first error the callback returned */
	uint64_t reads;
};

io_manager ext4_src_manager(void);
/* Writes the channel name that makes src_open() find @p src. */
int ext4_src_name(const struct ext4_src *src, char *buf, size_t len);

/* A libext2fs error code as a libstorm error value (see storm_view_open_ext4()). */
int ext4_err(errcode_t e);

#endif

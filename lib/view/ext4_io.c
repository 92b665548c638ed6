/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A read-only libext2fs io_manager that reads through a storm_blocksrc_read
 * callback.  libext2fs opens a channel by name, so the name carries the
 * address of the caller's ext4_src ("storm-blocksrc:<hex>"); no global state.
 */
#include "view/ext4_io.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SRC_PREFIX "storm-blocksrc:"

static errcode_t src_open(const char *name, int flags, io_channel *channel);
static errcode_t src_close(io_channel channel);
static errcode_t src_set_blksize(io_channel channel, int blksize);
static errcode_t src_read_blk(io_channel channel, unsigned long block, int count, void *data);
static errcode_t src_read_blk64(io_channel channel, unsigned long long block, int count, void *data);
static errcode_t src_write_blk(io_channel channel, unsigned long block, int count, const void *data);
static errcode_t src_write_blk64(io_channel channel, unsigned long long block, int count,
				 const void *data);
static errcode_t src_write_byte(io_channel channel, unsigned long offset, int count,
				const void *data);
static errcode_t src_flush(io_channel channel);

static struct struct_io_manager src_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "storm block source",
	.open = src_open,
	.close = src_close,
	.set_blksize = src_set_blksize,
	.read_blk = src_read_blk,
	.write_blk = src_write_blk,
	.flush = src_flush,
	.write_byte = src_write_byte,
	.read_blk64 = src_read_blk64,
	.write_blk64 = src_write_blk64,
};

io_manager ext4_src_manager(void)
{
	return &src_manager;
}

int ext4_src_name(const struct ext4_src *src, char *buf, size_t len)
{
	int n = snprintf(buf, len, SRC_PREFIX "%" PRIxPTR, (uintptr_t)src);

	return n > 0 && (size_t)n < len ? 0 : -EINVAL;
}

static errcode_t src_open(const char *name, int flags, io_channel *channel)
{
	uintptr_t addr;
	io_channel ch;

	if (!name || strncmp(name, SRC_PREFIX, strlen(SRC_PREFIX)) != 0 ||
	    sscanf(name + strlen(SRC_PREFIX), "%" SCNxPTR, &addr) != 1 || !addr)
		return EXT2_ET_BAD_DEVICE_NAME;
	if (flags & IO_FLAG_RW)
		return EXT2_ET_RO_FILSYS;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return EXT2_ET_NO_MEMORY;
	ch->name = strdup(name);
	if (!ch->name) {
		free(ch);
		return EXT2_ET_NO_MEMORY;
	}
	ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	ch->manager = &src_manager;
	ch->block_size = 1024;
	ch->refcount = 1;
	ch->private_data = (void *)addr;
	*channel = ch;
	return 0;
}

static errcode_t src_close(io_channel channel)
{
	if (--channel->refcount > 0)
		return 0;
	free(channel->name);
	free(channel);
	return 0;
}

static errcode_t src_set_blksize(io_channel channel, int blksize)
{
	if (blksize <= 0)
		return EXT2_ET_INVALID_ARGUMENT;
	channel->block_size = blksize;
	return 0;
}

static errcode_t src_read_blk64(io_channel channel, unsigned long long block, int count, void *data)
{
	struct ext4_src *src = channel->private_data;
	/* A negative count is a byte count (ext2_io.h). */
	uint64_t bytes = count < 0 ? (uint64_t)-(int64_t)count
				   : (uint64_t)count * (uint64_t)channel->block_size;
	uint64_t bs = (uint64_t)channel->block_size;
	int rc;

	if (bytes == 0)
		return 0;
	if (block > UINT64_MAX / bs || block * bs > src->volume_bytes ||
	    bytes > src->volume_bytes - block * bs)
		return EXT2_ET_SHORT_READ; /* the file system claims space past the volume */
	rc = src->read(src->ctx, block * bs, data, (size_t)bytes);
	if (rc < 0) {
		if (!src->err)
			src->err = rc;
		return EXT2_ET_SHORT_READ;
	}
	src->reads++;
	return 0;
}

static errcode_t src_read_blk(io_channel channel, unsigned long block, int count, void *data)
{
	return src_read_blk64(channel, block, count, data);
}

static errcode_t src_write_blk(io_channel channel, unsigned long block, int count, const void *data)
{
	(void)channel, (void)block, (void)count, (void)data;
	return EXT2_ET_RO_FILSYS;
}

static errcode_t src_write_blk64(io_channel channel, unsigned long long block, int count,
				 const void *data)
{
	(void)channel, (void)block, (void)count, (void)data;
	return EXT2_ET_RO_FILSYS;
}

static errcode_t src_write_byte(io_channel channel, unsigned long offset, int count,
				const void *data)
{
	(void)channel, (void)offset, (void)count, (void)data;
	return EXT2_ET_RO_FILSYS;
}

static errcode_t src_flush(io_channel channel)
{
	(void)channel;
	return 0;
}

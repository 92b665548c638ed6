/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A block source over an image file or a block device: the thin I/O adapter
 * the views are fed through when the volume is local. */
#include <storm/view.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

struct storm_blocksrc_file {
	int fd;
	uint64_t size;
};

static int file_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	*size = (uint64_t)st.st_size;
	return 0;
}

STORM_EXTERN int storm_blocksrc_file_open(storm_blocksrc_file **f, const char *path)
{
	storm_blocksrc_file *src;
	int rc;

	if (!f || !path)
		return -EINVAL;
	*f = NULL;
	src = malloc(sizeof(*src));
	if (!src)
		return -ENOMEM;
	src->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (src->fd < 0) {
		rc = -errno;
		free(src);
		return rc;
	}
	rc = file_size(src->fd, &src->size);
	if (rc) {
		close(src->fd);
		free(src);
		return rc;
	}
	*f = src;
	return 0;
}

STORM_EXTERN uint64_t storm_blocksrc_file_size(const storm_blocksrc_file *f)
{
	return f->size;
}

STORM_EXTERN int storm_blocksrc_file_read(void *ctx, uint64_t offset, void *buf, size_t len)
{
	storm_blocksrc_file *f = ctx;
	uint8_t *p = buf;

	if (offset > f->size || len > f->size - offset)
		return -EIO;
	while (len) {
		ssize_t n = pread(f->fd, p, len, (off_t)offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		offset += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

STORM_EXTERN void storm_blocksrc_file_close(storm_blocksrc_file *f)
{
	if (!f)
		return;
	close(f->fd);
	free(f);
}

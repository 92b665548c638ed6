/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test helpers: build ext4 images with mkfs.ext4/debugfs and read what
 * debugfs and dumpe2fs say about them, the oracle for the view tests. */
#ifndef STORM_TESTS_EXT4_ORACLE_H
#define STORM_TESTS_EXT4_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Finds mkfs.ext4, debugfs, dumpe2fs and e2fsck; false if one is missing. */
bool oracle_tools(void);

struct image {
	char dir[64];   /* a private temporary directory */
	char path[96];  /* dir/img */
};

/* mkfs.ext4 -q -F @p opts img @p size into a new temporary directory. */
void image_make(struct image *im, const char *opts, const char *size);
/* Writes the standard tree (files, nested dirs, a large file, a file of many
 * extents, a 2000-entry directory, symlinks, a hard link) with debugfs -w. */
void image_populate(struct image *im);
/* Removes the temporary directory. */
void image_remove(struct image *im);
/* Runs a shell command built like printf; returns its exit status. */
int oracle_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Runs debugfs with the commands of @p script on the image; returns the
 * malloc'd standard output. */
char *oracle_debugfs(const struct image *im, const char *script);
/* Runs debugfs -w with the commands of @p script on @p path (an image);
 * fails the test if debugfs reports an error. */
void oracle_debugfs_w(const char *path, const char *script);
/* Writes @p len bytes of a pattern seeded by @p seed to the host file @p path. */
void oracle_source(const char *path, size_t len, unsigned seed);
/* dumpe2fs's output (malloc'd). */
char *oracle_dumpe2fs(const struct image *im);

/* Every file the standard tree holds whose extents the tests compare. */
extern const char *const oracle_tree_files[];
/* Number of files in the 2000-entry directory. */
#define ORACLE_MANY 2000

#endif

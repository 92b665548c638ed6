/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal: ext4 metadata checksums the view verifies itself (ext4_csum.c). */
#ifndef STORM_VIEW_EXT4_CSUM_H
#define STORM_VIEW_EXT4_CSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Whether inode @p ino, its @p size on-disk bytes at @p raw (the inode size
 * of the file system, at least 128), carries a valid metadata_csum checksum.
 * @p seed is the file system's checksum seed (libext2fs's fs->csum_seed).
 * Agrees with libext2fs's ext2fs_inode_csum_verify(), an all-zero inode
 * included; only meaningful on a metadata_csum file system.
 */
bool ext4_inode_csum_ok(uint32_t seed, uint32_t ino, const void *raw, size_t size);

#endif

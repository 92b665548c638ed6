/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CRC32C (Castagnoli) as iSCSI digests use it (RFC 7143 §13.1,
 * RFC 3720 Appendix B.4).  Internal; storm_crc32c() is the public entry. */
#ifndef STORM_UTIL_CRC32C_H
#define STORM_UTIL_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Extends CRC32C @p crc over @p len bytes of @p buf with the portable
 * slicing-by-8 tables.  Same contract as storm_crc32c(): start with 0, the
 * pre- and post-inversion are handled here, so chained calls over split
 * buffers give the result of one call.  Thread-safe.
 * @return the CRC, whose little-endian bytes are the digest on the wire.
 */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);

/**
 * Same as crc32c_sw() with the SSE4.2 crc32 instruction, three streams
 * interleaved on long buffers.  Call it only when crc32c_hw_available()
 * is true; on other CPUs the instruction faults.
 */
uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len);

/** @return whether this CPU (and this build) can run crc32c_hw(). */
bool crc32c_hw_available(void);

#endif

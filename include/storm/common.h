/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file storm/common.h
 * @brief Error values, the export macro and the types every libstorm layer shares.
 *
 * Errors are values: a function returns 0 or a count on success, a negated
 * errno (`-ENOMEM`, `-EINVAL`, …) for a system failure, and one of the
 * `STORM_ERR_*` codes below for a protocol or format failure.  The two ranges
 * never overlap.  storm_strerror() names either kind.
 */
#ifndef STORM_COMMON_H
#define STORM_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks a symbol exported from libstorm.so; everything else is hidden. */
#if defined(STORM_BUILDING) && defined(__GNUC__)
#define STORM_EXTERN __attribute__((visibility("default")))
#else
#define STORM_EXTERN
#endif

/**
 * A callback returns 0 to go on, STORM_PAUSE to make the feeding function
 * return early (it reports how many bytes it consumed; feed the rest later),
 * and any negative value to fail the stream with that value.
 */
#define STORM_PAUSE 1

/** Protocol and format errors.  System errors are negated errno values. */
enum storm_error {
	STORM_ERR_FIRST = -2000,
	STORM_ERR_OPCODE = -2000,   /**< reserved or unknown iSCSI opcode */
	STORM_ERR_LENGTH = -1999,   /**< a length over the negotiated maximum or a hard cap */
	STORM_ERR_AHS = -1998,      /**< a malformed or truncated Additional Header Segment */
	STORM_ERR_HDIGEST = -1997,  /**< header digest (CRC32C) mismatch */
	STORM_ERR_DDIGEST = -1996,  /**< data digest (CRC32C) mismatch */
	STORM_ERR_TEXT = -1995,     /**< malformed key=value text or a key over 8192 bytes */
	STORM_ERR_PROTO = -1994,    /**< any other violation of RFC 7143 framing */
	STORM_ERR_BROKEN = -1993,   /**< the stream failed earlier and takes no more input */
	STORM_ERR_CALLBACK = -1992, /**< a user callback refused to go on */
	STORM_ERR_LIMIT = -1991,    /**< a per-connection memory or count bound was reached */
	STORM_ERR_GAP = -1990,      /**< bytes of the stream were lost and framing could not be kept */
	STORM_ERR_FORMAT = -1989,   /**< a capture file or packet that cannot be decoded */
	STORM_ERR_TRUNCATED = -1988,/**< a capture file that ends in the middle of a record */
	STORM_ERR_TASK = -1987,     /**< a PDU naming a task the tracker cannot place */
	STORM_ERR_UNSUPPORTED = -1986, /**< a valid format using a feature libstorm does not handle */
	STORM_ERR_LAST = -1986
};

/**
 * Names an error value: a `STORM_ERR_*` code or a negated errno.
 * @return a static string; never NULL.
 */
STORM_EXTERN const char *storm_strerror(int err);

/** The two directions of an iSCSI connection. */
typedef enum storm_dir {
	STORM_I2T = 0, /**< initiator to target */
	STORM_T2I = 1  /**< target to initiator */
} storm_dir;

#ifdef __cplusplus
}
#endif
#endif

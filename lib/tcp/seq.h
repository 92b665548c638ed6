/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TCP sequence-number arithmetic.  Internal.
 *
 * Sequence numbers live in a 32-bit space and wrap (RFC 9293 §3.4.1), so
 * they are only ever compared through their signed distance: a is "before"
 * b when b - a, taken modulo 2^32, is less than 2^31.
 */
#ifndef STORM_TCP_SEQ_H
#define STORM_TCP_SEQ_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The largest window TCP can advertise is 2^30 (RFC 7323 §2.3).  Data that
 * far or farther ahead of what was delivered cannot belong to the stream;
 * refusing it also keeps every held byte within 2^31 of the delivery point,
 * where the modular comparisons below stay a total order.
 */
#define TCP_MAX_WINDOW (1u << 30)

/* Signed distance from b to a: positive when a is after b. */
static inline int32_t seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

static inline bool seq_lt(uint32_t a, uint32_t b)
{
	return seq_diff(a, b) < 0;
}

static inline bool seq_le(uint32_t a, uint32_t b)
{
	return seq_diff(a, b) <= 0;
}

static inline bool seq_gt(uint32_t a, uint32_t b)
{
	return seq_diff(a, b) > 0;
}

static inline bool seq_ge(uint32_t a, uint32_t b)
{
	return seq_diff(a, b) >= 0;
}

#endif

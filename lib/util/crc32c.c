/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CRC32C (Castagnoli), the iSCSI header and data digest (RFC 7143 §13.1;
 * test vectors in RFC 3720 Appendix B.4).  The generator 0x11EDC6F41 is used
 * bit-reflected (0x82F63B78): iSCSI feeds bit 0 of each byte first, which is
 * also what the SSE4.2 crc32 instruction computes.
 *
 * Inside this file a "raw" CRC is the shift register without the initial and
 * final inversion; the public functions add both, so a result can be passed
 * back in to continue over the next piece of a buffer.
 */
#include "util/crc32c.h"
#include "util/bytes.h"

#include <pthread.h>
#include <storm/iscsi.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CRC32C_HAVE_HW 1
#include <nmmintrin.h>
#define HW_TARGET __attribute__((target("sse4.2")))
#endif

#define CRC32C_POLY 0x82f63b78u /* 0x1EDC6F41 reflected */
#define CRC32C_ONE 0x80000000u  /* the polynomial 1 in reflected bit order */

typedef uint32_t raw_crc_fn(uint32_t c, const void *buf, size_t len);

static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;
static raw_crc_fn *crc32c_impl;

/* sw_table[k][b]: the raw CRC of byte b followed by k zero bytes. */
static uint32_t sw_table[8][256];

/* ------------------------------------------------------------------ */
/* GF(2) arithmetic modulo the generator, in reflected bit order       */

/* Multiplies by x: in reflected order bit 0 holds x^31, so x^32 falls out
 * there and is replaced by its residue, the polynomial itself. */
static uint32_t gf2_mul_x(uint32_t a)
{
	return (a & 1) ? (a >> 1) ^ CRC32C_POLY : a >> 1;
}

static uint32_t gf2_mulmod(uint32_t a, uint32_t b)
{
	uint32_t r = 0;

	for (int deg = 0; deg < 32; deg++) {
		if (a & (CRC32C_ONE >> deg))
			r ^= b;
		b = gf2_mul_x(b);
	}
	return r;
}

/* x^(8n) mod P: what n zero bytes do to a raw CRC, as a multiplier. */
static uint32_t gf2_x_pow_bytes(size_t n)
{
	uint32_t r = CRC32C_ONE;

	for (size_t i = 0; i < 8 * n; i++)
		r = gf2_mul_x(r);
	return r;
}

/* ------------------------------------------------------------------ */
/* Portable path: slicing-by-8                                         */

static void sw_tables_build(void)
{
	for (unsigned b = 0; b < 256; b++) {
		uint32_t c = b;

		for (int bit = 0; bit < 8; bit++)
			c = gf2_mul_x(c);
		sw_table[0][b] = c;
	}
	for (int k = 1; k < 8; k++)
		for (unsigned b = 0; b < 256; b++) {
			uint32_t prev = sw_table[k - 1][b];

			sw_table[k][b] = (prev >> 8) ^ sw_table[0][prev & 0xff];
		}
}

static uint32_t sw_update(uint32_t c, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	for (; len >= 8; p += 8, len -= 8) {
		uint32_t lo = c ^ get_le32(p), hi = get_le32(p + 4);

		c = sw_table[7][lo & 0xff] ^ sw_table[6][(lo >> 8) & 0xff] ^
		    sw_table[5][(lo >> 16) & 0xff] ^ sw_table[4][lo >> 24] ^
		    sw_table[3][hi & 0xff] ^ sw_table[2][(hi >> 8) & 0xff] ^
		    sw_table[1][(hi >> 16) & 0xff] ^ sw_table[0][hi >> 24];
	}
	while (len--)
		c = (c >> 8) ^ sw_table[0][(c ^ *p++) & 0xff];
	return c;
}

/* ------------------------------------------------------------------ */
/* SSE4.2 path                                                         */

#ifdef CRC32C_HAVE_HW
/*
 * The crc32 instruction has a latency of 3 cycles and a throughput of 1, so
 * one dependent chain runs at a third of the possible speed.  Long buffers
 * are cut into three blocks of equal length, each with its own chain (the
 * second and third starting from 0), and the chains are joined by linearity:
 * crc(A||B||C) = crc(A)·x^(16L) + crc(B)·x^(8L) + crc(C) with L the block
 * length in bytes.  Multiplying by a fixed power of x is linear over GF(2),
 * so it is four 256-entry table lookups, one per byte of the CRC.
 */
#define LONG_BLOCK 1024
#define SHORT_BLOCK 128

struct shift_tables {
	uint32_t by1[4][256]; /* times x^(8L) */
	uint32_t by2[4][256]; /* times x^(16L) */
};

static struct shift_tables shift_long, shift_short;

static void shift_tables_build(struct shift_tables *t, size_t block)
{
	uint32_t m1 = gf2_x_pow_bytes(block), m2 = gf2_x_pow_bytes(2 * block);

	for (int k = 0; k < 4; k++)
		for (unsigned b = 0; b < 256; b++) {
			t->by1[k][b] = gf2_mulmod((uint32_t)b << (8 * k), m1);
			t->by2[k][b] = gf2_mulmod((uint32_t)b << (8 * k), m2);
		}
}

static inline uint32_t shift_apply(const uint32_t t[4][256], uint32_t c)
{
	return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^ t[2][(c >> 16) & 0xff] ^ t[3][c >> 24];
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v)); /* the instruction takes the bytes in memory order */
	return v;
}

static inline __attribute__((always_inline)) HW_TARGET uint64_t
hw_3way(uint64_t c, const uint8_t **pp, size_t *lenp, size_t block,
	const struct shift_tables *t)
{
	const uint8_t *p = *pp;
	size_t len = *lenp;

	for (; len >= 3 * block; p += 3 * block, len -= 3 * block) {
		uint64_t a = c, b = 0, d = 0;

		for (size_t i = 0; i < block; i += 8) {
			a = _mm_crc32_u64(a, load64(p + i));
			b = _mm_crc32_u64(b, load64(p + block + i));
			d = _mm_crc32_u64(d, load64(p + 2 * block + i));
		}
		c = shift_apply(t->by2, (uint32_t)a) ^ shift_apply(t->by1, (uint32_t)b) ^ d;
	}
	*pp = p;
	*lenp = len;
	return c;
}

HW_TARGET static uint32_t hw_update(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t c = crc;

	/* Aligned 8-byte loads keep the three streams off cache-line splits. */
	for (; len && ((uintptr_t)p & 7); len--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	c = hw_3way(c, &p, &len, LONG_BLOCK, &shift_long);
	c = hw_3way(c, &p, &len, SHORT_BLOCK, &shift_short);
	for (; len >= 8; p += 8, len -= 8)
		c = _mm_crc32_u64(c, load64(p));
	for (; len; len--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

/* ------------------------------------------------------------------ */
/* Dispatch                                                            */

bool crc32c_hw_available(void)
{
#ifdef CRC32C_HAVE_HW
	return __builtin_cpu_supports("sse4.2");
#else
	return false;
#endif
}

static void crc32c_init(void)
{
	sw_tables_build();
	crc32c_impl = sw_update;
#ifdef CRC32C_HAVE_HW
	if (crc32c_hw_available()) {
		shift_tables_build(&shift_long, LONG_BLOCK);
		shift_tables_build(&shift_short, SHORT_BLOCK);
		crc32c_impl = hw_update;
	}
#endif
}

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&crc32c_once, crc32c_init);
	return ~sw_update(~crc, buf, len);
}

uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&crc32c_once, crc32c_init);
#ifdef CRC32C_HAVE_HW
	return ~hw_update(~crc, buf, len);
#else
	return ~sw_update(~crc, buf, len);
#endif
}

STORM_EXTERN uint32_t storm_crc32c(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&crc32c_once, crc32c_init);
	return ~crc32c_impl(~crc, buf, len);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <storm/iscsi.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util/crc32c.h"

/* The digest as it appears on the wire: the CRC's little-endian bytes. */
static uint32_t wire(uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3)
{
	return (uint32_t)b0 | ((uint32_t)b1 << 8) | ((uint32_t)b2 << 16) | ((uint32_t)b3 << 24);
}

typedef uint32_t crc_fn(uint32_t crc, const void *buf, size_t len);

/* Every implementation the CPU can run, so each vector checks all of them. */
static size_t impls(crc_fn *out[3])
{
	size_t n = 0;

	out[n++] = storm_crc32c;
	out[n++] = crc32c_sw;
	if (crc32c_hw_available())
		out[n++] = crc32c_hw;
	return n;
}

static void expect_all(const void *buf, size_t len, uint32_t want)
{
	crc_fn *fn[3];
	size_t n = impls(fn);

	for (size_t i = 0; i < n; i++)
		cr_expect_eq(fn[i](0, buf, len), want, "impl %zu: got %08x want %08x", i,
			     fn[i](0, buf, len), want);
}

static void fill_random(uint8_t *buf, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)tu_rand(&seed);
}

Test(crc32c, check_value)
{
	expect_all("123456789", 9, 0xe3069283u);
}

Test(crc32c, empty_is_zero)
{
	expect_all(NULL, 0, 0);
	cr_expect_eq(storm_crc32c(0x12345678u, NULL, 0), 0x12345678u);
}

/* RFC 3720 Appendix B.4 */
Test(crc32c, rfc3720_zeros)
{
	uint8_t m[32] = {0};

	expect_all(m, sizeof(m), wire(0xaa, 0x36, 0x91, 0x8a));
}

Test(crc32c, rfc3720_ones)
{
	uint8_t m[32];

	memset(m, 0xff, sizeof(m));
	expect_all(m, sizeof(m), wire(0x43, 0xab, 0xa8, 0x62));
}

Test(crc32c, rfc3720_incrementing)
{
	uint8_t m[32];

	for (int i = 0; i < 32; i++)
		m[i] = (uint8_t)i;
	expect_all(m, sizeof(m), wire(0x4e, 0x79, 0xdd, 0x46));
}

Test(crc32c, rfc3720_decrementing)
{
	uint8_t m[32];

	for (int i = 0; i < 32; i++)
		m[i] = (uint8_t)(31 - i);
	expect_all(m, sizeof(m), wire(0x5c, 0xdb, 0x3f, 0x11));
}

Test(crc32c, rfc3720_read10_pdu)
{
	static const uint8_t pdu[48] = {
		0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
		0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
		0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};

	expect_all(pdu, sizeof(pdu), wire(0x56, 0x3a, 0x96, 0xd9));
}

/* A receiver checks a segment by running the CRC over data and digest:
 * the result is then the fixed residue of the inverted register. */
Test(crc32c, digest_appended_gives_residue)
{
	uint8_t m[64];
	uint32_t crc;

	fill_random(m, 60, 7);
	crc = storm_crc32c(0, m, 60);
	m[60] = (uint8_t)crc;
	m[61] = (uint8_t)(crc >> 8);
	m[62] = (uint8_t)(crc >> 16);
	m[63] = (uint8_t)(crc >> 24);
	cr_expect_eq(storm_crc32c(0, m, 64), 0x48674bc7u);
}

/* Lengths 0..1024 at each of eight start offsets cover the byte head and
 * tail, the 8-byte loop and the short three-stream blocks. */
Test(crc32c, hw_matches_sw_short)
{
	enum { MAX = 1024 };
	uint8_t *buf;

	if (!crc32c_hw_available())
		cr_skip_test("no SSE4.2 on this CPU");
	buf = malloc(MAX + 8);
	cr_assert_not_null(buf);
	fill_random(buf, MAX + 8, 42);
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len <= MAX; len++) {
			uint32_t sw = crc32c_sw(0, buf + off, len);

			cr_assert_eq(crc32c_hw(0, buf + off, len), sw, "off %zu len %zu", off, len);
			cr_assert_eq(crc32c_hw(0xdeadbeef, buf + off, len),
				     crc32c_sw(0xdeadbeef, buf + off, len), "off %zu len %zu", off, len);
		}
	free(buf);
}

/* Long buffers reach the 3 KiB three-stream blocks and their combination. */
Test(crc32c, hw_matches_sw_long)
{
	enum { MAX = 64 * 1024 };
	uint8_t *buf;

	if (!crc32c_hw_available())
		cr_skip_test("no SSE4.2 on this CPU");
	buf = malloc(MAX + 8);
	cr_assert_not_null(buf);
	fill_random(buf, MAX + 8, 99);
	for (size_t len = 1024; len <= MAX; len += 61)
		for (size_t off = 0; off < 8; off += 3)
			cr_assert_eq(crc32c_hw(0, buf + off, len), crc32c_sw(0, buf + off, len),
				     "off %zu len %zu", off, len);
	free(buf);
}

Test(crc32c, chaining_every_split)
{
	enum { LEN = 4096 + 100 };
	uint8_t *buf = malloc(LEN);
	crc_fn *fn[3];
	size_t n = impls(fn);

	cr_assert_not_null(buf);
	fill_random(buf, LEN, 5);
	for (size_t i = 0; i < n; i++) {
		uint32_t whole = fn[i](0, buf, LEN);

		for (size_t cut = 0; cut <= LEN; cut++)
			cr_assert_eq(fn[i](fn[i](0, buf, cut), buf + cut, LEN - cut), whole,
				     "impl %zu cut %zu", i, cut);
	}
	free(buf);
}

Test(crc32c, byte_by_byte)
{
	uint8_t buf[300];
	uint32_t crc = 0;

	fill_random(buf, sizeof(buf), 11);
	for (size_t i = 0; i < sizeof(buf); i++)
		crc = storm_crc32c(crc, buf + i, 1);
	cr_expect_eq(crc, crc32c_sw(0, buf, sizeof(buf)));
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <storm/scsi.h>
#include <string.h>

static storm_sense decode_ok(const uint8_t *s, size_t len)
{
	storm_sense out;

	memset(&out, 0xa5, sizeof(out));
	cr_assert_eq(storm_sense_decode(s, len, &out), 0, "len %zu", len);
	for (size_t i = 0; i < sizeof(out.reserved_); i++)
		cr_assert_eq(out.reserved_[i], 0);
	return out;
}

/* ILLEGAL REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE (21h/00h) */
static const uint8_t fixed_lba_range[18] = {
	0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x21, 0x00, 0, 0, 0, 0,
};

Test(sense, fixed_current)
{
	storm_sense s = decode_ok(fixed_lba_range, sizeof(fixed_lba_range));

	cr_expect_eq(s.response_code, 0x70);
	cr_expect_eq(s.key, 5);
	cr_expect_eq(s.asc, 0x21);
	cr_expect_eq(s.ascq, 0x00);
}

Test(sense, fixed_deferred_with_valid_bit)
{
	/* DATA PROTECT, WRITE PROTECTED (27h/00h); VALID bit and FILEMARK/EOM/ILI set */
	uint8_t b[18];
	storm_sense s;

	memcpy(b, fixed_lba_range, sizeof(b));
	b[0] = 0xf1;
	b[2] = 0xe7;
	b[12] = 0x27;
	b[13] = 0x07;
	s = decode_ok(b, 14);
	cr_expect_eq(s.response_code, 0x71);
	cr_expect_eq(s.key, 7);
	cr_expect_eq(s.asc, 0x27);
	cr_expect_eq(s.ascq, 0x07);
}

Test(sense, fixed_short_keeps_key)
{
	for (size_t len = 3; len < 14; len++) {
		storm_sense s = decode_ok(fixed_lba_range, len);

		cr_expect_eq(s.key, 5, "len %zu", len);
		cr_expect_eq(s.asc, 0, "len %zu", len);
		cr_expect_eq(s.ascq, 0, "len %zu", len);
	}
}

Test(sense, fixed_additional_length_bounds_asc)
{
	uint8_t b[18];
	storm_sense s;

	memcpy(b, fixed_lba_range, sizeof(b));
	b[7] = 5; /* covers bytes 8-12: ASC but not ASCQ */
	s = decode_ok(b, sizeof(b));
	cr_expect_eq(s.key, 5);
	cr_expect_eq(s.asc, 0);
	cr_expect_eq(s.ascq, 0);
	b[7] = 6;
	s = decode_ok(b, sizeof(b));
	cr_expect_eq(s.asc, 0x21);
}

Test(sense, descriptor)
{
	/* 72h: NOT READY, LOGICAL UNIT NOT READY, BECOMING READY (04h/01h) */
	static const uint8_t d[8] = {0x72, 0x02, 0x04, 0x01, 0, 0, 0, 0};
	storm_sense s = decode_ok(d, sizeof(d));

	cr_expect_eq(s.response_code, 0x72);
	cr_expect_eq(s.key, 2);
	cr_expect_eq(s.asc, 4);
	cr_expect_eq(s.ascq, 1);
	s = decode_ok((const uint8_t *)"\xf3\xf6\x29\x07", 4);
	cr_expect_eq(s.response_code, 0x73);
	cr_expect_eq(s.key, 6);
	cr_expect_eq(s.asc, 0x29);
	cr_expect_eq(s.ascq, 0x07);
}

Test(sense, too_short)
{
	storm_sense s;

	cr_expect_eq(storm_sense_decode(fixed_lba_range, 0, &s), STORM_ERR_FORMAT);
	cr_expect_eq(storm_sense_decode(fixed_lba_range, 2, &s), STORM_ERR_FORMAT);
	cr_expect_eq(storm_sense_decode((const uint8_t *)"\x72\x02\x04", 3, &s), STORM_ERR_FORMAT);
	cr_expect_eq(storm_sense_decode(NULL, 0, &s), STORM_ERR_FORMAT);
	cr_expect_eq(storm_sense_decode(fixed_lba_range, 18, NULL), -EINVAL);
}

Test(sense, unknown_format)
{
	static const uint8_t codes[] = {0x00, 0x6f, 0x74, 0x7f, 0xff};
	uint8_t b[18];
	storm_sense s;

	memcpy(b, fixed_lba_range, sizeof(b));
	for (size_t i = 0; i < sizeof(codes); i++) {
		b[0] = codes[i];
		cr_expect_eq(storm_sense_decode(b, sizeof(b), &s), STORM_ERR_FORMAT, "code %02x",
			     codes[i]);
	}
}

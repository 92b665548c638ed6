/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sense data, fixed and descriptor formats (SPC-4 §4.5). */
#include <errno.h>
#include <storm/scsi.h>
#include <string.h>

/* Fixed format (SPC-4 §4.5.3): ADDITIONAL SENSE LENGTH in byte 7 counts the
 * bytes after it, ASC and ASCQ are bytes 12 and 13. */
#define FIXED_ADDLEN 7
#define FIXED_ASC 12
#define FIXED_ASCQ 13

static int decode_fixed(const uint8_t *s, size_t len, storm_sense *out)
{
	size_t end = len;

	/* Byte 2 carries the key; a shorter buffer says nothing useful. */
	if (len < 3)
		return STORM_ERR_FORMAT;
	out->key = s[2] & 0x0f;
	/* Bytes past the additional length are not sense data even when the
	 * buffer has them: leave ASC/ASCQ 0 unless both are covered. */
	if (len > FIXED_ADDLEN && (size_t)FIXED_ADDLEN + 1 + s[FIXED_ADDLEN] < end)
		end = (size_t)FIXED_ADDLEN + 1 + s[FIXED_ADDLEN];
	if (end > FIXED_ASCQ) {
		out->asc = s[FIXED_ASC];
		out->ascq = s[FIXED_ASCQ];
	}
	return 0;
}

/* Descriptor format (SPC-4 §4.5.2): key, ASC and ASCQ in bytes 1-3. */
static int decode_descriptor(const uint8_t *s, size_t len, storm_sense *out)
{
	if (len < 4)
		return STORM_ERR_FORMAT;
	out->key = s[1] & 0x0f;
	out->asc = s[2];
	out->ascq = s[3];
	return 0;
}

STORM_EXTERN int storm_sense_decode(const uint8_t *sense, size_t len, storm_sense *out)
{
	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!sense || len < 1)
		return STORM_ERR_FORMAT;
	/* Bit 7 is VALID (the INFORMATION field is meaningful), not part of the code. */
	out->response_code = sense[0] & 0x7f;
	switch (out->response_code) {
	case 0x70:
	case 0x71:
		return decode_fixed(sense, len, out);
	case 0x72:
	case 0x73:
		return decode_descriptor(sense, len, out);
	default:
		return STORM_ERR_FORMAT;
	}
}

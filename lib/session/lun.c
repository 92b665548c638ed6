/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Block size per logical unit, learned from READ CAPACITY responses. */
#include "session/session_int.h"

/* SAM-5 §4.7: the first level of a LUN is two bytes whose top two bits say
 * the addressing method: 00b peripheral (bus 0, LUN in byte 1), 01b flat
 * space (14-bit LUN).  Other methods are returned as the raw field. */
STORM_EXTERN uint64_t storm_lun_decode(uint64_t raw)
{
	unsigned method = (unsigned)(raw >> 62);
	uint64_t first = raw >> 48;
	if (method == 0 && ((first >> 8) & 0x3f) == 0)
		return first & 0xff;
	if (method == 1)
		return first & 0x3fff;
	return raw;
}

uint32_t lun_block_size(const storm_session *s, uint64_t lun)
{
	for (size_t i = 0; i < s->nluns; i++)
		if (s->luns[i].lun == lun)
			return s->luns[i].block_size;
	return 512;
}

void lun_set_block_size(storm_session *s, uint64_t lun, uint32_t bs)
{
	for (size_t i = 0; i < s->nluns; i++) {
		if (s->luns[i].lun == lun) {
			s->luns[i].block_size = bs;
			return;
		}
	}
	/* A connection rarely sees more than a handful of LUNs; past the bound
	 * the default holds rather than memory growing. */
	if (s->nluns < SESSION_MAX_LUNS)
		s->luns[s->nluns++] = (struct lun_block_size){lun, bs};
}

STORM_EXTERN uint32_t storm_session_block_size(const storm_session *s, uint64_t lun)
{
	return lun_block_size(s, lun);
}

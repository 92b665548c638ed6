/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Accessors for the PDU handed to callbacks. */
#include <errno.h>

#include "iscsi/parser_int.h"

STORM_EXTERN const uint8_t *storm_pdu_bhs(const storm_pdu *pdu) { return pdu->hdr; }

STORM_EXTERN const uint8_t *storm_pdu_ahs(const storm_pdu *pdu, size_t *len)
{
	*len = pdu->ahs_len;
	return pdu->ahs_len ? pdu->hdr + STORM_BHS_LEN : NULL;
}

STORM_EXTERN const uint8_t *storm_pdu_cdb(const storm_pdu *pdu, size_t *len)
{
	*len = pdu->cdb ? pdu->cdb_len : 0;
	return pdu->cdb;
}

STORM_EXTERN int storm_pdu_bidi_read_length(const storm_pdu *pdu, uint32_t *out)
{
	if (!pdu->has_bidi)
		return -ENOENT;
	*out = pdu->bidi_len;
	return 0;
}

STORM_EXTERN uint64_t storm_pdu_stream_offset(const storm_pdu *pdu) { return pdu->offset; }
STORM_EXTERN bool storm_pdu_lost(const storm_pdu *pdu) { return pdu->lost; }

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Refused commands (storm_conn_refuse()): the relay's state per connection,
 * allocated at the first refusal.  See refuse.c. */
#ifndef STORM_RELAY_REFUSE_H
#define STORM_RELAY_REFUSE_H

#include "relay/relay_int.h"
#include "relay/seqmap.h"

/* Responses waiting for a place in the target's stream. */
#define REFUSE_MAX_PENDING 1024
/* Refused writes whose unsolicited Data-Out may still come. */
#define REFUSE_MAX_AWAITING 64
/* Bytes the T2I buffer may grow past its bound to take injected responses
 * while the initiator does not read. */
#define REFUSE_SLACK (64u * 1024)
/* SCSI Response with 2 + 18 bytes of fixed-format sense, both digests. */
#define REFUSE_RESP_MAX (STORM_BHS_LEN + 4 + 20 + 4)

struct refused_cmd {
	uint32_t itt;
	uint32_t edtl;
	uint8_t key, asc, ascq;
};

struct refusal {
	struct seqmap map;
	/* Responses to inject at the next PDU boundary of the T2I stream. */
	struct refused_cmd pending[REFUSE_MAX_PENDING];
	size_t npending;
	/* ITTs of refused writes that announced unsolicited Data-Out (F = 0). */
	uint32_t awaiting[REFUSE_MAX_AWAITING];
	size_t nawaiting;
	/* The I2T PDU being cut out: [drop_from, drop_to) still to cut, in
	 * parser stream offsets; drop_pdu is where it began. */
	bool dropping;
	uint64_t drop_pdu, drop_from, drop_to;
	/* Injected bytes not parsed yet sit at [inj_from, inj_to) of T2I. */
	uint64_t inj_from, inj_to;
	/* The T2I PDU whose header was partly parsed at the first refusal: its
	 * first bytes may have left, so it is not translated (nothing to
	 * translate yet: no response was injected before it). */
	bool skip_t2i;
	uint64_t skip_t2i_at;
	size_t t2i_alloc;      /* bytes allocated for the T2I buffer */
	uint64_t refused;      /* commands refused on this connection */
};

/* hooks.c: a PDU header of @p d was parsed (c->pdu_start[d] set): tracks the
 * target's numbers, cuts refused Data-Out, translates.  0 or -errno. */
int refuse_on_pdu(storm_conn *c, storm_dir d, const storm_pdu *pdu);
/* hooks.c: a PDU of @p d ended; STORM_PAUSE when the relay must act before
 * the next byte is parsed (cut it, or inject a response before the next). */
int refuse_on_pdu_end(storm_conn *c, storm_dir d);
/* hooks.c: whether the PDU being parsed in @p d is being cut out. */
static inline bool refuse_dropping(const storm_conn *c, storm_dir d)
{
	return d == STORM_I2T && c->refusal && c->refusal->dropping;
}
#endif

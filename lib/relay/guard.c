/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What of the PDU being parsed may not leave the relay yet.  Bytes normally
 * leave as soon as they are parsed, but
 *  - a header the relay may still cut out (a command an io_start hook may
 *    refuse) or rewrite (sequence numbers, once a command was refused) must
 *    stay until it is whole: it is held from its first byte;
 *  - a data digest (RFC 7143 §11.2.3) that redigest() in hooks.c rewrites
 *    once an io_data hook saw the whole segment must stay until the PDU
 *    ends: a trailer is held from its first byte.
 * Set after each feed; sendable() in conn.c stops at guard_from[d]. */
#include "iscsi/parser_int.h"
#include "relay/relay_int.h"

static void guard(storm_conn *c, storm_dir d)
{
	const storm_relay *r = c->relay;
	const struct iscsi_dir *ds = &storm_session_parser(c->session)->dir[d];
	bool header = ds->st == ST_HEADER && ds->have > 0 &&
		      (c->refusal || (d == STORM_I2T && r->cb.io_start));
	bool trailer = ds->st == ST_TRAILER && ds->digest_data && r->cb.io_data;
	c->guarded[d] = header || trailer;
	if (header)
		c->guard_from[d] = ds->pdu.offset;
	else if (trailer)
		c->guard_from[d] = ds->offset - ds->have;
}

int conn_fed(storm_conn *c, storm_dir d)
{
	int rc = c->refusal ? refuse_fed(c, d) : 0;
	guard(c, d);
	return rc;
}

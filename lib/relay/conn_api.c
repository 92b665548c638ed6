/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Accessors of a relayed connection. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>

#include "relay/relay_int.h"

STORM_EXTERN void storm_conn_endpoints(const storm_conn *c, storm_endpoint *initiator,
				       storm_endpoint *target)
{
	if (initiator)
		*initiator = c->ends[0];
	if (target)
		*target = c->ends[1];
}

static int format_end(const storm_endpoint *ep, char *buf, size_t len)
{
	char host[64];
	if (!inet_ntop(ep->family, ep->addr, host, sizeof host))
		host[0] = '\0';
	return snprintf(buf, len, ep->family == AF_INET6 ? "[%s]:%u" : "%s:%u", host, ep->port);
}

STORM_EXTERN int storm_conn_format(const storm_conn *c, char *buf, size_t len)
{
	char a[80], b[80];
	format_end(&c->ends[0], a, sizeof a);
	format_end(&c->ends[1], b, sizeof b);
	int n = snprintf(buf, len, "%s>%s", a, b);
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

STORM_EXTERN const char *storm_conn_initiator_iqn(const storm_conn *c)
{
	return c->session ? storm_iscsi_key(storm_session_parser(c->session), STORM_I2T,
					    "InitiatorName") : NULL;
}

STORM_EXTERN const char *storm_conn_target_iqn(const storm_conn *c)
{
	return c->session ? storm_iscsi_key(storm_session_parser(c->session), STORM_I2T,
					    "TargetName") : NULL;
}

STORM_EXTERN void *storm_conn_user(const storm_conn *c) { return c->user; }
STORM_EXTERN void storm_conn_set_user(storm_conn *c, void *user) { c->user = user; }

STORM_EXTERN uint64_t storm_conn_bytes(const storm_conn *c, storm_dir d)
{
	return (unsigned)d <= STORM_T2I ? c->bytes[d] : 0;
}

STORM_EXTERN void storm_conn_fail(storm_conn *c)
{
	/* Acted on when the hook returns (conn.c), never inside the parser. */
	c->fail_requested = true;
}

STORM_EXTERN int storm_conn_release(storm_conn *c)
{
	if (!c->paused[STORM_I2T] || c->dead)
		return -EINVAL;
	/* Resumed by the event loop, never inside this connection's parser. */
	relay_wake(c->relay, c);
	return 0;
}

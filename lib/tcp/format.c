/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>

#include "flow.h"

STORM_EXTERN void storm_flow_endpoints(const storm_flow *f, storm_endpoint *client,
				       storm_endpoint *server)
{
	if (client)
		*client = f->end[STORM_I2T];
	if (server)
		*server = f->end[STORM_T2I];
}

/* IPv6 addresses go in brackets so the port separator stays unambiguous (RFC 3986 §3.2.2). */
static int format_endpoint(const storm_endpoint *e, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	if (!inet_ntop(e->family, e->addr, addr, sizeof addr))
		return -errno;
	if (e->family == AF_INET6)
		return snprintf(buf, len, "[%s]:%u", addr, e->port);
	return snprintf(buf, len, "%s:%u", addr, e->port);
}

STORM_EXTERN int storm_flow_format(const storm_flow *f, char *buf, size_t len)
{
	char client[INET6_ADDRSTRLEN + 8], server[INET6_ADDRSTRLEN + 8];
	int r = format_endpoint(&f->end[STORM_I2T], client, sizeof client);
	if (r < 0)
		return r;
	r = format_endpoint(&f->end[STORM_T2I], server, sizeof server);
	if (r < 0)
		return r;
	int n = snprintf(buf, len, "%s>%s", client, server);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= len)
		return -ENOSPC;
	return n;
}

STORM_EXTERN bool storm_flow_syn_seen(const storm_flow *f, storm_dir dir)
{
	return (unsigned)dir <= STORM_T2I && f->dir[dir].syn;
}

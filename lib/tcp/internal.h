/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The reassembler object.  Internal. */
#ifndef STORM_TCP_INTERNAL_H
#define STORM_TCP_INTERNAL_H

#include <storm/tcp.h>

#include "callbacks.h"
#include "flow.h"

/* storm_tcp_add_port() documents this bound. */
#define TCP_MAX_PORTS 64
/* The iSCSI well-known port (RFC 7143 §13.1), tracked until ports are added. */
#define TCP_ISCSI_PORT 3260

struct storm_tcp {
	struct storm_tcp_callbacks cbs;
	void *user;
	struct flow_table flows;
	size_t hold_limit;  /* per direction */
	size_t max_flows;   /* live flows and tombstones together, at least 1 */
	uint64_t now;       /* timestamp of the packet being processed */
	uint16_t ports[TCP_MAX_PORTS];
	unsigned nports;
};

#endif

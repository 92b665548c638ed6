/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The connection-level state machine of one flow: SYN, FIN and RST on top
 * of the per-direction reassembly.  Internal.
 *
 * Only what a passive observer needs of RFC 9293 §3.3.2 is kept: where each
 * direction starts, where it ends, and whether the connection is over.
 */
#ifndef STORM_TCP_CONN_H
#define STORM_TCP_CONN_H

#include <stdbool.h>
#include <storm/tcp.h>

#include "packet.h"

/*
 * Applies one segment travelling in dir.  Closes the flow (it becomes a
 * tombstone) on RST or once both directions are finished.
 * Returns 0, -ENOMEM or a callback's non-zero value.
 */
int conn_segment(storm_tcp *t, storm_flow *f, storm_dir dir, const struct tcp_pkt *pkt);

/*
 * Delivers what both directions hold, reporting gaps, then closes the flow
 * with why.  Returns 0 or a callback's value; the flow stays open on error.
 */
int conn_finish(storm_tcp *t, storm_flow *f, storm_tcp_close why);

/*
 * Whether a segment is the SYN of a new connection reusing the 4-tuple of
 * the live flow f, rather than a retransmission of the SYN that opened f.
 */
bool conn_is_new_syn(const storm_flow *f, storm_dir dir, const struct tcp_pkt *pkt);

#endif

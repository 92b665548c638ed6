/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file storm/tcp.h
 * @brief TCP reassembly: IP packets in, one in-order byte stream per flow and
 *        direction out.
 *
 * A `storm_tcp` keeps a table of TCP flows that touch one of its server ports
 * (3260 unless others are added).  Each packet given to storm_tcp_packet() is
 * an IPv4 or IPv6 datagram; its TCP payload is put in sequence order and
 * handed on through the data callback.
 *
 * Policy, chosen to match an inline middlebox:
 *  - out-of-order segments are held until the hole before them fills;
 *  - on overlap the bytes that arrived first win (retransmissions with other
 *    contents do not rewrite what was already delivered or held);
 *  - sequence numbers compare modulo 2^32 (wrap-around is normal);
 *  - held bytes are bounded per direction; when the bound is reached, or at
 *    FIN, RST or storm_tcp_flush(), the missing range is reported through the
 *    gap callback (its exact length, known from the sequence numbers) and
 *    delivery resumes after it.  The iSCSI parser then skips the lost bytes
 *    and stays framed inside a data segment, or searches for the next header.
 *  - a flow first seen mid-stream (no SYN) starts at its first segment.
 *  - the flow table is bounded; when full, the flow idle longest is closed.
 */
#ifndef STORM_TCP_H
#define STORM_TCP_H

#include <stdbool.h>
#include <storm/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Default bound on bytes held out of order per flow direction. */
#define STORM_TCP_DEFAULT_HOLD (4u * 1024 * 1024)
/** Default bound on flows tracked at once. */
#define STORM_TCP_DEFAULT_FLOWS 16384

/** A reassembler.  Opaque. */
typedef struct storm_tcp storm_tcp;
/** Callbacks of a reassembler.  Opaque; see storm_tcp_callbacks_new(). */
typedef struct storm_tcp_callbacks storm_tcp_callbacks;
/** One TCP connection.  Valid from its open callback to the end of its close callback. */
typedef struct storm_flow storm_flow;

/** One end of a flow.  A plain value; the layout is frozen. */
typedef struct storm_endpoint {
	int family;        /**< AF_INET or AF_INET6 */
	uint8_t addr[16];  /**< network order; IPv4 in the first 4 bytes */
	uint16_t port;     /**< host order */
} storm_endpoint;

/** Why a flow was closed. */
typedef enum storm_tcp_close {
	STORM_TCP_FIN = 0,   /**< both directions finished */
	STORM_TCP_RST,       /**< reset by either side */
	STORM_TCP_EVICTED,   /**< pushed out of a full flow table */
	STORM_TCP_FLUSHED    /**< still open when storm_tcp_flush() was called */
} storm_tcp_close;

/** A new flow: the direction STORM_I2T is client (initiator) to server (target). */
typedef int (*storm_tcp_open_cb)(storm_tcp *t, storm_flow *f, void *user);
/** In-order bytes of one direction; @p data is valid during the call only. */
typedef int (*storm_tcp_data_cb)(storm_tcp *t, storm_flow *f, storm_dir dir,
				 const uint8_t *data, size_t len, void *user);
/** @p len bytes of one direction were lost at this point of the stream. */
typedef int (*storm_tcp_gap_cb)(storm_tcp *t, storm_flow *f, storm_dir dir,
				uint64_t len, void *user);
/** The flow ends; it is freed after the call. */
typedef void (*storm_tcp_close_cb)(storm_tcp *t, storm_flow *f, storm_tcp_close why, void *user);

/** Allocates an empty callbacks table.  @return 0 or -ENOMEM. */
STORM_EXTERN int storm_tcp_callbacks_new(storm_tcp_callbacks **cbs);
/** Frees a callbacks table; NULL is fine. */
STORM_EXTERN void storm_tcp_callbacks_del(storm_tcp_callbacks *cbs);
/** Sets the flow-open callback. */
STORM_EXTERN void storm_tcp_callbacks_set_open(storm_tcp_callbacks *cbs, storm_tcp_open_cb cb);
/** Sets the data callback. */
STORM_EXTERN void storm_tcp_callbacks_set_data(storm_tcp_callbacks *cbs, storm_tcp_data_cb cb);
/** Sets the gap callback. */
STORM_EXTERN void storm_tcp_callbacks_set_gap(storm_tcp_callbacks *cbs, storm_tcp_gap_cb cb);
/** Sets the flow-close callback. */
STORM_EXTERN void storm_tcp_callbacks_set_close(storm_tcp_callbacks *cbs, storm_tcp_close_cb cb);

/** Creates a reassembler; callbacks are copied.  @return 0 or -ENOMEM. */
STORM_EXTERN int storm_tcp_new(storm_tcp **t, const storm_tcp_callbacks *cbs, void *user);
/** Frees a reassembler and its flows without calling callbacks; NULL is fine. */
STORM_EXTERN void storm_tcp_del(storm_tcp *t);
/**
 * Adds a server port (host order).  Once any port is added, 3260 is tracked
 * only if added too.  @return 0, or -ENOSPC past 64 ports.
 */
STORM_EXTERN int storm_tcp_add_port(storm_tcp *t, uint16_t port);
/** Sets the per-direction hold bound (bytes) and the flow bound. */
STORM_EXTERN void storm_tcp_set_limits(storm_tcp *t, size_t hold_bytes, size_t max_flows);

/**
 * Processes one IPv4 or IPv6 packet (IP header first).  Packets of untracked
 * ports, non-TCP and IP fragments are ignored.
 * @return 1 if the packet belonged to a tracked flow, 0 if ignored,
 * STORM_ERR_FORMAT for a malformed header, or a callback's negative value.
 */
STORM_EXTERN int storm_tcp_packet(storm_tcp *t, const uint8_t *ip, size_t len, uint64_t ts_usec);

/**
 * End of input: delivers held bytes (reporting the gaps before them) and
 * closes every flow with STORM_TCP_FLUSHED.  @return 0 or a callback's error.
 */
STORM_EXTERN int storm_tcp_flush(storm_tcp *t);

/** Client and server ends of a flow (either may be NULL). */
STORM_EXTERN void storm_flow_endpoints(const storm_flow *f, storm_endpoint *client, storm_endpoint *server);
/**
 * Writes "IP:PORT>IP:PORT" (client first; IPv6 in brackets) into @p buf.
 * @return the length written (as snprintf), or -ENOSPC if @p len is too small.
 */
STORM_EXTERN int storm_flow_format(const storm_flow *f, char *buf, size_t len);
/** The caller's pointer for this flow (NULL until set). */
STORM_EXTERN void *storm_flow_user(const storm_flow *f);
/** Sets the caller's pointer for this flow. */
STORM_EXTERN void storm_flow_set_user(storm_flow *f, void *user);
/**
 * Whether the SYN of direction @p dir was seen.  A flow whose client SYN was
 * not seen began before the capture, so its first bytes may fall anywhere
 * inside a PDU (see storm_iscsi_start_midstream()).
 */
STORM_EXTERN bool storm_flow_syn_seen(const storm_flow *f, storm_dir dir);
/** Timestamp (µs) of the packet being processed. */
STORM_EXTERN uint64_t storm_tcp_now(const storm_tcp *t);
/** The user pointer given to storm_tcp_new(). */
STORM_EXTERN void *storm_tcp_user(const storm_tcp *t);

#ifdef __cplusplus
}
#endif
#endif

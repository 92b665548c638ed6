/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * IPv4/IPv6 + TCP header decoding.  Internal.
 *
 * The decoder copies the few header fields the reassembler needs into a
 * small struct and points at the payload inside the caller's buffer; it
 * never reads past the length it is given, whatever the headers claim.
 */
#ifndef STORM_TCP_PACKET_H
#define STORM_TCP_PACKET_H

#include <stddef.h>
#include <stdint.h>

/* TCP control bits (RFC 9293 §3.1). */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

/* One decoded TCP segment. */
struct tcp_pkt {
	int family;              /* AF_INET or AF_INET6 */
	uint8_t src[16], dst[16]; /* network order, IPv4 in the first 4 bytes, rest zero */
	uint16_t sport, dport;   /* host order */
	uint32_t seq, ack;
	uint8_t flags;           /* TCP_* bits */
	const uint8_t *payload;  /* inside the buffer given to tcp_pkt_parse() */
	size_t len;              /* payload bytes */
};

/*
 * Decodes an IPv4 or IPv6 datagram carrying TCP.
 * Returns 1 with *pkt filled, 0 for a datagram to ignore (not TCP, or an IP
 * fragment: reassembling IP fragments is out of scope), or STORM_ERR_FORMAT
 * when a header is short or its lengths contradict the buffer.
 */
int tcp_pkt_parse(struct tcp_pkt *pkt, const uint8_t *ip, size_t len);

#endif

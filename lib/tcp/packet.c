/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "packet.h"

#include <storm/common.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "util/bytes.h"

#define IPV4_MIN_HDR 20
#define IPV6_HDR 40
#define TCP_MIN_HDR 20

/* IPv6 next-header values walked over (RFC 8200 §4, RFC 4302 for AH). */
#define NH_HOPOPTS 0
#define NH_TCP 6
#define NH_ROUTING 43
#define NH_FRAGMENT 44
#define NH_AH 51
#define NH_DSTOPTS 60

/* RFC 9293 §3.1: Data Offset counts 32-bit words and covers the options. */
static int parse_tcp(struct tcp_pkt *pkt, const uint8_t *p, size_t len)
{
	if (len < TCP_MIN_HDR)
		return STORM_ERR_FORMAT;
	size_t doff = (size_t)(p[12] >> 4) * 4;
	if (doff < TCP_MIN_HDR || doff > len)
		return STORM_ERR_FORMAT;
	pkt->sport = get_be16(p);
	pkt->dport = get_be16(p + 2);
	pkt->seq = get_be32(p + 4);
	pkt->ack = get_be32(p + 8);
	pkt->flags = p[13];
	pkt->payload = p + doff;
	pkt->len = len - doff;
	return 1;
}

/*
 * RFC 791 §3.1.  A total length of 0 is what captures taken before TCP
 * segmentation offload show; the buffer length is the only truth then.
 * Bytes past the total length are link-layer padding and are dropped.
 */
static int parse_ipv4(struct tcp_pkt *pkt, const uint8_t *p, size_t len)
{
	if (len < IPV4_MIN_HDR)
		return STORM_ERR_FORMAT;
	size_t ihl = (size_t)(p[0] & 0x0f) * 4;
	size_t total = get_be16(p + 2);
	if (total == 0)
		total = len;
	if (ihl < IPV4_MIN_HDR || ihl > total || total > len)
		return STORM_ERR_FORMAT;
	/* More Fragments set or a non-zero offset: a piece of a datagram. */
	if (get_be16(p + 6) & 0x3fff)
		return 0;
	if (p[9] != NH_TCP)
		return 0;
	pkt->family = AF_INET;
	memcpy(pkt->src, p + 12, 4);
	memcpy(pkt->dst, p + 16, 4);
	return parse_tcp(pkt, p + ihl, total - ihl);
}

/*
 * Length of the IPv6 extension header at p (RFC 8200 §4.3-4.6; AH counts
 * 4-byte units minus 2, RFC 4302 §2.2), or 0 for a fragment that is a real
 * piece of a datagram.  An atomic fragment (offset 0, M clear; RFC 6946)
 * holds a whole datagram and is walked over like any other header.
 */
static size_t ipv6_ext_len(uint8_t nh, const uint8_t *p)
{
	if (nh == NH_AH)
		return ((size_t)p[1] + 2) * 4;
	if (nh == NH_FRAGMENT)
		return (get_be16(p + 2) & 0xfff9) ? 0 : 8;
	return ((size_t)p[1] + 1) * 8;
}

static bool ipv6_is_ext(uint8_t nh)
{
	return nh == NH_HOPOPTS || nh == NH_ROUTING || nh == NH_FRAGMENT ||
	       nh == NH_AH || nh == NH_DSTOPTS;
}

/* RFC 8200 §3.  Payload Length 0 means a jumbogram or an offloaded capture. */
static int parse_ipv6(struct tcp_pkt *pkt, const uint8_t *p, size_t len)
{
	if (len < IPV6_HDR)
		return STORM_ERR_FORMAT;
	size_t end = IPV6_HDR + get_be16(p + 4);
	if (end == IPV6_HDR)
		end = len;
	if (end > len)
		return STORM_ERR_FORMAT;
	pkt->family = AF_INET6;
	memcpy(pkt->src, p + 8, 16);
	memcpy(pkt->dst, p + 24, 16);
	uint8_t nh = p[6];
	size_t off = IPV6_HDR;
	while (ipv6_is_ext(nh)) {
		/* Every extension header is at least 8 bytes long. */
		if (end - off < 8)
			return STORM_ERR_FORMAT;
		size_t ext = ipv6_ext_len(nh, p + off);
		if (ext == 0)
			return 0;
		if (ext > end - off)
			return STORM_ERR_FORMAT;
		nh = p[off];
		off += ext;
	}
	if (nh != NH_TCP)
		return 0;
	return parse_tcp(pkt, p + off, end - off);
}

int tcp_pkt_parse(struct tcp_pkt *pkt, const uint8_t *ip, size_t len)
{
	memset(pkt, 0, sizeof *pkt);
	if (len < 1)
		return STORM_ERR_FORMAT;
	switch (ip[0] >> 4) {
	case 4:
		return parse_ipv4(pkt, ip, len);
	case 6:
		return parse_ipv6(pkt, ip, len);
	default:
		return STORM_ERR_FORMAT;
	}
}

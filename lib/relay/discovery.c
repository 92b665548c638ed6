/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SendTargets through the relay.  A target answers a discovery session with
 * TargetAddress=IP:PORT,TPGT pairs (RFC 7143 §13.8, Appendix C): its own
 * address, which an initiator would then log in to directly, leaving the
 * relay.  When asked, the relay holds each Text Response of a discovery
 * session until it is whole, rewrites the address part of every
 * TargetAddress to the address the initiator reached the relay at, keeps the
 * portal group tag, and rebuilds the PDU: DataSegmentLength, padding and both
 * digests.  A pair split across two PDUs (C bit) is left as it is. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/relay_int.h"
#include "util/bytes.h"

/* The address the initiator connected to, as TargetAddress text. */
static int advertised(const storm_conn *c, char *buf, size_t len)
{
	struct sockaddr_storage sa;
	socklen_t sl = sizeof sa;
	if (getsockname(c->fd[0], (struct sockaddr *)&sa, &sl) < 0)
		return -errno;
	storm_endpoint ep;
	endpoint_of(&sa, &ep);
	char host[64];
	inet_ntop(ep.family, ep.addr, host, sizeof host);
	int n = snprintf(buf, len, ep.family == AF_INET6 ? "[%s]:%u" : "%s:%u", host, ep.port);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

/* Rewrites the pairs of @p in into @p out (room for @p cap bytes). */
static size_t rewrite_text(const uint8_t *in, size_t len, const char *addr, uint8_t *out, size_t cap)
{
	static const char key[] = "TargetAddress=";
	size_t o = 0, i = 0;
	while (i < len) {
		const uint8_t *nul = memchr(in + i, '\0', len - i);
		size_t plen = nul ? (size_t)(nul - (in + i)) : len - i;
		const char *pair = (const char *)in + i;
		bool whole = nul != NULL;
		if (whole && plen > sizeof key - 1 && memcmp(pair, key, sizeof key - 1) == 0) {
			const char *tpgt = memchr(pair, ',', plen);
			size_t tlen = tpgt ? plen - (size_t)(tpgt - pair) : 0;
			int n = snprintf((char *)out + o, cap - o, "%s%s%.*s", key, addr, (int)tlen,
					 tpgt ? tpgt : "");
			o += (size_t)n;
		} else {
			memcpy(out + o, pair, plen);
			o += plen;
		}
		if (whole)
			out[o++] = '\0';
		i += plen + (whole ? 1 : 0);
	}
	return o;
}

/* Builds the new PDU for the old one at @p pdu.  Returns its length in
 * *@p out_len and the malloc'ed bytes, or NULL. */
static uint8_t *rebuild(const storm_conn *c, const uint8_t *pdu, const char *addr, size_t *out_len)
{
	storm_iscsi *p = storm_session_parser(c->session);
	bool hd = storm_iscsi_header_digest(p), dd = storm_iscsi_data_digest(p);
	size_t ahs = storm_bhs_ahs_len(pdu), hlen = STORM_BHS_LEN + ahs;
	uint32_t dsl = storm_bhs_dsl(pdu);
	const uint8_t *data = pdu + hlen + (hd ? 4 : 0);
	/* Each pair grows by at most the advertised address. */
	size_t cap = dsl + (dsl / 16 + 1) * (strlen(addr) + 8) + 64;
	uint8_t *text = malloc(cap);
	uint8_t *out = malloc(hlen + 4 + cap + 3 + 4);
	if (!text || !out) {
		free(text);
		free(out);
		return NULL;
	}
	size_t nl = rewrite_text(data, dsl, addr, text, cap);
	memcpy(out, pdu, hlen);
	put_be24(out + 5, (uint32_t)nl);
	size_t o = hlen;
	if (hd) {
		put_le32(out + o, storm_crc32c(0, out, hlen));
		o += 4;
	}
	memcpy(out + o, text, nl);
	size_t pad = (4 - (nl & 3)) & 3;
	memset(out + o + nl, 0, pad);
	if (dd && nl) {
		put_le32(out + o + nl + pad, storm_crc32c(0, out + o, nl + pad));
		o += 4;
	}
	*out_len = o + nl + pad;
	free(text);
	return out;
}

/* Length on the wire of the PDU at @p pdu, as framed by the parser. */
static size_t wire_len(const storm_conn *c, const uint8_t *pdu)
{
	storm_iscsi *p = storm_session_parser(c->session);
	uint32_t dsl = storm_bhs_dsl(pdu);
	size_t n = STORM_BHS_LEN + storm_bhs_ahs_len(pdu) + (storm_iscsi_header_digest(p) ? 4 : 0);
	n += dsl + ((4 - (dsl & 3)) & 3);
	if (dsl && storm_iscsi_data_digest(p))
		n += 4;
	return n;
}

int discovery_rewrite(storm_conn *c)
{
	struct relay_buf *b = &c->buf[STORM_T2I];
	size_t at = b->tail - (size_t)(c->stream_at_tail[STORM_T2I] - c->hold_from[STORM_T2I]);
	uint8_t *pdu = b->data + at;
	size_t old_len = wire_len(c, pdu);
	char addr[80];
	size_t new_len;
	int rc = advertised(c, addr, sizeof addr);
	if (rc)
		return rc;
	uint8_t *fresh = rebuild(c, pdu, addr, &new_len);
	if (!fresh)
		return -ENOMEM;
	size_t after = b->tail - (at + old_len);
	if (at + new_len + after > b->cap) {
		free(fresh);
		return -ENOBUFS;
	}
	memmove(pdu + new_len, pdu + old_len, after);
	memcpy(pdu, fresh, new_len);
	free(fresh);
	/* Buffer positions after the PDU moved; parser stream offsets did not. */
	b->tail = at + new_len + after;
	c->held[STORM_T2I] = false;
	return 0;
}

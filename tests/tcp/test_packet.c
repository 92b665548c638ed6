/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/tcp/packet.c: IPv4/IPv6 + TCP header decoding and its length checks. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tcp/packet.h"
#include "tcp_testlib.h"

/* Parses a heap copy of exactly len bytes, so ASan catches any overread. */
static int parse_exact(struct tcp_pkt *pkt, const uint8_t *p, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	cr_assert_not_null(copy);
	memcpy(copy, p, len);
	int r = tcp_pkt_parse(pkt, copy, len);
	if (r == 1) {
		cr_assert(pkt->payload >= copy && pkt->payload + pkt->len <= copy + len,
			  "payload outside the buffer");
		/* Keep the payload checkable after the copy is gone. */
		pkt->payload = p + (pkt->payload - copy);
	}
	free(copy);
	return r;
}

static size_t v4_packet(uint8_t *buf, const char *payload)
{
	struct tl_conn cn = tl_v4(40000, 3260);
	return tl_pkt(buf, &cn, STORM_I2T, 0x11223344, 0x55667788, TL_ACK | TL_PSH, payload,
		      strlen(payload));
}

static size_t v6_packet(uint8_t *buf, const char *payload)
{
	struct tl_conn cn = tl_v6(40000, 3260);
	return tl_pkt(buf, &cn, STORM_T2I, 7, 9, TL_SYN | TL_ACK, payload, strlen(payload));
}

Test(packet, ipv4_fields)
{
	uint8_t buf[128];
	size_t n = v4_packet(buf, "data!");
	struct tcp_pkt pkt;
	cr_assert_eq(parse_exact(&pkt, buf, n), 1);
	cr_assert_eq(pkt.family, AF_INET);
	cr_assert_eq(memcmp(pkt.src, (uint8_t[]){ 10, 0, 0, 1 }, 4), 0);
	cr_assert_eq(memcmp(pkt.dst, (uint8_t[]){ 10, 0, 0, 2 }, 4), 0);
	cr_assert_eq(pkt.src[4], 0);
	cr_assert_eq(pkt.sport, 40000);
	cr_assert_eq(pkt.dport, 3260);
	cr_assert_eq(pkt.seq, 0x11223344);
	cr_assert_eq(pkt.ack, 0x55667788);
	cr_assert_eq(pkt.flags, TCP_ACK | TCP_PSH);
	cr_assert_eq(pkt.len, 5);
	cr_assert_eq(memcmp(pkt.payload, "data!", 5), 0);
}

Test(packet, ipv4_options_and_tcp_options_are_skipped)
{
	uint8_t buf[128] = { 0 };
	/* IHL 6 (one word of options), TCP data offset 7 (two words of options). */
	buf[0] = 0x46;
	put_be16(buf + 2, 24 + 28 + 3);
	buf[9] = 6;
	tl_tcp_hdr(buf + 24, 1, 3260, 5, 0, TL_ACK);
	buf[24 + 12] = 7 << 4;
	memcpy(buf + 24 + 28, "xyz", 3);
	struct tcp_pkt pkt;
	cr_assert_eq(parse_exact(&pkt, buf, 24 + 28 + 3), 1);
	cr_assert_eq(pkt.len, 3);
	cr_assert_eq(memcmp(pkt.payload, "xyz", 3), 0);
}

Test(packet, ethernet_padding_after_total_length_is_dropped)
{
	uint8_t buf[128];
	size_t n = v4_packet(buf, "a");
	memset(buf + n, 0xee, 10);
	struct tcp_pkt pkt;
	cr_assert_eq(parse_exact(&pkt, buf, n + 10), 1);
	cr_assert_eq(pkt.len, 1);
}

Test(packet, ipv4_total_length_zero_means_offloaded)
{
	uint8_t buf[128];
	size_t n = v4_packet(buf, "abcd");
	put_be16(buf + 2, 0);
	struct tcp_pkt pkt;
	cr_assert_eq(parse_exact(&pkt, buf, n), 1);
	cr_assert_eq(pkt.len, 4);
}

Test(packet, ipv4_fragments_and_other_protocols_are_ignored)
{
	uint8_t buf[128];
	size_t n = v4_packet(buf, "abcd");
	struct tcp_pkt pkt;
	put_be16(buf + 6, 0x2000); /* MF */
	cr_assert_eq(parse_exact(&pkt, buf, n), 0);
	put_be16(buf + 6, 0x0010); /* offset 16 */
	cr_assert_eq(parse_exact(&pkt, buf, n), 0);
	put_be16(buf + 6, 0x4000); /* DF only: whole */
	cr_assert_eq(parse_exact(&pkt, buf, n), 1);
	buf[9] = 17;               /* UDP */
	cr_assert_eq(parse_exact(&pkt, buf, n), 0);
}

Test(packet, ipv4_malformed_lengths)
{
	uint8_t buf[128];
	size_t n = v4_packet(buf, "abcd");
	struct tcp_pkt pkt;
	cr_assert_eq(parse_exact(&pkt, buf, 19), STORM_ERR_FORMAT);
	cr_assert_eq(parse_exact(&pkt, buf, 0), STORM_ERR_FORMAT);

	buf[0] = 0x44; /* IHL 4 < 5 */
	cr_assert_eq(parse_exact(&pkt, buf, n), STORM_ERR_FORMAT);
	buf[0] = 0x4f; /* IHL 60 > total length 44 */
	cr_assert_eq(parse_exact(&pkt, buf, n), STORM_ERR_FORMAT);
	buf[0] = 0x45;

	put_be16(buf + 2, (uint16_t)(n + 1)); /* total length past the buffer */
	cr_assert_eq(parse_exact(&pkt, buf, n), STORM_ERR_FORMAT);
	put_be16(buf + 2, 19); /* shorter than the header */
	cr_assert_eq(parse_exact(&pkt, buf, n), STORM_ERR_FORMAT);
	put_be16(buf + 2, 39); /* TCP header cut */
	cr_assert_eq(parse_exact(&pkt, buf, n), STORM_ERR_FORMAT);
	put_be16(buf + 2, (uint16_t)n);

	buf[20 + 12] = 4 << 4; /* data offset 4 < 5 */
	cr_assert_eq(parse_exact(&pkt, buf, n), STORM_ERR_FORMAT);
	buf[20 + 12] = 15 << 4; /* 60 bytes > 24 of TCP */
	cr_assert_eq(parse_exact(&pkt, buf, n), STORM_ERR_FORMAT);
	buf[20 + 12] = 6 << 4; /* 24 bytes: exactly the segment, no payload */
	cr_assert_eq(parse_exact(&pkt, buf, n), 1);
	cr_assert_eq(pkt.len, 0);
}

Test(packet, unknown_ip_version_is_malformed)
{
	uint8_t buf[128];
	size_t n = v4_packet(buf, "x");
	buf[0] = 0x55;
	struct tcp_pkt pkt;
	cr_assert_eq(parse_exact(&pkt, buf, n), STORM_ERR_FORMAT);
}

Test(packet, ipv6_fields)
{
	uint8_t buf[128];
	size_t n = v6_packet(buf, "hi");
	struct tcp_pkt pkt;
	cr_assert_eq(parse_exact(&pkt, buf, n), 1);
	cr_assert_eq(pkt.family, AF_INET6);
	uint8_t want[16];
	inet_pton(AF_INET6, "2001:db8::2", want);
	cr_assert_eq(memcmp(pkt.src, want, 16), 0);
	cr_assert_eq(pkt.sport, 3260);
	cr_assert_eq(pkt.dport, 40000);
	cr_assert_eq(pkt.flags, TCP_SYN | TCP_ACK);
	cr_assert_eq(pkt.len, 2);
	cr_assert_eq(memcmp(pkt.payload, "hi", 2), 0);
}

/* An IPv6 packet with the given extension headers (each 8 bytes) before TCP. */
static size_t v6_with_ext(uint8_t *buf, const uint8_t *types, unsigned next, const char *payload)
{
	uint8_t tcp[128];
	size_t tn = v6_packet(tcp, payload) - 40;
	memcpy(buf, tcp, 40); /* the IPv6 header, completed below */
	size_t off = 40;
	buf[6] = next ? types[0] : 6;
	for (unsigned i = 0; i < next; i++) {
		memset(buf + off, 0, 8);
		buf[off] = i + 1 < next ? types[i + 1] : 6;
		if (types[i] == 51)
			buf[off + 1] = 0; /* AH: (0 + 2) * 4 = 8 bytes */
		off += 8;
	}
	memcpy(buf + off, tcp + 40, tn);
	put_be16(buf + 4, (uint16_t)(off - 40 + tn));
	return off + tn;
}

Test(packet, ipv6_extension_headers_are_walked)
{
	uint8_t buf[256];
	uint8_t types[] = { 0, 60, 43, 51, 44 }; /* hop-by-hop, dest-opts, routing, AH, atomic fragment */
	size_t n = v6_with_ext(buf, types, 5, "payload");
	struct tcp_pkt pkt;
	cr_assert_eq(parse_exact(&pkt, buf, n), 1);
	cr_assert_eq(pkt.len, 7);
	cr_assert_eq(memcmp(pkt.payload, "payload", 7), 0);
}

Test(packet, ipv6_longer_extension_header)
{
	uint8_t buf[256];
	uint8_t types[] = { 60 };
	size_t n = v6_with_ext(buf, types, 1, "p");
	/* Grow the destination options to 16 bytes: insert 8 bytes of padding. */
	memmove(buf + 56, buf + 48, n - 48);
	memset(buf + 48, 0, 8);
	buf[41] = 1;
	put_be16(buf + 4, (uint16_t)(get_be16(buf + 4) + 8));
	struct tcp_pkt pkt;
	cr_assert_eq(parse_exact(&pkt, buf, n + 8), 1);
	cr_assert_eq(pkt.len, 1);
	cr_assert_eq(pkt.payload[0], 'p');
}

Test(packet, ipv6_fragments_are_ignored)
{
	uint8_t buf[256];
	uint8_t types[] = { 44 };
	size_t n = v6_with_ext(buf, types, 1, "abc");
	struct tcp_pkt pkt;
	put_be16(buf + 42, 0x0001); /* M set */
	cr_assert_eq(parse_exact(&pkt, buf, n), 0);
	put_be16(buf + 42, 0x0008); /* offset 1 */
	cr_assert_eq(parse_exact(&pkt, buf, n), 0);
}

Test(packet, ipv6_no_next_header_or_udp_is_ignored)
{
	uint8_t buf[128];
	size_t n = v6_packet(buf, "x");
	struct tcp_pkt pkt;
	buf[6] = 59;
	cr_assert_eq(parse_exact(&pkt, buf, n), 0);
	buf[6] = 17;
	cr_assert_eq(parse_exact(&pkt, buf, n), 0);
}

Test(packet, ipv6_malformed_lengths)
{
	uint8_t buf[256];
	size_t n = v6_packet(buf, "abcd");
	struct tcp_pkt pkt;
	cr_assert_eq(parse_exact(&pkt, buf, 39), STORM_ERR_FORMAT);
	put_be16(buf + 4, (uint16_t)(n - 40 + 1)); /* payload length past the buffer */
	cr_assert_eq(parse_exact(&pkt, buf, n), STORM_ERR_FORMAT);
	put_be16(buf + 4, 10); /* TCP header cut */
	cr_assert_eq(parse_exact(&pkt, buf, n), STORM_ERR_FORMAT);

	uint8_t types[] = { 0 };
	n = v6_with_ext(buf, types, 1, "abcd");
	buf[41] = 20; /* hop-by-hop claims 168 bytes */
	cr_assert_eq(parse_exact(&pkt, buf, n), STORM_ERR_FORMAT);
	buf[41] = 0;
	put_be16(buf + 4, 4); /* extension header itself cut */
	cr_assert_eq(parse_exact(&pkt, buf, 44), STORM_ERR_FORMAT);
}

/* Every prefix and random corruptions: decoding stays inside the buffer. */
static void torture(const uint8_t *pkt, size_t n, uint64_t seed)
{
	struct tcp_pkt out;
	for (size_t cut = 0; cut <= n; cut++) {
		int r = parse_exact(&out, pkt, cut);
		cr_assert(r == 1 || r == 0 || r == STORM_ERR_FORMAT);
	}
	uint64_t rs = seed;
	uint8_t buf[256];
	for (int i = 0; i < 20000; i++) {
		memcpy(buf, pkt, n);
		int flips = 1 + (int)(tu_rand(&rs) % 4);
		for (int k = 0; k < flips; k++)
			buf[tu_rand(&rs) % n] = (uint8_t)tu_rand(&rs);
		size_t len = n - (size_t)(tu_rand(&rs) % (n / 2));
		int r = parse_exact(&out, buf, len);
		cr_assert(r == 1 || r == 0 || r == STORM_ERR_FORMAT);
	}
}

Test(packet, truncations_and_corruptions_never_read_outside)
{
	uint8_t buf[256];
	size_t n = v4_packet(buf, "0123456789");
	torture(buf, n, 1);
	uint8_t types[] = { 0, 60, 43, 44 };
	n = v6_with_ext(buf, types, 4, "0123456789");
	torture(buf, n, 2);
}

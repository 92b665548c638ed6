/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers shared by the TCP and capture tests: hand-built IPv4/IPv6 TCP
 * packets, and a recorder of reassembler callbacks that logs every event as
 * text and keeps each direction's bytes.
 */
#ifndef STORM_TCP_TESTLIB_H
#define STORM_TCP_TESTLIB_H

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <storm/tcp.h>

#include "util/bytes.h"
#include "util/testutil.h"

#define TL_FIN 0x01
#define TL_SYN 0x02
#define TL_RST 0x04
#define TL_PSH 0x08
#define TL_ACK 0x10

/* Both ends of a test connection. */
struct tl_conn {
	int family;
	uint8_t caddr[16], saddr[16];
	uint16_t cport, sport;
};

static inline struct tl_conn tl_conn_make(int family, const char *c, uint16_t cport,
					  const char *s, uint16_t sport)
{
	struct tl_conn cn = { .family = family, .cport = cport, .sport = sport };
	cr_assert_eq(inet_pton(family, c, cn.caddr), 1);
	cr_assert_eq(inet_pton(family, s, cn.saddr), 1);
	return cn;
}

static inline struct tl_conn tl_v4(uint16_t cport, uint16_t sport)
{
	return tl_conn_make(AF_INET, "10.0.0.1", cport, "10.0.0.2", sport);
}

static inline struct tl_conn tl_v6(uint16_t cport, uint16_t sport)
{
	return tl_conn_make(AF_INET6, "2001:db8::1", cport, "2001:db8::2", sport);
}

/* Writes a 20-byte TCP header (no options) at p. */
static inline void tl_tcp_hdr(uint8_t *p, uint16_t sport, uint16_t dport, uint32_t seq,
			      uint32_t ack, uint8_t flags)
{
	memset(p, 0, 20);
	put_be16(p, sport);
	put_be16(p + 2, dport);
	put_be32(p + 4, seq);
	put_be32(p + 8, ack);
	p[12] = 5 << 4;
	p[13] = flags;
	put_be16(p + 14, 65535);
}

/*
 * Builds the IP packet of a segment travelling in dir into buf (at least
 * 60 + len bytes).  Returns its length.
 */
static inline size_t tl_pkt(uint8_t *buf, const struct tl_conn *cn, storm_dir dir, uint32_t seq,
			    uint32_t ack, uint8_t flags, const void *payload, size_t len)
{
	const uint8_t *src = dir == STORM_I2T ? cn->caddr : cn->saddr;
	const uint8_t *dst = dir == STORM_I2T ? cn->saddr : cn->caddr;
	uint16_t sport = dir == STORM_I2T ? cn->cport : cn->sport;
	uint16_t dport = dir == STORM_I2T ? cn->sport : cn->cport;
	size_t ip;
	if (cn->family == AF_INET) {
		ip = 20;
		memset(buf, 0, ip);
		buf[0] = 0x45;
		put_be16(buf + 2, (uint16_t)(ip + 20 + len));
		put_be16(buf + 6, 0x4000); /* DF */
		buf[8] = 64;
		buf[9] = 6;
		memcpy(buf + 12, src, 4);
		memcpy(buf + 16, dst, 4);
	} else {
		ip = 40;
		memset(buf, 0, ip);
		buf[0] = 0x60;
		put_be16(buf + 4, (uint16_t)(20 + len));
		buf[6] = 6;
		buf[7] = 64;
		memcpy(buf + 8, src, 16);
		memcpy(buf + 24, dst, 16);
	}
	tl_tcp_hdr(buf + ip, sport, dport, seq, ack, flags);
	if (len)
		memcpy(buf + ip + 20, payload, len);
	return ip + 20 + len;
}

/* Everything the callbacks saw. */
struct tl_rec {
	char log[16384];
	size_t loglen;
	tu_buf stream[2];
	uint64_t gaps[2];
	char name[128];      /* storm_flow_format() of the last flow opened */
	int fail_open;       /* returned by the open callback */
	int fail_data;       /* returned by the data callback */
	uint64_t last_now;   /* storm_tcp_now() in the last data callback */
};

static inline void tl_log(struct tl_rec *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(r->log + r->loglen, sizeof r->log - r->loglen, fmt, ap);
	va_end(ap);
	cr_assert(n > 0 && (size_t)n < sizeof r->log - r->loglen, "log overflow");
	r->loglen += (size_t)n;
}

static inline uint16_t tl_client_port(const storm_flow *f)
{
	storm_endpoint c;
	storm_flow_endpoints(f, &c, NULL);
	return c.port;
}

static inline int tl_on_open(storm_tcp *t, storm_flow *f, void *user)
{
	(void)t;
	struct tl_rec *r = user;
	cr_assert_gt(storm_flow_format(f, r->name, sizeof r->name), 0);
	tl_log(r, "O%u ", tl_client_port(f));
	return r->fail_open;
}

static inline int tl_on_data(storm_tcp *t, storm_flow *f, storm_dir dir, const uint8_t *p,
			     size_t n, void *user)
{
	(void)f;
	struct tl_rec *r = user;
	r->last_now = storm_tcp_now(t);
	tl_log(r, "D%d:%zu ", (int)dir, n);
	tu_buf_put(&r->stream[dir], p, n);
	return r->fail_data;
}

static inline int tl_on_gap(storm_tcp *t, storm_flow *f, storm_dir dir, uint64_t n, void *user)
{
	(void)t;
	(void)f;
	struct tl_rec *r = user;
	r->gaps[dir] += n;
	tl_log(r, "G%d:%llu ", (int)dir, (unsigned long long)n);
	return 0;
}

static inline void tl_on_close(storm_tcp *t, storm_flow *f, storm_tcp_close why, void *user)
{
	(void)t;
	static const char *const names[] = { "FIN", "RST", "EVICTED", "FLUSHED" };
	struct tl_rec *r = user;
	tl_log(r, "C%u:%s ", tl_client_port(f), names[why]);
}

/* A reassembler whose callbacks all record into r. */
static inline storm_tcp *tl_tcp_new(struct tl_rec *r)
{
	storm_tcp_callbacks *cbs;
	storm_tcp *t;
	cr_assert_eq(storm_tcp_callbacks_new(&cbs), 0);
	storm_tcp_callbacks_set_open(cbs, tl_on_open);
	storm_tcp_callbacks_set_data(cbs, tl_on_data);
	storm_tcp_callbacks_set_gap(cbs, tl_on_gap);
	storm_tcp_callbacks_set_close(cbs, tl_on_close);
	cr_assert_eq(storm_tcp_new(&t, cbs, r), 0);
	storm_tcp_callbacks_del(cbs);
	return t;
}

static inline void tl_rec_free(struct tl_rec *r)
{
	tu_buf_free(&r->stream[0]);
	tu_buf_free(&r->stream[1]);
}

/* Sends one segment through storm_tcp_packet(); returns its result. */
static inline int tl_send(storm_tcp *t, const struct tl_conn *cn, storm_dir dir, uint32_t seq,
			  uint32_t ack, uint8_t flags, const void *payload, size_t len)
{
	uint8_t buf[65536 + 60];
	cr_assert_leq(len, 65536);
	size_t n = tl_pkt(buf, cn, dir, seq, ack, flags, payload, len);
	return storm_tcp_packet(t, buf, n, 1000);
}

/* The bytes a direction received, compared with a string. */
static inline bool tl_stream_is(const struct tl_rec *r, storm_dir dir, const char *s)
{
	size_t n = strlen(s);
	return r->stream[dir].len == n && (n == 0 || memcmp(r->stream[dir].data, s, n) == 0);
}

#endif

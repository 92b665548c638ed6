/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Socket addresses: "IPv4:PORT" and "[IPv6]:PORT" text, CIDR matching. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "relay/relay_int.h"

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int addr_parse(const char *s, struct sockaddr_storage *out)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':');
	uint16_t port;
	if (!colon || (size_t)(colon - s) >= sizeof host || parse_port(colon + 1, &port))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(out, 0, sizeof *out);
	size_t hl = strlen(host);
	if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
		host[hl - 1] = '\0';
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)out;
	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -EINVAL;
}

int cidr_parse(const char *s, struct cidr *out)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n >= sizeof host)
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		out->prefix = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		out->prefix = 128;
	} else {
		return -EINVAL;
	}
	if (slash) {
		char *end;
		unsigned long p = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || p > out->prefix)
			return -EINVAL;
		out->prefix = (unsigned)p;
	}
	return 0;
}

bool cidr_match(const struct cidr *c, const struct sockaddr_storage *sa)
{
	storm_endpoint ep;
	endpoint_of(sa, &ep);
	if (ep.family != c->family)
		return false;
	unsigned full = c->prefix / 8, rest = c->prefix % 8;
	if (memcmp(ep.addr, c->addr, full) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (ep.addr[full] & mask) == (c->addr[full] & mask);
}

/* An IPv4-mapped IPv6 peer is reported, and matched, as IPv4. */
void endpoint_of(const struct sockaddr_storage *sa, storm_endpoint *ep)
{
	memset(ep, 0, sizeof *ep);
	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
		ep->family = AF_INET;
		memcpy(ep->addr, &a->sin_addr, 4);
		ep->port = ntohs(a->sin_port);
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
		ep->port = ntohs(a->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
			ep->family = AF_INET;
			memcpy(ep->addr, a->sin6_addr.s6_addr + 12, 4);
		} else {
			ep->family = AF_INET6;
			memcpy(ep->addr, &a->sin6_addr, 16);
		}
	}
}

socklen_t addr_len(const struct sockaddr_storage *sa)
{
	return sa->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

bool addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	storm_endpoint x, y;
	endpoint_of(a, &x);
	endpoint_of(b, &y);
	return x.family == y.family && x.port == y.port && memcmp(x.addr, y.addr, 16) == 0;
}

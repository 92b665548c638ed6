/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "link.h"

#include <pcap/dlt.h>

#include "util/bytes.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100  /* IEEE 802.1Q */
#define ETHERTYPE_QINQ 0x88a8  /* IEEE 802.1ad service tag */
#define ETHERTYPE_QINQ_OLD 0x9100

#define ETH_HDR 14
#define VLAN_TAG 4
#define SLL_HDR 16
#define SLL2_HDR 20
#define NULL_HDR 4

/* LINKTYPE_RAW as written in files; libpcap usually maps it to DLT_RAW. */
#define LINKTYPE_RAW 101

/* BSD address-family values for IPv6 found in DLT_NULL/DLT_LOOP headers. */
#define BSD_AF_INET 2
#define BSD_AF_INET6_BSD 24
#define BSD_AF_INET6_FREEBSD 28
#define BSD_AF_INET6_DARWIN 30

static bool ip_version_is(const uint8_t *p, size_t len, unsigned v)
{
	return len > 0 && (p[0] >> 4) == v;
}

/* An EtherType naming IP after any stack of VLAN tags (802.1Q, 802.1ad). */
static bool after_ethertype(uint16_t type, const uint8_t *p, size_t len,
			    const uint8_t **ip, size_t *iplen)
{
	while (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ_OLD) {
		if (len < VLAN_TAG)
			return false;
		type = get_be16(p + 2);
		p += VLAN_TAG;
		len -= VLAN_TAG;
	}
	if (type != ETHERTYPE_IPV4 && type != ETHERTYPE_IPV6)
		return false;
	*ip = p;
	*iplen = len;
	return true;
}

/* Raw IP: the version nibble is the only type field. */
static bool raw_ip(const uint8_t *p, size_t len, const uint8_t **ip, size_t *iplen)
{
	if (!ip_version_is(p, len, 4) && !ip_version_is(p, len, 6))
		return false;
	*ip = p;
	*iplen = len;
	return true;
}

/*
 * DLT_NULL stores the address family in the byte order of the machine
 * that captured, DLT_LOOP in network order; try both for DLT_NULL.
 */
static bool bsd_family_is_ip(uint32_t af)
{
	return af == BSD_AF_INET || af == BSD_AF_INET6_BSD || af == BSD_AF_INET6_FREEBSD ||
	       af == BSD_AF_INET6_DARWIN;
}

static bool null_ip(const uint8_t *p, size_t len, bool either_order, const uint8_t **ip,
		    size_t *iplen)
{
	if (len < NULL_HDR)
		return false;
	uint32_t be = get_be32(p);
	uint32_t le = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	if (!bsd_family_is_ip(be) && !(either_order && bsd_family_is_ip(le)))
		return false;
	return raw_ip(p + NULL_HDR, len - NULL_HDR, ip, iplen);
}

bool link_supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_RAW:
	case LINKTYPE_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_NULL:
	case DLT_LOOP:
		return true;
	default:
		return false;
	}
}

bool link_ip(int dlt, const uint8_t *rec, size_t len, const uint8_t **ip, size_t *iplen)
{
	switch (dlt) {
	case DLT_EN10MB:
		if (len < ETH_HDR)
			return false;
		return after_ethertype(get_be16(rec + 12), rec + ETH_HDR, len - ETH_HDR, ip, iplen);
	case DLT_LINUX_SLL:
		if (len < SLL_HDR)
			return false;
		return after_ethertype(get_be16(rec + 14), rec + SLL_HDR, len - SLL_HDR, ip, iplen);
	case DLT_LINUX_SLL2:
		if (len < SLL2_HDR)
			return false;
		return after_ethertype(get_be16(rec), rec + SLL2_HDR, len - SLL2_HDR, ip, iplen);
	case DLT_RAW:
	case LINKTYPE_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return raw_ip(rec, len, ip, iplen);
	case DLT_NULL:
		return null_ip(rec, len, true, ip, iplen);
	case DLT_LOOP:
		return null_ip(rec, len, false, ip, iplen);
	default:
		return false;
	}
}

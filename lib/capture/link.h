/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Link-layer headers of capture records.  Internal.
 *
 * Finds the IP datagram inside a record of a given libpcap link type, so
 * the reassembler only ever sees IP.  Lengths are checked against the
 * captured bytes only.
 */
#ifndef STORM_CAPTURE_LINK_H
#define STORM_CAPTURE_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether link_ip() knows the libpcap DLT_* value. */
bool link_supported(int dlt);

/*
 * Points *ip at the IPv4 or IPv6 datagram in a record of link type dlt.
 * Returns false when the record carries something else or is too short.
 */
bool link_ip(int dlt, const uint8_t *rec, size_t len, const uint8_t **ip, size_t *iplen);

#endif

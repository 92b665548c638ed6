/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file storm/pcap.h
 * @brief Capture-file source: reads pcap or pcapng with libpcap and feeds the
 *        IP packets to a TCP reassembler.
 *
 * Link types handled: Ethernet (with 802.1Q/QinQ tags), Linux cooked v1 and
 * v2, raw IP, and BSD loopback.  Packets are streamed: memory does not grow
 * with the size of the file.
 */
#ifndef STORM_PCAP_H
#define STORM_PCAP_H

#include <storm/common.h>
#include <storm/tcp.h>

#ifdef __cplusplus
extern "C" {
#endif

/** An open capture file.  Opaque. */
typedef struct storm_pcap storm_pcap;

/**
 * Opens a capture file.
 * @return 0; -ENOENT, -EACCES or another -errno when it cannot be opened;
 * STORM_ERR_FORMAT when it is not a capture or its link type is not handled.
 * On failure *@p p is still set when memory allowed, so storm_pcap_reason()
 * can tell why; free it with storm_pcap_del().
 */
STORM_EXTERN int storm_pcap_open(storm_pcap **p, const char *path);
/** Closes the file; NULL is fine. */
STORM_EXTERN void storm_pcap_del(storm_pcap *p);

/**
 * Reads one record and gives its IP packet to @p t.
 * @return 1 after a record, 0 at the end of the file, STORM_ERR_TRUNCATED
 * when the file ends inside a record, STORM_ERR_FORMAT for an unreadable
 * record, or a reassembler callback's error.
 */
STORM_EXTERN int storm_pcap_next(storm_pcap *p, storm_tcp *t);

/** Reads to the end, then flushes @p t.  @return 0 or the first error of storm_pcap_next(). */
STORM_EXTERN int storm_pcap_run(storm_pcap *p, storm_tcp *t);

/** Readable reason of the last failure, or "". */
STORM_EXTERN const char *storm_pcap_reason(const storm_pcap *p);
/** Records read so far. */
STORM_EXTERN uint64_t storm_pcap_records(const storm_pcap *p);
/** Records skipped (not IP, or cut short by the snap length). */
STORM_EXTERN uint64_t storm_pcap_skipped(const storm_pcap *p);

#ifdef __cplusplus
}
#endif
#endif

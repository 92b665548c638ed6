/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* storm-monitor's shared state. */
#ifndef STORM_MONITOR_H
#define STORM_MONITOR_H

#include <stdbool.h>
#include <stdint.h>
#include <storm/storm.h>

struct mon_opts {
	bool reads;      /* also report reads of file data */
	bool one_lun;    /* only map I/O of LUN `lun` */
	uint64_t lun;
};

struct mon_stats {
	uint64_t writes, reads;     /* completed good I/Os mapped */
	uint64_t failed;            /* I/Os not mapped: bad status, aborted, lost */
	uint64_t file_lines, free_lines, meta_lines;
	uint64_t outside_bytes;     /* bytes past the file system's end */
};

struct monitor {
	const storm_view *view;
	uint32_t fs_bs;             /* file-system block size */
	uint64_t fs_bytes;          /* block count × block size */
	struct mon_opts opts;
	struct mon_stats st;
};

/*
 * Maps one completed I/O of @p len bytes at byte @p start of the volume to
 * the view's owners and prints one line per piece (mapper.c).  Reads print
 * only file data.
 */
void mon_map_io(struct monitor *m, double ts, uint64_t lun, bool write,
		uint64_t start, uint64_t len);

/*
 * Reads a capture through storm_pcap → storm_tcp → storm_session and maps
 * every completed block I/O (capture.c).  @p ports: extra iSCSI ports.
 * @return 0, or the error of the capture (its reason printed on stderr).
 */
int mon_run_capture(struct monitor *m, const char *path, const uint16_t *ports, int nports);

#endif

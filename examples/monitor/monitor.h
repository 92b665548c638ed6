/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* storm-monitor's shared state. */
#ifndef STORM_MONITOR_H
#define STORM_MONITOR_H

#include <stdbool.h>
#include <stdint.h>
#include <storm/storm.h>

struct mon_opts {
	bool reads;      /* also report reads of file data */
	bool one_lun;    /* only follow LUN `lun` (else the first LUN doing I/O) */
	uint64_t lun;
};

struct mon_stats {
	uint64_t writes, reads;     /* completed good I/Os fed to the view */
	uint64_t failed;            /* I/Os not fed: bad status, aborted, lost */
	uint64_t other_lun;         /* I/Os of LUNs not followed */
	uint64_t blind;             /* writes fed without their bytes */
	uint64_t lines;             /* file operations printed */
};

struct monitor {
	storm_view *view;
	struct mon_opts opts;
	bool lun_known;             /* opts.lun is the LUN followed */
	size_t buffered;            /* bytes of write data held for tasks in flight */
	struct mon_stats st;
};

/* The storm_fop_cb: prints one JSON line per file operation (fops.c).
 * Stamps are microseconds of capture time. */
int mon_print_fop(void *ctx, const storm_fop *op);

/*
 * Reads a capture through storm_pcap → storm_tcp → storm_session and feeds
 * every completed block I/O of the followed LUN, with its write data, to the
 * view (capture.c).  @p ports: extra iSCSI ports.
 * @return 0, or the error of the capture (its reason printed on stderr).
 */
int mon_run_capture(struct monitor *m, const char *path, const uint16_t *ports, int nports);

#endif

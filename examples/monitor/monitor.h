/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* storm-monitor's shared state. */
#ifndef STORM_MONITOR_H
#define STORM_MONITOR_H

#include <stdbool.h>
#include <stdint.h>
#include <storm/storm.h>

#define MON_MAX_WATCH 64

struct mon_opts {
	bool reads;      /* also report reads of file data */
	const char *watch[MON_MAX_WATCH]; /* --watch globs */
	int nwatch;
	bool alert;      /* --alert: matching operations become alert lines, others stay */
	const char *deny[MON_MAX_WATCH]; /* --deny-write globs (live) */
	int ndeny;
	bool one_lun;    /* only follow LUN `lun` (else the first LUN doing I/O) */
	uint64_t lun;
};

struct mon_stats {
	uint64_t writes, reads;     /* completed good I/Os fed to the view */
	uint64_t failed;            /* I/Os not fed: bad status, aborted, lost */
	uint64_t other_lun;         /* I/Os of LUNs not followed */
	uint64_t blind;             /* writes fed without their bytes */
	uint64_t lines;             /* file operations printed */
	uint64_t denied;            /* writes refused (--deny-write) */
};

struct monitor {
	storm_view *view;
	struct mon_opts opts;
	bool lun_known;             /* opts.lun is the LUN followed */
	size_t buffered;            /* bytes of write data held for tasks in flight */
	struct mon_stats st;
};

/* The volume the view reads through (source.c). */
struct mon_source {
	storm_blocksrc_read read;
	void *ctx;
	uint64_t size;
	storm_blocksrc_file *file;
	storm_blocksrc_iscsi *iscsi;
};

/* Opens @p where (an image path or an iscsi:// URL), builds m->view and
 * follows it; prints why not.  The source stays open: the view reads old
 * metadata through it.  @return 0 or a negative error. */
int mon_open_view(struct monitor *m, const char *where, struct mon_source *s);
void mon_source_close(struct mon_source *s);

/* The storm_fop_cb: prints one JSON line per file operation (fops.c).
 * Stamps are microseconds of capture time. */
int mon_print_fop(void *ctx, const storm_fop *op);

/* WRITE, WRITE SAME and COMPARE AND WRITE: the operations that change blocks. */
bool mon_is_write(storm_io_op op);

/* Whether the task is of the followed LUN (the first LUN doing I/O unless
 * --lun named one) (feed.c). */
bool mon_followed(struct monitor *m, const storm_io *io);

/* --deny-write (deny.c): from the relay's io_start hook, refuses a WRITE that
 * would change data of a file matching a glob and prints it as a write line
 * with "denied".  @return 0 or storm_conn_refuse()'s error. */
int mon_deny_check(struct monitor *m, storm_conn *c, storm_io *io, uint64_t stamp);

/* A piece of a task's data (feed.c): writes of the followed LUN are kept. */
void mon_io_data(struct monitor *m, storm_io *io, storm_dir dir, uint64_t offset,
		 const uint8_t *data, size_t len);
/* A task ended: a good write or (with --reads) read of the followed LUN goes
 * to the view with @p stamp (microseconds); the task's data is freed. */
void mon_io_done(struct monitor *m, storm_io *io, uint64_t stamp);

/* Live: relays @p listen → @p upstream and feeds the view until SIGINT or
 * SIGTERM (live.c).  @return 0 or the relay's error (printed). */
int mon_run_live(struct monitor *m, const char *listen, const char *upstream);

/*
 * Reads a capture through storm_pcap → storm_tcp → storm_session and feeds
 * every completed block I/O of the followed LUN, with its write data, to the
 * view (capture.c).  @p ports: extra iSCSI ports.
 * @return 0, or the error of the capture (its reason printed on stderr).
 */
int mon_run_capture(struct monitor *m, const char *path, const uint16_t *ports, int nports);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* storm-dump's shared state: one flow context per TCP connection. */
#ifndef STORM_DUMP_H
#define STORM_DUMP_H

#include <stdbool.h>
#include <storm/storm.h>

#include "flowfeed.h"

#include "json.h"

struct dump_opts {
	bool events;
};

struct flow_ctx {
	char name[128];        /* "IP:PORT>IP:PORT" */
	struct flow_feed ff;    /* the flow's session */
	storm_tcp *tcp;
	const struct dump_opts *opts;
};

/* The PDU callbacks of the default mode (pdu_out.c). */
int pdu_out_callbacks(storm_iscsi_callbacks **cbs);
/* The PDU callbacks every mode uses: errors and resynchronisation. */
void anomaly_callbacks(storm_iscsi_callbacks *cbs);
/* The block I/O callbacks of --events (events_out.c). */
int events_out_callbacks(storm_session_callbacks **cbs);
/* A line for a lost range of a flow's direction. */
void print_gap(struct flow_ctx *fc, storm_dir d, uint64_t len);
/* Seconds since the epoch of the packet being processed. */
double flow_now(const struct flow_ctx *fc);

#endif

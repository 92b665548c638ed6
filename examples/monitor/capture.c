/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Offline input: a capture file through storm_pcap → storm_tcp →
 * storm_session, as storm-dump reads it; every completed block I/O of the
 * followed LUN goes to the view, writes with their bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flowfeed.h"
#include "monitor.h"

struct flow_ctx {
	struct flow_feed ff;
	storm_tcp *tcp;
	struct monitor *m;
};

static int on_io_data(storm_session *s, storm_io *io, storm_dir dir, uint64_t offset,
		      const uint8_t *data, size_t len, void *user)
{
	(void)s;
	struct flow_ctx *fc = user;

	mon_io_data(fc->m, io, dir, offset, data, len);
	return 0;
}

static int on_done(storm_session *s, storm_io *io, void *user)
{
	(void)s;
	struct flow_ctx *fc = user;

	mon_io_done(fc->m, io, storm_tcp_now(fc->tcp));
	return 0;
}

static storm_session_callbacks *g_io_cbs;

static int on_open(storm_tcp *t, storm_flow *f, void *user)
{
	struct flow_ctx *fc = calloc(1, sizeof *fc);
	if (!fc)
		return -ENOMEM;
	fc->tcp = t;
	fc->m = user;
	if (storm_session_new(&fc->ff.session, g_io_cbs, NULL, fc)) {
		free(fc);
		return -ENOMEM;
	}
	storm_flow_set_user(f, fc);
	return 0;
}

static int on_data(storm_tcp *t, storm_flow *f, storm_dir d, const uint8_t *data,
		   size_t len, void *user)
{
	(void)t;
	(void)user;
	struct flow_ctx *fc = storm_flow_user(f);
	int bad, rc;

	if (!fc)
		return 0;
	rc = flow_feed_data(&fc->ff, f, d, data, len, &bad);
	if (bad) {
		char name[128];
		storm_flow_format(f, name, sizeof name);
		fprintf(stderr, "storm-monitor: %s: %s stream undecodable (%s); ignoring the rest\n",
			name, d == STORM_I2T ? "initiator" : "target", storm_strerror(bad));
	}
	return rc;
}

static int on_gap(storm_tcp *t, storm_flow *f, storm_dir d, uint64_t len, void *user)
{
	(void)t;
	(void)user;
	struct flow_ctx *fc = storm_flow_user(f);
	if (fc)
		flow_feed_gap(&fc->ff, d, len);
	return 0;
}

static void on_close(storm_tcp *t, storm_flow *f, storm_tcp_close why, void *user)
{
	(void)t;
	(void)why;
	(void)user;
	struct flow_ctx *fc = storm_flow_user(f);
	if (!fc)
		return;
	flow_feed_end(&fc->ff);
	free(fc);
	storm_flow_set_user(f, NULL);
}

int mon_run_capture(struct monitor *m, const char *path, const uint16_t *ports, int nports)
{
	storm_tcp_callbacks *tcb = NULL;
	storm_tcp *tcp = NULL;
	storm_pcap *pc = NULL;
	int rc = storm_session_callbacks_new(&g_io_cbs);
	if (!rc)
		rc = storm_tcp_callbacks_new(&tcb);
	if (rc)
		goto out;
	storm_session_callbacks_set_data(g_io_cbs, on_io_data);
	storm_session_callbacks_set_done(g_io_cbs, on_done);
	storm_tcp_callbacks_set_open(tcb, on_open);
	storm_tcp_callbacks_set_data(tcb, on_data);
	storm_tcp_callbacks_set_gap(tcb, on_gap);
	storm_tcp_callbacks_set_close(tcb, on_close);
	if ((rc = storm_tcp_new(&tcp, tcb, m)))
		goto out;
	storm_tcp_add_port(tcp, 3260);
	for (int i = 0; i < nports; i++)
		storm_tcp_add_port(tcp, ports[i]);
	rc = storm_pcap_open(&pc, path);
	if (rc == 0)
		rc = storm_pcap_run(pc, tcp);
	else
		storm_tcp_flush(tcp);
	if (rc) {
		const char *why = pc ? storm_pcap_reason(pc) : "";
		if (!*why)
			why = storm_strerror(rc);
		/* libpcap's reasons often name the file already. */
		if (strncmp(why, path, strlen(path)) == 0)
			fprintf(stderr, "storm-monitor: %s\n", why);
		else
			fprintf(stderr, "storm-monitor: %s: %s\n", path, why);
	}
out:
	storm_pcap_del(pc);
	storm_tcp_del(tcp);
	storm_tcp_callbacks_del(tcb);
	storm_session_callbacks_del(g_io_cbs);
	g_io_cbs = NULL;
	return rc;
}

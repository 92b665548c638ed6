/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* storm-dump: iSCSI PDUs or block I/O events from a capture file, as JSON Lines. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "num.h"

enum { EXIT_USAGE = 1, EXIT_INPUT = 2, EXIT_INTERNAL = 3 };

static storm_iscsi_callbacks *g_pdu_cbs;
static storm_session_callbacks *g_io_cbs;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: storm-dump [OPTIONS] CAPTURE\n"
		"Print the iSCSI traffic in a pcap or pcapng file as JSON Lines.\n\n"
		"  -p, --port N   also decode TCP port N as iSCSI (repeatable; 3260 always)\n"
		"  -e, --events   one object per completed block I/O instead of per PDU\n"
		"  -h, --help     this text\n"
		"  -V, --version  the libstorm version\n\n"
		"Exit status: 0 success, 1 bad usage, 2 unreadable, truncated or\n"
		"undecodable capture (what was read before is printed), 3 out of memory.\n");
}

double flow_now(const struct flow_ctx *fc)
{
	return (double)storm_tcp_now(fc->tcp) / 1e6;
}

static int on_open(storm_tcp *t, storm_flow *f, void *user)
{
	const struct dump_opts *opts = user;
	struct flow_ctx *fc = calloc(1, sizeof *fc);
	if (!fc)
		return -ENOMEM;
	fc->tcp = t;
	fc->opts = opts;
	storm_flow_format(f, fc->name, sizeof fc->name);
	if (storm_session_new(&fc->ff.session, opts->events ? g_io_cbs : NULL, g_pdu_cbs, fc)) {
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
	int bad;

	/* A malformed stream was reported by the error callback; the other
	 * flows and the other direction go on. */
	return fc ? flow_feed_data(&fc->ff, f, d, data, len, &bad) : 0;
}

static int on_gap(storm_tcp *t, storm_flow *f, storm_dir d, uint64_t len, void *user)
{
	(void)t;
	(void)user;
	struct flow_ctx *fc = storm_flow_user(f);
	if (!fc)
		return 0;
	print_gap(fc, d, len);
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

static int make_callbacks(struct dump_opts *opts, storm_tcp_callbacks **tcb)
{
	int rc = opts->events ? storm_iscsi_callbacks_new(&g_pdu_cbs) : pdu_out_callbacks(&g_pdu_cbs);
	if (rc)
		return rc;
	if (opts->events) {
		anomaly_callbacks(g_pdu_cbs);
		if ((rc = events_out_callbacks(&g_io_cbs)))
			return rc;
	}
	if ((rc = storm_tcp_callbacks_new(tcb)))
		return rc;
	storm_tcp_callbacks_set_open(*tcb, on_open);
	storm_tcp_callbacks_set_data(*tcb, on_data);
	storm_tcp_callbacks_set_gap(*tcb, on_gap);
	storm_tcp_callbacks_set_close(*tcb, on_close);
	return 0;
}

static int parse_port(const char *s, uint16_t *port)
{
	uint64_t v;
	if (tool_parse_u64(s, 65535, &v) || v == 0)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int run(const char *path, struct dump_opts *opts, const uint16_t *ports, int nports)
{
	storm_tcp_callbacks *tcb = NULL;
	storm_tcp *tcp = NULL;
	storm_pcap *pc = NULL;
	int status = EXIT_INTERNAL;
	if (make_callbacks(opts, &tcb) || storm_tcp_new(&tcp, tcb, opts))
		goto out;
	storm_tcp_add_port(tcp, 3260);
	for (int i = 0; i < nports; i++)
		storm_tcp_add_port(tcp, ports[i]);
	int rc = storm_pcap_open(&pc, path);
	if (rc == 0)
		rc = storm_pcap_run(pc, tcp);
	else
		storm_tcp_flush(tcp);
	fflush(stdout);
	if (rc == 0) {
		status = EXIT_SUCCESS;
	} else {
		const char *why = pc ? storm_pcap_reason(pc) : "";
		fprintf(stderr, "storm-dump: %s: %s\n", path, *why ? why : storm_strerror(rc));
		status = rc == -ENOMEM ? EXIT_INTERNAL : EXIT_INPUT;
	}
out:
	storm_pcap_del(pc);
	storm_tcp_del(tcp);
	storm_tcp_callbacks_del(tcb);
	storm_iscsi_callbacks_del(g_pdu_cbs);
	storm_session_callbacks_del(g_io_cbs);
	return status;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"port", required_argument, NULL, 'p'},
		{"events", no_argument, NULL, 'e'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct dump_opts opts = {0};
	uint16_t ports[64];
	int nports = 0, c;
	while ((c = getopt_long(argc, argv, "p:ehV", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (nports == 63 || parse_port(optarg, &ports[nports])) {
				fprintf(stderr, "storm-dump: bad or too many ports: %s\n", optarg);
				return EXIT_USAGE;
			}
			nports++;
			break;
		case 'e': opts.events = true; break;
		case 'h': usage(stdout); return EXIT_SUCCESS;
		case 'V': printf("storm-dump %s\n", storm_version_string()); return EXIT_SUCCESS;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	static char outbuf[1 << 20];
	setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
	return run(argv[optind], &opts, ports, nports);
}

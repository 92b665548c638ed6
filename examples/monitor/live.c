/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Live input: storm-monitor as an active relay between the initiators and
 * the target; every completed block I/O goes to the view as it happens. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "monitor.h"

static storm_relay *g_relay;

static void on_signal(int sig)
{
	(void)sig;
	if (g_relay)
		storm_relay_stop(g_relay);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int on_open(storm_relay *r, storm_conn *c, void *user)
{
	char name[160];

	(void)r, (void)user;
	if (storm_conn_format(c, name, sizeof name) > 0)
		fprintf(stderr, "storm-monitor: open %s\n", name);
	return 0;
}

static int on_io_start(storm_relay *r, storm_conn *c, storm_io *io, void *user)
{
	(void)r;
	return mon_deny_check(user, c, io, now_us());
}

static int on_io_data(storm_relay *r, storm_conn *c, storm_io *io, storm_dir dir,
		      uint64_t offset, uint8_t *data, size_t len, void *user)
{
	(void)r, (void)c;
	mon_io_data(user, io, dir, offset, data, len);
	return 0;
}

static int on_io_done(storm_relay *r, storm_conn *c, storm_io *io, void *user)
{
	(void)r, (void)c;
	mon_io_done(user, io, now_us());
	return 0;
}

static int make_relay(struct monitor *m, const char *listen, const char *upstream)
{
	storm_relay_config *cfg = NULL;
	storm_relay_callbacks *cbs = NULL;
	int rc = storm_relay_config_new(&cfg);

	if (!rc)
		rc = storm_relay_config_add_listen(cfg, listen);
	if (!rc)
		rc = storm_relay_config_set_upstream(cfg, upstream);
	if (!rc)
		rc = storm_relay_callbacks_new(&cbs);
	if (!rc) {
		storm_relay_callbacks_set_open(cbs, on_open);
		if (m->opts.ndeny)
			storm_relay_callbacks_set_io_start(cbs, on_io_start);
		storm_relay_callbacks_set_io_data(cbs, on_io_data);
		storm_relay_callbacks_set_io_done(cbs, on_io_done);
		rc = storm_relay_new(&g_relay, cfg, cbs, m);
	}
	storm_relay_callbacks_del(cbs);
	storm_relay_config_del(cfg);
	return rc;
}

int mon_run_live(struct monitor *m, const char *listen, const char *upstream)
{
	char addr[80];
	int rc = make_relay(m, listen, upstream);

	if (rc) {
		fprintf(stderr, "storm-monitor: cannot relay %s -> %s: %s\n", listen, upstream,
			storm_strerror(rc));
		return rc;
	}
	for (unsigned i = 0; storm_relay_listen_address(g_relay, i, addr, sizeof addr) > 0; i++)
		fprintf(stderr, "storm-monitor: listening on %s, target %s\n", addr, upstream);
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = storm_relay_run(g_relay);
	storm_relay_del(g_relay);
	g_relay = NULL;
	if (rc)
		fprintf(stderr, "storm-monitor: event loop failed: %s\n", storm_strerror(rc));
	return rc;
}

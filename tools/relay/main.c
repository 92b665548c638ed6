/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* storm-relay: an active iSCSI relay, optionally writing every block I/O as
 * JSON Lines (the schema of storm-dump --events). */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "json.h"
#include "num.h"

struct opts {
	bool events;
	bool touch;
	bool quiet;
	uint64_t refuse_lba, refuse_count; /* --refuse-writes: blocks of the LUN */
};

static storm_relay *g_relay;
static struct opts g_opts;
static uint64_t g_touched;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: storm-relay --listen ADDR:PORT (--upstream ADDR:PORT | --transparent) [OPTIONS]\n"
		"Relay iSCSI connections to a target, parsing everything that crosses.\n\n"
		"  -l, --listen ADDR:PORT    where initiators connect (repeatable; [v6]:PORT for IPv6)\n"
		"  -u, --upstream ADDR:PORT  the real target\n"
		"  -t, --transparent         forward to each connection's original destination\n"
		"                            (traffic sent here by an iptables REDIRECT rule)\n"
		"  -e, --events FILE|-       write every completed block I/O as JSON Lines\n"
		"  -a, --allow CIDR          accept initiators only from these addresses (repeatable)\n"
		"  -i, --allow-iqn IQN       accept only these initiator names (repeatable)\n"
		"  -c, --max-conns N         connections at once (default %u)\n"
		"  -b, --buffer BYTES        bytes buffered per connection and direction (default %u)\n"
		"      --connect-timeout MS  time the target may take to accept (default %u; 0: none)\n"
		"      --login-timeout MS    time from then to the end of the Login (default %u; 0: none)\n"
		"      --keepalive IDLE[,INTERVAL,COUNT]\n"
		"                            probe a silent peer after IDLE s, every INTERVAL s, give up\n"
		"                            after COUNT probes (default %u,%u,%u; 0: off)\n"
		"  -r, --rewrite-discovery   make SendTargets answers point at the relay\n"
		"      --touch               read every data byte in a hook (for measurements)\n"
		"      --refuse-writes LBA+COUNT\n"
		"                            (tests) refuse writes touching blocks LBA..LBA+COUNT-1\n"
		"                            with DATA PROTECT, WRITE PROTECTED; log them on stderr\n"
		"  -q, --quiet               no connection log on stderr\n"
		"  -h, --help\n\n"
		"SIGINT or SIGTERM stops it cleanly.  Exit status: 0 after a stop, 1 bad usage,\n"
		"2 cannot listen, 3 event loop failure.\n",
		STORM_RELAY_DEFAULT_CONNS, STORM_RELAY_DEFAULT_BUFFER, STORM_RELAY_DEFAULT_CONNECT_MS,
		STORM_RELAY_DEFAULT_LOGIN_MS, STORM_RELAY_DEFAULT_KEEPALIVE_IDLE,
		STORM_RELAY_DEFAULT_KEEPALIVE_INTERVAL, STORM_RELAY_DEFAULT_KEEPALIVE_COUNT);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int on_open(storm_relay *r, storm_conn *c, void *user)
{
	(void)r;
	(void)user;
	char *flow = malloc(128);
	if (!flow)
		return -ENOMEM;
	storm_conn_format(c, flow, 128);
	storm_conn_set_user(c, flow);
	if (!g_opts.quiet)
		fprintf(stderr, "storm-relay: open %s\n", flow);
	return 0;
}

static void on_close(storm_relay *r, storm_conn *c, int err, void *user)
{
	(void)r;
	(void)user;
	char *flow = storm_conn_user(c);
	if (!g_opts.quiet)
		fprintf(stderr, "storm-relay: close %s (%s), %llu bytes to target, %llu to initiator\n",
			flow ? flow : "?", err ? storm_strerror(err) : "orderly",
			(unsigned long long)storm_conn_bytes(c, STORM_I2T),
			(unsigned long long)storm_conn_bytes(c, STORM_T2I));
	free(flow);
	storm_conn_set_user(c, NULL);
}

/* Writes, WRITE SAME (0 blocks: to the end of the LUN) and COMPARE AND
 * WRITE; an UNMAP's ranges come after its start, so it is not refused. */
static bool in_refused_range(storm_io *io)
{
	storm_io_op op = storm_io_operation(io);
	if (op != STORM_IO_WRITE && op != STORM_IO_WRITE_SAME && op != STORM_IO_COMPARE_AND_WRITE)
		return false;
	uint64_t lba = storm_io_lba(io), n = storm_io_blocks(io);
	if (n == 0 && op == STORM_IO_WRITE_SAME)
		n = UINT64_MAX - lba;
	return n > 0 && lba < g_opts.refuse_lba + g_opts.refuse_count && g_opts.refuse_lba < lba + n;
}

static void refuse_write(storm_conn *c, storm_io *io)
{
	int rc = storm_conn_refuse(c, io, 0x07, 0x27, 0x00); /* DATA PROTECT, WRITE PROTECTED */
	const char *flow = storm_conn_user(c);
	uint32_t bs = storm_io_block_size(io);
	fprintf(stderr, "storm-relay: %s write %s lba %llu blocks %u (bytes %llu+%llu, block size %u)%s%s\n",
		rc ? "cannot refuse" : "refused", flow ? flow : "?", (unsigned long long)storm_io_lba(io),
		storm_io_blocks(io), (unsigned long long)(storm_io_lba(io) * bs),
		(unsigned long long)storm_io_blocks(io) * bs, bs, rc ? ": " : "", rc ? storm_strerror(rc) : "");
}

static int on_start(storm_relay *r, storm_conn *c, storm_io *io, void *user)
{
	(void)r;
	(void)user;
	if (g_opts.refuse_count && in_refused_range(io))
		refuse_write(c, io);
	return g_opts.events ? ev_start(io) : 0;
}

/* Reads every byte once, as a cheap hook that inspects all the data would (a
 * checksum, a scan).  Four independent sums of 8-byte words keep two loads
 * per cycle going (one sum would wait on its own adds), so the hook runs at
 * the speed of the cache the relay's recv() just filled.  The sum only keeps
 * the loads alive. */
static uint64_t touch(const uint8_t *data, size_t len)
{
	uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, w0, w1, w2, w3;
	size_t i = 0;
	for (; i + 32 <= len; i += 32) {
		memcpy(&w0, data + i, 8);
		memcpy(&w1, data + i + 8, 8);
		memcpy(&w2, data + i + 16, 8);
		memcpy(&w3, data + i + 24, 8);
		s0 += w0;
		s1 += w1;
		s2 += w2;
		s3 += w3;
	}
	for (; i < len; i++)
		s0 += data[i];
	return s0 + s1 + s2 + s3;
}

static int on_data(storm_relay *r, storm_conn *c, storm_io *io, storm_dir d, uint64_t off,
		   uint8_t *data, size_t len, void *user)
{
	(void)r;
	(void)c;
	(void)user;
	if (g_opts.touch)
		g_touched += touch(data, len);
	if (g_opts.events)
		ev_data(io, d, off, data, len);
	return 0;
}

static int on_done(storm_relay *r, storm_conn *c, storm_io *io, void *user)
{
	(void)r;
	(void)user;
	if (g_opts.events) {
		const char *flow = storm_conn_user(c);
		ev_done(flow ? flow : "?", now(), io);
		fflush(NULL);
	}
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	if (g_relay)
		storm_relay_stop(g_relay);
}

/* The numeric settings, applied together after the options are read. */
struct nums {
	uint64_t conns, buffer;
	uint64_t connect_ms, login_ms; /* at most a day */
	uint64_t ka[3];                /* keepalive idle, interval, count */
};

/* A count that must not be 0.  0 or -EINVAL. */
static int parse_positive(const char *arg, uint64_t *out)
{
	uint64_t v;
	if (tool_parse_u64(arg, SIZE_MAX, &v) || v == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "IDLE" or "IDLE,INTERVAL,COUNT", each at most 32767.  0 or -EINVAL. */
static int parse_keepalive(const char *arg, uint64_t ka[3])
{
	uint64_t v[3] = {0, STORM_RELAY_DEFAULT_KEEPALIVE_INTERVAL, STORM_RELAY_DEFAULT_KEEPALIVE_COUNT};
	int n = 0;
	for (const char *p = arg;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char field[16];
		if (n == 3 || len >= sizeof field)
			return -EINVAL;
		memcpy(field, p, len);
		field[len] = '\0';
		if (tool_parse_u64(field, 32767, &v[n++]))
			return -EINVAL;
		if (!comma)
			break;
		p = comma + 1;
	}
	if (n == 2)
		return -EINVAL;
	memcpy(ka, v, sizeof v);
	return 0;
}

static int apply(storm_relay_config *cfg, int c, const char *arg, struct nums *n)
{
	switch (c) {
	case 'l': return storm_relay_config_add_listen(cfg, arg);
	case 'u': return storm_relay_config_set_upstream(cfg, arg);
	case 't': storm_relay_config_set_transparent(cfg, true); return 0;
	case 'r': storm_relay_config_set_rewrite_discovery(cfg, true); return 0;
	case 'a': return storm_relay_config_allow_address(cfg, arg);
	case 'i': return storm_relay_config_allow_iqn(cfg, arg);
	case 'c': return parse_positive(arg, &n->conns);
	case 'b': return parse_positive(arg, &n->buffer);
	case 'C': return tool_parse_u64(arg, 86400000, &n->connect_ms) ? -EINVAL : 0;
	case 'L': return tool_parse_u64(arg, 86400000, &n->login_ms) ? -EINVAL : 0;
	case 'K': return parse_keepalive(arg, n->ka);
	default: return -EINVAL;
	}
}

/* "LBA+COUNT", COUNT > 0.  0 or -1. */
static int parse_range(const char *arg)
{
	char *end;
	errno = 0;
	unsigned long long lba = strtoull(arg, &end, 0);
	if (errno || end == arg || *end != '+')
		return -1;
	const char *n = end + 1;
	unsigned long long count = strtoull(n, &end, 0);
	if (errno || end == n || *end || count == 0 || lba + count < lba)
		return -1;
	g_opts.refuse_lba = lba;
	g_opts.refuse_count = count;
	return 0;
}

static int open_events(const char *path)
{
	if (strcmp(path, "-") == 0)
		return 0;
	FILE *f = fopen(path, "a");
	if (!f)
		return -errno;
	jl_set_output(f);
	return 0;
}

static storm_relay_callbacks *make_hooks(void)
{
	storm_relay_callbacks *cbs;
	if (storm_relay_callbacks_new(&cbs))
		return NULL;
	storm_relay_callbacks_set_open(cbs, on_open);
	storm_relay_callbacks_set_close(cbs, on_close);
	if (g_opts.refuse_count)
		storm_relay_callbacks_set_io_start(cbs, on_start);
	if (g_opts.events || g_opts.touch) {
		storm_relay_callbacks_set_io_start(cbs, on_start);
		storm_relay_callbacks_set_io_data(cbs, on_data);
		storm_relay_callbacks_set_io_done(cbs, on_done);
	}
	return cbs;
}

/* One line of what the relay did, at the end. */
static void summary(const storm_relay *r)
{
	storm_relay_stats st;
	storm_relay_stats_get(r, &st);
	fprintf(stderr,
		"storm-relay: %llu connections relayed (%llu closed, %llu timed out, %llu failed, "
		"%llu refused at login); refused at accept: %llu by address, %llu over the bound, "
		"%llu by the connection hook, %llu not set up; %llu commands refused; %llu bytes to the "
		"target, %llu to initiators\n",
		(unsigned long long)st.accepted, (unsigned long long)st.closed,
		(unsigned long long)st.timed_out, (unsigned long long)st.failed,
		(unsigned long long)st.refused_iqn, (unsigned long long)st.refused_address,
		(unsigned long long)st.refused_limit, (unsigned long long)st.refused_hook,
		(unsigned long long)st.setup_failed, (unsigned long long)st.commands_refused,
		(unsigned long long)st.bytes[STORM_I2T], (unsigned long long)st.bytes[STORM_T2I]);
}

static int serve(storm_relay_config *cfg)
{
	storm_relay_callbacks *cbs = make_hooks();
	if (!cbs)
		return 3;
	int rc = storm_relay_new(&g_relay, cfg, cbs, NULL);
	storm_relay_callbacks_del(cbs);
	if (rc) {
		fprintf(stderr, "storm-relay: cannot start: %s\n", storm_strerror(rc));
		return rc == -EINVAL ? 1 : 2;
	}
	char addr[80];
	for (unsigned i = 0; storm_relay_listen_address(g_relay, i, addr, sizeof addr) > 0; i++)
		fprintf(stderr, "storm-relay: listening on %s\n", addr);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = storm_relay_run(g_relay);
	summary(g_relay);
	storm_relay_del(g_relay);
	g_relay = NULL;
	fflush(NULL);
	if (rc)
		fprintf(stderr, "storm-relay: event loop failed: %s\n", storm_strerror(rc));
	return rc ? 3 : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"listen", required_argument, NULL, 'l'}, {"upstream", required_argument, NULL, 'u'},
		{"transparent", no_argument, NULL, 't'}, {"events", required_argument, NULL, 'e'},
		{"allow", required_argument, NULL, 'a'}, {"allow-iqn", required_argument, NULL, 'i'},
		{"max-conns", required_argument, NULL, 'c'}, {"buffer", required_argument, NULL, 'b'},
		{"rewrite-discovery", no_argument, NULL, 'r'}, {"touch", no_argument, NULL, 'T'}, {"quiet", no_argument, NULL, 'q'},
		{"refuse-writes", required_argument, NULL, 'W'},
		{"connect-timeout", required_argument, NULL, 'C'}, {"login-timeout", required_argument, NULL, 'L'},
		{"keepalive", required_argument, NULL, 'K'},
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	storm_relay_config *cfg;
	struct nums n = {STORM_RELAY_DEFAULT_CONNS, STORM_RELAY_DEFAULT_BUFFER, STORM_RELAY_DEFAULT_CONNECT_MS,
			 STORM_RELAY_DEFAULT_LOGIN_MS,
			 {STORM_RELAY_DEFAULT_KEEPALIVE_IDLE, STORM_RELAY_DEFAULT_KEEPALIVE_INTERVAL,
			  STORM_RELAY_DEFAULT_KEEPALIVE_COUNT}};
	const char *events = NULL;
	int c;
	if (storm_relay_config_new(&cfg))
		return 3;
	while ((c = getopt_long(argc, argv, "l:u:tre:a:i:c:b:qh", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		} else if (c == 'e') {
			events = optarg;
		} else if (c == 'T') {
			g_opts.touch = true;
		} else if (c == 'q') {
			g_opts.quiet = true;
		} else if (c == 'W') {
			if (parse_range(optarg)) {
				fprintf(stderr, "storm-relay: bad value for --refuse-writes: %s (LBA+COUNT)\n",
					optarg);
				return 1;
			}
		} else if (c == '?' || apply(cfg, c, optarg, &n)) {
			char flag[3] = {'-', (char)c, 0};
			const char *name = c == 'C' ? "--connect-timeout" : c == 'L' ? "--login-timeout" :
					   c == 'K' ? "--keepalive" : flag;
			if (c != '?')
				fprintf(stderr, "storm-relay: bad value for %s: %s\n", name, optarg);
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	storm_relay_config_set_limits(cfg, (size_t)n.conns, (size_t)n.buffer);
	storm_relay_config_set_timeouts(cfg, (unsigned)n.connect_ms, (unsigned)n.login_ms);
	storm_relay_config_set_keepalive(cfg, (unsigned)n.ka[0], (unsigned)n.ka[1], (unsigned)n.ka[2]);
	if (events) {
		int rc = open_events(events);
		if (rc) {
			fprintf(stderr, "storm-relay: %s: %s\n", events, storm_strerror(rc));
			return 1;
		}
		g_opts.events = true;
	}
	int status = serve(cfg);
	storm_relay_config_del(cfg);
	return status;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: TCP reassembly (storm_tcp).  The input is a sequence of
 * records (records.h) each holding one IPv4 or IPv6 packet; flags bit 4 asks
 * for a storm_tcp_flush() before the packet.  Small hold and flow bounds make
 * eviction and forced gaps reachable.  Each flow gets a malloc'd record at
 * open that its close callback frees, so LeakSanitizer sees a flow that is
 * never closed; data bytes are all touched. */
#include <errno.h>
#include <string.h>

#include <storm/tcp.h>

#include "drive.h"

#define FLOW_MAGIC 0x464c4f57u

struct flow_rec {
	uint32_t magic;
	uint64_t bytes[2];
	uint64_t lost[2];
};

static size_t g_open;

static struct flow_rec *rec_of(storm_flow *f)
{
	struct flow_rec *r = storm_flow_user(f);
	FUZZ_CHECK(r && r->magic == FLOW_MAGIC);
	return r;
}

static int on_open(storm_tcp *t, storm_flow *f, void *user)
{
	(void)t;
	(void)user;
	FUZZ_CHECK(storm_flow_user(f) == NULL);
	struct flow_rec *r = calloc(1, sizeof *r);
	if (!r)
		abort();
	r->magic = FLOW_MAGIC;
	storm_flow_set_user(f, r);
	g_open++;
	storm_endpoint c, s;
	storm_flow_endpoints(f, &c, &s);
	g_sink += c.port + s.port + c.addr[0] + s.addr[15];
	char buf[128];
	int n = storm_flow_format(f, buf, sizeof buf);
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof buf && strlen(buf) == (size_t)n);
	FUZZ_CHECK(storm_flow_format(f, buf, 4) == -ENOSPC);
	return 0;
}

static int on_data(storm_tcp *t, storm_flow *f, storm_dir d, const uint8_t *data, size_t len,
		   void *user)
{
	(void)user;
	FUZZ_CHECK((unsigned)d <= STORM_T2I && len > 0);
	rec_of(f)->bytes[d] += len;
	touch(data, len);
	g_sink += (uint32_t)storm_tcp_now(t);
	return 0;
}

static int on_gap(storm_tcp *t, storm_flow *f, storm_dir d, uint64_t len, void *user)
{
	(void)t;
	(void)user;
	FUZZ_CHECK((unsigned)d <= STORM_T2I && len > 0);
	rec_of(f)->lost[d] += len;
	return 0;
}

static void on_close(storm_tcp *t, storm_flow *f, storm_tcp_close why, void *user)
{
	(void)t;
	(void)user;
	FUZZ_CHECK(why <= STORM_TCP_FLUSHED);
	free(rec_of(f));
	storm_flow_set_user(f, NULL);
	FUZZ_CHECK(g_open > 0);
	g_open--;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static storm_tcp_callbacks *cbs;
	if (!cbs) {
		if (storm_tcp_callbacks_new(&cbs))
			abort();
		storm_tcp_callbacks_set_open(cbs, on_open);
		storm_tcp_callbacks_set_data(cbs, on_data);
		storm_tcp_callbacks_set_gap(cbs, on_gap);
		storm_tcp_callbacks_set_close(cbs, on_close);
	}
	storm_tcp *t;
	if (storm_tcp_new(&t, cbs, NULL))
		abort();
	storm_tcp_add_port(t, 3260);
	storm_tcp_add_port(t, 49241);
	storm_tcp_set_limits(t, 65536, 4);
	g_open = 0;
	struct record r;
	uint64_t ts = 1000000;
	while (record_next(&data, &size, &r)) {
		if (r.gap) {
			FUZZ_CHECK(storm_tcp_flush(t) == 0);
			FUZZ_CHECK(g_open == 0);
			continue;
		}
		ts += 1 + (r.flags >> REC_CHUNK_SHIFT);
		int rc = storm_tcp_packet(t, r.data, r.len, ts);
		FUZZ_CHECK(rc == 0 || rc == 1 || rc == STORM_ERR_FORMAT);
		FUZZ_CHECK(g_open <= 4);
	}
	FUZZ_CHECK(storm_tcp_flush(t) == 0);
	FUZZ_CHECK(g_open == 0);
	storm_tcp_del(t);
	return 0;
}

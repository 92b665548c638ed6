/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/tcp/flow.c: the 4-tuple table, its bound, LRU eviction and tombstones. */
#include <criterion/criterion.h>
#include <string.h>

#include "tcp/flow.h"
#include "tcp_testlib.h"

static struct tl_rec rec;
static storm_tcp *t;

static void setup(void)
{
	memset(&rec, 0, sizeof rec);
	t = tl_tcp_new(&rec);
}

static void teardown(void)
{
	storm_tcp_del(t);
	tl_rec_free(&rec);
}

TestSuite(flow, .init = setup, .fini = teardown);

static int send_from(uint16_t cport, uint32_t seq, uint8_t flags, const char *s)
{
	struct tl_conn cn = tl_v4(cport, 3260);
	return tl_send(t, &cn, STORM_I2T, seq, 0, flags, s, s ? strlen(s) : 0);
}

Test(flow, key_is_the_same_both_ways)
{
	uint8_t a[128], b[128];
	struct tl_conn cn = tl_v6(1234, 3260);
	struct tcp_pkt pa, pb;
	cr_assert_eq(tcp_pkt_parse(&pa, a, tl_pkt(a, &cn, STORM_I2T, 1, 0, 0, NULL, 0)), 1);
	cr_assert_eq(tcp_pkt_parse(&pb, b, tl_pkt(b, &cn, STORM_T2I, 1, 0, 0, NULL, 0)), 1);
	struct flow_key ka, kb;
	flow_key_of(&ka, &pa);
	flow_key_of(&kb, &pb);
	cr_assert_eq(memcmp(&ka, &kb, sizeof ka), 0);
	/* Another client port is another flow. */
	cn.cport = 1235;
	cr_assert_eq(tcp_pkt_parse(&pb, b, tl_pkt(b, &cn, STORM_I2T, 1, 0, 0, NULL, 0)), 1);
	flow_key_of(&kb, &pb);
	cr_assert_neq(memcmp(&ka, &kb, sizeof ka), 0);
}

Test(flow, table_add_find_retire_remove)
{
	struct flow_table ft = { 0 };
	uint8_t a[128];
	struct tl_conn cn = tl_v4(1, 3260);
	struct tcp_pkt p;
	cr_assert_eq(tcp_pkt_parse(&p, a, tl_pkt(a, &cn, STORM_T2I, 1, 0, 0, NULL, 0)), 1);
	storm_flow *f;
	cr_assert_eq(flow_add(&ft, &p, false, &f), 0);
	cr_assert_eq(flow_dir(f, &p), STORM_T2I);
	struct flow_key k;
	flow_key_of(&k, &p);
	cr_assert_eq(flow_find(&ft, &k), f);
	cr_assert_eq(flow_count(&ft), 1);
	flow_retire(&ft, f);
	cr_assert(f->closed);
	cr_assert_eq(ft.live.n, 0);
	cr_assert_eq(ft.dead.n, 1);
	cr_assert_eq(flow_find(&ft, &k), f);
	flow_remove(&ft, f);
	cr_assert_null(flow_find(&ft, &k));
	cr_assert_eq(flow_count(&ft), 0);
	flow_clear(&ft);
}

Test(flow, full_table_evicts_the_flow_idle_longest)
{
	storm_tcp_set_limits(t, 1000, 2);
	cr_assert_eq(send_from(1, 100, TL_SYN, NULL), 1);
	cr_assert_eq(send_from(2, 200, TL_SYN, NULL), 1);
	cr_assert_eq(send_from(1, 110, TL_ACK, "held"), 1); /* flow 1 seen last, data held */
	cr_assert_eq(send_from(3, 300, TL_SYN, NULL), 1);   /* evicts flow 2 */
	cr_assert_eq(send_from(4, 400, TL_SYN, NULL), 1);   /* evicts flow 1: held bytes first */
	cr_assert_str_eq(rec.log, "O1 O2 C2:EVICTED O3 G0:9 D0:4 C1:EVICTED O4 ");
	cr_assert_eq(storm_tcp_flush(t), 0);
	cr_assert_str_eq(rec.log, "O1 O2 C2:EVICTED O3 G0:9 D0:4 C1:EVICTED O4 C3:FLUSHED C4:FLUSHED ");
}

Test(flow, tombstones_go_first_and_silently)
{
	storm_tcp_set_limits(t, 1000, 2);
	cr_assert_eq(send_from(1, 100, TL_SYN, NULL), 1);
	cr_assert_eq(send_from(2, 200, TL_SYN, NULL), 1);
	cr_assert_eq(send_from(2, 201, TL_RST, NULL), 1); /* flow 2 becomes a tombstone */
	cr_assert_eq(send_from(1, 101, TL_ACK, "x"), 1);
	cr_assert_eq(send_from(3, 300, TL_SYN, NULL), 1); /* takes the tombstone's slot */
	cr_assert_str_eq(rec.log, "O1 O2 C2:RST D0:1 O3 ");
	/* Flow 2 is gone for good: a late packet opens it mid-stream. */
	cr_assert_eq(send_from(2, 201, TL_ACK, "y"), 1);
	cr_assert_str_eq(rec.log, "O1 O2 C2:RST D0:1 O3 C1:EVICTED O2 D0:1 ");
}

Test(flow, many_flows_and_a_bound_of_zero)
{
	storm_tcp_set_limits(t, 1000, 0); /* taken as 1 */
	for (uint16_t p = 1; p <= 50; p++)
		cr_assert_eq(send_from(p, p * 10u, TL_SYN, NULL), 1);
	cr_assert_eq(storm_tcp_flush(t), 0);
	cr_assert_eq(rec.gaps[0], 0);
	/* 50 opens and 50 closes. */
	unsigned opens = 0, closes = 0;
	for (const char *l = rec.log; *l; l++) {
		if (l != rec.log && l[-1] != ' ')
			continue;
		opens += *l == 'O';
		closes += *l == 'C';
	}
	cr_assert_eq(opens, 50);
	cr_assert_eq(closes, 50);
}

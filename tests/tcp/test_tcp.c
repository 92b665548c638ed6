/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/tcp/tcp.c and lib/tcp/conn.c through the public API: roles and ports,
 * SYN/FIN/RST, mid-stream flows, port reuse, gaps, flush, callback errors.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "tcp_testlib.h"

static struct tl_rec rec;
static storm_tcp *t;
static struct tl_conn cn;

static void setup(void)
{
	memset(&rec, 0, sizeof rec);
	t = tl_tcp_new(&rec);
	cn = tl_v4(40000, 3260);
}

static void teardown(void)
{
	storm_tcp_del(t);
	tl_rec_free(&rec);
}

TestSuite(tcp, .init = setup, .fini = teardown);

#define C STORM_I2T
#define S STORM_T2I

static int seg(storm_dir dir, uint32_t seq, uint32_t ack, uint8_t flags, const char *s)
{
	return tl_send(t, &cn, dir, seq, ack, flags, s, s ? strlen(s) : 0);
}

/* Client ISN 1000, server ISN 5000. */
static void handshake(void)
{
	cr_assert_eq(seg(C, 1000, 0, TL_SYN, NULL), 1);
	cr_assert_eq(seg(S, 5000, 1001, TL_SYN | TL_ACK, NULL), 1);
	cr_assert_eq(seg(C, 1001, 5001, TL_ACK, NULL), 1);
}

Test(tcp, full_connection_in_order)
{
	handshake();
	cr_assert_eq(seg(C, 1001, 5001, TL_ACK, "login"), 1);
	cr_assert_eq(seg(S, 5001, 1006, TL_ACK, "ok"), 1);
	cr_assert_eq(seg(C, 1006, 5003, TL_ACK | TL_FIN, "bye"), 1);
	cr_assert_str_eq(rec.log, "O40000 D0:5 D1:2 D0:3 ");
	cr_assert_eq(seg(S, 5003, 1010, TL_ACK | TL_FIN, NULL), 1);
	cr_assert_str_eq(rec.log, "O40000 D0:5 D1:2 D0:3 C40000:FIN ");
	cr_assert(tl_stream_is(&rec, C, "loginbye"));
	cr_assert(tl_stream_is(&rec, S, "ok"));
	cr_assert_str_eq(rec.name, "10.0.0.1:40000>10.0.0.2:3260");
	/* The last ACK trails the close: absorbed, no new flow. */
	cr_assert_eq(seg(C, 1010, 5004, TL_ACK, NULL), 1);
	cr_assert_eq(storm_tcp_flush(t), 0);
	cr_assert_str_eq(rec.log, "O40000 D0:5 D1:2 D0:3 C40000:FIN ");
}

Test(tcp, roles_come_from_the_server_port_not_the_first_packet)
{
	/* The first packet seen is the server's: still, the client is 10.0.0.1:40000. */
	cr_assert_eq(seg(S, 5001, 1001, TL_ACK, "hello"), 1);
	cr_assert_str_eq(rec.name, "10.0.0.1:40000>10.0.0.2:3260");
	cr_assert(tl_stream_is(&rec, S, "hello"));
}

Test(tcp, data_on_syn_is_delivered)
{
	cr_assert_eq(seg(C, 1000, 0, TL_SYN, "early"), 1);
	cr_assert_eq(seg(C, 1006, 0, TL_ACK, "more"), 1);
	cr_assert(tl_stream_is(&rec, C, "earlymore"));
}

Test(tcp, retransmitted_syn_is_harmless)
{
	handshake();
	cr_assert_eq(seg(C, 1001, 5001, TL_ACK, "abc"), 1);
	cr_assert_eq(seg(C, 1000, 0, TL_SYN, NULL), 1);
	cr_assert_eq(seg(C, 1004, 5001, TL_ACK, "def"), 1);
	cr_assert(tl_stream_is(&rec, C, "abcdef"));
	cr_assert_str_eq(rec.log, "O40000 D0:3 D0:3 ");
}

Test(tcp, mid_stream_flow_starts_at_first_segment)
{
	cr_assert_eq(seg(C, 777777, 1, TL_ACK, "middle"), 1);
	cr_assert_eq(seg(C, 777777 + 6, 1, TL_ACK, "end"), 1);
	cr_assert_eq(storm_tcp_flush(t), 0);
	cr_assert_str_eq(rec.log, "O40000 D0:6 D0:3 C40000:FLUSHED ");
	cr_assert(tl_stream_is(&rec, C, "middleend"));
}

Test(tcp, out_of_order_both_directions)
{
	handshake();
	cr_assert_eq(seg(C, 1004, 5001, TL_ACK, "def"), 1);
	cr_assert_eq(seg(S, 5003, 1001, TL_ACK, "34"), 1);
	cr_assert_eq(seg(C, 1001, 5001, TL_ACK, "abc"), 1);
	cr_assert_eq(seg(S, 5001, 1001, TL_ACK, "12"), 1);
	cr_assert(tl_stream_is(&rec, C, "abcdef"));
	cr_assert(tl_stream_is(&rec, S, "1234"));
	cr_assert_str_eq(rec.log, "O40000 D0:3 D0:3 D1:2 D1:2 ");
}

Test(tcp, fin_waits_for_the_hole_before_it)
{
	handshake();
	cr_assert_eq(seg(C, 1004, 5001, TL_ACK | TL_FIN, "def"), 1);
	cr_assert_eq(seg(S, 5001, 1001, TL_ACK | TL_FIN, NULL), 1);
	cr_assert_str_eq(rec.log, "O40000 ");
	cr_assert_eq(seg(C, 1001, 5001, TL_ACK, "abc"), 1);
	cr_assert_str_eq(rec.log, "O40000 D0:3 D0:3 C40000:FIN ");
}

Test(tcp, acked_fin_turns_the_hole_into_a_gap)
{
	handshake();
	cr_assert_eq(seg(C, 1001, 5001, TL_ACK, "ab"), 1);
	/* 1003..1009 never captured; FIN at 1013 after "wxyz". */
	cr_assert_eq(seg(C, 1010, 5001, TL_ACK | TL_FIN, "wxyz"), 1);
	cr_assert_str_eq(rec.log, "O40000 D0:2 ");
	/* The server acknowledges the FIN: it had every byte. */
	cr_assert_eq(seg(S, 5001, 1015, TL_ACK | TL_FIN, NULL), 1);
	cr_assert_str_eq(rec.log, "O40000 D0:2 G0:7 D0:4 C40000:FIN ");
	cr_assert_eq(rec.gaps[C], 7);
}

Test(tcp, data_past_the_fin_is_dropped)
{
	handshake();
	cr_assert_eq(seg(C, 1001, 5001, TL_ACK | TL_FIN, "abc"), 1);
	cr_assert_eq(seg(C, 1001, 5001, TL_ACK, "abcdefg"), 1);
	cr_assert(tl_stream_is(&rec, C, "abc"));
}

Test(tcp, rst_closes_after_in_order_data_only)
{
	handshake();
	cr_assert_eq(seg(C, 1001, 5001, TL_ACK, "abc"), 1);
	cr_assert_eq(seg(C, 1010, 5001, TL_ACK, "held"), 1);
	cr_assert_eq(seg(S, 5001, 1004, TL_RST | TL_ACK, NULL), 1);
	cr_assert_str_eq(rec.log, "O40000 D0:3 C40000:RST ");
	/* Retransmissions after the reset are absorbed. */
	cr_assert_eq(seg(C, 1004, 5001, TL_ACK, "def"), 1);
	cr_assert_eq(storm_tcp_flush(t), 0);
	cr_assert_str_eq(rec.log, "O40000 D0:3 C40000:RST ");
}

Test(tcp, rst_without_flow_opens_nothing)
{
	cr_assert_eq(seg(S, 5001, 1004, TL_RST | TL_ACK, NULL), 0);
	cr_assert_eq(storm_tcp_flush(t), 0);
	cr_assert_str_eq(rec.log, "");
}

Test(tcp, port_reuse_after_close)
{
	handshake();
	cr_assert_eq(seg(C, 1001, 5001, TL_ACK | TL_RST, NULL), 1);
	cr_assert_eq(seg(C, 90000, 0, TL_SYN, NULL), 1);
	cr_assert_eq(seg(C, 90001, 0, TL_ACK, "new"), 1);
	cr_assert_eq(storm_tcp_flush(t), 0);
	cr_assert_str_eq(rec.log, "O40000 C40000:RST O40000 D0:3 C40000:FLUSHED ");
}

Test(tcp, new_syn_replaces_a_flow_whose_end_was_not_seen)
{
	handshake();
	cr_assert_eq(seg(C, 1001, 5001, TL_ACK, "old"), 1);
	cr_assert_eq(seg(C, 1010, 5001, TL_ACK, "lost-before"), 1);
	cr_assert_eq(seg(C, 300000, 0, TL_SYN, NULL), 1);
	cr_assert_eq(seg(C, 300001, 0, TL_ACK, "new"), 1);
	cr_assert_str_eq(rec.log, "O40000 D0:3 G0:6 D0:11 C40000:EVICTED O40000 D0:3 ");
}

Test(tcp, flush_reports_gaps_then_closes)
{
	handshake();
	cr_assert_eq(seg(C, 1001, 5001, TL_ACK, "a"), 1);
	cr_assert_eq(seg(C, 1012, 5001, TL_ACK, "b"), 1);
	cr_assert_eq(seg(S, 5101, 1001, TL_ACK, "z"), 1);
	cr_assert_eq(storm_tcp_flush(t), 0);
	cr_assert_str_eq(rec.log, "O40000 D0:1 G0:10 D0:1 G1:100 D1:1 C40000:FLUSHED ");
	/* Flushing again has nothing left to do. */
	cr_assert_eq(storm_tcp_flush(t), 0);
	cr_assert_str_eq(rec.log, "O40000 D0:1 G0:10 D0:1 G1:100 D1:1 C40000:FLUSHED ");
}

Test(tcp, hold_bound_gap_through_the_api)
{
	storm_tcp_set_limits(t, 4, 10);
	handshake();
	cr_assert_eq(seg(C, 1011, 5001, TL_ACK, "KLMN"), 1);
	cr_assert_eq(seg(C, 1015, 5001, TL_ACK, "O"), 1);
	cr_assert_str_eq(rec.log, "O40000 G0:10 D0:4 D0:1 ");
}

Test(tcp, wrap_around_through_the_api)
{
	cr_assert_eq(seg(C, 0xfffffffdu, 0, TL_SYN, NULL), 1);
	cr_assert_eq(seg(C, 0x00000002u, 0, TL_ACK, "def"), 1);
	cr_assert_eq(seg(C, 0xfffffffeu, 0, TL_ACK, "abcd"), 1);
	cr_assert(tl_stream_is(&rec, C, "abcddef"));
}

Test(tcp, ipv6_flow)
{
	cn = tl_v6(50000, 3260);
	cr_assert_eq(seg(C, 1, 0, TL_SYN, NULL), 1);
	cr_assert_eq(seg(C, 2, 0, TL_ACK, "six"), 1);
	cr_assert(tl_stream_is(&rec, C, "six"));
	cr_assert_str_eq(rec.name, "[2001:db8::1]:50000>[2001:db8::2]:3260");
}

Test(tcp, untracked_non_tcp_and_malformed)
{
	cn = tl_v4(40000, 80);
	cr_assert_eq(seg(C, 1, 0, TL_SYN, NULL), 0);
	uint8_t buf[128];
	cn = tl_v4(40000, 3260);
	size_t n = tl_pkt(buf, &cn, C, 1, 0, TL_ACK, "x", 1);
	buf[9] = 17;
	cr_assert_eq(storm_tcp_packet(t, buf, n, 0), 0);
	buf[9] = 6;
	buf[0] = 0x43;
	cr_assert_eq(storm_tcp_packet(t, buf, n, 0), STORM_ERR_FORMAT);
	cr_assert_eq(storm_tcp_packet(t, buf, 10, 0), STORM_ERR_FORMAT);
	cr_assert_str_eq(rec.log, "");
}

Test(tcp, default_port_is_3260_until_ports_are_added)
{
	cn = tl_v4(40000, 860);
	cr_assert_eq(seg(C, 1, 0, TL_ACK, "a"), 0);
	cr_assert_eq(storm_tcp_add_port(t, 860), 0);
	cr_assert_eq(seg(C, 1, 0, TL_ACK, "a"), 1);
	cn = tl_v4(40000, 3260);
	cr_assert_eq(seg(C, 1, 0, TL_ACK, "a"), 0);
	cr_assert_eq(storm_tcp_add_port(t, 3260), 0);
	cr_assert_eq(seg(C, 1, 0, TL_ACK, "a"), 1);
}

Test(tcp, at_most_64_ports)
{
	for (uint16_t p = 1; p <= 64; p++)
		cr_assert_eq(storm_tcp_add_port(t, p), 0);
	cr_assert_eq(storm_tcp_add_port(t, 10), 0); /* already there */
	cr_assert_eq(storm_tcp_add_port(t, 65), -ENOSPC);
}

Test(tcp, both_ports_tracked_syn_decides)
{
	storm_tcp_add_port(t, 3260);
	storm_tcp_add_port(t, 3261);
	cn = tl_conn_make(AF_INET, "10.0.0.9", 3261, "10.0.0.8", 3260);
	cr_assert_eq(seg(C, 1, 0, TL_SYN, NULL), 1);
	cr_assert_str_eq(rec.name, "10.0.0.9:3261>10.0.0.8:3260");
	/* A SYN-ACK first: its sender is the server. */
	cn = tl_conn_make(AF_INET, "10.0.0.7", 3260, "10.0.0.6", 3261);
	cr_assert_eq(seg(S, 1, 0, TL_SYN | TL_ACK, NULL), 1);
	cr_assert_str_eq(rec.name, "10.0.0.7:3260>10.0.0.6:3261");
}

Test(tcp, both_ports_tracked_no_syn_lower_port_serves)
{
	storm_tcp_add_port(t, 3260);
	storm_tcp_add_port(t, 5000);
	cn = tl_conn_make(AF_INET, "10.0.0.1", 3260, "10.0.0.2", 5000);
	cr_assert_eq(seg(C, 1, 0, TL_ACK, "x"), 1);
	cr_assert_str_eq(rec.name, "10.0.0.2:5000>10.0.0.1:3260");
	cr_assert(tl_stream_is(&rec, S, "x"));
}

Test(tcp, callback_errors_are_returned)
{
	rec.fail_data = -77;
	handshake();
	cr_assert_eq(seg(C, 1001, 5001, TL_ACK, "abc"), -77);
	rec.fail_data = 0;
	rec.fail_open = -5;
	cn = tl_v4(40001, 3260);
	cr_assert_eq(seg(C, 1, 0, TL_SYN, NULL), -5);
}

Test(tcp, now_user_and_flow_user)
{
	uint8_t buf[128];
	size_t n = tl_pkt(buf, &cn, C, 1, 0, TL_ACK, "x", 1);
	cr_assert_eq(storm_tcp_packet(t, buf, n, 123456789), 1);
	cr_assert_eq(rec.last_now, 123456789);
	cr_assert_eq(storm_tcp_now(t), 123456789);
	cr_assert_eq(storm_tcp_user(t), &rec);
}

static int set_user_on_open(storm_tcp *tt, storm_flow *f, void *user)
{
	(void)tt;
	cr_assert_null(storm_flow_user(f));
	storm_flow_set_user(f, user);
	return 0;
}

static void *seen_at_close;

static void user_at_close(storm_tcp *tt, storm_flow *f, storm_tcp_close why, void *user)
{
	(void)tt;
	(void)user;
	(void)why;
	seen_at_close = storm_flow_user(f);
}

Test(tcp, flow_user_lives_until_close)
{
	storm_tcp_callbacks *cbs;
	storm_tcp *t2;
	int token;
	cr_assert_eq(storm_tcp_callbacks_new(&cbs), 0);
	storm_tcp_callbacks_set_open(cbs, set_user_on_open);
	storm_tcp_callbacks_set_close(cbs, user_at_close);
	cr_assert_eq(storm_tcp_new(&t2, cbs, &token), 0);
	storm_tcp_callbacks_del(cbs);
	cr_assert_eq(tl_send(t2, &cn, C, 1, 0, TL_SYN, NULL, 0), 1);
	cr_assert_eq(storm_tcp_flush(t2), 0);
	cr_assert_eq(seen_at_close, &token);
	storm_tcp_del(t2);
}

Test(tcp, no_callbacks_at_all)
{
	storm_tcp *t2;
	cr_assert_eq(storm_tcp_new(&t2, NULL, NULL), 0);
	cr_assert_eq(tl_send(t2, &cn, C, 1, 0, TL_SYN, NULL, 0), 1);
	cr_assert_eq(tl_send(t2, &cn, C, 5, 0, TL_ACK, "x", 1), 1);
	cr_assert_eq(storm_tcp_flush(t2), 0);
	storm_tcp_del(t2);
	storm_tcp_del(NULL);
	storm_tcp_callbacks_del(NULL);
}

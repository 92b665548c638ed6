/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/tcp/format.c: storm_flow_format() and storm_flow_endpoints(). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "tcp_testlib.h"

static storm_flow *opened;

static int keep(storm_tcp *t, storm_flow *f, void *user)
{
	(void)t;
	(void)user;
	opened = f;
	return 0;
}

static storm_tcp *open_one(const struct tl_conn *cn, storm_dir first)
{
	storm_tcp_callbacks *cbs;
	storm_tcp *t;
	cr_assert_eq(storm_tcp_callbacks_new(&cbs), 0);
	storm_tcp_callbacks_set_open(cbs, keep);
	cr_assert_eq(storm_tcp_new(&t, cbs, NULL), 0);
	storm_tcp_callbacks_del(cbs);
	opened = NULL;
	cr_assert_eq(tl_send(t, cn, first, 1, 0, TL_ACK, "x", 1), 1);
	cr_assert_not_null(opened);
	return t;
}

Test(format, ipv4_client_first)
{
	struct tl_conn cn = tl_conn_make(AF_INET, "192.168.100.200", 65535, "10.1.2.3", 3260);
	storm_tcp *t = open_one(&cn, STORM_T2I);
	char buf[64];
	cr_assert_eq(storm_flow_format(opened, buf, sizeof buf), 35);
	cr_assert_str_eq(buf, "192.168.100.200:65535>10.1.2.3:3260");
	char exact[32];
	cr_assert_eq(storm_flow_format(opened, exact, sizeof exact), -ENOSPC);
	char fits[36];
	cr_assert_eq(storm_flow_format(opened, fits, sizeof fits), 35);
	cr_assert_eq(storm_flow_format(opened, NULL, 0), -ENOSPC);
	storm_tcp_del(t);
}

Test(format, ipv6_in_brackets)
{
	struct tl_conn cn = tl_conn_make(AF_INET6, "fe80::1", 1024, "2001:db8:0:0:1::5", 3260);
	storm_tcp *t = open_one(&cn, STORM_I2T);
	char buf[128];
	int n = storm_flow_format(opened, buf, sizeof buf);
	cr_assert_str_eq(buf, "[fe80::1]:1024>[2001:db8::1:0:0:5]:3260");
	cr_assert_eq(n, (int)strlen(buf));
	storm_tcp_del(t);
}

Test(format, endpoints)
{
	struct tl_conn cn = tl_v6(7000, 3260);
	storm_tcp *t = open_one(&cn, STORM_T2I);
	storm_endpoint c, s;
	storm_flow_endpoints(opened, &c, &s);
	cr_assert_eq(c.family, AF_INET6);
	cr_assert_eq(c.port, 7000);
	cr_assert_eq(memcmp(c.addr, cn.caddr, 16), 0);
	cr_assert_eq(s.port, 3260);
	cr_assert_eq(memcmp(s.addr, cn.saddr, 16), 0);
	storm_flow_endpoints(opened, NULL, &s);
	storm_flow_endpoints(opened, &c, NULL);
	storm_tcp_del(t);
}

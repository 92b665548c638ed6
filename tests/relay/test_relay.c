/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The active relay on loopback: a fake target (a plain listening socket of
 * the test), client sockets, and the relay driven by storm_relay_service()
 * from the test's own loop, so that every step is deterministic and bounded
 * in time.  Covers byte transparency and the hooks, half-close, resets,
 * back-pressure within the configured bound, malformed streams, the address
 * and IQN filters, an unreachable upstream, the open hook's veto, and
 * storm_relay_stop() from another thread. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "relay/relay_int.h"
#include "util/bytes.h"
#include "util/iscsi_build.h"

#define IQN_GOOD "iqn.2024-01.test:good"
#define SEG (256u * 1024) /* data segment of the big PDUs */

/* ---- what the hooks saw ------------------------------------------------ */

struct seen {
	int opens, closes;
	int refuse;               /* the open hook's answer */
	int last_err;             /* err of the last close hook */
	int errs[8];              /* err of each close, in order */
	uint64_t bytes_at_close[2];
	storm_conn *conn;         /* the newest open connection */
	unsigned pdus[2];
	unsigned ops[2][64];
	unsigned starts, dones;
	uint64_t data_bytes[2];
	uint32_t data_crc[2];
	uint64_t next_off[2];
	bool offsets_ok;
	bool hold_next;           /* the next io_start hook holds its command */
	uint8_t xor_key;          /* io_data rewrites the data with this key */
};

static int h_open(storm_relay *r, storm_conn *c, void *user)
{
	struct seen *s = user;
	cr_assert_eq(storm_relay_user(r), user);
	s->opens++;
	s->conn = c;
	storm_conn_set_user(c, s);
	return s->refuse;
}

static void h_close(storm_relay *r, storm_conn *c, int err, void *user)
{
	(void)r;
	struct seen *s = user;
	if (s->closes < 8)
		s->errs[s->closes] = err;
	s->closes++;
	s->last_err = err;
	s->bytes_at_close[0] = storm_conn_bytes(c, STORM_I2T);
	s->bytes_at_close[1] = storm_conn_bytes(c, STORM_T2I);
	if (s->conn == c)
		s->conn = NULL;
}

static int h_pdu(storm_relay *r, storm_conn *c, storm_dir d, const storm_pdu *pdu, void *user)
{
	(void)r;
	struct seen *s = user;
	cr_assert_eq(storm_conn_user(c), s);
	s->pdus[d]++;
	s->ops[d][storm_pdu_bhs(pdu)[0] & 0x3f]++;
	return 0;
}

static int h_start(storm_relay *r, storm_conn *c, storm_io *io, void *user)
{
	(void)r;
	(void)c;
	(void)io;
	struct seen *s = user;
	s->starts++;
	s->next_off[0] = s->next_off[1] = 0;
	if (s->hold_next) {
		s->hold_next = false;
		return STORM_PAUSE;
	}
	return 0;
}

static int h_data(storm_relay *r, storm_conn *c, storm_io *io, storm_dir d, uint64_t off,
		  uint8_t *data, size_t len, void *user)
{
	(void)r;
	(void)c;
	(void)io;
	struct seen *s = user;
	if (off != s->next_off[d])
		s->offsets_ok = false;
	s->next_off[d] = off + len;
	s->data_bytes[d] += len;
	s->data_crc[d] = storm_crc32c(s->data_crc[d], data, len);
	for (size_t i = 0; s->xor_key && i < len; i++)
		data[i] ^= s->xor_key;
	return 0;
}

static int h_done(storm_relay *r, storm_conn *c, storm_io *io, void *user)
{
	(void)r;
	(void)c;
	(void)io;
	((struct seen *)user)->dones++;
	return 0;
}

/* ---- fixture ----------------------------------------------------------- */

static struct fx {
	storm_relay *r;
	int tlfd;                 /* the fake target's listener */
	char target[64];          /* its address */
	char relay[64];           /* the relay's listener */
	struct seen s;
} fx;

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* A port where nothing listens: bound once, then closed. */
static void dead_port(char *addr, size_t len)
{
	int fd = tu_listener(addr, len, 0);
	close(fd);
}

static int g_filler[2] = {-1, -1};

/* Makes listener @p fd drop every further SYN: no accept queue, and the one
 * connection it still takes is taken by a filler socket. */
static void blackhole(int fd, const char *addr)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	sa.sin_port = htons((uint16_t)atoi(strrchr(addr, ':') + 1));
	cr_assert_eq(listen(fd, 0), 0);
	for (int i = 0; i < 2; i++) {
		g_filler[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		cr_assert_geq(g_filler[i], 0);
		connect(g_filler[i], (struct sockaddr *)&sa, sizeof sa);
	}
	usleep(50 * 1000);
}

struct fx_opts {
	const char *allow_addr;
	const char *allow_iqn;
	size_t max_buffered;
	size_t max_conns;
	bool unreachable;
	bool blackhole;           /* the target's listener drops SYNs (accept queue full) */
	int target_rcvbuf;
	unsigned connect_ms, login_ms; /* deadlines, when either is set */
};

static void fx_start(const struct fx_opts *o)
{
	memset(&fx, 0, sizeof fx);
	fx.s.offsets_ok = true;
	fx.tlfd = -1;
	if (o && o->unreachable)
		dead_port(fx.target, sizeof fx.target);
	else
		fx.tlfd = tu_listener(fx.target, sizeof fx.target, o ? o->target_rcvbuf : 0);
	if (o && o->blackhole)
		blackhole(fx.tlfd, fx.target);

	storm_relay_config *cfg;
	storm_relay_callbacks *cbs;
	cr_assert_eq(storm_relay_config_new(&cfg), 0);
	cr_assert_eq(storm_relay_config_add_listen(cfg, "127.0.0.1:0"), 0);
	cr_assert_eq(storm_relay_config_set_upstream(cfg, fx.target), 0);
	if (o && o->allow_addr)
		cr_assert_eq(storm_relay_config_allow_address(cfg, o->allow_addr), 0);
	if (o && o->allow_iqn)
		cr_assert_eq(storm_relay_config_allow_iqn(cfg, o->allow_iqn), 0);
	if (o && (o->max_buffered || o->max_conns))
		storm_relay_config_set_limits(cfg, o->max_conns ? o->max_conns : 8,
					      o->max_buffered ? o->max_buffered : STORM_RELAY_DEFAULT_BUFFER);
	if (o && (o->connect_ms || o->login_ms))
		storm_relay_config_set_timeouts(cfg, o->connect_ms, o->login_ms);
	cr_assert_eq(storm_relay_callbacks_new(&cbs), 0);
	storm_relay_callbacks_set_open(cbs, h_open);
	storm_relay_callbacks_set_close(cbs, h_close);
	storm_relay_callbacks_set_pdu(cbs, h_pdu);
	storm_relay_callbacks_set_io_start(cbs, h_start);
	storm_relay_callbacks_set_io_data(cbs, h_data);
	storm_relay_callbacks_set_io_done(cbs, h_done);
	int rc = storm_relay_new(&fx.r, cfg, cbs, &fx.s);
	storm_relay_config_del(cfg);
	storm_relay_callbacks_del(cbs);
	cr_assert_eq(rc, 0, "storm_relay_new: %s", storm_strerror(rc));
	cr_assert_gt(storm_relay_listen_address(fx.r, 0, fx.relay, sizeof fx.relay), 0);
	cr_assert_eq(storm_relay_listen_address(fx.r, 1, fx.relay, 1), -ENOENT);
	cr_assert_geq(storm_relay_fd(fx.r), 0);
}

static void fx_stop(void)
{
	storm_relay_del(fx.r);
	fx.r = NULL;
	for (int i = 0; i < 2; i++) {
		if (g_filler[i] >= 0)
			close(g_filler[i]);
		g_filler[i] = -1;
	}
	if (fx.tlfd >= 0)
		close(fx.tlfd);
}

/* One short round of the relay's work. */
static void pump(void)
{
	cr_assert_eq(storm_relay_service(fx.r, 1), 0);
}

static void pump_for(double ms)
{
	double end = tu_now_ms() + ms;
	while (tu_now_ms() < end)
		pump();
}

/* Services the relay until @p done(arg) or @p ms pass; returns done's last value. */
static bool pump_until(bool (*done)(void *), void *arg, double ms)
{
	double end = tu_now_ms() + ms;
	while (!done(arg)) {
		if (tu_now_ms() > end)
			return false;
		pump();
	}
	return true;
}

static bool no_conns(void *arg)
{
	(void)arg;
	return storm_relay_connections(fx.r) == 0;
}

static storm_relay_stats stats(void)
{
	storm_relay_stats st;
	storm_relay_stats_get(fx.r, &st);
	return st;
}

static bool one_conn(void *arg)
{
	(void)arg;
	return storm_relay_connections(fx.r) == 1;
}

/* A non-blocking client connected to the relay. */
static int client(int sndbuf)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	sa.sin_port = htons((uint16_t)atoi(strrchr(fx.relay, ':') + 1));
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	if (sndbuf)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	/* Loopback: the kernel completes the handshake from the backlog. */
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0, "connect: %s", strerror(errno));
	set_nonblock(fd);
	return fd;
}

/* The relay's connection to the fake target, accepted within @p ms, or -1. */
static int accept_target(double ms)
{
	double end = tu_now_ms() + ms;
	for (;;) {
		int fd = accept4(fx.tlfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
		cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "accept: %s", strerror(errno));
		if (tu_now_ms() > end)
			return -1;
		pump();
	}
}

/* An initiator connected through the running relay, and the target's side
 * of the relayed connection. */
static void link_up(int *cfd, int *tfd)
{
	*cfd = client(0);
	*tfd = accept_target(2000);
	cr_assert_geq(*tfd, 0, "the relay did not connect upstream");
}

/* A relay with default options and one connection through it (link_up). */
static void connected(int *cfd, int *tfd)
{
	fx_start(NULL);
	link_up(cfd, tfd);
}

/* Sends @p len bytes on @p src and reads them on @p dst, servicing the relay
 * in between; the bytes read must be the bytes sent. */
static void transfer(int src, int dst, const uint8_t *data, size_t len)
{
	uint8_t *got = malloc(len ? len : 1);
	size_t sent = 0, recvd = 0;
	double end = tu_now_ms() + 10000;
	while (recvd < len) {
		cr_assert_lt(tu_now_ms(), end, "transfer stalled: %zu/%zu sent, %zu received", sent, len, recvd);
		if (sent < len) {
			ssize_t n = send(src, data + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0)
				sent += (size_t)n;
			else
				cr_assert(errno == EAGAIN, "send: %s", strerror(errno));
		}
		pump();
		ssize_t n = recv(dst, got + recvd, len - recvd, MSG_DONTWAIT);
		if (n > 0)
			recvd += (size_t)n;
		else
			cr_assert(n < 0 && errno == EAGAIN, "recv: %s", n == 0 ? "EOF" : strerror(errno));
	}
	cr_assert(memcmp(got, data, len) == 0, "bytes changed on the way");
	free(got);
}

/* Waits for the end of @p fd's input: 0 for EOF, -errno for an error,
 * 1 if data arrived instead, -ETIMEDOUT. */
static int wait_end(int fd, double ms)
{
	double end = tu_now_ms() + ms;
	for (;;) {
		uint8_t b[4096];
		ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
		if (n == 0)
			return 0;
		if (n > 0)
			return 1;
		if (errno != EAGAIN)
			return -errno;
		if (tu_now_ms() > end)
			return -ETIMEDOUT;
		pump();
	}
}

static void assert_closed(int fd, const char *who)
{
	int rc = wait_end(fd, 2000);
	cr_assert(rc == 0 || rc == -ECONNRESET, "%s: expected EOF or reset, got %d (%s)", who, rc,
		  rc < 0 ? strerror(-rc) : "data");
}

/* ---- iSCSI streams ----------------------------------------------------- */

static const char *const login_i[] = {"InitiatorName=" IQN_GOOD, "TargetName=iqn.2024-01.test:t",
				      "MaxRecvDataSegmentLength=262144"};
static const char *const login_t[] = {"MaxRecvDataSegmentLength=262144", "InitialR2T=Yes",
				      "ImmediateData=No"};

/* The Login pair of a script, as separate byte strings. */
static void login_pair(tu_buf *req, tu_buf *resp, const char *initiator)
{
	const char *const li[] = {initiator, login_i[1], login_i[2]};
	tb_script s = {0};
	tb_login(&s, li, 3, login_t, 3);
	cr_assert_eq(s.n, 2);
	*req = s.seg[0];
	*resp = s.seg[1];
}

/* Logs in through the relay: each half checked byte for byte. */
static void login(int cfd, int tfd)
{
	tu_buf req, resp;
	login_pair(&req, &resp, login_i[0]);
	transfer(cfd, tfd, req.data, req.len);
	transfer(tfd, cfd, resp.data, resp.len);
	tu_buf_free(&req);
	tu_buf_free(&resp);
}

static void nop(tu_buf *b, unsigned opcode, uint32_t itt, uint32_t sn, const uint8_t *d, size_t len)
{
	tb_pdu p;
	tb_init(&p, opcode, 0x80, itt);
	tb_u32(&p, 20, 0xffffffff);
	tb_u32(&p, 24, sn);
	tb_data(&p, d, len);
	tb_emit(b, &p, false, false);
}

static void ping(int cfd, int tfd, uint32_t itt)
{
	uint8_t ping_data[100];
	memset(ping_data, (int)itt, sizeof ping_data);
	tu_buf out = {0}, in = {0};
	nop(&out, STORM_OP_NOP_OUT, itt, itt, ping_data, sizeof ping_data);
	nop(&in, STORM_OP_NOP_IN, itt, itt, ping_data, sizeof ping_data);
	transfer(cfd, tfd, out.data, out.len);
	transfer(tfd, cfd, in.data, in.len);
	tu_buf_free(&out);
	tu_buf_free(&in);
}

static uint8_t *pattern(size_t len, unsigned seed)
{
	uint8_t *p = malloc(len);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 131 + (i >> 11) * 7 + seed);
	return p;
}

static void scsi_cmd(tu_buf *b, uint32_t itt, unsigned rw, uint8_t op, uint32_t lba, uint32_t blocks)
{
	tb_pdu p;
	tb_init(&p, STORM_OP_SCSI_CMD, 0x80 | rw, itt);
	tb_lun(&p, 1);
	tb_u32(&p, 20, blocks * 512);
	tb_u32(&p, 24, itt); /* CmdSN */
	uint8_t *c = p.bhs + 32;
	c[0] = op;
	put_be32(c + 2, lba);
	put_be16(c + 7, (uint16_t)blocks);
	tb_emit(b, &p, false, false);
}

static void data_pdu(tu_buf *b, unsigned opcode, unsigned flags, uint32_t itt, uint32_t ttt,
		     uint32_t datasn, uint32_t off, const uint8_t *d, size_t len)
{
	tb_pdu p;
	tb_init(&p, opcode, flags, itt);
	tb_lun(&p, 1);
	tb_u32(&p, 20, ttt);
	tb_u32(&p, 36, datasn);
	tb_u32(&p, 40, off);
	tb_data(&p, d, len);
	tb_emit(b, &p, false, false);
}

static void r2t(tu_buf *b, uint32_t itt, uint32_t ttt, uint32_t n, uint32_t off, uint32_t len)
{
	tb_pdu p;
	tb_init(&p, STORM_OP_R2T, 0x80, itt);
	tb_lun(&p, 1);
	tb_u32(&p, 20, ttt);
	tb_u32(&p, 36, n);
	tb_u32(&p, 40, off);
	tb_u32(&p, 44, len);
	tb_emit(b, &p, false, false);
}

static void scsi_resp(tu_buf *b, uint32_t itt)
{
	tb_pdu p;
	tb_init(&p, STORM_OP_SCSI_RESP, 0x80, itt);
	tb_emit(b, &p, false, false);
}

/* ---- tests ------------------------------------------------------------- */

TestSuite(relay, .fini = fx_stop, .timeout = 60);

/* Login, NOPs, a 1 MiB WRITE through R2T/Data-Out and a 1 MiB READ in
 * Data-In: every byte unchanged both ways, and the hooks counted right. */
Test(relay, bytes_pass_both_ways)
{
	fx_start(NULL);
	int cfd, tfd;
	link_up(&cfd, &tfd);
	pump_for(20);
	cr_assert_eq(fx.s.opens, 1);
	cr_assert_eq(storm_relay_connections(fx.r), 1);
	cr_assert_not_null(fx.s.conn);

	char flow[128];
	cr_assert_gt(storm_conn_format(fx.s.conn, flow, sizeof flow), 0);
	cr_assert(strncmp(flow, "127.0.0.1:", 10) == 0 && strstr(flow, fx.target), "%s", flow);
	storm_endpoint ini, tgt;
	storm_conn_endpoints(fx.s.conn, &ini, &tgt);
	cr_assert_eq(tgt.port, (unsigned)atoi(strrchr(fx.target, ':') + 1));
	cr_assert_null(storm_conn_initiator_iqn(fx.s.conn));

	login(cfd, tfd);
	cr_assert_str_eq(storm_conn_initiator_iqn(fx.s.conn), IQN_GOOD);
	cr_assert_str_eq(storm_conn_target_iqn(fx.s.conn), "iqn.2024-01.test:t");
	for (uint32_t i = 1; i <= 3; i++)
		ping(cfd, tfd, i);

	/* WRITE 10 of 1 MiB: four R2Ts, each answered by one Data-Out. */
	const size_t total = 4 * SEG;
	uint8_t *wdata = pattern(total, 1), *rdata = pattern(total, 2);
	tu_buf b = {0};
	scsi_cmd(&b, 10, 0x20, 0x2a, 100, (uint32_t)(total / 512));
	transfer(cfd, tfd, b.data, b.len);
	b.len = 0;
	for (uint32_t i = 0; i < 4; i++)
		r2t(&b, 10, 0x100 + i, i, i * SEG, SEG);
	transfer(tfd, cfd, b.data, b.len);
	b.len = 0;
	for (uint32_t i = 0; i < 4; i++)
		data_pdu(&b, STORM_OP_DATA_OUT, 0x80, 10, 0x100 + i, 0, i * SEG, wdata + i * SEG, SEG);
	transfer(cfd, tfd, b.data, b.len);
	b.len = 0;
	scsi_resp(&b, 10);
	transfer(tfd, cfd, b.data, b.len);
	b.len = 0;

	/* READ 10 of 1 MiB in four Data-In, status in the last. */
	scsi_cmd(&b, 11, 0x40, 0x28, 100, (uint32_t)(total / 512));
	transfer(cfd, tfd, b.data, b.len);
	b.len = 0;
	for (uint32_t i = 0; i < 4; i++)
		data_pdu(&b, STORM_OP_DATA_IN, i == 3 ? 0x81 : 0, 11, 0xffffffff, i, i * SEG,
			 rdata + i * SEG, SEG);
	transfer(tfd, cfd, b.data, b.len);
	tu_buf_free(&b);

	cr_assert_eq(fx.s.pdus[STORM_I2T], 1 + 3 + 2 + 4, "I2T PDUs: %u", fx.s.pdus[STORM_I2T]);
	cr_assert_eq(fx.s.pdus[STORM_T2I], 1 + 3 + 4 + 1 + 4, "T2I PDUs: %u", fx.s.pdus[STORM_T2I]);
	cr_assert_eq(fx.s.ops[STORM_I2T][STORM_OP_LOGIN_REQ], 1);
	cr_assert_eq(fx.s.ops[STORM_I2T][STORM_OP_NOP_OUT], 3);
	cr_assert_eq(fx.s.ops[STORM_I2T][STORM_OP_DATA_OUT], 4);
	cr_assert_eq(fx.s.ops[STORM_T2I][STORM_OP_R2T], 4);
	cr_assert_eq(fx.s.ops[STORM_T2I][STORM_OP_DATA_IN], 4);
	cr_assert_eq(fx.s.starts, 2);
	cr_assert_eq(fx.s.dones, 2);
	cr_assert(fx.s.offsets_ok, "data hook offsets out of order");
	cr_assert_eq(fx.s.data_bytes[STORM_I2T], total);
	cr_assert_eq(fx.s.data_bytes[STORM_T2I], total);
	cr_assert_eq(fx.s.data_crc[STORM_I2T], storm_crc32c(0, wdata, total));
	cr_assert_eq(fx.s.data_crc[STORM_T2I], storm_crc32c(0, rdata, total));
	uint64_t i2t = storm_conn_bytes(fx.s.conn, STORM_I2T);
	uint64_t t2i = storm_conn_bytes(fx.s.conn, STORM_T2I);
	cr_assert_gt(i2t, total);
	cr_assert_gt(t2i, total);
	cr_assert_eq(storm_conn_bytes(fx.s.conn, (storm_dir)7), 0);
	free(wdata);
	free(rdata);

	/* An orderly close from the initiator, then from the target. */
	close(cfd);
	cr_assert_eq(wait_end(tfd, 2000), 0, "the target should see EOF");
	close(tfd);
	cr_assert(pump_until(no_conns, NULL, 2000));
	cr_assert_eq(fx.s.closes, 1);
	cr_assert_eq(fx.s.last_err, 0, "orderly close reported %s", storm_strerror(fx.s.last_err));
	cr_assert_eq(fx.s.bytes_at_close[0], i2t);
	cr_assert_eq(fx.s.bytes_at_close[1], t2i);
}

/* shutdown(SHUT_WR) from the initiator reaches the target as EOF; the target
 * can still answer; its close then ends the connection, orderly. */
Test(relay, half_close)
{
	int cfd, tfd;

	connected(&cfd, &tfd);
	login(cfd, tfd);
	cr_assert_eq(shutdown(cfd, SHUT_WR), 0);
	cr_assert_eq(wait_end(tfd, 2000), 0, "the target should see EOF");
	cr_assert_eq(storm_relay_connections(fx.r), 1, "a half-closed connection stays");
	uint8_t *d = pattern(3 * SEG, 3);
	tu_buf in = {0};
	for (uint32_t i = 0; i < 3; i++)
		nop(&in, STORM_OP_NOP_IN, 0xffffffff, i, d + i * SEG, SEG);
	transfer(tfd, cfd, in.data, in.len);
	tu_buf_free(&in);
	free(d);
	cr_assert_eq(shutdown(tfd, SHUT_WR), 0);
	cr_assert_eq(wait_end(cfd, 2000), 0, "the initiator should see EOF");
	cr_assert(pump_until(no_conns, NULL, 2000));
	cr_assert_eq(fx.s.closes, 1);
	cr_assert_eq(fx.s.last_err, 0, "%s", storm_strerror(fx.s.last_err));
	storm_relay_stats st = stats();
	cr_expect(st.accepted == 1 && st.closed == 1 && st.failed == 0);
	cr_expect_gt(st.bytes[STORM_T2I], 3ull * SEG, "%llu bytes to the initiator",
		     (unsigned long long)st.bytes[STORM_T2I]);
	close(cfd);
	close(tfd);
}

static void linger0_close(int fd)
{
	struct linger lg = {1, 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
}

/* A target that resets: the initiator sees the reset (or EOF) at once. */
Test(relay, target_reset_passed_on)
{
	int cfd, tfd;

	connected(&cfd, &tfd);
	login(cfd, tfd);
	ping(cfd, tfd, 1);
	linger0_close(tfd);
	double t0 = tu_now_ms();
	assert_closed(cfd, "initiator");
	cr_assert_lt(tu_now_ms() - t0, 1000);
	cr_assert(pump_until(no_conns, NULL, 1000));
	cr_assert_eq(fx.s.closes, 1);
	cr_assert_eq(fx.s.last_err, -ECONNRESET, "%s", storm_strerror(fx.s.last_err));
	close(cfd);
}

/* An initiator that resets: the target sees it too. */
Test(relay, initiator_reset_passed_on)
{
	int cfd, tfd;

	connected(&cfd, &tfd);
	login(cfd, tfd);
	linger0_close(cfd);
	assert_closed(tfd, "target");
	cr_assert(pump_until(no_conns, NULL, 1000));
	cr_assert_neq(fx.s.last_err, 0);
	close(tfd);
}

/* A reset after a half-close (the direction already at EOF) must still end
 * the connection: epoll reports the error with no readable data. */
Test(relay, reset_after_half_close)
{
	int cfd, tfd;

	connected(&cfd, &tfd);
	login(cfd, tfd);
	cr_assert_eq(shutdown(cfd, SHUT_WR), 0);
	cr_assert_eq(wait_end(tfd, 2000), 0);
	linger0_close(cfd);
	cr_assert(pump_until(no_conns, NULL, 1000), "the relay kept a reset connection");
	assert_closed(tfd, "target");
	close(tfd);
}

/* The back-pressure stream: NOP-Outs with 256 KiB of position-dependent data. */
#define BP_PDU (48 + SEG)
static void bp_bytes(uint64_t off, uint8_t *out, size_t len)
{
	while (len > 0) {
		uint64_t k = off / BP_PDU, in = off % BP_PDU;
		uint8_t hdr[48];
		size_t n = BP_PDU - in < len ? (size_t)(BP_PDU - in) : len;
		if (in < 48) {
			tb_pdu p;
			tb_init(&p, 0x40 | STORM_OP_NOP_OUT, 0x80, 0xffffffff);
			tb_u32(&p, 20, 0xffffffff);
			tb_u32(&p, 24, (uint32_t)k);
			memcpy(hdr, p.bhs, 48);
			hdr[4] = 0;
			put_be24(hdr + 5, SEG);
			size_t h = 48 - in < n ? (size_t)(48 - in) : n;
			memcpy(out, hdr + in, h);
			out += h, off += h, len -= h, n -= h;
			in = 48;
		}
		for (size_t i = 0; i < n; i++)
			out[i] = (uint8_t)((in - 48 + i) * 7 + k * 31 + ((in - 48 + i) >> 9));
		out += n, off += n, len -= n;
	}
}

/* A target that stops reading: the initiator's sends block while the relay
 * holds at most its 64 KiB bound; once the target reads again, every byte
 * arrives, in order. */
Test(relay, back_pressure, .timeout = 120)
{
	struct fx_opts o = {.max_buffered = 65536, .target_rcvbuf = 65536};
	fx_start(&o);
	int cfd = client(65536);
	int tfd = accept_target(2000);
	cr_assert_geq(tfd, 0);
	login(cfd, tfd);
	storm_conn *c = fx.s.conn;
	const uint64_t base = storm_conn_bytes(c, STORM_I2T);
	cr_assert_eq(c->buf[STORM_I2T].cap, 65536);
	cr_assert_eq(c->buf[STORM_T2I].cap, 65536);

	/* Send until nothing more goes for 300 ms (the relay serviced meanwhile). */
	const uint64_t max = 256ull * BP_PDU; /* 64 MiB: more than any socket buffers */
	uint8_t chunk[65536];
	uint64_t sent = 0;
	double idle_since = tu_now_ms();
	while (tu_now_ms() - idle_since < 300) {
		cr_assert_lt(sent, max, "sends never blocked: the relay buffers without bound");
		size_t n = sizeof chunk < max - sent ? sizeof chunk : (size_t)(max - sent);
		bp_bytes(sent, chunk, n);
		ssize_t k = send(cfd, chunk, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k > 0) {
			sent += (uint64_t)k;
			idle_since = tu_now_ms();
		} else {
			cr_assert(errno == EAGAIN, "send: %s", strerror(errno));
		}
		pump();
		size_t held = c->buf[STORM_I2T].tail - c->buf[STORM_I2T].head;
		cr_assert_leq(held, 65536);
	}
	ssize_t k = send(cfd, chunk, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	cr_assert(k < 0 && errno == EAGAIN, "the initiator's send should block");
	size_t held = c->buf[STORM_I2T].tail - c->buf[STORM_I2T].head;
	uint64_t forwarded = storm_conn_bytes(c, STORM_I2T);
	cr_log_info("blocked after %llu bytes sent: %llu forwarded, %zu held by the relay",
		    (unsigned long long)sent, (unsigned long long)forwarded, held);
	cr_assert_leq(held, 65536);
	cr_assert_lt(forwarded, base + sent);
	cr_assert_eq(storm_relay_connections(fx.r), 1, "a slow target is not an error");

	/* The target reads everything; the initiator sends four PDUs more meanwhile. */
	const uint64_t total = (sent / BP_PDU + 4) * BP_PDU;
	uint64_t got = 0;
	uint8_t rbuf[65536], want[65536];
	double end = tu_now_ms() + 60000;
	while (got < total) {
		cr_assert_lt(tu_now_ms(), end, "stalled: %llu of %llu read", (unsigned long long)got,
			     (unsigned long long)total);
		if (sent < total) {
			size_t n = sizeof chunk < total - sent ? sizeof chunk : (size_t)(total - sent);
			bp_bytes(sent, chunk, n);
			k = send(cfd, chunk, n, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (k > 0)
				sent += (uint64_t)k;
		}
		pump();
		cr_assert_leq(c->buf[STORM_I2T].tail - c->buf[STORM_I2T].head, 65536);
		ssize_t n = recv(tfd, rbuf, sizeof rbuf, MSG_DONTWAIT);
		if (n > 0) {
			bp_bytes(got, want, (size_t)n);
			cr_assert(memcmp(rbuf, want, (size_t)n) == 0, "bytes differ after offset %llu",
				  (unsigned long long)got);
			got += (uint64_t)n;
		} else {
			cr_assert(n < 0 && errno == EAGAIN, "target recv: %s", n ? strerror(errno) : "EOF");
		}
	}
	cr_assert_eq(fx.s.ops[STORM_I2T][STORM_OP_NOP_OUT], total / BP_PDU);
	cr_assert_eq(storm_conn_bytes(c, STORM_I2T), base + total);
	close(cfd);
	close(tfd);
	cr_assert(pump_until(no_conns, NULL, 2000));
}

/* Garbage (a reserved opcode) on one connection closes that one only. */
Test(relay, malformed_stream_closes_only_its_connection)
{
	fx_start(NULL);
	int bad, tbad, good, tgood;
	link_up(&bad, &tbad);
	link_up(&good, &tgood);
	login(bad, tbad);
	login(good, tgood);
	cr_assert_eq(storm_relay_connections(fx.r), 2);

	uint8_t junk[48 + 16] = {0x0f, 0x80}; /* RFC 7143 §11.1.1: 0x07-0x0f are reserved */
	memset(junk + 48, 0xee, 16);
	put_be24(junk + 5, 16);
	cr_assert_eq(send(bad, junk, sizeof junk, MSG_NOSIGNAL), (ssize_t)sizeof junk);
	assert_closed(bad, "initiator of the bad stream");
	int rc = wait_end(tbad, 2000);
	cr_assert(rc == 0 || rc == -ECONNRESET, "the target must not receive the garbage (%d)", rc);
	cr_assert_eq(storm_relay_connections(fx.r), 1);
	cr_assert_eq(fx.s.closes, 1);
	cr_assert_eq(fx.s.last_err, STORM_ERR_OPCODE, "%s", storm_strerror(fx.s.last_err));
	cr_expect(stats().failed == 1 && stats().accepted == 2);

	for (uint32_t i = 1; i <= 3; i++)
		ping(good, tgood, i);
	cr_assert_eq(storm_relay_connections(fx.r), 1);
	close(bad);
	close(tbad);
	close(good);
	close(tgood);
	cr_assert(pump_until(no_conns, NULL, 2000));
}

/* Only 10.0.0.0/8 allowed: the loopback initiator is refused at accept. */
Test(relay, address_not_allowed)
{
	struct fx_opts o = {.allow_addr = "10.0.0.0/8"};
	fx_start(&o);
	int cfd = client(0);
	assert_closed(cfd, "refused initiator");
	cr_assert_eq(accept_target(200), -1, "a refused initiator must not reach the target");
	cr_assert_eq(fx.s.opens, 0);
	cr_assert_eq(storm_relay_connections(fx.r), 0);
	storm_relay_stats st = stats();
	cr_expect(st.refused_address == 1 && st.accepted == 0, "%llu refused, %llu accepted",
		  (unsigned long long)st.refused_address, (unsigned long long)st.accepted);
	close(cfd);
}

/* The allowed prefix: the same relay accepts 127.0.0.0/8. */
Test(relay, address_allowed)
{
	struct fx_opts o = {.allow_addr = "127.0.0.0/8"};
	fx_start(&o);
	int cfd, tfd;
	link_up(&cfd, &tfd);
	login(cfd, tfd);
	close(cfd);
	close(tfd);
}

/* A Login with another InitiatorName closes the connection before the
 * target receives a byte; the allowed name passes. */
Test(relay, iqn_not_allowed)
{
	struct fx_opts o = {.allow_iqn = IQN_GOOD};
	fx_start(&o);
	int cfd, tfd;
	link_up(&cfd, &tfd);
	tu_buf req, resp;
	login_pair(&req, &resp, "InitiatorName=iqn.2024-01.test:intruder");
	cr_assert_eq(send(cfd, req.data, req.len, MSG_NOSIGNAL), (ssize_t)req.len);
	tu_buf_free(&req);
	tu_buf_free(&resp);
	assert_closed(cfd, "refused initiator");
	int rc = wait_end(tfd, 2000);
	cr_assert(rc == 0 || rc == -ECONNRESET, "the target received bytes of a refused login (%d)", rc);
	cr_assert(pump_until(no_conns, NULL, 1000));
	cr_assert_neq(fx.s.last_err, 0);
	close(cfd);
	close(tfd);

	link_up(&cfd, &tfd);
	login(cfd, tfd);
	ping(cfd, tfd, 1);
	cr_assert_eq(storm_relay_connections(fx.r), 1);
	storm_relay_stats st = stats();
	cr_expect(st.accepted == 2 && st.refused_iqn == 1 && st.failed == 0, "%llu accepted, %llu refused",
		  (unsigned long long)st.accepted, (unsigned long long)st.refused_iqn);
	close(cfd);
	close(tfd);
}

/* Nothing listens upstream: the initiator's connection is closed. */
Test(relay, upstream_unreachable)
{
	struct fx_opts o = {.unreachable = true};
	fx_start(&o);
	int cfd = client(0);
	assert_closed(cfd, "initiator");
	cr_assert(pump_until(no_conns, NULL, 1000));
	cr_assert_eq(fx.s.last_err, -ECONNREFUSED, "%s", storm_strerror(fx.s.last_err));
	storm_relay_stats st = stats();
	cr_expect(st.accepted == 1 && st.failed == 1 && st.timed_out == 0);
	close(cfd);
}

/* A target that never accepts: the relay gives up after the connect
 * deadline and closes the initiator, instead of the kernel's two minutes of
 * SYN retries with a slot held. */
Test(relay, connect_deadline)
{
	struct fx_opts o = {.blackhole = true, .connect_ms = 300, .login_ms = 5000};
	fx_start(&o);
	int cfd = client(0);
	double t0 = tu_now_ms();
	cr_assert(pump_until(one_conn, NULL, 2000), "the relay did not accept");
	cr_assert(pump_until(no_conns, NULL, 3000), "still %zu connections", storm_relay_connections(fx.r));
	double took = tu_now_ms() - t0;
	cr_expect(took >= 250 && took < 1500, "closed after %.0f ms", took);
	cr_assert_eq(fx.s.last_err, -ETIMEDOUT, "%s", storm_strerror(fx.s.last_err));
	cr_expect_eq(stats().timed_out, 1);
	assert_closed(cfd, "initiator");
	close(cfd);
}

/* A peer that connects and never logs in is closed at the login deadline,
 * on both sides; a connection that logged in has no deadline. */
Test(relay, login_deadline)
{
	struct fx_opts o = {.connect_ms = 1000, .login_ms = 300};
	fx_start(&o);
	int idle, idle_t, cfd, tfd;
	link_up(&idle, &idle_t);
	link_up(&cfd, &tfd);
	login(cfd, tfd);
	double t0 = tu_now_ms();
	pump_for(1200);
	cr_assert_eq(storm_relay_connections(fx.r), 1, "%zu connections after %.0f ms",
		     storm_relay_connections(fx.r), tu_now_ms() - t0);
	cr_assert_eq(fx.s.last_err, -ETIMEDOUT, "%s", storm_strerror(fx.s.last_err));
	assert_closed(idle, "idle initiator");
	assert_closed(idle_t, "idle target side");
	ping(cfd, tfd, 7); /* the logged-in one goes on */
	storm_relay_stats st = stats();
	cr_expect(st.accepted == 2 && st.timed_out == 1 && st.closed + st.failed == 0);
	close(idle);
	close(idle_t);
	close(cfd);
	close(tfd);
}

/* Past the connection bound a new initiator is closed at accept; the one
 * relayed goes on, and its slot is free again once it ends. */
Test(relay, connection_limit)
{
	struct fx_opts o = {.max_conns = 1};
	fx_start(&o);
	int cfd, tfd;
	link_up(&cfd, &tfd);
	login(cfd, tfd);
	int over = client(0);
	assert_closed(over, "initiator past the bound");
	close(over);
	ping(cfd, tfd, 3);
	close(cfd);
	close(tfd);
	cr_assert(pump_until(no_conns, NULL, 2000));
	int again, tagain;
	link_up(&again, &tagain); /* the slot is free again */
	storm_relay_stats st = stats();
	cr_expect(st.refused_limit == 1 && st.accepted == 2, "%llu refused, %llu accepted",
		  (unsigned long long)st.refused_limit, (unsigned long long)st.accepted);
	close(again);
	close(tagain);
}

/* The open hook's nonzero answer refuses the connection. */
Test(relay, open_hook_refuses)
{
	fx_start(NULL);
	fx.s.refuse = 1;
	int cfd = client(0);
	assert_closed(cfd, "refused initiator");
	cr_assert_eq(fx.s.opens, 1);
	cr_assert_eq(storm_relay_connections(fx.r), 0);
	storm_relay_stats st = stats();
	cr_expect(st.refused_hook == 1 && st.accepted == 0 && st.closed + st.failed == 0);
	int tfd = accept_target(200);
	if (tfd >= 0) { /* the upstream connect may have been started: no byte may pass */
		int rc = wait_end(tfd, 1000);
		cr_assert(rc == 0 || rc == -ECONNRESET, "%d", rc);
		close(tfd);
	}
	close(cfd);
}

static void *run_thread(void *arg)
{
	return (void *)(intptr_t)storm_relay_run(arg);
}

/* storm_relay_stop() from another thread makes storm_relay_run() return,
 * with a connection open; a second run/stop works too. */
Test(relay, stop_from_another_thread)
{
	fx_start(NULL);
	int cfd = client(0);
	for (int round = 0; round < 2; round++) {
		pthread_t th;
		cr_assert_eq(pthread_create(&th, NULL, run_thread, fx.r), 0);
		usleep(50000);
		storm_relay_stop(fx.r);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 5;
		void *ret;
		cr_assert_eq(pthread_timedjoin_np(th, &ret, &ts), 0, "storm_relay_run did not return");
		cr_assert_eq((intptr_t)ret, 0);
	}
	cr_assert_eq(storm_relay_connections(fx.r), 1);
	close(cfd);
}

/* Configuration errors are values. */
Test(relay, config_errors)
{
	storm_relay_config *cfg;
	storm_relay *r = (storm_relay *)1;
	cr_assert_eq(storm_relay_config_new(&cfg), 0);
	cr_assert_eq(storm_relay_new(&r, cfg, NULL, NULL), -EINVAL);
	cr_assert_null(r);
	cr_assert_eq(storm_relay_config_add_listen(cfg, "127.0.0.1"), -EINVAL);
	cr_assert_eq(storm_relay_config_add_listen(cfg, "127.0.0.1:70000"), -EINVAL);
	cr_assert_eq(storm_relay_config_add_listen(cfg, "[::1]:0"), 0);
	cr_assert_eq(storm_relay_config_allow_address(cfg, "10.0.0.0/33"), -EINVAL);
	cr_assert_eq(storm_relay_config_allow_address(cfg, "nonsense"), -EINVAL);
	cr_assert_eq(storm_relay_config_allow_iqn(cfg, ""), -EINVAL);
	cr_assert_eq(storm_relay_config_set_mode(cfg, STORM_RELAY_PASSIVE), -ENOTSUP);
	cr_assert_eq(storm_relay_new(&r, cfg, NULL, NULL), -EINVAL, "no upstream");
	storm_relay_config_del(cfg);
	storm_relay_config_del(NULL);
	storm_relay_callbacks_del(NULL);
	storm_relay_del(NULL);
}

static bool relay_fd_quiet(int ms)
{
	struct pollfd p = {.fd = storm_relay_fd(fx.r), .events = POLLIN};
	return poll(&p, 1, ms) == 0;
}

/* Both ends half-closed while bytes still wait for a slow target: the relay
 * has nothing to do until the target reads, so its fd must stay quiet (no
 * busy loop on a hung-up side); then the bytes and the closes go through. */
Test(relay, quiet_while_draining_to_slow_target)
{
	struct fx_opts o = {.max_buffered = 65536, .target_rcvbuf = 65536};
	fx_start(&o);
	int cfd = client(65536);
	int tfd = accept_target(2000);
	cr_assert_geq(tfd, 0);
	login(cfd, tfd);
	/* A small fixed send buffer toward the target and a large receive
	 * buffer from the initiator: the initiator's bytes and FIN all reach
	 * the relay's socket, while the relay's own buffer fills up. */
	storm_conn *c = fx.s.conn;
	int small = 32768, large = 2 << 20;
	setsockopt(c->fd[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
	setsockopt(c->fd[0], SOL_SOCKET, SO_RCVBUF, &large, sizeof large);
	const uint64_t sent = 3 * BP_PDU;
	uint8_t *stream = malloc(sent);
	bp_bytes(0, stream, sent);
	uint64_t off = 0;
	double end = tu_now_ms() + 5000;
	while (off < sent) { /* no pump: the relay's kernel socket takes it all */
		cr_assert_lt(tu_now_ms(), end, "could not queue %llu bytes", (unsigned long long)sent);
		ssize_t k = send(cfd, stream + off, sent - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k > 0)
			off += (uint64_t)k;
		else
			usleep(1000);
	}
	free(stream);
	cr_assert_eq(shutdown(cfd, SHUT_WR), 0);
	for (;;) {
		cr_assert_lt(tu_now_ms(), end, "the initiator's FIN did not reach the relay's socket");
		struct pollfd p = {.fd = c->fd[0], .events = POLLRDHUP};
		if (poll(&p, 1, 10) == 1 && (p.revents & POLLRDHUP))
			break;
	}
	pump_for(100);
	size_t held = c->buf[STORM_I2T].tail - c->buf[STORM_I2T].head;
	cr_assert_eq(held, 65536, "the relay should be full: %zu held, eof %d", held, c->eof[STORM_I2T]);
	cr_assert(!c->eof[STORM_I2T]);
	cr_assert_eq(shutdown(tfd, SHUT_WR), 0);
	assert_closed(cfd, "initiator after the target's FIN");
	pump_for(50);
	int busy = 0;
	for (int i = 0; i < 5; i++) {
		if (!relay_fd_quiet(20))
			busy++;
		pump();
	}
	cr_assert_lt(busy, 2, "the relay's fd stays ready with nothing to do (busy loop)");
	/* Drain: every byte, in order; then the connection ends orderly. */
	uint64_t got = 0;
	uint8_t rbuf[65536], want[65536];
	end = tu_now_ms() + 20000;
	for (;;) {
		cr_assert_lt(tu_now_ms(), end);
		pump();
		ssize_t n = recv(tfd, rbuf, sizeof rbuf, MSG_DONTWAIT);
		if (n == 0)
			break;
		if (n < 0) {
			cr_assert_eq(errno, EAGAIN, "%s", strerror(errno));
			continue;
		}
		bp_bytes(got, want, (size_t)n);
		cr_assert(memcmp(rbuf, want, (size_t)n) == 0);
		got += (uint64_t)n;
	}
	cr_assert_eq(got, sent);
	cr_assert(pump_until(no_conns, NULL, 2000));
	cr_assert_eq(fx.s.last_err, 0, "%s", storm_strerror(fx.s.last_err));
	close(cfd);
	close(tfd);
}

/* Receives up to @p want bytes within @p ms, servicing the relay meanwhile. */
static size_t recv_upto(int fd, uint8_t *buf, size_t want, double ms)
{
	size_t have = 0;
	double end = tu_now_ms() + ms;
	while (have < want && tu_now_ms() < end) {
		pump();
		ssize_t n = recv(fd, buf + have, want - have, MSG_DONTWAIT);
		if (n > 0)
			have += (size_t)n;
	}
	return have;
}

/* An io_start hook holds a WRITE: neither it nor what follows reaches the
 * target until storm_conn_release(); then everything arrives, in order. */
Test(relay, hold_and_release)
{
	int cfd, tfd;

	connected(&cfd, &tfd);
	login(cfd, tfd);
	tu_buf out = {0};
	scsi_cmd(&out, 40, 0x20, 0x2a, 100, 8);
	uint8_t d[100] = {0};
	nop(&out, STORM_OP_NOP_OUT, 41, 41, d, sizeof d);
	fx.s.hold_next = true;
	cr_assert_eq(send(cfd, out.data, out.len, MSG_NOSIGNAL), (ssize_t)out.len);
	pump_for(200);
	uint8_t got[512];
	cr_assert_eq(recv(tfd, got, sizeof got, MSG_DONTWAIT), -1, "held bytes reached the target");
	cr_assert_eq(errno, EAGAIN);
	cr_assert_eq(fx.s.starts, 1);
	cr_assert_eq(fx.s.ops[0][STORM_OP_NOP_OUT], 0, "parsing waits for the release");
	cr_assert_not_null(fx.s.conn);
	cr_assert_eq(storm_conn_release(fx.s.conn), 0);
	size_t have = recv_upto(tfd, got, out.len, 2000);
	cr_assert_eq(have, out.len, "released bytes: %zu of %zu", have, out.len);
	cr_assert(memcmp(got, out.data, out.len) == 0);
	cr_assert_eq(fx.s.ops[0][STORM_OP_NOP_OUT], 1);
	cr_assert_eq(storm_conn_release(fx.s.conn), -EINVAL, "nothing held any more");
	ping(cfd, tfd, 42);
	tu_buf_free(&out);
	close(cfd);
	close(tfd);
}

/* A Data-Out of @p n bytes, rewritten by the hook (XOR @p key) on a
 * connection with data digests, as the initiator sends it and as the target
 * must receive it: the rewritten bytes with a digest right for them. */
struct rewrite_case {
	int cfd, tfd;
	uint8_t *plain;
	tu_buf out, want;
};

static void rewrite_setup(struct rewrite_case *rc, uint8_t key, size_t n, unsigned seed,
			  uint32_t itt)
{
	connected(&rc->cfd, &rc->tfd);
	static const char *const li[] = {"InitiatorName=" IQN_GOOD, "DataDigest=CRC32C"};
	static const char *const lt[] = {"DataDigest=CRC32C", "MaxRecvDataSegmentLength=262144"};
	tb_script ls = {0};
	tb_login(&ls, li, 2, lt, 2);
	transfer(rc->cfd, rc->tfd, ls.seg[0].data, ls.seg[0].len);
	transfer(rc->tfd, rc->cfd, ls.seg[1].data, ls.seg[1].len);
	tb_script_free(&ls);
	fx.s.xor_key = key;
	rc->plain = pattern(n, seed);
	uint8_t *cipher = malloc(n);
	cr_assert(cipher);
	for (size_t i = 0; i < n; i++)
		cipher[i] = rc->plain[i] ^ key;
	rc->out = (tu_buf){0};
	rc->want = (tu_buf){0};
	scsi_cmd(&rc->out, itt, 0x20, 0x2a, 0, 2);
	scsi_cmd(&rc->want, itt, 0x20, 0x2a, 0, 2);
	tb_pdu p;
	tb_init(&p, STORM_OP_DATA_OUT, 0x80, itt);
	tb_lun(&p, 1);
	tb_data(&p, rc->plain, n);
	tb_emit(&rc->out, &p, false, true);
	tb_data(&p, cipher, n);
	tb_emit(&rc->want, &p, false, true);
	free(cipher);
}

static void rewrite_teardown(struct rewrite_case *rc)
{
	free(rc->plain);
	tu_buf_free(&rc->out);
	tu_buf_free(&rc->want);
	close(rc->cfd);
	close(rc->tfd);
}

/* A hook rewrites Data-Out in place (a toy cipher) on a connection with data
 * digests: the target receives the rewritten bytes with a digest that is
 * right for them, padding included. */
Test(relay, rewrite_in_place_with_data_digest)
{
	enum { N = 1001 };
	struct rewrite_case rc;
	uint8_t got[2048];

	rewrite_setup(&rc, 0x5a, N, 3, 50);
	cr_assert_eq(send(rc.cfd, rc.out.data, rc.out.len, MSG_NOSIGNAL), (ssize_t)rc.out.len);
	cr_assert_eq(recv_upto(rc.tfd, got, rc.want.len, 2000), rc.want.len);
	cr_assert(memcmp(got, rc.want.data, rc.want.len) == 0, "rewritten data or its digest is wrong");
	cr_assert_eq(fx.s.data_bytes[0], N);
	cr_assert_eq(fx.s.data_crc[0], storm_crc32c(0, rc.plain, N), "hooks saw the initiator's bytes");
	rewrite_teardown(&rc);
}

/* The same with the Data-Out's digest arriving in two pieces: its first
 * bytes must not leave before the relay rewrote it (lib/relay/guard.c). */
Test(relay, rewrite_with_data_digest_split_trailer)
{
	struct rewrite_case rc;
	uint8_t got[2048];

	rewrite_setup(&rc, 0x3c, 998, 4, 51);
	size_t cut = rc.out.len - 2; /* inside the digest */
	cr_assert_eq(send(rc.cfd, rc.out.data, cut, MSG_NOSIGNAL), (ssize_t)cut);
	size_t have = recv_upto(rc.tfd, got, rc.want.len, 300);
	cr_assert_eq(have, cut - 4, "%zu bytes passed: the trailer must wait for its end", have);
	cr_assert_eq(send(rc.cfd, rc.out.data + cut, rc.out.len - cut, MSG_NOSIGNAL),
		     (ssize_t)(rc.out.len - cut));
	have += recv_upto(rc.tfd, got + have, rc.want.len - have, 2000);
	cr_assert_eq(have, rc.want.len);
	cr_assert(memcmp(got, rc.want.data, rc.want.len) == 0, "rewritten data or its digest is wrong");
	rewrite_teardown(&rc);
}

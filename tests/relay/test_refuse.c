/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* storm_conn_refuse() through the active relay on loopback (lib/relay/refuse.c).
 *
 * A scripted initiator and a scripted target, plain sockets of the test, talk
 * through the relay; its io_start hook refuses chosen commands.  The
 * simulation pipelines commands within the window the initiator was given,
 * sends both directions in random pieces (headers cut anywhere), answers
 * reads with Data-In (status in it or apart), writes with R2T when the
 * initiator's data is not all unsolicited, NOP-Outs with NOP-Ins, and sends
 * unsolicited NOP-Ins now and then.  It checks:
 *  - the target receives exactly the initiator's PDUs less the refused ones
 *    (their immediate and unsolicited data included), byte for byte but for
 *    CmdSN and ExpStatSN, which are the target's own numbers: contiguous
 *    CmdSNs, always within the window the target announced;
 *  - the initiator receives every target PDU unchanged but for StatSN (plus
 *    the responses injected before it), ExpCmdSN and MaxCmdSN, and one CHECK
 *    CONDITION per refused command with the StatSN it expects there, the
 *    command's ITT, DATA PROTECT / WRITE PROTECTED sense and the whole
 *    transfer as residual; its StatSNs contiguous, its window never past the
 *    target's and whole again at the end;
 *  - digests right on both sides; io_done once per task, 0x02 and the sense
 *    for refused ones; no io_data for refused data; bounded refusal points.
 * Then: a refusal while the target is in the middle of a PDU, the
 * initiator's buffer full when a response must go in, partial headers held,
 * a refused task's tag reused and aborted, a connection joining a session,
 * and misuse.  STORM_TEST_SEED=N varies the simulations' interleavings. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "relay/refuse.h"
#include "util/bytes.h"
#include "util/iscsi_build.h"

#define MAXT 8192
#define ITT_NONE 0xffffffffu

/* ---- the relay and what its hooks saw ------------------------------------ */

static struct rx {
	storm_relay *r;
	int tlfd;
	char target[64], relay[64];
	storm_conn *conn;
	bool refuse[MAXT];        /* ITTs the io_start hook refuses */
	int refuse_rc;            /* what storm_conn_refuse() must return */
	uint16_t login_tsih;      /* TSIH of the Login: not 0 joins a session */
	bool refused[MAXT];       /* storm_conn_refuse() returned 0 */
	unsigned starts, dones, nrefused;
	unsigned done_count[MAXT];
	uint8_t status[MAXT];
	storm_io_end end[MAXT];
	uint8_t sense[MAXT][3];
	int64_t residual[MAXT];
	uint64_t data[MAXT];      /* io_data bytes per task */
	unsigned misuse_checked;
	int closes, close_err;
} rx;

static int h_open(storm_relay *r, storm_conn *c, void *u)
{
	(void)r;
	(void)u;
	rx.conn = c;
	return 0;
}

static void h_close(storm_relay *r, storm_conn *c, int err, void *u)
{
	(void)r;
	(void)u;
	rx.closes++;
	rx.close_err = err;
	if (rx.conn == c)
		rx.conn = NULL;
}

static int h_pdu(storm_relay *r, storm_conn *c, storm_dir d, const storm_pdu *pdu, void *u)
{
	(void)r;
	(void)d;
	(void)pdu;
	(void)u;
	/* Only from io_start: anywhere else the answer is -EINVAL. */
	cr_assert_eq(storm_conn_refuse(c, NULL, 7, 0x27, 0), -EINVAL);
	return 0;
}

static int h_start(storm_relay *r, storm_conn *c, storm_io *io, void *u)
{
	(void)r;
	(void)u;
	uint32_t itt = storm_io_itt(io);
	cr_assert_lt(itt, MAXT);
	rx.starts++;
	if (!rx.refuse[itt])
		return 0;
	int rc = storm_conn_refuse(c, io, 0x07, 0x27, 0x00);
	cr_assert_eq(rc, rx.refuse_rc, "storm_conn_refuse: %d", rc);
	if (rc)
		return 0;
	cr_assert_eq(storm_conn_refuse(c, io, 0x07, 0x27, 0x00), -EINVAL, "refused twice");
	rx.refused[itt] = true;
	rx.nrefused++;
	return STORM_PAUSE; /* ignored after a refusal: nothing is held */
}

static int h_data(storm_relay *r, storm_conn *c, storm_io *io, storm_dir d, uint64_t off,
		  uint8_t *data, size_t len, void *u)
{
	(void)r;
	(void)c;
	(void)d;
	(void)off;
	(void)data;
	(void)u;
	rx.data[storm_io_itt(io)] += len;
	return 0;
}

static int h_done(storm_relay *r, storm_conn *c, storm_io *io, void *u)
{
	(void)r;
	(void)u;
	uint32_t itt = storm_io_itt(io);
	rx.dones++;
	rx.done_count[itt]++;
	rx.status[itt] = storm_io_status(io);
	rx.end[itt] = storm_io_end_reason(io);
	rx.residual[itt] = storm_io_residual(io);
	size_t len;
	const uint8_t *sense = storm_io_sense(io, &len);
	if (sense && len >= 14) {
		rx.sense[itt][0] = sense[2] & 0x0f;
		rx.sense[itt][1] = sense[12];
		rx.sense[itt][2] = sense[13];
	}
	if (c && rx.misuse_checked++ < 4)
		cr_assert_eq(storm_conn_refuse(c, io, 7, 0x27, 0), -EINVAL, "refused from io_done");
	return 0;
}

static void rx_start(size_t max_buffered)
{
	uint16_t tsih = rx.login_tsih;
	int refuse_rc = rx.refuse_rc;
	memset(&rx, 0, sizeof rx);
	rx.login_tsih = tsih;
	rx.refuse_rc = refuse_rc;
	rx.tlfd = tu_listener(rx.target, sizeof rx.target, 0);
	storm_relay_config *cfg;
	storm_relay_callbacks *cbs;
	cr_assert_eq(storm_relay_config_new(&cfg), 0);
	cr_assert_eq(storm_relay_config_add_listen(cfg, "127.0.0.1:0"), 0);
	cr_assert_eq(storm_relay_config_set_upstream(cfg, rx.target), 0);
	if (max_buffered)
		storm_relay_config_set_limits(cfg, 8, max_buffered);
	cr_assert_eq(storm_relay_callbacks_new(&cbs), 0);
	storm_relay_callbacks_set_open(cbs, h_open);
	storm_relay_callbacks_set_close(cbs, h_close);
	storm_relay_callbacks_set_pdu(cbs, h_pdu);
	storm_relay_callbacks_set_io_start(cbs, h_start);
	storm_relay_callbacks_set_io_data(cbs, h_data);
	storm_relay_callbacks_set_io_done(cbs, h_done);
	cr_assert_eq(storm_relay_new(&rx.r, cfg, cbs, NULL), 0);
	storm_relay_config_del(cfg);
	storm_relay_callbacks_del(cbs);
	cr_assert_gt(storm_relay_listen_address(rx.r, 0, rx.relay, sizeof rx.relay), 0);
}

static void rx_stop(void)
{
	storm_relay_del(rx.r);
	rx.r = NULL;
	if (rx.tlfd >= 0)
		close(rx.tlfd);
	rx.tlfd = -1;
	rx.login_tsih = 0;
	rx.refuse_rc = 0;
}

static void pump(void) { cr_assert_eq(storm_relay_service(rx.r, 0), 0); }

/* An initiator socket (receive buffer @p rcvbuf if not 0) and the relay's
 * connection to the target. */
static void connect_pair(int *ifd, int *tfd, int rcvbuf)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	sa.sin_port = htons((uint16_t)atoi(strrchr(rx.relay, ':') + 1));
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	double end = tu_now_ms() + 2000;
	int t;
	while ((t = accept4(rx.tlfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
		cr_assert_lt(tu_now_ms(), end, "the relay did not connect upstream");
		pump();
	}
	/* The peers send small pieces: no Nagle delay between them. */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	*ifd = fd;
	*tfd = t;
	while (!rx.conn) {
		cr_assert_lt(tu_now_ms(), end);
		pump();
	}
}

/* ---- a peer: bytes out in random pieces, PDUs in --------------------------- */

struct peer {
	int fd;
	tu_buf out;
	size_t out_sent;
	tu_buf in;
	size_t in_used;
	bool hd, dd;        /* digests of the PDUs it receives and sends now */
	uint64_t rnd;
};

static void peer_send_some(struct peer *p)
{
	size_t left = p->out.len - p->out_sent;
	if (!left)
		return;
	uint64_t r = tu_rand(&p->rnd);
	size_t n = (r & 3) == 0 ? 1 + (r >> 8) % 47 : 1 + (r >> 8) % 6000;
	n = n < left ? n : left;
	ssize_t k = send(p->fd, p->out.data + p->out_sent, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (k > 0)
		p->out_sent += (size_t)k;
	else
		cr_assert(errno == EAGAIN, "send: %s", strerror(errno));
}

static size_t peer_recv(struct peer *p)
{
	size_t got = 0;
	for (;;) {
		uint8_t b[65536];
		ssize_t n = recv(p->fd, b, sizeof b, MSG_DONTWAIT);
		if (n > 0) {
			tu_buf_put(&p->in, b, (size_t)n);
			got += (size_t)n;
			continue;
		}
		cr_assert(n < 0 && errno == EAGAIN, "recv: %s (relay: %s, %u io_done)",
			  n == 0 ? "EOF" : strerror(errno), storm_strerror(rx.close_err), rx.dones);
		return got;
	}
}

struct view {
	const uint8_t *raw;
	size_t len, hlen;   /* hlen: BHS, AHS and header digest */
	uint32_t dsl;
};

static size_t pdu_len(const uint8_t *h, bool hd, bool dd, size_t *hlen)
{
	uint32_t dsl = get_be24(h + 5);
	*hlen = 48 + h[4] * 4u + (hd ? 4 : 0);
	return *hlen + dsl + ((4 - (dsl & 3)) & 3) + (dsl && dd ? 4 : 0);
}

/* The next whole PDU received, its digests checked. */
static bool peer_pdu(struct peer *p, struct view *v)
{
	size_t avail = p->in.len - p->in_used;
	if (avail < 48)
		return false;
	const uint8_t *h = p->in.data + p->in_used;
	size_t hlen, len = pdu_len(h, p->hd, p->dd, &hlen);
	if (avail < len)
		return false;
	size_t bl = 48 + h[4] * 4u;
	uint32_t dsl = get_be24(h + 5);
	if (p->hd)
		cr_assert_eq(get_le32(h + bl), storm_crc32c(0, h, bl), "header digest of opcode 0x%02x",
			     h[0] & 0x3f);
	if (p->dd && dsl) {
		size_t padded = dsl + ((4 - (dsl & 3)) & 3);
		cr_assert_eq(get_le32(h + hlen + padded), storm_crc32c(0, h + hlen, padded), "data digest");
	}
	*v = (struct view){h, len, hlen, dsl};
	p->in_used += len;
	return true;
}

static void peer_free(struct peer *p)
{
	tu_buf_free(&p->out);
	tu_buf_free(&p->in);
	if (p->fd >= 0)
		close(p->fd);
}

static uint8_t pat(uint32_t itt, uint32_t off) { return (uint8_t)(itt * 7 + off * 13 + (off >> 8)); }

/* ---- the simulation ---------------------------------------------------------- */

enum kind { K_WRITE, K_READ, K_NOP };

struct cmd {
	enum kind kind;
	bool immediate, refuse;
	uint32_t itt, cmdsn, lba;
	uint32_t edtl, imm, unsol; /* write: total, immediate data, immediate + unsolicited */
	bool sent, done;
	/* target side */
	bool seen, answered;
	uint32_t got;
};

struct sim_opts {
	unsigned n, window;
	bool hd, dd;
	bool initial_r2t;      /* only immediate data is unsolicited */
	unsigned refuse_every; /* every k-th write is refused */
	uint32_t cmdsn0, statsn0;
	uint64_t seed;
};

struct sim {
	struct sim_opts o;
	struct peer ini, tgt;
	struct cmd *cmds;
	unsigned next;
	/* initiator */
	uint32_t cmdsn, expstatsn, max_seen, exp_seen;
	unsigned outstanding, injected_seen, refused_nonimm, completed;
	/* target */
	uint32_t t_exp, t_stat, t_max, ttt;
	/* what the target must receive, compared as it arrives */
	tu_buf want_t;
	size_t want_t_pos;
	/* what the target sent: PDU boundaries, for the initiator's comparison */
	tu_buf sent_t;
	size_t *sent_off;
	size_t nsent, sent_cap, sent_pos;
	size_t max_points;
	uint64_t rnd;
};

static struct sim S;

static void sim_free(void)
{
	peer_free(&S.ini);
	peer_free(&S.tgt);
	tu_buf_free(&S.want_t);
	tu_buf_free(&S.sent_t);
	free(S.sent_off);
	free(S.cmds);
	memset(&S, 0, sizeof S);
}

static void fini(void)
{
	sim_free();
	rx_stop();
}

TestSuite(refuse, .fini = fini, .timeout = 120);

/* The initiator sends @p p (its numbers); unless refused, the target must
 * receive it with CmdSN and ExpStatSN in its own numbers. */
static void ini_emit(tb_pdu *p, bool forwarded, bool has_cmdsn)
{
	tb_emit(&S.ini.out, p, S.ini.hd, S.ini.dd);
	if (!forwarded)
		return;
	tb_pdu t = *p;
	if (has_cmdsn)
		put_be32(t.bhs + 24, get_be32(p->bhs + 24) - S.refused_nonimm);
	put_be32(t.bhs + 28, get_be32(p->bhs + 28) - S.injected_seen);
	tb_emit(&S.want_t, &t, S.ini.hd, S.ini.dd);
}

static void data_out(struct cmd *k, uint32_t ttt, uint32_t datasn, uint32_t off, uint32_t len, bool final,
		     bool forwarded)
{
	static uint8_t buf[65536];
	for (uint32_t i = 0; i < len; i++)
		buf[i] = pat(k->itt, off + i);
	tb_pdu p;
	tb_init(&p, STORM_OP_DATA_OUT, final ? 0x80 : 0, k->itt);
	tb_lun(&p, 1);
	tb_u32(&p, 20, ttt);
	tb_u32(&p, 28, S.expstatsn);
	tb_u32(&p, 36, datasn);
	tb_u32(&p, 40, off);
	tb_data(&p, buf, len);
	ini_emit(&p, forwarded, false);
}

static void ini_send(struct cmd *k)
{
	static uint8_t buf[65536];
	tb_pdu p;
	k->cmdsn = S.cmdsn;
	if (k->kind == K_NOP) {
		tb_init(&p, 0x40 | STORM_OP_NOP_OUT, 0x80, k->itt);
		tb_u32(&p, 20, ITT_NONE);
		tb_u32(&p, 24, k->cmdsn);
		tb_u32(&p, 28, S.expstatsn);
		ini_emit(&p, true, true);
	} else {
		bool w = k->kind == K_WRITE;
		bool more = w && k->unsol > k->imm;
		tb_init(&p, STORM_OP_SCSI_CMD | (k->immediate ? 0x40 : 0),
			(more ? 0 : 0x80) | (w ? 0x20 : 0x40) | 1, k->itt);
		tb_lun(&p, 1);
		tb_u32(&p, 20, k->edtl);
		tb_u32(&p, 24, k->cmdsn);
		tb_u32(&p, 28, S.expstatsn);
		p.bhs[32] = w ? 0x2a : 0x28;
		put_be32(p.bhs + 34, k->lba);
		put_be16(p.bhs + 39, (uint16_t)(k->edtl / 512));
		for (uint32_t i = 0; i < k->imm; i++)
			buf[i] = pat(k->itt, i);
		tb_data(&p, buf, k->imm);
		rx.refuse[k->itt] = k->refuse;
		ini_emit(&p, !k->refuse, true);
		/* Unsolicited Data-Out after immediate data, up to FirstBurstLength. */
		uint32_t sn = 0;
		for (uint32_t off = k->imm; off < k->unsol; sn++) {
			uint32_t len = k->unsol - off < 2048 ? k->unsol - off : 2048;
			data_out(k, ITT_NONE, sn, off, len, off + len == k->unsol, !k->refuse);
			off += len;
		}
	}
	if (!k->immediate && k->kind != K_NOP) {
		S.cmdsn++;
		if (k->refuse)
			S.refused_nonimm++;
	}
	k->sent = true;
	S.outstanding++;
}

static void ini_issue(void)
{
	while (S.next < S.o.n && S.outstanding < 3 * S.o.window) {
		struct cmd *k = &S.cmds[S.next];
		bool counts = !k->immediate && k->kind != K_NOP;
		if (counts && !sn_le(S.cmdsn, S.max_seen))
			break; /* the window the target gave is full */
		ini_send(k);
		S.next++;
	}
}

/* ---- the target --------------------------------------------------------------- */

static void tgt_emit(tb_pdu *p)
{
	if (S.nsent == S.sent_cap) {
		S.sent_cap = S.sent_cap ? 2 * S.sent_cap : 256;
		S.sent_off = realloc(S.sent_off, S.sent_cap * sizeof *S.sent_off);
	}
	S.sent_off[S.nsent++] = S.sent_t.len;
	tb_emit(&S.sent_t, p, S.tgt.hd, S.tgt.dd);
	tb_emit(&S.tgt.out, p, S.tgt.hd, S.tgt.dd);
}

static void tgt_numbers(tb_pdu *p, bool advance)
{
	tb_u32(p, 24, advance ? S.t_stat++ : S.t_stat);
	uint32_t max = S.t_exp + S.o.window - 1;
	if (sn_lt(S.t_max, max))
		S.t_max = max;
	tb_u32(p, 28, S.t_exp);
	tb_u32(p, 32, S.t_max);
}

static void tgt_respond(struct cmd *k)
{
	static uint8_t buf[65536];
	tb_pdu p;
	k->answered = true;
	if (k->kind == K_NOP) {
		tb_init(&p, STORM_OP_NOP_IN, 0x80, k->itt);
		tb_u32(&p, 20, ITT_NONE);
		tgt_numbers(&p, true);
		tgt_emit(&p);
		return;
	}
	if (k->kind == K_READ) {
		for (uint32_t i = 0; i < k->edtl; i++)
			buf[i] = pat(k->itt, i);
		bool status_in_data = tu_rand(&S.rnd) & 1;
		tb_init(&p, STORM_OP_DATA_IN, 0x80 | (status_in_data ? 0x01 : 0), k->itt);
		tb_lun(&p, 1);
		tb_u32(&p, 20, ITT_NONE);
		tgt_numbers(&p, status_in_data);
		if (!status_in_data)
			tb_u32(&p, 24, 0); /* reserved without S (tgtd sends 0) */
		tb_data(&p, buf, k->edtl);
		tgt_emit(&p);
		if (status_in_data)
			return;
	}
	tb_init(&p, STORM_OP_SCSI_RESP, 0x80, k->itt);
	tgt_numbers(&p, true);
	tgt_emit(&p);
}

static void tgt_r2t(struct cmd *k)
{
	tb_pdu p;
	tb_init(&p, STORM_OP_R2T, 0x80, k->itt);
	tb_lun(&p, 1);
	tb_u32(&p, 20, 0x1000 + S.ttt++);
	tgt_numbers(&p, false);
	tb_u32(&p, 36, 0);
	tb_u32(&p, 40, k->got);
	tb_u32(&p, 44, k->edtl - k->got);
	tgt_emit(&p);
}

static struct cmd *by_itt(uint32_t itt)
{
	cr_assert(itt >= 1 && itt <= S.o.n, "unknown ITT 0x%x", itt);
	return &S.cmds[itt - 1];
}

static void tgt_on_pdu(const struct view *v)
{
	const uint8_t *h = v->raw;
	unsigned op = h[0] & 0x3f;
	struct cmd *k = by_itt(get_be32(h + 16));
	cr_assert(!k->refuse, "the target received a PDU of refused task %u (opcode 0x%02x)", k->itt, op);
	if (op == STORM_OP_SCSI_CMD || op == STORM_OP_NOP_OUT) {
		uint32_t cmdsn = get_be32(h + 24);
		cr_assert_eq(cmdsn, S.t_exp, "target CmdSN 0x%x, expected 0x%x (ITT %u)", cmdsn, S.t_exp, k->itt);
		if (!(h[0] & 0x40)) {
			cr_assert(sn_le(cmdsn, S.t_max), "CmdSN 0x%x past the window (MaxCmdSN 0x%x)", cmdsn,
				  S.t_max);
			S.t_exp++;
		}
		k->seen = true;
		if (op == STORM_OP_NOP_OUT) {
			tgt_respond(k);
			return;
		}
		k->got = v->dsl;
		if (k->kind == K_READ || k->got == k->edtl)
			tgt_respond(k);
		else if (k->unsol == k->imm)
			tgt_r2t(k);
		return;
	}
	cr_assert_eq(op, STORM_OP_DATA_OUT);
	cr_assert(k->seen);
	k->got += v->dsl;
	if (k->got == k->edtl)
		tgt_respond(k);
	else if (get_be32(h + 20) == ITT_NONE && (h[1] & 0x80))
		tgt_r2t(k); /* unsolicited data done: the rest by R2T */
}

static void tgt_step(void)
{
	size_t before = S.tgt.in.len;
	if (!peer_recv(&S.tgt))
		return;
	size_t n = S.tgt.in.len - before;
	cr_assert_leq(S.want_t_pos + n, S.want_t.len, "the target received more than it should");
	if (memcmp(S.tgt.in.data + before, S.want_t.data + S.want_t_pos, n) != 0)
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(S.tgt.in.data[before + i], S.want_t.data[S.want_t_pos + i],
				     "target byte %zu: 0x%02x, expected 0x%02x", S.want_t_pos + i,
				     S.tgt.in.data[before + i], S.want_t.data[S.want_t_pos + i]);
	S.want_t_pos += n;
	struct view v;
	while (peer_pdu(&S.tgt, &v)) {
		tgt_on_pdu(&v);
		/* Now and then the target pings without asking for an answer. */
		if ((tu_rand(&S.rnd) % 29) == 0) {
			tb_pdu p;
			tb_init(&p, STORM_OP_NOP_IN, 0x80, ITT_NONE);
			tb_u32(&p, 20, ITT_NONE);
			tgt_numbers(&p, false);
			tgt_emit(&p);
		}
	}
}

/* ---- the initiator's side ------------------------------------------------------ */

static void ini_numbers(const uint8_t *h)
{
	uint32_t exp = get_be32(h + 28), max = get_be32(h + 32);
	cr_assert(sn_le(exp, S.cmdsn), "ExpCmdSN 0x%x acknowledges commands not sent (next 0x%x)", exp, S.cmdsn);
	cr_assert(sn_le(exp - 1, max), "MaxCmdSN 0x%x below ExpCmdSN 0x%x - 1", max, exp);
	if (sn_lt(S.exp_seen, exp))
		S.exp_seen = exp;
	if (sn_lt(S.max_seen, max))
		S.max_seen = max;
}

static void finish(struct cmd *k)
{
	cr_assert(k->sent && !k->done, "ITT %u answered twice or unasked", k->itt);
	k->done = true;
	S.outstanding--;
	S.completed++;
}

static void ini_injected(const struct view *v, struct cmd *k)
{
	const uint8_t *h = v->raw;
	cr_assert_eq(h[0], STORM_OP_SCSI_RESP);
	cr_assert_eq(h[1], 0x80 | 0x02, "flags 0x%02x", h[1]);
	cr_assert_eq(h[2], 0);
	cr_assert_eq(h[3], 0x02, "CHECK CONDITION");
	cr_assert_eq(get_be32(h + 24), S.expstatsn, "injected StatSN 0x%x, expected 0x%x", get_be32(h + 24),
		     S.expstatsn);
	cr_assert_eq(get_be32(h + 44), k->edtl, "residual");
	cr_assert_eq(v->dsl, 20);
	const uint8_t *d = h + v->hlen;
	cr_assert_eq(get_be16(d), 18);
	cr_assert_eq(d[2], 0x70);
	cr_assert_eq(d[4], 0x07);
	cr_assert_eq(d[9], 10);
	cr_assert_eq(d[14], 0x27);
	cr_assert_eq(d[15], 0x00);
	ini_numbers(h);
	S.expstatsn++;
	S.injected_seen++;
	finish(k);
}

static bool advances(const uint8_t *h)
{
	unsigned op = h[0] & 0x3f;
	if (op == STORM_OP_R2T || (op == STORM_OP_NOP_IN && get_be32(h + 16) == ITT_NONE))
		return false;
	return op != STORM_OP_DATA_IN || (h[1] & 0x01);
}

static void ini_from_target(const struct view *v)
{
	const uint8_t *h = v->raw;
	cr_assert_lt(S.sent_pos, S.nsent, "the initiator received a PDU the target never sent");
	const uint8_t *o = S.sent_t.data + S.sent_off[S.sent_pos];
	size_t olen = (S.sent_pos + 1 < S.nsent ? S.sent_off[S.sent_pos + 1] : S.sent_t.len) -
		      S.sent_off[S.sent_pos];
	S.sent_pos++;
	cr_assert_eq(v->len, olen);
	cr_assert(memcmp(h, o, 24) == 0 && memcmp(h + 36, o + 36, 12) == 0, "header changed");
	cr_assert(memcmp(h + v->hlen, o + v->hlen, v->len - v->hlen) == 0, "data changed");
	unsigned op = h[0] & 0x3f;
	if (op != STORM_OP_DATA_IN || (h[1] & 0x01)) {
		cr_assert_eq(get_be32(h + 24), get_be32(o + 24) + S.injected_seen);
		cr_assert_eq(get_be32(h + 24), S.expstatsn, "StatSN 0x%x, expected 0x%x (opcode 0x%02x)",
			     get_be32(h + 24), S.expstatsn, op);
		if (advances(h))
			S.expstatsn++;
	} else {
		cr_assert_eq(get_be32(h + 24), get_be32(o + 24), "Data-In without status: StatSN untouched");
	}
	ini_numbers(h);
	uint32_t itt = get_be32(h + 16);
	if (itt == ITT_NONE)
		return;
	struct cmd *k = by_itt(itt);
	switch (op) {
	case STORM_OP_R2T:
		data_out(k, get_be32(h + 20), 0, get_be32(h + 40), get_be32(h + 44), true, true);
		break;
	case STORM_OP_DATA_IN:
		if (h[1] & 0x01)
			finish(k);
		break;
	default:
		finish(k);
	}
}

static void ini_step(void)
{
	if (!peer_recv(&S.ini))
		return;
	struct view v;
	while (peer_pdu(&S.ini, &v)) {
		uint32_t itt = get_be32(v.raw + 16);
		unsigned op = v.raw[0] & 0x3f;
		if (op == STORM_OP_SCSI_RESP && itt != ITT_NONE && by_itt(itt)->refuse)
			ini_injected(&v, by_itt(itt));
		else
			ini_from_target(&v);
	}
}

/* ---- running it ----------------------------------------------------------------- */

static void login(void)
{
	static uint8_t text[2][1024];
	char hd[64], dd[64];
	snprintf(hd, sizeof hd, "HeaderDigest=%s", S.o.hd ? "CRC32C" : "None");
	snprintf(dd, sizeof dd, "DataDigest=%s", S.o.dd ? "CRC32C" : "None");
	const char *const pi[] = {"InitiatorName=iqn.2024-01.test:ini", "TargetName=iqn.2024-01.test:t",
				  hd, dd, "MaxRecvDataSegmentLength=262144"};
	const char *const pt[] = {hd, dd, "MaxRecvDataSegmentLength=262144"};
	tb_pdu p;
	tb_init(&p, 0x40 | STORM_OP_LOGIN_REQ, 0x80 | 0x04 | 0x03, 0);
	put_be16(p.bhs + 14, rx.login_tsih);
	tb_u32(&p, 24, S.cmdsn);
	tb_data(&p, text[0], tb_text(text[0], sizeof text[0], pi, 5));
	ini_emit(&p, true, true);
	tb_init(&p, STORM_OP_LOGIN_RESP, 0x80 | 0x04 | 0x03, 0);
	tb_u32(&p, 24, S.t_stat++);
	tb_u32(&p, 28, S.t_exp);
	tb_u32(&p, 32, S.t_max);
	tb_data(&p, text[1], tb_text(text[1], sizeof text[1], pt, 3));
	double end = tu_now_ms() + 5000;
	while (S.tgt.in.len < S.want_t.len) {
		cr_assert_lt(tu_now_ms(), end, "login request stalled");
		peer_send_some(&S.ini);
		pump();
		peer_recv(&S.tgt);
	}
	cr_assert(memcmp(S.tgt.in.data, S.want_t.data, S.want_t.len) == 0);
	S.tgt.in_used = S.want_t_pos = S.tgt.in.len;
	tgt_emit(&p);
	while (S.ini.in.len < S.tgt.out.len) {
		cr_assert_lt(tu_now_ms(), end, "login response stalled");
		peer_send_some(&S.tgt);
		pump();
		peer_recv(&S.ini);
	}
	cr_assert(memcmp(S.ini.in.data, S.tgt.out.data, S.tgt.out.len) == 0);
	S.ini.in_used = S.ini.in.len;
	S.sent_pos = 1;
	S.ini.hd = S.tgt.hd = S.o.hd;
	S.ini.dd = S.tgt.dd = S.o.dd;
	S.expstatsn = S.t_stat;
}

/* The commands: reads, writes (every refuse_every-th refused), NOP-Outs,
 * some immediate; writes of 1 to 16 blocks with up to 1 KiB immediate data
 * and, without InitialR2T, unsolicited Data-Out up to 4 KiB. */
static void make_cmds(void)
{
	S.cmds = calloc(S.o.n, sizeof *S.cmds);
	unsigned writes = 0;
	for (unsigned i = 0; i < S.o.n; i++) {
		struct cmd *k = &S.cmds[i];
		uint64_t r = tu_rand(&S.rnd);
		k->itt = i + 1;
		k->lba = (uint32_t)(r >> 40);
		k->kind = r % 11 == 0 ? K_NOP : (r >> 4) % 3 == 0 ? K_READ : K_WRITE;
		k->immediate = k->kind == K_NOP || (r >> 8) % 9 == 0;
		k->edtl = (uint32_t)(1 + (r >> 12) % 16) * 512;
		if (k->kind == K_NOP)
			k->edtl = 0;
		if (k->kind == K_WRITE) {
			k->refuse = ++writes % S.o.refuse_every == 0;
			k->imm = (r >> 20) % 4 == 0 ? 0 : k->edtl < 1024 ? k->edtl : 1024;
			k->unsol = k->imm;
			if (!S.o.initial_r2t)
				k->unsol = k->edtl < 4096 ? k->edtl : 4096;
		}
	}
}

static bool all_sent_and_quiet(void)
{
	return S.ini.out_sent == S.ini.out.len && S.tgt.out_sent == S.tgt.out.len;
}

/* A relay, both peers connected through it and logged in. */
static void start(const struct sim_opts *o, size_t max_buffered, int ini_rcvbuf)
{
	rx_start(max_buffered);
	memset(&S, 0, sizeof S);
	S.o = *o;
	const char *seed = getenv("STORM_TEST_SEED");
	S.rnd = o->seed + (seed ? strtoull(seed, NULL, 0) * 1000003 : 0);
	S.ini.rnd = S.rnd * 3 + 1;
	S.tgt.rnd = S.rnd * 5 + 2;
	S.cmdsn = o->cmdsn0;
	S.t_exp = o->cmdsn0;
	S.t_max = o->cmdsn0 + o->window - 1;
	S.t_stat = o->statsn0;
	S.max_seen = S.t_max;
	S.exp_seen = S.cmdsn;
	connect_pair(&S.ini.fd, &S.tgt.fd, ini_rcvbuf);
	login();
}

static void run_sim(const struct sim_opts *o, size_t max_buffered)
{
	start(o, max_buffered, 0);
	make_cmds();
	double end = tu_now_ms() + 90000, active = tu_now_ms();
	while (S.completed < S.o.n || !all_sent_and_quiet() || tu_now_ms() - active < 30) {
		cr_assert_lt(tu_now_ms(), end, "stalled: %u of %u done, %u sent, window to 0x%x, next CmdSN 0x%x",
			     S.completed, S.o.n, S.next, S.max_seen, S.cmdsn);
		cr_assert_not_null(rx.conn, "the relay closed the connection (%s)", storm_strerror(rx.close_err));
		ini_issue();
		peer_send_some(&S.ini);
		peer_send_some(&S.tgt);
		pump();
		size_t before = S.ini.in.len + S.tgt.in.len;
		tgt_step();
		ini_step();
		if (S.ini.in.len + S.tgt.in.len != before)
			active = tu_now_ms();
		if (rx.conn && rx.conn->refusal) {
			size_t pts = seqmap_points(&rx.conn->refusal->map);
			S.max_points = pts > S.max_points ? pts : S.max_points;
		}
	}
	/* Everything either side sent arrived, and nothing else. */
	cr_assert_eq(S.want_t_pos, S.want_t.len);
	cr_assert_eq(S.tgt.in_used, S.tgt.in.len);
	cr_assert_eq(S.ini.in_used, S.ini.in.len);
	cr_assert_eq(S.sent_pos, S.nsent, "%zu target PDUs never reached the initiator", S.nsent - S.sent_pos);
	cr_assert_eq(S.exp_seen, S.cmdsn, "final ExpCmdSN 0x%x, next CmdSN 0x%x", S.exp_seen, S.cmdsn);
	cr_assert_eq(S.max_seen, S.cmdsn + S.o.window - 1, "the window did not come back whole");
	/* The hooks. */
	unsigned refused = 0, tasks = 0;
	for (unsigned i = 0; i < S.o.n; i++) {
		struct cmd *k = &S.cmds[i];
		if (k->kind == K_NOP)
			continue;
		tasks++;
		cr_assert_eq(rx.done_count[k->itt], 1, "io_done of ITT %u: %u times", k->itt,
			     rx.done_count[k->itt]);
		cr_assert_eq(rx.end[k->itt], STORM_END_STATUS);
		cr_assert_eq(rx.refused[k->itt], k->refuse);
		if (k->refuse) {
			refused++;
			cr_assert_eq(rx.status[k->itt], 0x02);
			cr_assert_eq(rx.sense[k->itt][0], 0x07);
			cr_assert_eq(rx.sense[k->itt][1], 0x27);
			cr_assert_eq(rx.sense[k->itt][2], 0x00);
			cr_assert_eq(rx.residual[k->itt], k->edtl);
			cr_assert_eq(rx.data[k->itt], 0, "io_data saw %llu bytes of refused ITT %u",
				     (unsigned long long)rx.data[k->itt], k->itt);
		} else {
			cr_assert_eq(rx.status[k->itt], 0);
			cr_assert_eq(rx.data[k->itt], k->edtl);
		}
	}
	cr_assert_eq(rx.starts, tasks);
	cr_assert_eq(rx.dones, tasks);
	cr_assert_eq(rx.nrefused, refused);
	cr_assert_gt(refused, 0);
	storm_relay_stats st;
	storm_relay_stats_get(rx.r, &st);
	cr_assert_eq(st.commands_refused, refused, "the relay counted %llu refusals",
		     (unsigned long long)st.commands_refused);
	cr_assert_eq(rx.conn->refusal->refused, refused);
	cr_assert_eq(rx.conn->refusal->npending, 0);
	cr_assert_eq(storm_session_outstanding(rx.conn->session), 0);
	cr_log_info("%u commands, %u refused, %zu bytes to the target, at most %zu refusal points held",
		    S.o.n, refused, S.want_t.len, S.max_points);
}

/* Writes with immediate data, the rest by R2T (InitialR2T=Yes). */
Test(refuse, immediate_data)
{
	struct sim_opts o = {.n = 400, .window = 8, .initial_r2t = true, .refuse_every = 4,
			     .cmdsn0 = 0xffffffd0u, .statsn0 = 0xffffff00u, .seed = 11};
	run_sim(&o, 0);
}

/* InitialR2T=No: unsolicited Data-Out after the command, cut with it when refused. */
Test(refuse, unsolicited_data_out)
{
	struct sim_opts o = {.n = 400, .window = 8, .refuse_every = 3, .cmdsn0 = 100, .statsn0 = 7, .seed = 12};
	run_sim(&o, 0);
}

/* Header and data digests: recomputed for every translated header. */
Test(refuse, header_and_data_digests)
{
	struct sim_opts o = {.n = 400, .window = 16, .hd = true, .dd = true, .refuse_every = 2,
			     .cmdsn0 = 0x7ffffff0u, .statsn0 = 0xfffffff8u, .seed = 13};
	run_sim(&o, 0);
}

/* Thousands of refusals, a window of 4 and a 64 KiB buffer: points fold and
 * stay few; the session goes on across 2^32. */
Test(refuse, many_refusals_bounded, .timeout = 240)
{
	struct sim_opts o = {.n = 4000, .window = 4, .hd = true, .refuse_every = 2,
			     .cmdsn0 = 0xfffff800u, .statsn0 = 0xfffffc00u, .seed = 14};
	run_sim(&o, 65536);
	cr_assert_leq(S.max_points, SEQMAP_KEEP + 6 * S.o.window + 8, "%zu points held", S.max_points);
}

/* ---- targeted cases ------------------------------------------------------------ */

/* Sends all of @p b on @p p, servicing the relay. */
static void send_all(struct peer *p, const tu_buf *b)
{
	size_t off = 0;
	double end = tu_now_ms() + 5000;
	while (off < b->len) {
		cr_assert_lt(tu_now_ms(), end, "send stalled");
		ssize_t k = send(p->fd, b->data + off, b->len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k > 0)
			off += (size_t)k;
		pump();
	}
}

/* Services the relay until @p p received @p n more bytes (exactly: more fail). */
static void expect_bytes(struct peer *p, size_t n)
{
	size_t want = p->in.len + n;
	double end = tu_now_ms() + 5000;
	while (p->in.len < want) {
		cr_assert_lt(tu_now_ms(), end, "%zu of %zu bytes arrived (relay: %s)", p->in.len - (want - n), n,
			     rx.conn ? "open" : storm_strerror(rx.close_err));
		pump();
		peer_recv(p);
	}
	for (int i = 0; i < 20; i++) {
		pump();
		peer_recv(p);
	}
	cr_assert_eq(p->in.len, want, "%zu bytes more than expected", p->in.len - want);
}

static void expect_nothing(struct peer *p)
{
	size_t had = p->in.len;
	for (int i = 0; i < 50; i++) {
		pump();
		peer_recv(p);
	}
	cr_assert_eq(p->in.len, had, "%zu unexpected bytes", p->in.len - had);
}

static void scsi_cmd(tu_buf *b, bool hd, bool dd, uint32_t itt, bool write, uint32_t cmdsn,
		     uint32_t expstatsn, uint32_t edtl, uint32_t imm, bool final)
{
	static uint8_t data[65536];
	for (uint32_t i = 0; i < imm; i++)
		data[i] = pat(itt, i);
	tb_pdu p;
	tb_init(&p, STORM_OP_SCSI_CMD, (final ? 0x80 : 0) | (write ? 0x20 : 0x40), itt);
	tb_lun(&p, 1);
	tb_u32(&p, 20, edtl);
	tb_u32(&p, 24, cmdsn);
	tb_u32(&p, 28, expstatsn);
	p.bhs[32] = write ? 0x2a : 0x28;
	put_be16(p.bhs + 39, (uint16_t)(edtl / 512));
	tb_data(&p, data, imm);
	tb_emit(b, &p, hd, dd);
}

static void data_in(tu_buf *b, bool hd, bool dd, uint32_t itt, uint32_t statsn, uint32_t exp, uint32_t max,
		    uint32_t len)
{
	static uint8_t data[65536];
	for (uint32_t i = 0; i < len; i++)
		data[i] = pat(itt, i);
	tb_pdu p;
	tb_init(&p, STORM_OP_DATA_IN, 0x81, itt);
	tb_u32(&p, 20, ITT_NONE);
	tb_u32(&p, 24, statsn);
	tb_u32(&p, 28, exp);
	tb_u32(&p, 32, max);
	tb_data(&p, data, len);
	tb_emit(b, &p, hd, dd);
}

/* The next PDU the initiator got: the relay's CHECK CONDITION for @p itt. */
static void expect_check_condition(uint32_t itt, uint32_t statsn, uint32_t exp, uint32_t max)
{
	struct view v;
	cr_assert(peer_pdu(&S.ini, &v));
	cr_assert_eq(v.raw[0], STORM_OP_SCSI_RESP);
	cr_assert_eq(v.raw[3], 0x02);
	cr_assert_eq(get_be32(v.raw + 16), itt);
	cr_assert_eq(get_be32(v.raw + 24), statsn, "StatSN 0x%x, expected 0x%x", get_be32(v.raw + 24), statsn);
	cr_assert_eq(get_be32(v.raw + 28), exp, "ExpCmdSN %u, expected %u", get_be32(v.raw + 28), exp);
	cr_assert_eq(get_be32(v.raw + 32), max, "MaxCmdSN %u, expected %u", get_be32(v.raw + 32), max);
}

/* The first refusal comes while a target header is half through the relay
 * (let through as it is: nothing was injected before it), the second while
 * a Data-In's data is: each response waits for the end of that PDU. */
Test(refuse, while_target_mid_pdu)
{
	struct sim_opts o = {.window = 8, .hd = true, .dd = true, .cmdsn0 = 10, .statsn0 = 100, .seed = 21};
	start(&o, 0, 0);
	bool hd = true, dd = true;
	tu_buf b = {0};
	/* READ 1 reaches the target. */
	scsi_cmd(&b, hd, dd, 1, false, 10, 101, 4096, 0, true);
	send_all(&S.ini, &b);
	expect_bytes(&S.tgt, b.len);
	b.len = 0;
	/* Its Data-In: 20 bytes of the header pass. */
	data_in(&b, hd, dd, 1, 101, 11, 18, 4096);
	tu_buf first = {0}, rest = {0};
	tu_buf_put(&first, b.data, 20);
	tu_buf_put(&rest, b.data + 20, b.len - 20);
	send_all(&S.tgt, &first);
	expect_bytes(&S.ini, 20);
	/* WRITE 2 refused meanwhile: the target sees nothing, the initiator waits. */
	rx.refuse[2] = true;
	tu_buf w = {0};
	scsi_cmd(&w, hd, dd, 2, true, 11, 101, 512, 512, true);
	send_all(&S.ini, &w);
	expect_nothing(&S.tgt);
	expect_nothing(&S.ini);
	cr_assert_eq(rx.conn->refusal->npending, 1);
	cr_assert(rx.conn->refusal->skip_t2i);
	/* The rest of the Data-In, unchanged, then the response. */
	send_all(&S.tgt, &rest);
	expect_bytes(&S.ini, rest.len + 48 + 4 + 20 + 4);
	struct view v;
	cr_assert(peer_pdu(&S.ini, &v)); /* the Data-In, its first 20 bytes already read */
	cr_assert(memcmp(S.ini.in.data + S.ini.in_used - v.len, b.data, b.len) == 0, "Data-In changed");
	expect_check_condition(2, 102, 12, 19);
	cr_assert_eq(rx.done_count[2], 1);
	cr_assert_eq(rx.status[2], 0x02);

	/* READ 3: CmdSN 12 and ExpStatSN 103 become 11 and 102. */
	b.len = 0;
	scsi_cmd(&b, hd, dd, 3, false, 12, 103, 8192, 0, true);
	tu_buf want = {0};
	scsi_cmd(&want, hd, dd, 3, false, 11, 102, 8192, 0, true);
	send_all(&S.ini, &b);
	size_t at = S.tgt.in.len;
	expect_bytes(&S.tgt, want.len);
	cr_assert(memcmp(S.tgt.in.data + at, want.data, want.len) == 0, "READ 3 as the target sees it");
	S.tgt.in_used = S.tgt.in.len;
	/* Its Data-In (target StatSN 102): header and 1000 bytes pass... */
	b.len = 0;
	data_in(&b, hd, dd, 3, 102, 12, 19, 8192);
	first.len = rest.len = 0;
	tu_buf_put(&first, b.data, 52 + 1000);
	tu_buf_put(&rest, b.data + 52 + 1000, b.len - 52 - 1000);
	send_all(&S.tgt, &first);
	expect_bytes(&S.ini, first.len);
	/* ...WRITE 4 is refused... */
	rx.refuse[4] = true;
	w.len = 0;
	scsi_cmd(&w, hd, dd, 4, true, 13, 103, 1024, 1024, true);
	send_all(&S.ini, &w);
	expect_nothing(&S.tgt);
	expect_nothing(&S.ini);
	/* ...and answered after the Data-In, which the initiator sees as StatSN 103. */
	send_all(&S.tgt, &rest);
	expect_bytes(&S.ini, rest.len + 48 + 4 + 20 + 4);
	cr_assert(peer_pdu(&S.ini, &v));
	cr_assert_eq(get_be32(v.raw + 24), 103);
	cr_assert_eq(get_be32(v.raw + 28), 13, "ExpCmdSN: 12, plus the refusal at 11");
	expect_check_condition(4, 104, 14, 21);
	/* An unsolicited NOP-In carries the next StatSN: 103 becomes 105. */
	b.len = 0;
	tb_pdu p;
	tb_init(&p, STORM_OP_NOP_IN, 0x80, ITT_NONE);
	tb_u32(&p, 20, ITT_NONE);
	tb_u32(&p, 24, 103);
	tb_u32(&p, 28, 12);
	tb_u32(&p, 32, 19);
	tb_emit(&b, &p, hd, dd);
	send_all(&S.tgt, &b);
	expect_bytes(&S.ini, b.len);
	cr_assert(peer_pdu(&S.ini, &v));
	cr_assert_eq(get_be32(v.raw + 24), 105);
	cr_assert_eq(get_be32(v.raw + 28), 14);
	cr_assert_eq(get_be32(v.raw + 32), 21);
	cr_assert_eq(rx.done_count[4], 1);
	cr_assert_eq(rx.done_count[1], 1);
	cr_assert_eq(rx.done_count[3], 1);
	cr_assert_eq(rx.status[3], 0);
	tu_buf_free(&b);
	tu_buf_free(&w);
	tu_buf_free(&want);
	tu_buf_free(&first);
	tu_buf_free(&rest);
}

/* The relay's buffer toward an initiator that does not read is full when a
 * response must go in: it grows by at most REFUSE_SLACK, and every PDU still
 * arrives in order once the initiator reads. */
Test(refuse, initiator_buffer_full)
{
	struct sim_opts o = {.window = 8, .cmdsn0 = 10, .statsn0 = 100, .seed = 22};
	const size_t bound = 65536;
	start(&o, bound, 4096);
	storm_conn *c = rx.conn;
	int small = 4096;
	setsockopt(c->fd[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
	/* NOP-Ins of 64 bytes, each with the next StatSN (101), forever. */
	uint8_t nop[64], stream[65536];
	tb_pdu p;
	tb_init(&p, STORM_OP_NOP_IN, 0x80, ITT_NONE);
	tb_u32(&p, 20, ITT_NONE);
	tb_u32(&p, 24, 101);
	tb_u32(&p, 28, 10);
	tb_u32(&p, 32, 17);
	static const uint8_t pad16[16];
	tb_data(&p, pad16, 16);
	tu_buf one = {0};
	tb_emit(&one, &p, false, false);
	cr_assert_eq(one.len, sizeof nop);
	memcpy(nop, one.data, sizeof nop);
	tu_buf_free(&one);
	for (size_t i = 0; i < sizeof stream; i += sizeof nop)
		memcpy(stream + i, nop, sizeof nop);
	uint64_t tsent = 0;
	double end = tu_now_ms() + 10000;
	struct relay_buf *b = &c->buf[STORM_T2I];
	/* Until the relay holds a full buffer and the target's sends block. */
	for (int blocked = 0; blocked < 50;) {
		cr_assert_lt(tu_now_ms(), end, "the relay's buffer never filled");
		size_t off = tsent % sizeof stream;
		ssize_t k = send(S.tgt.fd, stream + off, sizeof stream - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k > 0)
			tsent += (uint64_t)k;
		pump();
		blocked = k < 0 && b->tail - b->head == b->cap ? blocked + 1 : 0;
	}
	/* A refused WRITE now. */
	rx.refuse[1] = true;
	tu_buf w = {0};
	scsi_cmd(&w, false, false, 1, true, 10, 101, 512, 512, true);
	send_all(&S.ini, &w);
	tu_buf_free(&w);
	expect_nothing(&S.tgt);
	/* The initiator reads, a little at a time; the target keeps sending
	 * until the response went through and 256 KiB more followed it. */
	uint32_t expstatsn = 101;
	bool answered = false;
	uint64_t nops = 0, stop_at = UINT64_MAX; /* NOP-In bytes received; the target's last byte */
	size_t max_cap = 0;
	while (!answered || nops < tsent || tsent < stop_at) {
		cr_assert_lt(tu_now_ms(), end + 20000, "stalled (answered %d)", answered);
		if (tsent < stop_at) {
			size_t off = tsent % sizeof stream;
			size_t n = sizeof stream - off;
			if (stop_at - tsent < n)
				n = (size_t)(stop_at - tsent);
			ssize_t k = send(S.tgt.fd, stream + off, n, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (k > 0)
				tsent += (uint64_t)k;
		}
		pump();
		max_cap = b->cap > max_cap ? b->cap : max_cap;
		uint8_t chunk[4096];
		ssize_t k = recv(S.ini.fd, chunk, sizeof chunk, MSG_DONTWAIT);
		if (k > 0)
			tu_buf_put(&S.ini.in, chunk, (size_t)k);
		struct view v;
		while (peer_pdu(&S.ini, &v)) {
			if (v.raw[0] == STORM_OP_SCSI_RESP) {
				cr_assert(!answered);
				cr_assert_eq(get_be32(v.raw + 16), 1);
				cr_assert_eq(get_be32(v.raw + 24), expstatsn);
				expstatsn++;
				answered = true;
				/* The target stops 256 KiB of NOP-Ins after what it sent so far. */
				stop_at = (tsent / sizeof nop + 4096) * sizeof nop;
				continue;
			}
			cr_assert_eq(v.raw[0], STORM_OP_NOP_IN);
			cr_assert_eq(get_be32(v.raw + 24), expstatsn, "NOP-In StatSN %u, expected %u",
				     get_be32(v.raw + 24), expstatsn);
			nops += v.len;
		}
	}
	expect_nothing(&S.ini);
	cr_assert(answered);
	cr_assert_eq(c->refusal->t2i_alloc, bound + REFUSE_SLACK, "the buffer never had to grow");
	cr_assert_leq(max_cap, bound + REFUSE_SLACK);
	cr_assert_eq(rx.done_count[1], 1);
	cr_log_info("buffer grew to %zu bytes at most (bound %zu); %llu bytes from the target",
		    max_cap, bound, (unsigned long long)tsent);
}

/* A refused write that announced unsolicited data: its Data-Out is cut
 * until a new command takes the tag.  ABORT TASK's RefCmdSN and a status
 * SNACK's BegRun are translated too. */
Test(refuse, tag_reuse_tmf_snack)
{
	struct sim_opts o = {.window = 8, .hd = true, .cmdsn0 = 10, .statsn0 = 100, .seed = 23};
	start(&o, 0, 0);
	bool hd = true, dd = false;
	rx.refuse[7] = true;
	tu_buf b = {0}, want = {0};
	scsi_cmd(&b, hd, dd, 7, true, 10, 101, 2048, 512, false); /* F = 0: Data-Out follows */
	send_all(&S.ini, &b);
	expect_bytes(&S.ini, 48 + 4 + 20);
	expect_check_condition(7, 101, 11, 18);
	cr_assert_eq(rx.conn->refusal->nawaiting, 1);
	/* An ABORT TASK of it (crossing the answer): RefCmdSN 10 must not name
	 * the target's next command, but the request itself. */
	b.len = 0;
	tb_pdu p;
	tb_init(&p, 0x40 | STORM_OP_TMF_REQ, 0x80 | 1, 9);
	tb_lun(&p, 1);
	tb_u32(&p, 20, 7);
	tb_u32(&p, 24, 11);
	tb_u32(&p, 28, 102);
	tb_u32(&p, 32, 10);
	tb_emit(&b, &p, hd, dd);
	tb_u32(&p, 24, 10);
	tb_u32(&p, 28, 101);
	tb_u32(&p, 32, 10);
	tb_emit(&want, &p, hd, dd);
	send_all(&S.ini, &b);
	size_t at = S.tgt.in.len;
	expect_bytes(&S.tgt, want.len);
	cr_assert(memcmp(S.tgt.in.data + at, want.data, want.len) == 0, "ABORT TASK of the refused task");
	S.tgt.in_used = S.tgt.in.len;
	want.len = 0;
	/* Its unsolicited Data-Out, late: cut. */
	b.len = 0;
	static uint8_t d[512];
	tb_init(&p, STORM_OP_DATA_OUT, 0, 7);
	tb_u32(&p, 20, ITT_NONE);
	tb_u32(&p, 28, 102);
	tb_u32(&p, 40, 512);
	tb_data(&p, d, sizeof d);
	tb_emit(&b, &p, hd, dd);
	send_all(&S.ini, &b);
	expect_nothing(&S.tgt);
	/* Tag 7 names a READ now: it goes through, CmdSN 11 -> 10, ExpStatSN 102 -> 101. */
	rx.refuse[7] = false;
	b.len = 0;
	scsi_cmd(&b, hd, dd, 7, false, 11, 102, 512, 0, true);
	scsi_cmd(&want, hd, dd, 7, false, 10, 101, 512, 0, true);
	/* ABORT TASK of it (immediate, CmdSN 12 = next, RefCmdSN 11). */
	tb_init(&p, 0x40 | STORM_OP_TMF_REQ, 0x80 | 1, 8);
	tb_lun(&p, 1);
	tb_u32(&p, 20, 7);
	tb_u32(&p, 24, 12);
	tb_u32(&p, 28, 102);
	tb_u32(&p, 32, 11);
	tb_emit(&b, &p, hd, dd);
	tb_u32(&p, 24, 11);
	tb_u32(&p, 28, 101);
	tb_u32(&p, 32, 10);
	tb_emit(&want, &p, hd, dd);
	/* A status SNACK for initiator StatSNs from 102: the target's 101. */
	tb_init(&p, STORM_OP_SNACK, 0x80 | 1, ITT_NONE);
	tb_u32(&p, 20, ITT_NONE);
	tb_u32(&p, 28, 102);
	tb_u32(&p, 40, 102);
	tb_u32(&p, 44, 0);
	tb_emit(&b, &p, hd, dd);
	tb_u32(&p, 28, 101);
	tb_u32(&p, 40, 101);
	tb_emit(&want, &p, hd, dd);
	send_all(&S.ini, &b);
	at = S.tgt.in.len;
	expect_bytes(&S.tgt, want.len);
	cr_assert(memcmp(S.tgt.in.data + at, want.data, want.len) == 0, "as the target sees them");
	cr_assert_eq(rx.conn->refusal->nawaiting, 0);
	tu_buf_free(&b);
	tu_buf_free(&want);
}

/* Without any refusal, a relay whose io_start hook could refuse holds a
 * partial header until it is whole; the bytes are otherwise untouched. */
Test(refuse, partial_header_held)
{
	struct sim_opts o = {.window = 8, .cmdsn0 = 10, .statsn0 = 100, .seed = 24};
	start(&o, 0, 0);
	tu_buf b = {0}, part = {0};
	scsi_cmd(&b, false, false, 1, true, 10, 101, 1024, 1024, true);
	tu_buf_put(&part, b.data, 30);
	send_all(&S.ini, &part);
	expect_nothing(&S.tgt);
	cr_assert(rx.conn->guarded[STORM_I2T]);
	part.len = 0;
	tu_buf_put(&part, b.data + 30, b.len - 30);
	send_all(&S.ini, &part);
	size_t at = S.tgt.in.len;
	expect_bytes(&S.tgt, b.len);
	cr_assert(memcmp(S.tgt.in.data + at, b.data, b.len) == 0);
	cr_assert(!rx.conn->guarded[STORM_I2T]);
	cr_assert_null(rx.conn->refusal, "no refusal, no translation state");
	tu_buf_free(&b);
	tu_buf_free(&part);
}

Test(refuse, misuse)
{
	cr_assert_eq(storm_conn_refuse(NULL, NULL, 7, 0x27, 0), -EINVAL);
	struct sim_opts o = {.window = 8, .cmdsn0 = 10, .statsn0 = 100, .seed = 25};
	start(&o, 0, 0);
	/* Outside any hook. */
	cr_assert_eq(storm_conn_refuse(rx.conn, (storm_io *)&o, 7, 0x27, 0), -EINVAL);
	/* From io_done (h_done checks) and from the pdu hook (h_pdu checks). */
	tu_buf b = {0};
	scsi_cmd(&b, false, false, 1, false, 10, 101, 512, 0, true);
	send_all(&S.ini, &b);
	expect_bytes(&S.tgt, b.len);
	b.len = 0;
	tb_pdu p;
	tb_init(&p, STORM_OP_SCSI_RESP, 0x80, 1);
	tb_u32(&p, 24, 101);
	tb_u32(&p, 28, 11);
	tb_u32(&p, 32, 18);
	tb_emit(&b, &p, false, false);
	send_all(&S.tgt, &b);
	expect_bytes(&S.ini, b.len);
	cr_assert_eq(rx.misuse_checked, 1);
	cr_assert_null(rx.conn->refusal);
	tu_buf_free(&b);
}

/* A connection added to an existing session (its Login carries a TSIH):
 * its CmdSNs are the session's, shared with connections the relay cannot
 * renumber, so nothing is refused there and the command goes through. */
Test(refuse, not_on_a_joined_connection)
{
	rx.login_tsih = 0x1234;
	rx.refuse_rc = -ENOTSUP;
	struct sim_opts o = {.window = 8, .cmdsn0 = 10, .statsn0 = 100, .seed = 26};
	start(&o, 0, 0);
	rx.refuse[1] = true;
	tu_buf b = {0};
	scsi_cmd(&b, false, false, 1, true, 10, 101, 512, 512, true);
	send_all(&S.ini, &b);
	size_t at = S.tgt.in.len;
	expect_bytes(&S.tgt, b.len);
	cr_assert(memcmp(S.tgt.in.data + at, b.data, b.len) == 0);
	cr_assert_null(rx.conn->refusal);
	cr_assert_eq(rx.nrefused, 0);
	tu_buf_free(&b);
}

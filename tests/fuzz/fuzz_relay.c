/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the active relay (storm_relay) with real loopback
 * sockets on both sides.  Per input, a client connects through the relay to
 * the target's listener this process holds; the input's records (records.h;
 * gap records and start modes do not apply) are written by the client
 * (initiator to target) or by the target (target to initiator), cut as the
 * record says, and the relay is serviced between pieces while both ends
 * read what it forwards.
 *
 * The first input byte picks the relay and its hooks:
 *   bit 0 clear: the plain relay (a pdu hook that reads every header, no
 *          other hook): what reaches each end must be a prefix of what the
 *          other end sent, byte for byte;
 *   bit 0 set: the busy relay: SendTargets rewriting, 64 KiB buffers,
 *          io_start refusing writes to odd LBAs (bit 1) and holding every
 *          third command for a few rounds (bit 2), io_data rewriting data in
 *          place (bit 3), storm_conn_fail() on the 40th PDU (bit 4);
 *   bit 5: the ends shut down their write side and wait for the relay's
 *          orderly close, instead of resetting.
 * Whatever the bytes, the relay must not crash, must free the connection
 * once both ends are gone (checked with storm_relay_connections(), and by
 * LeakSanitizer), and every loop here is bounded, so a relay that stops
 * making progress shows as a timeout. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <storm/relay.h>
#include <storm/scsi.h>

#include "drive.h"

#define SENT_CAP (1u << 20)

struct end {
	int fd;
	uint8_t *sent;      /* what this end wrote (prefix checks) */
	size_t sent_len;
	size_t recv_len;    /* what it read of the other end's bytes */
	bool mismatch_ok;   /* the busy relay may change bytes */
};

static struct {
	storm_relay *plain, *busy;
	int tgt_listen;
	unsigned policy;
	unsigned pdus;
	int held_rounds;
	storm_conn *held;
	storm_conn *conn;
	bool closed;
	struct end ini, tgt;
} F;

static int h_open(storm_relay *r, storm_conn *c, void *u)
{
	(void)r;
	(void)u;
	F.conn = c;
	char buf[128];
	FUZZ_CHECK(storm_conn_format(c, buf, sizeof buf) > 0);
	return 0;
}

static void h_close(storm_relay *r, storm_conn *c, int err, void *u)
{
	(void)r;
	(void)u;
	(void)err;
	FUZZ_CHECK(c == F.conn);
	const char *iqn = storm_conn_initiator_iqn(c);
	if (iqn)
		touch(iqn, strlen(iqn));
	F.conn = NULL;
	F.held = NULL;
	F.closed = true;
}

static int h_pdu(storm_relay *r, storm_conn *c, storm_dir d, const storm_pdu *pdu, void *u)
{
	(void)r;
	(void)d;
	(void)u;
	touch(storm_pdu_bhs(pdu), 48);
	size_t len = 0;
	const uint8_t *ahs = storm_pdu_ahs(pdu, &len);
	if (ahs)
		touch(ahs, len);
	if ((F.policy & 0x11u) == 0x11u && ++F.pdus == 40)
		storm_conn_fail(c);
	return 0;
}

static int h_start(storm_relay *r, storm_conn *c, storm_io *io, void *u)
{
	(void)r;
	(void)u;
	size_t len = 0;
	const uint8_t *cdb = storm_io_cdb(io, &len);
	if (len)
		touch(cdb, len);
	storm_io_op op = storm_io_operation(io);
	if ((F.policy & 0x02u) && (op == STORM_IO_WRITE) && (storm_io_lba(io) & 1)) {
		int rc = storm_conn_refuse(c, io, 0x07, 0x27, 0x00);
		FUZZ_CHECK(rc == 0 || rc == -ENOMEM || rc == -ENOTSUP);
		if (rc == 0)
			return 0;
	}
	if ((F.policy & 0x04u) && !F.held && storm_io_itt(io) % 3 == 0) {
		F.held = c;
		F.held_rounds = 3;
		return STORM_PAUSE;
	}
	return 0;
}

static int h_data(storm_relay *r, storm_conn *c, storm_io *io, storm_dir d, uint64_t off,
		  uint8_t *data, size_t len, void *u)
{
	(void)r;
	(void)c;
	(void)io;
	(void)d;
	(void)off;
	(void)u;
	touch(data, len);
	if (F.policy & 0x08u)
		for (size_t i = 0; i < len; i++)
			data[i] ^= 0x5a;
	return 0;
}

static int h_done(storm_relay *r, storm_conn *c, storm_io *io, void *u)
{
	(void)r;
	(void)c;
	(void)u;
	size_t len = 0;
	const uint8_t *sense = storm_io_sense(io, &len);
	if (sense)
		touch(sense, len);
	g_sink += storm_io_status(io) + (uint32_t)storm_io_bytes(io);
	return 0;
}

static storm_relay *make_relay(bool busy, const char *upstream)
{
	storm_relay_config *cfg = NULL;
	storm_relay_callbacks *cbs = NULL;
	storm_relay *r = NULL;
	if (storm_relay_config_new(&cfg) || storm_relay_callbacks_new(&cbs))
		abort();
	if (storm_relay_config_add_listen(cfg, "127.0.0.1:0") || storm_relay_config_set_upstream(cfg, upstream))
		abort();
	storm_relay_callbacks_set_open(cbs, h_open);
	storm_relay_callbacks_set_close(cbs, h_close);
	storm_relay_callbacks_set_pdu(cbs, h_pdu);
	/* Small buffers: the default 4 MiB per direction would be most of the
	 * time of a run under the sanitizers. */
	storm_relay_config_set_limits(cfg, 4, busy ? 64 * 1024 : 256 * 1024);
	if (busy) {
		storm_relay_config_set_rewrite_discovery(cfg, true);
		storm_relay_callbacks_set_io_start(cbs, h_start);
		storm_relay_callbacks_set_io_data(cbs, h_data);
		storm_relay_callbacks_set_io_done(cbs, h_done);
	}
	if (storm_relay_new(&r, cfg, cbs, NULL))
		abort();
	storm_relay_config_del(cfg);
	storm_relay_callbacks_del(cbs);
	return r;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof a;
	F.tgt_listen = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (F.tgt_listen < 0 || bind(F.tgt_listen, (struct sockaddr *)&a, sizeof a) ||
	    listen(F.tgt_listen, 16) || getsockname(F.tgt_listen, (struct sockaddr *)&a, &alen))
		abort();
	char up[64];
	snprintf(up, sizeof up, "127.0.0.1:%u", ntohs(a.sin_port));
	F.plain = make_relay(false, up);
	F.busy = make_relay(true, up);
	F.ini.sent = malloc(SENT_CAP);
	F.tgt.sent = malloc(SENT_CAP);
	if (!F.ini.sent || !F.tgt.sent)
		abort();
	return 0;
}

/* Reads what reached end @p e; on the plain relay it must be the next bytes
 * the other end sent.  Returns false once the end sees EOF or a reset. */
static bool drain(struct end *e, const struct end *other)
{
	uint8_t buf[65536];
	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(e->fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		if (n == 0)
			return false;
		if (!e->mismatch_ok) {
			FUZZ_CHECK(e->recv_len + (size_t)n <= other->sent_len);
			FUZZ_CHECK(memcmp(buf, other->sent + e->recv_len, (size_t)n) == 0);
		}
		e->recv_len += (size_t)n;
	}
	return true;
}

/* One service round of the relay, both ends drained, a held command let go
 * after a few rounds. */
static void pump(storm_relay *r)
{
	for (int i = 0; i < 8; i++)
		FUZZ_CHECK(storm_relay_service(r, 0) == 0);
	if (F.held && --F.held_rounds <= 0) {
		storm_conn *c = F.held;
		F.held = NULL;
		FUZZ_CHECK(storm_conn_release(c) == 0);
	}
	if (F.ini.fd >= 0)
		drain(&F.ini, &F.tgt);
	if (F.tgt.fd >= 0)
		drain(&F.tgt, &F.ini);
}

/* Writes @p len bytes from end @p e, pumping while the path pushes back;
 * false when the bytes cannot go (the relay closed, or it holds them). */
static bool put(storm_relay *r, struct end *e, const uint8_t *p, size_t len)
{
	for (int tries = 0; len > 0 && tries < 64; tries++) {
		ssize_t n = send(e->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		if (n > 0) {
			size_t room = SENT_CAP - e->sent_len;
			size_t keep = (size_t)n < room ? (size_t)n : room;
			memcpy(e->sent + e->sent_len, p, keep);
			e->sent_len += keep;
			p += n;
			len -= (size_t)n;
		}
		if (len > 0)
			pump(r); /* pushed back: let the relay and the other end move */
		if (F.closed)
			return false;
	}
	return len == 0;
}

static int connect_through(storm_relay *r)
{
	char addr[64];
	if (storm_relay_listen_address(r, 0, addr, sizeof addr) < 0)
		abort();
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				.sin_port = htons((uint16_t)atoi(strrchr(addr, ':') + 1))};
	F.ini.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (F.ini.fd < 0)
		abort();
	int one = 1;
	setsockopt(F.ini.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(F.ini.fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS)
		abort();
	for (int i = 0; i < 2000 && F.tgt.fd < 0; i++) {
		FUZZ_CHECK(storm_relay_service(r, 1) == 0);
		F.tgt.fd = accept4(F.tgt_listen, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	}
	FUZZ_CHECK(F.tgt.fd >= 0); /* the relay reached the target within 2 s */
	setsockopt(F.tgt.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return 0;
}

static void close_end(struct end *e, bool orderly)
{
	if (e->fd < 0)
		return;
	if (!orderly) {
		struct linger l = {.l_onoff = 1, .l_linger = 0};
		setsockopt(e->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	}
	close(e->fd);
	e->fd = -1;
}

/* Ends the connection from both sides and waits for the relay to free it. */
static void finish(storm_relay *r)
{
	bool orderly = F.policy & 0x20u;
	if (orderly) {
		shutdown(F.ini.fd, SHUT_WR);
		shutdown(F.tgt.fd, SHUT_WR);
		for (int i = 0; i < 200 && !F.closed; i++) {
			FUZZ_CHECK(storm_relay_service(r, 1) == 0);
			if (F.held) {
				storm_conn *c = F.held;
				F.held = NULL;
				storm_conn_release(c);
			}
			drain(&F.ini, &F.tgt);
			drain(&F.tgt, &F.ini);
		}
	}
	close_end(&F.ini, false);
	close_end(&F.tgt, false);
	for (int i = 0; i < 2000 && storm_relay_connections(r) > 0; i++)
		FUZZ_CHECK(storm_relay_service(r, 1) == 0);
	FUZZ_CHECK(storm_relay_connections(r) == 0);
	FUZZ_CHECK(F.closed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	F.policy = data[0];
	data++;
	size--;
	storm_relay *r = (F.policy & 1) ? F.busy : F.plain;
	F.pdus = 0;
	F.held = NULL;
	F.conn = NULL;
	F.closed = false;
	F.ini.fd = F.tgt.fd = -1;
	F.ini.sent_len = F.ini.recv_len = F.tgt.sent_len = F.tgt.recv_len = 0;
	F.ini.mismatch_ok = F.tgt.mismatch_ok = (F.policy & 1);
	connect_through(r);

	struct record rec;
	uint32_t state = (uint32_t)size;
	while (!F.closed && record_next(&data, &size, &rec)) {
		if (rec.gap)
			continue;
		struct end *e = rec.dir == STORM_I2T ? &F.ini : &F.tgt;
		unsigned chunk = (rec.flags & REC_CHUNK_MASK) >> REC_CHUNK_SHIFT;
		size_t done = 0;
		for (size_t i = 0; done < rec.len && !F.closed; i++) {
			size_t n = record_chunk(chunk, i, &state, rec.len - done);
			if (!put(r, e, rec.data + done, n))
				break;
			done += n;
			if (i % 32 == 31)
				pump(r);
		}
		pump(r);
	}
	pump(r);
	finish(r);
	return 0;
}

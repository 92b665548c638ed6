/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One relayed connection: the initiator's socket (side 0), the target's
 * (side 1), and a bounded buffer per direction.  Bytes read from one side
 * are parsed (hooks run) and only then written to the other.  A full buffer
 * stops reading from its source: TCP's own flow control then slows the
 * sender, so a stopped target cannot make the relay grow. */
#include <errno.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "relay/relay_int.h"

/* linux/netfilter_ipv4.h and ip6_tables.h define these, but clash with
 * netinet/in.h; the values are the kernel's ABI. */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

/* Side 0 is the source of I2T and the destination of T2I. */
static int src_side(storm_dir d) { return d == STORM_I2T ? 0 : 1; }
static int dst_side(storm_dir d) { return d == STORM_I2T ? 1 : 0; }
static storm_dir dir_from(int side) { return side == 0 ? STORM_I2T : STORM_T2I; }
static storm_dir dir_to(int side) { return side == 0 ? STORM_T2I : STORM_I2T; }

static size_t pending(const struct relay_buf *b) { return b->tail - b->head; }

/* Bytes that may leave: those parsed, and before a held PDU if any. */
static size_t sendable(const storm_conn *c, storm_dir d)
{
	const struct relay_buf *b = &c->buf[d];
	size_t limit = buf_pos(c, d, c->stream_parsed[d]);
	if (c->held[d]) {
		size_t h = buf_pos(c, d, c->hold_from[d]);
		limit = h < limit ? h : limit;
	}
	if (c->guarded[d]) { /* bytes the relay may still cut or rewrite (guard.c) */
		size_t g = buf_pos(c, d, c->guard_from[d]);
		limit = g < limit ? g : limit;
	}
	return limit > b->head ? limit - b->head : 0;
}

static uint32_t wanted(const storm_conn *c, int side)
{
	uint32_t ev = 0;
	storm_dir in = dir_from(side), out = dir_to(side);
	bool connecting = c->connecting && side == 1;
	if (!connecting && !c->eof[in] && pending(&c->buf[in]) < c->buf[in].cap)
		ev |= EPOLLIN;
	if (connecting || sendable(c, out) > 0)
		ev |= EPOLLOUT;
	return ev;
}

static void arm(storm_conn *c, int side)
{
	uint32_t ev = wanted(c, side);
	if (c->parked[side] ? ev == 0 : ev == c->armed[side])
		return;
	struct epoll_event e = {.events = ev, .data.ptr = &c->tag[side]};
	epoll_ctl(c->relay->ep, c->parked[side] ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd[side], &e);
	c->parked[side] = false;
	c->armed[side] = ev;
}

/* epoll reports EPOLLHUP (both directions of a socket shut) whatever the
 * mask: a hung-up side the relay wants nothing from, e.g. while its last
 * bytes wait for room toward a slow peer, would wake every wait.  It leaves
 * the set until arm() wants it again; an error meanwhile shows then. */
static void park(storm_conn *c, int side)
{
	epoll_ctl(c->relay->ep, EPOLL_CTL_DEL, c->fd[side], NULL);
	c->parked[side] = true;
	c->armed[side] = 0;
}

/* No Nagle delay; keepalive probes and a bound on unacknowledged data when
 * configured (storm_relay_config_set_keepalive). */
static void tune(const storm_relay *r, int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	const struct storm_relay_config *cfg = &r->cfg;
	if (!cfg->ka_idle)
		return;
	int idle = (int)cfg->ka_idle, intvl = (int)cfg->ka_interval, cnt = (int)cfg->ka_count;
	uint64_t ms = ((uint64_t)cfg->ka_idle + (uint64_t)cfg->ka_interval * cfg->ka_count) * 1000u;
	int user_ms = ms < INT_MAX ? (int)ms : INT_MAX;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_ms, sizeof user_ms);
}

/* ---- teardown --------------------------------------------------------- */

static void unlink_conn(storm_relay *r, storm_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		r->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	r->nconns--;
}

/* A reset side is answered with a reset: SO_LINGER 0 makes close() send RST,
 * which the initiator's recovery treats like any lost connection. */
static void close_side(storm_conn *c, int side)
{
	if (c->fd[side] < 0)
		return;
	if (c->err) {
		struct linger lg = {1, 0};
		setsockopt(c->fd[side], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	}
	epoll_ctl(c->relay->ep, EPOLL_CTL_DEL, c->fd[side], NULL);
	close(c->fd[side]);
	c->fd[side] = -1;
}

/* How a connection that was let through ended (storm_relay_stats). */
static void count_end(storm_relay *r, const storm_conn *c)
{
	storm_relay_stats *st = &r->st;
	st->bytes[STORM_I2T] += c->bytes[STORM_I2T];
	st->bytes[STORM_T2I] += c->bytes[STORM_T2I];
	if (!c->opened)
		return; /* counted at accept */
	if (c->err == 0)
		st->closed++;
	else if (c->end_why == END_IQN)
		st->refused_iqn++;
	else if (c->end_why == END_HOOK)
		st->failed++;
	else if (c->err == -ETIMEDOUT) /* a deadline, keepalive or TCP_USER_TIMEOUT */
		st->timed_out++;
	else
		st->failed++;
}

/* Closes both sides now, reports the end of every task and of the
 * connection, and queues the memory for the end of the service round. */
void conn_fail(storm_conn *c, int err)
{
	storm_relay *r = c->relay;
	if (c->dead)
		return;
	c->dead = true;
	if (err && !c->err)
		c->err = err;
	count_end(r, c);
	close_side(c, 0);
	close_side(c, 1);
	if (c->session)
		storm_session_close(c->session);
	/* The close hook pairs with an open hook that accepted the connection. */
	if (r->cb.close && c->opened)
		r->cb.close(r, c, c->err, r->user);
	unlink_conn(r, c);
	c->next = r->dead;
	r->dead = c;
}

void conn_free(storm_conn *c)
{
	storm_session_del(c->session);
	refuse_free(c->refusal);
	free(c->buf[0].data);
	free(c->buf[1].data);
	free(c);
}

/* ---- moving bytes ----------------------------------------------------- */

static void finish_if_done(storm_conn *c)
{
	if (c->shut[STORM_I2T] && c->shut[STORM_T2I])
		conn_fail(c, 0);
}

/* Writes what direction @p d holds to its destination. */
static int flush_dir(storm_conn *c, storm_dir d)
{
	struct relay_buf *b = &c->buf[d];
	int fd = c->fd[dst_side(d)];
	if (c->connecting && d == STORM_I2T)
		return 0;
	for (;;) {
		size_t ready = sendable(c, d);
		if (ready == 0)
			break;
		ssize_t n = send(fd, b->data + b->head, ready, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -errno;
		}
		b->head += (size_t)n;
		c->bytes[d] += (size_t)n;
	}
	if (pending(b) == 0) {
		b->head = b->tail = 0;
		if (c->eof[d] && !c->shut[d]) {
			shutdown(fd, SHUT_WR);
			c->shut[d] = true;
		}
	}
	return 0;
}

/* Makes room at the end of the buffer by moving the pending bytes down. */
static void compact(struct relay_buf *b)
{
	if (b->head == 0)
		return;
	memmove(b->data, b->data + b->head, pending(b));
	b->tail -= b->head;
	b->head = 0;
}

/* Hooks see the bytes before the destination does.  The parser pauses for
 * two reasons: a hook holds a command (parsing waits for storm_conn_release),
 * or a held SendTargets response is whole and is rewritten now; the bytes
 * after it then sit elsewhere in the buffer, which buf_pos() follows. */
static int parse(storm_conn *c, storm_dir d)
{
	struct relay_buf *b = &c->buf[d];
	storm_iscsi *p = storm_session_parser(c->session);
	while (!c->paused[d] && (c->stream_parsed[d] < c->stream_at_tail[d] ||
				 storm_iscsi_pending(p, d))) {
		size_t at = buf_pos(c, d, c->stream_parsed[d]);
		ssize_t fed = storm_session_feed(c->session, d, b->data + at, b->tail - at);
		if (fed < 0)
			return (int)fed;
		if (c->fail_requested)
			return -ECONNABORTED;
		c->stream_parsed[d] += (uint64_t)fed;
		if (conn_rewrites(c)) {
			int rc = conn_fed(c, d);
			if (rc)
				return rc;
		}
		if (c->rewrite_due) {
			c->rewrite_due = false;
			int rc = discovery_rewrite(c);
			if (rc)
				return rc;
		}
	}
	/* A refusal's response waits in T2I (refuse.c): parse and send it now. */
	if (d == STORM_I2T && c->refusal && refuse_t2i_waiting(c)) {
		int rc = parse(c, STORM_T2I);
		return rc ? rc : flush_dir(c, STORM_T2I);
	}
	return 0;
}

void conn_resume(storm_conn *c)
{
	c->held[STORM_I2T] = false;
	c->paused[STORM_I2T] = false;
	int rc = parse(c, STORM_I2T);
	if (!rc)
		rc = flush_dir(c, STORM_I2T);
	if (rc) {
		conn_fail(c, rc);
		return;
	}
	arm(c, 0);
	arm(c, 1);
}

/* Reads what direction @p d's source has, parses it, and tries to forward it. */
static int fill_dir(storm_conn *c, storm_dir d)
{
	struct relay_buf *b = &c->buf[d];
	if (b->tail == b->cap)
		compact(b);
	if (b->tail == b->cap || c->eof[d])
		return 0;
	ssize_t n = recv(c->fd[src_side(d)], b->data + b->tail, b->cap - b->tail, 0);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0) {
		c->eof[d] = true;
		return flush_dir(c, d);
	}
	b->tail += (size_t)n;
	c->stream_at_tail[d] += (size_t)n;
	int rc = parse(c, d);
	return rc ? rc : flush_dir(c, d);
}

/* A socket's pending error (and clears it): 0 or -errno. */
static int sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	return -err;
}

static int finish_connect(storm_conn *c)
{
	int err = sock_error(c->fd[1]);
	if (err)
		return err;
	c->connecting = false;
	deadline_set(c, c->relay->cfg.login_ms);
	tune(c->relay, c->fd[1]);
	return flush_dir(c, STORM_I2T);
}

void conn_event(storm_conn *c, int side, uint32_t events)
{
	int rc = 0;
	if (c->connecting && side == 1) {
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			rc = finish_connect(c);
	} else {
		/* A reset of a side whose input already ended reaches no recv():
		 * only EPOLLERR tells, and level-triggered epoll would repeat it
		 * forever. */
		if (events & EPOLLERR)
			rc = sock_error(c->fd[side]);
		if (!rc && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
			rc = fill_dir(c, dir_from(side));
		if (!rc && (events & (EPOLLOUT | EPOLLERR)))
			rc = flush_dir(c, dir_to(side));
	}
	if (rc) {
		conn_fail(c, rc);
		return;
	}
	if (c->dead)
		return; /* a hook failed it */
	/* A held response that fills the whole buffer can never complete. */
	if (c->held[STORM_T2I] && pending(&c->buf[STORM_T2I]) == c->buf[STORM_T2I].cap) {
		conn_fail(c, -ENOBUFS);
		return;
	}
	if ((events & EPOLLHUP) && wanted(c, side) == 0)
		park(c, side);
	arm(c, 0);
	arm(c, 1);
	finish_if_done(c);
}

/* ---- new connections --------------------------------------------------- */

static bool address_allowed(const storm_relay *r, const struct sockaddr_storage *peer)
{
	if (r->cfg.nallow == 0)
		return true;
	for (unsigned i = 0; i < r->cfg.nallow; i++)
		if (cidr_match(&r->cfg.allow[i], peer))
			return true;
	return false;
}

/* Transparent mode: where the initiator meant to go.  A connection that was
 * not redirected has, as original destination, the very address it reached
 * (the accepted socket's own name, which a wildcard listener's name is not);
 * it is refused, or the relay would connect to itself. */
static int destination(storm_relay *r, int fd, struct sockaddr_storage *dst)
{
	if (!r->cfg.transparent) {
		*dst = r->cfg.upstream;
		return 0;
	}
	socklen_t len = sizeof *dst;
	memset(dst, 0, sizeof *dst);
	if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, dst, &len) < 0 &&
	    getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, dst, &len) < 0)
		return -errno;
	struct sockaddr_storage own;
	socklen_t sl = sizeof own;
	if (getsockname(fd, (struct sockaddr *)&own, &sl) == 0 && addr_equal(&own, dst))
		return -ELOOP;
	return 0;
}

static int connect_upstream(storm_conn *c, const struct sockaddr_storage *dst)
{
	int fd = socket(dst->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	c->fd[1] = fd;
	endpoint_of(dst, &c->ends[1]);
	if (connect(fd, (const struct sockaddr *)dst, addr_len(dst)) < 0 && errno != EINPROGRESS)
		return -errno;
	c->connecting = true;
	return 0;
}

static int register_sides(storm_conn *c)
{
	for (int side = 0; side < 2; side++) {
		c->tag[side] = (struct tag){TAG_CONN, side, c};
		c->armed[side] = wanted(c, side);
		struct epoll_event e = {.events = c->armed[side], .data.ptr = &c->tag[side]};
		if (epoll_ctl(c->relay->ep, EPOLL_CTL_ADD, c->fd[side], &e) < 0)
			return -errno;
	}
	return 0;
}

static int conn_setup(storm_conn *c, int fd, const struct sockaddr_storage *peer)
{
	storm_relay *r = c->relay;
	struct sockaddr_storage dst;
	c->fd[0] = fd;
	c->fd[1] = -1;
	endpoint_of(peer, &c->ends[0]);
	tune(r, fd);
	for (int d = 0; d < 2; d++) {
		c->buf[d].cap = r->cfg.max_buffered;
		c->buf[d].data = malloc(c->buf[d].cap);
		if (!c->buf[d].data)
			return -ENOMEM;
	}
	if (storm_session_new(&c->session, r->scb, r->pcb, c))
		return -ENOMEM;
	int rc = destination(r, fd, &dst);
	if (!rc)
		rc = connect_upstream(c, &dst);
	if (!rc)
		rc = register_sides(c);
	if (!rc)
		deadline_set(c, c->connecting ? r->cfg.connect_ms : r->cfg.login_ms);
	return rc;
}

static void conn_new(storm_relay *r, int fd, const struct sockaddr_storage *peer)
{
	storm_conn *c = calloc(1, sizeof *c);
	if (!c) {
		close(fd);
		return;
	}
	c->relay = r;
	c->next = r->conns;
	if (r->conns)
		r->conns->prev = c;
	r->conns = c;
	r->nconns++;
	int rc = conn_setup(c, fd, peer);
	if (rc)
		r->st.setup_failed++;
	else if (r->cb.open && r->cb.open(r, c, r->user)) {
		r->st.refused_hook++;
		rc = -ECONNREFUSED;
	} else
		r->st.accepted++;
	c->opened = rc == 0;
	if (rc)
		conn_fail(c, rc);
}

void conn_accept(storm_relay *r, int lfd)
{
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof peer;
		int fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or a transient failure: the next event retries */
		if (!address_allowed(r, &peer)) {
			r->st.refused_address++;
			close(fd);
			continue;
		}
		if (r->nconns >= r->cfg.max_conns) {
			r->st.refused_limit++;
			close(fd);
			continue;
		}
		conn_new(r, fd, &peer);
	}
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* relay-floor: the cheapest TCP proxy this machine can run, for
 * bench/bench_relay.sh only (not built by CMake, not installed; the bench
 * compiles it with cc).  It has the shape of storm-relay's loop (one
 * level-triggered epoll set, a bounded buffer per direction, one read per
 * readable event and the write at once) and none of its work: no parsing,
 * no hooks.  Whatever storm-relay costs beyond this floor is libstorm's;
 * what the floor itself costs is the second TCP hop's.
 *
 *   relay-floor LISTEN_PORT UPSTREAM_PORT [copy|splice]     (127.0.0.1 only)
 *
 * copy:   recv() into a 4 MiB buffer, send() from it (what storm-relay does);
 * splice: socket -> pipe (1 MiB) -> socket with splice(2), no user-space
 *         copy: the most any zero-copy forwarding of data segments could save.
 * SIGTERM ends it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_CAP (4u << 20)
#define PIPE_CAP (1u << 20)

struct dir {
	int src, dst;    /* socket fds */
	uint8_t *buf;    /* copy mode */
	int pipe[2];     /* splice mode */
	size_t cap, head, tail; /* splice mode: tail - head bytes sit in the pipe */
	bool eof, shut;
};

struct conn {
	int fd[2];       /* [0] client, [1] upstream */
	struct dir d[2]; /* [0] client -> upstream, [1] upstream -> client */
	uint32_t armed[2];
	int side_tag[2]; /* epoll data points here: its value is the side */
	bool dead;
	struct conn *next_dead;
};

static bool g_splice;
static int g_ep;
static struct conn *g_dead; /* closed in this round: later events of it are skipped */

static size_t pending(const struct dir *d) { return d->tail - d->head; }

/* Moves what the direction holds to its destination: 0, or -1 to close. */
static int flush(struct dir *d)
{
	while (pending(d) > 0) {
		ssize_t n = g_splice ? splice(d->pipe[0], NULL, d->dst, NULL, pending(d),
					      SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
				     : send(d->dst, d->buf + d->head, pending(d), MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		d->head += (size_t)n;
	}
	d->head = d->tail = 0;
	if (d->eof && !d->shut) {
		shutdown(d->dst, SHUT_WR);
		d->shut = true;
	}
	return 0;
}

/* One read of what the source has (as storm-relay's fill_dir), then flush. */
static int fill(struct dir *d)
{
	if (d->eof || pending(d) == d->cap)
		return 0;
	ssize_t n = g_splice ? splice(d->src, NULL, d->pipe[1], NULL, d->cap - pending(d),
				      SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
			     : recv(d->src, d->buf + d->tail, d->cap - d->tail, 0);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		d->eof = true;
	d->tail += (size_t)n;
	return flush(d);
}

static uint32_t wanted(const struct conn *c, int side)
{
	const struct dir *in = &c->d[side], *out = &c->d[!side];
	uint32_t ev = 0;
	if (!in->eof && pending(in) < in->cap)
		ev |= EPOLLIN;
	if (pending(out) > 0)
		ev |= EPOLLOUT;
	return ev;
}

static void conn_free(struct conn *c)
{
	for (int i = 0; i < 2; i++) {
		free(c->d[i].buf);
		if (c->d[i].pipe[0] >= 0) {
			close(c->d[i].pipe[0]);
			close(c->d[i].pipe[1]);
		}
	}
	free(c);
}

/* Closes the sockets now (close() also leaves the epoll set); the memory
 * goes at the end of the round, when no queued event can point at it. */
static void conn_close(struct conn *c)
{
	for (int i = 0; i < 2; i++)
		if (c->fd[i] >= 0)
			close(c->fd[i]);
	c->dead = true;
	c->next_dead = g_dead;
	g_dead = c;
}

static void on_event(struct conn *c, int side, uint32_t ev)
{
	int rc = 0;
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
		rc = fill(&c->d[side]);
	if (!rc && (ev & (EPOLLOUT | EPOLLERR)))
		rc = flush(&c->d[!side]);
	if (rc || (c->d[0].shut && c->d[1].shut)) {
		conn_close(c); /* close() takes the fds out of the epoll set */
		return;
	}
	for (int s = 0; s < 2; s++) {
		uint32_t w = wanted(c, s);
		if (w == c->armed[s])
			continue;
		struct epoll_event e = {.events = w, .data.ptr = &c->side_tag[s]};
		epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd[s], &e);
		c->armed[s] = w;
	}
}

static int dir_init(struct dir *d, int src, int dst)
{
	d->src = src;
	d->dst = dst;
	if (!g_splice) {
		d->cap = BUF_CAP;
		d->buf = malloc(BUF_CAP);
		return d->buf ? 0 : -1;
	}
	if (pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	int sz = fcntl(d->pipe[1], F_SETPIPE_SZ, PIPE_CAP);
	d->cap = sz > 0 ? (size_t)sz : 65536;
	return 0;
}

static void accept_one(int lfd, const struct sockaddr_in *up)
{
	int one = 1;
	int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	int ufd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct conn *c = calloc(1, sizeof *c);
	if (ufd < 0 || !c || connect(ufd, (const struct sockaddr *)up, sizeof *up) < 0) {
		close(cfd);
		if (ufd >= 0)
			close(ufd);
		free(c);
		return;
	}
	fcntl(ufd, F_SETFL, O_NONBLOCK);
	c->fd[0] = cfd;
	c->fd[1] = ufd;
	for (int i = 0; i < 2; i++)
		c->d[i].pipe[0] = c->d[i].pipe[1] = -1;
	if (dir_init(&c->d[0], cfd, ufd) || dir_init(&c->d[1], ufd, cfd)) {
		close(cfd);
		close(ufd);
		conn_free(c);
		return;
	}
	for (int s = 0; s < 2; s++) {
		setsockopt(c->fd[s], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		c->side_tag[s] = s;
		c->armed[s] = EPOLLIN;
		struct epoll_event e = {.events = EPOLLIN, .data.ptr = &c->side_tag[s]};
		epoll_ctl(g_ep, EPOLL_CTL_ADD, c->fd[s], &e);
	}
}

static volatile sig_atomic_t g_stop;
static void on_term(int sig) { (void)sig; g_stop = 1; }

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: relay-floor LISTEN_PORT UPSTREAM_PORT [copy|splice]\n");
		return 1;
	}
	g_splice = argc > 3 && strcmp(argv[3], "splice") == 0;
	struct sockaddr_in la = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons((uint16_t)atoi(argv[1]))};
	struct sockaddr_in up = la;
	up.sin_port = htons((uint16_t)atoi(argv[2]));
	int one = 1;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(lfd, (struct sockaddr *)&la, sizeof la) < 0 || listen(lfd, 64) < 0) {
		perror("relay-floor: listen");
		return 2;
	}
	struct sigaction sa = {.sa_handler = on_term};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	g_ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event le = {.events = EPOLLIN, .data.ptr = NULL};
	epoll_ctl(g_ep, EPOLL_CTL_ADD, lfd, &le);
	while (!g_stop) {
		struct epoll_event evs[64];
		int n = epoll_wait(g_ep, evs, 64, -1);
		for (int i = 0; i < n; i++) {
			if (!evs[i].data.ptr) {
				accept_one(lfd, &up);
				continue;
			}
			int *tag = evs[i].data.ptr;
			int side = *tag;
			struct conn *c = (struct conn *)((char *)(tag - side) - offsetof(struct conn, side_tag));
			if (!c->dead)
				on_event(c, side, evs[i].events);
		}
		while (g_dead) {
			struct conn *c = g_dead;
			g_dead = c->next_dead;
			conn_free(c);
		}
	}
	return 0;
}

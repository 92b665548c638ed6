/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* relay-floor: the cheapest TCP proxy this machine can run, for
 * bench/bench_relay.sh only (not built by CMake, not installed; the bench
 * compiles it with cc).  It has the shape of storm-relay's loop (one
 * level-triggered epoll set, a bounded buffer per direction, one read per
 * readable event and the write at once) and none of its work: no parsing,
 * no hooks.  Whatever storm-relay costs beyond this floor is libstorm's;
 * what the floor itself costs is the second TCP hop's.
 *
 *   relay-floor LISTEN_PORT UPSTREAM_PORT [copy|splice|sockmap]  (127.0.0.1 only)
 *
 * copy:    recv() into a 4 MiB buffer, send() from it (what storm-relay does);
 * splice:  socket -> pipe (1 MiB) -> socket with splice(2), no user-space
 *          copy: the most any zero-copy forwarding of data segments could save;
 * sockmap: the kernel forwards: once the target's first bytes (the login
 *          response) arrive, both sockets go into a SOCKHASH whose verdict
 *          program (eBPF, assembled below) redirects every segment to the
 *          other socket's egress; the process only waits for a hang-up.  No
 *          process copies or wakes per message: the most a relay that lets
 *          the kernel carry the full feature phase could save.  Root only;
 *          at a hang-up both sockets close at once (bytes the kernel still
 *          holds for the other side may go): a bench shortcut.
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
#include <linux/bpf.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
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
	bool dead, paired;
	struct conn *next_dead;
};

static bool g_splice;
static int g_sockmap = -1; /* sockmap mode: the SOCKHASH, cookie -> peer */

static long bpf_call(int cmd, union bpf_attr *a) { return syscall(SYS_bpf, cmd, a, sizeof *a); }

#define INSN(c, d, s_, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s_), .off = (o), .imm = (i)})

/* SOCKHASH keyed by a socket's cookie holding its peer; a verdict program
 * on every socket in it redirects what arrives to the peer's egress. */
static int sockmap_init(void)
{
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.map_type = BPF_MAP_TYPE_SOCKHASH;
	a.key_size = 8;
	a.value_size = 4;
	a.max_entries = 1024;
	int map = (int)bpf_call(BPF_MAP_CREATE, &a);
	if (map < 0)
		return -1;
	struct bpf_insn prog[] = {
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_get_socket_cookie),
		INSN(BPF_STX | BPF_MEM | BPF_DW, 10, 0, -8, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 1, 6, 0, 0),
		INSN(BPF_LD | BPF_IMM | BPF_DW, 2, BPF_PSEUDO_MAP_FD, 0, map),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 3, 10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 3, 0, 0, -8),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, 0),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_sk_redirect_hash),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	static char logbuf[65536];
	memset(&a, 0, sizeof a);
	a.prog_type = BPF_PROG_TYPE_SK_SKB;
	a.insns = (uint64_t)(uintptr_t)prog;
	a.insn_cnt = sizeof prog / sizeof prog[0];
	a.license = (uint64_t)(uintptr_t)"GPL";
	a.log_buf = (uint64_t)(uintptr_t)logbuf;
	a.log_size = sizeof logbuf;
	a.log_level = 1;
	int pfd = (int)bpf_call(BPF_PROG_LOAD, &a);
	if (pfd < 0) {
		fprintf(stderr, "relay-floor: BPF_PROG_LOAD: %s\n%s\n", strerror(errno), logbuf);
		return -1;
	}
	memset(&a, 0, sizeof a);
	a.target_fd = (uint32_t)map;
	a.attach_bpf_fd = (uint32_t)pfd;
	a.attach_type = BPF_SK_SKB_VERDICT;
	if (bpf_call(BPF_PROG_ATTACH, &a) < 0) {
		perror("relay-floor: BPF_PROG_ATTACH");
		return -1;
	}
	g_sockmap = map;
	return 0;
}

static int sockmap_pair(int a_fd, int b_fd)
{
	for (int i = 0; i < 2; i++) {
		int self = i ? b_fd : a_fd, peer = i ? a_fd : b_fd;
		uint64_t cookie;
		socklen_t len = sizeof cookie;
		if (getsockopt(self, SOL_SOCKET, SO_COOKIE, &cookie, &len) < 0)
			return -1;
		union bpf_attr a;
		memset(&a, 0, sizeof a);
		a.map_fd = (uint32_t)g_sockmap;
		a.key = (uint64_t)(uintptr_t)&cookie;
		a.value = (uint64_t)(uintptr_t)&peer;
		a.flags = BPF_ANY;
		if (bpf_call(BPF_MAP_UPDATE_ELEM, &a) < 0) {
			perror("relay-floor: BPF_MAP_UPDATE_ELEM");
			return -1;
		}
	}
	return 0;
}
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
	if (c->paired) {
		if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			conn_close(c);
		return;
	}
	/* sockmap: the first bytes from the target (the login response) are
	 * copied; before they go, the initiator is waiting for them and has
	 * nothing queued, so the kernel takes over both directions there. */
	if (g_sockmap >= 0 && side == 1 && (ev & EPOLLIN)) {
		struct dir *d = &c->d[1];
		ssize_t n = recv(d->src, d->buf, d->cap, 0);
		if (n <= 0 || sockmap_pair(c->fd[0], c->fd[1]) < 0 || send(d->dst, d->buf, (size_t)n, MSG_NOSIGNAL) != n) {
			conn_close(c);
			return;
		}
		c->paired = true;
		for (int s = 0; s < 2; s++) {
			struct epoll_event e = {.events = EPOLLRDHUP, .data.ptr = &c->side_tag[s]};
			epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd[s], &e);
		}
		return;
	}
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
		struct epoll_event e = {.events = c->armed[s], .data.ptr = &c->side_tag[s]};
		epoll_ctl(g_ep, EPOLL_CTL_ADD, c->fd[s], &e);
	}
}

static volatile sig_atomic_t g_stop;
static void on_term(int sig) { (void)sig; g_stop = 1; }

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: relay-floor LISTEN_PORT UPSTREAM_PORT [copy|splice|sockmap]\n");
		return 1;
	}
	g_splice = argc > 3 && strcmp(argv[3], "splice") == 0;
	if (argc > 3 && strcmp(argv[3], "sockmap") == 0 && sockmap_init() < 0)
		return 2;
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

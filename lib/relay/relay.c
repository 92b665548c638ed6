/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The relay's event loop: listeners, a stop eventfd and the connections, all
 * in one epoll set.  No threads: everything runs in the caller's. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "relay/relay_int.h"

static int listen_one(storm_relay *r, unsigned i)
{
	const struct sockaddr_storage *sa = &r->cfg.listen[i];
	int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (sa->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, (const struct sockaddr *)sa, addr_len(sa)) < 0 || listen(fd, 128) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	r->lfd[i] = fd;
	r->ltag[i] = (struct tag){TAG_LISTEN, (int)i, NULL};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &r->ltag[i]};
	return epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int setup(storm_relay *r)
{
	r->ep = epoll_create1(EPOLL_CLOEXEC);
	r->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->ep < 0 || r->stopfd < 0)
		return -errno;
	r->stop_tag = (struct tag){TAG_STOP, 0, NULL};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &r->stop_tag};
	if (epoll_ctl(r->ep, EPOLL_CTL_ADD, r->stopfd, &ev) < 0)
		return -errno;
	r->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->wakefd < 0)
		return -errno;
	r->wake_tag = (struct tag){TAG_WAKE, 0, NULL};
	struct epoll_event wev = {.events = EPOLLIN, .data.ptr = &r->wake_tag};
	if (epoll_ctl(r->ep, EPOLL_CTL_ADD, r->wakefd, &wev) < 0)
		return -errno;
	int rc = deadline_setup(r);
	if (rc)
		return rc;
	for (unsigned i = 0; i < r->cfg.nlisten; i++) {
		rc = listen_one(r, i);
		if (rc)
			return rc;
	}
	return hooks_make(r);
}

STORM_EXTERN int storm_relay_new(storm_relay **rp, const storm_relay_config *cfg,
				 const storm_relay_callbacks *cbs, void *user)
{
	*rp = NULL;
	if (cfg->mode != STORM_RELAY_ACTIVE)
		return -ENOTSUP;
	if (cfg->nlisten == 0 || (!cfg->has_upstream && !cfg->transparent))
		return -EINVAL;
	storm_relay *r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	r->cfg = *cfg;
	if (cbs)
		r->cb = *cbs;
	r->user = user;
	r->ep = r->stopfd = r->wakefd = r->timerfd = -1;
	for (unsigned i = 0; i < RELAY_MAX_LISTEN; i++)
		r->lfd[i] = -1;
	int rc = setup(r);
	if (rc) {
		storm_relay_del(r);
		return rc;
	}
	*rp = r;
	return 0;
}

static void free_dead(storm_relay *r)
{
	while (r->dead) {
		storm_conn *c = r->dead;
		r->dead = c->next;
		conn_free(c);
	}
}

STORM_EXTERN void storm_relay_del(storm_relay *r)
{
	if (!r)
		return;
	while (r->conns)
		conn_fail(r->conns, -ECANCELED);
	free_dead(r);
	for (unsigned i = 0; i < RELAY_MAX_LISTEN; i++)
		if (r->lfd[i] >= 0)
			close(r->lfd[i]);
	if (r->stopfd >= 0)
		close(r->stopfd);
	if (r->wakefd >= 0)
		close(r->wakefd);
	if (r->timerfd >= 0)
		close(r->timerfd);
	if (r->ep >= 0)
		close(r->ep);
	storm_session_callbacks_del(r->scb);
	storm_iscsi_callbacks_del(r->pcb);
	free(r);
}

STORM_EXTERN int storm_relay_fd(const storm_relay *r) { return r->ep; }
STORM_EXTERN void storm_relay_stats_get(const storm_relay *r, storm_relay_stats *out)
{
	*out = r->st;
	for (const storm_conn *c = r->conns; c; c = c->next) {
		if (c->dead)
			continue; /* closing (its hooks run now): already in r->st */
		out->bytes[STORM_I2T] += c->bytes[STORM_I2T];
		out->bytes[STORM_T2I] += c->bytes[STORM_T2I];
	}
}

STORM_EXTERN size_t storm_relay_connections(const storm_relay *r) { return r->nconns; }
STORM_EXTERN void *storm_relay_user(const storm_relay *r) { return r->user; }

static void dispatch(storm_relay *r, const struct epoll_event *ev)
{
	struct tag *t = ev->data.ptr;
	switch (t->kind) {
	case TAG_STOP: {
		uint64_t v;
		if (read(r->stopfd, &v, sizeof v) < 0 && errno != EAGAIN)
			break;
		r->stopping = 1;
		break;
	}
	case TAG_WAKE: {
		uint64_t v;
		ssize_t rd = read(r->wakefd, &v, sizeof v);
		(void)rd; /* the resume list is walked every round anyway */
		break;
	}
	case TAG_TIMER:
		deadline_sweep(r);
		break;
	case TAG_LISTEN:
		conn_accept(r, r->lfd[t->index]);
		break;
	case TAG_CONN:
		if (!t->conn->dead)
			conn_event(t->conn, t->index, ev->events);
		break;
	}
}

/* Connections whose hold was released since the last round. */
static void resume_released(storm_relay *r)
{
	while (r->resume) {
		storm_conn *c = r->resume;
		r->resume = c->resume_next;
		c->resume_due = false;
		if (!c->dead)
			conn_resume(c);
	}
}

void relay_wake(storm_relay *r, storm_conn *c)
{
	if (c->resume_due)
		return;
	c->resume_due = true;
	c->resume_next = r->resume;
	r->resume = c;
	uint64_t one = 1;
	ssize_t n = write(r->wakefd, &one, sizeof one);
	(void)n;
}

STORM_EXTERN int storm_relay_service(storm_relay *r, int timeout_ms)
{
	struct epoll_event evs[64];
	int n = epoll_wait(r->ep, evs, 64, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++)
		dispatch(r, &evs[i]);
	resume_released(r);
	/* Connections closed in this round may still have had events queued
	 * in evs[]; they are freed only now. */
	free_dead(r);
	return 0;
}

STORM_EXTERN int storm_relay_run(storm_relay *r)
{
	while (!r->stopping) {
		int rc = storm_relay_service(r, -1);
		if (rc)
			return rc;
	}
	r->stopping = 0;
	return 0;
}

STORM_EXTERN void storm_relay_stop(storm_relay *r)
{
	uint64_t one = 1;
	/* write() is async-signal-safe; a full counter means a stop is pending. */
	ssize_t n = write(r->stopfd, &one, sizeof one);
	(void)n;
}

STORM_EXTERN int storm_relay_listen_address(const storm_relay *r, unsigned i, char *buf, size_t len)
{
	if (i >= r->cfg.nlisten || r->lfd[i] < 0)
		return -ENOENT;
	struct sockaddr_storage sa;
	socklen_t sl = sizeof sa;
	if (getsockname(r->lfd[i], (struct sockaddr *)&sa, &sl) < 0)
		return -errno;
	storm_endpoint ep;
	endpoint_of(&sa, &ep);
	char host[64];
	inet_ntop(ep.family, ep.addr, host, sizeof host);
	int n = snprintf(buf, len, ep.family == AF_INET6 ? "[%s]:%u" : "%s:%u", host, ep.port);
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

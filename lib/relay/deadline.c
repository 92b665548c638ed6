/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Deadlines of connections not yet in Full Feature Phase: the upstream
 * connect and the Login.  A peer that never answers a SYN, or an initiator
 * (or anything else on the network) that connects and never logs in, would
 * otherwise hold one of the relay's connection slots for good.  One timerfd
 * in the relay's epoll set ticks while any connection has a deadline; each
 * tick sweeps the connections, so a deadline is kept to within a tick. */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "relay/relay_int.h"

#define TICK_MS 250

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void tick(storm_relay *r, bool on)
{
	if (r->ticking == on)
		return;
	struct itimerspec it;
	memset(&it, 0, sizeof it);
	if (on) {
		it.it_value.tv_nsec = TICK_MS * 1000000L;
		it.it_interval.tv_nsec = TICK_MS * 1000000L;
	}
	if (timerfd_settime(r->timerfd, 0, &it, NULL) == 0)
		r->ticking = on;
}

int deadline_setup(storm_relay *r)
{
	r->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (r->timerfd < 0)
		return -errno;
	r->timer_tag = (struct tag){TAG_TIMER, 0, NULL};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &r->timer_tag};
	return epoll_ctl(r->ep, EPOLL_CTL_ADD, r->timerfd, &ev) < 0 ? -errno : 0;
}

void deadline_set(storm_conn *c, unsigned ms)
{
	c->deadline = ms ? now_ms() + ms : 0;
	if (c->deadline)
		tick(c->relay, true);
}

/* In Full Feature Phase a connection has no deadline; before it, one that
 * passed its deadline fails with -ETIMEDOUT, which closes both sides. */
void deadline_sweep(storm_relay *r)
{
	uint64_t expirations;
	ssize_t n = read(r->timerfd, &expirations, sizeof expirations);
	(void)n;
	uint64_t now = now_ms();
	bool any = false;
	for (storm_conn *c = r->conns, *next; c; c = next) {
		next = c->next;
		if (!c->deadline || c->dead)
			continue;
		if (!c->connecting && storm_iscsi_in_ffp(storm_session_parser(c->session))) {
			c->deadline = 0;
			continue;
		}
		if (now >= c->deadline) {
			conn_fail(c, -ETIMEDOUT);
			continue;
		}
		any = true;
	}
	if (!any)
		tick(r, false);
}

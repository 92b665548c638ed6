/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "callbacks.h"

#include <errno.h>
#include <stdlib.h>

#include "internal.h"

STORM_EXTERN int storm_tcp_callbacks_new(storm_tcp_callbacks **cbs)
{
	*cbs = calloc(1, sizeof **cbs);
	return *cbs ? 0 : -ENOMEM;
}

STORM_EXTERN void storm_tcp_callbacks_del(storm_tcp_callbacks *cbs)
{
	free(cbs);
}

STORM_EXTERN void storm_tcp_callbacks_set_open(storm_tcp_callbacks *cbs, storm_tcp_open_cb cb)
{
	cbs->open = cb;
}

STORM_EXTERN void storm_tcp_callbacks_set_data(storm_tcp_callbacks *cbs, storm_tcp_data_cb cb)
{
	cbs->data = cb;
}

STORM_EXTERN void storm_tcp_callbacks_set_gap(storm_tcp_callbacks *cbs, storm_tcp_gap_cb cb)
{
	cbs->gap = cb;
}

STORM_EXTERN void storm_tcp_callbacks_set_close(storm_tcp_callbacks *cbs, storm_tcp_close_cb cb)
{
	cbs->close = cb;
}

int cb_open(storm_tcp *t, storm_flow *f)
{
	return t->cbs.open ? t->cbs.open(t, f, t->user) : 0;
}

int cb_data(storm_tcp *t, storm_flow *f, storm_dir dir, const uint8_t *p, size_t n)
{
	return t->cbs.data ? t->cbs.data(t, f, dir, p, n, t->user) : 0;
}

int cb_gap(storm_tcp *t, storm_flow *f, storm_dir dir, uint64_t n)
{
	return t->cbs.gap ? t->cbs.gap(t, f, dir, n, t->user) : 0;
}

void cb_close(storm_tcp *t, storm_flow *f, storm_tcp_close why)
{
	if (t->cbs.close)
		t->cbs.close(t, f, why, t->user);
}

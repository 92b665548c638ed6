/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The callbacks table and the calls into it.  Internal.
 *
 * Unset callbacks behave as if they returned 0, so the rest of the code
 * never tests for NULL.
 */
#ifndef STORM_TCP_CALLBACKS_H
#define STORM_TCP_CALLBACKS_H

#include <storm/tcp.h>

struct storm_tcp_callbacks {
	storm_tcp_open_cb open;
	storm_tcp_data_cb data;
	storm_tcp_gap_cb gap;
	storm_tcp_close_cb close;
};

int cb_open(storm_tcp *t, storm_flow *f);
int cb_data(storm_tcp *t, storm_flow *f, storm_dir dir, const uint8_t *p, size_t n);
int cb_gap(storm_tcp *t, storm_flow *f, storm_dir dir, uint64_t n);
void cb_close(storm_tcp *t, storm_flow *f, storm_tcp_close why);

#endif

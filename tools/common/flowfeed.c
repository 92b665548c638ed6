/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One storm_session per TCP flow of a capture (see flowfeed.h). */
#include <errno.h>

#include "flowfeed.h"

int flow_feed_data(struct flow_feed *ff, storm_flow *f, storm_dir d, const uint8_t *data,
		   size_t len, int *bad)
{
	*bad = 0;
	if (ff->broken[d])
		return 0;
	if (!ff->started) {
		ff->started = true;
		if (!storm_flow_syn_seen(f, STORM_I2T))
			storm_iscsi_start_midstream(storm_session_parser(ff->session), false, false);
	}
	ssize_t n = storm_session_feed(ff->session, d, data, len);
	if (n == -ENOMEM)
		return -ENOMEM;
	if (n < 0) {
		ff->broken[d] = true;
		*bad = (int)n;
	}
	return 0;
}

void flow_feed_gap(struct flow_feed *ff, storm_dir d, uint64_t len)
{
	if (!ff->broken[d] && storm_session_gap(ff->session, d, len) < 0)
		ff->broken[d] = true;
}

void flow_feed_end(struct flow_feed *ff)
{
	storm_session_close(ff->session);
	storm_session_del(ff->session);
	ff->session = NULL;
}

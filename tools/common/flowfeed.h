/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One storm_session per TCP flow of a capture: what storm-dump and
 * storm-monitor both do with the bytes, gaps and end of a flow. */
#ifndef STORM_TOOLS_FLOWFEED_H
#define STORM_TOOLS_FLOWFEED_H

#include <stdbool.h>
#include <storm/storm.h>

struct flow_feed {
	storm_session *session;
	bool broken[2];  /* per direction: undecodable, the rest is ignored */
	bool started;    /* the first data was seen */
};

/*
 * Feeds @p len bytes of direction @p d of flow @p f.  The first bytes of a
 * flow whose handshake the capture lacks start the parser mid-stream
 * (digests unknown, assumed off; framing found by resynchronisation).
 * @return 0 or -ENOMEM.  A malformed stream marks the direction broken and
 * puts its error in *@p bad (0 otherwise); the other direction goes on.
 */
int flow_feed_data(struct flow_feed *ff, storm_flow *f, storm_dir d, const uint8_t *data,
		   size_t len, int *bad);

/* @p len bytes of direction @p d were lost in the capture. */
void flow_feed_gap(struct flow_feed *ff, storm_dir d, uint64_t len);

/* The flow ended: what its session still holds is reported lost, and it is freed. */
void flow_feed_end(struct flow_feed *ff);

#endif

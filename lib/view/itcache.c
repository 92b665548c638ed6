/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A read cache of inode-table blocks as the volume source holds them.
 *
 * Every reported write piece looks its inode up (for the size clip), and a
 * live source (iSCSI) answers each miss with a round trip to the target.
 * Inode tables never move and are only ever changed by writes, which the
 * view takes into its overlay (ov_put drops the block here) and which then
 * shadow the source.  The one gap is a write the caller does not feed (it
 * failed, or ended with its connection, yet may have reached the medium):
 * with a live source the caller reports it with storm_view_invalidate(), and
 * every block a fed write touches, with or without its bytes, is dropped too
 * (forget() in track.c).  Direct-mapped,
 * IT_CACHE_BYTES in all, allocated at the first miss.
 */
#include "view/track_int.h"

#include <stdlib.h>
#include <string.h>

#define IT_CACHE_BYTES (4u << 20)

static bool it_alloc(struct track *t)
{
	if (t->it_slots)
		return true;
	uint32_t slots = IT_CACHE_BYTES / t->bs;

	t->it_tag = calloc(slots, sizeof(*t->it_tag));
	t->it_data = malloc((size_t)slots * t->bs);
	if (!t->it_tag || !t->it_data) {
		free(t->it_tag);
		free(t->it_data);
		t->it_tag = NULL;
		t->it_data = NULL;
		return false;
	}
	t->it_slots = slots;
	return true;
}

const uint8_t *it_read(struct track *t, uint64_t block, uint8_t *buf)
{
	const uint8_t *p;

	if (t->it_slots) {
		uint32_t s = (uint32_t)(block % t->it_slots);

		if (t->it_tag[s] == block + 1) {
			t->st.source_cached++;
			memcpy(buf, t->it_data + (size_t)s * t->bs, t->bs);
			return buf;
		}
	}
	p = tk_source(t, block, buf);
	if (p && it_alloc(t)) {
		uint32_t s = (uint32_t)(block % t->it_slots);

		memcpy(t->it_data + (size_t)s * t->bs, p, t->bs);
		t->it_tag[s] = block + 1;
	}
	return p;
}

void it_forget(struct track *t, uint64_t first, uint64_t count)
{
	if (!t->it_slots)
		return;
	if (count >= t->it_slots) {
		memset(t->it_tag, 0, (size_t)t->it_slots * sizeof(*t->it_tag));
		return;
	}
	for (uint64_t b = first; b < first + count; b++) {
		uint32_t s = (uint32_t)(b % t->it_slots);

		if (t->it_tag[s] == b + 1)
			t->it_tag[s] = 0;
	}
}

void it_free(struct track *t)
{
	free(t->it_tag);
	free(t->it_data);
	t->it_tag = NULL;
	t->it_data = NULL;
	t->it_slots = 0;
}

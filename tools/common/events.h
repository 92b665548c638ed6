/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Block I/O events as JSON Lines, shared by storm-dump --events and
 * storm-relay --events: one object per completed task, with the SHA-256 of
 * its data bytes. */
#ifndef STORM_TOOLS_EVENTS_H
#define STORM_TOOLS_EVENTS_H

#include <storm/storm.h>

/* At task start: attaches a hash to the task.  0 or -ENOMEM. */
int ev_start(storm_io *io);
/* For each data piece: hashes it when it arrives in offset order. */
void ev_data(storm_io *io, storm_dir d, uint64_t off, const uint8_t *data, size_t len);
/* At task end: prints the event(s) (one per UNMAP range) and frees the hash. */
void ev_done(const char *flow, double ts, storm_io *io);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Command-line numbers, as storm-dump, storm-relay and storm-monitor read them. */
#ifndef STORM_TOOLS_NUM_H
#define STORM_TOOLS_NUM_H

#include <stdint.h>

/* A decimal number with nothing before or after it (no sign, no space), at
 * most @p max, into *@p out.  0, or -1 (and *@p out untouched). */
int tool_parse_u64(const char *s, uint64_t max, uint64_t *out);

#endif

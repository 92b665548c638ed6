/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A tiny JSON Lines writer for storm-monitor: one object per line, keys in
 * call order, written to stdout by jo_end(). */
#ifndef STORM_MONITOR_JSONL_H
#define STORM_MONITOR_JSONL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct jobj {
	char buf[1024 + 4 * 4096]; /* room for a PATH_MAX path, escaped */
	size_t len;
	bool overflow;
} jobj;

void jo_begin(jobj *j);
void jo_str(jobj *j, const char *key, const char *val);
void jo_null(jobj *j, const char *key);
void jo_u64(jobj *j, const char *key, uint64_t v);
void jo_ts(jobj *j, const char *key, double seconds);
/* Closes the object and writes the line to stdout (dropped if it overflowed). */
void jo_end(jobj *j);

#endif

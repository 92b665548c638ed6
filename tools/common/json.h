/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A minimal JSON Lines writer: one object per line, keys in call order. */
#ifndef STORM_DUMP_JSON_H
#define STORM_DUMP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct json_line {
	char buf[1024 + 4 * 4096]; /* room for a PATH_MAX path, escaped */
	size_t len;
	bool overflow;
} json_line;

/* Where lines go (stdout until set). */
void jl_set_output(FILE *out);
void jl_begin(json_line *j);
void jl_str(json_line *j, const char *key, const char *val);
void jl_null(json_line *j, const char *key);
void jl_u64(json_line *j, const char *key, uint64_t v);
void jl_i64(json_line *j, const char *key, int64_t v);
void jl_bool(json_line *j, const char *key, bool v);
void jl_double(json_line *j, const char *key, double v);
/* Closes the object and writes the line (dropped if it overflowed). */
void jl_end(json_line *j);

#endif

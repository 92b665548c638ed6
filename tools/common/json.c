/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "json.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void put(json_line *j, const char *s, size_t n)
{
	if (j->len + n + 2 > sizeof j->buf) {
		j->overflow = true;
		return;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
}

static void put_key(json_line *j, const char *key)
{
	if (j->len > 1)
		put(j, ",", 1);
	put(j, "\"", 1);
	put(j, key, strlen(key));
	put(j, "\":", 2);
}

static FILE *g_out;

void jl_set_output(FILE *out)
{
	g_out = out;
}

void jl_begin(json_line *j)
{
	j->len = 0;
	j->overflow = false;
	put(j, "{", 1);
}

static void put_escaped(json_line *j, const char *s)
{
	put(j, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(j, esc, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			put(j, esc, 6);
		} else {
			put(j, (const char *)&c, 1);
		}
	}
	put(j, "\"", 1);
}

void jl_str(json_line *j, const char *key, const char *val)
{
	put_key(j, key);
	put_escaped(j, val);
}

void jl_null(json_line *j, const char *key)
{
	put_key(j, key);
	put(j, "null", 4);
}

void jl_u64(json_line *j, const char *key, uint64_t v)
{
	char tmp[24];
	size_t n = sizeof tmp;
	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put_key(j, key);
	put(j, tmp + n, sizeof tmp - n);
}

void jl_i64(json_line *j, const char *key, int64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
	put_key(j, key);
	put(j, tmp, (size_t)n);
}

void jl_bool(json_line *j, const char *key, bool v)
{
	put_key(j, key);
	put(j, v ? "true" : "false", v ? 4 : 5);
}

void jl_double(json_line *j, const char *key, double v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof tmp, "%.6f", v);
	put_key(j, key);
	put(j, tmp, (size_t)n);
}

void jl_end(json_line *j)
{
	/* A line missing fields would mislead a reader more than no line. */
	if (j->overflow)
		return;
	/* put() always leaves room for these two bytes. */
	j->buf[j->len++] = '}';
	j->buf[j->len++] = '\n';
	fwrite(j->buf, 1, j->len, g_out ? g_out : stdout);
}

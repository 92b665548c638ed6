/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "jsonl.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void put(jobj *j, const char *s, size_t n)
{
	/* Always leave room for the closing "}\n". */
	if (j->overflow || j->len + n + 2 > sizeof j->buf) {
		j->overflow = true;
		return;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
}

static void key(jobj *j, const char *k)
{
	if (j->len > 1)
		put(j, ",", 1);
	put(j, "\"", 1);
	put(j, k, strlen(k));
	put(j, "\":", 2);
}

void jo_begin(jobj *j)
{
	j->len = 0;
	j->overflow = false;
	put(j, "{", 1);
}

void jo_str(jobj *j, const char *k, const char *val)
{
	key(j, k);
	put(j, "\"", 1);
	for (const unsigned char *s = (const unsigned char *)val; *s; s++) {
		char esc[8];
		if (*s == '"' || *s == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*s;
			put(j, esc, 2);
		} else if (*s < 0x20 || *s == 0x7f) {
			snprintf(esc, sizeof esc, "\\u%04x", *s);
			put(j, esc, 6);
		} else if (*s >= 0x80) {
			/* File names are bytes, not necessarily UTF-8: keep the
			 * line valid JSON by escaping every high byte. */
			snprintf(esc, sizeof esc, "\\u%04x", *s);
			put(j, esc, 6);
		} else {
			put(j, (const char *)s, 1);
		}
	}
	put(j, "\"", 1);
}

void jo_null(jobj *j, const char *k)
{
	key(j, k);
	put(j, "null", 4);
}

void jo_u64(jobj *j, const char *k, uint64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v);
	key(j, k);
	put(j, tmp, (size_t)n);
}

void jo_ts(jobj *j, const char *k, double seconds)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof tmp, "%.6f", seconds);
	key(j, k);
	put(j, tmp, (size_t)n);
}

void jo_end(jobj *j)
{
	if (j->overflow)
		return;
	j->buf[j->len++] = '}';
	j->buf[j->len++] = '\n';
	fwrite(j->buf, 1, j->len, stdout);
}

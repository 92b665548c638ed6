/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "iscsi/text.h"

#include <string.h>
#include <storm/common.h>

static int emit_pair(struct text_parser *t, text_pair_fn fn, void *ctx, const char **why)
{
	t->buf[t->len] = '\0';
	char *eq = memchr(t->buf, '=', t->len);
	t->len = 0;
	if (!eq || eq == t->buf) {
		*why = "key=value pair without a key or '='";
		return STORM_ERR_TEXT;
	}
	*eq = '\0';
	return fn(ctx, t->buf, eq + 1);
}

int text_feed(struct text_parser *t, const uint8_t *in, size_t len,
	      text_pair_fn fn, void *ctx, const char **why)
{
	while (len > 0) {
		const uint8_t *nul = memchr(in, '\0', len);
		size_t n = nul ? (size_t)(nul - in) : len;
		if (t->len + n > STORM_ISCSI_MAX_KEY) {
			*why = "key=value pair longer than 8192 bytes";
			return STORM_ERR_TEXT;
		}
		memcpy(t->buf + t->len, in, n);
		t->len += n;
		if (!nul)
			return 0;
		in += n + 1;
		len -= n + 1;
		if (t->len == 0)
			continue; /* padding NULs between pairs */
		int rc = emit_pair(t, fn, ctx, why);
		if (rc)
			return rc;
	}
	return 0;
}

int text_pdu_end(struct text_parser *t, bool continued, text_pair_fn fn, void *ctx,
		 const char **why)
{
	if (continued || t->len == 0)
		return 0;
	return emit_pair(t, fn, ctx, why);
}

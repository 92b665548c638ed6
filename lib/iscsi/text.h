/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streaming key=value parser for Login and Text data segments (RFC 7143 §6.1,
 * §5.3).  Pairs are NUL-terminated and may be split across PDUs when the C
 * bit is set; only the pair being assembled is buffered. */
#ifndef STORM_ISCSI_TEXT_H
#define STORM_ISCSI_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <storm/iscsi.h>

struct text_parser {
	char buf[STORM_ISCSI_MAX_KEY + 1];
	size_t len;
};

/* Called for each complete pair; key and value are NUL-terminated. */
typedef int (*text_pair_fn)(void *ctx, const char *key, const char *value);

/* Feeds data bytes; calls @p fn for each complete pair.  Returns 0, the
 * callback's non-zero value, or STORM_ERR_TEXT (reason in @p why). */
int text_feed(struct text_parser *t, const uint8_t *in, size_t len,
	      text_pair_fn fn, void *ctx, const char **why);

/* At the end of a PDU: without the C bit, a pair left unterminated is taken as
 * complete (lenient towards peers that omit the last NUL). */
int text_pdu_end(struct text_parser *t, bool continued, text_pair_fn fn, void *ctx,
		 const char **why);

#endif

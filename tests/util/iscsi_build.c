/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "iscsi_build.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"

void tb_init(tb_pdu *p, unsigned opcode, unsigned flags, uint32_t itt)
{
	memset(p, 0, sizeof *p);
	p->bhs[0] = (uint8_t)opcode;
	p->bhs[1] = (uint8_t)flags;
	put_be32(p->bhs + 16, itt);
}

void tb_u32(tb_pdu *p, size_t off, uint32_t v) { put_be32(p->bhs + off, v); }
void tb_u64(tb_pdu *p, size_t off, uint64_t v) { put_be64(p->bhs + off, v); }
void tb_lun(tb_pdu *p, unsigned lun) { p->bhs[9] = (uint8_t)lun; }

void tb_data(tb_pdu *p, const void *data, size_t len)
{
	p->data = data;
	p->dsl = len;
}

void tb_emit(tu_buf *out, const tb_pdu *p, bool hdigest, bool ddigest)
{
	uint8_t hdr[48 + 1020 + 4];
	memcpy(hdr, p->bhs, 48);
	hdr[4] = (uint8_t)(p->ahs_len / 4);
	put_be24(hdr + 5, (uint32_t)p->dsl);
	memcpy(hdr + 48, p->ahs, p->ahs_len);
	size_t hlen = 48 + p->ahs_len;
	if (hdigest) {
		put_le32(hdr + hlen, storm_crc32c(0, hdr, hlen));
		hlen += 4;
	}
	tu_buf_put(out, hdr, hlen);
	if (!p->dsl)
		return;
	static const uint8_t zero[4];
	size_t pad = (4 - (p->dsl & 3)) & 3;
	tu_buf_put(out, p->data, p->dsl);
	tu_buf_put(out, zero, pad);
	if (ddigest) {
		uint8_t d[4];
		uint32_t crc = storm_crc32c(0, p->data, p->dsl);
		put_le32(d, storm_crc32c(crc, zero, pad));
		tu_buf_put(out, d, 4);
	}
}

tu_buf *tb_seg(tb_script *s, storm_dir d)
{
	if (s->n == 0 || s->dir[s->n - 1] != d) {
		if (s->n == TB_MAX_SEGS)
			abort();
		s->dir[s->n] = d;
		s->seg[s->n] = (tu_buf){0};
		s->n++;
	}
	return &s->seg[s->n - 1];
}

void tb_script_free(tb_script *s)
{
	for (size_t i = 0; i < s->n; i++)
		tu_buf_free(&s->seg[i]);
	s->n = 0;
}

size_t tb_script_len(const tb_script *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		n += s->seg[i].len;
	return n;
}

size_t tb_text(uint8_t *out, size_t cap, const char *const *pairs, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(pairs[i]) + 1;
		if (len + l > cap)
			abort();
		memcpy(out + len, pairs[i], l);
		len += l;
	}
	return len;
}

void tb_login(tb_script *s, const char *const *pairs_i, size_t ni,
	      const char *const *pairs_t, size_t nt)
{
	static uint8_t text[2][8192];
	tb_pdu p;
	tb_init(&p, 0x40 | STORM_OP_LOGIN_REQ, 0x80 | 0x04 | 0x03, 1); /* T, CSG=1, NSG=3 */
	tb_data(&p, text[0], tb_text(text[0], sizeof text[0], pairs_i, ni));
	tb_emit(tb_seg(s, STORM_I2T), &p, false, false);
	tb_init(&p, STORM_OP_LOGIN_RESP, 0x80 | 0x04 | 0x03, 1);
	p.bhs[36] = 0; /* status class: success */
	tb_data(&p, text[1], tb_text(text[1], sizeof text[1], pairs_t, nt));
	tb_emit(tb_seg(s, STORM_T2I), &p, false, false);
}

int tb_run(const tb_script *s, tb_feed_fn feed, void *ctx, tb_chunk_fn chunk, void *cstate)
{
	for (size_t i = 0; i < s->n; i++) {
		const uint8_t *b = s->seg[i].data;
		size_t left = s->seg[i].len;
		while (left > 0) {
			size_t n = chunk(cstate, left);
			uint8_t *copy = malloc(n);
			memcpy(copy, b, n);
			size_t done = 0;
			while (done < n) {
				ssize_t rc = feed(ctx, s->dir[i], copy + done, n - done);
				if (rc < 0) {
					free(copy);
					return (int)rc;
				}
				done += (size_t)rc; /* a pause returns less: feed the rest */
			}
			free(copy);
			b += n;
			left -= n;
		}
	}
	return 0;
}

size_t tb_chunk_whole(void *state, size_t left)
{
	(void)state;
	return left;
}

size_t tb_chunk_one(void *state, size_t left)
{
	(void)state;
	(void)left;
	return 1;
}

size_t tb_chunk_random(void *state, size_t left)
{
	uint64_t r = tu_rand(state);
	size_t n = (r & 1) ? 1 + (r >> 8) % 7 : 1 + (r >> 8) % 3000;
	return n < left ? n : left;
}

size_t tb_chunk_split(void *state, size_t left)
{
	tb_split *sp = state;
	size_t n = left;
	if (sp->pos < sp->at && sp->at < sp->pos + left)
		n = sp->at - sp->pos;
	sp->pos += n;
	return n;
}

void tb_tracef(tb_trace *t, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
	if (t->len + len + 1 > t->cap) {
		t->cap = (t->cap + len + 1) * 2;
		t->text = realloc(t->text, t->cap);
	}
	memcpy(t->text + t->len, line, len);
	t->len += len;
	t->text[t->len] = '\0';
}

void tb_trace_free(tb_trace *t)
{
	free(t->text);
	*t = (tb_trace){0};
}

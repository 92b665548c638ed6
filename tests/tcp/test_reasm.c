/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/tcp/reasm.c: one direction's in-order delivery, first data wins, gaps. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/reasm.h"
#include "util/testutil.h"

/* A sink that records bytes, and every event as text. */
struct sink_rec {
	tu_buf bytes;
	char log[8192];
	size_t loglen;
	uint64_t gap_total;
	int fail;
};

static int rec_data(void *ctx, const uint8_t *p, size_t n)
{
	struct sink_rec *r = ctx;
	tu_buf_put(&r->bytes, p, n);
	r->loglen += (size_t)snprintf(r->log + r->loglen, sizeof r->log - r->loglen, "D%zu ", n);
	cr_assert_lt(r->loglen, sizeof r->log);
	return r->fail;
}

static int rec_gap(void *ctx, uint64_t n)
{
	struct sink_rec *r = ctx;
	r->gap_total += n;
	r->loglen += (size_t)snprintf(r->log + r->loglen, sizeof r->log - r->loglen, "G%llu ",
				      (unsigned long long)n);
	cr_assert_lt(r->loglen, sizeof r->log);
	return 0;
}

static struct sink_rec rec;
static struct tcp_sink sink;
static struct tcp_stream st;

static void setup(void)
{
	memset(&rec, 0, sizeof rec);
	memset(&st, 0, sizeof st);
	sink = (struct tcp_sink){ rec_data, rec_gap, &rec };
}

static void teardown(void)
{
	stream_free(&st);
	tu_buf_free(&rec.bytes);
}

TestSuite(reasm, .init = setup, .fini = teardown);

static int put(uint32_t seq, const char *s, size_t limit)
{
	return stream_data(&st, seq, (const uint8_t *)s, strlen(s), limit, &sink);
}

static void assert_bytes(const char *want)
{
	size_t n = strlen(want);
	cr_assert_eq(rec.bytes.len, n, "delivered %zu bytes, want %zu", rec.bytes.len, n);
	cr_assert(n == 0 || memcmp(rec.bytes.data, want, n) == 0, "got \"%.*s\", want \"%s\"",
		  (int)rec.bytes.len, (const char *)rec.bytes.data, want);
}

Test(reasm, in_order_is_delivered_at_once_without_copy)
{
	stream_syn(&st, 999);
	cr_assert_eq(put(1000, "hello ", 0), 0);
	cr_assert_eq(put(1006, "world", 0), 0);
	assert_bytes("hello world");
	cr_assert_str_eq(rec.log, "D6 D5 ");
	cr_assert_eq(st.next, 1011);
	cr_assert_null(st.hold);
}

Test(reasm, out_of_order_is_held_then_released)
{
	stream_syn(&st, 0);
	cr_assert_eq(put(6, "world", 100), 0);
	cr_assert_eq(put(11, "!", 100), 0);
	cr_assert_eq(rec.bytes.len, 0);
	cr_assert_eq(st.held, 6);
	cr_assert_eq(put(1, "hello", 100), 0);
	assert_bytes("helloworld!");
	cr_assert_eq(st.held, 0);
	cr_assert_null(st.hold);
	cr_assert_null(st.tail);
}

Test(reasm, mid_stream_starts_at_first_segment)
{
	cr_assert_eq(put(5000, "abc", 100), 0);
	cr_assert_eq(put(4990, "0123456789abc", 100), 0); /* all before the start: old */
	cr_assert_eq(put(5003, "def", 100), 0);
	assert_bytes("abcdef");
}

Test(reasm, first_data_wins_against_delivered_and_held_bytes)
{
	stream_syn(&st, 99);
	cr_assert_eq(put(100, "AAAA", 100), 0);     /* delivered: 100..103 */
	cr_assert_eq(put(108, "CCCC", 100), 0);     /* held: 108..111 */
	cr_assert_eq(put(102, "xxBBBBxxxxDD", 100), 0); /* only 104..107 and 112..113 are new */
	assert_bytes("AAAABBBBCCCCDD");
	cr_assert_str_eq(rec.log, "D4 D4 D4 D2 ");
}

Test(reasm, keepalive_of_one_old_byte_changes_nothing)
{
	stream_syn(&st, 0);
	cr_assert_eq(put(1, "abcd", 100), 0);
	cr_assert_eq(put(4, "Z", 100), 0); /* RFC 9293 §3.8.4: seq = next - 1, one garbage byte */
	cr_assert_eq(put(5, "e", 100), 0);
	assert_bytes("abcde");
}

Test(reasm, zero_window_probe_then_retransmission)
{
	stream_syn(&st, 0);
	cr_assert_eq(put(1, "ab", 100), 0);
	cr_assert_eq(put(3, "c", 100), 0);   /* probe: the next byte alone */
	cr_assert_eq(put(3, "cdef", 100), 0); /* the window opens */
	assert_bytes("abcdef");
	cr_assert_str_eq(rec.log, "D2 D1 D3 ");
}

Test(reasm, sequence_numbers_wrap_around_2_pow_32)
{
	stream_syn(&st, 0xfffffff9u);
	cr_assert_eq(st.next, 0xfffffffau);
	cr_assert_eq(put(0x00000002u, "ijkl", 100), 0); /* after the wrap, held */
	cr_assert_eq(put(0xfffffffau, "abc", 100), 0);
	cr_assert_eq(put(0xfffffffdu, "def", 100), 0); /* ends exactly at 2^32 */
	cr_assert_eq(put(0xffffffffu, "Xgh", 100), 0); /* old byte, then held bytes */
	assert_bytes("abcdefghijkl");
	cr_assert_eq(st.next, 6);
}

Test(reasm, hold_overflow_reports_exact_gap_to_earliest_held)
{
	stream_syn(&st, 0);
	cr_assert_eq(put(1, "ab", 8), 0);
	cr_assert_eq(put(11, "KLMN", 8), 0);   /* hole 3..10 */
	cr_assert_eq(put(15, "OPQR", 8), 0);   /* 8 held: at the bound */
	cr_assert_eq(st.held, 8);
	cr_assert_eq(put(30, "xyz", 8), 0);    /* would pass it */
	/* Gap 3..10 (8 bytes), then the held bytes; the new segment now fits. */
	cr_assert_str_eq(rec.log, "D2 G8 D4 D4 ");
	cr_assert_eq(st.next, 19);
	cr_assert_eq(st.held, 3);
	cr_assert_eq(stream_drain(&st, &sink), 0);
	cr_assert_str_eq(rec.log, "D2 G8 D4 D4 G11 D3 ");
	assert_bytes("abKLMNOPQRxyz");
	cr_assert_eq(rec.gap_total, 19);
	cr_assert_eq(st.next, 33);
}

Test(reasm, overflow_with_new_segment_before_held_skips_only_to_it)
{
	stream_syn(&st, 0);
	cr_assert_eq(put(21, "UVWX", 4), 0); /* held, bound reached */
	cr_assert_eq(put(11, "KL", 4), 0);   /* before the held piece: gap 1..10 only */
	cr_assert_str_eq(rec.log, "G10 D2 ");
	cr_assert_eq(put(13, "MNOPQRST", 4), 0); /* fills the hole to the held piece */
	assert_bytes("KLMNOPQRSTUVWX");
	cr_assert_eq(rec.gap_total, 10);
}

Test(reasm, zero_hold_bound_turns_every_hole_into_a_gap)
{
	stream_syn(&st, 0);
	cr_assert_eq(put(1, "a", 0), 0);
	cr_assert_eq(put(5, "e", 0), 0);
	cr_assert_eq(put(2, "bcd", 0), 0); /* too late: skipped already */
	assert_bytes("ae");
	cr_assert_str_eq(rec.log, "D1 G3 D1 ");
}

Test(reasm, drain_reports_every_hole_with_its_length)
{
	stream_syn(&st, 1000);
	cr_assert_eq(put(1001, "a", 1000), 0);
	cr_assert_eq(put(1010, "b", 1000), 0);
	cr_assert_eq(put(1100, "cd", 1000), 0);
	cr_assert_eq(stream_drain(&st, &sink), 0);
	cr_assert_str_eq(rec.log, "D1 G8 D1 G89 D2 ");
	cr_assert_eq(st.next, 1102);
}

Test(reasm, drain_after_fin_reports_the_hole_before_it)
{
	stream_syn(&st, 0);
	cr_assert_eq(put(1, "abc", 100), 0);
	stream_fin(&st, 20);
	cr_assert_not(st.finished);
	cr_assert_eq(stream_drain(&st, &sink), 0);
	cr_assert_str_eq(rec.log, "D3 G16 ");
	cr_assert(st.finished);
}

Test(reasm, fin_finishes_once_reached)
{
	stream_syn(&st, 0);
	cr_assert_eq(put(4, "def", 100), 0);
	stream_fin(&st, 7);
	cr_assert_not(st.finished);
	cr_assert_eq(put(1, "abc", 100), 0);
	stream_check_fin(&st);
	cr_assert(st.finished);
	assert_bytes("abcdef");
}

Test(reasm, data_a_window_or_more_ahead_is_refused)
{
	stream_syn(&st, 0);
	cr_assert_eq(put(1 + (1u << 30), "far", 1u << 20), 0);
	cr_assert_eq(st.held, 0);
	cr_assert_eq(put((1u << 30) - 10, "near", 1u << 20), 0);
	cr_assert_eq(st.held, 4);
}

Test(reasm, sink_error_is_returned)
{
	stream_syn(&st, 0);
	rec.fail = -42;
	cr_assert_eq(put(1, "abc", 100), -42);
}

/*
 * Segments of a 24-byte stream, overlapping and duplicated; every copy of a
 * byte has its own content, so the output shows which copy was delivered.
 */
struct seg {
	uint32_t off, len;
};

static uint8_t content(unsigned seg, uint32_t pos)
{
	return (uint8_t)(pos * 7 + seg * 31 + 1);
}

/* Feeds segments in the given order; checks each byte came from its first arrival. */
static void check_order(uint32_t base, const struct seg *segs, const unsigned *order, unsigned n,
			uint32_t total, size_t limit)
{
	setup();
	stream_syn(&st, base - 1);
	uint8_t want[256];
	bool have[256] = { false };
	for (unsigned i = 0; i < n; i++) {
		const struct seg *s = &segs[order[i]];
		uint8_t buf[256];
		for (uint32_t k = 0; k < s->len; k++) {
			buf[k] = content(order[i], s->off + k);
			if (!have[s->off + k]) {
				have[s->off + k] = true;
				want[s->off + k] = buf[k];
			}
		}
		cr_assert_eq(stream_data(&st, base + s->off, buf, s->len, limit, &sink), 0);
	}
	cr_assert_eq(stream_drain(&st, &sink), 0);
	/* Walk the log: data must match first arrivals, gaps and data must tile [0,total). */
	uint32_t pos = 0;
	size_t at = 0;
	const char *l = rec.log;
	while (*l) {
		char kind = *l++;
		unsigned long v = strtoul(l, (char **)&l, 10);
		cr_assert_eq(*l++, ' ');
		if (kind == 'D') {
			cr_assert_leq(at + v, rec.bytes.len);
			for (unsigned long k = 0; k < v; k++)
				cr_assert_eq(rec.bytes.data[at + k], want[pos + k],
					     "byte %lu differs from its first arrival", pos + k);
			at += v;
		}
		pos += (uint32_t)v;
	}
	cr_assert_eq(pos, total);
	cr_assert_eq(at, rec.bytes.len);
	cr_assert_eq(st.next, base + total);
	if (limit >= total)
		cr_assert_eq(rec.gap_total, 0);
	stream_free(&st);
	tu_buf_free(&rec.bytes);
}

static bool next_permutation(unsigned *a, unsigned n)
{
	int i = (int)n - 2;
	while (i >= 0 && a[i] >= a[i + 1])
		i--;
	if (i < 0)
		return false;
	int j = (int)n - 1;
	while (a[j] <= a[i])
		j--;
	unsigned tmp = a[i];
	a[i] = a[j];
	a[j] = tmp;
	for (unsigned lo = (unsigned)i + 1, hi = n - 1; lo < hi; lo++, hi--) {
		tmp = a[lo];
		a[lo] = a[hi];
		a[hi] = tmp;
	}
	return true;
}

static const struct seg perm_segs[] = {
	{ 0, 6 }, { 4, 8 }, { 10, 4 }, { 12, 12 }, { 3, 2 }, { 4, 8 } /* duplicate range */
};

static void all_permutations(uint32_t base)
{
	unsigned order[6] = { 0, 1, 2, 3, 4, 5 };
	unsigned count = 0;
	do {
		check_order(base, perm_segs, order, 6, 24, 1000);
		count++;
	} while (next_permutation(order, 6));
	cr_assert_eq(count, 720);
}

Test(reasm, every_permutation_of_overlapping_segments)
{
	all_permutations(1000);
}

Test(reasm, every_permutation_across_the_wrap)
{
	all_permutations(0xfffffff4u); /* the stream crosses 2^32 at byte 12 */
}

static void shuffle(unsigned *a, unsigned n, uint64_t *rs)
{
	for (unsigned i = n - 1; i > 0; i--) {
		unsigned j = (unsigned)(tu_rand(rs) % (i + 1));
		unsigned tmp = a[i];
		a[i] = a[j];
		a[j] = tmp;
	}
}

/* Random segments covering [0,200) plus random duplicates and overlaps. */
static unsigned random_segs(struct seg *segs, uint64_t *rs)
{
	unsigned n = 0;
	for (uint32_t off = 0; off < 200;) {
		uint32_t len = 1 + (uint32_t)(tu_rand(rs) % 20);
		if (off + len > 200)
			len = 200 - off;
		segs[n++] = (struct seg){ off, len };
		off += len;
	}
	unsigned extra = (unsigned)(tu_rand(rs) % 20);
	for (unsigned i = 0; i < extra; i++) {
		uint32_t off = (uint32_t)(tu_rand(rs) % 200);
		uint32_t len = 1 + (uint32_t)(tu_rand(rs) % 30);
		if (off + len > 200)
			len = 200 - off;
		segs[n++] = (struct seg){ off, len };
	}
	return n;
}

static void random_rounds(size_t limit, unsigned rounds, uint64_t seed)
{
	uint64_t rs = seed;
	for (unsigned round = 0; round < rounds; round++) {
		struct seg segs[256];
		unsigned order[256];
		unsigned n = random_segs(segs, &rs);
		for (unsigned i = 0; i < n; i++)
			order[i] = i;
		shuffle(order, n, &rs);
		uint32_t base = round % 2 ? 0xffffff80u : (uint32_t)tu_rand(&rs);
		check_order(base, segs, order, n, 200, limit);
	}
}

Test(reasm, random_shuffles_with_duplicates_and_overlaps)
{
	random_rounds(1 << 20, 2000, 0x1234);
}

Test(reasm, random_shuffles_under_a_small_hold_bound)
{
	random_rounds(16, 2000, 0x9876);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench_parser: throughput of the iSCSI parser and the session tracker on a
 * write-heavy stream built in memory, against memcpy of the same bytes.
 *
 *   bench_parser [MIB]      (default 1024 MiB of write data)
 *
 * The stream is MIB/256 tasks, each a SCSI Command WRITE(10) of 256 KiB
 * followed by one unsolicited Data-Out PDU of 256 KiB (initiator to target)
 * and a SCSI Response (target to initiator), in Full Feature Phase
 * (storm_iscsi_assume_ffp).  It is built once without digests and once with
 * CRC32C header and data digests.  Both directions are fed in causal order in
 * 64 KiB chunks; each figure is the best of several runs, in GB/s (10^9
 * bytes) of stream bytes. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <storm/iscsi.h>
#include <storm/session.h>

#include "bench_util.h"

#define CHUNK (64 * 1024)
#define DATA_LEN (256 * 1024)
#define BLOCK 512
#define RUNS 5

struct stream {
	uint8_t *i2t, *t2i;
	size_t i2t_len, t2i_len;
	size_t ntasks;
	size_t *i2t_end; /* end of task k's initiator bytes */
	size_t *t2i_end; /* end of task k's response */
	bool digests;
};

static void put32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

static void put_le32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

/* Writes a PDU at @p out: the 48-byte @p bhs with its DataSegmentLength set,
 * its header digest, and @p dlen data bytes already in place after the
 * header (a multiple of 4), followed by their digest.  Returns its length. */
static size_t put_pdu(uint8_t *out, uint8_t *bhs, size_t dlen, bool digests)
{
	bhs[5] = (uint8_t)(dlen >> 16);
	bhs[6] = (uint8_t)(dlen >> 8);
	bhs[7] = (uint8_t)dlen;
	memcpy(out, bhs, STORM_BHS_LEN);
	size_t n = STORM_BHS_LEN;
	if (digests) {
		put_le32(out + n, storm_crc32c(0, bhs, STORM_BHS_LEN));
		n += 4;
	}
	if (dlen) {
		n += dlen;
		if (digests) {
			put_le32(out + n, storm_crc32c(0, out + n - dlen, dlen));
			n += 4;
		}
	}
	return n;
}

static size_t header_len(bool digests) { return STORM_BHS_LEN + (digests ? 4 : 0); }

static int stream_build(struct stream *s, size_t ntasks, bool digests)
{
	memset(s, 0, sizeof *s);
	s->digests = digests;
	s->ntasks = ntasks;
	size_t h = header_len(digests);
	size_t per_task = h + h + DATA_LEN + (digests ? 4 : 0);
	s->i2t_len = ntasks * per_task;
	s->t2i_len = ntasks * h;
	s->i2t = malloc(s->i2t_len);
	s->t2i = malloc(s->t2i_len);
	s->i2t_end = malloc(ntasks * sizeof *s->i2t_end);
	s->t2i_end = malloc(ntasks * sizeof *s->t2i_end);
	if (!s->i2t || !s->t2i || !s->i2t_end || !s->t2i_end)
		return -1;
	size_t pi = 0, pt = 0;
	for (size_t k = 0; k < ntasks; k++) {
		uint32_t itt = (uint32_t)k + 1, cmdsn = (uint32_t)k + 100;
		uint8_t bhs[STORM_BHS_LEN];
		/* SCSI Command: F, W, simple; WRITE(10) of DATA_LEN bytes (§11.3). */
		memset(bhs, 0, sizeof bhs);
		bhs[0] = STORM_OP_SCSI_CMD;
		bhs[1] = 0xa0;
		bhs[9] = 1; /* LUN 1 */
		put32(bhs + 16, itt);
		put32(bhs + 20, DATA_LEN);
		put32(bhs + 24, cmdsn);
		put32(bhs + 28, (uint32_t)k + 1);
		bhs[32] = STORM_SCSI_WRITE10;
		put32(bhs + 34, (uint32_t)(k * (DATA_LEN / BLOCK)));
		bhs[39] = (uint8_t)((DATA_LEN / BLOCK) >> 8);
		bhs[40] = (uint8_t)(DATA_LEN / BLOCK);
		pi += put_pdu(s->i2t + pi, bhs, 0, digests);
		/* Data-Out, unsolicited (TTT 0xffffffff), F, offset 0 (§11.7). */
		memset(bhs, 0, sizeof bhs);
		bhs[0] = STORM_OP_DATA_OUT;
		bhs[1] = 0x80;
		bhs[9] = 1;
		put32(bhs + 16, itt);
		put32(bhs + 20, 0xffffffff);
		put32(bhs + 28, (uint32_t)k + 1);
		uint8_t *data = s->i2t + pi + h;
		for (size_t i = 0; i < DATA_LEN; i += 8) {
			uint64_t v = (uint64_t)k << 32 | i;
			memcpy(data + i, &v, 8);
		}
		pi += put_pdu(s->i2t + pi, bhs, DATA_LEN, digests);
		s->i2t_end[k] = pi;
		/* SCSI Response: GOOD (§11.4). */
		memset(bhs, 0, sizeof bhs);
		bhs[0] = STORM_OP_SCSI_RESP;
		bhs[1] = 0x80;
		put32(bhs + 16, itt);
		put32(bhs + 24, (uint32_t)k + 1);
		put32(bhs + 28, cmdsn + 1);
		put32(bhs + 32, cmdsn + 64);
		pt += put_pdu(s->t2i + pt, bhs, 0, digests);
		s->t2i_end[k] = pt;
	}
	return pi == s->i2t_len && pt == s->t2i_len ? 0 : -1;
}

static void stream_free(struct stream *s)
{
	free(s->i2t);
	free(s->t2i);
	free(s->i2t_end);
	free(s->t2i_end);
}


/* ---- the three ways through the stream ------------------------------------ */

typedef ssize_t (*feed_fn)(void *obj, storm_dir d, const uint8_t *in, size_t len);

/* Feeds both directions in causal order: initiator bytes in CHUNK pieces, and
 * after each piece the responses of the tasks whose data is all in. */
static int feed_stream(const struct stream *s, feed_fn feed, void *obj)
{
	size_t t2i_pos = 0, k = 0;
	for (size_t pos = 0; pos < s->i2t_len;) {
		size_t n = s->i2t_len - pos < CHUNK ? s->i2t_len - pos : CHUNK;
		if (feed(obj, STORM_I2T, s->i2t + pos, n) != (ssize_t)n)
			return -1;
		pos += n;
		while (k < s->ntasks && s->i2t_end[k] <= pos)
			k++;
		size_t upto = k ? s->t2i_end[k - 1] : 0;
		if (upto > t2i_pos) {
			if (feed(obj, STORM_T2I, s->t2i + t2i_pos, upto - t2i_pos) !=
			    (ssize_t)(upto - t2i_pos))
				return -1;
			t2i_pos = upto;
		}
	}
	return 0;
}

static ssize_t memcpy_feed(void *obj, storm_dir d, const uint8_t *in, size_t len)
{
	uint8_t **dst = obj;
	memcpy(dst[d], in, len);
	dst[d] += len;
	return (ssize_t)len;
}

static ssize_t parser_feed(void *obj, storm_dir d, const uint8_t *in, size_t len)
{
	return storm_iscsi_feed(obj, d, in, len);
}

static ssize_t session_feed(void *obj, storm_dir d, const uint8_t *in, size_t len)
{
	return storm_session_feed(obj, d, in, len);
}

static size_t g_pdus, g_done;

static int noop_pdu(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, void *user)
{
	(void)p;
	(void)d;
	(void)pdu;
	(void)user;
	g_pdus++;
	return 0;
}

static int noop_data(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, uint32_t off,
		     const uint8_t *data, size_t len, void *user)
{
	(void)p;
	(void)d;
	(void)pdu;
	(void)off;
	(void)data;
	(void)len;
	(void)user;
	return 0;
}

static int io_start(storm_session *s, storm_io *io, void *user)
{
	(void)s;
	(void)io;
	(void)user;
	return 0;
}

static int io_data(storm_session *s, storm_io *io, storm_dir d, uint64_t off,
		   const uint8_t *data, size_t len, void *user)
{
	(void)s;
	(void)io;
	(void)d;
	(void)off;
	(void)data;
	(void)len;
	(void)user;
	return 0;
}

static int io_done(storm_session *s, storm_io *io, void *user)
{
	(void)s;
	(void)user;
	if (storm_io_end_reason(io) == STORM_END_STATUS && storm_io_bytes(io) == DATA_LEN)
		g_done++;
	return 0;
}

static double time_memcpy(const struct stream *s, uint8_t *dst_i2t, uint8_t *dst_t2i)
{
	double best = 1e9;
	for (int r = 0; r < RUNS; r++) {
		uint8_t *dst[2] = {dst_i2t, dst_t2i};
		double t0 = bench_now();
		feed_stream(s, memcpy_feed, dst);
		double t = bench_now() - t0;
		if (memcmp(dst_i2t + s->i2t_len - 64, s->i2t + s->i2t_len - 64, 64))
			return -1;
		best = t < best ? t : best;
	}
	return best;
}

static double time_parser(const struct stream *s)
{
	storm_iscsi_callbacks *cbs;
	if (storm_iscsi_callbacks_new(&cbs))
		return -1;
	storm_iscsi_callbacks_set_pdu(cbs, noop_pdu);
	storm_iscsi_callbacks_set_data(cbs, noop_data);
	double best = 1e9;
	for (int r = 0; r < RUNS; r++) {
		storm_iscsi *p;
		if (storm_iscsi_new(&p, cbs, NULL))
			return -1;
		storm_iscsi_assume_ffp(p, s->digests, s->digests);
		g_pdus = 0;
		double t0 = bench_now();
		int rc = feed_stream(s, parser_feed, p);
		double t = bench_now() - t0;
		if (rc || g_pdus != 3 * s->ntasks) {
			fprintf(stderr, "parser: %s after %zu PDUs\n",
				storm_iscsi_reason(p, STORM_I2T), g_pdus);
			storm_iscsi_del(p);
			return -1;
		}
		storm_iscsi_del(p);
		best = t < best ? t : best;
	}
	storm_iscsi_callbacks_del(cbs);
	return best;
}

static double time_session(const struct stream *s)
{
	storm_session_callbacks *cbs;
	if (storm_session_callbacks_new(&cbs))
		return -1;
	storm_session_callbacks_set_start(cbs, io_start);
	storm_session_callbacks_set_data(cbs, io_data);
	storm_session_callbacks_set_done(cbs, io_done);
	double best = 1e9;
	for (int r = 0; r < RUNS; r++) {
		storm_session *ss;
		if (storm_session_new(&ss, cbs, NULL, NULL))
			return -1;
		storm_iscsi_assume_ffp(storm_session_parser(ss), s->digests, s->digests);
		g_done = 0;
		double t0 = bench_now();
		int rc = feed_stream(s, session_feed, ss);
		storm_session_close(ss);
		double t = bench_now() - t0;
		storm_session_del(ss);
		if (rc || g_done != s->ntasks) {
			fprintf(stderr, "tracker: %zu of %zu tasks completed\n", g_done, s->ntasks);
			return -1;
		}
		best = t < best ? t : best;
	}
	storm_session_callbacks_del(cbs);
	return best;
}

static int run(size_t ntasks, bool digests, uint8_t *dst_i2t, uint8_t *dst_t2i)
{
	struct stream s;
	const char *tag = digests ? "header+data digests" : "no digests";
	if (stream_build(&s, ntasks, digests)) {
		fprintf(stderr, "out of memory building the stream\n");
		stream_free(&s);
		return -1;
	}
	double bytes = (double)(s.i2t_len + s.t2i_len);
	double tm = time_memcpy(&s, dst_i2t, dst_t2i);
	double tp = time_parser(&s);
	double ts = time_session(&s);
	stream_free(&s);
	if (tm <= 0 || tp <= 0 || ts <= 0)
		return -1;
	double gm = bytes / tm / 1e9, gp = bytes / tp / 1e9, gs = bytes / ts / 1e9;
	printf("stream (%s): %.0f MiB, %zu WRITE(10) of %d KiB, 64 KiB chunks\n", tag,
	       bytes / (1 << 20), ntasks, DATA_LEN / 1024);
	printf("  memcpy  (%s): %6.2f GB/s\n", tag, gm);
	printf("  parser  (%s): %6.2f GB/s = %.2fx memcpy\n", tag, gp, gp / gm);
	printf("  tracker (%s): %6.2f GB/s = %.2fx memcpy\n", tag, gs, gs / gm);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
	size_t ntasks = mib * 4;
	if (mib == 0 || mib > 1536) {
		fprintf(stderr, "usage: bench_parser [MIB]   (1..1536, default 1024)\n");
		return 1;
	}
	/* Destination of the memcpy baseline, as large as the largest stream. */
	size_t h = STORM_BHS_LEN + 4;
	size_t max_i2t = ntasks * (2 * h + DATA_LEN + 4), max_t2i = ntasks * h;
	uint8_t *dst_i2t = malloc(max_i2t), *dst_t2i = malloc(max_t2i);
	if (!dst_i2t || !dst_t2i) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	memset(dst_i2t, 0, max_i2t);
	memset(dst_t2i, 0, max_t2i);
	int rc = run(ntasks, false, dst_i2t, dst_t2i) || run(ntasks, true, dst_i2t, dst_t2i);
	free(dst_i2t);
	free(dst_t2i);
	return rc ? 1 : 0;
}

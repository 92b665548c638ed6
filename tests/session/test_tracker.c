/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The session tracker on hand-built sessions: write data from immediate,
 * unsolicited and R2T-solicited Data-Out, reads with status in Data-In,
 * READ CAPACITY, UNMAP, CHECK CONDITION, out-of-order completion, task
 * management and logout.  Every script also runs split at every offset and
 * in random chunks: the event trace must not change. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/bytes.h"
#include "util/iscsi_build.h"

static uint8_t pattern[1 << 18];

static void init_pattern(void)
{
	for (size_t i = 0; i < sizeof pattern; i++)
		pattern[i] = (uint8_t)(i * 13 + (i >> 9));
}

struct io_state {
	uint32_t crc;
	uint64_t next;
	uint64_t bytes;
};

typedef struct strace {
	storm_session *s;
	tb_trace t;
} strace;

static int on_start(storm_session *s, storm_io *io, void *user)
{
	(void)s;
	strace *st = user;
	storm_io_set_user(io, calloc(1, sizeof(struct io_state)));
	tb_tracef(&st->t, "start itt=%u lun=%llu op=%s lba=%llu blocks=%u bs=%u\n", storm_io_itt(io),
		  (unsigned long long)storm_io_lun(io), storm_io_op_name(storm_io_operation(io)),
		  (unsigned long long)storm_io_lba(io), storm_io_blocks(io), storm_io_block_size(io));
	return 0;
}

static int on_data(storm_session *s, storm_io *io, storm_dir d, uint64_t off,
		   const uint8_t *data, size_t len, void *user)
{
	(void)s;
	(void)d;
	(void)user;
	struct io_state *x = storm_io_user(io);
	cr_assert_eq(off, x->next, "task %u: data at %llu, expected %llu", storm_io_itt(io),
		     (unsigned long long)off, (unsigned long long)x->next);
	x->next += len;
	x->bytes += len;
	x->crc = storm_crc32c(x->crc, data, len);
	return 0;
}

static int on_done(storm_session *s, storm_io *io, void *user)
{
	(void)s;
	strace *st = user;
	struct io_state *x = storm_io_user(io);
	size_t slen;
	const uint8_t *sense = storm_io_sense(io, &slen);
	storm_sense sd = {0};
	if (sense)
		storm_sense_decode(sense, slen, &sd);
	tb_tracef(&st->t, "done itt=%u end=%d status=%u bytes=%llu crc=%08x resid=%lld key=%u asc=%u unmap=%u\n",
		  storm_io_itt(io), storm_io_end_reason(io), storm_io_status(io),
		  (unsigned long long)storm_io_bytes(io), x ? x->crc : 0,
		  (long long)storm_io_residual(io), sd.key, sd.asc, storm_io_unmap_count(io));
	for (unsigned i = 0; i < storm_io_unmap_count(io); i++) {
		uint64_t lba;
		uint32_t n;
		cr_assert_eq(storm_io_unmap_range(io, i, &lba, &n), 0);
		tb_tracef(&st->t, "  range %llu+%u\n", (unsigned long long)lba, n);
	}
	cr_assert(!x || x->bytes == storm_io_bytes(io));
	free(x);
	return 0;
}

static ssize_t feed(void *ctx, storm_dir d, const uint8_t *in, size_t len)
{
	return storm_session_feed(((strace *)ctx)->s, d, in, len);
}

static char *run(const tb_script *sc, tb_chunk_fn chunk, void *cstate)
{
	strace st = {0};
	storm_session_callbacks *cb;
	cr_assert_eq(storm_session_callbacks_new(&cb), 0);
	storm_session_callbacks_set_start(cb, on_start);
	storm_session_callbacks_set_data(cb, on_data);
	storm_session_callbacks_set_done(cb, on_done);
	cr_assert_eq(storm_session_new(&st.s, cb, NULL, &st), 0);
	storm_session_callbacks_del(cb);
	int rc = tb_run(sc, feed, &st, chunk, cstate);
	cr_assert_eq(rc, 0, "feed failed: %s\n%s", storm_strerror(rc), st.t.text);
	tb_tracef(&st.t, "outstanding=%zu\n", storm_session_outstanding(st.s));
	storm_session_close(st.s);
	storm_session_del(st.s);
	return st.t.text;
}

static void check_splits(const tb_script *sc, const char *ref)
{
	size_t total = tb_script_len(sc);
	for (size_t at = 1; at < total; at += 1 + at / 512) {
		tb_split sp = {0, at};
		char *t = run(sc, tb_chunk_split, &sp);
		cr_assert_str_eq(t, ref, "split at %zu differs", at);
		free(t);
	}
	for (uint64_t seed = 1; seed <= 10; seed++) {
		uint64_t r = seed * 0x2545F4914F6CDD1DULL;
		char *t = run(sc, tb_chunk_random, &r);
		cr_assert_str_eq(t, ref, "random chunks differ");
		free(t);
	}
}

static const char *const li[] = {"InitiatorName=iqn.x:i", "MaxRecvDataSegmentLength=262144"};
static const char *const lt[] = {"MaxRecvDataSegmentLength=65536", "InitialR2T=No",
				 "ImmediateData=Yes"};

static void cmd(tb_script *s, uint32_t itt, unsigned flags, const uint8_t *cdb, uint32_t edtl,
		const uint8_t *imm, size_t imm_len)
{
	tb_pdu p;
	tb_init(&p, STORM_OP_SCSI_CMD, 0x80 | flags, itt);
	tb_lun(&p, 1);
	tb_u32(&p, 20, edtl);
	memcpy(p.bhs + 32, cdb, 16);
	tb_data(&p, imm, imm_len);
	tb_emit(tb_seg(s, STORM_I2T), &p, false, false);
}

static void data_out(tb_script *s, uint32_t itt, uint32_t ttt, uint32_t off, const uint8_t *d,
		     size_t len, bool final)
{
	tb_pdu p;
	tb_init(&p, STORM_OP_DATA_OUT, final ? 0x80 : 0, itt);
	tb_u32(&p, 20, ttt);
	tb_u32(&p, 40, off);
	tb_data(&p, d, len);
	tb_emit(tb_seg(s, STORM_I2T), &p, false, false);
}

static void data_in(tb_script *s, uint32_t itt, uint32_t off, const uint8_t *d, size_t len,
		    bool status)
{
	tb_pdu p;
	tb_init(&p, STORM_OP_DATA_IN, status ? 0x81 : 0, itt);
	tb_u32(&p, 40, off);
	tb_data(&p, d, len);
	tb_emit(tb_seg(s, STORM_T2I), &p, false, false);
}

static void resp(tb_script *s, uint32_t itt, uint8_t status, const uint8_t *sense, size_t slen)
{
	static uint8_t buf[300];
	tb_pdu p;
	tb_init(&p, STORM_OP_SCSI_RESP, 0x80, itt);
	p.bhs[3] = status;
	if (slen) {
		put_be16(buf, (uint16_t)slen);
		memcpy(buf + 2, sense, slen);
		tb_data(&p, buf, slen + 2);
	}
	tb_emit(tb_seg(s, STORM_T2I), &p, false, false);
}

static void r2t(tb_script *s, uint32_t itt, uint32_t ttt, uint32_t off, uint32_t len)
{
	tb_pdu p;
	tb_init(&p, STORM_OP_R2T, 0x80, itt);
	tb_u32(&p, 20, ttt);
	tb_u32(&p, 40, off);
	tb_u32(&p, 44, len);
	tb_emit(tb_seg(s, STORM_T2I), &p, false, false);
}

static void cdb16(uint8_t *c, uint8_t op, uint64_t lba, uint32_t blocks)
{
	memset(c, 0, 16);
	c[0] = op;
	put_be64(c + 2, lba);
	put_be32(c + 10, blocks);
}

Test(tracker, writes_reads_and_capacity, .init = init_pattern, .timeout = 120)
{
	tb_script s = {0};
	tb_login(&s, li, 2, lt, 3);
	uint8_t c[16];
	/* READ CAPACITY 16 teaches block size 4096. */
	cdb16(c, 0x9e, 0, 0);
	c[1] = 0x10;
	cmd(&s, 1, 0x40, c, 32, NULL, 0);
	uint8_t cap[32] = {0};
	put_be64(cap, 0xfffff);
	put_be32(cap + 8, 4096);
	data_in(&s, 1, 0, cap, 32, true);
	/* WRITE 16 of 32 blocks: 8 KiB immediate, 56 KiB unsolicited (FirstBurst
	 * 64 KiB), the rest by R2T in two sequences answered out of order. */
	cdb16(c, 0x8a, 1000, 32);
	cmd(&s, 2, 0x20, c, 131072, pattern, 8192);
	data_out(&s, 2, 0xffffffff, 8192, pattern + 8192, 57344, true);
	r2t(&s, 2, 7, 98304, 32768);
	r2t(&s, 2, 8, 65536, 32768);
	data_out(&s, 2, 8, 65536, pattern + 65536, 32768, true);
	data_out(&s, 2, 7, 98304, pattern + 98304, 32768, true);
	/* A READ 10 issued meanwhile completes first, in two Data-In. */
	uint8_t r[16] = {0x28, 0, 0, 0, 0x10, 0, 0, 0, 2, 0};
	cmd(&s, 3, 0x40, r, 8192, NULL, 0);
	data_in(&s, 3, 0, pattern, 4096, false);
	data_in(&s, 3, 4096, pattern + 4096, 4096, true);
	resp(&s, 2, 0, NULL, 0);
	char *ref = run(&s, tb_chunk_whole, NULL);
	cr_assert(strstr(ref, "start itt=1 lun=1 op=other"), "%s", ref);
	cr_assert(strstr(ref, "start itt=2 lun=1 op=write lba=1000 blocks=32 bs=4096\n"), "%s", ref);
	char want[160];
	snprintf(want, sizeof want, "done itt=2 end=0 status=0 bytes=131072 crc=%08x",
		 storm_crc32c(0, pattern, 131072));
	cr_assert(strstr(ref, want), "write assembled by offset:\n%s", ref);
	cr_assert(strstr(ref, "start itt=3 lun=1 op=read lba=4096 blocks=2 bs=4096\n"), "%s", ref);
	cr_assert(strstr(ref, "done itt=3") < strstr(ref, "done itt=2"), "completion order kept:\n%s", ref);
	cr_assert(strstr(ref, "outstanding=0\n"));
	check_splits(&s, ref);
	free(ref);
	tb_script_free(&s);
}

Test(tracker, check_condition_unmap_and_tmf, .init = init_pattern, .timeout = 120)
{
	tb_script s = {0};
	tb_login(&s, li, 2, lt, 3);
	uint8_t c[16] = {0x42, 0, 0, 0, 0, 0, 0, 0, 40};
	uint8_t list[40] = {0};
	put_be16(list, 38);
	put_be16(list + 2, 32);
	put_be64(list + 8, 100);
	put_be32(list + 16, 8);
	put_be64(list + 24, 5000);
	put_be32(list + 32, 16);
	cmd(&s, 10, 0x20, c, 40, list, 40);
	resp(&s, 10, 0, NULL, 0);
	/* A write refused with DATA PROTECT sense. */
	uint8_t w[16];
	cdb16(w, 0x8a, 7, 1);
	cmd(&s, 11, 0x20, w, 512, pattern, 512);
	uint8_t sense[18] = {0x70, 0, 0x07, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x27, 0};
	resp(&s, 11, 2, sense, 18);
	/* Two reads outstanding; ABORT TASK ends one, LUN RESET the other. */
	uint8_t r[16];
	cdb16(r, 0x88, 1, 1);
	cmd(&s, 12, 0x40, r, 512, NULL, 0);
	cmd(&s, 13, 0x40, r, 512, NULL, 0);
	tb_pdu p;
	tb_init(&p, STORM_OP_TMF_REQ | 0x40, 0x80 | 1, 50);
	tb_lun(&p, 1);
	tb_u32(&p, 20, 12);
	tb_emit(tb_seg(&s, STORM_I2T), &p, false, false);
	tb_init(&p, STORM_OP_TMF_RESP, 0x80, 50);
	tb_emit(tb_seg(&s, STORM_T2I), &p, false, false);
	tb_init(&p, STORM_OP_TMF_REQ | 0x40, 0x80 | 5, 51);
	tb_lun(&p, 1);
	tb_emit(tb_seg(&s, STORM_I2T), &p, false, false);
	tb_init(&p, STORM_OP_TMF_RESP, 0x80, 51);
	tb_emit(tb_seg(&s, STORM_T2I), &p, false, false);
	/* One more read left when the connection ends. */
	cmd(&s, 14, 0x40, r, 512, NULL, 0);
	char *ref = run(&s, tb_chunk_whole, NULL);
	cr_assert(strstr(ref, "done itt=10 end=0 status=0 bytes=40"), "%s", ref);
	cr_assert(strstr(ref, "unmap=2\n  range 100+8\n  range 5000+16\n"), "%s", ref);
	cr_assert(strstr(ref, "done itt=11 end=0 status=2 bytes=512"), "%s", ref);
	cr_assert(strstr(ref, "key=7 asc=39"), "DATA PROTECT sense decoded:\n%s", ref);
	cr_assert(strstr(ref, "done itt=12 end=1"), "ABORT TASK:\n%s", ref);
	cr_assert(strstr(ref, "done itt=13 end=1"), "LUN RESET:\n%s", ref);
	cr_assert(strstr(ref, "outstanding=1\ndone itt=14 end=3"), "close reports lost:\n%s", ref);
	check_splits(&s, ref);
	free(ref);
	tb_script_free(&s);
}

Test(tracker, task_count_is_bounded)
{
	tb_script s = {0};
	uint8_t r[16];
	cdb16(r, 0x88, 1, 1);
	for (uint32_t i = 0; i <= STORM_SESSION_MAX_TASKS; i++)
		cmd(&s, i, 0x40, r, 512, NULL, 0);
	strace st = {0};
	cr_assert_eq(storm_session_new(&st.s, NULL, NULL, &st), 0);
	int rc = tb_run(&s, feed, &st, tb_chunk_whole, NULL);
	cr_assert_eq(rc, STORM_ERR_LIMIT, "rc %d", rc);
	cr_assert_eq(storm_session_outstanding(st.s), STORM_SESSION_MAX_TASKS);
	storm_session_del(st.s);
	tb_script_free(&s);
}

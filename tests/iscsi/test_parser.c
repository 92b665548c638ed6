/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The iSCSI stream parser, fed hand-built streams: every opcode, AHS,
 * digests, negotiation, text continuation, and every kind of bad input.
 * Each stream is also fed split at every byte offset, one byte at a time,
 * in random chunks and with pausing callbacks: the trace must not change. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser_trace.h"

static const char *const login_i[] = {
	"InitiatorName=iqn.2024-01.test:init", "SessionType=Normal",
	"TargetName=iqn.2024-01.test:tgt", "HeaderDigest=CRC32C,None",
	"DataDigest=CRC32C,None", "MaxRecvDataSegmentLength=65536",
};
static const char *const login_t_digests[] = {
	"HeaderDigest=CRC32C", "DataDigest=CRC32C", "MaxRecvDataSegmentLength=16384",
};
static const char *const login_t_plain[] = {
	"HeaderDigest=None", "DataDigest=None", "MaxRecvDataSegmentLength=262144",
};

static uint8_t pattern[300000];

static void init_pattern(void)
{
	for (size_t i = 0; i < sizeof pattern; i++)
		pattern[i] = (uint8_t)(i * 7 + (i >> 8));
}

/* Every PDU type of both directions, in a plausible order. */
static void full_feature(tb_script *s, bool hd, bool dd, uint32_t max_i2t)
{
	tb_pdu p;
	tb_init(&p, STORM_OP_SCSI_CMD, 0x80 | 0x20 | 1, 10); /* F, W, simple */
	tb_lun(&p, 1);
	tb_u32(&p, 20, 8192);
	p.bhs[32] = 0x2a;
	tb_data(&p, pattern, 1000);
	tb_emit(tb_seg(s, STORM_I2T), &p, hd, dd);
	tb_init(&p, STORM_OP_R2T, 0x80, 10);
	tb_u32(&p, 40, 1000);
	tb_u32(&p, 44, 7192);
	tb_emit(tb_seg(s, STORM_T2I), &p, hd, dd);
	for (uint32_t off = 1000; off < 8192; off += max_i2t) {
		uint32_t n = 8192 - off < max_i2t ? 8192 - off : max_i2t;
		tb_init(&p, STORM_OP_DATA_OUT, off + n == 8192 ? 0x80 : 0, 10);
		tb_u32(&p, 40, off);
		tb_data(&p, pattern + off, n);
		tb_emit(tb_seg(s, STORM_I2T), &p, hd, dd);
	}
	tb_init(&p, STORM_OP_SCSI_RESP, 0x80, 10);
	tb_emit(tb_seg(s, STORM_T2I), &p, hd, dd);
	/* A 32-byte CDB through an Extended CDB AHS, and a bidi AHS. */
	tb_init(&p, STORM_OP_SCSI_CMD, 0x80 | 0x40 | 0x20, 11);
	p.bhs[32] = 0x7f;
	p.ahs_len = 20 + 8;
	p.ahs[1] = 17; /* AHSLength = 32 - 15 */
	p.ahs[2] = 1;
	memset(p.ahs + 4, 0xee, 16);
	p.ahs[21] = 5;
	p.ahs[22] = 2;
	p.ahs[24] = 0x12;
	tb_emit(tb_seg(s, STORM_I2T), &p, hd, dd);
	tb_init(&p, STORM_OP_DATA_IN, 0x80 | 0x01, 11); /* F, S */
	tb_data(&p, pattern + 5, 333);
	tb_emit(tb_seg(s, STORM_T2I), &p, hd, dd);
	static const unsigned i2t_ops[] = {STORM_OP_NOP_OUT, STORM_OP_TMF_REQ, STORM_OP_TEXT_REQ,
					   STORM_OP_SNACK, STORM_OP_LOGOUT_REQ};
	static const unsigned t2i_ops[] = {STORM_OP_NOP_IN, STORM_OP_TMF_RESP, STORM_OP_TEXT_RESP,
					   STORM_OP_ASYNC, STORM_OP_REJECT, STORM_OP_LOGOUT_RESP};
	for (size_t i = 0; i < 5; i++) {
		tb_init(&p, 0x40 | i2t_ops[i], 0x80, 20 + (uint32_t)i);
		if (i2t_ops[i] == STORM_OP_NOP_OUT)
			tb_data(&p, pattern, 7);
		tb_emit(tb_seg(s, STORM_I2T), &p, hd, dd);
		tb_init(&p, t2i_ops[i], 0x80, 20 + (uint32_t)i);
		if (t2i_ops[i] == STORM_OP_NOP_IN)
			tb_data(&p, pattern, 7);
		tb_emit(tb_seg(s, STORM_T2I), &p, hd, dd);
	}
	tb_init(&p, STORM_OP_REJECT, 0x80, 0xffffffff);
	tb_data(&p, pattern, 48);
	tb_emit(tb_seg(s, STORM_T2I), &p, hd, dd);
	tb_init(&p, STORM_OP_LOGOUT_RESP, 0x80, 24);
	tb_emit(tb_seg(s, STORM_T2I), &p, hd, dd);
}

static void make_session(tb_script *s, bool digests)
{
	if (digests)
		tb_login(s, login_i, 6, login_t_digests, 3);
	else
		tb_login(s, login_i, 6, login_t_plain, 3);
	full_feature(s, digests, digests, digests ? 16384 : 262144);
}

/* The reference trace with whole segments, then every other chunking. */
static void check_all_chunkings(const tb_script *s, int want_rc)
{
	int rc;
	char *ref = ptrace_run(s, tb_chunk_whole, NULL, 0, &rc);
	cr_assert_eq(rc, want_rc, "whole: rc %d\n%s", rc, ref);
	size_t total = tb_script_len(s);
	for (size_t at = 1; at < total; at++) {
		tb_split sp = {0, at};
		char *t = ptrace_run(s, tb_chunk_split, &sp, 0, &rc);
		cr_assert_eq(rc, want_rc);
		cr_assert_str_eq(t, ref, "split at %zu differs", at);
		free(t);
	}
	char *t = ptrace_run(s, tb_chunk_one, NULL, 0, &rc);
	cr_assert_str_eq(t, ref, "byte by byte differs");
	free(t);
	for (uint64_t seed = 1; seed <= 20; seed++) {
		uint64_t st = seed * 0x9e3779b97f4a7c15ULL;
		t = ptrace_run(s, tb_chunk_random, &st, (int)(seed % 4), &rc);
		cr_assert_eq(rc, want_rc);
		cr_assert_str_eq(t, ref, "random chunks (seed %llu) differ:\n%s\nref:\n%s",
				 (unsigned long long)seed, t, ref);
		free(t);
	}
	free(ref);
}

/* Runs a script expected to fail; returns the trace. */
static char *expect_error(const tb_script *s, int want)
{
	int rc;
	char *t = ptrace_run(s, tb_chunk_whole, NULL, 0, &rc);
	cr_assert_eq(rc, want, "rc %d (%s), want %d\n%s", rc, storm_strerror(rc), want, t);
	cr_assert(strstr(t, "\nX") || strncmp(t, "X", 1) == 0, "error callback called:\n%s", t);
	return t;
}

Test(parser, every_opcode_plain, .init = init_pattern)
{
	tb_script s = {0};
	make_session(&s, false);
	int rc;
	char *t = ptrace_run(&s, tb_chunk_whole, NULL, 0, &rc);
	cr_assert_eq(rc, 0, "%s", t);
	cr_assert(strstr(t, "T0 HeaderDigest=CRC32C,None\n"));
	cr_assert(strstr(t, "T1 MaxRecvDataSegmentLength=262144\n"));
	cr_assert(strstr(t, "ffp=1 hd=0 dd=0 max=262144/65536\n"), "%s", t);
	cr_assert(strstr(t, "H0 op=01 cdb=32"), "extended CDB gathered:\n%s", t);
	/* 2 login + 4 write + 2 bidi + 10 misc + reject + logout = 20 PDUs */
	size_t ends = 0;
	for (const char *q = t; (q = strstr(q, "\nE")); q++)
		ends++;
	cr_assert_eq(ends, 20, "%zu PDU ends\n%s", ends, t);
	free(t);
	tb_script_free(&s);
}

Test(parser, splits_plain, .init = init_pattern, .timeout = 120)
{
	tb_script s = {0};
	make_session(&s, false);
	check_all_chunkings(&s, 0);
	tb_script_free(&s);
}

Test(parser, splits_with_digests, .init = init_pattern, .timeout = 120)
{
	tb_script s = {0};
	make_session(&s, true);
	int rc;
	char *t = ptrace_run(&s, tb_chunk_whole, NULL, 0, &rc);
	cr_assert_eq(rc, 0, "%s", t);
	cr_assert(strstr(t, "ffp=1 hd=1 dd=1 max=16384/65536\n"), "%s", t);
	free(t);
	check_all_chunkings(&s, 0);
	tb_script_free(&s);
}

/* Login text split mid-pair across two PDUs with the C bit (RFC 7143 §5.3). */
Test(parser, text_continuation)
{
	tb_script s = {0};
	static const char data[] = "InitiatorName=iqn.2024-01.test:a\0HeaderDigest=CRC32C\0MaxRecv"
				   "DataSegmentLength=32768\0";
	size_t cut = 40, len = sizeof data - 1;
	tb_pdu p;
	tb_init(&p, 0x43, 0x40 | 0x04 | 0x03, 1); /* C, CSG=1, NSG=3 */
	tb_data(&p, data, cut);
	tb_emit(tb_seg(&s, STORM_I2T), &p, false, false);
	tb_init(&p, STORM_OP_LOGIN_RESP, 0x04 | 0x03, 1);
	tb_emit(tb_seg(&s, STORM_T2I), &p, false, false);
	tb_init(&p, 0x43, 0x80 | 0x04 | 0x03, 1);
	tb_data(&p, data + cut, len - cut);
	tb_emit(tb_seg(&s, STORM_I2T), &p, false, false);
	static const char resp[] = "HeaderDigest=CRC32C\0MaxRecvDataSegmentLength=8192\0";
	tb_init(&p, STORM_OP_LOGIN_RESP, 0x80 | 0x04 | 0x03, 1);
	tb_data(&p, resp, sizeof resp - 1);
	tb_emit(tb_seg(&s, STORM_T2I), &p, false, false);
	tb_init(&p, 0x40 | STORM_OP_NOP_OUT, 0x80, 2);
	tb_emit(tb_seg(&s, STORM_I2T), &p, true, false);
	int rc;
	char *t = ptrace_run(&s, tb_chunk_whole, NULL, 0, &rc);
	cr_assert_eq(rc, 0, "%s", t);
	cr_assert(strstr(t, "H0 op=03 cdb=0 at=88\nT0 HeaderDigest=CRC32C\n"),
		  "pair split across PDUs:\n%s", t);
	cr_assert(strstr(t, "T0 MaxRecvDataSegmentLength=32768\n"));
	cr_assert(strstr(t, "ffp=1 hd=1 dd=0 max=8192/32768\n"), "%s", t);
	free(t);
	check_all_chunkings(&s, 0);
	tb_script_free(&s);
}

Test(parser, dsl_over_declared_maximum, .init = init_pattern)
{
	tb_script s = {0};
	tb_login(&s, login_i, 6, login_t_digests, 3);
	tb_pdu p;
	tb_init(&p, STORM_OP_DATA_OUT, 0x80, 1);
	tb_data(&p, pattern, 16385);
	tb_emit(tb_seg(&s, STORM_I2T), &p, true, true);
	char *t = expect_error(&s, STORM_ERR_LENGTH);
	cr_assert(strstr(t, "DataSegmentLength 16385 exceeds the declared maximum 16384"), "%s", t);
	free(t);
	check_all_chunkings(&s, STORM_ERR_LENGTH);
	tb_script_free(&s);
}

/* Without a declared maximum only the hard cap holds: the 24-bit field can
 * say 16 MiB - 1, and the parser streams it without holding it. */
Test(parser, largest_dsl_streams_in_bounded_memory)
{
	storm_iscsi *p;
	cr_assert_eq(storm_iscsi_new(&p, NULL, NULL), 0);
	storm_iscsi_assume_ffp(p, false, false);
	cr_assert_eq(storm_iscsi_max_dsl(p, STORM_T2I), STORM_ISCSI_MAX_DSL);
	tb_pdu pdu;
	tb_init(&pdu, STORM_OP_DATA_IN, 0x80, 1);
	tu_buf b = {0};
	tb_emit(&b, &pdu, false, false);
	b.data[5] = b.data[6] = b.data[7] = 0xff;
	cr_assert_eq(storm_iscsi_feed(p, STORM_T2I, b.data, b.len), 48);
	static uint8_t chunk[1 << 20];
	for (int i = 0; i < 16; i++)
		cr_assert_eq(storm_iscsi_feed(p, STORM_T2I, chunk, sizeof chunk), (ssize_t)sizeof chunk);
	cr_assert_eq(storm_iscsi_offset(p, STORM_T2I), 48 + 16u * (1 << 20));
	tu_buf_free(&b);
	storm_iscsi_del(p);
}

/* A declared MaxRecvDataSegmentLength over 2^24-1 is out of range (§13.12):
 * the default stays, and a PDU over it fails; the other direction goes on. */
Test(parser, out_of_range_declaration_is_not_trusted, .init = init_pattern)
{
	static const char *const t_big[] = {"MaxRecvDataSegmentLength=99999999"};
	tb_script s = {0};
	tb_login(&s, login_i, 6, t_big, 1);
	tb_pdu p;
	tb_init(&p, STORM_OP_DATA_OUT, 0x80, 1);
	tb_data(&p, pattern, 8193);
	tb_emit(tb_seg(&s, STORM_I2T), &p, false, false);
	char *t = expect_error(&s, STORM_ERR_LENGTH);
	cr_assert(strstr(t, "exceeds the declared maximum 8192"), "%s", t);
	free(t);
	tb_script_free(&s);
}

Test(parser, reserved_opcode)
{
	tb_script s = {0};
	tb_pdu p;
	tb_init(&p, 0x07, 0x80, 1);
	tb_emit(tb_seg(&s, STORM_I2T), &p, false, false);
	char *t = expect_error(&s, STORM_ERR_OPCODE);
	cr_assert(strstr(t, "opcode 0x07 is reserved for initiator PDUs"), "%s", t);
	free(t);
	tb_script_free(&s);
	/* A target opcode sent by the initiator is reserved there too. */
	tb_init(&p, STORM_OP_SCSI_RESP, 0x80, 1);
	tb_emit(tb_seg(&s, STORM_I2T), &p, false, false);
	free(expect_error(&s, STORM_ERR_OPCODE));
	tb_script_free(&s);
}

Test(parser, truncated_ahs)
{
	tb_script s = {0};
	tb_pdu p;
	tb_init(&p, STORM_OP_SCSI_CMD, 0x80, 1);
	p.ahs_len = 8;
	p.ahs[1] = 40; /* claims 40 bytes in an 8-byte AHS */
	p.ahs[2] = 1;
	tb_emit(tb_seg(&s, STORM_I2T), &p, false, false);
	char *t = expect_error(&s, STORM_ERR_AHS);
	cr_assert(strstr(t, "overruns TotalAHSLength"), "%s", t);
	free(t);
	check_all_chunkings(&s, STORM_ERR_AHS);
	tb_script_free(&s);
}

static void flip_byte(tb_script *s, size_t seg, size_t off)
{
	s->seg[seg].data[off] ^= 0x01;
}

Test(parser, header_digest_mismatch, .init = init_pattern)
{
	tb_script s = {0};
	tb_login(&s, login_i, 6, login_t_digests, 3);
	tb_pdu p;
	tb_init(&p, 0x40, 0x80, 9);
	tb_emit(tb_seg(&s, STORM_I2T), &p, true, true);
	flip_byte(&s, s.n - 1, s.seg[s.n - 1].len - 52 + 20); /* inside the NOP-Out BHS */
	char *t = expect_error(&s, STORM_ERR_HDIGEST);
	cr_assert(strstr(t, "header digest 0x"), "%s", t);
	free(t);
	check_all_chunkings(&s, STORM_ERR_HDIGEST);
	tb_script_free(&s);
}

Test(parser, data_digest_mismatch, .init = init_pattern)
{
	tb_script s = {0};
	tb_login(&s, login_i, 6, login_t_digests, 3);
	tb_pdu p;
	tb_init(&p, STORM_OP_DATA_OUT, 0x80, 9);
	tb_data(&p, pattern, 1001);
	tb_emit(tb_seg(&s, STORM_I2T), &p, true, true);
	flip_byte(&s, s.n - 1, s.seg[s.n - 1].len - 100);
	char *t = expect_error(&s, STORM_ERR_DDIGEST);
	cr_assert(strstr(t, "X0 err=-1996 pdu=1 reason=data digest"), "%s", t);
	free(t);
	check_all_chunkings(&s, STORM_ERR_DDIGEST);
	tb_script_free(&s);
}

Test(parser, key_over_8192)
{
	static uint8_t big[9000];
	memcpy(big, "TargetAlias=", 12);
	memset(big + 12, 'a', sizeof big - 13);
	tb_script s = {0};
	tb_pdu p;
	tb_init(&p, 0x43, 0x40 | 0x04 | 0x03, 1);
	tb_data(&p, big, 8000);
	tb_emit(tb_seg(&s, STORM_I2T), &p, false, false);
	tb_init(&p, STORM_OP_LOGIN_RESP, 0x04 | 0x03, 1);
	tb_emit(tb_seg(&s, STORM_T2I), &p, false, false);
	tb_init(&p, 0x43, 0x80 | 0x04 | 0x03, 1);
	tb_data(&p, big + 8000, sizeof big - 8000);
	tb_emit(tb_seg(&s, STORM_I2T), &p, false, false);
	char *t = expect_error(&s, STORM_ERR_TEXT);
	cr_assert(strstr(t, "longer than 8192"), "%s", t);
	free(t);
	tb_script_free(&s);
}

Test(parser, login_pdu_over_8192_before_declaration)
{
	static uint8_t big[8200];
	tb_script s = {0};
	tb_pdu p;
	tb_init(&p, 0x43, 0x80 | 0x04 | 0x03, 1);
	tb_data(&p, big, sizeof big);
	tb_emit(tb_seg(&s, STORM_I2T), &p, false, false);
	free(expect_error(&s, STORM_ERR_LENGTH));
	tb_script_free(&s);
}

Test(parser, callback_failure_is_returned)
{
	tb_script s = {0};
	tb_login(&s, login_i, 6, login_t_plain, 3);
	ptrace pt;
	ptrace_init(&pt);
	/* A pdu callback returning a positive non-pause value fails the stream. */
	storm_iscsi_callbacks *cb;
	storm_iscsi_callbacks_new(&cb);
	storm_iscsi_del(pt.p);
	storm_iscsi_new(&pt.p, cb, &pt);
	storm_iscsi_callbacks_del(cb);
	cr_assert_eq(tb_run(&s, ptrace_feed, &pt, tb_chunk_whole, NULL), 0);
	ptrace_free(&pt);
	tb_script_free(&s);
}

/* A lost range inside a data segment keeps framing: the PDU ends marked lost,
 * the next PDU parses normally. */
Test(parser, gap_inside_data_keeps_framing, .init = init_pattern)
{
	ptrace pt;
	ptrace_init(&pt);
	storm_iscsi_assume_ffp(pt.p, false, true);
	tu_buf b = {0};
	tb_pdu p;
	tb_init(&p, STORM_OP_DATA_OUT, 0x80, 5);
	tb_data(&p, pattern, 5000);
	tb_emit(&b, &p, false, true);
	tb_init(&p, 0x40, 0x80, 6);
	tb_emit(&b, &p, false, true);
	cr_assert_eq(storm_iscsi_feed(pt.p, STORM_I2T, b.data, 1000), 1000);
	cr_assert_eq(storm_iscsi_gap(pt.p, STORM_I2T, 2000), 0);
	ssize_t rest = (ssize_t)(b.len - 3000);
	cr_assert_eq(storm_iscsi_feed(pt.p, STORM_I2T, b.data + 3000, (size_t)rest), rest);
	cr_assert(strstr(pt.t.text, "E0 op=05 itt=5 dsl=5000"), "%s", pt.t.text);
	cr_assert(strstr(pt.t.text, "lost=1\n"), "%s", pt.t.text);
	cr_assert(strstr(pt.t.text, "E0 op=00 itt=6 dsl=0 crc=00000000 lost=0\n"), "%s", pt.t.text);
	cr_assert_eq(pt.errors, 0);
	cr_assert_eq(storm_iscsi_offset(pt.p, STORM_I2T), b.len);
	tu_buf_free(&b);
	ptrace_free(&pt);
}

/* A lost header: with header digests the parser finds the next true header. */
Test(parser, gap_over_header_resyncs_on_digest, .init = init_pattern)
{
	ptrace pt;
	ptrace_init(&pt);
	storm_iscsi_assume_ffp(pt.p, true, false);
	tu_buf b = {0};
	tb_pdu p;
	size_t starts[4];
	for (int i = 0; i < 4; i++) {
		starts[i] = b.len;
		tb_init(&p, STORM_OP_DATA_OUT, 0x80, 100 + (uint32_t)i);
		/* Data that looks like headers without digests. */
		tb_data(&p, pattern, 4096);
		tb_emit(&b, &p, true, false);
	}
	cr_assert_eq(storm_iscsi_feed(pt.p, STORM_I2T, b.data, 10), 10);
	size_t resume = starts[1] + 30;
	cr_assert_eq(storm_iscsi_gap(pt.p, STORM_I2T, resume - 10), 0);
	ssize_t rest = (ssize_t)(b.len - resume);
	cr_assert_eq(storm_iscsi_feed(pt.p, STORM_I2T, b.data + resume, (size_t)rest), rest);
	cr_assert(strstr(pt.t.text, "R0 skipped="), "%s", pt.t.text);
	cr_assert(strstr(pt.t.text, "E0 op=05 itt=102"), "%s", pt.t.text);
	cr_assert(strstr(pt.t.text, "E0 op=05 itt=103"), "%s", pt.t.text);
	cr_assert_null(strstr(pt.t.text, "itt=101"), "%s", pt.t.text);
	char want[64];
	snprintf(want, sizeof want, "H0 op=05 cdb=0 at=%zu\n", starts[2]);
	cr_assert(strstr(pt.t.text, want), "resumed at the true header:\n%s", pt.t.text);
	tu_buf_free(&b);
	ptrace_free(&pt);
}

/* A capture that starts mid-PDU. */
Test(parser, midstream_start, .init = init_pattern)
{
	ptrace pt;
	ptrace_init(&pt);
	storm_iscsi_start_midstream(pt.p, false, false);
	tu_buf b = {0};
	tb_pdu p;
	tb_init(&p, STORM_OP_DATA_IN, 0x80, 7);
	tb_data(&p, (const uint8_t *)"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
	tb_emit(&b, &p, false, false);
	size_t second = b.len;
	tb_init(&p, STORM_OP_SCSI_RESP, 0x80, 7);
	tb_emit(&b, &p, false, false);
	cr_assert_eq(storm_iscsi_feed(pt.p, STORM_T2I, b.data + 13, b.len - 13), (ssize_t)(b.len - 13));
	char want[64];
	snprintf(want, sizeof want, "R1 skipped=%zu\n", second - 13);
	cr_assert(strstr(pt.t.text, want), "%s", pt.t.text);
	cr_assert(strstr(pt.t.text, "E1 op=21 itt=7"), "%s", pt.t.text);
	tu_buf_free(&b);
	ptrace_free(&pt);
}

Test(parser, bhs_fields)
{
	tb_pdu p;
	tb_init(&p, STORM_OP_R2T, 0x80, 0x01020304);
	tb_u32(&p, 20, 77);
	tb_u32(&p, 24, 5);
	tb_u32(&p, 36, 3);
	tb_u32(&p, 40, 65536);
	tb_u32(&p, 44, 262144);
	uint64_t v;
	cr_assert_eq(storm_bhs_field(p.bhs, STORM_F_ITT, &v), 0);
	cr_assert_eq(v, 0x01020304);
	cr_assert_eq(storm_bhs_field(p.bhs, STORM_F_TTT, &v), 0);
	cr_assert_eq(v, 77);
	cr_assert_eq(storm_bhs_field(p.bhs, STORM_F_R2TSN, &v), 0);
	cr_assert_eq(v, 3);
	cr_assert_eq(storm_bhs_field(p.bhs, STORM_F_DESIRED_LENGTH, &v), 0);
	cr_assert_eq(v, 262144);
	cr_assert_eq(storm_bhs_field(p.bhs, STORM_F_CMDSN, &v), -ENOENT);
	cr_assert_eq(storm_bhs_field(p.bhs, STORM_F_EDTL, &v), -ENOENT);
	cr_assert_str_eq(storm_iscsi_opcode_name(STORM_OP_R2T), "r2t");
	cr_assert_null(storm_iscsi_opcode_name(0x07));
	/* Data-In carries status only with the S bit. */
	tb_init(&p, STORM_OP_DATA_IN, 0x80, 1);
	cr_assert_eq(storm_bhs_field(p.bhs, STORM_F_STATUS, &v), -ENOENT);
	p.bhs[1] |= 0x01;
	p.bhs[3] = 2;
	cr_assert_eq(storm_bhs_field(p.bhs, STORM_F_STATUS, &v), 0);
	cr_assert_eq(v, 2);
}

/* Resynchronising with header digests: a candidate with a long AHS is
 * gathered in full (1072 bytes) before its digest rejects it; the true header
 * found inside that window must be followed by the bytes after it, not lose
 * them (a regression found by fuzz_parser). */
Test(parser, resync_window_longer_than_accepted_header, .init = init_pattern)
{
	ptrace pt;
	ptrace_init(&pt);
	storm_iscsi_assume_ffp(pt.p, true, false);
	tu_buf b = {0};
	tb_pdu p;
	/* A fake SCSI Command BHS with TotalAHSLength 255 and a bad digest. */
	uint8_t fake[48] = {STORM_OP_SCSI_CMD, 0x80, 0, 0, 255};
	tu_buf_put(&b, fake, sizeof fake);
	size_t first = b.len;
	for (uint32_t i = 0; i < 40; i++) {
		tb_init(&p, 0x40 | STORM_OP_NOP_OUT, 0x80, 500 + i);
		tb_emit(&b, &p, true, false);
	}
	cr_assert_eq(storm_iscsi_gap(pt.p, STORM_I2T, 100), 0);
	cr_assert_eq(storm_iscsi_feed(pt.p, STORM_I2T, b.data, b.len), (ssize_t)b.len);
	cr_assert_eq(pt.errors, 0, "%s", pt.t.text);
	char want[64];
	snprintf(want, sizeof want, "R0 skipped=%zu\n", 100 + first);
	cr_assert(strstr(pt.t.text, want), "%s", pt.t.text);
	for (uint32_t i = 0; i < 40; i++) {
		snprintf(want, sizeof want, "E0 op=00 itt=%u ", 500 + i);
		cr_assert(strstr(pt.t.text, want), "NOP-Out %u lost:\n%s", i, pt.t.text);
	}
	cr_assert_eq(storm_iscsi_offset(pt.p, STORM_I2T), 100 + b.len);
	tu_buf_free(&b);
	ptrace_free(&pt);
}

/* A malformed AHS reaches the error callback with the PDU's own header. */
Test(parser, ahs_error_reports_its_pdu)
{
	ptrace pt;
	ptrace_init(&pt);
	tu_buf b = {0};
	tb_pdu p;
	tb_init(&p, STORM_OP_SCSI_CMD, 0x80, 77);
	p.ahs_len = 4;
	p.ahs[1] = 200;
	p.ahs[2] = 1;
	tb_emit(&b, &p, false, false);
	cr_assert_eq(storm_iscsi_feed(pt.p, STORM_I2T, b.data, b.len), STORM_ERR_AHS);
	cr_assert(strstr(pt.t.text, "X0 err=-1998 pdu=1"), "%s", pt.t.text);
	tu_buf_free(&b);
	ptrace_free(&pt);
}

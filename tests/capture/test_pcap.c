/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/capture/pcap.c and lib/capture/link.c: capture files written here with
 * libpcap's dump API (and one pcapng by hand), read back into a reassembler.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <storm/pcap.h>

#include "tcp/tcp_testlib.h"

static char dir[64];
static char path[128];
static struct tl_rec rec;
static storm_tcp *t;
static struct tl_conn cn;

static void setup(void)
{
	strcpy(dir, "/tmp/storm-pcap-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/cap.pcap", dir);
	memset(&rec, 0, sizeof rec);
	t = tl_tcp_new(&rec);
	cn = tl_v4(40000, 3260);
}

static void teardown(void)
{
	storm_tcp_del(t);
	tl_rec_free(&rec);
	unlink(path);
	rmdir(dir);
}

TestSuite(pcap, .init = setup, .fini = teardown);

/* A record: link header then an IP packet, with its capture length. */
struct rec_spec {
	storm_dir dir;
	uint32_t seq;
	uint8_t flags;
	const char *payload;
	size_t cut; /* bytes missing from the end (snap length) */
};

/* Writes the link-layer header of dlt for an IP packet of family fam. */
static size_t link_hdr(uint8_t *p, int dlt, int fam, int vlans)
{
	uint16_t et = fam == AF_INET ? 0x0800 : 0x86dd;
	size_t n = 0;
	switch (dlt) {
	case DLT_EN10MB:
		memset(p, 0xaa, 12);
		n = 12;
		for (int i = 0; i < vlans; i++) {
			put_be16(p + n, i == 0 && vlans > 1 ? 0x88a8 : 0x8100);
			put_be16(p + n + 2, (uint16_t)(100 + i));
			n += 4;
		}
		put_be16(p + n, et);
		return n + 2;
	case DLT_LINUX_SLL:
		memset(p, 0, 16);
		put_be16(p + 14, et);
		return 16;
	case DLT_LINUX_SLL2:
		memset(p, 0, 20);
		put_be16(p, et);
		return 20;
	case DLT_NULL: {
		uint32_t af = fam == AF_INET ? 2 : 30;
		memcpy(p, &af, 4); /* host order, as the capturing machine wrote it */
		return 4;
	}
	case DLT_LOOP:
		put_be32(p, fam == AF_INET ? 2 : 24);
		return 4;
	default:
		return 0;
	}
}

static void write_pcap(int dlt, unsigned prec, int vlans, const struct rec_spec *recs, unsigned n)
{
	pcap_t *dead = pcap_open_dead_with_tstamp_precision(dlt, 262144, prec);
	cr_assert_not_null(dead);
	pcap_dumper_t *d = pcap_dump_open(dead, path);
	cr_assert_not_null(d, "%s", pcap_geterr(dead));
	for (unsigned i = 0; i < n; i++) {
		uint8_t buf[70000];
		size_t l = link_hdr(buf, dlt, cn.family, vlans);
		const char *pl = recs[i].payload ? recs[i].payload : "";
		l += tl_pkt(buf + l, &cn, recs[i].dir, recs[i].seq, 0, recs[i].flags, pl, strlen(pl));
		struct pcap_pkthdr h = { 0 };
		h.ts.tv_sec = 1700000000 + i;
		h.ts.tv_usec = prec == PCAP_TSTAMP_PRECISION_NANO ? 123456789 : 123456;
		h.len = (bpf_u_int32)l;
		h.caplen = (bpf_u_int32)(l - recs[i].cut);
		pcap_dump((u_char *)d, &h, buf);
	}
	pcap_dump_close(d);
	pcap_close(dead);
}

static const struct rec_spec conversation[] = {
	{ STORM_I2T, 1000, TL_SYN, NULL, 0 },
	{ STORM_T2I, 5000, TL_SYN | TL_ACK, NULL, 0 },
	{ STORM_I2T, 1001, TL_ACK, "hello", 0 },
	{ STORM_T2I, 5001, TL_ACK, "world", 0 },
	{ STORM_I2T, 1006, TL_ACK | TL_FIN, NULL, 0 },
	{ STORM_T2I, 5006, TL_ACK | TL_FIN, NULL, 0 },
};
#define NCONV (sizeof conversation / sizeof conversation[0])

static void read_all(int want)
{
	storm_pcap *p;
	cr_assert_eq(storm_pcap_open(&p, path), 0, "%s", storm_pcap_reason(p));
	cr_assert_str_eq(storm_pcap_reason(p), "");
	int r = storm_pcap_run(p, t);
	cr_assert_eq(r, want, "run: %d (%s)", r, storm_pcap_reason(p));
	storm_pcap_del(p);
}

static void check_conversation(void)
{
	cr_assert(tl_stream_is(&rec, STORM_I2T, "hello"));
	cr_assert(tl_stream_is(&rec, STORM_T2I, "world"));
	cr_assert_str_eq(rec.log, "O40000 D0:5 D1:5 C40000:FIN ");
}

static void roundtrip(int dlt, int vlans)
{
	write_pcap(dlt, PCAP_TSTAMP_PRECISION_MICRO, vlans, conversation, NCONV);
	storm_pcap *p;
	cr_assert_eq(storm_pcap_open(&p, path), 0, "%s", storm_pcap_reason(p));
	int r;
	unsigned n = 0;
	while ((r = storm_pcap_next(p, t)) == 1)
		n++;
	cr_assert_eq(r, 0, "%s", storm_pcap_reason(p));
	cr_assert_eq(n, NCONV);
	cr_assert_eq(storm_pcap_records(p), NCONV);
	cr_assert_eq(storm_pcap_skipped(p), 0);
	storm_pcap_del(p);
	check_conversation();
}

Test(pcap, ethernet) { roundtrip(DLT_EN10MB, 0); }
Test(pcap, ethernet_802_1q) { roundtrip(DLT_EN10MB, 1); }
Test(pcap, ethernet_qinq) { roundtrip(DLT_EN10MB, 2); }
Test(pcap, linux_sll) { roundtrip(DLT_LINUX_SLL, 0); }
Test(pcap, linux_sll2) { roundtrip(DLT_LINUX_SLL2, 0); }
Test(pcap, raw_ip) { roundtrip(DLT_RAW, 0); }
Test(pcap, dlt_ipv4) { roundtrip(DLT_IPV4, 0); }
Test(pcap, bsd_null) { roundtrip(DLT_NULL, 0); }
Test(pcap, bsd_loop) { roundtrip(DLT_LOOP, 0); }

Test(pcap, ipv6_over_ethernet_and_null)
{
	cn = tl_v6(40000, 3260);
	roundtrip(DLT_EN10MB, 1);
	teardown();
	setup();
	cn = tl_v6(40000, 3260);
	roundtrip(DLT_NULL, 0);
	teardown();
	setup();
	cn = tl_v6(40000, 3260);
	roundtrip(DLT_IPV6, 0);
}

Test(pcap, nanosecond_timestamps_become_microseconds)
{
	write_pcap(DLT_EN10MB, PCAP_TSTAMP_PRECISION_NANO, 0, conversation, 3);
	read_all(0);
	cr_assert_eq(rec.last_now, (1700000000ull + 2) * 1000000 + 123456);
}

Test(pcap, microsecond_timestamps)
{
	write_pcap(DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, 0, conversation, 3);
	read_all(0);
	cr_assert_eq(rec.last_now, (1700000000ull + 2) * 1000000 + 123456);
}

Test(pcap, snaplen_cut_record_is_skipped_and_becomes_a_gap)
{
	const struct rec_spec recs[] = {
		{ STORM_I2T, 1000, TL_SYN, NULL, 0 },
		{ STORM_I2T, 1001, TL_ACK, "aaaa", 0 },
		{ STORM_I2T, 1005, TL_ACK, "bbbbbbbb", 3 },
		{ STORM_I2T, 1013, TL_ACK, "cc", 0 },
	};
	write_pcap(DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, 0, recs, 4);
	storm_pcap *p;
	cr_assert_eq(storm_pcap_open(&p, path), 0);
	cr_assert_eq(storm_pcap_run(p, t), 0);
	cr_assert_eq(storm_pcap_records(p), 4);
	cr_assert_eq(storm_pcap_skipped(p), 1);
	storm_pcap_del(p);
	cr_assert_str_eq(rec.log, "O40000 D0:4 G0:8 D0:2 C40000:FLUSHED ");
}

Test(pcap, non_ip_records_are_skipped)
{
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d = pcap_dump_open(dead, path);
	uint8_t arp[42] = { 0 };
	put_be16(arp + 12, 0x0806);
	struct pcap_pkthdr h = { .caplen = 42, .len = 42 };
	pcap_dump((u_char *)d, &h, arp);
	uint8_t tiny[6] = { 0 };
	h.caplen = h.len = 6;
	pcap_dump((u_char *)d, &h, tiny);
	pcap_dump_close(d);
	pcap_close(dead);
	storm_pcap *p;
	cr_assert_eq(storm_pcap_open(&p, path), 0);
	cr_assert_eq(storm_pcap_run(p, t), 0);
	cr_assert_eq(storm_pcap_records(p), 2);
	cr_assert_eq(storm_pcap_skipped(p), 2);
	storm_pcap_del(p);
	cr_assert_str_eq(rec.log, "");
}

static void cut_file(size_t bytes)
{
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(truncate(path, st.st_size - (off_t)bytes), 0);
}

Test(pcap, truncated_inside_a_record_body)
{
	write_pcap(DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, 0, conversation, NCONV);
	cut_file(5);
	storm_pcap *p;
	cr_assert_eq(storm_pcap_open(&p, path), 0);
	cr_assert_eq(storm_pcap_run(p, t), STORM_ERR_TRUNCATED);
	cr_assert_eq(storm_pcap_records(p), NCONV - 1);
	cr_assert_not_null(strstr(storm_pcap_reason(p), "truncated"), "reason: %s",
			   storm_pcap_reason(p));
	storm_pcap_del(p);
}

Test(pcap, truncated_inside_a_record_header)
{
	write_pcap(DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, 0, conversation, 1);
	/* Append half a record header. */
	FILE *f = fopen(path, "ab");
	cr_assert_not_null(f);
	fwrite("\1\2\3\4\5\6\7", 1, 7, f);
	fclose(f);
	storm_pcap *p;
	cr_assert_eq(storm_pcap_open(&p, path), 0);
	cr_assert_eq(storm_pcap_next(p, t), 1);
	cr_assert_eq(storm_pcap_next(p, t), STORM_ERR_TRUNCATED);
	cr_assert_neq(storm_pcap_reason(p)[0], '\0');
	storm_pcap_del(p);
}

Test(pcap, not_a_capture)
{
	FILE *f = fopen(path, "w");
	fputs("this is not a capture file, just some text long enough\n", f);
	fclose(f);
	storm_pcap *p;
	cr_assert_eq(storm_pcap_open(&p, path), STORM_ERR_FORMAT);
	cr_assert_not_null(p);
	cr_assert_neq(storm_pcap_reason(p)[0], '\0');
	storm_pcap_del(p);
}

Test(pcap, empty_file_is_not_a_capture)
{
	FILE *f = fopen(path, "w");
	fclose(f);
	storm_pcap *p;
	cr_assert_eq(storm_pcap_open(&p, path), STORM_ERR_FORMAT);
	storm_pcap_del(p);
}

Test(pcap, missing_file_and_directory)
{
	storm_pcap *p;
	char missing[160];
	snprintf(missing, sizeof missing, "%s/nope.pcap", dir);
	cr_assert_eq(storm_pcap_open(&p, missing), -ENOENT);
	cr_assert_not_null(p);
	cr_assert_not_null(strstr(storm_pcap_reason(p), "nope.pcap"));
	storm_pcap_del(p);
	cr_assert_eq(storm_pcap_open(&p, dir), -EISDIR);
	storm_pcap_del(p);
	cr_assert_str_eq(storm_pcap_reason(NULL), "");
	storm_pcap_del(NULL);
}

Test(pcap, unhandled_link_type)
{
	write_pcap(DLT_IEEE802_11, PCAP_TSTAMP_PRECISION_MICRO, 0, NULL, 0);
	storm_pcap *p;
	cr_assert_eq(storm_pcap_open(&p, path), STORM_ERR_FORMAT);
	cr_assert_not_null(strstr(storm_pcap_reason(p), "link type 105"), "%s",
			   storm_pcap_reason(p));
	storm_pcap_del(p);
}

Test(pcap, callback_error_stops_the_run)
{
	write_pcap(DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, 0, conversation, NCONV);
	rec.fail_data = -EPIPE;
	storm_pcap *p;
	cr_assert_eq(storm_pcap_open(&p, path), 0);
	cr_assert_eq(storm_pcap_run(p, t), -EPIPE);
	cr_assert_eq(storm_pcap_records(p), 3);
	cr_assert_neq(storm_pcap_reason(p)[0], '\0');
	storm_pcap_del(p);
}

/* pcapng, little-endian, written by hand: SHB, IDB (Ethernet), one EPB per record. */
static void fput_le32(FILE *f, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	fwrite(b, 1, 4, f);
}

static void put_le16(FILE *f, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	fwrite(b, 1, 2, f);
}

Test(pcap, pcapng)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	fput_le32(f, 0x0a0d0d0a);
	fput_le32(f, 28);
	fput_le32(f, 0x1a2b3c4d);
	put_le16(f, 1);
	put_le16(f, 0);
	fput_le32(f, 0xffffffff);
	fput_le32(f, 0xffffffff);
	fput_le32(f, 28);
	fput_le32(f, 1);
	fput_le32(f, 20);
	put_le16(f, 1); /* LINKTYPE_ETHERNET */
	put_le16(f, 0);
	fput_le32(f, 65535);
	fput_le32(f, 20);
	for (unsigned i = 0; i < NCONV; i++) {
		uint8_t buf[256] = { 0 };
		size_t l = link_hdr(buf, DLT_EN10MB, AF_INET, 0);
		const char *pl = conversation[i].payload ? conversation[i].payload : "";
		l += tl_pkt(buf + l, &cn, conversation[i].dir, conversation[i].seq, 0,
			    conversation[i].flags, pl, strlen(pl));
		size_t padded = (l + 3) & ~(size_t)3;
		uint64_t ts = 1700000000ull * 1000000 + i;
		fput_le32(f, 6);
		fput_le32(f, (uint32_t)(32 + padded));
		fput_le32(f, 0);
		fput_le32(f, (uint32_t)(ts >> 32));
		fput_le32(f, (uint32_t)ts);
		fput_le32(f, (uint32_t)l);
		fput_le32(f, (uint32_t)l);
		fwrite(buf, 1, padded, f);
		fput_le32(f, (uint32_t)(32 + padded));
	}
	fclose(f);
	read_all(0);
	check_conversation();
	cr_assert_eq(rec.last_now, 1700000000ull * 1000000 + 3);
}

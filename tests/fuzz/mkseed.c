/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mkseed: writes the fuzz seed corpus in the records format (records.h).
 *
 *   mkseed [-p PORT]... OUTDIR CAPTURE...   seeds from captures
 *   mkseed --synth OUTDIR                   hand-made seeds
 *
 * From each TCP flow of a capture (via storm_pcap and storm_tcp) it writes
 * the flow's first bytes as OUTDIR/parser/NAME and OUTDIR/tracker/NAME, and,
 * for a long flow, a few windows taken further in that start with
 * storm_iscsi_start_midstream(); from the packets themselves it writes
 * OUTDIR/tcp/NAME (IP packets, one a record).  Every seed stays under
 * SEED_MAX bytes.  The hand-made seeds cover a Login that negotiates CRC32C
 * digests followed by PDUs with correct digests, and Text PDUs continued with
 * the C bit; each is checked to parse without error before it is written. */
#include <errno.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <storm/iscsi.h>
#include <storm/pcap.h>
#include <storm/tcp.h>

#include "records.h"

#define SEED_MAX (64 * 1024)
#define WINDOWS 3

/* ---- in-memory record lists ------------------------------------------- */

struct rec {
	unsigned flags;
	uint64_t gap;
	uint8_t *data;
	size_t len;
};

struct flow_recs {
	struct rec *v;
	size_t n, cap;
	storm_iscsi *check; /* follows the flow to learn whether digests were on */
	unsigned index;
};

static void recs_add(struct flow_recs *fr, unsigned flags, uint64_t gap, const uint8_t *data,
		     size_t len)
{
	if (fr->n == fr->cap) {
		fr->cap = fr->cap ? 2 * fr->cap : 64;
		fr->v = realloc(fr->v, fr->cap * sizeof *fr->v);
		if (!fr->v)
			exit(3);
	}
	struct rec *r = &fr->v[fr->n++];
	r->flags = flags;
	r->gap = gap;
	r->len = len;
	r->data = NULL;
	if (len) {
		r->data = malloc(len);
		if (!r->data)
			exit(3);
		memcpy(r->data, data, len);
	}
}

static void recs_free(struct flow_recs *fr)
{
	for (size_t i = 0; i < fr->n; i++)
		free(fr->v[i].data);
	free(fr->v);
	storm_iscsi_del(fr->check);
	memset(fr, 0, sizeof *fr);
}

/* Writes records [from, …) up to SEED_MAX bytes; the first gets @p mode. */
static int write_seed(const char *path, const struct flow_recs *fr, size_t from, unsigned mode)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		return -1;
	}
	size_t total = 0;
	for (size_t i = from; i < fr->n && total + 3 < SEED_MAX; i++) {
		const struct rec *r = &fr->v[i];
		unsigned flags = r->flags | (i == from ? mode : 0);
		if (r->gap) {
			record_write_gap(f, (storm_dir)(flags & REC_DIR), r->gap);
			total += 3;
			continue;
		}
		size_t len = r->len;
		if (total + 3 + len > SEED_MAX)
			len = SEED_MAX - total - 3;
		record_write(f, flags, r->data, len);
		total += 3 * (1 + len / REC_MAX_LEN) + len;
	}
	return fclose(f);
}

/* ---- seeds from captures ---------------------------------------------- */

struct capture_ctx {
	const char *outdir;
	const char *name;
	unsigned flows;
	int written;
};

static int on_open(storm_tcp *t, storm_flow *f, void *user)
{
	(void)t;
	struct capture_ctx *c = user;
	struct flow_recs *fr = calloc(1, sizeof *fr);
	if (!fr || storm_iscsi_new(&fr->check, NULL, NULL))
		return -ENOMEM;
	fr->index = c->flows++;
	storm_flow_set_user(f, fr);
	return 0;
}

static int on_data(storm_tcp *t, storm_flow *f, storm_dir d, const uint8_t *data, size_t len,
		   void *user)
{
	(void)t;
	(void)user;
	struct flow_recs *fr = storm_flow_user(f);
	recs_add(fr, (unsigned)d, 0, data, len);
	storm_iscsi_feed(fr->check, d, data, len);
	return 0;
}

static int on_gap(storm_tcp *t, storm_flow *f, storm_dir d, uint64_t len, void *user)
{
	(void)t;
	(void)user;
	struct flow_recs *fr = storm_flow_user(f);
	recs_add(fr, REC_GAP | (unsigned)d, len, NULL, 0);
	storm_iscsi_gap(fr->check, d, len);
	return 0;
}

static void write_one(struct capture_ctx *c, const struct flow_recs *fr, size_t from,
		      unsigned mode, const char *tag)
{
	static const char *const dirs[] = {"parser", "tracker"};
	for (int i = 0; i < 2; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s/%s-f%u-%s", c->outdir, dirs[i], c->name,
			 fr->index, tag);
		if (write_seed(path, fr, from, mode) == 0)
			c->written++;
	}
}

static void on_close(storm_tcp *t, storm_flow *f, storm_tcp_close why, void *user)
{
	(void)t;
	(void)why;
	struct capture_ctx *c = user;
	struct flow_recs *fr = storm_flow_user(f);
	size_t total = 0;
	for (size_t i = 0; i < fr->n; i++)
		total += fr->v[i].len;
	write_one(c, fr, 0, 0, "start");
	if (total > SEED_MAX) {
		/* Windows further in, where a capture that missed the Login would
		 * begin: the parser must find its footing by itself. */
		unsigned mode = (unsigned)START_MIDSTREAM << REC_MODE_SHIFT;
		if (storm_iscsi_header_digest(fr->check))
			mode |= REC_PAUSE;
		for (int w = 1; w <= WINDOWS; w++) {
			char tag[32];
			snprintf(tag, sizeof tag, "mid%d", w);
			write_one(c, fr, fr->n * (size_t)w / (WINDOWS + 1), mode, tag);
		}
	}
	recs_free(fr);
	free(fr);
}

/* Offset of the IP header for the link types captures here use. */
static int link_offset(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB: return 14;
	case DLT_NULL: return 4;
	case DLT_LINUX_SLL: return 16;
	case DLT_LINUX_SLL2: return 20;
	case DLT_RAW: return 0;
	default: return -1;
	}
}

/* The first packets of the capture, and a window from its middle. */
static int tcp_seeds(const char *outdir, const char *name, const char *path)
{
	char err[PCAP_ERRBUF_SIZE];
	int written = 0;
	for (int part = 0; part < 2; part++) {
		pcap_t *pc = pcap_open_offline(path, err);
		if (!pc)
			return written;
		int off = link_offset(pcap_datalink(pc));
		struct pcap_pkthdr *h;
		const u_char *pkt;
		size_t npkt = 0;
		if (part == 1) {
			while (pcap_next_ex(pc, &h, &pkt) == 1)
				npkt++;
			pcap_close(pc);
			pc = pcap_open_offline(path, err);
			if (!pc)
				return written;
		}
		char out[4096];
		snprintf(out, sizeof out, "%s/tcp/%s-%s", outdir, name, part ? "mid" : "start");
		FILE *f = fopen(out, "wb");
		if (!f || off < 0) {
			if (f)
				fclose(f);
			pcap_close(pc);
			return written;
		}
		size_t total = 0, i = 0;
		while (pcap_next_ex(pc, &h, &pkt) == 1 && total < SEED_MAX) {
			if (i++ < npkt / 2 || h->caplen <= (unsigned)off)
				continue;
			size_t len = h->caplen - (unsigned)off;
			if (total + 3 + len > SEED_MAX)
				break;
			record_write(f, 0, pkt + off, len);
			total += 3 + len;
		}
		fclose(f);
		pcap_close(pc);
		written++;
	}
	return written;
}

static int from_capture(const char *outdir, const uint16_t *ports, int nports, const char *path)
{
	const char *base = strrchr(path, '/');
	char name[256];
	snprintf(name, sizeof name, "%s", base ? base + 1 : path);
	char *dot = strrchr(name, '.');
	if (dot)
		*dot = '\0';
	struct capture_ctx c = {outdir, name, 0, 0};
	storm_tcp_callbacks *cbs;
	storm_tcp *t;
	storm_pcap *p;
	if (storm_tcp_callbacks_new(&cbs))
		return -ENOMEM;
	storm_tcp_callbacks_set_open(cbs, on_open);
	storm_tcp_callbacks_set_data(cbs, on_data);
	storm_tcp_callbacks_set_gap(cbs, on_gap);
	storm_tcp_callbacks_set_close(cbs, on_close);
	if (storm_tcp_new(&t, cbs, &c))
		return -ENOMEM;
	storm_tcp_callbacks_del(cbs);
	storm_tcp_add_port(t, 3260);
	for (int i = 0; i < nports; i++)
		storm_tcp_add_port(t, ports[i]);
	int rc = storm_pcap_open(&p, path);
	if (rc == 0)
		rc = storm_pcap_run(p, t);
	if (rc)
		fprintf(stderr, "mkseed: %s: %s %s\n", path, storm_strerror(rc),
			p ? storm_pcap_reason(p) : "");
	storm_pcap_del(p);
	storm_tcp_del(t);
	int ntcp = tcp_seeds(outdir, name, path);
	fprintf(stderr, "mkseed: %s: %u flows, %d iSCSI seeds, %d tcp seeds\n", path, c.flows,
		c.written, ntcp);
	return rc;
}

/* ---- hand-made seeds --------------------------------------------------- */

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

struct pdu_buf {
	uint8_t b[65536];
	size_t len;
};

/* Appends one PDU: @p bhs (48 bytes, DataSegmentLength filled in here), the
 * header digest if @p hd, the data padded to 4 bytes, the data digest if
 * @p dd and there is data. */
static void put_pdu(struct pdu_buf *o, uint8_t *bhs, const void *data, size_t dlen, bool hd,
		    bool dd)
{
	bhs[5] = (uint8_t)(dlen >> 16);
	bhs[6] = (uint8_t)(dlen >> 8);
	bhs[7] = (uint8_t)dlen;
	memcpy(o->b + o->len, bhs, 48);
	o->len += 48;
	if (hd) {
		put_le32(o->b + o->len, storm_crc32c(0, bhs, 48));
		o->len += 4;
	}
	if (!dlen)
		return;
	size_t start = o->len;
	memcpy(o->b + o->len, data, dlen);
	o->len += dlen;
	while (o->len & 3)
		o->b[o->len++] = 0;
	if (dd) {
		put_le32(o->b + o->len, storm_crc32c(0, o->b + start, o->len - start));
		o->len += 4;
	}
}

static void bhs_init(uint8_t *bhs, uint8_t op, uint8_t flags, uint32_t itt)
{
	memset(bhs, 0, 48);
	bhs[0] = op;
	bhs[1] = flags;
	put32(bhs + 16, itt);
}

/* A seed under construction: records written to a memory buffer. */
struct seed {
	uint8_t buf[4 * 65536];
	size_t len;
	bool first;
	unsigned mode;
};

static void seed_pdus(struct seed *s, storm_dir d, struct pdu_buf *o, unsigned chunk)
{
	size_t pos = 0;
	do {
		size_t n = o->len - pos < REC_MAX_LEN ? o->len - pos : REC_MAX_LEN;
		unsigned flags = (unsigned)d | chunk << REC_CHUNK_SHIFT | (s->first ? s->mode : 0);
		s->buf[s->len++] = (uint8_t)flags;
		s->buf[s->len++] = (uint8_t)(n >> 8);
		s->buf[s->len++] = (uint8_t)n;
		memcpy(s->buf + s->len, o->b + pos, n);
		s->len += n;
		pos += n;
		s->first = false;
	} while (pos < o->len);
	o->len = 0;
}

static int synth_errors;

static void check_error(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, int err,
			const char *reason, void *user)
{
	(void)p;
	(void)pdu;
	fprintf(stderr, "mkseed: hand-made seed %s: %s: %s %s\n", (const char *)user,
		d ? "t2i" : "i2t", storm_strerror(err), reason);
	synth_errors++;
}

/* Parses the seed once to make sure it is what it claims, then writes it. */
static void seed_write(const char *outdir, const char *name, const struct seed *s,
		       bool want_digests)
{
	storm_iscsi_callbacks *cbs;
	storm_iscsi *p;
	if (storm_iscsi_callbacks_new(&cbs))
		exit(3);
	storm_iscsi_callbacks_set_error(cbs, check_error);
	if (storm_iscsi_new(&p, cbs, (void *)name))
		exit(3);
	storm_iscsi_callbacks_del(cbs);
	const uint8_t *in = s->buf;
	size_t left = s->len;
	struct record r;
	if (s->mode >> REC_MODE_SHIFT == START_FFP)
		storm_iscsi_assume_ffp(p, s->mode & REC_PAUSE, s->mode & REC_PAUSE);
	while (record_next(&in, &left, &r))
		storm_iscsi_feed(p, r.dir, r.data, r.len);
	if (storm_iscsi_header_digest(p) != want_digests) {
		fprintf(stderr, "mkseed: hand-made seed %s: digests not as intended\n", name);
		synth_errors++;
	}
	storm_iscsi_del(p);
	static const char *const dirs[] = {"parser", "tracker"};
	for (int i = 0; i < 2; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s/%s", outdir, dirs[i], name);
		FILE *f = fopen(path, "wb");
		if (!f || fwrite(s->buf, 1, s->len, f) != s->len || fclose(f)) {
			perror(path);
			synth_errors++;
		}
	}
}

static const char login_i[] = "InitiatorName=iqn.2024-01.org.example:init\0"
			      "TargetName=iqn.2024-01.org.example:disk\0"
			      "SessionType=Normal\0AuthMethod=None\0"
			      "HeaderDigest=CRC32C,None\0DataDigest=CRC32C,None\0"
			      "MaxRecvDataSegmentLength=65536\0ImmediateData=Yes\0"
			      "InitialR2T=No\0FirstBurstLength=65536\0MaxBurstLength=262144";
static const char login_t[] = "TargetPortalGroupTag=1\0HeaderDigest=CRC32C\0"
			      "DataDigest=CRC32C\0MaxRecvDataSegmentLength=65536\0"
			      "ImmediateData=Yes\0InitialR2T=No\0FirstBurstLength=65536\0"
			      "MaxBurstLength=262144";

static const char login_i0[] = "InitiatorName=iqn.2024-01.org.example:init\0"
			       "SessionType=Normal\0HeaderDigest=None\0"
			       "DataDigest=None\0MaxRecvDataSegmentLength=65536";
static const char login_t0[] = "TargetPortalGroupTag=1\0HeaderDigest=None\0"
			       "DataDigest=None\0MaxRecvDataSegmentLength=65536";

static void put_login(struct seed *s, struct pdu_buf *o, bool digests)
{
	uint8_t bhs[48];
	/* Login Request, T=1, CSG=1 (operational), NSG=3 (full feature). */
	bhs_init(bhs, 0x43, 0x87, 1);
	bhs[8] = 0x02; /* ISID */
	if (digests)
		put_pdu(o, bhs, login_i, sizeof login_i, false, false);
	else
		put_pdu(o, bhs, login_i0, sizeof login_i0, false, false);
	seed_pdus(s, STORM_I2T, o, 0);
	bhs_init(bhs, 0x23, 0x87, 1);
	bhs[14] = 0x01; /* TSIH */
	if (digests)
		put_pdu(o, bhs, login_t, sizeof login_t, false, false);
	else
		put_pdu(o, bhs, login_t0, sizeof login_t0, false, false);
	seed_pdus(s, STORM_T2I, o, 0);
}

/* WRITE(10) with immediate data, an R2T, Data-Out, the response; a READ(10)
 * answered by Data-In with the S bit; a READ CAPACITY(10); a NOP. */
static void put_io(struct seed *s, struct pdu_buf *o, bool hd, bool dd)
{
	static uint8_t data[8192];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * 7);
	uint8_t bhs[48];
	/* WRITE(10) of 16 blocks: 4 KiB immediate, 4 KiB after an R2T. */
	bhs_init(bhs, 0x01, 0xa0, 0x10); /* F, W, simple */
	bhs[9] = 1;                      /* LUN 1 */
	put32(bhs + 20, 8192);
	put32(bhs + 24, 2);
	bhs[32] = 0x2a;
	put32(bhs + 34, 1000);
	bhs[40] = 16; /* transfer length: CDB bytes 7-8 */
	put_pdu(o, bhs, data, 4096, hd, dd);
	seed_pdus(s, STORM_I2T, o, 6);
	bhs_init(bhs, 0x31, 0x80, 0x10);
	bhs[9] = 1;
	put32(bhs + 20, 0x77);  /* TTT */
	put32(bhs + 40, 4096);  /* Buffer Offset */
	put32(bhs + 44, 4096);  /* Desired length */
	put_pdu(o, bhs, NULL, 0, hd, dd);
	seed_pdus(s, STORM_T2I, o, 3);
	bhs_init(bhs, 0x05, 0x80, 0x10);
	bhs[9] = 1;
	put32(bhs + 20, 0x77);
	put32(bhs + 40, 4096);
	put_pdu(o, bhs, data + 4096, 4096, hd, dd);
	seed_pdus(s, STORM_I2T, o, 2);
	bhs_init(bhs, 0x21, 0x80, 0x10);
	put_pdu(o, bhs, NULL, 0, hd, dd);
	seed_pdus(s, STORM_T2I, o, 0);
	/* READ(10) of 2 blocks, Data-In carrying the status. */
	bhs_init(bhs, 0x01, 0xc0, 0x11); /* F, R */
	bhs[9] = 1;
	put32(bhs + 20, 1024);
	bhs[32] = 0x28;
	put32(bhs + 34, 8);
	bhs[40] = 2;
	put_pdu(o, bhs, NULL, 0, hd, dd);
	seed_pdus(s, STORM_I2T, o, 0);
	bhs_init(bhs, 0x25, 0x81, 0x11); /* F, S */
	put32(bhs + 20, 0xffffffff);
	put_pdu(o, bhs, data, 1024, hd, dd);
	seed_pdus(s, STORM_T2I, o, 5);
	/* READ CAPACITY(10): 8 bytes, block size 4096. */
	bhs_init(bhs, 0x01, 0xc0, 0x12);
	bhs[9] = 1;
	put32(bhs + 20, 8);
	bhs[32] = 0x25;
	put_pdu(o, bhs, NULL, 0, hd, dd);
	seed_pdus(s, STORM_I2T, o, 0);
	uint8_t cap[8] = {0, 0, 0x0f, 0xff, 0, 0, 0x10, 0};
	bhs_init(bhs, 0x25, 0x81, 0x12);
	put32(bhs + 20, 0xffffffff);
	put_pdu(o, bhs, cap, sizeof cap, hd, dd);
	seed_pdus(s, STORM_T2I, o, 1);
	/* NOP-Out ping with data, NOP-In answer. */
	bhs_init(bhs, 0x40, 0x80, 0x13);
	put32(bhs + 20, 0xffffffff);
	put_pdu(o, bhs, "ping", 4, hd, dd);
	seed_pdus(s, STORM_I2T, o, 7);
	bhs_init(bhs, 0x20, 0x80, 0x13);
	put32(bhs + 20, 0xffffffff);
	put_pdu(o, bhs, "ping", 4, hd, dd);
	seed_pdus(s, STORM_T2I, o, 0);
}

/* A SendTargets exchange whose response is split over three Text PDUs with
 * the C bit, cutting a key=value pair in the middle. */
static void put_text_continued(struct seed *s, struct pdu_buf *o, bool hd, bool dd)
{
	uint8_t bhs[48];
	bhs_init(bhs, 0x44, 0x80, 0x20);
	put32(bhs + 20, 0xffffffff);
	static const char req[] = "SendTargets=All";
	put_pdu(o, bhs, req, sizeof req, hd, dd);
	seed_pdus(s, STORM_I2T, o, 0);
	static const char resp[] = "TargetName=iqn.2024-01.org.example:disk\0"
				   "TargetAddress=192.0.2.1:3260,1\0"
				   "TargetName=iqn.2024-01.org.example:second\0"
				   "TargetAddress=[2001:db8::1]:3260,1";
	const size_t cut[] = {0, 17, 60, sizeof resp};
	for (int i = 0; i < 3; i++) {
		bool last = i == 2;
		bhs_init(bhs, 0x24, last ? 0x80 : 0x40, 0x20); /* C on all but the last */
		put32(bhs + 20, last ? 0xffffffff : 0x99);
		put_pdu(o, bhs, resp + cut[i], cut[i + 1] - cut[i], hd, dd);
		seed_pdus(s, STORM_T2I, o, i == 1 ? 1 : 0);
		if (!last) {
			/* The initiator asks for the rest with an empty Text Request. */
			bhs_init(bhs, 0x44, 0x80, 0x20);
			put32(bhs + 20, 0x99);
			put_pdu(o, bhs, NULL, 0, hd, dd);
			seed_pdus(s, STORM_I2T, o, 0);
		}
	}
}

static int synth(const char *outdir)
{
	static struct seed s;
	static struct pdu_buf o;
	s = (struct seed){.first = true};
	put_login(&s, &o, true);
	put_io(&s, &o, true, true);
	seed_write(outdir, "synth-login-digests", &s, true);

	s = (struct seed){.first = true};
	put_login(&s, &o, true);
	put_text_continued(&s, &o, true, true);
	seed_write(outdir, "synth-text-continued-digests", &s, true);

	s = (struct seed){.first = true};
	put_login(&s, &o, false);
	put_text_continued(&s, &o, false, false);
	put_io(&s, &o, false, false);
	seed_write(outdir, "synth-text-continued", &s, false);

	/* Full Feature Phase assumed, digests on, no Login. */
	s = (struct seed){.first = true,
			  .mode = (unsigned)START_FFP << REC_MODE_SHIFT | REC_PAUSE};
	put_io(&s, &o, true, true);
	seed_write(outdir, "synth-ffp-digests", &s, true);
	return synth_errors ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"port", required_argument, NULL, 'p'},
		{"synth", no_argument, NULL, 's'},
		{NULL, 0, NULL, 0}};
	uint16_t ports[64];
	int nports = 0, c;
	bool synthetic = false;
	while ((c = getopt_long(argc, argv, "p:s", opts, NULL)) != -1) {
		if (c == 'p' && nports < 64)
			ports[nports++] = (uint16_t)atoi(optarg);
		else if (c == 's')
			synthetic = true;
		else
			return 1;
	}
	if (optind >= argc || (!synthetic && optind + 1 >= argc)) {
		fprintf(stderr, "usage: mkseed [-p PORT]... OUTDIR CAPTURE...\n"
				"       mkseed --synth OUTDIR\n");
		return 1;
	}
	const char *outdir = argv[optind];
	if (synthetic)
		return synth(outdir);
	int rc = 0;
	for (int i = optind + 1; i < argc; i++)
		if (from_capture(outdir, ports, nports, argv[i]))
			rc = 2;
	return rc;
}

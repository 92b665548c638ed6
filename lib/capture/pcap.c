/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <storm/pcap.h>

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "link.h"

struct storm_pcap {
	pcap_t *pc;
	int dlt;
	uint64_t records;
	uint64_t skipped;
	char reason[PCAP_ERRBUF_SIZE + 128];
};

static int fail(storm_pcap *p, int err, const char *what, const char *detail)
{
	snprintf(p->reason, sizeof p->reason, "%s: %s", what, detail);
	return err;
}

/*
 * libpcap reports every open failure as text; the cases a caller acts on
 * differently (no such file, no permission) are told apart before it runs.
 */
static int check_path(storm_pcap *p, const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0 || access(path, R_OK) != 0)
		return fail(p, -errno, path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return fail(p, -EISDIR, path, strerror(EISDIR));
	return 0;
}

STORM_EXTERN int storm_pcap_open(storm_pcap **pp, const char *path)
{
	storm_pcap *p = calloc(1, sizeof *p);
	*pp = p;
	if (!p)
		return -ENOMEM;
	int r = check_path(p, path);
	if (r)
		return r;
	char err[PCAP_ERRBUF_SIZE] = "";
	/* Nanosecond files are scaled to the microseconds storm_tcp_packet() takes. */
	p->pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, err);
	if (!p->pc)
		return fail(p, STORM_ERR_FORMAT, path, err);
	p->dlt = pcap_datalink(p->pc);
	if (!link_supported(p->dlt)) {
		char what[128];
		const char *name = pcap_datalink_val_to_name(p->dlt);
		snprintf(what, sizeof what, "link type %d (%s) not handled", p->dlt,
			 name ? name : "unknown");
		return fail(p, STORM_ERR_FORMAT, path, what);
	}
	return 0;
}

STORM_EXTERN void storm_pcap_del(storm_pcap *p)
{
	if (!p)
		return;
	if (p->pc)
		pcap_close(p->pc);
	free(p);
}

/* libpcap says "truncated" for a file ending inside a record header or body. */
static int read_error(storm_pcap *p)
{
	const char *msg = pcap_geterr(p->pc);
	int err = strstr(msg, "truncated") ? STORM_ERR_TRUNCATED : STORM_ERR_FORMAT;
	return fail(p, err, "reading capture", msg);
}

/*
 * A record cut by the snap length lacks the end of its payload; rather than
 * feed a partial segment that would look complete, it is skipped and the
 * reassembler reports the hole.  Malformed IP in one record is counted the
 * same way: a capture is still worth reading past one bad packet.
 */
static int feed(storm_pcap *p, storm_tcp *t, const struct pcap_pkthdr *h, const uint8_t *rec)
{
	const uint8_t *ip;
	size_t iplen;
	if (h->caplen < h->len || !link_ip(p->dlt, rec, h->caplen, &ip, &iplen)) {
		p->skipped++;
		return 1;
	}
	uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
	int r = storm_tcp_packet(t, ip, iplen, ts);
	if (r == STORM_ERR_FORMAT) {
		p->skipped++;
		return 1;
	}
	/* A callback's positive refusal would read as "one more record". */
	if (r > 1)
		r = STORM_ERR_CALLBACK;
	if (r < 0)
		return fail(p, r, "reassembler", storm_strerror(r));
	return 1;
}

STORM_EXTERN int storm_pcap_next(storm_pcap *p, storm_tcp *t)
{
	if (!p->pc)
		return fail(p, -EBADF, "capture", "not open");
	struct pcap_pkthdr *h;
	const u_char *rec;
	int r = pcap_next_ex(p->pc, &h, &rec);
	if (r == PCAP_ERROR_BREAK)
		return 0;
	if (r != 1)
		return read_error(p);
	p->records++;
	return feed(p, t, h, rec);
}

STORM_EXTERN int storm_pcap_run(storm_pcap *p, storm_tcp *t)
{
	int r;
	while ((r = storm_pcap_next(p, t)) == 1)
		;
	if (r)
		return r;
	r = storm_tcp_flush(t);
	if (r)
		return fail(p, r, "reassembler", storm_strerror(r));
	return 0;
}

STORM_EXTERN const char *storm_pcap_reason(const storm_pcap *p)
{
	return p ? p->reason : "";
}

STORM_EXTERN uint64_t storm_pcap_records(const storm_pcap *p)
{
	return p->records;
}

STORM_EXTERN uint64_t storm_pcap_skipped(const storm_pcap *p)
{
	return p->skipped;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal state of the iSCSI stream parser.  Everything is fixed-size: the
 * memory a connection uses does not depend on its input. */
#ifndef STORM_ISCSI_PARSER_INT_H
#define STORM_ISCSI_PARSER_INT_H

#include <storm/iscsi.h>

#include "iscsi/negotiate.h"
#include "iscsi/text.h"

/* RFC 7143 §11.2.1.5: TotalAHSLength counts 4-byte words in one byte. */
#define ISCSI_MAX_AHS (255 * 4)
#define ISCSI_DIGEST_LEN 4
/* BHS, the largest AHS and a header digest. */
#define ISCSI_MAX_HDR (STORM_BHS_LEN + ISCSI_MAX_AHS + ISCSI_DIGEST_LEN)
/* Until a MaxRecvDataSegmentLength is declared (RFC 7143 §13.12). */
#define ISCSI_DEFAULT_MRDSL 8192

struct storm_iscsi_callbacks {
	storm_iscsi_pdu_cb pdu;
	storm_iscsi_data_cb data;
	storm_iscsi_pdu_end_cb pdu_end;
	storm_iscsi_text_cb text;
	storm_iscsi_error_cb error;
	storm_iscsi_resync_cb resync;
};

struct storm_pdu {
	const uint8_t *hdr;     /* BHS followed by the AHS */
	size_t ahs_len;
	const uint8_t *cdb;     /* SCSI Command only */
	size_t cdb_len;
	bool has_bidi;
	uint32_t bidi_len;
	uint64_t offset;
	bool lost;
};

/* Where a direction is within the current PDU. */
enum pstate {
	ST_HEADER,   /* gathering BHS, AHS and header digest into hdr[] */
	ST_DATA,     /* data segment, handed out as it passes */
	ST_TRAILER,  /* padding and data digest */
	ST_RESYNC,   /* searching for a trustworthy header after a loss */
	ST_BROKEN
};

struct iscsi_dir {
	enum pstate st;
	uint8_t hdr[ISCSI_MAX_HDR];
	size_t have;            /* bytes of hdr[] (or of the trailer) gathered */
	size_t hdr_need;        /* total header bytes of this PDU, once known */
	uint32_t dsl;
	uint32_t data_done;     /* data bytes consumed (delivered or lost) */
	uint32_t trailer_len;   /* padding plus data digest */
	uint8_t trailer[3 + ISCSI_DIGEST_LEN];
	uint32_t crc;           /* running data digest */
	bool digest_data;       /* whether this PDU carries a data digest */
	bool header_done;       /* the current PDU's header was whole and checked */
	/* Bytes the resynchronisation window held past the header it accepted:
	 * they are processed again, before new input (see resync.c). */
	uint8_t replay[2 * ISCSI_MAX_HDR];
	size_t replay_len, replay_pos;
	uint64_t resync_skipped;
	uint64_t offset;        /* stream offset of the next byte */
	struct storm_pdu pdu;
	uint8_t cdb[16 + ISCSI_MAX_AHS];
	struct text_parser text;
	char reason[192];
};

struct storm_iscsi {
	struct storm_iscsi_callbacks cb;
	void *user;
	struct iscsi_dir dir[2];
	struct negotiation neg;
	bool ffp;
	bool hdigest, ddigest;
	bool discovery;
	uint32_t max_dsl[2];
	bool saw_first[2];
};

/* Fails direction @p d with @p err and a formatted reason; returns @p err. */
int iscsi_fail(storm_iscsi *p, storm_dir d, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Checks a gathered BHS against the opcode table and the negotiated limits;
 * 0 or a STORM_ERR_* with the reason written to @p reason. */
int iscsi_check_bhs(const storm_iscsi *p, storm_dir d, const uint8_t *bhs,
		    char *reason, size_t reason_len);

/* Parses the AHS of a complete header into @p pdu (CDB, bidi length). */
int iscsi_parse_ahs(struct iscsi_dir *ds, char *reason, size_t reason_len);

/* Called at the end of every Login or Text PDU: applies what negotiation
 * settled (§6, §13) at the PDU where it takes effect. */
void iscsi_negotiation_pdu_end(storm_iscsi *p, storm_dir d, const uint8_t *bhs);

/* Ends a PDU whose trailer a gap completed (no pausing here). */
int iscsi_gap_pdu_end(storm_iscsi *p, storm_dir d);

/* Scans @p in for a header that can be trusted after a loss.  Returns the
 * offset of the candidate, or @p len if none starts before the end (the last
 * bytes are kept in the direction's header buffer for the next call). */
size_t iscsi_resync_scan(storm_iscsi *p, storm_dir d, const uint8_t *in, size_t len);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the iSCSI stream parser (storm_iscsi), both directions of
 * one connection, in the records format of records.h.  Every callback reads
 * every byte it is handed, so AddressSanitizer sees any pointer that strays
 * outside the input or the parser's buffers. */
#include <string.h>

#include <storm/iscsi.h>

#include "drive.h"

static struct drive g_dr;
static int g_errors[2];

static void touch_pdu(const storm_pdu *pdu)
{
	const uint8_t *bhs = storm_pdu_bhs(pdu);
	touch(bhs, STORM_BHS_LEN);
	size_t len = 0;
	const uint8_t *ahs = storm_pdu_ahs(pdu, &len);
	FUZZ_CHECK(len == storm_bhs_ahs_len(bhs));
	if (len)
		touch(ahs, len);
	const uint8_t *cdb = storm_pdu_cdb(pdu, &len);
	if (cdb)
		touch(cdb, len);
	FUZZ_CHECK(!cdb == (storm_bhs_opcode(bhs) != STORM_OP_SCSI_CMD));
	uint32_t bidi = 0;
	if (storm_pdu_bidi_read_length(pdu, &bidi) == 0)
		g_sink += bidi;
	g_sink += (uint32_t)storm_pdu_stream_offset(pdu) + storm_pdu_lost(pdu);
	const char *name = storm_iscsi_opcode_name(storm_bhs_opcode(bhs));
	if (name)
		touch(name, strlen(name));
	g_sink += storm_bhs_immediate(bhs) + storm_bhs_flags(bhs) + storm_bhs_final(bhs) +
		  storm_bhs_dsl(bhs) + storm_bhs_itt(bhs) + storm_bhs_u32(bhs, 44);
	for (int f = 0; f < STORM_F_COUNT; f++) {
		uint64_t v;
		if (storm_bhs_field(bhs, (enum storm_field)f, &v) == 0)
			g_sink += (uint32_t)v;
	}
}

static int on_pdu(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, void *user)
{
	(void)p;
	(void)d;
	(void)user;
	touch_pdu(pdu);
	return drive_pause(&g_dr);
}

static int on_data(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, uint32_t offset,
		   const uint8_t *data, size_t len, void *user)
{
	(void)p;
	(void)d;
	(void)user;
	FUZZ_CHECK((uint64_t)offset + len <= storm_bhs_dsl(storm_pdu_bhs(pdu)));
	touch(data, len);
	return drive_pause(&g_dr);
}

static int on_pdu_end(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, void *user)
{
	(void)p;
	(void)d;
	(void)user;
	touch_pdu(pdu);
	return drive_pause(&g_dr);
}

static int on_text(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, const char *key,
		   const char *value, void *user)
{
	(void)p;
	(void)d;
	(void)user;
	touch_pdu(pdu);
	touch(key, strlen(key) + 1);
	touch(value, strlen(value) + 1);
	return drive_pause(&g_dr); /* ignored by the parser: text cannot pause */
}

static void on_error(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, int err,
		     const char *reason, void *user)
{
	(void)p;
	(void)user;
	FUZZ_CHECK(err < 0);
	g_errors[d]++;
	if (pdu) {
		FUZZ_CHECK(storm_pdu_bhs(pdu) != NULL);
		touch_pdu(pdu);
	}
	touch(reason, strlen(reason) + 1);
}

static void on_resync(storm_iscsi *p, storm_dir d, uint64_t skipped, void *user)
{
	(void)p;
	(void)d;
	(void)user;
	g_sink += (uint32_t)skipped;
}

static ssize_t feed(void *obj, storm_dir d, const uint8_t *in, size_t len)
{
	return storm_iscsi_feed(obj, d, in, len);
}

static int gap(void *obj, storm_dir d, uint64_t len)
{
	return storm_iscsi_gap(obj, d, len);
}

/* Reads every getter; none may crash whatever the state. */
static void touch_state(const storm_iscsi *p)
{
	static const char *const keys[] = {"HeaderDigest", "DataDigest", "MaxRecvDataSegmentLength",
					   "SessionType", "InitiatorName", "TargetName",
					   "MaxBurstLength", "FirstBurstLength", "NoSuchKey"};
	g_sink += storm_iscsi_in_ffp(p) + storm_iscsi_header_digest(p) + storm_iscsi_data_digest(p) +
		  storm_iscsi_discovery(p);
	for (int d = 0; d < 2; d++) {
		g_sink += storm_iscsi_max_dsl(p, (storm_dir)d);
		const char *r = storm_iscsi_reason(p, (storm_dir)d);
		touch(r, strlen(r) + 1);
		for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
			const char *v = storm_iscsi_key(p, (storm_dir)d, keys[k]);
			if (v)
				touch(v, strlen(v) + 1);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static storm_iscsi_callbacks *cbs;
	if (!cbs) {
		if (storm_iscsi_callbacks_new(&cbs))
			abort();
		storm_iscsi_callbacks_set_pdu(cbs, on_pdu);
		storm_iscsi_callbacks_set_data(cbs, on_data);
		storm_iscsi_callbacks_set_pdu_end(cbs, on_pdu_end);
		storm_iscsi_callbacks_set_text(cbs, on_text);
		storm_iscsi_callbacks_set_error(cbs, on_error);
		storm_iscsi_callbacks_set_resync(cbs, on_resync);
	}
	storm_iscsi *p;
	if (storm_iscsi_new(&p, cbs, NULL))
		abort();
	memset(&g_dr, 0, sizeof g_dr);
	memset(g_errors, 0, sizeof g_errors);
	g_dr.obj = p;
	g_dr.parser = p;
	g_dr.feed = feed;
	g_dr.gap = gap;
	drive_run(&g_dr, data, size);
	touch_state(p);
	/* The error callback runs once per failed direction, never otherwise. */
	for (int d = 0; d < 2; d++)
		FUZZ_CHECK(g_errors[d] == (g_dr.broken[d] ? 1 : 0));
	storm_iscsi_del(p);
	return 0;
}

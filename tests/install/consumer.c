/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A program built out of tree against an installed libstorm: it parses one
 * NOP-Out and checks the version macros agree with the library. */
#include <stdio.h>
#include <string.h>
#include <storm/storm.h>

static int pdus;

static int on_end(storm_iscsi *p, storm_dir d, const storm_pdu *pdu, void *user)
{
	(void)p;
	(void)d;
	(void)user;
	pdus += storm_bhs_opcode(storm_pdu_bhs(pdu)) == STORM_OP_NOP_OUT;
	return 0;
}

int main(void)
{
	uint8_t nop[48] = {0x40, 0x80};
	storm_iscsi_callbacks *cbs;
	storm_iscsi *p;
	if (storm_version() != STORM_VERSION_NUM || strcmp(storm_version_string(), STORM_VERSION_STRING))
		return 1;
	if (storm_iscsi_callbacks_new(&cbs) || (storm_iscsi_callbacks_set_pdu_end(cbs, on_end), 0) ||
	    storm_iscsi_new(&p, cbs, NULL))
		return 2;
	if (storm_iscsi_feed(p, STORM_I2T, nop, sizeof nop) != 48 || pdus != 1)
		return 3;
	storm_iscsi_del(p);
	storm_iscsi_callbacks_del(cbs);
	printf("consumer: libstorm %s parsed %d PDU\n", storm_version_string(), pdus);
	return 0;
}

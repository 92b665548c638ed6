/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "iscsi/negotiate.h"

#include <stdlib.h>
#include <string.h>

#include "iscsi/parser_int.h"

static const char *const key_names[K_COUNT] = {
	[K_HEADER_DIGEST] = "HeaderDigest", [K_DATA_DIGEST] = "DataDigest",
	[K_MRDSL] = "MaxRecvDataSegmentLength", [K_SESSION_TYPE] = "SessionType",
	[K_INITIATOR_NAME] = "InitiatorName", [K_TARGET_NAME] = "TargetName",
	[K_INITIATOR_ALIAS] = "InitiatorAlias", [K_TARGET_ALIAS] = "TargetAlias",
	[K_INITIAL_R2T] = "InitialR2T", [K_IMMEDIATE_DATA] = "ImmediateData",
	[K_FIRST_BURST] = "FirstBurstLength", [K_MAX_BURST] = "MaxBurstLength",
	[K_MAX_OUTSTANDING_R2T] = "MaxOutstandingR2T",
	[K_DATA_PDU_IN_ORDER] = "DataPDUInOrder",
	[K_DATA_SEQ_IN_ORDER] = "DataSequenceInOrder",
	[K_ERL] = "ErrorRecoveryLevel", [K_AUTH_METHOD] = "AuthMethod",
	[K_MAX_CONNECTIONS] = "MaxConnections",
};

static int key_index(const char *key)
{
	for (int i = 0; i < K_COUNT; i++)
		if (strcmp(key_names[i], key) == 0)
			return i;
	return -1;
}

/* RFC 7143 §6.2: "Reject", "Irrelevant" and "NotUnderstood" answers leave
 * the key at its default, which for both digests is None. */
static void settle_digest(bool *result, const char *value)
{
	if (strchr(value, ','))
		return; /* an offer, not an answer */
	*result = strcmp(value, "CRC32C") == 0;
}

void neg_statement(struct negotiation *n, storm_dir d, const char *key, const char *value)
{
	int k = key_index(key);
	if (k < 0)
		return;
	strncpy(n->val[d][k], value, NEG_VALUE_MAX - 1);
	n->val[d][k][NEG_VALUE_MAX - 1] = '\0';
	n->set[d][k] = true;
	if (k == K_HEADER_DIGEST)
		settle_digest(&n->hdigest, value);
	else if (k == K_DATA_DIGEST)
		settle_digest(&n->ddigest, value);
}

const char *neg_get(const struct negotiation *n, storm_dir d, const char *key)
{
	int k = key_index(key);
	if (k < 0 || !n->set[d][k])
		return NULL;
	return n->val[d][k];
}

uint32_t neg_mrdsl(const struct negotiation *n, storm_dir d, uint32_t dflt)
{
	if (!n->set[d][K_MRDSL])
		return dflt;
	char *end;
	unsigned long v = strtoul(n->val[d][K_MRDSL], &end, 0);
	/* §13.12: 512 to 2^24-1.  Out of range is the peer's error; keep the
	 * hard cap rather than trusting it. */
	if (*end != '\0' || v < 512 || v > STORM_ISCSI_MAX_DSL)
		return dflt;
	return (uint32_t)v;
}

/* Login ends with a Login Response whose T bit is set, NSG is Full Feature
 * Phase (3) and Status-Class is 0 (§11.13).  Digests and the declared
 * MaxRecvDataSegmentLength apply from the next PDU on (§13.12: the value a
 * side declares bounds what it receives). */
static void login_response_end(storm_iscsi *p, const uint8_t *bhs)
{
	bool transit = bhs[1] & 0x80;
	unsigned nsg = bhs[1] & 0x03;
	if (!transit || nsg != 3 || bhs[36] != 0)
		return;
	p->ffp = true;
	p->hdigest = p->neg.hdigest;
	p->ddigest = p->neg.ddigest;
	const char *st = neg_get(&p->neg, STORM_I2T, "SessionType");
	p->discovery = st && strcmp(st, "Discovery") == 0;
	p->max_dsl[STORM_I2T] = neg_mrdsl(&p->neg, STORM_T2I, ISCSI_DEFAULT_MRDSL);
	p->max_dsl[STORM_T2I] = neg_mrdsl(&p->neg, STORM_I2T, ISCSI_DEFAULT_MRDSL);
}

/* A Text exchange ends with a final Text Response (F set, TTT reserved):
 * re-declared lengths take effect after it. */
static void text_response_end(storm_iscsi *p, const uint8_t *bhs)
{
	if (!(bhs[1] & 0x80))
		return;
	p->max_dsl[STORM_I2T] = neg_mrdsl(&p->neg, STORM_T2I, p->max_dsl[STORM_I2T]);
	p->max_dsl[STORM_T2I] = neg_mrdsl(&p->neg, STORM_I2T, p->max_dsl[STORM_T2I]);
}

void iscsi_negotiation_pdu_end(storm_iscsi *p, storm_dir d, const uint8_t *bhs)
{
	if (d != STORM_T2I)
		return;
	unsigned op = storm_bhs_opcode(bhs);
	if (op == STORM_OP_LOGIN_RESP && !p->ffp)
		login_response_end(p, bhs);
	else if (op == STORM_OP_TEXT_RESP && p->ffp)
		text_response_end(p, bhs);
}

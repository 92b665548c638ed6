/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What each side stated during Login and Text negotiation (RFC 7143 §6,
 * §13).  Only the keys libstorm acts on or reports are kept, each in a fixed
 * slot, so a hostile peer cannot make it grow. */
#ifndef STORM_ISCSI_NEGOTIATE_H
#define STORM_ISCSI_NEGOTIATE_H

#include <stdbool.h>
#include <stdint.h>
#include <storm/common.h>

enum neg_key {
	K_HEADER_DIGEST, K_DATA_DIGEST, K_MRDSL, K_SESSION_TYPE,
	K_INITIATOR_NAME, K_TARGET_NAME, K_INITIATOR_ALIAS, K_TARGET_ALIAS,
	K_INITIAL_R2T, K_IMMEDIATE_DATA, K_FIRST_BURST, K_MAX_BURST,
	K_MAX_OUTSTANDING_R2T, K_DATA_PDU_IN_ORDER, K_DATA_SEQ_IN_ORDER,
	K_ERL, K_AUTH_METHOD, K_MAX_CONNECTIONS,
	K_COUNT
};

#define NEG_VALUE_MAX 256

struct negotiation {
	char val[2][K_COUNT][NEG_VALUE_MAX];
	bool set[2][K_COUNT];
	/* List-valued digest keys settle on the answer: the latest statement
	 * by either side that is a single value (RFC 7143 §6.2). */
	bool hdigest, ddigest;
};

/* Records one statement of direction @p d. */
void neg_statement(struct negotiation *n, storm_dir d, const char *key, const char *value);

/* The last value stated for @p key by direction @p d, or NULL. */
const char *neg_get(const struct negotiation *n, storm_dir d, const char *key);

/* The MaxRecvDataSegmentLength declared by direction @p d, or @p dflt. */
uint32_t neg_mrdsl(const struct negotiation *n, storm_dir d, uint32_t dflt);

#endif

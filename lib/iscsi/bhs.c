/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Accessors for the Basic Header Segment (RFC 7143 §11.2 and the per-PDU
 * layouts of §11.3 to §11.18). */
#include <errno.h>
#include <storm/iscsi.h>

#include "util/bytes.h"

STORM_EXTERN unsigned storm_bhs_opcode(const uint8_t *bhs) { return bhs[0] & 0x3f; }
STORM_EXTERN bool storm_bhs_immediate(const uint8_t *bhs) { return bhs[0] & 0x40; }
STORM_EXTERN unsigned storm_bhs_flags(const uint8_t *bhs) { return bhs[1]; }
STORM_EXTERN bool storm_bhs_final(const uint8_t *bhs) { return bhs[1] & 0x80; }
STORM_EXTERN size_t storm_bhs_ahs_len(const uint8_t *bhs) { return (size_t)bhs[4] * 4; }
STORM_EXTERN uint32_t storm_bhs_dsl(const uint8_t *bhs) { return get_be24(bhs + 5); }
STORM_EXTERN uint32_t storm_bhs_itt(const uint8_t *bhs) { return get_be32(bhs + 16); }

STORM_EXTERN uint32_t storm_bhs_u32(const uint8_t *bhs, size_t off)
{
	return off <= 44 ? get_be32(bhs + off) : 0;
}

static const char *const field_names[STORM_F_COUNT] = {
	[STORM_F_LUN] = "lun", [STORM_F_ITT] = "itt", [STORM_F_TTT] = "ttt",
	[STORM_F_CMDSN] = "cmdsn", [STORM_F_EXPSTATSN] = "expstatsn",
	[STORM_F_STATSN] = "statsn", [STORM_F_EXPCMDSN] = "expcmdsn",
	[STORM_F_MAXCMDSN] = "maxcmdsn", [STORM_F_DATASN] = "datasn",
	[STORM_F_R2TSN] = "r2tsn", [STORM_F_BUFFER_OFFSET] = "buffer_offset",
	[STORM_F_EDTL] = "edtl", [STORM_F_DESIRED_LENGTH] = "desired_length",
	[STORM_F_STATUS] = "status", [STORM_F_RESPONSE] = "response",
	[STORM_F_RESIDUAL] = "residual", [STORM_F_REFTASKTAG] = "ref_itt",
	[STORM_F_FUNCTION] = "function", [STORM_F_TSIH] = "tsih",
	[STORM_F_CID] = "cid", [STORM_F_REASON] = "reason",
};

STORM_EXTERN const char *storm_field_name(enum storm_field f)
{
	return (unsigned)f < STORM_F_COUNT ? field_names[f] : NULL;
}

/* Which fields each opcode carries, as a bit set over enum storm_field. */
#define B(f) (1u << STORM_F_##f)
#define TGT_SN (B(STATSN) | B(EXPCMDSN) | B(MAXCMDSN))

static unsigned fields_of(const uint8_t *bhs)
{
	switch (storm_bhs_opcode(bhs)) {
	case STORM_OP_NOP_OUT: return B(LUN) | B(ITT) | B(TTT) | B(CMDSN) | B(EXPSTATSN);
	case STORM_OP_SCSI_CMD: return B(LUN) | B(ITT) | B(EDTL) | B(CMDSN) | B(EXPSTATSN);
	case STORM_OP_TMF_REQ:
		return B(LUN) | B(ITT) | B(REFTASKTAG) | B(CMDSN) | B(EXPSTATSN) | B(FUNCTION);
	case STORM_OP_LOGIN_REQ: return B(ITT) | B(TSIH) | B(CID) | B(CMDSN) | B(EXPSTATSN);
	case STORM_OP_TEXT_REQ: return B(LUN) | B(ITT) | B(TTT) | B(CMDSN) | B(EXPSTATSN);
	case STORM_OP_DATA_OUT:
		return B(LUN) | B(ITT) | B(TTT) | B(EXPSTATSN) | B(DATASN) | B(BUFFER_OFFSET);
	case STORM_OP_LOGOUT_REQ: return B(ITT) | B(CID) | B(CMDSN) | B(EXPSTATSN) | B(FUNCTION);
	case STORM_OP_SNACK: return B(LUN) | B(ITT) | B(TTT) | B(EXPSTATSN) | B(FUNCTION);
	case STORM_OP_NOP_IN: return B(LUN) | B(ITT) | B(TTT) | TGT_SN;
	case STORM_OP_SCSI_RESP: return B(ITT) | TGT_SN | B(STATUS) | B(RESPONSE) | B(RESIDUAL);
	case STORM_OP_TMF_RESP: return B(ITT) | TGT_SN | B(RESPONSE);
	case STORM_OP_LOGIN_RESP: return B(ITT) | B(TSIH) | TGT_SN | B(RESPONSE);
	case STORM_OP_TEXT_RESP: return B(LUN) | B(ITT) | B(TTT) | TGT_SN;
	case STORM_OP_DATA_IN: {
		/* StatSN and Status are valid only with the S bit (§11.7.4). */
		unsigned f = B(LUN) | B(ITT) | B(TTT) | B(EXPCMDSN) | B(MAXCMDSN) |
			     B(DATASN) | B(BUFFER_OFFSET);
		if (bhs[1] & 0x01)
			f |= B(STATSN) | B(STATUS) | B(RESIDUAL);
		return f;
	}
	case STORM_OP_LOGOUT_RESP: return B(ITT) | TGT_SN | B(RESPONSE);
	case STORM_OP_R2T:
		return B(LUN) | B(ITT) | B(TTT) | TGT_SN | B(R2TSN) | B(BUFFER_OFFSET) |
		       B(DESIRED_LENGTH);
	case STORM_OP_ASYNC: return B(LUN) | TGT_SN;
	case STORM_OP_REJECT: return B(ITT) | TGT_SN | B(REASON) | B(DATASN);
	default: return B(ITT);
	}
}

/* Residual Count is meaningful only with the o or u flag (§11.4.5). */
static uint64_t residual_of(const uint8_t *bhs)
{
	return (bhs[1] & 0x06) ? get_be32(bhs + 44) : 0;
}

static uint64_t field_value(const uint8_t *bhs, enum storm_field f)
{
	unsigned op = storm_bhs_opcode(bhs);
	switch (f) {
	case STORM_F_LUN: return get_be64(bhs + 8);
	case STORM_F_ITT: return get_be32(bhs + 16);
	case STORM_F_TTT: case STORM_F_EDTL: case STORM_F_REFTASKTAG: return get_be32(bhs + 20);
	case STORM_F_CMDSN: case STORM_F_STATSN: return get_be32(bhs + 24);
	case STORM_F_EXPSTATSN: case STORM_F_EXPCMDSN: return get_be32(bhs + 28);
	case STORM_F_MAXCMDSN: return get_be32(bhs + 32);
	case STORM_F_DATASN: case STORM_F_R2TSN: return get_be32(bhs + 36);
	case STORM_F_BUFFER_OFFSET: return get_be32(bhs + 40);
	case STORM_F_DESIRED_LENGTH: return get_be32(bhs + 44);
	case STORM_F_STATUS: return bhs[3];
	case STORM_F_RESPONSE:
		return op == STORM_OP_LOGIN_RESP ? (uint64_t)(bhs[36] << 8 | bhs[37]) : bhs[2];
	case STORM_F_RESIDUAL: return residual_of(bhs);
	case STORM_F_FUNCTION: return bhs[1] & 0x7f;
	case STORM_F_TSIH: return get_be16(bhs + 14);
	case STORM_F_CID: return get_be16(bhs + 20);
	case STORM_F_REASON: return bhs[2];
	default: return 0;
	}
}

STORM_EXTERN int storm_bhs_field(const uint8_t *bhs, enum storm_field f, uint64_t *out)
{
	if ((unsigned)f >= STORM_F_COUNT || !(fields_of(bhs) & (1u << f)))
		return -ENOENT;
	*out = field_value(bhs, f);
	return 0;
}

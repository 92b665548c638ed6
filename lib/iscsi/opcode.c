/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Opcode names and the opcodes each direction may send (RFC 7143 §11.2.1.2). */
#include <storm/iscsi.h>

STORM_EXTERN const char *storm_iscsi_opcode_name(unsigned opcode)
{
	switch (opcode) {
	case STORM_OP_NOP_OUT: return "nop_out";
	case STORM_OP_SCSI_CMD: return "scsi_cmd";
	case STORM_OP_TMF_REQ: return "tmf_req";
	case STORM_OP_LOGIN_REQ: return "login_req";
	case STORM_OP_TEXT_REQ: return "text_req";
	case STORM_OP_DATA_OUT: return "data_out";
	case STORM_OP_LOGOUT_REQ: return "logout_req";
	case STORM_OP_SNACK: return "snack";
	case STORM_OP_NOP_IN: return "nop_in";
	case STORM_OP_SCSI_RESP: return "scsi_resp";
	case STORM_OP_TMF_RESP: return "tmf_resp";
	case STORM_OP_LOGIN_RESP: return "login_resp";
	case STORM_OP_TEXT_RESP: return "text_resp";
	case STORM_OP_DATA_IN: return "data_in";
	case STORM_OP_LOGOUT_RESP: return "logout_resp";
	case STORM_OP_R2T: return "r2t";
	case STORM_OP_ASYNC: return "async";
	case STORM_OP_REJECT: return "reject";
	case 0x1c: case 0x1d: case 0x1e:
	case 0x3c: case 0x3d: case 0x3e:
		return "vendor";
	default: return NULL;
	}
}

STORM_EXTERN bool storm_iscsi_opcode_valid(unsigned opcode, storm_dir dir)
{
	if (dir == STORM_I2T)
		return opcode <= STORM_OP_LOGOUT_REQ || opcode == STORM_OP_SNACK ||
		       (opcode >= 0x1c && opcode <= 0x1e);
	return (opcode >= STORM_OP_NOP_IN && opcode <= STORM_OP_LOGOUT_RESP) ||
	       opcode == STORM_OP_R2T || opcode == STORM_OP_ASYNC ||
	       (opcode >= 0x3c && opcode <= STORM_OP_REJECT);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <storm/common.h>
#include <string.h>

static const char *const protocol_errors[] = {
	[STORM_ERR_OPCODE - STORM_ERR_FIRST] = "reserved or unknown iSCSI opcode",
	[STORM_ERR_LENGTH - STORM_ERR_FIRST] = "length over the negotiated maximum or hard cap",
	[STORM_ERR_AHS - STORM_ERR_FIRST] = "malformed additional header segment",
	[STORM_ERR_HDIGEST - STORM_ERR_FIRST] = "header digest mismatch",
	[STORM_ERR_DDIGEST - STORM_ERR_FIRST] = "data digest mismatch",
	[STORM_ERR_TEXT - STORM_ERR_FIRST] = "malformed login or text key=value data",
	[STORM_ERR_PROTO - STORM_ERR_FIRST] = "iSCSI protocol violation",
	[STORM_ERR_BROKEN - STORM_ERR_FIRST] = "stream already failed",
	[STORM_ERR_CALLBACK - STORM_ERR_FIRST] = "callback refused to go on",
	[STORM_ERR_LIMIT - STORM_ERR_FIRST] = "per-connection bound reached",
	[STORM_ERR_GAP - STORM_ERR_FIRST] = "bytes lost, framing not recovered",
	[STORM_ERR_FORMAT - STORM_ERR_FIRST] = "undecodable capture or packet",
	[STORM_ERR_TRUNCATED - STORM_ERR_FIRST] = "capture file truncated",
	[STORM_ERR_TASK - STORM_ERR_FIRST] = "PDU for an unknown task",
	[STORM_ERR_UNSUPPORTED - STORM_ERR_FIRST] = "feature not supported",
};

STORM_EXTERN const char *storm_strerror(int err)
{
	if (err == 0)
		return "success";
	if (err >= STORM_ERR_FIRST && err <= STORM_ERR_LAST)
		return protocol_errors[err - STORM_ERR_FIRST];
	if (err < 0 && err > -4096)
		return strerror(-err);
	return "unknown error";
}

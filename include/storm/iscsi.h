/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file storm/iscsi.h
 * @brief Incremental, zero-copy iSCSI stream parser (RFC 7143).
 *
 * A `storm_iscsi` parses both directions of one iSCSI connection.  It owns no
 * socket and no clock: the caller feeds it bytes as they arrive, in any
 * chunking, with storm_iscsi_feed().  Headers that straddle chunks are
 * gathered in a small fixed buffer; data segments are handed to callbacks as
 * pointers into the caller's input, valid only during the callback.  Memory
 * per connection is bounded whatever the input.
 *
 * The parser follows the Login and Text negotiation of the two directions and
 * applies what was agreed where RFC 7143 says it takes effect: header and data
 * digests start with the first PDU after the final Login Response, and each
 * side's MaxRecvDataSegmentLength bounds the data segments sent *to* it.
 *
 * Feed the two directions in causal order (bytes of one direction that were
 * sent after the other direction's bytes were received are fed after them),
 * as a relay or a capture naturally does.
 *
 * The BHS helpers at the end work on any 48-byte Basic Header Segment in
 * caller memory and need no parser.
 */
#ifndef STORM_ISCSI_H
#define STORM_ISCSI_H

#include <stdbool.h>
#include <storm/common.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Size of the Basic Header Segment (RFC 7143 §11.2). */
#define STORM_BHS_LEN 48
/** Hard cap on any data segment, whatever was negotiated. */
#define STORM_ISCSI_MAX_DSL (16u * 1024 * 1024)
/** Longest key=value pair accepted in Login or Text data (RFC 7143 §6.1). */
#define STORM_ISCSI_MAX_KEY 8192

/** iSCSI opcodes, without the Immediate bit (RFC 7143 §11.2.1.2). */
enum storm_iscsi_opcode {
	STORM_OP_NOP_OUT = 0x00,
	STORM_OP_SCSI_CMD = 0x01,
	STORM_OP_TMF_REQ = 0x02,
	STORM_OP_LOGIN_REQ = 0x03,
	STORM_OP_TEXT_REQ = 0x04,
	STORM_OP_DATA_OUT = 0x05,
	STORM_OP_LOGOUT_REQ = 0x06,
	STORM_OP_SNACK = 0x10,
	STORM_OP_NOP_IN = 0x20,
	STORM_OP_SCSI_RESP = 0x21,
	STORM_OP_TMF_RESP = 0x22,
	STORM_OP_LOGIN_RESP = 0x23,
	STORM_OP_TEXT_RESP = 0x24,
	STORM_OP_DATA_IN = 0x25,
	STORM_OP_LOGOUT_RESP = 0x26,
	STORM_OP_R2T = 0x31,
	STORM_OP_ASYNC = 0x32,
	STORM_OP_REJECT = 0x3f
};

/**
 * Names an opcode: "nop_out", "scsi_cmd", …, "reject".
 * @return a static string, or NULL for a reserved opcode.
 */
STORM_EXTERN const char *storm_iscsi_opcode_name(unsigned opcode);

/**
 * Whether @p opcode is defined for direction @p dir.
 * @return true for the opcodes RFC 7143 assigns to that direction.
 */
STORM_EXTERN bool storm_iscsi_opcode_valid(unsigned opcode, storm_dir dir);

/* ------------------------------------------------------------------ */
/* The parser                                                          */

/** One iSCSI connection's parser (both directions).  Opaque. */
typedef struct storm_iscsi storm_iscsi;
/** The callbacks a parser calls.  Opaque; see storm_iscsi_callbacks_new(). */
typedef struct storm_iscsi_callbacks storm_iscsi_callbacks;
/** The PDU being parsed, valid only during the callback that passes it. */
typedef struct storm_pdu storm_pdu;

/**
 * Called when a PDU's header (BHS and AHS) is complete and its header digest,
 * if any, checked.  Its data segment follows through the data callback.
 */
typedef int (*storm_iscsi_pdu_cb)(storm_iscsi *p, storm_dir dir,
				  const storm_pdu *pdu, void *user);
/**
 * Called for each piece of a PDU's data segment, in order, padding and digest
 * excluded.  @p data points into the caller's input (or, for a segment that
 * straddles a lost range, is never called for the lost bytes) and is valid
 * only during the call.  @p offset is the piece's offset within the segment.
 * With data digests, pieces arrive before the digest is verified; the end
 * callback (or an error) gives the verdict.
 */
typedef int (*storm_iscsi_data_cb)(storm_iscsi *p, storm_dir dir,
				   const storm_pdu *pdu, uint32_t offset,
				   const uint8_t *data, size_t len, void *user);
/** Called when a PDU is complete, data digest checked. */
typedef int (*storm_iscsi_pdu_end_cb)(storm_iscsi *p, storm_dir dir,
				      const storm_pdu *pdu, void *user);
/**
 * Called for each key=value pair of Login and Text PDUs, pairs continued across
 * PDUs (C bit) joined.  Both strings are NUL-terminated and valid during the call.
 */
typedef int (*storm_iscsi_text_cb)(storm_iscsi *p, storm_dir dir,
				   const storm_pdu *pdu, const char *key,
				   const char *value, void *user);
/**
 * Called once when a direction fails.  @p pdu is the PDU being parsed, or NULL
 * when the failure came before its header was whole.  @p reason is readable
 * text, valid during the call.  The same @p err is returned by the feed.
 */
typedef void (*storm_iscsi_error_cb)(storm_iscsi *p, storm_dir dir,
				     const storm_pdu *pdu, int err,
				     const char *reason, void *user);
/**
 * Called when a lost range (storm_iscsi_gap()) broke the framing and the parser
 * found a header it trusts again, @p skipped bytes later.
 */
typedef void (*storm_iscsi_resync_cb)(storm_iscsi *p, storm_dir dir,
				      uint64_t skipped, void *user);

/** Allocates an empty callbacks table.  @return 0 or -ENOMEM. */
STORM_EXTERN int storm_iscsi_callbacks_new(storm_iscsi_callbacks **cbs);
/** Frees a callbacks table; NULL is fine. */
STORM_EXTERN void storm_iscsi_callbacks_del(storm_iscsi_callbacks *cbs);
/** Sets the header-complete callback. */
STORM_EXTERN void storm_iscsi_callbacks_set_pdu(storm_iscsi_callbacks *cbs, storm_iscsi_pdu_cb cb);
/** Sets the data-piece callback. */
STORM_EXTERN void storm_iscsi_callbacks_set_data(storm_iscsi_callbacks *cbs, storm_iscsi_data_cb cb);
/** Sets the PDU-complete callback. */
STORM_EXTERN void storm_iscsi_callbacks_set_pdu_end(storm_iscsi_callbacks *cbs, storm_iscsi_pdu_end_cb cb);
/** Sets the key=value callback. */
STORM_EXTERN void storm_iscsi_callbacks_set_text(storm_iscsi_callbacks *cbs, storm_iscsi_text_cb cb);
/** Sets the error callback. */
STORM_EXTERN void storm_iscsi_callbacks_set_error(storm_iscsi_callbacks *cbs, storm_iscsi_error_cb cb);
/** Sets the resynchronisation callback. */
STORM_EXTERN void storm_iscsi_callbacks_set_resync(storm_iscsi_callbacks *cbs, storm_iscsi_resync_cb cb);

/**
 * Creates a parser for one connection, starting before the Login.
 * The callbacks are copied; @p cbs may be freed afterwards, or be NULL.
 * @return 0, or -ENOMEM.
 */
STORM_EXTERN int storm_iscsi_new(storm_iscsi **p, const storm_iscsi_callbacks *cbs, void *user);
/** Frees a parser; NULL is fine. */
STORM_EXTERN void storm_iscsi_del(storm_iscsi *p);

/**
 * Feeds @p len bytes of direction @p dir.
 * @return the bytes consumed (less than @p len only when a callback returned
 * STORM_PAUSE), or a negative error; after an error the direction is broken
 * and every later feed returns STORM_ERR_BROKEN.
 */
STORM_EXTERN ssize_t storm_iscsi_feed(storm_iscsi *p, storm_dir dir, const uint8_t *in, size_t len);

/**
 * Whether direction @p dir has work that needs no more input, left behind
 * when a callback returned STORM_PAUSE (typically the end of a PDU whose last
 * byte was consumed).  Resume with storm_iscsi_feed() on that direction, with
 * the unconsumed bytes or with @p len 0, before feeding the other direction.
 */
STORM_EXTERN bool storm_iscsi_pending(const storm_iscsi *p, storm_dir dir);

/**
 * Tells the parser that @p len bytes of direction @p dir were lost here (a
 * TCP gap).  Inside a data segment the parser skips them and stays framed;
 * when they cover a header it searches the following bytes for the next
 * header it can trust (see storm_iscsi_resync_cb) and drops what comes before.
 * @return 0, or STORM_ERR_BROKEN.
 */
STORM_EXTERN int storm_iscsi_gap(storm_iscsi *p, storm_dir dir, uint64_t len);

/**
 * For a capture that starts after the Login: declares the connection already
 * in Full Feature Phase with the given digests.  Call before the first feed.
 */
STORM_EXTERN void storm_iscsi_assume_ffp(storm_iscsi *p, bool header_digest, bool data_digest);

/**
 * For a capture that starts in the middle of a connection: declares Full
 * Feature Phase with the given digests (as storm_iscsi_assume_ffp()) and makes
 * both directions search for the first header they can trust, since the first
 * bytes seen may fall anywhere inside a PDU.  Call before the first feed.
 */
STORM_EXTERN void storm_iscsi_start_midstream(storm_iscsi *p, bool header_digest, bool data_digest);

/** The readable reason for the last failure of @p dir, or "" if none.  Valid until the next call on @p p. */
STORM_EXTERN const char *storm_iscsi_reason(const storm_iscsi *p, storm_dir dir);

/** Whether the Login phase completed and the connection is in Full Feature Phase. */
STORM_EXTERN bool storm_iscsi_in_ffp(const storm_iscsi *p);
/** Whether header digests (CRC32C) are in use now. */
STORM_EXTERN bool storm_iscsi_header_digest(const storm_iscsi *p);
/** Whether data digests (CRC32C) are in use now. */
STORM_EXTERN bool storm_iscsi_data_digest(const storm_iscsi *p);
/**
 * The largest data segment accepted in direction @p dir: the receiving side's
 * declared MaxRecvDataSegmentLength (8192 until declared).
 */
STORM_EXTERN uint32_t storm_iscsi_max_dsl(const storm_iscsi *p, storm_dir dir);
/** Whether this is a Discovery session (SessionType=Discovery was negotiated). */
STORM_EXTERN bool storm_iscsi_discovery(const storm_iscsi *p);
/**
 * The last value stated for a negotiation key in direction @p dir
 * ("InitiatorName", "TargetName", "MaxBurstLength", …), or NULL.  Only the keys
 * libstorm tracks are kept.  Valid until the next feed.
 */
STORM_EXTERN const char *storm_iscsi_key(const storm_iscsi *p, storm_dir dir, const char *key);
/** The user pointer given to storm_iscsi_new(). */
STORM_EXTERN void *storm_iscsi_user(const storm_iscsi *p);
/** Total bytes consumed in direction @p dir, lost ranges included. */
STORM_EXTERN uint64_t storm_iscsi_offset(const storm_iscsi *p, storm_dir dir);

/* ------------------------------------------------------------------ */
/* The PDU passed to callbacks                                         */

/** The 48-byte BHS. */
STORM_EXTERN const uint8_t *storm_pdu_bhs(const storm_pdu *pdu);
/** The AHS (without digest) and its length in @p len (0 if none). */
STORM_EXTERN const uint8_t *storm_pdu_ahs(const storm_pdu *pdu, size_t *len);
/**
 * The whole CDB of a SCSI Command: the 16 BHS bytes followed by an Extended CDB
 * AHS if present.  @return NULL for other opcodes.
 */
STORM_EXTERN const uint8_t *storm_pdu_cdb(const storm_pdu *pdu, size_t *len);
/**
 * The Expected Bidirectional Read Data Length from a Bidirectional AHS.
 * @return 0 and sets @p out, or -ENOENT when absent.
 */
STORM_EXTERN int storm_pdu_bidi_read_length(const storm_pdu *pdu, uint32_t *out);
/** Offset in its direction's stream at which the PDU began. */
STORM_EXTERN uint64_t storm_pdu_stream_offset(const storm_pdu *pdu);
/** Whether part of this PDU's data segment was lost to a gap. */
STORM_EXTERN bool storm_pdu_lost(const storm_pdu *pdu);

/* ------------------------------------------------------------------ */
/* BHS helpers: on any 48 bytes of caller memory                       */

/** Opcode without the Immediate bit. */
STORM_EXTERN unsigned storm_bhs_opcode(const uint8_t *bhs);
/** The Immediate bit (requests only). */
STORM_EXTERN bool storm_bhs_immediate(const uint8_t *bhs);
/** Byte 1: the opcode-specific flags (F, R, W, T, C, S, …). */
STORM_EXTERN unsigned storm_bhs_flags(const uint8_t *bhs);
/** The Final (or Transit, for Login) bit of byte 1. */
STORM_EXTERN bool storm_bhs_final(const uint8_t *bhs);
/** TotalAHSLength in bytes (the field counts 4-byte words). */
STORM_EXTERN size_t storm_bhs_ahs_len(const uint8_t *bhs);
/** DataSegmentLength in bytes, padding excluded. */
STORM_EXTERN uint32_t storm_bhs_dsl(const uint8_t *bhs);
/** Initiator Task Tag. */
STORM_EXTERN uint32_t storm_bhs_itt(const uint8_t *bhs);
/** Big-endian 32-bit field at byte @p off (0..44). */
STORM_EXTERN uint32_t storm_bhs_u32(const uint8_t *bhs, size_t off);

/** The named BHS fields storm_bhs_field() can extract. */
enum storm_field {
	STORM_F_LUN,            /**< bytes 8-15, as the raw 64-bit LUN field */
	STORM_F_ITT,
	STORM_F_TTT,            /**< Target Transfer Tag */
	STORM_F_CMDSN,
	STORM_F_EXPSTATSN,
	STORM_F_STATSN,
	STORM_F_EXPCMDSN,
	STORM_F_MAXCMDSN,
	STORM_F_DATASN,
	STORM_F_R2TSN,
	STORM_F_BUFFER_OFFSET,
	STORM_F_EDTL,           /**< Expected Data Transfer Length */
	STORM_F_DESIRED_LENGTH, /**< R2T Desired Data Transfer Length */
	STORM_F_STATUS,         /**< SCSI status (SCSI Response, Data-In with S) */
	STORM_F_RESPONSE,       /**< iSCSI response or Login status class<<8|detail */
	STORM_F_RESIDUAL,       /**< Residual Count */
	STORM_F_REFTASKTAG,     /**< TMF Referenced Task Tag */
	STORM_F_FUNCTION,       /**< TMF function, Logout reason, SNACK type */
	STORM_F_TSIH,
	STORM_F_CID,
	STORM_F_REASON,         /**< Reject reason */
	STORM_F_COUNT
};

/** Names a field: "lun", "itt", "ttt", … (the storm-dump keys). */
STORM_EXTERN const char *storm_field_name(enum storm_field f);

/**
 * Extracts field @p f of the BHS if its opcode carries it (RFC 7143 §11).
 * @return 0 with @p out set, or -ENOENT when this PDU type has no such field.
 */
STORM_EXTERN int storm_bhs_field(const uint8_t *bhs, enum storm_field f, uint64_t *out);

/* ------------------------------------------------------------------ */
/* CRC32C (RFC 3720 Appendix B.4), as iSCSI digests use it             */

/**
 * Extends CRC32C @p crc over @p len bytes; start with 0.  Uses the SSE4.2
 * instruction when the CPU has it.
 * @return the CRC of everything so far, as sent on the wire (little-endian).
 */
STORM_EXTERN uint32_t storm_crc32c(uint32_t crc, const void *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif

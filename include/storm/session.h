/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file storm/session.h
 * @brief Session tracker: from the two PDU streams of a connection to block I/O.
 *
 * A `storm_session` wraps a storm_iscsi parser for one connection, pairs its
 * two directions and follows every task by its Initiator Task Tag.  It emits
 * block I/O events:
 *  - start, when a SCSI Command is seen (LUN, operation, LBA, blocks, block size);
 *  - data, for every piece of data the task transfers, with its byte offset in
 *    the task's buffer, zero-copy, from immediate data, unsolicited and
 *    R2T-solicited Data-Out, or Data-In;
 *  - done, when the task ends: SCSI Response, Data-In with the S bit, an
 *    aborting task management function, a LUN reset, a logout, or the end of
 *    the connection.
 * The block size of each LUN is learned from READ CAPACITY responses (512
 * until one is seen).  Memory is bounded: at most STORM_SESSION_MAX_TASKS
 * outstanding tasks, small fixed buffers for sense, READ CAPACITY and UNMAP
 * payloads.
 */
#ifndef STORM_SESSION_H
#define STORM_SESSION_H

#include <stdbool.h>
#include <storm/common.h>
#include <storm/iscsi.h>
#include <storm/scsi.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Most tasks tracked at once on one connection; more is an error. */
#define STORM_SESSION_MAX_TASKS 4096
/** Largest UNMAP parameter list kept (bytes); longer lists are cut there. */
#define STORM_SESSION_MAX_UNMAP 65536

/** One connection's tracker.  Opaque. */
typedef struct storm_session storm_session;
/** Callbacks of a tracker.  Opaque; see storm_session_callbacks_new(). */
typedef struct storm_session_callbacks storm_session_callbacks;
/** One block I/O (a SCSI task).  Valid only during the callback that passes it. */
typedef struct storm_io storm_io;

/** How a task ended. */
typedef enum storm_io_end {
	STORM_END_STATUS = 0,  /**< the target returned a SCSI status */
	STORM_END_ABORTED,     /**< ended by ABORT TASK, a LUN or target reset */
	STORM_END_REJECTED,    /**< the target rejected the command PDU */
	STORM_END_LOST         /**< the connection ended (or logged out) first */
} storm_io_end;

/** Called when a SCSI Command starts a task. */
typedef int (*storm_io_start_cb)(storm_session *s, storm_io *io, void *user);
/**
 * Called for each piece of a task's data.  @p offset is the byte offset in the
 * task's buffer (Buffer Offset plus the piece's place in its PDU).  @p data is
 * valid during the call only.  @p dir tells writes (I2T) from reads (T2I).
 */
typedef int (*storm_io_data_cb)(storm_session *s, storm_io *io, storm_dir dir,
				uint64_t offset, const uint8_t *data, size_t len, void *user);
/** Called when a task ends; the storm_io is freed after the call. */
typedef int (*storm_io_done_cb)(storm_session *s, storm_io *io, void *user);

/** Allocates an empty callbacks table.  @return 0 or -ENOMEM. */
STORM_EXTERN int storm_session_callbacks_new(storm_session_callbacks **cbs);
/** Frees a callbacks table; NULL is fine. */
STORM_EXTERN void storm_session_callbacks_del(storm_session_callbacks *cbs);
/** Sets the task-start callback. */
STORM_EXTERN void storm_session_callbacks_set_start(storm_session_callbacks *cbs, storm_io_start_cb cb);
/** Sets the data callback. */
STORM_EXTERN void storm_session_callbacks_set_data(storm_session_callbacks *cbs, storm_io_data_cb cb);
/** Sets the task-done callback. */
STORM_EXTERN void storm_session_callbacks_set_done(storm_session_callbacks *cbs, storm_io_done_cb cb);

/**
 * Creates a tracker and its parser.  @p pdu_cbs, if not NULL, are PDU-level
 * callbacks of the parser the tracker forwards to, before acting on each PDU
 * itself; they receive the tracker's parser (storm_session_parser()) and
 * @p user.  Both tables are copied.
 * @return 0 or -ENOMEM.
 */
STORM_EXTERN int storm_session_new(storm_session **s, const storm_session_callbacks *cbs,
				   const storm_iscsi_callbacks *pdu_cbs, void *user);
/** Frees a tracker without reporting outstanding tasks; NULL is fine. */
STORM_EXTERN void storm_session_del(storm_session *s);

/**
 * Feeds bytes of one direction; see storm_iscsi_feed().
 * @return bytes consumed, or a negative error (the direction is then broken).
 */
STORM_EXTERN ssize_t storm_session_feed(storm_session *s, storm_dir dir, const uint8_t *in, size_t len);
/** Reports lost bytes of one direction; see storm_iscsi_gap(). */
STORM_EXTERN int storm_session_gap(storm_session *s, storm_dir dir, uint64_t len);
/**
 * Ends the connection: every outstanding task is reported done with
 * STORM_END_LOST, in ITT order.  @return 0 or the first callback error.
 */
STORM_EXTERN int storm_session_close(storm_session *s);
/** The parser inside the tracker. */
STORM_EXTERN storm_iscsi *storm_session_parser(storm_session *s);
/** The user pointer given to storm_session_new(). */
STORM_EXTERN void *storm_session_user(const storm_session *s);
/** Number of tasks outstanding now. */
STORM_EXTERN size_t storm_session_outstanding(const storm_session *s);
/** Block size learned for @p lun (512 until a READ CAPACITY response was seen). */
STORM_EXTERN uint32_t storm_session_block_size(const storm_session *s, uint64_t lun);

/* ------------------------------------------------------------------ */
/* The block I/O passed to callbacks                                   */

/** The caller's pointer for this task (NULL until set). */
STORM_EXTERN void *storm_io_user(const storm_io *io);
/** Sets the caller's pointer for this task, e.g. in the start callback; the
 *  caller frees what it points to, at the latest in the done callback. */
STORM_EXTERN void storm_io_set_user(storm_io *io, void *user);
/** Initiator Task Tag. */
STORM_EXTERN uint32_t storm_io_itt(const storm_io *io);
/** Logical unit number (decoded from the LUN field, SAM-5 flat or peripheral addressing). */
STORM_EXTERN uint64_t storm_io_lun(const storm_io *io);
/** The block operation. */
STORM_EXTERN storm_io_op storm_io_operation(const storm_io *io);
/** CDB byte 0. */
STORM_EXTERN uint8_t storm_io_cdb_opcode(const storm_io *io);
/** The whole CDB; sets @p len. */
STORM_EXTERN const uint8_t *storm_io_cdb(const storm_io *io, size_t *len);
/** First logical block (0 for commands that address none). */
STORM_EXTERN uint64_t storm_io_lba(const storm_io *io);
/** Number of blocks. */
STORM_EXTERN uint32_t storm_io_blocks(const storm_io *io);
/** Block size of the LUN when the command started. */
STORM_EXTERN uint32_t storm_io_block_size(const storm_io *io);
/** Expected Data Transfer Length of the command. */
STORM_EXTERN uint32_t storm_io_edtl(const storm_io *io);
/** Data bytes seen so far (both directions). */
STORM_EXTERN uint64_t storm_io_bytes(const storm_io *io);
/** Data bytes known lost to capture gaps. */
STORM_EXTERN uint64_t storm_io_lost(const storm_io *io);
/** How the task ended (meaningful in the done callback). */
STORM_EXTERN storm_io_end storm_io_end_reason(const storm_io *io);
/** SCSI status byte (meaningful when storm_io_end_reason() is STORM_END_STATUS). */
STORM_EXTERN uint8_t storm_io_status(const storm_io *io);
/** iSCSI response code of the SCSI Response (0 = completed at target). */
STORM_EXTERN uint8_t storm_io_response(const storm_io *io);
/** Residual count and its sign: >0 underflow, <0 overflow, 0 none. */
STORM_EXTERN int64_t storm_io_residual(const storm_io *io);
/** Raw sense data of a CHECK CONDITION, or NULL; sets @p len. */
STORM_EXTERN const uint8_t *storm_io_sense(const storm_io *io, size_t *len);
/** Number of UNMAP ranges (0 for other operations). */
STORM_EXTERN unsigned storm_io_unmap_count(const storm_io *io);
/** UNMAP range @p i.  @return 0, or -ENOENT. */
STORM_EXTERN int storm_io_unmap_range(const storm_io *io, unsigned i, uint64_t *lba, uint32_t *blocks);

#ifdef __cplusplus
}
#endif
#endif

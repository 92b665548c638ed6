/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file storm/relay.h
 * @brief Interception: a relay that puts a program on the path between
 *        iSCSI initiators and their target, with hooks on what crosses it.
 *
 * One API for both interception modes.  The *active* mode (this release) is a
 * pseudo-server that accepts the initiator's TCP connection and a
 * pseudo-client that opens one to the real target: a fixed upstream, or, in
 * transparent mode, the original destination of a connection an
 * iptables/nft REDIRECT rule sent to the relay (SO_ORIGINAL_DST).  The
 * *passive* mode (NFQUEUE, per-packet verdicts) will sit behind the same
 * calls.
 *
 * Each relayed connection is parsed by a storm_session; hooks see its PDUs
 * and its block I/O.  Hooks run in the relay's thread, from
 * storm_relay_service() or storm_relay_run(); a hook must not block.
 *
 * Contract ("nothing is lost"):
 *  - the relay never invents a SCSI response: every status the initiator
 *    receives is the target's own, with one exception a hook asks for
 *    explicitly: a command refused with storm_conn_refuse() is answered by
 *    the relay with CHECK CONDITION and the hook's sense data (never with
 *    GOOD), and the target never sees that command;
 *  - when either side of a relayed connection fails, is reset, or sends a
 *    malformed stream, the relay closes the other side too, so the
 *    initiator's own iSCSI recovery retries its outstanding commands;
 *  - memory per connection is bounded: a slow or stopped target makes the
 *    relay stop reading from the initiator (TCP back-pressure), never buffer
 *    more than the configured bound;
 *  - it listens only where configured and forwards only to the configured
 *    upstream or the original destination; initiators outside the allowed
 *    addresses or IQNs are refused.
 */
#ifndef STORM_RELAY_H
#define STORM_RELAY_H

#include <stdbool.h>
#include <storm/common.h>
#include <storm/iscsi.h>
#include <storm/session.h>
#include <storm/tcp.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Default bound on bytes buffered per connection and direction. */
#define STORM_RELAY_DEFAULT_BUFFER (4u * 1024 * 1024)
/** Default bound on connections relayed at once. */
#define STORM_RELAY_DEFAULT_CONNS 256
/** Default time the target may take to accept the relay's connection, in ms. */
#define STORM_RELAY_DEFAULT_CONNECT_MS 10000u
/** Default time from the target's accept to Full Feature Phase (the Login), in ms. */
#define STORM_RELAY_DEFAULT_LOGIN_MS 30000u
/** Default idle seconds before the relay probes a silent peer (TCP keepalive). */
#define STORM_RELAY_DEFAULT_KEEPALIVE_IDLE 60u
/** Default seconds between keepalive probes. */
#define STORM_RELAY_DEFAULT_KEEPALIVE_INTERVAL 10u
/** Default unanswered probes after which a peer is taken for gone. */
#define STORM_RELAY_DEFAULT_KEEPALIVE_COUNT 6u

/** How traffic is intercepted. */
typedef enum storm_relay_mode {
	STORM_RELAY_ACTIVE = 0, /**< split TCP: pseudo-server plus pseudo-client */
	STORM_RELAY_PASSIVE = 1 /**< NFQUEUE per-packet verdicts (not in this release) */
} storm_relay_mode;

/** A relay.  Opaque. */
typedef struct storm_relay storm_relay;
/** What a relay is made from.  Opaque; see storm_relay_config_new(). */
typedef struct storm_relay_config storm_relay_config;
/** The hooks of a relay.  Opaque; see storm_relay_callbacks_new(). */
typedef struct storm_relay_callbacks storm_relay_callbacks;
/** One relayed connection, valid from its open hook to the end of its close hook. */
typedef struct storm_conn storm_conn;

/** Allocates a configuration with the defaults.  @return 0 or -ENOMEM. */
STORM_EXTERN int storm_relay_config_new(storm_relay_config **cfg);
/** Frees a configuration; NULL is fine. */
STORM_EXTERN void storm_relay_config_del(storm_relay_config *cfg);
/** Sets the mode.  @return 0, or -ENOTSUP for a mode this build lacks. */
STORM_EXTERN int storm_relay_config_set_mode(storm_relay_config *cfg, storm_relay_mode mode);
/**
 * Adds an address to listen on, "IPv4:PORT" or "[IPv6]:PORT" (port 0 picks
 * one; see storm_relay_listen_address()).  @return 0, -EINVAL, or -ENOSPC past 16.
 */
STORM_EXTERN int storm_relay_config_add_listen(storm_relay_config *cfg, const char *addr);
/** Sets the real target, "IP:PORT".  @return 0 or -EINVAL. */
STORM_EXTERN int storm_relay_config_set_upstream(storm_relay_config *cfg, const char *addr);
/** Forwards each connection to its original destination (SO_ORIGINAL_DST) instead of an upstream. */
STORM_EXTERN void storm_relay_config_set_transparent(storm_relay_config *cfg, bool on);
/**
 * Allows initiators from "ADDR" or "ADDR/PREFIX"; once any is added, other
 * addresses are refused at accept.  @return 0, -EINVAL or -ENOSPC past 64.
 */
STORM_EXTERN int storm_relay_config_allow_address(storm_relay_config *cfg, const char *cidr);
/**
 * Allows an initiator IQN; once any is added, a Login with another
 * InitiatorName closes the connection before the target sees it.
 * @return 0, -EINVAL or -ENOSPC past 64.
 */
STORM_EXTERN int storm_relay_config_allow_iqn(storm_relay_config *cfg, const char *iqn);
/**
 * In discovery sessions, rewrites every TargetAddress of SendTargets
 * responses to the address the initiator reached the relay at (portal group
 * tag kept), so initiators that discover through the relay log in through it.
 */
STORM_EXTERN void storm_relay_config_set_rewrite_discovery(storm_relay_config *cfg, bool on);
/** Sets the bounds: connections at once, and bytes buffered per connection and direction (≥ 64 KiB). */
STORM_EXTERN void storm_relay_config_set_limits(storm_relay_config *cfg, size_t max_conns, size_t max_buffered);

/** A new connection was accepted and passed the address check.  Nonzero refuses it. */
typedef int (*storm_relay_open_cb)(storm_relay *r, storm_conn *c, void *user);
/** A connection ends; @p err is 0 for an orderly close, else why (negative). */
typedef void (*storm_relay_close_cb)(storm_relay *r, storm_conn *c, int err, void *user);
/** A PDU header crossed (see storm_iscsi_pdu_cb).  Negative fails the connection. */
typedef int (*storm_relay_pdu_cb)(storm_relay *r, storm_conn *c, storm_dir dir,
				  const storm_pdu *pdu, void *user);
/**
 * A task started (see storm_io_start_cb).  Negative fails the connection.
 * STORM_PAUSE *holds* the command: its PDU and everything after it from the
 * initiator stay in the relay (reading goes on until the buffer bound, then
 * back-pressure) until storm_conn_release(); the target sees nothing of it
 * meanwhile.  A synchronous replicator holds a write until its replica is safe.
 */
typedef int (*storm_relay_io_start_cb)(storm_relay *r, storm_conn *c, storm_io *io, void *user);
/**
 * Data of a task (see storm_io_data_cb).  @p data points into the relay's
 * buffer before it is forwarded: the hook may rewrite those @p len bytes in
 * place (an encryption service), and the relay recomputes the PDU's data
 * digest when digests are in use.  Negative fails the connection.
 */
typedef int (*storm_relay_io_data_cb)(storm_relay *r, storm_conn *c, storm_io *io, storm_dir dir,
				      uint64_t offset, uint8_t *data, size_t len, void *user);
/** A task ended (see storm_io_done_cb). */
typedef int (*storm_relay_io_done_cb)(storm_relay *r, storm_conn *c, storm_io *io, void *user);

/**
 * Sets the deadlines of a connection before Full Feature Phase: @p connect_ms
 * for the target to accept the relay's connection, then @p login_ms for the
 * Login to complete (a discovery session's too).  A connection past its
 * deadline is closed on both sides with -ETIMEDOUT (the close hook says so),
 * freeing its slot: an unreachable target, or a peer that connects and never
 * logs in, cannot hold the relay's connections.  0 turns a deadline off.
 * Kept to within a quarter of a second.  Defaults:
 * STORM_RELAY_DEFAULT_CONNECT_MS, STORM_RELAY_DEFAULT_LOGIN_MS.
 */
STORM_EXTERN void storm_relay_config_set_timeouts(storm_relay_config *cfg, unsigned connect_ms,
						  unsigned login_ms);

/**
 * Sets how the relay notices a peer that vanished without a word (a host
 * that crashed or lost its network: no FIN, no reset).  After @p idle_s
 * seconds without traffic on a side, the kernel probes it every @p interval_s
 * seconds; after @p count unanswered probes, or when data the relay sent stays
 * unacknowledged for idle + interval x count seconds (TCP_USER_TIMEOUT; since
 * Linux 5.11 that also ends a peer that keeps its receive window shut, reading
 * nothing, for that long), the connection fails with -ETIMEDOUT and both sides
 * are closed, so the target ends the session and the relay frees the slot.
 * 0 for @p idle_s turns it off.  Values are capped at the kernel's (32767 s,
 * 127 probes).  Defaults: STORM_RELAY_DEFAULT_KEEPALIVE_IDLE, _INTERVAL, _COUNT
 * (a silent peer is given up after 2 minutes).
 */
STORM_EXTERN void storm_relay_config_set_keepalive(storm_relay_config *cfg, unsigned idle_s,
						   unsigned interval_s, unsigned count);

/** Allocates an empty hooks table.  @return 0 or -ENOMEM. */
STORM_EXTERN int storm_relay_callbacks_new(storm_relay_callbacks **cbs);
/** Frees a hooks table; NULL is fine. */
STORM_EXTERN void storm_relay_callbacks_del(storm_relay_callbacks *cbs);
/** Sets the connection-open hook. */
STORM_EXTERN void storm_relay_callbacks_set_open(storm_relay_callbacks *cbs, storm_relay_open_cb cb);
/** Sets the connection-close hook. */
STORM_EXTERN void storm_relay_callbacks_set_close(storm_relay_callbacks *cbs, storm_relay_close_cb cb);
/** Sets the PDU hook. */
STORM_EXTERN void storm_relay_callbacks_set_pdu(storm_relay_callbacks *cbs, storm_relay_pdu_cb cb);
/** Sets the task-start hook. */
STORM_EXTERN void storm_relay_callbacks_set_io_start(storm_relay_callbacks *cbs, storm_relay_io_start_cb cb);
/** Sets the task-data hook. */
STORM_EXTERN void storm_relay_callbacks_set_io_data(storm_relay_callbacks *cbs, storm_relay_io_data_cb cb);
/** Sets the task-done hook. */
STORM_EXTERN void storm_relay_callbacks_set_io_done(storm_relay_callbacks *cbs, storm_relay_io_done_cb cb);

/**
 * Creates a relay and binds its listeners.  The configuration and hooks are
 * copied.  @return 0; -EINVAL for a configuration without listeners or
 * without a destination; -ENOTSUP for the passive mode; or the -errno of
 * socket(), bind() or listen().
 */
STORM_EXTERN int storm_relay_new(storm_relay **r, const storm_relay_config *cfg,
				 const storm_relay_callbacks *cbs, void *user);
/** Closes every connection (without hooks) and the listeners; NULL is fine. */
STORM_EXTERN void storm_relay_del(storm_relay *r);

/** A file descriptor that becomes readable when storm_relay_service() has work (an epoll fd). */
STORM_EXTERN int storm_relay_fd(const storm_relay *r);
/**
 * Does the work that is ready, waiting up to @p timeout_ms (0: none, -1: until
 * something happens).  @return 0, or a negative error of the event loop itself
 * (a failing connection is closed, not reported here).
 */
STORM_EXTERN int storm_relay_service(storm_relay *r, int timeout_ms);
/** Services until storm_relay_stop().  @return 0 or the first error of storm_relay_service(). */
STORM_EXTERN int storm_relay_run(storm_relay *r);
/** Makes storm_relay_run() return; safe from a signal handler or another thread. */
STORM_EXTERN void storm_relay_stop(storm_relay *r);
/** Writes listener @p i's bound address as "IP:PORT".  @return length, or -ENOENT / -ENOSPC. */
STORM_EXTERN int storm_relay_listen_address(const storm_relay *r, unsigned i, char *buf, size_t len);
/** What a relay has done since it was made.  Every connection accepted ends
 * in exactly one of closed, refused_iqn, timed_out or failed. */
typedef struct storm_relay_stats {
	uint64_t accepted;         /**< connections accepted, set up and let through the open hook */
	uint64_t refused_address;  /**< closed at accept: the address is not allowed */
	uint64_t refused_limit;    /**< closed at accept: the connection bound was reached */
	uint64_t refused_hook;     /**< refused by the open hook */
	uint64_t setup_failed;     /**< closed at accept: no memory, no socket, a connect() that failed at once */
	uint64_t closed;           /**< ended in order (both sides closed their output) */
	uint64_t refused_iqn;      /**< closed at the Login: InitiatorName not allowed */
	uint64_t timed_out;        /**< ended by a deadline, keepalive or TCP_USER_TIMEOUT (-ETIMEDOUT) */
	uint64_t failed;           /**< ended by anything else: a reset, a target that refused or
	                                was unreachable, a malformed stream, a hook's error */
	uint64_t commands_refused; /**< commands refused with storm_conn_refuse() */
	uint64_t bytes[2];         /**< bytes relayed, indexed by storm_dir */
} storm_relay_stats;

/** Fills @p out with @p r's counters (the bytes of open connections included). */
STORM_EXTERN void storm_relay_stats_get(const storm_relay *r, storm_relay_stats *out);
/** Number of connections relayed now. */
STORM_EXTERN size_t storm_relay_connections(const storm_relay *r);
/** The user pointer given to storm_relay_new(). */
STORM_EXTERN void *storm_relay_user(const storm_relay *r);

/** Initiator and target ends of a connection (either may be NULL). */
STORM_EXTERN void storm_conn_endpoints(const storm_conn *c, storm_endpoint *initiator, storm_endpoint *target);
/** Writes "IP:PORT>IP:PORT" (initiator first), as storm_flow_format() does. */
STORM_EXTERN int storm_conn_format(const storm_conn *c, char *buf, size_t len);
/** The InitiatorName / TargetName from the Login, or NULL before it is seen. */
STORM_EXTERN const char *storm_conn_initiator_iqn(const storm_conn *c);
/** See storm_conn_initiator_iqn(). */
STORM_EXTERN const char *storm_conn_target_iqn(const storm_conn *c);
/** The caller's pointer for this connection. */
STORM_EXTERN void *storm_conn_user(const storm_conn *c);
/** Sets the caller's pointer for this connection. */
STORM_EXTERN void storm_conn_set_user(storm_conn *c, void *user);
/** Bytes relayed so far in direction @p dir. */
STORM_EXTERN uint64_t storm_conn_bytes(const storm_conn *c, storm_dir dir);
/**
 * Releases the command an io_start hook held: the relay forwards it and goes
 * on parsing, in its next service round.  Callable from any hook or from the
 * relay's thread between service calls, while the connection is open.
 * @return 0, or -EINVAL when nothing is held.
 */
STORM_EXTERN int storm_conn_release(storm_conn *c);
/**
 * Fails a connection from a hook: both sides are closed once the hook returns,
 * so the initiator's recovery takes over.
 */
STORM_EXTERN void storm_conn_fail(storm_conn *c);
/**
 * From an io_start hook: refuses the command instead of forwarding it.  The
 * target never sees it (nor its immediate or unsolicited Data-Out); the relay
 * answers the initiator with a SCSI Response: CHECK CONDITION with fixed-format
 * sense data (key, asc, ascq) — e.g. DATA PROTECT, WRITE PROTECTED: 0x07, 0x27, 0x00.
 * The io_done hook then reports the task ended with that status.  From then on the
 * relay translates CmdSN, ExpCmdSN, MaxCmdSN, StatSN and ExpStatSN between the two
 * sides (the target never saw the refused CmdSN; the initiator got one more StatSN),
 * recomputing header digests, so the session stays healthy.
 *
 * Details:
 *  - the response enters the target's stream at its next PDU boundary,
 *    with the StatSN the initiator expects there; it reports a residual
 *    underflow of the whole Expected Data Transfer Length.  The pdu hook
 *    sees headers as their sender wrote them (the refused PDUs included, the
 *    numbers before translation) and the response as a T2I SCSI Response;
 *    the io_data hook sees none of the refused data; io_done fires once,
 *    from the relay's parse of that response, with storm_io_status() 0x02
 *    and the sense data, or with STORM_END_LOST if the connection ends first;
 *  - STORM_PAUSE returned by the hook after a refusal is ignored: nothing is
 *    held;
 *  - an io_start hook set on the relay makes it hold a partial PDU header
 *    until it is whole (a refused command must not have begun to leave);
 *  - CmdSN counts per session, and only this connection is renumbered: on a
 *    connection that joined an existing session (its Login carried a TSIH:
 *    multiple connections per session, MC/S) nothing is refused (-ENOTSUP);
 *    on the session's first connection, connections added later are not
 *    renumbered, so do not refuse on sessions that add connections.  Error
 *    recovery that retransmits (ErrorRecoveryLevel > 0: SNACK for a status the
 *    relay made up, task reassignment) is not supported;
 *  - memory is bounded: at most 1024 responses waiting for a PDU boundary
 *    and 4096 refusals the two sides have not both passed; the initiator's
 *    buffer may exceed the configured bound by 64 KiB of responses while the
 *    initiator does not read, after which the connection fails (-ENOBUFS).
 *
 * @return 0, -EINVAL (not called from io_start for this connection's current
 *         command), -ENOMEM, -ENOTSUP (a connection added to a session).
 */
STORM_EXTERN int storm_conn_refuse(storm_conn *c, storm_io *io, uint8_t key, uint8_t asc, uint8_t ascq);

#ifdef __cplusplus
}
#endif
#endif

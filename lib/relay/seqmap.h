/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sequence numbers on the two sides of a relay that refused commands.
 *
 * A refused command never reaches the target, and its response, made up by
 * the relay, reaches only the initiator.  From then on the two sides number
 * differently (RFC 7143 §4.2.2: CmdSN is the initiator's, StatSN the
 * target's), and the relay translates every number that crosses:
 *
 *   target CmdSN       = initiator CmdSN − refused commands before it
 *   initiator ExpCmdSN = target ExpCmdSN + refusals at or before it, in the
 *                        target's numbering (MaxCmdSN alike, never below
 *                        ExpCmdSN − 1)
 *   initiator StatSN   = target StatSN + responses injected before it
 *   target ExpStatSN   = initiator ExpStatSN − injected StatSNs below it
 *
 * All comparisons use serial arithmetic (RFC 1982, 32 bits).  Points both
 * sides have passed fold into a base count, so memory stays bounded.  Pure
 * functions on caller memory; no I/O. */
#ifndef STORM_RELAY_SEQMAP_H
#define STORM_RELAY_SEQMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most refusal points of either kind not yet folded. */
#define SEQMAP_MAX_POINTS 4096
/* CmdSN points kept after both sides passed them, so that an ABORT TASK's
 * RefCmdSN naming a task older than the newest refusals still translates. */
#define SEQMAP_KEEP 16

/* Serial number comparison (RFC 1982): a < b. */
static inline bool sn_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool sn_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }

/* A ring of sequence numbers in increasing serial order. */
struct sn_ring {
	uint32_t *v;
	size_t cap, head, n;
};

struct seqmap {
	struct sn_ring cmd;    /* CmdSN of refused non-immediate commands (initiator's) */
	uint32_t cmd_base;     /* refused commands folded */
	struct sn_ring stat;   /* StatSN of injected responses (initiator's) */
	uint32_t stat_base;    /* injected responses folded */
	uint32_t injected;     /* responses injected so far: the StatSN offset */
};

void seqmap_free(struct seqmap *m);

/* Room for one more CmdSN point and @p stats more StatSN points.  0 or
 * -ENOMEM (also past SEQMAP_MAX_POINTS); after 0 those adds cannot fail. */
int seqmap_reserve(struct seqmap *m, size_t stats);

/* A non-immediate command with initiator CmdSN @p cmdsn was refused.  A
 * CmdSN not above the last refused one is ignored (an initiator that does
 * not number in order gets no renumbering). */
void seqmap_add_cmd(struct seqmap *m, uint32_t cmdsn);
/* A response with initiator StatSN @p statsn was injected. */
void seqmap_add_stat(struct seqmap *m, uint32_t statsn);

/* CmdSN (or RefCmdSN) from the initiator, in the target's numbering. */
uint32_t seqmap_cmd_to_target(const struct seqmap *m, uint32_t cmdsn);
/* Whether @p cmdsn is that of a refused command still held as a point. */
bool seqmap_cmd_refused(const struct seqmap *m, uint32_t cmdsn);
/* ExpCmdSN from the target, in the initiator's numbering. */
uint32_t seqmap_exp_to_initiator(const struct seqmap *m, uint32_t expcmdsn);
/* MaxCmdSN from the target, in the initiator's numbering, given the
 * translated ExpCmdSN of the same PDU: never below @p exp − 1 (RFC 7143
 * §4.2.2.1: a smaller MaxCmdSN would make the initiator ignore both). */
uint32_t seqmap_max_to_initiator(const struct seqmap *m, uint32_t maxcmdsn, uint32_t exp);
/* StatSN from the target, in the initiator's numbering. */
uint32_t seqmap_stat_to_initiator(const struct seqmap *m, uint32_t statsn);
/* ExpStatSN (or a status SNACK's BegRun) from the initiator, in the target's numbering. */
uint32_t seqmap_stat_to_target(const struct seqmap *m, uint32_t expstatsn);

/* The target's ExpCmdSN reached @p expcmdsn: CmdSN points it passed fold
 * (all but the SEQMAP_KEEP newest). */
void seqmap_fold_cmd(struct seqmap *m, uint32_t expcmdsn);
/* The initiator's ExpStatSN reached @p expstatsn: injected StatSNs below it fold. */
void seqmap_fold_stat(struct seqmap *m, uint32_t expstatsn);

/* Points held now (for tests and bounds). */
static inline size_t seqmap_points(const struct seqmap *m) { return m->cmd.n + m->stat.n; }

#endif

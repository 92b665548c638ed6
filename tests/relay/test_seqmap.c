/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sequence-number translation of refused commands (lib/relay/seqmap.c):
 * both directions of every number, consecutive refusals, immediate
 * commands (no point), the MaxCmdSN clamp, folding, wrap-around at 2^32 and
 * the bound on points. */
#include <criterion/criterion.h>
#include <errno.h>

#include "relay/seqmap.h"

static struct seqmap m;

static void fini(void) { seqmap_free(&m); }

TestSuite(seqmap, .fini = fini);

static void refuse_cmd(uint32_t cmdsn)
{
	cr_assert_eq(seqmap_reserve(&m, 1), 0);
	seqmap_add_cmd(&m, cmdsn);
}

static void inject(uint32_t statsn)
{
	cr_assert_eq(seqmap_reserve(&m, 1), 0);
	seqmap_add_stat(&m, statsn);
}

Test(seqmap, identity_without_points)
{
	for (uint32_t x = 0xfffffff0u; x != 0x10; x++) {
		cr_assert_eq(seqmap_cmd_to_target(&m, x), x);
		cr_assert_eq(seqmap_exp_to_initiator(&m, x), x);
		cr_assert_eq(seqmap_max_to_initiator(&m, x + 3, x), x + 3);
		cr_assert_eq(seqmap_stat_to_initiator(&m, x), x);
		cr_assert_eq(seqmap_stat_to_target(&m, x), x);
	}
}

/* Initiator CmdSNs 4 5 6 7 with 5 refused: the target sees 4 5 6. */
Test(seqmap, one_refusal)
{
	refuse_cmd(5);
	cr_assert_eq(seqmap_cmd_to_target(&m, 4), 4);
	cr_assert_eq(seqmap_cmd_to_target(&m, 6), 5);
	cr_assert_eq(seqmap_cmd_to_target(&m, 7), 6);
	/* The target expects 4 (command 4 not received): so does the initiator. */
	cr_assert_eq(seqmap_exp_to_initiator(&m, 4), 4);
	/* It expects 5 (= initiator 6): 5 was answered by the relay. */
	cr_assert_eq(seqmap_exp_to_initiator(&m, 5), 6);
	cr_assert_eq(seqmap_exp_to_initiator(&m, 6), 7);
	cr_assert_eq(seqmap_max_to_initiator(&m, 5 + 7, 6), 13);
}

Test(seqmap, consecutive_refusals_share_a_place)
{
	refuse_cmd(5);
	refuse_cmd(6);
	refuse_cmd(9);
	/* Initiator 4 5* 6* 7 8 9* 10 -> target 4 5 6 7. */
	cr_assert_eq(seqmap_cmd_to_target(&m, 7), 5);
	cr_assert_eq(seqmap_cmd_to_target(&m, 8), 6);
	cr_assert_eq(seqmap_cmd_to_target(&m, 10), 7);
	cr_assert_eq(seqmap_exp_to_initiator(&m, 5), 7);
	cr_assert_eq(seqmap_exp_to_initiator(&m, 6), 8);
	cr_assert_eq(seqmap_exp_to_initiator(&m, 7), 10);
	/* Round trip on every command that reaches the target. */
	for (uint32_t c = 7; c < 40; c++)
		if (c != 9)
			cr_assert_eq(seqmap_exp_to_initiator(&m, seqmap_cmd_to_target(&m, c)), c);
}

/* An immediate command carries the CmdSN of the next non-immediate one. */
Test(seqmap, immediate_commands_follow)
{
	refuse_cmd(5);
	cr_assert_eq(seqmap_cmd_to_target(&m, 5), 5, "sent before the refused command");
	cr_assert_eq(seqmap_cmd_to_target(&m, 6), 5, "an immediate command after it");
}

/* The target closed its window (MaxCmdSN = ExpCmdSN − 1) right where
 * commands were refused: the initiator's window must close, not turn invalid. */
Test(seqmap, max_clamped_to_exp_minus_one)
{
	refuse_cmd(5);
	refuse_cmd(6);
	uint32_t exp = seqmap_exp_to_initiator(&m, 5);
	cr_assert_eq(exp, 7);
	cr_assert_eq(seqmap_max_to_initiator(&m, 4, exp), 6);
}

/* Target StatSN 10, injected 11, target 11 -> 12. */
Test(seqmap, status_numbers)
{
	inject(11);
	cr_assert_eq(m.injected, 1);
	cr_assert_eq(seqmap_stat_to_initiator(&m, 11), 12);
	cr_assert_eq(seqmap_stat_to_target(&m, 11), 11);
	cr_assert_eq(seqmap_stat_to_target(&m, 12), 11);
	cr_assert_eq(seqmap_stat_to_target(&m, 13), 12);
	inject(13);
	cr_assert_eq(seqmap_stat_to_initiator(&m, 12), 14);
	cr_assert_eq(seqmap_stat_to_target(&m, 15), 13);
	seqmap_fold_stat(&m, 12);
	cr_assert_eq(m.stat.n, 1);
	cr_assert_eq(seqmap_stat_to_target(&m, 15), 13);
	seqmap_fold_stat(&m, 15);
	cr_assert_eq(m.stat.n, 0);
	cr_assert_eq(seqmap_stat_to_target(&m, 15), 13);
}

/* Thousands of refusals across 2^32: folding keeps SEQMAP_KEEP points and
 * every number still maps the same. */
Test(seqmap, fold_and_wrap)
{
	uint32_t c = 0xfffff000u, t = c; /* initiator and target CmdSN */
	for (int i = 0; i < 20000; i++, c++) {
		if (i % 3 == 1) {
			refuse_cmd(c);
			continue;
		}
		cr_assert_eq(seqmap_cmd_to_target(&m, c), t, "command %d", i);
		t++;
		/* The target received it: it expects t now. */
		cr_assert_eq(seqmap_exp_to_initiator(&m, t), c + 1, "exp %d", i);
		seqmap_fold_cmd(&m, t);
		cr_assert_leq(m.cmd.n, SEQMAP_KEEP + 1);
	}
	cr_assert_eq(m.cmd_base + m.cmd.n, 20000 / 3 + (20000 % 3 > 1));
}

Test(seqmap, refused_lookup)
{
	refuse_cmd(0xfffffffeu);
	refuse_cmd(3);
	refuse_cmd(9);
	cr_assert(seqmap_cmd_refused(&m, 0xfffffffeu));
	cr_assert(seqmap_cmd_refused(&m, 3));
	cr_assert(seqmap_cmd_refused(&m, 9));
	cr_assert_not(seqmap_cmd_refused(&m, 4));
	cr_assert_not(seqmap_cmd_refused(&m, 10));
	cr_assert_not(seqmap_cmd_refused(&m, 0));
}

Test(seqmap, out_of_order_cmdsn_ignored)
{
	refuse_cmd(9);
	refuse_cmd(9);
	refuse_cmd(3);
	cr_assert_eq(m.cmd.n, 1);
}

Test(seqmap, bounded)
{
	for (uint32_t i = 0; i < SEQMAP_MAX_POINTS; i++)
		refuse_cmd(100 + i);
	cr_assert_eq(seqmap_reserve(&m, 1), -ENOMEM);
	cr_assert_eq(seqmap_reserve(&m, SEQMAP_MAX_POINTS + 1), -ENOMEM);
	seqmap_free(&m);
	cr_assert_eq(seqmap_reserve(&m, 3), 0);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parser lifetime, callbacks table and accessors. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/parser_int.h"

STORM_EXTERN int storm_iscsi_callbacks_new(storm_iscsi_callbacks **cbs)
{
	*cbs = calloc(1, sizeof **cbs);
	return *cbs ? 0 : -ENOMEM;
}

STORM_EXTERN void storm_iscsi_callbacks_del(storm_iscsi_callbacks *cbs) { free(cbs); }
STORM_EXTERN void storm_iscsi_callbacks_set_pdu(storm_iscsi_callbacks *c, storm_iscsi_pdu_cb cb) { c->pdu = cb; }
STORM_EXTERN void storm_iscsi_callbacks_set_data(storm_iscsi_callbacks *c, storm_iscsi_data_cb cb) { c->data = cb; }
STORM_EXTERN void storm_iscsi_callbacks_set_pdu_end(storm_iscsi_callbacks *c, storm_iscsi_pdu_end_cb cb) { c->pdu_end = cb; }
STORM_EXTERN void storm_iscsi_callbacks_set_text(storm_iscsi_callbacks *c, storm_iscsi_text_cb cb) { c->text = cb; }
STORM_EXTERN void storm_iscsi_callbacks_set_error(storm_iscsi_callbacks *c, storm_iscsi_error_cb cb) { c->error = cb; }
STORM_EXTERN void storm_iscsi_callbacks_set_resync(storm_iscsi_callbacks *c, storm_iscsi_resync_cb cb) { c->resync = cb; }

STORM_EXTERN int storm_iscsi_new(storm_iscsi **pp, const storm_iscsi_callbacks *cbs, void *user)
{
	storm_iscsi *p = calloc(1, sizeof *p);
	*pp = p;
	if (!p)
		return -ENOMEM;
	if (cbs)
		p->cb = *cbs;
	p->user = user;
	p->max_dsl[STORM_I2T] = p->max_dsl[STORM_T2I] = ISCSI_DEFAULT_MRDSL;
	return 0;
}

STORM_EXTERN void storm_iscsi_del(storm_iscsi *p) { free(p); }

STORM_EXTERN void storm_iscsi_assume_ffp(storm_iscsi *p, bool header_digest, bool data_digest)
{
	p->ffp = true;
	p->hdigest = header_digest;
	p->ddigest = data_digest;
	/* Nothing was declared that we saw: only the hard cap holds. */
	p->max_dsl[STORM_I2T] = p->max_dsl[STORM_T2I] = STORM_ISCSI_MAX_DSL;
}

STORM_EXTERN void storm_iscsi_start_midstream(storm_iscsi *p, bool header_digest, bool data_digest)
{
	storm_iscsi_assume_ffp(p, header_digest, data_digest);
	for (int d = 0; d < 2; d++) {
		p->dir[d].st = ST_RESYNC;
		p->dir[d].have = 0;
	}
}

STORM_EXTERN const char *storm_iscsi_reason(const storm_iscsi *p, storm_dir d)
{
	return (unsigned)d <= STORM_T2I ? p->dir[d].reason : "";
}

STORM_EXTERN bool storm_iscsi_in_ffp(const storm_iscsi *p) { return p->ffp; }
STORM_EXTERN bool storm_iscsi_header_digest(const storm_iscsi *p) { return p->hdigest; }
STORM_EXTERN bool storm_iscsi_data_digest(const storm_iscsi *p) { return p->ddigest; }
STORM_EXTERN bool storm_iscsi_discovery(const storm_iscsi *p) { return p->discovery; }
STORM_EXTERN void *storm_iscsi_user(const storm_iscsi *p) { return p->user; }

STORM_EXTERN uint32_t storm_iscsi_max_dsl(const storm_iscsi *p, storm_dir d)
{
	return (unsigned)d <= STORM_T2I ? p->max_dsl[d] : 0;
}

STORM_EXTERN const char *storm_iscsi_key(const storm_iscsi *p, storm_dir d, const char *key)
{
	return (unsigned)d <= STORM_T2I ? neg_get(&p->neg, d, key) : NULL;
}

STORM_EXTERN uint64_t storm_iscsi_offset(const storm_iscsi *p, storm_dir d)
{
	if ((unsigned)d > STORM_T2I)
		return 0;
	/* Bytes waiting in the replay buffer were consumed already. */
	const struct iscsi_dir *ds = &p->dir[d];
	return ds->offset + (ds->replay_len - ds->replay_pos);
}

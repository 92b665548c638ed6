/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Relay configuration and hooks tables. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "relay/relay_int.h"

STORM_EXTERN int storm_relay_config_new(storm_relay_config **cfg)
{
	*cfg = calloc(1, sizeof **cfg);
	if (!*cfg)
		return -ENOMEM;
	(*cfg)->max_conns = STORM_RELAY_DEFAULT_CONNS;
	(*cfg)->max_buffered = STORM_RELAY_DEFAULT_BUFFER;
	(*cfg)->connect_ms = STORM_RELAY_DEFAULT_CONNECT_MS;
	(*cfg)->login_ms = STORM_RELAY_DEFAULT_LOGIN_MS;
	(*cfg)->ka_idle = STORM_RELAY_DEFAULT_KEEPALIVE_IDLE;
	(*cfg)->ka_interval = STORM_RELAY_DEFAULT_KEEPALIVE_INTERVAL;
	(*cfg)->ka_count = STORM_RELAY_DEFAULT_KEEPALIVE_COUNT;
	return 0;
}

STORM_EXTERN void storm_relay_config_del(storm_relay_config *cfg) { free(cfg); }

STORM_EXTERN int storm_relay_config_set_mode(storm_relay_config *cfg, storm_relay_mode mode)
{
	if (mode != STORM_RELAY_ACTIVE)
		return -ENOTSUP;
	cfg->mode = mode;
	return 0;
}

STORM_EXTERN int storm_relay_config_add_listen(storm_relay_config *cfg, const char *addr)
{
	if (cfg->nlisten == RELAY_MAX_LISTEN)
		return -ENOSPC;
	int rc = addr_parse(addr, &cfg->listen[cfg->nlisten]);
	if (rc == 0)
		cfg->nlisten++;
	return rc;
}

STORM_EXTERN int storm_relay_config_set_upstream(storm_relay_config *cfg, const char *addr)
{
	int rc = addr_parse(addr, &cfg->upstream);
	cfg->has_upstream = rc == 0;
	return rc;
}

STORM_EXTERN void storm_relay_config_set_transparent(storm_relay_config *cfg, bool on)
{
	cfg->transparent = on;
}

STORM_EXTERN int storm_relay_config_allow_address(storm_relay_config *cfg, const char *cidr)
{
	if (cfg->nallow == RELAY_MAX_ALLOW)
		return -ENOSPC;
	int rc = cidr_parse(cidr, &cfg->allow[cfg->nallow]);
	if (rc == 0)
		cfg->nallow++;
	return rc;
}

STORM_EXTERN int storm_relay_config_allow_iqn(storm_relay_config *cfg, const char *iqn)
{
	if (cfg->niqn == RELAY_MAX_ALLOW)
		return -ENOSPC;
	size_t n = strlen(iqn);
	if (n == 0 || n >= RELAY_IQN_MAX)
		return -EINVAL;
	memcpy(cfg->iqn[cfg->niqn++], iqn, n + 1);
	return 0;
}

STORM_EXTERN void storm_relay_config_set_rewrite_discovery(storm_relay_config *cfg, bool on)
{
	cfg->rewrite_discovery = on;
}

STORM_EXTERN void storm_relay_config_set_limits(storm_relay_config *cfg, size_t max_conns,
					       size_t max_buffered)
{
	cfg->max_conns = max_conns ? max_conns : 1;
	cfg->max_buffered = max_buffered < 65536 ? 65536 : max_buffered;
}

STORM_EXTERN void storm_relay_config_set_timeouts(storm_relay_config *cfg, unsigned connect_ms,
						 unsigned login_ms)
{
	cfg->connect_ms = connect_ms;
	cfg->login_ms = login_ms;
}

STORM_EXTERN void storm_relay_config_set_keepalive(storm_relay_config *cfg, unsigned idle_s,
						  unsigned interval_s, unsigned count)
{
	/* The kernel's bounds: MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT. */
	cfg->ka_idle = idle_s < 32767 ? idle_s : 32767;
	cfg->ka_interval = interval_s == 0 ? 1 : interval_s < 32767 ? interval_s : 32767;
	cfg->ka_count = count == 0 ? 1 : count < 127 ? count : 127;
}

STORM_EXTERN int storm_relay_callbacks_new(storm_relay_callbacks **cbs)
{
	*cbs = calloc(1, sizeof **cbs);
	return *cbs ? 0 : -ENOMEM;
}

STORM_EXTERN void storm_relay_callbacks_del(storm_relay_callbacks *cbs) { free(cbs); }
STORM_EXTERN void storm_relay_callbacks_set_open(storm_relay_callbacks *c, storm_relay_open_cb cb) { c->open = cb; }
STORM_EXTERN void storm_relay_callbacks_set_close(storm_relay_callbacks *c, storm_relay_close_cb cb) { c->close = cb; }
STORM_EXTERN void storm_relay_callbacks_set_pdu(storm_relay_callbacks *c, storm_relay_pdu_cb cb) { c->pdu = cb; }
STORM_EXTERN void storm_relay_callbacks_set_io_start(storm_relay_callbacks *c, storm_relay_io_start_cb cb) { c->io_start = cb; }
STORM_EXTERN void storm_relay_callbacks_set_io_data(storm_relay_callbacks *c, storm_relay_io_data_cb cb) { c->io_data = cb; }
STORM_EXTERN void storm_relay_callbacks_set_io_done(storm_relay_callbacks *c, storm_relay_io_done_cb cb) { c->io_done = cb; }

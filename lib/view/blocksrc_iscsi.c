/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A block source over an iSCSI LUN: a read-only session of the source's own,
 * the thin I/O adapter the views are fed through when the volume is remote.
 *
 * libiscsi's asynchronous calls are driven through a poll loop with a
 * deadline: its _sync wrappers wait without one (a stalled target would hang
 * the caller), and its automatic reconnect retries forever, so it is turned
 * off and a lost session is replaced here, once per read.  The only commands
 * built below are READ CAPACITY(16), INQUIRY and READ(16): nothing in this
 * file can write to the LUN. */
#include <storm/view.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define DEFAULT_IQN "iqn.2024-01.org.libstorm:view"
#define LOGIN_MS 15000
#define CMD_MS 30000
#define LOGOUT_MS 5000
#define CHUNK_MAX (1u << 20)
#define UA_RETRIES 5

struct storm_blocksrc_iscsi {
	struct iscsi_context *iscsi; /* NULL after a session was lost, until the next login */
	char *url;
	char *iqn;
	int lun;
	uint32_t block_size;
	uint64_t blocks;
	uint32_t chunk;  /* bytes per READ(16): a multiple of block_size */
	uint8_t *bounce; /* one LUN block, for reads that do not cover whole blocks */
	char err[256];
};

enum cmd_kind { CMD_CAPACITY, CMD_LIMITS, CMD_READ };

struct cmd {
	enum cmd_kind kind;
	uint64_t lba;
	uint32_t bytes;
	void *buf;
};

/* A command or login in flight; lives on the stack of the call waiting for it,
 * which always outlives the context (a destroyed context cancels into it).
 * The error text is copied when the callback runs: libiscsi overwrites it
 * right after (a refused connect ends as "Can not reconnect right now"). */
struct wait {
	int done;
	int status;
	char err[256];
};

static const char *const cmd_names[] = {"READ CAPACITY(16)", "INQUIRY", "READ(16)"};

static void set_err(storm_blocksrc_iscsi *s, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	/* Some of libiscsi's texts end in a newline. */
	n = strlen(s->err);
	while (n && (s->err[n - 1] == '\n' || s->err[n - 1] == ' '))
		s->err[--n] = '\0';
}

static void no_log(int level, const char *msg)
{
	(void)level;
	(void)msg;
}

static void on_done(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct wait *w = priv;

	(void)data;
	if (status != SCSI_STATUS_GOOD)
		snprintf(w->err, sizeof(w->err), "%s", iscsi_get_error(iscsi));
	w->status = status;
	w->done = 1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Services @p ctx until @p w completes.  0 (look at w->status), -ETIMEDOUT
 * at @p deadline (now_ms()), -ECONNRESET when libiscsi gave up on the
 * connection without completing @p w. */
static int wait_for(struct iscsi_context *ctx, struct wait *w, int64_t deadline)
{
	while (!w->done) {
		struct pollfd pfd = {.fd = iscsi_get_fd(ctx), .events = (short)iscsi_which_events(ctx)};
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		if (pfd.fd < 0)
			return -ECONNRESET;
		n = poll(&pfd, 1, left > 1000 ? 1000 : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n > 0 && iscsi_service(ctx, pfd.revents) < 0 && !w->done)
			return -ECONNRESET;
	}
	return 0;
}

/* The number in the first "(digits)" of @p text, or -1. */
static long paren_number(const char *text)
{
	for (const char *p = strchr(text, '('); p; p = strchr(p + 1, '(')) {
		char *end;
		long v = strtol(p + 1, &end, 10);

		if (end != p + 1 && *end == ')' && v >= 0)
			return v;
	}
	return -1;
}

/* RFC 7143 §11.13.5: Status-Class and Status-Detail of a refused login. */
static int login_status_errno(long status)
{
	switch (status) {
	case 0x0201: /* authentication failure */
	case 0x0202: /* authorization failure */
		return -EACCES;
	case 0x0203: /* target not found */
	case 0x0204: /* target removed */
		return -ENXIO;
	case 0x0206: /* too many connections */
	case 0x0301: /* service unavailable */
	case 0x0302: /* out of resources */
		return -EAGAIN;
	default:
		return -EPROTO;
	}
}

/* libiscsi tells why a login failed only in its error text: "… socket error
 * Connection refused(111) while connecting.", "Connect failed with errno :
 * …(113)", "Failed to log in to target. Status: Target not found(515)". */
static int login_errno(const char *e)
{
	const char *status = strstr(e, "Status: ");
	long v;

	if (status)
		return login_status_errno(paren_number(status));
	if (strstr(e, "Missing ']'"))
		return -EINVAL;
	if (strstr(e, "resolv"))
		return -EHOSTUNREACH;
	if (strstr(e, "POLLHUP"))
		return -ECONNRESET;
	v = paren_number(e);
	return v > 0 && v < 4096 ? (int)-v : -EIO;
}

static int setup(struct iscsi_context *ctx, const struct iscsi_url *u)
{
	if (iscsi_set_targetname(ctx, u->target) ||
	    iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL) ||
	    iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_NONE_CRC32C))
		return -ENOMEM;
	if (u->user[0] && iscsi_set_initiator_username_pwd(ctx, u->user, u->passwd))
		return -ENOMEM;
	if (u->target_user[0] && iscsi_set_target_username_pwd(ctx, u->target_user, u->target_passwd))
		return -ENOMEM;
	/* A lost session fails the commands in flight (SCSI_STATUS_CANCELLED)
	 * instead of being retried inside libiscsi without a bound. */
	iscsi_set_noautoreconnect(ctx, 1);
	return 0;
}

/* Connects and logs in, following at most three redirections (RFC 7143
 * §11.13.5, Status-Class 1 and a TargetAddress).  Not libiscsi's full connect:
 * destroying a context while it runs leaks its state, and it sends a TEST
 * UNIT READY of its own. */
static int connect_login(struct iscsi_context *ctx, const char *portal, struct wait *w,
			 int64_t deadline)
{
	char addr[MAX_STRING_SIZE + 1];
	int rc;

	snprintf(addr, sizeof(addr), "%s", portal);
	for (int hops = 0;; hops++) {
		*w = (struct wait){0};
		if (iscsi_connect_async(ctx, addr, on_done, w)) {
			snprintf(w->err, sizeof(w->err), "%s", iscsi_get_error(ctx));
			return login_errno(w->err);
		}
		rc = wait_for(ctx, w, deadline);
		if (rc || w->status != SCSI_STATUS_GOOD)
			return rc ? rc : login_errno(w->err);
		*w = (struct wait){0};
		if (iscsi_login_async(ctx, on_done, w)) {
			snprintf(w->err, sizeof(w->err), "%s", iscsi_get_error(ctx));
			return -ENOMEM;
		}
		rc = wait_for(ctx, w, deadline);
		if (rc)
			return rc;
		if (w->status == SCSI_STATUS_REDIRECT && hops < 3 && iscsi_get_target_address(ctx)) {
			snprintf(addr, sizeof(addr), "%s", iscsi_get_target_address(ctx));
			iscsi_disconnect(ctx);
			continue;
		}
		return w->status == SCSI_STATUS_GOOD ? 0 : login_errno(w->err);
	}
}

/* Logs in to s->url as s->iqn: s->iscsi on success, s->err on failure. */
static int login(storm_blocksrc_iscsi *s)
{
	struct iscsi_context *ctx = iscsi_create_context(s->iqn);
	struct iscsi_url *u;
	struct wait w = {0};
	int rc;

	if (!ctx) {
		set_err(s, "cannot create an iSCSI context");
		return -ENOMEM;
	}
	/* iscsi_create_context() logs to stderr when LIBISCSI_DEBUG is set. */
	iscsi_set_log_level(ctx, 0);
	iscsi_set_log_fn(ctx, no_log);
	u = iscsi_parse_full_url(ctx, s->url);
	if (!u) {
		set_err(s, "%s", iscsi_get_error(ctx));
		iscsi_destroy_context(ctx);
		return -EINVAL;
	}
	s->lun = u->lun;
	rc = setup(ctx, u);
	if (!rc)
		rc = connect_login(ctx, u->portal, &w, now_ms() + LOGIN_MS);
	iscsi_destroy_url(u);
	if (rc) {
		if (rc == -ETIMEDOUT)
			set_err(s, "login to %s: no answer within %d s", s->url, LOGIN_MS / 1000);
		else
			set_err(s, "login to %s: %s", s->url, w.err[0] ? w.err : iscsi_get_error(ctx));
		iscsi_destroy_context(ctx);
		return rc;
	}
	s->iscsi = ctx;
	return 0;
}

/* Forgets a session that failed: no logout, the connection is closed. */
static void drop(storm_blocksrc_iscsi *s)
{
	iscsi_destroy_context(s->iscsi);
	s->iscsi = NULL;
}

static struct scsi_task *send_cmd(storm_blocksrc_iscsi *s, const struct cmd *c, struct wait *w,
				  struct scsi_iovec *iov)
{
	switch (c->kind) {
	case CMD_CAPACITY:
		return iscsi_readcapacity16_task(s->iscsi, s->lun, on_done, w);
	case CMD_LIMITS:
		return iscsi_inquiry_task(s->iscsi, s->lun, 1, SCSI_INQUIRY_PAGECODE_BLOCK_LIMITS, 64,
					  on_done, w);
	case CMD_READ:
		/* Straight into the caller's buffer: no copy, no allocation. */
		iov->iov_base = c->buf;
		iov->iov_len = c->bytes;
		return iscsi_read16_iov_task(s->iscsi, s->lun, c->lba, c->bytes, (int)s->block_size,
					     0, 0, 0, 0, 0, on_done, w, iov, 1);
	}
	return NULL;
}

/* One command, one attempt.  0 and the task (GOOD status; the caller frees
 * it), -EAGAIN for a UNIT ATTENTION, -ENXIO for a LUN the target does not
 * have, -EIO for any other SCSI error, or, with the session dropped,
 * -ECONNRESET or -ETIMEDOUT; -ENOMEM. */
static int exec_once(storm_blocksrc_iscsi *s, const struct cmd *c, struct scsi_task **out)
{
	const char *name = cmd_names[c->kind];
	struct scsi_iovec iov;
	struct wait w = {0};
	struct scsi_task *t;
	int rc;

	*out = NULL;
	t = send_cmd(s, c, &w, &iov);
	if (!t) {
		set_err(s, "%s: %s", name, iscsi_get_error(s->iscsi));
		return -ENOMEM;
	}
	rc = wait_for(s->iscsi, &w, now_ms() + CMD_MS);
	if (!rc && (w.status == SCSI_STATUS_CANCELLED || w.status == SCSI_STATUS_ERROR ||
		    w.status == SCSI_STATUS_TIMEOUT))
		rc = -ECONNRESET;
	if (rc) {
		if (rc == -ETIMEDOUT)
			set_err(s, "%s at LBA %llu: no answer within %d s", name,
				(unsigned long long)c->lba, CMD_MS / 1000);
		else if (w.status == SCSI_STATUS_CANCELLED)
			/* libiscsi sets no text for a connection the target closed. */
			set_err(s, "%s at LBA %llu: connection lost", name, (unsigned long long)c->lba);
		else
			set_err(s, "%s at LBA %llu: connection lost: %s", name, (unsigned long long)c->lba,
				w.err[0] ? w.err : iscsi_get_error(s->iscsi));
		drop(s); /* cancels the task into w, which is still in scope */
		scsi_free_scsi_task(t);
		return rc;
	}
	if (w.status == SCSI_STATUS_CHECK_CONDITION) {
		const char *key = scsi_sense_key_str(t->sense.key);
		const char *ascq = scsi_sense_ascq_str(t->sense.ascq);

		set_err(s, "%s at LBA %llu: CHECK CONDITION, sense key 0x%x%s%s, ASC/ASCQ 0x%04x%s%s",
			name, (unsigned long long)c->lba, (unsigned)t->sense.key, key ? " " : "",
			key ? key : "", (unsigned)t->sense.ascq, ascq ? " " : "", ascq ? ascq : "");
		if (t->sense.key == SCSI_SENSE_UNIT_ATTENTION)
			rc = -EAGAIN;
		else if (t->sense.key == SCSI_SENSE_ILLEGAL_REQUEST &&
			 t->sense.ascq == SCSI_SENSE_ASCQ_LOGICAL_UNIT_NOT_SUPPORTED)
			rc = -ENXIO;
		else
			rc = -EIO;
	} else if (w.status != SCSI_STATUS_GOOD) {
		set_err(s, "%s at LBA %llu: SCSI status 0x%02x", name, (unsigned long long)c->lba,
			(unsigned)w.status);
		rc = -EIO;
	} else if (c->kind == CMD_READ && t->residual_status == SCSI_RESIDUAL_UNDERFLOW &&
		   t->residual) {
		set_err(s, "%s at LBA %llu: short transfer, %zu of %u bytes missing", name,
			(unsigned long long)c->lba, t->residual, (unsigned)c->bytes);
		rc = -EIO;
	}
	if (rc) {
		scsi_free_scsi_task(t);
		return rc;
	}
	*out = t;
	return 0;
}

/* A command to completion: UNIT ATTENTIONs retried, a lost session replaced
 * while *relogins allows. */
static int exec(storm_blocksrc_iscsi *s, const struct cmd *c, int *relogins, struct scsi_task **out)
{
	int attentions = 0;
	int rc;

	for (;;) {
		if (!s->iscsi) {
			if (*relogins <= 0)
				return -ECONNRESET;
			(*relogins)--;
			rc = login(s);
			if (rc)
				return rc;
		}
		rc = exec_once(s, c, out);
		if (rc == -EAGAIN && attentions++ < UA_RETRIES)
			continue;
		if (rc == -EAGAIN)
			return -EIO;
		if (rc == -ECONNRESET && *relogins > 0)
			continue;
		return rc;
	}
}

/* Block size and count (SBC-4 READ CAPACITY(16)), then the largest transfer
 * (Block Limits VPD page B0h: MAXIMUM TRANSFER LENGTH, 0 for no limit; a
 * target without the page gets 1 MiB). */
static int probe(storm_blocksrc_iscsi *s)
{
	struct cmd c = {.kind = CMD_CAPACITY};
	struct scsi_readcapacity16 *cap;
	struct scsi_inquiry_block_limits *bl;
	struct scsi_task *t;
	int relogins = 0;
	int rc;

	rc = exec(s, &c, &relogins, &t);
	if (rc)
		return rc;
	cap = scsi_datain_unmarshall(t);
	if (!cap || !cap->block_length || cap->block_length > CHUNK_MAX ||
	    cap->returned_lba >= UINT64_MAX / cap->block_length) {
		set_err(s, "READ CAPACITY(16): unusable answer");
		scsi_free_scsi_task(t);
		return -EIO;
	}
	s->block_size = cap->block_length;
	s->blocks = cap->returned_lba + 1;
	scsi_free_scsi_task(t);
	s->chunk = CHUNK_MAX / s->block_size * s->block_size;

	c.kind = CMD_LIMITS;
	rc = exec(s, &c, &relogins, &t);
	if (rc == -EIO)
		return 0;
	if (rc)
		return rc;
	bl = scsi_datain_unmarshall(t);
	if (bl && bl->max_xfer_len && (uint64_t)bl->max_xfer_len * s->block_size < s->chunk)
		s->chunk = bl->max_xfer_len * s->block_size;
	scsi_free_scsi_task(t);
	return 0;
}

STORM_EXTERN int storm_blocksrc_iscsi_open(storm_blocksrc_iscsi **out, const char *url,
					   const char *initiator_iqn)
{
	storm_blocksrc_iscsi *s;
	int rc;

	if (!out || !url)
		return -EINVAL;
	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->url = strdup(url);
	s->iqn = strdup(initiator_iqn ? initiator_iqn : DEFAULT_IQN);
	rc = s->url && s->iqn ? login(s) : -ENOMEM;
	if (!rc)
		rc = probe(s);
	if (!rc) {
		s->bounce = malloc(s->block_size);
		rc = s->bounce ? 0 : -ENOMEM;
	}
	if (rc) {
		storm_blocksrc_iscsi_close(s);
		return rc;
	}
	s->err[0] = '\0';
	*out = s;
	return 0;
}

STORM_EXTERN uint64_t storm_blocksrc_iscsi_size(const storm_blocksrc_iscsi *s)
{
	return s->blocks * s->block_size;
}

STORM_EXTERN uint32_t storm_blocksrc_iscsi_block_size(const storm_blocksrc_iscsi *s)
{
	return s->block_size;
}

STORM_EXTERN int storm_blocksrc_iscsi_read(void *ctx, uint64_t offset, void *buf, size_t len)
{
	storm_blocksrc_iscsi *s = ctx;
	uint64_t size = storm_blocksrc_iscsi_size(s);
	uint8_t *p = buf;
	int relogins = 1;

	if (offset > size || len > size - offset) {
		set_err(s, "read of %zu bytes at %llu: past the LUN's end (%llu bytes)", len,
			(unsigned long long)offset, (unsigned long long)size);
		return -EIO;
	}
	while (len) {
		uint32_t in = (uint32_t)(offset % s->block_size);
		struct cmd c = {.kind = CMD_READ, .lba = offset / s->block_size};
		struct scsi_task *t;
		size_t n;
		int rc;

		if (in || len < s->block_size) {
			c.bytes = s->block_size;
			c.buf = s->bounce;
			n = s->block_size - in < len ? s->block_size - in : len;
		} else {
			n = len - len % s->block_size;
			n = n < s->chunk ? n : s->chunk;
			c.bytes = (uint32_t)n;
			c.buf = p;
		}
		rc = exec(s, &c, &relogins, &t);
		if (rc)
			return rc;
		scsi_free_scsi_task(t);
		if (c.buf == s->bounce)
			memcpy(p, s->bounce + in, n);
		p += n;
		offset += n;
		len -= n;
	}
	return 0;
}

STORM_EXTERN const char *storm_blocksrc_iscsi_error(const storm_blocksrc_iscsi *s)
{
	return s->err;
}

STORM_EXTERN void storm_blocksrc_iscsi_close(storm_blocksrc_iscsi *s)
{
	if (!s)
		return;
	if (s->iscsi) {
		struct wait w = {0};

		if (iscsi_is_logged_in(s->iscsi) && !iscsi_logout_async(s->iscsi, on_done, &w))
			wait_for(s->iscsi, &w, now_ms() + LOGOUT_MS);
		iscsi_destroy_context(s->iscsi);
	}
	free(s->bounce);
	free(s->url);
	free(s->iqn);
	free(s);
}

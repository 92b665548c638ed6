/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal state of the active relay. */
#ifndef STORM_RELAY_INT_H
#define STORM_RELAY_INT_H

#include <netinet/in.h>
#include <storm/relay.h>
#include <sys/socket.h>

#define RELAY_MAX_LISTEN 16
#define RELAY_MAX_ALLOW 64
#define RELAY_IQN_MAX 224 /* RFC 7143 §4.2.7.1: names are at most 223 bytes */

struct cidr {
	int family;
	uint8_t addr[16];
	unsigned prefix;
};

struct storm_relay_config {
	storm_relay_mode mode;
	struct sockaddr_storage listen[RELAY_MAX_LISTEN];
	unsigned nlisten;
	struct sockaddr_storage upstream;
	bool has_upstream;
	bool transparent;
	struct cidr allow[RELAY_MAX_ALLOW];
	unsigned nallow;
	char iqn[RELAY_MAX_ALLOW][RELAY_IQN_MAX];
	unsigned niqn;
	size_t max_conns;
	size_t max_buffered;
	unsigned connect_ms, login_ms; /* 0: no deadline */
	unsigned ka_idle, ka_interval, ka_count; /* TCP keepalive; idle 0: off */
	bool rewrite_discovery;
};

struct storm_relay_callbacks {
	storm_relay_open_cb open;
	storm_relay_close_cb close;
	storm_relay_pdu_cb pdu;
	storm_relay_io_start_cb io_start;
	storm_relay_io_data_cb io_data;
	storm_relay_io_done_cb io_done;
};

/* What an epoll event points at. */
enum tag_kind { TAG_STOP, TAG_WAKE, TAG_TIMER, TAG_LISTEN, TAG_CONN };
struct tag {
	enum tag_kind kind;
	int index;            /* listener index, or the conn side (0 initiator, 1 target) */
	storm_conn *conn;
};

/* Bytes of one direction waiting to be forwarded: [head, tail) of data. */
struct relay_buf {
	uint8_t *data;
	size_t cap, head, tail;
};

struct storm_conn {
	storm_relay *relay;
	int fd[2];                /* [0] initiator, [1] target */
	struct tag tag[2];
	uint32_t armed[2];        /* epoll events registered per side */
	bool parked[2];           /* side out of the epoll set: hung up, nothing wanted */
	struct relay_buf buf[2];  /* indexed by storm_dir */
	bool eof[2];              /* the source of this direction finished */
	bool shut[2];             /* FIN passed on to this direction's destination */
	bool connecting;
	uint64_t deadline;        /* CLOCK_MONOTONIC ms for connect or Login; 0 none (deadline.c) */
	enum { END_OTHER, END_IQN, END_HOOK } end_why; /* for storm_relay_stats */
	bool opened;              /* the open hook accepted it: the close hook follows */
	bool dead;
	int err;                  /* why it failed, 0 if it did not */
	bool fail_requested;      /* storm_conn_fail() from a hook */
	/* Parser stream offsets (bytes fed so far, rewrites not counted) map to
	 * buffer positions through the tail: see buf_pos() in conn.c. */
	uint64_t stream_at_tail[2]; /* of the byte at buf[d].tail */
	uint64_t stream_parsed[2];  /* of the next byte to parse */
	uint64_t pdu_start[2];      /* of the PDU being parsed */
	bool held[2];               /* nothing from hold_from[d] on may leave */
	uint64_t hold_from[2];
	bool paused[2];             /* a hook holds a command: parsing waits for release */
	bool rewrite_due;           /* the held T2I Text Response is whole: rewrite it */
	bool resume_due;            /* released: on the relay's resume list */
	uint32_t dcrc[2];           /* data digest of the current PDU as hooks left it */
	uint32_t hooked[2];         /* its data bytes that went through an io_data hook */
	storm_conn *resume_next;
	/* Refusals (refuse.c).  While guarded[d], nothing from stream offset
	 * guard_from[d] on may leave (guard.c): a partial header the relay may
	 * still cut out or renumber, or a data digest it may rewrite. */
	struct refusal *refusal;    /* NULL until the first storm_conn_refuse() */
	storm_io *starting;         /* the task whose io_start hook runs now */
	bool guarded[2];
	uint64_t guard_from[2];
	bool joined_session;        /* its Login named a TSIH: not the session's only connection */
	bool t2i_seen;              /* the target's numbers below were seen */
	uint32_t t2i_statsn;        /* the next StatSN the target will use */
	uint32_t t2i_expcmdsn, t2i_maxcmdsn;
	storm_session *session;
	storm_endpoint ends[2];
	uint64_t bytes[2];
	void *user;
	storm_conn *prev, *next;
};

struct storm_relay {
	struct storm_relay_config cfg;
	struct storm_relay_callbacks cb;
	void *user;
	int ep;                   /* epoll */
	int stopfd;               /* eventfd written by storm_relay_stop() */
	struct tag stop_tag;
	int wakefd;               /* eventfd written by storm_conn_release() */
	struct tag wake_tag;
	storm_conn *resume;       /* released connections, resumed in the next round */
	int timerfd;              /* ticks while a connection has a deadline */
	struct tag timer_tag;
	bool ticking;
	int lfd[RELAY_MAX_LISTEN];
	struct tag ltag[RELAY_MAX_LISTEN];
	storm_relay_stats st;     /* counters; bytes of closed connections only */
	storm_conn *conns;        /* live */
	storm_conn *dead;         /* closed during this service round, freed at its end */
	size_t nconns;
	volatile int stopping;
	storm_session_callbacks *scb;
	storm_iscsi_callbacks *pcb;
};

/* addr.c */
/* deadline.c */
int deadline_setup(storm_relay *r);
/* Gives @p c a deadline @p ms from now (0: none). */
void deadline_set(storm_conn *c, unsigned ms);
/* On a tick: clears the deadlines of connections in Full Feature Phase and
 * fails those past theirs. */
void deadline_sweep(storm_relay *r);

int addr_parse(const char *s, struct sockaddr_storage *out);
int cidr_parse(const char *s, struct cidr *out);
bool cidr_match(const struct cidr *c, const struct sockaddr_storage *sa);
void endpoint_of(const struct sockaddr_storage *sa, storm_endpoint *ep);
socklen_t addr_len(const struct sockaddr_storage *sa);
bool addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

/* Where the byte at parser stream offset @p x sits in direction @p d's buffer. */
static inline size_t buf_pos(const storm_conn *c, storm_dir d, uint64_t x)
{
	return c->buf[d].tail - (size_t)(c->stream_at_tail[d] - x);
}

/* relay.c: queues a released connection for the next service round. */
void relay_wake(storm_relay *r, storm_conn *c);

/* conn.c */
void conn_accept(storm_relay *r, int lfd);
void conn_event(storm_conn *c, int side, uint32_t events);
void conn_fail(storm_conn *c, int err);
void conn_free(storm_conn *c);
/* Parses and forwards what a released hold kept back. */
void conn_resume(storm_conn *c);

/* discovery.c: rewrites the held, whole SendTargets response.  0 or -errno. */
int discovery_rewrite(storm_conn *c);

/* hooks.c: the session and parser callbacks that call the relay's hooks. */
int hooks_make(storm_relay *r);

/* guard.c.  Hooks that may cut or rewrite bytes in the buffer: io_start
 * (storm_conn_refuse()) and io_data (in-place data, redigested). */
static inline bool conn_rewrites(const storm_conn *c)
{
	return c->relay->cb.io_start || c->relay->cb.io_data;
}
/* After each feed of direction @p d (c->stream_parsed[d] updated) of such a
 * connection: refusal work (refuse_fed()), then the guard.  0 or -errno. */
int conn_fed(storm_conn *c, storm_dir d);

/* refuse.c: cuts what was parsed of a refused PDU, injects waiting responses
 * at a T2I PDU boundary.  0 or -errno. */
int refuse_fed(storm_conn *c, storm_dir d);
/* Whether injected responses wait in T2I for the parser. */
bool refuse_t2i_waiting(const storm_conn *c);
struct refusal;
void refuse_free(struct refusal *f);

#endif

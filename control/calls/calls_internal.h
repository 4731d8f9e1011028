/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * calls_internal.h - what the call manager's files share, and only they
 * (calls.h is the public API): struct calls, struct conn, the control
 * channel's wire constants, and each file's helpers for the others.
 */
#ifndef CALLSEAL_CALLS_INTERNAL_H
#define CALLSEAL_CALLS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <sodium.h>

#include "calls.h"

/* ---- control channel frames (channel.c, docs/calls.md) ---------------------- */

#define FRAME_CTRL      0x10u
#define FRAME_ABORT     0x7fu
#define CTRL_END        1u
#define CTRL_REKEY      2u
#define CTRL_READY      3u   /* caller -> callee, once: CONFIRM was accepted */
#define CTRL_REKEY_ACK  4u   /* generation: the peer's IN entry holds our next key */
/* REKEY's from-index: "from the first packet that authenticates under it" */
#define CTRL_FROM_ON_AUTH UINT64_MAX
#define CTRL_HDR        (CALLPROTO_FRAME_HDR + 1u + 8u)   /* len, type, counter */
#define CTRL_PLAIN_MAX  256u
#define CTRL_KEY_LEN    crypto_aead_chacha20poly1305_ietf_KEYBYTES
/* generation 1 of the rekey chain is the control channel's; SRTP uses 0, 2, 3... */
#define CTRL_GENERATION 1u

/* ---- legstats.c: the dataplane's counters of a call (docs/calls.md "Index reuse") */

#include "callseal/dpstats.h"

/* Per leg (struct conn): what the last poll read of the leg's OUT row. */
struct legstats_leg {
	bool base_ok;               /* base_* hold a reading (else the next one is) */
	bool due;                   /* a recovery rekey is to be asked this poll */
	bool said_detached;         /* "cannot rekey: detached" logged once */
	uint64_t base_epoch;        /* legstats.f.epoch of the area it came from */
	uint64_t base_created_ns;   /* the OUT entry instance it counted */
	uint64_t base_reuse;        /* that row's index_reuse */
	uint64_t now_reuse;         /* due: this poll's index_reuse */
	uint64_t recover_ms;        /* monotonic ms of the last recovery rekey (0: none) */
	uint32_t auto_rekeys;       /* recovery rekeys of this leg */
};

/* Per manager (struct calls): the statistics area, attached lazily. */
struct legstats {
	struct dpstats_follow f;    /* the area of calls_config.stats_table ("" = off):
				     * f.area NULL while none; f.epoch +1 at every
				     * attach (a new area counts from 0) */
	uint64_t next_ms;           /* monotonic ms of the next poll */
	unsigned int poll_ms, guard_ms;
};

/*
 * One per TCP connection: a call attempt while the handshake runs, then the
 * call's control channel; a detached call keeps its conn with fd -1.
 */
struct conn {
	struct conn *next, *prev;   /* struct calls.conns (prev: O(1) unlink) */
	/* incoming, not yet authenticated: on struct calls.inq, oldest first,
	 * and counted in calls.incoming (docs/calls.md, "Bounds") */
	struct conn *in_next, *in_prev;
	bool in_counted;
	bool idle;                  /* incoming, and not one octet received yet */
	bool dial_counted;          /* our own dial, counted in calls.dials */
	bool own_leg;               /* callee leg of our own dial to our own listener
				     * (a call within the tenant): counted as that dial */
	bool on_selfq;              /* caller of a call within the tenant whose callee
				     * leg is not accepted yet: on calls.selfq */
	bool pool_port;             /* local_media is a media pool port held in the pool map */
	int fd;
	bool connecting;            /* caller: connect() in progress */
	bool active;                /* keys installed */
	bool confirmed;             /* both ends active: the caller at CONFIRM, the
				     * callee at the caller's READY (docs/calls.md) */
	bool installed_out, installed_in;
	bool stored;                /* a store record exists */
	bool have_want;             /* caller: remote_media given */
	bool learn;                 /* TOFU: record the peer's key once done */
	bool add_peer;              /* TOFU: the peer is not in the directory */
	bool local_peer;            /* the peer is a user of this daemon (a call within
				     * the tenant, both legs here): its identity key is
				     * the user's own, from the users table */
	struct callproto *cp;
	uint64_t deadline;          /* monotonic ms; attempts only */
	uint64_t idle_deadline;     /* incoming: closed at this time if still idle */
	struct callproto_addr from; /* callee: the connection's source address; caller
				     * of a call within the tenant: its socket's own
				     * address (how the callee leg is recognised) */
	struct callproto_addr local_media, want_remote;
	char src[STORE_ADDR_MAX];   /* callee: where the connection came from */
	char why[CALLS_REASON_MAX]; /* our own reason for a failure, if any */
	struct calls_info info;
	uint8_t *ctl;               /* secmem_alloc: tx key || rx key */
	uint64_t tx_ctr, rx_ctr;
	uint32_t gen;               /* last chain generation asked (IN entry) */
	uint32_t out_gen;           /* generation of the OUT entry's key */
	uint64_t auto_ms;           /* monotonic ms the automatic rekey counts
				       from: the last generation, or when first
				       seen active (0: not yet) */
	uint64_t rekey_ms[2];       /* monotonic ms of the last two generations
				       installed, newest first (the in-flight bound) */
	struct legstats_leg ls;     /* legstats.c: its OUT row, recoveries */
	enum store_call_ender ender; /* who ends it, set before conn_finish
				      * (NONE: this daemon by itself) */
	size_t rlen, wlen;
	uint8_t rbuf[CALLS_CONN_BUF];
	uint8_t wbuf[CALLS_CONN_BUF];
};

/* A list through conn.in_next / in_prev (a connection is on one at most). */
struct conn_queue {
	struct conn *head, *tail;
};

/* The manager (calls.h's struct calls). */
struct calls {
	struct calls_config cfg;
	char tenant[STORE_NAME_MAX + 1];
	uint8_t recorder[CALLS_RECORDER_KEY_LEN];
	bool has_recorder;
	int lfd;
	int spare_fd;                 /* /dev/null, given up to shed a connection at EMFILE */
	uint16_t lport;
	struct callproto_addr self_addr;  /* where calls_dial reaches this manager's own
					   * listener (a call between two of its users) */
	struct callproto_addr pool_addr;
	uint16_t offer[CALLPROTO_MAX_PROFILES];  /* the SRTP profiles offered */
	size_t n_offer;
	uint16_t pool_lo, pool_hi;
	bool has_pool;
	/* the pool map (media.c): a state per port (POOL_*), a two-level bitmap
	 * of the available ports, and the ports found with a table stream of
	 * their own (a static key) */
	uint8_t *pool_state;
	uint64_t *pool_avail, *pool_summary;
	uint16_t *pool_blocked;
	uint32_t n_blocked;
	/* bounds (docs/calls.md, "Bounds"): incoming handshakes before the
	 * caller is authenticated, and this side's own dials, apart */
	unsigned int max_per_source, idle_ms;
	unsigned int incoming, dials;
	struct conn_queue inq;        /* counted incoming connections, oldest first */
	struct conn_queue selfq;      /* own dials to the own listener, leg not seen */
	struct calls_stats stats;     /* the counters (incoming, dials filled in on read) */
	struct conn *conns;
	struct legstats ls;           /* legstats.c: the dataplane's statistics */
	/* history.c: the retention of ended legs in the store */
	uint64_t keep_ms;             /* how long (0: keep none) */
	uint64_t prune_ms;            /* monotonic ms of the next prune; UINT64_MAX: none due */
	int prune_rc;                 /* the last prune's result (logged when it changes) */
	/* descriptor -> connection (calls_handle's O(1) look-up): fdmap[fd] is the
	 * connection on fd, or NULL; grown as descriptors grow */
	struct conn **fdmap;
	size_t fdmap_cap;
};

/* pool map states (bits) */
#define POOL_USED    1u   /* a connection of this manager receives media there */
#define POOL_BLOCKED 2u   /* on pool_blocked: a table stream was there when last tried */

/* ---- small helpers for every file ------------------------------------------- */

static inline uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Printable ASCII only (reasons go to the store and to logs). */
static inline void copy_text(char *dst, size_t cap, const char *src)
{
	size_t i;

	for (i = 0; src && src[i] && i + 1 < cap; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

/* The store leg of a connection: a record is keyed by (call id, role). */
/* The leg's rekeys: generation 1 of the chain is the control channel's, the
 * SRTP keys are 0, then 2, 3, ... */
static inline uint32_t conn_rekeys(const struct conn *c)
{
	return c->gen <= CTRL_GENERATION ? 0 : c->gen - CTRL_GENERATION;
}

static inline enum store_call_role conn_store_role(const struct conn *c)
{
	return c->info.role == CALLPROTO_ROLE_INITIATOR ? STORE_ROLE_INITIATOR
							 : STORE_ROLE_RESPONDER;
}

/* ---- addr.c: IP:port forms ---------------------------------------------------- */

int addr_parse(const char *s, struct callproto_addr *a, bool allow0);
void addr_format(const struct callproto_addr *a, char *out, size_t cap);
socklen_t addr_sockaddr(const struct callproto_addr *a, struct sockaddr_storage *ss);
bool addr_eq(const struct callproto_addr *a, const struct callproto_addr *b);
void addr_table_key(const struct callproto_addr *a, unsigned int dir, struct keytable_key *k);

/* ---- media.c: media addresses and the pool ------------------------------------ */

int media_parse(const char *s, struct callproto_addr *a);
int media_pool_parse(const char *s, struct callproto_addr *a, uint16_t *hi);
const struct conn *media_user(const struct calls *cm, const struct callproto_addr *a);
bool media_in_table(const struct calls *cm, const struct callproto_addr *a);
int media_pool_init(struct calls *cm);
void media_pool_free(struct calls *cm);
int media_pool_take(struct calls *cm, struct conn *c);
void media_hold(struct calls *cm, struct conn *c);
void media_release(struct calls *cm, struct conn *c);

/* ---- conn.c: connections ------------------------------------------------------ */

struct conn *conn_find(const struct calls *cm, const char *id);
struct conn *conn_find_leg(const struct calls *cm, const char *id, enum callproto_role role);
int conn_link(struct calls *cm, struct conn *c);
void conn_settled(struct calls *cm, struct conn *c);
void conn_free(struct calls *cm, struct conn *c);
void conn_self_dial(struct calls *cm, struct conn *c);
void conn_queue(struct conn *c, const uint8_t *p, size_t n, bool *overflow);
void conn_pump(struct conn *c, bool *overflow);
int conn_flush(struct conn *c);
void conn_finish(struct calls *cm, struct conn *c, enum calls_state state, const char *reason);
void conn_fail(struct calls *cm, struct conn *c, enum callproto_code code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void conn_lost(struct calls *cm, struct conn *c, const char *why);

/* ---- handshake.c: decisions during the key agreement -------------------------- */

int handshake_local_user_key(struct calls *cm, const char *peer_id,
			     uint8_t pub[STORE_PUBLIC_KEY_BYTES]);

/* eff: the user's effective policy if the caller just read it (the callee's
 * answer() does), else NULL: read here. */
int handshake_local(struct calls *cm, struct conn *c, const char *user,
		    const struct store_effective *eff, uint8_t *priv,
		    struct callproto_local *loc, char *err, size_t errlen);
bool handshake_progress(struct calls *cm, struct conn *c);

/* ---- channel.c: the control channel ------------------------------------------- */

int channel_derive(struct conn *c);
int channel_send(struct conn *c, const uint8_t *plain, size_t n);
void channel_bye(struct conn *c, const char *why);
bool channel_frame(struct calls *cm, struct conn *c, const uint8_t *f, size_t n);

/* ---- legstats.c: the dataplane's counters, recovery from index reuse ---------- */

int legstats_init(struct calls *cm, const struct calls_config *cfg, char *err, size_t errlen);
void legstats_fini(struct calls *cm);
/* best, or the next poll's time if sooner (monotonic ms; an active call only) */
uint64_t legstats_wake(const struct calls *cm, uint64_t best);
/* The periodic poll (calls_handle): O(active calls), no blocking I/O. */
void legstats_poll(struct calls *cm);
/* A leg's counters as its keys are deleted (conn_finish), for the store:
 * fin->media is UNKNOWN for a leg without entries, NONE without an area. */
void legstats_final(struct calls *cm, const struct conn *c, struct store_call_final *fin);
__attribute__((format(printf, 2, 3)))
void legstats_say(const struct calls *cm, const char *fmt, ...);

/* ---- history.c: the retention of ended legs (docs/calls.md "Call history") --- */

void history_init(struct calls *cm, unsigned int history_s);
/* A leg was recorded ended or failed just now. */
void history_ended(struct calls *cm);
uint64_t history_wake(const struct calls *cm, uint64_t best);
/* One bounded prune when due (calls_handle): at most CALLS_PRUNE_BATCH legs. */
void history_prune(struct calls *cm);

#endif /* CALLSEAL_CALLS_INTERNAL_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * calls.h - the call manager that callseal-control embeds (docs/calls.md):
 * runs call attempts (control/proto/callproto.h) over non-blocking TCP, decides
 * each peer's identity against the peers directory (control/store/store.h),
 * installs the agreed SRTP keys into the key table (include/callseal/keytable.h),
 * records the call in the store, and keeps each call's TCP connection as its
 * authenticated control channel (END, REKEY).
 *
 * Poll-driven, no threads, no blocking call except the store's SQLite writes:
 *   calls_create(&cm, &cfg);
 *   loop:
 *     n = calls_pollfds(cm, fds, cap);             (plus the daemon's own fds)
 *     poll(fds, n, calls_timeout_ms(cm));
 *     calls_handle(cm, fds, n);                    (fds it does not own are skipped)
 *   calls_dial() / calls_end() / calls_rekey() / calls_feature() from the
 *   daemon's admin handlers; results arrive through cfg.event and
 *   calls_show() / calls_list().
 *
 * Errors: 0 or a negative errno, with one human line in err (which may be
 * NULL). No message carries key bytes. Threading: one manager, one thread.
 */
#ifndef CALLSEAL_CALLS_H
#define CALLSEAL_CALLS_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "callproto.h"
#include "callseal/keytable.h"
#include "store.h"

#define CALLS_ID_LEN            16u    /* = KEYTABLE_CALL_ID_BYTES, STORE_CALL_ID_MAX */
#define CALLS_ERR_MAX           512u
#define CALLS_REASON_MAX        POLICY_CALL_REASON_MAX
#define CALLS_DEFAULT_TIMEOUT_MS 10000u
/* Bounds on what is in progress (docs/calls.md, "Bounds"): incoming
 * handshakes whose caller is not authenticated yet, in total and per source
 * (an IPv4 address, an IPv6 /64), and this side's own dials, each a budget
 * of its own. An incoming connection that has sent nothing within the idle
 * time is closed (earlier than the handshake deadline). */
#define CALLS_DEFAULT_MAX_ATTEMPTS 64u
#define CALLS_DEFAULT_MAX_PER_SOURCE 16u
#define CALLS_DEFAULT_IDLE_MS   2000u
/* The listening socket's accept queue (the kernel caps it at somaxconn). */
#define CALLS_LISTEN_BACKLOG    512
/* Most octets buffered per connection and direction: every callseal/1 frame
 * fits in CALLPROTO_OUT_MAX; a longer one ends the attempt. */
#define CALLS_CONN_BUF          (2u * CALLPROTO_OUT_MAX)
/* At most two rekeys in flight (docs/calls.md, "Rekey"): a third generation
 * within this many ms of the one before the last is refused (-EBUSY). */
#define CALLS_REKEY_GAP_MS      1000u
/* The dataplane's statistics (docs/calls.md "Index reuse"): read every
 * CALLS_STATS_POLL_MS while a call is active; at most one automatic rekey
 * for index reuse per call within CALLS_REUSE_GUARD_MS (the storm guard). */
#define CALLS_STATS_POLL_MS     1000u
#define CALLS_REUSE_GUARD_MS    10000u
/* The call history (docs/calls.md "Call history"): ended and failed legs
 * stay in the store this long (calls_config.history_s), then the manager
 * forgets them, at most CALLS_PRUNE_BATCH per round of its loop. */
#define CALLS_DEFAULT_HISTORY_S 604800u      /* 7 days */
#define CALLS_HISTORY_NONE      0xffffffffu  /* history_s: keep none */
#define CALLS_PRUNE_BATCH       256u
#define CALLS_PRUNE_GAP_MS      10u          /* between two full batches */
#define CALLS_PRUNE_RETRY_MS    60000u       /* after a store error */
/* Recorder blob ("keys", docs/calls.md "Recorder blob"): crypto_box_seal of
 * a plain layout of one of two versions, told apart by the sealed length.
 * v1 (GCM calls, the original layout, no version octet): call id || 2 entries
 * of 52 (12-octet salt field). v2 (AES-CM calls): version, 0, 0, 0 || call id
 * || 2 entries of 54 (salt length and a 14-octet salt field). */
#define CALLS_KEYS_ENTRY_HDR    8u      /* dir, 0, profile BE16, key_len, salt_len|0, 0, 0 */
#define CALLS_KEYS_ENTRY_V1     (CALLS_KEYS_ENTRY_HDR + 32u + 12u)  /* key[32] salt[12] */
#define CALLS_KEYS_ENTRY_V2     (CALLS_KEYS_ENTRY_HDR + 32u + 14u)  /* key[32] salt[14] */
#define CALLS_KEYS_V2           2u      /* v2's first plain octet */
#define CALLS_KEYS_V2_HDR       4u      /* version, 0, 0, 0 */
#define CALLS_KEYS_PLAIN_V1     (CALLS_ID_LEN + 2u * CALLS_KEYS_ENTRY_V1)                 /* 120 */
#define CALLS_KEYS_PLAIN_V2     (CALLS_KEYS_V2_HDR + CALLS_ID_LEN + 2u * CALLS_KEYS_ENTRY_V2) /* 128 */
#define CALLS_KEYS_SEAL_OVERHEAD 48u    /* crypto_box_SEALBYTES */
#define CALLS_KEYS_SEALED_V1    (CALLS_KEYS_PLAIN_V1 + CALLS_KEYS_SEAL_OVERHEAD)  /* 168 */
#define CALLS_KEYS_SEALED_V2    (CALLS_KEYS_PLAIN_V2 + CALLS_KEYS_SEAL_OVERHEAD)  /* 176 */
#define CALLS_KEYS_SEALED_MAX   CALLS_KEYS_SEALED_V2
#define CALLS_RECORDER_KEY_LEN  32u                      /* crypto_box_PUBLICKEYBYTES */

/* The exact refusal of a media-touching feature in an e2ee call. */
#define CALLS_E2EE_REFUSAL "not available while the call is end-to-end encrypted"

enum calls_state {
	CALLS_CONNECTING = 1,   /* caller: TCP connect in progress */
	CALLS_HANDSHAKE,        /* key agreement running */
	CALLS_ACTIVE,           /* keys installed */
	CALLS_ENDED,            /* final (events only) */
	CALLS_FAILED,           /* final (events only): the attempt failed */
};

struct calls;

/* One call as the daemon prints it. */
struct calls_info {
	char id[CALLS_ID_LEN + 1];                 /* "" for a callee attempt before HELLO */
	char local_user[STORE_NAME_MAX + 1];       /* "" until known (callee) */
	char peer[STORE_PEER_MAX + 1];             /* user@tenant */
	enum callproto_role role;
	enum calls_state state;
	enum callproto_mode mode;                  /* NONE until active */
	char reason[CALLS_REASON_MAX];             /* mode reason, or why it failed/ended */
	char profile[STORE_PROFILE_MAX];           /* "" until active */
	char security_code[CALLPROTO_SECURITY_CODE_LEN + 1]; /* groups of five */
	char local_media[STORE_ADDR_MAX];
	char remote_media[STORE_ADDR_MAX];
	/* How many times the call moved to new SRTP keys (call rekey, the
	 * automatic rekeys; 0 = the handshake's keys): the same on both sides. */
	uint32_t rekeys;
	/* The key table's generation of the leg's OUT and IN entries, as `key
	 * list` shows it (0: no entry): docs/calls.md, "Generations". */
	uint64_t generation_out, generation_in;
	uint64_t next_from_index;                  /* always 0: a call's next keys apply
						      on auth (docs/calls.md "Rekey") */
	/* ACTIVE without a control connection (the peer's daemon or this one
	 * restarted, or the connection broke): media goes on with the installed
	 * keys; the call can be ended here, not rekeyed (docs/calls.md). */
	bool detached;
	char detached_why[CALLS_REASON_MAX];
};

/* Called on ACTIVE (again when an active call becomes detached), FAILED and
 * ENDED; must not call back into the manager. */
typedef void (*calls_event_fn)(void *ctx, const struct calls_info *info);
typedef int (*calls_list_fn)(const struct calls_info *info, void *arg);
/* One log line (no newline, never key bytes) with cfg.event_ctx. */
typedef void (*calls_log_fn)(void *ctx, const char *line);

struct calls_config {
	struct keytable *table;       /* writer handle (not owned) */
	struct store *store;          /* not owned */
	const char *tenant;           /* must equal store_tenant(store) */
	const char *listen;           /* "IPv4:port" / "[IPv6]:port" (port 0 = any), or NULL */
	unsigned int timeout_ms;      /* per attempt, from start to keys; 0 = default */
	/* Callee media addresses: "IP:LO-HI" (ports); NULL = this side answers no call. */
	const char *media_pool;
	bool tofu;                    /* trust on first use of unknown peer keys */
	/* Each of two budgets: incoming handshakes not yet authenticated (in
	 * total), and this side's own dials in progress; 0 = default. */
	unsigned int max_attempts;
	unsigned int max_per_source;  /* incoming handshakes per source; 0 = default,
				       * at most max_attempts */
	unsigned int idle_ms;         /* an incoming connection silent this long is
				       * closed; 0 = default, at most timeout_ms */
	/* X25519 public key of the authorised compliance recorder
	 * (crypto_box); NULL = "keys" is refused in every call. */
	const uint8_t *recorder_public_key;
	/* An active call is rekeyed (calls_rekey) once it has gone this long
	 * without a new generation from either side; 0 = never. */
	unsigned int rekey_interval_s;
	/* The key table's name: its dataplane's statistics area,
	 * /dev/shm/callseal.<stats_table>.stats, is attached read-only when it
	 * appears, read for calls_leg_stats(), and polled to rekey a call whose
	 * sender refuses reused indexes (docs/calls.md "Index reuse").
	 * NULL = no statistics, no automatic recovery. */
	const char *stats_table;
	unsigned int stats_poll_ms;   /* 0 = CALLS_STATS_POLL_MS */
	/* Ended and failed legs stay in the store this many seconds (the call
	 * history); 0 = CALLS_DEFAULT_HISTORY_S, CALLS_HISTORY_NONE = keep none. */
	unsigned int history_s;
	unsigned int reuse_guard_ms;  /* 0 = CALLS_REUSE_GUARD_MS */
	/* The SRTP profiles this side offers in every call (CALLPROTO_PROFILE_*,
	 * 1..CALLPROTO_MAX_PROFILES, no repeats; copied): e.g. only the AES-CM
	 * ones for a site whose other leg needs them. The choice between two
	 * offers is the protocol's (GCM first), not this order. NULL = every
	 * profile callproto knows (callproto_profiles_default). */
	const uint16_t *profiles;
	size_t n_profiles;
	calls_event_fn event;
	calls_log_fn log;             /* what the manager does by itself; NULL = silent */
	void *event_ctx;              /* for event and log */
};

/* Checks --listen (IP:port, port 0 = any) and --media-pool (IP:LO-HI, a real
 * address) without opening anything: 0, or -EINVAL with a message naming
 * the option. Either may be NULL. calls_create checks them again. */
int calls_addresses_check(const char *listen, const char *media_pool, char *err,
			  size_t errlen);

int calls_create(struct calls **out, const struct calls_config *cfg, char *err, size_t errlen);
/* Ends every call (END to the peers, entries deleted, store marked), frees. */
void calls_destroy(struct calls *cm);
/*
 * Stops without ending the active calls (a control restart): their keys stay
 * in the table and their store records stay active, for calls_resume() in
 * the next run; the peers see the connection close and keep their side
 * (detached). Attempts still in set-up fail as in calls_destroy(). Frees.
 */
void calls_release(struct calls *cm);

/* What calls_resume() did. */
struct calls_resume_report {
	unsigned int resumed;   /* active calls taken over, detached */
	unsigned int failed;    /* set-ups, or active calls whose entries were gone */
	unsigned int removed;   /* table entries of calls that are not active */
};
/*
 * At start-up, before any call: every call the store has active whose two
 * table entries (same call id) are present becomes a detached call of this
 * manager (call end works, media goes on); store calls still in set-up, and
 * active ones missing an entry, are marked failed; every table entry naming
 * a call the store knows but that is not active now is deleted (what a
 * crashed daemon left). Entries with other call ids (static keying) are not
 * touched. 0 or -errno with err.
 */
int calls_resume(struct calls *cm, struct calls_resume_report *rep, char *err, size_t errlen);
/* The bound listening port (0 without a listener). */
uint16_t calls_listen_port(const struct calls *cm);

/* What the bounds hold now and what they turned away since calls_create
 * (docs/calls.md, "Bounds"). */
struct calls_stats {
	unsigned int incoming;        /* incoming handshakes, caller not authenticated */
	unsigned int incoming_peak;   /* the most at once */
	unsigned int dials;           /* own dials in progress (connect + handshake) */
	unsigned int max_incoming, max_per_source, max_dials, idle_ms;
	uint64_t refused_source;      /* closed at accept: its source had max_per_source */
	uint64_t refused_full;        /* closed at accept: max_incoming, none idle */
	uint64_t evicted_idle;        /* the oldest idle one, closed for a new one */
	uint64_t idle_closed;         /* sent nothing within idle_ms */
	uint64_t refused_other;       /* closed at accept: out of descriptors or memory */
	uint64_t refused_dials;       /* calls_dial -EAGAIN: max_dials in progress */
};
void calls_stats(const struct calls *cm, struct calls_stats *out);

/* ---- poll integration ----------------------------------------------------- */
/* Fill fds[0..cap) with the manager's descriptors; returns how many
 * (-ENOBUFS if cap is too small: nothing partial is meaningful). */
int calls_pollfds(const struct calls *cm, struct pollfd *fds, size_t cap);
/* Act on poll's results (entries for other fds are ignored) and on expired
 * timeouts. Returns 0. */
int calls_handle(struct calls *cm, const struct pollfd *fds, size_t n);
/* Milliseconds until the next attempt deadline, -1 when none. */
int calls_timeout_ms(const struct calls *cm);

/* ---- calls ------------------------------------------------------------------ */
/*
 * Start a call from local user from_user to "user@tenant": a user of this
 * manager's own store (the manager dials its own listener; -ENOTCONN without
 * one) or a peer in the peers directory (numeric address; of another
 * tenant, or of this tenant at another site). local_media
 * is where this side receives media ("IP:port"), NULL = the next free port
 * of the media pool; remote_media, if not NULL, must equal what the peer
 * announces. id gets the new call id. 0 = the attempt is running (result by
 * event).
 */
int calls_dial(struct calls *cm, const char *from_user, const char *to,
	       const char *local_media, const char *remote_media,
	       char id[CALLS_ID_LEN + 1], char *err, size_t errlen);
/* Hang up (active: END to the peer; detached: this side only) or cancel
 * (attempt). A call between two users of this manager: both legs. -ENOENT. */
int calls_end(struct calls *cm, const char *id, char *err, size_t errlen);
/*
 * Move both sides to the next key generation. The control never sees packet
 * indexes, so it decides no switch point (docs/calls.md, "Rekey"): the next
 * keys go into both IN entries on auth (the receiver's dataplane switches at
 * the first packet that verifies under them), and each OUT entry is replaced
 * once the peer has acknowledged (the sender's dataplane switches at its next
 * packet). current_index is ignored (kept for the callers). -ENOENT, -EAGAIN
 * (not active), -EBUSY (two rekeys in flight), -ENOTCONN (detached: no
 * channel to agree the next key over).
 */
int calls_rekey(struct calls *cm, const char *id, uint64_t current_index,
		char *err, size_t errlen);
/* The call's caller leg if this manager holds it, else its callee leg. */
int calls_show(const struct calls *cm, const char *id, struct calls_info *out);
/* One leg: a call between two users of this manager has both under one id
 * (docs/calls.md, "Calls within a tenant"). -ENOENT. */
int calls_show_leg(const struct calls *cm, const char *id, enum callproto_role role,
		   struct calls_info *out);
/* Every live call and attempt; a non-zero return from fn stops and is returned. */
int calls_list(const struct calls *cm, calls_list_fn fn, void *arg);
/* One direction of a leg as its dataplane counted it (the key-table entry
 * instance the leg installed, summed over the dataplane's workers). */
struct calls_dir_stats {
	bool seen;                  /* the dataplane has a row: false = no packets yet */
	uint64_t packets, bytes;    /* sent on (bytes: RTP/RTCP, the plaintext side) */
	uint64_t auth, replay;      /* dropped (inbound) */
	uint64_t index_reuse;       /* dropped (outbound): index already protected */
	uint64_t key_exhausted;     /* dropped: the index limit */
	uint64_t other_drops;       /* dropped for another reason */
	uint64_t last_ns;           /* CLOCK_REALTIME of the last packet through; 0: none */
};

/* A leg's live counters (calls_leg_stats). No key material. */
struct calls_leg_stats {
	char table[KEYTABLE_NAME_MAX];  /* calls_config.stats_table; "" = none configured */
	bool dataplane;             /* its statistics area is there (attached) */
	struct calls_dir_stats out, in;  /* valid when dataplane and the leg is active */
	uint32_t auto_rekeys;       /* automatic rekeys of this leg for index reuse */
};

/* One leg's live counters, read now (the area attached if it has appeared
 * meanwhile). -ENOENT: no such leg. */
int calls_leg_stats(struct calls *cm, const char *id, enum callproto_role role,
		    struct calls_leg_stats *out);

/* Security code "12345 67890 12345 67890" from 20 digits (store form). */
void calls_code_groups(const char *digits, char out[CALLPROTO_SECURITY_CODE_LEN + 1]);

/*
 * Feature check: "record", "transcribe", "transfer", "park", "merge",
 * "add-participant", "keys". In an e2ee call: -EPERM with err exactly
 * CALLS_E2EE_REFUSAL. In a standard call: 0. For "keys", sealed (cap >=
 * CALLS_KEYS_SEALED_MAX always suffices) gets the call's current keys sealed
 * to the recorder (crypto_box_seal; v1 for GCM calls, CALLS_KEYS_SEALED_V1
 * octets, v2 for AES-CM calls, CALLS_KEYS_SEALED_V2; layouts in
 * docs/calls.md) and *sealed_len its length; -ENOBUFS if cap is short for
 * this call's version; -EACCES without a configured recorder. -ENOENT,
 * -EAGAIN (not active), -EINVAL (unknown feature).
 */
int calls_feature(struct calls *cm, const char *id, const char *feature,
		  uint8_t *sealed, size_t cap, size_t *sealed_len, char *err, size_t errlen);

#endif /* CALLSEAL_CALLS_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store.h - callseal-control's persistent state: one tenant's users and their
 * X25519 identity keys, groups, memberships, enhanced-encryption policies and
 * their assignments, each user's own end-to-end setting, remote peers, and the
 * call records. Embedded SQLite, one database file in a private state
 * directory (docs/policy.md has the schema and the rules).
 *
 * Files: <state_dir>/ is 0700 and <state_dir>/callseal.db 0600, both owned by
 * the caller's effective uid; anything else is refused at open. A lock file
 * (<state_dir>/lock, flock) keeps a second daemon off the same store; its
 * holder writes its pid there, and a second open is refused (-EBUSY) with "in
 * use by pid N".
 *
 * Secrets: a user's private key is written once, at store_user_add(), and read
 * only by store_user_private_key(). No other function returns it, and no
 * struct in this header has room for it. Call records hold no keys.
 *
 * Conventions:
 *   - Every function returns 0 or a negative errno and writes one human line
 *     into err (err may be NULL). Messages never carry key bytes.
 *       -EINVAL  a bad argument (name syntax, enum value, address)
 *       -EEXIST  already there        -ENOENT  not there
 *       -EBUSY   still in use (an assigned policy; a user with a live call;
 *                the store held by another process)
 *       -EPERM   refused by policy (turning on e2ee when not allowed or under
 *                compliance recording), or
 *                files with unsafe ownership or modes
 *       -EKEYREJECTED  a peer's key differs from the one on record
 *       -EPROTONOSUPPORT  the database's schema is newer than this program
 *       -ESRCH   the database belongs to another tenant
 *       -EIO     SQLite failed (its message is in err)
 *   - Every write runs in one transaction; on failure nothing changed.
 *   - Every statement is prepared from a constant and bound; no SQL is built
 *     from strings.
 *   - Names (tenant, user, group, policy): 1..64 characters of [A-Za-z0-9._-].
 *     A peer is "user@tenant" (each half a name). A call id is 1..16
 *     characters of [A-Za-z0-9._:@+-] (the key table's call id).
 *   - List functions call fn once per row, in name order (calls: by creation
 *     time, then id); a non-zero return from fn stops the walk and is returned.
 */
#ifndef CALLSEAL_STORE_H
#define CALLSEAL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

#define STORE_SCHEMA_VERSION     5   /* schema.c: 2 calls keyed (id, role); 3 compliance
				      * recording; 4 call history (end, counters); 5 the
				      * calls table's CHECKs without IN lists */
#define STORE_DB_NAME            "callseal.db"
#define STORE_LOCK_NAME          "lock"
#define STORE_ERR_MAX            320u
#define STORE_NAME_MAX           POLICY_NAME_MAX                 /* 64 */
#define STORE_PEER_MAX           POLICY_WHO_MAX                  /* user@tenant */
#define STORE_ADDR_MAX           262u  /* "[ipv6]:port" or "host.name:port" + NUL */
#define STORE_CALL_ID_MAX        16u   /* KEYTABLE_CALL_ID_BYTES */
#define STORE_PROFILE_MAX        32u   /* "AEAD_AES_128_GCM" + NUL, with room */
#define STORE_SECURITY_CODE_LEN  20u   /* digits */
#define STORE_PUBLIC_KEY_BYTES   32u   /* X25519 */
#define STORE_PRIVATE_KEY_BYTES  32u

/* store_open() flags */
#define STORE_OPEN_CREATE  0x1u   /* create the state dir and database if absent */

struct store;

/* The targets a policy can be assigned to. */
enum store_target {
	STORE_TARGET_TENANT = 1,
	STORE_TARGET_GROUP,
	STORE_TARGET_USER,
};

enum store_call_role {
	STORE_ROLE_INITIATOR = 1,
	STORE_ROLE_RESPONDER,
};

enum store_call_mode {
	STORE_MODE_PENDING = 0,   /* not agreed yet */
	STORE_MODE_E2EE,
	STORE_MODE_STANDARD,
};

enum store_call_state {
	STORE_CALL_SETUP = 1,     /* handshake running */
	STORE_CALL_ACTIVE,        /* keys installed */
	STORE_CALL_ENDED,         /* hung up (final) */
	STORE_CALL_FAILED,        /* handshake or set-up failed (final) */
};

/* Who ended a call (schema version 4; docs/calls.md "Call history"). */
enum store_call_ender {
	STORE_ENDER_NONE = 0,     /* live, or ended before schema version 4 */
	STORE_ENDER_LOCAL,        /* this side's operator (call end) */
	STORE_ENDER_PEER,         /* the peer: its END, ABORT or refusal, its
				   * connection closing before the call was confirmed */
	STORE_ENDER_DAEMON,       /* this daemon by itself: a timeout, a fault, a full
				   * key table, its exit or restart */
};

/* What the dataplane had counted on a call when its keys were deleted. */
enum store_call_media {
	STORE_MEDIA_UNKNOWN = 0,  /* never active, or ended before schema version 4 */
	STORE_MEDIA_NONE,         /* no dataplane statistics when it ended */
	STORE_MEDIA_READ,         /* store_call.out and .in hold the final counters */
};

/* One direction's final counters (the dataplane's, summed over its workers). */
struct store_call_dir {
	bool seen;                /* false: the dataplane never counted a packet */
	int64_t packets, bytes;
	int64_t auth, replay;     /* in: dropped */
	int64_t index_reuse;      /* out: dropped */
	int64_t key_exhausted, other_drops;
};

/* A user as listed or shown: never the private key. */
struct store_user {
	char name[STORE_NAME_MAX + 1];
	int64_t created;                 /* unix seconds */
	uint8_t public_key[STORE_PUBLIC_KEY_BYTES];
	bool e2ee_on;                    /* the user's own setting (may be moot) */
	bool compliance_recording;       /* under compliance recording: no e2ee */
};

struct store_group {
	char name[STORE_NAME_MAX + 1];
	int64_t created;
	unsigned int members;
};

struct store_policy {
	char name[STORE_NAME_MAX + 1];
	int64_t created;
	enum policy_setting e2ee;
	unsigned int assignments;        /* how many targets it is assigned to */
};

struct store_assignment {
	enum store_target target;
	char name[STORE_NAME_MAX + 1];   /* group or user; "" for the tenant */
	char policy[STORE_NAME_MAX + 1];
};

struct store_peer {
	char id[STORE_PEER_MAX + 1];     /* user@tenant */
	bool has_key;                    /* false: trust on first use pending */
	uint8_t public_key[STORE_PUBLIC_KEY_BYTES];
	char address[STORE_ADDR_MAX];    /* host:port of its callseal-control */
	bool pinned;
	int64_t created, updated;
};

struct store_call {
	char id[STORE_CALL_ID_MAX + 1];
	char local_user[STORE_NAME_MAX + 1];
	char remote[STORE_PEER_MAX + 1];  /* user@tenant */
	enum store_call_role role;
	enum store_call_mode mode;
	char reason[POLICY_CALL_REASON_MAX];
	char profile[STORE_PROFILE_MAX];  /* "" until agreed */
	char security_code[STORE_SECURITY_CODE_LEN + 1]; /* "" or 20 digits */
	char local_media[STORE_ADDR_MAX];  /* "" or host:port */
	char remote_media[STORE_ADDR_MAX];
	enum store_call_state state;
	int64_t created;
	int64_t ended;                     /* 0 while not final */
	/* schema version 4: the history of an ended call */
	char end_reason[POLICY_CALL_REASON_MAX];  /* why it ended or failed ("" live) */
	enum store_call_ender ended_by;
	int64_t active_ms;                 /* unix ms its keys went in (0: never) */
	int64_t ended_ms;                  /* unix ms it ended (0 while live) */
	enum store_call_media media;
	struct store_call_dir out, in;     /* media == STORE_MEDIA_READ */
};

/* How a leg ended (store_call_finish_leg). */
struct store_call_final {
	enum store_call_ender ended_by;
	enum store_call_media media;
	struct store_call_dir out, in;
};

/* A user's policy, resolved, with their intent (policy.h). */
struct store_effective {
	struct policy_effective policy;
	bool user_on;                  /* the stored setting */
	bool compliance;               /* compliance recording applies: intent not
					* allowed, whatever policy and user_on say */
	struct policy_intent intent;   /* reason names "user@tenant" */
};

typedef int (*store_user_fn)(const struct store_user *u, void *arg);
typedef int (*store_group_fn)(const struct store_group *g, void *arg);
typedef int (*store_name_fn)(const char *name, void *arg);
typedef int (*store_policy_fn)(const struct store_policy *p, void *arg);
typedef int (*store_assignment_fn)(const struct store_assignment *a, void *arg);
typedef int (*store_peer_fn)(const struct store_peer *p, void *arg);
typedef int (*store_call_fn)(const struct store_call *c, void *arg);

/* ---- validation (also for the CLI to check before sending) -------------- */
bool store_name_valid(const char *s);
/* A name that may be added from now on: valid, and starting with a letter or
 * digit (older names keep working for look-up, show and delete). */
bool store_name_new_valid(const char *s);
/* "user@tenant"; user and tenant (if wanted) written out, each a valid name. */
int store_peer_id_parse(const char *s, char user[STORE_NAME_MAX + 1],
			char tenant[STORE_NAME_MAX + 1], char *err, size_t errlen);
/* IP:port, numeric: a dotted IPv4 address or [IPv6]; port 1..65535. A host
 * name is refused (nothing resolves names: the daemon's loop never waits for
 * DNS); err says so, without echoing s. */
int store_address_check(const char *s, char *err, size_t errlen);
/* Numeric IP:port only: dotted IPv4, or [IPv6] in brackets, port
 * 0..65535 (callers refuse 0 where it is wrong). family 4 or 6; addr the
 * 4 or 16 octets, the rest zero. 0 or -EINVAL. */
int store_ip_port_parse(const char *s, uint8_t *family, uint8_t addr[16], uint16_t *port);
/* A call id as the call manager makes and accepts it: exactly 16
 * (STORE_CALL_ID_MAX) characters of A-Z a-z 0-9 . _ : @ + -, not starting with
 * '-' (it would read as an option in `call end ID`). s need not be
 * NUL-terminated; its first 16 octets are read (stopping at a NUL). */
bool store_call_id16_ok(const char *s);
/* 0.0.0.0 or :: */
bool store_ip_unspecified(uint8_t family, const uint8_t addr[16]);
const char *store_target_name(enum store_target t);        /* "tenant" ... */
const char *store_call_role_name(enum store_call_role r);  /* "initiator" ... */
const char *store_call_mode_name(enum store_call_mode m);  /* "pending" ... */
const char *store_call_state_name(enum store_call_state s); /* "setup" ... */
const char *store_call_ender_name(enum store_call_ender e); /* "" "local" "peer" "daemon" */

/* ---- open / close -------------------------------------------------------- */
/*
 * Open (with STORE_OPEN_CREATE: create) the store in state_dir for tenant.
 * tenant may be NULL to open an existing store for whatever tenant it records.
 */
int store_open(const char *state_dir, const char *tenant, unsigned int flags,
	       struct store **out, char *err, size_t errlen);
/* Commits the open call-record batch first (store_batch_flush). */
void store_close(struct store *st);
const char *store_tenant(const struct store *st);

/*
 * Durability (docs/operations.md "Durability of the store"). The store runs
 * in WAL mode. A change an administrator makes (users, groups, policies,
 * assignments, peers, and a peer key learnt on first use) commits with
 * synchronous=FULL before its function returns: it survives a crash and a
 * power cut. Call records (store_call_add, _update, _finish_leg, _end_leg,
 * _prune) are batched: they join one open transaction, committed without a
 * sync by store_batch_flush(): the daemon calls it when the batch is
 * STORE_BATCH_WAIT_MS old (store_batch_due_ms), and the call manager right
 * after it recorded a call active, before it installs the call's keys; the
 * store commits it itself at STORE_BATCH_MAX records, before any other write
 * and at close. A process crash loses the
 * records not yet committed (at most STORE_BATCH_WAIT_MS of them); a power
 * cut can lose those committed since the last sync (the WAL is synced by the
 * next full-sync commit or checkpoint). Reads on the same handle see pending
 * records.
 */
#define STORE_BATCH_MAX          64u
#define STORE_BATCH_WAIT_MS      10
int store_batch_flush(struct store *st, char *err, size_t errlen);
/* Milliseconds until the open batch is due (0: now), -1 when none is open. */
int store_batch_due_ms(const struct store *st);

/* What a store handle has done, for tests and the daemon's status. */
struct store_stats {
	uint64_t prepares;        /* statements prepared (each is kept: this stops
				   * growing once every statement was used once) */
	uint64_t full_commits;    /* transactions committed with a full sync */
	uint64_t batches;         /* call-record batches committed */
	uint64_t records;         /* call-record writes committed in them */
	unsigned int pending;     /* call-record writes not yet committed */
	unsigned int cached;      /* statements in the cache */
	uint64_t cache_hits;      /* effective policies and peers read from the
				   * read cache (cache.c), not the database */
	bool wal;                 /* journal_mode is WAL */
};
void store_stats(const struct store *st, struct store_stats *out);

/* ---- users --------------------------------------------------------------- */
/* Adds the user with a fresh X25519 identity key pair and e2ee off. */
int store_user_add(struct store *st, const char *name, char *err, size_t errlen);
/*
 * Removes the user with their key, setting, memberships and user-level
 * assignment. Refused (-EBUSY) while a call of theirs is in setup or active;
 * finished call records stay (history).
 */
int store_user_del(struct store *st, const char *name, char *err, size_t errlen);
int store_user_show(struct store *st, const char *name, struct store_user *out,
		    char *err, size_t errlen);
int store_user_list(struct store *st, store_user_fn fn, void *arg, char *err, size_t errlen);
/* The groups the user belongs to, in name order. */
int store_user_groups(struct store *st, const char *name, store_name_fn fn, void *arg,
		      char *err, size_t errlen);
/*
 * The user's private identity key, for the daemon's key agreement only, and
 * (pub, may be NULL) its public key from the same row, so the key agreement
 * need not derive it. The caller keeps priv in locked memory and wipes it
 * (sodium_memzero) when done.
 */
int store_user_private_key(struct store *st, const char *name,
			   uint8_t priv[STORE_PRIVATE_KEY_BYTES],
			   uint8_t pub[STORE_PUBLIC_KEY_BYTES], char *err, size_t errlen)
	__attribute__((warn_unused_result));
/*
 * The user's own end-to-end setting. Turning it on is refused (-EPERM) when
 * their effective policy is disabled or compliance recording applies to them;
 * turning it off is always allowed.
 */
int store_user_set_e2ee(struct store *st, const char *name, bool on, char *err, size_t errlen);
/*
 * Compliance recording for the user (docs/policy.md rule 7). While on, their
 * intent is not allowed whatever the policy and own setting say (the own
 * setting is kept, without effect); off restores what those say.
 */
int store_user_set_compliance(struct store *st, const char *name, bool on, char *err,
			      size_t errlen);
/* The user's effective policy (user, then groups, then tenant) and intent. */
int store_user_effective_policy(struct store *st, const char *name,
				struct store_effective *out, char *err, size_t errlen);

/* ---- groups -------------------------------------------------------------- */
int store_group_add(struct store *st, const char *name, char *err, size_t errlen);
/* Removes the group with its memberships and its assignment (the users stay). */
int store_group_del(struct store *st, const char *name, char *err, size_t errlen);
int store_group_show(struct store *st, const char *name, struct store_group *out,
		     char *err, size_t errlen);
int store_group_list(struct store *st, store_group_fn fn, void *arg, char *err, size_t errlen);
int store_group_member_add(struct store *st, const char *group, const char *user,
			   char *err, size_t errlen);
int store_group_member_del(struct store *st, const char *group, const char *user,
			   char *err, size_t errlen);
int store_group_members(struct store *st, const char *group, store_name_fn fn, void *arg,
			char *err, size_t errlen);

/* ---- policies and assignments ------------------------------------------- */
int store_policy_add(struct store *st, const char *name, enum policy_setting e2ee,
		     char *err, size_t errlen);
/* Changes an existing policy's setting (its assignments stay). */
int store_policy_set(struct store *st, const char *name, enum policy_setting e2ee,
		     char *err, size_t errlen);
/* Refused (-EBUSY, naming the targets) while the policy is assigned anywhere. */
int store_policy_del(struct store *st, const char *name, char *err, size_t errlen);
int store_policy_show(struct store *st, const char *name, struct store_policy *out,
		      char *err, size_t errlen);
int store_policy_list(struct store *st, store_policy_fn fn, void *arg, char *err, size_t errlen);
/*
 * Assign policy to the tenant (name NULL or ""), a group or a user. A target
 * has at most one policy: assigning again replaces the previous one.
 */
int store_assign(struct store *st, enum store_target target, const char *name,
		 const char *policy, char *err, size_t errlen);
/* -ENOENT when the target has no assignment. */
int store_unassign(struct store *st, enum store_target target, const char *name,
		   char *err, size_t errlen);
/* The policy assigned to one target (-ENOENT when none). */
int store_assignment_get(struct store *st, enum store_target target, const char *name,
			 char policy[STORE_NAME_MAX + 1], char *err, size_t errlen);
/* All assignments: tenant first, then groups, then users, each by name. */
int store_assignment_list(struct store *st, store_assignment_fn fn, void *arg,
			  char *err, size_t errlen);

/* ---- peers --------------------------------------------------------------- */
/* The refusal of a peer that is already on record (store_peer_add, and
 * `peer add` before it asks for a key). */
#define STORE_PEER_EXISTS_FMT "peer '%s' already exists (peer set changes its address " \
	"or key; peer del removes it)"

/*
 * A remote party "user@tenant" reached at address (host:port). public_key may
 * be NULL: it is then learnt on first use (store_peer_learn_key). pinned needs
 * a key: it records that an administrator set or verified it.
 */
int store_peer_add(struct store *st, const char *id, const uint8_t *public_key,
		   const char *address, bool pinned, char *err, size_t errlen);
/*
 * Administrator update: a new address (NULL: keep), a new key (NULL: keep),
 * pinned. Replacing a key is allowed here and only here.
 */
int store_peer_set(struct store *st, const char *id, const uint8_t *public_key,
		   const char *address, bool pinned, char *err, size_t errlen);
/*
 * The daemon, after an authenticated handshake: record the key the peer
 * proved (trust on first use). 0 when it is recorded now or matches the one
 * on record; -EKEYREJECTED when it differs (pinned or not: only
 * store_peer_set replaces a key). -ENOENT for an unknown peer.
 */
int store_peer_learn_key(struct store *st, const char *id,
			 const uint8_t public_key[STORE_PUBLIC_KEY_BYTES], char *err, size_t errlen);
int store_peer_del(struct store *st, const char *id, char *err, size_t errlen);
int store_peer_show(struct store *st, const char *id, struct store_peer *out,
		    char *err, size_t errlen);
int store_peer_list(struct store *st, store_peer_fn fn, void *arg, char *err, size_t errlen);

/* ---- calls --------------------------------------------------------------- */
/*
 * Record a new call: id, local_user (must exist), remote (user@tenant), role,
 * and any of mode, reason, profile, security_code, media addresses already
 * known; state must be SETUP or ACTIVE. created is set by the store.
 */
int store_call_add(struct store *st, const struct store_call *c, char *err, size_t errlen);
/*
 * Update a call's mode, reason, profile, security code, media addresses and
 * state from c (matched by c->id; local_user, remote, role and created are
 * not changed). A final state (ENDED, FAILED) sets the end time; a call that
 * is already final is refused (-EALREADY).
 */
int store_call_update(struct store *st, const struct store_call *c, char *err, size_t errlen);
/*
 * A call record is one leg, keyed by (id, role) (schema version 2): a call
 * between two users of this daemon has both legs under one id. store_call_add
 * refuses a second record of the same leg (-EEXIST); store_call_update acts
 * on c->role's leg (0: the caller's leg if there is one). Functions that take
 * an id only: get reads the caller's leg first; end moves every live leg;
 * del forgets every leg (-EBUSY while one is live).
 */
/* Move one leg (role 0: every live leg) to ENDED or FAILED with a reason
 * (end_reason; the mode's reason stays). */
int store_call_end_leg(struct store *st, const char *id, enum store_call_role role,
		       enum store_call_state state, const char *reason, char *err, size_t errlen);
/* The same, with who ended it and the final counters (fin may be NULL). */
int store_call_finish_leg(struct store *st, const char *id, enum store_call_role role,
			  enum store_call_state state, const char *reason,
			  const struct store_call_final *fin, char *err, size_t errlen);
int store_call_get_leg(struct store *st, const char *id, enum store_call_role role,
		       struct store_call *out, char *err, size_t errlen);
/* Shorthand: move a call (every live leg) to ENDED or FAILED with a reason. */
int store_call_end(struct store *st, const char *id, enum store_call_state state,
		   const char *reason, char *err, size_t errlen);
int store_call_get(struct store *st, const char *id, struct store_call *out,
		   char *err, size_t errlen);
/* All calls, or only those in SETUP or ACTIVE. */
int store_call_list(struct store *st, bool live_only, store_call_fn fn, void *arg,
		    char *err, size_t errlen);
/* Forget a finished call (-EBUSY while it is live). */
int store_call_del(struct store *st, const char *id, char *err, size_t errlen);
/* Ended and failed legs, the latest ended first, at most max of them. */
int store_call_list_final(struct store *st, unsigned int max, store_call_fn fn, void *arg,
			  char *err, size_t errlen);
/*
 * The retention of the call history: forget at most max ended or failed legs
 * that ended at or before unix ms before_ms, the oldest first (one short
 * transaction on an index: bounded work, whatever the history holds). The
 * number forgotten, or -errno; *next_ms (if not NULL) gets when the oldest
 * final leg left ended (0: none left).
 */
int store_call_prune(struct store *st, int64_t before_ms, unsigned int max, int64_t *next_ms,
		     char *err, size_t errlen);

#endif /* CALLSEAL_STORE_H */

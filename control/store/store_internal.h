/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store_internal.h - what the store's files share and nothing outside
 * control/store/ may include: struct store, the statement and transaction
 * helpers, the per-kind record reader, and the name checks. The API is
 * store.h. These functions carry the store_ prefix only to keep them off
 * other modules' names at link time; they are not part of the API.
 *
 * Where each job lives:
 *   store.c         open/close, the state directory lock, statements,
 *                   transactions, the record reader
 *   schema.c        schema creation and version check
 *   validate.c      names, peer ids, addresses, call ids, enum names
 *   users.c groups.c policies.c peers.c call_records.c   one noun each
 *   cache.c         the call path's reads (effective policy, peer) kept
 *                   between admin changes
 */
#ifndef CALLSEAL_STORE_INTERNAL_H
#define CALLSEAL_STORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store.h"

#define STORE_STMT_SLOTS 128u   /* statements kept per handle (the store has ~90) */

/* A statement of the cache (store.c): prepared once, reused. */
struct store_stmt {
	const char *sql;         /* the constant it was prepared from */
	sqlite3_stmt *s;
	bool busy;               /* handed out by store_qprep, not yet released */
};

/* The read cache (cache.c): what a call set-up reads, kept between admin
 * changes. A slot is valid while its gen is the handle's (store_begin bumps
 * it). */
#define STORE_CACHE_SLOTS 64u

enum store_cache_kind {
	STORE_CACHE_EFFECTIVE = 1,   /* a user's effective policy, by user name */
	STORE_CACHE_PEER,            /* a peer's record, by user@tenant */
};

struct store_cache_slot {
	uint64_t gen;                /* 0: never filled (st->gen starts at 1) */
	enum store_cache_kind kind;
	char key[STORE_PEER_MAX + 1];
	union {
		struct store_effective eff;
		struct store_peer peer;
	} v;
};

/* Copies the value of (kind, key) to out (a struct store_effective or
 * store_peer) if it was kept since the last change: true, else false. */
bool store_cache_get(struct store *st, enum store_cache_kind kind, const char *key, void *out);
/* Keeps v (read just now, successfully) for (kind, key). */
void store_cache_put(struct store *st, enum store_cache_kind kind, const char *key,
		     const void *v);

/* What the open transaction is (store_begin*, store_finish). */
enum store_txn {
	STORE_TXN_NONE,
	STORE_TXN_FULL,          /* BEGIN IMMEDIATE, committed with a full sync */
	STORE_TXN_READ,          /* BEGIN (deferred), a read snapshot */
	STORE_TXN_SAVEPOINT,     /* a read inside the open batch */
	STORE_TXN_RECORD,        /* one call-record write inside the open batch */
};

struct store {
	sqlite3 *db;
	int lock_fd;
	char tenant[STORE_NAME_MAX + 1];
	bool wal;                /* journal_mode is WAL */
	bool sync_full;          /* PRAGMA synchronous is FULL now (else NORMAL) */
	enum store_txn txn;
	/* the call-record batch (docs/operations.md "Durability"): one open
	 * BEGIN IMMEDIATE that call-record writes join as savepoints, committed
	 * without a sync by store_batch_flush, before any other write
	 * transaction, at STORE_BATCH_MAX records and at close */
	bool batch_open;
	unsigned int batch_n;    /* records in the open batch */
	int64_t batch_opened_ms; /* CLOCK_MONOTONIC, when it was opened */
	struct store_stmt stmts[STORE_STMT_SLOTS];
	size_t n_stmts;
	struct store_stats stats;   /* prepares, commits, batches (store_stats) */
	uint64_t gen;            /* bumped by every store_begin (an admin change) */
	struct store_cache_slot cache[STORE_CACHE_SLOTS];   /* cache.c */
};

/* ---- messages (store.c) --------------------------------------------------- */

/* Append to a message already in err (for lists of names). */
void store_adderr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "database error (what): <sqlite's message>"; -EBUSY or -EIO. */
int store_dberr(struct store *st, int rc, const char *what, char *err, size_t errlen);

/* ---- statements and transactions (store.c) -------------------------------- */

/*
 * fmt binds ?1.. in order: 's' text (NULL binds NULL), 'i' int64_t, 'k' a
 * 32-byte key (NULL binds NULL). sql must be a string constant: its
 * statement is prepared once per store handle and kept (store.c, "the
 * statement cache"), reset and unbound after each use.
 */
/* Prepare (or take from the cache) and bind a query; the caller steps it and
 * hands it back with store_release. */
int store_qprep(struct store *st, sqlite3_stmt **out, char *err, size_t errlen,
		const char *sql, const char *fmt, ...);
/* Done with a statement from store_qprep: reset and unbound for the next
 * use (or finalized, if it was not cached). NULL is ignored. */
void store_release(struct store *st, sqlite3_stmt *s);
/* Run a statement to completion: the number of rows changed, or -errno. */
int store_run(struct store *st, char *err, size_t errlen, const char *sql, const char *fmt, ...);
/* A query whose first column of the first row is an integer (0 when no row). */
int64_t store_qint(struct store *st, char *err, size_t errlen, const char *sql,
		   const char *fmt, ...);
/* 1 when a row of the count(*) query sql (bound to arg) exists, 0 when not, -errno. */
int store_exists(struct store *st, const char *sql, const char *arg, char *err, size_t errlen);
/* Column i as text into dst (cap bytes, always terminated; NULL reads ""). */
void store_col_text(sqlite3_stmt *s, int i, char *dst, size_t cap);
/* BEGIN IMMEDIATE for a change that must survive a power cut (admin
 * changes, learnt peer keys): commits the open call-record batch first, and
 * store_finish commits it with synchronous=FULL. */
int store_begin(struct store *st, char *err, size_t errlen);
/* A call-record write: joins the open batch (opening it, synchronous=NORMAL)
 * as a savepoint; store_finish releases or rolls back only that savepoint. */
int store_begin_record(struct store *st, char *err, size_t errlen);
/* A read snapshot over several queries (a savepoint when a batch is open). */
int store_begin_read(struct store *st, char *err, size_t errlen);
/* Commit (or release) when rc >= 0, else roll back what store_begin* began;
 * 0, or rc (or the commit's error). */
int store_finish(struct store *st, int rc, char *err, size_t errlen);
/* Copy the WAL into the database and empty it (a deleted secret's older
 * copies in the WAL go): 0 or -errno. Nothing to do without WAL. */
int store_wal_truncate(struct store *st, char *err, size_t errlen);
int64_t store_now(void);
int64_t store_now_ms(void);   /* unix milliseconds */

/* ---- reading records (store.c) ------------------------------------------- */

/*
 * How the show/get and list functions read one kind of record: decode one
 * row (0, or -EIO when a stored value is damaged), and the record's name for
 * messages. Typed callbacks go through union rec_fn, called by kind.
 */
enum rec_type { REC_USER, REC_GROUP, REC_POLICY, REC_PEER, REC_CALL };

union rec_fn {
	store_user_fn user;
	store_group_fn group;
	store_policy_fn policy;
	store_peer_fn peer;
	store_call_fn call;
};

struct rec_kind {
	enum rec_type type;
	const char *what;               /* "user": "user 'x': <damaged>", "no user 'x'" */
	const char *damaged;            /* "stored key is damaged" */
	const char *by_key;             /* the row query, WHERE key = ?1 */
	const char *all;                /* the row query, every row in list order */
	bool in_tenant;                 /* "no user 'x' in tenant 't'" */
	int (*decode)(sqlite3_stmt *s, void *rec);
	size_t name_off;                /* offsetof the record's name or id */
};

/* The record keyed key, for the show functions and any that need it to
 * exist: 0, or -ENOENT "no user 'x'" or -errno (message set). */
int store_show_rec(struct store *st, const struct rec_kind *k, const char *key, void *rec,
		   char *err, size_t errlen);
/* Every row of a prepared query, decoded into rec and handed to fn: 0, fn's
 * non-zero return, or -errno (message set). Releases s. */
int store_list_recs(struct store *st, sqlite3_stmt *s, const struct rec_kind *k, void *rec,
		    union rec_fn fn, void *arg, char *err, size_t errlen);
/* store_list_recs over every record of the kind. */
int store_list_all(struct store *st, const struct rec_kind *k, void *rec, union rec_fn fn,
		   void *arg, char *err, size_t errlen);
/* Walk a one-column text query bound to key, calling fn per row. */
int store_walk_names(struct store *st, store_name_fn fn, void *arg, const char *sql,
		     const char *key, char *err, size_t errlen);

/* ---- the schema (schema.c) ----------------------------------------------- */

/* Inside open: create (when create and the database is empty) or check the
 * schema, and read the tenant into st->tenant (refused when not tenant). */
int store_schema_init(struct store *st, const char *tenant, bool create,
		      char *err, size_t errlen);

/* ---- checks (validate.c, users.c, groups.c) ------------------------------- */

/* Says what is wrong with a name without echoing it (it may hold anything). */
int store_check_name(const char *what, const char *s, char *err, size_t errlen);
/* store_check_name, and the first-character rule of names added from now on. */
int store_check_new_name(const char *what, const char *s, char *err, size_t errlen);
int store_check_call_id(const char *s, char *err, size_t errlen);
/* A valid name of an existing user or group: 0, -EINVAL, -ENOENT or -errno. */
int store_need_user(struct store *st, const char *name, char *err, size_t errlen);
int store_need_group(struct store *st, const char *name, char *err, size_t errlen);

#endif /* CALLSEAL_STORE_INTERNAL_H */

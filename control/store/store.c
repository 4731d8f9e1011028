/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store.c - callseal-control's persistent state on embedded SQLite (see
 * store.h and docs/policy.md): opening and closing a store (the state
 * directory's ownership and modes, its lock file), and what every other file
 * of the store runs on: statements, transactions and the per-kind record
 * reader (store_internal.h). Each noun has its own file.
 *
 * Every statement is a string constant in the store's files, prepared and
 * bound with sqlite3_bind_*; no SQL is ever built from input. Every write runs
 * inside BEGIN IMMEDIATE ... COMMIT, and any failure rolls the whole of it
 * back.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "errbuf.h"
#include "store.h"
#include "store_internal.h"

_Static_assert(STORE_PUBLIC_KEY_BYTES == crypto_box_PUBLICKEYBYTES, "X25519 public key");
_Static_assert(STORE_PRIVATE_KEY_BYTES == crypto_box_SECRETKEYBYTES, "X25519 private key");
_Static_assert(STORE_PUBLIC_KEY_BYTES == crypto_scalarmult_BYTES, "X25519 point");

#define BUSY_TIMEOUT_MS 5000

/* ---- messages ------------------------------------------------------------- */

void store_adderr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!err || errlen == 0)
		return;
	n = strnlen(err, errlen);
	if (n + 1 >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
}

int store_dberr(struct store *st, int rc, const char *what, char *err, size_t errlen)
{
	errbuf_set(err, errlen, "database error (%s): %s", what, sqlite3_errmsg(st->db));
	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		return -EBUSY;
	return -EIO;
}

/* ---- statements ----------------------------------------------------------- */

/*
 * Bind parameters ?1.. from fmt: 's' text (NULL binds NULL), 'i' int64_t,
 * 'k' a 32-byte key (NULL binds NULL). Bound SQLITE_STATIC: the caller's
 * buffers outlive the statement, and key bytes are not copied by the binding.
 */
static int bindv(struct store *st, sqlite3_stmt *s, const char *fmt, va_list ap,
		 char *err, size_t errlen)
{
	int i, rc = SQLITE_OK;

	for (i = 1; fmt && *fmt && rc == SQLITE_OK; fmt++, i++) {
		switch (*fmt) {
		case 's': {
			const char *v = va_arg(ap, const char *);

			rc = v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC)
			       : sqlite3_bind_null(s, i);
			break;
		}
		case 'i':
			rc = sqlite3_bind_int64(s, i, (sqlite3_int64)va_arg(ap, int64_t));
			break;
		case 'k': {
			const uint8_t *v = va_arg(ap, const uint8_t *);

			rc = v ? sqlite3_bind_blob(s, i, v, STORE_PUBLIC_KEY_BYTES, SQLITE_STATIC)
			       : sqlite3_bind_null(s, i);
			break;
		}
		default:
			rc = SQLITE_MISUSE;
		}
	}
	return rc == SQLITE_OK ? 0 : store_dberr(st, rc, "bind", err, errlen);
}

/*
 * The statement cache: every statement is prepared once per store handle and
 * kept (SQLITE_PREPARE_PERSISTENT), found again by the address of its SQL
 * constant (and its text, in case two constants share an address), reset and
 * unbound when released. A statement still in use (a query walked while a
 * callback runs the same query) gets a fresh one, finalized at release. The
 * cache is full at STORE_STMT_SLOTS: further statements are prepared and
 * finalized each time, as before.
 */
static struct store_stmt *stmt_slot(struct store *st, const char *sql)
{
	struct store_stmt *free_slot = NULL;
	size_t i;

	for (i = 0; i < st->n_stmts; i++) {
		struct store_stmt *c = &st->stmts[i];

		if (c->sql == sql && strcmp(sqlite3_sql(c->s), sql) == 0)
			return c;
	}
	if (st->n_stmts < STORE_STMT_SLOTS)
		free_slot = &st->stmts[st->n_stmts];
	return free_slot;
}

static int qprepv(struct store *st, sqlite3_stmt **out, char *err, size_t errlen,
		  const char *sql, const char *fmt, va_list ap)
{
	struct store_stmt *c = stmt_slot(st, sql);
	int rc;

	if (c && c->s && !c->busy) {
		*out = c->s;
	} else {
		bool keep = c && !c->s;

		rc = sqlite3_prepare_v3(st->db, sql, -1, keep ? SQLITE_PREPARE_PERSISTENT : 0,
					out, NULL);
		st->stats.prepares++;
		if (rc != SQLITE_OK) {
			*out = NULL;
			return store_dberr(st, rc, "prepare", err, errlen);
		}
		if (keep) {
			c->sql = sql;
			c->s = *out;
			st->n_stmts++;
		} else {
			c = NULL;
		}
	}
	if (c)
		c->busy = true;
	rc = bindv(st, *out, fmt, ap, err, errlen);
	if (rc < 0) {
		store_release(st, *out);
		*out = NULL;
	}
	return rc;
}

void store_release(struct store *st, sqlite3_stmt *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < st->n_stmts; i++)
		if (st->stmts[i].s == s) {
			sqlite3_reset(s);
			sqlite3_clear_bindings(s);
			st->stmts[i].busy = false;
			return;
		}
	sqlite3_finalize(s);
}

/* Prepare (or take from the cache) and bind a query; the caller steps and
 * releases it (store_release). */
int store_qprep(struct store *st, sqlite3_stmt **out, char *err, size_t errlen,
		const char *sql, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = qprepv(st, out, err, errlen, sql, fmt, ap);
	va_end(ap);
	return rc;
}

/* Run a statement to completion: the number of rows changed, or -errno. */
int store_run(struct store *st, char *err, size_t errlen, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = qprepv(st, &s, err, errlen, sql, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return rc;
	do
		rc = sqlite3_step(s);
	while (rc == SQLITE_ROW);
	rc = rc == SQLITE_DONE ? sqlite3_changes(st->db) : store_dberr(st, rc, "step", err, errlen);
	store_release(st, s);
	return rc;
}

/* A query whose first column of the first row is an integer (0 when no row). */
int64_t store_qint(struct store *st, char *err, size_t errlen, const char *sql,
		   const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int64_t v = 0;
	int rc;

	va_start(ap, fmt);
	rc = qprepv(st, &s, err, errlen, sql, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE)
		v = store_dberr(st, rc, "step", err, errlen);
	store_release(st, s);
	return v;
}

void store_col_text(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	size_t n = t ? strnlen((const char *)t, cap - 1) : 0;

	if (n)
		memcpy(dst, t, n);
	dst[n] = '\0';
}

/* PRAGMA synchronous, set only when it changes (outside any transaction). */
static int set_sync(struct store *st, bool full, char *err, size_t errlen)
{
	int rc;

	if (st->sync_full == full)
		return 0;
	rc = store_run(st, err, errlen, full ? "PRAGMA synchronous = FULL" :
		       "PRAGMA synchronous = NORMAL", "");
	if (rc >= 0)
		st->sync_full = full;
	return rc < 0 ? rc : 0;
}

int store_batch_flush(struct store *st, char *err, size_t errlen)
{
	int rc;

	if (!st || !st->batch_open)
		return 0;
	rc = store_run(st, err, errlen, "COMMIT", "");
	if (rc < 0 && !sqlite3_get_autocommit(st->db))
		(void)store_run(st, NULL, 0, "ROLLBACK", "");
	if (rc >= 0) {
		st->stats.batches++;
		st->stats.records += st->batch_n;
	}
	st->batch_open = false;
	st->batch_n = 0;
	return rc < 0 ? rc : 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int store_batch_due_ms(const struct store *st)
{
	int64_t left;

	if (!st || !st->batch_open)
		return -1;
	left = st->batch_opened_ms + STORE_BATCH_WAIT_MS - mono_ms();
	return left > 0 ? (int)left : 0;
}

int store_begin(struct store *st, char *err, size_t errlen)
{
	int rc;

	/* what the read cache holds may change now (cache.c) */
	st->gen++;
	if ((rc = store_batch_flush(st, err, errlen)) < 0 ||
	    (rc = set_sync(st, true, err, errlen)) < 0 ||
	    (rc = store_run(st, err, errlen, "BEGIN IMMEDIATE", "")) < 0)
		return rc;
	st->txn = STORE_TXN_FULL;
	return 0;
}

int store_begin_record(struct store *st, char *err, size_t errlen)
{
	int rc;

	if (!st->batch_open) {
		if ((rc = set_sync(st, false, err, errlen)) < 0 ||
		    (rc = store_run(st, err, errlen, "BEGIN IMMEDIATE", "")) < 0)
			return rc;
		st->batch_open = true;
		st->batch_opened_ms = mono_ms();
	}
	if ((rc = store_run(st, err, errlen, "SAVEPOINT rec", "")) < 0)
		return rc;
	st->txn = STORE_TXN_RECORD;
	return 0;
}

int store_begin_read(struct store *st, char *err, size_t errlen)
{
	int rc = store_run(st, err, errlen, st->batch_open ? "SAVEPOINT rec" : "BEGIN", "");

	if (rc < 0)
		return rc;
	st->txn = st->batch_open ? STORE_TXN_SAVEPOINT : STORE_TXN_READ;
	return 0;
}

int store_finish(struct store *st, int rc, char *err, size_t errlen)
{
	enum store_txn txn = st->txn;

	st->txn = STORE_TXN_NONE;
	if (txn == STORE_TXN_RECORD || txn == STORE_TXN_SAVEPOINT) {
		/* only this write's (or read's) savepoint: the batch stays */
		int r;

		if (rc < 0)
			(void)store_run(st, NULL, 0, "ROLLBACK TO rec", "");
		r = store_run(st, rc < 0 ? NULL : err, errlen, "RELEASE rec", "");
		if (rc >= 0 && r < 0)
			rc = r;
		if (rc >= 0 && txn == STORE_TXN_RECORD && ++st->batch_n >= STORE_BATCH_MAX)
			rc = store_batch_flush(st, err, errlen);
		return rc < 0 ? rc : 0;
	}
	if (rc >= 0) {
		int c = store_run(st, err, errlen, "COMMIT", "");

		if (c >= 0) {
			if (txn == STORE_TXN_FULL)
				st->stats.full_commits++;
			return 0;
		}
		rc = c;
	}
	if (!sqlite3_get_autocommit(st->db))
		(void)store_run(st, NULL, 0, "ROLLBACK", "");
	return rc;
}

int store_wal_truncate(struct store *st, char *err, size_t errlen)
{
	int64_t busy;

	if (!st->wal)
		return 0;
	if ((busy = store_qint(st, err, errlen, "PRAGMA wal_checkpoint(TRUNCATE)", "")) < 0)
		return (int)busy;
	if (busy) {
		errbuf_set(err, errlen, "database busy: the WAL was not emptied");
		return -EBUSY;
	}
	return 0;
}

void store_stats(const struct store *st, struct store_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!st)
		return;
	*out = st->stats;
	out->pending = st->batch_n;
	out->cached = (unsigned int)st->n_stmts;
	out->wal = st->wal;
}

int64_t store_now(void)
{
	return (int64_t)time(NULL);
}

int64_t store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 when a row exists, 0 when not, -errno. */
int store_exists(struct store *st, const char *sql, const char *arg, char *err, size_t errlen)
{
	int64_t v = store_qint(st, err, errlen, sql, "s", arg);

	return v < 0 ? (int)v : v > 0;
}

/* ---- reading records -------------------------------------------------------- */

/* The first row of a prepared query into rec: 1 found, 0 none, or -errno
 * (message set). Releases s. */
static int get_rec(struct store *st, sqlite3_stmt *s, const struct rec_kind *k,
		   const char *key, void *rec, char *err, size_t errlen)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW) {
		rc = k->decode(s, rec) < 0 ? -EIO : 1;
		if (rc < 0)
			errbuf_set(err, errlen, "%s '%s': %s", k->what, key, k->damaged);
	} else {
		rc = rc == SQLITE_DONE ? 0 : store_dberr(st, rc, k->what, err, errlen);
	}
	store_release(st, s);
	return rc;
}

/* The record keyed key: 1 found, 0 none, or -errno (message set). */
static int find_rec(struct store *st, const struct rec_kind *k, const char *key, void *rec,
		    char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = store_qprep(st, &s, err, errlen, k->by_key, "s", key)) < 0)
		return rc;
	return get_rec(st, s, k, key, rec, err, errlen);
}

/* The same, for the show functions and any that need the record to exist:
 * 0, or -ENOENT "no user 'x'" or -errno. */
int store_show_rec(struct store *st, const struct rec_kind *k, const char *key, void *rec,
		   char *err, size_t errlen)
{
	int rc = find_rec(st, k, key, rec, err, errlen);

	if (rc == 0) {
		errbuf_set(err, errlen, "no %s '%s'", k->what, key);
		if (k->in_tenant)
			store_adderr(err, errlen, " in tenant '%s'", st->tenant);
		rc = -ENOENT;
	}
	return rc < 0 ? rc : 0;
}

static int visit_rec(const struct rec_kind *k, union rec_fn fn, const void *rec, void *arg)
{
	switch (k->type) {
	case REC_USER:   return fn.user(rec, arg);
	case REC_GROUP:  return fn.group(rec, arg);
	case REC_POLICY: return fn.policy(rec, arg);
	case REC_PEER:   return fn.peer(rec, arg);
	case REC_CALL:   return fn.call(rec, arg);
	}
	return -EINVAL;
}

/* Every row of a prepared query, decoded into rec and handed to fn: 0, fn's
 * non-zero return, or -errno (message set). Releases s. */
int store_list_recs(struct store *st, sqlite3_stmt *s, const struct rec_kind *k, void *rec,
		    union rec_fn fn, void *arg, char *err, size_t errlen)
{
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (k->decode(s, rec) < 0) {
			errbuf_set(err, errlen, "%s '%s': %s", k->what,
			       (const char *)rec + k->name_off, k->damaged);
			rc = -EIO;
			goto out;
		}
		if ((rc = visit_rec(k, fn, rec, arg)) != 0)
			goto out;
	}
	rc = rc == SQLITE_DONE ? 0 : store_dberr(st, rc, k->what, err, errlen);
out:
	store_release(st, s);
	return rc;
}

/* list_recs over every record of the kind. */
int store_list_all(struct store *st, const struct rec_kind *k, void *rec, union rec_fn fn,
		   void *arg, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = store_qprep(st, &s, err, errlen, k->all, "")) < 0)
		return rc;
	return store_list_recs(st, s, k, rec, fn, arg, err, errlen);
}

/* Walk a one-column text query, calling fn per row. */
int store_walk_names(struct store *st, store_name_fn fn, void *arg, const char *sql,
		     const char *key, char *err, size_t errlen)
{
	char name[STORE_NAME_MAX + 1];
	sqlite3_stmt *s;
	int rc;

	if ((rc = store_qprep(st, &s, err, errlen, sql, "s", key)) < 0)
		return rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_col_text(s, 0, name, sizeof(name));
		if ((rc = fn(name, arg)) != 0)
			goto out;
	}
	rc = rc == SQLITE_DONE ? 0 : store_dberr(st, rc, "list", err, errlen);
out:
	store_release(st, s);
	return rc;
}

/* ---- open / close --------------------------------------------------------- */

static int check_owner_mode(const struct stat *sb, const char *what, const char *path,
			    char *err, size_t errlen)
{
	if (sb->st_uid != geteuid()) {
		errbuf_set(err, errlen, "%s %s is owned by uid %u, not by this process's uid %u: "
		       "refusing to use it", what, path, (unsigned int)sb->st_uid,
		       (unsigned int)geteuid());
		return -EPERM;
	}
	if (sb->st_mode & 077) {
		errbuf_set(err, errlen, "%s %s is open to group/other (mode %04o): chmod %s %s",
		       what, path, (unsigned int)(sb->st_mode & 07777),
		       S_ISDIR(sb->st_mode) ? "700" : "600", path);
		return -EPERM;
	}
	return 0;
}

/* The pid the lock file's holder wrote, or 0 (none yet, or not a pid). */
static long lock_holder(int fd)
{
	char buf[24];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	char *end;
	long pid;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	return errno == 0 && end != buf && *end == '\n' && pid > 0 ? pid : 0;
}

/*
 * WAL (https://sqlite.org/wal.html): a commit appends to callseal.db-wal (one
 * sequential write; synced only when synchronous=FULL), readers never block
 * the writer. The file system must support it (shared memory for the -shm
 * index); where it does not, SQLite keeps the rollback journal and the store
 * works as before, slower (st->wal false, store_stats says so).
 */
static int journal_wal(struct store *st, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = store_qprep(st, &s, err, errlen, "PRAGMA journal_mode = WAL", "")) < 0)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const unsigned char *m = sqlite3_column_text(s, 0);

		st->wal = m && strcmp((const char *)m, "wal") == 0;
		rc = 0;
	} else {
		rc = store_dberr(st, rc, "journal mode", err, errlen);
	}
	store_release(st, s);
	return rc;
}

int store_open(const char *state_dir, const char *tenant, unsigned int flags,
	       struct store **out, char *err, size_t errlen)
{
	bool create = flags & STORE_OPEN_CREATE;
	char path[PATH_MAX];
	struct store *st = NULL;
	struct stat sb;
	int dfd = -1, fd = -1, rc;

	if (out)
		*out = NULL;
	if (!out || !state_dir || !*state_dir || (flags & ~STORE_OPEN_CREATE)) {
		errbuf_set(err, errlen, "store: no state directory given");
		return -EINVAL;
	}
	if (tenant && (rc = store_check_name("tenant", tenant, err, errlen)) < 0)
		return rc;
	if (create && !tenant) {
		errbuf_set(err, errlen, "store: creating a store needs a tenant name");
		return -EINVAL;
	}
	if (snprintf(path, sizeof(path), "%s/%s", state_dir, STORE_DB_NAME) >= (int)sizeof(path)) {
		errbuf_set(err, errlen, "store: state directory path too long");
		return -ENAMETOOLONG;
	}
	if (sodium_init() < 0) {
		errbuf_set(err, errlen, "store: libsodium failed to initialise");
		return -EIO;
	}

	/* The state directory: ours, 0700. */
	if (create && mkdir(state_dir, 0700) < 0 && errno != EEXIST) {
		rc = -errno;
		errbuf_set(err, errlen, "cannot create state directory %s: %s", state_dir,
		       strerror(errno));
		return rc;
	}
	dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		rc = -errno;
		errbuf_set(err, errlen, "cannot open state directory %s: %s%s", state_dir,
		       strerror(errno), errno == ENOENT ? " (create the store first)" : "");
		return rc;
	}
	if (fstat(dfd, &sb) < 0) {
		rc = -errno;
		errbuf_set(err, errlen, "cannot stat state directory %s: %s", state_dir, strerror(errno));
		goto fail;
	}
	if ((rc = check_owner_mode(&sb, "state directory", state_dir, err, errlen)) < 0)
		goto fail;

	st = calloc(1, sizeof(*st));
	if (!st) {
		rc = -ENOMEM;
		errbuf_set(err, errlen, "store: out of memory");
		goto fail;
	}
	st->gen = 1;             /* no cache slot (gen 0) is valid yet (cache.c) */
	st->lock_fd = -1;

	/* One daemon per store. */
	st->lock_fd = openat(dfd, STORE_LOCK_NAME, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (st->lock_fd < 0) {
		rc = -errno;
		errbuf_set(err, errlen, "cannot open %s/%s: %s", state_dir, STORE_LOCK_NAME,
		       strerror(errno));
		goto fail;
	}
	if (flock(st->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		long holder;

		if (errno != EWOULDBLOCK) {
			rc = -errno;
			errbuf_set(err, errlen, "cannot lock %s/%s: %s", state_dir,
				   STORE_LOCK_NAME, strerror(errno));
			goto fail;
		}
		rc = -EBUSY;
		holder = lock_holder(st->lock_fd);
		if (holder > 0)
			errbuf_set(err, errlen, "in use by pid %ld", holder);
		else
			errbuf_set(err, errlen, "in use by another process");
		goto fail;
	}
	/* the holder's pid, for the next one's message */
	if (ftruncate(st->lock_fd, 0) == 0) {
		char pid[24];
		int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());

		(void)!pwrite(st->lock_fd, pid, (size_t)n, 0);
	}

	/* The database file: ours, 0600, a regular file, not a symbolic link. */
	fd = openat(dfd, STORE_DB_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create)
		fd = openat(dfd, STORE_DB_NAME, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0600);
	if (fd < 0) {
		rc = -errno;
		errbuf_set(err, errlen, "cannot open %s: %s%s", path, strerror(errno),
		       errno == ENOENT ? " (create the store first)" :
		       errno == ELOOP ? " (a symbolic link)" : "");
		goto fail;
	}
	if (fstat(fd, &sb) < 0) {
		rc = -errno;
		errbuf_set(err, errlen, "cannot stat %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = -EPERM;
		errbuf_set(err, errlen, "%s is not a regular file", path);
		goto fail;
	}
	if ((rc = check_owner_mode(&sb, "database", path, err, errlen)) < 0)
		goto fail;
	/*
	 * Closed before SQLite opens the file: closing any descriptor of a file
	 * drops the process's POSIX locks on it, SQLite's included.
	 */
	close(fd);
	fd = -1;

	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		errbuf_set(err, errlen, "cannot open database %s: %s", path,
		       st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		rc = -EIO;
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	/* Deleted rows (a removed user's private key) are overwritten in the file. */
	if ((rc = store_run(st, err, errlen, "PRAGMA secure_delete = ON", "")) < 0 ||
	    (rc = store_run(st, err, errlen, "PRAGMA foreign_keys = ON", "")) < 0 ||
	    (rc = store_run(st, err, errlen, "PRAGMA trusted_schema = OFF", "")) < 0 ||
	    /* the lock file already keeps every other process off the store:
	     * no POSIX lock calls per transaction, and WAL's index on the heap
	     * (no -shm file); set before WAL is first used */
	    (rc = store_run(st, err, errlen, "PRAGMA locking_mode = EXCLUSIVE", "")) < 0 ||
	    (rc = journal_wal(st, err, errlen)) < 0 ||
	    (rc = store_run(st, err, errlen, "PRAGMA synchronous = FULL", "")) < 0)
		goto fail;
	st->sync_full = true;
	if ((rc = store_schema_init(st, tenant, create, err, errlen)) < 0)
		goto fail;

	close(dfd);
	*out = st;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	store_close(st);
	return rc;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	(void)store_batch_flush(st, NULL, 0);
	for (size_t i = 0; i < st->n_stmts; i++)
		sqlite3_finalize(st->stmts[i].s);
	if (st->db)
		sqlite3_close_v2(st->db);
	if (st->lock_fd >= 0)
		close(st->lock_fd);   /* drops the flock */
	free(st);
}

const char *store_tenant(const struct store *st)
{
	return st ? st->tenant : NULL;
}


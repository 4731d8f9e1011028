/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The store's statement cache, WAL, and the durability rule (store.h
 * "Durability", docs/operations.md "Durability of the store"): admin changes
 * committed with a full sync before they return, call records batched and
 * committed by store_batch_flush, at STORE_BATCH_MAX, before another write
 * and at close; a process that dies loses only records not yet flushed.
 */
#include <sys/wait.h>
#include <time.h>

#include "test_store.h"

static char err[STORE_ERR_MAX];

static struct store_stats stats(struct fixture *f)
{
	struct store_stats s;

	store_stats(f->st, &s);
	return s;
}

static int count_call(const struct store_call *c, void *arg)
{
	(void)c;
	(*(int *)arg)++;
	return 0;
}

static int calls_stored(struct fixture *f)
{
	int n = 0;

	assert_int_equal(store_call_list(f->st, false, count_call, &n, err, sizeof(err)), 0);
	return n;
}

struct nested {
	struct fixture *f;
	int outer, inner;
};

static int walk_again(const struct store_call *c, void *arg)
{
	struct nested *n = arg;

	(void)c;
	n->outer++;
	return store_call_list(n->f->st, false, count_call, &n->inner, err, sizeof(err));
}

/* What the call path does per call and side: the caller's policy, key and
 * peer read, the record added, made active, ended. */
static void one_call(struct fixture *f, unsigned int i)
{
	uint8_t priv[STORE_PRIVATE_KEY_BYTES];
	struct store_effective eff;
	struct store_peer peer;
	struct store_call c;
	char id[STORE_CALL_ID_MAX + 1];

	snprintf(id, sizeof(id), "c%u", i);
	make_call(&c, id, "alice");
	assert_int_equal(store_user_effective_policy(f->st, "alice", &eff, err, sizeof(err)), 0);
	assert_int_equal(store_user_private_key(f->st, "alice", priv, NULL, err, sizeof(err)), 0);
	sodium_memzero(priv, sizeof(priv));
	assert_int_equal(store_peer_show(f->st, "bob@fabrikam", &peer, err, sizeof(err)), 0);
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), 0);
	c.state = STORE_CALL_ACTIVE;
	c.mode = STORE_MODE_E2EE;
	snprintf(c.profile, sizeof(c.profile), "AEAD_AES_128_GCM");
	snprintf(c.security_code, sizeof(c.security_code), "01234567890123456789");
	assert_int_equal(store_call_update(f->st, &c, err, sizeof(err)), 0);
	assert_int_equal(store_call_end(f->st, id, STORE_CALL_ENDED, "done", err, sizeof(err)),
			 0);
	assert_int_equal(store_batch_flush(f->st, err, sizeof(err)), 0);
}

static void directory(struct fixture *f)
{
	add_user(f, "alice");
	add_policy(f, "open", POLICY_E2EE_USERS_CAN_TURN_ON);
	assign(f, STORE_TARGET_TENANT, NULL, "open");
	assert_int_equal(store_peer_add(f->st, "bob@fabrikam", NULL, "192.0.2.9:5060", false,
					err, sizeof(err)), 0);
}

/* Each statement is prepared once per handle: the count of prepares stops
 * growing after the first call, however many calls follow. */
void test_statements_prepared_once(void **state)
{
	struct fixture *f = *state;
	uint64_t after_one;
	unsigned int i;

	directory(f);
	one_call(f, 0);
	after_one = stats(f).prepares;
	assert_true(after_one > 0);
	assert_true(stats(f).cached > 0);
	for (i = 1; i <= 50; i++)
		one_call(f, i);
	assert_int_equal(stats(f).prepares, after_one);
	/* a walk whose callback runs the same query gets its own statement:
	 * the outer walk still sees every row (its statement is not reset) */
	{
		struct nested n = { .f = f };

		assert_int_equal(store_call_list(f->st, false, walk_again, &n, err,
						 sizeof(err)), 0);
		assert_int_equal(n.outer, 51);
		assert_int_equal(n.inner, 51 * 51);
	}
}

/* WAL, persistent in the file; no -shm file (exclusive locking). */
void test_wal_mode(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];
	struct stat sb;
	sqlite3_stmt *q;
	sqlite3 *db;

	assert_true(stats(f).wal);
	add_user(f, "alice");
	snprintf(path, sizeof(path), "%s/%s-shm", f->dir, STORE_DB_NAME);
	assert_int_equal(stat(path, &sb), -1);
	snprintf(path, sizeof(path), "%s/%s-wal", f->dir, STORE_DB_NAME);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 077, 0);
	store_close(f->st);
	f->st = NULL;
	snprintf(path, sizeof(path), "%s/%s", f->dir, STORE_DB_NAME);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
	sqlite3_finalize(q);
	sqlite3_close(db);
	reopen(f, TENANT);
	assert_true(stats(f).wal);
}

/* Admin changes commit with a full sync, each before it returns; call
 * records do not (they are batched). */
void test_admin_change_synced(void **state)
{
	struct fixture *f = *state;
	struct store_call c;
	uint64_t full;

	full = stats(f).full_commits;
	add_user(f, "alice");
	assert_int_equal(stats(f).full_commits, full + 1);
	add_policy(f, "open", POLICY_E2EE_USERS_CAN_TURN_ON);
	assert_int_equal(stats(f).full_commits, full + 2);
	make_call(&c, "c1", "alice");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), 0);
	assert_int_equal(stats(f).full_commits, full + 2);
	assert_int_equal(stats(f).pending, 1);
	/* a refused admin change commits nothing and changes nothing */
	assert_int_equal(store_user_add(f->st, "alice", err, sizeof(err)), -EEXIST);
	assert_int_equal(stats(f).full_commits, full + 2);
}

/* A batch is committed at store_batch_flush, before an admin change, at
 * STORE_BATCH_MAX records and at close; the handle reads its pending records. */
void test_batch_flushed(void **state)
{
	struct fixture *f = *state;
	struct store_call c;
	struct store_stats s;
	char id[STORE_CALL_ID_MAX + 1];
	unsigned int i;

	add_user(f, "alice");
	make_call(&c, "c1", "alice");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), 0);
	assert_int_equal(stats(f).pending, 1);
	assert_int_equal(calls_stored(f), 1);          /* pending, yet read */
	/* a failed record rolls back only itself */
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EEXIST);
	make_call(&c, "c2", "alice");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), 0);
	assert_int_equal(stats(f).pending, 2);
	/* an admin change commits the batch first */
	add_user(f, "carol");
	s = stats(f);
	assert_int_equal(s.pending, 0);
	assert_int_equal(s.batches, 1);
	assert_int_equal(s.records, 2);
	/* the bound */
	for (i = 0; i < STORE_BATCH_MAX; i++) {
		snprintf(id, sizeof(id), "b%u", i);
		make_call(&c, id, "carol");
		assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), 0);
	}
	s = stats(f);
	assert_int_equal(s.pending, 0);
	assert_int_equal(s.batches, 2);
	/* close commits what is pending */
	make_call(&c, "c3", "alice");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), 0);
	assert_int_equal(stats(f).pending, 1);
	reopen(f, TENANT);
	assert_int_equal(calls_stored(f), 3 + (int)STORE_BATCH_MAX);
	assert_int_equal(store_call_get(f->st, "c3", &c, err, sizeof(err)), 0);
	/* nothing pending: flush is a no-op */
	assert_int_equal(store_batch_flush(f->st, err, sizeof(err)), 0);
	assert_int_equal(stats(f).batches, 0);
}

/*
 * A process that dies without closing the store (kill -9, a crash): its
 * admin changes and flushed call records are there at the next open, a
 * record it had not flushed is lost (the rule the call manager builds on: it
 * flushes a call's record before it installs the call's keys).
 */
void test_crash_keeps_admin_changes(void **state)
{
	struct fixture *f = *state;
	struct store_call c;
	int status;
	pid_t pid;

	store_close(f->st);
	f->st = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *st;
		struct store_call cc;
		int bad = 0;

		bad |= store_open(f->dir, TENANT, 0, &st, err, sizeof(err)) != 0;
		bad |= store_user_add(st, "alice", err, sizeof(err)) != 0;
		bad |= store_policy_add(st, "open", POLICY_E2EE_USERS_CAN_TURN_ON, err,
					sizeof(err)) != 0;
		make_call(&cc, "flushed", "alice");
		bad |= store_call_add(st, &cc, err, sizeof(err)) != 0;
		bad |= store_batch_flush(st, err, sizeof(err)) != 0;
		make_call(&cc, "pending", "alice");
		bad |= store_call_add(st, &cc, err, sizeof(err)) != 0;
		_exit(bad ? 1 : 0);     /* no store_close: as if killed */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	reopen(f, TENANT);
	{
		struct store_user u;
		struct store_policy p;

		assert_int_equal(store_user_show(f->st, "alice", &u, err, sizeof(err)), 0);
		assert_int_equal(store_policy_show(f->st, "open", &p, err, sizeof(err)), 0);
	}
	assert_int_equal(store_call_get(f->st, "flushed", &c, err, sizeof(err)), 0);
	assert_int_equal(store_call_get(f->st, "pending", &c, err, sizeof(err)), -ENOENT);
}

/*
 * The record writes try their one UPDATE first and look up why only when it
 * changed nothing: the refusals are the same, and change nothing.
 */
void test_record_refusals(void **state)
{
	struct fixture *f = *state;
	struct store_call c, got;

	add_user(f, "alice");
	make_call(&c, "c1", "alice");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), 0);
	/* no responder leg */
	c.role = STORE_ROLE_RESPONDER;
	assert_int_equal(store_call_update(f->st, &c, err, sizeof(err)), -ENOENT);
	assert_int_equal(store_call_finish_leg(f->st, "c1", STORE_ROLE_RESPONDER,
					       STORE_CALL_ENDED, "x", NULL, err, sizeof(err)),
			 -ENOENT);
	/* a role that is none: refused, no leg touched */
	assert_int_equal(store_call_finish_leg(f->st, "c1", (enum store_call_role)7,
					       STORE_CALL_ENDED, "x", NULL, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(store_call_get(f->st, "c1", &got, err, sizeof(err)), 0);
	assert_int_equal(got.state, STORE_CALL_SETUP);
	/* active, then not back to setup */
	c.role = STORE_ROLE_INITIATOR;
	c.state = STORE_CALL_ACTIVE;
	c.mode = STORE_MODE_STANDARD;
	snprintf(c.profile, sizeof(c.profile), "AEAD_AES_128_GCM");
	assert_int_equal(store_call_update(f->st, &c, err, sizeof(err)), 0);
	c.state = STORE_CALL_SETUP;
	assert_int_equal(store_call_update(f->st, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "cannot go back to setup"));
	assert_int_equal(store_call_get(f->st, "c1", &got, err, sizeof(err)), 0);
	assert_int_equal(got.state, STORE_CALL_ACTIVE);
	/* final: both refuse with -EALREADY */
	assert_int_equal(store_call_end(f->st, "c1", STORE_CALL_ENDED, "bye", err, sizeof(err)),
			 0);
	assert_int_equal(store_call_end(f->st, "c1", STORE_CALL_ENDED, "bye", err, sizeof(err)),
			 -EALREADY);
	assert_non_null(strstr(err, "already ended"));
	c.state = STORE_CALL_ACTIVE;
	assert_int_equal(store_call_update(f->st, &c, err, sizeof(err)), -EALREADY);
	/* a second record of a leg */
	make_call(&c, "c1", "alice");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "already has its initiator leg"));
	assert_int_equal(store_batch_flush(f->st, err, sizeof(err)), 0);
	assert_int_equal(calls_stored(f), 1);
}

/* The batch's age: what the daemon's loop commits by. */
void test_batch_due(void **state)
{
	struct fixture *f = *state;
	struct store_call c;
	struct timespec t0, t;
	int due;

	add_user(f, "alice");
	assert_int_equal(store_batch_due_ms(f->st), -1);
	make_call(&c, "c1", "alice");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), 0);
	due = store_batch_due_ms(f->st);
	assert_true(due >= 0 && due <= STORE_BATCH_WAIT_MS);
	/* the batch comes due: wait for it, with a deadline */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((due = store_batch_due_ms(f->st)) != 0) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= 5)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	assert_int_equal(due, 0);
	assert_int_equal(stats(f).pending, 1);       /* due is not committed */
	assert_int_equal(store_batch_flush(f->st, err, sizeof(err)), 0);
	assert_int_equal(stats(f).pending, 0);
	assert_int_equal(store_batch_due_ms(f->st), -1);
	/* a new batch starts its own wait */
	make_call(&c, "c2", "alice");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), 0);
	due = store_batch_due_ms(f->st);
	assert_true(due >= 0 && due <= STORE_BATCH_WAIT_MS);
}

/* The read cache (control/store/cache.c): a user's effective policy and a
 * peer's record are read from the database once, then from memory until an
 * admin change; every kind of change the values depend on is seen at the
 * next read, and a refused read (unknown user or peer) is never kept. */
void test_read_cache(void **state)
{
	struct fixture *f = *state;
	uint8_t key[STORE_PUBLIC_KEY_BYTES];
	struct store_effective eff;
	struct store_peer peer;
	uint64_t hits;

	directory(f);
	assert_int_equal(store_user_effective_policy(f->st, "alice", &eff, err, sizeof(err)), 0);
	hits = stats(f).cache_hits;
	assert_int_equal(store_user_effective_policy(f->st, "alice", &eff, err, sizeof(err)), 0);
	assert_int_equal(stats(f).cache_hits, hits + 1);
	assert_true(eff.intent.allowed);
	assert_false(eff.intent.on);

	/* the user's own setting */
	assert_int_equal(store_user_set_e2ee(f->st, "alice", true, err, sizeof(err)), 0);
	assert_int_equal(store_user_effective_policy(f->st, "alice", &eff, err, sizeof(err)), 0);
	assert_true(eff.intent.on);
	assert_int_equal(stats(f).cache_hits, hits + 1);

	/* a group's assignment, more specific than the tenant's */
	add_policy(f, "closed", POLICY_E2EE_DISABLED);
	assert_int_equal(store_group_add(f->st, "sales", err, sizeof(err)), 0);
	assert_int_equal(store_group_member_add(f->st, "sales", "alice", err, sizeof(err)), 0);
	assign(f, STORE_TARGET_GROUP, "sales", "closed");
	assert_int_equal(store_user_effective_policy(f->st, "alice", &eff, err, sizeof(err)), 0);
	assert_false(eff.intent.allowed);
	assert_int_equal(store_user_effective_policy(f->st, "alice", &eff, err, sizeof(err)), 0);
	assert_false(eff.intent.allowed);
	assert_int_equal(stats(f).cache_hits, hits + 2);

	/* a user removed: refused, and refused again (nothing kept) */
	assert_int_equal(store_user_del(f->st, "alice", err, sizeof(err)), 0);
	hits = stats(f).cache_hits;
	assert_int_equal(store_user_effective_policy(f->st, "alice", &eff, err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(store_user_effective_policy(f->st, "alice", &eff, err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(stats(f).cache_hits, hits);

	/* a peer: kept, then its key pinned, then removed */
	assert_int_equal(store_peer_show(f->st, "bob@fabrikam", &peer, err, sizeof(err)), 0);
	assert_int_equal(store_peer_show(f->st, "bob@fabrikam", &peer, err, sizeof(err)), 0);
	assert_int_equal(stats(f).cache_hits, hits + 1);
	assert_false(peer.has_key);
	memset(key, 0x5a, sizeof(key));
	assert_int_equal(store_peer_set(f->st, "bob@fabrikam", key, "192.0.2.9:5060", true, err,
					sizeof(err)), 0);
	assert_int_equal(store_peer_show(f->st, "bob@fabrikam", &peer, err, sizeof(err)), 0);
	assert_true(peer.has_key && peer.pinned);
	assert_memory_equal(peer.public_key, key, sizeof(key));
	assert_int_equal(store_peer_del(f->st, "bob@fabrikam", err, sizeof(err)), 0);
	assert_int_equal(store_peer_show(f->st, "bob@fabrikam", &peer, err, sizeof(err)), -ENOENT);
	assert_int_equal(stats(f).cache_hits, hits + 1);
}

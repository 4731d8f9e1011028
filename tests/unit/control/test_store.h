/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the store unit tests (test_store*.c, one executable): the
 * fixture (a fresh store in its own temporary directory), the list
 * collectors, the shorthand helpers, and the test cases that main() in
 * test_store.c runs. Each file has its own err buffer.
 */
#ifndef CALLSEAL_TEST_STORE_H
#define CALLSEAL_TEST_STORE_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "store.h"

#define TENANT "contoso"

struct fixture {
	char root[64];            /* mkdtemp */
	char dir[96];             /* root/state: the store's state dir */
	struct store *st;
};

struct names {
	char buf[2048];
	int n;
};

/* test_store_fixture.c: the fixture */
int setup(void **state);
int teardown(void **state);
void reopen(struct fixture *f, const char *tenant);

/* test_store_fixture.c: list collectors (struct names) */
int collect_name(const char *name, void *arg);
int collect_user(const struct store_user *u, void *arg);
int collect_group(const struct store_group *g, void *arg);
int collect_policy(const struct store_policy *p, void *arg);
int collect_assignment(const struct store_assignment *a, void *arg);
int collect_peer(const struct store_peer *p, void *arg);
int collect_call(const struct store_call *c, void *arg);
int stop_at_first(const char *name, void *arg);
int stop_user(const struct store_user *u, void *arg);

/* test_store_fixture.c: helpers */
void add_user(struct fixture *f, const char *name);
void add_group(struct fixture *f, const char *name);
void add_policy(struct fixture *f, const char *name, enum policy_setting s);
void member(struct fixture *f, const char *group, const char *user);
void assign(struct fixture *f, enum store_target t, const char *name, const char *p);
void make_call(struct store_call *c, const char *id, const char *user);
void bad_names_refused(int (*fn)(struct store *, const char *, char *, size_t),
		       struct store *st);

/* test_store_directory.c: users and keys, groups, policies and assignments, effective policy */
void test_users(void **state);
void test_compliance_recording(void **state);
void test_private_key_not_listed(void **state);
void test_deleted_key_not_in_file(void **state);
void test_groups(void **state);
void test_policies(void **state);
void test_policy_del_many_targets(void **state);
void test_assignments(void **state);
void test_effective_policy(void **state);
void test_user_setting(void **state);

/* test_store_peers_calls.c: peers and calls */
void test_peers(void **state);
void test_calls(void **state);
void test_call_legs(void **state);
void test_call_history(void **state);

/* test_store_durability.c: statement cache, WAL, batches, crash */
void test_statements_prepared_once(void **state);
void test_wal_mode(void **state);
void test_admin_change_synced(void **state);
void test_batch_flushed(void **state);
void test_crash_keeps_admin_changes(void **state);
void test_record_refusals(void **state);
void test_batch_due(void **state);
void test_read_cache(void **state);

#endif /* CALLSEAL_TEST_STORE_H */
